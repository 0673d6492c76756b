/* source.c — the set of source files of one compilation, and the mapping
 * from byte offsets to lines and columns (built only when printing). */
#include "source.h"
#include "../base/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void src_init(SourceSet *ss) { memset(ss, 0, sizeof *ss); }

void src_free(SourceSet *ss) {
  for (uint32_t i = 0; i < ss->n; i++) {
    Source *s = ss->files[i];
    free(s->path);
    free(s->text);
    free(s->line_starts);
    free(s);
  }
  free(ss->files);
  memset(ss, 0, sizeof *ss);
}

/* Takes ownership of text (which must hold len bytes plus a NUL). */
static uint32_t add_owned(SourceSet *ss, const char *path, char *text, size_t len) {
  if (ss->n == ss->cap) {
    ss->cap = ss->cap ? ss->cap * 2 : 4;
    ss->files = xrealloc(ss->files, ss->cap * sizeof *ss->files);
  }
  Source *s = xrealloc(NULL, sizeof *s);
  memset(s, 0, sizeof *s);
  size_t plen = strlen(path);
  s->path = xrealloc(NULL, plen + 1);
  memcpy(s->path, path, plen + 1);
  s->text = text;
  s->len = len;
  ss->files[ss->n] = s;
  return ss->n++;
}

uint32_t src_add(SourceSet *ss, const char *path, const char *text, size_t len) {
  char *copy = xrealloc(NULL, len + 1);
  if (len) memcpy(copy, text, len);
  copy[len] = '\0';
  return add_owned(ss, path, copy, len);
}

int32_t src_load(SourceSet *ss, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t cap = 4096, len = 0;
  char *buf = xrealloc(NULL, cap);
  for (;;) {
    if (len + 1 >= cap) {
      if (len > SRC_MAX_BYTES) break; /* enough to know it is too large */
      cap *= 2;
      buf = xrealloc(buf, cap);
    }
    size_t got = fread(buf + len, 1, cap - len - 1, f);
    len += got;
    if (got == 0) break;
  }
  if (ferror(f)) {
    int e = errno ? errno : EIO;
    fclose(f);
    free(buf);
    errno = e;
    return -1;
  }
  fclose(f);
  buf[len] = '\0';
  return (int32_t)add_owned(ss, path, buf, len);
}

int32_t src_read_fd(SourceSet *ss, const char *path, int fd, size_t max) {
  size_t cap = 4096, len = 0;
  char *buf = xrealloc(NULL, cap);
  for (;;) {
    if (len + 1 >= cap) {
      cap = cap > max / 2 ? max + 2 : cap * 2;
      buf = xrealloc(buf, cap);
    }
    ssize_t got = read(fd, buf + len, cap - len - 1);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int e = errno;
      free(buf);
      errno = e;
      return -1;
    }
    if (got == 0) break;
    len += (size_t)got;
    if (len > max) {
      free(buf);
      errno = EFBIG;
      return -1;
    }
  }
  buf[len] = '\0';
  return (int32_t)add_owned(ss, path, buf, len);
}

Source *src_get(const SourceSet *ss, uint32_t file) {
  return file < ss->n ? ss->files[file] : NULL;
}

static void build_lines(Source *s) {
  /* memchr, not a loop over bytes: this runs on every program checked */
  const char *t = s->text, *end = s->text + s->len, *p;
  uint32_t n = 1;
  for (p = t; p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) n++;
  s->line_starts = xrealloc(NULL, n * sizeof *s->line_starts);
  s->line_starts[0] = 0;
  uint32_t k = 1;
  for (p = t; p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) s->line_starts[k++] = (uint32_t)(p + 1 - t);
  s->nlines = n;
}

/* Index of the line holding offset: the last lookup's line or the next
 * (the emitter and the checker ask in source order), else a binary search
 * over line starts. */
static uint32_t line_index(Source *s, uint32_t offset) {
  if (!s->line_starts) build_lines(s);
  if (offset > s->len) offset = (uint32_t)s->len;
  uint32_t k = s->last_line < s->nlines ? s->last_line : 0;
  for (uint32_t i = k; i < k + 2 && i < s->nlines; i++)
    if (s->line_starts[i] <= offset && (i + 1 == s->nlines || offset < s->line_starts[i + 1])) return s->last_line = i;
  uint32_t lo = 0, hi = s->nlines;
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (s->line_starts[mid] <= offset) lo = mid;
    else hi = mid;
  }
  return s->last_line = lo;
}

void src_line_col(Source *s, uint32_t offset, uint32_t *line, uint32_t *col) {
  if (offset > s->len) offset = (uint32_t)s->len;
  uint32_t i = line_index(s, offset);
  *line = i + 1;
  *col = offset - s->line_starts[i] + 1;
}

const char *src_line_text(Source *s, uint32_t offset, size_t *len) {
  uint32_t i = line_index(s, offset);
  /* The next line's start bounds this one: no scan, so rendering many
   * diagnostics on one very long line stays linear. */
  size_t start = s->line_starts[i];
  size_t end = i + 1 < s->nlines ? s->line_starts[i + 1] - 1 : s->len;
  if (end > start && s->text[end - 1] == '\r') end--;
  *len = end - start;
  return s->text + start;
}

size_t src_utf8_len(const char *p, size_t avail) { return utf8_seq_len(p, avail); }
