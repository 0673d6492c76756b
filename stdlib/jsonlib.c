/* jsonlib.c — the natives json_parse, to_json, str, parse_int and
 * parse_float, and metered rendering (std_render). They are thin: JSON text
 * -> values and type-directed conversion are the VM's (vm/json.c), which
 * the effects host shares for model replies. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "std_internal.h"
#include "../vm/json.h"

bool std_render(VM *vm, Fiber *f, Value v, bool display, Buf *b) {
  return vm_render(vm, f, v, display, b);
}

NativeStatus std_json_parse_native(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s;
  if (!std_arg_string(vm, f, args, 0, "json_parse", &s)) return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, (uint64_t)s->len * 4) || !vm_check_alloc(vm, f, s->len)) return NATIVE_ERROR;
  char *err = NULL;
  if (!v_from_json(&vm->heap, s->data, s->len, out, &err)) {
    NativeStatus st = vm_raise(vm, f, "json_parse: %s", err);
    free(err);
    return st;
  }
  return NATIVE_OK;
}

static NativeStatus render_native(VM *vm, Fiber *f, Value v, bool display, Value *out) {
  Buf b;
  buf_init(&b);
  if (!std_render(vm, f, v, display, &b)) {
    buf_free(&b);
    return NATIVE_ERROR;
  }
  *out = v_string(&vm->heap, b.data ? b.data : "", b.len);
  buf_free(&b);
  return NATIVE_OK;
}

NativeStatus std_to_json(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return render_native(vm, f, args[0], false, out);
}

NativeStatus std_str(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  if (v_is(args[0], OBJ_STRING)) { *out = v_retain(args[0]); return NATIVE_OK; }
  return render_native(vm, f, args[0], true, out);
}

/* The string with ASCII whitespace trimmed off both ends, as [*a, *b). */
static void trimmed(const ObjString *s, size_t *a, size_t *b) {
  size_t i = 0, j = s->len;
  while (i < j && (s->data[i] == ' ' || (s->data[i] >= '\t' && s->data[i] <= '\r'))) i++;
  while (j > i && (s->data[j - 1] == ' ' || (s->data[j - 1] >= '\t' && s->data[j - 1] <= '\r'))) j--;
  *a = i;
  *b = j;
}

/* parse_int: optional sign and decimal digits, surrounding whitespace
 * allowed; anything else, or a value outside int64, gives none. */
NativeStatus std_parse_int(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s;
  if (!std_arg_string(vm, f, args, 0, "parse_int", &s)) return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, s->len)) return NATIVE_ERROR;
  size_t i, end;
  trimmed(s, &i, &end);
  bool neg = false;
  if (i < end && (s->data[i] == '+' || s->data[i] == '-')) neg = s->data[i++] == '-';
  *out = v_none();
  if (i == end) return NATIVE_OK;
  uint64_t mag = 0;
  for (; i < end; i++) {
    char c = s->data[i];
    if (c < '0' || c > '9') return NATIVE_OK;
    if (__builtin_mul_overflow(mag, 10, &mag) || __builtin_add_overflow(mag, (uint64_t)(c - '0'), &mag))
      return NATIVE_OK;
  }
  if (mag > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) return NATIVE_OK;
  *out = v_int(neg ? (int64_t)(0 - mag) : (int64_t)mag);
  return NATIVE_OK;
}

/* parse_float: [sign] digits [. digits] [e [sign] digits] (".5" and "5."
 * too), surrounding whitespace allowed. No "nan", "inf" or hex forms, and a
 * value that overflows to infinity gives none. */
NativeStatus std_parse_float(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjString *s;
  if (!std_arg_string(vm, f, args, 0, "parse_float", &s)) return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, s->len)) return NATIVE_ERROR;
  size_t a, end;
  trimmed(s, &a, &end);
  *out = v_none();
  size_t i = a, digits = 0;
  if (i < end && (s->data[i] == '+' || s->data[i] == '-')) i++;
  while (i < end && s->data[i] >= '0' && s->data[i] <= '9') { i++; digits++; }
  if (i < end && s->data[i] == '.') {
    i++;
    while (i < end && s->data[i] >= '0' && s->data[i] <= '9') { i++; digits++; }
  }
  if (!digits) return NATIVE_OK;
  if (i < end && (s->data[i] == 'e' || s->data[i] == 'E')) {
    i++;
    if (i < end && (s->data[i] == '+' || s->data[i] == '-')) i++;
    size_t ed = 0;
    while (i < end && s->data[i] >= '0' && s->data[i] <= '9') { i++; ed++; }
    if (!ed) return NATIVE_OK;
  }
  if (i != end) return NATIVE_OK;
  /* strtod needs a terminated copy: the trimmed text may end before a space */
  char *tmp = malloc(end - a + 1);
  if (!tmp) return vm_raise(vm, f, "out of memory");
  memcpy(tmp, s->data + a, end - a);
  tmp[end - a] = '\0';
  double d = strtod(tmp, NULL);
  free(tmp);
  if (isfinite(d)) *out = v_float(d);
  return NATIVE_OK;
}
