/* load.c — finds, reads and parses the files of one program.
 *
 * The main file's imports are followed depth-first; each file is loaded
 * once (keyed by its canonical path, or "std:NAME" for the embedded
 * standard library) and appended after its dependencies, so
 * Program.files is in dependency order with the main file last. The
 * standard prelude is loaded first of all, because every other file
 * imports it implicitly. Each N_IMPORT node gets an ImportTarget (front.h)
 * naming the file it resolved to; the checker builds scopes from those. */
/* realpath() is an X/Open interface; glibc hides it under plain POSIX. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include <errno.h>
#include "../base/util.h"
#include <stdlib.h>
#include <string.h>
#include "front.h"

typedef enum { ENTRY_LOADING, ENTRY_DONE } EntryState;

typedef struct LoadEntry {
  char *key;        /* canonical identity (malloc'd) */
  uint32_t file;    /* SourceSet id */
  EntryState state;
} LoadEntry;

typedef struct Loader {
  Program *p;
  const CompileOptions *opt;
  LoadEntry *entries; uint32_t n, cap;
  uint32_t *stack; uint32_t nstack, stack_cap; /* entries being loaded */
  const Node **via;  /* per stack level: the import being followed from it */
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

static uint32_t add_entry(Loader *L, const char *key, uint32_t file) {
  if (L->n == L->cap) {
    L->cap = L->cap ? L->cap * 2 : 8;
    L->entries = xrealloc(L->entries, L->cap * sizeof *L->entries);
  }
  L->entries[L->n] = (LoadEntry){xstrdup(key), file, ENTRY_LOADING};
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

static int32_t load_file(Loader *L, const char *key, const char *path, bool is_std,
                         const Node *import, uint32_t depth);

static void load_import(Loader *L, Node *imp, uint32_t from, bool from_std, uint32_t depth);

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
static void load_imports(Loader *L, Ast *ast, uint32_t file, bool is_std, uint32_t depth) {
  for (uint32_t i = 0; i < ast->items.n; i++) {
    Node *it = ast->items.items[i];
    if (!it || it->kind != N_IMPORT) continue;
    L->via[L->nstack - 1] = it;
    load_import(L, it, file, is_std, depth);
  }
}

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

/* Loads std/NAME: from opt->stdlib_dir when set, else from the embedded
 * copy. Returns the entry index or -1. */
static int32_t load_std(Loader *L, const char *name, const Node *import, uint32_t depth,
                        uint32_t fallback) {
  Program *p = L->p;
  if (!valid_std_name(name)) {
    diag_add(p->diags, D_E0204, where(import, fallback), NULL,
             "no standard module named \"std/%s\"", name);
    return -1;
  }
  if (L->opt && L->opt->stdlib_dir) {
    Buf path;
    buf_init(&path);
    buf_printf(&path, "%s/%s.weft", L->opt->stdlib_dir, name);
    char *real = realpath(path.data, NULL);
    int32_t r;
    if (!real) {
      diag_add(p->diags, D_E0204, where(import, fallback), NULL,
               "cannot import \"std/%s\": cannot read %s: %s", name, path.data, strerror(errno));
      r = -1;
    } else {
      r = load_file(L, real, path.data, true, import, depth);
      free(real);
    }
    buf_free(&path);
    return r;
  }
  Buf key;
  buf_init(&key);
  buf_printf(&key, "std:%s", name);
  int32_t r = load_file(L, key.data, NULL, true, import, depth);
  buf_free(&key);
  return r;
}

/* Resolves one `import` item of file `from` and loads its target. */
static void load_import(Loader *L, Node *imp, uint32_t from, bool from_std, uint32_t depth) {
  Program *p = L->p;
  const char *path = imp->u.import.path ? imp->u.import.path : "";
  int32_t e = -1;
  if (strncmp(path, "std/", 4) == 0) {
    char *name = xstrdup(path + 4);
    size_t n = strlen(name);
    if (n > 5 && strcmp(name + n - 5, ".weft") == 0) name[n - 5] = '\0';
    e = load_std(L, name, imp, depth, from);
    free(name);
  } else if (strncmp(path, "./", 2) == 0 || strncmp(path, "../", 3) == 0 || path[0] == '/') {
    if (from_std && !(L->opt && L->opt->stdlib_dir)) {
      diag_add(p->diags, D_E0204, imp->span, "standard modules import only \"std/...\" paths",
               "cannot import \"%s\" from an embedded standard module", path);
      return;
    }
    Buf full;
    buf_init(&full);
    if (path[0] == '/') {
      buf_puts(&full, path);
    } else {
      const char *importer = src_get(p->sources, from)->path;
      const char *slash = strrchr(importer, '/');
      if (slash) buf_put(&full, importer, (size_t)(slash - importer) + 1);
      buf_puts(&full, path);
    }
    char *real = realpath(full.data, NULL);
    if (!real) {
      diag_add(p->diags, D_E0204, imp->span, NULL, "cannot import \"%s\": cannot read %s: %s",
               path, full.data, strerror(errno));
    } else {
      e = load_file(L, real, full.data, from_std, imp, depth);
      free(real);
    }
    buf_free(&full);
  } else {
    diag_add(p->diags, D_E0204, imp->span,
             "write \"./file.weft\" or \"../dir/file.weft\" for a file next to this one, or "
             "\"std/name\" for a standard module",
             "cannot import \"%s\": a path must start with ./, ../ or std/", path);
    return;
  }
  if (e >= 0 && L->entries[e].state == ENTRY_DONE) {
    ImportTarget *t = arena_alloc(&p->arena, sizeof *t);
    t->file = L->entries[e].file;
    imp->extra = t;
  }
}

/* Loads one file (unless already loaded): reads it (from disk when `path`
 * is set, else the embedded std module named by key "std:NAME"), parses
 * it, loads its imports, then appends it to Program.files. */
static int32_t load_file(Loader *L, const char *key, const char *path, bool is_std,
                         const Node *import, uint32_t depth) {
  Program *p = L->p;
  int32_t found = find_entry(L, key);
  if (found >= 0) {
    if (L->entries[found].state == ENTRY_LOADING) {
      if (import) report_cycle(L, import, (uint32_t)found);
      return -1;
    }
    return found;
  }
  uint32_t fallback = p->main_file;
  if (depth > LOAD_MAX_DEPTH) {
    diag_add(p->diags, D_E0204, where(import, fallback), NULL,
             "imports are nested more than %d levels deep", LOAD_MAX_DEPTH);
    return -1;
  }
  int32_t id;
  if (path) {
    id = src_load(p->sources, path);
    if (id < 0) {
      diag_add(p->diags, D_E0204, where(import, fallback), NULL, "cannot read %s: %s", path,
               strerror(errno));
      return -1;
    }
  } else {
    const char *name = key + 4; /* after "std:" */
    size_t len = 0;
    const char *text = stdlib_source(name, &len);
    if (!text) {
      diag_add(p->diags, D_E0204, where(import, fallback), NULL,
               "no standard module named \"std/%s\"", name);
      return -1;
    }
    Buf sp;
    buf_init(&sp);
    buf_printf(&sp, "std/%s.weft", name);
    id = (int32_t)src_add(p->sources, sp.data, text, len);
    buf_free(&sp);
  }
  uint32_t e = add_entry(L, key, (uint32_t)id);
  push_stack(L, e);

  Ast ast;
  memset(&ast, 0, sizeof ast);
  parse_source(&p->arena, p->sources, (uint32_t)id, p->diags, &ast);
  ast.file = (uint32_t)id;
  load_imports(L, &ast, (uint32_t)id, is_std, depth + 1);

  L->nstack--;
  L->entries[e].state = ENTRY_DONE;
  push_file(p, (uint32_t)id, ast, is_std);
  return (int32_t)e;
}

bool load_program(Program *p, const char *path, const CompileOptions *opt) {
  uint32_t errors_before = p->diags->errors;
  Loader L;
  memset(&L, 0, sizeof L);
  L.p = p;
  L.opt = opt;
  p->natives = opt ? opt->natives : NULL;
  if (!p->natives) { /* the host forgot its table: say so, not "unknown name" in the prelude */
    uint32_t id = src_add(p->sources, path, "", 0);
    p->main_file = id;
    diag_add(p->diags, D_E0505, (Span){id, 0, 0}, "pass the host's table in CompileOptions.natives",
             "internal compiler error: no native functions were given");
    return false;
  }

  char *real = realpath(path, NULL);
  if (!real) {
    int err = errno;
    /* An empty stand-in source gives the diagnostic a file to name. */
    uint32_t id = src_add(p->sources, path, "", 0);
    p->main_file = id;
    diag_add(p->diags, D_E0204, (Span){id, 0, 0}, NULL, "cannot read %s: %s", path,
             strerror(err));
    return false;
  }
  /* The main file is read first so that a missing prelude has a file to be
   * reported against; the prelude is still loaded (and stored) first. */
  int32_t main_id = src_load(p->sources, path);
  if (main_id < 0) {
    int err = errno;
    uint32_t id = src_add(p->sources, path, "", 0);
    p->main_file = id;
    diag_add(p->diags, D_E0204, (Span){id, 0, 0}, NULL, "cannot read %s: %s", path,
             strerror(err));
    free(real);
    return false;
  }
  p->main_file = (uint32_t)main_id;
  load_std(&L, "prelude", NULL, 0, p->main_file);

  /* The main file's text is already in the SourceSet: register it under its
   * key and parse it exactly like load_file does for imports. */
  uint32_t e = add_entry(&L, real, (uint32_t)main_id);
  free(real);
  push_stack(&L, e);
  Ast ast;
  memset(&ast, 0, sizeof ast);
  parse_source(&p->arena, p->sources, (uint32_t)main_id, p->diags, &ast);
  ast.file = (uint32_t)main_id;
  load_imports(&L, &ast, (uint32_t)main_id, false, 1);
  L.nstack--;
  L.entries[e].state = ENTRY_DONE;
  push_file(p, (uint32_t)main_id, ast, false);

  for (uint32_t i = 0; i < L.n; i++) free(L.entries[i].key);
  free(L.entries);
  free(L.stack);
  free(L.via);
  return p->diags->errors == errors_before;
}
