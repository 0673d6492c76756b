/* test_fibers.c — the interpreter and scheduler on modules assembled by hand.
 *
 * Each test builds a tiny Module directly (no compiler), with natives of
 * its own in Module.natives, runs it and checks results, interleaving
 * order, limits and error traces. Prints TAP-style `ok N - desc` lines and
 * exits non-zero if any check failed. */
#include "../../vm/vm.h"
#include "../../vm/opcodes.h"
#include "tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a tiny assembler ------------------------------------------------ */

typedef struct Asm {
  uint8_t code[4096];
  uint32_t len;
  LineEntry lines[64];
  uint32_t nlines;
} Asm;

static void put8(Asm *a, uint32_t v) { a->code[a->len++] = (uint8_t)v; }
static void put16(Asm *a, uint32_t v) { put8(a, v & 0xff); put8(a, (v >> 8) & 0xff); }
static void put32(Asm *a, int32_t v) {
  uint32_t u = (uint32_t)v;
  put8(a, u & 0xff); put8(a, (u >> 8) & 0xff); put8(a, (u >> 16) & 0xff); put8(a, u >> 24);
}

/* Emits an instruction with up to two integer operands and a jump target
 * (absolute byte offset), following the opcode's format string. */
static uint32_t emit(Asm *a, Opcode op, uint32_t x, uint32_t y, int32_t target) {
  uint32_t at = a->len;
  const char *fmt = op_info[op].format;
  put8(a, op);
  int slot = 0;
  for (; *fmt; fmt++) {
    uint32_t v = slot == 0 ? x : y;
    switch (*fmt) {
    case 'b': put8(a, v); slot++; break;
    case 'h': put16(a, v); slot++; break;
    case 'j': put32(a, target - (int32_t)(at + op_info[op].size)); break;
    }
  }
  return at;
}
#define E0(a, op) emit(a, OP_##op, 0, 0, 0)
#define E1(a, op, x) emit(a, OP_##op, x, 0, 0)
#define E2(a, op, x, y) emit(a, OP_##op, x, y, 0)
#define EJ(a, op, t) emit(a, OP_##op, 0, 0, t)

static void line(Asm *a, uint32_t ln, uint32_t col) {
  a->lines[a->nlines].pc = a->len;
  a->lines[a->nlines].line = ln;
  a->lines[a->nlines].col = col;
  a->nlines++;
}

/* ---- a module built field by field --------------------------------- */

#define MAXF 8
typedef struct TMod {
  Module m;
  Heap ch;                   /* constants' heap */
  FuncProto funcs[MAXF];
  Asm asms[MAXF];
  Value consts[32];
  uint8_t kinds[32];
  const Native *natives[8];
  char *files[1];
} TMod;

static void tmod_init(TMod *t) {
  memset(t, 0, sizeof *t);
  heap_init(&t->ch, 0);
  t->files[0] = "t.weft";
  t->m.files = t->files;
  t->m.nfiles = 1;
  t->m.consts = t->consts;
  t->m.const_kinds = t->kinds;
  t->m.natives = t->natives;
  t->m.funcs = t->funcs;
  t->m.main_fn = NO_INDEX;
  t->m.heap = &t->ch;
}

static uint32_t tmod_const(TMod *t, ConstKind k, Value v) {
  t->consts[t->m.nconsts] = v;
  t->kinds[t->m.nconsts] = (uint8_t)k;
  return t->m.nconsts++;
}

static uint32_t tmod_native(TMod *t, const Native *n) {
  t->natives[t->m.nnatives] = n;
  return t->m.nnatives++;
}

/* Declares function i; its code is whatever was emitted into asms[i]. */
static void tmod_func(TMod *t, uint32_t i, const char *name, uint16_t arity, uint16_t nlocals, uint16_t max_stack) {
  FuncProto *p = &t->funcs[i];
  p->name = (char *)name;
  p->file = 0;
  p->line = 1;
  p->arity = arity;
  p->nlocals = nlocals;
  p->max_stack = max_stack;
  p->code = t->asms[i].code;
  p->code_len = t->asms[i].len;
  p->lines = t->asms[i].lines;
  p->nlines = t->asms[i].nlines;
  if (i + 1 > t->m.nfuncs) t->m.nfuncs = i + 1;
}

static void tmod_free(TMod *t) {
  for (uint32_t i = 0; i < t->m.nconsts; i++) v_release(&t->ch, t->consts[i]);
}

/* ---- natives used by the tests --------------------------------------- */

typedef struct Log { int64_t items[64]; int n; } Log;

/* The log the test in progress collects ticks into (fibers carry no
 * owner data of their own). */
static Log *tick_log;

/* tick(x): appends x to the test's log. */
static NativeStatus nat_tick(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)vm; (void)f; (void)argc;
  Log *lg = tick_log;
  if (lg && lg->n < 64) lg->items[lg->n++] = args[0].as.i;
  *out = v_none();
  return NATIVE_OK;
}

/* nap(ms): parks the fiber on a timer; resumes with none. */
static NativeStatus nat_nap(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc; (void)out;
  vm_park_timer(vm, f, args[0].as.i, v_none());
  return NATIVE_PARK;
}

/* range(n): the list [0, n). */
static NativeStatus nat_range(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  int64_t n = args[0].as.i;
  if (!vm_charge(vm, f, (uint64_t)n)) return NATIVE_ERROR;
  Value l = v_list(&vm->heap, (uint32_t)n);
  for (int64_t i = 0; i < n; i++) AS_LIST(l)->items[i] = v_int(i);
  AS_LIST(l)->n = (uint32_t)n;
  *out = l;
  return NATIVE_OK;
}

static const Native N_TICK = { "tick", "tick", "(int) -> void", nat_tick, 1, "", false, NL_JOIN, 0, NULL};
static const Native N_NAP = { "nap", "nap", "(int) -> void", nat_nap, 1, "", false, NL_JOIN, 0, NULL};
static const Native N_RANGE = { "range", "range", "(int) -> list[int]", nat_range, 1, "", false, NL_JOIN, 0, NULL};

/* ---- tests ----------------------------------------------------------- */

/* worker(id, ms): tick(id*10+1); nap(ms); tick(id*10+2); nap(ms);
 * tick(id*10+3); return id. Two workers with 10ms and 15ms naps must
 * interleave by their deadlines. */
static void test_interleave(void) {
  TMod t;
  tmod_init(&t);
  uint32_t tick = tmod_native(&t, &N_TICK), nap = tmod_native(&t, &N_NAP);
  uint32_t k10 = tmod_const(&t, K_INT, v_int(10));
  uint32_t kk[4];
  for (int i = 1; i <= 3; i++) kk[i] = tmod_const(&t, K_INT, v_int(i));
  Asm *a = &t.asms[0];
  for (int i = 1; i <= 3; i++) {
    E1(a, GET_LOCAL, 0); E1(a, CONST, k10); E0(a, MUL); E1(a, CONST, kk[i]); E0(a, ADD);
    E2(a, CALL_NATIVE, tick, 1); E0(a, POP);
    if (i < 3) { E1(a, GET_LOCAL, 1); E2(a, CALL_NATIVE, nap, 1); E0(a, POP); }
  }
  E1(a, GET_LOCAL, 0); E0(a, RETURN);
  tmod_func(&t, 0, "worker", 2, 2, 4);

  VM *vm = vm_new(&t.m, NULL);
  Log lg = { {0}, 0 };
  Value fn = v_func(&vm->heap, 0, 0);
  Value a1[2] = { v_int(1), v_int(10) }, a2[2] = { v_int(2), v_int(15) };
  char *err = NULL;
  Fiber *f1 = vm_spawn(vm, fn, a1, 2, &err);
  Fiber *f2 = vm_spawn(vm, fn, a2, 2, &err);
  v_release(&vm->heap, fn);
  tick_log = &lg;
  uint64_t t0 = vm_now_ms(vm);
  uint32_t nfail = vm_run(vm);
  uint64_t took = vm_now_ms(vm) - t0;
  int64_t want[6] = { 11, 21, 12, 22, 13, 23 };
  int order_ok = lg.n == 6;
  for (int i = 0; order_ok && i < 6; i++) order_ok = lg.items[i] == want[i];
  ok(nfail == 0, "two sleeping fibers finish without failure");
  ok(order_ok, "sleeping fibers interleave by deadline (11 21 12 22 13 23)");
  if (!order_ok) { printf("#  "); for (int i = 0; i < lg.n; i++) printf(" %lld", (long long)lg.items[i]); printf("\n"); }
  ok(f1->state == FIBER_DONE && f1->result.tag == V_INT && f1->result.as.i == 1, "first fiber returns 1");
  ok(f2->state == FIBER_DONE && f2->result.tag == V_INT && f2->result.as.i == 2, "second fiber returns 2");
  ok(took >= 30 && took < 1000, "scheduler slept about 30ms, not busy-looping forever");
  ok(vm->live_fibers == 0, "no live fibers remain");
  vm_free(vm);
  tmod_free(&t);
  tick_log = NULL;
}

/* Equal deadlines wake in the order they were set. */
static void test_equal_deadlines(void) {
  TMod t;
  tmod_init(&t);
  uint32_t tick = tmod_native(&t, &N_TICK), nap = tmod_native(&t, &N_NAP);
  uint32_t k0 = tmod_const(&t, K_INT, v_int(0));
  Asm *a = &t.asms[0];
  E1(a, CONST, k0); E2(a, CALL_NATIVE, nap, 1); E0(a, POP);
  E1(a, GET_LOCAL, 0); E2(a, CALL_NATIVE, tick, 1); E0(a, RETURN);
  tmod_func(&t, 0, "w", 1, 1, 2);
  VM *vm = vm_new(&t.m, NULL);
  Log lg = { {0}, 0 };
  Value fn = v_func(&vm->heap, 0, 0);
  tick_log = &lg;
  for (int i = 0; i < 5; i++) {
    Value arg = v_int(i);
    vm_spawn(vm, fn, &arg, 1, NULL);
  }
  v_release(&vm->heap, fn);
  vm_run(vm);
  int good = lg.n == 5;
  for (int i = 0; good && i < 5; i++) good = lg.items[i] == i;
  ok(good, "equal deadlines wake in park order");
  vm_free(vm);
  tmod_free(&t);
  tick_log = NULL;
}

/* A long loop does not starve another fiber: slices rotate. */
static void test_fairness(void) {
  TMod t;
  tmod_init(&t);
  uint32_t tick = tmod_native(&t, &N_TICK), range = tmod_native(&t, &N_RANGE);
  uint32_t kn = tmod_const(&t, K_INT, v_int(50000)), k0 = tmod_const(&t, K_INT, v_int(0));
  uint32_t k1 = tmod_const(&t, K_INT, v_int(1)), k2 = tmod_const(&t, K_INT, v_int(2));
  /* looper(): xs = range(50000); i = 0; for x in xs {} ; tick(1); return 1 */
  Asm *a = &t.asms[0];
  E1(a, CONST, kn); E2(a, CALL_NATIVE, range, 1); E1(a, SET_LOCAL, 0);
  E1(a, CONST, k0); E1(a, SET_LOCAL, 1);
  uint32_t top = a->len;
  uint32_t it = emit(a, OP_ITER, 0, 1, 0);
  E0(a, POP); EJ(a, JUMP, (int32_t)top);
  uint32_t done = a->len;
  /* patch ITER's exit to `done` */
  int32_t off = (int32_t)done - (int32_t)(it + op_info[OP_ITER].size);
  memcpy(&a->code[it + 5], &off, 4);
  E1(a, CONST, k1); E2(a, CALL_NATIVE, tick, 1); E0(a, RETURN);
  tmod_func(&t, 0, "looper", 0, 2, 2);
  Asm *b = &t.asms[1];
  E1(b, CONST, k2); E2(b, CALL_NATIVE, tick, 1); E0(b, RETURN);
  tmod_func(&t, 1, "quick", 0, 0, 1);
  VM *vm = vm_new(&t.m, NULL);
  Log lg = { {0}, 0 };
  Value f0 = v_func(&vm->heap, 0, 0), f1 = v_func(&vm->heap, 1, 0);
  Fiber *x = vm_spawn(vm, f0, NULL, 0, NULL), *y = vm_spawn(vm, f1, NULL, 0, NULL);
  tick_log = &lg;
  v_release(&vm->heap, f0);
  v_release(&vm->heap, f1);
  vm_run(vm);
  ok(lg.n == 2 && lg.items[0] == 2 && lg.items[1] == 1, "a short fiber finishes while a long loop is still running");
  ok(x->state == FIBER_DONE && y->state == FIBER_DONE, "both fibers done");
  ok(vm->fuel > 190000 && vm->fuel < 210000, "fuel counts loop instructions plus range's charge");
  vm_free(vm);
  tmod_free(&t);
  tick_log = NULL;
}

/* Runs function 0 of t as main; returns ok and fills err/trace. */
static bool run_main(TMod *t, const Limits *lim, Value *res, char **err, char **trace, const char **kind) {
  t->m.main_fn = 0;
  VM *vm = vm_new(&t->m, lim);
  bool good = vm_run_main(vm, NULL, 0, res, err, trace);
  (void)kind;
  if (good) {
    /* move the result out of the VM's heap accounting: render it now */
  }
  vm_free(vm);
  return good;
}

static void test_instruction_limit(void) {
  TMod t;
  tmod_init(&t);
  Asm *a = &t.asms[0];
  EJ(a, JUMP, 0);
  tmod_func(&t, 0, "spin", 0, 0, 0);
  Limits lim = { 100000, 0, 0, 0 };
  t.m.main_fn = 0;
  VM *vm = vm_new(&t.m, &lim);
  Value fn = v_func(&vm->heap, 0, 0);
  Fiber *f = vm_spawn(vm, fn, NULL, 0, NULL);
  v_release(&vm->heap, fn);
  uint32_t nfail = vm_run(vm);
  ok(nfail == 1 && f->state == FIBER_FAILED, "an endless loop fails");
  is_str(f->error, "instruction limit (100000) exceeded", "instruction limit message");
  is_str(f->error_kind, "limit", "instruction limit has kind limit");
  ok(vm->fuel == 100000, "exactly the limit was charged (deterministic)");
  vm_free(vm);
  tmod_free(&t);
}

/* rec(n) = rec(n + 1), forever. */
static void test_call_depth(void) {
  TMod t;
  tmod_init(&t);
  uint32_t k1 = tmod_const(&t, K_INT, v_int(1));
  Asm *a = &t.asms[0];
  line(a, 2, 3);
  E1(a, FUNC, 0); E1(a, GET_LOCAL, 0); E1(a, CONST, k1); E0(a, ADD); E1(a, CALL, 1); E0(a, RETURN);
  tmod_func(&t, 0, "rec", 1, 1, 3);
  Asm *m = &t.asms[1];
  uint32_t k0 = tmod_const(&t, K_INT, v_int(0));
  line(m, 9, 1);
  E1(m, FUNC, 0); E1(m, CONST, k0); E1(m, CALL, 1); E0(m, RETURN);
  tmod_func(&t, 1, "main", 0, 0, 2);
  VM *vm = vm_new(&t.m, NULL);
  Value fn = v_func(&vm->heap, 1, 0);
  Fiber *f = vm_spawn(vm, fn, NULL, 0, NULL);
  v_release(&vm->heap, fn);
  vm_run(vm);
  ok(f->state == FIBER_FAILED, "unbounded recursion fails");
  is_str(f->error, "call depth limit (10000) exceeded", "call depth message");
  is_str(f->error_kind, "limit", "call depth has kind limit");
  ok(f->error_trace && strstr(f->error_trace, "  at rec (t.weft:2:3)\n") == f->error_trace,
     "trace starts at the innermost rec frame");
  ok(f->error_trace && strstr(f->error_trace, "more frames") && strstr(f->error_trace, "  at main (t.weft:9:1)\n"),
     "deep trace is elided in the middle and ends at main");
  ok(f->sp == 0, "failed fiber's stack is unwound");
  vm_free(vm);
  tmod_free(&t);
}

/* xs = [1]; loop { xs = xs + xs } until the memory limit. */
static void test_memory_limit(void) {
  TMod t;
  tmod_init(&t);
  uint32_t k1 = tmod_const(&t, K_INT, v_int(1));
  Asm *a = &t.asms[0];
  E1(a, CONST, k1); E1(a, LIST, 1); E1(a, SET_LOCAL, 0);
  uint32_t top = a->len;
  E1(a, GET_LOCAL, 0); E1(a, GET_LOCAL, 0); E0(a, ADD); E1(a, SET_LOCAL, 0); EJ(a, JUMP, (int32_t)top);
  tmod_func(&t, 0, "grow", 0, 1, 2);
  Asm *b = &t.asms[1];
  E1(b, CONST, k1); E1(b, LIST, 1); E1(b, CONST, k1); E1(b, LIST, 1); E0(b, ADD); E0(b, RETURN);
  tmod_func(&t, 1, "twice", 0, 0, 2);
  Limits lim = { 0, 1u << 20, 0, 0 };
  VM *vm = vm_new(&t.m, &lim);
  Value fn = v_func(&vm->heap, 0, 0);
  Fiber *f = vm_spawn(vm, fn, NULL, 0, NULL);
  v_release(&vm->heap, fn);
  vm_run(vm);
  ok(f->state == FIBER_FAILED, "a doubling list fails");
  is_str(f->error, "memory limit (1048576 bytes) exceeded", "memory limit message");
  is_str(f->error_kind, "limit", "memory limit has kind limit");
  ok(vm->heap.used < (1u << 20), "memory is given back after the failure");
  vm_fiber_free(vm, f);

  /* fail_after: the Nth allocation behaves as over the limit */
  fn = v_func(&vm->heap, 1, 0);
  f = vm_spawn(vm, fn, NULL, 0, NULL);
  v_release(&vm->heap, fn);
  vm->heap.fail_after = vm->heap.nallocs + 3;
  vm_run(vm);
  ok(f->state == FIBER_FAILED && f->error && strstr(f->error, "memory limit"), "fail_after injects a memory failure");
  vm->heap.fail_after = 0;
  vm_free(vm);
  tmod_free(&t);
}

static void test_fiber_limit(void) {
  TMod t;
  tmod_init(&t);
  Asm *a = &t.asms[0];
  E0(a, NONE); E0(a, RETURN);
  tmod_func(&t, 0, "nothing", 0, 0, 1);
  Limits lim = { 0, 0, 0, 2 };
  VM *vm = vm_new(&t.m, &lim);
  Value fn = v_func(&vm->heap, 0, 0);
  char *err = NULL;
  Fiber *x = vm_spawn(vm, fn, NULL, 0, &err);
  Fiber *y = vm_spawn(vm, fn, NULL, 0, &err);
  Fiber *z = vm_spawn(vm, fn, NULL, 0, &err);
  ok(x && y && !z, "third fiber is refused");
  is_str(err, "fiber limit (2) exceeded", "fiber limit message");
  free(err);
  err = NULL;
  vm_run(vm);
  z = vm_spawn(vm, fn, NULL, 0, &err);
  ok(z != NULL, "finished fibers no longer count against the limit");
  Value arg = v_int(1);
  Fiber *w = vm_spawn(vm, fn, &arg, 1, &err);
  ok(!w && err && strstr(err, "expects 0 arguments"), "spawn checks arity");
  free(err);
  v_release(&vm->heap, fn);
  vm_free(vm);
  tmod_free(&t);
}

/* main (line 3) calls helper(7, 0) which divides (line 7, col 12). */
static void test_div_zero_trace(void) {
  TMod t;
  tmod_init(&t);
  uint32_t k7 = tmod_const(&t, K_INT, v_int(7)), k0 = tmod_const(&t, K_INT, v_int(0));
  Asm *m = &t.asms[0];
  line(m, 2, 1);
  E1(m, FUNC, 1); E1(m, CONST, k7); E1(m, CONST, k0);
  line(m, 3, 5);
  E1(m, CALL, 2);
  line(m, 4, 1);
  E0(m, RETURN);
  tmod_func(&t, 0, "main", 0, 0, 3);
  Asm *h = &t.asms[1];
  line(h, 6, 3);
  E1(h, GET_LOCAL, 0); E1(h, GET_LOCAL, 1);
  line(h, 7, 12);
  E0(h, DIV);
  line(h, 8, 1);
  E0(h, RETURN);
  tmod_func(&t, 1, "helper", 2, 2, 2);
  Value res;
  char *err, *trace;
  bool good = run_main(&t, NULL, &res, &err, &trace, NULL);
  ok(!good, "division by zero fails main");
  is_str(err, "division by zero", "division by zero message");
  is_str(trace, "  at helper (t.weft:7:12)\n  at main (t.weft:3:5)\n", "trace names functions and lines");
  free(err);
  free(trace);
  tmod_free(&t);
}

/* Evaluates `x OP y` in a one-function module and returns the fiber's
 * result (ints) or error. */
static bool eval2(Value x, Opcode op, Value y, Value *out, char **err) {
  TMod t;
  tmod_init(&t);
  uint32_t kx = tmod_const(&t, K_INT, x), ky = tmod_const(&t, K_INT, y);
  Asm *a = &t.asms[0];
  E1(a, CONST, kx); E1(a, CONST, ky); emit(a, op, 0, 0, 0); E0(a, RETURN);
  tmod_func(&t, 0, "main", 0, 0, 2);
  char *trace;
  bool good = run_main(&t, NULL, out, err, &trace, NULL);
  free(trace);
  tmod_free(&t);
  return good;
}

static void test_arith(void) {
  Value r;
  char *err = NULL;
  ok(!eval2(v_int(INT64_MAX), OP_ADD, v_int(1), &r, &err), "INT64_MAX + 1 fails");
  is_str(err, "integer overflow in +", "overflow message for +");
  free(err);
  ok(!eval2(v_int(INT64_MIN), OP_DIV, v_int(-1), &r, &err), "INT64_MIN / -1 fails");
  is_str(err, "integer overflow in /", "overflow message for /");
  free(err);
  ok(!eval2(v_int(INT64_MIN), OP_SUB, v_int(1), &r, &err) && err && strstr(err, "overflow in -"), "INT64_MIN - 1 fails");
  free(err);
  ok(!eval2(v_int(1LL << 62), OP_MUL, v_int(4), &r, &err) && err && strstr(err, "overflow in *"), "2^62 * 4 fails");
  free(err);
  ok(!eval2(v_int(5), OP_MOD, v_int(0), &r, &err), "5 %% 0 fails");
  is_str(err, "division by zero", "modulo by zero message");
  free(err);
  ok(eval2(v_int(-7), OP_DIV, v_int(2), &r, &err) && r.as.i == -3, "-7 / 2 == -3 (truncates)");
  ok(eval2(v_int(-7), OP_MOD, v_int(2), &r, &err) && r.as.i == -1, "-7 %% 2 == -1 (sign of dividend)");
  ok(eval2(v_int(7), OP_MOD, v_int(-2), &r, &err) && r.as.i == 1, "7 %% -2 == 1");
  ok(eval2(v_int(INT64_MIN), OP_MOD, v_int(-1), &r, &err) && r.as.i == 0, "INT64_MIN %% -1 == 0");
  ok(eval2(v_float(1.5), OP_MUL, v_float(2.0), &r, &err) && r.tag == V_FLOAT && r.as.f == 3.0, "float multiply");
  ok(eval2(v_float(1.0), OP_DIV, v_float(0.0), &r, &err) && r.tag == V_FLOAT && r.as.f > 1e308, "float / 0 is inf");
  ok(eval2(v_duration(1500), OP_ADD, v_duration(500), &r, &err) && r.tag == V_DURATION && r.as.i == 2000, "duration + duration");
  ok(eval2(v_duration(1500), OP_MUL, v_int(3), &r, &err) && r.tag == V_DURATION && r.as.i == 4500, "duration * int");
  ok(eval2(v_duration(1500), OP_DIV, v_int(2), &r, &err) && r.tag == V_DURATION && r.as.i == 750, "duration / int");
  ok(eval2(v_int(3), OP_LT, v_int(4), &r, &err) && r.tag == V_BOOL && r.as.b, "3 < 4");
  ok(eval2(v_float(0.0 / 0.0), OP_GE, v_float(1.0), &r, &err) && r.tag == V_BOOL && !r.as.b, "NaN >= 1.0 is false");
  ok(!eval2(v_int(1), OP_ADD, v_float(1.0), &r, &err) && err && strstr(err, "cannot apply + to int and float"),
     "int + float is a runtime type error");
  free(err);
  ok(!eval2(v_int(1), OP_LT, v_bool(true), &r, &err) && err && strstr(err, "cannot compare"), "int < bool is an error");
  free(err);
}

/* Strings and lists through the VM: concat, in-place joins, index errors,
 * records and maps. */
static void test_objects(void) {
  TMod t;
  tmod_init(&t);
  Heap *ch = &t.ch;
  uint32_t ka = tmod_const(&t, K_STRING, v_cstring(ch, "ab"));
  uint32_t kc = tmod_const(&t, K_STRING, v_cstring(ch, "c"));
  uint32_t k5 = tmod_const(&t, K_INT, v_int(5));
  uint32_t k1 = tmod_const(&t, K_INT, v_int(1));
  Asm *a = &t.asms[0];
  /* "ab" + "c" + str(5) -> "abc5" */
  E1(a, CONST, ka); E1(a, CONST, kc); E0(a, ADD); E1(a, CONST, k5); E0(a, TOSTR); E1(a, CONCAT, 2); E0(a, RETURN);
  tmod_func(&t, 0, "main", 0, 0, 3);
  Value r;
  char *err = NULL, *trace = NULL;
  t.m.main_fn = 0;
  VM *vm = vm_new(&t.m, NULL);
  bool good = vm_run_main(vm, NULL, 0, &r, &err, &trace);
  ok(good && v_is(r, OBJ_STRING) && strcmp(AS_STRING(r)->data, "abc5") == 0, "string concat and TOSTR");
  v_release(&vm->heap, r);
  vm_free(vm);

  /* [1, 5][5] -> index error */
  t.asms[1].len = 0;
  Asm *b = &t.asms[1];
  E1(b, CONST, k1); E1(b, CONST, k5); E1(b, LIST, 2); E1(b, CONST, k5); E0(b, INDEX); E0(b, RETURN);
  tmod_func(&t, 1, "idx", 0, 0, 3);
  t.m.main_fn = 1;
  vm = vm_new(&t.m, NULL);
  good = vm_run_main(vm, NULL, 0, &r, &err, &trace);
  ok(!good, "list index out of range fails");
  is_str(err, "index 5 out of range for list of length 2", "index error message");
  free(err);
  free(trace);
  vm_free(vm);

  /* {"ab": 1}["c"] -> missing key names the key */
  Asm *c = &t.asms[2];
  E1(c, CONST, ka); E1(c, CONST, k1); E1(c, MAP, 1); E1(c, CONST, kc); E0(c, INDEX); E0(c, RETURN);
  tmod_func(&t, 2, "mapidx", 0, 0, 3);
  t.m.main_fn = 2;
  vm = vm_new(&t.m, NULL);
  good = vm_run_main(vm, NULL, 0, &r, &err, &trace);
  ok(!good && err && strstr(err, "\"c\""), "missing map key error names the key");
  free(err);
  free(trace);
  vm_free(vm);

  /* record {ab: 1, c: 5}; r with {c: "ab"}; r.c */
  ObjShape *sh = shape_new(ch, 2);
  sh->names[0] = AS_STRING(t.consts[ka]); sh->names[0]->h.rc++;
  sh->names[1] = AS_STRING(t.consts[kc]); sh->names[1]->h.rc++;
  uint32_t ks = tmod_const(&t, K_SHAPE, v_obj(&sh->h));
  Asm *d = &t.asms[3];
  E1(d, CONST, k1); E1(d, CONST, k5); E1(d, RECORD, ks); E1(d, CONST, ka); E1(d, WITH, kc); E1(d, GET_FIELD, kc); E0(d, RETURN);
  tmod_func(&t, 3, "rec", 0, 0, 3);
  t.m.main_fn = 3;
  vm = vm_new(&t.m, NULL);
  good = vm_run_main(vm, NULL, 0, &r, &err, &trace);
  ok(good && v_is(r, OBJ_STRING) && strcmp(AS_STRING(r)->data, "ab") == 0, "RECORD, WITH and GET_FIELD");
  if (good) v_release(&vm->heap, r);
  vm_free(vm);

  /* a type-confused instruction fails cleanly: 5.field, JUMP_IF_FALSE on int, CALL on int */
  Asm *e = &t.asms[4];
  E1(e, CONST, k5); E1(e, GET_FIELD, kc); E0(e, RETURN);
  tmod_func(&t, 4, "bad1", 0, 0, 1);
  Asm *g = &t.asms[5];
  E1(g, CONST, k5); E1(g, CALL, 0); E0(g, RETURN);
  tmod_func(&t, 5, "bad2", 0, 0, 1);
  Asm *h = &t.asms[6];
  E1(h, CONST, k5); EJ(h, JUMP_IF_FALSE, 8); E0(h, NONE); E0(h, RETURN);
  tmod_func(&t, 6, "bad3", 0, 0, 1);
  const char *want[3] = { "cannot read field", "cannot call a value of type int", "condition must be bool" };
  for (uint32_t i = 0; i < 3; i++) {
    t.m.main_fn = 4 + i;
    vm = vm_new(&t.m, NULL);
    good = vm_run_main(vm, NULL, 0, &r, &err, &trace);
    ok(!good && err && strstr(err, want[i]), "%s", want[i]);
    free(err);
    free(trace);
    vm_free(vm);
  }
  tmod_free(&t);
}

/* Closures capture values; GET_CAPTURE reads them. adder = fn(x) => x + c */
static void test_closure(void) {
  TMod t;
  tmod_init(&t);
  uint32_t k40 = tmod_const(&t, K_INT, v_int(40)), k2 = tmod_const(&t, K_INT, v_int(2));
  Asm *m = &t.asms[0];
  E1(m, CONST, k40); E2(m, CLOSURE, 1, 1); E1(m, CONST, k2); E1(m, CALL, 1); E0(m, RETURN);
  tmod_func(&t, 0, "main", 0, 0, 2);
  Asm *l = &t.asms[1];
  E1(l, GET_LOCAL, 0); E1(l, GET_CAPTURE, 0); E0(l, ADD); E0(l, RETURN);
  tmod_func(&t, 1, "<lambda>", 1, 1, 2);
  t.funcs[1].ncaptures = 1;
  Value r;
  char *err = NULL, *trace = NULL;
  bool good = run_main(&t, NULL, &r, &err, &trace, NULL);
  ok(good && r.tag == V_INT && r.as.i == 42, "closure call returns 42");
  tmod_free(&t);
}

/* Freeing a list nested a million deep must not recurse. */
static void test_deep_free(void) {
  Heap h;
  heap_init(&h, 0);
  Value v = v_list(&h, 0);
  for (int i = 0; i < 1000000; i++) {
    Value outer = v_list(&h, 1);
    outer = list_push_take(&h, outer, v);
    v = outer;
  }
  ok(h.used > 1000000, "a million nested lists were built");
  Buf b;
  buf_init(&b);
  char *why = NULL;
  ok(!v_to_json(&b, v, &why) && b.len == 0 && why && strcmp(why, "value nested too deeply to render") == 0,
     "rendering a million-deep list fails cleanly");
  free(why);
  buf_free(&b);
  ok(!v_equal(v, v_none()), "comparing it does not recurse without bound");
  v_release(&h, v);
  ok(h.used == 0, "a million-deep list frees iteratively, every byte");
}

int main(void) {
  test_interleave();
  test_equal_deadlines();
  test_fairness();
  test_instruction_limit();
  test_call_depth();
  test_memory_limit();
  test_fiber_limit();
  test_div_zero_trace();
  test_arith();
  test_objects();
  test_closure();
  test_deep_free();
  return tap_done();
}
