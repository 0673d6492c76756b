/* buf.h — the growable byte buffer every layer builds text in (no
 * fixed-size buffers anywhere). data is always NUL-terminated once
 * anything was put; growth follows the one out-of-memory policy
 * (weft_oom, util.h). */
#ifndef WEFT_BUF_H
#define WEFT_BUF_H

#include <stddef.h>

typedef struct Buf {
  char *data;
  size_t len, cap;
} Buf;
void buf_init(Buf *b);
void buf_free(Buf *b);
void buf_put(Buf *b, const char *s, size_t n);
void buf_puts(Buf *b, const char *s);
void buf_putc(Buf *b, char c);
void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_json_string(Buf *b, const char *s, size_t n);   /* quoted, escaped, invalid UTF-8 -> \ufffd */

#endif
