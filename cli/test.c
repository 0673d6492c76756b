/* test.c — weft test [PATH...]: the regression tests of workflows
 * (*.test.json), run offline. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

void help_test(FILE *out) {
  fputs("usage: weft test [--format=text|tap|junit] [--update] [--quiet] [PATH...]\n"
        "\n"
        "Runs the tests of each test file: a PATH that is a directory stands for\n"
        "every *.test.json file beneath it (sorted; hidden entries and symbolic\n"
        "links to directories are skipped); no PATH is the current directory.\n"
        "A test file holds one test or a list of tests, each naming a program,\n"
        "its inputs, what answers its model calls (a mock script, which must\n"
        "answer every call, or a cassette) and what the run must come to: its\n"
        "result, its error, its calls, tokens, cost, roles and models\n"
        "(docs/testing.md, \"Testing workflows with weft test\"). Tests run in\n"
        "this process through the same session as `weft run`, never journaled,\n"
        "and never reach the network unless --update re-records a cassette.\n"
        "A failed test shows what differed: a unified diff of the expected and\n"
        "the actual result, the error and the address of the call that failed,\n"
        "and the run's own messages (diagnostics of a program that does not\n"
        "compile).\n"
        "\n",
        out);
  flags_help(out, CMD_TEST, SEC_MAIN);
  fputs("\n"
        "exit: 0 every test passed, 1 a test failed, 2 usage error or a test\n"
        "file that cannot be read or is malformed (then no test runs)\n",
        out);
}

int cmd_test(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_TEST, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  WeftFiles files = {0};
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_test(stdout);
    goto done;
  }
  static const char *const here[] = {"."};
  const char *const *pos = o.npos ? o.pos : here;
  if ((rc = expand_paths_suffix(pos, o.npos ? o.npos : 1, "test", ".test.json", &files)) != WEFT_EXIT_OK)
    goto done;
  weft_test_opts to = {.format = (weft_test_format)o.test_format, .update = o.update, .quiet = o.run.quiet};
  rc = weft_tool_test((const char *const *)files.v, (int)files.n, &to);
done:
  files_free(&files);
  opts_free(&o);
  return rc;
}
