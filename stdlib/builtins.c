/* builtins.c — the native table, lookup by key, shared argument and
 * metering helpers, and the effect natives (print, log, fail, sleep).
 *
 * The natives themselves live by area in strings.c, lists.c, maps.c,
 * json.c and math.c; natives.def is the one list they are registered in. */
#include <stdio.h>
#include <string.h>
#include "std_internal.h"

const Native std_natives[] = {
#define NATIVE(name, key, sig, fn, arity, doc) { name, key, sig, fn, arity, doc },
#include "natives.def"
#undef NATIVE
};
const uint32_t std_nnatives = sizeof std_natives / sizeof std_natives[0];

const Native *std_native_by_key(const char *key) {
  if (!key) return NULL;
  for (uint32_t i = 0; i < std_nnatives; i++)
    if (strcmp(std_natives[i].key, key) == 0) return &std_natives[i];
  return NULL;
}

/* ---- metering ---------------------------------------------------------- */

bool std_charge(VM *vm, Fiber *f, uint64_t elems, uint64_t bytes) {
  uint64_t units = bytes / STD_BYTES_PER_UNIT;
  if (elems > UINT64_MAX - units) units = UINT64_MAX;
  else units += elems;
  return vm_charge(vm, f, units ? units : 1);
}

bool std_check_list(VM *vm, Fiber *f, uint64_t n, uint64_t bytes) {
  uint64_t total;
  if (n > UINT32_MAX) {
    vm_raise(vm, f, "list too long (%llu elements)", (unsigned long long)n);
    return false;
  }
  if (__builtin_mul_overflow(n, (uint64_t)sizeof(Value), &total) ||
      __builtin_add_overflow(total, bytes, &total) || total > SIZE_MAX) {
    vm_raise(vm, f, "memory limit exceeded");
    return false;
  }
  return vm_check_alloc(vm, f, (size_t)total);
}

/* ---- argument checks --------------------------------------------------- */

static bool bad_arg(VM *vm, Fiber *f, const char *fn, int i, const char *want, Value got) {
  vm_raise(vm, f, "%s: argument %d must be %s, got %s", fn, i + 1, want, v_type_name(got));
  return false;
}

bool std_arg_string(VM *vm, Fiber *f, const Value *args, int i, const char *fn, ObjString **out) {
  if (!v_is(args[i], OBJ_STRING)) return bad_arg(vm, f, fn, i, "a string", args[i]);
  *out = AS_STRING(args[i]);
  return true;
}

bool std_arg_list(VM *vm, Fiber *f, const Value *args, int i, const char *fn, ObjList **out) {
  if (!v_is(args[i], OBJ_LIST)) return bad_arg(vm, f, fn, i, "a list", args[i]);
  *out = AS_LIST(args[i]);
  return true;
}

bool std_arg_map(VM *vm, Fiber *f, const Value *args, int i, const char *fn, ObjMap **out) {
  if (!v_is(args[i], OBJ_MAP)) return bad_arg(vm, f, fn, i, "a map", args[i]);
  *out = AS_MAP(args[i]);
  return true;
}

bool std_arg_int(VM *vm, Fiber *f, const Value *args, int i, const char *fn, int64_t *out) {
  if (args[i].tag != V_INT) return bad_arg(vm, f, fn, i, "an int", args[i]);
  *out = args[i].as.i;
  return true;
}

bool std_arg_float(VM *vm, Fiber *f, const Value *args, int i, const char *fn, double *out) {
  if (args[i].tag != V_FLOAT) return bad_arg(vm, f, fn, i, "a float", args[i]);
  *out = args[i].as.f;
  return true;
}

bool std_arg_duration(VM *vm, Fiber *f, const Value *args, int i, const char *fn, int64_t *out) {
  if (args[i].tag != V_DURATION) return bad_arg(vm, f, fn, i, "a duration", args[i]);
  *out = args[i].as.i;
  return true;
}

ObjShape *std_shape(Heap *h, const char *const *names) {
  uint32_t n = 0;
  while (names[n]) n++;
  ObjShape *s = shape_new(h, n);
  for (uint32_t i = 0; i < n; i++) {
    Value name = v_cstring(h, names[i]);
    s->names[i] = AS_STRING(name);
  }
  return s;
}

/* ---- effects ----------------------------------------------------------- */

/* print and log share this: render, then write with the newline in one
 * go so lines from concurrent fibers never interleave mid-line. */
static NativeStatus write_line(VM *vm, Fiber *f, FILE *to, Value v, Value *out) {
  Buf b;
  buf_init(&b);
  if (!std_render(vm, f, v, true, &b)) {
    buf_free(&b);
    return NATIVE_ERROR;
  }
  buf_putc(&b, '\n');
  if (to) {
    fwrite(b.data, 1, b.len, to);
    fflush(to);
  }
  buf_free(&b);
  *out = v_none();
  return NATIVE_OK;
}

NativeStatus std_print(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return write_line(vm, f, vm->out, args[0], out);
}

NativeStatus std_log(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return write_line(vm, f, vm->err, args[0], out);
}

NativeStatus std_fail(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  (void)out;
  ObjString *msg;
  if (!std_arg_string(vm, f, args, 0, "fail", &msg)) return NATIVE_ERROR;
  /* %.*s: a message with an embedded NUL is cut there, never overread */
  int n = msg->len > (size_t)INT32_MAX ? INT32_MAX : (int)msg->len;
  return vm_raise(vm, f, "%.*s", n, msg->data);
}

NativeStatus std_sleep(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  (void)out;
  int64_t ms;
  if (!std_arg_duration(vm, f, args, 0, "sleep", &ms)) return NATIVE_ERROR;
  if (ms < 0) return vm_raise(vm, f, "sleep: negative duration");
  if (!std_charge(vm, f, 1, 0)) return NATIVE_ERROR;
  vm_park_timer(vm, f, ms, v_none());
  return NATIVE_PARK;
}
