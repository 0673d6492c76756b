/* runs.c — weft runs: the journaled runs, one line each. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

void help_runs(FILE *out) {
  fputs("usage: weft runs [--journal PATH] [--json]\n"
        "\n"
        "Lists the runs in the journal, oldest first:\n"
        "ID, STATUS (ok, failed, running, or interrupted: running but held by no\n"
        "process, so `weft resume` can finish it), CALLS, TOKENS (in + out),\n"
        "COST, DURATION, STARTED (local time) and PROGRAM.\n"
        "\n",
        out);
  flags_help(out, CMD_RUNS, SEC_MAIN);
  fputs("\n"
        "exit: 0 listed, 2 usage error or a journal that cannot be read\n",
        out);
}

int cmd_runs(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_RUNS, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_runs(stdout);
  } else if (o.npos) {
    weft_tool_error("runs: unexpected argument '%s' (see 'weft help runs')", o.pos[0]);
    rc = WEFT_EXIT_USAGE;
  } else {
    rc = weft_tool_runs(o.run.journal_path, o.run.json);
  }
  opts_free(&o);
  return rc;
}
