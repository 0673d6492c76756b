/* util.c — the base layer's allocation, UTF-8 and hashing (see util.h). */
#include "util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the memory meter ------------------------------------------------------ */

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(WEFT_ASAN)
#define WEFT_ASAN 1
#endif

/* Bytes the allocator has handed out and not got back (0: unknown). A
 * sanitizer's allocator replaces glibc's and keeps its own figure. */
#if defined(WEFT_ASAN)
/* the sanitizer runtime's (sanitizer/allocator_interface.h, not always installed) */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void) { return __sanitizer_get_current_allocated_bytes(); }
#elif defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
static size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}
#else
static size_t heap_in_use(void) { return 0; }
#endif

/* Resynchronise with the allocator at most once per this many bytes
 * charged: mallinfo2 walks the free lists, too slow for every call. */
#define METER_SYNC_BYTES ((size_t)1 << 20)

static _Thread_local AllocMeter *meter;

void alloc_meter_install(AllocMeter *m) {
  m->used = m->peak = m->since = 0;
  m->over = false;
  m->base = heap_in_use();
  m->gross = m->base == 0;
  meter = m;
}

void alloc_meter_remove(AllocMeter *m) {
  if (meter == m) meter = NULL;
}

static size_t sat_add(size_t a, size_t b) { return b > SIZE_MAX - a ? SIZE_MAX : a + b; }

void alloc_meter_charge(size_t n) {
  AllocMeter *m = meter;
  if (!m) return;
  m->since = sat_add(m->since, n);
  if (!m->gross && (m->since >= METER_SYNC_BYTES || sat_add(m->used, m->since) > m->limit)) {
    size_t now = heap_in_use();
    m->used = now > m->base ? now - m->base : 0;
    m->since = n;   /* this allocation is not in the allocator's figure yet */
  }
  size_t want = sat_add(m->used, m->since);
  if (want > m->peak) m->peak = want;
  if (want > m->limit) {
    m->over = true;
    meter = NULL;   /* the stage's error path allocates freely */
    longjmp(*m->escape, 1);
  }
}

_Noreturn void weft_oom(size_t n) {
  fprintf(stderr, "weft: out of memory (allocating %zu bytes)\n", n);
  abort();
}

void *xmalloc(size_t n) {
  alloc_meter_charge(n);
  void *p = malloc(n ? n : 1);
  if (!p) weft_oom(n);
  return p;
}

void *xcalloc(size_t n, size_t elem) {
  alloc_meter_charge(elem && n > SIZE_MAX / elem ? SIZE_MAX : n * elem);
  void *p = calloc(n ? n : 1, elem ? elem : 1);
  if (!p) weft_oom(n * elem);
  return p;
}

void *xrealloc(void *p, size_t n) {
  alloc_meter_charge(n);   /* the new size: the old block's bytes come back at the next sync */
  void *q = realloc(p, n ? n : 1);
  if (!q) weft_oom(n);
  return q;
}

char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

char *xstrndup(const char *s, size_t n) {
  char *d = xmalloc(n + 1);
  if (n) memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *xvasprintf(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  if (n < 0) n = 0;
  char *s = xmalloc((size_t)n + 1);
  if (n > 0) vsnprintf(s, (size_t)n + 1, fmt, ap2);
  else s[0] = '\0';
  va_end(ap2);
  return s;
}

char *xasprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = xvasprintf(fmt, ap);
  va_end(ap);
  return s;
}

char *xvasprintf_cap(size_t max, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  size_t len = n > 0 ? (size_t)n : 0;
  char *s;
  if (len <= max) {
    s = xmalloc(len + 1);
    s[0] = '\0';
    if (len) vsnprintf(s, len + 1, fmt, ap2);
  } else {
    /* one byte past the cap shows whether the cut splits a character */
    s = xmalloc(max + sizeof "…" + 1);
    vsnprintf(s, max + 2, fmt, ap2);
    memcpy(s + utf8_prefix(s, max + 1, max), "…", sizeof "…");
  }
  va_end(ap2);
  return s;
}

char *xasprintf_cap(size_t max, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = xvasprintf_cap(max, fmt, ap);
  va_end(ap);
  return s;
}

/* Decodes instead of pattern-matching byte ranges, so the three ways a
 * sequence can be ill-formed (overlong, surrogate, beyond U+10FFFF) are
 * each one comparison on the decoded code point. */
size_t utf8_seq_len(const void *s, size_t avail) {
  const unsigned char *p = s;
  unsigned char c = p[0];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp, min;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
  else return 0;
  if (avail < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

size_t utf8_prefix(const char *s, size_t len, size_t max) {
  if (len <= max) return len;
  size_t n = max;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  return n;
}

size_t utf8_count(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

uint64_t fnv1a64(uint64_t h, const void *data, size_t len) {
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}
