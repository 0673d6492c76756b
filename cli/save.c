/* save.c — weft save RUN FILE.weft: keep a program a model wrote as a
 * template (and, with --test, a regression test of the run). */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

void help_save(FILE *out) {
  fputs("usage: weft save RUN FILE.weft [--test] [--at ADDRESS] [--force] [--journal PATH]\n"
        "\n"
        "Writes the program a model wrote during run RUN (weft do, or a\n"
        "`generate` in a program) to FILE.weft, exactly as it ran: in the\n"
        "canonical layout, headed by the task it was written for. Review it,\n"
        "commit it, and run it with `weft run` from then on. With --test, also\n"
        "FILE.test.json and FILE.cassette.json: a `weft test` case with the\n"
        "run's inputs, its recorded model calls and its result.\n"
        "\n",
        out);
  flags_help(out, CMD_SAVE, SEC_MAIN);
  fputs("\n"
        "exit: 0 saved, 1 a file could not be written, 2 usage error (no such\n"
        "run, no generated program, a file exists)\n",
        out);
}

int cmd_save(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_SAVE, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_save(stdout);
  } else if (o.npos != 2) {
    weft_tool_error("save: give a run and a file (usage: weft save RUN FILE.weft [--test])");
    rc = WEFT_EXIT_USAGE;
  } else {
    rc = weft_tool_save(o.run.journal_path, o.pos[0], o.pos[1], &o.save);
  }
  opts_free(&o);
  return rc;
}
