/* strings.c — string natives and the UTF-8 helpers.
 *
 * Strings are UTF-8 byte strings. Lengths and indices that programs see
 * (len, slice, index_of, chars) count Unicode code points, never bytes, so
 * a model's "first 10 characters" means what it says and a slice never
 * cuts a character in half. Case mapping (upper, lower) and trim are ASCII
 * only: locale-free and deterministic.
 *
 * Substring search is Knuth-Morris-Pratt: linear in the text whatever the
 * pattern, so a hostile `contains` or `replace` costs what it was charged. */
#include <string.h>
#include "../base/util.h"
#include "std_internal.h"

/* ---- UTF-8 ------------------------------------------------------------- */

static bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

size_t std_utf8_count(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += !is_cont((unsigned char)s[i]);
  return n;
}

size_t std_utf8_offset(const char *s, size_t len, size_t idx) {
  size_t i = 0;
  for (; i < len; i++) {
    if (!is_cont((unsigned char)s[i])) {
      if (idx == 0) return i;
      idx--;
    }
  }
  return len;
}

/* Byte length of the valid sequence at s[0..n), 0 when invalid (overlong,
 * surrogate, beyond U+10FFFF, truncated). */
bool std_utf8_valid(const char *s, size_t len, size_t *bad) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    if (p[i] < 0x80) { i++; continue; }
    size_t l = utf8_seq_len(p + i, len - i);
    if (!l) {
      if (bad) *bad = i;
      return false;
    }
    i += l;
  }
  return true;
}

/* ---- search ------------------------------------------------------------ */

/* A compiled pattern: KMP failure table (heap-counted) for m >= 2. */
typedef struct Finder {
  const char *pat;
  size_t m;
  size_t *fail;
} Finder;

static bool finder_init(VM *vm, Fiber *f, Finder *fd, const char *pat, size_t m) {
  fd->pat = pat;
  fd->m = m;
  fd->fail = NULL;
  if (m < 2) return true;
  if (m > SIZE_MAX / sizeof(size_t)) return vm_check_alloc(vm, f, SIZE_MAX);
  if (!vm_check_alloc(vm, f, m * sizeof(size_t))) return false;
  fd->fail = heap_alloc(&vm->heap, m * sizeof(size_t));
  fd->fail[0] = 0;
  size_t k = 0;
  for (size_t i = 1; i < m; i++) {
    while (k > 0 && pat[i] != pat[k]) k = fd->fail[k - 1];
    if (pat[i] == pat[k]) k++;
    fd->fail[i] = k;
  }
  return true;
}

static void finder_free(VM *vm, Finder *fd) {
  if (fd->fail) heap_free(&vm->heap, fd->fail, fd->m * sizeof(size_t));
  fd->fail = NULL;
}

/* Offset of the first match at or after `from`, or SIZE_MAX. */
static size_t finder_next(const Finder *fd, const char *s, size_t n, size_t from) {
  size_t m = fd->m;
  if (m == 0) return from <= n ? from : SIZE_MAX;
  if (from >= n || n - from < m) return SIZE_MAX;
  if (m == 1) {
    const char *p = memchr(s + from, fd->pat[0], n - from);
    return p ? (size_t)(p - s) : SIZE_MAX;
  }
  size_t k = 0;
  for (size_t i = from; i < n; i++) {
    while (k > 0 && s[i] != fd->pat[k]) k = fd->fail[k - 1];
    if (s[i] == fd->pat[k]) k++;
    if (k == m) return i + 1 - m;
  }
  return SIZE_MAX;
}

/* One-shot search for natives that look for a single match. */
static bool find_once(VM *vm, Fiber *f, const ObjString *s, const ObjString *sub, size_t *at) {
  Finder fd;
  if (!finder_init(vm, f, &fd, sub->data, sub->len)) return false;
  *at = finder_next(&fd, s->data, s->len, 0);
  finder_free(vm, &fd);
  return true;
}

/* ---- natives ----------------------------------------------------------- */

NativeStatus std_len_string(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s;
  if (!std_arg_string(vm, f, args, 0, "len", &s)) return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, s->len)) return NATIVE_ERROR;
  *out = v_int((int64_t)std_utf8_count(s->data, s->len));
  return NATIVE_OK;
}

/* split(s, sep): pieces between occurrences of sep; "" splits to [""]. */
NativeStatus std_split(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s, *sep;
  if (!std_arg_string(vm, f, args, 0, "split", &s) ||
      !std_arg_string(vm, f, args, 1, "split", &sep))
    return NATIVE_ERROR;
  if (sep->len == 0) return vm_raise(vm, f, "split: empty separator");
  uint64_t pieces = s->len / sep->len + 1;
  if (!std_charge(vm, f, pieces, s->len) ||
      !std_check_list(vm, f, pieces, s->len + pieces * sizeof(ObjString)))
    return NATIVE_ERROR;
  Finder fd;
  if (!finder_init(vm, f, &fd, sep->data, sep->len)) return NATIVE_ERROR;
  Value list = v_list(&vm->heap, 4);
  size_t from = 0;
  for (;;) {
    size_t at = finder_next(&fd, s->data, s->len, from);
    size_t end = at == SIZE_MAX ? s->len : at;
    list = list_push_take(&vm->heap, list, v_string(&vm->heap, s->data + from, end - from));
    if (at == SIZE_MAX) break;
    from = at + sep->len;
  }
  finder_free(vm, &fd);
  *out = list;
  return NATIVE_OK;
}

NativeStatus std_join(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjList *xs;
  ObjString *sep;
  if (!std_arg_list(vm, f, args, 0, "join", &xs) ||
      !std_arg_string(vm, f, args, 1, "join", &sep))
    return NATIVE_ERROR;
  if (!std_charge(vm, f, xs->n, 0)) return NATIVE_ERROR;
  uint64_t total = 0;
  for (uint32_t i = 0; i < xs->n; i++) {
    if (!v_is(xs->items[i], OBJ_STRING))
      return vm_raise(vm, f, "join: element %u is a %s, not a string", i, v_type_name(xs->items[i]));
    if (__builtin_add_overflow(total, (uint64_t)AS_STRING(xs->items[i])->len, &total) ||
        (i && __builtin_add_overflow(total, (uint64_t)sep->len, &total)))
      total = UINT64_MAX;
  }
  if (total >= SIZE_MAX / 2) {
    vm_too_large(vm, f, "join: result too large");
    return NATIVE_ERROR;
  }
  if (!vm_check_alloc(vm, f, (size_t)total) || !std_charge(vm, f, 0, total)) return NATIVE_ERROR;
  ObjString *r = str_alloc(&vm->heap, (size_t)total);
  char *p = r->data;
  for (uint32_t i = 0; i < xs->n; i++) {
    if (i && sep->len) { memcpy(p, sep->data, sep->len); p += sep->len; }
    ObjString *x = AS_STRING(xs->items[i]);
    if (x->len) { memcpy(p, x->data, x->len); p += x->len; }
  }
  *out = v_obj(&r->h);
  return NATIVE_OK;
}

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

NativeStatus std_trim(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s;
  if (!std_arg_string(vm, f, args, 0, "trim", &s)) return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, s->len)) return NATIVE_ERROR;
  size_t a = 0, b = s->len;
  while (a < b && is_space(s->data[a])) a++;
  while (b > a && is_space(s->data[b - 1])) b--;
  if (a == 0 && b == s->len) *out = v_retain(args[0]);
  else *out = v_string(&vm->heap, s->data + a, b - a);
  return NATIVE_OK;
}

NativeStatus std_contains_string(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s, *sub;
  if (!std_arg_string(vm, f, args, 0, "contains", &s) ||
      !std_arg_string(vm, f, args, 1, "contains", &sub))
    return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, (uint64_t)s->len + sub->len)) return NATIVE_ERROR;
  size_t at;
  if (!find_once(vm, f, s, sub, &at)) return NATIVE_ERROR;
  *out = v_bool(at != SIZE_MAX);
  return NATIVE_OK;
}

NativeStatus std_starts_with(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s, *p;
  if (!std_arg_string(vm, f, args, 0, "starts_with", &s) ||
      !std_arg_string(vm, f, args, 1, "starts_with", &p))
    return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, p->len)) return NATIVE_ERROR;
  *out = v_bool(p->len <= s->len && memcmp(s->data, p->data, p->len) == 0);
  return NATIVE_OK;
}

NativeStatus std_ends_with(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s, *p;
  if (!std_arg_string(vm, f, args, 0, "ends_with", &s) ||
      !std_arg_string(vm, f, args, 1, "ends_with", &p))
    return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, p->len)) return NATIVE_ERROR;
  *out = v_bool(p->len <= s->len && memcmp(s->data + s->len - p->len, p->data, p->len) == 0);
  return NATIVE_OK;
}

/* replace(s, a, b): counts the matches first so the result is sized (and
 * checked against the memory limit) exactly before anything is built. */
NativeStatus std_replace(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s, *a, *b;
  if (!std_arg_string(vm, f, args, 0, "replace", &s) ||
      !std_arg_string(vm, f, args, 1, "replace", &a) ||
      !std_arg_string(vm, f, args, 2, "replace", &b))
    return NATIVE_ERROR;
  if (a->len == 0) return vm_raise(vm, f, "replace: empty pattern");
  if (!std_charge(vm, f, 1, (uint64_t)s->len + a->len)) return NATIVE_ERROR;
  Finder fd;
  if (!finder_init(vm, f, &fd, a->data, a->len)) return NATIVE_ERROR;
  uint64_t count = 0;
  for (size_t at = finder_next(&fd, s->data, s->len, 0); at != SIZE_MAX;
       at = finder_next(&fd, s->data, s->len, at + a->len))
    count++;
  if (count == 0) {
    finder_free(vm, &fd);
    *out = v_retain(args[0]);
    return NATIVE_OK;
  }
  uint64_t grow, total = s->len - count * a->len;
  if (__builtin_mul_overflow(count, (uint64_t)b->len, &grow) ||
      __builtin_add_overflow(total, grow, &total) || total >= SIZE_MAX / 2) {
    finder_free(vm, &fd);
    vm_too_large(vm, f, "replace: result too large");
    return NATIVE_ERROR;
  }
  if (!vm_check_alloc(vm, f, (size_t)total) || !std_charge(vm, f, count, total)) {
    finder_free(vm, &fd);
    return NATIVE_ERROR;
  }
  ObjString *r = str_alloc(&vm->heap, (size_t)total);
  char *p = r->data;
  size_t from = 0;
  for (size_t at = finder_next(&fd, s->data, s->len, 0); at != SIZE_MAX;
       at = finder_next(&fd, s->data, s->len, from)) {
    memcpy(p, s->data + from, at - from);
    p += at - from;
    if (b->len) { memcpy(p, b->data, b->len); p += b->len; }
    from = at + a->len;
  }
  memcpy(p, s->data + from, s->len - from);
  finder_free(vm, &fd);
  *out = v_obj(&r->h);
  return NATIVE_OK;
}

/* upper and lower: ASCII only, other bytes (all of multi-byte UTF-8) kept. */
static NativeStatus map_case(VM *vm, Fiber *f, const Value *args, bool up, Value *out) {
  ObjString *s;
  if (!std_arg_string(vm, f, args, 0, up ? "upper" : "lower", &s)) return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, s->len) || !vm_check_alloc(vm, f, s->len)) return NATIVE_ERROR;
  ObjString *r = str_alloc(&vm->heap, s->len);
  for (size_t i = 0; i < s->len; i++) {
    char c = s->data[i];
    if (up && c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
    else if (!up && c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    r->data[i] = c;
  }
  *out = v_obj(&r->h);
  return NATIVE_OK;
}

NativeStatus std_upper(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return map_case(vm, f, args, true, out);
}

NativeStatus std_lower(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return map_case(vm, f, args, false, out);
}

/* slice(s, a, b): code points [a, b); requires 0 <= a <= b <= len(s). An
 * out-of-range slice is an error, like an out-of-range index, rather than
 * silently clamped: a program that slices past the end has a bug. */
NativeStatus std_slice_string(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s;
  int64_t a, b;
  if (!std_arg_string(vm, f, args, 0, "slice", &s) || !std_arg_int(vm, f, args, 1, "slice", &a) ||
      !std_arg_int(vm, f, args, 2, "slice", &b))
    return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, s->len)) return NATIVE_ERROR;
  size_t n = std_utf8_count(s->data, s->len);
  if (a < 0 || b < a || (uint64_t)b > n)
    return vm_raise(vm, f, "slice: range [%lld, %lld) out of bounds for a string of length %zu",
                    (long long)a, (long long)b, n);
  size_t from = std_utf8_offset(s->data, s->len, (size_t)a);
  size_t to = std_utf8_offset(s->data, s->len, (size_t)b);
  *out = v_string(&vm->heap, s->data + from, to - from);
  return NATIVE_OK;
}

/* lines(s): split at "\n", dropping one "\r" before it; a final newline
 * does not start another (empty) line, and "" has no lines. */
NativeStatus std_lines(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s;
  if (!std_arg_string(vm, f, args, 0, "lines", &s)) return NATIVE_ERROR;
  uint64_t nl = 1;
  for (size_t i = 0; i < s->len; i++) nl += s->data[i] == '\n';
  if (!std_charge(vm, f, nl, s->len) ||
      !std_check_list(vm, f, nl, s->len + nl * sizeof(ObjString)))
    return NATIVE_ERROR;
  Value list = v_list(&vm->heap, (uint32_t)nl);
  ObjList *l = AS_LIST(list);
  size_t start = 0;
  while (start < s->len) {
    const char *nlp = memchr(s->data + start, '\n', s->len - start);
    size_t end = nlp ? (size_t)(nlp - s->data) : s->len;
    size_t next = nlp ? end + 1 : s->len;
    if (nlp && end > start && s->data[end - 1] == '\r') end--;
    l->items[l->n++] = v_string(&vm->heap, s->data + start, end - start);
    start = next;
  }
  *out = list;
  return NATIVE_OK;
}

NativeStatus std_index_of(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s, *sub;
  if (!std_arg_string(vm, f, args, 0, "index_of", &s) ||
      !std_arg_string(vm, f, args, 1, "index_of", &sub))
    return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, (uint64_t)s->len + sub->len)) return NATIVE_ERROR;
  size_t at;
  if (!find_once(vm, f, s, sub, &at)) return NATIVE_ERROR;
  *out = at == SIZE_MAX ? v_none() : v_int((int64_t)std_utf8_count(s->data, at));
  return NATIVE_OK;
}

NativeStatus std_repeat(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s;
  int64_t n;
  if (!std_arg_string(vm, f, args, 0, "repeat", &s) || !std_arg_int(vm, f, args, 1, "repeat", &n))
    return NATIVE_ERROR;
  if (n < 0) return vm_raise(vm, f, "repeat: negative count %lld", (long long)n);
  uint64_t total;
  if (__builtin_mul_overflow((uint64_t)n, (uint64_t)s->len, &total) || total >= SIZE_MAX / 2) {
    vm_too_large(vm, f, "repeat: result too large");
    return NATIVE_ERROR;
  }
  if (!vm_check_alloc(vm, f, (size_t)total) || !std_charge(vm, f, 1, total)) return NATIVE_ERROR;
  ObjString *r = str_alloc(&vm->heap, (size_t)total);
  for (size_t off = 0; off < total; off += s->len) memcpy(r->data + off, s->data, s->len);
  *out = v_obj(&r->h);
  return NATIVE_OK;
}

NativeStatus std_chars(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s;
  if (!std_arg_string(vm, f, args, 0, "chars", &s)) return NATIVE_ERROR;
  size_t n = std_utf8_count(s->data, s->len);
  /* bytes before the first lead byte (only in invalid text) form one more piece */
  if (s->len && is_cont((unsigned char)s->data[0])) n++;
  if (!std_charge(vm, f, n, s->len) ||
      !std_check_list(vm, f, n, (uint64_t)n * (sizeof(ObjString) + 8)))
    return NATIVE_ERROR;
  Value list = v_list(&vm->heap, (uint32_t)n);
  ObjList *l = AS_LIST(list);
  size_t i = 0;
  while (i < s->len) {
    size_t j = i + 1;
    while (j < s->len && is_cont((unsigned char)s->data[j])) j++;
    l->items[l->n++] = v_string(&vm->heap, s->data + i, j - i);
    i = j;
  }
  *out = list;
  return NATIVE_OK;
}
