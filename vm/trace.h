/* trace.h — effect addresses, the run trace's events and the live
 * progress line.
 *
 * Addresses. Every effect gets an address derived from the program's
 * structure, never from timing: the fiber's path plus the fiber's own
 * effect counter. The root fiber's path is "main"; a fan-out branch's path
 * is its parent's path + "/fanout#N@LINE[INDEX]" (N: the FANOUT's number
 * among the parent's effects, LINE: its source line, INDEX: the input
 * index or, for a record fan-out, the field name). Effects inside a fiber
 * are numbered in program order by one counter: "main/ask#1",
 * "main/sleep#2", "main/fanout#3@12[0]/ask#1", "main/barrier#4". The
 * number keeps a fan-out in a loop (same line, several runs) unique.
 *
 * The trace. The VM builds one JSON object per event, {"t": ms, "ev":
 * "...", "addr": "...", ...} (see docs/runtime.md for the events), and
 * hands each, as it happens, to the host's trace sink (vm/effects.h), which
 * writes it where the run asked (--trace FILE.jsonl, the journal). The VM
 * has a Trace only while the host has a sink, and every function takes a
 * NULL trace and then does nothing, so a run without a trace pays one
 * pointer test per event. String fields are capped at TRACE_FIELD_MAX
 * bytes; an event with a cut field carries "truncated": true. Every key
 * and every string is written through buf_json_string, so no value or
 * name can end a line or add a field. */
#ifndef WEFT_TRACE_H
#define WEFT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "value.h"

struct VM;
struct Fiber;

#define TRACE_FIELD_MAX ((size_t)64 << 10)

/* ---- addresses ------------------------------------------------------- */

/* The fiber's path ("main" for the root fiber). Never NULL. */
const char *fiber_address(const struct Fiber *f);
/* Takes the fiber's next effect number and appends the effect's address
 * "PATH/KIND#N" to out. */
void fiber_effect_address(struct Fiber *f, const char *kind, Buf *out);
/* The path prefix of the branches of a FANOUT that f is executing at
 * source line `line`: "PATH/fanout#N@LINE" (takes an effect number). The
 * result is malloc'd. */
char *fiber_fanout_prefix(struct Fiber *f, uint32_t line);
/* Gives f (a new branch fiber) the path PREFIX[i] or PREFIX[name]. */
void fiber_set_branch_path(struct VM *vm, struct Fiber *f, const char *prefix, uint32_t i, const char *name);

/* ---- the trace -------------------------------------------------------- */

typedef struct Trace Trace;

/* An event builder whose events go to sink(ud, line, n); its clock ("t")
 * starts now. vm_set_effects makes and frees the VM's. */
Trace *trace_new(void (*sink)(void *ud, const char *line, size_t n), void *ud);
void trace_free(Trace *t);  /* NULL-safe */

/* An event: trace_begin, then fields, then trace_end (writes the line and
 * flushes). trace_begin returns false when t is NULL: skip the fields. */
bool trace_begin(Trace *t, const char *ev, const char *addr);
void trace_str(Trace *t, const char *key, const char *s, size_t n);
void trace_cstr(Trace *t, const char *key, const char *s);
void trace_int(Trace *t, const char *key, int64_t v);
void trace_num(Trace *t, const char *key, double v);
/* A value as JSON (a reply); values with no JSON form are written as
 * their display text. */
void trace_value(Trace *t, const char *key, Value v);
/* The same with a key of klen bytes (a record field name, which may hold
 * any byte: it is escaped like every string of the line). */
void trace_field(Trace *t, const char *key, size_t klen, Value v);
/* Hands the event to the sink. */
void trace_end(Trace *t);

/* fiber_start / fiber_end events of f (NULL-safe on vm->trace). status:
 * "ok", "failed", "cancelled"; error may be NULL. input: a list fan-out
 * branch's element (NULL: none), written as `input`, its display text cut
 * at TRACE_INPUT_MAX bytes: enough to name a lane of the trace page. */
#define TRACE_INPUT_MAX 120
void trace_fiber_start(struct VM *vm, const struct Fiber *f, const Value *input);
void trace_fiber_end(struct VM *vm, const struct Fiber *f, const char *status, const char *error);

/* ---- progress ----------------------------------------------------------- */

/* A budget's limits (has: BUDGET_* bits, opcodes.h) and what it used. */
typedef struct ProgressBudget {
  uint32_t has;
  int64_t calls, calls_max, tokens, tokens_max, time_ms, time_max_ms;
  double usd, usd_max;
} ProgressBudget;

typedef struct Progress {
  uint64_t branches_done, branches_running, branches_failed;
  uint64_t calls_in_flight, calls_done;
  uint64_t tokens;
  double cost_usd;
  uint64_t elapsed_ms;
  /* the oldest fan-out still running (fanout_total 0: none), how many
   * others run, and its time left at its rate so far (-1: no rate yet) */
  uint64_t fanout_total, fanout_done, fanout_failed;
  uint32_t fanout_line, fanouts_more;
  int64_t fanout_left_ms;
  ProgressBudget run_budget;   /* --budget-* (has 0: none) */
  ProgressBudget block_budget; /* the oldest budget block running (has 0: none) */
  uint32_t width;              /* the terminal's columns; 0: no limit */
} Progress;

/* Fills p's fan-out and budget parts from vm's live fan-outs and budgets
 * (vm/tasks.c): bounded work, the oldest live fan-outs first. */
void vm_progress(struct VM *vm, Progress *p);

/* One line, no newline, at most p->width - 1 columns (parts dropped from
 * the least useful, then cut):
 * "fanout@3 384/1000 [#####.....] 38% ~12s left | calls 12/50, $0.31/$1.00,
 * time 40s/2m | 64 running, 2 failed | 3 in flight, 40 calls | 12,345 tokens | 4.2s". */
void progress_format(Buf *out, const Progress *p);

#endif
