/* value.h — runtime values.
 *
 * A Value is a 16-byte tagged union: none, bool, int (64-bit), float,
 * duration (milliseconds) held inline; strings, lists, maps, records, shapes
 * and functions are heap objects behind V_OBJ. Heap objects are immutable
 * once built and reference-counted: no cycles can form, so there is no
 * tracing GC, and fibers share values without locks. A value of static type
 * `json` is an ordinary value (none/bool/int/float/string/list/map/record).
 *
 * THE OWNERSHIP RULE (stated once, relied on everywhere):
 *   - A Value passed to a function is BORROWED: the callee does not release
 *     it; to keep it, the callee calls v_retain.
 *   - A Value returned from a function is a NEW reference owned by the
 *     caller, who must v_release it (or hand it on).
 *   - Exception: functions whose name ends in `_take` CONSUME the arguments
 *     named in their comment (the caller's reference moves into them).
 *   - A stack slot, a local, a container element or a captured value owns
 *     one reference.
 * "Immutable once built" has one sanctioned exception: a `_take` function
 * may update an object in place when its reference count is 1 (nobody else
 * can observe it), which makes `xs + [x]` in a loop amortized O(1).
 *
 * Every allocation goes through heap_alloc (one choke point), which counts
 * bytes against the memory limit. Going over the limit does not fail the
 * allocation: it sets heap->over_limit, and the interpreter turns that into
 * a clean "memory limit exceeded" error at the next instruction boundary.
 * Builtins that may build large values check heap_would_exceed() first.
 * Only a real malloc failure aborts (after printing a message).
 *
 * Releasing is iterative (an explicit work list), never recursive, so
 * deeply nested values cannot overflow the C stack. Functions that walk
 * values (equality, ordering, JSON rendering) stop at VALUE_MAX_DEPTH with
 * an error instead of recursing further. */
#ifndef WEFT_VALUE_H
#define WEFT_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/buf.h"

#define VALUE_MAX_DEPTH 512

typedef enum ValueTag {
  V_NONE, V_BOOL, V_INT, V_FLOAT, V_DURATION, V_OBJ
} ValueTag;

typedef enum ObjKind {
  OBJ_STRING, OBJ_LIST, OBJ_MAP, OBJ_RECORD, OBJ_SHAPE, OBJ_FUNC,
  OBJ_TASKS,  /* running fan-out branches (vm/tasks.c); equal only to itself */
  OBJ_ROLE    /* a role item as a value (ROLE): its Module.roles index and name */
} ObjKind;

typedef struct Obj {
  uint32_t rc;
  uint8_t kind;
  /* Label (docs/security.md, "Untrusted content"): 0 = clean, else the
   * VM's origin index (vm_label_origin) of untrusted content this object
   * was built from. An object's label is the join of the labels of what it
   * was built from, its elements included, so a sink reads one byte. */
  uint8_t label;
  /* Provenance: 0 = none, else the index + 1 of the role whose ask
   * produced this very object (set by the effect engine on a fresh reply;
   * values built from it later start at 0). `verify` reads it to refuse a
   * verifier that would check its own output. Fits the padding after kind. */
  uint16_t prov;
} Obj;
_Static_assert(sizeof(Obj) == 8, "Obj stays 8 bytes: label and prov live in padding");

typedef struct Value {
  uint8_t tag;
  /* An inline value's label (numbers, bools, durations can carry untrusted
   * content too: a length, a code point); a heap value's label is its
   * Obj's, and this byte stays 0. Lives in padding. */
  uint8_t label;
  union { bool b; int64_t i; double f; Obj *o; } as;
} Value;
_Static_assert(sizeof(Value) == 16, "Value stays 16 bytes: label lives in padding");

/* Length-prefixed UTF-8, also NUL-terminated for convenience. */
typedef struct ObjString {
  Obj h;
  uint32_t hash; /* 0 = not computed yet */
  size_t len;
  char data[];
} ObjString;

typedef struct ObjList {
  Obj h;
  uint32_t n, cap;
  Value *items;
} ObjList;

/* Insertion-ordered map with string keys (like a JSON object). */
typedef struct ObjMap {
  Obj h;
  uint32_t n, cap;        /* entries */
  ObjString **keys;
  Value *vals;
  uint32_t *index;        /* open-addressing table of entry index + 1 (0 = empty) */
  uint32_t index_cap;     /* power of two, 0 when n is small and lookups scan */
  uint32_t dup;           /* from JSON text: index + 1 of the first entry whose
                             key the text gave twice (the last value kept);
                             0 = none. Typed conversion refuses such a map. */
} ObjMap;

/* A record's field names in declaration order; shared by every record of
 * one type (one per record type descriptor / record literal). */
typedef struct ObjShape {
  Obj h;
  uint32_t n;
  ObjString *names[];
} ObjShape;

typedef struct ObjRecord {
  Obj h;
  ObjShape *shape;
  Value vals[];           /* shape->n values, in shape order */
} ObjRecord;

/* A function value: a function of the module plus captured values (copied
 * at closure creation: captured bindings are immutable, so copying is the
 * same as sharing). */
typedef struct ObjFunc {
  Obj h;
  uint32_t fn;            /* index in Module.funcs */
  uint32_t ncap;
  Value caps[];
} ObjFunc;

/* A role as a value. The name is copied in so that display needs no
 * module; equality is by index (two roles of one name from different
 * modules stay different). Never JSON: the checker keeps roles out of
 * replies, inputs and to_json. */
typedef struct ObjRole {
  Obj h;
  uint32_t index;         /* in Module.roles */
  uint32_t len;
  char name[];            /* NUL-terminated */
} ObjRole;

/* A fan-out's branches and their results (FANOUT/BARRIER). Private to
 * vm/tasks.c: it owns fibers, so it is not "immutable once built"; only
 * the VM that made it touches its insides. Rendered as "<tasks>". */
typedef struct ObjTasks ObjTasks;

/* ---- heap ---------------------------------------------------------- */
typedef struct Heap {
  size_t used;            /* bytes currently allocated through this heap */
  size_t peak;
  size_t limit;           /* 0 = no limit */
  bool over_limit;        /* set when used > limit; cleared by the VM */
  uint64_t fail_after;    /* tests: pretend the limit is hit after N allocations (0 = off) */
  uint64_t nallocs;
} Heap;

void heap_init(Heap *h, size_t limit);
void *heap_alloc(Heap *h, size_t size);
void *heap_realloc(Heap *h, void *p, size_t old_size, size_t new_size);
void heap_free(Heap *h, void *p, size_t size);
bool heap_would_exceed(const Heap *h, size_t more);
/* Counts n bytes held elsewhere on the heap's behalf (the buffers of model
 * calls in flight), as if allocated here: over_limit is set past the limit.
 * heap_uncharge gives them back. */
void heap_charge(Heap *h, size_t n);
void heap_uncharge(Heap *h, size_t n);

/* ---- constructors (return new references) --------------------------- */
static inline Value v_none(void) { Value v; v.tag = V_NONE; v.label = 0; v.as.i = 0; return v; }
static inline Value v_bool(bool b) { Value v; v.tag = V_BOOL; v.label = 0; v.as.i = 0; v.as.b = b; return v; }
static inline Value v_int(int64_t i) { Value v; v.tag = V_INT; v.label = 0; v.as.i = i; return v; }
static inline Value v_float(double f) { Value v; v.tag = V_FLOAT; v.label = 0; v.as.f = f; return v; }
static inline Value v_duration(int64_t ms) { Value v; v.tag = V_DURATION; v.label = 0; v.as.i = ms; return v; }
static inline Value v_obj(Obj *o) { Value v; v.tag = V_OBJ; v.label = 0; v.as.o = o; return v; }

Value v_string(Heap *h, const char *s, size_t len);      /* copies s */
Value v_cstring(Heap *h, const char *s);
ObjString *str_alloc(Heap *h, size_t len);               /* uninitialised data, NUL set at len; rc 1 */
Value v_list(Heap *h, uint32_t cap);                     /* empty list with capacity */
Value v_map(Heap *h, uint32_t cap);                      /* empty map */
ObjShape *shape_new(Heap *h, uint32_t n);                /* names to be filled (owned refs) */
Value v_record(Heap *h, ObjShape *shape);                /* vals all none; fill before sharing */
Value v_func(Heap *h, uint32_t fn, uint32_t ncap);       /* caps all none; fill before sharing */
Value v_role(Heap *h, uint32_t index, const char *name); /* copies name */

/* ---- reference counting --------------------------------------------- */
static inline Value v_retain(Value v) { if (v.tag == V_OBJ) v.as.o->rc++; return v; }
void v_release_obj(Heap *h, Obj *o);                     /* iterative */
/* v_release_obj's case for OBJ_TASKS (vm/tasks.c): cancels the branches
 * still running and frees the object. Nested fan-outs met while doing so
 * are queued on the VM and freed in a loop, never by C recursion. */
void tasks_release_obj(Heap *h, Obj *o);
static inline void v_release(Heap *h, Value v) {
  if (v.tag == V_OBJ && --v.as.o->rc == 0) v_release_obj(h, v.as.o);
}

/* ---- labels (untrusted content) --------------------------------------- */
typedef uint8_t Label;  /* Value.label and Obj.label */
#define LABEL_NONE ((Label)0)
#define LABEL_MANY ((Label)255)  /* the origin table is full: "several untrusted sources" */
static inline Label v_label(Value v) { return v.tag == V_OBJ ? v.as.o->label : v.label; }
/* Labels form a two-point lattice (clean < untrusted); which origin a joined
 * label names is only for messages, so the first one is kept. */
static inline Label label_join(Label a, Label b) { return a ? a : b; }
/* Consumes v; returns v with its label joined with l: the object itself when
 * v is unique (rc 1), else a shallow copy (strings, lists, maps, records;
 * functions, roles and tasks are returned unchanged), so labelling never
 * reaches another holder of a shared object. An inline value's own byte is
 * set. */
Value v_with_label(Heap *h, Value v, Label l);
/* Sets label l on every string, list, map and record reachable from v, and
 * on the inline values they hold
 * (iterative), for a fresh value that came from an untrusted source and that
 * nobody else holds. */
void v_label_deep(Value v, Label l);
/* The walk behind v_label_deep (all = true) and vm_label_fresh (all =
 * false: joins l into only the parts held by their parent alone, so a part
 * another value shares is never changed). */
void v_label_walk(Value v, Label l, bool all);

/* ---- access ---------------------------------------------------------- */
static inline bool v_is(Value v, ObjKind k) { return v.tag == V_OBJ && v.as.o->kind == k; }
#define AS_STRING(v) ((ObjString *)(v).as.o)
#define AS_LIST(v)   ((ObjList *)(v).as.o)
#define AS_MAP(v)    ((ObjMap *)(v).as.o)
#define AS_RECORD(v) ((ObjRecord *)(v).as.o)
#define AS_SHAPE(v)  ((ObjShape *)(v).as.o)
#define AS_FUNC(v)   ((ObjFunc *)(v).as.o)
#define AS_ROLE(v)   ((ObjRole *)(v).as.o)

uint32_t str_hash(ObjString *s);
bool str_eq(const ObjString *a, const ObjString *b);

/* Lists. list_push_take consumes `list` and `item`; returns the list (the
 * same object when it was unique, else a copy). */
Value list_push_take(Heap *h, Value list, Value item);
Value list_concat(Heap *h, Value a, Value b);            /* new list */

/* Maps. map_get returns a BORROWED pointer to the stored value or NULL. */
Value *map_get(ObjMap *m, const ObjString *key);
Value *map_get_cstr(ObjMap *m, const char *key, size_t len);
/* Consumes `map` and `val` (not `key`); returns the updated map (in place
 * when unique). */
Value map_set_take(Heap *h, Value map, ObjString *key, Value val);
Value map_remove_take(Heap *h, Value map, const ObjString *key);

/* Records. Returns the index of a field, or -1. */
int shape_find(const ObjShape *s, const char *name, size_t len);
Value *record_get(ObjRecord *r, const ObjString *name);  /* borrowed or NULL */

/* ---- generic operations --------------------------------------------- */
/* Structural equality (records compare by field names, not order). Depth
 * beyond VALUE_MAX_DEPTH compares as unequal; the interpreter and the
 * builtins use v_equal_bounded (through vm_equal) to charge the work and
 * raise an error instead. */
bool v_equal(Value a, Value b);
/* v_equal for the interpreter: also reports values nested deeper than
 * VALUE_MAX_DEPTH (EQ_DEEP) and comparisons that would visit more than
 * `budget` nodes (EQ_COSTLY), and counts the nodes visited in *work. */
enum { EQ_NO = 0, EQ_YES = 1, EQ_DEEP = -1, EQ_COSTLY = -2 };
int v_equal_bounded(Value a, Value b, uint64_t budget, uint64_t *work);
/* Total order for sort(): none < bool < numbers < duration < string < list
 * < map < record; numbers compare numerically. Returns <0, 0, >0. */
int v_compare(Value a, Value b);
/* v_compare with v_equal_bounded's two bounds: returns 0 with the order in
 * *order, or EQ_DEEP / EQ_COSTLY (then *order is 0); counts the nodes
 * visited in *work. */
int v_compare_bounded(Value a, Value b, uint64_t budget, uint64_t *work, int *order);
const char *v_type_name(Value v);                        /* "int", "list", ... */

/* ---- rendering ------------------------------------------------------- */

/* Compact JSON (records as objects in field order, maps in insertion order,
 * durations as "30s"/"250ms" strings, functions as "<fn name>"), appended
 * to b. Returns false if the value is nested deeper than VALUE_MAX_DEPTH
 * or a float is not finite (NaN/inf have no JSON form): then b is as it
 * was and *err (malloc'd, when err is not NULL) says why. */
bool v_to_json(Buf *b, Value v, char **err);
/* An upper bound of the bytes v_to_json or v_to_display puts for v, or
 * some number above cap once the bound passes it (the walk then stops). */
uint64_t v_render_size(Value v, uint64_t cap);
/* Like v_to_json but strings render raw (used by print and interpolation). */
bool v_to_display(Buf *b, Value v, char **err);
/* Duration text: 1500 -> "1.5s", 90000 -> "1m30s", 250 -> "250ms". */
void dur_format(Buf *b, int64_t ms);

#endif
