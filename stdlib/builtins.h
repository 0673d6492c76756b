/* builtins.h — the native builtin table.
 *
 * std_natives is the ONE table of native functions: the checker reads each
 * entry's signature, the emitter stores its `key` in the module, the loader
 * resolves keys back to entries, and docs/stdlib.md is checked against it.
 * The VM and the compiler never include this file: the host hands them the
 * table (std_native_table), as a Lua host opens its libraries.
 * Several entries may share a `name` (overloads, e.g. len of a list, a
 * string or a map); the checker picks the first whose signature fits the
 * arguments, so entries of one name are listed together.
 *
 * Higher-order functions that call back into Weft code (map, filter, fold,
 * any, all, sort_by, ...) are written in Weft in stdlib/prelude.weft, not
 * here: a callback may park its fiber (sleep, and later model calls), and a
 * C stack frame cannot be parked.
 *
 * Signature language (Native.sig), parsed by the checker:
 *   sig    := [ '[' TVAR (',' TVAR)* ']' ] '(' [ type (',' type)* ] ')' '->' type
 *   type   := 'int' | 'float' | 'bool' | 'string' | 'duration' | 'json'
 *           | 'void' | 'never' | TVAR | 'list[' type ']' | 'map[' type ']'
 *           | type '?' | 'fn(' [type (',' type)*] ')' '->' type
 *           | '{' name ':' type (',' name ':' type)* '}'
 *   TVAR   := one upper-case letter declared in the leading brackets
 *   e.g. "[T](list[T], int) -> list[T]", "(string) -> int?"
 *
 * Every native charges fuel (vm_charge) in proportion to the work it is
 * about to do, and checks vm_check_alloc before building a large value. */
#ifndef WEFT_BUILTINS_H
#define WEFT_BUILTINS_H

#include "../vm/vm.h"

extern const Native std_natives[];
extern const uint32_t std_nnatives;

/* The table the host registers: module_load resolves against it and the
 * compiler checks calls with it (CompileOptions.natives). */
const NativeTable *std_native_table(void);

/* The entry with this key, or NULL. */
const Native *std_native_by_key(const char *key);

#endif
