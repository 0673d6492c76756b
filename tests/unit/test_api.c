/* test_api.c — the public API (include/weft.h) from a host's side: the
 * normal path (compile, module, session, run, result, stats, a mock model
 * call), keys from the host against a local HTTP server in a thread,
 * journaled runs resumed and replayed through the API and the command
 * line, the trace sink, a host's own effects table (and every way it can
 * break its contract), cancellation from another thread, and bad input —
 * NULL handles and out-pointers, calls out of order, a freed handle, a
 * handle of the wrong type, a module of a newer format or damaged — each
 * a status code and a message, never a crash. Includes only weft.h (and
 * libc), as a host would. TAP output (tap.h). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, setenv, nanosleep */
#include "../../include/weft.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define check(cond, desc) ok((cond), "%s", (desc))

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static char dir[64];

static const char *write_program(const char *name, const char *text) {
  static char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  return path;
}

static weft_module *module_of(const char *name, const char *text) {
  weft_program *p = NULL;
  weft_module *m = NULL;
  if (weft_compile_file(write_program(name, text), NULL, &p) == WEFT_OK) weft_program_module(p, &m);
  weft_program_free(p);
  return m;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* A session of m, run with inputs: the status, and the result in *r. */
__attribute__((unused)) static weft_status run_of(weft_module *m, const char *inputs, weft_result **r) {
  weft_session *s = NULL;
  weft_session_new(m, &s);
  weft_status st = weft_session_run(s, inputs, r);
  weft_session_free(s);
  return st;
}

/* ---- the trace sink ------------------------------------------------------------ */

typedef struct Trace {
  char *text;          /* every line, concatenated */
  size_t len;
  int lines, bad;      /* lines not ending in '\n' then a NUL, or not an object */
  weft_session *cancel_at_sleep;   /* cancels this session at the first sleep event */
} Trace;

static void trace_sink(void *ud, const char *line, size_t len) {
  Trace *t = ud;
  t->lines++;
  if (len < 3 || line[0] != '{' || line[len - 1] != '\n' || line[len] != '\0' || line[len - 2] != '}') t->bad++;
  char *more = realloc(t->text, t->len + len + 1);
  if (!more) return;
  t->text = more;
  memcpy(t->text + t->len, line, len + 1);
  t->len += len;
  if (t->cancel_at_sleep && strstr(line, "\"ev\":\"sleep\"")) weft_session_cancel(t->cancel_at_sleep);
}

/* ---- a local HTTP server, one thread ---------------------------------------------
 * Speaks just enough of the Anthropic Messages API for one non-streamed
 * reply per connection, and keeps the request headers it saw. */

enum { SRV_OK, SRV_ECHO_KEY, SRV_STALL };

typedef struct Server {
  int fd, port, mode;
  pthread_t thread;
  char seen[16384];   /* the headers of every request */
  size_t nseen;
  int requests;
} Server;

static void *server_main(void *ud) {
  Server *sv = ud;
  for (;;) {
    int c = accept(sv->fd, NULL, NULL);
    if (c < 0) break;
    char req[65536];
    size_t n = 0;
    char *end = NULL;
    while (n < sizeof req - 1 && !end) {
      ssize_t k = read(c, req + n, sizeof req - 1 - n);
      if (k <= 0) break;
      n += (size_t)k;
      req[n] = '\0';
      end = strstr(req, "\r\n\r\n");
    }
    if (!end) {
      close(c);
      continue;
    }
    size_t head = (size_t)(end - req) + 4;
    const char *cl = strstr(req, "ontent-Length:");
    if (!cl) cl = strstr(req, "ontent-length:");
    size_t body = cl ? (size_t)strtoul(cl + 14, NULL, 10) : 0;
    while (n < head + body && n < sizeof req - 1) {
      ssize_t k = read(c, req + n, sizeof req - 1 - n);
      if (k <= 0) break;
      n += (size_t)k;
    }
    if (sv->nseen + head < sizeof sv->seen) {
      memcpy(sv->seen + sv->nseen, req, head);
      sv->nseen += head;
      sv->seen[sv->nseen] = '\0';
    }
    sv->requests++;
    if (sv->mode == SRV_STALL) { /* read, never answer: until the client hangs up */
      char sink[256];
      while (read(c, sink, sizeof sink) > 0) {
      }
      close(c);
      continue;
    }
    char reply[4096];
    const char *status = "200 OK";
    if (sv->mode == SRV_OK) {
      snprintf(reply, sizeof reply,
               "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\","
               "\"content\":[{\"type\":\"text\",\"text\":\"hello from the host's server\"}],"
               "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":3,\"output_tokens\":5}}");
    } else { /* a hostile proxy quoting the key it was sent */
      status = "400 Bad Request";
      const char *k = strstr(req, "x-api-key: ");
      int klen = k ? (int)strcspn(k + 11, "\r\n") : 0;
      snprintf(reply, sizeof reply,
               "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad key %.*s\"}}",
               klen, k ? k + 11 : "");
    }
    char out[8192];
    int len = snprintf(out, sizeof out,
                       "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n%s",
                       status, strlen(reply), reply);
    if (write(c, out, (size_t)len) != len) diag("the test server could not write its reply");
    close(c);
  }
  return NULL;
}

static bool server_start(Server *sv, int mode) {
  memset(sv, 0, sizeof *sv);
  sv->mode = mode;
  sv->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (sv->fd < 0 || bind(sv->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(sv->fd, 16) != 0 ||
      getsockname(sv->fd, (struct sockaddr *)&a, &alen) != 0)
    return false;
  sv->port = ntohs(a.sin_port);
  return pthread_create(&sv->thread, NULL, server_main, sv) == 0;
}

static void server_stop(Server *sv) {
  shutdown(sv->fd, SHUT_RDWR); /* wakes accept */
  close(sv->fd);
  pthread_join(sv->thread, NULL);
}

/* ---- a host's effects table --------------------------------------------------------
 * What the table does is chosen per test; everything it saw is kept. */

enum {
  HX_AT_ONCE,      /* answers inside submit */
  HX_IN_WAIT,      /* answers in the next wait, newest first */
  HX_TWICE,        /* answers inside submit, then again */
  HX_UNKNOWN,      /* answers an id it never got */
  HX_NEVER_SPIN,   /* never answers; wait returns at once */
  HX_NEVER_SLEEP,  /* never answers; wait sleeps its timeout */
  HX_FROM_CANCEL,  /* never answers; answers from cancel (never allowed) */
};

typedef struct Hx {
  int mode;
  int ok;                      /* the answers' ok */
  const char *reply;           /* NULL: "reply N" for the Nth ask */
  uint64_t ids[64];
  int n, answered, cancelled, waits;
  char request[4096];          /* the last request */
  char kind[16];
  weft_status done_status;     /* the last weft_effect_done's */
} Hx;

static void hx_answer(Hx *h, weft_session *s, int i) {
  char buf[32];
  const char *reply = h->reply;
  if (!reply) {
    snprintf(buf, sizeof buf, "reply %d", i + 1);
    reply = buf;
  }
  h->done_status = weft_effect_done(s, h->ids[i], h->ok, reply);
  h->answered++;
}

static void hx_submit(void *ud, weft_session *s, uint64_t id, const char *kind, const char *request,
                      const char *address) {
  Hx *h = ud;
  (void)address;
  snprintf(h->request, sizeof h->request, "%s", request);
  snprintf(h->kind, sizeof h->kind, "%s", kind);
  if (h->n == 64) return;
  h->ids[h->n++] = id;
  if (h->mode == HX_AT_ONCE || h->mode == HX_TWICE) hx_answer(h, s, h->n - 1);
  if (h->mode == HX_TWICE) hx_answer(h, s, h->n - 1);
  if (h->mode == HX_UNKNOWN) h->done_status = weft_effect_done(s, id + 1000, 1, "x");
}

static void hx_cancel(void *ud, weft_session *s, uint64_t id) {
  Hx *h = ud;
  h->cancelled++;
  if (h->mode == HX_FROM_CANCEL) h->done_status = weft_effect_done(s, id, 1, "late");
}

static void hx_wait(void *ud, weft_session *s, int64_t timeout_ms) {
  Hx *h = ud;
  h->waits++;
  if (h->mode == HX_IN_WAIT) {
    int first = h->answered; /* those not answered yet, newest first */
    for (int i = h->n - 1; i >= first; i--) hx_answer(h, s, i);
  } else if (h->mode == HX_NEVER_SLEEP || h->mode == HX_FROM_CANCEL) {
    sleep_ms(timeout_ms);
  }
}

static weft_session *hx_session(weft_module *m, Hx *h, int mode) {
  memset(h, 0, sizeof *h);
  h->mode = mode;
  h->ok = 1;
  weft_effects fx = {sizeof fx, h, hx_submit, hx_cancel, hx_wait};
  weft_session *s = NULL;
  weft_session_new(m, &s);
  weft_session_set_effects(s, &fx);
  return s;
}

/* ---- cancellation from another thread -------------------------------------------- */

typedef struct Canceller {
  weft_session *s;
  int64_t after_ms;
  weft_status st;
  pthread_t thread;
} Canceller;

static void *cancel_main(void *ud) {
  Canceller *c = ud;
  sleep_ms(c->after_ms);
  c->st = weft_session_cancel(c->s);
  return NULL;
}

/* Runs s while another thread cancels it after `after` ms: the status,
 * and in *took the run's milliseconds. */
static weft_status run_cancelled(weft_session *s, int64_t after, uint64_t *took, weft_result **r) {
  Canceller c = {s, after, WEFT_E_STATE, 0};
  uint64_t t0 = now_ms();
  pthread_create(&c.thread, NULL, cancel_main, &c);
  weft_status st = weft_session_run(s, NULL, r);
  *took = now_ms() - t0;
  pthread_join(c.thread, NULL);
  if (c.st != WEFT_OK) diag("weft_session_cancel said %d", (int)c.st);
  return st;
}

/* ---- the parts ------------------------------------------------------------------ */

static void test_basics(void) {
  int named = 1;
  for (int s = WEFT_OK; s <= WEFT_E_UNSUPPORTED; s++) named = named && weft_status_text((weft_status)s)[0];
  check(named, "every status has a text");
  check(weft_status_text((weft_status)999) != NULL, "an unknown status has a text");
  check(weft_version()[0] && weft_format_version() >= 1, "version and format version");

  /* compiling */
  weft_program *p = (weft_program *)1;
  check(weft_compile_file(NULL, NULL, &p) == WEFT_E_ARG && p == NULL, "compile: NULL path");
  check(weft_compile_file("x.weft", NULL, NULL) == WEFT_E_ARG, "compile: NULL out");
  check(weft_compile_file("/nonexistent/x.weft", NULL, &p) == WEFT_E_IO && p == NULL, "compile: missing file");
  weft_compile_options bad_size = {0, NULL, 0};
  check(weft_compile_file("x.weft", &bad_size, &p) == WEFT_E_ARG, "compile: options without their size");

  const char *bad = write_program("bad.weft", "fn main() -> int {\n  let x: int = \"a\"\n  x\n}\n");
  check(weft_compile_file(bad, NULL, &p) == WEFT_E_COMPILE && p, "compile: errors give WEFT_E_COMPILE and the program");
  uint32_t errors = 0;
  check(weft_program_diagnostics(p, &errors) >= 1 && errors >= 1, "compile: the diagnostics are counted");
  check(strstr(weft_program_diagnostics_text(p), "error[E") != NULL, "compile: the diagnostics are rendered");
  weft_module *m = (weft_module *)1;
  check(weft_program_module(p, &m) == WEFT_E_COMPILE && m == NULL, "a program with errors has no module");
  check(weft_program_errmsg(p)[0] != '\0', "the program says why");
  check(weft_program_module(p, NULL) == WEFT_E_ARG, "module of a program: NULL out");
  weft_program_free(p);
  weft_program_free(NULL);
  check(weft_program_diagnostics(NULL, &errors) == 0 && errors == 0, "diagnostics of NULL: none");
  check(weft_program_diagnostics(NULL, NULL) == 0, "diagnostics of NULL, no error count");
  check(weft_program_diagnostics_text(NULL)[0] == '\0' && weft_program_errmsg(NULL)[0] == '\0',
        "texts of a NULL program: empty");
  check(weft_program_module(NULL, &m) == WEFT_E_ARG, "module of NULL program");

  /* modules */
  char *msg = NULL;
  check(weft_module_load("garbage", 7, &m, &msg) == WEFT_E_MODULE && m == NULL && msg, "load: not a module");
  free(msg);
  check(weft_module_load(NULL, 5, &m, NULL) == WEFT_E_ARG, "load: NULL bytes");
  check(weft_module_load("garbage", 7, NULL, NULL) == WEFT_E_ARG, "load: NULL out");
  m = module_of("answer.weft", "fn main(n: int = 41) -> int {\n  n + 1\n}\n");
  check(m != NULL, "a program's module");
  void *bytes = NULL;
  size_t len = 0;
  check(weft_module_write(m, &bytes, &len) == WEFT_OK && len > 12, "the module's image");
  void *b2 = (void *)1;
  size_t l2 = 7;
  check(weft_module_write(NULL, &b2, &l2) == WEFT_E_ARG && b2 == NULL && l2 == 0, "write: NULL module");
  check(weft_module_write(m, NULL, &l2) == WEFT_E_ARG && weft_module_write(m, &b2, NULL) == WEFT_E_ARG,
        "write: NULL out-pointers");
  /* a newer format: the version bytes (after the 8-byte magic) bumped */
  unsigned char *newer = malloc(len);
  memcpy(newer, bytes, len);
  int fv = weft_format_version();
  newer[8] = (unsigned char)((fv + 1) & 0xff);
  newer[9] = (unsigned char)((fv + 1) >> 8);
  weft_module *m2 = NULL;
  check(weft_module_load(newer, len, &m2, &msg) == WEFT_E_MODULE && m2 == NULL, "load: a newer format is refused");
  char want_new[32], want_ours[32];
  snprintf(want_new, sizeof want_new, "version %d", fv + 1);
  snprintf(want_ours, sizeof want_ours, "version %d", fv);
  check(msg && strstr(msg, want_new) && strstr(msg, want_ours), "load: the message names both versions");
  if (msg) diag("%s", msg);
  free(msg);
  memcpy(newer, bytes, len);
  check(weft_module_load(newer, len / 2, &m2, &msg) == WEFT_E_MODULE, "load: a truncated image is refused");
  free(msg);
  check(weft_module_load(bytes, len, &m2, NULL) == WEFT_OK, "load: the image loads again");
  weft_module_free(m2);
  free(newer);
  free(bytes);

  /* sessions: NULL handles and out-pointers on every call */
  weft_session *s = (weft_session *)1;
  weft_result *r = (weft_result *)1;
  check(weft_session_new(NULL, &s) == WEFT_E_ARG && s == NULL, "session of NULL module");
  check(weft_session_new(m, NULL) == WEFT_E_ARG, "session: NULL out");
  check(weft_session_run(NULL, NULL, &r) == WEFT_E_ARG && r == NULL, "run of NULL session");
  r = (weft_result *)1;
  check(weft_session_resume(NULL, 1, &r) == WEFT_E_ARG && r == NULL, "resume of NULL session");
  r = (weft_result *)1;
  check(weft_session_replay(NULL, 1, &r) == WEFT_E_ARG && r == NULL, "replay of NULL session");
  check(weft_session_set_limit(NULL, WEFT_LIMIT_FIBERS, 1) == WEFT_E_ARG &&
            weft_session_set_budget(NULL, WEFT_BUDGET_LIMIT_CALLS, 1) == WEFT_E_ARG &&
            weft_session_set_budget_usd(NULL, 1) == WEFT_E_ARG &&
            weft_session_set_provider(NULL, "mock") == WEFT_E_ARG &&
            weft_session_set_model(NULL, "r", "mock/x") == WEFT_E_ARG &&
            weft_session_set_key(NULL, "anthropic", "k", NULL) == WEFT_E_ARG &&
            weft_session_set_prices(NULL, NULL) == WEFT_E_ARG && weft_session_set_journal(NULL, NULL) == WEFT_E_ARG &&
            weft_session_set_trace(NULL, NULL, NULL) == WEFT_E_ARG && weft_session_set_effects(NULL, NULL) == WEFT_E_ARG,
        "every setting on a NULL session");
  check(weft_session_cancel(NULL) == WEFT_E_ARG, "cancel of NULL session");
  check(weft_effect_done(NULL, 1, 1, "x") == WEFT_E_ARG, "an answer to a NULL session");
  check(weft_session_errmsg(NULL)[0] == '\0', "the message of a NULL session");
  check(weft_session_new(m, &s) == WEFT_OK, "a session");
  weft_module_free(m); /* the session keeps its own reference */
  check(weft_session_run(s, NULL, NULL) == WEFT_E_ARG && weft_session_resume(s, 1, NULL) == WEFT_E_ARG &&
            weft_session_replay(s, 1, NULL) == WEFT_E_ARG,
        "run, resume, replay: NULL out");
  check(weft_session_set_limit(s, (weft_limit)99, 1) == WEFT_E_ARG, "unknown limit");
  check(weft_session_set_limit(s, WEFT_LIMIT_MEMORY, -1) == WEFT_E_ARG, "negative limit");
  check(weft_session_set_provider(s, "nowhere") == WEFT_E_CONFIG, "unknown provider");
  check(weft_session_set_model(s, "writer", "mock/x") == WEFT_E_CONFIG, "--model for a role the program lacks");
  check(strstr(weft_session_errmsg(s), "writer") != NULL, "the session says which role");
  check(weft_session_set_model(s, NULL, "mock/x") == WEFT_E_ARG, "set_model: NULL role");
  check(weft_session_set_effects(s, NULL) == WEFT_E_ARG, "a NULL effects table");
  weft_effects small = {4, NULL, hx_submit, NULL, hx_wait};
  check(weft_session_set_effects(s, &small) == WEFT_E_ARG, "an effects table without its size");
  check(weft_session_set_journal(s, "") == WEFT_E_ARG, "an empty journal path");
  check(weft_effect_done(s, 7, 1, "x") == WEFT_E_STATE, "an answer with no run in progress");
  check(strstr(weft_session_errmsg(s), "no run") != NULL, "says there is no run");
  /* out of order: resume and replay without a journal leave the session as it was */
  check(weft_session_resume(s, 1, &r) == WEFT_E_STATE && r == NULL, "resume without a journal");
  check(strstr(weft_session_errmsg(s), "journal") != NULL, "says it needs the journal");
  check(weft_session_replay(s, 1, &r) == WEFT_E_STATE, "replay without a journal");
  check(weft_session_set_journal(s, "/tmp/never-used.db") == WEFT_OK && weft_session_resume(s, 0, &r) == WEFT_E_ARG,
        "resume of run 0");
  check(weft_session_set_journal(s, NULL) == WEFT_OK, "the journal unset again");
  check(weft_session_run((weft_session *)(void *)s, "{\"n\": \"x\"}", &r) == WEFT_E_INPUT && r == NULL,
        "an input of the wrong type");
  check(weft_session_run(s, NULL, &r) == WEFT_E_STATE, "a session runs once");
  check(weft_session_resume(s, 1, &r) == WEFT_E_STATE, "and is not resumed after");
  weft_session_free(s);

  m = module_of("answer.weft", "fn main(n: int = 41) -> int {\n  n + 1\n}\n");
  weft_session_new(m, &s);
  check(weft_session_run(s, "{\"n\": 1}", &r) == WEFT_OK && weft_result_ok(r), "a run");
  check(strcmp(weft_result_json(r), "2") == 0, "its result");
  check(strstr(weft_result_stats(r), "\"calls\":0") != NULL, "its statistics");
  check(weft_result_run_id(r) == 0, "no journal: no run id");
  check(weft_session_set_limit(s, WEFT_LIMIT_FIBERS, 10) == WEFT_E_STATE, "no setting after the run");
  check(weft_session_set_key(s, "anthropic", "k", NULL) == WEFT_E_STATE &&
            weft_session_set_journal(s, "x.db") == WEFT_E_STATE &&
            weft_session_set_trace(s, trace_sink, NULL) == WEFT_E_STATE,
        "nor keys, journal or trace after it");
  weft_result *r2 = NULL;
  check(weft_session_run((weft_session *)(void *)r, NULL, &r2) == WEFT_E_STATE && r2 == NULL,
        "a result is not a session");
  check(weft_session_cancel(s) == WEFT_OK, "cancelling a session that has run: nothing to do");
  weft_result_free(r);
  weft_session_free(s);
  weft_session_free(NULL);
  weft_result_free(NULL);
  check(weft_result_ok(NULL) == 0 && weft_result_json(NULL) && weft_result_error(NULL) &&
            weft_result_stats(NULL) && weft_result_run_id(NULL) == 0,
        "result of NULL");

#ifndef UNDER_ASAN
  /* a freed handle is poisoned (best effort: under ASan the use itself is
   * what the sanitizer reports, so this part runs only without it) */
  weft_session_new(m, &s);
  weft_session_free(s);
  check(weft_session_set_limit(s, WEFT_LIMIT_FIBERS, 1) == WEFT_E_STATE, "a freed session");
  check(weft_session_cancel(s) == WEFT_E_STATE, "cancel of a freed session");
  weft_session_free(s); /* ignored */
  run_of(m, NULL, &r);
  weft_result_free(r);
  check(weft_result_ok(r) == 0 && strcmp(weft_result_json(r), "null") == 0, "a freed result");
  weft_result_free(r);
#else
  skip("ASan reports the use of freed memory itself", "a freed session");
  skip("ASan reports the use of freed memory itself", "cancel of a freed session");
  skip("ASan reports the use of freed memory itself", "a freed result");
#endif

  /* a failing run, a limit, a module without main */
  weft_session_new(m, &s);
  weft_session_set_limit(s, WEFT_LIMIT_INSTRUCTIONS, 1);
  r = NULL;
  check(weft_session_run(s, NULL, &r) == WEFT_E_RUNTIME && r && !weft_result_ok(r), "a limit fails the run");
  check(strstr(weft_result_error(r), "instruction limit") != NULL, "and says which");
  weft_result_free(r);
  weft_session_free(s);
  weft_module_free(m);
  m = module_of("lib.weft", "fn helper() -> int {\n  1\n}\n");
  weft_session_new(m, &s);
  check(weft_session_run(s, NULL, &r) == WEFT_E_STATE, "a module without main does not run");
  weft_session_free(s);
  weft_module_free(m);

  /* a model call, through the mock provider */
  m = module_of("ask.weft", "role writer { model: \"anthropic/claude-sonnet-4-5\" }\n"
                            "fn main() -> string {\n  ask writer \"hello\"\n}\n");
  check(m != NULL, "a program with a role");
  weft_session_new(m, &s);
  check(weft_session_set_provider(s, "mock") == WEFT_OK, "every role to mock");
  check(weft_session_set_model(s, "writer", "mock/small") == WEFT_OK, "a role's model");
  r = NULL;
  check(weft_session_run(s, NULL, &r) == WEFT_OK && weft_result_ok(r), "a mock call");
  check(strstr(weft_result_json(r), "mock reply") != NULL, "its reply");
  check(strstr(weft_result_stats(r), "\"calls\":1") != NULL, "one call counted");
  weft_result_free(r);
  weft_session_free(s);
  weft_module_free(m);
}

/* Keys from the host: sent where the host says, instead of the
 * environment's, and never anywhere else. */
static void test_keys(void) {
  const char *key = "sk-host-Zq81-SECRETMIDDLE-k4Yt";
  weft_module *m = module_of("keyed.weft", "role writer { model: \"anthropic/claude-sonnet-4-5\" }\n"
                                           "fn main() -> string {\n  ask writer \"hello\"\n}\n");
  weft_session *s = NULL;
  weft_session_new(m, &s);
  check(weft_session_set_key(s, "nowhere", key, NULL) == WEFT_E_CONFIG, "set_key: an unknown provider");
  check(weft_session_set_key(s, "mock", key, NULL) == WEFT_E_CONFIG, "set_key: mock takes no key");
  check(weft_session_set_key(s, "anthropic", NULL, NULL) == WEFT_E_ARG, "set_key: a NULL key");
  check(weft_session_set_key(s, NULL, key, NULL) == WEFT_E_ARG, "set_key: a NULL provider");
  check(weft_session_set_key(s, "anthropic", "", NULL) == WEFT_E_ARG, "set_key: an empty key");
  check(weft_session_set_key(s, "anthropic", "sk-1\r\nx-evil: 1", NULL) == WEFT_E_ARG,
        "set_key: a key that would add a header");
  check(weft_session_set_key(s, "anthropic", "sk-1\x1b[2J", NULL) == WEFT_E_ARG, "set_key: a control character");
  check(weft_session_set_key(s, "anthropic", key, "file:///etc/passwd") == WEFT_E_ARG,
        "set_key: a base URL that is not http(s)");
  check(weft_session_set_key(s, "anthropic", key, "http://127.0.0.1:1/\n") == WEFT_E_ARG,
        "set_key: a base URL with a newline");
  check(strstr(weft_session_errmsg(s), "SECRETMIDDLE") == NULL, "no message quotes the key");
  weft_session_free(s);

  /* the environment points elsewhere, with another key: the host's win */
  setenv("ANTHROPIC_API_KEY", "sk-env-SHOULD-NOT-BE-SENT", 1);
  setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1", 1);
  Server sv;
  if (!server_start(&sv, SRV_OK)) {
    skip("no local socket", "a call with the host's key");
  } else {
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", sv.port);
    Trace t;
    memset(&t, 0, sizeof t);
    weft_session_new(m, &s);
    weft_session_set_key(s, "anthropic", "sk-host-FIRST-replaced", base);
    check(weft_session_set_key(s, "anthropic", key, base) == WEFT_OK, "set_key again replaces the key");
    weft_session_set_limit(s, WEFT_LIMIT_RETRIES, 0);
    weft_session_set_trace(s, trace_sink, &t);
    weft_result *r = NULL;
    weft_status st = weft_session_run(s, NULL, &r);
    check(st == WEFT_OK && strstr(weft_result_json(r), "hello from the host's server"),
          "a call to the host's base URL with the host's key");
    if (st != WEFT_OK) diag("%s", weft_session_errmsg(s));
    char want[128];
    snprintf(want, sizeof want, "x-api-key: %s\r\n", key);
    check(strstr(sv.seen, want) != NULL, "the server got the host's key");
    check(strstr(sv.seen, "sk-env") == NULL && strstr(sv.seen, "FIRST") == NULL,
          "and neither the environment's nor the replaced one");
    check(t.text && strstr(t.text, "\"ev\":\"ask\"") && !strstr(t.text, "SECRETMIDDLE"),
          "the trace has the ask and not the key");
    check(!strstr(weft_result_json(r), "SECRETMIDDLE") && !strstr(weft_result_stats(r), "SECRETMIDDLE"),
          "nor the result");
    weft_result_free(r);
    weft_session_free(s);
    free(t.text);
    server_stop(&sv);
  }

  /* a proxy that quotes the key back: the message has it redacted */
  if (server_start(&sv, SRV_ECHO_KEY)) {
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/", sv.port);
    weft_session_new(m, &s);
    weft_session_set_key(s, "anthropic", key, base);
    weft_session_set_limit(s, WEFT_LIMIT_RETRIES, 0);
    weft_result *r = NULL;
    check(weft_session_run(s, NULL, &r) == WEFT_E_RUNTIME && r, "an error reply fails the run");
    check(strstr(weft_result_error(r), "bad key") && !strstr(weft_result_error(r), "SECRETMIDDLE") &&
              !strstr(weft_session_errmsg(s), "SECRETMIDDLE"),
          "its message comes through with the key redacted");
    weft_result_free(r);
    weft_session_free(s);
    server_stop(&sv);
  }

  /* no key in the environment: the host's gets past the check (and then
   * finds nothing listening), and another provider still needs its own */
  unsetenv("ANTHROPIC_API_KEY");
  unsetenv("OPENAI_API_KEY");
  weft_session_new(m, &s);
  weft_session_set_key(s, "anthropic", key, "http://127.0.0.1:1");
  weft_session_set_limit(s, WEFT_LIMIT_RETRIES, 0);
  weft_result *r = NULL;
  check(weft_session_run(s, NULL, &r) == WEFT_E_RUNTIME, "nothing listens at the host's base URL");
  check(!strstr(weft_result_error(r), "is not set") && !strstr(weft_result_error(r), "SECRETMIDDLE"),
        "the host's key got past the missing-key check");
  diag("%s", weft_result_error(r));
  weft_result_free(r);
  weft_session_free(s);
  weft_session_new(m, &s);
  weft_session_set_key(s, "openai", key, NULL);
  r = NULL;
  weft_session_run(s, NULL, &r);
  check(r && strstr(weft_result_error(r), "ANTHROPIC_API_KEY is not set"), "another provider's key does not do");
  weft_result_free(r);
  weft_session_free(s);
  unsetenv("ANTHROPIC_BASE_URL");
  weft_module_free(m);
}

/* The trace: one JSON line per event, on the running thread. */
static void test_trace(void) {
  weft_module *m = module_of("traced.weft", "role r { model: \"mock/m\" }\n"
                                            "fn main() -> int {\n"
                                            "  let xs = fanout i in range(3) { sleep(1ms)\n ask r \"item {i}\" }\n"
                                            "  len(barrier xs)\n}\n");
  Trace t;
  memset(&t, 0, sizeof t);
  weft_session *s = NULL;
  weft_session_new(m, &s);
  check(weft_session_set_trace(s, trace_sink, &t) == WEFT_OK, "a trace sink");
  weft_result *r = NULL;
  check(weft_session_run(s, NULL, &r) == WEFT_OK && strcmp(weft_result_json(r), "3") == 0, "a traced run");
  check(t.lines >= 10 && t.bad == 0, "every event is one JSON line, NUL-terminated");
  check(t.text && strstr(t.text, "\"ev\":\"fiber_start\"") && strstr(t.text, "\"ev\":\"sleep\"") &&
            strstr(t.text, "\"ev\":\"ask\"") && strstr(t.text, "item 2"),
        "fibers, sleeps and asks are traced");
  weft_result_free(r);
  weft_session_free(s);
  free(t.text);
  weft_module_free(m);
}

/* "./weft ARGS" in the build directory, where the tests run; its stdout
 * (first line) into out. False when there is no ./weft here. */
static bool weft_cli(const char *args, char *out, size_t cap) {
  if (access("./weft", X_OK) != 0) return false;
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "./weft %s 2>%s/cli.err", args, dir);
  FILE *p = popen(cmd, "r");
  if (!p) return false;
  out[0] = '\0';
  if (!fgets(out, (int)cap, p)) out[0] = '\0';
  out[strcspn(out, "\n")] = '\0';
  pclose(p);
  return true;
}

/* Journaled runs: run, cancel, resume and replay through the API and
 * through the command line, and the journal's errors. */
static void test_journal(void) {
  const char *src = "role w { model: \"anthropic/claude-sonnet-4-5\" }\n"
                    "fn main(topic: string = \"tea\") -> string {\n"
                    "  let a = ask w \"first on {topic}\"\n  sleep(300ms)\n"
                    "  let b = ask w \"second on {topic}\"\n  a + \" / \" + b\n}\n";
  weft_module *m = module_of("durable.weft", src);
  char jpath[128];
  snprintf(jpath, sizeof jpath, "%s/sub/journal.db", dir);

  /* run 1: cancelled in its sleep, after the first ask was journaled */
  weft_session *s = NULL;
  Trace t;
  memset(&t, 0, sizeof t);
  weft_session_new(m, &s);
  weft_session_set_provider(s, "mock");
  check(weft_session_set_journal(s, jpath) == WEFT_OK, "a journal");
  t.cancel_at_sleep = s;
  weft_session_set_trace(s, trace_sink, &t);
  weft_result *r = NULL;
  check(weft_session_run(s, "{\"topic\": \"maps\"}", &r) == WEFT_E_CANCELLED && r, "run 1, cancelled in its sleep");
  check(r && weft_result_run_id(r) == 1, "run 1's id");
  check(r && strstr(weft_result_error(r), "cancelled"), "its error says it was cancelled");
  weft_result_free(r);
  weft_session_free(s);
  free(t.text);

  /* resumed through the API: the first ask comes from the journal */
  weft_session_new(m, &s);
  weft_session_set_provider(s, "mock");
  weft_session_set_journal(s, jpath);
  r = NULL;
  weft_status st = weft_session_resume(s, 1, &r);
  check(st == WEFT_OK && r && weft_result_run_id(r) == 1, "run 1 resumed");
  if (st != WEFT_OK) diag("%s", weft_session_errmsg(s));
  check(r && strstr(weft_result_stats(r), "\"served\":1") && strstr(weft_result_json(r), "maps"),
        "with the first ask from the journal and the recorded inputs");
  char result1[512];
  snprintf(result1, sizeof result1, "%s", r ? weft_result_json(r) : "");
  weft_result_free(r);
  weft_session_free(s);

  /* replayed through the API: everything from the journal */
  weft_session_new(m, &s);
  weft_session_set_provider(s, "mock");
  weft_session_set_journal(s, jpath);
  r = NULL;
  check(weft_session_replay(s, 1, &r) == WEFT_OK && strcmp(weft_result_json(r), result1) == 0 &&
            strstr(weft_result_stats(r), "\"served\":2"),
        "run 1 replayed: the same result, every ask from the journal");
  weft_result_free(r);
  weft_session_free(s);

  /* a replay under other settings asks something the journal never saw */
  weft_session_new(m, &s);
  weft_session_set_journal(s, jpath);
  weft_session_set_model(s, "w", "mock/other");
  r = NULL;
  check(weft_session_replay(s, 1, &r) == WEFT_E_RUNTIME && strstr(weft_result_error(r), "replay"),
        "a replay whose asks differ fails and says so");
  weft_result_free(r);
  weft_session_free(s);

  /* the journal's refusals */
  weft_session_new(m, &s);
  weft_session_set_journal(s, jpath);
  check(weft_session_resume(s, 1, &r) == WEFT_E_JOURNAL && strstr(weft_session_errmsg(s), "already finished"),
        "a run that finished is not resumed");
  weft_session_free(s);
  weft_session_new(m, &s);
  weft_session_set_journal(s, jpath);
  check(weft_session_replay(s, 42, &r) == WEFT_E_JOURNAL && strstr(weft_session_errmsg(s), "42"),
        "no run 42");
  weft_session_free(s);
  char other[128];
  snprintf(other, sizeof other, "%s/none.db", dir);
  weft_session_new(m, &s);
  weft_session_set_journal(s, other);
  check(weft_session_resume(s, 1, &r) == WEFT_E_JOURNAL && strstr(weft_session_errmsg(s), "no journal at"),
        "resume never creates a journal");
  weft_session_free(s);
  check(access(other, F_OK) != 0, "(and none was created)");
  char garbage[128];
  snprintf(garbage, sizeof garbage, "%s/garbage.db", dir);
  FILE *g = fopen(garbage, "w");
  if (g) {
    fputs("this is not a journal, but it is long enough to look at its header ........\n", g);
    fclose(g);
  }
  weft_session_new(m, &s);
  weft_session_set_provider(s, "mock");
  weft_session_set_journal(s, garbage);
  r = (weft_result *)1;
  check(weft_session_run(s, NULL, &r) == WEFT_E_JOURNAL && r == NULL && strstr(weft_session_errmsg(s), garbage),
        "a file that is not a journal: WEFT_E_JOURNAL naming it, before the run starts");
  weft_session_free(s);
  char under_file[160];
  snprintf(under_file, sizeof under_file, "%s/not-a-dir/j.db", garbage);
  weft_session_new(m, &s);
  weft_session_set_journal(s, under_file);
  check(weft_session_run(s, NULL, &r) == WEFT_E_JOURNAL && weft_session_errmsg(s)[0], "a journal that cannot be made");
  weft_session_free(s);

  /* run 2: cancelled like run 1; resumed by the command line, which finds
   * the settings (--provider mock) the session recorded */
  memset(&t, 0, sizeof t);
  weft_session_new(m, &s);
  weft_session_set_provider(s, "mock");
  weft_session_set_journal(s, jpath);
  weft_session_set_limit(s, WEFT_LIMIT_INSTRUCTIONS, 5000000);
  t.cancel_at_sleep = s;
  weft_session_set_trace(s, trace_sink, &t);
  r = NULL;
  check(weft_session_run(s, "{\"topic\": \"maps\"}", &r) == WEFT_E_CANCELLED && weft_result_run_id(r) == 2,
        "run 2, cancelled");
  weft_result_free(r);
  weft_session_free(s);
  free(t.text);
  /* a module that is not the run's is refused */
  weft_module *m2 = module_of("changed.weft", "role w { model: \"mock/m\" }\nfn main(topic: string = \"x\") -> string {\n"
                                              "  ask w topic\n}\n");
  weft_session_new(m2, &s);
  weft_session_set_journal(s, jpath);
  check(weft_session_resume(s, 2, &r) == WEFT_E_JOURNAL && strstr(weft_session_errmsg(s), "module"),
        "resume with another module is refused");
  weft_session_free(s);
  weft_module_free(m2);
  char out[512], args[512];
  snprintf(args, sizeof args, "resume 2 --journal %s --quiet", jpath);
  if (weft_cli(args, out, sizeof out)) {
    check(strcmp(out, result1) == 0, "`weft resume` finishes run 2 of the API with the same result");
    if (strcmp(out, result1) != 0) diag("got '%s', want '%s'", out, result1);
    snprintf(args, sizeof args, "replay 1 --journal %s --quiet", jpath);
    weft_cli(args, out, sizeof out);
    check(strcmp(out, result1) == 0, "`weft replay` replays run 1 of the API");
    snprintf(args, sizeof args, "runs --journal %s --json", jpath);
    static char runs[16384];
    weft_cli(args, runs, sizeof runs);
    check(strstr(runs, "\"options\":[\"--max-instructions=5000000\",\"--provider=mock\"]") != NULL,
          "the journal has the session's settings as flags");
    /* and the API replays what the command line resumed */
    weft_session_new(m, &s);
    weft_session_set_provider(s, "mock");
    weft_session_set_journal(s, jpath);
    r = NULL;
    check(weft_session_replay(s, 2, &r) == WEFT_OK && strcmp(weft_result_json(r), result1) == 0,
          "the API replays the run the command line resumed");
    weft_result_free(r);
    weft_session_free(s);
    /* run 3: a module from bytes has no file; the command line resumes
     * the journal's copy of it */
    void *bytes = NULL;
    size_t len = 0;
    weft_module *loaded = NULL;
    weft_module_write(m, &bytes, &len);
    weft_module_load(bytes, len, &loaded, NULL);
    free(bytes);
    memset(&t, 0, sizeof t);
    weft_session_new(loaded, &s);
    weft_session_set_provider(s, "mock");
    weft_session_set_journal(s, jpath);
    t.cancel_at_sleep = s;
    weft_session_set_trace(s, trace_sink, &t);
    r = NULL;
    check(weft_session_run(s, "{\"topic\": \"maps\"}", &r) == WEFT_E_CANCELLED && weft_result_run_id(r) == 3,
          "run 3, of a module loaded from bytes, cancelled");
    weft_result_free(r);
    weft_session_free(s);
    weft_module_free(loaded);
    free(t.text);
    snprintf(args, sizeof args, "resume 3 --journal %s", jpath);
    weft_cli(args, out, sizeof out);
    check(strcmp(out, result1) == 0, "`weft resume` runs the journal's copy of a module without a file");
  } else {
    skip("no ./weft in the working directory", "run 3, of a module loaded from bytes");
    skip("no ./weft in the working directory", "`weft resume` of a module without a file");
    skip("no ./weft in the working directory", "`weft resume` of an API run");
    skip("no ./weft in the working directory", "`weft replay` of an API run");
    skip("no ./weft in the working directory", "the settings as flags");
    skip("no ./weft in the working directory", "the API replays what the command line resumed");
  }
  weft_module_free(m);
}

/* A host's effects table: answers, types, budgets, and every broken rule. */
static void test_host_effects(void) {
  weft_module *m = module_of("hosted.weft", "type Pick = { name: string, score: int }\n"
                                            "role w { model: \"openai/gpt-4o\" }\n"
                                            "fn main() -> string {\n"
                                            "  let a = ask w \"one\"\n  let b = ask w \"two\"\n  a + \"|\" + b\n}\n");
  Hx h;
  weft_session *s = hx_session(m, &h, HX_AT_ONCE);
  weft_result *r = NULL;
  check(weft_session_run(s, NULL, &r) == WEFT_OK && strcmp(weft_result_json(r), "\"reply 1|reply 2\"") == 0,
        "host effects: answered inside submit");
  check(strcmp(h.kind, "ask") == 0 && strstr(h.request, "\"role\":\"w\"") && strstr(h.request, "\"model\":\"openai/gpt-4o\"") &&
            strstr(h.request, "\"prompt\":\"two\""),
        "the request names role, model and prompt");
  check(strstr(weft_result_stats(r), "\"calls\":2") != NULL, "both asks counted as calls");
  check(h.done_status == WEFT_OK, "weft_effect_done said ok");
  weft_result_free(r);
  weft_session_free(s);

  s = hx_session(m, &h, HX_IN_WAIT);
  weft_session_set_provider(s, "mock");
  weft_status st = weft_session_run(s, NULL, &r);
  check(st == WEFT_OK && strcmp(weft_result_json(r), "\"reply 1|reply 2\"") == 0 && h.waits >= 2,
        "host effects: answered inside wait");
  if (st != WEFT_OK || h.waits < 2) diag("%d %s: %s, %d waits", (int)st, weft_session_errmsg(s), weft_result_json(r), h.waits);
  check(strstr(h.request, "\"model\":\"mock/gpt-4o\"") != NULL, "the model after set_provider");
  weft_result_free(r);
  weft_session_free(s);

  /* a fan-out answered in reverse order: each reply reaches its own ask */
  weft_module *fan = module_of("fan.weft", "role w { model: \"mock/m\" }\n"
                                           "fn main() -> list[string] {\n"
                                           "  barrier fanout i in range(5) { ask w \"item {i}\" }\n}\n");
  s = hx_session(fan, &h, HX_IN_WAIT);
  check(weft_session_run(s, NULL, &r) == WEFT_OK &&
            strcmp(weft_result_json(r), "[\"reply 1\",\"reply 2\",\"reply 3\",\"reply 4\",\"reply 5\"]") == 0,
        "a fan-out's answers, in any order, reach their own asks");
  check(strstr(weft_result_stats(r), "\"max_in_flight\":5") != NULL, "five in flight at once");
  weft_result_free(r);
  weft_session_free(s);

  /* typed replies */
  weft_module *typed = module_of("typed.weft", "type Pick = { name: string, score: int }\n"
                                               "role w { model: \"openai/gpt-4o\" }\n"
                                               "fn main() -> int {\n  let p = ask w \"pick\" -> Pick\n  p.score\n}\n");
  s = hx_session(typed, &h, HX_AT_ONCE);
  h.reply = "{\"name\": \"x\", \"score\": 7}";
  check(weft_session_run(s, NULL, &r) == WEFT_OK && strcmp(weft_result_json(r), "7") == 0,
        "a typed ask answered with JSON of its type");
  check(strstr(h.request, "\"schema\":{") && strstr(h.request, "\"score\""), "its request has the schema");
  weft_result_free(r);
  weft_session_free(s);
  s = hx_session(typed, &h, HX_IN_WAIT);
  h.reply = "{\"name\": \"x\", \"score\": \"seven\"}";
  check(weft_session_run(s, NULL, &r) == WEFT_E_RUNTIME, "a reply that does not fit fails the ask");
  check(r && strstr(weft_result_error(r), "ask w") && strstr(weft_result_error(r), "Pick") &&
            strstr(weft_result_error(r), "score"),
        "naming the role, the type and the field");
  weft_result_free(r);
  weft_session_free(s);
  s = hx_session(typed, &h, HX_AT_ONCE);
  h.reply = "not json {";
  check(weft_session_run(s, NULL, &r) == WEFT_E_RUNTIME && strstr(weft_result_error(r), "not JSON"),
        "a reply that is not JSON, answered at once, fails the ask");
  weft_result_free(r);
  weft_session_free(s);
  weft_module *listed = module_of("listed.weft", "role w { model: \"openai/gpt-4o\" }\n"
                                                 "fn main() -> int {\n  len(ask w \"n\" -> list[int])\n}\n");
  s = hx_session(listed, &h, HX_AT_ONCE);
  h.reply = "{\"value\": [1, 2, 3]}";
  check(weft_session_run(s, NULL, &r) == WEFT_OK && strcmp(weft_result_json(r), "3") == 0,
        "a wrapped list reply");
  weft_result_free(r);
  weft_session_free(s);
  s = hx_session(listed, &h, HX_IN_WAIT);
  h.reply = "[4, 5]";
  check(weft_session_run(s, NULL, &r) == WEFT_OK && strcmp(weft_result_json(r), "2") == 0, "and the bare list");
  weft_result_free(r);
  weft_session_free(s);

  /* a failure answer */
  s = hx_session(m, &h, HX_IN_WAIT);
  h.ok = 0;
  h.reply = "upstream said no";
  check(weft_session_run(s, NULL, &r) == WEFT_E_RUNTIME && strstr(weft_result_error(r), "upstream said no") &&
            strstr(weft_result_error(r), "ask w"),
        "a failure answer fails the ask with its message");
  weft_result_free(r);
  weft_session_free(s);

  /* budgets: every ask the host takes is a call */
  s = hx_session(m, &h, HX_AT_ONCE);
  weft_session_set_budget(s, WEFT_BUDGET_LIMIT_CALLS, 1);
  check(weft_session_run(s, NULL, &r) == WEFT_E_RUNTIME && strstr(weft_result_error(r), "calls 1/1") && h.n == 1,
        "a call budget stops the second ask before the host sees it");
  weft_result_free(r);
  weft_session_free(s);

  /* broken rules */
  s = hx_session(m, &h, HX_TWICE);
  check(weft_session_run(s, NULL, &r) == WEFT_E_EFFECTS && r && strstr(weft_result_error(r), "answered twice"),
        "an id answered twice: WEFT_E_EFFECTS");
  check(h.done_status == WEFT_E_EFFECTS && strstr(weft_session_errmsg(s), "answered twice"),
        "the second weft_effect_done says so too");
  weft_result_free(r);
  weft_session_free(s);
  s = hx_session(m, &h, HX_UNKNOWN);
  check(weft_session_run(s, NULL, &r) == WEFT_E_EFFECTS && strstr(weft_result_error(r), "never submitted"),
        "an id never submitted: WEFT_E_EFFECTS");
  weft_result_free(r);
  weft_session_free(s);
  s = hx_session(m, &h, HX_NEVER_SPIN);
  uint64_t t0 = now_ms();
  check(weft_session_run(s, NULL, &r) == WEFT_E_EFFECTS && strstr(weft_result_error(r), "returned early"),
        "a wait that never blocks and never answers: WEFT_E_EFFECTS");
  check(now_ms() - t0 < 5000 && h.cancelled == 1, "soon, and the pending ask is withdrawn");
  weft_result_free(r);
  weft_session_free(s);
  s = hx_session(m, &h, HX_NEVER_SLEEP);
  weft_session_set_limit(s, WEFT_LIMIT_TIMEOUT_MS, 150);
  t0 = now_ms();
  check(weft_session_run(s, NULL, &r) == WEFT_E_RUNTIME && strstr(weft_result_error(r), "did not answer within 150 ms"),
        "a table that never answers: the ask times out");
  check(now_ms() - t0 < 3000 && h.cancelled == 1, "and the host is told to drop it");
  weft_result_free(r);
  weft_session_free(s);
  s = hx_session(m, &h, HX_FROM_CANCEL);
  weft_session_set_limit(s, WEFT_LIMIT_TIMEOUT_MS, 100);
  check(weft_session_run(s, NULL, &r) == WEFT_E_EFFECTS && h.cancelled == 1 && h.done_status == WEFT_E_EFFECTS,
        "an answer from inside cancel (after a timeout) breaks the contract");
  check(strstr(weft_session_errmsg(s), "outside") != NULL, "as outside submit and wait");
  weft_result_free(r);
  weft_session_free(s);

  /* a journal records the engine's calls only */
  s = hx_session(m, &h, HX_AT_ONCE);
  char jpath[128];
  snprintf(jpath, sizeof jpath, "%s/hosted.db", dir);
  weft_session_set_journal(s, jpath);
  r = (weft_result *)1;
  check(weft_session_run(s, NULL, &r) == WEFT_E_CONFIG && r == NULL && strstr(weft_session_errmsg(s), "journal"),
        "host effects and a journal: WEFT_E_CONFIG");
  weft_session_set_journal(s, NULL);
  check(weft_session_run(s, NULL, &r) == WEFT_OK, "the session still runs without the journal");
  weft_result_free(r);
  weft_session_free(s);

  weft_module_free(m);
  weft_module_free(fan);
  weft_module_free(typed);
  weft_module_free(listed);
}

/* weft_session_free from inside the run's own callback. */
static void free_in_sink(void *ud, const char *line, size_t len) {
  weft_session **sp = ud;
  (void)line, (void)len;
  if (*sp) weft_session_free(*sp);
  *sp = NULL;
}

/* Cancellation from another thread, whatever the run waits on. */
static void test_cancel(void) {
  weft_module *m = module_of("sleepy.weft", "fn main() -> int {\n  sleep(10s)\n  1\n}\n");
  weft_session *s = NULL;
  weft_session_new(m, &s);
  uint64_t took = 0;
  weft_result *r = NULL;
  check(run_cancelled(s, 50, &took, &r) == WEFT_E_CANCELLED && r && !weft_result_ok(r),
        "a 10 s sleep cancelled from another thread after 50 ms");
  check(took < 1000, "ends in well under a second");
  diag("cancelled after %llu ms", (unsigned long long)took);
  check(strcmp(weft_session_errmsg(s), "the run was cancelled") == 0, "and says so");
  weft_result_free(r);
  weft_session_free(s);

  weft_session_new(m, &s);
  check(weft_session_cancel(s) == WEFT_OK, "a cancel before the run");
  uint64_t t0 = now_ms();
  check(weft_session_run(s, NULL, &r) == WEFT_E_CANCELLED && now_ms() - t0 < 1000, "stops the run at once");
  weft_result_free(r);
  weft_session_free(s);
  weft_module_free(m);

  m = module_of("busy.weft", "fn main() -> int {\n  var n = 0\n  for i in range(100000) {\n    for j in range(10000) {\n      n = n + j % 3\n    }\n  }\n  n\n}\n");
  weft_session_new(m, &s);
  check(run_cancelled(s, 50, &took, &r) == WEFT_E_CANCELLED && took < 1000, "a busy loop is cancelled");
  weft_result_free(r);
  weft_session_free(s);
  weft_module_free(m);

  /* a model call the server never answers */
  m = module_of("stalled.weft", "role w { model: \"anthropic/claude-sonnet-4-5\" }\n"
                                "fn main() -> string {\n  ask w \"hello\"\n}\n");
  Server sv;
  if (server_start(&sv, SRV_STALL)) {
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", sv.port);
    weft_session_new(m, &s);
    weft_session_set_key(s, "anthropic", "sk-test-stall", base);
    check(run_cancelled(s, 150, &took, &r) == WEFT_E_CANCELLED && took < 1000,
          "a call waiting on the network is cancelled");
    check(sv.requests == 1, "(the request had reached the server)");
    weft_result_free(r);
    weft_session_free(s);
    server_stop(&sv);
  }

  /* a host's table that waits and never answers */
  Hx h;
  s = hx_session(m, &h, HX_NEVER_SLEEP);
  check(run_cancelled(s, 50, &took, &r) == WEFT_E_CANCELLED && took < 1000 && h.cancelled == 1,
        "a host's table is cancelled, and told to drop its ask");
  weft_result_free(r);
  weft_session_free(s);
  weft_module_free(m);

  /* freed from inside its own trace sink: stopped, and freed after */
  m = module_of("sleepy.weft", "fn main() -> int {\n  sleep(10s)\n  1\n}\n");
  weft_session_new(m, &s);
  weft_session *victim = s;
  weft_session_set_trace(s, free_in_sink, &victim);
  t0 = now_ms();
  check(weft_session_run(s, NULL, &r) == WEFT_E_CANCELLED && now_ms() - t0 < 1000 && victim == NULL,
        "a session freed inside its own callback stops its run");
  weft_result_free(r);
  weft_module_free(m);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/weft_api_XXXXXX");
  if (!mkdtemp(dir)) return 1;
  test_basics();
  test_keys();
  test_trace();
  test_journal();
  test_host_effects();
  test_cancel();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) printf("# could not remove %s\n", dir);
  return tap_done();
}
