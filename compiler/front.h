/* front.h — private glue between the loader (load.c) and the checker
 * (check*.c); nothing outside compiler/ includes it.
 *
 * The loader resolves every `import` item and leaves the result in the
 * N_IMPORT node's `extra` as an ImportTarget, so the checker never
 * re-resolves paths. */
#ifndef WEFT_FRONT_H
#define WEFT_FRONT_H

#include "compiler.h"

typedef struct ImportTarget {
  uint32_t file;   /* SourceSet id of the imported file */
} ImportTarget;

/* Deepest import chain accepted (each level is one C frame in the loader). */
#define LOAD_MAX_DEPTH 100

/* The ProgramFile holding SourceSet file `file`, or NULL. */
ProgramFile *load_find_file(Program *p, uint32_t file);

/* True for the standard prelude (implicitly imported everywhere else). */
bool load_is_prelude(const Program *p, const ProgramFile *f);

#endif
