/* openai.c — OpenAI Chat Completions and the servers that imitate it
 * (Ollama, llama.cpp, vLLM; PROVIDERS.md §B): request body and headers,
 * the JSON reply, the `data:`-only chunk stream ending in [DONE], and the
 * many shapes of error body those servers send, tool definitions, calls
 * and results included. Reasoning fields and unknown fields are skipped. */
#include "provider.h"
#include "../base/util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {"role":ROLE,"content":TEXT}; buf_json_string keeps the body UTF-8. */
static void put_msg(Buf *b, bool first, const char *role, const char *text) {
  buf_puts(b, first ? "{\"role\":" : ",{\"role\":");
  buf_json_string(b, role, strlen(role));
  buf_puts(b, ",\"content\":");
  buf_json_string(b, text, strlen(text));
  buf_putc(b, '}');
}


static void put_str(Buf *b, const char *s) {
  buf_json_string(b, s ? s : "", s ? strlen(s) : 0);
}

/* An assistant turn that made calls: content null (or its text) and
 * tool_calls, whose arguments are a JSON *string* holding the object. */
static void put_assistant_calls(Buf *b, bool first, const ChatMsg *m) {
  buf_puts(b, first ? "{\"role\":\"assistant\",\"content\":" : ",{\"role\":\"assistant\",\"content\":");
  if (m->text && *m->text) put_str(b, m->text);
  else buf_puts(b, "null");
  buf_puts(b, ",\"tool_calls\":[");
  for (uint32_t k = 0; k < m->ncalls; k++) {
    const ToolCall *c = &m->calls[k];
    buf_puts(b, k ? ",{\"id\":" : "{\"id\":");
    put_str(b, c->id);
    buf_puts(b, ",\"type\":\"function\",\"function\":{\"name\":");
    put_str(b, c->name);
    char *args = provider_call_args(c);
    buf_puts(b, ",\"arguments\":");
    buf_json_string(b, args, strlen(args));
    free(args);
    buf_puts(b, "}}");
  }
  buf_puts(b, "]}");
}

/* A tool result: {"role":"tool","tool_call_id":ID,"content":TEXT}. The
 * format has no error flag, so an error says so in its first word. */
static void put_tool_result(Buf *b, bool first, const ChatMsg *m) {
  buf_puts(b, first ? "{\"role\":\"tool\",\"tool_call_id\":" : ",{\"role\":\"tool\",\"tool_call_id\":");
  put_str(b, m->tool_id);
  buf_puts(b, ",\"content\":");
  if (m->is_error) {
    Buf t;
    buf_init(&t);
    buf_puts(&t, "Error: ");
    if (m->text) buf_puts(&t, m->text);
    buf_json_string(b, t.data, t.len);
    buf_free(&t);
  } else {
    put_str(b, m->text);
  }
  buf_putc(b, '}');
}

static char *openai_build_body(const ProviderRequest *req) {
  char *schema = NULL;
  if (req->schema) {
    schema = provider_compact_json(req->schema);
    if (!schema) return NULL;
  }
  Buf b;
  buf_init(&b);
  buf_puts(&b, "{\"model\":");
  buf_json_string(&b, req->model ? req->model : "", req->model ? strlen(req->model) : 0);
  buf_puts(&b, ",\"messages\":[");
  bool first = true;
  if (req->system) { put_msg(&b, true, "system", req->system); first = false; }
  for (uint32_t i = 0; i < req->nmsgs; i++, first = false) {
    const ChatMsg *m = &req->msgs[i];
    const char *role = m->role ? m->role : "user";
    if (strcmp(role, "tool") == 0) put_tool_result(&b, first, m);
    else if (strcmp(role, "assistant") == 0 && m->ncalls) put_assistant_calls(&b, first, m);
    else put_msg(&b, first, role, m->text ? m->text : "");
  }
  buf_putc(&b, ']');
  /* max_tokens is deprecated upstream (o-series reject it) but is all
   * OpenAI-compatible servers such as Ollama understand: a base URL set to
   * anything but api.openai.com gets it. */
  bool legacy = req->base && req->base[0] && strncmp(req->base, "https://api.openai.com", 22) != 0;
  buf_printf(&b, ",\"%s\":%lld", legacy ? "max_tokens" : "max_completion_tokens",
             (long long)req->max_tokens);
  if (isfinite(req->temperature)) { buf_puts(&b, ",\"temperature\":"); provider_put_number(&b, req->temperature); }
  if (isfinite(req->top_p)) { buf_puts(&b, ",\"top_p\":"); provider_put_number(&b, req->top_p); }
  if (req->nstop) {
    buf_puts(&b, ",\"stop\":[");
    for (uint32_t i = 0; i < req->nstop; i++) {
      if (i) buf_putc(&b, ',');
      buf_json_string(&b, req->stop[i], strlen(req->stop[i]));
    }
    buf_putc(&b, ']');
  }
  if (req->stream) buf_puts(&b, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
  /* tools: [{"type":"function","function":{name, description, parameters}}].
   * Neither tool_choice (auto is the default) nor strict (the loop checks
   * every call against the parameter types itself) is sent. */
  if (!provider_put_tools(&b, req, "{\"type\":\"function\",\"function\":{\"name\":", "parameters", "}}")) {
    free(schema);
    buf_free(&b);
    return NULL;
  }
  /* With tools too: response_format shapes the final answer only. */
  if (schema) {
    const char *name = req->schema_name && *req->schema_name ? req->schema_name : "reply";
    buf_puts(&b, ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":");
    buf_json_string(&b, name, strlen(name));
    buf_puts(&b, ",\"strict\":true,\"schema\":");
    buf_puts(&b, schema);
    buf_puts(&b, "}}");
    free(schema);
  }
  buf_putc(&b, '}');
  return b.data;
}

static char **openai_build_headers(const char *api_key, uint32_t attempt) {
  static const char *const fixed[] = {"Content-Type: application/json", NULL};
  return provider_header_lines("Authorization: Bearer ", api_key, fixed, attempt);
}

/* usage wherever it appears (its own chunk, or llama.cpp's finish chunk);
 * cached prompt tokens count as cache reads, not input. */
static void take_usage(const cJSON *usage, ProviderReply *r) {
  if (!cJSON_IsObject(usage)) return;
  int64_t prompt = 0, cached = 0;
  provider_take_tokens(r, cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens"), &prompt, USAGE_SEEN_INPUT);
  const cJSON *det = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens_details");
  provider_take_tokens(r, cJSON_GetObjectItemCaseSensitive(det, "cached_tokens"), &cached, 0);
  if (cached > prompt) cached = prompt;
  r->usage.input_tokens = prompt - cached;
  r->usage.cache_read_tokens = cached;
  provider_take_tokens(r, cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens"), &r->usage.output_tokens,
                       USAGE_SEEN_OUTPUT);
}

static void take_finish(ProviderReply *r, const cJSON *finish) {
  if (!cJSON_IsString(finish)) return;
  provider_set_str(&r->stop_reason, finish);
  if (strcmp(finish->valuestring, "content_filter") == 0) r->refusal = true;
}

static void take_refusal(ProviderReply *r, const cJSON *refusal, bool append) {
  if (!cJSON_IsString(refusal)) return;   /* null: no refusal */
  r->refusal = true;
  if (append && r->refusal_text) {
    Buf b;
    buf_init(&b);
    buf_puts(&b, r->refusal_text);
    buf_puts(&b, refusal->valuestring);
    free(r->refusal_text);
    r->refusal_text = b.data;
  } else {
    provider_set_str(&r->refusal_text, refusal);
  }
}

/* The choice with index 0 (n > 1 is never requested), else the first. */
static const cJSON *choice0(const cJSON *choices) {
  const cJSON *c, *first = NULL;
  cJSON_ArrayForEach(c, choices) {
    if (!cJSON_IsObject(c)) continue;
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "index");
    if (cJSON_IsNumber(idx) && idx->valuedouble == 0) return c;
    if (!first && !cJSON_IsNumber(idx)) first = c;
  }
  return first;
}

/* content as a string, or (some compatible servers) an array of text
 * parts. */
static void take_content(Buf *text, const cJSON *content) {
  if (cJSON_IsString(content)) { buf_puts(text, content->valuestring); return; }
  const cJSON *part;
  if (cJSON_IsArray(content)) cJSON_ArrayForEach(part, content) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
    if (cJSON_IsString(t)) buf_puts(text, t->valuestring);
  }
}

/* The message of an `error` value in any server's style: an object with
 * message (and a string code or type), or a bare string. false when it
 * carries no text. */
static bool error_text(const cJSON *err, Buf *msg) {
  if (cJSON_IsString(err) && *err->valuestring) {
    provider_put_clean(msg, err->valuestring, strlen(err->valuestring), 2000);
    return true;
  }
  if (!cJSON_IsObject(err)) return false;
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");
  if (!cJSON_IsString(m) || !*m->valuestring) return false;
  provider_put_clean(msg, m->valuestring, strlen(m->valuestring), 2000);
  /* The code tells rate limits from exhausted quota; llama.cpp's int code
   * repeats the status, so the type is shown instead. */
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(err, "type");
  const cJSON *tag = cJSON_IsString(code) && *code->valuestring ? code
                   : cJSON_IsString(type) && *type->valuestring ? type : NULL;
  if (tag) {
    buf_puts(msg, " (");
    provider_put_clean(msg, tag->valuestring, strlen(tag->valuestring), 100);
    buf_putc(msg, ')');
  }
  return true;
}

/* Python truthiness of data.get("error"), which is what the SDK tests. */
static bool truthy(const cJSON *v) {
  if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v)) return false;
  if (cJSON_IsString(v)) return *v->valuestring != '\0';
  if (cJSON_IsArray(v) || cJSON_IsObject(v)) return v->child != NULL;
  if (cJSON_IsNumber(v)) return v->valuedouble != 0;
  return true;
}

/* arguments is a JSON string holding the object; some compatible
 * servers send the object itself, which is taken as it is. */
static void take_arguments(ToolCall *c, const cJSON *args) {
  if (cJSON_IsString(args)) {
    provider_call_input(c, args->valuestring, strlen(args->valuestring));
    return;
  }
  char *in = args ? cJSON_PrintUnformatted(args) : NULL;
  provider_call_input(c, in ? in : "", in ? strlen(in) : 0);
  free(in);
}

/* The tool_calls of one stream delta: each entry's index says which call
 * it continues; the first carries id and name, the rest argument
 * fragments. An entry without an index (some compatible servers) starts a
 * call when its id is new, else continues the latest. */
static bool take_call_deltas(StreamState *st, const cJSON *calls) {
  ProviderReply *r = &st->reply;
  const cJSON *d;
  if (!cJSON_IsArray(calls)) return true;
  cJSON_ArrayForEach(d, calls) {
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(d, "index");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(d, "function");
    Buf m;
    buf_init(&m);
    int64_t k = -1;
    if (cJSON_IsNumber(idx) && idx->valuedouble >= 0 && idx->valuedouble < 1e9) {
      k = provider_stream_call(r, (int64_t)idx->valuedouble, true, &m);
    } else if (cJSON_IsString(id) && *id->valuestring) {
      for (uint32_t i = 0; i < r->ncalls && k < 0; i++)
        if (r->calls[i].id && strcmp(r->calls[i].id, id->valuestring) == 0) k = i;
      /* keys of calls without an index stay clear of real indices */
      if (k < 0) k = provider_stream_call(r, -1 - (int64_t)r->ncalls, true, &m);
    } else if (r->ncalls) {
      k = r->ncalls - 1;
    } else {
      k = provider_stream_call(r, -1, true, &m);
    }
    if (k < 0) {
      st->failed = true;
      buf_puts(&st->error, m.len ? m.data : "bad tool call delta");
      buf_free(&m);
      return false;
    }
    ToolCall *c = &r->calls[k];
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
    if (!c->id && cJSON_IsString(id) && *id->valuestring) provider_set_str(&c->id, id);
    if (!c->name && cJSON_IsString(name) && *name->valuestring) provider_set_str(&c->name, name);
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
    bool fits = true;
    if (cJSON_IsString(args)) {
      fits = provider_stream_args(r, (uint32_t)k, args->valuestring, strlen(args->valuestring), &m);
    } else if (cJSON_IsObject(args)) {   /* a whole object at once */
      char *in = cJSON_PrintUnformatted(args);
      if (in) fits = provider_stream_args(r, (uint32_t)k, in, strlen(in), &m);
      free(in);
    }
    if (!fits) {
      st->failed = true;
      buf_puts(&st->error, m.data);
      buf_free(&m);
      return false;
    }
    buf_free(&m);
  }
  return true;
}

static bool openai_parse_reply(const char *body, size_t len, ProviderReply *out, char **err) {
  cJSON *j = provider_json_parse(body, len);
  Buf m;
  buf_init(&m);
  if (!cJSON_IsObject(j)) {
    buf_puts(&m, "reply is not a JSON object");
    cJSON_Delete(j);
    return buf_fail(&m, err);
  }
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
  const cJSON *choice = choice0(cJSON_GetObjectItemCaseSensitive(j, "choices"));
  if (truthy(e) || !choice) {
    if (!error_text(e, &m)) buf_puts(&m, "reply has no choices");
    cJSON_Delete(j);
    return buf_fail(&m, err);
  }
  const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
  take_content(&out->text, cJSON_GetObjectItemCaseSensitive(msg, "content"));
  const cJSON *call, *calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
  if (cJSON_IsArray(calls)) cJSON_ArrayForEach(call, calls) {
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
    ToolCall *c = provider_call_add(out, cJSON_GetObjectItemCaseSensitive(call, "id"),
                                    cJSON_GetObjectItemCaseSensitive(fn, "name"), &m);
    if (!c) break;
    take_arguments(c, cJSON_GetObjectItemCaseSensitive(fn, "arguments"));
  }
  if (m.len || !provider_calls_finish(out, &m)) {
    cJSON_Delete(j);
    return buf_fail(&m, err);
  }
  take_refusal(out, cJSON_GetObjectItemCaseSensitive(msg, "refusal"), false);
  take_finish(out, cJSON_GetObjectItemCaseSensitive(choice, "finish_reason"));
  take_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), out);
  provider_set_str(&out->request_id, cJSON_GetObjectItemCaseSensitive(j, "id"));
  cJSON_Delete(j);
  return true;
}

static bool openai_stream_event(StreamState *st, const char *event, const char *data, size_t len) {
  (void)event;   /* chat completions send data: only */
  if (len >= 6 && memcmp(data, "[DONE]", 6) == 0) {
    Buf m;
    buf_init(&m);
    if (!provider_calls_finish(&st->reply, &m)) {
      st->failed = true;
      buf_puts(&st->error, m.data);
      buf_free(&m);
      return false;
    }
    buf_free(&m);
    st->done = true;
    return false;
  }
  cJSON *j = provider_json_parse(data, len);
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    st->failed = true;
    buf_puts(&st->error, "invalid JSON in stream chunk");
    return false;
  }
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
  if (truthy(e)) {   /* final: the 200 has already been sent */
    st->failed = true;
    if (!error_text(e, &st->error)) buf_puts(&st->error, "error chunk without a message");
    cJSON_Delete(j);
    return false;
  }
  ProviderReply *r = &st->reply;
  if (!r->request_id) provider_set_str(&r->request_id, cJSON_GetObjectItemCaseSensitive(j, "id"));
  const cJSON *choice = choice0(cJSON_GetObjectItemCaseSensitive(j, "choices"));
  if (choice) {
    const cJSON *delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(delta, "content");
    if (cJSON_IsString(content)) buf_puts(&r->text, content->valuestring);
    if (!take_call_deltas(st, cJSON_GetObjectItemCaseSensitive(delta, "tool_calls"))) {
      cJSON_Delete(j);
      return false;
    }
    take_refusal(r, cJSON_GetObjectItemCaseSensitive(delta, "refusal"), true);
    take_finish(r, cJSON_GetObjectItemCaseSensitive(choice, "finish_reason"));
  }
  take_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), r);
  cJSON_Delete(j);
  return true;
}

static void openai_error_message(int status, const char *body, size_t len, Buf *msg) {
  cJSON *j = provider_json_parse(body, len);
  bool ok = false;
  if (cJSON_IsObject(j)) {
    /* Wrapped (OpenAI, Ollama, llama.cpp, newer vLLM), else vLLM's old
     * flat {"object":"error","message":...}. */
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    ok = e ? error_text(e, msg) : error_text(j, msg);
  }
  cJSON_Delete(j);
  if (!ok) provider_error_fallback(status, body, len, msg);
}

const Provider provider_openai = {
  .base_suffix = "/v1", /* the OpenAI SDK's base URL ends in it (Ollama's docs too) */
  .name = "openai",
  .key_env = "OPENAI_API_KEY",
  .base_env = "OPENAI_BASE_URL",
  .default_base = "https://api.openai.com",
  .path = "/v1/chat/completions",
  .build_body = openai_build_body,
  .build_headers = openai_build_headers,
  .parse_reply = openai_parse_reply,
  .stream_event = openai_stream_event,
  .error_message = openai_error_message,
};
