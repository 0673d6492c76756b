/* proc_cap.c — proc.run, the capability behind std/proc: a row of the
 * capability table (caps.c) over the process engine (proc.h).
 *
 * The program a Weft program names is looked up in the run's --allow-run
 * grants (resolved to an absolute path when the run started, so a program
 * put earlier on PATH later is never used); the working directory must lie
 * in a file grant. The run's sandbox is built on the first call from the
 * grants — file grants for Landlock, every granted program, and whether
 * any network is granted. A sandbox is a function of the grants alone, so
 * sandboxes are kept by the grants' JSON form for the life of the process:
 * a second run under the same grants (an embedding host, `weft test`)
 * reuses one, and the kernel is probed once. */
#define _GNU_SOURCE
#include "proc_cap.h"
#include "proc.h"
#include "../base/buf.h"
#include "../base/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROC_MAX_ARGS 4096u
#define PROC_MAX_ARG_BYTES (1u << 20)       /* the argument vector, all told */
#define PROC_MAX_STDIN (16u << 20)
#define PROC_DEFAULT_TIMEOUT_MS (10 * 60 * 1000)

typedef struct ProcRun {
  char *key;                 /* the grants as JSON */
  ProcSandbox *sb;
  bool noticed;              /* its notice was printed */
  pthread_mutex_t spawn;     /* one spawn at a time: the children share a stack */
  struct ProcRun *next;
} ProcRun;

static pthread_mutex_t runs_lock = PTHREAD_MUTEX_INITIALIZER;
static ProcRun *runs;

static void fail_owned(CapCall *c, char *msg) {
  caps_fail(c, "error", msg);
  free(msg);
}

/* The sandbox of the grants whose JSON form is key. */
static ProcSandbox *sandbox_new(const char *key, char **err) {
  cJSON *j = cJSON_Parse(key);
  ProcRule *rules = NULL;
  size_t n = 0, cap = 0;
  static const struct { const char *key; int access; } kinds[] = {
      {"read", PROC_RULE_READ}, {"write", PROC_RULE_WRITE}, {"run", PROC_RULE_EXEC}};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, kinds[k].key);
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
      const cJSON *p = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "path") : it;
      if (!cJSON_IsString(p)) continue;
      if (n == cap) rules = xrealloc(rules, (cap = cap ? cap * 2 : 8) * sizeof *rules);
      rules[n].path = p->valuestring;
      rules[n].access = kinds[k].access;
      n++;
    }
  }
  const cJSON *net = cJSON_GetObjectItemCaseSensitive(j, "net");
  ProcSandboxOpts o = {.rules = rules, .nrules = n, .net = cJSON_GetArraySize(net) > 0};
  ProcSandbox *sb = proc_sandbox_new(&o, err);
  free(rules);
  cJSON_Delete(j);
  return sb;
}

static ProcRun *run_for(const Grants *g, char **err) {
  Buf b;
  buf_init(&b);
  grants_json(g, &b);
  buf_putc(&b, '\0');
  pthread_mutex_lock(&runs_lock);
  ProcRun *r = runs;
  while (r && strcmp(r->key, b.data) != 0) r = r->next;
  if (!r) {
    ProcSandbox *sb = sandbox_new(b.data, err);
    if (sb) {
      r = xcalloc(1, sizeof *r);
      r->key = xstrdup(b.data);
      r->sb = sb;
      pthread_mutex_init(&r->spawn, NULL);
      r->next = runs;
      runs = r;
    }
  }
  pthread_mutex_unlock(&runs_lock);
  buf_free(&b);
  return r;
}

/* Text as a Weft string holds it: UTF-8 without NUL; anything else
 * becomes U+FFFD, so output of any bytes has a JSON form. */
static cJSON *text_json(const char *s, size_t n) {
  Buf b;
  buf_init(&b);
  for (size_t i = 0; i < n;) {
    size_t k = s[i] ? utf8_seq_len(s + i, n - i) : 0;
    if (k) {
      buf_put(&b, s + i, k);
      i += k;
    } else {
      buf_puts(&b, "\xEF\xBF\xBD");
      i++;
    }
  }
  cJSON *j = cJSON_CreateString(b.data ? b.data : "");
  buf_free(&b);
  return j;
}

static void on_proc_done(void *ud, ProcResult *r) {
  CapCall *c = ud;
  caps_set_data(c, NULL);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "code", r->code);
  if (r->signal) cJSON_AddNumberToObject(o, "signal", r->signal);
  else cJSON_AddNullToObject(o, "signal");
  cJSON_AddItemToObject(o, "stdout", text_json(r->out, r->out_len));
  cJSON_AddItemToObject(o, "stderr", text_json(r->err, r->err_len));
  cJSON_AddBoolToObject(o, "stdout_truncated", r->out_truncated);
  cJSON_AddBoolToObject(o, "stderr_truncated", r->err_truncated);
  cJSON_AddBoolToObject(o, "timed_out", r->timed_out);
  char ms[32];
  snprintf(ms, sizeof ms, "%lldms", (long long)r->duration_ms);
  cJSON_AddStringToObject(o, "duration", ms);
  free(r->out);
  free(r->err);
  caps_done(c, o);
}

/* A duration as the VM writes it in JSON ("250ms", "1h2m3.5s", "0s"),
 * in ms; -1 for anything else. */
static int64_t parse_ms(const char *s) {
  int64_t total = 0;
  if (!*s) return -1;
  while (*s) {
    int64_t whole = 0, frac = 0, scale = 1;
    if (*s < '0' || *s > '9') return -1;
    while (*s >= '0' && *s <= '9') {
      if (whole > 100000000000LL) return -1;
      whole = whole * 10 + (*s++ - '0');
    }
    if (*s == '.') {
      s++;
      while (*s >= '0' && *s <= '9' && scale < 1000) {
        frac = frac * 10 + (*s++ - '0');
        scale *= 10;
      }
    }
    int64_t unit;
    if (s[0] == 'm' && s[1] == 's') unit = 1, s += 2;
    else if (*s == 'h') unit = 3600000, s++;
    else if (*s == 'm') unit = 60000, s++;
    else if (*s == 's') unit = 1000, s++;
    else return -1;
    total += whole * unit + frac * unit / scale;
    if (total > 100000000000LL) return -1;
  }
  return total;
}

static const char *opt_str(CapCall *c, const cJSON *args, const char *name, bool *bad) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
  if (!v || cJSON_IsNull(v)) return NULL;
  if (!cJSON_IsString(v)) {
    fail_owned(c, xasprintf("proc.run: %s must be a string", name));
    *bad = true;
    return NULL;
  }
  return v->valuestring;
}

void proc_run_start(CapCall *c, const cJSON *args) {
  bool bad = false;
  const char *program = opt_str(c, args, "program", &bad);
  if (bad) return;
  if (!program || !*program) {
    caps_fail(c, "error", "proc.run: no program named");
    return;
  }
  const cJSON *argv_j = cJSON_GetObjectItemCaseSensitive(args, "args");
  if (argv_j && !cJSON_IsNull(argv_j) && !cJSON_IsArray(argv_j)) {
    caps_fail(c, "error", "proc.run: args must be a list of strings");
    return;
  }
  const char *in = opt_str(c, args, "stdin", &bad);
  if (bad) return;
  const char *cwd = opt_str(c, args, "cwd", &bad);
  if (bad) return;
  int64_t timeout = PROC_DEFAULT_TIMEOUT_MS;
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(args, "timeout");
  if (t && !cJSON_IsNull(t)) {
    int64_t ms = cJSON_IsString(t) ? parse_ms(t->valuestring) : -1;
    if (ms < 1 || ms > 86400000) {
      caps_fail(c, "error", "proc.run: the timeout must be a duration from 1ms to 24h");
      return;
    }
    timeout = ms;
  }
  const Grants *g = caps_grants(c);
  char *err = NULL, *path = NULL;
  if (!g || !grants_program(g, program, &path, &err)) {
    fail_owned(c, err ? err : xasprintf("running %s needs --allow-run=%s", program, program));
    return;
  }
  const char *journal = NULL;
  if (grants_children_reach_journal(g, &journal)) {
    /* the child's file confinement is whole trees: it could rewrite the
     * journal std/fs refuses, and a resume would trust what it wrote */
    fail_owned(c, xasprintf("running %s is refused: a write grant of a directory holds the run's journal %s, "
                            "which a child could rewrite; grant a narrower directory, or keep the journal "
                            "elsewhere (--journal PATH)", program, journal));
    free(path);
    return;
  }
  /* The working directory is opened as std/fs opens a path — beneath the
   * grant, no link followed — and the child changes into the descriptor:
   * a name checked as text and resolved again by chdir would follow a link
   * planted inside the grant out of it. */
  int cwd_fd = -1;
  if (cwd) {
    size_t n = strlen(cwd);
    cwd_fd = grants_open(g, cwd, n, GRANT_READ, GRANT_OPEN_DIR, &err);
    if (cwd_fd < 0 && errno == EACCES) {
      char *werr = NULL;
      cwd_fd = grants_open(g, cwd, n, GRANT_WRITE, GRANT_OPEN_DIR, &werr);
      if (cwd_fd < 0 && errno == EACCES) {
        /* neither grant covers it: the read grant's refusal says what to add */
        free(werr);
        werr = NULL;
        errno = EACCES;
      } else {
        free(err);
        err = werr;
      }
    }
    if (cwd_fd < 0) {
      free(path);
      fail_owned(c, xasprintf("running %s: cwd: %s", program, err));
      free(err);
      return;
    }
  }
  /* from here on path and cwd_fd are released at the end */
  if (in && strlen(in) > PROC_MAX_STDIN) {
    if (cwd_fd >= 0) close(cwd_fd);
    free(path);
    fail_owned(c, xasprintf("proc.run: stdin is larger than %u MiB", PROC_MAX_STDIN >> 20));
    return;
  }
  /* the argument vector: argv[0] is the name as the program gave it */
  uint32_t nargs = (uint32_t)cJSON_GetArraySize(argv_j);
  if (nargs > PROC_MAX_ARGS) {
    if (cwd_fd >= 0) close(cwd_fd);
    free(path);
    fail_owned(c, xasprintf("proc.run: more than %u arguments", PROC_MAX_ARGS));
    return;
  }
  const char **argv = xcalloc(nargs + 2, sizeof *argv);
  argv[0] = program;
  size_t bytes = strlen(program);
  uint32_t i = 1;
  const cJSON *a;
  cJSON_ArrayForEach(a, argv_j) {
    if (!cJSON_IsString(a)) {
      free(argv);
      if (cwd_fd >= 0) close(cwd_fd);
      free(path);
      caps_fail(c, "error", "proc.run: args must be a list of strings");
      return;
    }
    bytes += strlen(a->valuestring) + 1;
    argv[i++] = a->valuestring;
  }
  if (bytes > PROC_MAX_ARG_BYTES) {
    free(argv);
    if (cwd_fd >= 0) close(cwd_fd);
    free(path);
    fail_owned(c, xasprintf("proc.run: the arguments are larger than %u KiB", PROC_MAX_ARG_BYTES >> 10));
    return;
  }
  Loop *loop = caps_loop(c, &err);
  ProcRun *run = loop ? run_for(g, &err) : NULL;
  if (!run) {
    free(argv);
    if (cwd_fd >= 0) close(cwd_fd);
    free(path);
    fail_owned(c, xasprintf("running %s: %s", program, err ? err : "no event loop"));
    free(err);
    return;
  }
  const char *notice = proc_sandbox_notice(run->sb);
  if (notice && grants_untrusted(g)) {
    free(argv);
    if (cwd_fd >= 0) close(cwd_fd);
    free(path);
    fail_owned(c, xasprintf("running %s: refused under --untrusted: %s", program, notice));
    return;
  }
  pthread_mutex_lock(&run->spawn);
  if (notice && !run->noticed) {
    run->noticed = true;
    fprintf(stderr, "notice: %s\n", notice);
  }
  char **env = proc_env(grants_env(g));
  ProcSpec spec = {.path = path, .argv = argv, .env = (const char *const *)env, .stdin_data = in,
                   .stdin_len = in ? strlen(in) : 0, .cwd_fd = cwd_fd >= 0 ? &cwd_fd : NULL, .timeout_ms = timeout};
  Proc *p = proc_start(loop, run->sb, &spec, on_proc_done, c, &err);
  pthread_mutex_unlock(&run->spawn);
  proc_env_free(env);
  free(argv);
  if (cwd_fd >= 0) close(cwd_fd);
  free(path);
  if (!p) {
    fail_owned(c, err);
    return;
  }
  caps_set_data(c, p);
}

void proc_run_cancel(CapCall *c) {
  Proc *p = caps_data(c);
  caps_set_data(c, NULL);
  proc_cancel(p);
}
