/* vm_impl.h — private seams between the interpreter (interp.c) and the
 * fiber scheduler (fiber.c). Not part of the library's interface. */
#ifndef WEFT_VM_IMPL_H
#define WEFT_VM_IMPL_H

#include "vm.h"

/* Instructions a fiber runs before the scheduler moves on (fairness). */
#define VM_SLICE 10000u
/* Bytes of copying charged as one unit of fuel (as STD_BYTES_PER_UNIT). */
#define VM_BYTES_PER_UNIT 16u
#define FIBER_INITIAL_STACK 64u
#define FIBER_INITIAL_FRAMES 8u

/* Runs f (state FIBER_RUNNING) for at most `slice` instructions. Returns
 * with f RUNNING (slice used up), DONE, PARKED or FAILED; the stack of a
 * FAILED fiber is left for fiber_unwind. vm->fuel is charged for exactly
 * the instructions run. */
void interp_run(VM *vm, Fiber *f, uint32_t slice);

/* Raises an error of the given kind ("error", "limit", ...) on f. */
NativeStatus vm_raise_kind(VM *vm, Fiber *f, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fails a fiber parked on an effect from outside the interpreter (the
 * effect engine, when a model call fails): records the message with a
 * trace pointing at the parking instruction, unwinds the stack and
 * retires the fiber, or resumes it at its innermost `try` when the error
 * may be caught there (see the failure kinds below). No-op unless f is
 * parked. */
void vm_fail_parked(VM *vm, Fiber *f, const char *kind, const char *msg);
/* The same for a failed effect whose address (vm/trace.h) the failure
 * records; addr may be NULL (the source location is recorded). */
void vm_fail_parked_at(VM *vm, Fiber *f, const char *kind, const char *msg, const char *addr);
/* vm_fail_parked_at whose message quotes untrusted data labelled l (a
 * failure value `try` sees then has a labelled message). */
void vm_fail_parked_label(VM *vm, Fiber *f, const char *kind, const char *msg, const char *addr, Label l);

/* Failure kinds (Fiber.error_kind, a branch's kind, failure.kind):
 *   "error"     a workflow error: a failed or refused ask, a runtime error,
 *               a failed barrier
 *   "timeout"   a barrier's timeout, or a host that did not answer in time
 *   "budget"    a budget ran out
 *   "limit"     a VM limit: instructions, memory, call depth, fibers
 *   "cancelled" a branch stopped because its barrier was decided
 *   "steps"     a tool-calling loop reached its role's max_steps without
 *               the model's answer
 *   "untrusted" untrusted content filled an argument that acts (a path
 *               written, a program run, a request sent): refused before
 *               anything started (docs/security.md, "Untrusted content:
 *               sources, sinks and the journal")
 * A `try` catches "error", "timeout", "steps" and "untrusted", and "budget" when no budget over
 * the catching fiber is exhausted (an inner block's budget ran out, not
 * the run's or an enclosing block's). "limit" and cancellation always end
 * the work they stop. */
bool vm_failure_catchable(const VM *vm, const Fiber *f, const char *kind);
/* The `failure` record { branch, kind, message, address } (new reference;
 * NULL strings read as ""). */
Value vm_failure_value(VM *vm, int64_t branch, const char *kind, const char *message, const char *addr);
/* `Failed { error }` of the prelude's result[T] (takes error). */
Value vm_failed_variant(VM *vm, Value error);

/* Grows f's value stack to at least `need` slots (geometrically). */
void fiber_grow_stack(VM *vm, Fiber *f, size_t need);
/* Makes room for one more frame (geometrically). */
void fiber_grow_frames(VM *vm, Fiber *f);

/* Source position of byte offset pc in p (line 0 when unknown). */
void func_line_at(const FuncProto *p, uint32_t pc, uint32_t *line, uint32_t *col);

/* ---- fan-out and barriers (vm/tasks.c) ---------------------------- */

/* FANOUT mode: args are xs f n (borrowed). On NATIVE_OK *out is the new
 * tasks object; on NATIVE_ERROR f has been raised on. */
NativeStatus tasks_fanout(VM *vm, Fiber *f, uint32_t mode, const Value *args, Value *out);
/* BARRIER bits: args are t tol k d (borrowed). NATIVE_OK: the result is
 * in *out; NATIVE_PARK: f is parked until the barrier decides;
 * NATIVE_ERROR: raised. */
NativeStatus tasks_barrier(VM *vm, Fiber *f, uint32_t bits, const Value *args, Value *out);
/* A branch fiber (f->task set) finished: DONE or FAILED, stack already
 * unwound and not counted live. Moves its result or failure into the
 * tasks object and FREES f. */
void tasks_branch_finished(VM *vm, Fiber *f);
/* vm_fiber_free of a fiber with f->task or f->join: detaches it. */
void tasks_fiber_gone(VM *vm, Fiber *f);
/* The timeout timer of a barrier waiter fired (f is off the timer heap). */
void tasks_timer_due(VM *vm, Fiber *f);
/* Settles every fan-out that changed since the last call: starts queued
 * branches, decides barriers, cancels and wakes. The scheduler calls it
 * before picking a fiber, so no decision is made from inside the engine
 * or the timer heap. */
void tasks_settle(VM *vm);
/* Drops the references of the settle list (vm_free). */
void tasks_clear_dirty(VM *vm);

/* Puts t on the settle list (budget.c: a block's budget was exhausted). */
void tasks_mark_dirty(VM *vm, ObjTasks *t);

/* For a host's admission: how many calls the branches of t (a fiber's
 * f->task; NULL: the root, 1) may have in flight at once by the fan-out
 * limits written, t's own `limit` times those of the fan-outs around it
 * (an unlimited one counts 1); *limit is t's own (0: none), *prefix its
 * branches' address prefix "PATH/fanout#N@LINE" (borrowed; NULL: root).
 * tasks_note_once is true the first time only: a host reports on t once. */
uint32_t tasks_asked(const ObjTasks *t, uint32_t *limit, const char **prefix);
bool tasks_note_once(ObjTasks *t);

/* ---- budgets (vm/budget.c) ------------------------------------------ */

/* A budget: limits on calls, tokens, dollars and wall time, with a parent
 * (the enclosing budget). Every charge walks the whole chain, so a child
 * can never spend more than any ancestor has left. Reference-counted:
 * fibers, calls and budget blocks hold references. The rules are atop
 * budget.c; a block's tasks (vm/tasks.c) reads the fields. */
typedef struct Budget Budget;
struct Budget {
  uint32_t rc;
  uint32_t bits;           /* BUDGET_* limits given */
  Budget *parent;          /* one reference */
  int64_t calls_max, calls_used, tokens_max, tokens_used, time_ms;
  double usd_max, usd_used;
  int64_t tokens_reserved; /* held by requests in flight (budget_admit .. budget_settle) */
  double usd_reserved;
  uint64_t start_ms;
  bool exhausted;
  bool refused;            /* stopped work: refused or cancelled a call */
  bool timed;              /* exhausted by its time limit: what runs under it is stopped */
  char *why;               /* "budget exhausted: calls 3/3" once exhausted */
  char *addr;              /* "run" or the block's address */
  ObjTasks *owner;         /* a block's tasks (no reference); NULL: global */
};

/* A new budget under parent (may be NULL); bits are BUDGET_* (opcodes.h).
 * addr names it in messages and the trace ("run" for the global one). */
Budget *budget_new(VM *vm, Budget *parent, uint32_t bits, int64_t calls, int64_t tokens,
                   double usd, int64_t time_ms, const char *addr);
Budget *budget_retain(Budget *b);
void budget_release(VM *vm, Budget *b);
/* Admission of one request (an attempt of an ask: the first, a retry or a
 * repair) under b's chain; the rules are at "budgets" in vm/tasks.c.
 * It needs one call and reserves `tokens` and `usd` (its estimated input
 * and max_tokens output, and their price). REFUSED, with *why (malloc'd),
 * when a budget is exhausted or the reservation could never fit (that
 * budget is then exhausted); WAIT when it fits only once requests in
 * flight settle; FITS, and with `commit` the call is charged and the
 * reservation held on every budget of the chain. b may be NULL. */
typedef enum BudgetFit { BUDGET_FITS, BUDGET_WAIT, BUDGET_REFUSED } BudgetFit;
BudgetFit budget_admit(VM *vm, Budget *b, int64_t tokens, double usd, bool commit, char **why);
/* An admitted request ended: its reservation (res_*) is released and
 * tokens/usd charged on the chain; a budget reaching a limit is exhausted
 * (nothing more is admitted under it; what is in flight finishes). */
void budget_settle(VM *vm, Budget *b, int64_t res_tokens, double res_usd, int64_t tokens, double usd);
/* Charges calls, tokens and dollars without a reservation (a call answered
 * from a journal: what the recorded run was charged). */
void budget_charge(VM *vm, Budget *b, int64_t calls, int64_t tokens, double usd);
/* Some budget of b's chain limits dollars. */
bool budget_limits_usd(const Budget *b);
/* Exhausts b if one of its own limits is used up (time read now);
 * returns whether b is exhausted. */
bool budget_check(VM *vm, Budget *b);
/* The message of the first exhausted budget in b's chain, or NULL. */
const char *budget_spent(const Budget *b);
/* The message of a budget of b's chain whose time is up (each budget with
 * a time limit is checked against the clock now), or NULL. */
const char *budget_time_spent(VM *vm, Budget *b);
/* b's time limit ran out: every branch fiber under b that computes or
 * sleeps fails with kind "budget" (calls in flight are the engine's:
 * budget_sweep). Fibers waiting on a barrier wait on. (vm/fiber.c) */
void vm_budget_time_stop(VM *vm, Budget *b);
/* The engine cancelled a call under b's exhausted chain: that budget
 * stopped work. */
void budget_mark_refused(Budget *b);
/* The global budget stopped work (refused or cancelled a call): its
 * message, else NULL. vm_run_main fails the run with it. */
const char *budget_run_failure(const VM *vm);
/* When b's time limit runs out (vm_now_ms clock), or 0: no time limit. */
uint64_t budget_deadline(const Budget *b);
/* The scheduler saw b's deadline pass: b is exhausted and has stopped
 * work (vm_run then stops the run; vm_run_main fails it with the message). */
void budget_time_up(VM *vm, Budget *b);
/* BUDGET a: args f e c t u d (borrowed). NATIVE_PARK: f waits for the
 * block; NATIVE_ERROR: raised. (vm/tasks.c) */
NativeStatus tasks_budget(VM *vm, Fiber *f, uint32_t bits, const Value *args, Value *out);

#endif
