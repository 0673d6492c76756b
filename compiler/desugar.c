/* desugar.c — verify and tournament, from the parts the parser kept to
 * ordinary expressions built from asks, a record fan-out and prelude
 * functions (stdlib/prelude.weft), so the checker types them and the
 * emitter lowers them like code a user could write. The constructs' own
 * rules (which `with` parts exist, the quorum, the format, `-> ranking`)
 * are checked here, where their meaning is known.
 *
 * Every synthesized node spans the whole construct; the user's own
 * operands keep their spans. Synthesized locals start with `__`, which a
 * program cannot write. Depth is capped as in the parser (ps_done): a
 * lowering that nests past AST_MAX_DEPTH becomes N_ERROR with E0103, so
 * every later walk stays bounded. */
#include "desugar.h"
#include "../base/buf.h"
#include "../lang/source.h"
#include "../vm/module.h"

#include <stdio.h>
#include <string.h>

/* The formats, each described once. bracket: n-1 games; round_robin:
 * n(n-1)/2 pairs; swiss: at most n/2 games a round. Every game asks the
 * judge twice (both orders, against position bias). */
static const TournamentFormat FORMATS[] = {
    {"bracket", "tournament_bracket", false, false, 0, 2, -2, 0},
    {"round_robin", "tournament_round_robin", false, true, 1, -1, 0, 0},
    {"swiss", "tournament_swiss", true, true, 0, 0, 0, 1},
};
#define NFORMATS (sizeof FORMATS / sizeof FORMATS[0])

static const TournamentFormat *format_named(const char *name) {
  for (size_t i = 0; i < NFORMATS; i++)
    if (strcmp(FORMATS[i].name, name) == 0) return &FORMATS[i];
  return NULL;
}

/* The format is valid when its word names one and a value is written
 * exactly when it takes rounds. */
static const TournamentFormat *format_valid(const Node *format) {
  if (!format) return &FORMATS[0];
  const TournamentFormat *f = format_named(format->u.init.name);
  return f && f->rounds == (format->u.init.value != NULL) ? f : NULL;
}

const TournamentFormat *tournament_format(const Node *n) {
  const TournamentFormat *f = format_valid(n->u.tourn.format);
  return f ? f : &FORMATS[0];
}

typedef struct Ds {
  Arena *a;
  DiagList *dl;
  SourceSet *ss; /* for the source of the tool-calling loops (lower_ask) */
  Ast *ast;
  uint32_t file;
  bool deep_reported;
  bool changed; /* a lowering below the node being walked: its depth grew */
} Ds;

/* ---- constructors (the parser's, without a ParseCtx) ------------------ */

/* As ps_done: past AST_MAX_DEPTH a node becomes N_ERROR, E0103 once per
 * file (the parser's report counts). */
static Node *done(Ds *d, Node *n) {
  if (ast_set_depth(n) <= AST_MAX_DEPTH) return n;
  if (!d->deep_reported)
    diag_add(d->dl, D_E0103, n->span, "split it into smaller parts with 'let'",
             "expression nested too deeply (limit %d)", AST_MAX_DEPTH);
  d->deep_reported = true;
  return ast_new(d->a, N_ERROR, n->span);
}

static void push(Ds *d, NodeList *l, Node *n) {
  if (n) nl_push(d->a, l, n);
}

static Node *mk_name(Ds *d, const char *id, Span s) {
  Node *n = ast_new(d->a, N_NAME, s);
  n->u.name.id = id;
  return n;
}

static Node *mk_string(Ds *d, const char *str, Span s) {
  Node *n = ast_new(d->a, N_STRING, s);
  n->u.lit.str = str;
  n->u.lit.len = strlen(str);
  return n;
}

static Node *mk_int(Ds *d, int64_t v, Span s) {
  Node *n = ast_new(d->a, N_INT, s);
  n->u.lit.i = v;
  return n;
}

static Node *mk_list(Ds *d, NodeKind k, NodeList items, Span s) {
  Node *n = ast_new(d->a, k, s);
  n->u.list.items = items;
  return done(d, n);
}

static Node *mk_type_name(Ds *d, const char *id, Span s) {
  Node *n = ast_new(d->a, N_TYPE_NAME, s);
  n->u.tname.id = id;
  return done(d, n);
}

/* A call of a standard function or native: the checker resolves a
 * `lowered` name in the prelude and the natives only (internal ones
 * included), whatever the program declares under that name. */
static Node *mk_call(Ds *d, const char *fn, NodeList args, Span s) {
  Node *callee = mk_name(d, fn, s);
  callee->u.name.lowered = true;
  Node *n = ast_new(d->a, N_CALL, s);
  n->u.call.callee = callee;
  n->u.call.args = args;
  return done(d, n);
}

static Node *mk_let(Ds *d, const char *name, Node *value, Span s) {
  Node *n = ast_new(d->a, N_LET, s);
  n->u.decl.name = name;
  n->u.decl.name_span = s;
  n->u.decl.value = value;
  return done(d, n);
}

static Node *mk_stmt(Ds *d, Node *e, Span s) {
  Node *n = ast_new(d->a, N_EXPR_STMT, s);
  n->u.stmt.expr = e;
  return done(d, n);
}

static Node *mk_field(Ds *d, Node *obj, const char *name, Span s) {
  Node *n = ast_new(d->a, N_FIELD, s);
  n->u.field.object = obj;
  n->u.field.name = name;
  n->u.field.name_span = s;
  return done(d, n);
}

/* A block whose value is its last statement. */
static Node *mk_block(Ds *d, NodeList stmts, Span s) {
  Node *n = ast_new(d->a, N_BLOCK, s);
  n->u.block.stmts = stmts;
  n->u.block.has_value = stmts.n > 0 && stmts.items[stmts.n - 1]->kind == N_EXPR_STMT;
  return done(d, n);
}

/* A fresh copy of a role reference (a name or `lib.role`): each use gets
 * its own node, since the checker annotates it in place. */
static Node *mk_role(Ds *d, const Node *r) {
  Node *n = ast_new(d->a, r->kind, r->span);
  n->u = r->u;
  if (r->kind == N_FIELD) n->u.field.object = mk_role(d, r->u.field.object);
  return done(d, n);
}

/* "reviewer" or "lib.reviewer", for quorum reasons and the trace */
static const char *role_text(Ds *d, const Node *r) {
  if (r->kind == N_NAME) return r->u.name.id;
  if (r->kind != N_FIELD || r->u.field.object->kind != N_NAME) return "?";
  const char *a = r->u.field.object->u.name.id, *b = r->u.field.name;
  size_t la = strlen(a), lb = strlen(b);
  char *s = arena_alloc(d->a, la + lb + 2);
  memcpy(s, a, la);
  s[la] = '.';
  memcpy(s + la + 1, b, lb + 1);
  return s;
}

static Node *mk_ask(Ds *d, const Node *role, Node *prompt, Node *type, Span s) {
  Node *n = ast_new(d->a, N_ASK, s);
  n->u.ask.role = mk_role(d, role);
  n->u.ask.prompt = prompt;
  n->u.ask.type = type;
  return done(d, n);
}

/* barrier fanout { fields… }: each field's value becomes a zero-parameter
 * branch lambda, as the parser builds a record fan-out. */
static Node *mk_barrier_fanout(Ds *d, NodeList fields, Span s) {
  for (uint32_t i = 0; i < fields.n; i++) {
    Node *f = fields.items[i];
    if (f->kind != N_FIELD_INIT || !f->u.init.value) continue;
    Node *lam = ast_new(d->a, N_LAMBDA, f->u.init.value->span);
    lam->u.lambda.body = f->u.init.value;
    lam->u.lambda.arrow = true;
    lam->u.lambda.branch = true;
    f->u.init.value = done(d, lam);
    fields.items[i] = done(d, f);
  }
  Node *fan = ast_new(d->a, N_FANOUT, s);
  fan->u.fanout.fields = fields;
  Node *b = ast_new(d->a, N_BARRIER, s);
  b->u.barrier.tasks = done(d, fan);
  return done(d, b);
}

/* ---- verify ------------------------------------------------------------
 * verify CLAIM by R [with {…}]            =>
 *   verdict_one(ask R (verify_prompt(CLAIM, [R], EV, FI, DOUBTS)) -> verdict, "R")
 * verify CLAIM by [R1, …, Rn] quorum K     =>
 *   { let __verify_prompt = verify_prompt(CLAIM, [R1, …], EV, FI, DOUBTS)
 *     let __verify_votes = barrier fanout { v0: ask R1 __verify_prompt -> verdict, … }
 *     verdict_quorum([__verify_votes.v0, …], ["R1", …], K) }
 * verify_prompt refuses (at run time) a claim whose provenance is one of
 * the verifier roles; verdict_one only adds the trace's `verdict` event. */
static void lower_verify(Ds *d, Node *n) {
  Span l = n->span;
  NodeList roles = n->u.verify.roles;
  bool listed = n->u.verify.listed;
  Node *ev = NULL, *fi = NULL, *doubts = NULL, *quorum = n->u.verify.quorum;
  if (n->u.verify.with) {
    NodeList *fs = &n->u.verify.with->u.list.items;
    for (uint32_t k = 0; k < fs->n; k++) {
      Node *f = fs->items[k];
      if (f->kind != N_FIELD_INIT) continue;
      const char *name = f->u.init.name;
      Node **slot = strcmp(name, "evidence") == 0     ? &ev
                    : strcmp(name, "falsify_if") == 0 ? &fi
                    : strcmp(name, "doubts") == 0     ? &doubts
                                                      : NULL;
      if (!slot) {
        diag_add(d->dl, D_E0206, f->span,
                 "verify takes `with { evidence: …, falsify_if: …, doubts: … }`",
                 "verify has no part `%.40s`", name);
      } else if (*slot) {
        diag_add(d->dl, D_E0310, f->span, NULL, "`%s` is given twice", name);
      } else {
        *slot = f->u.init.value;
      }
    }
  }
  uint32_t nr = roles.n;
  int64_t k = (int64_t)nr / 2 + 1; /* default: a majority */
  if (quorum && !listed) {
    diag_add(d->dl, D_E0617, quorum->span, "list the verifiers: `verify c by [r1, r2, r3] quorum 2`",
             "a quorum needs a list of verifier roles");
  } else if (quorum && quorum->kind != N_INT) {
    diag_add(d->dl, D_E0617, quorum->span, "write the number of votes needed, e.g. `quorum 2`",
             "a quorum is an integer literal");
  } else if (quorum && (quorum->u.lit.i < 1 || quorum->u.lit.i > (int64_t)nr)) {
    diag_add(d->dl, D_E0617, quorum->span, "a quorum counts votes: from 1 to the number of roles",
             "quorum %lld is out of range for %u verifier%s", (long long)quorum->u.lit.i, nr,
             nr == 1 ? "" : "s");
  } else if (quorum) {
    k = quorum->u.lit.i;
  }
  if (nr == 0) {
    diag_add(d->dl, D_E0608, l, "name at least one verifier role", "verify needs a role");
    return;
  }

  NodeList idx = {0};
  for (uint32_t i = 0; i < nr; i++) {
    Node *ri = ast_new(d->a, N_ROLE_INDEX, l);
    ri->u.role_index.role = mk_role(d, roles.items[i]);
    push(d, &idx, done(d, ri));
  }
  NodeList pargs = {0};
  push(d, &pargs, n->u.verify.claim);
  push(d, &pargs, mk_list(d, N_LIST, idx, l));
  push(d, &pargs, ev ? ev : ast_new(d->a, N_NONE, l));
  push(d, &pargs, fi ? fi : ast_new(d->a, N_NONE, l));
  push(d, &pargs, doubts ? doubts : ast_new(d->a, N_NONE, l));
  Node *prompt = mk_call(d, "verify_prompt", pargs, l);

  if (!listed) {
    NodeList oargs = {0};
    push(d, &oargs, mk_ask(d, roles.items[0], prompt, mk_type_name(d, "verdict", l), l));
    push(d, &oargs, mk_string(d, role_text(d, roles.items[0]), l));
    n->u.verify.lowered = mk_call(d, "verdict_one", oargs, l);
    return;
  }
  /* the votes: one branch per role, all asked at once */
  NodeList fields = {0}, votes = {0}, names = {0};
  for (uint32_t i = 0; i < nr; i++) {
    char *fname = arena_alloc(d->a, 16);
    snprintf(fname, 16, "v%u", i);
    Node *f = ast_new(d->a, N_FIELD_INIT, l);
    f->u.init.name = fname;
    f->u.init.value = mk_ask(d, roles.items[i], mk_name(d, "__verify_prompt", l),
                             mk_type_name(d, "verdict", l), l);
    push(d, &fields, done(d, f));
    push(d, &votes, mk_field(d, mk_name(d, "__verify_votes", l), fname, l));
    push(d, &names, mk_string(d, role_text(d, roles.items[i]), l));
  }
  NodeList stmts = {0};
  push(d, &stmts, mk_let(d, "__verify_prompt", prompt, l));
  push(d, &stmts, mk_let(d, "__verify_votes", mk_barrier_fanout(d, fields, l), l));
  NodeList qargs = {0};
  push(d, &qargs, mk_list(d, N_LIST, votes, l));
  push(d, &qargs, mk_list(d, N_LIST, names, l));
  push(d, &qargs, mk_int(d, k, l));
  push(d, &stmts, mk_stmt(d, mk_call(d, "verdict_quorum", qargs, l), l));
  n->u.verify.lowered = mk_block(d, stmts, l);
}

/* ---- tournament ----------------------------------------------------------
 * tournament XS by J on CRIT [FORMAT] [-> ranking]   =>
 *   { let __criterion: string = CRIT
 *     FN(XS, [N,] __criterion, JUDGE) }      (the format's prelude function;
 *                                             `[0].item` after it when it
 *                                             ranks and no ranking is asked)
 * JUDGE = fn(__a, __b) => ask J (judge_prompt(__criterion, __a, __b)) -> "A" | "B" */
static void lower_tournament(Ds *d, Node *n) {
  Span l = n->span;
  Node *format = n->u.tourn.format, *ret = n->u.tourn.ret, *judge = n->u.tourn.judge;
  const TournamentFormat *fmt = format_valid(format);
  if (!fmt) {
    const TournamentFormat *named = format_named(format->u.init.name);
    if (named && named->rounds)
      diag_add(d->dl, D_E0619, format->span,
               "the formats are `bracket` (the default), `round_robin` and `swiss N` (N rounds)",
               "`%s` needs its number of rounds: `%s N`", named->name, named->name);
    else
      diag_add(d->dl, D_E0619, format->span,
               "the formats are `bracket` (the default), `round_robin` and `swiss N` (N rounds)",
               "unknown tournament format `%.40s`", format->u.init.name);
    fmt = &FORMATS[0];
  }
  bool ranking = false;
  if (ret) {
    if (strcmp(ret->u.name.id, "ranking") != 0)
      diag_add(d->dl, D_E0619, ret->span, "write `-> ranking` for the full ranking, or nothing for the winner",
               "a tournament gives its winner or `-> ranking`, not `%.40s`", ret->u.name.id);
    else if (!fmt->ranks)
      diag_add(d->dl, D_E0619, ret->span, "use `round_robin` or `swiss N` to rank every candidate",
               "a %s finds only the winner; it cannot give a ranking", fmt->name);
    else
      ranking = true;
  }
  if (!judge) return;

  /* the judge: one comparison, both candidates rendered in the prompt */
  Node *pa = ast_new(d->a, N_PARAM, l), *pb = ast_new(d->a, N_PARAM, l);
  pa->u.param.name = "__a";
  pb->u.param.name = "__b";
  NodeList jargs = {0};
  push(d, &jargs, mk_name(d, "__criterion", l));
  push(d, &jargs, mk_name(d, "__a", l));
  push(d, &jargs, mk_name(d, "__b", l));
  NodeList ab = {0};
  push(d, &ab, mk_string(d, "A", l));
  push(d, &ab, mk_string(d, "B", l));
  Node *lam = ast_new(d->a, N_LAMBDA, l);
  push(d, &lam->u.lambda.params, pa);
  push(d, &lam->u.lambda.params, pb);
  lam->u.lambda.arrow = true;
  lam->u.lambda.body = mk_ask(d, judge, mk_call(d, "judge_prompt", jargs, l),
                              mk_list(d, N_TYPE_UNION, ab, l), l);
  lam = done(d, lam);

  NodeList args = {0};
  push(d, &args, n->u.tourn.items);
  if (fmt->rounds) push(d, &args, format->u.init.value);
  push(d, &args, mk_name(d, "__criterion", l));
  push(d, &args, lam);
  Node *call = mk_call(d, fmt->fn, args, l);
  if (fmt->ranks && !ranking) {
    Node *first = ast_new(d->a, N_INDEX, l);
    first->u.index.object = call;
    first->u.index.index = mk_int(d, 0, l);
    call = mk_field(d, done(d, first), "item", l);
  }
  NodeList stmts = {0};
  Node *cl = mk_let(d, "__criterion", n->u.tourn.criterion, l); /* typed: a wrong criterion is reported once */
  cl->u.decl.type = mk_type_name(d, "string", l);
  push(d, &stmts, cl);
  push(d, &stmts, mk_stmt(d, call, l));
  n->u.tourn.lowered = mk_block(d, stmts, l);
}

bool tournament_parts(const Node *n, TournamentParts *out) {
  memset(out, 0, sizeof *out);
  Node *low = n->kind == N_TOURNAMENT ? n->u.tourn.lowered : NULL;
  if (!low || low->kind != N_BLOCK || low->u.block.stmts.n != 2) return false;
  out->format = tournament_format(n);
  out->criterion_let = low->u.block.stmts.items[0];
  out->items = n->u.tourn.items;
  out->rounds = out->format->rounds ? n->u.tourn.format->u.init.value : NULL;
  Node *call = low->u.block.stmts.items[1]->u.stmt.expr;
  while (call && (call->kind == N_FIELD || call->kind == N_INDEX))
    call = call->kind == N_FIELD ? call->u.field.object : call->u.index.object;
  if (!call || call->kind != N_CALL || !call->u.call.args.n) return false;
  out->judge = call->u.call.args.items[call->u.call.args.n - 1];
  return out->judge->kind == N_LAMBDA && out->items;
}


/* ---- ask of a role with tools: the tool-calling loop ----------------------
 * ask R P [-> T], R a role item of this file with `tools: [f, g]` and
 * `max_steps: N`  =>
 *   { let __agent_prompt = P
 *     let __agent_end = loop __agent_s = { turns: [], text: "", done: false } max N {
 *       let __agent_step: Step = from_json(json_parse(STEP R __agent_prompt to_json(__agent_s.turns) [T]))
 *       if len(__agent_step.calls) == 0 { __agent_s with { text: __agent_step.text, done: true } }
 *       else { __agent_s with { turns: __agent_s.turns + [the assistant's turn]
 *                               + barrier fanout __agent_call in __agent_step.calls { the call's turn } } }
 *     } until __agent_s.done else agent_steps_failed("…")
 *     from_json[T](json_parse(__agent_end.text)) }           (__agent_end.text for text)
 * where a call's turn runs the tool under `try`: a match on its name calls
 * the function with each argument converted by from_json at the
 * parameter's type (the engine split the arguments, one JSON text per
 * parameter, and refused unknown tools and malformed arguments in
 * `error`), and its result is the tool turn's text (a string as it is,
 * anything else as JSON; a failure as the error's message, is_error).
 * So the calls of one turn are an ordinary fan-out, a bad call is a
 * failure the model reads and repairs, and steps and tools get addresses,
 * journal records and budgets like any other effect. STEP is an N_ASK with
 * `turns` (emitted as the STEP instruction); T's final answer is checked
 * and repaired by the engine, as an ask's reply is.
 *
 * The loop is written as Weft source and parsed (so it reads as code a
 * user could write), then every node of it takes the ask's span. */

#define CALL_TYPE "{ id: string, name: string, input: string, args: list[string], error: string }"
#define STEP_TYPE "{ text: string, calls: list[" CALL_TYPE "] }"
#define TURN_TYPE "{ role: string, text: string, calls: list[" CALL_TYPE "], tool_id: string, is_error: bool }"

static const Node *role_item(const Ds *d, const char *name) {
  for (uint32_t i = 0; i < d->ast->items.n; i++) {
    const Node *it = d->ast->items.items[i];
    if (it && it->kind == N_ROLE && strcmp(it->u.role.name, name) == 0) return it;
  }
  return NULL;
}

static const Node *fn_item(const Ds *d, const char *name) {
  for (uint32_t i = 0; i < d->ast->items.n; i++) {
    const Node *it = d->ast->items.items[i];
    if (it && it->kind == N_FN && strcmp(it->u.fn.name, name) == 0) return it;
  }
  return NULL;
}

static const Node *role_setting(const Node *role, const char *name) {
  for (uint32_t i = 0; i < role->u.role.settings.n; i++) {
    const Node *s = role->u.role.settings.items[i];
    if (s && s->kind == N_FIELD_INIT && strcmp(s->u.init.name, name) == 0) return s->u.init.value;
  }
  return NULL;
}

typedef struct Respan {
  Span at;
  Node *prompt_let, *step, *type_slot;
} Respan;

/* Every generated node spans the ask; the placeholders are found on the
 * way: the prompt's `let`, the step call and the `__AgentT` type. */
static void respan(Node *n, void *ud) {
  Respan *r = ud;
  n->span = r->at;
  switch (n->kind) {
  case N_LET: case N_VAR:
    n->u.decl.name_span = r->at;
    if (strcmp(n->u.decl.name, "__agent_prompt") == 0) r->prompt_let = n;
    break;
  case N_LOOP: n->u.loop.name_span = r->at; break;
  case N_FOR: n->u.for_.var_span = r->at; break;
  case N_ASSIGN: n->u.assign.name_span = r->at; break;
  case N_CALL:
    if (n->u.call.callee && n->u.call.callee->kind == N_NAME) {
      const char *id = n->u.call.callee->u.name.id;
      if (strcmp(id, "__agent_step") == 0) r->step = n;
      /* the loop's own callees are the builtins, whatever the program
       * names its functions; the tools are called as the program's */
      static const char *const builtins[] = {"agent_steps_failed", "to_json", "json_parse", "len", "fail"};
      for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(id, builtins[i]) == 0) n->u.call.callee->u.name.lowered = true;
    }
    break;
  case N_TYPE_NAME:
    if (strcmp(n->u.tname.id, "__AgentT") == 0) r->type_slot = n;
    break;
  default: break;
  }
  ast_each_child(n, respan, ud);
}

static void lower_ask(Ds *d, Node *n) {
  Node *rn = n->u.ask.role;
  if (!rn || rn->kind != N_NAME || !d->ss) return;
  const Node *role = role_item(d, rn->u.name.id);
  const Node *tools = role ? role_setting(role, "tools") : NULL;
  if (!tools) return;
  if (tools->kind != N_LIST || n->u.ask.with) return; /* the checker reports both */
  const Node *ms = role_setting(role, "max_steps");
  int64_t max_steps = ms && ms->kind == N_INT && ms->u.lit.i >= 1 && ms->u.lit.i <= ROLE_MAX_STEPS
                          ? ms->u.lit.i : ROLE_DEFAULT_STEPS;
  Buf b;
  buf_init(&b);
  buf_puts(&b, "fn __agent() {\n{\n  let __agent_prompt = 0\n"
               "  let __agent_start: list[" TURN_TYPE "] = []\n"
               "  let __agent_nocalls: list[" CALL_TYPE "] = []\n");
  buf_printf(&b, "  let __agent_end = loop __agent_s = { turns: __agent_start, text: \"\", done: false } max %lld {\n",
             (long long)max_steps);
  buf_printf(&b, "    let __agent_step: " STEP_TYPE " = from_json(json_parse(__agent_step(%s, __agent_prompt, "
                 "to_json(__agent_s.turns))))\n", rn->u.name.id);
  buf_puts(&b, "    if len(__agent_step.calls) == 0 {\n"
               "      __agent_s with { text: __agent_step.text, done: true }\n"
               "    } else {\n"
               "      let __agent_said: " TURN_TYPE " = { role: \"assistant\", text: __agent_step.text, "
               "calls: __agent_step.calls, tool_id: \"\", is_error: false }\n"
               "      let __agent_results = barrier fanout __agent_call in __agent_step.calls {\n"
               "        let __agent_r = try {\n"
               "          if __agent_call.error != \"\" { fail(__agent_call.error) }\n"
               "          let __agent_a = __agent_call.args\n"
               "          match __agent_call.name {\n");
  for (uint32_t i = 0; i < tools->u.list.items.n; i++) {
    const Node *x = tools->u.list.items.items[i];
    const Node *fn = x && x->kind == N_NAME ? fn_item(d, x->u.name.id) : NULL;
    if (!fn) continue; /* the checker reports it */
    buf_printf(&b, "            \"%s\" => ", fn->u.fn.name);
    const Node *ret = fn->u.fn.ret;
    bool is_text = ret && ret->kind == N_TYPE_NAME && strcmp(ret->u.tname.id, "string") == 0 && !ret->u.tname.module;
    bool is_void = !ret;
    buf_puts(&b, is_void ? "{ " : is_text ? "" : "to_json(");
    buf_printf(&b, "%s(", fn->u.fn.name);
    for (uint32_t k = 0; k < fn->u.fn.params.n; k++)
      buf_printf(&b, "%sfrom_json(json_parse(__agent_a[%u]))", k ? ", " : "", k);
    buf_puts(&b, is_void ? "); \"done\" },\n" : is_text ? "),\n" : ")),\n");
  }
  buf_puts(&b, "            _ => fail(\"no such tool\"),\n"
               "          }\n"
               "        }\n"
               "        let __agent_out = match __agent_r {\n"
               "          Ok { value } => { text: value, bad: false },\n"
               "          Failed { error } => { text: error.message, bad: true },\n"
               "        }\n"
               "        let __agent_turn: " TURN_TYPE " = { role: \"tool\", text: __agent_out.text, calls: __agent_nocalls, "
               "tool_id: __agent_call.id, is_error: __agent_out.bad }\n"
               "        __agent_turn\n"
               "      }\n"
               "      __agent_s with { turns: __agent_s.turns + [__agent_said] + __agent_results }\n"
               "    }\n");
  buf_printf(&b, "  } until __agent_s.done else agent_steps_failed(\"ask %s: no answer within max_steps (%lld steps)\")\n",
             rn->u.name.id, (long long)max_steps);
  buf_puts(&b, n->u.ask.type ? "  let __agent_answer: __AgentT = from_json(json_parse(__agent_end.text))\n  __agent_answer\n"
                             : "  __agent_end.text\n");
  buf_puts(&b, "}\n}\n");
  char path[96];
  snprintf(path, sizeof path, "<tool loop of %.60s>", rn->u.name.id);
  uint32_t file = src_add(d->ss, path, b.data, b.len);
  buf_free(&b);
  Ast gen;
  uint32_t before = d->dl->errors;
  parse_source(d->a, d->ss, file, d->dl, &gen);
  if (d->dl->errors != before || gen.items.n != 1 || !gen.items.items[0] || gen.items.items[0]->kind != N_FN) return;
  Node *body = gen.items.items[0]->u.fn.body;
  Node *block = body && body->kind == N_BLOCK && body->u.block.stmts.n == 1 ? body->u.block.stmts.items[0] : NULL;
  if (block && block->kind == N_EXPR_STMT) block = block->u.stmt.expr;
  if (!block) return;
  Respan r = {n->span, NULL, NULL, NULL};
  respan(block, &r);
  if (!r.prompt_let || !r.step || r.step->u.call.args.n != 3 || (n->u.ask.type && !r.type_slot)) return;
  /* the placeholders become the ask's own parts */
  r.prompt_let->u.decl.value = n->u.ask.prompt;
  if (r.type_slot) *r.type_slot = *n->u.ask.type;
  Node *step = r.step;
  Node *role_ref = step->u.call.args.items[0], *prompt = step->u.call.args.items[1], *turns = step->u.call.args.items[2];
  memset(&step->u, 0, sizeof step->u);
  step->kind = N_ASK;
  step->u.ask.role = role_ref;
  step->u.ask.prompt = prompt;
  step->u.ask.turns = turns;
  step->u.ask.type = n->u.ask.type;
  n->u.ask.lowered = done(d, block);
}

/* ---- the walk ------------------------------------------------------------
 * Children first, so a verify inside a claim is lowered before the claim
 * is placed in its parent's lowering. A node above a lowering has its
 * depth recomputed and capped on the way up, as the parser would have. */
static void walk(Node *n, void *ud) {
  Ds *d = ud;
  bool outer = d->changed;
  d->changed = false;
  ast_each_child(n, walk, d);
  if (n->kind == N_VERIFY && !n->u.verify.lowered) {
    lower_verify(d, n);
    d->changed = true;
  } else if (n->kind == N_TOURNAMENT && !n->u.tourn.lowered) {
    lower_tournament(d, n);
    d->changed = true;
  } else if (n->kind == N_ASK && !n->u.ask.lowered && !n->u.ask.turns) {
    lower_ask(d, n);
    d->changed = d->changed || n->u.ask.lowered != NULL;
  }
  if (d->changed && done(d, n)->kind == N_ERROR && n->kind != N_ERROR) {
    n->kind = N_ERROR; /* in place: the parent's slot keeps pointing here */
    n->depth = 1;
  }
  d->changed = d->changed || outer;
}

void desugar_file(Arena *a, DiagList *dl, SourceSet *ss, Ast *ast) {
  Ds d = {a, dl, ss, ast, ast->file, false, false};
  for (uint32_t i = 0; i < dl->n; i++)
    if (dl->items[i].code == D_E0103 && dl->items[i].span.file == ast->file) d.deep_reported = true;
  for (uint32_t i = 0; i < ast->items.n; i++)
    if (ast->items.items[i]) walk(ast->items.items[i], &d);
}
