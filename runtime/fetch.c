/* fetch.c — outbound HTTP requests on a libcurl multi handle of their own,
 * whose sockets and timer live on the runtime's event loop (see fetch.h for
 * the guarantees, engine.c for the same wiring of the model calls).
 *
 * A request is a chain of hops: each hop is one easy handle with libcurl's
 * redirect following off; a 3xx with a Location ends the hop, and the next
 * one starts only after its URL passed the same checks as the first. The
 * address check runs in libcurl's open-socket callback, the one moment the
 * address is final. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "../base/util.h"
#include "../base/buf.h"

#include "fetch.h"
#include "caps.h"
#include "grants.h"
#include "provider.h"
#include "../vm/json.h"

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include "curl_dl.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

struct FetchOp {
  FetchClient *fc;
  FetchOp *prev, *next;       /* in fc->active, or fc->finished once libcurl is done */
  bool finished;
  CURLcode res;
  CURL *easy;                 /* the current hop's */
  CURLU *url;                 /* the current hop's URL, as parsed (the transfer uses it) */
  struct curl_slist *hdrs;
  char *method;               /* the current hop's */
  char *body;                 /* NULL: none */
  size_t body_len;
  char **hnames, **hvalues;   /* the program's headers (checked at start) */
  uint32_t nh;
  size_t max_body;
  int64_t timeout_ms;
  uint64_t deadline;          /* monotonic ms */
  uint32_t hops;              /* redirects followed */
  char scheme[8];
  char *host;                 /* lower-case */
  int port;
  bool literal;               /* the host is an address literal */
  Buf resp;
  cJSON *headers;
  size_t header_bytes;
  bool too_big, headers_too_big;
  char *refused;              /* why the open-socket check refused an address */
  char errbuf[CURL_ERROR_SIZE];
  FetchDone done;
  void *ud;
};

typedef struct OpList {
  FetchOp *head, *tail;
  uint32_t n;
} OpList;

struct FetchClient {
  Loop *loop;
  FetchConfig cfg;
  CURLM *multi;               /* made by the first request */
  bool global;                /* curl_global_init done */
  LoopTimer timer;            /* libcurl's one timeout */
  struct curl_slist *resolve;
  OpList active, finished;
  bool collecting;
  bool dead;                  /* freed by a callback inside collect: free at its end */
  int *fds;                   /* the sockets watched on the loop, unwatched at free */
  uint32_t nfds, fds_cap;
};

/* ---- small helpers -------------------------------------------------------- */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void list_push(OpList *l, FetchOp *o) {
  o->prev = l->tail;
  o->next = NULL;
  if (l->tail) l->tail->next = o;
  else l->head = o;
  l->tail = o;
  l->n++;
}

static void list_remove(OpList *l, FetchOp *o) {
  if (o->prev) o->prev->next = o->next;
  else l->head = o->next;
  if (o->next) o->next->prev = o->prev;
  else l->tail = o->prev;
  o->prev = o->next = NULL;
  l->n--;
}

/* b scrubbed of the gate's secrets. */
static void scrub(const FetchClient *fc, Buf *b) {
  for (const char *const *s = fc->cfg.secrets; s && *s; s++) redact_secret(b, *s);
}

/* s scrubbed (malloc'd). */
static char *scrubbed(const FetchClient *fc, const char *s) {
  Buf b;
  buf_init(&b);
  buf_puts(&b, s);
  scrub(fc, &b);
  return buf_detach(&b);
}

/* Fills fail with kind and a message scrubbed of the gate's secrets. */
static void set_fail(const FetchClient *fc, FetchFailure *fail, const char *kind, char *msg) {
  fail->kind = kind;
  fail->message = scrubbed(fc, msg);
  free(msg);
}

/* A response's headers (taken) as the program may see them: a server can
 * echo the credential it was sent, in a value or even a name, so both are
 * scrubbed like a message; names that scrub alike are joined as repeats. */
static cJSON *scrub_headers(const FetchClient *fc, cJSON *h) {
  if (!h) return cJSON_CreateObject();
  if (!fc->cfg.secrets) return h;
  cJSON *out = cJSON_CreateObject();
  const cJSON *it;
  cJSON_ArrayForEach(it, h) {
    char *k = scrubbed(fc, it->string ? it->string : "");
    char *v = scrubbed(fc, cJSON_IsString(it) ? it->valuestring : "");
    cJSON *old = cJSON_GetObjectItemCaseSensitive(out, k);
    if (old && cJSON_IsString(old)) {
      char *joined = xasprintf("%s, %s", old->valuestring, v);
      cJSON_ReplaceItemInObjectCaseSensitive(out, k, cJSON_CreateString(joined));
      free(joined);
    } else {
      cJSON_AddItemToObject(out, k, cJSON_CreateString(v));
    }
    free(k);
    free(v);
  }
  cJSON_Delete(h);
  return out;
}

static void fmt_size(char *out, size_t n, size_t v) {
  if (v >= ((size_t)1 << 20) && v % ((size_t)1 << 20) == 0) snprintf(out, n, "%zu MiB", v >> 20);
  else if (v >= 1024 && v % 1024 == 0) snprintf(out, n, "%zu KiB", v >> 10);
  else snprintf(out, n, "%zu bytes", v);
}

/* ---- addresses ------------------------------------------------------------ */

static const char *v4_class(uint32_t a) {
  if (a == 0xA9FEA9FEu) return "cloud metadata";                  /* 169.254.169.254 */
  if ((a >> 24) == 0) return "unspecified";                       /* 0/8 */
  if ((a >> 24) == 127) return "loopback";                        /* 127/8 */
  if ((a >> 24) == 10) return "private";                          /* 10/8 */
  if ((a >> 20) == 0xAC1u) return "private";                      /* 172.16/12 */
  if ((a >> 16) == 0xC0A8u) return "private";                     /* 192.168/16 */
  if ((a >> 22) == (100u << 2 | 1u)) return "private";            /* 100.64/10, shared */
  if ((a >> 16) == 0xA9FEu) return "link-local";                  /* 169.254/16 */
  if ((a >> 28) == 0xEu) return "multicast";                      /* 224/4 */
  if ((a >> 28) == 0xFu) return "reserved";                       /* 240/4, broadcast */
  if ((a >> 8) == 0xC00000u) return "reserved";                   /* 192.0.0/24 */
  if ((a >> 17) == (0xC612u >> 1)) return "reserved";             /* 198.18/15 */
  return NULL;
}

static uint32_t v4_at(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const char *fetch_address_class(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    return v4_class(ntohl(in->sin_addr.s_addr));
  }
  if (sa->sa_family != AF_INET6) return "reserved";
  const unsigned char *p = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
  static const unsigned char zero[16];
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
  static const unsigned char metadata[16] = {0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54};
  if (memcmp(p, zero, 15) == 0) return p[15] == 1 ? "loopback" : p[15] == 0 ? "unspecified" : "reserved";
  /* addresses that carry an IPv4 address reach it: judged as that address */
  if (memcmp(p, mapped, 12) == 0 || memcmp(p, nat64, 12) == 0) return v4_class(v4_at(p + 12));
  if (memcmp(p, zero, 12) == 0) return "reserved";                /* IPv4-compatible, deprecated */
  if (p[0] == 0x20 && p[1] == 0x02) {                             /* 2002::/16, 6to4 */
    const char *c = v4_class(v4_at(p + 2));
    if (c) return c;
  }
  if (memcmp(p, metadata, 16) == 0) return "cloud metadata";      /* fd00:ec2::254 */
  if (p[0] == 0xfe && (p[1] & 0xc0) == 0x80) return "link-local"; /* fe80::/10 */
  if (p[0] == 0xfe && (p[1] & 0xc0) == 0xc0) return "private";    /* fec0::/10, site-local */
  if ((p[0] & 0xfe) == 0xfc) return "private";                    /* fc00::/7, unique local */
  if (p[0] == 0xff) return "multicast";
  return NULL;
}

static void addr_text(const struct sockaddr *sa, char *out, size_t n) {
  const void *a = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr
                                           : (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
  if (!inet_ntop(sa->sa_family, a, out, (socklen_t)n)) snprintf(out, n, "?");
}

/* CURLOPT_OPENSOCKETFUNCTION: the address libcurl is about to connect to,
 * final (after DNS, happy eyeballs, everything): a URL naming an address
 * literal reaches it (the gate granted that literal); `localhost` reaches
 * loopback; any other name reaches public addresses only. */
static curl_socket_t on_open(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
  FetchOp *op = ud;
  if (purpose != CURLSOCKTYPE_IPCXN || (a->family != AF_INET && a->family != AF_INET6)) return CURL_SOCKET_BAD;
  const char *cls = fetch_address_class(&a->addr);
  bool ok = !cls || op->literal || (strcmp(cls, "loopback") == 0 && strcmp(op->host, "localhost") == 0);
  if (!ok) {
    if (!op->refused) {
      char at[INET6_ADDRSTRLEN + 2];
      addr_text(&a->addr, at, sizeof at);
      bool six = a->family == AF_INET6;
      op->refused = xasprintf("%s resolves to %s, a %s address, which a host name may not lead to: "
                              "grant the address itself (--allow-net=%s%s%s:%d) and put it in the URL",
                              op->host, at, cls, six ? "[" : "", at, six ? "]" : "", op->port);
    }
    return CURL_SOCKET_BAD;
  }
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* ---- libcurl on the event loop -------------------------------------------- */

static void collect(FetchClient *fc);

static void on_ready(void *ud, int fd, unsigned events) {
  FetchClient *fc = ud;
  int mask = (events & LOOP_IN ? CURL_CSELECT_IN : 0) | (events & LOOP_OUT ? CURL_CSELECT_OUT : 0) |
             (events & LOOP_ERR ? CURL_CSELECT_ERR : 0);
  int running = 0;
  curl_multi_socket_action(fc->multi, fd, mask, &running);
  collect(fc);
}

static void on_due(void *ud) {
  FetchClient *fc = ud;
  int running = 0;
  curl_multi_socket_action(fc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  collect(fc);
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *ud, void *sockp) {
  (void)easy;
  (void)sockp;
  FetchClient *fc = ud;
  uint32_t i = 0;
  while (i < fc->nfds && fc->fds[i] != (int)s) i++;
  if (what == CURL_POLL_REMOVE) {
    loop_unwatch(fc->loop, (int)s);
    if (i < fc->nfds) fc->fds[i] = fc->fds[--fc->nfds];
    return 0;
  }
  unsigned ev = (what & CURL_POLL_IN ? LOOP_IN : 0u) | (what & CURL_POLL_OUT ? LOOP_OUT : 0u);
  if (!loop_watch(fc->loop, (int)s, ev, on_ready, fc)) return -1;
  if (i == fc->nfds) {
    if (fc->nfds == fc->fds_cap) {
      fc->fds_cap = fc->fds_cap ? fc->fds_cap * 2 : 4;
      fc->fds = xrealloc(fc->fds, fc->fds_cap * sizeof *fc->fds);
    }
    fc->fds[fc->nfds++] = (int)s;
  }
  return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *ud) {
  (void)multi;
  FetchClient *fc = ud;
  if (timeout_ms < 0) loop_timer_stop(fc->loop, &fc->timer);
  else loop_timer_set(fc->loop, &fc->timer, timeout_ms);
  return 0;
}

static bool ensure_multi(FetchClient *fc, char **err) {
  if (fc->multi) return true;
  if (!curl_dl_load(err)) return false;
  if (!fc->global) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      *err = xstrdup("libcurl does not initialise");
      return false;
    }
    fc->global = true;
  }
  fc->multi = curl_multi_init();
  if (!fc->multi ||
      curl_multi_setopt(fc->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
      curl_multi_setopt(fc->multi, CURLMOPT_SOCKETDATA, fc) != CURLM_OK ||
      curl_multi_setopt(fc->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
      curl_multi_setopt(fc->multi, CURLMOPT_TIMERDATA, fc) != CURLM_OK) {
    if (fc->multi) curl_multi_cleanup(fc->multi);
    fc->multi = NULL;
    *err = xstrdup("libcurl refuses the event-loop callbacks");
    return false;
  }
  for (const char *const *r = fc->cfg.resolve; r && *r; r++) fc->resolve = curl_slist_append(fc->resolve, *r);
  return true;
}

FetchClient *fetch_client_new(Loop *loop, const FetchConfig *cfg) {
  FetchClient *fc = xcalloc(1, sizeof *fc);
  fc->loop = loop;
  fc->cfg = *cfg;
  loop_timer_init(&fc->timer, on_due, fc);
  return fc;
}

/* ---- one operation --------------------------------------------------------- */

static void hop_release(FetchOp *op) {
  if (op->easy) {
    if (op->fc->multi) curl_multi_remove_handle(op->fc->multi, op->easy);
    curl_easy_cleanup(op->easy);
    op->easy = NULL;
  }
  if (op->url) curl_url_cleanup(op->url);
  op->url = NULL;
  if (op->hdrs) curl_slist_free_all(op->hdrs);
  op->hdrs = NULL;
  free(op->host);
  op->host = NULL;
  free(op->refused);
  op->refused = NULL;
  buf_free(&op->resp);
  buf_init(&op->resp);
  cJSON_Delete(op->headers);
  op->headers = NULL;
  op->header_bytes = 0;
  op->too_big = op->headers_too_big = false;
  op->errbuf[0] = 0;
}

static void op_free(FetchOp *op) {
  hop_release(op);
  free(op->method);
  free(op->body);
  for (uint32_t i = 0; i < op->nh; i++) {
    free(op->hnames[i]);
    free(op->hvalues[i]);
  }
  free(op->hnames);
  free(op->hvalues);
  free(op);
}

void fetch_cancel(FetchOp *op) {
  if (!op) return;
  FetchClient *fc = op->fc;
  list_remove(op->finished ? &fc->finished : &fc->active, op);
  op_free(op);
}

static void client_release(FetchClient *fc) {
  if (fc->multi) curl_multi_cleanup(fc->multi);
  /* sockets libcurl still had (its connection cache) leave the loop
   * before their numbers can be reused by another owner */
  for (uint32_t i = 0; i < fc->nfds; i++) loop_unwatch(fc->loop, fc->fds[i]);
  free(fc->fds);
  if (fc->resolve) curl_slist_free_all(fc->resolve);
  if (fc->loop) loop_timer_stop(fc->loop, &fc->timer);
  if (fc->global) curl_global_cleanup();
  free(fc);
}

void fetch_client_free(FetchClient *fc) {
  if (!fc) return;
  while (fc->active.head) fetch_cancel(fc->active.head);
  while (fc->finished.head) fetch_cancel(fc->finished.head);
  if (fc->collecting) { /* a done callback: collect frees it when it ends */
    fc->dead = true;
    return;
  }
  client_release(fc);
}

uint32_t fetch_active(const FetchClient *fc) { return fc->active.n + fc->finished.n; }

/* Response headers: a status line starts a response (a 1xx's headers are
 * dropped with it); names lower-cased, repeats joined with ", ". */
static size_t on_header(char *p, size_t size, size_t nitems, void *ud) {
  FetchOp *op = ud;
  size_t n = size * nitems;
  op->header_bytes += n;
  if (op->header_bytes > FETCH_MAX_HEADER_BYTES) {
    op->headers_too_big = true;
    return 0;
  }
  if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    cJSON_Delete(op->headers);
    op->headers = cJSON_CreateObject();
    return n;
  }
  const char *colon = memchr(p, ':', n);
  if (!colon || colon == p || !op->headers) return n;
  size_t nl = (size_t)(colon - p);
  const char *v = colon + 1, *end = p + n;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
  Buf name, val;
  buf_init(&name);
  buf_init(&val);
  for (size_t i = 0; i < nl; i++) buf_putc(&name, (char)tolower((unsigned char)p[i]));
  for (size_t i = 0, len; i < (size_t)(end - v); i += len ? len : 1) {
    len = v[i] ? utf8_seq_len(v + i, (size_t)(end - v) - i) : 0;
    if (len) buf_put(&val, v + i, len);
    else buf_put(&val, "\xEF\xBF\xBD", 3);
  }
  char *nm = buf_detach(&name), *vl = buf_detach(&val);
  for (char *q = nm; *q; q++)
    if ((unsigned char)*q < 0x21 || (unsigned char)*q > 0x7e) *q = '_'; /* a name is a token */
  cJSON *old = cJSON_GetObjectItemCaseSensitive(op->headers, nm);
  if (old && cJSON_IsString(old)) {
    char *joined = xasprintf("%s, %s", old->valuestring, vl);
    cJSON_ReplaceItemInObjectCaseSensitive(op->headers, nm, cJSON_CreateString(joined));
    free(joined);
  } else {
    cJSON_AddItemToObject(op->headers, nm, cJSON_CreateString(vl));
  }
  free(nm);
  free(vl);
  return n;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud) {
  FetchOp *op = ud;
  size_t n = size * nmemb;
  if (n > op->max_body - op->resp.len) {
    op->too_big = true;
    return 0;
  }
  buf_put(&op->resp, p, n);
  return n;
}

/* Header names a program may not set: the transfer's own framing, and
 * credentials, which come only from the operator (fetch.h). */
static const char *header_refusal(const char *name) {
  static const char *const framing[] = {"host", "content-length", "transfer-encoding", "connection",
                                        "upgrade", "te", "trailer", "keep-alive", "expect", NULL};
  static const char *const creds[] = {"authorization", "proxy-authorization", "cookie", NULL};
  for (const char *const *f = framing; *f; f++)
    if (strcasecmp(name, *f) == 0) return "is set by the HTTP client, not by the program";
  for (const char *const *c = creds; *c; c++)
    if (strcasecmp(name, *c) == 0)
      return "carries credentials, which come only from the operator's grants (docs/capabilities.md)";
  if (strncasecmp(name, "proxy-", 6) == 0) return "is for proxies, and requests use none";
  return NULL;
}

static bool token_char(unsigned char c) {
  return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* Parses url into a fresh handle and checks everything that does not need
 * the network: scheme, no user info, the gate. Fills op's hop fields. */
static bool hop_url(FetchOp *op, const char *url, FetchFailure *fail) {
  FetchClient *fc = op->fc;
  CURLU *u = curl_url();
  CURLUcode uc = u ? curl_url_set(u, CURLUPART_URL, url, 0) : CURLUE_OUT_OF_MEMORY;
  if (uc != CURLUE_OK) {
    if (u) curl_url_cleanup(u);
    set_fail(fc, fail, "error", xasprintf_cap(WEFT_MESSAGE_MAX, "not a URL an HTTP request can use: %s", url));
    return false;
  }
  char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL;
  curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
  curl_url_get(u, CURLUPART_HOST, &host, 0);
  curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
  curl_url_get(u, CURLUPART_USER, &user, 0);
  curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
  bool ok = false;
  if (!scheme || (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
    set_fail(fc, fail, "error",
             xasprintf_cap(WEFT_MESSAGE_MAX, "only http and https URLs can be requested, not %s", url));
  } else if (user || pass) {
    set_fail(fc, fail, "error",
             xstrdup("a URL may not carry a user name or password: credentials come only from the "
                     "operator's grants"));
  } else if (!host || !*host || !port) {
    set_fail(fc, fail, "error", xasprintf_cap(WEFT_MESSAGE_MAX, "the URL names no host: %s", url));
  } else {
    free(op->host);
    op->host = xstrdup(host);
    for (char *q = op->host; *q; q++) *q = (char)tolower((unsigned char)*q);
    size_t hl = strlen(op->host);
    if (hl > 1 && op->host[hl - 1] == '.') op->host[hl - 1] = 0; /* "localhost." is localhost */
    snprintf(op->scheme, sizeof op->scheme, "%s", strcasecmp(scheme, "https") == 0 ? "https" : "http");
    op->port = atoi(port);
    struct in_addr a4;
    op->literal = op->host[0] == '[' || inet_pton(AF_INET, op->host, &a4) == 1;
    char *why = NULL;
    if (!fc->cfg.gate.host || !fc->cfg.gate.host(fc->cfg.gate.ud, op->host, op->port, &why)) {
      set_fail(fc, fail, "error",
               why ? why : xasprintf("requesting %s:%d needs --allow-net=%s:%d", op->host, op->port, op->host, op->port));
    } else {
      ok = true;
    }
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(user);
  curl_free(pass);
  if (!ok) {
    curl_url_cleanup(u);
    return false;
  }
  if (op->url) curl_url_cleanup(op->url);
  op->url = u;
  return true;
}

/* Starts the hop whose URL hop_url accepted. */
static bool hop_start(FetchOp *op, FetchFailure *fail) {
  FetchClient *fc = op->fc;
  int64_t left = (int64_t)(op->deadline - now_ms());
  if (op->deadline <= now_ms() || left <= 0) {
    set_fail(fc, fail, "timeout", xasprintf("%s %s: no response within %" PRId64 " ms", op->method, op->host, op->timeout_ms));
    return false;
  }
  CURL *h = curl_easy_init();
  if (!h) {
    set_fail(fc, fail, "error", xstrdup("libcurl cannot make a transfer"));
    return false;
  }
  op->easy = h;
  op->headers = cJSON_CreateObject();
  curl_easy_setopt(h, CURLOPT_CURLU, op->url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "weft/" PACKAGE_VERSION);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(left < 10000 ? left : 10000));
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)op->max_body);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, op);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, op);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, op);
  curl_easy_setopt(h, CURLOPT_PRIVATE, op);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, op->errbuf);
  if (fc->resolve) curl_easy_setopt(h, CURLOPT_RESOLVE, fc->resolve);
  if (fc->cfg.ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, fc->cfg.ca_file);
  if (strcmp(op->method, "HEAD") == 0) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (strcmp(op->method, "GET") != 0) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, op->method);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, op->body ? op->body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(op->body ? op->body_len : 0));
  }
  for (uint32_t i = 0; i < op->nh; i++) {
    char *line = xasprintf("%s: %s", op->hnames[i], op->hvalues[i]);
    op->hdrs = curl_slist_append(op->hdrs, line);
    free(line);
  }
  /* asked for this hop's own scheme, host and port: never carried along */
  const char *cred = fc->cfg.gate.credential ? fc->cfg.gate.credential(fc->cfg.gate.ud, op->scheme, op->host, op->port)
                                             : NULL;
  if (cred) op->hdrs = curl_slist_append(op->hdrs, cred);
  op->hdrs = curl_slist_append(op->hdrs, "Expect:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, op->hdrs);
  CURLMcode mc = curl_multi_add_handle(fc->multi, h);
  if (mc != CURLM_OK) {
    set_fail(fc, fail, "error", xasprintf("cannot start the transfer (%s)", curl_multi_strerror(mc)));
    return false;
  }
  return true;
}

FetchOp *fetch_start(FetchClient *fc, const FetchRequest *rq, FetchDone done, void *ud, FetchFailure *fail) {
  fail->kind = NULL;
  fail->message = NULL;
  const char *m = rq->method ? rq->method : "GET";
  static const char *const methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", NULL};
  const char *const *mm = methods;
  while (*mm && strcasecmp(*mm, m) != 0) mm++;
  if (!*mm) {
    set_fail(fc, fail, "error", xasprintf_cap(256, "unknown HTTP method %s (GET, POST, HEAD, PUT or DELETE)", m));
    return NULL;
  }
  for (uint32_t i = 0; i < rq->nheaders; i++) {
    const char *n = rq->headers[i].name, *v = rq->headers[i].value;
    bool good = n && *n && v;
    for (const char *q = n; good && *q; q++) good = token_char((unsigned char)*q);
    for (const char *q = v; good && *q; q++) good = *q != '\r' && *q != '\n';
    if (!good) {
      set_fail(fc, fail, "error", xasprintf_cap(256, "the header name or value %s is not valid HTTP (a token name, a value without line breaks)", n ? n : "(none)"));
      return NULL;
    }
    const char *why = header_refusal(n);
    if (why) {
      set_fail(fc, fail, "error", xasprintf_cap(256, "the header %s %s", n, why));
      return NULL;
    }
  }
  char *err = NULL;
  if (!ensure_multi(fc, &err)) {
    set_fail(fc, fail, "error", err);
    return NULL;
  }
  FetchOp *op = xcalloc(1, sizeof *op);
  op->fc = fc;
  op->method = xstrdup(*mm);
  if (rq->body) {
    op->body = xstrndup(rq->body, rq->body_len);
    op->body_len = rq->body_len;
  }
  op->nh = rq->nheaders;
  op->hnames = xcalloc(op->nh ? op->nh : 1, sizeof *op->hnames);
  op->hvalues = xcalloc(op->nh ? op->nh : 1, sizeof *op->hvalues);
  for (uint32_t i = 0; i < op->nh; i++) {
    op->hnames[i] = xstrdup(rq->headers[i].name);
    op->hvalues[i] = xstrdup(rq->headers[i].value);
  }
  op->max_body = rq->max_body && rq->max_body < FETCH_DEFAULT_MAX_BODY ? rq->max_body : FETCH_DEFAULT_MAX_BODY;
  op->timeout_ms = rq->timeout_ms > 0 ? rq->timeout_ms : FETCH_DEFAULT_TIMEOUT_MS;
  op->deadline = now_ms() + (uint64_t)op->timeout_ms;
  op->done = done;
  op->ud = ud;
  buf_init(&op->resp);
  if (!rq->url || !hop_url(op, rq->url, fail) || !hop_start(op, fail)) {
    if (!rq->url) set_fail(fc, fail, "error", xstrdup("no URL"));
    op_free(op);
    return NULL;
  }
  list_push(&fc->active, op);
  return op;
}

/* ---- endings ---------------------------------------------------------------- */

static void finish_fail(FetchOp *op, const char *kind, char *msg) {
  FetchFailure f;
  set_fail(op->fc, &f, kind, msg);
  FetchDone done = op->done;
  void *ud = op->ud;
  op_free(op);
  done(ud, NULL, &f);
}

static bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* A 3xx with a Location: the next hop, checked like the first. The method
 * changes as browsers change it (303, and 301/302 after a POST, become a
 * GET without a body). */
static void follow(FetchOp *op, long status, const char *location) {
  FetchClient *fc = op->fc;
  char *target = xstrdup(location);
  char from[8];
  snprintf(from, sizeof from, "%s", op->scheme);
  char *from_host = xstrdup(op->host);
  hop_release(op);
  FetchFailure f = {NULL, NULL};
  if (++op->hops > FETCH_MAX_REDIRECTS) {
    set_fail(fc, &f, "error", xasprintf("%s %s: more than %d redirects", op->method, from_host, FETCH_MAX_REDIRECTS));
  } else if (hop_url(op, target, &f)) {
    if (strcmp(from, "https") == 0 && strcmp(op->scheme, "http") == 0) {
      set_fail(fc, &f, "error",
               xasprintf_cap(WEFT_MESSAGE_MAX, "%s redirected from https to plain http (%s): refused, "
                                               "a request that started encrypted stays encrypted", from_host, target));
    } else {
      if (status == 303 || ((status == 301 || status == 302) && strcmp(op->method, "POST") == 0)) {
        if (strcmp(op->method, "HEAD") != 0) {
          free(op->method);
          op->method = xstrdup("GET");
        }
        free(op->body);
        op->body = NULL;
        op->body_len = 0;
      }
      hop_start(op, &f);
    }
  } else {
    /* name the hop that led there: the refusal alone reads as if the
     * program had asked for the target itself */
    char *m = xasprintf_cap(WEFT_MESSAGE_MAX, "%s redirected to %s: %s", from_host, target, f.message);
    free(f.message);
    f.message = m;
  }
  free(target);
  free(from_host);
  if (f.message) {
    FetchDone done = op->done;
    void *ud = op->ud;
    op_free(op);
    done(ud, NULL, &f);
    return;
  }
  list_push(&fc->active, op);
}

static void finish(FetchOp *op) {
  CURLcode res = op->res;
  char sz[32];
  if (op->too_big || res == CURLE_FILESIZE_EXCEEDED) {
    fmt_size(sz, sizeof sz, op->max_body);
    finish_fail(op, "error", xasprintf("%s %s: the response body is larger than %s (the cap on a response)",
                                       op->method, op->host, sz));
    return;
  }
  if (op->headers_too_big) {
    fmt_size(sz, sizeof sz, FETCH_MAX_HEADER_BYTES);
    finish_fail(op, "error", xasprintf("%s %s: the response headers are larger than %s", op->method, op->host, sz));
    return;
  }
  if (op->refused && res != CURLE_OK) {
    char *m = op->refused;
    op->refused = NULL;
    finish_fail(op, "error", m);
    return;
  }
  if (res == CURLE_OPERATION_TIMEDOUT) {
    finish_fail(op, "timeout", xasprintf("%s %s: no complete response within %" PRId64 " ms", op->method, op->host,
                                         op->timeout_ms));
    return;
  }
  if (res != CURLE_OK) {
    finish_fail(op, "error", xasprintf_cap(WEFT_MESSAGE_MAX, "%s %s: %s", op->method, op->host,
                                           op->errbuf[0] ? op->errbuf : curl_easy_strerror(res)));
    return;
  }
  long status = 0;
  curl_easy_getinfo(op->easy, CURLINFO_RESPONSE_CODE, &status);
  char *loc = NULL;
  if (is_redirect(status)) curl_easy_getinfo(op->easy, CURLINFO_REDIRECT_URL, &loc);
  if (loc && *loc) {
    follow(op, status, loc);
    return;
  }
  cJSON *r = cJSON_CreateObject();
  cJSON_AddNumberToObject(r, "status", (double)status);
  /* the response becomes a value of the program's: whatever of the
   * credential it echoes is scrubbed first, as in a message */
  cJSON_AddItemToObject(r, "headers", scrub_headers(op->fc, op->headers));
  op->headers = NULL;
  Buf clean;
  buf_init(&clean);
  const char *s = op->resp.data ? op->resp.data : "";
  for (size_t i = 0, n = op->resp.len, len; i < n; i += len ? len : 1) {
    len = s[i] ? utf8_seq_len(s + i, n - i) : 0;
    if (len) buf_put(&clean, s + i, len);
    else buf_put(&clean, "\xEF\xBF\xBD", 3);
  }
  scrub(op->fc, &clean);
  buf_putc(&clean, 0);
  cJSON_AddStringToObject(r, "body", clean.data);
  buf_free(&clean);
  char *u = NULL;
  curl_url_get(op->url, CURLUPART_URL, &u, 0);
  char *su = scrubbed(op->fc, u ? u : "");
  curl_free(u);
  cJSON_AddStringToObject(r, "url", su);
  free(su);
  FetchDone done = op->done;
  void *ud = op->ud;
  op_free(op);
  done(ud, r, NULL);
}

/* Moves what libcurl finished to fc->finished first, then settles it one
 * by one: a callback may cancel another finished operation (it leaves the
 * list) or start new ones (they join active). */
static void collect(FetchClient *fc) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(fc->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    char *priv = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    FetchOp *op = (FetchOp *)(void *)priv;
    if (!op || op->finished) continue;
    op->res = msg->data.result;
    list_remove(&fc->active, op);
    op->finished = true;
    list_push(&fc->finished, op);
  }
  if (fc->collecting) return;
  fc->collecting = true;
  FetchOp *op;
  while ((op = fc->finished.head) != NULL) {
    list_remove(&fc->finished, op);
    op->finished = false;
    finish(op);
    if (fc->dead) break;
  }
  fc->collecting = false;
  if (fc->dead) client_release(fc);
}

void fetch_collect(FetchClient *fc) {
  if (fc->multi) collect(fc);
}

/* ---- the capability: http.request (caps.c's table) ---------------------------- */

/* One call: a client of its own, freed when the call completes or is
 * cancelled (connections are not shared between calls). */
typedef struct HttpCall {
  CapCall *c;
  const Grants *g;
  FetchClient *fc;
  char **resolve;             /* WEFT_RESOLVE, split */
} HttpCall;

static bool http_gate_host(void *ud, const char *host, int port, char **err) {
  HttpCall *h = ud;
  return grants_host(h->g, host, port, err);
}

static const char *http_gate_cred(void *ud, const char *scheme, const char *host, int port) {
  HttpCall *h = ud;
  return grants_credential(h->g, scheme, host, port);
}

static void http_call_free(HttpCall *h) {
  fetch_client_free(h->fc);
  for (char **r = h->resolve; r && *r; r++) free(*r);
  free(h->resolve);
  free(h);
}

static void http_done(void *ud, cJSON *result, FetchFailure *f) {
  HttpCall *h = ud;
  CapCall *c = h->c;
  caps_set_data(c, NULL);
  http_call_free(h);
  if (result) {
    caps_done(c, result);
  } else {
    caps_fail(c, f->kind, f->message);
    free(f->message);
  }
}

/* WEFT_RESOLVE="HOST:PORT:ADDRESS[,...]": names answered without DNS, as
 * /etc/hosts would (the operator's environment; the answers are checked
 * like any other). NULL when unset. */
static char **resolve_from_env(void) {
  const char *env = getenv("WEFT_RESOLVE");
  if (!env || !*env) return NULL;
  size_t n = 1;
  for (const char *p = env; *p; p++) n += *p == ',';
  char **out = xcalloc(n + 1, sizeof *out);
  size_t k = 0;
  for (const char *p = env; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len) out[k++] = xstrndup(p, len);
    p += len + (e ? 1 : 0);
  }
  return out;
}

static const char *arg_string(const cJSON *args, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

void http_request_start(CapCall *c, const cJSON *args) {
  const char *method = arg_string(args, "method"), *url = arg_string(args, "url");
  const char *body = arg_string(args, "body"), *timeout = arg_string(args, "timeout");
  const cJSON *hs = cJSON_GetObjectItemCaseSensitive(args, "headers");
  const cJSON *mb = cJSON_GetObjectItemCaseSensitive(args, "max_bytes");
  if (!url) {
    caps_fail(c, "error", "http.request: no url");
    return;
  }
  int64_t timeout_ms = 0;
  if (timeout && (!duration_parse(timeout, strlen(timeout), &timeout_ms) || timeout_ms <= 0)) {
    caps_fail(c, "error", "http.request: the timeout must be a positive duration");
    return;
  }
  size_t max_body = 0;
  if (cJSON_IsNumber(mb)) {
    if (mb->valuedouble < 1) {
      caps_fail(c, "error", "http.request: max_bytes must be at least 1");
      return;
    }
    max_body = mb->valuedouble >= (double)FETCH_DEFAULT_MAX_BODY ? FETCH_DEFAULT_MAX_BODY : (size_t)mb->valuedouble;
  }
  uint32_t nh = 0;
  FetchHeader *h = NULL;
  if (cJSON_IsObject(hs)) {
    int n = cJSON_GetArraySize(hs);
    if (n > 100) {
      caps_fail(c, "error", "http.request: more than 100 headers");
      return;
    }
    h = xcalloc((size_t)n + 1, sizeof *h);
    for (const cJSON *e = hs->child; e; e = e->next)
      if (cJSON_IsString(e)) h[nh++] = (FetchHeader){e->string, e->valuestring};
  }
  char *err = NULL;
  Loop *loop = caps_loop(c, &err);
  if (!loop) {
    caps_fail(c, "error", err ? err : "no event loop");
    free(err);
    free(h);
    return;
  }
  HttpCall *hc = xcalloc(1, sizeof *hc);
  hc->c = c;
  hc->g = caps_grants(c);
  hc->resolve = resolve_from_env();
  FetchConfig cfg = {.gate = {http_gate_host, http_gate_cred, hc},
                     .resolve = (const char *const *)hc->resolve,
                     .secrets = grants_secrets(hc->g)};
  hc->fc = fetch_client_new(loop, &cfg);
  FetchRequest rq = {.method = method, .url = url, .headers = h, .nheaders = nh, .body = body,
                     .body_len = body ? strlen(body) : 0, .max_body = max_body, .timeout_ms = timeout_ms};
  FetchFailure f;
  caps_set_data(c, hc);
  FetchOp *op = fetch_start(hc->fc, &rq, http_done, hc, &f);
  free(h);
  if (!op) {
    caps_set_data(c, NULL);
    http_call_free(hc);
    caps_fail(c, f.kind, f.message);
    free(f.message);
  }
}

void http_request_cancel(CapCall *c) {
  HttpCall *hc = caps_data(c);
  caps_set_data(c, NULL);
  if (hc) http_call_free(hc);
}
