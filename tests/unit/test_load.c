/* test_load.c — opening imports beneath a root (load_open_beneath, in
 * compiler/load.c): the openat2 path and the component walk used where the
 * kernel has no openat2, on one tree of files, links, a FIFO and a
 * directory under /tmp (removed at the end).
 *
 * The walk is run twice: asked for directly (walk_only), and as the real
 * fallback, in a forked child whose seccomp filter makes openat2 fail with
 * ENOSYS the way a container's filter does. Both must refuse everything
 * the openat2 path refuses; the walk also refuses links that stay inside.
 * Prints TAP-style `ok N - desc` lines; exits non-zero on any failure. */
#define _GNU_SOURCE /* syscall numbers and prctl for the seccomp child */
#include "../../compiler/front.h"
#include "../../base/util.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/seccomp.h>) && __has_include(<linux/filter.h>)
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#ifdef SYS_openat2
#define HAVE_SECCOMP_TEST 1
#endif
#endif
#endif

static char tmpdir[] = "/tmp/weft-load-XXXXXX";
static int rootfd = -1;

static char *in_tmp(const char *name) {
  size_t n = strlen(tmpdir) + strlen(name) + 2;
  char *p = xmalloc(n);
  snprintf(p, n, "%s/%s", tmpdir, name);
  return p;
}

static void put_file(const char *name, const char *text) {
  char *p = in_tmp(name);
  FILE *f = fopen(p, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  free(p);
}

static void make_link(const char *target, const char *name) {
  char *p = in_tmp(name);
  if (symlink(target, p) != 0) perror("symlink");
  free(p);
}

/* root/ holds the imports; outside/ is next to it and holds a "secret". */
static void make_tree(void) {
  char *p;
  mkdir((p = in_tmp("root")), 0755), free(p);
  mkdir((p = in_tmp("root/sub")), 0755), free(p);
  mkdir((p = in_tmp("root/dir.weft")), 0755), free(p);
  mkdir((p = in_tmp("outside")), 0755), free(p);
  put_file("root/a.weft", "fn a() -> int { 1 }\n");
  put_file("root/sub/b.weft", "fn b() -> int { 2 }\n");
  put_file("outside/s.weft", "fn s() -> string { \"SECRET\" }\n");
  make_link("sub/b.weft", "root/inside.weft");       /* stays beneath the root */
  make_link("../outside/s.weft", "root/out.weft");   /* leads out by .. */
  make_link("/etc/hostname", "root/abs.weft");       /* leads out by an absolute path */
  make_link("/proc/self/environ", "root/env.weft");
  make_link("../outside", "root/outdir");            /* a directory that leads out */
  make_link("sub", "root/subdir");                   /* a directory that stays */
  if (mkfifo((p = in_tmp("root/fifo.weft")), 0644) != 0) perror("mkfifo");
  free(p);
  p = in_tmp("root");
  rootfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(p);
}

/* Opens rel; returns 0 when it opened (the fd is closed), else errno. */
static int try_open(const char *rel, bool walk_only) {
  int fd = load_open_beneath(rootfd, rel, walk_only);
  if (fd < 0) return errno ? errno : -1;
  close(fd);
  return 0;
}

/* What both ways must refuse, and what both must open. */
static void common_cases(bool walk_only, const char *how, int *results) {
  char desc[160];
  const char *opened[] = {"a.weft", "sub/b.weft"};
  for (size_t i = 0; i < sizeof opened / sizeof *opened; i++) {
    snprintf(desc, sizeof desc, "%s: %s opens", how, opened[i]);
    results[i] = try_open(opened[i], walk_only);
    ok(results[i] == 0, "%s", desc);
  }
  const char *refused[] = {"out.weft", "abs.weft", "env.weft", "outdir/s.weft", "../outside/s.weft"};
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    int e = try_open(refused[i], walk_only);
    snprintf(desc, sizeof desc, "%s: %s is refused (errno %d)", how, refused[i], e);
    ok(e == EXDEV || e == ELOOP, "%s", desc);
  }
  snprintf(desc, sizeof desc, "%s: a missing file is ENOENT", how);
  ok(try_open("nope.weft", walk_only) == ENOENT, "%s", desc);
  /* A FIFO opens at once (O_NONBLOCK), for fstat to refuse; never a hang. */
  time_t t0 = time(NULL);
  int fd = load_open_beneath(rootfd, "fifo.weft", walk_only);
  struct stat st;
  snprintf(desc, sizeof desc, "%s: a FIFO opens without blocking and shows as a FIFO", how);
  ok(fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && time(NULL) - t0 < 3, "%s", desc);
  if (fd >= 0) close(fd);
  fd = load_open_beneath(rootfd, "dir.weft", walk_only);
  snprintf(desc, sizeof desc, "%s: a directory named x.weft opens and shows as a directory", how);
  ok(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode), "%s", desc);
  if (fd >= 0) close(fd);
}

/* The walk never follows a link, not even one that stays inside, and takes
 * no "." or ".." (the loader resolves those by name before opening). */
static void walk_only_cases(bool walk_only, const char *how) {
  char desc[160];
  snprintf(desc, sizeof desc, "%s: a link to a file inside is refused as a link", how);
  ok(try_open("inside.weft", walk_only) == ELOOP, "%s", desc);
  snprintf(desc, sizeof desc, "%s: a link to a directory inside is refused as a link", how);
  ok(try_open("subdir/b.weft", walk_only) == ELOOP, "%s", desc);
  snprintf(desc, sizeof desc, "%s: sub/../a.weft is refused", how);
  ok(try_open("sub/../a.weft", walk_only) == EXDEV, "%s", desc);
  snprintf(desc, sizeof desc, "%s: ./a.weft is refused", how);
  ok(try_open("./a.weft", walk_only) == EXDEV, "%s", desc);
}

static void test_openat2(void) {
  int results[2];
  int e = try_open("inside.weft", false);
  if (e == ELOOP) {
    /* This kernel (or its filter) has no openat2: the default is the walk. */
    skip("no openat2 here", "openat2: a link to a file inside is followed");
    common_cases(false, "default (walk)", results);
    return;
  }
  ok(e == 0, "openat2: a link to a file inside is followed");
  ok(try_open("subdir/b.weft", false) == 0, "openat2: a link to a directory inside is followed");
  common_cases(false, "openat2", results);
}

static void test_walk(void) {
  int results[2];
  common_cases(true, "walk", results);
  walk_only_cases(true, "walk");
}

#ifdef HAVE_SECCOMP_TEST
/* In a child whose openat2 fails with ENOSYS, the default path must fall
 * back to the walk. The child reports through its exit status: the number
 * of failed expectations. */
static void test_fallback(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof code / sizeof *code), code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
      _exit(100);
    int bad = 0;
    bad += try_open("a.weft", false) != 0;
    bad += try_open("sub/b.weft", false) != 0;
    bad += try_open("inside.weft", false) != ELOOP; /* the walk's answer, not openat2's */
    int e = try_open("out.weft", false);
    bad += e != ELOOP && e != EXDEV;
    e = try_open("outdir/s.weft", false);
    bad += e != ELOOP && e != EXDEV;
    e = try_open("env.weft", false);
    bad += e != ELOOP && e != EXDEV;
    _exit(bad);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
    ok(0, "fallback: the seccomp child ran");
    return;
  }
  if (WEXITSTATUS(status) == 100) {
    skip("cannot install a seccomp filter", "fallback: with openat2 filtered out (ENOSYS), the walk decides");
    return;
  }
  ok(WEXITSTATUS(status) == 0, "fallback: with openat2 filtered out (ENOSYS), the walk decides");
}
#else
static void test_fallback(void) {
  skip("no seccomp here", "fallback: with openat2 filtered out (ENOSYS), the walk decides");
}
#endif

int main(void) {
  if (!mkdtemp(tmpdir)) {
    fprintf(stderr, "test_load: cannot create a directory under /tmp: %s\n", strerror(errno));
    return 1;
  }
  make_tree();
  if (rootfd < 0) {
    fprintf(stderr, "test_load: cannot open the test tree: %s\n", strerror(errno));
    return 1;
  }
  test_openat2();
  test_walk();
  test_fallback();
  close(rootfd);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "test_load: could not remove %s\n", tmpdir);
  return tap_done();
}
