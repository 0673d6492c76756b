/* types.c — the checker's type values: construction, equality,
 * assignability, JSON-expressibility and printing.
 *
 * Types are plain structs in the Program arena (or, for the simple kinds,
 * shared read-only singletons). Every walk over a type is bounded by
 * TYPE_WALK_LIMIT: types built from source are as deep as the AST at most,
 * and the checker refuses deeper inferred types, so the limit only guards
 * against misuse, never against a real program. */
#include <string.h>
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

static const TyField *find_field(const Type *r, const char *name) {
  for (uint32_t i = 0; i < r->nfields; i++)
    if (strcmp(r->fields[i].name, name) == 0) return &r->fields[i];
  return NULL;
}

static bool lits_contain(const Type *u, const char *lit) {
  for (uint32_t i = 0; i < u->nlits; i++)
    if (strcmp(u->lits[i], lit) == 0) return true;
  return false;
}

/* Structural equality; records compare as sets of fields. */
static bool equal_at(const Type *a, const Type *b, int depth) {
  if (a == b) return true;
  if (!a || !b || depth > TYPE_WALK_LIMIT) return false;
  if (a->kind != b->kind) return false;
  switch (a->kind) {
  case TY_LIST: case TY_MAP: case TY_OPTIONAL:
    return equal_at(a->elem, b->elem, depth + 1);
  case TY_TASKS:
    return a->sections == b->sections && equal_at(a->elem, b->elem, depth + 1);
  case TY_RECORD:
    if (a->nfields != b->nfields) return false;
    for (uint32_t i = 0; i < a->nfields; i++) {
      const TyField *f = find_field(b, a->fields[i].name);
      if (!f || !equal_at(a->fields[i].type, f->type, depth + 1)) return false;
    }
    return true;
  case TY_UNION:
    /* Members are unique, so equal counts and a ⊆ b mean equal sets. */
    if (a->nlits != b->nlits) return false;
    for (uint32_t i = 0; i < a->nlits; i++)
      if (!lits_contain(b, a->lits[i])) return false;
    return true;
  case TY_FN:
    if (a->nparams != b->nparams) return false;
    for (uint32_t i = 0; i < a->nparams; i++)
      if (!equal_at(a->params[i], b->params[i], depth + 1)) return false;
    return equal_at(a->ret, b->ret, depth + 1);
  case TY_VAR:
    return a->var_id == b->var_id;
  default:
    return true;
  }
}

bool type_equal(const Type *a, const Type *b) { return equal_at(a, b, 0); }

static bool jsonable_at(const Type *t, int depth) {
  if (!t || depth > TYPE_WALK_LIMIT) return false;
  switch (t->kind) {
  case TY_ERROR: case TY_NEVER: case TY_INT: case TY_FLOAT: case TY_BOOL:
  case TY_STRING: case TY_DURATION: case TY_JSON: case TY_NONE: case TY_UNION:
    return true;
  case TY_LIST: case TY_MAP: case TY_OPTIONAL:
    return jsonable_at(t->elem, depth + 1);
  case TY_RECORD:
    for (uint32_t i = 0; i < t->nfields; i++)
      if (!jsonable_at(t->fields[i].type, depth + 1)) return false;
    return true;
  default: /* void, fn, role, type variables (may stand for a function) */
    return false;
  }
}

bool type_is_jsonable(const Type *t) { return jsonable_at(t, 0); }

/* Assignability: immutable values make lists, maps, records and optionals
 * covariant, and function types contravariant in their parameters. */
static bool assignable_at(const Type *from, const Type *to, int depth) {
  if (!from || !to || depth > TYPE_WALK_LIMIT) return false;
  if (from == to) return true;
  if (from->kind == TY_ERROR || to->kind == TY_ERROR) return true;
  if (from->kind == TY_NEVER) return true;
  if (to->kind == TY_JSON) return jsonable_at(from, depth + 1);
  if (to->kind == TY_OPTIONAL) {
    if (from->kind == TY_NONE) return true;
    if (from->kind == TY_OPTIONAL) return assignable_at(from->elem, to->elem, depth + 1);
    return assignable_at(from, to->elem, depth + 1);
  }
  if (from->kind == TY_UNION) {
    if (to->kind == TY_STRING) return true;
    if (to->kind != TY_UNION) return false;
    for (uint32_t i = 0; i < from->nlits; i++)
      if (!lits_contain(to, from->lits[i])) return false;
    return true;
  }
  if (from->kind != to->kind) return false;
  switch (from->kind) {
  case TY_LIST: case TY_MAP:
    return assignable_at(from->elem, to->elem, depth + 1);
  case TY_TASKS:
    return from->sections == to->sections && assignable_at(from->elem, to->elem, depth + 1);
  case TY_RECORD:
    if (from->nfields != to->nfields) return false;
    for (uint32_t i = 0; i < to->nfields; i++) {
      const TyField *f = find_field(from, to->fields[i].name);
      if (!f || !assignable_at(f->type, to->fields[i].type, depth + 1)) return false;
    }
    return true;
  case TY_FN:
    if (from->nparams != to->nparams) return false;
    for (uint32_t i = 0; i < from->nparams; i++)
      if (!assignable_at(to->params[i], from->params[i], depth + 1)) return false;
    return to->ret->kind == TY_VOID || assignable_at(from->ret, to->ret, depth + 1);
  case TY_VAR:
    return from->var_id == to->var_id;
  default:
    return true;
  }
}

bool type_assignable(const Type *from, const Type *to) { return assignable_at(from, to, 0); }

static bool needs_parens(const Type *t) {
  return !t->name && (t->kind == TY_FN || (t->kind == TY_UNION && t->nlits > 1));
}

static void print_at(Buf *b, const Type *t, int depth, bool use_name) {
  if (!t) { buf_puts(b, "?"); return; }
  if (depth > TYPE_WALK_LIMIT) { buf_puts(b, "..."); return; }
  if (use_name && t->name) { buf_puts(b, t->name); return; }
  switch (t->kind) {
  case TY_ERROR: buf_puts(b, "<error>"); break;
  case TY_VOID: buf_puts(b, "void"); break;
  case TY_NEVER: buf_puts(b, "never"); break;
  case TY_INT: buf_puts(b, "int"); break;
  case TY_FLOAT: buf_puts(b, "float"); break;
  case TY_BOOL: buf_puts(b, "bool"); break;
  case TY_STRING: buf_puts(b, "string"); break;
  case TY_DURATION: buf_puts(b, "duration"); break;
  case TY_JSON: buf_puts(b, "json"); break;
  case TY_NONE: buf_puts(b, "none"); break;
  case TY_ROLE: buf_puts(b, "role"); break;
  case TY_LIST: case TY_MAP: case TY_TASKS:
    buf_puts(b, t->kind == TY_LIST ? "list[" : t->kind == TY_MAP ? "map[" : "tasks[");
    print_at(b, t->elem, depth + 1, true);
    buf_putc(b, ']');
    break;
  case TY_OPTIONAL:
    if (t->elem && needs_parens(t->elem)) {
      buf_putc(b, '(');
      print_at(b, t->elem, depth + 1, true);
      buf_putc(b, ')');
    } else {
      print_at(b, t->elem, depth + 1, true);
    }
    buf_putc(b, '?');
    break;
  case TY_RECORD:
    if (t->nfields == 0) { buf_puts(b, "{}"); break; }
    buf_puts(b, "{ ");
    for (uint32_t i = 0; i < t->nfields; i++) {
      if (i) buf_puts(b, ", ");
      buf_puts(b, t->fields[i].name);
      buf_puts(b, ": ");
      print_at(b, t->fields[i].type, depth + 1, true);
    }
    buf_puts(b, " }");
    break;
  case TY_UNION:
    for (uint32_t i = 0; i < t->nlits; i++) {
      if (i) buf_puts(b, " | ");
      buf_json_string(b, t->lits[i], strlen(t->lits[i]));
    }
    break;
  case TY_FN:
    buf_puts(b, "fn(");
    for (uint32_t i = 0; i < t->nparams; i++) {
      if (i) buf_puts(b, ", ");
      print_at(b, t->params[i], depth + 1, true);
    }
    buf_puts(b, ") -> ");
    print_at(b, t->ret, depth + 1, true);
    break;
  case TY_VAR:
    buf_puts(b, "T");
    break;
  default:
    buf_puts(b, "?");
    break;
  }
}

void type_print(Buf *b, const Type *t) { print_at(b, t, 0, true); }
