/* show.c — weft show RUN: a run's header and tree of fibers and effects. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

void help_show(FILE *out) {
  fputs("usage: weft show RUN [--journal PATH] [--json]\n"
        "\n"
        "Shows run RUN (its id, or last): program, status, module hash, inputs,\n"
        "times, calls, tokens, cost and result or error, then the tree of its\n"
        "fibers, fan-outs and effects with each one's status, role and model,\n"
        "tokens, cost, duration and attempts.\n"
        "\n",
        out);
  flags_help(out, CMD_SHOW, SEC_MAIN);
  fputs("\n"
        "exit: 0 shown, 2 usage error, unknown run or unreadable journal\n",
        out);
}

int cmd_show(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_SHOW, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_show(stdout);
  } else if (o.npos > 1) {
    weft_tool_error("show: unexpected argument '%s' (see 'weft help show')", o.pos[1]);
    rc = WEFT_EXIT_USAGE;
  } else if (o.npos == 0) {
    weft_tool_error("show: no run given (usage: weft show RUN, RUN a number from `weft runs` or last)");
    rc = WEFT_EXIT_USAGE;
  } else {
    rc = weft_tool_show(o.run.journal_path, o.pos[0], o.run.json);
  }
  opts_free(&o);
  return rc;
}
