/* verify.c — the bytecode verifier, the trust boundary before the VM.
 *
 * The interpreter does no bounds checks of its own on operands, jump
 * targets or stack depth: it relies on every module having passed this
 * verifier. Each function is checked in three linear passes — decode
 * (where do instructions start), operands (indices and constant kinds,
 * jump targets on instruction starts), and stack depth (a worklist over
 * the control-flow graph that visits each instruction once, so depth must
 * agree at every merge) — then the descriptor table, the roles and main's
 * signature.
 * Opcode facts (sizes, formats, stack effects) come from op_info; only the
 * meaning of an operand (local, constant, function) is opcode-specific. */
#include "module.h"
#include "effects.h"
#include "../base/util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "opcodes.h"
#include "vm.h"

static char *vmsg(const char *fmt, va_list ap0) {
  va_list ap;
  va_copy(ap, ap0);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  char *s = xcalloc((size_t)n + 1, 1);
  vsnprintf(s, (size_t)n + 1, fmt, ap0);
  return s;
}

static char *msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *msg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vmsg(fmt, ap);
  va_end(ap);
  return s;
}

/* "function 'fib' at offset 12: <what>" — every code error names both. */
static char *fn_err(const FuncProto *f, uint32_t pc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *fn_err(const FuncProto *f, uint32_t pc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *what = vmsg(fmt, ap);
  va_end(ap);
  char *s = msg("function '%.200s' at offset %u: %s", f->name ? f->name : "?", pc, what);
  free(what);
  return s;
}

static bool is_string_const(const Module *m, uint32_t k) {
  return k < m->nconsts && m->const_kinds[k] == K_STRING;
}

static bool same_string(const ObjString *a, const ObjString *b) {
  return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Whether any two names are equal, in expected linear time: a hostile
 * record with a million fields must not make a quadratic scan. */
static bool has_duplicate_names(ObjString *const *names, uint32_t n) {
  if (n < 2) return false;
  size_t cap = 16;
  while (cap < (size_t)n * 2) cap *= 2;
  uint32_t *slots = xcalloc(cap, sizeof(uint32_t));
  bool dup = false;
  for (uint32_t i = 0; i < n && !dup; i++) {
    size_t h = (size_t)fnv1a64(FNV64_INIT, names[i]->data, names[i]->len) & (cap - 1);
    while (slots[h]) {
      if (same_string(names[slots[h] - 1], names[i])) { dup = true; break; }
      h = (h + 1) & (cap - 1);
    }
    slots[h] = i + 1;
  }
  free(slots);
  return dup;
}

/* Values a RECORD pops come from its shape constant; every other count
 * comes from the opcode list. Operands must already be checked. */
static int pops_of(const Module *m, Opcode op, OpArgs args) {
  if (op == OP_RECORD) return (int)AS_SHAPE(m->consts[args.a])->n;
  return op_stack_pops(op, args);
}

/* Pass 2 for one instruction: operand indices, constant kinds, targets. */
static char *check_operands(const Module *m, const FuncProto *f, const uint8_t *is_start, uint32_t pc) {
  Opcode op = (Opcode)f->code[pc];
  const OpInfo *info = &op_info[op];
  OpArgs a = op_decode(f->code + pc);
  if (strchr(info->format, 'j')) {
    int64_t target = (int64_t)pc + info->size + a.off;
    if (target < 0 || target >= (int64_t)f->code_len || !is_start[target])
      return fn_err(f, pc, "jump target %lld is not an instruction", (long long)target);
  }
  switch (op) {
  case OP_CONST:
    if (a.a >= m->nconsts) return fn_err(f, pc, "CONST %u: no such constant", a.a);
    if (m->const_kinds[a.a] == K_SHAPE) return fn_err(f, pc, "CONST %u: a shape is not a value", a.a);
    break;
  case OP_GET_LOCAL: case OP_SET_LOCAL: case OP_MOVE_LOCAL:
    if (a.a >= f->nlocals) return fn_err(f, pc, "%s %u: local out of range (%u locals)", info->name, a.a, f->nlocals);
    break;
  case OP_GET_CAPTURE:
    if (a.a >= f->ncaptures) return fn_err(f, pc, "GET_CAPTURE %u: capture out of range (%u captures)", a.a, f->ncaptures);
    break;
  case OP_FUNC:
    if (a.a >= m->nfuncs) return fn_err(f, pc, "FUNC %u: no such function", a.a);
    if (m->funcs[a.a].ncaptures) return fn_err(f, pc, "FUNC %u: function needs %u captures", a.a, m->funcs[a.a].ncaptures);
    break;
  case OP_CLOSURE:
    if (a.a >= m->nfuncs) return fn_err(f, pc, "CLOSURE %u: no such function", a.a);
    if (a.b != m->funcs[a.a].ncaptures)
      return fn_err(f, pc, "CLOSURE %u captures %u values but the function has %u", a.a, a.b, m->funcs[a.a].ncaptures);
    break;
  case OP_CALL_NATIVE:
    if (a.a >= m->nnatives || !m->natives[a.a]) return fn_err(f, pc, "CALL_NATIVE %u: no such native", a.a);
    if (a.b != m->natives[a.a]->arity)
      return fn_err(f, pc, "CALL_NATIVE %s with %u arguments (it takes %u)", m->native_names[a.a], a.b, m->natives[a.a]->arity);
    break;
  case OP_RECORD:
    if (a.a >= m->nconsts || m->const_kinds[a.a] != K_SHAPE) return fn_err(f, pc, "RECORD %u: not a shape constant", a.a);
    break;
  case OP_GET_FIELD: case OP_WITH:
    if (!is_string_const(m, a.a)) return fn_err(f, pc, "%s %u: not a string constant", info->name, a.a);
    break;
  case OP_ITER:
    if (a.a >= f->nlocals || a.b >= f->nlocals) return fn_err(f, pc, "ITER %u %u: local out of range (%u locals)", a.a, a.b, f->nlocals);
    break;
  case OP_FROM_JSON:
    if (a.a >= m->ntypes) return fn_err(f, pc, "FROM_JSON %u: no such type descriptor", a.a);
    break;
  case OP_ASK:
    if (a.a >= m->nroles) return fn_err(f, pc, "ASK %u: no such role", a.a);
    if (a.b != ASK_TEXT && a.b >= m->ntypes) return fn_err(f, pc, "ASK: no such type descriptor %u", a.b);
    break;
  case OP_ROLE:
    if (a.a >= m->nroles) return fn_err(f, pc, "ROLE %u: no such role", a.a);
    break;
  case OP_STEP:
    if (a.a >= m->nroles) return fn_err(f, pc, "STEP %u: no such role", a.a);
    if (!m->roles[a.a].ntools) return fn_err(f, pc, "STEP %u: role has no tools", a.a);
    if (a.b != ASK_TEXT && a.b >= m->ntypes) return fn_err(f, pc, "STEP: no such type descriptor %u", a.b);
    break;
  case OP_GENERATE:
    if (a.a >= m->nroles) return fn_err(f, pc, "GENERATE %u: no such role", a.a);
    if (a.b >= m->ntypes) return fn_err(f, pc, "GENERATE: no such type descriptor %u", a.b);
    if (m->types[a.b].kind != TD_RECORD)
      return fn_err(f, pc, "GENERATE: parameters descriptor %u is not a record", a.b);
    if (a.c != GEN_NO_RESULT && a.c >= m->ntypes) return fn_err(f, pc, "GENERATE: no such type descriptor %u", a.c);
    break;
  case OP_ASK_ROLE:
    if (a.a != ASK_TEXT && a.a >= m->ntypes) return fn_err(f, pc, "ASK_ROLE: no such type descriptor %u", a.a);
    if (a.b > 1) return fn_err(f, pc, "ASK_ROLE: settings flag %u is not 0 or 1", a.b);
    break;
  default: break;
  }
  return NULL;
}

typedef struct DepthWalk {
  const FuncProto *f;
  int32_t *depth;     /* per byte offset; -1 = not reached yet */
  uint32_t *work;     /* instruction starts whose successors are pending */
  uint32_t nwork;
} DepthWalk;

/* Records that control reaches `to` from `from` with depth d. */
static char *flow(DepthWalk *w, uint32_t from, uint32_t to, int32_t d) {
  if (to >= w->f->code_len) return fn_err(w->f, from, "execution falls off the end of the code");
  if (w->depth[to] < 0) {
    w->depth[to] = d;
    w->work[w->nwork++] = to;
  } else if (w->depth[to] != d) {
    return fn_err(w->f, from, "stack depth %d differs from depth %d at offset %u", d, w->depth[to], to);
  }
  return NULL;
}

/* Pass 3: one visit per reachable instruction (an offset enters the
 * worklist only when first reached), so the walk is linear. */
static char *check_depth(const Module *m, const FuncProto *f, uint32_t ninstr) {
  DepthWalk w = { f, xcalloc(f->code_len, sizeof(int32_t)), xcalloc(ninstr + 1, sizeof(uint32_t)), 0 };
  for (uint32_t i = 0; i < f->code_len; i++) w.depth[i] = -1;
  w.depth[0] = 0;
  w.work[w.nwork++] = 0;
  char *err = NULL;
  while (!err && w.nwork) {
    uint32_t pc = w.work[--w.nwork];
    int32_t d = w.depth[pc];
    Opcode op = (Opcode)f->code[pc];
    const OpInfo *info = &op_info[op];
    OpArgs a = op_decode(f->code + pc);
    int32_t pops = pops_of(m, op, a);
    if (pops < 0 || d < pops) {
      err = fn_err(f, pc, "stack underflow: %s pops %d values, depth is %d", info->name, pops, d);
      break;
    }
    int32_t nd = d - pops + info->push;
    if (nd > f->max_stack) {
      err = fn_err(f, pc, "stack depth %d exceeds max_stack %u", nd, f->max_stack);
      break;
    }
    uint32_t next = pc + info->size;
    uint32_t target = (uint32_t)((int64_t)pc + info->size + a.off);
    switch (op) {
    case OP_RETURN: case OP_FAIL: break;
    case OP_JUMP: err = flow(&w, pc, target, nd); break;
    case OP_TRY: /* the handler starts with the failure value pushed */
      if (nd + 1 > f->max_stack) {
        err = fn_err(f, pc, "stack depth %d exceeds max_stack %u", nd + 1, f->max_stack);
        break;
      }
      err = flow(&w, pc, next, nd);
      if (!err) err = flow(&w, pc, target, nd + 1);
      break;
    case OP_JUMP_IF_FALSE: case OP_JUMP_IF_TRUE:
      err = flow(&w, pc, next, nd);
      if (!err) err = flow(&w, pc, target, nd);
      break;
    case OP_ITER: /* exhausted: jumps without pushing the element */
      err = flow(&w, pc, next, nd);
      if (!err) err = flow(&w, pc, target, d);
      break;
    default: err = flow(&w, pc, next, nd); break;
    }
  }
  free(w.depth);
  free(w.work);
  return err;
}

static char *verify_function(const Module *m, uint32_t fi) {
  const FuncProto *f = &m->funcs[fi];
  if (!f->name) return msg("function %u has no name", fi);
  if (f->arity > f->nlocals) return fn_err(f, 0, "arity %u exceeds its %u locals", f->arity, f->nlocals);
  if (f->file != NO_INDEX && f->file >= m->nfiles) return fn_err(f, 0, "file %u does not exist", f->file);
  if (f->code_len == 0 || !f->code) return fn_err(f, 0, "execution falls off the end of the code (no code)");

  /* Pass 1: where instructions start. */
  uint8_t *is_start = xcalloc(f->code_len, 1);
  uint32_t ninstr = 0;
  char *err = NULL;
  for (uint32_t pc = 0; pc < f->code_len;) {
    uint8_t op = f->code[pc];
    if (op >= OP__COUNT) { err = fn_err(f, pc, "unknown opcode %u", op); break; }
    if (op_info[op].size > f->code_len - pc) { err = fn_err(f, pc, "%s is cut off by the end of the code", op_info[op].name); break; }
    is_start[pc] = 1;
    ninstr++;
    pc += op_info[op].size;
  }
  /* Pass 2: operands. */
  for (uint32_t pc = 0; !err && pc < f->code_len; pc += op_info[f->code[pc]].size)
    err = check_operands(m, f, is_start, pc);
  free(is_start);
  if (!err) err = check_depth(m, f, ninstr);
  if (err) return err;

  for (uint32_t j = 0; j < f->nlines; j++) {
    if (f->lines[j].pc >= f->code_len) return fn_err(f, f->lines[j].pc, "line table entry %u is outside the code", j);
    if (j && f->lines[j].pc < f->lines[j - 1].pc) return fn_err(f, f->lines[j].pc, "line table is not sorted");
  }
  return NULL;
}

static bool const_tag_ok(uint8_t kind, Value v) {
  switch (kind) {
  case K_INT: return v.tag == V_INT;
  case K_FLOAT: return v.tag == V_FLOAT;
  case K_DURATION: return v.tag == V_DURATION;
  case K_BOOL: return v.tag == V_BOOL;
  case K_STRING: return v_is(v, OBJ_STRING);
  case K_SHAPE: return v_is(v, OBJ_SHAPE);
  default: return false;
  }
}

static char *verify_consts(const Module *m) {
  for (uint32_t i = 0; i < m->nconsts; i++) {
    if (!const_tag_ok(m->const_kinds[i], m->consts[i]))
      return msg("constant %u: kind %u does not match its value", i, m->const_kinds[i]);
    if (m->const_kinds[i] == K_SHAPE) {
      ObjShape *s = AS_SHAPE(m->consts[i]);
      for (uint32_t j = 0; j < s->n; j++)
        if (!s->names[j]) return msg("constant %u: shape member %u has no name", i, j);
      if (has_duplicate_names(s->names, s->n)) return msg("constant %u: shape has a duplicate field name", i);
    }
  }
  return NULL;
}

static bool opt_string(const Module *m, uint32_t k) { return k == NO_INDEX || is_string_const(m, k); }

/* Descriptors may only point at smaller indices, so the table is acyclic
 * and one forward pass checks it; enums and records hold at most
 * MODULE_MAX_MEMBERS entries (what reads a descriptor may then rely on
 * both: no walk loops, none works through a million members). */
static char *verify_types(const Module *m) {
  for (uint32_t i = 0; i < m->ntypes; i++) {
    const TypeDesc *t = &m->types[i];
    if (t->kind >= TD__COUNT) return msg("type descriptor %u: unknown kind %u", i, t->kind);
    if (!opt_string(m, t->doc) || !opt_string(m, t->name))
      return msg("type descriptor %u: doc or name is not a string constant", i);
    switch (t->kind) {
    case TD_LIST: case TD_MAP: case TD_OPTIONAL:
      if (t->elem >= i) return msg("type descriptor %u: element type %u is not an earlier descriptor", i, t->elem);
      break;
    case TD_RANGE: {
      /* what reads a range relies on this: a base that has a measure, and
       * bounds that are numbers of the base's kind */
      if (t->elem >= i) return msg("type descriptor %u: base type %u is not an earlier descriptor", i, t->elem);
      uint8_t b = m->types[t->elem].kind;
      if (b != TD_INT && b != TD_FLOAT && b != TD_STRING && b != TD_LIST)
        return msg("type descriptor %u: a range of a type that has no range", i);
      uint32_t bounds[2] = {t->lo, t->hi};
      for (int j = 0; j < 2; j++) {
        uint32_t k = bounds[j];
        if (k == NO_INDEX) continue;
        if (k >= m->nconsts || (m->const_kinds[k] != K_INT && !(b == TD_FLOAT && m->const_kinds[k] == K_FLOAT)))
          return msg("type descriptor %u: range bound is not a number constant of its base", i);
        /* the checker's rules, which a loaded module cannot be trusted to
         * have followed: a length is never negative, a float bound is finite */
        Value v = m->consts[k];
        if (v.tag == V_FLOAT && !isfinite(v.as.f))
          return msg("type descriptor %u: range bound is not a finite number", i);
        if ((b == TD_STRING || b == TD_LIST) && v.tag == V_INT && v.as.i < 0)
          return msg("type descriptor %u: a length bound is negative", i);
      }
      if (t->lo != NO_INDEX && t->hi != NO_INDEX) {
        Value lo = m->consts[t->lo], hi = m->consts[t->hi];
        double l = lo.tag == V_INT ? (double)lo.as.i : lo.as.f, h = hi.tag == V_INT ? (double)hi.as.i : hi.as.f;
        bool empty = lo.tag == V_INT && hi.tag == V_INT ? lo.as.i > hi.as.i : l > h;
        if (empty) return msg("type descriptor %u: an empty range (lower bound above upper)", i);
      }
      break;
    }
    case TD_ENUM:
      if (t->n > MODULE_MAX_MEMBERS)
        return msg("type descriptor %u: %u enum members (at most %u)", i, t->n, MODULE_MAX_MEMBERS);
      if (t->n && !t->members) return msg("type descriptor %u: enum members missing", i);
      for (uint32_t j = 0; j < t->n; j++)
        if (!is_string_const(m, t->members[j])) return msg("type descriptor %u: enum member %u is not a string constant", i, j);
      break;
    case TD_TAGGED: {
      /* each variant an earlier record whose first field is the tag: what
       * reads a value of the union relies on it */
      if (t->n > MODULE_MAX_MEMBERS)
        return msg("type descriptor %u: %u variants (at most %u)", i, t->n, MODULE_MAX_MEMBERS);
      if (t->n && !t->members) return msg("type descriptor %u: variants missing", i);
      ObjString **tags = xcalloc(t->n ? t->n : 1, sizeof(ObjString *));
      char *bad = NULL;
      for (uint32_t j = 0; j < t->n && !bad; j++) {
        if (t->members[j] >= i) bad = msg("type descriptor %u: variant %u is not an earlier descriptor", i, j);
        else if (!(tags[j] = (ObjString *)module_variant_tag(m, t->members[j])))
          bad = msg("type descriptor %u: variant %u is not a record tagged by its `type` field", i, j);
      }
      if (!bad && has_duplicate_names(tags, t->n)) bad = msg("type descriptor %u: duplicate variant", i);
      free(tags);
      if (bad) return bad;
      break;
    }
    case TD_RECORD: {
      if (t->n > MODULE_MAX_MEMBERS)
        return msg("type descriptor %u: %u record fields (at most %u)", i, t->n, MODULE_MAX_MEMBERS);
      if (t->n && !t->fields) return msg("type descriptor %u: record fields missing", i);
      for (uint32_t j = 0; j < t->n; j++) {
        const TypeField *fl = &t->fields[j];
        if (!is_string_const(m, fl->name)) return msg("type descriptor %u: field %u name is not a string constant", i, j);
        if (fl->type >= i) return msg("type descriptor %u: field %u type %u is not an earlier descriptor", i, j, fl->type);
        if (!opt_string(m, fl->doc)) return msg("type descriptor %u: field %u doc is not a string constant", i, j);
      }
      ObjString **names = xcalloc(t->n, sizeof(ObjString *));
      for (uint32_t j = 0; j < t->n; j++) names[j] = AS_STRING(m->consts[t->fields[j].name]);
      bool dup = has_duplicate_names(names, t->n);
      free(names);
      if (dup) return msg("type descriptor %u: duplicate record field name", i);
      break;
    }
    default: break;
    }
  }
  return NULL;
}

static char *verify_main(const Module *m) {
  if (m->main_fn != NO_INDEX) {
    if (m->main_fn >= m->nfuncs) return msg("main: function %u does not exist", m->main_fn);
    const FuncProto *f = &m->funcs[m->main_fn];
    if (f->arity != m->nparams) return msg("main: function has %u parameters, the module declares %u", f->arity, m->nparams);
    if (f->ncaptures) return msg("main: function must not capture values");
  } else if (m->nparams) {
    return msg("main: parameters without a main function");
  }
  if (m->main_result != NO_INDEX && m->main_result >= m->ntypes)
    return msg("main: result type %u does not exist", m->main_result);
  for (uint32_t i = 0; i < m->nparams; i++) {
    const MainParam *p = &m->params[i];
    if (!p->name) return msg("main: parameter %u has no name", i);
    if (p->type >= m->ntypes) return msg("main: parameter '%.200s' has no type descriptor %u", p->name, p->type);
    if (p->def != NO_INDEX && p->def != NONE_DEFAULT &&
        (p->def >= m->nconsts || m->const_kinds[p->def] == K_SHAPE))
      return msg("main: parameter '%.200s' default %u is not a value constant", p->name, p->def);
  }
  return NULL;
}

/* Roles: what the checker guarantees for a compiled program, so the engine
 * can trust any verified module: a "provider/name" model, settings unset
 * (NaN / -1) or in their ranges. The provider itself is not checked here:
 * the command line may re-map it, and the engine reports unknown ones. */
static char *verify_roles(const Module *m) {
  for (uint32_t i = 0; i < m->nroles; i++) {
    const RoleDesc *r = &m->roles[i];
    if (!r->name || !r->model) return msg("role %u: missing name or model", i);
    const char *slash = strchr(r->model, '/');
    if (!slash || slash == r->model || !slash[1])
      return msg("role '%.200s': model '%.200s' is not \"provider/name\"", r->name, r->model);
    if (!isnan(r->temperature) && !(r->temperature >= 0 && r->temperature <= 2))
      return msg("role '%.200s': temperature out of range", r->name);
    if (!isnan(r->top_p) && !(r->top_p >= 0 && r->top_p <= 1))
      return msg("role '%.200s': top_p out of range", r->name);
    if (r->max_tokens < -1 || r->max_tokens == 0) return msg("role '%.200s': max_tokens out of range", r->name);
    if (r->timeout_ms < -1 || r->timeout_ms == 0) return msg("role '%.200s': timeout out of range", r->name);
    if (r->retries < -1 || r->retries > 100) return msg("role '%.200s': retries out of range", r->name);
    if (r->repairs < -1 || r->repairs > 100) return msg("role '%.200s': repairs out of range", r->name);
    if (r->nstop > ASK_STOP_MAX) return msg("role '%.200s': too many stop sequences", r->name);
    for (uint32_t k = 0; k < r->nstop; k++)
      if (!r->stop[k] || !r->stop[k][0] || strlen(r->stop[k]) > ASK_STOP_LEN_MAX)
        return msg("role '%.200s': stop sequence %u is empty or too long", r->name, k);
    if (r->ntools > ROLE_TOOLS_MAX) return msg("role '%.200s': too many tools", r->name);
    if (r->ntools ? r->max_steps < 1 || r->max_steps > ROLE_MAX_STEPS : r->max_steps != 0)
      return msg("role '%.200s': max_steps out of range", r->name);
    for (uint32_t k = 0; k < r->ntools; k++) {
      const RoleTool *t = &r->tools[k];
      if (!t->name || !t->name[0] || !t->doc) return msg("role '%.200s': tool %u has no name", r->name, k);
      if (t->params >= m->ntypes || m->types[t->params].kind != TD_RECORD)
        return msg("role '%.200s': tool '%.200s': parameters are not a record type", r->name, t->name);
      for (uint32_t j = 0; j < k; j++)
        if (strcmp(r->tools[j].name, t->name) == 0) return msg("role '%.200s': tool '%.200s' listed twice", r->name, t->name);
    }
  }
  return NULL;
}

/* The first thing wrong with m (a malloc'd message), or NULL. */
static char *first_fault(const Module *m) {
  for (uint32_t i = 0; i < m->nfiles; i++)
    if (!m->files[i]) return msg("file %u has no name", i);
  for (uint32_t i = 0; i < m->nnatives; i++)
    if (!m->natives[i])
      return msg("unknown builtin '%.200s' (module built by a newer weft?)", m->native_names[i] ? m->native_names[i] : "?");
  char *err = verify_consts(m);
  if (!err) err = verify_types(m);
  if (!err) err = verify_roles(m);
  for (uint32_t i = 0; !err && i < m->nfuncs; i++) err = verify_function(m, i);
  if (!err) err = verify_main(m);
  return err;
}

bool module_verify(const Module *m, char **err) {
  char *why = first_fault(m);
  if (!why) return true;
  if (err) *err = why;
  else free(why);
  return false;
}
