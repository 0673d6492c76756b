/* test_tasks.c — fan-out and barriers (FANOUT, BARRIER) on hand-built modules.
 *
 * Each test assembles a tiny module with module_new (no compiler), whose
 * branch functions use natives of this file: nap (a timer park), check
 * (fails on chosen inputs), tick (logs a value), enter/leave (count the
 * branches running at once). A `main` built per barrier variant does
 *     FANOUT mode (xs f n); BARRIER bits (t tol k d); RETURN
 * with all six operands passed as arguments. Model calls go to the mock
 * provider, or to a local socket that never answers (to see an in-flight
 * HTTP transfer really aborted). Every module passes module_verify first.
 * Prints TAP-style `ok N - desc` lines; exits non-zero on any failure. */
#include "../../runtime/engine.h"
#include "../../runtime/host.h"
#include "../../vm/opcodes.h"
#include "../../vm/vm_impl.h"
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- test natives (test-only state, reset per test) ---------------------- */

static struct {
  int64_t log[4096];
  int nlog;
  int running, max_running;
} S;

static void reset_state(void) { memset(&S, 0, sizeof S); }

/* nap(x): parks for x % 1000 ms. */
static NativeStatus nat_nap(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc; (void)out;
  vm_park_timer(vm, f, args[0].as.i % 1000, v_none());
  return NATIVE_PARK;
}
/* check(x): fails with "boom x" when 1000 <= x < 2000. */
static NativeStatus nat_check(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  int64_t x = args[0].as.i;
  if (x >= 1000 && x < 2000) return vm_raise(vm, f, "boom %lld", (long long)x);
  *out = v_none();
  return NATIVE_OK;
}
static NativeStatus nat_tick(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)vm; (void)f; (void)argc;
  if (S.nlog < 4096) S.log[S.nlog++] = args[0].as.i;
  *out = v_none();
  return NATIVE_OK;
}
static NativeStatus nat_enter(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)vm; (void)f; (void)args; (void)argc;
  if (++S.running > S.max_running) S.max_running = S.running;
  *out = v_none();
  return NATIVE_OK;
}
static NativeStatus nat_leave(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)vm; (void)f; (void)args; (void)argc;
  S.running--;
  *out = v_none();
  return NATIVE_OK;
}
/* mklist(x): [x, x, x] */
static NativeStatus nat_mklist(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)f; (void)argc;
  Value l = v_list(&vm->heap, 3);
  for (int i = 0; i < 3; i++) AS_LIST(l)->items[i] = args[0];
  AS_LIST(l)->n = 3;
  *out = l;
  return NATIVE_OK;
}

static const Native N_NAP = {"tnap", "tnap", "(int) -> void", nat_nap, 1, "", false, NL_JOIN, 0, NULL};
static const Native N_CHECK = {"tcheck", "tcheck", "(int) -> void", nat_check, 1, "", false, NL_JOIN, 0, NULL};
static const Native N_TICK = {"ttick", "ttick", "(int) -> void", nat_tick, 1, "", false, NL_JOIN, 0, NULL};
static const Native N_ENTER = {"tenter", "tenter", "() -> void", nat_enter, 0, "", false, NL_JOIN, 0, NULL};
static const Native N_LEAVE = {"tleave", "tleave", "() -> void", nat_leave, 0, "", false, NL_JOIN, 0, NULL};
static const Native N_MKLIST = {"tmklist", "tmklist", "(int) -> list[int]", nat_mklist, 1, "", false, NL_JOIN, 0, NULL};

/* ---- a tiny assembler ------------------------------------------------------ */

typedef struct Code { uint8_t *b; uint32_t n, cap; } Code;

static void c8(Code *c, uint32_t v) {
  if (c->n == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 64;
    c->b = realloc(c->b, c->cap);
  }
  c->b[c->n++] = (uint8_t)v;
}
static void c16(Code *c, uint32_t v) { c8(c, v & 0xff); c8(c, v >> 8); }
static void c32(Code *c, int32_t v) {
  uint32_t u = (uint32_t)v;
  c8(c, u & 0xff); c8(c, (u >> 8) & 0xff); c8(c, (u >> 16) & 0xff); c8(c, u >> 24);
}
/* One instruction with operands x, y per its format (no jumps). */
static void E(Code *c, Opcode op, uint32_t x, uint32_t y) {
  c8(c, op);
  int slot = 0;
  for (const char *p = op_info[op].format; *p; p++) {
    uint32_t v = slot++ == 0 ? x : y;
    if (*p == 'b') c8(c, v);
    else if (*p == 'h') c16(c, v);
  }
}
/* A forward jump; returns the offset of its operand for patch(). */
static uint32_t jump(Code *c, Opcode op) {
  c8(c, op);
  uint32_t at = c->n;
  c32(c, 0);
  return at;
}
static void patch(Code *c, uint32_t at) {
  int32_t off = (int32_t)(c->n - (at + 4));
  uint32_t u = (uint32_t)off;
  c->b[at] = u & 0xff; c->b[at + 1] = (u >> 8) & 0xff; c->b[at + 2] = (u >> 16) & 0xff; c->b[at + 3] = u >> 24;
}

static uint32_t add_func(Module *m, const char *name, uint16_t arity, uint16_t nlocals, uint16_t max_stack, Code *c) {
  m->funcs = realloc(m->funcs, (m->nfuncs + 1) * sizeof *m->funcs);
  FuncProto *p = &m->funcs[m->nfuncs];
  memset(p, 0, sizeof *p);
  p->name = strdup(name);
  p->line = 1;
  p->arity = arity;
  p->nlocals = nlocals;
  p->max_stack = max_stack;
  p->code = c->b;
  p->code_len = c->n;
  p->lines = malloc(sizeof *p->lines);
  p->lines[0].pc = 0;
  p->lines[0].line = 7;
  p->lines[0].col = 3;
  p->nlines = 1;
  c->b = NULL;
  c->n = c->cap = 0;
  return m->nfuncs++;
}

/* ---- the test module ------------------------------------------------------- */

typedef struct TM {
  Heap heap;
  Module *m;
  uint32_t nap, chk, tick, enter, leave, mklist;
  uint32_t branch;      /* branch(x): enter; nap(x); leave; check(x); tick(x); x * 2 */
  uint32_t nested;      /* nested(x): barrier(fanout branch in mklist(x)) */
  uint32_t deep;        /* deep(x): x == 0 ? (nap 999; tick 0; 0) : barrier(fanout deep in [x-1]) */
  uint32_t fail_fast;   /* (): nap 5; check 1005 */
  uint32_t slow_nested; /* (): nested(200) */
  uint32_t deep_top;    /* (): deep(DEEP) */
  uint32_t asker;       /* asker(p): ask role 0 p */
  uint32_t fail_now;    /* (): check 1000 */
  uint32_t ask_top;     /* (): asker("cancel me") */
  uint32_t fail_late;   /* (): nap 300; check 1300 */
  uint32_t twice;       /* twice(xs, f): barrier t; barrier t */
  uint32_t mains[16];   /* main(xs f n tol k d) per BARRIER bits */
  uint32_t mains_rec[16];
} TM;

#define DEEP 3000

static uint32_t kint(Module *m, int64_t v) { return module_add_const(m, K_INT, v_int(v)); }

static uint32_t make_main(TM *t, uint32_t mode, uint32_t bits) {
  Code c = {0};
  for (uint32_t i = 0; i < 3; i++) E(&c, OP_GET_LOCAL, i, 0);
  E(&c, OP_FANOUT, mode, 0);
  for (uint32_t i = 3; i < 6; i++) E(&c, OP_GET_LOCAL, i, 0);
  E(&c, OP_BARRIER, bits, 0);
  E(&c, OP_RETURN, 0, 0);
  return add_func(t->m, "main", 6, 6, 4, &c);
}

static void tm_init(TM *t, const char *model) {
  heap_init(&t->heap, 0);
  Module *m = t->m = module_new(&t->heap);
  module_add_file(m, "t.weft");
  RoleDesc r;
  memset(&r, 0, sizeof r);
  r.name = "r";
  r.model = (char *)model;
  r.temperature = r.top_p = NAN;
  r.max_tokens = r.timeout_ms = -1;
  r.retries = r.repairs = -1;
  module_add_role(m, &r);
  const Native *ns[] = {&N_NAP, &N_CHECK, &N_TICK, &N_ENTER, &N_LEAVE, &N_MKLIST};
  uint32_t ix[6];
  for (int i = 0; i < 6; i++) {
    ix[i] = module_add_native(m, ns[i]->key);
    m->natives[ix[i]] = ns[i];
  }
  t->nap = ix[0]; t->chk = ix[1]; t->tick = ix[2]; t->enter = ix[3]; t->leave = ix[4]; t->mklist = ix[5];
  Code c = {0};

  E(&c, OP_CALL_NATIVE, t->enter, 0); E(&c, OP_POP, 0, 0);
  E(&c, OP_GET_LOCAL, 0, 0); E(&c, OP_CALL_NATIVE, t->nap, 1); E(&c, OP_POP, 0, 0);
  E(&c, OP_CALL_NATIVE, t->leave, 0); E(&c, OP_POP, 0, 0);
  E(&c, OP_GET_LOCAL, 0, 0); E(&c, OP_CALL_NATIVE, t->chk, 1); E(&c, OP_POP, 0, 0);
  E(&c, OP_GET_LOCAL, 0, 0); E(&c, OP_CALL_NATIVE, t->tick, 1); E(&c, OP_POP, 0, 0);
  E(&c, OP_GET_LOCAL, 0, 0); E(&c, OP_CONST, kint(m, 2), 0); E(&c, OP_MUL, 0, 0); E(&c, OP_RETURN, 0, 0);
  t->branch = add_func(m, "branch", 1, 1, 2, &c);

  E(&c, OP_GET_LOCAL, 0, 0); E(&c, OP_CALL_NATIVE, t->mklist, 1);
  E(&c, OP_FUNC, t->branch, 0); E(&c, OP_NONE, 0, 0); E(&c, OP_FANOUT, 0, 0);
  E(&c, OP_NONE, 0, 0); E(&c, OP_NONE, 0, 0); E(&c, OP_NONE, 0, 0); E(&c, OP_BARRIER, 0, 0);
  E(&c, OP_RETURN, 0, 0);
  t->nested = add_func(m, "nested", 1, 1, 4, &c);

  uint32_t self = m->nfuncs;
  E(&c, OP_GET_LOCAL, 0, 0); E(&c, OP_CONST, kint(m, 0), 0); E(&c, OP_EQ, 0, 0);
  uint32_t j = jump(&c, OP_JUMP_IF_FALSE);
  E(&c, OP_CONST, kint(m, 999), 0); E(&c, OP_CALL_NATIVE, t->nap, 1); E(&c, OP_POP, 0, 0);
  E(&c, OP_CONST, kint(m, 0), 0); E(&c, OP_CALL_NATIVE, t->tick, 1); E(&c, OP_POP, 0, 0);
  E(&c, OP_CONST, kint(m, 0), 0); E(&c, OP_RETURN, 0, 0);
  patch(&c, j);
  E(&c, OP_GET_LOCAL, 0, 0); E(&c, OP_CONST, kint(m, 1), 0); E(&c, OP_SUB, 0, 0); E(&c, OP_LIST, 1, 0);
  E(&c, OP_FUNC, self, 0); E(&c, OP_NONE, 0, 0); E(&c, OP_FANOUT, 0, 0);
  E(&c, OP_NONE, 0, 0); E(&c, OP_NONE, 0, 0); E(&c, OP_NONE, 0, 0); E(&c, OP_BARRIER, 0, 0);
  E(&c, OP_RETURN, 0, 0);
  t->deep = add_func(m, "deep", 1, 1, 4, &c);

  E(&c, OP_CONST, kint(m, 5), 0); E(&c, OP_CALL_NATIVE, t->nap, 1); E(&c, OP_POP, 0, 0);
  E(&c, OP_CONST, kint(m, 1005), 0); E(&c, OP_CALL_NATIVE, t->chk, 1); E(&c, OP_RETURN, 0, 0);
  t->fail_fast = add_func(m, "fail_fast", 0, 0, 1, &c);

  E(&c, OP_FUNC, t->nested, 0); E(&c, OP_CONST, kint(m, 200), 0); E(&c, OP_CALL, 1, 0); E(&c, OP_RETURN, 0, 0);
  t->slow_nested = add_func(m, "slow_nested", 0, 0, 2, &c);

  E(&c, OP_FUNC, t->deep, 0); E(&c, OP_CONST, kint(m, DEEP), 0); E(&c, OP_CALL, 1, 0); E(&c, OP_RETURN, 0, 0);
  t->deep_top = add_func(m, "deep_top", 0, 0, 2, &c);

  E(&c, OP_GET_LOCAL, 0, 0); E(&c, OP_ASK, 0, ASK_TEXT); E(&c, OP_RETURN, 0, 0);
  t->asker = add_func(m, "asker", 1, 1, 1, &c);

  E(&c, OP_CONST, kint(m, 1000), 0); E(&c, OP_CALL_NATIVE, t->chk, 1); E(&c, OP_RETURN, 0, 0);
  t->fail_now = add_func(m, "fail_now", 0, 0, 1, &c);

  E(&c, OP_FUNC, t->asker, 0); E(&c, OP_CONST, module_add_string(m, "cancel me", 9), 0);
  E(&c, OP_CALL, 1, 0); E(&c, OP_RETURN, 0, 0);
  t->ask_top = add_func(m, "ask_top", 0, 0, 2, &c);

  E(&c, OP_CONST, kint(m, 300), 0); E(&c, OP_CALL_NATIVE, t->nap, 1); E(&c, OP_POP, 0, 0);
  E(&c, OP_CONST, kint(m, 1300), 0); E(&c, OP_CALL_NATIVE, t->chk, 1); E(&c, OP_RETURN, 0, 0);
  t->fail_late = add_func(m, "fail_late", 0, 0, 1, &c);

  E(&c, OP_GET_LOCAL, 0, 0); E(&c, OP_GET_LOCAL, 1, 0); E(&c, OP_NONE, 0, 0); E(&c, OP_FANOUT, 0, 0);
  E(&c, OP_DUP, 0, 0);
  E(&c, OP_NONE, 0, 0); E(&c, OP_NONE, 0, 0); E(&c, OP_NONE, 0, 0); E(&c, OP_BARRIER, 0, 0); E(&c, OP_POP, 0, 0);
  E(&c, OP_NONE, 0, 0); E(&c, OP_NONE, 0, 0); E(&c, OP_NONE, 0, 0); E(&c, OP_BARRIER, 0, 0);
  E(&c, OP_RETURN, 0, 0);
  t->twice = add_func(m, "twice", 2, 2, 5, &c);

  for (uint32_t bits = 0; bits < 16; bits++) {
    t->mains[bits] = make_main(t, 0, bits);
    t->mains_rec[bits] = make_main(t, 1, bits);
  }
  char *why = NULL;
  ok(module_verify(m, &why), "the hand-built module verifies");
  if (why) diag("  %s", why);
  free(why);
}

static void tm_free(TM *t) { module_free(t->m); }

/* ---- running ---------------------------------------------------------------- */

static Value int_list(VM *vm, const int64_t *xs, uint32_t n) {
  Value l = v_list(&vm->heap, n);
  for (uint32_t i = 0; i < n; i++) AS_LIST(l)->items[i] = v_int(xs[i]);
  AS_LIST(l)->n = n;
  return l;
}

/* Spawns main(xs, f, n, tol, k, d) (all taken) and runs the VM. */
static Fiber *run_main(VM *vm, uint32_t fn, Value xs, Value f, Value n, Value tol, Value k, Value d) {
  Value args[6] = {xs, f, n, tol, k, d};
  Value mf = v_func(&vm->heap, fn, 0);
  char *err = NULL;
  Fiber *fb = vm_spawn(vm, mf, args, 6, &err);
  v_release(&vm->heap, mf);
  for (int i = 0; i < 6; i++) v_release(&vm->heap, args[i]);
  if (!fb) {
    diag("  spawn: %s", err ? err : "?");
    free(err);
    return NULL;
  }
  vm_run(vm);
  return fb;
}

static Value fnv(VM *vm, uint32_t fn) { return v_func(&vm->heap, fn, 0); }

/* The result of a finished fiber as JSON (a static buffer per call site is
 * not needed: the caller frees). */
static char *json_of(Fiber *f) {
  if (!f || f->state != FIBER_DONE) return strdup(f && f->error ? f->error : "(not done)");
  Buf b;
  buf_init(&b);
  v_to_json(&b, f->result, NULL);
  buf_putc(&b, '\0');
  return b.data;
}

static void check_json(Fiber *f, const char *want, const char *desc) {
  char *s = json_of(f);
  is_str(s, want, "%s", desc);
  free(s);
}

static void check_error(Fiber *f, const char *want, const char *kind, const char *desc) {
  int good = f && f->state == FIBER_FAILED && f->error && strcmp(f->error, want) == 0 &&
           f->error_kind && strcmp(f->error_kind, kind) == 0;
  ok(good, "%s", desc);
  if (!good)
    diag("  got:  \"%s\" (%s)\n  want: \"%s\" (%s)", f && f->error ? f->error : "(none)",
         f && f->error_kind ? f->error_kind : "-", want, kind);
}

static int logged(int64_t x) {
  for (int i = 0; i < S.nlog; i++)
    if (S.log[i] == x) return 1;
  return 0;
}

/* After a run: nothing left alive, queued or on a timer. */
static void check_clean(VM *vm, const char *desc) {
  int good = vm->live_fibers == 0 && vm->ntimers == 0 && !vm->runq_head && !vm->tasks_dirty;
  ok(good, "%s", desc);
  if (!good) diag("  live %u timers %u", vm->live_fibers, vm->ntimers);
}

#define NONE v_none()
#define LIST(vm, ...) int_list(vm, (const int64_t[]){__VA_ARGS__}, sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

/* ---- tests ------------------------------------------------------------------ */

static void test_order(TM *t) {
  reset_state();
  VM *vm = vm_new(t->m, NULL);
  uint64_t t0 = vm_now_ms(vm);
  Fiber *f = run_main(vm, t->mains[0], LIST(vm, 50, 10, 30, 20), fnv(vm, t->branch), NONE, NONE, NONE, NONE);
  uint64_t took = vm_now_ms(vm) - t0;
  check_json(f, "[100,20,60,40]", "results come back in input order");
  ok(S.nlog == 4 && S.log[0] == 10 && S.log[1] == 20 && S.log[2] == 30 && S.log[3] == 50,
     "branches finished in reverse-ish order (10 20 30 50)");
  ok(took >= 50 && took < 400, "branches ran concurrently (about 50ms, not 110ms)");
  ok(S.max_running == 4, "no limit: all 4 ran at once");
  vm_fiber_free(vm, f);
  check_clean(vm, "nothing left after the barrier");
  vm_free(vm);
}

static void test_limit(TM *t) {
  reset_state();
  VM *vm = vm_new(t->m, NULL);
  int64_t xs[12];
  for (int i = 0; i < 12; i++) xs[i] = 10 + (i % 3);
  Fiber *f = run_main(vm, t->mains[0], int_list(vm, xs, 12), fnv(vm, t->branch), v_int(3), NONE, NONE, NONE);
  check_json(f, "[20,22,24,20,22,24,20,22,24,20,22,24]", "limit 3: every result, in order");
  ok(S.max_running == 3, "limit 3: at most 3 branches ran at once, and 3 did");
  vm_fiber_free(vm, f);
  check_clean(vm, "limit 3: nothing left");

  /* limit 1 serializes in input order */
  reset_state();
  f = run_main(vm, t->mains[0], LIST(vm, 30, 10, 20), fnv(vm, t->branch), v_int(1), NONE, NONE, NONE);
  ok(S.max_running == 1 && S.nlog == 3 && S.log[0] == 30 && S.log[1] == 10 && S.log[2] == 20,
     "limit 1: one at a time, started in input order");
  vm_fiber_free(vm, f);

  /* bad limits */
  f = run_main(vm, t->mains[0], LIST(vm, 1), fnv(vm, t->branch), v_int(0), NONE, NONE, NONE);
  check_error(f, "fanout limit must be at least 1, got 0", "error", "limit 0 is an error");
  vm_fiber_free(vm, f);
  vm_free(vm);
}

static void test_fail_fast(TM *t) {
  reset_state();
  VM *vm = vm_new(t->m, NULL);
  uint64_t t0 = vm_now_ms(vm);
  Fiber *f = run_main(vm, t->mains[0], LIST(vm, 50, 1005, 60, 70), fnv(vm, t->branch), v_int(3), NONE, NONE, NONE);
  uint64_t took = vm_now_ms(vm) - t0;
  check_error(f, "branch 1 failed: boom 1005", "error", "the first failure fails the barrier, naming the branch");
  ok(S.nlog == 0, "cancelled branches never reach their side effect (no tick after the nap)");
  ok(took < 45, "the run ends at the failure, not when the others would have finished");
  ok(f && f->error_trace && strstr(f->error_trace, "at main (t.weft:7:3)"), "the error's trace points at the barrier");
  vm_fiber_free(vm, f);
  check_clean(vm, "cancelled sleeps left the timer heap; no fiber is left");
  vm_free(vm);
}

static void test_tolerate(TM *t) {
  reset_state();
  VM *vm = vm_new(t->m, NULL);
  Fiber *f = run_main(vm, t->mains[BARRIER_TOLERATE], LIST(vm, 1005, 1010, 20, 30), fnv(vm, t->branch), NONE,
                      v_int(2), NONE, NONE);
  check_json(f,
             "{\"ok\":[40,60],\"failed\":[{\"branch\":0,\"kind\":\"error\",\"message\":\"boom 1005\",\"address\":\"t.weft:7:3\"},"
             "{\"branch\":1,\"kind\":\"error\",\"message\":\"boom 1010\",\"address\":\"t.weft:7:3\"}]}",
             "tolerate 2 with 2 failures: the joined record");
  vm_fiber_free(vm, f);

  reset_state();
  f = run_main(vm, t->mains[BARRIER_TOLERATE], LIST(vm, 1005, 1010, 20, 30), fnv(vm, t->branch), NONE, v_int(1),
               NONE, NONE);
  check_error(f, "2 of 4 branches failed (tolerated: 1): first failure: branch 0: boom 1005", "error",
              "tolerate 1 with 2 failures: an error at the second failure");
  ok(S.nlog == 0, "tolerate: the rest were cancelled when the count was exceeded");
  vm_fiber_free(vm, f);
  check_clean(vm, "tolerate: nothing left");

  /* percent: 10 branches, 2 fail */
  int64_t xs[10] = {1, 2, 1003, 4, 5, 6, 7, 1008, 9, 10};
  struct { double p; int good; const char *desc; } cases[] = {
    {20.0, 1, "tolerate 20% of 10 (2) with 2 failures: at the threshold, joined"},
    {19.9, 0, "tolerate 19.9% of 10 rounds down to 1: one more fails"},
    {10.0, 0, "tolerate 10% of 10 (1) with 2 failures: an error"},
    {100.0, 1, "tolerate 100%: joined"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    reset_state();
    f = run_main(vm, t->mains[BARRIER_TOLERATE_P], int_list(vm, xs, 10), fnv(vm, t->branch), NONE,
                 v_float(cases[i].p), NONE, NONE);
    if (cases[i].good) {
      ok(f && f->state == FIBER_DONE && v_is(f->result, OBJ_RECORD) &&
         AS_LIST(AS_RECORD(f->result)->vals[0])->n == 8 && AS_LIST(AS_RECORD(f->result)->vals[1])->n == 2,
         "%s", cases[i].desc);
    } else {
      ok(f && f->state == FIBER_FAILED && strstr(f->error, "2 of 10 branches failed (tolerated: 1)"), "%s", cases[i].desc);
    }
    vm_fiber_free(vm, f);
  }
  /* 10% of 30 is exactly 3 despite binary floats */
  int64_t ys[30];
  for (int i = 0; i < 30; i++) ys[i] = i < 3 ? 1000 + i : i;
  f = run_main(vm, t->mains[BARRIER_TOLERATE_P], int_list(vm, ys, 30), fnv(vm, t->branch), NONE, v_float(10.0),
               NONE, NONE);
  ok(f && f->state == FIBER_DONE, "tolerate 10%% of 30 is 3: 3 failures pass");
  vm_fiber_free(vm, f);
  vm_free(vm);
}

static void test_first(TM *t) {
  reset_state();
  VM *vm = vm_new(t->m, NULL);
  Fiber *f = run_main(vm, t->mains[BARRIER_FIRST], LIST(vm, 50, 10, 40, 20), fnv(vm, t->branch), NONE, NONE,
                      v_int(2), NONE);
  check_json(f, "[20,40]", "first 2: the two fastest, in input order");
  ok(S.nlog == 2 && !logged(50) && !logged(40), "first 2: the slower ones were cancelled");
  vm_fiber_free(vm, f);
  check_clean(vm, "first: nothing left");

  f = run_main(vm, t->mains[BARRIER_FIRST], LIST(vm, 50, 10), fnv(vm, t->branch), NONE, NONE, v_int(3), NONE);
  check_error(f, "barrier first 3: there are only 2 branches", "error", "first K > count: an error at once");
  vm_fiber_free(vm, f);

  reset_state();
  f = run_main(vm, t->mains[BARRIER_FIRST], LIST(vm, 1005, 1010, 30, 40), fnv(vm, t->branch), NONE, NONE, v_int(3),
               NONE);
  check_error(f, "2 of 4 branches failed, so 3 cannot succeed: first failure: branch 0: boom 1005", "error",
              "first 3 when 2 of 4 failed: impossible, an error");
  vm_fiber_free(vm, f);

  reset_state();
  f = run_main(vm, t->mains[BARRIER_FIRST | BARRIER_TOLERATE], LIST(vm, 1005, 10, 40, 20, 50), fnv(vm, t->branch),
               NONE, v_int(1), v_int(2), NONE);
  check_json(f, "{\"ok\":[20,40],\"failed\":[{\"branch\":0,\"kind\":\"error\",\"message\":\"boom 1005\",\"address\":\"t.weft:7:3\"}]}",
             "first 2 + tolerate 1: the joined record of the first two successes");
  vm_fiber_free(vm, f);
  f = run_main(vm, t->mains[BARRIER_FIRST | BARRIER_TOLERATE], LIST(vm, 1005, 1006, 40, 20, 50), fnv(vm, t->branch),
               NONE, v_int(1), v_int(2), NONE);
  check_error(f, "2 of 5 branches failed (tolerated: 1): first failure: branch 0: boom 1005", "error",
              "first 2 + tolerate 1 with 2 failures: an error");
  vm_fiber_free(vm, f);

  f = run_main(vm, t->mains[BARRIER_FIRST], LIST(vm, 10, 20), fnv(vm, t->branch), NONE, NONE, v_int(0), NONE);
  check_json(f, "[]", "first 0: [] at once");
  vm_fiber_free(vm, f);
  check_clean(vm, "first 0: the branches were cancelled");
  vm_free(vm);
}

static void test_timeout(TM *t) {
  reset_state();
  VM *vm = vm_new(t->m, NULL);
  uint64_t t0 = vm_now_ms(vm);
  Fiber *f = run_main(vm, t->mains[BARRIER_TIMEOUT], LIST(vm, 10, 400, 500), fnv(vm, t->branch), NONE, NONE, NONE,
                      v_duration(50));
  uint64_t took = vm_now_ms(vm) - t0;
  check_error(f, "branch 1 failed: timed out after 50ms", "timeout", "timeout: unfinished branches fail with kind timeout");
  ok(took >= 50 && took < 300, "timeout: the barrier gave up at 50ms");
  ok(S.nlog == 1 && logged(10), "timeout: the timed-out branches were cancelled");
  vm_fiber_free(vm, f);
  check_clean(vm, "timeout: nothing left");

  reset_state();
  /* 250ms against naps of 10 and 20: a loaded machine that wakes late
   * still runs the short branches before the deadline */
  f = run_main(vm, t->mains[BARRIER_TIMEOUT | BARRIER_TOLERATE], LIST(vm, 10, 900, 1020), fnv(vm, t->branch), NONE,
               v_int(2), NONE, v_duration(250));
  check_json(f,
             "{\"ok\":[20],\"failed\":[{\"branch\":1,\"kind\":\"timeout\",\"message\":\"timed out after 250ms\",\"address\":\"main/fanout#1@7[1]\"},"
             "{\"branch\":2,\"kind\":\"error\",\"message\":\"boom 1020\",\"address\":\"t.weft:7:3\"}]}",
             "timeout + tolerate: the timed-out branch is a failure of kind timeout");
  vm_fiber_free(vm, f);

  /* everything finishes before the timeout: the timer goes away */
  reset_state();
  t0 = vm_now_ms(vm);
  f = run_main(vm, t->mains[BARRIER_TIMEOUT], LIST(vm, 10, 20), fnv(vm, t->branch), NONE, NONE, NONE,
               v_duration(5000));
  took = vm_now_ms(vm) - t0;
  check_json(f, "[20,40]", "timeout not reached: the results");
  ok(took < 1000, "timeout not reached: the run does not wait for the timer");
  vm_fiber_free(vm, f);
  check_clean(vm, "timeout not reached: no timer left");
  vm_free(vm);
}

static void test_record(TM *t) {
  reset_state();
  VM *vm = vm_new(t->m, NULL);
  ObjShape *s = shape_new(&vm->heap, 2);
  s->names[0] = AS_STRING(v_cstring(&vm->heap, "a"));
  s->names[1] = AS_STRING(v_cstring(&vm->heap, "b"));
  Value rec = v_record(&vm->heap, s);
  AS_RECORD(rec)->vals[0] = fnv(vm, t->slow_nested);
  AS_RECORD(rec)->vals[1] = fnv(vm, t->deep);  /* wrong arity: rejected */
  Fiber *f = run_main(vm, t->mains_rec[0], v_retain(rec), NONE, NONE, NONE, NONE, NONE);
  check_error(f, "fanout: field \"b\" is not a function of no arguments", "error", "record fan-out checks its fields");
  vm_fiber_free(vm, f);
  v_release(&vm->heap, rec);

  /* {a: nested(200) -> [400,400,400], b: deep... } is too slow; use two quick ones */
  Value rec2 = v_record(&vm->heap, s);
  v_release(&vm->heap, v_obj(&s->h));
  AS_RECORD(rec2)->vals[0] = fnv(vm, t->fail_now);
  AS_RECORD(rec2)->vals[1] = fnv(vm, t->slow_nested);
  uint64_t t0 = vm_now_ms(vm);
  f = run_main(vm, t->mains_rec[0], rec2, NONE, NONE, NONE, NONE, NONE);
  check_error(f, "branch 0 failed: boom 1000", "error", "record fan-out: a failing field fails the barrier");
  ok(vm_now_ms(vm) - t0 < 150 && S.nlog == 0, "record fan-out: the nested fan-out in the other field was cancelled");
  vm_fiber_free(vm, f);
  check_clean(vm, "record fan-out: nothing left");
  vm_free(vm);
}

/* Record fan-out that succeeds: {x: nested(3), y: nested(5)} via closures
 * is awkward by hand, so fields are fail-free 0-arg functions. */
static void test_record_ok(TM *t) {
  reset_state();
  VM *vm = vm_new(t->m, NULL);
  ObjShape *s = shape_new(&vm->heap, 2);
  s->names[0] = AS_STRING(v_cstring(&vm->heap, "later"));
  s->names[1] = AS_STRING(v_cstring(&vm->heap, "sooner"));
  Value rec = v_record(&vm->heap, s);
  v_release(&vm->heap, v_obj(&s->h));
  AS_RECORD(rec)->vals[0] = fnv(vm, t->slow_nested);
  AS_RECORD(rec)->vals[1] = fnv(vm, t->fail_fast);
  Fiber *f = run_main(vm, t->mains_rec[BARRIER_TOLERATE], rec, NONE, NONE, v_int(1), NONE, NONE);
  check_json(f,
             "{\"ok\":[[400,400,400]],\"failed\":[{\"branch\":1,\"kind\":\"error\",\"message\":\"boom 1005\",\"address\":\"t.weft:7:3\"}]}",
             "record fan-out with tolerate: ok in field order, failures by index");
  vm_fiber_free(vm, f);

  s = shape_new(&vm->heap, 1);
  s->names[0] = AS_STRING(v_cstring(&vm->heap, "only"));
  rec = v_record(&vm->heap, s);
  v_release(&vm->heap, v_obj(&s->h));
  AS_RECORD(rec)->vals[0] = fnv(vm, t->slow_nested);
  f = run_main(vm, t->mains_rec[0], rec, NONE, NONE, NONE, NONE, NONE);
  check_json(f, "{\"only\":[400,400,400]}", "record fan-out: a record of the same shape");
  vm_fiber_free(vm, f);
  vm_free(vm);
}

static void test_empty(TM *t) {
  reset_state();
  VM *vm = vm_new(t->m, NULL);
  Fiber *f = run_main(vm, t->mains[0], int_list(vm, NULL, 0), fnv(vm, t->branch), NONE, NONE, NONE, NONE);
  check_json(f, "[]", "0 items: barrier returns []");
  vm_fiber_free(vm, f);
  f = run_main(vm, t->mains[BARRIER_TOLERATE_P], int_list(vm, NULL, 0), fnv(vm, t->branch), v_int(4), v_float(10),
               NONE, NONE);
  check_json(f, "{\"ok\":[],\"failed\":[]}", "0 items with tolerate: an empty joined record");
  vm_fiber_free(vm, f);
  check_clean(vm, "0 items: nothing left");
  vm_free(vm);
}

static void test_many(TM *t) {
  reset_state();
  VM *vm = vm_new(t->m, NULL);
  enum { N = 100000 };
  int64_t *xs = calloc(N, sizeof *xs);
  for (int i = 0; i < N; i++) xs[i] = i % 3;
  Fiber *f = run_main(vm, t->mains[0], int_list(vm, xs, N), fnv(vm, t->branch), v_int(100), NONE, NONE, NONE);
  free(xs);
  int good = f && f->state == FIBER_DONE && v_is(f->result, OBJ_LIST) && AS_LIST(f->result)->n == N;
  for (uint32_t i = 0; good && i < N; i++) good = AS_LIST(f->result)->items[i].as.i == (int64_t)(i % 3) * 2;
  ok(good, "100,000 items with limit 100: every result, in order");
  ok(S.max_running == 100, "100,000 items: at most 100 ran at once");
  ok(vm->heap.peak < ((size_t)32 << 20), "100,000 items: peak memory stays small (no fiber per item)");
  diag("  peak heap %zu bytes", vm->heap.peak);
  vm_fiber_free(vm, f);
  check_clean(vm, "100,000 items: nothing left");
  vm_free(vm);
}

static void test_nested(TM *t) {
  reset_state();
  VM *vm = vm_new(t->m, NULL);
  Fiber *f = run_main(vm, t->mains[0], LIST(vm, 3, 5), fnv(vm, t->nested), NONE, NONE, NONE, NONE);
  check_json(f, "[[6,6,6],[10,10,10]]", "nested fan-out: a list of lists");
  vm_fiber_free(vm, f);
  check_clean(vm, "nested: nothing left");

  /* a chain DEEP fan-outs deep, cancelled from the top: freed in a loop */
  reset_state();
  Limits lim = {0};
  lim.max_fibers = 3 * DEEP;
  VM *vm2 = vm_new(t->m, &lim);
  ObjShape *s = shape_new(&vm2->heap, 2);
  s->names[0] = AS_STRING(v_cstring(&vm2->heap, "deep"));
  s->names[1] = AS_STRING(v_cstring(&vm2->heap, "late"));
  Value rec = v_record(&vm2->heap, s);
  v_release(&vm2->heap, v_obj(&s->h));
  AS_RECORD(rec)->vals[0] = fnv(vm2, t->deep_top);
  AS_RECORD(rec)->vals[1] = fnv(vm2, t->fail_late);
  f = run_main(vm2, t->mains_rec[0], rec, NONE, NONE, NONE, NONE, NONE);
  check_error(f, "branch 1 failed: boom 1300", "error", "a failure cancels a fan-out chain 3000 deep");
  ok(S.nlog == 0, "the innermost branch never ran its side effect");
  vm_fiber_free(vm2, f);
  check_clean(vm2, "deep chain: every fiber and timer is gone");
  vm_free(vm2);
  vm_free(vm);
}

static void test_fiber_limit(TM *t) {
  reset_state();
  Limits lim = {0};
  lim.max_fibers = 10;
  VM *vm = vm_new(t->m, &lim);
  int64_t xs[30];
  for (int i = 0; i < 30; i++) xs[i] = 5;
  Fiber *f = run_main(vm, t->mains[0], int_list(vm, xs, 30), fnv(vm, t->branch), NONE, NONE, NONE, NONE);
  ok(f && f->state == FIBER_DONE && AS_LIST(f->result)->n == 30,
     "no limit, 30 items, --max-fibers 10: the rest wait for free fibers");
  ok(S.max_running == 9, "no limit: as many as the fiber budget allows (9 + main)");
  vm_fiber_free(vm, f);
  vm_free(vm);

  lim.max_fibers = 2;
  vm = vm_new(t->m, &lim);
  f = run_main(vm, t->mains[0], LIST(vm, 3, 4), fnv(vm, t->nested), NONE, NONE, NONE, NONE);
  check_error(f, "branch 0 failed: fiber limit (2) exceeded", "limit",
              "a nested fan-out beyond --max-fibers: a clean limit error");
  vm_fiber_free(vm, f);
  check_clean(vm, "fiber limit: nothing left");
  vm_free(vm);

  lim.max_fibers = 1;
  vm = vm_new(t->m, &lim);
  f = run_main(vm, t->mains[0], LIST(vm, 3), fnv(vm, t->branch), NONE, NONE, NONE, NONE);
  check_error(f, "fiber limit (1) exceeded", "limit", "no fiber left at all: FANOUT itself fails");
  vm_fiber_free(vm, f);
  vm_free(vm);
}

static void test_double_join(TM *t) {
  reset_state();
  VM *vm = vm_new(t->m, NULL);
  Value args[2] = {LIST(vm, 1, 2), fnv(vm, t->branch)};
  Value mf = fnv(vm, t->twice);
  Fiber *f = vm_spawn(vm, mf, args, 2, NULL);
  v_release(&vm->heap, mf);
  v_release(&vm->heap, args[0]);
  v_release(&vm->heap, args[1]);
  vm_run(vm);
  check_error(f, "barrier: these tasks were already joined by a barrier", "error", "a second barrier on the same tasks");
  vm_fiber_free(vm, f);

  /* a barrier on something else */
  f = run_main(vm, t->mains[0], LIST(vm, 1), fnv(vm, t->branch), v_cstring(&vm->heap, "x"), NONE, NONE, NONE);
  check_error(f, "fanout limit must be an int, got string", "error", "a non-int limit");
  vm_fiber_free(vm, f);
  f = run_main(vm, t->mains[BARRIER_TIMEOUT], LIST(vm, 1), fnv(vm, t->branch), NONE, NONE, NONE, v_int(5));
  check_error(f, "barrier timeout needs a duration, got int", "error", "a non-duration timeout");
  vm_fiber_free(vm, f);
  check_clean(vm, "operand errors: the started branches were cancelled");

  /* the tasks value renders and compares by identity */
  Value xs = LIST(vm, 1);
  Value fn = fnv(vm, t->branch);
  Value fargs[3] = {xs, fn, v_none()};
  Value tv;
  Fiber *g = vm_spawn(vm, fn, &xs, 1, NULL);
  ok(tasks_fanout(vm, g, 0, fargs, &tv) == NATIVE_OK, "tasks_fanout by hand");
  Buf b;
  buf_init(&b);
  v_to_json(&b, tv, NULL);
  buf_putc(&b, '\0');
  is_str(b.data, "\"<tasks>\"", "a tasks value renders as <tasks>");
  buf_free(&b);
  ok(v_equal(tv, tv) && strcmp(v_type_name(tv), "tasks") == 0, "tasks: equal to itself, type name tasks");
  ok(vm->live_fibers == 2, "its branch started");
  v_release(&vm->heap, tv);
  ok(vm->live_fibers == 1, "releasing unjoined tasks cancels its branches");
  vm_fiber_free(vm, g);
  v_release(&vm->heap, xs);
  v_release(&vm->heap, fn);
  vm_free(vm);
}

/* ---- model calls ------------------------------------------------------------ */

static EngineConfig cfg_default(void) {
  EngineConfig c;
  memset(&c, 0, sizeof c);
  c.retries = -1;
  c.repairs = -1;
  return c;
}

static void test_mock_asks(void) {
  TM t;
  tm_init(&t, "mock/m");
  VM *vm = vm_new(t.m, NULL);
  EngineConfig c = cfg_default();
  char *err = NULL;
  Engine *e = engine_new(vm, &c, &err);
  Host *host = host_new(vm, e);
  enum { N = 40 };
  Value xs = v_list(&vm->heap, N);
  char p[32];
  for (int i = 0; i < N; i++) {
    snprintf(p, sizeof p, "prompt %d", i);
    AS_LIST(xs)->items[i] = v_cstring(&vm->heap, p);
  }
  AS_LIST(xs)->n = N;
  Fiber *f = run_main(vm, t.mains[0], xs, fnv(vm, t.asker), v_int(8), NONE, NONE, NONE);
  int good = f && f->state == FIBER_DONE && AS_LIST(f->result)->n == N;
  for (int i = 0; good && i < N; i++) {
    snprintf(p, sizeof p, "to: prompt %d", i);
    const char *r = AS_STRING(AS_LIST(f->result)->items[i])->data;
    good = strstr(r, p) && strlen(strstr(r, p)) == strlen(p);
  }
  ok(good, "40 mock asks with limit 8: each reply is its own prompt's, in order");
  ok(engine_stats(e)->max_in_flight <= 8 && engine_stats(e)->max_in_flight > 1,
     "limit 8: never more than 8 calls in flight");
  vm_fiber_free(vm, f);

  /* a failing branch cancels a parked ask: the call never completes */
  uint64_t calls = engine_stats(e)->calls;
  ObjShape *s = shape_new(&vm->heap, 2);
  s->names[0] = AS_STRING(v_cstring(&vm->heap, "a"));
  s->names[1] = AS_STRING(v_cstring(&vm->heap, "b"));
  Value rec = v_record(&vm->heap, s);
  v_release(&vm->heap, v_obj(&s->h));
  AS_RECORD(rec)->vals[0] = fnv(vm, t.ask_top);
  AS_RECORD(rec)->vals[1] = fnv(vm, t.fail_now);
  f = run_main(vm, t.mains_rec[0], rec, NONE, NONE, NONE, NONE, NONE);
  check_error(f, "branch 1 failed: boom 1000", "error", "a failing branch fails the barrier");
  ok(engine_stats(e)->calls == calls && !engine_busy(e), "the cancelled branch's ask never completed and was withdrawn");
  vm_fiber_free(vm, f);
  check_clean(vm, "asks: nothing left");
  engine_free(e);
  vm_free(vm);
  host_free(host);
  tm_free(&t);
}

/* A local socket that accepts connections (the kernel's backlog) and never
 * answers: the ask stays in flight until the barrier cancels it. Then the
 * connection must be closed by the client: the transfer was aborted. */
static void test_http_abort(void) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 4) != 0 ||
      getsockname(ls, (struct sockaddr *)&a, &alen) != 0) {
    ok(0, "a local socket for the abort test");
    return;
  }
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
  setenv("OPENAI_BASE_URL", url, 1);
  setenv("OPENAI_API_KEY", "sk-test-abort", 1);
  TM t;
  tm_init(&t, "openai/gpt-4o-mini");
  VM *vm = vm_new(t.m, NULL);
  EngineConfig c = cfg_default();
  c.retries = 0;
  char *err = NULL;
  Engine *e = engine_new(vm, &c, &err);
  Host *host = host_new(vm, e);
  ObjShape *s = shape_new(&vm->heap, 2);
  s->names[0] = AS_STRING(v_cstring(&vm->heap, "a"));
  s->names[1] = AS_STRING(v_cstring(&vm->heap, "b"));
  Value rec = v_record(&vm->heap, s);
  v_release(&vm->heap, v_obj(&s->h));
  AS_RECORD(rec)->vals[0] = fnv(vm, t.ask_top);
  AS_RECORD(rec)->vals[1] = fnv(vm, t.fail_late);
  uint64_t t0 = vm_now_ms(vm);
  Fiber *f = run_main(vm, t.mains_rec[0], rec, NONE, NONE, NONE, NONE, NONE);
  uint64_t took = vm_now_ms(vm) - t0;
  check_error(f, "branch 1 failed: boom 1300", "error", "http: the failing branch fails the barrier");
  ok(took < 2000 && !engine_busy(e) && engine_stats(e)->calls == 0 && engine_stats(e)->attempts == 1,
     "http: the in-flight ask was withdrawn, not waited for");
  /* the request reached the socket; the client has closed the connection */
  int cs = -1;
  struct pollfd pf = {ls, POLLIN, 0};
  if (poll(&pf, 1, 1000) == 1) cs = accept(ls, NULL, NULL);
  int saw_post = 0, closed = 0;
  if (cs >= 0) {
    char buf[4096];
    for (int i = 0; i < 50; i++) {
      struct pollfd cp = {cs, POLLIN, 0};
      if (poll(&cp, 1, 100) != 1) continue;
      ssize_t n = read(cs, buf, sizeof buf);
      if (n > 0 && memcmp(buf, "POST", 4) == 0) saw_post = 1;
      if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        closed = 1;
        break;
      }
    }
    close(cs);
  }
  ok(saw_post, "http: the request was in flight");
  ok(closed, "http: cancelling closed the connection (the transfer was aborted)");
  vm_fiber_free(vm, f);
  engine_free(e);
  vm_free(vm);
  host_free(host);
  tm_free(&t);
  close(ls);
  unsetenv("OPENAI_BASE_URL");
  unsetenv("OPENAI_API_KEY");
}

int main(void) {
  TM t;
  tm_init(&t, "mock/m");
  test_order(&t);
  test_limit(&t);
  test_fail_fast(&t);
  test_tolerate(&t);
  test_first(&t);
  test_timeout(&t);
  test_record(&t);
  test_record_ok(&t);
  test_empty(&t);
  test_many(&t);
  test_nested(&t);
  test_fiber_limit(&t);
  test_double_join(&t);
  tm_free(&t);
  test_mock_asks();
  test_http_abort();
  return tap_done();
}
