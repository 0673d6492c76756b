/* test_taint.c — the compiler options of the untrusted-content pass
 * (compiler/taint.c) that no `weft check` flag reaches yet: programs whose
 * output the run grant trusts (CompileOptions.trusted_programs), next to
 * main's untrusted inputs, compiled from source and counted by E0650. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../compiler/compiler.h"
#include "../../stdlib/builtins.h"
#include "tap.h"

/* The E0650 errors of `text` compiled with these options, or -1 when it
 * could not be written; *line: the line of the first. */
static int refusals(const char *text, const char *const *trusted, uint32_t ntrusted, const char *const *inputs,
                    uint32_t ninputs, uint32_t *line) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/weft-taint-%ld.weft", (long)getpid());
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(text, f);
  fclose(f);
  SourceSet ss;
  DiagList dl;
  Heap heap;
  heap_init(&heap, 0);
  src_init(&ss);
  diag_init(&dl);
  CompileOptions opt = {.check_only = true, .natives = std_native_table(), .trusted_programs = trusted,
                        .ntrusted_programs = ntrusted, .untrusted_inputs = inputs, .nuntrusted_inputs = ninputs};
  Module *m = compile_file(path, &ss, &dl, &opt, &heap);
  if (m) module_free(m);
  unlink(path);
  int n = 0;
  for (uint32_t i = 0; i < dl.n; i++) {
    if (dl.items[i].code != D_E0650) continue;
    if (!n++ && line) {
      uint32_t col = 0;
      src_line_col(src_get(&ss, dl.items[i].span.file), dl.items[i].span.start, line, &col);
    }
  }
  diag_free(&dl);
  src_free(&ss);
  return n;
}

#define RUN_GIT                                                  \
  "import \"std/proc\" as proc\n"                                \
  "import \"std/fs\" as fs\n"                                    \
  "fn main(name: string) {\n"                                    \
  "  let out = proc.run(\"git\", [\"rev-parse\", \"HEAD\"])\n"   \
  "  fs.write(\"/tmp/{out.stdout}\", \"x\")\n"                   \
  "  let other = proc.run(name, [])\n"                           \
  "  fs.write(other.stdout, \"x\")\n"                            \
  "}\n"

#define INPUTS                                                   \
  "import \"std/fs\" as fs\n"                                    \
  "fn main(a: string, b: string, n: int) {\n"                    \
  "  fs.write(a, \"x\")\n"                                       \
  "  fs.write(\"{b}.txt\", \"x\")\n"                             \
  "  fs.write(\"{n}.txt\", \"x\")\n"                             \
  "}\n"

int main(void) {
  static const char *const git[] = {"git"}, *const ls[] = {"ls"}, *const both[] = {"ls", "git"};
  static const char *const b[] = {"b"}, *const n[] = {"n"}, *const ab[] = {"a", "b"}, *const none[] = {"c"};
  uint32_t line = 0;
  is_int(refusals(RUN_GIT, NULL, 0, NULL, 0, &line), 2, "proc.run's output is untrusted: both writes refused");
  is_int(line, 5, "the first at the path built from git's output");
  is_int(refusals(RUN_GIT, git, 1, NULL, 0, &line), 1, "git trusted: its output is clean");
  is_int(line, 7, "the program named by a parameter is still untrusted");
  is_int(refusals(RUN_GIT, ls, 1, NULL, 0, NULL), 2, "another program trusted: git is not");
  is_int(refusals(RUN_GIT, both, 2, NULL, 0, NULL), 1, "git among several trusted");
  is_int(refusals(INPUTS, NULL, 0, NULL, 0, NULL), 0, "no input named untrusted: no refusal");
  is_int(refusals(INPUTS, NULL, 0, b, 1, &line), 1, "b untrusted");
  is_int(line, 4, "at the path interpolating b");
  is_int(refusals(INPUTS, NULL, 0, ab, 2, NULL), 2, "a and b untrusted");
  is_int(refusals(INPUTS, NULL, 0, n, 1, NULL), 0, "an int input carries no text");
  is_int(refusals(INPUTS, NULL, 0, none, 1, NULL), 0, "a name main does not have");
  return tap_done();
}
