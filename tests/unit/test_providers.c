/* test_providers.c — the provider wire formats on captured bytes: request
 * bodies and headers, replies, SSE streams split at every byte, error
 * bodies of every server style, the SDK retry rules and key redaction.
 * Nothing here touches the network. Prints TAP-style `ok N - desc` lines
 * and exits non-zero if any check failed. */
#include "../../runtime/provider.h"
#include "../../base/util.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- request bodies and headers --------------------------------------- */

static const ChatMsg two_msgs[] = {
  { .role = "user", .text = "Weather in Paris?" },
  { .role = "assistant", .text = "Checking." },
};

static ProviderRequest base_request(void) {
  ProviderRequest r;
  memset(&r, 0, sizeof r);
  r.model = "m-1";
  r.system = "Be terse.";
  r.msgs = two_msgs;
  r.nmsgs = 2;
  r.temperature = 0.2;
  r.top_p = NAN;
  r.max_tokens = 1024;
  r.schema_name = "Finding";
  return r;
}

static const char *SCHEMA =
  "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"
  "\"required\":[\"name\"],\"additionalProperties\":false}";

static const char *jstr(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : -999;
}

static const cJSON *jget(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void test_anthropic_body(void) {
  ProviderRequest r = base_request();
  char *body = provider_anthropic.build_body(&r);
  cJSON *j = body ? cJSON_Parse(body) : NULL;
  ok(j != NULL, "anthropic body is JSON");
  is_str(jstr(j, "model"), "m-1", "anthropic body: model");
  is_num(jnum(j, "max_tokens"), 1024, "anthropic body: max_tokens");
  is_str(jstr(j, "system"), "Be terse.", "anthropic body: system");
  const cJSON *msgs = jget(j, "messages");
  ok(cJSON_GetArraySize(msgs) == 2, "anthropic body: two messages");
  is_str(jstr(cJSON_GetArrayItem(msgs, 0), "role"), "user", "anthropic body: role");
  is_str(jstr(cJSON_GetArrayItem(msgs, 1), "content"), "Checking.", "anthropic body: content text");
  ok(body && strstr(body, "\"temperature\":0.2") != NULL, "anthropic body: temperature printed exactly");
  ok(!jget(j, "top_p") && !jget(j, "stream") && !jget(j, "output_config"),
     "anthropic body: no top_p, stream or output_config when unset");
  cJSON_Delete(j);
  free(body);

  r.schema = SCHEMA;
  r.stream = true;
  r.system = NULL;
  r.temperature = NAN;
  r.top_p = 0.9;
  body = provider_anthropic.build_body(&r);
  j = body ? cJSON_Parse(body) : NULL;
  cJSON *want = cJSON_Parse(SCHEMA);
  const cJSON *fmt = jget(jget(j, "output_config"), "format");
  is_str(jstr(fmt, "type"), "json_schema", "anthropic body: output_config.format.type");
  ok(cJSON_Compare(jget(fmt, "schema"), want, 1), "anthropic body: schema embedded as JSON");
  ok(cJSON_IsTrue(jget(j, "stream")), "anthropic body: stream true");
  is_num(jnum(j, "top_p"), 0.9, "anthropic body: top_p");
  ok(!jget(j, "system") && !jget(j, "temperature"), "anthropic body: no system/temperature when unset");
  cJSON_Delete(want);
  cJSON_Delete(j);
  free(body);

  r.schema = "{not json";
  ok(provider_anthropic.build_body(&r) == NULL, "anthropic body: invalid schema -> NULL");
  ok(provider_openai.build_body(&r) == NULL, "openai body: invalid schema -> NULL");

  /* Invalid UTF-8 in a prompt would make the API reject the body. */
  static const ChatMsg bad[] = { { .role = "user", .text = "a\xff" "b\"q\n" } };
  r = base_request();
  r.msgs = bad;
  r.nmsgs = 1;
  body = provider_anthropic.build_body(&r);
  j = body ? cJSON_Parse(body) : NULL;
  is_str(jstr(cJSON_GetArrayItem(jget(j, "messages"), 0), "content"), "a\xEF\xBF\xBD" "b\"q\n",
         "anthropic body: invalid UTF-8 becomes U+FFFD, quotes escaped");
  cJSON_Delete(j);
  free(body);
}

static void test_openai_body(void) {
  ProviderRequest r = base_request();
  char *body = provider_openai.build_body(&r);
  cJSON *j = body ? cJSON_Parse(body) : NULL;
  ok(j != NULL, "openai body is JSON");
  is_str(jstr(j, "model"), "m-1", "openai body: model");
  const cJSON *msgs = jget(j, "messages");
  ok(cJSON_GetArraySize(msgs) == 3, "openai body: system + two messages");
  is_str(jstr(cJSON_GetArrayItem(msgs, 0), "role"), "system", "openai body: system first");
  is_str(jstr(cJSON_GetArrayItem(msgs, 0), "content"), "Be terse.", "openai body: system text");
  is_str(jstr(cJSON_GetArrayItem(msgs, 2), "role"), "assistant", "openai body: assistant turn");
  is_num(jnum(j, "max_completion_tokens"), 1024, "openai body: max_completion_tokens");
  ok(!jget(j, "max_tokens"), "openai body: no max_tokens");
  ok(!jget(j, "stream") && !jget(j, "stream_options") && !jget(j, "response_format"),
     "openai body: no stream or response_format when unset");
  cJSON_Delete(j);
  free(body);

  r.base = "https://api.openai.com/v1";
  body = provider_openai.build_body(&r);
  j = body ? cJSON_Parse(body) : NULL;
  ok(jget(j, "max_completion_tokens") && !jget(j, "max_tokens"), "openai body: api.openai.com base keeps max_completion_tokens");
  cJSON_Delete(j);
  free(body);

  r.base = "http://127.0.0.1:11434/v1";
  r.stream = true;
  r.schema = SCHEMA;
  body = provider_openai.build_body(&r);
  j = body ? cJSON_Parse(body) : NULL;
  is_num(jnum(j, "max_tokens"), 1024, "openai body: legacy max_tokens");
  ok(!jget(j, "max_completion_tokens"), "openai body: legacy has no max_completion_tokens");
  ok(cJSON_IsTrue(jget(j, "stream")), "openai body: stream true");
  ok(cJSON_IsTrue(jget(jget(j, "stream_options"), "include_usage")), "openai body: include_usage");
  const cJSON *rf = jget(j, "response_format");
  is_str(jstr(rf, "type"), "json_schema", "openai body: response_format.type");
  const cJSON *js = jget(rf, "json_schema");
  is_str(jstr(js, "name"), "Finding", "openai body: json_schema.name");
  ok(cJSON_IsTrue(jget(js, "strict")), "openai body: strict true");
  cJSON *want = cJSON_Parse(SCHEMA);
  ok(cJSON_Compare(jget(js, "schema"), want, 1), "openai body: schema embedded as JSON");
  cJSON_Delete(want);
  cJSON_Delete(j);
  free(body);
}

static int count_with(char **h, const char *needle) {
  int n = 0;
  for (; h && *h; h++) if (strstr(*h, needle)) n++;
  return n;
}

static void test_headers(void) {
  const char *key = "sk-ant-TESTKEY-0123456789";
  char **h = provider_anthropic.build_headers(key, 2);
  ok(count_with(h, key) == 1, "anthropic headers: key in one header");
  ok(count_with(h, "x-api-key: sk-ant-TESTKEY-0123456789") == 1, "anthropic headers: x-api-key");
  ok(count_with(h, "anthropic-version: 2023-06-01") == 1, "anthropic headers: version");
  ok(count_with(h, "content-type: application/json") == 1, "anthropic headers: content-type");
  ok(count_with(h, "x-stainless-retry-count: 2") == 1, "anthropic headers: retry count");
  provider_headers_free(h);

  h = provider_openai.build_headers(key, 0);
  ok(count_with(h, key) == 1, "openai headers: key in one header");
  ok(count_with(h, "Authorization: Bearer sk-ant-TESTKEY-0123456789") == 1, "openai headers: bearer");
  ok(count_with(h, "Content-Type: application/json") == 1, "openai headers: content-type");
  ok(count_with(h, "x-stainless-retry-count: 0") == 1, "openai headers: retry count 0");
  provider_headers_free(h);

  h = provider_openai.build_headers(NULL, 0);
  ok(count_with(h, "Authorization") == 0, "openai headers: no key, no Authorization");
  provider_headers_free(h);
  h = provider_anthropic.build_headers("sk\r\nx-evil: 1", 0);
  ok(count_with(h, "evil") == 0 && count_with(h, "x-api-key") == 0, "anthropic headers: CRLF key not sent");
  provider_headers_free(h);
}

static void test_lookup(void) {
  const char *m = NULL;
  ok(provider_for("anthropic/claude-x", &m) == &provider_anthropic, "provider_for anthropic");
  is_str(m, "claude-x", "provider_for strips the prefix");
  ok(provider_for("openai/meta/llama-3", &m) == &provider_openai, "provider_for openai");
  is_str(m, "meta/llama-3", "provider_for keeps later slashes");
  const Provider *p = provider_for("mock/any", &m);
  ok(p && p->in_process && p->plain_schema && !p->build_body, "provider_for mock: in process, no functions");
  ok(!provider_for("foo/x", &m) && !provider_for("anthropic", &m) && !provider_for("anthropic/", &m)
     && !provider_for("", &m) && !provider_for(NULL, &m), "provider_for unknown -> NULL");
  ok(provider_known_prefix("openai/x") && !provider_known_prefix("openaix/y"), "provider_known_prefix");
  /* the one list of names (vm/providers.def): each has its provider, of that name */
  static const char *const listed[] = {
#define PROVIDER(id, name) name,
#include "../../vm/providers.def"
#undef PROVIDER
  };
  bool all = sizeof listed / sizeof listed[0] == 3;
  for (size_t i = 0; i < sizeof listed / sizeof listed[0]; i++) {
    char spec[64];
    snprintf(spec, sizeof spec, "%s/x", listed[i]);
    const Provider *lp = provider_for(spec, NULL);
    if (!lp || strcmp(lp->name, listed[i]) != 0) all = false;
  }
  ok(all, "every name of vm/providers.def finds the provider of that name");

  Buf u;
  buf_init(&u);
  provider_url(&provider_openai, NULL, &u);
  is_str(u.data, "https://api.openai.com/v1/chat/completions", "url: openai default");
  u.len = 0;
  provider_url(&provider_openai, "http://localhost:11434/v1/", &u);
  is_str(u.data, "http://localhost:11434/v1/chat/completions", "url: SDK-style base with /v1");
  u.len = 0;
  provider_url(&provider_anthropic, "http://127.0.0.1:9000/", &u);
  is_str(u.data, "http://127.0.0.1:9000/v1/messages", "url: anthropic base");
  buf_free(&u);
}

/* ---- non-streaming replies -------------------------------------------- */

/* parse_reply, with its message (if any) in err for the checks below. */
static bool parse(const Provider *p, const char *body, size_t len, ProviderReply *r, Buf *err) {
  memset(r, 0, sizeof *r);
  buf_init(&r->text);
  buf_init(err);
  char *msg = NULL;
  bool good = p->parse_reply(body, len, r, &msg);
  if (msg) buf_puts(err, msg);
  free(msg);
  return good;
}

static void test_anthropic_reply(void) {
  const char *body =
    "{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\","
    "\"content\":[{\"type\":\"text\",\"text\":\"Checking.\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"get_weather\",\"input\":{\"location\":\"Paris\"}},"
    "{\"type\":\"future_block\",\"text\":\"IGNORED\"},{\"type\":\"text\",\"text\":\" Done.\"}],"
    "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"stop_details\":{\"x\":1},"
    "\"usage\":{\"input_tokens\":472,\"output_tokens\":89,\"cache_creation_input_tokens\":7,\"cache_read_input_tokens\":11,"
    "\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},\"service_tier\":\"standard\"}}";
  ProviderReply r;
  Buf err;
  ok(parse(&provider_anthropic, body, strlen(body), &r, &err), "anthropic reply parses");
  is_str(r.text.data, "Checking. Done.", "anthropic reply: text blocks joined, others skipped");
  is_int(r.usage.input_tokens, 472, "anthropic reply: input tokens");
  is_int(r.usage.output_tokens, 89, "anthropic reply: output tokens");
  is_int(r.usage.cache_write_tokens, 7, "anthropic reply: cache write");
  is_int(r.usage.cache_read_tokens, 11, "anthropic reply: cache read");
  is_str(r.stop_reason, "tool_use", "anthropic reply: stop_reason");
  ok(!r.refusal, "anthropic reply: no refusal");
  is_str(r.request_id, "msg_01XFDUDYJgAACzvnptvVoYEL", "anthropic reply: id");
  reply_free(&r);
  buf_free(&err);

  body = "{\"content\":[],\"stop_reason\":\"refusal\",\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}";
  ok(parse(&provider_anthropic, body, strlen(body), &r, &err), "anthropic refusal parses");
  ok(r.refusal && r.text.len == 0, "anthropic refusal: refusal=true, no text");
  reply_free(&r);
  buf_free(&err);

  ok(!parse(&provider_anthropic, "nope", 4, &r, &err) && err.len > 0, "anthropic: non-JSON reply is an error");
  reply_free(&r);
  buf_free(&err);
  ok(!parse(&provider_anthropic, "{}", 2, &r, &err) && err.len > 0, "anthropic: reply without content is an error");
  reply_free(&r);
  buf_free(&err);
  body = "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}";
  ok(!parse(&provider_anthropic, body, strlen(body), &r, &err), "anthropic: error object in a 2xx body");
  is_str(err.data, "api_error: boom", "anthropic: its message");
  reply_free(&r);
  buf_free(&err);
}

static void test_openai_reply(void) {
  const char *body =
    "{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion\",\"created\":1741570283,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_44709d6fcb\",\"service_tier\":\"default\","
    "\"choices\":[{\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\","
    "\"message\":{\"role\":\"assistant\",\"content\":\"{\\\"name\\\":\\\"Alice\\\",\\\"age\\\":30}\",\"refusal\":null,\"annotations\":[]}}],"
    "\"usage\":{\"prompt_tokens\":25,\"completion_tokens\":9,\"total_tokens\":34,"
    "\"prompt_tokens_details\":{\"cached_tokens\":10},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}";
  ProviderReply r;
  Buf err;
  ok(parse(&provider_openai, body, strlen(body), &r, &err), "openai reply parses");
  is_str(r.text.data, "{\"name\":\"Alice\",\"age\":30}", "openai reply: content");
  is_int(r.usage.input_tokens, 15, "openai reply: input excludes cached");
  is_int(r.usage.cache_read_tokens, 10, "openai reply: cached -> cache read");
  is_int(r.usage.output_tokens, 9, "openai reply: completion tokens");
  is_str(r.stop_reason, "stop", "openai reply: finish_reason");
  ok(!r.refusal && !r.refusal_text, "openai reply: no refusal");
  is_str(r.request_id, "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "openai reply: id");
  reply_free(&r);
  buf_free(&err);

  body = "{\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"message\":{\"role\":\"assistant\",\"content\":null,"
         "\"refusal\":\"I can't help with that.\"}}]}";
  ok(parse(&provider_openai, body, strlen(body), &r, &err), "openai refusal parses");
  ok(r.refusal && r.text.len == 0, "openai refusal: refusal=true, content null");
  is_str(r.refusal_text, "I can't help with that.", "openai refusal: refusal_text");
  reply_free(&r);
  buf_free(&err);

  body = "{\"choices\":[{\"index\":0,\"finish_reason\":\"content_filter\",\"message\":{\"content\":\"\"}}]}";
  ok(parse(&provider_openai, body, strlen(body), &r, &err) && r.refusal, "openai content_filter -> refusal");
  reply_free(&r);
  buf_free(&err);

  body = "{\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\",\"message\":{\"role\":\"assistant\",\"content\":null,"
         "\"tool_calls\":[{\"id\":\"call_abc\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}";
  ok(parse(&provider_openai, body, strlen(body), &r, &err) && r.text.len == 0, "openai tool_calls reply: empty text");
  reply_free(&r);
  buf_free(&err);

  ok(!parse(&provider_openai, "{\"choices\":[]}", 14, &r, &err) && err.len > 0, "openai: no choices is an error");
  reply_free(&r);
  buf_free(&err);
  ok(!parse(&provider_openai, "[1]", 3, &r, &err), "openai: array body is an error");
  reply_free(&r);
  buf_free(&err);
}

/* Hostile bytes: kept as bytes, never a crash, never a silent cut. */
static void test_hostile_replies(void) {
  ProviderReply r;
  Buf err;
  const char body1[] = "{\"content\":[{\"type\":\"text\",\"text\":\"a\xff\xfe" "b\"}],\"stop_reason\":\"end_turn\"}";
  ok(parse(&provider_anthropic, body1, sizeof body1 - 1, &r, &err), "invalid UTF-8 reply parses");
  ok(r.text.len == 4 && memcmp(r.text.data, "a\xff\xfe" "b", 4) == 0, "invalid UTF-8 kept as bytes");
  reply_free(&r);
  buf_free(&err);

  const char *body2 = "{\"content\":[{\"type\":\"text\",\"text\":\"a\\u0000b\"}]}";
  ok(parse(&provider_anthropic, body2, strlen(body2), &r, &err), "\\u0000 reply parses");
  is_str(r.text.data, "a\xEF\xBF\xBD" "b", "\\u0000 becomes U+FFFD, text not cut");
  reply_free(&r);
  buf_free(&err);

  const char body3[] = "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"x\0y\"}}]}";
  ok(parse(&provider_openai, body3, sizeof body3 - 1, &r, &err), "raw NUL in reply parses");
  is_str(r.text.data, "x\xEF\xBF\xBDy", "raw NUL becomes U+FFFD");
  reply_free(&r);
  buf_free(&err);

  const char *body4 = "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"<\\ud800>\\\\u0000<\\ud83d\\ude00><\\udc00\"}}]}";
  ok(parse(&provider_openai, body4, strlen(body4), &r, &err), "lone surrogates parse");
  is_str(r.text.data, "<\xEF\xBF\xBD>\\u0000<\xF0\x9F\x98\x80><\xEF\xBF\xBD",
         "lone surrogates -> U+FFFD; escaped backslash and pairs kept");
  reply_free(&r);
  buf_free(&err);

  ok(!parse(&provider_openai, "", 0, &r, &err), "empty body is an error");
  reply_free(&r);
  buf_free(&err);
  const char *deep = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[";
  ok(!parse(&provider_openai, deep, strlen(deep), &r, &err), "unterminated nesting is an error");
  reply_free(&r);
  buf_free(&err);

  /* A 10 MB reply. */
  size_t big = 10u << 20;
  Buf b;
  buf_init(&b);
  buf_puts(&b, "{\"choices\":[{\"index\":0,\"finish_reason\":\"length\",\"message\":{\"content\":\"");
  for (size_t i = 0; i < big / 10; i++) buf_put(&b, "abcdefghi\\n", 11);
  buf_puts(&b, "\"}}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}");
  ok(parse(&provider_openai, b.data, b.len, &r, &err), "10 MB reply parses");
  ok(r.text.len == big / 10 * 10 && r.text.data[9] == '\n' && r.text.data[r.text.len - 2] == 'i',
     "10 MB reply: every byte");
  is_str(r.stop_reason, "length", "10 MB reply: finish_reason");
  reply_free(&r);
  buf_free(&err);
  buf_free(&b);
}

/* ---- SSE -------------------------------------------------------------- */

typedef struct Rec {
  Buf log;   /* "event|data\n" per dispatched event */
  int n;
  int stop_after;
} Rec;

static bool rec_event(void *ctx, const char *event, const char *data, size_t len) {
  Rec *r = ctx;
  buf_puts(&r->log, event);
  buf_putc(&r->log, '|');
  buf_put(&r->log, data, len);
  buf_putc(&r->log, '\n');
  r->n++;
  return !(r->stop_after && r->n >= r->stop_after);
}

static void sse_case(const char *input, const char *want, const char *desc) {
  SseParser p;
  Rec r = { {0}, 0, 0 };
  sse_init(&p);
  sse_feed(&p, input, strlen(input), rec_event, &r);
  is_str(r.log.data ? r.log.data : "", want, "%s", desc);
  sse_free(&p);
  buf_free(&r.log);
}

static void test_sse(void) {
  sse_case("data: a\ndata: b\n\n", "|a\nb\n", "sse: data lines joined with \\n");
  sse_case("event: x\ndata:1\n\n", "x|1\n", "sse: event name, no space after colon");
  sse_case("data:  two\n\n", "| two\n", "sse: only one leading space stripped");
  sse_case("data\n\n", "|\n", "sse: `data` without colon is empty data");
  sse_case("event: lonely\n\ndata: z\n\n", "|z\n", "sse: event without data not dispatched, name reset");
  sse_case(": comment\nid: 7\nretry: 10\nfoo: bar\ndata: q\n\n", "|q\n", "sse: comments, id, retry, unknown ignored");
  sse_case("data: a\r\n\r\ndata: b\r\rdata: c\n\n", "|a\n|b\n|c\n", "sse: \\r\\n, \\r and \\n line ends");
  sse_case("data: x\n", "", "sse: no blank line, no dispatch");
  sse_case("data: {\"a\":\"\xE2\x82\xAC\"}\n\n", "|{\"a\":\"\xE2\x82\xAC\"}\n", "sse: UTF-8 passes through");

  /* \r at the end of one feed, \n at the start of the next: one line end. */
  SseParser p;
  Rec r = { {0}, 0, 0 };
  sse_init(&p);
  sse_feed(&p, "data: a\r", 8, rec_event, &r);
  sse_feed(&p, "", 0, rec_event, &r);
  sse_feed(&p, "\ndata: b\r", 9, rec_event, &r);
  sse_feed(&p, "\n\r", 2, rec_event, &r);
  sse_feed(&p, "\n", 1, rec_event, &r);
  is_str(r.log.data, "|a\nb\n", "sse: \\r|\\n across feeds is one line end");
  sse_free(&p);
  buf_free(&r.log);

  /* A stop from the handler stops the feed. */
  sse_init(&p);
  r = (Rec){ {0}, 0, 1 };
  bool good = sse_feed(&p, "data: 1\n\ndata: 2\n\n", 18, rec_event, &r);
  ok(!good && r.n == 1, "sse: handler false stops feeding");
  sse_free(&p);
  buf_free(&r.log);

  /* A line that never ends is bounded. */
  sse_init(&p);
  r = (Rec){ {0}, 0, 0 };
  size_t chunk = 1u << 20;
  char *junk = malloc(chunk);
  memset(junk, 'x', chunk);
  memcpy(junk, "data: ", 6);
  good = true;
  for (size_t sent = 0; good && sent <= SSE_MAX_BYTES + chunk; sent += chunk) good = sse_feed(&p, junk, chunk, rec_event, &r);
  ok(!good && p.overflow && r.n == 0, "sse: endless line -> false + overflow");
  ok(!sse_feed(&p, "\n\n", 2, rec_event, &r), "sse: stays failed after overflow");
  sse_free(&p);
  /* ... and so are endless data lines of one event. */
  sse_init(&p);
  memset(junk, 'y', chunk);
  memcpy(junk, "data: ", 6);
  junk[chunk - 1] = '\n';
  good = true;
  for (size_t sent = 0; good && sent <= SSE_MAX_BYTES + chunk; sent += chunk) good = sse_feed(&p, junk, chunk, rec_event, &r);
  ok(!good && p.overflow && r.n == 0, "sse: endless event data -> false + overflow");
  sse_free(&p);
  free(junk);
  buf_free(&r.log);
}

/* ---- streams ---------------------------------------------------------- */

static const char *ANTHROPIC_STREAM =
  ": keep-alive\n"
  "event: message_start\n"
  "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1,\"cache_read_input_tokens\":4,\"cache_creation_input_tokens\":3}}}\n"
  "\n"
  "event: content_block_start\n"
  "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n"
  "\n"
  "event: ping\n"
  "data: {\"type\":\"ping\"}\n"
  "\n"
  "event: content_block_delta\n"
  "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Check\"}}\n"
  "\n"
  "event: content_block_delta\n"
  "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ing \xE2\x82\xAC.\"}}\n"
  "\n"
  "event: content_block_stop\n"
  "data: {\"type\":\"content_block_stop\",\"index\":0}\n"
  "\n"
  "event: future_event\n"
  "data: not even json\n"
  "\n"
  "event: content_block_start\n"
  "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"get_weather\",\"input\":{}}}\n"
  "\n"
  "event: content_block_delta\n"
  "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\": \\\"Par\"}}\n"
  "\n"
  "event: content_block_delta\n"
  "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"is\\\"}\"}}\n"
  "\n"
  "event: content_block_stop\n"
  "data: {\"type\":\"content_block_stop\",\"index\":1}\n"
  "\n"
  "event: message_delta\n"
  "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":50}}\n"
  "\n"
  ": still here\n"
  "event: message_delta\n"
  "data: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":89}}\n"
  "\n"
  "event: message_stop\n"
  "data: {\"type\":\"message_stop\"}\n"
  "\n";

static const char *OPENAI_STREAM =
  "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n"
  "\n"
  ": OPENROUTER PROCESSING\n"
  "\n"
  "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n"
  "\n"
  "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \xE2\x82\xAC\",\"reasoning_content\":\"HIDDEN\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null,\"obfuscation\":\"abc\"}\n"
  "\n"
  "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}\n"
  "\n"
  "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n"
  "\n"
  "data: [DONE]\n"
  "\n";

typedef struct StreamRun {
  const Provider *p;
  StreamState st;
  int after_stop;   /* events delivered after a stop (must stay 0) */
  bool stopped;
} StreamRun;

static bool run_event(void *ctx, const char *event, const char *data, size_t len) {
  StreamRun *r = ctx;
  if (r->stopped) { r->after_stop++; return false; }
  bool go = r->p->stream_event(&r->st, event, data, len);
  if (!go) r->stopped = true;
  return go;
}

static void run_init(StreamRun *r, const Provider *p) {
  memset(r, 0, sizeof *r);
  r->p = p;
  buf_init(&r->st.reply.text);
  buf_init(&r->st.error);
}

static void run_free(StreamRun *r) {
  reply_free(&r->st.reply);
  buf_free(&r->st.error);
}

/* Feeds s in pieces cut at the given offsets (sorted, inside s). */
static void run_feed(StreamRun *r, const char *s, size_t n, const size_t *cuts, size_t ncuts) {
  SseParser p;
  sse_init(&p);
  size_t at = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : n;
    if (!sse_feed(&p, s + at, end - at, run_event, r)) break;
    at = end;
  }
  sse_free(&p);
}

/* The transcript with its \n line ends replaced by `eol`. */
static char *with_eol(const char *s, const char *eol) {
  Buf b;
  buf_init(&b);
  for (; *s; s++) {
    if (*s == '\n') buf_puts(&b, eol);
    else buf_putc(&b, *s);
  }
  return b.data;
}

typedef struct Want {
  const char *text, *stop, *id;
  Usage usage;
} Want;

static bool same(const StreamRun *r, const Want *w) {
  const ProviderReply *x = &r->st.reply;
  return r->st.done && !r->st.failed && r->after_stop == 0 && x->text.data && strcmp(x->text.data, w->text) == 0
         && x->stop_reason && strcmp(x->stop_reason, w->stop) == 0
         && x->request_id && strcmp(x->request_id, w->id) == 0
         && memcmp(&x->usage, &w->usage, sizeof w->usage) == 0;
}

static void stream_suite(const Provider *p, const char *transcript, const Want *w) {
  static const char *const eols[] = { "\n", "\r\n", "\r" };
  static const char *const eol_names[] = { "\\n", "\\r\\n", "\\r" };
  char desc[160];
  for (int e = 0; e < 3; e++) {
    char *s = with_eol(transcript, eols[e]);
    size_t n = strlen(s);
    StreamRun r;

    run_init(&r, p);
    run_feed(&r, s, n, NULL, 0);
    snprintf(desc, sizeof desc, "%s stream, %s, whole", p->name, eol_names[e]);
    ok(same(&r, w), "%s", desc);
    if (!same(&r, w))
      diag("  text \"%s\" stop %s in %lld out %lld cr %lld cw %lld done %d failed %d (%s)",
           r.st.reply.text.data ? r.st.reply.text.data : "", r.st.reply.stop_reason ? r.st.reply.stop_reason : "-",
           (long long)r.st.reply.usage.input_tokens, (long long)r.st.reply.usage.output_tokens,
           (long long)r.st.reply.usage.cache_read_tokens, (long long)r.st.reply.usage.cache_write_tokens,
           r.st.done, r.st.failed, r.st.error.data ? r.st.error.data : "");
    run_free(&r);

    size_t *cuts = malloc(n * sizeof *cuts);
    for (size_t i = 0; i + 1 < n; i++) cuts[i] = i + 1;
    run_init(&r, p);
    run_feed(&r, s, n, cuts, n - 1);
    snprintf(desc, sizeof desc, "%s stream, %s, one byte per feed", p->name, eol_names[e]);
    ok(same(&r, w), "%s", desc);
    run_free(&r);

    int bad = 0;
    for (size_t cut = 0; cut <= n; cut++) {
      run_init(&r, p);
      run_feed(&r, s, n, &cut, 1);
      if (!same(&r, w)) {
        if (!bad) diag("  first bad split at %zu", cut);
        bad++;
      }
      run_free(&r);
    }
    snprintf(desc, sizeof desc, "%s stream, %s, split in two at each of %zu positions", p->name, eol_names[e], n + 1);
    ok(bad == 0, "%s", desc);
    free(cuts);
    free(s);
  }
}

static void stream_one(const Provider *p, const char *s, StreamRun *r) {
  run_init(r, p);
  run_feed(r, s, strlen(s), NULL, 0);
}

static void test_streams(void) {
  Want wa = { "Checking \xE2\x82\xAC.", "tool_use", "msg_01", { 25, 89, 4, 3 } };
  stream_suite(&provider_anthropic, ANTHROPIC_STREAM, &wa);
  Want wo = { "Hello \xE2\x82\xAC", "stop", "chatcmpl-1", { 9, 2, 0, 0 } };
  stream_suite(&provider_openai, OPENAI_STREAM, &wo);

  StreamRun r;
  /* Truncated: no message_stop / [DONE]. */
  const char *cut = strstr(ANTHROPIC_STREAM, "event: message_stop");
  char *trunc = malloc((size_t)(cut - ANTHROPIC_STREAM) + 1);
  memcpy(trunc, ANTHROPIC_STREAM, (size_t)(cut - ANTHROPIC_STREAM));
  trunc[cut - ANTHROPIC_STREAM] = '\0';
  stream_one(&provider_anthropic, trunc, &r);
  ok(!r.st.done && !r.st.failed && strcmp(r.st.reply.text.data, "Checking \xE2\x82\xAC.") == 0,
     "anthropic truncated stream: done=false, text so far");
  run_free(&r);
  free(trunc);
  cut = strstr(OPENAI_STREAM, "data: [DONE]");
  trunc = malloc((size_t)(cut - OPENAI_STREAM) + 1);
  memcpy(trunc, OPENAI_STREAM, (size_t)(cut - OPENAI_STREAM));
  trunc[cut - OPENAI_STREAM] = '\0';
  stream_one(&provider_openai, trunc, &r);
  ok(!r.st.done && !r.st.failed && r.st.reply.usage.output_tokens == 2, "openai truncated stream: done=false");
  run_free(&r);
  free(trunc);

  /* Mid-stream errors are final. */
  stream_one(&provider_anthropic,
             "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":1}}}\n\n"
             "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"par\"}}\n\n"
             "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
             "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"MORE\"}}\n\n",
             &r);
  ok(r.st.failed && !r.st.done && r.after_stop == 0, "anthropic error event: failed, stops");
  is_str(r.st.error.data, "overloaded_error: Overloaded", "anthropic error event: message");
  run_free(&r);
  stream_one(&provider_openai,
             "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
             "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n"
             "data: [DONE]\n\n", &r);
  ok(r.st.failed && !r.st.done, "openai error chunk: failed, stops");
  is_str(r.st.error.data, "The server had an error (server_error)", "openai error chunk: message");
  run_free(&r);
  stream_one(&provider_openai, "event: error\ndata: {\"error\":\"model crashed\"}\n\n", &r);
  ok(r.st.failed, "openai error chunk: string error");
  is_str(r.st.error.data, "model crashed", "openai error chunk: string message");
  run_free(&r);
  stream_one(&provider_openai, "data: {\"error\":null,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\ndata: [DONE]\n\n", &r);
  ok(!r.st.failed && r.st.done && strcmp(r.st.reply.text.data, "ok") == 0, "openai: \"error\":null is no error");
  run_free(&r);
  stream_one(&provider_openai, "data: {not json\n\n", &r);
  ok(r.st.failed && r.st.error.len > 0, "openai: invalid JSON chunk fails");
  run_free(&r);
  stream_one(&provider_anthropic, "event: content_block_delta\ndata: {oops\n\n", &r);
  ok(r.st.failed && r.st.error.len > 0, "anthropic: invalid JSON in a known event fails");
  run_free(&r);

  /* Anthropic without event: lines (the JSON type names the event). */
  stream_one(&provider_anthropic,
             "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n"
             "data: {\"type\":\"message_stop\"}\n\n", &r);
  ok(r.st.done && strcmp(r.st.reply.text.data, "x") == 0, "anthropic: event name from the type field");
  run_free(&r);

  /* Anthropic refusal in a stream. */
  stream_one(&provider_anthropic,
             "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"refusal\"},\"usage\":{\"output_tokens\":1}}\n\n"
             "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", &r);
  ok(r.st.done && r.st.reply.refusal, "anthropic stream: refusal stop_reason");
  run_free(&r);

  /* llama.cpp: content null first, reasoning_content, usage on the
   * finish chunk, no separate usage chunk. */
  stream_one(&provider_openai,
             "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n"
             "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"think\"}}]}\n\n"
             "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"42\"}}]}\n\n"
             "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],"
             "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8},\"timings\":{\"x\":1}}\n\n"
             "data: [DONE]\n\n", &r);
  ok(r.st.done && strcmp(r.st.reply.text.data, "42") == 0 && r.st.reply.usage.input_tokens == 5
     && r.st.reply.usage.output_tokens == 3 && strcmp(r.st.reply.stop_reason, "length") == 0,
     "llama.cpp stream: usage on the finish chunk, reasoning ignored");
  run_free(&r);

  /* OpenAI refusal deltas accumulate. */
  stream_one(&provider_openai,
             "data: {\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"I can\"}}]}\n\n"
             "data: {\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"not.\"}}]}\n\n"
             "data: [DONE]\n\n", &r);
  ok(r.st.reply.refusal, "openai stream refusal: refusal=true");
  is_str(r.st.reply.refusal_text, "I cannot.", "openai stream refusal: text accumulated");
  run_free(&r);

  /* 10 MB streamed as 10240 deltas, fed in 64 KiB pieces. */
  Buf s;
  buf_init(&s);
  char piece[1024];
  memset(piece, 'z', sizeof piece);
  for (int i = 0; i < 10240; i++) {
    buf_puts(&s, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"");
    buf_put(&s, piece, sizeof piece);
    buf_puts(&s, "\"}}]}\r\n\r\n");
  }
  buf_puts(&s, "data: [DONE]\r\n\r\n");
  size_t ncuts = s.len / 65536;
  size_t *cuts = malloc((ncuts + 1) * sizeof *cuts);
  for (size_t i = 0; i < ncuts; i++) cuts[i] = (i + 1) * 65536;
  run_init(&r, &provider_openai);
  run_feed(&r, s.data, s.len, cuts, ncuts);
  ok(r.st.done && r.st.reply.text.len == 10240u * 1024u, "10 MB stream in 64 KiB feeds");
  run_free(&r);
  free(cuts);
  buf_free(&s);
}

/* ---- error bodies ----------------------------------------------------- */

static void err_case(const Provider *p, int status, const char *body, const char *want, const char *desc) {
  Buf m;
  buf_init(&m);
  p->error_message(status, body, strlen(body), &m);
  is_str(m.data, want, "%s", desc);
  buf_free(&m);
}

static void test_error_bodies(void) {
  err_case(&provider_anthropic, 404,
           "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"The requested resource could not be found.\"},\"request_id\":\"req_011CSHoEeqs5C35K2UUqR7Fy\"}",
           "not_found_error: The requested resource could not be found.", "anthropic 404 body");
  err_case(&provider_anthropic, 529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
           "overloaded_error: Overloaded", "anthropic 529 body");
  err_case(&provider_anthropic, 502, "<html>\r\n<body>Bad Gateway</body></html>",
           "HTTP 502: <html>  <body>Bad Gateway</body></html>", "anthropic: HTML body falls back, control chars blanked");
  err_case(&provider_anthropic, 500, "", "HTTP 500 (empty body)", "anthropic: empty body");
  err_case(&provider_anthropic, 400, "{\"error\":{}}", "HTTP 400: {\"error\":{}}", "anthropic: error without text falls back");

  err_case(&provider_openai, 401,
           "{\"error\":{\"message\":\"Incorrect API key provided: sk-VKMIs***wjh3. You can find your API key at https://platform.openai.com/account/api-keys.\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"invalid_api_key\"}}",
           "Incorrect API key provided: sk-VKMIs***wjh3. You can find your API key at https://platform.openai.com/account/api-keys. (invalid_api_key)",
           "openai 401 body");
  err_case(&provider_openai, 429,
           "{\"error\":{\"message\":\"You exceeded your current quota.\",\"type\":\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}",
           "You exceeded your current quota. (insufficient_quota)", "openai 429 quota body");
  err_case(&provider_openai, 404,
           "{\"error\":{\"message\":\"model \\\"llama9\\\" not found, try pulling it first\",\"type\":\"not_found_error\",\"param\":null,\"code\":null}}",
           "model \"llama9\" not found, try pulling it first (not_found_error)", "ollama 404 body");
  err_case(&provider_openai, 400, "{\"error\":{\"code\":400,\"message\":\"bad grammar\",\"type\":\"invalid_request_error\"}}",
           "bad grammar (invalid_request_error)", "llama.cpp body (int code)");
  err_case(&provider_openai, 400,
           "{\"object\":\"error\",\"message\":\"max_tokens is too large\",\"type\":\"BadRequestError\",\"param\":null,\"code\":400}",
           "max_tokens is too large (BadRequestError)", "vLLM old flat body");
  err_case(&provider_openai, 400,
           "{\"error\":{\"object\":\"error\",\"message\":\"bad\",\"type\":\"BadRequestError\",\"param\":null,\"code\":400}}",
           "bad (BadRequestError)", "vLLM new wrapped body");
  err_case(&provider_openai, 401, "{\"error\":\"Unauthorized\"}", "Unauthorized", "vLLM 401 string error");
  err_case(&provider_openai, 500, "{\"error\":{\"type\":\"server_error\"}}", "HTTP 500: {\"error\":{\"type\":\"server_error\"}}",
           "openai: missing message falls back");
  err_case(&provider_openai, 422, "{\"detail\":\"Not Found\"}", "HTTP 422: {\"detail\":\"Not Found\"}", "openai: unknown shape falls back");

  /* The fallback cuts at 200 bytes on a character boundary. */
  Buf body;
  buf_init(&body);
  for (int i = 0; i < 150; i++) buf_puts(&body, "\xC3\xA9");   /* 300 bytes of é */
  Buf m;
  buf_init(&m);
  provider_openai.error_message(503, body.data, body.len, &m);
  ok(m.len == strlen("HTTP 503: ") + 200 + 3 && strcmp(m.data + m.len - 3, "...") == 0,
     "fallback: raw body cut to 200 bytes + ...");
  buf_free(&m);
  buf_free(&body);
  buf_init(&m);
  provider_anthropic.error_message(500, "x\0\xff" "y", 4, &m);
  is_str(m.data, "HTTP 500: x ?y", "fallback: NUL and invalid UTF-8 cleaned");
  buf_free(&m);
}

/* ---- retry rules ------------------------------------------------------ */

static void test_retry(void) {
  static const struct { int status; const char *xsr; double ra; bool want; const char *desc; } rs[] = {
    { 408, NULL, -1, true, "retry 408" },
    { 409, NULL, -1, true, "retry 409" },
    { 429, NULL, -1, true, "retry 429" },
    { 500, NULL, -1, true, "retry 500" },
    { 503, NULL, -1, true, "retry 503" },
    { 529, NULL, -1, true, "retry 529" },
    { 400, NULL, -1, false, "no retry 400" },
    { 401, NULL, -1, false, "no retry 401" },
    { 403, NULL, -1, false, "no retry 403" },
    { 404, NULL, -1, false, "no retry 404" },
    { 422, NULL, -1, false, "no retry 422" },
    { 400, "true", -1, true, "x-should-retry true overrides 400" },
    { 500, "false", -1, false, "x-should-retry false overrides 500" },
    { 500, "maybe", -1, true, "x-should-retry other value ignored" },
    { 429, NULL, 120, true, "retry-after 120 s still retried" },
    { 429, NULL, 121, false, "retry-after over 120 s: no retry" },
    { 429, "true", 300, true, "x-should-retry true beats retry-after 300" },
    { 429, NULL, INFINITY, true, "infinite retry-after ignored" },
  };
  for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++)
    ok(retry_should(rs[i].status, rs[i].xsr, rs[i].ra) == rs[i].want, "%s", rs[i].desc);

  double now = 1445412480.0 - 30;
  static const struct { const char *ms, *ra; double want; const char *desc; } ps[] = {
    { "5", NULL, 0.005, "retry-after-ms 5" },
    { "1500.5", "9", 1.5005, "retry-after-ms wins over retry-after" },
    { "abc", "2", 2, "bad retry-after-ms falls back to retry-after" },
    { NULL, "1.5", 1.5, "retry-after float seconds" },
    { NULL, " 3 ", 3, "retry-after with spaces" },
    { NULL, "-2", -2, "retry-after negative kept (treated as absent)" },
    { NULL, "1e1", 10, "retry-after exponent" },
    { NULL, "Wed, 21 Oct 2015 07:28:00 GMT", 30, "retry-after RFC 1123 date" },
    { NULL, "21 Oct 2015 07:28:00 GMT", 30, "retry-after date without weekday" },
    { NULL, "Wednesday, 21-Oct-15 07:28:00 GMT", 30, "retry-after RFC 850 date" },
    { NULL, "Wed, 21 Oct 2015 08:28:00 +0100", 30, "retry-after date with offset" },
    { NULL, "Wed, 21 Oct 2015 07:27:00 GMT", -30, "retry-after date in the past: negative" },
    { NULL, "inf", -1, "retry-after inf: absent" },
    { NULL, "nan", -1, "retry-after nan: absent" },
    { NULL, "0x10", -1, "retry-after hex: absent" },
    { NULL, "soon", -1, "retry-after garbage: absent" },
    { NULL, "", -1, "retry-after empty: absent" },
    { NULL, "Wed, 32 Oct 2015 07:28:00 GMT", -1, "retry-after bad day: absent" },
    { NULL, NULL, -1, "no headers: absent" },
  };
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
    is_num(retry_after_parse(ps[i].ms, ps[i].ra, now), ps[i].want, "%s", ps[i].desc);

  static const struct { uint32_t n; double ra, jitter, want; const char *desc; } ds[] = {
    { 0, -1, 0, 0.5, "backoff 0: 0.5" },
    { 1, -1, 0, 1, "backoff 1: 1" },
    { 2, -1, 0, 2, "backoff 2: 2" },
    { 3, -1, 0, 4, "backoff 3: 4" },
    { 4, -1, 0, 8, "backoff 4: 8" },
    { 5, -1, 0, 8, "backoff 5: capped at 8" },
    { 4000000000u, -1, 0, 8, "backoff huge n: 8" },
    { 0, -1, 1, 0.375, "jitter shortens by up to 25%" },
    { 1, -1, 0.5, 0.875, "jitter 0.5 on 1 s" },
    { 0, 1, 0.7, 1, "retry-after 1 s used" },
    { 0, 0.005, 0, 0.005, "retry-after-ms 5 used" },
    { 0, 60, 0, 60, "retry-after 60 s used" },
    { 2, 61, 0, 2, "retry-after 61 s: backoff" },
    { 1, 0, 0, 1, "retry-after 0: backoff" },
    { 1, -5, 0, 1, "retry-after negative: backoff" },
    { 1, 121, 0, 1, "retry-after 121: backoff" },
  };
  for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++)
    is_num(retry_delay(ds[i].n, ds[i].ra, ds[i].jitter), ds[i].want, "%s", ds[i].desc);
}

/* ---- redaction -------------------------------------------------------- */

static void redact_case(const char *text, const char *key, const char *want, const char *desc) {
  Buf b;
  buf_init(&b);
  buf_puts(&b, text);
  redact_secret(&b, key);
  is_str(b.data, want, "%s", desc);
  buf_free(&b);
}

static void test_redact(void) {
  const char *key = "sk-VKMIsABCDEFGHIJKLMNOPwjh3";
  redact_case("key sk-VKMIsABCDEFGHIJKLMNOPwjh3 bad", key, "key [redacted] bad", "redact: whole key");
  redact_case("Incorrect API key provided: sk-VKMIs***wjh3.", key, "Incorrect API key provided: [redacted]***[redacted].",
              "redact: echoed first 8 and last 4");
  redact_case("a sk-VKMIsABCDEFGHIJKLMNOPwjh3sk-VKMIsABCDEFGHIJKLMNOPwjh3 b", key, "a [redacted][redacted] b",
              "redact: adjacent keys");
  redact_case("nothing here", key, "nothing here", "redact: no match, unchanged");
  redact_case("abc abcd", "abc", "[redacted] abcd", "redact: short key, whole tokens only");
  redact_case("ask scribe: key k rejected", "k", "ask scribe: key [redacted] rejected",
              "redact: a one-letter key does not garble words");
  redact_case("xx sk-1234567890abcdef xx", "sk-1234567890abcdef", "xx [redacted] xx", "redact: one pass");
  redact_case("ends in cted: redacted", "sk-12345678redacted", "ends in [redacted]: reda[redacted]",
              "redact: replacement not rescanned");
  redact_case("keep", NULL, "keep", "redact: NULL key no-op");
  redact_case("keep", "", "keep", "redact: empty key no-op");
  Buf b;
  buf_init(&b);
  redact_secret(&b, key);
  ok(b.len == 0, "redact: empty buffer");
  buf_free(&b);
}

/* What a reply says about its usage decides what a budget is charged: a
 * valid report (both counts) or the reservation. Missing, null, negative,
 * non-numeric and absurd counts are never taken for a report. */
static void usage_case(const Provider *p, const char *body, bool good, const char *desc) {
  ProviderReply r;
  Buf err;
  bool parsed = parse(p, body, strlen(body), &r, &err);
  ok(parsed && reply_usage_ok(&r) == good, "%s", desc);
  ok(r.usage.input_tokens >= 0 && r.usage.output_tokens >= 0 && r.usage.cache_read_tokens >= 0 &&
     r.usage.cache_write_tokens >= 0, "usage counts are never negative");
  reply_free(&r);
  buf_free(&err);
}

static void test_usage_reports(void) {
  const Provider *a = &provider_anthropic, *o = &provider_openai;
#define ABODY(u) "{\"content\":[{\"type\":\"text\",\"text\":\"x\"}],\"stop_reason\":\"end_turn\"" u "}"
#define OBODY(u) "{\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"message\":{\"content\":\"x\"}}]" u "}"
  usage_case(a, ABODY(",\"usage\":{\"input_tokens\":3,\"output_tokens\":0}"), true, "anthropic: a report");
  usage_case(a, ABODY(""), false, "anthropic: no usage object");
  usage_case(a, ABODY(",\"usage\":null"), false, "anthropic: usage null");
  usage_case(a, ABODY(",\"usage\":{\"input_tokens\":3}"), false, "anthropic: no output count");
  usage_case(a, ABODY(",\"usage\":{\"input_tokens\":-3,\"output_tokens\":5}"), false, "anthropic: negative input");
  usage_case(a, ABODY(",\"usage\":{\"input_tokens\":3,\"output_tokens\":5,\"cache_read_input_tokens\":-1}"), false,
             "anthropic: a negative cache count");
  usage_case(a, ABODY(",\"usage\":{\"input_tokens\":\"3\",\"output_tokens\":5}"), false, "anthropic: a string count");
  usage_case(a, ABODY(",\"usage\":{\"input_tokens\":1e15,\"output_tokens\":5}"), false, "anthropic: an absurd count");
  usage_case(a, ABODY(",\"usage\":{\"input_tokens\":3,\"output_tokens\":5,\"cache_creation_input_tokens\":null}"), true,
             "anthropic: a null cache count is just not reported");
  usage_case(o, OBODY(",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}"), true, "openai: a report");
  usage_case(o, OBODY(""), false, "openai: no usage object");
  usage_case(o, OBODY(",\"usage\":{\"prompt_tokens\":3}"), false, "openai: no completion count");
  usage_case(o, OBODY(",\"usage\":{\"prompt_tokens\":-50,\"completion_tokens\":-20}"), false, "openai: negative counts");
  usage_case(o, OBODY(",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1e300}"), false, "openai: an absurd count");
#undef ABODY
#undef OBODY
  /* an Anthropic stream: message_start's output count is a placeholder;
   * only message_delta's counts as the reply's report */
  StreamRun r;
  stream_one(a,
             "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n"
             "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n"
             "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
             &r);
  ok(r.st.done && !reply_usage_ok(&r.st.reply), "anthropic stream without a final output count: unreported");
  run_free(&r);
  stream_one(a, ANTHROPIC_STREAM, &r);
  ok(reply_usage_ok(&r.st.reply), "anthropic stream with message_delta usage: reported");
  run_free(&r);
  stream_one(o, OPENAI_STREAM, &r);
  ok(reply_usage_ok(&r.st.reply), "openai stream with a usage chunk: reported");
  run_free(&r);
  const char *cut = strstr(OPENAI_STREAM, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[],");
  ok(cut != NULL, "the openai transcript has a usage chunk");
  if (cut) {
    char *nousage = malloc(strlen(OPENAI_STREAM) + 1);
    memcpy(nousage, OPENAI_STREAM, (size_t)(cut - OPENAI_STREAM));
    strcpy(nousage + (cut - OPENAI_STREAM), "data: [DONE]\n\n");
    stream_one(o, nousage, &r);
    ok(r.st.done && !reply_usage_ok(&r.st.reply), "openai stream without a usage chunk: unreported");
    run_free(&r);
    free(nousage);
  }
  /* the one token estimate: bytes / 4, rounded up */
  ok(provider_tokens_estimate(0) == 0 && provider_tokens_estimate(1) == 1 && provider_tokens_estimate(4) == 1 &&
     provider_tokens_estimate(5) == 2 && provider_tokens_estimate(4000) == 1000,
     "provider_tokens_estimate: bytes / 4, rounded up");
}

/* ---- tools ------------------------------------------------------------ */

static const char *WEATHER_SCHEMA =
  "{\"type\": \"object\", \"properties\": {\"location\": {\"type\": \"string\"}}, \"required\": [\"location\"]}";

static const ToolCall turn_calls[] = {
  { .id = "toolu_01A", .name = "get_weather", .input = "{\"location\":\"Paris\"}" },
  { .id = "toolu_01B", .name = "get_weather", .input = NULL, .raw = "{\"location\": \"Ro" },
};

static const ChatMsg tool_msgs[] = {
  { .role = "user", .text = "Weather in Paris and Rome?" },
  { .role = "assistant", .text = "Checking.", .calls = turn_calls, .ncalls = 2 },
  { .role = "tool", .text = "18C sunny", .tool_id = "toolu_01A" },
  { .role = "tool", .text = "arguments are not a JSON object", .tool_id = "toolu_01B", .is_error = true },
  { .role = "user", .text = "Answer briefly." },
  { .role = "assistant", .calls = turn_calls, .ncalls = 1 },
  { .role = "tool", .text = "18C sunny", .tool_id = "toolu_01A" },
};

static const ToolDef weather_tools[] = {
  { .name = "get_weather", .description = "Current weather", .schema = NULL /* set below */ },
  { .name = "now" },
};

static ProviderRequest tool_request(ToolDef *tools) {
  ProviderRequest r = base_request();
  memcpy(tools, weather_tools, sizeof weather_tools);
  tools[0].schema = WEATHER_SCHEMA;
  r.msgs = tool_msgs;
  r.nmsgs = sizeof tool_msgs / sizeof tool_msgs[0];
  r.tools = tools;
  r.ntools = 2;
  return r;
}

static void test_tool_bodies(void) {
  ToolDef tools[2];
  ProviderRequest r = tool_request(tools);
  char *body = provider_anthropic.build_body(&r);
  is_str(body,
         "{\"model\":\"m-1\",\"max_tokens\":1024,\"system\":\"Be terse.\",\"messages\":["
         "{\"role\":\"user\",\"content\":\"Weather in Paris and Rome?\"},"
         "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Checking.\"},"
         "{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"get_weather\",\"input\":{\"location\":\"Paris\"}},"
         "{\"type\":\"tool_use\",\"id\":\"toolu_01B\",\"name\":\"get_weather\",\"input\":{}}]},"
         "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01A\",\"content\":\"18C sunny\"},"
         "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01B\",\"content\":\"arguments are not a JSON object\",\"is_error\":true},"
         "{\"type\":\"text\",\"text\":\"Answer briefly.\"}]},"
         "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"get_weather\",\"input\":{\"location\":\"Paris\"}}]},"
         "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01A\",\"content\":\"18C sunny\"}]}],"
         "\"temperature\":0.2,"
         "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Current weather\",\"input_schema\":"
         "{\"type\":\"object\",\"properties\":{\"location\":{\"type\":\"string\"}},\"required\":[\"location\"]}},"
         "{\"name\":\"now\",\"input_schema\":{\"type\":\"object\",\"properties\":{}}}]}",
         "anthropic golden body: tools, tool_use blocks (text first, bad input as {}), grouped tool_results, is_error");
  free(body);

  body = provider_openai.build_body(&r);
  is_str(body,
         "{\"model\":\"m-1\",\"messages\":[{\"role\":\"system\",\"content\":\"Be terse.\"},"
         "{\"role\":\"user\",\"content\":\"Weather in Paris and Rome?\"},"
         "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["
         "{\"id\":\"toolu_01A\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"location\\\":\\\"Paris\\\"}\"}},"
         "{\"id\":\"toolu_01B\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]},"
         "{\"role\":\"tool\",\"tool_call_id\":\"toolu_01A\",\"content\":\"18C sunny\"},"
         "{\"role\":\"tool\",\"tool_call_id\":\"toolu_01B\",\"content\":\"Error: arguments are not a JSON object\"},"
         "{\"role\":\"user\",\"content\":\"Answer briefly.\"},"
         "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
         "{\"id\":\"toolu_01A\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"location\\\":\\\"Paris\\\"}\"}}]},"
         "{\"role\":\"tool\",\"tool_call_id\":\"toolu_01A\",\"content\":\"18C sunny\"}],"
         "\"max_completion_tokens\":1024,\"temperature\":0.2,"
         "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Current weather\",\"parameters\":"
         "{\"type\":\"object\",\"properties\":{\"location\":{\"type\":\"string\"}},\"required\":[\"location\"]}}},"
         "{\"type\":\"function\",\"function\":{\"name\":\"now\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]}",
         "openai golden body: tools, content null + tool_calls with string arguments, role tool messages, Error: prefix");
  free(body);

  /* Structured output and tools at once: both are sent. */
  r.schema = SCHEMA;
  body = provider_anthropic.build_body(&r);
  cJSON *j = body ? cJSON_Parse(body) : NULL;
  ok(j && jget(j, "tools") && jget(jget(j, "output_config"), "format"), "anthropic: tools and output_config together");
  cJSON_Delete(j);
  free(body);
  body = provider_openai.build_body(&r);
  j = body ? cJSON_Parse(body) : NULL;
  ok(j && jget(j, "tools") && jget(j, "response_format"), "openai: tools and response_format together");
  cJSON_Delete(j);
  free(body);
  r.schema = NULL;

  /* A caller's input that is not a JSON object is sent as {} (the body
   * stays valid JSON), hostile strings stay escaped. */
  ToolCall odd[] = { { .id = "a\"b\n", .name = "n\x01", .input = "[1,2]" },
                     { .id = "c", .name = "d", .input = "{\"k\": 1, }" } };
  ChatMsg m2[] = { { .role = "user", .text = "q" }, { .role = "assistant", .calls = odd, .ncalls = 2 },
                   { .role = "tool", .tool_id = "a\"b\n", .text = NULL } };
  r.msgs = m2;
  r.nmsgs = 3;
  for (int pi = 0; pi < 2; pi++) {
    const Provider *p = pi ? &provider_openai : &provider_anthropic;
    body = p->build_body(&r);
    j = body ? cJSON_Parse(body) : NULL;
    ok(j != NULL, "%s: odd call inputs and ids still give a JSON body", p->name);
    ok(body && strstr(body, pi ? "\"arguments\":\"{}\"" : "\"input\":{}") && !strstr(body, "[1,2]"),
       "%s: a non-object input is sent as {}", p->name);
    cJSON_Delete(j);
    free(body);
  }
  /* A tool schema that is not JSON: no body, as for a reply schema. */
  r.msgs = tool_msgs;
  r.nmsgs = 1;
  tools[1].schema = "{not json";
  body = provider_anthropic.build_body(&r);
  ok(body == NULL, "anthropic: a tool schema that is not JSON gives no body");
  free(body);
  body = provider_openai.build_body(&r);
  ok(body == NULL, "openai: a tool schema that is not JSON gives no body");
  free(body);
}

/* "id|name|input|raw;" for each call ("-" for NULL). */
static char *calls_str(const ProviderReply *r) {
  Buf b;
  buf_init(&b);
  buf_puts(&b, "");
  for (uint32_t i = 0; i < r->ncalls; i++) {
    const ToolCall *c = &r->calls[i];
    buf_printf(&b, "%s|%s|%s|%s;", c->id ? c->id : "-", c->name ? c->name : "-", c->input ? c->input : "-",
               c->raw ? c->raw : "-");
  }
  return b.data;
}

static void is_calls(const ProviderReply *r, const char *want, const char *desc) {
  char *got = calls_str(r);
  is_str(got, want, "%s", desc);
  free(got);
}

/* parse_reply of body: true/false, the calls, the error text. */
static bool parse_calls(const Provider *p, const char *body, char **calls, char **err) {
  ProviderReply r;
  memset(&r, 0, sizeof r);
  buf_init(&r.text);
  *err = NULL;
  bool okk = p->parse_reply(body, strlen(body), &r, err);
  *calls = calls_str(&r);
  reply_free(&r);
  return okk;
}

static void test_tool_replies(void) {
  ProviderReply r;
  char *err = NULL;
  const char *a =
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":["
    "{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"x\"},"
    "{\"type\":\"text\",\"text\":\"Checking.\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"get_weather\",\"input\":{\"location\": \"Paris\"}},"
    "{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{\"query\":\"q\"}},"
    "{\"type\":\"future_block\",\"id\":\"z\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_01B\",\"name\":\"get_time\",\"input\":{}},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_01C\",\"name\":\"odd\",\"input\":\"not an object\"}],"
    "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":5,\"output_tokens\":7}}";
  memset(&r, 0, sizeof r);
  buf_init(&r.text);
  ok(provider_anthropic.parse_reply(a, strlen(a), &r, &err), "anthropic reply with text and three tool_use blocks parses");
  is_str(r.text.data, "Checking.", "anthropic tool reply: text kept");
  is_str(r.stop_reason, "tool_use", "anthropic tool reply: stop_reason tool_use");
  is_calls(&r, "toolu_01A|get_weather|{\"location\":\"Paris\"}|-;toolu_01B|get_time|{}|-;"
               "toolu_01C|odd|-|\"not an object\";",
           "anthropic tool reply: calls in order, unknown blocks skipped, a non-object input kept raw");
  reply_free(&r);

  const char *o =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\","
    "\"message\":{\"role\":\"assistant\",\"content\":\"Let me look.\",\"tool_calls\":["
    "{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"location\\\": \\\"Paris\\\"}\"}},"
    "{\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"now\",\"arguments\":\"\"}},"
    "{\"id\":\"call_c\",\"type\":\"function\",\"function\":{\"name\":\"bad\",\"arguments\":\"{\\\"a\\\": \"}},"
    "{\"id\":\"call_d\",\"type\":\"function\",\"function\":{\"name\":\"arr\",\"arguments\":\"[1,2]\"}},"
    "{\"id\":\"call_e\",\"type\":\"function\",\"function\":{\"name\":\"obj\",\"arguments\":{\"x\":1}}}]}}],"
    "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}";
  memset(&r, 0, sizeof r);
  buf_init(&r.text);
  ok(provider_openai.parse_reply(o, strlen(o), &r, &err), "openai reply with content and five tool_calls parses");
  is_str(r.text.data, "Let me look.", "openai tool reply: content kept");
  is_str(r.stop_reason, "tool_calls", "openai tool reply: finish_reason tool_calls");
  is_calls(&r, "call_a|get_weather|{\"location\":\"Paris\"}|-;call_b|now|{}|-;call_c|bad|-|{\"a\": ;"
               "call_d|arr|-|[1,2];call_e|obj|{\"x\":1}|-;",
           "openai tool reply: string arguments parsed and re-serialised, empty is {}, invalid and non-object kept raw");
  reply_free(&r);

  /* Hostile replies: the reply is refused with a clear message. */
  static const struct { const Provider *p; const char *body, *msg, *desc; } bad[] = {
    { &provider_anthropic,
      "{\"content\":[{\"type\":\"tool_use\",\"name\":\"get_weather\",\"input\":{}}],\"stop_reason\":\"tool_use\"}",
      "tool call 1 of the reply has no id", "anthropic: tool_use without an id" },
    { &provider_anthropic,
      "{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"\",\"input\":{}}]}",
      "tool call 1 of the reply has no name", "anthropic: tool_use with an empty name" },
    { &provider_anthropic,
      "{\"content\":[{\"type\":\"tool_use\",\"id\":7,\"name\":\"n\",\"input\":{}}]}",
      "tool call 1 of the reply has no id", "anthropic: tool_use id not a string" },
    { &provider_openai,
      "{\"choices\":[{\"index\":0,\"message\":{\"tool_calls\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}",
      "tool call 1 of the reply has no id", "openai: tool call without an id" },
    { &provider_openai,
      "{\"choices\":[{\"index\":0,\"message\":{\"tool_calls\":[{\"id\":\"c1\",\"function\":{\"arguments\":\"{}\"}}]}}]}",
      "tool call 1 of the reply has no name", "openai: tool call without a name" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *calls;
    ok(!parse_calls(bad[i].p, bad[i].body, &calls, &err), "%s: refused", bad[i].desc);
    is_str(err, bad[i].msg, "%s: message", bad[i].desc);
    free(calls);
    free(err);
  }

  /* A megabyte of arguments, in one call or spread over many; too many
   * calls; an id longer than the bound. */
  Buf big;
  buf_init(&big);
  buf_puts(&big, "{\"choices\":[{\"index\":0,\"message\":{\"tool_calls\":[{\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":\\\"");
  for (int i = 0; i < (1 << 20); i++) buf_putc(&big, 'a');
  buf_puts(&big, "\\\"}\"}}]}}]}");
  char *calls;
  ok(!parse_calls(&provider_openai, big.data, &calls, &err), "openai: 1 MB of arguments refused");
  is_str(err, "the reply's tool call arguments are larger than 524288 bytes", "openai: 1 MB of arguments: message");
  free(calls);
  free(err);
  buf_free(&big);

  buf_init(&big);
  buf_puts(&big, "{\"content\":[");
  for (int i = 0; i < 100; i++)
    buf_printf(&big, "%s{\"type\":\"tool_use\",\"id\":\"t%d\",\"name\":\"f\",\"input\":{\"x\":\"%06000d\"}}", i ? "," : "", i, 0);
  buf_puts(&big, "]}");
  ok(!parse_calls(&provider_anthropic, big.data, &calls, &err), "anthropic: 100 calls of 6 KB each (600 KB) refused");
  is_str(err, "the reply's tool call arguments are larger than 524288 bytes", "anthropic: arguments summed over calls");
  free(calls);
  free(err);
  buf_free(&big);

  buf_init(&big);
  buf_puts(&big, "{\"content\":[");
  for (int i = 0; i < PROVIDER_TOOL_CALLS_MAX + 1; i++)
    buf_printf(&big, "%s{\"type\":\"tool_use\",\"id\":\"t%d\",\"name\":\"f\",\"input\":{}}", i ? "," : "", i);
  buf_puts(&big, "]}");
  ok(!parse_calls(&provider_anthropic, big.data, &calls, &err), "anthropic: 129 calls refused");
  is_str(err, "the reply makes more than 128 tool calls", "anthropic: too many calls: message");
  free(calls);
  free(err);
  buf_free(&big);

  buf_init(&big);
  buf_puts(&big, "{\"content\":[{\"type\":\"tool_use\",\"id\":\"");
  for (int i = 0; i < 300; i++) buf_putc(&big, 'i');
  buf_puts(&big, "\",\"name\":\"f\",\"input\":{}}]}");
  ok(!parse_calls(&provider_anthropic, big.data, &calls, &err), "anthropic: a 300-byte id refused");
  is_str(err, "tool call 1 of the reply has an id longer than 256 bytes", "anthropic: long id: message");
  free(calls);
  free(err);
  buf_free(&big);
}

/* A stream that makes calls, fed whole, a byte at a time and split in two
 * at every position: same text and calls each time. */
static void tool_stream_suite(const Provider *p, const char *s, const char *text, const char *calls) {
  size_t n = strlen(s);
  int bad = 0;
  for (size_t cut = 0; cut <= n + 1; cut++) {
    StreamRun r;
    run_init(&r, p);
    if (cut == n + 1) {   /* every byte alone */
      size_t *cuts = malloc(n * sizeof *cuts);
      for (size_t i = 0; i + 1 < n; i++) cuts[i] = i + 1;
      run_feed(&r, s, n, cuts, n - 1);
      free(cuts);
    } else {
      run_feed(&r, s, n, &cut, 1);
    }
    char *got = calls_str(&r.st.reply);
    const char *t = r.st.reply.text.data ? r.st.reply.text.data : "";
    bool good = r.st.done && !r.st.failed && strcmp(got, calls) == 0 && strcmp(t, text) == 0 && !r.st.reply.accum;
    if (!good && !bad) diag("  split at %zu: done %d failed %d (%s) calls %s", cut, r.st.done, r.st.failed,
                            r.st.error.data ? r.st.error.data : "", got);
    bad += !good;
    free(got);
    run_free(&r);
  }
  ok(bad == 0, "%s tool-call stream: same calls whole, split at each of %zu positions and byte by byte", p->name, n + 1);
}

#define AEV(name, json) "event: " name "\ndata: " json "\n\n"
#define ODATA(json) "data: " json "\n\n"

static void test_tool_streams(void) {
  /* Two tool_use blocks after a text block, fragments split mid-token, the
   * second's first fragment empty, a server tool's fragments skipped. */
  const char *as =
    AEV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}")
    AEV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
    AEV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"On it.\"}}")
    AEV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
    AEV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}")
    AEV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"loc\"}}")
    AEV("content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srv_1\",\"name\":\"web_search\",\"input\":{}}}")
    AEV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"query\\\":1}\"}}")
    AEV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ation\\\": \\\"Par\\u00eds\\\"}\"}}")
    AEV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}")
    AEV("content_block_start", "{\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"now\",\"input\":{}}}")
    AEV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}")
    AEV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":3}")
    AEV("content_block_start", "{\"type\":\"content_block_start\",\"index\":4,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_3\",\"name\":\"bad\",\"input\":{}}}")
    AEV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":4,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\": tru\"}}")
    AEV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}")
    AEV("message_stop", "{\"type\":\"message_stop\"}");
  tool_stream_suite(&provider_anthropic, as, "On it.",
                    "toolu_1|get_weather|{\"location\":\"Par\xC3\xADs\"}|-;toolu_2|now|{}|-;toolu_3|bad|-|{\"a\": tru;");

  /* OpenAI: two calls by index, the second's fragments interleaved with the
   * first's; id and name in the first delta only. */
  const char *os =
    ODATA("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}")
    ODATA("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"location\\\":\"}}]},\"finish_reason\":null}]}")
    ODATA("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"now\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}")
    ODATA("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]}")
    ODATA("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}")
    ODATA("{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}")
    "data: [DONE]\n\n";
  tool_stream_suite(&provider_openai, os, "", "call_a|get_weather|{\"location\":\"Paris\"}|-;call_b|now|{}|-;");

  /* Text then a call in one chunk; a compatible server's delta without an
   * index (a new id starts a call, none continues the latest). */
  const char *os2 =
    ODATA("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Sure. \"}}]}")
    ODATA("{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"x1\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}")
    ODATA("{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\":1}\"}}]}}]}")
    ODATA("{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"x2\",\"function\":{\"name\":\"g\",\"arguments\":{\"b\":2}}}]}}]}")
    "data: [DONE]\n\n";
  tool_stream_suite(&provider_openai, os2, "Sure. ", "x1|f|{\"a\":1}|-;x2|g|{\"b\":2}|-;");

  /* Hostile streams. */
  StreamRun r;
  stream_one(&provider_openai,
             ODATA("{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}")
             "data: [DONE]\n\n", &r);
  ok(r.st.failed && !r.st.done, "openai stream: a call that never gets an id fails the stream");
  is_str(r.st.error.data, "tool call 1 of the reply has no id", "openai stream: missing id: message");
  run_free(&r);
  stream_one(&provider_anthropic,
             AEV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"name\":\"f\",\"input\":{}}}")
             AEV("message_stop", "{\"type\":\"message_stop\"}"), &r);
  ok(r.st.failed && !r.st.done, "anthropic stream: a tool_use without an id fails the stream");
  run_free(&r);
  stream_one(&provider_anthropic,
             AEV("content_block_start", "{\"type\":\"content_block_start\",\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}"),
             &r);
  ok(r.st.failed && r.st.error.data && strcmp(r.st.error.data, "tool_use block without an index") == 0,
     "anthropic stream: a tool_use block without an index fails the stream");
  run_free(&r);

  /* Megabyte-scale arguments in small fragments: refused once past the
   * bound, and nothing is read after. */
  for (int pi = 0; pi < 2; pi++) {
    const Provider *p = pi ? &provider_openai : &provider_anthropic;
    Buf s;
    buf_init(&s);
    if (pi) {
      buf_puts(&s, ODATA("{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":\\\"\"}}]}}]}"));
      for (int i = 0; i < 1100; i++) {
        buf_puts(&s, "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"");
        for (int k = 0; k < 1000; k++) buf_putc(&s, 'a');
        buf_puts(&s, "\"}}]}}]}\n\n");
      }
      buf_puts(&s, "data: [DONE]\n\n");
    } else {
      buf_puts(&s, AEV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}"));
      for (int i = 0; i < 1100; i++) {
        buf_puts(&s, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"");
        for (int k = 0; k < 1000; k++) buf_putc(&s, 'a');
        buf_puts(&s, "\"}}\n\n");
      }
      buf_puts(&s, AEV("message_stop", "{\"type\":\"message_stop\"}"));
    }
    run_init(&r, p);
    run_feed(&r, s.data, s.len, NULL, 0);
    ok(r.st.failed && !r.st.done && r.after_stop == 0 && r.st.reply.accum_bytes <= PROVIDER_TOOL_INPUT_MAX,
       "%s stream: 1.1 MB of argument fragments refused at the bound, nothing read after", p->name);
    is_str(r.st.error.data, "the reply's tool call arguments are larger than 524288 bytes",
           "%s stream: arguments too large: message", p->name);
    run_free(&r);
    buf_free(&s);
  }

  /* Too many calls in a stream. */
  Buf s;
  buf_init(&s);
  for (int i = 0; i <= PROVIDER_TOOL_CALLS_MAX; i++)
    buf_printf(&s, "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":%d,\"id\":\"c%d\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n", i, i);
  buf_puts(&s, "data: [DONE]\n\n");
  run_init(&r, &provider_openai);
  run_feed(&r, s.data, s.len, NULL, 0);
  ok(r.st.failed && r.st.error.data && strcmp(r.st.error.data, "the reply makes more than 128 tool calls") == 0,
     "openai stream: 129 calls refused");
  run_free(&r);
  buf_free(&s);

  /* A failed stream's accumulators are freed by reply_free (ASan checks). */
  stream_one(&provider_anthropic,
             AEV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{\"start\":1}}}")
             AEV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\"}}"), &r);
  ok(!r.st.done && r.st.reply.accum != NULL, "anthropic stream cut mid-call: still pending");
  run_free(&r);
  /* No fragment at all: content_block_start's input is the input. */
  stream_one(&provider_anthropic,
             AEV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{\"start\":1}}}")
             AEV("message_stop", "{\"type\":\"message_stop\"}"), &r);
  is_calls(&r.st.reply, "t|f|{\"start\":1}|-;", "anthropic stream: a tool_use without fragments keeps its start input");
  run_free(&r);
}

static void test_tools_hash(void) {
  ToolDef tools[2];
  ProviderRequest r = tool_request(tools);
  uint64_t h0 = provider_tools_hash(1, &r);
  ok(h0 == provider_tools_hash(1, &r), "tools hash: stable");
  tools[0].description = "Current weather!";
  ok(provider_tools_hash(1, &r) != h0, "tools hash: covers a tool's description");
  tools[0].description = weather_tools[0].description;
  r.ntools = 1;
  ok(provider_tools_hash(1, &r) != h0, "tools hash: covers the tools offered");
  r.ntools = 2;
  ChatMsg m[sizeof tool_msgs / sizeof tool_msgs[0]];
  memcpy(m, tool_msgs, sizeof m);
  r.msgs = m;
  ok(provider_tools_hash(1, &r) == h0, "tools hash: same turns, same hash");
  m[3].is_error = false;
  ok(provider_tools_hash(1, &r) != h0, "tools hash: covers a result's error flag");
  m[3].is_error = true;
  ToolCall c[2];
  memcpy(c, turn_calls, sizeof c);
  m[1].calls = c;
  c[0].input = "{\"location\":\"Pari\"}";
  ok(provider_tools_hash(1, &r) != h0, "tools hash: covers a call's input");
  c[0].input = turn_calls[0].input;
  m[2].tool_id = "toolu_01B";
  ok(provider_tools_hash(1, &r) != h0, "tools hash: covers a result's call id");
  m[2].tool_id = tool_msgs[2].tool_id;
  m[4].text = NULL;
  ok(provider_tools_hash(1, &r) != h0, "tools hash: a missing text differs from another");
}

/* For tests/http/http_tools_wire.sh, which checks these encoders and
 * parsers against the test server's bytes:
 *   test_providers --body PROVIDER [stream]  prints the body of the tool
 *       request of the golden tests (its last turn answered)
 *   test_providers --parse PROVIDER FILE     parses a captured reply (SSE
 *       when it starts with "event:", "data:" or ":") and prints its text
 *       and calls, or "error: ..." */
static int tool_main(int argc, char **argv) {
  const Provider *p = strcmp(argv[2], "openai") == 0 ? &provider_openai : &provider_anthropic;
  if (strcmp(argv[1], "--body") == 0) {
    ToolDef tools[2];
    ProviderRequest r = tool_request(tools);
    r.stream = argc > 3 && strcmp(argv[3], "stream") == 0;
    char *body = p->build_body(&r);
    if (!body) return 1;
    puts(body);
    free(body);
    return 0;
  }
  if (argc < 4) return 2;
  FILE *f = fopen(argv[3], "rb");
  if (!f) return 2;
  Buf in;
  buf_init(&in);
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_put(&in, chunk, n);
  fclose(f);
  const char *s = in.data ? in.data : "";
  ProviderReply *rep;
  StreamRun run;
  ProviderReply plain;
  char *err = NULL;
  bool good;
  if (strncmp(s, "event:", 6) == 0 || strncmp(s, "data:", 5) == 0 || s[0] == ':') {
    run_init(&run, p);
    run_feed(&run, s, in.len, NULL, 0);
    rep = &run.st.reply;
    good = run.st.done && !run.st.failed;
    if (!good) err = xstrdup(run.st.error.len ? run.st.error.data : "stream not complete");
  } else {
    memset(&plain, 0, sizeof plain);
    buf_init(&plain.text);
    rep = &plain;
    good = p->parse_reply(s, in.len, &plain, &err);
  }
  if (good) {
    printf("text: %s\nstop: %s\n", rep->text.data ? rep->text.data : "", rep->stop_reason ? rep->stop_reason : "-");
    for (uint32_t i = 0; i < rep->ncalls; i++)
      printf("call: %s|%s|%s|%s\n", rep->calls[i].id, rep->calls[i].name,
             rep->calls[i].input ? rep->calls[i].input : "-", rep->calls[i].raw ? rep->calls[i].raw : "-");
  } else {
    printf("error: %s\n", err ? err : "?");
  }
  free(err);
  if (rep == &plain) reply_free(&plain);
  else run_free(&run);
  buf_free(&in);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && (strcmp(argv[1], "--body") == 0 || strcmp(argv[1], "--parse") == 0))
    return tool_main(argc, argv);
  test_anthropic_body();
  test_openai_body();
  test_headers();
  test_lookup();
  test_anthropic_reply();
  test_openai_reply();
  test_hostile_replies();
  test_sse();
  test_streams();
  test_error_bodies();
  test_retry();
  test_redact();
  test_usage_reports();
  test_tool_bodies();
  test_tool_replies();
  test_tool_streams();
  test_tools_hash();
  return tap_done();
}
