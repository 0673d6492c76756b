/* tap.h — the TAP output every C unit test (tests/unit/test_*.c) shares.
 *
 * Each check prints `ok N - DESC` or `not ok N - DESC` on stdout, and the
 * test runner counts those lines, one test each; a failed comparison adds
 * `#` lines saying what it got. main ends with `return tap_done();`: the
 * plan line `1..N`, then exit status 1 if any check failed, else 0.
 *
 *   ok(cond, fmt, ...)                the condition holds
 *   is_int(got, want, fmt, ...)       equal integers
 *   is_num(got, want, fmt, ...)       equal doubles (within 1e-9)
 *   is_str(got, want, fmt, ...)       equal strings (a NULL is equal to none)
 *   is_prefix(got, want, fmt, ...)    got starts with want
 *   has_substr(got, want, fmt, ...)   want occurs in got
 *   skip(why, fmt, ...)               a check that cannot run here: `ok N - DESC # skip WHY`
 *   diag(fmt, ...)                    `# ...` comment lines
 *
 * DESC is a printf format (a literal percent sign is %%); every check
 * returns whether it passed. Header-only: one test binary is one C file.
 * A test that forks flushes stdout first, or the child repeats its lines. */
#ifndef WEFT_TESTS_TAP_H
#define WEFT_TESTS_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAP_FN __attribute__((unused)) static
#define TAP_FORMAT(f) __attribute__((format(printf, f, f + 1)))

static int tap_no, tap_failed;

/* Prints fmt's text and then `end`, each line after the first starting
 * with `cont`, so that nothing a test prints can pass for an `ok` line of
 * its own. */
TAP_FN void tap_vprint(const char *cont, const char *end, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
TAP_FN void tap_vprint(const char *cont, const char *end, const char *fmt, va_list ap) {
  char small[512];
  va_list aq;
  va_copy(aq, ap);
  int n = vsnprintf(small, sizeof small, fmt, aq);
  va_end(aq);
  char *text = small;
  if (n >= (int)sizeof small) {
    text = malloc((size_t)n + 1);
    if (text) vsnprintf(text, (size_t)n + 1, fmt, ap);
    else text = small; /* cut short rather than lose the line */
  }
  for (const char *p = n < 0 ? "" : text; *p; p++) {
    putchar(*p);
    if (*p == '\n' && p[1]) fputs(cont, stdout);
  }
  fputs(end, stdout);
  putchar('\n');
  if (text != small) free(text);
}

TAP_FN bool tap_vok(bool cond, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
TAP_FN bool tap_vok(bool cond, const char *fmt, va_list ap) {
  tap_no++;
  if (!cond) tap_failed++;
  printf("%sok %d - ", cond ? "" : "not ", tap_no);
  tap_vprint("#   ", "", fmt, ap);
  return cond;
}

TAP_FN bool ok(bool cond, const char *fmt, ...) TAP_FORMAT(2);
TAP_FN bool ok(bool cond, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tap_vok(cond, fmt, ap);
  va_end(ap);
  return cond;
}

TAP_FN void diag(const char *fmt, ...) TAP_FORMAT(1);
TAP_FN void diag(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("# ", stdout);
  tap_vprint("# ", "", fmt, ap);
  va_end(ap);
}

TAP_FN bool is_int(long long got, long long want, const char *fmt, ...) TAP_FORMAT(3);
TAP_FN bool is_int(long long got, long long want, const char *fmt, ...) {
  bool cond = got == want;
  va_list ap;
  va_start(ap, fmt);
  tap_vok(cond, fmt, ap);
  va_end(ap);
  if (!cond) diag("  got:  %lld\n  want: %lld", got, want);
  return cond;
}

TAP_FN bool is_num(double got, double want, const char *fmt, ...) TAP_FORMAT(3);
TAP_FN bool is_num(double got, double want, const char *fmt, ...) {
  bool cond = fabs(got - want) < 1e-9;
  va_list ap;
  va_start(ap, fmt);
  tap_vok(cond, fmt, ap);
  va_end(ap);
  if (!cond) diag("  got:  %.17g\n  want: %.17g", got, want);
  return cond;
}

TAP_FN bool is_str(const char *got, const char *want, const char *fmt, ...) TAP_FORMAT(3);
TAP_FN bool is_str(const char *got, const char *want, const char *fmt, ...) {
  bool cond = got && want && strcmp(got, want) == 0;
  va_list ap;
  va_start(ap, fmt);
  tap_vok(cond, fmt, ap);
  va_end(ap);
  if (!cond)
    diag("  got:  \"%s\"\n  want: \"%s\"", got ? got : "(null)", want ? want : "(null)");
  return cond;
}

TAP_FN bool is_prefix(const char *got, const char *want, const char *fmt, ...) TAP_FORMAT(3);
TAP_FN bool is_prefix(const char *got, const char *want, const char *fmt, ...) {
  bool cond = got && want && strncmp(got, want, strlen(want)) == 0;
  va_list ap;
  va_start(ap, fmt);
  tap_vok(cond, fmt, ap);
  va_end(ap);
  if (!cond)
    diag("  got:  \"%s\"\n  want prefix: \"%s\"", got ? got : "(null)", want ? want : "(null)");
  return cond;
}

TAP_FN bool has_substr(const char *got, const char *want, const char *fmt, ...) TAP_FORMAT(3);
TAP_FN bool has_substr(const char *got, const char *want, const char *fmt, ...) {
  bool cond = got && want && strstr(got, want) != NULL;
  va_list ap;
  va_start(ap, fmt);
  tap_vok(cond, fmt, ap);
  va_end(ap);
  if (!cond)
    diag("  got:  \"%s\"\n  want (substring): \"%s\"", got ? got : "(null)", want ? want : "(null)");
  return cond;
}

TAP_FN void skip(const char *why, const char *fmt, ...) TAP_FORMAT(2);
TAP_FN void skip(const char *why, const char *fmt, ...) {
  char end[256];
  snprintf(end, sizeof end, " # skip %s", why);
  tap_no++;
  printf("ok %d - ", tap_no);
  va_list ap;
  va_start(ap, fmt);
  tap_vprint("#   ", end, fmt, ap);
  va_end(ap);
}

/* The plan line and the exit status: main's last statement. */
TAP_FN int tap_done(void) {
  printf("1..%d\n", tap_no);
  return tap_failed ? 1 : 0;
}

#endif
