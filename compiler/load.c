/* load.c — finds, reads and parses the files of one program.
 *
 * The main file's imports are followed depth-first; each file is loaded
 * once (keyed by its device and inode, or "std:NAME" for the embedded
 * standard library) and appended after its dependencies, so
 * Program.files is in dependency order with the main file last. The
 * standard prelude is loaded first of all, because every other file
 * imports it implicitly. Each N_IMPORT node gets an ImportTarget (front.h)
 * naming the file it resolved to; the checker builds scopes from those.
 *
 * Imports are confined (docs/security.md, "Imports"): a program may be
 * hostile, and whatever the loader reads can end up in a diagnostic. An
 * import names a `.weft` file beneath an import root: the directory of the
 * main file, or one given with --allow-import (an untrusted program has
 * only the latter: its own directory merely places its imports). ".." is
 * resolved by name
 * against the importing file's place beneath its root; the result is opened
 * beneath the root's directory fd with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS), or, where the kernel lacks openat2, by a walk
 * that opens one component at a time and follows no symbolic link. Only a
 * regular file of at most LOAD_MAX_FILE_BYTES is read, from the very fd
 * that was checked. An imported file that does not parse is summarized in
 * one diagnostic that quotes no more than its first bytes, escaped. */
#ifdef __linux__
#define _GNU_SOURCE /* O_PATH, syscall() and SYS_openat2 */
#endif
/* realpath() is an X/Open interface; glibc hides it under plain POSIX. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../base/term.h"
#include "../base/util.h"
#include "desugar.h"
#include "front.h"

#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#include <sys/syscall.h>
#ifdef SYS_openat2
#define HAVE_OPENAT2 1
#endif
#endif
#endif

#ifndef O_PATH
#define O_PATH O_RDONLY /* only a fallback: then a root needs read permission */
#endif

/* How an imported file is opened: never blocks (a FIFO), never becomes a
 * controlling terminal, and is not inherited by anything started later. */
#define IMPORT_OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

typedef enum { ENTRY_LOADING, ENTRY_DONE } EntryState;

typedef struct LoadEntry {
  char *key;        /* identity: "std:NAME" (embedded) or "file:DEV:INO" (malloc'd) */
  uint32_t file;    /* SourceSet id */
  EntryState state;
  int32_t root;     /* index in Loader.roots, or -1 for an embedded module */
  char *rel;        /* its path beneath that root, by name (malloc'd; NULL if embedded) */
} LoadEntry;

/* A directory imports may resolve beneath. */
typedef struct Root {
  int fd;           /* the directory, opened once; -1 when it cannot be (err) */
  int err;
  char *real;       /* canonical absolute path, to place "../" imports; may be NULL */
  const char *shown;/* as given, for messages */
  bool std;         /* CompileOptions.stdlib_dir: reached through "std/NAME" only */
  bool anchor;      /* an untrusted program's own directory: it places the main
                       file's imports by name, but nothing is read beneath it
                       unless another root holds it too */
} Root;

typedef struct Loader {
  Program *p;
  const CompileOptions *opt;
  LoadEntry *entries; uint32_t n, cap;
  uint32_t *stack; uint32_t nstack, stack_cap; /* entries being loaded */
  const Node **via;  /* per stack level: the import being followed from it */
  Root *roots; uint32_t nroots;  /* [0] the main file's directory, then --allow-import */
  int32_t std_root;  /* index of the stdlib_dir root, or -1 */
  size_t bytes;      /* read from disk for imports so far (and the main file, under a
                        CompileOptions.max_source_bytes) */
  size_t max_bytes;  /* the cap on bytes */
} Loader;

void program_init(Program *p, SourceSet *ss, DiagList *dl) {
  memset(p, 0, sizeof *p);
  arena_init(&p->arena);
  p->sources = ss;
  p->diags = dl;
}

void program_free(Program *p) {
  arena_free(&p->arena);
  free(p->files);
  p->files = NULL;
  p->nfiles = p->files_cap = 0;
}

ProgramFile *load_find_file(Program *p, uint32_t file) {
  for (uint32_t i = 0; i < p->nfiles; i++)
    if (p->files[i].file == file) return &p->files[i];
  return NULL;
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

bool load_is_prelude(const Program *p, const ProgramFile *f) {
  if (!f->is_std || p->nfiles == 0 || f != &p->files[0]) return false;
  Source *s = src_get(p->sources, f->file);
  return s && strcmp(base_name(s->path), "prelude.weft") == 0;
}

static int32_t find_entry(Loader *L, const char *key) {
  for (uint32_t i = 0; i < L->n; i++)
    if (strcmp(L->entries[i].key, key) == 0) return (int32_t)i;
  return -1;
}

static uint32_t add_entry(Loader *L, const char *key, uint32_t file, int32_t root,
                          const char *rel) {
  if (L->n == L->cap) {
    L->cap = L->cap ? L->cap * 2 : 8;
    L->entries = xrealloc(L->entries, L->cap * sizeof *L->entries);
  }
  L->entries[L->n] =
      (LoadEntry){xstrdup(key), file, ENTRY_LOADING, root, rel ? xstrdup(rel) : NULL};
  return L->n++;
}

static void push_file(Program *p, uint32_t file, Ast ast, bool is_std) {
  if (p->nfiles == p->files_cap) {
    p->files_cap = p->files_cap ? p->files_cap * 2 : 8;
    p->files = xrealloc(p->files, p->files_cap * sizeof *p->files);
  }
  p->files[p->nfiles++] = (ProgramFile){file, ast, is_std, NULL};
}

/* The span diagnostics about a file point at: the import that named it, or
 * (for the main file and the implicit prelude) the start of `fallback`. */
static Span where(const Node *import, uint32_t fallback) {
  if (import) return import->span;
  return (Span){fallback, 0, 0};
}

/* Reports the chain "a.weft -> b.weft -> a.weft" ending in the re-entered
 * entry `again`, at the import in `again` that starts the cycle (so a
 * cycle through the main file is reported in the main file). */
static void report_cycle(Loader *L, const Node *import, uint32_t again) {
  Buf b;
  buf_init(&b);
  uint32_t from = 0;
  for (uint32_t i = 0; i < L->nstack; i++)
    if (L->stack[i] == again) from = i;
  for (uint32_t i = from; i < L->nstack; i++) {
    Source *s = src_get(L->p->sources, L->entries[L->stack[i]].file);
    buf_puts(&b, base_name(s->path));
    buf_puts(&b, " -> ");
  }
  buf_puts(&b, base_name(src_get(L->p->sources, L->entries[again].file)->path));
  const Node *at = L->via[from] ? L->via[from] : import;
  diag_add(L->p->diags, D_E0205, at->span,
           "a module cannot import itself, directly or through others; move the shared "
           "items into a third module",
           "import cycle: %.*s", (int)b.len, b.data ? b.data : "");
  buf_free(&b);
}

static void load_import(Loader *L, Node *imp, bool from_std, uint32_t depth);

static void push_stack(Loader *L, uint32_t e) {
  if (L->nstack == L->stack_cap) {
    L->stack_cap = L->stack_cap ? L->stack_cap * 2 : 8;
    L->stack = xrealloc(L->stack, L->stack_cap * sizeof *L->stack);
    L->via = xrealloc(L->via, L->stack_cap * sizeof *L->via);
  }
  L->via[L->nstack] = NULL;
  L->stack[L->nstack++] = e;
}

/* Follows every import item of a file (the top of the loader stack). */
static void load_imports(Loader *L, Ast *ast, bool is_std, uint32_t depth) {
  for (uint32_t i = 0; i < ast->items.n; i++) {
    Node *it = ast->items.items[i];
    if (!it || it->kind != N_IMPORT) continue;
    L->via[L->nstack - 1] = it;
    load_import(L, it, is_std, depth);
  }
}

/* ---- quoting what a hostile file or path contains ------------------------ */

/* The import path as written, quoted for a message (term.h: inert on a
 * terminal and in a log, and on one line). */
static const char *quoted_path(Buf *b, const Node *imp) {
  b->len = 0;
  term_quote(b, imp->u.import.path ? imp->u.import.path : "", imp->u.import.path_len, 200);
  return b->data;
}

/* ---- where an import lies ------------------------------------------------ */

/* Joins `dir` (a path beneath a root: names separated by '/', "" for the
 * root itself) and an import path, resolving "." and ".." by name, not by
 * following links. The names left go to out; returns how many levels the
 * result climbs above the root (0: it stays beneath it). */
static uint32_t join_by_name(const char *dir, const char *path, Buf *out) {
  uint32_t up = 0;
  out->len = 0;
  const char *parts[2] = {dir, path};
  for (int k = 0; k < 2; k++) {
    const char *p = parts[k];
    while (*p) {
      const char *slash = strchr(p, '/');
      size_t n = slash ? (size_t)(slash - p) : strlen(p);
      if (n == 2 && p[0] == '.' && p[1] == '.') {
        if (out->len == 0) {
          up++;
        } else {
          while (out->len > 0 && out->data[out->len - 1] != '/') out->len--;
          if (out->len > 0) out->len--; /* the separator */
        }
      } else if (n > 0 && !(n == 1 && p[0] == '.')) {
        if (out->len) buf_putc(out, '/');
        buf_put(out, p, n);
      }
      p += n;
      if (*p == '/') p++;
    }
  }
  buf_put(out, "", 0); /* data is a C string even when no name is left */
  return up;
}

/* Places a path that climbs `up` levels above root r (or any path beneath
 * an anchor): it is allowed when, taken by name from r's canonical path, it
 * lies beneath some import root (the deepest such root is used). Returns
 * that root and the path beneath it (malloc'd), or -1. */
static int32_t place_above(Loader *L, int32_t r, uint32_t up, const char *names, char **rel) {
  const char *real = L->roots[r].real;
  if (!real) return -1;
  Buf abs;
  buf_init(&abs);
  buf_puts(&abs, real);
  for (uint32_t k = 0; k < up && abs.len > 1; k++) {
    while (abs.len > 1 && abs.data[abs.len - 1] != '/') abs.len--;
    if (abs.len > 1) abs.len--;
  }
  if (abs.len > 1 || abs.data[0] != '/') buf_putc(&abs, '/');
  buf_puts(&abs, names);
  int32_t best = -1;
  size_t best_len = 0;
  for (uint32_t q = 0; q < L->nroots; q++) {
    const char *rr = L->roots[q].real;
    if (!rr || L->roots[q].std || L->roots[q].anchor) continue;
    size_t n = strlen(rr);
    if (n == 1 && rr[0] == '/') n = 0; /* "/" is a prefix of every path */
    if (strncmp(abs.data, rr, n) != 0 || abs.data[n] != '/' || !abs.data[n + 1]) continue;
    if (best < 0 || n > best_len) best = (int32_t)q, best_len = n;
  }
  if (best >= 0) *rel = xstrdup(abs.data + best_len + 1);
  buf_free(&abs);
  return best;
}

/* ---- opening beneath a root ---------------------------------------------- */

/* The walk behind load_open_beneath: one name at a time, each directory
 * opened relative to the one before with O_NOFOLLOW, so no symbolic link
 * (inside the root or not) is followed and no ".." is taken. */
static int walk_beneath(int dirfd, const char *rel) {
  int cur = dirfd;
  const char *p = rel;
  for (;;) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
      if (cur != dirfd) close(cur);
      errno = EXDEV; /* not a path beneath the directory */
      return -1;
    }
    char *name = xstrndup(p, n);
    int fd = openat(cur, name, slash ? O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
                                     : IMPORT_OPEN_FLAGS | O_NOFOLLOW);
    int err = errno;
    struct stat st;
    if (fd >= 0 && slash && (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode))) {
      close(fd);
      fd = -1;
      err = ENOTDIR;
    }
    /* O_NOFOLLOW reports a link as ELOOP, or ENOTDIR where a directory was
     * expected: name it for what it is. */
    if (fd < 0 && (err == ENOTDIR || err == ELOOP) &&
        fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
      err = ELOOP;
    free(name);
    if (cur != dirfd) close(cur);
    if (fd < 0) {
      errno = err;
      return -1;
    }
    if (!slash) return fd;
    cur = fd;
    p = slash + 1;
  }
}

int load_open_beneath(int dirfd, const char *rel, bool walk_only) {
#ifdef HAVE_OPENAT2
  if (!walk_only) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = IMPORT_OPEN_FLAGS;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    for (int tries = 0; tries < 16; tries++) {
      long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
      if (fd >= 0) return (int)fd;
      /* EAGAIN: a rename raced with the lookup and the kernel could not
       * prove the path stayed beneath; it asks for another try. */
      if (errno == EAGAIN || errno == EINTR) continue;
      /* Anything but "no openat2 here" (ENOSYS, or EPERM from a seccomp
       * filter, EINVAL/E2BIG from a kernel that lacks a flag) is the
       * answer; otherwise the walk below decides. */
      if (errno != ENOSYS && errno != EPERM && errno != EINVAL && errno != E2BIG) return -1;
      break;
    }
  }
#else
  (void)walk_only;
#endif
  return walk_beneath(dirfd, rel);
}

/* ---- reading one file ----------------------------------------------------- */

/* Parses a file just added to the SourceSet, loads its imports, and
 * appends it to Program.files. Returns its entry. */
static uint32_t parse_loaded(Loader *L, const char *key, uint32_t id, int32_t root,
                             const char *rel, bool is_std, const Node *import, uint32_t depth);

/* Refuses an import with E0204: "cannot import PATH: WHY". */
static void refuse(Loader *L, const Node *import, const char *help, const char *what,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void refuse(Loader *L, const Node *import, const char *help, const char *what,
                   const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *why = xmalloc(len > 0 ? (size_t)len + 1 : 1);
  why[0] = '\0';
  if (len > 0) {
    va_start(ap, fmt);
    vsnprintf(why, (size_t)len + 1, fmt, ap);
    va_end(ap);
  }
  diag_add(L->p->diags, D_E0204, where(import, L->p->main_file), help, "cannot import %s: %s",
           what, why);
  free(why);
}

#define HELP_BENEATH                                                                   \
  "an import names a .weft file beneath the directory of the program being compiled, " \
  "or beneath a directory given with --allow-import"
#define HELP_UNTRUSTED                                                                  \
  "an untrusted program imports \"std/...\" modules, and .weft files beneath a "        \
  "directory the operator gives with --allow-import (its own directory is not one)"
#define HELP_ROOTS(L) ((L)->opt && (L)->opt->untrusted ? HELP_UNTRUSTED : HELP_BENEATH)

/* Opens `rel` beneath root `r`, checks it is a regular file of bounded
 * size, and loads it (unless the same file is already loaded). `shown` is
 * its name for diagnostics; `what` the import as quoted in messages. */
static int32_t load_disk(Loader *L, int32_t r, const char *rel, const char *shown, bool is_std,
                         const Node *import, uint32_t depth, const char *what) {
  Program *p = L->p;
  Root *R = &L->roots[r];
  if (R->fd < 0) {
    refuse(L, import, NULL, what, "cannot open the directory %s: %s", R->shown, strerror(R->err));
    return -1;
  }
  int fd = load_open_beneath(R->fd, rel, false);
  if (fd < 0) {
    int err = errno;
    if (err == EXDEV)
      refuse(L, import, HELP_ROOTS(L), what, "%s leads outside %s through a symbolic link", shown,
             R->shown);
    else if (err == ELOOP)
      refuse(L, import, "replace the symbolic link by the file it points to", what,
             "%s goes through a symbolic link that imports do not follow", shown);
    else
      refuse(L, import, NULL, what, "cannot read %s: %s", shown, strerror(err));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    refuse(L, import, NULL, what, "cannot read %s: %s", shown, strerror(err));
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    if (S_ISDIR(st.st_mode))
      refuse(L, import, "import a .weft file, not a directory", what, "%s is a directory", shown);
    else
      refuse(L, import, "only regular files are imported", what,
             "%s is not a regular file (a device, pipe or socket is never read)", shown);
    return -1;
  }
  if ((uintmax_t)st.st_size > LOAD_MAX_FILE_BYTES) {
    close(fd);
    refuse(L, import, "split the module into smaller ones", what,
           "%s is larger than %zu KiB, the most an imported file may hold", shown,
           LOAD_MAX_FILE_BYTES >> 10);
    return -1;
  }
  Buf key;
  buf_init(&key);
  buf_printf(&key, "file:%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
  int32_t found = find_entry(L, key.data);
  if (found >= 0) {
    close(fd);
    buf_free(&key);
    if (L->entries[found].state == ENTRY_LOADING) {
      if (import) report_cycle(L, import, (uint32_t)found);
      return -1;
    }
    return found;
  }
  Span at = where(import, p->main_file);
  bool over = true;
  if (depth > LOAD_MAX_DEPTH)
    diag_add(p->diags, D_E0204, at, NULL, "imports are nested more than %d levels deep",
             LOAD_MAX_DEPTH);
  else if (L->n >= LOAD_MAX_FILES)
    diag_add(p->diags, D_E0204, at, "join small modules into larger ones",
             "the program imports more than %d files", LOAD_MAX_FILES);
  else if (L->bytes + (size_t)st.st_size > L->max_bytes && L->opt && L->opt->max_source_bytes)
    diag_add(p->diags, D_E0204, at, NULL,
             "the program's source files (the main file and its imports) hold more than %zu KiB "
             "together, the most %s program may hold", L->max_bytes >> 10,
             L->opt->untrusted ? "an untrusted" : "this");
  else if (L->bytes + (size_t)st.st_size > L->max_bytes)
    diag_add(p->diags, D_E0204, at, NULL,
             "the program's imported files hold more than %zu MiB together",
             L->max_bytes >> 20);
  else
    over = false;
  if (over) {
    close(fd);
    buf_free(&key);
    return -1;
  }
  /* Read from the fd that was checked: a file swapped after the checks is
   * never the one read, and one that grows is still cut at the cap. */
  int32_t id = src_read_fd(p->sources, shown, fd, LOAD_MAX_FILE_BYTES);
  int err = errno;
  close(fd);
  if (id < 0) {
    buf_free(&key);
    if (err == EFBIG)
      refuse(L, import, "split the module into smaller ones", what,
             "%s is larger than %zu KiB, the most an imported file may hold", shown,
             LOAD_MAX_FILE_BYTES >> 10);
    else
      refuse(L, import, NULL, what, "cannot read %s: %s", shown, strerror(err));
    return -1;
  }
  L->bytes += src_get(p->sources, (uint32_t)id)->len;
  uint32_t e = parse_loaded(L, key.data, (uint32_t)id, r, rel, is_std, import, depth);
  buf_free(&key);
  return (int32_t)e;
}

/* An imported file that does not parse is, as often as not, no Weft at all
 * (a data or secrets file reached by mistake or on purpose), and its
 * diagnostics would quote it line by line. They are replaced by one E0204
 * at the import: where its first error is, what kind it is, and at most
 * its first LOAD_QUOTE_BYTES, escaped. `weft check FILE` shows the rest.
 * (`omitted` is the count of diagnostics left out before this file.) */
static void summarize_unparsed(Loader *L, uint32_t mark, uint32_t omitted, uint32_t id, const Node *import) {
  DiagList *dl = L->p->diags;
  Source *s = src_get(L->p->sources, id);
  uint32_t nerr = 0, first = 0;
  for (uint32_t i = mark; i < dl->n; i++) {
    if (dl->items[i].severity != SEV_ERROR) continue;
    if (!nerr || dl->items[i].span.start < dl->items[first].span.start) first = i;
    nerr++;
  }
  if (!nerr) return;
  DiagCode code = dl->items[first].code;
  uint32_t line = 0, col = 0;
  src_line_col(s, dl->items[first].span.start, &line, &col);
  for (uint32_t i = mark; i < dl->n; i++) {
    if (dl->items[i].severity == SEV_ERROR) dl->errors--;
    else if (dl->items[i].severity == SEV_WARNING) dl->warnings--;
    else dl->notes--;
    free(dl->items[i].message);
    free(dl->items[i].help);
  }
  dl->n = mark;
  dl->omitted = omitted;

  Buf what, start, help;
  buf_init(&what);
  buf_init(&start);
  buf_init(&help);
  if (import) quoted_path(&what, import);
  else term_quote(&what, s->path, strlen(s->path), 200);
  size_t first_line = 0;
  while (first_line < s->len && s->text[first_line] != '\n') first_line++;
  term_quote(&start, s->text, first_line, LOAD_QUOTE_BYTES);
  buf_printf(&help,
             "the errors of an imported file that does not parse are not shown, so that a "
             "file that is not Weft is never printed; `weft check %s` shows them",
             s->path);
  diag_add(dl, D_E0204, where(import, L->p->main_file), help.data,
           "cannot import %s: it does not parse (%" PRIu32 " error%s; the first, %s %s, at line %" PRIu32
           ", column %" PRIu32 "); the file starts with %s",
           what.data, nerr, nerr == 1 ? "" : "s", diag_code_name(code), diag_code_title(code),
           line, col, start.data);
  buf_free(&what);
  buf_free(&start);
  buf_free(&help);
}

static uint32_t parse_loaded(Loader *L, const char *key, uint32_t id, int32_t root,
                             const char *rel, bool is_std, const Node *import, uint32_t depth) {
  Program *p = L->p;
  uint32_t e = add_entry(L, key, id, root, rel);
  push_stack(L, e);
  Ast ast;
  memset(&ast, 0, sizeof ast);
  uint32_t mark = p->diags->n, omitted = p->diags->omitted;
  parse_source(&p->arena, p->sources, id, p->diags, &ast);
  ast.file = id;
  desugar_file(&p->arena, p->diags, p->sources, &ast);
  if (rel && id != p->main_file) summarize_unparsed(L, mark, omitted, id, import);
  load_imports(L, &ast, is_std, depth + 1);
  L->nstack--;
  L->entries[e].state = ENTRY_DONE;
  push_file(p, id, ast, is_std);
  return e;
}

/* ---- standard modules and imports ----------------------------------------- */

/* A standard module's name is a plain identifier ("patterns"), which also
 * keeps "std/../x" from reaching outside the standard library. */
static bool valid_std_name(const char *name) {
  if (!*name) return false;
  for (const char *s = name; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_'))
      return false;
  return true;
}

/* Loads std/NAME: from opt->stdlib_dir when set (beneath it, like any
 * import), else from the embedded copy. Returns the entry index or -1. */
static int32_t load_std(Loader *L, const char *name, const Node *import, uint32_t depth) {
  Program *p = L->p;
  Span at = where(import, p->main_file);
  if (!valid_std_name(name)) {
    diag_add(p->diags, D_E0204, at, NULL, "no standard module named \"std/%s\"", name);
    return -1;
  }
  Buf a, b;
  buf_init(&a);
  buf_init(&b);
  int32_t r = -1;
  if (L->std_root >= 0) {
    buf_printf(&a, "%s.weft", name);
    buf_printf(&b, "%s/%s.weft", L->opt->stdlib_dir, name);
    Buf what;
    buf_init(&what);
    buf_printf(&what, "\"std/%s\"", name);
    r = load_disk(L, L->std_root, a.data, b.data, true, import, depth, what.data);
    buf_free(&what);
  } else {
    buf_printf(&a, "std:%s", name);
    r = find_entry(L, a.data);
    if (r >= 0 && L->entries[r].state == ENTRY_LOADING) {
      if (import) report_cycle(L, import, (uint32_t)r);
      r = -1;
    } else if (r < 0) {
      size_t len = 0;
      const char *text = stdlib_source(name, &len);
      if (!text) {
        diag_add(p->diags, D_E0204, at, NULL, "no standard module named \"std/%s\"", name);
      } else {
        buf_printf(&b, "std/%s.weft", name);
        uint32_t id = src_add(p->sources, b.data, text, len);
        r = (int32_t)parse_loaded(L, a.data, id, -1, NULL, true, import, depth);
      }
    }
  }
  buf_free(&a);
  buf_free(&b);
  return r;
}

/* Whether an import path is one this loader will look up at all: no NUL
 * (it would cut the path short) and nothing a quoted message would have to
 * escape but `"` and `\`: no control, bidirectional or line-separator
 * character and no invalid UTF-8 (each would reach the terminal in every
 * message that names the file). */
static bool printable_path(const char *path, size_t len) {
  if (strlen(path) != len) return false;
  char esc[TERM_ESC_MAX];
  for (size_t i = 0; i < len;) {
    size_t el, k = term_char(path + i, len - i, TERM_QUOTE, esc, &el);
    if (el && path[i] != '"' && path[i] != '\\') return false;
    i += k;
  }
  return true;
}

static bool weft_name(const char *path) {
  const char *base = base_name(path);
  size_t n = strlen(base);
  return n > 5 && strcmp(base + n - 5, ".weft") == 0;
}

/* Resolves one `import` item of the file on top of the loader stack and
 * loads its target. */
static void load_import(Loader *L, Node *imp, bool from_std, uint32_t depth) {
  Program *p = L->p;
  const char *path = imp->u.import.path ? imp->u.import.path : "";
  size_t path_len = imp->u.import.path ? imp->u.import.path_len : 0;
  const LoadEntry *from = &L->entries[L->stack[L->nstack - 1]];
  Buf what, names;
  buf_init(&what);
  buf_init(&names);
  quoted_path(&what, imp);
  int32_t e = -1;
  if (!printable_path(path, path_len)) {
    refuse(L, imp, "write the path with printable characters only", what.data,
           "the path contains a NUL, control or bidirectional character");
  } else if (strncmp(path, "std/", 4) == 0) {
    char *name = xstrdup(path + 4);
    size_t n = strlen(name);
    if (n > 5 && strcmp(name + n - 5, ".weft") == 0) name[n - 5] = '\0';
    e = load_std(L, name, imp, depth);
    free(name);
  } else if (from_std && L->std_root < 0) {
    diag_add(p->diags, D_E0204, imp->span, "standard modules import only \"std/...\" paths",
             "cannot import %s from an embedded standard module", what.data);
  } else if (path[0] == '/') {
    refuse(L, imp, HELP_ROOTS(L), what.data, "an import path cannot be absolute");
  } else if (strncmp(path, "./", 2) != 0 && strncmp(path, "../", 3) != 0) {
    diag_add(p->diags, D_E0204, imp->span,
             "write \"./file.weft\" or \"../dir/file.weft\" for a file next to this one, or "
             "\"std/name\" for a standard module",
             "cannot import %s: a path must start with ./, ../ or std/", what.data);
  } else if (!weft_name(path)) {
    refuse(L, imp, "only Weft modules can be imported: files whose names end in .weft",
           what.data, "the file name does not end in .weft");
  } else {
    /* The importing file's place beneath its root, then the import by name. */
    const char *rel = from->rel ? from->rel : "";
    const char *slash = strrchr(rel, '/');
    char *dir = xstrndup(rel, slash ? (size_t)(slash - rel) : 0);
    uint32_t up = join_by_name(dir, path, &names);
    free(dir);
    int32_t r = from->root;
    char *beneath = NULL;
    /* above the root, or anywhere beneath an anchor: placed among the roots */
    if (up > 0 || (r >= 0 && L->roots[r].anchor)) r = place_above(L, r, up, names.data, &beneath);
    else beneath = xstrdup(names.data);
    /* The name diagnostics use: the importer's as written, then the path. */
    Buf shown;
    buf_init(&shown);
    const char *importer = src_get(p->sources, from->file)->path;
    const char *islash = strrchr(importer, '/');
    if (islash) buf_put(&shown, importer, (size_t)(islash - importer) + 1);
    buf_puts(&shown, path);
    if (r < 0 || !beneath || !beneath[0])
      refuse(L, imp, HELP_ROOTS(L), what.data, "%s lies outside the import roots", shown.data);
    else
      e = load_disk(L, r, beneath, shown.data, from_std, imp, depth, what.data);
    free(beneath);
    buf_free(&shown);
  }
  if (e >= 0 && L->entries[e].state == ENTRY_DONE) {
    ImportTarget *t = arena_alloc(&p->arena, sizeof *t);
    t->file = L->entries[e].file;
    imp->extra = t;
  }
  buf_free(&what);
  buf_free(&names);
}

/* ---- the roots and the main file ------------------------------------------ */

static void add_root(Loader *L, const char *dir, bool std) {
  L->roots = xrealloc(L->roots, (L->nroots + 1) * sizeof *L->roots);
  Root *R = &L->roots[L->nroots++];
  R->fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  R->err = R->fd < 0 ? errno : 0;
  R->real = R->fd >= 0 ? realpath(dir, NULL) : NULL;
  R->shown = dir;
  R->std = std;
  R->anchor = false;
}

/* Reads the main file under a cap on the program's source: a regular file
 * of at most `max` bytes, opened without blocking and read from the fd that
 * was checked, so a model-written 100 MB file is refused before a byte of
 * it is parsed (E0104). Returns its SourceSet id, or -1 after a diagnostic. */
static int32_t load_main_capped(Program *p, const char *path, size_t max, bool untrusted) {
  int fd = open(path, IMPORT_OPEN_FLAGS);
  struct stat st;
  int err = fd < 0 ? errno : fstat(fd, &st) != 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
  bool big = !err && (uintmax_t)st.st_size > max;
  int32_t id = -1;
  if (!err && !big) {
    id = src_read_fd(p->sources, path, fd, max);
    if (id < 0) {
      err = errno;
      big = err == EFBIG;
    }
  }
  if (fd >= 0) close(fd);
  if (id >= 0) return id;
  /* An empty stand-in source gives the diagnostic a file to name. */
  uint32_t sid = src_add(p->sources, path, "", 0);
  p->main_file = sid;
  if (big)
    diag_add(p->diags, D_E0104, (Span){sid, 0, 0}, "the cap covers the main file and its imports together",
             "source file too large (more than %zu KiB, the most %s program may hold)", max >> 10,
             untrusted ? "an untrusted" : "this");
  else if (err == EINVAL)
    diag_add(p->diags, D_E0204, (Span){sid, 0, 0}, NULL, "cannot read %s: not a regular file", path);
  else
    diag_add(p->diags, D_E0204, (Span){sid, 0, 0}, NULL, "cannot read %s: %s", path, strerror(err));
  return -1;
}

/* The main file's key: its device and inode, like every file read from disk. */
static char *main_key(const char *path) {
  Buf b;
  buf_init(&b);
  struct stat st;
  if (stat(path, &st) == 0) buf_printf(&b, "file:%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
  else buf_printf(&b, "main:%s", path);
  return b.data;
}

bool load_program(Program *p, const char *path, const CompileOptions *opt) {
  uint32_t errors_before = p->diags->errors, mark = p->diags->n, omitted_before = p->diags->omitted;
  p->syntax_errors_only = false;
  Loader L;
  memset(&L, 0, sizeof L);
  L.p = p;
  L.opt = opt;
  L.std_root = -1;
  L.max_bytes = opt && opt->max_source_bytes ? opt->max_source_bytes : LOAD_MAX_TOTAL_BYTES;
  p->natives = opt ? opt->natives : NULL;
  p->opt = opt;
  if (!p->natives) { /* the host forgot its table: say so, not "unknown name" in the prelude */
    uint32_t id = src_add(p->sources, path, "", 0);
    p->main_file = id;
    diag_add(p->diags, D_E0505, (Span){id, 0, 0}, "pass the host's table in CompileOptions.natives",
             "internal compiler error: no native functions were given");
    return false;
  }

  /* The main file is read first so that a missing prelude has a file to be
   * reported against; the prelude is still loaded (and stored) first. Under
   * a cap on the program's source, the main file counts towards it. */
  int32_t main_id;
  if (opt && opt->main_text) {
    size_t max = opt->max_source_bytes ? opt->max_source_bytes : LOAD_MAX_TOTAL_BYTES;
    if (opt->main_len > max) {
      uint32_t sid = src_add(p->sources, path, "", 0);
      p->main_file = sid;
      diag_add(p->diags, D_E0104, (Span){sid, 0, 0}, "the cap covers the main file and its imports together",
               "source too large (more than %zu KiB, the most this program may hold)", max >> 10);
      return false;
    }
    main_id = (int32_t)src_add(p->sources, path, opt->main_text, opt->main_len);
    L.bytes = opt->main_len;
  } else if (opt && opt->max_source_bytes) {
    main_id = load_main_capped(p, path, opt->max_source_bytes, opt->untrusted);
    if (main_id < 0) return false;
    L.bytes = src_get(p->sources, (uint32_t)main_id)->len;
  } else if ((main_id = src_load(p->sources, path)) < 0) {
    int err = errno;
    /* An empty stand-in source gives the diagnostic a file to name. */
    uint32_t id = src_add(p->sources, path, "", 0);
    p->main_file = id;
    diag_add(p->diags, D_E0204, (Span){id, 0, 0}, NULL, "cannot read %s: %s", path,
             strerror(err));
    return false;
  }
  p->main_file = (uint32_t)main_id;

  /* The roots: the main file's directory as named (not where a link to it
   * points; for an untrusted program only an anchor), then each
   * --allow-import, then the stdlib directory. */
  const char *slash = strrchr(path, '/');
  char *main_dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
  add_root(&L, main_dir, false);
  L.roots[0].anchor = opt && opt->untrusted;
  for (uint32_t i = 0; opt && i < opt->nimport_paths; i++) {
    add_root(&L, opt->import_paths[i], false);
    Root *R = &L.roots[L.nroots - 1];
    if (R->fd < 0)
      diag_add(p->diags, D_E0204, (Span){p->main_file, 0, 0}, NULL,
               "cannot open the import directory %s: %s", R->shown, strerror(R->err));
  }
  if (opt && opt->stdlib_dir) {
    L.std_root = (int32_t)L.nroots;
    add_root(&L, opt->stdlib_dir, true);
  }

  load_std(&L, "prelude", NULL, 0);

  /* The main file's text is already in the SourceSet: register it under its
   * key and parse it exactly like an import. */
  char *key = opt && opt->main_text ? xasprintf("main:%s", path) : main_key(path);
  parse_loaded(&L, key, (uint32_t)main_id, 0, base_name(path), false, NULL, 0);
  free(key);

  for (uint32_t i = 0; i < L.n; i++) {
    free(L.entries[i].key);
    free(L.entries[i].rel);
  }
  for (uint32_t i = 0; i < L.nroots; i++) {
    if (L.roots[i].fd >= 0) close(L.roots[i].fd);
    free(L.roots[i].real);
  }
  free(L.roots);
  free(main_dir);
  free(L.entries);
  free(L.stack);
  free(L.via);
  bool ok = p->diags->errors == errors_before;
  p->syntax_errors_only = !ok && p->diags->omitted == omitted_before;
  for (uint32_t i = mark; !ok && i < p->diags->n; i++)
    if (p->diags->items[i].severity == SEV_ERROR && p->diags->items[i].code > D_E0104)
      p->syntax_errors_only = false;
  return ok;
}
