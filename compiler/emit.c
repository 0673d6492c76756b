/* emit.c — lowering a checked program to one bytecode Module (emit_).
 *
 * The emitter reads only what the checker->emitter contract at the top of
 * compiler.h promises (types on expressions, symbols on declarations and
 * uses, captures on lambdas, CallInfo on calls) and never re-checks the
 * program. It walks each function once, writing instructions through one
 * encoder that also tracks the operand-stack depth from the opcode list,
 * so every function's max_stack is exact and module_verify accepts what is
 * emitted (a rejection is a compiler bug, reported by compile.c).
 *
 * Conventions that keep the depth bookkeeping simple:
 *   - emit_expr(n, want) leaves exactly one value when `want`, none
 *     otherwise; statements leave nothing.
 *   - after an unconditional transfer (JUMP, RETURN, FAIL) the code that
 *     follows is unreachable; the tracked depth continues as if control
 *     fell through, so every construct ends at the depth it promised. The
 *     verifier ignores unreachable code when it checks depths.
 * Function indices: every top-level fn of every file (files in order),
 * then lambdas in the order they are met. */
#include "compiler.h"
#include "../base/util.h"

#include "../vm/opcodes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMIT_MAX_U16 0xFFFFu  /* "h" operands, locals, stack depth */
#define EMIT_MAX_U8 0xFFu     /* "b" operands: argument counts */
#define NO_PATCH UINT32_MAX

typedef struct Loop {
  struct Loop *outer;
  int32_t depth;               /* operand depth at the loop head */
  uint32_t head;               /* `continue` target: the ITER */
  uint32_t *breaks;            /* JUMPs to patch to the loop exit */
  uint32_t nbreaks, cap;
  int32_t tries;               /* `try`s in progress at the loop head */
} Loop;

/* The function being emitted. */
typedef struct FnEmit {
  struct FnEmit *parent;
  Node *owner;                 /* N_FN or N_LAMBDA: owner of its SYM_LOCALs */
  SymList *captures;           /* N_LAMBDA: capture order; NULL for N_FN */
  uint32_t src_file;           /* SourceSet id its code comes from */
  uint8_t *code;
  uint32_t len, cap;
  int32_t depth, max_depth;
  uint32_t nlocals;
  LineEntry *lines;
  uint32_t nlines, lines_cap;
  Loop *loop;
  int32_t tries;               /* `try`s in progress (TRY emitted, TRY_END not yet) */
} FnEmit;

typedef struct Emitter {
  Program *p;
  Module *m;
  FnEmit *fn;
  FuncProto *funcs;
  uint32_t nfuncs, funcs_cap;
  uint32_t *file_index;        /* SourceSet id -> Module file index */
  bool failed;
  bool limit_reported;         /* one E0504 per program is enough */
  TypeMemo types;              /* Type -> its descriptor in m (type_desc) */
} Emitter;

/* The module's index of the native with this key, resolved to nat (the
 * host's entry; NULL leaves it unknown, which the verifier reports). */
static uint32_t native_index(Emitter *e, const char *key, const Native *nat) {
  uint32_t i = module_add_native(e->m, key);
  e->m->natives[i] = nat;
  return i;
}

/* Growth for the emitter's arrays: doubles, starting at `first`. */
static void *grow_array(void *p, uint32_t *cap, uint32_t need, size_t elem, uint32_t first) {
  if (need <= *cap) return p;
  uint32_t c = *cap ? *cap : first;
  while (c < need) c *= 2;
  *cap = c;
  return xrealloc(p, (size_t)c * elem);
}

static uint32_t type_desc(Emitter *e, const Node *at, const Type *t);

/* ---- errors --------------------------------------------------------------- */

static Span node_span(const Node *n) {
  Span s = { 0, 0, 0 };
  return n ? n->span : s;
}

/* A bytecode limit the program exceeds (E0504). */
static void limit_error(Emitter *e, const Node *at, const char *what, uint32_t max) {
  if (!e->limit_reported)
    diag_add(e->p->diags, D_E0504, node_span(at), "split the function or the literal into smaller parts",
             "%s exceeds the bytecode limit of %u", what, max);
  e->limit_reported = true;
  e->failed = true;
}

/* The checked AST broke the contract in compiler.h: a compiler bug. */
static void internal_error(Emitter *e, const Node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void internal_error(Emitter *e, const Node *at, const char *fmt, ...) {
  char text[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  diag_add(e->p->diags, D_E0505, node_span(at), "this is a bug in weft; please report it",
           "internal compiler error: %s", text);
  e->failed = true;
}

/* ---- the encoder ------------------------------------------------------------ */

static void put_byte(FnEmit *f, uint8_t b) {
  f->code = grow_array(f->code, &f->cap, f->len + 1, 1, 64);
  f->code[f->len++] = b;
}

/* What an operand counts, for the limit message. */
static const char *operand_what(Opcode op) {
  switch (op) {
  case OP_CALL: case OP_CALL_NATIVE: return "number of arguments in one call";
  case OP_LIST: case OP_MAP: case OP_CONCAT: return "number of elements in one literal";
  case OP_FUNC: case OP_CLOSURE: return "number of functions or captures";
  case OP_GET_LOCAL: case OP_SET_LOCAL: case OP_MOVE_LOCAL: case OP_ITER: case OP_GET_CAPTURE: return "number of local variables";
  default: return "number of constants";
  }
}

/* Values an instruction pops: from the opcode list, except RECORD whose
 * count is its shape's size. */
static int pops_of(Emitter *e, Opcode op, OpArgs args) {
  if (op == OP_RECORD) return (int)AS_SHAPE(e->m->consts[args.a])->n;
  return op_stack_pops(op, args);
}

/* Appends one instruction (operands laid out by its format string) and
 * applies its stack effect. Returns its offset. */
static uint32_t encode3(Emitter *e, const Node *at, Opcode op, uint32_t a, uint32_t b, uint32_t c3,
                        int32_t off) {
  FnEmit *f = e->fn;
  const OpInfo *info = &op_info[op];
  uint32_t pc = f->len;
  int slot = 0;
  put_byte(f, (uint8_t)op);
  for (const char *c = info->format; *c; c++) {
    uint32_t v = *c == 'j' ? (uint32_t)off : slot == 0 ? a : slot == 1 ? b : c3;
    if (*c != 'j') slot++;
    int nbytes = *c == 'b' ? 1 : *c == 'h' ? 2 : 4;
    uint32_t max = *c == 'b' ? EMIT_MAX_U8 : *c == 'h' ? EMIT_MAX_U16 : UINT32_MAX;
    if (v > max) {
      limit_error(e, at, operand_what(op), max);
      v = 0;
    }
    for (int i = 0; i < nbytes; i++) put_byte(f, (uint8_t)(v >> (8 * i)));
  }
  OpArgs args = { a, b, off, c3 };
  int pops = pops_of(e, op, args);
  f->depth -= pops;
  if (f->depth < 0) {
    internal_error(e, at, "operand stack underflow at %s", info->name);
    f->depth = 0;
  }
  f->depth += info->push;
  if (f->depth > f->max_depth) f->max_depth = f->depth;
  return pc;
}

static uint32_t encode(Emitter *e, const Node *at, Opcode op, uint32_t a, uint32_t b, int32_t off) {
  return encode3(e, at, op, a, b, 0, off);
}

static void op0(Emitter *e, const Node *at, Opcode op) { encode(e, at, op, 0, 0, 0); }
static void op1(Emitter *e, const Node *at, Opcode op, uint32_t a) { encode(e, at, op, a, 0, 0); }

/* A forward jump whose target is patched later. */
static uint32_t jump_fwd(Emitter *e, const Node *at, Opcode op) { return encode(e, at, op, 0, 0, 0); }

/* Points the jump instruction at `at` to `target`; the offset counts from
 * the next instruction and sits in the last four bytes. */
static void patch(Emitter *e, uint32_t at, uint32_t target) {
  FnEmit *f = e->fn;
  uint32_t size = op_info[f->code[at]].size;
  int32_t off = (int32_t)((int64_t)target - (int64_t)(at + size));
  for (int i = 0; i < 4; i++) f->code[at + size - 4 + i] = (uint8_t)((uint32_t)off >> (8 * i));
}

static void jump_back(Emitter *e, const Node *at, uint32_t target) {
  uint32_t pc = jump_fwd(e, at, OP_JUMP);
  patch(e, pc, target);
}

static uint32_t here(Emitter *e) { return e->fn->len; }

/* Records node's line in the line table when it differs from the last
 * entry (nodes from another file, e.g. a default argument, are skipped). */
static void mark(Emitter *e, const Node *n) {
  FnEmit *f = e->fn;
  if (!n || n->span.file != f->src_file) return;
  Source *src = src_get(e->p->sources, n->span.file);
  if (!src) return;
  uint32_t line, col;
  src_line_col(src, n->span.start, &line, &col);
  if (f->nlines && f->lines[f->nlines - 1].line == line) return;
  if (f->nlines && f->lines[f->nlines - 1].pc == f->len) {
    f->lines[f->nlines - 1].line = line;
    f->lines[f->nlines - 1].col = col;
    return;
  }
  f->lines = grow_array(f->lines, &f->lines_cap, f->nlines + 1, sizeof(LineEntry), 16);
  f->lines[f->nlines++] = (LineEntry){ f->len, line, col };
}

/* ---- constants and locals ----------------------------------------------------- */

static void emit_const(Emitter *e, const Node *at, ConstKind kind, Value v) {
  op1(e, at, OP_CONST, module_add_const(e->m, kind, v));
}

static void emit_string(Emitter *e, const Node *at, const char *s, size_t len) {
  op1(e, at, OP_CONST, module_add_string(e->m, s ? s : "", s ? len : 0));
}

static uint32_t string_const(Emitter *e, const char *s) {
  return module_add_string(e->m, s ? s : "", s ? strlen(s) : 0);
}

/* A fresh slot in the current frame: for a declared local or a hidden one
 * (match subject, loop list and index, reordered record fields). */
static uint32_t new_slot(Emitter *e, const Node *at) {
  FnEmit *f = e->fn;
  if (f->nlocals >= EMIT_MAX_U16) {
    limit_error(e, at, "number of local variables in one function", EMIT_MAX_U16);
    return 0;
  }
  return f->nlocals++;
}

/* Rule: each declared symbol gets its own slot in its owner's frame. */
static uint32_t declare(Emitter *e, Node *decl) {
  Symbol *s = decl ? decl->sym : NULL;
  if (!s || s->kind != SYM_LOCAL) {
    internal_error(e, decl, "declaration without a local symbol");
    return new_slot(e, decl);
  }
  if (s->owner != e->fn->owner) internal_error(e, decl, "local `%s` declared outside its owner", s->name);
  s->slot = (int32_t)new_slot(e, decl);
  return (uint32_t)s->slot;
}

static uint32_t local_slot(Emitter *e, const Node *at, Symbol *s) {
  if (!s || s->kind != SYM_LOCAL || s->owner != e->fn->owner || s->slot < 0) {
    internal_error(e, at, "local `%s` has no slot in this function", s && s->name ? s->name : "?");
    return 0;
  }
  return (uint32_t)s->slot;
}

/* ---- expressions ------------------------------------------------------------- */

static void emit_expr(Emitter *e, Node *n, bool want);
static void emit_stmt(Emitter *e, Node *s);

/* Could evaluating n read `sym`, or leave the statement early (break,
 * continue, return) while sym's slot is empty? Only plain expression forms
 * are analysed; anything else answers yes, which just skips MOVE_LOCAL. */
static bool may_observe(const Node *n, const Symbol *sym) {
  if (!n) return false;
  switch (n->kind) {
  case N_INT: case N_FLOAT: case N_BOOL: case N_NONE: case N_STRING: case N_DURATION:
    return false;
  case N_NAME: return n->sym == sym;
  case N_UNARY: return may_observe(n->u.unary.operand, sym);
  case N_BINARY: return may_observe(n->u.binary.lhs, sym) || may_observe(n->u.binary.rhs, sym);
  case N_FIELD: return may_observe(n->u.field.object, sym);
  case N_INDEX: return may_observe(n->u.index.object, sym) || may_observe(n->u.index.index, sym);
  case N_INTERP: case N_LIST: case N_RECORD: case N_MAP: {
    const NodeList *l = n->kind == N_INTERP ? &n->u.interp.parts : &n->u.list.items;
    for (uint32_t i = 0; i < l->n; i++) {
      const Node *x = l->items[i];
      if (x->kind == N_FIELD_INIT || x->kind == N_MAP_ENTRY) {
        if (may_observe(x->u.init.key, sym) || may_observe(x->u.init.value, sym)) return true;
      } else if (may_observe(x, sym)) {
        return true;
      }
    }
    return false;
  }
  case N_CALL:
    if (may_observe(n->u.call.callee, sym)) return true;
    for (uint32_t i = 0; i < n->u.call.args.n; i++)
      if (may_observe(n->u.call.args.items[i], sym)) return true;
    return false;
  default:
    return true;
  }
}

static void emit_value(Emitter *e, Node *n) { emit_expr(e, n, true); }

/* A symbol used as a value: a local of this frame, a captured value of
 * the running closure, or a top-level function. */
static void emit_sym_value(Emitter *e, Node *at, Symbol *s) {
  if (!s) {
    internal_error(e, at, "name without a symbol");
    op0(e, at, OP_NONE);
    return;
  }
  switch (s->kind) {
  case SYM_LOCAL:
    if (s->owner == e->fn->owner) {
      op1(e, at, OP_GET_LOCAL, local_slot(e, at, s));
      return;
    }
    if (e->fn->captures)
      for (uint32_t i = 0; i < e->fn->captures->n; i++)
        if (e->fn->captures->items[i] == s) {
          op1(e, at, OP_GET_CAPTURE, i);
          return;
        }
    internal_error(e, at, "`%s` is used by a lambda that does not capture it", s->name);
    op0(e, at, OP_NONE);
    return;
  case SYM_FN:
    if (s->index < 0) internal_error(e, at, "function `%s` has no index", s->name);
    op1(e, at, OP_FUNC, s->index < 0 ? 0 : (uint32_t)s->index);
    return;
  case SYM_ROLE:
    if (s->index < 0) internal_error(e, at, "role `%s` has no index", s->name);
    op1(e, at, OP_ROLE, s->index < 0 ? 0 : (uint32_t)s->index);
    return;
  default:
    internal_error(e, at, "`%s` is not a value in bytecode", s->name ? s->name : "?");
    op0(e, at, OP_NONE);
    return;
  }
}

static bool is_stringish(const Type *t) {
  return t && (t->kind == TY_STRING || t->kind == TY_UNION);
}

/* "text {expr} text": constant pieces and rendered values, then CONCAT. */
static void emit_interp(Emitter *e, Node *n) {
  uint32_t count = 0;
  NodeList *parts = &n->u.interp.parts;
  for (uint32_t i = 0; i < parts->n; i++) {
    Node *part = parts->items[i];
    if (!part) continue;
    if (part->kind == N_STRING) {
      if (part->u.lit.len == 0) continue;
      emit_string(e, part, part->u.lit.str, part->u.lit.len);
    } else {
      emit_value(e, part);
      if (!is_stringish(part->type)) op0(e, part, OP_TOSTR);
    }
    count++;
  }
  if (count == 0) emit_string(e, n, "", 0);
  else if (count > 1) op1(e, n, OP_CONCAT, count);
}

/* The shape constant for a record with these field names. */
static uint32_t shape_const(Emitter *e, const char *const *names, uint32_t n) {
  ObjShape *s = shape_new(e->m->heap, n);
  for (uint32_t i = 0; i < n; i++) s->names[i] = AS_STRING(v_cstring(e->m->heap, names[i] ? names[i] : ""));
  return module_add_const(e->m, K_SHAPE, v_obj(&s->h));
}

/* Record literal: fields in the order of the record type (node->type),
 * omitted optional fields as none. Fields are evaluated in source order;
 * when that differs from the type's order they go through hidden locals. */
static void emit_record_of(Emitter *e, Node *n, NodeList *items, const Type *t) {
  if (t && t->kind == TY_OPTIONAL) t = t->elem;
  if (!t || t->kind != TY_RECORD) {
    /* No record type to follow: the literal's own fields, as written. */
    const char **names = xrealloc(NULL, (items->n ? items->n : 1) * sizeof(char *));
    for (uint32_t i = 0; i < items->n; i++) {
      names[i] = items->items[i]->u.init.name;
      emit_value(e, items->items[i]->u.init.value);
    }
    op1(e, n, OP_RECORD, shape_const(e, names, items->n));
    free(names);
    return;
  }
  uint32_t nf = t->nfields;
  int32_t *field_of = xrealloc(NULL, (items->n ? items->n : 1) * sizeof(int32_t));
  bool in_order = true;
  int32_t last = -1;
  for (uint32_t i = 0; i < items->n; i++) {
    field_of[i] = -1;
    for (uint32_t k = 0; k < nf; k++)
      if (strcmp(t->fields[k].name, items->items[i]->u.init.name) == 0) field_of[i] = (int32_t)k;
    if (field_of[i] <= last) in_order = false;
    else last = field_of[i];
  }
  Node **by_field = xrealloc(NULL, (nf ? nf : 1) * sizeof(Node *));
  uint32_t *tmp = xrealloc(NULL, (nf ? nf : 1) * sizeof(uint32_t));
  for (uint32_t k = 0; k < nf; k++) by_field[k] = NULL;
  for (uint32_t i = 0; i < items->n; i++)
    if (field_of[i] >= 0) by_field[field_of[i]] = items->items[i];
  if (in_order) {
    for (uint32_t k = 0; k < nf; k++) {
      if (by_field[k]) emit_value(e, by_field[k]->u.init.value);
      else op0(e, n, OP_NONE);
    }
  } else {
    for (uint32_t i = 0; i < items->n; i++) {
      emit_value(e, items->items[i]->u.init.value);
      if (field_of[i] < 0) {
        op0(e, n, OP_POP); /* a field the target type does not have */
      } else {
        tmp[field_of[i]] = new_slot(e, n);
        op1(e, n, OP_SET_LOCAL, tmp[field_of[i]]);
      }
    }
    for (uint32_t k = 0; k < nf; k++) {
      if (by_field[k]) op1(e, n, OP_GET_LOCAL, tmp[k]);
      else op0(e, n, OP_NONE);
    }
  }
  const char **names = xrealloc(NULL, (nf ? nf : 1) * sizeof(char *));
  for (uint32_t k = 0; k < nf; k++) names[k] = t->fields[k].name;
  mark(e, n);
  op1(e, n, OP_RECORD, shape_const(e, names, nf));
  free(names);
  free(by_field);
  free(tmp);
  free(field_of);
}

static void emit_record(Emitter *e, Node *n) { emit_record_of(e, n, &n->u.list.items, n->type); }

/* A variant built: its record (node `extra`, from the checker), whose
 * tag field no initializer gives, so it is filled first. */
static void emit_variant(Emitter *e, Node *n) {
  const Type *vr = n->extra;
  if (!vr || vr->kind != TY_RECORD || vr->nfields == 0 || vr->fields[0].type->kind != TY_UNION) {
    internal_error(e, n, "variant without its record type");
    op0(e, n, OP_NONE);
    return;
  }
  /* the tag field is always given: a string literal of the tag */
  NodeList items = n->u.variant.fields;
  Node tag;
  memset(&tag, 0, sizeof tag);
  tag.kind = N_STRING;
  tag.span = n->span;
  tag.type = vr->fields[0].type;
  tag.u.lit.str = vr->fields[0].type->lits[0];
  tag.u.lit.len = strlen(tag.u.lit.str);
  Node init;
  memset(&init, 0, sizeof init);
  init.kind = N_FIELD_INIT;
  init.span = n->span;
  init.u.init.name = "type";
  init.u.init.value = &tag;
  Node **all = xrealloc(NULL, (items.n + 1) * sizeof *all);
  all[0] = &init;
  for (uint32_t i = 0; i < items.n; i++) all[i + 1] = items.items[i];
  NodeList l = {all, items.n + 1, items.n + 1};
  emit_record_of(e, n, &l, vr);
  free(all);
}

/* Rule (the TRY contract): try E =
 *   TRY -> caught; CONST "Ok"; E; TRY_END; RECORD {type, value}; JUMP end;
 *   caught: (the VM pushed Failed { error }) end:
 * Both paths leave one value: the result[T] variant. */
static void emit_try(Emitter *e, Node *n) {
  FnEmit *f = e->fn;
  int32_t d = f->depth;
  uint32_t h = jump_fwd(e, n, OP_TRY);
  f->tries++;
  emit_string(e, n, "Ok", 2);
  emit_value(e, n->u.unary.operand);
  f->tries--;
  op0(e, n, OP_TRY_END);
  static const char *const names[] = {"type", "value"};
  op1(e, n, OP_RECORD, shape_const(e, names, 2));
  uint32_t end = jump_fwd(e, n, OP_JUMP);
  patch(e, h, here(e));
  f->depth = d + 1;
  patch(e, end, here(e));
}

/* Calls, by what the checker resolved (CallInfo). */
static void emit_call(Emitter *e, Node *n) {
  CallInfo *ci = n->extra;
  NodeList *args = &n->u.call.args;
  if (!ci) {
    internal_error(e, n, "call without CallInfo");
    op0(e, n, OP_NONE);
    return;
  }
  switch (ci->kind) {
  case CALL_FN: {
    Symbol *fs = ci->fn;
    if (!fs || fs->index < 0 || !ci->fn_decl || ci->fn_decl->kind != N_FN) {
      internal_error(e, n, "call of an unresolved function");
      op0(e, n, OP_NONE);
      return;
    }
    op1(e, n, OP_FUNC, (uint32_t)fs->index);
    for (uint32_t i = 0; i < args->n; i++) emit_value(e, args->items[i]);
    /* Rule: omitted trailing parameters take their (constant) defaults. */
    NodeList *params = &ci->fn_decl->u.fn.params;
    for (uint32_t i = args->n; i < params->n; i++) {
      Node *def = params->items[i]->u.param.def;
      if (!def) {
        internal_error(e, n, "argument %u of `%s` is missing and has no default", i + 1, fs->name);
        op0(e, n, OP_NONE);
      } else {
        emit_value(e, def);
      }
    }
    uint32_t argc = args->n > params->n ? args->n : params->n;
    mark(e, n);
    op1(e, n, OP_CALL, argc);
    return;
  }
  case CALL_NATIVE:
    if (!ci->native) {
      internal_error(e, n, "native call without a native");
      op0(e, n, OP_NONE);
      return;
    }
    for (uint32_t i = 0; i < args->n; i++) emit_value(e, args->items[i]);
    mark(e, n);
    encode(e, n, OP_CALL_NATIVE, native_index(e, ci->native->key, ci->native), args->n, 0);
    return;
  case CALL_FROM_JSON:
    if (args->n != 1 || !n->type) {
      internal_error(e, n, "from_json needs one argument and a type");
      op0(e, n, OP_NONE);
      return;
    }
    emit_value(e, args->items[0]);
    mark(e, n);
    op1(e, n, OP_FROM_JSON, type_desc(e, n, n->type));
    return;
  case CALL_VALUE:
    emit_value(e, n->u.call.callee);
    for (uint32_t i = 0; i < args->n; i++) emit_value(e, args->items[i]);
    mark(e, n);
    op1(e, n, OP_CALL, args->n);
    return;
  }
  internal_error(e, n, "unknown call kind");
  op0(e, n, OP_NONE);
}

static void emit_function_into(Emitter *e, uint32_t idx, Node *owner, NodeList *params, Node *body,
                               bool is_void, bool arrow);

/* Reserves the next function index (Module.funcs order). */
static uint32_t reserve_func(Emitter *e) {
  e->funcs = grow_array(e->funcs, &e->funcs_cap, e->nfuncs + 1, sizeof(FuncProto), 16);
  memset(&e->funcs[e->nfuncs], 0, sizeof(FuncProto));
  return e->nfuncs++;
}

static uint32_t line_of(Emitter *e, const Node *n) {
  Source *src = src_get(e->p->sources, n->span.file);
  uint32_t line = 0, col = 0;
  if (src) src_line_col(src, n->span.start, &line, &col);
  return line;
}

/* Rule: a function value with captures -> push each captured symbol (as
 * seen from the creating function, in capture order), CLOSURE fn n. */
static void emit_lambda_named(Emitter *e, Node *n, const char *field);
static void emit_lambda(Emitter *e, Node *n) { emit_lambda_named(e, n, NULL); }

/* A fan-out branch is named <fanout@LINE> (<fanout@LINE.field> for a
 * record fan-out) in listings and stack traces. */
static void emit_lambda_named(Emitter *e, Node *n, const char *field) {
  uint32_t idx = reserve_func(e);
  Buf name;
  buf_init(&name);
  buf_printf(&name, n->u.lambda.branch ? "<fanout@%u" : "<lambda@%u", line_of(e, n));
  if (field) buf_printf(&name, ".%s", field);
  buf_putc(&name, '>');
  e->funcs[idx].name = strdup(name.data);
  buf_free(&name);
  bool is_void = n->type && n->type->kind == TY_FN && n->type->ret && n->type->ret->kind == TY_VOID;
  SymList *caps = n->extra;
  e->funcs[idx].ncaptures = (uint16_t)(caps ? caps->n : 0);
  if (caps && caps->n > EMIT_MAX_U16) limit_error(e, n, "number of captured variables", EMIT_MAX_U16);
  e->funcs[idx].file = e->file_index[e->fn->src_file];
  e->funcs[idx].line = line_of(e, n);
  emit_function_into(e, idx, n, &n->u.lambda.params, n->u.lambda.body, is_void, n->u.lambda.arrow);
  if (!caps || caps->n == 0) {
    op1(e, n, OP_FUNC, idx);
    return;
  }
  for (uint32_t i = 0; i < caps->n; i++) emit_sym_value(e, n, caps->items[i]);
  mark(e, n);
  encode(e, n, OP_CLOSURE, idx, caps->n, 0);
}

static Opcode binary_opcode(Op op) {
  switch (op) {
  case AOP_ADD: return OP_ADD;
  case AOP_SUB: return OP_SUB;
  case AOP_MUL: return OP_MUL;
  case AOP_DIV: return OP_DIV;
  case AOP_MOD: return OP_MOD;
  case AOP_EQ: return OP_EQ;
  case AOP_NE: return OP_NE;
  case AOP_LT: return OP_LT;
  case AOP_LE: return OP_LE;
  case AOP_GT: return OP_GT;
  case AOP_GE: return OP_GE;
  default: return OP__COUNT;
  }
}

/* Rule: `a and b` = a; JUMP_IF_FALSE L1; b; JUMP L2; L1: FALSE; L2:
 * (`or` mirrors it with JUMP_IF_TRUE and TRUE). */
static void emit_logic(Emitter *e, Node *n) {
  bool is_and = n->u.binary.op == AOP_AND;
  emit_value(e, n->u.binary.lhs);
  uint32_t short_jump = jump_fwd(e, n, is_and ? OP_JUMP_IF_FALSE : OP_JUMP_IF_TRUE);
  int32_t d = e->fn->depth;
  emit_value(e, n->u.binary.rhs);
  uint32_t end_jump = jump_fwd(e, n, OP_JUMP);
  patch(e, short_jump, here(e));
  e->fn->depth = d;
  op0(e, n, is_and ? OP_FALSE : OP_TRUE);
  patch(e, end_jump, here(e));
}

/* Literal numbers negated at compile time: `-5` is one constant. */
static bool emit_negated_literal(Emitter *e, Node *n) {
  Node *x = n->u.unary.operand;
  if (!x) return false;
  switch (x->kind) {
  case N_INT:
    if (x->u.lit.i == INT64_MIN) return false;
    emit_const(e, n, K_INT, v_int(-x->u.lit.i));
    return true;
  case N_FLOAT: emit_const(e, n, K_FLOAT, v_float(-x->u.lit.f)); return true;
  case N_DURATION:
    if (x->u.lit.i == INT64_MIN) return false;
    emit_const(e, n, K_DURATION, v_duration(-x->u.lit.i));
    return true;
  default: return false;
  }
}

/* Rule: ask R P -> T = P; ASK role(R) desc(T)   (ASK_TEXT without -> T).
 * The descriptor index must stay below ASK_TEXT, which means "text". */
/* One per-call setting of `ask r with { … }`, or none when not given. */
static void emit_ask_setting(Emitter *e, Node *n, const char *name) {
  NodeList *fs = &n->u.ask.with->u.list.items;
  for (uint32_t i = 0; i < fs->n; i++) {
    Node *f = fs->items[i];
    if (f && f->kind == N_FIELD_INIT && strcmp(f->u.init.name, name) == 0 && f->u.init.value) {
      emit_value(e, f->u.init.value);
      return;
    }
  }
  op0(e, n, OP_NONE);
}

/* Rule: ask R P -> T, R a role item      =>  P; ASK <R> <T>
 *       ask R [with { S }] P -> T        =>  R; [t; p; m; s;] P; ASK_ROLE <T> <S given>
 * A role item without settings needs no value; anything else evaluates
 * the role (ROLE for an item), then the four settings in a fixed order
 * (none for those not given), then the prompt. */
static void emit_ask(Emitter *e, Node *n) {
  Node *rn = n->u.ask.role;
  if (n->u.ask.lowered) {
    emit_value(e, n->u.ask.lowered);
    return;
  }
  if (n->u.ask.turns) { /* Rule: a step = P; TURNS; STEP <R> <T> */
    Symbol *srs = rn ? rn->sym : NULL;
    if (!srs || srs->kind != SYM_ROLE || srs->index < 0) {
      internal_error(e, n, "step of a role without an index");
      return;
    }
    emit_value(e, n->u.ask.prompt);
    emit_value(e, n->u.ask.turns);
    uint32_t std_ = ASK_TEXT;
    if (n->extra) {
      std_ = type_desc(e, n, n->extra);
      if (std_ >= ASK_TEXT) {
        limit_error(e, n, "number of type descriptors", ASK_TEXT - 1);
        std_ = 0;
      }
    }
    mark(e, n);
    encode(e, n, OP_STEP, (uint32_t)srs->index, std_, 0);
    return;
  }
  Symbol *rs = rn ? rn->sym : NULL;
  bool item = rs && rs->kind == SYM_ROLE;
  bool with = n->u.ask.with && n->u.ask.with->kind == N_RECORD;
  if (item && rs->index < 0) {
    internal_error(e, n, "ask of a role without an index");
    return;
  }
  if (!item || with) {
    emit_value(e, rn);
    if (with) {
      static const char *const order[ASK_SETTINGS] = {"temperature", "top_p", "max_tokens", "stop"};
      for (uint32_t i = 0; i < ASK_SETTINGS; i++) emit_ask_setting(e, n, order[i]);
    }
  }
  emit_value(e, n->u.ask.prompt);
  uint32_t td = ASK_TEXT;
  if (n->u.ask.type) {
    td = type_desc(e, n, n->type);
    if (td >= ASK_TEXT) {
      limit_error(e, n, "number of type descriptors", ASK_TEXT - 1);
      td = 0;
    }
  }
  mark(e, n);
  if (item && !with) encode(e, n, OP_ASK, (uint32_t)rs->index, td, 0);
  else encode(e, n, OP_ASK_ROLE, td, with ? 1 : 0, 0);
}

/* Rule: generate fn(P) -> R by ROLE prompt  =>  prompt; GENERATE <ROLE> <{P}> <R>
 * The parameters go as one TD_RECORD (the checker built it, n->extra),
 * field i for parameter i; no result is GEN_NO_RESULT. Every descriptor
 * index stays below GEN_NO_RESULT. */
static void emit_generate(Emitter *e, Node *n) {
  Node *rn = n->u.gen.role;
  Symbol *rs = rn ? rn->sym : NULL;
  if (!rs || rs->kind != SYM_ROLE || rs->index < 0 || !n->extra || !n->type || n->type->kind != TY_FN) {
    internal_error(e, n, "generate by a role without an index");
    return;
  }
  emit_value(e, n->u.gen.prompt);
  uint32_t params = type_desc(e, n, n->extra);
  uint32_t result = GEN_NO_RESULT;
  if (n->u.gen.ret) result = type_desc(e, n->u.gen.ret, n->type->ret);
  if (params >= GEN_NO_RESULT || (n->u.gen.ret && result >= GEN_NO_RESULT)) {
    limit_error(e, n, "number of type descriptors", GEN_NO_RESULT - 1);
    params = result = 0;
  }
  mark(e, n);
  encode3(e, n, OP_GENERATE, (uint32_t)rs->index, params, result, 0);
}

/* Rule: loop s = init max N { body } until c [else x] =
 *   init; SET_LOCAL s; N; SET_LOCAL n
 *   GET_LOCAL n; CONST 0; LT; JUMP_IF_FALSE ok; <"… max " n>; FAIL
 *   ok: CONST 0; SET_LOCAL i            (no check when N is an int literal)
 *   head: GET_LOCAL i; GET_LOCAL n; LT; JUMP_IF_FALSE bound
 *   body; SET_LOCAL s; GET_LOCAL i; CONST 1; ADD; SET_LOCAL i
 *   c; GET_LOCAL i; CALL_NATIVE trace_loop 2; JUMP_IF_FALSE head; GET_LOCAL s; JUMP end
 *   bound: x  |  <"loop reached its bound (max " n ") …">; FAIL
 *   end:
 * n and i are hidden locals; the body runs at most N times and `until` is
 * tested after each run, on the new state. */
static void emit_loop(Emitter *e, Node *n) {
  FnEmit *f = e->fn;
  int32_t d = f->depth;
  emit_value(e, n->u.loop.init);
  uint32_t state = declare(e, n);
  op1(e, n, OP_SET_LOCAL, state);
  uint32_t bound = new_slot(e, n), count = new_slot(e, n);
  emit_value(e, n->u.loop.max);
  op1(e, n, OP_SET_LOCAL, bound);
  if (n->u.loop.max->kind != N_INT) { /* an int literal is never negative */
    mark(e, n);
    op1(e, n, OP_GET_LOCAL, bound);
    emit_const(e, n, K_INT, v_int(0));
    op0(e, n, OP_LT);
    uint32_t ok = jump_fwd(e, n, OP_JUMP_IF_FALSE);
    static const char neg[] = "a loop bound must be 0 or more, got max ";
    emit_string(e, n, neg, sizeof neg - 1);
    op1(e, n, OP_GET_LOCAL, bound);
    op0(e, n, OP_TOSTR);
    op1(e, n, OP_CONCAT, 2);
    op0(e, n, OP_FAIL);
    patch(e, ok, here(e));
  }
  emit_const(e, n, K_INT, v_int(0));
  op1(e, n, OP_SET_LOCAL, count);
  uint32_t head = here(e);
  op1(e, n, OP_GET_LOCAL, count);
  op1(e, n, OP_GET_LOCAL, bound);
  op0(e, n, OP_LT);
  uint32_t to_bound = jump_fwd(e, n, OP_JUMP_IF_FALSE);
  Loop *outer = f->loop;
  f->loop = NULL; /* break/continue cannot target a loop body (checked) */
  emit_value(e, n->u.loop.body);
  f->loop = outer;
  op1(e, n, OP_SET_LOCAL, state);
  op1(e, n, OP_GET_LOCAL, count);
  emit_const(e, n, K_INT, v_int(1));
  op0(e, n, OP_ADD);
  op1(e, n, OP_SET_LOCAL, count);
  emit_value(e, n->u.loop.until);
  /* the trace's `loop` event (a no-op without --trace); gives c back */
  op1(e, n, OP_GET_LOCAL, count);
  encode(e, n, OP_CALL_NATIVE, native_index(e, "trace_loop", native_find(e->p->natives, "trace_loop")), 2, 0);
  uint32_t again = jump_fwd(e, n->u.loop.until, OP_JUMP_IF_FALSE);
  patch(e, again, head);
  op1(e, n, OP_GET_LOCAL, state);
  uint32_t to_end = jump_fwd(e, n, OP_JUMP);
  patch(e, to_bound, here(e));
  f->depth = d;
  if (n->u.loop.else_) {
    emit_value(e, n->u.loop.else_);
  } else {
    mark(e, n); /* the error points at the loop */
    static const char a[] = "loop reached its bound (max ", b[] = ") without `until` holding";
    emit_string(e, n, a, sizeof a - 1);
    op1(e, n, OP_GET_LOCAL, bound);
    op0(e, n, OP_TOSTR);
    emit_string(e, n, b, sizeof b - 1);
    op1(e, n, OP_CONCAT, 3);
    op0(e, n, OP_FAIL);
  }
  patch(e, to_end, here(e));
  f->depth = d + 1;
}

/* Rule (the FANOUT contract in vm/opcodes.h):
 *   fanout x in xs [limit N] { b }  =  xs; <closure fn(x) => b>; N | NONE; FANOUT 0
 *   fanout { a: e1, b: e2 }         =  <closure fn() => e1>; <closure fn() => e2>;
 *                                      RECORD {a, b}; NONE; NONE; FANOUT 1 */
static void emit_fanout(Emitter *e, Node *n) {
  if (n->u.fanout.iter) {
    emit_value(e, n->u.fanout.iter);
    emit_value(e, n->u.fanout.branch);
    if (n->u.fanout.limit) emit_value(e, n->u.fanout.limit);
    else op0(e, n, OP_NONE);
    mark(e, n);
    op1(e, n, OP_FANOUT, 0);
    return;
  }
  NodeList *fl = &n->u.fanout.fields;
  const char **names = xrealloc(NULL, (fl->n ? fl->n : 1) * sizeof(char *));
  for (uint32_t i = 0; i < fl->n; i++) {
    names[i] = fl->items[i]->u.init.name;
    emit_lambda_named(e, fl->items[i]->u.init.value, names[i]);
  }
  mark(e, n);
  op1(e, n, OP_RECORD, shape_const(e, names, fl->n));
  free(names);
  op0(e, n, OP_NONE);
  op0(e, n, OP_NONE);
  op1(e, n, OP_FANOUT, 1);
}

/* Rule (the BARRIER contract): barrier t [tolerate N|P%] [first K] [timeout D] =
 *   t; N | CONST P.0 | NONE; K | NONE; D | NONE; BARRIER bits
 * with BARRIER_TOLERATE or BARRIER_TOLERATE_P, BARRIER_FIRST, BARRIER_TIMEOUT
 * set for the modifiers given. */
static void emit_barrier(Emitter *e, Node *n) {
  uint32_t bits = 0;
  Node *tol = n->u.barrier.tolerate;
  emit_value(e, n->u.barrier.tasks);
  if (!tol) {
    op0(e, n, OP_NONE);
  } else if (tol->kind == N_PERCENT) {
    emit_const(e, tol, K_FLOAT, v_float(tol->u.lit.f));
    bits |= BARRIER_TOLERATE_P;
  } else {
    emit_value(e, tol);
    bits |= BARRIER_TOLERATE;
  }
  if (n->u.barrier.first) {
    emit_value(e, n->u.barrier.first);
    bits |= BARRIER_FIRST;
  } else {
    op0(e, n, OP_NONE);
  }
  if (n->u.barrier.timeout) {
    emit_value(e, n->u.barrier.timeout);
    bits |= BARRIER_TIMEOUT;
  } else {
    op0(e, n, OP_NONE);
  }
  mark(e, n);
  op1(e, n, OP_BARRIER, bits);
}

/* Rule (the BUDGET contract): budget { limits } { body } [else { e }] =
 *   BODY-CLOSURE; ELSE-CLOSURE | NONE; calls | NONE; tokens | NONE;
 *   usd | NONE; time | NONE; BUDGET bits
 * with BUDGET_CALLS, _TOKENS, _USD, _TIME set for the limits given (their
 * expressions are evaluated in that order, whatever the source order). */
static void emit_budget(Emitter *e, Node *n) {
  static const char *const names[] = {"calls", "tokens", "usd", "time"};
  static const uint32_t flag[] = {BUDGET_CALLS, BUDGET_TOKENS, BUDGET_USD, BUDGET_TIME};
  uint32_t bits = 0;
  emit_lambda_named(e, n->u.budget.body, "budget");
  if (n->u.budget.else_) emit_lambda_named(e, n->u.budget.else_, "budget else");
  else op0(e, n, OP_NONE);
  for (uint32_t k = 0; k < 4; k++) {
    Node *v = NULL;
    NodeList *ls = &n->u.budget.limits;
    for (uint32_t i = 0; i < ls->n; i++)
      if (ls->items[i] && ls->items[i]->kind == N_FIELD_INIT && strcmp(ls->items[i]->u.init.name, names[k]) == 0)
        v = ls->items[i]->u.init.value;
    if (v) {
      emit_value(e, v);
      bits |= flag[k];
    } else {
      op0(e, n, OP_NONE);
    }
  }
  mark(e, n);
  op1(e, n, OP_BUDGET, bits);
}

/* Expressions that always leave exactly one value. */
static void emit_value_node(Emitter *e, Node *n) {
  switch (n->kind) {
  case N_INT: emit_const(e, n, K_INT, v_int(n->u.lit.i)); return;
  case N_FLOAT: emit_const(e, n, K_FLOAT, v_float(n->u.lit.f)); return;
  case N_DURATION: emit_const(e, n, K_DURATION, v_duration(n->u.lit.i)); return;
  case N_BOOL: op0(e, n, n->u.lit.b ? OP_TRUE : OP_FALSE); return;
  case N_NONE: op0(e, n, OP_NONE); return;
  case N_STRING: emit_string(e, n, n->u.lit.str, n->u.lit.len); return;
  case N_INTERP: emit_interp(e, n); return;
  case N_NAME: emit_sym_value(e, n, n->sym); return;
  case N_LIST:
    for (uint32_t i = 0; i < n->u.list.items.n; i++) emit_value(e, n->u.list.items.items[i]);
    mark(e, n);
    op1(e, n, OP_LIST, n->u.list.items.n);
    return;
  case N_MAP:
    for (uint32_t i = 0; i < n->u.list.items.n; i++) {
      Node *entry = n->u.list.items.items[i];
      emit_value(e, entry->u.init.key);
      emit_value(e, entry->u.init.value);
    }
    mark(e, n);
    op1(e, n, OP_MAP, n->u.list.items.n);
    return;
  case N_RECORD: emit_record(e, n); return;
  case N_VARIANT: emit_variant(e, n); return;
  case N_WITH:
    emit_value(e, n->u.with.object);
    for (uint32_t i = 0; i < n->u.with.fields.n; i++) {
      Node *fi = n->u.with.fields.items[i];
      emit_value(e, fi->u.init.value);
      mark(e, fi);
      op1(e, fi, OP_WITH, string_const(e, fi->u.init.name));
    }
    return;
  case N_FIELD:
    if (n->sym) {
      emit_sym_value(e, n, n->sym); /* lib.f: a function of an imported module */
      return;
    }
    emit_value(e, n->u.field.object);
    mark(e, n);
    op1(e, n, OP_GET_FIELD, string_const(e, n->u.field.name));
    return;
  case N_INDEX:
    emit_value(e, n->u.index.object);
    emit_value(e, n->u.index.index);
    mark(e, n);
    op0(e, n, OP_INDEX);
    return;
  case N_UNARY:
    if (n->u.unary.op == AOP_NEG && emit_negated_literal(e, n)) return;
    emit_value(e, n->u.unary.operand);
    mark(e, n);
    op0(e, n, n->u.unary.op == AOP_NOT ? OP_NOT : OP_NEG);
    return;
  case N_BINARY: {
    if (n->u.binary.op == AOP_AND || n->u.binary.op == AOP_OR) {
      emit_logic(e, n);
      return;
    }
    Opcode op = binary_opcode(n->u.binary.op);
    if (op == OP__COUNT) {
      internal_error(e, n, "unknown binary operator");
      op0(e, n, OP_NONE);
      return;
    }
    emit_value(e, n->u.binary.lhs);
    emit_value(e, n->u.binary.rhs);
    mark(e, n);
    op0(e, n, op);
    return;
  }
  case N_CALL: emit_call(e, n); return;
  case N_LAMBDA: emit_lambda(e, n); return;
  case N_ASK: emit_ask(e, n); return;
  case N_GENERATE: emit_generate(e, n); return;
  case N_LOOP: emit_loop(e, n); return;
  case N_FANOUT: emit_fanout(e, n); return;
  case N_BARRIER: emit_barrier(e, n); return;
  case N_BUDGET: emit_budget(e, n); return;
  case N_TRY: emit_try(e, n); return;
  /* verify and tournament run the expression desugaring lowered them to */
  case N_VERIFY: emit_value(e, n->u.verify.lowered); return;
  case N_TOURNAMENT: emit_value(e, n->u.tourn.lowered); return;
  case N_ROLE_INDEX: /* a verifier: the role item or role value it names */
    emit_value(e, n->u.role_index.role);
    return;
  default:
    internal_error(e, n, "cannot lower a %s node", ast_kind_name(n->kind));
    op0(e, n, OP_NONE);
    return;
  }
}

/* Rule: if c {a} else {b} = c; JUMP_IF_FALSE Lelse; a; JUMP Lend; Lelse: b; Lend:
 * An `if` without else has no value (none when one is wanted). */
static void emit_if(Emitter *e, Node *n, bool want) {
  Node *els = n->u.if_.else_;
  emit_value(e, n->u.if_.cond);
  uint32_t to_else = jump_fwd(e, n, OP_JUMP_IF_FALSE);
  int32_t d = e->fn->depth;
  emit_expr(e, n->u.if_.then_, want && els);
  if (els) {
    uint32_t to_end = jump_fwd(e, n, OP_JUMP);
    patch(e, to_else, here(e));
    e->fn->depth = d;
    emit_expr(e, els, want);
    patch(e, to_end, here(e));
  } else {
    patch(e, to_else, here(e));
    if (want) op0(e, n, OP_NONE);
  }
}

/* Pushes whether the hidden local hs equals the literal of pattern pat. */
static void emit_lit_test(Emitter *e, Node *pat, uint32_t hs) {
  Node *lit = pat->u.pat.lit;
  op1(e, pat, OP_GET_LOCAL, hs);
  if (!lit || lit->kind == N_NONE) {
    op0(e, pat, OP_IS_NONE);
  } else {
    emit_value(e, lit);
    op0(e, pat, OP_EQ);
  }
}

/* Rule: the subject goes into a hidden local; each arm tests it and jumps
 * to the next arm on failure; an unconditional arm ends the chain. If no
 * arm is unconditional, falling past the last one fails (the checker
 * proves exhaustiveness, this keeps the bytecode closed). An or-pattern
 * tests its alternatives in order: each but the last jumps to the body
 * when it holds, the last jumps to the next arm when it does not. */
static void emit_match(Emitter *e, Node *n, bool want) {
  Node *subject = n->u.match_.subject;
  emit_value(e, subject);
  uint32_t hs = new_slot(e, n);
  op1(e, n, OP_SET_LOCAL, hs);
  bool optional = subject && subject->type && subject->type->kind == TY_OPTIONAL;
  int32_t d = e->fn->depth;
  NodeList *arms = &n->u.match_.arms;
  uint32_t *ends = xrealloc(NULL, (arms->n ? arms->n : 1) * sizeof(uint32_t));
  uint32_t nends = 0;
  bool closed = false;
  for (uint32_t i = 0; i < arms->n && !closed; i++) {
    Node *arm = arms->items[i];
    Node *pat = arm->u.arm.pattern;
    uint32_t next = NO_PATCH, next_none = NO_PATCH;
    mark(e, arm);
    switch (pat ? pat->kind : N_ERROR) {
    case N_PAT_WILD: closed = true; break;
    case N_PAT_LIT:
      emit_lit_test(e, pat, hs);
      next = jump_fwd(e, pat, OP_JUMP_IF_FALSE);
      break;
    case N_PAT_OR: {
      NodeList *alts = &pat->u.list.items;
      uint32_t *hits = xrealloc(NULL, (alts->n ? alts->n : 1) * sizeof(uint32_t));
      uint32_t nhits = 0;
      for (uint32_t k = 0; k < alts->n; k++) {
        Node *alt = alts->items[k];
        if (!alt || alt->kind != N_PAT_LIT) {
          internal_error(e, pat, "or-pattern alternative that is not a literal");
          continue;
        }
        emit_lit_test(e, alt, hs);
        if (k + 1 < alts->n) hits[nhits++] = jump_fwd(e, alt, OP_JUMP_IF_TRUE);
        else next = jump_fwd(e, alt, OP_JUMP_IF_FALSE);
      }
      for (uint32_t k = 0; k < nhits; k++) patch(e, hits[k], here(e));
      free(hits);
      break;
    }
    case N_PAT_BIND:
      if (optional) {
        op1(e, pat, OP_GET_LOCAL, hs);
        op0(e, pat, OP_IS_NONE);
        next = jump_fwd(e, pat, OP_JUMP_IF_TRUE);
      } else {
        closed = true;
      }
      op1(e, pat, OP_GET_LOCAL, hs);
      op1(e, pat, OP_SET_LOCAL, declare(e, pat));
      break;
    case N_PAT_VARIANT: {
      /* the tag field, then the fields bound */
      if (optional) {
        op1(e, pat, OP_GET_LOCAL, hs);
        op0(e, pat, OP_IS_NONE);
        next_none = jump_fwd(e, pat, OP_JUMP_IF_TRUE);
      }
      op1(e, pat, OP_GET_LOCAL, hs);
      op1(e, pat, OP_GET_FIELD, string_const(e, "type"));
      emit_string(e, pat, pat->u.variant.name, strlen(pat->u.variant.name));
      op0(e, pat, OP_EQ);
      next = jump_fwd(e, pat, OP_JUMP_IF_FALSE);
      NodeList *fl = &pat->u.variant.fields;
      for (uint32_t k = 0; k < fl->n; k++) {
        Node *b = fl->items[k]->u.init.value;
        if (!b || b->kind != N_PAT_BIND) continue;
        op1(e, b, OP_GET_LOCAL, hs);
        op1(e, b, OP_GET_FIELD, string_const(e, fl->items[k]->u.init.name));
        op1(e, b, OP_SET_LOCAL, declare(e, b));
      }
      break;
    }
    default:
      internal_error(e, arm, "match arm without a pattern");
      closed = true;
      break;
    }
    emit_expr(e, arm->u.arm.body, want);
    if (!closed) ends[nends++] = jump_fwd(e, arm, OP_JUMP);
    e->fn->depth = d;
    if (next != NO_PATCH) patch(e, next, here(e));
    if (next_none != NO_PATCH) patch(e, next_none, here(e));
  }
  if (!closed) {
    emit_string(e, n, "no match arm fits the value", 27);
    op0(e, n, OP_FAIL);
    e->fn->depth = d;
  }
  for (uint32_t i = 0; i < nends; i++) patch(e, ends[i], here(e));
  free(ends);
  e->fn->depth = d + (want ? 1 : 0);
}

/* Rule: a block runs its statements; its value is the last expression
 * statement when has_value, else none when a value is wanted. */
static void emit_block(Emitter *e, Node *n, bool want) {
  NodeList *sl = &n->u.block.stmts;
  Node *last = sl->n ? sl->items[sl->n - 1] : NULL;
  bool valued = n->u.block.has_value && last && last->kind == N_EXPR_STMT;
  for (uint32_t i = 0; i < sl->n; i++) {
    if (valued && i == sl->n - 1) emit_expr(e, last->u.stmt.expr, want);
    else emit_stmt(e, sl->items[i]);
  }
  if (!valued && want) op0(e, n, OP_NONE);
}

static void emit_expr(Emitter *e, Node *n, bool want) {
  if (!n) {
    internal_error(e, NULL, "missing expression");
    if (want) op0(e, NULL, OP_NONE);
    return;
  }
  mark(e, n);
  switch (n->kind) {
  case N_IF: emit_if(e, n, want); return;
  case N_MATCH: emit_match(e, n, want); return;
  case N_BLOCK: emit_block(e, n, want); return;
  case N_LET: case N_VAR: case N_ASSIGN: case N_EXPR_STMT: case N_FOR:
  case N_BREAK: case N_CONTINUE: case N_RETURN:
    emit_stmt(e, n);
    if (want) op0(e, n, OP_NONE);
    return;
  default:
    emit_value_node(e, n);
    if (!want) op0(e, n, OP_POP);
    return;
  }
}

/* ---- statements ------------------------------------------------------------------ */

/* Rule: for x in xs { body } =
 *   xs; SET_LOCAL l; CONST 0; SET_LOCAL i;
 *   head: ITER l i -> exit; SET_LOCAL x; body; JUMP head; exit:
 * `continue` jumps to head, `break` to exit, each after popping what the
 * loop body had pushed so the depth matches the loop head. */
static void emit_for(Emitter *e, Node *s) {
  FnEmit *f = e->fn;
  emit_value(e, s->u.for_.iter);
  uint32_t list = new_slot(e, s), index = new_slot(e, s);
  op1(e, s, OP_SET_LOCAL, list);
  emit_const(e, s, K_INT, v_int(0));
  op1(e, s, OP_SET_LOCAL, index);
  Loop lp = { f->loop, f->depth, here(e), NULL, 0, 0, f->tries };
  uint32_t iter = encode(e, s, OP_ITER, list, index, 0);
  op1(e, s, OP_SET_LOCAL, declare(e, s));
  f->loop = &lp;
  emit_expr(e, s->u.for_.body, false);
  f->loop = lp.outer;
  jump_back(e, s, lp.head);
  patch(e, iter, here(e));
  for (uint32_t i = 0; i < lp.nbreaks; i++) patch(e, lp.breaks[i], here(e));
  free(lp.breaks);
  f->depth = lp.depth;
}

static void emit_loop_exit(Emitter *e, Node *s, bool is_break) {
  FnEmit *f = e->fn;
  Loop *lp = f->loop;
  if (!lp) {
    internal_error(e, s, "%s outside a loop", is_break ? "break" : "continue");
    return;
  }
  int32_t d = f->depth;
  for (int32_t k = d; k > lp->depth; k--) op0(e, s, OP_POP);
  for (int32_t k = f->tries; k > lp->tries; k--) op0(e, s, OP_TRY_END); /* leaving a try */
  if (is_break) {
    lp->breaks = grow_array(lp->breaks, &lp->cap, lp->nbreaks + 1, sizeof(uint32_t), 4);
    lp->breaks[lp->nbreaks++] = jump_fwd(e, s, OP_JUMP);
  } else {
    jump_back(e, s, lp->head);
  }
  f->depth = d; /* what follows is unreachable */
}

static void emit_stmt(Emitter *e, Node *s) {
  if (!s) {
    internal_error(e, NULL, "missing statement");
    return;
  }
  mark(e, s);
  switch (s->kind) {
  case N_LET: case N_VAR:
    emit_value(e, s->u.decl.value);
    op1(e, s, OP_SET_LOCAL, declare(e, s));
    return;
  case N_ASSIGN: {
    /* Rule: `x = x + e` where e cannot observe x moves x out of its slot
     * (MOVE_LOCAL) so the value stays unshared and ADD appends in place. */
    Node *v = s->u.assign.value;
    if (v->kind == N_BINARY && v->u.binary.op == AOP_ADD && v->u.binary.lhs->kind == N_NAME &&
        v->u.binary.lhs->sym == s->sym && !may_observe(v->u.binary.rhs, s->sym)) {
      mark(e, v);
      op1(e, v->u.binary.lhs, OP_MOVE_LOCAL, local_slot(e, s, s->sym));
      emit_value(e, v->u.binary.rhs);
      mark(e, v);
      op0(e, v, OP_ADD);
    } else {
      emit_value(e, v);
    }
    op1(e, s, OP_SET_LOCAL, local_slot(e, s, s->sym));
    return;
  }
  case N_EXPR_STMT: emit_expr(e, s->u.stmt.expr, false); return;
  case N_FOR: emit_for(e, s); return;
  case N_BREAK: emit_loop_exit(e, s, true); return;
  case N_CONTINUE: emit_loop_exit(e, s, false); return;
  case N_RETURN:
    if (s->u.stmt.expr) emit_value(e, s->u.stmt.expr);
    else op0(e, s, OP_NONE);
    op0(e, s, OP_RETURN);
    return;
  case N_ERROR:
    internal_error(e, s, "syntax error node reached the emitter");
    return;
  default:
    emit_expr(e, s, false);
    return;
  }
}

/* ---- functions ------------------------------------------------------------------- */

/* A main-parameter default the module can hold as a constant. */
static bool is_literal_default(const Node *d) {
  switch (d->kind) {
  case N_NONE: case N_INT: case N_FLOAT: case N_DURATION: case N_BOOL: case N_STRING: return true;
  case N_UNARY: {
    const Node *x = d->u.unary.operand;
    return d->u.unary.op == AOP_NEG && x && (x->kind == N_INT || x->kind == N_FLOAT || x->kind == N_DURATION) &&
           x->u.lit.i != INT64_MIN;
  }
  default: return false;
  }
}

/* Rule: main's compound constant defaults (`xs: list[string] = []`) have
 * no constant form in the module. Such a parameter is declared with a
 * `none` default (MainParam.def = NONE_DEFAULT) and main's prologue
 * replaces none with the default expression:
 *   GET_LOCAL p; IS_NONE; JUMP_IF_FALSE skip; <default>; SET_LOCAL p; skip: */
static void emit_main_defaults(Emitter *e, NodeList *params) {
  for (uint32_t i = 0; i < params->n; i++) {
    Node *pn = params->items[i];
    Node *d = pn->u.param.def;
    if (!d || is_literal_default(d)) continue;
    uint32_t slot = local_slot(e, pn, pn->sym);
    op1(e, pn, OP_GET_LOCAL, slot);
    op0(e, pn, OP_IS_NONE);
    uint32_t skip = jump_fwd(e, pn, OP_JUMP_IF_FALSE);
    emit_value(e, d);
    op1(e, pn, OP_SET_LOCAL, slot);
    patch(e, skip, here(e));
  }
}

/* Emits one function (top-level fn or lambda) into the FuncProto the
 * caller reserved at idx (nested lambdas reserve theirs while this one is
 * being emitted). Parameters take slots 0..arity-1; every function ends
 * with RETURN, void ones returning none. */
static void emit_function_into(Emitter *e, uint32_t idx, Node *owner, NodeList *params, Node *body,
                               bool is_void, bool arrow) {
  FnEmit f;
  memset(&f, 0, sizeof f);
  f.parent = e->fn;
  f.owner = owner;
  f.captures = owner->kind == N_LAMBDA ? owner->extra : NULL;
  f.src_file = owner->span.file;
  e->fn = &f;
  mark(e, owner);
  for (uint32_t i = 0; i < params->n; i++) declare(e, params->items[i]);
  if (params->n > EMIT_MAX_U16) limit_error(e, owner, "number of parameters", EMIT_MAX_U16);
  if (owner->kind == N_FN && e->p->main && owner->sym == e->p->main) emit_main_defaults(e, params);
  if (arrow || !is_void) {
    emit_expr(e, body, true);
  } else {
    emit_expr(e, body, false);
    op0(e, owner, OP_NONE);
  }
  op0(e, owner, OP_RETURN);
  if (f.max_depth > (int32_t)EMIT_MAX_U16) limit_error(e, owner, "operand stack depth", EMIT_MAX_U16);
  FuncProto *fp = &e->funcs[idx];
  fp->arity = (uint16_t)params->n;
  fp->nlocals = (uint16_t)f.nlocals;
  fp->max_stack = (uint16_t)f.max_depth;
  fp->code = f.code;
  fp->code_len = f.len;
  fp->lines = f.lines;
  fp->nlines = f.nlines;
  e->fn = f.parent;
}

static bool fn_is_void(const Node *fn) {
  const Symbol *s = fn->sym;
  return s && s->type && s->type->kind == TY_FN && s->type->ret && s->type->ret->kind == TY_VOID;
}

/* ---- main's signature ---------------------------------------------------------- */

/* The constant a main-parameter default denotes (MainParam.def); see
 * emit_main_defaults for the defaults that are not literals. */
static uint32_t default_const(Emitter *e, Node *pn) {
  Node *d = pn->u.param.def;
  if (!d) return NO_INDEX;
  if (!is_literal_default(d)) return NONE_DEFAULT;
  Module *m = e->m;
  switch (d->kind) {
  case N_NONE: return NONE_DEFAULT;
  case N_INT: return module_add_const(m, K_INT, v_int(d->u.lit.i));
  case N_FLOAT: return module_add_const(m, K_FLOAT, v_float(d->u.lit.f));
  case N_DURATION: return module_add_const(m, K_DURATION, v_duration(d->u.lit.i));
  case N_BOOL: return module_add_const(m, K_BOOL, v_bool(d->u.lit.b));
  case N_STRING: return module_add_string(m, d->u.lit.str ? d->u.lit.str : "", d->u.lit.str ? d->u.lit.len : 0);
  case N_UNARY: {
    Node *x = d->u.unary.operand;
    if (x->kind == N_INT) return module_add_const(m, K_INT, v_int(-x->u.lit.i));
    if (x->kind == N_FLOAT) return module_add_const(m, K_FLOAT, v_float(-x->u.lit.f));
    return module_add_const(m, K_DURATION, v_duration(-x->u.lit.i));
  }
  default: return NONE_DEFAULT;
  }
}

static void emit_main(Emitter *e) {
  Symbol *ms = e->p->main;
  if (!ms) return;
  Node *decl = ms->decl;
  if (!decl || decl->kind != N_FN || ms->index < 0) {
    internal_error(e, decl, "main has no function");
    return;
  }
  Module *m = e->m;
  m->main_fn = (uint32_t)ms->index;
  const Type *ft = ms->type;
  bool has_result = ft && ft->kind == TY_FN && ft->ret && ft->ret->kind != TY_VOID;
  m->main_result = has_result ? type_desc(e, decl->u.fn.ret ? decl->u.fn.ret : decl, ft->ret) : NO_INDEX;
  NodeList *pl = &decl->u.fn.params;
  m->params = xrealloc(NULL, (pl->n ? pl->n : 1) * sizeof(MainParam));
  for (uint32_t i = 0; i < pl->n; i++) {
    Node *pn = pl->items[i];
    const Type *t = pn->type ? pn->type : (pn->sym ? pn->sym->type : NULL);
    MainParam *mp = &m->params[m->nparams++];
    mp->name = strdup(pn->u.param.name ? pn->u.param.name : "");
    mp->type = t ? type_desc(e, pn, t) : NO_INDEX;
    mp->def = default_const(e, pn);
    if (!t) internal_error(e, pn, "parameter `%s` of main has no type", mp->name);
  }
}

/* ---- types -> descriptors -------------------------------------------------------- */

/* Rule: children first (a descriptor refers only to smaller indices);
 * unions become enums of their literals; names and docs are kept. Each
 * Type is lowered once (e->types): the descriptors share as the types do.
 * A union or record wider than a descriptor may be is E0504 at `at`. */
static uint32_t type_desc(Emitter *e, const Node *at, const Type *t);

/* A constrained type: a TD_RANGE (with t's name and doc) around the
 * unnamed descriptor of its base. */
static uint32_t range_desc(Emitter *e, const Node *at, const Type *t) {
  Module *m = e->m;
  const TyRange *r = t->range;
  TypeDesc d;
  memset(&d, 0, sizeof d);
  d.doc = d.name = d.lo = d.hi = NO_INDEX;
  d.elem = NO_INDEX;
  if (t->kind == TY_LIST) {
    d.kind = TD_LIST;
    d.elem = type_desc(e, at, t->elem);
  } else {
    d.kind = t->kind == TY_INT ? TD_INT : t->kind == TY_FLOAT ? TD_FLOAT : TD_STRING;
  }
  uint32_t base = module_add_type(m, &d);
  memset(&d, 0, sizeof d);
  d.kind = TD_RANGE;
  d.elem = base;
  d.lo = !r->has_lo ? NO_INDEX : r->is_float ? module_add_const(m, K_FLOAT, v_float(r->flo)) : module_add_const(m, K_INT, v_int(r->lo));
  d.hi = !r->has_hi ? NO_INDEX : r->is_float ? module_add_const(m, K_FLOAT, v_float(r->fhi)) : module_add_const(m, K_INT, v_int(r->hi));
  d.doc = t->doc ? module_add_string(m, t->doc, strlen(t->doc)) : NO_INDEX;
  d.name = t->name ? module_add_string(m, t->name, strlen(t->name)) : NO_INDEX;
  return module_add_type(m, &d);
}

static uint32_t type_desc(Emitter *e, const Node *at, const Type *t) {
  Module *m = e->m;
  void *known;
  if (t && tmemo_get(&e->types, t, NULL, 0, &known)) return (uint32_t)(uintptr_t)known;
  if (t && t->range) {
    uint32_t idx = range_desc(e, at, t);
    tmemo_put(&e->types, t, NULL, 0, (void *)(uintptr_t)idx);
    return idx;
  }
  TypeDesc d;
  memset(&d, 0, sizeof d);
  d.elem = NO_INDEX;
  uint32_t *members = NULL;
  TypeField *fields = NULL;
  switch (t ? t->kind : TY_ERROR) {
  case TY_INT: d.kind = TD_INT; break;
  case TY_FLOAT: d.kind = TD_FLOAT; break;
  case TY_BOOL: d.kind = TD_BOOL; break;
  case TY_STRING: d.kind = TD_STRING; break;
  case TY_DURATION: d.kind = TD_DURATION; break;
  case TY_NONE: case TY_VOID: case TY_NEVER: d.kind = TD_NONE; break;
  case TY_FN: d.kind = TD_FUNC; break;
  case TY_LIST: case TY_MAP: case TY_OPTIONAL:
    d.kind = t->kind == TY_LIST ? TD_LIST : t->kind == TY_MAP ? TD_MAP : TD_OPTIONAL;
    d.elem = type_desc(e, at, t->elem);
    break;
  case TY_UNION:
    d.kind = TD_ENUM;
    if (t->nlits > MODULE_MAX_MEMBERS) {
      limit_error(e, at, "number of members of a union", MODULE_MAX_MEMBERS);
      break;
    }
    d.n = t->nlits;
    members = xrealloc(NULL, (t->nlits ? t->nlits : 1) * sizeof(uint32_t));
    for (uint32_t i = 0; i < t->nlits; i++) members[i] = module_add_string(m, t->lits[i], strlen(t->lits[i]));
    d.members = members;
    break;
  case TY_RECORD:
    d.kind = TD_RECORD;
    if (t->nfields > MODULE_MAX_MEMBERS) {
      limit_error(e, at, "number of fields of a record", MODULE_MAX_MEMBERS);
      break;
    }
    d.n = t->nfields;
    fields = xrealloc(NULL, (t->nfields ? t->nfields : 1) * sizeof(TypeField));
    for (uint32_t i = 0; i < t->nfields; i++) {
      fields[i].type = type_desc(e, at, t->fields[i].type);
      fields[i].name = module_add_string(m, t->fields[i].name, strlen(t->fields[i].name));
      fields[i].doc = t->fields[i].doc ? module_add_string(m, t->fields[i].doc, strlen(t->fields[i].doc)) : NO_INDEX;
    }
    d.fields = fields;
    break;
  case TY_TAGGED:
    d.kind = TD_TAGGED;
    if (t->nfields > MODULE_MAX_MEMBERS) {
      limit_error(e, at, "number of variants of a union", MODULE_MAX_MEMBERS);
      break;
    }
    d.n = t->nfields;
    members = xrealloc(NULL, (t->nfields ? t->nfields : 1) * sizeof(uint32_t));
    for (uint32_t i = 0; i < t->nfields; i++) members[i] = type_desc(e, at, t->fields[i].type);
    d.members = members;
    break;
  default: d.kind = TD_JSON; break; /* json, generic type variables, roles */
  }
  d.doc = t && t->doc ? module_add_string(m, t->doc, strlen(t->doc)) : NO_INDEX;
  d.name = t && t->name ? module_add_string(m, t->name, strlen(t->name)) : NO_INDEX;
  uint32_t idx = module_add_type(m, &d);
  free(members);
  free(fields);
  if (t) tmemo_put(&e->types, t, NULL, 0, (void *)(uintptr_t)idx);
  return idx;
}

/* ---- the program -------------------------------------------------------------------- */

static void free_funcs(Emitter *e) {
  for (uint32_t i = 0; i < e->nfuncs; i++) {
    free(e->funcs[i].name);
    free(e->funcs[i].code);
    free(e->funcs[i].lines);
  }
  free(e->funcs);
  e->funcs = NULL;
  e->nfuncs = 0;
}

/* One lowering of the program. keep (indexed by top-level function in
 * program order; NULL = all) selects the top-level functions to emit. */
static Module *emit_pass(Program *p, Heap *heap, const bool *keep) {
  Emitter e;
  memset(&e, 0, sizeof e);
  e.p = p;
  e.m = module_new(heap);
  tmemo_init(&e.types);
  SourceSet *ss = p->sources;
  e.file_index = xrealloc(NULL, (ss->n ? ss->n : 1) * sizeof(uint32_t));
  for (uint32_t i = 0; i < ss->n; i++) e.file_index[i] = 0;

  /* Files and the source hash, in program order. */
  uint64_t h = FNV64_INIT;
  for (uint32_t i = 0; i < p->nfiles; i++) {
    Source *src = src_get(ss, p->files[i].file);
    if (!src) continue;
    h = fnv1a64(h, src->text, src->len);
    e.file_index[p->files[i].file] = module_add_file(e.m, src->path ? src->path : "?");
  }
  e.m->source_hash = h;

  /* Roles, in declaration order across files (the checker left each
   * one's validated settings in extra). */
  for (uint32_t i = 0; i < p->nfiles; i++) {
    NodeList *items = &p->files[i].ast.items;
    for (uint32_t k = 0; k < items->n; k++) {
      Node *it = items->items[k];
      if (!it || it->kind != N_ROLE) continue;
      if (!it->sym || !it->extra) {
        internal_error(&e, it, "role without checked settings");
        continue;
      }
      RoleDesc *rd = it->extra;
      /* a tool's schema: the descriptor of its parameters' record, which
       * the checker left as the type of the tool's name in the list */
      for (uint32_t s = 0, t = 0; s < it->u.role.settings.n && rd->ntools; s++) {
        Node *st = it->u.role.settings.items[s];
        if (!st || st->kind != N_FIELD_INIT || strcmp(st->u.init.name, "tools") != 0 || !st->u.init.value) continue;
        NodeList *xs = &st->u.init.value->u.list.items;
        for (uint32_t x = 0; x < xs->n && t < rd->ntools; x++) rd->tools[t++].params = type_desc(&e, xs->items[x], xs->items[x]->type);
      }
      it->sym->index = (int32_t)module_add_role(e.m, rd);
    }
  }

  /* Indices of every (kept) top-level function first, so calls can refer
   * to functions defined later or in other files. */
  uint32_t ordinal = 0;
  for (uint32_t i = 0; i < p->nfiles; i++) {
    NodeList *items = &p->files[i].ast.items;
    for (uint32_t k = 0; k < items->n; k++) {
      Node *it = items->items[k];
      if (!it || it->kind != N_FN) continue;
      if (!it->sym) {
        internal_error(&e, it, "function without a symbol");
        continue;
      }
      if (keep && !keep[ordinal++]) {
        it->sym->index = -1;
        continue;
      }
      uint32_t idx = reserve_func(&e);
      it->sym->index = (int32_t)idx;
      e.funcs[idx].name = strdup(it->u.fn.name ? it->u.fn.name : "?");
      e.funcs[idx].file = e.file_index[p->files[i].file];
      e.funcs[idx].line = line_of(&e, it);
    }
  }
  for (uint32_t i = 0; i < p->nfiles; i++) {
    NodeList *items = &p->files[i].ast.items;
    for (uint32_t k = 0; k < items->n; k++) {
      Node *it = items->items[k];
      if (!it || it->kind != N_FN || !it->sym || it->sym->index < 0) continue;
      emit_function_into(&e, (uint32_t)it->sym->index, it, &it->u.fn.params, it->u.fn.body, fn_is_void(it), false);
    }
  }
  emit_main(&e);
  free(e.file_index);
  tmemo_free(&e.types);

  if (e.nfuncs > EMIT_MAX_U16) limit_error(&e, NULL, "number of functions", EMIT_MAX_U16);
  if (e.failed) {
    free_funcs(&e);
    module_free(e.m);
    return NULL;
  }
  e.m->funcs = e.funcs;
  e.m->nfuncs = e.nfuncs;
  return e.m;
}

/* Which functions main can reach, following FUNC and CLOSURE operands
 * through the bytecode (a worklist; each function is scanned once). */
static bool *reachable_from_main(const Module *m) {
  bool *seen = xrealloc(NULL, (m->nfuncs ? m->nfuncs : 1) * sizeof(bool));
  uint32_t *work = xrealloc(NULL, (m->nfuncs ? m->nfuncs : 1) * sizeof(uint32_t));
  uint32_t nwork = 0;
  for (uint32_t i = 0; i < m->nfuncs; i++) seen[i] = false;
  seen[m->main_fn] = true;
  work[nwork++] = m->main_fn;
  while (nwork) {
    const FuncProto *f = &m->funcs[work[--nwork]];
    for (uint32_t pc = 0; pc < f->code_len; pc += op_info[f->code[pc]].size) {
      Opcode op = (Opcode)f->code[pc];
      if (op != OP_FUNC && op != OP_CLOSURE) continue;
      uint32_t target = op_decode(f->code + pc).a;
      if (target < m->nfuncs && !seen[target]) {
        seen[target] = true;
        work[nwork++] = target;
      }
    }
  }
  free(work);
  return seen;
}

/* Rule: a program's module holds only what main can reach. The whole
 * program (with the prelude and every import) is lowered once; then, if
 * main leaves some top-level function unreachable, it is lowered again
 * with just the reachable ones, in the same order. The second pass keeps
 * the listing (weft disasm) and the module free of unused library code. */
Module *emit_program(Program *p, Heap *heap) {
  Module *all = emit_pass(p, heap, NULL);
  if (!all || all->main_fn == NO_INDEX) return all;
  bool *seen = reachable_from_main(all);
  /* Top-level functions are indices 0..ntop-1 of the first pass. */
  uint32_t ntop = 0;
  for (uint32_t i = 0; i < p->nfiles; i++)
    for (uint32_t k = 0; k < p->files[i].ast.items.n; k++) {
      Node *it = p->files[i].ast.items.items[k];
      if (it && it->kind == N_FN && it->sym) ntop++;
    }
  bool pruned = false;
  for (uint32_t i = 0; i < ntop && i < all->nfuncs; i++)
    if (!seen[i]) pruned = true;
  Module *m = all;
  if (pruned) {
    m = emit_pass(p, heap, seen);
    module_free(all);
  }
  free(seen);
  return m;
}
