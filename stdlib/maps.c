/* maps.c — map natives.
 *
 * Maps keep insertion order (like JSON objects), so keys() and values()
 * list entries in the order they were first set; set() on an existing key
 * keeps its position. set and remove return new maps: the argument is
 * retained first, so map_set_take / map_remove_take copy it (its count is
 * above one) and the caller's map is never changed. */
#include "std_internal.h"

NativeStatus std_len_map(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjMap *m;
  if (!std_arg_map(vm, f, args, 0, "len", &m)) return NATIVE_ERROR;
  *out = v_int(m->n);
  return NATIVE_OK;
}

NativeStatus std_keys(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjMap *m;
  if (!std_arg_map(vm, f, args, 0, "keys", &m)) return NATIVE_ERROR;
  if (!std_charge(vm, f, m->n, 0) || !std_check_list(vm, f, m->n, 0)) return NATIVE_ERROR;
  Value list = v_list(&vm->heap, m->n);
  ObjList *l = AS_LIST(list);
  for (uint32_t i = 0; i < m->n; i++) l->items[i] = v_retain(v_obj(&m->keys[i]->h));
  l->n = m->n;
  *out = list;
  return NATIVE_OK;
}

NativeStatus std_values(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjMap *m;
  if (!std_arg_map(vm, f, args, 0, "values", &m)) return NATIVE_ERROR;
  if (!std_charge(vm, f, m->n, 0) || !std_check_list(vm, f, m->n, 0)) return NATIVE_ERROR;
  Value list = v_list(&vm->heap, m->n);
  ObjList *l = AS_LIST(list);
  for (uint32_t i = 0; i < m->n; i++) l->items[i] = v_retain(m->vals[i]);
  l->n = m->n;
  *out = list;
  return NATIVE_OK;
}

NativeStatus std_get(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjMap *m;
  ObjString *k;
  if (!std_arg_map(vm, f, args, 0, "get", &m) || !std_arg_string(vm, f, args, 1, "get", &k))
    return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, k->len)) return NATIVE_ERROR;
  Value *v = map_get(m, k);
  *out = v ? v_retain(*v) : v_none();
  return NATIVE_OK;
}

NativeStatus std_has(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjMap *m;
  ObjString *k;
  if (!std_arg_map(vm, f, args, 0, "has", &m) || !std_arg_string(vm, f, args, 1, "has", &k))
    return NATIVE_ERROR;
  if (!std_charge(vm, f, 1, k->len)) return NATIVE_ERROR;
  *out = v_bool(map_get(m, k) != NULL);
  return NATIVE_OK;
}

NativeStatus std_set(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjMap *m;
  ObjString *k;
  if (!std_arg_map(vm, f, args, 0, "set", &m) || !std_arg_string(vm, f, args, 1, "set", &k))
    return NATIVE_ERROR;
  if (m->n == UINT32_MAX) return vm_raise(vm, f, "set: map too large");
  if (!std_charge(vm, f, (uint64_t)m->n + 1, k->len) ||
      !std_check_list(vm, f, (uint64_t)m->n + 1, ((uint64_t)m->n + 1) * (sizeof(void *) + 8)))
    return NATIVE_ERROR;
  *out = map_set_take(&vm->heap, v_retain(args[0]), k, v_retain(args[2]));
  return NATIVE_OK;
}

NativeStatus std_remove(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  ObjMap *m;
  ObjString *k;
  if (!std_arg_map(vm, f, args, 0, "remove", &m) || !std_arg_string(vm, f, args, 1, "remove", &k))
    return NATIVE_ERROR;
  if (!std_charge(vm, f, m->n, k->len) ||
      !std_check_list(vm, f, m->n, (uint64_t)m->n * (sizeof(void *) + 8)))
    return NATIVE_ERROR;
  *out = map_remove_take(&vm->heap, v_retain(args[0]), k);
  return NATIVE_OK;
}
