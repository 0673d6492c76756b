/* disasm.c — `weft disasm`: a readable listing of a module.
 *
 * The output is deterministic (golden tests compare it): a header with the
 * file, constant, native, type and role tables and main's signature, then each
 * function with one line per instruction. Mnemonics, operand layout and
 * jump targets come from op_info/op_decode; only the comment that explains
 * an operand (which constant, field, native or function it names) looks at
 * what the opcode means. Bounds are checked even though loaded modules are
 * verified, so listing a broken in-memory module cannot crash. */
#include "module.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "opcodes.h"
#include "vm.h"
#include "json.h"

#define DISASM_STRING_MAX 60 /* longer strings are cut with "..." */

/* A string literal in Weft-like syntax, cut at DISASM_STRING_MAX bytes. */
static void put_string(FILE *out, const char *s, size_t len) {
  fputc('"', out);
  size_t n = len > DISASM_STRING_MAX ? DISASM_STRING_MAX : len;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\n': fputs("\\n", out); break;
    case '\t': fputs("\\t", out); break;
    case '\r': fputs("\\r", out); break;
    default:
      if (c < 0x20 || c == 0x7f) fprintf(out, "\\x%02x", c);
      else fputc(c, out);
    }
  }
  fputc('"', out);
  if (n < len) fputs("...", out);
}

static void put_const_string(FILE *out, const Module *m, uint32_t k) {
  if (k < m->nconsts && m->const_kinds[k] == K_STRING)
    put_string(out, AS_STRING(m->consts[k])->data, AS_STRING(m->consts[k])->len);
  else
    fprintf(out, "<bad string #%u>", k);
}

static const char *const_kind_name(uint8_t k) {
  switch (k) {
  case K_INT: return "int";
  case K_FLOAT: return "float";
  case K_DURATION: return "duration";
  case K_STRING: return "string";
  case K_SHAPE: return "shape";
  case K_BOOL: return "bool";
  default: return "?";
  }
}

static void put_const(FILE *out, const Module *m, uint32_t k) {
  if (k >= m->nconsts) {
    fprintf(out, "<bad constant #%u>", k);
    return;
  }
  Value v = m->consts[k];
  switch (m->const_kinds[k]) {
  case K_INT: fprintf(out, "%" PRId64, v.as.i); break;
  case K_FLOAT: fprintf(out, "%.17g", v.as.f); break;
  case K_DURATION: fprintf(out, "%" PRId64 "ms", v.as.i); break;
  case K_BOOL: fputs(v.as.b ? "true" : "false", out); break;
  case K_STRING: put_string(out, AS_STRING(v)->data, AS_STRING(v)->len); break;
  case K_SHAPE: {
    ObjShape *s = AS_SHAPE(v);
    fputc('{', out);
    for (uint32_t i = 0; i < s->n; i++) {
      if (i) fputs(", ", out);
      if (s->names[i]) fwrite(s->names[i]->data, 1, s->names[i]->len, out);
    }
    fputc('}', out);
    break;
  }
  default: fputs("?", out);
  }
}

static const char *td_kind_name(uint8_t k) {
  static const char *const names[TD__COUNT] = {
    [TD_JSON] = "json", [TD_INT] = "int", [TD_FLOAT] = "float", [TD_BOOL] = "bool",
    [TD_STRING] = "string", [TD_DURATION] = "duration", [TD_NONE] = "none", [TD_FUNC] = "fn",
    [TD_LIST] = "list", [TD_MAP] = "map", [TD_OPTIONAL] = "optional", [TD_ENUM] = "enum",
    [TD_RECORD] = "record", [TD_TAGGED] = "tagged", [TD_RANGE] = "range",
  };
  return k < TD__COUNT ? names[k] : "?";
}

/* One descriptor, children as #index references (never recursive). */
static void put_type(FILE *out, const Module *m, uint32_t i) {
  if (i >= m->ntypes) {
    fprintf(out, "<bad type #%u>", i);
    return;
  }
  const TypeDesc *t = &m->types[i];
  fputs(td_kind_name(t->kind), out);
  if (t->name != NO_INDEX) {
    fputc(' ', out);
    if (t->name < m->nconsts && m->const_kinds[t->name] == K_STRING)
      fwrite(AS_STRING(m->consts[t->name])->data, 1, AS_STRING(m->consts[t->name])->len, out);
  }
  switch (t->kind) {
  case TD_LIST: case TD_MAP: case TD_OPTIONAL: fprintf(out, "[#%u]", t->elem); break;
  case TD_RANGE:
    fprintf(out, "[#%u] (", t->elem);
    if (t->lo != NO_INDEX) put_const(out, m, t->lo);
    fputs("..", out);
    if (t->hi != NO_INDEX) put_const(out, m, t->hi);
    fputc(')', out);
    break;
  case TD_ENUM:
    fputs(" (", out);
    for (uint32_t j = 0; j < t->n; j++) {
      if (j) fputs(" | ", out);
      put_const_string(out, m, t->members[j]);
    }
    fputc(')', out);
    break;
  case TD_TAGGED:
    fputs(" (", out);
    for (uint32_t j = 0; j < t->n; j++) fprintf(out, "%s#%u", j ? " | " : "", t->members[j]);
    fputc(')', out);
    break;
  case TD_RECORD:
    fputs(" {", out);
    for (uint32_t j = 0; j < t->n; j++) {
      if (j) fputs(", ", out);
      uint32_t k = t->fields[j].name;
      if (k < m->nconsts && m->const_kinds[k] == K_STRING)
        fwrite(AS_STRING(m->consts[k])->data, 1, AS_STRING(m->consts[k])->len, out);
      fprintf(out, ": #%u", t->fields[j].type);
    }
    fputc('}', out);
    break;
  default: break;
  }
}

/* "0  reviewer  model "x/y" system "..." temperature 0.2 ...": the settings
 * that are set, in declaration-table order. */
static void put_role(FILE *out, const RoleDesc *r, uint32_t i) {
  fprintf(out, "  %4u  %s  model ", i, r->name ? r->name : "?");
  put_string(out, r->model ? r->model : "", r->model ? strlen(r->model) : 0);
  if (r->system) {
    fputs(" system ", out);
    put_string(out, r->system, strlen(r->system));
  }
  if (!isnan(r->temperature)) fprintf(out, " temperature %g", r->temperature);
  if (!isnan(r->top_p)) fprintf(out, " top_p %g", r->top_p);
  if (r->max_tokens >= 0) fprintf(out, " max_tokens %" PRId64, r->max_tokens);
  if (r->timeout_ms >= 0) fprintf(out, " timeout %" PRId64 "ms", r->timeout_ms);
  if (r->retries >= 0) fprintf(out, " retries %d", (int)r->retries);
  if (r->repairs >= 0) fprintf(out, " repairs %d", (int)r->repairs);
  for (uint32_t k = 0; k < r->nstop; k++) {
    fputs(k ? ", " : " stop ", out);
    put_string(out, r->stop[k], strlen(r->stop[k]));
  }
  for (uint32_t k = 0; k < r->ntools; k++) fprintf(out, "%s%s", k ? ", " : " tools ", r->tools[k].name);
  if (r->ntools) fprintf(out, " max_steps %u", r->max_steps);
  fputc('\n', out);
}

static void put_header(FILE *out, const Module *m) {
  /* No source hash here: it covers the embedded stdlib too, and golden
   * listings must not change whenever the stdlib text does. */
  fprintf(out, "module format %u\n", m->version);
  fprintf(out, "files (%u):\n", m->nfiles);
  for (uint32_t i = 0; i < m->nfiles; i++) fprintf(out, "  %4u  %s\n", i, m->files[i] ? m->files[i] : "?");
  fprintf(out, "constants (%u):\n", m->nconsts);
  for (uint32_t i = 0; i < m->nconsts; i++) {
    fprintf(out, "  %4u  %-8s  ", i, const_kind_name(m->const_kinds[i]));
    put_const(out, m, i);
    fputc('\n', out);
  }
  fprintf(out, "natives (%u):\n", m->nnatives);
  for (uint32_t i = 0; i < m->nnatives; i++) {
    fprintf(out, "  %4u  %s", i, m->native_names[i] ? m->native_names[i] : "?");
    if (m->natives[i]) fprintf(out, " (arity %u)", m->natives[i]->arity);
    fputc('\n', out);
  }
  fprintf(out, "types (%u):\n", m->ntypes);
  for (uint32_t i = 0; i < m->ntypes; i++) {
    fprintf(out, "  %4u  ", i);
    put_type(out, m, i);
    fputc('\n', out);
  }
  /* Listed only when there are roles, so listings of programs without
   * model calls stay as they were. */
  if (m->nroles) fprintf(out, "roles (%u):\n", m->nroles);
  for (uint32_t i = 0; i < m->nroles; i++) put_role(out, &m->roles[i], i);
  if (m->main_fn == NO_INDEX) {
    fputs("main: none\n", out);
  } else {
    fprintf(out, "main: fn %u", m->main_fn);
    if (m->main_result == NO_INDEX) fputs(", no result", out);
    else fprintf(out, ", result #%u", m->main_result);
    fputc('\n', out);
    for (uint32_t i = 0; i < m->nparams; i++) {
      const MainParam *p = &m->params[i];
      fprintf(out, "  param %s: #%u", p->name ? p->name : "?", p->type);
      if (p->def == NONE_DEFAULT) fputs(" = none", out);
      else if (p->def != NO_INDEX) { fputs(" = ", out); put_const(out, m, p->def); }
      fputc('\n', out);
    }
  }
}

/* The comment after an instruction's operands: what its index names. */
static void put_comment(FILE *out, const Module *m, Opcode op, OpArgs a) {
  switch (op) {
  case OP_CONST: case OP_RECORD: case OP_GET_FIELD: case OP_WITH:
    fputs("  ; ", out);
    put_const(out, m, a.a);
    break;
  case OP_FUNC: case OP_CLOSURE:
    if (a.a < m->nfuncs && m->funcs[a.a].name) fprintf(out, "  ; %s", m->funcs[a.a].name);
    break;
  case OP_CALL_NATIVE:
    if (a.a < m->nnatives && m->native_names[a.a]) fprintf(out, "  ; %s", m->native_names[a.a]);
    break;
  case OP_FROM_JSON:
    fputs("  ; ", out);
    put_type(out, m, a.a);
    break;
  case OP_ASK: case OP_ASK_ROLE: case OP_STEP: {
    /* "; role reviewer -> list[Finding]": the reply type in Weft syntax */
    uint32_t td = op != OP_ASK_ROLE ? a.b : a.a;
    if (op != OP_ASK_ROLE)
      fprintf(out, "  ; role %s -> ", a.a < m->nroles && m->roles[a.a].name ? m->roles[a.a].name : "?");
    else
      fprintf(out, "  ; role value%s -> ", a.b ? " with settings" : "");
    if (td == ASK_TEXT) {
      fputs("text", out);
    } else {
      Buf b;
      buf_init(&b);
      type_desc_print(&b, m, td);
      if (b.data) fwrite(b.data, 1, b.len, out);
      buf_free(&b);
    }
    break;
  }
  case OP_GENERATE: {
    /* "; role planner fn { files: list[string] } -> list[Finding]" */
    Buf b;
    buf_init(&b);
    buf_printf(&b, "  ; role %s fn ", a.a < m->nroles && m->roles[a.a].name ? m->roles[a.a].name : "?");
    type_desc_print(&b, m, a.b);
    if (a.c != GEN_NO_RESULT) {
      buf_puts(&b, " -> ");
      type_desc_print(&b, m, a.c);
    }
    if (b.data) fwrite(b.data, 1, b.len, out);
    buf_free(&b);
    break;
  }
  case OP_ROLE:
    fprintf(out, "  ; %s", a.a < m->nroles && m->roles[a.a].name ? m->roles[a.a].name : "?");
    break;
  default: break;
  }
}

static void put_function(FILE *out, const Module *m, uint32_t fi) {
  const FuncProto *f = &m->funcs[fi];
  fprintf(out, "\nfn %u %s (arity %u, locals %u, captures %u, stack %u)  %s:%u\n", fi,
          f->name ? f->name : "?", f->arity, f->nlocals, f->ncaptures, f->max_stack,
          f->file < m->nfiles && m->files[f->file] ? m->files[f->file] : "?", f->line);
  uint32_t li = 0, line = 0;
  for (uint32_t pc = 0; pc < f->code_len;) {
    while (li < f->nlines && f->lines[li].pc <= pc) line = f->lines[li++].line;
    uint8_t op = f->code[pc];
    if (op >= OP__COUNT || op_info[op].size > f->code_len - pc) {
      fprintf(out, "  %5u  %5u  <bad byte %u>\n", pc, line, op);
      pc++;
      continue;
    }
    const OpInfo *info = &op_info[op];
    OpArgs a = op_decode(f->code + pc);
    if (*info->format) fprintf(out, "  %5u  %5u  %-13s", pc, line, info->name);
    else fprintf(out, "  %5u  %5u  %s", pc, line, info->name);
    int slot = 0;
    for (const char *c = info->format; *c; c++) {
      if (*c == 'j') fprintf(out, " -> %lld", (long long)pc + info->size + a.off);
      else {
        fprintf(out, " %u", slot == 0 ? a.a : slot == 1 ? a.b : a.c);
        slot++;
      }
    }
    put_comment(out, m, (Opcode)op, a);
    fputc('\n', out);
    pc += info->size;
  }
}

void module_disasm(FILE *out, const Module *m) {
  put_header(out, m);
  for (uint32_t i = 0; i < m->nfuncs; i++) put_function(out, m, i);
}
