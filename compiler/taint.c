/* taint.c — the static half of untrusted-content labels: a pass over the
 * checked program that refuses (E0650) the flows of untrusted text into a
 * parameter that acts which it can see, pointing from the source to the
 * sink. The VM refuses the rest at run time (docs/security.md, "Untrusted
 * content: the rule and its limits").
 *
 * What it tracks is deliberately small: a value is tainted by one source
 * (the first met) and depends on a set of its function's parameters. A
 * value of a CLOSED type (bool, numbers, durations, literal unions, and
 * records, lists, maps, optionals and tagged unions of these) is never
 * tainted: it is what the runtime declassifies once validated, and what no
 * sentence can hide in. Functions are summarised (which parameters flow to
 * the result or reach a sink, whether the result is always tainted), tool
 * parameters get the taint of the prompts of the asks that offer them, and
 * the whole is iterated to a fixed point a bounded number of times, so the
 * work is linear in the program. Control dependence is not tracked. */
#include "compiler.h"
#include "../base/buf.h"
#include "../base/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds of the fixed points: rounds over the whole program (summaries)
 * and passes over one function (its locals, loops, reassignments). */
#define TAINT_ROUNDS 8
#define TAINT_PASSES 4
#define PBITS 64          /* parameters past the 63rd share the last bit */
#define TOOLFLOWS_MAX 8
#define CLOSED_WALK_LIMIT 1000 /* as deep as types.c walks */   /* tool-role asks per function whose prompt a parameter reaches */

/* Where untrusted text comes from; `prev` is what it came through first
 * (an ask's reply made untrusted by its prompt points at the prompt's). */
typedef struct Taint {
  Span span;
  const char *what;
  const struct Taint *prev;
} Taint;

typedef struct AV {
  const Taint *t;   /* a source reaching this value, or NULL */
  uint64_t ps;      /* the parameters of the enclosing function it depends on */
} AV;

typedef struct SinkHit {
  bool set;
  Span at;          /* the argument of the capability call, in its file */
  const char *desc; /* "the path of fs.write", "... in `save`" */
} SinkHit;

typedef struct ToolFlow { uint64_t ps; const Node *role; } ToolFlow;

/* One top-level function: its summary. */
typedef struct FnInfo {
  Node *decl;
  uint32_t np;
  int cap;                  /* row in cap_fns, or -1 */
  const Taint *ret_t;       /* its result is always tainted by this */
  uint64_t ret_ps;          /* parameters that flow to its result */
  SinkHit sink[PBITS];      /* parameter (bit) -> a sink it reaches */
  const Taint **entry;      /* np: taint every call gives the parameter (tools, main) */
  ToolFlow tool[TOOLFLOWS_MAX];
  uint32_t ntool;
  AV lam_in;                /* what the function's lambdas may be given */
  /* the functions it calls (and the tools of the roles it asks), for the
   * order of analysis; DFS state */
  struct FnInfo **callees;
  uint32_t ncallees, callees_cap, next;
  uint8_t mark;
} FnInfo;

/* The capability functions (std/fs, std/proc, std/http): which arguments
 * act and whether the result is untrusted. */
enum { SRC_NONE, SRC_HTTP, SRC_PROC };
static const struct {
  const char *module, *fn;
  int source;
  uint32_t nsinks;
  struct { uint32_t arg; const char *what; } sinks[3];
} cap_fns[] = {
  {"fs", "write", SRC_NONE, 1, {{0, "the path of fs.write"}}},
  {"proc", "run", SRC_PROC, 2, {{0, "the program of proc.run"}, {1, "the arguments of proc.run"}}},
  {"proc", "run_with", SRC_PROC, 3,
   {{0, "the program of proc.run_with"}, {1, "the arguments of proc.run_with"}, {2, "the options (stdin, cwd) of proc.run_with"}}},
  {"http", "get", SRC_HTTP, 1, {{0, "the URL of http.get"}}},
  {"http", "post", SRC_HTTP, 3, {{0, "the URL of http.post"}, {1, "the body of http.post"}, {2, "the headers of http.post"}}},
  {"http", "request", SRC_HTTP, 1, {{0, "the request (URL, method, headers, body) of http.request"}}},
  {"fs", "read", SRC_NONE, 0, {{0, NULL}}},
};
#define NCAP ((int)(sizeof cap_fns / sizeof cap_fns[0]))

typedef struct Taints {
  Program *p;
  Arena *a;
  const CompileOptions *opt;
  TypeMemo fns;       /* N_FN -> FnInfo */
  TypeMemo locals;    /* Symbol -> AV */
  TypeMemo closed;    /* Type -> (void *)1 closed, (void *)2 open */
  TypeMemo reported;  /* argument nodes already reported */
  bool changed, report;
  /* the function being analysed */
  FnInfo *cur;
  AV *ret;            /* where `return` goes: the function's or a lambda's */
  AV fn_ret;
} Taints;

static AV clean(void) { return (AV){NULL, 0}; }
static AV join(AV a, AV b) { return (AV){a.t ? a.t : b.t, a.ps | b.ps}; }
static uint64_t pbit(uint32_t i) { return 1ull << (i < PBITS ? i : PBITS - 1); }

/* into |= v; notes a change */
static void join_into(Taints *T, AV *into, AV v) {
  AV j = join(*into, v);
  if (j.t != into->t || j.ps != into->ps) {
    *into = j;
    T->changed = true;
  }
}

static bool open_leaf(const Type *t) {
  switch (t->kind) {
  case TY_STRING: case TY_JSON: case TY_FN: case TY_VAR: case TY_ROLE: case TY_ERROR: return true;
  default: return false;
  }
}

/* A closed type: no free text anywhere in it. */
static bool is_closed(Taints *T, const Type *t) {
  if (!t) return false;
  void *v = NULL;
  if (tmemo_get(&T->closed, t, NULL, 0, &v)) return v == (void *)1;
  bool c = !type_any(t, open_leaf, CLOSED_WALK_LIMIT);
  tmemo_put(&T->closed, t, NULL, 0, c ? (void *)1 : (void *)2);
  return c;
}

static AV *local(Taints *T, const Symbol *s) {
  void *v = NULL;
  if (tmemo_get(&T->locals, s, NULL, 0, &v)) return v;
  AV *av = arena_alloc(T->a, sizeof *av);
  tmemo_put(&T->locals, s, NULL, 0, av);
  return av;
}

static FnInfo *fn_info(Taints *T, const Node *decl) {
  void *v = NULL;
  if (decl && tmemo_get(&T->fns, decl, NULL, 0, &v)) return v;
  return NULL;
}

static Taint *taint_new(Taints *T, Span at, const char *what, const Taint *prev) {
  Taint *t = arena_alloc(T->a, sizeof *t);
  t->span = at;
  t->what = what;
  t->prev = prev;
  return t;
}

static char *arena_printf(Taints *T, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *arena_printf(Taints *T, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *tmp = xvasprintf(fmt, ap);
  va_end(ap);
  char *s = arena_strndup(T->a, tmp, strlen(tmp));
  free(tmp);
  return s;
}

static uint32_t line_of(Taints *T, Span s) {
  Source *src = src_get(T->p->sources, s.file);
  uint32_t line = 0, col = 0;
  if (src) src_line_col(src, s.start, &line, &col);
  return line;
}

/* "file.weft:12" when the span is in another file than `here`, else "line 12" */
static char *where(Taints *T, Span s, Span here) {
  Source *src = src_get(T->p->sources, s.file);
  uint32_t line = line_of(T, s);
  if (s.file != here.file && src && src->path) return arena_printf(T, "%s:%u", src->path, line);
  return arena_printf(T, "line %u", line);
}

/* E0650 at the argument, N0002 at where the text came from. */
static void report(Taints *T, const Node *arg, const Taint *t, const char *desc) {
  if (!T->report || !t || tmemo_seen(&T->reported, arg, NULL, 0)) return;
  /* the chain, listed from the source on */
  const Taint *chain[16];
  uint32_t n = 0;
  const Taint *root = t;
  for (; root->prev; root = root->prev)
    if (n < 16) chain[n++] = root;
  Buf via;
  buf_init(&via);
  while (n--) buf_printf(&via, ", through %s at %s", chain[n]->what, where(T, chain[n]->span, arg->span));
  diag_add(T->p->diags, D_E0650, arg->span,
           "give it a closed type first (ask … -> \"a\" | \"b\", an int, a record of closed fields), or, "
           "once a person has checked it, trust(x, \"why\")",
           "untrusted text reaches %s: it comes from %s at %s%s", desc, root->what,
           where(T, root->span, arg->span), via.data ? via.data : "");
  diag_add(T->p->diags, D_N0002, root->span, NULL, "untrusted text comes from here, %s; it reaches %s at %s",
           root->what, desc, where(T, arg->span, root->span));
  buf_free(&via);
}

/* A parameter-dependent value reaching a sink: the current function's
 * summary says so. */
static void sink_param(Taints *T, AV v, Span at, const char *desc) {
  if (!v.ps || !T->cur) return;
  for (uint32_t b = 0; b < PBITS; b++) {
    if (!(v.ps & (1ull << b)) || T->cur->sink[b].set) continue;
    T->cur->sink[b] = (SinkHit){true, at, desc};
    T->changed = true;
  }
}

static AV ev(Taints *T, Node *n);

static void bind_pattern(Taints *T, Node *pat, AV v) {
  if (!pat) return;
  switch (pat->kind) {
  case N_PAT_BIND:
    if (pat->sym) join_into(T, local(T, pat->sym), v);
    break;
  case N_PAT_VARIANT:
    for (uint32_t i = 0; i < pat->u.variant.fields.n; i++) {
      Node *f = pat->u.variant.fields.items[i];
      if (f && f->kind == N_FIELD_INIT) bind_pattern(T, f->u.init.value, v);
    }
    break;
  case N_PAT_OR:
    for (uint32_t i = 0; i < pat->u.list.items.n; i++) bind_pattern(T, pat->u.list.items.items[i], v);
    break;
  default:
    break;
  }
}

/* A lambda given `in` for each parameter: its value is what its body gives. */
static AV ev_lambda(Taints *T, Node *lam, AV in) {
  for (uint32_t i = 0; i < lam->u.lambda.params.n; i++) {
    Node *pn = lam->u.lambda.params.items[i];
    if (pn && pn->sym) join_into(T, local(T, pn->sym), in);
  }
  AV r = clean();
  AV *saved = T->ret;
  T->ret = &r;
  AV body = ev(T, lam->u.lambda.body);
  T->ret = saved;
  return join(r, body);
}

/* The role item an ask names, when it lists tools. */
static const Node *tool_role(const Node *ask) {
  const Node *r = ask->u.ask.role;
  if (!r || !r->sym || r->sym->kind != SYM_ROLE || !r->sym->decl || !ask->u.ask.lowered) return NULL;
  return r->sym->decl;
}

/* The `tools: [...]` list of a role item, or NULL. */
static const Node *role_tools(const Node *role) {
  for (uint32_t j = 0; j < role->u.role.settings.n; j++) {
    const Node *st = role->u.role.settings.items[j];
    if (!st || st->kind != N_FIELD_INIT || strcmp(st->u.init.name, "tools") != 0) continue;
    const Node *v = st->u.init.value;
    return v && v->kind == N_LIST ? v : NULL;
  }
  return NULL;
}

/* The summary of the k-th tool of a tools list, or NULL. */
static FnInfo *tool_info(Taints *T, const Node *tools, uint32_t k) {
  const Node *x = tools->u.list.items.items[k];
  return x && x->sym && x->sym->kind == SYM_FN ? fn_info(T, x->sym->decl) : NULL;
}

/* The parameters of a role's tools that take free text get `t`. */
static void taint_tools(Taints *T, const Node *role, const Taint *t) {
  const Node *tools = t ? role_tools(role) : NULL;
  for (uint32_t k = 0; tools && k < tools->u.list.items.n; k++) {
    FnInfo *fi = tool_info(T, tools, k);
    for (uint32_t i = 0; fi && i < fi->np; i++) {
      const Node *pn = fi->decl->u.fn.params.items[i];
      if (fi->entry[i] || !pn || !pn->sym || is_closed(T, pn->sym->type)) continue;
      fi->entry[i] = taint_new(T, pn->span,
                               arena_printf(T, "the parameter `%s` of the tool `%s`, which the model fills",
                                            pn->u.param.name, fi->decl->u.fn.name),
                               t);
      T->changed = true;
    }
  }
}

/* What a role's tools return untrusted: the model reads it in the loop. */
static const Taint *tools_ret(Taints *T, const Node *role) {
  const Node *tools = role_tools(role);
  for (uint32_t k = 0; tools && k < tools->u.list.items.n; k++) {
    FnInfo *fi = tool_info(T, tools, k);
    if (fi && fi->ret_t) return fi->ret_t;
  }
  return NULL;
}

static AV ev_ask(Taints *T, Node *n) {
  ev(T, n->u.ask.role);
  ev(T, n->u.ask.with);
  AV prompt = ev(T, n->u.ask.prompt);
  const Node *role = tool_role(n);
  if (role) {
    const Taint *back = tools_ret(T, role);
    if (back && !prompt.t) prompt.t = back;
    if (prompt.t)
      taint_tools(T, role, taint_new(T, n->u.ask.prompt->span,
                                     arena_printf(T, "the prompt of an ask of `%s`", role->u.role.name), prompt.t));
    if (prompt.ps && T->cur) {
      uint32_t i = 0;
      while (i < T->cur->ntool && T->cur->tool[i].role != role) i++;
      if (i == T->cur->ntool && i < TOOLFLOWS_MAX) {
        T->cur->tool[T->cur->ntool++] = (ToolFlow){0, role};
        T->changed = true;
      }
      if (i < T->cur->ntool && (T->cur->tool[i].ps | prompt.ps) != T->cur->tool[i].ps) {
        T->cur->tool[i].ps |= prompt.ps;
        T->changed = true;
      }
    }
  }
  if (prompt.t) prompt.t = taint_new(T, n->span, "the reply of the ask", prompt.t);
  return prompt;
}

/* A generate: the function it gives is taken as an ask's reply is, so a
 * call of it (a call of a function value: its result joins the callee's
 * and the arguments' labels) is untrusted when the prompt was. What the
 * generated code may do with an untrusted prompt is the runtime's rule. */
static AV ev_generate(Taints *T, Node *n) {
  ev(T, n->u.gen.role);
  AV prompt = ev(T, n->u.gen.prompt);
  if (prompt.t) prompt.t = taint_new(T, n->span, "the function generated from it", prompt.t);
  return prompt;
}

static bool trusted_program(Taints *T, const Node *arg) {
  if (!arg || arg->kind != N_STRING || !T->opt) return false;
  for (uint32_t i = 0; i < T->opt->ntrusted_programs; i++) {
    const char *tp = T->opt->trusted_programs[i];
    if (strlen(tp) == arg->u.lit.len && memcmp(tp, arg->u.lit.str, arg->u.lit.len) == 0) return true;
  }
  return false;
}

static AV ev_call(Taints *T, Node *n) {
  const CallInfo *ci = n->extra;
  NodeList *args = &n->u.call.args;
  uint32_t na = args->n;
  AV stack[8];
  AV *av = na <= 8 ? stack : arena_alloc(T->a, na * sizeof *av);
  /* arguments first, then the lambdas among them, given the others */
  AV others = clean();
  bool lambdas = false;
  for (uint32_t i = 0; i < na; i++) {
    Node *x = args->items[i];
    if (x && x->kind == N_LAMBDA) {
      lambdas = true;
      av[i] = clean();
      continue;
    }
    av[i] = ev(T, x);
    others = join(others, av[i]);
  }
  AV callee = clean();
  if (!ci || ci->kind == CALL_VALUE) {
    callee = ev(T, n->u.call.callee);
    if (T->cur) join_into(T, &T->cur->lam_in, others);
  }
  if (lambdas && T->cur) join_into(T, &T->cur->lam_in, others);
  for (uint32_t i = 0; i < na; i++) {
    Node *x = args->items[i];
    if (x && x->kind == N_LAMBDA) av[i] = ev_lambda(T, x, T->cur ? T->cur->lam_in : others);
  }
  AV all = callee;
  for (uint32_t i = 0; i < na; i++) all = join(all, av[i]);
  if (!ci || ci->kind == CALL_VALUE || ci->kind == CALL_FROM_JSON) return all;
  if (ci->kind == CALL_NATIVE) {
    if (ci->native && ci->native->name && strcmp(ci->native->name, "trust") == 0) return clean();
    return all;
  }
  FnInfo *fi = fn_info(T, ci->fn_decl);
  if (!fi || fi->cap == NCAP) return all;
  if (fi->cap >= 0) {
    for (uint32_t k = 0; k < cap_fns[fi->cap].nsinks; k++) {
      uint32_t i = cap_fns[fi->cap].sinks[k].arg;
      if (i >= na) continue;
      const char *desc = cap_fns[fi->cap].sinks[k].what;
      report(T, args->items[i], av[i].t, desc);
      sink_param(T, av[i], args->items[i]->span, desc);
    }
    int src = cap_fns[fi->cap].source;
    if (src == SRC_PROC && na && trusted_program(T, args->items[0])) src = SRC_NONE;
    if (src == SRC_NONE) return clean();
    Taint *t = taint_new(T, n->span,
                         arena_printf(T, "the %s of %s.%s", src == SRC_HTTP ? "response" : "output",
                                      cap_fns[fi->cap].module, cap_fns[fi->cap].fn),
                         NULL);
    return (AV){t, 0};
  }
  AV r = {fi->ret_t, 0};
  for (uint32_t i = 0; i < na && i < fi->np; i++) {
    if (fi->ret_ps & pbit(i)) r = join(r, av[i]);
    const SinkHit *h = &fi->sink[i < PBITS ? i : PBITS - 1];
    if (h->set && (av[i].t || av[i].ps)) {
      const Node *pn = fi->decl->u.fn.params.items[i];
      const char *desc = arena_printf(T, "%s through the parameter `%s` of `%s` (at %s)", h->desc,
                                      pn ? pn->u.param.name : "?", fi->decl->u.fn.name, where(T, h->at, n->span));
      report(T, args->items[i], av[i].t, desc);
      sink_param(T, av[i], h->at, h->desc);
    }
  }
  for (uint32_t k = 0; k < fi->ntool; k++) {
    const Taint *t = NULL;
    uint64_t ps = 0;
    for (uint32_t i = 0; i < na && i < fi->np; i++)
      if (fi->tool[k].ps & pbit(i)) {
        if (!t) t = av[i].t;
        ps |= av[i].ps;
      }
    if (t) taint_tools(T, fi->tool[k].role, taint_new(T, n->span, arena_printf(T, "the call of `%s`", fi->decl->u.fn.name), t));
    if (ps && T->cur) {
      uint32_t j = 0;
      while (j < T->cur->ntool && T->cur->tool[j].role != fi->tool[k].role) j++;
      if (j == T->cur->ntool && j < TOOLFLOWS_MAX) {
        T->cur->tool[T->cur->ntool++] = (ToolFlow){0, fi->tool[k].role};
        T->changed = true;
      }
      if (j < T->cur->ntool && (T->cur->tool[j].ps | ps) != T->cur->tool[j].ps) {
        T->cur->tool[j].ps |= ps;
        T->changed = true;
      }
    }
  }
  return r;
}

static AV ev_list(Taints *T, NodeList *l) {
  AV r = clean();
  for (uint32_t i = 0; i < l->n; i++) r = join(r, ev(T, l->items[i]));
  return r;
}

static AV ev_inner(Taints *T, Node *n) {
  switch (n->kind) {
  case N_INTERP: return ev_list(T, &n->u.interp.parts);
  case N_NAME:
    if (n->sym && n->sym->kind == SYM_LOCAL) return *local(T, n->sym);
    if (n->sym && n->sym->kind == SYM_FN) {
      FnInfo *fi = fn_info(T, n->sym->decl);
      return (AV){fi ? fi->ret_t : NULL, 0};
    }
    return clean();
  case N_LIST: case N_RECORD: case N_MAP: return ev_list(T, &n->u.list.items);
  case N_FIELD_INIT: case N_MAP_ENTRY: return join(ev(T, n->u.init.key), ev(T, n->u.init.value));
  case N_VARIANT: return ev_list(T, &n->u.variant.fields);
  case N_UNARY: case N_TRY: return ev(T, n->u.unary.operand);
  case N_BINARY: return join(ev(T, n->u.binary.lhs), ev(T, n->u.binary.rhs));
  case N_CALL: return ev_call(T, n);
  case N_FIELD:
    if (n->sym && n->sym->kind == SYM_FN) {
      FnInfo *fi = fn_info(T, n->sym->decl);
      return (AV){fi ? fi->ret_t : NULL, 0};
    }
    {
      AV o = ev(T, n->u.field.object);
      return o;
    }
  case N_INDEX: return join(ev(T, n->u.index.object), ev(T, n->u.index.index));
  case N_WITH: return join(ev(T, n->u.with.object), ev_list(T, &n->u.with.fields));
  case N_IF: {
    ev(T, n->u.if_.cond);
    return join(ev(T, n->u.if_.then_), ev(T, n->u.if_.else_));
  }
  case N_MATCH: {
    AV s = ev(T, n->u.match_.subject), r = clean();
    for (uint32_t i = 0; i < n->u.match_.arms.n; i++) {
      Node *arm = n->u.match_.arms.items[i];
      if (!arm) continue;
      bind_pattern(T, arm->u.arm.pattern, s);
      r = join(r, ev(T, arm->u.arm.body));
    }
    return r;
  }
  case N_BLOCK: {
    AV last = clean();
    for (uint32_t i = 0; i < n->u.block.stmts.n; i++) last = ev(T, n->u.block.stmts.items[i]);
    return n->u.block.has_value ? last : clean();
  }
  case N_LET: case N_VAR: {
    AV v = ev(T, n->u.decl.value);
    if (n->sym) join_into(T, local(T, n->sym), v);
    return clean();
  }
  case N_ASSIGN: {
    AV v = ev(T, n->u.assign.value);
    if (n->sym) join_into(T, local(T, n->sym), v);
    return clean();
  }
  case N_EXPR_STMT: return ev(T, n->u.stmt.expr);
  case N_RETURN: {
    AV v = ev(T, n->u.stmt.expr);
    if (T->ret) *T->ret = join(*T->ret, v);
    return clean();
  }
  case N_FOR: {
    AV it = ev(T, n->u.for_.iter);
    if (n->sym) join_into(T, local(T, n->sym), it);
    ev(T, n->u.for_.body);
    return clean();
  }
  case N_LAMBDA: return ev_lambda(T, n, T->cur ? T->cur->lam_in : clean());
  case N_ASK: return ev_ask(T, n);
  case N_GENERATE: return ev_generate(T, n);
  case N_LOOP: {
    AV st = ev(T, n->u.loop.init);
    ev(T, n->u.loop.max);
    AV *s = n->sym ? local(T, n->sym) : NULL;
    if (s) join_into(T, s, st);
    AV b = ev(T, n->u.loop.body);
    if (s) join_into(T, s, b);
    ev(T, n->u.loop.until);
    AV r = join(s ? *s : st, b);
    return join(r, ev(T, n->u.loop.else_));
  }
  case N_FANOUT: {
    if (n->u.fanout.iter) {
      AV it = ev(T, n->u.fanout.iter);
      ev(T, n->u.fanout.limit);
      return n->u.fanout.branch && n->u.fanout.branch->kind == N_LAMBDA ? ev_lambda(T, n->u.fanout.branch, it) : it;
    }
    AV r = clean();
    for (uint32_t i = 0; i < n->u.fanout.fields.n; i++) {
      Node *f = n->u.fanout.fields.items[i];
      Node *b = f && f->kind == N_FIELD_INIT ? f->u.init.value : NULL;
      if (b && b->kind == N_LAMBDA) r = join(r, ev_lambda(T, b, clean()));
    }
    return r;
  }
  case N_BARRIER:
    ev(T, n->u.barrier.tolerate);
    ev(T, n->u.barrier.first);
    ev(T, n->u.barrier.timeout);
    return ev(T, n->u.barrier.tasks);
  case N_BUDGET: {
    ev_list(T, &n->u.budget.limits);
    AV r = n->u.budget.body && n->u.budget.body->kind == N_LAMBDA ? ev_lambda(T, n->u.budget.body, clean()) : clean();
    if (n->u.budget.else_ && n->u.budget.else_->kind == N_LAMBDA) r = join(r, ev_lambda(T, n->u.budget.else_, clean()));
    return r;
  }
  case N_VERIFY: return ev(T, n->u.verify.lowered);
  case N_TOURNAMENT: return ev(T, n->u.tourn.lowered);
  default:
    return clean();
  }
}

static AV ev(Taints *T, Node *n) {
  if (!n) return clean();
  AV v = ev_inner(T, n);
  /* a value of a closed type carries no text to hide an instruction in */
  if (n->type && is_closed(T, n->type)) return clean();
  return v;
}

static int cap_row(const Program *p, const ProgramFile *f, const char *fn) {
  if (!f->is_std) return -1;
  const Source *s = src_get(p->sources, f->file);
  if (!s || !s->path) return -1;
  for (int r = 0; r < NCAP; r++) {
    char want[32];
    snprintf(want, sizeof want, "std/%s.weft", cap_fns[r].module);
    size_t n = strlen(s->path), k = strlen(want);
    if (n >= k && strcmp(s->path + n - k, want) == 0 && strcmp(cap_fns[r].fn, fn) == 0) return r;
  }
  /* any other function of a capability module is not analysed: its
   * body is the host's business */
  static const char *const mods[] = {"std/fs.weft", "std/proc.weft", "std/http.weft"};
  for (int m = 0; m < 3; m++) {
    size_t n = strlen(s->path), k = strlen(mods[m]);
    if (n >= k && strcmp(s->path + n - k, mods[m]) == 0) return NCAP;
  }
  return -1;
}

static void analyse_fn(Taints *T, FnInfo *fi) {
  T->cur = fi;
  for (uint32_t i = 0; i < fi->np; i++) {
    Node *pn = fi->decl->u.fn.params.items[i];
    if (!pn || !pn->sym) continue;
    AV in = {is_closed(T, pn->sym->type) ? NULL : fi->entry[i], pbit(i)};
    join_into(T, local(T, pn->sym), in);
  }
  AV r = clean();
  T->ret = &r;
  AV body = ev(T, fi->decl->u.fn.body);
  r = join(r, body);
  T->ret = NULL;
  const Type *ft = fi->decl->sym ? fi->decl->sym->type : NULL;
  if (ft && ft->kind == TY_FN && is_closed(T, ft->ret)) r = clean();
  if (r.t && !fi->ret_t) {
    fi->ret_t = r.t;
    T->changed = true;
  }
  if ((fi->ret_ps | r.ps) != fi->ret_ps) {
    fi->ret_ps |= r.ps;
    T->changed = true;
  }
  T->cur = NULL;
}

/* ---- the order of analysis: callees first --------------------------------
 * Summaries flow from callee to caller, so analysing callees first makes a
 * program without recursion settle in one round whatever the order of its
 * functions in the file; the rounds are left for recursion and for tool
 * parameters, which flow the other way. */

typedef struct EdgeWalk { Taints *T; FnInfo *from; } EdgeWalk;

static void add_callee(FnInfo *from, FnInfo *to) {
  if (!to || to->cap >= 0) return;
  if (from->ncallees == from->callees_cap) {
    from->callees_cap = from->callees_cap ? from->callees_cap * 2 : 4;
    from->callees = xrealloc(from->callees, from->callees_cap * sizeof *from->callees);
  }
  from->callees[from->ncallees++] = to;
}

static void edges(Node *n, void *ud) {
  EdgeWalk *w = ud;
  if (!n) return;
  if (n->kind == N_CALL && n->extra) {
    const CallInfo *ci = n->extra;
    if (ci->kind == CALL_FN) add_callee(w->from, fn_info(w->T, ci->fn_decl));
  } else if (n->kind == N_ASK && tool_role(n)) {
    const Node *role = tool_role(n);
    for (uint32_t j = 0; j < role->u.role.settings.n; j++) {
      const Node *st = role->u.role.settings.items[j];
      if (!st || st->kind != N_FIELD_INIT || strcmp(st->u.init.name, "tools") != 0) continue;
      const Node *v = st->u.init.value;
      for (uint32_t k = 0; v && v->kind == N_LIST && k < v->u.list.items.n; k++) {
        const Node *x = v->u.list.items.items[k];
        if (x && x->sym && x->sym->kind == SYM_FN) add_callee(w->from, fn_info(w->T, x->sym->decl));
      }
    }
  } else if (n->kind == N_VERIFY) {
    edges(n->u.verify.lowered, ud);
  } else if (n->kind == N_TOURNAMENT) {
    edges(n->u.tourn.lowered, ud);
  }
  ast_each_child(n, edges, ud);
}

/* all[0..n) in postorder of the call graph (an explicit stack: a chain
 * of calls as long as the program is not a C recursion). */
static void order_callees_first(Taints *T, FnInfo **all, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    EdgeWalk w = {T, all[i]};
    edges(all[i]->decl->u.fn.body, &w);
  }
  FnInfo **out = xcalloc(n ? n : 1, sizeof *out), **stack = xcalloc(n ? n : 1, sizeof *stack);
  uint32_t nout = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (all[i]->mark) continue;
    uint32_t sp = 0;
    stack[sp++] = all[i];
    all[i]->mark = 1;
    while (sp) {
      FnInfo *f = stack[sp - 1];
      if (f->next < f->ncallees) {
        FnInfo *c = f->callees[f->next++];
        if (!c->mark) {
          c->mark = 1;
          stack[sp++] = c;
        }
      } else {
        out[nout++] = f;
        sp--;
      }
    }
  }
  memcpy(all, out, nout * sizeof *all);
  free(out);
  free(stack);
}

bool taint_program(Program *p) {
  uint32_t errors_before = p->diags->errors;
  Taints T = {.p = p, .a = &p->arena, .opt = p->opt};
  tmemo_init(&T.fns);
  tmemo_init(&T.locals);
  tmemo_init(&T.closed);
  tmemo_init(&T.reported);
  FnInfo **all = NULL;
  uint32_t nall = 0, cap = 0;
  for (uint32_t i = 0; i < p->nfiles; i++) {
    ProgramFile *f = &p->files[i];
    for (uint32_t k = 0; k < f->ast.items.n; k++) {
      Node *it = f->ast.items.items[k];
      if (!it || it->kind != N_FN) continue;
      FnInfo *fi = arena_alloc(T.a, sizeof *fi);
      fi->decl = it;
      fi->np = it->u.fn.params.n;
      fi->entry = arena_alloc(T.a, (fi->np ? fi->np : 1) * sizeof *fi->entry);
      fi->cap = cap_row(p, f, it->u.fn.name);
      tmemo_put(&T.fns, it, NULL, 0, fi);
      if (fi->cap >= 0) continue;
      if (nall == cap) {
        cap = cap ? cap * 2 : 32;
        all = xrealloc(all, cap * sizeof *all);
      }
      all[nall++] = fi;
    }
  }
  order_callees_first(&T, all, nall);
  /* main's inputs named untrusted (--untrusted-input) */
  FnInfo *mi = p->main ? fn_info(&T, p->main->decl) : NULL;
  if (mi && p->opt)
    for (uint32_t i = 0; i < mi->np; i++) {
      Node *pn = mi->decl->u.fn.params.items[i];
      for (uint32_t k = 0; pn && k < p->opt->nuntrusted_inputs; k++)
        if (strcmp(p->opt->untrusted_inputs[k], pn->u.param.name) == 0)
          mi->entry[i] = taint_new(&T, pn->span,
                                   arena_printf(&T, "main's input `%s` (--untrusted-input)", pn->u.param.name), NULL);
    }
  for (int round = 0; round < TAINT_ROUNDS; round++) {
    bool any = false;
    for (uint32_t i = 0; i < nall; i++)
      for (int pass = 0; pass < TAINT_PASSES; pass++) {
        T.changed = false;
        analyse_fn(&T, all[i]);
        any |= T.changed;
        if (!T.changed) break;
      }
    if (!any) break;
  }
  T.report = true;
  for (uint32_t i = 0; i < nall; i++) analyse_fn(&T, all[i]);
  for (uint32_t i = 0; i < nall; i++) free(all[i]->callees);
  free(all);
  tmemo_free(&T.fns);
  tmemo_free(&T.locals);
  tmemo_free(&T.closed);
  tmemo_free(&T.reported);
  return p->diags->errors == errors_before;
}
