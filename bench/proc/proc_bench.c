/* proc_bench.c — the process engine alone (runtime/proc.h): N runs of a
 * program at WIDTH at once on one event loop, as std/proc drives them.
 * Prints the engine's own CPU per process (getrusage RUSAGE_SELF: the
 * clone3, pipes, pidfd and loop work, without the children's) and the
 * children's (RUSAGE_CHILDREN), for bench/proc/run.sh.
 *   proc_bench [--n N] [--width W] [--unconfined] [--net] [--heap-mb M] [PROGRAM] */
#include "runtime/proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static Loop *L;
static ProcSandbox *SB;
static char **ENV;
static const char *ARGV[2];
static int started, finished, total, failed;

static void start_one(void);

static void on_done(void *ud, ProcResult *r) {
  (void)ud;
  if (r->code != 0) failed++;
  free(r->out);
  free(r->err);
  finished++;
  if (started < total) start_one();
}

static void start_one(void) {
  ProcSpec s = {.path = ARGV[0], .argv = ARGV, .env = (const char *const *)ENV};
  char *err = NULL;
  if (!proc_start(L, SB, &s, on_done, NULL, &err)) {
    fprintf(stderr, "proc_bench: %s\n", err);
    exit(1);
  }
  started++;
}

static double ms_of(struct timeval t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; }

int main(int argc, char **argv) {
  int width = 16;
  bool unconfined = false, net = false;
  int heap_mb = 0;
  total = 1000;
  ARGV[0] = "/bin/true";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) total = atoi(argv[++i]);
    else if (strcmp(argv[i], "--width") == 0 && i + 1 < argc) width = atoi(argv[++i]);
    else if (strcmp(argv[i], "--unconfined") == 0) unconfined = true;
    else if (strcmp(argv[i], "--net") == 0) net = true;
    else if (strcmp(argv[i], "--heap-mb") == 0 && i + 1 < argc) heap_mb = atoi(argv[++i]);
    else ARGV[0] = argv[i];
  }
  /* a parent holding memory, as a run with a large heap does: spawning
   * must not cost in proportion to it */
  char *heap = heap_mb > 0 ? malloc((size_t)heap_mb << 20) : NULL;
  if (heap) memset(heap, 1, (size_t)heap_mb << 20);
  char *err = NULL;
  L = loop_new(&err);
  ENV = proc_env(NULL);
  ProcSandboxOpts o = {.unconfined = unconfined, .net = net};
  SB = proc_sandbox_new(&o, &err);
  if (!L || !SB) {
    fprintf(stderr, "proc_bench: %s\n", err);
    return 1;
  }
  struct rusage s0, s1, c0, c1;
  struct timespec a, b;
  getrusage(RUSAGE_SELF, &s0);
  getrusage(RUSAGE_CHILDREN, &c0);
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < width && started < total; i++) start_one();
  while (finished < total) loop_wait(L, 1000);
  clock_gettime(CLOCK_MONOTONIC, &b);
  getrusage(RUSAGE_SELF, &s1);
  getrusage(RUSAGE_CHILDREN, &c1);
  double self = ms_of(s1.ru_utime) - ms_of(s0.ru_utime) + ms_of(s1.ru_stime) - ms_of(s0.ru_stime);
  double kids = ms_of(c1.ru_utime) - ms_of(c0.ru_utime) + ms_of(c1.ru_stime) - ms_of(c0.ru_stime);
  printf("n=%d width=%d have=%u wall_ms=%.1f engine_cpu_ms_per_proc=%.3f children_cpu_ms_per_proc=%.3f failed=%d\n",
         total, width, proc_sandbox_have(SB),
         (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6, self / total, kids / total,
         failed);
  free(heap);
  proc_sandbox_free(SB);
  proc_env_free(ENV);
  loop_free(L);
  return failed != 0;
}
