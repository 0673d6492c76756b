/* host.c — the VM's effects table for a run (host.h): model calls to the
 * engine, capability calls to caps (caps.h); sleeps, trace events and
 * commits to the journal and the trace file. The host owns the run's event
 * loop, which the engine and the capability calls share. What the table offers follows what is attached (refresh): without
 * a journal or a trace, sleeps are plain timers and the VM builds no trace
 * events, so such a run pays nothing for them. The trace goes to a file
 * (--trace), the journal's events, and an embedding host's sink (weft.h). */
#include "host.h"
#include "caps.h"
#include "loop.h"
#include "../base/util.h"
#include "../vm/trace.h"
#include "../vm/vm_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct Host {
  Effects fx;                 /* installed on vm */
  VM *vm;
  Engine *engine;             /* model calls; NULL: none */
  Caps *caps;                 /* capability calls; NULL until the first one */
  const Grants *grants;       /* what they may touch (borrowed); NULL: nothing */
  Loop *loop;                 /* the run's event loop, made on first use; NULL: none yet */
  EffectLog *log;             /* journal and records; NULL: none */
  FILE *trace_fp;             /* --trace FILE; NULL: none */
  bool trace_failed;          /* a write to it failed (host_free reports it) */
  Journal *trace_journal;     /* the journal's events; NULL: none */
  int64_t trace_run;
  HostTraceSink trace_sink;   /* the embedding host's sink; NULL: none */
  void *trace_ud;
  Buf trace_line;             /* the event as the sink gets it: a line, NUL-terminated */
  uint32_t trusts;            /* trust() declassifications journaled so far (their addresses) */
};

static char *str_dup(const char *s) { return xstrdup(s); }

/* ---- model calls and capability calls ------------------------------------------------ */

static Loop *caps_loop_of(void *hp, char **err) { return host_loop(hp, err); }

/* Made by the first capability call: a run that makes none pays nothing. */
static Caps *host_caps(Host *h) {
  if (!h->caps) {
    h->caps = caps_new(h->vm, h->grants, caps_loop_of, h);
    if (h->log) caps_set_log(h->caps, h->log);
  }
  return h->caps;
}

static bool fx_submit(void *hp, const EffectRequest *rq) {
  Host *h = hp;
  switch (rq->kind) {
  case EFFECT_ASK: case EFFECT_STEP: case EFFECT_GENERATE:
    if (!h->engine) {
      vm_raise(h->vm, rq->fiber, "model calls need an engine (internal)");
      return false;
    }
    return engine_ask(h->engine, rq);
  case EFFECT_CAP:
    return caps_submit(host_caps(h), rq);
  default:
    vm_raise(h->vm, rq->fiber, "effect kind %d is not supported by this host", (int)rq->kind);
    return false;
  }
}

static void fx_cancel(void *hp, Fiber *f) {
  Host *h = hp;
  if (h->caps) caps_cancel(h->caps, f);
  if (h->engine) engine_cancel(h->engine, f);
}

static bool fx_busy(const void *hp) {
  const Host *h = hp;
  return (h->engine && engine_busy(h->engine)) || caps_busy(h->caps);
}

static int64_t fx_next_deadline(const void *hp) {
  const Host *h = hp;
  if (caps_ready(h->caps)) return 0;
  int64_t t = h->engine ? engine_next_deadline(h->engine) : -1;
  if (caps_running(h->caps) && h->loop) {
    int64_t l = loop_next_timer(h->loop);
    if (l >= 0 && (t < 0 || l < t)) t = l;
  }
  return t;
}

/* One loop holds the engine's sockets and timers and the capability
 * calls' descriptors (the engine borrows the host's: host_loop). While a
 * capability call runs the wait is on that loop here, the engine's own
 * work done before and after without blocking; otherwise the engine waits
 * as it always did. Completed calls are delivered after either. */
static void fx_wait(void *hp, int64_t timeout_ms) {
  Host *h = hp;
  if (caps_ready(h->caps)) timeout_ms = 0;
  if (h->loop && caps_running(h->caps)) {
    if (h->engine) {
      engine_poll(h->engine, 0);
      if (engine_next_deadline(h->engine) == 0) timeout_ms = 0;
    }
    loop_wait(h->loop, timeout_ms);
    if (h->engine) engine_poll(h->engine, 0);
  } else if (h->engine) {
    engine_poll(h->engine, timeout_ms);
  }
  caps_deliver(h->caps);
}

static void fx_pump(void *hp) {
  Host *h = hp;
  if (h->engine) engine_pump(h->engine);
  if (caps_running(h->caps) && h->loop) loop_wait(h->loop, 0);
  caps_deliver(h->caps);
}

Loop *host_loop(Host *h, char **err) {
  if (!h->loop) h->loop = loop_new(err);
  return h->loop;
}

void host_set_grants(Host *h, const Grants *g) {
  h->grants = g;
  if (h->caps) caps_set_grants(h->caps, g);
}

/* ---- sleeps --------------------------------------------------------------- */

/* A sleep is an effect: traced, journaled when it ends, and answered at
 * once when a run is resumed or replayed and the record says it ended. */
static int64_t fx_sleep_begin(void *hp, const EffectRequest *rq) {
  Host *h = hp;
  VM *vm = h->vm;
  Fiber *f = rq->fiber;
  int64_t ms = rq->u.sleep.ms;
  EffectLog *log = h->log;
  const EffectRec *rec = log ? records_get(log->serve, rq->addr) : NULL;
  bool served = rec && rec->ok && strcmp(rec->kind, "sleep") == 0;
  if (trace_begin(vm->trace, "sleep", rq->addr)) {
    trace_int(vm->trace, "ms", ms);
    if (served) trace_cstr(vm->trace, "from", "journal");
    trace_end(vm->trace);
  }
  if (served) {
    log->served++;
    if (log->collect) { /* --record keeps what a resume answered too */
      EffectRec copy = effect_rec_dup(rec);
      records_put(log->collect, &copy);
    }
    return 0;
  }
  if (log && (log->journal || log->collect)) {
    f->sleep_ms = ms > 0 ? ms : 0;
    f->sleep_at = unix_now_ms();
  }
  return ms;
}

/* The record of f's sleep, which just ended. */
static void fx_sleep_end(void *hp, Fiber *f) {
  Host *h = hp;
  EffectLog *log = h->log;
  if (!log) return;
  EffectRec r;
  memset(&r, 0, sizeof r);
  Buf b;
  buf_init(&b);
  buf_printf(&b, "%s/sleep#%" PRIu32, fiber_address(f), f->effects);
  buf_putc(&b, '\0');
  r.addr = b.data;
  r.kind = str_dup("sleep");
  buf_init(&b);
  buf_printf(&b, "{\"ms\":%" PRId64 "}", f->sleep_ms);
  buf_putc(&b, '\0');
  r.request = b.data;
  r.req_hash = fnv1a64(0xcbf29ce484222325ULL, r.request, strlen(r.request));
  r.ok = true;
  r.attempts = 1;
  r.started_at = f->sleep_at;
  r.ended_at = unix_now_ms();
  f->sleep_ms = -1;
  if (log->journal) {
    journal_effect_put(log->journal, log->run, &r);
    log->dirty = true;
  }
  if (log->collect) records_put(log->collect, &r);
  effect_rec_free(&r);
}

/* ---- the clock ------------------------------------------------------------- */

/* A reading of the clock is an effect: answered from the records when a
 * resumed or replayed run has one at its address, else read now; either
 * way traced and journaled, so the run stays deterministic. A record that
 * is not a reading (a hostile or damaged journal) is an error, never a
 * made-up time. */
static bool fx_clock(void *hp, const EffectRequest *rq, int64_t *unix_ms, char **err) {
  Host *h = hp;
  VM *vm = h->vm;
  EffectLog *log = h->log;
  const EffectRec *rec = log ? records_get(log->serve, rq->addr) : NULL;
  bool served = rec && rec->ok && strcmp(rec->kind, "clock") == 0;
  if (served) {
    const char *p = rec->response ? rec->response : "";
    char *end = NULL;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (*p < '0' || *p > '9' || *end || errno || v < 0) { /* digits only: no sign, no space */
      *err = xasprintf("%s: the record of this clock reading in %s is not a time", rq->addr,
                       log->serve_name ? log->serve_name : "the journal");
      return false;
    }
    *unix_ms = v;
    log->served++;
  } else {
    *unix_ms = unix_now_ms();
  }
  if (trace_begin(vm->trace, "clock", rq->addr)) {
    trace_int(vm->trace, "unix_ms", *unix_ms);
    if (served) trace_cstr(vm->trace, "from", "journal");
    trace_end(vm->trace);
  }
  if (!log || (served && log->serve_journaled && !log->collect)) return true;
  EffectRec r;
  memset(&r, 0, sizeof r);
  r.addr = str_dup(rq->addr);
  r.kind = str_dup("clock");
  r.request = str_dup("{}");
  r.req_hash = fnv1a64(0xcbf29ce484222325ULL, r.request, strlen(r.request));
  r.ok = true;
  r.response = xasprintf("%" PRId64, *unix_ms);
  r.attempts = 1;
  r.started_at = r.ended_at = unix_now_ms();
  if (log->journal && !(served && log->serve_journaled)) {
    journal_effect_put(log->journal, log->run, &r);
    log->dirty = true;
  }
  if (log->collect) records_put(log->collect, &r);
  effect_rec_free(&r);
  return true;
}

/* ---- trust ------------------------------------------------------------------ */

/* trust(x, reason) cleared a label: the decision is journaled beside the
 * effects (kind "trust", the reason and the origin it cleared), so `weft
 * show` and an audit of the journal see who vouched for what. It answers
 * nothing on a resume: the program decides again. */
static void fx_trusted(void *hp, Fiber *f, const char *reason, const char *origin) {
  Host *h = hp;
  EffectLog *log = h->log;
  if (!log || (!log->journal && !log->collect)) return;
  EffectRec r;
  memset(&r, 0, sizeof r);
  r.addr = xasprintf("%s/trust#%" PRIu32, fiber_address(f), ++h->trusts);
  r.kind = str_dup("trust");
  Buf b;
  buf_init(&b);
  buf_puts(&b, "{\"reason\":");
  buf_json_string(&b, reason ? reason : "", reason ? strlen(reason) : 0);
  buf_puts(&b, ",\"origin\":");
  buf_json_string(&b, origin ? origin : "", origin ? strlen(origin) : 0);
  buf_putc(&b, '}');
  r.request = buf_detach(&b);
  r.req_hash = fnv1a64(0xcbf29ce484222325ULL, r.request, strlen(r.request));
  r.ok = true;
  r.label = origin && *origin ? str_dup(origin) : NULL;
  r.attempts = 1;
  r.started_at = r.ended_at = unix_now_ms();
  if (log->journal) {
    journal_effect_put(log->journal, log->run, &r);
    log->dirty = true;
  }
  if (log->collect) records_put(log->collect, &r);
  effect_rec_free(&r);
}

void effects_commit(VM *vm, EffectLog *log) {
  /* only effects make a commit: events ride along with the next one (or
   * the end of the run), so a poll that only started fibers pays no fsync */
  if (!log || !log->journal || !log->dirty || vm->fatal) return;
  log->dirty = false;
  char *err = NULL;
  if (!journal_commit(log->journal, &err)) {
    vm_fatal(vm, err ? err : "cannot write the journal");
    free(err);
  }
}

/* ---- the trace sink ------------------------------------------------------- */

/* Written and flushed at once: a run that crashes or is killed leaves
 * every event that happened before. */
static void fx_trace(void *hp, const char *line, size_t n) {
  Host *h = hp;
  if (h->trace_fp && (fwrite(line, 1, n, h->trace_fp) != n || fputc('\n', h->trace_fp) == EOF ||
                      fflush(h->trace_fp) != 0))
    h->trace_failed = true;
  if (h->trace_journal) /* in the journal's open transaction: committed with the next effect */
    journal_event_put(h->trace_journal, h->trace_run, unix_now_ms(), line, n);
  if (h->trace_sink) { /* the same bytes as a --trace file's line */
    h->trace_line.len = 0;
    buf_put(&h->trace_line, line, n);
    buf_putc(&h->trace_line, '\n');
    buf_putc(&h->trace_line, '\0');
    h->trace_sink(h->trace_ud, h->trace_line.data, n + 1);
  }
}

/* ---- the table ---------------------------------------------------------------- */

/* Offers sleeps and the trace only when something records them. */
static void refresh(Host *h) {
  bool traced = h->trace_fp || h->trace_journal || h->trace_sink;
  h->fx.sleep_begin = traced || h->log ? fx_sleep_begin : NULL;
  h->fx.sleep_end = traced || h->log ? fx_sleep_end : NULL;
  h->fx.trace = traced ? fx_trace : NULL;
  h->fx.clock = traced || h->log ? fx_clock : NULL;
  h->fx.trusted = h->log ? fx_trusted : NULL;
  vm_set_effects(h->vm, &h->fx);
}

Host *host_new(VM *vm, Engine *engine) {
  Host *h = xcalloc(1, sizeof *h);
  h->vm = vm;
  h->engine = engine;
  h->fx.host = h;
  h->fx.submit = fx_submit;
  h->fx.cancel = fx_cancel;
  h->fx.busy = fx_busy;
  h->fx.next_deadline = fx_next_deadline;
  h->fx.wait = fx_wait;
  h->fx.pump = fx_pump;
  if (engine) engine_set_host(engine, h);
  refresh(h);
  return h;
}

void host_engine_gone(Host *h) {
  if (h) h->engine = NULL;
}

bool host_free(Host *h) {
  if (!h) return true;
  if (h->engine) engine_set_host(h->engine, NULL);
  bool ok = !h->trace_failed;
  caps_free(h->caps); /* after vm_free: every call was withdrawn (fx_cancel) */
  loop_free(h->loop);
  if (h->trace_fp && fclose(h->trace_fp) != 0) ok = false;
  buf_free(&h->trace_line);
  free(h);
  return ok;
}

void host_set_log(Host *h, EffectLog *log) {
  h->log = log;
  if (h->engine) engine_set_log(h->engine, log);
  if (h->caps) caps_set_log(h->caps, log);
  refresh(h);
}

bool host_trace_file(Host *h, const char *path, char **err) {
  FILE *fp = fopen(path, "w");
  if (!fp) {
    Buf m;
    buf_init(&m);
    buf_printf(&m, "--trace: cannot write '%s': %s", path, strerror(errno));
    buf_putc(&m, '\0');
    *err = m.data;
    return false;
  }
  if (h->trace_fp) fclose(h->trace_fp);
  h->trace_fp = fp;
  refresh(h);
  return true;
}

void host_trace_sink(Host *h, HostTraceSink sink, void *ud) {
  h->trace_sink = sink;
  h->trace_ud = ud;
  refresh(h);
}

void host_trace_journal(Host *h, Journal *j, int64_t run) {
  h->trace_journal = j;
  h->trace_run = run;
  refresh(h);
}
