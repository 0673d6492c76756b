/* journal.c — the journal interface's dispatch, the record set that answers
 * effects again, and cassette files. The storage itself is in
 * journal_sqlite.c behind JournalOps. */
#include "journal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/util.h"
#include "../vm/module.h"
#include "../vm/value.h"

/* ---- records -------------------------------------------------------------- */

void effect_rec_free(EffectRec *r) {
  if (!r) return;
  free(r->addr);
  free(r->kind);
  free(r->request);
  free(r->response);
  free(r->error);
  free(r->error_kind);
  free(r->label);
  memset(r, 0, sizeof *r);
}

static char *dup_or_null(const char *v) { return v ? xstrdup(v) : NULL; }

EffectRec effect_rec_dup(const EffectRec *r) {
  EffectRec c = *r;
  c.addr = dup_or_null(r->addr);
  c.kind = dup_or_null(r->kind);
  c.request = dup_or_null(r->request);
  c.response = dup_or_null(r->response);
  c.error = dup_or_null(r->error);
  c.error_kind = dup_or_null(r->error_kind);
  c.label = dup_or_null(r->label);
  return c;
}

int64_t unix_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void effect_recs_free(EffectRec *es, size_t n) {
  for (size_t i = 0; i < n; i++) effect_rec_free(&es[i]);
  free(es);
}

void run_rec_free(RunRec *r) {
  if (!r) return;
  free(r->program);
  free(r->program_path);
  free(r->module);
  free(r->module_hash);
  free(r->inputs);
  free(r->options);
  free(r->status);
  free(r->result);
  free(r->error);
  memset(r, 0, sizeof *r);
}

void run_recs_free(RunRec *rs, size_t n) {
  for (size_t i = 0; i < n; i++) run_rec_free(&rs[i]);
  free(rs);
}

void journal_lines_free(char **lines, int64_t *at, size_t n) {
  for (size_t i = 0; i < n; i++) free(lines[i]);
  free(lines);
  free(at);
}

void hash_hex(uint64_t h, char out[17]) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--) {
    out[i] = hex[h & 15];
    h >>= 4;
  }
  out[16] = '\0';
}

/* ---- the interface ------------------------------------------------------------ */

Journal *journal_open(const char *path, JournalMode mode, char **err) {
  return journal_sqlite_open(path, mode, err);
}

void journal_close(Journal *j) {
  if (j) j->ops->close(j);
}

bool journal_run_create(Journal *j, RunRec *r, char **err) { return j->ops->run_create(j, r, err); }
bool journal_run_get(Journal *j, int64_t id, bool with_module, RunRec *out, char **err) {
  return j->ops->run_get(j, id, with_module, out, err);
}
bool journal_run_lock(Journal *j, int64_t id, char **err) { return j->ops->run_lock(j, id, err); }
bool journal_run_update(Journal *j, const RunRec *r, char **err) { return j->ops->run_update(j, r, err); }
bool journal_runs_list(Journal *j, RunRec **out, size_t *n, char **err) {
  return j->ops->runs_list(j, out, n, err);
}
bool journal_effect_put(Journal *j, int64_t run, const EffectRec *e) {
  return !j->error && j->ops->effect_put(j, run, e);
}
bool journal_event_put(Journal *j, int64_t run, int64_t at, const char *json, size_t n) {
  return !j->error && j->ops->event_put(j, run, at, json, n);
}
bool journal_commit(Journal *j, char **err) {
  if (j->error) {
    if (err) *err = xstrdup(j->error);
    return false;
  }
  return j->ops->commit(j, err);
}
const char *journal_error(const Journal *j) { return j->error; }
bool journal_effects_load(Journal *j, int64_t run, EffectRec **out, size_t *n, char **err) {
  return j->ops->effects_load(j, run, out, n, err);
}
bool journal_events_load(Journal *j, int64_t run, char ***out, int64_t **at, size_t *n, char **err) {
  return j->ops->events_load(j, run, out, at, n, err);
}

/* ---- the record set: open addressing on the address ------------------------------ */

struct Records {
  EffectRec *slots;    /* addr NULL: empty */
  size_t cap, n;       /* cap a power of two, n <= cap / 2 */
};

static uint64_t addr_hash(const char *s) { return fnv1a64(0xcbf29ce484222325ULL, s, strlen(s)); }

Records *records_new(void) {
  Records *rs = xcalloc(1, sizeof *rs);
  rs->cap = 64;
  rs->slots = xcalloc(rs->cap, sizeof *rs->slots);
  return rs;
}

void records_free(Records *rs) {
  if (!rs) return;
  for (size_t i = 0; i < rs->cap; i++) effect_rec_free(&rs->slots[i]);
  free(rs->slots);
  free(rs);
}

static EffectRec *find_slot(EffectRec *slots, size_t cap, const char *addr) {
  size_t i = (size_t)addr_hash(addr) & (cap - 1);
  while (slots[i].addr && strcmp(slots[i].addr, addr) != 0) i = (i + 1) & (cap - 1);
  return &slots[i];
}

void records_put(Records *rs, EffectRec *r) {
  if (!r->addr) return;
  if ((rs->n + 1) * 2 > rs->cap) {
    size_t cap = rs->cap * 2;
    EffectRec *slots = xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < rs->cap; i++)
      if (rs->slots[i].addr) *find_slot(slots, cap, rs->slots[i].addr) = rs->slots[i];
    free(rs->slots);
    rs->slots = slots;
    rs->cap = cap;
  }
  EffectRec *s = find_slot(rs->slots, rs->cap, r->addr);
  if (s->addr) effect_rec_free(s);
  else rs->n++;
  *s = *r;
  memset(r, 0, sizeof *r);
}

const EffectRec *records_get(const Records *rs, const char *addr) {
  if (!rs || !addr) return NULL;
  const EffectRec *s = find_slot(rs->slots, rs->cap, addr);
  return s->addr ? s : NULL;
}

size_t records_count(const Records *rs) { return rs ? rs->n : 0; }

static int cmp_addr(const void *a, const void *b) {
  const EffectRec *x = *(const EffectRec *const *)a, *y = *(const EffectRec *const *)b;
  return strcmp(x->addr, y->addr);
}

const EffectRec **records_sorted(const Records *rs, size_t *n) {
  const EffectRec **v = xcalloc(rs->n ? rs->n : 1, sizeof *v);
  size_t k = 0;
  for (size_t i = 0; i < rs->cap; i++)
    if (rs->slots[i].addr) v[k++] = &rs->slots[i];
  qsort(v, k, sizeof *v, cmp_addr);
  *n = k;
  return v;
}

/* ---- cassettes ------------------------------------------------------------------ */

#define CASSETTE_FORMAT 1
#define CASSETTE_MAX_BYTES ((size_t)1 << 30)

static void set_err(char **err, const char *fmt, const char *a, const char *b) {
  if (!err) return;
  Buf m;
  buf_init(&m);
  buf_printf(&m, fmt, a, b);
  buf_putc(&m, '\0');
  *err = m.data;
}

static void put_str_field(Buf *b, const char *key, const char *v) {
  buf_printf(b, ",\n   \"%s\": ", key);
  buf_json_string(b, v, strlen(v));
}

bool cassette_write(const char *path, const Records *rs, const char *program, char **err) {
  size_t n = 0;
  const EffectRec **v = records_sorted(rs, &n);
  Buf b;
  buf_init(&b);
  buf_printf(&b, "{\"weft_cassette\": %d,\n \"program\": ", CASSETTE_FORMAT);
  buf_json_string(&b, program ? program : "", program ? strlen(program) : 0);
  buf_puts(&b, ",\n \"effects\": [");
  for (size_t i = 0; i < n; i++) {
    const EffectRec *r = v[i];
    char hh[17];
    hash_hex(r->req_hash, hh);
    buf_puts(&b, i ? ",\n  {" : "\n  {");
    buf_puts(&b, "\"addr\": ");
    buf_json_string(&b, r->addr, strlen(r->addr));
    put_str_field(&b, "kind", r->kind ? r->kind : "ask");
    buf_puts(&b, ",\n   \"request\": ");
    buf_puts(&b, r->request && r->request[0] ? r->request : "null");
    put_str_field(&b, "req_hash", hh);
    buf_printf(&b, ",\n   \"ok\": %s", r->ok ? "true" : "false");
    if (r->response) put_str_field(&b, "response", r->response);
    if (r->error) put_str_field(&b, "error", r->error);
    if (r->error_kind) put_str_field(&b, "error_kind", r->error_kind);
    if (r->label) put_str_field(&b, "label", r->label);
    buf_printf(&b, ",\n   \"attempts\": %u, \"retries\": %u, \"repairs\": %u", r->attempts, r->retries,
               r->repairs);
    buf_printf(&b, ",\n   \"input_tokens\": %lld, \"output_tokens\": %lld, \"cost_usd\": %.9g}",
               (long long)r->input_tokens, (long long)r->output_tokens, r->cost_usd);
  }
  buf_puts(&b, n ? "\n ]\n}\n" : "]\n}\n");
  free(v);
  /* written next to the target and renamed: a failed write never leaves a
   * half cassette where a good one was */
  /* a fresh name made with O_EXCL: a link planted where the temporary
   * file goes is never written through (rename then replaces a link at
   * path itself, not its target) */
  Buf tmp;
  buf_init(&tmp);
  buf_printf(&tmp, "%s.XXXXXX", path);
  buf_putc(&tmp, '\0');
  int fd = mkstemp(tmp.data);
  FILE *f = NULL;
  if (fd >= 0) {
    mode_t um = umask(0);
    umask(um);
    (void)fchmod(fd, 0666 & ~um); /* mkstemp's 0600 would outlive the rename */
    f = fdopen(fd, "wb");
    if (!f) close(fd);
  }
  bool ok = f && fwrite(b.data, 1, b.len, f) == b.len;
  if (f && fclose(f) != 0) ok = false;
  if (ok && rename(tmp.data, path) != 0) ok = false;
  if (!ok) {
    set_err(err, "--record: cannot write '%s': %s", path, strerror(errno));
    if (fd >= 0) remove(tmp.data);
  }
  buf_free(&tmp);
  buf_free(&b);
  return ok;
}

static char *json_str(const cJSON *o, const char *key) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(x) && x->valuestring ? xstrdup(x->valuestring) : NULL;
}

static double json_num(const cJSON *o, const char *key) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(x) && isfinite(x->valuedouble) ? x->valuedouble : 0;
}

static uint32_t json_u32(const cJSON *o, const char *key) {
  double d = json_num(o, key);
  return d > 0 && d < 4e9 ? (uint32_t)d : 0;
}

/* A token count: a number in [0, 2^52], anything else 0 (never a float
 * cast out of range). */
static int64_t json_count(const cJSON *o, const char *key) {
  double d = json_num(o, key);
  return d > 0 && d <= 4503599627370496.0 ? (int64_t)d : 0;
}

static bool parse_hex64(const char *s, uint64_t *out) {
  if (!s || strlen(s) != 16) return false;
  uint64_t h = 0;
  for (int i = 0; i < 16; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    h = h << 4 | (uint64_t)d;
  }
  *out = h;
  return true;
}

Records *cassette_read(const char *path, char **err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    set_err(err, "--replay: cannot read '%s': %s", path, strerror(errno));
    return NULL;
  }
  Buf b;
  buf_init(&b);
  char chunk[65536];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (b.len + got > CASSETTE_MAX_BYTES) break;
    buf_put(&b, chunk, got);
  }
  bool rerr = ferror(f) != 0 || b.len + got > CASSETTE_MAX_BYTES;
  fclose(f);
  if (rerr) {
    set_err(err, "--replay: cannot read '%s': %s", path, "read error or larger than 1 GiB");
    buf_free(&b);
    return NULL;
  }
  cJSON *doc = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
  buf_free(&b);
  const char *why = NULL;
  const cJSON *ver = doc ? cJSON_GetObjectItemCaseSensitive(doc, "weft_cassette") : NULL;
  const cJSON *effs = doc ? cJSON_GetObjectItemCaseSensitive(doc, "effects") : NULL;
  char vbuf[32];
  if (!doc) why = "not JSON (a truncated or damaged file?)";
  else if (!cJSON_IsNumber(ver)) why = "not a weft cassette (no \"weft_cassette\" version)";
  else if (ver->valuedouble > CASSETTE_FORMAT) {
    snprintf(vbuf, sizeof vbuf, "%.0f", ver->valuedouble);
    Buf m;
    buf_init(&m);
    buf_printf(&m, "--replay: '%s' is a cassette of format %s; this weft reads format %d and older "
               "(upgrade weft)", path, vbuf, CASSETTE_FORMAT);
    buf_putc(&m, '\0');
    if (err) *err = m.data;
    else buf_free(&m);
    cJSON_Delete(doc);
    return NULL;
  } else if (!cJSON_IsArray(effs)) why = "no \"effects\" list";
  if (why) {
    set_err(err, "--replay: '%s': %s", path, why);
    cJSON_Delete(doc);
    return NULL;
  }
  Records *rs = records_new();
  int i = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, effs) {
    EffectRec r;
    memset(&r, 0, sizeof r);
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(e, "ok");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(e, "request");
    r.addr = json_str(e, "addr");
    r.kind = json_str(e, "kind");
    char *hh = json_str(e, "req_hash");
    bool good = r.addr && r.kind && cJSON_IsBool(ok) && req && parse_hex64(hh, &r.req_hash);
    free(hh);
    if (good) {
      r.ok = cJSON_IsTrue(ok);
      r.request = cJSON_PrintUnformatted(req);
      r.response = json_str(e, "response");
      r.error = json_str(e, "error");
      r.error_kind = json_str(e, "error_kind");
      r.label = json_str(e, "label");
      good = r.request && (r.ok ? (r.response != NULL || (strcmp(r.kind, "ask") != 0 && strcmp(r.kind, "step") != 0)) : r.error != NULL);
    }
    if (!good) {
      char idx[32];
      snprintf(idx, sizeof idx, "%d", i);
      set_err(err, "--replay: '%s': effect %s is incomplete (needs addr, kind, request, req_hash, ok "
              "and a response or an error)", path, idx);
      effect_rec_free(&r);
      records_free(rs);
      cJSON_Delete(doc);
      return NULL;
    }
    r.attempts = json_u32(e, "attempts");
    r.retries = json_u32(e, "retries");
    r.repairs = json_u32(e, "repairs");
    r.input_tokens = json_count(e, "input_tokens");
    r.output_tokens = json_count(e, "output_tokens");
    r.cost_usd = json_num(e, "cost_usd");
    records_put(rs, &r);
    i++;
  }
  cJSON_Delete(doc);
  return rs;
}
