/* budget.c — budgets: limits on model calls, tokens, dollars and wall
 * time, chained to the enclosing budget. The global budget (--budget-*) is
 * the root fiber's; a `budget` block's is made by the BUDGET instruction
 * (vm/tasks.c, a one-branch tasks object). The host admits and charges
 * effects through budget_admit / budget_charge (vm_impl.h). */
#include "vm_impl.h"
#include "../base/util.h"
#include "opcodes.h"
#include "trace.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- budgets --------------------------------------------------------------
 *
 * The rule: a request (every attempt of an ask: the first, each transport
 * retry, each repair) is admitted only while every budget of its fiber's
 * chain has a call, time, and room for the request's reservation left.
 * Admission charges one call and RESERVES the request's worst case on
 * every budget of the chain: its estimated input plus its max_tokens
 * output tokens, and their price. When the attempt ends the reservation is
 * released and the attempt is charged what it used (budget_settle): the
 * reply's reported usage, or the whole reservation when the reply reports
 * none (or nonsense), or when the attempt was cancelled or broke after it
 * was sent. So what calls in flight may still spend is always counted:
 * cancelling and asking again, or a reply that says it cost nothing,
 * cannot get past a limit.
 *
 * A request that does not fit even with nothing else outstanding is
 * refused and exhausts that budget; one that fits only once calls in flight
 * settle WAITs in the engine's queue (it is not refused: their actual
 * usage is usually below what they reserved). An exhausted budget admits
 * nothing more: every later request is refused with kind "budget", and the
 * engine fails the calls under it still queued or backing off (never
 * admitted). Calls already admitted finish: their worst case was reserved,
 * so they cannot overrun. The refusals fail their fibers like any branch
 * failure, so a tolerant barrier keeps what completed, and a block takes
 * its else only when a budget failure escapes its body (vm/tasks.c).
 *
 * Time is the exception: when a time limit runs out (b->timed) the work
 * under it is stopped, not only refused: the engine aborts the calls in
 * flight under it and vm_budget_time_stop fails the fibers that compute or
 * sleep, each with kind "budget". */

/* Counts saturate: a hostile reply's usage or a huge reservation can end a
 * budget, never wrap it around. */
static int64_t add_sat(int64_t a, int64_t b) {
  if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
  if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
  return a + b;
}

/* Dollars stay finite and non-negative, so a reservation taken can be
 * given back exactly (inf - inf would be NaN). */
static double usd_clean(double v) {
  if (!(v >= 0)) return 0;
  return v > 1e300 ? 1e300 : v;
}

Budget *budget_new(VM *vm, Budget *parent, uint32_t bits, int64_t calls, int64_t tokens,
                   double usd, int64_t time_ms, const char *addr) {
  /* counted in the heap: a program that opens many budget blocks (one per
   * fan-out branch) holds their memory under --max-memory like its values */
  Budget *b = heap_alloc(&vm->heap, sizeof *b);
  memset(b, 0, sizeof *b);
  b->rc = 1;
  b->bits = bits;
  b->parent = budget_retain(parent);
  b->calls_max = calls;
  b->tokens_max = tokens;
  b->usd_max = usd;
  b->time_ms = time_ms;
  b->start_ms = vm_now_ms(vm);
  if (!addr) addr = "run";
  size_t n = strlen(addr) + 1;
  b->addr = heap_alloc(&vm->heap, n);
  memcpy(b->addr, addr, n);
  return b;
}

Budget *budget_retain(Budget *b) {
  if (b) b->rc++;
  return b;
}

void budget_release(VM *vm, Budget *b) {
  while (b && --b->rc == 0) { /* a loop: deep chains do not recurse */
    Budget *p = b->parent;
    free(b->why);
    heap_free(&vm->heap, b->addr, strlen(b->addr) + 1);
    heap_free(&vm->heap, b, sizeof *b);
    b = p;
  }
}

static void trace_budget(VM *vm, const Budget *b, const char *why) {
  Trace *tr = vm->trace;
  if (!trace_begin(tr, "budget", b->addr)) return;
  /* what is used so far, whichever limits are set */
  trace_int(tr, "calls", b->calls_used);
  trace_int(tr, "tokens", b->tokens_used);
  trace_num(tr, "usd", b->usd_used);
  trace_int(tr, "reserved_tokens", b->tokens_reserved);
  trace_num(tr, "reserved_usd", b->usd_reserved);
  if (b->bits & BUDGET_TIME) trace_int(tr, "elapsed_ms", (int64_t)(vm_now_ms(vm) - b->start_ms));
  if (why) trace_cstr(tr, "exhausted", why);
  trace_end(tr);
}

static void budget_exhaust(VM *vm, Budget *b, char *why) {
  if (b->exhausted) {
    free(why);
    return;
  }
  b->exhausted = true;
  b->why = why;
  vm->budgets_exhausted++;
  trace_budget(vm, b, why);
  if (b->owner) tasks_mark_dirty(vm, b->owner);
}

/* Exhausts b if a limit is used up; returns its state. */
bool budget_check(VM *vm, Budget *b) {
  if (b->exhausted && (b->timed || !(b->bits & BUDGET_TIME))) return true;
  char *why = NULL;
  int64_t elapsed = (int64_t)(vm_now_ms(vm) - b->start_ms);
  if (b->exhausted) {
    /* exhausted by another limit, its calls in flight still finishing:
     * the deadline stops them all the same */
    if (elapsed >= b->time_ms) {
      b->timed = true;
      vm->budgets_exhausted++;
      if (b->owner) tasks_mark_dirty(vm, b->owner);
    }
    return true;
  }
  if ((b->bits & BUDGET_CALLS) && b->calls_used >= b->calls_max)
    why = xasprintf("budget exhausted: calls %" PRId64 "/%" PRId64, b->calls_used, b->calls_max);
  else if ((b->bits & BUDGET_TOKENS) && b->tokens_used >= b->tokens_max)
    why = xasprintf("budget exhausted: tokens %" PRId64 "/%" PRId64, b->tokens_used, b->tokens_max);
  else if ((b->bits & BUDGET_USD) && b->usd_used >= b->usd_max)
    why = xasprintf("budget exhausted: usd $%.4f/$%.4f", b->usd_used, b->usd_max);
  else if ((b->bits & BUDGET_TIME) && elapsed >= b->time_ms) {
    why = xasprintf("budget exhausted: time %" PRId64 "ms/%" PRId64 "ms", elapsed, b->time_ms);
    b->timed = true;
  }
  if (why) budget_exhaust(vm, b, why);
  return b->exhausted;
}

/* A request reserving tokens/usd can never fit in b (even with nothing
 * else in flight): b is exhausted with a message saying why. */
static bool budget_never_fits(VM *vm, Budget *b, int64_t tokens, double usd) {
  char *why = NULL;
  if ((b->bits & BUDGET_TOKENS) && tokens > b->tokens_max - b->tokens_used)
    why = xasprintf("budget exhausted: tokens %" PRId64 "/%" PRId64 " (the next call reserves %" PRId64
                  ": its estimated input and its max_tokens)", b->tokens_used, b->tokens_max, tokens);
  else if ((b->bits & BUDGET_USD) && usd > b->usd_max - b->usd_used)
    why = xasprintf("budget exhausted: usd $%.4f/$%.4f (the next call reserves $%.4f: its estimated "
                  "input and its max_tokens)", b->usd_used, b->usd_max, usd);
  if (!why) return false;
  budget_exhaust(vm, b, why);
  return true;
}

/* b has room for the reservation beside those already outstanding. */
static bool budget_room(const Budget *b, int64_t tokens, double usd) {
  if ((b->bits & BUDGET_TOKENS) && tokens > b->tokens_max - b->tokens_used - b->tokens_reserved) return false;
  if ((b->bits & BUDGET_USD) && usd > b->usd_max - b->usd_used - b->usd_reserved) return false;
  return true;
}

BudgetFit budget_admit(VM *vm, Budget *b, int64_t tokens, double usd, bool commit, char **why) {
  *why = NULL;
  if (tokens < 0) tokens = 0;
  usd = usd_clean(usd);
  /* refusals first, innermost budget first: the message names the budget
   * that stops the work, and a wait never hides a refusal */
  for (Budget *p = b; p; p = p->parent) {
    if (budget_check(vm, p) || budget_never_fits(vm, p, tokens, usd)) {
      p->refused = true;
      *why = xasprintf("%s", p->why);
      return BUDGET_REFUSED;
    }
  }
  for (Budget *p = b; p; p = p->parent)
    if (!budget_room(p, tokens, usd)) return BUDGET_WAIT;
  if (!commit) return BUDGET_FITS;
  for (Budget *p = b; p; p = p->parent) {
    p->calls_used = add_sat(p->calls_used, 1);
    p->tokens_reserved = add_sat(p->tokens_reserved, tokens);
    p->usd_reserved += usd;
    trace_budget(vm, p, NULL);
  }
  return BUDGET_FITS;
}

/* Adds a charge to p and exhausts it when a limit is reached. Calls are
 * not re-checked: using the last call is not exhaustion until another
 * request asks. */
static void budget_add(VM *vm, Budget *p, int64_t calls, int64_t tokens, double usd) {
  p->calls_used = add_sat(p->calls_used, calls);
  p->tokens_used = add_sat(p->tokens_used, tokens);
  p->usd_used = usd_clean(p->usd_used + usd);
  trace_budget(vm, p, NULL);
  uint32_t keep = p->bits;
  p->bits &= ~(uint32_t)BUDGET_CALLS;
  budget_check(vm, p);
  p->bits = keep;
}

void budget_settle(VM *vm, Budget *b, int64_t res_tokens, double res_usd, int64_t tokens, double usd) {
  if (res_tokens < 0) res_tokens = 0;
  if (tokens < 0) tokens = 0;
  res_usd = usd_clean(res_usd);
  for (Budget *p = b; p; p = p->parent) {
    p->tokens_reserved = add_sat(p->tokens_reserved, -res_tokens);
    if (p->tokens_reserved < 0) p->tokens_reserved = 0;
    p->usd_reserved -= res_usd;
    if (p->usd_reserved < 1e-12) p->usd_reserved = 0; /* rounding: nothing is left outstanding */
    budget_add(vm, p, 0, tokens, usd_clean(usd));
  }
}

void budget_charge(VM *vm, Budget *b, int64_t calls, int64_t tokens, double usd) {
  if (calls < 0) calls = 0;
  if (tokens < 0) tokens = 0;
  for (Budget *p = b; p; p = p->parent) budget_add(vm, p, calls, tokens, usd_clean(usd));
}

bool budget_limits_usd(const Budget *b) {
  for (const Budget *p = b; p; p = p->parent)
    if (p->bits & BUDGET_USD) return true;
  return false;
}

const char *budget_spent(const Budget *b) {
  for (const Budget *p = b; p; p = p->parent)
    if (p->exhausted) return p->why;
  return NULL;
}

const char *budget_time_spent(VM *vm, Budget *b) {
  for (Budget *p = b; p; p = p->parent) {
    if (!p->exhausted && (p->bits & BUDGET_TIME)) budget_check(vm, p);
    if (p->exhausted && p->timed) return p->why;
  }
  return NULL;
}

void budget_mark_refused(Budget *b) {
  for (Budget *p = b; p; p = p->parent)
    if (p->exhausted) {
      p->refused = true;
      return;
    }
}

const char *budget_run_failure(const VM *vm) {
  const Budget *b = vm->budget;
  return b && b->exhausted && b->refused ? b->why : NULL;
}

uint64_t budget_deadline(const Budget *b) {
  return b && (b->bits & BUDGET_TIME) ? b->start_ms + (uint64_t)b->time_ms : 0;
}

void budget_time_up(VM *vm, Budget *b) {
  if (!b) return;
  budget_check(vm, b);
  /* exhausted by time or earlier by another limit: either way the run stops here */
  if (b->exhausted) b->refused = true;
}

void vm_set_budget(VM *vm, uint32_t bits, int64_t calls, int64_t tokens, double usd, int64_t time_ms) {
  budget_release(vm, vm->budget);
  vm->budget = budget_new(vm, NULL, bits, calls, tokens, usd, time_ms, "run");
}

bool vm_budget_figures(VM *vm, Fiber *f, bool left, BudgetFigures *out) {
  memset(out, 0, sizeof *out);
  Budget *b = f ? f->budget : vm->budget;
  if (!b) return false;
  int64_t elapsed = (int64_t)(vm_now_ms(vm) - b->start_ms);
  out->has_calls = b->bits & BUDGET_CALLS;
  out->has_tokens = b->bits & BUDGET_TOKENS;
  out->has_usd = b->bits & BUDGET_USD;
  out->has_time = b->bits & BUDGET_TIME;
  if (!left) {
    out->calls = b->calls_used;
    out->tokens = b->tokens_used;
    out->usd = b->usd_used;
    out->time_ms = elapsed < 0 ? 0 : elapsed;
    return true;
  }
  if (budget_check(vm, b)) return true; /* nothing more is admitted: all 0 */
  int64_t c = b->calls_max - b->calls_used;
  int64_t t = add_sat(b->tokens_max, -add_sat(b->tokens_used, b->tokens_reserved));
  double u = b->usd_max - b->usd_used - b->usd_reserved;
  int64_t ms = b->time_ms - elapsed;
  out->calls = c > 0 ? c : 0;
  out->tokens = t > 0 ? t : 0;
  out->usd = u > 0 ? u : 0;
  out->time_ms = ms > 0 ? ms : 0;
  return true;
}

bool vm_budget_time_left(VM *vm, Fiber *f) {
  const char *spent = budget_time_spent(vm, f->budget);
  if (!spent) return true;
  vm_raise_kind(vm, f, "budget", "%s", spent);
  return false;
}
