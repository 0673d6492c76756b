/* cost.c — static upper bounds on model calls and output tokens
 * (`weft check --cost`).
 *
 * Works on the checked AST of a program (it loads and checks the program
 * itself, so the compiler pipeline is untouched). Every expression gets a
 * Cost: a polynomial bound on the model calls it can make and on the
 * output tokens those calls can produce, or "unbounded" with a reason.
 * The variables of the polynomials are main's inputs: `len(xs)` for a list
 * parameter, `n` for an int parameter. All variables are taken as
 * non-negative (a negative count runs nothing), which is what makes the
 * coefficient-wise maximum a sound bound for `if`/`match`.
 *
 * Besides the cost, each expression gets an abstract value (Val): an upper
 * bound on an int's value or a list's length when one is known, a lambda
 * or function (so calls through parameters of map/filter/... reach the
 * lambda's body), or unknown — remembering whether it came from a model
 * reply, for better messages.
 *
 * Rules (docs/cli.md): an ask is 1 call, or 1 + repairs for a typed ask
 * (transport retries are not calls of the program); a generate is 1 +
 * its role's repairs (3 unless set), and a call of the function it gives
 * is a call of a function value not known statically; a verify is its asks
 * (one per role); a tournament over n is 2(n-1) judge calls for a bracket,
 * n(n-1) round robin, N*n for swiss N; fan-out, for and loops multiply their
 * body; if/match take the maximum; a call costs its callee's body,
 * analysed with the arguments' abstract values; recursion that can reach a
 * model call is unbounded. */
#include "compiler.h"
#include "desugar.h"
#include "front.h"
#include "../base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- polynomials ------------------------------------------------------ */

#define MAX_DEG 8       /* a monomial with more factors is reported as overflow */
#define MAX_WORK 2000000u /* node visits before giving up (deep call chains) */

typedef struct Mono { int64_t coef; uint8_t nv; uint16_t v[MAX_DEG]; } Mono;
typedef struct Poly { Mono *m; uint32_t n; bool over; } Poly;

typedef struct Cx Cx;

typedef enum VKind { V_UNKNOWN, V_BOUND, V_LAMBDA, V_FN } VKind;
typedef struct Val {
  VKind k;
  Poly p;          /* V_BOUND: upper bound on an int's value / a list's length */
  Node *fn;        /* V_LAMBDA: the N_LAMBDA; V_FN: the N_FN */
  bool model;      /* V_UNKNOWN: derived from a model reply */
} Val;

typedef struct Cost {
  bool unb;
  const char *why; /* arena string */
  Poly calls, toks;
  int64_t tok1;    /* the most output tokens one of these calls can produce */
  const char *fix; /* how to bound it (a static string), printed as help */
} Cost;

typedef struct Bind { Symbol *sym; Val v; } Bind;
typedef struct FnInfo { Node *fn; bool asks; Node **callees; uint32_t ncallees, cap; } FnInfo;

struct Cx {
  Arena a;
  Program *p;
  const char **vars; uint32_t nvars, vars_cap;
  Bind *env; uint32_t nenv, env_cap;
  Node **stack; uint32_t nstack, stack_cap;   /* functions being analysed */
  FnInfo *fns; uint32_t nfns, fns_cap;
  Node *std_site;        /* the user-code call that entered the stdlib */
  const char *std_name;
  uint64_t work;
  bool gave_up;
  uint32_t note_cap;     /* cost_concurrency_notes: the bound fan-out limits are noted above */
};

static Poly poly_zero(void) { return (Poly){ NULL, 0, false }; }

static int mono_cmp_vars(const Mono *a, const Mono *b) {
  if (a->nv != b->nv) return a->nv < b->nv ? -1 : 1;
  for (uint8_t i = 0; i < a->nv; i++)
    if (a->v[i] != b->v[i]) return a->v[i] < b->v[i] ? -1 : 1;
  return 0;
}

/* Sorts terms (degree, then variables), merges like terms, drops zeros. */
static Poly poly_norm(Cx *cx, Mono *m, uint32_t n, bool over) {
  for (uint32_t i = 1; i < n; i++) { /* insertion sort: polynomials are tiny */
    Mono t = m[i];
    uint32_t j = i;
    while (j > 0 && mono_cmp_vars(&m[j - 1], &t) > 0) { m[j] = m[j - 1]; j--; }
    m[j] = t;
  }
  Poly r = { arena_alloc(&cx->a, (n ? n : 1) * sizeof(Mono)), 0, over };
  for (uint32_t i = 0; i < n; i++) {
    if (r.n && mono_cmp_vars(&r.m[r.n - 1], &m[i]) == 0) {
      if (__builtin_add_overflow(r.m[r.n - 1].coef, m[i].coef, &r.m[r.n - 1].coef)) r.over = true;
    } else {
      r.m[r.n++] = m[i];
    }
  }
  uint32_t k = 0;
  for (uint32_t i = 0; i < r.n; i++)
    if (r.m[i].coef != 0) r.m[k++] = r.m[i];
  r.n = k;
  return r;
}

static Poly poly_const(Cx *cx, int64_t c) {
  Mono m = { c, 0, { 0 } };
  return poly_norm(cx, &m, 1, false);
}

static Poly poly_var(Cx *cx, uint16_t v) {
  Mono m = { 1, 1, { v } };
  return poly_norm(cx, &m, 1, false);
}

static Poly poly_add(Cx *cx, Poly a, Poly b) {
  Mono *m = arena_alloc(&cx->a, (a.n + b.n + 1) * sizeof(Mono));
  if (a.n) memcpy(m, a.m, a.n * sizeof(Mono));
  if (b.n) memcpy(m + a.n, b.m, b.n * sizeof(Mono));
  return poly_norm(cx, m, a.n + b.n, a.over || b.over);
}

static Poly poly_mul(Cx *cx, Poly a, Poly b) {
  bool over = a.over || b.over;
  uint64_t n = (uint64_t)a.n * b.n;
  if (n > 4096) return (Poly){ NULL, 0, true };
  Mono *m = arena_alloc(&cx->a, (size_t)(n + 1) * sizeof(Mono));
  uint32_t k = 0;
  for (uint32_t i = 0; i < a.n; i++)
    for (uint32_t j = 0; j < b.n; j++) {
      Mono t = { 0, 0, { 0 } };
      if (__builtin_mul_overflow(a.m[i].coef, b.m[j].coef, &t.coef)) over = true;
      if (a.m[i].nv + b.m[j].nv > MAX_DEG) { over = true; continue; }
      /* merge the two sorted variable lists */
      uint8_t x = 0, y = 0;
      while (x < a.m[i].nv || y < b.m[j].nv) {
        if (y >= b.m[j].nv || (x < a.m[i].nv && a.m[i].v[x] <= b.m[j].v[y])) t.v[t.nv++] = a.m[i].v[x++];
        else t.v[t.nv++] = b.m[j].v[y++];
      }
      m[k++] = t;
    }
  return poly_norm(cx, m, k, over);
}

/* Coefficient-wise maximum: an upper bound of both (variables are >= 0). */
static Poly poly_max(Cx *cx, Poly a, Poly b) {
  Mono *m = arena_alloc(&cx->a, (a.n + b.n + 1) * sizeof(Mono));
  uint32_t k = 0;
  for (uint32_t i = 0; i < a.n; i++) {
    Mono t = a.m[i];
    bool found = false;
    for (uint32_t j = 0; j < b.n; j++)
      if (mono_cmp_vars(&t, &b.m[j]) == 0) {
        found = true;
        if (b.m[j].coef > t.coef) t.coef = b.m[j].coef;
      }
    if (!found && t.coef < 0) t.coef = 0;
    m[k++] = t;
  }
  for (uint32_t j = 0; j < b.n; j++) {
    bool found = false;
    for (uint32_t i = 0; i < a.n; i++)
      if (mono_cmp_vars(&a.m[i], &b.m[j]) == 0) found = true;
    if (!found) {
      m[k] = b.m[j];
      if (m[k].coef < 0) m[k].coef = 0;
      k++;
    }
  }
  return poly_norm(cx, m, k, a.over || b.over);
}

static bool poly_is_zero(Poly a) { return !a.over && a.n == 0; }

/* Whether a <= b for every value of the variables (all >= 0): b - a has
 * no negative coefficient. */
static bool poly_le(Cx *cx, Poly a, Poly b) {
  if (a.over || b.over) return false;
  Poly neg = { arena_alloc(&cx->a, (a.n ? a.n : 1) * sizeof(Mono)), a.n, false };
  for (uint32_t i = 0; i < a.n; i++) {
    neg.m[i] = a.m[i];
    if (a.m[i].coef == INT64_MIN) return false;
    neg.m[i].coef = -a.m[i].coef;
  }
  Poly d = poly_add(cx, b, neg);
  if (d.over) return false;
  for (uint32_t i = 0; i < d.n; i++)
    if (d.m[i].coef < 0) return false;
  return true;
}

/* An upper bound of x / k (integer division, k >= 2) given x <= a (a >= 0):
 * for a = p + c, with c the constant term, floor((p + c) / k) <= p +
 * floor(c / k), since floor((p + r) / k) <= p for 0 <= r < k and p >= 0.
 * This is what makes a halving loop (n -> (n + 1) / 2) keep its bound. */
static Poly poly_div_const(Cx *cx, Poly a, int64_t k) {
  if (a.over || k < 2) return a;
  Mono *m = arena_alloc(&cx->a, (a.n + 1) * sizeof(Mono));
  uint32_t n = 0;
  for (uint32_t i = 0; i < a.n; i++) {
    m[n] = a.m[i];
    if (m[n].nv == 0) {
      if (m[n].coef < 0) return a;
      m[n].coef /= k;
    }
    n++;
  }
  return poly_norm(cx, m, n, false);
}

static bool poly_is_one(Poly a) { return !a.over && a.n == 1 && a.m[0].nv == 0 && a.m[0].coef == 1; }

static void poly_print(Cx *cx, Buf *b, Poly a) {
  if (a.over) {
    buf_puts(b, "more than 9.2e18");
    return;
  }
  if (a.n == 0) {
    buf_puts(b, "0");
    return;
  }
  for (uint32_t i = 0; i < a.n; i++) {
    int64_t c = a.m[i].coef;
    uint64_t mag = c < 0 ? (uint64_t)0 - (uint64_t)c : (uint64_t)c;
    if (i == 0) { if (c < 0) buf_puts(b, "-"); }
    else buf_puts(b, c < 0 ? " - " : " + ");
    bool coef_shown = a.m[i].nv == 0 || mag != 1;
    if (coef_shown) buf_printf(b, "%llu", (unsigned long long)mag);
    for (uint8_t j = 0; j < a.m[i].nv; j++) {
      if (coef_shown || j) buf_putc(b, '*');
      buf_puts(b, cx->vars[a.m[i].v[j]]);
    }
  }
}

/* ---- costs and values ------------------------------------------------- */

static Cost cost_zero(void) { return (Cost){ false, NULL, poly_zero(), poly_zero(), 0, NULL }; }

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static bool cost_is_zero(Cost c) { return !c.unb && poly_is_zero(c.calls) && poly_is_zero(c.toks); }

static Cost cost_add(Cx *cx, Cost a, Cost b) {
  if (a.unb) return a;
  if (b.unb) return b;
  return (Cost){ false, NULL, poly_add(cx, a.calls, b.calls), poly_add(cx, a.toks, b.toks),
                 max64(a.tok1, b.tok1), NULL };
}

static Cost cost_times(Cx *cx, Cost a, Poly f) {
  if (a.unb || cost_is_zero(a)) return a;
  return (Cost){ false, NULL, poly_mul(cx, a.calls, f), poly_mul(cx, a.toks, f), a.tok1, NULL };
}

static Cost cost_max(Cx *cx, Cost a, Cost b) {
  if (a.unb) return a;
  if (b.unb) return b;
  return (Cost){ false, NULL, poly_max(cx, a.calls, b.calls), poly_max(cx, a.toks, b.toks),
                 max64(a.tok1, b.tok1), NULL };
}

static Val val_unknown(void) { return (Val){ V_UNKNOWN, { NULL, 0, false }, NULL, false }; }
static Val val_bound(Poly p) { return (Val){ V_BOUND, p, NULL, false }; }
static Val val_model(void) { Val v = val_unknown(); v.model = true; return v; }

static const char *node_path(Cx *cx, const Node *n) {
  Source *s = src_get(cx->p->sources, n->span.file);
  return s && s->path ? s->path : "?";
}

static uint32_t node_line(Cx *cx, const Node *n) {
  Source *s = src_get(cx->p->sources, n->span.file);
  uint32_t line = 0, col = 0;
  if (s) src_line_col(s, n->span.start, &line, &col);
  return line;
}

static bool in_std(Cx *cx, const Node *n) {
  ProgramFile *f = load_find_file(cx->p, n->span.file);
  return f && f->is_std;
}

/* An unbounded cost; `what` describes the construct, the location is
 * added — the call site in the user's code when `n` is in the stdlib. */
static Cost unbounded(Cx *cx, const Node *n, const char *what, const char *fix) {
  Buf b;
  buf_init(&b);
  if (in_std(cx, n) && cx->std_site)
    buf_printf(&b, "%s in `%s` called at %s:%u", what, cx->std_name ? cx->std_name : "?",
               node_path(cx, cx->std_site), node_line(cx, cx->std_site));
  else
    buf_printf(&b, "%s at %s:%u", what, node_path(cx, n), node_line(cx, n));
  Cost c = cost_zero();
  c.unb = true;
  c.why = arena_strndup(&cx->a, b.data ? b.data : "", b.len);
  c.fix = fix;
  buf_free(&b);
  return c;
}

/* unbounded() with the description made of two parts */
static Cost unbounded2(Cx *cx, const Node *n, const char *a, const char *b, const char *fix) {
  Buf w;
  buf_init(&w);
  buf_puts(&w, a);
  buf_puts(&w, b);
  Cost c = unbounded(cx, n, w.data ? w.data : "", fix);
  buf_free(&w);
  return c;
}

static void env_push(Cx *cx, Symbol *s, Val v) {
  if (!s) return;
  if (cx->nenv == cx->env_cap) {
    cx->env_cap = cx->env_cap ? cx->env_cap * 2 : 64;
    cx->env = xrealloc(cx->env, cx->env_cap * sizeof *cx->env);
  }
  cx->env[cx->nenv++] = (Bind){ s, v };
}

static Val env_get(Cx *cx, Symbol *s) {
  for (uint32_t i = cx->nenv; i-- > 0;)
    if (cx->env[i].sym == s) return cx->env[i].v;
  return val_unknown();
}

/* ---- which functions can reach a model call --------------------------- */

static FnInfo *fn_info(Cx *cx, Node *fn) {
  for (uint32_t i = 0; i < cx->nfns; i++)
    if (cx->fns[i].fn == fn) return &cx->fns[i];
  return NULL;
}

static void fn_add_callee(FnInfo *f, Node *callee) {
  if (f->ncallees == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 8;
    f->callees = xrealloc(f->callees, f->cap * sizeof *f->callees);
  }
  f->callees[f->ncallees++] = callee;
}

static void scan_list(Cx *cx, FnInfo *f, NodeList *l);
static void note_fanout(Cx *cx, Node *n);

/* Syntactic scan of a function body: does it ask (or call a function
 * value, which might), and which functions does it name? */
static void scan(Cx *cx, FnInfo *f, Node *n) {
  if (!n) return;
  switch (n->kind) {
  case N_ASK:
    f->asks = true;
    scan(cx, f, n->u.ask.lowered); /* a tool-calling loop calls its tools */
    break;
  case N_GENERATE: f->asks = true; break;
  case N_NAME: case N_FIELD:
    if (n->sym && n->sym->kind == SYM_FN && n->sym->decl) fn_add_callee(f, n->sym->decl);
    break;
  case N_CALL: {
    CallInfo *ci = n->extra;
    if (ci && ci->kind == CALL_VALUE) f->asks = true;
    if (ci && ci->kind == CALL_FN && ci->fn_decl) fn_add_callee(f, ci->fn_decl);
    break;
  }
  default: break;
  }
  switch (n->kind) {
  case N_FIELD_INIT: case N_MAP_ENTRY: scan(cx, f, n->u.init.key); scan(cx, f, n->u.init.value); break;
  case N_MATCH_ARM: scan(cx, f, n->u.arm.body); break;
  case N_LET: case N_VAR: scan(cx, f, n->u.decl.value); break;
  case N_PARAM: scan(cx, f, n->u.param.def); break;
  case N_ASSIGN: scan(cx, f, n->u.assign.value); break;
  case N_EXPR_STMT: case N_RETURN: scan(cx, f, n->u.stmt.expr); break;
  case N_FOR: scan(cx, f, n->u.for_.iter); scan(cx, f, n->u.for_.body); break;
  case N_INTERP: scan_list(cx, f, &n->u.interp.parts); break;
  case N_LIST: case N_RECORD: case N_MAP: scan_list(cx, f, &n->u.list.items); break;
  case N_UNARY: case N_TRY: scan(cx, f, n->u.unary.operand); break;
  case N_BINARY: scan(cx, f, n->u.binary.lhs); scan(cx, f, n->u.binary.rhs); break;
  case N_CALL: scan(cx, f, n->u.call.callee); scan_list(cx, f, &n->u.call.args); break;
  case N_FIELD: scan(cx, f, n->u.field.object); break;
  case N_INDEX: scan(cx, f, n->u.index.object); scan(cx, f, n->u.index.index); break;
  case N_WITH: scan(cx, f, n->u.with.object); scan_list(cx, f, &n->u.with.fields); break;
  case N_VARIANT: scan_list(cx, f, &n->u.variant.fields); break;
  case N_IF: scan(cx, f, n->u.if_.cond); scan(cx, f, n->u.if_.then_); scan(cx, f, n->u.if_.else_); break;
  case N_MATCH: scan(cx, f, n->u.match_.subject); scan_list(cx, f, &n->u.match_.arms); break;
  case N_BLOCK: scan_list(cx, f, &n->u.block.stmts); break;
  case N_LAMBDA: scan(cx, f, n->u.lambda.body); break;
  case N_ASK: scan(cx, f, n->u.ask.role); scan(cx, f, n->u.ask.with); scan(cx, f, n->u.ask.prompt); break;
  case N_GENERATE: scan(cx, f, n->u.gen.prompt); break;
  case N_LOOP:
    scan(cx, f, n->u.loop.init); scan(cx, f, n->u.loop.max); scan(cx, f, n->u.loop.body);
    scan(cx, f, n->u.loop.until); scan(cx, f, n->u.loop.else_);
    break;
  case N_FANOUT:
    if (cx->note_cap) note_fanout(cx, n);
    scan(cx, f, n->u.fanout.iter); scan(cx, f, n->u.fanout.limit);
    scan(cx, f, n->u.fanout.branch); scan_list(cx, f, &n->u.fanout.fields); break;
  case N_BARRIER: scan(cx, f, n->u.barrier.tasks); scan(cx, f, n->u.barrier.tolerate);
    scan(cx, f, n->u.barrier.first); scan(cx, f, n->u.barrier.timeout); break;
  case N_VERIFY: scan(cx, f, n->u.verify.lowered); break;
  case N_TOURNAMENT: scan(cx, f, n->u.tourn.lowered); break;
  case N_BUDGET: scan_list(cx, f, &n->u.budget.limits); scan(cx, f, n->u.budget.body);
    scan(cx, f, n->u.budget.else_); break;
  case N_INT: case N_FLOAT: case N_BOOL: case N_NONE: case N_STRING: case N_DURATION:
  case N_PERCENT: case N_NAME: case N_BREAK: case N_CONTINUE: case N_ROLE_INDEX: case N_ERROR:
    break;
  default:
    f->asks = true; /* a construct this pass does not know: assume the worst */
    break;
  }
}

static void scan_list(Cx *cx, FnInfo *f, NodeList *l) {
  for (uint32_t i = 0; i < l->n; i++) scan(cx, f, l->items[i]);
}

/* Finds every function, scans it, and propagates "asks" along calls to a
 * fixed point (so mutually recursive pure helpers stay free). */
static void scan_program(Cx *cx) {
  for (uint32_t fi = 0; fi < cx->p->nfiles; fi++) {
    NodeList *items = &cx->p->files[fi].ast.items;
    for (uint32_t i = 0; i < items->n; i++) {
      Node *it = items->items[i];
      if (it->kind != N_FN) continue;
      if (cx->nfns == cx->fns_cap) {
        cx->fns_cap = cx->fns_cap ? cx->fns_cap * 2 : 64;
        cx->fns = xrealloc(cx->fns, cx->fns_cap * sizeof *cx->fns);
      }
      FnInfo *f = &cx->fns[cx->nfns++];
      memset(f, 0, sizeof *f);
      f->fn = it;
      scan(cx, f, it->u.fn.body);
      scan_list(cx, f, &it->u.fn.params); /* defaults */
    }
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t i = 0; i < cx->nfns; i++) {
      FnInfo *f = &cx->fns[i];
      if (f->asks) continue;
      for (uint32_t j = 0; j < f->ncallees && !f->asks; j++) {
        FnInfo *g = fn_info(cx, f->callees[j]);
        if (g && g->asks) f->asks = changed = true;
      }
    }
  }
}

/* ---- the analysis ------------------------------------------------------- */

static Cost ex(Cx *cx, Node *n, Val *out);

static Cost ex_list(Cx *cx, NodeList *l) {
  Cost c = cost_zero();
  for (uint32_t i = 0; i < l->n; i++) c = cost_add(cx, c, ex(cx, l->items[i], NULL));
  return c;
}

static const RoleDesc *role_of(Node *ask) {
  Node *r = ask->u.ask.role;
  if (!r || !r->sym || r->sym->kind != SYM_ROLE || !r->sym->decl) return NULL;
  return r->sym->decl->extra;
}

/* The constant max_tokens an ask gives itself (`with { max_tokens: 200 }`),
 * or -1: it bounds the output whatever the role says. */
static int64_t ask_max_tokens(const Node *n) {
  const Node *w = n->u.ask.with;
  if (!w || w->kind != N_RECORD) return -1;
  for (uint32_t i = 0; i < w->u.list.items.n; i++) {
    const Node *f = w->u.list.items.items[i];
    if (f && f->kind == N_FIELD_INIT && strcmp(f->u.init.name, "max_tokens") == 0 && f->u.init.value &&
        f->u.init.value->kind == N_INT && f->u.init.value->u.lit.i >= 1)
      return f->u.init.value->u.lit.i;
  }
  return -1;
}

/* An ask whose role is a value may reach any role item (role values come
 * only from role items): the bound takes the most repairs and the most
 * output tokens among all of them. */
static void worst_role(Cx *cx, int64_t *repairs, int64_t *maxtok) {
  *repairs = 0;
  *maxtok = 1;
  for (uint32_t fi = 0; fi < cx->p->nfiles; fi++) {
    NodeList *items = &cx->p->files[fi].ast.items;
    for (uint32_t i = 0; i < items->n; i++) {
      const Node *it = items->items[i];
      const RoleDesc *rd = it && it->kind == N_ROLE ? it->extra : NULL;
      if (!rd) continue;
      int64_t r = rd->repairs >= 0 ? rd->repairs : 2, t = rd->max_tokens >= 1 ? rd->max_tokens : 4096;
      if (r > *repairs) *repairs = r;
      if (t > *maxtok) *maxtok = t;
    }
  }
}

/* One ask: 1 call for text, 1 + repairs for a typed reply. */
static Cost ask_cost(Cx *cx, Node *n) {
  const RoleDesc *rd = role_of(n);
  int64_t repairs = rd && rd->repairs >= 0 ? rd->repairs : 2;
  int64_t maxtok = rd && rd->max_tokens >= 1 ? rd->max_tokens : 4096;
  if (!rd) worst_role(cx, &repairs, &maxtok);
  int64_t own = ask_max_tokens(n);
  if (own >= 1) maxtok = own;
  int64_t calls = n->u.ask.type ? 1 + repairs : 1;
  Cost c = cost_zero();
  c.calls = poly_const(cx, calls);
  c.toks = poly_mul(cx, c.calls, poly_const(cx, maxtok));
  c.tok1 = maxtok;
  return c;
}

/* A generate: the planner's first answer and at most `repairs` more (the
 * runtime's default for a generate is 3, more than an ask's 2: a program
 * fails to compile more often than a reply fails its type). The calls of
 * the function it gives are a separate matter: a call of that value is
 * one the analysis cannot see into. */
static Cost generate_cost(Cx *cx, Node *n) {
  Node *r = n->u.gen.role;
  const RoleDesc *rd = r && r->sym && r->sym->kind == SYM_ROLE && r->sym->decl ? r->sym->decl->extra : NULL;
  int64_t repairs = rd && rd->repairs >= 0 ? rd->repairs : 3;
  int64_t maxtok = rd && rd->max_tokens >= 1 ? rd->max_tokens : 4096;
  Cost c = cost_zero();
  c.calls = poly_const(cx, 1 + repairs);
  c.toks = poly_mul(cx, c.calls, poly_const(cx, maxtok));
  c.tok1 = maxtok;
  return c;
}

/* `body` repeated `count` times; `count` unknown makes a nonzero body
 * unbounded with the reason `what`. */
static Cost repeat(Cx *cx, Cost body, Val count, Node *at, const char *what) {
  if (body.unb || cost_is_zero(body)) return body;
  if (count.k == V_BOUND) return cost_times(cx, body, count.p);
  if (count.model)
    return unbounded2(cx, at, what, " over a model-produced list has no cap",
                      "cap the list before going over it, e.g. `take(xs, 10)`, or ask for a "
                      "fixed number of items (a record with one field per item)");
  return unbounded2(cx, at, what, " over a list whose length is not known statically",
                    "go over a list whose length is known: a parameter of main, a literal, "
                    "`range(N)` with a constant N, or one capped with `take(xs, N)`");
}

static bool is_name(const char *a, const char *b) { return a && strcmp(a, b) == 0; }

/* Calling the function or lambda `fnv` with argument values `args`; the
 * value it gives goes to `*ret` when the analysis knows one. */
static Cost call_value(Cx *cx, Val fnv, Val *args, uint32_t nargs, Node *site, Val *ret) {
  Node *fn = fnv.fn;
  if (fnv.k == V_LAMBDA) {
    uint32_t mark = cx->nenv;
    for (uint32_t i = 0; i < fn->u.lambda.params.n && i < nargs; i++)
      env_push(cx, fn->u.lambda.params.items[i]->sym, args[i]);
    Cost c = ex(cx, fn->u.lambda.body, ret);
    cx->nenv = mark;
    return c;
  }
  if (fnv.k != V_FN && fnv.model)
    return unbounded(cx, site, "a call of a function a model wrote (generate)",
                     "run it under a budget: `budget { calls: N } { f(x) }`");
  if (fnv.k != V_FN)
    return unbounded(cx, site, "a call of a function value not known statically",
                     "call the function by its name, or pass the lambda directly where it is "
                     "called");
  FnInfo *fi = fn_info(cx, fn);
  bool fn_args = false;
  for (uint32_t i = 0; i < nargs; i++)
    if (args[i].k == V_LAMBDA || args[i].k == V_FN) fn_args = true;
  if (fi && !fi->asks && !fn_args) return cost_zero();
  for (uint32_t i = 0; i < cx->nstack; i++)
    if (cx->stack[i] == fn)
      return unbounded2(cx, site, "recursive function ", fn->u.fn.name,
                        "replace the recursion by a bounded loop: `loop s = init max N { ... } "
                        "until done(s)`, or a `for` over a list of known length");
  if (cx->nstack == cx->stack_cap) {
    cx->stack_cap = cx->stack_cap ? cx->stack_cap * 2 : 16;
    cx->stack = xrealloc(cx->stack, cx->stack_cap * sizeof *cx->stack);
  }
  cx->stack[cx->nstack++] = fn;
  Node *saved_site = cx->std_site;
  const char *saved_name = cx->std_name;
  if (!cx->std_site && in_std(cx, fn) && !in_std(cx, site)) {
    cx->std_site = site;
    cx->std_name = fn->u.fn.name;
  }
  uint32_t mark = cx->nenv;
  Cost c = cost_zero();
  for (uint32_t i = 0; i < fn->u.fn.params.n; i++) {
    Node *pn = fn->u.fn.params.items[i];
    Val v = val_unknown();
    if (i < nargs) v = args[i];
    else if (pn->u.param.def) c = cost_add(cx, c, ex(cx, pn->u.param.def, &v));
    env_push(cx, pn->sym, v);
  }
  c = cost_add(cx, c, ex(cx, fn->u.fn.body, ret));
  cx->nenv = mark;
  cx->std_site = saved_site;
  cx->std_name = saved_name;
  cx->nstack--;
  return c;
}

/* The abstract value a native gives, from its arguments'. */
static Val native_val(Cx *cx, const char *name, Val *args, uint32_t nargs, Node *const *argn) {
  if (nargs >= 1 && args[0].k == V_BOUND &&
      (is_name(name, "len") || is_name(name, "sort") || is_name(name, "reverse") ||
       is_name(name, "unique") || is_name(name, "enumerate") || is_name(name, "sort_by_keys") ||
       is_name(name, "drop") || is_name(name, "take") || is_name(name, "zip")))
    return args[0];
  if (is_name(name, "take") && nargs == 2 && args[1].k == V_BOUND) return args[1];
  if (is_name(name, "range") && nargs == 1 && args[0].k == V_BOUND) return args[0];
  /* range(a, b) has b - a elements: at most b when a >= 0 is a literal */
  if (is_name(name, "range") && nargs == 2 && args[1].k == V_BOUND && argn[0]->kind == N_INT &&
      argn[0]->u.lit.i >= 0)
    return args[1];
  (void)cx;
  return val_unknown();
}

static Cost ex_call(Cx *cx, Node *n, Val *out) {
  CallInfo *ci = n->extra;
  uint32_t na = n->u.call.args.n;
  Val *args = arena_alloc(&cx->a, (na + 1) * sizeof(Val));
  Cost c = cost_zero();
  for (uint32_t i = 0; i < na; i++) c = cost_add(cx, c, ex(cx, n->u.call.args.items[i], &args[i]));
  *out = val_unknown();
  if (!ci) return c;
  if (ci->kind == CALL_NATIVE || ci->kind == CALL_FROM_JSON) {
    const char *name = n->u.call.callee->kind == N_NAME ? n->u.call.callee->u.name.id
                       : n->u.call.callee->kind == N_FIELD ? n->u.call.callee->u.field.name : NULL;
    if (ci->kind == CALL_NATIVE) *out = native_val(cx, name, args, na, n->u.call.args.items);
    for (uint32_t i = 0; i < na; i++) /* a native never calls back (prelude.weft, top) */
      if (args[i].model) out->model = true;
    return c;
  }
  Val fnv;
  if (ci->kind == CALL_FN && ci->fn_decl) {
    fnv = (Val){ V_FN, { NULL, 0, false }, ci->fn_decl, false };
    const char *nm = ci->fn_decl->u.fn.name;
    if (in_std(cx, ci->fn_decl) && na >= 1 && args[0].k == V_BOUND &&
        (is_name(nm, "map") || is_name(nm, "filter") || is_name(nm, "sort_by")))
      *out = args[0];
    else if (in_std(cx, ci->fn_decl) && na >= 1 && args[0].model)
      out->model = true;
  } else {
    c = cost_add(cx, c, ex(cx, n->u.call.callee, &fnv));
  }
  Val r = val_unknown();
  c = cost_add(cx, c, call_value(cx, fnv, args, na, n, &r));
  if (out->k != V_BOUND && r.k == V_BOUND) *out = r;
  return c;
}

/* tournament: the judge's ask times the number of judge calls, which the
 * format's entry in the one table of formats (desugar.c) gives. */
static Cost ex_tournament(Cx *cx, Node *n) {
  TournamentParts t;
  if (!tournament_parts(n, &t)) return ex(cx, n->u.tourn.lowered, NULL);
  Cost c = ex(cx, t.criterion_let, NULL); /* let __criterion = … */
  Val items, rounds = val_unknown();
  c = cost_add(cx, c, ex(cx, t.items, &items));
  if (t.rounds) c = cost_add(cx, c, ex(cx, t.rounds, &rounds));
  Cost judge = ex(cx, t.judge->u.lambda.body, NULL);
  if (judge.unb) return judge;
  if (items.k != V_BOUND)
    return cost_add(cx, c, repeat(cx, judge, items, n, "tournament"));
  const TournamentFormat *f = t.format;
  Poly len = items.p;
  if (f->rounds && rounds.k != V_BOUND)
    return unbounded(cx, n, "tournament with a number of swiss rounds not known statically",
                     "write the rounds as a constant (`swiss 3`) or an int parameter of main");
  Poly games = poly_zero();
  if (f->n2) games = poly_add(cx, games, poly_mul(cx, poly_const(cx, f->n2), poly_mul(cx, len, len)));
  if (f->n1) games = poly_add(cx, games, poly_mul(cx, poly_const(cx, f->n1), len));
  if (f->c) games = poly_add(cx, games, poly_const(cx, f->c));
  if (f->rn) games = poly_add(cx, games, poly_mul(cx, poly_const(cx, f->rn), poly_mul(cx, rounds.p, len)));
  /* a single candidate (or none) makes no call: never report less than 0 */
  if (!games.over && games.n && games.m[0].nv == 0 && games.n == 1 && games.m[0].coef < 0)
    games = poly_zero();
  return cost_add(cx, c, cost_times(cx, judge, games));
}

static Cost ex_block(Cx *cx, Node *n, Val *out) {
  Cost c = cost_zero();
  uint32_t mark = cx->nenv;
  NodeList *l = &n->u.block.stmts;
  for (uint32_t i = 0; i < l->n; i++) {
    Node *s = l->items[i];
    Val v = val_unknown();
    c = cost_add(cx, c, ex(cx, s, &v));
    if (i + 1 == l->n && n->u.block.has_value && s->kind == N_EXPR_STMT) *out = v;
  }
  cx->nenv = mark;
  return c;
}

static bool poly_const_value(Poly a, int64_t *c) {
  if (a.over) return false;
  if (a.n == 0) *c = 0;
  else if (a.n == 1 && a.m[0].nv == 0) *c = a.m[0].coef;
  else return false;
  return true;
}

/* A budget block: the body's calls are capped by a `calls:` limit known
 * statically (calls are charged at admission, so the cap is exact); the
 * smaller bound wins when both are constants, a constant limit beats a
 * body bound that grows with the inputs; the output tokens are then at
 * most that many calls of the largest `max_tokens` among them. The else
 * branch adds its own cost. `tokens:` does not cap the token bound: it is checked at
 * admission, so calls in flight overshoot it (vm/tasks.c "budgets"). A
 * body whose calls are unbounded stays unbounded: its tokens would be. */
static Cost ex_budget(Cx *cx, Node *n) {
  Cost c = cost_zero();
  Val calls = val_unknown();
  NodeList *ls = &n->u.budget.limits;
  for (uint32_t i = 0; i < ls->n; i++) {
    Node *l = ls->items[i];
    if (!l || l->kind != N_FIELD_INIT) continue;
    Val v = val_unknown();
    c = cost_add(cx, c, ex(cx, l->u.init.value, &v));
    if (is_name(l->u.init.name, "calls")) calls = v;
  }
  Node *b = n->u.budget.body, *e = n->u.budget.else_;
  Cost body = b && b->kind == N_LAMBDA ? ex(cx, b->u.lambda.body, NULL) : ex(cx, b, NULL);
  Cost els = e && e->kind == N_LAMBDA ? ex(cx, e->u.lambda.body, NULL) : ex(cx, e, NULL);
  int64_t lim, have, toks;
  if (!body.unb && calls.k == V_BOUND && poly_const_value(calls.p, &lim) &&
      (!poly_const_value(body.calls, &have) || lim < have)) {
    body.calls = poly_const(cx, lim);
    /* at most `lim` calls, none producing more than the largest max_tokens */
    int64_t cap;
    if (!__builtin_mul_overflow(lim, body.tok1, &cap) &&
        (!poly_const_value(body.toks, &toks) || cap < toks))
      body.toks = poly_const(cx, cap);
  }
  return cost_add(cx, cost_add(cx, c, body), els);
}

static Cost ex_node(Cx *cx, Node *n, Val *outp);

/* Rule: a value whose type has an upper range bound (a list's items, an
 * int's value) is bounded by it, wherever it came from: `fanout t in ask r
 * "…" -> list[T](..5)` runs 5 branches at most, since a longer reply
 * fails validation (docs/language.md, "Constrained types"). */
static Cost ex(Cx *cx, Node *n, Val *outp) {
  Val dummy;
  Val *out = outp ? outp : &dummy;
  Cost c = ex_node(cx, n, out);
  const Type *t = n ? n->type : NULL;
  if (t && t->range && t->range->has_hi && !t->range->is_float && (t->kind == TY_LIST || t->kind == TY_INT) &&
      out->k != V_BOUND)
    *out = val_bound(poly_const(cx, t->range->hi > 0 ? t->range->hi : 0));
  return c;
}

static Cost ex_node(Cx *cx, Node *n, Val *outp) {
  Val dummy;
  Val *out = outp ? outp : &dummy;
  *out = val_unknown();
  if (!n) return cost_zero();
  if (++cx->work > MAX_WORK) {
    if (!cx->gave_up) {
      cx->gave_up = true;
      return unbounded(cx, n, "the program is too large to analyse (stopped)",
                       "split the work into smaller functions with fewer nested calls");
    }
    return unbounded(cx, n, "analysis stopped",
                     "split the work into smaller functions with fewer nested calls");
  }
  switch (n->kind) {
  case N_INT:
    *out = val_bound(poly_const(cx, n->u.lit.i > 0 ? n->u.lit.i : 0));
    return cost_zero();
  case N_FLOAT: case N_BOOL: case N_NONE: case N_STRING: case N_DURATION: case N_PERCENT:
  case N_BREAK: case N_CONTINUE: case N_ROLE_INDEX: case N_ERROR:
    return cost_zero();
  case N_NAME:
    if (n->sym && n->sym->kind == SYM_LOCAL) *out = env_get(cx, n->sym);
    else if (n->sym && n->sym->kind == SYM_FN && n->sym->decl)
      *out = (Val){ V_FN, { NULL, 0, false }, n->sym->decl, false };
    return cost_zero();
  case N_INTERP: return ex_list(cx, &n->u.interp.parts);
  case N_LIST:
    *out = val_bound(poly_const(cx, n->u.list.items.n));
    return ex_list(cx, &n->u.list.items);
  case N_RECORD: case N_MAP: return ex_list(cx, &n->u.list.items);
  case N_FIELD_INIT: case N_MAP_ENTRY:
    return cost_add(cx, ex(cx, n->u.init.key, NULL), ex(cx, n->u.init.value, out));
  case N_UNARY: case N_TRY: {
    Val v;
    Cost c = ex(cx, n->u.unary.operand, &v);
    out->model = v.model;
    return c;
  }
  case N_BINARY: {
    Val a, b;
    Cost c = cost_add(cx, ex(cx, n->u.binary.lhs, &a), ex(cx, n->u.binary.rhs, &b));
    Op op = n->u.binary.op;
    if (a.k == V_BOUND && b.k == V_BOUND && op == AOP_ADD) *out = val_bound(poly_add(cx, a.p, b.p));
    else if (a.k == V_BOUND && b.k == V_BOUND && op == AOP_MUL) *out = val_bound(poly_mul(cx, a.p, b.p));
    else if (a.k == V_BOUND && op == AOP_DIV && n->u.binary.rhs->kind == N_INT && n->u.binary.rhs->u.lit.i >= 1)
      *out = val_bound(poly_div_const(cx, a.p, n->u.binary.rhs->u.lit.i));
    else if (op == AOP_MOD && n->u.binary.rhs->kind == N_INT && n->u.binary.rhs->u.lit.i >= 1)
      *out = val_bound(poly_const(cx, n->u.binary.rhs->u.lit.i - 1));
    else out->model = a.model || b.model;
    return c;
  }
  case N_CALL: return ex_call(cx, n, out);
  case N_FIELD: {
    if (n->sym && n->sym->kind == SYM_FN && n->sym->decl) {
      *out = (Val){ V_FN, { NULL, 0, false }, n->sym->decl, false };
      return cost_zero();
    }
    Val v;
    Cost c = ex(cx, n->u.field.object, &v);
    out->model = v.model;
    return c;
  }
  case N_INDEX: {
    Val v;
    Cost c = cost_add(cx, ex(cx, n->u.index.object, &v), ex(cx, n->u.index.index, NULL));
    out->model = v.model;
    return c;
  }
  case N_WITH: return cost_add(cx, ex(cx, n->u.with.object, NULL), ex_list(cx, &n->u.with.fields));
  case N_VARIANT: return ex_list(cx, &n->u.variant.fields);
  case N_IF: {
    Val a = val_unknown(), b = val_unknown();
    Cost c = ex(cx, n->u.if_.cond, NULL);
    Cost t = ex(cx, n->u.if_.then_, &a), e = ex(cx, n->u.if_.else_, &b);
    if (a.k == V_BOUND && b.k == V_BOUND) *out = val_bound(poly_max(cx, a.p, b.p));
    else out->model = a.model || b.model;
    return cost_add(cx, c, cost_max(cx, t, e));
  }
  case N_MATCH: {
    Cost c = ex(cx, n->u.match_.subject, NULL), best = cost_zero();
    for (uint32_t i = 0; i < n->u.match_.arms.n; i++)
      best = cost_max(cx, best, ex(cx, n->u.match_.arms.items[i]->u.arm.body, NULL));
    return cost_add(cx, c, best);
  }
  case N_BLOCK: return ex_block(cx, n, out);
  case N_LET: case N_VAR: {
    Val v;
    Cost c = ex(cx, n->u.decl.value, &v);
    /* a var may be reassigned: only its model origin is kept */
    if (n->kind == N_VAR && v.k != V_LAMBDA && v.k != V_FN) v = v.model ? val_model() : val_unknown();
    env_push(cx, n->sym, v);
    return c;
  }
  case N_ASSIGN: return ex(cx, n->u.assign.value, NULL);
  case N_EXPR_STMT: return ex(cx, n->u.stmt.expr, out);
  case N_RETURN: return ex(cx, n->u.stmt.expr, NULL);
  case N_FOR: {
    Val xs;
    Cost c = ex(cx, n->u.for_.iter, &xs);
    uint32_t mark = cx->nenv;
    env_push(cx, n->sym, xs.model ? val_model() : val_unknown());
    Cost body = ex(cx, n->u.for_.body, NULL);
    cx->nenv = mark;
    return cost_add(cx, c, repeat(cx, body, xs, n, "for loop"));
  }
  case N_LAMBDA:
    *out = (Val){ V_LAMBDA, { NULL, 0, false }, n, false };
    return cost_zero();
  case N_ASK: {
    /* a tool-calling loop: its steps (each an ask) within max_steps */
    if (n->u.ask.lowered) return ex(cx, n->u.ask.lowered, out);
    Cost c = cost_add(cx, ex(cx, n->u.ask.role, NULL), ex(cx, n->u.ask.prompt, NULL));
    if (n->u.ask.turns) c = cost_add(cx, c, ex(cx, n->u.ask.turns, NULL));
    if (n->u.ask.with) c = cost_add(cx, c, ex(cx, n->u.ask.with, NULL));
    *out = val_model();
    return cost_add(cx, c, ask_cost(cx, n));
  }
  case N_GENERATE:
    *out = val_model(); /* the function a model wrote */
    return cost_add(cx, ex(cx, n->u.gen.prompt, NULL), generate_cost(cx, n));
  case N_LOOP: {
    /* The state keeps the initial value's bound when the body gives a
     * value within it (an induction: a halving loop over a list stays
     * within the list's length); otherwise nothing is known about it. */
    Val maxv, init, next = val_unknown();
    Cost c = cost_add(cx, ex(cx, n->u.loop.init, &init), ex(cx, n->u.loop.max, &maxv));
    uint32_t mark = cx->nenv;
    Cost body = cost_zero();
    bool kept = false;
    if (init.k == V_BOUND) {
      env_push(cx, n->sym, init);
      body = cost_add(cx, ex(cx, n->u.loop.body, &next), ex(cx, n->u.loop.until, NULL));
      kept = next.k == V_BOUND && poly_le(cx, next.p, init.p);
      if (!kept) cx->nenv = mark;
    }
    if (!kept) {
      env_push(cx, n->sym, val_unknown());
      body = cost_add(cx, ex(cx, n->u.loop.body, NULL), ex(cx, n->u.loop.until, NULL));
    }
    Cost els = ex(cx, n->u.loop.else_, NULL);
    cx->nenv = mark;
    if (!body.unb && !cost_is_zero(body) && maxv.k != V_BOUND)
      return unbounded(cx, n, maxv.model ? "loop bound computed from a model reply"
                                         : "loop bound that is not a constant or an input of main",
                       "give `max` a constant or an int parameter of main: `loop s = init "
                       "max 5 { ... } until done(s)`");
    return cost_add(cx, cost_add(cx, c, repeat(cx, body, maxv, n, "loop")), els);
  }
  case N_FANOUT: {
    Node *br = n->u.fanout.branch;
    if (n->u.fanout.iter) {
      Val xs;
      Cost c = cost_add(cx, ex(cx, n->u.fanout.iter, &xs), ex(cx, n->u.fanout.limit, NULL));
      uint32_t mark = cx->nenv;
      if (br && br->kind == N_LAMBDA && br->u.lambda.params.n)
        env_push(cx, br->u.lambda.params.items[0]->sym, xs.model ? val_model() : val_unknown());
      Cost body = br && br->kind == N_LAMBDA ? ex(cx, br->u.lambda.body, NULL) : ex(cx, br, NULL);
      cx->nenv = mark;
      if (xs.k == V_BOUND) *out = xs;
      return cost_add(cx, c, repeat(cx, body, xs, n, "fan-out"));
    }
    Cost c = cost_zero();
    for (uint32_t i = 0; i < n->u.fanout.fields.n; i++) {
      Node *v = n->u.fanout.fields.items[i]->u.init.value;
      c = cost_add(cx, c, v && v->kind == N_LAMBDA ? ex(cx, v->u.lambda.body, NULL) : ex(cx, v, NULL));
    }
    return c;
  }
  case N_BARRIER: {
    Cost c = ex(cx, n->u.barrier.tasks, out);
    c = cost_add(cx, c, ex(cx, n->u.barrier.tolerate, NULL));
    c = cost_add(cx, c, ex(cx, n->u.barrier.first, NULL));
    return cost_add(cx, c, ex(cx, n->u.barrier.timeout, NULL));
  }
  case N_VERIFY: return ex(cx, n->u.verify.lowered, out);
  case N_TOURNAMENT: return ex_tournament(cx, n);
  case N_BUDGET: return ex_budget(cx, n);
  default:
    return unbounded2(cx, n, ast_kind_name(n->kind), ", which the cost analysis does not handle yet",
                      "move the model calls out of this construct, or check the run's cost "
                      "with a `budget { calls: N } { ... }` block");
  }
}

/* ---- entry point ---------------------------------------------------------- */

static uint16_t add_var(Cx *cx, const char *name) {
  if (cx->nvars == cx->vars_cap) {
    cx->vars_cap = cx->vars_cap ? cx->vars_cap * 2 : 8;
    cx->vars = xrealloc(cx->vars, cx->vars_cap * sizeof *cx->vars);
  }
  cx->vars[cx->nvars] = name;
  return (uint16_t)cx->nvars++;
}

static void json_bound(Cx *cx, Buf *b, const char *key, Cost c, Poly p) {
  buf_printf(b, "\"%s\":{\"formula\":", key);
  if (c.unb) {
    buf_puts(b, "null,\"bounded\":false,\"reason\":");
    buf_json_string(b, c.why, strlen(c.why));
    if (c.fix) {
      buf_puts(b, ",\"fix\":");
      buf_json_string(b, c.fix, strlen(c.fix));
    }
  } else {
    Buf f;
    buf_init(&f);
    poly_print(cx, &f, p);
    buf_json_string(b, f.data ? f.data : "", f.len);
    buf_free(&f);
    buf_printf(b, ",\"bounded\":%s,\"reason\":%s", p.over ? "false" : "true",
               p.over ? "\"more than 9.2e18\"" : "null");
  }
  buf_putc(b, '}');
}

bool cost_program(Program *p, bool json, Buf *out) {
  if (!p->main || !p->main->decl || p->main->decl->kind != N_FN) {
    if (json) buf_puts(out, "{\"calls\":null,\"output_tokens\":null,\"error\":\"no main function\"}\n");
    else buf_puts(out, "no main function: nothing to bound\n");
    return false;
  }
  Cx cx;
  memset(&cx, 0, sizeof cx);
  arena_init(&cx.a);
  cx.p = p;
  scan_program(&cx);
  Node *fn = p->main->decl;
  /* main's inputs are the formula's variables */
  for (uint32_t i = 0; i < fn->u.fn.params.n; i++) {
    Node *pn = fn->u.fn.params.items[i];
    Type *t = pn->sym ? pn->sym->type : NULL;
    Val v = val_unknown();
    if (t && t->range && t->range->has_hi && !t->range->is_float && (t->kind == TY_LIST || t->kind == TY_INT)) {
      v = val_bound(poly_const(&cx, t->range->hi > 0 ? t->range->hi : 0));
    } else if (t && t->kind == TY_LIST) {
      Buf b;
      buf_init(&b);
      buf_printf(&b, "len(%s)", pn->u.param.name);
      v = val_bound(poly_var(&cx, add_var(&cx, arena_strndup(&cx.a, b.data, b.len))));
      buf_free(&b);
    } else if (t && t->kind == TY_INT) {
      v = val_bound(poly_var(&cx, add_var(&cx, pn->u.param.name)));
    }
    env_push(&cx, pn->sym, v);
  }
  cx.stack = xrealloc(NULL, 16 * sizeof *cx.stack);
  cx.stack_cap = 16;
  cx.stack[cx.nstack++] = fn;
  Cost c = ex(&cx, fn->u.fn.body, NULL);
  if (json) {
    buf_putc(out, '{');
    json_bound(&cx, out, "calls", c, c.calls);
    buf_putc(out, ',');
    json_bound(&cx, out, "output_tokens", c, c.toks);
    buf_puts(out, "}\n");
  } else if (c.unb) {
    buf_printf(out, "main: unbounded model calls: %s\n", c.why);
    if (c.fix) buf_printf(out, "help: %s\n", c.fix);
  } else {
    buf_puts(out, c.calls.over ? "main: " : "main: at most ");
    poly_print(&cx, out, c.calls);
    buf_puts(out, poly_is_one(c.calls) ? " model call, " : " model calls, ");
    if (!c.toks.over) buf_puts(out, "at most ");
    poly_print(&cx, out, c.toks);
    buf_puts(out, poly_is_one(c.toks) ? " output token\n" : " output tokens\n");
  }
  for (uint32_t i = 0; i < cx.nfns; i++) free(cx.fns[i].callees);
  free(cx.fns);
  free(cx.vars);
  free(cx.env);
  free(cx.stack);
  arena_free(&cx.a);
  return true;
}

/* ---- weft check's note on concurrency -------------------------------------- */

/* N0001 on a `fanout … limit N` with N a literal above the host's default
 * --max-concurrency whose branches may ask a model (the same "asks" as
 * the cost bound: an ask, a call to a function that asks, or a call
 * through a function value). A run without the flag would make at most
 * the default number of calls at once. Limits computed at run time, and
 * the product of nested limits, are the run's to report (the engine's
 * summary note and trace event). */
static void note_fanout(Cx *cx, Node *n) {
  Node *lim = n->u.fanout.limit;
  if (!lim || lim->kind != N_INT || lim->u.lit.i <= (int64_t)cx->note_cap || in_std(cx, n)) return;
  FnInfo body;
  memset(&body, 0, sizeof body);
  uint32_t cap = cx->note_cap;
  cx->note_cap = 0; /* fan-outs inside are noted by the walk that found this one */
  scan(cx, &body, n->u.fanout.branch);
  cx->note_cap = cap;
  bool asks = body.asks;
  for (uint32_t i = 0; i < body.ncallees && !asks; i++) {
    FnInfo *g = fn_info(cx, body.callees[i]);
    asks = g && g->asks;
  }
  free(body.callees);
  if (!asks) return;
  Buf help;
  buf_init(&help);
  buf_printf(&help, "give the run --max-concurrency %lld, or lower the limit",
             (long long)lim->u.lit.i);
  buf_putc(&help, '\0');
  diag_add(cx->p->diags, D_N0001, lim->span, help.data,
           "fanout limit %lld is above the default --max-concurrency (%u): without the flag a run makes at most "
           "%u model calls at once", (long long)lim->u.lit.i, cap, cap);
  buf_free(&help);
}

void cost_concurrency_notes(Program *p, uint32_t cap) {
  if (!cap) return;
  Cx cx;
  memset(&cx, 0, sizeof cx);
  arena_init(&cx.a);
  cx.p = p;
  scan_program(&cx);
  cx.note_cap = cap;
  for (uint32_t fi = 0; fi < p->nfiles; fi++) {
    if (p->files[fi].is_std) continue;
    NodeList *items = &p->files[fi].ast.items;
    for (uint32_t i = 0; i < items->n; i++) {
      Node *it = items->items[i];
      if (it->kind != N_FN) continue;
      FnInfo scratch;
      memset(&scratch, 0, sizeof scratch);
      scan(&cx, &scratch, it->u.fn.body);
      free(scratch.callees);
    }
  }
  for (uint32_t i = 0; i < cx.nfns; i++) free(cx.fns[i].callees);
  free(cx.fns);
  arena_free(&cx.a);
}

bool cost_file(const char *path, const CompileOptions *opt, bool json, Buf *out) {
  SourceSet ss;
  DiagList dl;
  src_init(&ss);
  diag_init(&dl);
  Program p;
  program_init(&p, &ss, &dl);
  bool ok = load_program(&p, path, opt) && check_program(&p) && dl.errors == 0;
  if (ok) ok = cost_program(&p, json, out);
  program_free(&p);
  diag_free(&dl);
  src_free(&ss);
  return ok;
}
