/* interp.c — the bytecode interpreter: one dispatch loop over a fiber.
 *
 * The loop is written once. CASE/NEXT expand to computed goto (a jump
 * table of label addresses, one indirect branch per opcode site) when
 * WEFT_COMPUTED_GOTO is 1 — the default under GCC and Clang unless
 * WEFT_NO_COMPUTED_GOTO is defined — and to a plain switch otherwise; both
 * forms are built and tested. `ip`, `sp`, `slots` and the frame live in
 * locals and are written back to the fiber only when leaving the loop or
 * before anything that may look at the fiber (natives, errors, growth).
 *
 * Trust: the verifier guarantees structure (opcodes, operand indices, jump
 * targets, stack depth) but not value types, so every instruction that can
 * meet a wrongly typed operand checks its tags and raises a runtime error.
 *
 * Errors: operands are inspected in place on the stack and only popped on
 * success, so when an instruction fails every live value is still on the
 * stack and the scheduler's unwind releases it. */
#include "vm_impl.h"
#include "json.h"
#include "opcodes.h"
#include "trace.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(WEFT_NO_COMPUTED_GOTO) && !defined(WEFT_COMPUTED_GOTO)
#define WEFT_COMPUTED_GOTO 1
#endif
#ifndef WEFT_COMPUTED_GOTO
#define WEFT_COMPUTED_GOTO 0
#endif

#if defined(__GNUC__)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#endif

static const char *arith_sym(Opcode op) {
  switch (op) {
  case OP_ADD: return "+";
  case OP_SUB: return "-";
  case OP_MUL: return "*";
  case OP_DIV: return "/";
  case OP_MOD: return "%";
  default: return "?";
  }
}

/* submit_ask's `with` for a STEP: the conversation sits above the prompt */
static const AskWith step_marker;
#define ASK_STEP (&step_marker)

/* ASK: parks f like a native returning NATIVE_PARK and hands the effect
 * to the host. The prompt (on top of f's stack) is popped first and held
 * for the call, so a host that answers at once (vm_wake inside submit)
 * pushes the reply where the prompt was. False: f has failed. */
static bool submit_ask(VM *vm, Fiber *f, uint32_t role, uint32_t td, const AskWith *with) {
  const Effects *fx = vm->effects;
  /* a step holds the conversation on top, the prompt under it */
  Value turns = with == ASK_STEP ? f->stack[--f->sp] : (Value){0};
  bool step = with == ASK_STEP;
  if (step) with = NULL;
  Value prompt = f->stack[--f->sp];
  Buf a;
  buf_init(&a);
  fiber_effect_address(f, step ? "step" : "ask", &a);
  buf_putc(&a, '\0');
  EffectRequest rq;
  memset(&rq, 0, sizeof rq);
  rq.kind = step ? EFFECT_STEP : EFFECT_ASK;
  rq.u.ask.turns = turns;
  rq.addr = a.data;
  rq.fiber = f;
  rq.u.ask.role = role;
  rq.u.ask.prompt = prompt;
  rq.u.ask.td = td;
  rq.u.ask.with = with;
  f->state = FIBER_PARKED;
  bool ok = fx->submit(fx->host, &rq);
  if (!ok && f->state != FIBER_FAILED) vm_raise(vm, f, "ask: the host refused the call");
  buf_free(&a);
  v_release(&vm->heap, prompt);
  if (step) v_release(&vm->heap, turns);
  return ok;
}

/* GENERATE: as submit_ask, with the signature the generated main must
 * have. The prompt goes to the host as it is, label included, exactly as
 * an ask's does (the host decides what an untrusted prompt may get). The
 * host wakes f with the linked main as a function value. */
static bool submit_generate(VM *vm, Fiber *f, uint32_t role, uint32_t params, uint32_t result) {
  const Effects *fx = vm->effects;
  Value prompt = f->stack[--f->sp];
  Buf a;
  buf_init(&a);
  fiber_effect_address(f, "generate", &a);
  buf_putc(&a, '\0');
  EffectRequest rq;
  memset(&rq, 0, sizeof rq);
  rq.kind = EFFECT_GENERATE;
  rq.addr = a.data;
  rq.fiber = f;
  rq.u.gen.role = role;
  rq.u.gen.prompt = prompt;
  rq.u.gen.params = params;
  rq.u.gen.result = result == GEN_NO_RESULT ? NO_INDEX : result;
  f->state = FIBER_PARKED;
  bool ok = fx->submit(fx->host, &rq);
  if (!ok && f->state != FIBER_FAILED) vm_raise(vm, f, "generate: the host refused the call");
  buf_free(&a);
  v_release(&vm->heap, prompt);
  return ok;
}

/* The per-call settings of ASK_ROLE (temperature, top_p, max_tokens, stop
 * at s[0..3], none when not given) into w, checked against the ranges the
 * checker applies to constants (check.c, role_settings): a value computed
 * at run time gets the same rules. NULL, or the error message (static). */
static const char *ask_with(const Value *s, AskWith *w, char *why, size_t cap) {
  w->temperature = w->top_p = NAN;
  w->max_tokens = -1;
  w->nstop = 0;
  static const char *const names[2] = {"temperature", "top_p"};
  static const double hi[2] = {2, 1};
  for (int i = 0; i < 2; i++) {
    Value v = s[i];
    if (v.tag == V_NONE) continue;
    double x = v.tag == V_INT ? (double)v.as.i : v.tag == V_FLOAT ? v.as.f : NAN;
    if (v.tag != V_INT && v.tag != V_FLOAT) {
      snprintf(why, cap, "ask: setting `%s` must be a number, got %s", names[i], v_type_name(v));
      return why;
    }
    if (!(x >= 0 && x <= hi[i])) {
      snprintf(why, cap, "ask: setting `%s` must be between 0 and %g, got %g", names[i], hi[i], x);
      return why;
    }
    if (i == 0) w->temperature = x;
    else w->top_p = x;
  }
  if (s[2].tag != V_NONE) {
    if (s[2].tag != V_INT) {
      snprintf(why, cap, "ask: setting `max_tokens` must be an int, got %s", v_type_name(s[2]));
      return why;
    }
    if (s[2].as.i < 1) {
      snprintf(why, cap, "ask: setting `max_tokens` must be at least 1, got %lld", (long long)s[2].as.i);
      return why;
    }
    w->max_tokens = s[2].as.i;
  }
  if (s[3].tag != V_NONE) {
    if (!v_is(s[3], OBJ_LIST)) {
      snprintf(why, cap, "ask: setting `stop` must be a list of strings, got %s", v_type_name(s[3]));
      return why;
    }
    ObjList *l = AS_LIST(s[3]);
    if (l->n > ASK_STOP_MAX) {
      snprintf(why, cap, "ask: setting `stop` has %u sequences, at most %d are allowed", l->n, ASK_STOP_MAX);
      return why;
    }
    for (uint32_t i = 0; i < l->n; i++) {
      if (!v_is(l->items[i], OBJ_STRING)) {
        snprintf(why, cap, "ask: setting `stop` must be a list of strings, item %u is %s", i,
                 v_type_name(l->items[i]));
        return why;
      }
      ObjString *t = AS_STRING(l->items[i]);
      if (t->len == 0 || t->len > ASK_STOP_LEN_MAX || memchr(t->data, '\0', t->len)) {
        snprintf(why, cap, "ask: stop sequence %u must be 1 to %d bytes without NUL, got %zu bytes", i,
                 ASK_STOP_LEN_MAX, t->len);
        return why;
      }
      w->stop[w->nstop++] = t->data;
    }
  }
  return NULL;
}

/* Concatenates two strings, consuming the reference to a: appends in
 * place when a is unique (nobody else can see it change), else copies. */
static Value str_join_take(Heap *h, Value a, Value b) {
  ObjString *x = AS_STRING(a), *y = AS_STRING(b);
  size_t xlen = x->len, len = x->len + y->len;
  if (x->h.rc == 1) {
    ObjString *n = heap_realloc(h, x, sizeof(ObjString) + xlen + 1, sizeof(ObjString) + len + 1);
    memcpy(n->data + xlen, y->data, y->len);
    n->len = len;
    n->data[len] = '\0';
    n->hash = 0;
    return v_obj(&n->h);
  }
  ObjString *n = str_alloc(h, len);
  memcpy(n->data, x->data, xlen);
  memcpy(n->data + xlen, y->data, y->len);
  v_release(h, a);
  return v_obj(&n->h);
}

/* The typed cases of + - * / % beyond the int fast path: int edge cases
 * (overflow, zero divisors), floats, durations, string and list joins.
 * Works on the two operands at s[0], s[1]; on success s[0] holds the result
 * (both operands released). On failure raises and leaves the stack as is. */
static bool arith_typed(VM *vm, Fiber *f, Opcode op, Value *s);
static bool arith_slow(VM *vm, Fiber *f, Opcode op, Value *s) {
  if (!arith_typed(vm, f, op, s)) {
    vm_raise_label(f, label_join(v_label(s[0]), v_label(s[1])));
    return false;
  }
  return true;
}

static bool arith_typed(VM *vm, Fiber *f, Opcode op, Value *s) {
  Value a = s[0], b = s[1];
  Heap *h = &vm->heap;
  Label l = label_join(v_label(a), v_label(b));
  int64_t r;
  if (a.tag == V_INT && b.tag == V_INT) {
    int64_t x = a.as.i, y = b.as.i;
    bool ovf = false;
    switch (op) {
    case OP_ADD: ovf = __builtin_add_overflow(x, y, &r); break;
    case OP_SUB: ovf = __builtin_sub_overflow(x, y, &r); break;
    case OP_MUL: ovf = __builtin_mul_overflow(x, y, &r); break;
    case OP_DIV:
      if (y == 0) goto divzero;
      if (x == INT64_MIN && y == -1) ovf = true; else r = x / y;
      break;
    case OP_MOD:
      if (y == 0) goto divzero;
      r = (y == -1) ? 0 : x % y;
      break;
    default: goto bad;
    }
    if (ovf) {
      vm_raise(vm, f, "integer overflow in %s", arith_sym(op));
      return false;
    }
    s[0] = v_int(r);
    s[0].label = l;
    return true;
  }
  if (a.tag == V_FLOAT && b.tag == V_FLOAT) {
    double x = a.as.f, y = b.as.f, z;
    switch (op) {
    case OP_ADD: z = x + y; break;
    case OP_SUB: z = x - y; break;
    case OP_MUL: z = x * y; break;
    case OP_DIV: z = x / y; break;
    case OP_MOD: z = fmod(x, y); break;
    default: goto bad;
    }
    s[0] = v_float(z);
    s[0].label = l;
    return true;
  }
  if (a.tag == V_DURATION && b.tag == V_DURATION && (op == OP_ADD || op == OP_SUB)) {
    bool ovf = op == OP_ADD ? __builtin_add_overflow(a.as.i, b.as.i, &r)
                            : __builtin_sub_overflow(a.as.i, b.as.i, &r);
    if (ovf) {
      vm_raise(vm, f, "duration overflow in %s", arith_sym(op));
      return false;
    }
    s[0] = v_duration(r);
    s[0].label = l;
    return true;
  }
  if (op == OP_MUL && ((a.tag == V_DURATION && b.tag == V_INT) || (a.tag == V_INT && b.tag == V_DURATION))) {
    if (__builtin_mul_overflow(a.as.i, b.as.i, &r)) {
      vm_raise(vm, f, "duration overflow in *");
      return false;
    }
    s[0] = v_duration(r);
    s[0].label = l;
    return true;
  }
  if (op == OP_DIV && a.tag == V_DURATION && b.tag == V_INT) {
    if (b.as.i == 0) goto divzero;
    s[0] = v_duration(b.as.i == -1 && a.as.i == INT64_MIN ? INT64_MAX : a.as.i / b.as.i);
    s[0].label = l;
    return true;
  }
  if (op == OP_ADD && v_is(a, OBJ_STRING) && v_is(b, OBJ_STRING)) {
    size_t more = AS_STRING(b)->len + (AS_STRING(a)->h.rc == 1 ? 0 : AS_STRING(a)->len);
    if (heap_would_exceed(h, more)) {
      vm_raise_kind(vm, f, "limit", "memory limit (%zu bytes) exceeded", vm->limits.max_memory);
      return false;
    }
    s[0] = v_with_label(h, str_join_take(h, a, b), l); /* unique: labelled in place */
    v_release(h, b);
    return true;
  }
  if (op == OP_ADD && v_is(a, OBJ_LIST) && v_is(b, OBJ_LIST)) {
    ObjList *x = AS_LIST(a), *y = AS_LIST(b);
    size_t more = (size_t)y->n + (x->h.rc == 1 ? 0 : x->n);
    if (heap_would_exceed(h, more * sizeof(Value)) || (uint64_t)x->n + y->n > UINT32_MAX) {
      vm_raise_kind(vm, f, "limit", "memory limit (%zu bytes) exceeded", vm->limits.max_memory);
      return false;
    }
    if (x->h.rc == 1) {
      Value l = a;
      for (uint32_t i = 0; i < y->n; i++) l = list_push_take(h, l, v_retain(y->items[i]));
      AS_LIST(l)->h.label = label_join(AS_LIST(l)->h.label, y->h.label);
      s[0] = l;
    } else {
      s[0] = list_concat(h, a, b);
      v_release(h, a);
    }
    v_release(h, b);
    return true;
  }
bad:
  vm_raise(vm, f, "cannot apply %s to %s and %s", arith_sym(op), v_type_name(a), v_type_name(b));
  return false;
divzero:
  vm_raise(vm, f, "division by zero");
  return false;
}

/* Bytes that `a + b` copies when both are strings or both lists (only
 * b when a is unique and grows in place), for fuel: without a charge a
 * loop over a huge concatenation would run for minutes on little fuel. */
static uint64_t concat_work(Value a, Value b) {
  if (v_is(a, OBJ_STRING) && v_is(b, OBJ_STRING))
    return AS_STRING(b)->len + (AS_STRING(a)->h.rc == 1 ? 0 : AS_STRING(a)->len);
  if (v_is(a, OBJ_LIST) && v_is(b, OBJ_LIST))
    return ((uint64_t)AS_LIST(b)->n + (AS_LIST(a)->h.rc == 1 ? 0 : AS_LIST(a)->n)) * sizeof(Value);
  return 0;
}

/* Ordering for LT..GE beyond int/int: floats (IEEE, so NaN compares
 * false), durations, strings (bytewise). *c receives -1/0/1, or 2 for an
 * unordered float pair. */
static bool compare_slow(VM *vm, Fiber *f, const Value *s, const char *sym, int *c) {
  Value a = s[0], b = s[1];
  if (a.tag == V_FLOAT && b.tag == V_FLOAT) {
    if (isnan(a.as.f) || isnan(b.as.f)) *c = 2;
    else *c = (a.as.f > b.as.f) - (a.as.f < b.as.f);
    return true;
  }
  if ((a.tag == V_DURATION && b.tag == V_DURATION) || (a.tag == V_INT && b.tag == V_INT)) {
    *c = (a.as.i > b.as.i) - (a.as.i < b.as.i);
    return true;
  }
  if (v_is(a, OBJ_STRING) && v_is(b, OBJ_STRING)) {
    ObjString *x = AS_STRING(a), *y = AS_STRING(b);
    size_t n = x->len < y->len ? x->len : y->len;
    int m = memcmp(x->data, y->data, n);
    if (m) *c = m < 0 ? -1 : 1;
    else *c = (x->len > y->len) - (x->len < y->len);
    return true;
  }
  vm_raise(vm, f, "cannot compare %s %s %s", v_type_name(a), sym, v_type_name(b));
  return false;
}

/* Truncated, quoted text of a key for error messages. */
static void put_key(Buf *b, const ObjString *k) {
  size_t n = k->len > 60 ? 60 : k->len;
  buf_json_string(b, k->data, n);
  if (n < k->len) buf_puts(b, "...");
}

/* c[i] for INDEX: list by int, map or record by string. Result is a new
 * reference in *out. */
static bool index_value(VM *vm, Fiber *f, Value c, Value i, Value *out) {
  if (v_is(c, OBJ_LIST)) {
    ObjList *l = AS_LIST(c);
    if (i.tag != V_INT) {
      vm_raise(vm, f, "list index must be int, got %s", v_type_name(i));
      return false;
    }
    if (i.as.i < 0 || (uint64_t)i.as.i >= l->n) {
      vm_raise(vm, f, "index %" PRId64 " out of range for list of length %" PRIu32, i.as.i, l->n);
      return false;
    }
    *out = v_retain(l->items[i.as.i]);
    return true;
  }
  if (v_is(c, OBJ_MAP) || v_is(c, OBJ_RECORD)) {
    if (!v_is(i, OBJ_STRING)) {
      vm_raise(vm, f, "%s key must be string, got %s", v_type_name(c), v_type_name(i));
      return false;
    }
    Value *p = v_is(c, OBJ_MAP) ? map_get(AS_MAP(c), AS_STRING(i)) : record_get(AS_RECORD(c), AS_STRING(i));
    if (!p) {
      vm->scratch.len = 0;
      put_key(&vm->scratch, AS_STRING(i));
      if (v_is(c, OBJ_MAP)) vm_raise(vm, f, "key %s not found in map", vm->scratch.data);
      else vm_raise(vm, f, "record has no field %s", vm->scratch.data);
      return false;
    }
    *out = v_retain(*p);
    return true;
  }
  vm_raise(vm, f, "cannot index a value of type %s", v_type_name(c));
  return false;
}

/* The value the FUNC instruction pushes for function fn: built once per VM
 * and shared, so calling a top-level function allocates nothing. */
static Value func_value(VM *vm, uint32_t fn) {
  if (!vm->fn_cache[fn]) vm->fn_cache[fn] = AS_FUNC(v_func(&vm->heap, fn, 0));
  vm->fn_cache[fn]->h.rc++;
  return v_obj(&vm->fn_cache[fn]->h);
}

void interp_run(VM *vm, Fiber *f, uint32_t slice) {
  Module *const mod = vm->mod;
  const FuncProto *const funcs = mod->funcs;
  const Value *const consts = mod->consts;
  Heap *const heap = &vm->heap;
  const uint64_t max_fuel = vm->limits.max_instructions;
  Frame *fr;
  const FuncProto *proto;
  const uint8_t *code, *ip;
  Value *stack, *slots, *sp;
  uint32_t budget = slice, granted = slice;
  uint8_t op;

#define LOAD_FRAME() do { \
    fr = &f->frames[f->nframes - 1]; proto = &funcs[fr->fn]; code = proto->code; \
    ip = code + fr->ip; slots = stack + fr->base; } while (0)
#define SAVE_STATE() do { fr->ip = (uint32_t)(ip - code); f->sp = (uint32_t)(sp - stack); } while (0)
#define FLUSH_FUEL() do { vm->fuel += granted - budget; granted = budget; } while (0)
  /* charges n bytes of copying (state saved first), like natives do */
#define CHARGE_BYTES(n) do { FLUSH_FUEL(); \
    if (!vm_charge(vm, f, (n) / VM_BYTES_PER_UNIT)) goto failed; \
    if (budget > max_fuel - vm->fuel) budget = granted = (uint32_t)(max_fuel - vm->fuel); } while (0)
  /* raise with the state saved so the trace sees every frame's position */
#define RT_ERROR(...) do { SAVE_STATE(); vm_raise(vm, f, __VA_ARGS__); goto failed; } while (0)
#define CHECK_MEM() do { if (UNLIKELY(heap->over_limit)) { SAVE_STATE(); goto mem_failed; } } while (0)
#define RELEASE(v) do { Value rel_ = (v); if (rel_.tag == V_OBJ && --rel_.as.o->rc == 0) v_release_obj(heap, rel_.as.o); } while (0)
#define PUSH(v) (*sp++ = (v))
#define U8(p) ((uint32_t)(p)[0])
#define U16(p) op_read_u16(p)
#define I32(p) op_read_i32(p)

#if WEFT_COMPUTED_GOTO
#define OP_LABEL(name, fmt, pop, push) &&L_##name,
  /* 256 entries so any byte dispatches without a range check */
  static const void *const labels[256] = { WEFT_OPCODES(OP_LABEL) [OP__COUNT ... 255] = &&bad_op };
#undef OP_LABEL
#define CASE(name) L_##name:
#define DISPATCH() do { \
    if (UNLIKELY(budget == 0)) goto slice_end; \
    budget--; op = *ip++; \
    goto *labels[op]; } while (0)
#define NEXT DISPATCH()
#define LOOP_BEGIN DISPATCH();
#define LOOP_END
#else
#define CASE(name) case OP_##name:
#define DISPATCH() goto next_insn
#define NEXT goto next_insn
#define LOOP_BEGIN next_insn: \
    if (UNLIKELY(budget == 0)) goto slice_end; \
    budget--; op = *ip++; \
    switch ((Opcode)op) {
#define LOOP_END default: goto bad_op; }
#endif

  if (UNLIKELY(f->nframes == 0)) { /* nothing left to run */
    f->state = FIBER_DONE;
    return;
  }
  stack = f->stack;
  sp = stack + f->sp;
  LOAD_FRAME();

  LOOP_BEGIN

  /* NOP: does nothing. */
  CASE(NOP) NEXT;

  /* CONST a: pushes constant a (int, float, duration or string). */
  CASE(CONST) {
    *sp = consts[U16(ip)];
    ip += 2;
    if (sp->tag == V_OBJ) sp->as.o->rc++;
    sp++;
    NEXT;
  }

  /* NONE, TRUE, FALSE: push the literal. */
  CASE(NONE) { PUSH(v_none()); NEXT; }
  CASE(TRUE) { PUSH(v_bool(true)); NEXT; }
  CASE(FALSE) { PUSH(v_bool(false)); NEXT; }

  /* POP: discards the top value. */
  CASE(POP) { sp--; RELEASE(*sp); NEXT; }

  /* DUP: pushes another reference to the top value. */
  CASE(DUP) { *sp = sp[-1]; if (sp->tag == V_OBJ) sp->as.o->rc++; sp++; NEXT; }

  /* GET_LOCAL a: pushes local a of the running frame (parameters first). */
  CASE(GET_LOCAL) {
    *sp = slots[U16(ip)];
    ip += 2;
    if (sp->tag == V_OBJ) sp->as.o->rc++;
    sp++;
    NEXT;
  }

  /* MOVE_LOCAL a: pushes local a and leaves none in its place. The
   * emitter uses it for `x = x + e` when e cannot see x, so the value's
   * reference count stays 1 and ADD can append in place: building a
   * string or list in a loop is then linear, not quadratic. */
  CASE(MOVE_LOCAL) {
    Value *l = &slots[U16(ip)];
    ip += 2;
    *sp++ = *l;
    *l = v_none();
    NEXT;
  }

  /* SET_LOCAL a: pops x into local a, releasing the old value. */
  CASE(SET_LOCAL) {
    Value *l = &slots[U16(ip)];
    Value old = *l;
    ip += 2;
    *l = *--sp;
    RELEASE(old);
    NEXT;
  }

  /* GET_CAPTURE a: pushes captured value a of the running closure. */
  CASE(GET_CAPTURE) {
    uint32_t a = U16(ip);
    ip += 2;
    if (UNLIKELY(!fr->closure || a >= fr->closure->ncap))
      RT_ERROR("capture %u out of range in %s", a, proto->name);
    PUSH(v_retain(fr->closure->caps[a]));
    NEXT;
  }

  /* FUNC a: pushes function a as a value with no captures (shared per VM). */
  CASE(FUNC) {
    uint32_t a = U16(ip);
    ip += 2;
    if (UNLIKELY(a >= mod->nfuncs)) RT_ERROR("function %u out of range", a);
    PUSH(func_value(vm, a));
    CHECK_MEM();
    NEXT;
  }

  /* CLOSURE a b: pops b values and pushes function a capturing them in
   * order (c1 is capture 0). */
  CASE(CLOSURE) {
    uint32_t a = U16(ip), b = U16(ip + 2);
    ip += 4;
    if (UNLIKELY(a >= mod->nfuncs)) RT_ERROR("function %u out of range", a);
    Value fv = v_func(heap, a, b);
    ObjFunc *fo = AS_FUNC(fv);
    sp -= b;
    memcpy(fo->caps, sp, (size_t)b * sizeof(Value));
    PUSH(fv);
    CHECK_MEM();
    NEXT;
  }

  /* ADD: a b -> a+b. Ints (overflow is an error), floats, duration+duration;
   * strings and lists concatenate (in place when the left one is unique). */
  CASE(ADD) {
    Value *a = sp - 2, *b = sp - 1;
    int64_t r;
    if (LIKELY(a->tag == V_INT && b->tag == V_INT) && LIKELY(!__builtin_add_overflow(a->as.i, b->as.i, &r))) {
      a->as.i = r;
      a->label = label_join(a->label, b->label);
      sp--;
      NEXT;
    }
    SAVE_STATE();
    uint64_t work = concat_work(a[0], a[1]);
    if (work) CHARGE_BYTES(work);
    if (!arith_slow(vm, f, OP_ADD, a)) goto failed;
    sp--;
    CHECK_MEM();
    NEXT;
  }

  /* SUB: a b -> a-b. Ints (overflow is an error), floats, durations. */
  CASE(SUB) {
    Value *a = sp - 2, *b = sp - 1;
    int64_t r;
    if (LIKELY(a->tag == V_INT && b->tag == V_INT) && LIKELY(!__builtin_sub_overflow(a->as.i, b->as.i, &r))) {
      a->as.i = r;
      a->label = label_join(a->label, b->label);
      sp--;
      NEXT;
    }
    SAVE_STATE();
    if (!arith_slow(vm, f, OP_SUB, a)) goto failed;
    sp--;
    NEXT;
  }

  /* MUL: a b -> a*b. Ints (overflow is an error), floats, duration*int. */
  CASE(MUL) {
    Value *a = sp - 2, *b = sp - 1;
    int64_t r;
    if (LIKELY(a->tag == V_INT && b->tag == V_INT) && LIKELY(!__builtin_mul_overflow(a->as.i, b->as.i, &r))) {
      a->as.i = r;
      a->label = label_join(a->label, b->label);
      sp--;
      NEXT;
    }
    SAVE_STATE();
    if (!arith_slow(vm, f, OP_MUL, a)) goto failed;
    sp--;
    NEXT;
  }

  /* DIV: a b -> a/b. Int division truncates toward zero; a zero divisor
   * and INT64_MIN / -1 are errors. Floats are IEEE; duration/int. */
  CASE(DIV) {
    Value *a = sp - 2, *b = sp - 1;
    if (LIKELY(a->tag == V_INT && b->tag == V_INT && b->as.i > 0)) {
      a->as.i /= b->as.i;
      a->label = label_join(a->label, b->label);
      sp--;
      NEXT;
    }
    SAVE_STATE();
    if (!arith_slow(vm, f, OP_DIV, a)) goto failed;
    sp--;
    NEXT;
  }

  /* MOD: a b -> a%b. Int remainder has the sign of the dividend (C);
   * a zero divisor is an error. Floats use fmod. */
  CASE(MOD) {
    Value *a = sp - 2, *b = sp - 1;
    if (LIKELY(a->tag == V_INT && b->tag == V_INT && b->as.i > 0)) {
      a->as.i %= b->as.i;
      a->label = label_join(a->label, b->label);
      sp--;
      NEXT;
    }
    SAVE_STATE();
    if (!arith_slow(vm, f, OP_MOD, a)) goto failed;
    sp--;
    NEXT;
  }

  /* NEG: a -> -a for int (negating INT64_MIN overflows), float, duration. */
  CASE(NEG) {
    Value *a = sp - 1;
    if (a->tag == V_INT || a->tag == V_DURATION) {
      if (UNLIKELY(a->as.i == INT64_MIN)) RT_ERROR("integer overflow in unary -");
      a->as.i = -a->as.i;
    } else if (a->tag == V_FLOAT) {
      a->as.f = -a->as.f;
    } else {
      RT_ERROR("cannot negate a value of type %s", v_type_name(*a));
    }
    NEXT;
  }

  /* NOT: b -> !b on a bool. */
  CASE(NOT) {
    Value *a = sp - 1;
    if (UNLIKELY(a->tag != V_BOOL)) RT_ERROR("'not' needs a bool, got %s", v_type_name(*a));
    a->as.b = !a->as.b;
    NEXT;
  }

  /* Structural comparison of *a and *b into bool r: one instruction per
   * compared node (charged after the fact, refused up front when the
   * remaining fuel cannot cover it: equal DAGs with shared parts must not
   * take exponential time), and an error past VALUE_MAX_DEPTH rather than
   * a silent "not equal". */
#define EQUAL_SLOW(r) do { \
    SAVE_STATE(); FLUSH_FUEL(); \
    uint64_t work_ = 0; \
    int eq_ = v_equal_bounded(*a, *b, vm->fuel < max_fuel ? max_fuel - vm->fuel : 0, &work_); \
    if (UNLIKELY(eq_ == EQ_DEEP)) RT_ERROR("cannot compare values nested deeper than %d levels", VALUE_MAX_DEPTH); \
    if (work_ > 1) CHARGE_BYTES(work_ * VM_BYTES_PER_UNIT); \
    if (UNLIKELY(eq_ == EQ_COSTLY)) CHARGE_BYTES((uint64_t)max_fuel * VM_BYTES_PER_UNIT); \
    r = eq_ == EQ_YES; } while (0)

  /* EQ, NE: a b -> bool; structural equality (records by field name). */
  CASE(EQ) {
    Value *a = sp - 2, *b = sp - 1;
    bool r;
    Label l;
    if (LIKELY(a->tag == V_INT && b->tag == V_INT)) {
      r = a->as.i == b->as.i;
      l = label_join(a->label, b->label);
    } else {
      l = label_join(v_label(*a), v_label(*b));
      EQUAL_SLOW(r);
      RELEASE(*a);
      RELEASE(*b);
    }
    sp--;
    sp[-1] = v_bool(r);
    sp[-1].label = l;
    NEXT;
  }
  CASE(NE) {
    Value *a = sp - 2, *b = sp - 1;
    bool r;
    Label l;
    if (LIKELY(a->tag == V_INT && b->tag == V_INT)) {
      r = a->as.i != b->as.i;
      l = label_join(a->label, b->label);
    } else {
      l = label_join(v_label(*a), v_label(*b));
      EQUAL_SLOW(r);
      r = !r;
      RELEASE(*a);
      RELEASE(*b);
    }
    sp--;
    sp[-1] = v_bool(r);
    sp[-1].label = l;
    NEXT;
  }

  /* LT, LE, GT, GE: a b -> bool on int/int, float/float (IEEE: NaN
   * compares false), duration/duration, string/string (bytewise). */
#define COMPARE_OP(OPER, SYM) { \
    Value *a = sp - 2, *b = sp - 1; \
    bool r; \
    Label l; \
    if (LIKELY(a->tag == V_INT && b->tag == V_INT)) { \
      r = a->as.i OPER b->as.i; \
      l = label_join(a->label, b->label); \
    } else { \
      int c; \
      l = label_join(v_label(*a), v_label(*b)); \
      SAVE_STATE(); \
      if (!compare_slow(vm, f, a, SYM, &c)) goto failed; \
      r = c != 2 && c OPER 0; \
      RELEASE(*a); \
      RELEASE(*b); \
    } \
    sp--; \
    sp[-1] = v_bool(r); \
    sp[-1].label = l; \
    NEXT; }
  CASE(LT) COMPARE_OP(<, "<")
  CASE(LE) COMPARE_OP(<=, "<=")
  CASE(GT) COMPARE_OP(>, ">")
  CASE(GE) COMPARE_OP(>=, ">=")
#undef COMPARE_OP

  /* JUMP off: ip += off (relative to the next instruction). */
  CASE(JUMP) {
    int32_t off = I32(ip);
    ip += 4 + off;
    NEXT;
  }

  /* JUMP_IF_FALSE off: pops a bool; jumps when it is false. */
  CASE(JUMP_IF_FALSE) {
    int32_t off = I32(ip);
    Value *c = sp - 1;
    if (UNLIKELY(c->tag != V_BOOL)) { ip += 4; RT_ERROR("condition must be bool, got %s", v_type_name(*c)); }
    sp--;
    ip += 4;
    if (!c->as.b) ip += off;
    NEXT;
  }

  /* JUMP_IF_TRUE off: pops a bool; jumps when it is true. */
  CASE(JUMP_IF_TRUE) {
    int32_t off = I32(ip);
    Value *c = sp - 1;
    if (UNLIKELY(c->tag != V_BOOL)) { ip += 4; RT_ERROR("condition must be bool, got %s", v_type_name(*c)); }
    sp--;
    ip += 4;
    if (c->as.b) ip += off;
    NEXT;
  }

  /* CALL a: f x1..xa -> r. f must be a function value taking exactly a
   * arguments. Pushes a frame whose local 0 is x1; locals past the
   * parameters start as none. The callee slot stays below the frame's base
   * (Frame.closure borrows it) until RETURN. */
  CASE(CALL) {
    uint32_t argc = U8(ip);
    ip += 1;
    Value *fv = sp - argc - 1;
    if (UNLIKELY(!v_is(*fv, OBJ_FUNC))) RT_ERROR("cannot call a value of type %s", v_type_name(*fv));
    ObjFunc *callee = AS_FUNC(*fv);
    if (UNLIKELY(callee->fn >= mod->nfuncs)) RT_ERROR("function %u out of range", callee->fn);
    const FuncProto *np = &funcs[callee->fn];
    if (UNLIKELY(np->arity != argc || np->nlocals < argc))
      RT_ERROR("%s expects %u argument%s, got %u", np->name, np->arity, np->arity == 1 ? "" : "s", argc);
    if (UNLIKELY(f->nframes >= vm->limits.max_call_depth)) {
      SAVE_STATE();
      vm_raise_kind(vm, f, "limit", "call depth limit (%u) exceeded", vm->limits.max_call_depth);
      goto failed;
    }
    uint32_t base = (uint32_t)(fv - stack) + 1;
    size_t need = (size_t)base + np->nlocals + np->max_stack;
    SAVE_STATE();
    if (UNLIKELY(need > f->stack_cap)) {
      fiber_grow_stack(vm, f, need);
      stack = f->stack;
      sp = stack + f->sp;
    }
    if (UNLIKELY(f->nframes == f->frames_cap)) fiber_grow_frames(vm, f);
    for (uint32_t i = argc; i < np->nlocals; i++) PUSH(v_none());
    fr = &f->frames[f->nframes++];
    fr->fn = callee->fn;
    fr->ip = 0;
    fr->base = base;
    fr->closure = callee;
    proto = np;
    code = ip = np->code;
    slots = stack + base;
    CHECK_MEM();
    NEXT;
  }

  /* CALL_NATIVE a b: x1..xb -> r. Calls Module.natives[a] with the b
   * arguments borrowed from the stack, then releases them. NATIVE_ERROR
   * fails the fiber; NATIVE_PARK leaves it parked, and the value it is
   * woken with becomes r. Fuel is settled before the call so natives can
   * charge their own work (vm_charge). */
  CASE(CALL_NATIVE) {
    uint32_t a = U16(ip), argc = U8(ip + 2);
    ip += 3;
    const Native *nat = a < mod->nnatives ? mod->natives[a] : NULL;
    if (UNLIKELY(!nat || !nat->fn)) RT_ERROR("native %u is not resolved", a);
    if (UNLIKELY(nat->arity != argc)) RT_ERROR("%s expects %u arguments, got %u", nat->name, nat->arity, argc);
    Value *args = sp - argc;
    Value out = v_none();
    SAVE_STATE();
    FLUSH_FUEL();
    NativeStatus st = nat->fn(vm, f, args, (int)argc, &out);
    /* the labels of the arguments (docs/security.md, "Untrusted content:
     * propagation"): one pass over them, the policy is the native's */
    Label lab = LABEL_NONE;
    for (uint32_t i = 0; i < argc; i++) lab = label_join(lab, v_label(args[i]));
    if (UNLIKELY(st == NATIVE_ERROR || f->state == FIBER_FAILED)) {
      if (st == NATIVE_OK) RELEASE(out);
      if (f->state != FIBER_FAILED) vm_raise(vm, f, "%s failed", nat->name);
      vm_raise_label(f, lab); /* its message may quote them */
      budget = granted = 0;
      return;
    }
    if (UNLIKELY(lab) && st == NATIVE_OK) out = vm_native_labels(vm, nat, args, argc, lab, out);
    for (uint32_t i = 0; i < argc; i++) RELEASE(args[i]);
    sp = args;
    if (st == NATIVE_PARK) {
      f->sp = (uint32_t)(sp - stack);
      return;
    }
    PUSH(out);
    if (vm->fuel >= max_fuel) budget = granted = 0;
    else if (budget > max_fuel - vm->fuel) budget = granted = (uint32_t)(max_fuel - vm->fuel);
    CHECK_MEM();
    NEXT;
  }

  /* TRY off: a `try` begins. Until the matching TRY_END, an error the
   * fiber may catch (fiber_catch) unwinds to this frame and stack depth
   * and resumes at ip + off with the failure value pushed. */
  CASE(TRY) {
    int32_t off = I32(ip);
    ip += 4;
    if (UNLIKELY(f->ntries == f->tries_cap)) {
      uint32_t ncap = f->tries_cap ? f->tries_cap * 2 : 4;
      f->tries = heap_realloc(heap, f->tries, (size_t)f->tries_cap * sizeof *f->tries, (size_t)ncap * sizeof *f->tries);
      f->tries_cap = ncap;
    }
    TryFrame *t = &f->tries[f->ntries++];
    t->nframes = f->nframes;
    t->sp = (uint32_t)(sp - stack);
    t->ip = (uint32_t)(ip - code) + (uint32_t)off;
    CHECK_MEM();
    NEXT;
  }

  /* TRY_END: the innermost `try` is over (its operand finished, or a
   * break or continue leaves it). */
  CASE(TRY_END) {
    if (UNLIKELY(f->ntries == 0 || f->tries[f->ntries - 1].nframes != f->nframes)) RT_ERROR("TRY_END without a TRY");
    f->ntries--;
    NEXT;
  }

  /* RETURN: r -> ; pops the frame (releasing the callee slot, locals and
   * temporaries) and pushes r in the callee's slot. Returning from the
   * fiber's first frame finishes the fiber with r as its result. */
  CASE(RETURN) {
    Value *rp = --sp;
    /* a `return` inside a `try` ends it */
    while (f->ntries && f->tries[f->ntries - 1].nframes >= f->nframes) f->ntries--;
    Value *bottom = slots - 1;
    while (sp > bottom) {
      --sp;
      RELEASE(*sp);
    }
    if (--f->nframes == 0) {
      f->result = *rp;
      f->state = FIBER_DONE;
      f->sp = 0;
      FLUSH_FUEL();
      return;
    }
    *sp++ = *rp; /* memory to memory: no partial-store stalls */
    LOAD_FRAME();
    NEXT;
  }

  /* LIST a: x1..xa -> [x1..xa] (the values move into the list). */
  CASE(LIST) {
    uint32_t n = U16(ip);
    ip += 2;
    Value l = v_list(heap, n);
    sp -= n;
    if (n) memcpy(AS_LIST(l)->items, sp, (size_t)n * sizeof(Value));
    AS_LIST(l)->n = n;
    Label lab = LABEL_NONE;
    for (uint32_t i = 0; i < n; i++) lab = label_join(lab, v_label(sp[i]));
    AS_LIST(l)->h.label = lab;
    PUSH(l);
    CHECK_MEM();
    NEXT;
  }

  /* MAP a: k1 v1 .. ka va -> map in that key order; keys must be strings;
   * a repeated key keeps its first position and its last value. */
  CASE(MAP) {
    uint32_t n = U16(ip);
    ip += 2;
    Value *kv = sp - 2 * (size_t)n;
    for (uint32_t i = 0; i < n; i++)
      if (UNLIKELY(!v_is(kv[2 * i], OBJ_STRING))) RT_ERROR("map key must be string, got %s", v_type_name(kv[2 * i]));
    Value m = v_map(heap, n);
    for (uint32_t i = 0; i < n; i++) {
      m = map_set_take(heap, m, AS_STRING(kv[2 * i]), kv[2 * i + 1]);
      RELEASE(kv[2 * i]);
    }
    sp = kv;
    PUSH(m);
    CHECK_MEM();
    NEXT;
  }

  /* RECORD a: v1..vn -> record; constant a is the shape (n field names). */
  CASE(RECORD) {
    uint32_t a = U16(ip);
    ip += 2;
    Value sv = consts[a];
    if (UNLIKELY(!v_is(sv, OBJ_SHAPE))) RT_ERROR("constant %u is not a record shape", a);
    ObjShape *shape = AS_SHAPE(sv);
    if (UNLIKELY((size_t)(sp - (slots + proto->nlocals)) < shape->n)) RT_ERROR("stack underflow in RECORD");
    Value r = v_record(heap, shape);
    sp -= shape->n;
    memcpy(AS_RECORD(r)->vals, sp, (size_t)shape->n * sizeof(Value));
    Label lab = LABEL_NONE;
    for (uint32_t i = 0; i < shape->n; i++) lab = label_join(lab, v_label(sp[i]));
    AS_RECORD(r)->h.label = lab;
    PUSH(r);
    CHECK_MEM();
    NEXT;
  }

  /* GET_FIELD a: r -> r.name, constant a being the name. Records by field;
   * maps (json objects) by key. A missing field is an error. */
  CASE(GET_FIELD) {
    uint32_t a = U16(ip);
    ip += 2;
    Value name = consts[a];
    Value *r = sp - 1;
    if (UNLIKELY(!v_is(name, OBJ_STRING))) RT_ERROR("constant %u is not a field name", a);
    Value *p;
    if (LIKELY(v_is(*r, OBJ_RECORD))) p = record_get(AS_RECORD(*r), AS_STRING(name));
    else if (v_is(*r, OBJ_MAP)) p = map_get(AS_MAP(*r), AS_STRING(name));
    else RT_ERROR("cannot read field %s of a value of type %s", AS_STRING(name)->data, v_type_name(*r));
    if (UNLIKELY(!p)) RT_ERROR("%s has no field \"%s\"", v_type_name(*r), AS_STRING(name)->data);
    Value v = v_retain(*p);
    RELEASE(*r);
    *r = v;
    NEXT;
  }

  /* WITH a: r v -> r' where r' is r with field (constant a) set to v. The
   * record is updated in place when this is its only reference. */
  CASE(WITH) {
    uint32_t a = U16(ip);
    ip += 2;
    Value name = consts[a];
    Value *r = sp - 2;
    if (UNLIKELY(!v_is(name, OBJ_STRING))) RT_ERROR("constant %u is not a field name", a);
    if (UNLIKELY(!v_is(*r, OBJ_RECORD))) RT_ERROR("'with' needs a record, got %s", v_type_name(*r));
    ObjRecord *rec = AS_RECORD(*r);
    int idx = shape_find(rec->shape, AS_STRING(name)->data, AS_STRING(name)->len);
    if (UNLIKELY(idx < 0)) RT_ERROR("record has no field \"%s\"", AS_STRING(name)->data);
    if (rec->h.rc != 1) {
      Value c = v_record(heap, rec->shape);
      for (uint32_t i = 0; i < rec->shape->n; i++) AS_RECORD(c)->vals[i] = v_retain(rec->vals[i]);
      RELEASE(*r);
      *r = c;
      rec = AS_RECORD(c);
    }
    RELEASE(rec->vals[idx]);
    rec->vals[idx] = sp[-1];
    /* the join of what it is built from now (the replaced field may have
     * been the labelled one) */
    Label lab = LABEL_NONE;
    for (uint32_t i = 0; i < rec->shape->n; i++) lab = label_join(lab, v_label(rec->vals[i]));
    rec->h.label = lab;
    sp--;
    CHECK_MEM();
    NEXT;
  }

  /* INDEX: c i -> c[i]. A list by int (negative or past the end is an
   * error), a map by string key (missing is an error), a record by field
   * name (json access). */
  CASE(INDEX) {
    Value out;
    SAVE_STATE();
    if (!index_value(vm, f, sp[-2], sp[-1], &out)) {
      vm_raise_label(f, v_label(sp[-1])); /* the message quotes the key */
      goto failed;
    }
    /* the element keeps its own label; a labelled index or key chose it */
    if (UNLIKELY(v_label(sp[-1]))) out = v_with_label(heap, out, v_label(sp[-1]));
    RELEASE(sp[-2]);
    RELEASE(sp[-1]);
    sp--;
    sp[-1] = out;
    CHECK_MEM();
    NEXT;
  }

  /* IS_NONE: x -> x == none. */
  CASE(IS_NONE) {
    Value v = sp[-1];
    Label l = v_label(v);
    RELEASE(v);
    sp[-1] = v_bool(v.tag == V_NONE);
    sp[-1].label = l;
    NEXT;
  }

  /* ITER a b off: the for-loop step. Local a holds the list, local b the
   * next index (an int). If l[b] < len(l[a]): pushes l[a][l[b]] and
   * increments l[b]; else jumps by off, pushing nothing. */
  CASE(ITER) {
    uint32_t a = U16(ip), b = U16(ip + 2);
    int32_t off = I32(ip + 4);
    ip += 8;
    Value *lv = &slots[a], *iv = &slots[b];
    if (UNLIKELY(!v_is(*lv, OBJ_LIST) || iv->tag != V_INT))
      RT_ERROR("for loop over %s with %s index", v_type_name(*lv), v_type_name(*iv));
    ObjList *l = AS_LIST(*lv);
    int64_t i = iv->as.i;
    if (i >= 0 && (uint64_t)i < l->n) {
      PUSH(v_retain(l->items[i]));
      iv->as.i = i + 1;
    } else {
      ip += off;
    }
    NEXT;
  }

  /* TOSTR: x -> display text of x (strings as they are, other values as
   * compact JSON; NaN and infinity are errors). */
  CASE(TOSTR) {
    Value v = sp[-1];
    if (v_is(v, OBJ_STRING)) NEXT;
    vm->scratch.len = 0;
    SAVE_STATE();
    FLUSH_FUEL();
    if (!vm_render(vm, f, v, true, &vm->scratch)) { budget = granted = 0; goto failed; }
    if (vm->fuel >= max_fuel) budget = granted = 0;
    else if (budget > max_fuel - vm->fuel) budget = granted = (uint32_t)(max_fuel - vm->fuel);
    Value s = v_string(heap, vm->scratch.data, vm->scratch.len);
    AS_STRING(s)->h.label = v_label(v);
    /* a large text would stay behind in the scratch buffer, outside the heap */
    if (vm->scratch.cap > 65536) buf_free(&vm->scratch);
    RELEASE(v);
    sp[-1] = s;
    CHECK_MEM();
    NEXT;
  }

  /* CONCAT a: s1..sa -> one string joining them in order. */
  CASE(CONCAT) {
    uint32_t n = U16(ip);
    ip += 2;
    Value *parts = sp - n;
    size_t len = 0;
    for (uint32_t i = 0; i < n; i++) {
      if (UNLIKELY(!v_is(parts[i], OBJ_STRING))) RT_ERROR("cannot join a value of type %s", v_type_name(parts[i]));
      len += AS_STRING(parts[i])->len;
    }
    SAVE_STATE();
    CHARGE_BYTES(len);
    if (UNLIKELY(heap_would_exceed(heap, len))) {
      SAVE_STATE();
      vm_raise_kind(vm, f, "limit", "memory limit (%zu bytes) exceeded", vm->limits.max_memory);
      goto failed;
    }
    ObjString *s = str_alloc(heap, len);
    size_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
      ObjString *p = AS_STRING(parts[i]);
      memcpy(s->data + at, p->data, p->len);
      at += p->len;
      s->h.label = label_join(s->h.label, p->h.label);
      RELEASE(parts[i]);
    }
    sp = parts;
    PUSH(v_obj(&s->h));
    CHECK_MEM();
    NEXT;
  }

  /* FROM_JSON a: j -> v, j checked against (and converted to) type
   * descriptor a; a mismatch is an error with a path-qualified message. */
  CASE(FROM_JSON) {
    uint32_t a = U16(ip);
    ip += 2;
    Value out;
    if (UNLIKELY(a >= mod->ntypes)) RT_ERROR("type descriptor %u out of range", a);
    SAVE_STATE();
    char *why = NULL;
    if (!v_convert(heap, mod, a, sp[-1], &out, &why)) {
      vm_raise(vm, f, "%s", why && *why ? why : "conversion failed");
      vm_raise_label(f, v_label(sp[-1])); /* the message quotes the input */
      free(why);
      goto failed;
    }
    RELEASE(sp[-1]);
    sp[-1] = out;
    CHECK_MEM();
    NEXT;
  }

  /* FAIL: msg -> ; raises a workflow error with message msg. */
  CASE(FAIL) {
    Value m = sp[-1];
    SAVE_STATE();
    if (v_is(m, OBJ_STRING)) {
      vm_raise(vm, f, "%s", AS_STRING(m)->data);
    } else {
      vm->scratch.len = 0;
      if (!v_to_display(&vm->scratch, m, NULL)) vm_raise(vm, f, "workflow error");
      else vm_raise(vm, f, "%s", vm->scratch.data);
    }
    vm_raise_label(f, v_label(m));
    goto failed;
  }

  /* ASK a b: a model call by role a with the prompt on top of the stack;
   * the reply is text (b == ASK_TEXT) or a value of type descriptor b.
   * The host takes over through the effects table: see vm/effects.h. */
  CASE(ASK) {
    uint32_t a = U16(ip), b = U16(ip + 2);
    ip += 4;
    if (UNLIKELY(!vm->effects || !vm->effects->submit)) RT_ERROR("model calls need an engine (internal)");
    if (UNLIKELY(!v_is(sp[-1], OBJ_STRING))) RT_ERROR("ask: the prompt must be a string, got %s", v_type_name(sp[-1]));
    SAVE_STATE();
    FLUSH_FUEL();
    if (!submit_ask(vm, f, a, b, NULL)) {
      budget = granted = 0;
      goto failed;
    }
    return;
  }

  /* STEP a b: prompt turns -> reply ; one model step of role a's
   * tool-calling loop (the lowering of an ask of a role with tools,
   * compiler/desugar.c): the conversation so far and the role's tools go
   * to the model, the reply (tool calls, or the final answer checked
   * against descriptor b) comes back as JSON text. The host takes over as
   * for ASK. */
  CASE(STEP) {
    uint32_t a = U16(ip), b = U16(ip + 2);
    ip += 4;
    if (UNLIKELY(!vm->effects || !vm->effects->submit)) RT_ERROR("model calls need an engine (internal)");
    if (UNLIKELY(!v_is(sp[-1], OBJ_STRING) || !v_is(sp[-2], OBJ_STRING)))
      RT_ERROR("step: the prompt and the conversation must be strings, got %s and %s", v_type_name(sp[-2]),
               v_type_name(sp[-1]));
    SAVE_STATE();
    FLUSH_FUEL();
    if (!submit_ask(vm, f, a, b, ASK_STEP)) {
      budget = granted = 0;
      goto failed;
    }
    return;
  }

  /* GENERATE a b c: prompt -> f ; role a writes a program whose main
   * takes the parameters of TD_RECORD descriptor b (field i is parameter
   * i) and returns descriptor c (GEN_NO_RESULT: nothing). The host
   * compiles and links it and wakes the fiber with that main as a
   * function value (vm_link_function); see vm/effects.h. */
  CASE(GENERATE) {
    uint32_t a = U16(ip), b = U16(ip + 2), c = U16(ip + 4);
    ip += 6;
    if (UNLIKELY(!vm->effects || !vm->effects->submit)) RT_ERROR("generate needs an engine (internal)");
    if (UNLIKELY(!v_is(sp[-1], OBJ_STRING)))
      RT_ERROR("generate: the prompt must be a string, got %s", v_type_name(sp[-1]));
    SAVE_STATE();
    FLUSH_FUEL();
    if (!submit_generate(vm, f, a, b, c)) {
      budget = granted = 0;
      goto failed;
    }
    return;
  }

  /* ROLE a: -> r ; role a as a value (ObjRole: its index and name). */
  CASE(ROLE) {
    uint32_t a = U16(ip);
    ip += 2;
    if (UNLIKELY(a >= mod->nroles)) RT_ERROR("role %u out of range", a);
    PUSH(v_role(heap, a, mod->roles[a].name ? mod->roles[a].name : "?"));
    CHECK_MEM();
    NEXT;
  }

  /* ASK_ROLE a b: r [t p m s] prompt -> reply ; ASK by a role value, the
   * reply typed by descriptor a (ASK_TEXT: text). With b = 1 the four
   * per-call settings sit between the role and the prompt (none when not
   * given); they are checked here, as the checker checks constants, and
   * override the role's for this call only. The role, the settings and
   * the prompt are all taken off the stack before the host sees the call,
   * so a reply given at once lands where the role was. */
  CASE(ASK_ROLE) {
    uint32_t a = U16(ip), b = U8(ip + 2);
    ip += 3;
    uint32_t extra = 1 + (b ? ASK_SETTINGS : 0);
    Value *base = sp - 1 - extra;
    if (UNLIKELY(!vm->effects || !vm->effects->submit)) RT_ERROR("model calls need an engine (internal)");
    if (UNLIKELY(!v_is(sp[-1], OBJ_STRING))) RT_ERROR("ask: the prompt must be a string, got %s", v_type_name(sp[-1]));
    if (UNLIKELY(!v_is(base[0], OBJ_ROLE) || AS_ROLE(base[0])->index >= mod->nroles))
      RT_ERROR("ask needs a role, got %s", v_type_name(base[0]));
    AskWith w;
    char why[160];
    if (b && ask_with(base + 1, &w, why, sizeof why)) RT_ERROR("%s", why);
    uint32_t role = AS_ROLE(base[0])->index;
    /* the prompt moves down to where the role was; the role and the
     * settings stay alive (held here) until the host has copied them */
    Value held[1 + ASK_SETTINGS];
    for (uint32_t i = 0; i < extra; i++) held[i] = base[i];
    base[0] = sp[-1];
    sp = base + 1;
    SAVE_STATE();
    FLUSH_FUEL();
    bool ok = submit_ask(vm, f, role, a, b ? &w : NULL);
    for (uint32_t i = 0; i < extra; i++) v_release(heap, held[i]);
    if (!ok) {
      budget = granted = 0;
      goto failed;
    }
    return;
  }

  /* The protocol of the structured-concurrency instructions, written once:
   * `fn(vm, f, a, args, &out)` borrows the top n values, which are then
   * released; NATIVE_ERROR fails the fiber, NATIVE_PARK leaves the slice
   * (the value the fiber is woken with becomes the result), NATIVE_OK
   * pushes out and continues with the fuel budget re-read. */
#define RUNTIME_OP(fn, a, n) do { \
    Value *args_ = sp - (n); \
    Value out_ = v_none(); \
    SAVE_STATE(); \
    FLUSH_FUEL(); \
    NativeStatus st_ = fn(vm, f, (a), args_, &out_); \
    if (st_ == NATIVE_ERROR) { budget = granted = 0; goto failed; } \
    for (uint32_t i_ = 0; i_ < (n); i_++) RELEASE(args_[i_]); \
    sp = args_; \
    if (st_ == NATIVE_PARK) { f->sp = (uint32_t)(sp - stack); return; } \
    PUSH(out_); \
    if (vm->fuel >= max_fuel) budget = granted = 0; \
    else if (budget > max_fuel - vm->fuel) budget = granted = (uint32_t)(max_fuel - vm->fuel); \
    CHECK_MEM(); \
    NEXT; \
  } while (0)

  /* FANOUT a: xs f n -> t. Starts one branch fiber per element (a=0:
   * f(x) for each x of list xs) or per field (a=1: xs is a record of
   * 0-arg functions, f is none); n is an int limit on branches running at
   * once, or none. Pushes the tasks object that owns the branches. The
   * branches run when this fiber yields; see vm/tasks.c. */
  CASE(FANOUT) {
    uint32_t a = U8(ip);
    ip += 1;
    RUNTIME_OP(tasks_fanout, a, 3);
  }

  /* BARRIER a: t tol k d -> r. Joins tasks t (once); a holds BARRIER_*
   * bits saying which of tol, k, d are given (absent ones are none). The
   * fiber parks until the barrier's condition is decided, then resumes
   * with the results (input order) or fails with the barrier's error;
   * when it is decided at once, r is pushed without parking. */
  CASE(BARRIER) {
    uint32_t a = U8(ip);
    ip += 1;
    RUNTIME_OP(tasks_barrier, a, 4);
  }

  /* BUDGET a: f e c t u d -> r. Runs f() in its own fiber under a new
   * budget (a: BUDGET_* bits saying which of the limits c calls, t tokens,
   * u usd, d time are given; absent ones are none) whose parent is this
   * fiber's budget, and parks until it ends. r is f's result; when the
   * block's own budget is exhausted inside, the body is cancelled and r is
   * e()'s result (e runs under this fiber's budget), or, with e none, the
   * fiber fails with kind "budget". Other failures pass through. */
  CASE(BUDGET) {
    uint32_t a = U8(ip);
    ip += 1;
    RUNTIME_OP(tasks_budget, a, 6);
  }

  LOOP_END

bad_op:
  ip--;
  RT_ERROR("invalid opcode %u", (unsigned)op);

slice_end:
  SAVE_STATE();
  FLUSH_FUEL();
  if (vm->fuel >= max_fuel)
    vm_raise_kind(vm, f, "limit", "instruction limit (%" PRIu64 ") exceeded", max_fuel);
  return;

mem_failed:
  heap->over_limit = false;
  vm_raise_kind(vm, f, "limit", "memory limit (%zu bytes) exceeded", vm->limits.max_memory);
  /* fall through */
failed:
  FLUSH_FUEL();
  return;

#undef LOAD_FRAME
#undef SAVE_STATE
#undef FLUSH_FUEL
#undef CHARGE_BYTES
#undef EQUAL_SLOW
#undef RUNTIME_OP
#undef RT_ERROR
#undef CHECK_MEM
#undef RELEASE
#undef PUSH
#undef U8
#undef U16
#undef I32
#undef CASE
#undef DISPATCH
#undef NEXT
#undef LOOP_BEGIN
#undef LOOP_END
}
