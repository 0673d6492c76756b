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
 * "provider/model". */
weft_status weft_session_set_provider(weft_session *s, const char *provider);
weft_status weft_session_set_model(weft_session *s, const char *role, const char *provider_model);
/* Keys and endpoints from the host instead of the environment: provider's
 * ("anthropic", "openai") key and base URL for this session. A provider
 * given a key here reads neither its key nor its base URL from the
 * environment (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, ...): base_url NULL
 * is the provider's own default (https://api.anthropic.com, ...), never
 * the environment's, so the key goes only where the host said. Providers
 * without one still read the environment. key is copied, sent only in
 * that provider's request headers, never in a message, the trace, the
 * journal or the result, and is overwritten with zeros when the session is
 * freed; calling again for a provider replaces its key. An unknown
 * provider, or mock (which takes no key), is WEFT_E_CONFIG; a key that is
 * empty, longer than 4096 bytes, or holds a space or a control character,
 * or a base URL that is not http:// or https://, is WEFT_E_ARG. */
weft_status weft_session_set_key(weft_session *s, const char *provider, const char *key, const char *base_url);
weft_status weft_session_set_prices(weft_session *s, const char *path);

/* The journal file (SQLite; created with its directory when missing;
 * NULL: none, "" is WEFT_E_ARG) a run is recorded in, as `weft run
 * --journal` records one: weft_result_run_id names the run, which
 * weft_session_resume / replay here, or `weft resume` / `weft replay`,
 * run again. The session's settings are recorded as the command line's
 * flags (keys and base URLs never). The environment's WEFT_JOURNAL is not
 * read. A journal that cannot be opened, read or written is
 * WEFT_E_JOURNAL. */
weft_status weft_session_set_journal(weft_session *s, const char *path);
/* Where the run's trace events go (docs/runtime.md, "Trace"): sink is
 * called on the session's thread, during weft_session_run / resume /
 * replay, once per event with line: the event's JSON object and a '\n'
 * (len bytes, then a NUL), borrowed for the call — the bytes a `weft run
 * --trace` file gets. NULL: none (the run then builds no events). */
typedef void (*weft_trace_sink)(void *ud, const char *json_line, size_t len);
weft_status weft_session_set_trace(weft_session *s, weft_trace_sink sink, void *ud);

/* A host's own effects: the host answers every model call instead of the
 * built-in engine, e.g. to route them through its own HTTP client (the
 * table is copied; set it before the run). Sleeps stay the run's own
 * timers. All three functions are called on the session's thread during
 * the run; the host answers each id exactly once with weft_effect_done,
 * from the session's thread, inside submit (at once) or inside a later
 * wait — answers are taken nowhere else, and applied when that call
 * returns.
 *
 * Budgets: each ask the host takes is charged one call on the budgets
 * that enclose it (so WEFT_BUDGET_LIMIT_CALLS and `budget { calls: N }`
 * hold), and no tokens or dollars: the host reports no usage. The
 * statistics count calls and failures only. Each ask has the timeout of a
 * model call (its role's, under WEFT_LIMIT_TIMEOUT_MS; 10 minutes by
 * default): unanswered by then, it fails with kind "timeout" and the host
 * is told with cancel. A reply that does not fit the ask's type fails that
 * ask (no repair rounds: the host decides how it asks a model, and may
 * ask again itself before answering). A session with a host's table
 * cannot have a journal (WEFT_E_CONFIG): a journal records the built-in
 * engine's calls.
 *
 * These break the contract and fail the run with WEFT_E_EFFECTS and a
 * message saying which: answering an id twice, or an id never submitted;
 * calling weft_effect_done outside submit and wait (from cancel, a trace
 * sink, or between runs: with no run at all it is WEFT_E_STATE instead);
 * and a wait that keeps returning early — before half its timeout, with
 * effects pending and none answered — 1000 times in a row. An answer to
 * an id the run withdrew (cancel) or timed out is ignored. */
typedef struct weft_effects {
  uint32_t size;   /* sizeof(weft_effects) */
  void *ud;
  /* kind: "ask" (the one kind today; answer a kind you do not know with
   * ok 0). request: the ask's JSON: {"role", "model" (provider/model
   * after set_model and set_provider), "prompt", and when set "system",
   * "temperature", "top_p", "max_tokens", and for a typed reply "schema":
   * the JSON Schema the reply must match (a type that is not an object is
   * wrapped as {"value": ...}; the bare value is taken too)}. address: the
   * effect's stable address (docs/runtime.md). Both borrowed for the call. */
  void (*submit)(void *ud, weft_session *s, uint64_t id, const char *kind, const char *request,
                 const char *address);
  /* The run no longer needs id (its fiber was cancelled, the ask timed
   * out, or the run is ending): drop it. May be NULL. */
  void (*cancel)(void *ud, weft_session *s, uint64_t id);
  /* Block until an answer is ready or timeout_ms (0 or more, and short:
   * the run checks for cancellation between waits) has passed, answering
   * what is ready with weft_effect_done. timeout_ms 0: answer what is
   * ready without blocking (the run asks between slices of computation). */
  void (*wait)(void *ud, weft_session *s, int64_t timeout_ms);
} weft_effects;
weft_status weft_session_set_effects(weft_session *s, const weft_effects *fx);
/* Answers effect id. ok: reply (NULL: "") is the model's reply — for a
 * text ask the value itself (invalid UTF-8 replaced), for a typed ask JSON
 * of the type (see request's schema); at most 16 MiB. Not ok: the ask
 * fails with reply as its message. A broken rule above is WEFT_E_EFFECTS
 * (and ends the run). */
weft_status weft_effect_done(weft_session *s, uint64_t id, int ok, const char *reply);

/* Runs main with inputs (a JSON object of main's parameters; NULL: none).
 * *out (freed with weft_result_free) is set whenever the run started:
 * WEFT_OK, or WEFT_E_RUNTIME / WEFT_E_CANCELLED / WEFT_E_EFFECTS /
 * WEFT_E_JOURNAL (the journal failed while the run went on). A session
 * runs once: one call of run, resume or replay (a call refused before it
 * starts for a missing journal, a run id below 1, or a session with both
 * a host's table and a journal leaves the session as it was). */
weft_status weft_session_run(weft_session *s, const char *inputs_json, weft_result **out);
/* Runs journaled run run_id (of the session's journal, which must be set:
 * else WEFT_E_STATE) again from the start with its recorded inputs, as
 * `weft resume` / `weft replay` do (docs/durable.md). resume answers every
 * effect the journal holds as finished from it and makes the rest live,
 * recording them; it is refused for a run that finished ok, a run another
 * process holds, or a session whose module is not the run's (its hash),
 * each WEFT_E_JOURNAL. replay answers every effect from the journal,
 * offline, writes nothing, and fails the run where the program now asks
 * something the journal never recorded. Both use the session's settings
 * (providers, limits, budgets), not the recorded flags, and resume's
 * result has the same run id. */
weft_status weft_session_resume(weft_session *s, int64_t run_id, weft_result **out);
weft_status weft_session_replay(weft_session *s, int64_t run_id, weft_result **out);
/* From any thread, at any time: stops the session's run as soon as it can
 * — within about 50 ms, whatever it waits on — and the run returns
 * WEFT_E_CANCELLED (a run that ended meanwhile keeps its status); called
 * before the run starts, the run stops at once. A journaled run so
 * stopped is recorded as failed and can be resumed. Only this call may
 * be made while another thread runs the session. */
weft_status weft_session_cancel(weft_session *s);
/* Called from inside one of the session's own callbacks (a trace sink,
 * the effects table), the run is cancelled and the session freed when it
 * returns. */
void weft_session_free(weft_session *s);

/* 1 when main returned; its result as compact JSON ("null" for none), or
 * the run's error message; the statistics as a JSON object (calls,
 * tokens, cost: docs/cli.md "Stats"). All borrowed from r. */
int weft_result_ok(const weft_result *r);
const char *weft_result_json(const weft_result *r);
const char *weft_result_error(const weft_result *r);
const char *weft_result_stats(const weft_result *r);
/* The journal's id of the run (weft_session_resume / replay, `weft resume
 * ID`), or 0 when the session had no journal. */
int64_t weft_result_run_id(const weft_result *r);
void weft_result_free(weft_result *r);

#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
