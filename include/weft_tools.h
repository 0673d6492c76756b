/* weft_tools.h — the unstable API of the project's own tools (the `weft`
 * command, and later the language server): what a tool needs beyond
 * weft.h. Each call does one command's work the way `weft` shows it:
 * diagnostics rendered, messages ("weft: ...", escaped) on stderr, output
 * on stdout, and the command's exit code returned (WEFT_EXIT_*). Nothing
 * here is stable: a tool built against one version of this header is
 * rebuilt with the next. Every call runs on the calling thread; none may
 * run on two threads at once (they share stdout and stderr). */
#ifndef WEFT_TOOLS_H
#define WEFT_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "weft.h"

/* The exit codes of every command (docs/cli.md). */
enum { WEFT_EXIT_OK = 0, WEFT_EXIT_FAIL = 1, WEFT_EXIT_USAGE = 2 };

/* auto / always / never: --color and --progress. */
typedef enum weft_when { WEFT_WHEN_AUTO, WEFT_WHEN_ALWAYS, WEFT_WHEN_NEVER } weft_when;

/* "weft: MESSAGE\n" on stderr, in one write, with control and bidi
 * characters of the formatted text escaped (docs/cli.md, "Escaped
 * output"). */
void weft_tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether name[0..len) names a provider (anthropic, openai, mock, ...). */
bool weft_tool_known_provider(const char *name, size_t len);

/* The journal a command uses: flag (--journal) when non-empty, else
 * $WEFT_JOURNAL, else .weft/journal.db. Borrowed. */
const char *weft_tool_journal_path(const char *flag);

/* ---- untrusted programs ------------------------------------------------------- */

/* What `--untrusted` gives a program nobody reviewed (docs/security.md,
 * "Untrusted programs"): source only, imports from std/ and the
 * --allow-import directories only, at most this much source for the whole
 * program, and these limits and budgets wherever the operator gives none
 * (the operator's own flags win). */
#define WEFT_UNTRUSTED_MAX_SOURCE_BYTES ((size_t)1 << 20)
#define WEFT_UNTRUSTED_MAX_INSTRUCTIONS 100000000u
#define WEFT_UNTRUSTED_MAX_MEMORY ((uint64_t)256 << 20)
#define WEFT_UNTRUSTED_MAX_CALL_DEPTH 1000u
#define WEFT_UNTRUSTED_MAX_FIBERS 1000u
#define WEFT_UNTRUSTED_BUDGET_CALLS 100
#define WEFT_UNTRUSTED_BUDGET_TIME_MS ((int64_t)10 * 60 * 1000)

/* ---- compiling commands -------------------------------------------------- */

/* Options of check, build and disasm. import_paths: the --allow-import
 * directories (borrowed). untrusted: --untrusted (check only). models:
 * the --models list ("provider/model", or a provider and "*"), used when
 * limit_models (--models given, or untrusted). */
typedef struct weft_compile_opts {
  weft_when color;
  const char *const *import_paths;
  uint32_t nimport_paths;
  bool untrusted, limit_models;
  const char *const *models;
  uint32_t nmodels;
  uint64_t max_memory;   /* the compiler's memory limit (--max-memory); 0: none */
  /* Untrusted content: main's parameters named untrusted (--untrusted-input)
   * and the programs whose output is trusted (--allow-run=PROG:trusted). */
  const char *const *untrusted_inputs;
  uint32_t nuntrusted_inputs;
  const char *const *trusted_programs;
  uint32_t ntrusted_programs;
} weft_compile_opts;

/* How weft check reports: text on stderr, or on stdout one JSON document,
 * one SARIF 2.1.0 log, or GitHub workflow-command annotations. */
typedef enum { WEFT_CHECK_TEXT, WEFT_CHECK_JSON, WEFT_CHECK_SARIF, WEFT_CHECK_GITHUB } weft_check_format;
typedef struct weft_check_opts {
  weft_check_format format;
  bool cost;           /* also the static bound of the (one) file */
  bool deny_warnings;  /* exit 1 when there are warnings */
  bool caps;           /* also what each file can touch: its capability modules and calls */
} weft_check_opts;

/* weft check FILE...: diagnostics as ck->format says. */
int weft_tool_check(const char *const *files, int nfiles, const weft_check_opts *ck, const weft_compile_opts *o);
/* weft graph FILE: the workflow's structure on stdout, as Graphviz DOT or
 * (mermaid) a Mermaid flowchart; compile errors as weft check prints them. */
int weft_tool_graph(const char *file, bool mermaid, const weft_compile_opts *o);
/* weft fmt: each file ("-": stdin to stdout) in the canonical layout.
 * write: rewrite the files in place; check: change nothing, print a
 * unified diff for each file not formatted and return 1. A file that does
 * not parse is left alone, with its diagnostics (exit 1). */
int weft_tool_fmt(const char *const *files, int nfiles, bool write, bool check);
/* weft build FILE [-o OUT]: out NULL writes FILE with .weftc. */
int weft_tool_build(const char *file, const char *out, const weft_compile_opts *o);
/* weft disasm FILE: the listing on stdout, escaped. */
int weft_tool_disasm(const char *file, const weft_compile_opts *o);

/* ---- run, resume, replay ----------------------------------------------------- */

typedef enum weft_run_kind { WEFT_RUN_NEW, WEFT_RUN_RESUME, WEFT_RUN_REPLAY } weft_run_kind;

/* The global budget's parts (--budget-*), as bits of budget_bits. */
enum { WEFT_BUDGET_CALLS = 1, WEFT_BUDGET_TOKENS = 2, WEFT_BUDGET_USD = 4, WEFT_BUDGET_TIME = 8 };

typedef struct weft_pair { const char *name, *text; } weft_pair;

/* What one run of main came to, for a caller that judges it rather than
 * printing it (`weft test`): with weft_run_opts.outcome set, the result is
 * not printed, nor the error and its trace, nor the summary; everything
 * else (diagnostics, messages about inputs) still goes to stderr. Strings
 * malloc'd, freed by weft_run_outcome_free. */
typedef struct weft_run_outcome {
  bool ran;                 /* main started (the program loaded, its inputs were valid) */
  bool ok;                  /* and returned */
  char *result;             /* ok: main's result as compact JSON; NULL: main returns nothing */
  char *error, *error_kind; /* failed: the message and its kind ("error", "budget", "timeout", ...) */
  char *error_trace;        /* failed: the stack trace, "  at fn (file:line:col)" lines */
  char *failed_at;          /* the effect address of the last ask that failed ("main/ask#3"); NULL: none */
  char *stats;              /* the run's stats as `weft run --json` gives them */
  char *roles, *models;     /* calls by role and by "provider/model", JSON objects: {"reviewer":2} */
} weft_run_outcome;
void weft_run_outcome_free(weft_run_outcome *oc);

/* Everything a run is told by its command line (all strings borrowed from
 * the caller, who owns the arrays). Zero means "the default" for limits,
 * max_concurrency and timeout_ms; -1 for retries and repairs. recorded are
 * the flags a resume or replay applies again ("--name=value"), which the
 * journal keeps: the caller's flag table decides which they are. */
typedef struct weft_run_opts {
  const char *file;             /* run: the program; resume/replay: the RUN id as typed */
  const char *input;            /* --input FILE ("-": stdin) */
  weft_pair *args; uint32_t nargs;        /* --arg NAME=VALUE */
  weft_pair *models; uint32_t nmodels;    /* --model ROLE=PROVIDER/MODEL */
  const char **import_paths; uint32_t nimport_paths;   /* --allow-import DIR */
  bool untrusted;               /* --untrusted */
  const char **untrusted_inputs; uint32_t nuntrusted_inputs; /* --untrusted-input NAME */
  bool limit_models;            /* --models given (or untrusted): roles may call only these */
  const char **allow_models; uint32_t nallow_models;      /* --models P/M,... */
  uint64_t max_instructions, max_memory;
  uint32_t max_call_depth, max_fibers;
  const char *provider;
  uint32_t max_concurrency;
  int64_t timeout_ms;
  int32_t retries, repairs;
  bool no_stream;
  const char *mock_script, *prices_file;
  uint32_t budget_bits;
  int64_t budget_calls, budget_tokens, budget_time_ms;
  double budget_usd;
  weft_when color, progress;
  bool json, quiet, no_journal, force, check, raw_output;
  const char *trace_path, *journal_path, *record_path, *replay_path, *program;
  char **recorded; uint32_t nrecorded;
  bool had_prices, had_mock;    /* resume/replay: the run was started with these files */
  bool mock_strict;             /* an ask no --mock-script entry fits fails instead of being generated */
  weft_run_outcome *outcome;    /* non-NULL: filled instead of printing the result (above) */
  /* Grants of host capabilities (docs/capabilities.md): nothing unless given.
   * --allow-read=PATH, --allow-write=PATH, --allow-run=PROGRAM,
   * --allow-net=HOST[:PORT] (each repeatable), --grants=FILE. */
  const char **allow_read; uint32_t nallow_read;
  const char **allow_write; uint32_t nallow_write;
  const char **allow_run; uint32_t nallow_run;
  const char **allow_net; uint32_t nallow_net;
  const char **allow_env; uint32_t nallow_env;   /* --allow-env=NAME: passed on to child processes */
  const char *grants_file;
  bool had_grants;              /* resume/replay: the run was started with grants (--allow-*, --grants) */
  /* Untrusted content (docs/security.md, "Untrusted content: sources, sinks
   * and the journal"): --allow-read-untrusted=PATH (a read grant whose
   * results are labelled), --allow-trust (trust() declassifies under
   * --untrusted too). */
  const char **allow_read_untrusted; uint32_t nallow_read_untrusted;
  bool allow_trust;
  bool yes;                     /* weft do and its resume: run the planner's program without asking */
  /* the PROG of each --allow-run=PROG:trusted (owned copies), for the
   * checker: their output is not untrusted */
  char **trusted_programs; uint32_t ntrusted_programs;
} weft_run_opts;

/* weft run: compiles or loads o->file, runs main, prints its result. */
int weft_tool_run(weft_run_opts *o);

/* A recorded run opened for a resume or replay: its journal, record,
 * lock (resume) and module. */
typedef struct weft_rerun weft_rerun;
/* Opens what `first` (the command line, parsed once) names; NULL with
 * *rc set (after a message) when it cannot. */
weft_rerun *weft_tool_rerun_open(const weft_run_opts *first, weft_run_kind kind, int *rc);
/* The run's recorded flags, in order; false after a message when the
 * record is unreadable. *flags stays owned by r. */
bool weft_tool_rerun_flags(weft_rerun *r, const char *const **flags, size_t *n);
/* "run N: its recorded flags are damaged: "FLAG" WHY" on stderr. */
void weft_tool_rerun_damaged(const weft_rerun *r, const char *flag, const char *why);
/* Runs it under o (the recorded flags, then the command line's). */
int weft_tool_rerun_start(weft_rerun *r, weft_run_opts *o);
void weft_tool_rerun_free(weft_rerun *r);

/* ---- weft test ---------------------------------------------------------------- */

typedef enum weft_test_format { WEFT_TEST_TEXT, WEFT_TEST_TAP, WEFT_TEST_JUNIT } weft_test_format;
typedef struct weft_test_opts {
  weft_test_format format;
  bool update;      /* re-record cassettes, rewrite expected results (docs/testing.md) */
  bool quiet;       /* text: the failures and the summary only */
} weft_test_opts;
/* weft test: runs the tests of the *.test.json files given (docs/testing.md,
 * "Testing workflows with weft test"); the report on stdout. 0 all pass,
 * 1 a test failed, 2 a test file is unreadable or malformed (then nothing runs). */
int weft_tool_test(const char *const *files, int nfiles, const weft_test_opts *o);

/* ---- read views of runs (the journal, read-only) ---------------------------- */

/* weft runs: the table, or (json) an array of run objects. */
int weft_tool_runs(const char *journal, bool json);
/* weft show RUN: the run's header and tree of fibers and effects. */
int weft_tool_show(const char *journal, const char *run, bool json);
/* weft trace RUN: its events as JSON lines, or (html non-NULL) the
 * timeline page written to html ("-": stdout). */
int weft_tool_trace(const char *journal, const char *run, const char *html);

/* ---- weft do ------------------------------------------------------------------- */

/* weft do "TASK": a planner model writes a program `fn main(task: string,
 * input: json) -> string` for the task (docs/cli.md, "weft do"); it is
 * compiled untrusted and repaired from its diagnostics, its plan shown,
 * and, once approved, run under o (always --untrusted; o->input is the
 * file whose JSON, or text, is main's `input`). */
typedef struct weft_do_opts {
  const char *task;
  const char *planner;  /* "provider/model"; NULL: the default planner */
  bool plan_only;       /* show the plan (stdout) and stop */
} weft_do_opts;
int weft_tool_do(weft_run_opts *o, const weft_do_opts *d);

/* weft save RUN FILE.weft: the program a model wrote in run RUN (its
 * first `generate`, or the one at `at`) written to FILE as a template;
 * with test, also FILE.test.json and FILE.cassette.json, a `weft test`
 * case of the run (a `weft do` run only). force: overwrite. */
typedef struct weft_save_opts {
  const char *at;
  bool test, force;
} weft_save_opts;
int weft_tool_save(const char *journal, const char *run, const char *file, const weft_save_opts *o);

/* ---- weft guide ---------------------------------------------------------------- */

/* weft guide: the reference written for models (docs/cli.md, "weft
 * guide"). section: print only the section of that name (NULL: all; an
 * unknown name is WEFT_EXIT_USAGE); list: the section names and titles;
 * json: {"sections":[{"name","title","text"}]} (no text with list). */
typedef struct weft_guide_opts {
  const char *section;
  bool list, json;
} weft_guide_opts;
int weft_tool_guide(const weft_guide_opts *o);

#endif
