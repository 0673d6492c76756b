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

void progress_format(Buf *out, const Progress *p) {
  bool any = false;
  if (p->branches_done || p->branches_running || p->branches_failed) {
    buf_printf(out, "branches %" PRIu64 " done, %" PRIu64 " running, %" PRIu64 " failed",
               p->branches_done, p->branches_running, p->branches_failed);
    any = true;
  }
  if (p->calls_in_flight || p->calls_done) {
    buf_printf(out, "%scalls %" PRIu64 " in flight, %" PRIu64 " done", any ? " | " : "",
               p->calls_in_flight, p->calls_done);
    any = true;
  }
  if (p->tokens) {
    if (any) buf_puts(out, " | ");
    put_thousands(out, p->tokens);
    buf_puts(out, " tokens");
    any = true;
  }
  if (p->cost_usd > 0) {
    buf_printf(out, "%s$%.4f", any ? " | " : "", p->cost_usd);
    any = true;
  }
  buf_printf(out, "%s%.1fs", any ? " | " : "", (double)p->elapsed_ms / 1000.0);
}
