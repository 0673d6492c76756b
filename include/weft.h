/* weft.h — the stable public API for embedding Weft: compile a program,
 * load a module, configure a session, run it, read the result.
 *
 * Conventions, for every call:
 *  - Every symbol is prefixed weft_ (types weft_..., constants WEFT_...).
 *  - Handles are opaque. A call that can fail returns a weft_status;
 *    WEFT_OK is 0, and weft_status_text(code) names any code. The handle
 *    the call was given keeps the message of its last failure
 *    (weft_*_errmsg), valid until the next call on that handle.
 *  - A NULL handle, a call out of order (run before a module is given, a
 *    session run twice) or a bad argument is an error code, never a crash.
 *    Using a handle after its weft_*_free is undefined behaviour in C; the
 *    library detects it on a best-effort basis (a freed handle is poisoned)
 *    and answers WEFT_E_STATE.
 *  - Ownership: a weft_*_new / weft_compile / weft_module_load gives the
 *    caller a handle to free with the matching weft_*_free (NULL is
 *    accepted and ignored). Strings a call returns are borrowed from the
 *    handle unless the call says otherwise; strings and buffers a caller
 *    passes are copied before the call returns.
 *  - Threads: handles are not shared between threads, with one exception:
 *    weft_session_cancel may be called from any thread while another runs
 *    the session. Different handles may be used on different threads at
 *    once. The library keeps no global state beyond what
 *    weft_version returns.
 *  - Versioning: WEFT_API_VERSION grows when calls are added; nothing
 *    declared here changes meaning. */
#ifndef WEFT_H
#define WEFT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility: what this header declares
 * is what it exports (the list is include/weft.sym). */
#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility push(default)
#endif

#define WEFT_API_VERSION 1

typedef enum weft_status {
  WEFT_OK = 0,
  WEFT_E_ARG = 1,          /* a NULL handle or pointer, or an argument out of range */
  WEFT_E_STATE = 2,        /* a call out of order, or on a freed handle */
  WEFT_E_IO = 3,           /* a file that cannot be read or written */
  WEFT_E_COMPILE = 4,      /* the program has errors (see its diagnostics) */
  WEFT_E_MODULE = 5,       /* a module that does not load or verify, or of a newer format */
  WEFT_E_INPUT = 6,        /* main's inputs do not fit its parameters */
  WEFT_E_CONFIG = 7,       /* a bad session setting (unknown provider, role, unreadable file) */
  WEFT_E_RUNTIME = 8,      /* the program failed: fail(), a limit, a budget, a model call */
  WEFT_E_CANCELLED = 9,    /* weft_session_cancel stopped the run */
  WEFT_E_EFFECTS = 10,     /* the host's effects table broke its contract (answered twice, or never) */
  WEFT_E_JOURNAL = 11,     /* the journal cannot be opened, read or written */
  WEFT_E_NOMEM = 12,       /* out of memory */
  WEFT_E_UNSUPPORTED = 13  /* not available in this build */
} weft_status;

/* A fixed English text for a status ("invalid argument", ...); never NULL. */
const char *weft_status_text(weft_status s);
/* "0.1.0" and the bytecode format version modules are written in. */
const char *weft_version(void);
int weft_format_version(void);

/* ---- programs and modules ---------------------------------------------------- */

typedef struct weft_program weft_program;   /* a compiled source, with its diagnostics */
typedef struct weft_module weft_module;     /* verified bytecode, ready to run */

typedef struct weft_compile_options {
  uint32_t size;                     /* sizeof(weft_compile_options): lets the struct grow */
  const char *const *import_paths;   /* further import roots (copied) */
  uint32_t nimport_paths;
} weft_compile_options;

/* Compiles the program at path and what it imports. *out is set (to a
 * program holding the diagnostics) whenever the result is WEFT_OK or
 * WEFT_E_COMPILE; free it with weft_program_free. opts may be NULL. */
weft_status weft_compile_file(const char *path, const weft_compile_options *opts, weft_program **out);
/* The number of diagnostics (and of errors among them, when errors is
 * not NULL), and all of them rendered as `weft check` prints them, sorted
 * by position, without colour (borrowed; "" when there are none). */
uint32_t weft_program_diagnostics(const weft_program *p, uint32_t *errors);
const char *weft_program_diagnostics_text(const weft_program *p);
/* The program's module (a new handle, freed separately); WEFT_E_COMPILE
 * when it has errors. */
weft_status weft_program_module(weft_program *p, weft_module **out);
const char *weft_program_errmsg(const weft_program *p);
void weft_program_free(weft_program *p);

/* Loads and verifies a .weftc image (copied). A truncated, hostile or
 * newer-format image is WEFT_E_MODULE with the reason in *errmsg
 * (malloc'd, the caller frees it; errmsg may be NULL). */
weft_status weft_module_load(const void *bytes, size_t len, weft_module **out, char **errmsg);
/* The module's .weftc image (malloc'd; the caller frees it). */
weft_status weft_module_write(const weft_module *m, void **bytes, size_t *len);
void weft_module_free(weft_module *m);

/* ---- sessions ------------------------------------------------------------------ */

typedef struct weft_session weft_session;
typedef struct weft_result weft_result;

/* A session runs one module once. It keeps its own reference to m. */
weft_status weft_session_new(weft_module *m, weft_session **out);
const char *weft_session_errmsg(const weft_session *s);

/* Limits and per-call settings (docs/cli.md, "Limits" and "Model
 * calls"). 0 keeps the default, except for retries and repairs, where 0
 * means none. A negative value is WEFT_E_ARG. */
typedef enum weft_limit {
  WEFT_LIMIT_INSTRUCTIONS, WEFT_LIMIT_MEMORY, WEFT_LIMIT_CALL_DEPTH, WEFT_LIMIT_FIBERS,
  WEFT_LIMIT_CONCURRENCY, WEFT_LIMIT_TIMEOUT_MS, WEFT_LIMIT_RETRIES, WEFT_LIMIT_REPAIRS
} weft_limit;
weft_status weft_session_set_limit(weft_session *s, weft_limit which, int64_t value);

/* The global budget (docs/cli.md, "Model calls"). */
typedef enum weft_budget { WEFT_BUDGET_LIMIT_CALLS, WEFT_BUDGET_LIMIT_TOKENS, WEFT_BUDGET_LIMIT_TIME_MS } weft_budget;
weft_status weft_session_set_budget(weft_session *s, weft_budget which, int64_t value);
weft_status weft_session_set_budget_usd(weft_session *s, double usd);

/* Providers: every role to provider (NULL: each role's own); one role to
 * "provider/model". Keys and endpoints come from the host: key is copied,
 * sent only to that provider's base URL, and never written anywhere;
 * base_url NULL keeps the provider's default. */
weft_status weft_session_set_provider(weft_session *s, const char *provider);
weft_status weft_session_set_model(weft_session *s, const char *role, const char *provider_model);
weft_status weft_session_set_key(weft_session *s, const char *provider, const char *key, const char *base_url);
weft_status weft_session_set_prices(weft_session *s, const char *path);

/* Where the run is recorded (a journal file) and where its trace events
 * go: sink is called on the session's thread with one JSON line per
 * event (borrowed for the call). */
weft_status weft_session_set_journal(weft_session *s, const char *path);
typedef void (*weft_trace_sink)(void *ud, const char *json_line, size_t len);
weft_status weft_session_set_trace(weft_session *s, weft_trace_sink sink, void *ud);

/* A host's own effects: the host answers every effect (a model call, a
 * sleep) instead of the built-in engine, e.g. to route model calls
 * through its own HTTP client. submit is called on the session's thread;
 * the host answers each id exactly once with weft_effect_done (from the
 * session's thread, inside submit or inside wait). Answering an id twice,
 * or an id that was never submitted, and returning from wait with effects
 * pending but none answered, fail the run with WEFT_E_EFFECTS. */
typedef struct weft_effects {
  uint32_t size;   /* sizeof(weft_effects) */
  void *ud;
  /* kind "ask" or "sleep"; request: the effect's JSON (role, model, prompt,
   * schema / ms); address: its stable effect address */
  void (*submit)(void *ud, weft_session *s, uint64_t id, const char *kind, const char *request,
                 const char *address);
  void (*cancel)(void *ud, weft_session *s, uint64_t id);
  /* wait up to timeout_ms (-1: until something happens) for answers */
  void (*wait)(void *ud, weft_session *s, int64_t timeout_ms);
} weft_effects;
weft_status weft_session_set_effects(weft_session *s, const weft_effects *fx);
/* ok: reply is the model's text (or the sleep's end); else reply is the error. */
weft_status weft_effect_done(weft_session *s, uint64_t id, int ok, const char *reply);

/* Runs main with inputs (a JSON object of main's parameters; NULL: none).
 * *out (freed with weft_result_free) is set whenever the run started:
 * WEFT_OK or WEFT_E_RUNTIME / WEFT_E_CANCELLED. A session runs once. */
weft_status weft_session_run(weft_session *s, const char *inputs_json, weft_result **out);
/* Runs the journaled run again, answering every finished effect from the
 * journal (resume) or every effect, offline (replay). */
weft_status weft_session_resume(weft_session *s, int64_t run_id, weft_result **out);
weft_status weft_session_replay(weft_session *s, int64_t run_id, weft_result **out);
/* From any thread: stops a run in progress as soon as it can (WEFT_E_CANCELLED). */
weft_status weft_session_cancel(weft_session *s);
void weft_session_free(weft_session *s);

/* 1 when main returned; its result as compact JSON ("null" for none), or
 * the run's error message; the statistics as a JSON object (calls,
 * tokens, cost: docs/cli.md "Stats"). All borrowed from r. */
int weft_result_ok(const weft_result *r);
const char *weft_result_json(const weft_result *r);
const char *weft_result_error(const weft_result *r);
const char *weft_result_stats(const weft_result *r);
void weft_result_free(weft_result *r);

#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
