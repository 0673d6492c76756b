/* embed.c — a host program that runs a Weft workflow in-process with
 * libweft, as a service, an editor or a test harness would
 * (docs/embedding.md walks through it).
 *
 *   cc embed.c $(pkg-config --cflags --libs weft) -o embed
 *   ./embed examples/summarize_extract.weft '{"doc": "..."}'
 *
 * It compiles the file (printing any diagnostics), runs main with the
 * inputs given as a JSON object, every model call answered offline by the
 * built-in mock provider, and prints main's result and what the run
 * cost. Exit status: 0 when main returned, 1 when the program does not
 * compile or fails, 2 on a usage error. */
#include <stdio.h>
#include <weft.h>

/* Prints what went wrong with a call and returns 1. */
static int failed(const char *what, weft_status st, const char *msg) {
  fprintf(stderr, "embed: %s: %s%s%s\n", what, weft_status_text(st), msg && *msg ? ": " : "", msg ? msg : "");
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s FILE.weft [INPUTS_JSON]\n", argv[0]);
    return 2;
  }

  /* 1. Compile. The program handle holds the diagnostics, also when the
   *    file has errors; a module is the verified bytecode. */
  weft_program *prog = NULL;
  weft_status st = weft_compile_file(argv[1], NULL, &prog);
  if (prog) fputs(weft_program_diagnostics_text(prog), stderr);
  if (st != WEFT_OK) {
    int rc = failed(argv[1], st, prog ? weft_program_errmsg(prog) : NULL);
    weft_program_free(prog);
    return rc;
  }
  weft_module *mod = NULL;
  st = weft_program_module(prog, &mod);
  weft_program_free(prog); /* the module outlives its program */
  if (st != WEFT_OK) return failed("module", st, NULL);

  /* 2. A session runs the module once. It keeps its own reference to the
   *    module, so the host's can go now. Settings come before the run. */
  weft_session *s = NULL;
  st = weft_session_new(mod, &s);
  weft_module_free(mod);
  if (st != WEFT_OK) return failed("session", st, NULL);
  int rc = 0;
  if ((st = weft_session_set_provider(s, "mock")) != WEFT_OK ||         /* every role offline */
      (st = weft_session_set_budget(s, WEFT_BUDGET_LIMIT_CALLS, 20)) != WEFT_OK ||
      (st = weft_session_set_limit(s, WEFT_LIMIT_TIMEOUT_MS, 30000)) != WEFT_OK) {
    rc = failed("settings", st, weft_session_errmsg(s));
    weft_session_free(s);
    return rc;
  }

  /* 3. Run. A result exists whenever the run started, failed or not: it
   *    holds main's value as JSON, or the error, and the statistics. */
  weft_result *r = NULL;
  st = weft_session_run(s, argc > 2 ? argv[2] : NULL, &r);
  if (r && weft_result_ok(r)) {
    printf("result: %s\n", weft_result_json(r));
  } else {
    rc = failed("run", st, r ? weft_result_error(r) : weft_session_errmsg(s));
  }
  if (r) printf("stats: %s\n", weft_result_stats(r));

  /* 4. Free in any order; every free accepts NULL. */
  weft_result_free(r);
  weft_session_free(s);
  return rc;
}
