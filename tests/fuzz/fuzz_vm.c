/* fuzz_vm.c — libFuzzer harness for the VM and the run's host: any byte
 * string is compiled as an untrusted program and, when it compiles, its
 * main is run the way `weft run --untrusted --provider mock` runs it, with
 * the model calls answered by the offline mock through the real engine
 * and host (validation, repairs, budgets, trace events).
 *
 * Limits inside the harness, as SQLite's fuzzers do: 10^6 instructions,
 * 64 MB of VM memory, call depth 256, 64 fibers, and a budget of 16 model
 * calls and 250 ms of wall time (a sleep ends there), so no input runs
 * long. main's parameters get the mock's value of their type, so programs
 * with inputs run too.
 * The result of a run that succeeds must have a JSON form that parses.
 * Build with tests/fuzz/run.sh, or with fuzz_main.c as the smoke run of
 * `make check`. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../base/buf.h"
#include "../../compiler/compiler.h"
#include "../../include/weft_tools.h"
#include "../../runtime/engine.h"
#include "../../runtime/host.h"
#include "../../runtime/schema.h"
#include "../../stdlib/builtins.h"
#include "../../vm/opcodes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static FILE *devnull;

static void remove_path(void) { remove(path); }

static int write_input(const uint8_t *data, size_t size) {
  if (!path[0]) {
    snprintf(path, sizeof path, "/tmp/weft-fuzz-vm-%ld.weft", (long)getpid());
    devnull = fopen("/dev/null", "w");
    atexit(remove_path);
  }
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(data, 1, size, f);
  fclose(f);
  return w == size ? 0 : -1;
}

static void die(const char *what, const char *text) {
  fprintf(stderr, "fuzz_vm: %s: %s\n", what, text ? text : "(null)");
  abort();
}

/* Trace events are built only when someone listens: listen, and check
 * each is one line of JSON. */
static void trace_sink(void *ud, const char *line, size_t n) {
  (void)ud;
  if (!n || line[n - 1] != '\n' || memchr(line, '\n', n - 1)) die("a trace event is not one line", line);
  cJSON *doc = cJSON_ParseWithLength(line, n);
  if (!doc) die("a trace event is not JSON", line);
  cJSON_Delete(doc);
}

static void run_module(Module *m) {
  if (m->main_fn == NO_INDEX) return;
  Limits l = {0};
  l.max_instructions = 1000000;
  l.max_memory = 64u << 20;
  l.max_call_depth = 256;
  l.max_fibers = 64;
  limits_default(&l);
  VM *vm = vm_new(m, &l);
  if (!vm) return;
  vm->out = devnull;
  vm->err = devnull;
  vm_set_budget(vm, BUDGET_CALLS | BUDGET_TIME, 16, 0, 0, 250);
  Value *args = calloc(m->nparams ? m->nparams : 1, sizeof *args);
  for (uint32_t i = 0; i < m->nparams; i++) args[i] = schema_mock_value(&vm->heap, m, m->params[i].type, i);
  Engine *engine = NULL;
  if (m->nroles) {
    EngineConfig c;
    memset(&c, 0, sizeof c);
    c.force_provider = "mock";
    c.retries = -1;
    c.repairs = -1;
    c.max_concurrency = 8;
    char *err = NULL;
    engine = engine_new(vm, &c, &err);
    free(err);
  }
  Host *host = host_new(vm, engine);
  host_trace_sink(host, trace_sink, NULL);
  vm_clock_restart(vm);
  Value result = v_none();
  char *err = NULL, *trace = NULL;
  if (vm_run_main(vm, args, m->nparams, &result, &err, &trace) && m->main_result != NO_INDEX) {
    Buf res;
    buf_init(&res);
    char *why = NULL;
    if (v_to_json(&res, result, &why)) {
      cJSON *doc = cJSON_ParseWithLength(res.data, res.len);
      if (!doc) die("the result's JSON form does not parse", res.data);
      cJSON_Delete(doc);
    }
    free(why);
    buf_free(&res);
  }
  v_release(&vm->heap, result);
  free(err);
  free(trace);
  for (uint32_t i = 0; i < m->nparams; i++) v_release(&vm->heap, args[i]);
  free(args);
  engine_free(engine);
  vm_free(vm);
  host_free(host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (write_input(data, size) != 0) return 0;
  SourceSet ss;
  DiagList dl;
  src_init(&ss);
  diag_init(&dl);
  Heap heap;
  heap_init(&heap, 0);
  CompileOptions opt = {
    .untrusted = true,
    .max_source_bytes = WEFT_UNTRUSTED_MAX_SOURCE_BYTES,
    .natives = std_native_table(),
  };
  Module *m = compile_file(path, &ss, &dl, &opt, &heap);
  if (m) {
    run_module(m);
    module_free(m);
  }
  diag_free(&dl);
  src_free(&ss);
  return 0;
}
