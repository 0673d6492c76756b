/* ast.c — the arena that owns every syntax tree, node construction, and
 * the S-expression dump used by the parser's golden tests. */
#define _DEFAULT_SOURCE /* madvise */
#include "../base/util.h"
#include "ast.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* ---- arena ------------------------------------------------------------ */

#define ARENA_BLOCK (64u * 1024u)
#define ARENA_BLOCK_MAX (4u * 1024u * 1024u)
#define ARENA_ALIGN 16u

struct ArenaBlock {
  ArenaBlock *next;
  size_t used, cap; /* bytes of data[] handed out / available */
  unsigned char *data; /* 16-aligned, inside the same allocation */
};

static ArenaBlock *block_new(size_t cap) {
  /* header, then padding up to 16, then the data; calloc zeroes it all */
  size_t hdr = (sizeof(ArenaBlock) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  unsigned char *raw = xcalloc(1, hdr + cap + ARENA_ALIGN);
  ArenaBlock *b = (ArenaBlock *)(void *)raw;
  uintptr_t p = (uintptr_t)(raw + hdr);
  p = (p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
  b->data = (unsigned char *)p;
  b->cap = cap;
#if defined(__linux__)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
  /* a big block is fresh mmap'ed memory, zero and not yet touched: faulting
   * its pages in with one call (Linux 5.14 and later; an older kernel
   * refuses and the pages fault in one by one as before) */
  if (cap >= ((size_t)1 << 20)) {
    uintptr_t lo = ((uintptr_t)b->data + 4095) & ~(uintptr_t)4095;
    uintptr_t hi = ((uintptr_t)b->data + cap) & ~(uintptr_t)4095;
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
  }
#endif
  return b;
}

void arena_init(Arena *a) { memset(a, 0, sizeof *a); }

void arena_free(Arena *a) {
  ArenaBlock *b = a->head;
  while (b) {
    ArenaBlock *next = b->next;
    free(b);
    b = next;
  }
  memset(a, 0, sizeof *a);
}

void *arena_alloc(Arena *a, size_t size) {
  size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  if (size == 0) size = ARENA_ALIGN;
  a->total += size;
  if (size > ARENA_BLOCK / 4) {
    /* a large request gets a block of its own, linked behind the current
     * one so the current block's free space is not lost */
    ArenaBlock *b = block_new(size);
    b->used = size;
    if (a->head) {
      b->next = a->head->next;
      a->head->next = b;
    } else
      a->head = b;
    return b->data;
  }
  ArenaBlock *b = a->head;
  if (!b || b->cap - b->used < size) {
    /* blocks grow with what the arena holds (up to ARENA_BLOCK_MAX), so a
     * big program takes a few dozen blocks, not thousands: each block is
     * one malloc and one free, and freeing many small ones one by one
     * makes the allocator give memory back to the system piecemeal (a
     * system call and a TLB flush each) */
    size_t cap = ARENA_BLOCK;
    while (cap < ARENA_BLOCK_MAX && cap < a->total / 2) cap *= 2;
    b = block_new(cap);
    b->next = a->head;
    a->head = b;
  }
  void *p = b->data + b->used;
  b->used += size;
  return p; /* zero: blocks come from calloc and are never reused */
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

void nl_push(Arena *a, NodeList *l, Node *n) {
  if (l->n == l->cap) {
    uint32_t cap = l->cap ? l->cap * 2 : 4;
    Node **items = arena_alloc(a, cap * sizeof *items);
    if (l->n) memcpy(items, l->items, l->n * sizeof *items);
    l->items = items;
    l->cap = cap;
  }
  l->items[l->n++] = n;
}

/* ---- nodes ------------------------------------------------------------ */

Node *ast_new(Arena *a, NodeKind kind, Span span) {
  Node *n = arena_alloc(a, sizeof *n);
  n->kind = kind;
  n->span = span;
  n->depth = 1;
  return n;
}

typedef AstChildFn ChildFn;

static void each_list(const NodeList *l, ChildFn f, void *ud) {
  for (uint32_t i = 0; i < l->n; i++)
    if (l->items[i]) f(l->items[i], ud);
}

/* Calls f on every direct child of n (NULL children skipped), in source
 * order. The one place that knows which union members hold children. */
void ast_each_child(Node *n, ChildFn f, void *ud) {
#define C(x) do { if (x) f((x), ud); } while (0)
  switch (n->kind) {
  case N_FN:
    each_list(&n->u.fn.type_params, f, ud);
    each_list(&n->u.fn.params, f, ud);
    C(n->u.fn.ret);
    C(n->u.fn.body);
    break;
  case N_TYPEDEF:
    each_list(&n->u.typedef_.type_params, f, ud);
    C(n->u.typedef_.type);
    break;
  case N_ROLE: each_list(&n->u.role.settings, f, ud); break;
  case N_PARAM: C(n->u.param.type); C(n->u.param.def); break;
  case N_FIELD_INIT:
  case N_MAP_ENTRY: C(n->u.init.key); C(n->u.init.value); break;
  case N_MATCH_ARM: C(n->u.arm.pattern); C(n->u.arm.body); break;
  case N_LET:
  case N_VAR: C(n->u.decl.type); C(n->u.decl.value); break;
  case N_ASSIGN: C(n->u.assign.value); break;
  case N_EXPR_STMT:
  case N_RETURN: C(n->u.stmt.expr); break;
  case N_FOR: C(n->u.for_.iter); C(n->u.for_.body); break;
  case N_INTERP: each_list(&n->u.interp.parts, f, ud); break;
  case N_LIST:
  case N_RECORD:
  case N_MAP:
  case N_TYPE_RECORD:
  case N_TYPE_UNION:
  case N_TYPE_TAGGED:
  case N_PAT_OR: each_list(&n->u.list.items, f, ud); break;
  case N_VARIANT:
  case N_PAT_VARIANT: each_list(&n->u.variant.fields, f, ud); break;
  case N_UNARY:
  case N_TRY: C(n->u.unary.operand); break;
  case N_BINARY: C(n->u.binary.lhs); C(n->u.binary.rhs); break;
  case N_CALL:
    C(n->u.call.callee);
    each_list(&n->u.call.type_args, f, ud);
    each_list(&n->u.call.args, f, ud);
    break;
  case N_FIELD: C(n->u.field.object); break;
  case N_INDEX: C(n->u.index.object); C(n->u.index.index); break;
  case N_WITH: C(n->u.with.object); each_list(&n->u.with.fields, f, ud); break;
  case N_IF: C(n->u.if_.cond); C(n->u.if_.then_); C(n->u.if_.else_); break;
  case N_MATCH: C(n->u.match_.subject); each_list(&n->u.match_.arms, f, ud); break;
  case N_BLOCK: each_list(&n->u.block.stmts, f, ud); break;
  case N_LAMBDA:
    each_list(&n->u.lambda.params, f, ud);
    C(n->u.lambda.ret);
    C(n->u.lambda.body);
    break;
  case N_ASK: C(n->u.ask.role); C(n->u.ask.with); C(n->u.ask.prompt); C(n->u.ask.type); break;
  case N_LOOP:
    C(n->u.loop.type);
    C(n->u.loop.init);
    C(n->u.loop.max);
    C(n->u.loop.body);
    C(n->u.loop.until);
    C(n->u.loop.else_);
    break;
  case N_FANOUT:
    C(n->u.fanout.iter);
    C(n->u.fanout.limit);
    C(n->u.fanout.branch);
    each_list(&n->u.fanout.fields, f, ud);
    break;
  case N_VERIFY:
    C(n->u.verify.claim);
    each_list(&n->u.verify.roles, f, ud);
    C(n->u.verify.quorum);
    C(n->u.verify.with);
    C(n->u.verify.lowered);
    break;
  case N_TOURNAMENT:
    C(n->u.tourn.items);
    C(n->u.tourn.judge);
    C(n->u.tourn.criterion);
    C(n->u.tourn.format);
    C(n->u.tourn.ret);
    C(n->u.tourn.lowered);
    break;
  case N_ROLE_INDEX: C(n->u.role_index.role); break;
  case N_GENERATE:
    each_list(&n->u.gen.params, f, ud);
    C(n->u.gen.ret);
    C(n->u.gen.role);
    C(n->u.gen.prompt);
    break;
  case N_BUDGET:
    each_list(&n->u.budget.limits, f, ud);
    C(n->u.budget.body);
    C(n->u.budget.else_);
    break;
  case N_BARRIER:
    C(n->u.barrier.tasks);
    C(n->u.barrier.tolerate);
    C(n->u.barrier.first);
    C(n->u.barrier.timeout);
    break;
  case N_PAT_LIT: C(n->u.pat.lit); break;
  case N_TYPE_NAME: each_list(&n->u.tname.args, f, ud); break;
  case N_TYPE_OPTIONAL: C(n->u.topt.inner); break;
  case N_TYPE_FN: each_list(&n->u.tfn.params, f, ud); C(n->u.tfn.ret); break;
  case N_TYPE_RANGE: C(n->u.trange.base); C(n->u.trange.lo); C(n->u.trange.hi); break;
  default: break; /* leaves */
  }
#undef C
}

static void max_depth(Node *c, void *ud) {
  uint32_t *m = ud;
  if (c->depth > *m) *m = c->depth;
}

uint32_t ast_set_depth(Node *n) {
  uint32_t m = 0;
  ast_each_child(n, max_depth, &m);
  n->depth = m + 1;
  return n->depth;
}

static const char *const kind_names[N__COUNT] = {
  [N_IMPORT] = "import", [N_FN] = "fn", [N_TYPEDEF] = "type", [N_ROLE] = "role",
  [N_PARAM] = "param", [N_FIELD_INIT] = "field", [N_MAP_ENTRY] = "entry",
  [N_MATCH_ARM] = "arm", [N_LET] = "let", [N_VAR] = "var", [N_ASSIGN] = "assign",
  [N_EXPR_STMT] = "expr", [N_FOR] = "for", [N_BREAK] = "break",
  [N_CONTINUE] = "continue", [N_RETURN] = "return", [N_INT] = "int",
  [N_FLOAT] = "float", [N_BOOL] = "bool", [N_NONE] = "none", [N_STRING] = "string",
  [N_INTERP] = "interp", [N_DURATION] = "duration", [N_PERCENT] = "percent",
  [N_NAME] = "name", [N_LIST] = "list", [N_RECORD] = "record", [N_MAP] = "map",
  [N_UNARY] = "unary", [N_BINARY] = "binary", [N_CALL] = "call", [N_FIELD] = "get",
  [N_INDEX] = "index", [N_WITH] = "with", [N_IF] = "if", [N_MATCH] = "match",
  [N_BLOCK] = "block", [N_LAMBDA] = "lambda", [N_ASK] = "ask", [N_LOOP] = "loop",
  [N_FANOUT] = "fanout", [N_BARRIER] = "barrier", [N_BUDGET] = "budget", [N_TRY] = "try", [N_VERIFY] = "verify",
  [N_TOURNAMENT] = "tournament", [N_ROLE_INDEX] = "role-index", [N_PAT_WILD] = "pat-wild",
  [N_PAT_LIT] = "pat", [N_PAT_BIND] = "bind", [N_PAT_OR] = "pat-or", [N_TYPE_NAME] = "type-name",
  [N_TYPE_RECORD] = "type-record", [N_TYPE_UNION] = "type-union",
  [N_TYPE_OPTIONAL] = "type-optional", [N_TYPE_FN] = "type-fn", [N_TYPE_TAGGED] = "type-tagged",
  [N_VARIANT] = "variant", [N_PAT_VARIANT] = "pat-variant", [N_TYPE_RANGE] = "type-range",
  [N_GENERATE] = "generate", [N_ERROR] = "error",
};

const char *ast_kind_name(NodeKind kind) {
  return (unsigned)kind < N__COUNT && kind_names[kind] ? kind_names[kind] : "?";
}

const char *ast_op_text(Op op) {
  switch (op) {
  case AOP_ADD: return "+";
  case AOP_SUB: return "-";
  case AOP_MUL: return "*";
  case AOP_DIV: return "/";
  case AOP_MOD: return "%";
  case AOP_EQ: return "==";
  case AOP_NE: return "!=";
  case AOP_LT: return "<";
  case AOP_LE: return "<=";
  case AOP_GT: return ">";
  case AOP_GE: return ">=";
  case AOP_AND: return "and";
  case AOP_OR: return "or";
  case AOP_NEG: return "-";
  case AOP_NOT: return "not";
  }
  return "?";
}

/* ---- dump --------------------------------------------------------------
 * One node per line: "(kind attributes" then each child on its own line,
 * indented two more, and the closing parenthesis after the last child.
 * Attributes that are not nodes (names, operators, literal values) stay on
 * the node's line; optional parts that are present get a labelled wrapper
 * line, e.g. "(returns ...)" or "(default ...)". */

static void dump_str(FILE *out, const char *s, size_t len) {
  fputc('"', out);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\n': fputs("\\n", out); break;
    case '\t': fputs("\\t", out); break;
    case '\r': fputs("\\r", out); break;
    default:
      if (c < 0x20 || c == 0x7f) fprintf(out, "\\u%04x", c);
      else fputc(c, out);
    }
  }
  fputc('"', out);
}

static void dump_node(FILE *out, const Node *n, int indent);

static void dump_child(FILE *out, const Node *c, int indent) {
  if (!c) return;
  fputc('\n', out);
  dump_node(out, c, indent);
}

static void dump_list(FILE *out, const NodeList *l, int indent) {
  for (uint32_t i = 0; i < l->n; i++) dump_child(out, l->items[i], indent);
}

/* "(label child...)" as one child line; nothing when the list is empty. */
static void dump_group(FILE *out, const char *label, const NodeList *l, int indent) {
  if (!l->n) return;
  fprintf(out, "\n%*s(%s", indent, "", label);
  dump_list(out, l, indent + 2);
  fputc(')', out);
}

static void dump_wrap(FILE *out, const char *label, const Node *c, int indent) {
  if (!c) return;
  fprintf(out, "\n%*s(%s", indent, "", label);
  dump_child(out, c, indent + 2);
  fputc(')', out);
}

/* Doc comments follow the node's name: "(fn f\n  (doc "...")". */
static void dump_doc(FILE *out, const Node *n, int indent) {
  if (!n->doc) return;
  fprintf(out, "\n%*s(doc ", indent, "");
  dump_str(out, n->doc, strlen(n->doc));
  fputc(')', out);
}

/* Shortest "%g" form that reads back as the same double. */
static void dump_double(FILE *out, double d) {
  char buf[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  fprintf(out, " %s", buf);
}

static void dump_node(FILE *out, const Node *n, int indent) {
  fprintf(out, "%*s(%s", indent, "", ast_kind_name(n->kind));
  int in = indent + 2;
  switch (n->kind) {
  case N_IMPORT:
    fputc(' ', out);
    dump_str(out, n->u.import.path, n->u.import.path_len);
    if (n->u.import.alias) fprintf(out, " as %s", n->u.import.alias);
    dump_doc(out, n, in);
    break;
  case N_FN:
    fprintf(out, " %s", n->u.fn.name);
    dump_doc(out, n, in);
    dump_group(out, "type-params", &n->u.fn.type_params, in);
    dump_list(out, &n->u.fn.params, in);
    dump_wrap(out, "returns", n->u.fn.ret, in);
    dump_child(out, n->u.fn.body, in);
    break;
  case N_TYPEDEF:
    fprintf(out, " %s", n->u.typedef_.name);
    dump_doc(out, n, in);
    dump_group(out, "type-params", &n->u.typedef_.type_params, in);
    dump_child(out, n->u.typedef_.type, in);
    break;
  case N_ROLE:
    fprintf(out, " %s", n->u.role.name);
    dump_doc(out, n, in);
    dump_list(out, &n->u.role.settings, in);
    break;
  case N_PARAM:
    fprintf(out, " %s", n->u.param.name);
    dump_doc(out, n, in);
    dump_child(out, n->u.param.type, in);
    dump_wrap(out, "default", n->u.param.def, in);
    break;
  case N_FIELD_INIT:
    fprintf(out, " %s", n->u.init.name);
    dump_doc(out, n, in);
    dump_child(out, n->u.init.value, in);
    break;
  case N_MAP_ENTRY:
    dump_child(out, n->u.init.key, in);
    dump_child(out, n->u.init.value, in);
    break;
  case N_MATCH_ARM:
    dump_child(out, n->u.arm.pattern, in);
    dump_child(out, n->u.arm.body, in);
    break;
  case N_LET:
  case N_VAR:
    fprintf(out, " %s", n->u.decl.name);
    dump_child(out, n->u.decl.type, in);
    dump_child(out, n->u.decl.value, in);
    break;
  case N_ASSIGN:
    fprintf(out, " %s", n->u.assign.name);
    dump_child(out, n->u.assign.value, in);
    break;
  case N_EXPR_STMT:
  case N_RETURN: dump_child(out, n->u.stmt.expr, in); break;
  case N_FOR:
    fprintf(out, " %s", n->u.for_.var);
    dump_child(out, n->u.for_.iter, in);
    dump_child(out, n->u.for_.body, in);
    break;
  case N_INT:
  case N_DURATION: fprintf(out, " %lld", (long long)n->u.lit.i); break;
  case N_FLOAT:
  case N_PERCENT: dump_double(out, n->u.lit.f); break;
  case N_BOOL: fputs(n->u.lit.b ? " true" : " false", out); break;
  case N_STRING:
    fputc(' ', out);
    dump_str(out, n->u.lit.str ? n->u.lit.str : "", n->u.lit.len);
    break;
  case N_NAME: fprintf(out, " %s", n->u.name.id); break;
  case N_TRY: dump_child(out, n->u.unary.operand, in); break;
  case N_UNARY:
    fprintf(out, " %s", ast_op_text(n->u.unary.op));
    dump_child(out, n->u.unary.operand, in);
    break;
  case N_BINARY:
    fprintf(out, " %s", ast_op_text(n->u.binary.op));
    dump_child(out, n->u.binary.lhs, in);
    dump_child(out, n->u.binary.rhs, in);
    break;
  case N_CALL:
    dump_child(out, n->u.call.callee, in);
    dump_group(out, "type-args", &n->u.call.type_args, in);
    dump_list(out, &n->u.call.args, in);
    break;
  case N_FIELD:
    fprintf(out, " %s", n->u.field.name);
    dump_child(out, n->u.field.object, in);
    break;
  case N_INDEX:
    dump_child(out, n->u.index.object, in);
    dump_child(out, n->u.index.index, in);
    break;
  case N_WITH:
    dump_child(out, n->u.with.object, in);
    dump_list(out, &n->u.with.fields, in);
    break;
  case N_IF:
    dump_child(out, n->u.if_.cond, in);
    dump_child(out, n->u.if_.then_, in);
    dump_child(out, n->u.if_.else_, in);
    break;
  case N_MATCH:
    dump_child(out, n->u.match_.subject, in);
    dump_list(out, &n->u.match_.arms, in);
    break;
  case N_BLOCK:
    if (n->u.block.has_value) fputs(" has-value", out);
    dump_list(out, &n->u.block.stmts, in);
    break;
  case N_LAMBDA:
    if (n->u.lambda.arrow) fputs(" =>", out);
    if (n->u.lambda.branch) fputs(" branch", out);
    dump_list(out, &n->u.lambda.params, in);
    dump_wrap(out, "returns", n->u.lambda.ret, in);
    dump_child(out, n->u.lambda.body, in);
    break;
  case N_ASK:
    dump_child(out, n->u.ask.role, in);
    dump_wrap(out, "with", n->u.ask.with, in);
    dump_child(out, n->u.ask.prompt, in);
    dump_wrap(out, "returns", n->u.ask.type, in);
    break;
  case N_LOOP:
    fprintf(out, " %s", n->u.loop.name);
    dump_child(out, n->u.loop.type, in);
    dump_child(out, n->u.loop.init, in);
    dump_wrap(out, "max", n->u.loop.max, in);
    dump_child(out, n->u.loop.body, in);
    dump_wrap(out, "until", n->u.loop.until, in);
    dump_wrap(out, "else", n->u.loop.else_, in);
    break;
  case N_FANOUT:
    dump_child(out, n->u.fanout.iter, in);
    dump_wrap(out, "limit", n->u.fanout.limit, in);
    dump_child(out, n->u.fanout.branch, in);
    dump_list(out, &n->u.fanout.fields, in);
    break;
  case N_VERIFY:
    dump_child(out, n->u.verify.claim, in);
    dump_group(out, n->u.verify.listed ? "by-list" : "by", &n->u.verify.roles, in);
    dump_wrap(out, "quorum", n->u.verify.quorum, in);
    dump_wrap(out, "with", n->u.verify.with, in);
    dump_wrap(out, "lowered", n->u.verify.lowered, in);
    break;
  case N_TOURNAMENT:
    dump_child(out, n->u.tourn.items, in);
    dump_wrap(out, "by", n->u.tourn.judge, in);
    dump_wrap(out, "on", n->u.tourn.criterion, in);
    dump_child(out, n->u.tourn.format, in);
    dump_wrap(out, "returns", n->u.tourn.ret, in);
    dump_wrap(out, "lowered", n->u.tourn.lowered, in);
    break;
  case N_ROLE_INDEX: dump_child(out, n->u.role_index.role, in); break;
  case N_GENERATE:
    dump_list(out, &n->u.gen.params, in);
    dump_wrap(out, "returns", n->u.gen.ret, in);
    dump_wrap(out, "by", n->u.gen.role, in);
    dump_child(out, n->u.gen.prompt, in);
    break;
  case N_BUDGET:
    dump_list(out, &n->u.budget.limits, in);
    dump_child(out, n->u.budget.body, in);
    dump_wrap(out, "else", n->u.budget.else_, in);
    break;
  case N_BARRIER:
    dump_child(out, n->u.barrier.tasks, in);
    dump_wrap(out, "tolerate", n->u.barrier.tolerate, in);
    dump_wrap(out, "first", n->u.barrier.first, in);
    dump_wrap(out, "timeout", n->u.barrier.timeout, in);
    break;
  case N_PAT_LIT: dump_child(out, n->u.pat.lit, in); break;
  case N_PAT_BIND: fprintf(out, " %s", n->u.pat.name); break;
  case N_TYPE_NAME:
    if (n->u.tname.module) fprintf(out, " %s.%s", n->u.tname.module, n->u.tname.id);
    else fprintf(out, " %s", n->u.tname.id);
    dump_list(out, &n->u.tname.args, in);
    break;
  case N_TYPE_OPTIONAL: dump_child(out, n->u.topt.inner, in); break;
  case N_TYPE_FN:
    dump_list(out, &n->u.tfn.params, in);
    dump_wrap(out, "returns", n->u.tfn.ret, in);
    break;
  case N_TYPE_RANGE:
    dump_child(out, n->u.trange.base, in);
    dump_wrap(out, "from", n->u.trange.lo, in);
    dump_wrap(out, "to", n->u.trange.hi, in);
    break;
  case N_INTERP: dump_list(out, &n->u.interp.parts, in); break;
  case N_LIST:
  case N_RECORD:
  case N_MAP:
  case N_TYPE_RECORD:
  case N_TYPE_UNION:
  case N_TYPE_TAGGED:
  case N_PAT_OR: dump_list(out, &n->u.list.items, in); break;
  case N_VARIANT:
  case N_PAT_VARIANT:
    fprintf(out, " %s", n->u.variant.name);
    dump_list(out, &n->u.variant.fields, in);
    break;
  default: break;
  }
  fputc(')', out);
}

void ast_dump(FILE *out, const Node *n, int indent) {
  if (!n) {
    fprintf(out, "%*s(null)\n", indent, "");
    return;
  }
  dump_node(out, n, indent);
  fputc('\n', out);
}
