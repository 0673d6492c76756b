/* value.c — runtime values: the counted heap, objects, reference counting,
 * equality and ordering, and rendering to JSON or display text.
 *
 * Every byte goes through heap_alloc so the memory limit sees it. Objects
 * are freed iteratively from an explicit work list, and every walk over a
 * value (equality, ordering, rendering) stops at VALUE_MAX_DEPTH, so no
 * value, however nested, can overflow the C stack. */
#include "value.h"
#include "../base/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- heap ------------------------------------------------------------ */

void heap_init(Heap *h, size_t limit) {
  memset(h, 0, sizeof *h);
  h->limit = limit;
}


/* Counts the bytes and flags the limit (or the test hook fail_after);
 * never fails softly: the VM turns over_limit into a clean error. */
static void heap_count(Heap *h, size_t size) {
  h->used += size;
  if (h->used > h->peak) h->peak = h->used;
  h->nallocs++;
  if (h->limit && h->used > h->limit) h->over_limit = true;
  if (h->fail_after && h->nallocs == h->fail_after) h->over_limit = true;
}

void heap_charge(Heap *h, size_t n) {
  h->used += n;
  if (h->used > h->peak) h->peak = h->used;
  if (h->limit && h->used > h->limit) h->over_limit = true;
}

void heap_uncharge(Heap *h, size_t n) {
  h->used -= n < h->used ? n : h->used;
}

void *heap_alloc(Heap *h, size_t size) {
  alloc_meter_charge(size);
  void *p = malloc(size ? size : 1);
  if (!p) weft_oom(size);
  heap_count(h, size);
  return p;
}

void *heap_realloc(Heap *h, void *p, size_t old_size, size_t new_size) {
  alloc_meter_charge(new_size);
  void *q = realloc(p, new_size ? new_size : 1);
  if (!q) weft_oom(new_size);
  h->used -= old_size;
  heap_count(h, new_size);
  return q;
}

void heap_free(Heap *h, void *p, size_t size) {
  if (!p) return;
  h->used -= size;
  free(p);
}

bool heap_would_exceed(const Heap *h, size_t more) {
  if (!h->limit) return false;
  return more > h->limit || h->used > h->limit - more;
}

/* ---- constructors ---------------------------------------------------- */

ObjString *str_alloc(Heap *h, size_t len) {
  ObjString *s = heap_alloc(h, sizeof(ObjString) + len + 1);
  s->h.rc = 1;
  s->h.kind = OBJ_STRING;
  s->h.prov = 0;
  s->h.label = 0;
  s->hash = 0;
  s->len = len;
  s->data[len] = '\0';
  return s;
}

Value v_string(Heap *h, const char *s, size_t len) {
  ObjString *o = str_alloc(h, len);
  if (len) memcpy(o->data, s, len);
  return v_obj(&o->h);
}

Value v_cstring(Heap *h, const char *s) { return v_string(h, s, strlen(s)); }

Value v_list(Heap *h, uint32_t cap) {
  ObjList *l = heap_alloc(h, sizeof(ObjList));
  l->h.rc = 1;
  l->h.kind = OBJ_LIST;
  l->h.prov = 0;
  l->h.label = 0;
  l->n = 0;
  l->cap = cap;
  l->items = cap ? heap_alloc(h, (size_t)cap * sizeof(Value)) : NULL;
  return v_obj(&l->h);
}

Value v_map(Heap *h, uint32_t cap) {
  ObjMap *m = heap_alloc(h, sizeof(ObjMap));
  m->h.rc = 1;
  m->h.kind = OBJ_MAP;
  m->h.prov = 0;
  m->h.label = 0;
  m->n = 0;
  m->cap = cap;
  m->keys = cap ? heap_alloc(h, (size_t)cap * sizeof(ObjString *)) : NULL;
  m->vals = cap ? heap_alloc(h, (size_t)cap * sizeof(Value)) : NULL;
  m->index = NULL;
  m->index_cap = 0;
  m->dup = 0;
  return v_obj(&m->h);
}

ObjShape *shape_new(Heap *h, uint32_t n) {
  ObjShape *s = heap_alloc(h, sizeof(ObjShape) + (size_t)n * sizeof(ObjString *));
  s->h.rc = 1;
  s->h.kind = OBJ_SHAPE;
  s->h.prov = 0;
  s->h.label = 0;
  s->n = n;
  for (uint32_t i = 0; i < n; i++) s->names[i] = NULL;
  return s;
}

Value v_record(Heap *h, ObjShape *shape) {
  ObjRecord *r = heap_alloc(h, sizeof(ObjRecord) + (size_t)shape->n * sizeof(Value));
  r->h.rc = 1;
  r->h.kind = OBJ_RECORD;
  r->h.prov = 0;
  r->h.label = 0;
  shape->h.rc++;
  r->shape = shape;
  for (uint32_t i = 0; i < shape->n; i++) r->vals[i] = v_none();
  return v_obj(&r->h);
}

Value v_func(Heap *h, uint32_t fn, uint32_t ncap) {
  ObjFunc *f = heap_alloc(h, sizeof(ObjFunc) + (size_t)ncap * sizeof(Value));
  f->h.rc = 1;
  f->h.kind = OBJ_FUNC;
  f->h.prov = 0;
  f->h.label = 0;
  f->fn = fn;
  f->ncap = ncap;
  for (uint32_t i = 0; i < ncap; i++) f->caps[i] = v_none();
  return v_obj(&f->h);
}

Value v_role(Heap *h, uint32_t index, const char *name) {
  size_t len = strlen(name);
  ObjRole *r = heap_alloc(h, sizeof(ObjRole) + len + 1);
  r->h.rc = 1;
  r->h.kind = OBJ_ROLE;
  r->h.prov = 0;
  r->h.label = 0;
  r->index = index;
  r->len = (uint32_t)len;
  memcpy(r->name, name, len + 1);
  return v_obj(&r->h);
}

/* ---- releasing ------------------------------------------------------- */

/* The work list of objects whose count reached zero: a small inline array
 * first, malloc'd growth only for wide or deep values. */
typedef struct FreeList {
  Obj **items;
  size_t n, cap;
  Obj *inline_items[32];
} FreeList;

static void freelist_push(FreeList *fl, Obj *o) {
  if (fl->n == fl->cap) {
    size_t ncap = fl->cap * 2;
    Obj **ni;
    if (fl->items == fl->inline_items) {
      ni = malloc(ncap * sizeof *ni);
      if (!ni) weft_oom(ncap * sizeof *ni);
      memcpy(ni, fl->items, fl->n * sizeof *ni);
    } else {
      ni = realloc(fl->items, ncap * sizeof *ni);
      if (!ni) weft_oom(ncap * sizeof *ni);
    }
    fl->items = ni;
    fl->cap = ncap;
  }
  fl->items[fl->n++] = o;
}

/* Drops one reference held by a dying object; strings are freed at once
 * (they hold nothing), containers go on the work list. */
static void drop_child(Heap *h, FreeList *fl, Obj *o) {
  if (--o->rc) return;
  if (o->kind == OBJ_STRING) {
    heap_free(h, o, sizeof(ObjString) + ((ObjString *)o)->len + 1);
    return;
  }
  freelist_push(fl, o);
}

static void drop_value(Heap *h, FreeList *fl, Value v) {
  if (v.tag == V_OBJ) drop_child(h, fl, v.as.o);
}

void v_release_obj(Heap *h, Obj *o) {
  FreeList fl;
  fl.items = fl.inline_items;
  fl.n = 0;
  fl.cap = sizeof fl.inline_items / sizeof fl.inline_items[0];
  fl.items[fl.n++] = o;
  while (fl.n) {
    Obj *x = fl.items[--fl.n];
    switch ((ObjKind)x->kind) {
    case OBJ_STRING:
      heap_free(h, x, sizeof(ObjString) + ((ObjString *)x)->len + 1);
      break;
    case OBJ_LIST: {
      ObjList *l = (ObjList *)x;
      for (uint32_t i = 0; i < l->n; i++) drop_value(h, &fl, l->items[i]);
      heap_free(h, l->items, (size_t)l->cap * sizeof(Value));
      heap_free(h, l, sizeof(ObjList));
      break;
    }
    case OBJ_MAP: {
      ObjMap *m = (ObjMap *)x;
      for (uint32_t i = 0; i < m->n; i++) {
        drop_child(h, &fl, &m->keys[i]->h);
        drop_value(h, &fl, m->vals[i]);
      }
      heap_free(h, m->keys, (size_t)m->cap * sizeof(ObjString *));
      heap_free(h, m->vals, (size_t)m->cap * sizeof(Value));
      heap_free(h, m->index, (size_t)m->index_cap * sizeof(uint32_t));
      heap_free(h, m, sizeof(ObjMap));
      break;
    }
    case OBJ_RECORD: {
      ObjRecord *r = (ObjRecord *)x;
      uint32_t n = r->shape->n;
      for (uint32_t i = 0; i < n; i++) drop_value(h, &fl, r->vals[i]);
      drop_child(h, &fl, &r->shape->h);
      heap_free(h, r, sizeof(ObjRecord) + (size_t)n * sizeof(Value));
      break;
    }
    case OBJ_SHAPE: {
      ObjShape *s = (ObjShape *)x;
      for (uint32_t i = 0; i < s->n; i++)
        if (s->names[i]) drop_child(h, &fl, &s->names[i]->h);
      heap_free(h, s, sizeof(ObjShape) + (size_t)s->n * sizeof(ObjString *));
      break;
    }
    case OBJ_FUNC: {
      ObjFunc *f = (ObjFunc *)x;
      for (uint32_t i = 0; i < f->ncap; i++) drop_value(h, &fl, f->caps[i]);
      heap_free(h, f, sizeof(ObjFunc) + (size_t)f->ncap * sizeof(Value));
      break;
    }
    case OBJ_TASKS:
      tasks_release_obj(h, x);
      break;
    case OBJ_ROLE:
      heap_free(h, x, sizeof(ObjRole) + ((ObjRole *)x)->len + 1);
      break;
    }
  }
  if (fl.items != fl.inline_items) free(fl.items);
}

/* ---- strings --------------------------------------------------------- */

/* FNV-1a 32; 0 is reserved for "not computed yet". */
uint32_t str_hash(ObjString *s) {
  if (s->hash) return s->hash;
  uint32_t x = 2166136261u;
  for (size_t i = 0; i < s->len; i++) {
    x ^= (uint8_t)s->data[i];
    x *= 16777619u;
  }
  if (!x) x = 1;
  s->hash = x;
  return x;
}

bool str_eq(const ObjString *a, const ObjString *b) {
  if (a == b) return true;
  if (a->len != b->len) return false;
  if (a->hash && b->hash && a->hash != b->hash) return false;
  return memcmp(a->data, b->data, a->len) == 0;
}

/* ---- lists ----------------------------------------------------------- */

/* Capacity growth shared by lists and maps: doubles, capped at UINT32_MAX. */
static uint32_t grow_cap(uint32_t cap, uint32_t need) {
  uint64_t c = cap ? cap : 4;
  while (c < need) c *= 2;
  if (c > UINT32_MAX) c = UINT32_MAX;
  return (uint32_t)c;
}

static void list_reserve(Heap *h, ObjList *l, uint32_t need) {
  if (need <= l->cap) return;
  uint32_t ncap = grow_cap(l->cap, need);
  l->items = heap_realloc(h, l->items, (size_t)l->cap * sizeof(Value), (size_t)ncap * sizeof(Value));
  l->cap = ncap;
}

/* A fresh copy of l's items (retained) with room for `extra` more. */
static Value list_copy(Heap *h, ObjList *l, uint32_t extra) {
  Value c = v_list(h, l->n + extra);
  ObjList *cl = AS_LIST(c);
  for (uint32_t i = 0; i < l->n; i++) cl->items[i] = v_retain(l->items[i]);
  cl->n = l->n;
  cl->h.label = l->h.label;
  return c;
}

Value list_push_take(Heap *h, Value list, Value item) {
  ObjList *l = AS_LIST(list);
  if (l->h.rc != 1) {
    Value c = list_copy(h, l, l->n < 4 ? 4 : l->n);
    v_release(h, list);
    list = c;
    l = AS_LIST(c);
  }
  list_reserve(h, l, l->n + 1);
  l->items[l->n++] = item;
  l->h.label = label_join(l->h.label, v_label(item));
  return list;
}

Value list_concat(Heap *h, Value a, Value b) {
  ObjList *la = AS_LIST(a), *lb = AS_LIST(b);
  Value c = list_copy(h, la, lb->n);
  ObjList *cl = AS_LIST(c);
  for (uint32_t i = 0; i < lb->n; i++) cl->items[cl->n++] = v_retain(lb->items[i]);
  cl->h.label = label_join(la->h.label, lb->h.label);
  return c;
}

/* ---- maps ------------------------------------------------------------ */

#define MAP_SCAN_MAX 8

/* Rebuilds the open-addressing index (entry index + 1, 0 = empty) with a
 * load factor of at most 1/2. */
static void map_reindex(Heap *h, ObjMap *m) {
  if (m->n <= MAP_SCAN_MAX) {
    heap_free(h, m->index, (size_t)m->index_cap * sizeof(uint32_t));
    m->index = NULL;
    m->index_cap = 0;
    return;
  }
  uint32_t want = 16;
  while (want < 2 * (uint64_t)m->n) want *= 2;
  if (want != m->index_cap) {
    heap_free(h, m->index, (size_t)m->index_cap * sizeof(uint32_t));
    m->index = heap_alloc(h, (size_t)want * sizeof(uint32_t));
    m->index_cap = want;
  }
  memset(m->index, 0, (size_t)want * sizeof(uint32_t));
  uint32_t mask = want - 1;
  for (uint32_t i = 0; i < m->n; i++) {
    uint32_t j = str_hash(m->keys[i]) & mask;
    while (m->index[j]) j = (j + 1) & mask;
    m->index[j] = i + 1;
  }
}

static uint32_t bytes_hash(const char *s, size_t len) {
  uint32_t x = 2166136261u;
  for (size_t i = 0; i < len; i++) {
    x ^= (uint8_t)s[i];
    x *= 16777619u;
  }
  return x ? x : 1;
}

/* Entry index of key, or -1. */
static int64_t map_find(ObjMap *m, const char *key, size_t len, uint32_t hash) {
  if (!m->index_cap) {
    for (uint32_t i = 0; i < m->n; i++) {
      ObjString *k = m->keys[i];
      if (k->len == len && memcmp(k->data, key, len) == 0) return i;
    }
    return -1;
  }
  uint32_t mask = m->index_cap - 1;
  for (uint32_t j = hash & mask;; j = (j + 1) & mask) {
    uint32_t e = m->index[j];
    if (!e) return -1;
    ObjString *k = m->keys[e - 1];
    if (k->len == len && str_hash(k) == hash && memcmp(k->data, key, len) == 0) return e - 1;
  }
}

Value *map_get(ObjMap *m, const ObjString *key) {
  uint32_t hash = m->index_cap ? str_hash((ObjString *)key) : 0;
  int64_t i = map_find(m, key->data, key->len, hash);
  return i < 0 ? NULL : &m->vals[i];
}

Value *map_get_cstr(ObjMap *m, const char *key, size_t len) {
  uint32_t hash = m->index_cap ? bytes_hash(key, len) : 0;
  int64_t i = map_find(m, key, len, hash);
  return i < 0 ? NULL : &m->vals[i];
}

/* A private copy of m (entries retained) with room for one more. */
static Value map_copy(Heap *h, ObjMap *m) {
  Value c = v_map(h, m->n + 1);
  ObjMap *cm = AS_MAP(c);
  for (uint32_t i = 0; i < m->n; i++) {
    m->keys[i]->h.rc++;
    cm->keys[i] = m->keys[i];
    cm->vals[i] = v_retain(m->vals[i]);
  }
  cm->n = m->n;
  cm->h.label = m->h.label;
  map_reindex(h, cm);
  return c;
}

Value map_set_take(Heap *h, Value map, ObjString *key, Value val) {
  ObjMap *m = AS_MAP(map);
  if (m->h.rc != 1) {
    Value c = map_copy(h, m);
    v_release(h, map);
    map = c;
    m = AS_MAP(c);
  }
  uint32_t hash = str_hash(key);
  int64_t i = map_find(m, key->data, key->len, hash);
  /* a replaced entry's label stays: the join is kept conservatively */
  m->h.label = label_join(m->h.label, label_join(key->h.label, v_label(val)));
  if (i >= 0) {
    v_release(h, m->vals[i]);
    m->vals[i] = val;
    return map;
  }
  if (m->n == m->cap) {
    uint32_t ncap = grow_cap(m->cap, m->n + 1);
    m->keys = heap_realloc(h, m->keys, (size_t)m->cap * sizeof(ObjString *), (size_t)ncap * sizeof(ObjString *));
    m->vals = heap_realloc(h, m->vals, (size_t)m->cap * sizeof(Value), (size_t)ncap * sizeof(Value));
    m->cap = ncap;
  }
  key->h.rc++;
  m->keys[m->n] = key;
  m->vals[m->n] = val;
  m->n++;
  if (m->n > MAP_SCAN_MAX && (m->index_cap == 0 || 2 * (uint64_t)m->n > m->index_cap)) {
    map_reindex(h, m);
  } else if (m->index_cap) {
    uint32_t mask = m->index_cap - 1, j = hash & mask;
    while (m->index[j]) j = (j + 1) & mask;
    m->index[j] = m->n;
  }
  return map;
}

Value map_remove_take(Heap *h, Value map, const ObjString *key) {
  ObjMap *m = AS_MAP(map);
  uint32_t hash = m->index_cap ? str_hash((ObjString *)key) : 0;
  if (map_find(m, key->data, key->len, hash) < 0) return map;
  if (m->h.rc != 1) {
    Value c = map_copy(h, m);
    v_release(h, map);
    map = c;
    m = AS_MAP(c);
  }
  int64_t i = map_find(m, key->data, key->len, m->index_cap ? str_hash((ObjString *)key) : 0);
  ObjString *k = m->keys[i];
  Value v = m->vals[i];
  memmove(&m->keys[i], &m->keys[i + 1], (m->n - (size_t)i - 1) * sizeof(ObjString *));
  memmove(&m->vals[i], &m->vals[i + 1], (m->n - (size_t)i - 1) * sizeof(Value));
  m->n--;
  map_reindex(h, m);
  v_release(h, v_obj(&k->h));
  v_release(h, v);
  return map;
}

/* ---- records --------------------------------------------------------- */

int shape_find(const ObjShape *s, const char *name, size_t len) {
  for (uint32_t i = 0; i < s->n; i++) {
    const ObjString *k = s->names[i];
    if (k && k->len == len && memcmp(k->data, name, len) == 0) return (int)i;
  }
  return -1;
}

Value *record_get(ObjRecord *r, const ObjString *name) {
  ObjShape *s = r->shape;
  for (uint32_t i = 0; i < s->n; i++)
    if (s->names[i] == name) return &r->vals[i];
  int i = shape_find(s, name->data, name->len);
  return i < 0 ? NULL : &r->vals[i];
}

/* ---- equality and order --------------------------------------------- */

static bool is_number(Value v) { return v.tag == V_INT || v.tag == V_FLOAT; }
static double num_of(Value v) { return v.tag == V_INT ? (double)v.as.i : v.as.f; }

/* Structural equality; records compare field by name. Bounded twice:
 * in depth (VALUE_MAX_DEPTH, so the C stack is safe) and in work (each
 * compared node costs one unit, so two equal DAGs that share structure
 * cannot take exponential time). Returns EQ_YES, EQ_NO, EQ_DEEP or
 * EQ_COSTLY. */
typedef struct EqWalk { uint64_t work, budget; } EqWalk;
static int equal_at(Value a, Value b, int depth, EqWalk *w) {
  if (++w->work > w->budget) return EQ_COSTLY;
  if (a.tag != b.tag) {
    if (is_number(a) && is_number(b)) return num_of(a) == num_of(b) ? EQ_YES : EQ_NO;
    return EQ_NO;
  }
  switch ((ValueTag)a.tag) {
  case V_NONE: return EQ_YES;
  case V_BOOL: return a.as.b == b.as.b ? EQ_YES : EQ_NO;
  case V_INT: case V_DURATION: return a.as.i == b.as.i ? EQ_YES : EQ_NO;
  case V_FLOAT: return a.as.f == b.as.f ? EQ_YES : EQ_NO;
  case V_OBJ: break;
  }
  Obj *x = a.as.o, *y = b.as.o;
  if (x == y) return EQ_YES;
  if (x->kind != y->kind) return EQ_NO;
  if (depth >= VALUE_MAX_DEPTH) return EQ_DEEP;
  switch ((ObjKind)x->kind) {
  case OBJ_STRING: return str_eq((ObjString *)x, (ObjString *)y) ? EQ_YES : EQ_NO;
  case OBJ_LIST: {
    ObjList *l = (ObjList *)x, *m = (ObjList *)y;
    if (l->n != m->n) return EQ_NO;
    for (uint32_t i = 0; i < l->n; i++) {
      int r = equal_at(l->items[i], m->items[i], depth + 1, w);
      if (r != EQ_YES) return r;
    }
    return EQ_YES;
  }
  case OBJ_MAP: {
    ObjMap *l = (ObjMap *)x, *m = (ObjMap *)y;
    if (l->n != m->n) return EQ_NO;
    for (uint32_t i = 0; i < l->n; i++) {
      Value *o = map_get(m, l->keys[i]);
      if (!o) return EQ_NO;
      int r = equal_at(l->vals[i], *o, depth + 1, w);
      if (r != EQ_YES) return r;
    }
    return EQ_YES;
  }
  case OBJ_RECORD: {
    ObjRecord *l = (ObjRecord *)x, *m = (ObjRecord *)y;
    if (l->shape->n != m->shape->n) return EQ_NO;
    for (uint32_t i = 0; i < l->shape->n; i++) {
      if (!l->shape->names[i]) return EQ_NO;
      Value *o = record_get(m, l->shape->names[i]);
      if (!o) return EQ_NO;
      int r = equal_at(l->vals[i], *o, depth + 1, w);
      if (r != EQ_YES) return r;
    }
    return EQ_YES;
  }
  case OBJ_SHAPE: return EQ_NO;
  case OBJ_TASKS: return EQ_NO; /* identity: x == y was handled above */
  case OBJ_ROLE: return ((ObjRole *)x)->index == ((ObjRole *)y)->index ? EQ_YES : EQ_NO;
  case OBJ_FUNC: {
    ObjFunc *l = (ObjFunc *)x, *m = (ObjFunc *)y;
    if (l->fn != m->fn || l->ncap != m->ncap) return EQ_NO;
    for (uint32_t i = 0; i < l->ncap; i++) {
      int r = equal_at(l->caps[i], m->caps[i], depth + 1, w);
      if (r != EQ_YES) return r;
    }
    return EQ_YES;
  }
  }
  return EQ_NO;
}

int v_equal_bounded(Value a, Value b, uint64_t budget, uint64_t *work) {
  EqWalk w = {0, budget};
  int r = equal_at(a, b, 0, &w);
  if (work) *work = w.work;
  return r;
}

bool v_equal(Value a, Value b) { return v_equal_bounded(a, b, UINT64_MAX, NULL) == EQ_YES; }

/* Rank of a value's kind in the total order used by sort(). */
static int order_rank(Value v) {
  switch ((ValueTag)v.tag) {
  case V_NONE: return 0;
  case V_BOOL: return 1;
  case V_INT: case V_FLOAT: return 2;
  case V_DURATION: return 3;
  case V_OBJ: break;
  }
  switch ((ObjKind)v.as.o->kind) {
  case OBJ_STRING: return 4;
  case OBJ_LIST: return 5;
  case OBJ_MAP: return 6;
  case OBJ_RECORD: return 7;
  case OBJ_FUNC: return 8;
  case OBJ_SHAPE: return 9;
  case OBJ_TASKS: return 10;
  case OBJ_ROLE: return 11;
  }
  return 11;
}

static int cmp3(int64_t a, int64_t b) { return (a > b) - (a < b); }

static int str_cmp(const ObjString *a, const ObjString *b) {
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->data, b->data, n);
  if (c) return c < 0 ? -1 : 1;
  return cmp3((int64_t)a->len, (int64_t)b->len);
}

/* Numbers compare numerically (NaN sorts after every other number so the
 * order stays total); containers lexicographically. Bounded like equal_at:
 * each compared node costs one unit of w->budget, and past either bound
 * the walk stops with w->stop set (EQ_DEEP or EQ_COSTLY) and returns 0, so
 * two equal DAGs that share structure cost their node count, not their
 * unfolded size, before the caller is told. */
typedef struct CmpWalk { uint64_t work, budget; int stop; } CmpWalk;
static int compare_at(Value a, Value b, int depth, CmpWalk *w) {
  if (++w->work > w->budget) {
    w->stop = EQ_COSTLY;
    return 0;
  }
  int ra = order_rank(a), rb = order_rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (ra) {
  case 0: return 0;
  case 1: return (int)a.as.b - (int)b.as.b;
  case 2: {
    if (a.tag == V_INT && b.tag == V_INT) return cmp3(a.as.i, b.as.i);
    double x = num_of(a), y = num_of(b);
    bool nx = isnan(x), ny = isnan(y);
    if (nx || ny) return (int)nx - (int)ny;
    return (x > y) - (x < y);
  }
  case 3: return cmp3(a.as.i, b.as.i);
  case 4: return str_cmp(AS_STRING(a), AS_STRING(b));
  default: break;
  }
  if (a.as.o == b.as.o) return 0;
  if (depth >= VALUE_MAX_DEPTH) {
    w->stop = EQ_DEEP;
    return 0;
  }
  switch (ra) {
  case 5: {
    ObjList *l = AS_LIST(a), *m = AS_LIST(b);
    uint32_t n = l->n < m->n ? l->n : m->n;
    for (uint32_t i = 0; i < n; i++) {
      int c = compare_at(l->items[i], m->items[i], depth + 1, w);
      if (c || w->stop) return c;
    }
    return cmp3(l->n, m->n);
  }
  case 6: {
    ObjMap *l = AS_MAP(a), *m = AS_MAP(b);
    uint32_t n = l->n < m->n ? l->n : m->n;
    for (uint32_t i = 0; i < n; i++) {
      int c = str_cmp(l->keys[i], m->keys[i]);
      if (!c) c = compare_at(l->vals[i], m->vals[i], depth + 1, w);
      if (c || w->stop) return c;
    }
    return cmp3(l->n, m->n);
  }
  case 7: {
    ObjRecord *l = AS_RECORD(a), *m = AS_RECORD(b);
    uint32_t n = l->shape->n < m->shape->n ? l->shape->n : m->shape->n;
    for (uint32_t i = 0; i < n; i++) {
      int c = compare_at(l->vals[i], m->vals[i], depth + 1, w);
      if (c || w->stop) return c;
    }
    return cmp3(l->shape->n, m->shape->n);
  }
  case 8: return cmp3(AS_FUNC(a)->fn, AS_FUNC(b)->fn);
  default: return 0;
  }
}

int v_compare_bounded(Value a, Value b, uint64_t budget, uint64_t *work, int *order) {
  CmpWalk w = {0, budget, 0};
  int c = compare_at(a, b, 0, &w);
  if (work) *work = w.work;
  *order = w.stop ? 0 : c;
  return w.stop ? w.stop : 0;
}

int v_compare(Value a, Value b) {
  int c;
  v_compare_bounded(a, b, UINT64_MAX, NULL, &c);
  return c;
}

const char *v_type_name(Value v) {
  switch ((ValueTag)v.tag) {
  case V_NONE: return "none";
  case V_BOOL: return "bool";
  case V_INT: return "int";
  case V_FLOAT: return "float";
  case V_DURATION: return "duration";
  case V_OBJ: break;
  }
  switch ((ObjKind)v.as.o->kind) {
  case OBJ_STRING: return "string";
  case OBJ_LIST: return "list";
  case OBJ_MAP: return "map";
  case OBJ_RECORD: return "record";
  case OBJ_SHAPE: return "shape";
  case OBJ_FUNC: return "function";
  case OBJ_TASKS: return "tasks";
  case OBJ_ROLE: return "role";
  }
  return "?";
}

/* ---- rendering ------------------------------------------------------- */

void dur_format(Buf *b, int64_t ms) {
  uint64_t u;
  if (ms < 0) {
    buf_putc(b, '-');
    u = (uint64_t)0 - (uint64_t)ms;
  } else {
    u = (uint64_t)ms;
  }
  if (u == 0) { buf_puts(b, "0s"); return; }
  if (u < 1000) { buf_printf(b, "%" PRIu64 "ms", u); return; }
  uint64_t h = u / 3600000, m = u / 60000 % 60, s = u / 1000 % 60, frac = u % 1000;
  if (h) buf_printf(b, "%" PRIu64 "h", h);
  if (m) buf_printf(b, "%" PRIu64 "m", m);
  if (s || frac) {
    buf_printf(b, "%" PRIu64, s);
    if (frac) {
      char digits[4];
      digits[0] = (char)('0' + frac / 100);
      digits[1] = (char)('0' + frac / 10 % 10);
      digits[2] = (char)('0' + frac % 10);
      size_t nd = 3;
      while (nd > 0 && digits[nd - 1] == '0') nd--;
      buf_putc(b, '.');
      buf_put(b, digits, nd);
    }
    buf_putc(b, 's');
  }
}

/* Shortest text that reads back as the same double, with ".0" kept on
 * integral values so a float prints as a float. */
static void put_float(Buf *b, double f) {
  char tmp[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, f);
    if (strtod(tmp, NULL) == f) break;
  }
  buf_puts(b, tmp);
  if (!strpbrk(tmp, ".eEni")) buf_put(b, ".0", 2);
}

/* One rendering walk for both JSON and display: `raw_top` prints a
 * top-level string without quotes (display form). Depth-bounded. */
static bool render(Buf *b, Value v, int depth, bool raw_top, const char **err) {
  switch ((ValueTag)v.tag) {
  case V_NONE: buf_put(b, "null", 4); return true;
  case V_BOOL: if (v.as.b) buf_put(b, "true", 4); else buf_put(b, "false", 5); return true;
  case V_INT: buf_printf(b, "%" PRId64, v.as.i); return true;
  case V_FLOAT:
    if (!isfinite(v.as.f)) {
      *err = isnan(v.as.f) ? "cannot render NaN as JSON" : "cannot render infinity as JSON";
      return false;
    }
    put_float(b, v.as.f);
    return true;
  case V_DURATION:
    if (!raw_top) buf_putc(b, '"');
    dur_format(b, v.as.i);
    if (!raw_top) buf_putc(b, '"');
    return true;
  case V_OBJ: break;
  }
  if (depth >= VALUE_MAX_DEPTH) {
    *err = "value nested too deeply to render";
    return false;
  }
  switch ((ObjKind)v.as.o->kind) {
  case OBJ_STRING: {
    ObjString *s = AS_STRING(v);
    if (raw_top) buf_put(b, s->data, s->len);
    else buf_json_string(b, s->data, s->len);
    return true;
  }
  case OBJ_LIST: {
    ObjList *l = AS_LIST(v);
    buf_putc(b, '[');
    for (uint32_t i = 0; i < l->n; i++) {
      if (i) buf_putc(b, ',');
      if (!render(b, l->items[i], depth + 1, false, err)) return false;
    }
    buf_putc(b, ']');
    return true;
  }
  case OBJ_MAP: {
    ObjMap *m = AS_MAP(v);
    buf_putc(b, '{');
    for (uint32_t i = 0; i < m->n; i++) {
      if (i) buf_putc(b, ',');
      buf_json_string(b, m->keys[i]->data, m->keys[i]->len);
      buf_putc(b, ':');
      if (!render(b, m->vals[i], depth + 1, false, err)) return false;
    }
    buf_putc(b, '}');
    return true;
  }
  case OBJ_RECORD: {
    ObjRecord *r = AS_RECORD(v);
    buf_putc(b, '{');
    for (uint32_t i = 0; i < r->shape->n; i++) {
      if (i) buf_putc(b, ',');
      ObjString *k = r->shape->names[i];
      if (k) buf_json_string(b, k->data, k->len);
      else buf_put(b, "\"\"", 2);
      buf_putc(b, ':');
      if (!render(b, r->vals[i], depth + 1, false, err)) return false;
    }
    buf_putc(b, '}');
    return true;
  }
  case OBJ_FUNC:
    if (raw_top) buf_printf(b, "<fn %u>", AS_FUNC(v)->fn);
    else buf_printf(b, "\"<fn %u>\"", AS_FUNC(v)->fn);
    return true;
  case OBJ_SHAPE:
    buf_puts(b, raw_top ? "<shape>" : "\"<shape>\"");
    return true;
  case OBJ_TASKS:
    buf_puts(b, raw_top ? "<tasks>" : "\"<tasks>\"");
    return true;
  case OBJ_ROLE:
    /* display: the role's name; nested, a JSON string of it (as a
     * duration is), so `[a, b]` shows ["a","b"] */
    if (raw_top) buf_put(b, AS_ROLE(v)->name, AS_ROLE(v)->len);
    else buf_json_string(b, AS_ROLE(v)->name, AS_ROLE(v)->len);
    return true;
  }
  return true;
}

/* On failure the partial output is dropped: b holds what it held before
 * the call. */
static bool render_top(Buf *b, Value v, bool raw, char **err) {
  size_t start = b->len;
  const char *why = NULL;
  if (render(b, v, 0, raw, &why)) return true;
  b->len = start;
  if (b->data) b->data[start] = '\0';
  if (err) *err = xstrdup(why);
  return false;
}

/* Adds an upper bound of v's rendered size to *acc, giving up once it
 * passes cap: the walk visits at most about cap nodes and scans at most
 * about cap bytes, so sizing a value that shares one child many times
 * costs no more than the output would be charged. */
static void size_at(Value v, int depth, uint64_t *acc, uint64_t cap) {
  if (*acc > cap) return;
  if (v.tag != V_OBJ) { *acc += 32; return; }
  if (depth >= VALUE_MAX_DEPTH) return;
  switch ((ObjKind)v.as.o->kind) {
  case OBJ_STRING: *acc += buf_json_string_len(AS_STRING(v)->data, AS_STRING(v)->len); return;
  case OBJ_LIST: {
    ObjList *l = AS_LIST(v);
    *acc += 2;
    for (uint32_t i = 0; i < l->n && *acc <= cap; i++) {
      *acc += 1;
      size_at(l->items[i], depth + 1, acc, cap);
    }
    return;
  }
  case OBJ_MAP: {
    ObjMap *m = AS_MAP(v);
    *acc += 2;
    for (uint32_t i = 0; i < m->n && *acc <= cap; i++) {
      *acc += buf_json_string_len(m->keys[i]->data, m->keys[i]->len) + 2;
      size_at(m->vals[i], depth + 1, acc, cap);
    }
    return;
  }
  case OBJ_RECORD: {
    ObjRecord *r = AS_RECORD(v);
    *acc += 2;
    for (uint32_t i = 0; i < r->shape->n && *acc <= cap; i++) {
      ObjString *k = r->shape->names[i];
      *acc += (k ? buf_json_string_len(k->data, k->len) : 2) + 2;
      size_at(r->vals[i], depth + 1, acc, cap);
    }
    return;
  }
  default: *acc += 24; return; /* "<fn 4294967295>", "<tasks>" */
  }
}

uint64_t v_render_size(Value v, uint64_t cap) {
  uint64_t acc = 0;
  size_at(v, 0, &acc, cap);
  return acc;
}

bool v_to_json(Buf *b, Value v, char **err) { return render_top(b, v, false, err); }
bool v_to_display(Buf *b, Value v, char **err) { return render_top(b, v, true, err); }

/* ---- labels ---------------------------------------------------------- */

Value v_with_label(Heap *h, Value v, Label l) {
  if (!l || v_label(v)) return v;
  if (v.tag != V_OBJ) { v.label = l; return v; }
  Obj *o = v.as.o;
  if (o->kind > OBJ_RECORD) return v; /* functions, roles, tasks: no label */
  if (o->rc > 1) {
    Value c;
    switch ((ObjKind)o->kind) {
    case OBJ_STRING: c = v_string(h, AS_STRING(v)->data, AS_STRING(v)->len); break;
    case OBJ_LIST: c = list_copy(h, AS_LIST(v), 0); break;
    case OBJ_MAP: c = map_copy(h, AS_MAP(v)); break;
    default: {
      ObjRecord *r = AS_RECORD(v);
      c = v_record(h, r->shape);
      for (uint32_t i = 0; i < r->shape->n; i++) AS_RECORD(c)->vals[i] = v_retain(r->vals[i]);
      break;
    }
    }
    c.as.o->prov = o->prov;
    v_release(h, v);
    v = c;
  }
  v.as.o->label = l;
  return v;
}

void v_label_walk(Value v, Label l, bool all) {
  Obj *inline_stack[64];
  Obj **stack = inline_stack;
  size_t n = 0, cap = 64;
  if (v.tag != V_OBJ) return; /* an inline value is a copy: its caller sets it */
  stack[n++] = v.as.o;
  while (n) {
    Obj *o = stack[--n];
    if (o->kind > OBJ_RECORD) continue;
    if (all) {
      if (o->label == l) continue; /* met before: a shared part */
      o->label = l;
    } else {
      o->label = label_join(o->label, l);
    }
    uint32_t k = 0;
    Value *vals = NULL;
    if (o->kind == OBJ_LIST) { k = ((ObjList *)o)->n; vals = ((ObjList *)o)->items; }
    else if (o->kind == OBJ_MAP) { k = ((ObjMap *)o)->n; vals = ((ObjMap *)o)->vals; }
    else if (o->kind == OBJ_RECORD) { k = ((ObjRecord *)o)->shape->n; vals = ((ObjRecord *)o)->vals; }
    uint32_t extra = o->kind == OBJ_MAP ? k : 0;
    if (n + k + extra > cap) {
      size_t ncap = cap;
      while (n + k + extra > ncap) ncap *= 2;
      if (stack == inline_stack) {
        stack = xmalloc(ncap * sizeof *stack);
        memcpy(stack, inline_stack, n * sizeof *stack);
      } else {
        stack = xrealloc(stack, ncap * sizeof *stack);
      }
      cap = ncap;
    }
    for (uint32_t i = 0; i < k; i++) {
      if (vals[i].tag != V_OBJ) vals[i].label = all ? l : label_join(vals[i].label, l);
      else if (all || vals[i].as.o->rc == 1) stack[n++] = vals[i].as.o;
    }
    for (uint32_t i = 0; i < extra; i++)
      if (all || ((ObjMap *)o)->keys[i]->h.rc == 1) stack[n++] = &((ObjMap *)o)->keys[i]->h;
  }
  if (stack != inline_stack) free(stack);
}

void v_label_deep(Value v, Label l) { v_label_walk(v, l, true); }
