/* capscan.c — what a checked program says it will touch (`weft check
 * --caps`, and the static refusal of `weft run`): the standard modules of
 * host capabilities it imports, and every call of their functions from the
 * program's own files, with the argument that names a path, a program or
 * a URL when that argument is a constant string, grouped by the top-level
 * function the call is written in. A computed argument is listed as such:
 * the run checks it when the call happens. */
#include "compiler.h"
#include "../base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The functions of std/fs, std/proc and std/http whose argument names
 * what a grant covers: module, function, the argument's index, the
 * grant ('r' read, 'w' write, 'x' run, 'n' net: a URL). */
static const struct {
  const char *module, *fn;
  uint32_t arg;
  char grant;
} cap_fns[] = {
  {"fs", "read", 0, 'r'},
  {"fs", "list", 0, 'r'},
  {"fs", "glob", 0, 'r'},
  {"fs", "exists", 0, 'r'},
  {"fs", "write", 0, 'w'},
  {"proc", "run", 0, 'x'},
  {"http", "get", 0, 'n'},
  {"http", "post", 0, 'n'},
  {"http", "request", 0, 'n'},
};

/* The capability module a std file is ("fs" for std/fs.weft), or NULL. */
static const char *cap_module(const Program *p, const ProgramFile *f) {
  if (!f->is_std) return NULL;
  const Source *s = src_get(p->sources, f->file);
  if (!s || !s->path) return NULL;
  static const char *const mods[] = {"fs", "proc", "http"};
  for (int i = 0; i < 3; i++) {
    char want[32];
    snprintf(want, sizeof want, "std/%s.weft", mods[i]);
    size_t n = strlen(s->path), k = strlen(want);
    if (n >= k && strcmp(s->path + n - k, want) == 0) return mods[i];
  }
  return NULL;
}

typedef struct Scan {
  const Program *p;
  CapScan *out;
  const char *fn;           /* the enclosing top-level function */
  /* the declarations of the capability functions: N_FN -> table row */
  const Node **decls; int *rows; uint32_t ndecls;
} Scan;

static int row_of(const Scan *s, const Node *decl) {
  for (uint32_t i = 0; i < s->ndecls; i++)
    if (s->decls[i] == decl) return s->rows[i];
  return -1;
}

static void add_use(Scan *s, int row, const Node *call, const Node *arg) {
  CapScan *o = s->out;
  if (o->n == o->cap) {
    o->cap = o->cap ? o->cap * 2 : 8;
    o->uses = xrealloc(o->uses, o->cap * sizeof *o->uses);
  }
  CapUse *u = &o->uses[o->n++];
  memset(u, 0, sizeof *u);
  u->fn = xstrdup(s->fn);
  u->op = xasprintf("%s.%s", cap_fns[row].module, cap_fns[row].fn);
  u->grant = cap_fns[row].grant;
  if (arg && arg->kind == N_STRING && !memchr(arg->u.lit.str, '\0', arg->u.lit.len))
    u->value = xstrndup(arg->u.lit.str, arg->u.lit.len);
  Source *src = src_get(s->p->sources, call->span.file);
  if (src) {
    src_line_col(src, call->span.start, &u->line, &u->col);
    u->file = xstrdup(src->path);
  }
}

static void walk(Node *n, void *ud);

static void walk(Node *n, void *ud) {
  Scan *s = ud;
  if (!n) return;
  if (n->kind == N_CALL && n->extra) {
    const CallInfo *ci = n->extra;
    int row = ci->kind == CALL_FN && ci->fn_decl ? row_of(s, ci->fn_decl) : -1;
    if (row >= 0) {
      const Node *arg = cap_fns[row].arg < n->u.call.args.n ? n->u.call.args.items[cap_fns[row].arg] : NULL;
      add_use(s, row, n, arg);
    }
  }
  ast_each_child(n, walk, s);
}

void capscan_free(CapScan *cs) {
  for (uint32_t i = 0; i < cs->n; i++) {
    free(cs->uses[i].fn);
    free(cs->uses[i].op);
    free(cs->uses[i].value);
    free(cs->uses[i].file);
  }
  free(cs->uses);
  for (uint32_t i = 0; i < cs->nroles; i++) {
    for (uint32_t k = 0; k < cs->roles[i].ntools; k++) free(cs->roles[i].tools[k]);
    free(cs->roles[i].tools);
    free(cs->roles[i].name);
  }
  free(cs->roles);
  for (uint32_t i = 0; i < cs->nmodules; i++) free(cs->modules[i]);
  free(cs->modules);
  memset(cs, 0, sizeof *cs);
}

/* The roles of the program's own files that list tools, with their names
 * as written (the checker has refused anything but functions). */
static void scan_roles(const Program *p, CapScan *out) {
  for (uint32_t i = 0; i < p->nfiles; i++) {
    const ProgramFile *f = &p->files[i];
    if (f->is_std) continue;
    for (uint32_t k = 0; k < f->ast.items.n; k++) {
      const Node *it = f->ast.items.items[k];
      if (it->kind != N_ROLE) continue;
      for (uint32_t j = 0; j < it->u.role.settings.n; j++) {
        const Node *st = it->u.role.settings.items[j];
        if (!st || st->kind != N_FIELD_INIT || strcmp(st->u.init.name, "tools") != 0) continue;
        const Node *v = st->u.init.value;
        if (!v || v->kind != N_LIST) continue;
        out->roles = xrealloc(out->roles, (out->nroles + 1) * sizeof *out->roles);
        CapRole *r = &out->roles[out->nroles++];
        r->name = xstrdup(it->u.role.name);
        r->tools = xcalloc(v->u.list.items.n ? v->u.list.items.n : 1, sizeof *r->tools);
        r->ntools = 0;
        for (uint32_t t = 0; t < v->u.list.items.n; t++) {
          const Node *x = v->u.list.items.items[t];
          if (x && x->kind == N_NAME) r->tools[r->ntools++] = xstrdup(x->u.name.id);
        }
        break;
      }
    }
  }
}

void capscan_program(const Program *p, CapScan *out) {
  memset(out, 0, sizeof *out);
  Scan s = {.p = p, .out = out};
  uint32_t cap = 0;
  for (uint32_t i = 0; i < p->nfiles; i++) {
    const ProgramFile *f = &p->files[i];
    const char *mod = cap_module(p, f);
    if (!mod) continue;
    out->modules = xrealloc(out->modules, (out->nmodules + 1) * sizeof *out->modules);
    out->modules[out->nmodules++] = xasprintf("std/%s", mod);
    for (uint32_t k = 0; k < f->ast.items.n; k++) {
      const Node *it = f->ast.items.items[k];
      if (it->kind != N_FN) continue;
      for (int r = 0; r < (int)(sizeof cap_fns / sizeof cap_fns[0]); r++) {
        if (strcmp(cap_fns[r].module, mod) != 0 || strcmp(cap_fns[r].fn, it->u.fn.name) != 0) continue;
        if (s.ndecls == cap) {
          cap = cap ? cap * 2 : 16;
          s.decls = xrealloc(s.decls, cap * sizeof *s.decls);
          s.rows = xrealloc(s.rows, cap * sizeof *s.rows);
        }
        s.decls[s.ndecls] = it;
        s.rows[s.ndecls++] = r;
      }
    }
  }
  if (s.ndecls) {
    for (uint32_t i = 0; i < p->nfiles; i++) {
      const ProgramFile *f = &p->files[i];
      if (f->is_std) continue;
      for (uint32_t k = 0; k < f->ast.items.n; k++) {
        Node *it = f->ast.items.items[k];
        if (it->kind != N_FN) continue;
        s.fn = it->u.fn.name;
        walk(it->u.fn.body, &s);
      }
    }
  }
  free(s.decls);
  free(s.rows);
  scan_roles(p, out);
}
