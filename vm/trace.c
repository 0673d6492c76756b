/* trace.c — effect addresses, the run trace's events and the progress
 * line (see trace.h for the contract and docs/runtime.md for the format).
 *
 * A fiber's path is one heap-counted string (about 20-30 bytes for a
 * branch of a top-level fan-out): the root fiber stores none ("main"),
 * and a fan-out computes its branches' common prefix once, so a branch
 * costs one small string while it runs and nothing while it waits.
 *
 * Each event goes to the host's sink the moment it is complete (the host
 * writes and flushes it at once: a run that crashes or is killed leaves
 * every event that happened before). */
#include "trace.h"
#include "vm_impl.h"
#include "../base/util.h"
#include "opcodes.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- addresses ---------------------------------------------------------- */

const char *fiber_address(const Fiber *f) {
  return f && f->path ? f->path : "main";
}

void fiber_effect_address(Fiber *f, const char *kind, Buf *out) {
  uint32_t n = ++f->effects;
  buf_printf(out, "%s/%s#%" PRIu32, fiber_address(f), kind, n);
}

char *fiber_fanout_prefix(Fiber *f, uint32_t line) {
  Buf b;
  buf_init(&b);
  uint32_t n = ++f->effects;
  buf_printf(&b, "%s/fanout#%" PRIu32 "@%" PRIu32, fiber_address(f), n, line);
  buf_putc(&b, '\0');
  return b.data;
}

void fiber_set_branch_path(VM *vm, Fiber *f, const char *prefix, uint32_t i, const char *name) {
  Buf b;
  buf_init(&b);
  if (name) buf_printf(&b, "%s[%s]", prefix, name);
  else buf_printf(&b, "%s[%" PRIu32 "]", prefix, i);
  size_t n = b.len + 1;
  char *p = heap_alloc(&vm->heap, n);
  memcpy(p, b.data, b.len);
  p[b.len] = '\0';
  buf_free(&b);
  if (f->path) heap_free(&vm->heap, f->path, strlen(f->path) + 1);
  f->path = p;
}

/* ---- the trace ----------------------------------------------------------- */

struct Trace {
  void (*sink)(void *ud, const char *line, size_t n);
  void *ud;
  Buf line;
  struct timespec start;
  bool truncated;     /* a field of the current event was cut */
};

Trace *trace_new(void (*sink)(void *ud, const char *line, size_t n), void *ud) {
  Trace *t = calloc(1, sizeof *t);
  if (!t) weft_oom(sizeof *t);
  t->sink = sink;
  t->ud = ud;
  buf_init(&t->line);
  clock_gettime(CLOCK_MONOTONIC, &t->start);
  return t;
}

void trace_free(Trace *t) {
  if (!t) return;
  buf_free(&t->line);
  free(t);
}

static uint64_t since_start_ms(const Trace *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t ms = (int64_t)(now.tv_sec - t->start.tv_sec) * 1000 + (now.tv_nsec - t->start.tv_nsec) / 1000000;
  return ms > 0 ? (uint64_t)ms : 0;
}

/* A field's key, escaped like every string of the line: a key can be a
 * record field name from a module (trace_event), which is module data. */
static void key_n(Trace *t, const char *k, size_t n) {
  buf_putc(&t->line, ',');
  buf_json_string(&t->line, k, n);
  buf_putc(&t->line, ':');
}

static void key(Trace *t, const char *k) { key_n(t, k, strlen(k)); }

bool trace_begin(Trace *t, const char *ev, const char *addr) {
  if (!t) return false;
  t->line.len = 0;
  t->truncated = false;
  buf_printf(&t->line, "{\"t\":%" PRIu64 ",\"ev\":", since_start_ms(t));
  buf_json_string(&t->line, ev, strlen(ev));
  if (addr) {
    key(t, "addr");
    buf_json_string(&t->line, addr, strlen(addr));
  }
  return true;
}

void trace_str(Trace *t, const char *k, const char *s, size_t n) {
  if (!t) return;
  if (n > TRACE_FIELD_MAX) {
    n = TRACE_FIELD_MAX;
    t->truncated = true;
  }
  key(t, k);
  buf_json_string(&t->line, s ? s : "", s ? n : 0);
}

void trace_cstr(Trace *t, const char *k, const char *s) {
  if (!t) return;
  trace_str(t, k, s ? s : "", s ? strlen(s) : 0);
}

void trace_int(Trace *t, const char *k, int64_t v) {
  if (!t) return;
  key(t, k);
  buf_printf(&t->line, "%" PRId64, v);
}

void trace_num(Trace *t, const char *k, double v) {
  if (!t) return;
  key(t, k);
  if (isfinite(v)) buf_printf(&t->line, "%.17g", v);
  else buf_puts(&t->line, "null");
}

void trace_field(Trace *t, const char *k, size_t klen, Value v) {
  if (!t) return;
  Buf j;
  buf_init(&j);
  bool ok = v_to_json(&j, v, NULL);
  if (!ok) { /* NaN or too deep: the display text still says what it was */
    char *why = NULL;
    if (!v_to_display(&j, v, &why)) buf_puts(&j, why);
    free(why);
  }
  key_n(t, k, klen);
  if (!ok || j.len > TRACE_FIELD_MAX) { /* cut JSON is no longer JSON: a string */
    size_t n = j.len;
    if (n > TRACE_FIELD_MAX) {
      n = TRACE_FIELD_MAX;
      t->truncated = true;
    }
    buf_json_string(&t->line, j.data ? j.data : "", j.data ? n : 0);
  } else {
    buf_put(&t->line, j.data ? j.data : "null", j.data ? j.len : 4);
  }
  buf_free(&j);
}

void trace_value(Trace *t, const char *k, Value v) {
  if (t) trace_field(t, k, strlen(k), v);
}

void trace_end(Trace *t) {
  if (!t) return;
  if (t->truncated) buf_puts(&t->line, ",\"truncated\":true");
  buf_putc(&t->line, '}');
  t->sink(t->ud, t->line.data, t->line.len);
}

void trace_fiber_start(VM *vm, const Fiber *f, const Value *input) {
  Trace *t = vm->trace;
  if (!trace_begin(t, "fiber_start", fiber_address(f))) return;
  if (input) {
    /* bounded before rendering: a branch's element may be a huge value */
    Buf b;
    buf_init(&b);
    char *why = NULL;
    if (v_render_size(*input, 4 * TRACE_INPUT_MAX) > 4 * TRACE_INPUT_MAX) {
      if (v_is(*input, OBJ_STRING)) buf_put(&b, AS_STRING(*input)->data, 4 * TRACE_INPUT_MAX);
      else buf_puts(&b, v_type_name(*input));
    } else if (!v_to_display(&b, *input, &why)) {
      buf_puts(&b, why ? why : "?");
    }
    free(why);
    size_t n = b.len;
    if (n > TRACE_INPUT_MAX) {
      n = TRACE_INPUT_MAX;
      while (n && ((unsigned char)b.data[n] & 0xC0) == 0x80) n--;
      b.len = n;
      buf_puts(&b, "\xe2\x80\xa6"); /* … */
    }
    trace_str(t, "input", b.data ? b.data : "", b.len);
    buf_free(&b);
  }
  trace_end(t);
}

void trace_fiber_end(VM *vm, const Fiber *f, const char *status, const char *error) {
  Trace *t = vm->trace;
  if (!trace_begin(t, "fiber_end", fiber_address(f))) return;
  trace_cstr(t, "status", status);
  if (error) trace_cstr(t, "error", error);
  trace_end(t);
}

/* ---- progress ------------------------------------------------------------- */

static void put_thousands(Buf *b, uint64_t v) {
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
  for (int i = 0; i < n; i++) {
    if (i && (n - i) % 3 == 0) buf_putc(b, ',');
    buf_putc(b, digits[i]);
  }
}

/* A budget's limits and use: "calls 12/50, $0.3100/$1.0000, time 40s/2m". */
static void put_budget(Buf *b, const char *name, const ProgressBudget *g) {
  const char *sep = "";
  buf_puts(b, name);
  if (g->has & BUDGET_CALLS) {
    buf_printf(b, " calls %" PRId64 "/%" PRId64, g->calls, g->calls_max);
    sep = ",";
  }
  if (g->has & BUDGET_TOKENS) {
    buf_printf(b, "%s tokens ", sep);
    put_thousands(b, g->tokens > 0 ? (uint64_t)g->tokens : 0);
    buf_putc(b, '/');
    put_thousands(b, g->tokens_max > 0 ? (uint64_t)g->tokens_max : 0);
    sep = ",";
  }
  if (g->has & BUDGET_USD) {
    buf_printf(b, "%s $%.2f/$%.2f", sep, g->usd, g->usd_max);
    sep = ",";
  }
  if (g->has & BUDGET_TIME) {
    buf_printf(b, "%s time ", sep);
    dur_format(b, g->time_ms / 1000 * 1000);
    buf_putc(b, '/');
    dur_format(b, g->time_max_ms);
  }
}

/* Columns of s[0..n): code points (the line is ASCII but for the
 * program-free text it quotes, which is none today). */
static size_t columns(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

enum { PART_FANOUT, PART_RUN_BUDGET, PART_ELAPSED, PART_BLOCK_BUDGET, PART_CALLS, PART_BRANCHES, PART_TOKENS,
       PART_COST, NPARTS };

/* The parts in the order they show; the enum's order is the order they
 * are kept in when the line is too wide (the last goes first). */
static const uint8_t SHOWN[NPARTS] = {PART_FANOUT, PART_RUN_BUDGET, PART_BLOCK_BUDGET, PART_BRANCHES, PART_CALLS,
                                      PART_TOKENS, PART_COST, PART_ELAPSED};

static void put_part(Buf *b, const Progress *p, int part, uint32_t bar) {
  switch (part) {
  case PART_FANOUT: {
    uint64_t done = p->fanout_done, total = p->fanout_total;
    uint32_t fill = (uint32_t)(done * bar / total);
    buf_printf(b, "fanout@%" PRIu32 " %" PRIu64 "/%" PRIu64 " [", p->fanout_line, done, total);
    for (uint32_t i = 0; i < bar; i++) buf_putc(b, i < fill ? '#' : '-');
    buf_printf(b, "] %" PRIu64 "%%", done * 100 / total);
    if (p->fanout_failed) buf_printf(b, ", %" PRIu64 " failed", p->fanout_failed);
    if (p->fanout_left_ms >= 0) {
      buf_puts(b, ", ~");
      dur_format(b, (p->fanout_left_ms + 999) / 1000 * 1000);
      buf_puts(b, " left");
    }
    if (p->fanouts_more) buf_printf(b, " (+%" PRIu32 " more)", p->fanouts_more);
    return;
  }
  case PART_RUN_BUDGET: put_budget(b, "budget", &p->run_budget); return;
  case PART_BLOCK_BUDGET: put_budget(b, "block", &p->block_budget); return;
  case PART_BRANCHES:
    buf_printf(b, "branches %" PRIu64 " done, %" PRIu64 " running, %" PRIu64 " failed", p->branches_done,
               p->branches_running, p->branches_failed);
    return;
  case PART_CALLS:
    buf_printf(b, "calls %" PRIu64 " in flight, %" PRIu64 " done", p->calls_in_flight, p->calls_done);
    return;
  case PART_TOKENS:
    put_thousands(b, p->tokens);
    buf_puts(b, " tokens");
    return;
  case PART_COST: buf_printf(b, "$%.4f", p->cost_usd); return;
  default: buf_printf(b, "%.1fs", (double)p->elapsed_ms / 1000.0); return;
  }
}

static void progress_with(Buf *out, const Progress *p, const bool *on, uint32_t bar) {
  bool any = false;
  for (int i = 0; i < NPARTS; i++) {
    if (!on[SHOWN[i]]) continue;
    if (any) buf_puts(out, " | ");
    put_part(out, p, SHOWN[i], bar);
    any = true;
  }
}

void progress_format(Buf *out, const Progress *p) {
  bool on[NPARTS] = {false};
  on[PART_FANOUT] = p->fanout_total > 0;
  on[PART_RUN_BUDGET] = p->run_budget.has != 0;
  on[PART_BLOCK_BUDGET] = p->block_budget.has != 0;
  on[PART_BRANCHES] = p->branches_done || p->branches_running || p->branches_failed;
  on[PART_CALLS] = p->calls_in_flight || p->calls_done;
  on[PART_TOKENS] = p->tokens > 0;
  /* a dollar budget already shows the cost */
  on[PART_COST] = p->cost_usd > 0 && !(p->run_budget.has & BUDGET_USD);
  on[PART_ELAPSED] = true;
  size_t from = out->len, max = p->width > 1 ? p->width - 1 : SIZE_MAX; /* the last column would wrap */
  uint32_t bar = 20;
  for (int drop = NPARTS - 1;; drop--) {
    out->len = from;
    progress_with(out, p, on, bar);
    if (columns(out->data + from, out->len - from) <= max) return;
    if (bar > 10) { /* a shorter bar before anything goes */
      bar = 10;
      drop++;
      continue;
    }
    while (drop > 0 && !on[drop]) drop--;
    if (drop <= 0) break;
    on[drop] = false;
  }
  /* still too wide (a very narrow terminal): cut, marking the cut */
  size_t keep = from, cols = 0;
  while (keep < out->len && cols + 1 < max) {
    keep++;
    while (keep < out->len && ((unsigned char)out->data[keep] & 0xC0) == 0x80) keep++;
    cols++;
  }
  out->len = keep;
  if (max > 0 && max != SIZE_MAX) buf_puts(out, "\xe2\x80\xa6");
}
