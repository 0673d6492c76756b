/* fuzz_json.c — libFuzzer harness for reading replies into types: the
 * JSON reader (v_from_json, vm/json.c) and the typed conversion of the
 * value into a declared type (v_convert), which is what every typed ask,
 * --input and from_json[T] goes through.
 *
 * Input: byte 0 picks one of the type descriptors of a fixed module (built
 * once from the source below: records, enums, optionals, lists, maps,
 * durations, nesting, json); the rest is the JSON text. Oracles beyond
 * "no crash, no leak": a value that converts has a JSON form, that form
 * reads back and converts again to the same JSON form; and the mock's
 * value of the type (what `--provider mock` replies) always converts;
 * every value made is released (the input's heap ends empty).
 * Build with tests/fuzz/run.sh, or with fuzz_main.c as the smoke run of
 * `make check`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../base/buf.h"
#include "../../compiler/compiler.h"
#include "../../runtime/schema.h"
#include "../../stdlib/builtins.h"
#include "../../vm/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char types_src[] =
  "type Severity = \"low\" | \"medium\" | \"high\"\n"
  "type Finding = { file: string, line: int, severity: Severity, note: string?,\n"
  "  score: float, tags: list[string], counts: map[int], wait: duration, ok: bool }\n"
  "type Pair[T] = { first: T, second: T }\n"
  "type Step = { name: string, after: list[string], estimate: duration, extra: json }\n"
  "fn main(a: Finding, b: list[Finding], c: map[list[int]], d: Severity?, e: json,\n"
  "        f: float, g: duration, h: list[list[float]], i: { x: int, y: int }?,\n"
  "        j: Pair[Step], k: map[Pair[int?]], l: list[json], m: bool, n: string,\n"
  "        o: int, p: list[Severity]) -> int { 0 }\n";

static Module *mod;
static Heap heap;

static void die(const char *what, const char *text) {
  fprintf(stderr, "fuzz_json: %s: %s\n", what, text ? text : "(null)");
  abort();
}

static void init(void) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/weft-fuzz-json-%ld.weft", (long)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) die("cannot write", path);
  fputs(types_src, f);
  fclose(f);
  SourceSet ss;
  DiagList dl;
  src_init(&ss);
  diag_init(&dl);
  heap_init(&heap, 0);
  CompileOptions opt = {.natives = std_native_table()};
  mod = compile_file(path, &ss, &dl, &opt, &heap);
  if (!mod) {
    diag_render_text(stderr, &dl, &ss, 0);
    die("the type module does not compile", path);
  }
  diag_free(&dl);
  src_free(&ss);
  remove(path);
}

/* v converted to td: its JSON form (false when it has none). */
static bool json_form(Heap *h, Value v, Buf *out) {
  char *why = NULL;
  bool ok = v_to_json(out, v, &why);
  free(why);
  (void)h;
  return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!mod) init();
  if (size < 1) return 0;
  uint32_t td = data[0] % mod->ntypes;
  const char *text = (const char *)data + 1;
  size_t n = size - 1;
  Heap h;
  heap_init(&h, 64u << 20);

  Buf name;
  buf_init(&name);
  type_desc_print(&name, mod, td);
  buf_free(&name);

  Value raw, conv;
  char *err = NULL;
  if (v_from_json(&h, text, n, &raw, &err)) {
    if (err) die("v_from_json succeeded with a message", err);
    if (v_convert(&h, mod, td, raw, &conv, &err)) {
      Buf j1, j2;
      buf_init(&j1);
      buf_init(&j2);
      if (json_form(&h, conv, &j1)) {
        Value raw2, conv2;
        char *e2 = NULL;
        if (!v_from_json(&h, j1.data, j1.len, &raw2, &e2)) die("a converted value's JSON does not read back", e2);
        if (!v_convert(&h, mod, td, raw2, &conv2, &e2)) die("a converted value's JSON does not convert back", e2);
        if (!json_form(&h, conv2, &j2) || j1.len != j2.len || memcmp(j1.data, j2.data, j1.len))
          die("converting a value's JSON again changed it", j1.data);
        v_release(&h, raw2);
        v_release(&h, conv2);
      }
      buf_free(&j1);
      buf_free(&j2);
      v_release(&h, conv);
    } else if (!err || !err[0]) {
      die("v_convert failed without a message", err);
    }
    v_release(&h, raw);
  } else if (!err || !err[0]) {
    die("v_from_json failed without a message", err);
  }
  free(err);

  uint64_t seed = 0;
  for (size_t i = 0; i < n && i < 8; i++) seed = seed << 8 | (uint8_t)text[i];
  Value mock = schema_mock_value(&h, mod, td, seed), mconv;
  char *merr = NULL;
  if (!v_convert(&h, mod, td, mock, &mconv, &merr)) die("the mock's value does not convert", merr);
  v_release(&h, mconv);
  v_release(&h, mock);
  /* every value made here was released: the heap is back to empty */
  if (h.used) die("values were not released", "heap not empty");
  return 0;
}
