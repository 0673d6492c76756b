/* program.c — the compiling side of weft_tools.h: get a module (compile a
 * source or load a .weftc, diagnostics rendered), weft check, build and
 * disasm; and what every tool shares: the message helper, files, the
 * journal a command uses and run ids. Sessions (run, resume, replay) are
 * runtime/session.c. */
#define _XOPEN_SOURCE 700 /* realpath */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../compiler/compiler.h"
#include "../lang/diag.h"
#include "../stdlib/builtins.h"
#include "../vm/module.h"
#include "../vm/json.h"
#include "../vm/opcodes.h"
#include "engine.h"
#include "host.h"
#include "journal.h"
#include "../base/term.h"
#include "../base/util.h"
#include <cjson/cJSON.h>
#include <time.h>
#include "../vm/trace.h"
#include "../vm/value.h"
#include "../vm/vm.h"
#include "tool.h"
/* An --input file larger than this is refused (a module: MODULE_MAX_BYTES). */
#define MAX_INPUT_BYTES ((size_t)1 << 30)

/* Every message of the command itself starts with "weft: ", so it cannot be
 * confused with a diagnostic or with the program's own output. Messages
 * echo arguments, paths and journal text, so they are escaped (term.h). */
void weft_tool_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = term_vformat(fmt, ap);
  va_end(ap);
  fprintf(stderr, "weft: %s\n", msg); /* one write: lines stay whole */
  free(msg);
}

/* Colour is a courtesy for a person at a terminal: on only when asked for,
 * or when stderr is a terminal and the user has not set NO_COLOR. An
 * explicit --color=always wins over NO_COLOR. */
int use_color(ColorMode mode) {
  if (mode == COLOR_ALWAYS) return 1;
  if (mode == COLOR_NEVER) return 0;
  const char *nc = getenv("NO_COLOR");
  if (nc && nc[0]) return 0;
  return isatty(STDERR_FILENO) ? 1 : 0;
}

/* The compiler's options for a command's: an untrusted program gets the
 * source cap and no import root of its own (docs/security.md, "Untrusted
 * programs"). */
static CompileOptions compile_options(bool check_only, const weft_compile_opts *co) {
  CompileOptions opt = {.check_only = check_only, .stdlib_dir = NULL, .natives = std_native_table(),
                        .concurrency_note = check_only ? ENGINE_DEFAULT_CONCURRENCY : 0};
  opt.import_paths = co->import_paths;
  opt.nimport_paths = co->nimport_paths;
  opt.untrusted = co->untrusted;
  opt.max_source_bytes = co->untrusted ? WEFT_UNTRUSTED_MAX_SOURCE_BYTES : 0;
  opt.max_memory = co->max_memory ? (size_t)co->max_memory
                   : co->untrusted ? (size_t)WEFT_UNTRUSTED_MAX_MEMORY : 0;
  opt.limit_models = co->limit_models;
  opt.models = co->models;
  opt.nmodels = co->nmodels;
  opt.untrusted_inputs = co->untrusted_inputs;
  opt.nuntrusted_inputs = co->nuntrusted_inputs;
  opt.trusted_programs = co->trusted_programs;
  opt.ntrusted_programs = co->ntrusted_programs;
  return opt;
}

bool weft_tool_known_provider(const char *name, size_t n) {
  static const char *const names[] = {
#define PROVIDER(id, pname) pname,
#include "../vm/providers.def"
#undef PROVIDER
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strlen(names[i]) == n && strncmp(names[i], name, n) == 0) return true;
  return false;
}

/* Reads a whole file (or stdin for "-") of at most max bytes into a
 * malloc'd NUL-terminated buffer. Returns NULL with errno set on failure
 * (EFBIG: larger than max). */
static char *read_file_max(const char *path, size_t max, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) return NULL;
  struct stat st; /* a file known to be too large is not read at all */
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
    if (f != stdin) fclose(f);
    errno = EFBIG;
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *data = malloc(cap);
  if (!data) {
    if (f != stdin) fclose(f);
    errno = ENOMEM;
    return NULL;
  }
  for (;;) {
    if (n > max) {
      free(data);
      if (f != stdin) fclose(f);
      errno = EFBIG;
      return NULL;
    }
    if (n + 1 >= cap) { /* never more than max + 1 bytes: enough to know it is too large */
      size_t more = cap > max / 2 ? max + 2 : cap * 2;
      char *bigger = realloc(data, more);
      if (!bigger) {
        free(data);
        if (f != stdin) fclose(f);
        errno = ENOMEM;
        return NULL;
      }
      data = bigger;
      cap = more;
    }
    errno = 0;
    size_t got = fread(data + n, 1, cap - 1 - n, f);
    n += got;
    if (got == 0) break;
  }
  int failed = ferror(f), saved = errno ? errno : EIO;
  if (f != stdin) fclose(f);
  if (failed) {
    free(data);
    errno = saved;
    return NULL;
  }
  data[n] = '\0';
  *len = n;
  return data;
}

char *read_file(const char *path, size_t *len) { return read_file_max(path, MAX_INPUT_BYTES, len); }

/* Whether path can be opened for reading; prints the reason when not. */
static bool check_readable(const char *path) {
  struct stat st;
  FILE *f = fopen(path, "rb");
  if (!f) {
    errorf("cannot read '%s': %s", path, strerror(errno));
    return false;
  }
  bool dir = fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode);
  fclose(f);
  if (dir) {
    errorf("cannot read '%s': %s", path, strerror(EISDIR));
    return false;
  }
  return true;
}

/* ---- getting a module: compile a source or load a .weftc ----------------- */

/* Whether path starts with the module magic (false when it cannot be read:
 * the compiler then says why). Only the magic is read. */
static bool file_is_module(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  char head[sizeof WEFTC_MAGIC - 1];
  size_t n = fread(head, 1, sizeof head, f);
  fclose(f);
  return n == sizeof head && memcmp(head, WEFTC_MAGIC, sizeof head) == 0;
}

/* --untrusted takes a regular file of source only: a module would skip
 * the checker's rules (a .weftc is verified, but the verifier is not the
 * checker), and a FIFO or device named as the program must not block the
 * command. The file is opened without blocking; the compiler reads it
 * again under the source cap. EXIT_OK, or EXIT_USAGE after a message. */
static int untrusted_source(const char *path) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    errorf("cannot read '%s': %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return EXIT_USAGE;
  }
  char head[sizeof WEFTC_MAGIC - 1];
  ssize_t n = S_ISREG(st.st_mode) ? read(fd, head, sizeof head) : 0;
  close(fd);
  if (!S_ISREG(st.st_mode)) {
    errorf("cannot read '%s': an untrusted program is a regular file", path);
    return EXIT_USAGE;
  }
  if (n == (ssize_t)sizeof head && memcmp(head, WEFTC_MAGIC, sizeof head) == 0) {
    errorf("%s is a compiled module (.weftc): an untrusted program is run only from its source, which "
           "the checker sees; give the .weft file", path);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

/* Compiles (or loads, when the file starts with the module magic) `path`.
 * Diagnostics are printed to stderr. Returns EXIT_OK with lp->mod set, or
 * the exit code to end with. lp must be released with loaded_free either
 * way. */
/* The capabilities a program names, kept for `weft run`'s static check. */
static void scan_then(Program *p, void *ud) {
  Loaded *lp = ud;
  lp->caps = xcalloc(1, sizeof *lp->caps);
  capscan_program(p, lp->caps);
}

int load_module(const char *path, const weft_compile_opts *co, Loaded *lp) {
  lp->caps = NULL;
  heap_init(&lp->heap, 0);
  src_init(&lp->ss);
  diag_init(&lp->dl);
  lp->mod = NULL;

  if (co->untrusted) {
    int rc = untrusted_source(path);
    if (rc != EXIT_OK) return rc;
  } else if (!check_readable(path)) {
    return EXIT_USAGE;
  } else if (file_is_module(path)) {
    size_t len = 0;
    char *data = read_file_max(path, MODULE_MAX_BYTES, &len);
    if (!data && errno == EFBIG) {
      errorf("cannot load module '%s': it is larger than %zu MiB, the most weft loads", path,
             MODULE_MAX_BYTES >> 20);
      return EXIT_FAIL;
    }
    if (!data) {
      errorf("cannot read '%s': %s", path, strerror(errno));
      return EXIT_USAGE;
    }
    char *err = NULL;
    lp->mod = module_load(&lp->heap, (const uint8_t *)data, len, std_native_table(), &err);
    free(data);
    if (!lp->mod) {
      errorf("cannot load module '%s': %s", path, err ? err : "invalid module");
      free(err);
      return EXIT_FAIL;
    }
    return EXIT_OK;
  }

  CompileOptions opt = compile_options(false, co);
  lp->mod = compile_file_then(path, &lp->ss, &lp->dl, &opt, &lp->heap, scan_then, lp);
  if (lp->dl.n) {
    diag_sort(&lp->dl);
    diag_render_text(stderr, &lp->dl, &lp->ss, use_color(co->color));
  }
  if (!lp->mod || lp->dl.errors) return EXIT_FAIL;
  /* The verifier is the trust boundary even for modules we just made. */
  char *verr = NULL;
  if (!module_verify(lp->mod, &verr)) {
    errorf("internal error: compiled module of '%s' does not verify: %s", path, verr);
    free(verr);
    return EXIT_FAIL;
  }
  return EXIT_OK;
}

void loaded_free(Loaded *lp) {
  if (lp->caps) capscan_free(lp->caps);
  free(lp->caps);
  lp->caps = NULL;
  if (lp->mod) module_free(lp->mod);
  lp->mod = NULL;
  diag_free(&lp->dl);
  src_free(&lp->ss);
}

/* ---- capabilities a program names (check --caps, run) ---------------------- */

static const char *grant_word(char g) {
  return g == 'w' ? "write" : g == 'x' ? "run" : g == 'n' ? "net" : "read";
}

char *caps_use_flag(const CapUse *u) {
  if (!u->value) return NULL;
  if (u->grant == 'n') {
    char *h = grants_url_host(u->value);
    if (!h) return NULL;
    char *f = xasprintf("--allow-net=%s", h);
    free(h);
    return f;
  }
  if (u->grant == 'x') return xasprintf("--allow-run=%s", u->value);
  const char *flag = u->grant == 'w' ? "--allow-write" : "--allow-read";
  if (strcmp(u->op, "fs.glob") == 0) {
    /* the directory the pattern starts from: its components before the
     * first with a wildcard */
    const char *p = u->value, *cut = p;
    for (const char *c = p;;) {
      const char *e = strchr(c, '/');
      size_t n = e ? (size_t)(e - c) : strlen(c);
      if (memchr(c, '*', n) || memchr(c, '?', n) || memchr(c, '[', n)) break;
      cut = c + n;
      if (!e) break;
      c = e + 1;
    }
    if (cut == p) return xasprintf("%s=%s", flag, p[0] == '/' ? "/" : ".");
    return xasprintf("%s=%.*s", flag, (int)(cut - p), p);
  }
  return xasprintf("%s=%s", flag, u->value);
}

void caps_render(const CapScan *scan, const char *file, bool json, Buf *out) {
  if (json) {
    buf_puts(out, "{\"file\":");
    buf_json_string(out, file, strlen(file));
    buf_puts(out, ",\"modules\":[");
    for (uint32_t i = 0; i < scan->nmodules; i++) {
      if (i) buf_putc(out, ',');
      buf_json_string(out, scan->modules[i], strlen(scan->modules[i]));
    }
    buf_puts(out, "],\"functions\":[");
    for (uint32_t i = 0; i < scan->n; i++) {
      const CapUse *u = &scan->uses[i];
      bool first = i == 0 || strcmp(scan->uses[i - 1].fn, u->fn) != 0;
      if (first) {
        if (i) buf_puts(out, "]},");
        buf_puts(out, "{\"name\":");
        buf_json_string(out, u->fn, strlen(u->fn));
        buf_puts(out, ",\"calls\":[");
      } else {
        buf_putc(out, ',');
      }
      buf_puts(out, "{\"op\":");
      buf_json_string(out, u->op, strlen(u->op));
      buf_printf(out, ",\"grant\":\"%s\",\"value\":", grant_word(u->grant));
      if (u->value) buf_json_string(out, u->value, strlen(u->value));
      else buf_puts(out, "null");
      char *flag = caps_use_flag(u);
      buf_puts(out, ",\"flag\":");
      if (flag) buf_json_string(out, flag, strlen(flag));
      else buf_puts(out, "null");
      free(flag);
      buf_printf(out, ",\"line\":%" PRIu32 ",\"col\":%" PRIu32 "}", u->line, u->col);
    }
    if (scan->n) buf_puts(out, "]}");
    buf_puts(out, "],\"roles\":[");
    for (uint32_t i = 0; i < scan->nroles; i++) {
      const CapRole *r = &scan->roles[i];
      buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
      buf_json_string(out, r->name, strlen(r->name));
      buf_puts(out, ",\"tools\":[");
      for (uint32_t k = 0; k < r->ntools; k++) {
        if (k) buf_putc(out, ',');
        buf_json_string(out, r->tools[k], strlen(r->tools[k]));
      }
      buf_puts(out, "]}");
    }
    buf_puts(out, "]}");
    return;
  }
  buf_printf(out, "%s: ", file);
  if (!scan->nmodules) {
    buf_puts(out, "no capability modules: it touches no file, process or host\n");
    return;
  }
  buf_puts(out, "imports");
  for (uint32_t i = 0; i < scan->nmodules; i++) buf_printf(out, "%s %s", i ? "," : "", scan->modules[i]);
  buf_putc(out, '\n');
  for (uint32_t i = 0; i < scan->n; i++) {
    const CapUse *u = &scan->uses[i];
    if (i == 0 || strcmp(scan->uses[i - 1].fn, u->fn) != 0) buf_printf(out, "  fn %s\n", u->fn);
    buf_printf(out, "    %s:%" PRIu32 ": %s ", u->file ? u->file : file, u->line, u->op);
    if (u->value) buf_json_string(out, u->value, strlen(u->value));
    else buf_puts(out, "(computed: checked when called)");
    char *flag = caps_use_flag(u);
    if (flag) buf_printf(out, "  needs %s", flag);
    free(flag);
    buf_putc(out, '\n');
  }
  if (!scan->n) buf_puts(out, "  (no calls of their functions)\n");
  /* a model asking through a role with tools can do what those tools do */
  for (uint32_t i = 0; i < scan->nroles; i++) {
    const CapRole *r = &scan->roles[i];
    buf_printf(out, "  role %s: its model can call", r->name);
    for (uint32_t k = 0; k < r->ntools; k++) buf_printf(out, "%s %s", k ? "," : "", r->tools[k]);
    uint32_t touching = 0;
    for (uint32_t k = 0; k < r->ntools; k++)
      for (uint32_t u = 0; u < scan->n; u++)
        if (strcmp(scan->uses[u].fn, r->tools[k]) == 0) touching++;
    if (!touching) buf_puts(out, " (none of them calls a capability function itself)\n");
    else buf_printf(out, " (%" PRIu32 " capability call%s among them, listed under their fn above)\n", touching,
                    touching == 1 ? "" : "s");
  }
}

typedef struct CapsJob { const char *file; bool json; Buf *out; const weft_compile_opts *co; } CapsJob;

/* Which of main's inputs the check took as untrusted (--untrusted-input):
 * a text line, or the "untrusted_inputs" member of the file's object. */
static void caps_untrusted(const CapsJob *j, size_t start) {
  const weft_compile_opts *co = j->co;
  if (j->json) {
    if (j->out->len <= start || j->out->data[j->out->len - 1] != '}') return;
    j->out->len--;
    buf_puts(j->out, ",\"untrusted_inputs\":[");
    for (uint32_t i = 0; co && i < co->nuntrusted_inputs; i++) {
      if (i) buf_putc(j->out, ',');
      buf_json_string(j->out, co->untrusted_inputs[i], strlen(co->untrusted_inputs[i]));
    }
    buf_puts(j->out, "]}");
    return;
  }
  if (!co || !co->nuntrusted_inputs) {
    buf_puts(j->out, "  untrusted inputs: none named (--untrusted-input); HTTP responses and program output are untrusted\n");
    return;
  }
  buf_puts(j->out, "  untrusted inputs:");
  for (uint32_t i = 0; i < co->nuntrusted_inputs; i++)
    buf_printf(j->out, "%s %s", i ? "," : "", co->untrusted_inputs[i]);
  buf_puts(j->out, " (--untrusted-input), besides HTTP responses and program output\n");
}

static void caps_then(Program *p, void *ud) {
  CapsJob *j = ud;
  CapScan scan;
  capscan_program(p, &scan);
  if (j->json && j->out->len) buf_putc(j->out, ',');
  size_t start = j->out->len;
  caps_render(&scan, j->file, j->json, j->out);
  caps_untrusted(j, start);
  capscan_free(&scan);
}

/* ---- weft check ---------------------------------------------------------- */

/* Checks one file. JSON and SARIF output is collected (several files make
 * one document); text and GitHub annotations are written as they come.
 * The error and warning counts accumulate. */
/* then (may be NULL): called on the checked program when it compiled
 * (compile_file_then), so a tool reports and uses one compile. */
static int check_one(const char *path, weft_check_format format, const weft_compile_opts *co, FILE *items,
                     bool *first, uint32_t *errors, uint32_t *warnings, uint32_t *omitted, Buf *cost,
                     void (*then)(Program *p, void *ud), void *ud) {
  if (co->untrusted ? untrusted_source(path) != EXIT_OK : !check_readable(path)) return EXIT_USAGE;
  bool json = format == WEFT_CHECK_JSON;
  Heap heap;
  SourceSet ss;
  DiagList dl;
  heap_init(&heap, 0);
  src_init(&ss);
  diag_init(&dl);
  CompileOptions opt = compile_options(true, co);
  Module *m = compile_file_then(path, &ss, &dl, &opt, &heap, then, ud);
  if (m) module_free(m);
  diag_sort(&dl);
  *errors += dl.errors;
  *warnings += dl.warnings;
  *omitted += dl.omitted;
  if (json && items) {
    /* diag_render_json writes {"diagnostics":[...],"errors":N,...};
     * keep only the array's contents to merge several files. */
    char *doc = NULL;
    size_t doclen = 0;
    FILE *mf = open_memstream(&doc, &doclen);
    if (mf) {
      diag_render_json(mf, &dl, &ss);
      fclose(mf);
      const char *open = strchr(doc, '[');
      const char *close = strstr(doc, "],\"errors\"");
      if (open && close && close > open + 1) {
        if (!*first) fputc(',', items);
        *first = false;
        fwrite(open + 1, 1, (size_t)(close - open - 1), items);
      }
      free(doc);
    }
  } else if (format == WEFT_CHECK_SARIF && items) {
    diag_render_sarif_results(items, &dl, &ss, first);
  } else if (format == WEFT_CHECK_GITHUB) {
    diag_render_github(stdout, &dl, &ss);
  } else if (dl.n) {
    diag_render_text(stderr, &dl, &ss, use_color(co->color));
  }
  int rc = dl.errors ? EXIT_FAIL : EXIT_OK;
  diag_free(&dl);
  src_free(&ss);
  /* --cost: bound a program that checks (cost_file re-loads it: the
   * compile above already reported its diagnostics) */
  if (cost && rc == EXIT_OK) {
    Buf c;
    buf_init(&c);
    cost_file(path, &opt, json, &c);
    if (json) { /* {"calls":…,"output_tokens":…}\n -> its members, for the document */
      while (c.len && c.data[c.len - 1] == '\n') c.len--;
      if (c.len && c.data[c.len - 1] == '}') c.len--;
      if (c.len > 1) buf_put(cost, c.data + 1, c.len - 1);
    } else if (c.len) {
      term_write(stdout, c.data, c.len, TERM_TEXT);
    }
    buf_free(&c);
  }
  return rc;
}

int weft_tool_check(const char *const *files, int nfiles, const weft_check_opts *ck, const weft_compile_opts *co) {
  int rc = EXIT_OK;
  uint32_t errors = 0, warnings = 0, omitted = 0;
  Buf costs, caps;
  buf_init(&costs);
  buf_init(&caps);
  char *doc = NULL;
  size_t doclen = 0;
  bool collect = ck->format == WEFT_CHECK_JSON || ck->format == WEFT_CHECK_SARIF;
  FILE *items = collect ? open_memstream(&doc, &doclen) : NULL;
  if (collect && !items) {
    errorf("check: out of memory");
    return EXIT_FAIL;
  }
  bool first = true;
  for (int i = 0; i < nfiles; i++) {
    CapsJob job = {files[i], ck->format == WEFT_CHECK_JSON, &caps, co};
    int r = check_one(files[i], ck->format, co, items, &first, &errors, &warnings, &omitted,
                      ck->cost ? &costs : NULL, ck->caps ? caps_then : NULL, &job);
    if (ck->caps && !job.json && caps.len) { /* text: after the file's diagnostics */
      fflush(stderr);
      term_write(stdout, caps.data, caps.len, TERM_TEXT);
      caps.len = 0;
    }
    if (r > rc) rc = r;
  }
  if (items) fclose(items);
  if (ck->format == WEFT_CHECK_JSON) {
    fputs("{\"diagnostics\":[", stdout);
    if (doclen) fwrite(doc, 1, doclen, stdout);
    printf("],\"errors\":%" PRIu32 ",\"warnings\":%" PRIu32 ",\"omitted\":%" PRIu32, errors, warnings, omitted);
    if (costs.len) {
      putchar(',');
      term_write(stdout, costs.data, costs.len, TERM_JSON);
    }
    if (ck->caps) {
      fputs(",\"caps\":[", stdout);
      term_write(stdout, caps.data, caps.len, TERM_JSON);
      putchar(']');
    }
    fputs("}\n", stdout);
  } else if (ck->format == WEFT_CHECK_SARIF) {
    fputs("{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\","
          "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"weft\",\"version\":",
          stdout);
    printf("\"%s\",\"rules\":[", PACKAGE_VERSION);
    diag_render_sarif_rules(stdout);
    fputs("]}},\"columnKind\":\"unicodeCodePoints\",\"results\":[", stdout);
    if (doclen) fwrite(doc, 1, doclen, stdout);
    fputs("]}]}\n", stdout);
  }
  free(doc);
  buf_free(&costs);
  buf_free(&caps);
  /* --deny-warnings: a warning fails the check as an error would */
  if (rc == EXIT_OK && ck->deny_warnings && warnings) rc = EXIT_FAIL;
  return rc;
}

/* ---- weft graph ------------------------------------------------------------ */

typedef struct GraphJob { GraphFormat format; Buf *out; bool ok; } GraphJob;

static void graph_then(Program *p, void *ud) {
  GraphJob *g = ud;
  g->ok = graph_program(p, g->format, g->out);
}

int weft_tool_graph(const char *file, bool mermaid, const weft_compile_opts *co) {
  if (co->untrusted ? untrusted_source(file) != EXIT_OK : !check_readable(file)) return EXIT_USAGE;
  /* diagnostics as weft check prints them; the graph only of a program
   * that checks, drawn from that same compile */
  uint32_t errors = 0, warnings = 0, omitted = 0;
  bool first = true;
  Buf out;
  buf_init(&out);
  GraphJob job = {mermaid ? GRAPH_MERMAID : GRAPH_DOT, &out, false};
  int rc = check_one(file, WEFT_CHECK_TEXT, co, NULL, &first, &errors, &warnings, &omitted, NULL, graph_then, &job);
  if (rc != EXIT_OK) {
    buf_free(&out);
    return rc;
  }
  if (!job.ok) {
    buf_free(&out);
    errorf("graph: '%s' does not check", file);
    return EXIT_FAIL;
  }
  fwrite(out.data ? out.data : "", 1, out.len, stdout);
  buf_free(&out);
  return EXIT_OK;
}

/* The program's graph for the page, recomputed from the file the run
 * names, only while that file is still the source the run compiled (its
 * sources hash to the run's module hash); NULL otherwise, with *note
 * saying why. The journal is hostile: the path may name anything, so it
 * is opened only as resume would open it (recorded_program_unfit), and
 * the compile runs under the untrusted source and memory caps. */
char *run_graph(const char *path, const char *module_hash, const char **note) {
  *note = NULL;
  if (!path || strcmp(path, RUN_PROGRAM_NONE) == 0) {
    *note = "no graph: the run was not started from a program file";
    return NULL;
  }
  bool gone = false;
  char *unfit = recorded_program_unfit(path, &gone);
  if (unfit) {
    free(unfit);
    *note = gone ? "no graph: the run's program file is gone" : "no graph: the run's program file may not be opened";
    return NULL;
  }
  CompileOptions opt = {.check_only = true, .natives = std_native_table(),
                        .max_source_bytes = WEFT_UNTRUSTED_MAX_SOURCE_BYTES,
                        .max_memory = (size_t)WEFT_UNTRUSTED_MAX_MEMORY};
  Buf g;
  buf_init(&g);
  uint64_t h = 0;
  char hash[17];
  if (!graph_file(path, &opt, GRAPH_JSON, &h, &g)) {
    *note = "no graph: the run's program file cannot be read or no longer checks";
  } else if (hash_hex(h, hash), !module_hash || strcmp(hash, module_hash) != 0) {
    *note = "no graph: the run's program file has changed since the run";
  } else {
    buf_putc(&g, '\0');
    return g.data;
  }
  buf_free(&g);
  return NULL;
}

/* ---- weft fmt ------------------------------------------------------------- */

typedef struct Lines { const char **p; size_t *n; size_t count; } Lines;

static Lines split_lines(const char *s, size_t n) {
  Lines l = { NULL, NULL, 0 };
  size_t cap = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && s[j] != '\n') j++;
    if (l.count == cap) {
      cap = cap ? cap * 2 : 64;
      l.p = xrealloc(l.p, cap * sizeof *l.p);
      l.n = xrealloc(l.n, cap * sizeof *l.n);
    }
    l.p[l.count] = s + i;
    l.n[l.count++] = j - i + (j < n); /* with its newline */
    i = j + 1;
  }
  return l;
}

static bool line_eq(const Lines *a, size_t i, const Lines *b, size_t j) {
  return a->n[i] == b->n[j] && !memcmp(a->p[i], b->p[j], a->n[i]);
}

/* One line of a hunk: ' ', '-' or '+', the line (a missing final newline
 * noted as diff does). */
static void hunk_line(Buf *out, char tag, const char *p, size_t n) {
  buf_putc(out, tag);
  buf_put(out, p, n);
  if (!n || p[n - 1] != '\n') buf_puts(out, "\n\\ No newline at end of file\n");
}

/* The unified diff (3 lines of context) turning text a into text b, by
 * Myers' O((N+M)D) algorithm. The trace it keeps is D arrays; past
 * DIFF_MAX_D edits the whole file is one hunk, which is still a correct
 * diff, only a coarse one. */
#define DIFF_MAX_D 2000
void unified_diff(Buf *out, const char *from, const char *to, const char *a, size_t an, const char *b, size_t bn) {
  Lines A = split_lines(a, an), B = split_lines(b, bn);
  size_t N = A.count, M = B.count, MAX = N + M;
  /* ops: 0 keep, 1 delete from A, 2 insert from B, in order */
  unsigned char *ops = xmalloc(MAX + 1);
  size_t nops = 0;
  /* strip the common head and tail first: formatting changes few lines */
  size_t head = 0;
  while (head < N && head < M && line_eq(&A, head, &B, head)) head++;
  size_t tail = 0;
  while (tail < N - head && tail < M - head && line_eq(&A, N - 1 - tail, &B, M - 1 - tail)) tail++;
  size_t n = N - head - tail, m = M - head - tail, lim = n + m;
  for (size_t k = 0; k < head; k++) ops[nops++] = 0;
  ptrdiff_t off = (ptrdiff_t)lim + 1;
  size_t width = 2 * lim + 3;
  ptrdiff_t *v = xcalloc(width, sizeof *v);
  ptrdiff_t **trace = NULL;
  size_t ntrace = 0, dfound = 0;
  bool found = lim == 0, coarse = false;
  for (size_t d = 0; !found && d <= lim; d++) {
    if (d > DIFF_MAX_D) { coarse = true; break; }
    trace = xrealloc(trace, (ntrace + 1) * sizeof *trace);
    trace[ntrace] = xmalloc(width * sizeof **trace);
    memcpy(trace[ntrace++], v, width * sizeof *v);
    for (ptrdiff_t k = -(ptrdiff_t)d; k <= (ptrdiff_t)d; k += 2) {
      ptrdiff_t x = (k == -(ptrdiff_t)d || (k != (ptrdiff_t)d && v[off + k - 1] < v[off + k + 1]))
                        ? v[off + k + 1] : v[off + k - 1] + 1;
      ptrdiff_t y = x - k;
      while (x < (ptrdiff_t)n && y < (ptrdiff_t)m && line_eq(&A, head + (size_t)x, &B, head + (size_t)y)) x++, y++;
      v[off + k] = x;
      if (x >= (ptrdiff_t)n && y >= (ptrdiff_t)m) { found = true; dfound = d; break; }
    }
  }
  if (coarse || !found) {
    for (size_t k = 0; k < n; k++) ops[nops++] = 1;
    for (size_t k = 0; k < m; k++) ops[nops++] = 2;
  } else if (lim) {
    /* walk the trace back from (n, m) to (0, 0), then reverse */
    unsigned char *rev = xmalloc(lim + 1);
    size_t nrev = 0;
    ptrdiff_t x = (ptrdiff_t)n, y = (ptrdiff_t)m;
    for (size_t d = dfound + 1; d-- > 0;) {
      ptrdiff_t *vd = trace[d];
      ptrdiff_t k = x - y;
      if (d == 0) {
        while (x > 0 && y > 0) { rev[nrev++] = 0; x--; y--; }
        break;
      }
      ptrdiff_t pk = (k == -(ptrdiff_t)d || (k != (ptrdiff_t)d && vd[off + k - 1] < vd[off + k + 1])) ? k + 1 : k - 1;
      ptrdiff_t px = vd[off + pk], py = px - pk;
      while (x > px && y > py) { rev[nrev++] = 0; x--; y--; }
      if (pk == k + 1) { rev[nrev++] = 2; y--; } else { rev[nrev++] = 1; x--; }
    }
    while (nrev) ops[nops++] = rev[--nrev];
    free(rev);
  }
  for (size_t k = 0; k < tail; k++) ops[nops++] = 0;
  for (size_t t = 0; t < ntrace; t++) free(trace[t]);
  free(trace);
  free(v);
  /* hunks: changes with up to 3 lines of context, merged when close */
  buf_printf(out, "--- %s\n+++ %s\n", from, to);
  size_t i = 0, ai = 0, bi = 0, prev_end = 0;
  while (i < nops) {
    if (ops[i] == 0) { i++; ai++; bi++; continue; }
    size_t ctx = i - prev_end < 3 ? i - prev_end : 3;
    size_t hs = i - ctx, has = ai - ctx, hbs = bi - ctx;
    /* the hunk ends 3 lines into the first run of more than 6 unchanged
     * lines, or 3 lines past the last change */
    size_t e = i, run = 0;
    while (e < nops) {
      if (ops[e] == 0) {
        if (++run > 6) break;
      } else {
        run = 0;
      }
      e++;
    }
    size_t end = e < nops ? e - 3 : nops - (run > 3 ? run - 3 : 0);
    size_t ac = 0, bc = 0;
    for (size_t k = hs; k < end; k++) {
      if (ops[k] != 2) ac++;
      if (ops[k] != 1) bc++;
    }
    buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n", ac ? has + 1 : has, ac, bc ? hbs + 1 : hbs, bc);
    size_t x = has, y = hbs;
    for (size_t k = hs; k < end; k++) {
      if (ops[k] == 0) { hunk_line(out, ' ', A.p[x], A.n[x]); x++; y++; }
      else if (ops[k] == 1) { hunk_line(out, '-', A.p[x], A.n[x]); x++; }
      else { hunk_line(out, '+', B.p[y], B.n[y]); y++; }
    }
    i = prev_end = end;
    ai = x;
    bi = y;
  }
  free(ops);
  free(A.p);
  free(A.n);
  free(B.p);
  free(B.n);
}

/* Formats one file; 0 formatted (or already), 1 not formatted (check) or
 * does not parse, 2 unreadable. */
static int fmt_one(const char *path, bool write, bool check) {
  size_t len = 0;
  char *text = read_file_max(path, SRC_MAX_BYTES, &len);
  if (!text) {
    errorf("fmt: cannot read '%s': %s", strcmp(path, "-") ? path : "standard input",
           errno == EFBIG ? "larger than 16 MiB" : strerror(errno));
    return EXIT_USAGE;
  }
  /* a file that does not parse is left as it is, with its diagnostics */
  SourceSet ss;
  DiagList dl;
  Arena arena;
  src_init(&ss);
  diag_init(&dl);
  arena_init(&arena);
  const char *shown = strcmp(path, "-") ? path : "<stdin>";
  uint32_t sid = src_add(&ss, shown, text, len);
  Ast ast;
  parse_source(&arena, &ss, sid, &dl, &ast);
  int rc = EXIT_OK;
  if (dl.errors) {
    diag_sort(&dl);
    diag_render_text(stderr, &dl, &ss, use_color(0));
    rc = EXIT_FAIL;
  }
  arena_free(&arena);
  diag_free(&dl);
  src_free(&ss);
  if (rc != EXIT_OK) {
    if (!strcmp(path, "-") && !check) fwrite(text, 1, len, stdout); /* a filter loses nothing */
    free(text);
    return rc;
  }
  Buf out;
  buf_init(&out);
  fmt_source(text, len, &out);
  bool same = out.len == len && (!len || !memcmp(out.data, text, len));
  if (check) {
    if (!same) {
      Buf d;
      buf_init(&d);
      char *to = xasprintf("%s (formatted)", shown);
      unified_diff(&d, shown, to, text, len, out.data ? out.data : "", out.len);
      free(to);
      term_write(stdout, d.data, d.len, TERM_TEXT);
      buf_free(&d);
      rc = EXIT_FAIL;
    }
  } else if (write && strcmp(path, "-")) {
    if (!same) {
      /* write beside, then rename: a crash leaves the old file or the new one */
      char *tmp = xasprintf("%s.fmt-%ld", path, (long)getpid());
      FILE *f = fopen(tmp, "wb");
      struct stat st;
      bool ok = f && fwrite(out.data ? out.data : "", 1, out.len, f) == out.len;
      if (f && fclose(f) != 0) ok = false;
      if (ok && stat(path, &st) == 0) chmod(tmp, st.st_mode & 07777);
      if (!ok || rename(tmp, path) != 0) {
        errorf("fmt: cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
        rc = EXIT_FAIL;
      }
      free(tmp);
    }
  } else {
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
  }
  buf_free(&out);
  free(text);
  return rc;
}

int weft_tool_fmt(const char *const *files, int nfiles, bool write, bool check) {
  int rc = EXIT_OK;
  for (int i = 0; i < nfiles; i++) {
    int r = fmt_one(files[i], write, check);
    if (r > rc) rc = r;
  }
  return rc;
}

/* ---- weft build / disasm ------------------------------------------------- */

/* FILE.weft -> FILE.weftc (any other name gets ".weftc" appended). */
static char *default_output(const char *file) {
  size_t n = strlen(file);
  if (n > 5 && strcmp(file + n - 5, ".weft") == 0) n -= 5;
  char *out = malloc(n + 7);
  if (!out) return NULL;
  memcpy(out, file, n);
  memcpy(out + n, ".weftc", 7);
  return out;
}

int weft_tool_build(const char *file, const char *out, const weft_compile_opts *co) {
  int rc;
  Loaded ld;
  rc = load_module(file, co, &ld);
  if (rc != EXIT_OK) {
    loaded_free(&ld);
    return rc;
  }
  char *def = out ? NULL : default_output(file);
  const char *dest = out ? out : def;
  size_t len = 0;
  uint8_t *bytes = dest ? module_write(ld.mod, &len) : NULL;
  if (!bytes) {
    errorf("cannot encode the module of '%s'", file);
    rc = EXIT_FAIL;
  } else {
    FILE *f = fopen(dest, "wb");
    if (!f) {
      errorf("cannot write '%s': %s", dest, strerror(errno));
      rc = EXIT_FAIL;
    } else {
      size_t put = fwrite(bytes, 1, len, f);
      int closed = fclose(f);
      if (put != len || closed != 0) {
        errorf("cannot write '%s': %s", dest, strerror(errno));
        remove(dest);
        rc = EXIT_FAIL;
      }
    }
  }
  free(bytes);
  free(def);
  loaded_free(&ld);
  return rc;
}

int weft_tool_disasm(const char *file, const weft_compile_opts *co) {
  int rc;
  Loaded ld;
  rc = load_module(file, co, &ld);
  if (rc == EXIT_OK) {
    /* a module's names and strings may hold anything: the listing is escaped */
    char *text = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&text, &len);
    if (mf) {
      module_disasm(mf, ld.mod);
      if (fclose(mf) == 0) {
        term_write(stdout, text, len, TERM_TEXT);
      } else {
        errorf("disasm: cannot build the listing");
        rc = EXIT_FAIL;
      }
      free(text);
    } else {
      errorf("disasm: cannot build the listing: %s", strerror(errno));
      rc = EXIT_FAIL;
    }
  }
  loaded_free(&ld);
  return rc;
}

/* ---- the journal ------------------------------------------------------------ */

const char *weft_tool_journal_path(const char *flag) {
  const char *env = getenv("WEFT_JOURNAL");
  return flag && flag[0] ? flag : env && env[0] ? env : JOURNAL_DEFAULT_PATH;
}

bool parse_run_id(Journal *j, const char *s, int64_t *id) {
  if (strcmp(s, "last") == 0) {
    RunRec *rs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (!journal_runs_list(j, &rs, &n, &err)) {
      errorf("%s", err ? err : "cannot read the journal");
      free(err);
      return false;
    }
    if (n) *id = rs[n - 1].id;
    run_recs_free(rs, n);
    if (!n) errorf("no runs in %s yet", j->path);
    return n > 0;
  }
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!s[0] || *end || errno || v <= 0) {
    errorf("'%s' is not a run id (a number from `weft runs`, or last)", s);
    return false;
  }
  *id = (int64_t)v;
  return true;
}

