/* fiber.c — fibers, the scheduler, timers, limits and runtime errors.
 *
 * The scheduler is a FIFO run queue of READY fibers plus a binary heap of
 * fibers parked on timers, ordered by (wake_at, timer_seq) so equal
 * deadlines wake in the order they were set. vm_run takes the next fiber,
 * runs it for a slice (VM_SLICE instructions, less when little fuel is
 * left), requeues it if it is still running, and when nothing is runnable
 * sleeps on CLOCK_MONOTONIC until the earliest timer is due — or, while
 * the host holds effects, waits in the host (the effects table's wait,
 * vm/effects.h; `weft run` blocks in curl_multi_poll) no longer than the
 * earliest timer. Everything stays on one thread: the host resumes fibers
 * by pushing them on the run queue from inside wait.
 *
 * Fan-out (vm/tasks.c) hooks in at four points: a finishing branch is
 * handed to its tasks object (run_slice, vm_fail_parked), freeing a fiber
 * detaches it from its tasks (vm_fiber_free), a barrier's timeout timer
 * goes to its tasks instead of waking the waiter (wake_due_timers), and the
 * loop settles changed tasks objects before it picks the next fiber.
 *
 * Fuel (vm->fuel) is the total number of instructions run plus the work
 * natives charge; it is deterministic, so a program hits the instruction
 * limit at the same instruction on every run. */
#include "vm_impl.h"
#include "trace.h"
#include "../base/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- limits ---------------------------------------------------------- */

void limits_default(Limits *l) {
  if (!l->max_instructions) l->max_instructions = 1000000000ULL;
  if (!l->max_memory) l->max_memory = (size_t)1 << 30;
  if (!l->max_call_depth) l->max_call_depth = 10000;
  if (!l->max_fibers) l->max_fibers = 100000;
}

/* ---- time ------------------------------------------------------------ */

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t vm_now_ms(VM *vm) { return mono_ms() - vm->clock_base_ms; }

void vm_clock_restart(VM *vm) { vm->clock_base_ms = mono_ms(); }

/* Sleeps until VM time `at` (ms), resuming after signals. */
static void sleep_until(VM *vm, uint64_t at) {
  uint64_t abs_ms = at + vm->clock_base_ms;
  struct timespec ts;
  ts.tv_sec = (time_t)(abs_ms / 1000u);
  ts.tv_nsec = (long)(abs_ms % 1000u) * 1000000L;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

/* ---- small helpers --------------------------------------------------- */

/* ---- run queue and timers ------------------------------------------ */

static void runq_push(VM *vm, Fiber *f) {
  f->next = NULL;
  f->prev = vm->runq_tail;
  if (vm->runq_tail) vm->runq_tail->next = f;
  else vm->runq_head = f;
  vm->runq_tail = f;
}

static Fiber *runq_pop(VM *vm) {
  Fiber *f = vm->runq_head;
  if (!f) return NULL;
  vm->runq_head = f->next;
  if (vm->runq_head) vm->runq_head->prev = NULL;
  else vm->runq_tail = NULL;
  f->next = f->prev = NULL;
  return f;
}

/* O(1) through the back link: cancelling a fan-out of 100,000 queued
 * branches frees every one of them. */
static void runq_remove(VM *vm, Fiber *f) {
  if (f->prev) f->prev->next = f->next;
  else if (vm->runq_head == f) vm->runq_head = f->next;
  else return; /* not queued */
  if (f->next) f->next->prev = f->prev;
  else vm->runq_tail = f->prev;
  f->next = f->prev = NULL;
}

static bool timer_before(const Fiber *a, const Fiber *b) {
  if (a->wake_at != b->wake_at) return a->wake_at < b->wake_at;
  return a->timer_seq < b->timer_seq;
}

static void timer_set(VM *vm, uint32_t i, Fiber *f) {
  vm->timers[i] = f;
  f->timer_index = i;
}

static void timer_sift_up(VM *vm, uint32_t i) {
  Fiber *f = vm->timers[i];
  while (i > 0) {
    uint32_t p = (i - 1) / 2;
    if (!timer_before(f, vm->timers[p])) break;
    timer_set(vm, i, vm->timers[p]);
    i = p;
  }
  timer_set(vm, i, f);
}

static void timer_sift_down(VM *vm, uint32_t i) {
  Fiber *f = vm->timers[i];
  for (;;) {
    uint32_t c = 2 * i + 1;
    if (c >= vm->ntimers) break;
    if (c + 1 < vm->ntimers && timer_before(vm->timers[c + 1], vm->timers[c])) c++;
    if (!timer_before(vm->timers[c], f)) break;
    timer_set(vm, i, vm->timers[c]);
    i = c;
  }
  timer_set(vm, i, f);
}

static void timer_push(VM *vm, Fiber *f) {
  if (vm->ntimers == vm->timers_cap) {
    uint32_t ncap = vm->timers_cap ? vm->timers_cap * 2 : 16;
    vm->timers = heap_realloc(&vm->heap, vm->timers, (size_t)vm->timers_cap * sizeof(Fiber *),
                              (size_t)ncap * sizeof(Fiber *));
    vm->timers_cap = ncap;
  }
  timer_set(vm, vm->ntimers++, f);
  timer_sift_up(vm, vm->ntimers - 1);
}

static void timer_remove_at(VM *vm, uint32_t i) {
  Fiber *last = vm->timers[--vm->ntimers];
  if (i == vm->ntimers) return;
  timer_set(vm, i, last);
  timer_sift_down(vm, i);
  timer_sift_up(vm, last->timer_index);
}

/* Wakes every fiber whose deadline has passed, earliest first. A sleep
 * that ended is journaled (by the host). */
static void wake_due_timers(VM *vm) {
  if (!vm->ntimers) return;
  uint64_t now = vm_now_ms(vm);

  while (vm->ntimers && vm->timers[0]->wake_at <= now) {
    Fiber *f = vm->timers[0];
    timer_remove_at(vm, 0);
    if (f->join) { /* a barrier's timeout: the tasks decide how f resumes */
      tasks_timer_due(vm, f);
      continue;
    }
    if (f->sleep_ms >= 0 && vm->effects && vm->effects->sleep_end) vm->effects->sleep_end(vm->effects->host, f);
    Value v = f->resume_value;
    f->resume_value = v_none();
    vm_wake(vm, f, v);
  }
  /* sleeps are committed with the next reply or at the end of the run: a
   * sleep lost to a crash costs only its time again, and an fsync per
   * timer would slow every short sleep down */
}

/* ---- fibers ---------------------------------------------------------- */

void fiber_grow_stack(VM *vm, Fiber *f, size_t need) {
  size_t ncap = f->stack_cap ? f->stack_cap : FIBER_INITIAL_STACK;
  while (ncap < need) ncap *= 2;
  if (ncap > UINT32_MAX) ncap = UINT32_MAX;
  f->stack = heap_realloc(&vm->heap, f->stack, (size_t)f->stack_cap * sizeof(Value), ncap * sizeof(Value));
  f->stack_cap = (uint32_t)ncap;
}

void fiber_grow_frames(VM *vm, Fiber *f) {
  uint32_t ncap = f->frames_cap ? f->frames_cap * 2 : FIBER_INITIAL_FRAMES;
  f->frames = heap_realloc(&vm->heap, f->frames, (size_t)f->frames_cap * sizeof(Frame), (size_t)ncap * sizeof(Frame));
  f->frames_cap = ncap;
}

/* Releases every value on f's stack and drops its frames: what is left of
 * a failed (or cancelled) fiber. */
static void fiber_unwind(VM *vm, Fiber *f) {
  for (uint32_t i = 0; i < f->sp; i++) v_release(&vm->heap, f->stack[i]);
  f->sp = 0;
  f->nframes = 0;
  f->ntries = 0;
}

static bool fiber_live(const Fiber *f) {
  return f->state != FIBER_DONE && f->state != FIBER_FAILED;
}

Fiber *vm_spawn(VM *vm, Value func, const Value *args, int argc, char **err) {
  if (vm->live_fibers >= vm->limits.max_fibers) {
    if (err) *err = xasprintf("fiber limit (%u) exceeded", vm->limits.max_fibers);
    return NULL;
  }
  if (!v_is(func, OBJ_FUNC) || AS_FUNC(func)->fn >= vm->mod->nfuncs) {
    if (err) *err = xasprintf("cannot start a fiber on a value of type %s", v_type_name(func));
    return NULL;
  }
  const FuncProto *p = &vm->mod->funcs[AS_FUNC(func)->fn];
  if (argc < 0 || p->arity != (uint32_t)argc || p->nlocals < p->arity) {
    if (err) *err = xasprintf("%s expects %u arguments, got %d", p->name, p->arity, argc);
    return NULL;
  }
  Fiber *f = heap_alloc(&vm->heap, sizeof *f);
  memset(f, 0, sizeof *f);
  f->id = vm->next_fiber_id++;
  f->result = v_none();
  f->resume_value = v_none();
  f->sleep_ms = -1;
  size_t need = 1 + (size_t)p->nlocals + p->max_stack;
  fiber_grow_stack(vm, f, need < FIBER_INITIAL_STACK ? FIBER_INITIAL_STACK : need);
  fiber_grow_frames(vm, f);
  f->stack[f->sp++] = v_retain(func);
  for (int i = 0; i < argc; i++) f->stack[f->sp++] = v_retain(args[i]);
  for (uint32_t i = (uint32_t)argc; i < p->nlocals; i++) f->stack[f->sp++] = v_none();
  Frame *fr = &f->frames[f->nframes++];
  fr->fn = AS_FUNC(func)->fn;
  fr->ip = 0;
  fr->base = 1;
  fr->closure = AS_FUNC(func);
  if (vm->nfibers == vm->fibers_cap) {
    uint32_t ncap = vm->fibers_cap ? vm->fibers_cap * 2 : 16;
    vm->fibers = heap_realloc(&vm->heap, vm->fibers, (size_t)vm->fibers_cap * sizeof(Fiber *),
                              (size_t)ncap * sizeof(Fiber *));
    vm->fibers_cap = ncap;
  }
  f->index = vm->nfibers;
  vm->fibers[vm->nfibers++] = f;
  vm->live_fibers++;
  f->state = FIBER_READY;
  runq_push(vm, f);
  return f;
}

/* Frees a fiber in any state: a queued or parked one is cancelled (a
 * branch is detached from its fan-out, a barrier waiter from its tasks;
 * a parked effect is withdrawn from the host, a sleep from the timers). */
void vm_fiber_free(VM *vm, Fiber *f) {
  if (!f) return;
  if (f->task || f->join) tasks_fiber_gone(vm, f);
  if (f->state == FIBER_READY) runq_remove(vm, f);
  if (f->state == FIBER_PARKED && f->timer_index < vm->ntimers && vm->timers[f->timer_index] == f)
    timer_remove_at(vm, f->timer_index);
  if (f->state == FIBER_PARKED && vm->effects && vm->effects->cancel) vm->effects->cancel(vm->effects->host, f);
  if (fiber_live(f)) vm->live_fibers--;
  fiber_unwind(vm, f);
  v_release(&vm->heap, f->result);
  v_release(&vm->heap, f->resume_value);
  free(f->error);
  free(f->error_trace);
  free(f->error_addr);
  heap_free(&vm->heap, f->tries, (size_t)f->tries_cap * sizeof *f->tries);
  if (f->path) heap_free(&vm->heap, f->path, strlen(f->path) + 1);
  budget_release(vm, f->budget);
  heap_free(&vm->heap, f->stack, (size_t)f->stack_cap * sizeof(Value));
  heap_free(&vm->heap, f->frames, (size_t)f->frames_cap * sizeof(Frame));
  uint32_t i = f->index;
  if (i < vm->nfibers && vm->fibers[i] == f) {
    vm->fibers[i] = vm->fibers[--vm->nfibers];
    vm->fibers[i]->index = i;
  }
  heap_free(&vm->heap, f, sizeof *f);
}

/* ---- errors ---------------------------------------------------------- */

void func_line_at(const FuncProto *p, uint32_t pc, uint32_t *line, uint32_t *col) {
  *line = 0;
  *col = 0;
  if (!p->nlines || !p->lines) return;
  uint32_t lo = 0, hi = p->nlines; /* last entry with lines[i].pc <= pc */
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (p->lines[mid].pc <= pc) lo = mid; else hi = mid;
  }
  if (p->lines[lo].pc > pc) return;
  *line = p->lines[lo].line;
  *col = p->lines[lo].col;
}

#define TRACE_HEAD 20u
#define TRACE_TAIL 5u

static void trace_frame(VM *vm, Buf *b, const Frame *fr) {
  const Module *m = vm->mod;
  if (fr->fn >= m->nfuncs) {
    buf_printf(b, "  at <function %u>\n", fr->fn);
    return;
  }
  const FuncProto *p = &m->funcs[fr->fn];
  const char *file = p->file < m->nfiles && m->files[p->file] ? m->files[p->file] : "?";
  uint32_t line, col;
  func_line_at(p, fr->ip ? fr->ip - 1 : 0, &line, &col);
  if (line) buf_printf(b, "  at %s (%s:%u:%u)\n", p->name ? p->name : "?", file, line, col);
  else buf_printf(b, "  at %s (%s)\n", p->name ? p->name : "?", file);
}

/* One line per frame, innermost first; very deep stacks keep their
 * innermost TRACE_HEAD and outermost TRACE_TAIL frames. */
static char *build_trace(VM *vm, Fiber *f) {
  Buf b;
  buf_init(&b);
  uint32_t n = f->nframes;
  for (uint32_t k = 0; k < n; k++) {
    if (n > TRACE_HEAD + TRACE_TAIL && k == TRACE_HEAD) {
      buf_printf(&b, "  ... %u more frames\n", n - TRACE_HEAD - TRACE_TAIL);
      k = n - TRACE_TAIL - 1;
      continue;
    }
    trace_frame(vm, &b, &f->frames[n - 1 - k]);
  }
  if (!b.data) return xstrdup("");
  return b.data;
}

/* Records the first error of a fiber: message (at most WEFT_MESSAGE_MAX
 * bytes: it may quote a program's string or a model's reply), trace and
 * kind. The stack is left for the scheduler to unwind (a native's
 * arguments are still in use while it raises). */
/* "file:line:col" of f's innermost frame, where an error was raised. */
static char *error_location(VM *vm, Fiber *f) {
  if (!f->nframes) return xstrdup("");
  const Frame *fr = &f->frames[f->nframes - 1];
  const Module *m = vm->mod;
  const FuncProto *p = &m->funcs[fr->fn];
  const char *file = p->file < m->nfiles && m->files[p->file] ? m->files[p->file] : "?";
  uint32_t line, col;
  func_line_at(p, fr->ip ? fr->ip - 1 : 0, &line, &col);
  return line ? xasprintf("%s:%u:%u", file, line, col) : xstrdup(file);
}

static NativeStatus raise_va(VM *vm, Fiber *f, const char *kind, const char *fmt, va_list ap) {
  if (f->state == FIBER_FAILED) return NATIVE_ERROR; /* the first error wins */
  char *msg = xvasprintf_cap(WEFT_MESSAGE_MAX, fmt, ap);
  free(f->error);
  free(f->error_trace);
  free(f->error_addr);
  f->error = msg;
  f->error_trace = build_trace(vm, f);
  f->error_addr = error_location(vm, f);
  f->error_kind = kind;
  f->error_label = LABEL_NONE;
  f->state = FIBER_FAILED;
  return NATIVE_ERROR;
}

void vm_raise_label(Fiber *f, Label l) {
  if (f->state == FIBER_FAILED) f->error_label = label_join(f->error_label, l);
}

NativeStatus vm_raise_kind(VM *vm, Fiber *f, const char *kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  NativeStatus st = raise_va(vm, f, kind, fmt, ap);
  va_end(ap);
  return st;
}

NativeStatus vm_raise(VM *vm, Fiber *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  NativeStatus st = raise_va(vm, f, "error", fmt, ap);
  va_end(ap);
  return st;
}

bool vm_failure_catchable(const VM *vm, const Fiber *f, const char *kind) {
  if (!kind || strcmp(kind, "error") == 0 || strcmp(kind, "timeout") == 0 || strcmp(kind, "steps") == 0 ||
      strcmp(kind, "untrusted") == 0)
    return true;
  if (strcmp(kind, "budget") == 0) return !budget_spent(f->budget) && !budget_run_failure(vm);
  return false; /* "limit", "cancelled" */
}

/* A failed fiber inside a `try` whose error it may catch: unwinds to the
 * innermost try (releasing what the frames and temporaries above it held,
 * as fiber_unwind does for the whole stack; a fan-out's tasks released
 * there cancel its branches) and readies the fiber at the try's handler
 * with `Failed { error }` pushed. Returns false, leaving f as it is,
 * otherwise. */
static bool fiber_catch(VM *vm, Fiber *f) {
  if (f->state != FIBER_FAILED || !f->ntries || !vm_failure_catchable(vm, f, f->error_kind)) return false;
  TryFrame t = f->tries[--f->ntries];
  if (t.nframes == 0 || t.nframes > f->nframes || t.sp > f->sp || t.sp >= f->stack_cap) return false;
  for (uint32_t i = t.sp; i < f->sp; i++) v_release(&vm->heap, f->stack[i]);
  f->sp = t.sp;
  f->nframes = t.nframes;
  f->frames[t.nframes - 1].ip = t.ip;
  Value err = vm_failure_value(vm, -1, f->error_kind, f->error, f->error_addr);
  if (f->error_label) {
    /* the message quotes untrusted data: the failure is built from it */
    ObjRecord *er = AS_RECORD(err);
    er->vals[2] = v_with_label(&vm->heap, er->vals[2], f->error_label);
    err = v_with_label(&vm->heap, err, f->error_label);
  }
  Value failed = vm_failed_variant(vm, err);
  f->stack[f->sp++] = v_with_label(&vm->heap, failed, f->error_label);
  f->error_label = LABEL_NONE;
  free(f->error);
  free(f->error_trace);
  free(f->error_addr);
  f->error = f->error_trace = f->error_addr = NULL;
  f->error_kind = NULL;
  if (vm->heap.limit && vm->heap.used <= vm->heap.limit) vm->heap.over_limit = false;
  f->state = FIBER_READY;
  runq_push(vm, f);
  return true;
}

void vm_fail_parked(VM *vm, Fiber *f, const char *kind, const char *msg) {
  vm_fail_parked_at(vm, f, kind, msg, NULL);
}

void vm_fail_parked_at(VM *vm, Fiber *f, const char *kind, const char *msg, const char *addr) {
  vm_fail_parked_label(vm, f, kind, msg, addr, LABEL_NONE);
}

void vm_fail_parked_label(VM *vm, Fiber *f, const char *kind, const char *msg, const char *addr, Label l) {
  if (f->state != FIBER_PARKED) return;
  if (f->timer_index < vm->ntimers && vm->timers[f->timer_index] == f) timer_remove_at(vm, f->timer_index);
  f->state = FIBER_RUNNING; /* raise_va keeps the first error of a FAILED fiber only */
  vm_raise_kind(vm, f, kind, "%s", msg);
  vm_raise_label(f, l);
  if (addr) {
    free(f->error_addr);
    f->error_addr = xstrdup(addr);
  }
  if (fiber_catch(vm, f)) return;
  fiber_unwind(vm, f);
  vm->live_fibers--;
  if (f->task) tasks_branch_finished(vm, f); /* frees f */
}

static bool fiber_under(const Fiber *f, const Budget *b) {
  for (const Budget *p = f->budget; p; p = p->parent)
    if (p == b) return true;
  return false;
}

void vm_budget_time_stop(VM *vm, Budget *b) {
  /* backwards: failing a branch frees only that fiber (its tasks settle
   * later), and a freed fiber's slot takes the last one, already seen */
  for (uint32_t i = vm->nfibers; i-- > 0;) {
    if (i >= vm->nfibers) continue;
    Fiber *f = vm->fibers[i];
    if (!f->task || !fiber_under(f, b)) continue;
    bool sleeping = f->state == FIBER_PARKED && !f->join && f->timer_index < vm->ntimers &&
                    vm->timers[f->timer_index] == f;
    if (f->state == FIBER_READY) {
      runq_remove(vm, f);
      f->state = FIBER_PARKED;
    } else if (!sleeping) {
      continue; /* asking (the engine stops the call), or waiting on a barrier */
    }
    f->sleep_ms = -1; /* a sleep cut short is not journaled as ended */
    vm_fail_parked(vm, f, "budget", b->why ? b->why : "budget exhausted: time");
  }
}

bool vm_charge(VM *vm, Fiber *f, uint64_t units) {
  uint64_t max = vm->limits.max_instructions;
  if (units > max || vm->fuel > max - units) {
    vm->fuel = max;
    vm_raise_kind(vm, f, "limit", "instruction limit (%" PRIu64 ") exceeded", max);
    return false;
  }
  vm->fuel += units;
  return true;
}

bool vm_check_alloc(VM *vm, Fiber *f, size_t bytes) {
  if (!vm->heap.over_limit && !heap_would_exceed(&vm->heap, bytes)) return true;
  vm->heap.over_limit = false;
  vm_raise_kind(vm, f, "limit", "memory limit (%zu bytes) exceeded", vm->limits.max_memory);
  return false;
}

bool vm_too_large(VM *vm, Fiber *f, const char *what) {
  vm_raise_kind(vm, f, "limit", "memory limit (%zu bytes) exceeded: %s", vm->limits.max_memory, what);
  return false;
}

/* The fuel left, as the work bound of one comparison. */
static uint64_t fuel_left(const VM *vm) {
  return vm->fuel < vm->limits.max_instructions ? vm->limits.max_instructions - vm->fuel : 0;
}

/* Charges a bounded comparison's work and turns its stop into an error. */
static bool charge_walk(VM *vm, Fiber *f, int status, uint64_t work) {
  if (status == EQ_DEEP) {
    vm_raise(vm, f, "cannot compare values nested deeper than %d levels", VALUE_MAX_DEPTH);
    return false;
  }
  if (status == EQ_COSTLY) return vm_charge(vm, f, UINT64_MAX);
  return vm_charge(vm, f, work);
}

bool vm_equal(VM *vm, Fiber *f, Value a, Value b, bool *eq) {
  uint64_t work = 0;
  int r = v_equal_bounded(a, b, fuel_left(vm), &work);
  *eq = r == EQ_YES;
  return charge_walk(vm, f, r == EQ_DEEP || r == EQ_COSTLY ? r : 0, work);
}

bool vm_compare(VM *vm, Fiber *f, Value a, Value b, int *order) {
  uint64_t work = 0;
  return charge_walk(vm, f, v_compare_bounded(a, b, fuel_left(vm), &work, order), work);
}

bool vm_render(VM *vm, Fiber *f, Value v, bool display, Buf *b) {
  /* nothing that would fail the charge or the memory check needs to be
   * measured exactly: stop sizing once past either */
  uint64_t cap = UINT64_MAX / 4;
  uint64_t fuel = fuel_left(vm);
  if (fuel < cap / VM_BYTES_PER_UNIT) cap = fuel * VM_BYTES_PER_UNIT;
  if (vm->heap.limit) {
    uint64_t left = vm->heap.limit > vm->heap.used ? vm->heap.limit - vm->heap.used : 0;
    if (left < cap) cap = left;
  }
  uint64_t est = v_render_size(v, cap);
  uint64_t need = est + b->len; /* b is outside the heap; its text is copied once */
  need = need > SIZE_MAX / 4 ? SIZE_MAX / 2 : need * 2;
  if (!vm_charge(vm, f, 1 + est / VM_BYTES_PER_UNIT) || !vm_check_alloc(vm, f, (size_t)need)) return false;
  char *why = NULL;
  if (display ? v_to_display(b, v, &why) : v_to_json(b, v, &why)) return true;
  vm_raise(vm, f, "%s", why);
  free(why);
  return false;
}

/* ---- parking --------------------------------------------------------- */

/* A sleep is an effect: when the host asks to be told (sleep_begin), it
 * traces it, journals it when it ends, and answers it at once when a run
 * is resumed or replayed and its record says it ended. Without that only
 * the fiber's effect counter moves, so addresses stay the same. */
static int64_t sleep_effect(VM *vm, Fiber *f, int64_t ms) {
  const Effects *fx = vm->effects;
  if (!fx || !fx->sleep_begin) {
    f->effects++;
    return ms;
  }
  Buf a;
  buf_init(&a);
  fiber_effect_address(f, "sleep", &a);
  buf_putc(&a, '\0');
  EffectRequest rq;
  memset(&rq, 0, sizeof rq);
  rq.kind = EFFECT_SLEEP;
  rq.addr = a.data;
  rq.fiber = f;
  rq.u.sleep.ms = ms;
  ms = fx->sleep_begin(fx->host, &rq);
  buf_free(&a);
  return ms;
}

bool vm_clock_read(VM *vm, Fiber *f, int64_t *unix_ms) {
  const Effects *fx = vm->effects;
  Buf a;
  buf_init(&a);
  fiber_effect_address(f, "clock", &a); /* the counter moves with or without a host */
  buf_putc(&a, '\0');
  bool ok = true;
  if (fx && fx->clock) {
    EffectRequest rq;
    memset(&rq, 0, sizeof rq);
    rq.kind = EFFECT_CLOCK;
    rq.addr = a.data;
    rq.fiber = f;
    char *err = NULL;
    ok = fx->clock(fx->host, &rq, unix_ms, &err);
    if (!ok) {
      vm_raise(vm, f, "%s", err ? err : "the clock could not be read");
      free(err);
    }
  } else {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  }
  buf_free(&a);
  return ok;
}

void vm_fatal(VM *vm, const char *msg) {
  if (!vm->fatal) vm->fatal = xstrdup(msg);
}

void vm_park_timer(VM *vm, Fiber *f, int64_t ms, Value value) {
  uint64_t now = vm_now_ms(vm);
  if (!f->join) ms = sleep_effect(vm, f, ms); /* a barrier's timeout is part of the barrier effect */
  v_release(&vm->heap, f->resume_value);
  f->resume_value = value;
  f->wake_at = now + (ms > 0 ? (uint64_t)ms : 0);
  f->timer_seq = vm->timer_seq++;
  f->state = FIBER_PARKED;
  timer_push(vm, f);
}

/* The resumed value lands where the parking instruction's result goes:
 * the verifier's stack bound already counts that slot. */
void vm_wake(VM *vm, Fiber *f, Value value) {
  if (f->state != FIBER_PARKED) {
    v_release(&vm->heap, value);
    return;
  }
  if (f->timer_index < vm->ntimers && vm->timers[f->timer_index] == f) timer_remove_at(vm, f->timer_index);
  if (f->sp >= f->stack_cap) fiber_grow_stack(vm, f, (size_t)f->sp + 1);
  f->stack[f->sp++] = value;
  f->state = FIBER_READY;
  runq_push(vm, f);
}

/* ---- the VM ---------------------------------------------------------- */

VM *vm_new(Module *mod, const Limits *limits) {
  VM *vm = xcalloc(1, sizeof *vm);
  if (limits) vm->limits = *limits;
  limits_default(&vm->limits);
  heap_init(&vm->heap, vm->limits.max_memory);
  vm->mod = mod;
  vm->clock_base_ms = mono_ms();
  vm->out = stdout;
  vm->err = stderr;
  buf_init(&vm->scratch);
  vm->fn_cache = xcalloc(mod->nfuncs ? mod->nfuncs : 1, sizeof *vm->fn_cache);
  vm->trust_allowed = true;
  return vm;
}

void vm_set_effects(VM *vm, const Effects *fx) {
  vm->effects = fx;
  if (fx && fx->trace) {
    if (!vm->trace) vm->trace = trace_new(fx->trace, fx->host);
  } else {
    trace_free(vm->trace);
    vm->trace = NULL;
  }
}

Label vm_label_origin(VM *vm, const char *what) {
  for (uint32_t i = 0; i < vm->nlabels; i++)
    if (strcmp(vm->label_what[i], what) == 0) return (Label)(i + 1);
  if (vm->nlabels + 1 >= LABEL_MANY) return LABEL_MANY;
  vm->label_what[vm->nlabels++] = xstrdup(what);
  return (Label)vm->nlabels;
}

Value vm_label_fresh(VM *vm, Value v, Label l) {
  if (!l) return v;
  if (v.tag != V_OBJ) { v.label = label_join(v.label, l); return v; }
  if (v.as.o->rc != 1) return v_with_label(&vm->heap, v, l);
  v_label_walk(v, l, false);
  return v;
}

Value vm_native_labels(VM *vm, const Native *nat, const Value *args, uint32_t argc, Label lab, Value out) {
  switch ((NativeLabels)nat->labels) {
  case NL_JOIN: return v_with_label(&vm->heap, out, lab);
  case NL_FRESH: return vm_label_fresh(vm, out, lab);
  case NL_ELEMENT: {
    Label el = LABEL_NONE;
    for (uint32_t i = 0; i < argc && i < 8; i++)
      if (nat->label_args & (1u << i)) el = label_join(el, v_label(args[i]));
    return v_with_label(&vm->heap, out, el);
  }
  case NL_NONE: break;
  }
  return out;
}

const char *vm_label_what(const VM *vm, Label l) {
  if (l == LABEL_NONE) return "";
  if (l == LABEL_MANY || l > vm->nlabels) return "several untrusted sources";
  return vm->label_what[l - 1];
}

void vm_free(VM *vm) {
  if (!vm) return;
  for (uint32_t i = 0; i < vm->nlabels; i++) free(vm->label_what[i]);
  tasks_clear_dirty(vm);
  while (vm->nfibers) vm_fiber_free(vm, vm->fibers[vm->nfibers - 1]);
  tasks_clear_dirty(vm);
  budget_release(vm, vm->budget);
  for (uint32_t i = 0; i < vm->mod->nfuncs; i++)
    if (vm->fn_cache[i]) v_release(&vm->heap, v_obj(&vm->fn_cache[i]->h));
  free(vm->fn_cache);
  heap_free(&vm->heap, vm->timers, (size_t)vm->timers_cap * sizeof(Fiber *));
  heap_free(&vm->heap, vm->fibers, (size_t)vm->fibers_cap * sizeof(Fiber *));
  buf_free(&vm->scratch);
  trace_free(vm->trace);
  free(vm->fatal);
  free(vm);
}

/* Runs one slice of f and settles what became of it. Returns true if f
 * failed. A finished fan-out branch is handed to its tasks, which free it. */
static bool run_slice(VM *vm, Fiber *f) {
  uint64_t max = vm->limits.max_instructions;
  uint64_t left = vm->fuel < max ? max - vm->fuel : 0;
  uint32_t slice = left < VM_SLICE ? (uint32_t)left : VM_SLICE;
  f->state = FIBER_RUNNING;
  interp_run(vm, f, slice);
  switch (f->state) {
  case FIBER_RUNNING:
    f->state = FIBER_READY;
    runq_push(vm, f);
    return false;
  case FIBER_FAILED:
    if (fiber_catch(vm, f)) return false;
    fiber_unwind(vm, f);
    vm->live_fibers--;
    if (vm->heap.limit && vm->heap.used <= vm->heap.limit) vm->heap.over_limit = false;
    if (f->task) tasks_branch_finished(vm, f);
    return true;
  case FIBER_DONE:
    vm->live_fibers--;
    if (f->task) tasks_branch_finished(vm, f);
    return false;
  default:
    return false;
  }
}

/* The progress callback, at most every progress_every_ms. */
static void maybe_progress(VM *vm) {
  if (!vm->progress) return;
  uint64_t now = vm_now_ms(vm);
  if (now < vm->progress_at) return;
  vm->progress_at = now + (vm->progress_every_ms ? vm->progress_every_ms : 100);
  vm->progress(vm, vm->progress_ud);
}

/* How long the idle scheduler may wait in the host: until the next timer
 * or the host's own next deadline, and never more than a second (a
 * bounded wait keeps a lost wake-up from turning into a hang). */
static int64_t idle_wait_ms(VM *vm) {
  const Effects *fx = vm->effects;
  int64_t t = fx->next_deadline ? fx->next_deadline(fx->host) : -1;
  if (vm->ntimers) {
    uint64_t now = vm_now_ms(vm), at = vm->timers[0]->wake_at;
    int64_t tt = at > now ? (int64_t)(at - now) : 0;
    if (t < 0 || tt < t) t = tt;
  }
  if (t < 0 || t > 1000) t = 1000;
  if (vm->progress) {
    int64_t every = vm->progress_every_ms ? (int64_t)vm->progress_every_ms : 100;
    if (t > every) t = every;
  }
  return t;
}

uint32_t vm_run(VM *vm) {
  uint32_t failed = 0;
  uint32_t slices = 0;
  /* the global --budget-time: checked before every slice (one clock read),
   * so neither a busy fiber nor a long sleep outlives it */
  uint64_t deadline = budget_deadline(vm->budget);
  for (;;) {
    const Effects *fx = vm->effects;
    /* every 16 slices (about 160k instructions) let transfers progress */
    if (fx && fx->pump && (++slices & 15u) == 0) fx->pump(fx->host);
    wake_due_timers(vm);
    if (vm->fatal) break; /* what is still running is freed with the VM */
    if (deadline && vm_now_ms(vm) >= deadline) {
      /* the run is over: what is still running is freed with the VM */
      budget_time_up(vm, vm->budget);
      break;
    }
    if (vm->tasks_dirty) tasks_settle(vm);
    if (vm->progress) maybe_progress(vm);
    Fiber *f = runq_pop(vm);
    if (!f) {
      if (fx && fx->busy && fx->wait && fx->busy(fx->host)) {
        int64_t w = idle_wait_ms(vm);
        if (deadline) {
          uint64_t now = vm_now_ms(vm);
          int64_t left = deadline > now ? (int64_t)(deadline - now) : 0;
          if (left < w) w = left;
        }
        fx->wait(fx->host, w);
        continue;
      }
      if (!vm->ntimers) break;
      uint64_t at = vm->timers[0]->wake_at;
      if (deadline && at > deadline) at = deadline;
      if (vm->progress) { /* a long sleep still redraws the progress line */
        uint64_t every = vm->progress_every_ms ? vm->progress_every_ms : 100;
        uint64_t cap = vm_now_ms(vm) + every;
        if (at > cap) at = cap;
      }
      sleep_until(vm, at);
      continue;
    }
    if (run_slice(vm, f)) failed++;
  }
  return failed;
}

bool vm_link_function(VM *vm, const Module *m, Value *fn, uint32_t *first, char **err) {
  if (!module_verify(m, err)) return false;
  uint32_t before = vm->mod->nfuncs, main_fn;
  if (!module_link(vm->mod, m, &main_fn, err)) return false;
  uint32_t now = vm->mod->nfuncs;
  ObjFunc **cache = xrealloc(vm->fn_cache, (size_t)(now ? now : 1) * sizeof *cache);
  memset(cache + before, 0, (size_t)(now - before) * sizeof *cache);
  vm->fn_cache = cache;
  if (first) *first = before;
  *fn = v_func(&vm->heap, main_fn, 0);
  return true;
}

void vm_mark_functions(VM *vm, uint32_t first, uint32_t end, uint8_t marks) {
  for (uint32_t i = first; i < end && i < vm->mod->nfuncs; i++) vm->mod->funcs[i].marks |= marks;
  vm->any_marked = vm->any_marked || (first < end && marks);
}

uint8_t vm_fiber_marks(const VM *vm, const Fiber *f) {
  if (!f) return 0;
  uint8_t m = f->marks;
  if (!vm->any_marked) return m;
  for (uint32_t i = 0; i < f->nframes; i++)
    if (f->frames[i].fn < vm->mod->nfuncs) m |= vm->mod->funcs[f->frames[i].fn].marks;
  return m;
}

Fiber *vm_link_module(VM *vm, const Module *m, const char *addr_prefix, const Value *args,
                      uint32_t nargs, char **err) {
  Value fn;
  if (!vm_link_function(vm, m, &fn, NULL, err)) return NULL;
  Fiber *f = vm_spawn(vm, fn, args, (int)nargs, err);
  v_release(&vm->heap, fn);
  if (!f) return NULL;
  if (addr_prefix) {
    size_t n = strlen(addr_prefix) + 1;
    f->path = heap_alloc(&vm->heap, n);
    memcpy(f->path, addr_prefix, n);
  }
  f->budget = budget_retain(vm->budget);
  trace_fiber_start(vm, f, NULL);
  return f;
}

bool vm_run_main(VM *vm, const Value *args, uint32_t nargs, Value *result, char **err, char **trace) {
  *result = v_none();
  *err = NULL;
  *trace = NULL;
  const Module *m = vm->mod;
  if (m->main_fn == NO_INDEX || m->main_fn >= m->nfuncs) {
    *err = xstrdup("the program has no main function");
    *trace = xstrdup("");
    return false;
  }
  Value fn = v_func(&vm->heap, m->main_fn, 0);
  Fiber *f = vm_spawn(vm, fn, args, (int)nargs, err);
  v_release(&vm->heap, fn);
  if (!f) {
    *trace = xstrdup("");
    return false;
  }
  f->budget = budget_retain(vm->budget);
  trace_fiber_start(vm, f, NULL);
  vm_run(vm);
  bool ok = false;
  if (vm->trace) {
    const char *st = f->state == FIBER_DONE ? "ok" : f->state == FIBER_FAILED ? "failed" : "cancelled";
    trace_fiber_end(vm, f, st, f->state == FIBER_FAILED ? f->error : NULL);
  }
  /* a global budget that stopped work fails the run even when the work it
   * stopped was tolerated (a barrier's tolerate, a fallback) */
  vm->main_error_kind = "error";
  if (vm->fatal) { /* the journal failed: nothing after it counts */
    *err = xstrdup(vm->fatal);
    *trace = xstrdup("");
    vm_fiber_free(vm, f);
    return false;
  }
  const char *spent = budget_run_failure(vm);
  if (spent && f->state != FIBER_FAILED) { /* done, or stopped at --budget-time */
    vm->main_error_kind = "budget";
    *err = xstrdup(spent);
    *trace = xstrdup("");
    vm_fiber_free(vm, f);
    return false;
  }
  if (f->state == FIBER_DONE) {
    *result = f->result;
    f->result = v_none();
    ok = true;
  } else if (f->state == FIBER_FAILED) {
    *err = f->error ? f->error : xstrdup("workflow failed");
    if (f->error_kind) vm->main_error_kind = f->error_kind;
    *trace = f->error_trace ? f->error_trace : xstrdup("");
    f->error = NULL;
    f->error_trace = NULL;
  } else {
    *err = xstrdup("main never finished: it waits on something that cannot happen");
    *trace = xstrdup("");
  }
  vm_fiber_free(vm, f);
  return ok;
}
