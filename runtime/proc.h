/* proc.h — child processes run on the runtime's event loop, confined.
 *
 * A program runs from an absolute path (resolved once, by the grants, when
 * the run starts) with an argument vector — never a shell — an environment
 * built from an allowlist, optional stdin text, a working directory and a
 * timeout. Its stdout and stderr are captured up to a cap each (beyond it
 * the text is cut and the result says so; the rest is read and dropped so
 * the child never blocks on a full pipe). Nothing blocks the loop: the pipes
 * and the child's pidfd (CLONE_PIDFD) are watched on it, and no
 * SIGCHLD handler is installed, so an embedding host keeps its own.
 *
 * Confinement is a ProcSandbox, built once per run from the grants:
 *   - a PID namespace per child (with a user namespace when weft is not
 *     privileged), so that when the child — the namespace's init — dies,
 *     the kernel kills every descendant; PR_SET_PDEATHSIG takes the child
 *     down when weft itself is killed, even by SIGKILL;
 *   - a network namespace (no interfaces but a down loopback) unless the
 *     run grants network access; Landlock's TCP rules stand in for it where
 *     namespaces are missing;
 *   - Landlock restricting the file system to the run's file grants (read
 *     grants read-only, write grants read-write), the granted programs, and
 *     the system directories a program needs to start (docs/security.md,
 *     "Child processes", has the list).
 * What the kernel lacks is found when the sandbox is built and named in
 * its notice; the caller prints it once (or refuses, under --untrusted).
 * Without a PID namespace the child leads its own process group and the
 * group is killed when the child ends — weaker (a descendant that leaves
 * the group escapes), which the notice says. */
#ifndef WEFT_PROC_H
#define WEFT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "loop.h"

#define PROC_OUT_CAP_DEFAULT (1u << 20)   /* bytes kept of stdout, and of stderr */

/* Mechanisms, as proc_sandbox_have reports them. */
enum {
  PROC_HAVE_PIDNS = 1u,     /* own PID namespace */
  PROC_HAVE_USERNS = 2u,    /* ... entered through a user namespace (unprivileged) */
  PROC_HAVE_NETNS = 4u,     /* own network namespace (when network is not granted) */
  PROC_HAVE_LANDLOCK = 8u,  /* file system restricted */
  PROC_HAVE_LANDLOCK_NET = 16u, /* TCP restricted by Landlock (ABI 4) */
};

/* One file grant, or a program: path is absolute. */
typedef struct ProcRule {
  const char *path;
  enum { PROC_RULE_READ, PROC_RULE_WRITE, PROC_RULE_EXEC } access;
} ProcRule;

typedef struct ProcSandboxOpts {
  const ProcRule *rules;
  size_t nrules;
  bool net;       /* the run grants network access: no network namespace */
  bool unconfined;/* no namespaces and no Landlock at all (tests of the fallback) */
  unsigned lack;  /* PROC_HAVE_* bits to act as if the kernel lacked (tests of the notice) */
} ProcSandboxOpts;

typedef struct ProcSandbox ProcSandbox;

/* Probes the kernel (one short-lived child, when namespaces are wanted)
 * and builds the Landlock ruleset. Never fails: what is missing is left
 * out and described in proc_sandbox_notice. NULL + *err only when the
 * process cannot make the pipes it needs. */
ProcSandbox *proc_sandbox_new(const ProcSandboxOpts *o, char **err);
void proc_sandbox_free(ProcSandbox *s);
unsigned proc_sandbox_have(const ProcSandbox *s);
/* One line naming each missing mechanism ("child processes run without:
 * a PID namespace (...)"), or NULL when nothing is missing. */
const char *proc_sandbox_notice(const ProcSandbox *s);

/* The child's environment: PATH, HOME, LANG, TERM and the names in extra
 * (NULL-terminated, may be NULL) taken from weft's own environment; every
 * other variable is dropped. A NULL-terminated "NAME=value" vector, freed
 * with proc_env_free. */
char **proc_env(const char *const *extra);
void proc_env_free(char **env);

typedef struct ProcSpec {
  const char *path;              /* absolute */
  const char *const *argv;       /* NULL-terminated; argv[0] is what the program sees */
  const char *const *env;        /* NULL-terminated "NAME=value" (proc_env) */
  const char *stdin_data;        /* may be NULL */
  size_t stdin_len;
  const int *cwd_fd;             /* a directory opened beneath its grant (grants_open), which
                                  * the child fchdirs to: never a path it would resolve
                                  * again; NULL: weft's own */
  int64_t timeout_ms;            /* <= 0: none */
  size_t out_cap, err_cap;       /* 0: PROC_OUT_CAP_DEFAULT */
} ProcSpec;

typedef struct ProcResult {
  int code;                      /* exit status, or -1 when a signal ended it */
  int signal;                    /* the signal, or 0 */
  bool timed_out;                /* killed by the timeout */
  char *out, *err;               /* malloc'd, NUL-terminated: the callback's */
  size_t out_len, err_len;
  bool out_truncated, err_truncated;
  int64_t duration_ms;
} ProcResult;

typedef struct Proc Proc;
/* Called once when the child has ended and its pipes are drained (or
 * closed by the end of the namespace); the Proc is already freed. */
typedef void (*ProcDoneFn)(void *ud, ProcResult *r);

/* Starts the program. NULL + *err (malloc'd: "running /bin/x: ...") when
 * the kernel refuses the process or the program cannot be executed; the
 * callback is then never called. */
Proc *proc_start(Loop *loop, ProcSandbox *sb, const ProcSpec *spec,
                 ProcDoneFn done, void *ud, char **err);
/* Kills the child and every descendant and frees p, without waiting: the
 * kernel's teardown of the child (and of its PID namespace) is reaped by
 * the sandbox at a later spawn or exit, or when it is freed. The callback
 * is not called. */
void proc_cancel(Proc *p);
/* The child's pid as weft sees it (tests). */
int proc_pid(const Proc *p);

#endif
