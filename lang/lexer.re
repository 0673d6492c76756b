/* lexer.re — the Weft lexer (re2c). Generate lexer.c with
 *   re2c -W --no-generation-date -o lexer.c lexer.re
 *
 * Reentrant: all state lives in the Lexer inside the ParseCtx. The text is
 * NUL-terminated (Source.text), so the scanner needs no fill checks; a NUL
 * before the real end is an invalid character, not the end.
 *
 * Beyond splitting tokens the lexer
 *   - keeps a stack of open delimiters, which tells it whether a newline
 *     ends a statement (never inside ( ) [ ] or an interpolation), which
 *     '}' ends an interpolation, and what is unclosed at the end of file;
 *   - decides which of three '{' tokens to emit (block, record, map);
 *   - decodes strings, splitting interpolated ones into pieces;
 *   - collects `///` doc comments and hands them to the next token;
 *   - reports text direction controls wherever they stand (bidi_char). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"
#include "../base/term.h"
#include "../base/util.h"

/*!re2c
  re2c:define:YYCTYPE = "unsigned char";
  re2c:define:YYCURSOR = "lx->cur";
  re2c:define:YYMARKER = "lx->mar";
  re2c:yyfill:enable = 0;
  re2c:sentinel = 0;

  id  = [A-Za-z_][A-Za-z0-9_]*;
  dec = [0-9]+ ("_" [0-9]+)*;
  hex = "0" [xX] [0-9a-fA-F]+ ("_" [0-9a-fA-F]+)*;
  exp = [eE] [+-]? [0-9]+;
  flt = dec "." [0-9]+ ("_" [0-9]+)* exp? | dec exp;
*/

/* ---- small helpers -------------------------------------------------- */

static Span span_at(ParseCtx *pc, const unsigned char *a, const unsigned char *b) {
  Span s = {pc->file, (uint32_t)(a - pc->lx.base), (uint32_t)(b - pc->lx.base)};
  return s;
}

static bool is_id_char(unsigned c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_';
}

static void buf_put(Lexer *lx, const void *p, size_t n) {
  if (lx->blen + n + 1 > lx->bcap) {
    while (lx->blen + n + 1 > lx->bcap) lx->bcap = lx->bcap ? lx->bcap * 2 : 256;
    lx->buf = xrealloc(lx->buf, lx->bcap);
  }
  memcpy(lx->buf + lx->blen, p, n);
  lx->blen += n;
}

static void buf_byte(Lexer *lx, unsigned c) {
  unsigned char b = (unsigned char)c;
  buf_put(lx, &b, 1);
}

static void buf_utf8(Lexer *lx, uint32_t cp) {
  unsigned char b[4];
  size_t n;
  if (cp < 0x80) b[0] = (unsigned char)cp, n = 1;
  else if (cp < 0x800) {
    b[0] = (unsigned char)(0xC0 | (cp >> 6));
    b[1] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (unsigned char)(0xE0 | (cp >> 12));
    b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    b[0] = (unsigned char)(0xF0 | (cp >> 18));
    b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  buf_put(lx, b, n);
}

/* A character for a message: itself when printable ASCII, else \xNN. */
static const char *show_byte(unsigned c, char *buf, size_t size) {
  if (c > 0x20 && c < 0x7f) snprintf(buf, size, "%c", c);
  else snprintf(buf, size, "\\x%02X", c);
  return buf;
}

/* A text direction control at p (base/term.h, utf8_bidi_len) reorders how the
 * text around it is shown, so code can read differently from how it runs
 * (Trojan Source, CVE-2021-42574). Like rustc, Weft refuses it anywhere
 * in source: in a string, where an escape keeps it if it is meant to be
 * there, in a comment and in code. Returns its length, 0 when p holds
 * none. */
static size_t bidi_char(ParseCtx *pc, const unsigned char *p, const char *where) {
  size_t k = utf8_bidi_len(p, (size_t)(pc->lx.lim - p));
  if (!k) return 0;
  unsigned cp = k == 2 ? (p[0] & 0x1Fu) << 6 | (p[1] & 0x3Fu)
                       : (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
  char help[160];
  if (strcmp(where, "a string") == 0)
    snprintf(help, sizeof help,
             "remove it; if it is meant to be in the string, write it as the escape \\u{%X}", cp);
  else if (strcmp(where, "a comment") == 0)
    snprintf(help, sizeof help,
             "remove it; a comment cannot escape it, a string can: \"\\u{%X}\"", cp);
  else
    snprintf(help, sizeof help, "remove it; in a string, write it as the escape \\u{%X}", cp);
  diag_add(pc->diags, D_E0010, span_at(pc, p, p + k), help,
           "text direction control character U+%04X in %s", cp, where);
  return k;
}

/* ---- setup ------------------------------------------------------------ */

/* Reports each run of bytes that is not UTF-8 once (E0007). Later stages
 * skip such bytes silently (outside strings) or replace them by U+FFFD
 * (inside strings). */
static void check_utf8(ParseCtx *pc) {
  const char *t = pc->src->text;
  size_t n = pc->src->len;
  for (size_t i = 0; i < n;) {
    if ((unsigned char)t[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = src_utf8_len(t + i, n - i);
    if (k) {
      i += k;
      continue;
    }
    size_t j = i + 1;
    while (j < n && (unsigned char)t[j] >= 0x80 && src_utf8_len(t + j, n - j) == 0) j++;
    Span sp = {pc->file, (uint32_t)i, (uint32_t)j};
    diag_add(pc->diags, D_E0007, sp, "Weft source files must be encoded as UTF-8",
             "invalid UTF-8 byte%s in source", j - i > 1 ? "s" : "");
    i = j;
  }
}

void lex_init(ParseCtx *pc) {
  Lexer *lx = &pc->lx;
  memset(lx, 0, sizeof *lx);
  lx->base = (const unsigned char *)pc->src->text;
  lx->lim = lx->base + pc->src->len;
  lx->cur = lx->base;
  lx->last = T_NEWLINE; /* the start of the file is like a fresh line */
  check_utf8(pc);
}

void lex_free(ParseCtx *pc) {
  Lexer *lx = &pc->lx;
  free(lx->stack);
  free(lx->doc);
  free(lx->buf);
  free(lx->marks);
  lx->stack = NULL;
  lx->doc = lx->buf = NULL;
  lx->marks = NULL;
}

/* ---- delimiters ------------------------------------------------------- */

static int stop(ParseCtx *pc, Loc *loc) {
  Lexer *lx = &pc->lx;
  lx->done = true;
  lx->tok_role = 0;
  lx->tok_level = lx->depth;
  loc->start = loc->end = (uint32_t)(lx->cur - lx->base);
  loc->doc = NULL;
  return T_END;
}

/* Pushes an opener; false (after E0103) when nesting is too deep. */
static bool push(ParseCtx *pc, DelimKind kind, bool triple, const unsigned char *open) {
  Lexer *lx = &pc->lx;
  if (lx->depth >= LEX_MAX_NESTING) {
    if (!pc->deep_reported)
      diag_add(pc->diags, D_E0103, span_at(pc, open, open + 1),
               "split the expression into smaller parts",
               "brackets nested too deeply (limit %d)", LEX_MAX_NESTING);
    pc->deep_reported = true;
    pc->eof_reported = true; /* the parser must not complain about the cut */
    return false;
  }
  if (lx->depth == lx->cap) {
    lx->cap = lx->cap ? lx->cap * 2 : 32;
    lx->stack = xrealloc(lx->stack, lx->cap * sizeof *lx->stack);
  }
  Delim d = {(uint8_t)kind, triple, (uint32_t)(open - lx->base)};
  lx->stack[lx->depth++] = d;
  return true;
}

static int top_kind(const Lexer *lx) {
  return lx->depth ? lx->stack[lx->depth - 1].kind : -1;
}

/* ---- token emission --------------------------------------------------- */

/* Finishes a token spanning [tok, cur): location, doc comment, and what it
 * did to the nesting (role: 1 opened, -1 closed a group). */
static int emit(ParseCtx *pc, int kind, Loc *loc, int role) {
  Lexer *lx = &pc->lx;
  loc->start = (uint32_t)(lx->tok - lx->base);
  loc->end = (uint32_t)(lx->cur - lx->base);
  loc->doc = NULL;
  if (kind != T_NEWLINE && lx->has_doc) {
    loc->doc = arena_strndup(pc->arena, lx->doc, lx->doc_len);
    lx->has_doc = false;
    lx->doc_len = 0;
  }
  lx->inserting = false;
  lx->tok_role = role;
  lx->tok_level = role == 1 ? lx->depth - 1 : lx->depth;
  lx->last = kind;
  lx->last_tok = lx->tok;
  return kind;
}

/* Tokens after which a newline ends the statement. `role` is one because
 * it is also a type name, which may end a line: `ask r "p" -> role`. */
static bool ends_statement(int kind) {
  switch (kind) {
  case T_IDENT: case T_INT: case T_FLOAT: case T_DURATION: case T_PERCENT:
  case T_STRING: case T_STR_TAIL: case T_RPAREN: case T_RBRACKET: case T_RBRACE:
  case T_TRUE: case T_FALSE: case T_NONE: case T_BREAK: case T_CONTINUE:
  case T_RETURN: case T_QUESTION: case T_ROLE:
    return true;
  default:
    return false;
  }
}

/* Skips spaces, newlines and comments (for look-ahead only). */
static const unsigned char *skip_trivia(const unsigned char *p) {
  for (;;) {
    if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    else if (p[0] == '/' && p[1] == '/') {
      while (*p && *p != '\n') p++;
    } else if (p[0] == '/' && p[1] == '*') {
      p += 2;
      while (*p && !(p[0] == '*' && p[1] == '/')) p++;
      if (*p) p += 2;
    } else
      return p;
  }
}

static bool word_at(const unsigned char *p, const char *w) {
  size_t n = strlen(w);
  return strncmp((const char *)p, w, n) == 0 && !is_id_char(p[n]); /* stops at the NUL */
}

/* Whether the newline just read ends a statement (then it is a token). */
static bool newline_is_token(ParseCtx *pc) {
  Lexer *lx = &pc->lx;
  int top = top_kind(lx);
  if (top == DL_PAREN || top == DL_BRACKET || top == DL_INTERP) return false;
  if (!ends_statement(lx->last)) return false;
  if (lx->last == T_RBRACE) {
    /* `}` newline `else` (or `until`, after a loop body): Go's rule, with a
     * message that says how to fix */
    const unsigned char *p = skip_trivia(lx->cur);
    const char *w = word_at(p, "else") ? "else" : word_at(p, "until") ? "until" : NULL;
    if (w) {
      diag_add(pc->diags, D_E0101, span_at(pc, p, p + strlen(w)),
               w[0] == 'e' ? "put it on the same line as the closing '}': '} else {'"
                           : "put it on the same line as the closing '}': '} until cond'",
               "'%s' must follow the closing '}' on the same line", w);
      return false; /* and parse on as if it did */
    }
  }
  return true;
}

/* ---- comments --------------------------------------------------------- */

/* A NUL inside a comment or string: invalid unless it ends the text. */
static void nul_char(ParseCtx *pc, const unsigned char *p) {
  diag_add(pc->diags, D_E0001, span_at(pc, p, p + 1), NULL, "invalid character (NUL byte)");
}

/* Skips to the end of a line comment (not the newline). */
static void line_comment(ParseCtx *pc) {
  Lexer *lx = &pc->lx;
  const unsigned char *p = lx->cur;
  for (;;) {
    if (*p == '\n' || (p == lx->lim)) break;
    if (*p == 0) {
      nul_char(pc, p);
      while (*p == 0 && p != lx->lim) p++;
      continue;
    }
    if (*p >= 0x80) {
      size_t k = bidi_char(pc, p, "a comment");
      if (k) {
        p += k;
        continue;
      }
    }
    p++;
  }
  lx->cur = p;
}

/* `///` text: one leading space dropped, lines joined with '\n'. */
static void doc_comment(ParseCtx *pc) {
  Lexer *lx = &pc->lx;
  const unsigned char *start = lx->cur;
  line_comment(pc);
  const unsigned char *s = start, *e = lx->cur;
  if (s < e && *s == ' ') s++;
  while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
  size_t n = (size_t)(e - s), need = lx->doc_len + n + 2;
  if (need > lx->doc_cap) {
    while (need > lx->doc_cap) lx->doc_cap = lx->doc_cap ? lx->doc_cap * 2 : 128;
    lx->doc = xrealloc(lx->doc, lx->doc_cap);
  }
  if (lx->has_doc) lx->doc[lx->doc_len++] = '\n';
  memcpy(lx->doc + lx->doc_len, s, n);
  lx->doc_len += n;
  lx->has_doc = true;
}

static void block_comment(ParseCtx *pc) {
  Lexer *lx = &pc->lx;
  const unsigned char *p = lx->cur;
  for (;;) {
    if (p == lx->lim) {
      diag_add(pc->diags, D_E0006, span_at(pc, lx->tok, lx->tok + 2),
               "close the comment with '*/'", "unterminated block comment");
      break;
    }
    if (p[0] == '*' && p[1] == '/') {
      p += 2;
      break;
    }
    if (*p == 0) {
      nul_char(pc, p);
      while (*p == 0 && p != lx->lim) p++;
      continue;
    }
    if (*p >= 0x80) {
      size_t k = bidi_char(pc, p, "a comment");
      if (k) {
        p += k;
        continue;
      }
    }
    p++;
  }
  lx->cur = p;
}

/* ---- numbers ---------------------------------------------------------- */

enum { NUM_DEC, NUM_HEX, NUM_FLOAT };

static Node *lit_node(ParseCtx *pc, NodeKind k) {
  Lexer *lx = &pc->lx;
  return ast_new(pc->arena, k, span_at(pc, lx->tok, lx->cur));
}

/* Value of a decimal or hex literal; false on int64 overflow. */
static bool int_value(const unsigned char *s, const unsigned char *e, int base,
                      int64_t *out) {
  uint64_t v = 0;
  for (const unsigned char *p = s; p < e; p++) {
    unsigned c = *p, d;
    if (c == '_') continue;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else continue;
    if (v > ((uint64_t)INT64_MAX - d) / (uint64_t)base) return false;
    v = v * (uint64_t)base + d;
  }
  *out = (int64_t)v;
  return true;
}

/* After a number: a duration unit, a percent sign, or junk glued to it. */
static int number(ParseCtx *pc, WPSTYPE *val, Loc *loc, int kind) {
  Lexer *lx = &pc->lx;
  const unsigned char *s = lx->tok, *e = lx->cur;

  if (is_id_char(*e)) {
    const unsigned char *q = e;
    while (is_id_char(*q)) q++;
    size_t sl = (size_t)(q - e);
    int64_t unit = 0;
    if (sl == 2 && e[0] == 'm' && e[1] == 's') unit = 1;
    else if (sl == 1 && *e == 's') unit = 1000;
    else if (sl == 1 && *e == 'm') unit = 60 * 1000;
    else if (sl == 1 && *e == 'h') unit = 60 * 60 * 1000;
    lx->cur = q;
    if (unit && kind == NUM_DEC) {
      int64_t v;
      Node *n = lit_node(pc, N_DURATION);
      if (!int_value(s, e, 10, &v) || v > INT64_MAX / unit)
        diag_add(pc->diags, D_E0009, n->span, NULL, "duration literal too large");
      else
        n->u.lit.i = v * unit;
      val->node = n;
      return emit(pc, T_DURATION, loc, 0);
    }
    Node *n = lit_node(pc, unit ? N_DURATION : N_INT);
    size_t len = (size_t)(q - s);
    if (unit)
      diag_add(pc->diags, D_E0009, n->span,
               "write the duration in a smaller unit, e.g. 1500ms instead of 1.5s",
               "a duration must be a whole number");
    else
      diag_add(pc->diags, D_E0004, n->span,
               *e == '_' || e[-1] == '_'
                   ? "'_' may only stand between two digits"
                   : "durations take ms, s, m or h; separate a number from a name with a space",
               "invalid number literal '%.*s%s'", (int)(len > 32 ? 32 : len), (const char *)s,
               len > 32 ? "..." : "");
    val->node = n;
    return emit(pc, unit ? T_DURATION : T_INT, loc, 0);
  }

  /* `10%` is a percentage unless an operand follows (then `%` is the
   * remainder operator): `10%)` and `10% ,` are percentages, `10%3` and
   * `10 % x` are not. Right after the word `tolerate` it is always a
   * percentage, so that another barrier modifier may follow it
   * (`tolerate 20% timeout 1s`): a remainder there would make no sense. */
  bool percent = false;
  if (*e == '%' && kind != NUM_HEX) {
    const unsigned char *q = e + 1;
    while (*q == ' ' || *q == '\t') q++;
    percent = !(is_id_char(*q) || *q == '(' || *q == '"' || *q == '[') ||
              (lx->last == T_IDENT && word_at(lx->last_tok, "tolerate"));
  }

  /* digits without '_' for strtod; ints are converted digit by digit */
  Node *n;
  if (kind == NUM_FLOAT || percent) {
    lx->blen = 0;
    for (const unsigned char *p = s; p < e; p++)
      if (*p != '_') buf_byte(lx, *p);
    buf_byte(lx, 0);
    double d = strtod(lx->buf, NULL);
    if (percent) lx->cur = e + 1;
    n = lit_node(pc, percent ? N_PERCENT : N_FLOAT);
    if (isinf(d)) {
      diag_add(pc->diags, D_E0004, n->span, NULL, "number literal out of range");
      d = 0;
    }
    n->u.lit.f = d;
    val->node = n;
    return emit(pc, percent ? T_PERCENT : T_FLOAT, loc, 0);
  }
  n = lit_node(pc, N_INT);
  int64_t v = 0;
  if (!int_value(kind == NUM_HEX ? s + 2 : s, e, kind == NUM_HEX ? 16 : 10, &v)) {
    diag_add(pc->diags, D_E0005, n->span,
             "integers are 64-bit: the largest is 9223372036854775807",
             "integer literal too large");
    v = 0;
  }
  n->u.lit.i = v;
  val->node = n;
  return emit(pc, T_INT, loc, 0);
}

/* ---- strings ---------------------------------------------------------- */

enum { BODY_END, BODY_INTERP };

static void add_mark(Lexer *lx, const unsigned char *p) {
  uint32_t ws = 0;
  while (p[ws] == ' ' || p[ws] == '\t') ws++;
  const unsigned char *q = p + ws;
  uint8_t kind = MARK_TEXT;
  if (*q == '\n' || (q[0] == '\r' && q[1] == '\n')) kind = MARK_BLANK;
  else if (q[0] == '"' && q[1] == '"' && q[2] == '"') kind = MARK_CLOSE;
  if (lx->nmarks == lx->mcap) {
    lx->mcap = lx->mcap ? lx->mcap * 2 : 16;
    lx->marks = xrealloc(lx->marks, lx->mcap * sizeof *lx->marks);
  }
  StrMark m = {(uint32_t)lx->blen, ws, kind};
  lx->marks[lx->nmarks++] = m;
}

/* One escape sequence at p ('\\'); returns where scanning continues. */
static const unsigned char *escape(ParseCtx *pc, const unsigned char *p) {
  Lexer *lx = &pc->lx;
  switch (p[1]) {
  case 'n': buf_byte(lx, '\n'); return p + 2;
  case 't': buf_byte(lx, '\t'); return p + 2;
  case 'r': buf_byte(lx, '\r'); return p + 2;
  case '0': buf_byte(lx, 0); return p + 2;
  case '\\': case '"': case '{': case '}': buf_byte(lx, p[1]); return p + 2;
  case 'u': {
    const unsigned char *q = p + 2;
    uint32_t cp = 0;
    int nd = 0;
    if (*q == '{') {
      q++;
      while (is_id_char(*q) && nd <= 6) {
        unsigned c = *q, d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else break;
        cp = cp * 16 + d;
        nd++;
        q++;
      }
      if (*q == '}' && nd >= 1 && nd <= 6 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
        buf_utf8(lx, cp);
        return q + 1;
      }
      if (*q == '}') q++;
    }
    diag_add(pc->diags, D_E0003, span_at(pc, p, q),
             "write a code point as \\u{1F600}: 1 to 6 hex digits, at most 10FFFF, "
             "not a surrogate",
             "invalid unicode escape");
    return q;
  }
  default: {
    char cb[8];
    if (p[1] == '\n' || p + 1 >= lx->lim || p[1] == 0) {
      diag_add(pc->diags, D_E0003, span_at(pc, p, p + 1), NULL,
               "invalid escape sequence: '\\' at the end of a line");
      return p + 1;
    }
    size_t k = p[1] < 0x80 ? 1 : src_utf8_len((const char *)p + 1, (size_t)(lx->lim - p - 1));
    if (k == 0) k = 1;
    diag_add(pc->diags, D_E0003, span_at(pc, p, p + 1 + k),
             "the escapes are \\n \\t \\r \\0 \\\\ \\\" \\{ \\} and \\u{...}",
             "invalid escape sequence '\\%s'",
             p[1] < 0x80 ? show_byte(p[1], cb, sizeof cb) : "...");
    return p + 1 + k;
  }
  }
}

/* Decodes string text from cur into buf up to the closing quote (BODY_END)
 * or an interpolation's '{' (BODY_INTERP). `open` is the opening quote,
 * where an unterminated string is reported. */
static int scan_body(ParseCtx *pc, bool triple, const unsigned char *open) {
  Lexer *lx = &pc->lx;
  const unsigned char *p = lx->cur;
  lx->blen = 0;
  lx->nmarks = 0;
  if (triple && open + 3 == p) { /* the newline right after """ is dropped */
    if (p[0] == '\n') p += 1, add_mark(lx, p);
    else if (p[0] == '\r' && p[1] == '\n') p += 2, add_mark(lx, p);
  }
  for (;;) {
    unsigned c = *p;
    if (p == lx->lim || (!triple && (c == '\n' || (c == '\r' && p[1] == '\n')))) {
      diag_add(pc->diags, D_E0002, span_at(pc, open, open + (triple ? 3 : 1)),
               triple ? "close it with '\"\"\"'"
                      : "close it with '\"' on the same line, or use \"\"\" for text "
                        "spanning lines",
               "unterminated string");
      if (p == lx->lim) pc->eof_reported = true; /* that explains the end */
      lx->cur = p;
      return BODY_END;
    }
    if (c == 0) {
      nul_char(pc, p);
      p++;
      continue;
    }
    if (c == '"') {
      /* """"" ends with the last three quotes */
      if (!triple) {
        lx->cur = p + 1;
        return BODY_END;
      }
      if (p[1] == '"' && p[2] == '"' && p[3] != '"') {
        lx->cur = p + 3;
        return BODY_END;
      }
      buf_byte(lx, c);
      p++;
      continue;
    }
    if (c == '\r' && p[1] == '\n') { /* CRLF in a triple string: LF */
      p++;
      continue;
    }
    if (c == '\n') {
      buf_byte(lx, '\n');
      p++;
      add_mark(lx, p);
      continue;
    }
    if (c == '\\') {
      p = escape(pc, p);
      continue;
    }
    if (c == '{') {
      if (p[1] == '{') {
        buf_byte(lx, '{');
        p += 2;
        continue;
      }
      lx->cur = p + 1;
      return BODY_INTERP;
    }
    if (c == '}') {
      if (p[1] == '}') {
        buf_byte(lx, '}');
        p += 2;
        continue;
      }
      diag_add(pc->diags, D_E0008, span_at(pc, p, p + 1),
               "write '}}' for a literal '}' in a string",
               "'}' without a matching '{' in a string");
      buf_byte(lx, '}');
      p++;
      continue;
    }
    if (c >= 0x80) {
      size_t k = src_utf8_len((const char *)p, (size_t)(lx->lim - p));
      if (k == 0) { /* reported by check_utf8 */
        buf_utf8(lx, 0xFFFD);
        p++;
      } else {
        bidi_char(pc, p, "a string");
        buf_put(lx, p, k);
        p += k;
      }
      continue;
    }
    buf_byte(lx, c);
    p++;
  }
}

/* The decoded piece as an N_STRING node; a triple-quoted piece carries its
 * line marks in `extra` until ps_string/ps_interp dedent it (parse.c). */
static Node *piece(ParseCtx *pc, bool triple) {
  Lexer *lx = &pc->lx;
  Node *n = lit_node(pc, N_STRING);
  n->u.lit.str = arena_strndup(pc->arena, lx->buf ? lx->buf : "", lx->blen);
  n->u.lit.len = lx->blen;
  if (triple) {
    StrMarks *m = arena_alloc(pc->arena, sizeof *m + lx->nmarks * sizeof(StrMark));
    m->n = lx->nmarks;
    if (lx->nmarks) memcpy(m->m, lx->marks, lx->nmarks * sizeof(StrMark));
    n->extra = m;
  }
  return n;
}

/* After an opening quote (tok..cur): STRING or STR_HEAD. */
static int string_start(ParseCtx *pc, WPSTYPE *val, Loc *loc, bool triple) {
  Lexer *lx = &pc->lx;
  const unsigned char *open = lx->tok;
  int r = scan_body(pc, triple, open);
  val->node = piece(pc, triple);
  if (r == BODY_END) return emit(pc, T_STRING, loc, 0);
  if (!push(pc, DL_INTERP, triple, open)) return stop(pc, loc);
  return emit(pc, T_STR_HEAD, loc, 1);
}

/* After the '}' that closes an interpolation (already popped). */
static int string_resume(ParseCtx *pc, WPSTYPE *val, Loc *loc, Delim d) {
  Lexer *lx = &pc->lx;
  int r = scan_body(pc, d.triple, lx->base + d.open);
  val->node = piece(pc, d.triple);
  if (r == BODY_END) return emit(pc, T_STR_TAIL, loc, -1);
  lx->depth++; /* the same interpolation entry, reopened */
  return emit(pc, T_STR_MID, loc, 0);
}

/* ---- brackets --------------------------------------------------------- */

/* '{': a record if `name :` follows, a map if `"key" :` or `:` follows,
 * otherwise a block. Only plain one-line strings are looked through. */
static int brace_kind(const unsigned char *p) {
  p = skip_trivia(p);
  if (*p == ':') return T_LBRACE_MAP;
  if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_') {
    while (is_id_char(*p)) p++;
    while (*p == ' ' || *p == '\t') p++;
    return *p == ':' ? T_LBRACE_REC : T_LBRACE;
  }
  if (*p == '"' && !(p[1] == '"' && p[2] == '"')) {
    p++;
    while (*p && *p != '"' && *p != '\n') {
      if (*p == '\\' && p[1] && p[1] != '\n') p++;
      p++;
    }
    if (*p != '"') return T_LBRACE;
    p++;
    while (*p == ' ' || *p == '\t') p++;
    return *p == ':' ? T_LBRACE_MAP : T_LBRACE;
  }
  return T_LBRACE;
}

/* A record brace right after a capitalised name opens a variant's fields
 * (`Search { query: "x" }`); after any other name it stays a record brace,
 * which is an error where a block was expected (`if ok { a: 1 }`). */
static int variant_brace(const Lexer *lx, int kind) {
  if (kind != T_LBRACE_REC || lx->last != T_IDENT || !lx->last_tok) return kind;
  unsigned char c = (unsigned char)lx->last_tok[0];
  return c >= 'A' && c <= 'Z' ? T_LBRACE_VARIANT : kind;
}

static int open_delim(ParseCtx *pc, Loc *loc, DelimKind k, int tok) {
  Lexer *lx = &pc->lx;
  if (!push(pc, k, false, lx->tok)) return stop(pc, loc);
  return emit(pc, tok, loc, 1);
}

/* A closer found while a '(' or '[' inside its group is still open: that
 * one is reported (E0102, once per run of such) and closed by an inserted
 * zero-width ')' or ']'; the real closer is read again afterwards. */
static int insert_closer(ParseCtx *pc, Loc *loc) {
  Lexer *lx = &pc->lx;
  Delim d = lx->stack[--lx->depth];
  if (!lx->inserting) {
    const unsigned char *o = lx->base + d.open;
    char c = (char)*lx->tok;
    diag_add(pc->diags, D_E0102, span_at(pc, o, o + 1),
             d.kind == DL_PAREN ? "add the matching ')'" : "add the matching ']'",
             "unclosed '%c' before '%c'", *o, c);
  }
  lx->cur = lx->tok;
  int r = emit(pc, d.kind == DL_PAREN ? T_RPAREN : T_RBRACKET, loc, -1);
  lx->inserting = true;
  return r;
}

/* ')' or ']': closes its opener on top; if the opener is further down,
 * under other parentheses or brackets, those get inserted closers first.
 * A closer with no opener (or one past a brace) is passed on unmatched
 * for the parser to report. */
static int close_paren(ParseCtx *pc, Loc *loc, DelimKind k, int tok) {
  Lexer *lx = &pc->lx;
  for (uint32_t i = lx->depth; i > 0; i--) {
    int dk = lx->stack[i - 1].kind;
    if (dk == (int)k) {
      if (i < lx->depth) return insert_closer(pc, loc);
      lx->depth--;
      return emit(pc, tok, loc, -1);
    }
    if (dk == DL_BRACE || dk == DL_INTERP) break;
  }
  return emit(pc, tok, loc, 0);
}

/* '}': ends the innermost brace or interpolation, after inserting closers
 * for parentheses and brackets left open inside it. */
static int close_brace(ParseCtx *pc, WPSTYPE *val, Loc *loc) {
  Lexer *lx = &pc->lx;
  for (uint32_t i = lx->depth; i > 0; i--) {
    Delim d = lx->stack[i - 1];
    if (d.kind == DL_BRACE || d.kind == DL_INTERP) {
      if (i < lx->depth) return insert_closer(pc, loc);
      lx->depth--;
      if (d.kind == DL_INTERP) return string_resume(pc, val, loc, d);
      return emit(pc, T_RBRACE, loc, -1);
    }
  }
  return emit(pc, T_RBRACE, loc, 0);
}

/* `fn name`, `type name`, `role name` or `import "` at the very start of a
 * line can only begin an item. If a bracket is still open there, the item
 * before lost its closing bracket: report the innermost one (E0102, once
 * per run) and insert closers until the top level is reached, so that one
 * missing '}' costs the item it is in, not every item after it. */
static int item_keyword(ParseCtx *pc, Loc *loc, int kind) {
  Lexer *lx = &pc->lx;
  if (lx->depth == 0 && lx->inserting) {
    /* after the inserted closers, a line end: its `sep` ends the parser's
     * error recovery, so the item is parsed, not dropped with the bad one */
    lx->cur = lx->tok;
    return emit(pc, T_NEWLINE, loc, 0);
  }
  if (lx->depth == 0 || (lx->tok != lx->base && lx->tok[-1] != '\n'))
    return emit(pc, kind, loc, 0);
  const unsigned char *p = lx->cur;
  if (*p != ' ' && *p != '\t') return emit(pc, kind, loc, 0);
  while (*p == ' ' || *p == '\t') p++;
  bool item = kind == T_IMPORT ? *p == '"' : (is_id_char(*p) && !(*p >= '0' && *p <= '9'));
  for (uint32_t i = 0; item && i < lx->depth; i++) item = lx->stack[i].kind != DL_INTERP;
  if (!item) return emit(pc, kind, loc, 0);
  Delim d = lx->stack[--lx->depth];
  static const char closers[] = {')', ']', '}'};
  if (!lx->inserting) {
    const unsigned char *o = lx->base + d.open;
    char help[80];
    snprintf(help, sizeof help, "add the matching '%c' before the next item", closers[d.kind]);
    diag_add(pc->diags, D_E0102, span_at(pc, o, o + 1), help, "unclosed '%c' before the next item",
             *o);
  }
  lx->cur = lx->tok;
  int r = emit(pc, d.kind == DL_PAREN ? T_RPAREN : d.kind == DL_BRACKET ? T_RBRACKET : T_RBRACE,
               loc, -1);
  loc->end = loc->start; /* zero-width */
  lx->inserting = true;
  return r;
}

/* A keyword right after '.' names a field (`reply.type`, `r.role`): it is
 * read as an identifier, so it is accepted there and ends a line like any
 * name does. Elsewhere keywords stay keywords. */
static int keyword(ParseCtx *pc, WPSTYPE *val, Loc *loc, int kind) {
  Lexer *lx = &pc->lx;
  if (lx->last == T_DOT) {
    val->str = arena_strndup(pc->arena, (const char *)lx->tok, (size_t)(lx->cur - lx->tok));
    return emit(pc, T_IDENT, loc, 0);
  }
  if (kind == T_FN || kind == T_TYPE || kind == T_ROLE || kind == T_IMPORT)
    return item_keyword(pc, loc, kind);
  return emit(pc, kind, loc, 0);
}

/* `generate` is a keyword only before blanks, `fn` and `(` (a lookahead
 * of bounded length on one line): elsewhere it is a name, as existing
 * programs use it (stdlib/patterns.weft has a parameter `generate`). */
static bool generate_follows(const unsigned char *p, const unsigned char *lim) {
  if (p == lim || (*p != ' ' && *p != '\t')) return false;
  while (p != lim && (*p == ' ' || *p == '\t')) p++;
  if (lim - p < 2 || p[0] != 'f' || p[1] != 'n') return false;
  p += 2;
  while (p != lim && (*p == ' ' || *p == '\t')) p++;
  return p != lim && *p == '(';
}

/* End of text: explain what is still open (innermost only). */
static int at_eof(ParseCtx *pc, Loc *loc) {
  Lexer *lx = &pc->lx;
  if (lx->depth && !pc->eof_reported) {
    Delim d = lx->stack[lx->depth - 1];
    const unsigned char *o = lx->base + d.open;
    uint32_t line, col;
    src_line_col(pc->src, d.open, &line, &col);
    if (line == pc->last_err_line)
      ; /* a syntax error on the opener's line already explains it */
    else if (d.kind == DL_INTERP)
      diag_add(pc->diags, D_E0002, span_at(pc, o, o + (d.triple ? 3 : 1)),
               "an interpolation '{' in this string is not closed; write '{{' for a "
               "literal brace",
               "unterminated string");
    else {
      static const char *const closers[] = {")", "]", "}"};
      diag_add(pc->diags, D_E0102, span_at(pc, o, o + 1),
               d.kind == DL_PAREN ? "add the matching ')'"
               : d.kind == DL_BRACKET ? "add the matching ']'"
                                      : "add the matching '}'",
               "unclosed '%c' (expected '%s' before the end of the file)", *o,
               closers[d.kind]);
    }
    pc->eof_reported = true;
  }
  return stop(pc, loc);
}

/* ---- the scanner ------------------------------------------------------ */

int lex_next(ParseCtx *pc, WPSTYPE *val, Loc *loc) {
  Lexer *lx = &pc->lx;
  if (lx->done) return stop(pc, loc);
  for (;;) {
    lx->tok = lx->cur;
    char cb[8];
    /*!re2c
      "\x00" {
        if (lx->tok == lx->lim) return at_eof(pc, loc);
        nul_char(pc, lx->tok);
        while (*lx->cur == 0 && lx->cur != lx->lim) lx->cur++;
        continue;
      }
      [ \t\r\v\f]+ { continue; }
      "\n" {
        if (newline_is_token(pc)) return emit(pc, T_NEWLINE, loc, 0);
        continue;
      }
      "////" { line_comment(pc); continue; }
      "///" { doc_comment(pc); continue; }
      "//" { line_comment(pc); continue; }
      "/*" { block_comment(pc); continue; }

      "fn"       { return keyword(pc, val, loc, T_FN); }
      "let"      { return keyword(pc, val, loc, T_LET); }
      "var"      { return keyword(pc, val, loc, T_VAR); }
      "type"     { return keyword(pc, val, loc, T_TYPE); }
      "role"     { return keyword(pc, val, loc, T_ROLE); }
      "import"   { return keyword(pc, val, loc, T_IMPORT); }
      "as"       { return keyword(pc, val, loc, T_AS); }
      "if"       { return keyword(pc, val, loc, T_IF); }
      "else"     { return keyword(pc, val, loc, T_ELSE); }
      "match"    { return keyword(pc, val, loc, T_MATCH); }
      "for"      { return keyword(pc, val, loc, T_FOR); }
      "in"       { return keyword(pc, val, loc, T_IN); }
      "break"    { return keyword(pc, val, loc, T_BREAK); }
      "continue" { return keyword(pc, val, loc, T_CONTINUE); }
      "return"   { return keyword(pc, val, loc, T_RETURN); }
      "true"     { return keyword(pc, val, loc, T_TRUE); }
      "false"    { return keyword(pc, val, loc, T_FALSE); }
      "none"     { return keyword(pc, val, loc, T_NONE); }
      "and"      { return keyword(pc, val, loc, T_AND); }
      "or"       { return keyword(pc, val, loc, T_OR); }
      "not"      { return keyword(pc, val, loc, T_NOT); }
      "with"     { return keyword(pc, val, loc, T_WITH); }
      "ask"      { return keyword(pc, val, loc, T_ASK); }
      "fanout"   { return keyword(pc, val, loc, T_FANOUT); }
      "barrier"  { return keyword(pc, val, loc, T_BARRIER); }
      "verify"   { return keyword(pc, val, loc, T_VERIFY); }
      "tournament" { return keyword(pc, val, loc, T_TOURNAMENT); }
      "loop"     { return keyword(pc, val, loc, T_LOOP); }
      "until"    { return keyword(pc, val, loc, T_UNTIL); }
      "budget"   { return keyword(pc, val, loc, T_BUDGET); }
      "try"      { return keyword(pc, val, loc, T_TRY); }
      "generate" {
        if (lx->last != T_DOT && generate_follows(lx->cur, lx->lim)) return emit(pc, T_GENERATE, loc, 0);
        val->str = arena_strndup(pc->arena, (const char *)lx->tok, (size_t)(lx->cur - lx->tok));
        return emit(pc, T_IDENT, loc, 0);
      }

      id {
        val->str = arena_strndup(pc->arena, (const char *)lx->tok, (size_t)(lx->cur - lx->tok));
        return emit(pc, T_IDENT, loc, 0);
      }
      [A-Za-z0-9_]* [\x80-\xff] [A-Za-z0-9_\x80-\xff]* {
        /* a word with non-ASCII letters: one error, still a name. A text
         * direction control ends the word before it; one at its start is
         * reported and read as a blank. */
        size_t n = (size_t)(lx->cur - lx->tok), b = utf8_bidi_len(lx->tok, n);
        if (b) {
          bidi_char(pc, lx->tok, "code");
          lx->cur = lx->tok + b;
          continue;
        }
        bool valid = true, ascii = true;
        for (size_t i = 0; i < n;) {
          size_t k = src_utf8_len((const char *)lx->tok + i, n - i);
          if (!k) { valid = false; break; }
          if (utf8_bidi_len(lx->tok + i, n - i)) {
            lx->cur = lx->tok + i;
            n = i;
            break;
          }
          if (lx->tok[i] >= 0x80) ascii = false;
          i += k;
        }
        if (!valid) continue; /* not UTF-8: reported once by check_utf8 */
        if (!ascii)
          diag_add(pc->diags, D_E0001, span_at(pc, lx->tok, lx->cur),
                   "names are ASCII letters, digits and '_'; other text belongs in strings",
                   "invalid character in name '%.*s'", (int)(n > 40 ? 40 : n),
                   (const char *)lx->tok);
        val->str = arena_strndup(pc->arena, (const char *)lx->tok, n);
        return emit(pc, T_IDENT, loc, 0);
      }

      hex { return number(pc, val, loc, NUM_HEX); }
      flt { return number(pc, val, loc, NUM_FLOAT); }
      dec { return number(pc, val, loc, NUM_DEC); }

      "\"\"\"" { return string_start(pc, val, loc, true); }
      "\""     { return string_start(pc, val, loc, false); }

      "(" { return open_delim(pc, loc, DL_PAREN, T_LPAREN); }
      "[" { return open_delim(pc, loc, DL_BRACKET, T_LBRACKET); }
      "{" { return open_delim(pc, loc, DL_BRACE, variant_brace(lx, brace_kind(lx->cur))); }
      ")" { return close_paren(pc, loc, DL_PAREN, T_RPAREN); }
      "]" { return close_paren(pc, loc, DL_BRACKET, T_RBRACKET); }
      "}" { return close_brace(pc, val, loc); }

      "==" { return emit(pc, T_EQ, loc, 0); }
      "!=" { return emit(pc, T_NE, loc, 0); }
      "<=" { return emit(pc, T_LE, loc, 0); }
      ">=" { return emit(pc, T_GE, loc, 0); }
      "->" { return emit(pc, T_ARROW, loc, 0); }
      "=>" { return emit(pc, T_FATARROW, loc, 0); }
      "<"  { return emit(pc, T_LT, loc, 0); }
      ">"  { return emit(pc, T_GT, loc, 0); }
      "="  { return emit(pc, T_ASSIGN, loc, 0); }
      "+"  { return emit(pc, T_PLUS, loc, 0); }
      "-"  { return emit(pc, T_MINUS, loc, 0); }
      "*"  { return emit(pc, T_STAR, loc, 0); }
      "/"  { return emit(pc, T_SLASH, loc, 0); }
      "%"  { return emit(pc, T_PCT, loc, 0); }
      ","  { return emit(pc, T_COMMA, loc, 0); }
      ":"  { return emit(pc, T_COLON, loc, 0); }
      ";"  { return emit(pc, T_SEMI, loc, 0); }
      ".." { return emit(pc, T_DOTDOT, loc, 0); }
      "."  { return emit(pc, T_DOT, loc, 0); }
      "?"  { return emit(pc, T_QUESTION, loc, 0); }
      "|"  { return emit(pc, T_PIPE, loc, 0); }

      "&&" {
        diag_add(pc->diags, D_E0001, span_at(pc, lx->tok, lx->cur), "write 'and'",
                 "'&&' is not a Weft operator");
        return emit(pc, T_AND, loc, 0);
      }
      "||" {
        diag_add(pc->diags, D_E0001, span_at(pc, lx->tok, lx->cur), "write 'or'",
                 "'||' is not a Weft operator");
        return emit(pc, T_OR, loc, 0);
      }
      "!" {
        diag_add(pc->diags, D_E0001, span_at(pc, lx->tok, lx->cur), "write 'not'",
                 "'!' is not a Weft operator");
        return emit(pc, T_NOT, loc, 0);
      }

      * {
        /* A run of stray bytes (```, pasted binary) is one diagnostic whose
         * span grows, not one per byte. */
        Span here = span_at(pc, lx->tok, lx->cur);
        Diag *last = pc->diags->n ? &pc->diags->items[pc->diags->n - 1] : NULL;
        if (last && last->code == D_E0001 && !last->help && last->span.file == here.file &&
            last->span.end == here.start) {
          last->span.end = here.end;
          continue;
        }
        diag_add(pc->diags, D_E0001, here,
                 *lx->tok == '\\' && top_kind(lx) == DL_INTERP
                     ? "'{' in a string starts an interpolation, where escapes do not apply; "
                       "write a literal brace as '{{' and '}}' (or '\\{' and '\\}')"
                     : NULL,
                 "invalid character '%s'", show_byte(*lx->tok, cb, sizeof cb));
        continue;
      }
    */
  }
}
