/* guide.c — `weft guide`: renders runtime/guide.md, filling in the
 * standard library's signatures from the native table and the embedded std
 * modules (guide.h says why), and prints it whole, one section, the
 * section names, or JSON. */
#include "guide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/buf.h"
#include "../base/util.h"
#include "../compiler/compiler.h"
#include "../include/weft_tools.h"
#include "../lang/ast.h"
#include "../lang/diag.h"
#include "../lang/source.h"
#include "../stdlib/builtins.h"

/* Prelude functions only the constructs' lowering may call (the checker
 * refuses them elsewhere; tests/guide/internal.sh keeps this in step). */
static const char *const LOWERING_ONLY[] = {"verdict_one", "verdict_quorum"};

static bool lowering_only(const char *name) {
  for (size_t i = 0; i < sizeof LOWERING_ONLY / sizeof LOWERING_ONLY[0]; i++)
    if (strcmp(LOWERING_ONLY[i], name) == 0) return true;
  return false;
}

/* ---- signatures ------------------------------------------------------------ */

/* Source text s[0..n) on one line: comments dropped, runs of blank space
 * made one space, a line break between two fields of a record made a
 * comma, and no space inside brackets or before a comma. */
static void put_compact(Buf *b, const char *s, size_t n) {
  size_t start = b->len;
  bool gap = false, newline = false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '"') {  /* a literal type: copied as written */
      size_t j = i + 1;
      while (j < n && s[j] != '"') j += (s[j] == '\\' && j + 1 < n) ? 2 : 1;
      if (gap && b->len > start) buf_putc(b, ' ');
      gap = newline = false;
      buf_put(b, s + i, (j < n ? j + 1 : n) - i);
      i = j;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '/') {
      while (i < n && s[i] != '\n') i++;
      gap = newline = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      gap = true;
      if (c == '\n') newline = true;
      continue;
    }
    char prev = b->len > start ? b->data[b->len - 1] : 0;
    if (gap && prev) {
      bool opens = strchr("{([,|:=>", prev) != NULL;
      bool closes = strchr("})],|", c) != NULL;
      if (newline && !opens && !closes) buf_puts(b, ", ");
      else if (!(prev == '(' || prev == '[' || c == ')' || c == ']' || c == ',')) buf_putc(b, ' ');
    }
    gap = newline = false;
    /* a trailing comma before a closing bracket goes */
    if ((c == '}' || c == ')') && b->len > start) {
      size_t k = b->len;
      while (k > start && b->data[k - 1] == ' ') k--;
      if (k > start && b->data[k - 1] == ',') {
        b->len = k - 1;
        if (c == '}') buf_putc(b, ' ');
      }
    }
    buf_putc(b, c);
  }
}

/* The longest doc the guide shows: it goes into a model's context, so a
 * longer one is cut at the last clause that fits. */
#define DOC_MAX 72

/* The first sentence of a doc comment, on one line, at most DOC_MAX bytes. */
static void put_doc(Buf *b, const char *doc) {
  size_t n = 0;
  for (; doc[n]; n++)
    if (doc[n] == '.' && n > 0 && (doc[n - 1] == ')' || doc[n - 1] == ']' || doc[n - 1] == '`' || (doc[n - 1] >= 'a' && doc[n - 1] <= 'z') ||
                                   (doc[n - 1] >= '0' && doc[n - 1] <= '9')) &&
        (doc[n + 1] == ' ' || doc[n + 1] == '\n' || !doc[n + 1]))
      break;
  if (n > DOC_MAX) {
    size_t cut = 0;
    int depth = 0;
    bool code = false;
    for (size_t i = 0; i + 1 < DOC_MAX; i++) {
      if (doc[i] == '`') code = !code;
      else if (doc[i] == '(' || doc[i] == '[' || doc[i] == '{') depth++;
      else if ((doc[i] == ')' || doc[i] == ']' || doc[i] == '}') && depth > 0) depth--;
      else if (!depth && !code && (doc[i] == ';' || doc[i] == ':' || doc[i] == ',') && doc[i + 1] == ' ') cut = i;
    }
    if (cut <= 20) /* no clause fits: the last whole word that does */
      for (size_t i = 0, d = 0; i < DOC_MAX; i++) {
        if (doc[i] == '(' || doc[i] == '[' || doc[i] == '{') d++;
        else if ((doc[i] == ')' || doc[i] == ']' || doc[i] == '}') && d > 0) d--;
        else if (doc[i] == ' ' && !d) cut = i;
      }
    if (cut > 20) n = cut;
  }
  buf_puts(b, " — ");
  size_t start = b->len;
  for (size_t i = 0; i < n; i++) {
    char c = doc[i] == '\n' ? ' ' : doc[i];
    if (c == ' ' && b->len > start && b->data[b->len - 1] == ' ') continue;
    buf_putc(b, c);
  }
}

/* One native: "name[T](args) -> R — doc". */
static void put_native(Buf *b, const Native *nt) {
  buf_puts(b, nt->name);
  buf_puts(b, nt->sig);
  put_doc(b, nt->doc);
  buf_putc(b, '\n');
}

static void put_natives(Buf *b, const Native *natives, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (!natives[i].internal) put_native(b, &natives[i]);
}

/* The types and functions of the std module `name`, functions prefixed
 * with `prefix` (an alias and a dot, or ""). */
static void put_module(Buf *b, const char *name, const char *prefix, GuideSourceFn src) {
  size_t len = 0;
  const char *text = src ? src(name, &len) : NULL;
  if (!text) {
    buf_printf(b, "(no std module %s)\n", name);
    return;
  }
  SourceSet ss;
  src_init(&ss);
  uint32_t file = src_add(&ss, name, text, len);
  DiagList dl;
  diag_init(&dl);
  Arena arena;
  arena_init(&arena);
  Ast ast;
  if (parse_source(&arena, &ss, file, &dl, &ast) == 0) {
    const char *s = src_get(&ss, file)->text;
    for (uint32_t i = 0; i < ast.items.n; i++) {
      Node *it = ast.items.items[i];
      if (it->kind == N_TYPEDEF) {
        put_compact(b, s + it->span.start, it->span.end - it->span.start);
        buf_putc(b, '\n');
      } else if (it->kind == N_FN && !lowering_only(it->u.fn.name) && it->u.fn.body) {
        uint32_t from = it->span.start, to = it->u.fn.body->span.start;
        /* the span starts at `fn`: the name follows it */
        while (from < to && s[from] != ' ') from++;
        buf_puts(b, prefix);
        size_t at = b->len;
        put_compact(b, s + from, to - from);
        /* put_compact keeps the leading space of " name(": drop it */
        if (at < b->len && b->data[at] == ' ') {
          memmove(b->data + at, b->data + at + 1, b->len - at - 1);
          b->len--;
        }
        if (it->doc && *it->doc) put_doc(b, it->doc);
        buf_putc(b, '\n');
      }
    }
  } else {
    buf_printf(b, "(std module %s does not parse)\n", name);
  }
  arena_free(&arena);
  diag_free(&dl);
  src_free(&ss);
}

char *guide_render(const char *tmpl, const Native *natives, uint32_t n, GuideSourceFn src) {
  Buf b;
  buf_init(&b);
  const char *p = tmpl;
  while (*p) {
    const char *eol = strchr(p, '\n');
    size_t ln = eol ? (size_t)(eol - p) : strlen(p);
    char name[64], prefix[72];
    if (ln == 9 && memcmp(p, "@natives@", 9) == 0) {
      put_natives(&b, natives, n);
    } else if (ln > 9 && ln < 60 && memcmp(p, "@module ", 8) == 0 && p[ln - 1] == '@') {
      /* "@module NAME@" or "@module NAME as ALIAS@" */
      char line[64];
      memcpy(line, p + 8, ln - 9);
      line[ln - 9] = 0;
      prefix[0] = 0;
      char alias[64];
      if (sscanf(line, "%63s as %63s", name, alias) == 2) snprintf(prefix, sizeof prefix, "%s.", alias);
      else snprintf(name, sizeof name, "%s", line);
      put_module(&b, name, prefix, src);
    } else {
      buf_put(&b, p, ln);
      buf_putc(&b, '\n');
    }
    p += ln + (eol ? 1 : 0);
  }
  char *r = buf_detach(&b);
  return r ? r : xstrdup("");
}

/* ---- sections -------------------------------------------------------------- */

/* A section: from its "## NAME — Title" line to the next one; the text
 * before the first is the section "intro". */
typedef struct Section {
  char name[32];
  const char *title;
  size_t title_len;
  const char *text;
  size_t len;
} Section;

#define MAX_SECTIONS 64

static uint32_t split_sections(const char *g, Section *out) {
  uint32_t n = 0;
  const char *p = g;
  out[0] = (Section){.name = "intro", .title = "what Weft is, how to use this guide", .text = g};
  out[0].title_len = strlen(out[0].title);
  n = 1;
  while ((p = strstr(p, "\n## ")) != NULL) {
    p++;
    if (n == MAX_SECTIONS) break;
    out[n - 1].len = (size_t)(p - out[n - 1].text);
    Section *s = &out[n++];
    const char *h = p + 3;
    size_t k = strcspn(h, " \n");
    if (k >= sizeof s->name) k = sizeof s->name - 1;
    memcpy(s->name, h, k);
    s->name[k] = 0;
    const char *t = h + k;
    if (strncmp(t, " — ", 5) == 0) t += 5;
    else if (*t == ' ') t++;
    s->title = t;
    s->title_len = strcspn(t, "\n");
    s->text = p;
  }
  out[n - 1].len = strlen(out[n - 1].text);
  return n;
}

static void put_json_section(Buf *b, const Section *s, bool text) {
  buf_puts(b, "{\"name\":");
  buf_json_string(b, s->name, strlen(s->name));
  buf_puts(b, ",\"title\":");
  buf_json_string(b, s->title, s->title_len);
  if (text) {
    buf_puts(b, ",\"text\":");
    buf_json_string(b, s->text, s->len);
  }
  buf_putc(b, '}');
}

int weft_tool_guide(const weft_guide_opts *o) {
  char *g = guide_render(guide_template, std_natives, std_nnatives, stdlib_source);
  Section secs[MAX_SECTIONS];
  uint32_t n = split_sections(g, secs);
  int rc = WEFT_EXIT_OK;
  int only = -1;
  if (o->section) {
    for (uint32_t i = 0; i < n; i++)
      if (strcmp(secs[i].name, o->section) == 0) only = (int)i;
    if (only < 0) {
      Buf names;
      buf_init(&names);
      for (uint32_t i = 0; i < n; i++) buf_printf(&names, "%s%s", i ? ", " : "", secs[i].name);
      weft_tool_error("guide: no section '%s' (the sections: %s)", o->section, names.data);
      buf_free(&names);
      free(g);
      return WEFT_EXIT_USAGE;
    }
  }
  Buf out;
  buf_init(&out);
  if (o->json) {
    buf_puts(&out, "{\"sections\":[");
    bool first = true;
    for (uint32_t i = 0; i < n; i++) {
      if (only >= 0 && (int)i != only) continue;
      if (!first) buf_putc(&out, ',');
      first = false;
      put_json_section(&out, &secs[i], !o->list);
    }
    buf_puts(&out, "]}\n");
  } else if (o->list) {
    for (uint32_t i = 0; i < n; i++)
      if (only < 0 || (int)i == only)
        buf_printf(&out, "%-12s %.*s\n", secs[i].name, (int)secs[i].title_len, secs[i].title);
  } else if (only >= 0) {
    buf_put(&out, secs[only].text, secs[only].len);
  } else {
    buf_puts(&out, g);
  }
  if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
    weft_tool_error("guide: cannot write the output");
    rc = WEFT_EXIT_FAIL;
  }
  buf_free(&out);
  free(g);
  return rc;
}
