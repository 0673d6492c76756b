/* test_schema_ranges.c — constrained types as the three schema dialects see
 * them (golden text), and mock values inside every range.
 *
 * A program is compiled from source, so the descriptors are what the
 * emitter really writes; main's result type is the one asked for. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../base/util.h"
#include "../../compiler/compiler.h"
#include "../../runtime/schema.h"
#include "../../stdlib/builtins.h"
#include "../../vm/json.h"
#include "tap.h"

#define PROGRAM                                                                   \
  "type Score = int(1..10)\n"                                                     \
  "type Topic = { name: string(1..40), weight: float(0.0..1.0) }\n"               \
  "type Review = {\n"                                                             \
  "  /// how good\n"                                                              \
  "  score: Score,\n"                                                             \
  "  delta: int(-5..),\n"                                                         \
  "  topics: list[Topic](3..5),\n"                                                \
  "  tags: list[string](..2),\n"                                                  \
  "}\n"                                                                           \
  "fn main() -> Review { from_json[Review](json_parse(\"0\")) }\n"

typedef struct Compiled {
  SourceSet ss;
  DiagList dl;
  Heap heap;
  Module *m;
  char path[64];
} Compiled;

static bool compile(Compiled *c, const char *text) {
  snprintf(c->path, sizeof c->path, "/tmp/weft-schema-ranges-%ld.weft", (long)getpid());
  FILE *f = fopen(c->path, "w");
  if (!f) return false;
  fputs(text, f);
  fclose(f);
  heap_init(&c->heap, 0);
  src_init(&c->ss);
  diag_init(&c->dl);
  CompileOptions opt = {.natives = std_native_table()};
  c->m = compile_file(c->path, &c->ss, &c->dl, &opt, &c->heap);
  unlink(c->path);
  return c->m != NULL;
}

static void compiled_free(Compiled *c) {
  if (c->m) module_free(c->m);
  diag_free(&c->dl);
  src_free(&c->ss);
}

#define TOPIC_PLAIN                                                                               \
  "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"minLength\":1,"          \
  "\"maxLength\":40},\"weight\":{\"type\":\"number\",\"minimum\":0.0,\"maximum\":1.0}},"         \
  "\"required\":[\"name\",\"weight\"],\"additionalProperties\":false}"
#define WANT_PLAIN                                                                                \
  "{\"type\":\"object\",\"properties\":{"                                                         \
  "\"score\":{\"description\":\"how good\",\"type\":\"integer\",\"minimum\":1,\"maximum\":10},"  \
  "\"delta\":{\"type\":\"integer\",\"minimum\":-5},"                                             \
  "\"topics\":{\"type\":\"array\",\"items\":" TOPIC_PLAIN ",\"minItems\":3,\"maxItems\":5},"     \
  "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":2}},"               \
  "\"required\":[\"score\",\"delta\",\"topics\",\"tags\"],\"additionalProperties\":false}"

/* OpenAI strict: numbers and item counts as keywords, a string's length
 * in words */
#define TOPIC_OPENAI                                                                              \
  "{\"type\":\"object\",\"properties\":{\"name\":{\"description\":\"a string of 1 to 40 "        \
  "characters\",\"type\":\"string\"},\"weight\":{\"type\":\"number\",\"minimum\":0.0,"           \
  "\"maximum\":1.0}},\"required\":[\"name\",\"weight\"],\"additionalProperties\":false}"
#define WANT_OPENAI                                                                               \
  "{\"type\":\"object\",\"properties\":{"                                                         \
  "\"score\":{\"description\":\"how good\",\"type\":\"integer\",\"minimum\":1,\"maximum\":10},"  \
  "\"delta\":{\"type\":\"integer\",\"minimum\":-5},"                                             \
  "\"topics\":{\"type\":\"array\",\"items\":" TOPIC_OPENAI ",\"minItems\":3,\"maxItems\":5},"    \
  "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":2}},"               \
  "\"required\":[\"score\",\"delta\",\"topics\",\"tags\"],\"additionalProperties\":false}"

/* Anthropic: no bound as a keyword; each in the description, after a doc */
#define TOPIC_ANTHROPIC                                                                           \
  "{\"type\":\"object\",\"properties\":{\"name\":{\"description\":\"a string of 1 to 40 "        \
  "characters\",\"type\":\"string\"},\"weight\":{\"description\":\"a number from 0.0 to 1.0\","  \
  "\"type\":\"number\"}},\"required\":[\"name\",\"weight\"],\"additionalProperties\":false}"
#define WANT_ANTHROPIC                                                                            \
  "{\"type\":\"object\",\"properties\":{"                                                         \
  "\"score\":{\"description\":\"how good (an integer from 1 to 10)\",\"type\":\"integer\"},"     \
  "\"delta\":{\"description\":\"an integer of at least -5\",\"type\":\"integer\"},"              \
  "\"topics\":{\"description\":\"a list of 3 to 5 items\",\"type\":\"array\",\"items\":"         \
  TOPIC_ANTHROPIC "},"                                                                            \
  "\"tags\":{\"description\":\"a list of at most 2 items\",\"type\":\"array\",\"items\":"        \
  "{\"type\":\"string\"}}},"                                                                      \
  "\"required\":[\"score\",\"delta\",\"topics\",\"tags\"],\"additionalProperties\":false}"

static void test_golden(const Module *m) {
  static const struct { SchemaDialect d; const char *name, *want; } cases[] = {
    {SCHEMA_PLAIN, "plain", WANT_PLAIN},
    {SCHEMA_OPENAI_STRICT, "openai", WANT_OPENAI},
    {SCHEMA_ANTHROPIC, "anthropic", WANT_ANTHROPIC},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ok(schema_check(m, m->main_result, cases[i].d) == NULL, "%s: the type can be asked for", cases[i].name);
    char *got = schema_json(m, m->main_result, cases[i].d, NULL);
    is_str(got, cases[i].want, "%s: schema of Review", cases[i].name);
    free(got);
  }
}

/* Every mock value converts to the type: inside every range, for many
 * seeds (the conversion is the check a reply gets). */
static void test_mock_inside(const Module *m) {
  Heap h;
  heap_init(&h, 0);
  uint32_t bad = 0;
  char *first = NULL;
  for (uint64_t seed = 0; seed < 500; seed++) {
    Value v = schema_mock_value(&h, m, m->main_result, seed), out;
    char *err = NULL;
    if (v_convert(&h, m, m->main_result, v, &out, &err)) {
      v_release(&h, out);
    } else {
      bad++;
      if (!first) first = err;
      else free(err);
    }
    v_release(&h, v);
  }
  ok(bad == 0, "500 mock values are inside their ranges (%u not; first: %s)", bad, first ? first : "-");
  free(first);
}

/* Bounds at the ends of int64, and a length no mock value is made to meet:
 * the mock stays inside or fails validation cleanly, never overflows. */
static void test_mock_extremes(void) {
  Compiled c;
  memset(&c, 0, sizeof c);
  bool built = compile(&c, "type E = { a: int(-9223372036854775807..9223372036854775807),\n"
                           "  b: int(9223372036854775800..), c: int(..-9223372036854775800),\n"
                           "  d: string(5000..), e: list[int](0..0) }\n"
                           "fn main() -> E { from_json[E](json_parse(\"0\")) }\n");
  ok(built, "extreme ranges compile");
  if (built) {
    Heap h;
    heap_init(&h, 0);
    for (uint64_t seed = 0; seed < 50; seed++) {
      Value v = schema_mock_value(&h, c.m, c.m->main_result, seed), out;
      char *err = NULL;
      bool fits = v_convert(&h, c.m, c.m->main_result, v, &out, &err);
      if (fits) v_release(&h, out);
      /* d cannot be met by a mock value: the conversion must say so, at d */
      if (seed == 0) {
        ok(!fits && err && strstr(err, "$.d: expected string of at least 5000 characters"),
           "a length past the mock's limit fails validation: %s", err ? err : "(fits)");
      }
      free(err);
      v_release(&h, v);
    }
  }
  compiled_free(&c);
}

/* A hostile module's range descriptors: the verifier refuses a base with no
 * measure, a base that is not earlier, and a bound that is not a number of
 * the base's kind, so nothing that reads a range meets one. */
static void test_verify(void) {
  static const struct { const char *what; int base_kind; bool later; int bound; bool ok; } cases[] = {
    {"an int range with int bounds", TD_INT, false, K_INT, true},
    {"a float range with float bounds", TD_FLOAT, false, K_FLOAT, true},
    {"a range of a bool", TD_BOOL, false, K_INT, false},
    {"a range of a record", TD_JSON, false, K_INT, false},
    {"a range of a later descriptor", TD_INT, true, K_INT, false},
    {"a string bound", TD_INT, false, K_STRING, false},
    {"a float bound on an int", TD_INT, false, K_FLOAT, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Heap h;
    heap_init(&h, 0);
    Module *m = module_new(&h);
    TypeDesc base = {.kind = (uint8_t)cases[i].base_kind, .elem = NO_INDEX, .doc = NO_INDEX, .name = NO_INDEX};
    uint32_t b = module_add_type(m, &base);
    uint32_t k = cases[i].bound == K_INT     ? module_add_const(m, K_INT, v_int(3))
                 : cases[i].bound == K_FLOAT ? module_add_const(m, K_FLOAT, v_float(0.5))
                                             : module_add_string(m, "3", 1);
    TypeDesc r = {.kind = TD_RANGE, .elem = cases[i].later ? b + 1 : b, .lo = k, .hi = NO_INDEX,
                  .doc = NO_INDEX, .name = NO_INDEX};
    module_add_type(m, &r);
    char *err = NULL;
    bool ok_ = module_verify(m, &err);
    ok(ok_ == cases[i].ok, "verify: %s is %s (%s)", cases[i].what, cases[i].ok ? "accepted" : "refused",
       err ? err : "no error");
    free(err);
    module_free(m);
  }
}

/* A hostile module's bounds: what the checker refuses in source (a negative
 * length, an empty range, a bound that is not a finite number) is refused
 * on load too, since the mock, the schema and validation trust them (a
 * string range of at most -1 characters made the mock index before its
 * buffer; a list range of -5 to -1 items asked for 2^32 of them). */
static void test_verify_bounds(void) {
  static const struct { const char *what; int base_kind; bool lo_set, hi_set; double lo, hi; bool ok; } cases[] = {
    {"a string of at most -1 characters", TD_STRING, false, true, 0, -1, false},
    {"a list of -5 to -1 items", TD_LIST, true, true, -5, -1, false},
    {"an int range of 10 to 1", TD_INT, true, true, 10, 1, false},
    {"a float range from NaN", TD_FLOAT, true, false, NAN, 0, false},
    {"a float range up to infinity", TD_FLOAT, false, true, 0, INFINITY, false},
    {"a float range of 2.5 to 0.5", TD_FLOAT, true, true, 2.5, 0.5, false},
    {"a string of 0 to 5 characters", TD_STRING, true, true, 0, 5, true},
    {"an int range of -5 to -1", TD_INT, true, true, -5, -1, true},
    {"a float range of -1.5 to 2.0", TD_FLOAT, true, true, -1.5, 2.0, true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Heap h;
    heap_init(&h, 0);
    Module *m = module_new(&h);
    TypeDesc item = {.kind = TD_INT, .elem = NO_INDEX, .doc = NO_INDEX, .name = NO_INDEX};
    uint32_t it = module_add_type(m, &item);
    TypeDesc base = {.kind = (uint8_t)cases[i].base_kind, .elem = cases[i].base_kind == TD_LIST ? it : NO_INDEX,
                     .doc = NO_INDEX, .name = NO_INDEX};
    uint32_t b = module_add_type(m, &base);
    bool fl = cases[i].base_kind == TD_FLOAT;
    uint32_t lo = !cases[i].lo_set ? NO_INDEX
                  : fl           ? module_add_const(m, K_FLOAT, v_float(cases[i].lo))
                                 : module_add_const(m, K_INT, v_int((int64_t)cases[i].lo));
    uint32_t hi = !cases[i].hi_set ? NO_INDEX
                  : fl           ? module_add_const(m, K_FLOAT, v_float(cases[i].hi))
                                 : module_add_const(m, K_INT, v_int((int64_t)cases[i].hi));
    TypeDesc r = {.kind = TD_RANGE, .elem = b, .lo = lo, .hi = hi, .doc = NO_INDEX, .name = NO_INDEX};
    module_add_type(m, &r);
    char *err = NULL;
    bool ok_ = module_verify(m, &err);
    ok(ok_ == cases[i].ok, "verify: %s is %s (%s)", cases[i].what, cases[i].ok ? "accepted" : "refused",
       err ? err : "no error");
    free(err);
    module_free(m);
  }
}

int main(void) {
  test_verify();
  test_verify_bounds();
  Compiled c;
  memset(&c, 0, sizeof c);
  bool built = compile(&c, PROGRAM);
  ok(built, "the program compiles");
  if (built) {
    test_golden(c.m);
    test_mock_inside(c.m);
  }
  compiled_free(&c);
  test_mock_extremes();
  return tap_done();
}
