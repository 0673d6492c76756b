/* compile.c — the compiler's front door: load, check, emit, verify.
 *
 * compile_file runs the stages in order and stops at the first stage that
 * reports errors, so nothing is emitted from a program with errors. The
 * emitted module is verified at once, exactly as a loaded one would be: a
 * module the compiler produced and the verifier rejects is a compiler bug,
 * reported as an internal error (E0505) rather than run. */
#include "compiler.h"

#include <stdlib.h>

Module *compile_file(const char *path, SourceSet *ss, DiagList *dl,
                     const CompileOptions *opt, Heap *heap) {
  CompileOptions defaults = {.check_only = false, .stdlib_dir = NULL};
  if (!opt) opt = &defaults;
  uint32_t errors_before = dl->errors;
  Program p;
  program_init(&p, ss, dl);
  Module *m = NULL;
  /* Lowering runs for `weft check` too: a program that checks but exceeds a
   * bytecode limit (E0504) must fail in CI, not at run time. */
  /* After syntax errors alone the items that parsed are still checked, so
   * that one broken function does not hide the type errors of the others
   * (check.c leaves out the bodies that hold a syntax error); nothing is
   * emitted. */
  bool loaded = load_program(&p, path, opt);
  if (!loaded && p.syntax_errors_only) check_program(&p);
  if (loaded && check_program(&p) && dl->errors == errors_before) {
    if (opt->check_only) cost_concurrency_notes(&p, opt->concurrency_note);
    m = emit_program(&p, heap);
    if (m) {
      char *err = NULL;
      if (!module_verify(m, &err)) {
        Span at = { p.main_file, 0, 0 };
        diag_add(dl, D_E0505, at, "this is a bug in weft; please report it with the program",
                 "internal compiler error: the compiled module fails verification: %s", err);
        free(err);
        module_free(m);
        m = NULL;
      }
    }
  }
  program_free(&p);
  return m;
}
