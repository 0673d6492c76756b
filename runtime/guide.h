/* guide.h — `weft guide`: the reference written for models and for the
 * people who prompt them (docs/cli.md, "weft guide"). The prose is
 * runtime/guide.md, embedded at build time; the standard library's
 * signatures are generated here from the native table and the embedded
 * std modules, so they cannot drift from what the checker accepts. */
#ifndef WEFT_GUIDE_H
#define WEFT_GUIDE_H

#include <stdint.h>
#include "../vm/vm.h"

/* Where a std module's source comes from (stdlib_source in the binary; a
 * test hands in its own to see the guide follow a change). */
typedef const char *(*GuideSourceFn)(const char *name, size_t *len);

/* The whole guide: template with its generated parts filled in from
 * natives[0..n) and the std modules src gives. Caller frees. */
char *guide_render(const char *tmpl, const Native *natives, uint32_t n, GuideSourceFn src);

/* The embedded template (runtime/guide.md). */
extern const char guide_template[];

#endif
