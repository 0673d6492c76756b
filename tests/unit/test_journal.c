/* test_journal.c — the journal's SQLite backend (vm/journal_sqlite.c), the
 * record set and cassettes (vm/journal.c).
 *
 * Everything happens in a fresh directory under /tmp, removed at the end.
 * Run locks are per process, so the lock tests fork: a child holds a lock
 * and the parent is refused. A forked child opens its own journal and the
 * parent has none open across the fork (an SQLite connection must not
 * cross a fork). The full-disk test runs a child under RLIMIT_FSIZE; the
 * read-only tests drop root in a child, since root writes a 0444 file.
 * Prints TAP-style `ok N - desc` lines; exits non-zero on any failure. */
#include "../../base/util.h"
#include "../../runtime/journal.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/weft-journal-XXXXXX";

/* got is one line that starts with want: an error message as a reader sees it. */
static bool is_one_line(const char *got, const char *want, const char *desc) {
  bool cond = got && strncmp(got, want, strlen(want)) == 0 && !strchr(got, '\n');
  ok(cond, "%s", desc);
  if (!cond) diag("  got:  \"%s\"\n  want: \"%s...\" (one line)", got ? got : "(null)", want);
  return cond;
}

static char *strf(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *strf(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(NULL, 0, f, ap);
  va_end(ap);
  char *s = xmalloc((size_t)n + 1);
  va_start(ap, f);
  vsnprintf(s, (size_t)n + 1, f, ap);
  va_end(ap);
  return s;
}

static char *tpath(const char *name) { return strf("%s/%s", tmpdir, name); }

static bool exists(const char *path) { return access(path, F_OK) == 0; }

static long long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static void copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  char buf[65536];
  size_t n;
  while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
  if (a) fclose(a);
  if (b) fclose(b);
}

/* ---- raw SQLite, to look at and tamper with the file directly ------------------- */

static long long raw_int(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  long long v = -1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static char *raw_text(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  char *v = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
      sqlite3_column_text(st, 0))
    v = xstrdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static bool raw_exec(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  bool good = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK &&
            sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
  sqlite3_close(db);
  return good;
}

/* ---- records to write ----------------------------------------------------------------- */

static RunRec new_run(const char *program) {
  RunRec r;
  memset(&r, 0, sizeof r);
  static const unsigned char mod[] = {'W', 'E', 'F', 'T', 0, 1, 0, 0xff, 0x80, 7};
  r.program = xstrdup(program);
  r.program_path = strf("/home/u/%s", program);
  r.module = xmalloc(sizeof mod);
  memcpy(r.module, mod, sizeof mod);
  r.module_len = sizeof mod;
  r.module_hash = xstrdup("0123456789abcdef");
  r.inputs = xstrdup("{\"topic\": \"caf\xc3\xa9 \\\"x\\\"\"}");
  r.options = xstrdup("[\"--model\", \"mock\"]");
  return r;
}

static EffectRec new_effect(const char *addr, int64_t started, bool good) {
  EffectRec e;
  memset(&e, 0, sizeof e);
  e.addr = xstrdup(addr);
  e.kind = xstrdup("ask");
  e.request = xstrdup("{\"role\":\"writer\",\"model\":\"mock\",\"prompt\":\"say \\\"hi\\\"\"}");
  e.req_hash = 0xfedcba9876543210ULL;
  e.ok = good;
  if (good) {
    e.response = xstrdup("h\xc3\xa9llo \"quoted\" \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac\n\ttab");
  } else {
    e.error = xstrdup("timed out after 30s");
    e.error_kind = xstrdup("timeout");
  }
  e.attempts = 3;
  e.retries = 2;
  e.repairs = 1;
  e.input_tokens = 1234567890123LL;
  e.output_tokens = 42;
  e.cost_usd = 0.0125;
  e.started_at = started;
  e.ended_at = started + 250;
  return e;
}

static bool same_str(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

static bool same_effect(const EffectRec *a, const EffectRec *b, bool timings) {
  return same_str(a->addr, b->addr) && same_str(a->kind, b->kind) && same_str(a->request, b->request) &&
         a->req_hash == b->req_hash && a->ok == b->ok && same_str(a->response, b->response) &&
         same_str(a->error, b->error) && same_str(a->error_kind, b->error_kind) &&
         a->attempts == b->attempts && a->retries == b->retries && a->repairs == b->repairs &&
         a->input_tokens == b->input_tokens && a->output_tokens == b->output_tokens &&
         a->cost_usd == b->cost_usd &&
         (!timings || (a->started_at == b->started_at && a->ended_at == b->ended_at));
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A journal at path with one run; returns its id (0 on failure). */
static int64_t journal_with_run(const char *path, const char *program) {
  Journal *j = journal_open(path, JOURNAL_WRITE, NULL);
  RunRec r = new_run(program);
  int64_t id = j && journal_run_create(j, &r, NULL) ? r.id : 0;
  run_rec_free(&r);
  journal_close(j);
  return id;
}

/* ---- opening ----------------------------------------------------------------------- */

static void test_create_reopen(void) {
  char *dir = tpath(".weft"), *path = tpath(".weft/journal.db"), *lock = tpath(".weft/journal.db-lock");
  char *err = NULL;
  Journal *j = journal_open(path, JOURNAL_WRITE, &err);
  ok(j != NULL, "WRITE creates a journal in a missing directory");
  if (!j) diag("  %s", err ? err : "(no message)");
  free(err);
  ok(exists(dir) && exists(lock), "the directory and PATH-lock are created");
  journal_close(j);
  is_int(raw_int(path, "PRAGMA application_id"), 0x57454654, "application_id is 'WEFT'");
  is_int(raw_int(path, "PRAGMA user_version"), JOURNAL_FORMAT, "user_version is the format");
  char *mode = raw_text(path, "PRAGMA journal_mode");
  is_str(mode, "wal", "the journal is in WAL mode");
  free(mode);
  is_int(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name IN ('runs','effects','events')"),
         3, "the three tables exist");
  j = journal_open(path, JOURNAL_WRITE, NULL);
  ok(j != NULL, "WRITE reopens an existing journal");
  journal_close(j);
  err = NULL;
  j = journal_open(path, JOURNAL_READ, &err);
  RunRec *rs = NULL;
  size_t n = 99;
  ok(j && journal_runs_list(j, &rs, &n, NULL) && n == 0, "READ opens it; a new journal has no runs");
  run_recs_free(rs, n);
  journal_close(j);
  free(err);
  free(dir);
  free(path);
  free(lock);
}

static void test_read_missing(void) {
  char *path = tpath("nodir/journal.db"), *dir = tpath("nodir"), *err = NULL;
  Journal *j = journal_open(path, JOURNAL_READ, &err);
  char *want = strf("no journal at %s (runs are journaled by `weft run`; see --journal)", path);
  ok(j == NULL, "READ of a missing journal fails");
  is_str(err, want, "... saying there is no journal there");
  ok(!exists(dir) && !exists(path), "... and creates nothing");
  journal_close(j);
  free(want);
  free(err);
  free(path);
  free(dir);
}

static void test_empty_file(void) {
  char *path = tpath("empty.db"), *err = NULL;
  write_text(path, "");
  Journal *j = journal_open(path, JOURNAL_READ, &err);
  char *want = strf("%s is not a weft journal (the file is empty)", path);
  ok(j == NULL, "READ of an empty file fails");
  is_str(err, want, "... saying it is empty, not listing zero runs");
  free(err);
  err = NULL;
  j = journal_open(path, JOURNAL_WRITE, &err);
  ok(j != NULL && raw_int(path, "PRAGMA application_id") == 0x57454654,
     "WRITE makes an empty file a journal");
  journal_close(j);
  free(err);
  free(want);
  free(path);
}

static void test_unwritable_place(void) {
  char *file = tpath("plainfile"), *path = tpath("plainfile/journal.db"), *err = NULL;
  write_text(file, "x");
  Journal *j = journal_open(path, JOURNAL_WRITE, &err);
  char *want = strf("cannot write the journal %s: %s is not a directory (use --journal PATH or --no-journal)",
                    path, file);
  ok(j == NULL, "WRITE under a regular file fails");
  is_str(err, want, "... naming the journal, the file in the way and the way out");
  free(err);
  free(want);
  free(path);
  err = NULL;
  path = tpath("a/b/journal.db");
  j = journal_open(path, JOURNAL_WRITE, &err);
  want = strf("cannot write the journal %s: cannot create the directory %s/a/b: ", path, tmpdir);
  ok(j == NULL, "WRITE two missing directories deep fails (one level is created)");
  is_one_line(err, want, "... naming the directory it cannot create");
  free(err);
  free(want);
  free(path);
  free(file);
}

static void test_not_a_journal(void) {
  char *path = tpath("notes.txt"), *err = NULL;
  const char *text = "These are my notes, not a database. They go on for a while so that the "
                     "file is longer than an SQLite header of one hundred bytes.\n";
  write_text(path, text);
  char *want = strf("%s is not a weft journal", path);
  Journal *j = journal_open(path, JOURNAL_READ, &err);
  ok(j == NULL, "READ of a text file fails");
  is_str(err, want, "... saying it is not a weft journal");
  free(err);
  err = NULL;
  j = journal_open(path, JOURNAL_WRITE, &err);
  ok(j == NULL, "WRITE of a text file fails");
  is_str(err, want, "... saying it is not a weft journal");
  is_int(file_size(path), (long long)strlen(text), "... and leaves the file as it was");
  free(err);
  free(want);
  free(path);
}

static void test_other_sqlite(void) {
  char *path = tpath("other.db"), *err = NULL;
  raw_exec(path, "CREATE TABLE photos(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos VALUES(1, 'x')");
  char *want = strf("%s is not a weft journal", path);
  Journal *j = journal_open(path, JOURNAL_READ, &err);
  ok(j == NULL, "READ of another application's SQLite file fails");
  is_str(err, want, "... saying it is not a weft journal");
  free(err);
  err = NULL;
  j = journal_open(path, JOURNAL_WRITE, &err);
  is_str(err, want, "WRITE refuses it too");
  is_int(raw_int(path, "SELECT count(*) FROM sqlite_master"), 1, "... and adds no table to it");
  journal_close(j);
  free(err);
  free(want);
  free(path);
}

static void test_newer_format(void) {
  char *path = tpath("newer.db"), *err = NULL;
  journal_with_run(path, "a.weft");
  raw_exec(path, "PRAGMA user_version = 2");
  char *want = strf("the journal %s has format version 2; this weft reads version 1 (upgrade weft)", path);
  Journal *j = journal_open(path, JOURNAL_READ, &err);
  ok(j == NULL, "READ of a newer format fails");
  is_str(err, want, "... naming both versions");
  free(err);
  err = NULL;
  j = journal_open(path, JOURNAL_WRITE, &err);
  is_str(err, want, "WRITE refuses it too");
  journal_close(j);
  free(err);
  free(want);
  free(path);
}

/* A journal of some size: runs with effects and events, cleanly closed. */
static void fill_journal(const char *path) {
  Journal *j = journal_open(path, JOURNAL_WRITE, NULL);
  for (int r = 0; j && r < 3; r++) {
    RunRec run = new_run("big.weft");
    journal_run_create(j, &run, NULL);
    for (int i = 0; i < 200; i++) {
      char addr[64];
      snprintf(addr, sizeof addr, "main/ask#%d", i);
      EffectRec e = new_effect(addr, 1000 + i, true);
      free(e.response);
      e.response = xmalloc(1201);
      memset(e.response, 'a' + i % 26, 1200);
      e.response[1200] = '\0';
      journal_effect_put(j, run.id, &e);
      journal_event_put(j, run.id, 1000 + i, "{\"ev\":\"ask\"}", 12);
      effect_rec_free(&e);
    }
    journal_commit(j, NULL);
    run_rec_free(&run);
  }
  journal_close(j);
}

static void check_damaged(const char *path, const char *what) {
  long long size = file_size(path);
  char *want = strf("the journal %s is damaged (SQLite: ", path);
  for (int mode = 0; mode < 2; mode++) {
    char *err = NULL, desc[160];
    Journal *j = journal_open(path, mode ? JOURNAL_WRITE : JOURNAL_READ, &err);
    RunRec *rs = NULL;
    size_t n = 0;
    bool listed = j && journal_runs_list(j, &rs, &n, &err);
    snprintf(desc, sizeof desc, "%s, %s: refused as damaged", what, mode ? "WRITE" : "READ");
    ok(!listed, "%s", desc);
    if (listed) diag("  listed %zu runs", n);
    is_one_line(err, want, "... with a one-line message naming the journal");
    ok(err && strstr(err, "move it aside to start a new one"), "... and what to do");
    diag("%s", err ? err : "(no message)");
    run_recs_free(rs, listed ? n : 0);
    journal_close(j);
    free(err);
  }
  is_int(file_size(path), size, "... and the file is left as it was");
  free(want);
}

static void test_truncated(void) {
  char *path = tpath("full.db"), *half = tpath("half.db"), *tiny = tpath("tiny.db");
  fill_journal(path);
  long long size = file_size(path);
  ok(size > 500000, "a journal of several hundred KB to truncate");
  copy_file(path, half);
  copy_file(path, tiny);
  ok(truncate(half, size / 2) == 0 && truncate(tiny, 100) == 0, "truncated copies made");
  check_damaged(half, "truncated to half");
  check_damaged(tiny, "truncated to 100 bytes");
  free(path);
  free(half);
  free(tiny);
}

/* ---- runs ---------------------------------------------------------------------------- */

static void test_runs(void) {
  char *path = tpath("runs.db"), *err = NULL;
  Journal *j = journal_open(path, JOURNAL_WRITE, NULL);
  RunRec a = new_run("first.weft"), b = new_run("second.weft");
  int64_t before = now_ms();
  ok(j && journal_run_create(j, &a, &err), "run_create");
  ok(j && journal_run_create(j, &b, &err), "run_create a second run");
  ok(a.id == 1 && b.id == 2, "runs are numbered 1, 2 in creation order");
  ok(a.started_at >= before && a.started_at <= now_ms() + 1, "run_create sets started_at to now");
  is_str(a.status, "running", "run_create sets the status to running");
  a.status = (free(a.status), xstrdup("ok"));
  a.ended_at = a.started_at + 1500;
  a.result = xstrdup("{\"text\": \"d\xc3\xa9j\xc3\xa0 \\\"vu\\\"\", \"n\": [1, 2]}");
  a.resumes = 3;
  ok(journal_run_update(j, &a, &err), "run_update");
  b.status = (free(b.status), xstrdup("failed"));
  b.ended_at = b.started_at + 7;
  b.error = xstrdup("ask failed: \"quota\"");
  ok(journal_run_update(j, &b, &err), "run_update of a failed run (no result)");
  journal_close(j);

  j = journal_open(path, JOURNAL_READ, NULL);
  RunRec g;
  memset(&g, 0, sizeof g);
  ok(j && journal_run_get(j, 1, true, &g, &err), "run_get after reopening");
  ok(g.id == 1 && same_str(g.program, a.program) && same_str(g.program_path, a.program_path) &&
            same_str(g.module_hash, a.module_hash) && same_str(g.inputs, a.inputs) &&
            same_str(g.options, a.options) && same_str(g.status, "ok") &&
            g.started_at == a.started_at && g.ended_at == a.ended_at && same_str(g.result, a.result) &&
            g.error == NULL && g.resumes == 3,
     "every run field round-trips");
  ok(g.module_len == a.module_len && g.module && memcmp(g.module, a.module, a.module_len) == 0,
     "the module bytes round-trip (with NUL and high bytes)");
  ok(!g.locked, "a run nobody holds is not locked");
  run_rec_free(&g);
  ok(journal_run_get(j, 2, false, &g, &err) && g.module == NULL && g.module_len == 0,
     "without with_module, no module bytes");
  ok(g.result == NULL && same_str(g.error, b.error) && same_str(g.status, "failed"),
     "a NULL result stays NULL; the error round-trips");
  run_rec_free(&g);

  char *want = strf("no run 99 in %s", path);
  ok(!journal_run_get(j, 99, false, &g, &err), "run_get of an unknown run fails");
  is_str(err, want, "... saying there is no such run");
  free(err);
  err = NULL;
  EffectRec *es = NULL;
  size_t n = 7;
  ok(!journal_effects_load(j, 99, &es, &n, &err), "effects_load of an unknown run fails");
  is_str(err, want, "... saying there is no such run");
  free(err);
  err = NULL;
  char **lines = NULL;
  int64_t *at = NULL;
  ok(!journal_events_load(j, 99, &lines, &at, &n, &err), "events_load of an unknown run fails");
  is_str(err, want, "... saying there is no such run");
  free(err);
  err = NULL;
  ok(journal_effects_load(j, 1, &es, &n, &err) && n == 0, "a run without effects loads none");
  effect_recs_free(es, n);
  journal_close(j);

  j = journal_open(path, JOURNAL_WRITE, NULL);
  RunRec ghost = new_run("ghost.weft");
  ghost.id = 99;
  ghost.status = xstrdup("ok");
  ok(!journal_run_update(j, &ghost, &err), "run_update of an unknown run fails");
  is_str(err, want, "... saying there is no such run");
  journal_close(j);
  run_rec_free(&ghost);
  free(err);
  free(want);
  run_rec_free(&a);
  run_rec_free(&b);
  free(path);
}

/* ---- effects and events ------------------------------------------------------------------- */

static void test_effects(void) {
  char *path = tpath("effects.db"), *err = NULL;
  int64_t id = journal_with_run(path, "e.weft");
  Journal *j = journal_open(path, JOURNAL_WRITE, NULL);
  EffectRec e[4] = {new_effect("main/ask#2", 5000, true), new_effect("main/ask#1", 5000, false),
                    new_effect("main/ask#0", 9000, true), new_effect("main/sleep#1", 100, true)};
  e[3].kind = (free(e[3].kind), xstrdup("sleep"));
  e[3].request = (free(e[3].request), xstrdup("{\"ms\":250}"));
  e[3].response = (free(e[3].response), NULL);
  e[3].req_hash = 1;
  bool put = true;
  for (int i = 0; i < 4; i++) put = put && j && journal_effect_put(j, id, &e[i]);
  ok(put && journal_commit(j, &err), "effect_put and commit");
  journal_close(j);

  j = journal_open(path, JOURNAL_READ, NULL);
  EffectRec *got = NULL;
  size_t n = 0;
  ok(j && journal_effects_load(j, id, &got, &n, &err) && n == 4, "effects_load finds 4 effects");
  /* by started_at, then address: sleep#1 (100), ask#1 and ask#2 (5000), ask#0 (9000) */
  ok(n == 4 && same_effect(&got[0], &e[3], true) && same_effect(&got[1], &e[1], true) &&
            same_effect(&got[2], &e[0], true) && same_effect(&got[3], &e[2], true),
     "every effect field round-trips, ordered by started_at then address");
  ok(n == 4 && got[2].req_hash == 0xfedcba9876543210ULL, "a req_hash with the top bit set survives");
  is_int(raw_int(path, "SELECT req_hash FROM effects WHERE addr = 'main/ask#0'"),
         (long long)(int64_t)0xfedcba9876543210ULL, "req_hash is stored as the int64 bit pattern");
  effect_recs_free(got, n);
  journal_close(j);

  j = journal_open(path, JOURNAL_WRITE, NULL);
  EffectRec again = new_effect("main/ask#1", 6000, true);
  again.response = (free(again.response), xstrdup("second try"));
  ok(j && journal_effect_put(j, id, &again) && journal_commit(j, NULL), "effect_put at the same address");
  ok(journal_effects_load(j, id, &got, &n, &err) && n == 4, "... replaces the effect (still 4)");
  bool replaced = false;
  for (size_t i = 0; i < n; i++)
    if (strcmp(got[i].addr, "main/ask#1") == 0) replaced = same_effect(&got[i], &again, true);
  ok(replaced, "... with the new record's fields");
  effect_recs_free(got, n);
  journal_close(j);
  effect_rec_free(&again);
  for (int i = 0; i < 4; i++) effect_rec_free(&e[i]);
  free(path);
}

static void test_batch_visibility(void) {
  char *path = tpath("batch.db");
  int64_t id = journal_with_run(path, "b.weft");
  Journal *j = journal_open(path, JOURNAL_WRITE, NULL);
  EffectRec e = new_effect("main/ask#1", 1, true);
  ok(j && journal_effect_put(j, id, &e), "effect_put buffers");
  is_int(raw_int(path, "SELECT count(*) FROM effects"), 0, "... not visible to another connection before commit");
  ok(journal_commit(j, NULL), "commit");
  is_int(raw_int(path, "SELECT count(*) FROM effects"), 1, "... makes it visible");
  ok(journal_commit(j, NULL), "commit with nothing pending");
  e.addr = (free(e.addr), xstrdup("main/ask#2"));
  journal_effect_put(j, id, &e);
  journal_close(j);
  is_int(raw_int(path, "SELECT count(*) FROM effects"), 2, "close commits what is pending");
  effect_rec_free(&e);
  free(path);
}

static void test_events(void) {
  char *path = tpath("events.db"), *err = NULL;
  int64_t one = journal_with_run(path, "one.weft"), two = journal_with_run(path, "two.weft");
  Journal *j = journal_open(path, JOURNAL_WRITE, NULL);
  const char *ev[] = {"{\"ev\":\"fiber_start\"}", "{\"ev\":\"ask\",\"reply\":\"\\\"q\\\"\"}", "{\"ev\":\"fiber_end\"}",
                      "{\"ev\":\"resumed\"}", "{\"ev\":\"fiber_end\",\"n\":2}"};
  bool put = j != NULL;
  for (int i = 0; i < 3; i++) {
    put = put && journal_event_put(j, one, 100 + i, ev[i], strlen(ev[i]));
    put = put && journal_event_put(j, two, 900 - i, ev[i], strlen(ev[i]));
  }
  ok(put && journal_commit(j, &err), "event_put for two runs, interleaved");
  journal_close(j);
  j = journal_open(path, JOURNAL_WRITE, NULL);
  put = j != NULL;
  for (int i = 3; i < 5; i++) put = put && journal_event_put(j, one, 100 + i, ev[i], strlen(ev[i]));
  ok(put && journal_commit(j, &err), "event_put after reopening (a resumed run)");
  char **lines = NULL;
  int64_t *at = NULL;
  size_t n = 0;
  ok(journal_events_load(j, one, &lines, &at, &n, &err) && n == 5, "events_load finds the 5 events");
  bool order = n == 5;
  for (size_t i = 0; order && i < n; i++) order = strcmp(lines[i], ev[i]) == 0 && at[i] == 100 + (int64_t)i;
  ok(order, "events come back in order with their times");
  journal_lines_free(lines, at, n);
  is_int(raw_int(path, "SELECT group_concat(seq, ',') = '1,2,3,4,5' FROM (SELECT seq FROM events WHERE run = 1 ORDER BY seq)"),
         1, "seq continues after the old events (1..5)");
  ok(journal_events_load(j, two, &lines, &at, &n, &err) && n == 3 && at[0] == 900 && at[2] == 898,
     "the other run keeps its own 3 events in put order, not time order");
  journal_lines_free(lines, at, n);
  journal_close(j);
  free(path);
}

static void test_totals(void) {
  char *path = tpath("totals.db"), *err = NULL;
  int64_t a = journal_with_run(path, "a.weft"), b = journal_with_run(path, "b.weft");
  journal_with_run(path, "c.weft");
  Journal *j = journal_open(path, JOURNAL_WRITE, NULL);
  EffectRec e[4] = {new_effect("main/ask#1", 1, true), new_effect("main/ask#2", 2, false),
                    new_effect("main/ask#3", 3, true), new_effect("main/sleep#1", 4, true)};
  e[1].input_tokens = 10;
  e[1].output_tokens = 0;
  e[1].cost_usd = 0.5;
  e[3].kind = (free(e[3].kind), xstrdup("sleep"));
  e[3].input_tokens = e[3].output_tokens = 0;
  e[3].cost_usd = 0;
  for (int i = 0; i < 4; i++) journal_effect_put(j, a, &e[i]);
  journal_effect_put(j, b, &e[0]);
  journal_commit(j, NULL);
  RunRec g;
  ok(journal_run_get(j, a, false, &g, &err), "run_get with totals");
  ok(g.calls == 3 && g.failed_calls == 1, "calls counts asks (not sleeps); failed_calls the failed ones");
  ok(g.input_tokens == 2 * 1234567890123LL + 10 && g.output_tokens == 84, "token sums");
  ok(g.cost_usd > 0.5249999 && g.cost_usd < 0.5250001, "cost sum");
  run_rec_free(&g);
  RunRec *rs = NULL;
  size_t n = 0;
  ok(journal_runs_list(j, &rs, &n, &err) && n == 3, "runs_list lists the 3 runs");
  ok(n == 3 && rs[0].id == 1 && rs[1].id == 2 && rs[2].id == 3 && same_str(rs[2].program, "c.weft"),
     "oldest first");
  ok(n == 3 && rs[0].calls == 3 && rs[0].failed_calls == 1 && rs[1].calls == 1 && rs[1].output_tokens == 42 &&
            rs[2].calls == 0 && rs[2].cost_usd == 0 && rs[2].input_tokens == 0,
     "with each run's totals (zero without effects)");
  ok(n == 3 && rs[0].module == NULL && same_str(rs[0].inputs, "{\"topic\": \"caf\xc3\xa9 \\\"x\\\"\"}"),
     "without module bytes, with the other fields");
  run_recs_free(rs, n);
  journal_close(j);
  for (int i = 0; i < 4; i++) effect_rec_free(&e[i]);
  free(path);
}

/* ---- run locks ------------------------------------------------------------------------ */

typedef struct Child {
  pid_t pid;
  int ready, go;   /* ready: the child's report; go: a byte tells it to close and exit */
} Child;

/* Forks a child that opens path, takes run id's lock (id 0: creates a run,
 * which takes its lock), writes the id on `ready` (0 on failure) and holds
 * the lock until it reads a byte on `go` or dies. */
static Child hold_lock(const char *path, int64_t id) {
  int ready[2], go[2];
  Child c = {-1, -1, -1};
  if (pipe(ready) != 0 || pipe(go) != 0) return c;
  fflush(stdout);
  c.pid = fork();
  if (c.pid == 0) {
    close(ready[0]);
    close(go[1]);
    Journal *j = journal_open(path, JOURNAL_WRITE, NULL);
    RunRec r = new_run("held.weft");
    if (!j) id = 0;
    else if (id == 0) id = journal_run_create(j, &r, NULL) ? r.id : 0;
    else if (!journal_run_lock(j, id, NULL)) id = 0;
    ssize_t w = write(ready[1], &id, sizeof id);
    char b;
    ssize_t got = read(go[0], &b, 1);
    journal_close(j);
    run_rec_free(&r);
    _exit(w == sizeof id && got == 1 ? 0 : 1);
  }
  close(ready[1]);
  close(go[0]);
  c.ready = ready[0];
  c.go = go[1];
  return c;
}

static int64_t child_report(Child *c) {
  int64_t id = 0;
  return c->ready >= 0 && read(c->ready, &id, sizeof id) == sizeof id ? id : 0;
}

static int release_child(Child *c) {
  int st = 0;
  ssize_t w = write(c->go, "x", 1);
  close(c->go);
  close(c->ready);
  return w == 1 && waitpid(c->pid, &st, 0) == c->pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_locks(void) {
  char *path = tpath("locks.db"), *err = NULL;
  journal_with_run(path, "one.weft");
  journal_with_run(path, "two.weft");
  Child c = hold_lock(path, 1);
  is_int(child_report(&c), 1, "a child process takes run 1's lock");

  Journal *r = journal_open(path, JOURNAL_READ, NULL);
  RunRec g;
  ok(r && journal_run_get(r, 1, false, &g, NULL) && g.locked, "READ: run_get sees run 1 locked");
  run_rec_free(&g);
  RunRec *rs = NULL;
  size_t n = 0;
  ok(r && journal_runs_list(r, &rs, &n, NULL) && n == 2 && rs[0].locked && !rs[1].locked,
     "READ: runs_list marks run 1 locked, run 2 not");
  run_recs_free(rs, n);
  ok(r && !journal_run_lock(r, 2, &err), "READ: run_lock is refused");
  free(err);
  err = NULL;
  journal_close(r);

  Journal *j = journal_open(path, JOURNAL_WRITE, NULL);
  char *want = strf("run 1 is in use by another weft process (pid %ld)", (long)c.pid);
  ok(j && !journal_run_lock(j, 1, &err), "the parent is refused run 1's lock");
  is_str(err, want, "... with the holder's pid");
  free(err);
  err = NULL;
  ok(j && journal_run_lock(j, 2, &err), "run 2 stays free for the parent");
  ok(j && journal_run_get(j, 2, false, &g, NULL) && !g.locked, "a lock this process holds is not `locked`");
  run_rec_free(&g);
  is_int(release_child(&c), 0, "the child closes its journal and exits");
  ok(j && journal_run_lock(j, 1, &err), "the parent gets run 1's lock once the child closed");
  free(err);
  err = NULL;
  journal_close(j);

  Child k = hold_lock(path, 0);
  int64_t id = child_report(&k);
  is_int(id, 3, "a child's run_create takes the new run's lock");
  j = journal_open(path, JOURNAL_WRITE, NULL);
  ok(j && !journal_run_lock(j, id, &err), "the parent is refused it");
  free(err);
  err = NULL;
  int st = 0;
  kill(k.pid, SIGKILL);
  ok(waitpid(k.pid, &st, 0) == k.pid && WIFSIGNALED(st), "the child is killed with SIGKILL");
  close(k.go);
  close(k.ready);
  ok(j && journal_run_lock(j, id, &err), "the killed child's run is free at once");
  ok(j && journal_run_get(j, id, false, &g, NULL) && same_str(g.status, "running"),
     "... and still `running` in the journal (interrupted, resumable)");
  run_rec_free(&g);
  journal_close(j);
  free(err);
  free(want);
  free(path);
}

/* ---- write failures ----------------------------------------------------------------------- */

/* Forks a child that drops root (when it is root) and opens path in mode;
 * returns its message in *msg. Returns 77 when root cannot be dropped,
 * else 0 when the open failed as expected. */
static int open_unprivileged(const char *path, JournalMode mode, char **msg) {
  int p[2];
  *msg = NULL;
  if (pipe(p) != 0) return -1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(77);
    char *err = NULL;
    Journal *j = journal_open(path, mode, &err);
    ssize_t w = err ? write(p[1], err, strlen(err)) : 0;
    journal_close(j);
    _exit(j == NULL && w > 0 ? 0 : 1);
  }
  close(p[1]);
  char buf[1024];
  ssize_t got = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  *msg = got > 0 ? xstrndup(buf, (size_t)got) : NULL;
  int st = 0;
  return waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_read_only(void) {
  char *dir = tpath("ro"), *path = tpath("ro/journal.db"), *fresh = tpath("ro/new.db"), *err = NULL;
  mkdir(dir, 0755);
  chmod(tmpdir, 0755);   /* an unprivileged child must reach it */
  int64_t id = journal_with_run(path, "ro.weft");
  chmod(path, 0444);
  chmod(dir, 0555);
  char *msg = NULL;
  int rc = open_unprivileged(path, JOURNAL_WRITE, &msg);
  char *want = strf("cannot write the journal %s: Permission denied (use --journal PATH or --no-journal)", path);
  if (rc == 77) diag("skip root: cannot drop root to test a read-only file (setuid failed)");
  else is_str(msg, want, "WRITE of a read-only file fails, naming it and the way out");
  free(msg);
  free(want);
  rc = open_unprivileged(fresh, JOURNAL_WRITE, &msg);
  want = strf("cannot write the journal %s: the directory %s: Permission denied (use --journal PATH or --no-journal)",
              fresh, dir);
  if (rc == 77) diag("skip root: cannot drop root to test an unwritable directory (setuid failed)");
  else is_str(msg, want, "WRITE in an unwritable directory fails, naming it");
  free(msg);
  free(want);
  rc = open_unprivileged(path, JOURNAL_READ, &msg);
  want = strf("cannot read the journal %s: SQLite must create %s-shm to read it and cannot write there", path, path);
  if (rc == 77) diag("skip root: cannot drop root to test reading in an unwritable directory (setuid failed)");
  else is_one_line(msg, want, "READ of a WAL journal whose -shm cannot be created fails, saying why");
  free(msg);
  free(want);
  chmod(dir, 0755);

  /* a journal opened for reading is read-only for SQLite too: writes are refused */
  Journal *j = journal_open(path, JOURNAL_READ, &err);
  ok(j != NULL, "READ opens the read-only journal");
  EffectRec e = new_effect("main/ask#1", 1, true);
  want = strf("cannot write the journal %s: ", path);
  /* writes are queued in memory and fail when committed */
  ok(j && journal_effect_put(j, id, &e), "a write through a READ journal is queued");
  ok(j && !journal_commit(j, &err), "... and refused when committed");
  is_one_line(j ? journal_error(j) : NULL, want, "... with the journal's message");
  ok(j && !journal_event_put(j, id, 1, "{}", 2), "... and every later write is refused");
  is_one_line(err, want, "... with the same message in the commit's error");
  journal_close(j);
  free(err);
  free(want);
  effect_rec_free(&e);
  chmod(path, 0644);
  free(dir);
  free(path);
  free(fresh);
}

static void test_busy(void) {
  char *path = tpath("busy.db");
  int64_t id = journal_with_run(path, "busy.weft");
  sqlite3 *other = NULL;
  sqlite3_open(path, &other);
  bool held = sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
  ok(held, "another connection holds a write transaction");
  Journal *j = journal_open(path, JOURNAL_WRITE, NULL);
  ok(j != NULL, "WRITE opens the journal anyway (opening writes nothing)");
  EffectRec e = new_effect("main/ask#1", 1, true);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ok(j && journal_effect_put(j, id, &e) && !journal_commit(j, NULL), "a write fails after the busy timeout");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  ok((t1.tv_sec - t0.tv_sec) >= 4, "... having waited for the other writer");
  char *want = strf("the journal %s is locked by another process (busy for 5 s)", path);
  is_str(j ? journal_error(j) : NULL, want, "... saying the journal is locked");
  sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(other);
  ok(j && !journal_effect_put(j, id, &e), "the broken journal refuses later writes");
  journal_close(j);
  j = journal_open(path, JOURNAL_WRITE, NULL);
  ok(j && journal_effect_put(j, id, &e) && journal_commit(j, NULL), "a new Journal writes once the lock is gone");
  journal_close(j);
  effect_rec_free(&e);
  free(want);
  free(path);
}

/* Child of test_disk_full: writes under a 256 KiB file size limit until a
 * write fails; reports the committed count and the message. Exit code:
 * 0 all good, else the number of the check that failed. */
static int fill_disk(const char *path, int64_t id, int out) {
  struct rlimit rl = {256 * 1024, 256 * 1024};
  signal(SIGXFSZ, SIG_IGN);
  if (setrlimit(RLIMIT_FSIZE, &rl) != 0) return 2;
  Journal *j = journal_open(path, JOURNAL_WRITE, NULL);
  if (!j) return 3;
  int64_t committed = 0;
  char *err = NULL;
  for (int i = 0; i < 100000; i++) {
    char addr[64];
    snprintf(addr, sizeof addr, "main/ask#%d", i);
    EffectRec e = new_effect(addr, i, true);
    bool good = journal_effect_put(j, id, &e) && journal_event_put(j, id, i, "{\"ev\":\"ask\"}", 12) &&
              journal_commit(j, &err);
    effect_rec_free(&e);
    if (!good) break;
    committed++;
  }
  const char *m = journal_error(j);
  int rc = !m ? 4 : journal_effect_put(j, id, &(EffectRec){0}) ? 5 : journal_commit(j, NULL) ? 6 : 0;
  if (write(out, &committed, sizeof committed) != sizeof committed) rc = 7;
  if (m && write(out, m, strlen(m)) != (ssize_t)strlen(m)) rc = 8;
  free(err);
  journal_close(j);
  return rc;
}

static void test_disk_full(void) {
  char *path = tpath("full-disk.db");
  int64_t id = journal_with_run(path, "full.weft");
  int p[2];
  if (pipe(p) != 0) return;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    _exit(fill_disk(path, id, p[1]));
  }
  close(p[1]);
  int64_t committed = -1;
  char msg[1024] = {0};
  ssize_t got = read(p[0], &committed, sizeof committed);
  ssize_t mlen = got == sizeof committed ? read(p[0], msg, sizeof msg - 1) : 0;
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  is_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0,
         "file size limit: a write fails cleanly, the journal stays broken");
  ok(committed > 10, "... after some effects were committed");
  char *want = strf("cannot write the journal %s: ", path);
  is_one_line(mlen > 0 ? msg : NULL, want, "... with a message naming the journal");
  diag("note: %s", msg);
  char *err = NULL;
  Journal *j = journal_open(path, JOURNAL_READ, &err);
  EffectRec *es = NULL;
  size_t n = 0;
  ok(j && journal_effects_load(j, id, &es, &n, &err), "the journal reopens");
  is_int((long long)n, committed, "every committed effect is there, nothing more");
  effect_recs_free(es, n);
  journal_close(j);
  char *qc = raw_text(path, "PRAGMA quick_check");
  is_str(qc, "ok", "... and the file is not damaged (quick_check)");
  free(qc);
  free(err);
  free(want);
  free(path);
}

/* ---- speed ---------------------------------------------------------------------------------- */

/* User and system CPU time so far, in ms. */
static void cpu_ms(double t[2]) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  t[0] = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3;
  t[1] = ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

/* 1,000 effects with 3 events each, one commit per effect (as an engine
 * poll does), then the same with one commit for all (no fsync cost). */
static void test_speed(void) {
  char *path = tpath("speed.db");
  int64_t id = journal_with_run(path, "speed.weft");
  Journal *j = journal_open(path, JOURNAL_WRITE, NULL);
  const char *ev = "{\"t\":12,\"ev\":\"ask\",\"addr\":\"main/fanout#1@3[17]/ask#1\",\"role\":\"writer\","
                   "\"model\":\"mock\",\"status\":\"ok\",\"input_tokens\":120,\"output_tokens\":80}";
  size_t evn = strlen(ev);
  double figures[2][2];
  bool good = j != NULL;
  for (int round = 0; round < 2; round++) {
    double t0[2], t1[2];
    cpu_ms(t0);
    for (int i = 0; good && i < 1000; i++) {
      char addr[64];
      snprintf(addr, sizeof addr, "main/fanout#1@3[%d]/ask#%d", i, round);
      EffectRec e = new_effect(addr, i, true);
      good = journal_effect_put(j, id, &e) && journal_event_put(j, id, i, ev, evn) &&
           journal_event_put(j, id, i, ev, evn) && journal_event_put(j, id, i, ev, evn) &&
           (round == 1 || journal_commit(j, NULL));
      effect_rec_free(&e);
    }
    good = good && journal_commit(j, NULL);
    cpu_ms(t1);
    figures[round][0] = t1[0] - t0[0];
    figures[round][1] = t1[1] - t0[1];
  }
  ok(good, "2,000 effects and 6,000 events written");
  diag("note: 1000 effects + 3000 events, a commit per effect: %.1f ms user + %.1f ms system CPU "
       "(%.4f ms per effect); with one commit: %.1f ms user + %.1f ms system",
       figures[0][0], figures[0][1], (figures[0][0] + figures[0][1]) / 1000, figures[1][0], figures[1][1]);
  is_int(raw_int(path, "SELECT count(*) FROM effects"), 2000, "... all of them in the file");
  journal_close(j);
  free(path);
}

/* ---- records and cassettes -------------------------------------------------------------------- */

static void test_records(void) {
  Records *rs = records_new();
  const char *addrs[] = {"main/ask#2", "main/ask#10", "main/ask#1"};
  for (int i = 0; i < 3; i++) {
    EffectRec e = new_effect(addrs[i], i, true);
    records_put(rs, &e);
    if (i == 0) ok(e.addr == NULL && e.response == NULL, "records_put takes the record's strings");
  }
  EffectRec again = new_effect("main/ask#2", 99, false);
  records_put(rs, &again);
  is_int((long long)records_count(rs), 3, "a record at the same address replaces the old one");
  const EffectRec *g = records_get(rs, "main/ask#2");
  ok(g && !g->ok && g->started_at == 99 && same_str(g->error, "timed out after 30s"), "records_get finds the new one");
  ok(records_get(rs, "main/ask#3") == NULL, "records_get of an unknown address is NULL");
  for (int i = 0; i < 200; i++) {
    char addr[32];
    snprintf(addr, sizeof addr, "x/%03d", i);
    EffectRec e = new_effect(addr, i, true);
    records_put(rs, &e);
  }
  size_t n = 0;
  const EffectRec **v = records_sorted(rs, &n);
  bool sorted = n == 203;
  for (size_t i = 1; sorted && i < n; i++) sorted = strcmp(v[i - 1]->addr, v[i]->addr) < 0;
  ok(sorted && strcmp(v[0]->addr, "main/ask#1") == 0 && strcmp(v[1]->addr, "main/ask#10") == 0,
     "records_sorted orders by address (byte order), after growing");
  free(v);
  records_free(rs);
}

static void check_cassette_error(const char *name, const char *text, const char *want_part, const char *desc) {
  char *path = tpath(name), *err = NULL;
  write_text(path, text);
  Records *rs = cassette_read(path, &err);
  bool good = rs == NULL && err && strstr(err, path) && strstr(err, want_part) && !strchr(err, '\n');
  ok(good, "%s", desc);
  if (!good) diag("  got: \"%s\"\n  want a line naming %s with \"%s\"", err ? err : "(null)", path, want_part);
  records_free(rs);
  free(err);
  free(path);
}

static void test_cassettes(void) {
  char *path = tpath("calls.json"), *err = NULL;
  Records *rs = records_new();
  EffectRec src[3] = {new_effect("main/ask#2", 10, true), new_effect("main/ask#1", 20, false),
                      new_effect("main/sleep#1", 30, true)};
  src[2].kind = (free(src[2].kind), xstrdup("sleep"));
  src[2].request = (free(src[2].request), xstrdup("{\"ms\":250}"));
  src[2].response = (free(src[2].response), NULL);
  src[2].cost_usd = 0;
  src[0].cost_usd = 0.000123456789;
  for (int i = 0; i < 3; i++) {
    EffectRec copy = src[i];
    copy.addr = xstrdup(src[i].addr);
    copy.kind = xstrdup(src[i].kind);
    copy.request = xstrdup(src[i].request);
    copy.response = src[i].response ? xstrdup(src[i].response) : NULL;
    copy.error = src[i].error ? xstrdup(src[i].error) : NULL;
    copy.error_kind = src[i].error_kind ? xstrdup(src[i].error_kind) : NULL;
    records_put(rs, &copy);
  }
  ok(cassette_write(path, rs, "tests/prog.weft", &err), "cassette_write");
  Records *back = cassette_read(path, &err);
  ok(back && records_count(back) == 3, "cassette_read reads the 3 effects back");
  bool same = back != NULL;
  for (int i = 0; same && i < 3; i++) {
    const EffectRec *g = records_get(back, src[i].addr);
    same = g && same_effect(g, &src[i], false) && g->started_at == 0;
  }
  ok(same, "every field but the timings round-trips (quotes, UTF-8, top-bit req_hash)");
  records_free(back);
  records_free(rs);
  for (int i = 0; i < 3; i++) effect_rec_free(&src[i]);

  check_cassette_error("trunc.json", "{\"weft_cassette\": 1, \"program\": \"p\", \"effects\": [{\"addr\": \"main/a",
                       "not JSON", "a truncated cassette is refused");
  check_cassette_error("missing.json",
                       "{\"weft_cassette\": 1, \"effects\": [{\"addr\": \"main/ask#1\", \"kind\": \"ask\", \"ok\": true}]}",
                       "effect 0 is incomplete", "an effect without request/req_hash/response is refused");
  check_cassette_error("noresp.json",
                       "{\"weft_cassette\": 1, \"effects\": [{\"addr\": \"a\", \"kind\": \"ask\", \"request\": {},"
                       " \"req_hash\": \"00000000000000ff\", \"ok\": true}]}",
                       "effect 0 is incomplete", "an ok ask without a response is refused");
  check_cassette_error("newer.json", "{\"weft_cassette\": 2, \"effects\": []}",
                       "format 2; this weft reads format 1", "a newer cassette format is refused, naming both");
  check_cassette_error("plain.json", "{\"effects\": []}", "not a weft cassette", "JSON that is not a cassette is refused");
  char *missing = tpath("nope.json");
  Records *none = cassette_read(missing, &err);
  ok(none == NULL && err && strstr(err, missing), "a missing cassette is refused, naming it");
  free(err);
  free(missing);
  free(path);
}

/* ---- main ------------------------------------------------------------------------------------------- */

static void remove_tree(const char *dir) {
  char *cmd = strf("rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "test_journal: cannot remove %s\n", dir);
  free(cmd);
}

int main(void) {
  if (!mkdtemp(tmpdir)) {
    fprintf(stderr, "test_journal: cannot create a directory under /tmp: %s\n", strerror(errno));
    return 1;
  }
  test_create_reopen();
  test_read_missing();
  test_empty_file();
  test_unwritable_place();
  test_not_a_journal();
  test_other_sqlite();
  test_newer_format();
  test_truncated();
  test_runs();
  test_effects();
  test_batch_visibility();
  test_events();
  test_totals();
  test_locks();
  test_read_only();
  test_busy();
  test_disk_full();
  test_speed();
  test_records();
  test_cassettes();
  remove_tree(tmpdir);
  return tap_done();
}
