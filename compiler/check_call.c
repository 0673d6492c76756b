/* check_call.c — calls: what is called (a top-level function, a native
 * overload, from_json, or a function value), argument counts, and
 * inference of type parameters.
 *
 * Generics are erased: a call only needs its type variables bound to check
 * the arguments and give the result a type. Binding is by unification,
 * argument by argument in order; a lambda argument is checked with the
 * parameter's function type after substituting what is known so far (an
 * unknown part is a "hole", a TY_VAR with id UINT32_MAX), so
 * `map(xs, fn(x) => x * 2)` learns T from xs, checks the lambda with
 * x: T, and learns U from its body. The expected type of the call fills
 * variables the arguments leave open. Native signatures come from the text
 * mini-language of stdlib/builtins.h. */
#include <string.h>
#include "check_int.h"

static Type *err(void) { return type_prim(TY_ERROR); }

/* ---- native signature parser -------------------------------------------- */
typedef struct SigParser {
  Checker *c;
  const char *s;
  bool bad;
  char names[26];     /* declared type variable letters */
  Type *vars[26];
  uint32_t nvars;
  int depth;
} SigParser;

static void sp_ws(SigParser *p) { while (*p->s == ' ') p->s++; }

static bool sp_eat(SigParser *p, const char *tok) {
  sp_ws(p);
  size_t n = strlen(tok);
  if (strncmp(p->s, tok, n) != 0) return false;
  p->s += n;
  return true;
}

static Type *sp_type(SigParser *p);

static Type *sp_primary(SigParser *p) {
  sp_ws(p);
  static const struct { const char *word; TypeKind kind; } words[] = {
    {"int", TY_INT}, {"float", TY_FLOAT}, {"bool", TY_BOOL}, {"string", TY_STRING},
    {"duration", TY_DURATION}, {"json", TY_JSON}, {"void", TY_VOID}, {"never", TY_NEVER},
    {"role", TY_ROLE},
  };
  if (sp_eat(p, "list[") || sp_eat(p, "map[")) {
    bool is_list = p->s[-2] == 't';
    Type *e = sp_type(p);
    if (!sp_eat(p, "]")) p->bad = true;
    return ck_list(p->c, is_list ? TY_LIST : TY_MAP, e);
  }
  if (sp_eat(p, "fn(")) {
    Type *t = type_new(p->c->a, TY_FN);
    Type *ps[16];
    uint32_t n = 0;
    if (!sp_eat(p, ")")) {
      do {
        Type *pt = sp_type(p);
        if (n < 16) ps[n++] = pt;
        else p->bad = true;
      } while (sp_eat(p, ","));
      if (!sp_eat(p, ")")) p->bad = true;
    }
    if (!sp_eat(p, "->")) p->bad = true;
    t->ret = sp_type(p);
    t->params = arena_alloc(p->c->a, (n ? n : 1) * sizeof *t->params);
    memcpy(t->params, ps, n * sizeof *ps);
    t->nparams = n;
    return t;
  }
  if (sp_eat(p, "{")) {
    Type *t = type_new(p->c->a, TY_RECORD);
    TyField fs[16];
    uint32_t n = 0;
    do {
      sp_ws(p);
      const char *start = p->s;
      while ((*p->s >= 'a' && *p->s <= 'z') || *p->s == '_') p->s++;
      if (p->s == start || !sp_eat(p, ":")) { p->bad = true; break; }
      const char *name = arena_strndup(p->c->a, start, (size_t)(p->s - start - 1));
      size_t nl = strlen(name);
      while (nl && ((char *)name)[nl - 1] == ' ') ((char *)name)[--nl] = '\0';
      Type *ft = sp_type(p);
      if (n < 16) fs[n++] = (TyField){name, ft, NULL};
      else p->bad = true;
    } while (sp_eat(p, ","));
    if (!sp_eat(p, "}")) p->bad = true;
    t->fields = arena_alloc(p->c->a, (n ? n : 1) * sizeof *t->fields);
    memcpy(t->fields, fs, n * sizeof *fs);
    t->nfields = n;
    return t;
  }
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    size_t n = strlen(words[i].word);
    if (strncmp(p->s, words[i].word, n) == 0 &&
        !((p->s[n] >= 'a' && p->s[n] <= 'z') || p->s[n] == '_')) {
      p->s += n;
      return type_prim(words[i].kind);
    }
  }
  if (*p->s >= 'A' && *p->s <= 'Z') {
    char v = *p->s++;
    for (uint32_t i = 0; i < p->nvars; i++)
      if (p->names[i] == v) return p->vars[i];
  }
  p->bad = true;
  return err();
}

static Type *sp_type(SigParser *p) {
  if (++p->depth > 32) {
    p->bad = true;
    return err();
  }
  Type *t = sp_primary(p);
  while (sp_eat(p, "?")) t = ck_optional(p->c, t);
  p->depth--;
  return t;
}

/* Parses a native's signature text; NULL when it is malformed. */
Sig *ck_parse_native_sig(Checker *c, const char *text) {
  SigParser p;
  memset(&p, 0, sizeof p);
  p.c = c;
  p.s = text ? text : "";
  if (sp_eat(&p, "[")) {
    do {
      sp_ws(&p);
      if (*p.s < 'A' || *p.s > 'Z' || p.nvars >= 26) return NULL;
      Type *v = type_new(c->a, TY_VAR);
      v->var_id = ++c->next_var;
      v->name = arena_strndup(c->a, p.s, 1);
      p.names[p.nvars] = *p.s++;
      p.vars[p.nvars++] = v;
    } while (sp_eat(&p, ","));
    if (!sp_eat(&p, "]")) return NULL;
  }
  if (!sp_eat(&p, "(")) return NULL;
  Type *ps[16];
  uint32_t n = 0;
  if (!sp_eat(&p, ")")) {
    do {
      Type *t = sp_type(&p);
      if (n >= 16) return NULL;
      ps[n++] = t;
    } while (sp_eat(&p, ","));
    if (!sp_eat(&p, ")")) return NULL;
  }
  if (!sp_eat(&p, "->")) return NULL;
  Type *ret = sp_type(&p);
  sp_ws(&p);
  if (p.bad || *p.s) return NULL;
  Sig *s = arena_alloc(c->a, sizeof *s);
  s->tvars = arena_alloc(c->a, (p.nvars ? p.nvars : 1) * sizeof *s->tvars);
  memcpy(s->tvars, p.vars, p.nvars * sizeof *p.vars);
  s->ntvars = p.nvars;
  s->params = arena_alloc(c->a, (n ? n : 1) * sizeof *s->params);
  memcpy(s->params, ps, n * sizeof *ps);
  s->nparams = n;
  s->nrequired = n;
  s->ret = ret;
  return s;
}

/* ---- substitution and unification ---------------------------------------- */
static int var_index(const Sig *sig, const Type *v) {
  for (uint32_t i = 0; i < sig->ntvars; i++)
    if (sig->tvars[i]->var_id == v->var_id) return (int)i;
  return -1;
}

static Type *hole(Checker *c) {
  Type *h = type_new(c->a, TY_VAR);
  h->var_id = UINT32_MAX;
  h->name = "?";
  return h;
}

/* A substitution: the signature's variables, their bindings, and the
 * nodes already substituted (a node reached again by another path gives
 * the same result, so the result shares structure as the input does). */
typedef struct Subst {
  Checker *c;
  const Sig *sig;
  Type **binds;
  TypeMemo done;
} Subst;

/* t with the variables replaced; t itself when nothing in it changes
 * (so a type that mentions no variable keeps its node and its name). */
static Type *subst_at(Subst *s, Type *t, int depth) {
  if (!t || depth > CHECK_MAX_TYPE_DEPTH) return t;
  Checker *c = s->c;
  if (t->kind == TY_VAR) {
    int k = var_index(s->sig, t);
    if (k < 0) return t;
    return s->binds && s->binds[k] ? s->binds[k] : hole(c);
  }
  if (t->kind != TY_LIST && t->kind != TY_MAP && t->kind != TY_OPTIONAL && t->kind != TY_RECORD &&
      t->kind != TY_FN && t->kind != TY_TAGGED)
    return t;
  void *known;
  if (tmemo_get(&s->done, t, NULL, depth, &known)) return known;
  Type *r = t;
  switch (t->kind) {
  case TY_LIST: case TY_MAP: case TY_OPTIONAL: {
    Type *e = subst_at(s, t->elem, depth + 1);
    if (e != t->elem) r = t->kind == TY_OPTIONAL ? ck_optional(c, e) : ck_list(c, t->kind, e);
    break;
  }
  case TY_RECORD: case TY_TAGGED: /* a tagged union's variants are records */
    for (uint32_t i = 0; i < t->nfields; i++) {
      Type *ft = subst_at(s, t->fields[i].type, depth + 1);
      if (ft == t->fields[i].type) continue;
      if (r == t) {
        r = type_new(c->a, TY_RECORD);
        *r = *t;
        r->name = NULL;
        r->fields = arena_alloc(c->a, (t->nfields ? t->nfields : 1) * sizeof *r->fields);
        memcpy(r->fields, t->fields, t->nfields * sizeof *r->fields);
      }
      r->fields[i].type = ft;
    }
    break;
  default: { /* TY_FN */
    Type **ps = arena_alloc(c->a, (t->nparams ? t->nparams : 1) * sizeof *ps);
    bool changed = false;
    for (uint32_t i = 0; i < t->nparams; i++) {
      ps[i] = subst_at(s, t->params[i], depth + 1);
      changed |= ps[i] != t->params[i];
    }
    Type *ret = subst_at(s, t->ret, depth + 1);
    if (changed || ret != t->ret) {
      r = type_new(c->a, TY_FN);
      r->nparams = t->nparams;
      r->params = ps;
      r->ret = ret;
    }
    break;
  }
  }
  tmemo_put(&s->done, t, NULL, depth, r);
  return r;
}

/* t with the signature's variables replaced by their bindings (unbound
 * ones by holes). */
Type *ck_subst(Checker *c, Type *t, const Sig *sig, Type **binds) {
  if (!sig->ntvars) return t;
  Subst s = {c, sig, binds, {0}};
  tmemo_init(&s.done);
  Type *r = subst_at(&s, t, 0);
  tmemo_free(&s.done);
  return r;
}

/* After an erroneous argument, every variable it could have bound becomes
 * TY_ERROR, so no "cannot infer" follows the original error. */
static void bind_errors(Type *pat, const Sig *sig, Type **binds, int depth, TypeMemo *seen) {
  if (!pat || depth > CHECK_MAX_TYPE_DEPTH) return;
  switch (pat->kind) {
  case TY_VAR: {
    int k = var_index(sig, pat);
    if (k >= 0 && !binds[k]) binds[k] = err();
    return;
  }
  case TY_LIST: case TY_MAP: case TY_OPTIONAL:
    if (!tmemo_seen(seen, pat, NULL, depth)) bind_errors(pat->elem, sig, binds, depth + 1, seen);
    return;
  case TY_RECORD: case TY_TAGGED:
    if (tmemo_seen(seen, pat, NULL, depth)) return;
    for (uint32_t i = 0; i < pat->nfields; i++) bind_errors(pat->fields[i].type, sig, binds, depth + 1, seen);
    return;
  case TY_FN:
    if (tmemo_seen(seen, pat, NULL, depth)) return;
    for (uint32_t i = 0; i < pat->nparams; i++) bind_errors(pat->params[i], sig, binds, depth + 1, seen);
    bind_errors(pat->ret, sig, binds, depth + 1, seen);
    return;
  default:
    return;
  }
}

/* Binds the variables of `pat` from `actual`. Returns false only when a
 * variable already bound has no common type with the new evidence; other
 * shape differences are left to the assignability check that follows.
 * Each pair of nodes is unified once (`seen`): the same pair again would
 * bring the same evidence, and every false ends the whole unification. */
static bool unify_at(Checker *c, Type *pat, Type *actual, const Sig *sig, Type **binds, int depth,
                     TypeMemo *seen) {
  if (!pat || !actual || depth > CHECK_MAX_TYPE_DEPTH) return true;
  if (actual->kind == TY_NEVER) return true;
  if (pat->kind == TY_VAR) {
    int k = var_index(sig, pat);
    if (k < 0) return true;
    if (actual->kind == TY_VAR && actual->var_id == UINT32_MAX) return true;
    if (!binds[k]) {
      binds[k] = actual;
      return true;
    }
    Type *j = ck_join(c, binds[k], actual);
    if (!j) return false;
    binds[k] = j;
    return true;
  }
  if (actual->kind == TY_ERROR) {
    TypeMemo errs;
    tmemo_init(&errs);
    bind_errors(pat, sig, binds, depth, &errs);
    tmemo_free(&errs);
    return true;
  }
  switch (pat->kind) {
  case TY_OPTIONAL: case TY_LIST: case TY_MAP: case TY_RECORD: case TY_FN: case TY_TAGGED:
    if (tmemo_seen(seen, pat, actual, depth)) return true;
    break;
  default:
    return true;
  }
  switch (pat->kind) {
  case TY_OPTIONAL:
    if (actual->kind == TY_NONE) return true;
    return unify_at(c, pat->elem, ck_strip(actual), sig, binds, depth + 1, seen);
  case TY_LIST: case TY_MAP:
    if (actual->kind != pat->kind) return true;
    return unify_at(c, pat->elem, actual->elem, sig, binds, depth + 1, seen);
  case TY_RECORD: case TY_TAGGED: /* records by field, tagged unions by variant */
    if (actual->kind != pat->kind) return true;
    for (uint32_t i = 0; i < pat->nfields; i++)
      for (uint32_t k = 0; k < actual->nfields; k++)
        if (strcmp(pat->fields[i].name, actual->fields[k].name) == 0 &&
            !unify_at(c, pat->fields[i].type, actual->fields[k].type, sig, binds, depth + 1, seen))
          return false;
    return true;
  default: /* TY_FN */
    if (actual->kind != TY_FN || actual->nparams != pat->nparams) return true;
    for (uint32_t i = 0; i < pat->nparams; i++)
      if (!unify_at(c, pat->params[i], actual->params[i], sig, binds, depth + 1, seen)) return false;
    return unify_at(c, pat->ret, actual->ret, sig, binds, depth + 1, seen);
  }
}

static bool unify(Checker *c, Type *pat, Type *actual, const Sig *sig, Type **binds) {
  TypeMemo seen;
  tmemo_init(&seen);
  bool ok = unify_at(c, pat, actual, sig, binds, 0, &seen);
  tmemo_free(&seen);
  return ok;
}

bool ck_unify(Checker *c, Type *pat, Type *actual, const Sig *sig, Type **binds) {
  return unify(c, pat, actual, sig, binds);
}

/* ---- calls ------------------------------------------------------------------ */
static void check_args_only(Checker *c, NodeList *args, uint32_t from) {
  for (uint32_t i = from; i < args->n; i++) ck_expr(c, args->items[i], NULL);
}

static const char *plural(uint32_t n) { return n == 1 ? "" : "s"; }

/* Checks a call's arguments against `sig`, inferring its type variables;
 * returns the result type. `pre` is the already-checked type of argument
 * 0 (overload selection) or NULL. */
static Type *apply_sig(Checker *c, Node *n, const char *what, const Sig *sig, Type *want,
                       Type *pre, Type ***binds_out) {
  NodeList *args = &n->u.call.args;
  NodeList *targs = &n->u.call.type_args;
  Type **binds = arena_alloc(c->a, (sig->ntvars ? sig->ntvars : 1) * sizeof *binds);
  Type **hints = arena_alloc(c->a, (sig->ntvars ? sig->ntvars : 1) * sizeof *hints);
  if (binds_out) *binds_out = binds;
  if (targs->n) {
    if (targs->n != sig->ntvars) {
      diag_add(c->dl, D_E0314, n->span, NULL, "`%s` takes %u type argument%s, got %u", what,
               sig->ntvars, plural(sig->ntvars), targs->n);
      check_args_only(c, args, pre ? 1 : 0);
      return err();
    }
    for (uint32_t i = 0; i < targs->n; i++) binds[i] = ck_type_of_syntax(c, targs->items[i]);
  }
  if (args->n < sig->nrequired || args->n > sig->nparams) {
    if (sig->nrequired == sig->nparams)
      diag_add(c->dl, D_E0302, n->span, NULL, "`%s` takes %u argument%s, got %u", what,
               sig->nparams, plural(sig->nparams), args->n);
    else
      diag_add(c->dl, D_E0302, n->span, NULL, "`%s` takes %u to %u arguments, got %u", what,
               sig->nrequired, sig->nparams, args->n);
    check_args_only(c, args, pre ? 1 : 0);
    return err();
  }
  if (want && sig->ntvars) {
    memcpy(hints, binds, sig->ntvars * sizeof *hints);
    unify(c, sig->ret, want, sig, hints);
  }
  Type **argt = arena_alloc(c->a, (args->n ? args->n : 1) * sizeof *argt);
  bool *bad = arena_alloc(c->a, (args->n ? args->n : 1) * sizeof *bad);
  for (uint32_t i = 0; i < args->n; i++) {
    Type *pt = sig->params[i];
    Type *h = pt;
    if (sig->ntvars) {
      /* known bindings first, then what the expected result suggests */
      Type **mix = arena_alloc(c->a, sig->ntvars * sizeof *mix);
      for (uint32_t k = 0; k < sig->ntvars; k++) mix[k] = binds[k] ? binds[k] : hints[k];
      h = ck_subst(c, pt, sig, mix);
    }
    Type *at = (i == 0 && pre) ? pre : ck_expr(c, args->items[i], h);
    argt[i] = at;
    if (sig->ntvars && !unify(c, pt, at, sig, binds)) {
      ck_mismatch(c, args->items[i]->span, at, ck_subst(c, pt, sig, binds));
      bad[i] = true;
    }
  }
  bool unresolved = false;
  for (uint32_t k = 0; k < sig->ntvars; k++) {
    if (binds[k] && binds[k]->kind == TY_UNION && !binds[k]->name &&
        !(hints[k] && type_assignable(binds[k], hints[k])))
      binds[k] = type_prim(TY_STRING);
    if (!binds[k] && hints[k] && !(hints[k]->kind == TY_VAR && hints[k]->var_id == UINT32_MAX))
      binds[k] = hints[k];
    if (!binds[k]) {
      bool silent = false;
      for (uint32_t i = 0; i < args->n; i++)
        if (ck_is_error(argt[i])) silent = true;
      if (!silent && !unresolved)
        diag_add(c->dl, D_E0312, n->span, "give it explicitly: f[int](...), or annotate the result",
                 "cannot infer type parameter %s of `%s`", sig->tvars[k]->name, what);
      unresolved = true;
      binds[k] = err();
    }
  }
  for (uint32_t i = 0; i < args->n; i++) {
    if (bad[i] || ck_is_error(argt[i])) continue;
    Type *pt = ck_subst(c, sig->params[i], sig, binds);
    if (!type_assignable(argt[i], pt)) ck_mismatch(c, args->items[i]->span, argt[i], pt);
  }
  if (unresolved) return err();
  return ck_subst(c, sig->ret, sig, binds);
}

static Type *fn_value_type(Checker *c, const Sig *sig, Type *ret) {
  Type *t = type_new(c->a, TY_FN);
  t->nparams = sig->nparams;
  t->params = arena_alloc(c->a, (sig->nparams ? sig->nparams : 1) * sizeof *t->params);
  for (uint32_t i = 0; i < sig->nparams; i++) t->params[i] = sig->params[i];
  t->ret = ret;
  return t;
}

/* Whether overload s takes arguments of types args[0..n) (n <= its
 * parameter count): each unifies with its parameter, variables left open
 * stand for anything, and then each argument is assignable. */
bool ck_native_fits(Checker *c, const Sig *s, Type *const *args, uint32_t n) {
  Type **b = arena_alloc(c->a, (s->ntvars ? s->ntvars : 1) * sizeof *b);
  for (uint32_t i = 0; i < n; i++)
    if (!unify(c, s->params[i], args[i], s, b)) return false;
  for (uint32_t v = 0; v < s->ntvars; v++)
    if (!b[v]) b[v] = type_prim(TY_NEVER);
  for (uint32_t i = 0; i < n; i++)
    if (!type_assignable(args[i], ck_subst(c, s->params[i], s, b))) return false;
  return true;
}

/* Overloads of a native: filter by arity, then by the first argument. */
static Type *native_call(Checker *c, Node *n, NativeSym *ns, Type *want, CallInfo *ci) {
  NodeList *args = &n->u.call.args;
  Node *callee = n->u.call.callee;
  uint32_t cands[32], nc = 0;
  for (uint32_t i = ns->first; i < ns->first + ns->count && nc < 32; i++)
    if (c->native_sigs[i].ret && c->native_sigs[i].nparams == args->n) cands[nc++] = i;
  if (!nc) {
    uint32_t any = ns->first;
    Sig *s = &c->native_sigs[any];
    if (ns->count == 1 && s->ret)
      diag_add(c->dl, D_E0302, n->span, c->native_entries[any].doc, "`%s` takes %u argument%s, got %u",
               ns->sym.name, s->nparams, plural(s->nparams), args->n);
    else
      diag_add(c->dl, D_E0302, n->span, NULL, "no version of `%s` takes %u argument%s",
               ns->sym.name, args->n, plural(args->n));
    check_args_only(c, args, 0);
    return err();
  }
  uint32_t pick = cands[0];
  Type *pre = NULL;
  if (nc > 1 && args->n > 0) {
    pre = ck_expr(c, args->items[0], NULL);
    bool found = ck_is_error(pre);
    for (uint32_t k = 0; k < nc && !found; k++) {
      if (ck_native_fits(c, &c->native_sigs[cands[k]], &pre, 1)) {
        pick = cands[k];
        found = true;
      }
    }
    if (!found) {
      Buf alts;
      buf_init(&alts);
      for (uint32_t k = 0; k < nc; k++) {
        Sig *s = &c->native_sigs[cands[k]];
        if (k) buf_puts(&alts, " or ");
        type_print(&alts, s->params[0]);
      }
      diag_add(c->dl, D_E0301, args->items[0]->span, NULL,
               "type mismatch: `%s` takes %.*s here, got %s", ns->sym.name, (int)alts.len,
               alts.data, ck_type_str(c, pre));
      buf_free(&alts);
      check_args_only(c, args, 1);
      return err();
    }
  }
  ci->kind = CALL_NATIVE;
  ci->native = &c->native_entries[pick];
  Sig *s = &c->native_sigs[pick];
  Type **binds = NULL;
  Type *r = apply_sig(c, n, ns->sym.name, s, want, pre, &binds);
  callee->type = ck_subst(c, fn_value_type(c, s, s->ret), s, binds);
  return r;
}

/* from_json[T](j) / from_json(j) with T from the expected type. */
static Type *from_json_call(Checker *c, Node *n, Type *want, CallInfo *ci) {
  NodeList *args = &n->u.call.args;
  Node *callee = n->u.call.callee;
  ci->kind = CALL_FROM_JSON;
  callee->sym = &c->from_json->sym;
  Type *t = NULL;
  if (n->u.call.type_args.n > 1) {
    diag_add(c->dl, D_E0314, n->span, NULL, "`from_json` takes one type argument, got %u",
             n->u.call.type_args.n);
    t = err();
  } else if (n->u.call.type_args.n == 1) {
    t = ck_type_of_syntax(c, n->u.call.type_args.items[0]);
  } else if (want) {
    t = want;
  } else {
    diag_add(c->dl, D_E0305, n->span,
             "write from_json[T](j), or annotate the binding: let x: T = from_json(j)",
             "cannot infer the type `from_json` should produce");
    t = err();
  }
  if (!ck_is_error(t) && !type_is_jsonable(t)) {
    diag_add(c->dl, D_E0502, n->span, "from_json produces data: no functions or roles",
             "from_json cannot produce %s", ck_type_str(c, t));
    t = err();
  }
  if (args->n != 1) {
    diag_add(c->dl, D_E0302, n->span, NULL, "`from_json` takes 1 argument, got %u", args->n);
    check_args_only(c, args, 0);
    t = err();
  } else {
    ck_expect(c, args->items[0], type_prim(TY_JSON));
  }
  Type *ft = type_new(c->a, TY_FN);
  ft->params = arena_alloc(c->a, sizeof *ft->params);
  ft->params[0] = type_prim(TY_JSON);
  ft->nparams = 1;
  ft->ret = t;
  callee->type = ft;
  return t;
}

/* The symbol a callee names directly (a name, or `module.name`), without
 * the "not a value" checks that apply elsewhere; NULL for other callees. */
static Symbol *direct_callee(Checker *c, Node *callee, bool *unknown) {
  *unknown = false;
  if (callee->kind == N_NAME) {
    Symbol *s = callee->u.name.lowered ? ck_lookup_lowered(c, callee->u.name.id)
                                       : ck_lookup(c, callee->u.name.id, callee->span);
    if (!s) {
      if (strcmp(callee->u.name.id, "from_json") == 0) return &c->from_json->sym;
      *unknown = true;
      return NULL;
    }
    if (s->kind == SYM_FN || s->kind == SYM_NATIVE) {
      callee->sym = s;
      s->used = true;
      return s;
    }
    return NULL;
  }
  if (callee->kind == N_FIELD && callee->u.field.object &&
      callee->u.field.object->kind == N_NAME) {
    Node *obj = callee->u.field.object;
    Symbol *m = ck_lookup(c, obj->u.name.id, obj->span);
    if (!m || m->kind != SYM_MODULE) return NULL;
    m->used = true;
    obj->sym = m;
    obj->type = type_prim(TY_VOID);
    Symbol *s = ck_module_member(c, m->module, callee->u.field.name);
    if (s && s->kind == SYM_FN) {
      callee->sym = s;
      s->used = true;
      return s;
    }
    return NULL;
  }
  return NULL;
}

/* `xs[k](x)` parses like a generic call of xs with type argument k (see
 * ps_call in lang/parse.c); when xs is a local value it was an index, so
 * the bracket goes back to an expression. */
static Node *type_syntax_to_expr(Checker *c, Node *tn, int depth) {
  if (!tn || tn->kind != N_TYPE_NAME || depth > AST_MAX_DEPTH || tn->u.tname.args.n > 1)
    return NULL;
  Node *name = ast_new(c->a, N_NAME, tn->span);
  name->u.name.id = tn->u.tname.id;
  if (tn->u.tname.module) { /* `xs[cfg.k](x)`: the index was a field */
    if (tn->u.tname.args.n) return NULL;
    Node *obj = ast_new(c->a, N_NAME, tn->span);
    obj->u.name.id = tn->u.tname.module;
    Node *f = ast_new(c->a, N_FIELD, tn->span);
    f->u.field.object = obj;
    f->u.field.name = tn->u.tname.id;
    f->u.field.name_span = tn->span;
    return f;
  }
  if (!tn->u.tname.args.n) return name;
  Node *inner = type_syntax_to_expr(c, tn->u.tname.args.items[0], depth + 1);
  if (!inner) return NULL;
  Node *ix = ast_new(c->a, N_INDEX, tn->span);
  ix->u.index.object = name;
  ix->u.index.index = inner;
  return ix;
}

static void undo_type_args(Checker *c, Node *n) {
  Node *callee = n->u.call.callee;
  if (callee->kind != N_NAME || n->u.call.type_args.n != 1) return;
  Symbol *s = ck_lookup(c, callee->u.name.id, callee->span);
  if (!s || s->kind != SYM_LOCAL) return;
  Node *ix_expr = type_syntax_to_expr(c, n->u.call.type_args.items[0], 0);
  if (!ix_expr) return;
  Node *ix = ast_new(c->a, N_INDEX, span_join(callee->span, ix_expr->span));
  ix->u.index.object = callee;
  ix->u.index.index = ix_expr;
  n->u.call.callee = ix;
  n->u.call.type_args.n = 0;
}

Type *ck_call(Checker *c, Node *n, Type *want) {
  CallInfo *ci = arena_alloc(c->a, sizeof *ci);
  n->extra = ci;
  ci->kind = CALL_VALUE;
  Node *callee = n->u.call.callee;
  NodeList *args = &n->u.call.args;
  if (!callee) {
    check_args_only(c, args, 0);
    return err();
  }
  if (n->u.call.type_args.n == 1) {
    undo_type_args(c, n);
    callee = n->u.call.callee;
  }
  bool unknown = false;
  Symbol *s = direct_callee(c, callee, &unknown);
  if (unknown) {
    ck_expr(c, callee, NULL); /* reports the unknown name */
    check_args_only(c, args, 0);
    return err();
  }
  if (s == &c->from_json->sym) return from_json_call(c, n, want, ci);
  if (s && s->kind == SYM_NATIVE) {
    if (strcmp(s->name, "from_json") == 0) return from_json_call(c, n, want, ci);
    Type *r = native_call(c, n, (NativeSym *)s, want, ci);
    /* to_json renders data: a role (a model and its settings) has no JSON
     * form, so it stays out as it does of replies and inputs */
    Node *a0 = args->n == 1 ? args->items[0] : NULL;
    if (strcmp(s->name, "to_json") == 0 && a0 && a0->type && !ck_is_error(a0->type) && ck_mentions_role(a0->type))
      diag_add(c->dl, D_E0502, a0->span, "convert the role to its name first: str(r)",
               "a value of type %s cannot be expressed as JSON: it holds a role", ck_type_str(c, a0->type));
    return r;
  }
  if (s && s->kind == SYM_FN) {
    FnSym *f = (FnSym *)s;
    ci->kind = CALL_FN;
    ci->fn = s;
    ci->fn_decl = s->decl;
    if (!f->sig_done) {
      check_args_only(c, args, 0);
      return err();
    }
    Type **binds = NULL;
    Type *r = apply_sig(c, n, s->name, &f->sig, want, NULL, &binds);
    callee->type = ck_subst(c, fn_value_type(c, &f->sig, f->sig.ret), &f->sig, binds);
    return r;
  }
  /* a function value */
  Type *t = ck_expr(c, callee, NULL);
  if (ck_is_error(t)) {
    check_args_only(c, args, 0);
    return err();
  }
  if (t->kind != TY_FN) {
    if (t->kind == TY_OPTIONAL && t->elem->kind == TY_FN) ck_mismatch(c, callee->span, t, t->elem);
    else
      diag_add(c->dl, D_E0303, callee->span, NULL, "a value of type %s cannot be called",
               ck_type_str(c, t));
    check_args_only(c, args, 0);
    return err();
  }
  if (n->u.call.type_args.n) {
    diag_add(c->dl, D_E0314, n->span, NULL, "a function value takes no type arguments");
    check_args_only(c, args, 0);
    return err();
  }
  Sig sig;
  memset(&sig, 0, sizeof sig);
  sig.params = t->params;
  sig.nparams = sig.nrequired = t->nparams;
  sig.ret = t->ret;
  return apply_sig(c, n, "this function", &sig, want, NULL, NULL);
}
