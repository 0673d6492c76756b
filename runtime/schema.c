/* schema.c — type descriptors as JSON Schema (for structured output) and
 * as deterministic mock values (for the offline provider). See schema.h.
 *
 * Both walk the descriptor table, which is acyclic, but a table may still
 * be deep (a hostile module) or share sub-descriptors so that expanding it
 * as a tree grows exponentially (record A has two fields of type B, B two
 * of C, ...). The schema does not expand shared parts: it writes every
 * descriptor reached along more than one edge once, under "$defs", and
 * refers to it by "$ref", so it is linear in the table. The mock value is
 * a tree (it becomes JSON text), so it stops at a budget of values and
 * then shrinks: empty lists and maps, absent optionals, and none for a
 * required record, which fails validation (only a type with no short
 * valid value gets there). Recursion depth is bounded (SCHEMA_MAX_DEPTH,
 * more than the checker's 64, so only a hostile module reaches it): the
 * schema reports it through schema_check, the mock value shrinks. */
#include "schema.h"

#include <stdlib.h>
#include <string.h>
#include "../base/util.h"
#include "../vm/json.h"

#define SCHEMA_MAX_DEPTH 100          /* deeper than any type a program can write */
#define MOCK_MAX_VALUES 2000          /* values in one mock reply */

/* Durations as dur_format writes them (v_convert reads the same forms). */
#define DURATION_PATTERN "^-?([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$"
#define DURATION_DOC "a duration such as \\\"30s\\\", \\\"250ms\\\", \\\"2m\\\" or \\\"1h30m\\\""

/* The string constant at k, or NULL when k is not one (never trusted). */
static const ObjString *cstr(const Module *m, uint32_t k) {
  if (k >= m->nconsts || m->const_kinds[k] != K_STRING) return NULL;
  return AS_STRING(m->consts[k]);
}

/* ---- JSON Schema --------------------------------------------------------- */

/* A descriptor reached along more than one edge of the walk is written once
 * under "$defs" and referred to with "$ref" everywhere, so the schema is
 * linear in the descriptor table however much the type shares. Scalars stay
 * inline (they are one small object each), as does everything used once. */
typedef struct SchemaW {
  const Module *m;
  SchemaDialect d;
  Buf b;
  uint32_t *uses;        /* per descriptor: edges that reach it (pre-pass) */
  char **names;          /* per descriptor: its $defs key once it has one */
  uint32_t *queue;       /* defs named but not yet written, in order */
  uint32_t nqueue, qhead;
  char **taken;          /* open-addressed set of the keys in use */
  uint32_t ntaken_cap;
  const char *problem;   /* first reason the type cannot be asked for (static) */
} SchemaW;

static void problem(SchemaW *w, const char *why) {
  if (!w->problem) w->problem = why;
}

static void put_jstr(SchemaW *w, const ObjString *s) {
  buf_json_string(&w->b, s->data, s->len);
}

/* `"key":` with a comma before every key but an object's first. */
static void key(SchemaW *w, bool *first, const char *k) {
  if (!*first) buf_putc(&w->b, ',');
  *first = false;
  buf_putc(&w->b, '"');
  buf_puts(&w->b, k);
  buf_puts(&w->b, "\":");
}

static const TypeDesc *desc_at(const SchemaW *w, uint32_t td) {
  return td < w->m->ntypes ? &w->m->types[td] : NULL;
}

/* In the plain dialect an optional field is written as its present value's
 * schema (and left out of `required`), so the edge goes past the optional. */
static uint32_t field_target(const SchemaW *w, const TypeField *f) {
  const TypeDesc *ft = desc_at(w, f->type);
  if (w->d == SCHEMA_PLAIN && ft && ft->kind == TD_OPTIONAL) return ft->elem;
  return f->type;
}

static bool is_scalar(const TypeDesc *t) {
  switch ((TypeDescKind)t->kind) {
  case TD_LIST: case TD_MAP: case TD_OPTIONAL: case TD_ENUM: case TD_RECORD: case TD_TAGGED: return false;
  default: return true;
  }
}

/* Counts the edges into every descriptor reachable from td, visiting each
 * once; the depth bound keeps a hostile module's 5,000-deep chain off the C
 * stack (a checked program's types are at most 64 deep). */
static void count_uses(SchemaW *w, uint32_t td, int depth) {
  const TypeDesc *t = desc_at(w, td);
  if (!t) {
    problem(w, "malformed type descriptor");
    return;
  }
  if (w->uses[td]++ > 0) return;
  if (depth > SCHEMA_MAX_DEPTH) {
    problem(w, "the type is too deeply nested for a JSON Schema");
    return;
  }
  switch ((TypeDescKind)t->kind) {
  case TD_LIST: case TD_MAP: case TD_OPTIONAL: count_uses(w, t->elem, depth + 1); break;
  case TD_RANGE: {
    /* the base is written inside the range's own schema, never on its
     * own: only what the base holds (a list's items) is counted */
    const TypeDesc *b = desc_at(w, t->elem);
    if (!b || b->kind == TD_RANGE) problem(w, "malformed type descriptor");
    else if (b->kind == TD_LIST) count_uses(w, b->elem, depth + 1);
    break;
  }
  case TD_RECORD:
    for (uint32_t i = 0; i < t->n && !w->problem; i++) count_uses(w, field_target(w, &t->fields[i]), depth + 1);
    break;
  case TD_TAGGED:
    for (uint32_t i = 0; i < t->n && !w->problem; i++) count_uses(w, t->members[i], depth + 1);
    break;
  default: break;
  }
}

/* A $defs key: the type's name where it has one ([A-Za-z0-9_.-] kept, the
 * rest '_', at most 48 bytes), else "T"; a key already taken gets "_N"
 * (the descriptor index) after it, so keys are unique and deterministic.
 * The set owns nothing: names[] does. */
static bool taken_add(SchemaW *w, char *k) {
  uint32_t mask = w->ntaken_cap - 1;
  for (uint32_t i = (uint32_t)fnv1a64(FNV64_INIT, k, strlen(k)) & mask;; i = (i + 1) & mask) {
    if (!w->taken[i]) {
      w->taken[i] = k;
      return true;
    }
    if (strcmp(w->taken[i], k) == 0) return false;
  }
}

static const char *def_name(SchemaW *w, uint32_t td) {
  if (w->names[td]) return w->names[td];
  const TypeDesc *t = &w->m->types[td];
  const ObjString *name = t->name == NO_INDEX ? NULL : cstr(w->m, t->name);
  Buf k;
  buf_init(&k);
  if (name && name->len) {
    for (uint32_t i = 0; i < name->len && i < 48; i++) {
      char c = name->data[i];
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                c == '-' || c == '.';
      buf_putc(&k, ok ? c : '_');
    }
  } else {
    buf_putc(&k, 'T');
  }
  char *base = buf_detach(&k), *s = xstrdup(base);
  /* a name another def has: add the descriptor index (and a counter,
   * should a written name already look like that) */
  for (uint32_t n = 0; !taken_add(w, s); n++) {
    free(s);
    s = n ? xasprintf("%s_%u_%u", base, td, n) : xasprintf("%s_%u", base, td);
  }
  free(base);
  w->names[td] = s;
  w->queue[w->nqueue++] = td;
  return s;
}

static bool is_def(const SchemaW *w, uint32_t td) {
  const TypeDesc *t = desc_at(w, td);
  return t && w->uses[td] > 1 && !is_scalar(t);
}

static void put_schema(SchemaW *w, uint32_t td, const ObjString *desc, int depth, bool inline_def);

/* Whether dialect d can state range r's bounds as schema keywords: plain
 * JSON Schema all of them; OpenAI strict mode minimum/maximum and
 * minItems/maxItems but not a string's length; Anthropic none
 * (docs/providers.md, "Constrained types"). What it cannot state goes
 * into the description instead; the reply is checked locally either way. */
static bool bounds_native(SchemaDialect d, uint8_t base) {
  switch (d) {
  case SCHEMA_PLAIN: return true;
  case SCHEMA_OPENAI_STRICT: return base != TD_STRING;
  default: return false;
  }
}

/* The description of a constrained type whose bounds the dialect cannot
 * state: the doc, if any, then the bounds in words ("an integer from 1 to
 * 10"). */
static void put_range_description(SchemaW *w, const TypeDesc *rng, uint8_t base, const ObjString *doc) {
  Buf t;
  buf_init(&t);
  if (doc) {
    buf_put(&t, doc->data, doc->len);
    buf_puts(&t, " (");
  }
  buf_puts(&t, base == TD_INT ? "an integer " : base == TD_FLOAT ? "a number " : base == TD_STRING ? "a string " : "a list ");
  range_words(&t, w->m, rng);
  if (doc) buf_putc(&t, ')');
  buf_json_string(&w->b, t.data, t.len);
  buf_free(&t);
}

/* The keywords that state range rng's bounds on base kind `base`. */
static void put_range_keywords(SchemaW *w, const TypeDesc *rng, uint8_t base, bool *first) {
  const char *lo = base == TD_STRING ? "minLength" : base == TD_LIST ? "minItems" : "minimum";
  const char *hi = base == TD_STRING ? "maxLength" : base == TD_LIST ? "maxItems" : "maximum";
  uint32_t bounds[2] = {rng->lo, rng->hi};
  for (int j = 0; j < 2; j++) {
    uint32_t k = bounds[j];
    if (k == NO_INDEX || k >= w->m->nconsts) continue;
    Value v = w->m->consts[k];
    key(w, first, j == 0 ? lo : hi);
    if (v.tag == V_INT) buf_printf(&w->b, "%lld", (long long)v.as.i);
    else buf_float(&w->b, v.as.f);
  }
}

/* A reference to a def; a field's doc beside it goes through a one-branch
 * anyOf, since strict mode takes no other keyword next to "$ref". */
static void put_ref(SchemaW *w, uint32_t td, const ObjString *desc) {
  const char *name = def_name(w, td);
  if (desc) {
    buf_puts(&w->b, "{\"description\":");
    put_jstr(w, desc);
    buf_puts(&w->b, ",\"anyOf\":[");
  }
  buf_puts(&w->b, "{\"$ref\":\"#/$defs/");
  buf_puts(&w->b, name);
  buf_puts(&w->b, "\"}");
  if (desc) buf_puts(&w->b, "]}");
}

/* The schema of a record field: its doc describes it. In the plain
 * dialect an optional field is simply not required (schema of the present
 * value); in OpenAI strict mode every field is required and an optional
 * one may be null. */
static void put_field(SchemaW *w, const TypeField *f, int depth) {
  const ObjString *doc = f->doc == NO_INDEX ? NULL : cstr(w->m, f->doc);
  put_schema(w, field_target(w, f), doc, depth + 1, false);
}

static bool field_required(const SchemaW *w, const TypeField *f) {
  if (w->d != SCHEMA_PLAIN) return true;
  return !(f->type < w->m->ntypes && w->m->types[f->type].kind == TD_OPTIONAL);
}

static void put_record(SchemaW *w, const TypeDesc *t, bool *first, int depth) {
  key(w, first, "type");
  buf_puts(&w->b, "\"object\"");
  key(w, first, "properties");
  buf_putc(&w->b, '{');
  for (uint32_t i = 0; i < t->n; i++) {
    const ObjString *name = cstr(w->m, t->fields[i].name);
    if (i) buf_putc(&w->b, ',');
    if (name) put_jstr(w, name);
    else buf_puts(&w->b, "\"?\"");
    buf_putc(&w->b, ':');
    put_field(w, &t->fields[i], depth);
  }
  buf_putc(&w->b, '}');
  key(w, first, "required");
  buf_putc(&w->b, '[');
  bool any = false;
  for (uint32_t i = 0; i < t->n; i++) {
    const ObjString *name = cstr(w->m, t->fields[i].name);
    if (!name || !field_required(w, &t->fields[i])) continue;
    if (any) buf_putc(&w->b, ',');
    any = true;
    put_jstr(w, name);
  }
  buf_putc(&w->b, ']');
  key(w, first, "additionalProperties");
  buf_puts(&w->b, "false");
}

/* One schema object for descriptor td (a $ref when it is a def, unless
 * this is the def's own body); desc (a field's doc) takes the place of the
 * descriptor's own doc when given. */
static void put_schema(SchemaW *w, uint32_t td, const ObjString *desc, int depth, bool inline_def) {
  if (td >= w->m->ntypes) {
    problem(w, "malformed type descriptor");
    buf_puts(&w->b, "{}");
    return;
  }
  if (!inline_def && is_def(w, td)) {
    put_ref(w, td, desc);
    return;
  }
  if (depth > SCHEMA_MAX_DEPTH) {
    problem(w, "the type is too deeply nested for a JSON Schema");
    buf_puts(&w->b, "{}");
    return;
  }
  const TypeDesc *t = &w->m->types[td];
  if (!desc && t->doc != NO_INDEX) desc = cstr(w->m, t->doc);
  /* a range is its base's schema with the bounds added */
  const TypeDesc *rng = NULL;
  if (t->kind == TD_RANGE) {
    rng = t;
    t = desc_at(w, rng->elem);
    if (!t || t->kind == TD_RANGE) {
      problem(w, "malformed type descriptor");
      buf_puts(&w->b, "{}");
      return;
    }
    if (!desc && t->doc != NO_INDEX) desc = cstr(w->m, t->doc);
  }
  bool native = rng && bounds_native(w->d, t->kind);
  bool first = true;
  buf_putc(&w->b, '{');
  if (rng && !native) {
    key(w, &first, "description");
    put_range_description(w, rng, t->kind, desc);
  } else if (desc) {
    key(w, &first, "description");
    put_jstr(w, desc);
  } else if (t->kind == TD_DURATION) {
    key(w, &first, "description");
    buf_puts(&w->b, "\"" DURATION_DOC "\"");
  }
  switch ((TypeDescKind)t->kind) {
  case TD_INT: key(w, &first, "type"); buf_puts(&w->b, "\"integer\""); break;
  case TD_FLOAT: key(w, &first, "type"); buf_puts(&w->b, "\"number\""); break;
  case TD_BOOL: key(w, &first, "type"); buf_puts(&w->b, "\"boolean\""); break;
  case TD_STRING: key(w, &first, "type"); buf_puts(&w->b, "\"string\""); break;
  case TD_NONE: key(w, &first, "type"); buf_puts(&w->b, "\"null\""); break;
  case TD_DURATION:
    key(w, &first, "type");
    buf_puts(&w->b, "\"string\"");
    key(w, &first, "pattern");
    buf_puts(&w->b, "\"" DURATION_PATTERN "\"");
    break;
  case TD_JSON:
    /* any JSON value: {} says nothing, which is what plain JSON Schema
     * means by "anything"; strict mode has no such schema */
    if (w->d != SCHEMA_PLAIN)
      problem(w, "OpenAI strict mode cannot express free-form json (ask for a record instead)");
    break;
  case TD_FUNC:
    problem(w, "functions cannot be expressed as JSON");
    break;
  case TD_LIST:
    key(w, &first, "type");
    buf_puts(&w->b, "\"array\"");
    key(w, &first, "items");
    put_schema(w, t->elem, NULL, depth + 1, false);
    break;
  case TD_MAP:
    if (w->d != SCHEMA_PLAIN)
      problem(w, "OpenAI strict mode cannot express maps (ask for a list of records instead)");
    key(w, &first, "type");
    buf_puts(&w->b, "\"object\"");
    key(w, &first, "additionalProperties");
    put_schema(w, t->elem, NULL, depth + 1, false);
    break;
  case TD_OPTIONAL:
    key(w, &first, "anyOf");
    buf_putc(&w->b, '[');
    put_schema(w, t->elem, NULL, depth + 1, false);
    buf_puts(&w->b, ",{\"type\":\"null\"}]");
    break;
  case TD_ENUM:
    if (t->n == 0) problem(w, "an empty union has no values");
    key(w, &first, "type");
    buf_puts(&w->b, "\"string\"");
    key(w, &first, "enum");
    buf_putc(&w->b, '[');
    for (uint32_t i = 0; i < t->n; i++) {
      const ObjString *s = cstr(w->m, t->members[i]);
      if (i) buf_putc(&w->b, ',');
      if (s) put_jstr(w, s);
      else buf_puts(&w->b, "\"?\"");
    }
    buf_putc(&w->b, ']');
    break;
  case TD_RECORD:
    put_record(w, t, &first, depth);
    break;
  case TD_TAGGED:
    /* one object per variant, told apart by its `type`, a one-value enum
     * (no "discriminator": neither provider takes it) */
    if (t->n == 0) problem(w, "an empty union has no values");
    key(w, &first, "anyOf");
    buf_putc(&w->b, '[');
    for (uint32_t i = 0; i < t->n; i++) {
      if (i) buf_putc(&w->b, ',');
      put_schema(w, t->members[i], NULL, depth + 1, false);
    }
    buf_putc(&w->b, ']');
    break;
  case TD_RANGE: case TD__COUNT:
    problem(w, "malformed type descriptor");
    break;
  }
  if (native) put_range_keywords(w, rng, t->kind, &first);
  buf_putc(&w->b, '}');
}

/* Both providers want an object at the top: anything else (a list, a
 * union, an optional record, free json) goes into {"value": ...}. */
static bool needs_wrap(const Module *m, uint32_t td) {
  return td >= m->ntypes || m->types[td].kind != TD_RECORD;
}

/* The whole schema: the top object, then "$defs" (every def in the order
 * first referred to; writing one may name more) inside it, where both
 * providers look for definitions. */
static void walk_top(SchemaW *w, uint32_t td, bool *wrapped) {
  bool wrap = needs_wrap(w->m, td);
  if (wrapped) *wrapped = wrap;
  if (td < w->m->ntypes) {
    w->uses = xcalloc(w->m->ntypes, sizeof *w->uses);
    count_uses(w, td, wrap ? 1 : 0);
    if (w->problem) {   /* too deep or malformed: no schema is written */
      buf_puts(&w->b, "{}");
      return;
    }
    uint32_t ndefs = 0;
    for (uint32_t i = 0; i < w->m->ntypes; i++) ndefs += is_def(w, i);
    w->names = xcalloc(w->m->ntypes, sizeof *w->names);
    w->queue = xcalloc(ndefs + 1, sizeof *w->queue);
    w->ntaken_cap = 16;
    while (w->ntaken_cap < 2 * ndefs + 2) w->ntaken_cap *= 2;
    w->taken = xcalloc(w->ntaken_cap, sizeof *w->taken);
  }
  if (!wrap) {
    put_schema(w, td, NULL, 0, false);
  } else {
    buf_puts(&w->b, "{\"type\":\"object\",\"properties\":{\"value\":");
    put_schema(w, td, NULL, 1, false);
    buf_puts(&w->b, "},\"required\":[\"value\"],\"additionalProperties\":false}");
  }
  if (w->nqueue == 0) return;
  w->b.len--;   /* reopen the top object (it ends in '}') for "$defs" */
  buf_puts(&w->b, ",\"$defs\":{");
  for (w->qhead = 0; w->qhead < w->nqueue; w->qhead++) {
    uint32_t d = w->queue[w->qhead];
    if (w->qhead) buf_putc(&w->b, ',');
    buf_json_string(&w->b, w->names[d], strlen(w->names[d]));
    buf_putc(&w->b, ':');
    put_schema(w, d, NULL, 0, true);
  }
  buf_puts(&w->b, "}}");
}

static void schema_free(SchemaW *w) {
  if (w->names)
    for (uint32_t i = 0; i < w->m->ntypes; i++) free(w->names[i]);
  free(w->names);
  free(w->uses);
  free(w->queue);
  free(w->taken);
}

char *schema_json(const Module *m, uint32_t td, SchemaDialect d, bool *wrapped) {
  SchemaW w = {.m = m, .d = d};
  walk_top(&w, td, wrapped);
  schema_free(&w);
  if (!w.b.data) buf_puts(&w.b, "{}");
  return w.b.data; /* the Buf's malloc'd, NUL-terminated text */
}

const char *schema_check(const Module *m, uint32_t td, SchemaDialect d) {
  SchemaW w = {.m = m, .d = d};
  walk_top(&w, td, NULL);
  schema_free(&w);
  buf_free(&w.b);
  return w.problem;
}

/* ---- mock values ----------------------------------------------------------- */

/* splitmix64: a full-period mixer; sub-seeds come from mixing the parent
 * seed with a position, so sibling values differ and nothing depends on
 * the order the walk happens to visit them. */
static uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

static uint64_t sub_seed(uint64_t seed, uint64_t pos) { return mix(seed ^ mix(pos + 1)); }

static const char *const words[] = {
  "amber", "basil", "cedar", "delta", "ember", "fjord", "glade", "harbor",
  "iris", "juniper", "kestrel", "lumen", "maple", "nectar", "onyx", "pebble",
  "quartz", "river", "sable", "tundra", "umber", "violet", "willow", "zephyr",
};
#define NWORDS (sizeof words / sizeof words[0])

typedef struct MockW {
  Heap *h;
  const Module *m;
  uint32_t values;       /* produced so far, against MOCK_MAX_VALUES */
} MockW;

static bool name_has(const ObjString *name, const char *part) {
  if (!name) return false;
  size_t n = strlen(part);
  for (size_t i = 0; i + n <= name->len; i++)
    if (memcmp(name->data + i, part, n) == 0) return true;
  return false;
}

/* A short readable string; a field's name picks a plausible form. */
static Value mock_string(MockW *w, uint64_t seed, const ObjString *field) {
  size_t ia = seed % NWORDS, ib = (seed >> 8) % NWORDS;
  if (ib == ia) ib = (ib + 1) % NWORDS; /* "amber amber" reads like a bug */
  const char *a = words[ia], *b = words[ib];
  Buf s;
  buf_init(&s);
  if (name_has(field, "file") || name_has(field, "path")) buf_printf(&s, "src/%s.c", a);
  else if (name_has(field, "email")) buf_printf(&s, "%s@example.com", a);
  else if (name_has(field, "url")) buf_printf(&s, "https://example.com/%s", a);
  else if (name_has(field, "name")) buf_printf(&s, "%s-%u", a, (unsigned)(seed >> 16) % 100);
  else if ((seed >> 24) % 2) buf_printf(&s, "%s %s", a, b);
  else buf_puts(&s, a);
  Value v = v_string(w->h, s.data, s.len);
  buf_free(&s);
  return v;
}

static Value mock(MockW *w, uint32_t td, uint64_t seed, const ObjString *field, int depth);

static Value mock_record(MockW *w, const TypeDesc *t, uint64_t seed, int depth) {
  ObjShape *shape = t->shape;
  if (!shape) {
    /* a descriptor built outside module_add_type/module_load: a map is
     * just as acceptable to v_convert */
    Value map = v_map(w->h, t->n < 64 ? t->n : 64);
    for (uint32_t i = 0; i < t->n; i++) {
      const ObjString *name = cstr(w->m, t->fields[i].name);
      if (!name) continue;
      Value x = mock(w, t->fields[i].type, sub_seed(seed, i), name, depth + 1);
      ObjString *k = AS_STRING(v_string(w->h, name->data, name->len));
      map = map_set_take(w->h, map, k, x);
      v_release(w->h, v_obj(&k->h));
    }
    return map;
  }
  Value rec = v_record(w->h, shape);
  /* every field, also past the budget: there each costs one small value
   * (none, [], {}), and only the records open when it ran out are filled */
  for (uint32_t i = 0; i < t->n && i < shape->n; i++) {
    const ObjString *name = cstr(w->m, t->fields[i].name);
    AS_RECORD(rec)->vals[i] = mock(w, t->fields[i].type, sub_seed(seed, i), name, depth + 1);
  }
  return rec;
}

/* Bound k of a range as an int (lengths, int values); dflt when open. */
static int64_t bound_i(const Module *m, uint32_t k, int64_t dflt) {
  if (k == NO_INDEX || k >= m->nconsts) return dflt;
  Value v = m->consts[k];
  return v.tag == V_INT ? v.as.i : dflt;
}

static double bound_f(const Module *m, uint32_t k, double dflt) {
  if (k == NO_INDEX || k >= m->nconsts) return dflt;
  Value v = m->consts[k];
  return v.tag == V_INT ? (double)v.as.i : v.tag == V_FLOAT ? v.as.f : dflt;
}

/* Longest string or list a mock value is made to hold to meet a lower
 * bound: a larger minimum gets a value that is too short, and fails
 * validation cleanly, as a type with no short valid value does. */
#define MOCK_MAX_LENGTH 4096

/* A value inside range d: an int or float spread over the range (near 0..100
 * when a side is open), a string padded or cut to its length, a list of
 * 1-3 items moved into its length. */
static Value mock_range(MockW *w, const TypeDesc *d, uint64_t seed, const ObjString *field, int depth) {
  const Module *m = w->m;
  const TypeDesc *b = d->elem < m->ntypes ? &m->types[d->elem] : NULL;
  uint64_t r = mix(seed);
  if (!b) return v_none();
  switch ((TypeDescKind)b->kind) {
  case TD_INT: {
    bool lo_set = d->lo != NO_INDEX, hi_set = d->hi != NO_INDEX;
    int64_t lo = bound_i(m, d->lo, INT64_MIN), hi = bound_i(m, d->hi, INT64_MAX);
    if (lo_set && hi_set) {
      uint64_t span = (uint64_t)hi - (uint64_t)lo;
      return v_int((int64_t)((uint64_t)lo + (span == UINT64_MAX ? r : r % (span + 1))));
    }
    if (lo_set) return v_int(lo > INT64_MAX - 100 ? lo : lo + (int64_t)(r % 100));
    return v_int(hi < INT64_MIN + 100 ? hi : hi - (int64_t)(r % 100));
  }
  case TD_FLOAT: {
    bool lo_set = d->lo != NO_INDEX, hi_set = d->hi != NO_INDEX;
    double lo = bound_f(m, d->lo, 0), hi = bound_f(m, d->hi, 0);
    double x;
    if (lo_set && hi_set) x = lo + (hi - lo) * (double)(r % 1001) / 1000.0;
    else if (lo_set) x = lo + (double)(r % 1000) / 100.0;
    else x = hi - (double)(r % 1000) / 100.0;
    /* rounding must not step outside */
    if (lo_set && x < lo) x = lo;
    if (hi_set && x > hi) x = hi;
    return v_float(x);
  }
  case TD_STRING: {
    int64_t lo = bound_i(m, d->lo, 0), hi = bound_i(m, d->hi, INT64_MAX);
    Value s = mock_string(w, r, field);
    ObjString *os = AS_STRING(s);
    if ((int64_t)os->len >= lo && (int64_t)os->len <= hi) return s;
    /* mock words are ASCII: bytes are code points */
    Buf t;
    buf_init(&t);
    buf_put(&t, os->data, os->len);
    v_release(w->h, s);
    for (uint64_t i = 1; (int64_t)t.len < lo && t.len < MOCK_MAX_LENGTH; i++) {
      buf_putc(&t, ' ');
      buf_puts(&t, words[mix(seed + i) % NWORDS]);
    }
    if ((int64_t)t.len > hi) t.len = (size_t)hi;
    while (t.len > 0 && t.data[t.len - 1] == ' ') t.len--;   /* no trailing blank */
    if ((int64_t)t.len < lo) {   /* cut at a blank below the minimum: fill */
      while ((int64_t)t.len < lo && t.len < MOCK_MAX_LENGTH) buf_putc(&t, 'x');
    }
    s = v_string(w->h, t.data ? t.data : "", t.len);
    buf_free(&t);
    return s;
  }
  case TD_LIST: {
    int64_t lo = bound_i(m, d->lo, 0), hi = bound_i(m, d->hi, INT64_MAX);
    int64_t n = 1 + (int64_t)(r % 3);
    if (n > hi) n = hi;
    if (n < lo) n = lo > MOCK_MAX_LENGTH ? 0 : lo;
    Value list = v_list(w->h, (uint32_t)n);
    /* past the value budget the list stays short, and fails validation */
    for (int64_t i = 0; i < n && w->values < MOCK_MAX_VALUES; i++)
      list = list_push_take(w->h, list, mock(w, b->elem, sub_seed(seed, (uint64_t)i), field, depth + 1));
    return list;
  }
  default:
    return v_none();
  }
}

static Value mock(MockW *w, uint32_t td, uint64_t seed, const ObjString *field, int depth) {
  if (td >= w->m->ntypes || depth > SCHEMA_MAX_DEPTH) return v_none();
  const TypeDesc *t = &w->m->types[td];
  bool spent = ++w->values > MOCK_MAX_VALUES;
  uint64_t r = mix(seed);
  switch ((TypeDescKind)t->kind) {
  case TD_INT: return v_int((int64_t)(r % 100));
  case TD_FLOAT: return v_float((double)(r % 1000) / 100.0);
  case TD_BOOL: return v_bool(r & 1);
  case TD_STRING: return mock_string(w, r, field);
  case TD_DURATION: {
    static const int64_t ms[] = {250, 1000, 30000, 120000, 3600000};
    return v_duration(ms[r % (sizeof ms / sizeof ms[0])]);
  }
  case TD_JSON: return v_cstring(w->h, words[r % NWORDS]);
  case TD_NONE: case TD_FUNC: return v_none();
  case TD_OPTIONAL:
    if (spent || r % 4 == 0) return v_none();
    return mock(w, t->elem, sub_seed(seed, 0), field, depth + 1);
  case TD_ENUM: {
    if (t->n == 0) return v_none();
    const ObjString *s = cstr(w->m, t->members[r % t->n]);
    return s ? v_string(w->h, s->data, s->len) : v_none();
  }
  case TD_LIST: {
    uint32_t n = spent ? 0 : 1 + (uint32_t)(r % 3);
    Value list = v_list(w->h, n);
    for (uint32_t i = 0; i < n && w->values < MOCK_MAX_VALUES; i++)   /* shorter when spent */
      list = list_push_take(w->h, list, mock(w, t->elem, sub_seed(seed, i), field, depth + 1));
    return list;
  }
  case TD_MAP: {
    uint32_t n = spent ? 0 : 1 + (uint32_t)(r % 2);
    Value map = v_map(w->h, n);
    for (uint32_t i = 0; i < n && w->values < MOCK_MAX_VALUES; i++) {
      ObjString *k = AS_STRING(v_cstring(w->h, words[(r + i) % NWORDS]));
      map = map_set_take(w->h, map, k, mock(w, t->elem, sub_seed(seed, i), NULL, depth + 1));
      v_release(w->h, v_obj(&k->h));
    }
    return map;
  }
  case TD_RECORD:
    /* past the budget no valid value is affordable: a type whose required
     * records double at every level has no JSON text shorter than its
     * tree (2^N leaves). none makes the reply fail validation, cleanly;
     * optionals and lists (none, empty) keep other types valid */
    return spent ? v_none() : mock_record(w, t, seed, depth);
  case TD_TAGGED: {
    /* a variant picked by the seed, then its record (its tag is a
     * one-member enum, so the record carries the right one) */
    if (t->n == 0 || spent) return v_none();
    uint32_t v = t->members[r % t->n];
    if (v >= w->m->ntypes || w->m->types[v].kind != TD_RECORD) return v_none();
    return mock_record(w, &w->m->types[v], sub_seed(seed, r % t->n), depth + 1);
  }
  case TD_RANGE:
    return mock_range(w, t, seed, field, depth);
  case TD__COUNT: break;
  }
  return v_none();
}

Value schema_mock_value(Heap *h, const Module *m, uint32_t td, uint64_t seed) {
  MockW w = {h, m, 0};
  return mock(&w, td, seed, NULL, 0);
}
