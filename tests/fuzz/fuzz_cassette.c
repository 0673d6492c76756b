/* fuzz_cassette.c — libFuzzer harness for cassette files (vm/journal.c).
 *
 * Any byte string must read into a record set or give an error; never a
 * crash, hang or leak. A set that reads is written back and read again,
 * and must come back equal: the same addresses and every field the same
 * (costs as the file keeps them, to 9 significant digits), and writing it
 * again gives the same bytes. JSON text holds only UTF-8, so a string with
 * invalid bytes is written with U+FFFD in their place: such an input is
 * checked from what its first write reads back as. Build with libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_cassette.c libweft.a -lcjson -lsqlite3 -lm
 * (libweft.a from a build configured with CC=clang --enable-asan
 * --enable-ubsan), or linked with fuzz_main.c as the plain program that
 * `make check` runs over tests/fuzz/corpus_cassette. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../base/util.h"
#include "../../runtime/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The process's scratch files, $TMPDIR/fuzz_cassette.PID.{in,out}, removed at exit. */
static char in_path[512], out_path[512];

static void remove_paths(void) {
  remove(in_path);
  remove(out_path);
}

static void init_paths(void) {
  if (in_path[0]) return;
  const char *dir = getenv("TMPDIR");
  if (!dir || !dir[0]) dir = "/tmp";
  snprintf(in_path, sizeof in_path, "%s/fuzz_cassette.%ld.in", dir, (long)getpid());
  snprintf(out_path, sizeof out_path, "%s/fuzz_cassette.%ld.out", dir, (long)getpid());
  atexit(remove_paths);
}

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_cassette: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

static bool write_bytes(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) return false;
  bool ok = fwrite(data, 1, size, f) == size;
  return fclose(f) == 0 && ok;
}

/* The whole file at path, malloc'd; NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0, got;
  char *b = xmalloc(cap);
  while ((got = fread(b + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) b = xrealloc(b, cap *= 2);
  }
  fclose(f);
  *len = n;
  return b;
}

static bool valid_utf8(const char *s) {
  size_t n = s ? strlen(s) : 0;
  for (size_t i = 0; i < n;) {
    size_t k = utf8_seq_len(s + i, n - i);
    if (!k) return false;
    i += k;
  }
  return true;
}

/* Every string of every record is valid UTF-8 (the request is JSON text
 * the file carries as it is, so it does not count). */
static bool all_utf8(const Records *rs) {
  size_t n;
  const EffectRec **v = records_sorted(rs, &n);
  bool ok = true;
  for (size_t i = 0; i < n && ok; i++)
    ok = valid_utf8(v[i]->addr) && valid_utf8(v[i]->kind) && valid_utf8(v[i]->response) &&
         valid_utf8(v[i]->error) && valid_utf8(v[i]->error_kind);
  free(v);
  return ok;
}

static bool same_str(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Costs are written with %.9g: equal when they print alike. */
static bool same_cost(double a, double b) {
  char x[64], y[64];
  snprintf(x, sizeof x, "%.9g", a);
  snprintf(y, sizeof y, "%.9g", b);
  return strcmp(x, y) == 0;
}

/* The name of the first field in which a and b differ, or NULL. */
static const char *record_diff(const EffectRec *a, const EffectRec *b) {
  if (!same_str(a->addr, b->addr)) return "addr";
  if (!same_str(a->kind, b->kind)) return "kind";
  if (!same_str(a->request, b->request)) return "request";
  if (a->req_hash != b->req_hash) return "req_hash";
  if (a->ok != b->ok) return "ok";
  if (!same_str(a->response, b->response)) return "response";
  if (!same_str(a->error, b->error)) return "error";
  if (!same_str(a->error_kind, b->error_kind)) return "error_kind";
  if (a->attempts != b->attempts || a->retries != b->retries || a->repairs != b->repairs) return "attempts";
  if (a->input_tokens != b->input_tokens || a->output_tokens != b->output_tokens) return "tokens";
  if (!same_cost(a->cost_usd, b->cost_usd)) return "cost_usd";
  return NULL;
}

/* a and b hold the same records. */
static void check_equal(const Records *a, const Records *b) {
  size_t na, nb;
  const EffectRec **va = records_sorted(a, &na), **vb = records_sorted(b, &nb);
  if (na != nb) die("the round trip changed the number of effects", NULL);
  for (size_t i = 0; i < na; i++) {
    const char *field = record_diff(va[i], vb[i]);
    if (field) die("the round trip changed an effect's field", field);
  }
  free(va);
  free(vb);
}

/* Writes rs to out_path and reads it back; aborts when either fails. */
static Records *round_trip(const Records *rs, char **bytes, size_t *len) {
  char *err = NULL;
  if (!cassette_write(out_path, rs, "fuzz.weft", &err)) die("cassette_write failed", err);
  *bytes = slurp(out_path, len);
  if (!*bytes) die("cannot read back", out_path);
  Records *again = cassette_read(out_path, &err);
  if (!again) die("a written cassette does not read", err);
  return again;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init_paths();
  if (!write_bytes(in_path, data, size)) die("cannot write", in_path);
  char *err = NULL;
  Records *first = cassette_read(in_path, &err);
  if (!first) {
    if (!err || !err[0] || strchr(err, '\n')) die("a refused cassette needs a one-line message", err);
    free(err);
    return 0;
  }
  char *b1, *b2;
  size_t n1, n2;
  /* invalid UTF-8 is replaced by the first write: start from what it reads as */
  Records *base = first;
  if (!all_utf8(first)) {
    base = round_trip(first, &b1, &n1);
    free(b1);
    if (!all_utf8(base)) die("a written cassette reads with invalid UTF-8", NULL);
  }
  Records *second = round_trip(base, &b1, &n1);
  check_equal(base, second);
  Records *third = round_trip(second, &b2, &n2);
  if (n1 != n2 || memcmp(b1, b2, n1) != 0) die("writing a cassette twice gave different bytes", NULL);
  check_equal(second, third);
  free(b1);
  free(b2);
  if (base != first) records_free(base);
  records_free(first);
  records_free(second);
  records_free(third);
  return 0;
}
