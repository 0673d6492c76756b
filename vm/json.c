/* json.c — JSON text -> values, type-directed conversion of values, and
 * type descriptors in Weft syntax (json.h). Values -> JSON text is
 * v_to_json (value.c).
 *
 * Parsing uses cJSON for the grammar, wrapped in two passes of our own:
 *
 *   1. a linear pre-scan over the text rejects what cJSON would accept or
 *      mishandle (invalid UTF-8, raw control characters, nesting deeper
 *      than JSON_MAX_DEPTH, number literals cJSON would truncate) with a
 *      line/column message, and counts nodes so the memory cJSON is about
 *      to use (it mallocs outside the VM's heap) is checked first;
 *   2. after cJSON builds its tree, the conversion walks it in document
 *      order with a cursor over the source text, and reads every string and
 *      number from the text itself. cJSON keeps numbers only as doubles and
 *      strings as C strings, so this is how an integer written without
 *      '.', 'e' or 'E' that fits in int64 stays an exact int (others become
 *      floats; integers beyond int64 become floats and lose precision), and
 *      how "\u0000" stays a NUL byte inside a string instead of cutting it.
 *
 * Objects become maps in key order (a repeated key keeps its first position
 * and its last value), arrays lists, null none.
 *
 * v_convert checks a value against a module type descriptor and builds
 * the typed value (records from maps), with errors that name the path in
 * the value ($.items[3].severity) so a model can repair its reply. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "json.h"
#include "../base/util.h"

/* Deepest container nesting json_parse accepts; below VALUE_MAX_DEPTH so
 * every parsed value can be rendered and compared again. */
#define JSON_MAX_DEPTH 500
/* cJSON copies a number into a 64-byte buffer and silently stops there. */
#define JSON_MAX_NUMBER 63
/* How much of an offending value an error message shows. */
#define PREVIEW_BYTES 60

/* Whether s[0..len) is valid UTF-8 (the offset of the first bad byte in
 * *bad), by base's one decoder. */
static bool utf8_valid(const char *s, size_t len, size_t *bad) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    if (p[i] < 0x80) { i++; continue; }
    size_t l = utf8_seq_len(p + i, len - i);
    if (!l) {
      if (bad) *bad = i;
      return false;
    }
    i += l;
  }
  return true;
}

/* ---- parsing ------------------------------------------------------------- */

/* 1-based line and column (in code points) of byte offset off. */
static void line_col(const char *text, size_t len, size_t off, size_t *line, size_t *col) {
  size_t l = 1, c = 1;
  if (off > len) off = len;
  for (size_t i = 0; i < off; i++) {
    unsigned char ch = (unsigned char)text[i];
    if (ch == '\n') { l++; c = 1; }
    else if ((ch & 0xC0) != 0x80) c++;
  }
  *line = l;
  *col = c;
}

static bool parse_error(const char *text, size_t len, size_t off, Buf *err, const char *what) {
  size_t line, col;
  line_col(text, len, off, &line, &col);
  buf_printf(err, "invalid JSON at line %zu, column %zu: %s", line, col, what);
  return false;
}

/* JSON's number grammar, which cJSON (via strtod) only approximates:
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number_ok(const char *s, size_t n) {
  size_t i = 0;
  if (i < n && s[i] == '-') i++;
  if (i >= n || s[i] < '0' || s[i] > '9') return false;
  if (s[i] == '0') i++;
  else while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  if (i < n && s[i] == '.') {
    size_t d = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t d = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return false;
  }
  return i == n;
}

static bool unexpected_char(const char *text, size_t len, size_t off, Buf *err) {
  unsigned char c = (unsigned char)text[off];
  Buf what;
  buf_init(&what);
  if (c > 0x20 && c < 0x7f) buf_printf(&what, "unexpected character '%c'", c);
  else buf_puts(&what, "unexpected character");
  parse_error(text, len, off, err, what.data);
  buf_free(&what);
  return false;
}

static bool is_num_char(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Pass 1 (see the file comment). *nodes gets an upper bound of the number
 * of values in the document; *open whether the text ends inside a string
 * or an unclosed container (so a cJSON failure means "unexpected end"). */
static bool prescan(const char *text, size_t len, Buf *err, uint64_t *nodes, bool *open) {
  size_t bad;
  if (!utf8_valid(text, len, &bad)) return parse_error(text, len, bad, err, "invalid UTF-8");
  size_t i = 0, depth = 0;
  uint64_t n = 1;
  bool in_string = false;
  while (i < len) {
    unsigned char c = (unsigned char)text[i];
    if (c == '"') {
      for (i++; i < len && text[i] != '"'; i++) {
        if (text[i] == '\\') i++;
        else if ((unsigned char)text[i] < 0x20)
          return parse_error(text, len, i, err, "control character in string (escape it)");
      }
      in_string = i >= len;
      i++;
    } else if (c == '[' || c == '{') {
      if (++depth > JSON_MAX_DEPTH)
        return parse_error(text, len, i, err, "nested more than 500 levels deep");
      i++;
    } else if (c == ']' || c == '}') {
      if (depth) depth--;
      i++;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i;
      while (j < len && is_num_char(text[j])) j++;
      if (j - i > JSON_MAX_NUMBER) return parse_error(text, len, i, err, "number literal too long");
      if (!number_ok(text + i, j - i)) return parse_error(text, len, i, err, "invalid number");
      i = j;
    } else if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      return parse_error(text, len, i, err, "unexpected control character");
    } else {
      if (c == ',' || c == ':') n++;
      i++;
    }
  }
  *nodes = n;
  *open = in_string || depth > 0;
  return true;
}

typedef struct JsonWalk {
  Heap *h;
  const char *text;
  size_t len;
  size_t pos;   /* cursor: where to look for the next string or number token */
  Buf *err;
} JsonWalk;

/* The next string or number token at or after the cursor. Every other
 * token (punctuation, true, false, null) contains neither '"', '-' nor a
 * digit, and the text is known valid, so skipping to one is exact. */
static size_t next_token(JsonWalk *w) {
  while (w->pos < w->len) {
    char c = w->text[w->pos];
    if (c == '"' || c == '-' || (c >= '0' && c <= '9')) return w->pos;
    w->pos++;
  }
  return w->len;
}

static int hex4(const char *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  return v;
}

static void put_utf8(Buf *b, uint32_t cp) {
  char t[4];
  if (cp < 0x80) { buf_putc(b, (char)cp); return; }
  if (cp < 0x800) {
    t[0] = (char)(0xC0 | (cp >> 6)); t[1] = (char)(0x80 | (cp & 0x3F));
    buf_put(b, t, 2);
  } else if (cp < 0x10000) {
    t[0] = (char)(0xE0 | (cp >> 12)); t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    t[2] = (char)(0x80 | (cp & 0x3F));
    buf_put(b, t, 3);
  } else {
    t[0] = (char)(0xF0 | (cp >> 18)); t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    t[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); t[3] = (char)(0x80 | (cp & 0x3F));
    buf_put(b, t, 4);
  }
}

/* Decodes the string token at the cursor into a string value. */
static Value read_string(JsonWalk *w) {
  size_t i = next_token(w) + 1, start = i;
  while (i < w->len && w->text[i] != '"' && w->text[i] != '\\') i++;
  if (i >= w->len || w->text[i] == '"') {   /* no escapes: copy as is */
    w->pos = i + 1;
    return v_string(w->h, w->text + start, i - start);
  }
  Buf b;
  buf_init(&b);
  buf_put(&b, w->text + start, i - start);
  while (i < w->len && w->text[i] != '"') {
    char c = w->text[i];
    if (c != '\\') {
      size_t j = i;
      while (j < w->len && w->text[j] != '"' && w->text[j] != '\\') j++;
      buf_put(&b, w->text + i, j - i);
      i = j;
      continue;
    }
    char e = i + 1 < w->len ? w->text[i + 1] : '"';
    i += 2;
    switch (e) {
    case 'b': buf_putc(&b, '\b'); break;
    case 'f': buf_putc(&b, '\f'); break;
    case 'n': buf_putc(&b, '\n'); break;
    case 'r': buf_putc(&b, '\r'); break;
    case 't': buf_putc(&b, '\t'); break;
    case 'u': {
      int cp = i + 4 <= w->len ? hex4(w->text + i) : -1;
      if (cp >= 0) i += 4;
      if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= w->len && w->text[i] == '\\' &&
          w->text[i + 1] == 'u') {
        int lo = hex4(w->text + i + 2);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
      }
      /* a lone surrogate cannot be UTF-8 (cJSON rejects it anyway) */
      if (cp < 0 || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
      put_utf8(&b, (uint32_t)cp);
      break;
    }
    default: buf_putc(&b, e); break;   /* \" \\ \/ */
    }
  }
  w->pos = i + 1;
  Value v = v_string(w->h, b.data ? b.data : "", b.len);
  buf_free(&b);
  return v;
}

/* Reads the number token at the cursor: an int when written as one and
 * within int64, else the double cJSON computed from the same text. */
static bool read_number(JsonWalk *w, double dbl, Value *out) {
  size_t start = next_token(w), i = start;
  bool neg = false, integral = true;
  if (i < w->len && w->text[i] == '-') { neg = true; i++; }
  uint64_t mag = 0;
  bool fits = true;
  size_t end = i;
  while (end < w->len && is_num_char(w->text[end])) {
    char c = w->text[end];
    if (c < '0' || c > '9') integral = false;
    else if (fits && (__builtin_mul_overflow(mag, 10, &mag) ||
                      __builtin_add_overflow(mag, (uint64_t)(c - '0'), &mag)))
      fits = false;
    end++;
  }
  w->pos = end;
  if (integral && fits && mag <= (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) {
    *out = v_int(neg ? (int64_t)(0 - mag) : (int64_t)mag);
    return true;
  }
  if (!isfinite(dbl)) return parse_error(w->text, w->len, start, w->err, "number out of range");
  *out = v_float(dbl);
  return true;
}

/* Pass 2: cJSON tree -> value, in document order. Depth is bounded by the
 * pre-scan (JSON_MAX_DEPTH), so the recursion is too. */
static bool walk(JsonWalk *w, const cJSON *item, int depth, Value *out) {
  if (depth > JSON_MAX_DEPTH) return parse_error(w->text, w->len, w->pos, w->err, "nested too deeply");
  if (cJSON_IsNull(item)) { *out = v_none(); return true; }
  if (cJSON_IsTrue(item)) { *out = v_bool(true); return true; }
  if (cJSON_IsFalse(item)) { *out = v_bool(false); return true; }
  if (cJSON_IsNumber(item)) return read_number(w, item->valuedouble, out);
  if (cJSON_IsString(item)) { *out = read_string(w); return true; }
  if (cJSON_IsArray(item)) {
    uint32_t n = 0;
    for (const cJSON *c = item->child; c; c = c->next) n++;
    Value list = v_list(w->h, n);
    for (const cJSON *c = item->child; c; c = c->next) {
      Value x;
      if (!walk(w, c, depth + 1, &x)) { v_release(w->h, list); return false; }
      AS_LIST(list)->items[AS_LIST(list)->n++] = x;
    }
    *out = list;
    return true;
  }
  if (cJSON_IsObject(item)) {
    uint32_t n = 0;
    for (const cJSON *c = item->child; c; c = c->next) n++;
    Value map = v_map(w->h, n);
    for (const cJSON *c = item->child; c; c = c->next) {
      Value key = read_string(w), x;
      if (!walk(w, c, depth + 1, &x)) {
        v_release(w->h, key);
        v_release(w->h, map);
        return false;
      }
      map = map_set_take(w->h, map, AS_STRING(key), x);
      v_release(w->h, key);
    }
    *out = map;
    return true;
  }
  return parse_error(w->text, w->len, w->pos, w->err, "unsupported value");
}

/* v_from_json with the message built in err (the parser's helpers write
 * into a Buf; the public entry hands it over as a string). */
static bool from_json(Heap *h, const char *text, size_t len, Value *out, Buf *err) {
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { text += 3; len -= 3; }
  uint64_t nodes = 0;
  bool open = false;
  if (!prescan(text, len, err, &nodes, &open)) return false;
  uint64_t need = nodes * (sizeof(cJSON) + sizeof(Value) + 16) + len;
  if (heap_would_exceed(h, need > SIZE_MAX ? SIZE_MAX : (size_t)need)) {
    buf_puts(err, "JSON text too large for the memory limit");
    return false;
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
  if (!root) {
    size_t off = end && end >= text ? (size_t)(end - text) : 0;
    while (off < len && (text[off] == ' ' || text[off] == '\t' || text[off] == '\n' || text[off] == '\r'))
      off++;
    if (off >= len || open) return parse_error(text, len, len, err, "unexpected end of input");
    return unexpected_char(text, len, off, err);
  }
  size_t off = (size_t)(end - text);
  while (off < len && (text[off] == ' ' || text[off] == '\t' || text[off] == '\n' || text[off] == '\r'))
    off++;
  if (off < len) {
    cJSON_Delete(root);
    return parse_error(text, len, off, err, "unexpected text after the value");
  }
  JsonWalk w = {h, text, len, 0, err};
  bool ok = walk(&w, root, 1, out);
  cJSON_Delete(root);
  return ok;
}

bool v_from_json(Heap *h, const char *text, size_t len, Value *out, char **err) {
  Buf m;
  buf_init(&m);
  if (!from_json(h, text, len, out, &m)) return buf_fail(&m, err);
  return true;
}

/* ---- natives -------------------------------------------------------------- */

/* ---- type descriptors ---------------------------------------------------- */

/* The string constant at idx, or NULL when the index or kind is wrong. */
static const ObjString *const_str(const Module *m, uint32_t idx) {
  if (idx >= m->nconsts || !v_is(m->consts[idx], OBJ_STRING)) return NULL;
  return AS_STRING(m->consts[idx]);
}

static void print_desc(Buf *b, const Module *m, uint32_t td, int depth) {
  if (td >= m->ntypes) { buf_puts(b, "?"); return; }
  if (depth > 32) { buf_puts(b, "…"); return; }
  const TypeDesc *d = &m->types[td];
  switch ((TypeDescKind)d->kind) {
  case TD_JSON: buf_puts(b, "json"); return;
  case TD_INT: buf_puts(b, "int"); return;
  case TD_FLOAT: buf_puts(b, "float"); return;
  case TD_BOOL: buf_puts(b, "bool"); return;
  case TD_STRING: buf_puts(b, "string"); return;
  case TD_DURATION: buf_puts(b, "duration"); return;
  case TD_NONE: buf_puts(b, "none"); return;
  case TD_FUNC: buf_puts(b, "fn"); return;
  case TD_LIST: buf_puts(b, "list["); print_desc(b, m, d->elem, depth + 1); buf_putc(b, ']'); return;
  case TD_MAP: buf_puts(b, "map["); print_desc(b, m, d->elem, depth + 1); buf_putc(b, ']'); return;
  case TD_OPTIONAL: {
    bool paren = d->elem < m->ntypes && m->types[d->elem].kind == TD_ENUM && m->types[d->elem].n > 1;
    if (paren) buf_putc(b, '(');
    print_desc(b, m, d->elem, depth + 1);
    if (paren) buf_putc(b, ')');
    buf_putc(b, '?');
    return;
  }
  case TD_ENUM:
    for (uint32_t i = 0; i < d->n; i++) {
      const ObjString *s = const_str(m, d->members[i]);
      if (i) buf_puts(b, " | ");
      if (s) buf_json_string(b, s->data, s->len);
      else buf_puts(b, "?");
    }
    return;
  case TD_RECORD: {
    const ObjString *name = d->name == NO_INDEX ? NULL : const_str(m, d->name);
    if (name) { buf_put(b, name->data, name->len); return; }
    if (d->n == 0) { buf_puts(b, "{}"); return; }
    buf_puts(b, "{ ");
    for (uint32_t i = 0; i < d->n; i++) {
      const ObjString *fname = const_str(m, d->fields[i].name);
      if (i) buf_puts(b, ", ");
      if (fname) buf_put(b, fname->data, fname->len);
      else buf_putc(b, '?');
      buf_puts(b, ": ");
      print_desc(b, m, d->fields[i].type, depth + 1);
    }
    buf_puts(b, " }");
    return;
  }
  case TD__COUNT: break;
  }
  buf_puts(b, "?");
}

void type_desc_print(Buf *b, const Module *m, uint32_t td) { print_desc(b, m, td, 0); }

/* ---- conversion ---------------------------------------------------------- */

/* A short JSON preview of v for error messages: stops after about
 * PREVIEW_BYTES of output however big v is, then ends with "…". */
static void preview_at(Buf *b, Value v, int depth, size_t limit) {
  if (b->len > limit) return;
  if (v.tag != V_OBJ || v.as.o->kind == OBJ_FUNC) {
    if (!v_to_json(b, v, NULL)) buf_puts(b, v_type_name(v));
    return;
  }
  if (depth > 8) { buf_puts(b, "…"); return; }
  switch ((ObjKind)v.as.o->kind) {
  case OBJ_STRING: {
    ObjString *s = AS_STRING(v);
    size_t n = s->len < limit + 1 ? s->len : limit + 1;
    while (n < s->len && n > 0 && ((unsigned char)s->data[n] & 0xC0) == 0x80) n--;
    buf_json_string(b, s->data, n);
    return;
  }
  case OBJ_LIST: {
    ObjList *l = AS_LIST(v);
    buf_putc(b, '[');
    for (uint32_t i = 0; i < l->n && b->len <= limit; i++) {
      if (i) buf_putc(b, ',');
      preview_at(b, l->items[i], depth + 1, limit);
    }
    buf_putc(b, ']');
    return;
  }
  case OBJ_MAP: {
    ObjMap *m = AS_MAP(v);
    buf_putc(b, '{');
    for (uint32_t i = 0; i < m->n && b->len <= limit; i++) {
      if (i) buf_putc(b, ',');
      preview_at(b, v_obj(&m->keys[i]->h), depth + 1, limit);
      buf_putc(b, ':');
      preview_at(b, m->vals[i], depth + 1, limit);
    }
    buf_putc(b, '}');
    return;
  }
  case OBJ_RECORD: {
    ObjRecord *r = AS_RECORD(v);
    buf_putc(b, '{');
    for (uint32_t i = 0; i < r->shape->n && b->len <= limit; i++) {
      if (i) buf_putc(b, ',');
      ObjString *k = r->shape->names[i];
      buf_json_string(b, k ? k->data : "", k ? k->len : 0);
      buf_putc(b, ':');
      preview_at(b, r->vals[i], depth + 1, limit);
    }
    buf_putc(b, '}');
    return;
  }
  default: buf_puts(b, v_type_name(v)); return;
  }
}

static void preview(Buf *out, Value v) {
  Buf b;
  buf_init(&b);
  preview_at(&b, v, 0, PREVIEW_BYTES);
  if (b.len > PREVIEW_BYTES) {
    size_t n = PREVIEW_BYTES;
    while (n > 0 && ((unsigned char)b.data[n] & 0xC0) == 0x80) n--;
    buf_put(out, b.data, n);
    buf_puts(out, "…");
  } else {
    buf_put(out, b.data ? b.data : "", b.len);
  }
  buf_free(&b);
}

typedef struct Conv {
  Heap *h;
  const Module *m;
  Buf *err;
  Buf path;   /* ".field", "[3]", ["key"] segments below the root "$" (a
               * scalar's conversion allocates nothing) */
} Conv;

static void put_path(Conv *c) {
  buf_putc(c->err, '$');
  buf_put(c->err, c->path.data, c->path.len);
}

static bool conv_fail(Conv *c, const char *fmt, const char *arg) {
  put_path(c);
  buf_puts(c->err, ": ");
  buf_printf(c->err, fmt, arg);
  return false;
}

static bool mismatch(Conv *c, uint32_t td, Value v) {
  put_path(c);
  buf_puts(c->err, ": expected ");
  type_desc_print(c->err, c->m, td);
  buf_puts(c->err, ", got ");
  preview(c->err, v);
  return false;
}

/* "30s", "250ms", "1m30s", "1.5s", "2h" (the forms dur_format writes, and a
 * leading '-') -> milliseconds. False on anything else or on overflow. */
static bool parse_duration(const char *s, size_t len, int64_t *out) {
  size_t i = 0;
  bool neg = false;
  if (i < len && s[i] == '-') { neg = true; i++; }
  if (i == len) return false;
  uint64_t total = 0;
  while (i < len) {
    uint64_t whole = 0, frac = 0, scale = 1;
    size_t d0 = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      if (__builtin_mul_overflow(whole, 10, &whole) || __builtin_add_overflow(whole, (uint64_t)(s[i] - '0'), &whole))
        return false;
      i++;
    }
    bool any = i > d0;
    if (i < len && s[i] == '.') {
      i++;
      while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (scale < 1000000000ULL) { frac = frac * 10 + (uint64_t)(s[i] - '0'); scale *= 10; }
        any = true;
        i++;
      }
    }
    if (!any) return false;
    uint64_t unit;
    if (i + 1 < len && s[i] == 'm' && s[i + 1] == 's') { unit = 1; i += 2; }
    else if (i < len && s[i] == 's') { unit = 1000; i++; }
    else if (i < len && s[i] == 'm') { unit = 60000; i++; }
    else if (i < len && s[i] == 'h') { unit = 3600000; i++; }
    else return false;
    uint64_t part;
    if (__builtin_mul_overflow(whole, unit, &part) || __builtin_add_overflow(part, frac * unit / scale, &part) ||
        __builtin_add_overflow(total, part, &total))
      return false;
  }
  if (total > (uint64_t)INT64_MAX) return false;
  *out = neg ? -(int64_t)total : (int64_t)total;
  return true;
}

/* Whether conversion returned the very same value (so a container whose
 * elements all came back unchanged can be reused instead of copied). */
static bool same(Value a, Value b) {
  if (a.tag != b.tag) return false;
  return a.tag == V_OBJ ? a.as.o == b.as.o : a.as.i == b.as.i;
}

static bool conv(Conv *c, uint32_t td, Value v, int depth, Value *out);

static bool conv_list(Conv *c, const TypeDesc *d, Value v, int depth, Value *out) {
  ObjList *l = AS_LIST(v);
  Value res = v_list(c->h, l->n);
  ObjList *r = AS_LIST(res);
  bool changed = false;
  size_t mark = c->path.len;
  for (uint32_t i = 0; i < l->n; i++) {
    buf_printf(&c->path, "[%u]", i);
    Value x;
    bool ok = conv(c, d->elem, l->items[i], depth + 1, &x);
    c->path.len = mark;
    c->path.data[mark] = '\0';
    if (!ok) { v_release(c->h, res); return false; }
    changed |= !same(x, l->items[i]);
    r->items[r->n++] = x;
  }
  if (!changed) { v_release(c->h, res); res = v_retain(v); }
  *out = res;
  return true;
}

/* map[T] from a map, or from a record (a json value may hold one). */
static bool conv_map(Conv *c, const TypeDesc *d, Value v, int depth, Value *out) {
  bool is_map = v_is(v, OBJ_MAP);
  uint32_t n = is_map ? AS_MAP(v)->n : AS_RECORD(v)->shape->n;
  Value res = v_map(c->h, n);
  bool changed = !is_map;
  size_t mark = c->path.len;
  for (uint32_t i = 0; i < n; i++) {
    ObjString *k = is_map ? AS_MAP(v)->keys[i] : AS_RECORD(v)->shape->names[i];
    Value item = is_map ? AS_MAP(v)->vals[i] : AS_RECORD(v)->vals[i];
    if (!k) continue;
    buf_putc(&c->path, '[');
    buf_json_string(&c->path, k->data, k->len);
    buf_putc(&c->path, ']');
    Value x;
    bool ok = conv(c, d->elem, item, depth + 1, &x);
    c->path.len = mark;
    c->path.data[mark] = '\0';
    if (!ok) { v_release(c->h, res); return false; }
    changed |= !same(x, item);
    res = map_set_take(c->h, res, k, x);
  }
  if (!changed) { v_release(c->h, res); res = v_retain(v); }
  *out = res;
  return true;
}

/* A record of descriptor d from a map or record: every declared field must
 * be present (optional ones may be missing: none), and no other field may
 * be (a model must not invent fields). */
static bool conv_record(Conv *c, const TypeDesc *d, Value v, int depth, Value *out) {
  bool is_map = v_is(v, OBJ_MAP);
  uint32_t n = is_map ? AS_MAP(v)->n : AS_RECORD(v)->shape->n;
  for (uint32_t i = 0; i < n; i++) {
    ObjString *k = is_map ? AS_MAP(v)->keys[i] : AS_RECORD(v)->shape->names[i];
    if (!k) continue;
    bool known = false;
    for (uint32_t j = 0; j < d->n && !known; j++) {
      const ObjString *fname = const_str(c->m, d->fields[j].name);
      known = fname && str_eq(fname, k);
    }
    if (!known) {
      Buf q;
      buf_init(&q);
      buf_json_string(&q, k->data, k->len);
      conv_fail(c, "unexpected field %s", q.data);
      buf_free(&q);
      return false;
    }
  }
  ObjShape *shape = d->shape;
  if (shape) {
    shape->h.rc++;
  } else {
    shape = shape_new(c->h, d->n);
    for (uint32_t j = 0; j < d->n; j++) {
      ObjString *fname = (ObjString *)const_str(c->m, d->fields[j].name);
      if (!fname) fname = AS_STRING(v_cstring(c->h, "?"));
      else fname->h.rc++;
      shape->names[j] = fname;
    }
  }
  Value res = v_record(c->h, shape);
  v_release(c->h, v_obj(&shape->h));
  size_t mark = c->path.len;
  for (uint32_t j = 0; j < d->n; j++) {
    const TypeField *fd = &d->fields[j];
    const ObjString *fname = const_str(c->m, fd->name);
    if (!fname) { v_release(c->h, res); return conv_fail(c, "%s", "malformed type descriptor"); }
    Value *src = is_map ? map_get_cstr(AS_MAP(v), fname->data, fname->len)
                        : record_get(AS_RECORD(v), fname);
    int slot = shape_find(AS_RECORD(res)->shape, fname->data, fname->len);
    if (slot < 0) { v_release(c->h, res); return conv_fail(c, "%s", "malformed type descriptor"); }
    if (!src) {
      if (fd->type < c->m->ntypes && c->m->types[fd->type].kind == TD_OPTIONAL) continue;
      Buf q;
      buf_init(&q);
      buf_json_string(&q, fname->data, fname->len);
      conv_fail(c, "missing field %s", q.data);
      buf_free(&q);
      v_release(c->h, res);
      return false;
    }
    buf_putc(&c->path, '.');
    buf_put(&c->path, fname->data, fname->len);
    Value x;
    bool ok = conv(c, fd->type, *src, depth + 1, &x);
    c->path.len = mark;
    c->path.data[mark] = '\0';
    if (!ok) { v_release(c->h, res); return false; }
    v_release(c->h, AS_RECORD(res)->vals[slot]);
    AS_RECORD(res)->vals[slot] = x;
  }
  *out = res;
  return true;
}

static bool conv(Conv *c, uint32_t td, Value v, int depth, Value *out) {
  if (td >= c->m->ntypes) return conv_fail(c, "%s", "malformed type descriptor");
  if (depth > VALUE_MAX_DEPTH) return conv_fail(c, "%s", "value nested too deeply");
  const TypeDesc *d = &c->m->types[td];
  switch ((TypeDescKind)d->kind) {
  case TD_JSON: *out = v_retain(v); return true;
  case TD_INT:
    if (v.tag != V_INT) return mismatch(c, td, v);
    *out = v;
    return true;
  case TD_FLOAT:
    if (v.tag == V_INT) { *out = v_float((double)v.as.i); return true; }
    if (v.tag != V_FLOAT) return mismatch(c, td, v);
    *out = v;
    return true;
  case TD_BOOL:
    if (v.tag != V_BOOL) return mismatch(c, td, v);
    *out = v;
    return true;
  case TD_STRING:
    if (!v_is(v, OBJ_STRING)) return mismatch(c, td, v);
    *out = v_retain(v);
    return true;
  case TD_DURATION: {
    int64_t ms;
    if (v.tag == V_DURATION) { *out = v; return true; }
    if (v_is(v, OBJ_STRING) && parse_duration(AS_STRING(v)->data, AS_STRING(v)->len, &ms)) {
      *out = v_duration(ms);
      return true;
    }
    return mismatch(c, td, v);
  }
  case TD_NONE:
    if (v.tag != V_NONE) return mismatch(c, td, v);
    *out = v;
    return true;
  case TD_FUNC:
    if (!v_is(v, OBJ_FUNC)) return mismatch(c, td, v);
    *out = v_retain(v);
    return true;
  case TD_OPTIONAL:
    if (v.tag == V_NONE) { *out = v; return true; }
    return conv(c, d->elem, v, depth + 1, out);
  case TD_ENUM:
    if (v_is(v, OBJ_STRING)) {
      for (uint32_t i = 0; i < d->n; i++) {
        const ObjString *s = const_str(c->m, d->members[i]);
        if (s && str_eq(s, AS_STRING(v))) { *out = v_retain(v); return true; }
      }
    }
    return mismatch(c, td, v);
  case TD_LIST:
    if (!v_is(v, OBJ_LIST)) return mismatch(c, td, v);
    return conv_list(c, d, v, depth, out);
  case TD_MAP:
    if (!v_is(v, OBJ_MAP) && !v_is(v, OBJ_RECORD)) return mismatch(c, td, v);
    return conv_map(c, d, v, depth, out);
  case TD_RECORD:
    if (!v_is(v, OBJ_MAP) && !v_is(v, OBJ_RECORD)) return mismatch(c, td, v);
    return conv_record(c, d, v, depth, out);
  case TD__COUNT: break;
  }
  return conv_fail(c, "%s", "malformed type descriptor");
}

bool v_convert(Heap *h, const Module *m, uint32_t td, Value v, Value *out, char **err) {
  Buf msg;
  buf_init(&msg);
  Conv c = {h, m, &msg, {NULL, 0, 0}};
  bool ok = conv(&c, td, v, 0, out);
  buf_free(&c.path);
  if (!ok) return buf_fail(&msg, err);
  return true;
}
