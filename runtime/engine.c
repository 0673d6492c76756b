/* engine.c — the effect engine: model calls as parked fibers on one curl
 * multi handle, driven by the runtime's event loop (see engine.h for the
 * contract, loop.h for the loop).
 *
 * A call moves through four lists, always on the scheduler's thread:
 *
 *   queue ──admit──> active (an HTTP transfer)  ──done──> resume / fail
 *     ^                mock   (answered next poll,   │
 *     │                 or mock_wait until a script's delay ends)
 *     │                                              ├─ retry:  backoff ──due──┐
 *     └──────────────── front of the queue <─────────┴─ repair: ───────────────┘
 *
 * Admission (--max-concurrency) counts active and mock attempts; a call in
 * backoff holds no slot. Each attempt is also admitted by the asking
 * fiber's budgets, reserving its worst case until call_settle charges what
 * it used (vm/tasks.c "budgets"); a call whose reservation must wait for
 * others to settle keeps its place while later ones go ahead. Retries and
 * repairs go to the FRONT of the queue so a call that has started is not
 * starved by newer ones. The only randomness is the retry jitter, from a
 * per-engine PRNG.
 *
 * libcurl runs in its event-driven mode (curl_multi_socket_action): it
 * tells the engine which sockets to watch and when its next timeout is
 * (on_socket, on_curl_timer), the loop watches them with epoll, and a
 * wake-up hands libcurl only the sockets that are ready. Backoffs are loop
 * timers too. So the work of a wake-up follows what happened, not how
 * many calls are in flight: nothing here walks the active or backoff
 * lists per wake-up.
 *
 * Secrets: the API key (the host's, EngineConfig.keys, else read from the
 * environment per call) goes only into the request headers, and every
 * error text passes redact_secret before it reaches a fiber. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#include "../base/util.h"
#include "../base/term.h"
#endif

#include "engine.h"
#include "caps.h"
#include "host.h"
#include "journal.h"
#include "loop.h"
#include "../vm/json.h"
#include "../vm/vm_impl.h"
#include "../vm/opcodes.h"
#include "schema.h"
#include "generate.h"
#include "../vm/trace.h"

#define CURL_DISABLE_TYPECHECK 1
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include "curl_dl.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

#define DEFAULT_CONCURRENCY ENGINE_DEFAULT_CONCURRENCY
#define DEFAULT_TIMEOUT_MS 600000
#define DEFAULT_CONNECT_MS 5000
#define DEFAULT_IDLE_MS 60000
#define DEFAULT_RETRIES 2
#define DEFAULT_REPAIRS 2
#define DEFAULT_MAX_TOKENS 4096
#define DEFAULT_MAX_REPLY ((size_t)16 << 20)
#define HEADER_VALUE_MAX 256
#define RECV_BUFFER 4096
#define PUMP_EVERY_MS 1
/* A repair quotes the bad reply and the validation error back, cut to
 * these sizes: with the prompt they bound every repair's request body,
 * however many repairs a call makes and however long the bad reply was. */
#define REPAIR_QUOTE_MAX ((size_t)16 << 10)
#define REPAIR_ERROR_MAX ((size_t)2 << 10)
/* How many queued calls waiting for reservations one admission pass looks
 * past: the calls behind them wait too, so a huge fan-out under a tight
 * budget costs each pass this much, not the length of the queue. */
#define ADMIT_LOOKAHEAD 256u

/* ---- prices ------------------------------------------------------------ */

/* USD per million tokens, matched by "provider/model" prefix (longest wins). */
typedef struct Price {
  char *prefix;
  double input, output, cache_read, cache_write;
} Price;

static const struct { const char *prefix; double in, out, cr, cw; } builtin_prices[] = {
    {"anthropic/claude-sonnet-4-5", 3.0, 15.0, 0.30, 3.75},
    {"anthropic/claude-opus-4-1", 15.0, 75.0, 1.5, 18.75},
    {"anthropic/claude-haiku-4-5", 1.0, 5.0, 0.10, 1.25},
    {"openai/gpt-4o-mini", 0.15, 0.6, 0.075, 0.0},
    {"openai/gpt-4o", 2.5, 10.0, 1.25, 0.0},
    {"mock/", 0, 0, 0, 0},
};

/* ---- calls --------------------------------------------------------------- */

typedef enum CallState { CS_QUEUED, CS_ACTIVE, CS_MOCK, CS_MOCK_WAIT, CS_BACKOFF, CS_SERVED } CallState;
typedef enum BodyMode { BODY_UNKNOWN, BODY_SSE, BODY_BUFFER } BodyMode;

typedef struct Call {
  struct Call *prev, *next;   /* in the list of its state */
  struct CallList *in;        /* that list; NULL while being settled */
  struct Engine *e;
  CallState state;
  Fiber *f;
  const RoleDesc *role;
  uint32_t td;                /* ASK_TEXT or a descriptor */
  const Provider *prov;
  char *spec;                 /* "provider/model" after remapping (messages, prices) */
  const char *model;          /* points into spec */
  char *key;                  /* API key (NULL for mock) */
  char *url;
  char *base;               /* the base URL the user set, NULL: the default */
  char *schema;               /* NULL for text */
  char *schema_name;
  bool wrapped, stream;
  ChatMsg *msgs;              /* texts malloc'd; roles static */
  uint32_t nmsgs, msgs_cap;
  int32_t max_retries, max_repairs;
  uint32_t retries, repairs, attempts;
  int64_t timeout_ms, max_tokens;
  /* the sampling settings sent: the role's, overridden by the ask's own
   * (`ask r with { … }`); `with` holds those given per call, as JSON, for
   * the journal's request and the trace (NULL: none) */
  double temperature, top_p;
  char **stop;
  uint32_t nstop;
  char *with;
  /* the admitted attempt's reservation on its budgets (vm/tasks.c
   * "budgets"): estimated input plus max_tokens output, and their price */
  bool reserved;              /* admitted and not yet settled */
  bool res_known;             /* res_* are computed for the current turns */
  int64_t res_in, res_tokens;
  double res_usd;
  LoopTimer retry_at;         /* CS_BACKOFF: when the retry is due; CS_MOCK_WAIT: when the answer arrives */
  /* a mock attempt's answer, chosen when it is sent; its text is in resp */
  MockAnswer mock;
  bool mock_chosen;
  /* the transfer of the current attempt */
  CURL *easy;
  struct curl_slist *hdrs;
  bool hdrs_shared;           /* hdrs is the engine's (first_headers), not the call's */
  char *body;
  int status;
  char *h_retry_after, *h_retry_after_ms, *h_should_retry, *h_request_id, *h_content_type;
  BodyMode mode;
  Buf resp;
  size_t received;
  bool too_big;
  bool sse_ready;
  SseParser sse;
  StreamState st;
  char errbuf[CURL_ERROR_SIZE];  /* curl's API: it writes at most this much */
  char *addr;                 /* the effect's address "PATH/ask#N" (vm/trace.h) */
  uint64_t started_ms;        /* VM ms when the ask was made (trace latency) */
  Usage usage;                /* this call's tokens over all its attempts */
  double cost;                /* and their price */
  struct Budget *budget;      /* the asking fiber's budget chain (one reference; NULL: none) */
  /* durable runs (vm/journal.h), only when the VM has an EffectLog: */
  char *request;              /* the request as JSON: role, model, prompt, schema */
  /* what the call holds outside the value heap, charged to it so that
   * --max-memory counts calls in flight (call_meter) */
  size_t msgs_bytes, schema_len, request_len, body_len;
  size_t charged;
  uint64_t req_hash;          /* fingerprint of everything that shapes the reply */
  int64_t started_at;         /* unix ms */
  const EffectRec *rec;       /* CS_SERVED: the record that answers this call */
  bool served;                /* answered from a record: not journaled again */
  /* a step of a tool-calling loop (EFFECT_STEP): the role's tools (names
   * and descriptions borrowed from the module, schemas owned), the
   * conversation as the program sent it, and how many turns are the
   * prompt and that conversation (a repair of the final answer keeps them) */
  bool step;
  ToolDef *tools;
  uint32_t ntools;
  char *turns;
  uint32_t base_msgs;
  /* the reply's label: its request's context held untrusted content (the
   * prompt or a turn of the loop), joined with a record's (never less) */
  Label label;
  /* a planner's call (EFFECT_GENERATE): its reply is a program, compiled
   * against the signature (main's parameters gen_params, its result
   * gen_result) and linked (gen_reply); system is the prompt made for it
   * (NULL: the role's own); gen_depth: how deep the asking code was
   * generated (0: the program itself) */
  bool gen;
  uint32_t gen_params, gen_result, gen_depth;
  char *system;
  char *gen_source;           /* the program linked, for the trace */
} Call;

/* The functions of a linked program and how deep it was generated. */
typedef struct GenRange { uint32_t first, end, depth; } GenRange;

typedef struct CallList {
  Call *head, *tail;
  uint32_t n;
} CallList;

struct Engine {
  VM *vm;
  EngineConfig cfg;           /* strings borrowed from the caller */
  uint32_t max_conc;
  size_t max_reply;
  CURLM *multi;               /* created on the first network call */
  Loop *loop;                 /* with it: the event loop its sockets and timers are on */
  bool loop_borrowed;         /* the host's loop (shared with capability calls): not freed here */
  LoopTimer curl_timer;       /* libcurl's one timeout (CURLMOPT_TIMERFUNCTION) */
  CURL **idle;                /* easy handles of finished transfers, for the next ones */
  uint32_t nidle, idle_cap;
  struct HeaderSet *hsets;    /* first attempts' header lists (first_headers) */
  uint32_t nhsets;
  uint64_t polled_ms;         /* VM ms of the last look at the network (poll or pump) */
  CallList queue, active, mock, backoff;
  CallList mock_wait;         /* mock attempts whose script delays their answer */
  CallList due;               /* backoffs that ended, for the front of the queue */
  CallList served;            /* answered from records at the next poll, outside admission */
  /* each loop's conversation as its last step sent it, parsed
   * (step_turns), in a slot picked by the asking fiber: a step re-sends
   * it with the new turns appended */
  struct TurnsMemo {
    char *text;
    size_t len, bytes;
    ChatMsg *msgs;
    uint32_t n, cap;
  } memo[64];
  size_t memo_bytes;
  /* the tools' parameter schemas a step offers (step_tools), by module,
   * type and dialect: the text and that text as the wire sends it */
  struct SchemaWire {
    const Module *m;
    uint32_t td;
    SchemaDialect d;
    char *schema, *wire;
  } *wires;
  uint32_t nwires;
  uint32_t in_flight;         /* active + mock + mock_wait */
  uint32_t queue_waiting;     /* queued calls the last admit left waiting for reservations */
  RunStats stats;
  uint64_t rng;
  MockScript *script;
  Price *prices;              /* from --prices */
  uint32_t nprices;
  char **unpriced;
  uint32_t nunpriced;
  uint64_t budgets_seen;      /* vm->budgets_exhausted at the last budget sweep */
  EffectLog *log;             /* the journal and records that answer asks (host_set_log); NULL: none */
  struct Host *host;          /* the host that hands this engine its asks; NULL: none */
  bool any_call;
  uint64_t first_ms, last_ms;
  /* fan-outs whose limits asked for more calls at once than max_conc
   * allows (note_capped): how many, and the one that asked the most */
  uint32_t capped, capped_asked;
  char *capped_at;
  /* calls by role and by model (engine_calls_by_json), and where the last
   * failed ask was (engine_last_failed) */
  struct Tally { char *name; uint64_t n; } *by[2];
  uint32_t nby[2];
  char *last_failed;
  GenRange *gens;             /* the programs `generate` linked, in order */
  uint32_t ngens;
};

/* ---- small helpers ------------------------------------------------------- */

/* What a planner's program is compiled under (generate.h). */
static GenRules gen_rules(const Engine *e, const Call *c) {
  GenRules r = {.limit_models = e->cfg.limit_models, .models = e->cfg.allow_models,
                .nmodels = e->cfg.nallow_models, .labelled = c->label != LABEL_NONE,
                .max_calls = e->cfg.gen_max_calls, .caps_ok = e->cfg.gen_caps_ok, .caps_ud = e->cfg.gen_caps_ud};
  return r;
}

/* The system prompt c sends. */
static const char *call_system(const Call *c) { return c->system ? c->system : c->role->system; }

static const char *buf_cstr(Buf *b) {
  buf_putc(b, '\0');
  b->len--;
  return b->data;
}

static void list_push(CallList *l, Call *c) {
  c->in = l;
  c->next = NULL;
  c->prev = l->tail;
  if (l->tail) l->tail->next = c;
  else l->head = c;
  l->tail = c;
  l->n++;
}

static void list_push_front(CallList *l, Call *c) {
  c->in = l;
  c->prev = NULL;
  c->next = l->head;
  if (l->head) l->head->prev = c;
  else l->tail = c;
  l->head = c;
  l->n++;
}

static void list_remove(CallList *l, Call *c) {
  if (c->prev) c->prev->next = c->next;
  else l->head = c->next;
  if (c->next) c->next->prev = c->prev;
  else l->tail = c->prev;
  c->prev = c->next = NULL;
  c->in = NULL;
  l->n--;
}

/* xorshift64*: only the retry jitter draws from it. */
static double rng_next01(Engine *e) {
  uint64_t x = e->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  e->rng = x;
  return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}

static double now_unix(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void call_meter(Call *c);

/* What one turn sends: its text and the calls it made (their estimate). */
static size_t msg_bytes(const ChatMsg *m) {
  size_t n = m->text ? strlen(m->text) : 0;
  for (uint32_t k = 0; k < m->ncalls; k++)
    n += strlen(m->calls[k].name) + (m->calls[k].input ? strlen(m->calls[k].input) : 2) + strlen(m->calls[k].id);
  return n;
}

/* Frees n turns and everything they own. */
static void msgs_free(ChatMsg *msgs, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    free((char *)msgs[i].text);
    ToolCall *tc = (ToolCall *)msgs[i].calls;
    for (uint32_t k = 0; k < msgs[i].ncalls; k++) {
      free(tc[k].id);
      free(tc[k].name);
      free(tc[k].input);
    }
    free(tc);
    free((char *)msgs[i].tool_id);
  }
}

/* The memo of a loop's conversation holds at most this much in all, and
 * at most an eighth of --max-memory (it is outside the value heap, so a
 * small limit keeps it small): past it a step parses its whole
 * conversation, as it would without one. */
#define TURNS_MEMO_BYTES ((size_t)16 << 20)

static size_t memo_cap(const Engine *e) {
  size_t limit = e->vm ? e->vm->heap.limit : 0;
  return limit && limit / 8 < TURNS_MEMO_BYTES ? limit / 8 : TURNS_MEMO_BYTES;
}

static void memo_clear(Engine *e, struct TurnsMemo *m) {
  msgs_free(m->msgs, m->n);
  free(m->msgs);
  free(m->text);
  e->memo_bytes -= m->bytes;
  memset(m, 0, sizeof *m);
}

static void msg_push(Call *c, const char *role, char *text) {
  c->msgs_bytes += strlen(text) + 1;
  if (c->nmsgs == c->msgs_cap) {
    uint32_t ncap = c->msgs_cap ? c->msgs_cap * 2 : 4;
    ChatMsg *m = xrealloc(c->msgs, (size_t)ncap * sizeof *m);
    c->msgs = m;
    c->msgs_cap = ncap;
  }
  c->msgs[c->nmsgs] = (ChatMsg){.role = role, .text = text};
  c->nmsgs++;
  call_meter(c);
}

/* The bytes c holds outside the value heap: its turns, schema, journal
 * request, the current attempt's body and reply buffer. */
static size_t call_footprint(const Call *c) {
  size_t n = sizeof *c + (size_t)c->msgs_cap * sizeof *c->msgs + c->msgs_bytes + c->schema_len + c->request_len +
             c->body_len + c->resp.cap;
  if (c->sse_ready) n += c->st.reply.text.cap + c->st.error.cap + c->st.reply.accum_bytes;
  return n;
}

/* Brings the heap's count of c's buffers up to date (charged when a request
 * is built or a reply grows, given back when the call ends): past
 * --max-memory the heap's over_limit makes the next allocating instruction
 * fail with the memory limit error, as for the program's own values. */
static void call_meter(Call *c) {
  if (!c->e || !c->e->vm) return;
  Heap *h = &c->e->vm->heap;
  size_t now = call_footprint(c);
  if (now > c->charged) heap_charge(h, now - c->charged);
  else heap_uncharge(h, c->charged - now);
  c->charged = now;
}

/* Replaces invalid UTF-8 in s[0..n) by U+FFFD while copying into out: a
 * text reply becomes a Weft string, and Weft strings are valid UTF-8. */
static void utf8_clean(Buf *out, const char *s, size_t n) {
  for (size_t i = 0, len; i < n; i += len ? len : 1) {
    len = utf8_seq_len(s + i, n - i);
    if (len) buf_put(out, s + i, len);
    else buf_put(out, "\xEF\xBF\xBD", 3);
  }
}

static void put_thousands(Buf *b, uint64_t v) {
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
  for (int i = 0; i < n; i++) {
    if (i && (n - i) % 3 == 0) buf_putc(b, ',');
    buf_putc(b, digits[i]);
  }
}

/* ---- configuration files --------------------------------------------------- */

static bool read_text(const char *path, Buf *out, char **err, const char *flag) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    Buf m;
    buf_init(&m);
    buf_printf(&m, "%s: cannot read '%s'", flag, path);
    *err = buf_detach(&m);
    return false;
  }
  char chunk[8192];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) {
    if (out->len + got > ((size_t)64 << 20)) {
      fclose(fp);
      Buf m;
      buf_init(&m);
      buf_printf(&m, "%s: '%s' is larger than 64 MiB", flag, path);
      *err = buf_detach(&m);
      return false;
    }
    buf_put(out, chunk, got);
  }
  bool bad = ferror(fp);
  fclose(fp);
  if (bad) {
    Buf m;
    buf_init(&m);
    buf_printf(&m, "%s: cannot read '%s'", flag, path);
    *err = buf_detach(&m);
    return false;
  }
  return true;
}

static bool num_field(ObjMap *m, const char *name, double *out) {
  Value *v = map_get_cstr(m, name, strlen(name));
  if (!v) return true;
  if (v->tag == V_INT) *out = (double)v->as.i;
  else if (v->tag == V_FLOAT) *out = v->as.f;
  else return false;
  return *out >= 0 && isfinite(*out);
}

/* --prices FILE: {"provider/model-prefix": {"input":..,"output":..,
 * "cache_read":..,"cache_write":..}, ...}; missing numbers are 0. */
static bool load_prices(Engine *e, const char *path, char **err) {
  Buf text;
  buf_init(&text);
  char *perr = NULL;
  if (!read_text(path, &text, err, "--prices")) {
    buf_free(&text);
    return false;
  }
  Heap h;
  heap_init(&h, 0);
  Value doc;
  bool ok = v_from_json(&h, text.data ? text.data : "", text.len, &doc, &perr);
  buf_free(&text);
  Buf m;
  buf_init(&m);
  if (!ok) {
    buf_printf(&m, "--prices: %s: invalid JSON: %s", path, perr);
    goto fail;
  }
  if (!v_is(doc, OBJ_MAP)) {
    buf_printf(&m, "--prices: %s must hold a JSON object {\"provider/model\": {\"input\": ..}}", path);
    v_release(&h, doc);
    goto fail;
  }
  ObjMap *map = AS_MAP(doc);
  e->prices = xcalloc(map->n ? map->n : 1, sizeof *e->prices);
  for (uint32_t i = 0; i < map->n; i++) {
    Value v = map->vals[i];
    Price p = {0};
    if (!v_is(v, OBJ_MAP) || !num_field(AS_MAP(v), "input", &p.input) ||
        !num_field(AS_MAP(v), "output", &p.output) ||
        !num_field(AS_MAP(v), "cache_read", &p.cache_read) ||
        !num_field(AS_MAP(v), "cache_write", &p.cache_write)) {
      buf_printf(&m, "--prices: %s: $.%s must be an object of non-negative numbers "
                 "(input, output, cache_read, cache_write)", path, map->keys[i]->data);
      v_release(&h, doc);
      goto fail;
    }
    p.prefix = xstrdup(map->keys[i]->data);
    e->prices[e->nprices++] = p;
  }
  v_release(&h, doc);
  free(perr);
  return true;
fail:
  free(perr);
  *err = buf_detach(&m);
  return false;
}

/* The price of spec: --prices entries first, then the built-in table;
 * the longest matching prefix wins. NULL: unpriced. */
static bool price_for(const Engine *e, const char *spec, Price *out) {
  size_t best = 0;
  bool found = false;
  for (uint32_t i = 0; i < e->nprices; i++) {
    size_t n = strlen(e->prices[i].prefix);
    if (strncmp(spec, e->prices[i].prefix, n) == 0 && (!found || n > best)) {
      *out = e->prices[i];
      best = n;
      found = true;
    }
  }
  if (found) return true;
  for (size_t i = 0; i < sizeof builtin_prices / sizeof builtin_prices[0]; i++) {
    size_t n = strlen(builtin_prices[i].prefix);
    if (strncmp(spec, builtin_prices[i].prefix, n) == 0 && (!found || n > best)) {
      out->prefix = NULL;
      out->input = builtin_prices[i].in;
      out->output = builtin_prices[i].out;
      out->cache_read = builtin_prices[i].cr;
      out->cache_write = builtin_prices[i].cw;
      best = n;
      found = true;
    }
  }
  return found;
}

/* u's price at p, in USD. */
static double usage_cost(const Price *p, const Usage *u) {
  return ((double)u->input_tokens * p->input + (double)u->output_tokens * p->output +
          (double)u->cache_read_tokens * p->cache_read + (double)u->cache_write_tokens * p->cache_write) / 1e6;
}

static int64_t tok_add(int64_t a, int64_t b) {
  if (b < 0) b = 0;
  return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t usage_total(const Usage *u) {
  return tok_add(tok_add(tok_add(u->input_tokens, u->output_tokens), u->cache_read_tokens), u->cache_write_tokens);
}

/* Notes spec among the unpriced models of the summary. */
static void note_unpriced(Engine *e, const char *spec) {
  for (uint32_t i = 0; i < e->nunpriced; i++)
    if (strcmp(e->unpriced[i], spec) == 0) return;
  char **n = xrealloc(e->unpriced, ((size_t)e->nunpriced + 1) * sizeof *n);
  e->unpriced = n;
  e->unpriced[e->nunpriced++] = xstrdup(spec);
}

/* The price of u for c's model (0 when unpriced, which is noted). */
static double call_cost(Engine *e, const Call *c, const Usage *u) {
  Price p;
  if (price_for(e, c->spec, &p)) return usage_cost(&p, u);
  note_unpriced(e, c->spec);
  return 0;
}

/* Adds what c was charged (u, cost) to the call's and the run's totals. */
static void account(Engine *e, Call *c, const Usage *u, double cost) {
  Usage *t = &e->stats.usage;
  t->input_tokens = tok_add(t->input_tokens, u->input_tokens);
  t->output_tokens = tok_add(t->output_tokens, u->output_tokens);
  t->cache_read_tokens = tok_add(t->cache_read_tokens, u->cache_read_tokens);
  t->cache_write_tokens = tok_add(t->cache_write_tokens, u->cache_write_tokens);
  e->stats.cost_usd += cost;
  c->usage.input_tokens = tok_add(c->usage.input_tokens, tok_add(u->input_tokens, tok_add(u->cache_read_tokens,
                                                                                          u->cache_write_tokens)));
  c->usage.output_tokens = tok_add(c->usage.output_tokens, u->output_tokens);
  c->cost += cost;
}

/* ---- reservations --------------------------------------------------------- */

/* c's next request: its input estimated from the text it sends (system
 * prompt, every turn, the schema) by provider_tokens_estimate, its output
 * at max_tokens, and their price. Input is priced at the dearest input
 * rate (a cache write can cost more than plain input), so what a reply
 * can be charged stays within what was reserved. */
static void call_reservation(Engine *e, Call *c) {
  if (c->res_known) return;
  c->res_known = true;
  size_t bytes = call_system(c) ? strlen(call_system(c)) : 0;
  for (uint32_t i = 0; i < c->nmsgs; i++) bytes += msg_bytes(&c->msgs[i]);
  for (uint32_t i = 0; i < c->ntools; i++) bytes += strlen(c->tools[i].schema) + strlen(c->tools[i].description);
  if (c->schema) bytes += strlen(c->schema);
  c->res_in = provider_tokens_estimate(bytes);
  c->res_tokens = tok_add(c->res_in, c->max_tokens);
  c->res_usd = 0;
  Price p;
  if (price_for(e, c->spec, &p)) {
    double in = p.input;
    if (p.cache_read > in) in = p.cache_read;
    if (p.cache_write > in) in = p.cache_write;
    c->res_usd = ((double)c->res_in * in + (double)c->max_tokens * p.output) / 1e6;
  }
}

/* Admission of c's next request under its budgets (budget_admit); with
 * commit and FITS the call holds its reservation until call_settle. */
static BudgetFit call_admit(Engine *e, Call *c, bool commit, char **why) {
  call_reservation(e, c);
  BudgetFit fit = budget_admit(e->vm, c->budget, c->res_tokens, c->res_usd, commit, why);
  if (commit && fit == BUDGET_FITS) c->reserved = true;
  return fit;
}

/* How an admitted attempt is charged when it ends. */
typedef enum Settle {
  SETTLE_NOTHING,      /* never sent, or the provider answered with an error status */
  SETTLE_USAGE,        /* a reply with a valid usage report: that usage */
  SETTLE_RESERVATION,  /* anything else after sending: no report, nonsense usage,
                          a broken or cancelled transfer: the whole reservation */
} Settle;

/* Ends c's admitted attempt: releases its reservation and charges its
 * budgets, the call and the run (u: the report, for SETTLE_USAGE). */
static void call_settle(Engine *e, Call *c, Settle how, const Usage *u) {
  if (!c->reserved) return;
  c->reserved = false;
  Usage charged;
  memset(&charged, 0, sizeof charged);
  double cost = 0;
  if (how == SETTLE_USAGE && u) {
    charged = *u;
    cost = call_cost(e, c, &charged);
  } else if (how == SETTLE_RESERVATION) {
    charged.input_tokens = c->res_in;
    charged.output_tokens = c->max_tokens;
    cost = c->res_usd;
  }
  budget_settle(e->vm, c->budget, c->res_tokens, c->res_usd, usage_total(&charged), cost);
  account(e, c, &charged, cost);
  e->queue_waiting = 0; /* room was given back: look at the queue again */
}

/* ---- the engine ---------------------------------------------------------- */

static char *effective_spec(const Engine *e, const RoleDesc *r);

/* The program has a `budget { usd: … }` block somewhere (a BUDGET
 * instruction with the usd limit): the bytecode says so before it runs. */
static bool module_limits_usd(const Module *m) {
  for (uint32_t f = 0; f < m->nfuncs; f++) {
    const FuncProto *fp = &m->funcs[f];
    for (uint32_t pc = 0; pc < fp->code_len;) {
      uint8_t op = fp->code[pc];
      if (op >= OP__COUNT || !op_info[op].size || op_info[op].size > fp->code_len - pc) break;
      if (op == OP_BUDGET && (op_decode(fp->code + pc).a & BUDGET_USD)) return true;
      pc += op_info[op].size;
    }
  }
  return false;
}

/* Under a dollar budget an unpriced model would cost $0 and never end it:
 * every role's model (after --model and --provider; the checker knows
 * them all) must have a price before anything is sent. */
static bool check_prices(Engine *e, char **err) {
  const char *what = NULL;
  if (budget_limits_usd(e->vm->budget)) what = "--budget-usd limits dollars";
  else if (module_limits_usd(e->vm->mod)) what = "the program's budget { usd: ... } limits dollars";
  if (!what) return true;
  const Module *m = e->vm->mod;
  for (uint32_t i = 0; i < m->nroles; i++) {
    char *spec = effective_spec(e, &m->roles[i]);
    Price p;
    if (!price_for(e, spec, &p)) {
      Buf b;
      buf_init(&b);
      buf_printf(&b, "role %s: model %s has no price and %s: give its price with --prices FILE "
                 "(USD per million tokens, docs/cli.md)", m->roles[i].name, spec, what);
      *err = buf_detach(&b);
      free(spec);
      return false;
    }
    free(spec);
  }
  return true;
}

/* Under an allowlist (--models, --untrusted) every role's model, after
 * --provider, is one the operator allows; a role the operator gave a model
 * with --model calls what was named. Checked for every role before
 * anything runs, as `weft check --untrusted` does (E0621). */
static bool check_models(Engine *e, char **err) {
  if (!e->cfg.limit_models) return true;
  const Module *m = e->vm->mod;
  for (uint32_t i = 0; i < m->nroles; i++) {
    const RoleDesc *r = &m->roles[i];
    bool named = false;
    for (uint32_t k = 0; k < e->cfg.noverrides; k++)
      named |= e->cfg.overrides[k].role && strcmp(e->cfg.overrides[k].role, r->name) == 0;
    char *spec = effective_spec(e, r);
    if (!named && !model_allowed(spec, e->cfg.allow_models, e->cfg.nallow_models)) {
      Buf b;
      buf_init(&b);
      buf_printf(&b, "role %s: model %s is not allowed (allowed: mock/*", r->name, spec);
      for (uint32_t k = 0; k < e->cfg.nallow_models && b.len < 300; k++)
        buf_printf(&b, ", %s", e->cfg.allow_models[k]);
      buf_printf(&b, "%s); allow it with --models PROVIDER/MODEL, or give the role a model with --model %s=...",
                 b.len >= 300 ? ", ..." : "", r->name);
      *err = buf_detach(&b);
      free(spec);
      return false;
    }
    free(spec);
  }
  return true;
}

Engine *engine_new(VM *vm, const EngineConfig *cfg, char **err) {
  *err = NULL;
  Engine *e = xcalloc(1, sizeof *e);
  e->vm = vm;
  if (cfg) e->cfg = *cfg;
  else {
    e->cfg.retries = -1;
    e->cfg.repairs = -1;
  }
  e->max_conc = e->cfg.max_concurrency ? e->cfg.max_concurrency : DEFAULT_CONCURRENCY;
  e->max_reply = e->cfg.max_reply_bytes ? e->cfg.max_reply_bytes : DEFAULT_MAX_REPLY;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  e->rng = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)e;
  if (!e->rng) e->rng = 0x9E3779B97F4A7C15ULL;
  if (e->cfg.mock_script) {
    e->script = mock_script_load(e->cfg.mock_script, err);
    if (!e->script) {
      engine_free(e);
      return NULL;
    }
    mock_script_set_strict(e->script, e->cfg.mock_strict);
  }
  if (e->cfg.prices_file && !load_prices(e, e->cfg.prices_file, err)) {
    engine_free(e);
    return NULL;
  }
  if (vm->mod && (!check_models(e, err) || !check_prices(e, err))) {
    engine_free(e);
    return NULL;
  }
  return e;
}

void engine_set_log(Engine *e, EffectLog *log) { e->log = log; }

void engine_set_host(Engine *e, struct Host *h) { e->host = h; }

/* An easy handle is kept for the next transfer rather than freed: making
 * one costs libcurl a large zeroed allocation and its receive buffer, and
 * the options that never change stay set (easy_new). The pool never
 * holds more than were in flight at once. */
static void easy_park(Engine *e, CURL *h) {
  if (e->nidle == e->idle_cap) {
    e->idle_cap = e->idle_cap ? e->idle_cap * 2 : 16;
    e->idle = xrealloc(e->idle, (size_t)e->idle_cap * sizeof *e->idle);
  }
  /* nothing of the finished call may stay reachable from the handle */
  curl_easy_setopt(h, CURLOPT_PRIVATE, NULL);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
  e->idle[e->nidle++] = h;
}

static void header_sets_free(Engine *e);

static void transfer_release(Engine *e, Call *c) {
  if (c->easy) {
    /* out of the multi handle (a handle never added, or already out, is
     * fine too), the handle can carry the next transfer; if libcurl
     * refuses, curl_easy_cleanup detaches it itself, so the transfer ends
     * either way */
    if (!e->multi || curl_multi_remove_handle(e->multi, c->easy) == CURLM_OK) easy_park(e, c->easy);
    else curl_easy_cleanup(c->easy);
    c->easy = NULL;
  }
  if (c->hdrs && !c->hdrs_shared) curl_slist_free_all(c->hdrs); /* libcurl may never have been loaded */
  c->hdrs = NULL;
  c->hdrs_shared = false;
  free(c->body);
  c->body = NULL;
  c->body_len = 0;
  free(c->h_retry_after);
  free(c->h_retry_after_ms);
  free(c->h_should_retry);
  free(c->h_request_id);
  free(c->h_content_type);
  c->h_retry_after = c->h_retry_after_ms = c->h_should_retry = c->h_request_id = c->h_content_type = NULL;
  buf_free(&c->resp);
  if (c->sse_ready) {
    sse_free(&c->sse);
    reply_free(&c->st.reply);
    buf_free(&c->st.error);
    c->sse_ready = false;
  }
  c->status = 0;
  c->mode = BODY_UNKNOWN;
  c->received = 0;
  c->too_big = false;
  c->errbuf[0] = '\0';
  c->mock_chosen = false;
  call_meter(c);
}

static void call_free(Engine *e, Call *c) {
  if (c->f && c->f->call == c) c->f->call = NULL; /* engine_free with fibers still parked */
  if (e->loop) loop_timer_stop(e->loop, &c->retry_at);
  transfer_release(e, c);
  if (e->vm) heap_uncharge(&e->vm->heap, c->charged);   /* everything the call held */
  c->charged = 0;
  free(c->spec);
  if (c->key) {
    memset(c->key, 0, strlen(c->key));
    free(c->key);
  }
  free(c->url);
  free(c->base);
  free(c->schema);
  free(c->schema_name);
  free(c->addr);
  free(c->request);
  for (uint32_t i = 0; i < c->nstop; i++) free(c->stop[i]);
  free(c->stop);
  free(c->with);
  budget_release(e->vm, c->budget);
  msgs_free(c->msgs, c->nmsgs);
  free(c->msgs);
  for (uint32_t i = 0; i < c->ntools; i++) free((char *)c->tools[i].schema);
  free(c->tools);
  free(c->turns);
  free(c->system);
  free(c->gen_source);
  free(c);
}

static void list_free_all(Engine *e, CallList *l) {
  while (l->head) {
    Call *c = l->head;
    list_remove(l, c);
    call_free(e, c);
  }
}

void engine_free(Engine *e) {
  if (!e) return;
  list_free_all(e, &e->queue);
  list_free_all(e, &e->active);
  list_free_all(e, &e->mock);
  list_free_all(e, &e->mock_wait);
  list_free_all(e, &e->backoff);
  list_free_all(e, &e->due);
  list_free_all(e, &e->served);
  for (uint32_t i = 0; i < e->nidle; i++) curl_easy_cleanup(e->idle[i]);
  free(e->idle);
  header_sets_free(e);
  if (e->multi) {
    /* closing the cached connections still tells on_socket: the loop
     * goes after the multi handle */
    if (curl_multi_cleanup(e->multi) != CURLM_OK) {
      /* every easy handle was removed above and the run is over: nothing
       * is left to fail or free */
    }
    e->multi = NULL;
    curl_global_cleanup();
  }
  if (e->loop_borrowed) loop_timer_stop(e->loop, &e->curl_timer);
  else loop_free(e->loop);
  mock_script_free(e->script);
  free(e->gens);
  for (uint32_t i = 0; i < e->nprices; i++) free(e->prices[i].prefix);
  free(e->prices);
  for (uint32_t i = 0; i < e->nunpriced; i++) free(e->unpriced[i]);
  free(e->unpriced);
  free(e->capped_at);
  for (size_t i = 0; i < sizeof e->memo / sizeof e->memo[0]; i++) memo_clear(e, &e->memo[i]);
  for (uint32_t i = 0; i < e->nwires; i++) {
    free(e->wires[i].schema);
    free(e->wires[i].wire);
  }
  free(e->wires);
  for (int k = 0; k < 2; k++) {
    for (uint32_t i = 0; i < e->nby[k]; i++) free(e->by[k][i].name);
    free(e->by[k]);
  }
  free(e->last_failed);
  host_engine_gone(e->host);
  free(e);
}

const RunStats *engine_stats(const Engine *e) { return &e->stats; }

static void tally(Engine *e, int by, const char *name) {
  for (uint32_t i = 0; i < e->nby[by]; i++)
    if (strcmp(e->by[by][i].name, name) == 0) {
      e->by[by][i].n++;
      return;
    }
  e->by[by] = xrealloc(e->by[by], ((size_t)e->nby[by] + 1) * sizeof *e->by[by]);
  e->by[by][e->nby[by]].name = xstrdup(name);
  e->by[by][e->nby[by]++].n = 1;
}

void engine_calls_by_json(const Engine *e, int by, Buf *out) {
  buf_putc(out, '{');
  for (uint32_t i = 0; e && i < e->nby[by]; i++) {
    if (i) buf_putc(out, ',');
    buf_json_string(out, e->by[by][i].name, strlen(e->by[by][i].name));
    buf_printf(out, ":%" PRIu64, e->by[by][i].n);
  }
  buf_putc(out, '}');
}

const char *engine_last_failed(const Engine *e) { return e ? e->last_failed : NULL; }

bool engine_busy(const Engine *e) {
  return e->queue.n || e->active.n || e->mock.n || e->mock_wait.n || e->backoff.n || e->due.n || e->served.n;
}

/* A queued call may be admitted now: a slot is free and not every queued
 * call is waiting for reservations to settle. */
static bool admissible(const Engine *e) {
  return e->queue.n > e->queue_waiting && e->in_flight < e->max_conc;
}

/* libcurl's timeout and the backoffs are the loop's timers: the earliest
 * is the top of a heap, not a walk over the calls. */
int64_t engine_next_deadline(const Engine *e) {
  if (e->mock.n || e->served.n || e->due.n || admissible(e)) return 0;
  return e->loop ? loop_next_timer(e->loop) : -1;
}

/* ---- finishing a call -------------------------------------------------------- */

/* "ask reviewer (anthropic/claude-sonnet-4-5): " */
static void msg_head(Buf *b, const Call *c) {
  buf_printf(b, "ask %s (%s): ", c->role->name, c->spec);
}

/* The trace's ask event, when the call ends: v (borrowed) is the reply on
 * success, error the (already redacted) message on failure. */
static void trace_ask(Engine *e, const Call *c, const char *status, const Value *v, const char *error) {
  Trace *t = e->vm->trace;
  if (!trace_begin(t, c->gen ? "generate" : c->step ? "step" : "ask", c->addr)) return;
  trace_cstr(t, "role", c->role ? c->role->name : "?");
  trace_cstr(t, "model", c->spec);
  if (c->nmsgs) trace_cstr(t, "prompt", c->msgs[0].text);
  if (c->step) trace_cstr(t, "turns", c->turns);
  if (c->gen_source) trace_cstr(t, "program", c->gen_source);
  else if (v) trace_value(t, "reply", *v);
  if (error) trace_cstr(t, "error", error);
  if (c->with) trace_cstr(t, "with", c->with);
  trace_int(t, "input_tokens", (int64_t)c->usage.input_tokens);
  trace_int(t, "output_tokens", (int64_t)c->usage.output_tokens);
  trace_int(t, "latency_ms", (int64_t)(vm_now_ms(e->vm) - c->started_ms));
  trace_int(t, "attempts", c->attempts);
  trace_int(t, "retries", c->retries);
  trace_int(t, "repairs", c->repairs);
  trace_cstr(t, "status", status);
  if (c->served) trace_cstr(t, "from", "journal");
  trace_end(t);
}

/* ---- the journal ------------------------------------------------------------ */

/* c's request as JSON and its fingerprint: the model after remapping, the
 * role's system prompt and sampling settings, the prompt and the schema.
 * Retries, timeouts and keys do not shape a reply and are left out. */
static void call_request(Call *c) {
  const RoleDesc *r = c->role;
  const char *prompt = c->msgs[0].text;
  Buf b;
  buf_init(&b);
  buf_puts(&b, "{\"role\":");
  buf_json_string(&b, r->name, strlen(r->name));
  buf_puts(&b, ",\"model\":");
  buf_json_string(&b, c->spec, strlen(c->spec));
  buf_puts(&b, ",\"prompt\":");
  buf_json_string(&b, prompt, strlen(prompt));
  if (c->schema) {
    buf_puts(&b, ",\"schema\":");
    buf_puts(&b, c->schema);
  }
  if (c->with) {
    buf_puts(&b, ",\"with\":");
    buf_puts(&b, c->with);
  }
  if (c->step) {
    buf_puts(&b, ",\"turns\":");
    buf_puts(&b, c->turns);
    buf_puts(&b, ",\"tools\":[");
    for (uint32_t i = 0; i < c->ntools; i++) {
      buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
      buf_json_string(&b, c->tools[i].name, strlen(c->tools[i].name));
      buf_puts(&b, ",\"description\":");
      buf_json_string(&b, c->tools[i].description, strlen(c->tools[i].description));
      buf_puts(&b, ",\"schema\":");
      buf_puts(&b, c->tools[i].schema);
      buf_putc(&b, '}');
    }
    buf_putc(&b, ']');
  }
  buf_putc(&b, '}');
  uint64_t h = 0xcbf29ce484222325ULL;
  /* a step's fingerprint covers every turn and every tool: the request
   * JSON holds them all, so it is hashed whole */
  if (c->step) h = fnv1a64(h, b.data, b.len);
  h = fnv1a64(h, c->spec, strlen(c->spec) + 1);
  const char *sys = call_system(c);
  h = fnv1a64(h, sys ? sys : "", sys ? strlen(sys) + 1 : 1);
  h = fnv1a64(h, &c->temperature, sizeof c->temperature);
  h = fnv1a64(h, &c->top_p, sizeof c->top_p);
  h = fnv1a64(h, &c->max_tokens, sizeof c->max_tokens);
  for (uint32_t i = 0; i < c->nstop; i++) h = fnv1a64(h, c->stop[i], strlen(c->stop[i]) + 1);
  h = fnv1a64(h, prompt, strlen(prompt) + 1);
  h = fnv1a64(h, c->schema ? c->schema : "", c->schema ? strlen(c->schema) : 0);
  c->request = buf_detach(&b);
  c->request_len = strlen(c->request) + 1;
  c->req_hash = h;
  call_meter(c);
}

/* Writes c's outcome to the journal (and the --record set): ok with the
 * reply text as the model sent it, or failed with message and kind. A
 * call answered from a record is already there. */
static void call_record(Engine *e, Call *c, bool ok, const char *text, size_t len, const char *error,
                        const char *kind) {
  EffectLog *log = e->log;
  if (!log || !c->request || (c->served && log->serve_journaled && !log->collect)) return;
  EffectRec r;
  memset(&r, 0, sizeof r);
  r.addr = c->addr;
  r.kind = (char *)(c->gen ? "generate" : c->step ? "step" : "ask");
  r.request = c->request;
  r.req_hash = c->req_hash;
  r.ok = ok;
  r.response = ok ? xstrndup(text, len) : NULL;
  r.error = ok ? NULL : (char *)error;
  r.error_kind = ok ? NULL : (char *)kind;
  r.label = ok && c->label ? (char *)vm_label_what(e->vm, c->label) : NULL;
  r.attempts = c->attempts;
  r.retries = c->retries;
  r.repairs = c->repairs;
  r.input_tokens = c->usage.input_tokens;
  r.output_tokens = c->usage.output_tokens;
  r.cost_usd = c->cost;
  r.started_at = c->started_at;
  r.ended_at = unix_now_ms();
  if (log->journal && !(c->served && log->serve_journaled)) {
    journal_effect_put(log->journal, log->run, &r);
    log->dirty = true;
  }
  if (log->collect) {
    EffectRec copy = effect_rec_dup(&r);
    records_put(log->collect, &copy);
  }
  free(r.response);
}

/* An ask counts as a call of the run once a request of it was admitted
 * (or a record answered it): one its budget refused before any request
 * was never a model call, so the summary and the budgets agree. */
static bool call_counts(const Call *c) {
  return c->attempts > 0 || c->served;
}

static void call_done(Engine *e, Call *c) {
  /* every path settles before it ends a call; should one not, the budget
   * keeps the charge rather than a reservation nothing will release */
  call_settle(e, c, SETTLE_RESERVATION, NULL);
  if (call_counts(c)) {
    e->stats.calls++;
    if (c->gen) {
      e->stats.gen_calls++;
      e->stats.gen_tokens = tok_add(e->stats.gen_tokens, usage_total(&c->usage));
      e->stats.gen_cost_usd += c->cost;
    }
    tally(e, 0, c->role->name);
    tally(e, 1, c->spec);
  }
  e->vm->asks_ended++;
  e->last_ms = vm_now_ms(e->vm);
  call_free(e, c);
}

/* The fiber forgets its call before it resumes or fails: a failed fiber
 * may be freed at once (a fan-out branch), and nothing may cancel a call
 * that is being finished. A call whose fiber was cancelled meanwhile
 * (c->f NULL) just ends. */
static void call_succeed(Engine *e, Call *c, Value v) {
  /* a reply's text carries its context's label (a step's too: its text is
   * parsed again by the program, tool arguments and a typed answer alike);
   * a typed reply was labelled before its conversion (validate), which
   * keeps what a closed type does not clear */
  if (c->label && (c->step || c->td == ASK_TEXT) && v.tag == V_OBJ && v.as.o->kind == OBJ_STRING) v = v_with_label(&e->vm->heap, v, c->label);
  trace_ask(e, c, "ok", &v, NULL);
  /* provenance for `verify`: only a fresh heap reply (rc 1) is marked, so
   * a shared object can never carry another call's role */
  const Module *pm = e->vm->mod;
  if (v.tag == V_OBJ && v.as.o->rc == 1 && v.as.o->kind <= OBJ_RECORD && pm &&
      c->role >= pm->roles && c->role < pm->roles + pm->nroles &&
      c->role - pm->roles < UINT16_MAX)
    v.as.o->prov = (uint16_t)(c->role - pm->roles + 1);
  if (c->f) {
    c->f->call = NULL;
    vm_wake(e->vm, c->f, v);
    c->f = NULL;
  } else {
    v_release(&e->vm->heap, v);
  }
  call_done(e, c);
}

/* Fails c's fiber with the message in m (consumed); the key is redacted
 * first, whatever produced the text. */
static void call_fail_kind(Engine *e, Call *c, const char *kind, Buf *m) {
  if (c->key) redact_secret(m, c->key);
  if (call_counts(c) && strcmp(kind, "cancelled") != 0) e->stats.failed++; /* a plan not approved did not fail */
  if (c->addr) {
    free(e->last_failed);
    e->last_failed = xstrdup(c->addr);
  }
  /* a budget's refusal is the run's own decision, made again on resume */
  if (strcmp(kind, "budget") != 0) call_record(e, c, false, NULL, 0, buf_cstr(m), kind);
  trace_ask(e, c, "failed", NULL, buf_cstr(m));
  if (c->f) {
    c->f->call = NULL;
    /* a reply that failed its checks may be quoted in the message: a model
     * that read untrusted content labels it as it would its reply */
    vm_fail_parked_label(e->vm, c->f, kind, buf_cstr(m), c->addr, c->label); /* may free the fiber, or resume it in a try */
    c->f = NULL;
  }
  buf_free(m);
  call_done(e, c);
}

static void call_fail(Engine *e, Call *c, Buf *m) {
  call_fail_kind(e, c, "error", m);
}

/* Fails the calls of l (a local list) with kind "budget": what each
 * call's exhausted budget says, or why. Failing a fiber may cancel other
 * calls of l (engine_cancel takes them out), hence the local list. */
static void fail_budget_list(Engine *e, CallList *l, const char *why) {
  Call *c;
  while ((c = l->head) != NULL) {
    list_remove(l, c);
    budget_mark_refused(c->budget);
    Buf m;
    buf_init(&m);
    const char *spent = budget_spent(c->budget);
    buf_puts(&m, spent ? spent : why);
    call_fail_kind(e, c, "budget", &m);
  }
}

/* After a budget was exhausted: every call under it not admitted yet
 * (queued, backing off before a retry, or about to be answered from a
 * record) fails with kind "budget": an exhausted budget admits nothing
 * more. Calls admitted before go on: their worst case is reserved, so they
 * cannot overrun. Only a time limit that ran out also stops the calls in
 * flight under it (transfers aborted and charged their reservations: the
 * provider may have done the work). Runs only between completions, never
 * while a list is walked. */
static void budget_sweep(Engine *e) {
  if (e->budgets_seen == e->vm->budgets_exhausted) return;
  e->budgets_seen = e->vm->budgets_exhausted;
  e->queue_waiting = 0;
  CallList doomed = {NULL, NULL, 0};
  CallList *lists[7] = {&e->queue, &e->backoff, &e->due, &e->served, &e->active, &e->mock, &e->mock_wait};
  for (int i = 0; i < 7; i++) {
    bool admitted = lists[i] == &e->active || lists[i] == &e->mock || lists[i] == &e->mock_wait;
    for (Call *c = lists[i]->head, *next; c; c = next) {
      next = c->next;
      if (!budget_spent(c->budget)) continue;
      if (admitted && !budget_time_spent(e->vm, c->budget)) continue;
      list_remove(lists[i], c);
      if (admitted) e->in_flight--;
      call_settle(e, c, SETTLE_RESERVATION, NULL);
      transfer_release(e, c);
      list_push(&doomed, c);
    }
  }
  fail_budget_list(e, &doomed, "budget exhausted");
}

static void fail_attempts(Buf *m, const Call *c) {
  if (c->attempts > 1) buf_printf(m, " (after %u attempts)", c->attempts);
}

/* Checks reply text against the call's type: JSON, unwrapped, converted.
 * On failure err holds the reason (a path-qualified message). */
static bool validate(Engine *e, Call *c, const char *text, size_t len, Value *out, Buf *err) {
  Heap *h = &e->vm->heap;
  size_t i = 0;
  while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) i++;
  if (i == len) {
    buf_puts(err, "the reply was empty");
    return false;
  }
  Value doc;
  char *perr = NULL;
  if (!v_from_json(h, text, len, &doc, &perr)) {
    buf_printf(err, "the reply is not JSON: %s", perr);
    free(perr);
    return false;
  }
  if (c->label) v_label_deep(doc, c->label);
  Value inner = doc;
  if (c->wrapped) {
    Value *p = v_is(doc, OBJ_MAP) ? map_get_cstr(AS_MAP(doc), "value", 5) : NULL;
    if (!p) {
      /* servers that ignore the schema (some local ones) send the bare
       * value: take it when it fits, else ask for the wrapper */
      bool ok = v_convert(h, e->vm->mod, c->td, doc, out, NULL);
      if (!ok) buf_puts(err, "$: expected an object {\"value\": ...}");
      v_release(h, doc);
      return ok;
    }
    inner = *p;
  }
  char *why = NULL;
  bool ok = v_convert(h, e->vm->mod, c->td, inner, out, &why);
  if (!ok) buf_puts(err, why);
  free(why);
  v_release(h, doc);
  return ok;
}


/* ---- steps of a tool-calling loop ----------------------------------------
 * A step is an ask whose conversation continues (the turns the loop sent)
 * and which offers the role's tools. Its answer goes back to the program
 * as JSON text, {"text": T, "calls": [{id, name, input, args, error}]}:
 * the loop (compiler/desugar.c) runs the calls and sends their results
 * in the next step, or, with no calls, takes text as its answer (already
 * checked against the ask's type here, with repairs, as an ask's reply).
 * Each call is checked here, where the tools' types are known: a call of
 * a tool the role does not list, arguments that are not a JSON object,
 * too long, missing, unknown or of the wrong type get `error` set (the
 * loop answers the model with it, and the model may repair the call);
 * otherwise `args` holds each parameter's JSON in declaration order. */

#define TOOL_INPUT_MAX ((size_t)1 << 20)
/* Calls one step may make: the loop runs them as one fan-out, so a reply
 * of thousands of calls must not become thousands of fibers' work. The
 * calls past it are each answered with an error. */
#define TOOL_CALLS_MAX 64u

static const RoleTool *role_tool(const RoleDesc *r, const char *name) {
  for (uint32_t i = 0; i < r->ntools; i++)
    if (strcmp(r->tools[i].name, name) == 0) return &r->tools[i];
  return NULL;
}

/* Checks one call's arguments against its tool; args (a JSON array text)
 * or err (a message for the model) is filled. */
static void step_call_args(Engine *e, Call *c, const ToolCall *tc, Buf *args, Buf *err) {
  const Module *m = e->vm->mod;
  Heap *h = &e->vm->heap;
  const RoleTool *t = tc->name ? role_tool(c->role, tc->name) : NULL;
  if (!t) {
    buf_puts(err, "there is no tool ");
    const char *nm = tc->name ? tc->name : "";
    provider_put_clean(err, nm, strlen(nm), 80);
    buf_puts(err, "; the tools are ");
    for (uint32_t i = 0; i < c->role->ntools; i++) buf_printf(err, "%s%s", i ? ", " : "", c->role->tools[i].name);
    return;
  }
  if (!tc->input && tc->raw) {
    /* the provider's arguments were not a JSON object (runtime/provider.h) */
    buf_printf(err, "the arguments of %s must be a JSON object, not ", t->name);
    provider_put_clean(err, tc->raw, strlen(tc->raw), 80);
    return;
  }
  const char *in = tc->input && tc->input[0] ? tc->input : "{}";
  size_t n = strlen(in);
  if (n > TOOL_INPUT_MAX) {
    buf_printf(err, "the arguments of %s are %zu bytes, more than the %zu a tool call may have", t->name, n,
               TOOL_INPUT_MAX);
    return;
  }
  Value doc;
  char *perr = NULL;
  if (!v_from_json(h, in, n, &doc, &perr)) {
    buf_printf(err, "the arguments of %s are not JSON: %s", t->name, perr ? perr : "?");
    free(perr);
    return;
  }
  const TypeDesc *rec = &m->types[t->params];
  if (!v_is(doc, OBJ_MAP)) {
    buf_printf(err, "the arguments of %s must be a JSON object", t->name);
    v_release(h, doc);
    return;
  }
  ObjMap *obj = AS_MAP(doc);
  for (uint32_t k = 0; k < obj->n; k++) {
    bool known = false;
    for (uint32_t i = 0; i < rec->n && !known; i++) {
      const ObjString *fn = AS_STRING(m->consts[rec->fields[i].name]);
      known = fn->len == obj->keys[k]->len && memcmp(fn->data, obj->keys[k]->data, fn->len) == 0;
    }
    if (!known) {
      buf_printf(err, "%s has no parameter ", t->name);
      provider_put_clean(err, obj->keys[k]->data, obj->keys[k]->len, 80);
      v_release(h, doc);
      return;
    }
  }
  buf_putc(args, '[');
  for (uint32_t i = 0; i < rec->n; i++) {
    const ObjString *fn = AS_STRING(m->consts[rec->fields[i].name]);
    uint32_t ft = rec->fields[i].type;
    Value *v = map_get_cstr(obj, fn->data, fn->len);
    Value none = v_none(), conv;
    char *why = NULL;
    if (!v_convert(h, m, ft, v ? *v : none, &conv, &why)) {
      if (!v) buf_printf(err, "%s needs the argument %s", t->name, fn->data);
      else buf_printf(err, "argument %s of %s: %s", fn->data, t->name, why ? why : "does not fit its type");
      free(why);
      v_release(h, doc);
      return;
    }
    free(why);
    if (i) buf_putc(args, ',');
    Buf one;
    buf_init(&one);
    if (!v_to_json(&one, conv, NULL)) buf_puts(&one, "null");
    buf_json_string(args, one.data ? one.data : "", one.len);
    buf_free(&one);
    v_release(h, conv);
  }
  buf_putc(args, ']');
  v_release(h, doc);
}

/* The step's answer as the program reads it (see above). */
static void step_answer(Engine *e, Call *c, const char *text, size_t len, const ToolCall *calls, uint32_t n,
                        Buf *out) {
  Buf clean;
  buf_init(&clean);
  utf8_clean(&clean, text, len);
  buf_puts(out, "{\"text\":");
  buf_json_string(out, clean.data ? clean.data : "", clean.len);
  buf_free(&clean);
  buf_puts(out, ",\"calls\":[");
  for (uint32_t i = 0; i < n; i++) {
    const ToolCall *tc = &calls[i];
    Buf args, err, id;
    buf_init(&args);
    buf_init(&err);
    buf_init(&id);
    if (i < TOOL_CALLS_MAX) step_call_args(e, c, tc, &args, &err);
    else buf_printf(&err, "one step may make at most %u tool calls; call again in the next step", TOOL_CALLS_MAX);
    /* an id the provider did not give: one the loop can echo back */
    if (tc->id && tc->id[0]) utf8_clean(&id, tc->id, strlen(tc->id));
    else buf_printf(&id, "call_%u", i + 1);
    const char *nm = tc->name ? tc->name : "";
    const char *in = tc->input && tc->input[0] ? tc->input : "{}";
    Buf cn, ci;
    buf_init(&cn);
    buf_init(&ci);
    utf8_clean(&cn, nm, strlen(nm));
    utf8_clean(&ci, in, strlen(in));
    buf_puts(out, i ? ",{\"id\":" : "{\"id\":");
    buf_json_string(out, id.data ? id.data : "", id.len);
    buf_puts(out, ",\"name\":");
    buf_json_string(out, cn.data ? cn.data : "", cn.len);
    buf_puts(out, ",\"input\":");
    buf_json_string(out, ci.data ? ci.data : "", ci.len);
    buf_puts(out, ",\"args\":");
    buf_puts(out, err.len ? "[]" : args.data);
    buf_puts(out, ",\"error\":");
    buf_json_string(out, err.data ? err.data : "", err.len);
    buf_putc(out, '}');
    buf_free(&cn);
    buf_free(&ci);
    buf_free(&args);
    buf_free(&err);
    buf_free(&id);
  }
  buf_puts(out, "]}");
}

/* A deep copy of a turn of the loop (role is one of the static names);
 * *bytes grows by what the copy holds, as step_turns counts it. */
static ChatMsg msg_dup(const ChatMsg *m, size_t *bytes) {
  ChatMsg d = {.role = m->role, .is_error = m->is_error};
  d.text = m->text ? xstrdup(m->text) : NULL;
  d.tool_id = m->tool_id ? xstrdup(m->tool_id) : NULL;
  *bytes += (m->text ? strlen(m->text) : 0) + 1;
  if (m->ncalls) {
    ToolCall *tc = xcalloc(m->ncalls, sizeof *tc);
    for (uint32_t k = 0; k < m->ncalls; k++) {
      tc[k].id = xstrdup(m->calls[k].id);
      tc[k].name = xstrdup(m->calls[k].name);
      tc[k].input = xstrdup(m->calls[k].input);
      *bytes += strlen(tc[k].id) + strlen(tc[k].name) + strlen(tc[k].input) + 3;
    }
    d.calls = tc;
    d.ncalls = m->ncalls;
  }
  return d;
}

/* Appends the turns of a parsed conversation (a cJSON array) to c. */
static bool turns_push(Call *c, const cJSON *doc) {
  bool ok = cJSON_IsArray(doc);
  const cJSON *t;
  const cJSON *list = ok ? doc : NULL;
  cJSON_ArrayForEach(t, list) {
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(t, "role");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(t, "text");
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(t, "calls");
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(t, "tool_id");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(t, "is_error");
    if (!cJSON_IsString(role) || !cJSON_IsString(text)) { ok = false; break; }
    const char *r = strcmp(role->valuestring, "assistant") == 0 ? "assistant"
                    : strcmp(role->valuestring, "tool") == 0    ? "tool"
                    : strcmp(role->valuestring, "user") == 0    ? "user"
                                                                : NULL;
    if (!r) { ok = false; break; }
    bool assistant = r[0] == 'a';
    msg_push(c, r, xstrdup(assistant && !text->valuestring[0] && cJSON_GetArraySize(calls) ? "" : text->valuestring));
    ChatMsg *m = &c->msgs[c->nmsgs - 1];
    if (assistant && !text->valuestring[0]) {
      free((char *)m->text);
      m->text = NULL;
    }
    if (r[0] == 't') {
      m->tool_id = xstrdup(cJSON_IsString(tid) ? tid->valuestring : "");
      m->is_error = cJSON_IsTrue(err);
    }
    int nc = cJSON_IsArray(calls) ? cJSON_GetArraySize(calls) : 0;
    if (!assistant || nc <= 0) continue;
    ToolCall *tc = xcalloc((size_t)nc, sizeof *tc);
    uint32_t k = 0;
    const cJSON *cl;
    cJSON_ArrayForEach(cl, calls) {
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(cl, "id");
      const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cl, "name");
      const cJSON *in = cJSON_GetObjectItemCaseSensitive(cl, "input");
      tc[k].id = xstrdup(cJSON_IsString(id) ? id->valuestring : "");
      tc[k].name = xstrdup(cJSON_IsString(nm) ? nm->valuestring : "");
      tc[k].input = xstrdup(cJSON_IsString(in) ? in->valuestring : "{}");
      c->msgs_bytes += strlen(tc[k].id) + strlen(tc[k].name) + strlen(tc[k].input) + 3;
      k++;
    }
    m->calls = tc;
    m->ncalls = k;
  }
  return ok;
}

/* The conversation the loop sent (a JSON array of turns {role, text,
 * calls, tool_id, is_error}, written by the lowering) after the prompt.
 * False with *why on anything else.
 * Each step of a loop sends the text of the step before with its new
 * turns appended (the lowering renders the list of turns whole), so the
 * turns the memo holds for the asking fiber are copied and only the rest
 * is parsed. The memo is checked against the text itself, never trusted
 * by key: a valid "[A]" leaves the parser inside the list after A, so
 * "[A,B]" is A's turns then those of "[B]", and any other text is parsed
 * whole. */
static bool step_turns(Engine *e, Call *c, const char *json, size_t len, const char **why) {
  *why = "the conversation is not a list of turns";
  /* fibers are allocated alike: the pointer's low bits alone would crowd
   * them into a few slots */
  uint64_t h = (uint64_t)(uintptr_t)c->f * 0x9E3779B97F4A7C15ULL;
  struct TurnsMemo *m = &e->memo[(h >> 40) % (sizeof e->memo / sizeof e->memo[0])];
  uint32_t first = c->nmsgs;
  size_t first_bytes = c->msgs_bytes;
  bool hit = m->text && m->n && len > m->len && memcmp(json, m->text, m->len - 1) == 0 && json[m->len - 1] == ',';
  bool ok = false;
  if (hit) {
    for (uint32_t i = 0; i < m->n; i++) {
      if (c->nmsgs == c->msgs_cap) {
        c->msgs_cap = c->msgs_cap ? c->msgs_cap * 2 : 4;
        c->msgs = xrealloc(c->msgs, (size_t)c->msgs_cap * sizeof *c->msgs);
      }
      c->msgs[c->nmsgs++] = msg_dup(&m->msgs[i], &c->msgs_bytes);
    }
    call_meter(c);
    size_t rest = len - m->len;
    char *tail = xmalloc(rest + 2);
    tail[0] = '[';
    memcpy(tail + 1, json + m->len, rest);
    tail[rest + 1] = '\0';
    cJSON *doc = provider_json_parse(tail, rest + 1);
    ok = turns_push(c, doc);
    cJSON_Delete(doc);
    free(tail);
    if (!ok) {
      /* not the memo's text and more: parsed whole below */
      msgs_free(c->msgs + first, c->nmsgs - first);
      c->nmsgs = first;
      c->msgs_bytes = first_bytes;
      hit = false;
    }
  }
  if (!ok) {
    cJSON *doc = provider_json_parse(json, len);
    ok = turns_push(c, doc);
    cJSON_Delete(doc);
  }
  call_meter(c);
  if (!ok) return false;
  /* remember this text for the next step, within the memo's bound */
  uint32_t n = c->nmsgs - first;
  size_t bytes = len + 1 + (size_t)n * sizeof(ChatMsg) + (c->msgs_bytes - first_bytes);
  size_t cap = memo_cap(e);
  if (!hit || e->memo_bytes - m->bytes + bytes > cap) {
    memo_clear(e, m);
    if (!n || e->memo_bytes + bytes > cap) return true;
  }
  size_t unused = 0;
  if (n > m->cap) {
    m->cap = n > m->cap * 2 ? n : m->cap * 2;
    m->msgs = xrealloc(m->msgs, (size_t)m->cap * sizeof *m->msgs);
  }
  for (uint32_t i = m->n; i < n; i++) m->msgs[i] = msg_dup(&c->msgs[first + i], &unused);
  m->n = n;
  free(m->text);
  m->text = xstrndup(json, len);
  m->len = len;
  e->memo_bytes += bytes - m->bytes;
  m->bytes = bytes;
  return true;
}

/* How many tool schemas the engine keeps: a program has few tools; past
 * this a step builds its schemas itself. */
#define SCHEMA_WIRES_MAX 64

/* The JSON Schema of type td of m in dialect d, and (in *wire, NULL when
 * not known) that text as provider_put_tools sends it, compacted. Every
 * step of every loop offers the same few schemas, and building, checking
 * and compacting them was most of a step's own work besides its turns:
 * the engine keeps them for the run (its module outlives it). NULL with
 * *why when the type has no schema; the caller owns the text. */
static char *tool_schema(Engine *e, const Module *m, uint32_t td, SchemaDialect d, const char **wire,
                         const char **why) {
  *wire = NULL;
  for (uint32_t i = 0; i < e->nwires; i++) {
    const struct SchemaWire *w = &e->wires[i];
    if (w->m == m && w->td == td && w->d == d) {
      *wire = w->wire;
      return xstrdup(w->schema);
    }
  }
  *why = schema_check(m, td, d);
  bool wrapped = false;
  char *sch = *why ? NULL : schema_json(m, td, d, &wrapped);
  if (!sch || e->nwires >= SCHEMA_WIRES_MAX) return sch;
  char *compact = provider_compact_json(sch);
  if (!compact) return sch;
  e->wires = xrealloc(e->wires, ((size_t)e->nwires + 1) * sizeof *e->wires);
  e->wires[e->nwires++] = (struct SchemaWire){m, td, d, xstrdup(sch), compact};
  *wire = compact;
  return sch;
}

/* The tools a step offers: each with the JSON Schema of its parameters in
 * the provider's dialect. False with a message in b when one has none. */
static bool step_tools(Call *c, const Module *m, SchemaDialect d, Buf *b) {
  const RoleDesc *r = c->role;
  c->tools = xcalloc(r->ntools, sizeof *c->tools);
  for (uint32_t i = 0; i < r->ntools; i++) {
    const RoleTool *t = &r->tools[i];
    const char *why = NULL, *wire = NULL;
    char *sch = tool_schema(c->e, m, t->params, d, &wire, &why);
    if (!sch) {
      buf_printf(b, "ask %s (%s): tool %s has no JSON schema: %s", r->name, c->spec, t->name, why ? why : "?");
      return false;
    }
    c->tools[c->ntools++] = (ToolDef){t->name, t->doc, sch, wire};
    c->schema_len += strlen(sch) + 1;
  }
  call_meter(c);
  return true;
}

/* Queues c again (front of the queue) for a retry or a repair. */
static void requeue_front(Engine *e, Call *c) {
  transfer_release(e, c);
  c->state = CS_QUEUED;
  list_push_front(&e->queue, c);
}

/* Appends at most max bytes of s[0..n) as valid UTF-8, saying how much
 * was left out: the repair turn quotes an untrusted reply. */
static void put_quote(Buf *out, const char *s, size_t n, size_t max) {
  if (n <= max) {
    utf8_clean(out, s, n);
    return;
  }
  size_t cut = max;
  while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--; /* a character boundary */
  utf8_clean(out, s, cut);
  buf_printf(out, "\n[... %zu more bytes not shown]", n - cut);
}

/* A planner's reply (c->gen): the program in it compiled against the
 * signature (generate.h); a program that does not compile is repaired
 * from its diagnostics like a reply that does not fit a type; one that
 * does is put in the canonical layout, journaled as the call's reply,
 * shown for approval (weft do) and linked: the fiber resumes with its
 * main as a function value. A record answers with the program as it was
 * journaled, compiled again (never asked again, never approved again). */
static void gen_reply(Engine *e, Call *c, const char *text, size_t len) {
  VM *vm = e->vm;
  GenSig sig = {vm->mod, c->gen_params, c->gen_result};
  GenRules rules = gen_rules(e, c);
  Buf src, why, m;
  buf_init(&src);
  buf_init(&why);
  buf_init(&m);
  Heap heap;
  heap_init(&heap, 0);
  if (c->served) buf_put(&src, text, len);
  else gen_extract(&src, text, len);
  Module *mod = NULL;
  if (!c->served && src.len <= GEN_MAX_SOURCE) {
    /* What runs is what is journaled, and what `weft save` writes: the
     * canonical layout, compiled once. The reply as written is compiled
     * only when that fails, for diagnostics whose lines are the planner's
     * own (or, should the layout not compile, to run the reply as is).
     * Compiling is mostly the prelude's fixed cost, so a second compile
     * on every success doubled the cost of a small program (bench/README.md,
     * "Generated programs"). */
    Buf norm, nwhy;
    buf_init(&norm);
    buf_init(&nwhy);
    gen_normalize(&norm, buf_cstr(&src), src.len, c->role->name, c->addr, c->msgs[0].text);
    mod = gen_compile(buf_cstr(&norm), norm.len, c->addr, &sig, &rules, &heap, &nwhy);
    if (mod) {
      buf_free(&src);
      src = norm;
    } else {
      buf_free(&norm);
    }
    buf_free(&nwhy);
  }
  if (!mod) mod = gen_compile(buf_cstr(&src), src.len, c->addr, &sig, &rules, &heap, &why);
  if (!mod && c->served) {
    buf_printf(&m, "generate by %s at %s: the program recorded in %s does not compile any more: ", c->role->name,
               c->addr, e->log && e->log->serve_name ? e->log->serve_name : "the journal");
    put_quote(&m, buf_cstr(&why), why.len, REPAIR_ERROR_MAX);
    goto fail;
  }
  if (!mod && c->repairs < (uint32_t)c->max_repairs) {
    c->repairs++;
    e->stats.repairs++;
    while (c->nmsgs > 1) free((char *)c->msgs[--c->nmsgs].text);
    c->res_known = false;
    Buf q;
    buf_init(&q);
    put_quote(&q, text, len, GEN_MAX_SOURCE);
    msg_push(c, "assistant", buf_detach(&q));
    Buf turn;
    buf_init(&turn);
    buf_puts(&turn, "The program does not compile. The compiler says:\n");
    put_quote(&turn, buf_cstr(&why), why.len, REPAIR_ERROR_MAX);
    buf_puts(&turn, "\nReply with the whole corrected program in one ```weft block.");
    msg_push(c, "user", buf_detach(&turn));
    buf_free(&src);
    buf_free(&why);
    buf_free(&m);
    requeue_front(e, c);
    return;
  }
  if (!mod) {
    buf_printf(&m, "generate by %s: no program that compiles after %u attempt%s; the last: ", c->role->name,
               c->repairs + 1, c->repairs ? "s" : "");
    put_quote(&m, buf_cstr(&why), why.len, REPAIR_ERROR_MAX);
    goto fail;
  }
  if (!c->served && e->cfg.gen_approve) {
    char *no = NULL;
    if (!e->cfg.gen_approve(e->cfg.gen_approve_ud, c->addr, buf_cstr(&src), &no)) {
      module_free(mod);
      buf_puts(&m, no ? no : "the program was not approved");
      free(no);
      buf_free(&src);
      buf_free(&why);
      call_fail_kind(e, c, "cancelled", &m);
      return;
    }
  }
  /* journaled once approved: a resume after a crash while the person
   * read the plan asks again rather than run what nobody approved */
  if (!c->served) call_record(e, c, true, src.data, src.len, NULL, NULL);
  {
    Value fn;
    uint32_t first = 0;
    char *err = NULL;
    bool linked = vm_link_function(vm, mod, &fn, &first, &err);
    module_free(mod);
    if (!linked) {
      buf_printf(&m, "generate by %s at %s: the program cannot be linked: %s", c->role->name, c->addr,
                 err ? err : "?");
      free(err);
      buf_free(&src);
      buf_free(&why);
      call_fail(e, c, &m);
      return;
    }
    e->gens = xrealloc(e->gens, (e->ngens + 1) * sizeof *e->gens);
    e->gens[e->ngens++] = (GenRange){first, vm->mod->nfuncs, c->gen_depth + 1};
    /* a planner that read untrusted text wrote code that may not act,
     * however it reaches a capability (docs/security.md) */
    vm_mark_functions(vm, first, vm->mod->nfuncs, FN_GENERATED | (c->label ? FN_RESTRICTED : 0));
    c->gen_source = buf_detach(&src);
    buf_free(&why);
    buf_free(&m);
    call_succeed(e, c, fn);
    return;
  }
fail:
  if (mod) module_free(mod);
  buf_free(&src);
  buf_free(&why);
  call_fail(e, c, &m);
}

/* A complete reply (2xx, or a mock answer): resume, repair or fail. Its
 * attempt is charged first: the reported usage when the reply has a valid
 * report, else the attempt's whole reservation (a reply must not be free
 * because it says nothing, or a negative or absurd count). A call
 * answered from a record was charged by serve_record. */
static void handle_reply(Engine *e, Call *c, ProviderReply *r) {
  if (!c->served) call_settle(e, c, reply_usage_ok(r) ? SETTLE_USAGE : SETTLE_RESERVATION, &r->usage);
  Buf m;
  buf_init(&m);
  if (r->refusal) {
    msg_head(&m, c);
    buf_puts(&m, "the model refused: ");
    if (r->refusal_text && r->refusal_text[0]) buf_puts(&m, r->refusal_text);
    else buf_printf(&m, "stop reason %s", r->stop_reason ? r->stop_reason : "refusal");
    call_fail(e, c, &m);
    return;
  }
  const char *text = r->text.data ? r->text.data : "";
  size_t len = r->text.len;
  if (c->gen) {
    gen_reply(e, c, text, len);
    return;
  }
  if (c->step && (c->served || r->ncalls)) {
    /* a record holds the step's answer as the program received it; a
     * reply with tool calls is the next turn, whatever its text */
    Buf out;
    buf_init(&out);
    if (c->served) buf_put(&out, text, len);
    else step_answer(e, c, text, len, r->calls, r->ncalls, &out);
    Value v = v_string(&e->vm->heap, out.data ? out.data : "", out.len);
    call_record(e, c, true, out.data ? out.data : "", out.len, NULL, NULL);
    buf_free(&out);
    call_succeed(e, c, v);
    return;
  }
  if (c->td == ASK_TEXT) {
    Buf clean;
    buf_init(&clean);
    utf8_clean(&clean, text, len);
    if (c->step) { /* the loop's answer, as a step's JSON */
      Buf out;
      buf_init(&out);
      step_answer(e, c, clean.data ? clean.data : "", clean.len, NULL, 0, &out);
      buf_free(&clean);
      clean = out;
    }
    Value v = v_string(&e->vm->heap, clean.data ? clean.data : "", clean.len);
    call_record(e, c, true, clean.data ? clean.data : "", clean.len, NULL, NULL);
    buf_free(&clean);
    call_succeed(e, c, v);
    return;
  }
  Value v;
  Buf verr;
  buf_init(&verr);
  if (validate(e, c, text, len, &v, &verr)) {
    buf_free(&verr);
    if (c->step) { /* the typed answer, as JSON the program converts again */
      Buf js, out;
      buf_init(&js);
      buf_init(&out);
      if (!v_to_json(&js, v, NULL)) buf_puts(&js, "null");
      v_release(&e->vm->heap, v);
      step_answer(e, c, js.data ? js.data : "", js.len, NULL, 0, &out);
      buf_free(&js);
      v = v_string(&e->vm->heap, out.data ? out.data : "", out.len);
      call_record(e, c, true, out.data ? out.data : "", out.len, NULL, NULL);
      buf_free(&out);
      call_succeed(e, c, v);
      return;
    }
    call_record(e, c, true, text, len, NULL, NULL);
    call_succeed(e, c, v);
    return;
  }
  if (c->served) { /* a record that no longer fits the type */
    buf_printf(&m, "ask %s at %s: the reply recorded in %s does not match ", c->role->name, c->addr,
               e->log->serve_name ? e->log->serve_name : "the journal");
    type_desc_print(&m, e->vm->mod, c->td);
    buf_printf(&m, ": %s", buf_cstr(&verr));
    buf_free(&verr);
    call_fail(e, c, &m);
    return;
  }
  if (c->repairs < (uint32_t)c->max_repairs) {
    c->repairs++;
    e->stats.repairs++;
    /* The conversation stays the prompt, the LAST bad reply and its
     * error, each quote cut: earlier attempts add nothing the model needs,
     * and a request body must not grow with every repair. */
    while (c->nmsgs > (c->step ? c->base_msgs : 1)) free((char *)c->msgs[--c->nmsgs].text);
    c->res_known = false; /* new turns: a new reservation */
    Buf clean;
    buf_init(&clean);
    put_quote(&clean, text, len, REPAIR_QUOTE_MAX);
    msg_push(c, "assistant", buf_detach(&clean));
    Buf turn;
    buf_init(&turn);
    buf_puts(&turn, "Your reply did not match the required JSON schema: ");
    put_quote(&turn, buf_cstr(&verr), verr.len, REPAIR_ERROR_MAX);
    buf_puts(&turn, ". Reply again with only JSON that matches the schema.");
    msg_push(c, "user", buf_detach(&turn));
    buf_free(&verr);
    requeue_front(e, c);
    return;
  }
  buf_printf(&m, "ask %s: reply does not match ", c->role->name);
  type_desc_print(&m, e->vm->mod, c->td);
  buf_printf(&m, " after %u attempt%s: %s", c->repairs + 1, c->repairs ? "s" : "", buf_cstr(&verr));
  buf_free(&verr);
  call_fail(e, c, &m);
}

/* A call's timer (a loop timer). A retry's backoff ended: the call joins
 * the ones that go to the front of the queue at the next admission, in
 * the order their backoffs ended. A delayed mock answer arrived: it is
 * handed over at this poll, as a reply that came in. */
static void on_call_due(void *ud) {
  Call *c = ud;
  Engine *e = c->e;
  if (c->in == &e->mock_wait) {
    list_remove(&e->mock_wait, c);
    c->state = CS_MOCK;
    list_push(&e->mock, c);
    return;
  }
  if (c->in != &e->backoff) return;
  list_remove(&e->backoff, c);
  c->state = CS_QUEUED;
  list_push(&e->due, c);
}

static bool ensure_loop(Engine *e, Buf *err);

/* Schedules a transport retry after the SDK backoff (retry_after_s < 0:
 * none given). */
static void schedule_retry(Engine *e, Call *c, double retry_after_s) {
  double d = retry_delay(c->retries, retry_after_s, rng_next01(e));
  if (!(d >= 0)) d = 0;
  if (d > 3600) d = 3600;
  c->retries++;
  e->stats.retries++;
  transfer_release(e, c);
  c->state = CS_BACKOFF;
  list_push(&e->backoff, c);
  Buf err;
  buf_init(&err);
  if (!ensure_loop(e, &err)) { /* a mock run that cannot make timers: due at once */
    buf_free(&err);
    on_call_due(c);
    return;
  }
  loop_timer_set(e->loop, &c->retry_at, (int64_t)(d * 1000.0));
}

/* An attempt that got no reply (c already off its list, settled): the
 * transfer failed before or while sending (why), or its time ran out
 * (kind "timeout"). Retried while retries remain, else c fails with kind
 * ("error" or "timeout"). */
static void transport_failed(Engine *e, Call *c, const char *why, const char *kind) {
  if (c->retries < (uint32_t)c->max_retries) {
    schedule_retry(e, c, -1);
    return;
  }
  Buf m;
  buf_init(&m);
  msg_head(&m, c);
  buf_puts(&m, why);
  fail_attempts(&m, c);
  call_fail_kind(e, c, kind, &m);
}

/* The provider answered c's attempt with an error status (c off its list,
 * settled; the body in c->resp). Retried by the SDKs' rules (retry_should:
 * the status, x-should-retry, a retry-after too long to wait) while
 * retries remain, after the retry-after (ra, seconds; < 0: none) or the
 * backoff; else c fails with the provider's message. The one place a
 * status is classified: real transfers and mock failures both end here. */
static void status_failed(Engine *e, Call *c, int status, const char *should_retry, double ra) {
  if (c->retries < (uint32_t)c->max_retries && retry_should(status, should_retry, ra)) {
    schedule_retry(e, c, ra);
    return;
  }
  Buf pm, m;
  buf_init(&pm);
  buf_init(&m);
  if (c->prov->error_message) c->prov->error_message(status, c->resp.data ? c->resp.data : "", c->resp.len, &pm);
  else utf8_clean(&pm, c->resp.data ? c->resp.data : "", c->resp.len); /* the mock's own text */
  msg_head(&m, c);
  const char *pt = pm.len ? buf_cstr(&pm) : "";
  if (strncmp(pt, "HTTP ", 5) == 0) buf_puts(&m, pt); /* the provider's fallback names the status */
  else if (pm.len) buf_printf(&m, "HTTP %d: %s", status, pt);
  else buf_printf(&m, "HTTP %d", status);
  buf_free(&pm);
  fail_attempts(&m, c);
  call_fail(e, c, &m);
}

static void fmt_size(Buf *b, size_t n) {
  if (n % ((size_t)1 << 20) == 0) buf_printf(b, "%zu MiB", n >> 20);
  else if (n % 1024 == 0) buf_printf(b, "%zu KiB", n >> 10);
  else buf_printf(b, "%zu bytes", n);
}

/* Whether any byte of c's request left the process (libcurl counts the
 * request's header bytes as it sends them). */
static bool request_sent(const Call *c) {
  long n = 0;
  return curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &n) != CURLE_OK || n > 0;
}

/* A finished transfer (c already off the active list, slot released).
 * Before it is retried, repaired, resumed or failed, the attempt is
 * settled: an error status releases the reservation (providers do not
 * bill an error), a reply is charged in handle_reply, and anything else
 * that went wrong after the request left (a reset, a timeout, a broken or
 * oversized 2xx) is charged the whole reservation. */
static void finish_transfer(Engine *e, Call *c, CURLcode res) {
  long code = 0;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
  if (code > 0 && code < 1000) c->status = (int)code;
  int status = c->status;
  bool ok2xx = status >= 200 && status < 300;
  Buf m;
  buf_init(&m);
  if (c->too_big) {
    call_settle(e, c, SETTLE_RESERVATION, NULL);
    msg_head(&m, c);
    buf_puts(&m, "reply larger than ");
    fmt_size(&m, e->max_reply);
    call_fail(e, c, &m);
    return;
  }
  if (ok2xx && c->mode == BODY_SSE) {
    if (c->st.failed) {
      call_settle(e, c, SETTLE_RESERVATION, NULL);
      msg_head(&m, c);
      buf_printf(&m, "the reply stream reported an error (not retried): %s",
                 c->st.error.len ? buf_cstr(&c->st.error) : "unknown error");
      call_fail(e, c, &m);
    } else if (!c->st.done) {
      call_settle(e, c, SETTLE_RESERVATION, NULL);
      msg_head(&m, c);
      buf_puts(&m, "the reply stream ended before the reply was complete (not retried)");
      if (res != CURLE_OK) buf_printf(&m, ": %s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(res));
      call_fail(e, c, &m);
    } else {
      ProviderReply r = c->st.reply;
      memset(&c->st.reply, 0, sizeof c->st.reply);
      handle_reply(e, c, &r);
      reply_free(&r);
    }
    return;
  }
  if (res != CURLE_OK) {
    const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(res);
    bool billed = ok2xx || (status < 300 && request_sent(c));
    call_settle(e, c, billed ? SETTLE_RESERVATION : SETTLE_NOTHING, NULL);
    if (ok2xx) {
      msg_head(&m, c);
      buf_printf(&m, "the connection failed while reading the reply (not retried): %s", why);
      call_fail(e, c, &m);
    } else {
      buf_free(&m);
      transport_failed(e, c, why, res == CURLE_OPERATION_TIMEDOUT ? "timeout" : "error");
    }
    return;
  }
  if (ok2xx) {
    ProviderReply r;
    memset(&r, 0, sizeof r);
    char *perr = NULL;
    if (!c->prov->parse_reply(c->resp.data ? c->resp.data : "", c->resp.len, &r, &perr)) {
      call_settle(e, c, SETTLE_RESERVATION, NULL);
      msg_head(&m, c);
      buf_printf(&m, "HTTP %d with an invalid reply: %s", status, perr && *perr ? perr : "unreadable body");
      free(perr);
      reply_free(&r);
      call_fail(e, c, &m);
      return;
    }
    handle_reply(e, c, &r);
    reply_free(&r);
    return;
  }
  call_settle(e, c, SETTLE_NOTHING, NULL);
  buf_free(&m);
  status_failed(e, c, status, c->h_should_retry,
                retry_after_parse(c->h_retry_after_ms, c->h_retry_after, now_unix()));
}

/* ---- curl callbacks -------------------------------------------------------- */

static bool header_is(const char *p, size_t n, const char *name) {
  size_t k = strlen(name);
  return n == k && strncasecmp(p, name, k) == 0;
}

static void header_keep(char **slot, const char *v, size_t n) {
  free(*slot);
  *slot = xstrndup(v, n > HEADER_VALUE_MAX ? HEADER_VALUE_MAX : n);
}

static size_t on_header(char *p, size_t size, size_t nitems, void *ud) {
  Call *c = ud;
  size_t len = size * nitems;
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    /* a new response (after 100 Continue or a proxy's): forget the last */
    free(c->h_retry_after);
    free(c->h_retry_after_ms);
    free(c->h_should_retry);
    free(c->h_request_id);
    free(c->h_content_type);
    c->h_retry_after = c->h_retry_after_ms = c->h_should_retry = c->h_request_id = c->h_content_type = NULL;
    size_t i = 5;
    while (i < len && p[i] != ' ') i++;
    while (i < len && p[i] == ' ') i++;
    int st = 0;
    for (int k = 0; k < 3 && i < len && p[i] >= '0' && p[i] <= '9'; k++, i++) st = st * 10 + (p[i] - '0');
    c->status = st;
    return len;
  }
  const char *colon = memchr(p, ':', len);
  if (!colon) return len;
  size_t nlen = (size_t)(colon - p);
  const char *v = colon + 1, *end = p + len;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
  size_t vlen = (size_t)(end - v);
  if (header_is(p, nlen, "retry-after")) header_keep(&c->h_retry_after, v, vlen);
  else if (header_is(p, nlen, "retry-after-ms")) header_keep(&c->h_retry_after_ms, v, vlen);
  else if (header_is(p, nlen, "x-should-retry")) header_keep(&c->h_should_retry, v, vlen);
  else if (header_is(p, nlen, "request-id") || header_is(p, nlen, "x-request-id")) header_keep(&c->h_request_id, v, vlen);
  else if (header_is(p, nlen, "content-type")) header_keep(&c->h_content_type, v, vlen);
  return len;
}

static bool on_sse_event(void *ctx, const char *event, const char *data, size_t len) {
  Call *c = ctx;
  return c->prov->stream_event(&c->st, event, data, len);
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud) {
  Call *c = ud;
  size_t len = size * nmemb;
  if (c->received + len > c->e->max_reply) {
    c->too_big = true;
    return 0; /* aborts the transfer */
  }
  c->received += len;
  if (c->mode == BODY_UNKNOWN) {
    bool sse = c->status >= 200 && c->status < 300 && c->h_content_type &&
               strncasecmp(c->h_content_type, "text/event-stream", 17) == 0;
    c->mode = sse ? BODY_SSE : BODY_BUFFER;
    if (sse) {
      sse_init(&c->sse);
      memset(&c->st, 0, sizeof c->st);
      buf_init(&c->st.reply.text);
      buf_init(&c->st.error);
      c->sse_ready = true;
    }
  }
  if (c->mode == BODY_BUFFER) {
    size_t cap = c->resp.cap;
    buf_put(&c->resp, p, len);
    if (c->resp.cap != cap) call_meter(c);
    return len;
  }
  if (c->st.done || c->st.failed) return c->st.failed ? 0 : len; /* rest of the stream is ignored */
  if (!sse_feed(&c->sse, p, len, on_sse_event, c)) {
    if (c->sse.overflow) {
      c->too_big = true;
      return 0;
    }
    if (c->st.failed) return 0; /* a mid-stream error: stop reading */
  }
  return len;
}

/* ---- libcurl on the event loop ------------------------------------------------ */

static bool multi_ok(Engine *e, CURLMcode mc, const char *fn);

/* A socket of libcurl's is ready: libcurl works on that socket alone. */
static void on_ready(void *ud, int fd, unsigned events) {
  Engine *e = ud;
  int mask = (events & LOOP_IN ? CURL_CSELECT_IN : 0) | (events & LOOP_OUT ? CURL_CSELECT_OUT : 0) |
             (events & LOOP_ERR ? CURL_CSELECT_ERR : 0);
  int running = 0;
  multi_ok(e, curl_multi_socket_action(e->multi, fd, mask, &running), "curl_multi_socket_action");
}

/* libcurl's timeout ran out (also how a transfer just added starts). */
static void on_curl_due(void *ud) {
  Engine *e = ud;
  int running = 0;
  multi_ok(e, curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running), "curl_multi_socket_action");
}

/* CURLMOPT_SOCKETFUNCTION: what libcurl wants to hear about a socket. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *ud, void *sockp) {
  (void)easy;
  (void)sockp;
  Engine *e = ud;
  if (what == CURL_POLL_REMOVE) {
    loop_unwatch(e->loop, (int)s);
    return 0;
  }
  unsigned ev = (what & CURL_POLL_IN ? LOOP_IN : 0u) | (what & CURL_POLL_OUT ? LOOP_OUT : 0u);
  /* a socket epoll refuses fails its transfer (libcurl aborts it) */
  return loop_watch(e->loop, (int)s, ev, on_ready, e) ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: libcurl's single timeout, as a loop timer
 * (never acted on here: libcurl may not be re-entered from this call). */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *ud) {
  (void)multi;
  Engine *e = ud;
  if (timeout_ms < 0) loop_timer_stop(e->loop, &e->curl_timer);
  else loop_timer_set(e->loop, &e->curl_timer, timeout_ms);
  return 0;
}

/* ---- starting attempts -------------------------------------------------------- */

/* The event loop, made by the first call that needs a timer or a socket
 * (a mock run without delays or retries never makes one). */
static bool ensure_loop(Engine *e, Buf *err) {
  if (e->loop) return true;
  char *lerr = NULL;
  /* the host's loop when there is a host: processes and transfers of
   * capability calls wait in the same epoll as the model calls */
  e->loop = e->host ? host_loop(e->host, &lerr) : loop_new(&lerr);
  e->loop_borrowed = e->loop && e->host;
  if (!e->loop) {
    buf_puts(err, lerr);
    free(lerr);
    return false;
  }
  loop_timer_init(&e->curl_timer, on_curl_due, e);
  return true;
}

static bool ensure_multi(Engine *e, Buf *err) {
  if (e->multi) return true;
  char *why = NULL;
  if (!curl_dl_load(&why)) {
    buf_puts(err, why);
    free(why);
    return false;
  }
  if (!ensure_loop(e, err)) return false;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return false;
  e->multi = curl_multi_init();
  if (!e->multi) {
    curl_global_cleanup();
    return false;
  }
  if (curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
      curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e) != CURLM_OK ||
      curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
      curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e) != CURLM_OK) {
    buf_puts(err, "libcurl refuses the event-loop callbacks");
    curl_multi_cleanup(e->multi);
    e->multi = NULL;
    curl_global_cleanup();
    return false;
  }
  if (curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK) {
    /* a libcurl that cannot multiplex: each call gets its own connection,
     * which is slower but just as correct */
  }
  return true;
}

/* The header lines of c's attempt as libcurl's list. */
static struct curl_slist *header_list(const Call *c) {
  struct curl_slist *l = NULL;
  char **hs = c->prov->build_headers(c->key, c->retries);
  for (char **h = hs; h && *h; h++) l = curl_slist_append(l, *h);
  provider_headers_free(hs);
  l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
  if (c->stream) l = curl_slist_append(l, "accept: text/event-stream");
  return l;
}

/* A first attempt's headers are the same for every call with the same
 * provider, key and streaming (a retry's count the attempt): built once
 * and shared, not a dozen allocations per call. A handful of sets at
 * most; past that a call builds its own. */
#define HEADER_SETS_MAX 8
typedef struct HeaderSet {
  const Provider *prov;
  char *key;
  bool stream;
  struct curl_slist *list;
} HeaderSet;

static struct curl_slist *first_headers(Engine *e, const Call *c) {
  const char *key = c->key ? c->key : "";
  for (uint32_t i = 0; i < e->nhsets; i++) {
    HeaderSet *s = &e->hsets[i];
    if (s->prov == c->prov && s->stream == c->stream && strcmp(s->key, key) == 0) return s->list;
  }
  if (e->nhsets == HEADER_SETS_MAX) return NULL;
  struct curl_slist *l = header_list(c);
  if (!l) return NULL;
  e->hsets = xrealloc(e->hsets, ((size_t)e->nhsets + 1) * sizeof *e->hsets);
  e->hsets[e->nhsets++] = (HeaderSet){c->prov, xstrdup(key), c->stream, l};
  return l;
}

/* The key is wiped before the memory goes back, as a call's own is. */
static void header_sets_free(Engine *e) {
  for (uint32_t i = 0; i < e->nhsets; i++) {
    HeaderSet *s = &e->hsets[i];
    for (struct curl_slist *l = s->list; l; l = l->next)
      if (l->data) memset(l->data, 0, strlen(l->data));
    curl_slist_free_all(s->list);
    memset(s->key, 0, strlen(s->key));
    free(s->key);
  }
  free(e->hsets);
  e->hsets = NULL;
  e->nhsets = 0;
}

/* A new easy handle with the options every transfer shares. */
static CURL *easy_new(Engine *e) {
  CURL *h = curl_easy_init();
  if (!h) return NULL;
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* a key goes only to its own base URL */
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(h, CURLOPT_USERAGENT, "weft/" PACKAGE_VERSION);
  int64_t cto = e->cfg.connect_timeout_ms > 0 ? e->cfg.connect_timeout_ms : DEFAULT_CONNECT_MS;
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cto);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  /* libcurl's default receive buffer is 16 KiB per transfer, held while
   * it is in flight: with a thousand in flight that alone is 16 MB. Replies
   * are mostly a few KiB; a large one just takes more reads. */
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER);
  return h;
}

/* Starts the HTTP request of c's next attempt. false + message in err. */
static bool start_network(Engine *e, Call *c, Buf *err) {
  if (!ensure_multi(e, err)) {
    if (!err->len) buf_puts(err, "cannot start libcurl");
    return false;
  }
  ProviderRequest req;
  memset(&req, 0, sizeof req);
  req.model = c->model;
  req.system = call_system(c);
  req.msgs = c->msgs;
  req.nmsgs = c->nmsgs;
  req.temperature = c->temperature;
  req.top_p = c->top_p;
  req.max_tokens = c->max_tokens;
  req.stop = (const char *const *)c->stop;
  req.nstop = c->nstop;
  req.schema = c->schema;
  req.schema_name = c->schema_name;
  req.tools = c->tools;
  req.ntools = c->ntools;
  req.stream = c->stream;
  req.base = c->base;
  c->body = c->prov->build_body(&req);
  if (!c->body) {
    buf_puts(err, "cannot build the request body (invalid schema)");
    return false;
  }
  c->body_len = strlen(c->body) + 1;
  call_meter(c);
  c->hdrs = c->retries == 0 ? first_headers(e, c) : NULL;
  c->hdrs_shared = c->hdrs != NULL;
  if (!c->hdrs) c->hdrs = header_list(c);
  CURL *h = e->nidle ? e->idle[--e->nidle] : easy_new(e);
  if (!h) {
    buf_puts(err, "cannot create a transfer");
    return false;
  }
  c->easy = h;
  c->errbuf[0] = '\0';
  /* every option a call sets is set on every attempt: a handle from the
   * pool carries the last call's */
  curl_easy_setopt(h, CURLOPT_URL, c->url);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(c->body));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdrs);
  /* Waiting to multiplex pays only on HTTP/2 (https): on plain http one
   * transfer of a burst would wait out another's whole reply. */
  curl_easy_setopt(h, CURLOPT_PIPEWAIT, strncmp(c->url, "https://", 8) == 0 ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
  long idle_secs = 0;
  if (c->stream) {
    int64_t idle = e->cfg.idle_timeout_ms > 0 ? e->cfg.idle_timeout_ms : DEFAULT_IDLE_MS;
    idle_secs = (long)((idle + 999) / 1000);
    if (idle_secs < 1) idle_secs = 1;
  }
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, c->stream ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, idle_secs);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
  curl_easy_setopt(h, CURLOPT_PRIVATE, c);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
  CURLMcode mc = curl_multi_add_handle(e->multi, h);
  if (mc != CURLM_OK) {
    buf_printf(err, "cannot start the transfer (curl_multi_add_handle: %s)", curl_multi_strerror(mc));
    return false;
  }
  return true;
}

/* Admits queued calls while slots are free, in queue order: each starts
 * an attempt, which its budgets admit first (every attempt counts: the
 * first, each retry, each repair). A call its budgets refuse fails with
 * kind "budget"; one that must wait for calls in flight to settle keeps
 * its place and the calls behind it go on. The transfer is prepared
 * before the budgets commit, so a call that fails to start is never
 * charged. */
static void admit(Engine *e) {
  for (;;) {
    CallList refused = {NULL, NULL, 0};
    uint32_t waiting = 0;
    bool again = false;
    for (Call *c = e->queue.head, *next; c && e->in_flight < e->max_conc; c = next) {
      next = c->next;
      char *why = NULL;
      BudgetFit fit = call_admit(e, c, false, &why);
      free(why);
      if (fit == BUDGET_WAIT) {
        if (++waiting >= ADMIT_LOOKAHEAD) {
          waiting = e->queue.n; /* the rest counts as waiting too */
          break;
        }
        continue;
      }
      list_remove(&e->queue, c);
      if (fit == BUDGET_REFUSED) {
        list_push(&refused, c);
        continue;
      }
      if (!c->prov->in_process) {
        Buf err;
        buf_init(&err);
        if (!start_network(e, c, &err)) {
          Buf m;
          buf_init(&m);
          msg_head(&m, c);
          buf_puts(&m, buf_cstr(&err));
          buf_free(&err);
          transfer_release(e, c);
          c->attempts++; /* it was tried, though nothing was sent */
          e->stats.attempts++;
          call_fail(e, c, &m);
          again = true; /* failing a fiber may cancel queued calls: walk again */
          break;
        }
      }
      /* nothing ran since the check but the clock: only time can refuse now */
      fit = call_admit(e, c, true, &why);
      free(why);
      if (fit != BUDGET_FITS) {
        transfer_release(e, c);
        list_push(&refused, c);
        continue;
      }
      c->attempts++;
      e->stats.attempts++;
      if (c->prov->in_process) {
        c->state = CS_MOCK;
        list_push(&e->mock, c);
      } else {
        c->state = CS_ACTIVE;
        list_push(&e->active, c);
      }
      e->in_flight++;
      if (e->in_flight > e->stats.max_in_flight) e->stats.max_in_flight = e->in_flight;
    }
    e->queue_waiting = waiting;
    if (refused.n) {
      fail_budget_list(e, &refused, "budget exhausted");
      budget_sweep(e); /* the calls in flight under a budget just exhausted stop too */
      again = true;
    }
    if (!again) return;
  }
}

/* Chooses the answer of a mock attempt just sent (c off its list): the
 * script's entry is taken now, in the order attempts were sent, so which
 * entry answers which call does not depend on delays. An answer the
 * script delays waits in mock_wait on the call's timer, holding its slot
 * as a request in flight would; one that takes longer than the call's
 * timeout arrives as a timeout when that runs out. false: wait. */
/* Which step of its loop c is (1 for the first), 0 for an ask: one more
 * than the assistant turns the conversation holds. */
static uint32_t step_number(const Call *c) {
  if (!c->step) return 0;
  uint32_t n = 1;
  for (uint32_t i = 0; i < c->base_msgs; i++) n += c->msgs[i].role[0] == 'a';
  return n;
}

static bool mock_choose(Engine *e, Call *c) {
  buf_init(&c->resp);
  /* the prompt is the last user turn; a repair quotes the error there, and
   * scripts match on what the program asked, so use the first turn */
  mock_reply(e->script, &e->vm->heap, e->vm->mod, c->role->name, c->msgs[0].text, c->td,
             c->schema ? c->schema : "", c->wrapped, step_number(c), &c->resp, &c->mock);
  c->mock_chosen = true;
  int64_t wait = c->mock.delay_ms;
  if (c->timeout_ms > 0 && wait > c->timeout_ms) {
    wait = c->timeout_ms;
    c->mock.fail = MOCK_TIMEOUT;
    c->mock.name = NULL; /* not the script's failure: the call's timeout */
  }
  if (wait <= 0) return true;
  Buf err;
  buf_init(&err);
  if (!ensure_loop(e, &err)) { /* no timers: the answer arrives at once */
    buf_free(&err);
    return true;
  }
  c->state = CS_MOCK_WAIT;
  list_push(&e->mock_wait, c);
  e->in_flight++;
  loop_timer_set(e->loop, &c->retry_at, wait);
  return false;
}

/* The tool calls of a mock step: the script's (`tool_calls`), else, on
 * the first step of a loop the script did not answer, one call of each
 * tool with arguments generated for its parameters (then the next step
 * answers). Ids are call_<turn>_<n>, so they are unique in the loop. */
static void mock_step_calls(Engine *e, Call *c, const MockAnswer *a, ProviderReply *r) {
  if (a->calls) {
    cJSON *doc = cJSON_Parse(a->calls);
    int n = cJSON_GetArraySize(doc);
    r->calls = xcalloc(n > 0 ? (size_t)n : 1, sizeof *r->calls);
    const cJSON *cl;
    cJSON_ArrayForEach(cl, doc) {
      const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cl, "name");
      const cJSON *in = cJSON_GetObjectItemCaseSensitive(cl, "input");
      ToolCall *tc = &r->calls[r->ncalls++];
      tc->id = xasprintf("call_%u_%u", step_number(c), r->ncalls);
      tc->name = xstrdup(cJSON_IsString(nm) ? nm->valuestring : "");
      /* a string is the arguments' text as a model sends it (OpenAI's
       * `arguments`), taken the way a reply's is; any other value is the
       * arguments themselves */
      if (cJSON_IsString(in)) {
        provider_call_input(tc, in->valuestring, strlen(in->valuestring));
      } else {
        tc->input = in ? cJSON_PrintUnformatted(in) : xstrdup("{}");
        if (!tc->input) tc->input = xstrdup("{}");
      }
    }
    cJSON_Delete(doc);
    return;
  }
  if (a->scripted || a->fail != MOCK_REPLY || step_number(c) != 1) return;
  const Module *m = e->vm->mod;
  r->calls = xcalloc(c->role->ntools, sizeof *r->calls);
  for (uint32_t i = 0; i < c->role->ntools; i++) {
    const RoleTool *t = &c->role->tools[i];
    uint64_t seed = fnv1a64(FNV64_INIT, c->msgs[0].text, strlen(c->msgs[0].text));
    seed = fnv1a64(seed, t->name, strlen(t->name));
    Value v = schema_mock_value(&e->vm->heap, m, t->params, seed);
    Buf j;
    buf_init(&j);
    if (!v_to_json(&j, v, NULL)) buf_puts(&j, "{}");
    v_release(&e->vm->heap, v);
    ToolCall *tc = &r->calls[r->ncalls++];
    tc->id = xasprintf("call_1_%u", i + 1);
    tc->name = xstrdup(t->name);
    tc->input = buf_detach(&j);
  }
}

/* Answers one mock attempt (c off its list, its slot released) through
 * the same paths as the network: a reply goes to handle_reply, a failure
 * to status_failed or transport_failed, which retry or fail it. A reply's
 * usage is the token estimate of what it was sent and what it answers,
 * reported like a real reply's. */
static void run_mock(Engine *e, Call *c) {
  if (!c->mock_chosen && !mock_choose(e, c)) return;
  c->mock_chosen = false;
  MockAnswer a = c->mock;
  if (a.fail == MOCK_UNSCRIPTED) {
    /* not the provider's failure but the test's: never retried */
    call_settle(e, c, SETTLE_NOTHING, NULL);
    Buf m;
    buf_init(&m);
    msg_head(&m, c);
    buf_printf(&m, "no --mock-script entry fits this ask at %s (role %s, prompt %s)", c->addr ? c->addr : "?",
               c->role->name, buf_cstr(&c->resp));
    call_fail(e, c, &m);
    return;
  }
  if (a.fail == MOCK_HTTP) {
    call_settle(e, c, SETTLE_NOTHING, NULL); /* an error status is not billed */
    Buf body; /* the error message a provider would send: the failure and where it came from */
    buf_init(&body);
    buf_printf(&body, "%s (%s)", a.name, buf_cstr(&c->resp));
    buf_free(&c->resp);
    c->resp = body;
    status_failed(e, c, a.status, NULL, a.retry_after_ms >= 0 ? (double)a.retry_after_ms / 1000.0 : -1);
    return;
  }
  if (a.fail == MOCK_TIMEOUT || a.fail == MOCK_CONNECTION) {
    Buf why;
    buf_init(&why);
    bool timeout = a.fail == MOCK_TIMEOUT;
    /* a request that timed out was sent, and may have been worked on */
    call_settle(e, c, timeout ? SETTLE_RESERVATION : SETTLE_NOTHING, NULL);
    if (timeout && a.name) buf_printf(&why, "the request timed out (%s)", buf_cstr(&c->resp));
    else if (timeout) buf_printf(&why, "the request timed out after %" PRId64 " ms (the mock's answer was due after %" PRId64 " ms)",
                                 c->timeout_ms, a.delay_ms);
    else buf_printf(&why, "the connection failed (%s)", buf_cstr(&c->resp));
    transport_failed(e, c, buf_cstr(&why), timeout ? "timeout" : "error");
    buf_free(&why);
    return;
  }
  ProviderReply r;
  memset(&r, 0, sizeof r);
  if (c->gen && !a.scripted) {
    /* the offline planner writes a program that fits the signature */
    GenSig sig = {e->vm->mod, c->gen_params, c->gen_result};
    buf_free(&c->resp);
    buf_puts(&c->resp, "```weft\n");
    gen_mock_program(&c->resp, &sig);
    buf_puts(&c->resp, "```\n");
  }
  r.text = c->resp; /* the reply takes the text */
  buf_init(&c->resp);
  if (c->step) mock_step_calls(e, c, &a, &r);
  size_t sent = call_system(c) ? strlen(call_system(c)) : 0;
  for (uint32_t i = 0; i < c->nmsgs; i++) sent += msg_bytes(&c->msgs[i]);
  for (uint32_t i = 0; i < c->ntools; i++) sent += strlen(c->tools[i].schema) + strlen(c->tools[i].description);
  r.usage.input_tokens = provider_tokens_estimate(sent);
  r.usage.output_tokens = provider_tokens_estimate(r.text.len);
  r.usage_seen = USAGE_SEEN_INPUT | USAGE_SEEN_OUTPUT;
  handle_reply(e, c, &r);
  reply_free(&r);
}

/* Answers c from its record through the same reply path as the network
 * (so typed replies are checked alike). Its budgets admit it like a
 * request and are charged what the recorded run was charged: one call per
 * recorded attempt, its tokens and their price, so a resumed or replayed
 * run reaches the same budget decisions. */
static void serve_record(Engine *e, Call *c) {
  const EffectRec *rec = c->rec;
  c->rec = NULL;
  c->label = label_join(c->label, caps_record_label(e->vm, rec->label));
  char *why = NULL;
  if (budget_admit(e->vm, c->budget, 0, 0, true, &why) != BUDGET_FITS) {
    Buf m;
    buf_init(&m);
    buf_puts(&m, why ? why : "budget exhausted");
    free(why);
    c->served = false; /* refused before the record answered: not a call */
    call_fail_kind(e, c, "budget", &m);
    return;
  }
  c->attempts = rec->attempts;
  c->retries = rec->retries;
  c->repairs = rec->repairs;
  e->stats.served++;
  e->log->served++;
  Usage u = {rec->input_tokens, rec->output_tokens, 0, 0};
  double cost = call_cost(e, c, &u);
  budget_charge(e->vm, c->budget, rec->attempts > 1 ? (int64_t)rec->attempts - 1 : 0, usage_total(&u), cost);
  account(e, c, &u, cost);
  if (!rec->ok) { /* replay answers failures too */
    Buf m;
    buf_init(&m);
    buf_puts(&m, rec->error ? rec->error : "failed");
    call_fail_kind(e, c, rec->error_kind ? rec->error_kind : "error", &m);
    return;
  }
  ProviderReply r;
  memset(&r, 0, sizeof r);
  buf_init(&r.text);
  buf_puts(&r.text, rec->response ? rec->response : "");
  handle_reply(e, c, &r);
  reply_free(&r);
}

/* A curl_multi_* call failed (mc): libcurl cannot drive the transfers in
 * flight any more, so each fails cleanly, charged its reservation (its
 * request may have left), instead of waiting for progress that never
 * comes. Later calls start afresh on the same handle. */
static bool multi_ok(Engine *e, CURLMcode mc, const char *fn) {
  if (mc == CURLM_OK) return true;
  CallList dead = {NULL, NULL, 0};
  Call *c;
  while ((c = e->active.head) != NULL) {
    list_remove(&e->active, c);
    e->in_flight--;
    call_settle(e, c, SETTLE_RESERVATION, NULL);
    transfer_release(e, c);
    list_push(&dead, c);
  }
  while ((c = dead.head) != NULL) {
    list_remove(&dead, c);
    Buf m;
    buf_init(&m);
    msg_head(&m, c);
    buf_printf(&m, "the HTTP engine failed (%s: %s)", fn, curl_multi_strerror(mc));
    call_fail(e, c, &m);
  }
  return false;
}

/* Settles every transfer curl reports finished; true if there was one. */
static bool collect_done(Engine *e) {
  if (!e->multi) return false;
  bool any = false;
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(e->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    char *priv = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    Call *c = (Call *)(void *)priv;
    CURLcode res = msg->data.result;
    if (!c || c->state != CS_ACTIVE) continue;
    list_remove(&e->active, c);
    e->in_flight--;
    any = true;
    finish_transfer(e, c, res);
  }
  return any;
}

/* Moves retries whose backoff has ended (on_retry_due) to the front of
 * the queue, in the order their backoffs ended. */
static void move_due(Engine *e) {
  while (e->due.tail) {
    Call *c = e->due.tail;
    list_remove(&e->due, c);
    list_push_front(&e->queue, c);
  }
}

/* Runs the loop's due timers: transfers admitted since the last wake-up
 * leave now (adding a handle arms libcurl's timeout at 0), so requests
 * are on the wire before the fibers run. */
static void kick(Engine *e) {
  if (e->loop) loop_run_timers(e->loop);
}

void engine_pump(Engine *e) {
  if (!e->active.n) return;
  /* The scheduler pumps every few slices; when a burst of replies wakes a
   * thousand short fibers that is every few microseconds, and each look
   * costs a system call and, with a journal, a commit. Once a millisecond
   * keeps transfers moving under a long computation all the same. */
  uint64_t now = vm_now_ms(e->vm);
  if (now - e->polled_ms < PUMP_EVERY_MS) return;
  e->polled_ms = now;
  loop_wait(e->loop, 0);
  collect_done(e);
  budget_sweep(e);
  move_due(e);
  admit(e);
  kick(e);
  effects_commit(e->vm, e->log); /* replies are durable before their fibers run */
}

void engine_poll(Engine *e, int64_t timeout_ms) {
  budget_sweep(e);
  admit(e);
  /* what was just admitted leaves, and transfers that finished since the
   * last wait are settled now: waiting first would sleep out the timeout
   * with their fibers ready (at the tail of a fan-out nothing else wakes
   * the wait) */
  kick(e);
  if (collect_done(e)) timeout_ms = 0;
  if (e->mock.n || e->served.n || e->due.n || admissible(e)) timeout_ms = 0;
  if (timeout_ms < 0) timeout_ms = 0;
  if (e->loop) {
    /* sockets ready and timers due (libcurl's, backoffs), nothing else */
    loop_wait(e->loop, timeout_ms);
    e->polled_ms = vm_now_ms(e->vm);
    collect_done(e);
  } else if (timeout_ms > 0) {
    /* nothing on the network (so no loop): nothing to wait for but time */
    struct timespec ts = {(time_t)(timeout_ms / 1000), (long)(timeout_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  /* mock attempts admitted before this poll; repairs they cause queue up
   * for the next one */
  uint32_t n = e->mock.n;
  while (n-- && e->mock.head) {
    Call *c = e->mock.head;
    list_remove(&e->mock, c);
    e->in_flight--;
    run_mock(e, c);
  }
  n = e->served.n;
  while (n-- && e->served.head) {
    Call *c = e->served.head;
    list_remove(&e->served, c);
    serve_record(e, c);
  }
  budget_sweep(e);
  move_due(e);
  admit(e);
  kick(e);
  effects_commit(e->vm, e->log); /* replies are durable before their fibers run */
}

/* O(1) through f->call: failing a fan-out cancels every branch, and a
 * scan of all calls per branch would be quadratic. An active transfer is
 * removed from the multi handle and its easy handle freed (call_free ->
 * transfer_release), which closes the connection: the request is really
 * aborted, not just ignored. Queued calls never start. A cancelled
 * attempt in flight is charged its whole reservation: the provider may
 * have done (and billed) the work, so cancelling and asking again cannot
 * get past a budget. */
void engine_cancel(Engine *e, Fiber *f) {
  Call *c = f->call;
  if (!c || c->f != f) return;
  f->call = NULL;
  if (!c->in) { /* being settled right now: let it end without its fiber */
    c->f = NULL;
    return;
  }
  call_settle(e, c, SETTLE_RESERVATION, NULL);
  trace_ask(e, c, "cancelled", NULL, NULL);
  e->vm->asks_ended++;
  CallList *l = c->in;
  list_remove(l, c);
  if (l == &e->active || l == &e->mock || l == &e->mock_wait) e->in_flight--;
  e->queue_waiting = 0;
  call_free(e, c);
}

/* ---- asking ------------------------------------------------------------------ */

/* A descriptor's name when it suits a provider's schema name rule
 * ([A-Za-z0-9_-]{1,64}), else "reply". */
static char *schema_name_for(const Module *m, uint32_t td) {
  uint32_t k = m->types[td].name;
  if (k != NO_INDEX && k < m->nconsts && v_is(m->consts[k], OBJ_STRING)) {
    const ObjString *s = AS_STRING(m->consts[k]);
    bool ok = s->len > 0 && s->len <= 64;
    for (size_t i = 0; ok && i < s->len; i++) {
      char ch = s->data[i];
      ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
    }
    if (ok) return xstrndup(s->data, s->len);
  }
  return xstrdup("reply");
}

/* p's key from the host, or NULL: the environment's. */
static const ProviderKey *host_key(const Engine *e, const Provider *p) {
  for (uint32_t i = 0; i < e->cfg.nkeys; i++)
    if (strcmp(e->cfg.keys[i].provider, p->name) == 0) return &e->cfg.keys[i];
  return NULL;
}

/* The role's model after --model and --provider. */
static char *effective_spec(const Engine *e, const RoleDesc *r) {
  const char *spec = r->model ? r->model : "";
  for (uint32_t i = 0; i < e->cfg.noverrides; i++)
    if (e->cfg.overrides[i].role && strcmp(e->cfg.overrides[i].role, r->name) == 0)
      spec = e->cfg.overrides[i].model;
  const char *fp = e->cfg.force_provider;
  if (!fp || !fp[0]) return xstrdup(spec);
  const char *slash = strchr(spec, '/');
  const char *model = slash ? slash + 1 : spec;
  Buf b;
  buf_init(&b);
  buf_printf(&b, "%s/%s", fp, model[0] ? model : "model");
  return buf_detach(&b);
}

/* The operator's setting (the flag, else the default) is a ceiling: a
 * role's own setting (negative: none) may lower it, never raise it, so a
 * program cannot buy itself more attempts or time than the command line
 * allows. */
static int64_t capped(int64_t role, int64_t flag, int64_t def) {
  int64_t ceiling = flag >= 0 ? flag : def;
  return role >= 0 && role < ceiling ? role : ceiling;
}

/* The ask's own settings over the role's (the VM checked their ranges),
 * and their JSON for the journal's request and the trace. */
static void call_with(Call *c, const AskWith *w) {
  Buf b;
  buf_init(&b);
  buf_putc(&b, '{');
  if (isfinite(w->temperature)) {
    c->temperature = w->temperature;
    buf_puts(&b, "\"temperature\":");
    provider_put_number(&b, w->temperature);
  }
  if (isfinite(w->top_p)) {
    c->top_p = w->top_p;
    buf_puts(&b, b.len > 1 ? ",\"top_p\":" : "\"top_p\":");
    provider_put_number(&b, w->top_p);
  }
  if (w->max_tokens > 0) {
    c->max_tokens = w->max_tokens;
    buf_printf(&b, "%s\"max_tokens\":%lld", b.len > 1 ? "," : "", (long long)w->max_tokens);
  }
  if (w->nstop) {
    for (uint32_t i = 0; i < c->nstop; i++) free(c->stop[i]); /* the role's give way */
    free(c->stop);
    c->nstop = 0;
    c->stop = xcalloc(w->nstop, sizeof *c->stop);
    buf_puts(&b, b.len > 1 ? ",\"stop\":[" : "\"stop\":[");
    for (uint32_t i = 0; i < w->nstop; i++) {
      c->stop[c->nstop++] = xstrdup(w->stop[i]);
      if (i) buf_putc(&b, ',');
      buf_json_string(&b, w->stop[i], strlen(w->stop[i]));
    }
    buf_putc(&b, ']');
  }
  buf_putc(&b, '}');
  c->with = buf_detach(&b);
}

/* Which part of a request differs from the recorded one, for the message. */
static const char *request_change(const char *recorded, const Call *c) {
  cJSON *doc = cJSON_Parse(recorded ? recorded : "");
  const char *what = "the role's settings (system prompt, temperature, top_p or max_tokens)";
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(doc, "model");
  const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(doc, "prompt");
  const cJSON *schema = cJSON_GetObjectItemCaseSensitive(doc, "schema");
  const cJSON *with = cJSON_GetObjectItemCaseSensitive(doc, "with");
  cJSON *our_with = c->with ? cJSON_Parse(c->with) : NULL;
  char *sch = schema ? cJSON_PrintUnformatted(schema) : NULL;
  cJSON *ours = c->schema ? cJSON_Parse(c->schema) : NULL;
  if (!doc) what = "the request (the record is unreadable)";
  else if (!cJSON_IsString(model) || strcmp(model->valuestring, c->spec) != 0) what = "the model";
  else if (!cJSON_IsString(prompt) || strcmp(prompt->valuestring, c->msgs[0].text) != 0) what = "the prompt";
  else if (!schema != !c->schema || (schema && ours && !cJSON_Compare(schema, ours, true))) what = "the reply type";
  else if (!with != !c->with || (with && our_with && !cJSON_Compare(with, our_with, true)))
    what = "the ask's own settings (with { ... })";
  cJSON_Delete(our_with);
  free(sch);
  cJSON_Delete(ours);
  cJSON_Delete(doc);
  return what;
}

/* With an EffectLog: fills c's request and looks for a record that
 * answers it (c->rec). Resume takes successful records with the same
 * fingerprint (and failed ones under a `try`) and sends the rest; replay
 * needs a record for every ask.
 * false after vm_raise when replay has none. */
static bool ask_from_records(Engine *e, Call *c) {
  EffectLog *log = e->log;
  call_request(c);
  c->started_at = unix_now_ms();
  if (!log->serve) return true;
  const EffectRec *rec = records_get(log->serve, c->addr);
  const char *kind = c->gen ? "generate" : c->step ? "step" : "ask";
  bool same = rec && strcmp(rec->kind, kind) == 0 && rec->req_hash == c->req_hash;
  /* a failure a `try` of the asking fiber caught is history the run went
   * on from: it is answered again, so the resumed run takes the same path */
  bool caught = c->f && c->f->ntries > 0;
  if (same && (rec->ok || log->mode == SERVE_STRICT || caught)) {
    c->rec = rec;
    return true;
  }
  if (log->mode != SERVE_STRICT) return true;
  const char *src = log->serve_name ? log->serve_name : "the journal";
  char *why = NULL;
  if (!rec && budget_admit(e->vm, c->budget, 0, 0, false, &why) == BUDGET_REFUSED) {
    /* the recorded run had this ask refused too: its refusals are not
     * records but decisions, made again here the same way */
    vm_raise_kind(e->vm, c->f, "budget", "%s", why);
    free(why);
    return false;
  }
  free(why);
  if (!rec)
    vm_raise(e->vm, c->f, "replay: %s has no record of ask %s at %s (the recorded run never made this call)",
             src, c->role->name, c->addr);
  else if (strcmp(rec->kind, kind) != 0)
    vm_raise(e->vm, c->f, "replay: %s recorded a %s at %s, not a%s %s", src, rec->kind, c->addr,
             c->step ? "" : "n", kind);
  else
    vm_raise(e->vm, c->f, "replay: ask %s at %s differs from the call %s recorded: %s changed", c->role->name,
             c->addr, src, request_change(rec->request, c));
  return false;
}

/* f's call must wait for a slot, and the fan-out limits around f asked
 * for more calls at once than --max-concurrency allows: the program's
 * `limit` is not what the run does, so the run says so, once per fan-out:
 * a trace event now, a note under the summary at the end. */
static void note_capped(Engine *e, Fiber *f) {
  uint32_t limit = 0;
  const char *at = NULL;
  uint32_t asked = tasks_asked(f->task, &limit, &at);
  if (asked <= e->max_conc || !tasks_note_once(f->task)) return;
  e->capped++;
  if (asked > e->capped_asked) {
    e->capped_asked = asked;
    free(e->capped_at);
    e->capped_at = xstrdup(at ? at : "main");
  }
  Trace *t = e->vm->trace;
  if (trace_begin(t, "concurrency", at ? at : "main")) {
    trace_int(t, "limit", limit);
    trace_int(t, "asked", asked);
    trace_int(t, "max_concurrency", e->max_conc);
    trace_cstr(t, "from", e->cfg.max_concurrency ? "flag" : "default");
    trace_end(t);
  }
}

/* The label of a reply whose context held content labelled ctx: an origin
 * naming the role, the call site and the first untrusted source (not the
 * chain of replies that carried it, so a loop's steps share one origin). */
static Label ask_label(VM *vm, const RoleDesc *r, const char *addr, Label ctx) {
  if (!ctx) return LABEL_NONE;
  static const char held[] = " whose context held ";
  const char *root = vm_label_what(vm, ctx);
  for (const char *q; (q = strstr(root, held)) != NULL;) root = q + sizeof held - 1;
  char *site = caps_label_site(addr);
  char *what = xasprintf("a reply of role %s at %s%s%s", r->name, site, held, root);
  Label l = vm_label_origin(vm, what);
  free(what);
  free(site);
  return l;
}

bool engine_ask(Engine *e, const EffectRequest *rq) {
  Fiber *f = rq->fiber;
  bool step = rq->kind == EFFECT_STEP, gen = rq->kind == EFFECT_GENERATE;
  uint32_t role = gen ? rq->u.gen.role : rq->u.ask.role, td = gen ? ASK_TEXT : rq->u.ask.td;
  Value prompt = gen ? rq->u.gen.prompt : rq->u.ask.prompt;
  VM *vm = e->vm;
  const Module *m = vm->mod;
  if (role >= m->nroles) {
    vm_raise(vm, f, "ask: role %u is not declared", role);
    return false;
  }
  uint32_t gen_depth = 0;
  if (gen) {
    if (rq->u.gen.params >= m->ntypes || m->types[rq->u.gen.params].kind != TD_RECORD ||
        (rq->u.gen.result != NO_INDEX && rq->u.gen.result >= m->ntypes)) {
      vm_raise(vm, f, "generate: the signature's descriptors are out of range");
      return false;
    }
    /* code a planner wrote may generate in turn, to a bounded depth */
    uint32_t fn = f->nframes ? f->frames[f->nframes - 1].fn : 0;
    for (uint32_t i = 0; i < e->ngens; i++)
      if (fn >= e->gens[i].first && fn < e->gens[i].end) gen_depth = e->gens[i].depth;
    if (gen_depth >= GEN_MAX_DEPTH) {
      vm_raise(vm, f, "generate at %s: this code was itself generated %u levels deep, the most allowed; "
               "a generated program may not generate another here", rq->addr, gen_depth);
      return false;
    }
  }
  if (td != ASK_TEXT && td >= m->ntypes) {
    vm_raise(vm, f, "ask: type descriptor %u out of range", td);
    return false;
  }
  if (!v_is(prompt, OBJ_STRING)) {
    vm_raise(vm, f, "ask: the prompt must be a string, got %s", v_type_name(prompt));
    return false;
  }
  const RoleDesc *r = &m->roles[role];
  if (step && (!r->ntools || !v_is(rq->u.ask.turns, OBJ_STRING))) {
    vm_raise(vm, f, "step: role %s has no tools, or the conversation is not text", r->name);
    return false;
  }
  char *spec = effective_spec(e, r);
  const char *model = NULL;
  const Provider *p = provider_for(spec, &model);
  if (!p) {
    vm_raise(vm, f, "role %s: unknown provider in model \"%s\" (use anthropic/..., openai/... or mock/...)",
             r->name, spec);
    free(spec);
    return false;
  }
  /* the call copies the prompt (its first turn) and, in a durable run,
   * quotes it in the journal's request: refuse before allocating when the
   * heap has no room for that (the rest is charged as it is built) */
  size_t plen = AS_STRING(prompt)->len;
  if (!vm_check_alloc(vm, f, sizeof(Call) + (e->log ? 2 * plen : plen))) {
    free(spec);
    return false;
  }
  Call *c = xcalloc(1, sizeof *c);
  c->e = e;
  loop_timer_init(&c->retry_at, on_call_due, c);
  c->f = f;
  c->budget = budget_retain(f->budget);
  c->addr = xstrdup(rq->addr);
  c->started_ms = vm_now_ms(vm);
  c->role = r;
  c->td = td;
  c->prov = p;
  c->spec = spec;
  c->model = model;
  Buf b;
  buf_init(&b);
  if (td != ASK_TEXT) {
    /* Both real providers' constrained decoding wants the strict shape:
     * additionalProperties false on every object, every property required
     * (optionals as a union with null), no free-form objects. Only the
     * offline mock takes the plain dialect, which can also express maps. */
    SchemaDialect d = p->plain_schema       ? SCHEMA_PLAIN
                      : p->schema_no_bounds ? SCHEMA_ANTHROPIC
                                            : SCHEMA_OPENAI_STRICT;
    const char *why = schema_check(m, td, d);
    if (why) {
      buf_printf(&b, "ask %s (%s): cannot ask for ", r->name, spec);
      type_desc_print(&b, m, td);
      buf_printf(&b, ": %s", why);
      vm_raise(vm, f, "%s", buf_cstr(&b));
      buf_free(&b);
      call_free(e, c);
      return false;
    }
    c->schema = schema_json(m, td, d, &c->wrapped);
    if (!c->schema) {
      vm_raise(vm, f, "ask %s (%s): no JSON schema for this type", r->name, spec);
      call_free(e, c);
      return false;
    }
    c->schema_len = strlen(c->schema) + 1;
    call_meter(c);
    c->schema_name = schema_name_for(m, td);
  }
  ObjString *ps = AS_STRING(prompt);
  msg_push(c, "user", xstrndup(ps->data, strnlen(ps->data, ps->len)));
  if (step) {
    c->step = true;
    ObjString *ts = AS_STRING(rq->u.ask.turns);
    c->turns = xstrndup(ts->data, ts->len);
    const char *why = NULL;
    SchemaDialect d = p->plain_schema ? SCHEMA_PLAIN : p->schema_no_bounds ? SCHEMA_ANTHROPIC : SCHEMA_OPENAI_STRICT;
    if (!step_turns(e, c, ts->data, ts->len, &why)) {
      vm_raise(vm, f, "step of %s: %s", r->name, why);
      call_free(e, c);
      return false;
    }
    c->base_msgs = c->nmsgs;
    if (!step_tools(c, m, d, &b)) {
      vm_raise(vm, f, "%s", buf_cstr(&b));
      buf_free(&b);
      call_free(e, c);
      return false;
    }
  }
  c->label = ask_label(vm, r, c->addr, label_join(v_label(prompt), step ? v_label(rq->u.ask.turns) : LABEL_NONE));
  c->max_retries = (int32_t)capped(r->retries, e->cfg.retries, DEFAULT_RETRIES);
  c->max_repairs = (int32_t)capped(r->repairs, e->cfg.repairs, gen ? GEN_DEFAULT_REPAIRS : DEFAULT_REPAIRS);
  if (gen) {
    c->gen = true;
    c->gen_params = rq->u.gen.params;
    c->gen_result = rq->u.gen.result;
    c->gen_depth = gen_depth;
    GenSig sig = {m, c->gen_params, c->gen_result};
    GenRules rules = gen_rules(e, c);
    c->system = gen_system_prompt(&sig, &rules, e->cfg.gen_context, r->system);
  }
  c->max_tokens = r->max_tokens > 0 ? r->max_tokens : DEFAULT_MAX_TOKENS;
  c->temperature = r->temperature;
  c->top_p = r->top_p;
  if (r->nstop) {
    c->stop = xcalloc(r->nstop, sizeof *c->stop);
    for (uint32_t i = 0; i < r->nstop; i++) c->stop[c->nstop++] = xstrdup(r->stop[i]);
  }
  if (rq->u.ask.with) call_with(c, rq->u.ask.with);
  c->timeout_ms = capped(r->timeout_ms > 0 ? r->timeout_ms : -1, e->cfg.timeout_ms > 0 ? e->cfg.timeout_ms : -1,
                         DEFAULT_TIMEOUT_MS);
  c->stream = !e->cfg.no_stream;
  if (e->log && !ask_from_records(e, c)) {
    call_free(e, c);
    return false;
  }
  /* a call answered from a record needs no key: replays run without one */
  if (!p->in_process && !c->rec) {
    const ProviderKey *hk = host_key(e, p);
    const char *key = hk ? hk->key : p->key_env ? getenv(p->key_env) : NULL;
    if (!key || !key[0]) {
      vm_raise(vm, f, "role %s: %s is not set (needed for %s)", r->name, p->key_env ? p->key_env : "the API key", spec);
      call_free(e, c);
      return false;
    }
    c->key = xstrdup(key);
    const char *base = hk ? hk->base_url : p->base_env ? getenv(p->base_env) : NULL;
    provider_url(p, base, &b);
    c->url = buf_detach(&b);
    c->base = base && base[0] ? xstrdup(base) : NULL;
  }
  /* Validated: now the budgets, which a call that never leaves the
   * process must not touch. An exhausted budget, or a reservation that can
   * never fit, refuses the ask here; the charge itself comes when an
   * attempt is admitted (admit, serve_record). */
  if (!c->rec && budget_limits_usd(c->budget) && !price_for(e, spec, &(Price){0})) {
    vm_raise(vm, f, "ask %s (%s): the model has no price and a budget limits dollars: give its price "
             "with --prices FILE", r->name, spec);
    call_free(e, c);
    return false;
  }
  {
    char *why = NULL;
    BudgetFit fit = c->rec ? budget_admit(vm, c->budget, 0, 0, false, &why) : call_admit(e, c, false, &why);
    if (fit == BUDGET_REFUSED) {
      vm_raise_kind(vm, f, "budget", "%s", why);
      free(why);
      call_free(e, c);
      return false;
    }
    free(why);
  }
  if (c->rec) {
    c->state = CS_SERVED;
    c->served = true;
    list_push(&e->served, c);
  } else {
    c->state = CS_QUEUED;
    list_push(&e->queue, c);
    if (f->task && e->in_flight + e->queue.n > e->max_conc) note_capped(e, f);
  }
  vm->asks_started++;
  f->call = c;
  if (!e->any_call) {
    e->any_call = true;
    e->first_ms = vm_now_ms(vm);
  }
  f->state = FIBER_PARKED;
  return true;
}

/* ---- reporting ----------------------------------------------------------------- */

void engine_summary(const Engine *e, FILE *out) {
  RunStats z;
  memset(&z, 0, sizeof z);
  const RunStats *s = e ? &e->stats : &z;
  Buf b;
  buf_init(&b);
  buf_printf(&b, "weft: %" PRIu64 " call%s (%" PRIu64 " failed", s->calls, s->calls == 1 ? "" : "s", s->failed);
  if (s->served) buf_printf(&b, ", %" PRIu64 " replayed", s->served);
  buf_puts(&b, "), ");
  buf_printf(&b, "%" PRIu64 " retr%s, %" PRIu64 " repair%s, ", s->retries, s->retries == 1 ? "y" : "ies",
             s->repairs, s->repairs == 1 ? "" : "s");
  put_thousands(&b, (uint64_t)(s->usage.input_tokens + s->usage.cache_read_tokens + s->usage.cache_write_tokens));
  buf_puts(&b, " in / ");
  put_thousands(&b, (uint64_t)s->usage.output_tokens);
  buf_printf(&b, " out tokens, $%.4f", s->cost_usd);
  uint64_t ms = e && e->any_call && e->last_ms > e->first_ms ? e->last_ms - e->first_ms : 0;
  buf_printf(&b, ", %.1fs", (double)ms / 1000.0);
  if (s->gen_calls) {
    buf_printf(&b, "; planning: %" PRIu64 " call%s, ", s->gen_calls, s->gen_calls == 1 ? "" : "s");
    put_thousands(&b, (uint64_t)s->gen_tokens);
    buf_printf(&b, " tokens, $%.4f", s->gen_cost_usd);
  }
  if (e && e->nunpriced) {
    buf_puts(&b, " (unpriced: ");
    for (uint32_t i = 0; i < e->nunpriced; i++) buf_printf(&b, "%s%s", i ? ", " : "", e->unpriced[i]);
    buf_putc(&b, ')');
  }
  buf_putc(&b, '\n');
  if (e && e->capped) {
    buf_printf(&b, "weft: note: --max-concurrency %" PRIu32 "%s held ", e->max_conc,
               e->cfg.max_concurrency ? "" : " (the default)");
    if (e->capped == 1)
      buf_printf(&b, "fan-out %s to %" PRIu32 " model calls at once; its limits allow %" PRIu32, e->capped_at,
                 e->max_conc, e->capped_asked);
    else
      buf_printf(&b, "%" PRIu32 " fan-outs to %" PRIu32 " model calls at once (the widest, %s, allows %" PRIu32 ")",
                 e->capped, e->max_conc, e->capped_at, e->capped_asked);
    buf_printf(&b, ": give --max-concurrency %" PRIu32 " to run them all\n", e->capped_asked);
  }
  term_write(out, b.data, b.len, TERM_TEXT); /* model names and fan-out addresses come from the program */
  buf_free(&b);
}

void engine_stats_json(const Engine *e, Buf *out) {
  RunStats z;
  memset(&z, 0, sizeof z);
  const RunStats *s = e ? &e->stats : &z;
  buf_printf(out, "{\"calls\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"attempts\":%" PRIu64
             ",\"retries\":%" PRIu64 ",\"repairs\":%" PRIu64 ",\"max_in_flight\":%" PRIu32
             ",\"input_tokens\":%" PRId64 ",\"output_tokens\":%" PRId64
             ",\"cache_read_tokens\":%" PRId64 ",\"cache_write_tokens\":%" PRId64 ",\"cost_usd\":",
             s->calls, s->failed, s->attempts, s->retries, s->repairs, s->max_in_flight,
             s->usage.input_tokens, s->usage.output_tokens, s->usage.cache_read_tokens,
             s->usage.cache_write_tokens);
  if (s->cost_usd == 0) buf_putc(out, '0');
  else buf_printf(out, "%.6f", s->cost_usd);
  buf_puts(out, ",\"unpriced_models\":[");
  for (uint32_t i = 0; e && i < e->nunpriced; i++) {
    if (i) buf_putc(out, ',');
    buf_json_string(out, e->unpriced[i], strlen(e->unpriced[i]));
  }
  buf_printf(out, "],\"served\":%" PRIu64, s->served);
  if (s->gen_calls) { /* only a run that planned has the field */
    buf_printf(out, ",\"planning\":{\"calls\":%" PRIu64 ",\"tokens\":%" PRId64 ",\"cost_usd\":", s->gen_calls,
               s->gen_tokens);
    if (s->gen_cost_usd == 0) buf_putc(out, '0');
    else buf_printf(out, "%.6f", s->gen_cost_usd);
    buf_putc(out, '}');
  }
  buf_putc(out, '}');
}
