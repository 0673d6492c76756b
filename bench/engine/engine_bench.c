/* engine_bench.c — the effect engine's own cost, without the language's
 * fan-out (which does not exist yet): compiles a one-function program
 *
 *     role r { model: "PROVIDER/MODEL" }
 *     fn one(i: int) -> string { ask r "q{i}" }
 *
 * spawns N fibers calling one(0..N-1) directly with vm_spawn, runs the
 * scheduler once (every fiber parks on its ASK, so all N calls are in the
 * engine at the same time), and reports wall time, client CPU per call,
 * peak RSS and the engine's most transfers at once.
 *
 *   engine_bench [--n N] [--provider anthropic|openai] [--model M]
 *                [--max-concurrency C] [--no-stream] [--check]
 *
 * Base URLs and keys come from the environment, as for `weft run`. With
 * --check it also verifies every reply ("echo: q<i>" from the test server)
 * and exits 1 on any failure; the caller compares the server's own
 * max_in_flight with the limit. Output: one line of key=value pairs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "../../compiler/compiler.h"
#include "../../lang/diag.h"
#include "../../runtime/engine.h"
#include "../../runtime/host.h"
#include "../../stdlib/builtins.h"
#include "../../vm/module.h"
#include "../../vm/value.h"
#include "../../vm/vm.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void usage(void) {
  fprintf(stderr, "usage: engine_bench [--n N] [--provider anthropic|openai] [--model M]\n"
                  "                    [--max-concurrency C] [--no-stream] [--check]\n");
  exit(2);
}

int main(int argc, char **argv) {
  long n = 500, maxc = 500;
  const char *provider = "openai", *model = "slow-200";
  bool no_stream = false, check = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--no-stream") == 0) no_stream = true;
    else if (strcmp(a, "--check") == 0) check = true;
    else if (!v) usage();
    else if (strcmp(a, "--n") == 0) n = strtol(v, NULL, 10), i++;
    else if (strcmp(a, "--max-concurrency") == 0) maxc = strtol(v, NULL, 10), i++;
    else if (strcmp(a, "--provider") == 0) provider = v, i++;
    else if (strcmp(a, "--model") == 0) model = v, i++;
    else usage();
  }
  if (n < 1 || n > 1000000 || maxc < 1 || maxc > 1000000) usage();

  /* The program goes through the ordinary compiler, from a temporary file. */
  char path[] = "/tmp/engine_bench_XXXXXX.weft";
  int fd = mkstemps(path, 5);
  FILE *src = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!src) {
    perror("engine_bench: temporary file");
    return 1;
  }
  fprintf(src, "role r { model: \"%s/%s\" }\nfn one(i: int) -> string { ask r \"q{i}\" }\n",
          provider, model);
  fclose(src);

  Heap heap;
  SourceSet ss;
  DiagList dl;
  heap_init(&heap, 0);
  src_init(&ss);
  diag_init(&dl);
  CompileOptions opt = {.check_only = false, .stdlib_dir = NULL, .natives = std_native_table()};
  Module *m = compile_file(path, &ss, &dl, &opt, &heap);
  unlink(path);
  if (!m || dl.errors) {
    diag_render_text(stderr, &dl, &ss, false);
    return 1;
  }
  uint32_t one = NO_INDEX;
  for (uint32_t i = 0; i < m->nfuncs; i++)
    if (strcmp(m->funcs[i].name, "one") == 0) one = i;
  if (one == NO_INDEX) {
    fprintf(stderr, "engine_bench: no function 'one' in the compiled module\n");
    return 1;
  }

  Limits limits;
  memset(&limits, 0, sizeof limits);
  limits_default(&limits);
  VM *vm = vm_new(m, &limits);
  EngineConfig cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.max_concurrency = (uint32_t)maxc;
  cfg.retries = -1;
  cfg.repairs = -1;
  cfg.no_stream = no_stream;
  char *err = NULL;
  Engine *eng = vm ? engine_new(vm, &cfg, &err) : NULL;
  Host *host = eng ? host_new(vm, eng) : NULL;
  if (!eng) {
    fprintf(stderr, "engine_bench: %s\n", err ? err : "cannot start the VM or the engine");
    return 1;
  }

  Fiber **fibers = calloc((size_t)n, sizeof *fibers);
  if (!fibers) return 1;
  double cpu0 = cpu_ms(), t0 = now_ms();
  Value fn = v_func(&vm->heap, one, 0);
  for (long i = 0; i < n; i++) {
    Value arg = v_int(i);
    fibers[i] = vm_spawn(vm, fn, &arg, 1, &err);
    if (!fibers[i]) {
      fprintf(stderr, "engine_bench: spawn %ld: %s\n", i, err ? err : "?");
      return 1;
    }
  }
  v_release(&vm->heap, fn);
  uint32_t failed = vm_run(vm);
  double wall = now_ms() - t0, cpu = cpu_ms() - cpu0;

  long bad = 0;
  char want[64];
  for (long i = 0; i < n; i++) {
    Fiber *f = fibers[i];
    bool ok = f->state == FIBER_DONE && v_is(f->result, OBJ_STRING);
    if (ok && check) {
      snprintf(want, sizeof want, "echo: q%ld", i);
      ok = strcmp(AS_STRING(f->result)->data, want) == 0;
    }
    if (!ok) {
      if (bad < 3)
        fprintf(stderr, "engine_bench: call %ld: %s\n", i,
                f->state == FIBER_FAILED && f->error ? f->error
                : f->state == FIBER_DONE ? "wrong reply" : "never finished");
      bad++;
    }
    vm_fiber_free(vm, f);
  }
  free(fibers);

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  const RunStats *st = engine_stats(eng);
  printf("provider=%s stream=%s n=%ld max_concurrency=%ld ok=%ld failed=%u wall_ms=%.1f "
         "cpu_ms=%.1f cpu_ms_per_call=%.3f peak_rss_mb=%.1f engine_max_in_flight=%u "
         "attempts=%llu\n",
         provider, no_stream ? "no" : "yes", n, maxc, n - bad, failed, wall, cpu, cpu / (double)n,
         (double)ru.ru_maxrss / 1024.0, st->max_in_flight, (unsigned long long)st->attempts);

  engine_free(eng);
  vm_free(vm);
  host_free(host);
  module_free(m);
  diag_free(&dl);
  src_free(&ss);
  return bad ? 1 : 0;
}
