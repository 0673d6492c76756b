/* compile.c — the compiler's front door: load, check, emit, verify.
 *
 * compile_file runs the stages in order and stops at the first stage that
 * reports errors, so nothing is emitted from a program with errors. The
 * emitted module is verified at once, exactly as a loaded one would be: a
 * module the compiler produced and the verifier rejects is a compiler bug,
 * reported as an internal error (E0505) rather than run. Under a memory
 * limit (CompileOptions.max_memory) every stage's allocations are counted,
 * and going past it is E0105. */
#include "compiler.h"
#include "../base/util.h"

#include <setjmp.h>
#include <stdlib.h>

/* The stages, with no limit of their own. */
static Module *compile_stages(Program *p, const char *path, const CompileOptions *co, Heap *heap) {
  DiagList *dl = p->diags;
  uint32_t errors_before = dl->errors;
  Module *m = NULL;
  /* Lowering runs for `weft check` too: a program that checks but exceeds a
   * bytecode limit (E0504) must fail in CI, not at run time. */
  /* After syntax errors alone the items that parsed are still checked, so
   * that one broken function does not hide the type errors of the others
   * (check.c leaves out the bodies that hold a syntax error); nothing is
   * emitted. */
  bool loaded = load_program(p, path, co);
  if (!loaded && p->syntax_errors_only) check_program(p);
  if (loaded && check_program(p) && dl->errors == errors_before && taint_program(p)) {
    if (co->check_only) cost_concurrency_notes(p, co->concurrency_note);
    m = emit_program(p, heap);
    if (m) {
      char *err = NULL;
      if (!module_verify(m, &err)) {
        Span at = { p->main_file, 0, 0 };
        diag_add(dl, D_E0505, at, "this is a bug in weft; please report it with the program",
                 "internal compiler error: the compiled module fails verification: %s", err);
        free(err);
        module_free(m);
        m = NULL;
      }
    }
  }
  return m;
}

/* The stages under a memory meter (base/util.h): every allocation is
 * charged before it happens, and one past the limit lands at the setjmp.
 * False then, with what was in flight left behind: the program's arena is
 * freed by the caller, the rest by the process's exit. */
static bool compile_metered(Program *p, const char *path, const CompileOptions *co, Heap *heap, Module **out) {
  jmp_buf escape;
  AllocMeter meter = {.limit = co->max_memory, .escape = &escape};
  if (setjmp(escape)) return false;
  alloc_meter_install(&meter);
  *out = compile_stages(p, path, co, heap);
  alloc_meter_remove(&meter);
  return true;
}

Module *compile_file(const char *path, SourceSet *ss, DiagList *dl,
                     const CompileOptions *opt, Heap *heap) {
  return compile_file_then(path, ss, dl, opt, heap, NULL, NULL);
}

Module *compile_file_then(const char *path, SourceSet *ss, DiagList *dl, const CompileOptions *opt, Heap *heap,
                          void (*then)(Program *p, void *ud), void *ud) {
  CompileOptions defaults = {.check_only = false, .stdlib_dir = NULL};
  if (!opt) opt = &defaults;
  Program p;
  program_init(&p, ss, dl);
  Module *m = NULL;
  if (!opt->max_memory) {
    m = compile_stages(&p, path, opt, heap);
  } else if (!compile_metered(&p, path, opt, heap, &m)) {
    m = NULL;
    uint32_t at = p.main_file < ss->n ? p.main_file : src_add(ss, path, "", 0);
    diag_add(dl, D_E0105, (Span){at, 0, 0}, "give a larger --max-memory, or split the program",
             "compiling this program needs more than %zu bytes of memory (--max-memory)", opt->max_memory);
  }
  if (m && then) then(&p, ud);
  program_free(&p);
  return m;
}
