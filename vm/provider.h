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
#include "value.h"

/* One turn of the conversation sent to the model. */
typedef struct ChatMsg {
  const char *role;     /* "user" or "assistant" */
  const char *text;
} ChatMsg;

typedef struct ProviderRequest {
  const char *model;        /* without the provider prefix: "claude-sonnet-4-5" */
  const char *system;       /* NULL: none */
  const ChatMsg *msgs; uint32_t nmsgs;
  double temperature;       /* NaN: unset */
  double top_p;             /* NaN: unset */
  int64_t max_tokens;       /* always set by the engine */
  const char *schema;       /* JSON Schema text, or NULL for a text reply */
  const char *schema_name;  /* e.g. "Finding" or "reply" */
  bool stream;
} ProviderRequest;

typedef struct Usage {
  int64_t input_tokens, output_tokens;     /* input excludes cache tokens */
  int64_t cache_read_tokens, cache_write_tokens;
} Usage;

/* A successful reply (2xx and a complete body or stream). */
typedef struct ProviderReply {
  Buf text;                 /* the reply text (the JSON for structured output) */
  Usage usage;
  char *stop_reason;        /* "end_turn", "stop", "max_tokens", "length", "refusal", ... (malloc'd) */
  bool refusal;             /* the model refused (Anthropic stop_reason refusal,
                               OpenAI message.refusal non-null / content_filter) */
  char *refusal_text;       /* OpenAI refusal message, if any (malloc'd) */
  char *request_id;         /* from the body or headers, if known (malloc'd) */
} ProviderReply;
void reply_free(ProviderReply *r);

/* SSE decoding state (both providers use the same framing): bytes may be
 * split anywhere, including inside a line or a UTF-8 character. */
typedef struct SseParser {
  Buf line;                 /* incomplete line carried over between feeds */
  Buf event;                /* current event name */
  Buf data;                 /* current data lines joined with \n */
  bool saw_cr;              /* last byte was \r: a following \n belongs to it */
} SseParser;
void sse_init(SseParser *p);
void sse_free(SseParser *p);
/* Feeds bytes; calls on_event(ctx, event, data, len) for each complete
 * event (event is "" when the stream sends no `event:` line). Returns false
 * if on_event returned false (stop). */
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

typedef enum ProviderKind { PROVIDER_ANTHROPIC, PROVIDER_OPENAI, PROVIDER_MOCK } ProviderKind;

typedef struct Provider {
  ProviderKind kind;
  const char *name;          /* "anthropic" */
  const char *key_env;       /* "ANTHROPIC_API_KEY" (NULL for mock) */
  const char *base_env;      /* "ANTHROPIC_BASE_URL" */
  const char *default_base;  /* "https://api.anthropic.com" */
  const char *path;          /* "/v1/messages" */
  /* Request body (malloc'd JSON). */
  char *(*build_body)(const ProviderRequest *req);
  /* Header lines ("name: value"), NULL-terminated, malloc'd array of
   * malloc'd strings; the key goes only here. */
  char **(*build_headers)(const char *api_key, uint32_t attempt);
  /* Non-streaming 2xx body -> reply. false + message in err on a body
   * that is not a valid reply. */
  bool (*parse_reply)(const char *body, size_t len, ProviderReply *out, Buf *err);
  /* One SSE event of a 2xx stream. false: stop reading (error or done). */
  bool (*stream_event)(StreamState *st, const char *event, const char *data, size_t len);
  /* Error body of a non-2xx response -> the provider's own message (falls
   * back to the status and a cut raw body when the shape is unknown). */
  void (*error_message)(int status, const char *body, size_t len, Buf *msg);
} Provider;

extern const Provider provider_anthropic;
extern const Provider provider_openai;
/* "anthropic/x" -> &provider_anthropic and *model = "x"; NULL if unknown. */
const Provider *provider_for(const char *model_spec, const char **model);
bool provider_known_prefix(const char *model_spec);   /* for the checker */

/* Retry rules of the official SDKs (docs/providers.md):
 * should the response with this status and headers be retried? */
bool retry_should(int status, const char *x_should_retry, double retry_after_s);
/* retry-after-ms / retry-after (seconds or HTTP date, relative to now_unix)
 * -> seconds, or -1 when absent/unparseable. */
double retry_after_parse(const char *retry_after_ms, const char *retry_after, double now_unix);
/* Delay before retry number `retries_taken` (0-based): retry-after when
 * 0 < it <= 60 s, else min(0.5 * 2^n, 8) * (1 - 0.25 * jitter01). */
double retry_delay(uint32_t retries_taken, double retry_after_s, double jitter01);

/* Replaces every occurrence of secret (and of its first/last 4+ chars when
 * longer than 8) in b by "[redacted]". Used on every error text that may
 * echo request headers. */
void redact_secret(Buf *b, const char *secret);

#endif
