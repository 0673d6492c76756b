/* journal.h — durable runs: the journal interface, its SQLite backend, the
 * in-memory record set that answers effects again, and cassettes.
 *
 * A journal holds runs. A run is the module that ran (its .weftc bytes and
 * their hash), main's inputs, the run's flags, its status and result; its
 * EFFECTS (one row per effect address: model calls, sleeps) with request,
 * response, attempts, tokens, cost and timings; and its EVENTS (the trace,
 * one JSON object per row). `weft resume` re-executes the module and
 * answers every effect that has a record from the journal, so a crash
 * loses no finished model call and repeats none.
 *
 * Durability. Effects and events are written into one open transaction;
 * journal_commit makes them durable (SQLite WAL, synchronous=FULL: a
 * committed reply survives kill -9 and power loss). The engine commits at
 * the end of every poll, before any fiber resumes with a reply it got in
 * that poll: a reply is on disk before the program acts on it, and the
 * replies that finish together share one commit.
 *
 * Failure. The first failed write (disk full, I/O error, the file made
 * read-only) breaks the journal: every later write returns false and
 * journal_error says why; the run then fails with that message. What was
 * committed before stays committed.
 *
 * Locking. The process that runs or resumes a run holds its lock until
 * journal_close (or its death: the lock is an fcntl record lock on a
 * companion file PATH-lock, which the kernel drops with the process). A
 * second process asking for the same lock is refused.
 *
 * The interface is JournalOps below: a server database can implement the
 * same operations. journal_open picks the SQLite backend.
 *
 * Every char * in the records below is malloc'd and owned by the record;
 * a function that fails returns false and sets *err (malloc'd, one line,
 * naming the file) unless err is NULL. */
#ifndef WEFT_JOURNAL_H
#define WEFT_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The on-disk format this build writes and the newest it reads. A file
 * with a newer version is refused with both versions named. */
#define JOURNAL_FORMAT 1
/* The default journal file, relative to the working directory. */
#define JOURNAL_DEFAULT_PATH ".weft/journal.db"

/* ---- records ------------------------------------------------------------- */

typedef struct EffectRec {
  char *addr;          /* "main/fanout#1@3[0]/ask#1" (vm/trace.h): unique within a run */
  char *kind;          /* "ask" or "sleep" */
  char *request;       /* JSON: ask {"role","model","prompt","schema"?}; sleep {"ms"} */
  uint64_t req_hash;   /* fingerprint of everything that shapes the reply */
  bool ok;
  char *response;      /* ok ask: the reply text as the model sent it; else NULL */
  char *error;         /* !ok: the message; else NULL */
  char *error_kind;    /* !ok: "error", "timeout", ...; else NULL */
  /* ok: the origin of the untrusted content the response carries (a
   * label's description, docs/security.md "Untrusted content: sources,
   * sinks and the journal"); NULL: none. A run answered from the record
   * joins it with the label it computes itself: it can add, never remove. */
  char *label;
  uint32_t attempts, retries, repairs;
  int64_t input_tokens, output_tokens;
  double cost_usd;
  int64_t started_at, ended_at;  /* unix ms */
} EffectRec;

void effect_rec_free(EffectRec *r);   /* frees the strings; NULL-safe */
/* A deep copy of r (its own strings). */
EffectRec effect_rec_dup(const EffectRec *r);

/* The wall clock in unix ms: the journal's times. */
int64_t unix_now_ms(void);

typedef struct RunRec {
  int64_t id;          /* 1, 2, ... in the order runs were created */
  char *program;       /* the program as named on the command line */
  char *program_path;  /* its absolute path (resume recompiles it) */
  unsigned char *module; size_t module_len;  /* .weftc bytes (NULL when not loaded) */
  char *module_hash;   /* 16 hex digits: FNV-1a 64 of the module bytes */
  char *inputs;        /* JSON object: main's arguments by parameter name */
  char *options;       /* JSON array of strings: the run's flags, replayed by resume */
  char *status;        /* "running", "ok", "failed" */
  int64_t started_at, ended_at;  /* unix ms; ended_at 0 while running */
  char *result;        /* "ok": main's result as JSON (NULL: no result) */
  char *error;         /* "failed": the message */
  uint32_t resumes;    /* times the run was resumed */
  /* filled by journal_run_get / journal_runs_list from the effects: */
  int64_t calls, failed_calls, input_tokens, output_tokens;
  double cost_usd;
  /* filled by journal_run_get / journal_runs_list: a live process holds
   * the run's lock (a "running" run without it was interrupted) */
  bool locked;
} RunRec;

void run_rec_free(RunRec *r);         /* frees the strings and module; NULL-safe */

/* ---- the journal ------------------------------------------------------------ */

typedef enum JournalMode {
  JOURNAL_READ,    /* inspection: the file must exist; nothing is written */
  JOURNAL_WRITE    /* creates the file (and its directory) when missing */
} JournalMode;

typedef struct Journal Journal;

typedef struct JournalOps {
  void (*close)(Journal *j);
  bool (*run_create)(Journal *j, RunRec *r, char **err);
  bool (*run_get)(Journal *j, int64_t id, bool with_module, RunRec *out, char **err);
  bool (*run_lock)(Journal *j, int64_t id, char **err);
  bool (*run_update)(Journal *j, const RunRec *r, char **err);
  bool (*runs_list)(Journal *j, RunRec **out, size_t *n, char **err);
  bool (*effect_put)(Journal *j, int64_t run, const EffectRec *e);
  bool (*event_put)(Journal *j, int64_t run, int64_t at, const char *json, size_t n);
  bool (*commit)(Journal *j, char **err);
  bool (*effects_load)(Journal *j, int64_t run, EffectRec **out, size_t *n, char **err);
  bool (*events_load)(Journal *j, int64_t run, char ***out, int64_t **at, size_t *n, char **err);
} JournalOps;

struct Journal {
  const JournalOps *ops;
  char *path;          /* as opened */
  char *error;         /* the first failed write; NULL while healthy */
};

/* Opens (WRITE: creates) the SQLite journal at path. Errors name the file
 * and say what is wrong: missing (READ), not a journal, corrupt or
 * truncated, newer format (both versions named), locked by another writer
 * past the busy timeout, read-only, unwritable directory. */
Journal *journal_open(const char *path, JournalMode mode, char **err);
/* Commits what is pending, releases the locks, frees j. NULL-safe. */
void journal_close(Journal *j);

/* Creates a run from r (program, program_path, module, module_hash,
 * inputs, options; status is set to "running", started_at to now), sets
 * r->id and r->started_at, takes the run's lock, and commits. */
bool journal_run_create(Journal *j, RunRec *r, char **err);
/* Loads run id ("no run 7 in .weft/journal.db" when missing); the module
 * bytes only when with_module. */
bool journal_run_get(Journal *j, int64_t id, bool with_module, RunRec *out, char **err);
/* Takes run id's lock for this process ("run 7 is in use by another weft
 * process (pid 1234)"); kept until journal_close. */
bool journal_run_lock(Journal *j, int64_t id, char **err);
/* Writes status, ended_at, result, error and resumes of r->id, and commits. */
bool journal_run_update(Journal *j, const RunRec *r, char **err);
/* Every run, oldest first, without module bytes. */
bool journal_runs_list(Journal *j, RunRec **out, size_t *n, char **err);
void run_recs_free(RunRec *rs, size_t n);

/* Buffers an effect (replacing one at the same address) or an event (at:
 * unix ms; events keep their order) in the open transaction. false once
 * the journal is broken. */
bool journal_effect_put(Journal *j, int64_t run, const EffectRec *e);
bool journal_event_put(Journal *j, int64_t run, int64_t at, const char *json, size_t n);
/* Makes every buffered write durable. false (and the journal broken) on
 * failure. Cheap when nothing is pending. */
bool journal_commit(Journal *j, char **err);
/* The first failed write's message, or NULL. */
const char *journal_error(const Journal *j);

/* A run's effects, ordered by started_at then address. */
bool journal_effects_load(Journal *j, int64_t run, EffectRec **out, size_t *n, char **err);
void effect_recs_free(EffectRec *es, size_t n);
/* A run's events (JSON texts) in order, with their unix ms times. */
bool journal_events_load(Journal *j, int64_t run, char ***out, int64_t **at, size_t *n, char **err);
void journal_lines_free(char **lines, int64_t *at, size_t n);

/* The SQLite backend (vm/journal_sqlite.c). */
Journal *journal_sqlite_open(const char *path, JournalMode mode, char **err);

/* ---- records that answer effects ------------------------------------------------ */

/* addr -> EffectRec, for answering effects again (resume, replay,
 * --replay CASSETTE) and for collecting them (--record CASSETTE). */
typedef struct Records Records;

Records *records_new(void);
void records_free(Records *rs);
/* Takes r's strings (r is left zeroed); replaces a record at the same address. */
void records_put(Records *rs, EffectRec *r);
const EffectRec *records_get(const Records *rs, const char *addr);
size_t records_count(const Records *rs);
/* The records ordered by address (borrowed pointers; free the array). */
const EffectRec **records_sorted(const Records *rs, size_t *n);

/* Cassettes: a portable JSON file of a run's effects that a project can
 * commit and replay in CI: {"weft_cassette": 1, "program": "...",
 * "effects": [{addr, kind, request, req_hash, ok, response | error,
 * error_kind, attempts, retries, repairs, input_tokens, output_tokens,
 * cost_usd}, ...]} ordered by address, without timings, so the file
 * changes only when the run's effects do. */
bool cassette_write(const char *path, const Records *rs, const char *program, char **err);
Records *cassette_read(const char *path, char **err);

/* ---- what a run does with its effects (host_set_log, host.h) ---------------------------- */

typedef enum ServeMode {
  SERVE_NONE,     /* every effect runs live */
  SERVE_RESUME,   /* effects with a successful record are answered from it; the rest run live */
  SERVE_STRICT    /* replay: every effect must have a record (failures are answered too) */
} ServeMode;

typedef struct EffectLog {
  Journal *journal; int64_t run;   /* where finished effects are written; NULL: nowhere */
  Records *serve; ServeMode mode;  /* records that answer effects; NULL: none */
  const char *serve_name;          /* "run 7" or "cassette tests/x.json", for messages */
  bool serve_journaled;            /* serve holds this run's own journal: answered effects are not written again */
  Records *collect;                /* --record: every finished effect is copied here; NULL: no */
  uint64_t served;                 /* effects answered from records so far */
  bool dirty;                      /* an effect was written since the last commit */
} EffectLog;

/* 16 lower-case hex digits of h, NUL-terminated, into out[17]. */
void hash_hex(uint64_t h, char out[17]);

#endif
