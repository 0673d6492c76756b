/* lists.c — list natives.
 *
 * Every native builds a new list (values are immutable); elements are
 * shared by reference, so copying a list costs one retain per element.
 * Sorting is a bottom-up merge sort on an index array: stable, O(n log n)
 * comparisons whatever the input, no recursion. unique hashes elements
 * (numbers by numeric value, containers by size) and confirms with
 * vm_equal, so it is linear on typical data. Every comparison is charged
 * per node compared (vm_compare, vm_equal), as `==` is, so values that
 * share structure cannot make a sort or a search outrun the fuel limit. */
#include <math.h>
#include <string.h>
#include "std_internal.h"

/* A new list holding retained copies of items[0..n). */
static Value copy_items(Heap *h, const Value *items, uint32_t n) {
  Value list = v_list(h, n);
  ObjList *l = AS_LIST(list);
  for (uint32_t i = 0; i < n; i++) l->items[i] = v_retain(items[i]);
  l->n = n;
  return list;
}

NativeStatus std_len_list(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xs;
  if (!std_arg_list(vm, f, args, 0, "len", &xs)) return NATIVE_ERROR;
  *out = v_int(xs->n);
  return NATIVE_OK;
}

/* ---- sorting ----------------------------------------------------------- */

/* ceil(log2(n)) + 1: the number of merge passes, for fuel. */
static uint64_t passes(uint32_t n) {
  uint64_t p = 1;
  for (uint64_t w = 1; w < n; w *= 2) p++;
  return p;
}

/* Sorts idx[0..n) by keys[idx[i]] with vm_compare, stably. tmp has room
 * for n entries. Returns the array that holds the result, or NULL when a
 * comparison ran out of fuel or met a too-deep value (raised on f). */
static uint32_t *merge_sort(VM *vm, Fiber *f, uint32_t *idx, uint32_t *tmp, uint32_t n, const Value *keys) {
  uint32_t *src = idx, *dst = tmp;
  for (uint64_t w = 1; w < n; w *= 2) {
    for (uint64_t lo = 0; lo < n; lo += 2 * w) {
      uint64_t mid = lo + w < n ? lo + w : n;
      uint64_t hi = lo + 2 * w < n ? lo + 2 * w : n;
      uint64_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        int c;
        if (!vm_compare(vm, f, keys[src[j]], keys[src[i]], &c)) return NULL;
        dst[k++] = c < 0 ? src[j++] : src[i++];
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    uint32_t *t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/* The elements of xs ordered by keys (same length), as a new list. */
static NativeStatus sort_with_keys(VM *vm, Fiber *f, ObjList *xs, const Value *keys, Value *out) {
  uint32_t n = xs->n;
  if (!std_charge(vm, f, (uint64_t)n * passes(n), 0) ||
      !std_check_list(vm, f, n, (uint64_t)n * 2 * sizeof(uint32_t)))
    return NATIVE_ERROR;
  size_t bytes = (size_t)n * sizeof(uint32_t);
  uint32_t *idx = n ? heap_alloc(&vm->heap, bytes) : NULL;
  uint32_t *tmp = n ? heap_alloc(&vm->heap, bytes) : NULL;
  for (uint32_t i = 0; i < n; i++) idx[i] = i;
  uint32_t *sorted = n ? merge_sort(vm, f, idx, tmp, n, keys) : NULL;
  if (n && !sorted) {
    heap_free(&vm->heap, idx, bytes);
    heap_free(&vm->heap, tmp, bytes);
    return NATIVE_ERROR;
  }
  Value list = v_list(&vm->heap, n);
  ObjList *l = AS_LIST(list);
  for (uint32_t i = 0; i < n; i++) l->items[i] = v_retain(xs->items[sorted[i]]);
  l->n = n;
  if (n) {
    heap_free(&vm->heap, idx, bytes);
    heap_free(&vm->heap, tmp, bytes);
  }
  *out = list;
  return NATIVE_OK;
}

NativeStatus std_sort(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xs;
  if (!std_arg_list(vm, f, args, 0, "sort", &xs)) return NATIVE_ERROR;
  return sort_with_keys(vm, f, xs, xs->items, out);
}

NativeStatus std_sort_by_keys(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xs, *keys;
  if (!std_arg_list(vm, f, args, 0, "sort_by_keys", &xs) ||
      !std_arg_list(vm, f, args, 1, "sort_by_keys", &keys))
    return NATIVE_ERROR;
  if (xs->n != keys->n)
    return vm_raise(vm, f, "sort_by_keys: %u elements but %u keys", xs->n, keys->n);
  return sort_with_keys(vm, f, xs, keys->items, out);
}

/* ---- reshaping --------------------------------------------------------- */

NativeStatus std_reverse(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xs;
  if (!std_arg_list(vm, f, args, 0, "reverse", &xs)) return NATIVE_ERROR;
  if (!std_charge(vm, f, xs->n, 0) || !std_check_list(vm, f, xs->n, 0)) return NATIVE_ERROR;
  Value list = v_list(&vm->heap, xs->n);
  ObjList *l = AS_LIST(list);
  for (uint32_t i = 0; i < xs->n; i++) l->items[i] = v_retain(xs->items[xs->n - 1 - i]);
  l->n = xs->n;
  *out = list;
  return NATIVE_OK;
}

/* Pairs (or index/value records) share one shape per call. */
static NativeStatus build_pairs(VM *vm, Fiber *f, const char *const *names, ObjList *a, ObjList *b,
                                uint32_t n, Value *out) {
  if (!std_charge(vm, f, n, 0) ||
      !std_check_list(vm, f, n, (uint64_t)n * (sizeof(ObjRecord) + 2 * sizeof(Value))))
    return NATIVE_ERROR;
  ObjShape *shape = std_shape(&vm->heap, names);
  Value list = v_list(&vm->heap, n);
  ObjList *l = AS_LIST(list);
  for (uint32_t i = 0; i < n; i++) {
    Value r = v_record(&vm->heap, shape);
    AS_RECORD(r)->vals[0] = a ? v_retain(a->items[i]) : v_int(i);
    AS_RECORD(r)->vals[1] = v_retain(b->items[i]);
    l->items[l->n++] = r;
  }
  v_release(&vm->heap, v_obj(&shape->h));
  *out = list;
  return NATIVE_OK;
}

NativeStatus std_zip(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *a, *b;
  if (!std_arg_list(vm, f, args, 0, "zip", &a) || !std_arg_list(vm, f, args, 1, "zip", &b))
    return NATIVE_ERROR;
  static const char *const names[] = {"first", "second", NULL};
  return build_pairs(vm, f, names, a, b, a->n < b->n ? a->n : b->n, out);
}

NativeStatus std_enumerate(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xs;
  if (!std_arg_list(vm, f, args, 0, "enumerate", &xs)) return NATIVE_ERROR;
  static const char *const names[] = {"index", "value", NULL};
  return build_pairs(vm, f, names, NULL, xs, xs->n, out);
}

NativeStatus std_flatten(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xss;
  if (!std_arg_list(vm, f, args, 0, "flatten", &xss)) return NATIVE_ERROR;
  uint64_t total = 0;
  for (uint32_t i = 0; i < xss->n; i++) {
    if (!v_is(xss->items[i], OBJ_LIST))
      return vm_raise(vm, f, "flatten: element %u is a %s, not a list", i, v_type_name(xss->items[i]));
    total += AS_LIST(xss->items[i])->n;
  }
  if (!std_charge(vm, f, (uint64_t)xss->n + total, 0) || !std_check_list(vm, f, total, 0))
    return NATIVE_ERROR;
  Value list = v_list(&vm->heap, (uint32_t)total);
  ObjList *l = AS_LIST(list);
  for (uint32_t i = 0; i < xss->n; i++) {
    ObjList *xs = AS_LIST(xss->items[i]);
    for (uint32_t j = 0; j < xs->n; j++) l->items[l->n++] = v_retain(xs->items[j]);
  }
  *out = list;
  return NATIVE_OK;
}

/* take/drop: a count beyond the length is clamped (take(xs, 10) of three
 * elements is all three); a negative count is an error. */
static NativeStatus take_drop(VM *vm, Fiber *f, const Value *args, bool take, Value *out) {
  const char *fn = take ? "take" : "drop";
  ObjList *xs;
  int64_t n;
  if (!std_arg_list(vm, f, args, 0, fn, &xs) || !std_arg_int(vm, f, args, 1, fn, &n))
    return NATIVE_ERROR;
  if (n < 0) return vm_raise(vm, f, "%s: negative count %lld", fn, (long long)n);
  uint32_t k = (uint64_t)n < xs->n ? (uint32_t)n : xs->n;
  uint32_t from = take ? 0 : k, cnt = take ? k : xs->n - k;
  if (!std_charge(vm, f, cnt, 0) || !std_check_list(vm, f, cnt, 0)) return NATIVE_ERROR;
  *out = copy_items(&vm->heap, xs->items + from, cnt);
  return NATIVE_OK;
}

NativeStatus std_take(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return take_drop(vm, f, args, true, out);
}

NativeStatus std_drop(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return take_drop(vm, f, args, false, out);
}

/* slice(xs, a, b): elements [a, b); 0 <= a <= b <= len(xs) or an error. */
NativeStatus std_slice_list(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xs;
  int64_t a, b;
  if (!std_arg_list(vm, f, args, 0, "slice", &xs) || !std_arg_int(vm, f, args, 1, "slice", &a) ||
      !std_arg_int(vm, f, args, 2, "slice", &b))
    return NATIVE_ERROR;
  if (a < 0 || b < a || b > (int64_t)xs->n)
    return vm_raise(vm, f, "slice: range [%lld, %lld) out of bounds for a list of length %u",
                    (long long)a, (long long)b, xs->n);
  uint32_t cnt = (uint32_t)(b - a);
  if (!std_charge(vm, f, cnt, 0) || !std_check_list(vm, f, cnt, 0)) return NATIVE_ERROR;
  *out = copy_items(&vm->heap, xs->items + a, cnt);
  return NATIVE_OK;
}

/* ---- unique and contains ----------------------------------------------- */

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

/* A hash consistent with v_equal: values v_equal calls equal hash alike
 * (1 and 1.0 alike; durations like ints; containers by size only, since
 * maps and records are equal regardless of order). */
static uint64_t value_hash(Value v) {
  switch ((ValueTag)v.tag) {
  case V_NONE: return 1;
  case V_BOOL: return 2 + v.as.b;
  case V_INT: case V_DURATION: return mix((uint64_t)v.as.i);
  case V_FLOAT: {
    double d = v.as.f;
    if (d == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == trunc(d))
      return mix((uint64_t)(int64_t)d);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return mix(bits);
  }
  case V_OBJ: break;
  }
  switch ((ObjKind)v.as.o->kind) {
  case OBJ_STRING: return mix(str_hash(AS_STRING(v)) + 7);
  case OBJ_LIST: return mix(AS_LIST(v)->n + 0x100000000ULL);
  case OBJ_MAP: return mix(AS_MAP(v)->n + 0x200000000ULL);
  case OBJ_RECORD: return mix(AS_RECORD(v)->shape->n + 0x200000000ULL);
  default: return 3;
  }
}

NativeStatus std_unique(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xs;
  if (!std_arg_list(vm, f, args, 0, "unique", &xs)) return NATIVE_ERROR;
  uint32_t n = xs->n;
  uint64_t cap = 4;
  while (cap < 2 * (uint64_t)n) cap *= 2;
  if (!std_charge(vm, f, n, 0) || !std_check_list(vm, f, n, cap * sizeof(uint32_t)))
    return NATIVE_ERROR;
  /* open addressing: slot holds element index + 1 of a kept element */
  uint32_t *table = heap_alloc(&vm->heap, cap * sizeof(uint32_t));
  memset(table, 0, cap * sizeof(uint32_t));
  Value list = v_list(&vm->heap, n);
  ObjList *l = AS_LIST(list);
  NativeStatus st = NATIVE_OK;
  for (uint32_t i = 0; i < n && st == NATIVE_OK; i++) {
    Value x = xs->items[i];
    uint64_t j = value_hash(x) & (cap - 1);
    bool seen = false;
    for (; table[j]; j = (j + 1) & (cap - 1)) {
      if (!std_charge(vm, f, 1, 0)) { st = NATIVE_ERROR; break; }
      if (!vm_equal(vm, f, xs->items[table[j] - 1], x, &seen)) { st = NATIVE_ERROR; break; }
      if (seen) break;
    }
    if (st != NATIVE_OK || seen) continue;
    table[j] = i + 1;
    l->items[l->n++] = v_retain(x);
  }
  heap_free(&vm->heap, table, cap * sizeof(uint32_t));
  if (st != NATIVE_OK) {
    v_release(&vm->heap, list);
    return st;
  }
  *out = list;
  return NATIVE_OK;
}

NativeStatus std_contains_list(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xs;
  if (!std_arg_list(vm, f, args, 0, "contains", &xs)) return NATIVE_ERROR;
  if (!std_charge(vm, f, xs->n, 0)) return NATIVE_ERROR;
  bool found = false;
  for (uint32_t i = 0; i < xs->n && !found; i++)
    if (!vm_equal(vm, f, xs->items[i], args[1], &found)) return NATIVE_ERROR;
  *out = v_bool(found);
  return NATIVE_OK;
}

/* ---- numbers ----------------------------------------------------------- */

/* range over [a, b): empty when b <= a; bounded by the list and memory
 * limits before anything is allocated. */
static NativeStatus make_range(VM *vm, Fiber *f, int64_t a, int64_t b, Value *out) {
  uint64_t n = b > a ? (uint64_t)b - (uint64_t)a : 0;
  if (n > UINT32_MAX) {
    vm_too_large(vm, f, "range: too many elements");
    return NATIVE_ERROR;
  }
  if (!std_check_list(vm, f, n, 0) || !std_charge(vm, f, n, 0)) return NATIVE_ERROR;
  Value list = v_list(&vm->heap, (uint32_t)n);
  ObjList *l = AS_LIST(list);
  for (uint64_t i = 0; i < n; i++) l->items[i] = v_int((int64_t)((uint64_t)a + i));
  l->n = (uint32_t)n;
  *out = list;
  return NATIVE_OK;
}

NativeStatus std_range1(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  int64_t n;
  if (!std_arg_int(vm, f, args, 0, "range", &n)) return NATIVE_ERROR;
  return make_range(vm, f, 0, n, out);
}

NativeStatus std_range2(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  int64_t a, b;
  if (!std_arg_int(vm, f, args, 0, "range", &a) || !std_arg_int(vm, f, args, 1, "range", &b))
    return NATIVE_ERROR;
  return make_range(vm, f, a, b, out);
}

NativeStatus std_sum_int(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xs;
  if (!std_arg_list(vm, f, args, 0, "sum", &xs)) return NATIVE_ERROR;
  if (!std_charge(vm, f, xs->n, 0)) return NATIVE_ERROR;
  int64_t s = 0;
  for (uint32_t i = 0; i < xs->n; i++) {
    Value x = xs->items[i];
    if (x.tag != V_INT) return vm_raise(vm, f, "sum: element %u is a %s, not an int", i, v_type_name(x));
    if (__builtin_add_overflow(s, x.as.i, &s)) return vm_raise(vm, f, "integer overflow in sum");
  }
  *out = v_int(s);
  return NATIVE_OK;
}

NativeStatus std_sum_float(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xs;
  if (!std_arg_list(vm, f, args, 0, "sum", &xs)) return NATIVE_ERROR;
  if (!std_charge(vm, f, xs->n, 0)) return NATIVE_ERROR;
  double s = 0;
  for (uint32_t i = 0; i < xs->n; i++) {
    Value x = xs->items[i];
    if (x.tag == V_FLOAT) s += x.as.f;
    else if (x.tag == V_INT) s += (double)x.as.i;
    else return vm_raise(vm, f, "sum: element %u is a %s, not a float", i, v_type_name(x));
  }
  *out = v_float(s);
  return NATIVE_OK;
}

/* ---- extremes ---------------------------------------------------------- */

/* max/min of a list of numbers or durations: none for an empty list; on a
 * tie the first element wins; a NaN anywhere makes the result NaN, as the
 * two-argument max/min do, so max(xs) is max(max(x0, x1), x2)... */
static NativeStatus list_extreme(VM *vm, Fiber *f, const Value *args, bool is_max, ValueTag want,
                                 Value *out) {
  const char *fn = is_max ? "max" : "min";
  ObjList *xs;
  if (!std_arg_list(vm, f, args, 0, fn, &xs)) return NATIVE_ERROR;
  if (!std_charge(vm, f, xs->n, 0)) return NATIVE_ERROR;
  if (!xs->n) {
    *out = v_none();
    return NATIVE_OK;
  }
  const char *what = want == V_INT ? "an int" : want == V_FLOAT ? "a float" : "a duration";
  if (want == V_FLOAT) {
    double best = 0;
    for (uint32_t i = 0; i < xs->n; i++) {
      Value x = xs->items[i];
      double d;
      if (x.tag == V_FLOAT) d = x.as.f;
      else if (x.tag == V_INT) d = (double)x.as.i; /* a json-typed list may hold ints */
      else return vm_raise(vm, f, "%s: element %u is a %s, not %s", fn, i, v_type_name(x), what);
      if (isnan(d)) {
        best = NAN;
        break;
      }
      if (i == 0 || (is_max ? d > best : d < best)) best = d;
    }
    *out = v_float(best);
    return NATIVE_OK;
  }
  int64_t best = 0;
  for (uint32_t i = 0; i < xs->n; i++) {
    Value x = xs->items[i];
    if (x.tag != want) return vm_raise(vm, f, "%s: element %u is a %s, not %s", fn, i, v_type_name(x), what);
    if (i == 0 || (is_max ? x.as.i > best : x.as.i < best)) best = x.as.i;
  }
  *out = want == V_DURATION ? v_duration(best) : v_int(best);
  return NATIVE_OK;
}

NativeStatus std_max_list_int(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return list_extreme(vm, f, args, true, V_INT, out);
}
NativeStatus std_max_list_float(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return list_extreme(vm, f, args, true, V_FLOAT, out);
}
NativeStatus std_max_list_duration(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return list_extreme(vm, f, args, true, V_DURATION, out);
}
NativeStatus std_min_list_int(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return list_extreme(vm, f, args, false, V_INT, out);
}
NativeStatus std_min_list_float(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return list_extreme(vm, f, args, false, V_FLOAT, out);
}
NativeStatus std_min_list_duration(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return list_extreme(vm, f, args, false, V_DURATION, out);
}

/* max_by_keys/min_by_keys(xs, keys): the element whose key is largest
 * (smallest), keys compared as sort compares them (vm_compare, charged per
 * node); the first on a tie; none for an empty list. */
static NativeStatus extreme_by_keys(VM *vm, Fiber *f, const Value *args, bool is_max, Value *out) {
  const char *fn = is_max ? "max_by_keys" : "min_by_keys";
  ObjList *xs, *keys;
  if (!std_arg_list(vm, f, args, 0, fn, &xs) || !std_arg_list(vm, f, args, 1, fn, &keys))
    return NATIVE_ERROR;
  if (xs->n != keys->n)
    return vm_raise(vm, f, "%s: %u elements but %u keys", fn, xs->n, keys->n);
  if (!std_charge(vm, f, xs->n, 0)) return NATIVE_ERROR;
  if (!xs->n) {
    *out = v_none();
    return NATIVE_OK;
  }
  uint32_t best = 0;
  for (uint32_t i = 1; i < xs->n; i++) {
    int c;
    if (!vm_compare(vm, f, keys->items[i], keys->items[best], &c)) return NATIVE_ERROR;
    if (is_max ? c > 0 : c < 0) best = i;
  }
  *out = v_retain(xs->items[best]);
  return NATIVE_OK;
}

NativeStatus std_max_by_keys(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return extreme_by_keys(vm, f, args, true, out);
}
NativeStatus std_min_by_keys(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return extreme_by_keys(vm, f, args, false, out);
}

/* ---- grouping ---------------------------------------------------------- */

/* A map from each distinct key to its number of occurrences, keys in order
 * of first occurrence. The map is built in place (it is unique), so the
 * work is one hash lookup per key. Memory is checked as the map grows,
 * for the arrays that growth reallocates and the index, so it is
 * proportional to the distinct keys, not to the list. When `index` is not
 * NULL it receives, for each key, the position of its entry in the map. */
static NativeStatus count_keys(VM *vm, Fiber *f, const char *fn, ObjList *keys, uint32_t *index,
                               Value *out) {
  uint32_t n = keys->n;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (!v_is(keys->items[i], OBJ_STRING))
      return vm_raise(vm, f, "%s: key %u is a %s, not a string", fn, i, v_type_name(keys->items[i]));
    bytes += AS_STRING(keys->items[i])->len;
  }
  if (!std_charge(vm, f, n, bytes)) return NATIVE_ERROR;
  /* per entry at a growth: old and new key and value arrays side by side,
   * and an index of up to four slots */
  const uint64_t entry = 2 * (sizeof(ObjString *) + sizeof(Value)) + 4 * sizeof(uint32_t);
  Value map = v_map(&vm->heap, 0);
  for (uint32_t i = 0; i < n; i++) {
    ObjString *k = AS_STRING(keys->items[i]);
    ObjMap *m = AS_MAP(map);
    Value *v = map_get(m, k);
    if (v) {
      *v = v_int(v->as.i + 1);
      if (index) index[i] = (uint32_t)(v - m->vals);
      continue;
    }
    if (m->n == m->cap && !vm_check_alloc(vm, f, (2 * (size_t)m->n + 8) * entry)) {
      v_release(&vm->heap, map);
      return NATIVE_ERROR;
    }
    map = map_set_take(&vm->heap, map, k, v_int(1)); /* appended: the last entry */
    if (index) index[i] = AS_MAP(map)->n - 1;
  }
  *out = map;
  return NATIVE_OK;
}

NativeStatus std_tally(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *keys;
  if (!std_arg_list(vm, f, args, 0, "tally", &keys)) return NATIVE_ERROR;
  return count_keys(vm, f, "tally", keys, NULL, out);
}

/* group_by_keys(xs, keys): each distinct key with the elements of xs that
 * have it, in order; the groups in order of first occurrence. Counting
 * first lets every group list be allocated at its final size. */
NativeStatus std_group_by_keys(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xs, *keys;
  if (!std_arg_list(vm, f, args, 0, "group_by_keys", &xs) ||
      !std_arg_list(vm, f, args, 1, "group_by_keys", &keys))
    return NATIVE_ERROR;
  if (xs->n != keys->n)
    return vm_raise(vm, f, "group_by_keys: %u elements but %u keys", xs->n, keys->n);
  uint32_t n = xs->n;
  size_t ibytes = (size_t)n * sizeof(uint32_t);
  if (!std_check_list(vm, f, 0, ibytes)) return NATIVE_ERROR;
  uint32_t *index = n ? heap_alloc(&vm->heap, ibytes) : NULL;
  Value map;
  if (count_keys(vm, f, "group_by_keys", keys, index, &map) != NATIVE_OK) {
    if (n) heap_free(&vm->heap, index, ibytes);
    return NATIVE_ERROR;
  }
  /* the group lists: one value per element and a header per group */
  if (!std_charge(vm, f, n, 0) ||
      !std_check_list(vm, f, n, (uint64_t)AS_MAP(map)->n * sizeof(ObjList))) {
    if (n) heap_free(&vm->heap, index, ibytes);
    v_release(&vm->heap, map);
    return NATIVE_ERROR;
  }
  ObjMap *m = AS_MAP(map);
  for (uint32_t g = 0; g < m->n; g++) m->vals[g] = v_list(&vm->heap, (uint32_t)m->vals[g].as.i);
  for (uint32_t i = 0; i < n; i++) {
    ObjList *l = AS_LIST(m->vals[index[i]]);
    l->items[l->n++] = v_retain(xs->items[i]);
  }
  if (n) heap_free(&vm->heap, index, ibytes);
  *out = map;
  return NATIVE_OK;
}
