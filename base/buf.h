/* buf.h — the growable byte buffer every layer builds text in (no
 * fixed-size buffers anywhere). data is always NUL-terminated once
 * anything was put; growth follows the one out-of-memory policy
 * (weft_oom, util.h). */
#ifndef WEFT_BUF_H
#define WEFT_BUF_H

#include <stdbool.h>
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
/* The number of bytes buf_json_string puts for s (quotes included), so a
 * caller can check a limit before building the text. */
size_t buf_json_string_len(const char *s, size_t n);
/* A float as a literal that reads back as the same double and looks like
 * a float ("1.0", "0.25", "1e+300"): range bounds in messages, schemas
 * and formatted source. */
void buf_float(Buf *b, double v);
/* Hands the text over as a malloc'd string the caller frees ("" when
 * nothing was put) and leaves b empty. */
char *buf_detach(Buf *b);
/* The last step of the error convention (util.h) for a message built in
 * m: sets *err to it, or frees it when err is NULL, and returns false, so
 * a failing function ends with `return buf_fail(&m, err);`. */
bool buf_fail(Buf *m, char **err);
/* Text with a size cap, for a writer whose output can be exponential in
 * its input (a type whose parts are shared, printed as a tree): what is
 * put after `start` stops at max bytes, cut on a character boundary and
 * ended with "…", and once cut nothing more is written (the writer checks
 * `cut` to stop walking). */
typedef struct BufCapped {
  Buf *b;
  size_t start, max;
  bool cut;
} BufCapped;
BufCapped buf_capped(Buf *b, size_t max);       /* starting at b's end */
void buf_capped_put(BufCapped *c, const char *s, size_t n);
void buf_capped_puts(BufCapped *c, const char *s);
/* After writing into c->b directly: applies the cap; returns c->cut. */
bool buf_capped_check(BufCapped *c);

#endif
