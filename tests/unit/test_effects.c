/* test_effects.c — the VM driven through a fake effects table (vm/effects.h).
 *
 * No code of runtime/ takes part: programs are compiled from Weft source
 * (compiler + the standard library's natives, registered as any host
 * does), and a fake host in this file takes every effect the VM submits
 * and completes it when and how each test chooses: one by one in a chosen
 * order, all in one batch, at once inside submit, or never (cancelled). The
 * cases the seam was designed for: a tool-calling loop (one effect per model
 * step, the tool calls as Weft calls on fibers), one transport event
 * completing many effects, and a module generated while the program runs,
 * loaded, verified and linked under its own address prefix, and a function
 * a generate asks for, linked and handed back as a value (and a linked
 * module's GENERATE operands relocated). Also: refusal,
 * cancellation, sleeps the host answers, the trace sink, and a VM with no
 * table. Prints TAP-style `ok N - desc` lines; exits non-zero on a failure. */
#include "../../compiler/compiler.h"
#include "../../stdlib/builtins.h"
#include "../../vm/json.h"
#include "../../vm/opcodes.h"
#include "../../vm/trace.h"
#include "../../vm/vm_impl.h"
#include "tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool starts_with(const char *s, const char *prefix) {
  return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- programs ------------------------------------------------------------- */

typedef struct Prog {
  Heap heap;
  SourceSet ss;
  DiagList dl;
  Module *m;
  char dir[64], path[96];
} Prog;

/* Compiles src with the standard natives, as `weft run` does. */
static bool prog_compile(Prog *p, const char *src) {
  memset(p, 0, sizeof *p);
  snprintf(p->dir, sizeof p->dir, "/tmp/weft_effects_XXXXXX");
  if (!mkdtemp(p->dir)) {
    perror("mkdtemp");
    return false;
  }
  snprintf(p->path, sizeof p->path, "%s/prog.weft", p->dir);
  FILE *fp = fopen(p->path, "w");
  if (!fp || fputs(src, fp) == EOF) {
    perror("temp file");
    if (fp) fclose(fp);
    return false;
  }
  fclose(fp);
  heap_init(&p->heap, 0);
  src_init(&p->ss);
  diag_init(&p->dl);
  CompileOptions opt = {.natives = std_native_table()};
  p->m = compile_file(p->path, &p->ss, &p->dl, &opt, &p->heap);
  if (!p->m) diag_render_text(stdout, &p->dl, &p->ss, 0);
  return p->m != NULL;
}

static void prog_free(Prog *p) {
  module_free(p->m);
  diag_free(&p->dl);
  src_free(&p->ss);
  unlink(p->path);
  rmdir(p->dir);
}

/* ---- the fake host ---------------------------------------------------------- */

typedef struct Pending {
  Fiber *f;
  char *addr;
  char *role;      /* the role's name */
  char *prompt;
  uint32_t td;
} Pending;

typedef struct Fake Fake;
/* The reply to an effect: JSON text for a typed ask, plain text for a
 * text ask (malloc'd), or NULL to fail the effect. */
typedef char *(*ReplyFn)(Fake *fk, const Pending *p);

struct Fake {
  Effects fx;
  VM *vm;
  Pending *p;
  uint32_t n, cap;
  uint32_t per_wait;       /* effects completed per wait; 0: all of them (one batch) */
  bool lifo;               /* complete the newest first */
  bool at_once;            /* complete inside submit */
  ReplyFn reply;
  uint32_t submits, waits, completing_waits, cancels;
  Buf done;                /* addresses in completion order, one per line */
  Buf seen;                /* "role|addr|prompt" per submit, one per line */
  /* sleeps */
  const char *answered_sleep; /* sleep_begin answers this address at once */
  uint32_t sleep_begins, sleep_ends;
  Buf sleeps;
  /* the trace sink */
  Buf trace;
  uint32_t ntrace;
  /* linking: a planner ask is answered by a sub-workflow's result */
  const char *generated;   /* the source the planner "generates" */
  Fiber *planner, *sub;
  char *link_error;
  bool corrupt;            /* corrupt the generated module before linking */
};

static char *dup_str(const char *s) { return strdup(s ? s : ""); }

static void pending_free(Pending *p) {
  free(p->addr);
  free(p->role);
  free(p->prompt);
}

/* Completes p (already off the pending list): the reply converted like a
 * model's, or a failure. */
static void complete(Fake *fk, Pending *p) {
  VM *vm = fk->vm;
  buf_puts(&fk->done, p->addr);
  buf_putc(&fk->done, '\n');
  char *text = fk->reply(fk, p);
  if (!text) {
    vm_fail_parked(vm, p->f, "error", "the fake host failed this effect");
  } else if (p->td == ASK_TEXT) {
    vm_wake(vm, p->f, v_string(&vm->heap, text, strlen(text)));
  } else {
    Value doc, out;
    char *err = NULL;
    if (v_from_json(&vm->heap, text, strlen(text), &doc, &err)) {
      bool good = v_convert(&vm->heap, vm->mod, p->td, doc, &out, &err);
      v_release(&vm->heap, doc);
      if (good) vm_wake(vm, p->f, out);
    }
    if (err) vm_fail_parked(vm, p->f, "error", err);
    free(err);
  }
  free(text);
  pending_free(p);
}

static void link_generated(Fake *fk, Pending *p);
static void link_function(Fake *fk, Pending *p);

/* Pending.td of a generate: answered by link_function */
#define GEN_PENDING 0xFFFFFFFEu

static void fake_push(Fake *fk, Pending p, Fiber *f) {
  if (fk->n == fk->cap) {
    fk->cap = fk->cap ? fk->cap * 2 : 16;
    fk->p = realloc(fk->p, fk->cap * sizeof *fk->p);
  }
  fk->p[fk->n++] = p;
  f->call = fk; /* the handle of its effect: ours */
}

/* A generate: "role|addr|prompt|label|params -> result" is noted, and the
 * effect waits for a wait, which links fk->generated as the answer. */
static bool fake_generate(Fake *fk, const EffectRequest *rq) {
  const RoleDesc *r = &fk->vm->mod->roles[rq->u.gen.role];
  const ObjString *ps = AS_STRING(rq->u.gen.prompt);
  buf_printf(&fk->seen, "%s|%s|%.*s|%s|", r->name, rq->addr, (int)ps->len, ps->data,
             v_label(rq->u.gen.prompt) ? "labelled" : "clean");
  type_desc_print(&fk->seen, fk->vm->mod, rq->u.gen.params);
  buf_puts(&fk->seen, " -> ");
  if (rq->u.gen.result == NO_INDEX) buf_puts(&fk->seen, "nothing");
  else type_desc_print(&fk->seen, fk->vm->mod, rq->u.gen.result);
  buf_putc(&fk->seen, '\n');
  if (strstr(ps->data, "refuse")) {
    vm_raise(fk->vm, rq->fiber, "refused: %s", ps->data);
    return false;
  }
  fake_push(fk, (Pending){rq->fiber, dup_str(rq->addr), dup_str(r->name), dup_str(ps->data), GEN_PENDING},
            rq->fiber);
  return true;
}

static bool fake_submit(void *host, const EffectRequest *rq) {
  Fake *fk = host;
  fk->submits++;
  if (rq->kind == EFFECT_GENERATE) return fake_generate(fk, rq);
  if (rq->kind != EFFECT_ASK) return false;
  const RoleDesc *r = &fk->vm->mod->roles[rq->u.ask.role];
  const ObjString *ps = AS_STRING(rq->u.ask.prompt);
  buf_printf(&fk->seen, "%s|%s|%.*s\n", r->name, rq->addr, (int)ps->len, ps->data);
  if (strstr(ps->data, "refuse")) {
    vm_raise(fk->vm, rq->fiber, "refused: %s", ps->data);
    return false;
  }
  Pending p = {rq->fiber, dup_str(rq->addr), dup_str(r->name), dup_str(ps->data), rq->u.ask.td};
  if (fk->at_once) {
    complete(fk, &p);
    return true;
  }
  fake_push(fk, p, rq->fiber);
  return true;
}

static void fake_cancel(void *host, Fiber *f) {
  Fake *fk = host;
  if (f->call != fk) return;
  f->call = NULL;
  for (uint32_t i = 0; i < fk->n; i++)
    if (fk->p[i].f == f) {
      pending_free(&fk->p[i]);
      fk->p[i] = fk->p[--fk->n];
      fk->cancels++;
      return;
    }
  if (f == fk->planner) { /* the sub-workflow goes with its caller */
    fk->planner = NULL;
    Fiber *sub = fk->sub;
    fk->sub = NULL;
    if (sub) vm_fiber_free(fk->vm, sub);
    fk->cancels++;
  }
}

static bool fake_busy(const void *host) {
  const Fake *fk = host;
  return fk->n > 0 || fk->planner;
}

static int64_t fake_next_deadline(const void *host) {
  (void)host;
  return 0;
}

/* One "transport event": completes per_wait effects (all with 0), in
 * submit order or newest first. */
static void fake_wait(void *host, int64_t timeout_ms) {
  Fake *fk = host;
  (void)timeout_ms;
  fk->waits++;
  if (fk->sub && (fk->sub->state == FIBER_DONE || fk->sub->state == FIBER_FAILED)) {
    Fiber *sub = fk->sub, *planner = fk->planner;
    fk->sub = fk->planner = NULL;
    planner->call = NULL;
    if (sub->state == FIBER_DONE) vm_wake(fk->vm, planner, v_retain(sub->result));
    else vm_fail_parked(fk->vm, planner, sub->error_kind, sub->error);
    vm_fiber_free(fk->vm, sub);
    fk->completing_waits++;
    return;
  }
  uint32_t k = fk->per_wait && fk->per_wait < fk->n ? fk->per_wait : fk->n;
  if (k) fk->completing_waits++;
  while (k--) {
    Pending p;
    if (fk->lifo) {
      p = fk->p[--fk->n];
    } else {
      p = fk->p[0];
      memmove(fk->p, fk->p + 1, (size_t)--fk->n * sizeof *fk->p);
    }
    p.f->call = NULL;
    if (p.td == GEN_PENDING) link_function(fk, &p);
    else if (fk->generated && strcmp(p.role, "planner") == 0) link_generated(fk, &p);
    else complete(fk, &p);
  }
}

static int64_t fake_sleep_begin(void *host, const EffectRequest *rq) {
  Fake *fk = host;
  fk->sleep_begins++;
  buf_printf(&fk->sleeps, "%s %lld\n", rq->addr, (long long)rq->u.sleep.ms);
  if (fk->answered_sleep && strcmp(rq->addr, fk->answered_sleep) == 0) return 0;
  rq->fiber->sleep_ms = rq->u.sleep.ms; /* to be told when it ends */
  return rq->u.sleep.ms;
}

static void fake_sleep_end(void *host, Fiber *f) {
  Fake *fk = host;
  fk->sleep_ends++;
  f->sleep_ms = -1;
}

static void fake_trace(void *host, const char *line, size_t n) {
  Fake *fk = host;
  buf_put(&fk->trace, line, n);
  buf_putc(&fk->trace, '\n');
  fk->ntrace++;
}

static void fake_init(Fake *fk, VM *vm, ReplyFn reply) {
  memset(fk, 0, sizeof *fk);
  fk->vm = vm;
  fk->reply = reply;
  fk->fx.host = fk;
  fk->fx.submit = fake_submit;
  fk->fx.cancel = fake_cancel;
  fk->fx.busy = fake_busy;
  fk->fx.next_deadline = fake_next_deadline;
  fk->fx.wait = fake_wait;
  buf_init(&fk->done);
  buf_init(&fk->seen);
  buf_init(&fk->sleeps);
  buf_init(&fk->trace);
  vm_set_effects(vm, &fk->fx);
}

static void fake_free(Fake *fk) {
  for (uint32_t i = 0; i < fk->n; i++) pending_free(&fk->p[i]);
  free(fk->p);
  free(fk->link_error);
  buf_free(&fk->done);
  buf_free(&fk->seen);
  buf_free(&fk->sleeps);
  buf_free(&fk->trace);
}

static const char *cstr(Buf *b) {
  buf_putc(b, '\0');
  b->len--;
  return b->data;
}

/* ---- running ------------------------------------------------------------------ */

typedef struct Run {
  bool ok;
  char *json;      /* the result as JSON, or the error */
} Run;

static Run run_main(VM *vm, const Value *args, uint32_t nargs) {
  Value result;
  char *err = NULL, *trace = NULL;
  Run r;
  r.ok = vm_run_main(vm, args, nargs, &result, &err, &trace);
  if (r.ok) {
    Buf b;
    buf_init(&b);
    v_to_json(&b, result, NULL);
    buf_putc(&b, '\0');
    r.json = b.data;
    v_release(&vm->heap, result);
    free(err);
  } else {
    r.json = err ? err : strdup("(no error)");
  }
  free(trace);
  return r;
}

static Value str_list(VM *vm, const char *const *xs, uint32_t n) {
  Value l = v_list(&vm->heap, n);
  for (uint32_t i = 0; i < n; i++) AS_LIST(l)->items[i] = v_string(&vm->heap, xs[i], strlen(xs[i]));
  AS_LIST(l)->n = n;
  return l;
}

static char *reply_echo(Fake *fk, const Pending *p) {
  (void)fk;
  size_t n = strlen(p->prompt) + 3;
  char *s = malloc(n);
  snprintf(s, n, "r:%s", p->prompt);
  return s;
}

/* ---- (a) asks completed in a chosen order; (b) one batch -------------------- */

static const char *FANOUT_SRC =
    "role m { model: \"mock/m\" }\n"
    "fn main(xs: list[string]) -> list[string] {\n"
    "  barrier fanout x in xs { ask m \"q {x}\" }\n"
    "}\n";

static void test_order(void) {
  Prog p;
  if (!prog_compile(&p, FANOUT_SRC)) { ok(0, "fan-out program compiles"); return; }
  VM *vm = vm_new(p.m, NULL);
  Fake fk;
  fake_init(&fk, vm, reply_echo);
  fk.lifo = true;
  fk.per_wait = 1;
  static const char *const xs[] = {"a", "b", "c", "d", "e"};
  Value arg = str_list(vm, xs, 5);
  Run r = run_main(vm, &arg, 1);
  v_release(&vm->heap, arg);
  is_str(r.json, "[\"r:q a\",\"r:q b\",\"r:q c\",\"r:q d\",\"r:q e\"]",
         "(a) completed newest first, each fiber resumes with its own reply, results in input order");
  ok(fk.submits == 5 && fk.completing_waits == 5, "(a) five effects, one completed per wait");
  is_str(cstr(&fk.done),
         "main/fanout#1@3[4]/ask#1\nmain/fanout#1@3[3]/ask#1\nmain/fanout#1@3[2]/ask#1\n"
         "main/fanout#1@3[1]/ask#1\nmain/fanout#1@3[0]/ask#1\n",
         "(a) the host chose the order; the VM gave each effect its structural address");
  ok(vm->live_fibers == 0 && fk.n == 0, "(a) nothing left running or pending");
  free(r.json);
  vm_free(vm);
  fake_free(&fk);
  prog_free(&p);
}

static void test_batch(void) {
  Prog p;
  if (!prog_compile(&p, FANOUT_SRC)) { ok(0, "fan-out program compiles"); return; }
  VM *vm = vm_new(p.m, NULL);
  Fake fk;
  fake_init(&fk, vm, reply_echo);
  fk.per_wait = 0; /* one transport event answers everything pending */
  enum { N = 64 };
  char names[N][8];
  const char *xs[N];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "x%d", i);
    xs[i] = names[i];
  }
  Value arg = str_list(vm, xs, N);
  Run r = run_main(vm, &arg, 1);
  v_release(&vm->heap, arg);
  ok(r.ok, "(b) the batch run succeeds");
  int right = 0;
  if (r.ok) {
    Heap h;
    heap_init(&h, 0);
    Value v;
    if (v_from_json(&h, r.json, strlen(r.json), &v, NULL) && v_is(v, OBJ_LIST) && AS_LIST(v)->n == N) {
      for (int i = 0; i < N; i++) {
        char want[32];
        snprintf(want, sizeof want, "r:q x%d", i);
        Value e = AS_LIST(v)->items[i];
        if (v_is(e, OBJ_STRING) && strcmp(AS_STRING(e)->data, want) == 0) right++;
      }
      v_release(&h, v);
    }
  }
  ok(right == N, "(b) each of the 64 fibers woke with its own value");
  ok(fk.submits == N && fk.completing_waits == 1, "(b) one wait completed all 64 effects");
  free(r.json);
  vm_free(vm);
  fake_free(&fk);
  prog_free(&p);

  /* an answer the host already has: completed inside submit */
  if (!prog_compile(&p, FANOUT_SRC)) return;
  vm = vm_new(p.m, NULL);
  fake_init(&fk, vm, reply_echo);
  fk.at_once = true;
  static const char *const two[] = {"u", "v"};
  arg = str_list(vm, two, 2);
  r = run_main(vm, &arg, 1);
  v_release(&vm->heap, arg);
  is_str(r.json, "[\"r:q u\",\"r:q v\"]", "an effect completed inside submit resumes its fiber");
  ok(fk.waits == 0, "no wait was needed");
  free(r.json);
  vm_free(vm);
  fake_free(&fk);
  prog_free(&p);
}

/* ---- refusal, no table, cancellation ---------------------------------------- */

static void test_refuse_and_no_table(void) {
  Prog p;
  if (!prog_compile(&p, "role m { model: \"mock/m\" }\nfn main() -> string { ask m \"please refuse\" }\n")) {
    ok(0, "ask program compiles");
    return;
  }
  VM *vm = vm_new(p.m, NULL);
  Fake fk;
  fake_init(&fk, vm, reply_echo);
  Run r = run_main(vm, NULL, 0);
  ok(!r.ok && strcmp(r.json, "refused: please refuse") == 0, "a refused effect fails its fiber with the host's message");
  free(r.json);
  vm_free(vm);
  fake_free(&fk);

  vm = vm_new(p.m, NULL); /* no table at all */
  r = run_main(vm, NULL, 0);
  ok(!r.ok && strcmp(r.json, "model calls need an engine (internal)") == 0, "without an effects table ASK fails cleanly");
  ok(vm->trace == NULL, "without a table the VM builds no trace");
  free(r.json);
  vm_free(vm);
  prog_free(&p);
}

static void test_cancel(void) {
  Prog p;
  if (!prog_compile(&p, "role m { model: \"mock/m\" }\n"
                        "fn main(xs: list[string]) -> list[string] {\n"
                        "  barrier fanout x in xs {\n"
                        "    if x == \"boom\" { fail(\"boom\") }\n"
                        "    ask m x\n"
                        "  }\n"
                        "}\n")) {
    ok(0, "cancel program compiles");
    return;
  }
  VM *vm = vm_new(p.m, NULL);
  Fake fk;
  fake_init(&fk, vm, reply_echo);
  static const char *const xs[] = {"a", "b", "c", "boom"};
  Value arg = str_list(vm, xs, 4);
  Run r = run_main(vm, &arg, 1);
  v_release(&vm->heap, arg);
  ok(!r.ok && strstr(r.json, "boom"), "a failing branch fails the barrier");
  ok(fk.submits == 3 && fk.cancels == 3 && fk.n == 0, "the three parked asks were withdrawn through cancel");
  ok(fk.done.len == 0, "and none of them was completed");
  ok(vm->live_fibers == 0, "no fiber left alive");
  free(r.json);
  vm_free(vm);
  fake_free(&fk);
  prog_free(&p);
}

/* ---- sleeps and the trace sink -------------------------------------------------- */

static void test_sleeps(void) {
  Prog p;
  if (!prog_compile(&p, "fn main() -> int {\n  sleep(400ms)\n  sleep(20ms)\n  1\n}\n")) {
    ok(0, "sleep program compiles");
    return;
  }
  VM *vm = vm_new(p.m, NULL);
  Fake fk;
  fake_init(&fk, vm, reply_echo);
  fk.fx.sleep_begin = fake_sleep_begin;
  fk.fx.sleep_end = fake_sleep_end;
  fk.answered_sleep = "main/sleep#1"; /* as a journal answers it on resume */
  vm_set_effects(vm, &fk.fx);
  uint64_t t0 = now_ms();
  Run r = run_main(vm, NULL, 0);
  uint64_t took = now_ms() - t0;
  is_str(r.json, "1", "the sleeping program finishes");
  is_str(cstr(&fk.sleeps), "main/sleep#1 400\nmain/sleep#2 20\n", "each sleep is told to the host with its address");
  ok(took < 300, "the sleep the host answered did not wait");
  ok(fk.sleep_ends == 1, "sleep_end for the one that ran");
  free(r.json);
  vm_free(vm);
  fake_free(&fk);
  prog_free(&p);
}

static void test_trace(void) {
  Prog p;
  if (!prog_compile(&p, "fn main() -> int {\n"
                        "  let rs = barrier fanout x in [1, 2] { x * 2 }\n"
                        "  rs[0] + rs[1]\n"
                        "}\n")) {
    ok(0, "trace program compiles");
    return;
  }
  VM *vm = vm_new(p.m, NULL);
  Fake fk;
  fake_init(&fk, vm, reply_echo);
  ok(vm->trace == NULL, "a table without a sink: no trace builder");
  fk.fx.trace = fake_trace;
  vm_set_effects(vm, &fk.fx);
  ok(vm->trace != NULL, "a sink: the VM builds events");
  Run r = run_main(vm, NULL, 0);
  is_str(r.json, "6", "the traced program runs");
  /* every line is one JSON object with an event name */
  Heap h;
  heap_init(&h, 0);
  uint32_t objects = 0;
  bool main_start = false, branch_start = false, barrier = false, main_end = false;
  const char *s = cstr(&fk.trace);
  while (s && *s) {
    const char *nl = strchr(s, '\n');
    size_t n = nl ? (size_t)(nl - s) : strlen(s);
    Value v;
    if (v_from_json(&h, s, n, &v, NULL) && v_is(v, OBJ_MAP)) {
      Value *ev = map_get_cstr(AS_MAP(v), "ev", 2), *addr = map_get_cstr(AS_MAP(v), "addr", 4);
      if (ev && v_is(*ev, OBJ_STRING)) {
        objects++;
        const char *e = AS_STRING(*ev)->data, *a = addr && v_is(*addr, OBJ_STRING) ? AS_STRING(*addr)->data : "";
        if (!strcmp(e, "fiber_start") && !strcmp(a, "main")) main_start = true;
        if (!strcmp(e, "fiber_start") && !strcmp(a, "main/fanout#1@2[1]")) branch_start = true;
        if (!strcmp(e, "barrier")) barrier = true;
        if (!strcmp(e, "fiber_end") && !strcmp(a, "main")) main_end = true;
      }
      v_release(&h, v);
    }
    s = nl ? nl + 1 : s + n;
  }
  ok(objects == fk.ntrace && objects > 0, "every event reached the sink as one JSON object");
  ok(main_start && branch_start && barrier && main_end, "fiber, branch and barrier events, with addresses");
  fk.fx.trace = NULL;
  vm_set_effects(vm, &fk.fx);
  ok(vm->trace == NULL, "the sink removed: the builder goes too");
  free(r.json);
  vm_free(vm);
  fake_free(&fk);
  prog_free(&p);
}

/* ---- (c) a tool-calling loop ------------------------------------------------------ */

static const char *AGENT_SRC =
    "role agent { model: \"mock/agent\" }\n"
    "role helper { model: \"mock/helper\" }\n"
    "type ToolCall = { tool: \"add\" | \"mul\" | \"ask\", a: int, b: int }\n"
    "type Step = { done: bool, answer: int, calls: list[ToolCall] }\n"
    "\n"
    "fn run_tool(c: ToolCall) -> int {\n"
    "  match c.tool {\n"
    "    \"add\" => c.a + c.b,\n"
    "    \"mul\" => c.a * c.b,\n"
    "    \"ask\" => len(ask helper \"spell {c.a}\"),\n"
    "  }\n"
    "}\n"
    "\n"
    "fn main() -> int {\n"
    "  let r = loop s = { transcript: \"task: compute\", done: false, answer: 0 } max 5 {\n"
    "    let step = ask agent s.transcript -> Step\n"
    "    let results = barrier fanout c in step.calls { run_tool(c) }\n"
    "    { transcript: s.transcript + \"\\nresults: \" + to_json(results), done: step.done, answer: step.answer }\n"
    "  } until s.done\n"
    "  r.answer\n"
    "}\n";

static char *reply_agent(Fake *fk, const Pending *p) {
  (void)fk;
  if (strcmp(p->role, "helper") == 0) return strdup("seven");
  if (!strstr(p->prompt, "results:")) /* the first step: three tool calls */
    return strdup("{\"done\": false, \"answer\": 0, \"calls\": [{\"tool\": \"add\", \"a\": 2, \"b\": 3}, "
                  "{\"tool\": \"mul\", \"a\": 4, \"b\": 5}, {\"tool\": \"ask\", \"a\": 7, \"b\": 0}]}");
  /* the next step sees the tools' results in its request */
  if (strstr(p->prompt, "results: [5,20,5]")) return strdup("{\"done\": true, \"answer\": 42, \"calls\": []}");
  return NULL;
}

static void test_tool_loop(void) {
  Prog p;
  if (!prog_compile(&p, AGENT_SRC)) { ok(0, "(c) the tool-calling loop compiles"); return; }
  VM *vm = vm_new(p.m, NULL);
  Fake fk;
  fake_init(&fk, vm, reply_agent);
  Run r = run_main(vm, NULL, 0);
  is_str(r.json, "42", "(c) the loop ends when a step says done, with its answer");
  const char *seen = cstr(&fk.seen);
  ok(fk.submits == 3, "(c) three effects: two model steps and one tool call that asks");
  ok(starts_with(seen, "agent|main/ask#1|task: compute\n"), "(c) step 1 is one effect of the main fiber");
  const char *tool = strstr(seen, "helper|");
  ok(tool && starts_with(tool, "helper|main/fanout#2@17[2]/ask#1|spell 7\n"),
     "(c) the tool call ran as a Weft call on its own branch fiber, with its own effect");
  /* main's effects: ask#1 (step 1), fanout#2 (the tools), barrier#3, ask#4 (step 2) */
  const char *step2 = strstr(seen, "agent|main/ask#4|");
  ok(step2 && strstr(step2, "results: [5,20,5]"), "(c) step 2's request carries the tools' results");
  ok(vm->live_fibers == 0 && fk.n == 0, "(c) nothing left running");
  free(r.json);
  vm_free(vm);
  fake_free(&fk);
  prog_free(&p);
}

/* ---- (d) linking a module generated at run time ------------------------------------ */

static const char *PLANNER_SRC =
    "role planner { model: \"mock/planner\" }\n"
    "fn main() -> int {\n"
    "  let n = ask planner \"make a workflow\" -> int\n"
    "  n + 1\n"
    "}\n";

static const char *GENERATED_SRC =
    "role worker { model: \"mock/worker\" }\n"
    "fn tens(x: int) -> int { x * 10 }\n"
    "fn main(k: int) -> int {\n"
    "  let parts = barrier fanout i in [1, 2] { len(ask worker \"part {i}\") }\n"
    "  tens(k) + parts[0] + parts[1]\n"
    "}\n";

static char *reply_worker(Fake *fk, const Pending *p) {
  (void)fk;
  return strcmp(p->role, "worker") == 0 ? strdup("abcd") : NULL;
}

/* The planner's answer is a program: compiled (the test's stand-in for a
 * generator), then loaded into the running VM under the planner effect's
 * address, running on its own fiber; its result answers the planner. */
static void link_generated(Fake *fk, Pending *p) {
  Prog g;
  if (!prog_compile(&g, fk->generated)) {
    vm_fail_parked(fk->vm, p->f, "error", "the generated program does not compile");
    pending_free(p);
    return;
  }
  if (fk->corrupt) g.m->funcs[g.m->main_fn].code[0] = 0xFE;
  Value k = v_int(3);
  char *err = NULL;
  uint32_t before = fk->vm->mod->nfuncs;
  Fiber *sub = vm_link_module(fk->vm, g.m, p->addr, &k, 1, &err);
  prog_free(&g); /* the VM keeps copies: the module is ours to free */
  if (!sub) {
    ok(fk->vm->mod->nfuncs == before, "(d) a refused module leaves the VM's module as it was");
    fk->link_error = err;
    vm_fail_parked(fk->vm, p->f, "error", err ? err : "link failed");
    pending_free(p);
    return;
  }
  fk->planner = p->f;
  fk->planner->call = fk;
  fk->sub = sub;
  pending_free(p);
}

static void test_link(bool corrupt) {
  Prog p;
  if (!prog_compile(&p, PLANNER_SRC)) { ok(0, "(d) the planner program compiles"); return; }
  VM *vm = vm_new(p.m, NULL);
  Fake fk;
  fake_init(&fk, vm, reply_worker);
  fk.generated = GENERATED_SRC;
  fk.corrupt = corrupt;
  uint32_t roles_before = p.m->nroles;
  Run r = run_main(vm, NULL, 0);
  if (corrupt) {
    ok(!r.ok && fk.link_error && strstr(fk.link_error, "unknown opcode 254"),
       "(d) a generated module that fails verification is refused with the verifier's message");
  } else {
    is_str(r.json, "39", "(d) the linked sub-workflow ran and its result answered the planner");
    const char *seen = cstr(&fk.seen);
    ok(strstr(seen, "worker|main/ask#1/fanout#1@4[0]/ask#1|part 1\n") &&
              strstr(seen, "worker|main/ask#1/fanout#1@4[1]/ask#1|part 2\n"),
       "(d) its effects have addresses under the planner effect's address, and its own role");
    ok(p.m->nroles == roles_before + 1 && p.m->nretired == 1,
       "(d) its role was appended to the running module's table (the old table kept for calls in flight)");
    ok(vm->live_fibers == 0 && !fk.sub, "(d) nothing left running");
  }
  free(r.json);
  vm_free(vm);
  fake_free(&fk);
  prog_free(&p);
}

/* ---- (e) generate: a function written at run time, called by the program --------- */

static const char *GENERATE_SRC =
    "role planner { model: \"mock/planner\" }\n"
    "fn main(files: list[string]) -> int {\n"
    "  let review = generate fn(files: list[string]) -> int by planner \"Review {files[0]}\"\n"
    "  let log = generate fn(n: int, note: string) by planner \"Log\"\n"
    "  log(1, \"x\")\n"
    "  review(files) + review([\"z\"])\n"
    "}\n";

/* The answer of a generate: fk->generated compiled, linked into the
 * running VM without starting it, its main handed to the parked fiber as
 * the function value it asked for. */
static void link_function(Fake *fk, Pending *p) {
  Prog g;
  bool is_log = strcmp(p->prompt, "Log") == 0;
  if (!prog_compile(&g, is_log ? "fn main(n: int, note: string) { let _k = note }\n" : fk->generated)) {
    vm_fail_parked(fk->vm, p->f, "error", "the generated program does not compile");
    pending_free(p);
    return;
  }
  Value fn;
  uint32_t first = 0;
  char *err = NULL;
  bool linked = vm_link_function(fk->vm, g.m, &fn, &first, &err);
  prog_free(&g);
  if (!linked) {
    fk->link_error = err;
    vm_fail_parked(fk->vm, p->f, "error", err ? err : "link failed");
  } else {
    vm_wake(fk->vm, p->f, fn);
  }
  pending_free(p);
}

static void test_generate(void) {
  Prog p;
  if (!prog_compile(&p, GENERATE_SRC)) { ok(0, "(e) the generate program compiles"); return; }
  VM *vm = vm_new(p.m, NULL);
  Fake fk;
  fake_init(&fk, vm, reply_echo);
  fk.generated = "fn main(files: list[string]) -> int { len(files) * 10 + len(files[0]) }\n";
  static const char *const xs[] = {"abc", "d"};
  Value arg = str_list(vm, xs, 2);
  AS_LIST(arg)->items[0].as.o->label = 1; /* as an untrusted input would be */
  Run r = run_main(vm, &arg, 1);
  v_release(&vm->heap, arg);
  is_str(r.json, "34", "(e) the fiber woke with the linked main as a function value, called twice");
  is_str(cstr(&fk.seen),
         "planner|main/generate#1|Review abc|labelled|{ files: list[string] } -> int\n"
         "planner|main/generate#2|Log|clean|{ n: int, note: string } -> nothing\n",
         "(e) the host got the role, the address, the prompt with its label, and the signature");
  ok(vm->live_fibers == 0 && fk.n == 0, "(e) nothing left running or pending");
  free(r.json);
  vm_free(vm);
  fake_free(&fk);

  vm = vm_new(p.m, NULL); /* no table at all */
  arg = str_list(vm, xs, 2);
  r = run_main(vm, &arg, 1);
  v_release(&vm->heap, arg);
  ok(!r.ok && strcmp(r.json, "generate needs an engine (internal)") == 0,
     "(e) without an effects table GENERATE fails cleanly");
  free(r.json);
  vm_free(vm);

  vm = vm_new(p.m, NULL); /* a host that refuses */
  fake_init(&fk, vm, reply_echo);
  static const char *const refuse[] = {"refuse"};
  arg = str_list(vm, refuse, 1);
  r = run_main(vm, &arg, 1);
  v_release(&vm->heap, arg);
  ok(!r.ok && strcmp(r.json, "refused: Review refuse") == 0, "(e) a refused generate fails its fiber with the host's message");
  free(r.json);
  vm_free(vm);
  fake_free(&fk);
  prog_free(&p);
}

/* module_link moves a GENERATE's operands with the module: its role and
 * both descriptors name the linked module's own, not the entries that
 * happen to sit at the same indices of the running one. */
static void gen_operands(const Module *m, uint32_t fi, Buf *out) {
  const FuncProto *f = &m->funcs[fi];
  for (uint32_t pc = 0; pc < f->code_len; pc += op_info[f->code[pc]].size) {
    if (f->code[pc] != OP_GENERATE) continue;
    OpArgs a = op_decode(f->code + pc);
    buf_printf(out, "%s|", m->roles[a.a].name);
    type_desc_print(out, m, a.b);
    buf_puts(out, " -> ");
    if (a.c == GEN_NO_RESULT) buf_puts(out, "nothing");
    else type_desc_print(out, m, a.c);
    buf_putc(out, '\n');
  }
}

static void test_link_generate(void) {
  Prog dst, src;
  if (!prog_compile(&dst, "role a { model: \"mock/a\" }\nrole b { model: \"mock/b\" }\n"
                          "type Q = { q: bool }\n"
                          "fn main(x: Q) -> list[string] {\n"
                          "  let f = generate fn(z: list[string]) -> list[string] by b \"dst\"\n"
                          "  f([\"{x.q}\"])\n"
                          "}\n") ||
      !prog_compile(&src, "role other { model: \"mock/other\" }\n"
                          "type Pt = { x: int, y: int }\n"
                          "fn main() -> int {\n"
                          "  let f = generate fn(p: Pt, tag: string) -> list[Pt] by other \"go\"\n"
                          "  let g = generate fn(n: int) by other \"log\"\n"
                          "  g(1)\n"
                          "  len(f({ x: 1, y: 2 }, \"t\"))\n"
                          "}\n")) {
    ok(0, "(f) the programs to link compile");
    return;
  }
  Buf want, got;
  buf_init(&want);
  buf_init(&got);
  gen_operands(src.m, src.m->main_fn, &want);
  uint32_t main_fn = 0;
  char *err = NULL;
  bool linked = module_link(dst.m, src.m, &main_fn, &err);
  ok(linked, "(f) a module holding GENERATE links (%s)", err ? err : "ok");
  if (linked) gen_operands(dst.m, main_fn, &got);
  is_str(cstr(&got), cstr(&want),
         "(f) after linking, its GENERATEs name its own role and descriptors");
  ok(strstr(cstr(&want), "other|") != NULL, "(f) the operands were read (%s)", cstr(&want));
  free(err);
  err = NULL;
  ok(module_verify(dst.m, &err), "(f) the linked module verifies (%s)", err ? err : "ok");
  free(err);
  buf_free(&want);
  buf_free(&got);
  prog_free(&src);
  prog_free(&dst);
}

/* A host that forgets its native table gets a clear internal error, not
 * "unknown name" errors from the prelude. */
static void test_no_natives(void) {
  Prog p;
  memset(&p, 0, sizeof p);
  heap_init(&p.heap, 0);
  src_init(&p.ss);
  diag_init(&p.dl);
  CompileOptions opt = {.natives = NULL};
  p.m = compile_file("/nonexistent/x.weft", &p.ss, &p.dl, &opt, &p.heap);
  ok(!p.m && p.dl.n == 1 && p.dl.items[0].code == D_E0505 &&
            strstr(p.dl.items[0].message, "no native functions were given"),
     "compiling without a native table is one clear internal error");
  module_free(p.m);
  diag_free(&p.dl);
  src_free(&p.ss);
}

int main(void) {
  test_no_natives();
  test_order();
  test_batch();
  test_refuse_and_no_table();
  test_cancel();
  test_sleeps();
  test_trace();
  test_tool_loop();
  test_link(false);
  test_link(true);
  test_generate();
  test_link_generate();
  return tap_done();
}
