/* flags.c — the table of the `weft` command's flags, and the parsing and
 * help printing it drives (flags.h says why there is one table). Values
 * are checked here, with the messages docs/cli.md shows; what they mean
 * is the runtime's business (weft_tools.h). */
#include "flags.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- values ------------------------------------------------------------------ */

static void *grow(void *p, uint32_t *cap, uint32_t n, size_t elem) {
  if (n < *cap) return p;
  *cap = *cap ? *cap * 2 : 8;
  void *q = realloc(p, *cap * elem);
  if (!q) {
    fputs("weft: out of memory\n", stderr);
    exit(WEFT_EXIT_FAIL);
  }
  return q;
}

static char *dup_text(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (!d) {
    fputs("weft: out of memory\n", stderr);
    exit(WEFT_EXIT_FAIL);
  }
  return memcpy(d, s, n);
}

static char *dup_text_n(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) {
    fputs("weft: out of memory\n", stderr);
    exit(WEFT_EXIT_FAIL);
  }
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static bool parse_when(const char *flag, const char *s, weft_when *w) {
  if (strcmp(s, "auto") == 0) *w = WEFT_WHEN_AUTO;
  else if (strcmp(s, "always") == 0) *w = WEFT_WHEN_ALWAYS;
  else if (strcmp(s, "never") == 0) *w = WEFT_WHEN_NEVER;
  else {
    weft_tool_error("%s must be auto, always or never, not '%s'", flag, s);
    return false;
  }
  return true;
}

/* A decimal count (no sign, no suffix) of at least 1. */
static bool parse_count(const char *flag, const char *s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (!*s) goto bad;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') goto bad;
    unsigned d = (unsigned)(*p - '0');
    if (v > (max - d) / 10) {
      weft_tool_error("%s: %s is too large", flag, s);
      return false;
    }
    v = v * 10 + d;
  }
  if (v == 0) {
    weft_tool_error("%s must be at least 1", flag);
    return false;
  }
  *out = v;
  return true;
bad:
  weft_tool_error("%s needs a whole number, not '%s'", flag, s);
  return false;
}

/* A byte size: digits, then an optional K, M, G or T (powers of 1024),
 * optionally followed by "B" or "iB": 64M, 1G, 512KiB, 1048576. */
static bool parse_size(const char *flag, const char *s, uint64_t *out) {
  const char *p = s;
  uint64_t v = 0;
  while (*p >= '0' && *p <= '9') {
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) goto big;
    v = v * 10 + d;
    p++;
  }
  if (p == s) goto bad;
  unsigned shift = 0;
  switch (*p) {
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    case 't': case 'T': shift = 40; p++; break;
    default: break;
  }
  if (shift && (*p == 'i' || *p == 'I')) p++;
  if (*p == 'b' || *p == 'B') p++;
  if (*p) goto bad;
  if (shift && v > (UINT64_MAX >> shift)) goto big;
  v <<= shift;
  if (v > SIZE_MAX) goto big;
  if (v == 0) {
    weft_tool_error("%s must be at least 1 byte", flag);
    return false;
  }
  *out = v;
  return true;
bad:
  weft_tool_error("%s needs a size such as 64M, 1G or 1048576, not '%s'", flag, s);
  return false;
big:
  weft_tool_error("%s: %s is too large", flag, s);
  return false;
}

/* A whole number >= 0 (--retries, --repairs: 0 is meaningful). */
static bool parse_small(const char *flag, const char *s, int32_t *out) {
  int64_t v = 0;
  if (!*s) goto bad;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') goto bad;
    v = v * 10 + (*p - '0');
    if (v > 1000) {
      weft_tool_error("%s: %s is too large (at most 1000)", flag, s);
      return false;
    }
  }
  *out = (int32_t)v;
  return true;
bad:
  weft_tool_error("%s needs a whole number, not '%s'", flag, s);
  return false;
}

/* A duration: NUMBER UNIT groups, units ms, s, m, h ("30s", "1m30s"). */
static bool parse_duration_ms(const char *flag, const char *s, int64_t *out) {
  const char *p = s;
  int64_t total = 0;
  if (!*p) goto bad;
  while (*p) {
    int64_t v = 0;
    const char *d = p;
    while (*p >= '0' && *p <= '9') {
      v = v * 10 + (*p - '0');
      if (v > 100000000) goto bad;
      p++;
    }
    if (p == d) goto bad;
    int64_t unit;
    if (strncmp(p, "ms", 2) == 0) { unit = 1; p += 2; }
    else if (*p == 's') { unit = 1000; p++; }
    else if (*p == 'm') { unit = 60000; p++; }
    else if (*p == 'h') { unit = 3600000; p++; }
    else goto bad;
    total += v * unit;
    if (total > (int64_t)1000 * 86400 * 365) goto bad;
  }
  if (total <= 0) {
    weft_tool_error("%s must be longer than 0", flag);
    return false;
  }
  *out = total;
  return true;
bad:
  weft_tool_error("%s needs a duration such as 30s, 2m or 500ms, not '%s'", flag, s);
  return false;
}

/* A budget count: 0 is a budget too (no model call at all). */
static bool parse_budget(const char *flag, const char *s, int64_t *out) {
  uint64_t count = 0;
  if (strcmp(s, "0") != 0 && !parse_count(flag, s, (uint64_t)INT64_MAX, &count)) return false;
  *out = (int64_t)count;
  return true;
}

static bool need_name(const char *flag, const char *v, const char *what) {
  if (v[0]) return true;
  weft_tool_error("%s needs %s", flag, what);
  return false;
}

/* ---- what each flag sets ------------------------------------------------------- */

#define SETTER(fn) static bool fn(Opts *o, const Flag *f, char *v)
#define R (&o->run)

SETTER(set_json) { (void)f; (void)v; R->json = true; o->format = WEFT_CHECK_JSON; return true; }
SETTER(set_cost) { (void)f; (void)v; o->cost = true; return true; }
SETTER(set_caps) { (void)f; (void)v; o->caps = true; return true; }
SETTER(set_fmt_check) { (void)f; (void)v; o->fmt_check = true; return true; }
SETTER(set_fmt_write) { (void)f; (void)v; o->fmt_write = true; return true; }
SETTER(set_mermaid) { (void)f; (void)v; o->mermaid = true; return true; }
SETTER(set_deny_warnings) { (void)f; (void)v; o->deny_warnings = true; return true; }
SETTER(set_format) {
  static const char *const names[] = { "text", "json", "sarif", "github" };
  for (int i = 0; i < 4; i++)
    if (strcmp(v, names[i]) == 0) {
      o->format = i;
      R->json = i == WEFT_CHECK_JSON;
      return true;
    }
  weft_tool_error("%s must be text, json, sarif or github, not '%s'", f->name, v);
  return false;
}
SETTER(set_test_format) {
  static const char *const names[] = { "text", "tap", "junit" };
  for (int i = 0; i < 3; i++)
    if (strcmp(v, names[i]) == 0) {
      o->test_format = i;
      return true;
    }
  weft_tool_error("%s must be text, tap or junit, not '%s'", f->name, v);
  return false;
}
SETTER(set_update) { (void)f; (void)v; o->update = true; return true; }
SETTER(set_color) { (void)v; return parse_when(f->name, v, &R->color); }
SETTER(set_progress) { return parse_when(f->name, v, &R->progress); }
/* --allow-import DIR (also spelled --import-path) must name a directory.
 * Only a command line gives it, never a journal (docs/security.md,
 * "Imports"). */
SETTER(set_import_path) {
  (void)f;
  struct stat st;
  int err = !v[0] ? ENOENT : stat(v, &st) != 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
  if (err) {
    weft_tool_error("%s: cannot use '%s': %s", o->spelling, v, strerror(err));
    return false;
  }
  R->import_paths = grow(R->import_paths, &o->cap_imports, R->nimport_paths, sizeof *R->import_paths);
  R->import_paths[R->nimport_paths++] = v;
  return true;
}
SETTER(set_untrusted) { (void)f; (void)v; R->untrusted = true; return true; }
SETTER(set_untrusted_input) {
  if (!need_name(f->name, v, "the name of a parameter of main")) return false;
  R->untrusted_inputs = grow(R->untrusted_inputs, &o->cap_untrusted_inputs, R->nuntrusted_inputs,
                             sizeof *R->untrusted_inputs);
  R->untrusted_inputs[R->nuntrusted_inputs++] = v;
  return true;
}
/* --allow-read/-write/-run/-net: kept as typed; the run resolves each
 * once, at its start (runtime/grants.c), and refuses what it cannot. */
static bool add_grant(Opts *o, const Flag *f, char *v, int k, const char ***list, uint32_t *n) {
  if (!v[0]) {
    weft_tool_error("%s needs a value", f->name);
    return false;
  }
  *list = grow(*list, &o->cap_grant[k], *n, sizeof **list);
  (*list)[(*n)++] = v;
  return true;
}
SETTER(set_allow_read) { return add_grant(o, f, v, 0, &R->allow_read, &R->nallow_read); }
SETTER(set_allow_write) { return add_grant(o, f, v, 1, &R->allow_write, &R->nallow_write); }
SETTER(set_allow_run) {
  static const char sfx[] = ":trusted";
  size_t n = strlen(v), k = sizeof sfx - 1;
  if (n > k && strcmp(v + n - k, sfx) == 0) {
    R->trusted_programs = grow(R->trusted_programs, &o->cap_trusted_progs, R->ntrusted_programs,
                               sizeof *R->trusted_programs);
    R->trusted_programs[R->ntrusted_programs++] = dup_text_n(v, n - k);
  }
  return add_grant(o, f, v, 2, &R->allow_run, &R->nallow_run);
}
SETTER(set_allow_net) { return add_grant(o, f, v, 3, &R->allow_net, &R->nallow_net); }
SETTER(set_allow_env) { return add_grant(o, f, v, 4, &R->allow_env, &R->nallow_env); }
SETTER(set_allow_read_untrusted) {
  if (!need_name(f->name, v, "a value")) return false;
  R->allow_read_untrusted = grow(R->allow_read_untrusted, &o->cap_read_untrusted, R->nallow_read_untrusted,
                                 sizeof *R->allow_read_untrusted);
  R->allow_read_untrusted[R->nallow_read_untrusted++] = v;
  return true;
}
SETTER(set_allow_trust) { (void)f; (void)v; R->allow_trust = true; return true; }
SETTER(set_grants_file) { (void)f; R->grants_file = v; return true; }
/* --models P/M,P/M,...: each a provider weft knows and a model named in
 * full, or "*" for all of that provider's models. A later --models
 * replaces an earlier one (so a resume's own list wins over the recorded
 * one). The list is cut in place: the text was recorded before. */
SETTER(set_models) {
  R->nallow_models = 0;
  R->limit_models = true;
  for (char *p = v;;) {
    char *comma = strchr(p, ',');
    if (comma) *comma = '\0';
    const char *slash = strchr(p, '/');
    if (!slash || !weft_tool_known_provider(p, (size_t)(slash - p)) || !slash[1] ||
        (strchr(slash + 1, '*') && strcmp(slash + 1, "*") != 0)) {
      weft_tool_error("%s needs PROVIDER/MODEL or PROVIDER/* separated by commas, with PROVIDER "
                      "anthropic, openai or mock, not '%s'", f->name, p);
      return false;
    }
    R->allow_models = grow(R->allow_models, &o->cap_allow, R->nallow_models, sizeof *R->allow_models);
    R->allow_models[R->nallow_models++] = p;
    if (!comma) break;
    p = comma + 1;
  }
  return true;
}
SETTER(set_output) { (void)f; o->out = v; return true; }
SETTER(set_input) { (void)f; R->input = v; return true; }
SETTER(set_arg) {
  (void)f;
  char *eq = strchr(v, '=');
  if (!eq || eq == v) {
    weft_tool_error("--arg needs NAME=VALUE, not '%s'", v);
    return false;
  }
  *eq = '\0'; /* the name is cut out in place: argv strings are writable */
  R->args = grow(R->args, &o->cap_args, R->nargs, sizeof *R->args);
  R->args[R->nargs].name = v;
  R->args[R->nargs++].text = eq + 1;
  return true;
}
SETTER(set_max_instructions) { return parse_count(f->name, v, UINT64_MAX, &R->max_instructions); }
SETTER(set_max_memory) { return parse_size(f->name, v, &R->max_memory); }
SETTER(set_max_call_depth) {
  uint64_t n;
  if (!parse_count(f->name, v, UINT32_MAX, &n)) return false;
  R->max_call_depth = (uint32_t)n;
  return true;
}
SETTER(set_max_fibers) {
  uint64_t n;
  if (!parse_count(f->name, v, UINT32_MAX, &n)) return false;
  R->max_fibers = (uint32_t)n;
  return true;
}
SETTER(set_provider) {
  (void)f;
  if (!weft_tool_known_provider(v, strlen(v))) {
    weft_tool_error("--provider must be mock, anthropic or openai, not '%s'", v);
    return false;
  }
  R->provider = v;
  return true;
}
SETTER(set_model) {
  (void)f;
  char *eq = strchr(v, '=');
  const char *slash = eq ? strchr(eq + 1, '/') : NULL;
  if (!eq || eq == v || !slash || !weft_tool_known_provider(eq + 1, (size_t)(slash - eq - 1)) || !slash[1]) {
    weft_tool_error("--model needs ROLE=PROVIDER/MODEL with PROVIDER anthropic, openai or mock, not '%s'", v);
    return false;
  }
  *eq = '\0';
  R->models = grow(R->models, &o->cap_models, R->nmodels, sizeof *R->models);
  R->models[R->nmodels].name = v;
  R->models[R->nmodels++].text = eq + 1;
  return true;
}
SETTER(set_max_concurrency) {
  uint64_t n;
  if (!parse_count(f->name, v, 1000000, &n)) return false;
  R->max_concurrency = (uint32_t)n;
  return true;
}
SETTER(set_timeout) { return parse_duration_ms(f->name, v, &R->timeout_ms); }
SETTER(set_retries) { return parse_small(f->name, v, &R->retries); }
SETTER(set_repairs) { return parse_small(f->name, v, &R->repairs); }
SETTER(set_budget_calls) {
  R->budget_bits |= WEFT_BUDGET_CALLS;
  return parse_budget(f->name, v, &R->budget_calls);
}
SETTER(set_budget_tokens) {
  R->budget_bits |= WEFT_BUDGET_TOKENS;
  return parse_budget(f->name, v, &R->budget_tokens);
}
SETTER(set_budget_usd) {
  (void)f;
  char *end = NULL;
  R->budget_usd = strtod(v, &end);
  if (!v[0] || !end || *end || !(R->budget_usd >= 0) || isinf(R->budget_usd)) {
    weft_tool_error("--budget-usd needs an amount of dollars such as 0.50, not '%s'", v);
    return false;
  }
  R->budget_bits |= WEFT_BUDGET_USD;
  return true;
}
SETTER(set_budget_time) {
  R->budget_bits |= WEFT_BUDGET_TIME;
  return parse_duration_ms(f->name, v, &R->budget_time_ms);
}
SETTER(set_mock_script) { (void)f; R->mock_script = v; return true; }
SETTER(set_prices) { (void)f; R->prices_file = v; return true; }
SETTER(set_no_stream) { (void)f; (void)v; R->no_stream = true; return true; }
SETTER(set_quiet) { (void)f; (void)v; R->quiet = true; return true; }
SETTER(set_raw_output) { (void)f; (void)v; R->raw_output = true; return true; }
SETTER(set_trace) {
  if (!need_name(f->name, v, "a file name")) return false;
  R->trace_path = v;
  return true;
}
/* The inspection commands read the default journal for an empty PATH;
 * a command that writes one wants a name. */
SETTER(set_journal) {
  if ((o->cmd & CMD_RUNLIKE) && !need_name(f->name, v, "a file name")) return false;
  R->journal_path = v;
  return true;
}
SETTER(set_no_journal) { (void)f; (void)v; R->no_journal = true; return true; }
SETTER(set_record) {
  if (!need_name(f->name, v, "a file name")) return false;
  R->record_path = v;
  return true;
}
SETTER(set_replay) {
  if (!need_name(f->name, v, "a cassette file name")) return false;
  R->replay_path = v;
  return true;
}
SETTER(set_planner) { (void)f; o->todo.planner = v; return true; }
SETTER(set_yes) { (void)f; (void)v; R->yes = true; return true; }
SETTER(set_plan_only) { (void)f; (void)v; o->todo.plan_only = true; return true; }
SETTER(set_save_at) { (void)f; o->save.at = v; return true; }
SETTER(set_save_test) { (void)f; (void)v; o->save.test = true; return true; }
SETTER(set_save_force) { (void)f; (void)v; o->save.force = true; return true; }
SETTER(set_force) { (void)f; (void)v; R->force = true; return true; }
SETTER(set_check) { (void)f; (void)v; R->check = true; return true; }
SETTER(set_program) { (void)f; R->program = v; return true; }
SETTER(set_html) { (void)f; o->html = v; return true; }
SETTER(set_section) { (void)f; o->section = v; return true; }
SETTER(set_list) { (void)f; (void)v; o->list = true; return true; }

/* ---- the table ------------------------------------------------------------------------
 * A flag may have several rows when its help differs between commands
 * (their command sets are disjoint). Rows are in help order. */

#define COMPILING (CMD_RUNLIKE | CMD_BUILD | CMD_DISASM | CMD_GRAPH)
#define READING (CMD_RUNS | CMD_SHOW | CMD_TRACE)

const Flag FLAGS[] = {
    /* check */
    {"--json", NULL, NULL, false, CMD_CHECK, REUSE_NO, SEC_MAIN, set_json,
     "machine-readable diagnostics on stdout (--format=json)"},
    {"--format", NULL, "FORMAT", true, CMD_CHECK, REUSE_NO, SEC_MAIN, set_format,
     "text (default: on stderr), json, sarif (a SARIF 2.1.0\n"
     "log) or github (workflow-command annotations), the\n"
     "last three on stdout"},
    {"--deny-warnings", NULL, NULL, false, CMD_CHECK, REUSE_NO, SEC_MAIN, set_deny_warnings,
     "exit 1 when there are warnings, as for errors"},
    {"--caps", NULL, NULL, false, CMD_CHECK, REUSE_NO, SEC_MAIN, set_caps,
     "print what each FILE can touch: the capability\n"
     "modules it imports and, function by function, the\n"
     "paths, programs and hosts it names, with the flag that\n"
     "grants each; with --json the document gets \"caps\""},
    {"--cost", NULL, NULL, false, CMD_CHECK, REUSE_NO, SEC_MAIN, set_cost,
     "print a static upper bound on main's model calls and\n"
     "output tokens (one FILE; see docs/cli.md); with --json\n"
     "the document gets \"calls\" and \"output_tokens\""},
    {"--color", NULL, "WHEN", true, CMD_CHECK, REUSE_NO, SEC_MAIN, set_color,
     "colour diagnostics: auto (default: when stderr is a\n"
     "terminal and NO_COLOR is unset or empty), always, never"},
    {"--allow-import", "--import-path", "DIR", false, CMD_CHECK, REUSE_NO, SEC_MAIN, set_import_path,
     "also let imports resolve beneath DIR (repeatable); by\n"
     "default an import resolves only beneath the directory\n"
     "of the FILE being checked (with --untrusted: nowhere\n"
     "but std/), to a regular .weft file"},
    {"--untrusted", NULL, NULL, false, CMD_CHECK, REUSE_NO, SEC_MAIN, set_untrusted,
     "check FILE as `weft run --untrusted` takes it\n"
     "(docs/security.md): source only (a .weftc is\n"
     "refused), imports from std/ and --allow-import only,\n"
     "at most 1 MiB of source, and a role whose model\n"
     "--models does not allow is an error (E0621)"},
    {"--untrusted-input", NULL, "NAME", true, CMD_CHECK, REUSE_NO, SEC_MAIN, set_untrusted_input,
     "main's parameter NAME holds untrusted text (repeatable):\n"
     "a flow of it into a parameter that acts (the path of\n"
     "fs.write, what proc.run runs, an HTTP request) is an\n"
     "error (E0650) unless a closed type or trust() is between"},
    {"--models", NULL, "P/M,...", false, CMD_CHECK, REUSE_NO, SEC_MAIN, set_models,
     "the models roles may name: provider/model, or\n"
     "provider/* for all of one provider's; mock models\n"
     "always may (without --models, --untrusted allows\n"
     "mock only)"},
    /* fmt */
    {"--check", NULL, NULL, false, CMD_FMT, REUSE_NO, SEC_MAIN, set_fmt_check,
     "change nothing; print a unified diff for each file\n"
     "that is not formatted, and exit 1 if there is one"},
    {"-w", "--write", NULL, false, CMD_FMT, REUSE_NO, SEC_MAIN, set_fmt_write,
     "rewrite the files in place (not -)"},
    /* graph */
    {"--mermaid", NULL, NULL, false, CMD_GRAPH, REUSE_NO, SEC_MAIN, set_mermaid,
     "a Mermaid flowchart instead of Graphviz DOT"},
    /* build */
    {"-o", "--output", "OUT.weftc", false, CMD_BUILD, REUSE_NO, SEC_MAIN, set_output,
     "the module to write (default: FILE with .weftc)"},
    /* run: inputs */
    {"--input", NULL, "FILE.json", false, CMD_RUN, REUSE_NO, SEC_INPUTS, set_input,
     "a JSON object {\"param\": value, ...} (- reads stdin)"},
    {"--arg", NULL, "NAME=VALUE", false, CMD_RUN, REUSE_NO, SEC_INPUTS, set_arg,
     "one parameter; overrides --input. VALUE is read as\n"
     "JSON when it parses and fits the parameter's type,\n"
     "else as a plain string: --arg name=World,\n"
     "--arg n=3, --arg 'xs=[1,2]'"},
    /* do: the task's input and the planner */
    {"--input", NULL, "FILE", false, CMD_DO, REUSE_NO, SEC_INPUTS, set_input,
     "main's `input`: the file's JSON, or its text as a\n"
     "string when it is not JSON (- reads stdin); without\n"
     "it, input is null"},
    {"--planner", NULL, "P/MODEL", true, CMD_DO, REUSE_NO, SEC_INPUTS, set_planner,
     "the model that writes the program (default\n"
     "anthropic/claude-sonnet-4-5; mock/NAME offline)"},
    {"--yes", NULL, NULL, false, CMD_DO, REUSE_NO, SEC_INPUTS, set_yes,
     "run the program the planner wrote without asking\n"
     "(a weft do run started with it resumes with it)"},
    {"--plan-only", NULL, NULL, false, CMD_DO, REUSE_NO, SEC_INPUTS, set_plan_only,
     "show the plan on stdout and stop: nothing runs"},
    /* run: untrusted programs */
    {"--untrusted", NULL, NULL, false, CMD_RUNLIKE, REUSE_YES, SEC_TRUST, set_untrusted,
     "FILE is a program nobody reviewed: source only (a\n"
     ".weftc is refused), imports from std/ and\n"
     "--allow-import only, at most 1 MiB of source, models\n"
     "from --models only, the lower limits below, and\n"
     "always a budget (--budget-calls 100 and --budget-time\n"
     "10m unless given). A resume or replay of the run is\n"
     "untrusted too"},
    {"--allow-import", "--import-path", "DIR", false, CMD_RUNLIKE, REUSE_NO, SEC_TRUST, set_import_path,
     "also let imports resolve beneath DIR (repeatable;\n"
     "see weft check); never recorded in the journal"},
    {"--allow-read", NULL, "PATH", true, CMD_RUNLIKE, REUSE_NAME, SEC_TRUST, set_allow_read,
     "let std/fs read PATH (a file, or everything beneath a\n"
     "directory; repeatable). Nothing is granted unless\n"
     "given; .env*, .ssh and the journal need naming exactly.\n"
     "A resume takes no grant from the journal: give them again"},
    {"--allow-write", NULL, "PATH", true, CMD_RUNLIKE, REUSE_NAME, SEC_TRUST, set_allow_write,
     "let std/fs write PATH (a file, or beneath a directory;\n"
     "repeatable)"},
    {"--allow-read-untrusted", NULL, "PATH", true, CMD_RUNLIKE, REUSE_NAME, SEC_TRUST, set_allow_read_untrusted,
     "as --allow-read, and what std/fs reads beneath PATH\n"
     "is untrusted content: it may not fill an argument that\n"
     "acts (a path written, a program run, a request sent)"},
    {"--allow-run", NULL, "PROGRAM[:trusted]", true, CMD_RUNLIKE, REUSE_NAME, SEC_TRUST, set_allow_run,
     "let std/proc run PROGRAM (a name found on PATH, or a\n"
     "path; fixed to its absolute path at start; repeatable).\n"
     "Its output is untrusted content unless :trusted"},
    {"--untrusted-input", NULL, "NAME", true, CMD_RUNLIKE, REUSE_YES, SEC_TRUST, set_untrusted_input,
     "main's parameter NAME is untrusted content (repeatable;\n"
     "a closed type such as int or a literal union is not)"},
    {"--allow-trust", NULL, NULL, false, CMD_RUNLIKE, REUSE_NO, SEC_TRUST, set_allow_trust,
     "with --untrusted: let the program's trust(x, \"why\")\n"
     "declassify untrusted content (without it, trust() is\n"
     "recorded but not honoured)"},
    {"--allow-net", NULL, "HOST[:PORT]", true, CMD_RUNLIKE, REUSE_NAME, SEC_TRUST, set_allow_net,
     "let std/http reach HOST (any port, or only PORT;\n"
     "repeatable)"},
    {"--allow-env", NULL, "NAME", true, CMD_RUNLIKE, REUSE_NAME, SEC_TRUST, set_allow_env,
     "pass NAME from weft's environment on to the programs\n"
     "std/proc runs (besides PATH, HOME, LANG, TERM; repeatable)"},
    {"--grants", NULL, "FILE", true, CMD_RUNLIKE, REUSE_NAME, SEC_TRUST, set_grants_file,
     "grants from a JSON file {\"read\": [PATH..], \"write\":\n"
     "[..], \"run\": [..], \"net\": [..], \"read_untrusted\":\n"
     "[..]}, as the flags give them; only ever read when\n"
     "named here"},
    {"--models", NULL, "P/M,...", false, CMD_RUNLIKE, REUSE_YES, SEC_TRUST, set_models,
     "roles may call only these models: provider/model,\n"
     "or provider/* for all of one provider's; mock models\n"
     "always may. Default: any; with --untrusted, mock\n"
     "only. Checked after --provider; a role given a model\n"
     "with --model may call it"},
    /* run: limits */
    {"--max-instructions", NULL, "N", false, CMD_RUNLIKE, REUSE_YES, SEC_LIMITS, set_max_instructions,
     "instructions and builtin work (default 1000000000;\n"
     "--untrusted: 100000000)"},
    {"--max-memory", NULL, "SIZE", false, CMD_RUNLIKE, REUSE_YES, SEC_LIMITS, set_max_memory,
     "heap bytes, also of compiling the program and of\n"
     "calls in flight; suffixes K, M, G (default 1G;\n"
     "--untrusted: 256M)"},
    {"--max-call-depth", NULL, "N", false, CMD_RUNLIKE, REUSE_YES, SEC_LIMITS, set_max_call_depth,
     "nested calls per fiber (default 10000;\n"
     "--untrusted: 1000)"},
    {"--max-fibers", NULL, "N", false, CMD_RUNLIKE, REUSE_YES, SEC_LIMITS, set_max_fibers,
     "live fibers (default 100000; --untrusted: 1000)"},
    {"--color", NULL, "WHEN", true, COMPILING, REUSE_NO, SEC_LIMITS, set_color,
     "colour of compile diagnostics (see weft check)"},
    {"--allow-import", "--import-path", "DIR", false, CMD_BUILD | CMD_DISASM | CMD_GRAPH, REUSE_NO, SEC_LIMITS,
     set_import_path,
     "also let imports resolve beneath DIR (repeatable;\n"
     "see weft check)"},
    /* run: model calls */
    {"--provider", NULL, "NAME", false, CMD_RUNLIKE, REUSE_YES, SEC_MODEL, set_provider,
     "send every role to NAME: mock (offline,\n"
     "deterministic), or anthropic/openai (keeps the\n"
     "model name; for testing)"},
    {"--model", NULL, "ROLE=P/MODEL", false, CMD_RUNLIKE, REUSE_YES, SEC_MODEL, set_model,
     "use provider P and MODEL for ROLE (repeatable):\n"
     "--model writer=openai/llama3.1"},
    {"--max-concurrency", NULL, "N", false, CMD_RUNLIKE, REUSE_YES, SEC_MODEL, set_max_concurrency,
     "model calls in flight at once (default 64)"},
    {"--timeout", NULL, "DURATION", false, CMD_RUNLIKE, REUSE_YES, SEC_MODEL, set_timeout,
     "per attempt, e.g. 30s, 2m, 500ms (default 10m)"},
    {"--retries", NULL, "N", false, CMD_RUNLIKE, REUSE_YES, SEC_MODEL, set_retries,
     "transport retries per call (default 2)"},
    {"--repairs", NULL, "N", false, CMD_RUNLIKE, REUSE_YES, SEC_MODEL, set_repairs,
     "re-asks after a reply that does not fit the type\n"
     "(default 2)\n"
     "these three are ceilings: a role's own setting\n"
     "can lower them, never raise them"},
    {"--mock-script", NULL, "FILE", false, CMD_RUNLIKE, REUSE_NAME, SEC_MODEL, set_mock_script,
     "canned replies, failures and delays for mock calls (docs/testing.md)"},
    {"--prices", NULL, "FILE", false, CMD_RUNLIKE, REUSE_NAME, SEC_MODEL, set_prices,
     "USD per million tokens by provider/model prefix\n"
     "(needed for unpriced models under a dollar budget)"},
    {"--no-stream", NULL, NULL, false, CMD_RUNLIKE, REUSE_YES, SEC_MODEL, set_no_stream,
     "plain JSON responses instead of streams"},
    {"--budget-calls", NULL, "N", false, CMD_RUNLIKE, REUSE_YES, SEC_MODEL, set_budget_calls,
     "at most N model requests for the whole run\n"
     "(every attempt counts: retries and repairs too;\n"
     "--untrusted: 100 when not given)"},
    {"--budget-tokens", NULL, "N", false, CMD_RUNLIKE, REUSE_YES, SEC_MODEL, set_budget_tokens,
     "at most N tokens; each request reserves its\n"
     "estimated input and max_tokens before it is sent"},
    {"--budget-usd", NULL, "X", false, CMD_RUNLIKE, REUSE_YES, SEC_MODEL, set_budget_usd,
     "at most X dollars, reserved like tokens; every\n"
     "model must have a price (see --prices)"},
    {"--budget-time", NULL, "DURATION", false, CMD_RUNLIKE, REUSE_YES, SEC_MODEL, set_budget_time,
     "stop the run DURATION after the start, sleeping\n"
     "or not (--untrusted: 10m when not given)"},
    {"--quiet", NULL, NULL, false, CMD_RUNLIKE, REUSE_NO, SEC_MODEL, set_quiet,
     "no summary of model calls (and no progress line)\n"
     "on stderr"},
    {"--raw-output", NULL, NULL, false, CMD_RUNLIKE, REUSE_NO, SEC_MODEL, set_raw_output,
     "print and the result of main write their exact\n"
     "bytes on stdout (default: control and bidi\n"
     "characters escaped, as in all output)"},
    {"--trace", NULL, "FILE.jsonl", false, CMD_RUNLIKE, REUSE_NO, SEC_MODEL, set_trace,
     "write every effect (asks, sleeps, fibers,\n"
     "barriers) as JSON lines, with effect addresses"},
    {"--progress", NULL, "WHEN", true, CMD_RUNLIKE, REUSE_NO, SEC_MODEL, set_progress,
     "live progress line on stderr: auto (when stderr\n"
     "is a terminal; default), always, never"},
    {"--json", NULL, NULL, false, CMD_RUNLIKE, REUSE_NO, SEC_MODEL, set_json,
     "print {\"result\": ..., \"run\": ID, \"stats\": {...}}\n"
     "instead of the bare result"},
    /* durable runs */
    {"--journal", NULL, "PATH", false, CMD_RUN | CMD_DO, REUSE_NO, SEC_DURABLE, set_journal,
     "the journal to record the run in (default:\n"
     "$WEFT_JOURNAL, else .weft/journal.db under the\n"
     "working directory)"},
    {"--journal", NULL, "PATH", false, CMD_RESUME | CMD_REPLAY, REUSE_NO, SEC_DURABLE, set_journal,
     "the journal (default: $WEFT_JOURNAL, else\n"
     ".weft/journal.db)"},
    {"--no-journal", NULL, NULL, false, CMD_RUN | CMD_DO, REUSE_NO, SEC_DURABLE, set_no_journal,
     "do not record the run (it cannot be resumed)"},
    {"--record", NULL, "FILE", false, CMD_RUN | CMD_RESUME | CMD_DO, REUSE_NO, SEC_DURABLE, set_record,
     "also write the run's effects to a cassette FILE"},
    {"--replay", NULL, "FILE", false, CMD_RUN, REUSE_NO, SEC_DURABLE, set_replay,
     "answer every model call from cassette FILE,\n"
     "offline; a call it has no record of fails the run"},
    {"--force", NULL, NULL, false, CMD_RESUME, REUSE_NO, SEC_DURABLE, set_force,
     "resume even though the program file changed since\n"
     "the run started (refused otherwise): recorded calls\n"
     "whose address and request still match are reused,\n"
     "the rest run live"},
    {"--check", NULL, NULL, false, CMD_REPLAY, REUSE_NO, SEC_DURABLE, set_check,
     "compare the result with the recorded one: exit 1\n"
     "and both results on stderr when they differ"},
    {"--program", NULL, "FILE", false, CMD_REPLAY, REUSE_NO, SEC_DURABLE, set_program,
     "replay this program instead of the recorded file"},
    /* save */
    {"--journal", NULL, "PATH", false, CMD_SAVE, REUSE_NO, SEC_MAIN, set_journal,
     "the journal to read (default: $WEFT_JOURNAL, else\n"
     ".weft/journal.db)"},
    {"--at", NULL, "ADDRESS", false, CMD_SAVE, REUSE_NO, SEC_MAIN, set_save_at,
     "the program generated at this address (default:\n"
     "the run's first, main/generate#1 for weft do)"},
    {"--test", NULL, NULL, false, CMD_SAVE, REUSE_NO, SEC_MAIN, set_save_test,
     "also write FILE.test.json and FILE.cassette.json:\n"
     "a weft test case of the run (weft do runs)"},
    {"--force", NULL, NULL, false, CMD_SAVE, REUSE_NO, SEC_MAIN, set_save_force,
     "overwrite files that exist"},
    /* reading the journal */
    {"--journal", NULL, "PATH", false, READING, REUSE_NO, SEC_MAIN, set_journal,
     "the journal to read (default: $WEFT_JOURNAL, else\n"
     ".weft/journal.db)"},
    {"--json", NULL, NULL, false, CMD_RUNS, REUSE_NO, SEC_MAIN, set_json,
     "an array of run objects (docs/cli.md)"},
    {"--json", NULL, NULL, false, CMD_SHOW, REUSE_NO, SEC_MAIN, set_json,
     "{\"run\": {...}, \"tree\": {...}} (docs/cli.md)"},
    {"--html", NULL, "OUT.html", false, CMD_TRACE, REUSE_NO, SEC_MAIN, set_html,
     "write the timeline page (- writes it to stdout)"},
    /* test */
    {"--format", NULL, "FORMAT", true, CMD_TEST, REUSE_NO, SEC_MAIN, set_test_format,
     "text (default: a line per test, then the failures and\n"
     "a summary), tap (TAP version 13) or junit (JUnit XML)"},
    {"--update", NULL, NULL, false, CMD_TEST, REUSE_NO, SEC_MAIN, set_update,
     "re-record each cassette against the real providers and\n"
     "rewrite each expected \"result\" with the actual one"},
    {"--quiet", NULL, NULL, false, CMD_TEST, REUSE_NO, SEC_MAIN, set_quiet,
     "text format: only the failed tests and the summary"},
    /* guide */
    {"--section", NULL, "NAME", false, CMD_GUIDE, REUSE_NO, SEC_MAIN, set_section,
     "print only the section NAME (--list shows the names)"},
    {"--list", NULL, NULL, false, CMD_GUIDE, REUSE_NO, SEC_MAIN, set_list,
     "print the section names and titles"},
    {"--json", NULL, NULL, false, CMD_GUIDE, REUSE_NO, SEC_MAIN, set_json,
     "{\"sections\": [{\"name\", \"title\", \"text\"}]} (with --list: no text)"},
};
const unsigned NFLAGS = sizeof FLAGS / sizeof FLAGS[0];

/* ---- parsing ------------------------------------------------------------------------ */

const char *cmd_name(Cmd cmd) {
  static const char *const names[] = {"check", "run", "build", "disasm", "resume",
                                      "replay", "runs", "show", "trace", "graph", "fmt", "test", "guide"};
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
    if (cmd == (Cmd)(1u << i)) return names[i];
  return "weft";
}

void opts_init(Opts *o, Cmd cmd, int argc) {
  memset(o, 0, sizeof *o);
  o->cmd = cmd;
  o->run.retries = -1;
  o->run.repairs = -1;
  o->pos = calloc((size_t)argc + 1, sizeof *o->pos);
  if (!o->pos) {
    fputs("weft: out of memory\n", stderr);
    exit(WEFT_EXIT_FAIL);
  }
}

void opts_free(Opts *o) {
  free(o->pos);
  free(o->run.args);
  free(o->run.models);
  free(o->run.import_paths);
  free(o->run.untrusted_inputs);
  free(o->run.allow_models);
  free(o->run.allow_read);
  free(o->run.allow_write);
  free(o->run.allow_run);
  free(o->run.allow_env);
  free(o->run.allow_net);
  free(o->run.allow_read_untrusted);
  for (uint32_t i = 0; i < o->run.ntrusted_programs; i++) free(o->run.trusted_programs[i]);
  free(o->run.trusted_programs);
  for (uint32_t i = 0; i < o->run.nrecorded; i++) free(o->run.recorded[i]);
  free(o->run.recorded);
}

/* "--name=value" (or "--name"), for the journal. */
static void record(Opts *o, const Flag *f, const char *v) {
  size_t n = strlen(f->name) + (v ? strlen(v) + 1 : 0) + 1;
  char *t = malloc(n);
  if (!t) {
    fputs("weft: out of memory\n", stderr);
    exit(WEFT_EXIT_FAIL);
  }
  if (v) snprintf(t, n, "%s=%s", f->name, v);
  else snprintf(t, n, "%s", f->name);
  o->run.recorded = grow(o->run.recorded, &o->cap_recorded, o->run.nrecorded, sizeof *o->run.recorded);
  o->run.recorded[o->run.nrecorded++] = t;
}

/* The row of flag text a ("--name" or "--name=value") for cmd; *namelen:
 * the length of the spelling matched, *spelling: that spelling. */
static const Flag *lookup(const char *a, Cmd cmd, size_t *namelen, const char **spelling) {
  for (unsigned k = 0; k < NFLAGS; k++) {
    const Flag *f = &FLAGS[k];
    if (!(f->commands & cmd)) continue;
    for (int alias = 0; alias < 2; alias++) {
      const char *name = alias ? f->alias : f->name;
      if (!name) continue;
      size_t n = strlen(name);
      if (strncmp(a, name, n) != 0) continue;
      if (a[n] == '\0' || (a[n] == '=' && f->value)) {
        *namelen = n;
        *spelling = name;
        return f;
      }
    }
  }
  return NULL;
}

int flags_parse(Opts *o, int argc, char **argv, int first, bool recorded) {
  const char *cmd = cmd_name(o->cmd);
  for (int i = first; i < argc; i++) {
    char *a = argv[i], *v = NULL;
    size_t n = 0;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      o->help = true;
      return WEFT_EXIT_OK;
    }
    const char *spelling = NULL;
    const Flag *f = a[0] == '-' && a[1] != '\0' ? lookup(a, o->cmd, &n, &spelling) : NULL;
    if (!f && a[0] == '-' && a[1] != '\0') {
      weft_tool_error("%s: unknown flag '%s' (see 'weft help %s')", cmd, a, cmd);
      return WEFT_EXIT_USAGE;
    }
    if (!f) {
      o->pos[o->npos++] = a;
      continue;
    }
    if (f->value) {
      if (a[n] == '=') {
        v = a + n + 1;
      } else if (i + 1 >= argc) {
        weft_tool_error("%s needs a value", f->name);
        return WEFT_EXIT_USAGE;
      } else {
        v = argv[++i];
      }
    }
    if (!recorded && f->reuse == REUSE_YES) record(o, f, v);
    if (!recorded && f->reuse == REUSE_NAME) record(o, f, NULL);
    o->spelling = spelling;
    if (!f->set(o, f, v)) return WEFT_EXIT_USAGE;
  }
  return WEFT_EXIT_OK;
}

int flags_apply_recorded(Opts *o, weft_rerun *r) {
  const char *const *flags = NULL;
  size_t n = 0;
  if (!weft_tool_rerun_flags(r, &flags, &n)) return WEFT_EXIT_USAGE;
  for (size_t i = 0; i < n; i++) {
    size_t len = 0;
    const char *spelling = NULL;
    const Flag *f = lookup(flags[i], o->cmd, &len, &spelling);
    if (f && f->reuse == REUSE_NAME) {
      /* the name only (older journals hold the path, which is ignored) */
      if (f->set == set_prices) o->run.had_prices = true;
      else if (f->set == set_grants_file || f->set == set_allow_read || f->set == set_allow_write ||
               f->set == set_allow_run || f->set == set_allow_net || f->set == set_allow_env ||
               f->set == set_allow_read_untrusted)
        o->run.had_grants = true;
      else o->run.had_mock = true;
      continue;
    }
    if (!f || f->reuse != REUSE_YES) {
      weft_tool_rerun_damaged(r, flags[i],
                              "is not a flag a run records (a resume or replay never takes a file or an "
                              "output from the journal)");
      return WEFT_EXIT_USAGE;
    }
    /* parsing cuts values in place: parse a copy, kept with the options */
    char *copy = dup_text(flags[i]);
    o->run.recorded = grow(o->run.recorded, &o->cap_recorded, o->run.nrecorded, sizeof *o->run.recorded);
    o->run.recorded[o->run.nrecorded++] = copy;
    if (flags_parse(o, 1, &copy, 0, true) != WEFT_EXIT_OK) {
      weft_tool_rerun_damaged(r, flags[i], "does not parse");
      return WEFT_EXIT_USAGE;
    }
  }
  return WEFT_EXIT_OK;
}

/* ---- help ------------------------------------------------------------------------------ */

void flags_help(FILE *out, Cmd cmd, Section sec) {
  for (unsigned k = 0; k < NFLAGS; k++) {
    const Flag *f = &FLAGS[k];
    if (!(f->commands & cmd) || f->section != sec) continue;
    char syn[64];
    snprintf(syn, sizeof syn, "%s%s%s%s%s", f->name, f->alias ? ", " : "", f->alias ? f->alias : "",
             f->value ? (f->eq_form ? "=" : " ") : "", f->value ? f->value : "");
    const char *h = f->help;
    bool first = true;
    if (strlen(syn) > 22) {
      fprintf(out, "  %s\n", syn);
      first = false;
    }
    while (*h) {
      size_t len = strcspn(h, "\n");
      fprintf(out, "  %-22s %.*s\n", first ? syn : "", (int)len, h);
      first = false;
      h += len;
      if (*h) h++;
    }
  }
}
