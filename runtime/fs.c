/* fs.c — the file operations of std/fs (fs.h). Paths are opened only
 * through grants_open (openat2 beneath a granted root, no symbolic link);
 * a directory walked by fs.glob is opened the same way, one directory at a
 * time, so a directory swapped for a link while it is walked is refused. */
#define _GNU_SOURCE
#include "fs.h"
#include "../base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The argument `name` of args as a string, or NULL (the call failed). */
static const char *arg_str(CapCall *c, const cJSON *args, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
  if (!cJSON_IsString(v)) {
    char *m = xasprintf("%s: argument %s must be a string", caps_op(c)->name, name);
    caps_fail(c, "error", m);
    free(m);
    return NULL;
  }
  return v->valuestring;
}

static void fail_owned(CapCall *c, char *msg) {
  caps_fail(c, "error", msg);
  free(msg);
}

/* Whether s[0..n) is UTF-8 text without NUL bytes: what a Weft string
 * holds and a JSON string carries whole. */
static bool is_text(const char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    if (s[i] == '\0') return false;
    size_t k = utf8_seq_len(s + i, n - i);
    if (!k) return false;
    i += k;
  }
  return true;
}

void fs_read_start(CapCall *c, const cJSON *args) {
  const char *path = arg_str(c, args, "path");
  if (!path) return;
  char *err = NULL;
  int fd = grants_open(caps_grants(c), path, strlen(path), GRANT_READ, GRANT_OPEN_FILE, &err);
  if (fd < 0) {
    fail_owned(c, err);
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size > (off_t)FS_MAX_BYTES) {
    close(fd);
    fail_owned(c, xasprintf("reading %s: the file is larger than the %u MiB a read may return", path,
                            FS_MAX_BYTES >> 20));
    return;
  }
  /* read to the cap + 1, not to st_size: a file that grows while it is
   * read is caught too */
  Buf b;
  buf_init(&b);
  char chunk[65536];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      close(fd);
      buf_free(&b);
      fail_owned(c, xasprintf("reading %s: %s", path, strerror(e)));
      return;
    }
    if (r == 0) break;
    buf_put(&b, chunk, (size_t)r);
    if (b.len > FS_MAX_BYTES) {
      close(fd);
      buf_free(&b);
      fail_owned(c, xasprintf("reading %s: the file is larger than the %u MiB a read may return", path,
                              FS_MAX_BYTES >> 20));
      return;
    }
  }
  close(fd);
  if (!is_text(b.data, b.len)) {
    buf_free(&b);
    fail_owned(c, xasprintf("reading %s: the file is not UTF-8 text", path));
    return;
  }
  buf_putc(&b, '\0');
  caps_done(c, cJSON_CreateString(b.data));
  buf_free(&b);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory open at fd (which it takes), sorted, without
 * . and .. (and without symbolic links when no_links: glob gives only
 * what could be opened); false + *err past max names. */
static bool read_names(int fd, const char *path, char ***out, size_t *n, size_t max, bool no_links,
                       char **err) {
  DIR *d = fdopendir(fd);
  if (!d) {
    *err = xasprintf("listing %s: %s", path, strerror(errno));
    close(fd);
    return false;
  }
  char **names = NULL;
  size_t cnt = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (no_links) {
      struct stat st;
      if (de->d_type == DT_LNK) continue;
      if (de->d_type == DT_UNKNOWN &&
          (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISLNK(st.st_mode)))
        continue;
    }
    if (cnt == max) {
      *err = xasprintf("listing %s: more than %zu entries", path, max);
      for (size_t i = 0; i < cnt; i++) free(names[i]);
      free(names);
      closedir(d);
      return false;
    }
    if (cnt == cap) {
      cap = cap ? cap * 2 : 16;
      names = xrealloc(names, cap * sizeof *names);
    }
    names[cnt++] = xstrdup(de->d_name);
  }
  closedir(d);
  if (cnt) qsort(names, cnt, sizeof *names, cmp_str);
  *out = names;
  *n = cnt;
  return true;
}

static void free_names(char **names, size_t n) {
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

void fs_list_start(CapCall *c, const cJSON *args) {
  const char *path = arg_str(c, args, "path");
  if (!path) return;
  char *err = NULL;
  int fd = grants_open(caps_grants(c), path, strlen(path), GRANT_READ, GRANT_OPEN_DIR, &err);
  if (fd < 0) {
    fail_owned(c, err);
    return;
  }
  char **names;
  size_t n;
  if (!read_names(fd, path, &names, &n, FS_MAX_ENTRIES, false, &err)) {
    fail_owned(c, err);
    return;
  }
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++)
    if (is_text(names[i], strlen(names[i]))) cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
  free_names(names, n);
  caps_done(c, arr);
}

void fs_exists_start(CapCall *c, const cJSON *args) {
  const char *path = arg_str(c, args, "path");
  if (!path) return;
  char *err = NULL;
  int fd = grants_open(caps_grants(c), path, strlen(path), GRANT_READ, GRANT_OPEN_ANY, &err);
  if (fd >= 0) {
    close(fd);
    caps_done(c, cJSON_CreateTrue());
  } else if (errno == ENOENT || errno == ENOTDIR) {
    free(err);
    caps_done(c, cJSON_CreateFalse());
  } else {
    fail_owned(c, err); /* not granted, or not something exists() may look at */
  }
}

void fs_write_start(CapCall *c, const cJSON *args) {
  const char *path = arg_str(c, args, "path");
  const char *text = path ? arg_str(c, args, "text") : NULL;
  if (!text) return;
  size_t n = strlen(text);
  if (n > FS_MAX_BYTES) {
    fail_owned(c, xasprintf("writing %s: the text is larger than the %u MiB a write may write", path,
                            FS_MAX_BYTES >> 20));
    return;
  }
  char *err = NULL;
  int fd = grants_open(caps_grants(c), path, strlen(path), GRANT_WRITE, GRANT_OPEN_FILE, &err);
  if (fd < 0) {
    fail_owned(c, err);
    return;
  }
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, text + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = w < 0 ? errno : EIO;
      close(fd);
      fail_owned(c, xasprintf("writing %s: %s", path, strerror(e)));
      return;
    }
    done += (size_t)w;
  }
  /* on disk before the journal says it was written: a resume never finds
   * a record of a write the crash lost */
  if (fsync(fd) != 0 && errno != EINVAL) {
    int e = errno;
    close(fd);
    fail_owned(c, xasprintf("writing %s: %s", path, strerror(e)));
    return;
  }
  close(fd);
  caps_done(c, cJSON_CreateNull());
}

/* ---- glob ----------------------------------------------------------------------- */

typedef struct Glob {
  CapCall *c;
  const Grants *g;
  char **pats; size_t npats;    /* the pattern's components after the literal base */
  cJSON *out;
  size_t nout, ndirs;
  char *err;
} Glob;

static bool has_magic(const char *s) { return strpbrk(s, "*?[") != NULL; }

/* Matches the components pats[i..] below dir (the path so far, as the
 * result will show it). */
static void glob_walk(Glob *G, const char *dir, size_t i) {
  if (G->err) return;
  if (++G->ndirs > FS_GLOB_MAX_DIRS) {
    G->err = xasprintf("glob: more than %u directories to look through", FS_GLOB_MAX_DIRS);
    return;
  }
  char *err = NULL;
  int fd = grants_open(G->g, dir, strlen(dir), GRANT_READ, GRANT_OPEN_DIR, &err);
  if (fd < 0) {
    /* the base must open; below it, what is missing, a link or a name
     * the grants refuse is skipped, not fatal */
    if (G->ndirs > 1 || errno == ENOENT || errno == ENOTDIR) free(err);
    else G->err = err;
    return;
  }
  char **names;
  size_t n;
  if (!read_names(fd, dir, &names, &n, FS_MAX_ENTRIES, true, &err)) {
    G->err = err;
    return;
  }
  const char *pat = G->pats[i];
  bool last = i + 1 == G->npats;
  bool star2 = strcmp(pat, "**") == 0;
  if (star2 && !last) {
    /* ** matches no directory at all ... (a trailing ** matches every
     * name below, below) */
    glob_walk(G, dir, i + 1);
    G->ndirs--; /* the same directory again is not another one */
  }
  for (size_t k = 0; k < n && !G->err; k++) {
    const char *name = names[k];
    if (name[0] == '.') continue; /* hidden names match only a pattern that names them */
    /* a name that is not UTF-8 cannot be a string of the program's, nor
     * can any path through it: skipped, as fs.list skips it */
    if (!is_text(name, strlen(name))) continue;
    bool root = strcmp(dir, "/") == 0;
    char *p = xasprintf("%s%s%s", dir, root ? "" : "/", name);
    if (star2) {
      struct stat st;
      bool isdir = false;
      int dfd = grants_open(G->g, p, strlen(p), GRANT_READ, GRANT_OPEN_DIR, &err);
      if (dfd >= 0) {
        isdir = fstat(dfd, &st) == 0 && S_ISDIR(st.st_mode);
        close(dfd);
      } else {
        free(err);
        err = NULL;
      }
      if (last) {
        if (grants_covers(G->g, GRANT_READ, p)) {
          if (++G->nout > FS_MAX_ENTRIES) G->err = xasprintf("glob: more than %u matches", FS_MAX_ENTRIES);
          else cJSON_AddItemToArray(G->out, cJSON_CreateString(p));
        }
      }
      if (isdir) glob_walk(G, p, i); /* ... or one more, and so on */
    } else if (fnmatch(pat, name, FNM_PERIOD) == 0) {
      if (last) {
        if (grants_covers(G->g, GRANT_READ, p) && is_text(p, strlen(p))) {
          if (++G->nout > FS_MAX_ENTRIES) G->err = xasprintf("glob: more than %u matches", FS_MAX_ENTRIES);
          else cJSON_AddItemToArray(G->out, cJSON_CreateString(p));
        }
      } else {
        glob_walk(G, p, i + 1);
      }
    }
    free(p);
  }
  free_names(names, n);
}

static int cmp_json_str(const void *a, const void *b) {
  return strcmp((*(cJSON *const *)a)->valuestring, (*(cJSON *const *)b)->valuestring);
}

void fs_glob_start(CapCall *c, const cJSON *args) {
  const char *pattern = arg_str(c, args, "pattern");
  if (!pattern) return;
  if (!*pattern) {
    caps_fail(c, "error", "glob: an empty pattern matches nothing");
    return;
  }
  /* base: the leading components without wildcards, as typed (grants_open
   * makes it absolute); the rest are matched component by component */
  char *copy = xstrdup(pattern);
  char **comps = NULL;
  size_t ncomps = 0;
  for (char *s = copy, *save = NULL, *t; (t = strtok_r(s, "/", &save)); s = NULL) {
    comps = xrealloc(comps, (ncomps + 1) * sizeof *comps);
    comps[ncomps++] = t;
  }
  size_t first = 0;
  while (first < ncomps && !has_magic(comps[first])) first++;
  Buf base;
  buf_init(&base);
  if (pattern[0] == '/') buf_putc(&base, '/');
  for (size_t i = 0; i < first; i++) {
    if (i) buf_putc(&base, '/');
    buf_puts(&base, comps[i]);
  }
  if (!base.len) buf_putc(&base, '.');
  buf_putc(&base, '\0');
  Glob G = {.c = c, .g = caps_grants(c), .pats = comps + first, .npats = ncomps - first};
  for (size_t i = first; i < ncomps; i++)
    if (strcmp(comps[i], "..") == 0) {
      G.err = xasprintf("glob %s: `..` after a wildcard is not allowed", pattern);
      break;
    }
  G.out = cJSON_CreateArray();
  if (!G.err && G.npats == 0) {
    /* no wildcard: the one path, if it exists */
    char *err = NULL;
    int fd = grants_open(G.g, base.data, strlen(base.data), GRANT_READ, GRANT_OPEN_ANY, &err);
    if (fd >= 0) {
      close(fd);
      cJSON_AddItemToArray(G.out, cJSON_CreateString(pattern));
    } else if (errno == ENOENT || errno == ENOTDIR) {
      free(err);
    } else {
      G.err = err;
    }
  } else if (!G.err) {
    glob_walk(&G, base.data, 0);
  }
  free(comps);
  free(copy);
  buf_free(&base);
  if (G.err) {
    cJSON_Delete(G.out);
    fail_owned(c, G.err);
    return;
  }
  /* sorted, and "./x" shown as "x": glob("*.md") gives "README.md" */
  int n = cJSON_GetArraySize(G.out);
  cJSON **items = xcalloc(n ? (size_t)n : 1, sizeof *items);
  int k = 0;
  for (cJSON *it = G.out->child; it; it = it->next) items[k++] = it;
  qsort(items, (size_t)n, sizeof *items, cmp_json_str);
  cJSON *sorted = cJSON_CreateArray();
  for (int i = 0; i < n; i++) {
    const char *s = items[i]->valuestring;
    if (strncmp(s, "./", 2) == 0) s += 2;
    cJSON_AddItemToArray(sorted, cJSON_CreateString(s));
  }
  free(items);
  cJSON_Delete(G.out);
  caps_done(c, sorted);
}
