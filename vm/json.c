/* json.c — JSON text -> values, type-directed conversion of values, and
 * type descriptors in Weft syntax (json.h). Values -> JSON text is
 * v_to_json (value.c).
 *
 * Parsing is RFC 8259 exactly, checked against JSONTestSuite
 * (tests/unit/test_json_suite.c; the decisions on what the RFC leaves open
 * are in docs/runtime.md, "JSON"). Two passes over the text:
 *
 *   1. a linear pre-scan rejects invalid UTF-8, raw control characters and
 *      nesting deeper than JSON_MAX_DEPTH with a line/column message, and
 *      counts values so the memory about to be used is checked first;
 *   2. a recursive-descent reader (depth bounded by the pre-scan) builds
 *      the value. An integer written without '.', 'e' or 'E' that fits in
 *      int64 stays an exact int; other numbers, of any length, become
 *      floats. "\u0000" stays a NUL byte inside a string.
 *
 * Objects become maps in key order (a repeated key keeps its first position
 * and its last value), arrays lists, null none.
 *
 * v_convert checks a value against a module type descriptor and builds
 * the typed value (records from maps), with errors that name the path in
 * the value ($.items[3].severity) so a model can repair its reply. */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "../base/util.h"

/* Deepest container nesting json_parse accepts; below VALUE_MAX_DEPTH so
 * every parsed value can be rendered and compared again. */
#define JSON_MAX_DEPTH 500
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

/* JSON's number grammar (strtod alone accepts more):
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

/* Pass 1 (see the file comment): rejects invalid UTF-8 anywhere, raw
 * control characters, and nesting deeper than JSON_MAX_DEPTH before
 * anything is allocated or recursed into; *nodes gets an upper bound of
 * the number of values in the document. */
static bool prescan(const char *text, size_t len, Buf *err, uint64_t *nodes) {
  size_t bad;
  if (!utf8_valid(text, len, &bad)) return parse_error(text, len, bad, err, "invalid UTF-8");
  size_t i = 0, depth = 0;
  uint64_t n = 1;
  while (i < len) {
    unsigned char c = (unsigned char)text[i];
    if (c == '"') {
      for (i++; i < len && text[i] != '"'; i++) {
        if (text[i] == '\\') i++;
        else if ((unsigned char)text[i] < 0x20)
          return parse_error(text, len, i, err, "control character in string (escape it)");
      }
      i++;
    } else if (c == '[' || c == '{') {
      if (++depth > JSON_MAX_DEPTH)
        return parse_error(text, len, i, err, "nested more than 500 levels deep");
      i++;
    } else if (c == ']' || c == '}') {
      if (depth) depth--;
      i++;
    } else if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      return parse_error(text, len, i, err, "unexpected control character");
    } else {
      if (c == ',' || c == ':') n++;
      i++;
    }
  }
  *nodes = n;
  return true;
}

typedef struct JsonParse {
  Heap *h;
  const char *text;
  size_t len;
  size_t pos;   /* cursor: the next byte to read */
  Buf *err;
} JsonParse;

static bool fail_at(JsonParse *p, size_t off, const char *what) {
  return parse_error(p->text, p->len, off, p->err, what);
}

/* The error for the byte at the cursor: the end of input, or that byte. */
static bool unexpected(JsonParse *p) {
  if (p->pos >= p->len) return fail_at(p, p->len, "unexpected end of input");
  return unexpected_char(p->text, p->len, p->pos, p->err);
}

static void skip_ws(JsonParse *p) {
  while (p->pos < p->len) {
    char c = p->text[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
    p->pos++;
  }
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

/* The code point of the \uXXXX escape at off (the backslash), or -1. */
static int u_escape(const JsonParse *p, size_t off) {
  if (off + 6 > p->len || p->text[off] != '\\' || p->text[off + 1] != 'u') return -1;
  return hex4(p->text + off + 2);
}

/* Reads the string at the cursor (on its '"'). Escapes are exactly JSON's:
 * anything else after a backslash, a \u without four hex digits, and a
 * surrogate that is not half of a high-low pair are errors, never U+FFFD:
 * a reply that says something other than what it seems to is refused.
 * The text is valid UTF-8 (pre-scan), so unescaped bytes are copied. */
static bool read_string(JsonParse *p, Value *out) {
  const char *t = p->text;
  size_t i = p->pos + 1, start = i;
  while (i < p->len && t[i] != '"' && t[i] != '\\' && (unsigned char)t[i] >= 0x20) i++;
  if (i < p->len && t[i] == '"') {   /* no escapes: copy as is */
    p->pos = i + 1;
    *out = v_string(p->h, t + start, i - start);
    return true;
  }
  Buf b;
  buf_init(&b);
  buf_put(&b, t + start, i - start);
  for (;;) {
    if (i >= p->len) { buf_free(&b); return fail_at(p, p->len, "unexpected end of input"); }
    unsigned char c = (unsigned char)t[i];
    if (c == '"') break;
    if (c < 0x20) { buf_free(&b); return fail_at(p, i, "control character in string (escape it)"); }
    if (c != '\\') {
      size_t j = i;
      while (j < p->len && t[j] != '"' && t[j] != '\\' && (unsigned char)t[j] >= 0x20) j++;
      buf_put(&b, t + i, j - i);
      i = j;
      continue;
    }
    if (i + 1 >= p->len) { buf_free(&b); return fail_at(p, p->len, "unexpected end of input"); }
    char e = t[i + 1];
    switch (e) {
    case '"': case '\\': case '/': buf_putc(&b, e); i += 2; break;
    case 'b': buf_putc(&b, '\b'); i += 2; break;
    case 'f': buf_putc(&b, '\f'); i += 2; break;
    case 'n': buf_putc(&b, '\n'); i += 2; break;
    case 'r': buf_putc(&b, '\r'); i += 2; break;
    case 't': buf_putc(&b, '\t'); i += 2; break;
    case 'u': {
      int cp = u_escape(p, i);
      if (cp < 0) { buf_free(&b); return fail_at(p, i, "invalid \\u escape (four hex digits expected)"); }
      if (cp >= 0xDC00 && cp <= 0xDFFF) {
        buf_free(&b);
        return fail_at(p, i, "lone surrogate in \\u escape");
      }
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        int lo = u_escape(p, i + 6);
        if (lo < 0xDC00 || lo > 0xDFFF) { buf_free(&b); return fail_at(p, i, "lone surrogate in \\u escape"); }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        i += 6;
      }
      put_utf8(&b, (uint32_t)cp);
      i += 6;
      break;
    }
    default: buf_free(&b); return fail_at(p, i, "invalid escape");
    }
  }
  p->pos = i + 1;
  *out = v_string(p->h, b.data ? b.data : "", b.len);
  buf_free(&b);
  return true;
}

/* Reads the number at the cursor: an int when written without '.', 'e' or
 * 'E' and within int64; any other valid literal, however long, a float
 * (integers beyond int64 lose precision; one that overflows a double is an
 * error, one that underflows is 0.0 or subnormal). */
static bool read_number(JsonParse *p, Value *out) {
  size_t start = p->pos, end = start;
  while (end < p->len && is_num_char(p->text[end])) end++;
  const char *s = p->text + start;
  size_t n = end - start;
  if (!number_ok(s, n)) return fail_at(p, start, "invalid number");
  p->pos = end;
  bool neg = s[0] == '-', integral = true, fits = true;
  uint64_t mag = 0;
  for (size_t i = neg; i < n && integral; i++) {
    if (s[i] < '0' || s[i] > '9') integral = false;
    else if (fits && (__builtin_mul_overflow(mag, 10, &mag) ||
                      __builtin_add_overflow(mag, (uint64_t)(s[i] - '0'), &mag)))
      fits = false;
  }
  if (integral && fits && mag <= (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) {
    *out = v_int(neg ? (int64_t)(0 - mag) : (int64_t)mag);
    return true;
  }
  /* strtod wants a terminated string in the current locale's notation */
  char small[64], *copy = n < sizeof small ? small : xmalloc(n + 1);
  memcpy(copy, s, n);
  copy[n] = '\0';
  const char *point = localeconv()->decimal_point;
  if (point && point[0] && point[0] != '.' && !point[1])
    for (size_t i = 0; i < n; i++)
      if (copy[i] == '.') copy[i] = point[0];
  double d = strtod(copy, NULL);
  if (copy != small) free(copy);
  if (!isfinite(d)) return fail_at(p, start, "number out of range");
  *out = v_float(d);
  return true;
}

static bool read_value(JsonParse *p, int depth, Value *out);

static bool read_array(JsonParse *p, int depth, Value *out) {
  Value list = v_list(p->h, 0);
  p->pos++;
  skip_ws(p);
  if (p->pos < p->len && p->text[p->pos] == ']') { p->pos++; *out = list; return true; }
  for (;;) {
    Value x;
    if (!read_value(p, depth + 1, &x)) { v_release(p->h, list); return false; }
    list = list_push_take(p->h, list, x);
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == ',') { p->pos++; continue; }
    if (p->pos < p->len && p->text[p->pos] == ']') { p->pos++; *out = list; return true; }
    v_release(p->h, list);
    return unexpected(p);
  }
}

/* Objects become maps in key order; a repeated key keeps its first
 * position and its last value (see docs/runtime.md, "JSON"). */
static bool read_object(JsonParse *p, int depth, Value *out) {
  Value map = v_map(p->h, 0);
  p->pos++;
  skip_ws(p);
  if (p->pos < p->len && p->text[p->pos] == '}') { p->pos++; *out = map; return true; }
  for (;;) {
    skip_ws(p);
    Value key, x;
    if (p->pos >= p->len || p->text[p->pos] != '"') { v_release(p->h, map); return unexpected(p); }
    if (!read_string(p, &key)) { v_release(p->h, map); return false; }
    skip_ws(p);
    if (p->pos >= p->len || p->text[p->pos] != ':') {
      v_release(p->h, key);
      v_release(p->h, map);
      return unexpected(p);
    }
    p->pos++;
    if (!read_value(p, depth + 1, &x)) {
      v_release(p->h, key);
      v_release(p->h, map);
      return false;
    }
    /* a repeated key keeps its last value (RFC 8259 leaves it open; the
     * common reading); the map remembers the first repeat so that typed
     * conversion can refuse it (a reply that says two things) */
    ObjString *ks = AS_STRING(key);
    Value *had = AS_MAP(map)->dup ? NULL : map_get_cstr(AS_MAP(map), ks->data, ks->len);
    uint32_t at = had ? (uint32_t)(had - AS_MAP(map)->vals) : 0;
    map = map_set_take(p->h, map, ks, x);
    if (had) AS_MAP(map)->dup = at + 1;
    v_release(p->h, key);
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == ',') { p->pos++; continue; }
    if (p->pos < p->len && p->text[p->pos] == '}') { p->pos++; *out = map; return true; }
    v_release(p->h, map);
    return unexpected(p);
  }
}

/* One value after optional white space. The pre-scan bounds the nesting,
 * and depth checks it again, so the recursion stays within JSON_MAX_DEPTH. */
static bool read_value(JsonParse *p, int depth, Value *out) {
  if (depth > JSON_MAX_DEPTH) return fail_at(p, p->pos, "nested more than 500 levels deep");
  skip_ws(p);
  if (p->pos >= p->len) return unexpected(p);
  char c = p->text[p->pos];
  if (c == '"') return read_string(p, out);
  if (c == '[') return read_array(p, depth, out);
  if (c == '{') return read_object(p, depth, out);
  if (c == '-' || (c >= '0' && c <= '9')) return read_number(p, out);
  static const struct { const char *word; size_t n; } lits[] = {{"null", 4}, {"true", 4}, {"false", 5}};
  for (int k = 0; k < 3; k++) {
    if (c != lits[k].word[0]) continue;
    size_t avail = p->len - p->pos;
    if (avail < lits[k].n) {
      /* a prefix of the word cut off by the end of the text */
      if (memcmp(p->text + p->pos, lits[k].word, avail) == 0) return fail_at(p, p->len, "unexpected end of input");
      return unexpected(p);
    }
    if (memcmp(p->text + p->pos, lits[k].word, lits[k].n) != 0) return unexpected(p);
    p->pos += lits[k].n;
    *out = k == 0 ? v_none() : v_bool(k == 1);
    return true;
  }
  return unexpected(p);
}

/* v_from_json with the message built in err (the parser's helpers write
 * into a Buf; the public entry hands it over as a string). */
static bool from_json(Heap *h, const char *text, size_t len, Value *out, Buf *err) {
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { text += 3; len -= 3; }
  uint64_t nodes = 0;
  if (!prescan(text, len, err, &nodes)) return false;
  /* a list slot or map entry, a string header and rounding, per value */
  uint64_t need = nodes * (sizeof(Value) + 64) + len;
  if (heap_would_exceed(h, need > SIZE_MAX ? SIZE_MAX : (size_t)need)) {
    buf_puts(err, "JSON text too large for the memory limit");
    return false;
  }
  JsonParse p = {h, text, len, 0, err};
  if (!read_value(&p, 1, out)) return false;
  skip_ws(&p);
  if (p.pos < len) {
    v_release(h, *out);
    return fail_at(&p, p.pos, "unexpected text after the value");
  }
  return true;
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

/* A range bound as written: 10, -3, 0.5. */
static void put_bound(Buf *b, const Module *m, uint32_t k) {
  if (k >= m->nconsts) { buf_puts(b, "?"); return; }
  Value v = m->consts[k];
  if (v.tag == V_INT) buf_printf(b, "%lld", (long long)v.as.i);
  else if (v.tag == V_FLOAT) buf_float(b, v.as.f);
  else buf_puts(b, "?");
}

/* Printing follows every path of the descriptor DAG (its output is a
 * tree), so it stops at TYPE_PRINT_MAX bytes with "…": a module whose
 * records share members without names would otherwise print 2^N nodes. */
static void print_desc(BufCapped *p, const Module *m, uint32_t td, int depth) {
  if (p->cut) return;
  if (td >= m->ntypes) { buf_capped_puts(p, "?"); return; }
  if (depth > 32) { buf_capped_puts(p, "…"); return; }
  const TypeDesc *d = &m->types[td];
  switch ((TypeDescKind)d->kind) {
  case TD_JSON: buf_capped_puts(p, "json"); return;
  case TD_INT: buf_capped_puts(p, "int"); return;
  case TD_FLOAT: buf_capped_puts(p, "float"); return;
  case TD_BOOL: buf_capped_puts(p, "bool"); return;
  case TD_STRING: buf_capped_puts(p, "string"); return;
  case TD_DURATION: buf_capped_puts(p, "duration"); return;
  case TD_NONE: buf_capped_puts(p, "none"); return;
  case TD_FUNC: buf_capped_puts(p, "fn"); return;
  case TD_LIST: buf_capped_puts(p, "list["); print_desc(p, m, d->elem, depth + 1); buf_capped_puts(p, "]"); return;
  case TD_MAP: buf_capped_puts(p, "map["); print_desc(p, m, d->elem, depth + 1); buf_capped_puts(p, "]"); return;
  case TD_OPTIONAL: {
    bool paren = d->elem < m->ntypes && m->types[d->elem].kind == TD_ENUM && m->types[d->elem].n > 1;
    if (paren) buf_capped_puts(p, "(");
    print_desc(p, m, d->elem, depth + 1);
    if (paren) buf_capped_puts(p, ")");
    buf_capped_puts(p, "?");
    return;
  }
  case TD_ENUM:
    for (uint32_t i = 0; i < d->n && !p->cut; i++) {
      const ObjString *s = const_str(m, d->members[i]);
      if (i) buf_capped_puts(p, " | ");
      if (p->cut) break;
      if (s) buf_json_string(p->b, s->data, s->len);
      else buf_puts(p->b, "?");
      buf_capped_check(p);
    }
    return;
  case TD_RECORD: {
    const ObjString *name = d->name == NO_INDEX ? NULL : const_str(m, d->name);
    if (name) { buf_capped_put(p, name->data, name->len); return; }
    if (d->n == 0) { buf_capped_puts(p, "{}"); return; }
    buf_capped_puts(p, "{ ");
    for (uint32_t i = 0; i < d->n && !p->cut; i++) {
      const ObjString *fname = const_str(m, d->fields[i].name);
      if (i) buf_capped_puts(p, ", ");
      if (fname) buf_capped_put(p, fname->data, fname->len);
      else buf_capped_puts(p, "?");
      buf_capped_puts(p, ": ");
      print_desc(p, m, d->fields[i].type, depth + 1);
    }
    buf_capped_puts(p, " }");
    return;
  }
  case TD_TAGGED: {
    const ObjString *name = d->name == NO_INDEX ? NULL : const_str(m, d->name);
    if (name) { buf_capped_put(p, name->data, name->len); return; }
    for (uint32_t i = 0; i < d->n && !p->cut; i++) {
      const ObjString *tag = module_variant_tag(m, d->members[i]);
      if (i) buf_capped_puts(p, " | ");
      if (tag) buf_capped_put(p, tag->data, tag->len);
      else buf_capped_puts(p, "?");
      buf_capped_puts(p, " {…}");
    }
    return;
  }
  case TD_RANGE: {
    const ObjString *name = d->name == NO_INDEX ? NULL : const_str(m, d->name);
    if (name) { buf_capped_put(p, name->data, name->len); return; }
    print_desc(p, m, d->elem, depth + 1);
    if (p->cut) return;
    buf_capped_puts(p, "(");
    if (d->lo != NO_INDEX) put_bound(p->b, m, d->lo);
    buf_capped_puts(p, "..");
    if (d->hi != NO_INDEX) put_bound(p->b, m, d->hi);
    buf_capped_puts(p, ")");
    return;
  }
  case TD__COUNT: break;
  }
  buf_capped_puts(p, "?");
}

/* The tags of union d as `"A" | "B"`, for messages. */
static void put_tags(Buf *b, const Module *m, const TypeDesc *d) {
  BufCapped p = buf_capped(b, TYPE_PRINT_MAX);
  for (uint32_t i = 0; i < d->n && !p.cut; i++) {
    const ObjString *tag = module_variant_tag(m, d->members[i]);
    if (i) buf_capped_puts(&p, " | ");
    if (tag) buf_json_string(p.b, tag->data, tag->len);
    buf_capped_check(&p);
  }
}

/* Whether range descriptor d measures a length (string, list) rather than
 * a value (int, float). */
static bool range_of_length(const Module *m, const TypeDesc *d) {
  uint8_t b = d->elem < m->ntypes ? m->types[d->elem].kind : TD_JSON;
  return b == TD_STRING || b == TD_LIST;
}

void range_words(Buf *b, const Module *m, const TypeDesc *d) {
  bool lo = d->lo != NO_INDEX, hi = d->hi != NO_INDEX;
  bool len = range_of_length(m, d);
  if (lo && hi) {
    buf_puts(b, len ? "of " : "from ");
    put_bound(b, m, d->lo);
    buf_puts(b, " to ");
    put_bound(b, m, d->hi);
  } else if (lo || hi) {
    buf_puts(b, lo ? "of at least " : "of at most ");
    put_bound(b, m, lo ? d->lo : d->hi);
  }
  if (len) {
    bool is_string = d->elem < m->ntypes && m->types[d->elem].kind == TD_STRING;
    buf_puts(b, is_string ? " characters" : " items");
  }
}

/* The measure of v that range d bounds: its value, or its length in code
 * points or items. v has d's base type already. */
static double range_measure(const Value v) {
  if (v.tag == V_INT) return (double)v.as.i;
  if (v.tag == V_FLOAT) return v.as.f;
  if (v_is(v, OBJ_STRING)) return (double)utf8_count(AS_STRING(v)->data, AS_STRING(v)->len);
  if (v_is(v, OBJ_LIST)) return (double)AS_LIST(v)->n;
  return 0;
}

/* Whether v is inside range d: ints compare as integers (a double does not
 * hold every int64), floats and lengths as doubles. */
static bool range_holds(const Module *m, const TypeDesc *d, Value v) {
  uint32_t bounds[2] = {d->lo, d->hi};
  for (int j = 0; j < 2; j++) {
    uint32_t k = bounds[j];
    if (k == NO_INDEX || k >= m->nconsts) continue;
    Value bv = m->consts[k];
    bool below;
    if (v.tag == V_INT && bv.tag == V_INT) below = j == 0 ? v.as.i < bv.as.i : v.as.i > bv.as.i;
    else {
      double x = range_measure(v), y = bv.tag == V_INT ? (double)bv.as.i : bv.as.f;
      below = j == 0 ? !(x >= y) : !(x <= y);
    }
    if (below) return false;
  }
  return true;
}

void type_desc_print(Buf *b, const Module *m, uint32_t td) {
  BufCapped p = buf_capped(b, TYPE_PRINT_MAX);
  print_desc(&p, m, td, 0);
}

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

/* A value reached again through shared structure (a json value a program
 * built by `v = [v, v]`, 40 times over, is 2^40 values as a tree but 41
 * objects) converts once per descriptor, and the result is shared the same
 * way: conversion is linear in the objects, not in the tree. Only an object
 * with more than one reference can be reached twice, so only those are
 * kept (a value parsed from JSON text has none). */
typedef struct ConvSeen {
  const Obj *obj;   /* NULL: an empty slot */
  uint32_t td;
  Value out;        /* a reference the memo owns */
} ConvSeen;

typedef struct Conv {
  Heap *h;
  const Module *m;
  Buf *err;
  Buf path;   /* ".field", "[3]", ["key"] segments below the root "$" (a
               * scalar's conversion allocates nothing) */
  ConvSeen *seen; uint32_t nseen, seen_cap;  /* open addressing */
  Label inh;  /* the join of the labels of the containers above the value
               * being converted: a free string or json part keeps it */
} Conv;

static ConvSeen *seen_slot(const Conv *c, const Obj *o, uint32_t td) {
  uint32_t mask = c->seen_cap - 1;
  uint64_t h = ((uint64_t)(uintptr_t)o * 0x9E3779B97F4A7C15ULL) ^ td;
  for (uint32_t i = (uint32_t)(h ^ (h >> 32)) & mask;; i = (i + 1) & mask)
    if (!c->seen[i].obj || (c->seen[i].obj == o && c->seen[i].td == td)) return &c->seen[i];
}

static void seen_put(Conv *c, const Obj *o, uint32_t td, Value out) {
  if ((c->nseen + 1) * 2 > c->seen_cap) {
    ConvSeen *old = c->seen;
    uint32_t old_cap = c->seen_cap;
    c->seen_cap = old_cap ? old_cap * 2 : 64;
    c->seen = xcalloc(c->seen_cap, sizeof *c->seen);
    for (uint32_t i = 0; i < old_cap; i++)
      if (old[i].obj) *seen_slot(c, old[i].obj, old[i].td) = old[i];
    free(old);
  }
  *seen_slot(c, o, td) = (ConvSeen){o, td, v_retain(out)};
  c->nseen++;
}

static void seen_free(Conv *c) {
  for (uint32_t i = 0; i < c->seen_cap; i++)
    if (c->seen[i].obj) v_release(c->h, c->seen[i].out);
  free(c->seen);
}

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
bool duration_parse(const char *s, size_t len, int64_t *out) {
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
  if (a.tag != b.tag || a.label != b.label) return false;
  return a.tag == V_OBJ ? a.as.o == b.as.o : a.as.i == b.as.i;
}

static bool conv(Conv *c, uint32_t td, Value v, int depth, Value *out);

static bool conv_list(Conv *c, const TypeDesc *d, Value v, int depth, Value *out) {
  ObjList *l = AS_LIST(v);
  Value res = v_list(c->h, l->n);
  ObjList *r = AS_LIST(res);
  bool changed = false;
  Label lab = LABEL_NONE;
  size_t mark = c->path.len;
  for (uint32_t i = 0; i < l->n; i++) {
    buf_printf(&c->path, "[%u]", i);
    Value x;
    bool ok = conv(c, d->elem, l->items[i], depth + 1, &x);
    c->path.len = mark;
    c->path.data[mark] = '\0';
    if (!ok) { v_release(c->h, res); return false; }
    changed |= !same(x, l->items[i]);
    lab = label_join(lab, v_label(x));
    r->items[r->n++] = x;
  }
  /* the list is the join of what it now holds (declassified elements) */
  if (!changed && lab == l->h.label) { v_release(c->h, res); res = v_retain(v); }
  else r->h.label = lab;
  *out = res;
  return true;
}

/* map[T] from a map, or from a record (a json value may hold one). */
/* A map parsed from JSON text that gave a key twice: "$.a.name: duplicate
 * key" (record) or "$.a[\"name\"]: duplicate key" (map). Only typed
 * conversion refuses it; a `json` value keeps the last value. */
static bool dup_key(Conv *c, Value v, bool as_field) {
  if (!v_is(v, OBJ_MAP)) return false;
  const ObjMap *m = AS_MAP(v);
  if (!m->dup || m->dup > m->n || !m->keys[m->dup - 1]) return false;
  const ObjString *k = m->keys[m->dup - 1];
  if (as_field) {
    buf_putc(&c->path, '.');
    buf_put(&c->path, k->data, k->len);
  } else {
    buf_putc(&c->path, '[');
    buf_json_string(&c->path, k->data, k->len);
    buf_putc(&c->path, ']');
  }
  return !conv_fail(c, "%s", "duplicate key");
}

static bool conv_map(Conv *c, const TypeDesc *d, Value v, int depth, Value *out) {
  if (dup_key(c, v, false)) return false;
  bool is_map = v_is(v, OBJ_MAP);
  uint32_t n = is_map ? AS_MAP(v)->n : AS_RECORD(v)->shape->n;
  Value res = v_map(c->h, n);
  bool changed = !is_map;
  size_t mark = c->path.len;
  Label lab = LABEL_NONE;
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
    /* a key is free text: it keeps its label and the containers' */
    lab = label_join(lab, label_join(v_label(x), label_join(k->h.label, c->inh)));
    res = map_set_take(c->h, res, k, x);
  }
  if (!changed && lab == v_label(v)) { v_release(c->h, res); res = v_retain(v); }
  else AS_MAP(res)->h.label = lab;
  *out = res;
  return true;
}

/* The entry of map or record v named fname, or NULL. */
static Value *field_of(Value v, const ObjString *fname) {
  return v_is(v, OBJ_MAP) ? map_get_cstr(AS_MAP(v), fname->data, fname->len) : record_get(AS_RECORD(v), fname);
}

/* A record of descriptor d from a map or record: every declared field must
 * be present (optional ones may be missing: none), and no other field may
 * be (a model must not invent fields). The check looks each declared field
 * up once and marks the entry it finds; an entry left unmarked is one the
 * type does not have (a scan of the fields per entry would be quadratic in
 * the record's width, which a module or a reply chooses). */
static bool conv_record(Conv *c, const TypeDesc *d, Value v, int depth, Value *out) {
  if (dup_key(c, v, true)) return false;
  bool is_map = v_is(v, OBJ_MAP);
  uint32_t n = is_map ? AS_MAP(v)->n : AS_RECORD(v)->shape->n;
  const Value *vals = is_map ? AS_MAP(v)->vals : AS_RECORD(v)->vals;
  uint8_t *declared = xcalloc(n ? n : 1, 1);
  for (uint32_t j = 0; j < d->n; j++) {
    const ObjString *fname = const_str(c->m, d->fields[j].name);
    const Value *src = fname ? field_of(v, fname) : NULL;
    if (src) declared[src - vals] = 1;
  }
  for (uint32_t i = 0; i < n; i++) {
    ObjString *k = is_map ? AS_MAP(v)->keys[i] : AS_RECORD(v)->shape->names[i];
    if (!k || declared[i]) continue;
    free(declared);
    Buf q;
    buf_init(&q);
    buf_json_string(&q, k->data, k->len);
    conv_fail(c, "unexpected field %s", q.data);
    buf_free(&q);
    return false;
  }
  free(declared);
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
    Value *src = field_of(v, fname); /* the shape is the descriptor's: field j is slot j */
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
    v_release(c->h, AS_RECORD(res)->vals[j]);
    AS_RECORD(res)->vals[j] = x;
    AS_RECORD(res)->h.label = label_join(AS_RECORD(res)->h.label, v_label(x));
  }
  *out = res;
  return true;
}

static bool conv_value(Conv *c, uint32_t td, Value v, int depth, Value *out);

/* A tagged union from a map or record: its "type" names the variant, and
 * the whole object is then converted as that variant's record (which
 * checks the tag field again, and refuses fields the variant lacks). */
static bool conv_tagged(Conv *c, uint32_t td, const TypeDesc *d, Value v, int depth, Value *out) {
  if (!v_is(v, OBJ_MAP) && !v_is(v, OBJ_RECORD)) return mismatch(c, td, v);
  if (d->n == 0) return mismatch(c, td, v);
  const ObjString *key = const_str(c->m, c->m->types[d->members[0]].fields[0].name);
  const Value *tag = key ? field_of(v, key) : NULL;
  if (tag && v_is(*tag, OBJ_STRING))
    for (uint32_t i = 0; i < d->n; i++) {
      const ObjString *t = module_variant_tag(c->m, d->members[i]);
      if (t && str_eq(t, AS_STRING(*tag))) return conv(c, d->members[i], v, depth + 1, out);
    }
  put_path(c);
  if (!tag) {
    buf_puts(c->err, ": missing field \"type\" (the variant: ");
    put_tags(c->err, c->m, d);
    buf_puts(c->err, ")");
  } else {
    buf_puts(c->err, ".type: expected a variant of ");
    type_desc_print(c->err, c->m, td);
    buf_puts(c->err, " (");
    put_tags(c->err, c->m, d);
    buf_puts(c->err, "), got ");
    preview(c->err, *tag);
  }
  return false;
}

static bool conv(Conv *c, uint32_t td, Value v, int depth, Value *out) {
  bool shared = v.tag == V_OBJ && v.as.o->rc > 1 &&
                (v.as.o->kind == OBJ_LIST || v.as.o->kind == OBJ_MAP || v.as.o->kind == OBJ_RECORD);
  Label outer = c->inh;
  c->inh = label_join(outer, v_label(v));
  /* one shared object converts differently below a labelled container */
  uint32_t key = td | (c->inh ? 0x80000000u : 0);
  if (shared && c->seen_cap) {
    ConvSeen *s = seen_slot(c, v.as.o, key);
    if (s->obj) {
      *out = v_retain(s->out);
      c->inh = outer;
      return true;
    }
  }
  bool ok = conv_value(c, td, v, depth, out);
  c->inh = outer;
  if (!ok) return false;
  if (shared) seen_put(c, v.as.o, key, *out);
  return true;
}

static bool conv_value(Conv *c, uint32_t td, Value v, int depth, Value *out) {
  if (td >= c->m->ntypes) return conv_fail(c, "%s", "malformed type descriptor");
  if (depth > VALUE_MAX_DEPTH) return conv_fail(c, "%s", "value nested too deeply");
  const TypeDesc *d = &c->m->types[td];
  switch ((TypeDescKind)d->kind) {
  /* Declassification (docs/security.md, "Untrusted content: propagation"):
   * a value of a closed type comes out unlabelled; free text (string,
   * json, a map's keys) keeps its label and the containers'. */
  case TD_JSON: *out = v_with_label(c->h, v_retain(v), c->inh); return true;
  case TD_INT:
    if (v.tag != V_INT) return mismatch(c, td, v);
    *out = v;
    out->label = LABEL_NONE;
    return true;
  case TD_FLOAT:
    if (v.tag == V_INT) { *out = v_float((double)v.as.i); return true; }
    if (v.tag != V_FLOAT) return mismatch(c, td, v);
    *out = v;
    out->label = LABEL_NONE;
    return true;
  case TD_BOOL:
    if (v.tag != V_BOOL) return mismatch(c, td, v);
    *out = v;
    out->label = LABEL_NONE;
    return true;
  case TD_STRING:
    if (!v_is(v, OBJ_STRING)) return mismatch(c, td, v);
    *out = v_with_label(c->h, v_retain(v), c->inh);
    return true;
  case TD_DURATION: {
    int64_t ms;
    if (v.tag == V_DURATION) { *out = v; out->label = LABEL_NONE; return true; }
    if (v_is(v, OBJ_STRING) && duration_parse(AS_STRING(v)->data, AS_STRING(v)->len, &ms)) {
      *out = v_duration(ms);
      return true;
    }
    return mismatch(c, td, v);
  }
  case TD_NONE:
    if (v.tag != V_NONE) return mismatch(c, td, v);
    *out = v_none();
    return true;
  case TD_FUNC:
    if (!v_is(v, OBJ_FUNC)) return mismatch(c, td, v);
    *out = v_retain(v);
    return true;
  case TD_OPTIONAL:
    if (v.tag == V_NONE) { *out = v_none(); return true; }
    return conv(c, d->elem, v, depth + 1, out);
  case TD_ENUM:
    if (v_is(v, OBJ_STRING)) {
      for (uint32_t i = 0; i < d->n; i++) {
        const ObjString *s = const_str(c->m, d->members[i]);
        if (s && str_eq(s, AS_STRING(v))) {
          /* one of the literals: a clean copy when it came labelled */
          *out = v_label(v) ? v_string(c->h, s->data, s->len) : v_retain(v);
          return true;
        }
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
  case TD_TAGGED:
    return conv_tagged(c, td, d, v, depth, out);
  case TD_RANGE: {
    /* the base first (a list's items are converted, a float may come as an
     * int), then the bound on what came out */
    if (!conv(c, d->elem, v, depth + 1, out)) return false;
    if (range_holds(c->m, d, *out)) return true;
    put_path(c);
    buf_puts(c->err, ": expected ");
    type_desc_print(c->err, c->m, d->elem);
    buf_putc(c->err, ' ');
    range_words(c->err, c->m, d);
    buf_puts(c->err, ", got ");
    if (range_of_length(c->m, d)) buf_printf(c->err, "%.0f", range_measure(*out));
    else preview(c->err, *out);
    v_release(c->h, *out);
    *out = v_none();
    return false;
  }
  case TD__COUNT: break;
  }
  return conv_fail(c, "%s", "malformed type descriptor");
}

bool v_convert(Heap *h, const Module *m, uint32_t td, Value v, Value *out, char **err) {
  Buf msg;
  buf_init(&msg);
  Conv c = {h, m, &msg, {NULL, 0, 0}, NULL, 0, 0, LABEL_NONE};
  bool ok = conv(&c, td, v, 0, out);
  buf_free(&c.path);
  seen_free(&c);
  if (!ok) return buf_fail(&msg, err);
  return true;
}
