/* tasks.c — fan-out branches and barriers: the runtime of FANOUT and BARRIER.
 *
 * FANOUT builds a tasks object (OBJ_TASKS) that OWNS one branch per input
 * element (or record field): its state (pending, running, done, failed,
 * cancelled), its fiber while it runs, its result until a barrier collects
 * it, or its failure (kind + message), and the order it finished in.
 * Branches start in input order; with `limit n` at most n run at once, and
 * without a limit as many as the live-fiber budget (--max-fibers) allows:
 * the rest wait as `pending` records (about 40 bytes each, no fiber) and
 * start one by one as running branches finish. So a fan-out over a million
 * items never holds a million fibers.
 *
 * BARRIER fixes the join condition (plain, tolerate N / P%, first K,
 * timeout) and parks the waiting fiber. Nothing is decided from inside the
 * engine or the timer heap: a branch that finishes (fiber.c calls
 * tasks_branch_finished) only records its outcome, frees its fiber and
 * marks its tasks dirty; the scheduler calls tasks_settle before it picks
 * the next fiber, which decides barriers, cancels what is left, wakes or
 * fails the waiter, and starts queued branches. The settle list is FIFO and
 * branches start in input order, so a run is deterministic for a given
 * order of effect results.
 *
 * Cancelling a branch frees its fiber (vm_fiber_free): a queued fiber
 * leaves the run queue, a sleep leaves the timer heap, an ask is withdrawn
 * from the engine (its transfer aborted). Freeing the fiber releases its
 * stack, and a tasks object found there is released in turn: nested
 * fan-outs are cancelled through the VM's tasks_dying list, in a loop, so
 * the C stack does not grow with the nesting depth.
 *
 * Ownership: the tasks object holds one reference to xs and f; the waiter
 * holds one reference to the tasks (Fiber.join) while parked; the settle
 * list holds one per entry. A branch fiber points back at its tasks
 * (Fiber.task) without a reference: the tasks owns it, never the reverse. */
#include "vm_impl.h"
#include "../base/util.h"
#include "opcodes.h"
#include "trace.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef enum BranchState { BR_PENDING, BR_RUNNING, BR_DONE, BR_FAILED, BR_CANCELLED } BranchState;

typedef struct Branch {
  Value result;        /* BR_DONE: the result until the barrier moves it out */
  Fiber *fiber;        /* BR_RUNNING: the branch's fiber (owned) */
  char *message;       /* BR_FAILED / BR_CANCELLED: malloc'd, or NULL */
  char *addr;          /* BR_FAILED: where (Fiber.error_addr, moved), or NULL */
  const char *kind;    /* "error", "timeout", "cancelled", "limit" (static) */
  uint32_t finished;   /* 1-based finish order; 0 while unfinished */
  uint8_t state;       /* BranchState */
  Label label;         /* BR_FAILED: the label of message (raised from untrusted data) */
} Branch;

struct ObjTasks {
  Obj h;
  VM *vm;
  Value items;         /* mode 0: the list; mode 1: the record of functions */
  Value fn;            /* mode 0: the branch function; mode 1: none */
  Branch *br;          /* n entries, input order */
  uint32_t n;
  uint32_t limit;      /* most branches running at once; 0: the fiber budget */
  uint32_t next;       /* first branch not started yet */
  uint32_t running, nok, nbad, nfinished;
  uint32_t first_bad;  /* the first branch to fail (finish order), NO_INDEX if none */
  uint8_t mode;
  uint8_t bits;        /* the barrier's BARRIER_* bits */
  bool joined;         /* a barrier took these tasks */
  bool decided;        /* the barrier's outcome is delivered; nothing runs */
  bool timed_out;      /* the barrier's timeout fired; settle fails the rest */
  bool dirty;          /* on vm->tasks_dirty */
  int64_t tol;         /* failures tolerated (tolerate N, or P% of n rounded down) */
  int64_t k;           /* first K */
  int64_t timeout_ms;
  Fiber *waiter;       /* parked in BARRIER; holds a reference to this object */
  ObjTasks *dirty_next, *dying_next;
  char *prefix;        /* the branches' address prefix "PATH/fanout#N@LINE" (malloc'd) */
  char *barrier_addr;  /* with a trace: the joining barrier's address (malloc'd) */
  uint64_t barrier_at; /* VM ms when the barrier started waiting */
  Budget *budget;      /* the budget branches start under (one reference; NULL: none) */
  Budget *own;         /* mode 2 (a budget block): the block's budget (one reference) */
  bool in_else;        /* mode 2: the branch slot runs the else function */
  bool time_stopped;   /* mode 2: the body's work was stopped at the time limit */
  uint32_t asked;      /* calls its branches may have in flight at once by the limits
                          written: its limit times those around it (tasks_asked) */
  bool host_noted;     /* the host reported on it (tasks_note_once) */
  uint8_t marks;       /* the FN_* marks of the fiber that made it: its branches run under them */
  uint32_t line;       /* its source line (progress) */
  uint64_t born_ms;    /* VM ms when it was made: the progress line's rate */
  ObjTasks *live_prev, *live_next; /* vm->tasks_live */
};

/* vm->tasks_live: what the progress line reads (vm_progress). */
static void live_link(VM *vm, ObjTasks *t, uint32_t line) {
  t->line = line;
  t->born_ms = vm_now_ms(vm);
  t->live_next = vm->tasks_live;
  if (vm->tasks_live) vm->tasks_live->live_prev = t;
  vm->tasks_live = t;
}

static void live_unlink(VM *vm, ObjTasks *t) {
  if (t->live_prev) t->live_prev->live_next = t->live_next;
  else if (vm->tasks_live == t) vm->tasks_live = t->live_next;
  if (t->live_next) t->live_next->live_prev = t->live_prev;
  t->live_prev = t->live_next = NULL;
}

static void settle_budget(VM *vm, ObjTasks *t);

enum { UNDECIDED, DECIDED_OK, DECIDED_FAIL };

/* ---- small helpers ------------------------------------------------------- */

static ObjTasks *as_tasks(Value v) { return (ObjTasks *)(void *)v.as.o; }

static void mark_dirty(VM *vm, ObjTasks *t) {
  if (t->dirty || t->decided) return;
  t->dirty = true;
  t->h.rc++;
  t->dirty_next = NULL;
  if (vm->tasks_dirty_tail) vm->tasks_dirty_tail->dirty_next = t;
  else vm->tasks_dirty = t;
  vm->tasks_dirty_tail = t;
}

void tasks_mark_dirty(VM *vm, ObjTasks *t) { mark_dirty(vm, t); }

/* Records branch i as failed (msg is taken). The first failure recorded is
 * the "first failure" barrier errors quote. */
static void branch_fail(ObjTasks *t, uint32_t i, const char *kind, char *msg) {
  Branch *b = &t->br[i];
  b->state = BR_FAILED;
  b->kind = kind;
  b->label = LABEL_NONE;
  free(b->message);
  b->message = msg;
  b->finished = ++t->nfinished;
  t->nbad++;
  if (t->first_bad == NO_INDEX) t->first_bad = i;
}

/* Frees a branch's fiber as a cancellation: with task cleared first, the
 * fiber's own free does not report back here. why: NULL for a plain
 * cancellation, else the failure the branch is recorded with. */
static void drop_fiber(VM *vm, ObjTasks *t, Branch *b, const char *why) {
  Fiber *bf = b->fiber;
  b->fiber = NULL;
  if (!bf) return;
  bf->task = NULL;
  if (t->running) t->running--;
  if (why) vm->branches_failed++;
  else vm->branches_cancelled++;
  trace_fiber_end(vm, bf, why ? "failed" : "cancelled", why);
  vm_fiber_free(vm, bf);
}

/* ---- starting branches --------------------------------------------------- */

/* Starts pending branches in input order while the limit and the fiber
 * budget allow. When the budget is exhausted and none of this fan-out's
 * branches runs (so none will free a slot for it), the next branch fails
 * with kind "limit" instead of waiting forever. Returns true if a branch
 * failed to start. */
static bool start_pending(VM *vm, ObjTasks *t) {
  bool failed = false;
  uint32_t cap = t->limit ? t->limit : UINT32_MAX;
  while (!t->decided && t->next < t->n && t->running < cap) {
    uint32_t i = t->next;
    if (vm->live_fibers >= vm->limits.max_fibers) {
      if (t->running > 0) break;
      t->next++;
      branch_fail(t, i, "limit", xasprintf("fiber limit (%u) exceeded", vm->limits.max_fibers));
      failed = true;
      continue;
    }
    Value fnv = t->mode != 1 ? t->fn : AS_RECORD(t->items)->vals[i];
    const Value *args = t->mode == 0 ? &AS_LIST(t->items)->items[i] : NULL;
    char *err = NULL;
    Fiber *bf = vm_spawn(vm, fnv, args, t->mode == 0 ? 1 : 0, &err);
    t->next++;
    if (!bf) {
      branch_fail(t, i, "error", err ? err : xasprintf("cannot start branch %u", i));
      failed = true;
      continue;
    }
    bf->task = t;
    bf->branch = i;
    bf->marks = t->marks;
    /* branches spend from the budget their fan-out (or block) started in */
    budget_release(vm, bf->budget);
    bf->budget = budget_retain(t->budget);
    const char *name = t->mode == 2 ? (t->in_else ? "else" : "body")
                       : t->mode == 1 && AS_RECORD(t->items)->shape->names[i]
                           ? AS_RECORD(t->items)->shape->names[i]->data : NULL;
    fiber_set_branch_path(vm, bf, t->prefix, i, name);
    vm->branches_started++;
    trace_fiber_start(vm, bf, args);
    t->br[i].fiber = bf;
    t->br[i].state = BR_RUNNING;
    t->running++;
  }
  return failed;
}

/* ---- FANOUT -------------------------------------------------------------- */

/* What a new fan-out (or budget block) made by f asks of the host's
 * concurrency, by the limits written: its own limit (none counts 1) times
 * what f's own fan-out asks, so 16 under 16 ask for 256. Computed once
 * here: nothing keeps a pointer to the fan-outs around it. */
static void inherit_asked(ObjTasks *t, Fiber *f, uint32_t limit) {
  const ObjTasks *outer = f->task;
  uint64_t a = (uint64_t)(limit ? limit : 1) * (outer ? outer->asked : 1);
  t->asked = a > UINT32_MAX ? UINT32_MAX : (uint32_t)a;
}

uint32_t tasks_asked(const ObjTasks *t, uint32_t *limit, const char **prefix) {
  *limit = t ? t->limit : 0;
  *prefix = t ? t->prefix : NULL;
  return t ? t->asked : 1;
}

bool tasks_note_once(ObjTasks *t) {
  if (!t || t->host_noted) return false;
  t->host_noted = true;
  return true;
}

NativeStatus tasks_fanout(VM *vm, Fiber *f, uint32_t mode, const Value *args, Value *out) {
  Value xs = args[0], fn = args[1], lim = args[2];
  const Module *m = vm->mod;
  uint32_t n;
  if (mode == 0) {
    if (!v_is(xs, OBJ_LIST)) return vm_raise(vm, f, "fanout needs a list, got %s", v_type_name(xs));
    if (!v_is(fn, OBJ_FUNC) || AS_FUNC(fn)->fn >= m->nfuncs)
      return vm_raise(vm, f, "fanout needs a function, got %s", v_type_name(fn));
    const FuncProto *p = &m->funcs[AS_FUNC(fn)->fn];
    if (p->arity != 1) return vm_raise(vm, f, "fanout: %s must take 1 argument, it takes %u", p->name, p->arity);
    n = AS_LIST(xs)->n;
  } else if (mode == 1) {
    if (!v_is(xs, OBJ_RECORD)) return vm_raise(vm, f, "fanout needs a record of functions, got %s", v_type_name(xs));
    if (fn.tag != V_NONE) return vm_raise(vm, f, "fanout over a record takes no branch function");
    ObjRecord *r = AS_RECORD(xs);
    n = r->shape->n;
    for (uint32_t i = 0; i < n; i++) {
      Value v = r->vals[i];
      if (!v_is(v, OBJ_FUNC) || AS_FUNC(v)->fn >= m->nfuncs || m->funcs[AS_FUNC(v)->fn].arity != 0)
        return vm_raise(vm, f, "fanout: field \"%s\" is not a function of no arguments",
                        r->shape->names[i] ? r->shape->names[i]->data : "?");
    }
  } else {
    return vm_raise(vm, f, "fanout: unknown mode %u", mode);
  }
  uint32_t limit = 0;
  if (lim.tag == V_INT) {
    if (lim.as.i < 1) return vm_raise(vm, f, "fanout limit must be at least 1, got %" PRId64, lim.as.i);
    limit = lim.as.i > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)lim.as.i;
  } else if (lim.tag != V_NONE) {
    return vm_raise(vm, f, "fanout limit must be an int, got %s", v_type_name(lim));
  }
  if (!vm_charge(vm, f, (uint64_t)n + 1)) return NATIVE_ERROR;
  if (!vm_check_alloc(vm, f, sizeof(ObjTasks) + (size_t)n * sizeof(Branch))) return NATIVE_ERROR;
  if (n > 0 && vm->live_fibers >= vm->limits.max_fibers)
    return vm_raise_kind(vm, f, "limit", "fiber limit (%u) exceeded", vm->limits.max_fibers);
  /* the FANOUT instruction's line: the frame's ip is just past it */
  uint32_t line = 0, col = 0;
  if (f->nframes) {
    const Frame *fr = &f->frames[f->nframes - 1];
    if (fr->fn < m->nfuncs) func_line_at(&m->funcs[fr->fn], fr->ip ? fr->ip - 1 : 0, &line, &col);
  }
  ObjTasks *t = heap_alloc(&vm->heap, sizeof *t);
  memset(t, 0, sizeof *t);
  t->prefix = fiber_fanout_prefix(f, line);
  t->h.rc = 1;
  t->h.kind = OBJ_TASKS;
  t->vm = vm;
  t->items = v_retain(xs);
  t->fn = v_retain(fn);
  t->n = n;
  t->limit = limit;
  t->mode = (uint8_t)mode;
  inherit_asked(t, f, limit);
  t->marks = vm_fiber_marks(vm, f);
  t->budget = budget_retain(f->budget);
  t->first_bad = NO_INDEX;
  live_link(vm, t, line);
  t->br = n ? heap_alloc(&vm->heap, (size_t)n * sizeof(Branch)) : NULL;
  for (uint32_t i = 0; i < n; i++) {
    Branch *b = &t->br[i];
    b->result = v_none();
    b->fiber = NULL;
    b->message = NULL;
    b->addr = NULL;
    b->kind = NULL;
    b->finished = 0;
    b->state = BR_PENDING;
  }
  start_pending(vm, t);
  *out = v_obj(&t->h);
  return NATIVE_OK;
}

/* ---- outcomes ------------------------------------------------------------ */

/* Every branch result, in input order: a list, or for a record fan-out a
 * record of the same shape. Results are moved out. */
static Value all_results(VM *vm, ObjTasks *t) {
  if (t->mode == 1) {
    Value r = v_record(&vm->heap, AS_RECORD(t->items)->shape);
    for (uint32_t i = 0; i < t->n; i++) {
      AS_RECORD(r)->vals[i] = t->br[i].result;
      AS_RECORD(r)->h.label = label_join(AS_RECORD(r)->h.label, v_label(t->br[i].result));
      t->br[i].result = v_none();
    }
    return r;
  }
  Value l = v_list(&vm->heap, t->n);
  for (uint32_t i = 0; i < t->n; i++) {
    AS_LIST(l)->items[i] = t->br[i].result;
    AS_LIST(l)->h.label = label_join(AS_LIST(l)->h.label, v_label(t->br[i].result));
    t->br[i].result = v_none();
  }
  AS_LIST(l)->n = t->n;
  return l;
}

static ObjShape *make_shape(Heap *h, const char *const *names, uint32_t n) {
  ObjShape *s = shape_new(h, n);
  for (uint32_t i = 0; i < n; i++) s->names[i] = AS_STRING(v_cstring(h, names[i]));
  return s;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* With `first K`: the finish number of the K-th success, so the first K
 * to succeed are the done branches finished at or before it. Without:
 * every success counts. */
static uint32_t success_cut(ObjTasks *t) {
  if (!(t->bits & BARRIER_FIRST)) return UINT32_MAX;
  uint32_t k = (uint32_t)t->k;
  if (k == 0) return 0;
  uint32_t *seq = xmalloc((size_t)t->nok * sizeof *seq);
  uint32_t m = 0;
  for (uint32_t i = 0; i < t->n; i++)
    if (t->br[i].state == BR_DONE) seq[m++] = t->br[i].finished;
  qsort(seq, m, sizeof *seq, cmp_u32);
  uint32_t last = seq[k - 1];
  free(seq);
  return last;
}

Value vm_failure_value(VM *vm, int64_t branch, const char *kind, const char *message, const char *addr) {
  Heap *h = &vm->heap;
  static const char *const fnames[] = {"branch", "kind", "message", "address"};
  ObjShape *fs = make_shape(h, fnames, 4);
  Value r = v_record(h, fs);
  v_release(h, v_obj(&fs->h));
  AS_RECORD(r)->vals[0] = v_int(branch);
  AS_RECORD(r)->vals[1] = v_cstring(h, kind ? kind : "error");
  AS_RECORD(r)->vals[2] = v_cstring(h, message ? message : "");
  AS_RECORD(r)->vals[3] = v_cstring(h, addr ? addr : "");
  return r;
}

Value vm_failed_variant(VM *vm, Value error) {
  static const char *const names[] = {"type", "error"};
  ObjShape *sh = make_shape(&vm->heap, names, 2);
  Value r = v_record(&vm->heap, sh);
  v_release(&vm->heap, v_obj(&sh->h));
  AS_RECORD(r)->vals[0] = v_cstring(&vm->heap, "Failed");
  AS_RECORD(r)->vals[1] = error;
  return r;
}

/* { ok: [results of the successful branches], failed: [failure, ...] },
 * both in input order (with `first K`, ok holds the first K to succeed). */
static Value joined_result(VM *vm, ObjTasks *t) {
  Heap *h = &vm->heap;
  static const char *const jn[] = {"ok", "failed"};
  uint32_t cut = success_cut(t);
  Value ok = v_list(h, t->nok);
  Value bad = v_list(h, t->nbad);
  for (uint32_t i = 0; i < t->n; i++) {
    Branch *b = &t->br[i];
    if (b->state == BR_DONE && b->finished <= cut) {
      AS_LIST(ok)->items[AS_LIST(ok)->n++] = b->result;
      AS_LIST(ok)->h.label = label_join(AS_LIST(ok)->h.label, v_label(b->result));
      b->result = v_none();
    } else if (b->state == BR_FAILED && AS_LIST(bad)->n < AS_LIST(bad)->cap) {
      /* a branch stopped from outside (timeout) failed at its own address */
      char *at = b->addr ? NULL : t->prefix ? xasprintf("%s[%u]", t->prefix, i) : NULL;
      Value r = vm_failure_value(vm, i, b->kind, b->message, b->addr ? b->addr : at);
      free(at);
      if (b->label) {
        AS_RECORD(r)->vals[2] = v_with_label(h, AS_RECORD(r)->vals[2], b->label);
        AS_RECORD(r)->h.label = b->label;
        AS_LIST(bad)->h.label = label_join(AS_LIST(bad)->h.label, b->label);
      }
      AS_LIST(bad)->items[AS_LIST(bad)->n++] = r;
    }
  }
  ObjShape *js = make_shape(h, jn, 2);
  Value r = v_record(h, js);
  v_release(h, v_obj(&js->h));
  AS_RECORD(r)->vals[0] = ok;
  AS_RECORD(r)->vals[1] = bad;
  AS_RECORD(r)->h.label = label_join(v_label(ok), v_label(bad));
  return r;
}

/* The first k branches to succeed (by finish order), in input order. */
static Value first_results(VM *vm, ObjTasks *t) {
  uint32_t k = (uint32_t)t->k;
  Value l = v_list(&vm->heap, k);
  if (k == 0) return l;
  uint32_t last = success_cut(t);
  for (uint32_t i = 0; i < t->n && AS_LIST(l)->n < k; i++) {
    Branch *b = &t->br[i];
    if (b->state != BR_DONE || b->finished > last) continue;
    AS_LIST(l)->items[AS_LIST(l)->n++] = b->result;
    AS_LIST(l)->h.label = label_join(AS_LIST(l)->h.label, v_label(b->result));
    b->result = v_none();
  }
  return l;
}

/* "branch 3: message" of the first failure, for the counting errors. */
static void put_first_failure(Buf *msg, const ObjTasks *t) {
  const Branch *b = &t->br[t->first_bad];
  buf_printf(msg, "first failure: branch %u: %s", t->first_bad, b->message ? b->message : "failed");
}

/* The barrier's verdict on what has finished so far. On DECIDED_OK *out
 * holds the result (moved out of the branches); on DECIDED_FAIL *kind and
 * msg say why. */
static int decide(VM *vm, ObjTasks *t, Value *out, const char **kind, Buf *msg) {
  uint32_t n = t->n;
  *kind = "error";
  if (t->first_bad != NO_INDEX) {
    const char *k = t->br[t->first_bad].kind;
    if (k && strcmp(k, "cancelled") != 0) *kind = k;
  }
  bool tol = t->bits & (BARRIER_TOLERATE | BARRIER_TOLERATE_P), first = t->bits & BARRIER_FIRST;
  if (tol && (int64_t)t->nbad > t->tol) {
    buf_printf(msg, "%u of %u branches failed (tolerated: %" PRId64 "): ", t->nbad, n, t->tol);
    put_first_failure(msg, t);
    return DECIDED_FAIL;
  }
  if (!tol && !first && t->nbad) {
    const Branch *b = &t->br[t->first_bad];
    buf_printf(msg, "branch %u failed: %s", t->first_bad, b->message ? b->message : "failed");
    return DECIDED_FAIL;
  }
  if (first) {
    if ((int64_t)t->nok >= t->k) {
      *out = tol ? joined_result(vm, t) : first_results(vm, t);
      return DECIDED_OK;
    }
    if ((int64_t)(n - t->nbad) < t->k) {
      buf_printf(msg, "%u of %u branches failed, so %" PRId64 " cannot succeed: ", t->nbad, n, t->k);
      put_first_failure(msg, t);
      return DECIDED_FAIL;
    }
    return UNDECIDED;
  }
  if (t->nok + t->nbad == n) {
    *out = tol ? joined_result(vm, t) : all_results(vm, t);
    return DECIDED_OK;
  }
  return UNDECIDED;
}

/* The barrier is decided: every branch still running is cancelled (its
 * fiber freed), every pending one never starts. */
static void cancel_rest(VM *vm, ObjTasks *t) {
  t->decided = true;
  for (uint32_t i = 0; i < t->n; i++) {
    Branch *b = &t->br[i];
    if (b->state == BR_RUNNING) {
      b->state = BR_CANCELLED;
      b->kind = "cancelled";
      drop_fiber(vm, t, b, NULL);
    } else if (b->state == BR_PENDING) {
      b->state = BR_CANCELLED;
      b->kind = "cancelled";
    }
  }
  t->next = t->n;
  t->running = 0;
}

/* The timeout fired: every unfinished branch fails with kind "timeout". */
static void time_out(VM *vm, ObjTasks *t) {
  Buf d;
  buf_init(&d);
  dur_format(&d, t->timeout_ms);
  buf_putc(&d, '\0');
  for (uint32_t i = 0; i < t->n; i++) {
    Branch *b = &t->br[i];
    if (b->state != BR_RUNNING && b->state != BR_PENDING) continue;
    drop_fiber(vm, t, b, "timed out");
    branch_fail(t, i, "timeout", xasprintf("timed out after %s", d.data));
  }
  buf_free(&d);
  t->next = t->n;
  t->running = 0;
}

/* Result memory is checked before building: a waiter resumed from the
 * scheduler has no instruction to turn an over-limit heap into an error. */
static bool result_fits(VM *vm, ObjTasks *t) {
  return !heap_would_exceed(&vm->heap, (size_t)t->n * (sizeof(Value) + 64) + 256);
}

/* ---- BARRIER ------------------------------------------------------------- */

/* The barrier event: written once, when the barrier is decided. */
static void trace_barrier(VM *vm, ObjTasks *t, bool ok, const char *error) {
  Trace *tr = vm->trace;
  if (t->mode == 2) return; /* a budget block has no barrier */
  if (!trace_begin(tr, "barrier", t->barrier_addr)) return;
  Buf mode;
  buf_init(&mode);
  if (t->bits & BARRIER_TOLERATE) buf_printf(&mode, "tolerate %" PRId64, t->tol);
  else if (t->bits & BARRIER_TOLERATE_P) buf_printf(&mode, "tolerate%% (%" PRId64 ")", t->tol);
  if (t->bits & BARRIER_FIRST) buf_printf(&mode, "%sfirst %" PRId64, mode.len ? ", " : "", t->k);
  if (t->bits & BARRIER_TIMEOUT) {
    buf_printf(&mode, "%stimeout ", mode.len ? ", " : "");
    dur_format(&mode, t->timeout_ms);
  }
  if (!mode.len) buf_puts(&mode, "all");
  trace_str(tr, "mode", mode.data, mode.len);
  buf_free(&mode);
  trace_int(tr, "branches", t->n);
  trace_int(tr, "ok", t->nok);
  trace_int(tr, "failed", t->nbad);
  trace_int(tr, "duration_ms", (int64_t)(vm_now_ms(vm) - t->barrier_at));
  trace_cstr(tr, "status", ok ? "ok" : "failed");
  if (error) trace_cstr(tr, "error", error);
  trace_end(tr);
}

NativeStatus tasks_barrier(VM *vm, Fiber *f, uint32_t bits, const Value *args, Value *out) {
  if (!v_is(args[0], OBJ_TASKS)) return vm_raise(vm, f, "barrier needs tasks, got %s", v_type_name(args[0]));
  ObjTasks *t = as_tasks(args[0]);
  if (t->vm != vm) return vm_raise(vm, f, "barrier: these tasks belong to another VM");
  if (t->joined) return vm_raise(vm, f, "barrier: these tasks were already joined by a barrier");
  if (bits & ~(uint32_t)(BARRIER_TOLERATE | BARRIER_TOLERATE_P | BARRIER_FIRST | BARRIER_TIMEOUT))
    return vm_raise(vm, f, "barrier: unknown options 0x%x", bits);
  if ((bits & BARRIER_TOLERATE) && (bits & BARRIER_TOLERATE_P))
    return vm_raise(vm, f, "barrier: tolerate is given twice");
  int64_t ntol = 0, k = 0, d = 0;
  if (bits & BARRIER_TOLERATE) {
    if (args[1].tag != V_INT) return vm_raise(vm, f, "barrier tolerate needs an int, got %s", v_type_name(args[1]));
    if (args[1].as.i < 0) return vm_raise(vm, f, "barrier tolerate must not be negative, got %" PRId64, args[1].as.i);
    ntol = args[1].as.i;
  }
  if (bits & BARRIER_TOLERATE_P) {
    double p;
    if (args[1].tag == V_FLOAT) p = args[1].as.f;
    else if (args[1].tag == V_INT) p = (double)args[1].as.i;
    else return vm_raise(vm, f, "barrier tolerate needs a percentage, got %s", v_type_name(args[1]));
    if (!(p >= 0) || isinf(p)) return vm_raise(vm, f, "barrier tolerate must be a percentage from 0%%, got %g%%", p);
    /* rounded down; the epsilon keeps 10% of 30 at 3 despite binary floats */
    double x = p >= 100 ? (double)t->n : floor(p * (double)t->n / 100.0 + 1e-9);
    ntol = (int64_t)x;
  }
  if (bits & BARRIER_FIRST) {
    if (args[2].tag != V_INT) return vm_raise(vm, f, "barrier first needs an int, got %s", v_type_name(args[2]));
    k = args[2].as.i;
    if (k < 0) return vm_raise(vm, f, "barrier first must not be negative, got %" PRId64, k);
    if (k > (int64_t)t->n)
      return vm_raise(vm, f, "barrier first %" PRId64 ": there are only %u branches", k, t->n);
  }
  if (bits & BARRIER_TIMEOUT) {
    if (args[3].tag != V_DURATION) return vm_raise(vm, f, "barrier timeout needs a duration, got %s", v_type_name(args[3]));
    d = args[3].as.i;
  }
  if (!vm_charge(vm, f, (uint64_t)t->n + 1)) return NATIVE_ERROR;
  if (!result_fits(vm, t))
    return vm_raise_kind(vm, f, "limit", "memory limit (%zu bytes) exceeded", vm->limits.max_memory);
  t->joined = true;
  t->barrier_at = vm_now_ms(vm);
  if (vm->trace) {
    Buf a;
    buf_init(&a);
    fiber_effect_address(f, "barrier", &a);
    buf_putc(&a, '\0');
    t->barrier_addr = a.data;
  } else {
    f->effects++; /* the address counter advances with or without a trace */
  }
  t->bits = (uint8_t)bits;
  t->tol = ntol;
  t->k = k;
  t->timeout_ms = d;
  const char *kind;
  Buf msg;
  buf_init(&msg);
  int st = decide(vm, t, out, &kind, &msg);
  if (st == UNDECIDED && (bits & BARRIER_TIMEOUT) && d <= 0) {
    time_out(vm, t);
    st = decide(vm, t, out, &kind, &msg);
  }
  if (st != UNDECIDED) {
    cancel_rest(vm, t);
    if (st == DECIDED_OK) {
      trace_barrier(vm, t, true, NULL);
      buf_free(&msg);
      return NATIVE_OK;
    }
    buf_putc(&msg, '\0');
    trace_barrier(vm, t, false, msg.data);
    vm_raise_kind(vm, f, kind, "%s", msg.data);
    buf_free(&msg);
    return NATIVE_ERROR;
  }
  buf_free(&msg);
  t->waiter = f;
  t->h.rc++;
  f->join = t;
  if (bits & BARRIER_TIMEOUT) vm_park_timer(vm, f, d, v_none());
  else f->state = FIBER_PARKED;
  /* branches that could not start for lack of fibers get another try */
  if (t->next < t->n) mark_dirty(vm, t);
  return NATIVE_PARK;
}

/* ---- settling ------------------------------------------------------------ */

/* Hands the decided outcome to the parked waiter and drops its reference
 * (the caller still holds one). */
static void deliver(VM *vm, ObjTasks *t, int st, Value r, const char *kind, Buf *msg) {
  cancel_rest(vm, t);
  Fiber *w = t->waiter;
  t->waiter = NULL;
  w->join = NULL;
  if (st == DECIDED_OK) {
    trace_barrier(vm, t, true, NULL);
    vm_wake(vm, w, r);
  } else {
    buf_putc(msg, '\0');
    trace_barrier(vm, t, false, msg->data);
    /* the message may quote the first failure's */
    Label l = t->first_bad != NO_INDEX && t->first_bad < t->n ? t->br[t->first_bad].label : LABEL_NONE;
    vm_fail_parked_label(vm, w, kind, msg->data, NULL, l); /* may free w (a branch itself) */
  }
  v_release(&vm->heap, v_obj(&t->h));
}

static void settle_one(VM *vm, ObjTasks *t) {
  /* only the settle list still holds it (its waiter and creator are gone):
   * it is about to be freed, so start nothing more */
  if (t->h.rc == 1) return;
  if (t->mode == 2) {
    settle_budget(vm, t);
    return;
  }
  for (;;) {
    if (t->decided) return;
    if (t->waiter) {
      if (t->timed_out) {
        t->timed_out = false;
        time_out(vm, t);
      }
      if (result_fits(vm, t)) {
        Value r = v_none();
        const char *kind;
        Buf msg;
        buf_init(&msg);
        int st = decide(vm, t, &r, &kind, &msg);
        if (st != UNDECIDED) {
          deliver(vm, t, st, r, kind, &msg);
          buf_free(&msg);
          return;
        }
        buf_free(&msg);
      } else {
        Buf msg;
        buf_init(&msg);
        buf_printf(&msg, "memory limit (%zu bytes) exceeded", vm->limits.max_memory);
        deliver(vm, t, DECIDED_FAIL, v_none(), "limit", &msg);
        buf_free(&msg);
        return;
      }
    }
    if (!start_pending(vm, t)) return;
  }
}

void tasks_settle(VM *vm) {
  ObjTasks *t;
  while ((t = vm->tasks_dirty) != NULL) {
    vm->tasks_dirty = t->dirty_next;
    if (!vm->tasks_dirty) vm->tasks_dirty_tail = NULL;
    t->dirty_next = NULL;
    t->dirty = false;
    settle_one(vm, t);
    v_release(&vm->heap, v_obj(&t->h));
  }
}

void tasks_clear_dirty(VM *vm) {
  ObjTasks *t;
  while ((t = vm->tasks_dirty) != NULL) {
    vm->tasks_dirty = t->dirty_next;
    if (!vm->tasks_dirty) vm->tasks_dirty_tail = NULL;
    t->dirty_next = NULL;
    t->dirty = false;
    v_release(&vm->heap, v_obj(&t->h));
  }
}

/* ---- hooks from the scheduler -------------------------------------------- */

void tasks_branch_finished(VM *vm, Fiber *f) {
  ObjTasks *t = f->task;
  uint32_t i = f->branch;
  Branch *b = &t->br[i];
  f->task = NULL;
  if (b->fiber == f) {
    b->fiber = NULL;
    if (t->running) t->running--;
    if (f->state == FIBER_DONE) vm->branches_ok++;
    else vm->branches_failed++;
    trace_fiber_end(vm, f, f->state == FIBER_DONE ? "ok" : "failed", f->state == FIBER_DONE ? NULL : f->error);
    if (f->state == FIBER_DONE) {
      b->result = f->result;
      f->result = v_none();
      b->state = BR_DONE;
      b->finished = ++t->nfinished;
      t->nok++;
    } else {
      char *msg = f->error ? f->error : xasprintf("branch %u failed", i);
      f->error = NULL;
      branch_fail(t, i, f->error_kind ? f->error_kind : "error", msg);
      b->label = f->error_label;
      free(b->addr);
      b->addr = f->error_addr;
      f->error_addr = NULL;
    }
    mark_dirty(vm, t);
  }
  vm_fiber_free(vm, f);
}

void tasks_fiber_gone(VM *vm, Fiber *f) {
  if (f->task) {
    ObjTasks *t = f->task;
    Branch *b = &t->br[f->branch];
    f->task = NULL;
    if (b->fiber == f) { /* freed from outside (vm_free): counts as cancelled */
      b->fiber = NULL;
      if (t->running) t->running--;
      vm->branches_cancelled++;
      trace_fiber_end(vm, f, "cancelled", NULL);
      if (b->state == BR_RUNNING) {
        branch_fail(t, f->branch, "cancelled", xasprintf("branch %u was cancelled", f->branch));
        mark_dirty(vm, t);
      }
    }
  }
  if (f->join) {
    ObjTasks *t = f->join;
    f->join = NULL;
    if (t->waiter == f) t->waiter = NULL;
    v_release(&vm->heap, v_obj(&t->h));
  }
}

void tasks_timer_due(VM *vm, Fiber *f) {
  ObjTasks *t = f->join;
  if (!t || t->waiter != f || t->decided) return;
  t->timed_out = true;
  mark_dirty(vm, t);
}

/* ---- freeing ------------------------------------------------------------- */

static void tasks_destroy(VM *vm, ObjTasks *t) {
  Heap *h = &vm->heap;
  /* first: dropping a branch cancels its calls, and charging a cancelled
   * call may exhaust this block's budget, which must not mark a dying
   * tasks object dirty */
  if (t->own && t->own->owner == t) t->own->owner = NULL;
  for (uint32_t i = 0; i < t->n; i++) {
    Branch *b = &t->br[i];
    drop_fiber(vm, t, b, NULL);
    v_release(h, b->result);
    free(b->message);
    free(b->addr);
  }
  free(t->prefix);
  free(t->barrier_addr);
  budget_release(vm, t->own);
  budget_release(vm, t->budget);
  v_release(h, t->items);
  v_release(h, t->fn);
  if (t->br) heap_free(h, t->br, (size_t)t->n * sizeof(Branch));
  live_unlink(vm, t);
  heap_free(h, t, sizeof *t);
}

void tasks_release_obj(Heap *h, Obj *o) {
  ObjTasks *t = (ObjTasks *)(void *)o;
  VM *vm = t->vm;
  (void)h;
  t->dying_next = vm->tasks_dying;
  vm->tasks_dying = t;
  if (vm->tasks_draining) return; /* the loop below, further up the C stack, frees it */
  vm->tasks_draining = true;
  while ((t = vm->tasks_dying) != NULL) {
    vm->tasks_dying = t->dying_next;
    tasks_destroy(vm, t);
  }
  vm->tasks_draining = false;
}

/* ---- BUDGET blocks ----------------------------------------------------------
 *
 * A block is a one-branch tasks object (mode 2): the body runs in its own
 * fiber under the block's budget, the enclosing fiber waits like a barrier
 * waiter. Exhaustion of the block's budget does not cancel the body: the
 * engine refuses what asks next, with kind "budget", and the body goes on
 * with what completed (a tolerant barrier keeps it). When its time runs
 * out, what computes, sleeps or waits on a model under it fails with kind
 * "budget" too (vm_budget_time_stop and the engine's sweep). The body's
 * outcome decides: a value is the block's value; a "budget" failure that
 * escapes it while the block's own budget is exhausted starts the else
 * function in the same branch slot under the enclosing budget, or fails
 * the waiter with kind "budget". Any other failure (including an
 * enclosing budget's exhaustion) passes through unchanged. */

NativeStatus tasks_budget(VM *vm, Fiber *f, uint32_t bits, const Value *args, Value *out) {
  const Module *m = vm->mod;
  Value fn = args[0], els = args[1];
  (void)out;
  if (!v_is(fn, OBJ_FUNC) || AS_FUNC(fn)->fn >= m->nfuncs || m->funcs[AS_FUNC(fn)->fn].arity != 0)
    return vm_raise(vm, f, "budget needs a function of no arguments, got %s", v_type_name(fn));
  if (els.tag != V_NONE &&
      (!v_is(els, OBJ_FUNC) || AS_FUNC(els)->fn >= m->nfuncs || m->funcs[AS_FUNC(els)->fn].arity != 0))
    return vm_raise(vm, f, "budget else needs a function of no arguments, got %s", v_type_name(els));
  if (!bits || (bits & ~(uint32_t)(BUDGET_CALLS | BUDGET_TOKENS | BUDGET_USD | BUDGET_TIME)))
    return vm_raise(vm, f, "budget: bad limits 0x%x", bits);
  int64_t calls = 0, tokens = 0, time_ms = 0;
  double usd = 0;
  if (bits & BUDGET_CALLS) {
    if (args[2].tag != V_INT) return vm_raise(vm, f, "budget calls needs an int, got %s", v_type_name(args[2]));
    calls = args[2].as.i;
  }
  if (bits & BUDGET_TOKENS) {
    if (args[3].tag != V_INT) return vm_raise(vm, f, "budget tokens needs an int, got %s", v_type_name(args[3]));
    tokens = args[3].as.i;
  }
  if (bits & BUDGET_USD) {
    if (args[4].tag == V_FLOAT) usd = args[4].as.f;
    else if (args[4].tag == V_INT) usd = (double)args[4].as.i;
    else return vm_raise(vm, f, "budget usd needs a float, got %s", v_type_name(args[4]));
    if (isnan(usd)) return vm_raise(vm, f, "budget usd is not a number");
  }
  if (bits & BUDGET_TIME) {
    if (args[5].tag != V_DURATION) return vm_raise(vm, f, "budget time needs a duration, got %s", v_type_name(args[5]));
    time_ms = args[5].as.i;
  }
  if (calls < 0 || tokens < 0 || usd < 0 || time_ms < 0)
    return vm_raise(vm, f, "budget limits must not be negative");
  if (!vm_charge(vm, f, 2)) return NATIVE_ERROR;
  if (vm->live_fibers >= vm->limits.max_fibers)
    return vm_raise_kind(vm, f, "limit", "fiber limit (%u) exceeded", vm->limits.max_fibers);
  uint32_t line = 0, col = 0;
  if (f->nframes) {
    const Frame *fr = &f->frames[f->nframes - 1];
    if (fr->fn < m->nfuncs) func_line_at(&m->funcs[fr->fn], fr->ip ? fr->ip - 1 : 0, &line, &col);
  }
  Buf a;
  buf_init(&a);
  fiber_effect_address(f, "budget", &a);
  buf_printf(&a, "@%u", line);
  buf_putc(&a, '\0');
  /* the block's budget and its address are counted in the heap too */
  if (!vm_check_alloc(vm, f, sizeof(ObjTasks) + sizeof(Branch) + sizeof(Budget) + a.len)) {
    buf_free(&a);
    return NATIVE_ERROR;
  }
  ObjTasks *t = heap_alloc(&vm->heap, sizeof *t);
  memset(t, 0, sizeof *t);
  t->prefix = a.data;
  t->h.rc = 1;
  t->h.kind = OBJ_TASKS;
  t->vm = vm;
  t->items = v_retain(els);
  t->fn = v_retain(fn);
  t->n = 1;
  t->mode = 2;
  live_link(vm, t, line);
  inherit_asked(t, f, 0);
  t->marks = vm_fiber_marks(vm, f);
  t->first_bad = NO_INDEX;
  t->br = heap_alloc(&vm->heap, sizeof(Branch));
  memset(t->br, 0, sizeof(Branch));
  t->br[0].result = v_none();
  t->br[0].state = BR_PENDING;
  t->own = budget_new(vm, f->budget, bits, calls, tokens, usd, time_ms, t->prefix);
  t->own->owner = t;
  t->budget = budget_retain(t->own);
  t->joined = true;
  t->barrier_at = vm_now_ms(vm);
  /* the waiter holds the only reference: the tasks never reach the stack */
  t->waiter = f;
  f->join = t;
  f->state = FIBER_PARKED;
  /* the time limit holds even for a body that never asks: the waiter's
   * timer (like a barrier timeout) exhausts the budget at the deadline, and
   * the scheduler checks timers between slices, so a busy body is stopped
   * within one slice */
  if (bits & BUDGET_TIME) vm_park_timer(vm, f, time_ms, v_none());
  budget_check(vm, t->own); /* a zero limit: exhausted before anything runs */
  mark_dirty(vm, t);
  return NATIVE_PARK;
}

/* Resets the block's branch slot for the else function. */
static void budget_to_else(VM *vm, ObjTasks *t) {
  Branch *b = &t->br[0];
  free(b->message);
  b->message = NULL;
  free(b->addr);
  b->addr = NULL;
  b->kind = NULL;
  b->finished = 0;
  b->state = BR_PENDING;
  t->next = 0;
  t->nbad = t->nfinished = 0;
  t->first_bad = NO_INDEX;
  t->in_else = true;
  v_release(&vm->heap, t->fn);
  t->fn = t->items;
  t->items = v_none();
  budget_release(vm, t->budget);
  t->budget = budget_retain(t->own->parent);
}

static void settle_budget(VM *vm, ObjTasks *t) {
  Branch *b = &t->br[0];
  for (;;) {
    if (t->decided || !t->waiter) return;
    if (t->timed_out) { /* the waiter's timer: the time limit is reached */
      t->timed_out = false;
      budget_check(vm, t->own);
    }
    if (!t->in_else && t->own->timed && !t->time_stopped) {
      t->time_stopped = true;
      t->own->refused = true;
      if (b->state == BR_PENDING) { /* a zero time limit: the body never starts */
        t->next = 1;
        branch_fail(t, 0, "budget", xasprintf("%s", t->own->why));
      } else {
        vm_budget_time_stop(vm, t->own); /* may fail the body itself */
      }
    }
    if (b->state == BR_PENDING) {
      start_pending(vm, t);
      if (b->state == BR_PENDING || b->state == BR_RUNNING) return;
      continue;
    }
    if (b->state == BR_RUNNING) return;
    Buf msg;
    buf_init(&msg);
    if (b->state == BR_DONE) {
      Value r = b->result;
      b->result = v_none();
      deliver(vm, t, DECIDED_OK, r, NULL, &msg);
      buf_free(&msg);
      return;
    }
    /* the block's own budget ran out and its failure escaped the body */
    bool mine = !t->in_else && t->own->exhausted && b->kind && strcmp(b->kind, "budget") == 0;
    if (mine && t->items.tag != V_NONE) {
      buf_free(&msg);
      budget_to_else(vm, t);
      continue;
    }
    buf_puts(&msg, b->message ? b->message : "budget block failed");
    deliver(vm, t, DECIDED_FAIL, v_none(), b->kind ? b->kind : "error", &msg);
    buf_free(&msg);
    return;
  }
}

/* ---- progress ------------------------------------------------------------ */

static void progress_budget(VM *vm, const Budget *b, ProgressBudget *o) {
  o->has = b->bits & (BUDGET_CALLS | BUDGET_TOKENS | BUDGET_USD | BUDGET_TIME);
  o->calls = b->calls_used;
  o->calls_max = b->calls_max;
  o->tokens = b->tokens_used;
  o->tokens_max = b->tokens_max;
  o->usd = b->usd_used;
  o->usd_max = b->usd_max;
  o->time_ms = (int64_t)(vm_now_ms(vm) - b->start_ms);
  o->time_max_ms = b->time_ms;
}

void vm_progress(VM *vm, Progress *p) {
  if (vm->budget) progress_budget(vm, vm->budget, &p->run_budget);
  ObjTasks *oldest = NULL, *block = NULL;
  uint32_t running = 0, seen = 0;
  /* newest first: the last match is the oldest; a run holds few live
   * fan-outs at once, but a hostile one may hold many: look at 10,000 */
  for (ObjTasks *t = vm->tasks_live; t && seen < 10000; t = t->live_next, seen++) {
    if (t->decided || t->nfinished >= t->n) continue;
    if (t->mode == 2) {
      if (t->own && !t->in_else) block = t;
      continue;
    }
    running++;
    oldest = t;
  }
  if (block) progress_budget(vm, block->own, &p->block_budget);
  if (!oldest) return;
  p->fanout_total = oldest->n;
  p->fanout_done = oldest->nfinished;
  p->fanout_failed = oldest->nbad;
  p->fanout_line = oldest->line;
  p->fanouts_more = running - 1;
  uint64_t took = vm_now_ms(vm) - oldest->born_ms;
  p->fanout_left_ms = oldest->nfinished ? (int64_t)((double)took / oldest->nfinished * (oldest->n - oldest->nfinished))
                                        : -1;
}
