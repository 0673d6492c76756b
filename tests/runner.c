/* runner.c — the test runner behind `make check`.
 *
 *   runner --weft PATH --root DIR [--unit BIN...] [--examples DIR]
 *          [--update-golden] [--fast] [-j N] [-v] [FILTER]
 *
 * Finds and runs five kinds of tests, each in a child process with a
 * timeout, and ends with exactly one line "N passed, M failed":
 *
 *  - Weft tests: every *.weft below DIR's subdirectories, the feature
 *    folders (sorted; folders named lib, data, server, fuzz, golden, unit
 *    and tools are skipped: they hold helpers and data, not tests).
 *    Expectations are written inline:
 *      // expect: TEXT              the next line of stdout ("// expect:"
 *                                   alone: an empty line)
 *      // expect error[E0301]       a diagnostic with this code on this line
 *      // expect warning[W0001]     (several may follow each other)
 *      // expect note[N0001]        a note (`weft check` only)
 *      // expect runtime error: T   exit 1 and T somewhere in stderr
 *      // expect exit: N            the exit code (default 0, or 1 above)
 *      // args: A B C               extra arguments for `weft run`
 *    A file with diagnostic expectations is checked with `weft check
 *    --json` and the set of (code, line) pairs must match exactly (warnings
 *    and notes only count when the file expects some of that kind). A file expecting no
 *    error is then run with `weft run FILE ARGS`.
 *  - Golden files: DIR/golden/diag/NAME.weft against NAME.stderr (exact
 *    stderr of `weft check --color=never`), DIR/golden/disasm/NAME.weft
 *    against NAME.disasm (exact stdout of `weft disasm`). --update-golden
 *    rewrites them.
 *  - CLI scripts: every *.sh in the same feature folders (but not one
 *    named common.sh), run by `sh` with WEFT and TESTDIR (the script's
 *    folder) set; a script passes when it exits 0.
 *  - Unit binaries (--unit, repeatable; also takes several executables in
 *    a row): each `ok N` / `not ok N` line counts as one test.
 *  - Examples (--examples DIR): each DIR/NAME.weft must pass `weft check` and
 *    then runs like a Weft test.
 *
 * Every child runs in its own process group, with stdin from /dev/null,
 * in the directory of its test file (so paths in output are stable), and
 * is killed after the timeout: a hang is a failure, not a stuck build.
 * Every child also gets canary API keys, and fails if its output shows one
 * (see "the canary keys" below).
 * Tests run in -j worker processes (default: one per core); results print
 * in order. --fast leaves out the CLI scripts and examples (`make
 * check-fast`: the Weft programs, golden files and unit tests). FILTER
 * keeps the tests whose printed path contains it (`http/`: one folder). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 10000         /* one .weft program */
#define SCRIPT_TIMEOUT_MS 300000 /* a CLI script or unit test: many programs, network waits;
                                    security/canary.sh takes ~100 s alone under ASan */
#define MAX_CAPTURE ((size_t)8 << 20) /* bytes kept per output stream */
#define MAX_WALK_DEPTH 16

/* ---- growable text ------------------------------------------------------ */

typedef struct Text {
  char *data;
  size_t len, cap;
} Text;

static void die(const char *msg) {
  fprintf(stderr, "runner: %s\n", msg);
  exit(2);
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) die("out of memory");
  return q;
}

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = xrealloc(NULL, n);
  memcpy(d, s, n);
  return d;
}

static void text_put(Text *t, const char *s, size_t n) {
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + n + 1) cap *= 2;
    t->data = xrealloc(t->data, cap);
    t->cap = cap;
  }
  memcpy(t->data + t->len, s, n);
  t->len += n;
  t->data[t->len] = '\0';
}

static void text_puts(Text *t, const char *s) { text_put(t, s, strlen(s)); }

static void text_printf(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(Text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  text_put(t, "", 0);
  if (t->len + (size_t)n + 1 > t->cap) {
    size_t cap = t->cap;
    while (cap < t->len + (size_t)n + 1) cap *= 2;
    t->data = xrealloc(t->data, cap);
    t->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  t->len += (size_t)n;
}

static void text_free(Text *t) {
  free(t->data);
  t->data = NULL;
  t->len = t->cap = 0;
}

/* Appends s as a double-quoted string, escaping what would be invisible. */
static void text_quote(Text *t, const char *s, size_t n) {
  text_put(t, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      text_put(t, e, 2);
    } else if (c == '\n') {
      text_puts(t, "\\n");
    } else if (c == '\t') {
      text_puts(t, "\\t");
    } else if (c < 0x20 || c == 0x7f) {
      text_printf(t, "\\x%02x", c);
    } else {
      text_put(t, (const char *)&c, 1);
    }
  }
  text_put(t, "\"", 1);
}

/* ---- string lists --------------------------------------------------------- */

typedef struct StrList {
  char **items;
  size_t n, cap;
} StrList;

static void sl_push(StrList *l, char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 16;
    l->items = xrealloc(l->items, l->cap * sizeof *l->items);
  }
  l->items[l->n++] = s;
}

static void sl_free(StrList *l) {
  for (size_t i = 0; i < l->n; i++) free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->n = l->cap = 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *path_join(const char *a, const char *b) {
  Text t = {0};
  text_puts(&t, a);
  if (t.len && t.data[t.len - 1] != '/') text_puts(&t, "/");
  text_puts(&t, b);
  return t.data;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_executable_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* Sorted entry names of a directory (without . and ..). */
static void list_dir(const char *dir, StrList *out) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    sl_push(out, xstrdup(e->d_name));
  }
  closedir(d);
  if (out->n) qsort(out->items, out->n, sizeof *out->items, cmp_str);
}

static char *read_whole(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  Text t = {0};
  char chunk[8192];
  size_t got;
  text_put(&t, "", 0);
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) text_put(&t, chunk, got);
  fclose(f);
  if (len) *len = t.len;
  return t.data;
}

static bool write_whole(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return false;
  size_t put = fwrite(data, 1, len, f);
  return (fclose(f) == 0) && put == len;
}

/* ---- running a child ------------------------------------------------------ */

typedef struct Proc {
  Text out, err;
  int code;        /* exit status, or -1 */
  int signal;      /* killing signal, or 0 */
  bool timed_out;
  int timeout_ms;
} Proc;

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void capture(int fd, Text *t, bool *open) {
  char chunk[8192];
  ssize_t n = read(fd, chunk, sizeof chunk);
  if (n > 0) {
    if (t->len < MAX_CAPTURE) text_put(t, chunk, (size_t)n);
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    *open = false;
  }
}

/* Runs argv (argv[0] is searched in PATH when it has no slash) in dir `cwd`
 * with `env` (NAME=VALUE strings, NULL-terminated, may be NULL) added to
 * the environment. Kills the child's whole process group at the timeout. */
static void proc_run(char *const argv[], const char *cwd, char *const env[], int timeout_ms, Proc *p) {
  memset(p, 0, sizeof *p);
  p->timeout_ms = timeout_ms;
  p->code = -1;
  text_put(&p->out, "", 0);
  text_put(&p->err, "", 0);
  int po[2], pe[2];
  if (pipe(po) != 0) die("pipe failed");
  if (pipe(pe) != 0) die("pipe failed");
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(po[1], 1);
    dup2(pe[1], 2);
    close(po[0]);
    close(po[1]);
    close(pe[0]);
    close(pe[1]);
    if (cwd && chdir(cwd) != 0) {
      fprintf(stderr, "runner: cannot enter %s: %s\n", cwd, strerror(errno));
      _exit(127);
    }
    for (size_t i = 0; env && env[i]; i++) putenv(env[i]);
    execvp(argv[0], argv);
    fprintf(stderr, "runner: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid); /* also from here, so the group exists before any kill */
  close(po[1]);
  close(pe[1]);
  uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
  bool oopen = true, eopen = true;
  int status = 0;
  bool reaped = false;
  while (oopen || eopen) {
    uint64_t now = now_ms();
    if (now >= deadline) {
      p->timed_out = true;
      break;
    }
    struct pollfd fds[2];
    nfds_t nf = 0;
    if (oopen) fds[nf++] = (struct pollfd){.fd = po[0], .events = POLLIN};
    if (eopen) fds[nf++] = (struct pollfd){.fd = pe[0], .events = POLLIN};
    int r = poll(fds, nf, (int)(deadline - now));
    if (r < 0 && errno != EINTR) break;
    for (nfds_t i = 0; r > 0 && i < nf; i++) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (fds[i].fd == po[0]) capture(po[0], &p->out, &oopen);
      else capture(pe[0], &p->err, &eopen);
    }
  }
  /* The streams are closed; the child should be exiting. */
  while (!p->timed_out && !reaped) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) reaped = true;
    else if (w < 0 && errno != EINTR) break;
    else if (now_ms() >= deadline) p->timed_out = true;
    else {
      struct timespec ts = {0, 5 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  if (p->timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    reaped = true;
  }
  close(po[0]);
  close(pe[0]);
  if (!p->timed_out && reaped) {
    if (WIFEXITED(status)) p->code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) p->signal = WTERMSIG(status);
  }
}

static void proc_free(Proc *p) {
  text_free(&p->out);
  text_free(&p->err);
}

/* ---- results ---------------------------------------------------------------- */

typedef struct Result {
  uint32_t npass, nfail;
  Text text; /* FAIL lines (and PASS lines with -v) */
} Result;

typedef struct Opts {
  char *weft;           /* absolute path of the weft binary */
  const char *root;     /* as given, for display */
  char *root_abs;
  StrList units;
  const char *examples;
  const char *filter;
  bool update_golden;
  bool fast;            /* Weft programs, golden files and unit tests only */
  bool verbose;
  int jobs;
} Opts;

/* Appends the first lines of a stream, indented, to explain a failure. */
static void excerpt(Text *t, const char *label, const Text *s) {
  if (!s->len) return;
  text_printf(t, "  %s:\n", label);
  const char *p = s->data, *end = s->data + s->len;
  int lines = 0;
  while (p < end && lines < 12) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    text_puts(t, "    ");
    text_put(t, p, n);
    text_puts(t, "\n");
    p += n + (nl ? 1 : 0);
    lines++;
  }
  if (p < end) text_puts(t, "    ...\n");
}

/* ---- the canary keys ----------------------------------------------------------
 * Every child runs with these API keys (and base URLs that refuse connections,
 * so no test can reach a real endpoint). A key must never be printed: not
 * whole, not as the masked form providers echo in error bodies (its first 8
 * characters, stars, its last 4), not in base64. Any child whose stdout or
 * stderr holds one of those forms fails, whatever else it checked; the shared
 * journal is scanned the same way at the end. */
static const char *const canary_keys[] = {
  "sk-ant-cnry-Runner0Anthropic-Zq7W",
  "sk-cnry-Runner0OpenAI-Xk4J",
};
#define N_CANARY (sizeof canary_keys / sizeof canary_keys[0])

static void base64(Text *t, const unsigned char *s, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i + 2 < n; i += 3) {
    char o[4] = {tab[s[i] >> 2], tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)],
                 tab[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)], tab[s[i + 2] & 63]};
    text_put(t, o, 4);
  }
}

static bool contains(const char *h, size_t hn, const char *needle, size_t nn) {
  if (nn == 0 || hn < nn) return false;
  for (const char *q = h; (q = memchr(q, needle[0], (size_t)(h + hn - q))) != NULL; q++) {
    if ((size_t)(h + hn - q) < nn) return false;
    if (memcmp(q, needle, nn) == 0) return true;
  }
  return false;
}

/* Which form of a canary key `s` holds, or NULL. The masked form is found
 * by its 8-character prefix and by its last 4 characters after a star; the
 * base64 form by the encoding of the key's middle at each of the three byte
 * alignments (so the key is found inside a longer encoded text too). */
static const char *canary_leak(const char *s, size_t n) {
  for (size_t k = 0; k < N_CANARY; k++) {
    const char *key = canary_keys[k];
    size_t len = strlen(key);
    if (contains(s, n, key, 8)) return "its first 8 characters";
    char tail[6] = {'*'};
    memcpy(tail + 1, key + len - 4, 5);
    if (contains(s, n, tail, 5)) return "its masked form";
    for (size_t a = 0; a < 3; a++) {
      Text b = {0};
      base64(&b, (const unsigned char *)key + a, len - a - 3);
      /* Whole triples of key bytes only: they encode the same inside any text. */
      bool hit = b.len >= 8 && contains(s, n, b.data, b.len);
      text_free(&b);
      if (hit) return "its base64 form";
    }
  }
  return NULL;
}

static bool canary_check(Text *t, const char *display, const char *label, const Text *s) {
  const char *form = canary_leak(s->data, s->len);
  if (!form) return false;
  text_printf(t, "FAIL %s: a canary API key appears in %s (%s)\n", display, label, form);
  return true;
}

static void canary_env(void) {
  setenv("ANTHROPIC_API_KEY", canary_keys[0], 1);
  setenv("OPENAI_API_KEY", canary_keys[1], 1);
  setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9", 1);
  setenv("OPENAI_BASE_URL", "http://127.0.0.1:9", 1);
}

/* Describes how a child ended when it did not simply exit, or leaked a key. */
static bool abnormal(Text *t, const char *display, const Proc *p) {
  bool leaked = canary_check(t, display, "stdout", &p->out);
  if (canary_check(t, display, "stderr", &p->err)) leaked = true;
  if (leaked) return true;
  if (p->timed_out) {
    text_printf(t, "FAIL %s: timed out after %d s\n", display, p->timeout_ms / 1000);
    return true;
  }
  if (p->signal) {
    text_printf(t, "FAIL %s: killed by signal %d (%s)\n", display, p->signal,
                strsignal(p->signal));
    excerpt(t, "stderr", &p->err);
    return true;
  }
  return false;
}

/* ---- a tiny JSON reader for `weft check --json` ---------------------------- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } JKind;
typedef struct JVal JVal;
struct JVal {
  JKind kind;
  double num;
  char *str;              /* J_STR */
  JVal **items;           /* J_ARR, J_OBJ values */
  char **keys;            /* J_OBJ */
  size_t n;
};

typedef struct JParser {
  const char *p, *end;
  int depth;
} JParser;

static void jfree(JVal *v) {
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) {
    jfree(v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->str);
  free(v);
}

static void jws(JParser *jp) {
  while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\n' || *jp->p == '\r' || *jp->p == '\t'))
    jp->p++;
}

/* Decodes a string body; \u escapes outside ASCII become '?', which is
 * enough for comparing codes and showing messages. */
static char *jstring(JParser *jp) {
  if (jp->p >= jp->end || *jp->p != '"') return NULL;
  jp->p++;
  Text t = {0};
  text_put(&t, "", 0);
  while (jp->p < jp->end && *jp->p != '"') {
    char c = *jp->p++;
    if (c == '\\' && jp->p < jp->end) {
      char e = *jp->p++;
      switch (e) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'u': {
          unsigned v = 0;
          for (int k = 0; k < 4 && jp->p < jp->end; k++) {
            char h = *jp->p++;
            v = v * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
          }
          c = v < 0x80 ? (char)v : '?';
          break;
        }
        default: c = e; break;
      }
    }
    text_put(&t, &c, 1);
  }
  if (jp->p >= jp->end) {
    text_free(&t);
    return NULL;
  }
  jp->p++;
  return t.data;
}

static JVal *jvalue(JParser *jp);

static JVal *jnew(JKind k) {
  JVal *v = xrealloc(NULL, sizeof *v);
  memset(v, 0, sizeof *v);
  v->kind = k;
  return v;
}

static void jpush(JVal *v, char *key, JVal *item) {
  v->items = xrealloc(v->items, (v->n + 1) * sizeof *v->items);
  if (v->kind == J_OBJ) {
    v->keys = xrealloc(v->keys, (v->n + 1) * sizeof *v->keys);
    v->keys[v->n] = key;
  }
  v->items[v->n++] = item;
}

static JVal *jvalue(JParser *jp) {
  jws(jp);
  if (jp->p >= jp->end || ++jp->depth > 64) return NULL;
  JVal *v = NULL;
  char c = *jp->p;
  if (c == '{' || c == '[') {
    bool obj = c == '{';
    v = jnew(obj ? J_OBJ : J_ARR);
    jp->p++;
    jws(jp);
    if (jp->p < jp->end && *jp->p == (obj ? '}' : ']')) {
      jp->p++;
      jp->depth--;
      return v;
    }
    for (;;) {
      char *key = NULL;
      if (obj) {
        jws(jp);
        key = jstring(jp);
        jws(jp);
        if (!key || jp->p >= jp->end || *jp->p != ':') goto bad_key;
        jp->p++;
      }
      JVal *item = jvalue(jp);
      if (!item) goto bad_key;
      jpush(v, key, item);
      jws(jp);
      if (jp->p < jp->end && *jp->p == ',') {
        jp->p++;
        continue;
      }
      if (jp->p < jp->end && *jp->p == (obj ? '}' : ']')) {
        jp->p++;
        break;
      }
      goto bad;
    bad_key:
      free(key);
      goto bad;
    }
  } else if (c == '"') {
    v = jnew(J_STR);
    v->str = jstring(jp);
    if (!v->str) goto bad;
  } else if (c == 't' || c == 'f' || c == 'n') {
    const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
    size_t n = strlen(word);
    if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0) return NULL;
    jp->p += n;
    v = jnew(c == 'n' ? J_NULL : J_BOOL);
    v->num = c == 't';
  } else {
    char *endp = NULL;
    double d = strtod(jp->p, &endp);
    if (endp == jp->p) return NULL;
    jp->p = endp;
    v = jnew(J_NUM);
    v->num = d;
  }
  jp->depth--;
  return v;
bad:
  jfree(v);
  return NULL;
}

static JVal *jget(const JVal *o, const char *key) {
  if (!o || o->kind != J_OBJ) return NULL;
  for (size_t i = 0; i < o->n; i++)
    if (strcmp(o->keys[i], key) == 0) return o->items[i];
  return NULL;
}

/* The first "line" number in o, looking in o itself before its members. */
static int jfind_line(const JVal *o, int depth) {
  if (!o || o->kind != J_OBJ || depth > 4) return -1;
  const JVal *l = jget(o, "line");
  if (l && l->kind == J_NUM) return (int)l->num;
  for (size_t i = 0; i < o->n; i++) {
    int r = jfind_line(o->items[i], depth + 1);
    if (r >= 0) return r;
  }
  return -1;
}

/* ---- Weft test expectations ------------------------------------------------- */

typedef struct OutExp { int line; char *text; } OutExp;
typedef struct DiagExp { int line; char code[16]; const char *sev; bool matched; } DiagExp;

typedef struct Spec {
  OutExp *out; size_t nout;
  DiagExp *diags; size_t ndiags;
  bool expects_error, expects_warning, expects_note;
  char *runtime_error; int runtime_line;
  StrList args;
  int exit_code; /* -1: not given */
} Spec;

static void spec_free(Spec *s) {
  for (size_t i = 0; i < s->nout; i++) free(s->out[i].text);
  free(s->out);
  free(s->diags);
  free(s->runtime_error);
  sl_free(&s->args);
}

/* Reads "error[CODE]" / "warning[CODE]" / "note[CODE]" items after "// expect ". */
static void parse_diag_exps(Spec *s, const char *p, int line) {
  for (;;) {
    while (*p == ' ') p++;
    const char *sev;
    if (strncmp(p, "error[", 6) == 0) {
      sev = "error";
      p += 6;
    } else if (strncmp(p, "warning[", 8) == 0) {
      sev = "warning";
      p += 8;
    } else if (strncmp(p, "note[", 5) == 0) {
      sev = "note";
      p += 5;
    } else {
      return;
    }
    const char *close = strchr(p, ']');
    if (!close || close - p >= 16) return;
    s->diags = xrealloc(s->diags, (s->ndiags + 1) * sizeof *s->diags);
    DiagExp *d = &s->diags[s->ndiags++];
    memset(d, 0, sizeof *d);
    memcpy(d->code, p, (size_t)(close - p));
    d->line = line;
    d->sev = sev;
    if (sev[0] == 'w') s->expects_warning = true;
    else if (sev[0] == 'n') s->expects_note = true;
    else s->expects_error = true;
    p = close + 1;
  }
}

static void parse_spec(const char *src, size_t len, Spec *s) {
  memset(s, 0, sizeof *s);
  s->exit_code = -1;
  const char *p = src, *end = src + len;
  int line = 1;
  Text l = {0};
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    l.len = 0;
    text_put(&l, p, n);
    if (l.len && l.data[l.len - 1] == '\r') l.data[--l.len] = '\0';
    const char *m;
    if ((m = strstr(l.data, "// expect:")) != NULL && (m[10] == ' ' || m[10] == '\0')) {
      /* "// expect:" alone (editors strip trailing blanks) is an empty line */
      s->out = xrealloc(s->out, (s->nout + 1) * sizeof *s->out);
      s->out[s->nout].line = line;
      s->out[s->nout].text = xstrdup(m[10] ? m + 11 : "");
      s->nout++;
    } else if ((m = strstr(l.data, "// expect runtime error: ")) != NULL) {
      free(s->runtime_error);
      s->runtime_error = xstrdup(m + 25);
      s->runtime_line = line;
    } else if ((m = strstr(l.data, "// expect exit: ")) != NULL) {
      s->exit_code = atoi(m + 16);
    } else if ((m = strstr(l.data, "// expect ")) != NULL) {
      parse_diag_exps(s, m + 10, line);
    } else if ((m = strstr(l.data, "// args: ")) != NULL) {
      char *copy = xstrdup(m + 9);
      for (char *tok = strtok(copy, " \t"); tok; tok = strtok(NULL, " \t"))
        sl_push(&s->args, xstrdup(tok));
      free(copy);
    }
    p += n + (nl ? 1 : 0);
    line++;
  }
  text_free(&l);
}

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return xstrdup(".");
  size_t n = (size_t)(slash - path);
  char *d = xrealloc(NULL, n + 1);
  memcpy(d, path, n);
  d[n] = '\0';
  return d;
}

static const char *base_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* Compares `weft check --json` output with the file's expectations. */
static bool check_diags(const Opts *o, const char *path, const char *display, Spec *s, Text *t) {
  char *dir = dir_of(path);
  char *argv[] = {o->weft, "check", "--json", (char *)base_of(path), NULL};
  Proc p;
  proc_run(argv, dir, NULL, TIMEOUT_MS, &p);
  free(dir);
  bool ok = true;
  if (abnormal(t, display, &p)) {
    proc_free(&p);
    return false;
  }
  JParser jp = {p.out.data, p.out.data + p.out.len, 0};
  JVal *doc = jvalue(&jp);
  JVal *list = jget(doc, "diagnostics");
  if (!list || list->kind != J_ARR) {
    text_printf(t, "FAIL %s: `weft check --json` gave no diagnostics document (exit %d)\n",
                display, p.code);
    excerpt(t, "stdout", &p.out);
    excerpt(t, "stderr", &p.err);
    jfree(doc);
    proc_free(&p);
    return false;
  }
  for (size_t i = 0; i < list->n; i++) {
    JVal *d = list->items[i];
    JVal *code = jget(d, "code"), *sev = jget(d, "severity"), *msg = jget(d, "message");
    JVal *file = jget(d, "file");
    const char *cs = code && code->kind == J_STR ? code->str : "?";
    const char *sevname = sev && sev->kind == J_STR && strcmp(sev->str, "warning") == 0 ? "warning"
                          : sev && sev->kind == J_STR && strcmp(sev->str, "note") == 0      ? "note"
                                                                                             : "error";
    int line = jfind_line(d, 0);
    bool other_file = file && file->kind == J_STR && file->str[0] &&
                      strcmp(base_of(file->str), base_of(path)) != 0;
    bool found = false;
    for (size_t k = 0; !other_file && k < s->ndiags; k++) {
      DiagExp *e = &s->diags[k];
      if (!e->matched && e->line == line && strcmp(e->code, cs) == 0) {
        e->matched = found = true;
        break;
      }
    }
    if (found || (sevname[0] == 'w' && !s->expects_warning) || (sevname[0] == 'n' && !s->expects_note)) continue;
    ok = false;
    if (other_file)
      text_printf(t, "FAIL %s: unexpected %s[%s] in %s:%d: %s\n", display,
                  sevname, cs, file->str, line,
                  msg && msg->kind == J_STR ? msg->str : "");
    else
      text_printf(t, "FAIL %s:%d: unexpected %s[%s]: %s\n", display, line,
                  sevname, cs, msg && msg->kind == J_STR ? msg->str : "");
  }
  for (size_t k = 0; k < s->ndiags; k++) {
    if (s->diags[k].matched) continue;
    ok = false;
    text_printf(t, "FAIL %s:%d: expected %s[%s], not reported\n", display, s->diags[k].line,
                s->diags[k].sev, s->diags[k].code);
  }
  int want = s->expects_error ? 1 : 0;
  if (ok && p.code != want) {
    ok = false;
    text_printf(t, "FAIL %s: `weft check` exited %d, expected %d\n", display, p.code, want);
    excerpt(t, "stderr", &p.err);
  }
  jfree(doc);
  proc_free(&p);
  return ok;
}

/* Runs the file with `weft run` and compares stdout, stderr and exit code. */
static bool run_and_compare(const Opts *o, const char *path, const char *display, Spec *s,
                            Text *t) {
  char *dir = dir_of(path);
  size_t argc = 3 + s->args.n;
  char **argv = xrealloc(NULL, (argc + 1) * sizeof *argv);
  argv[0] = o->weft;
  argv[1] = "run";
  argv[2] = (char *)base_of(path);
  for (size_t i = 0; i < s->args.n; i++) argv[3 + i] = s->args.items[i];
  argv[argc] = NULL;
  Proc p;
  proc_run(argv, dir, NULL, TIMEOUT_MS, &p);
  free(argv);
  free(dir);
  if (abnormal(t, display, &p)) {
    proc_free(&p);
    return false;
  }
  bool ok = true;
  /* stdout, line by line */
  const char *q = p.out.data, *end = p.out.data + p.out.len;
  size_t i = 0;
  while (q < end) {
    const char *nl = memchr(q, '\n', (size_t)(end - q));
    size_t n = nl ? (size_t)(nl - q) : (size_t)(end - q);
    if (i < s->nout) {
      const char *want = s->out[i].text;
      if (strlen(want) != n || memcmp(want, q, n) != 0) {
        ok = false;
        text_printf(t, "FAIL %s:%d: expected ", display, s->out[i].line);
        text_quote(t, want, strlen(want));
        text_puts(t, ", got ");
        text_quote(t, q, n);
        text_puts(t, "\n");
        break;
      }
    } else {
      ok = false;
      text_printf(t, "FAIL %s: unexpected output line %zu: ", display, i + 1);
      text_quote(t, q, n);
      text_puts(t, "\n");
      break;
    }
    i++;
    q += n + (nl ? 1 : 0);
  }
  if (ok && i < s->nout) {
    ok = false;
    text_printf(t, "FAIL %s:%d: expected ", display, s->out[i].line);
    text_quote(t, s->out[i].text, strlen(s->out[i].text));
    text_puts(t, ", got no more output\n");
  }
  int want = s->exit_code >= 0 ? s->exit_code : s->runtime_error ? 1 : 0;
  if (p.code != want) {
    ok = false;
    text_printf(t, "FAIL %s: exit code %d, expected %d\n", display, p.code, want);
    excerpt(t, "stderr", &p.err);
  } else if (s->runtime_error && !strstr(p.err.data, s->runtime_error)) {
    ok = false;
    text_printf(t, "FAIL %s:%d: expected runtime error ", display, s->runtime_line);
    text_quote(t, s->runtime_error, strlen(s->runtime_error));
    text_puts(t, "\n");
    excerpt(t, "stderr", &p.err);
  }
  proc_free(&p);
  return ok;
}

static bool weft_test(const Opts *o, const char *path, const char *display, Text *t) {
  size_t len = 0;
  char *src = read_whole(path, &len);
  if (!src) {
    text_printf(t, "FAIL %s: cannot read: %s\n", display, strerror(errno));
    return false;
  }
  Spec s;
  parse_spec(src, len, &s);
  free(src);
  bool ok = true;
  if (s.ndiags) ok = check_diags(o, path, display, &s, t);
  if (ok && !s.expects_error) ok = run_and_compare(o, path, display, &s, t);
  spec_free(&s);
  return ok;
}

/* ---- golden files ------------------------------------------------------------ */

/* Reports the first line where two texts differ. */
static void first_difference(Text *t, const char *display, const char *want, size_t wlen,
                             const char *got, size_t glen) {
  size_t i = 0, line = 1, ls = 0;
  while (i < wlen && i < glen && want[i] == got[i]) {
    if (want[i] == '\n') {
      line++;
      ls = i + 1;
    }
    i++;
  }
  const char *we = memchr(want + ls, '\n', wlen - ls), *ge = memchr(got + ls, '\n', glen - ls);
  size_t wn = we ? (size_t)(we - want - ls) : wlen - ls;
  size_t gn = ge ? (size_t)(ge - got - ls) : glen - ls;
  text_printf(t, "FAIL %s:%zu: expected ", display, line);
  if (ls >= wlen) text_puts(t, "end of output");
  else text_quote(t, want + ls, wn);
  text_puts(t, ", got ");
  if (ls >= glen) text_puts(t, "end of output");
  else text_quote(t, got + ls, gn);
  text_puts(t, "\n");
}

/* kind "diag": stderr of `weft check --color=never`; "disasm": stdout of
 * `weft disasm`. */
static bool golden_test(const Opts *o, const char *path, const char *display, bool disasm,
                        Text *t) {
  char *dir = dir_of(path);
  char *argv_check[] = {o->weft, "check", "--color=never", (char *)base_of(path), NULL};
  char *argv_dis[] = {o->weft, "disasm", (char *)base_of(path), NULL};
  Proc p;
  proc_run(disasm ? argv_dis : argv_check, dir, NULL, TIMEOUT_MS, &p);
  free(dir);
  if (abnormal(t, display, &p)) {
    proc_free(&p);
    return false;
  }
  Text gp = {0};
  text_put(&gp, path, strlen(path) - 5); /* drop ".weft" */
  text_puts(&gp, disasm ? ".disasm" : ".stderr");
  const Text *got = disasm ? &p.out : &p.err;
  bool ok = true;
  if (disasm && p.code != 0) {
    text_printf(t, "FAIL %s: `weft disasm` exited %d\n", display, p.code);
    excerpt(t, "stderr", &p.err);
    ok = false;
  } else if (o->update_golden) {
    if (!write_whole(gp.data, got->data, got->len)) {
      text_printf(t, "FAIL %s: cannot write %s: %s\n", display, gp.data, strerror(errno));
      ok = false;
    }
  } else {
    size_t wlen = 0;
    char *want = read_whole(gp.data, &wlen);
    Text shown = {0};
    text_put(&shown, display, strlen(display) - 5);
    text_puts(&shown, disasm ? ".disasm" : ".stderr");
    if (!want) {
      text_printf(t, "FAIL %s: missing %s (run the runner with --update-golden)\n", display,
                  shown.data);
      ok = false;
    } else if (wlen != got->len || memcmp(want, got->data, wlen) != 0) {
      first_difference(t, shown.data, want, wlen, got->data, got->len);
      ok = false;
    }
    text_free(&shown);
    free(want);
  }
  text_free(&gp);
  proc_free(&p);
  return ok;
}

/* ---- CLI scripts, unit binaries, examples ------------------------------------- */

static bool cli_test(const Opts *o, const char *path, const char *display, Text *t) {
  char *dir = dir_of(path);
  char *absdir = realpath(dir, NULL);
  Text ew = {0}, et = {0};
  text_printf(&ew, "WEFT=%s", o->weft);
  text_printf(&et, "TESTDIR=%s", absdir ? absdir : dir);
  char *env[] = {ew.data, et.data, NULL};
  char *argv[] = {"sh", (char *)base_of(path), NULL};
  Proc p;
  proc_run(argv, absdir ? absdir : dir, env, SCRIPT_TIMEOUT_MS, &p);
  bool ok = true;
  if (abnormal(t, display, &p)) {
    ok = false;
  } else if (p.code != 0) {
    ok = false;
    text_printf(t, "FAIL %s: exit code %d\n", display, p.code);
    excerpt(t, "stdout", &p.out);
    excerpt(t, "stderr", &p.err);
  }
  proc_free(&p);
  text_free(&ew);
  text_free(&et);
  free(absdir);
  free(dir);
  return ok;
}

static void unit_test(const char *bin, Result *r) {
  char *argv[] = {(char *)bin, NULL};
  Proc p;
  proc_run(argv, NULL, NULL, SCRIPT_TIMEOUT_MS, &p);
  Text *t = &r->text;
  if (abnormal(t, bin, &p)) r->nfail++;
  const char *q = p.out.data, *end = p.out.data + p.out.len;
  uint32_t nok = 0, nnot = 0;
  while (q < end) {
    const char *nl = memchr(q, '\n', (size_t)(end - q));
    size_t n = nl ? (size_t)(nl - q) : (size_t)(end - q);
    if (n >= 3 && strncmp(q, "ok ", 3) == 0) {
      nok++;
    } else if (n >= 7 && strncmp(q, "not ok ", 7) == 0) {
      nnot++;
      text_printf(t, "FAIL %s: ", bin);
      text_put(t, q, n);
      text_puts(t, "\n");
    }
    q += n + (nl ? 1 : 0);
  }
  r->npass += nok;
  r->nfail += nnot;
  bool ended_badly = p.timed_out || p.signal; /* counted above */
  if (!ended_badly && p.code != 0 && nnot == 0) {
    r->nfail++;
    text_printf(t, "FAIL %s: exit code %d with no failing test reported\n", bin, p.code);
    excerpt(t, "stderr", &p.err);
  } else if (!ended_badly && p.code == 0 && nok == 0 && nnot == 0) {
    r->npass++; /* a test binary that reports nothing but succeeds */
  }
  proc_free(&p);
}

static bool example_test(const Opts *o, const char *path, const char *display, Text *t) {
  char *dir = dir_of(path);
  char *argv[] = {o->weft, "check", (char *)base_of(path), NULL};
  Proc p;
  proc_run(argv, dir, NULL, TIMEOUT_MS, &p);
  free(dir);
  bool ok = true;
  if (abnormal(t, display, &p)) {
    ok = false;
  } else if (p.code != 0) {
    ok = false;
    text_printf(t, "FAIL %s: `weft check` exited %d\n", display, p.code);
    excerpt(t, "stderr", &p.err);
  }
  proc_free(&p);
  return ok && weft_test(o, path, display, t);
}

/* ---- discovery ------------------------------------------------------------- */

typedef enum ItemKind { IT_WEFT, IT_DIAG, IT_DISASM, IT_CLI, IT_UNIT, IT_EXAMPLE } ItemKind;
typedef struct Item {
  ItemKind kind;
  char *path;     /* to open */
  char *display;  /* to print */
} Item;

typedef struct Items {
  Item *items;
  size_t n, cap;
} Items;

static void add_item(Items *l, const Opts *o, ItemKind kind, char *path, char *display) {
  if (o->filter && !strstr(display, o->filter)) {
    free(path);
    free(display);
    return;
  }
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->items = xrealloc(l->items, l->cap * sizeof *l->items);
  }
  l->items[l->n++] = (Item){kind, path, display};
}

static bool skipped_dir(const char *name) {
  static const char *const skip[] = {"lib", "data", "server", "fuzz", "golden", "unit", "tools"};
  for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
    if (strcmp(name, skip[i]) == 0) return true;
  return false;
}

/* Recursively adds the *.weft files and (unless --fast) the *.sh scripts
 * below dir; not those directly in the root: only subdirectories, the
 * feature folders, hold tests. */
static void walk(Items *l, const Opts *o, const char *dir, const char *display, int depth) {
  if (depth > MAX_WALK_DEPTH) return;
  StrList names = {0};
  list_dir(dir, &names);
  for (size_t i = 0; i < names.n; i++) {
    char *p = path_join(dir, names.items[i]);
    char *d = path_join(display, names.items[i]);
    if (is_dir(p)) {
      if (!skipped_dir(names.items[i])) walk(l, o, p, d, depth + 1);
      free(p);
      free(d);
    } else if (depth > 0 && ends_with(names.items[i], ".weft")) {
      add_item(l, o, IT_WEFT, p, d);
    } else if (depth > 0 && !o->fast && ends_with(names.items[i], ".sh") &&
               strcmp(names.items[i], "common.sh") != 0) {
      add_item(l, o, IT_CLI, p, d);
    } else {
      free(p);
      free(d);
    }
  }
  sl_free(&names);
}

/* Adds every file of dir ending in `suffix` (not recursive). */
static void add_flat(Items *l, const Opts *o, ItemKind kind, const char *dir, const char *display,
                     const char *suffix) {
  StrList names = {0};
  list_dir(dir, &names);
  for (size_t i = 0; i < names.n; i++) {
    if (!ends_with(names.items[i], suffix)) continue;
    char *p = path_join(dir, names.items[i]);
    if (is_dir(p)) {
      free(p);
      continue;
    }
    add_item(l, o, kind, p, path_join(display, names.items[i]));
  }
  sl_free(&names);
}

static void discover(const Opts *o, Items *l) {
  walk(l, o, o->root_abs, o->root, 0);
  const char *sub[][2] = {{"golden/diag", ".weft"}, {"golden/disasm", ".weft"}};
  ItemKind kinds[] = {IT_DIAG, IT_DISASM};
  for (int k = 0; k < 2; k++) {
    char *p = path_join(o->root_abs, sub[k][0]);
    char *d = path_join(o->root, sub[k][0]);
    add_flat(l, o, kinds[k], p, d, sub[k][1]);
    free(p);
    free(d);
  }
  for (size_t i = 0; i < o->units.n; i++)
    add_item(l, o, IT_UNIT, xstrdup(o->units.items[i]), xstrdup(o->units.items[i]));
  if (o->examples && !o->fast) {
    char *abs = realpath(o->examples, NULL);
    if (abs) add_flat(l, o, IT_EXAMPLE, abs, o->examples, ".weft");
    else fprintf(stderr, "runner: cannot open examples dir %s\n", o->examples);
    free(abs);
  }
}

static void run_item(const Opts *o, const Item *it, Result *r) {
  memset(r, 0, sizeof *r);
  text_put(&r->text, "", 0);
  if (it->kind == IT_UNIT) {
    unit_test(it->path, r);
  } else {
    bool ok = false;
    switch (it->kind) {
      case IT_WEFT: ok = weft_test(o, it->path, it->display, &r->text); break;
      case IT_DIAG: ok = golden_test(o, it->path, it->display, false, &r->text); break;
      case IT_DISASM: ok = golden_test(o, it->path, it->display, true, &r->text); break;
      case IT_CLI: ok = cli_test(o, it->path, it->display, &r->text); break;
      case IT_EXAMPLE: ok = example_test(o, it->path, it->display, &r->text); break;
      case IT_UNIT: break;
    }
    if (ok) r->npass = 1;
    else r->nfail = 1;
  }
  if (o->verbose && r->nfail == 0) text_printf(&r->text, "PASS %s\n", it->display);
}

/* ---- parallel workers ------------------------------------------------------- */

typedef struct Record { uint32_t index, npass, nfail, len; } Record;

static bool write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= (size_t)w;
  }
  return true;
}

/* Runs the items with `jobs` worker processes; worker w takes items
 * w, w+jobs, ... and sends each result back as a Record + text. Results
 * are printed in item order as soon as they are complete. */
static void run_all(const Opts *o, const Items *l, uint32_t *npass, uint32_t *nfail) {
  size_t n = l->n;
  Result *res = xrealloc(NULL, (n ? n : 1) * sizeof *res);
  bool *done = xrealloc(NULL, n ? n : 1);
  memset(done, 0, n ? n : 1);
  size_t next = 0;
  int jobs = o->jobs;
  if ((size_t)jobs > n) jobs = (int)(n ? n : 1);

  if (jobs <= 1) {
    for (size_t i = 0; i < n; i++) {
      run_item(o, &l->items[i], &res[i]);
      fputs(res[i].text.data, stdout);
      fflush(stdout);
      *npass += res[i].npass;
      *nfail += res[i].nfail;
      text_free(&res[i].text);
    }
    free(res);
    free(done);
    return;
  }

  int *fds = xrealloc(NULL, (size_t)jobs * sizeof *fds);
  pid_t *pids = xrealloc(NULL, (size_t)jobs * sizeof *pids);
  Text *inbox = xrealloc(NULL, (size_t)jobs * sizeof *inbox);
  memset(inbox, 0, (size_t)jobs * sizeof *inbox);
  fflush(NULL);
  for (int w = 0; w < jobs; w++) {
    int pp[2];
    if (pipe(pp) != 0) die("pipe failed");
    pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) {
      close(pp[0]);
      for (int k = 0; k < w; k++) close(fds[k]);
      for (size_t i = (size_t)w; i < n; i += (size_t)jobs) {
        Result r;
        run_item(o, &l->items[i], &r);
        Record rec = {(uint32_t)i, r.npass, r.nfail, (uint32_t)r.text.len};
        if (!write_all(pp[1], &rec, sizeof rec) || !write_all(pp[1], r.text.data, r.text.len))
          _exit(3);
        text_free(&r.text);
      }
      close(pp[1]);
      _exit(0);
    }
    close(pp[1]);
    fds[w] = pp[0];
    pids[w] = pid;
  }
  int open_count = jobs;
  while (open_count > 0) {
    struct pollfd *pf = xrealloc(NULL, (size_t)jobs * sizeof *pf);
    nfds_t nf = 0;
    for (int w = 0; w < jobs; w++)
      if (fds[w] >= 0) pf[nf++] = (struct pollfd){.fd = fds[w], .events = POLLIN};
    int r = poll(pf, nf, -1);
    if (r < 0 && errno != EINTR) die("poll failed");
    for (nfds_t k = 0; r > 0 && k < nf; k++) {
      if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      int w = 0;
      while (fds[w] != pf[k].fd) w++;
      char chunk[16384];
      ssize_t got = read(fds[w], chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        close(fds[w]);
        fds[w] = -1;
        open_count--;
        continue;
      }
      text_put(&inbox[w], chunk, (size_t)got);
      /* Take every complete record out of this worker's inbox. */
      size_t off = 0;
      while (inbox[w].len - off >= sizeof(Record)) {
        Record rec;
        memcpy(&rec, inbox[w].data + off, sizeof rec);
        if (inbox[w].len - off - sizeof rec < rec.len) break;
        if (rec.index < n && !done[rec.index]) {
          Result *rs = &res[rec.index];
          memset(rs, 0, sizeof *rs);
          rs->npass = rec.npass;
          rs->nfail = rec.nfail;
          text_put(&rs->text, inbox[w].data + off + sizeof rec, rec.len);
          done[rec.index] = true;
        }
        off += sizeof rec + rec.len;
      }
      memmove(inbox[w].data, inbox[w].data + off, inbox[w].len - off);
      inbox[w].len -= off;
      while (next < n && done[next]) {
        fputs(res[next].text.data, stdout);
        *npass += res[next].npass;
        *nfail += res[next].nfail;
        text_free(&res[next].text);
        next++;
      }
      fflush(stdout);
    }
    free(pf);
  }
  for (int w = 0; w < jobs; w++) {
    int st;
    while (waitpid(pids[w], &st, 0) < 0 && errno == EINTR) {}
    text_free(&inbox[w]);
  }
  for (; next < n; next++) {
    if (done[next]) {
      fputs(res[next].text.data, stdout);
      *npass += res[next].npass;
      *nfail += res[next].nfail;
      text_free(&res[next].text);
    } else {
      printf("FAIL %s: the runner's worker process died before reporting\n",
             l->items[next].display);
      (*nfail)++;
    }
  }
  free(fds);
  free(pids);
  free(inbox);
  free(res);
  free(done);
}

/* ---- main ------------------------------------------------------------------- */

static void usage(void) {
  fputs("usage: runner --weft PATH --root DIR [--unit BIN...] [--examples DIR]\n"
        "              [--update-golden] [--fast] [-j N] [-v] [FILTER]\n",
        stderr);
  exit(2);
}

int main(int argc, char **argv) {
  Opts o;
  memset(&o, 0, sizeof o);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  o.jobs = cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
  const char *weft = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--weft") == 0 && i + 1 < argc) {
      weft = argv[++i];
    } else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
      o.root = argv[++i];
    } else if (strcmp(a, "--examples") == 0 && i + 1 < argc) {
      o.examples = argv[++i];
    } else if (strcmp(a, "--unit") == 0 && i + 1 < argc) {
      sl_push(&o.units, xstrdup(argv[++i]));
      /* `--unit a b c`: further executables belong to it too. */
      while (i + 1 < argc && argv[i + 1][0] != '-' && is_executable_file(argv[i + 1]))
        sl_push(&o.units, xstrdup(argv[++i]));
    } else if (strcmp(a, "--update-golden") == 0) {
      o.update_golden = true;
    } else if (strcmp(a, "--fast") == 0) {
      o.fast = true;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      o.verbose = true;
    } else if (strcmp(a, "-j") == 0 && i + 1 < argc) {
      o.jobs = atoi(argv[++i]);
      if (o.jobs < 1 || o.jobs > 64) usage();
    } else if (a[0] == '-') {
      fprintf(stderr, "runner: unknown flag %s\n", a);
      usage();
    } else if (!o.filter) {
      o.filter = a;
    } else {
      usage();
    }
  }
  if (!weft || !o.root) usage();
  o.weft = realpath(weft, NULL);
  if (!o.weft || !is_executable_file(o.weft)) {
    fprintf(stderr, "runner: %s is not an executable\n", weft);
    return 2;
  }
  o.root_abs = realpath(o.root, NULL);
  if (!o.root_abs) {
    fprintf(stderr, "runner: cannot open root %s\n", o.root);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  Items items = {0};
  discover(&o, &items);
  uint32_t npass = 0, nfail = 0;
  /* Every `weft run` is journaled: the tests' runs go to a journal of
   * their own, never into .weft/ next to the test files (a read-only
   * source tree in `make distcheck`). Scripts set their own. */
  char jdir[] = "/tmp/weft-runner.XXXXXX";
  char jpath[sizeof jdir + 32];
  if (!mkdtemp(jdir)) die("cannot create a temporary directory");
  snprintf(jpath, sizeof jpath, "%s/journal.db", jdir);
  setenv("WEFT_JOURNAL", jpath, 1);
  canary_env();
  run_all(&o, &items, &npass, &nfail);
  static const char *const leftovers[] = {"journal.db", "journal.db-wal", "journal.db-shm", "journal.db-lock"};
  for (size_t k = 0; k < sizeof leftovers / sizeof leftovers[0]; k++) {
    snprintf(jpath, sizeof jpath, "%s/%s", jdir, leftovers[k]);
    size_t jlen = 0;
    char *jdata = read_whole(jpath, &jlen);
    if (jdata) {
      Text j = {jdata, jlen, jlen}, why = {0};
      if (canary_check(&why, "journal of the tests' runs", leftovers[k], &j)) {
        fputs(why.data, stdout);
        nfail++;
      }
      text_free(&why);
      free(jdata);
    }
    unlink(jpath);
  }
  rmdir(jdir);
  printf("%u passed, %u failed\n", npass, nfail);
  for (size_t i = 0; i < items.n; i++) {
    free(items.items[i].path);
    free(items.items[i].display);
  }
  free(items.items);
  sl_free(&o.units);
  free(o.weft);
  free(o.root_abs);
  return nfail ? 1 : 0;
}
