/* module.h — a compiled Weft program: in memory and as a .weftc file.
 *
 * The compiler lowers a whole program (the main file and everything it
 * imports) into one Module. `weft build` writes it to a .weftc file;
 * `weft run` either runs the in-memory module or loads one. Every module,
 * even one just produced by the compiler, passes module_verify before it
 * runs: the verifier, not the hash, is the trust boundary.
 *
 * File layout (all integers little-endian; strings are u32 length + bytes):
 *
 *   header    "WEFTC\0\r\n" (8 bytes), u16 format version, u16 flags (0),
 *             u64 source hash (FNV-1a 64 over the source texts in file order)
 *   files     u32 n, n x string (source paths, for stack traces)
 *   consts    u32 n, n x { u8 kind, payload }
 *               K_INT u64, K_FLOAT f64 bits as u64, K_DURATION i64 ms,
 *               K_STRING string, K_SHAPE u32 m, m x u32 (string const indices,
 *               each smaller than the shape's own index), K_BOOL u8 (0 or 1)
 *   natives   u32 n, n x string (builtin names, resolved at load time)
 *   types     u32 n, n x type descriptor (below)
 *   funcs     u32 n, n x { string name, u32 file, u32 line, u16 arity,
 *                          u16 ncaptures, u16 nlocals, u16 max_stack,
 *                          u32 code_len, code bytes,
 *                          u32 nlines, nlines x { u32 pc, u32 line, u32 col } }
 *   roles     u32 n, n x { string name, string model, u8 has_system,
 *             [string system], f64 temperature, f64 top_p, i64 max_tokens,
 *             i64 timeout_ms, i32 retries, i32 repairs }  (NaN / -1 = unset)
 *             has_system bit 1: u8 n + n stop strings follow the system
 *             prompt; bit 2: after repairs, u32 max_steps, u8 ntools,
 *             ntools x { string name, string doc, u32 params type }
 *   main      u32 main function index (UINT32_MAX: none), u32 result type
 *             (UINT32_MAX: void), u32 nparams, nparams x { string name,
 *             u32 type, u32 default const index (UINT32_MAX: required;
 *             a K_SHAPE default is not allowed; NONE_DEFAULT: none) }
 *   trailer   u32 FNV-1a 32 checksum of everything before it
 *
 * Type descriptor: u8 kind, then per kind:
 *   TD_JSON TD_INT TD_FLOAT TD_BOOL TD_STRING TD_DURATION TD_NONE TD_FUNC: nothing
 *   TD_LIST TD_MAP TD_OPTIONAL: u32 element type index
 *   TD_RANGE:  u32 base type index (int, float, string or list), u32 lower
 *              and u32 upper bound const (K_INT, or K_FLOAT for a float
 *              base; UINT32_MAX: open)
 *   TD_ENUM:   u32 n, n x u32 string const (the literal members)
 *   TD_TAGGED: u32 n, n x u32 type index of a TD_RECORD (the variants; each
 *              record's first field is `type`, a one-member TD_ENUM: the tag)
 *   TD_RECORD: u32 n, n x { u32 name const, u32 type index, u32 doc const
 *              (UINT32_MAX: none) }
 *   every kind ends with u32 doc const (UINT32_MAX: none) and u32 name
 *   const (UINT32_MAX: anonymous; the declared name for named types).
 * A descriptor may only refer to descriptors with a SMALLER index, so the
 * table is acyclic by construction and checking it is linear. */
#ifndef WEFT_MODULE_H
#define WEFT_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "value.h"

#define WEFTC_MAGIC "WEFTC\0\r\n"
#define WEFTC_VERSION 1
/* The largest module module_load reads. The compiler makes a module about
 * as large as its source (at most 16 MiB: lang/source.h), so this leaves
 * room to spare while a hostile file cannot make the loader hold, hash and
 * walk a gigabyte (docs/security.md, "Untrusted programs"). */
#define MODULE_MAX_BYTES ((size_t)64 << 20)
#define NO_INDEX UINT32_MAX
/* Members of an enum, fields of a record descriptor: at most this many (the
 * verifier refuses more, the compiler reports E0504). Far more than a type
 * a person writes; few enough that a hostile module cannot make messages,
 * schemas and conversions work through a million of them. */
#define MODULE_MAX_MEMBERS 10000
/* Bytes of a type written in a message at most, then "…": a type whose
 * parts share (2^N nodes as a tree) must not make a message of 2^N. Both
 * printers keep it: the checker's type_print and type_desc_print. */
#define TYPE_PRINT_MAX 1024
#define NONE_DEFAULT (UINT32_MAX - 1)

/* K_BOOL (appended) exists for main-parameter defaults such as `= false`. */
typedef enum ConstKind { K_INT, K_FLOAT, K_DURATION, K_STRING, K_SHAPE, K_BOOL } ConstKind;

typedef enum TypeDescKind {
  TD_JSON, TD_INT, TD_FLOAT, TD_BOOL, TD_STRING, TD_DURATION, TD_NONE, TD_FUNC,
  TD_LIST, TD_MAP, TD_OPTIONAL, TD_ENUM, TD_RECORD,
  TD_TAGGED,
  TD_RANGE,    /* a constrained int, float, string or list (elem) */
  TD__COUNT
} TypeDescKind;

typedef struct TypeField {
  uint32_t name;   /* string const */
  uint32_t type;   /* descriptor index */
  uint32_t doc;    /* string const or NO_INDEX */
} TypeField;

typedef struct TypeDesc {
  uint8_t kind;
  uint32_t elem;       /* TD_LIST, TD_MAP, TD_OPTIONAL, TD_RANGE (the base) */
  /* TD_RANGE: inclusive bounds, K_INT (K_FLOAT for a float base) consts or
   * NO_INDEX when open: the value of an int or float, the code points of a
   * string, the items of a list */
  uint32_t lo, hi;
  uint32_t n;          /* TD_ENUM members / TD_RECORD fields */
  uint32_t *members;   /* TD_ENUM: string consts; TD_TAGGED: record type indices */
  TypeField *fields;   /* TD_RECORD */
  uint32_t doc;        /* string const or NO_INDEX */
  uint32_t name;       /* string const or NO_INDEX */
  ObjShape *shape;     /* TD_RECORD: built at load time (owned) */
} TypeDesc;

typedef struct LineEntry { uint32_t pc, line, col; } LineEntry;

typedef struct FuncProto {
  char *name;          /* "main", "helper", "<lambda@12>" */
  uint32_t file, line;
  uint16_t arity, ncaptures, nlocals, max_stack; /* nlocals includes params */
  uint8_t *code;
  uint32_t code_len;
  LineEntry *lines;    /* sorted by pc; entry i covers pc in [lines[i].pc, lines[i+1].pc) */
  uint32_t nlines;
  /* not in the file: FN_* marks of code a planner wrote (vm_mark_functions);
   * 0 for everything loaded or compiled */
  uint8_t marks;
} FuncProto;

typedef struct MainParam {
  char *name;
  uint32_t type;       /* descriptor */
  uint32_t def;        /* const index, NO_INDEX (required) or NONE_DEFAULT: pass
                          none when the input is missing (also used for compound
                          defaults like `= []`, which main's code substitutes) */
} MainParam;

struct Native;
/* A `role` declaration: a model and its settings. Unset numeric settings
 * hold -1 (NaN for temperature/top_p) and mean "the engine's default".
 * `model` is "provider/name" as declared; the command line may remap it
 * (--provider, --model ROLE=...) without touching the module. */
typedef struct RoleDesc {
  char *name;
  char *model;          /* "anthropic/claude-sonnet-4-5", "openai/gpt-4o-mini", "mock/x" */
  char *system;         /* NULL: none */
  double temperature;   /* NaN: unset */
  double top_p;         /* NaN: unset */
  int64_t max_tokens;   /* -1: unset (engine default 4096) */
  int64_t timeout_ms;   /* -1: unset: total time for one attempt */
  int32_t retries;      /* -1: unset (2): transport retries per ask */
  int32_t repairs;      /* -1: unset (2): re-asks after a reply that does not fit the type */
  char **stop;          /* stop sequences (nstop, at most ASK_STOP_MAX), NULL: none */
  uint32_t nstop;
  /* The tools an ask of the role offers the model (`tools: [f, g]`): each
   * a top-level function, by its name, its `///` description and the
   * TD_RECORD of its parameters (their JSON Schema). With tools, an ask
   * of the role is a bounded loop of at most max_steps model steps
   * (docs/runtime.md, "Tool-calling loops"); max_steps is 0 without. */
  struct RoleTool *tools;
  uint32_t ntools;
  uint32_t max_steps;
} RoleDesc;
typedef struct RoleTool {
  char *name;
  char *doc;            /* never NULL: a tool must be described */
  uint32_t params;      /* TD_RECORD descriptor of its parameters */
} RoleTool;
#define ROLE_TOOLS_MAX 64     /* tools one role may list */
#define ROLE_MAX_STEPS 100    /* the largest `max_steps` */
#define ROLE_DEFAULT_STEPS 10 /* `max_steps` when a role with tools leaves it out */

/* Whether a role may call model spec ("provider/model") under the allowlist
 * allow[0..n): each entry a "provider/model" named in full, or a provider
 * and "*" ("openai" "/" "*") for all of its models. Mock models always
 * may: they run in the process, send nothing and cost nothing. One rule for `weft check`
 * (E0621) and the engine (docs/security.md, "Untrusted programs"). */
bool model_allowed(const char *spec, const char *const *allow, uint32_t n);

typedef struct Module {
  uint16_t version;
  uint64_t source_hash;
  char **files; uint32_t nfiles;
  Value *consts; uint8_t *const_kinds; uint32_t nconsts;   /* K_SHAPE consts hold an ObjShape */
  char **native_names; const struct Native **natives; uint32_t nnatives;
  TypeDesc *types; uint32_t ntypes;
  FuncProto *funcs; uint32_t nfuncs;
  uint32_t main_fn, main_result;
  MainParam *params; uint32_t nparams;
  Heap *heap;          /* the heap the constants were allocated from */
  RoleDesc *roles; uint32_t nroles;                        /* ASK operand a indexes this */
  struct TableIndex *const_index; /* module.c private: the builder's dedup hashes (may be NULL) */
  struct TableIndex *type_index;
  void **retired; uint32_t nretired; /* role tables module_link replaced (calls in flight
                                        may point into them); freed with the module */
} Module;

/* Building (used by the compiler's emitter). module_add_native leaves
 * the entry NULL: the caller resolves it (m->natives[i] = entry). */
Module *module_new(Heap *heap);
void module_free(Module *m);
uint32_t module_add_const(Module *m, ConstKind kind, Value v); /* takes the reference; dedups ints/strings */
uint32_t module_add_string(Module *m, const char *s, size_t len);
uint32_t module_add_native(Module *m, const char *name);       /* dedup by name */
/* The tag of variant record `rec` of a tagged union: its first field is
 * `type`, a one-member enum; NULL when descriptor rec is not such a record
 * (a borrowed string constant otherwise). Valid on a verified module. */
const ObjString *module_variant_tag(const Module *m, uint32_t rec);
uint32_t module_add_type(Module *m, const TypeDesc *td);       /* copies; dedups identical descriptors */
uint32_t module_add_file(Module *m, const char *path);
uint32_t module_add_role(Module *m, const RoleDesc *r);         /* copies strings */

/* Serialization. module_write returns a malloc'd buffer. module_load never
 * trusts its input: any malformed, truncated or hostile byte string yields
 * NULL and a message in err (caller frees *err), never a crash; it resolves
 * natives against the host's table (vm.h: NativeTable; a name it lacks is
 * an error) and then runs module_verify. */
struct NativeTable;
uint8_t *module_write(const Module *m, size_t *len);
Module *module_load(Heap *heap, const uint8_t *data, size_t len, const struct NativeTable *natives,
                    char **err);

/* Verifies every function (jump targets on instruction boundaries, operand
 * indices and constant kinds, closure capture counts vs. target, native
 * arities, stack depth consistent at merges and within max_stack, no path
 * falling off the end), the descriptor table (kinds, indices smaller than
 * their own, enum members strings) and the role table (a "provider/name"
 * model, settings unset or in range; ASK operands index roles and types).
 * Linear in the module size. True when the module is sound, else false +
 * *err (malloc'd, when err is not NULL) naming the function and byte
 * offset. */
bool module_verify(const Module *m, char **err);

/* Appends module src (verified by the caller) to dst: its constants,
 * types, natives and files merged with dst's (equal ones shared), its roles
 * and functions added after dst's, every operand of its code relocated.
 * Constants are copied onto dst's heap, so src stays the caller's. *main
 * is src's main function in dst. False + *err (malloc'd), dst unchanged,
 * when the merged tables would not fit the bytecode's 16-bit operands. The
 * VM's linker (vm_link_module) is the one caller. */
bool module_link(Module *dst, const Module *src, uint32_t *main, char **err);

/* Human-readable listing of every function (weft disasm). */
#include <stdio.h>
void module_disasm(FILE *out, const Module *m);

#endif
