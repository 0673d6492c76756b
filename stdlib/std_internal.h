/* std_internal.h — what the stdlib's C files share (not a public header).
 *
 * Declares every native function from natives.def, the argument checks,
 * fuel/memory helpers and the UTF-8 helpers used across strings.c,
 * lists.c, maps.c, jsonlib.c and math.c.
 *
 * Fuel: a native charges one unit per element it touches plus one unit per
 * STD_BYTES_PER_UNIT bytes it copies or scans, before doing the work
 * (std_charge). Anything that builds a value of more than a few bytes asks
 * vm_check_alloc first. Both raise on the fiber when over the limit. */
#ifndef WEFT_STD_INTERNAL_H
#define WEFT_STD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "builtins.h"

#define NATIVE(name, key, sig, fn, arity, doc) \
  NativeStatus fn(VM *vm, Fiber *f, const Value *args, int argc, Value *out);
#include "natives.def"
#undef NATIVE

#define STD_BYTES_PER_UNIT 16

/* Charges `elems` + bytes/STD_BYTES_PER_UNIT fuel units. */
bool std_charge(VM *vm, Fiber *f, uint64_t elems, uint64_t bytes);
/* vm_check_alloc for a list of n values plus `bytes` of payload, with
 * overflow-checked arithmetic. */
bool std_check_list(VM *vm, Fiber *f, uint64_t n, uint64_t bytes);

/* Argument checks: the checker guarantees the types, but a native never
 * trusts that (a json value can reach it through a bug elsewhere); on a
 * mismatch they raise and return false. `fn` names the builtin. */
bool std_arg_string(VM *vm, Fiber *f, const Value *args, int i, const char *fn, ObjString **out);
bool std_arg_list(VM *vm, Fiber *f, const Value *args, int i, const char *fn, ObjList **out);
bool std_arg_map(VM *vm, Fiber *f, const Value *args, int i, const char *fn, ObjMap **out);
bool std_arg_int(VM *vm, Fiber *f, const Value *args, int i, const char *fn, int64_t *out);
bool std_arg_float(VM *vm, Fiber *f, const Value *args, int i, const char *fn, double *out);
bool std_arg_duration(VM *vm, Fiber *f, const Value *args, int i, const char *fn, int64_t *out);

/* A fresh shape with the given field names (NULL-terminated list). */
ObjShape *std_shape(Heap *h, const char *const *names);

/* Renders v as JSON (display=false) or display form (display=true) into b
 * after estimating the output size and charging fuel and memory for it,
 * so a value that shares one big string many times cannot blow up the
 * output unmetered. Raises and returns false on failure. */
bool std_render(VM *vm, Fiber *f, Value v, bool display, Buf *b);

/* UTF-8: number of code points (counts bytes that are not continuation
 * bytes, so invalid sequences count per byte); byte offset of code point
 * `idx` (idx <= count); whether the bytes are valid UTF-8 (offset of the
 * first bad byte in *bad). */
size_t std_utf8_count(const char *s, size_t len);
size_t std_utf8_offset(const char *s, size_t len, size_t idx);
bool std_utf8_valid(const char *s, size_t len, size_t *bad);

#endif
