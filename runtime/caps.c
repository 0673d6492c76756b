/* caps.c — capability calls as effects: the table of operations and what
 * every operation shares (journal, resume, trace, cancellation, budgets,
 * delivery). caps.h states the rules; the operations live in their own
 * files (fs.c, and the process and HTTP engines) and are listed below. */
#include "caps.h"
#include "fs.h"
#include "proc_cap.h"
#include "fetch.h"
#include "host.h"
#include "../base/util.h"
#include "../vm/json.h"
#include "../vm/trace.h"
#include "../vm/vm_impl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table ------------------------------------------------------------------ */

/* One row per operation; the name is what the std module passes to
 * cap_call, and the address kind of its effects ("main/fs.read#1"). */
static const CapOp cap_ops[] = {
  {"fs.read", GRANT_READ, fs_read_start, NULL, NULL, ""},
  {"fs.list", GRANT_READ, fs_list_start, NULL, NULL, ""},
  {"fs.glob", GRANT_READ, fs_glob_start, NULL, NULL, ""},
  {"fs.exists", GRANT_READ, fs_exists_start, NULL, NULL, NULL},
  {"fs.write", GRANT_WRITE, fs_write_start, NULL, "path", NULL},
  {"proc.run", GRANT_RUN, proc_run_start, proc_run_cancel, "program args stdin cwd env", "stdout stderr"},
  {"http.request", GRANT_NET, http_request_start, http_request_cancel, "url method headers body",
   "body headers url"},
};

const CapOp *caps_table(uint32_t *n) {
  *n = (uint32_t)(sizeof cap_ops / sizeof cap_ops[0]);
  return cap_ops;
}

const CapOp *caps_find(const char *name) {
  for (size_t i = 0; i < sizeof cap_ops / sizeof cap_ops[0]; i++)
    if (strcmp(cap_ops[i].name, name) == 0) return &cap_ops[i];
  return NULL;
}

/* ---- calls ---------------------------------------------------------------------- */

#define CAP_UNTRUSTED_MAX 4  /* fields in a CapOp's untrusted list */

typedef enum CapState { CAP_RUNNING, CAP_DONE, CAP_FAILED } CapState;

struct CapCall {
  Caps *cs;
  const CapOp *op;
  Fiber *f;
  Budget *budget;         /* f's innermost budget (one reference): its time limit stops the call */
  char *addr;
  char *request;          /* {"op":..,"args":..}: the journal's request */
  CapState state;
  bool served;            /* answered from the records */
  bool starting;          /* inside op->start */
  char *response;         /* CAP_DONE: the result JSON */
  char *fail_kind, *fail_msg;  /* CAP_FAILED */
  /* the labels of the result's untrusted fields (CapOp.untrusted, in
   * order; [0] for the whole result): what the grants say now, joined
   * with what a record that answered the call says (never less) */
  Label label[CAP_UNTRUSTED_MAX];
  void *data;             /* the handler's */
  int64_t started_at;     /* unix ms */
  uint64_t started_ms;    /* the VM's clock */
  CapCall *prev, *next;   /* in running or done */
};

typedef struct CapList { CapCall *head, *tail; uint32_t n; } CapList;

struct Caps {
  VM *vm;
  const Grants *grants;
  CapsLoopFn loop_fn;
  void *loop_ud;
  Loop *loop;
  EffectLog *log;
  CapList running, done;
  uint64_t budgets_seen;
  /* fiber -> call, open addressing: a fan-out that fails cancels every
   * branch, and a walk of the calls per branch would be quadratic */
  Fiber **keys;
  CapCall **vals;
  uint32_t cap, used;     /* used counts tombstones too */
};

static Fiber *const TOMB = (Fiber *)(uintptr_t)1;

static void list_push(CapList *l, CapCall *c) {
  c->prev = l->tail;
  c->next = NULL;
  if (l->tail) l->tail->next = c;
  else l->head = c;
  l->tail = c;
  l->n++;
}

static void list_remove(CapList *l, CapCall *c) {
  if (c->prev) c->prev->next = c->next;
  else l->head = c->next;
  if (c->next) c->next->prev = c->prev;
  else l->tail = c->prev;
  c->prev = c->next = NULL;
  l->n--;
}

static uint32_t slot_of(const Fiber *f, uint32_t cap) {
  uint64_t h = (uint64_t)(uintptr_t)f * 0x9e3779b97f4a7c15ULL;
  return (uint32_t)(h >> 32) & (cap - 1);
}

static void map_put(Caps *cs, Fiber *f, CapCall *c);

static void map_grow(Caps *cs) {
  Fiber **ok = cs->keys;
  CapCall **ov = cs->vals;
  uint32_t ocap = cs->cap;
  uint32_t live = 0;
  for (uint32_t i = 0; i < ocap; i++)
    if (ok[i] && ok[i] != TOMB) live++;
  cs->cap = 16;
  while (cs->cap < live * 4 + 16) cs->cap *= 2;
  cs->keys = xcalloc(cs->cap, sizeof *cs->keys);
  cs->vals = xcalloc(cs->cap, sizeof *cs->vals);
  cs->used = 0;
  for (uint32_t i = 0; i < ocap; i++)
    if (ok[i] && ok[i] != TOMB) map_put(cs, ok[i], ov[i]);
  free(ok);
  free(ov);
}

static void map_put(Caps *cs, Fiber *f, CapCall *c) {
  if ((cs->used + 1) * 2 > cs->cap) map_grow(cs);
  uint32_t i = slot_of(f, cs->cap);
  while (cs->keys[i] && cs->keys[i] != TOMB) i = (i + 1) & (cs->cap - 1);
  if (!cs->keys[i]) cs->used++;
  cs->keys[i] = f;
  cs->vals[i] = c;
}

static int64_t map_find(const Caps *cs, const Fiber *f) {
  if (!cs->cap) return -1;
  uint32_t i = slot_of(f, cs->cap);
  while (cs->keys[i]) {
    if (cs->keys[i] == f) return i;
    i = (i + 1) & (cs->cap - 1);
  }
  return -1;
}

static void map_del(Caps *cs, const Fiber *f) {
  int64_t i = map_find(cs, f);
  if (i >= 0) {
    cs->keys[i] = TOMB;
    cs->vals[i] = NULL;
  }
}

static void call_free(Caps *cs, CapCall *c) {
  if (c->budget) budget_release(cs->vm, c->budget);
  free(c->addr);
  free(c->request);
  free(c->response);
  free(c->fail_kind);
  free(c->fail_msg);
  free(c);
}

/* ---- the object ----------------------------------------------------------------- */

Caps *caps_new(VM *vm, const Grants *g, CapsLoopFn loop_fn, void *loop_ud) {
  Caps *cs = xcalloc(1, sizeof *cs);
  cs->vm = vm;
  cs->grants = g;
  cs->loop_fn = loop_fn;
  cs->loop_ud = loop_ud;
  cs->budgets_seen = vm->budgets_exhausted;
  return cs;
}

static void stop_call(Caps *cs, CapCall *c) {
  if (c->state == CAP_RUNNING && c->op->cancel) c->op->cancel(c);
  map_del(cs, c->f);
}

void caps_free(Caps *cs) {
  if (!cs) return;
  /* the VM may be gone: its budgets are not touched */
  while (cs->running.head) {
    CapCall *c = cs->running.head;
    list_remove(&cs->running, c);
    stop_call(cs, c);
    c->budget = NULL;
    call_free(cs, c);
  }
  while (cs->done.head) {
    CapCall *c = cs->done.head;
    list_remove(&cs->done, c);
    c->budget = NULL;
    call_free(cs, c);
  }
  free(cs->keys);
  free(cs->vals);
  free(cs);
}

void caps_set_log(Caps *cs, EffectLog *log) { cs->log = log; }
void caps_set_grants(Caps *cs, const Grants *g) { cs->grants = g; }

bool caps_busy(const Caps *cs) { return cs && (cs->running.n || cs->done.n); }
bool caps_ready(const Caps *cs) { return cs && cs->done.n; }
bool caps_running(const Caps *cs) { return cs && cs->running.n; }

/* ---- for handlers --------------------------------------------------------------- */

const Grants *caps_grants(const CapCall *c) { return c->cs->grants; }
const char *caps_addr(const CapCall *c) { return c->addr; }
const CapOp *caps_op(const CapCall *c) { return c->op; }
void *caps_data(const CapCall *c) { return c->data; }
void caps_set_data(CapCall *c, void *data) { c->data = data; }

Loop *caps_loop(CapCall *c, char **err) {
  Caps *cs = c->cs;
  if (!cs->loop && cs->loop_fn) cs->loop = cs->loop_fn(cs->loop_ud, err);
  else if (!cs->loop) *err = xasprintf("this host has no event loop");
  return cs->loop;
}

static void complete(CapCall *c) {
  Caps *cs = c->cs;
  list_remove(&cs->running, c);
  list_push(&cs->done, c);
}

void caps_done(CapCall *c, cJSON *result) {
  if (c->state != CAP_RUNNING) {
    cJSON_Delete(result);
    return;
  }
  char *text = result ? cJSON_PrintUnformatted(result) : NULL;
  cJSON_Delete(result);
  if (!text) {
    caps_fail(c, "error", "the result could not be written as JSON");
    return;
  }
  c->response = xstrdup(text); /* the journal's strings are freed with free() */
  cJSON_free(text);
  c->state = CAP_DONE;
  complete(c);
}

void caps_fail(CapCall *c, const char *kind, const char *message) {
  if (c->state != CAP_RUNNING) return;
  c->fail_kind = xstrdup(kind ? kind : "error");
  c->fail_msg = xstrdup(message ? message : "the call failed");
  c->state = CAP_FAILED;
  complete(c);
}

/* ---- submit --------------------------------------------------------------------- */

/* Whether any string in v holds a NUL byte: cJSON's strings end at the
 * first one, so a path "a\0/../../x" would reach a handler cut short.
 * Every capability argument is refused with one rather than each handler
 * checking its own. */
static bool has_nul(Value v, int depth) {
  if (depth > VALUE_MAX_DEPTH) return false;
  if (v_is(v, OBJ_STRING)) return memchr(AS_STRING(v)->data, '\0', AS_STRING(v)->len) != NULL;
  if (v_is(v, OBJ_LIST)) {
    ObjList *l = AS_LIST(v);
    for (uint32_t i = 0; i < l->n; i++)
      if (has_nul(l->items[i], depth + 1)) return true;
  } else if (v_is(v, OBJ_RECORD)) {
    ObjRecord *r = AS_RECORD(v);
    for (uint32_t i = 0; i < r->shape->n; i++)
      if (has_nul(r->vals[i], depth + 1)) return true;
  } else if (v_is(v, OBJ_MAP)) {
    ObjMap *m = AS_MAP(v);
    for (uint32_t i = 0; i < m->n; i++)
      if (memchr(m->keys[i]->data, '\0', m->keys[i]->len) || has_nul(m->vals[i], depth + 1)) return true;
  }
  return false;
}

static void trace_start(Caps *cs, const CapCall *c, Value args) {
  Trace *t = cs->vm->trace;
  if (!trace_begin(t, "cap_start", c->addr)) return;
  trace_cstr(t, "op", c->op->name);
  trace_value(t, "args", args);
  if (c->served) trace_cstr(t, "from", "journal");
  trace_end(t);
}

static void trace_finish(Caps *cs, const CapCall *c) {
  Trace *t = cs->vm->trace;
  if (!trace_begin(t, "cap_end", c->addr)) return;
  trace_cstr(t, "op", c->op->name);
  trace_cstr(t, "status", c->state == CAP_DONE ? "ok" : "failed");
  if (c->state == CAP_DONE) trace_int(t, "bytes", (int64_t)strlen(c->response));
  else {
    trace_cstr(t, "kind", c->fail_kind);
    trace_cstr(t, "error", c->fail_msg);
  }
  trace_int(t, "latency_ms", (int64_t)(vm_now_ms(cs->vm) - c->started_ms));
  if (c->served) trace_cstr(t, "from", "journal");
  trace_end(t);
}

/* Answers c from rec (resume: a finished call; replay: any call). */
static void serve(Caps *cs, CapCall *c, const EffectRec *rec) {
  c->served = true;
  if (rec->ok) {
    c->response = xstrdup(rec->response ? rec->response : "null");
    c->state = CAP_DONE;
  } else {
    c->fail_kind = xstrdup(rec->error_kind ? rec->error_kind : "error");
    c->fail_msg = xstrdup(rec->error ? rec->error : "the call failed");
    c->state = CAP_FAILED;
  }
  /* a record may add a label, never remove one */
  Label jl = caps_record_label(cs->vm, rec->label);
  for (int i = 0; i < CAP_UNTRUSTED_MAX; i++) c->label[i] = label_join(c->label[i], jl);
  cs->log->served++;
  if (cs->log->collect) {
    EffectRec copy = effect_rec_dup(rec);
    records_put(cs->log->collect, &copy);
  }
}

/* ---- untrusted content ---------------------------------------------------------- */

char *caps_label_site(const char *addr) {
  Buf b;
  buf_init(&b);
  for (const char *p = addr ? addr : ""; *p; p++) {
    if (*p == '@') {
      const char *e = strchr(p, ']');
      if (e) {
        p = e;
        continue;
      }
    }
    buf_putc(&b, *p);
  }
  return buf_detach(&b);
}

/* Whether field `name` (NUL-terminated) is one of the space-separated
 * names of list. */
static bool field_listed(const char *list, const char *name, size_t n) {
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ' ');
    size_t k = e ? (size_t)(e - p) : strlen(p);
    if (k == n && memcmp(p, name, n) == 0) return true;
    p = e ? e + 1 : p + k;
  }
  return false;
}

/* The first labelled value inside v, or v itself: its label, with where
 * it is appended to `where` (which already names v). Inner values first:
 * the message can then say which argument. */
static Label find_label(Value v, int depth, bool args, Buf *where) {
  if (depth > VALUE_MAX_DEPTH) return v_label(v);
  size_t mark = where->len;
  if (v_is(v, OBJ_LIST)) {
    ObjList *l = AS_LIST(v);
    for (uint32_t i = 0; i < l->n; i++) {
      Buf inner;
      buf_init(&inner);
      Label x = find_label(l->items[i], depth + 1, false, &inner);
      if (x) {
        char *outer = xstrndup(where->data, mark);
        where->len = 0;
        buf_printf(where, "%s %u of %s", args && depth == 0 ? "argument" : "item", i + 1, outer);
        free(outer);
        buf_free(&inner);
        return x;
      }
      buf_free(&inner);
    }
  } else if (v_is(v, OBJ_MAP) || v_is(v, OBJ_RECORD)) {
    bool map = v_is(v, OBJ_MAP);
    uint32_t n = map ? AS_MAP(v)->n : AS_RECORD(v)->shape->n;
    for (uint32_t i = 0; i < n; i++) {
      ObjString *k = map ? AS_MAP(v)->keys[i] : AS_RECORD(v)->shape->names[i];
      Value x = map ? AS_MAP(v)->vals[i] : AS_RECORD(v)->vals[i];
      Buf inner;
      buf_init(&inner);
      Label lk = map && k ? k->h.label : LABEL_NONE;
      Label lx = lk ? lk : find_label(x, depth + 1, false, &inner);
      buf_free(&inner);
      if (!lx) continue;
      char *outer = xstrndup(where->data, mark);
      where->len = 0;
      if (lk) buf_printf(where, "a key of %s", outer);
      else {
        buf_printf(where, "%s[", outer);
        buf_json_string(where, k ? k->data : "", k ? k->len : 0);
        buf_putc(where, ']');
      }
      free(outer);
      return lx;
    }
  }
  return v_label(v);
}

/* A labelled value in an acting field of the arguments: the refusal (a
 * failure of kind "untrusted" on the fiber), before anything is started
 * or answered from a record. */
static bool refuse_untrusted(Caps *cs, const CapOp *op, const EffectRequest *rq) {
  Value args = rq->u.cap.args;
  if (!op->acting) return false;
  if (vm_fiber_restricted(cs->vm, rq->fiber)) {
    /* code a planner wrote after reading untrusted text (and what it
     * started): whatever its arguments, it does not act */
    vm_raise_kind(cs->vm, rq->fiber, "untrusted",
                  "%s: called by a program a planner wrote from untrusted text, which may not write files, run "
                  "programs or use the network", op->name);
    return true;
  }
  if (!v_is(args, OBJ_RECORD)) {
    /* the std modules pass a record; anything else is judged whole */
    Label l = v_label(args);
    if (!l) return false;
    vm_raise_kind(cs->vm, rq->fiber, "untrusted", "%s: its arguments are untrusted text (from %s)", op->name,
                  vm_label_what(cs->vm, l));
    return true;
  }
  ObjRecord *r = AS_RECORD(args);
  for (uint32_t i = 0; i < r->shape->n; i++) {
    ObjString *name = r->shape->names[i];
    if (!name || !field_listed(op->acting, name->data, name->len)) continue;
    Buf where;
    buf_init(&where);
    buf_put(&where, name->data, name->len);
    Label l = find_label(r->vals[i], 0, strcmp(name->data, "args") == 0, &where);
    if (l) {
      VM *vm = cs->vm;
      vm_raise_kind(vm, rq->fiber, "untrusted",
                    "%s: %s is untrusted text (from %s); pass it through a closed type or trust(x, \"why\")%s",
                    op->name, where.data, vm_label_what(vm, l),
                    vm->trust_allowed ? ""
                                      : " (this run is --untrusted: trust() takes effect only with --allow-trust)");
      buf_free(&where);
      return true;
    }
    buf_free(&where);
  }
  return false;
}

/* What the grants say of the result's untrusted fields: a label per field
 * (an origin naming the field, op and call site: "the body of
 * http.request at main/http.request#1"), or none when the grants vouch
 * for them: a program granted PROGRAM:trusted, a file read outside every
 * --allow-read-untrusted grant. Without grants (a replay) a program's
 * output and a response are untrusted; a file's label comes from the
 * record. */
static void result_labels(Caps *cs, const CapOp *op, const cJSON *args, const char *addr, Label *out) {
  if (!op->untrusted) return;
  const Grants *g = cs->grants;
  if (strcmp(op->name, "proc.run") == 0 && g) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(args, "program");
    char *abs = NULL, *err = NULL;
    bool trusted = cJSON_IsString(p) && grants_program(g, p->valuestring, &abs, &err) &&
                   grants_program_trusted(g, abs);
    free(abs);
    free(err);
    if (trusted) return;
  } else if (strncmp(op->name, "fs.", 3) == 0) {
    if (!g) return;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(args, "path");
    if (!p) p = cJSON_GetObjectItemCaseSensitive(args, "pattern");
    if (!cJSON_IsString(p)) return;
    /* a pattern: the directory before its first wildcard */
    char *path = xstrdup(p->valuestring);
    bool walk = strcmp(op->name, "fs.glob") == 0;
    char *w = walk ? strpbrk(path, "*?[{") : NULL;
    if (w) {
      *w = '\0';
      char *slash = strrchr(path, '/');
      if (slash) slash[slash == path ? 1 : 0] = '\0';
      else strcpy(path, ".");
    }
    bool untrusted = grants_read_untrusted(g, path, walk);
    free(path);
    if (!untrusted) return;
  }
  char *site = caps_label_site(addr);
  if (!*op->untrusted) {
    char *what = xasprintf("the result of %s at %s", op->name, site);
    out[0] = vm_label_origin(cs->vm, what);
    free(what);
  }
  int i = 0;
  for (const char *p = op->untrusted; *p && i < CAP_UNTRUSTED_MAX; i++) {
    const char *e = strchr(p, ' ');
    int k = (int)(e ? (size_t)(e - p) : strlen(p));
    char *what = xasprintf("the %.*s of %s at %s", k, p, op->name, site);
    out[i] = vm_label_origin(cs->vm, what);
    free(what);
    p = e ? e + 1 : p + k;
  }
  free(site);
}

Label caps_record_label(VM *vm, const char *text) {
  if (!text || !*text) return LABEL_NONE;
  Buf b;
  buf_init(&b);
  const unsigned char *p = (const unsigned char *)text;
  for (; *p && b.len < 200; p++) buf_putc(&b, *p < 0x20 || *p == 0x7f ? '?' : (char)*p);
  if (*p) { /* cut on a character boundary */
    while (b.len && ((unsigned char)b.data[b.len - 1] & 0xC0) == 0x80) b.len--;
    if (b.len && (unsigned char)b.data[b.len - 1] >= 0xC0) b.len--;
    b.data[b.len] = '\0';
  }
  Label l = vm_label_origin(vm, b.data);
  buf_free(&b);
  return l;
}

/* Labels a fresh result v: each untrusted field of op with its label (the
 * whole result for an operation whose result is all content, or one with
 * none that a record said was labelled), and the result itself (an
 * object's label is the join of its parts). */
static void label_result(const CapOp *op, Value v, const Label *l) {
  if (!op->untrusted || !*op->untrusted || !v_is(v, OBJ_MAP)) {
    Label all = LABEL_NONE;
    for (int i = 0; i < CAP_UNTRUSTED_MAX; i++) all = label_join(all, l[i]);
    if (all) v_label_deep(v, all);
    return;
  }
  ObjMap *m = AS_MAP(v);
  int i = 0;
  for (const char *p = op->untrusted; *p && i < CAP_UNTRUSTED_MAX; i++) {
    const char *e = strchr(p, ' ');
    size_t k = e ? (size_t)(e - p) : strlen(p);
    Value *x = map_get_cstr(m, p, k);
    if (x && l[i]) {
      if (x->tag == V_OBJ) v_label_deep(*x, l[i]);
      else x->label = label_join(x->label, l[i]);
      m->h.label = label_join(m->h.label, l[i]);
    }
    p = e ? e + 1 : p + k;
  }
}

bool caps_submit(Caps *cs, const EffectRequest *rq) {
  VM *vm = cs->vm;
  const CapOp *op = caps_find(rq->u.cap.op);
  if (!op) {
    vm_raise(vm, rq->fiber, "no capability operation named %s", rq->u.cap.op);
    return false;
  }
  if (refuse_untrusted(cs, op, rq)) return false;
  if (has_nul(rq->u.cap.args, 0)) {
    vm_raise(vm, rq->fiber, "%s: an argument holds a NUL byte", op->name);
    return false;
  }
  Buf b;
  buf_init(&b);
  char *why = NULL;
  buf_puts(&b, "{\"op\":");
  buf_json_string(&b, op->name, strlen(op->name));
  buf_puts(&b, ",\"args\":");
  size_t at = b.len;
  if (!v_to_json(&b, rq->u.cap.args, &why)) {
    vm_raise(vm, rq->fiber, "%s: the arguments have no JSON form: %s", op->name, why ? why : "");
    free(why);
    buf_free(&b);
    return false;
  }
  cJSON *args = cJSON_ParseWithLength(b.data + at, b.len - at);
  buf_putc(&b, '}');
  buf_putc(&b, '\0');
  if (!args) {
    vm_raise(vm, rq->fiber, "%s: the arguments could not be read back", op->name);
    buf_free(&b);
    return false;
  }
  CapCall *c = xcalloc(1, sizeof *c);
  c->cs = cs;
  c->op = op;
  c->f = rq->fiber;
  c->budget = rq->fiber->budget ? budget_retain(rq->fiber->budget) : NULL;
  c->addr = xstrdup(rq->addr);
  c->request = b.data;
  c->started_at = unix_now_ms();
  c->started_ms = vm_now_ms(vm);
  c->state = CAP_RUNNING;
  result_labels(cs, op, args, c->addr, c->label);
  list_push(&cs->running, c);
  map_put(cs, c->f, c);

  EffectLog *log = cs->log;
  const EffectRec *rec = log && log->serve ? records_get(log->serve, c->addr) : NULL;
  bool same = rec && strcmp(rec->kind, "cap") == 0 && rec->request && strcmp(rec->request, c->request) == 0;
  if (log && log->serve && log->mode == SERVE_STRICT) {
    if (!same) {
      c->fail_kind = xstrdup("error");
      c->fail_msg = xasprintf("%s: %s holds no record of this %s call", c->addr,
                              log->serve_name ? log->serve_name : "the replay", op->name);
      c->state = CAP_FAILED;
    } else {
      serve(cs, c, rec);
    }
    trace_start(cs, c, rq->u.cap.args);
    complete(c);
  } else if (same && (rec->ok || rq->fiber->ntries > 0)) {
    /* a failure a `try` of the calling fiber caught is history the run
     * went on from, as for an ask: answered with it, not run again */
    serve(cs, c, rec);
    trace_start(cs, c, rq->u.cap.args);
    complete(c);
  } else {
    trace_start(cs, c, rq->u.cap.args);
    c->starting = true;
    op->start(c, args);
    c->starting = false;
    if (c->state == CAP_RUNNING && !op->cancel) /* a handler that must finish in start did not */
      caps_fail(c, "error", "the operation did not complete (internal)");
  }
  cJSON_Delete(args);
  return true;
}

void caps_cancel(Caps *cs, Fiber *f) {
  if (!cs) return;
  int64_t i = map_find(cs, f);
  if (i < 0) return;
  CapCall *c = cs->vals[i];
  list_remove(c->state == CAP_RUNNING ? &cs->running : &cs->done, c);
  stop_call(cs, c);
  call_free(cs, c);
}

/* ---- delivery ------------------------------------------------------------------- */

/* A `time` budget over a running call ran out: the call is stopped (a
 * process killed) and its fiber fails with the budget's message. */
static void budget_sweep(Caps *cs) {
  VM *vm = cs->vm;
  if (cs->budgets_seen == vm->budgets_exhausted) return;
  cs->budgets_seen = vm->budgets_exhausted;
  for (CapCall *c = cs->running.head, *next; c; c = next) {
    next = c->next;
    const char *why = c->budget ? budget_time_spent(vm, c->budget) : NULL;
    if (!why) continue;
    if (c->op->cancel) c->op->cancel(c);
    c->fail_kind = xstrdup("budget");
    c->fail_msg = xasprintf("%s: %s", c->op->name, why);
    c->state = CAP_FAILED;
    c->served = false;
    budget_mark_refused(c->budget);
    complete(c);
  }
}

static void journal_call(Caps *cs, CapCall *c) {
  EffectLog *log = cs->log;
  if (!log || c->served) return; /* already in the records (serve copied it to --record's) */
  EffectRec r;
  memset(&r, 0, sizeof r);
  r.addr = xstrdup(c->addr);
  r.kind = xstrdup("cap");
  r.request = xstrdup(c->request);
  r.req_hash = fnv1a64(0xcbf29ce484222325ULL, r.request, strlen(r.request));
  r.ok = c->state == CAP_DONE;
  if (r.ok) r.response = xstrdup(c->response);
  else {
    r.error = xstrdup(c->fail_msg);
    r.error_kind = xstrdup(c->fail_kind);
  }
  for (int i = 0; r.ok && i < CAP_UNTRUSTED_MAX && !r.label; i++)
    if (c->label[i]) r.label = xstrdup(vm_label_what(cs->vm, c->label[i]));
  r.attempts = 1;
  r.started_at = c->started_at;
  r.ended_at = unix_now_ms();
  if (log->journal) {
    journal_effect_put(log->journal, log->run, &r);
    log->dirty = true;
  }
  if (log->collect) records_put(log->collect, &r);
  effect_rec_free(&r);
}
/* The fiber keeps its failure kind as a static string (vm/vm.h): the
 * call's copy is freed with the call, so the kind is mapped back onto the
 * one list of kinds (vm/vm_impl.h). */
static const char *static_kind(const char *k) {
  static const char *const kinds[] = {"error", "timeout", "budget", "limit", "cancelled", "untrusted"};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (k && strcmp(k, kinds[i]) == 0) return kinds[i];
  return "error";
}


void caps_deliver(Caps *cs) {
  if (!cs) return;
  VM *vm = cs->vm;
  budget_sweep(cs);
  if (!cs->done.n) return;
  /* what completes together is journaled and committed together, before
   * any of its fibers runs */
  for (CapCall *c = cs->done.head; c; c = c->next) journal_call(cs, c);
  if (cs->log) effects_commit(vm, cs->log);
  while (cs->done.head) {
    CapCall *c = cs->done.head;
    list_remove(&cs->done, c);
    map_del(cs, c->f);
    trace_finish(cs, c);
    Fiber *f = c->f;
    if (c->state == CAP_DONE) {
      Value v;
      char *err = NULL;
      if (v_from_json(&vm->heap, c->response, strlen(c->response), &v, &err)) {
        label_result(c->op, v, c->label);
        vm_wake(vm, f, v);
      } else {
        char *m = xasprintf("%s: the result is not JSON: %s", c->op->name, err ? err : "");
        vm_fail_parked_at(vm, f, "error", m, c->addr);
        free(m);
      }
      free(err);
    } else {
      /* a failure of an operation whose result is untrusted may quote what
       * the other side sent (a redirect's target, a server's words): its
       * message carries the result's label */
      Label all = LABEL_NONE;
      for (int i = 0; i < CAP_UNTRUSTED_MAX; i++) all = label_join(all, c->label[i]);
      vm_fail_parked_label(vm, f, static_kind(c->fail_kind), c->fail_msg, c->addr, all);
    }
    call_free(cs, c);
  }
}
