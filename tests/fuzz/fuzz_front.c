/* fuzz_front.c — libFuzzer harness for the whole front end.
 *
 * Any byte string is a source file: it must get diagnostics or compile,
 * never crash, hang or leak. Two oracles beyond "no crash":
 *   - a program the checker accepts must lower to a module the verifier
 *     accepts (compile_file reports E0505 otherwise: a compiler bug);
 *   - that module must survive a write/load round trip.
 * A compiled program whose main takes no inputs is also run under tight
 * limits (10^6 instructions, 64 MB, call depth 256), so the VM sees every program
 * the front end lets through. Build with libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined ... tests/fuzz/fuzz_front.c libweft.a
 * or with fuzz_main.c as the smoke run of `make check`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../compiler/compiler.h"
#include "../../stdlib/builtins.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static FILE *devnull;

/* The compiler reads files (imports resolve relative to them), so each
 * input is written to one private temporary file. */
static int write_input(const uint8_t *data, size_t size) {
  if (!path[0]) {
    snprintf(path, sizeof path, "/tmp/weft-fuzz-%ld.weft", (long)getpid());
    devnull = fopen("/dev/null", "w");
  }
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(data, 1, size, f);
  fclose(f);
  return w == size ? 0 : -1;
}

static void run_module(Module *m) {
  if (m->main_fn == NO_INDEX || m->nparams != 0) return;
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
  Value result;
  char *err = NULL, *trace = NULL;
  if (vm_run_main(vm, NULL, 0, &result, &err, &trace)) v_release(&vm->heap, result);
  free(err);
  free(trace);
  vm_free(vm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (write_input(data, size) != 0) return 0;
  SourceSet ss;
  DiagList dl;
  src_init(&ss);
  diag_init(&dl);
  Heap heap;
  heap_init(&heap, 0);
  CompileOptions opt = {.natives = std_native_table()};
  Module *m = compile_file(path, &ss, &dl, &opt, &heap);
  for (uint32_t i = 0; i < dl.n; i++)
    if (dl.items[i].code == D_E0505) {
      fprintf(stderr, "fuzz_front: internal compiler error: %s\n", dl.items[i].message);
      abort();
    }
  if (devnull) diag_render_text(devnull, &dl, &ss, 0);
  if (m) {
    size_t len;
    uint8_t *bytes = module_write(m, &len);
    char *err = NULL;
    Heap h2;
    heap_init(&h2, 0);
    Module *again = module_load(&h2, bytes, len, std_native_table(), &err);
    if (!again) {
      fprintf(stderr, "fuzz_front: compiled module does not reload: %s\n", err ? err : "?");
      abort();
    }
    module_free(again);
    free(bytes);
    run_module(m);
    module_free(m);
  }
  diag_free(&dl);
  src_free(&ss);
  return 0;
}
