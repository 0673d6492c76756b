/* trace.c — weft trace RUN: a run's events, or its timeline page. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

void help_trace(FILE *out) {
  fputs("usage: weft trace RUN [--journal PATH] [--html OUT.html]\n"
        "\n"
        "Prints the events of run RUN (its id, or last) as JSON lines, the lines\n"
        "`weft run --trace FILE.jsonl` writes. With --html, writes instead one\n"
        "self-contained page with the run's timeline: a row per fiber, a bar per\n"
        "effect, prompt and reply on hover.\n"
        "\n",
        out);
  flags_help(out, CMD_TRACE, SEC_MAIN);
  fputs("\n"
        "exit: 0 printed, 2 usage error, unknown run, unreadable journal or an\n"
        "OUT.html that cannot be written\n",
        out);
}

int cmd_trace(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_TRACE, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_trace(stdout);
  } else if (o.npos > 1) {
    weft_tool_error("trace: unexpected argument '%s' (see 'weft help trace')", o.pos[1]);
    rc = WEFT_EXIT_USAGE;
  } else if (o.npos == 0) {
    weft_tool_error("trace: no run given (usage: weft trace RUN, RUN a number from `weft runs` or last)");
    rc = WEFT_EXIT_USAGE;
  } else {
    rc = weft_tool_trace(o.run.journal_path, o.pos[0], o.html);
  }
  opts_free(&o);
  return rc;
}
