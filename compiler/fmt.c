/* fmt.c — the canonical layout of Weft source (`weft fmt`).
 *
 * The formatter works on tokens, not on the tree: it changes only the
 * whitespace between tokens, never a token, so a formatted program compiles
 * to exactly what the original did (tests/fmt checks the bytecode of every
 * file). Every token stays on its line — line breaks and blank lines are
 * the author's; only blank lines at the end of the file go — so line
 * numbers in stack traces, in the bytecode and in the effect addresses a
 * journal keys its entries by are the same before and after. What it
 * decides:
 *
 *   - indentation: two spaces per level; a level is opened by a line that
 *     leaves a `(`, `[` or `{` open (several on one line open one level), and
 *     a line that starts by closing one goes back to that line's level; a
 *     line that continues an expression (the previous one ended in an
 *     operator, or this one starts with one) gets one more level;
 *   - spaces: one around binary operators, `=`, `=>`, `->`, `|`; one after
 *     `,`, `:` and `;`; none inside `(` `)` and `[` `]`; one inside `{ }` on
 *     one line; none before `,`, `:`, `.`, `?`, `)`, `]`; a unary `-` keeps
 *     its operand; a name before `(` or `[` keeps what the source had (a call
 *     `f(x)` against `by [a, b]`, which only the parser tells apart);
 *   - comments: trailing `//` comments of consecutive lines are aligned two
 *     spaces after the longest code among them; comment text is kept.
 *
 * Kept verbatim: strings (their interpolations included), the lines inside
 * a `"""` string or a block comment (their indentation is part of the text).
 * Work is linear in the input. */
#include "compiler.h"
#include "../base/util.h"

#include <stdlib.h>
#include <string.h>

typedef enum TokKind {
  TK_WORD,     /* identifier or keyword */
  TK_NUM,
  TK_STR,      /* a whole string literal, interpolations included */
  TK_OP,       /* operator or punctuation */
  TK_OPEN,     /* ( [ { */
  TK_CLOSE,    /* ) ] } */
  TK_COMMENT,  /* // ... (to the end of the line) */
  TK_BLOCK,    /* a block comment */
} TokKind;

typedef struct Tok {
  TokKind kind;
  uint32_t start, len;
  uint32_t nl_before;  /* line breaks between the previous token and this one */
  bool space_before;   /* whitespace (not a line break) right before it */
} Tok;

typedef struct Toks { Tok *v; uint32_t n, cap; } Toks;

static void push_tok(Toks *t, Tok k) {
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 256;
    t->v = xrealloc(t->v, t->cap * sizeof *t->v);
  }
  t->v[t->n++] = k;
}

static bool is_word_start(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_word(unsigned char c) { return is_word_start(c) || (c >= '0' && c <= '9'); }

/* The end of a string literal starting at s[i] (a `"` or `"""`): escapes,
 * `{{`, and interpolations, which may hold strings of their own. An
 * explicit stack of frames (a string, or the code of an interpolation with
 * its open braces), so deep nesting cannot exhaust the C stack; past its
 * depth the rest of the text is one token (the parser refused it anyway). */
static size_t skip_string(const char *s, size_t n, size_t i) {
  typedef struct { bool str, triple; uint32_t braces; } Frame;
  enum { MAX_FRAMES = 512 };
  Frame st[MAX_FRAMES];
  int top = 0;
  bool triple = n - i >= 3 && !memcmp(s + i, "\"\"\"", 3);
  st[0] = (Frame){ true, triple, 0 };
  i += triple ? 3 : 1;
  while (i < n) {
    Frame *fr = &st[top];
    if (fr->str) {
      if (s[i] == '\\') { i += 2; continue; }
      bool end = fr->triple ? n - i >= 3 && !memcmp(s + i, "\"\"\"", 3) : s[i] == '"';
      if (end) {
        i += fr->triple ? 3 : 1;
        if (fr->triple) while (i < n && s[i] == '"') i++; /* """"" ends with the last three */
        if (top-- == 0) return i;
        continue;
      }
      if (!fr->triple && s[i] == '\n') return i; /* unterminated */
      if (s[i] == '{' && i + 1 < n && s[i + 1] == '{') { i += 2; continue; }
      if (s[i] == '{') {
        if (top + 1 >= MAX_FRAMES) return n;
        st[++top] = (Frame){ false, false, 0 };
      }
      i++;
      continue;
    }
    if (s[i] == '"') {
      if (top + 1 >= MAX_FRAMES) return n;
      triple = n - i >= 3 && !memcmp(s + i, "\"\"\"", 3);
      st[++top] = (Frame){ true, triple, 0 };
      i += triple ? 3 : 1;
      continue;
    }
    if (s[i] == '{') fr->braces++;
    else if (s[i] == '}') {
      if (fr->braces) fr->braces--;
      else top--; /* back to the string */
    }
    i++;
  }
  return n;
}

static void lex(const char *s, size_t n, Toks *out) {
  size_t i = 0;
  uint32_t nl = 0;
  bool sp = false;
  static const char *const ops2[] = { "=>", "->", "==", "!=", "<=", ">=", "{:}" };
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\n') { nl++; sp = false; i++; continue; }
    if (c == ' ' || c == '\t' || c == '\r') { sp = true; i++; continue; }
    Tok t = { TK_OP, (uint32_t)i, 1, nl, sp && !nl };
    if (nl) t.space_before = false;
    if (c == '/' && i + 1 < n && s[i + 1] == '/') {
      size_t j = i;
      while (j < n && s[j] != '\n') j++;
      while (j > i && (s[j - 1] == ' ' || s[j - 1] == '\t' || s[j - 1] == '\r')) j--;
      t.kind = TK_COMMENT;
      t.len = (uint32_t)(j - i);
      i = j;
    } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      const char *e = NULL;
      for (size_t j = i + 2; j + 1 < n; j++)
        if (s[j] == '*' && s[j + 1] == '/') { e = s + j + 2; break; }
      size_t j = e ? (size_t)(e - s) : n;
      t.kind = TK_BLOCK;
      t.len = (uint32_t)(j - i);
      i = j;
    } else if (c == '"') {
      size_t j = skip_string(s, n, i);
      t.kind = TK_STR;
      t.len = (uint32_t)(j - i);
      i = j;
    } else if (is_word_start(c) || c >= 0x80) {
      size_t j = i;
      while (j < n && (is_word((unsigned char)s[j]) || (unsigned char)s[j] >= 0x80)) j++;
      t.kind = TK_WORD;
      t.len = (uint32_t)(j - i);
      i = j;
    } else if (c >= '0' && c <= '9') {
      size_t j = i;
      /* digits, '_', a fraction, an exponent, a duration's unit */
      while (j < n && (is_word((unsigned char)s[j]) ||
                       (s[j] == '.' && j + 1 < n && s[j + 1] >= '0' && s[j + 1] <= '9') ||
                       ((s[j] == '-' || s[j] == '+') && (s[j - 1] == 'e' || s[j - 1] == 'E') &&
                        j + 1 < n && s[j + 1] >= '0' && s[j + 1] <= '9')))
        j++;
      t.kind = TK_NUM;
      t.len = (uint32_t)(j - i);
      i = j;
    } else if (c == '(' || c == '[' || c == '{') {
      if (c == '{' && n - i >= 3 && !memcmp(s + i, "{:}", 3)) {
        t.len = 3;
        i += 3;
      } else {
        t.kind = TK_OPEN;
        i++;
      }
    } else if (c == ')' || c == ']' || c == '}') {
      t.kind = TK_CLOSE;
      i++;
    } else {
      for (size_t k = 0; k < sizeof ops2 / sizeof ops2[0]; k++) {
        size_t l = strlen(ops2[k]);
        if (n - i >= l && !memcmp(s + i, ops2[k], l)) {
          t.len = (uint32_t)l;
          break;
        }
      }
      i += t.len;
    }
    push_tok(out, t);
    nl = 0;
    sp = false;
  }
}

/* ---- layout ------------------------------------------------------------- */

typedef struct F {
  const char *s;
  Toks t;
  bool *map;  /* per token: a `{` or `}` of a map literal (no inner spaces) */
} F;

static bool tok_is(const F *f, const Tok *t, const char *text) {
  size_t l = strlen(text);
  return t->len == l && !memcmp(f->s + t->start, text, l);
}

/* A word right after '.' or right before ':' names a record field, even a
 * keyword (`reply.type`, `{ or: 1 }`): it spaces and ends lines as a name. */
static bool is_field_word(const F *f, const Tok *t) {
  uint32_t i = (uint32_t)(t - f->t.v);
  return (i > 0 && f->t.v[i - 1].kind == TK_OP && tok_is(f, &f->t.v[i - 1], ".")) ||
         (i + 1 < f->t.n && f->t.v[i + 1].kind == TK_OP && tok_is(f, &f->t.v[i + 1], ":"));
}

static bool is_keyword(const F *f, const Tok *t) {
  static const char *const kw[] = { "fn", "let", "var", "type", "role", "import", "as", "if", "else",
                                    "match", "for", "in", "break", "continue", "return", "true",
                                    "false", "none", "and", "or", "not", "with", "ask", "fanout",
                                    "barrier", "verify", "tournament", "loop", "until", "budget", "try" };
  if (t->kind != TK_WORD || is_field_word(f, t)) return false;
  for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
    if (tok_is(f, t, kw[i])) return true;
  return false;
}

/* Binary operators, spaced on both sides. */
static bool is_binop(const F *f, const Tok *t) {
  if (t->kind == TK_WORD)
    return (tok_is(f, t, "and") || tok_is(f, t, "or")) && !is_field_word(f, t);
  if (t->kind != TK_OP) return false;
  static const char *const ops[] = { "=>", "->", "==", "!=", "<=", ">=", "=", "+", "-", "*", "/",
                                     "%", "<", ">", "|" };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (tok_is(f, t, ops[i])) return true;
  return false;
}

/* Whether a `-` (or other prefix) at index i is unary: nothing before it
 * on its line that could end an operand. */
static bool is_prefix_position(const F *f, uint32_t i) {
  if (i == 0 || f->t.v[i].nl_before) return true;
  const Tok *p = &f->t.v[i - 1];
  if (p->kind == TK_OPEN || p->kind == TK_COMMENT || p->kind == TK_BLOCK) return true;
  if (p->kind == TK_OP) return !tok_is(f, p, "?") && !tok_is(f, p, "{:}");
  if (p->kind == TK_WORD && is_keyword(f, p))
    return !tok_is(f, p, "true") && !tok_is(f, p, "false") && !tok_is(f, p, "none");
  return false;
}

/* A `%` right after a number, with no space, is a percent (`20%`), not the
 * remainder: it stays attached. */
static bool is_percent(const F *f, uint32_t i) {
  const Tok *t = &f->t.v[i];
  return tok_is(f, t, "%") && i > 0 && f->t.v[i - 1].kind == TK_NUM && !t->space_before && !t->nl_before;
}

/* The spaces between tokens a (index i-1) and b (index i) on one line. */
static int gap(const F *f, uint32_t i) {
  const Tok *a = &f->t.v[i - 1], *b = &f->t.v[i];
  if (b->kind == TK_COMMENT) return 2;
  if (a->kind == TK_BLOCK || b->kind == TK_BLOCK) return 1;
  if (is_percent(f, i)) return 0;
  if (i >= 2 && is_percent(f, i - 1)) return 1;
  /* a unary minus sticks to its operand */
  if (a->kind == TK_OP && tok_is(f, a, "-") && is_prefix_position(f, i - 1)) return 0;
  if (b->kind == TK_OP && (tok_is(f, b, ",") || tok_is(f, b, ";") || tok_is(f, b, ":") ||
                           tok_is(f, b, ".") || tok_is(f, b, "?")))
    return 0;
  if (a->kind == TK_OP && tok_is(f, a, ".")) return 0;
  if (a->kind == TK_OP && (tok_is(f, a, ",") || tok_is(f, a, ";") || tok_is(f, a, ":"))) return 1;
  if (b->kind == TK_CLOSE) {
    if (tok_is(f, b, "}")) return (a->kind == TK_OPEN && tok_is(f, a, "{")) || f->map[i] ? 0 : 1;
    return 0;
  }
  if (a->kind == TK_OPEN) {
    if (tok_is(f, a, "{")) return b->kind == TK_CLOSE || f->map[i - 1] ? 0 : 1;
    return 0;
  }
  if (b->kind == TK_OPEN && (tok_is(f, b, "(") || tok_is(f, b, "["))) {
    if (a->kind == TK_WORD && tok_is(f, a, "fn")) return 0;
    if (a->kind == TK_WORD && is_keyword(f, a)) return 1;
    if (a->kind == TK_WORD) return b->space_before ? 1 : 0; /* `f(x)` or `by [a, b]`: as written */
    if (a->kind == TK_CLOSE || a->kind == TK_STR) return 0;
    if (a->kind == TK_OP && tok_is(f, a, "?")) return 0;
    return 1;
  }
  if (b->kind == TK_OPEN) return 1; /* `{` */
  if (is_binop(f, a) || is_binop(f, b)) {
    if (b->kind == TK_OP && tok_is(f, b, "-") && is_prefix_position(f, i)) return 1;
    return 1;
  }
  if (a->kind == TK_OP && tok_is(f, a, "?")) return 1;
  return 1;
}

/* An operator that makes the next line continue the expression. */
static bool continues(const F *f, const Tok *t) {
  if (t->kind == TK_OP && (tok_is(f, t, ",") || tok_is(f, t, ";") || tok_is(f, t, ":"))) return false;
  if (t->kind == TK_OP && is_percent(f, (uint32_t)(t - f->t.v))) return false;
  return is_binop(f, t) || (t->kind == TK_OP && tok_is(f, t, "."));
}

typedef struct Line {
  uint32_t first, end;  /* tokens [first, end) */
  uint32_t level;
  uint32_t blank_before;
} Line;

bool fmt_source(const char *src, size_t n, Buf *out) {
  F f = { src, { NULL, 0, 0 }, NULL };
  lex(src, n, &f.t);
  /* a file whose first line ends in CR LF keeps CR LF line ends */
  const char *first_nl = memchr(src, '\n', n);
  const char *eol = first_nl && first_nl > src && first_nl[-1] == '\r' ? "\r\n" : "\n";
  /* map literals: a `{` whose next tokens are a string and `:` (as the
   * lexer decides), and its matching `}` */
  f.map = xcalloc(f.t.n + 1, sizeof *f.map);
  {
    uint32_t *open = xcalloc(f.t.n + 1, sizeof *open), depth = 0;
    for (uint32_t i = 0; i < f.t.n; i++) {
      const Tok *t = &f.t.v[i];
      if (t->kind == TK_OPEN) {
        open[depth++] = i;
        if (tok_is(&f, t, "{") && i + 2 < f.t.n && f.t.v[i + 1].kind == TK_STR && tok_is(&f, &f.t.v[i + 2], ":"))
          f.map[i] = true;
      } else if (t->kind == TK_CLOSE && depth) {
        uint32_t o = open[--depth];
        if (f.map[o] && tok_is(&f, t, "}")) f.map[i] = true;
      }
    }
    free(open);
  }
  /* lines */
  Line *lines = xcalloc(f.t.n + 1, sizeof *lines);
  uint32_t nl = 0;
  for (uint32_t i = 0; i < f.t.n; i++) {
    if (i == 0 || f.t.v[i].nl_before) {
      if (nl) lines[nl - 1].end = i;
      lines[nl].first = i;
      lines[nl].blank_before = i == 0 ? f.t.v[i].nl_before : f.t.v[i].nl_before - 1;
      nl++;
    }
  }
  if (nl) lines[nl - 1].end = f.t.n;
  /* levels: a stack of the levels of the lines that opened each bracket */
  uint32_t *stack = xcalloc(f.t.n + 1, sizeof *stack);
  uint32_t top = 0;
  bool prev_continues = false;
  for (uint32_t l = 0; l < nl; l++) {
    Line *ln = &lines[l];
    const Tok *first = &f.t.v[ln->first];
    uint32_t top_before = top;
    uint32_t base = top ? stack[top - 1] + 1 : 0;
    if (first->kind == TK_CLOSE && top) ln->level = stack[top - 1];
    else if (prev_continues || (continues(&f, first) && !is_prefix_position(&f, ln->first) &&
                                !tok_is(&f, first, "-")))
      ln->level = base + 1;
    else ln->level = base;
    for (uint32_t i = ln->first; i < ln->end; i++) {
      const Tok *t = &f.t.v[i];
      if (t->kind == TK_OPEN) stack[top++] = ln->level;
      else if (t->kind == TK_CLOSE && top) top--;
    }
    uint32_t last = ln->end;
    while (last > ln->first && f.t.v[last - 1].kind == TK_COMMENT) last--;
    /* an operator at the end continues the expression on the next line,
     * which is indented one more level, unless a bracket this line left
     * open indents it already */
    bool opened = top > top_before || (top == top_before && top && first->kind == TK_CLOSE &&
                                       stack[top - 1] == ln->level);
    prev_continues = last > ln->first && continues(&f, &f.t.v[last - 1]) && !opened;
  }
  /* render each line's code; remember where its trailing comment goes */
  Buf code;
  buf_init(&code);
  uint32_t *code_len = xcalloc(nl + 1, sizeof *code_len);
  char **texts = xcalloc(nl + 1, sizeof *texts);
  uint32_t *cmt = xcalloc(nl + 1, sizeof *cmt); /* token index of a trailing comment + 1 */
  bool *inside = xcalloc(nl + 1, sizeof *inside); /* the line holds a multi-line token */
  for (uint32_t l = 0; l < nl; l++) {
    Line *ln = &lines[l];
    code.len = 0;
    for (uint32_t k = 0; k < ln->level; k++) buf_puts(&code, "  ");
    for (uint32_t i = ln->first; i < ln->end; i++) {
      const Tok *t = &f.t.v[i];
      if (i > ln->first) {
        if (t->kind == TK_COMMENT && i + 1 == ln->end) {
          cmt[l] = i + 1;
          break;
        }
        for (int g = gap(&f, i); g > 0; g--) buf_putc(&code, ' ');
      }
      buf_put(&code, src + t->start, t->len);
    }
    const char *nlp = NULL;
    for (size_t k = code.len; k > 0; k--)
      if (code.data[k - 1] == '\n') { nlp = code.data + k - 1; break; }
    inside[l] = nlp != NULL;
    code_len[l] = (uint32_t)(nlp ? code.len - (size_t)(nlp + 1 - code.data) : code.len);
    texts[l] = xmalloc(code.len + 1);
    memcpy(texts[l], code.data ? code.data : "", code.len);
    texts[l][code.len] = '\0';
  }
  /* align trailing comments of consecutive lines */
  uint32_t *col = xcalloc(nl + 1, sizeof *col);
  for (uint32_t l = 0; l < nl;) {
    if (!cmt[l]) { l++; continue; }
    uint32_t e = l, width = 0;
    while (e < nl && cmt[e] && (e == l || (lines[e].blank_before == 0 && !inside[e] && !inside[e - 1]))) {
      if (code_len[e] > width) width = code_len[e];
      e++;
    }
    for (uint32_t k = l; k < e; k++) col[k] = width + 2;
    l = e;
  }
  /* write */
  for (uint32_t l = 0; l < nl; l++) {
    for (uint32_t k = 0; k < lines[l].blank_before; k++) buf_puts(out, eol);
    buf_puts(out, texts[l]);
    if (cmt[l]) {
      for (uint32_t k = code_len[l]; k < col[l]; k++) buf_putc(out, ' ');
      const Tok *t = &f.t.v[cmt[l] - 1];
      buf_put(out, src + t->start, t->len);
    }
    buf_puts(out, eol);
  }
  for (uint32_t l = 0; l < nl; l++) free(texts[l]);
  free(texts);
  free(code_len);
  free(cmt);
  free(col);
  free(inside);
  buf_free(&code);
  free(stack);
  free(lines);
  free(f.t.v);
  free(f.map);
  return true;
}
