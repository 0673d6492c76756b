/* test_labels.c — untrusted-content labels in the VM and the standard
 * library (docs/security.md, "Untrusted content: propagation").
 *
 * Three parts: a property test over the whole native table (every native,
 * every argument position labelled in turn, values generated from the
 * signature; nothing labelled in, nothing labelled out); the JSON round
 * trip; and small programs compiled and run in-process with deep-labelled
 * inputs, whose results' labels are read here (programs cannot read one). */
#include "../../base/util.h"
#include "../../compiler/compiler.h"
#include "../../stdlib/builtins.h"
#include "../../vm/json.h"
#include "../../vm/vm_impl.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static VM *vm;
static Fiber fib;

static Value J(const char *text) {
  char *err = NULL;
  Value v;
  if (!v_from_json(&vm->heap, text, strlen(text), &v, &err)) {
    diag("bad test JSON %s: %s", text, err);
    exit(2);
  }
  return v;
}

/* Whether any part of v (keys and inline values included) is labelled. */
static bool any_label(Value v) {
  if (v_label(v)) return true;
  if (v_is(v, OBJ_LIST))
    for (uint32_t i = 0; i < AS_LIST(v)->n; i++)
      if (any_label(AS_LIST(v)->items[i])) return true;
  if (v_is(v, OBJ_MAP))
    for (uint32_t i = 0; i < AS_MAP(v)->n; i++)
      if (AS_MAP(v)->keys[i]->h.label || any_label(AS_MAP(v)->vals[i])) return true;
  if (v_is(v, OBJ_RECORD))
    for (uint32_t i = 0; i < AS_RECORD(v)->shape->n; i++)
      if (any_label(AS_RECORD(v)->vals[i])) return true;
  return false;
}

/* Whether every string, list, map and record and every inline value in v
 * is labelled (a parse of labelled text); parts shared with others (an
 * argument's elements, which keep their own labels) are not looked at. */
static bool all_labelled(Value v) {
  if (v.tag == V_NONE) return true;
  if (v.tag == V_OBJ && v.as.o->rc > 1) return true;
  if (!v_label(v)) return false;
  if (v_is(v, OBJ_LIST))
    for (uint32_t i = 0; i < AS_LIST(v)->n; i++)
      if (!all_labelled(AS_LIST(v)->items[i])) return false;
  if (v_is(v, OBJ_MAP))
    for (uint32_t i = 0; i < AS_MAP(v)->n; i++)
      if ((AS_MAP(v)->keys[i]->h.rc == 1 && !AS_MAP(v)->keys[i]->h.label) || !all_labelled(AS_MAP(v)->vals[i])) return false;
  if (v_is(v, OBJ_RECORD))
    for (uint32_t i = 0; i < AS_RECORD(v)->shape->n; i++)
      if (!all_labelled(AS_RECORD(v)->vals[i])) return false;
  return true;
}

/* A fresh value deep-labelled with l (inline values too). */
static Value deep(Value v, Label l) {
  if (v.tag != V_OBJ) v.label = l;
  else v_label_deep(v, l);
  return v;
}

/* ---- the native table --------------------------------------------------- */

/* The text of parameter `pos` of a signature "[T](a, b) -> r" (in buf). */
static bool sig_param(const char *sig, int pos, char *buf, size_t cap) {
  const char *p = strchr(sig, '(');
  if (!p) return false;
  p++;
  for (int i = 0; ; i++) {
    int depth = 0;
    const char *s = p;
    while (*p && (depth > 0 || (*p != ',' && *p != ')'))) {
      if (*p == '[' || *p == '{' || *p == '(') depth++;
      if (*p == ']' || *p == '}' || *p == ')') depth--;
      p++;
    }
    if (i == pos) {
      size_t n = (size_t)(p - s);
      if (n >= cap) return false;
      memcpy(buf, s, n);
      buf[n] = '\0';
      return n > 0;
    }
    if (*p != ',') return false;
    p++;
    while (*p == ' ') p++;
  }
}

/* A value of the written type: small, valid for every native. */
static Value gen(const char *t) {
  size_t n = strlen(t);
  if (strcmp(t, "int") == 0 || strcmp(t, "K") == 0) return v_int(1);
  if (strcmp(t, "float") == 0) return v_float(2.0);
  if (strcmp(t, "bool") == 0) return v_bool(true);
  if (strcmp(t, "duration") == 0) return v_duration(1500);
  if (strcmp(t, "string") == 0) return v_cstring(&vm->heap, "a,b\nc");
  if (strcmp(t, "json") == 0) return J("{\"k\":[1,\"s\",true]}");
  if (n == 1 && t[0] >= 'A' && t[0] <= 'Z') return v_cstring(&vm->heap, "x");
  if (strcmp(t, "list[role]") == 0) return v_list(&vm->heap, 0);
  if (strncmp(t, "list[", 5) == 0 && t[n - 1] == ']') {
    char inner[128];
    snprintf(inner, sizeof inner, "%.*s", (int)(n - 6), t + 5);
    Value l = v_list(&vm->heap, 2);
    l = list_push_take(&vm->heap, l, gen(inner));
    return list_push_take(&vm->heap, l, gen(inner));
  }
  if (strncmp(t, "map[", 4) == 0 && t[n - 1] == ']') {
    char inner[128];
    snprintf(inner, sizeof inner, "%.*s", (int)(n - 5), t + 4);
    Value k = v_cstring(&vm->heap, "x");
    Value m = map_set_take(&vm->heap, v_map(&vm->heap, 1), AS_STRING(k), gen(inner));
    v_release(&vm->heap, k);
    return m;
  }
  diag("no generator for type %s", t);
  exit(2);
}

/* Arguments a native needs to succeed (its valid range) instead of gen's. */
static Value arg_for(const Native *nat, int pos, const char *type) {
  static const struct { const char *key; int pos; const char *json; } fixed[] = {
    {"json_parse", 0, "\"[1,{\\\"a\\\":\\\"b\\\"}]\""}, {"parse_int", 0, "\"12\""},
    {"parse_float", 0, "\"1.5\""}, {"split", 1, "\",\""}, {"replace", 1, "\"a\""},
    {"repeat", 1, "2"}, {"slice.string", 1, "0"}, {"slice.list", 1, "0"},
    {"range.2", 0, "0"}, {"range.2", 1, "3"}, {"format_float", 1, "2"},
    {"trace_event", 0, "\"verdict\""}, {"range.1", 0, "3"},
    {"index_of", 1, "\"b\""}, {"tally", 0, "[\"a\",\"b\",\"a\"]"}, {"get", 1, "\"x\""},
  };
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    if (strcmp(nat->key, fixed[i].key) == 0 && pos == fixed[i].pos) return J(fixed[i].json);
  return gen(type);
}

/* Natives a direct call cannot exercise (they park the fiber). */
static bool parks(const Native *nat) {
  return strcmp(nat->key, "sleep") == 0 || strcmp(nat->key, "cap_call") == 0;
}

static void reset_fiber(void) {
  free(fib.error);
  free(fib.error_trace);
  free(fib.error_addr);
  fib.error = fib.error_trace = fib.error_addr = NULL;
  fib.error_label = LABEL_NONE;
  fib.state = FIBER_RUNNING;
}

/* Calls nat as the native-call path does, with argument `labelled` (-1:
 * none) deep-labelled with l. Returns the status; *out is the result. */
static NativeStatus call(const Native *nat, int labelled, Label l, Value *out, Value *args) {
  char type[128];
  for (int i = 0; i < nat->arity; i++) {
    if (!sig_param(nat->sig, i, type, sizeof type)) { diag("%s: cannot read parameter %d", nat->key, i); exit(2); }
    args[i] = arg_for(nat, i, type);
    if (i == labelled) args[i] = deep(args[i], l);
  }
  *out = v_none();
  NativeStatus st = nat->fn(vm, &fib, args, nat->arity, out);
  Label lab = LABEL_NONE;
  for (int i = 0; i < nat->arity; i++) lab = label_join(lab, v_label(args[i]));
  if (st == NATIVE_ERROR) vm_raise_label(&fib, lab);
  if (st == NATIVE_OK && lab) *out = vm_native_labels(vm, nat, args, (uint32_t)nat->arity, lab, *out);
  return st;
}

/* The arguments stay alive until the result is looked at: what is shared
 * with them is theirs, not built by the native. */
static void release_args(const Native *nat, Value *args) {
  for (int i = 0; i < nat->arity; i++) v_release(&vm->heap, args[i]);
}

static void test_table(void) {
  const NativeTable *t = std_native_table();
  uint32_t bad = 0;
  for (uint32_t i = 0; i < t->n; i++) {
    const Native *n = &t->entries[i];
    if (n->labels > NL_NONE) { diag("%s: policy %u unknown", n->key, n->labels); bad++; }
    if (n->labels != NL_JOIN && (!n->label_why || !*n->label_why)) { diag("%s: a policy other than the default says why", n->key); bad++; }
    if (n->labels == NL_ELEMENT && n->arity == 0) { diag("%s: an element of nothing", n->key); bad++; }
  }
  ok(bad == 0, "every native has a known label policy, and every exception says why");
  const Native *tr = std_native_by_key("trust");
  ok(tr && tr->labels == NL_NONE && strcmp(tr->sig, "[T](T, string) -> T") == 0, "trust is a native: [T](T, string) -> T");
}

static void test_property(void) {
  const NativeTable *t = std_native_table();
  uint32_t checked = 0, failures = 0;
  Label l = vm_label_origin(vm, "the test's untrusted input");
  for (uint32_t i = 0; i < t->n; i++) {
    const Native *n = &t->entries[i];
    if (parks(n)) continue;
    /* nothing labelled in: nothing labelled out */
    Value out, args[8];
    reset_fiber();
    NativeStatus st = call(n, -1, 0, &out, args);
    if (st == NATIVE_OK && any_label(out)) { diag("%s: a clean call gave a labelled result", n->key); failures++; }
    if (st == NATIVE_ERROR && fib.error_label) { diag("%s: a clean call gave a labelled failure", n->key); failures++; }
    bool raises = st == NATIVE_ERROR;
    if (st == NATIVE_ERROR && n->labels != NL_NONE) { diag("%s failed on generated arguments: %s", n->key, fib.error); failures++; }
    if (st == NATIVE_OK) v_release(&vm->heap, out);
    release_args(n, args);
    checked++;
    for (int pos = 0; pos < n->arity; pos++) {
      reset_fiber();
      st = call(n, pos, l, &out, args);
      bool want;
      if (n->labels == NL_NONE) want = false;
      else if (n->labels == NL_ELEMENT) want = pos == 0 || (n->label_args & (1u << pos));
      else want = true;
      if (raises) {
        /* a failure raised from labelled data carries the label */
        if (st != NATIVE_ERROR || fib.error_label != l) { diag("%s: argument %d labelled: the failure is not", n->key, pos + 1); failures++; }
      } else if (st != NATIVE_OK) {
        diag("%s: argument %d labelled: failed: %s", n->key, pos + 1, fib.error);
        failures++;
      } else {
        if (want && v_label(out) != l) { diag("%s: argument %d labelled: result is not (%s)", n->key, pos + 1, n->label_why ? n->label_why : "join"); failures++; }
        if (!want && n->labels != NL_NONE && v_label(out)) { diag("%s: argument %d labelled: an element result is (policy: %s)", n->key, pos + 1, n->label_why); failures++; }
        if (n->labels == NL_NONE && strcmp(n->key, "trust") != 0 && out.tag != V_NONE) { diag("%s: unlabelled policy but returns a value", n->key); failures++; }
        if (n->labels == NL_FRESH && !all_labelled(out)) { diag("%s: argument %d labelled: a part it built is not", n->key, pos + 1); failures++; }
        v_release(&vm->heap, out);
      }
      release_args(n, args);
      checked++;
    }
  }
  reset_fiber();
  ok(failures == 0, "every native, every argument labelled in turn: the result follows its policy (%u calls)", checked);
  ok(checked > 150, "the property test covered the table");
}

/* The element policy is precise: a labelled map whose value at the key
 * is clean gives a clean value; a labelled key labels it. */
static void test_element(void) {
  Label l = vm_label_origin(vm, "the test's untrusted input");
  const Native *get = std_native_by_key("get");
  Value m = J("{\"a\":\"clean\",\"b\":\"dirty\"}");
  Value *b = map_get_cstr(AS_MAP(m), "b", 1);
  *b = v_with_label(&vm->heap, *b, l);
  AS_MAP(m)->h.label = l;
  Value args[2] = {m, v_cstring(&vm->heap, "a")};
  Value out = v_none();
  reset_fiber();
  ok(get->fn(vm, &fib, args, 2, &out) == NATIVE_OK, "get runs");
  out = vm_native_labels(vm, get, args, 2, l, out);
  ok(v_label(out) == LABEL_NONE, "get: a clean element of a labelled map stays clean");
  v_release(&vm->heap, out);
  args[1] = deep(args[1], 0);
  v_release(&vm->heap, args[1]);
  args[1] = deep(v_cstring(&vm->heap, "a"), l);
  get->fn(vm, &fib, args, 2, &out);
  Value sharedbefore = *map_get_cstr(AS_MAP(m), "a", 1);
  out = vm_native_labels(vm, get, args, 2, l, out);
  ok(v_label(out) == l, "get: a labelled key labels what it picks");
  ok(v_label(*map_get_cstr(AS_MAP(m), "a", 1)) == LABEL_NONE && sharedbefore.as.o == map_get_cstr(AS_MAP(m), "a", 1)->as.o,
     "and the map's own element is not touched (a copy is labelled)");
  v_release(&vm->heap, out);
  v_release(&vm->heap, args[0]);
  v_release(&vm->heap, args[1]);
}

/* trust copies only what is labelled, never changes its argument, and a
 * copy past the memory limit is the memory error, not an allocation. */
static void test_trust(void) {
  const Native *tr = std_native_by_key("trust");
  Label l = vm_label_origin(vm, "the test's untrusted input");
  Value args[2] = {J("[\"a\",[1,2],{\"k\":\"v\"}]"), v_cstring(&vm->heap, "checked")};
  Value out;
  reset_fiber();
  ok(tr->fn(vm, &fib, args, 2, &out) == NATIVE_OK && out.as.o == args[0].as.o, "trust of a clean value: the value itself");
  v_release(&vm->heap, out);
  Value inner = AS_LIST(args[0])->items[1];
  args[0] = deep(args[0], l);
  AS_LIST(args[0])->items[1] = deep(AS_LIST(args[0])->items[1], 0);
  AS_LIST(inner)->h.label = 0;
  for (uint32_t i = 0; i < AS_LIST(inner)->n; i++) AS_LIST(inner)->items[i].label = 0;
  ok(tr->fn(vm, &fib, args, 2, &out) == NATIVE_OK && !any_label(out), "trust of a labelled value: nothing labelled in the copy");
  ok(all_labelled(AS_LIST(args[0])->items[0]) && v_label(args[0]) == l, "and the argument is still labelled");
  ok(AS_LIST(out)->items[1].as.o == inner.as.o, "a clean part is shared, not copied");
  v_release(&vm->heap, out);
  v_release(&vm->heap, args[0]);
  v_release(&vm->heap, args[1]);

  Heap mh;
  heap_init(&mh, 0);
  Module *m = module_new(&mh);
  Limits lim = {0};
  lim.max_memory = 2u << 20;
  VM *small = vm_new(m, &lim);
  Fiber f2;
  memset(&f2, 0, sizeof f2);
  f2.state = FIBER_RUNNING;
  Value big = v_list(&small->heap, 0);
  char piece[1001];
  memset(piece, 'x', 1000);
  piece[1000] = '\0';
  for (int i = 0; i < 1200; i++) big = list_push_take(&small->heap, big, v_cstring(&small->heap, piece));
  Label sl = vm_label_origin(small, "a big page");
  v_label_deep(big, sl);
  Value a2[2] = {big, v_cstring(&small->heap, "why")};
  NativeStatus st = tr->fn(small, &f2, a2, 2, &out);
  ok(st == NATIVE_ERROR && f2.error && strstr(f2.error, "memory limit"), "trust of a labelled value past --max-memory: the memory error");
  if (st == NATIVE_OK) v_release(&small->heap, out);
  small->heap.over_limit = false;
  v_release(&small->heap, a2[0]);
  v_release(&small->heap, a2[1]);
  free(f2.error);
  free(f2.error_trace);
  free(f2.error_addr);
  ok(small->heap.used == 0, "and nothing is left behind");
  vm_free(small);
  module_free(m);
}

/* ---- JSON round trip ---------------------------------------------------- */

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(uint32_t n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng % n);
}

static Value random_value(int depth) {
  switch (depth > 3 ? rnd(4) : rnd(7)) {
  case 0: return v_int((int64_t)rnd(1000) - 500);
  case 1: return v_bool(rnd(2));
  case 2: { char s[16]; snprintf(s, sizeof s, "s%u", rnd(100)); return v_cstring(&vm->heap, s); }
  case 3: return v_none();
  case 4: case 5: {
    Value l = v_list(&vm->heap, 0);
    for (uint32_t i = rnd(4); i > 0; i--) l = list_push_take(&vm->heap, l, random_value(depth + 1));
    return l;
  }
  default: {
    Value m = v_map(&vm->heap, 0);
    for (uint32_t i = rnd(4); i > 0; i--) {
      char k[16];
      snprintf(k, sizeof k, "k%u", rnd(10));
      Value ks = v_cstring(&vm->heap, k);
      m = map_set_take(&vm->heap, m, AS_STRING(ks), random_value(depth + 1));
      v_release(&vm->heap, ks);
    }
    return m;
  }
  }
}

static Value call_key(const char *key, Value arg) {
  const Native *n = std_native_by_key(key);
  Value out = v_none();
  reset_fiber();
  if (n->fn(vm, &fib, &arg, 1, &out) != NATIVE_OK) { diag("%s failed: %s", key, fib.error); exit(2); }
  if (v_label(arg)) out = vm_native_labels(vm, n, &arg, 1, v_label(arg), out);
  v_release(&vm->heap, arg);
  return out;
}

static void test_json_round_trip(void) {
  Label l = vm_label_origin(vm, "the test's untrusted input");
  uint32_t bad_labelled = 0, bad_clean = 0, bad_text = 0;
  for (int i = 0; i < 300; i++) {
    Value v = random_value(0);
    Buf want;
    buf_init(&want);
    v_to_json(&want, v, NULL);
    bool labelled = i % 2;
    if (labelled) v = deep(v, l);
    Value text = call_key("to_json", v);
    if (labelled != (v_label(text) != 0)) bad_labelled++;
    Value back = call_key("json_parse", text);
    if (labelled ? !all_labelled(back) : any_label(back)) labelled ? bad_labelled++ : bad_clean++;
    Buf got;
    buf_init(&got);
    v_to_json(&got, back, NULL);
    if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0) bad_text++;
    buf_free(&got);
    buf_free(&want);
    v_release(&vm->heap, back);
  }
  ok(bad_labelled == 0, "json round trip of labelled values: the text and every part parsed back are labelled");
  ok(bad_clean == 0, "json round trip of clean values: nothing labelled");
  ok(bad_text == 0, "and the round trip gives the same value");
}

/* ---- programs ----------------------------------------------------------- */

typedef struct Prog {
  SourceSet ss;
  DiagList dl;
  Heap heap;
  Module *m;
} Prog;

static bool compile(Prog *p, const char *text) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/weft-labels-%ld.weft", (long)getpid());
  FILE *f = fopen(path, "w");
  if (!f) return false;
  fputs(text, f);
  fclose(f);
  heap_init(&p->heap, 0);
  src_init(&p->ss);
  diag_init(&p->dl);
  CompileOptions opt = {.natives = std_native_table()};
  p->m = compile_file(path, &p->ss, &p->dl, &opt, &p->heap);
  unlink(path);
  return p->m != NULL;
}

/* Runs main of `text` with one argument, the JSON `input`, deep-labelled
 * when `untrusted`; returns the label of the result (or of the failure)
 * and the result as JSON in *shown (malloc'd). trust_allowed as given. */
static int run_prog(const char *text, const char *input, bool untrusted, bool trust_allowed, char **shown) {
  Prog p;
  *shown = NULL;
  if (!compile(&p, text)) {
    diag("does not compile: %s", text);
    for (size_t i = 0; i < p.dl.n; i++) diag("  %s", p.dl.items[i].message);
    diag_free(&p.dl);
    src_free(&p.ss);
    return -1;
  }
  VM *pv = vm_new(p.m, NULL);
  pv->trust_allowed = trust_allowed;
  Label l = vm_label_origin(pv, "the input x");
  char *err = NULL;
  Value arg = v_none();
  if (!v_from_json(&pv->heap, input, strlen(input), &arg, &err)) { diag("bad input %s", input); exit(2); }
  if (untrusted) arg = deep(arg, l);
  Value result;
  char *trace = NULL;
  int lab = -1;
  if (vm_run_main(pv, &arg, 1, &result, &err, &trace)) {
    lab = any_label(result) ? v_label(result) ? 2 : 1 : 0;
    Buf b;
    buf_init(&b);
    v_to_json(&b, result, NULL);
    *shown = xstrdup(b.data ? b.data : "");
    buf_free(&b);
    v_release(&pv->heap, result);
  } else {
    *shown = xasprintf("ERR: %s", err);
  }
  free(err);
  free(trace);
  v_release(&pv->heap, arg);
  vm_free(pv);
  module_free(p.m);
  diag_free(&p.dl);
  src_free(&p.ss);
  return lab;
}

/* 2: the result is labelled; 1: only a part inside; 0: nothing is. */
static void expect(const char *what, const char *prog, const char *input, int want_untrusted, int want_clean) {
  char *shown;
  int got = run_prog(prog, input, true, true, &shown);
  if (got != want_untrusted) diag("  labelled input: got %d, result %s", got, shown);
  ok(got == want_untrusted, "%s", what);
  free(shown);
  got = run_prog(prog, input, false, true, &shown);
  if (got != want_clean) diag("  clean input: got %d, result %s", got, shown);
  ok(got == want_clean, "%s (clean input: clean result)", what);
  free(shown);
}

static void test_programs(void) {
  expect("concatenation", "fn main(x: string) -> string { \"a\" + x }", "\"p\"", 2, 0);
  expect("interpolation", "fn main(x: string) -> string { \"<{x}>\" }", "\"p\"", 2, 0);
  expect("a length is labelled (inline)", "fn main(x: string) -> int { len(x) + 1 }", "\"page\"", 2, 0);
  expect("a comparison", "fn main(x: string) -> bool { len(x) > 2 }", "\"page\"", 2, 0);
  expect("int arithmetic", "fn main(x: int) -> int { (x * 3 - 1) / 2 % 7 }", "5", 2, 0);
  expect("float arithmetic and unary minus", "fn main(x: float) -> float { -(x * 2.0) }", "1.5", 2, 0);
  expect("a none test", "fn main(x: string) -> bool { get({\"a\": 1}, x) == none }", "\"p\"", 2, 0);
  expect("equality of strings", "fn main(x: string) -> bool { x == \"a\" }", "\"a\"", 2, 0);
  expect("a list literal", "fn main(x: string) -> list[string] { [\"a\", x] }", "\"p\"", 2, 0);
  expect("an element keeps its own label", "fn main(x: string) -> string { [\"a\", x][0] }", "\"p\"", 0, 0);
  expect("a labelled index labels what it picks", "fn main(x: int) -> string { [\"a\", \"b\"][x] }", "1", 2, 0);
  expect("a map literal (value)", "fn main(x: string) -> map[string] { {\"k\": x} }", "\"p\"", 2, 0);
  expect("a map with a labelled key", "fn main(x: string) -> map[int] { set({\"a\": 1}, x, 2) }", "\"p\"", 2, 0);
  expect("a map's keys after a labelled key went in", "fn main(x: string) -> string { keys(set({\"a\": 1}, x, 2))[1] }", "\"p\"", 2, 0);
  expect("a labelled key labels the value it reads",
         "fn main(x: string) -> int { let m = {\"p\": 1}\n m[x] }", "\"p\"", 2, 0);
  expect("a record literal", "fn main(x: string) -> { a: string, b: int } { { a: x, b: 1 } }", "\"p\"", 2, 0);
  expect("a record field read keeps the field's own label",
         "fn main(x: string) -> int { let r = { a: x, b: 1 }\n r.b }", "\"p\"", 0, 0);
  expect("record update replacing the labelled field",
         "fn main(x: string) -> { a: string, b: int } { let r = { a: x, b: 1 }\n r with { a: \"c\" } }", "\"p\"", 0, 0);
  expect("record update with a labelled field",
         "fn main(x: string) -> { a: string, b: int } { let r = { a: \"c\", b: 1 }\n r with { a: x } }", "\"p\"", 2, 0);
  expect("list concatenation", "fn main(x: string) -> list[string] { [\"a\"] + [x] }", "\"p\"", 2, 0);
  expect("a list built in a loop",
         "fn main(x: string) -> list[string] {\n var acc: list[string] = []\n for s in split(x, \",\") { acc = acc + [upper(s)] }\n acc }",
         "\"a,b\"", 2, 0);
  expect("a split's pieces are labelled", "fn main(x: string) -> string { split(x, \",\")[1] }", "\"a,b\"", 2, 0);
  expect("range(n) with labelled n", "fn main(x: int) -> int { range(x)[0] }", "3", 2, 0);
  expect("json text of a labelled value", "fn main(x: json) -> string { to_json(x) }", "{\"a\":[1]}", 2, 0);
  expect("parse of labelled text: every part",
         "fn main(x: string) -> json { json_parse(x) }", "\"{\\\"a\\\":[1,\\\"b\\\"]}\"", 2, 0);
  expect("from_json to a closed record declassifies",
         "type V = { ok: bool, n: int, level: \"low\" | \"high\", d: duration, f: float?, xs: list[int] }\n"
         "fn main(x: string) -> V { from_json[V](json_parse(x)) }",
         "\"{\\\"ok\\\":true,\\\"n\\\":3,\\\"level\\\":\\\"low\\\",\\\"d\\\":\\\"2s\\\",\\\"f\\\":null,\\\"xs\\\":[1]}\"", 0, 0);
  expect("from_json to a tagged union of closed records declassifies",
         "type U = A { n: int } | B {}\n"
         "fn main(x: string) -> U { from_json[U](json_parse(x)) }", "\"{\\\"type\\\":\\\"A\\\",\\\"n\\\":1}\"", 0, 0);
  expect("from_json keeps a free string field labelled (and its record)",
         "type W = { s: string, n: int }\nfn main(x: string) -> W { from_json[W](json_parse(x)) }",
         "\"{\\\"s\\\":\\\"hi\\\",\\\"n\\\":1}\"", 2, 0);
  expect("and the closed field of that record is clean",
         "type W = { s: string, n: int }\nfn main(x: string) -> int { from_json[W](json_parse(x)).n }",
         "\"{\\\"s\\\":\\\"hi\\\",\\\"n\\\":1}\"", 0, 0);
  expect("from_json to map[int]: the keys are free text",
         "fn main(x: string) -> map[int] { from_json[map[int]](json_parse(x)) }", "\"{\\\"k\\\":1}\"", 2, 0);
  expect("from_json to json keeps the label",
         "fn main(x: string) -> json { from_json[json](json_parse(x)) }", "\"[1]\"", 2, 0);
  expect("trust declassifies", "fn main(x: string) -> list[string] { trust([x, \"a\"], \"checked by hand\") }", "\"p\"", 0, 0);
  expect("fail(x) under try: a labelled message",
         "fn main(x: string) -> string {\n match try fail(\"bad: \" + x) {\n Ok { value } => \"never\",\n"
         " Failed { error } => error.message,\n }\n}", "\"p\"", 2, 0);
  expect("a native's failure quoting a labelled key",
         "fn main(x: string) -> string {\n let m = {\"a\": 1}\n match try m[x] {\n Ok { value } => \"found\",\n"
         " Failed { error } => error.message,\n }\n}", "\"zz\"", 2, 0);
  expect("a failed conversion quoting labelled input",
         "type V = { n: int }\nfn main(x: string) -> string {\n match try from_json[V](json_parse(x)) {\n"
         " Ok { value } => \"ok\",\n Failed { error } => error.message,\n }\n}", "\"{\\\"n\\\":\\\"evil\\\"}\"", 2, 0);
  expect("fan-out: the collected results join the branches'",
         "fn main(x: string) -> list[string] {\n let t = fanout s in [\"a\", x] { s + \"!\" }\n barrier t }", "\"p\"", 2, 0);
  expect("fan-out: a branch over a clean item stays clean",
         "fn main(x: string) -> string {\n let t = fanout s in [\"a\", x] { s + \"!\" }\n (barrier t)[0] }", "\"p\"", 0, 0);
  expect("max_by picks an element: its own label",
         "fn main(x: string) -> string? { max_by([\"a\", \"bb\"], fn(s: string) -> int { len(s) + len(x) }) }", "\"p\"", 0, 0);

  char *shown;
  int got = run_prog("fn main(x: string) -> string { trust(x, \"checked\") }", "\"p\"", true, false, &shown);
  ok(got == 2, "trust not allowed (--untrusted without --allow-trust): the value comes back labelled");
  free(shown);
}

int main(void) {
  Heap mheap;
  heap_init(&mheap, 0);
  Module *mod = module_new(&mheap);
  Limits lim = {0};
  lim.max_memory = 512u << 20;
  vm = vm_new(mod, &lim);
  vm->out = fopen("/dev/null", "w");
  vm->err = vm->out;
  memset(&fib, 0, sizeof fib);
  fib.state = FIBER_RUNNING;

  test_table();
  test_property();
  test_element();
  test_trust();
  test_json_round_trip();
  test_programs();

  reset_fiber();
  size_t leaked = vm->heap.used;
  fclose(vm->out);
  vm_free(vm);
  module_free(mod);
  ok(leaked == 0, "every value released (VM heap back to zero)");
  if (leaked) diag("  %zu bytes still allocated", leaked);
  return tap_done();
}
