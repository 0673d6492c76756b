/* caps.h — host capabilities: the operations behind std/fs, std/proc and
 * std/http, as effects (vm/effects.h, EFFECT_CAP).
 *
 * A capability call parks its fiber like an ask. The host (host.c) hands
 * it to caps_submit, which looks the operation up in the one table of
 * operations (caps.c, a row per operation: name, the grant kind it needs,
 * start and cancel) and does what every operation shares:
 *   - the journal: a finished call is recorded at the effect's address
 *     (kind "cap", request {"op", "args"}, the result JSON as response);
 *     a resumed run answers a call that succeeded (or failed inside a
 *     `try` of its fiber) from its record at the same address with the
 *     same request, and does not run it again; a call that was in flight
 *     at the crash has no record and runs again, as does one that failed
 *     uncaught (docs/durable.md). A replay answers every call from its
 *     records, failures too, and runs none.
 *   - the trace: cap_start when a call starts (or is answered from the
 *     journal), cap_end when it completes, with its outcome.
 *   - cancellation: a fiber cancelled while parked (a failed fan-out, a
 *     barrier decided) and a `time` budget that runs out call the
 *     operation's cancel (a process is killed) and the call is dropped.
 *   - completion: results are delivered from the host's wait or pump,
 *     after the journal commit, never from inside submit: a result is on
 *     disk before the program acts on it.
 *
 * A handler starts its work in start (at once for a file, on the run's
 * event loop for anything that waits: caps_loop) and completes exactly
 * once with caps_done or caps_fail, from start itself or later from a
 * loop callback. After completing, or after its cancel was called, it
 * must not touch the call again. */
#ifndef WEFT_CAPS_H
#define WEFT_CAPS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include "grants.h"
#include "journal.h"
#include "loop.h"
#include "../vm/vm.h"

typedef struct Caps Caps;
typedef struct CapCall CapCall;

/* One operation: a row of the table in caps.c. */
typedef struct CapOp {
  const char *name;       /* "fs.read": what std modules pass to cap_call */
  GrantKind grant;        /* the kind of grant it needs (for messages and check --caps) */
  /* Starts the call with its arguments (an object; borrowed for the call:
   * copy what outlives it). Completes now or later (caps_done/caps_fail). */
  void (*start)(CapCall *c, const cJSON *args);
  /* Stops a call that has not completed (its fiber is gone): kill the
   * process, abort the transfer, release what start took. The call is
   * freed after it returns; never complete it from here. NULL: the
   * operation always completes inside start. */
  void (*cancel)(CapCall *c);
  /* Untrusted content (docs/security.md, "Untrusted content: sources, sinks
   * and the journal"), as space-separated field names. acting: the
   * argument fields that decide what the operation does; a labelled value
   * in one is refused before anything starts. untrusted: the result
   * fields that carry content from outside ("" the whole result; NULL
   * none), labelled unless the grants vouch for them (caps.c). */
  const char *acting;
  const char *untrusted;
} CapOp;

/* Where a handler finds the run's loop, and what its host provides. */
typedef Loop *(*CapsLoopFn)(void *ud, char **err);

/* The capability calls of vm's run under grants g (borrowed; NULL: no
 * grants, every call is refused). loop_fn gives the run's event loop on
 * first use (the engine's, so processes and transfers share one wait). */
Caps *caps_new(VM *vm, const Grants *g, CapsLoopFn loop_fn, void *loop_ud);
void caps_set_grants(Caps *cs, const Grants *g);
/* Frees cs: after vm_free, which withdrew every call (caps_cancel); a
 * call still running is stopped. */
void caps_free(Caps *cs);
/* The journal and records calls are written to and answered from
 * (borrowed; NULL: none). */
void caps_set_log(Caps *cs, EffectLog *log);

/* EFFECT_CAP: starts rq's call (or answers it from the records). False
 * after vm_raise when it cannot even start (an unknown operation,
 * arguments with no JSON form); a refusal by the grants is a failure of
 * the call like any other (kind "error"), delivered on the next wait. */
bool caps_submit(Caps *cs, const EffectRequest *rq);
/* f is being cancelled: stops its call, if it has one. */
void caps_cancel(Caps *cs, Fiber *f);
/* Calls started and not yet delivered. */
bool caps_busy(const Caps *cs);
/* Completed calls wait for delivery: the scheduler must not sleep. */
bool caps_ready(const Caps *cs);
/* Calls with work on the loop (a handler that has not completed). */
bool caps_running(const Caps *cs);
/* Delivers completed calls: journals them, commits, then wakes or fails
 * their fibers; and stops calls whose `time` budget ran out. */
void caps_deliver(Caps *cs);

/* ---- for handlers ------------------------------------------------------------- */

void caps_done(CapCall *c, cJSON *result);   /* takes result */
/* kind: a failure kind of vm/vm_impl.h ("error", "timeout", ...). */
void caps_fail(CapCall *c, const char *kind, const char *message);
const Grants *caps_grants(const CapCall *c);
/* The run's event loop, NULL + *err when the kernel refuses one. */
Loop *caps_loop(CapCall *c, char **err);
const char *caps_addr(const CapCall *c);     /* "main/fs.read#1" */
const CapOp *caps_op(const CapCall *c);
/* The handler's own state for the call (NULL until set). */
void *caps_data(const CapCall *c);
void caps_set_data(CapCall *c, void *data);

/* The site of an effect address for a label's origin: addr without its
 * dynamic parts ("main/fanout#1@3[7]/http.request#1" ->
 * "main/fanout#1/http.request#1"), so one call site is one origin. */
char *caps_label_site(const char *addr);
/* The label a journal record names (EffectRec.label), LABEL_NONE for
 * none: its origin text cut short and stripped of control characters (the
 * file may be hostile; the text ends up in messages). */
Label caps_record_label(VM *vm, const char *text);

/* The operations (name lookup, and the list for docs and check --caps). */
const CapOp *caps_find(const char *name);
const CapOp *caps_table(uint32_t *n);

#endif
