/* api.c — include/weft.h over the compiler, the VM and the effect engine.
 *
 * Every handle starts with a magic number naming its type; free sets it
 * to a dead value before releasing the memory, so a handle of the wrong
 * type, or (while the allocator has not reused the block) one already
 * freed, is WEFT_E_STATE instead of a crash. Messages of a failed call
 * are kept on the handle it was given (weft.h, "Conventions").
 *
 * A session's run is the one `weft run` makes (runtime/session.c) without
 * its printing: a VM, the engine (unless the host answers the asks), the
 * runtime's host (host.c) with the trace sink and the journal attached,
 * and the journal side of a run shared through tool.h, so a journaled
 * session's runs and the command line's resume each other. A host's
 * effects table is a VM effects table of this file wrapped around the
 * runtime host's ("a host's own effects" below). docs/embedding.md,
 * "Sessions in detail", is the reference. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/weft.h"
#include "../include/weft_tools.h"
#include "../compiler/compiler.h"
#include "../lang/diag.h"
#include "../stdlib/builtins.h"
#include "../vm/module.h"
#include "../vm/json.h"
#include "../vm/opcodes.h"
#include "../vm/trace.h"
#include "../vm/vm.h"
#include "../vm/vm_impl.h"
#include "../base/util.h"
#include "engine.h"
#include "host.h"
#include "journal.h"
#include "provider.h"
#include "schema.h"
#include "tool.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0-dev"
#endif

enum {
  MAGIC_PROGRAM = 0x77667001, MAGIC_MODULE = 0x77667002, MAGIC_SESSION = 0x77667003,
  MAGIC_RESULT = 0x77667004, MAGIC_DEAD = 0x7766dead
};

struct weft_module {
  uint32_t magic;
  uint32_t refs;       /* the caller's handle and each session's */
  Heap heap;           /* the module's constants */
  Module *mod;
  char *origin;        /* the file it was compiled from (a journal records it); NULL: none */
};

struct weft_program {
  uint32_t magic;
  Heap heap;
  SourceSet ss;
  DiagList dl;
  Module *mod;         /* NULL once handed to a weft_module */
  char *path;          /* as given to weft_compile_file */
  char *text;          /* the rendered diagnostics */
  char *errmsg;
};

const char *weft_status_text(weft_status s) {
  switch (s) {
    case WEFT_OK: return "ok";
    case WEFT_E_ARG: return "invalid argument";
    case WEFT_E_STATE: return "call out of order, or on a freed handle";
    case WEFT_E_IO: return "input/output error";
    case WEFT_E_COMPILE: return "the program has errors";
    case WEFT_E_MODULE: return "the module does not load";
    case WEFT_E_INPUT: return "main's inputs do not fit its parameters";
    case WEFT_E_CONFIG: return "bad session setting";
    case WEFT_E_RUNTIME: return "the program failed";
    case WEFT_E_CANCELLED: return "the run was cancelled";
    case WEFT_E_EFFECTS: return "the host's effects table broke its contract";
    case WEFT_E_JOURNAL: return "journal error";
    case WEFT_E_NOMEM: return "out of memory";
    case WEFT_E_UNSUPPORTED: return "not available in this build";
  }
  return "unknown status";
}

const char *weft_version(void) { return PACKAGE_VERSION; }
int weft_format_version(void) { return WEFTC_VERSION; }

/* Sets *slot to a formatted message and returns code. */
static weft_status fail(char **slot, weft_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static weft_status fail(char **slot, weft_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  free(*slot);
  *slot = msg;
  return code;
}

#define LIVE(h, kind) ((h) && (h)->magic == (kind))

/* ---- programs ------------------------------------------------------------------- */

weft_status weft_compile_file(const char *path, const weft_compile_options *opts, weft_program **out) {
  if (!out) return WEFT_E_ARG;
  *out = NULL;
  if (!path) return WEFT_E_ARG;
  if (opts && opts->size < sizeof *opts) return WEFT_E_ARG;
  FILE *f = fopen(path, "rb");
  if (!f) return WEFT_E_IO;
  fclose(f);
  weft_program *p = xcalloc(1, sizeof *p);
  p->magic = MAGIC_PROGRAM;
  p->path = xstrdup(path);
  heap_init(&p->heap, 0);
  src_init(&p->ss);
  diag_init(&p->dl);
  CompileOptions opt = {.check_only = false, .stdlib_dir = NULL, .natives = std_native_table()};
  if (opts) {
    opt.import_paths = opts->import_paths;
    opt.nimport_paths = opts->nimport_paths;
  }
  p->mod = compile_file(path, &p->ss, &p->dl, &opt, &p->heap);
  diag_sort(&p->dl);
  char *text = NULL;
  size_t len = 0;
  FILE *mf = open_memstream(&text, &len);
  if (mf) {
    diag_render_text(mf, &p->dl, &p->ss, 0);
    fclose(mf);
  }
  p->text = text ? text : xstrdup("");
  *out = p;
  if (!p->mod || p->dl.errors) {
    fail(&p->errmsg, WEFT_E_COMPILE, "%s has errors", path);
    return WEFT_E_COMPILE;
  }
  char *verr = NULL;
  if (!module_verify(p->mod, &verr)) {
    fail(&p->errmsg, WEFT_E_MODULE, "internal error: the compiled module does not verify: %s", verr);
    free(verr);
    module_free(p->mod);
    p->mod = NULL;
    return WEFT_E_MODULE;
  }
  return WEFT_OK;
}

uint32_t weft_program_diagnostics(const weft_program *p, uint32_t *errors) {
  if (!LIVE(p, MAGIC_PROGRAM)) {
    if (errors) *errors = 0;
    return 0;
  }
  if (errors) *errors = p->dl.errors;
  return (uint32_t)p->dl.n;
}

const char *weft_program_diagnostics_text(const weft_program *p) {
  return LIVE(p, MAGIC_PROGRAM) ? p->text : "";
}

const char *weft_program_errmsg(const weft_program *p) {
  return LIVE(p, MAGIC_PROGRAM) && p->errmsg ? p->errmsg : "";
}

/* The module's bytes are written and loaded again into a heap of its own,
 * so the module outlives the program and is verified like any image. */
weft_status weft_program_module(weft_program *p, weft_module **out) {
  if (!out) return WEFT_E_ARG;
  *out = NULL;
  if (!p) return WEFT_E_ARG;
  if (!LIVE(p, MAGIC_PROGRAM)) return WEFT_E_STATE;
  if (!p->mod) return fail(&p->errmsg, WEFT_E_COMPILE, "the program has errors: it has no module");
  size_t len = 0;
  uint8_t *bytes = module_write(p->mod, &len);
  if (!bytes) return fail(&p->errmsg, WEFT_E_MODULE, "the module cannot be encoded");
  char *err = NULL;
  weft_status s = weft_module_load(bytes, len, out, &err);
  free(bytes);
  if (s == WEFT_OK) (*out)->origin = xstrdup(p->path);
  if (s != WEFT_OK) fail(&p->errmsg, s, "%s", err ? err : "the module does not load");
  free(err);
  return s;
}

void weft_program_free(weft_program *p) {
  if (!LIVE(p, MAGIC_PROGRAM)) return;
  p->magic = MAGIC_DEAD;
  if (p->mod) module_free(p->mod);
  diag_free(&p->dl);
  src_free(&p->ss);
  free(p->path);
  free(p->text);
  free(p->errmsg);
  free(p);
}

/* ---- modules ----------------------------------------------------------------------- */

weft_status weft_module_load(const void *bytes, size_t len, weft_module **out, char **errmsg) {
  if (errmsg) *errmsg = NULL;
  if (!out) return WEFT_E_ARG;
  *out = NULL;
  if (!bytes && len) return WEFT_E_ARG;
  weft_module *m = xcalloc(1, sizeof *m);
  m->magic = MAGIC_MODULE;
  m->refs = 1;
  heap_init(&m->heap, 0);
  char *err = NULL;
  m->mod = module_load(&m->heap, bytes ? bytes : (const uint8_t *)"", len, std_native_table(), &err);
  if (!m->mod) {
    if (errmsg) *errmsg = err ? err : xstrdup("invalid module");
    else free(err);
    m->magic = MAGIC_DEAD;
    free(m);
    return WEFT_E_MODULE;
  }
  *out = m;
  return WEFT_OK;
}

weft_status weft_module_write(const weft_module *m, void **bytes, size_t *len) {
  if (!bytes || !len) return WEFT_E_ARG;
  *bytes = NULL;
  *len = 0;
  if (!m) return WEFT_E_ARG;
  if (!LIVE(m, MAGIC_MODULE)) return WEFT_E_STATE;
  *bytes = module_write(m->mod, len);
  return *bytes ? WEFT_OK : WEFT_E_MODULE;
}

static void module_unref(weft_module *m) {
  if (--m->refs) return;
  m->magic = MAGIC_DEAD;
  module_free(m->mod);
  free(m->origin);
  free(m);
}

void weft_module_free(weft_module *m) {
  if (LIVE(m, MAGIC_MODULE)) module_unref(m);
}

/* ---- sessions ------------------------------------------------------------------------ */

/* The scheduler's progress tick (vm.h) is the run's cancellation point:
 * while it is set the scheduler calls it at least every CANCEL_SLICE_MS
 * and never waits longer than that — in the engine's network wait, in a
 * host's effects table, or in a sleep — so weft_session_cancel from
 * another thread stops a run within about that time, whatever it waits
 * on. (An eventfd the engine's wait also polls could later wake it at
 * once instead.) */
#define CANCEL_SLICE_MS 50

typedef struct HostFx HostFx;

struct weft_session {
  uint32_t magic;
  weft_module *m;
  Limits limits;
  EngineConfig ecfg;
  ModelOverride *models;
  uint32_t nmodels;
  ProviderKey *keys;   /* the host's keys (owned; zeroed before they are freed) */
  uint32_t nkeys;
  char *provider, *prices, *journal;
  uint32_t budget_bits;
  int64_t budget_calls, budget_tokens, budget_time;
  double budget_usd;
  weft_trace_sink sink;
  void *sink_ud;
  weft_effects fx;     /* the host's effects table, when has_fx */
  bool has_fx;
  int ran;             /* a run, resume or replay was asked for: nothing more may be */
  bool running;        /* inside that call */
  bool doomed;         /* weft_session_free was called during the run: freed when it returns */
  HostFx *live;        /* the host's effects of the run in progress; NULL: none */
  atomic_int cancel;   /* weft_session_cancel: the one field another thread writes */
  char *errmsg;
};

struct weft_result {
  uint32_t magic;
  int ok;
  int64_t run_id;
  char *json, *error, *stats;
};

weft_status weft_session_new(weft_module *m, weft_session **out) {
  if (!out) return WEFT_E_ARG;
  *out = NULL;
  if (!m) return WEFT_E_ARG;
  if (!LIVE(m, MAGIC_MODULE)) return WEFT_E_STATE;
  weft_session *s = xcalloc(1, sizeof *s);
  s->magic = MAGIC_SESSION;
  s->m = m;
  m->refs++;
  s->ecfg.retries = -1;
  s->ecfg.repairs = -1;
  atomic_init(&s->cancel, 0);
  *out = s;
  return WEFT_OK;
}

const char *weft_session_errmsg(const weft_session *s) {
  return LIVE(s, MAGIC_SESSION) && s->errmsg ? s->errmsg : "";
}

/* A session that may still be configured. */
#define CONFIGURABLE(s)                                                                  \
  do {                                                                                   \
    if (!(s)) return WEFT_E_ARG;                                                         \
    if (!LIVE(s, MAGIC_SESSION)) return WEFT_E_STATE;                                    \
    if ((s)->ran) return fail(&(s)->errmsg, WEFT_E_STATE, "the session has already run"); \
  } while (0)

weft_status weft_session_set_limit(weft_session *s, weft_limit which, int64_t v) {
  CONFIGURABLE(s);
  if (v < 0) return fail(&s->errmsg, WEFT_E_ARG, "a limit cannot be negative");
  switch (which) {
    case WEFT_LIMIT_INSTRUCTIONS: s->limits.max_instructions = (uint64_t)v; break;
    case WEFT_LIMIT_MEMORY: s->limits.max_memory = (size_t)v; break;
    case WEFT_LIMIT_CALL_DEPTH:
    case WEFT_LIMIT_FIBERS:
      if (v > UINT32_MAX) return fail(&s->errmsg, WEFT_E_ARG, "the limit is too large");
      if (which == WEFT_LIMIT_CALL_DEPTH) s->limits.max_call_depth = (uint32_t)v;
      else s->limits.max_fibers = (uint32_t)v;
      break;
    case WEFT_LIMIT_CONCURRENCY:
      if (v > 1000000) return fail(&s->errmsg, WEFT_E_ARG, "the limit is too large");
      s->ecfg.max_concurrency = (uint32_t)v;
      break;
    case WEFT_LIMIT_TIMEOUT_MS: s->ecfg.timeout_ms = v; break;
    case WEFT_LIMIT_RETRIES:
    case WEFT_LIMIT_REPAIRS:
      if (v > 1000) return fail(&s->errmsg, WEFT_E_ARG, "at most 1000");
      if (which == WEFT_LIMIT_RETRIES) s->ecfg.retries = (int32_t)v;
      else s->ecfg.repairs = (int32_t)v;
      break;
    default: return fail(&s->errmsg, WEFT_E_ARG, "unknown limit %d", (int)which);
  }
  return WEFT_OK;
}

weft_status weft_session_set_budget(weft_session *s, weft_budget which, int64_t v) {
  CONFIGURABLE(s);
  if (v < 0) return fail(&s->errmsg, WEFT_E_ARG, "a budget cannot be negative");
  switch (which) {
    case WEFT_BUDGET_LIMIT_CALLS: s->budget_bits |= BUDGET_CALLS; s->budget_calls = v; break;
    case WEFT_BUDGET_LIMIT_TOKENS: s->budget_bits |= BUDGET_TOKENS; s->budget_tokens = v; break;
    case WEFT_BUDGET_LIMIT_TIME_MS:
      if (v == 0) return fail(&s->errmsg, WEFT_E_ARG, "a time budget must be longer than 0");
      s->budget_bits |= BUDGET_TIME;
      s->budget_time = v;
      break;
    default: return fail(&s->errmsg, WEFT_E_ARG, "unknown budget %d", (int)which);
  }
  return WEFT_OK;
}

weft_status weft_session_set_budget_usd(weft_session *s, double usd) {
  CONFIGURABLE(s);
  if (!(usd >= 0) || usd > 1e15) return fail(&s->errmsg, WEFT_E_ARG, "a dollar budget must be 0 or more");
  s->budget_bits |= BUDGET_USD;
  s->budget_usd = usd;
  return WEFT_OK;
}

static bool provider_known(const char *name, size_t n) { return weft_tool_known_provider(name, n); }

weft_status weft_session_set_provider(weft_session *s, const char *provider) {
  CONFIGURABLE(s);
  if (provider && !provider_known(provider, strlen(provider)))
    return fail(&s->errmsg, WEFT_E_CONFIG, "unknown provider '%s'", provider);
  free(s->provider);
  s->provider = provider ? xstrdup(provider) : NULL;
  s->ecfg.force_provider = s->provider;
  return WEFT_OK;
}

weft_status weft_session_set_model(weft_session *s, const char *role, const char *pm) {
  CONFIGURABLE(s);
  if (!role || !pm) return fail(&s->errmsg, WEFT_E_ARG, "a role and a provider/model are needed");
  const char *slash = strchr(pm, '/');
  if (!slash || !slash[1] || !provider_known(pm, (size_t)(slash - pm)))
    return fail(&s->errmsg, WEFT_E_CONFIG, "'%s' is not PROVIDER/MODEL with a known provider", pm);
  const Module *m = s->m->mod;
  bool found = false;
  for (uint32_t r = 0; r < m->nroles; r++) found = found || strcmp(m->roles[r].name, role) == 0;
  if (!found) return fail(&s->errmsg, WEFT_E_CONFIG, "the program has no role '%s'", role);
  s->models = xrealloc(s->models, (s->nmodels + 1) * sizeof *s->models);
  s->models[s->nmodels].role = xstrdup(role);
  s->models[s->nmodels].model = xstrdup(pm);
  s->nmodels++;
  s->ecfg.overrides = s->models;
  s->ecfg.noverrides = s->nmodels;
  return WEFT_OK;
}

/* A secret's bytes are overwritten before its memory is given back. */
static void free_secret(const char *p) {
  if (!p) return;
  volatile char *v = (volatile char *)p;
  while (*v) *v++ = 0;
  free((char *)p);
}

static bool has_control(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return true;
  return false;
}

/* The key goes into a request header, so it may hold no control
 * character (a newline would add headers of its own) and no space; the
 * base URL must be http(s) (libcurl takes no other scheme for a model
 * call). Messages never quote the key. */
weft_status weft_session_set_key(weft_session *s, const char *provider, const char *key, const char *base_url) {
  CONFIGURABLE(s);
  if (!provider || !key) return fail(&s->errmsg, WEFT_E_ARG, "set_key needs a provider and a key");
  if (!provider_known(provider, strlen(provider)))
    return fail(&s->errmsg, WEFT_E_CONFIG, "unknown provider '%s'", provider);
  char spec[64];
  snprintf(spec, sizeof spec, "%s/x", provider);
  const Provider *p = provider_for(spec, NULL);
  if (!p || p->in_process)
    return fail(&s->errmsg, WEFT_E_CONFIG, "provider '%s' answers inside the process and takes no key", provider);
  size_t n = strlen(key);
  if (n == 0 || n > 4096 || has_control(key) || strchr(key, ' '))
    return fail(&s->errmsg, WEFT_E_ARG, "the key for '%s' must be 1 to 4096 characters without spaces or "
                "control characters", provider);
  if (base_url && (has_control(base_url) || strchr(base_url, ' ') ||
                   (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)))
    return fail(&s->errmsg, WEFT_E_ARG, "the base URL for '%s' must be an http:// or https:// URL", provider);
  uint32_t i = 0;
  while (i < s->nkeys && strcmp(s->keys[i].provider, p->name) != 0) i++;
  if (i == s->nkeys) {
    s->keys = xrealloc(s->keys, (s->nkeys + 1) * sizeof *s->keys);
    s->keys[i].provider = xstrdup(p->name);
    s->nkeys++;
  } else {
    free_secret(s->keys[i].key);
    free((char *)s->keys[i].base_url);
  }
  s->keys[i].key = xstrdup(key);
  s->keys[i].base_url = base_url ? xstrdup(base_url) : NULL;
  s->ecfg.keys = s->keys;
  s->ecfg.nkeys = s->nkeys;
  return WEFT_OK;
}

weft_status weft_session_set_prices(weft_session *s, const char *path) {
  CONFIGURABLE(s);
  free(s->prices);
  s->prices = path ? xstrdup(path) : NULL;
  s->ecfg.prices_file = s->prices;
  return WEFT_OK;
}

weft_status weft_session_set_journal(weft_session *s, const char *path) {
  CONFIGURABLE(s);
  if (path && !path[0]) return fail(&s->errmsg, WEFT_E_ARG, "a journal path cannot be empty");
  free(s->journal);
  s->journal = path ? xstrdup(path) : NULL;
  return WEFT_OK;
}

weft_status weft_session_set_trace(weft_session *s, weft_trace_sink sink, void *ud) {
  CONFIGURABLE(s);
  s->sink = sink;
  s->sink_ud = sink ? ud : NULL;
  return WEFT_OK;
}

weft_status weft_session_set_effects(weft_session *s, const weft_effects *fx) {
  CONFIGURABLE(s);
  if (!fx || fx->size < sizeof *fx || !fx->submit || !fx->wait)
    return fail(&s->errmsg, WEFT_E_ARG, "an effects table needs its size, submit and wait");
  s->fx = *fx;
  s->fx.size = sizeof s->fx;
  s->has_fx = true;
  return WEFT_OK;
}

/* ---- a host's own effects (weft_session_set_effects) ---------------------------------
 *
 * The run's effects table is this one: asks go to the host's submit with
 * an id, and the host's answers (weft_effect_done) are taken only while
 * the host is inside submit or wait, and applied to the VM only when that
 * call returns — so the VM is never touched from inside host code, and an
 * answer given inside submit completes the ask at once. Sleeps stay the
 * VM's timers and the trace goes to the runtime's host (runtime/host.c),
 * whose table this one wraps. A broken contract stops the run (vm_fatal)
 * with WEFT_E_EFFECTS. */

/* waits in a row that return before half their timeout with effects
 * pending and none answered: then the table is spinning, not waiting */
#define FX_IDLE_LIMIT 1000
#define FX_REPLY_MAX ((size_t)16 << 20)  /* as a model's reply (engine.h) */
#define FX_DEFAULT_TIMEOUT_MS 600000     /* as a model call's (engine.h) */

typedef enum FxState { FX_NONE, FX_PENDING, FX_ANSWERED, FX_DONE, FX_WITHDRAWN } FxState;

typedef struct FxEffect {
  uint64_t id;
  Fiber *f;
  const RoleDesc *role;
  uint32_t td;                /* ASK_TEXT or the reply's type */
  bool wrapped;               /* the schema wraps the value as {"value": ...} */
  char *spec, *addr, *prompt;
  uint64_t started_ms, deadline_ms;  /* VM ms */
  bool ok, too_big;           /* the answer, once FX_ANSWERED */
  char *reply;
} FxEffect;

struct HostFx {
  Effects fx;                 /* installed on the VM */
  const Effects *inner;       /* the runtime host's table: sleeps and the trace */
  VM *vm;
  weft_session *s;
  FxEffect *e;                /* pending, in submit order */
  uint32_t n, cap;
  uint8_t *state;             /* FxState by id; ids are 1, 2, ... */
  uint64_t next_id, state_cap;
  int inside;                 /* in the table's submit or wait: answers are taken */
  uint32_t idle;
  char *broken;               /* the first broken rule: the run fails with it */
  uint64_t calls, failed;
  uint32_t max_in_flight;
};

static void fx_effect_free(FxEffect *e) {
  free(e->spec);
  free(e->addr);
  free(e->prompt);
  free(e->reply);
}

/* The first broken rule stops the run: the scheduler ends at its next
 * step, and the run fails with WEFT_E_EFFECTS and this message. */
static weft_status fx_violation(HostFx *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static weft_status fx_violation(HostFx *h, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  if (!h->broken) {
    h->broken = xasprintf("the host's effects table broke its contract: %s", msg);
    vm_fatal(h->vm, h->broken);
  }
  fail(&h->s->errmsg, WEFT_E_EFFECTS, "%s", h->broken);
  free(msg);
  return WEFT_E_EFFECTS;
}

static int64_t capped_ms(int64_t role, int64_t session, int64_t def) {
  int64_t v = session > 0 ? session : def;
  return role > 0 && role < v ? role : v;
}

/* The role's model after set_model and set_provider, as the engine reads it. */
static char *effective_spec(const weft_session *s, const RoleDesc *r) {
  const char *spec = r->model ? r->model : "";
  for (uint32_t i = 0; i < s->nmodels; i++)
    if (strcmp(s->models[i].role, r->name) == 0) spec = s->models[i].model;
  if (!s->provider) return xstrdup(spec);
  const char *slash = strchr(spec, '/');
  const char *model = slash ? slash + 1 : spec;
  return xasprintf("%s/%s", s->provider, model[0] ? model : "model");
}

/* The request the host gets: what a provider would be sent. */
/* w: the ask's own settings (NULL: none), which replace the role's. */
static char *fx_request(const FxEffect *e, const char *schema, const AskWith *w) {
  const RoleDesc *r = e->role;
  Buf b;
  buf_init(&b);
  buf_puts(&b, "{\"role\":");
  buf_json_string(&b, r->name, strlen(r->name));
  buf_puts(&b, ",\"model\":");
  buf_json_string(&b, e->spec, strlen(e->spec));
  buf_puts(&b, ",\"prompt\":");
  buf_json_string(&b, e->prompt, strlen(e->prompt));
  if (r->system) {
    buf_puts(&b, ",\"system\":");
    buf_json_string(&b, r->system, strlen(r->system));
  }
  double temp = w && w->temperature == w->temperature ? w->temperature : r->temperature;
  double top_p = w && w->top_p == w->top_p ? w->top_p : r->top_p;
  int64_t max_tokens = w && w->max_tokens > 0 ? w->max_tokens : r->max_tokens;
  if (temp == temp) buf_printf(&b, ",\"temperature\":%.17g", temp);
  if (top_p == top_p) buf_printf(&b, ",\"top_p\":%.17g", top_p);
  if (max_tokens > 0) buf_printf(&b, ",\"max_tokens\":%" PRId64, max_tokens);
  const char *const *stop = w && w->nstop ? w->stop : (const char *const *)r->stop;
  uint32_t nstop = w && w->nstop ? w->nstop : r->nstop;
  for (uint32_t i = 0; i < nstop; i++) {
    buf_puts(&b, i ? "," : ",\"stop\":[");
    buf_json_string(&b, stop[i], strlen(stop[i]));
    if (i + 1 == nstop) buf_putc(&b, ']');
  }
  if (schema) {
    buf_puts(&b, ",\"schema\":");
    buf_puts(&b, schema);
  }
  buf_putc(&b, '}');
  buf_putc(&b, '\0');
  return b.data;
}

/* The trace's ask event, as the engine writes one, from "host". */
static void fx_trace_ask(HostFx *h, const FxEffect *e, const char *status, const Value *v, const char *error) {
  Trace *t = h->vm->trace;
  if (!trace_begin(t, "ask", e->addr)) return;
  trace_cstr(t, "role", e->role->name);
  trace_cstr(t, "model", e->spec);
  trace_cstr(t, "prompt", e->prompt);
  if (v) trace_value(t, "reply", *v);
  if (error) trace_cstr(t, "error", error);
  trace_int(t, "input_tokens", 0);
  trace_int(t, "output_tokens", 0);
  trace_int(t, "latency_ms", (int64_t)(vm_now_ms(h->vm) - e->started_ms));
  trace_int(t, "attempts", 1);
  trace_int(t, "retries", 0);
  trace_int(t, "repairs", 0);
  trace_cstr(t, "status", status);
  trace_cstr(t, "from", "host");
  trace_end(t);
}

static uint32_t fx_find(const HostFx *h, uint64_t id) {
  uint32_t i = 0;
  while (i < h->n && h->e[i].id != id) i++;
  return i;
}

/* Takes effect i out of the pending list (its fiber forgets it). */
static FxEffect fx_take(HostFx *h, uint32_t i, FxState now) {
  FxEffect e = h->e[i];
  memmove(&h->e[i], &h->e[i + 1], (size_t)(h->n - i - 1) * sizeof *h->e);
  h->n--;
  h->state[e.id] = (uint8_t)now;
  if (e.f) e.f->call = NULL;
  h->vm->asks_ended++;
  return e;
}

/* The answer as a value of the ask's type: text as it is (invalid UTF-8
 * replaced), or JSON of the type — the schema's {"value": ...} wrapper or
 * the bare value. False with the reason in err. */
static bool fx_reply_value(HostFx *h, const FxEffect *e, Value *out, char **err) {
  Heap *hp = &h->vm->heap;
  const char *text = e->reply ? e->reply : "";
  size_t len = strlen(text);
  if (e->td == ASK_TEXT) {
    Buf clean;
    buf_init(&clean);
    for (size_t i = 0, k; i < len; i += k ? k : 1) {
      k = utf8_seq_len(text + i, len - i);
      if (k) buf_put(&clean, text + i, k);
      else buf_put(&clean, "\xEF\xBF\xBD", 3);
    }
    *out = v_string(hp, clean.data ? clean.data : "", clean.len);
    buf_free(&clean);
    return true;
  }
  Value doc;
  char *perr = NULL;
  if (!v_from_json(hp, text, len, &doc, &perr)) {
    *err = xasprintf("the reply is not JSON: %s", perr ? perr : "");
    free(perr);
    return false;
  }
  Value inner = doc;
  Value *wrapped = e->wrapped && v_is(doc, OBJ_MAP) ? map_get_cstr(AS_MAP(doc), "value", 5) : NULL;
  if (wrapped) inner = *wrapped;
  bool ok = v_convert(hp, h->vm->mod, e->td, inner, out, err);
  v_release(hp, doc);
  return ok;
}

/* Ends answered effect e (taken from the list): its fiber resumes with
 * the reply, or fails. at_once: inside submit, where a failure is raised
 * on the fiber and submit refuses (vm/effects.h); returns false then. */
static bool fx_complete(HostFx *h, FxEffect *e, bool at_once) {
  VM *vm = h->vm;
  Buf m;
  buf_init(&m);
  Value v = v_none();
  bool ok = e->ok && !e->too_big;
  if (e->too_big) {
    buf_printf(&m, "ask %s (%s): the host's reply is larger than %zu bytes", e->role->name, e->spec,
               FX_REPLY_MAX);
  } else if (!e->ok) {
    buf_printf(&m, "ask %s (%s): %s", e->role->name, e->spec,
               e->reply && e->reply[0] ? e->reply : "the host's effects table reported a failure");
  } else {
    char *err = NULL;
    if (!fx_reply_value(h, e, &v, &err)) {
      ok = false;
      /* no repair rounds: the host decides how it asks, and may ask again */
      buf_printf(&m, "ask %s: the host's reply does not match ", e->role->name);
      type_desc_print(&m, vm->mod, e->td);
      buf_printf(&m, ": %s", err ? err : "");
    }
    free(err);
  }
  h->calls++;
  if (!ok) h->failed++;
  buf_putc(&m, '\0');
  fx_trace_ask(h, e, ok ? "ok" : "failed", ok ? &v : NULL, ok ? NULL : m.data);
  bool result = true;
  if (ok) {
    vm_wake(vm, e->f, v);
  } else if (at_once) {
    vm_raise_kind(vm, e->f, "error", "%s", m.data);
    result = false;
  } else {
    vm_fail_parked(vm, e->f, "error", m.data); /* may free the fiber, and cancel others */
  }
  buf_free(&m);
  fx_effect_free(e);
  return result;
}

/* Completes every answered effect, one by one in the order they were
 * submitted; each may cancel others, so the list is read again each time.
 * Then fails the effects whose time is up. Returns how many ended. */
static uint32_t fx_settle(HostFx *h) {
  uint32_t done = 0;
  for (;;) {
    uint32_t i = 0;
    while (i < h->n && h->state[h->e[i].id] != FX_ANSWERED) i++;
    if (i == h->n) break;
    FxEffect e = fx_take(h, i, FX_DONE);
    fx_complete(h, &e, false);
    done++;
  }
  uint64_t now = vm_now_ms(h->vm);
  for (;;) {
    uint32_t i = 0;
    while (i < h->n && h->e[i].deadline_ms > now) i++;
    if (i == h->n) break;
    FxEffect e = fx_take(h, i, FX_WITHDRAWN); /* a late answer is ignored */
    if (h->s->fx.cancel) h->s->fx.cancel(h->s->fx.ud, h->s, e.id);
    h->calls++;
    h->failed++;
    char *msg = xasprintf("ask %s (%s): the host's effects table did not answer within %" PRIu64 " ms",
                          e.role->name, e.spec, e.deadline_ms - e.started_ms);
    fx_trace_ask(h, &e, "failed", NULL, msg);
    vm_fail_parked(h->vm, e.f, "timeout", msg);
    free(msg);
    fx_effect_free(&e);
    done++;
  }
  return done;
}

static bool fx_submit(void *hp, const EffectRequest *rq) {
  HostFx *h = hp;
  VM *vm = h->vm;
  Fiber *f = rq->fiber;
  const Module *m = vm->mod;
  if (rq->kind != EFFECT_ASK) {
    vm_raise(vm, f, "effect kind %d is not supported by the host's effects table", (int)rq->kind);
    return false;
  }
  if (h->broken) { /* the run is stopping */
    vm_raise(vm, f, "%s", h->broken);
    return false;
  }
  uint32_t role = rq->u.ask.role, td = rq->u.ask.td;
  if (role >= m->nroles || (td != ASK_TEXT && td >= m->ntypes) || !v_is(rq->u.ask.prompt, OBJ_STRING)) {
    vm_raise(vm, f, "ask: a role, reply type or prompt out of range");
    return false;
  }
  FxEffect e;
  memset(&e, 0, sizeof e);
  e.f = f;
  e.role = &m->roles[role];
  e.td = td;
  e.spec = effective_spec(h->s, e.role);
  e.addr = xstrdup(rq->addr);
  const ObjString *ps = AS_STRING(rq->u.ask.prompt);
  e.prompt = xstrndup(ps->data, strnlen(ps->data, ps->len));
  char *schema = NULL;
  if (td != ASK_TEXT) {
    /* the dialect the engine would send the role's provider */
    const Provider *p = provider_for(e.spec, NULL);
    SchemaDialect d = p && p->plain_schema       ? SCHEMA_PLAIN
                      : p && p->schema_no_bounds ? SCHEMA_ANTHROPIC
                                                 : SCHEMA_OPENAI_STRICT;
    const char *why = schema_check(m, td, d);
    if (!why) schema = schema_json(m, td, d, &e.wrapped);
    if (!schema) {
      Buf b;
      buf_init(&b);
      buf_printf(&b, "ask %s (%s): cannot ask for ", e.role->name, e.spec);
      type_desc_print(&b, m, td);
      buf_printf(&b, ": %s", why ? why : "no JSON schema for this type");
      buf_putc(&b, '\0');
      vm_raise(vm, f, "%s", b.data);
      buf_free(&b);
      fx_effect_free(&e);
      return false;
    }
  }
  /* one call charged on every budget of the fiber's chain; the host
   * reports no usage, so no tokens or dollars */
  char *why = NULL;
  if (budget_admit(vm, f->budget, 0, 0, false, &why) == BUDGET_REFUSED) {
    vm_raise_kind(vm, f, "budget", "%s", why ? why : "budget exhausted");
    free(why);
    free(schema);
    fx_effect_free(&e);
    return false;
  }
  free(why);
  budget_charge(vm, f->budget, 1, 0, 0);
  e.id = ++h->next_id;
  if (e.id >= h->state_cap) {
    uint64_t cap = h->state_cap ? h->state_cap * 2 : 64;
    h->state = xrealloc(h->state, (size_t)cap);
    memset(h->state + h->state_cap, 0, (size_t)(cap - h->state_cap));
    h->state_cap = cap;
  }
  h->state[e.id] = FX_PENDING;
  e.started_ms = vm_now_ms(vm);
  e.deadline_ms = e.started_ms + (uint64_t)capped_ms(e.role->timeout_ms, h->s->ecfg.timeout_ms,
                                                     FX_DEFAULT_TIMEOUT_MS);
  char *request = fx_request(&e, schema, rq->u.ask.with);
  free(schema);
  if (h->n == h->cap) {
    h->cap = h->cap ? h->cap * 2 : 16;
    h->e = xrealloc(h->e, h->cap * sizeof *h->e);
  }
  h->e[h->n++] = e;
  if (h->n > h->max_in_flight) h->max_in_flight = h->n;
  f->call = h; /* ours: cancel finds it by its fiber */
  vm->asks_started++;
  uint64_t id = e.id;
  h->inside++;
  h->s->fx.submit(h->s->fx.ud, h->s, id, "ask", request, rq->addr);
  h->inside--;
  free(request);
  uint32_t i = fx_find(h, id);
  if (i == h->n || h->state[id] != FX_ANSWERED) return true;
  FxEffect done = fx_take(h, i, FX_DONE);
  return fx_complete(h, &done, true);
}

static void fx_cancel(void *hp, Fiber *f) {
  HostFx *h = hp;
  if (f->call != h) return;
  uint32_t i = 0;
  while (i < h->n && h->e[i].f != f) i++;
  if (i == h->n) return;
  FxEffect e = fx_take(h, i, FX_WITHDRAWN);
  fx_trace_ask(h, &e, "cancelled", NULL, NULL);
  if (h->s->fx.cancel) h->s->fx.cancel(h->s->fx.ud, h->s, e.id);
  fx_effect_free(&e);
}

static bool fx_busy(const void *hp) {
  const HostFx *h = hp;
  return h->n > 0;
}

/* The earliest ask deadline, so the scheduler comes back to fail it. */
static int64_t fx_next_deadline(const void *hp) {
  const HostFx *h = hp;
  if (!h->n) return -1;
  uint64_t at = h->e[0].deadline_ms, now = vm_now_ms(h->vm);
  for (uint32_t i = 1; i < h->n; i++)
    if (h->e[i].deadline_ms < at) at = h->e[i].deadline_ms;
  return at > now ? (int64_t)(at - now) : 0;
}

static void fx_wait(void *hp, int64_t timeout_ms) {
  HostFx *h = hp;
  if (h->broken) return;
  uint64_t t0 = vm_now_ms(h->vm);
  h->inside++;
  h->s->fx.wait(h->s->fx.ud, h->s, timeout_ms < 0 ? 0 : timeout_ms);
  h->inside--;
  uint64_t took = vm_now_ms(h->vm) - t0;
  bool pending = h->n > 0;
  if (fx_settle(h)) {
    h->idle = 0;
  } else if (pending && timeout_ms >= 2 && took * 2 < (uint64_t)timeout_ms) {
    if (++h->idle >= FX_IDLE_LIMIT)
      fx_violation(h, "its wait returned early %u times in a row without answering any of %u pending "
                   "effects (wait must block until it answers one or its timeout has passed)",
                   h->idle, h->n);
  } else {
    h->idle = 0;
  }
}

/* Between slices of busy fibers: answers that are ready, without blocking. */
static void fx_pump(void *hp) {
  HostFx *h = hp;
  if (!h->n || h->broken) return;
  h->inside++;
  h->s->fx.wait(h->s->fx.ud, h->s, 0);
  h->inside--;
  fx_settle(h);
}

static int64_t fx_sleep_begin(void *hp, const EffectRequest *rq) {
  HostFx *h = hp;
  return h->inner->sleep_begin(h->inner->host, rq);
}

static void fx_sleep_end(void *hp, Fiber *f) {
  HostFx *h = hp;
  h->inner->sleep_end(h->inner->host, f);
}

static bool fx_clock(void *hp, const EffectRequest *rq, int64_t *unix_ms, char **err) {
  HostFx *h = hp;
  return h->inner->clock(h->inner->host, rq, unix_ms, err);
}

static void fx_trace(void *hp, const char *line, size_t n) {
  HostFx *h = hp;
  h->inner->trace(h->inner->host, line, n);
}

/* Installs the host's table on vm over the runtime host's (vm->effects). */
static HostFx *hostfx_new(weft_session *s, VM *vm) {
  HostFx *h = xcalloc(1, sizeof *h);
  h->vm = vm;
  h->s = s;
  h->inner = vm->effects;
  h->fx.host = h;
  h->fx.submit = fx_submit;
  h->fx.cancel = fx_cancel;
  h->fx.busy = fx_busy;
  h->fx.next_deadline = fx_next_deadline;
  h->fx.wait = fx_wait;
  h->fx.pump = fx_pump;
  if (h->inner && h->inner->sleep_begin) h->fx.sleep_begin = fx_sleep_begin;
  if (h->inner && h->inner->sleep_end) h->fx.sleep_end = fx_sleep_end;
  if (h->inner && h->inner->trace) h->fx.trace = fx_trace;
  if (h->inner && h->inner->clock) h->fx.clock = fx_clock;
  vm_set_effects(vm, &h->fx);
  return h;
}

/* After vm_free: the VM withdrew every effect still pending. */
static void hostfx_free(HostFx *h) {
  if (!h) return;
  for (uint32_t i = 0; i < h->n; i++) fx_effect_free(&h->e[i]);
  free(h->e);
  free(h->state);
  free(h->broken);
  free(h);
}

/* The statistics of a run whose asks the host answered, in the engine's
 * shape (engine_stats_json): calls, and none of the usage it never saw. */
static void hostfx_stats(const HostFx *h, Buf *out) {
  buf_printf(out, "{\"calls\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"attempts\":%" PRIu64
             ",\"retries\":0,\"repairs\":0,\"max_in_flight\":%" PRIu32 ",\"input_tokens\":0,"
             "\"output_tokens\":0,\"cache_read_tokens\":0,\"cache_write_tokens\":0,\"cost_usd\":0,"
             "\"unpriced_models\":[],\"served\":0}",
             h->calls, h->failed, h->calls, h->max_in_flight);
}

weft_status weft_effect_done(weft_session *s, uint64_t id, int ok, const char *reply) {
  if (!s) return WEFT_E_ARG;
  if (!LIVE(s, MAGIC_SESSION)) return WEFT_E_STATE;
  HostFx *h = s->live;
  if (!h) return fail(&s->errmsg, WEFT_E_STATE, "effect %" PRIu64 ": no run of this session with a host's "
                      "effects table is in progress", id);
  if (h->broken) return fail(&s->errmsg, WEFT_E_EFFECTS, "%s", h->broken);
  if (!h->inside)
    return fx_violation(h, "effect %" PRIu64 " was answered outside its submit and wait (the only places "
                        "weft_effect_done is taken)", id);
  if (id == 0 || id > h->next_id) return fx_violation(h, "effect %" PRIu64 " was never submitted", id);
  FxState st = (FxState)h->state[id];
  if (st == FX_WITHDRAWN) return WEFT_OK; /* cancelled or timed out: a late answer is dropped */
  if (st != FX_PENDING) return fx_violation(h, "effect %" PRIu64 " was answered twice", id);
  FxEffect *e = &h->e[fx_find(h, id)];
  h->state[id] = FX_ANSWERED;
  e->ok = ok != 0;
  const char *text = reply ? reply : "";
  size_t n = strnlen(text, FX_REPLY_MAX + 1);
  e->too_big = n > FX_REPLY_MAX;
  e->reply = e->too_big ? NULL : xstrndup(text, n);
  return WEFT_OK;
}

/* ---- running ------------------------------------------------------------------------- */

/* main's arguments from a JSON object, checked against the parameters'
 * types; defaults fill the rest. */
static weft_status build_inputs(weft_session *s, VM *vm, const char *json, Value *args) {
  const Module *m = s->m->mod;
  Value input = v_none();
  char *err = NULL;
  weft_status st = WEFT_E_INPUT;
  bool *have = xcalloc(m->nparams ? m->nparams : 1, sizeof *have);
  for (uint32_t i = 0; i < m->nparams; i++) args[i] = v_none();
  if (json) {
    if (!v_from_json(&vm->heap, json, strlen(json), &input, &err)) {
      fail(&s->errmsg, st, "inputs: invalid JSON: %s", err);
      goto out;
    }
    if (!v_is(input, OBJ_MAP)) {
      fail(&s->errmsg, st, "inputs: a JSON object of main's parameters is needed, got %s", v_type_name(input));
      goto out;
    }
    ObjMap *obj = AS_MAP(input);
    for (uint32_t k = 0; k < obj->n; k++) {
      uint32_t i = 0;
      while (i < m->nparams && (strlen(m->params[i].name) != obj->keys[k]->len ||
                                memcmp(m->params[i].name, obj->keys[k]->data, obj->keys[k]->len) != 0))
        i++;
      if (i == m->nparams) {
        fail(&s->errmsg, st, "inputs: main has no parameter '%s'", obj->keys[k]->data);
        goto out;
      }
      if (!v_convert(&vm->heap, m, m->params[i].type, obj->vals[k], &args[i], &err)) {
        fail(&s->errmsg, st, "inputs: %s: %s", m->params[i].name, err);
        goto out;
      }
      have[i] = true;
    }
  }
  for (uint32_t i = 0; i < m->nparams; i++) {
    if (have[i]) continue;
    const MainParam *p = &m->params[i];
    if (p->def == NONE_DEFAULT) args[i] = v_none();
    else if (p->def != NO_INDEX && p->def < m->nconsts) args[i] = v_retain(m->consts[p->def]);
    else {
      fail(&s->errmsg, st, "missing input: main needs '%s'", p->name);
      goto out;
    }
  }
  st = WEFT_OK;
out:
  if (st != WEFT_OK)
    for (uint32_t i = 0; i < m->nparams; i++) {
      v_release(&vm->heap, args[i]);
      args[i] = v_none();
    }
  v_release(&vm->heap, input);
  free(err);
  free(have);
  return st;
}

/* A duration as the command line writes one ("1s500ms"). */
static void put_duration(Buf *b, int64_t ms) {
  if (ms >= 1000) buf_printf(b, "%" PRId64 "s", ms / 1000);
  if (ms % 1000 || ms < 1000) buf_printf(b, "%" PRId64 "ms", ms % 1000);
}

/* The session's settings as the flags `weft run` records (cli/flags.c,
 * those a resume reuses), so `weft resume` and `weft replay` run a
 * journaled session's run as it started. Keys and base URLs are never
 * recorded; prices are recorded by name only, like --prices. */
static char *session_flags(const weft_session *s) {
  Buf b, f;
  buf_init(&b);
  buf_init(&f);
  buf_putc(&b, '[');
  bool first = true;
#define FLAG(...)                                  \
  do {                                             \
    f.len = 0;                                     \
    buf_printf(&f, __VA_ARGS__);                   \
    if (!first) buf_putc(&b, ',');                 \
    first = false;                                 \
    buf_json_string(&b, f.data, f.len);            \
  } while (0)
  const Limits *l = &s->limits;
  if (l->max_instructions) FLAG("--max-instructions=%" PRIu64, l->max_instructions);
  if (l->max_memory) FLAG("--max-memory=%zu", l->max_memory);
  if (l->max_call_depth) FLAG("--max-call-depth=%" PRIu32, l->max_call_depth);
  if (l->max_fibers) FLAG("--max-fibers=%" PRIu32, l->max_fibers);
  if (s->provider) FLAG("--provider=%s", s->provider);
  for (uint32_t i = 0; i < s->nmodels; i++) FLAG("--model=%s=%s", s->models[i].role, s->models[i].model);
  if (s->ecfg.max_concurrency) FLAG("--max-concurrency=%" PRIu32, s->ecfg.max_concurrency);
  if (s->ecfg.timeout_ms > 0) {
    Buf d;
    buf_init(&d);
    put_duration(&d, s->ecfg.timeout_ms);
    buf_putc(&d, '\0');
    FLAG("--timeout=%s", d.data);
    buf_free(&d);
  }
  if (s->ecfg.retries >= 0) FLAG("--retries=%" PRId32, s->ecfg.retries);
  if (s->ecfg.repairs >= 0) FLAG("--repairs=%" PRId32, s->ecfg.repairs);
  if (s->prices) FLAG("--prices");
  if (s->budget_bits & BUDGET_CALLS) FLAG("--budget-calls=%" PRId64, s->budget_calls);
  if (s->budget_bits & BUDGET_TOKENS) FLAG("--budget-tokens=%" PRId64, s->budget_tokens);
  if (s->budget_bits & BUDGET_USD) FLAG("--budget-usd=%.17g", s->budget_usd);
  if (s->budget_bits & BUDGET_TIME) {
    Buf d;
    buf_init(&d);
    put_duration(&d, s->budget_time);
    buf_putc(&d, '\0');
    FLAG("--budget-time=%s", d.data);
    buf_free(&d);
  }
#undef FLAG
  buf_putc(&b, ']');
  buf_putc(&b, '\0');
  buf_free(&f);
  return b.data;
}

/* One run of the session's module: a new one, or a resume or replay of
 * a journaled one. */
typedef struct Exec {
  weft_run_kind kind;
  Journal *j;             /* the journal; NULL: none */
  RunRec run;             /* its record (id 0: none) */
  Records *serve;         /* what answers a resume's or a replay's effects */
  EffectLog log;
  char name[32];          /* "run 7", for messages */
} Exec;

/* Resume and replay: the journal, the run and the records that answer
 * its effects, before anything runs. */
static weft_status open_rerun(weft_session *s, Exec *x, int64_t id) {
  const char *cmd = x->kind == WEFT_RUN_RESUME ? "resume" : "replay";
  char *err = NULL;
  weft_status st = WEFT_E_JOURNAL;
  if (x->kind == WEFT_RUN_RESUME && access(s->journal, F_OK) != 0)
    return fail(&s->errmsg, st, "%s: no journal at %s", cmd, s->journal);
  x->j = journal_open(s->journal, x->kind == WEFT_RUN_RESUME ? JOURNAL_WRITE : JOURNAL_READ, &err);
  RerunStep step = RERUN_READ;
  if (!x->j) {
    fail(&s->errmsg, st, "%s: %s", cmd, err ? err : "cannot open the journal");
  } else if (!rerun_load(x->j, id, x->kind, &x->run, &step, &err)) {
    if (step == RERUN_FINISHED)
      fail(&s->errmsg, st, "resume: %s; weft_session_replay runs it again offline", err);
    else
      fail(&s->errmsg, st, "%s: %s", cmd, err ? err : "cannot read the run");
  } else {
    char hash[17];
    if (x->kind == WEFT_RUN_RESUME && !rerun_same_module(&x->run, s->m->mod, hash)) {
      fail(&s->errmsg, st, "resume: the session's module is not the one run %" PRId64 " started with (module %s "
           "in the journal, %s now), so its recorded effects may not fit; resume it with that program",
           id, x->run.module_hash ? x->run.module_hash : "?", hash);
    } else if (!(x->serve = rerun_records(x->j, id, &err))) {
      fail(&s->errmsg, st, "%s: %s", cmd, err ? err : "cannot read the run's effects");
    } else {
      snprintf(x->name, sizeof x->name, "run %" PRId64, id);
      st = WEFT_OK;
    }
  }
  free(err);
  return st;
}

/* A new journaled run: the journal and the run's record, once main's
 * inputs are known to fit. */
static weft_status open_new_run(weft_session *s, Exec *x, const Value *args) {
  const Module *m = s->m->mod;
  char *err = NULL;
  x->j = journal_open(s->journal, JOURNAL_WRITE, &err);
  if (x->j) {
    run_rec_init(&x->run, m, s->m->origin, session_flags(s));
    if (run_rec_create(x->j, &x->run, m, args, &err)) return WEFT_OK;
  }
  fail(&s->errmsg, WEFT_E_JOURNAL, "%s", err ? err : "cannot open the journal");
  free(err);
  return WEFT_E_JOURNAL;
}

/* The cancellation point (CANCEL_SLICE_MS). */
static void cancel_tick(VM *vm, void *ud) {
  weft_session *s = ud;
  if (atomic_load(&s->cancel)) vm_fatal(vm, "the run was cancelled");
}

static void session_destroy(weft_session *s);

static weft_status session_exec(weft_session *s, weft_run_kind kind, const char *inputs_json, int64_t id,
                                weft_result **out) {
  const char *cmd = kind == WEFT_RUN_NEW ? "run" : kind == WEFT_RUN_RESUME ? "resume" : "replay";
  const Module *m = s->m->mod;
  if (m->main_fn == NO_INDEX) return fail(&s->errmsg, WEFT_E_STATE, "the module has no main function");
  if (kind != WEFT_RUN_NEW && !s->journal)
    return fail(&s->errmsg, WEFT_E_STATE, "%s needs the journal the run was recorded in "
                "(weft_session_set_journal)", cmd);
  if (kind != WEFT_RUN_NEW && id < 1) return fail(&s->errmsg, WEFT_E_ARG, "%s: run ids start at 1", cmd);
  if (s->has_fx && s->journal)
    return fail(&s->errmsg, WEFT_E_CONFIG, "a journal records the built-in engine's model calls: a session "
                "with a host's effects table cannot have one");
  s->ran = 1;
  s->running = true;
  Exec x;
  memset(&x, 0, sizeof x);
  x.kind = kind;
  weft_status st = kind == WEFT_RUN_NEW ? WEFT_OK : open_rerun(s, &x, id);
  Limits lim = s->limits;
  limits_default(&lim);
  VM *vm = vm_new(s->m->mod, &lim);
  if (s->budget_bits)
    vm_set_budget(vm, s->budget_bits, s->budget_calls, s->budget_tokens, s->budget_usd, s->budget_time);
  Value *args = xcalloc(m->nparams ? m->nparams : 1, sizeof *args);
  for (uint32_t i = 0; i < m->nparams; i++) args[i] = v_none();
  Engine *engine = NULL;
  Host *host = NULL;
  HostFx *hx = NULL;
  if (st == WEFT_OK) {
    st = build_inputs(s, vm, kind == WEFT_RUN_NEW ? inputs_json : x.run.inputs, args);
    if (st != WEFT_OK && kind != WEFT_RUN_NEW)
      st = fail(&s->errmsg, WEFT_E_JOURNAL, "%s: the inputs run %" PRId64 " recorded do not fit: %s", cmd, id,
                s->errmsg);
  }
  if (st == WEFT_OK && m->nroles && !s->has_fx) {
    char *eerr = NULL;
    engine = engine_new(vm, &s->ecfg, &eerr);
    if (!engine) {
      st = fail(&s->errmsg, WEFT_E_CONFIG, "%s", eerr ? eerr : "cannot start the model-call engine");
      free(eerr);
    }
  }
  if (st == WEFT_OK && kind == WEFT_RUN_NEW && s->journal) st = open_new_run(s, &x, args);
  if (st == WEFT_OK && kind == WEFT_RUN_RESUME) {
    char *jerr = NULL;
    if (!rerun_mark_resumed(x.j, &x.run, &jerr))
      st = fail(&s->errmsg, WEFT_E_JOURNAL, "resume: %s", jerr ? jerr : "cannot write the journal");
    free(jerr);
  }
  if (st == WEFT_OK) {
    host = host_new(vm, engine);
    if (s->sink) host_trace_sink(host, s->sink, s->sink_ud);
    Journal *wj = kind == WEFT_RUN_REPLAY ? NULL : x.j; /* a replay writes nothing */
    if (wj) host_trace_journal(host, wj, x.run.id);
    run_log_init(&x.log, kind, wj, &x.run, x.serve, x.name);
    if (x.log.journal || x.log.serve) host_set_log(host, &x.log);
    if (s->has_fx) s->live = hx = hostfx_new(s, vm);
    vm->progress = cancel_tick;
    vm->progress_ud = s;
    vm->progress_every_ms = CANCEL_SLICE_MS;
    vm->progress_at = 0;
    vm_clock_restart(vm);
    Value result = v_none();
    char *err = NULL, *trace = NULL;
    bool ok = vm_run_main(vm, args, m->nparams, &result, &err, &trace);
    weft_result *r = xcalloc(1, sizeof *r);
    r->magic = MAGIC_RESULT;
    r->run_id = x.j ? x.run.id : 0;
    Buf b;
    buf_init(&b);
    if (ok && m->main_result != NO_INDEX && !v_to_json(&b, result, NULL)) {
      ok = false;
      free(err);
      err = xstrdup("the result of main has no JSON form");
    }
    if (ok && !b.len) buf_puts(&b, "null");
    buf_putc(&b, '\0');
    r->ok = ok;
    r->json = ok ? b.data : (buf_free(&b), xstrdup("null"));
    r->error = ok ? xstrdup("") : xstrdup(err ? err : "the program failed");
    if (wj) {
      char *jerr = NULL;
      if (!run_rec_finish(wj, &x.run, ok, ok ? r->json : NULL, r->error, &jerr) && ok) {
        /* the result stands, but the record says the run never ended */
        free(r->error);
        r->error = xasprintf("%s", jerr ? jerr : "cannot write the journal");
      }
      free(jerr);
    }
    Buf sj;
    buf_init(&sj);
    if (hx) hostfx_stats(hx, &sj);
    else engine_stats_json(engine, &sj);
    buf_putc(&sj, '\0');
    r->stats = sj.data;
    if (ok && !r->error[0]) st = WEFT_OK;
    else if (atomic_load(&s->cancel) && !ok) st = WEFT_E_CANCELLED;
    else if (hx && hx->broken) st = WEFT_E_EFFECTS;
    else if (wj && journal_error(wj)) st = WEFT_E_JOURNAL;
    else if (ok) st = WEFT_E_JOURNAL; /* run_rec_finish failed */
    else st = WEFT_E_RUNTIME;
    if (st != WEFT_OK) fail(&s->errmsg, st, "%s", r->error);
    v_release(&vm->heap, result);
    free(err);
    free(trace);
    *out = r;
  }
  for (uint32_t i = 0; i < m->nparams; i++) v_release(&vm->heap, args[i]);
  free(args);
  engine_free(engine);
  vm_free(vm); /* withdraws what is still pending from the host's table */
  s->live = NULL;
  hostfx_free(hx);
  host_free(host);
  records_free(x.serve);
  run_rec_free(&x.run);
  journal_close(x.j);
  s->running = false;
  if (s->doomed) session_destroy(s);
  return st;
}

weft_status weft_session_run(weft_session *s, const char *inputs_json, weft_result **out) {
  if (!out) return WEFT_E_ARG;
  *out = NULL;
  CONFIGURABLE(s);
  return session_exec(s, WEFT_RUN_NEW, inputs_json, 0, out);
}

weft_status weft_session_resume(weft_session *s, int64_t run_id, weft_result **out) {
  if (!out) return WEFT_E_ARG;
  *out = NULL;
  CONFIGURABLE(s);
  return session_exec(s, WEFT_RUN_RESUME, NULL, run_id, out);
}

weft_status weft_session_replay(weft_session *s, int64_t run_id, weft_result **out) {
  if (!out) return WEFT_E_ARG;
  *out = NULL;
  CONFIGURABLE(s);
  return session_exec(s, WEFT_RUN_REPLAY, NULL, run_id, out);
}

/* Touches only the atomic flag: the run's thread reads it at its next
 * tick (CANCEL_SLICE_MS). No message: the other thread may be reading it. */
weft_status weft_session_cancel(weft_session *s) {
  if (!s) return WEFT_E_ARG;
  if (!LIVE(s, MAGIC_SESSION)) return WEFT_E_STATE;
  atomic_store(&s->cancel, 1);
  return WEFT_OK;
}

static void session_destroy(weft_session *s) {
  s->magic = MAGIC_DEAD;
  module_unref(s->m);
  for (uint32_t i = 0; i < s->nmodels; i++) {
    free((char *)s->models[i].role);
    free((char *)s->models[i].model);
  }
  free(s->models);
  for (uint32_t i = 0; i < s->nkeys; i++) {
    free((char *)s->keys[i].provider);
    free_secret(s->keys[i].key);
    free((char *)s->keys[i].base_url);
  }
  free(s->keys);
  free(s->provider);
  free(s->prices);
  free(s->journal);
  free(s->errmsg);
  free(s);
}

/* Freed from inside one of its own run's callbacks (a trace sink, the
 * effects table), the session stops that run and goes when it returns. */
void weft_session_free(weft_session *s) {
  if (!LIVE(s, MAGIC_SESSION) || s->doomed) return;
  if (s->running) {
    s->doomed = true;
    atomic_store(&s->cancel, 1);
    return;
  }
  session_destroy(s);
}

/* ---- results ------------------------------------------------------------------------ */

int weft_result_ok(const weft_result *r) { return LIVE(r, MAGIC_RESULT) && r->ok; }
const char *weft_result_json(const weft_result *r) { return LIVE(r, MAGIC_RESULT) ? r->json : "null"; }
const char *weft_result_error(const weft_result *r) {
  return LIVE(r, MAGIC_RESULT) ? r->error : "not a result";
}
const char *weft_result_stats(const weft_result *r) { return LIVE(r, MAGIC_RESULT) ? r->stats : "{}"; }
int64_t weft_result_run_id(const weft_result *r) { return LIVE(r, MAGIC_RESULT) ? r->run_id : 0; }

void weft_result_free(weft_result *r) {
  if (!LIVE(r, MAGIC_RESULT)) return;
  r->magic = MAGIC_DEAD;
  free(r->json);
  free(r->error);
  free(r->stats);
  free(r);
}
