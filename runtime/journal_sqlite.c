/* journal_sqlite.c — the SQLite journal backend: the file's schema and the
 * checks made on open, the batched write transaction, the run locks on the
 * companion file PATH-lock, and the queries behind JournalOps. The file
 * format is described in docs/runtime.md ("Journal file format").
 *
 * Writes (effect_put, event_put) are queued in memory and written by
 * commit in one BEGIN IMMEDIATE ... COMMIT transaction, so the file's
 * write lock is held only while committing, never while a run waits for a
 * model (other weft processes share the journal). Events alone commit
 * once EVENTS_MAX of them are queued. run_create and run_update commit at
 * once. The first failed write breaks the journal (j->error).
 *
 * Run locks are POSIX record locks, which belong to the process: closing
 * ANY descriptor of PATH-lock in this process drops them all, so a process
 * keeps one Journal per file while it holds run locks. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/util.h"

#define APPLICATION_ID 0x57454654   /* 'WEFT' */
#define BUSY_MS 5000
#define HINT " (use --journal PATH or --no-journal)"

/* Format version 1. application_id 1464157780 is 0x57454654. */
static const char SCHEMA[] =
    "CREATE TABLE runs(id INTEGER PRIMARY KEY, program TEXT NOT NULL,"
    " program_path TEXT NOT NULL, module BLOB NOT NULL, module_hash TEXT NOT NULL,"
    " inputs TEXT NOT NULL, options TEXT NOT NULL, status TEXT NOT NULL,"
    " started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL DEFAULT 0, result TEXT,"
    " error TEXT, resumes INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE effects(run INTEGER NOT NULL REFERENCES runs(id), addr TEXT NOT NULL,"
    " kind TEXT NOT NULL, request TEXT NOT NULL, req_hash INTEGER NOT NULL,"
    " ok INTEGER NOT NULL, response TEXT, error TEXT, error_kind TEXT,"
    " attempts INTEGER NOT NULL, retries INTEGER NOT NULL, repairs INTEGER NOT NULL,"
    " input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,"
    " cost_usd REAL NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL,"
    " label TEXT, PRIMARY KEY(run, addr)) WITHOUT ROWID;"
    "CREATE TABLE events(run INTEGER NOT NULL REFERENCES runs(id), seq INTEGER NOT NULL,"
    " at INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY(run, seq)) WITHOUT ROWID;"
    "PRAGMA application_id = 1464157780;"
    "PRAGMA user_version = 1;";

static const char SQL_EFFECT_PUT[] =
    "INSERT OR REPLACE INTO effects(run, addr, kind, request, req_hash, ok, response, error,"
    " error_kind, attempts, retries, repairs, input_tokens, output_tokens, cost_usd,"
    " started_at, ended_at, label) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)";
static const char SQL_EVENT_PUT[] = "INSERT INTO events(run, seq, at, body) VALUES(?1,?2,?3,?4)";
static const char SQL_MAX_SEQ[] = "SELECT coalesce(max(seq), 0) FROM events WHERE run = ?1";

/* A run with its totals; ?1 says whether to load the module bytes. */
#define SQL_RUNS                                                                              \
  "SELECT r.id, r.program, r.program_path, CASE WHEN ?1 THEN r.module END, r.module_hash,"   \
  " r.inputs, r.options, r.status, r.started_at, r.ended_at, r.result, r.error, r.resumes,"  \
  " coalesce(sum(e.kind IN ('ask', 'step')), 0), coalesce(sum(e.kind IN ('ask', 'step') AND e.ok = 0), 0),"        \
  " coalesce(sum(e.input_tokens), 0), coalesce(sum(e.output_tokens), 0), total(e.cost_usd)"  \
  " FROM runs r LEFT JOIN effects e ON e.run = r.id"

typedef struct SeqNext {
  int64_t run, next;   /* the seq the run's next event gets */
} SeqNext;

/* A queued write: an effect (its strings owned) or an event. */
typedef struct Pending {
  int64_t run;
  bool is_event;
  EffectRec e;         /* !is_event */
  int64_t at;          /* is_event */
  char *body;
  size_t len;
} Pending;

#define EVENTS_MAX 4096
#define PENDING_BYTES_MAX ((size_t)16 << 20)

typedef struct SqlJournal {
  Journal j;
  Pending *pend;       /* the queued writes, in order */
  size_t npend, cappend, pend_bytes, pend_events;
  sqlite3 *db;
  JournalMode mode;
  int lock_fd;         /* PATH-lock; -1 when absent (READ mode) */
  bool in_tx;          /* the write batch is open */
  int sys_errno;       /* errno right after the last failed statement */
  sqlite3_stmt *begin, *commit, *effect, *event, *max_seq;
  SeqNext *seqs;
  size_t nseqs, capseqs;
  bool label_col;      /* effects has its label column (a journal made before it had none) */
} SqlJournal;

/* ---- messages ------------------------------------------------------------------- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = xvasprintf(f, ap);
  va_end(ap);
  for (char *p = s; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';   /* messages are one line */
  return s;
}

static void set_err(char **err, char *m) {
  if (err) *err = m;
  else free(m);
}

/* Whether the directory of path can be written (a WAL reader must create
 * PATH-shm there). */
static bool dir_writable(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
  bool ok = access(dir, W_OK) == 0;
  free(dir);
  return ok;
}

/* SQLite's message, with the system's reason for an I/O failure (SQLite
 * keeps it only for some failures: else errno as the failure left it). */
static char *reason(const SqlJournal *s, int rc) {
  sqlite3 *db = s->db;
  const char *m = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int e = db && sqlite3_system_errno(db) ? sqlite3_system_errno(db) : s->sys_errno;
  int prim = rc & 0xff;
  bool ro_cantopen = s->mode == JOURNAL_READ && prim == SQLITE_CANTOPEN && !dir_writable(s->j.path);
  if (rc == SQLITE_READONLY_DIRECTORY || rc == SQLITE_READONLY_CANTINIT || ro_cantopen)
    return fmt("SQLite must create %s-shm to read it and cannot write there (%s)", s->j.path, m);
  if (e && (prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN)) return fmt("%s (%s)", m, strerror(e));
  return fmt("%s", m);
}

static bool has_sqlite_magic(const char *path) {
  char head[16] = {0};
  FILE *f = fopen(path, "rb");
  size_t got = f ? fread(head, 1, sizeof head, f) : 0;
  if (f) fclose(f);
  return got == sizeof head && memcmp(head, "SQLite format 3", 16) == 0;
}

/* The first finding of PRAGMA quick_check, or NULL when it says "ok". */
static char *quick_check(sqlite3 *db) {
  sqlite3_stmt *st = NULL;
  char *found = NULL;
  if (sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK) {
    found = fmt("%s", sqlite3_errmsg(db));
  } else {
    int rc = sqlite3_step(st);
    const char *t = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (rc != SQLITE_ROW) found = fmt("%s", sqlite3_errmsg(db));
    else if (!t || strcmp(t, "ok") != 0) found = fmt("%.200s", t ? t : "no answer");
  }
  sqlite3_finalize(st);
  return found;
}

static char *damaged(const char *path, const char *why, const char *found) {
  if (found && strcmp(found, why) != 0)
    return fmt("the journal %s is damaged (SQLite: %s; %s); move it aside to start a new one", path,
               why, found);
  return fmt("the journal %s is damaged (SQLite: %s); move it aside to start a new one", path, why);
}

/* The one-line message for SQLite failure rc on s; verb is "read" or
 * "write". While opening, a failure SQLite does not explain is checked
 * with quick_check, since a truncated file shows up in many ways. */
static char *describe(SqlJournal *s, int rc, const char *verb, bool opening) {
  const char *path = s->j.path;
  int prim = rc & 0xff;
  if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
    return fmt("the journal %s is locked by another process (busy for %d s)", path, BUSY_MS / 1000);
  if (prim == SQLITE_NOTADB && !has_sqlite_magic(path)) return fmt("%s is not a weft journal", path);
  char *why = reason(s, rc), *m;
  if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT) {
    char *found = s->db ? quick_check(s->db) : NULL;
    m = damaged(path, why, found);
    free(found);
  } else if (prim == SQLITE_READONLY || prim == SQLITE_CANTOPEN || prim == SQLITE_PERM ||
             prim == SQLITE_AUTH || prim == SQLITE_FULL || !opening || !s->db) {
    m = fmt("cannot %s the journal %s: %s%s", verb, path, why,
            opening && s->mode == JOURNAL_WRITE ? HINT : "");
  } else {
    char *found = quick_check(s->db);
    m = found ? damaged(path, why, found) : fmt("cannot open the journal %s: %s", path, why);
    free(found);
  }
  free(why);
  return m;
}

/* ---- statements -------------------------------------------------------------- */

static int prepare(SqlJournal *s, const char *sql, bool keep, sqlite3_stmt **st) {
  return sqlite3_prepare_v3(s->db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0, st, NULL);
}

static int failed(SqlJournal *s, int rc) {
  s->sys_errno = errno;
  return rc;
}

/* Runs a statement that returns no rows and resets it: SQLITE_OK or the error. */
static int step_done(SqlJournal *s, sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) rc = failed(s, rc);
  sqlite3_reset(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int exec(SqlJournal *s, const char *sql) {
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? rc : failed(s, rc);
}

static void rollback(SqlJournal *s) {
  if (!sqlite3_get_autocommit(s->db)) exec(s, "ROLLBACK");
  s->in_tx = false;
}

static void bind_str(sqlite3_stmt *st, int i, const char *v) {
  if (v) sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, i);
}

static char *col_str(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

/* ---- opening ------------------------------------------------------------------ */

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return xstrdup(".");
  return slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
}

/* WRITE: creates a missing directory (one level) and refuses a file or
 * directory this process cannot write, before SQLite quietly falls back
 * to reading. */
static char *check_writable(const char *path) {
  char *dir = dir_of(path), *m = NULL;
  struct stat st;
  bool found = stat(dir, &st) == 0;
  if (!found && (errno != ENOENT || (mkdir(dir, 0777) != 0 && errno != EEXIST)))
    m = fmt("cannot write the journal %s: cannot create the directory %s: %s" HINT, path, dir,
            strerror(errno));
  else if (found && !S_ISDIR(st.st_mode))
    m = fmt("cannot write the journal %s: %s is not a directory" HINT, path, dir);
  else if (access(path, F_OK) == 0 && access(path, W_OK) != 0)
    m = fmt("cannot write the journal %s: %s" HINT, path, strerror(errno));
  else if (access(dir, W_OK) != 0)
    m = fmt("cannot write the journal %s: the directory %s: %s" HINT, path, dir, strerror(errno));
  free(dir);
  return m;
}

static char *check_exists(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) return NULL;
  if (errno == ENOENT)
    return fmt("no journal at %s (runs are journaled by `weft run`; see --journal)", path);
  return fmt("cannot read the journal %s: %s", path, strerror(errno));
}

typedef struct Header {
  int64_t app, version, tables;
} Header;

static int probe(SqlJournal *s, Header *h) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(s, "SELECT (SELECT * FROM pragma_application_id), (SELECT * FROM pragma_user_version),"
                      " (SELECT count(*) FROM sqlite_master)", false, &st);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    h->app = sqlite3_column_int64(st, 0);
    h->version = sqlite3_column_int64(st, 1);
    h->tables = sqlite3_column_int64(st, 2);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc;
}

/* NULL when the header is a weft journal's, or a new file in WRITE mode. */
static char *check_header(SqlJournal *s, const Header *h) {
  const char *path = s->j.path;
  if (h->tables == 0 && h->app == 0 && h->version == 0)
    return s->mode == JOURNAL_WRITE ? NULL : fmt("%s is not a weft journal (the file is empty)", path);
  if (h->app != APPLICATION_ID || h->version < 1) return fmt("%s is not a weft journal", path);
  if (h->version > JOURNAL_FORMAT)
    return fmt("the journal %s has format version %lld; this weft reads version %d (upgrade weft)",
               path, (long long)h->version, JOURNAL_FORMAT);
  return NULL;
}

/* Creates the tables unless another process did since the probe. */
static int create_schema(SqlJournal *s) {
  int rc = exec(s, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) return rc;
  Header h;
  rc = probe(s, &h);
  if (rc == SQLITE_OK && h.tables == 0) rc = exec(s, SCHEMA);
  if (rc == SQLITE_OK) rc = exec(s, "COMMIT");
  if (rc != SQLITE_OK) rollback(s);
  return rc;
}

/* WAL mode and the writer's settings; NULL or the message. */
static char *set_wal(SqlJournal *s) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(s, "PRAGMA journal_mode = WAL", false, &st);
  bool wal = false;
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    wal = mode && strcmp(mode, "wal") == 0;
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_OK && !wal)
    return fmt("cannot write the journal %s: SQLite cannot use WAL mode there" HINT, s->j.path);
  if (rc == SQLITE_OK) rc = exec(s, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
  return rc == SQLITE_OK ? NULL : describe(s, rc, "write", true);
}

/* Whether effects has the label column; a writer adds it to a journal
 * made before labels existed (an older weft ignores it). */
static int label_column(SqlJournal *s) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(s, "SELECT count(*) FROM pragma_table_info('effects') WHERE name = 'label'", false, &st);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    s->label_col = sqlite3_column_int64(st, 0) > 0;
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_OK && !s->label_col && s->mode == JOURNAL_WRITE) {
    rc = exec(s, "ALTER TABLE effects ADD COLUMN label TEXT");
    if (rc != SQLITE_OK) { /* another writer may have added it meanwhile */
      sqlite3_stmt *again = NULL;
      if (prepare(s, "SELECT count(*) FROM pragma_table_info('effects') WHERE name = 'label'", false, &again) ==
              SQLITE_OK &&
          sqlite3_step(again) == SQLITE_ROW && sqlite3_column_int64(again, 0) > 0)
        rc = SQLITE_OK;
      sqlite3_finalize(again);
    }
    s->label_col = rc == SQLITE_OK;
  }
  return rc;
}

static char *open_db(SqlJournal *s) {
  int flags = s->mode == JOURNAL_WRITE ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  int rc = sqlite3_open_v2(s->j.path, &s->db, flags, NULL);
  if (rc != SQLITE_OK) return describe(s, rc, s->mode == JOURNAL_WRITE ? "write" : "read", true);
  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_timeout(s->db, BUSY_MS);
  if (s->mode == JOURNAL_WRITE && sqlite3_db_readonly(s->db, "main") == 1)
    return fmt("cannot write the journal %s: the file is read-only" HINT, s->j.path);
  Header h;
  char *m = NULL;
  if ((rc = probe(s, &h)) != SQLITE_OK) return describe(s, rc, "read", true);
  if ((m = check_header(s, &h)) != NULL) return m;
  if (s->mode == JOURNAL_READ) {
    if (h.tables > 0 && (rc = label_column(s)) != SQLITE_OK) return describe(s, rc, "read", true);
    return NULL;
  }
  if ((m = set_wal(s)) != NULL) return m;
  if (h.tables > 0) {
    if ((rc = label_column(s)) != SQLITE_OK) return describe(s, rc, "write", true);
    return NULL;
  }
  if ((rc = create_schema(s)) != SQLITE_OK || (rc = probe(s, &h)) != SQLITE_OK ||
      (rc = label_column(s)) != SQLITE_OK)
    return describe(s, rc, "write", true);
  return check_header(s, &h);
}

/* PATH-lock sits next to a journal that may have been planted (a cloned
 * repository's .weft/): a link there is refused, never followed (O_CREAT
 * through a dangling one would create its target), and so is anything but
 * a regular file (O_NONBLOCK: opening a FIFO must not block). */
static char *open_lock_file(SqlJournal *s) {
  char *lp = fmt("%s-lock", s->j.path);
  char *m = NULL;
  const char *verb = s->mode == JOURNAL_WRITE ? "write" : "read";
  int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  s->lock_fd = s->mode == JOURNAL_WRITE ? open(lp, O_RDWR | O_CREAT | flags, 0666)
                                        : open(lp, O_RDONLY | flags);
  struct stat st;
  if (s->lock_fd < 0 && errno == ELOOP) {
    m = fmt("cannot %s the journal %s: %s is a symbolic link", verb, s->j.path, lp);
  } else if (s->lock_fd < 0 && s->mode == JOURNAL_WRITE) {
    m = fmt("cannot write the journal %s: %s: %s" HINT, s->j.path, lp, strerror(errno));
  } else if (s->lock_fd >= 0 && (fstat(s->lock_fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    m = fmt("cannot %s the journal %s: %s is not a regular file", verb, s->j.path, lp);
  }                              /* a reader without it: no run is locked */
  free(lp);
  return m;
}

static char *prepare_hot(SqlJournal *s) {
  int rc = prepare(s, "BEGIN IMMEDIATE", true, &s->begin);
  if (rc == SQLITE_OK) rc = prepare(s, "COMMIT", true, &s->commit);
  if (rc == SQLITE_OK) rc = prepare(s, SQL_EFFECT_PUT, true, &s->effect);
  if (rc == SQLITE_OK) rc = prepare(s, SQL_EVENT_PUT, true, &s->event);
  if (rc == SQLITE_OK) rc = prepare(s, SQL_MAX_SEQ, true, &s->max_seq);
  return rc == SQLITE_OK ? NULL : describe(s, rc, "read", true);
}

static void pending_clear(SqlJournal *s);

static void destroy(SqlJournal *s) {
  sqlite3_finalize(s->begin);
  sqlite3_finalize(s->commit);
  sqlite3_finalize(s->effect);
  sqlite3_finalize(s->event);
  sqlite3_finalize(s->max_seq);
  sqlite3_close(s->db);
  if (s->lock_fd >= 0) close(s->lock_fd);   /* drops this process's run locks */
  free(s->j.path);
  free(s->j.error);
  free(s->seqs);
  pending_clear(s);
  free(s->pend);
  free(s);
}

static const JournalOps OPS;

/* Takes (F_WRLCK, waiting) or releases (F_UNLCK) the lock on byte `at` of fd. */
static int set_lock_wait(int fd, off_t at, short type) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = at;
  fl.l_len = 1;
  int rc;
  while ((rc = fcntl(fd, F_SETLKW, &fl)) != 0 && errno == EINTR) {}
  return rc;
}

Journal *journal_sqlite_open(const char *path, JournalMode mode, char **err) {
  char *m = mode == JOURNAL_WRITE ? check_writable(path) : check_exists(path);
  if (m) {
    set_err(err, m);
    return NULL;
  }
  SqlJournal *s = xcalloc(1, sizeof *s);
  s->j.ops = &OPS;
  s->j.path = xstrdup(path);
  s->mode = mode;
  s->lock_fd = -1;
  /* Writers open one at a time (byte 0 of PATH-lock; runs lock bytes 1,
   * 2, ...): SQLite's switch of a new file to WAL and the creation of the
   * tables can otherwise deadlock between processes starting together, and
   * SQLite reports that as busy without waiting. */
  m = open_lock_file(s);
  bool serial = !m && s->lock_fd >= 0 && set_lock_wait(s->lock_fd, 0, F_WRLCK) == 0;
  if (!m) m = open_db(s);
  if (serial) set_lock_wait(s->lock_fd, 0, F_UNLCK);
  if (!m) m = prepare_hot(s);
  if (m) {
    destroy(s);
    set_err(err, m);
    return NULL;
  }
  return &s->j;
}

/* ---- the write batch ------------------------------------------------------------ */

/* Records the first failed write and drops the uncommitted batch. */
static bool break_journal(SqlJournal *s, int rc) {
  if (!s->j.error) s->j.error = describe(s, rc, "write", false);
  rollback(s);
  return false;
}

static int begin_batch(SqlJournal *s) {
  if (s->in_tx) return SQLITE_OK;
  int rc = step_done(s, s->begin);
  s->in_tx = rc == SQLITE_OK;
  return rc;
}

static Pending *queue(SqlJournal *s, int64_t run) {
  if (s->npend == s->cappend) {
    s->cappend = s->cappend ? s->cappend * 2 : 64;
    s->pend = xrealloc(s->pend, s->cappend * sizeof *s->pend);
  }
  Pending *p = &s->pend[s->npend++];
  memset(p, 0, sizeof *p);
  p->run = run;
  return p;
}

static void pending_clear(SqlJournal *s) {
  for (size_t i = 0; i < s->npend; i++) {
    effect_rec_free(&s->pend[i].e);
    free(s->pend[i].body);
  }
  s->npend = s->pend_bytes = s->pend_events = 0;
}

static int write_effect(SqlJournal *s, int64_t run, const EffectRec *e) {
  sqlite3_stmt *st = s->effect;
  sqlite3_bind_int64(st, 1, run);
  bind_str(st, 2, e->addr);
  bind_str(st, 3, e->kind);
  bind_str(st, 4, e->request);
  sqlite3_bind_int64(st, 5, (int64_t)e->req_hash);
  sqlite3_bind_int(st, 6, e->ok);
  bind_str(st, 7, e->response);
  bind_str(st, 8, e->error);
  bind_str(st, 9, e->error_kind);
  sqlite3_bind_int64(st, 10, e->attempts);
  sqlite3_bind_int64(st, 11, e->retries);
  sqlite3_bind_int64(st, 12, e->repairs);
  sqlite3_bind_int64(st, 13, e->input_tokens);
  sqlite3_bind_int64(st, 14, e->output_tokens);
  sqlite3_bind_double(st, 15, e->cost_usd);
  sqlite3_bind_int64(st, 16, e->started_at);
  sqlite3_bind_int64(st, 17, e->ended_at);
  bind_str(st, 18, e->label);
  return step_done(s, st);
}

/* The seq for run's next event: after the run's last one in the file the
 * first time, then counted here. */
static int next_seq(SqlJournal *s, int64_t run, int64_t *seq) {
  for (size_t i = s->nseqs; i-- > 0;)
    if (s->seqs[i].run == run) {
      *seq = s->seqs[i].next++;
      return SQLITE_OK;
    }
  sqlite3_bind_int64(s->max_seq, 1, run);
  int rc = sqlite3_step(s->max_seq);
  int64_t last = rc == SQLITE_ROW ? sqlite3_column_int64(s->max_seq, 0) : 0;
  sqlite3_reset(s->max_seq);
  if (rc != SQLITE_ROW) return rc;
  if (s->nseqs == s->capseqs) {
    s->capseqs = s->capseqs ? s->capseqs * 2 : 4;
    s->seqs = xrealloc(s->seqs, s->capseqs * sizeof *s->seqs);
  }
  s->seqs[s->nseqs++] = (SeqNext){run, last + 2};
  *seq = last + 1;
  return SQLITE_OK;
}

static int write_event(SqlJournal *s, const Pending *p) {
  int64_t seq = 0;
  int rc = next_seq(s, p->run, &seq);
  if (rc != SQLITE_OK) return rc;
  sqlite3_stmt *st = s->event;
  sqlite3_bind_int64(st, 1, p->run);
  sqlite3_bind_int64(st, 2, seq);
  sqlite3_bind_int64(st, 3, p->at);
  sqlite3_bind_text64(st, 4, p->body, p->len, SQLITE_STATIC, SQLITE_UTF8);
  return step_done(s, st);
}

static bool sql_commit(Journal *j, char **err) {
  SqlJournal *s = (SqlJournal *)j;
  if (!j->error && s->npend) {
    int rc = begin_batch(s);
    for (size_t i = 0; rc == SQLITE_OK && i < s->npend; i++)
      rc = s->pend[i].is_event ? write_event(s, &s->pend[i]) : write_effect(s, s->pend[i].run, &s->pend[i].e);
    if (rc == SQLITE_OK) rc = step_done(s, s->commit);
    if (rc == SQLITE_OK) s->in_tx = false;
    else {
      break_journal(s, rc);
      s->nseqs = 0; /* the rolled-back events' numbers were not used */
    }
    pending_clear(s);
  }
  if (j->error) set_err(err, xstrdup(j->error));
  return !j->error;
}

static bool sql_effect_put(Journal *j, int64_t run, const EffectRec *e) {
  SqlJournal *s = (SqlJournal *)j;
  if (j->error) return false;
  Pending *p = queue(s, run);
  p->e = effect_rec_dup(e);
  s->pend_bytes += (e->request ? strlen(e->request) : 0) + (e->response ? strlen(e->response) : 0);
  return true;
}

static bool sql_event_put(Journal *j, int64_t run, int64_t at, const char *json, size_t n) {
  SqlJournal *s = (SqlJournal *)j;
  if (j->error) return false;
  Pending *p = queue(s, run);
  p->is_event = true;
  p->at = at;
  p->body = xstrndup(json, n);
  p->len = n;
  s->pend_bytes += n;
  /* a long run of pure work must not queue its trace without bound */
  if (++s->pend_events >= EVENTS_MAX || s->pend_bytes >= PENDING_BYTES_MAX) return sql_commit(j, NULL);
  return true;
}

static void sql_close(Journal *j) {
  sql_commit(j, NULL);
  destroy((SqlJournal *)j);
}

/* ---- run locks ---------------------------------------------------------------- */

/* The pid holding a lock on run id that conflicts with ours; 0 when none. */
static long lock_holder(int fd, int64_t id) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = (off_t)id;
  fl.l_len = 1;
  if (fd < 0 || fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK) return 0;
  return fl.l_pid ? (long)fl.l_pid : -1;
}

static int set_lock(int fd, int64_t id, short type) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = (off_t)id;
  fl.l_len = 1;
  return fcntl(fd, F_SETLK, &fl);
}

static char *lock_run(SqlJournal *s, int64_t id) {
  if (s->mode != JOURNAL_WRITE)
    return fmt("cannot lock run %lld: the journal %s is open for reading", (long long)id, s->j.path);
  if (id < 1) return fmt("no run %lld in %s", (long long)id, s->j.path);
  for (int tries = 0; tries < 3; tries++) {
    if (set_lock(s->lock_fd, id, F_WRLCK) == 0) return NULL;
    if (errno != EACCES && errno != EAGAIN) break;
    long pid = lock_holder(s->lock_fd, id);
    if (pid) return fmt("run %lld is in use by another weft process (pid %ld)", (long long)id, pid);
  }
  return fmt("cannot lock run %lld in %s-lock: %s", (long long)id, s->j.path, strerror(errno));
}

static bool sql_run_lock(Journal *j, int64_t id, char **err) {
  char *m = lock_run((SqlJournal *)j, id);
  set_err(err, m);
  return !m;
}

/* ---- runs ------------------------------------------------------------------------ */

static int insert_run(SqlJournal *s, const RunRec *r, int64_t now) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(s, "INSERT INTO runs(program, program_path, module, module_hash, inputs, options,"
                      " status, started_at) VALUES(?1,?2,?3,?4,?5,?6,'running',?7)", false, &st);
  if (rc == SQLITE_OK) {
    bind_str(st, 1, r->program);
    bind_str(st, 2, r->program_path);
    sqlite3_bind_blob64(st, 3, r->module ? (const void *)r->module : "", r->module_len, SQLITE_STATIC);
    bind_str(st, 4, r->module_hash);
    bind_str(st, 5, r->inputs);
    bind_str(st, 6, r->options);
    sqlite3_bind_int64(st, 7, now);
    rc = step_done(s, st);
  }
  sqlite3_finalize(st);
  return rc;
}

static bool sql_run_create(Journal *j, RunRec *r, char **err) {
  SqlJournal *s = (SqlJournal *)j;
  if (!sql_commit(j, err)) return false;
  int64_t now = unix_now_ms(), id = 0;
  char *m = NULL;
  int rc = exec(s, "BEGIN IMMEDIATE");
  if (rc == SQLITE_OK && (rc = insert_run(s, r, now)) == SQLITE_OK) {
    id = sqlite3_last_insert_rowid(s->db);
    m = lock_run(s, id);
    if (!m && (rc = exec(s, "COMMIT")) != SQLITE_OK) set_lock(s->lock_fd, id, F_UNLCK);
  }
  if (!m && rc != SQLITE_OK) m = describe(s, rc, "write", false);
  if (m) {
    rollback(s);
    set_err(err, m);
    return false;
  }
  r->id = id;
  r->started_at = now;
  r->ended_at = 0;
  free(r->status);
  r->status = xstrdup("running");
  return true;
}

static bool sql_run_update(Journal *j, const RunRec *r, char **err) {
  SqlJournal *s = (SqlJournal *)j;
  if (!sql_commit(j, err)) return false;
  sqlite3_stmt *st = NULL;
  int rc = prepare(s, "UPDATE runs SET status = ?1, ended_at = ?2, result = ?3, error = ?4,"
                      " resumes = ?5 WHERE id = ?6", false, &st);
  if (rc == SQLITE_OK) {
    bind_str(st, 1, r->status);
    sqlite3_bind_int64(st, 2, r->ended_at);
    bind_str(st, 3, r->result);
    bind_str(st, 4, r->error);
    sqlite3_bind_int64(st, 5, r->resumes);
    sqlite3_bind_int64(st, 6, r->id);
    rc = step_done(s, st);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) set_err(err, describe(s, rc, "write", false));
  else if (sqlite3_changes(s->db) == 0) set_err(err, fmt("no run %lld in %s", (long long)r->id, j->path));
  return rc == SQLITE_OK && sqlite3_changes(s->db) > 0;
}

/* Fills out from a row of SQL_RUNS. */
/* Times and counts as read back are clamped to [0, 2^52]: a damaged or
 * hand-edited file cannot make a later sum or difference overflow. */
static int64_t col_sane(sqlite3_stmt *st, int i) {
  int64_t v = sqlite3_column_int64(st, i);
  return v < 0 ? 0 : v > ((int64_t)1 << 52) ? (int64_t)1 << 52 : v;
}

/* A text column that is NOT NULL in our schema: "" if a damaged file has NULL. */
static char *col_text(sqlite3_stmt *st, int i) {
  char *v = col_str(st, i);
  return v ? v : xstrdup("");
}

static void read_run(SqlJournal *s, sqlite3_stmt *st, RunRec *out) {
  memset(out, 0, sizeof *out);
  out->id = sqlite3_column_int64(st, 0);
  out->program = col_text(st, 1);
  out->program_path = col_text(st, 2);
  if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
    const void *mod = sqlite3_column_blob(st, 3);
    out->module_len = (size_t)sqlite3_column_bytes(st, 3);
    out->module = xmalloc(out->module_len ? out->module_len : 1);
    if (out->module_len) memcpy(out->module, mod, out->module_len);
  }
  out->module_hash = col_text(st, 4);
  out->inputs = col_text(st, 5);
  out->options = col_text(st, 6);
  out->status = col_text(st, 7);
  out->started_at = col_sane(st, 8);
  out->ended_at = col_sane(st, 9);
  out->result = col_str(st, 10);
  out->error = col_str(st, 11);
  out->resumes = (uint32_t)col_sane(st, 12);
  out->calls = col_sane(st, 13);
  out->failed_calls = col_sane(st, 14);
  out->input_tokens = col_sane(st, 15);
  out->output_tokens = col_sane(st, 16);
  out->cost_usd = sqlite3_column_double(st, 17);
  out->locked = lock_holder(s->lock_fd, out->id) != 0;
}

static bool sql_run_get(Journal *j, int64_t id, bool with_module, RunRec *out, char **err) {
  SqlJournal *s = (SqlJournal *)j;
  sqlite3_stmt *st = NULL;
  int rc = prepare(s, SQL_RUNS " WHERE r.id = ?2 GROUP BY r.id", false, &st);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int(st, 1, with_module);
    sqlite3_bind_int64(st, 2, id);
    rc = sqlite3_step(st);
  }
  if (rc == SQLITE_ROW) read_run(s, st, out);
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW) return true;
  set_err(err, rc == SQLITE_DONE ? fmt("no run %lld in %s", (long long)id, j->path)
                                 : describe(s, rc, "read", false));
  return false;
}

static bool sql_runs_list(Journal *j, RunRec **out, size_t *n, char **err) {
  SqlJournal *s = (SqlJournal *)j;
  sqlite3_stmt *st = NULL;
  RunRec *rs = NULL;
  size_t k = 0, cap = 0;
  int rc = prepare(s, SQL_RUNS " GROUP BY r.id ORDER BY r.id", false, &st);
  if (rc == SQLITE_OK) sqlite3_bind_int(st, 1, 0);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (k == cap) {
      cap = cap ? cap * 2 : 16;
      rs = xrealloc(rs, cap * sizeof *rs);
    }
    read_run(s, st, &rs[k++]);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    run_recs_free(rs, k);
    set_err(err, describe(s, rc, "read", false));
    return false;
  }
  *out = rs;
  *n = k;
  return true;
}

/* ---- effects and events ------------------------------------------------------------ */

/* After a query found nothing for run: is that because there is no such run? */
static bool no_such_run(SqlJournal *s, int64_t run, char **err) {
  sqlite3_stmt *st = NULL;
  int rc = prepare(s, "SELECT 1 FROM runs WHERE id = ?1", false, &st);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, run);
    rc = sqlite3_step(st);
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW) return false;
  set_err(err, rc == SQLITE_DONE ? fmt("no run %lld in %s", (long long)run, s->j.path)
                                 : describe(s, rc, "read", false));
  return true;
}

static void read_effect(sqlite3_stmt *st, EffectRec *e) {
  e->addr = col_text(st, 0);
  e->kind = col_text(st, 1);
  e->request = col_text(st, 2);
  e->req_hash = (uint64_t)sqlite3_column_int64(st, 3);
  e->ok = sqlite3_column_int(st, 4) != 0;
  e->response = col_str(st, 5);
  e->error = col_str(st, 6);
  e->error_kind = col_str(st, 7);
  e->attempts = (uint32_t)col_sane(st, 8);
  e->retries = (uint32_t)col_sane(st, 9);
  e->repairs = (uint32_t)col_sane(st, 10);
  e->input_tokens = col_sane(st, 11);
  e->output_tokens = col_sane(st, 12);
  e->cost_usd = sqlite3_column_double(st, 13);
  e->started_at = col_sane(st, 14);
  e->ended_at = col_sane(st, 15);
  e->label = col_str(st, 16);
}

static bool sql_effects_load(Journal *j, int64_t run, EffectRec **out, size_t *n, char **err) {
  SqlJournal *s = (SqlJournal *)j;
  sqlite3_stmt *st = NULL;
  EffectRec *es = NULL;
  size_t k = 0, cap = 0;
  int rc = prepare(s, s->label_col ? "SELECT addr, kind, request, req_hash, ok, response, error, error_kind,"
                                     " attempts, retries, repairs, input_tokens, output_tokens, cost_usd,"
                                     " started_at, ended_at, label FROM effects WHERE run = ?1"
                                     " ORDER BY started_at, addr"
                                   : "SELECT addr, kind, request, req_hash, ok, response, error, error_kind,"
                                     " attempts, retries, repairs, input_tokens, output_tokens, cost_usd,"
                                     " started_at, ended_at, NULL FROM effects WHERE run = ?1"
                                     " ORDER BY started_at, addr",
                   false, &st);
  if (rc == SQLITE_OK) sqlite3_bind_int64(st, 1, run);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (k == cap) {
      cap = cap ? cap * 2 : 16;
      es = xrealloc(es, cap * sizeof *es);
    }
    memset(&es[k], 0, sizeof es[k]);
    read_effect(st, &es[k++]);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) set_err(err, describe(s, rc, "read", false));
  if (rc != SQLITE_DONE || (k == 0 && no_such_run(s, run, err))) {
    effect_recs_free(es, k);
    return false;
  }
  *out = es;
  *n = k;
  return true;
}

static bool sql_events_load(Journal *j, int64_t run, char ***out, int64_t **at, size_t *n, char **err) {
  SqlJournal *s = (SqlJournal *)j;
  sqlite3_stmt *st = NULL;
  char **lines = NULL;
  int64_t *ats = NULL;
  size_t k = 0, cap = 0;
  int rc = prepare(s, "SELECT body, at FROM events WHERE run = ?1 ORDER BY seq", false, &st);
  if (rc == SQLITE_OK) sqlite3_bind_int64(st, 1, run);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (k == cap) {
      cap = cap ? cap * 2 : 64;
      lines = xrealloc(lines, cap * sizeof *lines);
      ats = xrealloc(ats, cap * sizeof *ats);
    }
    lines[k] = col_str(st, 0);
    ats[k++] = col_sane(st, 1);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) set_err(err, describe(s, rc, "read", false));
  if (rc != SQLITE_DONE || (k == 0 && no_such_run(s, run, err))) {
    journal_lines_free(lines, ats, k);
    return false;
  }
  *out = lines;
  *at = ats;
  *n = k;
  return true;
}

static const JournalOps OPS = {
    .close = sql_close,
    .run_create = sql_run_create,
    .run_get = sql_run_get,
    .run_lock = sql_run_lock,
    .run_update = sql_run_update,
    .runs_list = sql_runs_list,
    .effect_put = sql_effect_put,
    .event_put = sql_event_put,
    .commit = sql_commit,
    .effects_load = sql_effects_load,
    .events_load = sql_events_load,
};
