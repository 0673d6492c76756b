/* test_proc.c — child processes (runtime/proc.h) driven on the event loop:
 * output, stdin, exit codes and signals, the environment allowlist, the
 * output caps, timeouts, cancellation, and no process left behind (looked
 * for by a unique marker in /proc) with and without a PID namespace; and
 * Landlock keeping a child inside the rules it was given. */
#define _GNU_SOURCE
#include "tap.h"
#include "../../runtime/proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct Got {
  bool done;
  ProcResult r;
} Got;

static void on_done(void *ud, ProcResult *r) {
  Got *g = ud;
  g->done = true;
  g->r = *r;
}

static void got_free(Got *g) {
  free(g->r.out);
  free(g->r.err);
  memset(g, 0, sizeof *g);
}

static Loop *L;
static char **ENV;

/* Runs argv under sb to the end (at most 20 s of loop time). */
static bool run(ProcSandbox *sb, const char *const *argv, const char *in, int64_t timeout,
                size_t cap, const char *cwd, Got *g, char **err) {
  memset(g, 0, sizeof *g);
  /* the child changes into a descriptor, as proc.run gives it one */
  int cwd_fd = cwd ? open(cwd, O_PATH | O_CLOEXEC) : -1;
  ProcSpec s = {.path = argv[0], .argv = argv, .env = (const char *const *)ENV,
                .stdin_data = in, .stdin_len = in ? strlen(in) : 0,
                .cwd_fd = cwd ? &cwd_fd : NULL,
                .timeout_ms = timeout, .out_cap = cap, .err_cap = cap};
  *err = NULL;
  Proc *p = proc_start(L, sb, &s, on_done, g, err);
  if (cwd_fd >= 0) close(cwd_fd);
  if (!p) return false;
  for (int i = 0; i < 2000 && !g->done; i++) loop_wait(L, 10);
  return g->done;
}

/* Processes whose command line holds marker, other than this one. */
static int strays(const char *marker) {
  DIR *d = opendir("/proc");
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    if (atoi(e->d_name) == getpid()) continue;
    char path[300], buf[4096];
    snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) continue;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) continue;
    for (ssize_t i = 0; i < len; i++)
      if (!buf[i]) buf[i] = ' ';
    buf[len] = 0;
    if (strstr(buf, marker)) n++;
  }
  closedir(d);
  return n;
}

static void wait_no_strays(const char *marker, const char *what) {
  int n = 0;
  for (int i = 0; i < 200; i++) {   /* the kernel reaps a namespace asynchronously */
    n = strays(marker);
    if (n == 0) break;
    usleep(10000);
  }
  is_int(n, 0, "%s: no process left with the marker", what);
}

static void test_basics(ProcSandbox *sb, const char *tag) {
  Got g;
  char *err;
  const char *echo[] = {"/bin/echo", "hello", "world", NULL};
  ok(run(sb, echo, NULL, 0, 0, NULL, &g, &err), "%s: echo runs", tag);
  is_str(g.r.out, "hello world\n", "%s: stdout captured", tag);
  is_int(g.r.code, 0, "%s: exit 0", tag);
  got_free(&g);

  const char *cat[] = {"/bin/cat", NULL};
  ok(run(sb, cat, "text on stdin", 0, 0, NULL, &g, &err), "%s: cat runs", tag);
  is_str(g.r.out, "text on stdin", "%s: stdin reaches the child", tag);
  got_free(&g);

  const char *sh[] = {"/bin/sh", "-c", "echo oops >&2; exit 3", NULL};
  ok(run(sb, sh, NULL, 0, 0, NULL, &g, &err), "%s: sh runs", tag);
  is_int(g.r.code, 3, "%s: exit code", tag);
  is_str(g.r.err, "oops\n", "%s: stderr captured", tag);
  got_free(&g);

  const char *self_kill[] = {"/bin/sh", "-c", "kill -TERM $$; sleep 1", NULL};
  ok(run(sb, self_kill, NULL, 0, 0, NULL, &g, &err), "%s: a signalled child ends", tag);
  /* As a namespace's init the shell ignores its own SIGTERM and exits 0
   * after the sleep: either way the result says what happened. */
  ok(g.r.signal == SIGTERM || g.r.code == 0, "%s: signal %d or code %d", tag, g.r.signal,
     g.r.code);
  got_free(&g);

  const char *pwd[] = {"/bin/pwd", NULL};
  ok(run(sb, pwd, NULL, 0, 0, "/usr/bin", &g, &err), "%s: pwd runs", tag);
  is_str(g.r.out, "/usr/bin\n", "%s: working directory", tag);
  got_free(&g);

  const char *none[] = {"/nonexistent/prog", NULL};
  ok(!run(sb, none, NULL, 0, 0, NULL, &g, &err), "%s: a missing program is refused", tag);
  has_substr(err, "running /nonexistent/prog: executing:", "%s: the error says why", tag);
  free(err);

  const char *bad_cwd[] = {"/bin/true", NULL};
  ok(!run(sb, bad_cwd, NULL, 0, 0, "/dev/null", &g, &err), "%s: a cwd that is no directory is refused", tag);
  has_substr(err, "changing directory", "%s: the error says so", tag);
  free(err);

  /* A child that exits without reading its stdin: the write fails, weft
   * lives on (SIGPIPE would end this test). */
  static char big[1 << 18];
  memset(big, 'x', sizeof big - 1);
  const char *t[] = {"/bin/true", NULL};
  ok(run(sb, t, big, 0, 0, NULL, &g, &err), "%s: unread stdin does not kill weft", tag);
  is_int(g.r.code, 0, "%s: true exits 0", tag);
  got_free(&g);
}

static void test_env(ProcSandbox *sb) {
  setenv("GITHUB_TOKEN", "ghp_secret_value_1234", 1);
  setenv("LD_PRELOAD", "/tmp/evil.so", 1);
  setenv("WEFT_EXTRA_OK", "yes", 1);
  const char *extra[] = {"WEFT_EXTRA_OK", NULL};
  char **env = proc_env(extra);
  char **save = ENV;
  ENV = env;
  Got g;
  char *err;
  const char *argv[] = {"/usr/bin/env", NULL};
  ok(run(sb, argv, NULL, 0, 0, NULL, &g, &err), "env runs");
  ok(g.r.out && !strstr(g.r.out, "GITHUB_TOKEN") && !strstr(g.r.out, "ghp_secret"),
     "GITHUB_TOKEN is not passed on");
  ok(g.r.out && !strstr(g.r.out, "LD_PRELOAD"), "LD_PRELOAD is not passed on");
  has_substr(g.r.out, "PATH=", "PATH is passed on");
  has_substr(g.r.out, "WEFT_EXTRA_OK=yes", "a name the operator adds is passed on");
  got_free(&g);
  ENV = save;
  proc_env_free(env);
  unsetenv("GITHUB_TOKEN");
  unsetenv("LD_PRELOAD");
}

static void test_caps(ProcSandbox *sb, const char *tag) {
  Got g;
  char *err;
  const char *flood[] = {"/bin/sh", "-c", "yes flood | head -c 3000000; echo done >&2", NULL};
  ok(run(sb, flood, NULL, 0, 100000, NULL, &g, &err), "%s: a flood ends", tag);
  is_int((long long)g.r.out_len, 100000, "%s: stdout cut at the cap", tag);
  ok(g.r.out_truncated, "%s: and the result says so", tag);
  ok(!g.r.err_truncated, "%s: stderr under its cap is whole", tag);
  is_int(g.r.code, 0, "%s: the flood was read to its end (no blocked writer)", tag);
  got_free(&g);
}

static void test_timeout(ProcSandbox *sb, const char *tag, const char *marker) {
  Got g;
  char *err;
  char script[200];
  snprintf(script, sizeof script, "(sleep 30; echo %s) & (sleep 31; echo %s) & sleep 30", marker,
           marker);
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  ok(run(sb, argv, NULL, 200, 0, NULL, &g, &err), "%s: a hanging child ends", tag);
  clock_gettime(CLOCK_MONOTONIC, &b);
  ok(g.r.timed_out, "%s: by the timeout", tag);
  is_int(g.r.signal, SIGKILL, "%s: killed", tag);
  ok(b.tv_sec - a.tv_sec < 5, "%s: promptly", tag);
  got_free(&g);
  wait_no_strays(marker, tag);
}

static void test_grandchild_exit(ProcSandbox *sb, const char *tag, const char *marker) {
  Got g;
  char *err;
  char script[200];
  /* The grandchild keeps no pipe open: only the namespace (or the group)
   * can end it. */
  snprintf(script, sizeof script, "(sleep 60; echo %s) >/dev/null 2>&1 </dev/null & echo started",
           marker);
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  ok(run(sb, argv, NULL, 0, 0, NULL, &g, &err), "%s: a child that forks and exits ends", tag);
  is_str(g.r.out, "started\n", "%s: its output", tag);
  got_free(&g);
  wait_no_strays(marker, tag);
}

static void test_cancel(ProcSandbox *sb, const char *tag, const char *marker) {
  char script[200];
  snprintf(script, sizeof script, "(sleep 60; echo %s) & sleep 60", marker);
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  Got g;
  memset(&g, 0, sizeof g);
  ProcSpec s = {.path = argv[0], .argv = argv, .env = (const char *const *)ENV};
  char *err = NULL;
  Proc *p = proc_start(L, sb, &s, on_done, &g, &err);
  ok(p != NULL, "%s: started", tag);
  if (!p) return;
  for (int i = 0; i < 20; i++) loop_wait(L, 10);
  ok(strays(marker) > 0, "%s: the grandchild is running", tag);
  int pid = proc_pid(p);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  proc_cancel(p);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  ok(ms < 200, "%s: cancel returns without waiting for the teardown (%ld ms)", tag, ms);
  ok(!g.done, "%s: cancel does not call back", tag);
  wait_no_strays(marker, tag);
  /* the cancelled child is reaped by a later spawn: no zombie is left */
  char path[64];
  snprintf(path, sizeof path, "/proc/%d", pid);
  const char *t[] = {"/bin/true", NULL};
  bool gone = false;
  for (int i = 0; i < 100 && !gone; i++) {
    Got g2;
    if (run(sb, t, NULL, 0, 0, NULL, &g2, &err)) got_free(&g2);
    free(err);
    err = NULL;
    gone = access(path, F_OK) != 0;
    if (!gone) loop_wait(L, 20);
  }
  ok(gone, "%s: the cancelled child is reaped", tag);
}

/* weft killed with SIGKILL while its child and grandchild run: the
 * child's PDEATHSIG ends the namespace's init, and the kernel the rest. */
static void test_kill9(const char *marker) {
  int sync[2];
  if (pipe(sync) < 0) return;
  pid_t helper = fork();
  if (helper == 0) {
    close(sync[0]);
    char *e = NULL;
    Loop *l = loop_new(&e);
    ProcSandboxOpts o = {0};
    ProcSandbox *sb = proc_sandbox_new(&o, &e);
    char script[200];
    snprintf(script, sizeof script, "(sleep 60; echo %s) >/dev/null 2>&1 & sleep 60; echo %s",
             marker, marker);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    ProcSpec s = {.path = argv[0], .argv = argv, .env = (const char *const *)ENV};
    Got g;
    if (!l || !sb || !proc_start(l, sb, &s, on_done, &g, &e)) _exit(1);
    for (int i = 0; i < 20; i++) loop_wait(l, 10);
    if (write(sync[1], "x", 1) != 1) _exit(1);
    for (;;) loop_wait(l, 1000);
  }
  close(sync[1]);
  char c;
  ok(read(sync[0], &c, 1) == 1, "kill -9: the helper started its child");
  close(sync[0]);
  ok(strays(marker) >= 2, "kill -9: child and grandchild run");
  kill(helper, SIGKILL);
  waitpid(helper, NULL, 0);
  wait_no_strays(marker, "kill -9 of the parent");
}

static void test_landlock(void) {
  char dir[] = "/tmp/weft_proc_XXXXXX", ro[] = "/tmp/weft_proc_XXXXXX";
  if (!mkdtemp(dir) || !mkdtemp(ro)) {
    skip("mkdtemp", "landlock");
    return;
  }
  char in_ro[300], outside[] = "/tmp/weft_proc_outside_secret";
  snprintf(in_ro, sizeof in_ro, "%s/readable", ro);
  FILE *f = fopen(in_ro, "w");
  if (f) fputs("granted text", f), fclose(f);
  f = fopen(outside, "w");
  if (f) fputs("secret", f), fclose(f);
  ProcRule rules[] = {{dir, PROC_RULE_WRITE}, {ro, PROC_RULE_READ}};
  ProcSandboxOpts o = {.rules = rules, .nrules = 2};
  char *err = NULL;
  ProcSandbox *sb = proc_sandbox_new(&o, &err);
  if (!(proc_sandbox_have(sb) & PROC_HAVE_LANDLOCK)) {
    skip("no Landlock in this kernel", "landlock");
    proc_sandbox_free(sb);
    return;
  }
  Got g;
  const char *rd[] = {"/bin/cat", in_ro, NULL};
  ok(run(sb, rd, NULL, 0, 0, NULL, &g, &err), "landlock: cat runs");
  is_str(g.r.out, "granted text", "landlock: a read grant is readable");
  got_free(&g);
  const char *sec[] = {"/bin/cat", outside, NULL};
  ok(run(sb, sec, NULL, 0, 0, NULL, &g, &err), "landlock: cat of an ungranted file runs");
  ok(g.r.code != 0 && !strstr(g.r.out, "secret"), "landlock: an ungranted file is not readable");
  got_free(&g);
  char script[400];
  snprintf(script, sizeof script, "echo w > %s/new && cat %s/new && echo x > %s/nope", dir, dir, ro);
  const char *wr[] = {"/bin/sh", "-c", script, NULL};
  ok(run(sb, wr, NULL, 0, 0, NULL, &g, &err), "landlock: sh runs");
  is_str(g.r.out, "w\n", "landlock: a write grant is writable");
  ok(g.r.code != 0, "landlock: a read grant is not writable");
  got_free(&g);
  const char *etc[] = {"/bin/cat", "/etc/hostname", NULL};
  ok(run(sb, etc, NULL, 0, 0, NULL, &g, &err), "landlock: cat /etc/hostname runs");
  ok(g.r.code != 0, "landlock: /etc beyond the loader's files is out of reach");
  got_free(&g);
  proc_sandbox_free(sb);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s %s %s", dir, ro, outside);
  if (system(cmd) != 0) diag("cleanup failed");
}

static void test_net(ProcSandbox *sb) {
  if (!(proc_sandbox_have(sb) & (PROC_HAVE_NETNS | PROC_HAVE_LANDLOCK_NET))) {
    skip("no network confinement here", "net");
    return;
  }
  /* In its own network namespace a child has no interface up, not even
   * loopback: a connection to anything fails at once. */
  Got g;
  char *err;
  const char *ip[] = {"/usr/bin/python3", "-c",
                      "import socket\ns=socket.socket()\ns.settimeout(2)\n"
                      "try:\n s.connect(('1.1.1.1',80));print('connected')\n"
                      "except OSError as e:\n print('refused')", NULL};
  if (access(ip[0], X_OK) != 0) {
    skip("no python3", "net");
    return;
  }
  ok(run(sb, ip, NULL, 0, 0, NULL, &g, &err), "net: python runs");
  is_str(g.r.out, "refused\n", "net: the network is out of reach");
  got_free(&g);
}

int main(void) {
  char *err = NULL;
  L = loop_new(&err);
  ENV = proc_env(NULL);
  char marker[64];

  ProcSandboxOpts plain = {.unconfined = true};
  ProcSandbox *open_sb = proc_sandbox_new(&plain, &err);
  ok(open_sb && proc_sandbox_have(open_sb) == 0, "an unconfined sandbox");
  test_basics(open_sb, "plain");
  {
    Got g;
    const char *caps[] = {"/bin/grep", "-E", "^Cap(Eff|Prm|Bnd)", "/proc/self/status", NULL};
    ok(run(open_sb, caps, NULL, 0, 0, NULL, &g, &err), "grep of the capabilities runs");
    /* an unprivileged weft cannot shrink the bounding set, and needs not:
     * no_new_privs keeps the child from gaining anything by execve */
    if (geteuid() == 0)
      is_str(g.r.out, "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n",
             "a child keeps no capability, even of root");
    else
      is_prefix(g.r.out, "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n",
                "a child has no capability");
    free(g.r.out);
    free(g.r.err);
  }
  test_caps(open_sb, "plain");
  snprintf(marker, sizeof marker, "weft_marker_%d_a", getpid());
  test_timeout(open_sb, "plain timeout", marker);
  snprintf(marker, sizeof marker, "weft_marker_%d_b", getpid());
  test_grandchild_exit(open_sb, "plain exit", marker);
  snprintf(marker, sizeof marker, "weft_marker_%d_c", getpid());
  test_cancel(open_sb, "plain cancel", marker);
  proc_sandbox_free(open_sb);

  ProcSandboxOpts conf = {0};
  ProcSandbox *sb = proc_sandbox_new(&conf, &err);
  unsigned have = proc_sandbox_have(sb);
  diag("confinement here: pidns=%d userns=%d netns=%d landlock=%d landlock_net=%d",
       !!(have & PROC_HAVE_PIDNS), !!(have & PROC_HAVE_USERNS), !!(have & PROC_HAVE_NETNS),
       !!(have & PROC_HAVE_LANDLOCK), !!(have & PROC_HAVE_LANDLOCK_NET));
  if (proc_sandbox_notice(sb)) diag("%s", proc_sandbox_notice(sb));
  test_basics(sb, "confined");
  test_env(sb);
  test_caps(sb, "confined");
  snprintf(marker, sizeof marker, "weft_marker_%d_d", getpid());
  test_timeout(sb, "confined timeout", marker);
  snprintf(marker, sizeof marker, "weft_marker_%d_e", getpid());
  test_grandchild_exit(sb, "confined exit", marker);
  snprintf(marker, sizeof marker, "weft_marker_%d_f", getpid());
  test_cancel(sb, "confined cancel", marker);
  test_net(sb);
  snprintf(marker, sizeof marker, "weft_marker_%d_g", getpid());
  if (have & PROC_HAVE_PIDNS) test_kill9(marker);
  else skip("no PID namespace", "kill -9");
  proc_sandbox_free(sb);
  test_landlock();

  /* what the kernel lacks is named, once, in the notice */
  ProcSandboxOpts lacking = {.lack = PROC_HAVE_PIDNS | PROC_HAVE_NETNS | PROC_HAVE_LANDLOCK};
  ProcSandbox *weak = proc_sandbox_new(&lacking, &err);
  const char *notice = weak ? proc_sandbox_notice(weak) : NULL;
  has_substr(notice, "child processes run without: a PID namespace", "notice: the PID namespace");
  has_substr(notice, "Landlock", "notice: Landlock");
  if (!(proc_sandbox_have(weak) & PROC_HAVE_LANDLOCK_NET))
    has_substr(notice, "network namespace", "notice: the network");
  snprintf(marker, sizeof marker, "weft_marker_%d_h", getpid());
  test_grandchild_exit(weak, "weak exit", marker);
  proc_sandbox_free(weak);
  ProcSandboxOpts netted = {.net = true};
  ProcSandbox *net_sb = proc_sandbox_new(&netted, &err);
  ok(net_sb && !(proc_sandbox_have(net_sb) & PROC_HAVE_NETNS), "with network granted: no netns");
  ok(net_sb && (proc_sandbox_have(net_sb) & PROC_HAVE_PIDNS) ? proc_sandbox_notice(net_sb) == NULL : true,
     "with network granted: nothing missing to tell");
  proc_sandbox_free(net_sb);

  is_int(loop_watched(L), 0, "every descriptor unwatched");
  proc_env_free(ENV);
  loop_free(L);
  return tap_done();
}
