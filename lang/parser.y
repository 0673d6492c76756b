/* parser.y — the Weft grammar (LANGUAGE.md sections 1-4).
 *
 * A pure LALR(1) parser with byte-offset locations. Actions only build
 * nodes (constructors in parse.c); the lexer (lexer.re) does the work that
 * needs more than one token of lookahead: it decides where newlines end
 * statements and which kind of '{' starts a record, a map or a block (see
 * lexer.h for the token stream contract).
 *
 * Precedence is written as a ladder of nonterminals rather than %left
 * declarations, loosest first:
 *   expr      lambda (`fn(x) => e` extends as far right as it can),
 *             `loop … until c [else e]`, `barrier t [modifiers]` (both
 *             extend as far right as they can too) | or
 *   or_expr   or
 *   and_expr  and
 *   not_expr  not (prefix)
 *   cmp_expr  == != < <= > >=   (non-associative: `a < b < c` is an error)
 *   add_expr  + -
 *   mul_expr  * / %
 *   unary     - (prefix), ask (`ask r p -> T`: the prompt p is a postfix
 *             expression, so `ask r "a" + "b"` would be `(ask r "a") + "b"`,
 *             which ps_binary refuses (E0622); the optional `-> T` takes
 *             the longest type)
 *   postfix   call f(a), field r.f, index xs[i], generic call f[T](a),
 *             `r with { a: 1 }`
 *   primary   literals, names, ( e ), [list], {record}, {"map": v}, {:},
 *             { block }, if, match, fanout (it ends with its '}')
 *
 * Error recovery: `error` inside each bracketed construct (resuming at its
 * closing bracket), and at statement and item level, where bad tokens are
 * absorbed (stmt_chain/item_list followed by error) until a separator or
 * the closing '}' lets parsing resume. The lexer helps: it inserts a
 * missing ')' or ']' before a '}' that closes an enclosing brace (E0102),
 * and after an error the token feed (parse.c) drops whole bracketed groups,
 * so that a '}' inside the bad part cannot close the wrong block. A line
 * that starts with `fn name`, `type name`, `role name` or `import "` always
 * starts an item: the lexer closes what is still open before it (E0102),
 * so one missing '}' costs one item. Only one
 * syntax error is reported per line. The grammar has no conflicts
 * (%expect 0) other than the dangling `else` after an `until` condition,
 * resolved by precedence (see IF_NO_ELSE). */

%define api.pure full
%define api.prefix {wp}
%define api.token.prefix {T_}
%define api.location.type {Loc}
%define parse.error custom
%locations
%param {ParseCtx *pc}
%expect 0

%code requires {
#include <stdint.h>
#include "ast.h"

typedef struct ParseCtx ParseCtx;

/* A token or rule location: byte offsets into the file; `doc` is the `///`
 * comment that preceded the token (first token of a rule for rules). */
typedef struct Loc {
  uint32_t start, end;
  const char *doc;
} Loc;

/* A block's statements and whether the last separator was ';' (which
 * makes the block value-less). */
typedef struct BlockBody {
  NodeList stmts;
  int semi;
} BlockBody;
}

%code {
#include <string.h>
#include "lexer.h"

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                       \
  do {                                                                    \
    if (N) {                                                              \
      (Cur).start = YYRHSLOC(Rhs, 1).start;                               \
      (Cur).end = YYRHSLOC(Rhs, N).end;                                   \
      (Cur).doc = YYRHSLOC(Rhs, 1).doc;                                   \
    } else {                                                              \
      (Cur).start = (Cur).end = YYRHSLOC(Rhs, 0).end;                     \
      (Cur).doc = NULL;                                                   \
    }                                                                     \
  } while (0)

/* Right-nested input (prefix operators, `else if` chains) grows the parser
 * stack; past this Bison reports "memory exhausted", which becomes E0103. */
#define YYMAXDEPTH 20000

#define NEW(k, l) ps_new(pc, (k), (l))
#define DONE(n) ps_done(pc, (n))
#define EMPTY ((NodeList){0})

static NodeList one(ParseCtx *pc, Node *n) {
  NodeList l = {0};
  ps_push(pc, &l, n);
  return l;
}
}

%union {
  Node *node;
  NodeList list;
  const char *str;
  int flag;
  BlockBody body;
}

%token END 0 "end of file"
%token NEWLINE "end of line"
%token <str> IDENT "identifier"
%token <node> INT "integer" FLOAT "number" DURATION "duration" PERCENT "percentage"
%token <node> STRING "string" STR_HEAD "start of an interpolated string"
%token <node> STR_MID "} inside a string" STR_TAIL "end of an interpolated string"

%token FN "fn" LET "let" VAR "var" TYPE "type" ROLE "role"
%token IMPORT "import" AS "as" IF "if" ELSE "else" MATCH "match"
%token FOR "for" IN "in" BREAK "break" CONTINUE "continue"
%token RETURN "return" TRUE "true" FALSE "false" NONE "none"
%token AND "and" OR "or" NOT "not" WITH "with"
/* the workflow constructs (LANGUAGE.md section 5): `ask`, `fanout`,
 * `barrier`, `loop ... until`, `verify` and `tournament` have rules;
 * BUDGET is reserved, so using it is a syntax error */
%token ASK "ask" FANOUT "fanout" BARRIER "barrier" LOOP "loop" UNTIL "until"
%token VERIFY "verify" TOURNAMENT "tournament" BUDGET "budget"
%token TRY "try"
/* contextual: the lexer reads `generate` as this only right before `fn (`
 * (lexer.re), so `generate` stays a name everywhere else */
%token GENERATE "generate"

%token LPAREN "(" RPAREN ")" LBRACKET "[" RBRACKET "]"
%token LBRACE "{" RBRACE "}"
%token LBRACE_REC "{ of a record" LBRACE_MAP "{ of a map"
%token COMMA "," COLON ":" SEMI ";" DOT "." QUESTION "?" PIPE "|"
%token ASSIGN "=" ARROW "->" FATARROW "=>"
%token PLUS "+" MINUS "-" STAR "*" SLASH "/" PCT "%"
%token EQ "==" NE "!=" LT "<" LE "<=" GT ">" GE ">="
/* `{ name:` right after a capitalised name: a variant's record (lexer.re,
 * brace_kind), so `if ok { a: 1 }` stays a block error while
 * `Search { query: "x" }` builds a variant */
%token LBRACE_VARIANT "{ of a variant"
%token DOTDOT ".."

/* The one ambiguity, resolved by precedence: an `until` condition that ends
 * in an `if` without else, followed by `else` (`... until if c { d } else
 * e`). The `else` belongs to the `if`, as everywhere else. */
%precedence IF_NO_ELSE
%precedence ELSE

/* The role of an `ask` is a postfix expression, and so is the prompt that
 * follows it: after the role, `(` and `with` end it (`ask r ("a" + b)`
 * keeps its prompt; `ask r with { … }` gives settings), while `[`
 * continues it (`ask rs[0] "…"`: a list is never a prompt). These only
 * decide the ask_target rule's own conflicts. */
%precedence "(" WITH
%precedence ASK_TARGET
%precedence "["

%type <node> item param stmt expr lambda or_expr and_expr not_expr cmp_expr
%type <node> add_expr mul_expr unary postfix primary if_expr string field
%type <node> entry arm pattern type type_post type_atom tfield union ret_opt
%type <node> type_ann default_opt block ask ask_role ask_target ask_with
%type <node> loop loop_max loop_else fanout fanout_limit barrier word_arg budget try_construct
%type <node> verify tournament tourn_format tourn_ret generate
%type <list> tparams tparam_list params param_list args expr_list fields entries
%type <list> arms alts interp type_args type_list tfields stmt_chain barrier_mods
%type <list> verify_mods role_list variants pfields
%type <node> variant pfield
%type <flag> sep seps opt_seps cmp_op
%type <body> block_body
%type <str> field_name
%type <node> type_range range_bound

%%

program
  : item_list
  ;

/* item_list -> { item | sep | error }  (items need no separator between
 * them: every item ends in a token that cannot continue it) */
item_list
  : %empty
  | item_list item      { ps_push(pc, &pc->items, $2); }
  | item_list sep
  | item_list error
  ;

sep
  : NEWLINE             { $$ = 0; yyerrok; }
  | ";"                 { $$ = 1; yyerrok; }
  ;

seps
  : sep
  | seps sep            { $$ = $1 | $2; }
  ;

opt_seps
  : %empty              { $$ = 0; }
  | seps
  ;

/* ---- items ---------------------------------------------------------- */

item
  : IMPORT STRING
      { $$ = NEW(N_IMPORT, @$); $$->doc = ps_doc(@1); $$->u.import.path = $2->u.lit.str;
        $$->u.import.path_len = $2->u.lit.len; $$ = DONE($$); }
  | IMPORT STRING AS IDENT
      { $$ = NEW(N_IMPORT, @$); $$->doc = ps_doc(@1); $$->u.import.path = $2->u.lit.str;
        $$->u.import.path_len = $2->u.lit.len; $$->u.import.alias = $4; $$ = DONE($$); }
  | FN IDENT tparams "(" params ")" ret_opt block
      { $$ = NEW(N_FN, @$); $$->doc = ps_doc(@1); $$->u.fn.name = $2;
        $$->u.fn.name_span = ps_span(pc, @2); $$->u.fn.type_params = $3;
        $$->u.fn.params = $5; $$->u.fn.ret = $7; $$->u.fn.body = $8; $$ = DONE($$); }
  | FN IDENT tparams "(" error ")" ret_opt block
      { $$ = ps_error(pc, @$); }
  /* a parameter list the lexer closed at the next item (lexer.re,
   * item_keyword): no body follows */
  | FN IDENT tparams "(" error ")" ret_opt NEWLINE
      { $$ = ps_error(pc, @$); }
  | TYPE IDENT tparams "=" type
      { $$ = NEW(N_TYPEDEF, @$); $$->doc = ps_doc(@1); $$->u.typedef_.name = $2;
        $$->u.typedef_.name_span = ps_span(pc, @2); $$->u.typedef_.type_params = $3;
        $$->u.typedef_.type = $5; $$ = DONE($$); }
  | TYPE IDENT tparams "=" variants
      { Node *t = ps_list(pc, N_TYPE_TAGGED, $5, @5);
        $$ = NEW(N_TYPEDEF, @$); $$->doc = ps_doc(@1); $$->u.typedef_.name = $2;
        $$->u.typedef_.name_span = ps_span(pc, @2); $$->u.typedef_.type_params = $3;
        $$->u.typedef_.type = t; $$ = DONE($$); }
  | ROLE IDENT LBRACE_REC fields trail "}"
      { $$ = NEW(N_ROLE, @$); $$->doc = ps_doc(@1); $$->u.role.name = $2;
        $$->u.role.name_span = ps_span(pc, @2); $$->u.role.settings = $4; $$ = DONE($$); }
  | ROLE IDENT LBRACE_REC error "}"  { $$ = ps_error(pc, @$); }
  | ROLE IDENT LBRACE_VARIANT fields trail "}"
      { $$ = NEW(N_ROLE, @$); $$->doc = ps_doc(@1); $$->u.role.name = $2;
        $$->u.role.name_span = ps_span(pc, @2); $$->u.role.settings = $4; $$ = DONE($$); }
  | ROLE IDENT LBRACE_VARIANT error "}"  { $$ = ps_error(pc, @$); }
  | ROLE IDENT "{" "}"
      { $$ = NEW(N_ROLE, @$); $$->doc = ps_doc(@1); $$->u.role.name = $2;
        $$->u.role.name_span = ps_span(pc, @2); $$ = DONE($$); }
  ;

/* variants -> variant { '|' variant }: a tagged union (only in a `type` item)
 * variant -> IDENT record_type | IDENT '{' '}' */
variants
  : variant                         { $$ = one(pc, $1); }
  | variants "|" variant            { $$ = $1; ps_push_member(pc, &$$, $3, "variants in one union"); }
  ;

variant
  : IDENT LBRACE_VARIANT tfields trail "}"
      { $$ = NEW(N_PARAM, @$); $$->doc = ps_doc(@1); $$->u.param.name = $1;
        $$->u.param.type = ps_list(pc, N_TYPE_RECORD, $3, @2); $$ = DONE($$); }
  | IDENT "{" "}"
      { $$ = NEW(N_PARAM, @$); $$->doc = ps_doc(@1); $$->u.param.name = $1;
        $$->u.param.type = ps_list(pc, N_TYPE_RECORD, EMPTY, @2); $$ = DONE($$); }
  | IDENT LBRACE_VARIANT error "}"  { $$ = ps_error(pc, @$); }
  ;

/* tparams -> [ '[' IDENT { ',' IDENT } [','] ']' ] */
tparams
  : %empty                          { $$ = EMPTY; }
  | "[" tparam_list comma_opt "]"   { $$ = $2; }
  ;

tparam_list
  : IDENT                           { $$ = one(pc, ps_name(pc, $1, @1)); }
  | tparam_list "," IDENT
      { $$ = $1; ps_push_member(pc, &$$, ps_name(pc, $3, @3), "type parameters in one list"); }
  ;

comma_opt
  : %empty
  | ","
  ;

/* params -> [ param { ',' param } [','] ]; types are optional here (the
 * checker requires them on top-level functions, E0307) */
params
  : %empty                          { $$ = EMPTY; }
  | param_list comma_opt
  ;

param_list
  : param                           { $$ = one(pc, $1); }
  | param_list "," param            { $$ = $1; ps_push_member(pc, &$$, $3, "parameters in one function"); }
  ;

param
  : IDENT type_ann default_opt
      { $$ = NEW(N_PARAM, @$); $$->u.param.name = $1; $$->u.param.type = $2;
        $$->u.param.def = $3; $$ = DONE($$); }
  ;

type_ann
  : %empty                          { $$ = NULL; }
  | ":" type                        { $$ = $2; }
  ;

default_opt
  : %empty                          { $$ = NULL; }
  | "=" expr                        { $$ = $2; }
  ;

ret_opt
  : %empty                          { $$ = NULL; }
  | "->" type                       { $$ = $2; }
  ;

/* ---- statements ----------------------------------------------------- */

/* block -> '{' { sep } [ stmt { sep { sep } stmt } ] { sep } '}' */
block
  : "{" block_body "}"              { $$ = ps_block(pc, $2.stmts, $2.semi, @$); }
  ;

block_body
  : opt_seps                        { $$.stmts = EMPTY; $$.semi = 0; }
  | opt_seps stmt_chain opt_seps    { $$.stmts = $2; $$.semi = $3; }
  ;

stmt_chain
  : stmt                            { $$ = one(pc, $1); }
  | stmt_chain seps stmt            { $$ = $1; ps_push(pc, &$$, $3); }
  | stmt_chain error                { $$ = $1; }
  ;

stmt
  : LET IDENT type_ann "=" expr
      { $$ = NEW(N_LET, @$); $$->u.decl.name = $2; $$->u.decl.name_span = ps_span(pc, @2);
        $$->u.decl.type = $3; $$->u.decl.value = $5; $$ = DONE($$); }
  | VAR IDENT type_ann "=" expr
      { $$ = NEW(N_VAR, @$); $$->u.decl.name = $2; $$->u.decl.name_span = ps_span(pc, @2);
        $$->u.decl.type = $3; $$->u.decl.value = $5; $$->u.decl.is_var = true;
        $$ = DONE($$); }
  | IDENT "=" expr
      { $$ = NEW(N_ASSIGN, @$); $$->u.assign.name = $1;
        $$->u.assign.name_span = ps_span(pc, @1); $$->u.assign.value = $3; $$ = DONE($$); }
  | FOR IDENT IN expr block
      { $$ = NEW(N_FOR, @$); $$->u.for_.var = $2; $$->u.for_.var_span = ps_span(pc, @2);
        $$->u.for_.iter = $4; $$->u.for_.body = $5; $$ = DONE($$); }
  | BREAK                           { $$ = NEW(N_BREAK, @$); }
  | CONTINUE                        { $$ = NEW(N_CONTINUE, @$); }
  | RETURN                          { $$ = NEW(N_RETURN, @$); }
  | RETURN expr
      { $$ = NEW(N_RETURN, @$); $$->u.stmt.expr = $2; $$ = DONE($$); }
  | expr
      { $$ = NEW(N_EXPR_STMT, @$); $$->u.stmt.expr = $1; $$ = DONE($$); }
  | error                           { $$ = ps_error(pc, @$); }
  ;

/* ---- expressions ---------------------------------------------------- */

expr
  : or_expr
  | lambda
  | loop
  | barrier
  | verify
  | tournament
  | try_construct
  ;

/* `try` before a construct that stands only where an expression may
 * (its trailing words would otherwise end a unary operand) */
try_construct
  : TRY loop                        { $$ = ps_try(pc, $2, @$); }
  | TRY barrier                     { $$ = ps_try(pc, $2, @$); }
  | TRY verify                      { $$ = ps_try(pc, $2, @$); }
  | TRY tournament                  { $$ = ps_try(pc, $2, @$); }
  ;

/* verify -> 'verify' or_expr 'by' ( role | '[' role { ',' role } ']' )
 *           { 'quorum' INT | 'with' '{' fields '}' }
 * (the quorum is an integer literal: an expression there would swallow a
 * following `with`)
 * ps_verify (parse.c) keeps the parts; compiler/desugar.c lowers them. */
verify
  : VERIFY or_expr IDENT ask_role verify_mods
      { $$ = ps_verify(pc, $2, $3, @3, one(pc, $4), 0, $5, @$); }
  | VERIFY or_expr IDENT "[" role_list comma_opt "]" verify_mods
      { $$ = ps_verify(pc, $2, $3, @3, $5, 1, $8, @$); }
  ;

role_list
  : ask_role                        { $$ = one(pc, $1); }
  | role_list "," ask_role          { $$ = $1; ps_push_member(pc, &$$, $3, "verifiers in one list"); }
  ;

verify_mods
  : %empty                          { $$ = EMPTY; }
  | verify_mods IDENT INT
      { Node *w = NEW(N_FIELD_INIT, @2); w->u.init.name = $2; w->u.init.value = $3;
        $$ = $1; ps_push(pc, &$$, DONE(w)); }
  | verify_mods WITH LBRACE_REC fields trail "}"
      { Node *w = NEW(N_FIELD_INIT, @2); w->u.init.name = "with";
        w->u.init.value = ps_list(pc, N_RECORD, $4, @3); $$ = $1; ps_push(pc, &$$, DONE(w)); }
  ;

/* tournament -> 'tournament' or_expr 'by' role 'on' postfix
 *               [ 'bracket' | 'round_robin' | 'swiss' ( INT | '(' expr ')' ) ]
 *               [ '->' 'ranking' ]
 * The criterion is a postfix expression (like a prompt) and the rounds a
 * literal or parenthesized, so neither can swallow the `->` or a '{'
 * that follows the construct. ps_tournament (parse.c) keeps the parts;
 * compiler/desugar.c lowers them. */
tournament
  : TOURNAMENT or_expr IDENT ask_role IDENT postfix tourn_format tourn_ret
      { $$ = ps_tournament(pc, $2, $3, @3, $4, $5, @5, $6, $7, $8, @$); }
  ;

tourn_format
  : %empty                          { $$ = NULL; }
  | IDENT
      { $$ = NEW(N_FIELD_INIT, @$); $$->u.init.name = $1; }
  | IDENT INT
      { $$ = NEW(N_FIELD_INIT, @$); $$->u.init.name = $1; $$->u.init.value = $2; $$ = DONE($$); }
  | IDENT "(" expr ")"
      { $$ = NEW(N_FIELD_INIT, @$); $$->u.init.name = $1; $$->u.init.value = $3; $$ = DONE($$); }
  ;

tourn_ret
  : %empty                          { $$ = NULL; }
  | "->" IDENT                      { $$ = ps_name(pc, $2, @2); }
  ;

/* word_arg -> IDENT or_expr: a contextual word and its operand (`max N`,
 * `limit N`, `first K`, ...). The words are not keywords (`max` is also a
 * builtin); the constructors in parse.c check which word was written. The
 * operand is an or_expr, so a lambda, a loop or a barrier in that place
 * needs parentheses, which keeps the grammar free of conflicts. */
word_arg
  : IDENT or_expr
      { $$ = NEW(N_FIELD_INIT, @$); $$->u.init.name = $1; $$->u.init.value = $2; $$ = DONE($$); }
  ;

/* loop -> 'loop' IDENT [':' type] '=' or_expr ['max' or_expr] block
 *         'until' or_expr ['else' expr]
 * `max N` is optional in the grammar only so that a missing bound gets
 * its own diagnostic from the checker rather than a syntax error. `until`
 * follows the '}' on the same line (the lexer says so). */
loop
  : LOOP IDENT type_ann "=" or_expr loop_max block UNTIL or_expr loop_else
      { $$ = ps_loop(pc, $2, @2, $3, $5, $6, $7, $9, $10, @$); }
  ;

loop_max
  : %empty                          { $$ = NULL; }
  | word_arg
  ;

loop_else
  : %empty                          { $$ = NULL; }
  | ELSE expr                       { $$ = $2; }
  ;

/* barrier -> 'barrier' or_expr { ('tolerate' | 'first' | 'timeout') or_expr } */
barrier
  : BARRIER or_expr barrier_mods    { $$ = ps_barrier(pc, $2, $3, @$); }
  ;

barrier_mods
  : %empty                          { $$ = EMPTY; }
  | barrier_mods word_arg           { $$ = $1; ps_push(pc, &$$, $2); }
  ;

/* fanout -> 'fanout' IDENT 'in' or_expr ['limit' or_expr] block
 *         | 'fanout' '{' name ':' expr { ',' name ':' expr } '}' */
fanout
  : FANOUT IDENT IN or_expr fanout_limit block
      { $$ = ps_fanout(pc, $2, @2, $4, $5, $6, @$); }
  | FANOUT LBRACE_REC fields trail "}"  { $$ = ps_fanout_record(pc, $3, @$); }
  | FANOUT LBRACE_REC error "}"         { $$ = ps_error(pc, @$); }
  ;

/* budget -> 'budget' '{' name ':' expr { ',' name ':' expr } '}' block
 *           [ 'else' block ] */
budget
  : BUDGET LBRACE_REC fields trail "}" block %prec IF_NO_ELSE
      { $$ = ps_budget(pc, $3, $6, NULL, @$); }
  | BUDGET LBRACE_REC fields trail "}" block ELSE block
      { $$ = ps_budget(pc, $3, $6, $8, @$); }
  | BUDGET LBRACE_REC error "}" block %prec IF_NO_ELSE  { $$ = ps_error(pc, @$); }
  ;

fanout_limit
  : %empty                          { $$ = NULL; }
  | word_arg
  ;

/* lambda -> 'fn' '(' params ')' ( '=>' expr | [ '->' type ] block ) */
lambda
  : FN "(" params ")" "=>" expr
      { $$ = NEW(N_LAMBDA, @$); $$->u.lambda.params = $3; $$->u.lambda.body = $6;
        $$->u.lambda.arrow = true; $$ = DONE($$); }
  | FN "(" params ")" ret_opt block
      { $$ = NEW(N_LAMBDA, @$); $$->u.lambda.params = $3; $$->u.lambda.ret = $5;
        $$->u.lambda.body = $6; $$ = DONE($$); }
  ;

or_expr
  : or_expr OR and_expr             { $$ = ps_binary(pc, AOP_OR, $1, $3, @$); }
  | and_expr
  ;

and_expr
  : and_expr AND not_expr           { $$ = ps_binary(pc, AOP_AND, $1, $3, @$); }
  | not_expr
  ;

not_expr
  : NOT not_expr                    { $$ = ps_unary(pc, AOP_NOT, $2, @$); }
  | cmp_expr
  ;

/* cmp_expr -> add_expr [ cmp_op add_expr ]   (no chaining) */
cmp_expr
  : add_expr
  | add_expr cmp_op add_expr        { $$ = ps_binary(pc, (Op)$2, $1, $3, @$); }
  ;

cmp_op
  : "=="  { $$ = AOP_EQ; }
  | "!="  { $$ = AOP_NE; }
  | "<"   { $$ = AOP_LT; }
  | "<="  { $$ = AOP_LE; }
  | ">"   { $$ = AOP_GT; }
  | ">="  { $$ = AOP_GE; }
  ;

add_expr
  : add_expr "+" mul_expr           { $$ = ps_binary(pc, AOP_ADD, $1, $3, @$); }
  | add_expr "-" mul_expr           { $$ = ps_binary(pc, AOP_SUB, $1, $3, @$); }
  | mul_expr
  ;

mul_expr
  : mul_expr "*" unary              { $$ = ps_binary(pc, AOP_MUL, $1, $3, @$); }
  | mul_expr "/" unary              { $$ = ps_binary(pc, AOP_DIV, $1, $3, @$); }
  | mul_expr "%" unary              { $$ = ps_binary(pc, AOP_MOD, $1, $3, @$); }
  | unary
  ;

unary
  : "-" unary                       { $$ = ps_unary(pc, AOP_NEG, $2, @$); }
  | postfix
  | ask
  | generate
  | TRY unary                       { $$ = ps_try(pc, $2, @$); }
  ;

/* ask -> 'ask' role postfix [ '->' type ]
 * The prompt is a postfix expression (a string, a name, a call, a field,
 * anything in parentheses): a binary operator after it ends the ask, and
 * ps_binary refuses that (E0622) unless the ask is in parentheses. */
ask
  : ASK ask_target ask_with postfix            { $$ = ps_ask(pc, $2, $3, $4, NULL, @$); }
  | ASK ask_target ask_with postfix "->" type  { $$ = ps_ask(pc, $2, $3, $4, $6, @$); }
  ;

/* generate -> 'generate' 'fn' '(' params ')' [ '->' type ] 'by' role postfix
 * The parameters are written as a function declaration's (the checker
 * requires their types and refuses defaults); the role and the prompt as
 * a verify's role and an ask's prompt. */
generate
  : GENERATE FN "(" params ")" ret_opt IDENT ask_role postfix
      { $$ = ps_generate(pc, $4, $6, $7, @7, $8, $9, @$); }
  ;

/* ask_target -> postfix   (any role-typed expression: r, lib.r, c.r, rs[i], (e)) */
ask_target
  : postfix %prec ASK_TARGET
  ;

/* ask_with -> [ 'with' '{' fields '}' ]   (per-call sampling settings) */
ask_with
  : %empty                          { $$ = NULL; }
  | WITH LBRACE_REC fields trail "}" { $$ = ps_list(pc, N_RECORD, $3, @$); }
  | WITH LBRACE_REC error "}"       { $$ = ps_error(pc, @$); }
  ;

/* ask_role -> IDENT | IDENT '.' IDENT   (a role of an imported module) */
ask_role
  : IDENT                           { $$ = ps_name(pc, $1, @1); }
  | IDENT "." IDENT
      { $$ = NEW(N_FIELD, @$); $$->u.field.object = ps_name(pc, $1, @1); $$->u.field.name = $3;
        $$->u.field.name_span = ps_span(pc, @3); $$ = DONE($$); }
  ;

/* Generic calls. `f[T](x)` reads as an index followed by a call; ps_call
 * turns it into N_CALL with type_args when the object is a plain name and
 * the bracketed expression converts to a type (a name, or `list[int]`-like
 * nested indexes of names). So `handlers[k](x)` also becomes a call of
 * `handlers` with type argument `k`: the checker falls back to "index,
 * then call" when the name is not a generic function. Two or more bracketed
 * items can only be type arguments, so that form requires the call. */
postfix
  : primary
  | postfix "(" args ")"            { $$ = ps_call(pc, $1, $3, @$); }
  | postfix "(" error ")"           { $$ = ps_error(pc, @$); }
  | postfix "." IDENT
      { $$ = NEW(N_FIELD, @$); $$->u.field.object = $1; $$->u.field.name = $3;
        $$->u.field.name_span = ps_span(pc, @3); $$ = DONE($$); }
  | postfix "[" error "]"           { $$ = ps_error(pc, @$); }
  | postfix "[" expr "]"
      { $$ = NEW(N_INDEX, @$); $$->u.index.object = $1; $$->u.index.index = $3;
        $$ = DONE($$); }
  | postfix "[" expr "," expr_list comma_opt "]" "(" args ")"
      { $$ = ps_generic_call(pc, $1, $3, $5, $9, @$); }
  | postfix WITH LBRACE_REC fields trail "}"
      { $$ = NEW(N_WITH, @$); $$->u.with.object = $1; $$->u.with.fields = $4;
        $$ = DONE($$); }
  | postfix WITH LBRACE_REC error "}" { $$ = ps_error(pc, @$); }
  ;

args
  : %empty                          { $$ = EMPTY; }
  | expr_list comma_opt
  ;

expr_list
  : expr                            { $$ = one(pc, $1); }
  | expr_list "," expr              { $$ = $1; ps_push(pc, &$$, $3); }
  ;

primary
  : INT
  | FLOAT
  | DURATION
  | PERCENT
  | TRUE                { $$ = NEW(N_BOOL, @$); $$->u.lit.b = true; }
  | FALSE               { $$ = NEW(N_BOOL, @$); }
  | NONE                { $$ = NEW(N_NONE, @$); }
  | string
  | IDENT               { $$ = ps_name(pc, $1, @1); }
  | "(" expr ")"        { $$ = $2; }
  | "(" error ")"       { $$ = ps_error(pc, @$); }
  | "[" args "]"        { $$ = ps_list(pc, N_LIST, $2, @$); }
  | "[" error "]"       { $$ = ps_error(pc, @$); }
  | LBRACE_REC fields trail "}"     { $$ = ps_list(pc, N_RECORD, $2, @$); }
  | LBRACE_REC error "}"            { $$ = ps_error(pc, @$); }
  | IDENT LBRACE_VARIANT fields trail "}" { $$ = ps_variant(pc, N_VARIANT, $1, @1, $3, @$); }
  | IDENT LBRACE_VARIANT error "}"  { $$ = ps_error(pc, @$); }
  | LBRACE_MAP entries trail "}"    { $$ = ps_list(pc, N_MAP, $2, @$); }
  | LBRACE_MAP error "}"            { $$ = ps_error(pc, @$); }
  | LBRACE_MAP ":" "}"              { $$ = ps_list(pc, N_MAP, EMPTY, @$); }
  | block
  | if_expr
  | fanout
  | budget
  | MATCH expr "{" arms trail "}"
      { $$ = NEW(N_MATCH, @$); $$->u.match_.subject = $2; $$->u.match_.arms = $4;
        $$ = DONE($$); }
  | MATCH expr "{" error "}"        { $$ = ps_error(pc, @$); }
  ;

/* if_expr -> 'if' expr block [ 'else' ( block | if_expr ) ] */
if_expr
  : IF expr block %prec IF_NO_ELSE
      { $$ = NEW(N_IF, @$); $$->u.if_.cond = $2; $$->u.if_.then_ = $3; $$ = DONE($$); }
  | IF expr block ELSE block
      { $$ = NEW(N_IF, @$); $$->u.if_.cond = $2; $$->u.if_.then_ = $3;
        $$->u.if_.else_ = $5; $$ = DONE($$); }
  | IF expr block ELSE if_expr
      { $$ = NEW(N_IF, @$); $$->u.if_.cond = $2; $$->u.if_.then_ = $3;
        $$->u.if_.else_ = $5; $$ = DONE($$); }
  ;

/* Lists inside braces: items separated by ',' or a newline, a trailing
 * ',' or newline allowed. (A ',' suppresses the newline after it.) */
item_sep
  : ","
  | NEWLINE
  ;

trail
  : %empty
  | ","
  | NEWLINE
  ;

/* field_name -> IDENT | keyword: a record field may be named by any word,
 * keywords included, as JSON keys such as "role" or "type" are common in
 * model replies. Only field positions use it; names of variables, functions
 * and types stay identifiers. (`p.role` needs no rule: the lexer reads a
 * keyword right after '.' as an identifier.) */
field_name
  : IDENT
  | FN         { $$ = "fn"; }
  | LET        { $$ = "let"; }
  | VAR        { $$ = "var"; }
  | TYPE       { $$ = "type"; }
  | ROLE       { $$ = "role"; }
  | IMPORT     { $$ = "import"; }
  | AS         { $$ = "as"; }
  | IF         { $$ = "if"; }
  | ELSE       { $$ = "else"; }
  | MATCH      { $$ = "match"; }
  | FOR        { $$ = "for"; }
  | IN         { $$ = "in"; }
  | BREAK      { $$ = "break"; }
  | CONTINUE   { $$ = "continue"; }
  | RETURN     { $$ = "return"; }
  | TRUE       { $$ = "true"; }
  | FALSE      { $$ = "false"; }
  | NONE       { $$ = "none"; }
  | AND        { $$ = "and"; }
  | OR         { $$ = "or"; }
  | NOT        { $$ = "not"; }
  | WITH       { $$ = "with"; }
  | ASK        { $$ = "ask"; }
  | FANOUT     { $$ = "fanout"; }
  | BARRIER    { $$ = "barrier"; }
  | VERIFY     { $$ = "verify"; }
  | TOURNAMENT { $$ = "tournament"; }
  | LOOP       { $$ = "loop"; }
  | UNTIL      { $$ = "until"; }
  | BUDGET     { $$ = "budget"; }
  | TRY        { $$ = "try"; }
  | GENERATE   { $$ = "generate"; }
  ;

fields
  : field                           { $$ = one(pc, $1); }
  | fields item_sep field           { $$ = $1; ps_push_member(pc, &$$, $3, "fields in one record"); }
  ;

field
  : field_name ":" expr
      { $$ = NEW(N_FIELD_INIT, @$); $$->doc = ps_doc(@1); $$->u.init.name = $1;
        $$->u.init.value = $3; $$ = DONE($$); }
  ;

entries
  : entry                           { $$ = one(pc, $1); }
  | entries item_sep entry          { $$ = $1; ps_push(pc, &$$, $3); }
  ;

entry
  : expr ":" expr
      { $$ = NEW(N_MAP_ENTRY, @$); $$->u.init.key = $1; $$->u.init.value = $3;
        $$ = DONE($$); }
  ;

arms
  : arm                             { $$ = one(pc, $1); }
  | arms item_sep arm               { $$ = $1; ps_push(pc, &$$, $3); }
  ;

arm
  : pattern "=>" expr
      { $$ = NEW(N_MATCH_ARM, @$); $$->u.arm.pattern = $1; $$->u.arm.body = $3;
        $$ = DONE($$); }
  | alts "=>" expr
      { Node *p = NEW(N_PAT_OR, @1); p->u.list.items = $1;
        $$ = NEW(N_MATCH_ARM, @$); $$->u.arm.pattern = DONE(p); $$->u.arm.body = $3;
        $$ = DONE($$); }
  ;

/* alts -> pattern '|' pattern { '|' pattern }: an or-pattern */
alts
  : pattern "|" pattern             { $$ = one(pc, $1); ps_push(pc, &$$, $3); }
  | alts "|" pattern                { $$ = $1; ps_push(pc, &$$, $3); }
  ;

/* pattern -> '_' | name | literal | '-' number */
pattern
  : IDENT               { $$ = ps_bind_pattern(pc, $1, @1); }
  | INT                 { $$ = ps_pattern(pc, $1, @$); }
  | FLOAT               { $$ = ps_pattern(pc, $1, @$); }
  | DURATION            { $$ = ps_pattern(pc, $1, @$); }
  | STRING              { $$ = ps_pattern(pc, ps_string(pc, $1), @$); }
  | TRUE                { Node *b = NEW(N_BOOL, @$); b->u.lit.b = true; $$ = ps_pattern(pc, b, @$); }
  | FALSE               { $$ = ps_pattern(pc, NEW(N_BOOL, @$), @$); }
  | NONE                { $$ = ps_pattern(pc, NEW(N_NONE, @$), @$); }
  | "-" INT             { $$ = ps_pattern(pc, ps_negate_lit(pc, $2, @$), @$); }
  | "-" FLOAT           { $$ = ps_pattern(pc, ps_negate_lit(pc, $2, @$), @$); }
  | IDENT "{" "}"       { $$ = ps_variant(pc, N_PAT_VARIANT, $1, @1, EMPTY, @$); }
  | IDENT "{" pfields trail "}"       { $$ = ps_variant(pc, N_PAT_VARIANT, $1, @1, $3, @$); }
  | IDENT LBRACE_VARIANT pfields trail "}" { $$ = ps_variant(pc, N_PAT_VARIANT, $1, @1, $3, @$); }
  ;

/* pfield -> IDENT | field_name ':' IDENT: a field of a variant pattern,
 * bound to a name of its own or to `_` */
pfields
  : pfield                          { $$ = one(pc, $1); }
  | pfields item_sep pfield         { $$ = $1; ps_push_member(pc, &$$, $3, "fields in one record"); }
  ;

pfield
  : IDENT
      { $$ = NEW(N_FIELD_INIT, @$); $$->u.init.name = $1;
        $$->u.init.value = ps_bind_pattern(pc, $1, @1); $$ = DONE($$); }
  | field_name ":" IDENT
      { $$ = NEW(N_FIELD_INIT, @$); $$->u.init.name = $1;
        $$->u.init.value = ps_bind_pattern(pc, $3, @3); $$ = DONE($$); }
  ;

/* string -> STRING | STR_HEAD expr { STR_MID expr } STR_TAIL */
string
  : STRING                          { $$ = ps_string(pc, $1); }
  | interp STR_TAIL                 { $$ = ps_interp(pc, $1, $2, @$); }
  ;

interp
  : STR_HEAD expr                   { $$ = one(pc, $1); ps_push(pc, &$$, $2); }
  | interp STR_MID expr             { $$ = $1; ps_push(pc, &$$, $2); ps_push(pc, &$$, $3); }
  ;

/* ---- types ---------------------------------------------------------- */

/* type -> type_post | union ['?'] | 'fn' '(' types ')' [ '->' type ]
 * type_atom -> [ IDENT '.' ] IDENT [ '[' types ']' ] | 'role' | record | '(' type ')'
 * (`alias.Type` names a type of a module imported as `alias`) */
type
  : type_post
  | union
  | union "?"
      { $$ = NEW(N_TYPE_OPTIONAL, @$); $$->u.topt.inner = $1; $$ = DONE($$); }
  | FN "(" type_args ")" "->" type
      { $$ = NEW(N_TYPE_FN, @$); $$->u.tfn.params = $3; $$->u.tfn.ret = $6; $$ = DONE($$); }
  | FN "(" type_args ")"
      { $$ = NEW(N_TYPE_FN, @$); $$->u.tfn.params = $3; $$ = DONE($$); }
  ;

type_post
  : type_atom
  | type_post "?"
      { $$ = NEW(N_TYPE_OPTIONAL, @$); $$->u.topt.inner = $1; $$ = DONE($$); }
  | type_range
  ;

/* type_range -> type_atom '(' [bound] '..' [bound] ')'   (int(1..10), list[T](..5))
 * range_bound -> ['-'] (INT | FLOAT)
 * The checker decides which bases and bounds make sense (E0330-E0333). */
type_range
  : type_atom "(" range_bound DOTDOT range_bound ")"   { $$ = ps_type_range(pc, $1, $3, $5, @$); }
  | type_atom "(" range_bound DOTDOT ")"               { $$ = ps_type_range(pc, $1, $3, NULL, @$); }
  | type_atom "(" DOTDOT range_bound ")"               { $$ = ps_type_range(pc, $1, NULL, $4, @$); }
  | type_atom "(" DOTDOT ")"                           { $$ = ps_type_range(pc, $1, NULL, NULL, @$); }
  ;

range_bound
  : INT
  | FLOAT
  | "-" INT                         { $$ = ps_negate_lit(pc, $2, @$); }
  | "-" FLOAT                       { $$ = ps_negate_lit(pc, $2, @$); }
  ;

type_atom
  : IDENT                               { $$ = ps_type_name(pc, $1, EMPTY, @$); }
  | IDENT "[" type_list comma_opt "]"   { $$ = ps_type_name(pc, $1, $3, @$); }
  | IDENT "." IDENT                     { $$ = ps_type_qualified(pc, $1, $3, EMPTY, @$); }
  | IDENT "." IDENT "[" type_list comma_opt "]"
      { $$ = ps_type_qualified(pc, $1, $3, $5, @$); }
  | ROLE                                { $$ = ps_type_name(pc, "role", EMPTY, @$); }
  | LBRACE_REC tfields trail "}"        { $$ = ps_list(pc, N_TYPE_RECORD, $2, @$); }
  | LBRACE_REC error "}"                { $$ = ps_error(pc, @$); }
  | "(" type ")"                        { $$ = $2; }
  ;

/* union -> STRING { '|' STRING }   (one string is a one-member union) */
union
  : STRING                          { $$ = ps_list(pc, N_TYPE_UNION, one(pc, ps_string(pc, $1)), @$); }
  | union "|" STRING
      /* members are leaves: the depth set for the first one stands */
      { $$ = $1; ps_push_member(pc, &$$->u.list.items, ps_string(pc, $3), "members in one union");
        $$->span = ps_span(pc, @$); }
  ;

type_args
  : %empty                          { $$ = EMPTY; }
  | type_list comma_opt
  ;

type_list
  : type                            { $$ = one(pc, $1); }
  | type_list "," type              { $$ = $1; ps_push(pc, &$$, $3); }
  ;

tfields
  : tfield                          { $$ = one(pc, $1); }
  | tfields item_sep tfield         { $$ = $1; ps_push_member(pc, &$$, $3, "fields in one record"); }
  ;

tfield
  : field_name ":" type
      { $$ = NEW(N_PARAM, @$); $$->doc = ps_doc(@1); $$->u.param.name = $1;
        $$->u.param.type = $3; $$ = DONE($$); }
  ;

%%

/* ---- syntax error messages -------------------------------------------- */

/* How a token is named in a message: keywords and punctuation quoted
 * ('in', '{'), the others described (identifier, end of line). buf holds
 * the quoted form. */
static const char *sym_text(yysymbol_kind_t s, char *buf, size_t size) {
  switch (s) {
  case YYSYMBOL_LBRACE_REC:
  case YYSYMBOL_LBRACE_VARIANT:
  case YYSYMBOL_LBRACE_MAP: return "'{'";
  case YYSYMBOL_STR_HEAD: return "string";
  case YYSYMBOL_STR_MID: return "'}'";
  default:
    if (s >= YYSYMBOL_FN && s <= YYSYMBOL_GE) {
      snprintf(buf, size, "'%s'", yysymbol_name(s));
      return buf;
    }
    return yysymbol_name(s);
  }
}

static bool is_binop(yysymbol_kind_t s) {
  switch (s) {
  case YYSYMBOL_PLUS: case YYSYMBOL_STAR: case YYSYMBOL_SLASH: case YYSYMBOL_PCT:
  case YYSYMBOL_EQ: case YYSYMBOL_NE: case YYSYMBOL_LT: case YYSYMBOL_LE:
  case YYSYMBOL_GT: case YYSYMBOL_GE: case YYSYMBOL_AND: case YYSYMBOL_OR:
  case YYSYMBOL_DOT: case YYSYMBOL_WITH:
    return true;
  default:
    return false;
  }
}

static bool is_cmp(yysymbol_kind_t s) {
  return s == YYSYMBOL_EQ || s == YYSYMBOL_NE || s == YYSYMBOL_LT || s == YYSYMBOL_LE ||
         s == YYSYMBOL_GT || s == YYSYMBOL_GE;
}

/* Tokens that can only begin a new operand (a missing ',' before them). */
static bool operand_start(yysymbol_kind_t s) {
  switch (s) {
  case YYSYMBOL_IDENT: case YYSYMBOL_INT: case YYSYMBOL_FLOAT: case YYSYMBOL_DURATION:
  case YYSYMBOL_STRING: case YYSYMBOL_STR_HEAD: case YYSYMBOL_TRUE: case YYSYMBOL_FALSE:
  case YYSYMBOL_NONE: case YYSYMBOL_LBRACKET: case YYSYMBOL_LBRACE_REC:
  case YYSYMBOL_LBRACE_MAP:
    return true;
  default:
    return false;
  }
}

static bool is_keyword(yysymbol_kind_t s) {
  return s >= YYSYMBOL_FN && s <= YYSYMBOL_GENERATE;
}

/* The text of a token (NUL-free: stops at the end of the word). */
static const char *tok_text(ParseCtx *pc, const Loc *l) {
  return pc->src->text + l->start;
}

/* The first word of the line that holds offset `at`. */
static const char *line_word(ParseCtx *pc, uint32_t at) {
  const char *t = pc->src->text;
  uint32_t b = at;
  while (b > 0 && t[b - 1] != '\n') b--;
  while (t[b] == ' ' || t[b] == '\t') b++;
  return t + b;
}

/* Whether the text at p starts with the word w (not a longer name). */
static bool word_is(const char *p, const char *w) {
  size_t k = strlen(w);
  if (strncmp(p, w, k) != 0) return false;
  char c = p[k];
  return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
}

/* "unexpected X, expected A, B or C" with a help line for the common
 * mistakes. Called by Bison only when it reports (not while recovering). */
static int yyreport_syntax_error(const yypcontext_t *yyctx, ParseCtx *pc) {
  yysymbol_kind_t la = yypcontext_token(yyctx);
  const Loc *loc = yypcontext_location(yyctx);

  /* error recovery: drop the bracketed groups that follow the bad token */
  if (la != YYSYMBOL_YYEOF) {
    pc->skipping = true;
    pc->skip_level = pc->lx.tok_level;
  }
  /* the lexer already said why the file ended (unclosed delimiter, ...) */
  if (la == YYSYMBOL_YYEOF && pc->eof_reported) return 0;
  uint32_t line, col;
  src_line_col(pc->src, loc->start, &line, &col);
  if (line == pc->last_err_line) return 0; /* one syntax error per line */
  pc->last_err_line = line;

  yysymbol_kind_t exp[YYNTOKENS];
  int n = yypcontext_expected_tokens(yyctx, exp, YYNTOKENS);
  bool expects_ident = false, expects_expr = false, expects_item = false;
  bool expects_comma = false, expects_colon = false, expects_lbrace = false;
  bool expects_rbrace = false, expects_sep = false, in_string = false;
  bool expects_closer = false, expects_role = false, expects_rec = false, expects_string = false;
  bool expects_break = false;
  for (int i = 0; i < n; i++) {
    expects_role |= exp[i] == YYSYMBOL_ROLE;
    expects_rec |= exp[i] == YYSYMBOL_LBRACE_REC;
    expects_string |= exp[i] == YYSYMBOL_STRING;
    expects_break |= exp[i] == YYSYMBOL_BREAK;
    expects_closer |= exp[i] == YYSYMBOL_RBRACE || exp[i] == YYSYMBOL_RBRACKET ||
                      exp[i] == YYSYMBOL_RPAREN;
    expects_ident |= exp[i] == YYSYMBOL_IDENT;
    expects_expr |= exp[i] == YYSYMBOL_INT;
    expects_item |= exp[i] == YYSYMBOL_IMPORT;
    expects_comma |= exp[i] == YYSYMBOL_COMMA;
    expects_colon |= exp[i] == YYSYMBOL_COLON;
    expects_lbrace |= exp[i] == YYSYMBOL_LBRACE;
    expects_rbrace |= exp[i] == YYSYMBOL_RBRACE;
    expects_sep |= exp[i] == YYSYMBOL_SEMI;
    in_string |= exp[i] == YYSYMBOL_STR_TAIL || exp[i] == YYSYMBOL_STR_MID;
  }
  /* a field name: an identifier or any keyword (`break` begins a statement
   * and `import` an item, never both at once elsewhere) */
  bool expects_field = expects_ident && expects_break && expects_item;
  if (expects_field) expects_item = false;
  /* a type: `role`, a record type and a literal union may begin here, an
   * expression may not; or the next member of a literal union */
  bool expects_type = !expects_expr && expects_string &&
                      ((expects_role && expects_rec) || pc->prev_tok == T_PIPE);
  bool literal = la == YYSYMBOL_INT || la == YYSYMBOL_FLOAT || la == YYSYMBOL_TRUE ||
                 la == YYSYMBOL_FALSE;
  /* a '{' that starts a record or a map where a block's '{' was expected:
   * both print as '{', so the message says what the brace was read as */
  bool brace_kind_mismatch =
      expects_lbrace && (la == YYSYMBOL_LBRACE_REC || la == YYSYMBOL_LBRACE_MAP);

  /* expected names, without repeats (several tokens share a name) */
  enum { MAXEXP = 4 };
  char qbuf[MAXEXP + 1][24], lbuf[24];
  const char *names[MAXEXP + 1];
  int nn = 0;
  for (int i = 0; i < n && nn <= MAXEXP; i++) {
    const char *t = sym_text(exp[i], qbuf[nn], sizeof qbuf[nn]);
    bool dup = false;
    for (int j = 0; j < nn; j++) dup |= strcmp(names[j], t) == 0;
    if (!dup) names[nn++] = t;
  }

  char what[80];
  if (la == YYSYMBOL_IDENT) {
    size_t len = loc->end - loc->start;
    snprintf(what, sizeof what, "identifier '%.*s%s'", (int)(len > 40 ? 40 : len),
             pc->src->text + loc->start, len > 40 ? "..." : "");
  } else
    snprintf(what, sizeof what, "%s", sym_text(la, lbuf, sizeof lbuf));

  char msg[400];
  size_t m;
  if (brace_kind_mismatch)
    m = (size_t)snprintf(msg, sizeof msg,
                         "unexpected %s: a block is expected here, but '{ %s' starts a %s",
                         la == YYSYMBOL_LBRACE_REC ? "record literal" : "map literal",
                         la == YYSYMBOL_LBRACE_REC ? "name:" : "\"key\":",
                         la == YYSYMBOL_LBRACE_REC ? "record" : "map");
  else
    m = (size_t)snprintf(msg, sizeof msg, "unexpected %s", what);
  bool same = false; /* never "unexpected X, expected X" */
  for (int i = 0; i < nn; i++) same |= strcmp(names[i], what) == 0;
  if (brace_kind_mismatch)
    ;
  else if (expects_field)
    m += (size_t)snprintf(msg + m, sizeof msg - m, ", expected a field name");
  else if (same)
    m += (size_t)snprintf(msg + m, sizeof msg - m, " here");
  else if (expects_ident && expects_expr) /* too many to list */
    m += (size_t)snprintf(msg + m, sizeof msg - m, ", expected an expression");
  else if (n > 0 && nn <= MAXEXP) {
    m += (size_t)snprintf(msg + m, sizeof msg - m, ", expected ");
    for (int i = 0; i < nn && m < sizeof msg; i++)
      m += (size_t)snprintf(msg + m, sizeof msg - m, "%s%s",
                            i == 0 ? "" : i == nn - 1 ? " or " : ", ", names[i]);
  }

  char hbuf[300];
  const char *help = NULL;
  const char *lead = line_word(pc, loc->start);
  if (in_string && (la == YYSYMBOL_COLON || la == YYSYMBOL_COMMA || la == YYSYMBOL_STRING ||
                    la == YYSYMBOL_STR_HEAD))
    help = "'{' in a string starts an interpolation; write a literal brace as '{{' or '}}', "
           "e.g. \"Reply as {{\\\"a\\\": 1}}\"";
  else if (word_is(lead, "while") || word_is(lead, "do") ||
           (pc->prev_tok == T_LOOP && la == YYSYMBOL_IDENT && word_is(tok_text(pc, loc), "while")) ||
           (pc->prev_tok == T_IDENT && word_is(tok_text(pc, &pc->prev_loc), "while")))
    help = "Weft has no 'while' or 'do' loop: go over a list with 'for x in xs { ... }', or "
           "repeat with 'loop s = init max N { ... } until done(s)'";
  else if (la == YYSYMBOL_IDENT && (word_is(tok_text(pc, loc), "elif") ||
                                    word_is(tok_text(pc, loc), "elsif") ||
                                    word_is(tok_text(pc, loc), "elseif")))
    help = "write 'else if', on the same line as the closing '}': '} else if cond {'";
  else if (brace_kind_mismatch && la == YYSYMBOL_LBRACE_REC)
    help = "a block cannot begin with 'name:'; to make a branch or body whose value is a "
           "record, wrap the record in parentheses: 'if ok { ({ a: 1 }) } else { ({ a: 2 }) }'";
  else if (brace_kind_mismatch)
    help = "a block cannot begin with '\"key\":'; to make a branch or body whose value is a "
           "map, wrap the map in parentheses: '{ ({ \"k\": 1 }) }'";
  else if (expects_field && la == YYSYMBOL_STRING)
    help = "field names are written without quotes, keywords included: 'role: ...'";
  else if (expects_field)
    help = "a record field is written 'name: value'; any word may name a field, keywords "
           "included";
  else if (expects_type && la == YYSYMBOL_LBRACE_MAP)
    help = "a record type's field names are written without quotes, keywords included: "
           "'{ role: string }'";
  else if (expects_type && literal)
    help = la == YYSYMBOL_INT
               ? "literal unions hold strings: use int (and check the range in code), or "
                 "\"1\" | \"2\" | \"3\""
           : la == YYSYMBOL_FLOAT
               ? "literal unions hold strings: use float (and check the range in code), or "
                 "\"0.5\" | \"1.5\""
               : "literal unions hold strings: use bool, or \"yes\" | \"no\"";
  else if (la == YYSYMBOL_ASSIGN && expects_colon && !expects_expr)
    help = "record fields and role settings are written 'name: value', with ':' not '='";
  else if (la == YYSYMBOL_ASSIGN && !expects_ident)
    help = "use '==' to compare values; '=' only gives a variable a new value";
  else if (is_cmp(la) && (pc->prev_tok != T_NEWLINE))
    help = "comparisons do not chain: write 'a < b and b < c'";
  else if (is_binop(la) && pc->prev_tok == T_NEWLINE)
    help = "to continue an expression on the next line, end the previous line "
           "with the operator";
  else if (is_keyword(la) && expects_ident)
    help = "this is a keyword and cannot be used as a name";
  else if (expects_item && la != YYSYMBOL_YYEOF)
    help = "only items stand at the top level of a file: import, type, role and fn; "
           "statements belong in a function body (a program starts at 'fn main()')";
  else if (la == YYSYMBOL_LBRACE_REC)
    help = "'{ name: ...' starts a record literal; to make a block that yields a "
           "record, wrap it in another pair of braces";
  else if (la == YYSYMBOL_LBRACE_MAP)
    help = "'{ \"key\": ...' starts a map literal; to make a block that yields a map, "
           "wrap it in another pair of braces";
  else if (la == YYSYMBOL_SEMI && (expects_comma || (expects_closer && !expects_sep)))
    help = "separate fields, arguments and list elements with ',', not ';'";
  else if (la == YYSYMBOL_COMMA && expects_sep)
    help = "statements in a block are separated by line breaks or ';', not ','; a record "
           "is written '{ name: value, ... }'";
  else if ((expects_comma || (expects_closer && !expects_sep)) && operand_start(la))
    help = "a ',' is missing before this: separate record fields, arguments and list "
           "elements with ','";
  else if (la == YYSYMBOL_YYEOF)
    help = "the file ends in the middle of a construct: finish it, or check for a "
           "missing closing bracket or quote";
  else if (la == YYSYMBOL_RBRACE && expects_expr)
    help = "something is missing before the '}': an operator, ':' or '=' needs a value "
           "after it";
  else if (expects_ident && expects_expr)
    help = "write an expression here: a literal, a name, a call or a parenthesized "
           "expression";
  else if (expects_rbrace && (la == YYSYMBOL_ELSE || la == YYSYMBOL_UNTIL))
    help = "this word must follow a closing '}' on the same line";
  else if (nn > 0 && nn <= MAXEXP) {
    size_t k = (size_t)snprintf(hbuf, sizeof hbuf, "write ");
    for (int i = 0; i < nn && k < sizeof hbuf; i++)
      k += (size_t)snprintf(hbuf + k, sizeof hbuf - k, "%s%s",
                            i == 0 ? "" : i == nn - 1 ? " or " : ", ",
                            strcmp(names[i], "identifier") == 0    ? "a name"
                            : strcmp(names[i], "end of line") == 0 ? "a line break"
                            : strcmp(names[i], "integer") == 0     ? "a number"
                                                                   : names[i]);
    if (k < sizeof hbuf)
      snprintf(hbuf + k, sizeof hbuf - k, " here, or remove the %s if it does not belong",
               what);
    help = hbuf;
  } else
    help = "this token cannot continue what comes before it: check the previous token "
           "and the brackets around it (docs/language.md lists the grammar)";
  diag_add(pc->diags, D_E0101, ps_span(pc, *loc), help, "%s", msg);
  return 0;
}

void wperror(Loc *loc, ParseCtx *pc, const char *msg) {
  if (strstr(msg, "exhausted")) {
    if (!pc->deep_reported)
      diag_add(pc->diags, D_E0103, ps_span(pc, *loc), "split the expression into smaller parts",
               "program nested too deeply for the parser");
    pc->deep_reported = true;
    return;
  }
  diag_add(pc->diags, D_E0101, ps_span(pc, *loc),
           "check the code just before this point for a missing or extra token", "%s", msg);
}
