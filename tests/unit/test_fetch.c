/* test_fetch.c — runtime/fetch.c against tests/lib/web_server.py: grants per
 * hop, the address check, redirects, caps, timeouts and credentials. */
#include "tap.h"
#include "../../base/util.h"
#include "../../runtime/fetch.h"
#include "../../runtime/loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef WEFT_SRCDIR
#define WEFT_SRCDIR "."
#endif

static int port;
static char granted[8][64];
static int ngranted;
static char cred_for[64];
static const char *cred_line;

static bool gate_host(void *ud, const char *host, int p, char **err) {
  (void)ud;
  char hp[128];
  snprintf(hp, sizeof hp, "%s:%d", host, p);
  for (int i = 0; i < ngranted; i++)
    if (strcmp(granted[i], hp) == 0) return true;
  *err = xasprintf("requesting %s needs --allow-net=%s", hp, hp);
  return false;
}

static const char *gate_cred(void *ud, const char *scheme, const char *host, int p) {
  (void)ud;
  char hp[160];
  snprintf(hp, sizeof hp, "%s://%s:%d", scheme, host, p);
  return cred_line && strcmp(hp, cred_for) == 0 ? cred_line : NULL;
}

static void grant(const char *host) {
  snprintf(granted[ngranted++], sizeof granted[0], "%s:%d", host, port);
}

typedef struct Got {
  bool done;
  cJSON *res;
  const char *kind;
  char *msg;
} Got;

static void on_done(void *ud, cJSON *res, FetchFailure *f) {
  Got *g = ud;
  g->done = true;
  g->res = res;
  if (f) {
    g->kind = f->kind;
    g->msg = f->message;
  }
}

static Loop *loop;
static FetchClient *fc;

/* A client of one request, freed by its own callback (how the capability
 * uses it). */
typedef struct Own {
  FetchClient *c;
  bool done;
  int status;
} Own;

static void on_done_free(void *ud, cJSON *res, FetchFailure *f) {
  Own *o = ud;
  o->done = true;
  const cJSON *s = res ? cJSON_GetObjectItemCaseSensitive(res, "status") : NULL;
  o->status = cJSON_IsNumber(s) ? s->valueint : -1;
  cJSON_Delete(res);
  if (f) free(f->message);
  fetch_client_free(o->c);
}

static void got_free(Got *g) {
  cJSON_Delete(g->res);
  free(g->msg);
  memset(g, 0, sizeof *g);
}

/* Runs rq to its end (or 20 s); the result or failure in g. */
static void run(const char *method, const char *url, const FetchHeader *h, uint32_t nh, size_t max_body,
                int64_t timeout_ms, Got *g) {
  memset(g, 0, sizeof *g);
  FetchRequest rq = {.method = method, .url = url, .headers = h, .nheaders = nh, .max_body = max_body,
                     .timeout_ms = timeout_ms};
  if (method && strcmp(method, "POST") == 0) {
    rq.body = "payload";
    rq.body_len = 7;
  }
  FetchFailure f;
  FetchOp *op = fetch_start(fc, &rq, on_done, g, &f);
  if (!op) {
    g->done = true;
    g->kind = f.kind;
    g->msg = f.message;
    return;
  }
  for (int i = 0; i < 2000 && !g->done; i++) loop_wait(loop, 10);
  if (!g->done) {
    fetch_cancel(op);
    g->kind = "hung";
  }
}

static const char *body_of(const Got *g) {
  const cJSON *b = g->res ? cJSON_GetObjectItemCaseSensitive(g->res, "body") : NULL;
  return cJSON_IsString(b) ? b->valuestring : NULL;
}

static int status_of(const Got *g) {
  const cJSON *s = g->res ? cJSON_GetObjectItemCaseSensitive(g->res, "status") : NULL;
  return cJSON_IsNumber(s) ? s->valueint : -1;
}

static char *url(const char *host, const char *path) { return xasprintf("http://%s:%d%s", host, port, path); }

static pid_t start_server_with(const char *cert, int *port_out) {
  char pf[] = "/tmp/weft_fetch_portXXXXXX";
  int fd = mkstemp(pf);
  if (fd < 0) return -1;
  close(fd);
  unlink(pf);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (cert)
      execlp("python3", "python3", WEFT_SRCDIR "/tests/lib/web_server.py", "--port-file", pf, "--root",
             WEFT_SRCDIR "/tests/lib", "--tls-cert", cert, (char *)NULL);
    else
      execlp("python3", "python3", WEFT_SRCDIR "/tests/lib/web_server.py", "--port-file", pf, "--root",
             WEFT_SRCDIR "/tests/lib", (char *)NULL);
    _exit(127);
  }
  int port = 0;
  for (int i = 0; i < 400; i++) {
    FILE *f = fopen(pf, "r");
    if (f) {
      if (fscanf(f, "%d", &port) != 1) port = 0;
      fclose(f);
      if (port) break;
    }
    struct timespec ts = {0, 25000000};
    nanosleep(&ts, NULL);
  }
  unlink(pf);
  *port_out = port;
  return pid;
}

static pid_t start_server(void) { return start_server_with(NULL, &port); }

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  pid_t srv = start_server();
  if (!port) {
    ok(false, "the test web server started");
    if (srv > 0) kill(srv, SIGTERM);
    return tap_done();
  }
  char *lerr = NULL;
  loop = loop_new(&lerr);
  char meta[64], named[64];
  snprintf(meta, sizeof meta, "meta.test:%d:169.254.169.254", port);
  snprintf(named, sizeof named, "named.test:%d:127.0.0.1", port);
  const char *resolve[] = {meta, named, NULL};
  const char *secrets[] = {"Bearer SECRET-TOKEN-123456", NULL};
  FetchConfig cfg = {.gate = {gate_host, gate_cred, NULL}, .resolve = resolve, .secrets = secrets};
  fc = fetch_client_new(loop, &cfg);
  grant("127.0.0.1");
  Got g;
  char *u;

  /* a plain GET */
  u = url("127.0.0.1", "/text?say=hi%20there");
  run(NULL, u, NULL, 0, 0, 0, &g);
  is_int(status_of(&g), 200, "GET: status 200");
  is_str(body_of(&g), "hi there", "GET: the body");
  const cJSON *hs = g.res ? cJSON_GetObjectItemCaseSensitive(g.res, "headers") : NULL;
  const cJSON *xt = cJSON_GetObjectItemCaseSensitive(hs, "x-test");
  is_str(cJSON_IsString(xt) ? xt->valuestring : NULL, "one, two", "headers lower-cased, repeats joined");
  const cJSON *fu = g.res ? cJSON_GetObjectItemCaseSensitive(g.res, "url") : NULL;
  is_str(cJSON_IsString(fu) ? fu->valuestring : NULL, u, "the final URL");
  got_free(&g);
  free(u);

  /* POST with a header of the program's */
  u = url("127.0.0.1", "/echo");
  FetchHeader ct = {"Content-Type", "text/plain"};
  run("POST", u, &ct, 1, 0, 0, &g);
  has_substr(body_of(&g), "\"body\": \"payload\"", "POST: the body arrives");
  has_substr(body_of(&g), "\"content-type\": \"text/plain\"", "POST: the program's header arrives");
  got_free(&g);
  free(u);

  /* refusals before any connection */
  u = url("localhost", "/text");
  run(NULL, u, NULL, 0, 0, 0, &g);
  ok(!g.res && g.kind && strcmp(g.kind, "error") == 0, "an ungranted host fails");
  has_substr(g.msg, "--allow-net=localhost:", "the refusal names the grant");
  got_free(&g);
  free(u);
  run(NULL, "ftp://127.0.0.1/x", NULL, 0, 0, 0, &g);
  has_substr(g.msg, "only http and https", "ftp is refused");
  got_free(&g);
  run(NULL, "file:///etc/passwd", NULL, 0, 0, 0, &g);
  has_substr(g.msg, "only http and https", "file is refused");
  got_free(&g);
  u = xasprintf("http://user:pw@127.0.0.1:%d/echo", port);
  run(NULL, u, NULL, 0, 0, 0, &g);
  has_substr(g.msg, "user name or password", "credentials in the URL are refused");
  got_free(&g);
  free(u);
  u = url("127.0.0.1", "/echo");
  FetchHeader auth = {"Authorization", "Bearer mine"};
  run(NULL, u, &auth, 1, 0, 0, &g);
  has_substr(g.msg, "operator's grants", "an Authorization header of the program's is refused");
  got_free(&g);
  FetchHeader inject = {"X-A", "1\r\nAuthorization: Bearer x"};
  run(NULL, u, &inject, 1, 0, 0, &g);
  has_substr(g.msg, "not valid HTTP", "a header value with a line break is refused");
  got_free(&g);
  FetchHeader host = {"Host", "evil.test"};
  run(NULL, u, &host, 1, 0, 0, &g);
  has_substr(g.msg, "set by the HTTP client", "a Host header of the program's is refused");
  got_free(&g);
  run("TRACE", u, NULL, 0, 0, 0, &g);
  has_substr(g.msg, "unknown HTTP method", "an unknown method is refused");
  got_free(&g);
  free(u);

  /* addresses: a name leads to public addresses only; localhost to loopback */
  grant("meta.test");
  grant("named.test");
  grant("localhost");
  u = url("meta.test", "/text");
  run(NULL, u, NULL, 0, 0, 0, &g);
  has_substr(g.msg, "169.254.169.254, a cloud metadata address", "a name resolving to the metadata address is refused");
  got_free(&g);
  free(u);
  u = url("named.test", "/text");
  run(NULL, u, NULL, 0, 0, 0, &g);
  has_substr(g.msg, "127.0.0.1, a loopback address", "a granted name resolving to loopback is refused");
  has_substr(g.msg, "--allow-net=127.0.0.1:", "the refusal says how to grant the address");
  got_free(&g);
  free(u);
  u = url("localhost", "/text?say=local");
  run(NULL, u, NULL, 0, 0, 0, &g);
  is_str(body_of(&g), "local", "localhost, granted, reaches loopback");
  got_free(&g);
  free(u);

  /* redirects: each hop checked; a cap on hops */
  ngranted = 1; /* 127.0.0.1 only */
  char *to = url("localhost", "/text");
  u = xasprintf("http://127.0.0.1:%d/redirect?to=%s", port, to);
  run(NULL, u, NULL, 0, 0, 0, &g);
  has_substr(g.msg, "redirected to", "a redirect to an ungranted host fails");
  has_substr(g.msg, "--allow-net=localhost:", "and names the missing grant");
  got_free(&g);
  free(u);
  free(to);
  u = xasprintf("http://127.0.0.1:%d/redirect?to=ftp://127.0.0.1/x", port);
  run(NULL, u, NULL, 0, 0, 0, &g);
  has_substr(g.msg, "only http and https", "a redirect to ftp fails");
  got_free(&g);
  free(u);
  u = url("127.0.0.1", "/chain/3");
  run(NULL, u, NULL, 0, 0, 0, &g);
  is_str(body_of(&g), "end of chain\n", "three redirects are followed");
  fu = g.res ? cJSON_GetObjectItemCaseSensitive(g.res, "url") : NULL;
  has_substr(cJSON_IsString(fu) ? fu->valuestring : NULL, "/chain/0", "the final URL is the last hop's");
  got_free(&g);
  free(u);
  u = url("127.0.0.1", "/chain/11");
  run(NULL, u, NULL, 0, 0, 0, &g);
  has_substr(g.msg, "more than 10 redirects", "eleven redirects fail");
  got_free(&g);
  free(u);
  u = xasprintf("http://127.0.0.1:%d/redirect?code=303&to=/echo", port);
  run("POST", u, NULL, 0, 0, 0, &g);
  has_substr(body_of(&g), "\"method\": \"GET\"", "a 303 after a POST becomes a GET");
  got_free(&g);
  free(u);
  u = xasprintf("http://127.0.0.1:%d/redirect?code=307&to=/echo", port);
  run("POST", u, NULL, 0, 0, 0, &g);
  has_substr(body_of(&g), "\"body\": \"payload\"", "a 307 keeps the method and body");
  got_free(&g);
  free(u);

  /* caps */
  u = url("127.0.0.1", "/big?bytes=104857600");
  run(NULL, u, NULL, 0, 0, 0, &g);
  has_substr(g.msg, "larger than 16 MiB", "a 100 MB body fails at the 16 MiB cap");
  got_free(&g);
  free(u);
  u = url("127.0.0.1", "/big?bytes=5000");
  run(NULL, u, NULL, 0, 1000, 0, &g);
  has_substr(g.msg, "larger than 1000 bytes", "a request's own smaller cap");
  got_free(&g);
  run(NULL, u, NULL, 0, 5000, 0, &g);
  is_int(body_of(&g) ? (int)strlen(body_of(&g)) : -1, 5000, "a body exactly at the cap arrives whole");
  got_free(&g);
  free(u);
  u = url("127.0.0.1", "/stall");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  run(NULL, u, NULL, 0, 0, 400, &g);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  is_str(g.kind, "timeout", "a server that stalls after its headers times out");
  long ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  ok(ms >= 350 && ms < 5000, "at its deadline (%ld ms)", ms);
  got_free(&g);
  free(u);

  /* credentials: only to their own scheme, host and port */
  grant("localhost");
  snprintf(cred_for, sizeof cred_for, "http://127.0.0.1:%d", port);
  cred_line = "Authorization: Bearer SECRET-TOKEN-123456";
  to = url("localhost", "/echo");
  u = xasprintf("http://127.0.0.1:%d/redirect?to=%s", port, to);
  run(NULL, u, NULL, 0, 0, 0, &g);
  is_int(status_of(&g), 200, "a redirect to another granted host is followed");
  ok(body_of(&g) && !strstr(body_of(&g), "SECRET") && !strstr(body_of(&g), "authorization"),
     "the credential is not sent to the other host");
  got_free(&g);
  free(u);
  free(to);
  u = url("127.0.0.1", "/echo");
  run(NULL, u, NULL, 0, 0, 0, &g);
  /* sent (the log below says so), and scrubbed from the echo of it */
  has_substr(body_of(&g), "\"authorization\": \"[redacted]\"", "the credential's echo is scrubbed");
  ok(body_of(&g) && !strstr(body_of(&g), "SECRET"), "no piece of the credential reaches the response");
  got_free(&g);
  free(u);
  u = url("127.0.0.1", "/_log");
  run(NULL, u, NULL, 0, 0, 0, &g);
  has_substr(body_of(&g), "\"path\": \"/redirect\", \"host\": \"127.0.0.1", "the log has the first hop");
  ok(body_of(&g) && strstr(body_of(&g), "\"path\": \"/echo\", \"host\": \"localhost") &&
         strstr(strstr(body_of(&g), "\"path\": \"/echo\", \"host\": \"localhost"), "\"authorization\": false"),
     "the redirected hop carried no authorization");
  ok(body_of(&g) && strstr(body_of(&g), "\"path\": \"/echo\", \"host\": \"127.0.0.1") &&
         strstr(strstr(body_of(&g), "\"path\": \"/echo\", \"host\": \"127.0.0.1"), "\"authorization\": true"),
     "the credential goes to its own host");
  got_free(&g);
  free(u);

  /* cancel: no callback, nothing left */
  u = url("127.0.0.1", "/stall");
  FetchRequest rq = {.url = u};
  FetchFailure f;
  Got cg = {0};
  FetchOp *op = fetch_start(fc, &rq, on_done, &cg, &f);
  for (int i = 0; i < 20; i++) loop_wait(loop, 10);
  fetch_cancel(op);
  for (int i = 0; i < 10; i++) loop_wait(loop, 10);
  ok(!cg.done, "a cancelled request never calls back");
  is_int((long)fetch_active(fc), 0, "and is gone");
  free(u);

  /* https: a redirect to plain http is refused; https to https is followed */
  char dir[] = "/tmp/weft_fetch_tlsXXXXXX";
  if (mkdtemp(dir)) {
    char *cert = xasprintf("%s/cert.pem", dir);
    char *cmd = xasprintf("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/key.pem -out %s/crt.pem -days 2 "
                          "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 && "
                          "cat %s/key.pem %s/crt.pem > %s", dir, dir, dir, dir, cert);
    int tport = 0;
    pid_t tls = -1;
    if (system(cmd) == 0) tls = start_server_with(cert, &tport);
    if (tls > 0 && tport) {
      char *crt = xasprintf("%s/crt.pem", dir);
      FetchConfig tcfg = cfg;
      tcfg.ca_file = crt;
      FetchClient *plain = fc;
      fc = fetch_client_new(loop, &tcfg);
      char tg[64];
      snprintf(tg, sizeof tg, "127.0.0.1:%d", tport);
      snprintf(granted[ngranted++], sizeof granted[0], "%s", tg);
      u = xasprintf("https://127.0.0.1:%d/text?say=secure", tport);
      run(NULL, u, NULL, 0, 0, 0, &g);
      is_str(body_of(&g), "secure", "https: a GET");
      got_free(&g);
      free(u);
      u = xasprintf("https://127.0.0.1:%d/redirect?to=http://127.0.0.1:%d/text", tport, port);
      run(NULL, u, NULL, 0, 0, 0, &g);
      has_substr(g.msg, "redirected from https to plain http", "a redirect from https to http is refused");
      got_free(&g);
      free(u);
      u = xasprintf("https://127.0.0.1:%d/redirect?to=/chain/0", tport);
      run(NULL, u, NULL, 0, 0, 0, &g);
      is_str(body_of(&g), "end of chain\n", "a redirect from https to https is followed");
      got_free(&g);
      free(u);
      /* a credential bound to the http origin does not go over https, and back */
      snprintf(cred_for, sizeof cred_for, "http://127.0.0.1:%d", tport);
      u = xasprintf("https://127.0.0.1:%d/echo", tport);
      run(NULL, u, NULL, 0, 0, 0, &g);
      ok(body_of(&g) && !strstr(body_of(&g), "SECRET"), "a credential bound to http:// is not sent over https");
      got_free(&g);
      free(u);
      fetch_client_free(fc);
      fc = plain;
      free(crt);
      kill(tls, SIGTERM);
      waitpid(tls, NULL, 0);
    } else {
      skip("openssl cannot make a certificate here", "https redirects");
    }
    char *rm = xasprintf("rm -rf %s", dir);
    if (system(rm) != 0) diag("cannot remove %s", dir);
    free(rm);
    free(cmd);
    free(cert);
  }

  /* a client freed from its own callback */
  u = url("127.0.0.1", "/text");
  Own own = {fetch_client_new(loop, &cfg), false, 0};
  FetchRequest orq = {.url = u};
  ok(fetch_start(own.c, &orq, on_done_free, &own, &f) != NULL, "a one-request client starts");
  for (int i = 0; i < 500 && !own.done; i++) loop_wait(loop, 10);
  is_int(own.status, 200, "and frees itself in its callback");
  is_int((long)loop_watched(loop), 0, "leaving no socket on the loop");
  free(u);

  /* addresses by class */
  struct sockaddr_in a4 = {.sin_family = AF_INET};
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
  struct {
    const char *addr;
    const char *cls;
  } cases[] = {{"8.8.8.8", NULL}, {"127.0.0.2", "loopback"}, {"10.1.2.3", "private"},
               {"172.31.0.1", "private"}, {"172.32.0.1", NULL}, {"192.168.0.1", "private"},
               {"169.254.169.254", "cloud metadata"}, {"169.254.1.1", "link-local"}, {"0.0.0.0", "unspecified"},
               {"100.64.0.1", "private"}, {"224.0.0.1", "multicast"}, {"::1", "loopback"},
               {"::ffff:127.0.0.1", "loopback"}, {"::ffff:169.254.169.254", "cloud metadata"},
               {"64:ff9b::a9fe:a9fe", "cloud metadata"}, {"fe80::1", "link-local"}, {"fd00:ec2::254", "cloud metadata"},
               {"fd12::1", "private"}, {"2606:4700::1111", NULL}, {"::", "unspecified"}, {"2002:7f00:1::", "loopback"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *got;
    if (strchr(cases[i].addr, ':')) {
      inet_pton(AF_INET6, cases[i].addr, &a6.sin6_addr);
      got = fetch_address_class((struct sockaddr *)&a6);
    } else {
      inet_pton(AF_INET, cases[i].addr, &a4.sin_addr);
      got = fetch_address_class((struct sockaddr *)&a4);
    }
    if (cases[i].cls) is_str(got, cases[i].cls, "%s is %s", cases[i].addr, cases[i].cls);
    else ok(!got, "%s is public (got %s)", cases[i].addr, got ? got : "public");
  }

  fetch_client_free(fc);
  loop_free(loop);
  kill(srv, SIGTERM);
  waitpid(srv, NULL, 0);
  return tap_done();
}
