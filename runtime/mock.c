/* mock.c — the offline `mock` provider: deterministic replies, no network.
 *
 * A mock reply is derived only from the request, so the same program with
 * the same inputs gives the same run: typed asks get schema_mock_value of
 * a seed hashed from role, prompt and schema; text asks get a short
 * sentence naming the seed and the prompt. A --mock-script file can answer
 * chosen calls instead (canned text, JSON, or deliberately invalid replies
 * to exercise repairs). The engine validates every mock reply exactly like
 * a real model's, so repair and failure paths run the same code.
 *
 * Script format:
 *   {"replies": [{"role": "triager", "match": "substring",
 *                 "reply": <string or any JSON>, "times": N}, ...]}
 * or, instead of "reply", "value": <any JSON>: the value the program gets
 * ("value": "bug" answers `-> "bug" | "feature"` with the string bug).
 * The first entry whose role matches (or has none), whose match occurs in
 * the prompt (or has none) and that has answered fewer than `times` calls
 * (or has no limit) answers. A string reply is used as the reply text
 * as is (for a typed ask it is parsed as JSON, so it may be invalid on
 * purpose: "\"bug\"" is the JSON string bug); any other JSON is sent as its
 * JSON text. A JSON reply to a type the schema wraps ({"value": ...}, for
 * a top level that is not an object) is wrapped by the mock, so scripts
 * give the value the program receives. */
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
  int64_t times;    /* -1: unlimited */
  int64_t used;
} MockEntry;

struct MockScript {
  MockEntry *entries;
  uint32_t n;
};

void mock_script_free(MockScript *s) {
  if (!s) return;
  for (uint32_t i = 0; i < s->n; i++) {
    free(s->entries[i].role);
    free(s->entries[i].match);
    free(s->entries[i].reply);
    free(s->entries[i].text);
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
  if (!list || !v_is(*list, OBJ_LIST)) {
    buf_printf(&m, "--mock-script: %s must hold {\"replies\": [...]}", path);
    goto fail;
  }
  ObjList *l = AS_LIST(*list);
  s->entries = xcalloc(l->n ? l->n : 1, sizeof *s->entries);
  for (uint32_t i = 0; i < l->n; i++) {
    MockEntry *en = &s->entries[s->n++];
    en->times = -1;
    if (!v_is(l->items[i], OBJ_MAP)) {
      buf_printf(&m, "--mock-script: %s: $.replies[%u] must be an object", path, i);
      goto fail;
    }
    ObjMap *em = AS_MAP(l->items[i]);
    if (!opt_string(em, "role", &en->role) || !opt_string(em, "match", &en->match)) {
      buf_printf(&m, "--mock-script: %s: $.replies[%u]: role and match must be strings", path, i);
      goto fail;
    }
    Value *t = map_get_cstr(em, "times", 5);
    if (t && t->tag != V_NONE) {
      if (t->tag != V_INT || t->as.i < 0) {
        buf_printf(&m, "--mock-script: %s: $.replies[%u].times must be a whole number >= 0", path, i);
        goto fail;
      }
      en->times = t->as.i;
    }
    Value *r = map_get_cstr(em, "reply", 5), *val = map_get_cstr(em, "value", 5);
    if (!r == !val) {
      buf_printf(&m, "--mock-script: %s: $.replies[%u] needs one of \"reply\" or \"value\"", path, i);
      goto fail;
    }
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
                const char *prompt, uint32_t td, const char *schema, bool wrapped,
                Buf *out) {
  for (uint32_t i = 0; s && i < s->n; i++) {
    MockEntry *en = &s->entries[i];
    if (en->role && strcmp(en->role, role) != 0) continue;
    if (en->match && !strstr(prompt, en->match)) continue;
    if (en->times >= 0 && en->used >= en->times) continue;
    en->used++;
    if (td == ASK_TEXT) {
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
