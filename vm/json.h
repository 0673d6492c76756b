/* json.h — JSON text -> values, values checked against (and converted to)
 * a module's type descriptors, and descriptors in Weft syntax. The VM uses
 * them for FROM_JSON; the host for model replies and program inputs; the
 * standard library's json_parse native wraps v_from_json. Values -> JSON
 * text is v_to_json (value.h). */
#ifndef WEFT_JSON_H
#define WEFT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "module.h"
#include "value.h"

/* Parses JSON text into a value (objects -> maps in key order, arrays ->
 * lists, integers that fit -> int, other numbers -> float, null -> none).
 * On failure returns false and, when err is not NULL, sets *err to a
 * message with line and column (malloc'd; the caller frees it). */
bool v_from_json(Heap *h, const char *text, size_t len, Value *out, char **err);

/* Checks value v (borrowed) against type descriptor `td` of module m and
 * converts where the type asks for it (a map -> record of that shape, an
 * integral float -> int is NOT done, an int -> float is; a string -> duration
 * is accepted in "30s"/"250ms" form). On success *out is a new reference.
 * On failure returns false and, when err is not NULL, sets *err to a
 * path-qualified message (malloc'd; the caller frees it):
 *   $.items[3].severity: expected "low" | "medium" | "high", got "urgent"
 * Success allocates no message. Depth is bounded by VALUE_MAX_DEPTH. */
bool v_convert(Heap *h, const Module *m, uint32_t td, Value v, Value *out, char **err);

/* Renders descriptor td as Weft type syntax (for messages): a named
 * record as its name, and at most TYPE_PRINT_MAX bytes, then "…". */
/* The bounds of range descriptor d (TD_RANGE) in words: "from 1 to 10",
 * "of at least 0", "of 1 to 200 characters", "of at most 5 items"; for
 * messages and for schema descriptions. */
/* A duration's text as to_json writes it ("1m30s", "250ms", "-2s") -> ms;
 * false when it is not one or overflows. */
bool duration_parse(const char *s, size_t len, int64_t *out);
void range_words(Buf *b, const Module *m, const TypeDesc *d);
void type_desc_print(Buf *b, const Module *m, uint32_t td);

#endif
