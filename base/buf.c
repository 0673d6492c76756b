/* buf.c — the growable byte buffer (see buf.h). */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void buf_init(Buf *b) {
  b->data = NULL;
  b->len = b->cap = 0;
}

void buf_free(Buf *b) {
  free(b->data);
  buf_init(b);
}

/* Ensures room for n more bytes plus a NUL, so data is always a C string. */
static void buf_reserve(Buf *b, size_t n) {
  if (n > SIZE_MAX / 2 - b->len) weft_oom(n);
  if (b->len + n + 1 <= b->cap) return;
  size_t ncap = b->cap ? b->cap : 64;
  while (ncap < b->len + n + 1) ncap *= 2;
  alloc_meter_charge(ncap);
  char *d = realloc(b->data, ncap);
  if (!d) weft_oom(ncap);
  b->data = d;
  b->cap = ncap;
}

void buf_put(Buf *b, const char *s, size_t n) {
  buf_reserve(b, n);
  if (n) memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

char *buf_detach(Buf *b) {
  char *s = b->data ? b->data : xstrdup("");
  s[b->len] = '\0'; /* a caller may have cut len back without a NUL */
  buf_init(b);
  return s;
}

bool buf_fail(Buf *m, char **err) {
  if (err) *err = buf_detach(m);
  else buf_free(m);
  return false;
}

BufCapped buf_capped(Buf *b, size_t max) {
  BufCapped c = {b, b->len, max, false};
  return c;
}

bool buf_capped_check(BufCapped *c) {
  Buf *b = c->b;
  if (c->cut || b->len - c->start <= c->max) return c->cut;
  b->len = c->start + utf8_prefix(b->data + c->start, b->len - c->start, c->max);
  b->data[b->len] = '\0';
  buf_puts(b, "…");
  c->cut = true;
  return true;
}

void buf_capped_put(BufCapped *c, const char *s, size_t n) {
  if (c->cut) return;
  buf_put(c->b, s, n);
  buf_capped_check(c);
}

void buf_capped_puts(BufCapped *c, const char *s) { buf_capped_put(c, s, strlen(s)); }

void buf_puts(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

void buf_putc(Buf *b, char c) {
  buf_reserve(b, 1);
  b->data[b->len++] = c;
  b->data[b->len] = '\0';
}

void buf_printf(Buf *b, const char *fmt, ...) {
  if (!fmt) return; /* also quiets a GCC -fsanitize=undefined false positive */
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n > 0) {
    buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    b->len += (size_t)n;
  }
  va_end(ap2);
}

/* A JSON string literal: quoted, control characters and quotes escaped,
 * invalid UTF-8 replaced by \ufffd, so the output is always valid JSON. */
size_t buf_json_string_len(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t out = 2, i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c >= 0x20 && c < 0x80) {
      out += c == '"' || c == '\\' ? 2 : 1;
      i++;
    } else if (c < 0x20) {
      out += c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f' ? 2 : 6;
      i++;
    } else {
      size_t len = utf8_seq_len(p + i, n - i);
      out += len ? len : 6;
      i += len ? len : 1;
    }
  }
  return out;
}

void buf_json_string(Buf *b, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  buf_reserve(b, n + 2);
  buf_putc(b, '"');
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    /* copy plain ASCII runs in one go */
    while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') run++;
    if (run > i) {
      buf_put(b, s + i, run - i);
      i = run;
      continue;
    }
    unsigned char c = p[i];
    switch (c) {
    case '"': buf_put(b, "\\\"", 2); i++; continue;
    case '\\': buf_put(b, "\\\\", 2); i++; continue;
    case '\n': buf_put(b, "\\n", 2); i++; continue;
    case '\r': buf_put(b, "\\r", 2); i++; continue;
    case '\t': buf_put(b, "\\t", 2); i++; continue;
    case '\b': buf_put(b, "\\b", 2); i++; continue;
    case '\f': buf_put(b, "\\f", 2); i++; continue;
    default: break;
    }
    if (c < 0x20) {
      buf_printf(b, "\\u%04x", c);
      i++;
      continue;
    }
    size_t len = utf8_seq_len(p + i, n - i);
    if (len) {
      buf_put(b, s + i, len);
      i += len;
    } else {
      buf_put(b, "\\ufffd", 6);
      i++;
    }
  }
  buf_putc(b, '"');
}


void buf_float(Buf *b, double v) {
  size_t start = b->len;
  buf_printf(b, "%.15g", v);
  if (strtod(b->data + start, NULL) != v) {
    b->len = start;
    buf_printf(b, "%.17g", v);
  }
  if (!strpbrk(b->data + start, ".eEni")) buf_puts(b, ".0");
}
