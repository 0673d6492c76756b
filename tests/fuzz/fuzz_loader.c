/* fuzz_loader.c — libFuzzer harness for the module loader and verifier.
 *
 * Any byte string must load into a sound module or give an error; never a
 * crash, hang or leak. Build with libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_loader.c <libweft sources>
 * or without it, as a plain program that replays files (seeds, crashers):
 *   cc -DWEFT_FUZZ_MAIN ... && ./fuzz_loader tests/fuzz/corpus_loader/FILE...
 * A loaded module is also written back and disassembled, so the writer
 * and the disassembler see every shape of module the loader accepts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../vm/module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loads one input; a module that loads is also rewritten and listed. */
static void load_one(const uint8_t *data, size_t size) {
  Heap heap;
  heap_init(&heap, 0);
  char *err = NULL;
  Module *m = module_load(&heap, data, size, &err);
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

#ifdef WEFT_FUZZ_MAIN
/* Runs the harness once per file named on the command line. */
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) {
      perror(argv[i]);
      return 2;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
      if (len == cap) {
        cap = cap ? cap * 2 : 4096;
        uint8_t *nb = realloc(buf, cap);
        if (!nb) { free(buf); fclose(f); return 2; }
        buf = nb;
      }
      n = fread(buf + len, 1, cap - len, f);
      len += n;
    } while (n > 0);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
  }
  printf("%d inputs ran\n", argc - 1);
  return 0;
}
#endif
