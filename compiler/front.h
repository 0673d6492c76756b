/* front.h — private glue between the loader (load.c) and the checker
 * (check*.c); nothing outside compiler/ includes it but a unit test.
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
/* Bounds on what imports may read (E0204 past them): one imported file,
 * the files of a program, and their bytes together. */
#define LOAD_MAX_FILE_BYTES ((size_t)1 << 20)
#define LOAD_MAX_FILES 4096
#define LOAD_MAX_TOTAL_BYTES SRC_MAX_BYTES
/* An imported file that does not parse is quoted no further than this. */
#define LOAD_QUOTE_BYTES 32

/* Opens `rel` (names separated by '/', none of them "." or "..") beneath the
 * directory dirfd for reading, without blocking and without following a
 * link out of it: openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) where
 * the kernel has it, else (or with walk_only, for tests) one name at a time
 * with O_NOFOLLOW, following no symbolic link at all. Returns the fd, or
 * -1 with errno: EXDEV (a link leads out), ELOOP (a link not followed),
 * or whatever open reports. */
int load_open_beneath(int dirfd, const char *rel, bool walk_only);

/* The ProgramFile holding SourceSet file `file`, or NULL. */
ProgramFile *load_find_file(Program *p, uint32_t file);

/* True for the standard prelude (implicitly imported everywhere else). */
bool load_is_prelude(const Program *p, const ProgramFile *f);

#endif
