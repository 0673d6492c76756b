/* diag.c — collecting diagnostics and rendering them as text or JSON.
 *
 * Code names, titles and severities all come from diagcodes.def through
 * the DIAG X-macro, so there is no second list to keep in step. */
#include "diag.h"
#include "../base/util.h"
#include "../base/term.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const code_names[] = {
#define DIAG(code, sev, title) #code,
#include "diagcodes.def"
#undef DIAG
};
static const char *const code_titles[] = {
#define DIAG(code, sev, title) title,
#include "diagcodes.def"
#undef DIAG
};
static const Severity code_sevs[] = {
#define DIAG(code, sev, title) SEV_##sev,
#include "diagcodes.def"
#undef DIAG
};

const char *diag_code_name(DiagCode code) {
  return (unsigned)code < D__COUNT ? code_names[code] : "E????";
}
const char *diag_code_title(DiagCode code) {
  return (unsigned)code < D__COUNT ? code_titles[code] : "unknown diagnostic";
}
Severity diag_code_severity(DiagCode code) {
  return (unsigned)code < D__COUNT ? code_sevs[code] : SEV_ERROR;
}

void diag_init(DiagList *dl) { memset(dl, 0, sizeof *dl); }

void diag_free(DiagList *dl) {
  for (uint32_t i = 0; i < dl->n; i++) {
    free(dl->items[i].message);
    free(dl->items[i].help);
  }
  free(dl->items);
  memset(dl, 0, sizeof *dl);
}

void diag_add(DiagList *dl, DiagCode code, Span span, const char *help,
              const char *fmt, ...) {
  uint32_t max = dl->max_errors ? dl->max_errors : DIAG_MAX_DEFAULT;
  Severity sev = diag_code_severity(code);
  /* Past the limit nothing more is kept, only counted: a file of junk
   * must not make the list (and the output) grow without bound. Warnings
   * and notes have the same cap each. */
  if ((sev == SEV_ERROR ? dl->errors : sev == SEV_WARNING ? dl->warnings : dl->notes) >= max) {
    dl->omitted++;
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf_cap(WEFT_MESSAGE_MAX, fmt ? fmt : "", ap);
  va_end(ap);

  if (dl->n == dl->cap) {
    dl->cap = dl->cap ? dl->cap * 2 : 16;
    Diag *items = xrealloc(dl->items, dl->cap * sizeof *dl->items);
    dl->items = items;
  }
  Diag *d = &dl->items[dl->n++];
  d->code = code;
  d->severity = sev;
  d->span = span;
  d->message = msg;
  d->help = help ? xasprintf_cap(WEFT_MESSAGE_MAX, "%s", help) : NULL;
  if (sev == SEV_ERROR) dl->errors++;
  else if (sev == SEV_WARNING) dl->warnings++;
  else dl->notes++;
}

const char *diag_severity_name(Severity sev) {
  return sev == SEV_ERROR ? "error" : sev == SEV_WARNING ? "warning" : "note";
}

/* ---- sorting ---------------------------------------------------------- */

static int diag_before(const Diag *a, const Diag *b) {
  if (a->span.file != b->span.file) return a->span.file < b->span.file;
  return a->span.start < b->span.start;
}

/* Stable merge sort: diagnostics at the same place keep insertion order. */
void diag_sort(DiagList *dl) {
  if (dl->n < 2) return;
  Diag *tmp = xmalloc(dl->n * sizeof *tmp);
  Diag *src = dl->items, *dst = tmp;
  for (uint32_t width = 1; width < dl->n; width *= 2) {
    for (uint32_t lo = 0; lo < dl->n; lo += 2 * width) {
      uint32_t mid = lo + width < dl->n ? lo + width : dl->n;
      uint32_t hi = lo + 2 * width < dl->n ? lo + 2 * width : dl->n;
      uint32_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi)
        dst[k++] = diag_before(&src[j], &src[i]) ? src[j++] : src[i++];
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    Diag *t = src;
    src = dst;
    dst = t;
  }
  if (src != dl->items) memcpy(dl->items, src, dl->n * sizeof *tmp);
  free(tmp);
}

/* ---- text ------------------------------------------------------------- */

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_ERROR "\033[1;31m"
#define C_WARN "\033[1;33m"
#define C_NOTE "\033[1;36m"
#define C_GUTTER "\033[34m"

static unsigned digits(uint32_t n) {
  unsigned d = 1;
  while (n >= 10) n /= 10, d++;
  return d;
}

/* Writes the source line escaped (base/term.h): a line may hold
 * anything, and must not drive the terminal. */
static void put_line(FILE *out, const char *p, size_t len) {
  term_write(out, p, len, TERM_TEXT);
}

/* Display cells of the character at p as put_line shows it: its escape's
 * length, or one (a UTF-8 continuation byte takes none of its own). */
static size_t cells_at(const char *p, size_t avail, size_t *used) {
  char esc[TERM_ESC_MAX];
  size_t el;
  *used = term_char(p, avail, TERM_TEXT, esc, &el);
  return el ? el : 1;
}

/* Blanks as wide as p[0..n) is shown: a tab is copied so the caret lines
 * up whatever the tab width. */
static void put_pad(FILE *out, const char *p, size_t n) {
  for (size_t i = 0; i < n;) {
    size_t k, w = cells_at(p + i, n - i, &k);
    if (p[i] == '\t') fputc('\t', out);
    else
      for (size_t j = 0; j < w; j++) fputc(' ', out);
    i += k;
  }
}

static size_t count_cells(const char *p, size_t n) {
  size_t cells = 0;
  for (size_t i = 0; i < n;) {
    size_t k;
    cells += cells_at(p + i, n - i, &k);
    i += k;
  }
  return cells;
}

static void render_one(FILE *out, const Diag *d, SourceSet *ss, int color) {
  Source *s = src_get(ss, d->span.file);
  const char *sevname = diag_severity_name(d->severity);
  const char *sevcol = d->severity == SEV_ERROR ? C_ERROR : d->severity == SEV_WARNING ? C_WARN : C_NOTE;
  uint32_t line = 0, col = 0;
  if (s) {
    src_line_col(s, d->span.start, &line, &col);
    term_printf(out, "%s:%u:%u: ", s->path, line, col);
  }
  /* the message and help may quote the program's text: escaped, between
   * colour codes that are the only raw escapes written */
  if (color) {
    fprintf(out, "%s%s[%s]" C_RESET ": " C_BOLD, sevcol, sevname, diag_code_name(d->code));
    term_printf(out, "%s", d->message);
    fputs(C_RESET "\n", out);
  } else {
    fprintf(out, "%s[%s]: ", sevname, diag_code_name(d->code));
    term_printf(out, "%s\n", d->message);
  }

  if (s) {
    size_t len;
    const char *text = src_line_text(s, d->span.start, &len);
    size_t at = (size_t)(col - 1) < len ? (size_t)(col - 1) : len;
    /* underline to the end of the span or of the line, whichever is first */
    size_t span_len = d->span.end > d->span.start ? d->span.end - d->span.start : 0;
    size_t upto = at + span_len < len ? at + span_len : len;
    size_t cells = upto > at ? count_cells(text + at, upto - at) : 0;
    /* A very long line (minified or generated source) is shown as a window
     * around the span, marked with "...", so one diagnostic stays readable. */
    size_t from = 0, to = len;
    if (len > 160) {
      from = at > 60 ? at - 60 : 0;
      while (from > 0 && ((unsigned char)text[from] & 0xC0) == 0x80) from--;
      to = (upto > at ? upto : at) + 60;
      if (to - from > 240) to = from + 240;
      if (to > len) to = len;
      while (to < len && ((unsigned char)text[to] & 0xC0) == 0x80) to++;
      if (upto > to) {
        upto = to;
        cells = upto > at ? count_cells(text + at, upto - at) : 0;
      }
    }
    int w = (int)(digits(line) > 3 ? digits(line) : 3);
    if (color) fputs(C_GUTTER, out);
    fprintf(out, " %*u | ", w, line);
    if (color) fputs(C_RESET, out);
    if (from > 0) fputs("...", out);
    put_line(out, text + from, to - from);
    if (to < len) fputs("...", out);
    fputc('\n', out);
    if (color) fputs(C_GUTTER, out);
    fprintf(out, " %*s | ", w, "");
    if (color) fputs(C_RESET, out);
    if (from > 0) fputs("   ", out);
    put_pad(out, text + from, at - from);
    if (color) fputs(sevcol, out);
    fputc('^', out);
    for (size_t i = 1; i < cells; i++) fputc('~', out);
    if (color) fputs(C_RESET, out);
    fputc('\n', out);
  }
  if (d->help) {
    fputs(color ? C_BOLD "help" C_RESET ": " : "help: ", out);
    term_printf(out, "%s\n", d->help);
  }
  fputc('\n', out);
}

void diag_render_text(FILE *out, const DiagList *dl, SourceSet *ss, int color) {
  for (uint32_t i = 0; i < dl->n; i++) render_one(out, &dl->items[i], ss, color);
  if (dl->omitted) fprintf(out, "... and %u more errors and warnings\n", dl->omitted);
}

/* ---- JSON ------------------------------------------------------------- */

/* A JSON string: quotes, backslash and control characters escaped; valid
 * UTF-8 copied through but for C1 and bidi controls, written as \u escapes
 * (term_char) so the document cannot drive a terminal either; each invalid
 * byte becomes U+FFFD. */
static void json_str(FILE *out, const char *s) {
  fputc('"', out);
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      fputc('\\', out);
      fputc(c, out);
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      switch (c) {
      case '\n': fputs("\\n", out); break;
      case '\t': fputs("\\t", out); break;
      case '\r': fputs("\\r", out); break;
      default: fprintf(out, "\\u%04x", c); break;
      }
      i++;
    } else {
      char esc[TERM_ESC_MAX];
      size_t el, k = term_char(s + i, n - i, TERM_JSON, esc, &el);
      if (el) fwrite(esc, 1, el, out);
      else fwrite(s + i, 1, k, out);
      i += k;
    }
  }
  fputc('"', out);
}

void diag_render_json(FILE *out, const DiagList *dl, SourceSet *ss) {
  fputs("{\"diagnostics\":[", out);
  for (uint32_t i = 0; i < dl->n; i++) {
    const Diag *d = &dl->items[i];
    Source *s = src_get(ss, d->span.file);
    uint32_t l1 = 0, c1 = 0, l2 = 0, c2 = 0;
    if (s) {
      src_line_col(s, d->span.start, &l1, &c1);
      src_line_col(s, d->span.end, &l2, &c2);
    }
    if (i) fputc(',', out);
    fprintf(out, "{\"code\":\"%s\",\"severity\":\"%s\",\"message\":", diag_code_name(d->code),
            diag_severity_name(d->severity));
    json_str(out, d->message);
    fputs(",\"file\":", out);
    json_str(out, s ? s->path : "");
    fprintf(out,
            ",\"span\":{\"start\":%u,\"end\":%u,\"line\":%u,\"column\":%u,"
            "\"end_line\":%u,\"end_column\":%u},\"help\":",
            d->span.start, d->span.end, l1, c1, l2, c2);
    if (d->help) json_str(out, d->help);
    else fputs("null", out);
    fputc('}', out);
  }
  fprintf(out, "],\"errors\":%u,\"warnings\":%u,\"omitted\":%u}\n", dl->errors, dl->warnings, dl->omitted);
}

/* ---- CI formats ------------------------------------------------------- */

/* A 1-based column counted in code points (what an editor shows, and
 * SARIF's "unicodeCodePoints"), where spans count bytes. */
static uint32_t cp_column(Source *s, uint32_t offset) {
  uint32_t line, col;
  src_line_col(s, offset, &line, &col);
  const char *p = s->text + (offset - (col - 1));
  uint32_t cps = 1;
  for (uint32_t i = 0; i + 1 < col; i++)
    if (((unsigned char)p[i] & 0xC0) != 0x80) cps++;
  return cps;
}

typedef struct Where { const char *path; uint32_t line, col, end_line, end_col; } Where;

static Where where_of(const Diag *d, SourceSet *ss) {
  Where w = { "", 1, 1, 1, 1 };
  Source *s = src_get(ss, d->span.file);
  if (!s) return w;
  w.path = s->path ? s->path : "";
  uint32_t c;
  src_line_col(s, d->span.start, &w.line, &c);
  src_line_col(s, d->span.end, &w.end_line, &c);
  w.col = cp_column(s, d->span.start);
  w.end_col = cp_column(s, d->span.end);
  if (w.end_line < w.line || (w.end_line == w.line && w.end_col <= w.col)) {
    w.end_line = w.line;
    w.end_col = w.col + 1;
  }
  return w;
}

static const char *sarif_level(Severity sev) {
  return sev == SEV_ERROR ? "error" : sev == SEV_WARNING ? "warning" : "note";
}

/* A relative URI reference for a path: unreserved characters and '/' as
 * they are, every other byte percent-encoded (RFC 3986). */
static void uri_str(FILE *out, const char *path) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr("-._~/", *p))
      fputc(*p, out);
    else
      fprintf(out, "%%%02X", *p);
  }
  fputc('"', out);
}

void diag_render_sarif_rules(FILE *out) {
  for (int c = 0; c < D__COUNT; c++) {
    if (c) fputc(',', out);
    fprintf(out, "{\"id\":\"%s\",\"shortDescription\":{\"text\":", code_names[c]);
    json_str(out, code_titles[c]);
    fprintf(out, "},\"defaultConfiguration\":{\"level\":\"%s\"}}", sarif_level(code_sevs[c]));
  }
}

void diag_render_sarif_results(FILE *out, const DiagList *dl, SourceSet *ss, bool *first) {
  for (uint32_t i = 0; i < dl->n; i++) {
    const Diag *d = &dl->items[i];
    Where w = where_of(d, ss);
    if (!*first) fputc(',', out);
    *first = false;
    fprintf(out, "{\"ruleId\":\"%s\",\"ruleIndex\":%d,\"level\":\"%s\",\"message\":{\"text\":",
            diag_code_name(d->code), (int)d->code, sarif_level(d->severity));
    if (d->help) {
      char *text = xasprintf("%s\nhelp: %s", d->message, d->help);
      json_str(out, text);
      free(text);
    } else {
      json_str(out, d->message);
    }
    fputs("},\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":", out);
    uri_str(out, w.path);
    fprintf(out,
            "},\"region\":{\"startLine\":%u,\"startColumn\":%u,\"endLine\":%u,\"endColumn\":%u}}}]}",
            w.line, w.col, w.end_line, w.end_col);
  }
}

/* A workflow command's text: '%', CR and LF escaped, and in a property
 * value also ':' and ','; other controls are escaped as the terminal
 * escaper does, since the log is shown as text. */
static void gh_text(FILE *out, const char *s, bool property) {
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%') fputs("%25", out);
    else if (c == '\r') fputs("%0D", out);
    else if (c == '\n') fputs("%0A", out);
    else if (property && c == ':') fputs("%3A", out);
    else if (property && c == ',') fputs("%2C", out);
    else {
      char esc[TERM_ESC_MAX];
      size_t el, k = term_char(s + i, n - i, TERM_TEXT, esc, &el);
      if (el) fwrite(esc, 1, el, out);
      else fwrite(s + i, 1, k, out);
      i += k;
      continue;
    }
    i++;
  }
}

void diag_render_github(FILE *out, const DiagList *dl, SourceSet *ss) {
  for (uint32_t i = 0; i < dl->n; i++) {
    const Diag *d = &dl->items[i];
    Where w = where_of(d, ss);
    const char *cmd = d->severity == SEV_ERROR ? "error" : d->severity == SEV_WARNING ? "warning" : "notice";
    fprintf(out, "::%s file=", cmd);
    gh_text(out, w.path, true);
    /* GitHub's columns are inclusive: the last character, not the one after */
    uint32_t end_col = w.end_col - 1;
    if (w.end_line == w.line && end_col < w.col) end_col = w.col;
    if (end_col == 0) end_col = 1;
    fprintf(out, ",line=%u,col=%u,endLine=%u,endColumn=%u,title=", w.line, w.col, w.end_line, end_col);
    gh_text(out, diag_code_name(d->code), true);
    fputs(" ", out);
    gh_text(out, diag_code_title(d->code), true);
    fputs("::", out);
    gh_text(out, d->message, false);
    if (d->help) {
      fputs("%0Ahelp: ", out);
      gh_text(out, d->help, false);
    }
    fputc('\n', out);
  }
}
