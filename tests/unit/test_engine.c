/* test_engine.c — the effect engine on hand-built modules, offline.
 *
 * Every test uses the mock provider (or a role whose call fails before the
 * network, or a closed local port), so nothing leaves the machine. A module
 * here is one function `asker(prompt)`: GET_LOCAL 0; ASK role td; RETURN,
 * spawned on many fibers. Prints TAP-style `ok N - desc` lines and exits
 * non-zero if any check failed. */
#include "../../runtime/engine.h"
#include "../../runtime/host.h"
#include "../../vm/opcodes.h"
#include "../../vm/vm_impl.h"
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include "../../runtime/curl_dl.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a module: roles, a record type and the asker function ----------------- */

typedef struct TM {
  Heap heap;
  Module *m;
  uint32_t td_rec;   /* {name: string, n: int} */
  uint32_t td_list;  /* list[int] (wrapped in the schema) */
} TM;

static RoleDesc role_desc(const char *name, const char *model) {
  RoleDesc r;
  memset(&r, 0, sizeof r);
  r.name = (char *)name;
  r.model = (char *)model;
  r.temperature = NAN;
  r.top_p = NAN;
  r.max_tokens = -1;
  r.timeout_ms = -1;
  r.retries = -1;
  r.repairs = -1;
  return r;
}

/* Function i asks role `role` with its argument, typed by td. */
static void add_asker(Module *m, uint32_t role, uint32_t td) {
  m->funcs = realloc(m->funcs, (m->nfuncs + 1) * sizeof *m->funcs);
  FuncProto *p = &m->funcs[m->nfuncs++];
  memset(p, 0, sizeof *p);
  p->name = strdup("asker");
  p->file = 0;
  p->line = 3;
  p->arity = 1;
  p->nlocals = 1;
  p->max_stack = 1;
  uint8_t code[] = {OP_GET_LOCAL, 0, 0, OP_ASK, (uint8_t)role, (uint8_t)(role >> 8),
                    (uint8_t)td, (uint8_t)(td >> 8), OP_RETURN};
  p->code = malloc(sizeof code);
  memcpy(p->code, code, sizeof code);
  p->code_len = sizeof code;
  p->lines = malloc(sizeof *p->lines);
  p->lines[0].pc = 0;
  p->lines[0].line = 3;
  p->lines[0].col = 5;
  p->nlines = 1;
}

/* roles: 0 = "r" (model), 1 = "other" (mock/y); functions: 0 text, 1 record,
 * 2 list[int], all asking role 0; 3 text asking role 1. */
static void tm_init(TM *t, const char *model) {
  heap_init(&t->heap, 0);
  t->m = module_new(&t->heap);
  module_add_file(t->m, "t.weft");
  RoleDesc r = role_desc("r", model);
  module_add_role(t->m, &r);
  RoleDesc o = role_desc("other", "mock/y");
  module_add_role(t->m, &o);
  TypeDesc s = {0}, i = {0}, rec = {0}, lst = {0};
  s.kind = TD_STRING; s.doc = s.name = NO_INDEX; s.elem = NO_INDEX;
  i.kind = TD_INT; i.doc = i.name = NO_INDEX; i.elem = NO_INDEX;
  uint32_t ts = module_add_type(t->m, &s), ti = module_add_type(t->m, &i);
  TypeField f[2] = {{module_add_string(t->m, "name", 4), ts, NO_INDEX},
                    {module_add_string(t->m, "n", 1), ti, NO_INDEX}};
  rec.kind = TD_RECORD; rec.n = 2; rec.fields = f; rec.doc = NO_INDEX; rec.elem = NO_INDEX;
  rec.name = module_add_string(t->m, "Item", 4);
  t->td_rec = module_add_type(t->m, &rec);
  lst.kind = TD_LIST; lst.elem = ti; lst.doc = lst.name = NO_INDEX;
  t->td_list = module_add_type(t->m, &lst);
  add_asker(t->m, 0, ASK_TEXT);
  add_asker(t->m, 0, t->td_rec);
  add_asker(t->m, 0, t->td_list);
  add_asker(t->m, 1, ASK_TEXT);
}

static void tm_free(TM *t) { module_free(t->m); }

static Fiber *spawn_ask(VM *vm, uint32_t fn, const char *prompt) {
  Value f = v_func(&vm->heap, fn, 0);
  Value p = v_cstring(&vm->heap, prompt);
  char *err = NULL;
  Fiber *fb = vm_spawn(vm, f, &p, 1, &err);
  v_release(&vm->heap, f);
  v_release(&vm->heap, p);
  free(err);
  return fb;
}

static EngineConfig cfg_default(void) {
  EngineConfig c;
  memset(&c, 0, sizeof c);
  c.retries = -1;
  c.repairs = -1;
  return c;
}

static char *write_temp(const char *text) {
  char *path = strdup("/tmp/weft_engine_testXXXXXX");
  int fd = mkstemp(path);
  if (fd < 0) return path;
  if (write(fd, text, strlen(text)) < 0) perror("write");
  close(fd);
  return path;
}

/* The engine hands asks to the VM through a host (runtime/host.h); one at
 * a time here, freed after its VM. */
static Host *H;

static Engine *new_engine(VM *vm, const EngineConfig *c, char **err) {
  Engine *e = engine_new(vm, c, err);
  if (e) H = host_new(vm, e);
  return e;
}

static void free_vm(VM *vm) {
  vm_free(vm);
  host_free(H);
  H = NULL;
}

/* ---- tests ------------------------------------------------------------------ */

/* 300 fibers ask at once behind an admission limit of 16: every one resumes
 * with the reply to its own prompt, and never more than 16 are in flight. */
static void test_many_fibers(void) {
  TM t;
  tm_init(&t, "mock/m");
  VM *vm = vm_new(t.m, NULL);
  EngineConfig c = cfg_default();
  c.max_concurrency = 16;
  char *err = NULL;
  Engine *e = new_engine(vm, &c, &err);
  ok(e && vm->effects && vm->effects->submit, "the host installs the VM's effects table");
  enum { N = 300 };
  Fiber *fs[N];
  char prompt[64];
  for (int i = 0; i < N; i++) {
    snprintf(prompt, sizeof prompt, "prompt number %d", i);
    fs[i] = spawn_ask(vm, 0, prompt);
  }
  uint32_t failed = vm_run(vm);
  ok(failed == 0, "no fiber failed");
  int right = 0;
  for (int i = 0; i < N; i++) {
    snprintf(prompt, sizeof prompt, "to: prompt number %d", i);
    if (fs[i]->state == FIBER_DONE && v_is(fs[i]->result, OBJ_STRING) &&
        strncmp(AS_STRING(fs[i]->result)->data, "mock reply #", 12) == 0 &&
        strstr(AS_STRING(fs[i]->result)->data, prompt) &&
        strlen(strstr(AS_STRING(fs[i]->result)->data, prompt)) == strlen(prompt))
      right++;
  }
  ok(right == N, "all 300 fibers resumed with the reply to their own prompt");
  const RunStats *s = engine_stats(e);
  ok(s->calls == N && s->attempts == N && s->failed == 0, "stats count 300 calls and attempts");
  ok(s->max_in_flight == 16, "admission: at most --max-concurrency in flight, and it is reached");
  ok(!engine_busy(e), "the engine is idle after the run");
  Buf b;
  buf_init(&b);
  engine_stats_json(e, &b);
  buf_putc(&b, '\0');
  has_substr(b.data, "{\"calls\":300,\"failed\":0,\"attempts\":300,\"retries\":0,\"repairs\":0,"
             "\"max_in_flight\":16,", "stats JSON");
  has_substr(b.data, "\"cost_usd\":0,\"unpriced_models\":[],\"served\":0}", "mock calls cost nothing and are priced");
  buf_free(&b);
  char *sum = NULL;
  size_t sumlen = 0;
  FILE *mf = open_memstream(&sum, &sumlen);
  engine_summary(e, mf);
  fclose(mf);
  has_substr(sum, "weft: 300 calls (0 failed), 0 retries, 0 repairs, ", "summary line");
  has_substr(sum, " out tokens, $0.0000, ", "summary cost");
  free(sum);
  /* a deterministic mock: the same prompt gets the same reply */
  Fiber *a = spawn_ask(vm, 0, "same"), *b2 = spawn_ask(vm, 0, "same");
  vm_run(vm);
  ok(a->state == FIBER_DONE && b2->state == FIBER_DONE && v_equal(a->result, b2->result),
     "the mock is deterministic");
  engine_free(e);
  Fiber *late = spawn_ask(vm, 0, "after the engine");
  vm_run(vm);
  ok(late->state == FIBER_FAILED && late->error && strstr(late->error, "need an engine"),
     "engine_free detaches: a later ask fails cleanly");
  free_vm(vm);
  tm_free(&t);
}

/* Typed asks: a record, and a list (wrapped as {"value": ...} in the
 * schema) come back converted. */
static void test_typed(void) {
  TM t;
  tm_init(&t, "mock/m");
  VM *vm = vm_new(t.m, NULL);
  EngineConfig c = cfg_default();
  char *err = NULL;
  Engine *e = new_engine(vm, &c, &err);
  Fiber *f1 = spawn_ask(vm, 1, "give me an item");
  Fiber *f2 = spawn_ask(vm, 2, "give me numbers");
  vm_run(vm);
  ok(f1->state == FIBER_DONE && v_is(f1->result, OBJ_RECORD) &&
     AS_RECORD(f1->result)->shape->n == 2 && v_is(AS_RECORD(f1->result)->vals[0], OBJ_STRING) &&
     AS_RECORD(f1->result)->vals[1].tag == V_INT, "typed ask of a record gives a record");
  int good = f2->state == FIBER_DONE && v_is(f2->result, OBJ_LIST);
  for (uint32_t i = 0; good && i < AS_LIST(f2->result)->n; i++) good = AS_LIST(f2->result)->items[i].tag == V_INT;
  ok(good, "typed ask of list[int] unwraps {\"value\": ...}");
  ok(engine_stats(e)->repairs == 0, "generated mock values need no repair");
  engine_free(e);
  free_vm(vm);
  tm_free(&t);
}

/* A script answers the first attempt with text that is not JSON: the
 * engine repairs, and the generated value on the second attempt fits. */
static void test_repair(void) {
  TM t;
  tm_init(&t, "mock/m");
  char *path = write_temp("{\"replies\":[{\"role\":\"r\",\"match\":\"fix\",\"reply\":\"not json\",\"times\":1},"
                          "{\"match\":\"bad\",\"reply\":{\"name\":3,\"n\":1}},"
                          "{\"role\":\"other\",\"reply\":\"scripted text\"}]}");
  VM *vm = vm_new(t.m, NULL);
  EngineConfig c = cfg_default();
  c.mock_script = path;
  char *err = NULL;
  Engine *e = new_engine(vm, &c, &err);
  ok(e != NULL, "a mock script loads");
  Fiber *f1 = spawn_ask(vm, 1, "please fix this");
  Fiber *f3 = spawn_ask(vm, 3, "anything");
  vm_run(vm);
  ok(f1->state == FIBER_DONE && v_is(f1->result, OBJ_RECORD), "a repaired ask succeeds");
  ok(engine_stats(e)->repairs == 1 && engine_stats(e)->attempts == 3, "one repair, one extra attempt");
  ok(f3->state == FIBER_DONE && v_is(f3->result, OBJ_STRING) &&
     strcmp(AS_STRING(f3->result)->data, "scripted text") == 0, "a script entry answers by role");
  /* always the wrong shape: fails after 1 + 2 repairs */
  Fiber *f2 = spawn_ask(vm, 1, "a bad one");
  vm_run(vm);
  ok(f2->state == FIBER_FAILED, "a reply that never fits fails the ask");
  has_substr(f2->error, "ask r: reply does not match Item after 3 attempts: $.name: ",
             "the failure names role, type, attempts and path");
  has_substr(f2->error_trace, "at asker (t.weft:3:5)", "the trace points at the ask");
  ok(engine_stats(e)->failed == 1 && engine_stats(e)->repairs == 3, "failed and repairs counted");
  engine_free(e);
  free_vm(vm);
  /* --repairs 0: the first bad reply fails */
  vm = vm_new(t.m, NULL);
  c.repairs = 0;
  e = new_engine(vm, &c, &err);
  f2 = spawn_ask(vm, 1, "a bad one");
  vm_run(vm);
  has_substr(f2->error, "after 1 attempt: ", "--repairs 0 fails at once");
  engine_free(e);
  free_vm(vm);
  unlink(path);
  free(path);
  /* malformed scripts are refused with a message */
  const char *bad[] = {"{", "{\"replies\": 3}", "{\"replies\": [{\"match\": 1, \"reply\": \"x\"}]}",
                       "{\"replies\": [{\"match\": \"x\"}]}", "{\"replies\": [{\"reply\": \"x\", \"times\": -1}]}"};
  int refused = 0;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    path = write_temp(bad[i]);
    vm = vm_new(t.m, NULL);
    c.mock_script = path;
    err = NULL;
    e = new_engine(vm, &c, &err);
    if (!e && err && strstr(err, "--mock-script")) refused++;
    free(err);
    engine_free(e);
    free_vm(vm);
    unlink(path);
    free(path);
  }
  ok(refused == 5, "malformed mock scripts are refused");
  tm_free(&t);
}

/* Remapping: --provider mock and --model ROLE=mock/x need no key. */
static void test_remap(void) {
  TM t;
  tm_init(&t, "anthropic/claude-sonnet-4-5");
  unsetenv("ANTHROPIC_API_KEY");
  VM *vm = vm_new(t.m, NULL);
  EngineConfig c = cfg_default();
  char *err = NULL;
  Engine *e = new_engine(vm, &c, &err);
  Fiber *f = spawn_ask(vm, 0, "hi");
  vm_run(vm);
  ok(f->state == FIBER_FAILED, "a missing key fails the ask");
  has_substr(f->error, "role r: ANTHROPIC_API_KEY is not set (needed for anthropic/claude-sonnet-4-5)",
             "the missing-key message names role, variable and model");
  engine_free(e);
  free_vm(vm);

  vm = vm_new(t.m, NULL);
  c.force_provider = "mock";
  e = new_engine(vm, &c, &err);
  f = spawn_ask(vm, 0, "hi");
  vm_run(vm);
  ok(f->state == FIBER_DONE, "--provider mock sends the role to the mock");
  engine_free(e);
  free_vm(vm);

  vm = vm_new(t.m, NULL);
  c.force_provider = NULL;
  ModelOverride o = {"r", "mock/x"};
  c.overrides = &o;
  c.noverrides = 1;
  e = new_engine(vm, &c, &err);
  f = spawn_ask(vm, 0, "hi");
  vm_run(vm);
  ok(f->state == FIBER_DONE, "--model r=mock/x remaps one role");
  engine_free(e);
  free_vm(vm);
  tm_free(&t);
}

/* A transport failure (a closed local port, no retries): the message names
 * the call and holds no part of the key. */
static void test_transport_error(void) {
  TM t;
  tm_init(&t, "anthropic/claude-sonnet-4-5");
  const char *key = "sk-ant-api03-SECRETSECRETSECRET-tail";
  setenv("ANTHROPIC_API_KEY", key, 1);
  setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1/", 1);
  VM *vm = vm_new(t.m, NULL);
  EngineConfig c = cfg_default();
  c.retries = 0;
  c.connect_timeout_ms = 2000;
  char *err = NULL;
  Engine *e = new_engine(vm, &c, &err);
  Fiber *f = spawn_ask(vm, 0, "hi");
  vm_run(vm);
  ok(f->state == FIBER_FAILED, "a refused connection fails the ask");
  has_substr(f->error, "ask r (anthropic/claude-sonnet-4-5): ", "the message names role and model");
  ok(f->error && !strstr(f->error, "SECRET") && !strstr(f->error, key), "no key in the message");
  ok(engine_stats(e)->attempts == 1 && engine_stats(e)->retries == 0, "--retries 0: one attempt");
  engine_free(e);
  free_vm(vm);

  /* with one retry: two attempts, and the message says so */
  vm = vm_new(t.m, NULL);
  c.retries = 1;
  e = new_engine(vm, &c, &err);
  f = spawn_ask(vm, 0, "hi");
  vm_run(vm);
  ok(engine_stats(e)->attempts == 2 && engine_stats(e)->retries == 1, "a transport error is retried");
  has_substr(f->error, "(after 2 attempts)", "exhausted retries are reported");
  engine_free(e);
  free_vm(vm);
  unsetenv("ANTHROPIC_API_KEY");
  unsetenv("ANTHROPIC_BASE_URL");
  tm_free(&t);
}

/* Cancelling: freeing a fiber parked on an ask withdraws the call. */
static void test_cancel(void) {
  TM t;
  tm_init(&t, "mock/m");
  VM *vm = vm_new(t.m, NULL);
  EngineConfig c = cfg_default();
  char *err = NULL;
  Engine *e = new_engine(vm, &c, &err);
  Fiber *f = spawn_ask(vm, 0, "never mind");
  /* run just the fiber's slice: it parks on the ask */
  Fiber *g = vm->runq_head;
  vm->runq_head = vm->runq_tail = NULL;
  g->state = FIBER_RUNNING;
  interp_run(vm, g, 100);
  ok(f == g && f->state == FIBER_PARKED && engine_busy(e), "ASK parks the fiber");
  vm_fiber_free(vm, f);
  ok(!engine_busy(e), "a freed fiber's call is withdrawn");
  engine_free(e);
  free_vm(vm);

  /* without an engine ASK fails cleanly */
  vm = vm_new(t.m, NULL);
  f = spawn_ask(vm, 0, "x");
  vm_run(vm);
  has_substr(f->error, "model calls need an engine (internal)", "no engine: a clean error");
  free_vm(vm);
  tm_free(&t);
}

/* ---- libcurl multi failures ------------------------------------------------ */

static CURLMcode fail_add(CURLM *m, CURL *h) {
  (void)m;
  (void)h;
  return CURLM_OUT_OF_MEMORY;
}
static CURLMcode fail_action(CURLM *m, curl_socket_t s, int ev, int *running) {
  (void)m;
  (void)s;
  (void)ev;
  *running = 0;
  return CURLM_INTERNAL_ERROR;
}
/* libcurl's own socket_action for timeouts (so transfers start), a
 * failure for every socket that becomes ready */
static CURLMcode (*real_action)(CURLM *, curl_socket_t, int, int *);
static CURLMcode fail_ready(CURLM *m, curl_socket_t s, int ev, int *running) {
  if (s == CURL_SOCKET_TIMEOUT) return real_action(m, s, ev, running);
  *running = 0;
  return CURLM_OUT_OF_MEMORY;
}

/* A listening socket that never accepts: a request to it stays in flight. */
static int silent_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

/* Runs one ask of role r (an openai model) against url with curl_api's
 * function `slot` replaced by `fake`, under a global budget of one call,
 * then one mock ask; returns the first fiber's error (malloc'd). */
static char *ask_with_fault(const char *url, void *slot, const void *fake, size_t size, bool *mock_ok) {
  TM t;
  tm_init(&t, "openai/gpt-4o-mini");
  setenv("OPENAI_API_KEY", "sk-test-KEY-9z8y7x", 1);
  setenv("OPENAI_BASE_URL", url, 1);
  unsigned char saved[sizeof(void *)];
  memcpy(saved, slot, size);
  memcpy(slot, fake, size);
  VM *vm = vm_new(t.m, NULL);
  vm_set_budget(vm, BUDGET_CALLS, 2, 0, 0, 0);
  EngineConfig c = cfg_default();
  c.retries = 0;
  c.timeout_ms = 5000;
  char *err = NULL;
  Engine *e = new_engine(vm, &c, &err);
  Fiber *f = spawn_ask(vm, 0, "hi");
  f->budget = budget_retain(vm->budget);
  vm_run(vm);
  char *msg = f->state == FIBER_FAILED && f->error ? strdup(f->error) : NULL;
  memcpy(slot, saved, size);
  /* the run goes on: a later call still gets its slot in the budget */
  Fiber *g = spawn_ask(vm, 3, "after");
  g->budget = budget_retain(vm->budget);
  vm_run(vm);
  *mock_ok = g->state == FIBER_DONE;
  engine_free(e);
  free_vm(vm);
  tm_free(&t);
  unsetenv("OPENAI_API_KEY");
  unsetenv("OPENAI_BASE_URL");
  return msg;
}

/* Every curl_multi_* failure ends the calls it concerns cleanly (a failed
 * ask naming the function), never a hang or a crash. */
static void test_multi_failures(void) {
  char *why = NULL;
  if (!curl_dl_load(&why)) {
    diag("skipped: %s", why);
    free(why);
    ok(1, "libcurl multi failures (libcurl not loadable)");
    return;
  }
  bool mock_ok = false;
  CURLMcode (*add)(CURLM *, CURL *) = fail_add;
  char *msg = ask_with_fault("http://127.0.0.1:1", &curl_api.multi_add_handle, &add, sizeof add, &mock_ok);
  has_substr(msg, "ask r (openai/gpt-4o-mini): cannot start the transfer (curl_multi_add_handle: ",
             "curl_multi_add_handle failing fails the ask");
  ok(mock_ok, "a transfer that never started was not charged: the next call fits the budget");
  free(msg);

  CURLMcode (*action)(CURLM *, curl_socket_t, int, int *) = fail_action;
  msg = ask_with_fault("http://127.0.0.1:1", &curl_api.multi_socket_action, &action, sizeof action, &mock_ok);
  has_substr(msg, "ask r (openai/gpt-4o-mini): the HTTP engine failed (curl_multi_socket_action: ",
             "curl_multi_socket_action failing on the timeout that starts a transfer fails the call");
  ok(mock_ok, "the run goes on after curl_multi_socket_action failed");
  free(msg);

  int port = 0;
  int fd = silent_listener(&port);
  ok(fd >= 0, "a local listener for the ready-socket test");
  if (fd >= 0) {
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    real_action = curl_api.multi_socket_action;
    CURLMcode (*ready)(CURLM *, curl_socket_t, int, int *) = fail_ready;
    msg = ask_with_fault(url, &curl_api.multi_socket_action, &ready, sizeof ready, &mock_ok);
    has_substr(msg, "ask r (openai/gpt-4o-mini): the HTTP engine failed (curl_multi_socket_action: ",
               "curl_multi_socket_action failing on a ready socket fails the call in flight instead of hanging");
    ok(mock_ok, "the run goes on after curl_multi_socket_action failed on a socket");
    free(msg);
    close(fd);
  }
}

int main(void) {
  test_many_fibers();
  test_typed();
  test_repair();
  test_remap();
  test_transport_error();
  test_cancel();
  test_multi_failures();
  return tap_done();
}
