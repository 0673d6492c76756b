/* budget.c — budgets: limits on model calls, tokens, dollars and wall
 * time, chained to the enclosing budget. The global budget (--budget-*) is
 * the root fiber's; a `budget` block's is made by the BUDGET instruction
 * (vm/tasks.c, a one-branch tasks object). The host admits and charges
 * effects through budget_admit / budget_charge (vm_impl.h). */
#include "vm_impl.h"
#include "opcodes.h"
#include "trace.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static char *str_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_fmt(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n > 0) {
    char *s = malloc((size_t)n + 1);
    if (!s) abort();
    vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
  }
  va_end(ap2);
  char *s = malloc(1);
  if (!s) abort();
  s[0] = '\0';
  return s;
}

/* ---- budgets --------------------------------------------------------------
 *
 * The rule: a call is admitted only while every budget of its fiber's
 * chain has calls, tokens, dollars and time left (calls are charged at
 * admission, tokens and dollars when the reply's usage arrives, so the
 * last admitted call may overshoot: that usage is recorded and ends the
 * budget). An exhausted budget refuses every later call with kind
 * "budget"; the engine fails the calls still queued or in flight under it
 * (vm->budgets_exhausted tells it to look), and a budget block's body is
 * cancelled at the next settle exactly like a cancelled fan-out branch. */


Budget *budget_new(VM *vm, Budget *parent, uint32_t bits, int64_t calls, int64_t tokens,
                   double usd, int64_t time_ms, const char *addr) {
  Budget *b = calloc(1, sizeof *b);
  if (!b) abort();
  b->rc = 1;
  b->bits = bits;
  b->parent = budget_retain(parent);
  b->calls_max = calls;
  b->tokens_max = tokens;
  b->usd_max = usd;
  b->time_ms = time_ms;
  b->start_ms = vm_now_ms(vm);
  b->addr = str_fmt("%s", addr ? addr : "run");
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
    free(b->addr);
    free(b);
    b = p;
  }
  (void)vm;
}

static void trace_budget(VM *vm, const Budget *b, const char *why) {
  Trace *tr = vm->trace;
  if (!trace_begin(tr, "budget", b->addr)) return;
  /* what is used so far, whichever limits are set */
  trace_int(tr, "calls", b->calls_used);
  trace_int(tr, "tokens", b->tokens_used);
  trace_num(tr, "usd", b->usd_used);
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
  if (b->exhausted) return true;
  char *why = NULL;
  int64_t elapsed = (int64_t)(vm_now_ms(vm) - b->start_ms);
  if ((b->bits & BUDGET_CALLS) && b->calls_used >= b->calls_max)
    why = str_fmt("budget exhausted: calls %" PRId64 "/%" PRId64, b->calls_used, b->calls_max);
  else if ((b->bits & BUDGET_TOKENS) && b->tokens_used >= b->tokens_max)
    why = str_fmt("budget exhausted: tokens %" PRId64 "/%" PRId64, b->tokens_used, b->tokens_max);
  else if ((b->bits & BUDGET_USD) && b->usd_used >= b->usd_max)
    why = str_fmt("budget exhausted: usd $%.4f/$%.4f", b->usd_used, b->usd_max);
  else if ((b->bits & BUDGET_TIME) && elapsed >= b->time_ms)
    why = str_fmt("budget exhausted: time %" PRId64 "ms/%" PRId64 "ms", elapsed, b->time_ms);
  if (why) budget_exhaust(vm, b, why);
  return b->exhausted;
}

bool budget_admit(VM *vm, Budget *b, char **why) {
  *why = NULL;
  for (Budget *p = b; p; p = p->parent) {
    if (budget_check(vm, p)) {
      p->refused = true;
      *why = str_fmt("%s", p->why);
      return false;
    }
  }
  for (Budget *p = b; p; p = p->parent) {
    p->calls_used++;
    trace_budget(vm, p, NULL);
  }
  return true;
}

void budget_charge(VM *vm, Budget *b, int64_t tokens, double usd) {
  for (Budget *p = b; p; p = p->parent) {
    p->tokens_used += tokens;
    p->usd_used += usd;
    trace_budget(vm, p, NULL);
    /* calls are not re-checked here: using the last call is not exhaustion
     * until another call asks */
    uint32_t keep = p->bits;
    p->bits &= ~(uint32_t)BUDGET_CALLS;
    budget_check(vm, p);
    p->bits = keep;
  }
}

const char *budget_spent(const Budget *b) {
  for (const Budget *p = b; p; p = p->parent)
    if (p->exhausted) return p->why;
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
