/* test_module.c — the module builder, writer, loader and verifier.
 *
 * Builds modules by hand with a tiny assembler, checks that write -> load
 * round-trips exactly, then attacks the loader: every truncation, every
 * single-bit flip (with the checksum repaired so the verifier is reached),
 * and hand-made modules that break one verifier rule each. Every case must
 * end in a clean error (or, for some bit flips, a sound module), never a
 * crash or a leak; run it under ASan+UBSan. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../stdlib/builtins.h"
#include "../../vm/json.h"
#include "../../vm/module.h"
#include "../../vm/opcodes.h"
#include "../../runtime/schema.h"
#include "tap.h"

/* ---- a tiny assembler --------------------------------------------------- */

typedef struct Asm { uint8_t code[512]; uint32_t len; } Asm;

/* Encodes op with operands a, b and jump offset per its format string. */
static uint32_t emit(Asm *as, Opcode op, uint32_t a, uint32_t b, int32_t off) {
  uint32_t at = as->len;
  as->code[as->len++] = (uint8_t)op;
  int slot = 0;
  for (const char *f = op_info[op].format; *f; f++) {
    uint32_t v = *f == 'j' ? (uint32_t)off : (slot++ == 0 ? a : b);
    int n = *f == 'b' ? 1 : *f == 'h' ? 2 : 4;
    for (int i = 0; i < n; i++) as->code[as->len++] = (uint8_t)(v >> (8 * i));
  }
  return at;
}
static uint32_t op0(Asm *as, Opcode op) { return emit(as, op, 0, 0, 0); }
static uint32_t op1(Asm *as, Opcode op, uint32_t a) { return emit(as, op, a, 0, 0); }
/* Points the jump at `at` to `target` (offsets count from the next instruction). */
static void patch(Asm *as, uint32_t at, uint32_t target) {
  int32_t off = (int32_t)target - (int32_t)(at + op_info[as->code[at]].size);
  uint8_t *p = as->code + at + op_info[as->code[at]].size - 4;
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)((uint32_t)off >> (8 * i));
}

static void set_func(Module *m, uint32_t i, const char *name, uint16_t arity, uint16_t ncap,
                     uint16_t nlocals, uint16_t max_stack, const Asm *as) {
  FuncProto *f = &m->funcs[i];
  memset(f, 0, sizeof *f);
  f->name = strdup(name);
  f->file = 0;
  f->line = 1 + i;
  f->arity = arity;
  f->ncaptures = ncap;
  f->nlocals = nlocals;
  f->max_stack = max_stack;
  f->code = malloc(as->len);
  memcpy(f->code, as->code, as->len);
  f->code_len = as->len;
  f->nlines = 2;
  f->lines = malloc(2 * sizeof(LineEntry));
  f->lines[0] = (LineEntry){ 0, 10 + i, 1 };
  f->lines[1] = (LineEntry){ as->len > 3 ? 3 : 0, 11 + i, 5 };
}

static ObjShape *make_shape(Heap *h, const char *a, const char *b) {
  ObjShape *s = shape_new(h, 2);
  s->names[0] = AS_STRING(v_cstring(h, a));
  s->names[1] = AS_STRING(v_cstring(h, b));
  return s;
}

/* Indices the hostile tests refer to. */
typedef struct Sample { uint32_t k_int, k_two, k_str, k_shape, k_name_a, native, role0; } Sample;

/* A module exercising every constant kind, a record/enum/list descriptor,
 * a branch, a closure, a record and a native call. */
static Module *build_sample(Heap *h, Sample *s) {
  Module *m = module_new(h);
  m->source_hash = 0x1122334455667788ULL;
  module_add_file(m, "sample.weft");
  module_add_file(m, "lib.weft");
  s->k_int = module_add_const(m, K_INT, v_int(40));
  s->k_two = module_add_const(m, K_INT, v_int(2));
  module_add_const(m, K_FLOAT, v_float(2.5));
  module_add_const(m, K_DURATION, v_duration(1500));
  uint32_t k_true = module_add_const(m, K_BOOL, v_bool(true));
  s->k_str = module_add_string(m, "hello \"world\"\n", 14);
  s->k_shape = module_add_const(m, K_SHAPE, v_obj(&make_shape(h, "a", "b")->h));
  s->k_name_a = module_add_string(m, "a", 1);
  uint32_t k_b = module_add_string(m, "b", 1);
  uint32_t k_doc = module_add_string(m, "the b field", 11);
  uint32_t k_rec = module_add_string(m, "Rec", 3);
  uint32_t k_x = module_add_string(m, "x", 1), k_y = module_add_string(m, "y", 1);

  TypeDesc td = { 0 };
  td.kind = TD_INT; td.doc = td.name = NO_INDEX;
  uint32_t t_int = module_add_type(m, &td);
  td.kind = TD_STRING;
  uint32_t t_str = module_add_type(m, &td);
  td.kind = TD_OPTIONAL; td.elem = t_str;
  uint32_t t_opt = module_add_type(m, &td);
  TypeField fields[2] = { { s->k_name_a, t_int, NO_INDEX }, { k_b, t_opt, k_doc } };
  TypeDesc rec = { .kind = TD_RECORD, .n = 2, .fields = fields, .doc = k_doc, .name = k_rec };
  uint32_t t_rec = module_add_type(m, &rec);
  TypeDesc lst = { .kind = TD_LIST, .elem = t_rec, .doc = NO_INDEX, .name = NO_INDEX };
  module_add_type(m, &lst);
  uint32_t mem[2] = { k_x, k_y };
  TypeDesc en = { .kind = TD_ENUM, .n = 2, .members = mem, .doc = NO_INDEX, .name = NO_INDEX };
  module_add_type(m, &en);

  s->native = NO_INDEX;
  const Native *nat = std_native_by_key("len.string");
  if (nat) {
    s->native = module_add_native(m, "len.string");
    m->natives[s->native] = nat;
  }

  m->nfuncs = 2;
  m->funcs = calloc(2, sizeof(FuncProto));
  Asm a = { .len = 0 };
  /* main(n): if n < 40 { (fn(x) => x + captured)(2) } else { {a: 40, b: "hello"}.a } */
  op1(&a, OP_GET_LOCAL, 0);
  op1(&a, OP_CONST, s->k_int);
  op0(&a, OP_LT);
  uint32_t j = op0(&a, OP_JUMP_IF_FALSE);
  op1(&a, OP_CONST, s->k_int);
  op1(&a, OP_CONST, s->k_two);
  op0(&a, OP_ADD);
  op1(&a, OP_SET_LOCAL, 1);
  op1(&a, OP_GET_LOCAL, 1);
  emit(&a, OP_CLOSURE, 1, 1, 0);
  op1(&a, OP_CONST, s->k_two);
  op1(&a, OP_CALL, 1);
  op0(&a, OP_RETURN);
  patch(&a, j, a.len);
  op1(&a, OP_CONST, s->k_int);
  op1(&a, OP_CONST, s->k_str);
  op1(&a, OP_RECORD, s->k_shape);
  op1(&a, OP_GET_FIELD, s->k_name_a);
  if (s->native != NO_INDEX) {
    op0(&a, OP_POP);
    op1(&a, OP_CONST, s->k_str);
    emit(&a, OP_CALL_NATIVE, s->native, 1, 0);
  }
  op1(&a, OP_CONST, k_true);
  op0(&a, OP_POP);
  op1(&a, OP_CONST, s->k_str);
  emit(&a, OP_ASK, 1, ASK_TEXT, 0);
  op0(&a, OP_POP);
  op1(&a, OP_CONST, s->k_str);
  emit(&a, OP_ASK, 0, t_rec, 0);
  op0(&a, OP_POP);
  op0(&a, OP_RETURN);
  set_func(m, 0, "main", 1, 0, 2, 3, &a);

  RoleDesc r1 = { .name = "reviewer", .model = "anthropic/claude-sonnet-4-5", .system = "Be \"terse\".",
                  .temperature = 0.2, .top_p = NAN, .max_tokens = 2048, .timeout_ms = -1,
                  .retries = 3, .repairs = -1 };
  RoleDesc r2 = { .name = "judge", .model = "mock/echo", .system = NULL, .temperature = NAN,
                  .top_p = 0.9, .max_tokens = -1, .timeout_ms = 30000, .retries = -1, .repairs = 0 };
  s->role0 = module_add_role(m, &r1);
  module_add_role(m, &r2);

  Asm b = { .len = 0 };
  op1(&b, OP_GET_CAPTURE, 0);
  op1(&b, OP_GET_LOCAL, 0);
  op0(&b, OP_ADD);
  op0(&b, OP_RETURN);
  set_func(m, 1, "<lambda@3>", 1, 1, 1, 2, &b);

  m->main_fn = 0;
  m->main_result = t_int;
  m->nparams = 1;
  m->params = calloc(1, sizeof(MainParam));
  m->params[0].name = strdup("n");
  m->params[0].type = t_int;
  m->params[0].def = s->k_int;
  return m;
}

static uint32_t fnv32(const uint8_t *p, size_t n) {
  uint32_t h = 0x811c9dc5u;
  for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 0x01000193u; }
  return h;
}

static void fix_checksum(uint8_t *buf, size_t len) {
  uint32_t h = fnv32(buf, len - 4);
  for (int i = 0; i < 4; i++) buf[len - 4 + i] = (uint8_t)(h >> (8 * i));
}

/* Loads bytes; returns the error (malloc'd) or NULL after freeing the module. */
static char *load_err(Heap *h, const uint8_t *buf, size_t len) {
  char *err = NULL;
  Module *m = module_load(h, buf, len, std_native_table(), &err);
  if (m) {
    module_free(m);
    return NULL;
  }
  return err ? err : strdup("(no message)");
}

static bool modules_equal(const Module *a, const Module *b) {
  if (a->source_hash != b->source_hash || a->nfiles != b->nfiles || a->nconsts != b->nconsts ||
      a->nnatives != b->nnatives || a->ntypes != b->ntypes || a->nfuncs != b->nfuncs ||
      a->main_fn != b->main_fn || a->main_result != b->main_result || a->nparams != b->nparams)
    return false;
  for (uint32_t i = 0; i < a->nfiles; i++) if (strcmp(a->files[i], b->files[i])) return false;
  for (uint32_t i = 0; i < a->nconsts; i++)
    if (a->const_kinds[i] != b->const_kinds[i] ||
        (a->const_kinds[i] != K_SHAPE && !v_equal(a->consts[i], b->consts[i])))
      return false;
  for (uint32_t i = 0; i < a->nnatives; i++) if (a->natives[i] != b->natives[i]) return false;
  if (a->nroles != b->nroles) return false;
  for (uint32_t i = 0; i < a->nroles; i++) {
    const RoleDesc *x = &a->roles[i], *y = &b->roles[i];
    if (strcmp(x->name, y->name) || strcmp(x->model, y->model) || !x->system != !y->system ||
        (x->system && strcmp(x->system, y->system)) || isnan(x->temperature) != isnan(y->temperature) ||
        (!isnan(x->temperature) && x->temperature != y->temperature) || isnan(x->top_p) != isnan(y->top_p) ||
        (!isnan(x->top_p) && x->top_p != y->top_p) || x->max_tokens != y->max_tokens ||
        x->timeout_ms != y->timeout_ms || x->retries != y->retries || x->repairs != y->repairs)
      return false;
  }
  for (uint32_t i = 0; i < a->nfuncs; i++) {
    const FuncProto *f = &a->funcs[i], *g = &b->funcs[i];
    if (strcmp(f->name, g->name) || f->arity != g->arity || f->nlocals != g->nlocals ||
        f->ncaptures != g->ncaptures || f->max_stack != g->max_stack || f->code_len != g->code_len ||
        memcmp(f->code, g->code, f->code_len) || f->nlines != g->nlines ||
        memcmp(f->lines, g->lines, f->nlines * sizeof(LineEntry)))
      return false;
  }
  for (uint32_t i = 0; i < a->ntypes; i++)
    if (a->types[i].kind != b->types[i].kind || a->types[i].n != b->types[i].n ||
        (a->types[i].kind == TD_RECORD && (!b->types[i].shape || b->types[i].shape->n != a->types[i].n)))
      return false;
  return true;
}

/* Runs the verifier on the sample after `mutate` broke it; expects an
 * error containing `want`. */
typedef void (*Mutator)(Module *m, const Sample *s);
static void expect_verify_error(Heap *h, Mutator mutate, const char *want, const char *desc) {
  Sample s;
  Module *m = build_sample(h, &s);
  mutate(m, &s);
  char *err = NULL;
  int good = !module_verify(m, &err) && err && strstr(err, want);
  ok(good, "%s (%s)", desc, err ? err : "accepted");
  /* The same module must also be refused after a write/load trip. */
  size_t len;
  uint8_t *buf = module_write(m, &len);
  char *lerr = load_err(h, buf, len);
  ok(lerr != NULL, "%s, via the loader (%s)", desc, lerr ? lerr : "accepted");
  free(lerr);
  free(buf);
  free(err);
  module_free(m);
}

static void set_code(Module *m, uint32_t fi, const Asm *as) {
  FuncProto *f = &m->funcs[fi];
  free(f->code);
  f->code = malloc(as->len);
  memcpy(f->code, as->code, as->len);
  f->code_len = as->len;
  f->nlines = 0;
}

static void mut_jump_out(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 0 };
  uint32_t j = op0(&a, OP_JUMP);
  op1(&a, OP_GET_LOCAL, 0);
  op0(&a, OP_RETURN);
  patch(&a, j, 99);
  set_code(m, 0, &a);
}
static void mut_jump_middle(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 0 };
  uint32_t j = op0(&a, OP_JUMP);
  op1(&a, OP_GET_LOCAL, 0);
  op0(&a, OP_RETURN);
  patch(&a, j, 6); /* inside GET_LOCAL's operand */
  set_code(m, 0, &a);
}
static void mut_underflow(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 0 };
  op1(&a, OP_GET_LOCAL, 0);
  op0(&a, OP_ADD);
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
static void mut_merge(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 0 };
  op0(&a, OP_TRUE);
  uint32_t j = op0(&a, OP_JUMP_IF_FALSE);
  op0(&a, OP_NONE);  /* only one path pushes this */
  patch(&a, j, a.len);
  op0(&a, OP_NONE);
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
static void mut_local(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 0 };
  op1(&a, OP_GET_LOCAL, 7);
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
static void mut_const_kind(Module *m, const Sample *s) {
  Asm a = { .len = 0 };
  op1(&a, OP_GET_LOCAL, 0);
  op1(&a, OP_GET_FIELD, s->k_int); /* a field name must be a string */
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
static void mut_const_shape(Module *m, const Sample *s) {
  Asm a = { .len = 0 };
  op1(&a, OP_CONST, s->k_shape);
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
static void mut_capture(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 0 };
  op0(&a, OP_NONE);
  op0(&a, OP_NONE);
  emit(&a, OP_CLOSURE, 1, 2, 0); /* the lambda captures 1 */
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
static void mut_func_caps(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 0 };
  op1(&a, OP_FUNC, 1); /* FUNC of a function that needs captures */
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
static void mut_falloff(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 0 };
  op1(&a, OP_GET_LOCAL, 0);
  op0(&a, OP_POP);
  set_code(m, 0, &a);
}
static void mut_max_stack(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 0 };
  for (int i = 0; i < 5; i++) op0(&a, OP_NONE);
  for (int i = 0; i < 4; i++) op0(&a, OP_POP);
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
static void mut_bad_opcode(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 2, .code = { OP__COUNT, OP_RETURN } };
  set_code(m, 0, &a);
}
static void mut_truncated_instr(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 2, .code = { OP_NONE, OP_CONST } };
  set_code(m, 0, &a);
}
static void mut_native_arity(Module *m, const Sample *s) {
  Asm a = { .len = 0 };
  op0(&a, OP_NONE);
  op0(&a, OP_NONE);
  emit(&a, OP_CALL_NATIVE, s->native == NO_INDEX ? 0 : s->native, 2, 0);
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
static void mut_type_forward(Module *m, const Sample *s) {
  (void)s;
  m->types[2].elem = 4; /* optional[#4] at index 2 */
}
static void mut_type_kind(Module *m, const Sample *s) {
  (void)s;
  m->types[1].kind = TD__COUNT;
}
static void mut_type_dup(Module *m, const Sample *s) {
  m->types[3].fields[1].name = s->k_name_a;
}
/* A tagged union's variants must be earlier records whose first field is
 * the `type` tag (a one-member enum): what reads a reply relies on it. */
static void make_tagged(Module *m, uint32_t variant) {
  TypeDesc *t = &m->types[4];
  t->kind = TD_TAGGED;
  t->n = 1;
  t->members = malloc(sizeof(uint32_t));
  t->members[0] = variant;
}
static void mut_tagged_untagged(Module *m, const Sample *s) {
  (void)s;
  make_tagged(m, 3); /* a record whose first field is not `type` */
}
static void mut_tagged_enum(Module *m, const Sample *s) {
  (void)s;
  make_tagged(m, 2); /* not a record */
}
static void mut_tagged_forward(Module *m, const Sample *s) {
  (void)s;
  make_tagged(m, 5);
}
static void mut_main_arity(Module *m, const Sample *s) {
  (void)s;
  m->funcs[0].arity = 0;
}
static void mut_param_default(Module *m, const Sample *s) {
  m->params[0].def = s->k_shape;
}
static void mut_lines(Module *m, const Sample *s) {
  (void)s;
  m->funcs[1].lines[1].pc = 1000;
}
static void mut_iter_local(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 0 };
  uint32_t top = emit(&a, OP_ITER, 0, 9, 0);
  op0(&a, OP_POP);
  uint32_t back = op0(&a, OP_JUMP);
  patch(&a, back, top);
  patch(&a, top, a.len);
  op0(&a, OP_NONE);
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}

static void mut_ask_role(Module *m, const Sample *s) {
  Asm a = { .len = 0 };
  op1(&a, OP_CONST, s->k_str);
  emit(&a, OP_ASK, 2, ASK_TEXT, 0); /* two roles: 0 and 1 */
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
static void mut_ask_type(Module *m, const Sample *s) {
  Asm a = { .len = 0 };
  op1(&a, OP_CONST, s->k_str);
  emit(&a, OP_ASK, 0, 0xFFFE, 0);
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
/* GENERATE a b c: three u16 operands (role, parameters, result) */
static void emit_generate(Asm *as, uint32_t role, uint32_t params, uint32_t result) {
  as->code[as->len++] = OP_GENERATE;
  uint32_t v[3] = {role, params, result};
  for (int i = 0; i < 3; i++) {
    as->code[as->len++] = (uint8_t)(v[i] & 0xff);
    as->code[as->len++] = (uint8_t)(v[i] >> 8);
  }
}
static void gen_code(Module *m, const Sample *s, uint32_t role, uint32_t params, uint32_t result) {
  Asm a = { .len = 0 };
  op1(&a, OP_CONST, s->k_str);
  emit_generate(&a, role, params, result);
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
/* the sample's descriptors: 0 int, 1 string, 2 string?, 3 a record */
static void mut_gen_role(Module *m, const Sample *s) { gen_code(m, s, 2, 3, GEN_NO_RESULT); }
static void mut_gen_params(Module *m, const Sample *s) { gen_code(m, s, 0, 9, GEN_NO_RESULT); }
static void mut_gen_not_record(Module *m, const Sample *s) { gen_code(m, s, 0, 1, GEN_NO_RESULT); }
static void mut_gen_result(Module *m, const Sample *s) { gen_code(m, s, 0, 3, 0xFFFE); }
static void mut_gen_stack(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 0 };
  emit_generate(&a, 0, 3, 0); /* no prompt on the stack */
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}

/* A GENERATE whose operands are in range verifies and survives a
 * write/load trip unchanged, with and without a result. */
static void test_generate_ok(Heap *h) {
  for (uint32_t result = 0; result < 2; result++) {
    Sample s;
    Module *m = build_sample(h, &s);
    gen_code(m, &s, 1, 3, result ? 0 : GEN_NO_RESULT);
    char *err = NULL;
    ok(module_verify(m, &err), "GENERATE with operands in range verifies (%s)", err ? err : "ok");
    free(err);
    size_t len;
    uint8_t *buf = module_write(m, &len);
    err = NULL;
    Module *back = module_load(h, buf, len, std_native_table(), &err);
    ok(back && back->funcs[0].code_len == m->funcs[0].code_len &&
           !memcmp(back->funcs[0].code, m->funcs[0].code, m->funcs[0].code_len),
       "GENERATE survives a write/load trip (%s)", err ? err : "ok");
    free(err);
    free(buf);
    module_free(back);
    module_free(m);
  }
}

static void mut_ask_stack(Module *m, const Sample *s) {
  (void)s;
  Asm a = { .len = 0 };
  emit(&a, OP_ASK, 0, ASK_TEXT, 0); /* no prompt on the stack */
  op0(&a, OP_RETURN);
  set_code(m, 0, &a);
}
static void mut_role_model(Module *m, const Sample *s) {
  free(m->roles[s->role0].model);
  m->roles[s->role0].model = strdup("claude");
}
static void mut_role_model_empty(Module *m, const Sample *s) {
  free(m->roles[s->role0].model);
  m->roles[s->role0].model = strdup("mock/");
}
static void mut_role_temperature(Module *m, const Sample *s) { m->roles[s->role0].temperature = 2.5; }
static void mut_role_top_p(Module *m, const Sample *s) { m->roles[s->role0].top_p = -0.1; }
static void mut_role_max_tokens(Module *m, const Sample *s) { m->roles[s->role0].max_tokens = 0; }
static void mut_role_timeout(Module *m, const Sample *s) { m->roles[s->role0].timeout_ms = -5; }
static void mut_role_retries(Module *m, const Sample *s) { m->roles[s->role0].retries = -2; }
static void mut_role_repairs(Module *m, const Sample *s) { m->roles[s->role0].repairs = 1000; }

static void test_round_trip(Heap *h) {
  Sample s;
  Module *m = build_sample(h, &s);
  char *err = NULL;
  ok(module_verify(m, &err) && err == NULL, "hand-built sample verifies (%s)", err ? err : "ok");
  free(err);
  size_t len;
  uint8_t *buf = module_write(m, &len);
  err = NULL;
  Module *back = module_load(h, buf, len, std_native_table(), &err);
  ok(back != NULL, "sample loads (%s)", err ? err : "ok");
  free(err);
  if (back) {
    ok(modules_equal(m, back), "loaded module equals the original");
    size_t len2;
    uint8_t *buf2 = module_write(back, &len2);
    ok(len2 == len && memcmp(buf, buf2, len) == 0, "rewriting the loaded module gives the same bytes");
    free(buf2);
    ok(back->nroles == 2 && strcmp(back->roles[0].name, "reviewer") == 0 &&
       strcmp(back->roles[0].system, "Be \"terse\".") == 0 && back->roles[1].system == NULL &&
       isnan(back->roles[1].temperature) && back->roles[1].timeout_ms == 30000,
       "roles survive the trip");
    ok(back->types[3].shape && back->types[3].shape->n == 2 &&
       strcmp(back->types[3].shape->names[1]->data, "b") == 0, "record descriptor has its shape");
    /* A loaded module can still be extended (implied capacities). */
    uint32_t k = module_add_string(back, "extra", 5);
    ok(k == back->nconsts - 1 && module_add_string(back, "extra", 5) == k, "loaded module accepts new constants");
    module_free(back);
  }
  /* dedup */
  ok(module_add_const(m, K_INT, v_int(40)) == s.k_int, "int constants are deduplicated");
  ok(module_add_string(m, "a", 1) == s.k_name_a, "string constants are deduplicated");
  ok(module_add_const(m, K_SHAPE, v_obj(&make_shape(h, "a", "b")->h)) == s.k_shape, "shapes are deduplicated");
  TypeDesc td = { .kind = TD_INT, .doc = NO_INDEX, .name = NO_INDEX, .elem = 77 };
  ok(module_add_type(m, &td) == 0, "identical descriptors are deduplicated");
  ok(module_add_file(m, "lib.weft") == 1, "files are deduplicated");
  FILE *dev = fopen("/dev/null", "w");
  if (dev) {
    module_disasm(dev, m);
    fclose(dev);
  }
  free(buf);
  module_free(m);
}

static void test_header_errors(Heap *h) {
  Sample s;
  Module *m = build_sample(h, &s);
  size_t len;
  uint8_t *buf = module_write(m, &len);
  module_free(m);

  char *err = load_err(h, (const uint8_t *)"hello world, not a module", 25);
  ok(err && strcmp(err, "not a Weft module") == 0, "bad magic (%s)", err);
  free(err);
  buf[8] = 2;
  err = load_err(h, buf, len);
  ok(err && strcmp(err, "module format version 2 is not supported (this weft reads version 1)") == 0,
     "version mismatch (%s)", err);
  free(err);
  buf[8] = 1;
  buf[40] ^= 0x10;
  err = load_err(h, buf, len);
  ok(err && strcmp(err, "checksum mismatch (file corrupt)") == 0, "checksum mismatch (%s)", err);
  free(err);
  buf[40] ^= 0x10;

  /* Every truncation fails cleanly. */
  int bad = 0;
  for (size_t n = 0; n < len; n++) {
    err = load_err(h, buf, n);
    if (!err) bad++;
    free(err);
  }
  ok(bad == 0, "all %zu truncations are refused", len);

  /* Every single-bit flip, checksum repaired, fails or loads a sound module. */
  int loaded = 0, refused = 0;
  for (size_t i = 0; i < len - 4; i++) {
    for (int bit = 0; bit < 8; bit++) {
      uint8_t *c = malloc(len);
      memcpy(c, buf, len);
      c[i] ^= (uint8_t)(1u << bit);
      fix_checksum(c, len);
      err = load_err(h, c, len);
      if (err) refused++; else loaded++;
      free(err);
      free(c);
    }
  }
  ok(refused > 0, "bit flips: %d refused, %d still sound, no crash", refused, loaded);
  free(buf);
}

/* A header and a u32 count that claims far more than the file holds. */
static void test_huge_counts(Heap *h) {
  static const size_t sections[] = { 0, 1, 2, 3, 4, 5 };
  for (size_t k = 0; k < sizeof sections / sizeof sections[0]; k++) {
    uint8_t b[64];
    size_t n = 0;
    memcpy(b, WEFTC_MAGIC, 8); n = 8;
    b[n++] = 1; b[n++] = 0; b[n++] = 0; b[n++] = 0;
    memset(b + n, 0, 8); n += 8;
    for (size_t z = 0; z < sections[k]; z++) { memset(b + n, 0, 4); n += 4; } /* empty earlier sections */
    b[n++] = 0xF0; b[n++] = 0xFF; b[n++] = 0xFF; b[n++] = 0xFF;                /* 4e9 entries */
    memset(b + n, 'x', 10); n += 10;
    n += 4;
    fix_checksum(b, n);
    char *err = load_err(h, b, n);
    ok(err && strstr(err, "truncated or malformed"), "huge count in section %zu is refused (%s)", k, err);
    free(err);
  }
  /* An empty but complete module (no main) loads. */
  uint8_t b[64];
  size_t n = 0;
  memcpy(b, WEFTC_MAGIC, 8); n = 8;
  b[n++] = 1; b[n++] = 0; b[n++] = 0; b[n++] = 0;
  memset(b + n, 0, 8 + 6 * 4); n += 8 + 6 * 4; /* hash; files, consts, natives, types, funcs, roles */
  memset(b + n, 0xFF, 8); n += 8; /* main none, result none */
  memset(b + n, 0, 4); n += 4;    /* no params */
  n += 4;
  fix_checksum(b, n);
  char *err = load_err(h, b, n);
  ok(err == NULL, "minimal module loads (%s)", err ? err : "ok");
  free(err);
}

static void test_unknown_native(Heap *h) {
  Sample s;
  Module *m = build_sample(h, &s);
  module_add_native(m, "no.such.native");
  char *err = NULL;
  ok(!module_verify(m, &err) && err && strstr(err, "unknown builtin 'no.such.native'"),
     "verifier names an unknown native (%s)", err ? err : "accepted");
  free(err);
  size_t len;
  uint8_t *buf = module_write(m, &len);
  err = load_err(h, buf, len);
  ok(err && strcmp(err, "unknown builtin 'no.such.native' (module built by a newer weft?)") == 0,
     "loader refuses an unknown native (%s)", err);
  free(err);
  free(buf);
  module_free(m);
}

/* ---- roles in the loader ------------------------------------------------- */

/* Offset of the first occurrence of needle in buf, or -1. */
static long find_bytes(const uint8_t *buf, size_t len, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(buf + i, needle, n) == 0) return (long)i;
  return -1;
}

static void test_role_strings(Heap *h) {
  Sample s;
  Module *m = build_sample(h, &s);
  size_t len;
  uint8_t *buf = module_write(m, &len);
  module_free(m);
  long at = find_bytes(buf, len, "reviewer");
  ok(at > 0, "the role name is in the file");
  if (at <= 0) { free(buf); return; }
  uint8_t *c = malloc(len);
  memcpy(c, buf, len);
  c[at + 2] = 0xFF; /* not UTF-8 */
  fix_checksum(c, len);
  char *err = load_err(h, c, len);
  ok(err && strstr(err, "role name is not a valid UTF-8 name"), "role name must be UTF-8 (%s)", err);
  free(err);
  memcpy(c, buf, len);
  c[at + 2] = 0; /* a NUL inside a C string */
  fix_checksum(c, len);
  err = load_err(h, c, len);
  ok(err && strstr(err, "role name"), "role name must not hold NUL (%s)", err);
  free(err);
  /* has_system follows the model: "...sonnet-4-5" then u8 1 */
  long mo = find_bytes(buf, len, "claude-sonnet-4-5");
  if (mo > 0) {
    memcpy(c, buf, len);
    c[mo + 17] = 8; /* bit 0: a system prompt, bit 1: stop sequences, bit 2: tools; no others */
    fix_checksum(c, len);
    err = load_err(h, c, len);
    ok(err && strstr(err, "has_system is 8"), "the role flags byte has bits 0 to 2 only (%s)", err);
    free(err);
    /* bit 1 claims stop sequences that are not there: refused, no crash */
    memcpy(c, buf, len);
    c[mo + 17] = 3;
    fix_checksum(c, len);
    err = load_err(h, c, len);
    ok(err && strstr(err, "malformed module"), "a role's stop list that is not there is refused (%s)", err);
    free(err);
  }
  free(c);
  free(buf);
}

/* ---- JSON Schema and mock values (vm/schema.c) ----------------------------- */

typedef struct SchemaTypes {
  uint32_t t_int, t_str, t_float, t_bool, t_dur, t_json, t_fn, t_sev, t_opt_str, t_finding, t_list,
      t_map, t_opt_finding, t_nested;
} SchemaTypes;

static uint32_t add_td(Module *m, TypeDescKind kind, uint32_t elem) {
  TypeDesc td = { .kind = (uint8_t)kind, .elem = elem, .doc = NO_INDEX, .name = NO_INDEX };
  return module_add_type(m, &td);
}

/* Finding = { file: string, line: int, severity: "low"|"medium"|"high",
 *             note: string? (doc), score: float, took: duration }  with a doc. */
static Module *schema_module(Heap *h, SchemaTypes *t) {
  Module *m = module_new(h);
  t->t_int = add_td(m, TD_INT, NO_INDEX);
  t->t_str = add_td(m, TD_STRING, NO_INDEX);
  t->t_float = add_td(m, TD_FLOAT, NO_INDEX);
  t->t_bool = add_td(m, TD_BOOL, NO_INDEX);
  t->t_dur = add_td(m, TD_DURATION, NO_INDEX);
  t->t_json = add_td(m, TD_JSON, NO_INDEX);
  t->t_fn = add_td(m, TD_FUNC, NO_INDEX);
  uint32_t mem[3] = { module_add_string(m, "low", 3), module_add_string(m, "medium", 6),
                      module_add_string(m, "high", 4) };
  TypeDesc en = { .kind = TD_ENUM, .n = 3, .members = mem, .doc = NO_INDEX, .name = NO_INDEX };
  t->t_sev = module_add_type(m, &en);
  t->t_opt_str = add_td(m, TD_OPTIONAL, t->t_str);
  TypeField f[6] = {
    { module_add_string(m, "file", 4), t->t_str, NO_INDEX },
    { module_add_string(m, "line", 4), t->t_int, NO_INDEX },
    { module_add_string(m, "severity", 8), t->t_sev, NO_INDEX },
    { module_add_string(m, "note", 4), t->t_opt_str, module_add_string(m, "say \"why\"", 9) },
    { module_add_string(m, "score", 5), t->t_float, NO_INDEX },
    { module_add_string(m, "took", 4), t->t_dur, NO_INDEX },
  };
  TypeDesc rec = { .kind = TD_RECORD, .n = 6, .fields = f,
                   .doc = module_add_string(m, "One finding.", 12), .name = module_add_string(m, "Finding", 7) };
  t->t_finding = module_add_type(m, &rec);
  t->t_list = add_td(m, TD_LIST, t->t_finding);
  t->t_map = add_td(m, TD_MAP, t->t_int);
  t->t_opt_finding = add_td(m, TD_OPTIONAL, t->t_finding);
  TypeField g[3] = {
    { module_add_string(m, "tags", 4), add_td(m, TD_MAP, t->t_list), NO_INDEX },
    { module_add_string(m, "best", 4), t->t_opt_finding, NO_INDEX },
    { module_add_string(m, "files", 5), add_td(m, TD_LIST, t->t_str), NO_INDEX },
  };
  TypeDesc outer = { .kind = TD_RECORD, .n = 3, .fields = g, .doc = NO_INDEX, .name = NO_INDEX };
  t->t_nested = module_add_type(m, &outer);
  return m;
}

static void expect_schema(const Module *m, uint32_t td, SchemaDialect d, bool want_wrap, const char *want,
                          const char *desc) {
  bool wrapped = !want_wrap;
  char *got = schema_json(m, td, d, &wrapped);
  bool same = got && strcmp(got, want) == 0 && wrapped == want_wrap;
  ok(same, "schema: %s", desc);
  if (!same) diag("  got  %s\n  want %s", got ? got : "(null)", want);
  /* every schema is valid JSON */
  Heap h;
  heap_init(&h, 0);
  Value v;
  char *err = NULL;
  bool parsed = got && v_from_json(&h, got, strlen(got), &v, &err);
  ok(parsed, "schema of %s parses as JSON (%s)", desc, err ? err : "ok");
  if (parsed) v_release(&h, v);
  free(err);
  free(got);
}

#define FINDING_PLAIN                                                                              \
  "{\"description\":\"One finding.\",\"type\":\"object\",\"properties\":{"                         \
  "\"file\":{\"type\":\"string\"},\"line\":{\"type\":\"integer\"},"                                \
  "\"severity\":{\"type\":\"string\",\"enum\":[\"low\",\"medium\",\"high\"]},"                     \
  "\"note\":{\"description\":\"say \\\"why\\\"\",\"type\":\"string\"},"                            \
  "\"score\":{\"type\":\"number\"},"                                                               \
  "\"took\":{\"description\":\"a duration such as \\\"30s\\\", \\\"250ms\\\", \\\"2m\\\" or \\\"1h30m\\\"\"," \
  "\"type\":\"string\",\"pattern\":\"^-?([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$\"}},"                    \
  "\"required\":[\"file\",\"line\",\"severity\",\"score\",\"took\"],\"additionalProperties\":false}"

#define FINDING_STRICT                                                                             \
  "{\"description\":\"One finding.\",\"type\":\"object\",\"properties\":{"                         \
  "\"file\":{\"type\":\"string\"},\"line\":{\"type\":\"integer\"},"                                \
  "\"severity\":{\"type\":\"string\",\"enum\":[\"low\",\"medium\",\"high\"]},"                     \
  "\"note\":{\"description\":\"say \\\"why\\\"\",\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}," \
  "\"score\":{\"type\":\"number\"},"                                                               \
  "\"took\":{\"description\":\"a duration such as \\\"30s\\\", \\\"250ms\\\", \\\"2m\\\" or \\\"1h30m\\\"\"," \
  "\"type\":\"string\",\"pattern\":\"^-?([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$\"}},"                    \
  "\"required\":[\"file\",\"line\",\"severity\",\"note\",\"score\",\"took\"],\"additionalProperties\":false}"

#define WRAP(S) "{\"type\":\"object\",\"properties\":{\"value\":" S "},\"required\":[\"value\"],\"additionalProperties\":false}"

/* A mock value must pass std_convert for its descriptor, for every seed. */
static void check_mock(Heap *h, const Module *m, uint32_t td, const char *desc) {
  int bad = 0, distinct = 0, nones = 0;
  Value prev = v_none();
  for (uint64_t seed = 0; seed < 300; seed++) {
    Value v = schema_mock_value(h, m, td, seed * 7919u);
    Value again = schema_mock_value(h, m, td, seed * 7919u);
    Value out;
    char *err = NULL;
    if (!v_convert(h, m, td, v, &out, &err)) {
      if (bad++ == 0) diag("%s seed %llu: %s", desc, (unsigned long long)seed, err);
    } else {
      v_release(h, out);
    }
    free(err);
    if (!v_equal(v, again)) bad++;
    if (seed && !v_equal(v, prev)) distinct++;
    if (v.tag == V_NONE) nones++;
    v_release(h, again);
    v_release(h, prev);
    prev = v;
  }
  v_release(h, prev);
  ok(bad == 0 && distinct > 0, "mock values for %s: valid and deterministic (%d bad, %d changes)", desc, bad,
     distinct);
  if (m->types[td].kind == TD_OPTIONAL) ok(nones > 0 && nones < 300, "mock %s is sometimes none (%d)", desc, nones);
}

static void test_schema(Heap *h) {
  SchemaTypes t;
  Module *m = schema_module(h, &t);
  expect_schema(m, t.t_finding, SCHEMA_PLAIN, false, FINDING_PLAIN, "record, plain");
  expect_schema(m, t.t_finding, SCHEMA_OPENAI_STRICT, false, FINDING_STRICT, "record, OpenAI strict");
  expect_schema(m, t.t_list, SCHEMA_PLAIN, true, WRAP("{\"type\":\"array\",\"items\":" FINDING_PLAIN "}"),
                "list of records, wrapped");
  expect_schema(m, t.t_sev, SCHEMA_OPENAI_STRICT, true,
                WRAP("{\"type\":\"string\",\"enum\":[\"low\",\"medium\",\"high\"]}"), "union, wrapped");
  expect_schema(m, t.t_int, SCHEMA_PLAIN, true, WRAP("{\"type\":\"integer\"}"), "int, wrapped");
  expect_schema(m, t.t_opt_finding, SCHEMA_PLAIN, true,
                WRAP("{\"anyOf\":[" FINDING_PLAIN ",{\"type\":\"null\"}]}"), "optional record, wrapped");
  expect_schema(m, t.t_map, SCHEMA_PLAIN, true,
                WRAP("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}"), "map, plain");
  expect_schema(m, t.t_json, SCHEMA_PLAIN, true, WRAP("{}"), "json, plain");
  expect_schema(m, t.t_bool, SCHEMA_PLAIN, true, WRAP("{\"type\":\"boolean\"}"), "bool");

  ok(schema_check(m, t.t_finding, SCHEMA_PLAIN) == NULL, "a record can be asked for (plain)");
  ok(schema_check(m, t.t_finding, SCHEMA_OPENAI_STRICT) == NULL, "a record can be asked for (strict)");
  ok(schema_check(m, t.t_list, SCHEMA_OPENAI_STRICT) == NULL, "a list can be asked for (strict)");
  ok(schema_check(m, t.t_map, SCHEMA_PLAIN) == NULL, "maps are fine in the plain dialect");
  const char *why = schema_check(m, t.t_nested, SCHEMA_OPENAI_STRICT);
  ok(why && strstr(why, "maps"), "OpenAI strict refuses a map inside a record (%s)", why ? why : "accepted");
  why = schema_check(m, t.t_json, SCHEMA_OPENAI_STRICT);
  ok(why && strstr(why, "json"), "OpenAI strict refuses free json (%s)", why ? why : "accepted");
  why = schema_check(m, t.t_fn, SCHEMA_PLAIN);
  ok(why && strstr(why, "functions"), "functions are refused (%s)", why ? why : "accepted");
  why = schema_check(m, 9999, SCHEMA_PLAIN);
  ok(why != NULL, "a descriptor out of range is refused (%s)", why ? why : "accepted");

  check_mock(h, m, t.t_finding, "Finding");
  check_mock(h, m, t.t_list, "list[Finding]");
  check_mock(h, m, t.t_nested, "a record of map, optional and list");
  check_mock(h, m, t.t_opt_finding, "Finding?");
  check_mock(h, m, t.t_sev, "a union");
  check_mock(h, m, t.t_dur, "duration");
  check_mock(h, m, t.t_map, "map[int]");
  check_mock(h, m, t.t_json, "json");
  /* shapes: lists have 1-3 items; every union member shows up */
  int lens[4] = {0}, members[3] = {0};
  for (uint64_t seed = 0; seed < 200; seed++) {
    Value v = schema_mock_value(h, m, t.t_list, seed);
    if (v_is(v, OBJ_LIST) && AS_LIST(v)->n <= 3) lens[AS_LIST(v)->n]++;
    v_release(h, v);
    v = schema_mock_value(h, m, t.t_sev, seed);
    if (v_is(v, OBJ_STRING)) members[AS_STRING(v)->data[0] == 'l' ? 0 : AS_STRING(v)->data[0] == 'm' ? 1 : 2]++;
    v_release(h, v);
  }
  ok(lens[0] == 0 && lens[1] && lens[2] && lens[3], "mock lists have 1 to 3 items (%d/%d/%d)", lens[1], lens[2],
     lens[3]);
  ok(members[0] && members[1] && members[2], "mock unions pick every member (%d/%d/%d)", members[0], members[1],
     members[2]);
  Value v = schema_mock_value(h, m, t.t_finding, 42);
  Buf b;
  buf_init(&b);
  v_to_json(&b, v, NULL);
  ok(b.data && strstr(b.data, "\"file\":\"src/") != NULL, "a field named file gets a path (%s)", b.data);
  buf_free(&b);
  v_release(h, v);
  module_free(m);
}

/* A named record used twice, by a documented field and a plain one, and a
 * second type of the same name: one def each, the second keyed apart by its descriptor index. */
static void test_schema_shared(Heap *h) {
  Module *m = module_new(h);
  uint32_t t_int = add_td(m, TD_INT, NO_INDEX);
  uint32_t t_str = add_td(m, TD_STRING, NO_INDEX);
  TypeField lf[1] = { { module_add_string(m, "x", 1), t_int, NO_INDEX } };
  TypeDesc leaf = { .kind = TD_RECORD, .n = 1, .fields = lf, .doc = NO_INDEX,
                    .name = module_add_string(m, "Leaf", 4) };
  uint32_t t_leaf = module_add_type(m, &leaf);
  TypeField lf2[1] = { { module_add_string(m, "y", 1), t_str, NO_INDEX } };
  TypeDesc leaf2 = { .kind = TD_RECORD, .n = 1, .fields = lf2, .doc = NO_INDEX,
                     .name = module_add_string(m, "Leaf", 4) };
  uint32_t t_leaf2 = module_add_type(m, &leaf2);
  uint32_t t_opt = add_td(m, TD_OPTIONAL, t_leaf);
  TypeField pf[5] = {
    { module_add_string(m, "left", 4), t_leaf, module_add_string(m, "the first", 9) },
    { module_add_string(m, "right", 5), t_leaf, NO_INDEX },
    { module_add_string(m, "maybe", 5), t_opt, NO_INDEX },
    { module_add_string(m, "other", 5), t_leaf2, NO_INDEX },
    { module_add_string(m, "again", 5), t_leaf2, NO_INDEX },
  };
  TypeDesc pair = { .kind = TD_RECORD, .n = 5, .fields = pf, .doc = NO_INDEX, .name = NO_INDEX };
  uint32_t t_pair = module_add_type(m, &pair);
#define LEAF_DEF "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}},\"required\":[\"x\"],\"additionalProperties\":false}"
#define LEAF2_DEF "{\"type\":\"object\",\"properties\":{\"y\":{\"type\":\"string\"}},\"required\":[\"y\"],\"additionalProperties\":false}"
  expect_schema(m, t_pair, SCHEMA_PLAIN, false,
                "{\"type\":\"object\",\"properties\":{"
                "\"left\":{\"description\":\"the first\",\"anyOf\":[{\"$ref\":\"#/$defs/Leaf\"}]},"
                "\"right\":{\"$ref\":\"#/$defs/Leaf\"},\"maybe\":{\"$ref\":\"#/$defs/Leaf\"},"
                "\"other\":{\"$ref\":\"#/$defs/Leaf_3\"},\"again\":{\"$ref\":\"#/$defs/Leaf_3\"}},"
                "\"required\":[\"left\",\"right\",\"other\",\"again\"],\"additionalProperties\":false,"
                "\"$defs\":{\"Leaf\":" LEAF_DEF ",\"Leaf_3\":" LEAF2_DEF "}}",
                "a shared record, plain");
  expect_schema(m, t_pair, SCHEMA_OPENAI_STRICT, false,
                "{\"type\":\"object\",\"properties\":{"
                "\"left\":{\"description\":\"the first\",\"anyOf\":[{\"$ref\":\"#/$defs/Leaf\"}]},"
                "\"right\":{\"$ref\":\"#/$defs/Leaf\"},\"maybe\":{\"anyOf\":[{\"$ref\":\"#/$defs/Leaf\"},{\"type\":\"null\"}]},"
                "\"other\":{\"$ref\":\"#/$defs/Leaf_3\"},\"again\":{\"$ref\":\"#/$defs/Leaf_3\"}},"
                "\"required\":[\"left\",\"right\",\"maybe\",\"other\",\"again\"],\"additionalProperties\":false,"
                "\"$defs\":{\"Leaf\":" LEAF_DEF ",\"Leaf_3\":" LEAF2_DEF "}}",
                "a shared record, strict");
  /* used once: inline, as before */
  uint32_t t_list = add_td(m, TD_LIST, t_leaf);
  expect_schema(m, t_list, SCHEMA_PLAIN, true,
                "{\"type\":\"object\",\"properties\":{\"value\":{\"type\":\"array\",\"items\":" LEAF_DEF
                "}},\"required\":[\"value\"],\"additionalProperties\":false}",
                "a record used once stays inline");
  check_mock(h, m, t_pair, "a shared record");
  module_free(m);
}

/* A type that doubles at every level (A = {a: B, b: B}, B = {a: C, b: C},
 * ...) and a very deep list: bounded work, clean answers. */
static void test_schema_hostile(Heap *h) {
  Module *m = module_new(h);
  uint32_t ka = module_add_string(m, "a", 1), kb = module_add_string(m, "b", 1);
  uint32_t prev = add_td(m, TD_INT, NO_INDEX);
  for (int i = 0; i < 60; i++) {
    TypeField f[2] = { { ka, prev, NO_INDEX }, { kb, prev, NO_INDEX } };
    TypeDesc rec = { .kind = TD_RECORD, .n = 2, .fields = f, .doc = NO_INDEX, .name = NO_INDEX };
    prev = module_add_type(m, &rec);
  }
  const char *why = schema_check(m, prev, SCHEMA_PLAIN);
  ok(why == NULL, "an exponential type can be asked for (%s)", why ? why : "accepted");
  why = schema_check(m, prev, SCHEMA_OPENAI_STRICT);
  ok(why == NULL, "... in strict mode too (%s)", why ? why : "accepted");
  char *js = schema_json(m, prev, SCHEMA_PLAIN, NULL);
  /* 60 defs of about 200 bytes each: linear, where the tree has 2^60 leaves */
  ok(js && strlen(js) < 60 * 300 && strstr(js, "\"$defs\""), "its schema is linear (%zu bytes)",
     js ? strlen(js) : 0);
  free(js);
  Value v = schema_mock_value(h, m, prev, 1);
  ok(true, "its mock value terminates");
  v_release(h, v);
  uint32_t deep = add_td(m, TD_STRING, NO_INDEX);
  for (int i = 0; i < 5000; i++) deep = add_td(m, TD_LIST, deep);
  why = schema_check(m, deep, SCHEMA_OPENAI_STRICT);
  ok(why && strstr(why, "deeply"), "a very deep type is refused (%s)", why ? why : "accepted");
  v = schema_mock_value(h, m, deep, 3);
  ok(true, "a very deep mock value terminates");
  v_release(h, v);
  module_free(m);
}

int main(void) {
  Heap h;
  heap_init(&h, 0);
  test_round_trip(&h);
  test_header_errors(&h);
  test_huge_counts(&h);
  test_unknown_native(&h);
  expect_verify_error(&h, mut_jump_out, "jump target 99 is not an instruction", "jump out of range");
  expect_verify_error(&h, mut_jump_middle, "jump target 6 is not an instruction", "jump into an instruction");
  expect_verify_error(&h, mut_underflow, "stack underflow", "stack underflow");
  expect_verify_error(&h, mut_merge, "differs from depth", "inconsistent depth at a merge");
  expect_verify_error(&h, mut_local, "local out of range", "bad local index");
  expect_verify_error(&h, mut_const_kind, "not a string constant", "bad constant kind");
  expect_verify_error(&h, mut_const_shape, "a shape is not a value", "CONST of a shape");
  expect_verify_error(&h, mut_capture, "captures 2 values but the function has 1", "closure capture mismatch");
  expect_verify_error(&h, mut_func_caps, "needs 1 captures", "FUNC of a capturing function");
  expect_verify_error(&h, mut_falloff, "falls off the end", "falling off the end");
  expect_verify_error(&h, mut_max_stack, "exceeds max_stack", "max_stack exceeded");
  expect_verify_error(&h, mut_bad_opcode, "unknown opcode", "unknown opcode");
  expect_verify_error(&h, mut_truncated_instr, "cut off", "instruction cut off by the end");
  expect_verify_error(&h, mut_native_arity, "CALL_NATIVE", "native arity mismatch");
  expect_verify_error(&h, mut_type_forward, "not an earlier descriptor", "descriptor referring forward");
  expect_verify_error(&h, mut_type_kind, "unknown kind", "descriptor kind out of range");
  expect_verify_error(&h, mut_type_dup, "duplicate record field", "duplicate record field");
  expect_verify_error(&h, mut_tagged_untagged, "not a record tagged by its `type` field", "variant without its tag");
  expect_verify_error(&h, mut_tagged_enum, "not a record tagged", "variant that is not a record");
  expect_verify_error(&h, mut_tagged_forward, "not an earlier descriptor", "variant referring forward");
  expect_verify_error(&h, mut_main_arity, "main: function has 0 parameters", "main arity mismatch");
  expect_verify_error(&h, mut_param_default, "not a value constant", "shape as a default");
  expect_verify_error(&h, mut_lines, "outside the code", "line table out of range");
  expect_verify_error(&h, mut_iter_local, "ITER", "ITER local out of range");
  expect_verify_error(&h, mut_ask_role, "ASK 2: no such role", "ASK of a missing role");
  expect_verify_error(&h, mut_ask_type, "no such type descriptor 65534", "ASK with a missing type");
  expect_verify_error(&h, mut_ask_stack, "stack underflow", "ASK without a prompt");
  expect_verify_error(&h, mut_gen_role, "GENERATE 2: no such role", "GENERATE of a missing role");
  expect_verify_error(&h, mut_gen_params, "no such type descriptor 9", "GENERATE with missing parameters");
  expect_verify_error(&h, mut_gen_not_record, "parameters descriptor 1 is not a record",
                      "GENERATE whose parameters are not a record");
  expect_verify_error(&h, mut_gen_result, "no such type descriptor 65534", "GENERATE with a missing result");
  expect_verify_error(&h, mut_gen_stack, "stack underflow", "GENERATE without a prompt");
  test_generate_ok(&h);
  expect_verify_error(&h, mut_role_model, "is not \"provider/name\"", "role model without a provider");
  expect_verify_error(&h, mut_role_model_empty, "is not \"provider/name\"", "role model without a name");
  expect_verify_error(&h, mut_role_temperature, "temperature out of range", "role temperature");
  expect_verify_error(&h, mut_role_top_p, "top_p out of range", "role top_p");
  expect_verify_error(&h, mut_role_max_tokens, "max_tokens out of range", "role max_tokens");
  expect_verify_error(&h, mut_role_timeout, "timeout out of range", "role timeout");
  expect_verify_error(&h, mut_role_retries, "retries out of range", "role retries");
  expect_verify_error(&h, mut_role_repairs, "repairs out of range", "role repairs");
  test_role_strings(&h);
  test_schema(&h);
  test_schema_hostile(&h);
  test_schema_shared(&h);
  ok(h.used == 0, "every constant was released (%zu bytes left)", h.used);
  return tap_done();
}
