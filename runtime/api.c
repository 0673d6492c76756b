/* api.c — include/weft.h over the compiler, the VM and the effect engine.
 *
 * Every handle starts with a magic number naming its type; free sets it
 * to a dead value before releasing the memory, so a handle of the wrong
 * type, or (while the allocator has not reused the block) one already
 * freed, is WEFT_E_STATE instead of a crash. Messages of a failed call
 * are kept on the handle it was given (weft.h, "Conventions"). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/weft.h"
#include "../include/weft_tools.h"
#include "../compiler/compiler.h"
#include "../lang/diag.h"
#include "../stdlib/builtins.h"
#include "../vm/module.h"
#include "../vm/json.h"
#include "../vm/opcodes.h"
#include "../vm/vm.h"
#include "../base/util.h"
#include "engine.h"
#include "host.h"

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
};

struct weft_program {
  uint32_t magic;
  Heap heap;
  SourceSet ss;
  DiagList dl;
  Module *mod;         /* NULL once handed to a weft_module */
  char *text;          /* the rendered diagnostics */
  char *errmsg;
};

struct weft_session {
  uint32_t magic;
  weft_module *m;
  Limits limits;
  EngineConfig ecfg;
  ModelOverride *models;
  uint32_t nmodels;
  char *provider, *prices;
  uint32_t budget_bits;
  int64_t budget_calls, budget_tokens, budget_time;
  double budget_usd;
  int ran;
  char *errmsg;
};

struct weft_result {
  uint32_t magic;
  int ok;
  char *json, *error, *stats;
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
  free(m);
}

void weft_module_free(weft_module *m) {
  if (LIVE(m, MAGIC_MODULE)) module_unref(m);
}

/* ---- sessions ------------------------------------------------------------------------ */

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

weft_status weft_session_set_key(weft_session *s, const char *provider, const char *key, const char *base_url) {
  CONFIGURABLE(s);
  (void)provider, (void)key, (void)base_url;
  return fail(&s->errmsg, WEFT_E_UNSUPPORTED,
              "keys from the host are not available yet: the providers read their environment");
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
  (void)path;
  return fail(&s->errmsg, WEFT_E_UNSUPPORTED, "journaled sessions are not available through weft.h yet");
}

weft_status weft_session_set_trace(weft_session *s, weft_trace_sink sink, void *ud) {
  CONFIGURABLE(s);
  (void)sink, (void)ud;
  return fail(&s->errmsg, WEFT_E_UNSUPPORTED, "trace sinks are not available through weft.h yet");
}

weft_status weft_session_set_effects(weft_session *s, const weft_effects *fx) {
  CONFIGURABLE(s);
  if (!fx || fx->size < sizeof *fx || !fx->submit || !fx->wait)
    return fail(&s->errmsg, WEFT_E_ARG, "an effects table needs its size, submit and wait");
  return fail(&s->errmsg, WEFT_E_UNSUPPORTED, "host effects tables are not available yet");
}

weft_status weft_effect_done(weft_session *s, uint64_t id, int ok, const char *reply) {
  if (!s) return WEFT_E_ARG;
  if (!LIVE(s, MAGIC_SESSION)) return WEFT_E_STATE;
  (void)ok, (void)reply;
  return fail(&s->errmsg, WEFT_E_EFFECTS, "effect %llu was never submitted", (unsigned long long)id);
}

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

weft_status weft_session_run(weft_session *s, const char *inputs_json, weft_result **out) {
  if (!out) return WEFT_E_ARG;
  *out = NULL;
  CONFIGURABLE(s);
  const Module *m = s->m->mod;
  if (m->main_fn == NO_INDEX) return fail(&s->errmsg, WEFT_E_STATE, "the module has no main function");
  s->ran = 1;
  Limits lim = s->limits;
  limits_default(&lim);
  VM *vm = vm_new(s->m->mod, &lim);
  if (!vm) return fail(&s->errmsg, WEFT_E_NOMEM, "cannot start the virtual machine");
  if (s->budget_bits)
    vm_set_budget(vm, s->budget_bits, s->budget_calls, s->budget_tokens, s->budget_usd, s->budget_time);
  Value *args = xcalloc(m->nparams ? m->nparams : 1, sizeof *args);
  Engine *engine = NULL;
  Host *host = NULL;
  weft_status st = build_inputs(s, vm, inputs_json, args);
  if (st == WEFT_OK && m->nroles) {
    char *eerr = NULL;
    engine = engine_new(vm, &s->ecfg, &eerr);
    if (!engine) {
      st = fail(&s->errmsg, WEFT_E_CONFIG, "%s", eerr ? eerr : "cannot start the model-call engine");
      free(eerr);
    }
  }
  if (st == WEFT_OK) host = host_new(vm, engine);
  if (st == WEFT_OK) {
    Value result = v_none();
    char *err = NULL, *trace = NULL;
    bool ok = vm_run_main(vm, args, m->nparams, &result, &err, &trace);
    weft_result *r = xcalloc(1, sizeof *r);
    r->magic = MAGIC_RESULT;
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
    Buf sj;
    buf_init(&sj);
    engine_stats_json(engine, &sj);
    buf_putc(&sj, '\0');
    r->stats = sj.data;
    if (!ok) fail(&s->errmsg, WEFT_E_RUNTIME, "%s", r->error);
    st = ok ? WEFT_OK : WEFT_E_RUNTIME;
    v_release(&vm->heap, result);
    free(err);
    free(trace);
    *out = r;
  }
  for (uint32_t i = 0; i < m->nparams; i++) v_release(&vm->heap, args[i]);
  free(args);
  engine_free(engine);
  vm_free(vm);
  host_free(host);
  return st;
}

weft_status weft_session_resume(weft_session *s, int64_t run_id, weft_result **out) {
  if (out) *out = NULL;
  CONFIGURABLE(s);
  (void)run_id;
  return fail(&s->errmsg, WEFT_E_UNSUPPORTED, "resuming through weft.h needs a journal, not available yet");
}

weft_status weft_session_replay(weft_session *s, int64_t run_id, weft_result **out) {
  if (out) *out = NULL;
  CONFIGURABLE(s);
  (void)run_id;
  return fail(&s->errmsg, WEFT_E_UNSUPPORTED, "replaying through weft.h needs a journal, not available yet");
}

weft_status weft_session_cancel(weft_session *s) {
  if (!s) return WEFT_E_ARG;
  if (!LIVE(s, MAGIC_SESSION)) return WEFT_E_STATE;
  return WEFT_E_UNSUPPORTED; /* no message: another thread may be reading it */
}

void weft_session_free(weft_session *s) {
  if (!LIVE(s, MAGIC_SESSION)) return;
  s->magic = MAGIC_DEAD;
  module_unref(s->m);
  for (uint32_t i = 0; i < s->nmodels; i++) {
    free((char *)s->models[i].role);
    free((char *)s->models[i].model);
  }
  free(s->models);
  free(s->provider);
  free(s->prices);
  free(s->errmsg);
  free(s);
}

/* ---- results ------------------------------------------------------------------------ */

int weft_result_ok(const weft_result *r) { return LIVE(r, MAGIC_RESULT) && r->ok; }
const char *weft_result_json(const weft_result *r) { return LIVE(r, MAGIC_RESULT) ? r->json : "null"; }
const char *weft_result_error(const weft_result *r) {
  return LIVE(r, MAGIC_RESULT) ? r->error : "not a result";
}
const char *weft_result_stats(const weft_result *r) { return LIVE(r, MAGIC_RESULT) ? r->stats : "{}"; }

void weft_result_free(weft_result *r) {
  if (!LIVE(r, MAGIC_RESULT)) return;
  r->magic = MAGIC_DEAD;
  free(r->json);
  free(r->error);
  free(r->stats);
  free(r);
}
