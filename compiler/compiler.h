/* compiler.h — types, symbols, and the contract between checker and emitter.
 *
 * Pipeline: compile_program loads the main file and its imports (load.c),
 * parses each (lang/), checks the whole program (check.c), and, when there
 * are no errors, lowers it to one bytecode Module (emit.c).
 *
 * THE CHECKER -> EMITTER CONTRACT. After check_program returns with no
 * errors, the AST is annotated as follows and the emitter relies on nothing
 * else:
 *   - every expression node has `type` set (never NULL, never TY_ERROR);
 *   - every N_LET, N_VAR, N_PARAM (of functions and lambdas), N_FOR and
 *     N_PAT_BIND node has `sym` = the SYM_LOCAL it declares;
 *     N_FN has `sym` = its SYM_FN;
 *   - every N_NAME and N_ASSIGN has `sym` = the symbol it refers to; an
 *     N_FIELD that names a function of an imported module (`lib.f`) also has
 *     `sym` set (then the emitter treats it like an N_NAME);
 *   - every N_LAMBDA has `extra` = a SymList of the outer SYM_LOCALs its
 *     body uses, including those used only inside nested lambdas (so each
 *     closure can copy them from its creator at CLOSURE time); order is the
 *     capture index order;
 *   - every N_CALL has `extra` = a CallInfo saying what is called;
 *   - every N_RECORD has `type` = the record type to build (the expected
 *     type where one is known, which may have optional fields the literal
 *     omits: the emitter fills those with none). N_WITH likewise.
 *   - N_MATCH arms: the subject's type (`match_.subject->type`) tells
 *     whether a N_PAT_BIND arm must skip none (optional subject).
 *   - every N_LOOP has `sym` = the SYM_LOCAL of its state variable (owned
 *     by the enclosing function); its `type` is the loop's value;
 *   - every N_FANOUT has `type` = a TY_TASKS; its branches (the N_LAMBDA
 *     `fanout.branch`, or the N_LAMBDA values of `fanout.fields`) are
 *     annotated like any lambda (type, captures in `extra`);
 *   - every N_BARRIER has `type` = its result; `barrier.tasks->type` is
 *     the TY_TASKS it joins; a `tolerate` that is an N_PERCENT means
 *     BARRIER_TOLERATE_P (its lit.f is the percent), any other an int;
 *   - every N_BUDGET has `type` = its value; its limits are N_FIELD_INIT
 *     named calls / tokens / usd / time (each at most once, typed int,
 *     int, float, duration); `budget.body` and `budget.else_` (NULL when
 *     absent) are zero-parameter branch lambdas annotated like any lambda;
 *   - every N_ROLE has `sym` = its SYM_ROLE and `extra` = a RoleDesc of
 *     its validated settings (strings in the arena; unset ones NaN / -1);
 *     the role of an N_ASK that names a role item (`ask.role`, an N_NAME
 *     or an N_FIELD `lib.role`) has `sym` = that SYM_ROLE; any other role
 *     is an expression of type `role` (a value, asked with ASK_ROLE); the
 *     N_ASK's `type` is the reply type (string for text).
 * Symbols and types live in the checker's arena, freed with the Program. */
#ifndef WEFT_COMPILER_H
#define WEFT_COMPILER_H

#include <stdbool.h>
#include <stdint.h>
#include "../lang/ast.h"
#include "../lang/diag.h"
#include "../vm/module.h"
#include "../vm/vm.h"

/* ---- types ----------------------------------------------------------- */
typedef enum TypeKind {
  TY_ERROR,     /* after an error: compatible with everything, silences cascades */
  TY_VOID,      /* no value: functions without `-> T`, `for`, `if` without else */
  TY_NEVER,     /* return, break, continue, fail(): compatible with everything */
  TY_INT, TY_FLOAT, TY_BOOL, TY_STRING, TY_DURATION,
  TY_JSON,      /* dynamic; any JSON-expressible value converts to it */
  TY_NONE,      /* the type of the literal `none`; fits any optional */
  TY_LIST,      /* elem */
  TY_MAP,       /* elem (keys are strings) */
  TY_RECORD,    /* fields, in declaration order */
  TY_UNION,     /* literal union: lits ("a" | "b"); one literal = a literal type */
  TY_OPTIONAL,  /* elem? (never nested, never of none/void) */
  TY_FN,        /* params -> ret */
  TY_VAR,       /* a generic type parameter (var_id), or an inference variable */
  TY_ROLE,
  TY_TASKS,     /* running fan-out branches: elem = one branch's result; for a
                   record fan-out (`sections`) elem = the record of results */
  TY_TAGGED,    /* tagged union: fields = the variants, each named by its tag and
                   typed by its record, whose first field is `type`, the tag as a
                   one-member literal union (the value is that record) */
  TY__COUNT
} TypeKind;

typedef struct Type Type;
typedef struct TyField { const char *name; Type *type; const char *doc; } TyField;
/* Inclusive bounds of a constrained type (`int(1..10)`, `list[T](..5)`):
 * the value of an int or float, the code points of a string, the items of
 * a list. A missing bound is open. Float bounds are in flo/fhi, the others
 * in lo/hi. */
typedef struct TyRange {
  bool has_lo, has_hi, is_float;
  int64_t lo, hi;
  double flo, fhi;
} TyRange;

struct Type {
  TypeKind kind;
  Type *elem;                       /* list, map, optional */
  TyField *fields; uint32_t nfields;/* record; tagged: the variants */
  const char **lits; uint32_t nlits;/* union: unique, in written order */
  Type **params; uint32_t nparams;  /* fn */
  Type *ret;                        /* fn */
  uint32_t var_id;                  /* var */
  const char *name;                 /* the alias name, for messages and schemas (may be NULL) */
  const char *doc;                  /* `///` of the named type */
  bool sections;                    /* tasks: from a record fan-out `fanout { a: …, b: … }` */
  const TyRange *range;             /* int, float, string, list: its constraint (NULL: none) */
};

/* ---- symbols --------------------------------------------------------- */
typedef enum SymKind {
  SYM_LOCAL,    /* let, var, param, for variable, match binding */
  SYM_FN,       /* top-level function */
  SYM_NATIVE,   /* a builtin name (possibly several overloads) */
  SYM_TYPE,     /* named type or type parameter */
  SYM_ROLE,     /* role declaration */
  SYM_MODULE,   /* import alias */
} SymKind;

typedef struct Symbol Symbol;
struct Symbol {
  SymKind kind;
  const char *name;
  Node *decl;           /* declaring node (NULL for natives) */
  Type *type;           /* value type (fn type for SYM_FN) / aliased type for SYM_TYPE */
  Node *owner;          /* SYM_LOCAL: the N_FN or N_LAMBDA whose frame holds it */
  bool is_var;          /* declared with `var` */
  bool used;
  bool internal;        /* resolvable only from std files and the constructs'
                           lowering (check.c, "internal names") */
  uint32_t file;        /* file id of the declaration */
  /* emitter scratch */
  int32_t slot;         /* SYM_LOCAL: local slot in its owner's frame (-1 = unassigned) */
  int32_t index;        /* SYM_FN: Module.funcs index; SYM_ROLE: Module.roles index (-1 = unassigned) */
  void *module;         /* SYM_MODULE: the imported file's scope (checker private) */
};

typedef struct SymList { Symbol **items; uint32_t n, cap; } SymList;

typedef enum CallKind {
  CALL_VALUE,     /* callee is a function value (local, lambda, expression) */
  CALL_FN,        /* callee is a top-level function: CallInfo.fn */
  CALL_NATIVE,    /* a builtin: CallInfo.native (the chosen overload) */
  CALL_FROM_JSON, /* from_json[T](j): convert to the call node's `type` */
} CallKind;

typedef struct CallInfo {
  CallKind kind;
  Symbol *fn;
  const Native *native;
  /* CALL_FN: the function's declaration, so the emitter can append the
   * defaults of omitted trailing parameters (constant expressions). */
  Node *fn_decl;
} CallInfo;

/* ---- a program being compiled ---------------------------------------- */
typedef struct CompileOptions {
  bool check_only;            /* the caller wants diagnostics only (weft check); the
                                 module is still built, to report bytecode limits */
  const char *stdlib_dir;     /* NULL: use the embedded stdlib */
  /* Import roots besides the main file's directory (--allow-import): an
   * import resolves only beneath one of them (docs/security.md, "Imports"). */
  const char *const *import_paths;
  uint32_t nimport_paths;
  /* --untrusted (docs/security.md, "Untrusted programs"): the main file's
   * directory is no import root, so only std/ and import_paths are. */
  bool untrusted;
  /* The most source the program may hold, its main file and imported
   * files together (E0104 / E0204 past it, before parsing); 0: only the
   * per-file and per-program caps of LOAD_MAX_*. */
  size_t max_source_bytes;
  /* The most memory the compile may hold (--max-memory), every stage's
   * allocations counted before they happen (E0105 past it); 0: no limit. */
  size_t max_memory;
  /* With limit_models, a role may name only a model models[0..nmodels)
   * allows (model_allowed, vm/module.h): any other is E0621. */
  bool limit_models;
  const char *const *models;
  uint32_t nmodels;
  const NativeTable *natives; /* the builtins programs may call: the host's table
                                 (stdlib's std_native_table); NULL: none at all */
  /* With check_only: the host's default bound on model calls in flight
   * (--max-concurrency); a literal fan-out limit above it gets note N0001.
   * 0: no such notes. */
  uint32_t concurrency_note;
  /* Untrusted content (docs/language.md, "Untrusted content"): the names
   * of main's parameters whose values are untrusted (--untrusted-input),
   * and the programs whose proc.run output is trusted (`--allow-run=
   * PROG:trusted`, PROG as the program names it). */
  const char *const *untrusted_inputs;
  uint32_t nuntrusted_inputs;
  const char *const *trusted_programs;
  uint32_t ntrusted_programs;
  /* The main file's text, when it is not a file: a program a model wrote
   * while a run goes on (`generate`). The path then only names it in
   * messages; with untrusted set it is no import root, so the text may
   * import std/ alone. NULL: read the main file from the path. */
  const char *main_text;
  size_t main_len;
} CompileOptions;

typedef struct ProgramFile {
  uint32_t file;              /* SourceSet id */
  Ast ast;
  bool is_std;                /* came from std/ */
  void *scope;                /* checker private */
} ProgramFile;

typedef struct Program {
  Arena arena;                /* AST, types and symbols of every file */
  SourceSet *sources;
  DiagList *diags;
  ProgramFile *files; uint32_t nfiles, files_cap; /* dependencies before dependents; main file last */
  uint32_t main_file;         /* SourceSet id of the entry file */
  Symbol *main;               /* SYM_FN main of the entry file, or NULL */
  const NativeTable *natives; /* CompileOptions.natives (load_program sets it) */
  const CompileOptions *opt;  /* the options it was loaded with (load_program sets it; may be NULL) */
  /* load_program failed with lexical and syntax errors only (E00xx, E01xx):
   * every file is loaded, so the items that parsed can still be checked */
  bool syntax_errors_only;
} Program;

/* load.c: reads and parses `path` and, transitively, its imports (relative
 * paths resolve against the importing file, and only beneath the main
 * file's directory or opt->import_paths; "std/x" against the stdlib).
 * Cycles are reported (E0205) with the chain. Returns false on errors. */
bool load_program(Program *p, const char *path, const CompileOptions *opt);
void program_init(Program *p, SourceSet *ss, DiagList *dl);
void program_free(Program *p);

/* check.c: names, types, static rules. Returns true when no errors. */
bool check_program(Program *p);

/* taint.c: refuses (E0650, with note N0002 at the source) the flows of
 * untrusted text into a parameter that acts (the path of fs.write, what
 * proc.run runs, an HTTP request) that a checked program shows. False
 * when it reported one. */
bool taint_program(Program *p);

/* emit.c: lowers a checked program to a module (heap for its constants). */
Module *emit_program(Program *p, Heap *heap);

/* compile.c: load + check (+ emit unless check_only). Returns the module or
 * NULL; diagnostics are in dl either way. */
Module *compile_file(const char *path, SourceSet *ss, DiagList *dl,
                     const CompileOptions *opt, Heap *heap);
/* compile_file, then, when a module came out, then(p, ud) on the checked
 * program before it is freed: a tool that wants the diagnostics and the
 * program's structure (weft graph) compiles once. */
Module *compile_file_then(const char *path, SourceSet *ss, DiagList *dl, const CompileOptions *opt, Heap *heap,
                          void (*then)(Program *p, void *ud), void *ud);

/* cost.c: static upper bounds on main's model calls and output tokens
 * (`weft check --cost`), written to out as one text line or, with json, one
 * JSON object {"calls": {...}, "output_tokens": {...}}. cost_program works
 * on a checked program; cost_file loads and checks `path` itself (its
 * diagnostics are dropped: report them with compile_file first). Both
 * return false when there is nothing to bound (errors, no main). */
bool cost_program(Program *p, bool json, Buf *out);
bool cost_file(const char *path, const CompileOptions *opt, bool json, Buf *out);
/* graph.c: the structure of a checked program (`weft graph`): its asks,
 * fan-outs, barriers, loops, verify, tournaments, budgets and the calls
 * of functions holding them, as Graphviz DOT or (mermaid) a Mermaid
 * flowchart. graph_file loads and checks `path` itself (diagnostics
 * dropped, as for cost_file); false when it has errors. */
typedef enum { GRAPH_DOT, GRAPH_MERMAID, GRAPH_JSON /* nodes with source lines, for the trace page */ } GraphFormat;
bool graph_program(Program *p, GraphFormat format, Buf *out);
/* source_hash (may be NULL): set to the hash a module of it would carry
 * (Module.source_hash), so a caller can tell the file is still the one
 * a run compiled. */
bool graph_file(const char *path, const CompileOptions *opt, GraphFormat format, uint64_t *source_hash, Buf *out);
/* fmt.c: src[0..n) in the canonical layout (`weft fmt`), appended to out.
 * Only whitespace between tokens changes; the caller parses src first and
 * leaves a file that does not parse alone. */
bool fmt_source(const char *src, size_t n, Buf *out);
/* capscan.c: the host capabilities a checked program names (`weft check
 * --caps`, and `weft run` refusing to start without their grants): the
 * capability modules it loads (std/fs, std/proc, std/http) and each call
 * of their functions written in its own files, in source order. */
typedef struct CapUse {
  char *fn;        /* the top-level function the call is written in ("main") */
  char *op;        /* "fs.read" */
  char grant;      /* 'r' read, 'w' write, 'x' run, 'n' net (value is a URL) */
  char *value;     /* the path, program or URL when a constant string; NULL: computed */
  char *file;      /* where the call is */
  uint32_t line, col;
} CapUse;
/* A role with tools: what a model asking through it can make the program
 * do is what those functions do (their uses above, by CapUse.fn). */
typedef struct CapRole {
  char *name;
  char **tools; uint32_t ntools;
} CapRole;
typedef struct CapScan {
  char **modules; uint32_t nmodules;
  CapUse *uses; uint32_t n, cap;
  CapRole *roles; uint32_t nroles;
} CapScan;
void capscan_program(const Program *p, CapScan *out);
void capscan_free(CapScan *cs);

/* cost.c: note N0001 on every `fanout … limit N` of a checked program's
 * own files whose literal N is above cap and whose branches may ask. */
void cost_concurrency_notes(Program *p, uint32_t cap);

/* ---- walks over types ------------------------------------------------
 * Types form a DAG: a named type is one Type that every use points at, so
 * the N lines `type T0 = { a: T1, b: T1 }`, `type T1 = { a: T2, b: T2 }`,
 * ... make a type of 2N nodes and 2^N paths. A walk that follows every path
 * is exponential in the program, so every walk over types (types.c, the
 * checker, the emitter) keeps what it has done for a node, or for a pair
 * of nodes when it relates two types, in a TypeMemo and does it once.
 * Printing, whose output is a tree by nature, stops at TYPE_PRINT_MAX
 * bytes instead (docs/security.md, "Work linear in the program").
 *
 * A walk bounded in depth (so hostile types cannot exhaust the C stack)
 * records the depth it was at: what it found at depth d holds for any
 * visit at depth d or deeper (which may look at less), so tmemo_get
 * answers only those; a node reached again by a shorter path is done
 * again, at most once per depth, which keeps the walk linear. */
typedef struct TypeMemoSlot {
  const void *a, *b;              /* the key; a == NULL: an empty slot */
  void *val;
  int depth;
} TypeMemoSlot;

typedef struct TypeMemo {
  TypeMemoSlot *slots;            /* open addressing; NULL until the first put */
  uint32_t n, cap;
  TypeMemoSlot local[16];         /* the first table, so small walks never malloc */
} TypeMemo;                       /* never copied: slots may point into it */

void tmemo_init(TypeMemo *m);
void tmemo_free(TypeMemo *m);
/* What a visit of (a, b) at depth `depth` or shallower recorded. */
bool tmemo_get(const TypeMemo *m, const void *a, const void *b, int depth, void **val);
void tmemo_put(TypeMemo *m, const void *a, const void *b, int depth, void *val);
/* Whether (a, b) was already visited at depth `depth` or shallower;
 * records this visit when not. For walks that only need each node once. */
bool tmemo_seen(TypeMemo *m, const void *a, const void *b, int depth);

/* types.c */
Type *type_new(Arena *a, TypeKind kind);
Type *type_prim(TypeKind kind);                 /* shared singletons for the simple kinds */
bool type_equal(const Type *a, const Type *b);  /* structural; names ignored */
/* Can a value of type `from` be used where `to` is expected? (literal ->
 * union containing it, union -> string, T -> T?, none -> T?, T -> json
 * when JSON-expressible, never -> anything, error -> anything.) */
bool type_assignable(const Type *from, const Type *to);
/* The same, with the answers kept in memo for the caller's next question
 * (a join asks about many pairs of the same two types). */
bool type_assignable_in(TypeMemo *memo, const Type *from, const Type *to);
bool type_is_jsonable(const Type *t);           /* no functions or roles inside */
/* Whether t or a part of it, at most `limit` levels down, satisfies `is`. */
bool type_any(const Type *t, bool (*is)(const Type *), int limit);
/* Renders a type as the user writes it ("list[{ a: int }]", "\"a\" | \"b\"",
 * or its alias name), into b; at most TYPE_PRINT_MAX bytes, then "…". */
void type_print(Buf *b, const Type *t);
/* Range constraints: whether value v (an int; or a float, a length) is
 * inside r (NULL: no constraint), and r written as in source: "(1..10)". */
bool type_range_holds(const TyRange *r, double v);
bool type_range_holds_int(const TyRange *r, int64_t v);
void type_range_print(Buf *b, const TyRange *r);

/* Embedded stdlib: the text of std/NAME (e.g. "patterns"), or NULL. */
const char *stdlib_source(const char *name, size_t *len);

#endif
