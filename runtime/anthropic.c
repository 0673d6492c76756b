/* anthropic.c — the Anthropic Messages API (PROVIDERS.md §A): request
 * body and headers, the JSON reply, the SSE event stream and error
 * bodies. Only text content is used; tool_use, thinking and any block or
 * event type added later are skipped. */
#include "provider.h"
#include "../base/util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Strings go through buf_json_string, which turns invalid UTF-8 into
 * U+FFFD: the API rejects a body that is not UTF-8. */
static void put_key_str(Buf *b, const char *key, const char *s) {
  buf_printf(b, ",\"%s\":", key);
  buf_json_string(b, s, strlen(s));
}

static char *anthropic_build_body(const ProviderRequest *req) {
  char *schema = NULL;
  if (req->schema) {
    cJSON *j = cJSON_Parse(req->schema);
    if (!j) return NULL;
    schema = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!schema) return NULL;
  }
  Buf b;
  buf_init(&b);
  buf_puts(&b, "{\"model\":");
  buf_json_string(&b, req->model ? req->model : "", req->model ? strlen(req->model) : 0);
  buf_printf(&b, ",\"max_tokens\":%lld", (long long)req->max_tokens);
  if (req->system) put_key_str(&b, "system", req->system);
  buf_puts(&b, ",\"messages\":[");
  for (uint32_t i = 0; i < req->nmsgs; i++) {
    const ChatMsg *m = &req->msgs[i];
    buf_puts(&b, i ? ",{\"role\":" : "{\"role\":");
    buf_json_string(&b, m->role ? m->role : "user", strlen(m->role ? m->role : "user"));
    put_key_str(&b, "content", m->text ? m->text : "");
    buf_putc(&b, '}');
  }
  buf_putc(&b, ']');
  if (isfinite(req->temperature)) { buf_puts(&b, ",\"temperature\":"); provider_put_number(&b, req->temperature); }
  if (isfinite(req->top_p)) { buf_puts(&b, ",\"top_p\":"); provider_put_number(&b, req->top_p); }
  if (req->nstop) {
    buf_puts(&b, ",\"stop_sequences\":[");
    for (uint32_t i = 0; i < req->nstop; i++) {
      if (i) buf_putc(&b, ',');
      buf_json_string(&b, req->stop[i], strlen(req->stop[i]));
    }
    buf_putc(&b, ']');
  }
  if (req->stream) buf_puts(&b, ",\"stream\":true");
  if (schema) {
    /* The GA form; the answer comes back as an ordinary text block. */
    buf_puts(&b, ",\"output_config\":{\"format\":{\"type\":\"json_schema\",\"schema\":");
    buf_puts(&b, schema);
    buf_puts(&b, "}}");
    cJSON_free(schema);
  }
  buf_putc(&b, '}');
  return b.data;
}

static char **anthropic_build_headers(const char *api_key, uint32_t attempt) {
  static const char *const fixed[] = {"anthropic-version: 2023-06-01", "content-type: application/json", NULL};
  return provider_header_lines("x-api-key: ", api_key, fixed, attempt);
}

/* usage -> r->usage; only the fields present change (message_delta sends
 * some). `final_output`: this output count is the reply's own; the
 * stream's message_start carries a placeholder (1) that must not pass for
 * a report, so a stream whose message_delta says nothing is unreported. */
static void take_usage(const cJSON *usage, ProviderReply *r, bool final_output) {
  if (!cJSON_IsObject(usage)) return;
  Usage *u = &r->usage;
  provider_take_tokens(r, cJSON_GetObjectItemCaseSensitive(usage, "input_tokens"), &u->input_tokens,
                       USAGE_SEEN_INPUT);
  provider_take_tokens(r, cJSON_GetObjectItemCaseSensitive(usage, "output_tokens"), &u->output_tokens,
                       final_output ? USAGE_SEEN_OUTPUT : 0);
  provider_take_tokens(r, cJSON_GetObjectItemCaseSensitive(usage, "cache_creation_input_tokens"),
                       &u->cache_write_tokens, 0);
  provider_take_tokens(r, cJSON_GetObjectItemCaseSensitive(usage, "cache_read_input_tokens"),
                       &u->cache_read_tokens, 0);
}

static void take_stop(ProviderReply *r, const cJSON *stop) {
  if (!cJSON_IsString(stop)) return;
  provider_set_str(&r->stop_reason, stop);
  if (strcmp(stop->valuestring, "refusal") == 0) r->refusal = true;
}

/* "type: message" of an {"type":"error","error":{...}} object; false when
 * it has neither. */
static bool error_text(const cJSON *err, Buf *msg) {
  if (!cJSON_IsObject(err)) return false;
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(err, "type");
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");
  bool ht = cJSON_IsString(type) && *type->valuestring, hm = cJSON_IsString(m) && *m->valuestring;
  if (!ht && !hm) return false;
  if (ht) provider_put_clean(msg, type->valuestring, strlen(type->valuestring), 100);
  if (ht && hm) buf_puts(msg, ": ");
  if (hm) provider_put_clean(msg, m->valuestring, strlen(m->valuestring), 2000);
  return true;
}

static bool anthropic_parse_reply(const char *body, size_t len, ProviderReply *out, char **err) {
  cJSON *j = provider_json_parse(body, len);
  Buf m;
  buf_init(&m);
  if (!cJSON_IsObject(j)) {
    buf_puts(&m, "reply is not a JSON object");
    cJSON_Delete(j);
    return buf_fail(&m, err);
  }
  const cJSON *content = cJSON_GetObjectItemCaseSensitive(j, "content");
  if (!cJSON_IsArray(content)) {
    if (!error_text(cJSON_GetObjectItemCaseSensitive(j, "error"), &m))
      buf_puts(&m, "reply has no content array");
    cJSON_Delete(j);
    return buf_fail(&m, err);
  }
  const cJSON *block;
  cJSON_ArrayForEach(block, content) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(block, "type");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(block, "text");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "text") == 0 && cJSON_IsString(text))
      buf_puts(&out->text, text->valuestring);
  }
  take_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), out, true);
  take_stop(out, cJSON_GetObjectItemCaseSensitive(j, "stop_reason"));
  provider_set_str(&out->request_id, cJSON_GetObjectItemCaseSensitive(j, "id"));
  cJSON_Delete(j);
  return true;
}

static bool stream_fail(StreamState *st, const char *msg) {
  st->failed = true;
  buf_puts(&st->error, msg);
  return false;
}

static bool anthropic_stream_event(StreamState *st, const char *event, const char *data, size_t len) {
  static const char *const known[] = {
    "message_start", "content_block_start", "content_block_delta", "message_delta",
    "message_stop", "error",
  };
  cJSON *j = NULL;
  const char *name = event;
  if (!*name) {
    /* No `event:` line: the JSON type field carries the same name. */
    j = provider_json_parse(data, len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
    name = cJSON_IsString(t) ? t->valuestring : "";
  }
  bool is_known = false;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(name, known[i]) == 0) is_known = true;
  if (!is_known) {   /* ping, content_block_stop, and whatever comes next */
    cJSON_Delete(j);
    return true;
  }
  if (!j) j = provider_json_parse(data, len);
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    Buf m;
    buf_init(&m);
    buf_puts(&m, "invalid JSON in stream event ");
    provider_put_clean(&m, name, strlen(name), 60);
    stream_fail(st, m.data);
    buf_free(&m);
    return false;
  }
  bool go_on = true;
  ProviderReply *r = &st->reply;
  if (strcmp(name, "message_start") == 0) {
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    take_usage(cJSON_GetObjectItemCaseSensitive(msg, "usage"), r, false);
    provider_set_str(&r->request_id, cJSON_GetObjectItemCaseSensitive(msg, "id"));
  } else if (strcmp(name, "content_block_start") == 0) {
    const cJSON *cb = cJSON_GetObjectItemCaseSensitive(j, "content_block");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(cb, "type");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(cb, "text");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "text") == 0 && cJSON_IsString(text))
      buf_puts(&r->text, text->valuestring);
  } else if (strcmp(name, "content_block_delta") == 0) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "delta");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "type");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(d, "text");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "text_delta") == 0 && cJSON_IsString(text))
      buf_puts(&r->text, text->valuestring);
  } else if (strcmp(name, "message_delta") == 0) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "delta");
    take_stop(r, cJSON_GetObjectItemCaseSensitive(d, "stop_reason"));
    /* Counts here are cumulative: the last one wins. */
    take_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), r, true);
  } else if (strcmp(name, "message_stop") == 0) {
    st->done = true;
    go_on = false;
  } else {   /* error: final, the 200 has already been sent */
    Buf m;
    buf_init(&m);
    if (!error_text(cJSON_GetObjectItemCaseSensitive(j, "error"), &m))
      buf_puts(&m, "error event without a message");
    stream_fail(st, m.data);
    buf_free(&m);
    go_on = false;
  }
  cJSON_Delete(j);
  return go_on;
}

static void anthropic_error_message(int status, const char *body, size_t len, Buf *msg) {
  cJSON *j = provider_json_parse(body, len);
  bool ok = cJSON_IsObject(j) && error_text(cJSON_GetObjectItemCaseSensitive(j, "error"), msg);
  cJSON_Delete(j);
  if (!ok) provider_error_fallback(status, body, len, msg);
}

const Provider provider_anthropic = {
  .name = "anthropic",
  .schema_no_bounds = true,
  .key_env = "ANTHROPIC_API_KEY",
  .base_env = "ANTHROPIC_BASE_URL",
  .default_base = "https://api.anthropic.com",
  .path = "/v1/messages",
  .build_body = anthropic_build_body,
  .build_headers = anthropic_build_headers,
  .parse_reply = anthropic_parse_reply,
  .stream_event = anthropic_stream_event,
  .error_message = anthropic_error_message,
};
