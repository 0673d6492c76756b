/* test_linear.c — what reads type descriptors stays linear in the module
 * (docs/security.md, "Work linear in the program").
 *
 * Descriptors may only refer to earlier ones, so a table is acyclic, but
 * it may share: record D0 = { a: D1, b: D1 }, D1 = { a: D2, b: D2 }, ...
 * is 60 descriptors and 2^60 nodes as a tree. Printing a descriptor stops
 * at its cap, conversion of a value that shares the same way converts each
 * object once, and the verifier refuses an enum or record wider than
 * MODULE_MAX_MEMBERS. Each check is also a timing check: run without the
 * fixes, these tests do not end (the runner's timeout fails them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../stdlib/builtins.h"
#include "../../vm/json.h"
#include "../../vm/module.h"
#include "tap.h"

#define LEVELS 60

static bool convert(Heap *h, const Module *m, uint32_t td, Value v, Value *out, char **err) {
  *err = NULL;
  return v_convert(h, m, td, v, out, err);
}

static char *load_err(Heap *h, const Module *m) {
  size_t len;
  uint8_t *bytes = module_write(m, &len);
  char *err = NULL;
  Module *back = module_load(h, bytes, len, std_native_table(), &err);
  free(bytes);
  if (back) module_free(back);
  return back ? NULL : (err ? err : strdup("(no message)"));
}

static uint32_t add_td(Module *m, TypeDescKind kind, uint32_t elem) {
  TypeDesc td = { .kind = (uint8_t)kind, .elem = elem, .doc = NO_INDEX, .name = NO_INDEX };
  return module_add_type(m, &td);
}

/* D0 = { a: D1, b: D1 }, ..., D(LEVELS-1) = { a: leaf, b: leaf }; named
 * ones are called "D<level>". Returns D0. */
static uint32_t doubling(Module *m, uint32_t leaf, bool named) {
  uint32_t ka = module_add_string(m, "a", 1), kb = module_add_string(m, "b", 1);
  uint32_t prev = leaf;
  for (int i = LEVELS - 1; i >= 0; i--) {
    char name[16];
    int n = snprintf(name, sizeof name, "D%d", i);
    TypeField f[2] = { { ka, prev, NO_INDEX }, { kb, prev, NO_INDEX } };
    TypeDesc rec = { .kind = TD_RECORD, .n = 2, .fields = f, .doc = NO_INDEX,
                     .name = named ? module_add_string(m, name, (size_t)n) : NO_INDEX };
    prev = module_add_type(m, &rec);
  }
  return prev;
}

/* map with key[0..len) set to val (taken). */
static Value put(Heap *h, Value map, const char *key, size_t len, Value val) {
  Value k = v_string(h, key, len);
  map = map_set_take(h, map, AS_STRING(k), val);
  v_release(h, k);
  return map;
}

/* A map value shaped like D0 whose two fields are one object: 61 objects. */
static Value shared_value(Heap *h, Value leaf) {
  Value v = leaf;
  for (int i = 0; i < LEVELS; i++) {
    Value map = v_map(h, 2);
    map = put(h, map, "a", 1, v_retain(v));
    map = put(h, map, "b", 1, v);
    v = map;
  }
  return v;
}

static void test_print(Heap *h) {
  Module *m = module_new(h);
  uint32_t top = doubling(m, add_td(m, TD_INT, NO_INDEX), false);
  Buf b;
  buf_init(&b);
  type_desc_print(&b, m, top);
  ok(b.len <= TYPE_PRINT_MAX + 3, "an unnamed doubling type prints at most the cap (%zu bytes)", b.len);
  is_prefix(b.data, "{ a: { a: { a:", "it prints from the top");
  ok(b.len >= 3 && strcmp(b.data + b.len - 3, "…") == 0, "and ends in an ellipsis");
  buf_free(&b);
  /* after a prefix already in the buffer, the cap counts from there */
  buf_init(&b);
  buf_puts(&b, "expected ");
  type_desc_print(&b, m, top);
  ok(b.len <= 9 + TYPE_PRINT_MAX + 3, "the cap counts from where the type starts (%zu bytes)", b.len);
  buf_free(&b);
  module_free(m);

  m = module_new(h);
  top = doubling(m, add_td(m, TD_INT, NO_INDEX), true);
  buf_init(&b);
  type_desc_print(&b, m, top);
  is_str(b.data, "D0", "a named record prints as its name");
  buf_free(&b);
  module_free(m);
}

static void test_convert(Heap *h) {
  Module *m = module_new(h);
  uint32_t top = doubling(m, add_td(m, TD_INT, NO_INDEX), false);
  Value out;
  char *err = NULL;
  /* a mismatch names the type: capped */
  bool okv = convert(h, m, top, v_int(1), &out, &err);
  ok(!okv && err && strlen(err) < 2 * TYPE_PRINT_MAX, "a mismatch against it is reported briefly (%zu bytes)",
     err ? strlen(err) : 0);
  has_substr(err, "…", "with the type cut short");
  free(err);
  /* a value that shares as the type does converts once per object */
  Value v = shared_value(h, v_int(7));
  okv = convert(h, m, top, v, &out, &err);
  ok(okv, "a shared value of 2^%d leaves converts (%s)", LEVELS, err ? err : "ok");
  if (okv) {
    ObjRecord *r = AS_RECORD(out);
    ok(r->vals[0].tag == V_OBJ && r->vals[0].as.o == r->vals[1].as.o, "and the result shares the same way");
    Value x = out;
    for (int i = 0; i < LEVELS && v_is(x, OBJ_RECORD); i++) x = AS_RECORD(x)->vals[i % 2];
    ok(x.tag == V_INT && x.as.i == 7, "with the leaf at the bottom");
    v_release(h, out);
  }
  free(err);
  v_release(h, v);
  /* a bad leaf deep in a shared value: one error with its path */
  v = shared_value(h, v_cstring(h, "x"));
  okv = convert(h, m, top, v, &out, &err);
  ok(!okv && err && strstr(err, "$.a.a.a") && strstr(err, "expected int"), "a bad leaf is found (%.60s…)",
     err ? err : "accepted");
  free(err);
  v_release(h, v);
  module_free(m);
}

/* A record descriptor of MODULE_MAX_MEMBERS fields and a map of as many
 * keys, the last not a field: found at once, not by a scan per key. */
static void test_wide_record(Heap *h) {
  Module *m = module_new(h);
  uint32_t t_int = add_td(m, TD_INT, NO_INDEX);
  uint32_t n = MODULE_MAX_MEMBERS;
  TypeField *f = calloc(n, sizeof *f);
  Value map = v_map(h, n);
  char name[32];
  for (uint32_t i = 0; i < n; i++) {
    int len = snprintf(name, sizeof name, "f%u", i);
    f[i] = (TypeField){ module_add_string(m, name, (size_t)len), t_int, NO_INDEX };
    if (i + 1 == n) len = snprintf(name, sizeof name, "extra");
    map = put(h, map, name, (size_t)len, v_int(i));
  }
  TypeDesc rec = { .kind = TD_RECORD, .n = n, .fields = f, .doc = NO_INDEX, .name = NO_INDEX };
  uint32_t td = module_add_type(m, &rec);
  free(f);
  Value out;
  char *err = NULL;
  bool okv = convert(h, m, td, map, &out, &err);
  ok(!okv && err && strstr(err, "unexpected field \"extra\""), "a wide record finds the unknown field (%s)",
     err ? err : "accepted");
  free(err);
  v_release(h, map);
  char *lerr = load_err(h, m);
  ok(lerr == NULL, "a record of %u fields loads (%s)", n, lerr ? lerr : "ok");
  free(lerr);
  module_free(m);
}

/* An enum of a million members (4 MB of module): printed within the cap,
 * refused by the verifier with a short message. Likewise a record. */
static void test_huge_enum(Heap *h) {
  Module *m = module_new(h);
  uint32_t n = 1000000;
  uint32_t *mem = malloc(n * sizeof *mem);
  char word[32];
  for (uint32_t i = 0; i < n; i++) {
    int len = snprintf(word, sizeof word, "member%u", i);
    mem[i] = module_add_string(m, word, (size_t)len);
  }
  TypeDesc en = { .kind = TD_ENUM, .n = n, .members = mem, .doc = NO_INDEX, .name = NO_INDEX };
  uint32_t td = module_add_type(m, &en);
  Buf b;
  buf_init(&b);
  type_desc_print(&b, m, td);
  ok(b.len <= TYPE_PRINT_MAX + 3, "a million-member union prints within the cap (%zu bytes)", b.len);
  buf_free(&b);
  char *err = load_err(h, m);
  ok(err && strstr(err, "1000000 enum members (at most"), "the verifier refuses it (%s)", err ? err : "loaded");
  ok(err && strlen(err) < 200, "with a short message");
  free(err);
  module_free(m);

  m = module_new(h);
  uint32_t t_int = add_td(m, TD_INT, NO_INDEX);
  n = MODULE_MAX_MEMBERS + 1;
  TypeField *f = calloc(n, sizeof *f);
  for (uint32_t i = 0; i < n; i++) {
    int len = snprintf(word, sizeof word, "f%u", i);
    f[i] = (TypeField){ module_add_string(m, word, (size_t)len), t_int, NO_INDEX };
  }
  TypeDesc rec = { .kind = TD_RECORD, .n = n, .fields = f, .doc = NO_INDEX, .name = NO_INDEX };
  module_add_type(m, &rec);
  err = load_err(h, m);
  ok(err && strstr(err, "record fields (at most"), "a record one field too wide is refused (%s)",
     err ? err : "loaded");
  free(err);
  free(f);
  free(mem);
  module_free(m);
}

/* Many distinct descriptors, then each again: the builder's index finds
 * every one (equal descriptors share an index, others never do). */
static void test_dedup(Heap *h) {
  Module *m = module_new(h);
  uint32_t prev = add_td(m, TD_STRING, NO_INDEX), first = prev;
  uint32_t n = 20000, wrong = 0;
  for (uint32_t i = 0; i < n; i++) prev = add_td(m, i % 2 ? TD_LIST : TD_OPTIONAL, prev);
  uint32_t count = m->ntypes;
  prev = first;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t again = add_td(m, i % 2 ? TD_LIST : TD_OPTIONAL, prev);
    if (again != prev + 1) wrong++;
    prev = again;
  }
  ok(wrong == 0 && m->ntypes == count, "%u descriptors added twice are found again (%u wrong)", n, wrong);
  module_free(m);
}

int main(void) {
  Heap h;
  heap_init(&h, 0);
  test_print(&h);
  test_convert(&h);
  test_wide_record(&h);
  test_huge_enum(&h);
  test_dedup(&h);
  ok(h.used == 0, "every value was released (%zu bytes left)", h.used);
  return tap_done();
}
