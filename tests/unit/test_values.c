/* test_values.c — runtime values: rendering, maps, equality, ordering and
 * heap accounting. Prints `ok N - desc` lines; exits non-zero on failure. */
#include "../../vm/value.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Renders v as JSON (or display text) and compares with want. */
static void check_render(Value v, bool display, const char *want, const char *desc) {
  Buf b;
  buf_init(&b);
  char *why = NULL;
  bool done = display ? v_to_display(&b, v, &why) : v_to_json(&b, v, &why);
  if (why) diag("  failed: %s", why);
  free(why);
  int good = done && b.data && strcmp(b.data, want) == 0;
  ok(good, "%s", desc);
  if (!good) diag("  got:  %s\n  want: %s", b.data ? b.data : "(null)", want);
  buf_free(&b);
}

static void check_dur(int64_t ms, const char *want) {
  Buf b;
  buf_init(&b);
  dur_format(&b, ms);
  char desc[64];
  snprintf(desc, sizeof desc, "duration %lld renders as %s", (long long)ms, want);
  ok(b.data && strcmp(b.data, want) == 0, "%s", desc);
  buf_free(&b);
}

static void test_scalars(void) {
  check_render(v_float(0.1), false, "0.1", "0.1 prints shortest");
  check_render(v_float(3.0), false, "3.0", "3.0 keeps its .0");
  check_render(v_float(-0.5), false, "-0.5", "-0.5");
  check_render(v_float(1.0 / 3.0), false, "0.3333333333333333", "1/3 round-trips in 16 digits");
  check_render(v_float(1e21), false, "1e+21", "large floats use an exponent");
  check_render(v_float(100.0), false, "100.0", "100.0");
  check_render(v_int(-42), false, "-42", "ints");
  check_render(v_none(), false, "null", "none is null");
  check_render(v_bool(true), false, "true", "true");
  check_render(v_duration(90000), false, "\"1m30s\"", "durations are JSON strings");
  check_render(v_duration(90000), true, "1m30s", "durations display bare");
  Buf b;
  buf_init(&b);
  buf_puts(&b, "[1,");
  char *why = NULL;
  ok(!v_to_json(&b, v_float(NAN), &why) && why && strcmp(why, "cannot render NaN as JSON") == 0,
     "NaN has no JSON form");
  free(why);
  why = NULL;
  ok(!v_to_json(&b, v_float(INFINITY), &why) && why && strcmp(why, "cannot render infinity as JSON") == 0,
     "infinity has no JSON form");
  free(why);
  Heap h;
  heap_init(&h, 0);
  Value l = v_list(&h, 2);
  l = list_push_take(&h, l, v_int(2));
  l = list_push_take(&h, l, v_float(NAN));
  ok(!v_to_json(&b, l, NULL) && strcmp(b.data, "[1,") == 0,
     "a failed rendering leaves the buffer as it was, without its partial output");
  v_release(&h, l);
  buf_free(&b);
  check_dur(1500, "1.5s");
  check_dur(90000, "1m30s");
  check_dur(250, "250ms");
  check_dur(0, "0s");
  check_dur(3600000, "1h");
  check_dur(3661001, "1h1m1.001s");
  check_dur(-1500, "-1.5s");
  check_dur(INT64_MIN, "-2562047788015h12m55.808s");
}

static void test_strings(Heap *h) {
  Value s = v_string(h, "a\"b\\\n\x01\xff\xc3\xa9\xed\xa0\x80z", 13);
  check_render(s, false, "\"a\\\"b\\\\\\n\\u0001\\ufffd\xc3\xa9\\ufffd\\ufffd\\ufffdz\"",
               "JSON escapes, keeps valid UTF-8, replaces invalid bytes");
  check_render(s, true, "a\"b\\\n\x01\xff\xc3\xa9\xed\xa0\x80z", "display keeps a string raw");
  Value t = v_cstring(h, "a\"b\\\n");
  ok(!v_equal(s, t), "different strings are unequal");
  Value u = v_string(h, "a\"b\\\n\x01\xff\xc3\xa9\xed\xa0\x80z", 13);
  ok(v_equal(s, u) && str_hash(AS_STRING(s)) == str_hash(AS_STRING(u)), "equal strings, equal hashes");
  ok(v_compare(t, s) < 0, "a prefix sorts first");
  v_release(h, s);
  v_release(h, t);
  v_release(h, u);
}

static void test_maps(Heap *h) {
  Value m = v_map(h, 0);
  char key[16];
  for (int i = 0; i < 40; i++) {
    snprintf(key, sizeof key, "k%d", i);
    Value k = v_cstring(h, key);
    m = map_set_take(h, m, AS_STRING(k), v_int(i));
    v_release(h, k);
  }
  int all = AS_MAP(m)->n == 40 && AS_MAP(m)->index_cap > 0;
  for (int i = 0; i < 40 && all; i++) {
    snprintf(key, sizeof key, "k%d", i);
    Value *v = map_get_cstr(AS_MAP(m), key, strlen(key));
    all = v && v->as.i == i;
  }
  ok(all, "40 keys: indexed lookups find every one");
  ok(!map_get_cstr(AS_MAP(m), "nope", 4), "a missing key is NULL");
  Value shared = v_retain(m);
  Value k5 = v_cstring(h, "k5");
  Value m2 = map_set_take(h, v_retain(m), AS_STRING(k5), v_int(500));
  ok(m2.as.o != m.as.o && map_get(AS_MAP(m), AS_STRING(k5))->as.i == 5 && map_get(AS_MAP(m2), AS_STRING(k5))->as.i == 500,
     "setting a shared map copies it");
  m2 = map_remove_take(h, m2, AS_STRING(k5));
  ok(AS_MAP(m2)->n == 39 && !map_get(AS_MAP(m2), AS_STRING(k5)) && map_get_cstr(AS_MAP(m2), "k39", 3),
     "remove keeps the other keys findable");
  ok(strcmp(AS_MAP(m2)->keys[5]->data, "k6") == 0, "remove keeps insertion order");
  v_release(h, k5);
  v_release(h, m2);
  v_release(h, shared);

  Value small = v_map(h, 0);
  Value kb = v_cstring(h, "b"), ka = v_cstring(h, "a");
  small = map_set_take(h, small, AS_STRING(kb), v_int(1));
  small = map_set_take(h, small, AS_STRING(ka), v_duration(250));
  check_render(small, false, "{\"b\":1,\"a\":\"250ms\"}", "maps render in insertion order");
  v_release(h, small);
  v_release(h, m);

  /* records: shape order in output; equality by field name */
  ObjShape *s1 = shape_new(h, 2), *s2 = shape_new(h, 2);
  s1->names[0] = AS_STRING(v_retain(kb)); s1->names[1] = AS_STRING(v_retain(ka));
  s2->names[0] = AS_STRING(v_retain(ka)); s2->names[1] = AS_STRING(v_retain(kb));
  Value r1 = v_record(h, s1), r2 = v_record(h, s2);
  AS_RECORD(r1)->vals[0] = v_int(1); AS_RECORD(r1)->vals[1] = v_cstring(h, "x");
  AS_RECORD(r2)->vals[0] = v_cstring(h, "x"); AS_RECORD(r2)->vals[1] = v_int(1);
  check_render(r1, false, "{\"b\":1,\"a\":\"x\"}", "records render in shape order");
  ok(v_equal(r1, r2), "records compare by field name, not order");
  Value *f = record_get(AS_RECORD(r2), AS_STRING(kb));
  ok(f && f->tag == V_INT && f->as.i == 1, "record_get by name");
  v_release(h, v_obj(&s1->h));
  v_release(h, v_obj(&s2->h));
  v_release(h, r1);
  v_release(h, r2);
  v_release(h, ka);
  v_release(h, kb);
}

static void test_lists(Heap *h) {
  Value l = v_list(h, 0);
  for (int i = 0; i < 3; i++) l = list_push_take(h, l, v_int(i));
  Value keep = v_retain(l);
  Value l2 = list_push_take(h, v_retain(l), v_float(2.5));
  ok(AS_LIST(l)->n == 3 && AS_LIST(l2)->n == 4, "pushing onto a shared list copies");
  check_render(l2, false, "[0,1,2,2.5]", "list renders");
  Value c = list_concat(h, l, l2);
  Value empty = v_cstring(h, "");
  ok(AS_LIST(c)->n == 7, "concat");
  ok(v_compare(l, l2) < 0 && v_compare(v_none(), v_bool(false)) < 0 &&
     v_compare(v_int(3), v_float(2.5)) > 0 && v_compare(v_duration(1), empty) < 0,
     "total order: none < bool < numbers < duration < string; lists lexicographic");
  ok(v_equal(v_int(2), v_float(2.0)), "int 2 equals float 2.0 (json numbers)");
  v_release(h, c);
  v_release(h, empty);
  v_release(h, l2);
  v_release(h, keep);
  v_release(h, l);
}

static void test_heap(void) {
  Heap h;
  heap_init(&h, 1000);
  Value a = v_string(&h, "x", 1);
  ok(!h.over_limit && heap_would_exceed(&h, 2000) && !heap_would_exceed(&h, 10), "would_exceed sees the limit");
  Value b = v_list(&h, 100);
  ok(h.over_limit, "going over the limit sets over_limit");
  v_release(&h, a);
  v_release(&h, b);
  ok(h.used == 0, "every byte is returned");
  h.over_limit = false;
  h.fail_after = h.nallocs + 2;
  a = v_string(&h, "x", 1);
  ok(!h.over_limit, "fail_after: not yet");
  b = v_string(&h, "y", 1);
  ok(h.over_limit, "fail_after: the Nth allocation trips the flag");
  v_release(&h, a);
  v_release(&h, b);
}

int main(void) {
  Heap h;
  heap_init(&h, 0);
  test_scalars();
  test_strings(&h);
  test_maps(&h);
  test_lists(&h);
  ok(h.used == 0, "no bytes leaked from the test heap");
  test_heap();
  return tap_done();
}
