/* fuzz_check.c — libFuzzer harness for the checker and the static cost
 * bound (`weft check --cost`).
 *
 * Any byte string is a program given as `weft check --untrusted` gets
 * one (imports from std/ only, the untrusted source cap): it must check or
 * get diagnostics, never crash, hang or leak. A program that checks also
 * gets the fan-out notes and its cost bound, as text and as JSON; the JSON
 * must parse, and the text must be one line. Nothing is emitted here, so
 * each input is cheaper than fuzz_front's and the fuzzer spends its time in
 * the checker. Build with tests/fuzz/run.sh, or with fuzz_main.c as the
 * smoke run of `make check`. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../base/buf.h"
#include "../../compiler/compiler.h"
#include "../../include/weft_tools.h"
#include "../../stdlib/builtins.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static FILE *devnull;

static void remove_path(void) { remove(path); }

/* The loader reads files, so each input goes to one private file. */
static int write_input(const uint8_t *data, size_t size) {
  if (!path[0]) {
    snprintf(path, sizeof path, "/tmp/weft-fuzz-check-%ld.weft", (long)getpid());
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
  fprintf(stderr, "fuzz_check: %s: %s\n", what, text ? text : "(null)");
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (write_input(data, size) != 0) return 0;
  SourceSet ss;
  DiagList dl;
  src_init(&ss);
  diag_init(&dl);
  CompileOptions opt = {
    .check_only = true,
    .untrusted = true,
    .max_source_bytes = WEFT_UNTRUSTED_MAX_SOURCE_BYTES,
    .natives = std_native_table(),
    .concurrency_note = 4,
  };
  Program p;
  program_init(&p, &ss, &dl);
  if (load_program(&p, path, &opt) && check_program(&p) && dl.errors == 0) {
    cost_concurrency_notes(&p, opt.concurrency_note);
    Buf text, json;
    buf_init(&text);
    buf_init(&json);
    bool t = cost_program(&p, false, &text);
    bool j = cost_program(&p, true, &json);
    if (t != j) die("the text and JSON bounds disagree on whether there is one", text.data);
    if (t) {
      /* one line, or for an unbounded result one line and its "help: " line */
      const char *nl = memchr(text.data, '\n', text.len);
      if (nl && nl != text.data + text.len - 1) {
        const char *rest = nl + 1, *end = text.data + text.len;
        const char *nl2 = memchr(rest, '\n', (size_t)(end - rest));
        if ((size_t)(end - rest) < 6 || memcmp(rest, "help: ", 6) != 0 || !nl2 || nl2 != end - 1)
          die("the cost line holds a newline", text.data);
      }
      cJSON *doc = cJSON_ParseWithLength(json.data, json.len);
      if (!doc) die("the cost bound is not JSON", json.data);
      cJSON_Delete(doc);
    }
    buf_free(&text);
    buf_free(&json);
  }
  program_free(&p);
  if (devnull) diag_render_text(devnull, &dl, &ss, 0);
  diag_free(&dl);
  src_free(&ss);
  return 0;
}
