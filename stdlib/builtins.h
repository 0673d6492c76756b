/* builtins.h — the native builtin table and JSON conversions.
 *
 * std_natives is the ONE table of native functions: the checker reads each
 * entry's signature, the emitter stores its `key` in the module, the loader
 * resolves keys back to entries, and docs/stdlib.md is checked against it.
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

/* The entry with this key, or NULL. */
const Native *std_native_by_key(const char *key);

/* Parses JSON text into a value (objects -> maps in key order, arrays ->
 * lists, integers that fit -> int, other numbers -> float, null -> none).
 * On failure returns false with a message (with line/column) in err. */
bool std_json_parse(Heap *h, const char *text, size_t len, Value *out, Buf *err);

/* Checks value v (borrowed) against type descriptor `td` of module m and
 * converts where the type asks for it (a map -> record of that shape, an
 * integral float -> int is NOT done, an int -> float is; a string -> duration
 * is accepted in "30s"/"250ms" form). On success *out is a new reference.
 * On failure returns false and writes a path-qualified message to err:
 *   $.items[3].severity: expected "low" | "medium" | "high", got "urgent"
 * Depth is bounded by VALUE_MAX_DEPTH. */
bool std_convert(Heap *h, const Module *m, uint32_t td, Value v, Value *out, Buf *err);

/* Renders descriptor td as Weft type syntax (for messages). */
void std_type_desc_print(Buf *b, const Module *m, uint32_t td);

#endif
