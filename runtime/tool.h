/* tool.h — what the files behind weft_tools.h share (runtime/program.c,
 * runtime/session.c, runtime/views.c, runtime/html.c): exit codes, the message helper, the
 * journal a command uses, the journal of a run (which runtime/api.c shares)
 * and the read views of a run's events. */
#ifndef WEFT_RUNTIME_TOOL_H
#define WEFT_RUNTIME_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../include/weft_tools.h"
#include "journal.h"
#include "../lang/diag.h"
#include "../vm/module.h"
#include "../vm/value.h"

enum { EXIT_OK = WEFT_EXIT_OK, EXIT_FAIL = WEFT_EXIT_FAIL, EXIT_USAGE = WEFT_EXIT_USAGE };
typedef weft_when ColorMode;
#define COLOR_AUTO WEFT_WHEN_AUTO
#define COLOR_ALWAYS WEFT_WHEN_ALWAYS
#define COLOR_NEVER WEFT_WHEN_NEVER

/* "weft: MESSAGE\n" on stderr (weft_tool_error). */
#define errorf weft_tool_error
/* A whole file (or stdin for "-"), malloc'd and NUL-terminated; NULL with
 * errno set on failure. */
char *read_file(const char *path, size_t *len);

/* 1 when diagnostics on stderr are coloured: --color=always, or auto
 * with stderr a terminal and NO_COLOR unset or empty. */
int use_color(ColorMode mode);

/* Everything a loaded program owns, released together by loaded_free. */
typedef struct Loaded {
  Heap heap;        /* constants of the module */
  SourceSet ss;
  DiagList dl;
  Module *mod;
  struct CapScan *caps; /* the capabilities the source names (compiler.h); NULL for a .weftc */
} Loaded;
/* The capabilities of scan as `weft check --caps` prints them (text), or
 * as one JSON object {"file","modules","functions":[{"name","calls"}]}. */
struct CapScan;
struct CapUse;
void caps_render(const struct CapScan *scan, const char *file, bool json, Buf *out);
/* The flag that grants use u ("--allow-read=data/a.txt"), or NULL for a
 * computed argument (malloc'd). */
char *caps_use_flag(const struct CapUse *u);
/* Compiles (or loads, when the file starts with the module magic) path,
 * under co (import roots, --untrusted: which refuses a module). Diagnostics
 * go to stderr. Returns EXIT_OK with lp->mod set, or the exit code to end
 * with; lp is released with loaded_free either way. */
int load_module(const char *path, const weft_compile_opts *co, Loaded *lp);
void loaded_free(Loaded *lp);

/* Appends the unified diff (3 lines of context, Myers' algorithm) that
 * turns text a into text b, under the headers "--- from" and "+++ to"
 * (weft fmt --check, weft test). */
void unified_diff(Buf *out, const char *from, const char *to, const char *a, size_t an, const char *b, size_t bn);

/* The journal a command uses: --journal PATH, else $WEFT_JOURNAL, else
 * JOURNAL_DEFAULT_PATH. */
#define journal_path_or_default weft_tool_journal_path
/* A run id as typed: "7", or "last" (the newest run). false after a message. */
bool parse_run_id(Journal *j, const char *s, int64_t *id);

/* ---- the journal of a run: weft run, resume and replay (session.c) and
 * the API's sessions (api.c) keep it alike, so either resumes the other's
 * runs. Failures return false with *err (malloc'd, one line). */

/* The program a run records when its module came without a file (the
 * API's weft_module_load): a later resume runs the journal's copy. */
#define RUN_PROGRAM_NONE "(module)"
/* Fills a new run's record: the program as named (NULL: RUN_PROGRAM_NONE),
 * its absolute path, m's bytes and hash, and options (the flags a resume
 * applies again, a JSON array of "--name=value" strings; taken; NULL: none). */
void run_rec_init(RunRec *r, const Module *m, const char *program, char *options);
/* Creates r in j with main's arguments (m's parameters) as its inputs:
 * r->id is set and the run's lock taken. */
bool run_rec_create(Journal *j, RunRec *r, const Module *m, const Value *args, char **err);
/* Ends r: status ok (result: main's JSON, NULL for none) or failed (error). */
bool run_rec_finish(Journal *j, RunRec *r, bool ok, const char *result, const char *error, char **err);
/* Which step of rerun_load refused. */
typedef enum RerunStep { RERUN_READ, RERUN_FINISHED, RERUN_LOCKED } RerunStep;
/* Loads run id of j with its module into out; a resume is refused when the
 * run finished ok ("run 7 already finished (ok)") and takes its lock. */
bool rerun_load(Journal *j, int64_t id, weft_run_kind kind, RunRec *out, RerunStep *failed, char **err);
/* m's hash (16 hex digits) into hash; true when r recorded the same. */
bool rerun_same_module(const RunRec *r, const Module *m, char hash[17]);
/* Run id's effects, as the records that answer its resume or replay. */
Records *rerun_records(Journal *j, int64_t id, char **err);
/* A resume starts: one more resume, status "running" again. */
bool rerun_mark_resumed(Journal *j, RunRec *r, char **err);
/* What a run does with its effects (host_set_log): written to j as run r
 * (j NULL: nowhere), answered from serve (a resume: the successful records
 * of its own journal; a replay or a cassette: every effect; NULL: none). */
void run_log_init(EffectLog *log, weft_run_kind kind, Journal *j, const RunRec *r, Records *serve,
                  const char *serve_name);

/* What a run's events add to its effects (runtime/views.c, runtime/html.c).
 * A resumed run's events hold each session's events in turn, so facts are
 * deduplicated by address and the last event wins. */
typedef struct FiberFact {
  char *path;                    /* "main", "main/fanout#1@6[0]" */
  int64_t started_at, ended_at;  /* unix ms of its last fiber_start / fiber_end; 0: none */
  char *status, *error;          /* its last fiber_end, unless it started again after it; else NULL */
  char *input;                   /* its last fiber_start's `input` (a branch's element); NULL: none */
} FiberFact;
typedef struct RunFacts {
  FiberFact *fibers; size_t nfibers;  /* sorted by path */
  char **served; size_t nserved;      /* effects answered from the journal (sorted) */
} RunFacts;
void run_facts_build(RunFacts *f, char **events, const int64_t *at, size_t n);
void run_facts_free(RunFacts *f);
const FiberFact *run_facts_fiber(const RunFacts *f, const char *path);
bool run_facts_served(const RunFacts *f, const char *addr);

/* What `weft runs` shows as STATUS: the run's status, except "interrupted"
 * for a "running" run that no process holds. */
const char *run_state(const RunRec *r);
/* "ok", "failed", or "cancelled" (a failed effect of kind cancelled). */
const char *effect_status(const EffectRec *e);
/* The fields of an effect's request JSON (malloc'd; NULL when absent). */
/* What an effect's request says: an ask's role, model and prompt, a
 * sleep's ms, a capability call's op ("fs.read") and target (its first
 * string argument: the path, pattern, program or URL). */
typedef struct RequestInfo { char *role, *model, *prompt, *op, *target; int64_t ms; } RequestInfo;
void request_info(const char *request, RequestInfo *out);
void request_info_free(RequestInfo *q);
/* A run as a JSON object: every RunRec field but the module, its state
 * and duration_ms (-1: unknown, written as null). */
void run_json(Buf *b, const RunRec *r, int64_t duration_ms);

/* Appends to out a self-contained HTML page (no external resources) with
 * a timeline of run r: one bar per effect (class "bar", attribute
 * data-addr), coloured by status, with prompt and reply on hover, and the
 * fibers as rows. events/at are the run's trace events and their times.
 * graph: the program's graph as graph_file's GRAPH_JSON, drawn beside
 * the timeline (NULL: none, and graph_note says why). */
/* session.c: why the program path a run recorded may not be opened (the
 * journal may be planted: not canonical, not a regular .weft/.weftc
 * file...; malloc'd), or NULL when it may. *gone: it does not exist. */
char *recorded_program_unfit(const char *path, bool *gone);
/* program.c: the graph (graph_file's GRAPH_JSON, malloc'd) of the program
 * file a run names, only while its sources still hash to the run's module
 * hash; NULL otherwise, with *note saying why (the page shows it). */
char *run_graph(const char *path, const char *module_hash, const char **note);
void html_timeline(Buf *out, const RunRec *r, const EffectRec *effs, size_t neffs,
                   char **events, const int64_t *at, size_t nevents, const char *graph, const char *graph_note);

#endif
