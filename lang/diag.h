/* diag.h — diagnostics: collected during a run, printed at the end.
 *
 * Every stage (lexer, parser, checker) appends to one DiagList; nothing is
 * printed while compiling. Rendering produces either the human form
 *
 *   file.weft:3:9: error[E0301]: type mismatch: expected int, got string
 *      3 |   let x: int = "a"
 *        |                ^~~
 *   help: ...
 *
 * or one JSON object per diagnostic (diag_render_json). */
#ifndef WEFT_DIAG_H
#define WEFT_DIAG_H

#include <stdbool.h>
#include <stdio.h>
#include "source.h"

typedef enum DiagCode {
#define DIAG(code, sev, title) D_##code,
#include "diagcodes.def"
#undef DIAG
  D__COUNT
} DiagCode;

/* A note says something true of a program that is not wrong with it (what
 * a run will do by default); it never changes an exit code. */
typedef enum { SEV_ERROR, SEV_WARNING, SEV_NOTE } Severity;

typedef struct Diag {
  DiagCode code;
  Severity severity;
  Span span;
  char *message; /* owned; full sentence fragment, no trailing period */
  char *help;    /* owned; may be NULL */
} Diag;

/* Errors (and, apart, warnings) kept when the caller sets no limit: a file
 * of junk must not make the list, and the output, grow without bound. */
#define DIAG_MAX_DEFAULT 100

typedef struct DiagList {
  Diag *items;
  uint32_t n, cap;
  uint32_t errors, warnings, notes;  /* kept */
  uint32_t omitted;           /* past the limit: counted, not kept ("... and N more") */
  uint32_t max_errors;        /* stop recording past this many (0 = DIAG_MAX_DEFAULT) */
} DiagList;

void diag_init(DiagList *dl);
void diag_free(DiagList *dl);
/* Appends a diagnostic; severity comes from the code's list entry.
 * help may be NULL. Messages are printf-formatted; the message and the
 * help are cut at WEFT_MESSAGE_MAX bytes (base/util.h), ending in "…". */
void diag_add(DiagList *dl, DiagCode code, Span span, const char *help,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *diag_code_name(DiagCode code);   /* "E0301" */
const char *diag_code_title(DiagCode code);  /* "type mismatch" */
Severity diag_code_severity(DiagCode code);
const char *diag_severity_name(Severity sev);  /* "error", "warning", "note" */
/* Sorts by file, then offset, keeping insertion order for ties. */
void diag_sort(DiagList *dl);

/* Human form with the caret excerpt; color enables ANSI colours. Ends
 * with "... and N more errors and warnings" when some were omitted. */
void diag_render_text(FILE *out, const DiagList *dl, SourceSet *ss, int color);
/* {"diagnostics":[{...}],"errors":N,"warnings":M,"omitted":K} on one
 * line (N and M count the errors and warnings listed, K those left out;
 * notes are in the list, with "severity":"note", and counted in neither). */
void diag_render_json(FILE *out, const DiagList *dl, SourceSet *ss);

/* For CI (docs/cli.md, "CI annotations"). SARIF 2.1.0: the reportingDescriptor
 * of every code, indexed by DiagCode (a run's tool.driver.rules), and one
 * result object per diagnostic, comma-separated across calls (*first is
 * true before the first). GitHub: one workflow command per diagnostic
 * (::error/::warning/::notice with file, line, col, endLine, endColumn and
 * the code as title). Columns count code points. */
void diag_render_sarif_rules(FILE *out);
void diag_render_sarif_results(FILE *out, const DiagList *dl, SourceSet *ss, bool *first);
void diag_render_github(FILE *out, const DiagList *dl, SourceSet *ss);

#endif
