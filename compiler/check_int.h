/* check_int.h — the checker's private structures, shared by check.c (program,
 * items, scopes, type syntax, native signatures), check_expr.c (statements,
 * expressions, match) and check_call.c (calls and generic inference).
 * Nothing outside the checker includes it. */
#ifndef WEFT_CHECK_INT_H
#define WEFT_CHECK_INT_H

#include "compiler.h"
#include "front.h"

/* Types deeper than this are refused (E0305): inferred types can grow one
 * level per statement (`let b = [a]`), and every type walk recurses. */
#define CHECK_MAX_TYPE_DEPTH 64
/* Aliases resolving through other aliases recurse once per level. */
#define CHECK_MAX_ALIAS_DEPTH 100

/* ---- name tables ------------------------------------------------------ */
/* Open-addressing map from a name to a pointer, allocated in the arena. */
typedef struct SymTab {
  const char **keys;
  void **vals;
  uint32_t n, cap;
} SymTab;

void *tab_get(const SymTab *t, const char *key);
void tab_put(Arena *a, SymTab *t, const char *key, void *val);

/* ---- symbols with checker data (container of Symbol) ----------------- */
/* A signature: of a top-level function, a native overload, or a function
 * value (then ntvars is 0). Type variables are TY_VAR types. */
typedef struct Sig {
  Type **tvars; uint32_t ntvars;
  Type **params; uint32_t nparams;
  uint32_t nrequired;          /* params without a default */
  Type *ret;
} Sig;

typedef struct FnSym {
  Symbol sym;                  /* SYM_FN */
  Sig sig;
  struct FileScope *file;
  bool sig_done;
} FnSym;

typedef enum { TS_UNRESOLVED, TS_RESOLVING, TS_DONE } TypeSymState;

typedef struct TypeSym {
  Symbol sym;                  /* SYM_TYPE: sym.type is the aliased type once DONE */
  TypeSymState state;
  Type **tparams; uint32_t ntparams;
  struct FileScope *file;
} TypeSym;

typedef struct NativeSym {
  Symbol sym;                  /* SYM_NATIVE */
  uint32_t first, count;       /* overloads: native_entries[first .. first+count) */
} NativeSym;

/* An import item of a file. */
typedef struct ImportEntry {
  Node *decl;
  struct FileScope *target;
  bool used;
} ImportEntry;

/* A name brought into a file unqualified by `import "x"` (no alias). */
typedef struct ImportedName {
  Symbol *sym;
  ImportEntry *via;            /* NULL for the implicit prelude */
} ImportedName;

typedef struct FileScope {
  ProgramFile *pf;
  uint32_t file;
  SymTab items;                /* own top-level items: name -> Symbol* */
  SymTab imported;             /* name -> ImportedName* (explicit imports) */
  struct FileScope *prelude;   /* NULL for the prelude itself */
  ImportEntry *imports; uint32_t nimports;
  /* names of items that did not parse (Ast.item_names that no item
   * declares): uses of them are not reported again as unknown */
  SymTab broken;
  /* the variants of the tagged unions in scope (own, unqualified imports,
   * prelude): name -> VariantRef*, for `Search { … }` and a bare `Giveup` */
  SymTab variants;
} FileScope;

/* Where a variant name leads: the union's type symbol and the variant's
 * position in it (its declaration order). */
typedef struct VariantRef {
  struct TypeSym *ts;
  uint32_t index;
  Node *decl;                  /* the N_PARAM of the variant */
  struct ImportEntry *via;     /* the unqualified import it came by (NULL: own, prelude) */
} VariantRef;

/* A block scope of locals (and type parameters of a generic function). */
typedef struct Scope {
  struct Scope *parent;
  SymTab names;
  Symbol **decls; uint32_t ndecls, cap; /* declared here, for W0003 (malloc'd) */
} Scope;

/* The function or lambda whose body is being checked. */
typedef struct FnCtx {
  struct FnCtx *parent;
  Node *owner;                 /* N_FN or N_LAMBDA */
  Type *ret;                   /* declared/expected return type, NULL = infer */
  Type *ret_seen;              /* join of `return e` types while inferring */
  SymList *captures;           /* N_LAMBDA: the extra list being filled */
  Scope *base;                 /* the scope that holds the parameters */
  uint32_t loops;              /* enclosing `for` loops within this function */
  bool in_loop_body;           /* inside a `loop` body (its `for`s counted in loops) */
} FnCtx;

/* A `let t = fanout …` being tracked for the join rule (check_expr.c):
 * where it was declared (function, conditional and repetition nesting)
 * and how it has been used. Lives in the let node's `extra` and, while
 * its scope is open, on Checker.tasks. */
typedef struct TaskVar {
  struct TaskVar *next;
  Node *let;
  Node *owner;                 /* N_FN or N_LAMBDA declaring it */
  uint32_t cond, rep;          /* Checker.cond_depth, rep_depth at the let */
  uint32_t uses;               /* every use of the name */
  uint32_t joins;              /* uses as a barrier's operand */
  Span join_at;                /* the first join */
  bool live;                   /* its scope is open */
} TaskVar;

typedef struct Checker {
  Program *p;
  Arena *a;
  DiagList *dl;
  FileScope *file;
  Scope *scope;
  FnCtx *fn;
  uint32_t next_var;
  SymTab natives;              /* name -> NativeSym* */
  const Native *native_entries;/* the host's native table (Program.natives) */
  uint32_t nnative_entries;
  Sig *native_sigs;            /* parallel to native_entries (NULL entries: bad sig) */
  NativeSym *from_json;        /* stand-in symbol for the from_json callee */
  uint32_t alias_depth;        /* named types being resolved, nested */
  /* the join rule for fan-outs (check_expr.c) */
  Node *tasks_ok;              /* the node that may be a fanout / tasks name here
                                  (a let's value, a barrier's operand) */
  Node *tasks_in_var;          /* a `var`'s value, for a better message */
  uint32_t cond_depth;         /* branches entered: if, match arms, and/or, loop else */
  uint32_t rep_depth;          /* bodies that may run repeatedly: for, loop */
  uint32_t for_rep;            /* rep_depth inside the innermost `for` body */
  TaskVar *tasks;              /* live `let t = fanout`, innermost first */
  Type *failure;               /* the built-in `failure` record (made once) */
  TypeMemo instances;          /* generic alias instances by alias and argument
                                  types (check.c, instance_of) */
} Checker;

/* ---- check.c ---------------------------------------------------------- */
Type *ck_type_of_syntax(Checker *c, Node *tn);
Type *ck_union(Checker *c, const char **lits, uint32_t n);
Type *ck_optional(Checker *c, Type *t);
Type *ck_list(Checker *c, TypeKind kind, Type *elem);
Type *ck_join(Checker *c, Type *a, Type *b);
bool ck_too_deep(const Type *t);
char *ck_type_str(Checker *c, const Type *t);          /* arena string */
Symbol *ck_lookup(Checker *c, const char *name, Span at);
/* The callee of a construct's lowering (N_NAME with `lowered`). */
Symbol *ck_lookup_lowered(Checker *c, const char *name);
/* Whether the file being checked may name s (internal names: check.c). */
bool ck_may_name(const Checker *c, const Symbol *s);
Symbol *ck_new_local(Checker *c, Node *decl, const char *name, Type *t, bool is_var);
void ck_scope_push(Checker *c, Scope *s);
void ck_scope_pop(Checker *c);
Symbol *ck_module_member(Checker *c, FileScope *fs, const char *name);
const char *ck_closest(const char *name, const char **cands, uint32_t n);
/* Whether `name` is that of an item of the current file that did not parse. */
bool ck_broken_name(const Checker *c, const char *name);
bool ck_role_has_tools(const Symbol *s);                /* check_expr.c */
bool ck_is_error(const Type *t);
VariantRef *ck_variant(Checker *c, const char *name);   /* NULL: no such variant in scope */
Type *ck_typesym_type(Checker *c, struct TypeSym *ts);  /* resolves it on first use */
Type *ck_failure(Checker *c);                          /* { branch, kind, message, address } */
Type *ck_joined(Checker *c, Type *elem);               /* { ok: list[T], failed: list[failure] } */
Type *ck_result(Checker *c, Type *t);                  /* result[T] of the prelude, or NULL */
bool ck_mentions_tasks(const Type *t);
bool ck_mentions_role(const Type *t);   /* a role anywhere inside: never JSON */
Type *ck_strip(Type *t);                               /* T? -> T */
Type *ck_unconstrained(Checker *c, Type *t);           /* int(1..10) -> int; others as they are */

/* ---- check_expr.c ----------------------------------------------------- */
Type *ck_expr(Checker *c, Node *n, Type *want);
/* Checks n against `want` (which may be NULL) and reports a mismatch. */
Type *ck_expect(Checker *c, Node *n, Type *want);
void ck_mismatch(Checker *c, Span at, Type *got, Type *want);
Type *ck_block(Checker *c, Node *n, Type *want);
Type *ck_lambda(Checker *c, Node *n, Type *want);
void ck_fn_body(Checker *c, FnSym *fs);
bool ck_is_const(const Node *n);
/* A tasks `let` whose scope ends: E0611 when it was never used. */
void ck_tasks_scope_end(Checker *c, Symbol *sym);

/* ---- check_call.c ----------------------------------------------------- */
Type *ck_call(Checker *c, Node *n, Type *want);
Type *ck_subst(Checker *c, Type *t, const Sig *sig, Type **binds);
/* Binds sig's variables in pat from actual; false when a bound one has no
 * common type with the new evidence. */
bool ck_unify(Checker *c, Type *pat, Type *actual, const Sig *sig, Type **binds);
Sig *ck_parse_native_sig(Checker *c, const char *text);
/* Whether native overload s accepts arguments of types args[0..n). */
bool ck_native_fits(Checker *c, const Sig *s, Type *const *args, uint32_t n);

#endif
