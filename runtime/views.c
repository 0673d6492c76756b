/* views.c — the read views of runs that weft runs, show and trace print.
 *
 * Nothing here writes: the journal is opened with JOURNAL_READ through
 * vm/journal.h. `show` rebuilds the tree of a run from its effect
 * addresses (vm/trace.h): in "main/fanout#3@12[0]/ask#1" the segment
 * "fanout#3@12" is a GROUP inside fiber main (a fan-out, or a budget
 * block "budget#N@LINE"), "fanout#3@12[0]" one of its branches (a fiber)
 * and "ask#1" an effect. The run's events add what the effects cannot
 * say: each fiber's status, and which effects a resume answered from the
 * journal (RunFacts). The timeline page is runtime/html.c. */
#include "tool.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/util.h"
#include "../base/term.h"
#include "../vm/json.h"
#include "../stdlib/builtins.h"
#include "../vm/module.h"
#include "generate.h"

/* ---- facts from the events ------------------------------------------------ */

/* One fiber or effect event, in journal order (seq). */
typedef struct Ev {
  char *addr;
  size_t seq;
  int64_t at;
  bool end, served;   /* fiber_end; an effect answered from the journal */
  char *status, *error;
  char *input;        /* fiber_start: a branch's element, as traced */
} Ev;

static int ev_cmp(const void *a, const void *b) {
  const Ev *x = a, *y = b;
  int c = strcmp(x->addr, y->addr);
  if (c) return c;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static char *json_str(const cJSON *o, const char *key) {
  const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
  return s ? xstrdup(s) : NULL;
}

/* Sorts the collected events and folds each address's events into one
 * FiberFact: the last start, and the last end unless a start came after
 * it (a resumed fiber that did not end again). */
static void fold_fibers(RunFacts *f, Ev *fv, size_t n) {
  qsort(fv, n, sizeof *fv, ev_cmp);
  f->fibers = xcalloc(n ? n : 1, sizeof *f->fibers);
  for (size_t i = 0; i < n;) {
    Ev *start = NULL;
    Ev *end = NULL;
    size_t k = i;
    for (; k < n && strcmp(fv[k].addr, fv[i].addr) == 0; k++) {
      if (fv[k].end) end = &fv[k];
      else start = &fv[k];
    }
    FiberFact *ff = &f->fibers[f->nfibers++];
    ff->path = xstrdup(fv[i].addr);
    if (start) {
      ff->started_at = start->at;
      ff->input = start->input;
      start->input = NULL;
    }
    if (end && (!start || end->seq > start->seq)) {
      ff->ended_at = end->at;
      ff->status = end->status;
      ff->error = end->error;
      end->status = end->error = NULL;
    }
    for (; i < k; i++) {
      free(fv[i].addr);
      free(fv[i].status);
      free(fv[i].error);
      free(fv[i].input);
    }
  }
}

/* Keeps the addresses whose last ask or sleep event says it was served. */
static void fold_served(RunFacts *f, Ev *ev, size_t n) {
  qsort(ev, n, sizeof *ev, ev_cmp);
  f->served = xcalloc(n ? n : 1, sizeof *f->served);
  for (size_t i = 0; i < n; i++) {
    bool last = i + 1 == n || strcmp(ev[i].addr, ev[i + 1].addr) != 0;
    if (last && ev[i].served) f->served[f->nserved++] = ev[i].addr;
    else free(ev[i].addr);
  }
}

void run_facts_build(RunFacts *f, char **events, const int64_t *at, size_t n) {
  memset(f, 0, sizeof *f);
  Ev *fv = xcalloc(n ? n : 1, sizeof *fv), *ev = xcalloc(n ? n : 1, sizeof *ev);
  size_t nf = 0, ne = 0;
  for (size_t i = 0; i < n; i++) {
    cJSON *o = cJSON_Parse(events[i]);
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "ev"));
    const char *addr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "addr"));
    if (kind && addr && (strcmp(kind, "fiber_start") == 0 || strcmp(kind, "fiber_end") == 0)) {
      Ev *e = &fv[nf++];
      *e = (Ev){.addr = xstrdup(addr), .seq = i, .at = at[i], .end = kind[6] == 'e'};
      if (e->end) {
        e->status = json_str(o, "status");
        e->error = json_str(o, "error");
      } else {
        e->input = json_str(o, "input");
      }
    } else if (kind && addr && (strcmp(kind, "ask") == 0 || strcmp(kind, "step") == 0 || strcmp(kind, "sleep") == 0 ||
                                strcmp(kind, "generate") == 0 ||
                                strcmp(kind, "cap_start") == 0)) {
      const char *from = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "from"));
      ev[ne++] = (Ev){.addr = xstrdup(addr), .seq = i, .served = from && strcmp(from, "journal") == 0};
    }
    cJSON_Delete(o);
  }
  fold_fibers(f, fv, nf);
  fold_served(f, ev, ne);
  free(fv);
  free(ev);
}

void run_facts_free(RunFacts *f) {
  for (size_t i = 0; i < f->nfibers; i++) {
    free(f->fibers[i].path);
    free(f->fibers[i].status);
    free(f->fibers[i].error);
    free(f->fibers[i].input);
  }
  for (size_t i = 0; i < f->nserved; i++) free(f->served[i]);
  free(f->fibers);
  free(f->served);
  memset(f, 0, sizeof *f);
}

static int path_cmp(const void *key, const void *elem) {
  return strcmp(key, ((const FiberFact *)elem)->path);
}
static int str_cmp(const void *key, const void *elem) { return strcmp(key, *(char *const *)elem); }

const FiberFact *run_facts_fiber(const RunFacts *f, const char *path) {
  return f->nfibers ? bsearch(path, f->fibers, f->nfibers, sizeof *f->fibers, path_cmp) : NULL;
}

bool run_facts_served(const RunFacts *f, const char *addr) {
  return f->nserved && bsearch(addr, f->served, f->nserved, sizeof *f->served, str_cmp);
}

/* ---- records as text and JSON ------------------------------------------------ */

const char *run_state(const RunRec *r) {
  const char *s = r->status ? r->status : "unknown";
  return strcmp(s, "running") == 0 && !r->locked ? "interrupted" : s;
}

const char *effect_status(const EffectRec *e) {
  if (e->ok) return "ok";
  return e->error_kind && strcmp(e->error_kind, "cancelled") == 0 ? "cancelled" : "failed";
}

void request_info(const char *request, RequestInfo *out) {
  memset(out, 0, sizeof *out);
  cJSON *o = request ? cJSON_Parse(request) : NULL;
  out->role = json_str(o, "role");
  out->model = json_str(o, "model");
  out->prompt = json_str(o, "prompt");
  const cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "ms");
  out->ms = cJSON_IsNumber(ms) ? (int64_t)ms->valuedouble : -1;
  out->op = json_str(o, "op");
  const cJSON *args = cJSON_GetObjectItemCaseSensitive(o, "args");
  for (const cJSON *a = cJSON_IsObject(args) ? args->child : NULL; a && !out->target; a = a->next)
    if (cJSON_IsString(a)) out->target = xstrdup(a->valuestring);
  cJSON_Delete(o);
}

void request_info_free(RequestInfo *q) {
  free(q->role);
  free(q->model);
  free(q->prompt);
  free(q->op);
  free(q->target);
  memset(q, 0, sizeof *q);
}

/* Whether a stored text is JSON as weft writes it: strict JSON (the
 * parser of json_parse, not cJSON, which also takes raw control characters
 * in strings, leading zeros and a byte-order mark) on one line, with no
 * control character at all. Only such a text is passed through as JSON: a
 * journal may have been edited, and what the readers write must stay JSON
 * that a strict reader takes, one line where a line is one value. */
static bool json_text_sound(const char *s, size_t n) {
  if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20) return false;
  Heap h;
  heap_init(&h, 0);
  Value v = v_none();
  bool ok = v_from_json(&h, s, n, &v, NULL);
  if (ok) v_release(&h, v);
  return ok;
}

/* Stored JSON text as is when it is sound (json_text_sound), else as a
 * JSON string; NULL as null: the output stays strict JSON whatever the
 * file holds. */
static void put_raw_json(Buf *b, const char *s) {
  if (!s) {
    buf_puts(b, "null");
    return;
  }
  size_t n = strlen(s);
  if (json_text_sound(s, n)) buf_put(b, s, n);
  else buf_json_string(b, s, n);
}

static void put_key_str(Buf *b, const char *key, const char *s) {
  buf_printf(b, ",\"%s\":", key);
  if (s) buf_json_string(b, s, strlen(s));
  else buf_puts(b, "null");
}

static void put_cost(Buf *b, double usd) { buf_printf(b, "%.10g", usd); }

void run_json(Buf *b, const RunRec *r, int64_t duration_ms) {
  buf_printf(b, "{\"id\":%" PRId64, r->id);
  put_key_str(b, "program", r->program);
  put_key_str(b, "program_path", r->program_path);
  put_key_str(b, "module_hash", r->module_hash);
  buf_puts(b, ",\"inputs\":");
  put_raw_json(b, r->inputs);
  buf_puts(b, ",\"options\":");
  put_raw_json(b, r->options);
  put_key_str(b, "status", r->status);
  put_key_str(b, "state", run_state(r));
  buf_printf(b, ",\"started_at\":%" PRId64 ",\"ended_at\":%" PRId64, r->started_at, r->ended_at);
  if (duration_ms >= 0) buf_printf(b, ",\"duration_ms\":%" PRId64, duration_ms);
  else buf_puts(b, ",\"duration_ms\":null");
  buf_puts(b, ",\"result\":");
  put_raw_json(b, r->result);
  put_key_str(b, "error", r->error);
  buf_printf(b, ",\"resumes\":%" PRIu32 ",\"calls\":%" PRId64 ",\"failed_calls\":%" PRId64, r->resumes,
             r->calls, r->failed_calls);
  buf_printf(b, ",\"input_tokens\":%" PRId64 ",\"output_tokens\":%" PRId64 ",\"cost_usd\":", r->input_tokens,
             r->output_tokens);
  put_cost(b, r->cost_usd);
  buf_printf(b, ",\"locked\":%s}", r->locked ? "true" : "false");
}

static void put_thousands(Buf *b, int64_t v) {
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%" PRId64, v);
  for (int i = 0; i < n; i++) {
    if (i && digits[i - 1] != '-' && (n - i) % 3 == 0) buf_putc(b, ',');
    buf_putc(b, digits[i]);
  }
}

/* "1.2s", "3m04s", "2h05m"; with fine, "350ms" below a second. */
static void put_duration(Buf *b, int64_t ms, bool fine) {
  if (ms < 0) buf_puts(b, "-");
  else if (fine && ms < 1000) buf_printf(b, "%" PRId64 "ms", ms);
  else if (ms < 60000) buf_printf(b, "%.1fs", (double)ms / 1000.0);
  else if (ms < 3600000) buf_printf(b, "%" PRId64 "m%02" PRId64 "s", ms / 60000, ms / 1000 % 60);
  else buf_printf(b, "%" PRId64 "h%02" PRId64 "m", ms / 3600000, ms / 60000 % 60);
}

static void put_local_time(Buf *b, int64_t unix_ms) {
  time_t t = (time_t)(unix_ms / 1000);
  struct tm tm;
  char s[32];
  if (localtime_r(&t, &tm) && strftime(s, sizeof s, "%Y-%m-%d %H:%M:%S", &tm)) buf_puts(b, s);
  else buf_puts(b, "-");
}

/* A finished run's duration; a live one's up to now; an interrupted one's
 * up to its last effect (-1 without effects). */
static int64_t run_duration(Journal *j, const RunRec *r) {
  if (r->ended_at) return r->ended_at - r->started_at;
  if (r->locked) return unix_now_ms() - r->started_at;
  EffectRec *es = NULL;
  size_t n = 0;
  int64_t last = -1;
  if (journal_effects_load(j, r->id, &es, &n, NULL))
    for (size_t i = 0; i < n; i++)
      if (es[i].ended_at - r->started_at > last) last = es[i].ended_at - r->started_at;
  effect_recs_free(es, n);
  return last;
}

/* ---- arguments and the journal ---------------------------------------------- */

static Journal *open_journal(const char *flag) {
  char *err = NULL;
  Journal *j = journal_open(journal_path_or_default(flag), JOURNAL_READ, &err);
  if (!j) errorf("%s", err ? err : "cannot open the journal");
  free(err);
  return j;
}

/* Opens the journal and loads its run `run` (as typed) into r. */
static Journal *open_run(const char *journal, const char *run, RunRec *r) {
  memset(r, 0, sizeof *r);
  Journal *j = open_journal(journal);
  int64_t id;
  char *err = NULL;
  if (j && parse_run_id(j, run, &id) && journal_run_get(j, id, false, r, &err)) return j;
  if (err) errorf("%s", err);
  free(err);
  journal_close(j);
  return NULL;
}

/* Loads run's effects, or says why not. */
static bool load_effects(Journal *j, int64_t run, EffectRec **es, size_t *n) {
  char *err = NULL;
  if (journal_effects_load(j, run, es, n, &err)) return true;
  errorf("%s", err ? err : "cannot read the effects");
  free(err);
  return false;
}

/* Loads run's events. A row that is not one JSON object as weft writes
 * it (json_text_sound) comes from an edited or damaged file: it is left
 * out, with a note, so that no reader prints it as a line of its own (an
 * edited row could hold several lines, forged events among them). */
static bool load_events(Journal *j, int64_t run, const char *cmd, char ***evs, int64_t **at, size_t *n) {
  char *err = NULL;
  if (!journal_events_load(j, run, evs, at, n, &err)) {
    errorf("%s", err ? err : "cannot read the events");
    free(err);
    return false;
  }
  size_t k = 0, bad = 0;
  for (size_t i = 0; i < *n; i++) {
    char *e = (*evs)[i];
    size_t len = e ? strlen(e) : 0;
    if (e && len && e[0] == '{' && json_text_sound(e, len)) {
      (*evs)[k] = e;
      (*at)[k++] = (*at)[i];
    } else {
      free(e);
      bad++;
    }
  }
  *n = k;
  if (bad)
    errorf("%s: run %" PRId64 ": %zu event%s not JSON object%s and %s left out", cmd, run, bad,
           bad == 1 ? " is" : "s are", bad == 1 ? "" : "s", bad == 1 ? "is" : "are");
  return true;
}

/* ---- weft runs ---------------------------------------------------------------- */

enum { NCOLS = 8 };
static const char *const COLS[NCOLS] = {"ID", "STATUS", "CALLS", "TOKENS", "COST", "DURATION", "STARTED", "PROGRAM"};
static const bool RIGHT[NCOLS] = {true, false, true, true, true, true, false, false};

/* The cells of one run's line. */
static void run_cells(Journal *j, const RunRec *r, char *cells[NCOLS]) {
  Buf b[NCOLS];
  for (int c = 0; c < NCOLS; c++) buf_init(&b[c]);
  buf_printf(&b[0], "%" PRId64, r->id);
  buf_puts(&b[1], run_state(r));
  put_thousands(&b[2], r->calls);
  put_thousands(&b[3], r->input_tokens + r->output_tokens);
  buf_printf(&b[4], "$%.4f", r->cost_usd);
  put_duration(&b[5], run_duration(j, r), false);
  put_local_time(&b[6], r->started_at);
  buf_puts(&b[7], r->program ? r->program : "-");
  /* escaped before the widths are measured: the journal may hold anything */
  for (int c = 0; c < NCOLS; c++) {
    cells[c] = term_escape(b[c].data ? b[c].data : "", b[c].len, NULL);
    buf_free(&b[c]);
  }
}

static void print_row(char *const cells[NCOLS], const int width[NCOLS]) {
  for (int c = 0; c < NCOLS; c++) {
    int pad = width[c] - (int)strlen(cells[c]);
    if (c) fputs("  ", stdout);
    if (RIGHT[c]) printf("%*s%s", pad, "", cells[c]);
    else if (c == NCOLS - 1) fputs(cells[c], stdout);
    else printf("%s%*s", cells[c], pad, "");
  }
  putchar('\n');
}

static void print_runs_table(Journal *j, const RunRec *rs, size_t n) {
  char *(*cells)[NCOLS] = xcalloc(n ? n : 1, sizeof *cells);
  int width[NCOLS];
  for (int c = 0; c < NCOLS; c++) width[c] = (int)strlen(COLS[c]);
  for (size_t i = 0; i < n; i++) {
    run_cells(j, &rs[i], cells[i]);
    for (int c = 0; c < NCOLS; c++)
      if ((int)strlen(cells[i][c]) > width[c]) width[c] = (int)strlen(cells[i][c]);
  }
  print_row((char *const *)COLS, width);
  for (size_t i = 0; i < n; i++) {
    print_row(cells[i], width);
    for (int c = 0; c < NCOLS; c++) free(cells[i][c]);
  }
  free(cells);
}

static void print_runs_json(Journal *j, const RunRec *rs, size_t n) {
  Buf b;
  buf_init(&b);
  buf_putc(&b, '[');
  for (size_t i = 0; i < n; i++) {
    if (i) buf_putc(&b, ',');
    run_json(&b, &rs[i], run_duration(j, &rs[i]));
  }
  buf_puts(&b, "]\n");
  term_write(stdout, b.data, b.len, TERM_JSON);
  buf_free(&b);
}

int weft_tool_runs(const char *journal, bool json) {
  Journal *j = open_journal(journal);
  if (!j) return EXIT_USAGE;
  RunRec *rs = NULL;
  size_t n = 0;
  char *err = NULL;
  if (!journal_runs_list(j, &rs, &n, &err)) {
    errorf("%s", err ? err : "cannot list the runs");
    free(err);
    journal_close(j);
    return EXIT_USAGE;
  }
  if (json) print_runs_json(j, rs, n);
  else print_runs_table(j, rs, n);
  run_recs_free(rs, n);
  journal_close(j);
  return EXIT_OK;
}

/* ---- the tree of a run ----------------------------------------------------------- */

typedef enum NodeKind { NODE_FIBER, NODE_GROUP, NODE_EFFECT } NodeKind;

typedef struct Node {
  char *addr;
  const char *name;        /* the last segment (in addr): "main", "[0]", "fanout#1@6", "ask#2" */
  NodeKind kind;
  int64_t num;             /* the order among siblings: #N, or a branch's index; -1: none */
  size_t seq;              /* creation order: ties, and named branches */
  const EffectRec *eff;    /* NODE_EFFECT */
  const FiberFact *fact;   /* NODE_FIBER, when its events were found */
  struct Node **kids;
  size_t nkids, capkids;
} Node;

/* Nodes by address (open addressing), and the root "main". */
typedef struct Tree {
  Node **slots;
  size_t cap, n;
  Node *root;
} Tree;

static uint64_t addr_hash(const char *s, size_t n) { return fnv1a64(0xcbf29ce484222325ULL, s, n); }

static Node **tree_slot(Node **slots, size_t cap, const char *addr, size_t n) {
  size_t i = (size_t)addr_hash(addr, n) & (cap - 1);
  while (slots[i] && (strlen(slots[i]->addr) != n || memcmp(slots[i]->addr, addr, n) != 0)) i = (i + 1) & (cap - 1);
  return &slots[i];
}

static void tree_grow(Tree *t) {
  size_t cap = t->cap ? t->cap * 2 : 64;
  Node **slots = xcalloc(cap, sizeof *slots);
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i]) *tree_slot(slots, cap, t->slots[i]->addr, strlen(t->slots[i]->addr)) = t->slots[i];
  free(t->slots);
  t->slots = slots;
  t->cap = cap;
}

static void add_kid(Node *parent, Node *kid) {
  if (parent->nkids == parent->capkids) {
    parent->capkids = parent->capkids ? parent->capkids * 2 : 4;
    parent->kids = xrealloc(parent->kids, parent->capkids * sizeof *parent->kids);
  }
  parent->kids[parent->nkids++] = kid;
}

/* The number after '#' in seg, or after '[' for a branch; -1 if none. */
static int64_t seg_number(const char *s, const char *end) {
  while (s < end && *s != '#' && *s != '[') s++;
  if (s == end || ++s == end || *s < '0' || *s > '9') return -1;
  int64_t v = 0;
  while (s < end && *s >= '0' && *s <= '9' && v < INT64_MAX / 10) v = v * 10 + (*s++ - '0');
  return s == end || *s == '@' || *s == ']' ? v : -1;
}

static Node *tree_get(Tree *t, const char *addr, size_t n);

/* Creates the node at addr[0..n) and its missing ancestors. The last '/'
 * outside brackets ends the parent's path; "X[I]" is a branch of group X. */
static Node *tree_new(Tree *t, const char *addr, size_t n) {
  size_t slash = n, depth = 0, bracket = n;
  for (size_t i = 0; i < n; i++) {
    if (addr[i] == '[' && depth++ == 0) bracket = i;
    else if (addr[i] == ']' && depth) depth--;
    else if (addr[i] == '/' && !depth) slash = i, bracket = n;
  }
  Node *node = xcalloc(1, sizeof *node);
  node->addr = xstrndup(addr, n);
  node->seq = t->n;
  size_t seg = slash < n ? slash + 1 : 0;
  Node *parent = NULL;
  if (bracket < n && addr[n - 1] == ']') { /* a branch of the group before '[' */
    node->kind = NODE_FIBER;
    node->name = node->addr + bracket;
    node->num = seg_number(addr + bracket, addr + n);
    parent = tree_get(t, addr, bracket);
  } else {
    node->kind = slash == n ? NODE_FIBER : memchr(addr + seg, '@', n - seg) ? NODE_GROUP : NODE_EFFECT;
    node->name = node->addr + seg;
    node->num = seg_number(addr + seg, addr + n);
    if (slash < n) parent = tree_get(t, addr, slash);
    else if (t->root) parent = t->root; /* a root other than main: shown under it */
  }
  if ((t->n + 1) * 2 > t->cap) tree_grow(t);
  *tree_slot(t->slots, t->cap, node->addr, n) = node;
  t->n++;
  if (parent) add_kid(parent, node);
  return node;
}

static Node *tree_get(Tree *t, const char *addr, size_t n) {
  if (t->cap) {
    Node *found = *tree_slot(t->slots, t->cap, addr, n);
    if (found) return found;
  }
  return tree_new(t, addr, n);
}

static int kid_cmp(const void *a, const void *b) {
  const Node *x = *(Node *const *)a, *y = *(Node *const *)b;
  int64_t nx = x->num >= 0 ? x->num : INT64_MAX, ny = y->num >= 0 ? y->num : INT64_MAX;
  if (nx != ny) return nx < ny ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The tree of a run: main, every fiber its events name, every effect. */
static void tree_build(Tree *t, const RunFacts *f, const EffectRec *es, size_t n) {
  memset(t, 0, sizeof *t);
  t->root = tree_get(t, "main", 4);
  for (size_t i = 0; i < f->nfibers; i++) {
    const char *p = f->fibers[i].path;
    tree_get(t, p, strlen(p))->fact = &f->fibers[i];
  }
  for (size_t i = 0; i < n; i++)
    if (es[i].addr) tree_get(t, es[i].addr, strlen(es[i].addr))->eff = &es[i];
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i] && t->slots[i]->nkids > 1)
      qsort(t->slots[i]->kids, t->slots[i]->nkids, sizeof(Node *), kid_cmp);
}

static void tree_free(Tree *t) {
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i]) {
      free(t->slots[i]->addr);
      free(t->slots[i]->kids);
      free(t->slots[i]);
    }
  free(t->slots);
}

/* A fiber's status: its last fiber_end; "running" while a live process
 * runs it; "unfinished" after an interruption; "unknown" without events. */
static const char *fiber_status(const Node *n, const RunRec *r) {
  if (n->fact && n->fact->status) return n->fact->status;
  if (!n->fact) return "unknown";
  return strcmp(run_state(r), "running") == 0 ? "running" : "unfinished";
}

/* Counts of a group's branches by status. */
enum { N_OK, N_FAILED, N_CANCELLED, N_UNFINISHED, N_COUNTS };
static void group_counts(const Node *g, const RunRec *r, size_t c[N_COUNTS]) {
  memset(c, 0, N_COUNTS * sizeof *c);
  for (size_t i = 0; i < g->nkids; i++) {
    const char *s = g->kids[i]->kind == NODE_FIBER ? fiber_status(g->kids[i], r) : "unknown";
    c[strcmp(s, "ok") == 0 ? N_OK : strcmp(s, "failed") == 0 ? N_FAILED : strcmp(s, "cancelled") == 0 ? N_CANCELLED : N_UNFINISHED]++;
  }
}

static const char *group_status(const Node *g, const RunRec *r) {
  size_t c[N_COUNTS];
  group_counts(g, r, c);
  return c[N_FAILED] ? "failed" : c[N_CANCELLED] ? "cancelled" : c[N_UNFINISHED] ? "unfinished" : "ok";
}

static const char *node_status(const Node *n, const RunRec *r) {
  switch (n->kind) {
  case NODE_FIBER: return fiber_status(n, r);
  case NODE_GROUP: return group_status(n, r);
  case NODE_EFFECT: return n->eff ? effect_status(n->eff) : "unknown";
  }
  return "unknown";
}

/* Text on one line: newlines become spaces, and long texts are cut. */
static void put_one_line(Buf *b, const char *s, size_t max) {
  size_t n = strlen(s), k = n > max ? max : n;
  while (k < n && k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
  for (size_t i = 0; i < k; i++) buf_putc(b, s[i] == '\n' || s[i] == '\r' || s[i] == '\t' ? ' ' : s[i]);
  if (k < n) buf_puts(b, "...");
}

/* "ask#2  writer  mock/m  ok  120 in / 30 out  $0.0012  1.3s  3 attempts" */
static void effect_line(Buf *b, const EffectRec *e, const RunFacts *f) {
  RequestInfo q;
  request_info(e->request, &q);
  if (strcmp(e->kind, "sleep") == 0 && q.ms >= 0) {
    buf_puts(b, "  ");
    put_duration(b, q.ms, true);
  }
  if (q.role) buf_printf(b, "  %s", q.role);
  if (q.model) buf_printf(b, "  %s", q.model);
  if (q.op && q.target) { /* a capability call: what it touched */
    buf_puts(b, "  ");
    put_one_line(b, q.target, 120);
  }
  buf_printf(b, "  %s", effect_status(e));
  if (strcmp(e->kind, "ask") == 0 || strcmp(e->kind, "step") == 0 || strcmp(e->kind, "generate") == 0) {
    buf_puts(b, "  ");
    put_thousands(b, e->input_tokens);
    buf_puts(b, " in / ");
    put_thousands(b, e->output_tokens);
    buf_printf(b, " out  $%.4f", e->cost_usd);
  }
  buf_puts(b, "  ");
  put_duration(b, e->ended_at >= e->started_at ? e->ended_at - e->started_at : -1, true);
  if (e->attempts > 1) buf_printf(b, "  %" PRIu32 " attempts", e->attempts);
  if (run_facts_served(f, e->addr)) buf_puts(b, "  (from journal)");
  if (!e->ok && e->error) {
    buf_puts(b, "  error: ");
    put_one_line(b, e->error, 300);
  }
  request_info_free(&q);
}

static void node_line(Buf *b, const Node *n, const RunRec *r, const RunFacts *f) {
  buf_puts(b, n->name);
  if (n->kind == NODE_EFFECT && n->eff) {
    effect_line(b, n->eff, f);
  } else if (n->kind == NODE_GROUP) {
    size_t c[N_COUNTS];
    group_counts(n, r, c);
    buf_printf(b, "  %zu branch%s: %zu ok", n->nkids, n->nkids == 1 ? "" : "es", c[N_OK]);
    if (c[N_FAILED]) buf_printf(b, ", %zu failed", c[N_FAILED]);
    if (c[N_CANCELLED]) buf_printf(b, ", %zu cancelled", c[N_CANCELLED]);
    if (c[N_UNFINISHED]) buf_printf(b, ", %zu unfinished", c[N_UNFINISHED]);
  } else {
    buf_printf(b, "  %s", node_status(n, r));
    if (n->fact && n->fact->error) {
      buf_puts(b, ": ");
      put_one_line(b, n->fact->error, 300);
    }
  }
}

/* Prints n's children under prefix, drawing the tree's branches. */
static void print_kids(const Node *n, Buf *prefix, const RunRec *r, const RunFacts *f) {
  Buf line;
  buf_init(&line);
  for (size_t i = 0; i < n->nkids; i++) {
    bool last = i + 1 == n->nkids;
    line.len = 0;
    node_line(&line, n->kids[i], r, f);
    printf("%.*s%s", (int)prefix->len, prefix->data, last ? "└─ " : "├─ ");
    term_write(stdout, line.data, line.len, TERM_TEXT);
    putchar('\n');
    size_t keep = prefix->len;
    buf_puts(prefix, last ? "   " : "│  ");
    print_kids(n->kids[i], prefix, r, f);
    prefix->len = keep;
  }
  buf_free(&line);
}

/* ---- weft show -------------------------------------------------------------------- */

static void print_header(const RunRec *r, int64_t duration_ms) {
  Buf b;
  buf_init(&b);
  buf_printf(&b, "run %" PRId64 "  %s", r->id, run_state(r));
  if (r->resumes) buf_printf(&b, " (resumed %" PRIu32 "x)", r->resumes);
  buf_printf(&b, "\nprogram   %s", r->program ? r->program : "-");
  if (r->program_path && (!r->program || strcmp(r->program, r->program_path) != 0))
    buf_printf(&b, " (%s)", r->program_path);
  buf_printf(&b, "\nmodule    %s\ninputs    %s\nstarted   ", r->module_hash ? r->module_hash : "-",
             r->inputs ? r->inputs : "-");
  put_local_time(&b, r->started_at);
  buf_puts(&b, "\nduration  ");
  put_duration(&b, duration_ms, true);
  buf_printf(&b, "\ncalls     %" PRId64 " (%" PRId64 " failed)\ntokens    ", r->calls, r->failed_calls);
  put_thousands(&b, r->input_tokens + r->output_tokens);
  buf_puts(&b, " (");
  put_thousands(&b, r->input_tokens);
  buf_puts(&b, " in / ");
  put_thousands(&b, r->output_tokens);
  buf_printf(&b, " out)\ncost      $%.4f\n", r->cost_usd);
  if (r->error) buf_printf(&b, "error     %s\n", r->error);
  else if (r->result) buf_printf(&b, "result    %s\n", r->result);
  term_write(stdout, b.data, b.len, TERM_TEXT); /* journal text: escaped */
  buf_free(&b);
}

static void node_json(Buf *b, const Node *n, const RunRec *r, const RunFacts *f);

static void effect_json(Buf *b, const EffectRec *e, const RunFacts *f) {
  RequestInfo q;
  request_info(e->request, &q);
  put_key_str(b, "role", q.role);
  put_key_str(b, "model", q.model);
  put_key_str(b, "prompt", q.prompt);
  if (q.op) { /* a capability call: its operation and what it touched */
    put_key_str(b, "op", q.op);
    put_key_str(b, "target", q.target);
  }
  if (q.ms >= 0) buf_printf(b, ",\"ms\":%" PRId64, q.ms);
  put_key_str(b, "response", e->response);
  put_key_str(b, "error", e->error);
  put_key_str(b, "error_kind", e->error_kind);
  buf_printf(b, ",\"served\":%s,\"attempts\":%" PRIu32 ",\"retries\":%" PRIu32 ",\"repairs\":%" PRIu32,
             run_facts_served(f, e->addr) ? "true" : "false", e->attempts, e->retries, e->repairs);
  buf_printf(b, ",\"input_tokens\":%" PRId64 ",\"output_tokens\":%" PRId64 ",\"cost_usd\":", e->input_tokens,
             e->output_tokens);
  put_cost(b, e->cost_usd);
  buf_printf(b, ",\"started_at\":%" PRId64 ",\"ended_at\":%" PRId64 ",\"duration_ms\":%" PRId64, e->started_at,
             e->ended_at, e->ended_at - e->started_at);
  request_info_free(&q);
}

/* {"addr", "kind": fiber|fanout|budget|ask|sleep, "name", "status", ...,
 * "children": [...]} (docs/cli.md). */
static void node_json(Buf *b, const Node *n, const RunRec *r, const RunFacts *f) {
  buf_puts(b, "{\"addr\":");
  buf_json_string(b, n->addr, strlen(n->addr));
  buf_puts(b, ",\"kind\":");
  if (n->kind == NODE_FIBER) buf_puts(b, "\"fiber\"");
  else if (n->kind == NODE_EFFECT && n->eff) buf_json_string(b, n->eff->kind, strlen(n->eff->kind));
  else buf_json_string(b, n->name, strcspn(n->name, "#"));
  put_key_str(b, "name", n->name);
  put_key_str(b, "status", node_status(n, r));
  if (n->kind == NODE_FIBER) {
    put_key_str(b, "error", n->fact ? n->fact->error : NULL);
    buf_printf(b, ",\"started_at\":%" PRId64 ",\"ended_at\":%" PRId64, n->fact ? n->fact->started_at : 0,
               n->fact ? n->fact->ended_at : 0);
  } else if (n->kind == NODE_GROUP) {
    size_t c[N_COUNTS];
    group_counts(n, r, c);
    buf_printf(b, ",\"branches\":%zu,\"ok\":%zu,\"failed\":%zu,\"cancelled\":%zu,\"unfinished\":%zu", n->nkids,
               c[N_OK], c[N_FAILED], c[N_CANCELLED], c[N_UNFINISHED]);
  } else if (n->eff) {
    effect_json(b, n->eff, f);
  }
  buf_puts(b, ",\"children\":[");
  for (size_t i = 0; i < n->nkids; i++) {
    if (i) buf_putc(b, ',');
    node_json(b, n->kids[i], r, f);
  }
  buf_puts(b, "]}");
}

static void show_run(Journal *j, const RunRec *r, const EffectRec *es, size_t n, const RunFacts *f, bool json) {
  Tree t;
  tree_build(&t, f, es, n);
  int64_t duration = run_duration(j, r);
  if (json) {
    Buf b;
    buf_init(&b);
    buf_puts(&b, "{\"run\":");
    run_json(&b, r, duration);
    buf_puts(&b, ",\"tree\":");
    node_json(&b, t.root, r, f);
    buf_puts(&b, "}\n");
    term_write(stdout, b.data, b.len, TERM_JSON);
    buf_free(&b);
  } else {
    print_header(r, duration);
    Buf line, prefix;
    buf_init(&line);
    buf_init(&prefix);
    node_line(&line, t.root, r, f);
    putchar('\n');
    term_write(stdout, line.data, line.len, TERM_TEXT);
    putchar('\n');
    print_kids(t.root, &prefix, r, f);
    /* what a model wrote (generate, weft do): the program as it ran */
    for (size_t i = 0; i < n; i++) {
      if (strcmp(es[i].kind, "generate") != 0 || !es[i].ok || !es[i].response) continue;
      line.len = 0;
      buf_printf(&line, "\nthe program written at %s (`weft save %" PRId64 " FILE.weft` keeps it):\n", es[i].addr,
                 r->id);
      for (const char *p = es[i].response; *p;) {
        const char *nl = strchr(p, '\n');
        size_t k = nl ? (size_t)(nl - p) : strlen(p);
        buf_puts(&line, "  │ ");
        buf_put(&line, p, k);
        buf_putc(&line, '\n');
        p += k + (nl ? 1 : 0);
      }
      term_write(stdout, line.data, line.len, TERM_TEXT);
    }
    buf_free(&line);
    buf_free(&prefix);
  }
  tree_free(&t);
}

int weft_tool_show(const char *journal, const char *run, bool json) {
  int rc;
  RunRec r;
  Journal *j = open_run(journal, run, &r);
  if (!j) return EXIT_USAGE;
  EffectRec *es = NULL;
  char **evs = NULL;
  int64_t *at = NULL;
  size_t n = 0, nev = 0;
  rc = EXIT_USAGE;
  if (load_effects(j, r.id, &es, &n) && load_events(j, r.id, "show", &evs, &at, &nev)) {
    RunFacts f;
    run_facts_build(&f, evs, at, nev);
    show_run(j, &r, es, n, &f, json);
    run_facts_free(&f);
    rc = EXIT_OK;
  }
  journal_lines_free(evs, at, nev);
  effect_recs_free(es, n);
  run_rec_free(&r);
  journal_close(j);
  return rc;
}

/* ---- weft trace ---------------------------------------------------------------------- */

/* Writes the timeline page of run r to path ("-": stdout). */
static bool write_html(Journal *j, const RunRec *r, char **evs, const int64_t *at, size_t nev, const char *path) {
  EffectRec *es = NULL;
  size_t n = 0;
  if (!load_effects(j, r->id, &es, &n)) return false;
  Buf page;
  buf_init(&page);
  const char *note = NULL;
  char *graph = run_graph(r->program_path, r->module_hash, &note);
  html_timeline(&page, r, es, n, evs, at, nev, graph, note);
  free(graph);
  effect_recs_free(es, n);
  bool to_stdout = strcmp(path, "-") == 0;
  FILE *fp = to_stdout ? stdout : fopen(path, "w");
  bool ok = fp && fwrite(page.data, 1, page.len, fp) == page.len;
  if (fp && !to_stdout && fclose(fp) != 0) ok = false;
  if (!ok) errorf("trace: cannot write '%s': %s", path, strerror(errno));
  buf_free(&page);
  return ok;
}

int weft_tool_trace(const char *journal, const char *run, const char *html) {
  int rc;
  RunRec r;
  Journal *j = open_run(journal, run, &r);
  if (!j) return EXIT_USAGE;
  char **evs = NULL;
  int64_t *at = NULL;
  size_t n = 0;
  rc = EXIT_USAGE;
  if (load_events(j, r.id, "trace", &evs, &at, &n)) {
    if (html) {
      if (write_html(j, &r, evs, at, n, html)) rc = EXIT_OK;
    } else {
      for (size_t i = 0; i < n; i++) {
        size_t len = strlen(evs[i]);
        while (len && evs[i][len - 1] == '\n') len--;
        /* JSON lines from a journal that may have been edited: controls
         * become JSON escapes, so a line stays the JSON it was */
        term_write(stdout, evs[i], len, TERM_JSON);
        putchar('\n');
      }
      rc = EXIT_OK;
    }
  }
  journal_lines_free(evs, at, n);
  run_rec_free(&r);
  journal_close(j);
  return rc;
}

/* ---- weft save -------------------------------------------------------------------
 * A program a model wrote while a run went on, kept as a template: the
 * source exactly as it was journaled (formatted, and headed by the task it
 * was written for), so that line for line it is the program that ran and
 * the run's cassette answers it. */

#define DO_PROGRAM_PREFIX_V "weft do --planner="
/* the driver's generate: a `weft do` run's plan (runtime/session.c) */
#define DO_PLAN_ADDR "main/generate#1"

/* "main/KIND#N…" with N one less: a `weft do` run's driver made its
 * generate first (main/generate#1), then called the program in the same
 * fiber, so the program's own effects are numbered one past where they
 * are when it runs as a file. NULL when addr is not such an address. */
static char *readdress(const char *addr) {
  if (strncmp(addr, "main/", 5) != 0) return NULL;
  const char *hash = strchr(addr + 5, '#');
  const char *slash = strchr(addr + 5, '/');
  if (!hash || (slash && slash < hash)) return NULL;
  char *end = NULL;
  unsigned long long n = strtoull(hash + 1, &end, 10);
  if (end == hash + 1 || n < 2) return NULL;
  return xasprintf("%.*s%llu%s", (int)(hash + 1 - addr), addr, n - 1, end);
}

/* Whether something is at path, a link counted as itself (dangling or
 * not): a file saved without --force is never written through one. */
static bool path_taken(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0 || errno != ENOENT;
}

static bool write_text(const char *path, const char *text, size_t len, bool force) {
  FILE *f = fopen(path, force ? "w" : "wx");
  if (!f) {
    if (errno == EEXIST) errorf("save: %s exists; give --force to overwrite it", path);
    else errorf("save: cannot write '%s': %s", path, strerror(errno));
    return false;
  }
  bool ok = fwrite(text, 1, len, f) == len;
  if (len && text[len - 1] != '\n') ok = ok && fputc('\n', f) != EOF;
  if (fclose(f) != 0) ok = false;
  if (!ok) errorf("save: cannot write '%s': %s", path, strerror(errno));
  return ok;
}

/* The test case of a saved `weft do` run: its inputs, its cassette, and
 * what it came to. */
static char *save_test_json(const RunRec *r, const char *program, const char *cassette) {
  cJSON *t = cJSON_CreateObject();
  const char *task = NULL;
  cJSON *inputs = cJSON_Parse(r->inputs ? r->inputs : "{}");
  const cJSON *tj = cJSON_GetObjectItemCaseSensitive(inputs, "task");
  if (cJSON_IsString(tj)) task = tj->valuestring;
  char name[201];
  snprintf(name, sizeof name, "run %" PRId64 ": %s", r->id, task ? task : "the saved program");
  size_t k = utf8_prefix(name, strlen(name), 120);
  name[k] = '\0';
  for (char *p = name; *p; p++)
    if ((unsigned char)*p < 0x20) *p = ' ';
  cJSON_AddStringToObject(t, "name", name);
  cJSON_AddStringToObject(t, "program", program);
  cJSON_AddItemToObject(t, "args", inputs ? inputs : cJSON_CreateObject());
  cJSON_AddStringToObject(t, "cassette", cassette);
  cJSON *expect = cJSON_CreateObject();
  if (r->status && strcmp(r->status, "ok") == 0) {
    cJSON *res = r->result ? cJSON_Parse(r->result) : NULL;
    cJSON_AddItemToObject(expect, "result", res ? res : cJSON_CreateNull());
  } else {
    cJSON *err = cJSON_CreateObject();
    const char *msg = r->error ? r->error : "";
    char cut[101];
    size_t n = utf8_prefix(msg, strcspn(msg, "\n"), 100);
    memcpy(cut, msg, n);
    cut[n] = '\0';
    cJSON_AddStringToObject(err, "message_contains", cut);
    cJSON_AddItemToObject(expect, "error", err);
  }
  cJSON_AddItemToObject(t, "expect", expect);
  cJSON *list = cJSON_CreateArray();
  cJSON_AddItemToArray(list, t);
  char *text = cJSON_Print(list);
  cJSON_Delete(list);
  return text;
}

static const char *base_name_of(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

int weft_tool_save(const char *journal, const char *run, const char *file, const weft_save_opts *so) {
  size_t flen = strlen(file);
  if (flen < 6 || strcmp(file + flen - 5, ".weft") != 0) {
    errorf("save: the file to write must end in .weft (got '%s')", file);
    return EXIT_USAGE;
  }
  RunRec r;
  Journal *j = open_run(journal, run, &r);
  if (!j) return EXIT_USAGE;
  EffectRec *es = NULL;
  size_t n = 0;
  int rc = EXIT_USAGE;
  const EffectRec *gen = NULL;
  bool is_do = r.program && strncmp(r.program, DO_PROGRAM_PREFIX_V, strlen(DO_PROGRAM_PREFIX_V)) == 0;
  char *stem = NULL, *test_path = NULL, *cas_path = NULL;
  Records *rs = NULL;
  if (!load_effects(j, r.id, &es, &n)) goto out;
  /* By default a `weft do` run's program is its plan, the driver's only
   * generate; any other run's is the first written (effects come in the
   * order they started). An address is no order: a nested generate's
   * (main/fanout#2@6[0]/generate#1) sorts before main/generate#1. */
  const char *want = so->at ? so->at : is_do ? DO_PLAN_ADDR : NULL;
  for (size_t i = 0; i < n && !(gen && !want); i++) {
    if (strcmp(es[i].kind, "generate") != 0 || !es[i].ok || !es[i].response) continue;
    if (!want || strcmp(es[i].addr, want) == 0) gen = &es[i];
  }
  if (!gen) {
    if (so->at) errorf("save: run %" PRId64 " has no program written at %s (`weft show %" PRId64 "` lists its effects)",
                       r.id, so->at, r.id);
    else errorf("save: run %" PRId64 " has no program a model wrote (it made no `generate`, or none finished)", r.id);
    goto out;
  }
  {
    /* what a planner wrote passed this when it ran: a record that holds a
     * control character was planted, and is not written for a person */
    char *unfit = gen_text_unfit(gen->response, strlen(gen->response));
    if (unfit) {
      errorf("save: the program recorded at %s is not one weft ran: %s", gen->addr, unfit);
      free(unfit);
      goto out;
    }
  }
  if (so->test && !is_do) {
    errorf("save: --test needs a run of `weft do`, whose program is main (run %" PRId64 "'s program is %s)", r.id,
           r.program);
    goto out;
  }
  if (so->test && strcmp(gen->addr, DO_PLAN_ADDR) != 0) {
    /* the test holds the run's inputs and the plan's effects: they are
     * another program's than one generated inside it */
    errorf("save: --test keeps the plan (%s) with the run's inputs; the program at %s was written inside it "
           "(save it without --test)", DO_PLAN_ADDR, gen->addr);
    goto out;
  }
  if (!so->force && path_taken(file)) {
    errorf("save: %s exists; give --force to overwrite it", file);
    goto out;
  }
  rc = EXIT_FAIL;
  stem = xstrndup(file, flen - 5);
  if (so->test) {
    test_path = xasprintf("%s.test.json", stem);
    cas_path = xasprintf("%s.cassette.json", stem);
    if (!so->force && (path_taken(test_path) || path_taken(cas_path))) {
      errorf("save: %s or %s exists; give --force to overwrite them", test_path, cas_path);
      rc = EXIT_USAGE;
      goto out;
    }
  }
  if (!write_text(file, gen->response, strlen(gen->response), so->force)) goto out;
  if (so->test) {
    rs = records_new();
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
      if (&es[i] == gen) continue;
      char *addr = readdress(es[i].addr);
      if (!addr) continue;
      EffectRec copy = effect_rec_dup(&es[i]);
      free(copy.addr);
      copy.addr = addr;
      records_put(rs, &copy);
      kept++;
    }
    char *err = NULL;
    if (!cassette_write(cas_path, rs, base_name_of(file), &err)) {
      errorf("save: %s", err ? err : "cannot write the cassette");
      free(err);
      goto out;
    }
    char *tj = save_test_json(&r, base_name_of(file), base_name_of(cas_path));
    bool ok = write_text(test_path, tj, strlen(tj), so->force);
    free(tj);
    if (!ok) goto out;
    errorf("saved %s, its test %s and the cassette %s (%zu recorded effect%s); `weft test %s` runs it", file,
           test_path, cas_path, kept, kept == 1 ? "" : "s", test_path);
  } else {
    errorf("saved %s (the program run %" PRId64 " generated at %s)", file, r.id, gen->addr);
  }
  rc = EXIT_OK;
out:
  records_free(rs);
  free(stem);
  free(test_path);
  free(cas_path);
  effect_recs_free(es, n);
  run_rec_free(&r);
  journal_close(j);
  return rc;
}
