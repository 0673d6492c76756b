/* provider.h — the wire formats of model providers, as pure functions.
 *
 * A provider turns a request into an HTTP body and headers, and HTTP
 * bytes back into a reply, usage, or a classified error. Nothing here does
 * I/O: the effect engine (engine.c) owns curl, time and retries, so every
 * function below is testable on captured bytes. Exact formats:
 * docs/providers.md.
 *
 * Unknown fields, content-block types and SSE events are ignored: vendors
 * keep adding them. */
#ifndef WEFT_PROVIDER_H
#define WEFT_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../vm/value.h"

/* A tool call the model made: its id (the provider's, echoed back with
 * the result), the tool's name and its arguments as JSON object text.
 *
 * How a bad call looks (both wire formats; docs/providers.md, "Tools"):
 * id and name are never NULL nor empty (a reply with such a call is not a
 * valid reply: parse_reply fails, a stream fails). `input` is NULL when the
 * model's arguments were not a JSON object (invalid JSON, an array, a bare
 * string, ...): `raw` then holds them as sent, and the loop answers the call
 * with an error result (is_error) instead of running it. Otherwise input is
 * compact JSON object text ("{}" for no arguments) and raw is NULL. Sent
 * back in an assistant turn, a call without input carries `{}`. */
typedef struct ToolCall {
  char *id;
  char *name;
  char *input;
  char *raw;
} ToolCall;
/* Bounds on what one reply may ask for: more calls, or more bytes of
 * arguments (all calls together, streamed or not), make the reply invalid
 * (a clean error, never unbounded memory). An id or a name longer than
 * PROVIDER_TOOL_NAME_MAX bytes is invalid too. */
#define PROVIDER_TOOL_CALLS_MAX 128
#define PROVIDER_TOOL_INPUT_MAX ((size_t)512 << 10)
#define PROVIDER_TOOL_NAME_MAX 256

/* A tool offered to the model: its name, its `///` description and the
 * JSON Schema of its parameters (an object schema, as text); wire, when
 * set, is that schema already as provider_compact_json gives it. */
typedef struct ToolDef {
  const char *name;
  const char *description;
  const char *schema;
  const char *wire;
} ToolDef;

/* One turn of the conversation sent to the model. A tool-calling loop adds
 * the assistant turns that made calls (text may be NULL, calls set) and one
 * "tool" turn per result (tool_id names the call; is_error when the call
 * failed or was refused, the text then says why). Anthropic groups
 * consecutive results into one user turn of tool_result blocks; OpenAI
 * sends one `role: "tool"` message each. */
typedef struct ChatMsg {
  const char *role;     /* "user", "assistant" or "tool" */
  const char *text;     /* NULL: none (an assistant turn of calls only) */
  const ToolCall *calls; uint32_t ncalls;  /* assistant: the calls it made */
  const char *tool_id;  /* "tool": the id of the call answered */
  bool is_error;        /* "tool": the result is an error message */
} ChatMsg;

typedef struct ProviderRequest {
  const char *model;        /* without the provider prefix: "claude-sonnet-4-5" */
  const char *system;       /* NULL: none */
  const ChatMsg *msgs; uint32_t nmsgs;
  double temperature;       /* NaN: unset */
  double top_p;             /* NaN: unset */
  int64_t max_tokens;       /* always set by the engine */
  const char *const *stop;  /* stop sequences (nstop of them), none when 0 */
  uint32_t nstop;
  const char *schema;       /* JSON Schema text, or NULL for a text reply */
  const char *schema_name;  /* e.g. "Finding" or "reply" */
  const ToolDef *tools;     /* offered tools (ntools of them), none when 0 */
  uint32_t ntools;
  bool stream;
  /* The base URL the user set (the provider's base_env), NULL when unset.
   * A provider may shape its body by it: openai.c sends the deprecated
   * `max_tokens` to OpenAI-compatible servers (Ollama), which know only
   * that, and `max_completion_tokens` to api.openai.com. */
  const char *base;
} ProviderRequest;

typedef struct Usage {
  int64_t input_tokens, output_tokens;     /* input excludes cache tokens */
  int64_t cache_read_tokens, cache_write_tokens;
} Usage;

/* A successful reply (2xx and a complete body or stream). */
typedef struct ProviderReply {
  Buf text;                 /* the reply text (the JSON for structured output) */
  ToolCall *calls;          /* tool calls the reply makes (malloc'd, ncalls), in order */
  uint32_t ncalls;
  Usage usage;
  char *stop_reason;        /* "end_turn", "stop", "max_tokens", "length", "refusal", ... (malloc'd) */
  bool refusal;             /* the model refused (Anthropic stop_reason refusal,
                               OpenAI message.refusal non-null / content_filter) */
  char *refusal_text;       /* OpenAI refusal message, if any (malloc'd) */
  char *request_id;         /* from the body or headers, if known (malloc'd) */
  /* What the reply said about its usage: USAGE_SEEN_* bits for the counts
   * it reported, usage_bad when one was negative, not a number or absurd.
   * The engine charges a budget the reported usage only when both counts
   * were seen and none was bad (reply_usage_ok), else the reservation. */
  uint8_t usage_seen;
  bool usage_bad;
  /* Streaming only: the arguments of each call while they arrive, one per
   * call (provider.c); NULL again once the stream is complete. */
  struct ToolAccum *accum;
  size_t accum_bytes;       /* their sum, against PROVIDER_TOOL_INPUT_MAX */
} ProviderReply;
#define USAGE_SEEN_INPUT 1
#define USAGE_SEEN_OUTPUT 2
/* No model reads or writes this many tokens in one reply: a larger count is
 * garbage, charged like a missing one. */
#define USAGE_MAX_TOKENS ((int64_t)1000000000)
/* The reply reported input and output counts, all valid. */
bool reply_usage_ok(const ProviderReply *r);
void reply_free(ProviderReply *r);

/* SSE decoding state (both providers use the same framing): bytes may be
 * split anywhere, including inside a line or a UTF-8 character. */
typedef struct SseParser {
  Buf line;                 /* incomplete line carried over between feeds */
  Buf event;                /* current event name */
  Buf data;                 /* current data lines joined with \n */
  bool saw_cr;              /* last byte was \r: a following \n belongs to it */
  bool has_data;            /* a data: line was seen (data may still be "") */
  bool overflow;            /* a line or an event's data passed SSE_MAX_BYTES */
} SseParser;
/* Bound on one line and on one event's joined data. Past it sse_feed
 * returns false with overflow set: a stream that never ends its line is
 * hostile, and must not grow memory without bound. */
#define SSE_MAX_BYTES ((size_t)32 << 20)
void sse_init(SseParser *p);
void sse_free(SseParser *p);
/* Feeds bytes; calls on_event(ctx, event, data, len) for each complete
 * event (event is "" when the stream sends no `event:` line; data is
 * NUL-terminated; an event without any data: line is not dispatched).
 * Returns false if on_event returned false (stop) or on overflow (see
 * above); the parser must not be fed again after false. */
bool sse_feed(SseParser *p, const char *bytes, size_t n,
              bool (*on_event)(void *ctx, const char *event, const char *data, size_t len),
              void *ctx);

/* Accumulated streaming state of one reply. */
typedef struct StreamState {
  ProviderReply reply;
  bool done;                /* message_stop / [DONE] seen */
  bool failed;              /* a mid-stream error event */
  Buf error;                /* its message */
} StreamState;


/* Everything the engine knows about a provider is in this table: the
 * engine has no branch on a provider's name, so a provider is added by
 * writing one of these and a line of vm/providers.def. */
typedef struct Provider {
  const char *name;          /* "anthropic" */
  /* Answered inside the process (the offline mock, mock.c): no key, no
   * network, and every function below NULL. */
  bool in_process;
  /* Its structured output takes the plain JSON Schema dialect (which can
   * express maps) rather than the strict one both vendors' constrained
   * decoding wants (schema.h). */
  bool plain_schema;
  /* Its strict schemas refuse numeric, length and item-count bounds
   * (minimum, maxItems, ...): a constrained type's bounds go into the
   * description instead (SCHEMA_ANTHROPIC). */
  bool schema_no_bounds;
  /* A suffix users write at the end of a base URL that `path` already
   * holds ("/v1": the OpenAI SDK's base URL ends in it); dropped. */
  const char *base_suffix;
  const char *key_env;       /* "ANTHROPIC_API_KEY" (NULL for mock) */
  const char *base_env;      /* "ANTHROPIC_BASE_URL" */
  const char *default_base;  /* "https://api.anthropic.com" */
  const char *path;          /* "/v1/messages" */
  /* Request body (malloc'd JSON); NULL if req->schema is not valid JSON. */
  char *(*build_body)(const ProviderRequest *req);
  /* Header lines ("name: value"), NULL-terminated, malloc'd array of
   * malloc'd strings (free with provider_headers_free); the key goes only
   * here, and is left out when NULL, empty, or holding control characters
   * (which would inject headers). No Accept header: the engine adds
   * `accept: text/event-stream` itself when it streams. */
  char **(*build_headers)(const char *api_key, uint32_t attempt);
  /* Non-streaming 2xx body -> reply. false + *err (malloc'd, when err is
   * not NULL) on a body that is not a valid reply. */
  bool (*parse_reply)(const char *body, size_t len, ProviderReply *out, char **err);
  /* One SSE event of a 2xx stream. false: stop reading (error or done). */
  bool (*stream_event)(StreamState *st, const char *event, const char *data, size_t len);
  /* Error body of a non-2xx response -> the provider's own message (falls
   * back to the status and a cut raw body when the shape is unknown). */
  void (*error_message)(int status, const char *body, size_t len, Buf *msg);
} Provider;

extern const Provider provider_anthropic;
extern const Provider provider_openai;
/* Name "mock", in_process, plain_schema, every function NULL: the engine
 * answers its calls itself (mock.c). */
extern const Provider provider_mock;
/* "anthropic/x" -> &provider_anthropic and *model = "x" ("openai/", "mock/"
 * likewise; the model is everything after the first '/', which may hold
 * more slashes). NULL if the prefix is unknown or the model empty. */
const Provider *provider_for(const char *model_spec, const char **model);
bool provider_known_prefix(const char *model_spec);   /* provider_for(spec) != NULL */

void provider_headers_free(char **headers);
/* The header lines every provider sends: `auth` + the key (left out when the
 * key is missing or not a safe header value: no header injection), the
 * provider's fixed lines (NULL-terminated), and x-stainless-retry-count,
 * which the test server reads to script faults per attempt. */
char **provider_header_lines(const char *auth, const char *api_key,
                             const char *const *fixed, uint32_t attempt);
/* Replaces *dst with a copy of a JSON string item (no change otherwise). */
struct cJSON;
void provider_set_str(char **dst, const struct cJSON *item);
/* The request URL: base (trailing '/' dropped; for OpenAI also a trailing
 * "/v1", which the official SDK's OPENAI_BASE_URL convention includes)
 * followed by p->path. base NULL or "" means p->default_base. */
void provider_url(const Provider *p, const char *base, Buf *out);

/* Retry rules of the official SDKs (docs/providers.md):
 * should the response with this status and headers be retried?
 * x_should_retry "true"/"false" decides first; then a finite retry-after
 * above 120 s means no (the OpenAI SDK's rule, applied to both); then
 * 408, 409, 429 and >= 500 are retried. retry_after_s < 0: absent. */
bool retry_should(int status, const char *x_should_retry, double retry_after_s);
/* retry-after-ms (float ms) / retry-after (float seconds, or an HTTP date
 * relative to now_unix) -> seconds, or -1 when absent/unparseable/not
 * finite. A date in the past gives a negative value, which both users
 * above treat like absent. Either header may be NULL. */
double retry_after_parse(const char *retry_after_ms, const char *retry_after, double now_unix);
/* Delay before retry number `retries_taken` (0-based): retry-after when
 * 0 < it <= 60 s, else min(0.5 * 2^n, 8) * (1 - 0.25 * jitter01). */
double retry_delay(uint32_t retries_taken, double retry_after_s, double jitter01);

/* Replaces every occurrence of secret in b by "[redacted]", and, when the
 * secret is longer than 12 bytes, also every occurrence of its first 8
 * and of its last 4 bytes (providers echo keys as `sk-VKMIs***wjh3`).
 * One left-to-right pass, so replacements are never rescanned. Used on
 * every error text that may echo request headers. NULL/"" secret: no-op. */
void redact_secret(Buf *b, const char *secret);

/* ---- helpers shared by provider.c, anthropic.c and openai.c ---------- */
struct cJSON;
/* cJSON_ParseWithLength after making hostile-but-harmless text parseable:
 * the escape \u0000 and raw NUL bytes become U+FFFD (cJSON strings are
 * C strings, so a NUL would silently cut the reply), and lone UTF-16
 * surrogate escapes become \ufffd (cJSON rejects the whole document
 * otherwise). Raw invalid UTF-8 is kept as bytes. NULL if not JSON, or if
 * anything but white space follows the value. */
struct cJSON *provider_json_parse(const char *s, size_t n);
/* Compact JSON of a schema text (malloc'd); NULL when it is not JSON. */
char *provider_compact_json(const char *text);
/* Appends ,"tools":[...] for req's tools (nothing without any), each as
 * open NAME [,"description":D] ,"schema_key":SCHEMA close: the two wire
 * formats differ only in those. False when a tool's schema is not JSON. */
bool provider_put_tools(Buf *b, const ProviderRequest *req, const char *open, const char *schema_key,
                        const char *close);
/* Token count of a JSON number, or -1 when it is absent, not a number,
 * negative or above USAGE_MAX_TOKENS (a fraction is cut). */
int64_t provider_json_tokens(const struct cJSON *item);
/* Records one usage count of item in *slot: a valid count is stored and
 * `seen` (USAGE_SEEN_* or 0) set in r->usage_seen; a present but invalid
 * one sets r->usage_bad and stores 0; an absent one changes nothing. */
void provider_take_tokens(ProviderReply *r, const struct cJSON *item, int64_t *slot, uint8_t seen);
/* THE token estimate, for text the engine has not sent yet: bytes / 4,
 * rounded up. Budgets reserve it for a request's input (with its
 * max_tokens for the output) and the mock provider reports it as usage.
 * It is an estimate, not a bound: densely tokenized text (many non-Latin
 * characters) can use up to a token per byte, and the reply's reported
 * usage is what is charged in the end (docs/runtime.md, "Budgets"). */
int64_t provider_tokens_estimate(size_t bytes);
/* Appends n bytes of untrusted text for an error message: control
 * characters become spaces, invalid UTF-8 becomes '?', at most max bytes
 * (cut on a character boundary, then "..."). */
void provider_put_clean(Buf *b, const char *s, size_t n, size_t max);
/* The fallback error text: "HTTP 502: <cut raw body>" ("HTTP 502 (empty
 * body)" when empty); the body is cut to 200 bytes. */
void provider_error_fallback(int status, const char *body, size_t len, Buf *msg);
/* Appends a JSON number (shortest text that reads back as v). */
void provider_put_number(Buf *b, double v);

/* ---- tool calls (both wire formats; docs/providers.md, "Tools") ------ */
/* Hashes into h everything a request says about tools and turns: every
 * offered tool (name, description, schema) and every message (role, text,
 * calls, tool id, error flag). The request fingerprint of a step must
 * cover it: two conversations that differ anywhere are different requests. */
uint64_t provider_tools_hash(uint64_t h, const ProviderRequest *req);
/* The arguments text of a call to send back: input when it is a JSON
 * object (re-serialised compactly, so the body is valid JSON whatever the
 * caller holds), else "{}". malloc'd. */
char *provider_call_args(const ToolCall *c);
/* Appends a call with copies of id and name (JSON strings; anything else
 * leaves them NULL, which provider_calls_finish refuses). NULL + message
 * in err past PROVIDER_TOOL_CALLS_MAX. */
ToolCall *provider_call_add(ProviderReply *r, const struct cJSON *id, const struct cJSON *name, Buf *err);
/* Sets c's input from arguments text (see ToolCall): empty or blank text
 * is "{}", a JSON object is kept compact, anything else goes to raw. */
void provider_call_input(ToolCall *c, const char *text, size_t n);
/* Streaming: the index of the call the stream numbers `key`, added when
 * `create` (false + err past the bound), -1 when absent. */
int64_t provider_stream_call(ProviderReply *r, int64_t key, bool create, Buf *err);
/* Streaming: appends an argument fragment to call i; false + err once all
 * arguments of the reply pass PROVIDER_TOOL_INPUT_MAX. */
bool provider_stream_args(ProviderReply *r, uint32_t i, const char *s, size_t n, Buf *err);
/* Streaming: arguments of call i to use when no fragment arrives
 * (Anthropic's content_block_start input). */
void provider_stream_start_input(ProviderReply *r, uint32_t i, const struct cJSON *input);
/* Ends the reply's calls: streamed arguments become inputs, then every
 * call must have an id and a name within bounds, and all inputs together
 * fit PROVIDER_TOOL_INPUT_MAX. false + err otherwise. */
bool provider_calls_finish(ProviderReply *r, Buf *err);

#endif
