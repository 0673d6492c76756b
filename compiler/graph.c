/* graph.c — the structure of a workflow as a picture (`weft graph`).
 *
 * Works on the checked AST, like cost.c. A node per construct that shapes
 * a run — an ask (its role and model), a fan-out (what it walks, its
 * limit), a barrier (its policy), a loop (its bound), verify, tournament,
 * a budget (its limits) — and per call of a user function that holds one.
 * Each such function is a cluster. Edges: from a construct to the first
 * construct inside it ("each" for a fan-out's branch, "body", "else"), from
 * one construct to the next at the same level (source order: what runs
 * after), and from a call to the called function's cluster. Written as
 * Graphviz DOT or as a Mermaid flowchart; labels are escaped for each, and
 * for a terminal (term.h), since they quote source text.
 *
 * The work is linear in the program: each function's body is walked once,
 * and labels quote at most LABEL_MAX bytes of source. */
#include "compiler.h"
#include "../base/util.h"
#include "../base/term.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 48 /* bytes of source quoted in a label */

typedef struct GNode {
  char *label;     /* raw text, escaped when written */
  char *role;      /* an ask's role as written (NULL: none): the trace page matches calls by it */
  const char *shape;
  uint32_t cluster; /* index of its function */
  uint32_t line;    /* its source line: fan-out addresses carry it (`fanout#N@LINE`) */
} GNode;

typedef struct GEdge {
  uint32_t from, to;  /* node ids; to == UINT32_MAX: to_cluster's entry */
  uint32_t to_cluster;
  const char *label;  /* NULL: none */
} GEdge;

typedef struct GFn {
  Node *fn;
  bool holds;       /* holds a construct, directly or through a call */
  uint32_t entry;   /* its first node (UINT32_MAX: none yet) */
  uint32_t *callers, ncallers, callers_cap; /* functions that call it */
} GFn;

typedef struct G {
  Program *p;
  GNode *nodes; uint32_t nn, ncap;
  GEdge *edges; uint32_t ne, ecap;
  GFn *fns; uint32_t nf;
  uint32_t *slots; uint32_t nslots; /* N_FN pointer -> fns index + 1 (open addressing) */
  uint32_t cur;     /* the function being walked */
  uint32_t parent;  /* the enclosing construct (UINT32_MAX: none) */
  const char *via;  /* the edge label from the parent to the first child */
  uint32_t last;    /* the previous construct at this level (UINT32_MAX: none) */
  bool json;        /* GRAPH_JSON: nodes keep their line and role */
} G;

#define NONE UINT32_MAX

static uint32_t ptr_hash(const void *p) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return (uint32_t)x;
}

static int32_t fn_index(G *g, const Node *fn) {
  if (!g->nslots) return -1;
  for (uint32_t h = ptr_hash(fn) & (g->nslots - 1);; h = (h + 1) & (g->nslots - 1)) {
    uint32_t v = g->slots[h];
    if (!v) return -1;
    if (g->fns[v - 1].fn == fn) return (int32_t)(v - 1);
  }
}

static void index_fns(G *g) {
  g->nslots = 16;
  while (g->nslots < 2 * g->nf + 2) g->nslots *= 2;
  g->slots = xcalloc(g->nslots, sizeof *g->slots);
  for (uint32_t i = 0; i < g->nf; i++) {
    uint32_t h = ptr_hash(g->fns[i].fn) & (g->nslots - 1);
    while (g->slots[h]) h = (h + 1) & (g->nslots - 1);
    g->slots[h] = i + 1;
  }
}

/* The user function a call resolves to, or NULL. */
static Node *callee_fn(const Node *call) {
  const Node *c = call->u.call.callee;
  if (!c || !c->sym || c->sym->kind != SYM_FN || !c->sym->decl) return NULL;
  return c->sym->decl->kind == N_FN ? c->sym->decl : NULL;
}

/* Source text of n, on one line, cut at LABEL_MAX bytes. */
static void put_src(G *g, Buf *b, const Node *n) {
  if (!n) return;
  Source *s = src_get(g->p->sources, n->span.file);
  if (!s || n->span.end < n->span.start) return;
  size_t len = n->span.end - n->span.start;
  bool cut = len > LABEL_MAX;
  if (cut) {
    len = LABEL_MAX;
    while (len && ((unsigned char)s->text[n->span.start + len] & 0xC0) == 0x80) len--;
  }
  bool space = false;
  for (size_t i = 0; i < len; i++) {
    char c = s->text[n->span.start + i];
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = true;
      continue;
    }
    if (space && b->len) buf_putc(b, ' ');
    space = false;
    buf_putc(b, c);
  }
  if (cut) buf_puts(b, "…");
}

static uint32_t add_node(G *g, const Node *at, Buf *label, const char *shape) {
  if (g->nn == g->ncap) {
    g->ncap = g->ncap ? g->ncap * 2 : 32;
    g->nodes = xrealloc(g->nodes, g->ncap * sizeof *g->nodes);
  }
  GNode *n = &g->nodes[g->nn];
  n->label = buf_detach(label);
  n->role = NULL;
  n->shape = shape;
  n->line = 0;
  Source *s = g->json ? src_get(g->p->sources, at->span.file) : NULL;
  if (s) {
    uint32_t col = 0;
    src_line_col(s, at->span.start, &n->line, &col);
  }
  const Node *role = at->kind == N_ASK ? at->u.ask.role : at->kind == N_GENERATE ? at->u.gen.role : NULL;
  if (g->json && role) {
    Buf r;
    buf_init(&r);
    put_src(g, &r, role);
    buf_putc(&r, '\0');
    n->role = r.data;
  }
  n->cluster = g->cur;
  if (g->fns[g->cur].entry == NONE) g->fns[g->cur].entry = g->nn;
  return g->nn++;
}

static void add_edge(G *g, uint32_t from, uint32_t to, uint32_t to_cluster, const char *label) {
  if (g->ne == g->ecap) {
    g->ecap = g->ecap ? g->ecap * 2 : 32;
    g->edges = xrealloc(g->edges, g->ecap * sizeof *g->edges);
  }
  g->edges[g->ne++] = (GEdge){ from, to, to_cluster, label };
}

/* A construct at the current level: linked after the previous one, or
 * from the enclosing construct when it is the first inside it. */
static uint32_t place(G *g, const Node *at, Buf *label, const char *shape) {
  uint32_t id = add_node(g, at, label, shape);
  if (g->last != NONE) add_edge(g, g->last, id, NONE, NULL);
  else if (g->parent != NONE) add_edge(g, g->parent, id, NONE, g->via);
  g->last = id;
  return id;
}

static void walk(G *g, Node *n);

/* Walks `n` as the inside of construct `id` (a new level). */
static void walk_inside(G *g, uint32_t id, const char *via, Node *n) {
  uint32_t saved_parent = g->parent, saved_last = g->last;
  const char *saved_via = g->via;
  g->parent = id;
  g->via = via;
  g->last = NONE;
  walk(g, n);
  g->parent = saved_parent;
  g->via = saved_via;
  g->last = saved_last;
}

static void walk_child(Node *child, void *ud) { walk(ud, child); }

static Node *branch_body(Node *b) { return b && b->kind == N_LAMBDA ? b->u.lambda.body : b; }

static void role_label(G *g, Buf *b, Node *role) {
  put_src(g, b, role);
  const Symbol *s = role ? role->sym : NULL;
  const RoleDesc *rd = s && s->kind == SYM_ROLE && s->decl ? s->decl->extra : NULL;
  if (rd && rd->model) buf_printf(b, " (%s)", rd->model);
  /* a role with tools: the loop an ask of it runs, and what it may call */
  for (uint32_t i = 0; rd && i < rd->ntools; i++) buf_printf(b, "%s%s", i ? ", " : " tools: ", rd->tools[i].name);
  if (rd && rd->ntools) buf_printf(b, "; at most %u steps", rd->max_steps);
}

static void limits_label(G *g, Buf *b, NodeList *limits) {
  for (uint32_t i = 0; i < limits->n; i++) {
    Node *l = limits->items[i];
    if (!l || l->kind != N_FIELD_INIT) continue;
    buf_printf(b, "%s%s: ", i ? ", " : " ", l->u.init.name ? l->u.init.name : "?");
    put_src(g, b, l->u.init.value);
  }
}

static void walk(G *g, Node *n) {
  if (!n) return;
  Buf b;
  buf_init(&b);
  switch (n->kind) {
  case N_ASK: {
    walk(g, n->u.ask.prompt);
    buf_puts(&b, "ask ");
    role_label(g, &b, n->u.ask.role); /* a role value: its expression, `rs[0]` */
    if (n->u.ask.with) {
      buf_putc(&b, ' ');
      put_src(g, &b, n->u.ask.with); /* from `with` to its `}` */
    }
    if (n->u.ask.type) {
      buf_puts(&b, " -> ");
      put_src(g, &b, n->u.ask.type);
    }
    place(g, n, &b, "box");
    return;
  }
  case N_GENERATE: {
    /* "generate by planner (model): fn(files: list[string]) -> T" */
    walk(g, n->u.gen.prompt);
    buf_puts(&b, "generate by ");
    role_label(g, &b, n->u.gen.role);
    buf_puts(&b, ": fn(");
    for (uint32_t i = 0; i < n->u.gen.params.n; i++) {
      if (i) buf_puts(&b, ", ");
      put_src(g, &b, n->u.gen.params.items[i]);
    }
    buf_putc(&b, ')');
    if (n->u.gen.ret) {
      buf_puts(&b, " -> ");
      put_src(g, &b, n->u.gen.ret);
    }
    place(g, n, &b, "box");
    return;
  }
  case N_FANOUT: {
    if (n->u.fanout.iter) {
      walk(g, n->u.fanout.iter);
      buf_puts(&b, "fanout over ");
      put_src(g, &b, n->u.fanout.iter);
      if (n->u.fanout.limit) {
        buf_puts(&b, " limit ");
        put_src(g, &b, n->u.fanout.limit);
      }
      uint32_t id = place(g, n, &b, "parallelogram");
      walk_inside(g, id, "each", branch_body(n->u.fanout.branch));
    } else {
      buf_puts(&b, "fanout {");
      for (uint32_t i = 0; i < n->u.fanout.fields.n; i++) {
        Node *f = n->u.fanout.fields.items[i];
        buf_printf(&b, "%s%s", i ? ", " : " ", f && f->u.init.name ? f->u.init.name : "?");
      }
      buf_puts(&b, " }");
      uint32_t id = place(g, n, &b, "parallelogram");
      for (uint32_t i = 0; i < n->u.fanout.fields.n; i++) {
        Node *f = n->u.fanout.fields.items[i];
        if (f) walk_inside(g, id, f->u.init.name, branch_body(f->u.init.value));
      }
    }
    return;
  }
  case N_BARRIER: {
    walk(g, n->u.barrier.tasks);
    buf_puts(&b, "barrier");
    if (n->u.barrier.tolerate) { buf_puts(&b, " tolerate "); put_src(g, &b, n->u.barrier.tolerate); }
    if (n->u.barrier.first) { buf_puts(&b, " first "); put_src(g, &b, n->u.barrier.first); }
    if (n->u.barrier.timeout) { buf_puts(&b, " timeout "); put_src(g, &b, n->u.barrier.timeout); }
    if (!n->u.barrier.tolerate && !n->u.barrier.first && !n->u.barrier.timeout)
      buf_puts(&b, " (all must succeed)");
    place(g, n, &b, "invtrapezium");
    return;
  }
  case N_LOOP: {
    walk(g, n->u.loop.init);
    buf_puts(&b, "loop max ");
    put_src(g, &b, n->u.loop.max);
    buf_puts(&b, " until ");
    put_src(g, &b, n->u.loop.until);
    uint32_t id = place(g, n, &b, "hexagon");
    walk_inside(g, id, "body", n->u.loop.body);
    if (n->u.loop.else_) walk_inside(g, id, "else", n->u.loop.else_);
    return;
  }
  case N_VERIFY: {
    walk(g, n->u.verify.claim);
    buf_puts(&b, "verify by ");
    for (uint32_t i = 0; i < n->u.verify.roles.n; i++) {
      if (i) buf_puts(&b, ", ");
      role_label(g, &b, n->u.verify.roles.items[i]);
    }
    if (n->u.verify.quorum) { buf_puts(&b, " quorum "); put_src(g, &b, n->u.verify.quorum); }
    place(g, n, &b, "diamond");
    return;
  }
  case N_TOURNAMENT: {
    walk(g, n->u.tourn.items);
    buf_puts(&b, "tournament by ");
    role_label(g, &b, n->u.tourn.judge);
    buf_puts(&b, " on ");
    put_src(g, &b, n->u.tourn.criterion);
    if (n->u.tourn.format) { buf_puts(&b, " "); put_src(g, &b, n->u.tourn.format); }
    place(g, n, &b, "octagon");
    return;
  }
  case N_BUDGET: {
    buf_puts(&b, "budget");
    limits_label(g, &b, &n->u.budget.limits);
    uint32_t id = place(g, n, &b, "folder");
    walk_inside(g, id, "body", branch_body(n->u.budget.body));
    if (n->u.budget.else_) walk_inside(g, id, "else", branch_body(n->u.budget.else_));
    return;
  }
  case N_CALL: {
    ast_each_child(n, walk_child, g);
    Node *fn = callee_fn(n);
    int32_t k = fn ? fn_index(g, fn) : -1;
    if (k >= 0 && g->fns[k].holds) {
      buf_printf(&b, "call %s", fn->u.fn.name);
      uint32_t id = place(g, n, &b, "cds");
      add_edge(g, id, NONE, (uint32_t)k, NULL);
    }
    return;
  }
  case N_LAMBDA:
    walk(g, n->u.lambda.body);
    return;
  default:
    ast_each_child(n, walk_child, g);
    return;
  }
}

/* One pass over a function's body: whether it holds a construct itself,
 * and, for each user function it calls, that it is one of its callers. */
typedef struct Scan { G *g; uint32_t self; bool found; } Scan;

static void scan_child(Node *child, void *ud) {
  Scan *s = ud;
  if (!child) return;
  switch (child->kind) {
  case N_ASK: case N_FANOUT: case N_BARRIER: case N_LOOP: case N_VERIFY: case N_TOURNAMENT:
  case N_BUDGET: case N_GENERATE:
    s->found = true;
    break;
  case N_CALL: {
    Node *fn = callee_fn(child);
    int32_t k = fn ? fn_index(s->g, fn) : -1;
    if (k >= 0) {
      GFn *c = &s->g->fns[k];
      if (c->ncallers == c->callers_cap) {
        c->callers_cap = c->callers_cap ? c->callers_cap * 2 : 4;
        c->callers = xrealloc(c->callers, c->callers_cap * sizeof *c->callers);
      }
      c->callers[c->ncallers++] = s->self;
    }
    break;
  }
  default: break;
  }
  ast_each_child(child, scan_child, s);
}

/* ---- writing ---------------------------------------------------------- */

/* The label made safe for a terminal first (term.h), then for the format. */
static void put_label(Buf *out, const char *raw, bool mermaid) {
  char *safe = term_escape(raw, strlen(raw), NULL);
  for (const char *p = safe; *p; p++) {
    if (mermaid) {
      if (*p == '"') buf_puts(out, "#quot;");
      else if (*p == '<') buf_puts(out, "#lt;");
      else if (*p == '>') buf_puts(out, "#gt;");
      else if (*p == '#') buf_puts(out, "#35;");
      else buf_putc(out, *p);
    } else {
      if (*p == '"' || *p == '\\') buf_putc(out, '\\');
      buf_putc(out, *p);
    }
  }
  free(safe);
}

static const char *mermaid_open(const char *shape) {
  if (!strcmp(shape, "parallelogram")) return "[/";
  if (!strcmp(shape, "invtrapezium")) return "[\\";
  if (!strcmp(shape, "hexagon")) return "{{";
  if (!strcmp(shape, "diamond")) return "{";
  if (!strcmp(shape, "octagon")) return "([";
  if (!strcmp(shape, "folder")) return "[(";
  if (!strcmp(shape, "cds")) return "[[";
  return "[";
}

static const char *mermaid_close(const char *shape) {
  if (!strcmp(shape, "parallelogram")) return "/]";
  if (!strcmp(shape, "invtrapezium")) return "/]";
  if (!strcmp(shape, "hexagon")) return "}}";
  if (!strcmp(shape, "diamond")) return "}";
  if (!strcmp(shape, "octagon")) return "])";
  if (!strcmp(shape, "folder")) return ")]";
  if (!strcmp(shape, "cds")) return "]]";
  return "]";
}

static void write_dot(G *g, Buf *out) {
  buf_puts(out, "digraph weft {\n  compound=true;\n  rankdir=TB;\n"
                "  node [fontname=\"Helvetica\", fontsize=11];\n"
                "  edge [fontname=\"Helvetica\", fontsize=9];\n");
  for (uint32_t f = 0; f < g->nf; f++) {
    if (g->fns[f].entry == NONE) continue;
    buf_printf(out, "  subgraph cluster_%u {\n    label=\"fn ", f);
    put_label(out, g->fns[f].fn->u.fn.name, false);
    buf_puts(out, "\";\n");
    for (uint32_t i = 0; i < g->nn; i++) {
      if (g->nodes[i].cluster != f) continue;
      buf_printf(out, "    n%u [shape=%s, label=\"", i, g->nodes[i].shape);
      put_label(out, g->nodes[i].label, false);
      buf_puts(out, "\"];\n");
    }
    buf_puts(out, "  }\n");
  }
  for (uint32_t i = 0; i < g->ne; i++) {
    GEdge *e = &g->edges[i];
    if (e->to == NONE) {
      uint32_t entry = g->fns[e->to_cluster].entry;
      if (entry == NONE) continue;
      buf_printf(out, "  n%u -> n%u [lhead=cluster_%u, style=dashed];\n", e->from, entry, e->to_cluster);
    } else if (e->label) {
      buf_printf(out, "  n%u -> n%u [label=\"", e->from, e->to);
      put_label(out, e->label, false);
      buf_puts(out, "\"];\n");
    } else {
      buf_printf(out, "  n%u -> n%u;\n", e->from, e->to);
    }
  }
  buf_puts(out, "}\n");
}

static void write_mermaid(G *g, Buf *out) {
  buf_puts(out, "flowchart TD\n");
  for (uint32_t f = 0; f < g->nf; f++) {
    if (g->fns[f].entry == NONE) continue;
    buf_printf(out, "  subgraph fn%u[\"fn ", f);
    put_label(out, g->fns[f].fn->u.fn.name, true);
    buf_puts(out, "\"]\n");
    for (uint32_t i = 0; i < g->nn; i++) {
      if (g->nodes[i].cluster != f) continue;
      buf_printf(out, "    n%u%s\"", i, mermaid_open(g->nodes[i].shape));
      put_label(out, g->nodes[i].label, true);
      buf_printf(out, "\"%s\n", mermaid_close(g->nodes[i].shape));
    }
    buf_puts(out, "  end\n");
  }
  for (uint32_t i = 0; i < g->ne; i++) {
    GEdge *e = &g->edges[i];
    if (e->to == NONE) {
      if (g->fns[e->to_cluster].entry != NONE) buf_printf(out, "  n%u -.-> fn%u\n", e->from, e->to_cluster);
    } else if (e->label) {
      buf_printf(out, "  n%u -->|\"", e->from);
      put_label(out, e->label, true);
      buf_printf(out, "\"| n%u\n", e->to);
    } else {
      buf_printf(out, "  n%u --> n%u\n", e->from, e->to);
    }
  }
}

/* {"fns": [NAME...], "nodes": [{"id","fn","label","shape","line","role"}...],
 * "edges": [{"from","to","label"} | {"from","fn"} (a call: to that
 * function's entry)]}: what the trace page lays out itself. Labels are
 * raw source text as JSON strings: the page puts them in as text. */
static void write_json(G *g, Buf *out) {
  buf_puts(out, "{\"fns\":[");
  for (uint32_t f = 0; f < g->nf; f++) {
    if (f) buf_putc(out, ',');
    const char *name = g->fns[f].fn->u.fn.name ? g->fns[f].fn->u.fn.name : "?";
    buf_json_string(out, name, strlen(name));
  }
  buf_puts(out, "],\"nodes\":[");
  for (uint32_t i = 0; i < g->nn; i++) {
    GNode *n = &g->nodes[i];
    buf_printf(out, "%s{\"id\":%u,\"fn\":%u,\"line\":%u,\"shape\":\"%s\",\"label\":", i ? "," : "", i,
               n->cluster, n->line, n->shape);
    buf_json_string(out, n->label, strlen(n->label));
    if (n->role) {
      buf_puts(out, ",\"role\":");
      buf_json_string(out, n->role, strlen(n->role));
    }
    buf_putc(out, '}');
  }
  buf_puts(out, "],\"edges\":[");
  bool first = true;
  for (uint32_t i = 0; i < g->ne; i++) {
    GEdge *e = &g->edges[i];
    if (e->to == NONE && g->fns[e->to_cluster].entry == NONE) continue;
    buf_printf(out, "%s{\"from\":%u", first ? "" : ",", e->from);
    first = false;
    if (e->to == NONE) buf_printf(out, ",\"to\":%u,\"call\":true}", g->fns[e->to_cluster].entry);
    else {
      buf_printf(out, ",\"to\":%u", e->to);
      if (e->label) {
        buf_puts(out, ",\"label\":");
        buf_json_string(out, e->label, strlen(e->label));
      }
      buf_putc(out, '}');
    }
  }
  buf_puts(out, "]}");
}

bool graph_program(Program *p, GraphFormat format, Buf *out) {
  G g;
  memset(&g, 0, sizeof g);
  g.p = p;
  g.json = format == GRAPH_JSON;
  /* the functions of the program's own files (not the standard library) */
  uint32_t cap = 0;
  for (uint32_t i = 0; i < p->nfiles; i++) {
    if (p->files[i].is_std) continue;
    NodeList *items = &p->files[i].ast.items;
    for (uint32_t k = 0; k < items->n; k++) {
      Node *it = items->items[k];
      if (!it || it->kind != N_FN) continue;
      if (g.nf == cap) {
        cap = cap ? cap * 2 : 16;
        g.fns = xrealloc(g.fns, cap * sizeof *g.fns);
      }
      g.fns[g.nf++] = (GFn){ it, false, NONE, NULL, 0, 0 };
    }
  }
  /* which functions hold a construct: those that do themselves, then
   * their callers, and theirs (a worklist: linear in the calls) */
  index_fns(&g);
  uint32_t *work = xcalloc(g.nf + 1, sizeof *work), nwork = 0;
  for (uint32_t f = 0; f < g.nf; f++) {
    Scan s = { &g, f, false };
    scan_child(g.fns[f].fn->u.fn.body, &s);
    if (s.found) {
      g.fns[f].holds = true;
      work[nwork++] = f;
    }
  }
  while (nwork) {
    GFn *c = &g.fns[work[--nwork]];
    for (uint32_t i = 0; i < c->ncallers; i++)
      if (!g.fns[c->callers[i]].holds) {
        g.fns[c->callers[i]].holds = true;
        work[nwork++] = c->callers[i];
      }
  }
  free(work);
  for (uint32_t f = 0; f < g.nf; f++) {
    if (!g.fns[f].holds) continue;
    g.cur = f;
    g.parent = g.last = NONE;
    g.via = NULL;
    walk(&g, g.fns[f].fn->u.fn.body);
  }
  if (format == GRAPH_MERMAID) write_mermaid(&g, out);
  else if (format == GRAPH_JSON) write_json(&g, out);
  else write_dot(&g, out);
  for (uint32_t i = 0; i < g.nn; i++) {
    free(g.nodes[i].label);
    free(g.nodes[i].role);
  }
  for (uint32_t f = 0; f < g.nf; f++) free(g.fns[f].callers);
  free(g.nodes);
  free(g.edges);
  free(g.fns);
  free(g.slots);
  return true;
}

bool graph_file(const char *path, const CompileOptions *opt, GraphFormat format, uint64_t *source_hash, Buf *out) {
  SourceSet ss;
  DiagList dl;
  src_init(&ss);
  diag_init(&dl);
  Program p;
  program_init(&p, &ss, &dl);
  bool ok = load_program(&p, path, opt) && check_program(&p) && dl.errors == 0;
  if (ok && source_hash) { /* as the module's (emit.c): every file, in program order */
    uint64_t h = FNV64_INIT;
    for (uint32_t i = 0; i < p.nfiles; i++) {
      Source *src = src_get(&ss, p.files[i].file);
      if (src) h = fnv1a64(h, src->text, src->len);
    }
    *source_hash = h;
  }
  if (ok) ok = graph_program(&p, format, out);
  program_free(&p);
  diag_free(&dl);
  src_free(&ss);
  return ok;
}
