/* gen_bench.c — what it costs to take in a program a model wrote while a
 * run goes on (`generate`, `weft do`): the in-process check of the reply
 * (runtime/generate.c gen_compile: untrusted compile, signature, cost
 * bound, capability scan), the canonical layout (gen_normalize), and the
 * link into a running VM (vm_link_function), as runtime/engine.c gen_reply
 * does them; and, for comparison, the order gen_reply had before, which
 * compiled every accepted program twice (the reply, then its layout). The programs are built here: a
 * realistic one of about 500 lines (records, roles, typed asks, fan-out
 * and barrier, bounded loops, matches, lambdas, helpers) and one of about
 * 50. The figures and the targets are in bench/README.md, "Generated
 * programs".
 *
 *   gen_bench [--iters N] [--lines N] [--print]
 *
 * Prints a table of medians and 90th percentiles, process CPU time and
 * wall time, in milliseconds; --print writes the two programs instead. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../../base/buf.h"
#include "../../compiler/compiler.h"
#include "../../lang/diag.h"
#include "../../runtime/generate.h"
#include "../../stdlib/builtins.h"
#include "../../vm/module.h"
#include "../../vm/opcodes.h"
#include "../../vm/value.h"
#include "../../vm/vm.h"

/* ---- the programs ------------------------------------------------------- */

/* The models the roles name: the run's allowlist too. */
static const char *const MODELS[] = {"anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-5", "openai/gpt-4o-mini",
                                     "mock/planner"};
#define NMODELS (sizeof MODELS / sizeof MODELS[0])

static const char *const THEMES[] = {"security", "performance", "billing", "onboarding", "search", "storage"};

static unsigned count_lines(const Buf *b) {
  unsigned n = 0;
  for (size_t i = 0; i < b->len; i++) n += b->data[i] == '\n';
  return n;
}

/* One stage of a pipeline, about 60 lines; k varies names, models, bounds
 * and the shape of the helpers so that no two stages are the same text. */
static void put_stage(Buf *b, unsigned k, bool brief) {
  const char *theme = THEMES[k % 6];
  const char *m1 = MODELS[k % 3], *m2 = MODELS[(k + 1) % 3];
  buf_printf(b, "// ---- stage %u: %s ----\n\n", k, theme);
  buf_printf(b, "/// One %s finding of stage %u.\n", theme, k);
  buf_printf(b, "type Finding%u = {\n  item: string,\n  score: int,\n  level: \"low\" | \"medium\" | \"high\",\n"
                "  /// what is wrong, in one sentence\n  note: string,\n}\n\n", k);
  buf_printf(b, "role analyst%u {\n  model: \"%s\",\n  system: \"You analyse %s items and report typed findings.\",\n"
                "  temperature: 0.%u,\n}\n\n", k, m1, theme, k % 10);
  if (!brief) buf_printf(b, "role judge%u { model: \"%s\", system: \"You grade %s drafts from 0 to 10.\" }\n\n", k, m2, theme);
  buf_printf(b, "fn weight%u(l: \"low\" | \"medium\" | \"high\") -> int {\n  match l {\n    \"high\" => %u,\n"
                "    \"medium\" => 2,\n    \"low\" => 1,\n  }\n}\n\n", k, 3 + k % 4);
  if (k % 2 == 0) {
    buf_printf(b, "fn analyse%u(items: list[string]) -> list[Finding%u] {\n"
                  "  let t = fanout it in items limit %u {\n"
                  "    ask analyst%u \"Analyse the %s item {it} and report one Finding.\" -> Finding%u\n"
                  "  }\n"
                  "  let j = barrier t tolerate 25%%\n"
                  "%s"
                  "  sort_by(j.ok, fn(f) => 0 - f.score * weight%u(f.level))\n}\n\n",
               k, k, 2 + k % 3, k, theme, k,
               brief ? "" : "  for failed in j.failed {\n    print(\"skipped {items[failed.branch]} ({failed.kind})\")\n  }\n",
               k);
  } else {
    buf_printf(b, "fn analyse%u(items: list[string]) -> list[Finding%u] {\n"
                  "  let all = barrier fanout it in items {\n"
                  "    let f = ask analyst%u \"Analyse the %s item {it}.\" -> Finding%u\n"
                  "    f with { score: f.score * weight%u(f.level) }\n"
                  "  }\n"
                  "  filter(all, fn(f) => f.score > %u)\n}\n\n",
               k, k, k, theme, k, k, k % 3);
  }
  if (!brief)
    buf_printf(b, "fn refine%u(task: string, seed: string) -> string {\n"
                "  let start: { draft: string, grade: int, rounds: int } = { draft: seed, grade: 0, rounds: 0 }\n"
                "  let r = loop s = start max %u {\n"
                "    let g = ask judge%u \"Grade this draft for {task}:\\n{s.draft}\" -> { grade: int, advice: string }\n"
                "    let better = ask analyst%u \"Improve the draft ({g.advice}):\\n{s.draft}\"\n"
                "    { draft: better, grade: g.grade, rounds: s.rounds + 1 }\n"
                "  } until s.grade >= %u else s\n"
                "  \"{r.draft} (graded {r.grade} after {r.rounds} rounds)\"\n}\n\n",
             k, 2 + k % 3, k, k, 7 + k % 3);
  buf_printf(b, "fn stage%u(task: string) -> string {\n"
                "  let items = [\"%s-a\", \"%s-b\", \"%s-c\", \"%s-d\"]\n"
                "  let found = analyse%u(items)\n"
                "  let serious = filter(found, fn(f) => f.level != \"low\")\n"
                "  if len(serious) == 0 {\n    return \"stage %u: nothing serious in {len(found)} findings\"\n  }\n"
                "  let lines = map(serious, fn(f) => \"{f.item}: {f.note} ({f.score})\")\n"
                "  %s%u%s\n}\n\n",
             k, theme, theme, theme, theme, k, k, brief ? "ask analyst" : "refine", k,
             brief ? " \"Summarize for {task}:\\n{lines}\"" : "(task, \"{lines}\")");
}

/* A program of about `lines` lines with main(task: string, input: json)
 * -> string running every stage. */
static void build_program(Buf *b, unsigned lines) {
  buf_puts(b, "// A pipeline written for the task: each stage fans out its items to an\n"
              "// analyst, keeps the serious findings and refines a report with a judge.\n\n");
  unsigned n = 0, per = 0;
  do {
    unsigned before = count_lines(b);
    put_stage(b, n++, lines < 100);
    per = count_lines(b) - before;
  } while (count_lines(b) + per + n + (lines >= 100 ? 26 : 10) <= lines && n < 64);
  /* the rest with shorter stages (no judge, no refining loop) */
  while (lines >= 100 && count_lines(b) + n + 26 + 22 < lines && n < 64) put_stage(b, n++, true);
  buf_puts(b, "role editor { model: \"anthropic/claude-sonnet-4-5\", system: \"You merge reports.\" }\n\n");
  buf_puts(b, "fn main(task: string, input: json) -> string {\n  let parts = [\n");
  for (unsigned k = 0; k < n; k++) buf_printf(b, "    stage%u(task),\n", k);
  buf_puts(b, "  ]\n  let context = to_json(input)\n");
  if (lines >= 100)
    buf_puts(b, "  for p in parts {\n    print(\"part of {len(p)} characters\")\n  }\n"
                "  let short = filter(parts, fn(p) => len(p) < 200)\n"
                "  let tone = match len(short) {\n"
                "    0 => \"in full detail\",\n"
                "    1 => \"briefly, but keep the one short part as it is\",\n"
                "    _ => \"briefly\",\n"
                "  }\n"
                "  let title = ask editor \"A title for a report on {task}\" -> { title: string, words: int(1..12) }\n"
                "  let body = ask editor \"Merge these reports {tone} for {task} (input {context}):\\n{parts}\"\n"
                "  \"{title.title}\\n\\n{body}\"\n}\n");
  else
    buf_puts(b, "  ask editor \"Merge these reports for {task} (input {context}):\\n{parts}\"\n}\n");
}

/* ---- timing ----------------------------------------------------------------- */

static double clock_ms(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The q-th quantile of v[0..n) (sorts v). */
static double quantile(double *v, size_t n, double q) {
  qsort(v, n, sizeof *v, cmp_double);
  size_t i = (size_t)(q * (double)(n - 1) + 0.5);
  return v[i < n ? i : n - 1];
}

typedef struct Series {
  double *cpu, *wall;
  size_t n;
} Series;

static void row(const char *what, Series *s, double target) {
  double cm = quantile(s->cpu, s->n, 0.5), c9 = quantile(s->cpu, s->n, 0.9);
  double wm = quantile(s->wall, s->n, 0.5), w9 = quantile(s->wall, s->n, 0.9);
  printf("%-48s %8.3f %8.3f %8.3f %8.3f   < %g ms: %s\n", what, cm, c9, wm, w9, target,
         cm < target ? "met" : "MISSED");
}

/* ---- the pieces ------------------------------------------------------------- */

static Module *compile_text(const char *name, const char *text, Heap *heap) {
  CompileOptions co = {.natives = std_native_table(), .main_text = text, .main_len = strlen(text)};
  SourceSet ss;
  DiagList dl;
  src_init(&ss);
  diag_init(&dl);
  Module *m = compile_file(name, &ss, &dl, &co, heap);
  if (!m || dl.errors) {
    diag_render_text(stderr, &dl, &ss, false);
    exit(1);
  }
  diag_free(&dl);
  src_free(&ss);
  return m;
}

/* The asking program: its `generate` gives the signature (the descriptors
 * the emitter wrote into the GENERATE instruction), and the VM the
 * generated main is linked into runs it. */
static const char ASKING[] = "role planner { model: \"mock/planner\" }\n"
                             "fn main(task: string, input: json) -> string {\n"
                             "  let f = generate fn(task: string, input: json) -> string by planner \"Do: {task}\"\n"
                             "  f(task, input)\n"
                             "}\n";

static GenSig find_sig(const Module *m) {
  for (uint32_t i = 0; i < m->nfuncs; i++) {
    const FuncProto *fp = &m->funcs[i];
    for (uint32_t pc = 0; pc < fp->code_len; pc += op_info[fp->code[pc]].size)
      if (fp->code[pc] == OP_GENERATE) {
        OpArgs a = op_decode(fp->code + pc);
        return (GenSig){m, a.b, a.c == GEN_NO_RESULT ? NO_INDEX : a.c};
      }
  }
  fprintf(stderr, "gen_bench: no GENERATE instruction in the asking program\n");
  exit(1);
}

/* The run's grants, as `weft do` checks them: here everything is granted,
 * but the scan is made and handed over. */
static bool caps_all(void *ud, const struct CapScan *scan, Buf *why) {
  (void)ud, (void)scan, (void)why;
  return true;
}

static Module *check(const Buf *prog, const GenSig *sig, const GenRules *rules, Heap *heap) {
  Buf why;
  buf_init(&why);
  Module *m = gen_compile(prog->data, prog->len, "main/generate#1", sig, rules, heap, &why);
  if (!m) {
    fprintf(stderr, "gen_bench: the program does not pass gen_compile:\n%.*s\n", (int)why.len, why.data);
    exit(1);
  }
  buf_free(&why);
  return m;
}

static void usage(void) {
  fprintf(stderr, "usage: gen_bench [--iters N] [--lines N] [--print]\n");
  exit(2);
}

int main(int argc, char **argv) {
  long iters = 300, big_lines = 500;
  bool print = false;
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--print") == 0) print = true;
    else if (!v) usage();
    else if (strcmp(argv[i], "--iters") == 0) iters = strtol(v, NULL, 10), i++;
    else if (strcmp(argv[i], "--lines") == 0) big_lines = strtol(v, NULL, 10), i++;
    else usage();
  }
  if (iters < 1 || iters > 1000000 || big_lines < 40 || big_lines > 5000) usage();

  Buf big, small, tiny;
  buf_init(&big);
  buf_init(&small);
  buf_init(&tiny);
  buf_puts(&tiny, "fn main(task: string, input: json) -> string {\n  \"{task}: {to_json(input)}\"\n}\n");
  build_program(&big, (unsigned)big_lines);
  build_program(&small, 50);
  buf_putc(&big, '\0'), big.len--;
  buf_putc(&small, '\0'), small.len--;
  if (print) {
    printf("%s\n%s", big.data, small.data);
    return 0;
  }

  Heap heap;
  heap_init(&heap, 0);
  Module *asking = compile_text("asking.weft", ASKING, &heap);
  GenSig sig = find_sig(asking);
  GenRules rules = {.limit_models = true, .models = MODELS, .nmodels = NMODELS, .max_calls = 1000,
                    .caps_ok = caps_all};
  const char *task = "Review the service's open tickets by theme\nand write one merged report.";

  Series s_big = {calloc((size_t)iters, sizeof(double)), calloc((size_t)iters, sizeof(double)), 0};
  Series s_one = {calloc((size_t)iters, sizeof(double)), calloc((size_t)iters, sizeof(double)), 0};
  Series s_two = {calloc((size_t)iters, sizeof(double)), calloc((size_t)iters, sizeof(double)), 0};
  Series s_tiny = {calloc((size_t)iters, sizeof(double)), calloc((size_t)iters, sizeof(double)), 0};
  Series s_now = {calloc((size_t)iters, sizeof(double)), calloc((size_t)iters, sizeof(double)), 0};
  Series s_link = {calloc((size_t)iters, sizeof(double)), calloc((size_t)iters, sizeof(double)), 0};
  Series s_norm = {calloc((size_t)iters, sizeof(double)), calloc((size_t)iters, sizeof(double)), 0};
  if (!s_link.cpu || !s_link.wall || !s_now.cpu || !s_now.wall || !s_tiny.cpu || !s_tiny.wall || !s_big.cpu || !s_big.wall || !s_one.cpu || !s_one.wall || !s_two.cpu || !s_two.wall || !s_norm.cpu ||
      !s_norm.wall)
    return 1;

  /* one untimed round of each: caches warm, and the programs are known to pass */
  module_free(check(&big, &sig, &rules, &heap));
  module_free(check(&small, &sig, &rules, &heap));

  Limits limits;
  memset(&limits, 0, sizeof limits);
  limits_default(&limits);
  for (long it = 0; it < iters; it++) {
    /* the 500-line program: the whole in-process check */
    double c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
    Module *m = check(&big, &sig, &rules, &heap);
    s_big.cpu[s_big.n] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
    s_big.wall[s_big.n++] = clock_ms(CLOCK_MONOTONIC) - w0;
    module_free(m);

    /* what every compile pays whatever the program: a main of one line */
    c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
    m = check(&tiny, &sig, &rules, &heap);
    s_tiny.cpu[s_tiny.n] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
    s_tiny.wall[s_tiny.n++] = clock_ms(CLOCK_MONOTONIC) - w0;
    module_free(m);

    /* the 50-line program into a fresh VM (a long run links many, each
     * one into the same module; a fresh one keeps the rounds alike) */
    Module *host = compile_text("asking.weft", ASKING, &heap);
    VM *vm = vm_new(host, &limits);
    if (!vm) return 1;
    GenSig hsig = find_sig(host);
    Value fn;
    char *err = NULL;

    /* without the second compile: check, then link what was checked */
    c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
    m = check(&small, &hsig, &rules, &heap);
    double lc0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), lw0 = clock_ms(CLOCK_MONOTONIC);
    if (!vm_link_function(vm, m, &fn, NULL, &err)) {
      fprintf(stderr, "gen_bench: link: %s\n", err ? err : "?");
      return 1;
    }
    s_link.cpu[s_link.n] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - lc0;
    s_link.wall[s_link.n++] = clock_ms(CLOCK_MONOTONIC) - lw0;
    s_one.cpu[s_one.n] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
    s_one.wall[s_one.n++] = clock_ms(CLOCK_MONOTONIC) - w0;
    module_free(m);
    v_release(&vm->heap, fn);

    /* as gen_reply does it: the canonical layout, checked once, linked */
    c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
    {
      Buf norm;
      buf_init(&norm);
      gen_normalize(&norm, small.data, small.len, "planner", "main/generate#1", task);
      buf_putc(&norm, '\0'), norm.len--;
      m = check(&norm, &hsig, &rules, &heap);
      if (!vm_link_function(vm, m, &fn, NULL, &err)) {
        fprintf(stderr, "gen_bench: link: %s\n", err ? err : "?");
        return 1;
      }
      buf_free(&norm);
    }
    s_now.cpu[s_now.n] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
    s_now.wall[s_now.n++] = clock_ms(CLOCK_MONOTONIC) - w0;
    module_free(m);
    v_release(&vm->heap, fn);

    /* as gen_reply did it before: check, normalize, check again, link */
    c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
    m = check(&small, &hsig, &rules, &heap);
    double nc0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), nw0 = clock_ms(CLOCK_MONOTONIC);
    Buf norm;
    buf_init(&norm);
    gen_normalize(&norm, small.data, small.len, "planner", "main/generate#1", task);
    buf_putc(&norm, '\0'), norm.len--;
    s_norm.cpu[s_norm.n] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - nc0;
    s_norm.wall[s_norm.n++] = clock_ms(CLOCK_MONOTONIC) - nw0;
    Module *again = check(&norm, &hsig, &rules, &heap);
    module_free(m);
    if (!vm_link_function(vm, again, &fn, NULL, &err)) {
      fprintf(stderr, "gen_bench: link: %s\n", err ? err : "?");
      return 1;
    }
    s_two.cpu[s_two.n] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
    s_two.wall[s_two.n++] = clock_ms(CLOCK_MONOTONIC) - w0;
    module_free(again);
    v_release(&vm->heap, fn);
    buf_free(&norm);
    vm_free(vm);
    module_free(host);
  }

  printf("generated programs: %u and %u lines, %ld iterations (ms)\n", count_lines(&big), count_lines(&small),
         iters);
  printf("%-48s %8s %8s %8s %8s\n", "", "cpu p50", "cpu p90", "wall p50", "wall p90");
  row("500 lines: gen_compile (check+sig+cost+caps)", &s_big, 5);
  row("50 lines: gen_compile + link", &s_one, 1);
  row("50 lines: normalize, gen_compile, link (now)", &s_now, 1);
  row("50 lines: compile, normalize, again, link (was)", &s_two, 1);
  row("50 lines: gen_normalize alone", &s_norm, 1);
  row("50 lines: vm_link_function alone", &s_link, 1);
  row("3 lines: gen_compile (the fixed cost)", &s_tiny, 1);

  free(s_big.cpu), free(s_big.wall), free(s_one.cpu), free(s_one.wall);
  free(s_link.cpu), free(s_link.wall), free(s_now.cpu), free(s_now.wall), free(s_tiny.cpu), free(s_tiny.wall), free(s_two.cpu), free(s_two.wall), free(s_norm.cpu), free(s_norm.wall);
  module_free(asking);
  buf_free(&big);
  buf_free(&small);
  buf_free(&tiny);
  return 0;
}
