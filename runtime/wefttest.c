/* wefttest.c — weft test: regression tests of workflows, offline. A test
 * file (*.test.json) names a program, its inputs, what answers its model
 * calls (a strict mock script or a cassette) and what the run must come
 * to; each test runs through the session code of `weft run`
 * (weft_tool_run with an outcome), and the report is text, TAP 13 or
 * JUnit XML. docs/testing.md, "Testing workflows with weft test", is the
 * reference. Test files are validated whole before anything runs: a key
 * this file does not know is an error, so a misspelt expectation cannot
 * pass by never being checked. */
#define _XOPEN_SOURCE 700
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../base/buf.h"
#include "../base/term.h"
#include "../base/util.h"
#include "journal.h"
#include "tool.h"

/* A test file holds at most this many tests; a name at most this long. */
#define TEST_MAX_PER_FILE 10000
#define TEST_NAME_MAX 200
/* What a failed test shows of the messages its run wrote (diagnostics). */
#define TEST_MESSAGES_MAX ((size_t)16 << 10)

typedef struct Test {
  const char *file;       /* the test file (borrowed) */
  char *where;            /* "$" or "$[2]": the test in its file, for messages */
  char *name;
  char *program, *input, *mock, *cassette;   /* resolved against the file's folder */
  const char *provider;   /* borrowed from the document */
  weft_pair *args;        /* names and JSON texts (both malloc'd) */
  uint32_t nargs;
  const cJSON *expect;    /* borrowed from the document */
  cJSON *node;            /* the test's object (--update rewrites "result" in it) */
  size_t doc;             /* its document's index */
} Test;

typedef struct Doc {
  char *path;
  cJSON *root;
  bool changed;           /* --update rewrote an expected result */
} Doc;

typedef struct Suite {
  Test *t;
  size_t n, cap;
  Doc *docs;
  size_t ndocs;
} Suite;

/* ---- reading test files ------------------------------------------------------- */

static bool bad(Buf *err, const char *file, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool bad(Buf *err, const char *file, const char *where, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  buf_printf(err, "test: %s: %s%s%s", file, where ? where : "", where ? ": " : "", msg);
  free(msg);
  return false;
}

/* Every key of obj is one of keys[0..n), and none appears twice. */
static bool known_keys(Buf *err, const char *file, const char *where, const cJSON *obj,
                       const char *const *keys, size_t n) {
  for (const cJSON *it = obj->child; it; it = it->next) {
    size_t k = 0;
    while (k < n && strcmp(it->string, keys[k]) != 0) k++;
    if (k == n) {
      Buf list;
      buf_init(&list);
      for (k = 0; k < n; k++) buf_printf(&list, "%s%s", k ? ", " : "", keys[k]);
      buf_putc(&list, '\0');
      Buf q;
      buf_init(&q);
      term_quote(&q, it->string, strlen(it->string), 60);
      buf_putc(&q, '\0');
      bad(err, file, where, "unknown key %s (known: %s)", q.data, list.data);
      buf_free(&q);
      buf_free(&list);
      return false;
    }
    for (const cJSON *o = obj->child; o != it; o = o->next)
      if (strcmp(o->string, it->string) == 0) {
        Buf q;
        buf_init(&q);
        term_quote(&q, it->string, strlen(it->string), 60);
        buf_putc(&q, '\0');
        bad(err, file, where, "key %s appears twice", q.data);
        buf_free(&q);
        return false;
      }
  }
  return true;
}

/* A one-line string without control characters, at most max bytes. */
static bool plain_string(const cJSON *v, size_t max) {
  if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > max) return false;
  for (const unsigned char *p = (const unsigned char *)v->valuestring; *p; p++)
    if (*p < 0x20 || *p == 0x7f) return false;
  return true;
}

/* path (relative to the test file's folder) resolved; NULL after a
 * message when it is absolute or empty (a test file names only files
 * beside it, so it runs the same on every checkout). */
static char *resolve(Buf *err, const char *file, const char *where, const char *key, const cJSON *v,
                     const char *suffix) {
  if (!plain_string(v, 4096)) {
    bad(err, file, where, "\"%s\" must be a file name (a non-empty string without control characters)", key);
    return NULL;
  }
  const char *p = v->valuestring;
  if (p[0] == '/') {
    bad(err, file, where, "\"%s\" must be relative to the test file, not an absolute path", key);
    return NULL;
  }
  if (suffix) {
    size_t n = strlen(p);
    bool weftc = n > 6 && strcmp(p + n - 6, ".weftc") == 0;
    if (!weftc && !(n > 5 && strcmp(p + n - 5, suffix) == 0)) {
      bad(err, file, where, "\"%s\" must name a .weft or .weftc file", key);
      return NULL;
    }
  }
  const char *slash = strrchr(file, '/');
  if (!slash) return xstrdup(p);
  return xasprintf("%.*s/%s", (int)(slash - file), file, p);
}

static const char *const test_keys[] = {"name", "program", "args", "input", "mock", "cassette", "provider", "expect"};
static const char *const expect_keys[] = {"result", "result_contains", "error", "calls", "max_calls",
                                          "max_tokens", "max_cost_usd", "roles", "models"};
static const char *const error_keys[] = {"kind", "message_contains"};
#define NKEYS(a) (sizeof a / sizeof a[0])

static bool whole_number(const cJSON *v) {
  return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9007199254740992.0 &&
         v->valuedouble == floor(v->valuedouble);
}

static bool check_expect(Buf *err, const char *file, const char *where, const cJSON *ex) {
  char *w = xasprintf("%s.expect", where);
  bool ok = false;
  if (!cJSON_IsObject(ex)) {
    bad(err, file, w, "must be an object");
    goto out;
  }
  if (!known_keys(err, file, w, ex, expect_keys, NKEYS(expect_keys))) goto out;
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(ex, "error");
  const cJSON *rc = cJSON_GetObjectItemCaseSensitive(ex, "result_contains");
  if (e && (cJSON_GetObjectItemCaseSensitive(ex, "result") || rc)) {
    bad(err, file, w, "\"error\" and a result cannot both be expected");
    goto out;
  }
  if (rc && !cJSON_IsString(rc)) {
    bad(err, file, w, "\"result_contains\" must be a string");
    goto out;
  }
  if (e) {
    char *we = xasprintf("%s.error", w);
    bool eok = cJSON_IsObject(e) && known_keys(err, file, we, e, error_keys, NKEYS(error_keys));
    if (!cJSON_IsObject(e)) bad(err, file, we, "must be an object ({\"kind\": ..., \"message_contains\": ...})");
    for (size_t k = 0; eok && k < NKEYS(error_keys); k++) {
      const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, error_keys[k]);
      if (s && !cJSON_IsString(s)) eok = bad(err, file, we, "\"%s\" must be a string", error_keys[k]);
    }
    free(we);
    if (!eok) goto out;
  }
  static const char *const counts[] = {"calls", "max_calls", "max_tokens"};
  for (size_t k = 0; k < NKEYS(counts); k++) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(ex, counts[k]);
    if (c && !whole_number(c)) {
      bad(err, file, w, "\"%s\" must be a whole number >= 0", counts[k]);
      goto out;
    }
  }
  const cJSON *usd = cJSON_GetObjectItemCaseSensitive(ex, "max_cost_usd");
  if (usd && (!cJSON_IsNumber(usd) || !(usd->valuedouble >= 0) || !isfinite(usd->valuedouble))) {
    bad(err, file, w, "\"max_cost_usd\" must be a number >= 0");
    goto out;
  }
  const cJSON *roles = cJSON_GetObjectItemCaseSensitive(ex, "roles");
  if (roles) {
    bool rok = cJSON_IsArray(roles) || cJSON_IsObject(roles);
    for (const cJSON *r = rok ? roles->child : NULL; r && rok; r = r->next) {
      if (cJSON_IsArray(roles)) rok = plain_string(r, 200);
      else rok = whole_number(r);
    }
    if (!rok) {
      bad(err, file, w, "\"roles\" must be a list of role names, or an object of role name to call count");
      goto out;
    }
    if (cJSON_IsObject(roles))
      for (const cJSON *r = roles->child; r; r = r->next)
        for (const cJSON *o = roles->child; o != r; o = o->next)
          if (strcmp(o->string, r->string) == 0) {
            bad(err, file, w, "\"roles\" names a role twice");
            goto out;
          }
  }
  const cJSON *models = cJSON_GetObjectItemCaseSensitive(ex, "models");
  if (models) {
    bool mok = cJSON_IsArray(models);
    for (const cJSON *m = mok ? models->child : NULL; m && mok; m = m->next) mok = plain_string(m, 200);
    if (!mok) {
      bad(err, file, w, "\"models\" must be a list of \"provider/model\" names");
      goto out;
    }
  }
  ok = true;
out:
  free(w);
  return ok;
}

static void test_free(Test *t) {
  free(t->where);
  free(t->name);
  free(t->program);
  free(t->input);
  free(t->mock);
  free(t->cassette);
  for (uint32_t i = 0; i < t->nargs; i++) {
    free((char *)t->args[i].name);
    free((char *)t->args[i].text);
  }
  free(t->args);
}

/* One test object of file (document d) into t; false after a message. */
/* index: the test's place in its file's list; 0 for a file of one test. */
static bool read_test(Buf *err, const char *file, size_t d, cJSON *obj, const char *where, size_t index,
                      Test *t) {
  memset(t, 0, sizeof *t);
  t->file = file;
  t->where = xstrdup(where);
  t->node = obj;
  t->doc = d;
  if (!cJSON_IsObject(obj)) return bad(err, file, where, "a test must be an object");
  if (!known_keys(err, file, where, obj, test_keys, NKEYS(test_keys))) return false;
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(obj, "name");
  if (name && !plain_string(name, TEST_NAME_MAX))
    return bad(err, file, where, "\"name\" must be a one-line string of at most %d bytes", TEST_NAME_MAX);
  const cJSON *prog = cJSON_GetObjectItemCaseSensitive(obj, "program");
  if (!prog) return bad(err, file, where, "no \"program\" (the .weft file the test runs)");
  t->program = resolve(err, file, where, "program", prog, ".weft");
  if (!t->program) return false;
  if (name) t->name = xstrdup(name->valuestring);
  else {
    const char *base = strrchr(prog->valuestring, '/');
    t->name = index ? xasprintf("%s #%zu", base ? base + 1 : prog->valuestring, index)
                    : xstrdup(base ? base + 1 : prog->valuestring);
  }
  const cJSON *in = cJSON_GetObjectItemCaseSensitive(obj, "input");
  if (in && !(t->input = resolve(err, file, where, "input", in, NULL))) return false;
  const cJSON *mock = cJSON_GetObjectItemCaseSensitive(obj, "mock");
  const cJSON *cas = cJSON_GetObjectItemCaseSensitive(obj, "cassette");
  if (mock && cas) return bad(err, file, where, "a test has a \"mock\" script or a \"cassette\", not both");
  if (mock && !(t->mock = resolve(err, file, where, "mock", mock, NULL))) return false;
  if (cas && !(t->cassette = resolve(err, file, where, "cassette", cas, NULL))) return false;
  const cJSON *prov = cJSON_GetObjectItemCaseSensitive(obj, "provider");
  if (prov && !cas)
    /* only a cassette's calls are addressed to a provider (when --update
     * records it): every other test is answered by the mock */
    return bad(err, file, where, "\"provider\" is for a test with a \"cassette\" (the others always run on the mock provider)");
  if (prov) {
    if (!cJSON_IsString(prov) || !weft_tool_known_provider(prov->valuestring, strlen(prov->valuestring)))
      return bad(err, file, where, "\"provider\" must name a provider (anthropic, openai, mock)");
    t->provider = prov->valuestring;
  }
  const cJSON *args = cJSON_GetObjectItemCaseSensitive(obj, "args");
  if (args) {
    if (!cJSON_IsObject(args)) return bad(err, file, where, "\"args\" must be an object of main's parameters");
    uint32_t n = (uint32_t)cJSON_GetArraySize(args);
    t->args = xcalloc(n ? n : 1, sizeof *t->args);
    for (const cJSON *a = args->child; a; a = a->next) {
      if (!a->string[0]) return bad(err, file, where, "\"args\" has an empty name");
      for (uint32_t k = 0; k < t->nargs; k++)
        if (strcmp(t->args[k].name, a->string) == 0)
          return bad(err, file, where, "\"args\" names a parameter twice");
      char *text = cJSON_PrintUnformatted(a);
      if (!text) weft_oom(0);
      t->args[t->nargs].name = xstrdup(a->string);
      t->args[t->nargs++].text = xstrdup(text);
      cJSON_free(text);
    }
  }
  const cJSON *ex = cJSON_GetObjectItemCaseSensitive(obj, "expect");
  if (!ex) return bad(err, file, where, "no \"expect\" (what the run must come to)");
  t->expect = ex;
  return check_expect(err, file, where, ex);
}

static Test *suite_add(Suite *s) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->t = xrealloc(s->t, s->cap * sizeof *s->t);
  }
  return &s->t[s->n++];
}

/* Reads one test file into s; false after a message in err. */
static bool read_file_tests(Suite *s, const char *file, Buf *err) {
  size_t len = 0;
  char *text = read_file(file, &len);
  if (!text)
    return bad(err, file, NULL, "cannot read it: %s", errno == EFBIG ? "too large" : strerror(errno));
  if (strlen(text) != len) {
    free(text);
    return bad(err, file, NULL, "not JSON (it holds a NUL byte)");
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, true); /* the NUL ends the document */
  if (!root) {
    size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    free(text);
    return bad(err, file, NULL, "not JSON (near byte %zu)", at);
  }
  free(text);
  s->docs = xrealloc(s->docs, (s->ndocs + 1) * sizeof *s->docs);
  size_t d = s->ndocs++;
  s->docs[d].path = xstrdup(file);
  s->docs[d].root = root;
  s->docs[d].changed = false;
  if (cJSON_IsObject(root)) {
    Test *t = suite_add(s);
    if (!read_test(err, file, d, root, "$", 0, t)) return false;
    return true;
  }
  if (!cJSON_IsArray(root)) return bad(err, file, NULL, "must hold a test (an object) or a list of tests");
  int n = cJSON_GetArraySize(root);
  if (n == 0) return bad(err, file, NULL, "holds no test");
  if (n > TEST_MAX_PER_FILE) return bad(err, file, NULL, "holds more than %d tests", TEST_MAX_PER_FILE);
  size_t i = 0;
  for (cJSON *it = root->child; it; it = it->next, i++) {
    char where[32];
    snprintf(where, sizeof where, "$[%zu]", i);
    Test *t = suite_add(s);
    if (!read_test(err, file, d, it, where, i + 1, t)) return false;
  }
  return true;
}

/* ---- judging a run -------------------------------------------------------------- */

static int by_key(const void *a, const void *b) {
  return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* v as indented JSON, object keys sorted, so that a diff shows what
 * differs and not where a key happened to be. */
static void pretty(Buf *b, const cJSON *v, int depth) {
  if ((cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child) {
    bool obj = cJSON_IsObject(v);
    size_t n = 0;
    for (const cJSON *c = v->child; c; c = c->next) n++;
    const cJSON **kids = xcalloc(n, sizeof *kids);
    n = 0;
    for (const cJSON *c = v->child; c; c = c->next) kids[n++] = c;
    if (obj) qsort(kids, n, sizeof *kids, by_key);
    buf_puts(b, obj ? "{\n" : "[\n");
    for (size_t i = 0; i < n; i++) {
      for (int k = 0; k <= depth; k++) buf_puts(b, "  ");
      if (obj) {
        buf_json_string(b, kids[i]->string, strlen(kids[i]->string));
        buf_puts(b, ": ");
      }
      pretty(b, kids[i], depth + 1);
      buf_puts(b, i + 1 < n ? ",\n" : "\n");
    }
    for (int k = 0; k < depth; k++) buf_puts(b, "  ");
    buf_putc(b, obj ? '}' : ']');
    free(kids);
    return;
  }
  char *t = cJSON_PrintUnformatted(v);
  if (!t) weft_oom(0);
  buf_puts(b, t);
  cJSON_free(t);
}

static char *pretty_text(const cJSON *v) {
  Buf b;
  buf_init(&b);
  pretty(&b, v, 0);
  buf_putc(&b, '\n');
  return buf_detach(&b);
}

static int64_t stat_num(const cJSON *stats, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(stats, key);
  return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* Appends to why (one paragraph per difference) what in the outcome does
 * not meet t's expectations. */
static void judge(const Test *t, const weft_run_outcome *oc, Buf *why) {
  const cJSON *ex = t->expect;
  const cJSON *want_err = cJSON_GetObjectItemCaseSensitive(ex, "error");
  if (!oc->ran) {
    if (t->cassette && access(t->cassette, F_OK) != 0)
      buf_printf(why, "the cassette %s does not exist (`weft test --update` records it)\n", t->cassette);
    else
      buf_puts(why, "the run did not start (the messages below say why)\n");
    return;
  }
  if (!oc->ok && !want_err) {
    buf_printf(why, "the run failed (%s): %s\n", oc->error_kind ? oc->error_kind : "error", oc->error);
    if (oc->failed_at) buf_printf(why, "  the failed call: %s\n", oc->failed_at);
    if (oc->error_trace && oc->error_trace[0]) {
      buf_puts(why, oc->error_trace);
      if (oc->error_trace[strlen(oc->error_trace) - 1] != '\n') buf_putc(why, '\n');
    }
  }
  if (oc->ok && want_err) {
    buf_printf(why, "the run succeeded, but an error was expected; its result: %s\n",
               oc->result ? oc->result : "(none)");
  }
  if (!oc->ok && want_err) {
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(want_err, "kind");
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(want_err, "message_contains");
    if (kind && strcmp(kind->valuestring, oc->error_kind ? oc->error_kind : "error") != 0)
      buf_printf(why, "error kind: expected %s, got %s (%s)\n", kind->valuestring, oc->error_kind, oc->error);
    if (mc && !strstr(oc->error ? oc->error : "", mc->valuestring))
      buf_printf(why, "error message: expected it to contain \"%s\", got: %s%s%s\n", mc->valuestring, oc->error,
                 oc->failed_at ? "\n  the failed call: " : "", oc->failed_at ? oc->failed_at : "");
  }
  if (oc->ok) {
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(ex, "result");
    cJSON *got = oc->result ? cJSON_Parse(oc->result) : cJSON_CreateNull();
    if (want && (!got || !cJSON_Compare(want, got, true))) {
      char *a = pretty_text(want), *b = got ? pretty_text(got) : xstrdup(oc->result ? oc->result : "null");
      buf_puts(why, "result: differs from the expected one\n");
      unified_diff(why, "expected", "actual", a, strlen(a), b, strlen(b));
      free(a);
      free(b);
    }
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(ex, "result_contains");
    if (rc) {
      /* a string result is searched as text, any other as its JSON */
      const char *hay = cJSON_IsString(got) ? got->valuestring : oc->result ? oc->result : "null";
      if (!strstr(hay, rc->valuestring))
        buf_printf(why, "result: expected it to contain \"%s\", got: %s\n", rc->valuestring,
                   oc->result ? oc->result : "(none)");
    }
    cJSON_Delete(got);
  }
  cJSON *stats = cJSON_Parse(oc->stats ? oc->stats : "{}");
  int64_t calls = stat_num(stats, "calls");
  int64_t tokens = stat_num(stats, "input_tokens") + stat_num(stats, "output_tokens") +
                   stat_num(stats, "cache_read_tokens") + stat_num(stats, "cache_write_tokens");
  const cJSON *cj = cJSON_GetObjectItemCaseSensitive(stats, "cost_usd");
  double cost = cJSON_IsNumber(cj) ? cj->valuedouble : 0;
  cJSON_Delete(stats);
  const cJSON *c;
  if ((c = cJSON_GetObjectItemCaseSensitive(ex, "calls")) && (double)calls != c->valuedouble)
    buf_printf(why, "calls: expected %.0f, got %lld\n", c->valuedouble, (long long)calls);
  if ((c = cJSON_GetObjectItemCaseSensitive(ex, "max_calls")) && (double)calls > c->valuedouble)
    buf_printf(why, "calls: expected at most %.0f, got %lld\n", c->valuedouble, (long long)calls);
  if ((c = cJSON_GetObjectItemCaseSensitive(ex, "max_tokens")) && (double)tokens > c->valuedouble)
    buf_printf(why, "tokens: expected at most %.0f, got %lld\n", c->valuedouble, (long long)tokens);
  if ((c = cJSON_GetObjectItemCaseSensitive(ex, "max_cost_usd")) && cost > c->valuedouble)
    buf_printf(why, "cost: expected at most $%.6f, got $%.6f\n", c->valuedouble, cost);
  cJSON *roles = cJSON_Parse(oc->roles ? oc->roles : "{}");
  cJSON *models = cJSON_Parse(oc->models ? oc->models : "{}");
  if ((c = cJSON_GetObjectItemCaseSensitive(ex, "roles"))) {
    bool same = true;
    if (cJSON_IsArray(c)) {
      /* the set of roles asked */
      for (const cJSON *r = c->child; r && same; r = r->next)
        same = cJSON_GetObjectItemCaseSensitive(roles, r->valuestring) != NULL;
      for (const cJSON *r = roles ? roles->child : NULL; r && same; r = r->next) {
        bool listed = false;
        for (const cJSON *w = c->child; w && !listed; w = w->next) listed = strcmp(w->valuestring, r->string) == 0;
        same = listed;
      }
    } else {
      same = cJSON_Compare(c, roles, true);
    }
    if (!same) {
      char *w = cJSON_PrintUnformatted(c);
      buf_printf(why, "roles: expected %s, got %s\n", w ? w : "?", oc->roles ? oc->roles : "{}");
      cJSON_free(w);
    }
  }
  if ((c = cJSON_GetObjectItemCaseSensitive(ex, "models"))) {
    bool same = true;
    for (const cJSON *r = c->child; r && same; r = r->next)
      same = cJSON_GetObjectItemCaseSensitive(models, r->valuestring) != NULL;
    for (const cJSON *r = models ? models->child : NULL; r && same; r = r->next) {
      bool listed = false;
      for (const cJSON *w = c->child; w && !listed; w = w->next) listed = strcmp(w->valuestring, r->string) == 0;
      same = listed;
    }
    if (!same) {
      char *w = cJSON_PrintUnformatted(c);
      buf_printf(why, "models: expected %s, got %s\n", w ? w : "?", oc->models ? oc->models : "{}");
      cJSON_free(w);
    }
  }
  cJSON_Delete(roles);
  cJSON_Delete(models);
}

/* ---- running one test ------------------------------------------------------------ */

/* A stream of this process sent to a temporary file while a test runs. */
typedef struct Capture {
  FILE *stream, *file;
  int saved;               /* the stream's own descriptor, duplicated; -1: not captured */
} Capture;

static void capture_start(Capture *c, FILE *stream) {
  c->stream = stream;
  c->saved = -1;
  fflush(stream);
  c->file = tmpfile();
  if (!c->file) return;
  c->saved = dup(fileno(stream));
  if (c->saved >= 0 && dup2(fileno(c->file), fileno(stream)) < 0) {
    close(c->saved);
    c->saved = -1;
  }
}

/* Restores the stream; what was written to it, capped (NULL: nothing). */
static char *capture_end(Capture *c) {
  fflush(c->stream);
  if (c->saved >= 0) {
    dup2(c->saved, fileno(c->stream));
    close(c->saved);
  }
  if (!c->file) return NULL;
  Buf m;
  buf_init(&m);
  rewind(c->file);
  char chunk[4096];
  size_t got;
  while (m.len <= TEST_MESSAGES_MAX && (got = fread(chunk, 1, sizeof chunk, c->file)) > 0) buf_put(&m, chunk, got);
  fclose(c->file);
  if (m.len > TEST_MESSAGES_MAX) {
    m.len = TEST_MESSAGES_MAX;
    buf_puts(&m, "\n...\n");
  }
  if (!m.len) {
    buf_free(&m);
    return NULL;
  }
  return buf_detach(&m);
}

/* Runs t with stdout and stderr sent to temporary files: what the
 * program printed comes back in *output, the run's own messages
 * (diagnostics, bad inputs) in *messages, and neither mixes with the
 * report. */
static int run_test(const Test *t, bool update, weft_run_outcome *oc, char **output, char **messages) {
  weft_run_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.file = t->program;
  ro.input = t->input;
  ro.args = t->args;
  ro.nargs = t->nargs;
  ro.retries = -1;
  ro.repairs = -1;
  ro.no_journal = true;
  ro.quiet = true;
  ro.color = WEFT_WHEN_NEVER;
  ro.progress = WEFT_WHEN_NEVER;
  ro.outcome = oc;
  /* only a cassette's calls go to a provider (and then to the network
   * only when --update records it); the mock answers every other test */
  ro.provider = t->cassette ? t->provider : "mock";
  if (t->mock) {
    ro.mock_script = t->mock;
    ro.mock_strict = true;
  }
  if (t->cassette) {
    if (update) ro.record_path = t->cassette;
    else ro.replay_path = t->cassette;
  }
  Capture out, err;
  capture_start(&out, stdout);
  capture_start(&err, stderr);
  int rc = weft_tool_run(&ro);
  *messages = capture_end(&err);
  *output = capture_end(&out);
  return rc;
}

/* --update of an expected result: t's "result" becomes the actual one. */
static void update_result(Suite *s, const Test *t, const weft_run_outcome *oc) {
  cJSON *want = cJSON_GetObjectItemCaseSensitive(t->expect, "result");
  if (!want || !oc->ok) return;
  cJSON *got = oc->result ? cJSON_Parse(oc->result) : cJSON_CreateNull();
  if (!got) return;
  if (cJSON_Compare(want, got, true)) {
    cJSON_Delete(got);
    return;
  }
  cJSON_ReplaceItemInObjectCaseSensitive((cJSON *)t->expect, "result", got);
  s->docs[t->doc].changed = true;
}

/* Writes a document --update changed: beside it, then renamed over it. */
static bool write_doc(const Doc *d) {
  char *text = cJSON_Print(d->root);
  if (!text) weft_oom(0);
  char *tmp = xasprintf("%s.tmp", d->path);
  FILE *f = fopen(tmp, "w");
  bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
  if (f && fclose(f) != 0) ok = false;
  if (ok && rename(tmp, d->path) != 0) ok = false;
  if (!ok) {
    errorf("test --update: cannot write '%s': %s", d->path, strerror(errno));
    unlink(tmp);
  }
  cJSON_free(text);
  free(tmp);
  return ok;
}

/* ---- reports -------------------------------------------------------------------- */

typedef struct Result {
  bool pass;
  char *why;        /* what differed, and the run's messages */
  double secs;
} Result;

static void xml_text(Buf *b, const char *s) {
  size_t n = 0;
  char *esc = term_escape(s, strlen(s), &n); /* no control character is valid XML 1.0 */
  for (size_t i = 0; i < n; i++) {
    switch (esc[i]) {
    case '&': buf_puts(b, "&amp;"); break;
    case '<': buf_puts(b, "&lt;"); break;
    case '>': buf_puts(b, "&gt;"); break;
    case '"': buf_puts(b, "&quot;"); break;
    case '\'': buf_puts(b, "&apos;"); break;
    case '\t': buf_puts(b, "&#9;"); break;
    case '\n': buf_puts(b, "&#10;"); break;
    default: buf_putc(b, esc[i]);
    }
  }
  free(esc);
}

/* The first line of why, for one-line summaries. */
static void first_line(Buf *b, const char *why) {
  size_t n = strcspn(why, "\n");
  buf_put(b, why, n);
}

static void report_junit(Buf *out, const Suite *s, const Result *r, size_t failed, double secs) {
  buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<testsuites name=\"weft test\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%.3f\">\n",
             s->n, failed, secs);
  size_t i = 0;
  while (i < s->n) {
    /* one <testsuite> per test file */
    size_t j = i, nf = 0;
    double t = 0;
    while (j < s->n && s->t[j].doc == s->t[i].doc) {
      if (!r[j].pass) nf++;
      t += r[j].secs;
      j++;
    }
    buf_puts(out, "  <testsuite name=\"");
    xml_text(out, s->t[i].file);
    buf_printf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%.3f\">\n", j - i, nf, t);
    for (size_t k = i; k < j; k++) {
      buf_puts(out, "    <testcase classname=\"");
      xml_text(out, s->t[k].file);
      buf_puts(out, "\" name=\"");
      xml_text(out, s->t[k].name);
      buf_printf(out, "\" time=\"%.3f\"", r[k].secs);
      if (r[k].pass) {
        buf_puts(out, "/>\n");
        continue;
      }
      buf_puts(out, ">\n      <failure message=\"");
      Buf l;
      buf_init(&l);
      first_line(&l, r[k].why);
      buf_putc(&l, '\0');
      xml_text(out, l.data);
      buf_free(&l);
      buf_puts(out, "\">");
      xml_text(out, r[k].why);
      buf_puts(out, "</failure>\n    </testcase>\n");
    }
    buf_puts(out, "  </testsuite>\n");
    i = j;
  }
  buf_puts(out, "</testsuites>\n");
}

/* TAP: a test's description cannot hold '#' (a directive) or a line break. */
static void tap_desc(Buf *b, const char *s) {
  for (; *s; s++) {
    if (*s == '#' || *s == '\\') buf_putc(b, '\\');
    buf_putc(b, *s == '\n' ? ' ' : *s);
  }
}

static void report_tap_line(Buf *out, size_t i, const Test *t, const Result *r) {
  buf_printf(out, "%s %zu - ", r->pass ? "ok" : "not ok", i + 1);
  tap_desc(out, t->file);
  buf_puts(out, ": ");
  tap_desc(out, t->name);
  buf_putc(out, '\n');
  if (r->pass) return;
  /* the YAML diagnostic block of TAP 13: the details as a literal block */
  buf_puts(out, "  ---\n  message: \"");
  Buf l;
  buf_init(&l);
  first_line(&l, r->why);
  for (size_t k = 0; k < l.len; k++) {
    if (l.data[k] == '"' || l.data[k] == '\\') buf_putc(out, '\\');
    buf_putc(out, l.data[k]);
  }
  buf_free(&l);
  buf_puts(out, "\"\n  details: |\n");
  for (const char *p = r->why; *p;) {
    size_t n = strcspn(p, "\n");
    buf_puts(out, "    ");
    buf_put(out, p, n);
    buf_putc(out, '\n');
    p += n;
    if (*p) p++;
  }
  buf_puts(out, "  ...\n");
}

static double now_secs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int weft_tool_test(const char *const *files, int nfiles, const weft_test_opts *o) {
  Suite s;
  memset(&s, 0, sizeof s);
  int rc = EXIT_OK;
  Buf err;
  buf_init(&err);
  if (nfiles == 0) {
    errorf("test: no test files found (*.test.json)");
    return EXIT_USAGE;
  }
  for (int i = 0; i < nfiles; i++) {
    if (!read_file_tests(&s, files[i], &err)) {
      buf_putc(&err, '\0');
      errorf("%s", err.data);
      err.len = 0;
      rc = EXIT_USAGE;
    }
  }
  buf_free(&err);
  Result *res = xcalloc(s.n ? s.n : 1, sizeof *res);
  size_t failed = 0;
  double start = now_secs();
  if (rc != EXIT_OK) goto out;
  if (o->format == WEFT_TEST_TAP) printf("TAP version 13\n1..%zu\n", s.n);
  for (size_t i = 0; i < s.n; i++) {
    Test *t = &s.t[i];
    weft_run_outcome oc;
    memset(&oc, 0, sizeof oc);
    char *messages = NULL, *output = NULL;
    double t0 = now_secs();
    run_test(t, o->update, &oc, &output, &messages);
    res[i].secs = now_secs() - t0;
    /* a snapshot rewritten is the expectation from now on */
    if (o->update) update_result(&s, t, &oc);
    Buf why;
    buf_init(&why);
    judge(t, &oc, &why);
    if (why.len && output) {
      buf_puts(&why, "output:\n");
      buf_puts(&why, output);
      if (why.data[why.len - 1] != '\n') buf_putc(&why, '\n');
    }
    if (why.len && messages) {
      buf_puts(&why, "messages:\n");
      buf_puts(&why, messages);
      if (why.data[why.len - 1] != '\n') buf_putc(&why, '\n');
    }
    res[i].pass = why.len == 0;
    buf_putc(&why, '\0');
    res[i].why = buf_detach(&why);
    if (!res[i].pass) failed++;
    free(messages);
    free(output);
    weft_run_outcome_free(&oc);
    /* each line as its test ends, so a slow suite shows progress */
    Buf line;
    buf_init(&line);
    if (o->format == WEFT_TEST_TAP) report_tap_line(&line, i, t, &res[i]);
    else if (o->format == WEFT_TEST_TEXT && (!o->quiet || !res[i].pass))
      buf_printf(&line, "test %s: %s ... %s\n", t->file, t->name, res[i].pass ? "ok" : "FAILED");
    term_write(stdout, line.data ? line.data : "", line.len, TERM_TEXT);
    fflush(stdout);
    buf_free(&line);
  }
  double secs = now_secs() - start;
  Buf out;
  buf_init(&out);
  if (o->format == WEFT_TEST_TEXT) {
    for (size_t i = 0; i < s.n; i++) {
      if (res[i].pass) continue;
      buf_printf(&out, "\n---- %s: %s ----\n%s", s.t[i].file, s.t[i].name, res[i].why);
    }
    buf_printf(&out, "\n%zu passed, %zu failed (%.2fs)\n", s.n - failed, failed, secs);
  } else if (o->format == WEFT_TEST_TAP) {
    buf_printf(&out, "# %zu passed, %zu failed\n", s.n - failed, failed);
  } else {
    report_junit(&out, &s, res, failed, secs);
  }
  /* JUnit is escaped already (xml_text); the rest as any terminal text */
  if (o->format == WEFT_TEST_JUNIT) fwrite(out.data ? out.data : "", 1, out.len, stdout);
  else term_write(stdout, out.data ? out.data : "", out.len, TERM_TEXT);
  buf_free(&out);
  if (fflush(stdout) != 0) {
    errorf("test: cannot write the report: %s", strerror(errno));
    rc = EXIT_FAIL;
  }
  for (size_t d = 0; o->update && d < s.ndocs; d++)
    if (s.docs[d].changed) {
      if (write_doc(&s.docs[d])) errorf("test --update: rewrote the expected results in %s", s.docs[d].path);
      else rc = EXIT_FAIL;
    }
  if (rc == EXIT_OK && failed) rc = EXIT_FAIL;
out:
  for (size_t i = 0; i < s.n; i++) {
    test_free(&s.t[i]);
    free(res[i].why);
  }
  free(res);
  free(s.t);
  for (size_t d = 0; d < s.ndocs; d++) {
    free(s.docs[d].path);
    cJSON_Delete(s.docs[d].root);
  }
  free(s.docs);
  return rc;
}
