/* session.c — sessions of the `weft` tools: check main's inputs, run it
 * under a VM, the effect engine, a trace and the journal, and resume or
 * replay a recorded run. What weft_tools.h declares for run, resume and
 * replay: each call prints what its command prints and returns its exit
 * code; flag parsing belongs to the command line (cli/flags.c), which
 * hands over a parsed weft_run_opts. docs/cli.md and docs/durable.md are
 * the reference; getting the module is runtime/program.c. */
#define _XOPEN_SOURCE 700 /* realpath */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../compiler/compiler.h"
#include "../lang/diag.h"
#include "../stdlib/builtins.h"
#include "../vm/module.h"
#include "../vm/json.h"
#include "../vm/opcodes.h"
#include "engine.h"
#include "generate.h"
#include "host.h"
#include "grants.h"
#include "journal.h"
#include "../base/term.h"
#include "../base/util.h"
#include <cjson/cJSON.h>
#include <time.h>
#include "../vm/trace.h"
#include "../vm/value.h"
#include "../vm/vm.h"
#include "tool.h"

/* weft_tools.h spells the budget's bits for the command line */
_Static_assert(WEFT_BUDGET_CALLS == BUDGET_CALLS && WEFT_BUDGET_TOKENS == BUDGET_TOKENS &&
                   WEFT_BUDGET_USD == BUDGET_USD && WEFT_BUDGET_TIME == BUDGET_TIME,
               "budget bits");

/* ---- weft run: main's inputs -------------------------------------------- */

typedef weft_pair ArgOverride;

static int param_index(const Module *m, const char *name, size_t len) {
  for (uint32_t i = 0; i < m->nparams; i++)
    if (strlen(m->params[i].name) == len && memcmp(m->params[i].name, name, len) == 0)
      return (int)i;
  return -1;
}

/* "a, b, c" — the parameter list, for messages about unknown names. */
static void param_names(Buf *b, const Module *m) {
  if (m->nparams == 0) {
    buf_puts(b, "main takes no parameters");
    return;
  }
  buf_puts(b, "main takes: ");
  for (uint32_t i = 0; i < m->nparams; i++) {
    if (i) buf_puts(b, ", ");
    buf_puts(b, m->params[i].name);
  }
}

/* Rewrites a converter message for parameter `name`: the converter's
 * paths start at the parameter's value ("$[2]: ..."), the user's --input
 * paths at the whole object ("$.files[2]: ..."). */
static void input_error(const char *name, const char *msg) {
  if (msg[0] == '$')
    errorf("--input: $.%s%s", name, msg + 1);
  else
    errorf("--input: $.%s: %s", name, msg);
}

static void arg_error(const char *name, const char *msg) {
  if (msg[0] == '$' && msg[1] == ':' && msg[2] == ' ')
    errorf("--arg %s: %s", name, msg + 3);
  else
    errorf("--arg %s: %s", name, msg);
}

/* Converts `raw` (borrowed) to parameter i's type; false + *err as
 * v_convert. */
static bool convert_param(VM *vm, const Module *m, uint32_t i, Value raw, Value *out, char **err) {
  return v_convert(&vm->heap, m, m->params[i].type, raw, out, err);
}

/* --arg NAME=TEXT: TEXT is read as JSON if it parses and the result fits
 * the type, else as a plain string, so `--arg name=World` and
 * `--arg name=42` both work for a string parameter. The message of the
 * JSON reading wins when there was one. */
static bool convert_arg(VM *vm, const Module *m, uint32_t i, const char *text, Value *out) {
  char *err = NULL;
  Value parsed;
  bool ok = false;
  if (v_from_json(&vm->heap, text, strlen(text), &parsed, NULL)) {
    ok = convert_param(vm, m, i, parsed, out, &err);
    bool was_string = v_is(parsed, OBJ_STRING);
    v_release(&vm->heap, parsed);
    if (ok || was_string) goto done;
  }
  {
    char *err2 = NULL;
    Value s = v_cstring(&vm->heap, text);
    ok = convert_param(vm, m, i, s, out, &err2);
    v_release(&vm->heap, s);
    if (!ok && !err) err = err2;
    else free(err2);
  }
done:
  if (!ok) arg_error(m->params[i].name, err && *err ? err : "invalid value");
  free(err);
  return ok;
}

static bool overridden(const ArgOverride *ovr, int novr, const char *name) {
  for (int k = 0; k < novr; k++)
    if (strcmp(ovr[k].name, name) == 0) return true;
  return false;
}

/* Builds main's arguments from --input, --arg and the defaults, checking
 * each against its declared type. Nothing runs before this succeeds.
 * Returns EXIT_OK with args[0..nparams) filled (new references). */
static int build_args(VM *vm, const Module *m, const char *input_path, const char *input_text,
                      const ArgOverride *ovr, int novr, Value *args) {
  uint32_t n = m->nparams;
  bool *have = calloc(n ? n : 1, sizeof *have);
  Value input = v_none();
  int rc = EXIT_USAGE;
  Buf b;
  buf_init(&b);
  if (!have) return EXIT_FAIL;
  for (uint32_t i = 0; i < n; i++) args[i] = v_none();

  for (int k = 0; k < novr; k++) {
    if (param_index(m, ovr[k].name, strlen(ovr[k].name)) < 0) {
      param_names(&b, m);
      errorf("--arg %s: main has no parameter '%s' (%s)", ovr[k].name, ovr[k].name, b.data);
      goto out;
    }
  }

  if (input_path || input_text) {
    size_t len = input_text ? strlen(input_text) : 0;
    char *text = input_text ? xstrdup(input_text) : read_file(input_path, &len);
    if (!input_path) input_path = "the journal's inputs";
    if (!text) {
      errorf("--input: cannot read '%s': %s", input_path, strerror(errno));
      goto out;
    }
    char *perr = NULL;
    bool ok = v_from_json(&vm->heap, text, len, &input, &perr);
    free(text);
    if (!ok) {
      errorf("--input: %s: invalid JSON: %s", input_path, perr);
      free(perr);
      goto out;
    }
    if (!v_is(input, OBJ_MAP)) {
      errorf("--input: %s must hold a JSON object of main's parameters, got %s", input_path,
             v_type_name(input));
      goto out;
    }
    ObjMap *obj = AS_MAP(input);
    for (uint32_t k = 0; k < obj->n; k++) {
      ObjString *key = obj->keys[k];
      int pi = param_index(m, key->data, key->len);
      if (pi < 0) {
        param_names(&b, m);
        errorf("--input: $.%s: main has no parameter '%s' (%s)", key->data, key->data, b.data);
        goto out;
      }
      if (have[pi] || overridden(ovr, novr, m->params[pi].name)) continue;
      char *err = NULL;
      if (!convert_param(vm, m, (uint32_t)pi, obj->vals[k], &args[pi], &err)) {
        input_error(m->params[pi].name, err && *err ? err : "invalid value");
        free(err);
        goto out;
      }
      have[pi] = true;
    }
  }

  /* --arg overrides --input; of several --arg for one name the last wins. */
  for (int k = 0; k < novr; k++) {
    int pi = param_index(m, ovr[k].name, strlen(ovr[k].name));
    if (have[pi]) {
      v_release(&vm->heap, args[pi]);
      args[pi] = v_none();
      have[pi] = false;
    }
    if (!convert_arg(vm, m, (uint32_t)pi, ovr[k].text, &args[pi])) goto out;
    have[pi] = true;
  }

  for (uint32_t i = 0; i < n; i++) {
    if (have[i]) continue;
    const MainParam *p = &m->params[i];
    if (p->def == NONE_DEFAULT) {
      args[i] = v_none();
    } else if (p->def != NO_INDEX && p->def < m->nconsts) {
      args[i] = v_retain(m->consts[p->def]);
    } else {
      Buf t;
      buf_init(&t);
      type_desc_print(&t, m, p->type);
      buf_putc(&t, '\0');
      errorf("missing input: main needs '%s: %s' (give --arg %s=VALUE or --input FILE.json)",
             p->name, t.data, p->name);
      buf_free(&t);
      goto out;
    }
    have[i] = true;
  }
  rc = EXIT_OK;
out:
  if (rc != EXIT_OK)
    for (uint32_t i = 0; i < n; i++) {
      v_release(&vm->heap, args[i]);
      args[i] = v_none();
    }
  v_release(&vm->heap, input);
  buf_free(&b);
  free(have);
  return rc;
}

/* ---- weft run ------------------------------------------------------------ */

/* The live progress line: redrawn in place (\r, clear to end of line) by
 * the scheduler at most every 100 ms, cut to the terminal's width (asked
 * at each redraw: the window may be resized); cleared before the
 * summary. */
typedef struct ProgressLine {
  Engine *engine;
  bool drawn;
  Buf line;
} ProgressLine;

static void progress_draw(VM *vm, void *ud) {
  ProgressLine *pl = ud;
  Progress p;
  memset(&p, 0, sizeof p);
  p.branches_done = vm->branches_ok;
  p.branches_failed = vm->branches_failed;
  uint64_t ended = vm->branches_ok + vm->branches_failed + vm->branches_cancelled;
  p.branches_running = vm->branches_started > ended ? vm->branches_started - ended : 0;
  p.calls_in_flight = vm->asks_started > vm->asks_ended ? vm->asks_started - vm->asks_ended : 0;
  if (pl->engine) {
    const RunStats *s = engine_stats(pl->engine);
    p.calls_done = s->calls;
    p.tokens = (uint64_t)(s->usage.input_tokens + s->usage.output_tokens);
    p.cost_usd = s->cost_usd;
  }
  p.elapsed_ms = vm_now_ms(vm);
  vm_progress(vm, &p);
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) p.width = ws.ws_col;
  pl->line.len = 0;
  progress_format(&pl->line, &p);
  fputs("\r\033[K", stderr); /* the only raw escape: the line is redrawn */
  term_write(stderr, pl->line.data, pl->line.len, TERM_TEXT);
  fflush(stderr);
  pl->drawn = true;
}

static void progress_clear(ProgressLine *pl) {
  if (!pl->drawn) return;
  fputs("\r\033[K", stderr);
  fflush(stderr);
  pl->drawn = false;
}

typedef weft_run_opts RunOpts;
typedef weft_run_kind RunKind;
#define RUN_NEW WEFT_RUN_NEW
#define RUN_RESUME WEFT_RUN_RESUME
#define RUN_REPLAY WEFT_RUN_REPLAY

static bool known_role(const Module *m, const char *role) {
  for (uint32_t r = 0; r < m->nroles; r++)
    if (strcmp(m->roles[r].name, role) == 0) return true;
  return false;
}

/* --model ROLE=... must name a role the program declares. */
static bool check_model_roles(const Module *m, const RunOpts *o, const char *file) {
  for (uint32_t k = 0; k < o->nmodels; k++) {
    if (known_role(m, o->models[k].name)) continue;
    Buf names;
    buf_init(&names);
    for (uint32_t r = 0; r < m->nroles; r++) buf_printf(&names, "%s%s", r ? ", " : "", m->roles[r].name);
    buf_putc(&names, '\0');
    (void)file;
    errorf("--model %s: the program has no role '%s' (roles: %s)", o->models[k].name, o->models[k].name,
           m->nroles ? names.data : "none");
    buf_free(&names);
    return false;
  }
  return true;
}

/* main's arguments as a JSON object by parameter name (the journal's inputs). */
static char *args_json(const Module *m, const Value *args) {
  Buf b;
  buf_init(&b);
  buf_putc(&b, '{');
  for (uint32_t i = 0; i < m->nparams; i++) {
    if (i) buf_putc(&b, ',');
    buf_json_string(&b, m->params[i].name, strlen(m->params[i].name));
    buf_putc(&b, ':');
    size_t mark = b.len;
    if (!v_to_json(&b, args[i], NULL)) {
      b.len = mark;
      buf_puts(&b, "null");
    }
  }
  buf_puts(&b, "}");
  buf_putc(&b, '\0');
  return b.data;
}

/* The module's bytes and its hash (the journal keeps both). The hash is
 * the module's source hash (FNV-1a 64 over the program's source texts),
 * which does not depend on the paths it was compiled from. */
static unsigned char *module_bytes(const Module *m, size_t *len, char hash[17]) {
  hash_hex(m->source_hash, hash);
  return module_write(m, len);
}

static char *absolute_path(const char *path) {
  char *abs = realpath(path, NULL);
  return abs ? abs : xstrdup(path);
}

/* What one execution of main needs besides the module. */
typedef struct RunCtx {
  RunKind kind;
  const char *input_text;       /* resume/replay: the recorded inputs (JSON) */
  Journal *journal;             /* where the run is written; NULL: nowhere */
  RunRec *run;                  /* its record (id set) */
  Records *serve;               /* records that answer effects (run_log_init); NULL: none */
  const char *serve_name;
  const char *recorded_result;  /* replay --check: the result to compare with */
  const char *recorded_status;
  const char *journal_flag;     /* a new run: open the journal (--journal or "") once its inputs are valid */
  const CapScan *needs;         /* the capabilities the source names (static check); NULL: none known */
  bool budget_given;            /* the operator gave --budget-calls (not a default) */
  struct DoCtx *todo;           /* weft do (and its resume): the plan shown and approved; NULL: a plain run */
} RunCtx;

/* What `generate` is told and checked against in a run (the engine's
 * gen_* hooks): the run's grants once they are resolved. */
typedef struct GenHost {
  const Grants *grants;
  const char *file;
} GenHost;

/* weft do: how the plan is approved, and how the run stopped when it was
 * not (the exit code then). */
typedef struct DoCtx {
  bool yes, plan_only, resumed;
  bool budget_given;            /* --budget-calls bounds the program at run time (the plan says so) */
  const RunOpts *o;
  Journal **journal;
  int64_t *run_id;
  int stopped;                  /* 0 ran; else the exit code: nothing ran after the plan */
} DoCtx;

/* ---- the journal of a run (tool.h: the API shares it) ----------------------- */

void run_rec_init(RunRec *r, const Module *m, const char *program, char *options) {
  char hash[17];
  r->program = xstrdup(program ? program : RUN_PROGRAM_NONE);
  r->program_path = program ? absolute_path(program) : xstrdup(RUN_PROGRAM_NONE);
  r->module = module_bytes(m, &r->module_len, hash);
  r->module_hash = xstrdup(hash);
  r->options = options ? options : xstrdup("[]");
}

bool run_rec_create(Journal *j, RunRec *r, const Module *m, const Value *args, char **err) {
  free(r->inputs);
  r->inputs = args_json(m, args);
  return journal_run_create(j, r, err);
}

bool run_rec_finish(Journal *j, RunRec *r, bool ok, const char *result, const char *error, char **err) {
  free(r->status);
  r->status = xstrdup(ok ? "ok" : "failed");
  free(r->result);
  r->result = ok && result ? xstrdup(result) : NULL;
  free(r->error);
  r->error = ok ? NULL : xstrdup(error ? error : "the program failed");
  r->ended_at = unix_now_ms();
  return journal_run_update(j, r, err);
}

bool rerun_load(Journal *j, int64_t id, RunKind kind, RunRec *out, RerunStep *failed, char **err) {
  *failed = RERUN_READ;
  if (!journal_run_get(j, id, true, out, err)) return false;
  if (kind != RUN_RESUME) return true;
  if (strcmp(out->status, "ok") == 0) {
    *failed = RERUN_FINISHED;
    *err = xasprintf("run %" PRId64 " already finished (ok)", id);
    return false;
  }
  *failed = RERUN_LOCKED;
  return journal_run_lock(j, id, err);
}

bool rerun_same_module(const RunRec *r, const Module *m, char hash[17]) {
  hash_hex(m->source_hash, hash);
  return r->module_hash && strcmp(hash, r->module_hash) == 0;
}

Records *rerun_records(Journal *j, int64_t id, char **err) {
  EffectRec *es = NULL;
  size_t n = 0;
  if (!journal_effects_load(j, id, &es, &n, err)) return NULL;
  Records *rs = records_new();
  for (size_t i = 0; i < n; i++) records_put(rs, &es[i]);
  effect_recs_free(es, n);
  return rs;
}

bool rerun_mark_resumed(Journal *j, RunRec *r, char **err) {
  r->resumes++;
  free(r->status);
  r->status = xstrdup("running");
  r->ended_at = 0;
  return journal_run_update(j, r, err);
}

void run_log_init(EffectLog *log, RunKind kind, Journal *j, const RunRec *r, Records *serve,
                  const char *serve_name) {
  memset(log, 0, sizeof *log);
  log->journal = j;
  log->run = j ? r->id : 0;
  log->serve = serve;
  /* a resume answers from its own journal (what it answers is there
   * already); a replay, or a run from a cassette, answers every effect */
  log->mode = !serve ? SERVE_NONE : kind == RUN_RESUME ? SERVE_RESUME : SERVE_STRICT;
  log->serve_journaled = serve && kind == RUN_RESUME;
  log->serve_name = serve_name;
}

/* Ends the run's record: status, result or error, end time. */
static void finish_record(RunCtx *cx, bool ok, const char *result, const char *error) {
  if (!cx->journal) return;
  char *err = NULL;
  if (!run_rec_finish(cx->journal, cx->run, ok, result, error, &err)) {
    errorf("%s", err ? err : "cannot write the journal");
    free(err);
  }
}

/* Opens the journal for a command: --journal, $WEFT_JOURNAL, or .weft/. */
static Journal *open_journal(const char *flag, JournalMode mode) {
  const char *path = journal_path_or_default(flag);
  char *err = NULL;
  Journal *j = journal_open(path, mode, &err);
  if (!j) {
    errorf("%s", err ? err : "cannot open the journal");
    free(err);
  }
  return j;
}

/* --untrusted (docs/security.md, "Untrusted programs"): every limit the
 * operator did not give takes its untrusted default (weft_tools.h), the
 * run always has a call and a time budget, and roles are held to the
 * --models list (mock only without one). The operator's flags stay what
 * they are in every run: ceilings that a program's budget blocks and role
 * settings can lower, never raise. Applied to the options of each session
 * (run, resume, replay), so a resumed untrusted run gets them again. */
static void untrusted_defaults(RunOpts *o) {
  if (!o->untrusted) return;
  if (!o->max_instructions) o->max_instructions = WEFT_UNTRUSTED_MAX_INSTRUCTIONS;
  if (!o->max_memory) o->max_memory = WEFT_UNTRUSTED_MAX_MEMORY;
  if (!o->max_call_depth) o->max_call_depth = WEFT_UNTRUSTED_MAX_CALL_DEPTH;
  if (!o->max_fibers) o->max_fibers = WEFT_UNTRUSTED_MAX_FIBERS;
  if (!(o->budget_bits & WEFT_BUDGET_CALLS)) {
    o->budget_bits |= WEFT_BUDGET_CALLS;
    o->budget_calls = WEFT_UNTRUSTED_BUDGET_CALLS;
  }
  if (!(o->budget_bits & WEFT_BUDGET_TIME)) {
    o->budget_bits |= WEFT_BUDGET_TIME;
    o->budget_time_ms = WEFT_UNTRUSTED_BUDGET_TIME_MS;
  }
  o->limit_models = true;
}

/* What a run compiles its program with: the import roots, and whether it
 * is untrusted. Models are checked by the engine, after --model and
 * --provider. */
static weft_compile_opts run_compile_opts(const RunOpts *o) {
  weft_compile_opts co = {.color = o->color, .import_paths = o->import_paths,
                          .nimport_paths = o->nimport_paths, .untrusted = o->untrusted,
                          .max_memory = o->max_memory,
                          /* the checker's half of untrusted content: the inputs the
                           * run takes as untrusted are untrusted for it too */
                          .untrusted_inputs = o->untrusted_inputs, .nuntrusted_inputs = o->nuntrusted_inputs};
  co.trusted_programs = (const char *const *)o->trusted_programs;
  co.ntrusted_programs = o->ntrusted_programs;
  return co;
}

/* The run's grants from its flags (--allow-*, --grants), each resolved
 * now, once; the journal is refused inside them unless named exactly.
 * NULL + *rc after a message when one cannot be resolved. */
static Grants *run_grants(const RunOpts *o, const char *journal, int *rc) {
  Grants *g = grants_new();
  static const GrantKind kinds[4] = {GRANT_READ, GRANT_WRITE, GRANT_RUN, GRANT_NET};
  const char **lists[4] = {o->allow_read, o->allow_write, o->allow_run, o->allow_net};
  uint32_t ns[4] = {o->nallow_read, o->nallow_write, o->nallow_run, o->nallow_net};
  char *err = NULL;
  bool ok = true;
  for (int k = 0; k < 4 && ok; k++)
    for (uint32_t i = 0; i < ns[k] && ok; i++) ok = grants_add(g, kinds[k], lists[k][i], &err);
  for (uint32_t i = 0; i < o->nallow_env && ok; i++) ok = grants_add_env(g, o->allow_env[i], &err);
  for (uint32_t i = 0; i < o->nallow_read_untrusted && ok; i++)
    ok = grants_add_read_untrusted(g, o->allow_read_untrusted[i], &err);
  if (ok && o->grants_file) ok = grants_add_file(g, o->grants_file, &err);
  if (!ok) {
    errorf("%s", err ? err : "the grants cannot be resolved");
    free(err);
    grants_free(g);
    *rc = EXIT_USAGE;
    return NULL;
  }
  if (journal) grants_deny(g, journal);
  grants_set_untrusted(g, o->untrusted);
  return g;
}

/* The static check: every path, program and host the program names as a
 * constant (capscan.c) must be granted before it starts; otherwise it is
 * refused with all of them listed, each with the flag that grants it. A
 * computed one is checked when the call happens. */
static uint32_t needs_missing(const CapScan *scan, const Grants *g, const char *file, Buf *m);

static bool needs_granted(const CapScan *scan, const Grants *g, const char *file) {
  if (!scan) return true;
  Buf m;
  buf_init(&m);
  uint32_t missing = needs_missing(scan, g, file, &m);
  if (missing) {
    buf_putc(&m, '\0');
    errorf("%s needs %" PRIu32 " grant%s it was not given (a resume needs them again too):%s", file, missing,
           missing == 1 ? "" : "s", m.data);
  }
  buf_free(&m);
  return missing == 0;
}

/* Each constant path, program and host scan names that g does not cover,
 * one line each in m, with the flag that grants it; how many. */
static uint32_t needs_missing(const CapScan *scan, const Grants *g, const char *file, Buf *m) {
  uint32_t missing = 0;
  for (uint32_t i = 0; i < scan->n; i++) {
    const CapUse *u = &scan->uses[i];
    char *flag = caps_use_flag(u);
    if (!flag) continue;
    const char *what = strchr(flag, '=') + 1;
    GrantKind kind = u->grant == 'w' ? GRANT_WRITE : u->grant == 'x' ? GRANT_RUN : u->grant == 'n' ? GRANT_NET : GRANT_READ;
    if (!grants_covers(g, kind, what)) {
      missing++;
      buf_printf(m, "\n  %s:%" PRIu32 ":%" PRIu32 ": %s in %s: ", u->file ? u->file : file, u->line, u->col, u->op, u->fn);
      buf_json_string(m, u->value, strlen(u->value));
      buf_printf(m, " needs %s", flag);
    }
    free(flag);
  }
  return missing;
}

/* The grants' side of a generated program's check (GenRules.caps_ok). */
static bool gen_caps_ok(void *ud, const CapScan *scan, Buf *why) {
  const GenHost *gh = ud;
  if (!gh->grants) return true;
  Buf m;
  buf_init(&m);
  uint32_t missing = needs_missing(scan, gh->grants, "the program", &m);
  if (missing)
    buf_printf(why, "the program needs %" PRIu32 " capabilit%s the run was not granted (use only what the run "
               "grants):%.*s", missing, missing == 1 ? "y" : "ies", (int)m.len, m.data);
  buf_free(&m);
  return missing == 0;
}

/* What the planner is told of the run: the capabilities granted, the
 * budget and the limits (generate.h). */
static char *gen_context(const RunOpts *o) {
  Buf b;
  buf_init(&b);
  buf_puts(&b, "This run grants the program:\n");
  static const char *const what[5] = {"read files under", "write files under", "run the programs", "reach the hosts",
                                      "pass to programs the environment variables"};
  const char **lists[5] = {o->allow_read, o->allow_write, o->allow_run, o->allow_net, o->allow_env};
  uint32_t ns[5] = {o->nallow_read, o->nallow_write, o->nallow_run, o->nallow_net, o->nallow_env};
  bool any = false;
  for (int k = 0; k < 5; k++) {
    if (!ns[k]) continue;
    any = true;
    buf_printf(&b, "- %s:", what[k]);
    for (uint32_t i = 0; i < ns[k] && i < 64; i++) buf_printf(&b, " %s", lists[k][i]);
    buf_putc(&b, '\n');
  }
  if (o->nallow_read_untrusted) {
    any = true;
    buf_puts(&b, "- read, as untrusted content, files under:");
    for (uint32_t i = 0; i < o->nallow_read_untrusted && i < 64; i++) buf_printf(&b, " %s", o->allow_read_untrusted[i]);
    buf_putc(&b, '\n');
  }
  if (o->grants_file) {
    any = true;
    buf_puts(&b, "- what a grants file of the operator lists\n");
  }
  if (!any) buf_puts(&b, "- nothing: no files, programs or network (do not import std/fs, std/proc or std/http)\n");
  buf_puts(&b, "Budget of the whole run (the planner's calls count too):");
  if (o->budget_bits & WEFT_BUDGET_CALLS) buf_printf(&b, " %" PRId64 " model calls;", o->budget_calls);
  if (o->budget_bits & WEFT_BUDGET_TOKENS) buf_printf(&b, " %" PRId64 " tokens;", o->budget_tokens);
  if (o->budget_bits & WEFT_BUDGET_USD) buf_printf(&b, " $%.2f;", o->budget_usd);
  if (o->budget_bits & WEFT_BUDGET_TIME) buf_printf(&b, " %" PRId64 " s;", o->budget_time_ms / 1000);
  if (!o->budget_bits) buf_puts(&b, " none given");
  buf_putc(&b, '\n');
  return buf_detach(&b);
}

static bool do_approve(void *ud, const char *addr, const char *source, char **why);

/* A closed type (bool, int, float, duration, a literal union, and records,
 * lists, maps, optionals and tagged unions of these): a value validated
 * against it holds no free text, so it carries no label. */
static bool closed_type(const Module *m, uint32_t td, int depth) {
  if (td >= m->ntypes || depth > 64) return false;
  const TypeDesc *d = &m->types[td];
  switch ((TypeDescKind)d->kind) {
  case TD_INT: case TD_FLOAT: case TD_BOOL: case TD_DURATION: case TD_NONE: case TD_ENUM: return true;
  case TD_LIST: case TD_OPTIONAL: case TD_RANGE: return closed_type(m, d->elem, depth + 1);
  case TD_MAP: return false; /* its keys are free text, as v_convert keeps them */
  case TD_RECORD:
    for (uint32_t i = 0; i < d->n; i++)
      if (!closed_type(m, d->fields[i].type, depth + 1)) return false;
    return true;
  case TD_TAGGED:
    for (uint32_t i = 0; i < d->n; i++)
      if (!closed_type(m, d->members[i], depth + 1)) return false;
    return true;
  default: return false;
  }
}

/* --untrusted-input=NAME: main's argument NAME is untrusted content as a
 * whole (docs/security.md, "Untrusted content: sources, sinks and the
 * journal"); a resume or replay labels it again (the flag is recorded). */
static int label_inputs(VM *vm, const Module *m, const RunOpts *o, Value *args) {
  for (uint32_t k = 0; k < o->nuntrusted_inputs; k++) {
    const char *name = o->untrusted_inputs[k];
    int i = param_index(m, name, strlen(name));
    if (i < 0) {
      Buf b;
      buf_init(&b);
      param_names(&b, m);
      errorf("--untrusted-input=%s: main has no parameter %s (%s)", name, name, b.data ? b.data : "");
      buf_free(&b);
      return EXIT_USAGE;
    }
    if (closed_type(m, m->params[i].type, 0)) continue; /* validated against it: nothing free is left */
    char *what = xasprintf("main's input %s", name);
    Label l = vm_label_origin(vm, what);
    free(what);
    if (args[i].tag == V_OBJ) v_label_deep(args[i], l);
    else args[i].label = label_join(args[i].label, l);
  }
  return EXIT_OK;
}

/* Runs main of m under o and cx: inputs, VM, engine, trace, journal,
 * output. Returns the exit code. */
static int execute(RunOpts *o, Module *m, const char *file, RunCtx *cx) {
  Limits limits = {.max_instructions = o->max_instructions, .max_memory = (size_t)o->max_memory,
                   .max_call_depth = o->max_call_depth, .max_fibers = o->max_fibers};
  limits_default(&limits);
  VM *vm = vm_new(m, &limits);
  if (!vm) {
    errorf("cannot start the virtual machine");
    return EXIT_FAIL;
  }
  if (o->budget_bits)
    vm_set_budget(vm, o->budget_bits, o->budget_calls, o->budget_tokens, o->budget_usd, o->budget_time_ms);
  Value *args = xcalloc(m->nparams ? m->nparams : 1, sizeof *args);
  int rc = build_args(vm, m, cx->input_text ? NULL : o->input, cx->input_text, o->args, (int)o->nargs, args);
  if (rc == EXIT_OK) rc = label_inputs(vm, m, o, args);
  vm->trust_allowed = !o->untrusted || o->allow_trust;
  vm->trust_generated = o->allow_trust;
  Engine *engine = NULL;
  ModelOverride *mo = NULL;
  Host *host = NULL;
  Grants *grants = NULL;
  EffectLog log;
  memset(&log, 0, sizeof log);
  ProgressLine pl;
  memset(&pl, 0, sizeof pl);
  buf_init(&pl.line);
  char *gen_ctx = NULL;
  GenHost gh = {.grants = NULL, .file = file};
  if (rc != EXIT_OK) goto done;
  /* Only programs that declare roles can ask: the rest start as fast as
   * they did before model calls existed. */
  if (m->nroles) {
    char *eerr = NULL;
    mo = xcalloc(o->nmodels ? o->nmodels : 1, sizeof *mo); /* the engine borrows it */
    for (uint32_t k = 0; k < o->nmodels; k++) {
      mo[k].role = o->models[k].name;
      mo[k].model = o->models[k].text;
    }
    EngineConfig ecfg = {.force_provider = o->provider, .overrides = mo, .noverrides = o->nmodels,
                         .max_concurrency = o->max_concurrency, .timeout_ms = o->timeout_ms,
                         .retries = o->retries, .repairs = o->repairs, .no_stream = o->no_stream,
                         .mock_script = o->mock_script, .mock_strict = o->mock_strict, .prices_file = o->prices_file,
                         .limit_models = o->limit_models,
                         .allow_models = (const char *const *)o->allow_models,
                         .nallow_models = o->nallow_models};
    ecfg.gen_context = gen_ctx = gen_context(o);
    /* a generated program's calls are bounded by the operator's budget at
     * run time, or else statically by the default one of an untrusted run */
    ecfg.gen_max_calls = cx->budget_given ? 0 : WEFT_UNTRUSTED_BUDGET_CALLS;
    ecfg.gen_caps_ok = gen_caps_ok;
    ecfg.gen_caps_ud = &gh;
    if (cx->todo) {
      ecfg.gen_approve = do_approve;
      ecfg.gen_approve_ud = cx->todo;
    }
    engine = engine_new(vm, &ecfg, &eerr);
    if (!engine) {
      errorf("%s", eerr ? eerr : "cannot start the model-call engine");
      free(eerr);
      rc = EXIT_USAGE;
      goto done;
    }
  }
  host = host_new(vm, engine);
  if (o->trace_path) {
    char *terr = NULL;
    if (!host_trace_file(host, o->trace_path, &terr)) {
      errorf("%s", terr ? terr : "--trace: cannot open the file");
      free(terr);
      rc = EXIT_USAGE;
      goto done;
    }
  }
  /* grants before the journal: a run refused for what it needs leaves no
   * record behind */
  grants = run_grants(o, cx->journal ? cx->journal->path
                         : cx->journal_flag ? journal_path_or_default(cx->journal_flag) : NULL, &rc);
  if (!grants) goto done;
  if (cx->kind != RUN_REPLAY && !needs_granted(cx->needs, grants, file)) {
    rc = EXIT_USAGE;
    goto done;
  }
  host_set_grants(host, grants);
  gh.grants = grants;
  if (cx->journal_flag && !cx->journal) {
    cx->journal = open_journal(cx->journal_flag, JOURNAL_WRITE);
    if (!cx->journal) {
      rc = EXIT_USAGE;
      goto done;
    }
  }
  if (cx->journal && cx->kind == RUN_NEW) {
    RunRec *r = cx->run;
    char *jerr = NULL;
    if (!run_rec_create(cx->journal, r, m, args, &jerr)) {
      errorf("%s", jerr ? jerr : "cannot write the journal");
      free(jerr);
      rc = EXIT_USAGE;
      goto done;
    }
    if (!o->quiet) errorf("run %" PRId64 " (journal %s)", r->id, cx->journal->path);
  }
  if (cx->journal) host_trace_journal(host, cx->journal, cx->run->id);
  vm->raw_out = o->raw_output;
  vm_clock_restart(vm);
  run_log_init(&log, cx->kind, cx->journal, cx->run, cx->serve, cx->serve_name);
  if (o->record_path) log.collect = records_new();
  if (log.journal || log.serve || log.collect) host_set_log(host, &log);

  pl.engine = engine;
  if (!o->quiet && (o->progress == COLOR_ALWAYS || (o->progress == COLOR_AUTO && isatty(STDERR_FILENO)))) {
    vm->progress = progress_draw;
    vm->progress_ud = &pl;
    vm->progress_every_ms = 100;
    vm->progress_at = 200; /* a quick run draws nothing */
  }
  {
    Value result = v_none();
    char *err = NULL, *trace = NULL;
    bool ok = vm_run_main(vm, args, m->nparams, &result, &err, &trace);
    vm->progress = NULL;
    progress_clear(&pl);
    fflush(stdout);
    Buf out, res;
    buf_init(&out);
    buf_init(&res);
    char *why = NULL;
    weft_run_outcome *oc = o->outcome;
    const char *kind = ok ? NULL : vm->main_error_kind ? vm->main_error_kind : "error";
    if (ok && m->main_result != NO_INDEX && !v_to_json(&res, result, &why)) {
      if (!oc) term_printf(stderr, "error: the result of main has no JSON form: %s\n", why);
      ok = false;
      kind = "error";
      free(err);
      err = xasprintf("the result of main has no JSON form: %s", why ? why : "");
      free(why);
    } else if (!ok && !oc && cx->todo && cx->todo->stopped) {
      /* weft do stopped after the plan, and said why */
    } else if (!ok && !oc) {
      /* a fail() message or a provider's error may quote a reply */
      term_printf(stderr, "error: %s\n", err ? err : "the program failed");
      if (trace && trace[0]) {
        term_write(stderr, trace, strlen(trace), TERM_TEXT);
        if (trace[strlen(trace) - 1] != '\n') fputc('\n', stderr);
      }
    }
    buf_putc(&res, '\0');
    res.len--;
    if (!ok) rc = EXIT_FAIL;
    if (oc) {
      /* the caller judges the run: it is told everything, and nothing is printed */
      Buf sb;
      buf_init(&sb);
      oc->ran = true;
      oc->ok = ok;
      oc->result = ok && res.len ? xstrdup(res.data) : NULL;
      oc->error = ok ? NULL : xstrdup(err ? err : "the program failed");
      oc->error_kind = ok ? NULL : xstrdup(kind);
      oc->error_trace = ok || !trace ? NULL : xstrdup(trace);
      oc->failed_at = engine_last_failed(engine) ? xstrdup(engine_last_failed(engine)) : NULL;
      engine_stats_json(engine, &sb);
      oc->stats = buf_detach(&sb);
      engine_calls_by_json(engine, 0, &sb);
      oc->roles = buf_detach(&sb);
      engine_calls_by_json(engine, 1, &sb);
      oc->models = buf_detach(&sb);
    } else if (o->json) {
      buf_puts(&out, "{\"result\":");
      buf_puts(&out, ok && res.len ? res.data : "null");
      if (!ok) {
        buf_puts(&out, ",\"error\":");
        const char *e = err ? err : "the program failed";
        buf_json_string(&out, e, strlen(e));
      }
      buf_puts(&out, ",\"stats\":");
      engine_stats_json(engine, &out);
      if (cx->journal) buf_printf(&out, ",\"run\":%" PRId64, cx->run->id);
      buf_putc(&out, '}');
    } else if (ok && res.len) {
      buf_put(&out, res.data, res.len);
    }
    if (out.len) {
      /* JSON text: a reply's C1 or bidi control becomes a \u escape, which
       * decodes to the same value; --raw-output keeps the bare result exact */
      if (o->raw_output && !o->json) fwrite(out.data, 1, out.len, stdout);
      else term_write(stdout, out.data, out.len, TERM_JSON);
      fputc('\n', stdout);
    }
    if (engine && !o->quiet && !oc && engine_stats(engine)->calls) {
      fflush(stdout);
      engine_summary(engine, stderr);
    }
    finish_record(cx, ok, res.len ? res.data : NULL, err);
    if (o->record_path) {
      char *cerr = NULL;
      if (!cassette_write(o->record_path, log.collect, file, &cerr)) {
        errorf("%s", cerr ? cerr : "--record: cannot write the cassette");
        free(cerr);
        if (rc == EXIT_OK) rc = EXIT_FAIL;
      }
    }
    if (cx->kind == RUN_REPLAY && o->check) {
      /* ok runs compare results, failed runs their error messages */
      const char *want = cx->recorded_result ? cx->recorded_result : "";
      const char *now = ok ? res.data : err ? err : "the program failed";
      bool was_ok = cx->recorded_status && strcmp(cx->recorded_status, "ok") == 0;
      if (was_ok != ok || strcmp(want, now) != 0) {
        errorf("replay: the result differs from %s's", cx->serve_name);
        term_printf(stderr, "  recorded: %s%s\n  now:      %s%s\n", was_ok ? "" : "failed: ",
                want[0] || !was_ok ? want : "(no result)", ok ? "" : "failed: ", now[0] || !ok ? now : "(no result)");
        rc = EXIT_FAIL;
      } else if (!o->quiet) {
        errorf("replay: the result matches %s's", cx->serve_name);
      }
    }
    buf_free(&out);
    buf_free(&res);
    v_release(&vm->heap, result);
    free(err);
    free(trace);
  }
done:
  for (uint32_t i = 0; i < m->nparams; i++) v_release(&vm->heap, args[i]);
  free(args);
  engine_free(engine);
  free(gen_ctx);
  free(mo);
  vm_free(vm); /* the trace still sees the fibers freed with the VM */
  bool trace_ok = host_free(host);
  grants_free(grants);
  buf_free(&pl.line);
  records_free(log.collect);
  if (!trace_ok && o->trace_path) {
    errorf("--trace: cannot write '%s'", o->trace_path);
    if (rc == EXIT_OK) rc = EXIT_FAIL;
  }
  if (fflush(stdout) != 0 && rc == EXIT_OK) {
    errorf("cannot write output: %s", strerror(errno));
    rc = EXIT_FAIL;
  }
  return rc;
}


void weft_run_outcome_free(weft_run_outcome *oc) {
  if (!oc) return;
  free(oc->result);
  free(oc->error);
  free(oc->error_kind);
  free(oc->error_trace);
  free(oc->failed_at);
  free(oc->stats);
  free(oc->roles);
  free(oc->models);
  memset(oc, 0, sizeof *oc);
}

/* Whether two names are one file (the second may not exist yet). */
static bool same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (strcmp(a, b) == 0) return true;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The flags a resume reuses, as the journal keeps them: a JSON array of
 * "--name=value" strings. */
static char *recorded_json(const RunOpts *o) {
  Buf b;
  buf_init(&b);
  buf_putc(&b, '[');
  for (uint32_t i = 0; i < o->nrecorded; i++) {
    if (i) buf_putc(&b, ',');
    buf_json_string(&b, o->recorded[i], strlen(o->recorded[i]));
  }
  buf_puts(&b, "]");
  buf_putc(&b, '\0');
  return b.data;
}

int weft_tool_run(weft_run_opts *op) {
  RunOpts o = *op;
  int rc;
  if (o.replay_path && o.record_path && same_file(o.replay_path, o.record_path)) {
    errorf("--record and --replay name the same file '%s'", o.record_path);
    return EXIT_USAGE;
  }
  untrusted_defaults(&o);
  Loaded ld;
  weft_compile_opts co = run_compile_opts(&o);
  rc = load_module(o.file, &co, &ld);
  Module *m = ld.mod;
  RunRec run;
  memset(&run, 0, sizeof run);
  RunCtx cx;
  memset(&cx, 0, sizeof cx);
  cx.kind = RUN_NEW;
  cx.run = &run;
  if (rc == EXIT_OK && m->main_fn == NO_INDEX) {
    errorf("%s has no main function", o.file);
    rc = EXIT_USAGE;
  }
  if (rc == EXIT_OK && !check_model_roles(m, &o, o.file)) rc = EXIT_USAGE;
  if (rc == EXIT_OK && o.replay_path) {
    char *err = NULL;
    cx.serve = cassette_read(o.replay_path, &err);
    if (!cx.serve) {
      errorf("%s", err ? err : "--replay: cannot read the cassette");
      free(err);
      rc = EXIT_USAGE;
    }
    Buf name;
    buf_init(&name);
    buf_printf(&name, "cassette %s", o.replay_path);
    buf_putc(&name, '\0');
    cx.serve_name = name.data; /* freed below */
  }
  if (!o.no_journal) cx.journal_flag = o.journal_path ? o.journal_path : "";
  cx.needs = ld.caps;
  cx.budget_given = (op->budget_bits & WEFT_BUDGET_CALLS) != 0;
  if (rc == EXIT_OK) {
    run_rec_init(&run, m, o.file, recorded_json(&o));
    rc = execute(&o, m, o.file, &cx);
  }
  journal_close(cx.journal);
  run_rec_free(&run);
  records_free(cx.serve);
  free((char *)cx.serve_name);
  loaded_free(&ld);
  return rc;
}

/* "run 7: its recorded flags are damaged: ..." with the flag quoted as
 * JSON (it is journal text: no control character reaches the terminal). */
static void damaged_flag(const RunRec *r, const char *flag, const char *why) {
  Buf q;
  buf_init(&q);
  size_t n = strlen(flag);
  buf_json_string(&q, flag, n > 80 ? 80 : n);
  buf_putc(&q, '\0');
  errorf("run %" PRId64 ": its recorded flags are damaged: %s%s %s", r->id, q.data, n > 80 ? "..." : "", why);
  buf_free(&q);
}

/* A run started with --prices or --mock-script needs the file named again
 * (a run records only their names: cli/flags.c). The prices shape the cost charged for every call,
 * answered or not; the script only the calls that go out live, which a
 * replay never makes. */
static bool files_named_again(const RunOpts *o, int64_t id, RunKind kind) {
  const char *cmd = kind == RUN_RESUME ? "resume" : "replay";
  const char *flag = o->had_prices && !o->prices_file                           ? "--prices"
                     : kind == RUN_RESUME && o->had_mock && !o->mock_script ? "--mock-script"
                                                                                   : NULL;
  /* grants are never taken from a journal, which may be planted (a
   * checked-in .weft/journal.db): the run records only that it had some */
  if (!flag && kind == RUN_RESUME && o->had_grants && !o->grants_file && !o->nallow_read &&
      !o->nallow_write && !o->nallow_run && !o->nallow_net && !o->nallow_env) {
    errorf("resume: run %" PRId64 " was started with grants (--allow-read, --allow-write, --allow-run, "
           "--allow-net or --grants); give them again: a resume never takes a grant from the journal", id);
    return false;
  }
  if (!flag) return true;
  errorf("%s: run %" PRId64 " was started with %s; name the file again (%s FILE): a %s never reads "
         "a file named in the journal", cmd, id, flag, flag, cmd);
  return false;
}

static bool ends_with_text(const char *s, const char *tail) {
  size_t n = strlen(s), k = strlen(tail);
  return n > k && strcmp(s + n - k, tail) == 0;
}

/* Why the program path a run recorded may not be opened, or NULL when it
 * may. The path comes from the journal, which may be planted: it must be
 * canonical (realpath gives it back, so no component is a symbolic link:
 * the run recorded it canonical), name a .weft or .weftc file (any other
 * file's lines could be echoed as diagnostics), and be a regular file,
 * opened without following a link and without blocking on a FIFO. The
 * compiler then reads it by the same name. *gone: it does not exist. */
char *recorded_program_unfit(const char *path, bool *gone) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  int err = errno;
  struct stat st;
  char *real = fd >= 0 ? realpath(path, NULL) : NULL;
  Buf why;
  buf_init(&why);
  *gone = fd < 0 && err == ENOENT;
  if (*gone) buf_printf(&why, "%s is gone", path);
  else if (fd < 0 && err == ELOOP) buf_printf(&why, "%s is a symbolic link", path);
  else if (fd < 0) buf_printf(&why, "%s cannot be read: %s", path, strerror(err));
  else if (!real || strcmp(real, path) != 0) buf_printf(&why, "%s is not a canonical path", path);
  else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) buf_printf(&why, "%s is not a regular file", path);
  else if (!ends_with_text(path, ".weft") && !ends_with_text(path, ".weftc"))
    buf_printf(&why, "%s is not a .weft or .weftc file", path);
  free(real);
  if (fd >= 0) close(fd);
  if (!why.len) return NULL;
  buf_putc(&why, '\0');
  return why.data;
}

/* The module a resumed or replayed run executes: --program FILE, else the
 * program file the run recorded as it is now (source or .weftc), else the
 * journal's copy when the file is gone or may not be opened (*why, from
 * recorded_program_unfit, says which; malloc'd). */
#define DO_PLANNER_MAX 256
static const char *do_planner_of(const char *name, char *buf, size_t cap);
static const char *do_planner_of_yes(const char *name, char *buf, size_t cap, bool *yes);
static int do_load(const char *planner, const weft_compile_opts *co, Loaded *ld);

static int run_module(const RunRec *r, const char *program, const weft_compile_opts *co, Loaded *ld,
                      bool *from_journal, char **why) {
  *from_journal = false;
  *why = NULL;
  if (program) return load_module(program, co, ld);
  /* weft do's driver is built again from its planner, never read from a file */
  char pbuf[DO_PLANNER_MAX];
  const char *planner = do_planner_of(r->program, pbuf, sizeof pbuf);
  if (planner) return do_load(planner, co, ld);
  bool gone = false;
  *why = recorded_program_unfit(r->program_path, &gone);
  if (!*why) {
    /* the path the run was started with, when it still names the same file
     * (messages then read as they did) */
    const char *path = r->program_path;
    char *abs = realpath(r->program, NULL);
    if (abs && strcmp(abs, r->program_path) == 0) path = r->program;
    int rc = load_module(path, co, ld);
    free(abs);
    return rc;
  }
  heap_init(&ld->heap, 0);
  src_init(&ld->ss);
  diag_init(&ld->dl);
  ld->mod = NULL;
  if (co->untrusted) {
    /* the copy was compiled from checked source, but the journal is a file
     * like any other: an untrusted run is compiled from source every time */
    errorf("run %" PRId64 " is untrusted and %s: an untrusted run is compiled from its source, never run "
           "from the journal's copy of its module", r->id, *why);
    return EXIT_USAGE;
  }
  char *err = NULL;
  ld->mod = module_load(&ld->heap, r->module, r->module_len, std_native_table(), &err);
  if (!ld->mod) {
    errorf("run %" PRId64 ": the journal's copy of the module does not load: %s", r->id, err ? err : "invalid");
    free(err);
    return EXIT_FAIL;
  }
  *from_journal = true;
  return EXIT_OK;
}

static Records *records_of(Journal *j, int64_t id) {
  char *err = NULL;
  Records *rs = rerun_records(j, id, &err);
  if (!rs) {
    errorf("%s", err ? err : "cannot read the run's effects");
    free(err);
  }
  return rs;
}

/* resume and replay: the journal, the run, its module, records and flags. */

/* ---- resume and replay ----------------------------------------------------- */

struct weft_rerun {
  weft_run_kind kind;
  Journal *j;
  RunRec run;
  Loaded ld;
  bool loaded, from_journal;
  char *unfit;            /* why the recorded program file was not opened */
  cJSON *recorded;        /* the recorded flags (strings point into it) */
  const char **flags;
  size_t nflags;
  int64_t id;
  char name[64];
};

void weft_tool_rerun_free(weft_rerun *x) {
  if (!x) return;
  free(x->unfit);
  if (x->loaded) loaded_free(&x->ld);
  cJSON_Delete(x->recorded);
  free(x->flags);
  run_rec_free(&x->run);
  journal_close(x->j);
  free(x);
}

/* The journal, the run and its lock (resume); its module is loaded by
 * weft_tool_rerun_start, under the recorded flags too (--untrusted). */
weft_rerun *weft_tool_rerun_open(const weft_run_opts *first, weft_run_kind kind, int *rc) {
  const char *cmd = kind == RUN_RESUME ? "resume" : "replay";
  weft_rerun *x = xcalloc(1, sizeof *x);
  x->kind = kind;
  char *err = NULL;
  *rc = EXIT_USAGE;
  if (!first->file) {
    errorf("%s: no run given (usage: weft %s RUN; `weft runs` lists them)", cmd, cmd);
    goto fail;
  }
  if (kind == RUN_RESUME && access(journal_path_or_default(first->journal_path), F_OK) != 0) {
    /* resume writes, but never starts a journal: there is nothing to resume */
    errorf("no journal at %s (runs are journaled by `weft run`; see --journal)",
           journal_path_or_default(first->journal_path));
    goto fail;
  }
  x->j = open_journal(first->journal_path, kind == RUN_RESUME ? JOURNAL_WRITE : JOURNAL_READ);
  if (!x->j || !parse_run_id(x->j, first->file, &x->id)) goto fail;
  snprintf(x->name, sizeof x->name, "run %" PRId64, x->id);
  RerunStep step;
  if (!rerun_load(x->j, x->id, kind, &x->run, &step, &err)) {
    if (step == RERUN_READ) errorf("%s", err ? err : "cannot read the run");
    else if (step == RERUN_FINISHED)
      errorf("resume: %s; `weft replay %" PRId64 "` runs it again offline", err, x->id);
    else errorf("resume: %s", err ? err : "the run is in use");
    goto fail;
  }
  *rc = EXIT_OK;
  free(err);
  return x;
fail:
  free(err);
  weft_tool_rerun_free(x);
  return NULL;
}

bool weft_tool_rerun_flags(weft_rerun *x, const char *const **flags, size_t *n) {
  if (!x->recorded) {
    cJSON *arr = cJSON_Parse(x->run.options ? x->run.options : "[]");
    if (!cJSON_IsArray(arr)) {
      cJSON_Delete(arr);
      errorf("run %" PRId64 ": its recorded flags are unreadable", x->id);
      return false;
    }
    x->recorded = arr;
    x->flags = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *x->flags);
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
      if (!cJSON_IsString(it)) {
        errorf("run %" PRId64 ": its recorded flags are damaged: one is not a string", x->id);
        cJSON_Delete(x->recorded);
        x->recorded = NULL;
        free(x->flags);
        x->flags = NULL;
        x->nflags = 0;
        return false;
      }
      x->flags[x->nflags++] = it->valuestring;
    }
  }
  *flags = x->flags;
  *n = x->nflags;
  return true;
}

void weft_tool_rerun_damaged(const weft_rerun *x, const char *flag, const char *why) {
  damaged_flag(&x->run, flag, why);
}

/* The module a resume or replay runs, under its options o (the recorded
 * flags and the command line's), as run_module says; a resume refuses a
 * program file that changed unless o->force. */
static int rerun_module(weft_rerun *x, const RunOpts *o) {
  const char *cmd = x->kind == RUN_RESUME ? "resume" : "replay";
  weft_compile_opts co = run_compile_opts(o);
  int rc = run_module(&x->run, o->program, &co, &x->ld, &x->from_journal, &x->unfit);
  x->loaded = true;
  if (rc != EXIT_OK) return rc;
  if (x->kind == RUN_RESUME && !x->from_journal) {
    char hash[17];
    if (!rerun_same_module(&x->run, x->ld.mod, hash) && !o->force) {
      errorf("resume: %s has changed since run %" PRId64 " started (module %s in the journal, %s now), "
             "so its recorded effects may not fit the program any more; restore the file, or resume "
             "with --force to run the new program (recorded calls whose address and request still "
             "match are reused)", x->run.program, x->id, x->run.module_hash, hash);
      return EXIT_USAGE;
    }
  }
  if (x->from_journal && !o->quiet)
    errorf("%s: %s; running the module recorded in the journal", cmd, x->unfit ? x->unfit : "the program");
  if (x->ld.mod->main_fn == NO_INDEX) {
    errorf("%s has no main function", x->run.program);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

static const char **models_with(const RunOpts *o, const char *planner, uint32_t *n);

/* The recorded flags are applied (by the caller's flag table) and the
 * command line's own parsed over them: now run. */
int weft_tool_rerun_start(weft_rerun *x, weft_run_opts *op) {
  RunOpts o = *op;
  RunRec *run = &x->run;
  int64_t id = x->id;
  char *err = NULL;
  int rc = EXIT_USAGE;
  Records *rs = NULL;
  /* a do run: untrusted whatever its flags say, its planner allowed */
  char pbuf[DO_PLANNER_MAX];
  bool yes = false;
  const char *planner = do_planner_of_yes(run->program, pbuf, sizeof pbuf, &yes);
  const char **models = NULL;
  DoCtx d = {.resumed = true, .o = &o, .yes = yes, .budget_given = (op->budget_bits & WEFT_BUDGET_CALLS) != 0};
  if (planner) {
    o.untrusted = true;
    o.program = NULL;
  }
  untrusted_defaults(&o);
  if (planner) {
    uint32_t n = 0;
    models = models_with(&o, planner, &n);
    o.allow_models = models;
    o.nallow_models = n;
  }
  if (!files_named_again(&o, id, x->kind)) goto out;
  rc = rerun_module(x, &o);
  if (rc != EXIT_OK) goto out;
  rc = EXIT_USAGE;
  if (!check_model_roles(x->ld.mod, &o, run->program)) goto out;
  rs = records_of(x->j, id);
  if (!rs) goto out;
  RunCtx cx;
  memset(&cx, 0, sizeof cx);
  cx.kind = x->kind;
  cx.input_text = run->inputs;
  cx.run = run;
  cx.serve = rs;
  cx.serve_name = x->name;
  if (x->kind == RUN_RESUME) {
    cx.journal = x->j;
    if (!rerun_mark_resumed(x->j, run, &err)) {
      errorf("%s", err ? err : "cannot write the journal");
      goto out;
    }
    if (!o.quiet)
      errorf("resuming run %" PRId64 " (%zu recorded effect%s; journal %s)", id, records_count(rs),
             records_count(rs) == 1 ? "" : "s", x->j->path);
  } else {
    if (o.check && strcmp(run->status, "ok") != 0 && strcmp(run->status, "failed") != 0) {
      errorf("replay --check: run %" PRId64 " never finished (%s), so there is no result to compare with; "
             "`weft resume %" PRId64 "` finishes it", id, run->status, id);
      goto out;
    }
    cx.recorded_result = run->status[0] == 'o' ? run->result : run->error;
    cx.recorded_status = run->status;
  }
  cx.needs = x->ld.caps;
  cx.budget_given = (op->budget_bits & WEFT_BUDGET_CALLS) != 0;
  if (planner) cx.todo = &d;
  rc = execute(&o, x->ld.mod, run->program, &cx);
  if (d.stopped) rc = d.stopped < 0 ? EXIT_OK : d.stopped;
out:
  free(models);
  free(err);
  records_free(rs);
  return rc;
}


/* ---- weft do --------------------------------------------------------------------
 * The task becomes a run of a small program weft writes itself, the
 * driver: a planner role and one `generate` of the fixed signature, whose
 * function it calls with the task and the input. Everything a run has —
 * the journal, budgets, grants, resume, replay, the trace — is therefore
 * the same for a planned workflow: the program the planner wrote is the
 * generate's record, so a resume links it again and never plans again.
 * The driver is named by its planner ("weft do --planner=P/M"), which is
 * what a resume builds it from. */

#define DO_DEFAULT_PLANNER "anthropic/claude-sonnet-4-5"
#define DO_PROGRAM_PREFIX "weft do --planner="

/* A planner's model as the driver may name it: provider/model in the
 * characters model names use (the text goes into the driver's source). */
static bool planner_spec_ok(const char *s) {
  size_t n = strlen(s);
  if (n < 3 || n > 200 || !strchr(s, '/') || s[0] == '/') return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._:/@-", c)))
      return false;
  }
  return true;
}

static char *do_driver(const char *planner) {
  return xasprintf("// weft do: the planner writes the program; the run calls it.\n"
                   "role planner { model: \"%s\" }\n"
                   "\n"
                   "fn main(task: string, input: json) -> string {\n"
                   "  let program = generate fn(task: string, input: json) -> string by planner task\n"
                   "  return program(task, input)\n"
                   "}\n",
                   planner);
}

/* The planner a do run's recorded program name holds, or NULL when the
 * run is not one; *yes: it was started with --yes, which its resume keeps
 * (the name is "weft do --planner=P/MODEL", then " --yes"). The planner
 * is copied into buf. */
#define DO_YES_SUFFIX " --yes"
static const char *do_planner_of_yes(const char *name, char *buf, size_t cap, bool *yes) {
  size_t k = strlen(DO_PROGRAM_PREFIX);
  *yes = false;
  if (!name || strncmp(name, DO_PROGRAM_PREFIX, k) != 0) return NULL;
  size_t n = strlen(name + k), ys = strlen(DO_YES_SUFFIX);
  if (n > ys && strcmp(name + k + n - ys, DO_YES_SUFFIX) == 0) {
    *yes = true;
    n -= ys;
  }
  if (n >= cap) return NULL;
  memcpy(buf, name + k, n);
  buf[n] = '\0';
  return planner_spec_ok(buf) ? buf : NULL;
}

static const char *do_planner_of(const char *name, char *buf, size_t cap) {
  bool yes;
  return do_planner_of_yes(name, buf, cap, &yes);
}

/* Compiles the driver of planner into ld (diagnostics to stderr). */
static int do_load(const char *planner, const weft_compile_opts *co, Loaded *ld) {
  heap_init(&ld->heap, 0);
  src_init(&ld->ss);
  diag_init(&ld->dl);
  ld->mod = NULL;
  ld->caps = NULL;
  char *src = do_driver(planner);
  char *name = xasprintf("%s%s", DO_PROGRAM_PREFIX, planner);
  weft_compile_opts dco = *co;
  /* the planner's model is the run's to allow: the driver names it */
  const char **models = xcalloc(co->nmodels + 1, sizeof *models);
  for (uint32_t i = 0; i < co->nmodels; i++) models[i] = co->models[i];
  models[co->nmodels] = planner;
  CompileOptions opt = {.untrusted = true, .natives = std_native_table(), .main_text = src,
                        .main_len = strlen(src), .limit_models = true, .models = models,
                        .nmodels = co->nmodels + 1, .max_memory = (size_t)co->max_memory};
  (void)dco;
  ld->mod = compile_file(name, &ld->ss, &ld->dl, &opt, &ld->heap);
  int rc = EXIT_OK;
  if (ld->dl.n) {
    diag_sort(&ld->dl);
    diag_render_text(stderr, &ld->dl, &ld->ss, use_color(co->color));
  }
  if (!ld->mod || ld->dl.errors) rc = EXIT_FAIL;
  free(models);
  free(name);
  free(src);
  return rc;
}

/* The plan of a generated program: its source, its structure, the bound
 * on its model calls, what it may touch, and the run's limits. */
typedef struct Plan { Buf graph, cost; CapScan caps; bool scanned; } Plan;

static void plan_then(Program *p, void *ud) {
  Plan *pl = ud;
  if (!graph_program(p, GRAPH_MERMAID, &pl->graph)) pl->graph.len = 0;
  if (!cost_program(p, false, &pl->cost)) pl->cost.len = 0;
  capscan_program(p, &pl->caps);
  pl->scanned = true;
}

static void do_plan(Buf *out, const DoCtx *d, const char *addr, const char *source) {
  const RunOpts *o = d->o;
  buf_printf(out, "── the program (%s) ──\n", addr);
  buf_puts(out, source);
  if (out->len && out->data[out->len - 1] != '\n') buf_putc(out, '\n');
  GenRules none = {.limit_models = false};
  CompileOptions opt = gen_compile_options(source, strlen(source), &none);
  Plan pl;
  memset(&pl, 0, sizeof pl);
  buf_init(&pl.graph);
  buf_init(&pl.cost);
  SourceSet ss;
  DiagList dl;
  src_init(&ss);
  diag_init(&dl);
  Heap heap;
  heap_init(&heap, 0);
  Module *m = compile_file_then(addr, &ss, &dl, &opt, &heap, plan_then, &pl);
  if (m) module_free(m);
  if (pl.graph.len) {
    buf_puts(out, "── its structure (Mermaid) ──\n");
    buf_put(out, pl.graph.data, pl.graph.len);
    if (out->data[out->len - 1] != '\n') buf_putc(out, '\n');
  }
  buf_puts(out, "── model calls ──\n");
  if (pl.cost.len) {
    buf_put(out, pl.cost.data, pl.cost.len);
    if (out->data[out->len - 1] != '\n') buf_putc(out, '\n');
  } else {
    buf_puts(out, "(no bound could be computed)\n");
  }
  buf_puts(out, "── what it may touch ──\n");
  if (pl.scanned) {
    Buf caps;
    buf_init(&caps);
    caps_render(&pl.caps, addr, false, &caps);
    buf_put(out, caps.data, caps.len);
    buf_free(&caps);
    capscan_free(&pl.caps);
  }
  buf_puts(out, "── the run's limits ──\n");
  if (o->budget_bits & WEFT_BUDGET_CALLS) buf_printf(out, "budget: %" PRId64 " model calls", o->budget_calls);
  if (o->budget_bits & WEFT_BUDGET_TOKENS) buf_printf(out, ", %" PRId64 " tokens", o->budget_tokens);
  if (o->budget_bits & WEFT_BUDGET_USD) buf_printf(out, ", $%.2f", o->budget_usd);
  if (o->budget_bits & WEFT_BUDGET_TIME) buf_printf(out, ", %" PRId64 " s", o->budget_time_ms / 1000);
  buf_puts(out, " (the planner's calls count too); untrusted limits apply\n");
  if (d->budget_given)
    buf_puts(out, "the program's calls are bounded at run time by --budget-calls, not by a static bound\n");
  diag_free(&dl);
  src_free(&ss);
  buf_free(&pl.graph);
  buf_free(&pl.cost);
}

/* The engine's approval hook: the plan is shown (stdout with --plan-only,
 * else stderr, escaped either way), then the person answers on a
 * terminal, or --yes answered; without either nothing runs. */
static bool do_approve(void *ud, const char *addr, const char *source, char **why) {
  DoCtx *d = ud;
  Buf plan;
  buf_init(&plan);
  do_plan(&plan, d, addr, source);
  FILE *to = d->plan_only ? stdout : stderr;
  fflush(stdout);
  term_write(to, plan.data, plan.len, TERM_TEXT);
  fflush(to);
  buf_free(&plan);
  if (d->plan_only) {
    d->stopped = EXIT_OK;
    *why = xstrdup("not run: --plan-only");
    errorf("--plan-only: the plan is above; nothing ran");
    d->stopped = -1; /* exit 0, below */
    return false;
  }
  if (d->yes) return true;
  if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
    *why = xstrdup("not run: no terminal to confirm on and no --yes");
    errorf("not run: there is no terminal to ask on; give --yes to run the program without asking, or "
           "--plan-only to only see it");
    d->stopped = EXIT_USAGE;
    return false;
  }
  fputs("Run this program? [y/N] ", stderr);
  fflush(stderr);
  char line[64];
  bool yes = fgets(line, sizeof line, stdin) && (line[0] == 'y' || line[0] == 'Y');
  if (!yes) {
    *why = xstrdup("not run: the plan was declined");
    errorf("not run: the plan was declined");
    d->stopped = EXIT_FAIL;
  }
  return yes;
}

/* main's `input` from --input: the file's JSON, or its text as a string;
 * the run's inputs {"task": ..., "input": ...} as JSON text. */
static char *do_inputs(const char *task, const char *path, int *rc) {
  Buf b;
  buf_init(&b);
  buf_puts(&b, "{\"task\":");
  buf_json_string(&b, task, strlen(task));
  buf_puts(&b, ",\"input\":");
  if (!path) {
    buf_puts(&b, "null");
  } else {
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text) {
      errorf("--input: cannot read '%s': %s", path, strerror(errno));
      buf_free(&b);
      *rc = EXIT_USAGE;
      return NULL;
    }
    const char *end = NULL;
    cJSON *doc = memchr(text, '\0', len) ? NULL : cJSON_ParseWithOpts(text, &end, 1);
    if (doc) buf_put(&b, text, len);
    else buf_json_string(&b, text, len);
    cJSON_Delete(doc);
    free(text);
  }
  buf_putc(&b, '}');
  buf_putc(&b, '\0');
  return b.data;
}

/* The operator's --models with the planner's model added: the driver's
 * role names it. Owned array, borrowed strings. */
static const char **models_with(const RunOpts *o, const char *planner, uint32_t *n) {
  const char **ms = xcalloc(o->nallow_models + 1, sizeof *ms);
  for (uint32_t i = 0; i < o->nallow_models; i++) ms[i] = o->allow_models[i];
  ms[o->nallow_models] = planner;
  *n = o->nallow_models + 1;
  return ms;
}

int weft_tool_do(weft_run_opts *op, const weft_do_opts *dopt) {
  const char *planner = dopt->planner ? dopt->planner : DO_DEFAULT_PLANNER;
  if (!planner_spec_ok(planner)) {
    errorf("--planner: '%s' is not a model (give provider/model, e.g. anthropic/claude-sonnet-4-5 or mock/planner)",
           planner);
    return EXIT_USAGE;
  }
  if (!dopt->task[0]) {
    errorf("do: the task is empty");
    return EXIT_USAGE;
  }
  RunOpts o = *op;
  o.untrusted = true; /* a generated program is never reviewed before it runs */
  untrusted_defaults(&o);
  uint32_t nmodels = 0;
  const char **models = models_with(&o, planner, &nmodels);
  o.allow_models = models;
  o.nallow_models = nmodels;
  int rc = EXIT_OK;
  char *inputs = do_inputs(dopt->task, op->input, &rc);
  if (!inputs) {
    free(models);
    return rc;
  }
  weft_compile_opts co = run_compile_opts(&o);
  co.models = (const char *const *)o.allow_models;
  co.nmodels = o.nallow_models;
  Loaded ld;
  rc = do_load(planner, &co, &ld);
  char *name = xasprintf("%s%s%s", DO_PROGRAM_PREFIX, planner, op->yes ? DO_YES_SUFFIX : "");
  RunRec run;
  memset(&run, 0, sizeof run);
  RunCtx cx;
  memset(&cx, 0, sizeof cx);
  cx.kind = RUN_NEW;
  cx.run = &run;
  cx.input_text = inputs;
  cx.budget_given = (op->budget_bits & WEFT_BUDGET_CALLS) != 0;
  DoCtx d = {.yes = op->yes, .plan_only = dopt->plan_only, .o = &o,
             .budget_given = (op->budget_bits & WEFT_BUDGET_CALLS) != 0};
  cx.todo = &d;
  if (!o.no_journal) cx.journal_flag = o.journal_path ? o.journal_path : "";
  if (rc == EXIT_OK) {
    run_rec_init(&run, ld.mod, name, recorded_json(&o));
    rc = execute(&o, ld.mod, name, &cx);
    if (d.stopped) rc = d.stopped < 0 ? EXIT_OK : d.stopped;
  }
  journal_close(cx.journal);
  run_rec_free(&run);
  loaded_free(&ld);
  free(name);
  free(inputs);
  free(models);
  return rc;
}
