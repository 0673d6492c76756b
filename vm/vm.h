/* vm.h — the interpreter, fibers, the scheduler and native calls.
 *
 * Every piece of Weft code runs on a fiber: its own value stack and call
 * frames (indices, never pointers into the stack, so stacks can grow). One
 * thread runs the interpreter; the scheduler loop takes the next runnable
 * fiber, runs it for a slice of instructions, and moves on when the slice
 * ends, the fiber finishes, fails, or parks on an effect. When nothing is
 * runnable, the scheduler waits in the host (vm/effects.h: the effects
 * table's wait, bounded by the earliest timer). A parked fiber resumes with
 * a value pushed as the result of the instruction that parked it.
 *
 * Everything lives in the VM struct: no global mutable state, two VMs can
 * run in one process. The VM knows nothing of the world beyond the effects
 * table, and nothing of the standard library: native functions come in a
 * table the host passes when it loads or compiles a module. */
#ifndef WEFT_VM_H
#define WEFT_VM_H

#include <stdarg.h>
#include <stdio.h>
#include "effects.h"
#include "module.h"
#include "value.h"

/* ---- limits (each has a command-line flag; 0 in a field = default) --- */
typedef struct Limits {
  uint64_t max_instructions; /* default 1e9; fuel is deterministic */
  size_t max_memory;         /* bytes; default 1 GiB */
  uint32_t max_call_depth;   /* frames per fiber; default 10000 */
  uint32_t max_fibers;       /* live fibers; default 100000 */
} Limits;
void limits_default(Limits *l);  /* fills zero fields with defaults */

/* ---- fibers ---------------------------------------------------------- */
/* A `try` in progress: a catchable error unwinds the fiber to frame
 * nframes - 1, stack depth sp, and resumes it at byte offset ip there
 * with the failure value pushed (vm/fiber.c, fiber_catch). */
typedef struct TryFrame {
  uint32_t nframes, sp, ip;
} TryFrame;

typedef struct Frame {
  uint32_t fn;        /* Module.funcs index */
  uint32_t ip;        /* byte offset of the next instruction */
  uint32_t base;      /* stack index of local 0 */
  ObjFunc *closure;   /* borrowed from the stack slot below base; NULL for plain FUNC */
} Frame;

typedef enum FiberState {
  FIBER_READY, FIBER_RUNNING, FIBER_PARKED, FIBER_DONE, FIBER_FAILED
} FiberState;

typedef struct Fiber {
  uint32_t id;
  FiberState state;
  Value *stack; uint32_t sp, stack_cap;
  Frame *frames; uint32_t nframes, frames_cap;
  Value result;          /* FIBER_DONE: the return value of the entry function */
  char *error;           /* FIBER_FAILED: message (owned) */
  char *error_trace;     /* FIBER_FAILED: "  at fn (file:line:col)\n" lines (owned) */
  const char *error_kind;/* "error", "limit", "timeout", ... (static string) */
  char *error_addr;      /* FIBER_FAILED: the failed effect's address, else "file:line:col" (owned) */
  TryFrame *tries; uint32_t ntries, tries_cap; /* the `try`s in progress, innermost last */
  uint64_t wake_at;      /* parked on a timer: monotonic ms */
  uint64_t timer_seq;    /* tie-break so equal deadlines wake in park order */
  Value resume_value;    /* pushed when the fiber resumes */
  struct Fiber *next;    /* run queue link */
  uint32_t index;        /* position in VM.fibers (O(1) removal) */
  uint32_t timer_index;  /* position in VM.timers while parked on a timer */
  struct Fiber *prev;    /* run queue back link (O(1) removal on cancellation) */
  ObjTasks *task;        /* the fan-out this fiber is a branch of (owns the fiber); NULL if none */
  uint32_t branch;       /* with task: the branch's input index */
  ObjTasks *join;        /* parked in BARRIER on these tasks (one reference); NULL if not */
  void *call;            /* parked in an effect: the host's handle of it (host-private) */
  char *path;            /* effect-address path (vm/trace.h), heap-counted; NULL: "main" */
  uint32_t effects;      /* effects this fiber has started (its address counter) */
  struct Budget *budget; /* innermost enclosing budget (one reference); NULL: none (vm/tasks.c) */
  int64_t sleep_ms;      /* parked in a sleep the host journals when it ends (Effects.sleep_end); -1: none */
  int64_t sleep_at;      /* that sleep's start (unix ms; the host's) */
  Label error_label;     /* FIBER_FAILED: the label of the error's message (raised from untrusted data) */
  /* FN_* marks it was started with: by code a planner wrote, or by a
   * fiber that was (vm_fiber_marks) */
  uint8_t marks;
} Fiber;

/* ---- natives --------------------------------------------------------- */
struct VM;
typedef enum NativeStatus { NATIVE_OK, NATIVE_ERROR, NATIVE_PARK } NativeStatus;
/* args are BORROWED (see value.h); on NATIVE_OK *out holds a new reference.
 * On NATIVE_ERROR the native has called vm_raise. On NATIVE_PARK the native
 * has parked the fiber (e.g. vm_park_timer); *out is ignored and the value
 * the fiber is resumed with becomes the call's result. */
typedef NativeStatus (*NativeFn)(struct VM *vm, Fiber *f, const Value *args, int argc, Value *out);

/* How the one native-call path (CALL_NATIVE) labels a native's result
 * (docs/security.md, "Untrusted content: propagation"); stdlib/labels.def
 * gives every standard native its policy. The zero value is the default. */
typedef enum NativeLabels {
  NL_JOIN = 0,  /* the result joins the labels of all arguments */
  NL_FRESH,     /* NL_JOIN, on the result and on every part of it the native
                   built (held only by the result: a split's strings, a
                   parse's objects, range's ints) */
  NL_ELEMENT,   /* the result is an element of an argument: its own label
                   joined with the arguments in Native.label_args (bit i:
                   argument i, e.g. a key) */
  NL_NONE       /* never labelled here (label_why says why: returns nothing,
                   raises, the host labels the answer, trust) */
} NativeLabels;
typedef struct Native {
  const char *name;   /* what programs write: "len" (overloads share it) */
  const char *key;    /* unique, stable, stored in modules: "len.list" */
  const char *sig;    /* type signature, see stdlib/builtins.h */
  NativeFn fn;
  uint8_t arity;
  const char *doc;    /* one line for docs/stdlib.md */
  bool internal;      /* only the standard library and the constructs' lowering
                         may name it (natives.def, NATIVE_INTERNAL) */
  uint8_t labels;     /* NativeLabels */
  uint8_t label_args; /* NL_ELEMENT: the arguments whose labels join the element's */
  const char *label_why; /* a policy other than NL_JOIN: why (docs, tests) */
} Native;

/* The native functions a host offers programs (the standard library's:
 * stdlib/builtins.h, std_native_table). The VM never names one: the host
 * passes its table to module_load, which resolves a module's native keys
 * against it, and to the compiler, which checks calls against the
 * signatures; entries of one name (overloads) are listed together. */
typedef struct NativeTable {
  const Native *entries;
  uint32_t n;
} NativeTable;
/* The entry with this key, or NULL (t may be NULL: no natives). */
const Native *native_find(const NativeTable *t, const char *key);

/* ---- the VM ---------------------------------------------------------- */
typedef struct VM {
  Module *mod;
  Heap heap;
  Limits limits;
  uint64_t fuel;              /* instructions (and builtin work) charged so far */
  Fiber *runq_head, *runq_tail;
  Fiber **timers; uint32_t ntimers, timers_cap;  /* binary heap by (wake_at, timer_seq) */
  uint64_t timer_seq;
  Fiber **fibers; uint32_t nfibers, fibers_cap;  /* all fibers not yet freed */
  uint32_t live_fibers, next_fiber_id;
  uint64_t clock_base_ms;     /* monotonic ms at VM start */
  FILE *out;                  /* print() */
  FILE *err;                  /* log() and diagnostics */
  bool raw_out;               /* print() writes exact bytes, not escaped (--raw-output) */
  Buf scratch;
  const Effects *effects;     /* the host's effects table (vm/effects.h, vm_set_effects); NULL: no effects, ASK fails cleanly */
  ObjFunc **fn_cache;         /* FUNC a: one shared capture-less value per Module.funcs entry, built on first use */
  ObjTasks *tasks_dirty, *tasks_dirty_tail; /* fan-outs to settle at the next scheduler step (each holds a reference) */
  ObjTasks *tasks_dying;      /* fan-outs being freed (released while another was being freed) */
  bool tasks_draining;        /* tasks_release_obj is freeing the tasks_dying list */
  struct Trace *trace;        /* the event builder (vm/trace.h), present while the host has a trace sink; NULL: no trace */
  uint64_t branches_started, branches_ok, branches_failed, branches_cancelled; /* progress */
  /* Called from the scheduler at most every progress_every_ms while set
   * (the live progress line); the scheduler never sleeps longer than that. */
  void (*progress)(struct VM *vm, void *ud);
  void *progress_ud;
  uint64_t progress_every_ms, progress_at;
  uint64_t asks_started, asks_ended; /* model calls made / finished or cancelled (progress) */
  ObjTasks *tasks_live;       /* every fan-out and budget block not yet freed, newest first (progress) */
  struct Budget *budget;      /* the global budget (--budget-*; one reference) the root fiber runs under; NULL: none */
  uint64_t budgets_exhausted; /* budgets exhausted so far: the engine sweeps their calls when it changes */
  const char *main_error_kind; /* after vm_run_main failed: the kind of its error ("error", "budget", "timeout", ...; static) */
  char *fatal;                /* set once the run cannot go on (the host cannot write its journal): the scheduler stops and the run fails with it */
  bool trust_allowed;         /* trust(x, why) declassifies (default true; the host clears it under --untrusted without --allow-trust) */
  bool any_marked;            /* vm_mark_functions marked some functions (vm_fiber_marks looks only then) */
  bool trust_generated;       /* trust() in generated code is honoured (--allow-trust given) */
  char *label_what[LABEL_MANY]; /* origins of untrusted content by Label - 1 (vm_label_origin; owned) */
  uint32_t nlabels;
} VM;

VM *vm_new(Module *mod, const Limits *limits);
void vm_free(VM *vm);
/* Installs the host's effects table (borrowed: it must outlive its use;
 * NULL: none). Call it again after changing the table's trace sink: the VM
 * builds trace events only while there is one. */
void vm_set_effects(VM *vm, const Effects *fx);

/* Starts a fiber that calls `func` (borrowed function value) with args
 * (borrowed). Returns NULL and leaves an error in *err (malloc'd) when the
 * live-fiber limit is reached. The fiber is runnable at once. */
Fiber *vm_spawn(VM *vm, Value func, const Value *args, int argc, char **err);
/* Runs the scheduler until no fiber is runnable or parked. Returns the
 * number of fibers that failed. */
uint32_t vm_run(VM *vm);
/* Runs the module's main with already-validated arguments. On success
 * returns true and *result (new reference). On failure returns false and
 * *err / *trace (malloc'd; trace may be empty). */
bool vm_run_main(VM *vm, const Value *args, uint32_t nargs, Value *result,
                 char **err, char **trace);
void vm_fiber_free(VM *vm, Fiber *f);

/* The label for untrusted content from `what` (a short description naming
 * the source and its site, e.g. "the body of http.get at main/http.get#2"):
 * equal descriptions share one label; past 254 of them every new one is
 * LABEL_MANY. vm_label_what describes a label ("" for LABEL_NONE). */
Label vm_label_origin(VM *vm, const char *what);
const char *vm_label_what(const VM *vm, Label l);
/* Joins l into the label of f's pending error message (a failure raised
 * from untrusted data: `try` sees a labelled `message`). */
void vm_raise_label(Fiber *f, Label l);
/* Labels v (consumed) and every part of it held by v alone (reference
 * count 1: built just now, nobody else sees it) with l joined in; shared
 * parts keep their own labels. A native's fresh result (NL_FRESH). */
Value vm_label_fresh(VM *vm, Value v, Label l);
/* The result of native nat (out, consumed) called with args whose labels
 * join to lab (not LABEL_NONE), labelled by the native's policy: what the
 * native-call path does after every call. */
Value vm_native_labels(VM *vm, const Native *nat, const Value *args, uint32_t argc, Label lab, Value out);

/* Raises a workflow error on f (message printf-formatted); natives return
 * its result: `return vm_raise(vm, f, "index %lld out of range", i);` */
NativeStatus vm_raise(VM *vm, Fiber *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Charges builtin work against the instruction limit before doing it.
 * Returns false (and raises "instruction limit exceeded") when over. */
bool vm_charge(VM *vm, Fiber *f, uint64_t units);
/* Checks the memory limit before building something of `bytes` bytes. */
bool vm_check_alloc(VM *vm, Fiber *f, size_t bytes);
/* Raises the memory-limit error for a result whose size is past any limit
 * or past what a size_t or a list length can hold (`what` says which);
 * returns false. */
bool vm_too_large(VM *vm, Fiber *f, const char *what);
/* Structural equality and ordering for builtins, charged as `==` is: one
 * unit of fuel per node compared, and never more work than the fuel left
 * (two equal values that share structure cost their unfolded size).
 * Return false, having raised, past the instruction limit or for values
 * nested deeper than VALUE_MAX_DEPTH; otherwise set *eq or *order. */
bool vm_equal(VM *vm, Fiber *f, Value a, Value b, bool *eq);
bool vm_compare(VM *vm, Fiber *f, Value a, Value b, int *order);
/* Renders v as JSON (display false) or display text (true), appending to
 * b, after charging fuel for the text's size bound and checking the memory
 * limit for the text and one copy of all of b (the text is always copied
 * into a string or written out), so a value that shares one big part many
 * times cannot blow up memory before the check. Raises and returns false
 * on failure. */
bool vm_render(VM *vm, Fiber *f, Value v, bool display, Buf *b);
/* Parks f until `ms` milliseconds from now; it resumes with `value` (taken). */
void vm_park_timer(VM *vm, Fiber *f, int64_t ms, Value value);
/* Makes a parked fiber runnable, resuming with `value` (taken). */
void vm_wake(VM *vm, Fiber *f, Value value);
uint64_t vm_now_ms(VM *vm);  /* monotonic ms since VM start */
/* Restarts the VM's clock (before the first fiber runs: set-up such as
 * creating the journal does not count against timeouts and budgets). */
void vm_clock_restart(VM *vm);
/* Sets the global budget the run's root fiber starts under (--budget-*):
 * bits are BUDGET_* (vm/opcodes.h) saying which limits are given. Call
 * before vm_run_main. */
void vm_set_budget(VM *vm, uint32_t bits, int64_t calls, int64_t tokens, double usd, int64_t time_ms);
/* What the innermost budget over f (a `budget` block's, else the global
 * one) has used or has left (budget_used / budget_left): a figure is given
 * (has_*) only for a limit that budget sets. Left is what may still be
 * admitted: the limit less what is used and what calls in flight have
 * reserved, never below 0; every figure left is 0 once it is exhausted.
 * False: no budget applies. */
typedef struct BudgetFigures {
  bool has_calls, has_tokens, has_usd, has_time;
  int64_t calls, tokens, time_ms;
  double usd;
} BudgetFigures;
bool vm_budget_figures(VM *vm, Fiber *f, bool left, BudgetFigures *out);
/* False, having raised kind "budget" on f, when the time limit of a budget
 * over f has run out: after its deadline nothing waits under it (a sleep
 * fails at once). */
bool vm_budget_time_left(VM *vm, Fiber *f);
/* Reads the wall clock (unix ms) as an effect at f's next address
 * (PATH/clock#N): the host journals it and answers it from the journal on
 * resume and replay (Effects.clock); without a host, the system clock.
 * False: raised on f (a journal record that is not a clock reading). */
bool vm_clock_read(VM *vm, Fiber *f, int64_t *unix_ms);
/* Links module m into the running VM and starts its main on a new fiber:
 * a sub-workflow generated while the program runs. m is verified like any
 * module (module_verify: the verifier, not its origin, is the boundary),
 * then appended to the VM's module (module_link: its code relocated, its
 * constants copied; m stays the caller's to free). The fiber's effect
 * addresses are under addr_prefix ("main/plan#2" gives "main/plan#2/ask#1",
 * ...), so a resumed run finds its effects again; it runs under the VM's
 * limits and the global budget, with args (borrowed; checked against main's
 * parameters by the caller) like vm_run_main's. The caller watches the
 * fiber as one it spawned (it stays DONE or FAILED until vm_fiber_free).
 * Call between slices only — from the host's wait or pump, or before
 * vm_run — never from a native: the interpreter holds pointers into the
 * tables that grow. NULL + *err (malloc'd) when m is unsound, has no main,
 * or the merged module would not fit the bytecode's operands. */
Fiber *vm_link_module(VM *vm, const Module *m, const char *addr_prefix, const Value *args,
                      uint32_t nargs, char **err);
/* Links module m into the running VM like vm_link_module, but starts
 * nothing: *fn is main of m as a function value (a reference the caller
 * owns), which the program calls like any function. The code of m is
 * functions [*first, vm->mod->nfuncs) of the merged module afterwards.
 * Same rules as vm_link_module: between slices only. False + *err. */
bool vm_link_function(VM *vm, const Module *m, Value *fn, uint32_t *first, char **err);
/* Marks of code a planner wrote (generate): FN_GENERATED on all of it
 * (trust() in it is honoured only with --allow-trust), FN_RESTRICTED when
 * the planner read untrusted text (the host refuses it every capability
 * that writes, runs or reaches the network: docs/security.md, "Generated
 * programs"). */
enum { FN_GENERATED = 1, FN_RESTRICTED = 2 };
/* Marks functions [first, end) of the module with marks. */
void vm_mark_functions(VM *vm, uint32_t first, uint32_t end, uint8_t marks);
/* The marks f runs under: those it was started with (a fan-out's branches,
 * a budget block, a tool call take their maker's) and those of every
 * function on its stack. */
uint8_t vm_fiber_marks(const VM *vm, const Fiber *f);
static inline bool vm_fiber_restricted(const VM *vm, const Fiber *f) {
  return (vm_fiber_marks(vm, f) & FN_RESTRICTED) != 0;
}
/* Stops the run: the scheduler runs nothing more and vm_run_main fails
 * with msg (copied; the first call wins). */
void vm_fatal(VM *vm, const char *msg);

#endif
