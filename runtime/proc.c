/* proc.c — spawning and confining child processes (proc.h).
 *
 * The child is made the way posix_spawn makes one — clone with CLONE_VM |
 * CLONE_VFORK on a stack of its own, so spawning costs the same whatever
 * memory the run holds (a fork copies the page tables: 7 ms a process for
 * a 300 MB heap) — plus CLONE_PIDFD and the namespaces the sandbox has.
 * Until it calls execve the child shares weft's memory and runs only
 * system calls: nothing that takes a lock, allocates, or touches errno's
 * owner's state. Everything it needs — argument and environment vectors,
 * the Landlock ruleset, the uid/gid maps — is prepared before. Every
 * signal is blocked in weft around the clone, so no handler of weft's runs
 * on the shared memory; the child resets every disposition before it
 * unblocks them. A failure before execve is written into the plan the two
 * share; the parent, resumed when the child has exec'd or exited, reads
 * it. */
#define _GNU_SOURCE
#include "proc.h"
#include "../base/buf.h"
#include "../base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- kernel interfaces the headers may lack ------------------------------- */

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
struct wcap_header {
  uint32_t version;
  int pid;
};
struct wcap_data {
  uint32_t effective, permitted, inheritable;
};
#define WCAP_VERSION_3 0x20080522

/* Landlock's ABI (include/uapi/linux/landlock.h), spelled out so that old
 * headers build. The attribute struct grows with the ABI: the size passed
 * says which fields the kernel reads. */
struct wll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
};
struct wll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));
#define WLL_CREATE_RULESET_VERSION (1U << 0)
#define WLL_RULE_PATH_BENEATH 1
#define LL_EXECUTE (1ULL << 0)
#define LL_WRITE_FILE (1ULL << 1)
#define LL_READ_FILE (1ULL << 2)
#define LL_READ_DIR (1ULL << 3)
#define LL_REFER (1ULL << 13)     /* ABI 2 */
#define LL_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LL_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define LL_NET_BIND_TCP (1ULL << 0)    /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)
/* The rights a regular file can carry (the kernel refuses others on one). */
#define LL_FILE_RIGHTS (LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE | LL_IOCTL_DEV)

/* ---- the sandbox ---------------------------------------------------------- */

struct ProcSandbox {
  uint64_t ns_flags;       /* CLONE_NEW* for every child */
  unsigned have;
  int landlock_fd;         /* -1: none */
  int null_fd;             /* /dev/null: the stdin of a child given none */
  int life_r, life_w;      /* the child checks weft is alive after PDEATHSIG */
  char uid_map[64], gid_map[64];
  char *notice;
  char *stack;             /* the children's stack until they exec (one spawn at a time) */
  /* Children cancelled and killed but not yet gone: a namespace's init is
   * reaped only once the kernel has torn down every member, which the
   * loop must not wait for. Reaped when the kernel is done (checked at
   * each spawn and exit), at the latest when the sandbox is freed. */
  pthread_mutex_t reap_lock;
  int *reap_fds;           /* pidfds */
  size_t nreap, cap_reap;
};

/* Reaps the cancelled children that have ended (all of them, waiting, when
 * block). */
static void reap_cancelled(ProcSandbox *s, bool block) {
  pthread_mutex_lock(&s->reap_lock);
  size_t keep = 0;
  for (size_t i = 0; i < s->nreap; i++) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r;
    while ((r = waitid(P_PIDFD, (id_t)s->reap_fds[i], &si, WEXITED | (block ? 0 : WNOHANG))) < 0 &&
           errno == EINTR) {
    }
    if (r == 0 && si.si_pid == 0) s->reap_fds[keep++] = s->reap_fds[i];  /* not yet */
    else close(s->reap_fds[i]);
  }
  s->nreap = keep;
  pthread_mutex_unlock(&s->reap_lock);
}

static long ll_create(const struct wll_ruleset_attr *a, size_t size, uint32_t flags) {
  return syscall(SYS_landlock_create_ruleset, a, size, flags);
}

/* System directories a dynamically linked program needs to start and run:
 * its loader and libraries, the standard tools a script calls, and the few
 * files of /etc the C library reads. Everything else of /etc — keys,
 * shadow files, credentials of other tools — stays out of reach. */
static const char *const sys_exec_dirs[] = {"/usr", "/lib", "/lib32", "/lib64", "/libx32",
                                             "/bin", "/sbin", NULL};
static const char *const sys_read_files[] = {
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
    "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/alternatives",
    "/dev/zero", "/dev/urandom", "/dev/random", NULL};

static void ll_add(int rfd, const char *path, uint64_t access, uint64_t handled) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return;  /* absent here (/lib32 on most systems): nothing to allow */
  struct stat st;
  if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) access &= LL_FILE_RIGHTS;
  struct wll_path_beneath_attr pb = {.allowed_access = access & handled, .parent_fd = fd};
  if (pb.allowed_access) (void)syscall(SYS_landlock_add_rule, rfd, WLL_RULE_PATH_BENEATH, &pb, 0);
  close(fd);
}

static int ll_build(const ProcSandboxOpts *o, unsigned *have) {
  long abi = ll_create(NULL, 0, WLL_CREATE_RULESET_VERSION);
  if (abi < 1) return -1;
  uint64_t handled = (1ULL << 13) - 1;  /* ABI 1: bits 0..12 */
  if (abi >= 2) handled |= LL_REFER;
  if (abi >= 3) handled |= LL_TRUNCATE;
  if (abi >= 5) handled |= LL_IOCTL_DEV;
  struct wll_ruleset_attr attr = {.handled_access_fs = handled};
  size_t size = sizeof attr.handled_access_fs;
  if (abi >= 4 && !o->net) {
    /* No rule for TCP: binding and connecting are refused outright. */
    attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
    size = sizeof attr;
  }
  int rfd = (int)ll_create(&attr, size, 0);
  if (rfd < 0) return -1;
  if (size == sizeof attr) *have |= PROC_HAVE_LANDLOCK_NET;
  uint64_t ro = LL_READ_FILE | LL_READ_DIR;
  for (size_t i = 0; sys_exec_dirs[i]; i++) ll_add(rfd, sys_exec_dirs[i], ro | LL_EXECUTE, handled);
  for (size_t i = 0; sys_read_files[i]; i++) ll_add(rfd, sys_read_files[i], ro, handled);
  ll_add(rfd, "/dev/null", LL_READ_FILE | LL_WRITE_FILE | LL_TRUNCATE, handled);
  for (size_t i = 0; i < o->nrules; i++) {
    const ProcRule *r = &o->rules[i];
    uint64_t a = r->access == PROC_RULE_WRITE ? handled & ~LL_EXECUTE
               : r->access == PROC_RULE_EXEC  ? LL_EXECUTE | LL_READ_FILE
                                              : ro;
    ll_add(rfd, r->path, a, handled);
  }
  return rfd;
}

#define CHILD_STACK (256u << 10)

/* Runs fn(arg) in a child sharing weft's memory until it execs or exits,
 * with every signal blocked meanwhile; returns when it has. */
static pid_t spawn_vfork(ProcSandbox *s, uint64_t ns, int (*fn)(void *), void *arg, int *pidfd) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  char *top = s->stack + CHILD_STACK;
  top -= (uintptr_t)top & 15u;
  pid_t pid = clone(fn, top, (int)(ns | CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD), arg,
                    pidfd);
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = e;
  return pid;
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t w = write(fd, text, strlen(text));
  (void)w;
  close(fd);
}

/* Namespaces: try them as we are, then through a user namespace, and keep
 * the first that the kernel grants. The probe child maps its ids (as a
 * real child will) and exits at once. */
typedef struct Probe {
  const ProcSandbox *s;
  bool userns;
} Probe;

static int probe_child(void *arg) {
  const Probe *p = arg;
  if (p->userns) {
    write_file("/proc/self/setgroups", "deny");
    write_file("/proc/self/uid_map", p->s->uid_map);
    write_file("/proc/self/gid_map", p->s->gid_map);
  }
  _exit(0);
}

static uint64_t ns_probe(ProcSandbox *s, uint64_t want) {
  const uint64_t tries[2] = {want, want | CLONE_NEWUSER};
  for (int i = 0; i < 2; i++) {
    int pidfd = -1;
    Probe pr = {s, (tries[i] & CLONE_NEWUSER) != 0};
    pid_t pid = spawn_vfork(s, tries[i], probe_child, &pr, &pidfd);
    if (pid < 0) continue;
    siginfo_t si;
    while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR) {
    }
    close(pidfd);
    return tries[i];
  }
  return 0;
}

ProcSandbox *proc_sandbox_new(const ProcSandboxOpts *o, char **err) {
  ProcSandbox *s = xcalloc(1, sizeof *s);
  s->stack = xmalloc(CHILD_STACK);
  s->landlock_fd = -1;
  s->life_r = s->life_w = -1;
  pthread_mutex_init(&s->reap_lock, NULL);
  s->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  int life[2];
  if (s->null_fd < 0 || pipe2(life, O_CLOEXEC) < 0) {
    *err = xasprintf("cannot prepare child processes: %s", strerror(errno));
    proc_sandbox_free(s);
    return NULL;
  }
  s->life_r = life[0];
  s->life_w = life[1];
  snprintf(s->uid_map, sizeof s->uid_map, "%u %u 1", (unsigned)geteuid(), (unsigned)geteuid());
  snprintf(s->gid_map, sizeof s->gid_map, "%u %u 1", (unsigned)getegid(), (unsigned)getegid());
  if (o->unconfined) return s;
  uint64_t want = (o->lack & PROC_HAVE_PIDNS ? 0 : CLONE_NEWPID) |
                  (o->net || (o->lack & PROC_HAVE_NETNS) ? 0 : CLONE_NEWNET);
  uint64_t got = want ? ns_probe(s, want) : 0;
  if (!got && (want & CLONE_NEWNET) && (want & CLONE_NEWPID))
    got = ns_probe(s, CLONE_NEWPID);  /* a PID namespace alone */
  s->ns_flags = got;
  if (got & CLONE_NEWPID) s->have |= PROC_HAVE_PIDNS;
  if (got & CLONE_NEWUSER) s->have |= PROC_HAVE_USERNS;
  if (got & CLONE_NEWNET) s->have |= PROC_HAVE_NETNS;
  s->landlock_fd = o->lack & PROC_HAVE_LANDLOCK ? -1 : ll_build(o, &s->have);
  if (s->landlock_fd >= 0) s->have |= PROC_HAVE_LANDLOCK;
  Buf b;
  buf_init(&b);
  if (!(s->have & PROC_HAVE_PIDNS))
    buf_puts(&b, ", a PID namespace (a descendant that leaves the child's process group can "
                 "outlive the run)");
  if (!o->net && !(s->have & (PROC_HAVE_NETNS | PROC_HAVE_LANDLOCK_NET)))
    buf_puts(&b, ", a network namespace (children can reach the network)");
  if (!(s->have & PROC_HAVE_LANDLOCK))
    buf_puts(&b, ", Landlock (children can read and write outside the file grants)");
  if (b.len) s->notice = xasprintf("child processes run without:%s", b.data + 1);
  buf_free(&b);
  return s;
}

void proc_sandbox_free(ProcSandbox *s) {
  if (!s) return;
  reap_cancelled(s, true);
  free(s->reap_fds);
  pthread_mutex_destroy(&s->reap_lock);
  if (s->landlock_fd >= 0) close(s->landlock_fd);
  if (s->null_fd >= 0) close(s->null_fd);
  if (s->life_r >= 0) close(s->life_r);
  if (s->life_w >= 0) close(s->life_w);
  free(s->notice);
  free(s->stack);
  free(s);
}

unsigned proc_sandbox_have(const ProcSandbox *s) { return s->have; }
const char *proc_sandbox_notice(const ProcSandbox *s) { return s->notice; }

/* ---- environment ------------------------------------------------------------ */

static const char *const env_base[] = {"PATH", "HOME", "LANG", "TERM", NULL};

static bool env_named(const char *entry, const char *name) {
  size_t n = strlen(name);
  return n && strncmp(entry, name, n) == 0 && entry[n] == '=';
}

char **proc_env(const char *const *extra) {
  size_t cap = 8, n = 0;
  char **env = xmalloc(cap * sizeof *env);
  for (char **e = environ; e && *e; e++) {
    bool keep = false;
    for (size_t i = 0; env_base[i] && !keep; i++) keep = env_named(*e, env_base[i]);
    for (size_t i = 0; extra && extra[i] && !keep; i++) keep = env_named(*e, extra[i]);
    if (!keep) continue;
    if (n + 1 >= cap) env = xrealloc(env, (cap *= 2) * sizeof *env);
    env[n++] = xstrdup(*e);
  }
  env[n] = NULL;
  return env;
}

void proc_env_free(char **env) {
  if (!env) return;
  for (char **e = env; *e; e++) free(*e);
  free(env);
}

/* ---- one child ---------------------------------------------------------------- */

typedef struct Stream {
  int fd;                 /* -1 once at EOF */
  Buf buf;
  size_t cap;
  bool truncated;
} Stream;

struct Proc {
  Loop *loop;
  ProcSandbox *sb;
  ProcDoneFn done;
  void *ud;
  pid_t pid;
  int pidfd;
  bool pidns;              /* the child is its namespace's init */
  bool exited;
  siginfo_t status;
  bool timed_out;
  int in_fd;
  char *in_data;
  size_t in_len, in_off;
  Stream out, err;
  LoopTimer timer;         /* the timeout, then the drain deadline after exit */
  struct timespec t0;
};

enum { ST_SETUP, ST_CWD, ST_LANDLOCK, ST_EXEC };
static const char *const stage_text[] = {"setting up", "changing directory", "confining",
                                         "executing"};

typedef struct ChildPlan {
  const ProcSpec *spec;
  const ProcSandbox *sb;
  int in_fd, out_fd, err_fd;
  volatile int fail_stage, fail_errno;   /* written by the child: fail_stage -1 = none */
} ChildPlan;

static void __attribute__((noreturn)) child_fail(ChildPlan *c, int stage, int err) {
  c->fail_errno = err;
  c->fail_stage = stage;
  _exit(127);
}

/* Between clone and execve: system calls only (see the top). */
static int child_run(void *arg) {
  ChildPlan *c = arg;
  const ProcSandbox *sb = c->sb;
  /* weft's handlers must not run here (they would on weft's memory), nor
   * its ignored signals stay ignored in the program */
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction sa;
    if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL) {
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = SIG_DFL;
      sigaction(sig, &sa, NULL);
    }
  }
  if (sb->ns_flags & CLONE_NEWUSER) {
    write_file("/proc/self/setgroups", "deny");
    write_file("/proc/self/uid_map", sb->uid_map);
    write_file("/proc/self/gid_map", sb->gid_map);
  }
  /* weft's death kills the child; weft may have died before the prctl,
   * which the life pipe tells: its only writer left is weft's copy. */
  if (prctl(PR_SET_PDEATHSIG, (unsigned long)SIGKILL) < 0) child_fail(c, ST_SETUP, errno);
  close(sb->life_w);
  struct pollfd pf = {.fd = sb->life_r, .events = POLLIN};
  if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR))) _exit(127);
  if (dup2(c->in_fd, 0) < 0 || dup2(c->out_fd, 1) < 0 || dup2(c->err_fd, 2) < 0)
    child_fail(c, ST_SETUP, errno);
  /* Every other descriptor of weft's is closed at execve. */
  (void)syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
  (void)setsid();
  if (c->spec->cwd_fd && fchdir(*c->spec->cwd_fd) < 0) child_fail(c, ST_CWD, errno);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) < 0) child_fail(c, ST_SETUP, errno);
  /* A child of weft run as root (or root of its own user namespace) keeps
   * its uid but no capability: it cannot load modules, bring up an
   * interface, or override file permissions. */
  (void)prctl(PR_CAP_AMBIENT, (unsigned long)PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL);
  for (int cap = 0; cap < 64; cap++) (void)prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0UL, 0UL, 0UL);
  struct wcap_header ch = {WCAP_VERSION_3, 0};
  struct wcap_data cd[2];
  memset(cd, 0, sizeof cd);
  if (syscall(SYS_capset, &ch, cd) < 0) child_fail(c, ST_SETUP, errno);
  if (sb->landlock_fd >= 0 && syscall(SYS_landlock_restrict_self, sb->landlock_fd, 0) < 0)
    child_fail(c, ST_LANDLOCK, errno);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(c->spec->path, (char *const *)c->spec->argv, (char *const *)c->spec->env);
  child_fail(c, ST_EXEC, errno);
}

static int64_t ms_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Kills the child and, without a PID namespace, its process group. In a
 * namespace the init's death takes every other member with it. Once the
 * child is reaped its number may belong to another process: its group was
 * killed before the reaping (on_exit_fd), and nothing is sent after. */
static void kill_tree(Proc *p) {
  if (p->exited) return;
  (void)syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
  if (!p->pidns) (void)kill(-p->pid, SIGKILL);
}

static void close_in(Proc *p) {
  if (p->in_fd < 0) return;
  loop_unwatch(p->loop, p->in_fd);
  close(p->in_fd);
  p->in_fd = -1;
}

static void close_stream(Proc *p, Stream *s) {
  if (s->fd < 0) return;
  loop_unwatch(p->loop, s->fd);
  close(s->fd);
  s->fd = -1;
}

static void proc_free(Proc *p) {
  loop_timer_stop(p->loop, &p->timer);
  close_in(p);
  close_stream(p, &p->out);
  close_stream(p, &p->err);
  if (p->pidfd >= 0) {
    loop_unwatch(p->loop, p->pidfd);
    close(p->pidfd);
  }
  buf_free(&p->out.buf);
  buf_free(&p->err.buf);
  free(p->in_data);
  free(p);
}

static void finish(Proc *p) {
  ProcResult r;
  memset(&r, 0, sizeof r);
  if (p->status.si_code == CLD_EXITED) {
    r.code = p->status.si_status;
  } else {
    r.code = -1;
    r.signal = p->status.si_status;
  }
  r.timed_out = p->timed_out;
  r.duration_ms = ms_since(&p->t0);
  r.out_len = p->out.buf.len;
  r.err_len = p->err.buf.len;
  r.out = buf_detach(&p->out.buf);
  r.err = buf_detach(&p->err.buf);
  r.out_truncated = p->out.truncated;
  r.err_truncated = p->err.truncated;
  ProcDoneFn done = p->done;
  void *ud = p->ud;
  proc_free(p);
  done(ud, &r);
}

static void maybe_finish(Proc *p) {
  if (p->exited && p->out.fd < 0 && p->err.fd < 0) finish(p);
}

static void on_stream(void *ud, int fd, unsigned ev) {
  Proc *p = ud;
  Stream *s = fd == p->out.fd ? &p->out : &p->err;
  (void)ev;
  char chunk[65536];
  for (int rounds = 0; rounds < 16; rounds++) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close_stream(p, s);
      maybe_finish(p);
      return;
    }
    size_t keep = (size_t)n;
    if (s->buf.len + keep > s->cap) {
      keep = s->cap - s->buf.len;
      s->truncated = true;
    }
    if (keep) buf_put(&s->buf, chunk, keep);
  }
}

static void on_stdin(void *ud, int fd, unsigned ev) {
  Proc *p = ud;
  (void)fd;
  (void)ev;
  /* A child that exits without reading makes the write fail with EPIPE:
   * SIGPIPE is held back for the write and a pending one consumed, so
   * weft (and its embedding host) never sees it. */
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  bool broken = false;
  while (p->in_off < p->in_len) {
    ssize_t n = write(p->in_fd, p->in_data + p->in_off, p->in_len - p->in_off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) {
      broken = true;
      break;
    }
    p->in_off += (size_t)n;
  }
  if (broken && !was_pending) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (broken || p->in_off >= p->in_len) close_in(p);
}

static void on_drain_deadline(void *ud) {
  Proc *p = ud;
  /* The child has ended but a descriptor of its pipes is still open
   * somewhere (only possible without a PID namespace): stop waiting. */
  close_stream(p, &p->out);
  close_stream(p, &p->err);
  maybe_finish(p);
}

static void on_exit_fd(void *ud, int fd, unsigned ev) {
  Proc *p = ud;
  (void)ev;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  /* Looked at without reaping first: while the child is a zombie its
   * number (its process group's, since setsid) cannot be given to another
   * process, so the group kill below reaches only the child's own. */
  if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
    if (errno == EINTR) return;
    si.si_code = CLD_KILLED;   /* cannot happen for our own child; report it as killed */
    si.si_status = SIGKILL;
  } else if (si.si_pid == 0) {
    return;                    /* not yet */
  }
  if (!p->pidns) (void)kill(-p->pid, SIGKILL);
  siginfo_t reaped;
  while (waitid(P_PIDFD, (id_t)fd, &reaped, WEXITED | WNOHANG) < 0 && errno == EINTR) {
  }
  p->exited = true;
  p->status = si;
  loop_unwatch(p->loop, p->pidfd);
  close(p->pidfd);
  p->pidfd = -1;
  reap_cancelled(p->sb, false);
  close_in(p);
  loop_timer_stop(p->loop, &p->timer);
  loop_timer_init(&p->timer, on_drain_deadline, p);
  loop_timer_set(p->loop, &p->timer, 2000);
  maybe_finish(p);
}

static void on_timeout(void *ud) {
  Proc *p = ud;
  p->timed_out = true;
  kill_tree(p);
}

static bool set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

Proc *proc_start(Loop *loop, ProcSandbox *sb, const ProcSpec *spec, ProcDoneFn done, void *ud,
                 char **err) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
  Proc *p = NULL;
  bool have_in = spec->stdin_len > 0;
  if ((have_in && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
      pipe2(er, O_CLOEXEC) < 0) {
    *err = xasprintf("running %s: cannot make pipes: %s", spec->path, strerror(errno));
    goto fail;
  }
  reap_cancelled(sb, false);
  ChildPlan plan = {spec, sb, have_in ? in[0] : sb->null_fd, out[1], er[1], -1, 0};
  int pidfd = -1;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = spawn_vfork(sb, sb->ns_flags, child_run, &plan, &pidfd);
  if (pid < 0) {
    *err = xasprintf("running %s: cannot create the process: %s", spec->path, strerror(errno));
    goto fail;
  }
  if (have_in) {
    close(in[0]);
    in[0] = -1;
  }
  close(out[1]);
  out[1] = -1;
  close(er[1]);
  er[1] = -1;
  if (plan.fail_stage >= 0) {
    siginfo_t si;
    while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR) {
    }
    close(pidfd);
    int st = plan.fail_stage <= ST_EXEC ? plan.fail_stage : ST_SETUP;
    *err = xasprintf("running %s: %s: %s", spec->path, stage_text[st], strerror(plan.fail_errno));
    goto fail;
  }
  p = xcalloc(1, sizeof *p);
  p->loop = loop;
  p->sb = sb;
  p->done = done;
  p->ud = ud;
  p->pid = pid;
  p->pidfd = pidfd;
  p->pidns = (sb->ns_flags & CLONE_NEWPID) != 0;
  p->t0 = t0;
  p->in_fd = have_in ? in[1] : -1;
  in[1] = -1;
  p->out.fd = out[0];
  p->err.fd = er[0];
  out[0] = er[0] = -1;
  p->out.cap = spec->out_cap ? spec->out_cap : PROC_OUT_CAP_DEFAULT;
  p->err.cap = spec->err_cap ? spec->err_cap : PROC_OUT_CAP_DEFAULT;
  buf_init(&p->out.buf);
  buf_init(&p->err.buf);
  if (have_in) {
    p->in_data = xmalloc(spec->stdin_len);
    memcpy(p->in_data, spec->stdin_data, spec->stdin_len);
    p->in_len = spec->stdin_len;
  }
  loop_timer_init(&p->timer, on_timeout, p);
  if (!set_nonblock(p->out.fd) || !set_nonblock(p->err.fd) ||
      (p->in_fd >= 0 && !set_nonblock(p->in_fd)) ||
      !loop_watch(loop, p->pidfd, LOOP_IN, on_exit_fd, p) ||
      !loop_watch(loop, p->out.fd, LOOP_IN, on_stream, p) ||
      !loop_watch(loop, p->err.fd, LOOP_IN, on_stream, p) ||
      (p->in_fd >= 0 && !loop_watch(loop, p->in_fd, LOOP_OUT, on_stdin, p))) {
    *err = xasprintf("running %s: cannot watch the process: %s", spec->path, strerror(errno));
    proc_cancel(p);
    return NULL;
  }
  if (spec->timeout_ms > 0) loop_timer_set(loop, &p->timer, spec->timeout_ms);
  return p;
fail:
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0) close(in[i]);
    if (out[i] >= 0) close(out[i]);
    if (er[i] >= 0) close(er[i]);
  }
  return NULL;
}

void proc_cancel(Proc *p) {
  if (!p) return;
  kill_tree(p);
  if (!p->exited) {
    /* SIGKILL was sent, the group's too: what is left is the kernel's
     * teardown of the process (and of its namespace, which waits for every
     * member), which the loop does not wait for; the sandbox reaps it. */
    loop_unwatch(p->loop, p->pidfd);
    ProcSandbox *sb = p->sb;
    pthread_mutex_lock(&sb->reap_lock);
    if (sb->nreap == sb->cap_reap)
      sb->reap_fds = xrealloc(sb->reap_fds, (sb->cap_reap = sb->cap_reap ? sb->cap_reap * 2 : 4) * sizeof *sb->reap_fds);
    sb->reap_fds[sb->nreap++] = p->pidfd;
    pthread_mutex_unlock(&sb->reap_lock);
    p->pidfd = -1;
    reap_cancelled(sb, false);
  }
  proc_free(p);
}

int proc_pid(const Proc *p) { return (int)p->pid; }
