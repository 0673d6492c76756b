/* fetch.h — outbound HTTP for programs: one request as an asynchronous
 * operation on libcurl's multi interface, on the runtime's event loop.
 *
 * This is the engine behind std/http's `http.request` capability. What a
 * program may reach is decided outside it, by the gate (the run's
 * `--allow-net` grants and the operator's credentials); what this file
 * guarantees whatever the gate says (docs/security.md, "Outbound HTTP"):
 *
 *  - http and https only, for the request and for every redirect;
 *  - the URL is parsed once, by libcurl's own parser, and the handle that
 *    parsed it is the one the transfer uses, so the host checked is the
 *    host connected to (no second parser to disagree with);
 *  - every connection's address is checked when the socket is opened
 *    (CURLOPT_OPENSOCKETFUNCTION), so the address checked is the address
 *    connected to: a name may lead only to public addresses, `localhost`
 *    only to loopback, and loopback, private, link-local and cloud-metadata
 *    addresses are reached only through a URL that names the address
 *    itself, granted as such. A DNS answer that changes between lookups
 *    cannot swap the address after the check;
 *  - redirects are followed here, one hop at a time (at most
 *    FETCH_MAX_REDIRECTS), each target checked against the gate like the
 *    first URL; https never redirects to http;
 *  - no proxy from the environment, no cookies, no .netrc, no credentials
 *    in URLs or in the program's headers: a credential comes only from the
 *    gate, for exactly one scheme, host and port, and is asked again for
 *    each hop, so it never follows a redirect to another host;
 *  - the body is capped (16 MiB unless the request says less), the whole
 *    request including its redirects has one deadline.
 *
 * The result is JSON, as the capability journals it:
 *   {"status":200,"headers":{"content-type":"text/html"},"body":"...","url":"https://..."}
 * header names lower-cased (repeated headers joined with ", "), the body
 * valid UTF-8 (invalid bytes and NUL read as U+FFFD), "url" the URL of
 * the final hop. */
#ifndef WEFT_FETCH_H
#define WEFT_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "loop.h"

#define FETCH_DEFAULT_MAX_BODY ((size_t)16 << 20)
#define FETCH_DEFAULT_TIMEOUT_MS 30000
#define FETCH_MAX_REDIRECTS 10
/* Response headers kept (names and values together) before the request fails. */
#define FETCH_MAX_HEADER_BYTES ((size_t)256 << 10)

typedef struct FetchHeader {
  const char *name;
  const char *value;
} FetchHeader;

typedef struct FetchRequest {
  const char *method;           /* GET, POST, HEAD, PUT, DELETE; NULL: GET */
  const char *url;
  const FetchHeader *headers;   /* the program's; refused if they carry credentials */
  uint32_t nheaders;
  const char *body;             /* NULL: none (copied at start) */
  size_t body_len;
  size_t max_body;              /* 0: FETCH_DEFAULT_MAX_BODY (and never more) */
  int64_t timeout_ms;           /* the whole request with its redirects; 0: default */
} FetchRequest;

/* What the run allows; fetch.c asks it for every hop. */
typedef struct FetchGate {
  /* true when host (lower-case; an IPv6 address in brackets) on port is
   * granted, else false + *err (malloc'd) naming the missing grant */
  bool (*host)(void *ud, const char *host, int port, char **err);
  /* The header line ("authorization: Bearer ...") the operator bound to
   * exactly this scheme, host and port, or NULL (borrowed). May be NULL. */
  const char *(*credential)(void *ud, const char *scheme, const char *host, int port);
  void *ud;
} FetchGate;

typedef struct FetchConfig {
  FetchGate gate;
  /* libcurl CURLOPT_RESOLVE entries ("HOST:PORT:ADDRESS"): names answered
   * without DNS, as a test's stand-in for a resolver (the answer is checked
   * like any other). NULL-terminated; may be NULL. Borrowed. */
  const char *const *resolve;
  /* secrets to scrub from every error text (the gate's credentials):
   * NULL-terminated; may be NULL. Borrowed. */
  const char *const *secrets;
  /* a PEM file of the certificate authorities to trust instead of the
   * system's (a test's own); NULL: the system's. Borrowed. */
  const char *ca_file;
} FetchConfig;

/* How a request ended, when it did not end with a response. */
typedef struct FetchFailure {
  const char *kind;             /* "error" or "timeout" (static) */
  char *message;                /* malloc'd; names the URL's host, never a credential */
} FetchFailure;

/* Called exactly once per started request (never after fetch_cancel):
 * result (taken) on success, else result NULL and fail filled (its
 * message taken). Runs inside the loop's callbacks (or fetch_collect),
 * after the operation is freed; it may start and cancel other requests,
 * but not free the client. */
typedef void (*FetchDone)(void *ud, cJSON *result, FetchFailure *fail);

typedef struct FetchClient FetchClient;
typedef struct FetchOp FetchOp;

/* A client on loop (borrowed; it outlives the client). libcurl is loaded
 * on the first request. cfg's strings are borrowed. */
FetchClient *fetch_client_new(Loop *loop, const FetchConfig *cfg);
/* Drops every request in flight (their callbacks are not called). */
void fetch_client_free(FetchClient *fc);

/* Starts rq. NULL + *fail filled when it is refused or cannot start
 * (done is then not called); else the operation, which ends with one call
 * of done(ud, ...) or with fetch_cancel. */
FetchOp *fetch_start(FetchClient *fc, const FetchRequest *rq, FetchDone done, void *ud,
                     FetchFailure *fail);
/* Aborts op (closing its connection); done is not called. */
void fetch_cancel(FetchOp *op);

/* Requests in flight. */
uint32_t fetch_active(const FetchClient *fc);
/* Settles the transfers libcurl reports finished (calling their done, or
 * starting their next redirect hop). The loop's callbacks do it already;
 * calling it again is harmless. */
void fetch_collect(FetchClient *fc);

/* The class of an address that needs a grant naming it ("loopback",
 * "private", "link-local", "cloud metadata", "unspecified", "multicast",
 * "reserved"), or NULL for a public address. sa is a sockaddr_in or
 * sockaddr_in6 (IPv4-mapped IPv6 addresses are judged as IPv4). */
struct sockaddr;
const char *fetch_address_class(const struct sockaddr *sa);

/* ---- the capability (caps.c's table row "http.request") ----------------------
 * Arguments: std/http's Request record as JSON: {"method", "url", "headers"
 * (an object or null), "body" (or null), "timeout" (a duration's text or
 * null), "max_bytes" (or null)}. The gate is the run's grants: grants_host
 * for each hop, grants_credential for its origin; one client per call. */
struct CapCall;
void http_request_start(struct CapCall *c, const cJSON *args);
void http_request_cancel(struct CapCall *c);

#endif
