/* term.h — text for a terminal: the one escaper of human-readable output.
 *
 * Text from a program, a model reply or a journal must not reach a
 * terminal raw: escape sequences set the clipboard (OSC 52) or the title,
 * \r overwrites a line, and bidirectional controls reorder what is shown
 * (Trojan Source). The escaper replaces exactly these, in every output
 * and whether or not the stream is a terminal (CI logs render ANSI too):
 *   C0 controls but \n and \t, and DEL     TEXT: \x1b        JSON: \u001b
 *   C1 controls U+0080-U+009F, bidi controls (utf8_bidi_len)
 *                                           TEXT: \u{202e}    JSON: \u202e
 *   a byte that is not UTF-8                 TEXT: \xff        JSON: \ufffd
 * Everything else passes unchanged. TERM_JSON is for output that is JSON
 * text (JSON lines, --json documents): its escapes are JSON escapes, so
 * valid JSON stays valid and decodes to the same value. Backslashes are
 * not escaped: the escaped form is for reading; exact bytes come from
 * --json or --raw-output. TERM_QUOTE is for text shown between double
 * quotes in a one-line message (term_quote): as TEXT, and also what would
 * end the quote or the line where it does not:
 *   " and \                                  \" and \\
 *   \n and \t                                 \x0a and \x09
 *   U+2028 and U+2029 (line breaks to some viewers)   \u{2028}
 * docs/security.md, "Terminal output", says where it applies. */
#ifndef WEFT_TERM_H
#define WEFT_TERM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct Buf; /* buf.h: not included, the lexer has a buf_put of its own */

typedef enum TermMode { TERM_TEXT, TERM_JSON, TERM_QUOTE } TermMode;
enum { TERM_ESC_MAX = 12 }; /* the longest escape ("\u{10ffff}") and its NUL */

/* Length (2 or 3) of the bidirectional control at s -- U+202A-U+202E,
 * U+2066-U+2069, U+200E, U+200F, U+061C -- or 0 when there is none. */
size_t utf8_bidi_len(const void *s, size_t avail);
/* Examines the character at s (avail >= 1) and returns how many bytes it
 * takes. When it must be escaped, its escape goes to esc (NUL-terminated)
 * and its length to *esclen; otherwise *esclen is 0 and the bytes are
 * shown as they are. */
size_t term_char(const char *s, size_t avail, TermMode mode, char esc[TERM_ESC_MAX],
                 size_t *esclen);
/* Writes s[0..n) to out, escaped. */
void term_write(FILE *out, const char *s, size_t n, TermMode mode);
/* s[0..n) escaped as TERM_TEXT, malloc'd and NUL-terminated; its length
 * in *len when len is not NULL. */
char *term_escape(const char *s, size_t n, size_t *len);
/* Appends s[0..n) to b between double quotes, escaped as TERM_QUOTE, for
 * naming a path or quoting a file's first bytes in a message: at most max
 * bytes of s (never part of a character), then "..." after the closing
 * quote when that cut anything. */
void term_quote(struct Buf *b, const char *s, size_t n, size_t max);
/* The printf-formatted text, escaped as TERM_TEXT, malloc'd. The format's
 * own text is escaped as well, so it should hold no control characters. */
char *term_vformat(const char *fmt, va_list ap);
/* printf, escaped, in one write (so lines on an unbuffered stderr stay
 * whole). */
void term_printf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
