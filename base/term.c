/* term.c — the terminal escaper (see term.h). */
#include "term.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

size_t utf8_bidi_len(const void *s, size_t avail) {
  const unsigned char *p = s;
  if (avail >= 2 && p[0] == 0xD8 && p[1] == 0x9C) return 2;  /* U+061C */
  if (avail < 3 || p[0] != 0xE2) return 0;
  if (p[1] == 0x80 && (p[2] == 0x8E || p[2] == 0x8F || (p[2] >= 0xAA && p[2] <= 0xAE)))
    return 3;                                                  /* U+200E/F, U+202A-E */
  if (p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9) return 3;  /* U+2066-9 */
  return 0;
}

size_t term_char(const char *s, size_t avail, TermMode mode, char esc[TERM_ESC_MAX],
                 size_t *esclen) {
  const unsigned char *p = (const unsigned char *)s;
  unsigned char c = p[0];
  int n = 0;
  size_t used = 1;
  bool quote = mode == TERM_QUOTE;
  if (c < 0x80) {
    if (quote && (c == '"' || c == '\\'))
      n = snprintf(esc, TERM_ESC_MAX, "\\%c", c);
    else if ((c < 0x20 && (quote || (c != '\n' && c != '\t'))) || c == 0x7F)
      n = snprintf(esc, TERM_ESC_MAX, mode == TERM_JSON ? "\\u%04x" : "\\x%02x", c);
  } else if ((used = utf8_seq_len(p, avail)) == 0) {
    used = 1;
    n = snprintf(esc, TERM_ESC_MAX, mode == TERM_JSON ? "\\ufffd" : "\\x%02x", c);
  } else {
    uint32_t cp = 0;
    if (used == 2) cp = (uint32_t)(c & 0x1F) << 6 | (p[1] & 0x3F);
    bool line_sep = quote && used == 3 && c == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9);
    if ((used == 2 && cp <= 0x9F) || utf8_bidi_len(p, avail) || line_sep) {
      if (used == 3) cp = (uint32_t)(c & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
      n = snprintf(esc, TERM_ESC_MAX, mode == TERM_JSON ? "\\u%04x" : "\\u{%x}", (unsigned)cp);
    }
  }
  *esclen = n > 0 ? (size_t)n : 0;
  return used;
}

/* Copies runs of plain text in one fwrite; only what needs escaping is
 * looked at character by character. */
void term_write(FILE *out, const char *s, size_t n, TermMode mode) {
  size_t i = 0, run = 0;
  char esc[TERM_ESC_MAX];
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7F && (mode != TERM_QUOTE || (c != '"' && c != '\\'))) {
      i++;
      continue;
    }
    size_t el, k = term_char(s + i, n - i, mode, esc, &el);
    if (el) {
      if (i > run) fwrite(s + run, 1, i - run, out);
      fwrite(esc, 1, el, out);
      run = i + k;
    }
    i += k;
  }
  if (n > run) fwrite(s + run, 1, n - run, out);
}

/* An escape is at most four times as long as what it replaces in TEXT
 * mode (one byte -> "\x1b"; U+009B's two bytes and a bidi control's
 * three are shorter than that per byte). */
char *term_escape(const char *s, size_t n, size_t *len) {
  if (n > (SIZE_MAX - 1) / 4) weft_oom(SIZE_MAX);
  char *d = xmalloc(4 * n + 1), esc[TERM_ESC_MAX];
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    size_t el, k = term_char(s + i, n - i, TERM_TEXT, esc, &el);
    if (el) memcpy(d + o, esc, el), o += el;
    else memcpy(d + o, s + i, k), o += k;
    i += k;
  }
  d[o] = '\0';
  if (len) *len = o;
  return d;
}

void term_quote(Buf *b, const char *s, size_t n, size_t max) {
  char esc[TERM_ESC_MAX];
  size_t i = 0;
  buf_putc(b, '"');
  while (i < n) {
    size_t el, k = term_char(s + i, n - i, TERM_QUOTE, esc, &el);
    if (k > max - i) break; /* i <= max throughout */
    if (el) buf_put(b, esc, el);
    else buf_put(b, s + i, k);
    i += k;
  }
  buf_putc(b, '"');
  if (i < n) buf_puts(b, "...");
}

char *term_vformat(const char *fmt, va_list ap) {
  va_list again;
  va_copy(again, ap);
  char probe[1];
  int len = vsnprintf(probe, sizeof probe, fmt, ap);
  if (len < 0) len = 0;
  char *raw = xmalloc((size_t)len + 1);
  if (len) vsnprintf(raw, (size_t)len + 1, fmt, again);
  raw[len] = '\0';
  va_end(again);
  char *esc = term_escape(raw, (size_t)len, NULL);
  free(raw);
  return esc;
}

void term_printf(FILE *out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = term_vformat(fmt, ap);
  va_end(ap);
  fputs(s, out);
  free(s);
}
