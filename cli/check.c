/* check.c — weft check FILE|DIR...: diagnostics without running anything. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void help_check(FILE *out) {
  fputs("usage: weft check [--format=FORMAT] [--json] [--deny-warnings] [--cost]\n"
        "                  [--color=auto|always|never] [--untrusted]\n"
        "                  [--models P/M,...] [--allow-import DIR]... FILE|DIR...\n"
        "\n"
        "Checks each program (parse, names, types, static rules) without running\n"
        "it. A directory stands for every .weft file beneath it (sorted; hidden\n"
        "entries and symbolic links to directories are skipped). Diagnostics go\n"
        "to stderr; with --json one JSON document goes to stdout instead:\n"
        "{\"diagnostics\":[...],\"errors\":N,\"warnings\":M,\"omitted\":K}.\n"
        "At most 100 errors and 100 warnings are listed per file; K counts the\n"
        "rest. Messages are cut at 4 KiB.\n"
        "\n",
        out);
  flags_help(out, CMD_CHECK, SEC_MAIN);
  fputs("\n"
        "exit: 0 no errors (warnings allowed unless --deny-warnings), 1 errors,\n"
        "2 usage error or a file that cannot be read\n",
        out);
}

typedef struct Files { char **v; size_t n, cap; } Files;

static void files_add(Files *f, char *path) {
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 16;
    char **nv = realloc(f->v, f->cap * sizeof *nv);
    if (!nv) {
      weft_tool_error("check: out of memory");
      exit(WEFT_EXIT_FAIL);
    }
    f->v = nv;
  }
  f->v[f->n++] = path;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_weft(const char *name) {
  size_t n = strlen(name);
  return n > 5 && strcmp(name + n - 5, ".weft") == 0;
}

/* Every .weft file beneath dir, depth first, names sorted at each level.
 * lstat: a symbolic link to a directory is not followed (no cycles); one
 * to a file is checked like the file. Depth is capped, as paths are. */
static bool walk(const char *dir, Files *out, int depth) {
  if (depth > 64) {
    weft_tool_error("check: '%s': directories nested too deep", dir);
    return false;
  }
  DIR *d = opendir(dir);
  if (!d) {
    weft_tool_error("check: cannot read directory '%s'", dir);
    return false;
  }
  Files here = {0};
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    size_t n = strlen(dir) + strlen(e->d_name) + 2;
    char *p = malloc(n);
    if (!p) exit(WEFT_EXIT_FAIL);
    snprintf(p, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
    files_add(&here, p);
  }
  closedir(d);
  if (here.n) qsort(here.v, here.n, sizeof *here.v, by_name);
  bool ok = true;
  for (size_t i = 0; i < here.n; i++) {
    struct stat st;
    if (ok && lstat(here.v[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      ok = walk(here.v[i], out, depth + 1);
      free(here.v[i]);
    } else if (ok && is_weft(here.v[i])) {
      files_add(out, here.v[i]);
    } else {
      free(here.v[i]);
    }
  }
  free(here.v);
  return ok;
}

int cmd_check(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_CHECK, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  Files files = {0};
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_check(stdout);
    goto done;
  }
  if (o.npos == 0) {
    weft_tool_error("check: no file given (usage: weft check [--json] FILE|DIR...)");
    rc = WEFT_EXIT_USAGE;
    goto done;
  }
  for (int i = 0; i < o.npos; i++) {
    struct stat st;
    if (stat(o.pos[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      if (!walk(o.pos[i], &files, 0)) {
        rc = WEFT_EXIT_USAGE;
        goto done;
      }
    } else {
      char *p = strdup(o.pos[i]);
      if (!p) exit(WEFT_EXIT_FAIL);
      files_add(&files, p);
    }
  }
  if (o.cost && files.n != 1) {
    weft_tool_error("check: --cost takes exactly one FILE");
    rc = WEFT_EXIT_USAGE;
    goto done;
  }
  if (files.n == 0) { /* only empty directories: nothing is wrong */
    rc = weft_tool_check(NULL, 0,
                         &(weft_check_opts){.format = o.format, .deny_warnings = o.deny_warnings},
                         &(weft_compile_opts){0});
    goto done;
  }
  weft_compile_opts co = {.color = o.run.color, .import_paths = o.run.import_paths,
                          .nimport_paths = o.run.nimport_paths, .untrusted = o.run.untrusted,
                          .limit_models = o.run.limit_models || o.run.untrusted,
                          .models = o.run.allow_models, .nmodels = o.run.nallow_models};
  weft_check_opts ck = {.format = o.format, .cost = o.cost, .deny_warnings = o.deny_warnings};
  rc = weft_tool_check((const char *const *)files.v, (int)files.n, &ck, &co);
done:
  for (size_t i = 0; i < files.n; i++) free(files.v[i]);
  free(files.v);
  opts_free(&o);
  return rc;
}
