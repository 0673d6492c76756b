/* test_json_suite.c — v_from_json against JSONTestSuite's test_parsing
 * files (tests/json/JSONTestSuite): every y_ file accepted, every n_ file
 * rejected, and every i_ file decided as tests/json/i_decisions.txt says
 * (a file missing from the table, or a table line naming no file, fails).
 * Each parse also returns every byte it allocated, accepted or not. */
#include "../../base/util.h"
#include "../../vm/json.h"
#include "tap.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef WEFT_SRCDIR
#define WEFT_SRCDIR "."
#endif

#define SUITE WEFT_SRCDIR "/tests/json/JSONTestSuite/test_parsing"
#define DECISIONS WEFT_SRCDIR "/tests/json/i_decisions.txt"

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  Buf b;
  buf_init(&b);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_put(&b, chunk, n);
  fclose(f);
  *len = b.len;
  if (!b.data) buf_putc(&b, '\0');
  return b.data;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The table: "NAME accept|reject REASON" lines; '#' starts a comment. */
typedef struct Decision {
  char name[256];
  bool accept;
  bool used;
} Decision;

static Decision decisions[256];
static int ndecisions;

static void load_decisions(void) {
  FILE *f = fopen(DECISIONS, "r");
  if (!f) { diag("cannot open %s", DECISIONS); exit(2); }
  char line[1024];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    if (line[0] == '#' || line[0] == '\n') continue;
    char name[256], verdict[16], reason[2];
    if (sscanf(line, "%255s %15s %1s", name, verdict, reason) != 3 ||
        (strcmp(verdict, "accept") != 0 && strcmp(verdict, "reject") != 0) ||
        ndecisions == (int)(sizeof decisions / sizeof decisions[0])) {
      ok(false, "i_decisions.txt line %d: NAME accept|reject REASON", lineno);
      continue;
    }
    Decision *d = &decisions[ndecisions++];
    snprintf(d->name, sizeof d->name, "%s", name);
    d->accept = strcmp(verdict, "accept") == 0;
  }
  fclose(f);
}

static Decision *decision(const char *name) {
  for (int i = 0; i < ndecisions; i++)
    if (strcmp(decisions[i].name, name) == 0) return &decisions[i];
  return NULL;
}

static void test_suite(void) {
  DIR *dir = opendir(SUITE);
  if (!dir) { diag("cannot open %s", SUITE); exit(2); }
  char **names = NULL;
  size_t n = 0, cap = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    if (!strstr(e->d_name, ".json")) continue;
    if (n == cap) names = xrealloc(names, (cap = cap ? 2 * cap : 512) * sizeof *names);
    names[n++] = xstrdup(e->d_name);
  }
  closedir(dir);
  qsort(names, n, sizeof *names, by_name);
  ok(n > 300, "the suite has its %zu test_parsing files", n);
  int y = 0, no = 0, in = 0;
  for (size_t k = 0; k < n; k++) {
    const char *name = names[k];
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SUITE, name);
    size_t len = 0;
    char *text = read_all(path, &len);
    if (!text) { ok(false, "%s: readable", name); continue; }
    Heap h;
    heap_init(&h, 0);
    Value v;
    char *err = NULL;
    bool accepted = v_from_json(&h, text, len, &v, &err);
    if (accepted) v_release(&h, v);
    bool want;
    const char *why;
    if (name[0] == 'y') { want = true; why = "valid JSON"; y++; }
    else if (name[0] == 'n') { want = false; why = "invalid JSON"; no++; }
    else {
      Decision *d = decision(name);
      in++;
      if (!d) {
        ok(false, "%s: decided in tests/json/i_decisions.txt", name);
        free(text);
        free(err);
        continue;
      }
      d->used = true;
      want = d->accept;
      why = "as i_decisions.txt says";
    }
    if (!ok(accepted == want, "%s %s (%s)", name, want ? "accepted" : "rejected", why))
      diag("  %s", accepted ? "accepted" : err ? err : "(no message)");
    if (!accepted && (!err || !*err)) ok(false, "%s: rejected with a message", name);
    if (h.used != 0) ok(false, "%s: %zu bytes still allocated after release", name, h.used);
    free(err);
    free(text);
  }
  for (int i = 0; i < ndecisions; i++)
    if (!decisions[i].used) ok(false, "i_decisions.txt names %s, which the suite does not have", decisions[i].name);
  diag("%d y_, %d n_, %d i_ files", y, no, in);
  for (size_t k = 0; k < n; k++) free(names[k]);
  free(names);
}

/* Parses text; returns its JSON rendering, or "ERR: message". */
static char *parse(const char *text, size_t len) {
  Heap h;
  heap_init(&h, 0);
  Value v;
  char *err = NULL;
  Buf b;
  buf_init(&b);
  if (v_from_json(&h, text, len, &v, &err)) {
    char *why = NULL;
    if (!v_to_json(&b, v, &why)) buf_printf(&b, "UNRENDERABLE: %s", why);
    free(why);
    v_release(&h, v);
  } else {
    buf_printf(&b, "ERR: %s", err ? err : "(no message)");
  }
  free(err);
  return b.data;
}

#define CHECK(text, want, desc)                    \
  do {                                             \
    char *got_ = parse(text, sizeof text - 1);     \
    is_str(got_, want, "%s", desc);                \
    free(got_);                                    \
  } while (0)

/* The cases the suite turned up, and the decisions, with their values. */
static void test_decisions(void) {
  CHECK("[-0.000000000000000000000000000000000000000000000000000000000000000000000000000001]",
        "[-1e-78]", "an 80-digit fraction is a float");
  CHECK("[123456789012345678901234567890123456789012345678901234567890123456789012345678901]",
        "[1.2345678901234567e+80]", "an 81-digit integer is a float");
  CHECK("[1.000000000000000000000000000000000000000000000000000000000000000000000000000000000001e2]",
        "[100.0]", "a long mantissa with an exponent");
  CHECK("[\"\\uqqqq\"]", "ERR: invalid JSON at line 1, column 3: invalid \\u escape (four hex digits expected)",
        "\\uqqqq is refused, not U+FFFD");
  CHECK("[\"\\u00e\"]", "ERR: invalid JSON at line 1, column 3: invalid \\u escape (four hex digits expected)",
        "three hex digits are refused");
  CHECK("[\"\\x41\"]", "ERR: invalid JSON at line 1, column 3: invalid escape", "\\x is no JSON escape");
  CHECK("[\"\\\xc3\xa9\"]", "ERR: invalid JSON at line 1, column 3: invalid escape", "a backslash before UTF-8");
  CHECK("[\"\\uD800\"]", "ERR: invalid JSON at line 1, column 3: lone surrogate in \\u escape", "lone high surrogate");
  CHECK("[\"\\uDC00\\uD800\"]", "ERR: invalid JSON at line 1, column 3: lone surrogate in \\u escape",
        "inverted surrogates");
  CHECK("[\"\\uD800\\u0041\"]", "ERR: invalid JSON at line 1, column 3: lone surrogate in \\u escape",
        "a high surrogate before a non-surrogate");
  CHECK("[\"\\uD834\\uDd1e\"]", "[\"\xf0\x9d\x84\x9e\"]", "a surrogate pair in mixed case");
  CHECK("[\"a\x7f\"]", "[\"a\x7f\"]", "DEL is no control character to JSON");
  CHECK("[\"a\tb\"]", "ERR: invalid JSON at line 1, column 4: control character in string (escape it)",
        "a raw tab in a string");
  CHECK("[1e999]", "ERR: invalid JSON at line 1, column 2: number out of range", "1e999 is refused");
  CHECK("[-1e999]", "ERR: invalid JSON at line 1, column 2: number out of range", "-1e999 is refused");
  CHECK("[123e-10000000]", "[0.0]", "an underflow is 0.0");
  CHECK("[100000000000000000000]", "[1e+20]", "an integer beyond int64 is a float");
  CHECK("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}", "a repeated key: first position, last value");
  CHECK("[tru]", "ERR: invalid JSON at line 1, column 2: unexpected character 't'", "a misspelt literal");
  CHECK("[nul", "ERR: invalid JSON at line 1, column 5: unexpected end of input", "a literal cut short");
  CHECK("\"\\", "ERR: invalid JSON at line 1, column 3: unexpected end of input", "a backslash at the end");
  CHECK("\"\\u12", "ERR: invalid JSON at line 1, column 2: invalid \\u escape (four hex digits expected)",
        "a \\u escape cut short");
}

int main(void) {
  load_decisions();
  test_suite();
  test_decisions();
  return tap_done();
}
