/* anthropic.c — the Anthropic Messages API (PROVIDERS.md §A): request
 * body and headers, the JSON reply, the SSE event stream and error
 * bodies, tool definitions, tool_use and tool_result blocks included.
 * Thinking, server tools and any block or event type added later are
 * skipped. */
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


/* An assistant turn that made calls: a text block when it has text (the
 * API refuses an empty one), then one tool_use block per call with its
 * input as an object. */
static void put_assistant_calls(Buf *b, const ChatMsg *m) {
  buf_puts(b, "{\"role\":\"assistant\",\"content\":[");
  bool first = true;
  if (m->text && *m->text) {
    buf_puts(b, "{\"type\":\"text\",\"text\":");
    buf_json_string(b, m->text, strlen(m->text));
    buf_putc(b, '}');
    first = false;
  }
  for (uint32_t k = 0; k < m->ncalls; k++, first = false) {
    const ToolCall *c = &m->calls[k];
    buf_puts(b, first ? "{\"type\":\"tool_use\",\"id\":" : ",{\"type\":\"tool_use\",\"id\":");
    buf_json_string(b, c->id ? c->id : "", c->id ? strlen(c->id) : 0);
    buf_puts(b, ",\"name\":");
    buf_json_string(b, c->name ? c->name : "", c->name ? strlen(c->name) : 0);
    char *args = provider_call_args(c);
    buf_puts(b, ",\"input\":");
    buf_puts(b, args);
    free(args);
    buf_putc(b, '}');
  }
  buf_puts(b, "]}");
}

/* The messages array. Consecutive tool results form one user turn of
 * tool_result blocks (the API wants every result of a turn's calls in the
 * next message); a user text right after them joins that turn as a text
 * block after the results. */
static void put_messages(Buf *b, const ProviderRequest *req) {
  buf_puts(b, ",\"messages\":[");
  bool first = true;
  for (uint32_t i = 0; i < req->nmsgs; first = false) {
    const ChatMsg *m = &req->msgs[i];
    const char *role = m->role ? m->role : "user";
    if (!first) buf_putc(b, ',');
    if (strcmp(role, "tool") == 0) {
      buf_puts(b, "{\"role\":\"user\",\"content\":[");
      for (bool one = true; i < req->nmsgs && req->msgs[i].role && strcmp(req->msgs[i].role, "tool") == 0;
           i++, one = false) {
        const ChatMsg *t = &req->msgs[i];
        buf_puts(b, one ? "{\"type\":\"tool_result\",\"tool_use_id\":" : ",{\"type\":\"tool_result\",\"tool_use_id\":");
        buf_json_string(b, t->tool_id ? t->tool_id : "", t->tool_id ? strlen(t->tool_id) : 0);
        buf_puts(b, ",\"content\":");
        buf_json_string(b, t->text ? t->text : "", t->text ? strlen(t->text) : 0);
        if (t->is_error) buf_puts(b, ",\"is_error\":true");
        buf_putc(b, '}');
      }
      if (i < req->nmsgs && req->msgs[i].role && strcmp(req->msgs[i].role, "user") == 0) {
        const char *text = req->msgs[i].text ? req->msgs[i].text : "";
        if (*text) {
          buf_puts(b, ",{\"type\":\"text\",\"text\":");
          buf_json_string(b, text, strlen(text));
          buf_putc(b, '}');
        }
        i++;
      }
      buf_puts(b, "]}");
      continue;
    }
    if (strcmp(role, "assistant") == 0 && m->ncalls) {
      put_assistant_calls(b, m);
      i++;
      continue;
    }
    buf_puts(b, "{\"role\":");
    buf_json_string(b, role, strlen(role));
    put_key_str(b, "content", m->text ? m->text : "");
    buf_putc(b, '}');
    i++;
  }
  buf_putc(b, ']');
}

static char *anthropic_build_body(const ProviderRequest *req) {
  char *schema = NULL;
  if (req->schema) {
    schema = provider_compact_json(req->schema);
    if (!schema) return NULL;
  }
  Buf b;
  buf_init(&b);
  buf_puts(&b, "{\"model\":");
  buf_json_string(&b, req->model ? req->model : "", req->model ? strlen(req->model) : 0);
  buf_printf(&b, ",\"max_tokens\":%lld", (long long)req->max_tokens);
  if (req->system) put_key_str(&b, "system", req->system);
  put_messages(&b, req);
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
  /* tools: name, description (when there is one) and input_schema. Neither
   * tool_choice (the default, auto, is wanted) nor strict (the loop checks
   * every call against the parameter types itself) is sent. */
  if (!provider_put_tools(&b, req, "{\"name\":", "input_schema", "}")) {
    free(schema);
    buf_free(&b);
    return NULL;
  }
  if (schema) {
    /* The GA form; the answer comes back as an ordinary text block. With
     * tools it shapes the final answer only: tool_use inputs follow their
     * own input_schema. */
    buf_puts(&b, ",\"output_config\":{\"format\":{\"type\":\"json_schema\",\"schema\":");
    buf_puts(&b, schema);
    buf_puts(&b, "}}");
    free(schema);
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
    if (!cJSON_IsString(type)) continue;
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(block, "text");
    if (strcmp(type->valuestring, "text") == 0 && cJSON_IsString(text))
      buf_puts(&out->text, text->valuestring);
    if (strcmp(type->valuestring, "tool_use") != 0) continue;   /* thinking, server_tool_use, ... */
    ToolCall *c = provider_call_add(out, cJSON_GetObjectItemCaseSensitive(block, "id"),
                                    cJSON_GetObjectItemCaseSensitive(block, "name"), &m);
    if (!c) break;
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(block, "input");
    char *in = input ? cJSON_PrintUnformatted(input) : NULL;
    provider_call_input(c, in ? in : "", in ? strlen(in) : 0);
    free(in);
  }
  if (m.len || !provider_calls_finish(out, &m)) {
    cJSON_Delete(j);
    return buf_fail(&m, err);
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

/* stream_fail with the text of m, which is freed. */
static bool stream_fail_buf(StreamState *st, Buf *m) {
  stream_fail(st, m->data ? m->data : "");
  buf_free(m);
  return false;
}

/* The block index of a content_block_* event, or -1. */
static int64_t block_index(const cJSON *j) {
  const cJSON *idx = cJSON_GetObjectItemCaseSensitive(j, "index");
  if (!cJSON_IsNumber(idx) || !(idx->valuedouble >= 0 && idx->valuedouble < 1e9)) return -1;
  return (int64_t)idx->valuedouble;
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
    if (cJSON_IsString(type) && strcmp(type->valuestring, "tool_use") == 0) {
      /* Its input arrives as input_json_delta fragments keyed by index. */
      Buf m;
      buf_init(&m);
      int64_t idx = block_index(j);
      int64_t k = idx < 0 ? -1 : provider_stream_call(r, idx, true, &m);
      if (k < 0) {
        if (!m.len) buf_puts(&m, "tool_use block without an index");
        cJSON_Delete(j);
        return stream_fail_buf(st, &m);
      }
      buf_free(&m);
      ToolCall *c = &r->calls[k];
      provider_set_str(&c->id, cJSON_GetObjectItemCaseSensitive(cb, "id"));
      provider_set_str(&c->name, cJSON_GetObjectItemCaseSensitive(cb, "name"));
      provider_stream_start_input(r, (uint32_t)k, cJSON_GetObjectItemCaseSensitive(cb, "input"));
    }
  } else if (strcmp(name, "content_block_delta") == 0) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "delta");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "type");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(d, "text");
    const cJSON *part = cJSON_GetObjectItemCaseSensitive(d, "partial_json");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "text_delta") == 0 && cJSON_IsString(text))
      buf_puts(&r->text, text->valuestring);
    if (cJSON_IsString(type) && strcmp(type->valuestring, "input_json_delta") == 0 && cJSON_IsString(part)) {
      /* Fragments of a block that is not one of our tool_use blocks
       * (server tools, ...) are skipped like the block itself. */
      int64_t idx = block_index(j);
      int64_t k = idx < 0 ? -1 : provider_stream_call(r, idx, false, NULL);
      Buf m;
      buf_init(&m);
      if (k >= 0 && !provider_stream_args(r, (uint32_t)k, part->valuestring, strlen(part->valuestring), &m)) {
        cJSON_Delete(j);
        return stream_fail_buf(st, &m);
      }
      buf_free(&m);
    }
  } else if (strcmp(name, "message_delta") == 0) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "delta");
    take_stop(r, cJSON_GetObjectItemCaseSensitive(d, "stop_reason"));
    /* Counts here are cumulative: the last one wins. */
    take_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), r, true);
  } else if (strcmp(name, "message_stop") == 0) {
    Buf m;
    buf_init(&m);
    if (!provider_calls_finish(r, &m)) {
      cJSON_Delete(j);
      return stream_fail_buf(st, &m);
    }
    buf_free(&m);
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
