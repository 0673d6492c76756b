/* types.c — the checker's type values: construction, equality,
 * assignability, JSON-expressibility and printing, and the memo every walk
 * over types keeps (compiler.h, "walks over types").
 *
 * Types are plain structs in the Program arena (or, for the simple kinds,
 * shared read-only singletons). Every walk over a type is bounded by
 * TYPE_WALK_LIMIT: types built from source are as deep as the AST at most,
 * and the checker refuses deeper inferred types, so the limit only guards
 * against misuse, never against a real program. Every walk keeps a
 * TypeMemo, so shared parts of a type are compared or visited once. */
#include <stdlib.h>
#include <string.h>
#include "../base/util.h"
#include "compiler.h"

#define TYPE_WALK_LIMIT 1000

/* The simple kinds carry no data, so one shared instance each suffices.
 * They are never written after initialisation (an alias name is put on a
 * copy, see check.c), so sharing them keeps no mutable global state. */
static Type prim_types[TY__COUNT] = {
  [TY_ERROR] = {.kind = TY_ERROR},     [TY_VOID] = {.kind = TY_VOID},
  [TY_NEVER] = {.kind = TY_NEVER},     [TY_INT] = {.kind = TY_INT},
  [TY_FLOAT] = {.kind = TY_FLOAT},     [TY_BOOL] = {.kind = TY_BOOL},
  [TY_STRING] = {.kind = TY_STRING},   [TY_DURATION] = {.kind = TY_DURATION},
  [TY_JSON] = {.kind = TY_JSON},       [TY_NONE] = {.kind = TY_NONE},
  [TY_ROLE] = {.kind = TY_ROLE},
};

Type *type_new(Arena *a, TypeKind kind) {
  Type *t = arena_alloc(a, sizeof *t);
  t->kind = kind;
  return t;
}

Type *type_prim(TypeKind kind) {
  switch (kind) {
  case TY_ERROR: case TY_VOID: case TY_NEVER: case TY_INT: case TY_FLOAT:
  case TY_BOOL: case TY_STRING: case TY_DURATION: case TY_JSON: case TY_NONE:
  case TY_ROLE:
    return &prim_types[kind];
  default:
    return &prim_types[TY_ERROR];
  }
}

/* ---- the memo ---------------------------------------------------------- */

void tmemo_init(TypeMemo *m) {
  m->slots = NULL;
  m->n = m->cap = 0;
}

void tmemo_free(TypeMemo *m) {
  if (m->slots != m->local) free(m->slots);
  tmemo_init(m);
}

static uint32_t memo_hash(const void *a, const void *b) {
  uint64_t h = (uint64_t)(uintptr_t)a * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)b * 0xC2B2AE3D27D4EB4FULL;
  return (uint32_t)(h ^ (h >> 32));
}

/* The slot holding (a, b), or the empty slot where it would go; NULL
 * while the table is empty. */
static TypeMemoSlot *memo_find(const TypeMemo *m, const void *a, const void *b) {
  if (!m->cap) return NULL;
  uint32_t mask = m->cap - 1;
  for (uint32_t i = memo_hash(a, b) & mask;; i = (i + 1) & mask) {
    TypeMemoSlot *s = &m->slots[i];
    if (!s->a || (s->a == a && s->b == b)) return s;
  }
}

/* Doubles the table (the first one is m->local) and moves the entries. */
static void memo_grow(TypeMemo *m) {
  TypeMemoSlot *old = m->slots;
  uint32_t old_cap = m->cap;
  if (old) {
    m->cap = old_cap * 2;
    m->slots = xcalloc(m->cap, sizeof *m->slots);
  } else {
    m->cap = sizeof m->local / sizeof m->local[0];
    m->slots = memset(m->local, 0, sizeof m->local);
  }
  for (uint32_t i = 0; i < old_cap; i++)
    if (old[i].a) *memo_find(m, old[i].a, old[i].b) = old[i];
  if (old != m->local) free(old);
}

bool tmemo_get(const TypeMemo *m, const void *a, const void *b, int depth, void **val) {
  const TypeMemoSlot *s = memo_find(m, a, b);
  if (!s || !s->a || s->depth > depth) return false;
  if (val) *val = s->val;
  return true;
}

void tmemo_put(TypeMemo *m, const void *a, const void *b, int depth, void *val) {
  TypeMemoSlot *s = memo_find(m, a, b);
  if (!s || (!s->a && (m->n + 1) * 2 > m->cap)) {
    memo_grow(m);
    s = memo_find(m, a, b);
  }
  if (!s->a) m->n++;
  *s = (TypeMemoSlot){a, b, val, depth};
}

bool tmemo_seen(TypeMemo *m, const void *a, const void *b, int depth) {
  if (tmemo_get(m, a, b, depth, NULL)) return true;
  tmemo_put(m, a, b, depth, NULL);
  return false;
}

/* Whether t has parts a walk goes into: only those are worth a memo slot. */
static bool compound(const Type *t) {
  switch (t->kind) {
  case TY_LIST: case TY_MAP: case TY_OPTIONAL: case TY_TASKS: case TY_RECORD: case TY_FN:
  case TY_TAGGED:
    return true;
  default:
    return false;
  }
}

/* The field of record r called name; fields in the same order (the
 * usual case: one declaration, or a literal written like it) are found at
 * `at` at once. */
static const TyField *find_field(const Type *r, const char *name, uint32_t at) {
  if (at < r->nfields && strcmp(r->fields[at].name, name) == 0) return &r->fields[at];
  for (uint32_t i = 0; i < r->nfields; i++)
    if (strcmp(r->fields[i].name, name) == 0) return &r->fields[i];
  return NULL;
}

static bool lits_contain(const Type *u, const char *lit) {
  for (uint32_t i = 0; i < u->nlits; i++)
    if (strcmp(u->lits[i], lit) == 0) return true;
  return false;
}

static uint32_t lit_hash(const char *s) {
  return (uint32_t)fnv1a64(FNV64_INIT, s, strlen(s));
}

/* Whether every member of union a is one of b's. Members are unique; a
 * long union (written by a generator, not a person) is looked up through
 * a hash of b's members, so the test stays linear. */
static bool lits_subset(const Type *a, const Type *b) {
  if (a->nlits > b->nlits) return false;
  if (b->nlits <= 32) {
    for (uint32_t i = 0; i < a->nlits; i++)
      if (!lits_contain(b, a->lits[i])) return false;
    return true;
  }
  uint32_t cap = 64;
  while (cap < b->nlits * 2) cap *= 2;
  const char **slots = xcalloc(cap, sizeof *slots);
  for (uint32_t i = 0; i < b->nlits; i++) {
    uint32_t h = lit_hash(b->lits[i]) & (cap - 1);
    while (slots[h]) h = (h + 1) & (cap - 1);
    slots[h] = b->lits[i];
  }
  bool all = true;
  for (uint32_t i = 0; i < a->nlits && all; i++) {
    uint32_t h = lit_hash(a->lits[i]) & (cap - 1);
    while (slots[h] && strcmp(slots[h], a->lits[i]) != 0) h = (h + 1) & (cap - 1);
    all = slots[h] != NULL;
  }
  free(slots);
  return all;
}

/* ---- range constraints --------------------------------------------------- */

static bool range_equal(const TyRange *a, const TyRange *b) {
  if (!a || !b) return a == b;
  if (a->has_lo != b->has_lo || a->has_hi != b->has_hi || a->is_float != b->is_float) return false;
  if (a->is_float)
    return (!a->has_lo || a->flo == b->flo) && (!a->has_hi || a->fhi == b->fhi);
  return (!a->has_lo || a->lo == b->lo) && (!a->has_hi || a->hi == b->hi);
}

/* Whether every value `from` allows is one `to` allows (NULL: no bounds). */
static bool range_within(const TyRange *from, const TyRange *to) {
  if (!to) return true;
  if (!from) return false;
  if (to->has_lo) {
    if (!from->has_lo) return false;
    if (to->is_float ? from->flo < to->flo : from->lo < to->lo) return false;
  }
  if (to->has_hi) {
    if (!from->has_hi) return false;
    if (to->is_float ? from->fhi > to->fhi : from->hi > to->hi) return false;
  }
  return true;
}

bool type_range_holds(const TyRange *r, double v) {
  if (!r) return true;
  if (r->is_float) return (!r->has_lo || v >= r->flo) && (!r->has_hi || v <= r->fhi);
  return (!r->has_lo || v >= (double)r->lo) && (!r->has_hi || v <= (double)r->hi);
}

bool type_range_holds_int(const TyRange *r, int64_t v) {
  if (!r) return true;
  if (r->is_float) return type_range_holds(r, (double)v);
  return (!r->has_lo || v >= r->lo) && (!r->has_hi || v <= r->hi);
}

/* Every member of a literal union fits string range r. */
static bool lits_fit(const Type *u, const TyRange *r) {
  for (uint32_t i = 0; i < u->nlits; i++)
    if (!type_range_holds_int(r, (int64_t)utf8_count(u->lits[i], strlen(u->lits[i])))) return false;
  return true;
}

void type_range_print(Buf *b, const TyRange *r) {
  buf_putc(b, '(');
  if (r->has_lo) {
    if (r->is_float) buf_float(b, r->flo);
    else buf_printf(b, "%lld", (long long)r->lo);
  }
  buf_puts(b, "..");
  if (r->has_hi) {
    if (r->is_float) buf_float(b, r->fhi);
    else buf_printf(b, "%lld", (long long)r->hi);
  }
  buf_putc(b, ')');
}

/* Structural equality; records compare as sets of fields. The memo keeps
 * each pair's answer, so two types that share parts compare in time
 * linear in their nodes. */
static bool equal_at(const Type *a, const Type *b, int depth, TypeMemo *memo);

static bool equal_node(const Type *a, const Type *b, int depth, TypeMemo *memo) {
  switch (a->kind) {
  case TY_LIST: case TY_MAP: case TY_OPTIONAL:
    return equal_at(a->elem, b->elem, depth + 1, memo);
  case TY_TASKS:
    return a->sections == b->sections && equal_at(a->elem, b->elem, depth + 1, memo);
  case TY_RECORD:
    if (a->nfields != b->nfields) return false;
    for (uint32_t i = 0; i < a->nfields; i++) {
      const TyField *f = find_field(b, a->fields[i].name, i);
      if (!f || !equal_at(a->fields[i].type, f->type, depth + 1, memo)) return false;
    }
    return true;
  case TY_TAGGED:
    /* nominal by tags: the same variants (in any order), each with an
     * equal record */
    if (a->nfields != b->nfields) return false;
    for (uint32_t i = 0; i < a->nfields; i++) {
      const TyField *f = find_field(b, a->fields[i].name, i);
      if (!f || !equal_at(a->fields[i].type, f->type, depth + 1, memo)) return false;
    }
    return true;
  case TY_UNION:
    /* Members are unique, so equal counts and a ⊆ b mean equal sets. */
    return a->nlits == b->nlits && lits_subset(a, b);
  case TY_FN:
    if (a->nparams != b->nparams) return false;
    for (uint32_t i = 0; i < a->nparams; i++)
      if (!equal_at(a->params[i], b->params[i], depth + 1, memo)) return false;
    return equal_at(a->ret, b->ret, depth + 1, memo);
  case TY_VAR:
    return a->var_id == b->var_id;
  default:
    return true;
  }
}

static bool equal_at(const Type *a, const Type *b, int depth, TypeMemo *memo) {
  if (a == b) return true;
  if (!a || !b || depth > TYPE_WALK_LIMIT) return false;
  if (a->kind != b->kind || !range_equal(a->range, b->range)) return false;
  if (!compound(a)) return equal_node(a, b, depth, memo);
  void *known;
  if (tmemo_get(memo, a, b, depth, &known)) return known != NULL;
  bool eq = equal_node(a, b, depth, memo);
  tmemo_put(memo, a, b, depth, eq ? (void *)a : NULL);
  return eq;
}

bool type_equal(const Type *a, const Type *b) {
  TypeMemo memo;
  tmemo_init(&memo);
  bool eq = equal_at(a, b, 0, &memo);
  tmemo_free(&memo);
  return eq;
}

/* JSON-expressibility keeps its answers in the same memo as
 * assignability (which asks it for `T -> json`), under this tag. */
static const char JSONABLE_TAG;

static bool jsonable_at(const Type *t, int depth, TypeMemo *memo);

static bool jsonable_node(const Type *t, int depth, TypeMemo *memo) {
  switch (t->kind) {
  case TY_ERROR: case TY_NEVER: case TY_INT: case TY_FLOAT: case TY_BOOL:
  case TY_STRING: case TY_DURATION: case TY_JSON: case TY_NONE: case TY_UNION:
    return true;
  case TY_LIST: case TY_MAP: case TY_OPTIONAL:
    return jsonable_at(t->elem, depth + 1, memo);
  case TY_RECORD: case TY_TAGGED:
    for (uint32_t i = 0; i < t->nfields; i++)
      if (!jsonable_at(t->fields[i].type, depth + 1, memo)) return false;
    return true;
  default: /* void, fn, role, type variables (may stand for a function) */
    return false;
  }
}

static bool jsonable_at(const Type *t, int depth, TypeMemo *memo) {
  if (!t || depth > TYPE_WALK_LIMIT) return false;
  if (!compound(t)) return jsonable_node(t, depth, memo);
  void *known;
  if (tmemo_get(memo, t, &JSONABLE_TAG, depth, &known)) return known != NULL;
  bool ok = jsonable_node(t, depth, memo);
  tmemo_put(memo, t, &JSONABLE_TAG, depth, ok ? (void *)t : NULL);
  return ok;
}

bool type_is_jsonable(const Type *t) {
  TypeMemo memo;
  tmemo_init(&memo);
  bool ok = jsonable_at(t, 0, &memo);
  tmemo_free(&memo);
  return ok;
}

/* Assignability: immutable values make lists, maps, records and optionals
 * covariant, and function types contravariant in their parameters. */
static bool assignable_at(const Type *from, const Type *to, int depth, TypeMemo *memo);

static bool assignable_node(const Type *from, const Type *to, int depth, TypeMemo *memo) {
  if (to->kind == TY_JSON) return jsonable_at(from, depth + 1, memo);
  if (to->kind == TY_OPTIONAL) {
    if (from->kind == TY_NONE) return true;
    if (from->kind == TY_OPTIONAL) return assignable_at(from->elem, to->elem, depth + 1, memo);
    return assignable_at(from, to->elem, depth + 1, memo);
  }
  if (from->kind == TY_UNION) {
    if (to->kind == TY_STRING) return !to->range || lits_fit(from, to->range);
    return to->kind == TY_UNION && lits_subset(from, to);
  }
  if (from->kind != to->kind) return false;
  /* a constrained type takes only values known to be inside its range */
  if (!range_within(from->range, to->range)) return false;
  switch (from->kind) {
  case TY_LIST: case TY_MAP:
    return assignable_at(from->elem, to->elem, depth + 1, memo);
  case TY_TASKS:
    return from->sections == to->sections && assignable_at(from->elem, to->elem, depth + 1, memo);
  case TY_RECORD: case TY_TAGGED:
    /* a tagged union: the same tags, each variant's record assignable */
    if (from->nfields != to->nfields) return false;
    for (uint32_t i = 0; i < to->nfields; i++) {
      const TyField *f = find_field(from, to->fields[i].name, i);
      if (!f || !assignable_at(f->type, to->fields[i].type, depth + 1, memo)) return false;
    }
    return true;
  case TY_FN:
    if (from->nparams != to->nparams) return false;
    for (uint32_t i = 0; i < from->nparams; i++)
      if (!assignable_at(to->params[i], from->params[i], depth + 1, memo)) return false;
    return to->ret->kind == TY_VOID || assignable_at(from->ret, to->ret, depth + 1, memo);
  case TY_VAR:
    return from->var_id == to->var_id;
  default:
    return true;
  }
}

static bool assignable_at(const Type *from, const Type *to, int depth, TypeMemo *memo) {
  if (!from || !to || depth > TYPE_WALK_LIMIT) return false;
  if (from == to) return true;
  if (from->kind == TY_ERROR || to->kind == TY_ERROR) return true;
  if (from->kind == TY_NEVER) return true;
  if (!compound(from) && !compound(to)) return assignable_node(from, to, depth, memo);
  void *known;
  if (tmemo_get(memo, from, to, depth, &known)) return known != NULL;
  bool ok = assignable_node(from, to, depth, memo);
  tmemo_put(memo, from, to, depth, ok ? (void *)from : NULL);
  return ok;
}

bool type_assignable_in(TypeMemo *memo, const Type *from, const Type *to) {
  return assignable_at(from, to, 0, memo);
}

bool type_assignable(const Type *from, const Type *to) {
  TypeMemo memo;
  tmemo_init(&memo);
  bool ok = assignable_at(from, to, 0, &memo);
  tmemo_free(&memo);
  return ok;
}

static bool needs_parens(const Type *t) {
  return !t->name && (t->kind == TY_FN || (t->kind == TY_UNION && t->nlits > 1) ||
                       (t->kind == TY_TAGGED && t->nfields > 1));
}

/* ---- searching ------------------------------------------------------------ */

static bool any_at(const Type *t, bool (*is)(const Type *), int depth, int limit, TypeMemo *seen) {
  if (!t || depth > limit) return false;
  if (is(t)) return true;
  /* a node seen before (at this depth or shallower) holds no match: a
   * match found ends the walk */
  if (!compound(t) || tmemo_seen(seen, t, NULL, depth)) return false;
  switch (t->kind) {
  case TY_RECORD: case TY_TAGGED:
    for (uint32_t i = 0; i < t->nfields; i++)
      if (any_at(t->fields[i].type, is, depth + 1, limit, seen)) return true;
    return false;
  case TY_FN:
    for (uint32_t i = 0; i < t->nparams; i++)
      if (any_at(t->params[i], is, depth + 1, limit, seen)) return true;
    return any_at(t->ret, is, depth + 1, limit, seen);
  default:
    return any_at(t->elem, is, depth + 1, limit, seen);
  }
}

bool type_any(const Type *t, bool (*is)(const Type *), int limit) {
  TypeMemo seen;
  tmemo_init(&seen);
  bool found = any_at(t, is, 0, limit, &seen);
  tmemo_free(&seen);
  return found;
}

/* Printing follows every path (its output is a tree), so it stops at
 * TYPE_PRINT_MAX bytes: a named type prints as its name, but a type with
 * no names below the top (a generic instance) may be exponential as text. */
static void print_at(BufCapped *p, const Type *t, int depth, bool use_name) {
  if (p->cut) return;
  if (!t) { buf_capped_puts(p, "?"); return; }
  if (depth > TYPE_WALK_LIMIT) { buf_capped_puts(p, "..."); return; }
  if (use_name && t->name) { buf_capped_puts(p, t->name); return; }
  switch (t->kind) {
  case TY_ERROR: buf_capped_puts(p, "<error>"); break;
  case TY_VOID: buf_capped_puts(p, "void"); break;
  case TY_NEVER: buf_capped_puts(p, "never"); break;
  case TY_INT: buf_capped_puts(p, "int"); break;
  case TY_FLOAT: buf_capped_puts(p, "float"); break;
  case TY_BOOL: buf_capped_puts(p, "bool"); break;
  case TY_STRING: buf_capped_puts(p, "string"); break;
  case TY_DURATION: buf_capped_puts(p, "duration"); break;
  case TY_JSON: buf_capped_puts(p, "json"); break;
  case TY_NONE: buf_capped_puts(p, "none"); break;
  case TY_ROLE: buf_capped_puts(p, "role"); break;
  case TY_LIST: case TY_MAP: case TY_TASKS:
    buf_capped_puts(p, t->kind == TY_LIST ? "list[" : t->kind == TY_MAP ? "map[" : "tasks[");
    print_at(p, t->elem, depth + 1, true);
    buf_capped_puts(p, "]");
    break;
  case TY_OPTIONAL:
    if (t->elem && needs_parens(t->elem)) {
      buf_capped_puts(p, "(");
      print_at(p, t->elem, depth + 1, true);
      buf_capped_puts(p, ")");
    } else {
      print_at(p, t->elem, depth + 1, true);
    }
    buf_capped_puts(p, "?");
    break;
  case TY_RECORD:
    if (t->nfields == 0) { buf_capped_puts(p, "{}"); break; }
    buf_capped_puts(p, "{ ");
    for (uint32_t i = 0; i < t->nfields && !p->cut; i++) {
      if (i) buf_capped_puts(p, ", ");
      buf_capped_puts(p, t->fields[i].name);
      buf_capped_puts(p, ": ");
      print_at(p, t->fields[i].type, depth + 1, true);
    }
    buf_capped_puts(p, " }");
    break;
  case TY_TAGGED:
    /* Tag { fields } | …, the tag field left out */
    for (uint32_t i = 0; i < t->nfields && !p->cut; i++) {
      const Type *r = t->fields[i].type;
      if (i) buf_capped_puts(p, " | ");
      buf_capped_puts(p, t->fields[i].name);
      if (!r || r->nfields <= 1) { buf_capped_puts(p, " {}"); continue; }
      buf_capped_puts(p, " { ");
      for (uint32_t k = 1; k < r->nfields && !p->cut; k++) {
        if (k > 1) buf_capped_puts(p, ", ");
        buf_capped_puts(p, r->fields[k].name);
        buf_capped_puts(p, ": ");
        print_at(p, r->fields[k].type, depth + 1, true);
      }
      buf_capped_puts(p, " }");
    }
    break;
  case TY_UNION:
    for (uint32_t i = 0; i < t->nlits && !p->cut; i++) {
      if (i) buf_capped_puts(p, " | ");
      if (p->cut) break;
      buf_json_string(p->b, t->lits[i], strlen(t->lits[i]));
      buf_capped_check(p);
    }
    break;
  case TY_FN:
    buf_capped_puts(p, "fn(");
    for (uint32_t i = 0; i < t->nparams && !p->cut; i++) {
      if (i) buf_capped_puts(p, ", ");
      print_at(p, t->params[i], depth + 1, true);
    }
    buf_capped_puts(p, ") -> ");
    print_at(p, t->ret, depth + 1, true);
    break;
  case TY_VAR:
    buf_capped_puts(p, "T");
    break;
  default:
    buf_capped_puts(p, "?");
    break;
  }
  if (t->range && !p->cut) {
    type_range_print(p->b, t->range);
    buf_capped_check(p);
  }
}

void type_print(Buf *b, const Type *t) {
  BufCapped p = buf_capped(b, TYPE_PRINT_MAX);
  print_at(&p, t, 0, true);
}
