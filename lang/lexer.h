/* lexer.h — the front end's private interface: the lexer state and the
 * parse context shared by the lexer (lexer.re), the grammar (parser.y) and
 * the node constructors and driver (parse.c). Nothing outside lang/ uses it.
 *
 * Token stream contract (what the grammar can rely on):
 *   - NEWLINE is emitted only where a statement may end: never inside ( )
 *     or [ ] or an interpolation, never after a token that cannot end a
 *     statement (operators, ',', '=', ':', '{', ...), never twice in a row.
 *   - '{' comes in three kinds, decided by looking past it: LBRACE_REC when
 *     an identifier and ':' follow (record literal or type, role body,
 *     `with`), LBRACE_MAP when a plain string and ':' or a ':' follow (map
 *     literal, `{:}`), LBRACE otherwise (block, match body).
 *   - A string without interpolation is one STRING token; "a{x}b{y}c" is
 *     STR_HEAD("a") x STR_MID("b") y STR_TAIL("c"). Their values are
 *     N_STRING nodes (escapes decoded). */
#ifndef WEFT_LEXER_H
#define WEFT_LEXER_H

#include <stdbool.h>
#include <stdint.h>
#include "ast.h"
#include "diag.h"
#include "parser.h"

/* Deepest nesting of ( [ { and interpolations the lexer accepts; past it
 * the file is cut off with E0103 (the grammar would need a stack as deep,
 * and the tree would be capped at AST_MAX_DEPTH anyway). */
#define LEX_MAX_NESTING 1000

typedef enum DelimKind { DL_PAREN, DL_BRACKET, DL_BRACE, DL_INTERP } DelimKind;

typedef struct Delim {
  uint8_t kind;   /* DelimKind */
  bool triple;    /* DL_INTERP: inside a """ string */
  uint32_t open;  /* offset of the opener (the string's quote for DL_INTERP) */
} Delim;

/* Where a line starts inside a triple-quoted string piece, for dedenting:
 * `off` is the offset in the decoded piece, `ws` the number of spaces and
 * tabs (copied verbatim) that begin the line. */
typedef enum { MARK_TEXT, MARK_BLANK, MARK_CLOSE } MarkKind;
typedef struct StrMark { uint32_t off, ws; uint8_t kind; } StrMark;
typedef struct StrMarks { uint32_t n; StrMark m[]; } StrMarks;

typedef struct Lexer {
  const unsigned char *base; /* the text; base[len] is its NUL */
  const unsigned char *lim;  /* base + len */
  const unsigned char *cur, *mar, *tok; /* re2c cursor, marker, token start */
  Delim *stack;
  uint32_t depth, cap;
  int last;          /* kind of the last token returned (newline rule) */
  const unsigned char *last_tok; /* where that token starts */
  bool done;         /* END returned (end of text, or cut off) */
  /* what the last token did to the nesting, for error recovery */
  uint32_t tok_level; /* nesting depth that contains the token */
  int tok_role;       /* 0 plain, 1 opener, -1 closer */
  bool inserting;      /* the last token was an inserted ')' or ']' */
  /* doc comment being collected for the next token */
  char *doc;
  size_t doc_len, doc_cap;
  bool has_doc;
  /* decoding buffer for strings and numbers; marks of a triple string */
  char *buf;
  size_t blen, bcap;
  StrMark *marks;
  uint32_t nmarks, mcap;
} Lexer;

typedef struct ParseCtx {
  Arena *arena;
  DiagList *diags;
  Source *src;
  uint32_t file;
  Lexer lx;
  NodeList items;      /* the result */
  bool deep_reported;  /* E0103 given (once per file) */
  bool wide_reported;  /* E0504 for AST_MAX_MEMBERS given (once per file) */
  bool eof_reported;   /* the lexer explained why the text ended early */
  bool skipping;       /* error recovery: dropping nested groups */
  uint32_t skip_level;
  uint32_t last_err_line; /* line of the last syntax error (one per line) */
  int prev_tok, cur_tok;  /* the two most recent tokens handed to Bison */
  Loc prev_loc, cur_loc;  /* and where they stand */
  uint32_t cur_level;     /* nesting depth of cur_tok */
  NodeList item_names;    /* Ast.item_names */
} ParseCtx;

void lex_init(ParseCtx *pc);
void lex_free(ParseCtx *pc);
int lex_next(ParseCtx *pc, WPSTYPE *val, Loc *loc);
/* The single yylex the grammar calls: lex_next plus error-recovery skipping. */
int wplex(WPSTYPE *val, Loc *loc, ParseCtx *pc);
void wperror(Loc *loc, ParseCtx *pc, const char *msg);

/* ---- constructors used by grammar actions (parse.c) ---- */
Span ps_span(ParseCtx *pc, Loc l);
Node *ps_new(ParseCtx *pc, NodeKind k, Loc l);
Node *ps_done(ParseCtx *pc, Node *n); /* depth check: n or N_ERROR */
Node *ps_error(ParseCtx *pc, Loc l);
Node *ps_name(ParseCtx *pc, const char *id, Loc l);
Node *ps_unary(ParseCtx *pc, Op op, Node *e, Loc l);
Node *ps_try(ParseCtx *pc, Node *e, Loc l);
Node *ps_binary(ParseCtx *pc, Op op, Node *a, Node *b, Loc l);
Node *ps_call(ParseCtx *pc, Node *callee, NodeList args, Loc l);
Node *ps_generic_call(ParseCtx *pc, Node *callee, Node *first, NodeList rest,
                      NodeList args, Loc l);
Node *ps_list(ParseCtx *pc, NodeKind k, NodeList items, Loc l);
Node *ps_block(ParseCtx *pc, NodeList stmts, int trailing_semi, Loc l);
Node *ps_string(ParseCtx *pc, Node *piece);
Node *ps_interp(ParseCtx *pc, NodeList parts, Node *tail, Loc l);
Node *ps_type_name(ParseCtx *pc, const char *id, NodeList args, Loc l);
/* `alias.Type[args]`: a type of the module imported as `alias` */
Node *ps_type_qualified(ParseCtx *pc, const char *alias, const char *id, NodeList args, Loc l);
/* base(lo..hi): a constrained type; lo and hi are literals or NULL (open) */
Node *ps_type_range(ParseCtx *pc, Node *base, Node *lo, Node *hi, Loc l);
Node *ps_pattern(ParseCtx *pc, Node *lit, Loc l);
Node *ps_bind_pattern(ParseCtx *pc, const char *name, Loc l);   /* `_` or a name */
Node *ps_variant(ParseCtx *pc, NodeKind kind, const char *name, Loc name_at, NodeList fields, Loc l);
Node *ps_negate_lit(ParseCtx *pc, Node *lit, Loc l);
Node *ps_ask(ParseCtx *pc, Node *role, Node *with, Node *prompt, Node *type, Loc l);
/* generate fn(params) [-> ret] by role prompt; `by` is the word read there */
Node *ps_generate(ParseCtx *pc, NodeList params, Node *ret, const char *by, Loc by_loc, Node *role,
                  Node *prompt, Loc l);
Node *ps_loop(ParseCtx *pc, const char *name, Loc name_loc, Node *type, Node *init, Node *bound,
              Node *body, Node *until, Node *els, Loc l);
Node *ps_fanout(ParseCtx *pc, const char *var, Loc var_loc, Node *iter, Node *limit, Node *body,
                Loc l);
Node *ps_fanout_record(ParseCtx *pc, NodeList fields, Loc l);
Node *ps_barrier(ParseCtx *pc, Node *tasks, NodeList mods, Loc l);
Node *ps_budget(ParseCtx *pc, NodeList limits, Node *body, Node *els, Loc l);
Node *ps_verify(ParseCtx *pc, Node *claim, const char *by, Loc by_loc, NodeList roles, int listed,
                NodeList mods, Loc l);
Node *ps_tournament(ParseCtx *pc, Node *items, const char *by, Loc by_loc, Node *judge,
                    const char *on, Loc on_loc, Node *crit, Node *format, Node *ret, Loc l);
void ps_push(ParseCtx *pc, NodeList *l, Node *n);
/* ps_push for fields, parameters and union members: past AST_MAX_MEMBERS
 * the node is dropped and E0504 reported (once per file). */
void ps_push_member(ParseCtx *pc, NodeList *l, Node *n, const char *what);
const char *ps_doc(Loc l);

#endif
