/* generate.c — what a planner is told, and how its program is judged
 * (generate.h). A generated program is untrusted source like any other:
 * it is compiled with std imports only and the run's model allowlist, its
 * main must have exactly the signature the asking program declared
 * (compared descriptor by descriptor, names of types aside), and the
 * compiler's diagnostics are what the planner repairs from. */
#include "generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../base/term.h"
#include "../base/util.h"
#include "../compiler/compiler.h"
#include "../lang/diag.h"
#include "../lang/source.h"
#include "../stdlib/builtins.h"
#include "../vm/json.h"
#include "guide.h"
#include "schema.h"

/* ---- types as the program must write them -------------------------------- */

static const ObjString *cstr(const Module *m, uint32_t k) {
  if (k >= m->nconsts || !v_is(m->consts[k], OBJ_STRING)) return NULL;
  return AS_STRING(m->consts[k]);
}

static const ObjString *desc_name(const Module *m, uint32_t td) {
  const TypeDesc *d = &m->types[td];
  bool nameable = d->kind == TD_RECORD || d->kind == TD_TAGGED || d->kind == TD_RANGE || d->kind == TD_ENUM;
  return nameable && d->name != NO_INDEX ? cstr(m, d->name) : NULL;
}

static void put_bound(Buf *b, const Module *m, uint32_t k) {
  if (k >= m->nconsts) return;
  Value v = m->consts[k];
  if (v.tag == V_INT) buf_printf(b, "%lld", (long long)v.as.i);
  else if (v.tag == V_FLOAT) buf_float(b, v.as.f);
}

/* td as Weft source; a named type by its name unless `expand` (its
 * declaration's right-hand side). Output is capped by the caller. */
static void put_type(Buf *b, const Module *m, uint32_t td, bool expand, int depth) {
  if (td >= m->ntypes || depth > 32 || b->len > 16384) {
    buf_puts(b, "json");
    return;
  }
  const TypeDesc *d = &m->types[td];
  const ObjString *name = desc_name(m, td);
  if (name && !expand) {
    buf_put(b, name->data, name->len);
    return;
  }
  switch ((TypeDescKind)d->kind) {
  case TD_JSON: buf_puts(b, "json"); return;
  case TD_INT: buf_puts(b, "int"); return;
  case TD_FLOAT: buf_puts(b, "float"); return;
  case TD_BOOL: buf_puts(b, "bool"); return;
  case TD_STRING: buf_puts(b, "string"); return;
  case TD_DURATION: buf_puts(b, "duration"); return;
  case TD_NONE: buf_puts(b, "none"); return;
  case TD_FUNC: buf_puts(b, "fn"); return;
  case TD_LIST: case TD_MAP:
    buf_puts(b, d->kind == TD_LIST ? "list[" : "map[");
    put_type(b, m, d->elem, false, depth + 1);
    buf_putc(b, ']');
    return;
  case TD_OPTIONAL: {
    bool paren = d->elem < m->ntypes && m->types[d->elem].kind == TD_ENUM && m->types[d->elem].n > 1 &&
                 !desc_name(m, d->elem);
    if (paren) buf_putc(b, '(');
    put_type(b, m, d->elem, false, depth + 1);
    if (paren) buf_putc(b, ')');
    buf_putc(b, '?');
    return;
  }
  case TD_ENUM:
    for (uint32_t i = 0; i < d->n; i++) {
      const ObjString *s = cstr(m, d->members[i]);
      if (i) buf_puts(b, " | ");
      if (s) buf_json_string(b, s->data, s->len);
    }
    return;
  case TD_RECORD: case TD_TAGGED: {
    /* a variant's record: its first field is the tag, written as its name */
    uint32_t nv = d->kind == TD_TAGGED ? d->n : 1;
    for (uint32_t v = 0; v < nv; v++) {
      const TypeDesc *r = d;
      uint32_t from = 0;
      if (d->kind == TD_TAGGED) {
        if (d->members[v] >= m->ntypes) continue;
        r = &m->types[d->members[v]];
        const ObjString *tag = module_variant_tag(m, d->members[v]);
        if (v) buf_puts(b, " | ");
        if (tag) buf_put(b, tag->data, tag->len);
        buf_putc(b, ' ');
        from = 1;
      }
      if (r->n <= from) {
        buf_puts(b, "{}");
        continue;
      }
      buf_puts(b, "{ ");
      for (uint32_t i = from; i < r->n; i++) {
        const ObjString *f = cstr(m, r->fields[i].name);
        if (i > from) buf_puts(b, ", ");
        if (f) buf_put(b, f->data, f->len);
        buf_puts(b, ": ");
        put_type(b, m, r->fields[i].type, false, depth + 1);
      }
      buf_puts(b, " }");
    }
    return;
  }
  case TD_RANGE:
    put_type(b, m, d->elem, false, depth + 1);
    buf_putc(b, '(');
    if (d->lo != NO_INDEX) put_bound(b, m, d->lo);
    buf_puts(b, "..");
    if (d->hi != NO_INDEX) put_bound(b, m, d->hi);
    buf_putc(b, ')');
    return;
  default: buf_puts(b, "json"); return;
  }
}

/* The named types the signature reaches, each declared once, dependencies
 * first (a descriptor refers only to smaller indices). */
static void mark_named(const Module *m, uint32_t td, uint8_t *seen, int depth) {
  if (td >= m->ntypes || seen[td] || depth > 64) return;
  seen[td] = 1;
  const TypeDesc *d = &m->types[td];
  switch ((TypeDescKind)d->kind) {
  case TD_LIST: case TD_MAP: case TD_OPTIONAL: case TD_RANGE: mark_named(m, d->elem, seen, depth + 1); break;
  case TD_RECORD:
    for (uint32_t i = 0; i < d->n; i++) mark_named(m, d->fields[i].type, seen, depth + 1);
    break;
  case TD_TAGGED:
    for (uint32_t i = 0; i < d->n; i++) mark_named(m, d->members[i], seen, depth + 1);
    break;
  default: break;
  }
}

static void put_declarations(Buf *b, const GenSig *sig) {
  const Module *m = sig->m;
  if (!m->ntypes) return;
  uint8_t *seen = xcalloc(m->ntypes, 1);
  mark_named(m, sig->params, seen, 0);
  if (sig->result != NO_INDEX) mark_named(m, sig->result, seen, 0);
  for (uint32_t td = 0; td < m->ntypes && b->len < 32768; td++) {
    const ObjString *name = seen[td] ? desc_name(m, td) : NULL;
    /* a variant's own record is named after its union: only the union is declared */
    if (!name || (m->types[td].kind == TD_RECORD && module_variant_tag(m, td))) continue;
    buf_puts(b, "    type ");
    buf_put(b, name->data, name->len);
    buf_puts(b, " = ");
    put_type(b, m, td, true, 0);
    buf_putc(b, '\n');
  }
  free(seen);
}

void gen_signature(Buf *out, const GenSig *sig) {
  const Module *m = sig->m;
  buf_puts(out, "fn main(");
  if (sig->params < m->ntypes) {
    const TypeDesc *d = &m->types[sig->params];
    for (uint32_t i = 0; i < d->n; i++) {
      const ObjString *f = cstr(m, d->fields[i].name);
      if (i) buf_puts(out, ", ");
      if (f) buf_put(out, f->data, f->len);
      buf_puts(out, ": ");
      put_type(out, m, d->fields[i].type, false, 0);
    }
  }
  buf_putc(out, ')');
  if (sig->result != NO_INDEX) {
    buf_puts(out, " -> ");
    put_type(out, m, sig->result, false, 0);
  }
}

/* ---- prompts ----------------------------------------------------------------- */

char *gen_system_prompt(const GenSig *sig, const GenRules *rules, const char *context, const char *role_system) {
  Buf b;
  buf_init(&b);
  buf_puts(&b, "You write programs in Weft, a typed workflow language for orchestrating language models. "
               "Its reference follows; use only what it describes.\n\n");
  char *guide = guide_render(guide_template, std_natives, std_nnatives, stdlib_source);
  buf_puts(&b, guide);
  free(guide);
  buf_puts(&b, "\n\n# What to write now\n\nWrite one complete Weft program for the task in the next message. "
               "Its main function must have exactly this signature:\n\n    ");
  gen_signature(&b, sig);
  buf_puts(&b, "\n\n");
  Buf decl;
  buf_init(&decl);
  put_declarations(&decl, sig);
  if (decl.len) {
    buf_puts(&b, "Declare these types in the program, exactly as written:\n\n");
    buf_put(&b, decl.data, decl.len);
    buf_putc(&b, '\n');
  }
  buf_free(&decl);
  buf_puts(&b, "Rules:\n"
               "- Reply with the program alone, in one ```weft block.\n"
               "- The program runs untrusted: it may import only std/ modules; it may use only the "
               "capabilities granted below; every loop needs a bound (`max N`); the run's budget stops it.\n"
               "- Declare the roles it asks, each with a model from the list below.\n"
               "- If it does not compile you get the compiler's diagnostics as JSON; then reply with the "
               "whole corrected program.\n");
  if (rules->labelled)
    buf_puts(&b, "- The task holds untrusted text: the program may read files granted below but may not "
                 "write files, run programs or use the network (std/proc, std/http and fs.write are "
                 "refused).\n");
  if (rules->limit_models && rules->nmodels) {
    buf_puts(&b, "\nModels the program may name (\"mock/NAME\" models are always allowed):");
    for (uint32_t i = 0; i < rules->nmodels; i++) buf_printf(&b, "%s %s", i ? "," : "", rules->models[i]);
    buf_putc(&b, '\n');
  }
  if (context && context[0]) {
    buf_putc(&b, '\n');
    buf_puts(&b, context);
    if (context[strlen(context) - 1] != '\n') buf_putc(&b, '\n');
  }
  if (role_system && role_system[0]) {
    buf_putc(&b, '\n');
    buf_puts(&b, role_system);
    buf_putc(&b, '\n');
  }
  return buf_detach(&b);
}

void gen_extract(Buf *out, const char *text, size_t len) {
  const char *end = text + len;
  const char *open = NULL;
  for (const char *p = text; p + 3 <= end; p++) {
    if (p[0] == '`' && p[1] == '`' && p[2] == '`' && (p == text || p[-1] == '\n')) {
      open = p;
      break;
    }
  }
  if (!open) {
    buf_put(out, text, len);
    return;
  }
  const char *body = memchr(open, '\n', (size_t)(end - open));
  if (!body) {
    buf_put(out, text, len);
    return;
  }
  body++;
  const char *close = NULL;
  for (const char *p = body; p + 3 <= end; p++)
    if (p[0] == '`' && p[1] == '`' && p[2] == '`' && (p == body || p[-1] == '\n')) {
      close = p;
      break;
    }
  buf_put(out, body, (size_t)((close ? close : end) - body));
}

/* ---- the signature ---------------------------------------------------------- */

/* Whether descriptor a of ma and b of mb are the same type, names of
 * types aside. Types are a DAG: pairs already being compared or found
 * equal are taken as equal (each pair is compared once), and the work is
 * capped. */
typedef struct Same {
  const Module *ma, *mb;
  uint64_t *pairs;
  uint32_t cap, n;
  uint32_t steps;
} Same;

static bool pair_seen(Same *s, uint32_t a, uint32_t b) {
  uint64_t key = ((uint64_t)a << 32 | b) + 1;
  if (s->n * 2 >= s->cap) {
    uint32_t ncap = s->cap ? s->cap * 2 : 256;
    uint64_t *np = xcalloc(ncap, sizeof *np);
    for (uint32_t i = 0; i < s->cap; i++)
      if (s->pairs[i]) {
        uint32_t h = (uint32_t)(s->pairs[i] * 0x9E3779B97F4A7C15ULL >> 40) & (ncap - 1);
        while (np[h]) h = (h + 1) & (ncap - 1);
        np[h] = s->pairs[i];
      }
    free(s->pairs);
    s->pairs = np;
    s->cap = ncap;
  }
  uint32_t h = (uint32_t)(key * 0x9E3779B97F4A7C15ULL >> 40) & (s->cap - 1);
  while (s->pairs[h]) {
    if (s->pairs[h] == key) return true;
    h = (h + 1) & (s->cap - 1);
  }
  s->pairs[h] = key;
  s->n++;
  return false;
}

static bool same_const(const Module *ma, uint32_t a, const Module *mb, uint32_t b) {
  if (a == NO_INDEX || b == NO_INDEX) return a == b;
  if (a >= ma->nconsts || b >= mb->nconsts) return false;
  Value x = ma->consts[a], y = mb->consts[b];
  if (x.tag != y.tag) return false;
  if (x.tag == V_INT) return x.as.i == y.as.i;
  if (x.tag == V_FLOAT) return x.as.f == y.as.f;
  const ObjString *s = cstr(ma, a), *t = cstr(mb, b);
  return s && t && s->len == t->len && memcmp(s->data, t->data, s->len) == 0;
}

static bool same_type(Same *s, uint32_t a, uint32_t b, int depth) {
  const Module *ma = s->ma, *mb = s->mb;
  if (a >= ma->ntypes || b >= mb->ntypes || depth > 64 || ++s->steps > 200000) return false;
  if (pair_seen(s, a, b)) return true;
  const TypeDesc *x = &ma->types[a], *y = &mb->types[b];
  if (x->kind != y->kind) return false;
  switch ((TypeDescKind)x->kind) {
  case TD_LIST: case TD_MAP: case TD_OPTIONAL: return same_type(s, x->elem, y->elem, depth + 1);
  case TD_RANGE:
    return same_const(ma, x->lo, mb, y->lo) && same_const(ma, x->hi, mb, y->hi) &&
           same_type(s, x->elem, y->elem, depth + 1);
  case TD_ENUM:
    if (x->n != y->n) return false;
    for (uint32_t i = 0; i < x->n; i++)
      if (!same_const(ma, x->members[i], mb, y->members[i])) return false;
    return true;
  case TD_RECORD:
    if (x->n != y->n) return false;
    for (uint32_t i = 0; i < x->n; i++)
      if (!same_const(ma, x->fields[i].name, mb, y->fields[i].name) ||
          !same_type(s, x->fields[i].type, y->fields[i].type, depth + 1))
        return false;
    return true;
  case TD_TAGGED:
    if (x->n != y->n) return false;
    for (uint32_t i = 0; i < x->n; i++)
      if (!same_type(s, x->members[i], y->members[i], depth + 1)) return false;
    return true;
  default: return true;
  }
}

/* Why main of m does not have sig's signature, or NULL when it does. */
static char *signature_misfit(const Module *m, const GenSig *sig) {
  Buf want;
  buf_init(&want);
  gen_signature(&want, sig);
  const TypeDesc *pd = &sig->m->types[sig->params];
  Same s = {.ma = sig->m, .mb = m};
  char *why = NULL;
  if (m->main_fn == NO_INDEX) {
    why = xasprintf("the program has no main function; it must declare %s", want.data);
  } else if (m->nparams != pd->n) {
    why = xasprintf("main takes %u parameter%s; it must be exactly %s", m->nparams, m->nparams == 1 ? "" : "s",
                    want.data);
  } else {
    for (uint32_t i = 0; i < pd->n && !why; i++) {
      const ObjString *name = cstr(sig->m, pd->fields[i].name);
      if (!name || strlen(m->params[i].name) != name->len || memcmp(m->params[i].name, name->data, name->len) != 0 ||
          !same_type(&s, pd->fields[i].type, m->params[i].type, 0)) {
        Buf got;
        buf_init(&got);
        type_desc_print(&got, m, m->params[i].type);
        buf_putc(&got, '\0');
        why = xasprintf("main's parameter %u is `%s: %s`; main must be exactly %s (declare the types as given)",
                        i + 1, m->params[i].name, got.data, want.data);
        buf_free(&got);
      }
    }
    if (!why && (sig->result == NO_INDEX) != (m->main_result == NO_INDEX))
      why = xasprintf("main %s; it must be exactly %s", m->main_result == NO_INDEX ? "returns nothing" : "returns a value",
                      want.data);
    if (!why && sig->result != NO_INDEX && !same_type(&s, sig->result, m->main_result, 0)) {
      Buf got;
      buf_init(&got);
      type_desc_print(&got, m, m->main_result);
      buf_putc(&got, '\0');
      why = xasprintf("main returns %s; it must be exactly %s (declare the types as given)", got.data, want.data);
      buf_free(&got);
    }
  }
  free(s.pairs);
  buf_free(&want);
  return why;
}

/* ---- compiling ------------------------------------------------------------- */

typedef struct Judge {
  const GenRules *rules;
  char *why;              /* a capability the rules refuse, or the bound */
} Judge;

/* What the run's rules refuse in a checked program: a capability it was
 * not granted, or (labelled) one that writes, runs or reaches the network;
 * a bound on its model calls above the budget, or none. */
static void judge_caps(Program *p, void *ud) {
  Judge *j = ud;
  if (j->rules->max_calls > 0) {
    Buf cost;
    buf_init(&cost);
    if (cost_program(p, true, &cost)) {
      cJSON *doc = cJSON_ParseWithLength(cost.data, cost.len);
      const cJSON *calls = cJSON_GetObjectItemCaseSensitive(doc, "calls");
      const cJSON *bounded = cJSON_GetObjectItemCaseSensitive(calls, "bounded");
      const cJSON *formula = cJSON_GetObjectItemCaseSensitive(calls, "formula");
      const cJSON *reason = cJSON_GetObjectItemCaseSensitive(calls, "reason");
      if (cJSON_IsFalse(bounded)) {
        j->why = xasprintf("the program's model calls have no bound (%s); the run allows at most %lld: bound "
                           "every loop with `max N` and every fan-out by its input",
                           cJSON_IsString(reason) ? reason->valuestring : "unbounded",
                           (long long)j->rules->max_calls);
      } else if (cJSON_IsString(formula)) {
        char *end = NULL;
        long long n = strtoll(formula->valuestring, &end, 10);
        if (end && !*end && end != formula->valuestring && n > j->rules->max_calls)
          j->why = xasprintf("the program may make up to %lld model calls; the run allows at most %lld: make "
                             "fewer calls (smaller `max` bounds, fewer stages)",
                             n, (long long)j->rules->max_calls);
      }
      cJSON_Delete(doc);
    }
    buf_free(&cost);
    if (j->why) return;
  }
  CapScan cs;
  memset(&cs, 0, sizeof cs);
  capscan_program(p, &cs);
  if (j->rules->caps_ok) {
    Buf why;
    buf_init(&why);
    if (!j->rules->caps_ok(j->rules->caps_ud, &cs, &why)) j->why = buf_detach(&why);
    buf_free(&why);
  }
  if (!j->rules->labelled || j->why) {
    capscan_free(&cs);
    return;
  }
  for (uint32_t i = 0; i < cs.nmodules && !j->why; i++)
    if (strcmp(cs.modules[i], "std/proc") == 0 || strcmp(cs.modules[i], "std/http") == 0)
      j->why = xasprintf("the task holds untrusted text, so the program may not import %s (it may not run "
                         "programs or use the network)", cs.modules[i]);
  for (uint32_t i = 0; i < cs.n && !j->why; i++)
    if (cs.uses[i].grant != 'r')
      j->why = xasprintf("the task holds untrusted text, so the program may not call %s (line %u): it may "
                         "read granted files but not write them, run programs or use the network",
                         cs.uses[i].op, cs.uses[i].line);
  capscan_free(&cs);
}

static void put_diags_json(Buf *b, const DiagList *dl, SourceSet *ss, uint32_t main_file) {
  buf_puts(b, "{\"diagnostics\":[");
  uint32_t shown = 0;
  for (uint32_t i = 0; i < dl->n && shown < GEN_MAX_DIAGS; i++) {
    const Diag *d = &dl->items[i];
    if (d->severity != SEV_ERROR) continue;
    Source *s = src_get(ss, d->span.file);
    uint32_t line = 0, col = 0;
    if (s) src_line_col(s, d->span.start, &line, &col);
    if (shown++) buf_putc(b, ',');
    buf_printf(b, "{\"code\":\"%s\",\"message\":", diag_code_name(d->code));
    buf_json_string(b, d->message, strlen(d->message));
    if (d->span.file == main_file) {
      buf_printf(b, ",\"line\":%u,\"column\":%u", line, col);
      size_t n = 0;
      const char *t = s ? src_line_text(s, d->span.start, &n) : NULL;
      if (t) {
        buf_puts(b, ",\"source\":");
        buf_json_string(b, t, n > 200 ? 200 : n);
      }
    }
    if (d->help) {
      buf_puts(b, ",\"help\":");
      buf_json_string(b, d->help, strlen(d->help));
    }
    buf_putc(b, '}');
  }
  buf_printf(b, "],\"errors\":%u}", dl->errors);
}

char *gen_text_unfit(const char *src, size_t len) {
  uint32_t line = 1;
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)src[i];
    size_t q = utf8_seq_len(src + i, len - i);
    if (c == '\n') line++;
    /* a NUL or bytes that are not UTF-8 are the compiler's to report */
    /* a CR only ends a line: alone it lets the text after it overwrite
     * the line on a terminal */
    bool crlf = c == '\r' && i + 1 < len && src[i + 1] == '\n';
    bool ctl = q && c && ((c < 0x20 && c != '\n' && c != '\t' && !crlf) || c == 0x7f ||
                          (q == 2 && c == 0xC2 && (unsigned char)src[i + 1] < 0xA0));
    if (ctl)
      return xasprintf("line %u holds the control character U+%04X; a program may hold none (a person reads it): "
                       "write it in a string as an escape such as \\u{1B}, or leave it out",
                       line, q == 2 ? (unsigned)(unsigned char)src[i + 1] : (unsigned)c);
    i += q ? q : 1;
  }
  return NULL;
}

CompileOptions gen_compile_options(const char *src, size_t len, const GenRules *rules) {
  CompileOptions co = {
      .untrusted = true,
      .max_source_bytes = GEN_MAX_SOURCE,
      .max_memory = GEN_MAX_COMPILE_MEMORY,
      .limit_models = rules->limit_models,
      .models = rules->models,
      .nmodels = rules->nmodels,
      .natives = std_native_table(),
      .main_text = src,
      .main_len = len,
  };
  return co;
}

Module *gen_compile(const char *src, size_t len, const char *name, const GenSig *sig, const GenRules *rules,
                    Heap *heap, Buf *why) {
  CompileOptions co = gen_compile_options(src, len, rules);
  SourceSet ss;
  DiagList dl;
  src_init(&ss);
  diag_init(&dl);
  Judge j = {.rules = rules};
  Module *m = compile_file_then(name, &ss, &dl, &co, heap, judge_caps, &j);
  if (!m || dl.errors) {
    diag_sort(&dl);
    put_diags_json(why, &dl, &ss, 0);
    if (m) module_free(m);
    m = NULL;
  } else {
    /* after the compile, whose diagnostics say more about a program
     * that does not compile */
    char *misfit = j.why ? j.why : gen_text_unfit(src, len);
    if (!misfit) misfit = signature_misfit(m, sig);
    j.why = NULL;
    if (misfit) {
      buf_puts(why, misfit);
      free(misfit);
      module_free(m);
      m = NULL;
    }
  }
  free(j.why);
  diag_free(&dl);
  src_free(&ss);
  return m;
}

/* ---- what is journaled ------------------------------------------------------- */

void gen_normalize(Buf *out, const char *src, size_t len, const char *role, const char *addr, const char *task) {
  buf_printf(out, "// Written by role %s at %s for:\n", role, addr);
  /* the task's first lines, as comment text: no control character, and
   * never a line a reader could take for code */
  const char *p = task ? task : "";
  uint32_t lines = 0;
  while (*p && lines < 8) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    buf_puts(out, "//   ");
    size_t k = utf8_prefix(p, n, 100);
    for (size_t i = 0; i < k;) {
      /* controls, bidi controls and bytes that are not UTF-8 become a space */
      size_t q = utf8_seq_len(p + i, k - i);
      unsigned char c = (unsigned char)p[i];
      if (!q || c < 0x20 || c == 0x7f || utf8_bidi_len(p + i, k - i) || (q == 2 && c == 0xC2 && (unsigned char)p[i + 1] < 0xA0)) {
        buf_putc(out, ' ');
        i += q ? q : 1;
      } else {
        buf_put(out, p + i, q);
        i += q;
      }
    }
    if (k < n) buf_puts(out, "…");
    buf_putc(out, '\n');
    lines++;
    p = nl ? nl + 1 : p + n;
  }
  if (*p) buf_puts(out, "//   …\n");
  Buf f;
  buf_init(&f);
  if (fmt_source(src, len, &f)) buf_put(out, f.data, f.len);
  else buf_put(out, src, len);
  buf_free(&f);
}

void gen_mock_program(Buf *out, const GenSig *sig) {
  buf_puts(out, "// The offline mock's program: give a --mock-script entry for the planner to choose another.\n");
  bool text = sig->result != NO_INDEX && sig->result < sig->m->ntypes && sig->m->types[sig->result].kind == TD_STRING;
  const TypeDesc *pd = &sig->m->types[sig->params];
  if (text) buf_puts(out, "role worker { model: \"mock/worker\" }\n\n");
  Buf decl;
  buf_init(&decl);
  put_declarations(&decl, sig);
  for (size_t i = 0; i < decl.len; i++)
    if (!(decl.data[i] == ' ' && (i == 0 || decl.data[i - 1] == '\n'))) buf_putc(out, decl.data[i]);
  buf_free(&decl);
  gen_signature(out, sig);
  buf_puts(out, " {\n");
  if (text) {
    buf_puts(out, "  return ask worker \"Do this task:");
    for (uint32_t i = 0; i < pd->n; i++) {
      const ObjString *f = cstr(sig->m, pd->fields[i].name);
      if (f) buf_printf(out, " {%.*s}", (int)f->len, f->data);
    }
    buf_puts(out, "\"\n");
  } else if (sig->result != NO_INDEX) {
    /* a value of the result's type, as the mock makes them for typed asks */
    Heap h;
    heap_init(&h, 0);
    Value v = schema_mock_value(&h, sig->m, sig->result, fnv1a64(FNV64_INIT, "generate", 8));
    Buf j;
    buf_init(&j);
    if (!v_to_json(&j, v, NULL)) buf_puts(&j, "null");
    v_release(&h, v);
    buf_puts(out, "  return from_json[");
    put_type(out, sig->m, sig->result, false, 0);
    buf_puts(out, "](json_parse(\"");
    /* the JSON text as a Weft string: braces doubled (interpolation) */
    for (size_t i = 0; i < j.len; i++) {
      char ch = j.data[i];
      if (ch == '"' || ch == '\\') buf_putc(out, '\\');
      if (ch == '{' || ch == '}') buf_putc(out, ch);
      buf_putc(out, ch);
    }
    buf_puts(out, "\"))\n");
    buf_free(&j);
  }
  buf_puts(out, "}\n");
}
