/* engine.h — the effect engine: model calls as parked fibers.
 *
 * ASK parks its fiber and hands the effect through the VM's effects table
 * (vm/effects.h; runtime/host.c fills it) to engine_ask. The engine turns
 * the role (after command-line remapping) into a provider request, queues
 * it behind the admission limit (--max-concurrency; a queued call is not
 * sent), and drives every transfer on ONE libcurl multi handle from the
 * scheduler's thread: when no fiber is runnable the scheduler calls
 * engine_poll, which waits on the runtime's event loop (loop.h: libcurl's
 * sockets on epoll) until a socket is ready or the next timer is due. A finished call resumes its fiber with the
 * reply (text, or a value checked against the requested type) or fails it
 * with a message naming role, provider, model, HTTP status and the
 * provider's own error text.
 *
 * Per call: transport retries (408/409/429/5xx/529 and connection errors,
 * the official SDKs' backoff and retry-after rules, see provider.h) and
 * repairs (a reply that does not parse or fit the type is asked again with
 * the validation error quoted back, with only the last bad reply) are
 * counted separately; the command line's retries, repairs and timeout are
 * ceilings over the role's. Every attempt is admitted by the asking
 * fiber's budgets (vm/tasks.c "budgets"), which it reserves its worst case
 * on until it settles. Mock calls (provider `mock`) never touch the
 * network and complete on the next poll, or when a --mock-script delay
 * ends.
 *
 * API keys come from the host (EngineConfig.keys: the embedding API's
 * weft_session_set_key) or else are read from the environment when a call
 * needs them, and appear only in the request headers: never in messages,
 * traces or output. */
#ifndef WEFT_ENGINE_H
#define WEFT_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "journal.h"
#include "provider.h"
#include "../vm/vm.h"

struct CapScan;

/* Model calls in flight at once without --max-concurrency. */
#define ENGINE_DEFAULT_CONCURRENCY 64u

typedef struct ModelOverride {
  const char *role;         /* role name */
  const char *model;        /* "provider/model" */
} ModelOverride;

/* A provider's key and endpoint from the host rather than the environment. */
typedef struct ProviderKey {
  const char *provider;         /* "anthropic" */
  const char *key;              /* non-empty; sent only to base_url (or the default) */
  const char *base_url;         /* NULL: the provider's default */
} ProviderKey;

typedef struct EngineConfig {
  const char *force_provider;   /* --provider NAME: every role goes there (keeps the model name) */
  const ModelOverride *overrides; uint32_t noverrides;   /* --model ROLE=provider/model */
  uint32_t max_concurrency;     /* --max-concurrency; 0 = default 64 */
  int64_t timeout_ms;           /* --timeout: total per attempt; 0 = 600 s (a ceiling over the role's) */
  int64_t connect_timeout_ms;   /* 0 = 5 s */
  int64_t idle_timeout_ms;      /* no bytes for this long fails a stream; 0 = 60 s */
  int32_t retries;              /* --retries; -1 = 2 (a ceiling over the role's) */
  int32_t repairs;              /* --repairs; -1 = 2 (a ceiling over the role's) */
  bool no_stream;               /* --no-stream: plain JSON responses */
  size_t max_reply_bytes;       /* 0 = 16 MiB */
  const char *mock_script;      /* --mock-script FILE */
  bool mock_strict;             /* the script is strict (mock_script_set_strict) */
  const char *prices_file;      /* --prices FILE: overrides the built-in price table */
  /* --models (and --untrusted): with limit_models, every role's model after
   * --provider must be allowed (model_allowed, vm/module.h), unless --model
   * gave the role its model; else engine_new refuses the run */
  bool limit_models;
  const char *const *allow_models; uint32_t nallow_models;
  /* Keys from the host, by provider (borrowed): a provider listed here
   * reads neither its key nor its base URL from the environment, so a
   * host's key goes only where the host said. Others read the environment. */
  const ProviderKey *keys; uint32_t nkeys;
  /* `generate` (runtime/generate.h): what the planner is told of the run
   * (its models, grants and budget; NULL: nothing), and, for `weft do`,
   * the person who sees each new program before it is linked: approve
   * returns false with *why (malloc'd) to stop the run there. A program
   * answered from the journal was approved when it was made. */
  const char *gen_context;
  int64_t gen_max_calls;        /* GenRules.max_calls */
  bool (*gen_caps_ok)(void *ud, const struct CapScan *scan, Buf *why);
  void *gen_caps_ud;
  bool (*gen_approve)(void *ud, const char *addr, const char *source, char **why);
  void *gen_approve_ud;
} EngineConfig;

typedef struct RunStats {
  uint64_t calls;           /* asks that completed (ok or failed) after at least one request */
  uint64_t failed;          /* those that failed */
  uint64_t attempts;        /* HTTP requests sent (incl. retries and repairs) */
  uint64_t retries;         /* transport retries */
  uint64_t repairs;         /* re-asks after an invalid reply */
  uint32_t max_in_flight;   /* most transfers at once */
  uint64_t served;          /* asks answered from a journal or cassette (counted in calls too) */
  Usage usage;
  double cost_usd;          /* charged, by the price table (usage too: engine.c call_settle);
                               unknown models cost 0 and are listed */
  /* of these, the planners' calls (generate, weft do), shown apart */
  uint64_t gen_calls;
  int64_t gen_tokens;
  double gen_cost_usd;
} RunStats;

typedef struct Engine Engine;

/* Creates the engine for vm's model calls; a host (host.h: host_new)
 * hands them to it. NULL + *err on a bad config (unreadable mock script or
 * price file, curl init failure, a role whose model is not allowed, or a
 * role whose model has no price while a dollar budget applies: set
 * vm->budget before). */
Engine *engine_new(VM *vm, const EngineConfig *cfg, char **err);
/* Drops every call still queued or in flight (their fibers are not
 * woken) and detaches from its host. */
void engine_free(Engine *e);
/* The journal and records asks are written to and answered from
 * (borrowed; NULL: none). host_set_log sets it. */
void engine_set_log(Engine *e, EffectLog *log);

/* ASK (an EFFECT_ASK request): starts a call for rq->fiber with role
 * rq->u.ask.role (Module.roles index), prompt (a string) and reply
 * descriptor td (ASK_TEXT for text) at address rq->addr, and parks the
 * fiber. Returns false after vm_raise on an immediate error (unknown
 * provider, missing API key, schema not expressible; then with kind
 * "budget" an exhausted budget or a reservation that can never fit). */
bool engine_ask(Engine *e, const EffectRequest *rq);

/* True while calls are queued, in flight, or waiting to retry. */
bool engine_busy(const Engine *e);
/* Milliseconds until the engine next needs attention (a retry backoff
 * ending), or -1 if it only waits on the network. */
int64_t engine_next_deadline(const Engine *e);
/* Waits up to timeout_ms for network progress, then completes what is
 * done (resuming or failing fibers), starts retries that are due and
 * admits queued calls. */
void engine_poll(Engine *e, int64_t timeout_ms);
/* Progresses network transfers without waiting, between slices of busy
 * fibers, so a long computation does not stall (or time out) calls in
 * flight. Completes finished network calls only: mock calls complete in
 * engine_poll, which keeps offline runs deterministic. */
void engine_pump(Engine *e);
/* Aborts f's call if it has one (its fiber is being cancelled). */
void engine_cancel(Engine *e, Fiber *f);

const RunStats *engine_stats(const Engine *e);
/* How many calls (as RunStats.calls counts them) each role made (by=0),
 * or each model ("provider/model", by=1), as a JSON object in the order
 * they were first asked: {"reviewer":2,"writer":1}. e may be NULL. */
void engine_calls_by_json(const Engine *e, int by, Buf *out);
/* The effect address ("main/ask#3") of the last ask that failed, or NULL
 * when none did (borrowed). */
const char *engine_last_failed(const Engine *e);
/* One-line human summary for stderr: calls, tokens, cost, time. */
void engine_summary(const Engine *e, FILE *out);
/* {"calls":..,"failed":..,"attempts":..,"retries":..,"repairs":..,
 *  "max_in_flight":..,"input_tokens":..,"output_tokens":..,
 *  "cache_read_tokens":..,"cache_write_tokens":..,"cost_usd":..,
 *  "unpriced_models":[..],"served":..}  (e may be NULL: a run without model calls,
 *  all zeros). */
void engine_stats_json(const Engine *e, Buf *out);

/* ---- internal: the host the engine serves (host.c) ------------------ */
struct Host;
void engine_set_host(Engine *e, struct Host *h);
void host_engine_gone(struct Host *h);  /* engine_free detaches */
/* The host's event loop, made on first use (NULL + *err when the kernel
 * refuses one): the engine's sockets and timers go on it, with the
 * capability calls' (caps.h), and it outlives the engine. */
struct Loop;
struct Loop *host_loop(struct Host *h, char **err);

/* ---- internal: the mock provider (runtime/mock.c), used only by engine.c --- */

/* A --mock-script file: canned replies chosen by role and prompt text
 * (docs/testing.md, "Mock scripts"). */
typedef struct MockScript MockScript;
/* NULL + *err (malloc'd) when the file cannot be read or is malformed. */
MockScript *mock_script_load(const char *path, char **err);
void mock_script_free(MockScript *s);
/* A strict script answers only what its entries fit: any other attempt
 * fails (MOCK_UNSCRIPTED) instead of getting a generated reply, so a test
 * notices an ask its script did not foresee (`weft test`). */
void mock_script_set_strict(MockScript *s, bool strict);
/* What one mock attempt does besides its text: a reply, or a failure as
 * a provider reports one, and when it arrives. */
typedef enum MockFail {
  MOCK_REPLY,       /* the text is the reply */
  MOCK_HTTP,        /* an error status; the text is its error message */
  MOCK_TIMEOUT,     /* the attempt's time ran out */
  MOCK_CONNECTION,  /* the connection failed before the request was sent */
  MOCK_UNSCRIPTED,  /* a strict script has no entry for the attempt */
} MockFail;
typedef struct MockAnswer {
  MockFail fail;
  int status;              /* MOCK_HTTP: the HTTP status */
  const char *name;        /* the failure's name in the script (static); NULL: a reply */
  int64_t delay_ms;        /* after how long it arrives (0: at once) */
  int64_t retry_after_ms;  /* MOCK_HTTP: the retry-after the provider sends; -1: none */
  const char *calls;       /* a step's scripted tool calls, a JSON array of {name, input}
                              (the script's; NULL: none) */
  bool scripted;           /* a script entry answered (not a generated reply) */
} MockAnswer;
/* The answer of one mock attempt: the first matching script entry
 * (counting its `times`), else a value generated for td (a JSON text,
 * wrapped as {"value": ...} when `wrapped`), else for a text ask a short
 * deterministic sentence. schema is the schema text ("" for text asks).
 * s may be NULL. Typed replies are validated by the engine exactly like a
 * real model's; failures are classified like a real provider's. */
/* step: the call is step N (from 1) of a tool-calling loop, 0: an ask;
 * only steps take entries with "tool_calls" or "step" (step N only). */
void mock_reply(MockScript *s, Heap *h, const Module *m, const char *role,
                const char *prompt, uint32_t td, const char *schema, bool wrapped, uint32_t step,
                Buf *out, MockAnswer *ans);

#endif
