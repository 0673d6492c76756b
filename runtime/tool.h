/* tool.h — what the files behind weft_tools.h share (runtime/program.c,
 * runtime/session.c, runtime/views.c, runtime/html.c): exit codes, the message helper, the
 * journal a command uses, and the read views of a run's events. */
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
} Loaded;
/* Compiles (or loads, when the file starts with the module magic) path,
 * under co (import roots, --untrusted: which refuses a module). Diagnostics
 * go to stderr. Returns EXIT_OK with lp->mod set, or the exit code to end
 * with; lp is released with loaded_free either way. */
int load_module(const char *path, const weft_compile_opts *co, Loaded *lp);
void loaded_free(Loaded *lp);

/* The journal a command uses: --journal PATH, else $WEFT_JOURNAL, else
 * JOURNAL_DEFAULT_PATH. */
#define journal_path_or_default weft_tool_journal_path
/* A run id as typed: "7", or "last" (the newest run). false after a message. */
bool parse_run_id(Journal *j, const char *s, int64_t *id);

/* What a run's events add to its effects (runtime/views.c, runtime/html.c).
 * A resumed run's events hold each session's events in turn, so facts are
 * deduplicated by address and the last event wins. */
typedef struct FiberFact {
  char *path;                    /* "main", "main/fanout#1@6[0]" */
  int64_t started_at, ended_at;  /* unix ms of its last fiber_start / fiber_end; 0: none */
  char *status, *error;          /* its last fiber_end, unless it started again after it; else NULL */
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
typedef struct RequestInfo { char *role, *model, *prompt; int64_t ms; } RequestInfo;
void request_info(const char *request, RequestInfo *out);
void request_info_free(RequestInfo *q);
/* A run as a JSON object: every RunRec field but the module, its state
 * and duration_ms (-1: unknown, written as null). */
void run_json(Buf *b, const RunRec *r, int64_t duration_ms);

/* Appends to out a self-contained HTML page (no external resources) with
 * a timeline of run r: one bar per effect (class "bar", attribute
 * data-addr), coloured by status, with prompt and reply on hover, and the
 * fibers as rows. events/at are the run's trace events and their times. */
void html_timeline(Buf *out, const RunRec *r, const EffectRec *effs, size_t neffs,
                   char **events, const int64_t *at, size_t nevents);

#endif
