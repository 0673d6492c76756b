/* ast.h — the syntax tree, built by the parser in an arena.
 *
 * One Node struct for items, statements, expressions, patterns and type
 * expressions; `kind` says which union member is live. Every node carries
 * the byte span of the source it came from. Lists are NodeList: a
 * contiguous array in the arena (built with nl_push during parsing).
 *
 * The arena owns every node, string and list: freeing the arena frees the
 * whole tree at once; nothing in the tree is freed individually.
 *
 * Fields under "filled by the checker" are NULL/0 after parsing; lang/ never
 * reads or writes them (they are opaque pointers to compiler structures). */
#ifndef WEFT_AST_H
#define WEFT_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "source.h"

/* ---- arena ---------------------------------------------------------- */
typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
  ArenaBlock *head;
  size_t total; /* bytes handed out, for limits and statistics */
} Arena;

void arena_init(Arena *a);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t size);            /* zeroed, 16-aligned */
char *arena_strndup(Arena *a, const char *s, size_t n);

/* ---- nodes ---------------------------------------------------------- */
typedef struct Node Node;

typedef struct NodeList {
  Node **items;
  uint32_t n, cap;
} NodeList;
void nl_push(Arena *a, NodeList *l, Node *n);

typedef enum NodeKind {
  /* items (top level) */
  N_IMPORT,      /* import "path" [as alias] */
  N_FN,          /* fn name[T, U](params) -> ret { body } */
  N_TYPEDEF,     /* type Name[T] = type */
  N_ROLE,        /* role name { key: expr, ... } (settings checked later) */

  /* parts of items */
  N_PARAM,       /* name: type [= default]  (also lambda params; type may be NULL) */
  N_FIELD_INIT,  /* name: expr   in record literals, role bodies, `with` */
  N_MAP_ENTRY,   /* "key": expr  in map literals (key is an expression) */
  N_MATCH_ARM,   /* pattern => expr */

  /* statements (appear in block statement lists) */
  N_LET,         /* let name[: type] = expr       (decl.is_var false) */
  N_VAR,         /* var name[: type] = expr       (decl.is_var true)  */
  N_ASSIGN,      /* name = expr */
  N_EXPR_STMT,   /* expr */
  N_FOR,         /* for name in expr { body } */
  N_BREAK,
  N_CONTINUE,
  N_RETURN,      /* return [expr] */

  /* expressions */
  N_INT,         /* lit.i */
  N_FLOAT,       /* lit.f */
  N_BOOL,        /* lit.b */
  N_NONE,
  N_STRING,      /* lit.str: escapes decoded, no interpolation */
  N_INTERP,      /* interp.parts: N_STRING pieces and expressions, in order */
  N_DURATION,    /* lit.i = milliseconds */
  N_PERCENT,     /* lit.f = the number before '%' (10% -> 10.0); used by later constructs */
  N_NAME,        /* name.id */
  N_LIST,        /* list.items */
  N_RECORD,      /* list.items: N_FIELD_INIT */
  N_MAP,         /* list.items: N_MAP_ENTRY;  {:} is the empty map */
  N_UNARY,       /* op, unary.operand:  - not */
  N_BINARY,      /* op, binary.lhs/rhs */
  N_CALL,        /* call.callee(call.args), call.type_args for f[T](...) */
  N_FIELD,       /* field.object . field.name */
  N_INDEX,       /* index.object [ index.index ] */
  N_WITH,        /* with.object with { fields } */
  N_IF,          /* if_.cond if_.then_ [else if_.else_]  (else_ is N_BLOCK or N_IF or NULL) */
  N_MATCH,       /* match_.subject { match_.arms } */
  N_BLOCK,       /* block.stmts; the value is the last N_EXPR_STMT when
                    block.has_value (no trailing ';') */
  N_LAMBDA,      /* fn(params) => body  or  fn(params) -> T { body } */
  N_ASK,         /* ask ask.role ask.prompt [-> ask.type]: one model call */
  N_LOOP,        /* loop name[: type] = init max N { body } until cond [else e] */
  N_FANOUT,      /* fanout x in xs [limit N] { body }  |  fanout { a: e, ... } */
  N_BARRIER,     /* barrier tasks [tolerate N|P%] [first K] [timeout D] */
  N_VERIFY,      /* verify claim by R | [R1, R2] [quorum K] [with { ... }]; runs `lowered` */
  N_TOURNAMENT,  /* tournament xs by judge on crit [format] [-> ranking]; runs `lowered` */
  N_ROLE_INDEX,  /* a verifier, role_index.role, as a role value (built by desugaring) */
  N_BUDGET,      /* budget { calls: N, ... } { body } [else { e }] */
  N_TRY,         /* try unary.operand: its value, or its failure, as a result[T] */

  /* patterns (in N_MATCH_ARM) */
  N_PAT_WILD,    /* _ */
  N_PAT_LIT,     /* pat.lit: N_INT/N_FLOAT/N_BOOL/N_STRING/N_NONE */
  N_PAT_BIND,    /* pat.name binds the value (present value of an optional) */
  N_PAT_OR,      /* list.items: alternatives (`"a" | "b"`), each an N_PAT_* */

  /* type expressions */
  N_TYPE_NAME,   /* [tname.module.] tname.id [tname.args]: int, list[T], Finding, lib.T */
  N_TYPE_RECORD, /* list.items: N_PARAM (name, type, doc) */
  N_TYPE_UNION,  /* list.items: N_STRING literals:  "a" | "b" */
  N_TYPE_OPTIONAL, /* topt.inner ? */
  N_TYPE_FN,     /* fn(tfn.params) -> tfn.ret */
  N_TYPE_TAGGED, /* list.items: N_PARAM (param.name = variant, param.type = N_TYPE_RECORD):
                    Search { query: string } | Giveup {}  (only in a `type` item) */

  /* tagged unions (kept together so the kinds above keep their values) */
  N_VARIANT,     /* variant.name { variant.fields: N_FIELD_INIT }: a variant built */
  N_PAT_VARIANT, /* variant.name { variant.fields }: each an N_FIELD_INIT whose value
                    is the N_PAT_BIND or N_PAT_WILD the field goes to */
  N_TYPE_RANGE,  /* trange.base (trange.lo..trange.hi): int(1..10); a bound is an
                    N_INT or N_FLOAT (a written minus folded in), or NULL when open */
  N_GENERATE,    /* generate fn(gen.params) [-> gen.ret] by gen.role gen.prompt:
                    a model writes a function of that signature */

  N_ERROR,       /* placeholder after a syntax error; the checker skips it */
  N__COUNT
} NodeKind;

typedef enum Op {
  AOP_ADD, AOP_SUB, AOP_MUL, AOP_DIV, AOP_MOD,
  AOP_EQ, AOP_NE, AOP_LT, AOP_LE, AOP_GT, AOP_GE,
  AOP_AND, AOP_OR,
  AOP_NEG, AOP_NOT,
} Op;

struct Node {
  NodeKind kind;
  uint32_t depth;      /* 1 + deepest child; ast_new callers set it via ast_set_depth */
  Span span;
  const char *doc;     /* `///` comment text (lines joined by '\n'), items/fields only */

  /* filled by the checker; opaque to lang/ */
  struct Type *type;   /* type of an expression / declared type of a binding */
  struct Symbol *sym;  /* resolved symbol (N_NAME, N_ASSIGN) or declared one
                          (N_LET, N_VAR, N_PARAM, N_FOR, N_PAT_BIND, N_FN, ...) */
  void *extra;         /* checker/emitter scratch (e.g. captures of a lambda) */

  union {
    struct { int64_t i; double f; bool b; const char *str; size_t len; } lit;
    /* N_NAME; lowered: set by the compiler's desugaring of a construct
     * (verify, tournament, compiler/desugar.c), which names the standard
     * function itself; never set by the parser */
    struct { const char *id; bool lowered; } name;
    struct { NodeList parts; } interp;
    struct { NodeList items; } list;                         /* N_LIST, N_RECORD, N_MAP, N_TYPE_RECORD, N_TYPE_UNION, N_PAT_OR */
    struct { Op op; Node *operand; } unary;
    struct { Op op; Node *lhs, *rhs; } binary;
    struct { Node *callee; NodeList args; NodeList type_args; } call;
    struct { Node *object; const char *name; Span name_span; } field;
    struct { Node *object, *index; } index;
    struct { Node *object; NodeList fields; } with;
    struct { const char *name; Span name_span; NodeList fields; } variant; /* N_VARIANT, N_PAT_VARIANT */
    struct { Node *cond, *then_, *else_; } if_;
    struct { Node *subject; NodeList arms; } match_;
    struct { NodeList stmts; bool has_value; } block;
    struct { NodeList params; Node *ret; Node *body; bool arrow; bool branch; } lambda; /* arrow: `=> expr` form; branch: a fan-out branch */
    struct { Node *pattern; Node *body; } arm;
    /* N_ASK: role is any role-typed postfix expression (a role item's
     * N_NAME or `module.role` N_FIELD is asked by index); with is the
     * N_RECORD of per-call settings or NULL; type is a type expression or
     * NULL (a text reply) */
    struct { Node *role; Node *prompt; Node *type; Node *with; /* N_RECORD of settings, or NULL */
             /* An ask of a role with tools is a loop: desugaring sets
              * `lowered` (which the compiler runs instead); inside it,
              * each model step is an N_ASK with `turns` (the JSON text of
              * the conversation after the prompt), whose value is the
              * step's reply as JSON text (compiler/desugar.c). */
             Node *turns; Node *lowered; } ask;
    /* N_LOOP: the state `name` (optional `type`), its `init`, the bound
     * `max` (NULL when missing: the checker reports it), `body` (a block
     * giving the new state), `until` and the optional `else_` */
    struct { const char *name; Span name_span; Node *type; Node *init; Node *max;
             Node *body; Node *until; Node *else_; } loop;
    /* N_FANOUT: each branch is an N_LAMBDA (arrow form, lambda.branch set)
     * built by the parser. List form: `iter` is the list, `limit` may be
     * NULL, `branch` takes one parameter (the element). Record form
     * (`iter` NULL): `fields` are N_FIELD_INIT whose values are
     * zero-parameter branch lambdas. */
    struct { Node *iter; Node *limit; Node *branch; NodeList fields; } fanout;
    /* N_BARRIER: the tasks operand and its modifiers (each NULL when not
     * given; `tolerate` is an N_PERCENT for `tolerate 10%`) */
    struct { Node *tasks; Node *tolerate; Node *first; Node *timeout; } barrier;
    /* N_VERIFY and N_TOURNAMENT hold the construct as written; the
     * compiler's desugaring (compiler/desugar.c) checks their parts and
     * fills `lowered`, an ordinary expression (asks, a fan-out, calls of
     * prelude functions) that the checker types and the emitter lowers;
     * the written parts stay for the extra static rules.
     * N_VERIFY: the `claim`, the verifier `roles` (ask_role nodes), `listed`
     * when they are written in brackets, `quorum` (the node after the word,
     * NULL when absent) and `with` (the N_RECORD of `with { … }`, NULL when
     * absent). */
    struct { Node *claim; NodeList roles; bool listed; Node *quorum; Node *with;
             Node *lowered; } verify;
    /* N_TOURNAMENT: the candidate list `items`, the `judge` role, the
     * `criterion`, the `format` (an N_FIELD_INIT: the word and, for
     * `swiss N`, its value; NULL when absent) and `ret` (the N_NAME after
     * `->`, NULL when absent). */
    struct { Node *items; Node *judge; Node *criterion; Node *format; Node *ret;
             Node *lowered; } tourn;
    struct { Node *role; } role_index;                        /* N_ROLE_INDEX */
    /* N_GENERATE: params are N_PARAM as in a function declaration (the
     * checker requires types and refuses defaults); ret is a type
     * expression or NULL (the function returns nothing); role is the
     * N_NAME or `module.role` N_FIELD after `by`; prompt a postfix
     * expression, as an ask's */
    struct { NodeList params; Node *ret; Node *role; Node *prompt; } gen;
    /* N_BUDGET: `limits` are N_FIELD_INIT (calls, tokens, usd, time); the
     * body and the else (NULL when absent) are zero-parameter branch
     * lambdas built by the parser: each runs in its own fiber */
    struct { NodeList limits; Node *body; Node *else_; } budget;
    struct { Node *lit; const char *name; } pat;
    /* N_LET, N_VAR: name, optional type, value */
    struct { const char *name; Span name_span; Node *type; Node *value; bool is_var; } decl;
    /* N_ASSIGN */
    struct { const char *name; Span name_span; Node *value; } assign;
    struct { Node *expr; } stmt;                             /* N_EXPR_STMT, N_RETURN (expr may be NULL) */
    struct { const char *var; Span var_span; Node *iter; Node *body; } for_;
    /* N_PARAM: name, type (may be NULL in lambdas), default (may be NULL) */
    struct { const char *name; Node *type; Node *def; } param;
    /* N_FIELD_INIT: name: value;  N_MAP_ENTRY: key: value */
    struct { const char *name; Node *key; Node *value; } init;
    /* N_FN */
    struct { const char *name; Span name_span; NodeList type_params; /* N_NAME */
             NodeList params; Node *ret; Node *body; } fn;
    /* N_TYPEDEF */
    struct { const char *name; Span name_span; NodeList type_params; Node *type; } typedef_;
    /* N_ROLE */
    struct { const char *name; Span name_span; NodeList settings; /* N_FIELD_INIT */ } role;
    /* N_IMPORT: path as written (quotes removed, escapes decoded; path_len
     * bytes, so a NUL inside shows); alias may be NULL */
    struct { const char *path; size_t path_len; const char *alias; } import;
    /* N_TYPE_NAME */
    /* module: the import alias of `alias.Type` (NULL for a local name) */
    struct { const char *id; NodeList args; const char *module; } tname;
    struct { Node *inner; } topt;
    struct { NodeList params; /* type nodes */ Node *ret; } tfn;
    struct { Node *base; Node *lo; Node *hi; } trange;
  } u;
};

Node *ast_new(Arena *a, NodeKind kind, Span span);
/* Sets n->depth to 1 + the deepest direct child (children's depths must be
 * set already, as they are when a tree is built bottom-up); returns it. */
uint32_t ast_set_depth(Node *n);
/* Calls f on every direct child of n (NULL children skipped), in source
 * order, for passes over the tree outside lang/ (desugaring). */
typedef void (*AstChildFn)(Node *child, void *ud);
void ast_each_child(Node *n, AstChildFn f, void *ud);
/* Tree depth is capped (AST_MAX_DEPTH) so that every later recursive walk
 * (checker, emitter, dump) is bounded: the parser reports E0103 and
 * substitutes N_ERROR for a deeper subtree. */
#define AST_MAX_DEPTH 400
/* Fields of one record (literal, type, `with`, role), parameters of one
 * function and members of one union are capped too: the checker and the
 * emitter compare them pairwise, so without a cap a long enough list
 * takes quadratic time (E0504 from the parser). */
#define AST_MAX_MEMBERS 1000
const char *ast_kind_name(NodeKind kind);
const char *ast_op_text(Op op);          /* "+", "and", ... */
/* Writes an S-expression rendering of the tree (for tests and debugging). */
#include <stdio.h>
void ast_dump(FILE *out, const Node *n, int indent);

/* A parsed file: its items in order. */
typedef struct Ast {
  NodeList items;
  uint32_t file;
  /* N_NAME of every name written after `fn`, `type`, `role` or `as` at the
   * top level, parsed into an item or not: a name here that no item
   * declares belongs to an item with a syntax error, and uses of it are
   * not reported as unknown (they would only repeat that error). */
  NodeList item_names;
} Ast;

/* ---- front end entry point ----------------------------------------- */
struct DiagList;
/* Lexes and parses one source file into `out` (allocated in `arena`).
 * Syntax errors go to `diags`; parsing continues after errors, so several
 * are reported, and erroneous parts become N_ERROR nodes. Returns the number
 * of errors added. Never fails otherwise (limits: nesting depth, file size). */
int parse_source(Arena *arena, SourceSet *ss, uint32_t file, struct DiagList *diags, Ast *out);

#endif
