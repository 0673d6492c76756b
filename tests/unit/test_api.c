/* test_api.c — the public API (include/weft.h) from a host's side: the
 * normal path (compile, module, session, run, result, stats, a mock model
 * call) and bad input — NULL handles, calls out of order, a handle of
 * the wrong type, a module of a newer format or damaged, bad inputs and
 * settings, a host effects table that answers an effect never
 * submitted — each a status code and a message, never a crash. Includes
 * only weft.h, as a host would. TAP output (tap.h). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "../../include/weft.h"

#include <stdio.h>
#include "tap.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define check(cond, desc) ok((cond), "%s", (desc))

static char dir[64];

static const char *write_program(const char *name, const char *text) {
  static char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  return path;
}

static weft_module *module_of(const char *name, const char *text) {
  weft_program *p = NULL;
  weft_module *m = NULL;
  if (weft_compile_file(write_program(name, text), NULL, &p) == WEFT_OK) weft_program_module(p, &m);
  weft_program_free(p);
  return m;
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/weft_api_XXXXXX");
  if (!mkdtemp(dir)) return 1;

  /* status texts and the version */
  int named = 1;
  for (int s = WEFT_OK; s <= WEFT_E_UNSUPPORTED; s++) named = named && weft_status_text((weft_status)s)[0];
  check(named, "every status has a text");
  check(weft_status_text((weft_status)999) != NULL, "an unknown status has a text");
  check(weft_version()[0] && weft_format_version() >= 1, "version and format version");

  /* compiling */
  weft_program *p = (weft_program *)1;
  check(weft_compile_file(NULL, NULL, &p) == WEFT_E_ARG && p == NULL, "compile: NULL path");
  check(weft_compile_file("x.weft", NULL, NULL) == WEFT_E_ARG, "compile: NULL out");
  check(weft_compile_file("/nonexistent/x.weft", NULL, &p) == WEFT_E_IO && p == NULL, "compile: missing file");
  weft_compile_options bad_size = {0, NULL, 0};
  check(weft_compile_file("x.weft", &bad_size, &p) == WEFT_E_ARG, "compile: options without their size");

  const char *bad = write_program("bad.weft", "fn main() -> int {\n  let x: int = \"a\"\n  x\n}\n");
  check(weft_compile_file(bad, NULL, &p) == WEFT_E_COMPILE && p, "compile: errors give WEFT_E_COMPILE and the program");
  uint32_t errors = 0;
  check(weft_program_diagnostics(p, &errors) >= 1 && errors >= 1, "compile: the diagnostics are counted");
  check(strstr(weft_program_diagnostics_text(p), "error[E") != NULL, "compile: the diagnostics are rendered");
  weft_module *m = (weft_module *)1;
  check(weft_program_module(p, &m) == WEFT_E_COMPILE && m == NULL, "a program with errors has no module");
  check(weft_program_errmsg(p)[0] != '\0', "the program says why");
  weft_program_free(p);
  weft_program_free(NULL);
  check(weft_program_diagnostics(NULL, &errors) == 0 && errors == 0, "diagnostics of NULL: none");
  check(weft_program_module(NULL, &m) == WEFT_E_ARG, "module of NULL program");

  /* modules */
  char *msg = NULL;
  check(weft_module_load("garbage", 7, &m, &msg) == WEFT_E_MODULE && m == NULL && msg, "load: not a module");
  free(msg);
  check(weft_module_load(NULL, 5, &m, NULL) == WEFT_E_ARG, "load: NULL bytes");
  m = module_of("answer.weft", "fn main(n: int = 41) -> int {\n  n + 1\n}\n");
  check(m != NULL, "a program's module");
  void *bytes = NULL;
  size_t len = 0;
  check(weft_module_write(m, &bytes, &len) == WEFT_OK && len > 12, "the module's image");
  unsigned char *newer = malloc(len);
  memcpy(newer, bytes, len);
  newer[8] = (unsigned char)(weft_format_version() + 1);
  weft_module *m2 = NULL;
  check(weft_module_load(newer, len, &m2, &msg) == WEFT_E_MODULE && m2 == NULL, "load: a newer format is refused");
  check(msg && strstr(msg, "version"), "load: the message names the version");
  free(msg);
  memcpy(newer, bytes, len);
  check(weft_module_load(newer, len / 2, &m2, &msg) == WEFT_E_MODULE, "load: a truncated image is refused");
  free(msg);
  check(weft_module_load(bytes, len, &m2, NULL) == WEFT_OK, "load: the image loads again");
  weft_module_free(m2);
  free(newer);
  free(bytes);

  /* sessions: out of order, wrong handles */
  weft_session *s = (weft_session *)1;
  weft_result *r = (weft_result *)1;
  check(weft_session_new(NULL, &s) == WEFT_E_ARG && s == NULL, "session of NULL module");
  check(weft_session_run(NULL, NULL, &r) == WEFT_E_ARG && r == NULL, "run of NULL session");
  check(weft_session_set_limit(NULL, WEFT_LIMIT_FIBERS, 1) == WEFT_E_ARG, "setting on NULL session");
  check(weft_session_cancel(NULL) == WEFT_E_ARG, "cancel of NULL session");
  check(weft_session_new(m, &s) == WEFT_OK, "a session");
  weft_module_free(m); /* the session keeps its own reference */
  check(weft_session_set_limit(s, (weft_limit)99, 1) == WEFT_E_ARG, "unknown limit");
  check(weft_session_set_limit(s, WEFT_LIMIT_MEMORY, -1) == WEFT_E_ARG, "negative limit");
  check(weft_session_set_provider(s, "nowhere") == WEFT_E_CONFIG, "unknown provider");
  check(weft_session_set_model(s, "writer", "mock/x") == WEFT_E_CONFIG, "--model for a role the program lacks");
  check(strstr(weft_session_errmsg(s), "writer") != NULL, "the session says which role");
  check(weft_session_set_effects(s, NULL) == WEFT_E_ARG, "a NULL effects table");
  check(weft_effect_done(s, 7, 1, "x") == WEFT_E_EFFECTS, "an answer to an effect never submitted");
  check(weft_session_run((weft_session *)(void *)s, "{\"n\": \"x\"}", &r) == WEFT_E_INPUT && r == NULL,
        "an input of the wrong type");
  check(weft_session_run(s, NULL, &r) == WEFT_E_STATE, "a session runs once");
  weft_session_free(s);

  m = module_of("answer.weft", "fn main(n: int = 41) -> int {\n  n + 1\n}\n");
  weft_session_new(m, &s);
  check(weft_session_run(s, "{\"n\": 1}", &r) == WEFT_OK && weft_result_ok(r), "a run");
  check(strcmp(weft_result_json(r), "2") == 0, "its result");
  check(strstr(weft_result_stats(r), "\"calls\":0") != NULL, "its statistics");
  check(weft_session_set_limit(s, WEFT_LIMIT_FIBERS, 10) == WEFT_E_STATE, "no setting after the run");
  weft_result *r2 = NULL;
  check(weft_session_run((weft_session *)(void *)r, NULL, &r2) == WEFT_E_STATE && r2 == NULL,
        "a result is not a session");
  weft_result_free(r);
  weft_session_free(s);
  weft_session_free(NULL);
  weft_result_free(NULL);
  check(weft_result_ok(NULL) == 0 && weft_result_json(NULL) && weft_result_error(NULL), "result of NULL");

  /* a failing run, a limit, a module without main */
  weft_session_new(m, &s);
  weft_session_set_limit(s, WEFT_LIMIT_INSTRUCTIONS, 1);
  r = NULL;
  check(weft_session_run(s, NULL, &r) == WEFT_E_RUNTIME && r && !weft_result_ok(r), "a limit fails the run");
  check(strstr(weft_result_error(r), "instruction limit") != NULL, "and says which");
  weft_result_free(r);
  weft_session_free(s);
  weft_module_free(m);
  m = module_of("lib.weft", "fn helper() -> int {\n  1\n}\n");
  weft_session_new(m, &s);
  check(weft_session_run(s, NULL, &r) == WEFT_E_STATE, "a module without main does not run");
  weft_session_free(s);
  weft_module_free(m);

  /* a model call, through the mock provider */
  m = module_of("ask.weft", "role writer { model: \"anthropic/claude-sonnet-4-5\" }\n"
                            "fn main() -> string {\n  ask writer \"hello\"\n}\n");
  check(m != NULL, "a program with a role");
  weft_session_new(m, &s);
  check(weft_session_set_provider(s, "mock") == WEFT_OK, "every role to mock");
  check(weft_session_set_model(s, "writer", "mock/small") == WEFT_OK, "a role's model");
  check(weft_session_set_key(s, "anthropic", "sk-secret", NULL) == WEFT_E_UNSUPPORTED,
        "host keys are refused clearly until providers take them");
  check(strstr(weft_session_errmsg(s), "sk-secret") == NULL, "a key never reaches a message");
  r = NULL;
  check(weft_session_run(s, NULL, &r) == WEFT_OK && weft_result_ok(r), "a mock call");
  check(strstr(weft_result_json(r), "mock reply") != NULL, "its reply");
  check(strstr(weft_result_stats(r), "\"calls\":1") != NULL, "one call counted");
  weft_result_free(r);
  weft_session_free(s);
  weft_module_free(m);

  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) printf("# could not remove %s\n", dir);
  return tap_done();
}
