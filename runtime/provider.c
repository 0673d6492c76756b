/* provider.c — what both wire formats share: provider lookup by model
 * prefix, the official SDKs' retry rules, key redaction, and the small
 * JSON and error-text helpers anthropic.c and openai.c build on. Pure
 * functions: no I/O, no clock (the caller passes "now"). */
#include "provider.h"
#include "../base/util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const Provider provider_mock = {
  .name = "mock",
  .in_process = true,
  .plain_schema = true,
};

/* One streamed call's arguments while they arrive. */
typedef struct ToolAccum {
  int64_t key;      /* the stream's number for the call (its index) */
  Buf args;         /* the fragments so far */
  char *start;      /* arguments to use when no fragment arrives, or NULL */
} ToolAccum;

static void accum_free(ProviderReply *r) {
  if (r->accum)
    for (uint32_t i = 0; i < r->ncalls; i++) {
      buf_free(&r->accum[i].args);
      free(r->accum[i].start);
    }
  free(r->accum);
  r->accum = NULL;
  r->accum_bytes = 0;
}

void reply_free(ProviderReply *r) {
  buf_free(&r->text);
  accum_free(r);
  for (uint32_t i = 0; i < r->ncalls; i++) {
    free(r->calls[i].id);
    free(r->calls[i].name);
    free(r->calls[i].input);
    free(r->calls[i].raw);
  }
  free(r->calls);
  r->calls = NULL;
  r->ncalls = 0;
  free(r->stop_reason);
  free(r->refusal_text);
  free(r->request_id);
  r->stop_reason = r->refusal_text = r->request_id = NULL;
  r->refusal = false;
  memset(&r->usage, 0, sizeof r->usage);
  r->usage_seen = 0;
  r->usage_bad = false;
}

bool reply_usage_ok(const ProviderReply *r) {
  return !r->usage_bad && (r->usage_seen & USAGE_SEEN_INPUT) && (r->usage_seen & USAGE_SEEN_OUTPUT);
}

/* ---- lookup ----------------------------------------------------------- */

const Provider *provider_for(const char *model_spec, const char **model) {
  /* one implementation per name of the list: a name without its
   * provider_ID does not build */
  static const struct { const char *name; const Provider *p; } all[] = {
#define PROVIDER(id, name) {name, &provider_##id},
#include "../vm/providers.def"
#undef PROVIDER
  };
  if (!model_spec) return NULL;
  const char *slash = strchr(model_spec, '/');
  if (!slash || slash[1] == '\0') return NULL;
  size_t n = (size_t)(slash - model_spec);
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (strlen(all[i].name) == n && memcmp(all[i].name, model_spec, n) == 0) {
      if (model) *model = slash + 1;
      return all[i].p;
    }
  }
  return NULL;
}

bool provider_known_prefix(const char *model_spec) {
  return provider_for(model_spec, NULL) != NULL;
}

void provider_headers_free(char **headers) {
  if (!headers) return;
  for (char **h = headers; *h; h++) free(*h);
  free(headers);
}

void provider_url(const Provider *p, const char *base, Buf *out) {
  if (!base || !*base) base = p->default_base ? p->default_base : "";
  size_t n = strlen(base);
  while (n && base[n - 1] == '/') n--;
  size_t k = p->base_suffix ? strlen(p->base_suffix) : 0;
  if (k && n >= k && memcmp(base + n - k, p->base_suffix, k) == 0) {
    n -= k;
    while (n && base[n - 1] == '/') n--;
  }
  buf_put(out, base, n);
  if (p->path) buf_puts(out, p->path);
}

/* ---- retry rules (PROVIDERS.md section C) ----------------------------- */

/* The retry-after cap of the OpenAI SDK (MAX_RETRY_AFTER_DELAY). */
#define MAX_RETRY_AFTER 120.0

bool retry_should(int status, const char *x_should_retry, double retry_after_s) {
  if (x_should_retry && strcmp(x_should_retry, "true") == 0) return true;
  if (x_should_retry && strcmp(x_should_retry, "false") == 0) return false;
  if (isfinite(retry_after_s) && retry_after_s > MAX_RETRY_AFTER) return false;
  return status == 408 || status == 409 || status == 429 || status >= 500;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* A decimal float as Python's float() reads it (no hex, no inf/nan, which
 * strtod would accept): [ws][+-]digits[.digits][e[+-]digits][ws]. */
static bool parse_float(const char *s, double *out) {
  const char *p = s;
  while (is_space(*p)) p++;
  const char *start = p;
  if (*p == '+' || *p == '-') p++;
  size_t digits = 0;
  while (*p >= '0' && *p <= '9') { p++; digits++; }
  if (*p == '.') {
    p++;
    while (*p >= '0' && *p <= '9') { p++; digits++; }
  }
  if (!digits) return false;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!(*p >= '0' && *p <= '9')) return false;
    while (*p >= '0' && *p <= '9') p++;
  }
  const char *end = p;
  while (is_space(*p)) p++;
  if (*p) return false;
  /* strtod stops at `end` by the checks above; the copy keeps it from
   * reading a locale-dependent decimal point beyond it. */
  size_t n = (size_t)(end - start);
  char *tmp = malloc(n + 1);
  if (!tmp) return false;
  memcpy(tmp, start, n);
  tmp[n] = '\0';
  *out = strtod(tmp, NULL);
  free(tmp);
  return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), so no timegm (not POSIX) and no TZ environment. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}

static const char *read_int(const char *p, int maxdigits, int *out) {
  int v = 0, n = 0;
  while (*p >= '0' && *p <= '9' && n < maxdigits) { v = v * 10 + (*p - '0'); p++; n++; }
  if (!n) return NULL;
  *out = v;
  return p;
}

static int month_index(const char *p) {
  static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  for (int i = 0; i < 12; i++) {
    const char *m = names + 3 * i;
    if ((p[0] | 0x20) == (m[0] | 0x20) && p[1] && (p[1] | 0x20) == m[1] && p[2] && (p[2] | 0x20) == m[2])
      return i + 1;
  }
  return 0;
}

/* An HTTP date as email.utils.parsedate_tz reads the common forms:
 * RFC 1123 "Wed, 21 Oct 2015 07:28:00 GMT" (weekday optional, seconds
 * optional, zone GMT/UT/UTC/Z or +hhmm/-hhmm) and RFC 850
 * "Wednesday, 21-Oct-15 07:28:00 GMT". Returns seconds since the epoch. */
static bool parse_http_date(const char *s, double *out) {
  const char *p = skip_ws(s);
  /* Optional weekday, up to the comma. */
  const char *comma = strchr(p, ',');
  if (comma) p = skip_ws(comma + 1);
  int day, year, hh, mm, ss = 0, mon;
  if (!(p = read_int(p, 2, &day))) return false;
  if (*p == '-') p++; else p = skip_ws(p);
  if (!(mon = month_index(p))) return false;
  p += 3;
  if (*p == '-') p++; else p = skip_ws(p);
  const char *ystart = p;
  if (!(p = read_int(p, 4, &year))) return false;
  if (p - ystart == 2) year += year < 70 ? 2000 : 1900;   /* RFC 850 two-digit year */
  p = skip_ws(p);
  if (!(p = read_int(p, 2, &hh)) || *p != ':') return false;
  if (!(p = read_int(p + 1, 2, &mm))) return false;
  if (*p == ':' && !(p = read_int(p + 1, 2, &ss))) return false;
  p = skip_ws(p);
  int offset = 0;   /* seconds east of UTC */
  if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1, hhmm;
    const char *q = read_int(p + 1, 4, &hhmm);
    if (!q || q - (p + 1) != 4) return false;
    offset = sign * ((hhmm / 100) * 3600 + (hhmm % 100) * 60);
    p = q;
  } else if (strncmp(p, "GMT", 3) == 0 || strncmp(p, "UTC", 3) == 0) {
    p += 3;
  } else if (strncmp(p, "UT", 2) == 0) {
    p += 2;
  } else if (*p == 'Z') {
    p += 1;
  } /* no zone: parsedate_tz assumes UTC too */
  if (*skip_ws(p)) return false;
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return false;
  int64_t days = days_from_civil(year, mon, day);
  *out = (double)(days * 86400 + hh * 3600 + mm * 60 + ss - offset);
  return true;
}

double retry_after_parse(const char *retry_after_ms, const char *retry_after, double now_unix) {
  double v;
  if (retry_after_ms && parse_float(retry_after_ms, &v) && isfinite(v)) return v / 1000.0;
  if (retry_after) {
    if (parse_float(retry_after, &v)) return isfinite(v) ? v : -1;
    if (parse_http_date(retry_after, &v)) return v - now_unix;
  }
  return -1;
}

double retry_delay(uint32_t retries_taken, double retry_after_s, double jitter01) {
  if (retry_after_s > 0 && retry_after_s <= 60) return retry_after_s;
  uint32_t n = retries_taken > 1000 ? 1000 : retries_taken;
  double base = 0.5 * pow(2.0, (double)n);
  if (base > 8.0) base = 8.0;
  if (!(jitter01 >= 0)) jitter01 = 0;   /* also NaN */
  if (jitter01 > 1) jitter01 = 1;
  return base * (1.0 - 0.25 * jitter01);
}

/* ---- redaction -------------------------------------------------------- */

/* A character that can be part of an API key token. */
static bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_';
}

/* A key shorter than 8 characters (local servers take "ollama" or "x") is
 * redacted only where it stands as a whole token: replacing every "k" in a
 * message would garble it while protecting nothing. */
void redact_secret(Buf *b, const char *secret) {
  if (!secret || !*secret || !b->data || !b->len) return;
  size_t klen = strlen(secret);
  /* Longest first, so the whole key is one "[redacted]". */
  struct { const char *s; size_t n; } pats[3];
  int np = 0;
  pats[np].s = secret; pats[np++].n = klen;
  if (klen > 12) {
    pats[np].s = secret; pats[np++].n = 8;
    pats[np].s = secret + klen - 4; pats[np++].n = 4;
  }
  Buf out;
  buf_init(&out);
  bool changed = false;
  size_t i = 0;
  while (i < b->len) {
    int hit = -1;
    for (int k = 0; k < np && hit < 0; k++)
      if (b->len - i >= pats[k].n && memcmp(b->data + i, pats[k].s, pats[k].n) == 0 &&
          (klen >= 8 || (!key_char(i > 0 ? b->data[i - 1] : ' ') &&
                         !key_char(i + klen < b->len ? b->data[i + klen] : ' '))))
        hit = k;
    if (hit >= 0) {
      buf_puts(&out, "[redacted]");
      i += pats[hit].n;
      changed = true;
    } else {
      buf_putc(&out, b->data[i++]);
    }
  }
  if (changed) {
    free(b->data);
    *b = out;
  } else {
    buf_free(&out);
  }
}

/* ---- shared helpers ------------------------------------------------- */

/* True when a header value is safe: no CR/LF/NUL or other control bytes. */
static bool header_safe(const char *v) {
  for (const unsigned char *c = (const unsigned char *)v; *c; c++)
    if (*c < 0x20 || *c == 0x7F) return false;
  return true;
}

char **provider_header_lines(const char *auth, const char *api_key,
                             const char *const *fixed, uint32_t attempt) {
  size_t nfixed = 0;
  while (fixed && fixed[nfixed]) nfixed++;
  char **h = xcalloc(nfixed + 3, sizeof *h);
  size_t n = 0;
  Buf b;
  if (api_key && *api_key && header_safe(api_key)) {
    buf_init(&b);
    buf_printf(&b, "%s%s", auth, api_key);
    h[n++] = b.data;
  }
  for (size_t i = 0; i < nfixed; i++) h[n++] = xstrdup(fixed[i]);
  buf_init(&b);
  buf_printf(&b, "x-stainless-retry-count: %u", (unsigned)attempt);
  h[n++] = b.data;
  return h;
}

void provider_set_str(char **dst, const cJSON *item) {
  if (!cJSON_IsString(item)) return;
  free(*dst);
  *dst = xstrdup(item->valuestring);
}


static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The code unit of a \uXXXX escape at s (s[0] == '\\'), or -1. */
static long u_escape(const char *s, size_t left) {
  if (left < 6 || s[0] != '\\' || s[1] != 'u') return -1;
  long v = 0;
  for (int i = 2; i < 6; i++) {
    int h = hexval(s[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

char *provider_compact_json(const char *text) {
  cJSON *j = cJSON_Parse(text);
  if (!j) return NULL;
  char *out = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return out;
}

bool provider_put_tools(Buf *b, const ProviderRequest *req, const char *open, const char *schema_key,
                        const char *close) {
  if (!req->ntools) return true;
  buf_puts(b, ",\"tools\":[");
  for (uint32_t i = 0; i < req->ntools; i++) {
    const ToolDef *t = &req->tools[i];
    char *schema = t->wire     ? xstrdup(t->wire)
                   : t->schema ? provider_compact_json(t->schema)
                               : xstrdup("{\"type\":\"object\",\"properties\":{}}");
    if (!schema) return false;
    if (i) buf_putc(b, ',');
    buf_puts(b, open);
    buf_json_string(b, t->name ? t->name : "", t->name ? strlen(t->name) : 0);
    if (t->description && *t->description) {
      buf_puts(b, ",\"description\":");
      buf_json_string(b, t->description, strlen(t->description));
    }
    buf_printf(b, ",\"%s\":", schema_key);
    buf_puts(b, schema);
    free(schema);
    buf_puts(b, close);
  }
  buf_putc(b, ']');
  return true;
}

/* cJSON_ParseWithLength that takes only a whole text: one value and white
 * space after it. cJSON stops at the end of the first value, so without
 * this `{"a":1} {"b":2}` parsed as {"a":1} and the rest was dropped
 * unseen. */
static cJSON *parse_whole(const char *s, size_t n) {
  const char *end = NULL;
  cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, false);
  if (!j) return NULL;
  size_t at = end ? (size_t)(end - s) : n;
  while (at < n && (s[at] == ' ' || s[at] == '\t' || s[at] == '\r' || s[at] == '\n')) at++;
  if (at < n) {
    cJSON_Delete(j);
    return NULL;
  }
  return j;
}

cJSON *provider_json_parse(const char *s, size_t n) {
  if (!s) return NULL;
  /* Fast path: nothing to rewrite (the usual case, also for 10 MB). */
  bool rewrite = memchr(s, '\0', n) != NULL;
  for (size_t i = 0; !rewrite && i + 1 < n; i++) {
    if (s[i] != '\\') continue;
    long u = u_escape(s + i, n - i);
    if (u == 0 || (u >= 0xD800 && u <= 0xDFFF)) rewrite = true;
    i++;   /* skip the escaped character, so "\\\\u0000" is not an escape */
  }
  if (!rewrite) return parse_whole(s, n);
  Buf t;
  buf_init(&t);
  for (size_t i = 0; i < n;) {
    if (s[i] == '\0') { buf_put(&t, "\xEF\xBF\xBD", 3); i++; continue; }
    if (s[i] != '\\' || i + 1 >= n) { buf_putc(&t, s[i++]); continue; }
    long u = u_escape(s + i, n - i);
    if (u >= 0xD800 && u <= 0xDBFF) {
      long lo = u_escape(s + i + 6, n - i - 6);
      if (lo >= 0xDC00 && lo <= 0xDFFF) { buf_put(&t, s + i, 12); i += 12; continue; }
      buf_puts(&t, "\\ufffd"); i += 6; continue;
    }
    if (u == 0 || (u >= 0xDC00 && u <= 0xDFFF)) { buf_puts(&t, "\\ufffd"); i += 6; continue; }
    buf_put(&t, s + i, 2);   /* any other escape pair, verbatim */
    i += 2;
  }
  cJSON *j = parse_whole(t.data ? t.data : "", t.len);
  buf_free(&t);
  return j;
}

int64_t provider_json_tokens(const cJSON *item) {
  if (!cJSON_IsNumber(item)) return -1;
  double v = item->valuedouble;
  if (!(v >= 0) || v > (double)USAGE_MAX_TOKENS) return -1;   /* also NaN */
  return (int64_t)v;
}

void provider_take_tokens(ProviderReply *r, const cJSON *item, int64_t *slot, uint8_t seen) {
  if (!item || cJSON_IsNull(item)) return;   /* null: not reported */
  int64_t n = provider_json_tokens(item);
  if (n < 0) {
    r->usage_bad = true;
    *slot = 0;
    return;
  }
  *slot = n;
  r->usage_seen |= seen;
}

int64_t provider_tokens_estimate(size_t bytes) {
  return (int64_t)(bytes / 4 + (bytes % 4 != 0));
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
void provider_put_clean(Buf *b, const char *s, size_t n, size_t max) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, put = 0;
  while (i < n) {
    size_t len = utf8_seq_len(u + i, n - i);
    size_t out = len ? len : 1;
    if (put + out > max) { buf_puts(b, "..."); return; }
    if (!len) buf_putc(b, '?');
    else if (len == 1 && (u[i] < 0x20 || u[i] == 0x7F)) buf_putc(b, ' ');
    else buf_put(b, s + i, len);
    i += len ? len : 1;
    put += out;
  }
}

void provider_error_fallback(int status, const char *body, size_t len, Buf *msg) {
  /* Skip leading blank space so an HTML page shows its start. */
  while (len && body && is_space(*body)) { body++; len--; }
  if (!body || !len) { buf_printf(msg, "HTTP %d (empty body)", status); return; }
  buf_printf(msg, "HTTP %d: ", status);
  provider_put_clean(msg, body, len, 200);
}

void provider_put_number(Buf *b, double v) {
  /* %.15g is exact for "0.2"; fall back to %.17g when it does not read
   * back, so no value is ever changed on the wire. */
  Buf t;
  buf_init(&t);
  buf_printf(&t, "%.15g", v);
  if (strtod(t.data, NULL) != v) {
    t.len = 0;
    buf_printf(&t, "%.17g", v);
  }
  buf_put(b, t.data, t.len);
  buf_free(&t);
}

/* ---- tool calls --------------------------------------------------------- */

/* Length first, so that no two sequences of strings hash the same bytes;
 * NULL has a length no string has (a turn without text is not one with
 * empty text). */
static uint64_t hash_str(uint64_t h, const char *s) {
  uint64_t n = s ? (uint64_t)strlen(s) : UINT64_MAX;
  h = fnv1a64(h, &n, sizeof n);
  return s ? fnv1a64(h, s, (size_t)n) : h;
}

uint64_t provider_tools_hash(uint64_t h, const ProviderRequest *req) {
  h = fnv1a64(h, &req->ntools, sizeof req->ntools);
  for (uint32_t i = 0; i < req->ntools; i++) {
    h = hash_str(h, req->tools[i].name);
    h = hash_str(h, req->tools[i].description);
    h = hash_str(h, req->tools[i].schema);
  }
  h = fnv1a64(h, &req->nmsgs, sizeof req->nmsgs);
  for (uint32_t i = 0; i < req->nmsgs; i++) {
    const ChatMsg *m = &req->msgs[i];
    h = hash_str(h, m->role);
    h = hash_str(h, m->text);
    h = fnv1a64(h, &m->ncalls, sizeof m->ncalls);
    for (uint32_t k = 0; k < m->ncalls; k++) {
      h = hash_str(h, m->calls[k].id);
      h = hash_str(h, m->calls[k].name);
      h = hash_str(h, m->calls[k].input);
      h = hash_str(h, m->calls[k].raw);
    }
    h = hash_str(h, m->tool_id);
    uint8_t e = m->is_error;
    h = fnv1a64(h, &e, 1);
  }
  return h;
}

char *provider_call_args(const ToolCall *c) {
  cJSON *j = c->input ? provider_json_parse(c->input, strlen(c->input)) : NULL;
  char *out = cJSON_IsObject(j) ? cJSON_PrintUnformatted(j) : NULL;
  cJSON_Delete(j);
  if (!out) return xstrdup("{}");
  /* cJSON allocates with malloc (the default hooks): free() is right */
  return out;
}

/* Grows calls (and accum, when streaming) by one zeroed entry. */
static ToolCall *call_push(ProviderReply *r, Buf *err) {
  if (r->ncalls >= PROVIDER_TOOL_CALLS_MAX) {
    buf_printf(err, "the reply makes more than %d tool calls", PROVIDER_TOOL_CALLS_MAX);
    return NULL;
  }
  r->calls = xrealloc(r->calls, (size_t)(r->ncalls + 1) * sizeof *r->calls);
  memset(&r->calls[r->ncalls], 0, sizeof *r->calls);
  return &r->calls[r->ncalls++];
}

ToolCall *provider_call_add(ProviderReply *r, const cJSON *id, const cJSON *name, Buf *err) {
  if (r->accum) {   /* not mixed with streaming: the arrays must stay parallel */
    buf_puts(err, "internal: a streamed reply's calls are added by provider_stream_call");
    return NULL;
  }
  ToolCall *c = call_push(r, err);
  if (!c) return NULL;
  provider_set_str(&c->id, id);
  provider_set_str(&c->name, name);
  return c;
}

static bool blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!(s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) return false;
  return true;
}

void provider_call_input(ToolCall *c, const char *text, size_t n) {
  free(c->input);
  free(c->raw);
  c->input = c->raw = NULL;
  if (blank(text, n)) {   /* Anthropic: "An empty result means {}" */
    c->input = xstrdup("{}");
    return;
  }
  cJSON *j = provider_json_parse(text, n);
  if (cJSON_IsObject(j)) c->input = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  if (!c->input) c->raw = xstrndup(text, n);
}

int64_t provider_stream_call(ProviderReply *r, int64_t key, bool create, Buf *err) {
  if (r->accum)
    for (uint32_t i = 0; i < r->ncalls; i++)
      if (r->accum[i].key == key) return i;
  if (!create) return -1;
  if (r->ncalls && !r->accum) {
    buf_puts(err, "internal: a reply's calls are either streamed or not");
    return -1;
  }
  if (!call_push(r, err)) return -1;
  r->accum = xrealloc(r->accum, (size_t)r->ncalls * sizeof *r->accum);
  ToolAccum *a = &r->accum[r->ncalls - 1];
  a->key = key;
  buf_init(&a->args);
  a->start = NULL;
  return r->ncalls - 1;
}

static bool input_too_big(Buf *err) {
  buf_printf(err, "the reply's tool call arguments are larger than %zu bytes", PROVIDER_TOOL_INPUT_MAX);
  return false;
}

bool provider_stream_args(ProviderReply *r, uint32_t i, const char *s, size_t n, Buf *err) {
  if (!r->accum || i >= r->ncalls) return true;
  if (n > PROVIDER_TOOL_INPUT_MAX - r->accum_bytes) return input_too_big(err);
  r->accum_bytes += n;
  buf_put(&r->accum[i].args, s, n);
  return true;
}

void provider_stream_start_input(ProviderReply *r, uint32_t i, const cJSON *input) {
  if (!r->accum || i >= r->ncalls || !cJSON_IsObject(input) || !input->child) return;
  free(r->accum[i].start);
  r->accum[i].start = cJSON_PrintUnformatted(input);
}

bool provider_calls_finish(ProviderReply *r, Buf *err) {
  if (r->accum) {
    for (uint32_t i = 0; i < r->ncalls; i++) {
      const ToolAccum *a = &r->accum[i];
      if (a->args.len || !a->start) provider_call_input(&r->calls[i], a->args.data ? a->args.data : "", a->args.len);
      else provider_call_input(&r->calls[i], a->start, strlen(a->start));
    }
    accum_free(r);
  }
  size_t total = 0;
  for (uint32_t i = 0; i < r->ncalls; i++) {
    const ToolCall *c = &r->calls[i];
    const char *what = !c->id || !*c->id ? "has no id"
                     : !c->name || !*c->name ? "has no name"
                     : strlen(c->id) > PROVIDER_TOOL_NAME_MAX ? "has an id longer than"
                     : strlen(c->name) > PROVIDER_TOOL_NAME_MAX ? "has a name longer than" : NULL;
    if (what) {
      buf_printf(err, "tool call %u of the reply %s", i + 1, what);
      if (what[strlen(what) - 1] == 'n') buf_printf(err, " %d bytes", PROVIDER_TOOL_NAME_MAX);
      return false;
    }
    const char *in = c->input ? c->input : c->raw ? c->raw : "";
    total += strlen(in);
    if (total > PROVIDER_TOOL_INPUT_MAX) return input_too_big(err);
  }
  return true;
}
