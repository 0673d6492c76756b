/* effects.h — the one seam through which the VM reaches the world.
 *
 * The VM computes; everything else is an effect: model calls, each step of
 * a tool-calling loop and each tool call, timers the host journals, and
 * later the clock, files, processes and HTTP. The host (runtime/engine.c
 * for `weft run`, a fake table in the unit tests) fills an Effects table
 * and installs it with vm_set_effects; the VM never includes a header of
 * the host, and a VM without a table runs every program that makes no
 * effect (an ASK then fails cleanly).
 *
 * The protocol, for every kind alike:
 *   1. An effect instruction turns its operands into an EffectRequest: the
 *      kind, the effect's address (derived from the program's structure,
 *      vm/trace.h: "main/fanout#2@7[3]/ask#1"), the fiber to wake, and the
 *      kind's operands. The VM parks the fiber, then calls submit.
 *   2. submit copies what it needs (the request is the VM's and lives only
 *      for the call) and returns true; or it refuses at once: it has
 *      raised on the fiber (vm_raise) and returns false (never
 *      vm_fail_parked from inside submit: the interpreter still holds f).
 *   3. Later — inside wait or pump, or at once inside submit with vm_wake
 *      when the host already has the answer — the host
 *      completes the effect through the VM's own API: vm_wake (the fiber
 *      resumes with the value as the instruction's result) or
 *      vm_fail_parked (the fiber fails with a kind and a message), and
 *      charges budgets (budget_admit, budget_charge). Completions are one
 *      by one, each waking its own fiber, whatever the transport: one HTTP
 *      transfer per effect, or one batch answering many in a single wait.
 *   4. A parked fiber that is cancelled (a failed fan-out, a barrier's
 *      `first K`, an exhausted budget) is withdrawn with cancel: the host
 *      drops the effect and must not wake that fiber afterwards.
 *
 * The scheduler calls busy / next_deadline / wait only when no fiber is
 * runnable, and pump every few slices so transfers progress under a busy
 * computation. Every function pointer but submit may be NULL.
 *
 * Sleeps are VM timers, but they are effects too: with sleep_begin set the
 * host is told of each before it parks (to trace it, journal it, or answer
 * it from a journal on resume: it returns the milliseconds to actually
 * wait) and sleep_end when the timer fired. A reading of the clock
 * (now(), since()) is an effect the same way: clock answers it at once,
 * from a journal or the system clock, and journals it. The trace sink receives every
 * trace event the VM builds (one JSON object per call, no newline). */
#ifndef WEFT_EFFECTS_H
#define WEFT_EFFECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "value.h"

struct Fiber;

typedef enum EffectKind {
  EFFECT_ASK,    /* a model call (ASK a b): the reply text or a value of a type */
  EFFECT_SLEEP,  /* a timer (sleep_begin); never submitted */
  EFFECT_CLOCK,  /* a reading of the wall clock (clock); never submitted */
  /* One model step of a tool-calling loop (STEP): u.ask with `turns` set,
   * the JSON text of the conversation after the prompt; the reply is the
   * JSON text {"text", "calls"} (docs/runtime.md, "Tool-calling loops"). */
  EFFECT_STEP,
  EFFECT_TOOL,   /* reserved: one host tool call */
  EFFECT_CAP,    /* a host capability call (files, processes, HTTP): cap below */
  /* `generate fn(P) -> R by ROLE PROMPT` (GENERATE): a model writes a
   * program whose main has that signature; the host compiles it (with
   * repairs), links it into the running module (vm_link_function) and
   * wakes the fiber with main as a function value. gen below. */
  EFFECT_GENERATE,
  EFFECT__HOST = 16  /* first number a host may use for its own kinds */
} EffectKind;

/* Per-call sampling settings (`ask r with { … } p`), already checked by the
 * VM against the same ranges the checker applies to constants. They
 * override the role's for that one call. */
#define ASK_STOP_MAX 16        /* stop sequences in one call or role */
#define ASK_STOP_LEN_MAX 256   /* bytes in one stop sequence */
typedef struct AskWith {
  double temperature;      /* NaN: the role's */
  double top_p;            /* NaN: the role's */
  int64_t max_tokens;      /* -1: the role's */
  const char *stop[ASK_STOP_MAX]; /* borrowed for the call; nstop 0: the role's */
  uint32_t nstop;
} AskWith;

typedef struct EffectRequest {
  EffectKind kind;
  const char *addr;        /* the effect's address; borrowed for the call */
  struct Fiber *fiber;     /* parked; the one fiber this effect wakes */
  union {
    struct {
      uint32_t role;       /* Module.roles index */
      Value prompt;        /* a string, borrowed for the call */
      uint32_t td;         /* reply descriptor, ASK_TEXT (vm/opcodes.h) for text */
      const AskWith *with; /* per-call settings, NULL: the role's alone */
      Value turns;         /* EFFECT_STEP: a string, borrowed for the call */
    } ask;
    struct {
      int64_t ms;          /* asked for (may be negative: wakes at once) */
    } sleep;
    /* A capability call of the embedded standard modules (std/fs, ...):
     * the operation's name ("fs.read") and its arguments, a record the
     * module built. The host answers with the result as a json value
     * (the module converts it to its typed result with from_json), or
     * fails the fiber. The grant check is the host's: the VM has none. */
    struct {
      const char *op;      /* borrowed for the call */
      Value args;          /* borrowed for the call */
    } cap;
    /* EFFECT_GENERATE: the planner role, the prompt, and the signature the
     * generated main must have: a TD_RECORD descriptor of its parameters
     * (field i is parameter i, by name and type) and its result's
     * descriptor (NO_INDEX: main returns nothing). */
    struct {
      uint32_t role;       /* Module.roles index */
      Value prompt;        /* a string, borrowed for the call */
      uint32_t params;     /* TD_RECORD descriptor */
      uint32_t result;     /* descriptor or NO_INDEX */
    } gen;
  } u;
} EffectRequest;

typedef struct Effects {
  void *host;  /* passed back to every function */
  /* Takes the effect of a parked fiber (see the protocol above). */
  bool (*submit)(void *host, const EffectRequest *rq);
  /* Withdraws f's effect: f is being freed, parked in an effect the host
   * took. A no-op for a fiber the host holds nothing for. */
  void (*cancel)(void *host, struct Fiber *f);
  /* True while the host holds an effect that will complete: the scheduler
   * waits for it rather than ending the run. */
  bool (*busy)(const void *host);
  /* Milliseconds until the host needs the scheduler back even with nothing
   * done (a retry backoff ending), 0 for at once, or -1: only on progress. */
  int64_t (*next_deadline)(const void *host);
  /* Blocks at most timeout_ms for progress, then completes what is done
   * (vm_wake / vm_fail_parked). */
  void (*wait)(void *host, int64_t timeout_ms);
  /* Progress without blocking, between slices of busy fibers. */
  void (*pump)(void *host);
  /* A sleep of rq->u.sleep.ms at rq->addr is about to park rq->fiber:
   * returns the milliseconds to wait (0 when a journal already answered
   * it). NULL: sleeps are plain timers. */
  int64_t (*sleep_begin)(void *host, const EffectRequest *rq);
  /* The timer of a sleep has fired and f is about to be woken: called
   * when sleep_begin set f->sleep_ms >= 0 (to be told; the host resets it).
   * Fiber.sleep_ms / sleep_at are the host's to keep. */
  void (*sleep_end)(void *host, struct Fiber *f);
  /* A reading of the wall clock at rq->addr: sets *unix_ms from the
   * journal (resume, replay) or the system clock, and journals it. False:
   * *err (malloc'd) says why (a record that is not a reading). NULL: the
   * system clock, nothing journaled. */
  bool (*clock)(void *host, const EffectRequest *rq, int64_t *unix_ms, char **err);
  /* One trace event, a JSON object of n bytes (no newline). NULL: no trace:
   * the VM builds no events at all. */
  void (*trace)(void *host, const char *line, size_t n);
  /* trust(x, reason) on f declassified x, whose label named origin ("" for
   * a value that was clean): the host journals it. NULL: not journaled. */
  void (*trusted)(void *host, struct Fiber *f, const char *reason, const char *origin);
} Effects;

#endif
