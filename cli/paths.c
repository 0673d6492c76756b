/* paths.c — the files a command's FILE|DIR arguments stand for. */
#include "../include/weft_tools.h"
#include "commands.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void files_add(WeftFiles *f, char *path) {
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 16;
    char **nv = realloc(f->v, f->cap * sizeof *nv);
    if (!nv) {
      weft_tool_error("out of memory");
      exit(WEFT_EXIT_FAIL);
    }
    f->v = nv;
  }
  f->v[f->n++] = path;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *name, const char *suffix) {
  size_t n = strlen(name), k = strlen(suffix);
  return n > k && strcmp(name + n - k, suffix) == 0;
}

/* Every file named *suffix beneath dir, depth first, names sorted at each level.
 * lstat: a symbolic link to a directory is not followed (no cycles); one
 * to a file is checked like the file. Depth is capped, as paths are. */
static bool walk(const char *dir, const char *suffix, WeftFiles *out, int depth) {
  if (depth > 64) {
    weft_tool_error("'%s': directories nested too deep", dir);
    return false;
  }
  DIR *d = opendir(dir);
  if (!d) {
    weft_tool_error("cannot read directory '%s'", dir);
    return false;
  }
  WeftFiles here = {0};
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
      ok = walk(here.v[i], suffix, out, depth + 1);
      free(here.v[i]);
    } else if (ok && has_suffix(here.v[i], suffix)) {
      files_add(out, here.v[i]);
    } else {
      free(here.v[i]);
    }
  }
  free(here.v);
  return ok;
}


int expand_paths(const char *const *pos, int npos, const char *cmd, WeftFiles *out) {
  return expand_paths_suffix(pos, npos, cmd, ".weft", out);
}

int expand_paths_suffix(const char *const *pos, int npos, const char *cmd, const char *suffix, WeftFiles *out) {
  for (int i = 0; i < npos; i++) {
    struct stat st;
    if (strcmp(pos[i], "-") != 0 && stat(pos[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      if (!walk(pos[i], suffix, out, 0)) return WEFT_EXIT_USAGE;
    } else {
      char *p = strdup(pos[i]);
      if (!p) {
        weft_tool_error("%s: out of memory", cmd);
        exit(WEFT_EXIT_FAIL);
      }
      files_add(out, p);
    }
  }
  return WEFT_EXIT_OK;
}

void files_free(WeftFiles *f) {
  for (size_t i = 0; i < f->n; i++) free(f->v[i]);
  free(f->v);
  f->v = NULL;
  f->n = f->cap = 0;
}
