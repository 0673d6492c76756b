/* builtins.c — the native table, lookup by key, shared argument and
 * metering helpers, and the effect natives (print, log, fail, sleep).
 *
 * The natives themselves live by area in strings.c, lists.c, maps.c,
 * jsonlib.c and math.c; natives.def is the one list they are registered in. */
#include <stdio.h>
#include <string.h>
#include "std_internal.h"
#include "../base/term.h"
#include "../vm/trace.h"
#include "../vm/vm_impl.h"

#include "labels.def"

const Native std_natives[] = {
#define NATIVE(name, key, sig, fn, arity, doc) { name, key, sig, fn, arity, doc, false, LABELS_##fn },
#define NATIVE_INTERNAL(name, key, sig, fn, arity, doc) { name, key, sig, fn, arity, doc, true, LABELS_##fn },
#include "natives.def"
#undef NATIVE
#undef NATIVE_INTERNAL
};
const uint32_t std_nnatives = sizeof std_natives / sizeof std_natives[0];

const NativeTable *std_native_table(void) {
  static const NativeTable table = {std_natives, sizeof std_natives / sizeof std_natives[0]};
  return &table;
}

const Native *std_native_by_key(const char *key) {
  return native_find(std_native_table(), key);
}

/* ---- metering ---------------------------------------------------------- */

bool std_charge(VM *vm, Fiber *f, uint64_t elems, uint64_t bytes) {
  uint64_t units = bytes / STD_BYTES_PER_UNIT;
  if (elems > UINT64_MAX - units) units = UINT64_MAX;
  else units += elems;
  return vm_charge(vm, f, units ? units : 1);
}

bool std_check_list(VM *vm, Fiber *f, uint64_t n, uint64_t bytes) {
  uint64_t total;
  if (n > UINT32_MAX) return vm_too_large(vm, f, "list too long");
  if (__builtin_mul_overflow(n, (uint64_t)sizeof(Value), &total) ||
      __builtin_add_overflow(total, bytes, &total) || total > SIZE_MAX)
    return vm_too_large(vm, f, "result too large");
  return vm_check_alloc(vm, f, (size_t)total);
}

/* ---- argument checks --------------------------------------------------- */

static bool bad_arg(VM *vm, Fiber *f, const char *fn, int i, const char *want, Value got) {
  vm_raise(vm, f, "%s: argument %d must be %s, got %s", fn, i + 1, want, v_type_name(got));
  return false;
}

bool std_arg_string(VM *vm, Fiber *f, const Value *args, int i, const char *fn, ObjString **out) {
  if (!v_is(args[i], OBJ_STRING)) return bad_arg(vm, f, fn, i, "a string", args[i]);
  *out = AS_STRING(args[i]);
  return true;
}

bool std_arg_list(VM *vm, Fiber *f, const Value *args, int i, const char *fn, ObjList **out) {
  if (!v_is(args[i], OBJ_LIST)) return bad_arg(vm, f, fn, i, "a list", args[i]);
  *out = AS_LIST(args[i]);
  return true;
}

bool std_arg_map(VM *vm, Fiber *f, const Value *args, int i, const char *fn, ObjMap **out) {
  if (!v_is(args[i], OBJ_MAP)) return bad_arg(vm, f, fn, i, "a map", args[i]);
  *out = AS_MAP(args[i]);
  return true;
}

bool std_arg_int(VM *vm, Fiber *f, const Value *args, int i, const char *fn, int64_t *out) {
  if (args[i].tag != V_INT) return bad_arg(vm, f, fn, i, "an int", args[i]);
  *out = args[i].as.i;
  return true;
}

bool std_arg_float(VM *vm, Fiber *f, const Value *args, int i, const char *fn, double *out) {
  if (args[i].tag != V_FLOAT) return bad_arg(vm, f, fn, i, "a float", args[i]);
  *out = args[i].as.f;
  return true;
}

bool std_arg_duration(VM *vm, Fiber *f, const Value *args, int i, const char *fn, int64_t *out) {
  if (args[i].tag != V_DURATION) return bad_arg(vm, f, fn, i, "a duration", args[i]);
  *out = args[i].as.i;
  return true;
}

ObjShape *std_shape(Heap *h, const char *const *names) {
  uint32_t n = 0;
  while (names[n]) n++;
  ObjShape *s = shape_new(h, n);
  for (uint32_t i = 0; i < n; i++) {
    Value name = v_cstring(h, names[i]);
    s->names[i] = AS_STRING(name);
  }
  return s;
}

/* ---- effects ----------------------------------------------------------- */

/* print and log share this: render, then write with the newline in one
 * go so lines from concurrent fibers never interleave mid-line. The text
 * may come from a model reply: it is escaped (base/term.h)
 * unless raw, when the operator asked for print's exact bytes. */
static NativeStatus write_line(VM *vm, Fiber *f, FILE *to, bool raw, Value v, Value *out) {
  Buf b;
  buf_init(&b);
  if (!std_render(vm, f, v, true, &b)) {
    buf_free(&b);
    return NATIVE_ERROR;
  }
  buf_putc(&b, '\n');
  if (to) {
    if (raw) fwrite(b.data, 1, b.len, to);
    else term_write(to, b.data, b.len, TERM_TEXT);
    fflush(to);
  }
  buf_free(&b);
  *out = v_none();
  return NATIVE_OK;
}

NativeStatus std_print(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return write_line(vm, f, vm->out, vm->raw_out, args[0], out);
}

NativeStatus std_log(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return write_line(vm, f, vm->err, false, args[0], out);
}

/* The end of a tool-calling loop whose model never gave its answer within
 * the role's max_steps (the lowering of an ask with tools, desugar.c): a
 * failure of its own kind, so a barrier or a try can tell it apart. */
NativeStatus std_agent_steps_failed(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  (void)out;
  ObjString *msg;
  if (!std_arg_string(vm, f, args, 0, "agent_steps_failed", &msg)) return NATIVE_ERROR;
  int n = msg->len > (size_t)INT32_MAX ? INT32_MAX : (int)msg->len;
  return vm_raise_kind(vm, f, "steps", "%.*s", n, msg->data);
}

NativeStatus std_fail(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  (void)out;
  ObjString *msg;
  if (!std_arg_string(vm, f, args, 0, "fail", &msg)) return NATIVE_ERROR;
  /* %.*s: a message with an embedded NUL is cut there, never overread */
  int n = msg->len > (size_t)INT32_MAX ? INT32_MAX : (int)msg->len;
  return vm_raise(vm, f, "%.*s", n, msg->data);
}

NativeStatus std_sleep(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  (void)out;
  int64_t ms;
  if (!std_arg_duration(vm, f, args, 0, "sleep", &ms)) return NATIVE_ERROR;
  if (ms < 0) return vm_raise(vm, f, "sleep: negative duration");
  if (!std_charge(vm, f, 1, 0)) return NATIVE_ERROR;
  if (!vm_budget_time_left(vm, f)) return NATIVE_ERROR;
  vm_park_timer(vm, f, ms, v_none());
  return NATIVE_PARK;
}

/* A capability call (std/fs, std/proc, std/http) is an effect like an
 * ask: it parks the fiber and hands the operation and its argument record
 * to the host at the fiber's next address ("main/fs.read#1"). Whether it
 * is allowed is the host's decision alone (its grants): a VM without a
 * host refuses every call. */
NativeStatus std_cap_call(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  (void)out;
  ObjString *op;
  if (!std_arg_string(vm, f, args, 0, "cap_call", &op)) return NATIVE_ERROR;
  if (op->len == 0 || op->len > 64 || memchr(op->data, '\0', op->len))
    return vm_raise(vm, f, "cap_call: not an operation name");
  if (!std_charge(vm, f, 1, 0)) return NATIVE_ERROR;
  if (!vm_budget_time_left(vm, f)) return NATIVE_ERROR;
  const Effects *fx = vm->effects;
  if (!fx || !fx->submit)
    return vm_raise(vm, f, "%.*s: this host runs no capability calls", (int)op->len, op->data);
  char name[65];
  memcpy(name, op->data, op->len);
  name[op->len] = '\0';
  Buf a;
  buf_init(&a);
  fiber_effect_address(f, name, &a);
  buf_putc(&a, '\0');
  EffectRequest rq;
  memset(&rq, 0, sizeof rq);
  rq.kind = EFFECT_CAP;
  rq.addr = a.data;
  rq.fiber = f;
  rq.u.cap.op = name;
  rq.u.cap.args = args[1];
  f->state = FIBER_PARKED;
  bool ok = fx->submit(fx->host, &rq);
  buf_free(&a);
  if (!ok) {
    if (f->state != FIBER_FAILED) vm_raise(vm, f, "%s: the host refused the call", name);
    return NATIVE_ERROR;
  }
  return NATIVE_PARK;
}

/* ---- budgets and the clock ---------------------------------------------- */

/* { calls, tokens, usd, time }: a figure for each limit the budget sets. */
static NativeStatus budget_record(VM *vm, Fiber *f, bool left, Value *out) {
  BudgetFigures b;
  vm_budget_figures(vm, f, left, &b);
  if (!std_charge(vm, f, 4, 0) || !vm_check_alloc(vm, f, sizeof(ObjRecord) + 4 * sizeof(Value)))
    return NATIVE_ERROR;
  static const char *const names[] = {"calls", "tokens", "usd", "time", NULL};
  ObjShape *shape = std_shape(&vm->heap, names);
  Value r = v_record(&vm->heap, shape);
  v_release(&vm->heap, v_obj(&shape->h));
  Value *v = AS_RECORD(r)->vals;
  v[0] = b.has_calls ? v_int(b.calls) : v_none();
  v[1] = b.has_tokens ? v_int(b.tokens) : v_none();
  v[2] = b.has_usd ? v_float(b.usd) : v_none();
  v[3] = b.has_time ? v_duration(b.time_ms) : v_none();
  *out = r;
  return NATIVE_OK;
}

NativeStatus std_budget_used(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)args;
  (void)argc;
  return budget_record(vm, f, false, out);
}

NativeStatus std_budget_left(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)args;
  (void)argc;
  return budget_record(vm, f, true, out);
}

NativeStatus std_now(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)args;
  (void)argc;
  int64_t ms;
  if (!std_charge(vm, f, 1, 0) || !vm_clock_read(vm, f, &ms)) return NATIVE_ERROR;
  *out = v_int(ms);
  return NATIVE_OK;
}

NativeStatus std_since(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  int64_t t0, ms;
  if (!std_arg_int(vm, f, args, 0, "since", &t0)) return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, 0) || !vm_clock_read(vm, f, &ms)) return NATIVE_ERROR;
  /* saturating: a hostile t0 cannot wrap the difference around */
  int64_t d = (t0 < 0 && ms > INT64_MAX + t0) ? INT64_MAX : (t0 > 0 && ms < INT64_MIN + t0) ? INT64_MIN : ms - t0;
  *out = v_duration(d);
  return NATIVE_OK;
}

/* ---- verify and tournament ---------------------------------------------
 * The fixed request templates of `verify` and of one tournament match.
 * They live in C rather than Weft because verify_prompt must read a
 * value's provenance (Obj.prov), which Weft code cannot see. */

/* Text put into a request: charged and checked against the memory limit
 * with what b already holds (b is outside the heap and is copied into the
 * result), before b grows. */
static bool put_text(VM *vm, Fiber *f, const ObjString *s, Buf *b) {
  uint64_t need = ((uint64_t)b->len + s->len) * 2;
  if (!std_charge(vm, f, 1, s->len) || !vm_check_alloc(vm, f, need > SIZE_MAX ? SIZE_MAX : (size_t)need))
    return false;
  buf_put(b, s->data, s->len);
  return true;
}

/* A part of a request: strings as they are, other values as JSON. */
static bool put_part(VM *vm, Fiber *f, Value v, Buf *b) {
  if (v_is(v, OBJ_STRING)) return put_text(vm, f, AS_STRING(v), b);
  return std_render(vm, f, v, false, b);
}

NativeStatus std_verify_prompt(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *roles;
  if (!std_arg_list(vm, f, args, 1, "verify_prompt", &roles)) return NATIVE_ERROR;
  Value claim = args[0];
  /* the runtime half of the independence rule: a reply keeps the role that
   * produced it; a verifier may not judge its own output */
  if (claim.tag == V_OBJ && claim.as.o->kind <= OBJ_RECORD && claim.as.o->prov) {
    for (uint32_t i = 0; i < roles->n; i++) {
      Value r = roles->items[i];
      if (v_is(r, OBJ_ROLE) && AS_ROLE(r)->index + 1 == (uint32_t)claim.as.o->prov)
        return vm_raise(vm, f,
                        "verify: the claim was produced by role %s itself; use an independent verifier",
                        AS_ROLE(r)->name);
    }
  }
  Buf b;
  buf_init(&b);
  buf_puts(&b,
           "You are an adversarial verifier. Your job is to ATTACK the claim below, not to agree "
           "with it, polish it or restate it. Assume it may be wrong. Look for a concrete "
           "counterexample: a case, an input, a fact or a line of the evidence that contradicts "
           "it. Check every part of the claim: it holds only if all of it holds.\n\nCLAIM:\n");
  bool ok = put_part(vm, f, claim, &b);
  if (ok && args[2].tag != V_NONE) {
    buf_puts(&b, "\n\nEVIDENCE offered for the claim (check it, do not trust it):\n");
    ok = put_part(vm, f, args[2], &b);
  }
  if (ok && args[3].tag != V_NONE) {
    buf_puts(&b, "\n\nThe claim is FALSE if: ");
    ok = put_part(vm, f, args[3], &b);
  }
  if (ok && args[4].tag != V_NONE) {
    buf_puts(&b, "\n\nOPEN DOUBTS to settle before you decide:\n");
    if (v_is(args[4], OBJ_LIST)) {
      ObjList *d = AS_LIST(args[4]);
      for (uint32_t i = 0; ok && i < d->n; i++) {
        buf_puts(&b, i ? "\n- " : "- ");
        ok = put_part(vm, f, d->items[i], &b);
      }
    } else {
      ok = put_part(vm, f, args[4], &b);
    }
  }
  if (!ok) {
    buf_free(&b);
    return NATIVE_ERROR;
  }
  buf_puts(&b,
           "\n\nAnswer with JSON only: {\"holds\": bool, \"confidence\": number, \"reason\": "
           "string, \"counterexample\": string or null}.\n"
           "- holds: true only if you tried hard to break the claim and could not.\n"
           "- confidence: how sure you are of your verdict, from 0 to 1.\n"
           "- reason: the decisive argument, briefly.\n"
           "- counterexample: when holds is false, the concrete case that refutes the claim; "
           "null otherwise.");
  *out = v_string(&vm->heap, b.data ? b.data : "", b.len);
  buf_free(&b);
  return NATIVE_OK;
}

NativeStatus std_judge_prompt(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *crit;
  if (!std_arg_string(vm, f, args, 0, "judge_prompt", &crit)) return NATIVE_ERROR;
  Buf b;
  buf_init(&b);
  buf_puts(&b, "Compare two candidates against one criterion and say which is better.\n\nCriterion: ");
  bool ok = put_text(vm, f, crit, &b);
  buf_puts(&b, "\n\nCandidate A: ");
  ok = ok && std_render(vm, f, args[1], false, &b);
  if (ok) {
    buf_puts(&b, "\nCandidate B: ");
    ok = std_render(vm, f, args[2], false, &b);
  }
  if (!ok) {
    buf_free(&b);
    return NATIVE_ERROR;
  }
  buf_puts(&b,
           "\n\nJudge by the criterion only. The order in which the candidates are shown means "
           "nothing. Answer \"A\" if candidate A is better and \"B\" if candidate B is better; "
           "if they seem equal, still pick one.");
  *out = v_string(&vm->heap, b.data ? b.data : "", b.len);
  buf_free(&b);
  return NATIVE_OK;
}

/* FNV-1a (64-bit) of the criterion's bytes and the count, folded to 31
 * bits so Weft code can run a linear congruential generator on it without
 * overflowing. */
NativeStatus std_tournament_seed(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *crit;
  int64_t n;
  if (!std_arg_string(vm, f, args, 0, "tournament_seed", &crit) ||
      !std_arg_int(vm, f, args, 1, "tournament_seed", &n))
    return NATIVE_ERROR;
  uint64_t h = 14695981039346656037u;
  for (size_t i = 0; i < crit->len; i++) h = (h ^ (uint8_t)crit->data[i]) * 1099511628211u;
  for (int i = 0; i < 8; i++) h = (h ^ (uint8_t)((uint64_t)n >> (8 * i))) * 1099511628211u;
  *out = v_int((int64_t)((h ^ (h >> 31)) & 0x7fffffffu));
  return NATIVE_OK;
}

/* ---- internal trace events -----------------------------------------------
 * verify, tournament and loop-until are lowered to plain Weft code and
 * bytecode; these natives let that code put its decisions into the run
 * trace (docs/runtime.md). Both test vm->trace first, so a run without
 * --trace pays one pointer test. The address is the calling fiber's path:
 * taking an effect number here would shift the numbers of later effects
 * between traced and untraced runs. */

/* The events program code writes (the prelude's lowering of verify and
 * tournament): the constructs' own account. Every other event (ask,
 * sleep, fiber_start, fiber_end, barrier, budget, loop) is written by the
 * runtime from its own state, and no module can add one: the checker
 * keeps this native from programs, but a hand-built .weftc reaches it by
 * key, so the native itself holds the line. */
static const char *const PROGRAM_EVENTS[] = {"verdict", "tournament", "match"};
/* The keys every trace line starts with (vm/trace.h). */
static const char *const LINE_KEYS[] = {"t", "ev", "addr", "truncated"};

static bool one_of(const ObjString *s, const char *const *set, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strlen(set[i]) == s->len && memcmp(set[i], s->data, s->len) == 0) return true;
  return false;
}

/* A module's string for a message: printable ASCII, 40 bytes at most. */
static const char *shown(const ObjString *s, char buf[48]) {
  size_t n = s->len < 40 ? s->len : 40;
  for (size_t i = 0; i < n; i++) buf[i] = s->data[i] >= 0x20 && s->data[i] < 0x7f ? s->data[i] : '?';
  strcpy(buf + n, s->len > 40 ? "..." : "");
  return buf;
}

/* trace_event(name, fields): one event; a record's fields become the
 * event's fields, any other value is written under "fields". The checks
 * come before the test of --trace, so a module is refused alike whether
 * or not the run is traced. */
/* ---- trust: declassification ------------------------------------------- */

/* A copy of v without labels. By the invariant an unlabelled object holds
 * nothing labelled, so it is shared, not copied; each labelled node copied
 * costs a unit of fuel and its bytes on the heap (a value that shares one
 * labelled part many times costs its unfolded size). */
static bool unlabelled_copy(VM *vm, Fiber *f, Value v, int depth, Value *out) {
  if (!v_label(v) || (v.tag == V_OBJ && v.as.o->kind > OBJ_RECORD)) {
    *out = v_retain(v);
    if (v.tag != V_OBJ) out->label = LABEL_NONE;
    return true;
  }
  if (v.tag != V_OBJ) {
    *out = v;
    out->label = LABEL_NONE;
    return true;
  }
  if (depth >= VALUE_MAX_DEPTH) {
    vm_raise(vm, f, "trust: value nested deeper than %d levels", VALUE_MAX_DEPTH);
    return false;
  }
  Heap *h = &vm->heap;
  switch ((ObjKind)v.as.o->kind) {
  case OBJ_STRING: {
    ObjString *s = AS_STRING(v);
    if (!std_charge(vm, f, 1, s->len) || !vm_check_alloc(vm, f, sizeof(ObjString) + s->len)) return false;
    *out = v_string(h, s->data, s->len);
    return true;
  }
  case OBJ_LIST: {
    ObjList *l = AS_LIST(v);
    if (!std_charge(vm, f, 1 + l->n, 0) || !std_check_list(vm, f, l->n, 0)) return false;
    Value c = v_list(h, l->n);
    for (uint32_t i = 0; i < l->n; i++) {
      if (!unlabelled_copy(vm, f, l->items[i], depth + 1, &AS_LIST(c)->items[i])) {
        v_release(h, c);
        return false;
      }
      AS_LIST(c)->n = i + 1;
    }
    *out = c;
    return true;
  }
  case OBJ_MAP: {
    ObjMap *m = AS_MAP(v);
    if (!std_charge(vm, f, 1 + 2 * (uint64_t)m->n, 0) || !std_check_list(vm, f, 2 * (uint64_t)m->n, 0)) return false;
    Value c = v_map(h, m->n);
    for (uint32_t i = 0; i < m->n; i++) {
      Value k, x;
      if (!unlabelled_copy(vm, f, v_obj(&m->keys[i]->h), depth + 1, &k)) {
        v_release(h, c);
        return false;
      }
      if (!unlabelled_copy(vm, f, m->vals[i], depth + 1, &x)) {
        v_release(h, k);
        v_release(h, c);
        return false;
      }
      c = map_set_take(h, c, AS_STRING(k), x);
      v_release(h, k);
    }
    AS_MAP(c)->dup = m->dup;
    *out = c;
    return true;
  }
  case OBJ_RECORD: {
    ObjRecord *r = AS_RECORD(v);
    if (!std_charge(vm, f, 1 + r->shape->n, 0) || !std_check_list(vm, f, r->shape->n, 0)) return false;
    Value c = v_record(h, r->shape);
    for (uint32_t i = 0; i < r->shape->n; i++) {
      if (!unlabelled_copy(vm, f, r->vals[i], depth + 1, &AS_RECORD(c)->vals[i])) {
        v_release(h, c);
        return false;
      }
    }
    *out = c;
    return true;
  }
  default:
    *out = v_retain(v);
    return true;
  }
}

/* trust(x, reason): declassification, the one way free text stops being
 * untrusted content. A copy, never the argument changed (others may hold
 * it); recorded in the trace and handed to the host to journal. When the
 * host does not allow it (--untrusted without --allow-trust) x comes back
 * as it is, and the trace says so. */
NativeStatus std_trust(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *reason;
  if (!std_arg_string(vm, f, args, 1, "trust", &reason)) return NATIVE_ERROR;
  Label l = v_label(args[0]);
  const char *origin = vm_label_what(vm, l);
  /* code a planner wrote declassifies only when the operator said so */
  bool honoured = vm->trust_allowed && (vm->trust_generated || !(vm_fiber_marks(vm, f) & FN_GENERATED));
  if (honoured) {
    if (!unlabelled_copy(vm, f, args[0], 0, out)) return NATIVE_ERROR;
  } else {
    *out = v_retain(args[0]);
  }
  Trace *t = vm->trace;
  if (trace_begin(t, "trust", fiber_address(f))) {
    trace_str(t, "reason", reason->data, reason->len);
    trace_cstr(t, "origin", origin);
    if (!honoured) trace_cstr(t, "status", "not honoured: pass --allow-trust");
    trace_end(t);
  }
  if (honoured && vm->effects && vm->effects->trusted) {
    /* %.*s-style safety: the reason may hold a NUL; the host gets the text up to it */
    vm->effects->trusted(vm->effects->host, f, reason->data, origin);
  }
  return NATIVE_OK;
}

NativeStatus std_trace_event(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  *out = v_none();
  char tmp[48];
  ObjString *name;
  if (!std_arg_string(vm, f, args, 0, "trace_event", &name)) return NATIVE_ERROR;
  if (!one_of(name, PROGRAM_EVENTS, sizeof PROGRAM_EVENTS / sizeof PROGRAM_EVENTS[0]))
    return vm_raise(vm, f, "trace_event: `%s` is not an event a program writes", shown(name, tmp));
  ObjRecord *r = v_is(args[1], OBJ_RECORD) ? AS_RECORD(args[1]) : NULL;
  for (uint32_t i = 0; r && i < r->shape->n; i++)
    if (one_of(r->shape->names[i], LINE_KEYS, sizeof LINE_KEYS / sizeof LINE_KEYS[0]))
      return vm_raise(vm, f, "trace_event: the field `%s` is the event's own",
                      shown(r->shape->names[i], tmp));
  Trace *t = vm->trace;
  if (trace_begin(t, name->data, fiber_address(f))) { /* one of PROGRAM_EVENTS: no NUL inside */
    if (r) {
      for (uint32_t i = 0; i < r->shape->n; i++)
        trace_field(t, r->shape->names[i]->data, r->shape->names[i]->len, r->vals[i]);
    } else {
      trace_value(t, "fields", args[1]);
    }
    trace_end(t);
  }
  return NATIVE_OK;
}

/* trace_loop(held, iteration): the `loop` event of one loop-until
 * iteration, emitted by compiler/emit.c after the until test; gives back
 * `held` so the test's value stays on the stack. */
NativeStatus std_trace_loop(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  *out = args[0];
  Trace *t = vm->trace;
  if (trace_begin(t, "loop", fiber_address(f))) {
    trace_int(t, "iteration", args[1].tag == V_INT ? args[1].as.i : 0);
    trace_value(t, "until", args[0]);
    trace_end(t);
  }
  return NATIVE_OK;
}
