/* fuzz_loader.c — libFuzzer harness for the module loader and verifier.
 *
 * Any byte string must load into a sound module or give an error; never a
 * crash, hang or leak. Build with libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_loader.c <libweft sources>
 * or linked with fuzz_main.c as a plain program that replays files and
 * deterministic mutants of the corpus (what `make check` runs).
 * A loaded module is also written back and disassembled, so the writer
 * and the disassembler see every shape of module the loader accepts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../stdlib/builtins.h"
#include "../../vm/module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loads one input; a module that loads is also rewritten and listed. */
static void load_one(const uint8_t *data, size_t size) {
  Heap heap;
  heap_init(&heap, 0);
  char *err = NULL;
  Module *m = module_load(&heap, data, size, std_native_table(), &err);
  if (m) {
    size_t len;
    uint8_t *again = module_write(m, &len);
    free(again);
    FILE *null = fopen("/dev/null", "w");
    if (null) {
      module_disasm(null, m);
      fclose(null);
    }
    module_free(m);
  }
  free(err);
}

/* Random bytes almost never carry a valid trailer, so each input is also
 * tried with its checksum repaired: that is what lets the fuzzer reach
 * the parser and the verifier rather than stopping at the checksum. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  load_one(data, size);
  if (size >= 4) {
    uint8_t *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, data, size);
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i + 4 < size; i++) {
      h ^= copy[i];
      h *= 0x01000193u;
    }
    for (int i = 0; i < 4; i++) copy[size - 4 + i] = (uint8_t)(h >> (8 * i));
    load_one(copy, size);
    free(copy);
  }
  return 0;
}
