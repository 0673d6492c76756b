/* schema.h — what a type descriptor means to a model: JSON Schema for
 * structured output, and deterministic values for the offline mock.
 *
 * Both walk a module's type descriptor table (vm/module.h), which is
 * acyclic by construction, so neither can loop; depth is bounded too. */
#ifndef WEFT_SCHEMA_H
#define WEFT_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>
#include "../vm/module.h"
#include "../vm/value.h"

typedef enum SchemaDialect {
  SCHEMA_PLAIN,         /* the mock provider: records -> objects with required
                           properties (non-optional fields only) and
                           additionalProperties false; optionals may be absent;
                           maps and free json are expressible */
  SCHEMA_OPENAI_STRICT, /* strict mode (OpenAI, and what Anthropic's structured
                           output accepts too): every property listed in
                           `required`; an optional field's schema becomes
                           {"anyOf":[S, {"type":"null"}]} (or "type":[T,"null"]) */
  SCHEMA_ANTHROPIC,     /* the strict shape as Anthropic accepts it: like
                           SCHEMA_OPENAI_STRICT, but no numeric, length or
                           item-count bounds; a constrained type's bounds
                           are written into its description */
} SchemaDialect;

/* JSON Schema text for descriptor td, compact. Records -> "object" with
 * "properties" in field order, "required", "additionalProperties": false;
 * TD_ENUM -> {"type":"string","enum":[...]} in written order; lists ->
 * "array"/"items"; maps -> "object" with "additionalProperties": S
 * (OpenAI strict cannot express maps: schema_check reports it); optional ->
 * as per dialect; int -> "integer"; float -> "number"; duration -> "string"
 * with a pattern; json -> {} (plain) ; docs (`///`) -> "description".
 * A non-object top level (e.g. list[Finding]) is wrapped as
 * {"type":"object","properties":{"value":S},"required":["value"],...}
 * because both providers require an object at the top: *wrapped is set and
 * the reply's "value" field is the answer. A list, map, optional, union or
 * record reached along more than one edge of the type is written once under
 * "$defs" in the top object and referred to as {"$ref":"#/$defs/NAME"}, so
 * the schema is linear in the descriptor table. Returns a malloc'd string. */
char *schema_json(const Module *m, uint32_t td, SchemaDialect d, bool *wrapped);

/* Whether td can be asked for in dialect d (no functions; for OpenAI
 * strict no maps or free json). NULL if fine, else a static reason. */
const char *schema_check(const Module *m, uint32_t td, SchemaDialect d);

/* A value valid for td, derived only from `seed` (the mock provider hashes
 * role, prompt and schema into it): same seed, same value. Strings are short
 * readable words; lists have 1-3 elements; optionals are sometimes none;
 * enums pick a member. Returns a new reference. */
Value schema_mock_value(Heap *h, const Module *m, uint32_t td, uint64_t seed);

#endif
