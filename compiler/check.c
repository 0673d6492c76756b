/* check.c — the checker's driver: per-file scopes and imports, top-level
 * items (types, functions, roles, main), type syntax, name lookup and the
 * type helpers the expression checker (check_expr.c) and the call checker
 * (check_call.c) share.
 *
 * Files are checked in Program.files order (dependencies first), each in
 * four passes: declare items, bind imports, resolve signatures and roles,
 * check bodies. Type aliases resolve lazily, so they may refer to each other
 * in any order; a cycle is E0313. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "../base/util.h"
#include "check_int.h"

/* ---- name tables ------------------------------------------------------ */
static uint32_t hash_name(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

void *tab_get(const SymTab *t, const char *key) {
  if (!t->cap) return NULL;
  for (uint32_t i = hash_name(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    if (!t->keys[i]) return NULL;
    if (strcmp(t->keys[i], key) == 0) return t->vals[i];
  }
}

/* Inserts or replaces; the table lives in the arena (old arrays are simply
 * abandoned on growth, which the arena frees with the program). */
void tab_put(Arena *a, SymTab *t, const char *key, void *val) {
  if ((t->n + 1) * 2 > t->cap) {
    uint32_t ncap = t->cap ? t->cap * 2 : 16;
    const char **keys = arena_alloc(a, ncap * sizeof *keys);
    void **vals = arena_alloc(a, ncap * sizeof *vals);
    for (uint32_t i = 0; i < t->cap; i++) {
      if (!t->keys[i]) continue;
      uint32_t j = hash_name(t->keys[i]) & (ncap - 1);
      while (keys[j]) j = (j + 1) & (ncap - 1);
      keys[j] = t->keys[i];
      vals[j] = t->vals[i];
    }
    t->keys = keys;
    t->vals = vals;
    t->cap = ncap;
  }
  uint32_t i = hash_name(key) & (t->cap - 1);
  while (t->keys[i] && strcmp(t->keys[i], key) != 0) i = (i + 1) & (t->cap - 1);
  if (!t->keys[i]) t->n++;
  t->keys[i] = key;
  t->vals[i] = val;
}

/* ---- type helpers ----------------------------------------------------- */
bool ck_is_error(const Type *t) { return !t || t->kind == TY_ERROR; }

Type *ck_strip(Type *t) { return t && t->kind == TY_OPTIONAL ? t->elem : t; }

/* What a constrained value becomes once it is computed with: the base type
 * (`s + 1` of a Score is an int, which may be 11). */
Type *ck_unconstrained(Checker *c, Type *t) {
  if (!t || !t->range) return t;
  if (t->kind != TY_LIST) return type_prim(t->kind);
  return ck_list(c, TY_LIST, t->elem);
}

static int cmp_lit(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A literal union with unique members in the order they were written:
 * the order shows up in messages and in JSON Schema enums, where the
 * author's order (e.g. "low" | "medium" | "high") carries meaning.
 * type_equal compares unions as sets. Absurdly large unions (written by a
 * fuzzer, not a person) are deduplicated by sorting to stay O(n log n). */
Type *ck_union(Checker *c, const char **lits, uint32_t n) {
  Type *t = type_new(c->a, TY_UNION);
  t->lits = arena_alloc(c->a, (n ? n : 1) * sizeof *t->lits);
  memcpy(t->lits, lits, n * sizeof *lits);
  uint32_t k = 0;
  if (n > 256) {
    qsort(t->lits, n, sizeof *t->lits, cmp_lit);
    for (uint32_t i = 0; i < n; i++)
      if (k == 0 || strcmp(t->lits[k - 1], t->lits[i]) != 0) t->lits[k++] = t->lits[i];
  } else {
    for (uint32_t i = 0; i < n; i++) {
      bool seen = false;
      for (uint32_t j = 0; j < k && !seen; j++) seen = strcmp(t->lits[j], t->lits[i]) == 0;
      if (!seen) t->lits[k++] = t->lits[i];
    }
  }
  t->nlits = k;
  return t;
}

/* T? — never nested, and none? / void? / never? stay as they are. */
Type *ck_optional(Checker *c, Type *t) {
  if (!t || t->kind == TY_OPTIONAL || t->kind == TY_NONE || t->kind == TY_ERROR ||
      t->kind == TY_VOID || t->kind == TY_NEVER || t->kind == TY_JSON)
    return t;
  Type *o = type_new(c->a, TY_OPTIONAL);
  o->elem = t;
  return o;
}

Type *ck_list(Checker *c, TypeKind kind, Type *elem) {
  Type *t = type_new(c->a, kind);
  t->elem = elem;
  return t;
}

/* The height of t, counted up to `limit` (its remaining depth budget).
 * The memo keeps each node's height: a height found with the budget at
 * depth d is min(height, limit), and holds wherever the budget is smaller. */
static int type_depth(const Type *t, int limit, int depth, TypeMemo *memo) {
  if (!t || limit <= 0) return 0;
  void *known;
  if (tmemo_get(memo, t, NULL, depth, &known)) {
    int h = (int)(intptr_t)known;
    return h < limit ? h : limit;
  }
  int d = 0;
  switch (t->kind) {
  case TY_LIST: case TY_MAP: case TY_OPTIONAL: case TY_TASKS:
    d = type_depth(t->elem, limit - 1, depth + 1, memo);
    break;
  case TY_RECORD: case TY_TAGGED:
    for (uint32_t i = 0; i < t->nfields; i++) {
      int fd = type_depth(t->fields[i].type, limit - 1, depth + 1, memo);
      if (fd > d) d = fd;
    }
    break;
  case TY_FN:
    d = type_depth(t->ret, limit - 1, depth + 1, memo);
    for (uint32_t i = 0; i < t->nparams; i++) {
      int pd = type_depth(t->params[i], limit - 1, depth + 1, memo);
      if (pd > d) d = pd;
    }
    break;
  default:
    return 1;
  }
  tmemo_put(memo, t, NULL, depth, (void *)(intptr_t)(d + 1));
  return d + 1;
}

bool ck_too_deep(const Type *t) {
  TypeMemo memo;
  tmemo_init(&memo);
  bool deep = type_depth(t, CHECK_MAX_TYPE_DEPTH + 1, 0, &memo) > CHECK_MAX_TYPE_DEPTH;
  tmemo_free(&memo);
  return deep;
}

/* A join: the pairs joined so far (a pair reached again by another path
 * gives the same type, so the result shares structure as its operands
 * do), and the answers of the assignability questions it asks. */
typedef struct Join {
  Checker *c;
  TypeMemo done;     /* (a, b) -> the join, NULL when there is none */
  TypeMemo assign;   /* type_assignable_in's */
} Join;

static Type *join_at(Join *jn, Type *a, Type *b, int depth);

static Type *join_node(Join *jn, Type *a, Type *b, int depth) {
  Checker *c = jn->c;
  if (type_assignable_in(&jn->assign, b, a)) return a;
  if (type_assignable_in(&jn->assign, a, b)) return b;
  if (a->kind == TY_UNION && b->kind == TY_UNION) {
    const char **l = arena_alloc(c->a, (a->nlits + b->nlits) * sizeof *l);
    memcpy(l, a->lits, a->nlits * sizeof *l);
    memcpy(l + a->nlits, b->lits, b->nlits * sizeof *l);
    return ck_union(c, l, a->nlits + b->nlits);
  }
  if (a->kind == TY_NONE) return ck_optional(c, b);
  if (b->kind == TY_NONE) return ck_optional(c, a);
  if (a->kind == TY_OPTIONAL || b->kind == TY_OPTIONAL) {
    Type *j = join_at(jn, ck_strip(a), ck_strip(b), depth + 1);
    return j ? ck_optional(c, j) : NULL;
  }
  if (a->kind != b->kind) return NULL;
  /* two ranges neither of which holds the other: the base type */
  if ((a->range || b->range) && a->kind != TY_LIST) return type_prim(a->kind);
  if (a->kind == TY_LIST || a->kind == TY_MAP) {
    Type *j = join_at(jn, a->elem, b->elem, depth + 1);
    return j ? ck_list(c, a->kind, j) : NULL;
  }
  if (a->kind == TY_RECORD && a->nfields == b->nfields) {
    Type *r = type_new(c->a, TY_RECORD);
    r->nfields = a->nfields;
    r->fields = arena_alloc(c->a, (a->nfields ? a->nfields : 1) * sizeof *r->fields);
    for (uint32_t i = 0; i < a->nfields; i++) {
      Type *bf = NULL;
      for (uint32_t k = 0; k < b->nfields; k++)
        if (strcmp(b->fields[k].name, a->fields[i].name) == 0) bf = b->fields[k].type;
      if (!bf) return NULL;
      Type *j = join_at(jn, a->fields[i].type, bf, depth + 1);
      if (!j) return NULL;
      r->fields[i] = a->fields[i];
      r->fields[i].type = j;
    }
    return r;
  }
  return NULL;
}

/* The least type both a and b fit, or NULL when they have none: literal
 * unions merge, none and T make T?, never fits anything, and lists, maps
 * and records of the same shape join element-wise. */
static Type *join_at(Join *jn, Type *a, Type *b, int depth) {
  if (!a) return b;
  if (!b) return a;
  if (a->kind == TY_ERROR || b->kind == TY_ERROR) return type_prim(TY_ERROR);
  if (a->kind == TY_NEVER) return b;
  if (b->kind == TY_NEVER) return a;
  if (depth > CHECK_MAX_TYPE_DEPTH) return NULL;
  void *known;
  if (tmemo_get(&jn->done, a, b, depth, &known)) return known;
  Type *j = join_node(jn, a, b, depth);
  tmemo_put(&jn->done, a, b, depth, j);
  return j;
}

Type *ck_join(Checker *c, Type *a, Type *b) {
  Join jn;
  jn.c = c;
  tmemo_init(&jn.done);
  tmemo_init(&jn.assign);
  Type *j = join_at(&jn, a, b, 0);
  tmemo_free(&jn.done);
  tmemo_free(&jn.assign);
  return j;
}

char *ck_type_str(Checker *c, const Type *t) {
  Buf b;
  buf_init(&b);
  type_print(&b, t);
  char *s = arena_strndup(c->a, b.data ? b.data : "", b.len);
  buf_free(&b);
  return s;
}

/* ---- "did you mean" --------------------------------------------------- */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return (size_t)-1;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cur = row[j];
      size_t best = prev + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      prev = cur;
    }
  }
  return row[lb];
}

/* The candidate closest to name, if close enough to be a likely typo. */
const char *ck_closest(const char *name, const char **cands, uint32_t n) {
  const char *best = NULL;
  size_t bd = (size_t)-1, limit = strlen(name) / 3 + 1;
  if (limit > 3) limit = 3;
  for (uint32_t i = 0; i < n; i++) {
    if (!cands[i] || strcmp(cands[i], name) == 0) continue;
    size_t d = edit_distance(name, cands[i]);
    if (d <= limit && d < bd) {
      bd = d;
      best = cands[i];
    }
  }
  return best;
}

/* ---- scopes and lookup ------------------------------------------------ */
void ck_scope_push(Checker *c, Scope *s) {
  memset(s, 0, sizeof *s);
  s->parent = c->scope;
  c->scope = s;
}

/* Leaves a scope, warning about `let`/`var` bindings never read. */
void ck_scope_pop(Checker *c) {
  Scope *s = c->scope;
  for (uint32_t i = 0; i < s->ndecls; i++) {
    Symbol *sym = s->decls[i];
    if (sym->decl && sym->decl->kind == N_LET && sym->decl->extra) {
      ck_tasks_scope_end(c, sym); /* E0611 says more than W0003 would */
      continue;
    }
    if (sym->used || sym->name[0] == '_' || !sym->decl) continue;
    if (sym->decl->kind != N_LET && sym->decl->kind != N_VAR) continue;
    diag_add(c->dl, D_W0003, sym->decl->u.decl.name_span,
             "prefix the name with an underscore to keep it unused on purpose",
             "unused variable `%s`", sym->name);
  }
  free(s->decls);
  c->scope = s->parent;
}

static void scope_add(Checker *c, const char *name, Symbol *sym) {
  Scope *s = c->scope;
  tab_put(c->a, &s->names, name, sym);
  if (s->ndecls == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 8;
    Symbol **d = xrealloc(s->decls, s->cap * sizeof *d);
    s->decls = d;
  }
  s->decls[s->ndecls++] = sym;
}

Symbol *ck_new_local(Checker *c, Node *decl, const char *name, Type *t, bool is_var) {
  Symbol *s = arena_alloc(c->a, sizeof *s);
  s->kind = SYM_LOCAL;
  s->name = name;
  s->decl = decl;
  s->type = t;
  s->owner = c->fn ? c->fn->owner : NULL;
  s->is_var = is_var;
  s->file = c->file ? c->file->file : 0;
  s->slot = -1;
  s->index = -1;
  if (decl) decl->sym = s;
  if (c->scope) scope_add(c, name, s);
  return s;
}

/* ---- internal names -------------------------------------------------------
 * Some natives (natives.def, NATIVE_INTERNAL) and prelude functions exist
 * only for the constructs' lowering: they write the trace's `verdict`,
 * `match` and `loop` events, which a program must not be able to forge.
 * They resolve in the embedded standard library's own files, and for the
 * callees desugaring writes while lowering a construct (N_NAME with
 * `lowered`); anywhere else they do not exist: a program that names one
 * gets "unknown name" (or "no item" through a module alias), and no hint
 * suggests it. */

/* Prelude functions only the lowering calls (the natives say it in
 * natives.def): the verdict of a verify, with its trace event. */
static const char *const PRELUDE_INTERNAL[] = {"verdict_one", "verdict_quorum"};

bool ck_may_name(const Checker *c, const Symbol *s) {
  return !s->internal || (c->file && c->file->pf && c->file->pf->is_std);
}

static void mark_internal(FileScope *prelude) {
  for (size_t i = 0; i < sizeof PRELUDE_INTERNAL / sizeof PRELUDE_INTERNAL[0]; i++) {
    Symbol *s = tab_get(&prelude->items, PRELUDE_INTERNAL[i]);
    if (s) s->internal = true;
  }
}

/* Finds `name` in the file's own items, then its unqualified imports (and
 * marks the import used), then the prelude. */
static Symbol *lookup_file(FileScope *fs, const char *name) {
  Symbol *s = tab_get(&fs->items, name);
  if (s) return s;
  ImportedName *in = tab_get(&fs->imported, name);
  if (in) {
    if (in->via) in->via->used = true;
    return in->sym;
  }
  if (fs->prelude) return tab_get(&fs->prelude->items, name);
  return NULL;
}

/* Resolves a name in value or type position: locals and type parameters,
 * the file (with imports and the prelude), then the natives. */
Symbol *ck_lookup(Checker *c, const char *name, Span at) {
  (void)at;
  for (Scope *s = c->scope; s; s = s->parent) {
    Symbol *sym = tab_get(&s->names, name);
    if (sym) return sym;
  }
  if (c->file) {
    Symbol *sym = lookup_file(c->file, name);
    if (sym) return ck_may_name(c, sym) ? sym : NULL;
  }
  NativeSym *ns = tab_get(&c->natives, name);
  return ns && ck_may_name(c, &ns->sym) ? &ns->sym : NULL;
}

/* A callee the lowering wrote: the prelude's function or the native of
 * that name, internal ones included; never the program's own. */
Symbol *ck_lookup_lowered(Checker *c, const char *name) {
  FileScope *pre = c->file ? (c->file->prelude ? c->file->prelude : c->file) : NULL;
  Symbol *s = pre ? tab_get(&pre->items, name) : NULL;
  if (s && s->kind == SYM_FN) return s;
  NativeSym *ns = tab_get(&c->natives, name);
  return ns ? &ns->sym : NULL;
}

/* A member `name` of an imported module (its own items only). */
Symbol *ck_module_member(Checker *c, FileScope *fs, const char *name) {
  Symbol *s = tab_get(&fs->items, name);
  return s && s->kind != SYM_MODULE && ck_may_name(c, s) ? s : NULL;
}

/* ---- type syntax ------------------------------------------------------ */
static Type *resolve_typesym(Checker *c, TypeSym *ts, Node *use);

static Type *builtin_type(const char *name) {
  static const struct { const char *name; TypeKind kind; } prims[] = {
    {"int", TY_INT}, {"float", TY_FLOAT}, {"bool", TY_BOOL}, {"string", TY_STRING},
    {"duration", TY_DURATION}, {"json", TY_JSON}, {"role", TY_ROLE},
  };
  for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
    if (strcmp(prims[i].name, name) == 0) return type_prim(prims[i].kind);
  return NULL;
}

/* The built-in workflow types with a structure (LANGUAGE.md section 2). */
static bool is_workflow_type_name(const char *name) {
  return strcmp(name, "tasks") == 0 || strcmp(name, "joined") == 0 || strcmp(name, "failure") == 0;
}

static bool is_builtin_type_name(const char *name) {
  return builtin_type(name) || strcmp(name, "list") == 0 || strcmp(name, "map") == 0 ||
         is_workflow_type_name(name);
}

static Type *record_of(Checker *c, const TyField *fields, uint32_t n, const char *name) {
  Type *t = type_new(c->a, TY_RECORD);
  t->fields = arena_alloc(c->a, n * sizeof *t->fields);
  memcpy(t->fields, fields, n * sizeof *fields);
  t->nfields = n;
  t->name = name;
  return t;
}

/* `failure`: why a branch of a tolerant barrier, or the operand of a
 * `try`, failed. */
Type *ck_failure(Checker *c) {
  if (!c->failure) {
    TyField f[] = {
      {"branch", type_prim(TY_INT), "index of the branch (its element's position)"},
      {"kind", type_prim(TY_STRING), "what went wrong: \"error\", \"timeout\", ..."},
      {"message", type_prim(TY_STRING), "the workflow error's message"},
      {"address", type_prim(TY_STRING),
       "where it failed: the effect's address (\"main/ask#2\") or the source location (\"file:line:col\")"},
    };
    c->failure = record_of(c, f, 4, "failure");
  }
  return c->failure;
}

/* `joined[T]`: what a tolerant barrier gives. Its name carries T so that
 * messages read `joined[int]`. */
Type *ck_joined(Checker *c, Type *elem) {
  TyField f[] = {
    {"ok", ck_list(c, TY_LIST, elem), "results of the branches that succeeded, in input order"},
    {"failed", ck_list(c, TY_LIST, ck_failure(c)), "the branches that failed"},
  };
  Buf b;
  buf_init(&b);
  buf_puts(&b, "joined[");
  type_print(&b, elem);
  buf_putc(&b, ']');
  char *name = arena_strndup(c->a, b.data ? b.data : "joined", b.len);
  buf_free(&b);
  return record_of(c, f, 2, name);
}

static bool is_tasks(const Type *t) { return t->kind == TY_TASKS; }

/* Whether a tasks[T] hides anywhere in t (E0615 for signatures). */
bool ck_mentions_tasks(const Type *t) { return type_any(t, is_tasks, CHECK_MAX_TYPE_DEPTH * 4); }

static bool is_role(const Type *t) { return t->kind == TY_ROLE; }
bool ck_mentions_role(const Type *t) { return type_any(t, is_role, CHECK_MAX_TYPE_DEPTH * 4); }

/* tasks[T], joined[T], failure written in a type. */
static Type *workflow_type_syntax(Checker *c, Node *tn) {
  const char *id = tn->u.tname.id;
  NodeList *args = &tn->u.tname.args;
  bool is_failure = strcmp(id, "failure") == 0;
  if (is_failure ? args->n != 0 : args->n != 1) {
    if (is_failure) diag_add(c->dl, D_E0314, tn->span, NULL, "`failure` takes no type arguments");
    else
      diag_add(c->dl, D_E0314, tn->span,
               strcmp(id, "tasks") == 0 ? "write tasks[T]" : "write joined[T]", "`%s` takes one type argument, got %u", id,
               args->n);
    return type_prim(TY_ERROR);
  }
  if (is_failure) return ck_failure(c);
  Type *e = ck_type_of_syntax(c, args->items[0]);
  if (ck_is_error(e)) return e;
  if (strcmp(id, "joined") == 0) return ck_joined(c, e);
  Type *t = ck_list(c, TY_TASKS, e);
  return t;
}

/* Substitutes the type parameters of a generic alias. */
static Type *instantiate_alias(Checker *c, TypeSym *ts, Type **args) {
  Sig sig;
  memset(&sig, 0, sizeof sig);
  sig.tvars = ts->tparams;
  sig.ntvars = ts->ntparams;
  return ck_subst(c, ts->sym.type, &sig, args);
}

/* The instance of generic alias ts for these argument types (an error
 * type when it expands too deeply). Uses with the same arguments share
 * one instance: `type G0[X] = { a: G1[X], b: G1[X] }` must not copy G1's
 * expansion twice at every level. The memo is a trie over the arguments:
 * (ts, args[0]) leads to a node, (node, args[1]) to the next, and the
 * last argument to the instance. */
static Type *instance_of(Checker *c, TypeSym *ts, Type **args) {
  const void *key = ts;
  for (uint32_t i = 0; i + 1 < ts->ntparams; i++) {
    void *next;
    if (!tmemo_get(&c->instances, key, args[i], 0, &next)) {
      next = arena_alloc(c->a, 1);
      tmemo_put(&c->instances, key, args[i], 0, next);
    }
    key = next;
  }
  void *known;
  if (tmemo_get(&c->instances, key, args[ts->ntparams - 1], 0, &known)) return known;
  Type *inst = instantiate_alias(c, ts, args);
  if (ck_too_deep(inst)) inst = type_prim(TY_ERROR);
  tmemo_put(&c->instances, key, args[ts->ntparams - 1], 0, inst);
  return inst;
}

static Type *named_type(Checker *c, Node *tn, Symbol *s);

/* `result[T]`, the prelude's union a `try` gives (NULL if the prelude
 * lacks it: a program checked without the standard library). */
Type *ck_result(Checker *c, Type *t) {
  FileScope *pre = c->file ? (c->file->prelude ? c->file->prelude : c->file) : NULL;
  Symbol *s = pre ? tab_get(&pre->items, "result") : NULL;
  if (!s || s->kind != SYM_TYPE) return NULL;
  TypeSym *ts = (TypeSym *)s;
  Type *g = ck_typesym_type(c, ts);
  if (!g || ck_is_error(g) || ts->ntparams != 1) return NULL;
  Type *inst = instance_of(c, ts, &t);
  return ck_is_error(inst) ? NULL : inst;
}


/* `alias.Type`: a type of the module imported as `alias` (E0203 when there
 * is no such import, or the module declares no such type). */
static Symbol *qualified_type(Checker *c, Node *tn) {
  const char *alias = tn->u.tname.module, *id = tn->u.tname.id;
  Symbol *ms = c->file ? tab_get(&c->file->items, alias) : NULL;
  if (!ms && ck_broken_name(c, alias)) return NULL;
  if (!ms || ms->kind != SYM_MODULE) {
    char *help = arena_alloc(c->a, strlen(alias) + 80);
    sprintf(help, "import the module under that name: `import \"path\" as %s`", alias);
    diag_add(c->dl, D_E0203, tn->span, help, "unknown type `%s.%s`: no module is imported as `%s`",
             alias, id, alias);
    return NULL;
  }
  ms->used = true;
  Symbol *s = ck_module_member(c, ms->module, id);
  if (!s || s->kind != SYM_TYPE) {
    FileScope *mod = ms->module;
    const char *cands[64];
    uint32_t n = 0;
    for (uint32_t i = 0; mod && i < mod->items.cap && n < 64; i++) {
      Symbol *m = mod->items.vals[i];
      if (mod->items.keys[i] && m->kind == SYM_TYPE && ck_may_name(c, m))
        cands[n++] = mod->items.keys[i];
    }
    const char *near = ck_closest(id, cands, n);
    char *help = NULL;
    if (near) {
      help = arena_alloc(c->a, strlen(alias) + strlen(near) + 32);
      sprintf(help, "did you mean `%s.%s`?", alias, near);
    }
    diag_add(c->dl, D_E0203, tn->span, help,
             s ? "`%s.%s` is not a type" : "unknown type `%s.%s`: the module declares no type `%s`",
             alias, id, id);
    return NULL;
  }
  return s;
}

static Type *type_name_syntax(Checker *c, Node *tn) {
  const char *id = tn->u.tname.id;
  NodeList *args = &tn->u.tname.args;
  if (tn->u.tname.module) {
    Symbol *s = qualified_type(c, tn);
    if (!s) return type_prim(TY_ERROR);
    return named_type(c, tn, s);
  }
  bool is_list = strcmp(id, "list") == 0, is_map = strcmp(id, "map") == 0;
  if (is_workflow_type_name(id)) return workflow_type_syntax(c, tn);
  Type *prim = builtin_type(id);
  if (is_list || is_map || prim) {
    /* a type parameter or local alias may not shadow these names */
    if (is_list || is_map) {
      if (args->n != 1) {
        diag_add(c->dl, D_E0314, tn->span, is_list ? "write list[T]" : "write map[T]",
                 "`%s` takes one type argument, got %u", id, args->n);
        return type_prim(TY_ERROR);
      }
      Type *e = ck_type_of_syntax(c, args->items[0]);
      return ck_is_error(e) ? e : ck_list(c, is_list ? TY_LIST : TY_MAP, e);
    }
    if (args->n) {
      diag_add(c->dl, D_E0314, tn->span, NULL, "`%s` takes no type arguments", id);
      return type_prim(TY_ERROR);
    }
    return prim;
  }
  Symbol *s = ck_lookup(c, id, tn->span);
  if (!s && ck_broken_name(c, id)) return type_prim(TY_ERROR);
  if (!s) {
    const char *cands[64];
    uint32_t n = 0;
    static const char *const builtins[] = {"int", "float", "bool", "string", "duration",
                                           "json", "list", "map", "role", "tasks",
                                           "joined", "failure"};
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) cands[n++] = builtins[i];
    FileScope *fs = c->file;
    for (uint32_t i = 0; fs && i < fs->items.cap && n < 64; i++)
      if (fs->items.keys[i] && ((Symbol *)fs->items.vals[i])->kind == SYM_TYPE)
        cands[n++] = fs->items.keys[i];
    const char *near = ck_closest(id, cands, n);
    char *help = NULL;
    if (near) {
      size_t len = strlen(near) + 32;
      help = arena_alloc(c->a, len);
      snprintf(help, len, "did you mean `%s`?", near);
    }
    diag_add(c->dl, D_E0203, tn->span, help, "unknown type `%s`", id);
    return type_prim(TY_ERROR);
  }
  if (s->kind != SYM_TYPE) {
    diag_add(c->dl, D_E0203, tn->span, NULL, "`%s` is not a type", id);
    return type_prim(TY_ERROR);
  }
  return named_type(c, tn, s);
}

/* A declared type (local, imported or qualified) with its arguments. */
static Type *named_type(Checker *c, Node *tn, Symbol *s) {
  const char *id = tn->u.tname.id;
  NodeList *args = &tn->u.tname.args;
  s->used = true;
  TypeSym *ts = (TypeSym *)s;
  Type *t = resolve_typesym(c, ts, tn);
  if (args->n != ts->ntparams) {
    diag_add(c->dl, D_E0314, tn->span, NULL, "type `%s` takes %u type argument%s, got %u", id,
             ts->ntparams, ts->ntparams == 1 ? "" : "s", args->n);
    return type_prim(TY_ERROR);
  }
  if (!ts->ntparams || ck_is_error(t)) return t;
  Type **targs = arena_alloc(c->a, args->n * sizeof *targs);
  for (uint32_t i = 0; i < args->n; i++) {
    targs[i] = ck_type_of_syntax(c, args->items[i]);
    if (ck_is_error(targs[i])) return targs[i];
  }
  Type *inst = instance_of(c, ts, targs);
  if (ck_is_error(inst)) {
    diag_add(c->dl, D_E0313, tn->span, NULL, "type `%s` expands too deeply", id);
    return type_prim(TY_ERROR);
  }
  return inst;
}

/* `Search { query: string } | Giveup {}`: each variant becomes a record
 * whose first field `type` holds its tag (a one-member literal union), so
 * a value of the union is that record as it is, and renders as
 * {"type":"Search","query":"x"} with no conversion. */
static Type *tagged_syntax(Checker *c, Node *tn) {
  NodeList *vl = &tn->u.list.items;
  Type *t = type_new(c->a, TY_TAGGED);
  t->fields = arena_alloc(c->a, (vl->n ? vl->n : 1) * sizeof *t->fields);
  bool failed = false;
  for (uint32_t i = 0; i < vl->n; i++) {
    Node *v = vl->items[i];
    if (!v || v->kind != N_PARAM) { failed = true; continue; }
    const char *name = v->u.param.name;
    bool dup = false;
    for (uint32_t k = 0; k < t->nfields; k++)
      if (strcmp(t->fields[k].name, name) == 0) dup = true;
    if (dup) {
      diag_add(c->dl, D_E0320, v->span, "give each variant of a union its own name",
               "variant `%s` is declared twice", name);
      failed = true;
      continue;
    }
    if (!(name[0] >= 'A' && name[0] <= 'Z')) {
      /* `Name { field: … }` is told from a block by the capital */
      diag_add(c->dl, D_E0324, v->span, "start it with a capital letter (A-Z)",
               "variant name `%s` must be capitalised", name);
      failed = true;
    }
    Node *rn = v->u.param.type;
    NodeList *fl = rn ? &rn->u.list.items : NULL;
    for (uint32_t k = 0; fl && k < fl->n; k++) {
      Node *f = fl->items[k];
      if (f && f->kind == N_PARAM && strcmp(f->u.param.name, "type") == 0) {
        diag_add(c->dl, D_E0321, f->span,
                 "`type` is the tag field, which holds the variant's name: rename this field",
                 "variant `%s` may not have a field named `type`", name);
        failed = true;
      }
    }
    Type *r = ck_type_of_syntax(c, rn);
    if (ck_is_error(r)) { failed = true; continue; }
    Type *vr = type_new(c->a, TY_RECORD);
    vr->fields = arena_alloc(c->a, (r->nfields + 1) * sizeof *vr->fields);
    const char *one[1] = {name};
    vr->fields[0] = (TyField){"type", ck_union(c, one, 1), NULL};
    memcpy(vr->fields + 1, r->fields, r->nfields * sizeof *r->fields);
    vr->nfields = r->nfields + 1;
    vr->name = name;
    vr->doc = v->doc;
    t->fields[t->nfields++] = (TyField){name, vr, v->doc};
  }
  return failed ? type_prim(TY_ERROR) : t;
}

/* Turns a type expression into a Type, reporting unknown names (E0203),
 * wrong argument counts (E0314), duplicate record fields (E0310). */
/* One bound of a range: an integer for int, string and list (a length,
 * so not negative); an integer or float for float. */
static bool range_bound(Checker *c, Node *b, const Type *base, bool is_float, int64_t *i, double *f) {
  bool len = base->kind == TY_STRING || base->kind == TY_LIST;
  if (b->kind == N_FLOAT && !is_float) {
    diag_add(c->dl, D_E0332, b->span, len ? "a length is a whole number of items" : "write int bounds, or use float",
             "%s bound on %s", "float", len ? (base->kind == TY_STRING ? "a string length" : "a list length") : "int");
    return false;
  }
  if (b->kind == N_FLOAT) {
    *f = b->u.lit.f;
    return true;
  }
  *i = b->u.lit.i;
  *f = (double)b->u.lit.i;
  if (len && *i < 0) {
    diag_add(c->dl, D_E0332, b->span, "a length bound is 0 or more", "negative length bound %lld",
             (long long)*i);
    return false;
  }
  return true;
}

/* Rule: `base(lo..hi)` constrains an int or float's value, a string's
 * code points or a list's items; at least one bound; lo <= hi. The type
 * is a copy of the base with the range (docs/language.md, "Constrained
 * types"). */
static Type *range_type(Checker *c, Node *tn) {
  Type *base = ck_type_of_syntax(c, tn->u.trange.base);
  if (ck_is_error(base)) return type_prim(TY_ERROR);
  if ((base->kind != TY_INT && base->kind != TY_FLOAT && base->kind != TY_STRING && base->kind != TY_LIST) ||
      base->range) {
    diag_add(c->dl, D_E0331, tn->span,
             base->range ? "write one range, on the base type" : "ranges constrain int, float, string and list types",
             "%s cannot take a range constraint%s", ck_type_str(c, base), base->range ? " again" : "");
    return type_prim(TY_ERROR);
  }
  Node *lo = tn->u.trange.lo, *hi = tn->u.trange.hi;
  if (!lo && !hi) {
    diag_add(c->dl, D_E0330, tn->span, "give a bound: (1..), (..10) or (1..10)",
             "a range without bounds constrains nothing");
    return type_prim(TY_ERROR);
  }
  TyRange *r = arena_alloc(c->a, sizeof *r);
  memset(r, 0, sizeof *r);
  r->is_float = base->kind == TY_FLOAT;
  bool ok = true;
  if (lo) {
    r->has_lo = true;
    ok &= range_bound(c, lo, base, r->is_float, &r->lo, &r->flo);
  }
  if (hi) {
    r->has_hi = true;
    ok &= range_bound(c, hi, base, r->is_float, &r->hi, &r->fhi);
  }
  if (!ok) return type_prim(TY_ERROR);
  if (lo && hi && (r->is_float ? r->flo > r->fhi : r->lo > r->hi)) {
    Buf b;
    buf_init(&b);
    type_range_print(&b, r);
    diag_add(c->dl, D_E0330, tn->span, "write the smaller bound first",
             "empty range %s: the lower bound is greater than the upper", b.data);
    buf_free(&b);
    return type_prim(TY_ERROR);
  }
  Type *t = type_new(c->a, base->kind);
  t->elem = base->elem;
  t->range = r;
  return t;
}

Type *ck_type_of_syntax(Checker *c, Node *tn) {
  if (!tn) return type_prim(TY_ERROR);
  Type *t = type_prim(TY_ERROR);
  switch (tn->kind) {
  case N_TYPE_NAME:
    t = type_name_syntax(c, tn);
    break;
  case N_TYPE_RECORD: {
    NodeList *fl = &tn->u.list.items;
    t = type_new(c->a, TY_RECORD);
    t->fields = arena_alloc(c->a, (fl->n ? fl->n : 1) * sizeof *t->fields);
    for (uint32_t i = 0; i < fl->n; i++) {
      Node *f = fl->items[i];
      if (!f || f->kind != N_PARAM) continue;
      bool dup = false;
      for (uint32_t k = 0; k < t->nfields; k++)
        if (strcmp(t->fields[k].name, f->u.param.name) == 0) dup = true;
      if (dup) {
        diag_add(c->dl, D_E0310, f->span, NULL, "field `%s` is declared twice", f->u.param.name);
        continue;
      }
      Type *ft = ck_type_of_syntax(c, f->u.param.type);
      t->fields[t->nfields++] = (TyField){f->u.param.name, ft, f->doc};
    }
    break;
  }
  case N_TYPE_UNION: {
    NodeList *ll = &tn->u.list.items;
    const char **lits = arena_alloc(c->a, (ll->n ? ll->n : 1) * sizeof *lits);
    uint32_t n = 0;
    for (uint32_t i = 0; i < ll->n; i++)
      if (ll->items[i] && ll->items[i]->kind == N_STRING) lits[n++] = ll->items[i]->u.lit.str;
    t = ck_union(c, lits, n);
    break;
  }
  case N_TYPE_TAGGED:
    t = tagged_syntax(c, tn);
    break;
  case N_TYPE_OPTIONAL:
    t = ck_optional(c, ck_type_of_syntax(c, tn->u.topt.inner));
    break;
  case N_TYPE_RANGE:
    t = range_type(c, tn);
    break;
  case N_TYPE_FN: {
    NodeList *pl = &tn->u.tfn.params;
    t = type_new(c->a, TY_FN);
    t->params = arena_alloc(c->a, (pl->n ? pl->n : 1) * sizeof *t->params);
    t->nparams = pl->n;
    for (uint32_t i = 0; i < pl->n; i++) t->params[i] = ck_type_of_syntax(c, pl->items[i]);
    t->ret = tn->u.tfn.ret ? ck_type_of_syntax(c, tn->u.tfn.ret) : type_prim(TY_VOID);
    break;
  }
  default:
    break;
  }
  tn->type = t;
  return t;
}

/* A scope holding the type parameters `params` (N_NAME nodes) as fresh
 * TY_VARs; returns the vars. */
static Type **declare_tparams(Checker *c, NodeList *params) {
  Type **vars = arena_alloc(c->a, (params->n ? params->n : 1) * sizeof *vars);
  for (uint32_t i = 0; i < params->n; i++) {
    Node *pn = params->items[i];
    const char *name = pn && pn->kind == N_NAME ? pn->u.name.id : "T";
    Type *v = type_new(c->a, TY_VAR);
    v->var_id = ++c->next_var;
    v->name = name;
    vars[i] = v;
    TypeSym *ts = arena_alloc(c->a, sizeof *ts);
    ts->sym.kind = SYM_TYPE;
    ts->sym.name = name;
    ts->sym.decl = pn;
    ts->sym.type = v;
    ts->sym.used = true;
    ts->state = TS_DONE;
    ts->file = c->file;
    if (pn) pn->type = v;
    if (c->scope) {
      if (tab_get(&c->scope->names, name))
        diag_add(c->dl, D_E0202, pn ? pn->span : (Span){0, 0, 0}, NULL,
                 "type parameter `%s` is declared twice", name);
      tab_put(c->a, &c->scope->names, name, &ts->sym);
    }
  }
  return vars;
}

/* Resolves a named type on first use, in its own file's context. */
static Type *resolve_typesym(Checker *c, TypeSym *ts, Node *use) {
  if (ts->state == TS_DONE) return ts->sym.type;
  Node *d = ts->sym.decl;
  if (ts->state == TS_RESOLVING) {
    (void)use;
    diag_add(c->dl, D_E0313, d->u.typedef_.name_span,
             "a record cannot contain itself; use json (or a list of ids) for recursive data",
             "type `%s` refers to itself", ts->sym.name);
    return type_prim(TY_ERROR);
  }
  if (c->alias_depth >= CHECK_MAX_ALIAS_DEPTH) {
    diag_add(c->dl, D_E0313, d->u.typedef_.name_span, "define the type directly",
             "type `%s` is defined through more than %d other named types", ts->sym.name,
             CHECK_MAX_ALIAS_DEPTH);
    ts->sym.type = type_prim(TY_ERROR);
    ts->state = TS_DONE;
    return ts->sym.type;
  }
  c->alias_depth++;
  ts->state = TS_RESOLVING;
  FileScope *saved_file = c->file;
  Scope *saved_scope = c->scope;
  FnCtx *saved_fn = c->fn;
  c->file = ts->file;
  c->scope = NULL;
  c->fn = NULL;
  Scope sc;
  ck_scope_push(c, &sc);
  ts->tparams = declare_tparams(c, &d->u.typedef_.type_params);
  ts->ntparams = d->u.typedef_.type_params.n;
  Type *t = ck_type_of_syntax(c, d->u.typedef_.type);
  ck_scope_pop(c);
  c->file = saved_file;
  c->scope = saved_scope;
  c->fn = saved_fn;
  if (!ck_is_error(t)) {
    Type *named = type_new(c->a, t->kind);
    *named = *t;
    named->name = ts->sym.name;
    named->doc = d->doc ? d->doc : t->doc;
    t = named;
  }
  ts->sym.type = t;
  ts->state = TS_DONE;
  c->alias_depth--;
  return t;
}

/* ---- natives ------------------------------------------------------------ */
static void init_natives(Checker *c) {
  const NativeTable *nt = c->p->natives;
  c->native_entries = nt ? nt->entries : NULL;
  c->nnative_entries = nt ? nt->n : 0;
  c->native_sigs = arena_alloc(c->a, (c->nnative_entries ? c->nnative_entries : 1) * sizeof *c->native_sigs);
  for (uint32_t i = 0; i < c->nnative_entries; i++) {
    Sig *s = ck_parse_native_sig(c, c->native_entries[i].sig);
    if (s) c->native_sigs[i] = *s;
    else c->native_sigs[i].params = NULL, c->native_sigs[i].ret = NULL;
    NativeSym *ns = tab_get(&c->natives, c->native_entries[i].name);
    if (ns && ns->first + ns->count == i) {
      ns->count++;
      continue;
    }
    if (ns) continue; /* overloads must be adjacent; a stray one is ignored */
    ns = arena_alloc(c->a, sizeof *ns);
    ns->sym.kind = SYM_NATIVE;
    ns->sym.name = c->native_entries[i].name;
    ns->sym.internal = c->native_entries[i].internal;
    ns->sym.slot = ns->sym.index = -1;
    ns->first = i;
    ns->count = 1;
    tab_put(c->a, &c->natives, c->native_entries[i].name, ns);
  }
  c->from_json = arena_alloc(c->a, sizeof *c->from_json);
  c->from_json->sym.kind = SYM_NATIVE;
  c->from_json->sym.name = "from_json";
  c->from_json->sym.slot = c->from_json->sym.index = -1;
}

/* ---- items -------------------------------------------------------------- */
static uint32_t line_of(Checker *c, Span sp) {
  uint32_t line = 0, col = 0;
  Source *s = src_get(c->p->sources, sp.file);
  if (s) src_line_col(s, sp.start, &line, &col);
  return line;
}

static Span item_name_span(Node *n) {
  switch (n->kind) {
  case N_FN: return n->u.fn.name_span;
  case N_TYPEDEF: return n->u.typedef_.name_span;
  case N_ROLE: return n->u.role.name_span;
  default: return n->span;
  }
}

static void declare_item(Checker *c, FileScope *fs, const char *name, Symbol *sym, Node *decl) {
  Symbol *prev = tab_get(&fs->items, name);
  if (prev) {
    Span first = prev->decl ? item_name_span(prev->decl) : decl->span;
    diag_add(c->dl, D_E0202, item_name_span(decl), "rename one of them",
             "`%s` is already defined on line %u", name, line_of(c, first));
    return;
  }
  tab_put(c->a, &fs->items, name, sym);
}

/* Pass 1: every top-level function, type and role of a file. */
static void declare_items(Checker *c, FileScope *fs) {
  NodeList *items = &fs->pf->ast.items;
  for (uint32_t i = 0; i < items->n; i++) {
    Node *it = items->items[i];
    if (!it) continue;
    if (it->kind == N_FN) {
      FnSym *f = arena_alloc(c->a, sizeof *f);
      f->sym.kind = SYM_FN;
      f->sym.name = it->u.fn.name;
      f->sym.decl = it;
      f->sym.file = fs->file;
      f->sym.slot = f->sym.index = -1;
      f->file = fs;
      it->sym = &f->sym;
      declare_item(c, fs, it->u.fn.name, &f->sym, it);
    } else if (it->kind == N_TYPEDEF) {
      /* A user type that shares a built-in type's name (a primitive, or a
       * type of the prelude such as `verdict`) would meet the built-in one
       * in the same program and give "expected verdict, got verdict". */
      const char *tn = it->u.typedef_.name;
      Symbol *pre = fs->prelude ? tab_get(&fs->prelude->items, tn) : NULL;
      if (is_builtin_type_name(tn) || (pre && pre->kind == SYM_TYPE && ck_may_name(c, pre))) {
        diag_add(c->dl, D_E0211, it->u.typedef_.name_span,
                 "choose another name: wherever it is written, the name means the built-in "
                 "type",
                 "`%s` is the name of a built-in type", tn);
        continue;
      }
      TypeSym *t = arena_alloc(c->a, sizeof *t);
      t->sym.kind = SYM_TYPE;
      t->sym.name = it->u.typedef_.name;
      t->sym.decl = it;
      t->sym.file = fs->file;
      t->sym.slot = t->sym.index = -1;
      t->file = fs;
      it->sym = &t->sym;
      declare_item(c, fs, it->u.typedef_.name, &t->sym, it);
    } else if (it->kind == N_ROLE) {
      Symbol *s = arena_alloc(c->a, sizeof *s);
      s->kind = SYM_ROLE;
      s->name = it->u.role.name;
      s->decl = it;
      s->type = type_prim(TY_ROLE);
      s->file = fs->file;
      s->slot = s->index = -1;
      it->sym = s;
      declare_item(c, fs, it->u.role.name, s, it);
    }
  }
}

/* Pass 2: aliases become SYM_MODULE items; plain imports bring the target's
 * own items into scope unqualified (a clash with a local item is E0202). */
static void bind_imports(Checker *c, FileScope *fs) {
  NodeList *items = &fs->pf->ast.items;
  uint32_t n = 0;
  for (uint32_t i = 0; i < items->n; i++)
    if (items->items[i] && items->items[i]->kind == N_IMPORT) n++;
  fs->imports = arena_alloc(c->a, (n ? n : 1) * sizeof *fs->imports);
  for (uint32_t i = 0; i < items->n; i++) {
    Node *it = items->items[i];
    if (!it || it->kind != N_IMPORT || !it->extra) continue;
    ProgramFile *target = load_find_file(c->p, ((ImportTarget *)it->extra)->file);
    if (!target || !target->scope) continue;
    ImportEntry *ie = &fs->imports[fs->nimports++];
    ie->decl = it;
    ie->target = target->scope;
    if (it->u.import.alias) {
      Symbol *s = arena_alloc(c->a, sizeof *s);
      s->kind = SYM_MODULE;
      s->name = it->u.import.alias;
      s->decl = it;
      s->type = type_prim(TY_VOID);
      s->file = fs->file;
      s->slot = s->index = -1;
      s->module = ie->target;
      it->sym = s;
      declare_item(c, fs, s->name, s, it);
      continue;
    }
    SymTab *exp = &ie->target->items;
    for (uint32_t k = 0; k < exp->cap; k++) {
      if (!exp->keys[k]) continue;
      Symbol *sym = exp->vals[k];
      if (sym->kind == SYM_MODULE || !ck_may_name(c, sym)) continue;
      const char *name = exp->keys[k];
      Symbol *local = tab_get(&fs->items, name);
      if (local) {
        Span at = local->decl ? item_name_span(local->decl) : it->span;
        diag_add(c->dl, D_E0202, at,
                 "rename it, or import the module with an alias: import \"...\" as m",
                 "`%s` is also imported by the import on line %u", name, line_of(c, it->span));
        continue;
      }
      ImportedName *prev = tab_get(&fs->imported, name);
      if (prev && prev->sym != sym) {
        diag_add(c->dl, D_E0202, it->span, "import one of the modules with an alias",
                 "`%s` is imported twice (also by the import on line %u)", name,
                 line_of(c, prev->via->decl->span));
        continue;
      }
      ImportedName *in = arena_alloc(c->a, sizeof *in);
      in->sym = sym;
      in->via = ie;
      tab_put(c->a, &fs->imported, name, in);
    }
  }
}

/* Pass 3a: a function's signature. Parameters need types (E0307). */
static void resolve_sig(Checker *c, FnSym *f) {
  Node *d = f->sym.decl;
  Scope sc;
  ck_scope_push(c, &sc);
  f->sig.tvars = declare_tparams(c, &d->u.fn.type_params);
  f->sig.ntvars = d->u.fn.type_params.n;
  NodeList *pl = &d->u.fn.params;
  f->sig.params = arena_alloc(c->a, (pl->n ? pl->n : 1) * sizeof *f->sig.params);
  f->sig.nparams = pl->n;
  f->sig.nrequired = 0;
  bool seen_default = false;
  for (uint32_t i = 0; i < pl->n; i++) {
    Node *pn = pl->items[i];
    Type *t = type_prim(TY_ERROR);
    if (pn && pn->kind == N_PARAM) {
      if (!pn->u.param.type) {
        diag_add(c->dl, D_E0307, pn->span, "write its type: name: int",
                 "parameter `%s` of `%s` needs a type annotation", pn->u.param.name,
                 f->sym.name);
      } else {
        t = ck_type_of_syntax(c, pn->u.param.type);
      }
      if (pn->u.param.def) seen_default = true;
      else if (!seen_default) f->sig.nrequired = i + 1;
      else
        diag_add(c->dl, D_E0503, pn->span, "move parameters with defaults to the end",
                 "parameter `%s` without a default follows one with a default",
                 pn->u.param.name);
    }
    f->sig.params[i] = t;
  }
  f->sig.ret = d->u.fn.ret ? ck_type_of_syntax(c, d->u.fn.ret) : type_prim(TY_VOID);
  /* Rule: tasks never cross a call (E0615): the function that starts a
   * fan-out is the one that joins it. */
  for (uint32_t i = 0; i < pl->n; i++) {
    Node *pn = pl->items[i];
    if (pn && pn->kind == N_PARAM && ck_mentions_tasks(f->sig.params[i]))
      diag_add(c->dl, D_E0615, pn->u.param.type ? pn->u.param.type->span : pn->span,
               "join the fan-out in the function that starts it (let r = barrier t) and "
               "pass the results",
               "parameter `%s` of `%s` has type %s: running fan-out branches cannot be "
               "passed to a function", pn->u.param.name, f->sym.name,
               ck_type_str(c, f->sig.params[i]));
  }
  if (ck_mentions_tasks(f->sig.ret))
    diag_add(c->dl, D_E0615, d->u.fn.ret ? d->u.fn.ret->span : d->u.fn.name_span,
             "return the joined results instead: barrier t",
             "`%s` returns %s: running fan-out branches cannot leave the function that "
             "starts them", f->sym.name, ck_type_str(c, f->sig.ret));
  ck_scope_pop(c);
  Type *ft = type_new(c->a, TY_FN);
  ft->params = f->sig.params;
  ft->nparams = f->sig.nparams;
  ft->ret = f->sig.ret;
  f->sym.type = ft;
  f->sig_done = true;
}

/* ---- roles ------------------------------------------------------------
 * Pass 3b. A role's settings are checked in full here, so a program that
 * passes `weft check` cannot fail at run time because of its roles: every
 * setting known, given once, a constant of the right kind and range, and a
 * model named "provider/model" with a known provider. The checked values
 * go into a RoleDesc on the N_ROLE node (extra) for the emitter. */

typedef enum { RS_STRING, RS_FLOAT, RS_INT, RS_DURATION } SettingKind;

typedef struct RoleSetting {
  const char *name;
  SettingKind kind;
  int64_t min, max;     /* RS_INT, RS_DURATION (ms); RS_FLOAT: min..max too */
  const char *range;    /* for messages: "between 0 and 2" */
} RoleSetting;

static const RoleSetting role_settings[] = {
  {"model", RS_STRING, 0, 0, NULL},
  {"system", RS_STRING, 0, 0, NULL},
  {"temperature", RS_FLOAT, 0, 2, "between 0 and 2"},
  {"top_p", RS_FLOAT, 0, 1, "between 0 and 1"},
  {"max_tokens", RS_INT, 1, INT64_MAX, "at least 1"},
  {"timeout", RS_DURATION, 1, INT64_MAX, "longer than 0ms"},
  {"retries", RS_INT, 0, 100, "between 0 and 100"},
  {"repairs", RS_INT, 0, 100, "between 0 and 100"},
  {"stop", RS_STRING, 0, 0, NULL}, /* a list of strings: check_role_stop */
  {"tools", RS_STRING, 0, 0, NULL}, /* a list of function names: check_role_tools */
  {"max_steps", RS_INT, 1, ROLE_MAX_STEPS, "between 1 and 100"},
};
#define NROLE_SETTINGS (sizeof role_settings / sizeof role_settings[0])

/* The providers (vm/providers.def, the list the runtime's provider table
 * is built from, so the checker and the engine cannot disagree). */
static const char *const known_providers[] = {
#define PROVIDER(id, name) name,
#include "../vm/providers.def"
#undef PROVIDER
};
#define NKNOWN_PROVIDERS (sizeof known_providers / sizeof known_providers[0])

/* Whether model spec m ("provider/name") starts with a known provider. */
static bool known_provider_prefix(const char *m, size_t plen) {
  for (size_t i = 0; i < NKNOWN_PROVIDERS; i++)
    if (strlen(known_providers[i]) == plen && memcmp(known_providers[i], m, plen) == 0) return true;
  return false;
}

static const RoleSetting *find_setting(const char *name) {
  for (size_t i = 0; i < NROLE_SETTINGS; i++)
    if (strcmp(role_settings[i].name, name) == 0) return &role_settings[i];
  return NULL;
}

/* A numeric constant as written (a literal, or a negated one). */
typedef struct ConstNum { NodeKind kind; int64_t i; double f; } ConstNum;

static bool const_num(const Node *v, ConstNum *out) {
  bool neg = false;
  if (v->kind == N_UNARY && v->u.unary.op == AOP_NEG && v->u.unary.operand) {
    neg = true;
    v = v->u.unary.operand;
  }
  if (v->kind != N_INT && v->kind != N_FLOAT && v->kind != N_DURATION) return false;
  out->kind = v->kind;
  out->i = neg ? -v->u.lit.i : v->u.lit.i;
  out->f = neg ? -v->u.lit.f : v->u.lit.f;
  return true;
}

static const char *kind_word(SettingKind k) {
  switch (k) {
  case RS_STRING: return "a string";
  case RS_FLOAT: return "a number";
  case RS_INT: return "an int";
  case RS_DURATION: return "a duration";
  }
  return "?";
}

/* Rule: under an allowlist (weft check --untrusted, --models), a role names
 * a model the operator allows (E0621): docs/security.md, "Untrusted
 * programs". The same rule refuses a run (engine.c). */
static void check_model_allowed(Checker *c, Node *v, const char *m) {
  const CompileOptions *opt = c->p->opt;
  if (!opt || !opt->limit_models || model_allowed(m, opt->models, opt->nmodels)) return;
  /* the list, shortened: --models may be long */
  Buf help;
  buf_init(&help);
  buf_puts(&help, "the models allowed: mock/*");
  for (uint32_t i = 0; i < opt->nmodels && help.len < 240; i++) buf_printf(&help, ", %s", opt->models[i]);
  buf_printf(&help, "%s (the operator adds one with --models)", help.len >= 240 ? ", ..." : "");
  diag_add(c->dl, D_E0621, v->span, help.data, "model \"%.80s\" is not allowed%s", m,
           opt->untrusted ? " for an untrusted program" : "");
  buf_free(&help);
}

/* Rule: model is "provider/name": with a '/' (E0606), a name after it
 * (E0604) and a provider weft knows (E0605). */
static void check_model(Checker *c, Node *v, const char *m, size_t len) {
  const char *slash = memchr(m, '/', len);
  if (!slash) {
    diag_add(c->dl, D_E0606, v->span,
             "write \"provider/model\", e.g. \"anthropic/claude-sonnet-4-5\", "
             "\"openai/gpt-4o-mini\" or \"mock/echo\"",
             "model \"%.80s\" does not say its provider", m);
    return;
  }
  size_t plen = (size_t)(slash - m);
  if (plen + 1 == len) {
    diag_add(c->dl, D_E0604, v->span, "write the model after the '/': \"mock/echo\"",
             "model \"%.80s\" names no model", m);
    return;
  }
  if (!known_provider_prefix(m, plen)) {
    char *prov = arena_strndup(c->a, m, plen);
    const char *near = ck_closest(prov, (const char **)known_providers, NKNOWN_PROVIDERS);
    Buf known;
    buf_init(&known);
    for (size_t i = 0; i < NKNOWN_PROVIDERS; i++) buf_printf(&known, "%s%s", i ? ", " : "", known_providers[i]);
    buf_putc(&known, '\0');
    char *help = arena_alloc(c->a, 128);
    if (near) snprintf(help, 128, "did you mean `%s`? (known providers: %s)", near, known.data);
    else snprintf(help, 128, "known providers: %s", known.data);
    buf_free(&known);
    diag_add(c->dl, D_E0605, v->span, help, "unknown model provider `%.40s`", prov);
    return;
  }
  check_model_allowed(c, v, m);
}

/* One setting's value: a constant (E0602) of the setting's kind and range
 * (E0604). Stores it into rd when valid. */
static void check_setting(Checker *c, const RoleSetting *rs, Node *s, RoleDesc *rd) {
  Node *v = s->u.init.value;
  const char *name = rs->name;
  Type *t = ck_expr(c, v, NULL);
  if (!v || ck_is_error(t)) return;
  if (!ck_is_const(v)) {
    diag_add(c->dl, D_E0602, v->span,
             v->kind == N_INTERP ? "write the string without {…}: settings are fixed text"
                                 : "write a literal: a string, a number or a duration",
             "role setting `%s` must be a constant", name);
    return;
  }
  ConstNum num;
  bool is_num = const_num(v, &num);
  bool kind_ok = false;
  switch (rs->kind) {
  case RS_STRING: kind_ok = v->kind == N_STRING; break;
  case RS_FLOAT: kind_ok = is_num && (num.kind == N_FLOAT || num.kind == N_INT); break;
  case RS_INT: kind_ok = is_num && num.kind == N_INT; break;
  case RS_DURATION: kind_ok = is_num && num.kind == N_DURATION; break;
  }
  if (!kind_ok) {
    const char *help = rs->kind == RS_DURATION ? "write a duration: 30s, 2m, 500ms"
                       : rs->kind == RS_INT && is_num && num.kind == N_FLOAT ? "write a whole number"
                       : NULL;
    diag_add(c->dl, D_E0604, v->span, help, "role setting `%s` must be %s, got %s", name,
             kind_word(rs->kind), ck_type_str(c, t));
    return;
  }
  if (rs->kind == RS_STRING) {
    const char *str = v->u.lit.str ? v->u.lit.str : "";
    size_t len = v->u.lit.str ? v->u.lit.len : 0;
    if (memchr(str, '\0', len)) {
      diag_add(c->dl, D_E0604, v->span, "remove the \\u0000", "role setting `%s` contains a NUL character", name);
      return;
    }
    char *copy = arena_strndup(c->a, str, len);
    if (strcmp(name, "model") == 0) {
      check_model(c, v, copy, len);
      rd->model = copy;
    } else {
      rd->system = copy;
    }
    return;
  }
  double x = num.kind == N_FLOAT ? num.f : (double)num.i;
  bool in_range = rs->kind == RS_FLOAT ? x >= (double)rs->min && x <= (double)rs->max
                                       : num.i >= rs->min && num.i <= rs->max;
  if (!in_range) {
    Buf b;
    buf_init(&b);
    if (num.kind == N_FLOAT) buf_printf(&b, "%g", num.f);
    else if (num.kind == N_DURATION) dur_format(&b, num.i);
    else buf_printf(&b, "%lld", (long long)num.i);
    diag_add(c->dl, D_E0604, v->span, NULL, "role setting `%s` must be %s, got %s", name,
             rs->range, b.data ? b.data : "?");
    buf_free(&b);
    return;
  }
  if (strcmp(name, "temperature") == 0) rd->temperature = x;
  else if (strcmp(name, "top_p") == 0) rd->top_p = x;
  else if (strcmp(name, "max_tokens") == 0) rd->max_tokens = num.i;
  else if (strcmp(name, "timeout") == 0) rd->timeout_ms = num.i;
  else if (strcmp(name, "retries") == 0) rd->retries = (int32_t)num.i;
  else if (strcmp(name, "repairs") == 0) rd->repairs = (int32_t)num.i;
  else if (strcmp(name, "max_steps") == 0) rd->max_steps = (uint32_t)num.i;
}

/* Rule: every name in `tools: [f, g]` is a top-level function (E0640),
 * not generic, described by a `///` comment (E0641: the description is
 * what the model reads to choose it), whose parameters and result have a
 * JSON form (E0642: the model writes the arguments as JSON and reads the
 * result as text), listed once (E0607), at most ROLE_TOOLS_MAX of them.
 * Each name node's type becomes the record of the parameters, which the
 * emitter turns into the tool's schema descriptor. */
static void check_role_tools(Checker *c, Node *s, RoleDesc *rd) {
  Node *v = s->u.init.value;
  if (!v) return;
  if (v->kind != N_LIST || v->u.list.items.n == 0 || v->u.list.items.n > ROLE_TOOLS_MAX) {
    diag_add(c->dl, D_E0604, v->span, "write a list of functions: tools: [read_file, run_tests]",
             "role setting `tools` must be a list of 1 to %d function names", ROLE_TOOLS_MAX);
    return;
  }
  NodeList *xs = &v->u.list.items;
  RoleTool *out = arena_alloc(c->a, xs->n * sizeof *out);
  uint32_t n = 0;
  bool bad = false;
  for (uint32_t i = 0; i < xs->n; i++) {
    Node *x = xs->items[i];
    Symbol *sym = x && x->kind == N_NAME ? ck_lookup(c, x->u.name.id, x->span) : NULL;
    if (!sym || sym->kind != SYM_FN) {
      diag_add(c->dl, D_E0640, x ? x->span : v->span,
               "a tool is a top-level function of this program: fn name(params) -> T, with a /// description",
               "`%.60s` is not a function, so it cannot be a tool",
               x && x->kind == N_NAME ? x->u.name.id : "this");
      bad = true;
      continue;
    }
    sym->used = true;
    x->sym = sym;
    FnSym *f = (FnSym *)sym;
    Node *d = sym->decl;
    if (d && d->span.file != s->span.file) {
      diag_add(c->dl, D_E0640, x->span, "declare the role in the file that declares its tools",
               "tool `%s` is declared in another file: a role's tools are functions of its own file", sym->name);
      bad = true;
      continue;
    }
    for (uint32_t k = 0; k < n; k++)
      if (strcmp(out[k].name, sym->name) == 0) {
        diag_add(c->dl, D_E0607, x->span, "remove one of them", "tool `%s` is listed twice", sym->name);
        bad = true;
      }
    if (!d || !d->doc || !d->doc[0]) {
      diag_add(c->dl, D_E0641, x->span, "add a /// comment above the function saying what it does",
               "tool `%s` has no description", sym->name);
      bad = true;
    }
    if (d && d->u.fn.type_params.n) {
      diag_add(c->dl, D_E0642, x->span, "give its parameters concrete types: the model writes them as JSON",
               "tool `%s` is generic", sym->name);
      bad = true;
      continue;
    }
    Type *rec = type_new(c->a, TY_RECORD);
    rec->nfields = f->sig.nparams;
    rec->fields = arena_alloc(c->a, (f->sig.nparams ? f->sig.nparams : 1) * sizeof *rec->fields);
    for (uint32_t k = 0; k < f->sig.nparams; k++) {
      Node *pn = d->u.fn.params.items[k];
      Type *pt = f->sig.params[k];
      rec->fields[k] = (TyField){pn->u.param.name, pt, pn->doc};
      if (!ck_is_error(pt) && !type_is_jsonable(pt)) {
        diag_add(c->dl, D_E0642, x->span, "a model writes a tool's arguments as JSON: use data types",
                 "parameter `%s` of tool `%s` has type %s, which JSON cannot express", pn->u.param.name,
                 sym->name, ck_type_str(c, pt));
        bad = true;
      }
    }
    Type *r = f->sig.ret;
    if (r && !ck_is_error(r) && r->kind != TY_VOID && !type_is_jsonable(r)) {
      diag_add(c->dl, D_E0642, x->span, "a tool's result goes back to the model as JSON: return data",
               "tool `%s` returns %s, which JSON cannot express", sym->name, ck_type_str(c, r));
      bad = true;
    }
    x->type = rec;
    out[n++] = (RoleTool){(char *)sym->name, d && d->doc ? (char *)d->doc : (char *)"", 0};
  }
  if (bad) return;
  rd->tools = out;
  rd->ntools = n;
}

/* stop: a list literal of plain strings, at most ASK_STOP_MAX of 1 to
 * ASK_STOP_LEN_MAX bytes without NUL (E0602 for anything computed, E0604). */
static void check_role_stop(Checker *c, Node *s, RoleDesc *rd) {
  Node *v = s->u.init.value;
  Type *t = ck_expr(c, v, NULL);
  if (!v || ck_is_error(t)) return;
  if (v->kind != N_LIST) {
    diag_add(c->dl, D_E0604, v->span, "write a list of strings: stop: [\"END\"]",
             "role setting `stop` must be a list of strings, got %s", ck_type_str(c, t));
    return;
  }
  NodeList *xs = &v->u.list.items;
  if (xs->n > ASK_STOP_MAX) {
    diag_add(c->dl, D_E0604, v->span, NULL, "role setting `stop` has %u sequences, at most %d are allowed",
             xs->n, ASK_STOP_MAX);
    return;
  }
  char **out = arena_alloc(c->a, (xs->n ? xs->n : 1) * sizeof *out);
  for (uint32_t i = 0; i < xs->n; i++) {
    Node *x = xs->items[i];
    if (!x || x->kind != N_STRING) {
      diag_add(c->dl, D_E0602, x ? x->span : v->span, "write the text without {…}: settings are fixed text",
               "role setting `stop` must be a list of constant strings");
      return;
    }
    if (x->u.lit.len == 0 || x->u.lit.len > ASK_STOP_LEN_MAX || memchr(x->u.lit.str, '\0', x->u.lit.len)) {
      diag_add(c->dl, D_E0604, x->span, NULL, "a stop sequence must be 1 to %d bytes without NUL, got %zu bytes",
               ASK_STOP_LEN_MAX, x->u.lit.len);
      return;
    }
    out[i] = arena_strndup(c->a, x->u.lit.str, x->u.lit.len);
  }
  rd->stop = out;
  rd->nstop = xs->n;
}

static void check_role(Checker *c, Node *r) {
  NodeList *sl = &r->u.role.settings;
  RoleDesc *rd = arena_alloc(c->a, sizeof *rd);
  rd->name = (char *)r->u.role.name;
  rd->temperature = rd->top_p = NAN;
  rd->max_tokens = rd->timeout_ms = -1;
  rd->retries = rd->repairs = -1;
  bool has_model = false;
  for (uint32_t i = 0; i < sl->n; i++) {
    Node *s = sl->items[i];
    if (!s || s->kind != N_FIELD_INIT) continue;
    const char *name = s->u.init.name;
    Node *first = NULL;
    for (uint32_t k = 0; k < i && !first; k++) {
      Node *o = sl->items[k];
      if (o && o->kind == N_FIELD_INIT && strcmp(o->u.init.name, name) == 0) first = o;
    }
    if (first) {
      diag_add(c->dl, D_E0607, s->span, "remove one of them",
               "setting `%s` is given twice (first on line %u)", name, line_of(c, first->span));
      ck_expr(c, s->u.init.value, NULL);
      continue;
    }
    const RoleSetting *rs = find_setting(name);
    if (!rs) {
      const char *cands[NROLE_SETTINGS];
      for (size_t k = 0; k < NROLE_SETTINGS; k++) cands[k] = role_settings[k].name;
      const char *near = ck_closest(name, cands, (uint32_t)NROLE_SETTINGS);
      char *help = arena_alloc(c->a, 160);
      if (near) snprintf(help, 160, "did you mean `%s`?", near);
      else snprintf(help, 160, "the settings are model, system, temperature, top_p, max_tokens, "
                               "stop, timeout, retries, repairs, tools and max_steps");
      diag_add(c->dl, D_E0603, s->span, help, "unknown role setting `%.60s`", name);
      ck_expr(c, s->u.init.value, NULL);
      continue;
    }
    if (rs->kind == RS_STRING && strcmp(name, "model") == 0) has_model = true;
    if (strcmp(name, "stop") == 0) check_role_stop(c, s, rd);
    else if (strcmp(name, "tools") == 0) check_role_tools(c, s, rd);
    else check_setting(c, rs, s, rd);
  }
  /* max_steps bounds the loop an ask of the role runs: it needs tools,
   * and tools get ROLE_DEFAULT_STEPS when it is left out */
  bool has_tools = false;
  for (uint32_t i = 0; i < sl->n; i++) {
    Node *s = sl->items[i];
    has_tools |= s && s->kind == N_FIELD_INIT && strcmp(s->u.init.name, "tools") == 0;
  }
  for (uint32_t i = 0; i < sl->n && !has_tools; i++) {
    Node *s = sl->items[i];
    if (s && s->kind == N_FIELD_INIT && strcmp(s->u.init.name, "max_steps") == 0)
      diag_add(c->dl, D_E0604, s->span, "list the tools the loop may call: tools: [read_file]",
               "role setting `max_steps` needs `tools`");
  }
  if (!rd->ntools) rd->max_steps = 0;
  else if (!rd->max_steps) rd->max_steps = ROLE_DEFAULT_STEPS;
  if (!has_model)
    diag_add(c->dl, D_E0601, r->u.role.name_span,
             "add a model setting: model: \"anthropic/claude-sonnet-4-5\"",
             "role `%s` has no model", r->u.role.name);
  r->extra = rd;
}

/* main's parameters are the program's inputs: JSON-expressible, constant
 * defaults, no type parameters. */
static void check_main(Checker *c, FnSym *f) {
  Node *d = f->sym.decl;
  c->p->main = &f->sym;
  if (d->u.fn.type_params.n)
    diag_add(c->dl, D_E0501, d->u.fn.name_span,
             "give its parameters concrete types: the inputs arrive as JSON",
             "main cannot be generic");
  for (uint32_t i = 0; i < f->sig.nparams && !d->u.fn.type_params.n; i++) {
    Node *pn = d->u.fn.params.items[i];
    Type *t = f->sig.params[i];
    if (!ck_is_error(t) && !type_is_jsonable(t))
      diag_add(c->dl, D_E0502, pn->u.param.type ? pn->u.param.type->span : pn->span,
               "main's inputs come from JSON: use data types (no functions or roles)",
               "parameter `%s` of main has type %s, which JSON cannot express",
               pn->u.param.name, ck_type_str(c, t));
  }
  Type *r = f->sig.ret;
  if (!ck_is_error(r) && r->kind != TY_VOID && !type_is_jsonable(r))
    diag_add(c->dl, D_E0502, d->u.fn.ret ? d->u.fn.ret->span : d->u.fn.name_span,
             "main's result is printed as JSON: return data (no functions or roles)",
             "main returns %s, which JSON cannot express", ck_type_str(c, r));
}

bool ck_broken_name(const Checker *c, const char *name) {
  return c->file && tab_get(&c->file->broken, name) != NULL;
}

static void warn_unused_imports(Checker *c, FileScope *fs) {
  for (uint32_t i = 0; i < fs->nimports; i++) {
    ImportEntry *ie = &fs->imports[i];
    bool used = ie->used || (ie->decl->sym && ie->decl->sym->used);
    if (!used)
      diag_add(c->dl, D_W0001, ie->decl->span, "remove it",
               "unused import \"%s\"", ie->decl->u.import.path);
  }
}

/* Whether a syntax error (E00xx/E01xx) lies inside `span`: the body of such
 * a function is not checked, since the parser's recovery leaves holes that
 * would only produce follow-on errors. */
static bool has_syntax_error(Checker *c, Span span) {
  for (uint32_t i = 0; i < c->dl->n; i++) {
    Diag *d = &c->dl->items[i];
    if (d->code > D_E0104 || d->span.file != span.file) continue;
    if (d->span.start >= span.start && d->span.start <= span.end) return true;
  }
  return false;
}

/* The variants a tagged-union type item declares (NULL list otherwise). */
static NodeList *variants_of(Symbol *s) {
  if (!s || s->kind != SYM_TYPE || !s->decl || s->decl->kind != N_TYPEDEF) return NULL;
  Node *t = s->decl->u.typedef_.type;
  return t && t->kind == N_TYPE_TAGGED ? &t->u.list.items : NULL;
}

static void add_variants(Checker *c, FileScope *fs, Symbol *s, bool own, ImportEntry *via) {
  NodeList *vl = variants_of(s);
  for (uint32_t i = 0; vl && i < vl->n; i++) {
    Node *v = vl->items[i];
    if (!v || v->kind != N_PARAM) continue;
    VariantRef *prev = tab_get(&fs->variants, v->u.param.name);
    if (prev) {
      /* A variant name stands for its union where it is built: two
       * unions may not share one (the same union twice is E0320 too, from
       * tagged_syntax). */
      if (own && prev->ts != (TypeSym *)s)
        diag_add(c->dl, D_E0320, v->span,
                 "variant names build values (`Name { … }`), so each names one union: rename one",
                 "variant `%s` is already a variant of type `%s`", v->u.param.name, prev->ts->sym.name);
      continue;
    }
    VariantRef *r = arena_alloc(c->a, sizeof *r);
    r->ts = (TypeSym *)s;
    r->index = i;
    r->decl = v;
    r->via = via;
    tab_put(c->a, &fs->variants, v->u.param.name, r);
  }
}

/* Own unions after imported ones, so a clash is reported at the file's
 * own declaration; the prelude's last, so a program's own `Ok` shadows
 * the prelude's (a `try` result is still matched by its type). */
static void collect_variants(Checker *c, FileScope *fs) {
  for (uint32_t i = 0; i < fs->imported.cap; i++)
    if (fs->imported.keys[i]) {
      ImportedName *in = fs->imported.vals[i];
      add_variants(c, fs, in->sym, false, in->via);
    }
  NodeList *items = &fs->pf->ast.items;
  for (uint32_t i = 0; i < items->n; i++) {
    Node *it = items->items[i];
    if (it && it->kind == N_TYPEDEF && it->sym && tab_get(&fs->items, it->sym->name) == it->sym)
      add_variants(c, fs, it->sym, true, NULL);
  }
  if (fs->prelude)
    for (uint32_t i = 0; i < fs->prelude->items.cap; i++)
      if (fs->prelude->items.keys[i]) add_variants(c, fs, fs->prelude->items.vals[i], false, NULL);
}

/* A variant used by name: the import it came by is used too. */
VariantRef *ck_variant(Checker *c, const char *name) {
  VariantRef *r = c->file ? tab_get(&c->file->variants, name) : NULL;
  if (r && r->via) r->via->used = true;
  return r;
}

Type *ck_typesym_type(Checker *c, TypeSym *ts) {
  ts->sym.used = true;
  return resolve_typesym(c, ts, NULL);
}

static void check_file(Checker *c, ProgramFile *pf, FileScope *prelude) {
  FileScope *fs = arena_alloc(c->a, sizeof *fs);
  fs->pf = pf;
  fs->file = pf->file;
  fs->prelude = prelude;
  pf->scope = fs;
  c->file = fs;
  c->scope = NULL;
  c->fn = NULL;
  declare_items(c, fs);
  for (uint32_t i = 0; i < pf->ast.item_names.n; i++) {
    const char *name = pf->ast.item_names.items[i]->u.name.id;
    if (!tab_get(&fs->items, name)) tab_put(c->a, &fs->broken, name, pf->ast.item_names.items[i]);
  }
  if (load_is_prelude(c->p, pf)) mark_internal(fs);
  bind_imports(c, fs);
  collect_variants(c, fs);
  NodeList *items = &pf->ast.items;
  for (uint32_t i = 0; i < items->n; i++) {
    Node *it = items->items[i];
    if (!it) continue;
    if (it->kind == N_TYPEDEF && it->sym) resolve_typesym(c, (TypeSym *)it->sym, NULL);
    else if (it->kind == N_FN && it->sym) resolve_sig(c, (FnSym *)it->sym);
  }
  for (uint32_t i = 0; i < items->n; i++) {
    Node *it = items->items[i];
    if (!it) continue;
    c->scope = NULL;
    c->fn = NULL;
    if (it->kind == N_ROLE) {
      check_role(c, it);
    } else if (it->kind == N_FN && it->sym) {
      FnSym *f = (FnSym *)it->sym;
      if (pf->file == c->p->main_file && strcmp(f->sym.name, "main") == 0 &&
          tab_get(&fs->items, "main") == &f->sym)
        check_main(c, f);
      if (!has_syntax_error(c, it->span)) ck_fn_body(c, f);
    }
  }
  /* an import may be used only in the part that did not parse */
  if (!has_syntax_error(c, (Span){pf->file, 0, UINT32_MAX})) warn_unused_imports(c, fs);
}

bool check_program(Program *p) {
  uint32_t errors_before = p->diags->errors;
  Checker c;
  memset(&c, 0, sizeof c);
  c.p = p;
  c.a = &p->arena;
  c.dl = p->diags;
  tmemo_init(&c.instances);
  init_natives(&c);
  FileScope *prelude = NULL;
  for (uint32_t i = 0; i < p->nfiles; i++) {
    ProgramFile *pf = &p->files[i];
    bool is_prelude = load_is_prelude(p, pf);
    check_file(&c, pf, is_prelude ? NULL : prelude);
    if (is_prelude) prelude = pf->scope;
  }
  tmemo_free(&c.instances);
  return p->diags->errors == errors_before;
}
