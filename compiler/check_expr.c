/* check_expr.c — statements, expressions and match: the bidirectional half
 * of the checker.
 *
 * ck_expr(n, want) computes n's type using `want` only as a hint (it is what
 * gives a string literal its literal type, `[]` its element type, a record
 * literal its declared shape, a lambda its parameter types); ck_expect
 * then demands that the result fit `want`. A TY_ERROR operand makes every
 * enclosing expression TY_ERROR without a further diagnostic. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "../base/util.h"
#include "check_int.h"
#include "../vm/effects.h"

static Type *err(void) { return type_prim(TY_ERROR); }

static Type *stmt(Checker *c, Node *n);

static bool is_hole(const Type *t) { return t->kind == TY_VAR && t->var_id == UINT32_MAX; }

/* True when a type (hint) contains the "unknown yet" marker of a generic
 * call being inferred (see check_call.c); such hints only guide lambdas. */
static bool has_hole(const Type *t) { return type_any(t, is_hole, CHECK_MAX_TYPE_DEPTH); }

/* The span a mismatch about n should point at: a block's value. */
/* The expression that gives a block its value (the node itself if not a block). */
static Node *value_node(Node *n) {
  for (int guard = 0; n && n->kind == N_BLOCK && guard < AST_MAX_DEPTH; guard++) {
    NodeList *s = &n->u.block.stmts;
    if (!n->u.block.has_value || !s->n) break;
    Node *last = s->items[s->n - 1];
    if (!last || last->kind != N_EXPR_STMT || !last->u.stmt.expr) break;
    n = last->u.stmt.expr;
  }
  return n;
}

static Span value_span(Node *n) { return value_node(n)->span; }

static bool is_num(const Type *t) { return t->kind == TY_INT || t->kind == TY_FLOAT; }
static bool is_stringish(const Type *t) { return t->kind == TY_STRING || t->kind == TY_UNION; }

static const char *help_fmt(Checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports `got` not fitting `want` with the most specific code: an optional
 * used as its value (E0315), a value not known to be inside want's range
 * (E0334), int/float mixing (E0311), or E0301. */
void ck_mismatch(Checker *c, Span at, Type *got, Type *want) {
  if (ck_is_error(got) || ck_is_error(want)) return;
  if (got->kind == TY_OPTIONAL && type_assignable(got->elem, want)) {
    diag_add(c->dl, D_E0315, at, "match on it: match x { none => ..., v => ... }",
             "expected %s, got %s, which may be none", ck_type_str(c, want), ck_type_str(c, got));
    return;
  }
  Type *w = ck_strip(want);
  if (w->range && type_assignable(ck_strip(got), ck_unconstrained(c, w))) {
    Buf b;
    buf_init(&b);
    type_range_print(&b, w->range);
    diag_add(c->dl, D_E0334, at,
             help_fmt(c, "a value computed in the program is not known to be inside the range; check it "
                          "with from_json[%s](x), which fails outside it", ck_type_str(c, w)),
             "expected %s, got %s, which may be outside %s", ck_type_str(c, want), ck_type_str(c, got), b.data);
    buf_free(&b);
    return;
  }
  if (is_num(got) && is_num(want)) {
    diag_add(c->dl, D_E0311, at, "use to_float(i) or to_int(f)", "expected %s, got %s",
             ck_type_str(c, want), ck_type_str(c, got));
    return;
  }
  if (got->kind == TY_VOID) {
    diag_add(c->dl, D_E0301, at, NULL, "type mismatch: expected %s, but this has no value",
             ck_type_str(c, want));
    return;
  }
  diag_add(c->dl, D_E0301, at, NULL, "type mismatch: expected %s, got %s", ck_type_str(c, want),
           ck_type_str(c, got));
}

Type *ck_expect(Checker *c, Node *n, Type *want) {
  Type *t = ck_expr(c, n, want);
  if (want && !has_hole(want) && !type_assignable(t, want))
    ck_mismatch(c, value_span(n), t, want);
  return t;
}

/* Constant expressions: literals, negated numbers, and lists, maps and
 * records of constants (role settings, parameter defaults). */
bool ck_is_const(const Node *n) {
  if (!n) return false;
  switch (n->kind) {
  case N_INT: case N_FLOAT: case N_BOOL: case N_NONE: case N_STRING: case N_DURATION:
  case N_PERCENT:
    return true;
  case N_UNARY:
    return n->u.unary.op == AOP_NEG && n->u.unary.operand &&
           (n->u.unary.operand->kind == N_INT || n->u.unary.operand->kind == N_FLOAT ||
            n->u.unary.operand->kind == N_DURATION);
  case N_LIST: case N_RECORD: case N_MAP:
    for (uint32_t i = 0; i < n->u.list.items.n; i++) {
      const Node *it = n->u.list.items.items[i];
      if (!it) return false;
      if (it->kind == N_FIELD_INIT) { if (!ck_is_const(it->u.init.value)) return false; }
      else if (it->kind == N_MAP_ENTRY) {
        if (!ck_is_const(it->u.init.key) || !ck_is_const(it->u.init.value)) return false;
      } else if (!ck_is_const(it)) return false;
    }
    return true;
  default:
    return false;
  }
}

/* ---- names ---------------------------------------------------------------- */
static void add_capture(Checker *c, SymList *l, Symbol *s) {
  for (uint32_t i = 0; i < l->n; i++)
    if (l->items[i] == s) return;
  if (l->n == l->cap) {
    uint32_t ncap = l->cap ? l->cap * 2 : 4;
    Symbol **items = arena_alloc(c->a, ncap * sizeof *items);
    if (l->n) memcpy(items, l->items, l->n * sizeof *items);
    l->items = items;
    l->cap = ncap;
  }
  l->items[l->n++] = s;
}

/* What the innermost function being checked is, for messages. */
static const char *in_what(const Checker *c) {
  const Node *o = c->fn ? c->fn->owner : NULL;
  return o && o->kind == N_LAMBDA && o->u.lambda.branch ? "fan-out branch" : "lambda";
}

/* A local of an enclosing function used inside a lambda: every lambda
 * between the use and the owner captures it; a `var` cannot be captured. */
static bool note_capture(Checker *c, Symbol *s, Span at) {
  if (s->kind != SYM_LOCAL || !c->fn || s->owner == c->fn->owner) return true;
  if (s->is_var) {
    diag_add(c->dl, D_E0208, at,
             "concurrent branches share nothing mutable: copy it into a `let` first "
             "(let snapshot = x) and use that",
             "`%s` is a `var` and cannot be used inside a %s", s->name, in_what(c));
    return false;
  }
  for (FnCtx *f = c->fn; f && f->owner != s->owner; f = f->parent)
    if (f->captures) add_capture(c, f->captures, s);
  return true;
}

static void unknown_name(Checker *c, const char *name, Span at) {
  if (ck_broken_name(c, name)) return; /* its item's syntax error says it all */
  const char *cands[128];
  uint32_t n = 0;
  for (Scope *s = c->scope; s && n < 128; s = s->parent)
    for (uint32_t i = 0; i < s->names.cap && n < 128; i++)
      if (s->names.keys[i]) cands[n++] = s->names.keys[i];
  FileScope *fs = c->file;
  for (uint32_t i = 0; fs && i < fs->items.cap && n < 128; i++)
    if (fs->items.keys[i]) cands[n++] = fs->items.keys[i];
  for (uint32_t i = 0; fs && fs->prelude && i < fs->prelude->items.cap && n < 128; i++)
    if (fs->prelude->items.keys[i] && ck_may_name(c, fs->prelude->items.vals[i]))
      cands[n++] = fs->prelude->items.keys[i];
  for (uint32_t i = 0; i < c->natives.cap && n < 128; i++)
    if (c->natives.keys[i] && ck_may_name(c, c->natives.vals[i])) cands[n++] = c->natives.keys[i];
  const char *near = ck_closest(name, cands, n);
  if (near) {
    size_t len = strlen(near) + 32;
    char *help = arena_alloc(c->a, len);
    snprintf(help, len, "did you mean `%s`?", near);
    diag_add(c->dl, D_E0201, at, help, "unknown name `%s`", name);
  } else {
    diag_add(c->dl, D_E0201, at, NULL, "unknown name `%s`", name);
  }
}

/* The value of a symbol named in expression position. */
static Type *symbol_value(Checker *c, Symbol *s, const char *name, Span at) {
  switch (s->kind) {
  case SYM_LOCAL:
    s->used = true;
    if (!note_capture(c, s, at)) return err();
    return s->type ? s->type : err();
  case SYM_FN: {
    s->used = true;
    FnSym *f = (FnSym *)s;
    if (f->sig.ntvars) {
      diag_add(c->dl, D_E0305, at, "call it, or wrap it in a lambda: fn(x) => f(x)",
               "generic function `%s` cannot be used as a value", name);
      return err();
    }
    return s->type ? s->type : err();
  }
  case SYM_ROLE:
    /* a role item named as a value: a `role` (ROLE at run time). Every
     * role value comes from such a name, so the roles a program can
     * reach are its role items: --cost and the model checks rely on it. */
    s->used = true;
    if (ck_role_has_tools(s)) {
      diag_add(c->dl, D_E0643, at, "ask the role by its name: ask fixer \"...\"",
               "role `%s` has tools, so it cannot be used as a value: the loop an ask of it runs "
               "is built where the role is named", name);
      return err();
    }
    return type_prim(TY_ROLE);
  case SYM_NATIVE: {
    size_t len = strlen(name) * 2 + 48;
    char *help = arena_alloc(c->a, len);
    snprintf(help, len, "wrap it in a lambda: fn(x) => %s(x)", name);
    diag_add(c->dl, D_E0210, at, help, "builtin `%s` can only be called, not used as a value",
             name);
    return err();
  }
  case SYM_TYPE:
    diag_add(c->dl, D_E0210, at, NULL, "`%s` is a type, not a value", name);
    return err();
  case SYM_MODULE:
    s->used = true;
    diag_add(c->dl, D_E0210, at, "use one of its items: m.name", "`%s` is a module, not a value",
             name);
    return err();
  }
  return err();
}

/* ---- builtins as values ------------------------------------------------------
 * A builtin named as a value is rewritten, in place, into the lambda
 * `fn(__a0, …) => NAME(__a0, …)`, so the emitter and the cost analysis see
 * an ordinary lambda and the call inside picks the overload as any call
 * does. That needs one overload: the only one, or the only one the
 * expected function type accepts. A generic overload takes its parameter
 * types from the expected type; its result is inferred from the call. */

/* The builtin's text for messages: its parameters as a typed lambda. */
static char *builtin_lambda_text(Checker *c, const char *name, const Sig *s) {
  Buf b;
  buf_init(&b);
  buf_puts(&b, "fn(");
  for (uint32_t i = 0; i < s->nparams; i++) {
    buf_printf(&b, "%s%c: ", i ? ", " : "", (char)('x' + i % 3));
    type_print(&b, s->params[i]);
  }
  buf_printf(&b, ") => %s(", name);
  for (uint32_t i = 0; i < s->nparams; i++) buf_printf(&b, "%s%c", i ? ", " : "", (char)('x' + i % 3));
  buf_puts(&b, ")");
  char *r = arena_strndup(c->a, b.data ? b.data : "", b.len);
  buf_free(&b);
  return r;
}

static void builtin_refused(Checker *c, Node *n, const Sig *first, const char *why) {
  const char *name = n->u.name.id;
  char *help = NULL;
  if (first) {
    const char *lam = builtin_lambda_text(c, name, first);
    size_t len = strlen(lam) + 96;
    help = arena_alloc(c->a, len);
    snprintf(help, len, "wrap it in a lambda with typed parameters: %s%s", lam,
             first->ntvars ? ", naming the types you mean" : "");
  }
  diag_add(c->dl, D_E0210, n->span, help, "builtin `%s` cannot be used as a value here: %s",
           name, why);
}

/* Makes n (an N_NAME naming a builtin) the lambda calling it with nparams
 * parameters. */
static void builtin_to_lambda(Checker *c, Node *n, uint32_t nparams) {
  Span at = n->span;
  Node *callee = ast_new(c->a, N_NAME, at);
  callee->u.name.id = n->u.name.id;
  Node *call = ast_new(c->a, N_CALL, at);
  call->u.call.callee = callee;
  memset(&n->u, 0, sizeof n->u);
  n->kind = N_LAMBDA;
  n->sym = NULL;
  for (uint32_t i = 0; i < nparams; i++) {
    char id[16];
    snprintf(id, sizeof id, "__a%u", i);
    Node *pn = ast_new(c->a, N_PARAM, at);
    pn->u.param.name = arena_strndup(c->a, id, strlen(id));
    nl_push(c->a, &n->u.lambda.params, pn);
    Node *arg = ast_new(c->a, N_NAME, at);
    arg->u.name.id = pn->u.param.name;
    nl_push(c->a, &call->u.call.args, arg);
  }
  ast_set_depth(call);
  n->u.lambda.body = call;
  n->u.lambda.arrow = true;
  ast_set_depth(n);
}

static Type *builtin_value(Checker *c, Node *n, NativeSym *ns, Type *want) {
  Type *w = ck_strip(want);
  if (w && w->kind != TY_FN) w = NULL;
  bool known = w != NULL; /* every parameter type of w is known */
  for (uint32_t i = 0; w && i < w->nparams; i++) {
    if (ck_is_error(w->params[i])) return err();
    if (has_hole(w->params[i])) known = false;
  }
  const Sig *pick = NULL, *first = NULL, *only = NULL;
  uint32_t npick = 0, nvalid = 0;
  for (uint32_t i = ns->first; i < ns->first + ns->count; i++) {
    const Sig *s = &c->native_sigs[i];
    if (!s->ret) continue;
    nvalid++;
    only = s;
    if (!first) first = s;
    if (w && s->nparams != w->nparams) continue;
    if (known && !ck_native_fits(c, s, w->params, w->nparams)) continue;
    pick = s;
    npick++;
  }
  if (!nvalid || strcmp(ns->sym.name, "from_json") == 0) {
    builtin_refused(c, n, NULL, "it has no function type");
    return err();
  }
  if (!npick && w) {
    /* no overload has the expected shape: say so as a mismatch */
    if (nvalid == 1) {
      Type *t = type_new(c->a, TY_FN);
      t->params = only->params;
      t->nparams = only->nparams;
      t->ret = only->ret;
      ck_mismatch(c, n->span, t, want);
    } else {
      diag_add(c->dl, D_E0301, n->span, NULL,
               "type mismatch: expected %s, but no version of builtin `%s` has that type",
               ck_type_str(c, want), ns->sym.name);
    }
    return err();
  }
  if (npick > 1) {
    builtin_refused(c, n, first, "it has several versions and nothing says which");
    return err();
  }
  Type *lt = type_new(c->a, TY_FN);
  lt->nparams = pick->nparams;
  if (!pick->ntvars) {
    lt->params = pick->params;
    lt->ret = pick->ret;
  } else if (known) {
    Type *h = type_new(c->a, TY_VAR); /* a hole: the lambda infers its result */
    h->var_id = UINT32_MAX;
    h->name = "?";
    lt->params = w->params;
    lt->ret = h;
  } else {
    builtin_refused(c, n, pick, "the types of its parameters cannot be inferred");
    return err();
  }
  builtin_to_lambda(c, n, pick->nparams);
  return ck_lambda(c, n, lt);
}

static Type *tasks_use(Checker *c, Node *n, Symbol *s, Type *t);

/* want: the expected type as given, holes included (see builtin_value). */
static Type *variant_expr(Checker *c, Node *n, Type *want);
static bool name_is_variant(Checker *c, Node *n, Type *want);

static Type *name_expr(Checker *c, Node *n, Type *want) {
  Symbol *s = ck_lookup(c, n->u.name.id, n->span);
  if (!s) {
    if (name_is_variant(c, n, want)) return variant_expr(c, n, want);
    unknown_name(c, n->u.name.id, n->span);
    return err();
  }
  if (s->kind == SYM_NATIVE) return builtin_value(c, n, (NativeSym *)s, want);
  n->sym = s;
  Type *t = symbol_value(c, s, n->u.name.id, n->span);
  if (t->kind == TY_TASKS) return tasks_use(c, n, s, t);
  return t;
}

/* ---- ask ------------------------------------------------------------------ */

/* The role item a role reference names statically (`r`, `lib.r`), without
 * diagnostics; sets rn->sym (and the module name's) on success. */
static Symbol *static_role(Checker *c, Node *rn) {
  Symbol *s = NULL, *ms = NULL;
  if (rn && rn->kind == N_NAME) {
    s = ck_lookup(c, rn->u.name.id, rn->span);
  } else if (rn && rn->kind == N_FIELD && rn->u.field.object->kind == N_NAME) {
    Node *obj = rn->u.field.object;
    ms = ck_lookup(c, obj->u.name.id, obj->span);
    s = ms && ms->kind == SYM_MODULE ? ck_module_member(c, ms->module, rn->u.field.name) : NULL;
  }
  if (!s || s->kind != SYM_ROLE) return NULL;
  if (ms) {
    ms->used = true;
    rn->u.field.object->sym = ms;
    rn->u.field.object->type = type_prim(TY_VOID);
  }
  s->used = true;
  rn->sym = s;
  rn->type = type_prim(TY_ROLE);
  return s;
}

/* The per-call settings an ask accepts: the sampling settings. The rest of
 * a role (model, system prompt, time, retries, repairs) is fixed by the
 * role item, where the checker and the operator's allowlist see it. */
typedef enum { AW_NUM, AW_INT, AW_STOP } AskWithKind;
static const struct {
  const char *name;
  AskWithKind kind;
  double min, max;
  const char *range;
} ask_settings[] = {
    {"temperature", AW_NUM, 0, 2, "between 0 and 2"},
    {"top_p", AW_NUM, 0, 1, "between 0 and 1"},
    {"max_tokens", AW_INT, 1, 0, "at least 1"},
    {"stop", AW_STOP, 0, 0, NULL},
};
#define NASK_SETTINGS (sizeof ask_settings / sizeof ask_settings[0])

/* A numeric literal, or a negated one: its value. */
static bool lit_number(const Node *v, double *x, bool *is_int) {
  bool neg = false;
  if (v->kind == N_UNARY && v->u.unary.op == AOP_NEG && v->u.unary.operand) {
    neg = true;
    v = v->u.unary.operand;
  }
  if (v->kind == N_INT) *x = (double)v->u.lit.i, *is_int = true;
  else if (v->kind == N_FLOAT) *x = v->u.lit.f, *is_int = false;
  else return false;
  if (neg) *x = -*x;
  return true;
}

/* One per-call setting: an expression of the setting's type (E0604), a
 * literal within its range (E0604; other values are checked at run time,
 * the same ranges). */
static void ask_setting(Checker *c, Node *f, AskWithKind kind, const char *name, const char *range,
                        double min, double max) {
  Node *v = f->u.init.value;
  if (!v) return;
  Type *want = kind == AW_STOP ? ck_list(c, TY_LIST, type_prim(TY_STRING)) : NULL;
  Type *t = ck_expect(c, v, want);
  if (ck_is_error(t)) return;
  bool ok = kind == AW_NUM   ? t->kind == TY_INT || t->kind == TY_FLOAT
            : kind == AW_INT ? t->kind == TY_INT
                             : t->kind == TY_LIST && t->elem && (t->elem->kind == TY_STRING || t->elem->kind == TY_UNION);
  if (!ok && kind == AW_STOP) return; /* ck_expect reported the mismatch (E0301) */
  if (!ok) {
    diag_add(c->dl, D_E0604, v->span, NULL, "ask setting `%s` must be %s, got %s", name,
             kind == AW_NUM ? "a number" : kind == AW_INT ? "an int" : "a list of strings", ck_type_str(c, t));
    return;
  }
  double x;
  bool is_int;
  if (kind != AW_STOP && lit_number(v, &x, &is_int)) {
    bool in = kind == AW_INT ? x >= min : x >= min && x <= max;
    if (!in) {
      char got[40];
      if (is_int) snprintf(got, sizeof got, "%.0f", x);
      else snprintf(got, sizeof got, "%g", x);
      diag_add(c->dl, D_E0604, v->span, NULL, "ask setting `%s` must be %s, got %s", name, range, got);
    }
    return;
  }
  if (kind == AW_STOP && v->kind == N_LIST) {
    NodeList *xs = &v->u.list.items;
    if (xs->n > ASK_STOP_MAX)
      diag_add(c->dl, D_E0604, v->span, NULL, "ask setting `stop` has %u sequences, at most %d are allowed",
               xs->n, ASK_STOP_MAX);
    for (uint32_t i = 0; i < xs->n; i++) {
      Node *x1 = xs->items[i];
      if (x1 && x1->kind == N_STRING &&
          (x1->u.lit.len == 0 || x1->u.lit.len > ASK_STOP_LEN_MAX || memchr(x1->u.lit.str, '\0', x1->u.lit.len)))
        diag_add(c->dl, D_E0604, x1->span, NULL,
                 "a stop sequence must be 1 to %d bytes without NUL, got %zu bytes", ASK_STOP_LEN_MAX,
                 x1->u.lit.len);
    }
  }
}

/* Rule: `ask R [with { S }] P [-> T]`. R is a role: a role item's name
 * (`r`, `lib.r`) or any expression of type `role` (E0608 otherwise). S
 * holds only the sampling settings temperature, top_p, max_tokens and stop
 * (E0630 for the others, E0607 twice), each an expression of its type,
 * literals checked against their ranges here (E0604). P is a string
 * (E0609), T can travel as JSON (E0502). The type is T, or string without
 * `-> T`; with a literal union T, a `match` on the ask is checked for
 * exhaustiveness like any other. */
/* Whether role item s lists tools (read from its declaration: the role
 * may be checked after the asks of it). */
bool ck_role_has_tools(const Symbol *s) {
  const Node *d = s && s->kind == SYM_ROLE ? s->decl : NULL;
  if (!d || d->kind != N_ROLE) return false;
  for (uint32_t i = 0; i < d->u.role.settings.n; i++) {
    const Node *st = d->u.role.settings.items[i];
    if (st && st->kind == N_FIELD_INIT && strcmp(st->u.init.name, "tools") == 0) return true;
  }
  return false;
}

/* Rule: an ask of a role with tools is the loop desugaring built (its
 * type is the loop's); one it could not build (the role named through a
 * module, or with per-call settings) is E0643. A step of that loop is
 * an ask whose value is the reply's JSON text, the final answer checked
 * against T by the engine; T is left in `extra` for the emitter. */
static Type *ask_expr_plain(Checker *c, Node *n);
static Type *ask_expr(Checker *c, Node *n) {
  Node *rn = n->u.ask.role;
  if (n->u.ask.lowered) {
    static_role(c, rn); /* the ask as written names its role (graph, cost) */
    return ck_expr(c, n->u.ask.lowered, NULL);
  }
  Symbol *rs = rn ? static_role(c, rn) : NULL;
  if (n->u.ask.turns) {
    Type *t = ask_expr_plain(c, n);
    n->extra = n->u.ask.type ? t : NULL;
    ck_expect(c, n->u.ask.turns, type_prim(TY_STRING));
    return type_prim(TY_STRING);
  }
  if (rs && ck_role_has_tools(rs)) {
    diag_add(c->dl, D_E0643, rn->span,
             n->u.ask.with ? "give the role itself the settings: a loop's steps share them"
                           : "ask it by its own name in the file that declares it",
             "role `%s` has tools: this ask cannot run its tool-calling loop", rs->name);
    ask_expr_plain(c, n);
    return err();
  }
  return ask_expr_plain(c, n);
}

static Type *ask_expr_plain(Checker *c, Node *n) {
  Node *rn = n->u.ask.role;
  if (rn && !static_role(c, rn)) {
    Type *rt = ck_expr(c, rn, NULL);
    if (!ck_is_error(rt) && rt->kind != TY_ROLE)
      diag_add(c->dl, D_E0608, rn->span,
               "ask needs a role: a role item's name, or a value of type `role`",
               "ask needs a role, got %s", ck_type_str(c, rt));
  }
  if (n->u.ask.with && n->u.ask.with->kind == N_RECORD) {
    NodeList *fs = &n->u.ask.with->u.list.items;
    for (uint32_t i = 0; i < fs->n; i++) {
      Node *f = fs->items[i];
      if (!f || f->kind != N_FIELD_INIT) continue;
      const char *name = f->u.init.name;
      bool twice = false;
      for (uint32_t k = 0; k < i && !twice; k++) {
        Node *o = fs->items[k];
        twice = o && o->kind == N_FIELD_INIT && strcmp(o->u.init.name, name) == 0;
      }
      size_t j = 0;
      while (j < NASK_SETTINGS && strcmp(ask_settings[j].name, name) != 0) j++;
      if (twice) {
        diag_add(c->dl, D_E0607, f->span, "remove one of them", "setting `%s` is given twice", name);
        ck_expr(c, f->u.init.value, NULL);
      } else if (j == NASK_SETTINGS) {
        bool role_only = strcmp(name, "model") == 0 || strcmp(name, "system") == 0 ||
                         strcmp(name, "timeout") == 0 || strcmp(name, "retries") == 0 ||
                         strcmp(name, "repairs") == 0;
        diag_add(c->dl, D_E0630, f->span,
                 role_only ? "declare a role with it: `role name { ... }`, and ask that role"
                           : "an ask takes temperature, top_p, max_tokens and stop",
                 role_only ? "`%.40s` is fixed by the role, not set per call: the checker and the "
                             "operator's model rules see a role's model, prompt and limits only "
                             "where the role is declared"
                           : "an ask has no setting `%.40s`",
                 name);
        ck_expr(c, f->u.init.value, NULL);
      } else {
        ask_setting(c, f, ask_settings[j].kind, name, ask_settings[j].range, ask_settings[j].min,
                    ask_settings[j].max);
      }
    }
  }
  Node *p = n->u.ask.prompt;
  Type *pt = ck_expr(c, p, NULL);
  if (!ck_is_error(pt) && !is_stringish(pt)) {
    diag_add(c->dl, D_E0609, p->span,
             "a prompt is text: interpolate the value, \"{x}\", or convert it with str(x)",
             "the prompt must be a string, got %s", ck_type_str(c, pt));
  }
  Type *t = type_prim(TY_STRING);
  if (n->u.ask.type) {
    t = ck_type_of_syntax(c, n->u.ask.type);
    if (ck_is_error(t)) return err();
    if (!type_is_jsonable(t)) {
      diag_add(c->dl, D_E0502, n->u.ask.type->span,
               "a model replies with JSON: ask for data (no functions or roles)",
               "a reply of type %s cannot be expressed as JSON", ck_type_str(c, t));
      return err();
    }
  }
  return t; /* known even when the role or the prompt is wrong */
}

/* ---- generate ------------------------------------------------------------- */
/* Rule: generate fn(x1: T1, ...) [-> R] by ROLE P has type fn(T1, ...) -> R
 * (R void when omitted). ROLE is a role item (`r`, `lib.r`), not a role
 * value: the planner's model and limits must be seen where it is declared
 * (E0660). P is a string (E0609). Parameters are named once (E0202), typed
 * (E0307), without defaults (E0662); every parameter and the result travel
 * as a module type descriptor, so each can be expressed as JSON: no
 * functions, roles or tasks (E0661). The type is known even when the
 * role or the prompt is wrong. */
static Type *fn_type(Checker *c, Type **params, uint32_t n, Type *ret);
static Type *generate_expr(Checker *c, Node *n) {
  Node *rn = n->u.gen.role;
  if (rn && !static_role(c, rn)) {
    Type *rt = ck_expr(c, rn, NULL);
    const char *help = "name a role item after `by` (`planner` or `lib.planner`): the "
                       "planner's model and limits are read where the role is declared";
    if (!ck_is_error(rt) && rt->kind == TY_ROLE)
      diag_add(c->dl, D_E0660, rn->span, help,
               "generate needs a role item; a role value is not supported here");
    else if (!ck_is_error(rt))
      diag_add(c->dl, D_E0660, rn->span, help, "generate needs a role item, got %s",
               ck_type_str(c, rt));
  }
  Node *p = n->u.gen.prompt;
  Type *pt = p ? ck_expr(c, p, NULL) : err();
  if (!ck_is_error(pt) && !is_stringish(pt))
    diag_add(c->dl, D_E0609, p->span,
             "a prompt is text: interpolate the value, \"{x}\", or convert it with str(x)",
             "the prompt must be a string, got %s", ck_type_str(c, pt));
  NodeList *pl = &n->u.gen.params;
  Type **params = arena_alloc(c->a, (pl->n ? pl->n : 1) * sizeof *params);
  bool failed = false;
  for (uint32_t i = 0; i < pl->n; i++) {
    Node *pn = pl->items[i];
    params[i] = err();
    if (!pn || pn->kind != N_PARAM) { failed = true; continue; }
    if (!pn->u.param.type) {
      diag_add(c->dl, D_E0307, pn->span, "write its type: name: int",
               "parameter `%s` of a generated function needs a type annotation",
               pn->u.param.name);
      failed = true;
    } else {
      Type *t = ck_type_of_syntax(c, pn->u.param.type);
      if (ck_is_error(t)) failed = true;
      else if (!type_is_jsonable(t)) {
        diag_add(c->dl, D_E0661, pn->u.param.type->span,
                 "a generated function is compiled apart from this program: pass it data "
                 "(no functions, roles or running tasks)",
                 "parameter `%s` has type %s, which a generated function's signature cannot "
                 "carry", pn->u.param.name, ck_type_str(c, t));
        failed = true;
      } else
        params[i] = t;
    }
    pn->type = params[i];
    if (pn->u.param.def)
      diag_add(c->dl, D_E0662, pn->u.param.def->span,
               "drop the default: the caller passes every argument",
               "parameter `%s` of a generated function cannot have a default", pn->u.param.name);
    for (uint32_t k = 0; k < i; k++) {
      Node *o = pl->items[k];
      if (o && o->kind == N_PARAM && strcmp(o->u.param.name, pn->u.param.name) == 0)
        diag_add(c->dl, D_E0202, pn->span, NULL, "parameter `%s` is declared twice",
                 pn->u.param.name);
    }
  }
  Type *ret = type_prim(TY_VOID);
  if (n->u.gen.ret) {
    ret = ck_type_of_syntax(c, n->u.gen.ret);
    if (ck_is_error(ret)) failed = true;
    else if (!type_is_jsonable(ret)) {
      diag_add(c->dl, D_E0661, n->u.gen.ret->span,
               "a generated function is compiled apart from this program: return data "
               "(no functions, roles or running tasks)",
               "a generated function cannot return %s", ck_type_str(c, ret));
      failed = true;
    }
  }
  if (failed) return err();
  /* the emitter's TD_RECORD of the parameters: field i is parameter i */
  Type *rec = type_new(c->a, TY_RECORD);
  rec->fields = arena_alloc(c->a, (pl->n ? pl->n : 1) * sizeof *rec->fields);
  rec->nfields = pl->n;
  for (uint32_t i = 0; i < pl->n; i++) {
    rec->fields[i].name = pl->items[i]->u.param.name;
    rec->fields[i].type = params[i];
    rec->fields[i].doc = NULL;
  }
  n->extra = rec;
  return fn_type(c, params, pl->n, ret);
}

/* ---- verify and tournament ------------------------------------------------ */
/* The role a reference names, resolved without diagnostics (the ask built
 * from the same reference reports a bad one); sets rn->sym on success. */
static Symbol *quiet_role(Checker *c, Node *rn) { return static_role(c, rn); }

/* A verifier, for verify_prompt's independence check: a role item, or a
 * role value (a parameter, a local); the ask built from the same reference
 * reports anything else. */
static Type *role_index_expr(Checker *c, Node *n) {
  Node *rn = n->u.role_index.role;
  if (rn && !quiet_role(c, rn) && rn->kind == N_NAME) {
    Symbol *s = ck_lookup(c, rn->u.name.id, rn->span);
    if (s && s->kind == SYM_LOCAL && s->type && s->type->kind == TY_ROLE) ck_expr(c, rn, NULL);
  }
  return type_prim(TY_ROLE);
}

/* The role that produced e, when it can be seen: `ask R …` itself, or a
 * `let` bound directly to one. */
static Symbol *producer_role(Node *e) {
  if (e && e->kind == N_NAME && e->sym && e->sym->kind == SYM_LOCAL && e->sym->decl &&
      e->sym->decl->kind == N_LET && !e->sym->is_var)
    e = e->sym->decl->u.decl.value;
  if (e && e->kind == N_ASK && e->u.ask.role && e->u.ask.role->sym &&
      e->u.ask.role->sym->kind == SYM_ROLE)
    return e->u.ask.role->sym;
  return NULL;
}

/* verify: the lowered form gives the type (verdict); on top of it, the
 * claim must cross the JSON boundary and no verifier may be the role that
 * produced the claim (E0618; the runtime checks provenance too). */
static Type *verify_expr(Checker *c, Node *n) {
  Type *t = ck_expr(c, n->u.verify.lowered, NULL);
  Node *claim = n->u.verify.claim;
  Type *ct = claim ? claim->type : NULL;
  if (ct && !ck_is_error(ct) && !type_is_jsonable(ct))
    diag_add(c->dl, D_E0502, claim->span, "a claim is sent to the verifier as JSON: verify data",
             "a claim of type %s cannot be expressed as JSON", ck_type_str(c, ct));
  Symbol *prod = producer_role(claim);
  for (uint32_t i = 0; i < n->u.verify.roles.n; i++) {
    Node *rn = n->u.verify.roles.items[i];
    Symbol *r = quiet_role(c, rn);
    if (prod && r == prod)
      diag_add(c->dl, D_E0618, rn->span,
               "verify with a different role: a model is a poor judge of its own output",
               "`%s` produced this claim, so it cannot verify it", r->name);
  }
  return t;
}

static Type *tournament_expr(Checker *c, Node *n) {
  Type *t = ck_expr(c, n->u.tourn.lowered, NULL);
  Node *xs = n->u.tourn.items;
  Type *xt = xs ? ck_strip(xs->type) : NULL;
  if (xt && xt->kind == TY_LIST && !ck_is_error(xt) && !type_is_jsonable(xt))
    diag_add(c->dl, D_E0502, xs->span, "candidates are shown to the judge as JSON: rank data",
             "candidates of type %s cannot be expressed as JSON", ck_type_str(c, xt->elem));
  if (n->u.tourn.judge) quiet_role(c, n->u.tourn.judge);
  return t;
}

/* ---- literals ------------------------------------------------------------- */
static bool wants_literal(const Type *want) {
  want = want && want->kind == TY_OPTIONAL ? want->elem : want;
  return want && want->kind == TY_UNION;
}

static Type *list_expr(Checker *c, Node *n, Type *want) {
  NodeList *items = &n->u.list.items;
  Type *w = ck_strip(want);
  Type *hint = NULL;
  if (w && w->kind == TY_LIST) hint = w->elem;
  else if (w && w->kind == TY_JSON) hint = w;
  if (hint && ck_is_error(hint)) hint = NULL;
  if (hint) {
    bool bad = false;
    for (uint32_t i = 0; i < items->n; i++) {
      Type *t = ck_expect(c, items->items[i], hint);
      if (ck_is_error(t) || !type_assignable(t, hint)) bad = true;
    }
    (void)bad;
    return hint->kind == TY_JSON && w->kind == TY_JSON ? ck_list(c, TY_LIST, hint)
                                                       : ck_list(c, TY_LIST, hint);
  }
  if (!items->n) {
    if (want && ck_is_error(want)) return err();
    diag_add(c->dl, D_E0305, n->span, "annotate the binding: let xs: list[string] = []",
             "cannot infer the element type of an empty list");
    return err();
  }
  Type *elem = NULL;
  bool failed = false;
  for (uint32_t i = 0; i < items->n; i++) {
    Node *it = items->items[i];
    Type *t = ck_expr(c, it, elem);
    if (failed) continue;
    if (ck_is_error(t)) { failed = true; continue; }
    Type *j = ck_join(c, elem, t);
    if (!j) {
      diag_add(c->dl, D_E0301, it->span, "all elements of a list have one type",
               "type mismatch: list element has type %s, but earlier elements are %s",
               ck_type_str(c, t), ck_type_str(c, elem));
      failed = true;
      continue;
    }
    elem = j;
  }
  if (failed) return err();
  if (elem->kind == TY_UNION) elem = type_prim(TY_STRING);
  if (elem->kind == TY_NEVER) elem = type_prim(TY_NEVER);
  return ck_list(c, TY_LIST, elem);
}

static Type *map_expr(Checker *c, Node *n, Type *want) {
  NodeList *items = &n->u.list.items;
  Type *w = ck_strip(want);
  Type *hint = NULL;
  if (w && w->kind == TY_MAP) hint = w->elem;
  else if (w && w->kind == TY_JSON) hint = w;
  if (hint && ck_is_error(hint)) hint = NULL;
  if (!hint && !items->n) {
    if (want && ck_is_error(want)) return err();
    diag_add(c->dl, D_E0305, n->span, "annotate the binding: let m: map[int] = {:}",
             "cannot infer the value type of an empty map");
    return err();
  }
  Type *elem = hint;
  bool failed = false;
  for (uint32_t i = 0; i < items->n; i++) {
    Node *e = items->items[i];
    if (!e || e->kind != N_MAP_ENTRY) continue;
    ck_expect(c, e->u.init.key, type_prim(TY_STRING));
    if (hint) {
      ck_expect(c, e->u.init.value, hint);
      continue;
    }
    Type *t = ck_expr(c, e->u.init.value, elem);
    if (failed) continue;
    if (ck_is_error(t)) { failed = true; continue; }
    Type *j = ck_join(c, elem, t);
    if (!j) {
      diag_add(c->dl, D_E0301, e->u.init.value->span, "all values of a map have one type",
               "type mismatch: map value has type %s, but earlier values are %s",
               ck_type_str(c, t), ck_type_str(c, elem));
      failed = true;
      continue;
    }
    elem = j;
  }
  if (failed) return err();
  if (elem->kind == TY_UNION && !hint) elem = type_prim(TY_STRING);
  return ck_list(c, TY_MAP, elem);
}

static const TyField *record_field(const Type *r, const char *name) {
  for (uint32_t i = 0; i < r->nfields; i++)
    if (strcmp(r->fields[i].name, name) == 0) return &r->fields[i];
  return NULL;
}

static void unknown_field(Checker *c, Span at, const Type *r, const char *name, const char *what) {
  const char **cands = arena_alloc(c->a, (r->nfields ? r->nfields : 1) * sizeof *cands);
  for (uint32_t i = 0; i < r->nfields; i++) cands[i] = r->fields[i].name;
  const char *near = ck_closest(name, cands, r->nfields);
  char *help = NULL;
  if (near) {
    size_t len = strlen(near) + 32;
    help = arena_alloc(c->a, len);
    snprintf(help, len, "did you mean `%s`?", near);
  }
  diag_add(c->dl, D_E0206, at, help, "%s `%s` in %s", what, name, ck_type_str(c, r));
}

static bool dup_init(Checker *c, NodeList *inits, uint32_t i) {
  Node *f = inits->items[i];
  for (uint32_t k = 0; k < i; k++) {
    Node *o = inits->items[k];
    if (o && o->kind == N_FIELD_INIT && strcmp(o->u.init.name, f->u.init.name) == 0) {
      diag_add(c->dl, D_E0310, f->span, NULL, "field `%s` is given twice", f->u.init.name);
      return true;
    }
  }
  return false;
}

/* Record literal: against an expected record type it must give every
 * non-optional field and no unknown one; otherwise it has the record type
 * of its own fields. */
static Type *record_expr(Checker *c, Node *n, Type *want) {
  NodeList *inits = &n->u.list.items;
  Type *w = ck_strip(want);
  if (w && w->kind == TY_RECORD) {
    for (uint32_t i = 0; i < inits->n; i++) {
      Node *f = inits->items[i];
      if (!f || f->kind != N_FIELD_INIT) continue;
      if (dup_init(c, inits, i)) continue;
      const TyField *tf = record_field(w, f->u.init.name);
      if (!tf) {
        ck_expr(c, f->u.init.value, NULL);
        unknown_field(c, f->span, w, f->u.init.name, "unknown field");
        continue;
      }
      ck_expect(c, f->u.init.value, tf->type);
    }
    Buf missing;
    buf_init(&missing);
    uint32_t nmissing = 0;
    for (uint32_t k = 0; k < w->nfields; k++) {
      bool given = false;
      for (uint32_t i = 0; i < inits->n; i++) {
        Node *f = inits->items[i];
        if (f && f->kind == N_FIELD_INIT && strcmp(f->u.init.name, w->fields[k].name) == 0)
          given = true;
      }
      if (given || w->fields[k].type->kind == TY_OPTIONAL) continue;
      buf_printf(&missing, "%s`%s`", nmissing ? ", " : "", w->fields[k].name);
      nmissing++;
    }
    if (nmissing)
      diag_add(c->dl, D_E0306, n->span, "every field that is not optional (T?) must be given",
               "missing field%s %s in record of type %s", nmissing > 1 ? "s" : "", missing.data,
               ck_type_str(c, w));
    buf_free(&missing);
    return w;
  }
  Type *r = type_new(c->a, TY_RECORD);
  r->fields = arena_alloc(c->a, (inits->n ? inits->n : 1) * sizeof *r->fields);
  bool failed = false;
  for (uint32_t i = 0; i < inits->n; i++) {
    Node *f = inits->items[i];
    if (!f || f->kind != N_FIELD_INIT) continue;
    if (dup_init(c, inits, i)) { failed = true; continue; }
    Type *hint = w && w->kind == TY_JSON ? w : NULL;
    Type *t = ck_expr(c, f->u.init.value, hint);
    if (ck_is_error(t)) { failed = true; continue; }
    if (t->kind == TY_UNION && !t->name) t = type_prim(TY_STRING);
    if (t->kind == TY_NONE && !hint) {
      diag_add(c->dl, D_E0305, f->u.init.value->span,
               "give the record an expected type, e.g. let r: { a: int? } = { a: none }",
               "cannot infer the type of field `%s` from none", f->u.init.name);
      failed = true;
      continue;
    }
    if (t->kind == TY_VOID) {
      ck_mismatch(c, f->u.init.value->span, t, type_prim(TY_JSON));
      failed = true;
      continue;
    }
    r->fields[r->nfields++] = (TyField){f->u.init.name, t, NULL};
  }
  return failed ? err() : r;
}

/* ---- tagged unions ----------------------------------------------------------- */
static bool is_var(const Type *t) { return t->kind == TY_VAR; }

/* The variant names of union u, for messages: `A, B, C`. */
static char *variant_list(Checker *c, const Type *u) {
  Buf b;
  buf_init(&b);
  for (uint32_t i = 0; i < u->nfields; i++) buf_printf(&b, "%s%s", i ? ", " : "", u->fields[i].name);
  char *s = arena_strndup(c->a, b.data ? b.data : "", b.len);
  buf_free(&b);
  return s;
}

/* Rule: `Name { field: e, … }` (or a bare `Name`) builds variant Name of
 * the union that declares it, or of the expected union when that has a
 * variant so named. The fields are checked like a record literal's
 * against the variant's record; `type` is not written (the tag is the
 * name). A generic union takes its type arguments from the expected type,
 * or else from the fields (E0312 when some stay unknown). The node's
 * `extra` is the variant's record, which the emitter builds. */
static Type *variant_expr(Checker *c, Node *n, Type *want) {
  const char *name = n->u.variant.name;
  NodeList *inits = &n->u.variant.fields;
  Type *w = ck_strip(want);
  Type *u = w && w->kind == TY_TAGGED && record_field(w, name) ? w : NULL;
  VariantRef *vr = u ? NULL : ck_variant(c, name);
  Type *g = u ? u : vr ? ck_typesym_type(c, vr->ts) : NULL;
  if (!g || ck_is_error(g) || g->kind != TY_TAGGED || !record_field(g, name)) {
    if (!g && !ck_broken_name(c, name))
      diag_add(c->dl, D_E0322, n->u.variant.name_span,
               "declare it in a union: `type T = %s { … } | …`",
               "unknown variant `%s`", name);
    for (uint32_t i = 0; i < inits->n; i++)
      if (inits->items[i] && inits->items[i]->kind == N_FIELD_INIT) ck_expr(c, inits->items[i]->u.init.value, NULL);
    return err();
  }
  Type *rec = record_field(g, name)->type;
  bool generic = !u && vr->ts->ntparams > 0;
  Sig sig;
  memset(&sig, 0, sizeof sig);
  Type **binds = NULL, **got = arena_alloc(c->a, (inits->n ? inits->n : 1) * sizeof *got);
  if (generic) {
    sig.tvars = vr->ts->tparams;
    sig.ntvars = vr->ts->ntparams;
    binds = arena_alloc(c->a, sig.ntvars * sizeof *binds);
  }
  bool failed = false;
  for (uint32_t i = 0; i < inits->n; i++) {
    Node *f = inits->items[i];
    got[i] = NULL;
    if (!f || f->kind != N_FIELD_INIT) continue;
    if (dup_init(c, inits, i)) { failed = true; continue; }
    const TyField *tf = strcmp(f->u.init.name, "type") == 0 ? NULL : record_field(rec, f->u.init.name);
    if (!tf) {
      ck_expr(c, f->u.init.value, NULL);
      if (strcmp(f->u.init.name, "type") == 0)
        diag_add(c->dl, D_E0321, f->span, "the variant's name is its tag: remove this field",
                 "the tag field `type` of variant `%s` is not written", name);
      else
        unknown_field(c, f->span, rec, f->u.init.name, "unknown field");
      failed = true;
      continue;
    }
    if (generic && type_any(tf->type, is_var, CHECK_MAX_TYPE_DEPTH)) {
      got[i] = ck_expr(c, f->u.init.value, NULL);
      if (ck_is_error(got[i])) { failed = true; got[i] = NULL; continue; }
      if (!ck_unify(c, tf->type, got[i], &sig, binds)) {
        ck_mismatch(c, f->u.init.value->span, got[i], tf->type);
        failed = true;
        got[i] = NULL;
      }
    } else {
      ck_expect(c, f->u.init.value, tf->type);
    }
  }
  Buf missing;
  buf_init(&missing);
  uint32_t nmissing = 0;
  for (uint32_t k = 1; k < rec->nfields; k++) {
    bool given = false;
    for (uint32_t i = 0; i < inits->n; i++) {
      Node *f = inits->items[i];
      if (f && f->kind == N_FIELD_INIT && strcmp(f->u.init.name, rec->fields[k].name) == 0) given = true;
    }
    if (given || rec->fields[k].type->kind == TY_OPTIONAL) continue;
    buf_printf(&missing, "%s`%s`", nmissing ? ", " : "", rec->fields[k].name);
    nmissing++;
  }
  if (nmissing) {
    diag_add(c->dl, D_E0306, n->span, "every field that is not optional (T?) must be given",
             "missing field%s %s in variant `%s`", nmissing > 1 ? "s" : "", missing.data, name);
    failed = true;
  }
  buf_free(&missing);
  if (failed) return err();
  if (generic) {
    for (uint32_t k = 0; k < sig.ntvars; k++)
      if (!binds[k]) {
        diag_add(c->dl, D_E0312, n->span, "give the union's type where the value goes: `let r: T[int] = …`",
                 "cannot infer type parameter `%s` of `%s` from variant `%s`", sig.tvars[k]->name,
                 vr->ts->sym.name, name);
        return err();
      }
    g = ck_subst(c, g, &sig, binds);
    rec = record_field(g, name)->type;
    for (uint32_t i = 0; i < inits->n; i++) {
      if (!got[i]) continue;
      Node *f = inits->items[i];
      const TyField *tf = record_field(rec, f->u.init.name);
      if (tf && !type_assignable(got[i], tf->type)) {
        ck_mismatch(c, f->u.init.value->span, got[i], tf->type);
        return err();
      }
    }
  }
  n->extra = rec;
  return g;
}

/* A bare name that no binding or function has, when a variant has it:
 * `Giveup` is `Giveup {}` (the node becomes an N_VARIANT). */
static bool name_is_variant(Checker *c, Node *n, Type *want) {
  const char *id = n->u.name.id;
  if (n->u.name.lowered) return false;
  Type *w = ck_strip(want);
  if (!ck_variant(c, id) && !(w && w->kind == TY_TAGGED && record_field(w, id))) return false;
  Span sp = n->span;
  n->kind = N_VARIANT;
  memset(&n->u, 0, sizeof n->u);
  n->u.variant.name = id;
  n->u.variant.name_span = sp;
  return true;
}

static Type *with_expr(Checker *c, Node *n, Type *want) {
  Type *t = ck_expr(c, n->u.with.object, want);
  NodeList *inits = &n->u.with.fields;
  if (ck_is_error(t) || t->kind != TY_RECORD) {
    if (!ck_is_error(t)) {
      if (t->kind == TY_OPTIONAL && t->elem->kind == TY_RECORD)
        ck_mismatch(c, n->u.with.object->span, t, t->elem);
      else
        diag_add(c->dl, D_E0301, n->u.with.object->span, NULL,
                 "type mismatch: `with` needs a record, got %s", ck_type_str(c, t));
    }
    for (uint32_t i = 0; i < inits->n; i++)
      if (inits->items[i] && inits->items[i]->kind == N_FIELD_INIT)
        ck_expr(c, inits->items[i]->u.init.value, NULL);
    return err();
  }
  for (uint32_t i = 0; i < inits->n; i++) {
    Node *f = inits->items[i];
    if (!f || f->kind != N_FIELD_INIT) continue;
    if (dup_init(c, inits, i)) continue;
    const TyField *tf = record_field(t, f->u.init.name);
    if (!tf) {
      ck_expr(c, f->u.init.value, NULL);
      unknown_field(c, f->span, t, f->u.init.name, "unknown field");
      continue;
    }
    ck_expect(c, f->u.init.value, tf->type);
  }
  return t;
}

/* ---- operators ------------------------------------------------------------ */
static Type *op_error(Checker *c, Node *n, Type *a, Type *b) {
  if (a && b && a->kind == TY_OPTIONAL && b->kind != TY_OPTIONAL) {
    ck_mismatch(c, n->u.binary.lhs->span, a, a->elem);
    return err();
  }
  if (b && b->kind == TY_OPTIONAL && (!a || a->kind != TY_OPTIONAL)) {
    ck_mismatch(c, n->u.binary.rhs->span, b, b->elem);
    return err();
  }
  if (a && b && is_num(a) && is_num(b) && a->kind != b->kind) {
    diag_add(c->dl, D_E0311, n->span, "use to_float(i) or to_int(f)",
             "operator `%s` mixes %s and %s", ast_op_text(n->u.binary.op), ck_type_str(c, a),
             ck_type_str(c, b));
    return err();
  }
  if (b)
    diag_add(c->dl, D_E0304, n->span, NULL, "operator `%s` cannot be applied to %s and %s",
             ast_op_text(n->u.binary.op), ck_type_str(c, a), ck_type_str(c, b));
  else
    diag_add(c->dl, D_E0304, n->span, NULL, "operator `%s` cannot be applied to %s",
             ast_op_text(n->u.unary.op), ck_type_str(c, a));
  return err();
}

static Type *unary_expr(Checker *c, Node *n, Type *want) {
  if (n->u.unary.op == AOP_NOT) {
    Type *t = ck_expr(c, n->u.unary.operand, type_prim(TY_BOOL));
    if (ck_is_error(t)) return err();
    if (t->kind != TY_BOOL) return op_error(c, n, t, NULL);
    return t;
  }
  /* the operand of -5 is 5, which a range of the whole need not hold */
  Type *w = ck_strip(want);
  Type *t = ck_expr(c, n->u.unary.operand, w && w->range ? ck_unconstrained(c, w) : want);
  if (ck_is_error(t)) return err();
  if (t->kind == TY_INT || t->kind == TY_FLOAT || t->kind == TY_DURATION) return t;
  if (t->kind == TY_OPTIONAL) {
    ck_mismatch(c, n->u.unary.operand->span, t, t->elem);
    return err();
  }
  return op_error(c, n, t, NULL);
}

/* Two union types with no member in common can never compare equal. */
static bool disjoint_unions(const Type *a, const Type *b) {
  a = a->kind == TY_OPTIONAL ? a->elem : a;
  b = b->kind == TY_OPTIONAL ? b->elem : b;
  if (a->kind != TY_UNION || b->kind != TY_UNION) return false;
  for (uint32_t i = 0; i < a->nlits; i++)
    for (uint32_t k = 0; k < b->nlits; k++)
      if (strcmp(a->lits[i], b->lits[k]) == 0) return false;
  return true;
}

static Type *binary_expr(Checker *c, Node *n, Type *want) {
  Op op = n->u.binary.op;
  Node *ln = n->u.binary.lhs, *rn = n->u.binary.rhs;
  if (op == AOP_AND || op == AOP_OR) {
    Type *a = ck_expr(c, ln, type_prim(TY_BOOL));
    c->cond_depth++; /* the right side may not run */
    Type *b = ck_expr(c, rn, type_prim(TY_BOOL));
    c->cond_depth--;
    if (ck_is_error(a) || ck_is_error(b)) return err();
    if (a->kind != TY_BOOL || b->kind != TY_BOOL) return op_error(c, n, a, b);
    return type_prim(TY_BOOL);
  }
  if (op == AOP_EQ || op == AOP_NE) {
    Type *a = ck_expr(c, ln, NULL);
    /* `s == 11` of a Score is legal (and false): the range is no hint */
    Type *b = ck_expr(c, rn, ck_is_error(a) ? NULL : ck_unconstrained(c, a));
    if (ck_is_error(a) || ck_is_error(b)) return err();
    if (is_num(a) && is_num(b) && a->kind != b->kind) return op_error(c, n, a, b);
    if (a->kind == TY_VOID || b->kind == TY_VOID || !ck_join(c, a, b))
      return op_error(c, n, a, b);
    if (disjoint_unions(a, b)) {
      diag_add(c->dl, D_E0304, n->span, "check the spelling of the literal",
               "%s and %s have no value in common, so this comparison is always %s",
               ck_type_str(c, a), ck_type_str(c, b), op == AOP_EQ ? "false" : "true");
      return err();
    }
    return type_prim(TY_BOOL);
  }
  Type *hint = NULL;
  if (op == AOP_ADD && want && (ck_strip(want)->kind == TY_LIST)) hint = ck_unconstrained(c, ck_strip(want));
  Type *a = ck_expr(c, ln, hint);
  Type *b = ck_expr(c, rn, ck_is_error(a) || a->kind == TY_UNION ? NULL : ck_unconstrained(c, a));
  if (ck_is_error(a) || ck_is_error(b)) return err();
  switch (op) {
  case AOP_LT: case AOP_LE: case AOP_GT: case AOP_GE:
    if ((a->kind == b->kind && (is_num(a) || a->kind == TY_DURATION)) ||
        (is_stringish(a) && is_stringish(b)))
      return type_prim(TY_BOOL);
    return op_error(c, n, a, b);
  case AOP_ADD:
    if (a->kind == b->kind && (is_num(a) || a->kind == TY_DURATION)) return a;
    if (is_stringish(a) && is_stringish(b)) return type_prim(TY_STRING);
    if (a->kind == TY_LIST && b->kind == TY_LIST) {
      Type *j = ck_join(c, a, b);
      if (j) return j;
    }
    return op_error(c, n, a, b);
  case AOP_SUB:
    if (a->kind == b->kind && (is_num(a) || a->kind == TY_DURATION)) return a;
    return op_error(c, n, a, b);
  case AOP_MUL: case AOP_DIV:
    if (a->kind == b->kind && is_num(a)) return a;
    if (a->kind == TY_DURATION && b->kind == TY_INT) return a;
    if (op == AOP_MUL && a->kind == TY_INT && b->kind == TY_DURATION) return b;
    return op_error(c, n, a, b);
  case AOP_MOD:
    if (a->kind == b->kind && is_num(a)) return a;
    return op_error(c, n, a, b);
  default:
    return op_error(c, n, a, b);
  }
}

/* ---- access ---------------------------------------------------------------- */
static Type *field_expr(Checker *c, Node *n) {
  Node *obj = n->u.field.object;
  const char *fname = n->u.field.name;
  if (obj && obj->kind == N_NAME) {
    Symbol *s = ck_lookup(c, obj->u.name.id, obj->span);
    if (s && s->kind == SYM_MODULE) {
      s->used = true;
      obj->sym = s;
      obj->type = type_prim(TY_VOID);
      Symbol *m = ck_module_member(c, s->module, fname);
      if (!m) {
        diag_add(c->dl, D_E0206, n->u.field.name_span, NULL, "module `%s` has no item `%s`",
                 s->name, fname);
        return err();
      }
      n->sym = m;
      return symbol_value(c, m, fname, n->span);
    }
  }
  Type *t = ck_expr(c, obj, NULL);
  if (ck_is_error(t)) return err();
  if (t->kind == TY_JSON) return t;
  if (t->kind == TY_RECORD) {
    const TyField *f = record_field(t, fname);
    if (f) return f->type;
    unknown_field(c, n->u.field.name_span, t, fname, "no field");
    return err();
  }
  if (t->kind == TY_TAGGED) {
    /* the tag is common to every variant; other fields depend on it */
    if (strcmp(fname, "type") == 0) {
      const char **tags = arena_alloc(c->a, (t->nfields ? t->nfields : 1) * sizeof *tags);
      for (uint32_t i = 0; i < t->nfields; i++) tags[i] = t->fields[i].name;
      return ck_union(c, tags, t->nfields);
    }
    diag_add(c->dl, D_E0323, n->u.field.name_span,
             "match on the value to reach a variant's fields: `match x { Name { field } => … }`",
             "%s is a tagged union: field `%s` depends on the variant", ck_type_str(c, t), fname);
    return err();
  }
  if (t->kind == TY_OPTIONAL && (t->elem->kind == TY_RECORD || t->elem->kind == TY_JSON ||
                                 t->elem->kind == TY_TAGGED)) {
    ck_mismatch(c, obj->span, t, t->elem);
    return err();
  }
  diag_add(c->dl, D_E0206, n->u.field.name_span, NULL, "%s has no field `%s`",
           ck_type_str(c, t), fname);
  return err();
}

static Type *index_expr(Checker *c, Node *n) {
  Type *t = ck_expr(c, n->u.index.object, NULL);
  Node *ix = n->u.index.index;
  if (ck_is_error(t)) {
    ck_expr(c, ix, NULL);
    return err();
  }
  switch (t->kind) {
  case TY_LIST:
    ck_expect(c, ix, type_prim(TY_INT));
    return t->elem;
  case TY_MAP:
    ck_expect(c, ix, type_prim(TY_STRING));
    return t->elem;
  case TY_JSON: {
    Type *it = ck_expr(c, ix, NULL);
    if (!ck_is_error(it) && it->kind != TY_INT && !is_stringish(it))
      diag_add(c->dl, D_E0301, ix->span, NULL,
               "type mismatch: a json value is indexed by int or string, got %s",
               ck_type_str(c, it));
    return t;
  }
  case TY_OPTIONAL:
    ck_expr(c, ix, NULL);
    ck_mismatch(c, n->u.index.object->span, t, t->elem);
    return err();
  default:
    ck_expr(c, ix, NULL);
    diag_add(c->dl, D_E0309, n->u.index.object->span,
             "lists are indexed by int, maps by string",
             "a value of type %s cannot be indexed", ck_type_str(c, t));
    return err();
  }
}

/* ---- control flow --------------------------------------------------------- */
/* Joins branch types; on failure reports at `at` (unless a wanted type
 * is known, in which case each branch was already checked against it). */
static Type *join_branches(Checker *c, Type *acc, Type *t, Span at, Type *want, bool *failed) {
  if (*failed) return acc;
  if (ck_is_error(t)) { *failed = true; return err(); }
  if (want && !has_hole(want)) {
    if (!type_assignable(t, want)) {
      ck_mismatch(c, at, t, want);
      *failed = true;
      return err();
    }
  }
  Type *j = ck_join(c, acc, t);
  if (!j) {
    diag_add(c->dl, D_E0301, at, "every branch must produce the same type",
             "type mismatch: this branch has type %s, but the others have %s",
             ck_type_str(c, t), ck_type_str(c, acc));
    *failed = true;
    return err();
  }
  return j;
}

/* What a branch is checked against: the wanted type, or else, for a branch
 * that is an empty `[]` or `{:}`, the type the branches before it agree
 * on, so `if c { [x] } else { [] }` needs no annotation. */
static Type *branch_want(Node *body, Type *want, Type *acc) {
  if (want || !acc || ck_is_error(acc)) return want;
  Node *v = value_node(body);
  bool empty = v && (v->kind == N_LIST || v->kind == N_MAP) && v->u.list.items.n == 0;
  if (empty && (acc->kind == TY_LIST || acc->kind == TY_MAP)) return acc;
  return want;
}

static Type *cond_expr(Checker *c, Node *cond) {
  Type *t = ck_expr(c, cond, type_prim(TY_BOOL));
  if (ck_is_error(t) || t->kind == TY_BOOL || t->kind == TY_NEVER) return t;
  diag_add(c->dl, D_E0308, cond->span,
           t->kind == TY_OPTIONAL ? "compare it: x != none, or match on it" : "compare it to get a bool, e.g. n > 0",
           "condition must be bool, got %s", ck_type_str(c, t));
  return err();
}

static Type *if_expr(Checker *c, Node *n, Type *want) {
  cond_expr(c, n->u.if_.cond);
  c->cond_depth++;
  if (!n->u.if_.else_) {
    ck_expr(c, n->u.if_.then_, NULL);
    c->cond_depth--;
    return type_prim(TY_VOID);
  }
  bool failed = false;
  Type *a = ck_expr(c, n->u.if_.then_, want);
  Type *acc = join_branches(c, NULL, a, value_span(n->u.if_.then_), want, &failed);
  Type *b = ck_expr(c, n->u.if_.else_, branch_want(n->u.if_.else_, want, acc));
  acc = join_branches(c, acc, b, value_span(n->u.if_.else_), want, &failed);
  c->cond_depth--;
  if (failed) return err();
  return acc;
}

static Type *stmt_block(Checker *c, Node *n, Type *want) {
  Scope sc;
  ck_scope_push(c, &sc);
  NodeList *stmts = &n->u.block.stmts;
  Type *result = type_prim(TY_VOID);
  for (uint32_t i = 0; i < stmts->n; i++) {
    Node *s = stmts->items[i];
    if (!s) continue;
    bool last = i + 1 == stmts->n;
    Type *t;
    if (last && n->u.block.has_value && s->kind == N_EXPR_STMT && s->u.stmt.expr) {
      t = ck_expr(c, s->u.stmt.expr, want);
      s->type = t;
      result = t;
    } else {
      t = stmt(c, s);
      if (last) result = t && t->kind == TY_NEVER ? t : type_prim(TY_VOID);
    }
  }
  ck_scope_pop(c);
  return result;
}

Type *ck_block(Checker *c, Node *n, Type *want) { return ck_expr(c, n, want); }

/* ---- match ---------------------------------------------------------------- */
typedef struct Coverage {
  bool all;        /* a `_` arm, or a binding on a non-optional subject */
  bool present;    /* a binding on an optional subject (all but none) */
  bool none, t, f;
  const char **lits; uint32_t nlits;
} Coverage;

static bool lit_seen(const Coverage *cv, const char *s) {
  for (uint32_t i = 0; i < cv->nlits; i++)
    if (strcmp(cv->lits[i], s) == 0) return true;
  return false;
}

/* Whether every value of `st` is matched already. */
static bool covered(const Coverage *cv, const Type *st) {
  if (cv->all) return true;
  bool opt = st->kind == TY_OPTIONAL;
  const Type *in = opt ? st->elem : st;
  if (opt && !cv->none) return false;
  if (cv->present) return true;
  if (in->kind == TY_NONE) return cv->none;
  if (in->kind == TY_BOOL) return cv->t && cv->f;
  if (in->kind == TY_UNION) {
    for (uint32_t i = 0; i < in->nlits; i++)
      if (!lit_seen(cv, in->lits[i])) return false;
    return true;
  }
  if (in->kind == TY_TAGGED) { /* variants seen are kept with the literals */
    for (uint32_t i = 0; i < in->nfields; i++)
      if (!lit_seen(cv, in->fields[i].name)) return false;
    return true;
  }
  return false;
}

static void report_missing(Checker *c, Node *n, const Coverage *cv, const Type *st) {
  Buf b;
  buf_init(&b);
  bool opt = st->kind == TY_OPTIONAL;
  const Type *in = opt ? st->elem : st;
  uint32_t k = 0;
  if (opt && !cv->none) { buf_puts(&b, "none"); k++; }
  if (!cv->present) {
    if (in->kind == TY_BOOL) {
      if (!cv->t) { buf_printf(&b, "%strue", k++ ? ", " : ""); }
      if (!cv->f) { buf_printf(&b, "%sfalse", k++ ? ", " : ""); }
    } else if (in->kind == TY_UNION) {
      for (uint32_t i = 0; i < in->nlits; i++)
        if (!lit_seen(cv, in->lits[i])) {
          if (k++) buf_puts(&b, ", ");
          buf_json_string(&b, in->lits[i], strlen(in->lits[i]));
        }
    } else if (in->kind == TY_TAGGED) {
      for (uint32_t i = 0; i < in->nfields; i++)
        if (!lit_seen(cv, in->fields[i].name)) buf_printf(&b, "%s%s", k++ ? ", " : "", in->fields[i].name);
    }
  }
  Buf help;
  buf_init(&help);
  if (k) {
    buf_printf(&help, "add arm%s for %.*s or a `_` arm", k > 1 ? "s" : "", (int)b.len, b.data);
    diag_add(c->dl, D_E0401, n->span, help.data,
             "match on %s is not exhaustive: %.*s not covered", ck_type_str(c, st), (int)b.len,
             b.data);
  } else {
    diag_add(c->dl, D_E0401, n->span, "add a `_` arm (or a binding: x => ...)",
             "match on %s is not exhaustive", ck_type_str(c, st));
  }
  buf_free(&b);
  buf_free(&help);
}

/* Declares the names a variant pattern binds, typed t (each field's type
 * when t is the variant's record, else t). */
static void bind_variant_fields(Checker *c, Node *p, const Type *rec, Type *t) {
  NodeList *fl = &p->u.variant.fields;
  for (uint32_t k = 0; k < fl->n; k++) {
    Node *f = fl->items[k];
    Node *b = f ? f->u.init.value : NULL;
    if (!b || b->kind != N_PAT_BIND) continue;
    const TyField *tf = rec ? record_field(rec, f->u.init.name) : NULL;
    ck_new_local(c, b, b->u.pat.name, tf ? tf->type : t, false);
    b->sym->used = true; /* like a binding arm, a field may be bound and not used */
  }
}

/* `Search { query, limit: n }`: the subject must be a tagged union with
 * that variant, each field one of the variant's. The variant counts toward
 * exhaustiveness like a literal of a literal union. */
static bool variant_pattern(Checker *c, Node *p, Type *in, Coverage *cv, bool *redundant) {
  const char *name = p->u.variant.name;
  if (in->kind != TY_TAGGED) {
    diag_add(c->dl, D_E0402, p->span, NULL, "a variant pattern needs a tagged union, got %s",
             ck_type_str(c, in));
    bind_variant_fields(c, p, NULL, err());
    return false;
  }
  const TyField *vf = record_field(in, name);
  if (!vf) {
    const char *list = variant_list(c, in);
    char *help = arena_alloc(c->a, strlen(list) + 32);
    sprintf(help, "its variants are %s", list);
    diag_add(c->dl, D_E0402, p->u.variant.name_span, help, "`%s` is not a variant of %s", name,
             ck_type_str(c, in));
    bind_variant_fields(c, p, NULL, err());
    return false;
  }
  bool ok = true;
  NodeList *fl = &p->u.variant.fields;
  for (uint32_t k = 0; k < fl->n; k++) {
    Node *f = fl->items[k];
    if (!f) { ok = false; continue; }
    for (uint32_t j = 0; j < k; j++)
      if (fl->items[j] && strcmp(fl->items[j]->u.init.name, f->u.init.name) == 0) {
        diag_add(c->dl, D_E0310, f->span, NULL, "field `%s` is matched twice", f->u.init.name);
        ok = false;
      }
    if (!record_field(vf->type, f->u.init.name)) {
      unknown_field(c, f->span, vf->type, f->u.init.name, "no field");
      ok = false;
    }
  }
  bind_variant_fields(c, p, vf->type, err());
  if (!ok) return false;
  if (lit_seen(cv, name) || cv->present || cv->all) *redundant = true;
  const char **l = arena_alloc(c->a, (cv->nlits + 1) * sizeof *l);
  if (cv->nlits) memcpy(l, cv->lits, cv->nlits * sizeof *l);
  l[cv->nlits++] = name;
  cv->lits = l;
  return true;
}

/* Checks one pattern against the subject type; returns false (after a
 * diagnostic) when it cannot match. */
static bool pattern(Checker *c, Node *p, Type *st, Coverage *cv, bool *redundant) {
  bool opt = st->kind == TY_OPTIONAL;
  Type *in = opt ? st->elem : st;
  bool anyish = st->kind == TY_JSON;
  switch (p->kind) {
  case N_PAT_WILD:
    cv->all = true;
    return true;
  case N_PAT_BIND: {
    const char *bn = p->u.pat.name;
    if (in->kind == TY_TAGGED && record_field(in, bn)) {
      /* a variant's bare name matches that variant */
      Span sp = p->span;
      p->kind = N_PAT_VARIANT;
      memset(&p->u, 0, sizeof p->u);
      p->u.variant.name = bn;
      p->u.variant.name_span = sp;
      return variant_pattern(c, p, in, cv, redundant);
    }
    VariantRef *vr = ck_variant(c, bn);
    if (vr) {
      diag_add(c->dl, D_E0402, p->span, "a variant's name in a pattern matches that variant; bind another name",
               "`%s` is a variant of `%s`, not of %s", bn, vr->ts->sym.name, ck_type_str(c, st));
      return false;
    }
    Type *bt = opt ? in : st;
    if (bt->kind == TY_NONE) bt = st;
    ck_new_local(c, p, p->u.pat.name, bt, false);
    p->sym->used = true; /* a binding arm may ignore its name */
    if (opt) cv->present = true;
    else cv->all = true;
    return true;
  }
  case N_PAT_LIT: {
    Node *lit = p->u.pat.lit;
    if (!lit) return false;
    switch (lit->kind) {
    case N_NONE:
      lit->type = type_prim(TY_NONE);
      if (!opt && !anyish && st->kind != TY_NONE) break;
      if (cv->none || cv->all) *redundant = true;
      cv->none = true;
      return true;
    case N_STRING:
      lit->type = type_prim(TY_STRING);
      if (in->kind == TY_UNION) {
        const char *s = lit->u.lit.str;
        bool member = false;
        for (uint32_t i = 0; i < in->nlits; i++)
          if (strcmp(in->lits[i], s) == 0) member = true;
        if (!member) {
          diag_add(c->dl, D_E0402, p->span, NULL, "\"%s\" is not one of %s", s,
                   ck_type_str(c, in));
          return false;
        }
        const char *one[1] = {s};
        lit->type = ck_union(c, one, 1);
        if (lit_seen(cv, s) || cv->present || cv->all) *redundant = true;
        const char **l = arena_alloc(c->a, (cv->nlits + 1) * sizeof *l);
        if (cv->nlits) memcpy(l, cv->lits, cv->nlits * sizeof *l);
        l[cv->nlits++] = s;
        cv->lits = l;
        return true;
      }
      if (in->kind == TY_STRING || anyish) return true;
      break;
    case N_BOOL:
      lit->type = type_prim(TY_BOOL);
      if (in->kind == TY_BOOL || anyish) {
        bool *slot = lit->u.lit.b ? &cv->t : &cv->f;
        if (*slot || cv->present || cv->all) *redundant = true;
        *slot = true;
        return true;
      }
      break;
    case N_INT:
      lit->type = type_prim(TY_INT);
      if (in->kind == TY_INT || anyish) return true;
      break;
    case N_FLOAT:
      lit->type = type_prim(TY_FLOAT);
      if (in->kind == TY_FLOAT || anyish) return true;
      break;
    case N_DURATION:
      lit->type = type_prim(TY_DURATION);
      if (in->kind == TY_DURATION) return true;
      break;
    default:
      break;
    }
    diag_add(c->dl, D_E0402, p->span, NULL, "a %s pattern cannot match a value of type %s",
             ck_type_str(c, lit->type ? lit->type : err()), ck_type_str(c, st));
    return false;
  }
  case N_PAT_OR: {
    /* Alternatives are literals (or none): a name would be bound by some
     * alternatives and not others, and `_` would make the rest pointless.
     * Each alternative adds to the coverage; one that earlier arms or
     * alternatives already cover is reported on its own, unless they all
     * are: then the caller reports the arm. */
    bool ok = true;
    uint32_t n = p->u.list.items.n, nred = 0;
    bool *red = arena_alloc(c->a, (n ? n : 1) * sizeof *red);
    for (uint32_t i = 0; i < n; i++) {
      red[i] = false;
      Node *alt = p->u.list.items.items[i];
      if (!alt) {
        ok = false;
        continue;
      }
      if (alt->kind == N_PAT_VARIANT ||
          (alt->kind == N_PAT_BIND && (ck_variant(c, alt->u.pat.name) ||
                                       (in->kind == TY_TAGGED && record_field(in, alt->u.pat.name))))) {
        diag_add(c->dl, D_E0403, alt->span, "give each variant an arm of its own (or use `_`)",
                 "an alternative of an or-pattern must be a literal or `none`, not a variant");
        ok = false;
        continue;
      }
      if (alt->kind != N_PAT_LIT) {
        diag_add(c->dl, D_E0403, alt->span,
                 alt->kind == N_PAT_BIND ? "a name binds the whole value: give it an arm of its own; the members of a literal union are strings (\"pending\" | \"running\")"
                                         : "use `_` as an arm of its own",
                 "an alternative of an or-pattern must be a literal or `none`, not %s",
                 alt->kind == N_PAT_BIND ? "a binding" : "`_`");
        ok = false;
        continue;
      }
      bool r = covered(cv, st);
      if (!pattern(c, alt, st, cv, &r)) ok = false;
      else if (r) {
        red[i] = true;
        nred++;
      }
    }
    if (!ok) return false;
    if (*redundant || nred == n) {
      *redundant = true;
      return true;
    }
    for (uint32_t i = 0; i < n; i++)
      if (red[i])
        diag_add(c->dl, D_W0002, p->u.list.items.items[i]->span, "remove this alternative",
                 "this alternative can never match: earlier patterns cover every value it could");
    return true;
  }
  case N_PAT_VARIANT:
    return variant_pattern(c, p, in, cv, redundant);
  default:
    return false;
  }
}

static Type *match_expr(Checker *c, Node *n, Type *want) {
  Type *st = ck_expr(c, n->u.match_.subject, NULL);
  NodeList *arms = &n->u.match_.arms;
  Coverage cv;
  memset(&cv, 0, sizeof cv);
  bool failed = ck_is_error(st), pat_failed = false;
  Type *acc = NULL;
  for (uint32_t i = 0; i < arms->n; i++) {
    Node *arm = arms->items[i];
    if (!arm || arm->kind != N_MATCH_ARM) continue;
    Scope sc;
    ck_scope_push(c, &sc);
    Node *p = arm->u.arm.pattern;
    if (!ck_is_error(st) && p) {
      bool redundant = !ck_is_error(st) && covered(&cv, st);
      if (!pattern(c, p, st, &cv, &redundant)) pat_failed = true;
      else if (redundant)
        diag_add(c->dl, D_W0002, p->span, "remove it, or move it before the arm that covers it",
                 "this arm can never match: earlier arms cover every value it could");
    } else if (p && p->kind == N_PAT_BIND) {
      ck_new_local(c, p, p->u.pat.name, err(), false);
      p->sym->used = true;
    } else if (p && p->kind == N_PAT_VARIANT) {
      bind_variant_fields(c, p, NULL, err());
    }
    c->cond_depth++;
    Type *t = ck_expr(c, arm->u.arm.body, branch_want(arm->u.arm.body, want, acc));
    c->cond_depth--;
    arm->type = t;
    acc = join_branches(c, acc, t, value_span(arm->u.arm.body), want, &failed);
    ck_scope_pop(c);
  }
  if (ck_is_error(st)) return err();
  if (!pat_failed && !covered(&cv, st)) report_missing(c, n, &cv, st);
  if (failed) return err();
  if (!acc) return type_prim(TY_VOID);
  return acc;
}

/* ---- lambdas and function bodies ------------------------------------------ */
static Type *fn_type(Checker *c, Type **params, uint32_t n, Type *ret) {
  Type *t = type_new(c->a, TY_FN);
  t->params = params;
  t->nparams = n;
  t->ret = ret;
  return t;
}

/* Checks a body against its function's return type (void: value unused). */
static void body_against(Checker *c, Node *body, Type *ret) {
  if (!body) return;
  if (ret->kind == TY_VOID) {
    ck_expr(c, body, NULL);
    return;
  }
  Type *t = ck_expr(c, body, ret);
  if (t->kind == TY_VOID) {
    Span at = value_span(body);
    const char *help = "end every path with a value of the result type (an `if` needs an `else`)";
    if (body->kind == N_BLOCK && body->u.block.stmts.n) {
      Node *last = body->u.block.stmts.items[body->u.block.stmts.n - 1];
      if (last) at = last->span;
      if (last && last->kind == N_EXPR_STMT && !body->u.block.has_value)
        help = "the ';' after the last expression throws its value away: remove it (a line "
               "break is enough to end a statement)";
    }
    diag_add(c->dl, D_E0316, at, help,
             "this function is declared -> %s but may end without a value", ck_type_str(c, ret));
    return;
  }
  if (!has_hole(ret) && !type_assignable(t, ret)) ck_mismatch(c, value_span(body), t, ret);
}

Type *ck_lambda(Checker *c, Node *n, Type *want) {
  Type *w = ck_strip(want);
  NodeList *pl = &n->u.lambda.params;
  if (w && (w->kind != TY_FN || w->nparams != pl->n)) w = NULL;
  SymList *caps = arena_alloc(c->a, sizeof *caps);
  n->extra = caps;
  FnCtx fc;
  memset(&fc, 0, sizeof fc);
  fc.parent = c->fn;
  fc.owner = n;
  fc.captures = caps;
  c->fn = &fc;
  Scope sc;
  ck_scope_push(c, &sc);
  fc.base = &sc;
  Type **params = arena_alloc(c->a, (pl->n ? pl->n : 1) * sizeof *params);
  bool failed = false;
  for (uint32_t i = 0; i < pl->n; i++) {
    Node *pn = pl->items[i];
    Type *t = err();
    if (pn && pn->kind == N_PARAM) {
      if (pn->u.param.type) {
        t = ck_type_of_syntax(c, pn->u.param.type);
        if (ck_mentions_tasks(t)) {
          diag_add(c->dl, D_E0615, pn->u.param.type->span,
                   "join the fan-out where it is started and pass the results",
                   "lambda parameter `%s` has type %s: running fan-out branches cannot be passed "
                   "to a function", pn->u.param.name, ck_type_str(c, t));
          t = err();
          failed = true;
        }
      } else if (w && !has_hole(w->params[i])) {
        t = w->params[i];
      } else {
        diag_add(c->dl, w ? D_E0312 : D_E0307, pn->span,
                 "annotate it: fn(x: int) => ...",
                 "cannot infer the type of lambda parameter `%s`", pn->u.param.name);
        failed = true;
      }
      ck_new_local(c, pn, pn->u.param.name, t, false);
      pn->type = t;
    }
    params[i] = t;
  }
  Type *ret = NULL;
  if (n->u.lambda.ret) {
    ret = ck_type_of_syntax(c, n->u.lambda.ret);
    if (ck_mentions_tasks(ret)) {
      diag_add(c->dl, D_E0615, n->u.lambda.ret->span, "return the joined results: barrier t",
               "a lambda cannot return %s: running fan-out branches cannot leave the function "
               "that starts them", ck_type_str(c, ret));
      ret = err();
    }
  }
  else if (w && !has_hole(w->ret)) ret = w->ret;
  else if (!n->u.lambda.arrow) ret = type_prim(TY_VOID);
  fc.ret = ret;
  if (ret) {
    body_against(c, n->u.lambda.body, ret);
  } else {
    Type *bt = ck_expr(c, n->u.lambda.body, NULL);
    if (ck_is_error(bt)) failed = true;
    if (bt && bt->kind == TY_NONE) {
      diag_add(c->dl, D_E0305, value_span(n->u.lambda.body), "annotate it: fn(x) -> T? { ... }",
               "cannot infer the return type of this lambda from none");
      failed = true;
    }
    ret = fc.ret_seen ? ck_join(c, fc.ret_seen, bt) : bt;
    if (!ret) {
      diag_add(c->dl, D_E0301, value_span(n->u.lambda.body), NULL,
               "type mismatch: this lambda returns %s here and %s elsewhere",
               ck_type_str(c, bt), ck_type_str(c, fc.ret_seen));
      failed = true;
      ret = err();
    } else if (ret->kind == TY_UNION && !ret->name && !(w && has_hole(w->ret))) {
      ret = type_prim(TY_STRING);
    }
  }
  ck_scope_pop(c);
  c->fn = fc.parent;
  if (failed) return err();
  return fn_type(c, params, pl->n, ret);
}

void ck_fn_body(Checker *c, FnSym *f) {
  Node *d = f->sym.decl;
  c->file = f->file;
  FnCtx fc;
  memset(&fc, 0, sizeof fc);
  fc.owner = d;
  fc.ret = f->sig.ret;
  c->fn = &fc;
  Scope sc;
  ck_scope_push(c, &sc);
  fc.base = &sc;
  /* re-enter the type parameters (the same TY_VARs as the signature) */
  for (uint32_t i = 0; i < f->sig.ntvars; i++) {
    TypeSym *ts = arena_alloc(c->a, sizeof *ts);
    ts->sym.kind = SYM_TYPE;
    ts->sym.name = f->sig.tvars[i]->name;
    ts->sym.type = f->sig.tvars[i];
    ts->sym.used = true;
    ts->state = TS_DONE;
    ts->file = c->file;
    tab_put(c->a, &sc.names, ts->sym.name, &ts->sym);
  }
  NodeList *pl = &d->u.fn.params;
  for (uint32_t i = 0; i < pl->n; i++) {
    Node *pn = pl->items[i];
    if (!pn || pn->kind != N_PARAM) continue;
    Type *t = f->sig.params[i];
    pn->type = t;
    if (pn->u.param.def) {
      ck_expect(c, pn->u.param.def, t);
      if (!ck_is_const(pn->u.param.def))
        diag_add(c->dl, D_E0503, pn->u.param.def->span,
                 "write a literal; compute other values inside the function",
                 "default value of `%s` must be a constant", pn->u.param.name);
    }
    for (uint32_t k = 0; k < i; k++) {
      Node *o = pl->items[k];
      if (o && o->kind == N_PARAM && strcmp(o->u.param.name, pn->u.param.name) == 0)
        diag_add(c->dl, D_E0202, pn->span, NULL, "parameter `%s` is declared twice",
                 pn->u.param.name);
    }
    ck_new_local(c, pn, pn->u.param.name, t, false);
  }
  body_against(c, d->u.fn.body, f->sig.ret);
  ck_scope_pop(c);
  c->fn = NULL;
  c->scope = NULL;
}

/* ---- workflow constructs: loop, fanout, barrier ------------------------------ */

/* A help text with the names filled in, in the arena. */
static const char *help_fmt(Checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *help_fmt(Checker *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *s = arena_alloc(c->a, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

/* Normalises the type a binding gets from its value: an unnamed literal
 * union widens to string; none and no value cannot be bound. */
static Type *binding_type(Checker *c, Type *t, Node *value, const char *name, Span at) {
  if (ck_is_error(t)) return t;
  if (t->kind == TY_NONE) {
    diag_add(c->dl, D_E0305, at, "annotate it: loop s: string? = none max …",
             "cannot infer the type of `%s` from none", name);
    return err();
  }
  if (t->kind == TY_VOID) {
    diag_add(c->dl, D_E0301, value->span, NULL,
             "type mismatch: this expression has no value to bind to `%s`", name);
    return err();
  }
  if (t->kind == TY_UNION && !t->name) return type_prim(TY_STRING);
  return t;
}

/* Rule: `loop s = init max N { body } until cond [else e]`. N is an int
 * (E0610 when missing); s has init's type (or the annotation) and is
 * visible in body, cond and e; the body gives the next state, so its type
 * fits s's; the value is the state when cond holds, or e. A loop body is
 * not a `for`: break/continue directly in it are E0209. */
static Type *loop_expr(Checker *c, Node *n, Type *want) {
  Node *init = n->u.loop.init;
  Type *st;
  if (n->u.loop.type) {
    st = ck_type_of_syntax(c, n->u.loop.type);
    ck_expect(c, init, st);
  } else {
    st = binding_type(c, ck_expr(c, init, NULL), init, n->u.loop.name, n->u.loop.name_span);
  }
  if (n->u.loop.max) {
    ck_expect(c, n->u.loop.max, type_prim(TY_INT));
  } else {
    Span at = n->span;
    if (init) at.end = init->span.end;
    diag_add(c->dl, D_E0610, at,
             "every loop has a hard bound: write `max N` after the initial state, "
             "e.g. loop s = init max 5 { … }",
             "a loop needs a hard bound: add `max N`");
  }
  Scope sc;
  ck_scope_push(c, &sc);
  Symbol *sym = ck_new_local(c, n, n->u.loop.name, st, false);
  sym->used = true;
  /* the body and the condition run once per iteration */
  uint32_t saved_loops = c->fn ? c->fn->loops : 0;
  bool saved_in = c->fn ? c->fn->in_loop_body : false;
  if (c->fn) {
    c->fn->loops = 0;
    c->fn->in_loop_body = true;
  }
  c->rep_depth++;
  Type *bt = ck_expr(c, n->u.loop.body, ck_is_error(st) ? NULL : st);
  if (!ck_is_error(st) && !ck_is_error(bt)) {
    if (bt->kind == TY_VOID)
      diag_add(c->dl, D_E0301, value_span(n->u.loop.body),
               "end the body with the next state: s with { … }",
               "type mismatch: a loop body gives the next state (%s), but this has no value",
               ck_type_str(c, st));
    else if (!type_assignable(bt, st))
      ck_mismatch(c, value_span(n->u.loop.body), bt, st);
  }
  if (c->fn) {
    c->fn->loops = saved_loops;
    c->fn->in_loop_body = saved_in;
  }
  cond_expr(c, n->u.loop.until);
  c->rep_depth--;
  Type *result = st;
  if (n->u.loop.else_) {
    c->cond_depth++; /* only when the bound is reached */
    Node *e = n->u.loop.else_;
    Type *et = ck_expr(c, e, want ? want : st);
    c->cond_depth--;
    if (!ck_is_error(st) && !ck_is_error(et)) {
      Type *j = ck_join(c, st, et);
      if (!j || et->kind == TY_VOID) {
        diag_add(c->dl, D_E0301, value_span(e),
                 "the `else` value stands in for the state: give it the state's type",
                 "type mismatch: the loop's state is %s, but `else` gives %s", ck_type_str(c, st),
                 et->kind == TY_VOID ? "no value" : ck_type_str(c, et));
        result = err();
      } else {
        result = j;
      }
    }
  }
  ck_scope_pop(c);
  return ck_is_error(st) ? err() : result;
}

/* Rule: the single place a tasks name may be used is a barrier's operand,
 * once, in the function that started the fan-out, not inside a loop or a
 * branch relative to the `let` (E0612, E0613, E0614). */
static Type *tasks_use(Checker *c, Node *n, Symbol *s, Type *t) {
  TaskVar *tv = s->decl && s->decl->kind == N_LET ? s->decl->extra : NULL;
  if (tv) tv->uses++;
  Node *owner = c->fn ? c->fn->owner : NULL;
  bool captured = s->owner != owner;
  if (c->tasks_ok != n || captured) {
    const char *what = ck_type_str(c, t);
    if (captured)
      diag_add(c->dl, D_E0613, n->span,
               "join it first (let r = barrier t) and use the results inside instead",
               "`%s` (%s) cannot be used inside a %s: running branches belong to the function "
               "that started them", s->name, what, in_what(c));
    else
      diag_add(c->dl, D_E0613, n->span,
               help_fmt(c, "join it where it was started: let results = barrier %s", s->name),
               "`%s` holds running fan-out branches (%s); the only thing to do with it is "
               "`barrier %s`", s->name, what, s->name);
    return err();
  }
  if (!tv) return t;
  if (tv->joins) {
    Source *src = src_get(c->p->sources, tv->join_at.file);
    uint32_t line = 0, col = 0;
    if (src) src_line_col(src, tv->join_at.start, &line, &col);
    diag_add(c->dl, D_E0612, n->span,
             "a fan-out is joined exactly once: keep the first barrier's result and use it again",
             "`%s` is joined a second time (first on line %u)", s->name, line);
    return err();
  }
  tv->joins++;
  tv->join_at = n->span;
  if (c->rep_depth > tv->rep) {
    diag_add(c->dl, D_E0612, n->span,
             "join it before the loop, or start the fan-out inside the loop body",
             "`%s` is joined inside a loop, so it could be joined more than once", s->name);
    return err();
  }
  if (c->cond_depth > tv->cond) {
    diag_add(c->dl, D_E0614, n->span,
             "join it unconditionally (let r = barrier t) and then branch on the results",
             "`%s` is joined only on some paths: on the others its branches would be left "
             "running", s->name);
    return err();
  }
  return t;
}

/* `return`, `break` and `continue` leave the scope of the tasks lets
 * declared at repetition depth >= min_rep (0: all of the function's) that
 * are still unjoined: their branches would be dropped (E0614). */
static void leaves_unjoined(Checker *c, Node *at, uint32_t min_rep) {
  Node *owner = c->fn ? c->fn->owner : NULL;
  for (TaskVar *tv = c->tasks; tv; tv = tv->next) {
    if (!tv->live || tv->uses || tv->owner != owner || tv->rep < min_rep) continue;
    const char *name = tv->let->u.decl.name;
    diag_add(c->dl, D_E0614, at->span,
             "join it before leaving (let r = barrier t), or move the fan-out after this point",
             "this `%s` leaves `%s` unjoined: its branches would be left running",
             at->kind == N_RETURN ? "return" : at->kind == N_BREAK ? "break" : "continue", name);
    tv->uses++; /* one report per let */
  }
}

void ck_tasks_scope_end(Checker *c, Symbol *sym) {
  TaskVar *tv = sym->decl->extra;
  if (tv->live && tv->uses == 0)
    diag_add(c->dl, D_E0611, sym->decl->u.decl.name_span,
             help_fmt(c, "join it: let results = barrier %s", sym->name),
             "the fan-out `%s` is never joined: its branches would be left running", sym->name);
  tv->live = false;
  while (c->tasks && !c->tasks->live) c->tasks = c->tasks->next;
}

/* Rule: `fanout x in xs [limit N] { body }` has type tasks[T], T the
 * body's type; `fanout { a: e1, b: e2 }` has type tasks of the record
 * { a: T1, b: T2 }. Branches are closures (a `var` inside is E0208). The
 * fan-out must be a `let`'s value or a barrier's operand (E0613). */
static Type *fanout_expr(Checker *c, Node *n) {
  bool placed = c->tasks_ok == n;
  bool in_var = c->tasks_in_var == n;
  c->tasks_ok = NULL;
  c->tasks_in_var = NULL;
  if (!placed)
    diag_add(c->dl, D_E0613, n->span,
             in_var ? "use `let`: a fan-out is joined once, so its tasks are never re-assigned"
                    : "bind it, `let t = fanout …`, and join it with `barrier t`; or write "
                      "`barrier fanout …`",
             in_var ? "a `var` cannot hold a fan-out's tasks"
                    : "this fan-out is neither bound with `let` nor joined by `barrier`");
  bool failed = !placed;
  Type *res = NULL;
  if (n->u.fanout.iter) {
    Node *it = n->u.fanout.iter;
    Type *lt = ck_expr(c, it, NULL);
    Type *elem = err();
    if (!ck_is_error(lt)) {
      if (lt->kind == TY_LIST) elem = lt->elem;
      else if (lt->kind == TY_OPTIONAL && lt->elem->kind == TY_LIST) ck_mismatch(c, it->span, lt, lt->elem);
      else
        diag_add(c->dl, D_E0301, it->span,
                 lt->kind == TY_MAP ? "fan out over keys(m) or values(m)" : NULL,
                 "type mismatch: `fanout` needs a list, got %s", ck_type_str(c, lt));
    }
    if (ck_is_error(elem)) failed = true;
    if (n->u.fanout.limit) {
      Type *lim = ck_expect(c, n->u.fanout.limit, type_prim(TY_INT));
      if (ck_is_error(lim) || lim->kind != TY_INT) failed = true;
    }
    Node *br = n->u.fanout.branch;
    Type *want = type_new(c->a, TY_FN);
    want->params = arena_alloc(c->a, sizeof *want->params);
    want->params[0] = elem;
    want->nparams = 1;
    want->ret = NULL; /* inferred from the body; an error elem silences the parameter */
    Type *ft = ck_expr(c, br, want);
    if (ck_is_error(ft) || ft->kind != TY_FN) return err();
    res = ft->ret;
    if (res->kind == TY_VOID) res = type_prim(TY_NONE); /* a branch run for its effects */
    if (failed) return err();
    return ck_list(c, TY_TASKS, res);
  }
  NodeList *fl = &n->u.fanout.fields;
  Type *r = type_new(c->a, TY_RECORD);
  r->fields = arena_alloc(c->a, (fl->n ? fl->n : 1) * sizeof *r->fields);
  for (uint32_t i = 0; i < fl->n; i++) {
    Node *f = fl->items[i];
    if (!f || f->kind != N_FIELD_INIT) continue;
    if (dup_init(c, fl, i)) { failed = true; continue; }
    Type *ft = ck_expr(c, f->u.init.value, NULL);
    if (ck_is_error(ft) || ft->kind != TY_FN) { failed = true; continue; }
    Type *bt = ft->ret;
    if (bt->kind == TY_VOID) bt = type_prim(TY_NONE);
    if (bt->kind == TY_UNION && !bt->name) bt = type_prim(TY_STRING);
    r->fields[r->nfields++] = (TyField){f->u.init.name, bt, NULL};
  }
  if (failed) return err();
  Type *t = ck_list(c, TY_TASKS, r);
  t->sections = true;
  return t;
}

/* Rule: `budget { calls: N, tokens: N, usd: X, time: D } { body } [else
 * { e }]`: limits are named calls (int), tokens (int), usd (float), time
 * (duration), each at most once (E0310), no other name (E0620). The body
 * and the else are branch lambdas (they run in their own fibers); the
 * value is the body's, and with an else both must have the same type. */
static Type *budget_expr(Checker *c, Node *n, Type *want) {
  bool failed = false;
  NodeList *ls = &n->u.budget.limits;
  static const char *const names[] = {"calls", "tokens", "usd", "time"};
  for (uint32_t i = 0; i < ls->n; i++) {
    Node *f = ls->items[i];
    if (!f || f->kind != N_FIELD_INIT) continue;
    int k = -1;
    for (int j = 0; j < 4; j++)
      if (strcmp(f->u.init.name, names[j]) == 0) k = j;
    if (k < 0) {
      diag_add(c->dl, D_E0620, f->span, "a budget limits `calls`, `tokens`, `usd` and `time`",
               "unknown budget limit `%s`", f->u.init.name);
      ck_expr(c, f->u.init.value, NULL);
      failed = true;
      continue;
    }
    if (dup_init(c, ls, i)) { failed = true; continue; }
    Type *lt = k == 2 ? type_prim(TY_FLOAT) : k == 3 ? type_prim(TY_DURATION) : type_prim(TY_INT);
    Type *got = ck_expect(c, f->u.init.value, lt);
    if (ck_is_error(got) || got->kind != lt->kind) failed = true;
  }
  Type *acc = NULL;
  Node *arms[2] = {n->u.budget.body, n->u.budget.else_};
  for (int i = 0; i < 2; i++) {
    if (!arms[i]) continue;
    Type *wf = type_new(c->a, TY_FN);
    wf->nparams = 0;
    wf->ret = i == 1 && acc && !ck_is_error(acc) ? acc : want; /* the else's is the body's */
    Type *ft = ck_expr(c, arms[i], wf);
    if (ck_is_error(ft) || ft->kind != TY_FN) { failed = true; continue; }
    Type *bt = ft->ret;
    if (bt->kind == TY_VOID) bt = type_prim(TY_NONE);
    acc = join_branches(c, acc, bt, value_span(arms[i]->u.lambda.body), want, &failed);
  }
  if (failed || !acc) return err();
  return acc;
}

/* Rule: `try E` is E's value as `Ok { value }` or the workflow error that
 * ended E as `Failed { error: failure }`, a `result[T]` of the prelude
 * (T is none when E has no value). Which failures are caught is the
 * VM's to decide (vm/fiber.c, fiber_catch). A tasks value cannot be
 * wrapped: it would escape its barrier. */
static Type *try_expr(Checker *c, Node *n, Type *want) {
  Type *w = ck_strip(want);
  Type *inner = NULL;
  if (w && w->kind == TY_TAGGED) {
    const TyField *ok = record_field(w, "Ok");
    const TyField *v = ok && ok->type->kind == TY_RECORD ? record_field(ok->type, "value") : NULL;
    if (v) inner = v->type;
  }
  Type *t = ck_expr(c, n->u.unary.operand, inner);
  if (ck_is_error(t)) return err();
  if (t->kind == TY_VOID) t = type_prim(TY_NONE);
  if (ck_mentions_tasks(t)) {
    diag_add(c->dl, D_E0301, value_span(n->u.unary.operand), "join it first: try barrier t",
             "type mismatch: `try` cannot wrap %s", ck_type_str(c, t));
    return err();
  }
  Type *r = ck_result(c, t);
  if (!r) {
    diag_add(c->dl, D_E0301, n->span, NULL, "`try` needs the prelude's type `result`");
    return err();
  }
  return r;
}

/* Rule: `barrier T [tolerate N | tolerate P%] [first K] [timeout D]`
 * joins a fan-out: T is a fanout or a tasks name; N and K are ints, P a
 * percent literal, D a duration. The value is list[T] (the record of
 * results for a record fan-out), joined[T] with `tolerate`; `tolerate`
 * and `first` need a list fan-out (E0616). */
static Type *barrier_expr(Checker *c, Node *n) {
  Node *tn = n->u.barrier.tasks;
  Node *saved = c->tasks_ok;
  c->tasks_ok = tn && (tn->kind == N_FANOUT || tn->kind == N_NAME) ? tn : NULL;
  Type *tt = ck_expr(c, tn, NULL);
  c->tasks_ok = saved;
  bool failed = ck_is_error(tt);
  if (!failed && tt->kind != TY_TASKS) {
    diag_add(c->dl, D_E0301, tn->span,
             "barrier joins what `fanout` started: let t = fanout x in xs { … } then barrier t",
             "type mismatch: `barrier` needs the tasks of a fan-out, got %s", ck_type_str(c, tt));
    failed = true;
  }
  Node *tol = n->u.barrier.tolerate, *first = n->u.barrier.first, *to = n->u.barrier.timeout;
  if (tol) {
    if (tol->kind == N_PERCENT) {
      tol->type = type_prim(TY_FLOAT);
      if (!(tol->u.lit.f >= 0 && tol->u.lit.f <= 100)) {
        diag_add(c->dl, D_E0301, tol->span, "a share of the branches is between 0% and 100%",
                 "type mismatch: `tolerate` takes a percentage from 0%% to 100%%, got %g%%",
                 tol->u.lit.f);
        failed = true;
      }
    } else {
      Type *t = ck_expect(c, tol, type_prim(TY_INT));
      if (ck_is_error(t) || t->kind != TY_INT) failed = true;
    }
  }
  if (first) {
    Type *t = ck_expect(c, first, type_prim(TY_INT));
    if (ck_is_error(t) || t->kind != TY_INT) failed = true;
  }
  if (to) {
    Type *t = ck_expect(c, to, type_prim(TY_DURATION));
    if (ck_is_error(t) || t->kind != TY_DURATION) failed = true;
  }
  if (failed) return err();
  if (tt->sections) {
    Node *bad = tol ? tol : first;
    if (bad) {
      diag_add(c->dl, D_E0616, bad->span,
               "a record fan-out needs every field's result: join it plainly or with `timeout`, "
               "or fan out over a list",
               "`%s` cannot be used on a record fan-out", tol ? "tolerate" : "first");
      return err();
    }
    return tt->elem;
  }
  if (tol) return ck_joined(c, tt->elem);
  return ck_list(c, TY_LIST, tt->elem);
}

/* ---- statements ------------------------------------------------------------ */
static Type *decl_stmt(Checker *c, Node *n) {
  Type *declared = n->u.decl.type ? ck_type_of_syntax(c, n->u.decl.type) : NULL;
  Type *t;
  /* Rule: `let t = fanout …` is one of the two places a fan-out may stand. */
  Node *saved_ok = c->tasks_ok, *saved_var = c->tasks_in_var;
  if (n->u.decl.value && n->u.decl.value->kind == N_FANOUT) {
    if (n->u.decl.is_var) c->tasks_in_var = n->u.decl.value;
    else c->tasks_ok = n->u.decl.value;
  }
  if (declared) {
    ck_expect(c, n->u.decl.value, declared);
    t = declared;
  } else {
    t = n->u.decl.value ? ck_expr(c, n->u.decl.value, NULL) : err();
    if (!ck_is_error(t)) {
      if (t->kind == TY_NONE) {
        diag_add(c->dl, D_E0305, n->u.decl.name_span, "annotate it: let x: string? = none",
                 "cannot infer the type of `%s` from none", n->u.decl.name);
        t = err();
      } else if (t->kind == TY_VOID) {
        diag_add(c->dl, D_E0301, n->u.decl.value->span, NULL,
                 "type mismatch: this expression has no value to bind to `%s`",
                 n->u.decl.name);
        t = err();
      } else if (t->kind == TY_UNION && !t->name) {
        t = type_prim(TY_STRING);
      }
    }
  }
  c->tasks_ok = saved_ok;
  c->tasks_in_var = saved_var;
  n->type = t;
  ck_new_local(c, n, n->u.decl.name, t, n->u.decl.is_var);
  if (t->kind == TY_TASKS && !n->u.decl.is_var && n->u.decl.value &&
      n->u.decl.value->kind == N_FANOUT) {
    TaskVar *tv = arena_alloc(c->a, sizeof *tv);
    tv->let = n;
    tv->owner = c->fn ? c->fn->owner : NULL;
    tv->cond = c->cond_depth;
    tv->rep = c->rep_depth;
    tv->live = true;
    tv->next = c->tasks;
    c->tasks = tv;
    n->extra = tv;
  }
  return type_prim(TY_VOID);
}

static Type *assign_stmt(Checker *c, Node *n) {
  const char *name = n->u.assign.name;
  Symbol *s = ck_lookup(c, name, n->u.assign.name_span);
  if (!s) {
    unknown_name(c, name, n->u.assign.name_span);
    ck_expr(c, n->u.assign.value, NULL);
    return type_prim(TY_VOID);
  }
  n->sym = s;
  if (s->kind != SYM_LOCAL || !s->is_var) {
    diag_add(c->dl, D_E0207, n->u.assign.name_span,
             s->kind == SYM_LOCAL && s->decl && s->decl->kind == N_LET
                 ? "declare it with `var` to re-assign it"
                 : NULL,
             "cannot assign to `%s`: it is not a `var`", name);
    ck_expr(c, n->u.assign.value, s->kind == SYM_LOCAL ? s->type : NULL);
    return type_prim(TY_VOID);
  }
  if (c->fn && s->owner != c->fn->owner) {
    diag_add(c->dl, D_E0208, n->u.assign.name_span,
             "concurrent branches share nothing mutable: return the new value instead",
             "`%s` is a `var` and cannot be assigned inside a %s", name, in_what(c));
    ck_expr(c, n->u.assign.value, s->type);
    return type_prim(TY_VOID);
  }
  ck_expect(c, n->u.assign.value, s->type);
  return type_prim(TY_VOID);
}

static Type *for_stmt(Checker *c, Node *n) {
  Type *t = ck_expr(c, n->u.for_.iter, NULL);
  Type *elem = err();
  if (!ck_is_error(t)) {
    if (t->kind == TY_LIST) elem = t->elem;
    else if (t->kind == TY_OPTIONAL && t->elem->kind == TY_LIST) ck_mismatch(c, n->u.for_.iter->span, t, t->elem);
    else
      diag_add(c->dl, D_E0301, n->u.for_.iter->span,
               t->kind == TY_MAP ? "iterate over keys(m) or values(m)" : NULL,
               "type mismatch: `for` needs a list, got %s", ck_type_str(c, t));
  }
  Scope sc;
  ck_scope_push(c, &sc);
  Symbol *v = ck_new_local(c, n, n->u.for_.var, elem, false);
  v->used = true;
  n->type = elem;
  if (c->fn) c->fn->loops++;
  uint32_t saved_for = c->for_rep;
  c->for_rep = ++c->rep_depth;
  ck_expr(c, n->u.for_.body, NULL);
  c->rep_depth--;
  c->for_rep = saved_for;
  if (c->fn) c->fn->loops--;
  ck_scope_pop(c);
  return type_prim(TY_VOID);
}

static Type *return_stmt(Checker *c, Node *n) {
  Node *e = n->u.stmt.expr;
  FnCtx *f = c->fn;
  if (!f) {
    if (e) ck_expr(c, e, NULL);
    return type_prim(TY_NEVER);
  }
  if (!f->ret) {
    Type *t = e ? ck_expr(c, e, NULL) : type_prim(TY_VOID);
    if (!ck_is_error(t)) {
      Type *j = ck_join(c, f->ret_seen, t);
      if (!j)
        diag_add(c->dl, D_E0301, e ? e->span : n->span, NULL,
                 "type mismatch: this returns %s, but an earlier return gives %s",
                 ck_type_str(c, t), ck_type_str(c, f->ret_seen));
      else
        f->ret_seen = j;
    }
  } else if (f->ret->kind == TY_VOID) {
    if (e) {
      Type *t = ck_expr(c, e, NULL);
      if (!ck_is_error(t) && t->kind != TY_VOID)
        diag_add(c->dl, D_E0301, e->span, "declare a result type: fn f(...) -> T",
                 "type mismatch: this function has no result type, so `return` cannot give "
                 "a value");
    }
  } else if (!e) {
    diag_add(c->dl, D_E0301, n->span, NULL, "type mismatch: expected a value of type %s after return",
             ck_type_str(c, f->ret));
  } else {
    ck_expect(c, e, f->ret);
  }
  return type_prim(TY_NEVER);
}

static Type *stmt(Checker *c, Node *n) {
  Type *t;
  switch (n->kind) {
  case N_LET: case N_VAR:
    return decl_stmt(c, n);
  case N_ASSIGN:
    return assign_stmt(c, n);
  case N_EXPR_STMT:
    if (n->u.stmt.expr && n->u.stmt.expr->kind == N_FANOUT) {
      /* Rule: a fan-out's branches are joined (E0611 when dropped). */
      diag_add(c->dl, D_E0611, n->u.stmt.expr->span,
               "join it: `barrier fanout …`, or `let t = fanout …` and later `barrier t`",
               "the branches of this fan-out are never joined");
      Node *saved = c->tasks_ok;
      c->tasks_ok = n->u.stmt.expr;
      t = ck_expr(c, n->u.stmt.expr, NULL);
      c->tasks_ok = saved;
      n->type = t;
      return t;
    }
    t = n->u.stmt.expr ? ck_expr(c, n->u.stmt.expr, NULL) : type_prim(TY_VOID);
    n->type = t;
    return t;
  case N_FOR:
    return for_stmt(c, n);
  case N_BREAK: case N_CONTINUE:
    if (c->fn && !c->fn->loops && c->fn->in_loop_body)
      diag_add(c->dl, D_E0209, n->span,
               "a `loop` body gives the next state; to stop early, make `until` hold",
               "`%s` cannot leave a `loop` body (only a `for`)",
               n->kind == N_BREAK ? "break" : "continue");
    else if (!c->fn || !c->fn->loops)
      diag_add(c->dl, D_E0209, n->span, "use `return` to leave a function",
               "`%s` outside a loop", n->kind == N_BREAK ? "break" : "continue");
    else
      leaves_unjoined(c, n, c->for_rep);
    return type_prim(TY_NEVER);
  case N_RETURN:
    t = return_stmt(c, n);
    leaves_unjoined(c, n, 0); /* after `return barrier t` has joined t */
    return t;
  default:
    return ck_expr(c, n, NULL);
  }
}

/* ---- expressions ------------------------------------------------------------ */
static Type *expr_inner(Checker *c, Node *n, Type *want) {
  switch (n->kind) {
  case N_INT: return type_prim(TY_INT);
  case N_FLOAT: return type_prim(TY_FLOAT);
  case N_BOOL: return type_prim(TY_BOOL);
  case N_NONE: return type_prim(TY_NONE);
  case N_DURATION: return type_prim(TY_DURATION);
  case N_PERCENT:
    diag_add(c->dl, D_E0301, n->span, "write a float: 0.1 for 10%",
             "type mismatch: a percentage is only allowed after `tolerate`");
    return err();
  case N_STRING:
    if (wants_literal(want)) {
      const char *one[1] = {n->u.lit.str ? n->u.lit.str : ""};
      return ck_union(c, one, 1);
    }
    return type_prim(TY_STRING);
  case N_INTERP:
    for (uint32_t i = 0; i < n->u.interp.parts.n; i++) {
      Node *part = n->u.interp.parts.items[i];
      if (!part) continue;
      if (part->kind == N_STRING) { part->type = type_prim(TY_STRING); continue; }
      Type *t = ck_expr(c, part, NULL);
      if (!ck_is_error(t) && t->kind == TY_VOID)
        diag_add(c->dl, D_E0301, part->span, NULL,
                 "type mismatch: this expression has no value to interpolate");
    }
    return type_prim(TY_STRING);
  case N_NAME: return name_expr(c, n, want);
  case N_LIST: return list_expr(c, n, want);
  case N_MAP: return map_expr(c, n, want);
  case N_RECORD: return record_expr(c, n, want);
  case N_VARIANT: return variant_expr(c, n, want);
  case N_WITH: return with_expr(c, n, want);
  case N_UNARY: return unary_expr(c, n, want);
  case N_BINARY: return binary_expr(c, n, want);
  case N_CALL: return ck_call(c, n, want);
  case N_FIELD: return field_expr(c, n);
  case N_INDEX: return index_expr(c, n);
  case N_IF: return if_expr(c, n, want);
  case N_MATCH: return match_expr(c, n, want);
  case N_BLOCK: return stmt_block(c, n, want);
  case N_LAMBDA: return ck_lambda(c, n, want);
  case N_ASK: return ask_expr(c, n);
  case N_GENERATE: return generate_expr(c, n);
  case N_LOOP: return loop_expr(c, n, want);
  case N_FANOUT: return fanout_expr(c, n);
  case N_BARRIER: return barrier_expr(c, n);
  case N_BUDGET: return budget_expr(c, n, want);
  case N_TRY: return try_expr(c, n, want);
  case N_VERIFY: return verify_expr(c, n);
  case N_TOURNAMENT: return tournament_expr(c, n);
  case N_ROLE_INDEX: return role_index_expr(c, n);
  case N_LET: case N_VAR: case N_ASSIGN: case N_EXPR_STMT: case N_FOR: case N_BREAK:
  case N_CONTINUE: case N_RETURN:
    return stmt(c, n);
  default:
    return err();
  }
}

/* The measure a constraint bounds, of a constant written in the source: a
 * number (its sign folded in), a string literal's code points, a list
 * literal's items. false for anything else. */
static bool const_measure(const Node *n, TypeKind kind, double *v, int64_t *i) {
  bool neg = false;
  if (n->kind == N_UNARY && n->u.unary.op == AOP_NEG && n->u.unary.operand) {
    neg = true;
    n = n->u.unary.operand;
  }
  if (n->kind == N_INT && (kind == TY_INT || kind == TY_FLOAT)) {
    *i = neg ? -n->u.lit.i : n->u.lit.i;
    *v = (double)*i;
    return true;
  }
  if (n->kind == N_FLOAT && kind == TY_FLOAT) {
    *v = neg ? -n->u.lit.f : n->u.lit.f;
    *i = 0;
    return true;
  }
  if (neg) return false;
  if (n->kind == N_STRING && kind == TY_STRING) {
    *i = (int64_t)utf8_count(n->u.lit.str ? n->u.lit.str : "", n->u.lit.len);
  } else if (n->kind == N_LIST && kind == TY_LIST) {
    *i = n->u.list.items.n;
  } else {
    return false;
  }
  *v = (double)*i;
  return true;
}

/* Rule: a constant written where a constrained type is expected is
 * checked here, at compile time (E0333), and then has that type; any
 * other value of the base type must be checked where it enters (E0334,
 * from ck_mismatch). */
static Type *refine_const(Checker *c, Node *n, Type *t, Type *want) {
  Type *w = ck_strip(want);
  if (!w || !w->range || ck_is_error(t) || t->kind != w->kind) return t;
  double v;
  int64_t i;
  if (!const_measure(n, w->kind, &v, &i)) return t;
  if (w->kind == TY_LIST && !type_assignable(t, ck_unconstrained(c, w))) return t;
  bool in = w->range->is_float ? type_range_holds(w->range, v) : type_range_holds_int(w->range, i);
  if (in) return w;
  Buf b;
  buf_init(&b);
  type_range_print(&b, w->range);
  Buf got;   /* the constant, or its length */
  buf_init(&got);
  if (w->kind == TY_STRING) buf_printf(&got, "a string of %lld characters", (long long)i);
  else if (w->kind == TY_LIST) buf_printf(&got, "a list of %lld items", (long long)i);
  else if (w->range->is_float && !(n->kind == N_INT || (n->kind == N_UNARY && n->u.unary.operand->kind == N_INT)))
    buf_float(&got, v);
  else buf_printf(&got, "%lld", (long long)i);
  diag_add(c->dl, D_E0333, value_span(n), "change the value, or widen the range",
           "%s is outside %s: expected %s", got.data, b.data, ck_type_str(c, want));
  buf_free(&got);
  buf_free(&b);
  return err();
}

Type *ck_expr(Checker *c, Node *n, Type *want) {
  if (!n) return err();
  /* a name may be a builtin that becomes a lambda: it keeps the holes */
  if (want && n->kind != N_LAMBDA && n->kind != N_NAME && has_hole(want)) want = NULL;
  Type *t = expr_inner(c, n, want);
  if (!t) t = err();
  /* arithmetic leaves a range behind: s + 1 of a Score may be 11 */
  if (n->kind == N_BINARY || n->kind == N_UNARY) t = ck_unconstrained(c, t);
  t = refine_const(c, n, t, want);
  switch (n->kind) {
  case N_LIST: case N_MAP: case N_RECORD: case N_LAMBDA: case N_CALL:
    if (!ck_is_error(t) && ck_too_deep(t)) {
      diag_add(c->dl, D_E0305, n->span, "name the parts with type aliases, or use json",
               "the type of this expression is nested too deeply");
      t = err();
    }
    break;
  default:
    break;
  }
  n->type = t;
  return t;
}
