/* parse.c — the front end's entry point (parse_source), the token feed
 * with error-recovery skipping, and the node constructors the grammar
 * actions call: depth capping, generic calls, blocks, string dedenting. */
#include <stdlib.h>
#include <string.h>

#include "../base/util.h"

#include "lexer.h"

/* ---- constructors ----------------------------------------------------- */

Span ps_span(ParseCtx *pc, Loc l) {
  Span s = {pc->file, l.start, l.end};
  return s;
}

const char *ps_doc(Loc l) { return l.doc; }

void ps_push(ParseCtx *pc, NodeList *l, Node *n) {
  if (n) nl_push(pc->arena, l, n);
}

/* Members past AST_MAX_MEMBERS are dropped, so the checker's and the
 * emitter's pairwise comparisons stay bounded; E0504 once per file. */
void ps_push_member(ParseCtx *pc, NodeList *l, Node *n, const char *what) {
  if (!n) return;
  if (l->n < AST_MAX_MEMBERS) {
    nl_push(pc->arena, l, n);
    return;
  }
  if (!pc->wide_reported)
    diag_add(pc->diags, D_E0504, n->span, "group them into nested records or a list",
             "more than %d %s", AST_MAX_MEMBERS, what);
  pc->wide_reported = true;
}

Node *ps_new(ParseCtx *pc, NodeKind k, Loc l) { return ast_new(pc->arena, k, ps_span(pc, l)); }

Node *ps_error(ParseCtx *pc, Loc l) { return ps_new(pc, N_ERROR, l); }

/* Every constructed node passes through here: past AST_MAX_DEPTH the node
 * becomes N_ERROR (depth 1), so every later recursive walk is bounded, and
 * E0103 is reported once per file. */
Node *ps_done(ParseCtx *pc, Node *n) {
  if (ast_set_depth(n) <= AST_MAX_DEPTH) return n;
  if (!pc->deep_reported)
    diag_add(pc->diags, D_E0103, n->span, "split it into smaller parts with 'let'",
             "expression nested too deeply (limit %d)", AST_MAX_DEPTH);
  pc->deep_reported = true;
  return ast_new(pc->arena, N_ERROR, n->span);
}

Node *ps_name(ParseCtx *pc, const char *id, Loc l) {
  Node *n = ps_new(pc, N_NAME, l);
  n->u.name.id = id;
  return n;
}

Node *ps_unary(ParseCtx *pc, Op op, Node *e, Loc l) {
  Node *n = ps_new(pc, N_UNARY, l);
  n->u.unary.op = op;
  n->u.unary.operand = e;
  return ps_done(pc, n);
}

Node *ps_try(ParseCtx *pc, Node *e, Loc l) {
  Node *n = ps_new(pc, N_TRY, l);
  n->u.unary.operand = e;
  return ps_done(pc, n);
}

/* Source text of a node for a help line, or NULL when it is too long to
 * quote (or holds a line break: help lines are one line). */
static const char *quote_span(ParseCtx *pc, Span s) {
  if (s.end <= s.start || s.end - s.start > 60) return NULL;
  const char *t = pc->src->text + s.start;
  for (uint32_t i = 0; i < s.end - s.start; i++)
    if (t[i] == '\n' || t[i] == '\r') return NULL;
  return arena_strndup(pc->arena, t, s.end - s.start);
}

/* `ask r "Summarize:\n" + doc` reads as `(ask r "Summarize:\n") + doc`:
 * it sends the first string alone and joins `doc` to the reply, which is
 * never what the writer meant, and with `-> T` after it the line does not
 * parse at all. So a binary operator right after an ask's prompt (an
 * ask without `-> T` that ends the left operand, not in parentheses) is
 * refused, E0622, with both intended forms spelled out. The same holds
 * after a generate's prompt (its `-> R` comes before `by`), where the
 * operator could only have been meant for the prompt. */
static void ask_operand(ParseCtx *pc, Node *a, Node *b) {
  while (a && (a->kind == N_BINARY || a->kind == N_UNARY))
    a = a->kind == N_BINARY ? a->u.binary.rhs : a->u.unary.operand;
  bool gen = a && a->kind == N_GENERATE && a->u.gen.prompt;
  if (!gen && (!a || a->kind != N_ASK || a->u.ask.type || !a->u.ask.prompt)) return;
  const char *t = pc->src->text;
  uint32_t p = a->span.end, end = b->span.start;
  for (;;) { /* blanks and comments up to the operator */
    while (p < end && (t[p] == ' ' || t[p] == '\t' || t[p] == '\n' || t[p] == '\r')) p++;
    if (p + 1 < end && t[p] == '/' && t[p + 1] == '/')
      while (p < end && t[p] != '\n') p++;
    else if (p + 1 < end && t[p] == '/' && t[p + 1] == '*') {
      p += 2;
      while (p + 1 < end && !(t[p] == '*' && t[p + 1] == '/')) p++;
      p += 2;
    } else
      break;
  }
  if (p >= end || t[p] == ')') return; /* the ask is in parentheses */
  uint32_t q = p;
  if ((t[q] >= 'a' && t[q] <= 'z')) while (q < end && t[q] >= 'a' && t[q] <= 'z') q++;
  else q += (q + 1 < end && t[q + 1] == '=') ? 2 : 1;
  Span at = {pc->file, p, q};
  if (gen) { /* a function value takes no operator: the prompt was meant */
    diag_add(pc->diags, D_E0622, at,
             "to send the joined text, parenthesise the prompt: `generate fn(…) by r (\"Do \" + x)`, "
             "or interpolate: `generate fn(…) by r \"Do {x}\"`",
             "operator '%.*s' after a generate's prompt: the prompt ends before it, so it would "
             "apply to the generated function", (int)(q - p), t + p);
    uint32_t line, col;
    src_line_col(pc->src, p, &line, &col);
    pc->last_err_line = line;
    return;
  }
  const char *role = quote_span(pc, a->u.ask.role->span);
  const char *prompt = quote_span(pc, a->u.ask.prompt->span);
  const char *rhs = quote_span(pc, b->span);
  char *help, *tail = NULL;
  if (role && prompt && rhs) {
    size_t pl = strlen(prompt);
    bool plain = pl >= 2 && prompt[0] == '"' && prompt[1] != '"' && prompt[pl - 1] == '"' &&
                 t[p] == '+';
    if (plain)
      tail = xasprintf(", or interpolate: `ask %s %.*s{%s}\"`", role,
                           (int)(pl - 1), prompt, rhs);
    help = xasprintf("to send the joined text, parenthesise the prompt: `ask %s (%s %.*s "
                         "%s)`%s; to combine the reply, parenthesise the ask: `(ask %s %s) "
                         "%.*s %s`",
                         role, prompt, (int)(q - p), t + p, rhs, tail ? tail : "", role, prompt,
                         (int)(q - p), t + p, rhs);
  } else
    help = xasprintf("%s", "to send the joined text, parenthesise the prompt: `ask r (\"Summarize:\\n\" + "
           "doc)`, or interpolate: `ask r \"Summarize:\\n{doc}\"`; to combine the reply, "
           "parenthesise the ask: `(ask r \"...\") + x`");
  diag_add(pc->diags, D_E0622, at, help,
           "operator '%.*s' after an ask's prompt: the prompt ends before it, so it would "
           "apply to the reply", (int)(q - p), t + p);
  free(help);
  free(tail);
  uint32_t line, col;
  src_line_col(pc->src, p, &line, &col);
  pc->last_err_line = line; /* a `-> T` after it is part of the same mistake */
}

Node *ps_binary(ParseCtx *pc, Op op, Node *a, Node *b, Loc l) {
  ask_operand(pc, a, b);
  Node *n = ps_new(pc, N_BINARY, l);
  n->u.binary.op = op;
  n->u.binary.lhs = a;
  n->u.binary.rhs = b;
  return ps_done(pc, n);
}

Node *ps_list(ParseCtx *pc, NodeKind k, NodeList items, Loc l) {
  Node *n = ps_new(pc, k, l);
  n->u.list.items = items;
  return ps_done(pc, n);
}

Node *ps_type_name(ParseCtx *pc, const char *id, NodeList args, Loc l) {
  Node *n = ps_new(pc, N_TYPE_NAME, l);
  n->u.tname.id = id;
  n->u.tname.args = args;
  return ps_done(pc, n);
}

Node *ps_type_qualified(ParseCtx *pc, const char *alias, const char *id, NodeList args, Loc l) {
  Node *n = ps_new(pc, N_TYPE_NAME, l);
  n->u.tname.module = alias;
  n->u.tname.id = id;
  n->u.tname.args = args;
  return ps_done(pc, n);
}

Node *ps_type_range(ParseCtx *pc, Node *base, Node *lo, Node *hi, Loc l) {
  Node *n = ps_new(pc, N_TYPE_RANGE, l);
  n->u.trange.base = base;
  n->u.trange.lo = lo;
  n->u.trange.hi = hi;
  return ps_done(pc, n);
}

Node *ps_pattern(ParseCtx *pc, Node *lit, Loc l) {
  Node *n = ps_new(pc, N_PAT_LIT, l);
  n->u.pat.lit = lit;
  return ps_done(pc, n);
}

Node *ps_bind_pattern(ParseCtx *pc, const char *name, Loc l) {
  if (strcmp(name, "_") == 0) return ps_done(pc, ps_new(pc, N_PAT_WILD, l));
  Node *n = ps_new(pc, N_PAT_BIND, l);
  n->u.pat.name = name;
  return ps_done(pc, n);
}

/* `Search { query: "x" }` built, or `Search { query }` matched. */
Node *ps_variant(ParseCtx *pc, NodeKind kind, const char *name, Loc name_at, NodeList fields, Loc l) {
  Node *n = ps_new(pc, kind, l);
  n->u.variant.name = name;
  n->u.variant.name_span = ps_span(pc, name_at);
  n->u.variant.fields = fields;
  return ps_done(pc, n);
}

/* `- 3` in a pattern: one literal with the sign folded in. */
Node *ps_negate_lit(ParseCtx *pc, Node *lit, Loc l) {
  lit->span = ps_span(pc, l);
  if (lit->kind == N_INT) lit->u.lit.i = -lit->u.lit.i;
  else lit->u.lit.f = -lit->u.lit.f;
  return lit;
}

/* ask role [with { settings }] prompt [-> type] */
Node *ps_ask(ParseCtx *pc, Node *role, Node *with, Node *prompt, Node *type, Loc l) {
  Node *n = ps_new(pc, N_ASK, l);
  n->u.ask.role = role;
  n->u.ask.with = with;
  n->u.ask.prompt = prompt;
  n->u.ask.type = type;
  return ps_done(pc, n);
}

Node *ps_generate(ParseCtx *pc, NodeList params, Node *ret, const char *by, Loc by_loc, Node *role,
                  Node *prompt, Loc l) {
  Node *n = ps_new(pc, N_GENERATE, l);
  n->u.gen.params = params;
  n->u.gen.ret = ret;
  n->u.gen.role = role;
  n->u.gen.prompt = prompt;
  if (strcmp(by, "by") != 0)
    diag_add(pc->diags, D_E0101, ps_span(pc, by_loc), "write `generate fn(PARAMS) -> T by ROLE PROMPT`",
             "unexpected identifier '%.40s', expected 'by'", by);
  return ps_done(pc, n);
}

/* Whether the contextual word of `arg` (a word_arg) is one of the
 * `|`-separated words in `list`; E0101 ("expected <expected>") if not. */
static bool word_is(ParseCtx *pc, const Node *arg, const char *list, const char *expected,
                    const char *help) {
  const char *w = arg->u.init.name;
  size_t n = strlen(w);
  for (const char *p = list; *p;) {
    const char *bar = strchr(p, '|');
    size_t k = bar ? (size_t)(bar - p) : strlen(p);
    if (k == n && strncmp(p, w, n) == 0) return true;
    p += k + (bar ? 1 : 0);
  }
  Span at = {pc->file, arg->span.start, arg->span.start + (uint32_t)n};
  diag_add(pc->diags, D_E0101, at, help, "unexpected identifier '%.40s', expected %s", w,
           expected);
  return false;
}

/* A fan-out branch: body as the arrow body of a lambda over `param` (NULL
 * for a record fan-out's zero-parameter branch), so the checker and the
 * emitter treat it exactly like a closure. */
static Node *branch_lambda(ParseCtx *pc, Node *param, Node *body, Span span) {
  Node *n = ast_new(pc->arena, N_LAMBDA, span);
  if (param) ps_push(pc, &n->u.lambda.params, param);
  n->u.lambda.body = body;
  n->u.lambda.arrow = true;
  n->u.lambda.branch = true;
  return ps_done(pc, n);
}

/* loop name[: type] = init max N { body } until cond [else e]
 * `bound` is the `max N` word_arg, or NULL (the checker reports that). */
Node *ps_loop(ParseCtx *pc, const char *name, Loc name_loc, Node *type, Node *init, Node *bound,
              Node *body, Node *until, Node *els, Loc l) {
  Node *n = ps_new(pc, N_LOOP, l);
  n->u.loop.name = name;
  n->u.loop.name_span = ps_span(pc, name_loc);
  n->u.loop.type = type;
  n->u.loop.init = init;
  if (bound) {
    word_is(pc, bound, "max", "'max'", "a loop's bound is written `max N`, after the initial state");
    n->u.loop.max = bound->u.init.value;
  }
  n->u.loop.body = body;
  n->u.loop.until = until;
  n->u.loop.else_ = els;
  return ps_done(pc, n);
}

/* fanout x in xs [limit N] { body } */
Node *ps_fanout(ParseCtx *pc, const char *var, Loc var_loc, Node *iter, Node *limit, Node *body,
                Loc l) {
  Node *n = ps_new(pc, N_FANOUT, l);
  Node *param = ps_new(pc, N_PARAM, var_loc);
  param->u.param.name = var;
  n->u.fanout.iter = iter;
  if (limit) {
    word_is(pc, limit, "limit", "'limit' or '{'", "the concurrency bound is written `limit N`, before the '{'");
    n->u.fanout.limit = limit->u.init.value;
  }
  n->u.fanout.branch = branch_lambda(pc, param, body, ps_span(pc, l));
  return ps_done(pc, n);
}

/* fanout { a: e1, b: e2 }: each field's value becomes a branch */
Node *ps_fanout_record(ParseCtx *pc, NodeList fields, Loc l) {
  Node *n = ps_new(pc, N_FANOUT, l);
  for (uint32_t i = 0; i < fields.n; i++) {
    Node *f = fields.items[i];
    if (!f || f->kind != N_FIELD_INIT || !f->u.init.value) continue;
    f->u.init.value = branch_lambda(pc, NULL, f->u.init.value, f->u.init.value->span);
    f = ps_done(pc, f);
    fields.items[i] = f;
  }
  n->u.fanout.fields = fields;
  return ps_done(pc, n);
}

/* budget { limits } { body } [else { e }]: body and else become branch
 * lambdas (each runs in its own fiber, see vm/tasks.c) */
Node *ps_budget(ParseCtx *pc, NodeList limits, Node *body, Node *els, Loc l) {
  Node *n = ps_new(pc, N_BUDGET, l);
  n->u.budget.limits = limits;
  n->u.budget.body = body ? branch_lambda(pc, NULL, body, body->span) : NULL;
  n->u.budget.else_ = els ? branch_lambda(pc, NULL, els, els->span) : NULL;
  return ps_done(pc, n);
}

/* barrier t { tolerate N | tolerate P% | first K | timeout D }: each
 * modifier at most once, in any order. */
Node *ps_barrier(ParseCtx *pc, Node *tasks, NodeList mods, Loc l) {
  Node *n = ps_new(pc, N_BARRIER, l);
  n->u.barrier.tasks = tasks;
  for (uint32_t i = 0; i < mods.n; i++) {
    Node *m = mods.items[i];
    if (!word_is(pc, m, "tolerate|first|timeout", "'tolerate', 'first' or 'timeout'",
                 "a barrier takes `tolerate N` (or `tolerate P%`), `first K` and `timeout D`"))
      continue;
    const char *w = m->u.init.name;
    Node **slot = strcmp(w, "tolerate") == 0 ? &n->u.barrier.tolerate
                  : strcmp(w, "first") == 0  ? &n->u.barrier.first
                                             : &n->u.barrier.timeout;
    if (*slot) {
      diag_add(pc->diags, D_E0101, m->span, "give each modifier at most once",
               "`%s` is given twice in one barrier", w);
      continue;
    }
    *slot = m->u.init.value;
  }
  return ps_done(pc, n);
}

/* The type an expression spells, for `f[T](x)`: a name, or a name indexed
 * by such types (`list[int]`, `map[list[T]]`); NULL if it is not one. */
static Node *expr_to_type(ParseCtx *pc, Node *e) {
  Loc l = {e->span.start, e->span.end, NULL};
  if (e->kind == N_NAME) return ps_type_name(pc, e->u.name.id, (NodeList){0}, l);
  if (e->kind == N_FIELD && e->u.field.object->kind == N_NAME)
    return ps_type_qualified(pc, e->u.field.object->u.name.id, e->u.field.name, (NodeList){0}, l);
  if (e->kind == N_INDEX && e->u.index.object->kind == N_NAME) {
    Node *arg = expr_to_type(pc, e->u.index.index);
    if (!arg) return NULL;
    NodeList args = {0};
    ps_push(pc, &args, arg);
    return ps_type_name(pc, e->u.index.object->u.name.id, args, l);
  }
  /* `{ items: list[Item] }` parsed as a record literal: a record type. */
  if (e->kind == N_RECORD) {
    Node *t = ps_new(pc, N_TYPE_RECORD, l);
    for (uint32_t i = 0; i < e->u.list.items.n; i++) {
      Node *init = e->u.list.items.items[i];
      Node *ft = init->kind == N_FIELD_INIT ? expr_to_type(pc, init->u.init.value) : NULL;
      if (!ft) return NULL;
      Node *f = ps_new(pc, N_PARAM, (Loc){init->span.start, init->span.end, NULL});
      f->u.param.name = init->u.init.name;
      f->u.param.type = ft;
      f->doc = init->doc;
      ps_push(pc, &t->u.list.items, ps_done(pc, f));
    }
    return ps_done(pc, t);
  }
  return NULL;
}

Node *ps_call(ParseCtx *pc, Node *callee, NodeList args, Loc l) {
  Node *n = ps_new(pc, N_CALL, l);
  n->u.call.args = args;
  n->u.call.callee = callee;
  if (callee->kind == N_INDEX && callee->u.index.object->kind == N_NAME) {
    Node *t = expr_to_type(pc, callee->u.index.index);
    if (t) {
      n->u.call.callee = callee->u.index.object;
      ps_push(pc, &n->u.call.type_args, t);
    }
  }
  return ps_done(pc, n);
}

/* postfix '[' first ',' rest ']' '(' args ')': only type arguments can be
 * a bracketed list. */
Node *ps_generic_call(ParseCtx *pc, Node *callee, Node *first, NodeList rest,
                      NodeList args, Loc l) {
  Node *n = ps_new(pc, N_CALL, l);
  n->u.call.callee = callee;
  n->u.call.args = args;
  bool ok = callee->kind == N_NAME;
  for (uint32_t i = 0; ok && i <= rest.n; i++) {
    Node *t = expr_to_type(pc, i == 0 ? first : rest.items[i - 1]);
    if (t) ps_push(pc, &n->u.call.type_args, t);
    else ok = false;
  }
  if (!ok) {
    Span s = span_join(first->span, rest.items[rest.n - 1]->span);
    diag_add(pc->diags, D_E0101, s,
             "'f[A, B](x)' passes type arguments to a generic function; an index takes "
             "one expression",
             "expected type arguments");
    return ps_error(pc, l);
  }
  return ps_done(pc, n);
}

/* A block's value is its last statement when that is an expression not
 * followed by ';'. */
Node *ps_block(ParseCtx *pc, NodeList stmts, int trailing_semi, Loc l) {
  Node *n = ps_new(pc, N_BLOCK, l);
  n->u.block.stmts = stmts;
  n->u.block.has_value =
      stmts.n > 0 && stmts.items[stmts.n - 1]->kind == N_EXPR_STMT && !trailing_semi;
  return ps_done(pc, n);
}

/* ---- triple-quoted strings ---------------------------------------------
 * The lexer records, in each piece of a """ string, where lines begin and
 * how many spaces/tabs start them (StrMarks in Node.extra). Dedenting:
 * the smallest indentation of the lines with text is removed from every
 * line (counted in characters: a tab is one); lines of only whitespace
 * become empty; the whitespace-only line before the closing """ is
 * dropped with its newline. extra is reset to NULL afterwards. */

static uint32_t min_indent(Node **pieces, uint32_t n) {
  uint32_t ind = UINT32_MAX;
  for (uint32_t i = 0; i < n; i++) {
    StrMarks *m = pieces[i]->extra;
    for (uint32_t k = 0; m && k < m->n; k++)
      if (m->m[k].kind == MARK_TEXT && m->m[k].ws < ind) ind = m->m[k].ws;
  }
  return ind == UINT32_MAX ? 0 : ind;
}

static void dedent_piece(ParseCtx *pc, Node *p, uint32_t indent) {
  StrMarks *m = p->extra;
  p->extra = NULL;
  if (!m || !m->n) return;
  const char *s = p->u.lit.str;
  size_t len = p->u.lit.len, i = 0, o = 0;
  char *out = arena_alloc(pc->arena, len + 1);
  for (uint32_t k = 0; k < m->n; k++) {
    StrMark mk = m->m[k];
    memcpy(out + o, s + i, mk.off - i);
    o += mk.off - i;
    i = mk.off;
    if (mk.kind == MARK_CLOSE) {
      if (o > 0 && out[o - 1] == '\n') o--;
      i += mk.ws;
    } else if (mk.kind == MARK_BLANK)
      i += mk.ws;
    else
      i += mk.ws < indent ? mk.ws : indent;
  }
  memcpy(out + o, s + i, len - i);
  o += len - i;
  out[o] = '\0';
  p->u.lit.str = out;
  p->u.lit.len = o;
}

Node *ps_string(ParseCtx *pc, Node *piece) {
  if (piece->extra) dedent_piece(pc, piece, min_indent(&piece, 1));
  return piece;
}

/* parts: STR_HEAD piece, expr, STR_MID piece, expr, ... then the tail.
 * Empty pieces are left out of the result. */
Node *ps_interp(ParseCtx *pc, NodeList parts, Node *tail, Loc l) {
  ps_push(pc, &parts, tail);
  {
    /* the pieces are at the even positions; only """ pieces have marks
     * (after error recovery a piece of another string may end up here) */
    uint32_t np = 0;
    Node **pieces = arena_alloc(pc->arena, (parts.n / 2 + 1) * sizeof *pieces);
    for (uint32_t i = 0; i < parts.n; i += 2) pieces[np++] = parts.items[i];
    uint32_t ind = min_indent(pieces, np);
    for (uint32_t i = 0; i < np; i++) dedent_piece(pc, pieces[i], ind);
  }
  Node *n = ps_new(pc, N_INTERP, l);
  for (uint32_t i = 0; i < parts.n; i++) {
    Node *p = parts.items[i];
    if (i % 2 == 0 && p->u.lit.len == 0) continue;
    ps_push(pc, &n->u.interp.parts, p);
  }
  return ps_done(pc, n);
}

/* ---- token feed ------------------------------------------------------- */

/* After a reported syntax error, tokens nested deeper than the bad token
 * are dropped until a separator, ',' or a closing bracket at its level:
 * Bison's recovery then discards tokens at that level only, so a '}' of a
 * block opened inside the bad part cannot end an enclosing block. */
int wplex(WPSTYPE *val, Loc *loc, ParseCtx *pc) {
  for (;;) {
    int t = lex_next(pc, val, loc);
    if (pc->skipping) {
      const Lexer *lx = &pc->lx;
      uint32_t inner = lx->tok_level + (lx->tok_role != 0);
      if (t == T_END) pc->skipping = false;
      else if (inner > pc->skip_level) {
        if (t == T_STRING || t == T_STR_HEAD || t == T_STR_MID || t == T_STR_TAIL)
          val->node->extra = NULL; /* a dropped piece is never dedented */
        continue;
      } else if (lx->tok_role < 0 || t == T_NEWLINE || t == T_SEMI || t == T_COMMA)
        pc->skipping = false;
    }
    uint32_t level = pc->lx.tok_level;
    if (t == T_IDENT && level == 0 && pc->cur_level == 0 &&
        (pc->cur_tok == T_FN || pc->cur_tok == T_TYPE || pc->cur_tok == T_ROLE ||
         pc->cur_tok == T_AS) &&
        pc->item_names.n < 65536)
      ps_push(pc, &pc->item_names, ps_name(pc, val->str, *loc));
    pc->prev_tok = pc->cur_tok;
    pc->cur_tok = t;
    pc->prev_loc = pc->cur_loc;
    pc->cur_loc = *loc;
    pc->cur_level = level;
    return t;
  }
}

/* ---- entry point ------------------------------------------------------ */

int parse_source(Arena *arena, SourceSet *ss, uint32_t file, struct DiagList *diags, Ast *out) {
  uint32_t before = diags->errors;
  memset(out, 0, sizeof *out);
  out->file = file;
  Source *src = src_get(ss, file);
  if (!src) return 0;
  if (src->len > SRC_MAX_BYTES) {
    Span s = {file, 0, 0};
    diag_add(diags, D_E0104, s, "split the program into modules",
             "source file too large (more than %zu MiB)", SRC_MAX_BYTES >> 20);
    return (int)(diags->errors - before);
  }
  ParseCtx pc;
  memset(&pc, 0, sizeof pc);
  pc.arena = arena;
  pc.diags = diags;
  pc.src = src;
  pc.file = file;
  pc.prev_tok = pc.cur_tok = T_NEWLINE;
  lex_init(&pc);
  wpparse(&pc);
  lex_free(&pc);
  out->items = pc.items;
  out->item_names = pc.item_names;
  return (int)(diags->errors - before);
}

/* ---- verify and tournament: the construct as written ------------------
 * The parser checks only the contextual words (`by`, `on`, `quorum`, each
 * part at most once) and keeps the parts; the compiler's desugaring
 * (compiler/desugar.c) checks what they mean and lowers the construct. */

/* verify CLAIM by R | [R1, …] { quorum K | with { … } } */
Node *ps_verify(ParseCtx *pc, Node *claim, const char *by, Loc by_loc, NodeList roles, int listed,
                NodeList mods, Loc l) {
  Node *n = ps_new(pc, N_VERIFY, l);
  n->u.verify.claim = claim;
  n->u.verify.roles = roles;
  n->u.verify.listed = listed != 0;
  if (strcmp(by, "by") != 0) {
    Span at = ps_span(pc, by_loc);
    diag_add(pc->diags, D_E0101, at, "write `verify CLAIM by ROLE`",
             "unexpected identifier '%.40s', expected 'by'", by);
  }
  for (uint32_t i = 0; i < mods.n; i++) {
    Node *m = mods.items[i];
    if (strcmp(m->u.init.name, "with") == 0) {
      if (n->u.verify.with) {
        diag_add(pc->diags, D_E0101, m->span, "give each part at most once",
                 "`with` is given twice in one verify");
        continue;
      }
      n->u.verify.with = m->u.init.value;
      continue;
    }
    if (!word_is(pc, m, "quorum", "'quorum' or 'with'",
                 "a verify takes `quorum K` (with a list of roles) and `with { … }`"))
      continue;
    if (n->u.verify.quorum) {
      diag_add(pc->diags, D_E0101, m->span, "give each part at most once",
               "`quorum` is given twice in one verify");
      continue;
    }
    n->u.verify.quorum = m->u.init.value;
  }
  return ps_done(pc, n);
}

/* tournament XS by J on CRIT [FORMAT] [-> RET] */
Node *ps_tournament(ParseCtx *pc, Node *items, const char *by, Loc by_loc, Node *judge,
                    const char *on, Loc on_loc, Node *crit, Node *format, Node *ret, Loc l) {
  Node *n = ps_new(pc, N_TOURNAMENT, l);
  n->u.tourn.items = items;
  n->u.tourn.judge = judge;
  n->u.tourn.criterion = crit;
  n->u.tourn.format = format;
  n->u.tourn.ret = ret;
  if (strcmp(by, "by") != 0)
    diag_add(pc->diags, D_E0101, ps_span(pc, by_loc), "write `tournament XS by JUDGE on \"criterion\"`",
             "unexpected identifier '%.40s', expected 'by'", by);
  if (strcmp(on, "on") != 0)
    diag_add(pc->diags, D_E0101, ps_span(pc, on_loc), "write `tournament XS by JUDGE on \"criterion\"`",
             "unexpected identifier '%.40s', expected 'on'", on);
  return ps_done(pc, n);
}
