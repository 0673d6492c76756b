/* source.h — source files and byte spans.
 *
 * Every token, AST node, diagnostic and bytecode line-table entry refers to
 * source text by a Span: a file id and a half-open byte range [start, end).
 * Line and column are computed only when something is printed
 * (src_line_col), so spans stay cheap and exact. */
#ifndef WEFT_SOURCE_H
#define WEFT_SOURCE_H

#include <stddef.h>
#include <stdint.h>

typedef struct Span {
  uint32_t file;  /* index into the SourceSet */
  uint32_t start; /* byte offset of the first byte */
  uint32_t end;   /* byte offset one past the last byte */
} Span;

typedef struct Source {
  char *path;     /* as given or resolved; owned */
  char *text;     /* NUL-terminated copy of the file; owned */
  size_t len;     /* bytes, without the NUL */
  uint32_t *line_starts; /* lazily built by src_line_col */
  uint32_t nlines;
  uint32_t last_line;    /* the line the last lookup found: lookups mostly walk forward */
} Source;

/* All files of one compilation; ids are stable indices. */
typedef struct SourceSet {
  Source **files;
  uint32_t n, cap;
} SourceSet;

void src_init(SourceSet *ss);
void src_free(SourceSet *ss);
/* Adds a copy of text; returns the new file id. */
uint32_t src_add(SourceSet *ss, const char *path, const char *text, size_t len);
/* Source files larger than this are refused by the parser (E0104). */
#define SRC_MAX_BYTES ((size_t)16 << 20)

/* Reads a file from disk; returns -1 (errno set) when it cannot be read.
 * At most SRC_MAX_BYTES + 1 bytes are read: a longer file is kept
 * truncated, which is enough for parse_source to report E0104. */
int32_t src_load(SourceSet *ss, const char *path);
/* Reads the open file fd (to its end; the caller closes it) as file `path`.
 * More than max bytes is refused with errno EFBIG before anything is kept,
 * so a file that grows after it was measured is still bounded. Returns the
 * new id, or -1 with errno set. */
int32_t src_read_fd(SourceSet *ss, const char *path, int fd, size_t max);
Source *src_get(const SourceSet *ss, uint32_t file);

/* 1-based line and column (column counts bytes + 1) of a byte offset. */
void src_line_col(Source *s, uint32_t offset, uint32_t *line, uint32_t *col);
/* Start and length of the line holding offset, without its newline. */
const char *src_line_text(Source *s, uint32_t offset, size_t *len);

/* Length of the well-formed UTF-8 sequence at p (1-4), or 0 when the bytes
 * at p are not valid UTF-8 (overlong, surrogate, truncated, > U+10FFFF).
 * avail is the number of readable bytes at p (at least 1). */
size_t src_utf8_len(const char *p, size_t avail);

static inline Span span_join(Span a, Span b) {
  Span s = a;
  if (b.end > s.end) s.end = b.end;
  if (b.start < s.start) s.start = b.start;
  return s;
}

#endif
