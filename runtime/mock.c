/* mock.c — the offline `mock` provider: deterministic replies, no network.
 *
 * A mock reply is derived only from the request, so the same program with
 * the same inputs gives the same run: typed asks get schema_mock_value of
 * a seed hashed from role, prompt and schema; text asks get a short
 * sentence naming the seed and the prompt. A --mock-script file can answer
 * chosen calls instead: canned text or JSON, deliberately invalid replies
 * (repairs), failures as a provider reports them (retries, failure kinds)
 * and replies that arrive late (barrier timeouts, `first K`). The format
 * is documented once, in docs/testing.md ("Mock scripts"); this file only
 * parses and answers it. The engine validates every mock reply exactly
 * like a real model's and classifies every mock failure like a real one,
 * so repair, retry and failure paths run the same code. */
#include "engine.h"
#include "../vm/opcodes.h"
#include "schema.h"
#include "../vm/json.h"
#include "../base/util.h"

#include <stdlib.h>
#include <string.h>

typedef struct MockEntry {
  char *role;       /* NULL: any role */
  char *match;      /* NULL: any prompt */
  char *reply;      /* the reply text for a typed ask (JSON, or not) */
  size_t reply_len;
  char *text;       /* the reply text for a text ask */
  size_t text_len;
  char *calls;      /* "tool_calls": a step's calls, JSON [{name, input}] */
  int64_t step;     /* "step": only the N-th step of a tool-calling loop; 0: any call */
  bool echo;        /* "echo": true: the reply is the prompt itself */
  int64_t times;    /* -1: unlimited */
  int64_t used;
  MockAnswer ans;   /* a failure instead of the reply, and when it arrives */
} MockEntry;

struct MockScript {
  MockEntry *entries;
  uint32_t n;
  bool strict;
};

void mock_script_set_strict(MockScript *s, bool strict) { s->strict = strict; }

/* The failures a script can name, each as the provider reports it: an
 * HTTP status, which the engine classifies for retries exactly as a real
 * one (retry_should), or a transport failure. */
static const struct {
  const char *name;
  MockFail fail;
  int status;
} failures[] = {
  {"bad_request", MOCK_HTTP, 400},  {"auth", MOCK_HTTP, 401},
  {"forbidden", MOCK_HTTP, 403},    {"not_found", MOCK_HTTP, 404},
  {"too_large", MOCK_HTTP, 413},    {"rate_limited", MOCK_HTTP, 429},
  {"server_error", MOCK_HTTP, 500}, {"unavailable", MOCK_HTTP, 503},
  {"overloaded", MOCK_HTTP, 529},   {"timeout", MOCK_TIMEOUT, 0},
  {"connection", MOCK_CONNECTION, 0},
};

/* The fields an entry may have: anything else is a mistake in the script
 * (a misspelt "times" would otherwise answer forever). */
static const char *const entry_fields[] = {"role", "match", "times", "reply", "value",
                                           "fail", "delay", "retry_after", "tool_calls", "step", "echo"};

#define MOCK_DELAY_MAX ((int64_t)3600 * 1000)

void mock_script_free(MockScript *s) {
  if (!s) return;
  for (uint32_t i = 0; i < s->n; i++) {
    free(s->entries[i].role);
    free(s->entries[i].match);
    free(s->entries[i].reply);
    free(s->entries[i].text);
    free(s->entries[i].calls);
  }
  free(s->entries);
  free(s);
}

/* An optional string field of a script entry: true if absent or a string. */
static bool opt_string(ObjMap *m, const char *name, char **out) {
  Value *v = map_get_cstr(m, name, strlen(name));
  if (!v || v->tag == V_NONE) return true;
  if (!v_is(*v, OBJ_STRING)) return false;
  *out = xstrndup(AS_STRING(*v)->data, AS_STRING(*v)->len);
  return true;
}

/* A duration as the command line writes one: NUMBER UNIT groups, units
 * ms, s, m and h ("200ms", "2s", "1m30s"), at most an hour. */
static bool parse_delay(const ObjString *s, int64_t *out) {
  const char *p = s->data, *end = s->data + s->len;
  int64_t total = 0;
  if (p == end) return false;
  while (p < end) {
    int64_t v = 0;
    const char *d = p;
    while (p < end && *p >= '0' && *p <= '9') {
      v = v * 10 + (*p - '0');
      if (v > MOCK_DELAY_MAX) return false;
      p++;
    }
    if (p == d) return false;
    int64_t unit;
    if (end - p >= 2 && p[0] == 'm' && p[1] == 's') {
      unit = 1;
      p += 2;
    } else if (*p == 's') {
      unit = 1000;
      p++;
    } else if (*p == 'm') {
      unit = 60000;
      p++;
    } else if (*p == 'h') {
      unit = 3600000;
      p++;
    } else {
      return false;
    }
    total += v * unit;
    if (total > MOCK_DELAY_MAX) return false;
  }
  *out = total;
  return true;
}

/* An optional duration field: true if absent or valid (*out unchanged
 * when absent). */
static bool opt_delay(ObjMap *m, const char *name, int64_t *out) {
  Value *v = map_get_cstr(m, name, strlen(name));
  if (!v) return true;
  return v_is(*v, OBJ_STRING) && parse_delay(AS_STRING(*v), out);
}

/* "$.replies[I]" then what is wrong with it, into m. */
static void entry_error(Buf *m, const char *path, uint32_t i, const char *field, const char *what) {
  buf_printf(m, "--mock-script: %s: $.replies[%u]%s%s: %s", path, i, field ? "." : "", field ? field : "", what);
}

/* Checks and loads entry i (em) into en; false + message in m. */
static bool load_entry(ObjMap *em, const char *path, uint32_t i, MockEntry *en, Buf *m) {
  for (uint32_t k = 0; k < em->n; k++) {
    bool known = false;
    for (size_t f = 0; f < sizeof entry_fields / sizeof entry_fields[0]; f++)
      known |= strcmp(em->keys[k]->data, entry_fields[f]) == 0 && em->keys[k]->len == strlen(entry_fields[f]);
    if (known) continue;
    buf_printf(m, "--mock-script: %s: $.replies[%u]: unknown field ", path, i);
    size_t len = em->keys[k]->len > 40 ? 40 : em->keys[k]->len;
    buf_json_string(m, em->keys[k]->data, len);
    buf_puts(m, " (fields: role, match, times, reply, value, fail, delay, retry_after, tool_calls, step, echo)");
    return false;
  }
  if (!opt_string(em, "role", &en->role)) {
    entry_error(m, path, i, "role", "must be a string");
    return false;
  }
  if (!opt_string(em, "match", &en->match)) {
    entry_error(m, path, i, "match", "must be a string");
    return false;
  }
  Value *t = map_get_cstr(em, "times", 5);
  if (t && t->tag != V_NONE) {
    if (t->tag != V_INT || t->as.i < 0) {
      entry_error(m, path, i, "times", "must be a whole number >= 0");
      return false;
    }
    en->times = t->as.i;
  }
  Value *st = map_get_cstr(em, "step", 4);
  if (st && st->tag != V_NONE) {
    if (st->tag != V_INT || st->as.i < 1 || st->as.i > 1000) {
      entry_error(m, path, i, "step", "must be a whole number from 1 to 1000");
      return false;
    }
    en->step = st->as.i;
  }
  Value *r = map_get_cstr(em, "reply", 5), *val = map_get_cstr(em, "value", 5);
  Value *fail = map_get_cstr(em, "fail", 4), *calls = map_get_cstr(em, "tool_calls", 10);
  Value *echo = map_get_cstr(em, "echo", 4);
  if ((r != NULL) + (val != NULL) + (fail != NULL) + (calls != NULL) + (echo != NULL) != 1) {
    entry_error(m, path, i, NULL,
                "needs exactly one of \"reply\", \"value\", \"fail\", \"tool_calls\" or \"echo\"");
    return false;
  }
  if (echo) {
    if (echo->tag != V_BOOL || !echo->as.b) {
      entry_error(m, path, i, "echo", "must be true");
      return false;
    }
    en->echo = true;
  }
  if (calls) {
    /* [{"name": "read_file", "input": {...}}, ...]: what the model calls;
     * the input may be any JSON (a wrong one tests the loop's repairs) */
    bool ok = v_is(*calls, OBJ_LIST) && AS_LIST(*calls)->n > 0;
    for (uint32_t k = 0; ok && k < AS_LIST(*calls)->n; k++) {
      Value c = AS_LIST(*calls)->items[k];
      Value *nm = v_is(c, OBJ_MAP) ? map_get_cstr(AS_MAP(c), "name", 4) : NULL;
      ok = nm && v_is(*nm, OBJ_STRING);
    }
    if (!ok) {
      entry_error(m, path, i, "tool_calls", "must be a non-empty list of {\"name\": string, \"input\": ...}");
      return false;
    }
    Buf j;
    buf_init(&j);
    if (!v_to_json(&j, *calls, NULL)) buf_puts(&j, "[]");
    en->calls = buf_detach(&j);
  }
  en->ans.retry_after_ms = -1;
  if (!opt_delay(em, "delay", &en->ans.delay_ms)) {
    entry_error(m, path, i, "delay", "must be a duration such as \"200ms\" or \"2s\" (at most 1h)");
    return false;
  }
  if (fail) {
    bool found = false;
    for (size_t f = 0; !found && f < sizeof failures / sizeof failures[0]; f++) {
      if (!v_is(*fail, OBJ_STRING) || strcmp(AS_STRING(*fail)->data, failures[f].name) != 0 ||
          AS_STRING(*fail)->len != strlen(failures[f].name))
        continue;
      en->ans.fail = failures[f].fail;
      en->ans.status = failures[f].status;
      en->ans.name = failures[f].name;
      found = true;
    }
    if (!found) {
      Buf w;
      buf_init(&w);
      buf_puts(&w, "must be one of ");
      for (size_t f = 0; f < sizeof failures / sizeof failures[0]; f++)
        buf_printf(&w, "%s%s", f ? ", " : "", failures[f].name);
      buf_putc(&w, '\0');
      entry_error(m, path, i, "fail", w.data);
      buf_free(&w);
      return false;
    }
  }
  if (map_get_cstr(em, "retry_after", 11)) {
    if (en->ans.fail != MOCK_HTTP) {
      entry_error(m, path, i, "retry_after", "is a provider's answer to a failed request: it needs a \"fail\" "
                  "with an HTTP status (not \"timeout\" or \"connection\")");
      return false;
    }
    if (!opt_delay(em, "retry_after", &en->ans.retry_after_ms)) {
      entry_error(m, path, i, "retry_after", "must be a duration such as \"10ms\" or \"1s\" (at most 1h)");
      return false;
    }
  }
  if (fail || calls || echo) return true;
  Value v = r ? *r : *val;
  bool str = v_is(v, OBJ_STRING);
  Buf j;
  buf_init(&j);
  if (str && r) buf_put(&j, AS_STRING(v)->data, AS_STRING(v)->len); /* raw reply text */
  else if (!v_to_json(&j, v, NULL)) buf_puts(&j, "null");
  en->reply_len = j.len;
  en->reply = buf_detach(&j);
  if (str) {
    en->text = xstrndup(AS_STRING(v)->data, AS_STRING(v)->len);
    en->text_len = AS_STRING(v)->len;
  } else {
    en->text = xstrndup(en->reply, en->reply_len);
    en->text_len = en->reply_len;
  }
  return true;
}

MockScript *mock_script_load(const char *path, char **err) {
  Buf text, m;
  buf_init(&text);
  buf_init(&m);
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    buf_printf(&m, "--mock-script: cannot read '%s'", path);
    *err = buf_detach(&m);
    return NULL;
  }
  char chunk[8192];
  size_t got;
  bool big = false;
  while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) {
    if (text.len + got > ((size_t)64 << 20)) {
      big = true;
      break;
    }
    buf_put(&text, chunk, got);
  }
  bool bad = ferror(fp);
  fclose(fp);
  if (bad || big) {
    buf_printf(&m, "--mock-script: cannot read '%s'%s", path, big ? ": larger than 64 MiB" : "");
    buf_free(&text);
    *err = buf_detach(&m);
    return NULL;
  }
  Heap h;
  heap_init(&h, 0);
  Value doc;
  char *perr = NULL;
  bool ok = v_from_json(&h, text.data ? text.data : "", text.len, &doc, &perr);
  buf_free(&text);
  if (!ok) {
    buf_printf(&m, "--mock-script: %s: invalid JSON: %s", path, perr);
    free(perr);
    *err = buf_detach(&m);
    return NULL;
  }
  MockScript *s = xcalloc(1, sizeof *s);
  Value *list = v_is(doc, OBJ_MAP) ? map_get_cstr(AS_MAP(doc), "replies", 7) : NULL;
  if (!list || !v_is(*list, OBJ_LIST) || AS_MAP(doc)->n != 1) {
    buf_printf(&m, "--mock-script: %s must hold {\"replies\": [...]} and nothing else", path);
    goto fail;
  }
  ObjList *l = AS_LIST(*list);
  s->entries = xcalloc(l->n ? l->n : 1, sizeof *s->entries);
  for (uint32_t i = 0; i < l->n; i++) {
    MockEntry *en = &s->entries[s->n++];
    en->times = -1;
    if (!v_is(l->items[i], OBJ_MAP)) {
      entry_error(&m, path, i, NULL, "must be an object");
      goto fail;
    }
    if (!load_entry(AS_MAP(l->items[i]), path, i, en, &m)) goto fail;
  }
  v_release(&h, doc);
  return s;
fail:
  v_release(&h, doc);
  mock_script_free(s);
  *err = buf_detach(&m);
  return NULL;
}

/* The first `max` characters of s on one line: runs of spaces and control
 * characters become one space, the ends are trimmed, and a multi-byte
 * character is never cut. */
static void one_line(Buf *out, const char *s, size_t max) {
  size_t chars = 0, start = out->len;
  bool space = false;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p <= 0x20 || *p == 0x7F) {
      space = out->len > start;
      continue;
    }
    if ((*p & 0xC0) != 0x80) {
      if (chars + (space ? 1 : 0) >= max) break;
      if (space) {
        buf_putc(out, ' ');
        chars++;
        space = false;
      }
      chars++;
    }
    buf_putc(out, (char)*p);
  }
}

/* Scripts give the value the program receives; when the schema wraps it
 * as {"value": ...} (a top level that is not an object), the mock wraps a
 * scripted JSON reply too, unless it is already wrapped. Text that is not
 * JSON is sent as is (a deliberately invalid reply). */
static bool needs_wrap(Heap *h, const char *text, size_t len) {
  Value v;
  if (!v_from_json(h, text, len, &v, NULL)) return false;
  bool wrapped = v_is(v, OBJ_MAP) && AS_MAP(v)->n == 1 && map_get_cstr(AS_MAP(v), "value", 5);
  v_release(h, v);
  return !wrapped;
}

void mock_reply(MockScript *s, Heap *h, const Module *m, const char *role,
                const char *prompt, uint32_t td, const char *schema, bool wrapped, uint32_t step,
                Buf *out, MockAnswer *ans) {
  memset(ans, 0, sizeof *ans);
  ans->retry_after_ms = -1;
  for (uint32_t i = 0; s && i < s->n; i++) {
    MockEntry *en = &s->entries[i];
    if ((en->calls || en->step) && !step) continue;
    if (en->step && en->step != (int64_t)step) continue;
    if (en->role && strcmp(en->role, role) != 0) continue;
    if (en->match && !strstr(prompt, en->match)) continue;
    if (en->times >= 0 && en->used >= en->times) continue;
    en->used++;
    *ans = en->ans;
    ans->scripted = true;
    ans->calls = en->calls;
    if (en->calls) {
      /* the text beside the calls */
    } else if (ans->fail != MOCK_REPLY) {
      buf_printf(out, "--mock-script $.replies[%u]", i); /* where the failure came from */
    } else if (en->echo) { /* the prompt back: text, or a JSON string */
      if (td == ASK_TEXT) buf_puts(out, prompt);
      else {
        if (wrapped) buf_puts(out, "{\"value\":");
        buf_json_string(out, prompt, strlen(prompt));
        if (wrapped) buf_putc(out, '}');
      }
    } else if (td == ASK_TEXT) {
      buf_put(out, en->text, en->text_len);
    } else if (wrapped && needs_wrap(h, en->reply, en->reply_len)) {
      buf_puts(out, "{\"value\":");
      buf_put(out, en->reply, en->reply_len);
      buf_putc(out, '}');
    } else {
      buf_put(out, en->reply, en->reply_len);
    }
    return;
  }
  if (s && s->strict) {
    /* the start of the prompt, quoted, for the message naming the ask */
    ans->fail = MOCK_UNSCRIPTED;
    Buf q;
    buf_init(&q);
    one_line(&q, prompt, 60);
    buf_json_string(out, q.data ? q.data : "", q.len);
    buf_free(&q);
    return;
  }
  uint64_t seed = fnv1a64(FNV64_INIT, role, strlen(role) + 1);  /* with the NUL separator */
  seed = fnv1a64(seed, prompt, strlen(prompt) + 1);
  seed = fnv1a64(seed, schema, strlen(schema));
  if (td == ASK_TEXT) {
    buf_printf(out, "mock reply #%08x to: ", (unsigned)(seed & 0xffffffffu));
    one_line(out, prompt, 60);
    return;
  }
  Value v = schema_mock_value(h, m, td, seed);
  if (wrapped) buf_puts(out, "{\"value\":");
  Buf j;
  buf_init(&j);
  if (v_to_json(&j, v, NULL)) buf_put(out, j.data, j.len);
  else buf_puts(out, "null");
  buf_free(&j);
  if (wrapped) buf_putc(out, '}');
  v_release(h, v);
}
