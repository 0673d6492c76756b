/* util.h — the base layer: the few helpers every stage shares.
 *
 * Allocation for the compiler's and runtime's own bookkeeping: these never
 * return NULL; a real out-of-memory is reported and aborts (the memory
 * LIMIT of a running program is a different thing: see vm/value.h, Heap).
 * And the one UTF-8 decoder: source text, strings, module files, provider
 * replies and JSON all validate with it, so they agree on what is valid. */
#ifndef WEFT_UTIL_H
#define WEFT_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The one error convention: a function that can fail returns false (or
 * NULL) and, when err is not NULL, sets *err to a malloc'd message the
 * caller frees; success hands over no message. Text built up piece by
 * piece goes through a Buf first and is handed over as such a string
 * (buf_fail, buf.h). A Buf parameter is for the text a function exists
 * to write, never for its error. */

/* The one out-of-memory policy: a real allocation failure cannot be
 * reported through a Weft error (building the message would allocate), so
 * it ends the process with a message. Every allocation helper of every
 * layer calls this. */
_Noreturn void weft_oom(size_t n);

/* A memory meter a stage installs around work a program drives (the
 * compiler, docs/security.md "Memory of the compiler and of calls in
 * flight"): while one is installed on this thread, every allocation of
 * this layer (and of Buf and the value heap) is charged to it before it
 * happens. The count is the bytes in use: requested bytes, resynchronised
 * with the allocator's own figure (glibc's mallinfo2) every MiB, so memory
 * given back with free() is not counted twice. An allocation that would
 * take the count past limit sets over and longjmps to *escape: the stage
 * stops there and reports it (what was in flight is left to the process's
 * exit or the stage's own cleanup). The meter is uninstalled first, so
 * the stage's error path allocates freely. */
#include <setjmp.h>
#include <stdbool.h>
typedef struct AllocMeter {
  size_t limit;      /* bytes; must be > 0 */
  size_t used;       /* bytes counted in use (at the last charge) */
  size_t peak;
  bool over;         /* an allocation was refused */
  jmp_buf *escape;
  /* internal */
  size_t base, since;
  bool gross;        /* no allocator figure: requested bytes only, frees not seen */
} AllocMeter;
void alloc_meter_install(AllocMeter *m);   /* starts counting from zero */
void alloc_meter_remove(AllocMeter *m);    /* stops, when m is the one installed */
/* Charges n bytes to the installed meter, if any (for allocators outside
 * this file: Buf, the value heap). */
void alloc_meter_charge(size_t n);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t elem);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);   /* copies n bytes and adds a NUL */
/* printf into a new heap string (the one printf-to-heap helper). */
#include <stdarg.h>
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);
/* The same, cut at max bytes (on a character boundary) and ended with "…"
 * when longer: for messages, which must not grow with what they quote. */
char *xasprintf_cap(size_t max, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *xvasprintf_cap(size_t max, const char *fmt, va_list ap);

/* Length (1-4) of the well-formed UTF-8 sequence at s, or 0 when the bytes
 * there are not one: a stray continuation byte, an overlong form, a
 * surrogate, a code point above U+10FFFF, or a sequence cut off by avail.
 * avail must be at least 1. */
size_t utf8_seq_len(const void *s, size_t avail);

/* The length of the longest prefix of s[0..len) of at most max bytes that
 * does not end inside a UTF-8 sequence (it backs up over continuation
 * bytes), for cutting text at a size cap. */
size_t utf8_prefix(const char *s, size_t len, size_t max);

/* Code points in s[0..len) as `len` counts them: bytes that do not
 * continue a sequence (a string's length constraint, `string(1..200)`). */
size_t utf8_count(const char *s, size_t len);

/* The most bytes one diagnostic or runtime error message holds: longer
 * ones are cut there and end in "…" (docs/errors.md), so no message, and
 * no --json document of them, grows with what it quotes. */
#define WEFT_MESSAGE_MAX 4096

/* FNV-1a, 64-bit: module and source hashes, effect-address keys. Start
 * with FNV64_INIT; chain calls to hash several pieces. */
#define FNV64_INIT 0xcbf29ce484222325ULL
uint64_t fnv1a64(uint64_t h, const void *data, size_t len);

#endif
