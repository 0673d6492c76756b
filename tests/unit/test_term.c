/* test_term.c — the terminal escaper (base/term.h): which
 * characters are escaped, in which notation, and which pass unchanged,
 * at the edges of each range and on cut or invalid UTF-8; and the quoted,
 * bounded form for messages (term_quote). Prints `ok N - desc` lines;
 * exits non-zero on failure. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "../../base/buf.h"
#include "../../base/term.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* in (n bytes) written by term_write in mode must read want. */
static void check_write(const char *in, size_t n, TermMode mode, const char *want, const char *desc) {
  char *got = NULL;
  size_t len = 0;
  FILE *mf = open_memstream(&got, &len);
  if (!mf) {
    ok(0, "%s", desc);
    return;
  }
  term_write(mf, in, n, mode);
  fclose(mf);
  int good = len == strlen(want) && memcmp(got, want, len) == 0;
  ok(good, "%s", desc);
  if (!good) diag("  got:  %.*s\n  want: %s", (int)len, got, want);
  if (mode == TERM_TEXT) { /* term_escape agrees with term_write */
    size_t elen;
    char *e = term_escape(in, n, &elen);
    ok(elen == len && memcmp(e, got, len) == 0 && e[elen] == '\0', "term_escape agrees");
    free(e);
  }
  free(got);
}

/* term_quote of in (n bytes) with at most max bytes shown must read want
 * (appended after what b held), and agree with term_write in TERM_QUOTE
 * when nothing is cut. */
static void check_quote(const char *in, size_t n, size_t max, const char *want, const char *desc) {
  Buf b;
  buf_init(&b);
  buf_puts(&b, "x=");
  term_quote(&b, in, n, max);
  int good = b.data && strncmp(b.data, "x=", 2) == 0 && strcmp(b.data + 2, want) == 0 && b.len == strlen(b.data);
  ok(good, "%s", desc);
  if (!good) diag("  got:  %s\n  want: %s", b.data ? b.data : "(null)", want);
  if (good && n <= max) { /* the text between the quotes */
    char *inner = strndup(b.data + 3, b.len - 4);
    check_write(in, n, TERM_QUOTE, inner, "term_write agrees");
    free(inner);
  }
  buf_free(&b);
}

#define T(in, want, desc) check_write(in, sizeof in - 1, TERM_TEXT, want, desc)
#define J(in, want, desc) check_write(in, sizeof in - 1, TERM_JSON, want, desc)
#define Q(in, max, want, desc) check_quote(in, sizeof in - 1, max, want, desc)

int main(void) {
  T("plain text, caf\xc3\xa9, \xe2\x9c\x93, \xf0\x9f\x98\x80", "plain text, caf\xc3\xa9, \xe2\x9c\x93, \xf0\x9f\x98\x80",
    "printable ASCII and other Unicode pass unchanged");
  T("a\nb\tc", "a\nb\tc", "newline and tab pass unchanged");
  T("\x1b]52;c;eA==\x07", "\\x1b]52;c;eA==\\x07", "OSC 52: ESC and BEL escaped");
  T("x\ry\bz\x7f", "x\\x0dy\\x08z\\x7f", "CR, backspace and DEL escaped");
  T("\x01\x1f", "\\x01\\x1f", "the ends of C0");
  T("\xc2\x80\xc2\x9f\xc2\xa0", "\\u{80}\\u{9f}\xc2\xa0", "C1 U+0080-U+009F escaped, U+00A0 not");
  T("\xe2\x80\xaa\xe2\x80\xae\xe2\x80\xa9\xe2\x80\xaf", "\\u{202a}\\u{202e}\xe2\x80\xa9\xe2\x80\xaf",
    "U+202A-U+202E escaped, U+2029 and U+202F not");
  T("\xe2\x81\xa6\xe2\x81\xa9\xe2\x81\xa5\xe2\x81\xaa", "\\u{2066}\\u{2069}\xe2\x81\xa5\xe2\x81\xaa",
    "U+2066-U+2069 escaped, U+2065 and U+206A not");
  T("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c\xe2\x80\x8d", "\\u{200e}\\u{200f}\\u{61c}\xe2\x80\x8d",
    "LRM, RLM and ALM escaped, ZWJ not");
  T("a\xff" "b\xc3", "a\\xffb\\xc3", "invalid and cut-off bytes escaped one by one");
  T("\xe2\x80", "\\xe2\\x80", "a bidi control cut off is two invalid bytes");
  T("\xed\xa0\x80", "\\xed\\xa0\\x80", "a surrogate is not UTF-8");
  check_write("a\0b", 3, TERM_TEXT, "a\\x00b", "NUL escaped, not an end");
  J("\x1b[31m\xe2\x80\xae\xc2\x9b\xff\n", "\\u001b[31m\\u202e\\u009b\\ufffd\n",
    "JSON mode: \\u escapes, U+FFFD for a byte that is not UTF-8");
  J("{\"a\":\"\xc3\xa9\"}", "{\"a\":\"\xc3\xa9\"}", "JSON mode: plain JSON unchanged");

  char esc[TERM_ESC_MAX];
  size_t el;
  ok(term_char("\xf4\x8f\xbf\xbf", 4, TERM_TEXT, esc, &el) == 4 && el == 0, "U+10FFFF is one plain character");
  ok(utf8_bidi_len("\xe2\x80\xae", 2) == 0, "utf8_bidi_len respects avail");

  /* Quoted for a one-line message: what TEXT escapes, and what would end
   * the quote or the line early. */
  Q("./lib/a.weft", 200, "\"./lib/a.weft\"", "a plain path is quoted as it is");
  Q("caf\xc3\xa9 \xe2\x9c\x93", 200, "\"caf\xc3\xa9 \xe2\x9c\x93\"", "other Unicode passes unchanged");
  Q("q\"b\\", 200, "\"q\\\"b\\\\\"", "quote and backslash escaped");
  Q("a\nb\tc", 200, "\"a\\x0ab\\x09c\"", "newline and tab escaped too");
  Q("\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaf", 200, "\"\\u{2028}\\u{2029}\xe2\x80\xaf\"",
    "line and paragraph separators escaped, U+202F not");
  Q("\x1b[2J\xc2\x9b\xe2\x80\xae\xd8\x9c\xff", 200, "\"\\x1b[2J\\u{9b}\\u{202e}\\u{61c}\\xff\"",
    "controls, C1, bidi and invalid bytes as in TEXT");
  Q("abcdef", 4, "\"abcd\"...", "cut after max bytes, marked after the quote");
  Q("abcd", 4, "\"abcd\"", "exactly max bytes: no mark");
  Q("ab\xe2\x9c\x93", 4, "\"ab\"...", "a character is never cut");
  Q("ab\x1b", 3, "\"ab\\x1b\"", "max counts the input bytes, not the escapes");
  Q("", 0, "\"\"", "empty");
  check_quote("a\0b", 3, 200, "\"a\\x00b\"", "NUL escaped, not an end");

  return tap_done();
}
