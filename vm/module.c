/* module.c — building, writing and loading bytecode modules.
 *
 * The builder half (module_add_*) is used by the compiler's emitter and
 * deduplicates what it is given. The serializer writes the layout drawn at
 * the top of module.h; the loader reads it back without trusting a single
 * byte: every count and length is checked against the bytes that remain
 * before anything is read or allocated, and the result must then pass
 * module_verify (verify.c) before anyone may run it. */
#include "module.h"
#include "effects.h"
#include "opcodes.h"
#include "vm.h"
#include "../base/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---------------------------------------------------- */

/* Only a real malloc failure ends the process (see value.h). */
/* The tables grow by doubling without storing a capacity: the capacity of
 * a table of n entries is implied (0, then 8, 16, 32, ...), and the loader
 * allocates the same implied capacity, so a loaded module can be extended
 * like a built one. */
static uint32_t implied_cap(uint32_t n) {
  if (n == 0) return 0;
  uint32_t c = 8;
  while (c < n && c < 0x80000000u) c <<= 1;
  return c < n ? n : c;
}

static void *grow(void *p, uint32_t n, size_t elem) {
  if (n < implied_cap(n)) return p;
  return xrealloc(p, (size_t)implied_cap(n + 1) * elem);
}


static uint32_t fnv1a32(const void *data, size_t len) {
  const uint8_t *p = data;
  uint32_t h = 0x811c9dc5u;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x01000193u;
  }
  return h;
}

/* ---- building ---------------------------------------------------------- */

Module *module_new(Heap *heap) {
  Module *m = xrealloc(NULL, sizeof *m);
  memset(m, 0, sizeof *m);
  m->version = WEFTC_VERSION;
  m->main_fn = NO_INDEX;
  m->main_result = NO_INDEX;
  m->heap = heap;
  return m;
}

typedef struct TableIndex TableIndex;
static void index_free(TableIndex *x);

static void release_shape(Heap *h, ObjShape *s) {
  if (s) v_release(h, v_obj(&s->h));
}

void module_free(Module *m) {
  if (!m) return;
  for (uint32_t i = 0; i < m->nfiles; i++) free(m->files[i]);
  free(m->files);
  for (uint32_t i = 0; i < m->nconsts; i++) v_release(m->heap, m->consts[i]);
  free(m->consts);
  free(m->const_kinds);
  index_free(m->const_index);
  index_free(m->type_index);
  for (uint32_t i = 0; i < m->nnatives; i++) free(m->native_names[i]);
  free(m->native_names);
  free(m->natives);
  for (uint32_t i = 0; i < m->ntypes; i++) {
    free(m->types[i].members);
    free(m->types[i].fields);
    release_shape(m->heap, m->types[i].shape);
  }
  free(m->types);
  for (uint32_t i = 0; i < m->nfuncs; i++) {
    free(m->funcs[i].name);
    free(m->funcs[i].code);
    free(m->funcs[i].lines);
  }
  free(m->funcs);
  for (uint32_t i = 0; i < m->nparams; i++) free(m->params[i].name);
  free(m->params);
  for (uint32_t i = 0; i < m->nroles; i++) {
    free(m->roles[i].name);
    free(m->roles[i].model);
    free(m->roles[i].system);
    for (uint32_t k = 0; k < m->roles[i].nstop; k++) free(m->roles[i].stop[k]);
    free(m->roles[i].stop);
    for (uint32_t k = 0; k < m->roles[i].ntools; k++) {
      free(m->roles[i].tools[k].name);
      free(m->roles[i].tools[k].doc);
    }
    free(m->roles[i].tools);
  }
  free(m->roles);
  for (uint32_t i = 0; i < m->nretired; i++) free(m->retired[i]);
  free(m->retired);
  free(m);
}

static bool same_string(const ObjString *a, const ObjString *b) {
  return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Whether constant i (of kind k) holds the same value as v: the builder's
 * deduplication, and the writer's lookup of shape member names. */
static bool const_matches(const Module *m, uint32_t i, ConstKind k, Value v) {
  if (m->const_kinds[i] != k) return false;
  Value c = m->consts[i];
  switch (k) {
  case K_INT: case K_DURATION: return c.as.i == v.as.i;
  case K_BOOL: return c.as.b == v.as.b;
  case K_FLOAT: return memcmp(&c.as.f, &v.as.f, sizeof(double)) == 0;
  case K_STRING: return same_string(AS_STRING(c), AS_STRING(v));
  case K_SHAPE: {
    ObjShape *a = AS_SHAPE(c), *b = AS_SHAPE(v);
    if (a->n != b->n) return false;
    for (uint32_t j = 0; j < a->n; j++)
      if (!same_string(a->names[j], b->names[j])) return false;
    return true;
  }
  }
  return false;
}

/* ---- deduplication ----------------------------------------------------- */

/* The builder deduplicates constants and descriptors through hash tables
 * (open addressing, slots hold index + 1) so that adding n entries costs
 * O(n), not O(n^2): a generated program may have tens of thousands. An
 * index holds every entry 0 .. n-1 of its table (equal ones too: a lookup
 * meets the smallest index first, as entries go in in order), is built on
 * the first lookup and then follows each addition. */
struct TableIndex {
  uint32_t *slots;
  uint32_t cap, n;
  uint64_t (*hash_of)(const Module *m, uint32_t i);  /* entry i's hash */
};

static void index_place(const Module *m, TableIndex *x, uint32_t i) {
  size_t h = (size_t)x->hash_of(m, i) & (x->cap - 1);
  while (x->slots[h]) h = (h + 1) & (x->cap - 1);
  x->slots[h] = i + 1;
}

/* Indexes entry x->n, the next of the table. */
static void index_add(const Module *m, TableIndex *x) {
  if ((x->n + 1) * 2 > x->cap) {
    free(x->slots);
    x->cap *= 2;
    x->slots = xcalloc(x->cap, sizeof(uint32_t));
    for (uint32_t i = 0; i < x->n; i++) index_place(m, x, i);
  }
  index_place(m, x, x->n++);
}

static TableIndex *index_build(const Module *m, uint64_t (*hash_of)(const Module *, uint32_t), uint32_t n) {
  TableIndex *x = xcalloc(1, sizeof *x);
  x->hash_of = hash_of;
  x->cap = 64;
  x->slots = xcalloc(x->cap, sizeof(uint32_t));
  while (x->n < n) index_add(m, x);
  return x;
}

static void index_free(TableIndex *x) {
  if (!x) return;
  free(x->slots);
  free(x);
}

/* A lookup walks the slots from the hash's home: `for (s = index_home(x, h);
 * x->slots[s]; s = index_next(x, s))`, entry x->slots[s] - 1. */
static uint32_t index_home(const TableIndex *x, uint64_t h) { return (uint32_t)h & (x->cap - 1); }
static uint32_t index_next(const TableIndex *x, uint32_t s) { return (s + 1) & (x->cap - 1); }

static uint64_t const_hash(ConstKind k, Value v) {
  uint64_t h = fnv1a64(FNV64_INIT, &(uint8_t){ (uint8_t)k }, 1);
  switch (k) {
  case K_INT: case K_DURATION: return fnv1a64(h, &v.as.i, sizeof v.as.i);
  case K_FLOAT: return fnv1a64(h, &v.as.f, sizeof v.as.f);
  case K_BOOL: return fnv1a64(h, &(uint8_t){ v.as.b ? 1 : 0 }, 1);
  case K_STRING: return fnv1a64(h, AS_STRING(v)->data, AS_STRING(v)->len);
  case K_SHAPE: {
    ObjShape *s = AS_SHAPE(v);
    h = fnv1a64(h, &s->n, sizeof s->n);
    for (uint32_t j = 0; j < s->n; j++) {
      h = fnv1a64(h, &s->names[j]->len, sizeof s->names[j]->len);
      h = fnv1a64(h, s->names[j]->data, s->names[j]->len);
    }
    return h;
  }
  }
  return h;
}

static uint64_t const_hash_of(const Module *m, uint32_t i) {
  return const_hash((ConstKind)m->const_kinds[i], m->consts[i]);
}

static uint32_t index_find(const Module *m, const TableIndex *x, ConstKind k, Value v) {
  for (uint32_t s = index_home(x, const_hash(k, v)); x->slots[s]; s = index_next(x, s))
    if (const_matches(m, x->slots[s] - 1, k, v)) return x->slots[s] - 1;
  return NO_INDEX;
}

static uint32_t find_const(Module *m, ConstKind k, Value v) {
  if (!m->const_index) m->const_index = index_build(m, const_hash_of, m->nconsts);
  return index_find(m, m->const_index, k, v);
}

static uint32_t push_const(Module *m, ConstKind kind, Value v) {
  m->consts = grow(m->consts, m->nconsts, sizeof(Value));
  m->const_kinds = grow(m->const_kinds, m->nconsts, 1);
  m->consts[m->nconsts] = v;
  m->const_kinds[m->nconsts] = (uint8_t)kind;
  m->nconsts++;
  if (m->const_index) index_add(m, m->const_index);
  return m->nconsts - 1;
}

/* A shape constant's member names must be string constants at smaller
 * indices (the file stores indices), so they are added first. */
uint32_t module_add_const(Module *m, ConstKind kind, Value v) {
  uint32_t i = find_const(m, kind, v);
  if (i != NO_INDEX) {
    v_release(m->heap, v);
    return i;
  }
  if (kind == K_SHAPE) {
    ObjShape *s = AS_SHAPE(v);
    for (uint32_t j = 0; j < s->n; j++) module_add_string(m, s->names[j]->data, s->names[j]->len);
  }
  return push_const(m, kind, v);
}

uint32_t module_add_string(Module *m, const char *s, size_t len) {
  Value v = v_string(m->heap, s, len);
  uint32_t i = find_const(m, K_STRING, v);
  if (i != NO_INDEX) {
    v_release(m->heap, v);
    return i;
  }
  return push_const(m, K_STRING, v);
}

const Native *native_find(const NativeTable *t, const char *key) {
  if (!t || !key) return NULL;
  for (uint32_t i = 0; i < t->n; i++)
    if (strcmp(t->entries[i].key, key) == 0) return &t->entries[i];
  return NULL;
}

uint32_t module_add_native(Module *m, const char *name) {
  for (uint32_t i = 0; i < m->nnatives; i++)
    if (strcmp(m->native_names[i], name) == 0) return i;
  m->native_names = grow(m->native_names, m->nnatives, sizeof(char *));
  m->natives = grow((void *)m->natives, m->nnatives, sizeof(struct Native *));
  m->native_names[m->nnatives] = xstrndup(name, strlen(name));
  m->natives[m->nnatives] = NULL; /* the caller resolves it */
  return m->nnatives++;
}

static bool td_equal(const TypeDesc *a, const TypeDesc *b) {
  if (a->kind != b->kind || a->doc != b->doc || a->name != b->name) return false;
  switch (a->kind) {
  case TD_LIST: case TD_MAP: case TD_OPTIONAL: return a->elem == b->elem;
  case TD_RANGE: return a->elem == b->elem && a->lo == b->lo && a->hi == b->hi;
  case TD_ENUM: case TD_TAGGED:
    return a->n == b->n && (a->n == 0 || memcmp(a->members, b->members, a->n * sizeof(uint32_t)) == 0);
  case TD_RECORD:
    if (a->n != b->n) return false;
    for (uint32_t i = 0; i < a->n; i++)
      if (a->fields[i].name != b->fields[i].name || a->fields[i].type != b->fields[i].type ||
          a->fields[i].doc != b->fields[i].doc)
        return false;
    return true;
  default: return true;
  }
}

/* A record descriptor carries the shape its records are built with
 * (from_json, model output). Its names must already be valid string
 * constants: the loader calls this only after module_verify. */
static ObjShape *record_shape(Module *m, const TypeDesc *td) {
  ObjShape *s = shape_new(m->heap, td->n);
  for (uint32_t i = 0; i < td->n; i++) {
    uint32_t k = td->fields[i].name;
    if (k < m->nconsts && m->const_kinds[k] == K_STRING) {
      s->names[i] = AS_STRING(m->consts[k]);
      s->names[i]->h.rc++;
    } else {
      s->names[i] = str_alloc(m->heap, 0);
    }
  }
  return s;
}

/* What td_equal compares, hashed. */
static uint64_t td_hash(const TypeDesc *d) {
  uint32_t head[3] = {d->kind, d->doc, d->name};
  uint64_t h = fnv1a64(FNV64_INIT, head, sizeof head);
  switch (d->kind) {
  case TD_LIST: case TD_MAP: case TD_OPTIONAL: return fnv1a64(h, &d->elem, sizeof d->elem);
  case TD_RANGE: {
    uint32_t r[3] = {d->elem, d->lo, d->hi};
    return fnv1a64(h, r, sizeof r);
  }
  case TD_ENUM: case TD_TAGGED: return d->n ? fnv1a64(h, d->members, d->n * sizeof(uint32_t)) : h;
  case TD_RECORD:
    for (uint32_t i = 0; i < d->n; i++) {
      uint32_t f[3] = {d->fields[i].name, d->fields[i].type, d->fields[i].doc};
      h = fnv1a64(h, f, sizeof f);
    }
    return h;
  default: return h;
  }
}

const ObjString *module_variant_tag(const Module *m, uint32_t rec) {
  if (rec >= m->ntypes) return NULL;
  const TypeDesc *r = &m->types[rec];
  if (r->kind != TD_RECORD || r->n == 0 || !r->fields) return NULL;
  uint32_t name = r->fields[0].name, et = r->fields[0].type;
  if (name >= m->nconsts || m->const_kinds[name] != K_STRING || et >= rec) return NULL;
  const ObjString *fn = AS_STRING(m->consts[name]);
  if (fn->len != 4 || memcmp(fn->data, "type", 4) != 0) return NULL;
  const TypeDesc *e = &m->types[et];
  if (e->kind != TD_ENUM || e->n != 1 || !e->members) return NULL;
  uint32_t k = e->members[0];
  if (k >= m->nconsts || m->const_kinds[k] != K_STRING) return NULL;
  return AS_STRING(m->consts[k]);
}

static uint64_t td_hash_of(const Module *m, uint32_t i) { return td_hash(&m->types[i]); }

uint32_t module_add_type(Module *m, const TypeDesc *td) {
  if (!m->type_index) m->type_index = index_build(m, td_hash_of, m->ntypes);
  TableIndex *x = m->type_index;
  for (uint32_t s = index_home(x, td_hash(td)); x->slots[s]; s = index_next(x, s))
    if (td_equal(&m->types[x->slots[s] - 1], td)) return x->slots[s] - 1;
  m->types = grow(m->types, m->ntypes, sizeof(TypeDesc));
  TypeDesc *d = &m->types[m->ntypes];
  *d = *td;
  d->members = NULL;
  d->fields = NULL;
  d->shape = NULL;
  if (td->kind != TD_LIST && td->kind != TD_MAP && td->kind != TD_OPTIONAL && td->kind != TD_RANGE) d->elem = NO_INDEX;
  if (td->kind != TD_RANGE) d->lo = d->hi = NO_INDEX;
  if (td->kind == TD_ENUM || td->kind == TD_TAGGED) {
    d->members = xrealloc(NULL, (size_t)td->n * sizeof(uint32_t));
    if (td->n) memcpy(d->members, td->members, td->n * sizeof(uint32_t));
  } else if (td->kind == TD_RECORD) {
    d->fields = xrealloc(NULL, (size_t)td->n * sizeof(TypeField));
    if (td->n) memcpy(d->fields, td->fields, td->n * sizeof(TypeField));
    d->shape = record_shape(m, d);
  } else {
    d->n = 0;
  }
  m->ntypes++;
  index_add(m, x);
  return m->ntypes - 1;
}

uint32_t module_add_file(Module *m, const char *path) {
  for (uint32_t i = 0; i < m->nfiles; i++)
    if (strcmp(m->files[i], path) == 0) return i;
  m->files = grow(m->files, m->nfiles, sizeof(char *));
  m->files[m->nfiles] = xstrndup(path, strlen(path));
  return m->nfiles++;
}

/* Roles are not deduplicated: two declarations are two roles, even with
 * equal settings (each has its own name, journal entries and re-mapping). */
uint32_t module_add_role(Module *m, const RoleDesc *r) {
  m->roles = grow(m->roles, m->nroles, sizeof(RoleDesc));
  RoleDesc *d = &m->roles[m->nroles];
  *d = *r;
  d->name = xstrndup(r->name ? r->name : "", r->name ? strlen(r->name) : 0);
  d->model = xstrndup(r->model ? r->model : "", r->model ? strlen(r->model) : 0);
  d->system = r->system ? xstrndup(r->system, strlen(r->system)) : NULL;
  d->stop = r->nstop ? xcalloc(r->nstop, sizeof *d->stop) : NULL;
  for (uint32_t k = 0; k < r->nstop; k++) d->stop[k] = xstrdup(r->stop[k]);
  d->tools = r->ntools ? xcalloc(r->ntools, sizeof *d->tools) : NULL;
  for (uint32_t k = 0; k < r->ntools; k++) {
    d->tools[k].name = xstrdup(r->tools[k].name ? r->tools[k].name : "");
    d->tools[k].doc = xstrdup(r->tools[k].doc ? r->tools[k].doc : "");
    d->tools[k].params = r->tools[k].params;
  }
  return m->nroles++;
}

/* ---- linking ------------------------------------------------------------ */

/* Writes a 16-bit operand (little-endian, as op_read_u16 reads it). */
static void put_u16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v & 0xff);
  p[1] = (uint8_t)(v >> 8);
}

/* Rewrites the index operands of code[0..len) (a verified function of
 * src) through the link's maps. */
static void relocate(uint8_t *code, uint32_t len, const uint32_t *cmap, const uint32_t *tmap,
                     const uint32_t *nmap, uint32_t fbase, uint32_t rbase) {
  for (uint32_t pc = 0; pc < len; pc += op_info[code[pc]].size) {
    /* operand a is a u16 right after the opcode, b (ASK, GENERATE) the next u16;
     * only the opcodes below have indexes to move */
    uint8_t *a = code + pc + 1, *b = code + pc + 3;
    switch ((Opcode)code[pc]) {
    case OP_CONST: case OP_RECORD: case OP_GET_FIELD: case OP_WITH: put_u16(a, cmap[op_read_u16(a)]); break;
    case OP_FUNC: case OP_CLOSURE: put_u16(a, op_read_u16(a) + fbase); break;
    case OP_CALL_NATIVE: put_u16(a, nmap[op_read_u16(a)]); break;
    case OP_FROM_JSON: put_u16(a, tmap[op_read_u16(a)]); break;
    case OP_ASK: case OP_STEP: {
      uint32_t y = op_read_u16(b);
      put_u16(a, op_read_u16(a) + rbase);
      if (y != ASK_TEXT) put_u16(b, tmap[y]);
      break;
    }
    case OP_GENERATE: { /* a role, b the parameters' record, c (the third u16) the result */
      uint8_t *c = code + pc + 5;
      put_u16(a, op_read_u16(a) + rbase);
      put_u16(b, tmap[op_read_u16(b)]);
      if (op_read_u16(c) != GEN_NO_RESULT) put_u16(c, tmap[op_read_u16(c)]);
      break;
    }
    case OP_ROLE: put_u16(a, op_read_u16(a) + rbase); break;
    case OP_ASK_ROLE: /* a is the reply descriptor; b (a byte) is a flag */
      if (op_read_u16(a) != ASK_TEXT) put_u16(a, tmap[op_read_u16(a)]);
      break;
    default: break;
    }
  }
}

static uint32_t map_const(const uint32_t *cmap, uint32_t k) { return k == NO_INDEX ? NO_INDEX : cmap[k]; }

bool module_link(Module *dst, const Module *src, uint32_t *main, char **err) {
  *err = NULL;
  if (src->main_fn == NO_INDEX || src->main_fn >= src->nfuncs) {
    *err = xasprintf("the module has no main function");
    return false;
  }
  /* every index must stay a 16-bit operand (ASK_TEXT and GEN_NO_RESULT
   * are no type); sharing
   * equal entries only lowers the counts */
  if ((uint64_t)dst->nconsts + src->nconsts > 0x10000 || (uint64_t)dst->ntypes + src->ntypes >= ASK_TEXT ||
      (uint64_t)dst->nfuncs + src->nfuncs > 0x10000 || (uint64_t)dst->nroles + src->nroles > 0x10000 ||
      (uint64_t)dst->nnatives + src->nnatives > 0x10000) {
    *err = xasprintf("the linked program would exceed the bytecode's limits (65,536 functions, constants, "
                      "types, roles and natives)");
    return false;
  }
  uint32_t *cmap = xcalloc(src->nconsts ? src->nconsts : 1, sizeof *cmap);
  uint32_t *tmap = xcalloc(src->ntypes ? src->ntypes : 1, sizeof *tmap);
  uint32_t *nmap = xcalloc(src->nnatives ? src->nnatives : 1, sizeof *nmap);
  uint32_t *filemap = xcalloc(src->nfiles ? src->nfiles : 1, sizeof *filemap);
  for (uint32_t i = 0; i < src->nconsts; i++) {
    Value v = src->consts[i];
    ConstKind k = (ConstKind)src->const_kinds[i];
    if (k == K_STRING) {
      cmap[i] = module_add_string(dst, AS_STRING(v)->data, AS_STRING(v)->len);
    } else if (k == K_SHAPE) { /* rebuilt on dst's heap, from dst's strings */
      ObjShape *from = AS_SHAPE(v), *s = shape_new(dst->heap, from->n);
      for (uint32_t j = 0; j < from->n; j++) {
        uint32_t n = module_add_string(dst, from->names[j]->data, from->names[j]->len);
        s->names[j] = AS_STRING(dst->consts[n]);
        s->names[j]->h.rc++;
      }
      cmap[i] = module_add_const(dst, K_SHAPE, v_obj(&s->h));
    } else { /* ints, floats, durations, bools: no heap */
      cmap[i] = module_add_const(dst, k, v);
    }
  }
  for (uint32_t i = 0; i < src->nnatives; i++) {
    nmap[i] = module_add_native(dst, src->native_names[i]);
    if (!dst->natives[nmap[i]]) dst->natives[nmap[i]] = src->natives[i];
  }
  for (uint32_t i = 0; i < src->ntypes; i++) { /* a descriptor refers only to smaller ones */
    const TypeDesc *from = &src->types[i];
    TypeDesc td = *from;
    td.shape = NULL;
    td.doc = map_const(cmap, from->doc);
    td.name = map_const(cmap, from->name);
    if (from->kind == TD_LIST || from->kind == TD_MAP || from->kind == TD_OPTIONAL || from->kind == TD_RANGE)
      td.elem = tmap[from->elem];
    if (from->kind == TD_RANGE) {
      td.lo = map_const(cmap, from->lo);
      td.hi = map_const(cmap, from->hi);
    }
    uint32_t *members = NULL;
    TypeField *fields = NULL;
    if (from->kind == TD_ENUM) {
      members = xcalloc(from->n ? from->n : 1, sizeof *members);
      for (uint32_t j = 0; j < from->n; j++) members[j] = cmap[from->members[j]];
      td.members = members;
    } else if (from->kind == TD_TAGGED) {
      members = xcalloc(from->n ? from->n : 1, sizeof *members);
      for (uint32_t j = 0; j < from->n; j++) members[j] = tmap[from->members[j]];
      td.members = members;
    } else if (from->kind == TD_RECORD) {
      fields = xcalloc(from->n ? from->n : 1, sizeof *fields);
      for (uint32_t j = 0; j < from->n; j++) {
        fields[j].name = cmap[from->fields[j].name];
        fields[j].type = tmap[from->fields[j].type];
        fields[j].doc = map_const(cmap, from->fields[j].doc);
      }
      td.fields = fields;
    }
    tmap[i] = module_add_type(dst, &td);
    free(members);
    free(fields);
  }
  for (uint32_t i = 0; i < src->nfiles; i++) filemap[i] = module_add_file(dst, src->files[i]);
  uint32_t rbase = dst->nroles;
  if (src->nroles && dst->nroles) {
    /* calls in flight hold pointers into the role table: it must not move,
     * so the new roles go into a copy and the old table lives on */
    RoleDesc *copy = xcalloc(implied_cap(dst->nroles), sizeof *copy);
    memcpy(copy, dst->roles, (size_t)dst->nroles * sizeof *copy);
    dst->retired = xrealloc(dst->retired, ((size_t)dst->nretired + 1) * sizeof *dst->retired);
    dst->retired[dst->nretired++] = dst->roles;
    dst->roles = copy;
  }
  for (uint32_t i = 0; i < src->nroles; i++) {
    RoleDesc *d = &dst->roles[module_add_role(dst, &src->roles[i])];
    for (uint32_t k = 0; k < d->ntools; k++)
      d->tools[k].params = d->tools[k].params < src->ntypes ? tmap[d->tools[k].params] : d->tools[k].params;
  }
  uint32_t fbase = dst->nfuncs;
  for (uint32_t i = 0; i < src->nfuncs; i++) {
    const FuncProto *from = &src->funcs[i];
    dst->funcs = grow(dst->funcs, dst->nfuncs, sizeof(FuncProto));
    FuncProto *p = &dst->funcs[dst->nfuncs++];
    *p = *from;
    p->name = xstrdup(from->name ? from->name : "?");
    p->file = from->file < src->nfiles ? filemap[from->file] : NO_INDEX;
    p->code = xmalloc(from->code_len ? from->code_len : 1);
    if (from->code_len) memcpy(p->code, from->code, from->code_len);
    p->lines = xmalloc(from->nlines ? (size_t)from->nlines * sizeof(LineEntry) : 1);
    if (from->nlines) memcpy(p->lines, from->lines, (size_t)from->nlines * sizeof(LineEntry));
    relocate(p->code, p->code_len, cmap, tmap, nmap, fbase, rbase);
  }
  *main = src->main_fn + fbase;
  free(cmap);
  free(tmap);
  free(nmap);
  free(filemap);
  return true;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct Writer { uint8_t *p; size_t len, cap; } Writer;

static void w_bytes(Writer *w, const void *d, size_t n) {
  if (w->len + n > w->cap) {
    size_t c = w->cap ? w->cap : 256;
    while (c < w->len + n) c *= 2;
    w->p = xrealloc(w->p, c);
    w->cap = c;
  }
  if (n) memcpy(w->p + w->len, d, n);
  w->len += n;
}

static void w_uint(Writer *w, uint64_t v, int bytes) {
  uint8_t b[8];
  for (int i = 0; i < bytes; i++) b[i] = (uint8_t)(v >> (8 * i));
  w_bytes(w, b, (size_t)bytes);
}
static void w_u8(Writer *w, uint32_t v) { w_uint(w, v, 1); }
static void w_u16(Writer *w, uint32_t v) { w_uint(w, v, 2); }
static void w_u32(Writer *w, uint32_t v) { w_uint(w, v, 4); }
static void w_u64(Writer *w, uint64_t v) { w_uint(w, v, 8); }
static void w_str(Writer *w, const char *s, size_t n) {
  w_u32(w, (uint32_t)n);
  w_bytes(w, s, n);
}
static void w_cstr(Writer *w, const char *s) {
  if (!s) s = "";
  w_str(w, s, strlen(s));
}

/* idx: an index of m's constants (shape members are written as the
 * indices of their string constants). */
static void write_const(Writer *w, const Module *m, const TableIndex *idx, uint32_t i) {
  Value v = m->consts[i];
  w_u8(w, m->const_kinds[i]);
  switch ((ConstKind)m->const_kinds[i]) {
  case K_INT: case K_DURATION: w_u64(w, (uint64_t)v.as.i); break;
  case K_BOOL: w_u8(w, v.as.b ? 1 : 0); break;
  case K_FLOAT: {
    uint64_t bits;
    memcpy(&bits, &v.as.f, sizeof bits);
    w_u64(w, bits);
    break;
  }
  case K_STRING: w_str(w, AS_STRING(v)->data, AS_STRING(v)->len); break;
  case K_SHAPE: {
    ObjShape *s = AS_SHAPE(v);
    w_u32(w, s->n);
    for (uint32_t j = 0; j < s->n; j++)
      w_u32(w, index_find(m, idx, K_STRING, v_obj(&s->names[j]->h)));
    break;
  }
  }
}

static void write_type(Writer *w, const TypeDesc *t) {
  w_u8(w, t->kind);
  switch (t->kind) {
  case TD_LIST: case TD_MAP: case TD_OPTIONAL: w_u32(w, t->elem); break;
  case TD_RANGE:
    w_u32(w, t->elem);
    w_u32(w, t->lo);
    w_u32(w, t->hi);
    break;
  case TD_ENUM: case TD_TAGGED:
    w_u32(w, t->n);
    for (uint32_t j = 0; j < t->n; j++) w_u32(w, t->members[j]);
    break;
  case TD_RECORD:
    w_u32(w, t->n);
    for (uint32_t j = 0; j < t->n; j++) {
      w_u32(w, t->fields[j].name);
      w_u32(w, t->fields[j].type);
      w_u32(w, t->fields[j].doc);
    }
    break;
  default: break;
  }
  w_u32(w, t->doc);
  w_u32(w, t->name);
}

static void write_func(Writer *w, const FuncProto *f) {
  w_cstr(w, f->name);
  w_u32(w, f->file);
  w_u32(w, f->line);
  w_u16(w, f->arity);
  w_u16(w, f->ncaptures);
  w_u16(w, f->nlocals);
  w_u16(w, f->max_stack);
  w_u32(w, f->code_len);
  w_bytes(w, f->code, f->code_len);
  w_u32(w, f->nlines);
  for (uint32_t j = 0; j < f->nlines; j++) {
    w_u32(w, f->lines[j].pc);
    w_u32(w, f->lines[j].line);
    w_u32(w, f->lines[j].col);
  }
}

static void w_f64(Writer *w, double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  w_u64(w, bits);
}

static void write_role(Writer *w, const RoleDesc *r) {
  w_cstr(w, r->name);
  w_cstr(w, r->model);
  /* bit 0: a system prompt follows; bit 1: stop sequences follow (a
   * module without them is byte for byte what it was before stop existed) */
  w_u8(w, (r->system ? 1 : 0) | (r->nstop ? 2 : 0) | (r->ntools ? 4 : 0));
  if (r->system) w_cstr(w, r->system);
  if (r->nstop) {
    w_u8(w, r->nstop);
    for (uint32_t k = 0; k < r->nstop; k++) w_cstr(w, r->stop[k]);
  }
  w_f64(w, r->temperature);
  w_f64(w, r->top_p);
  w_u64(w, (uint64_t)r->max_tokens);
  w_u64(w, (uint64_t)r->timeout_ms);
  w_u32(w, (uint32_t)r->retries);
  w_u32(w, (uint32_t)r->repairs);
  if (r->ntools) {
    w_u32(w, r->max_steps);
    w_u8(w, (uint8_t)r->ntools);
    for (uint32_t k = 0; k < r->ntools; k++) {
      w_cstr(w, r->tools[k].name);
      w_cstr(w, r->tools[k].doc);
      w_u32(w, r->tools[k].params);
    }
  }
}

uint8_t *module_write(const Module *m, size_t *len) {
  Writer w = { NULL, 0, 0 };
  w_bytes(&w, WEFTC_MAGIC, 8);
  w_u16(&w, WEFTC_VERSION);
  w_u16(&w, 0);
  w_u64(&w, m->source_hash);
  w_u32(&w, m->nfiles);
  for (uint32_t i = 0; i < m->nfiles; i++) w_cstr(&w, m->files[i]);
  w_u32(&w, m->nconsts);
  TableIndex *idx = m->const_index ? m->const_index : index_build(m, const_hash_of, m->nconsts);
  for (uint32_t i = 0; i < m->nconsts; i++) write_const(&w, m, idx, i);
  if (idx != m->const_index) index_free(idx);
  w_u32(&w, m->nnatives);
  for (uint32_t i = 0; i < m->nnatives; i++) w_cstr(&w, m->native_names[i]);
  w_u32(&w, m->ntypes);
  for (uint32_t i = 0; i < m->ntypes; i++) write_type(&w, &m->types[i]);
  w_u32(&w, m->nfuncs);
  for (uint32_t i = 0; i < m->nfuncs; i++) write_func(&w, &m->funcs[i]);
  w_u32(&w, m->nroles);
  for (uint32_t i = 0; i < m->nroles; i++) write_role(&w, &m->roles[i]);
  w_u32(&w, m->main_fn);
  w_u32(&w, m->main_result);
  w_u32(&w, m->nparams);
  for (uint32_t i = 0; i < m->nparams; i++) {
    w_cstr(&w, m->params[i].name);
    w_u32(&w, m->params[i].type);
    w_u32(&w, m->params[i].def);
  }
  w_u32(&w, fnv1a32(w.p, w.len));
  *len = w.len;
  return w.p;
}

/* ---- loading --------------------------------------------------------------- */

/* A cursor over untrusted bytes. The first error sticks; every read after
 * it fails, so the parsing code can check once per item. */
typedef struct Reader {
  const uint8_t *p;
  size_t left;
  char *err;
  const NativeTable *natives;  /* what native names resolve against */
} Reader;

static bool rd_fail(Reader *r, const char *what) {
  if (!r->err) r->err = xasprintf("truncated or malformed module: %s", what);
  return false;
}

static bool rd_need(Reader *r, size_t n, const char *what) {
  if (r->err) return false;
  if (r->left < n) return rd_fail(r, what);
  return true;
}

static uint64_t rd_uint(Reader *r, int bytes, const char *what) {
  if (!rd_need(r, (size_t)bytes, what)) return 0;
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v |= (uint64_t)r->p[i] << (8 * i);
  r->p += bytes;
  r->left -= (size_t)bytes;
  return v;
}
static uint32_t rd_u8(Reader *r, const char *what) { return (uint32_t)rd_uint(r, 1, what); }
static uint16_t rd_u16(Reader *r, const char *what) { return (uint16_t)rd_uint(r, 2, what); }
static uint32_t rd_u32(Reader *r, const char *what) { return (uint32_t)rd_uint(r, 4, what); }
static uint64_t rd_u64(Reader *r, const char *what) { return rd_uint(r, 8, what); }

/* A count of items each at least `min_size` bytes long: a count the
 * remaining bytes cannot possibly hold is rejected before any allocation. */
static uint32_t rd_count(Reader *r, size_t min_size, const char *what) {
  uint32_t n = rd_u32(r, what);
  if (r->err) return 0;
  if ((uint64_t)n * min_size > r->left) {
    rd_fail(r, what);
    return 0;
  }
  return n;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n) {
  for (size_t i = 0, len; i < n; i += len)
    if ((len = utf8_seq_len(s + i, n - i)) == 0) return false;
  return true;
}

/* Borrows the bytes of a string in place; names (allow_nul false) may not
 * contain NUL since they are used as C strings. */
static bool rd_span(Reader *r, const uint8_t **s, uint32_t *n, bool allow_nul, const char *what) {
  *n = rd_u32(r, what);
  if (!rd_need(r, *n, what)) return false;
  *s = r->p;
  if (!utf8_valid(*s, *n) || (!allow_nul && memchr(*s, 0, *n))) {
    if (!r->err) r->err = xasprintf("malformed module: %s is not a valid UTF-8 name", what);
    return false;
  }
  r->p += *n;
  r->left -= *n;
  return true;
}

static char *rd_name(Reader *r, const char *what) {
  const uint8_t *s;
  uint32_t n;
  if (!rd_span(r, &s, &n, false, what)) return NULL;
  return xstrndup((const char *)s, n);
}

static bool load_const(Reader *r, Module *m) {
  uint32_t i = m->nconsts;
  uint32_t kind = rd_u8(r, "constant kind");
  if (r->err) return false;
  Value v;
  switch (kind) {
  case K_INT: v = v_int((int64_t)rd_u64(r, "int constant")); break;
  case K_DURATION: v = v_duration((int64_t)rd_u64(r, "duration constant")); break;
  case K_BOOL: {
    uint32_t b = rd_u8(r, "bool constant");
    if (!r->err && b > 1) {
      r->err = xasprintf("malformed module: constant %u: bool is %u", i, b);
      return false;
    }
    v = v_bool(b != 0);
    break;
  }
  case K_FLOAT: {
    uint64_t bits = rd_u64(r, "float constant");
    double f;
    memcpy(&f, &bits, sizeof f);
    v = v_float(f);
    break;
  }
  case K_STRING: {
    const uint8_t *s;
    uint32_t n;
    if (!rd_span(r, &s, &n, true, "string constant")) return false;
    v = v_string(m->heap, (const char *)s, n);
    break;
  }
  case K_SHAPE: {
    uint32_t n = rd_count(r, 4, "shape constant");
    if (r->err) return false;
    ObjShape *s = shape_new(m->heap, n);
    for (uint32_t j = 0; j < n; j++) {
      uint32_t k = rd_u32(r, "shape member");
      if (k >= i || m->const_kinds[k] != K_STRING) {
        if (!r->err)
          r->err = xasprintf("malformed module: constant %u: shape member %u is not an earlier string constant", i, k);
        release_shape(m->heap, s);
        return false;
      }
      s->names[j] = AS_STRING(m->consts[k]);
      s->names[j]->h.rc++;
    }
    v = v_obj(&s->h);
    break;
  }
  default:
    r->err = xasprintf("malformed module: constant %u has unknown kind %u", i, kind);
    return false;
  }
  if (r->err) return false;
  m->consts[i] = v;
  m->const_kinds[i] = (uint8_t)kind;
  m->nconsts++;
  return true;
}

static bool load_type(Reader *r, Module *m) {
  uint32_t i = m->ntypes;
  TypeDesc *t = &m->types[i];
  memset(t, 0, sizeof *t);
  t->elem = t->lo = t->hi = NO_INDEX;
  t->kind = (uint8_t)rd_u8(r, "type descriptor");
  if (r->err) return false;
  if (t->kind >= TD__COUNT) {
    r->err = xasprintf("malformed module: type descriptor %u has unknown kind %u", i, t->kind);
    return false;
  }
  m->ntypes++; /* from here on module_free owns the arrays */
  switch (t->kind) {
  case TD_LIST: case TD_MAP: case TD_OPTIONAL: t->elem = rd_u32(r, "type descriptor"); break;
  case TD_RANGE:
    t->elem = rd_u32(r, "range descriptor");
    t->lo = rd_u32(r, "range descriptor");
    t->hi = rd_u32(r, "range descriptor");
    break;
  case TD_ENUM: case TD_TAGGED:
    t->n = rd_count(r, 4, "enum descriptor");
    if (r->err) return false;
    t->members = xrealloc(NULL, (size_t)t->n * sizeof(uint32_t));
    for (uint32_t j = 0; j < t->n; j++) t->members[j] = rd_u32(r, "enum member");
    break;
  case TD_RECORD:
    t->n = rd_count(r, 12, "record descriptor");
    if (r->err) return false;
    t->fields = xrealloc(NULL, (size_t)t->n * sizeof(TypeField));
    for (uint32_t j = 0; j < t->n; j++) {
      t->fields[j].name = rd_u32(r, "record field");
      t->fields[j].type = rd_u32(r, "record field");
      t->fields[j].doc = rd_u32(r, "record field");
    }
    break;
  default: break;
  }
  t->doc = rd_u32(r, "type descriptor doc");
  t->name = rd_u32(r, "type descriptor name");
  return !r->err;
}

static bool load_func(Reader *r, Module *m) {
  FuncProto *f = &m->funcs[m->nfuncs];
  memset(f, 0, sizeof *f);
  f->name = rd_name(r, "function name");
  if (!f->name) return false;
  m->nfuncs++; /* from here on module_free owns name, code and lines */
  f->file = rd_u32(r, "function");
  f->line = rd_u32(r, "function");
  f->arity = rd_u16(r, "function");
  f->ncaptures = rd_u16(r, "function");
  f->nlocals = rd_u16(r, "function");
  f->max_stack = rd_u16(r, "function");
  f->code_len = rd_count(r, 1, "function code");
  if (r->err) return false;
  f->code = xrealloc(NULL, f->code_len);
  if (f->code_len) memcpy(f->code, r->p, f->code_len);
  r->p += f->code_len;
  r->left -= f->code_len;
  f->nlines = rd_count(r, 12, "line table");
  if (r->err) return false;
  f->lines = xrealloc(NULL, (size_t)f->nlines * sizeof(LineEntry));
  for (uint32_t j = 0; j < f->nlines; j++) {
    f->lines[j].pc = rd_u32(r, "line table");
    f->lines[j].line = rd_u32(r, "line table");
    f->lines[j].col = rd_u32(r, "line table");
  }
  return !r->err;
}

/* Strings are checked here (UTF-8, no NUL: they are used as C strings);
 * what the values mean (a '/' in the model, ranges) is module_verify's. */
static bool load_role(Reader *r, Module *m) {
  RoleDesc *d = &m->roles[m->nroles];
  memset(d, 0, sizeof *d);
  d->name = rd_name(r, "role name");
  if (!d->name) return false;
  m->nroles++; /* from here on module_free owns the strings */
  d->model = rd_name(r, "role model");
  if (!d->model) return false;
  uint32_t has = rd_u8(r, "role");
  if (!r->err && has > 7) {
    r->err = xasprintf("malformed module: role %u: has_system is %u", m->nroles - 1, has);
    return false;
  }
  if (has & 1) {
    d->system = rd_name(r, "role system prompt");
    if (!d->system) return false;
  }
  if (has & 2) {
    uint32_t n = rd_u8(r, "role stop count");
    if (!r->err && (n == 0 || n > ASK_STOP_MAX)) {
      r->err = xasprintf("malformed module: role %u: %u stop sequences", m->nroles - 1, n);
      return false;
    }
    if (r->err) return false;
    d->stop = xcalloc(n, sizeof *d->stop);
    for (uint32_t k = 0; k < n; k++) {
      d->stop[k] = rd_name(r, "role stop sequence");
      if (!d->stop[k]) return false;
      d->nstop++;
    }
  }
  uint64_t bits = rd_u64(r, "role");
  memcpy(&d->temperature, &bits, sizeof bits);
  bits = rd_u64(r, "role");
  memcpy(&d->top_p, &bits, sizeof bits);
  d->max_tokens = (int64_t)rd_u64(r, "role");
  d->timeout_ms = (int64_t)rd_u64(r, "role");
  d->retries = (int32_t)rd_u32(r, "role");
  d->repairs = (int32_t)rd_u32(r, "role");
  if ((has & 4) && !r->err) {
    d->max_steps = rd_u32(r, "role max_steps");
    uint32_t n = rd_u8(r, "role tool count");
    if (!r->err && (n == 0 || n > ROLE_TOOLS_MAX)) {
      r->err = xasprintf("malformed module: role %u: %u tools", m->nroles - 1, n);
      return false;
    }
    if (r->err) return false;
    d->tools = xcalloc(n, sizeof *d->tools);
    for (uint32_t k = 0; k < n; k++) {
      RoleTool *t = &d->tools[k];
      t->name = rd_name(r, "role tool name");
      if (!t->name) return false;
      d->ntools++;
      t->doc = rd_name(r, "role tool description");
      if (!t->doc) return false;
      t->params = rd_u32(r, "role tool parameters");
    }
  }
  return !r->err;
}

static void *alloc_table(uint32_t n, size_t elem) {
  uint32_t c = implied_cap(n);
  void *p = xrealloc(NULL, (size_t)c * elem);
  memset(p, 0, (size_t)c * elem);
  return p;
}

/* Sections in file order; each stops at the first error, leaving the
 * partial module consistent for module_free. */
static void load_body(Reader *r, Module *m) {
  m->source_hash = rd_u64(r, "header");

  uint32_t n = rd_count(r, 4, "file table");
  if (r->err) return;
  m->files = alloc_table(n, sizeof(char *));
  for (uint32_t i = 0; i < n; i++) {
    char *s = rd_name(r, "file name");
    if (!s) return;
    m->files[m->nfiles++] = s;
  }

  n = rd_count(r, 5, "constant table");
  if (r->err) return;
  m->consts = alloc_table(n, sizeof(Value));
  m->const_kinds = alloc_table(n, 1);
  for (uint32_t i = 0; i < n; i++)
    if (!load_const(r, m)) return;

  n = rd_count(r, 4, "native table");
  if (r->err) return;
  m->native_names = alloc_table(n, sizeof(char *));
  m->natives = alloc_table(n, sizeof(struct Native *));
  for (uint32_t i = 0; i < n; i++) {
    char *s = rd_name(r, "native name");
    if (!s) return;
    m->native_names[m->nnatives] = s;
    m->natives[m->nnatives] = native_find(r->natives, s);
    m->nnatives++;
    if (!m->natives[i]) {
      r->err = xasprintf("unknown builtin '%.200s' (module built by a newer weft?)", s);
      return;
    }
  }

  n = rd_count(r, 9, "type table");
  if (r->err) return;
  m->types = alloc_table(n, sizeof(TypeDesc));
  for (uint32_t i = 0; i < n; i++)
    if (!load_type(r, m)) return;

  n = rd_count(r, 32, "function table");
  if (r->err) return;
  m->funcs = alloc_table(n, sizeof(FuncProto));
  for (uint32_t i = 0; i < n; i++)
    if (!load_func(r, m)) return;

  /* name, model, flag, 2 x f64, 2 x i64, 2 x i32 */
  n = rd_count(r, 4 + 4 + 1 + 8 + 8 + 8 + 8 + 4 + 4, "role table");
  if (r->err) return;
  m->roles = alloc_table(n, sizeof(RoleDesc));
  for (uint32_t i = 0; i < n; i++)
    if (!load_role(r, m)) return;

  m->main_fn = rd_u32(r, "main");
  m->main_result = rd_u32(r, "main");
  n = rd_count(r, 12, "main parameters");
  if (r->err) return;
  m->params = alloc_table(n, sizeof(MainParam));
  for (uint32_t i = 0; i < n; i++) {
    char *s = rd_name(r, "parameter name");
    if (!s) return;
    MainParam *p = &m->params[m->nparams++];
    p->name = s;
    p->type = rd_u32(r, "main parameter");
    p->def = rd_u32(r, "main parameter");
  }
  if (!r->err && r->left != 0) r->err = xasprintf("malformed module: %zu unexpected bytes before the checksum", r->left);
}

Module *module_load(Heap *heap, const uint8_t *data, size_t len, const NativeTable *natives, char **err) {
  *err = NULL;
  if (len < 8 || memcmp(data, WEFTC_MAGIC, 8) != 0) {
    *err = xasprintf("not a Weft module");
    return NULL;
  }
  if (len > MODULE_MAX_BYTES) {
    *err = xasprintf("the module is larger than %zu MiB, the most weft loads", MODULE_MAX_BYTES >> 20);
    return NULL;
  }
  if (len < 12) {
    *err = xasprintf("truncated module header");
    return NULL;
  }
  uint32_t version = (uint32_t)data[8] | ((uint32_t)data[9] << 8);
  if (version != WEFTC_VERSION) {
    *err = xasprintf("module format version %u is not supported (this weft reads version %d)",
                      version, WEFTC_VERSION);
    return NULL;
  }
  if (data[10] != 0 || data[11] != 0) {
    *err = xasprintf("module uses unsupported flags");
    return NULL;
  }
  if (len < 12 + 8 + 4) {
    *err = xasprintf("truncated module header");
    return NULL;
  }
  const uint8_t *t = data + len - 4;
  uint32_t stored = (uint32_t)t[0] | ((uint32_t)t[1] << 8) | ((uint32_t)t[2] << 16) | ((uint32_t)t[3] << 24);
  if (stored != fnv1a32(data, len - 4)) {
    *err = xasprintf("checksum mismatch (file corrupt)");
    return NULL;
  }

  Module *m = module_new(heap);
  m->version = (uint16_t)version;
  Reader r = { data + 12, len - 16, NULL, natives };
  load_body(&r, m);
  if (r.err) {
    module_free(m);
    *err = r.err;
    return NULL;
  }
  if (!module_verify(m, err)) {
    module_free(m);
    return NULL;
  }
  for (uint32_t i = 0; i < m->ntypes; i++)
    if (m->types[i].kind == TD_RECORD) m->types[i].shape = record_shape(m, &m->types[i]);
  return m;
}

bool model_allowed(const char *spec, const char *const *allow, uint32_t n) {
  const char *slash = strchr(spec, '/');
  if (!slash) return false;
  size_t plen = (size_t)(slash - spec);
  if (plen == 4 && memcmp(spec, "mock", 4) == 0) return true;
  for (uint32_t i = 0; i < n; i++) {
    const char *a = allow[i];
    if (strcmp(a, spec) == 0) return true;
    if (strncmp(a, spec, plen + 1) == 0 && strcmp(a + plen + 1, "*") == 0) return true;
  }
  return false;
}
