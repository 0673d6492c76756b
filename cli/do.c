/* do.c — weft do "TASK": a model writes the workflow, weft checks,
 * repairs, shows and runs it untrusted. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

void help_do(FILE *out) {
  fputs("usage: weft do \"TASK\" [--input FILE] [--planner P/MODEL] [--yes | --plan-only]\n"
        "               [GRANTS] [LIMITS] [MODEL CALLS]\n"
        "\n"
        "A planner model writes a program for TASK with the signature\n"
        "\n"
        "    fn main(task: string, input: json) -> string\n"
        "\n"
        "from the reference `weft guide` prints, the models it may name\n"
        "(--models), the capabilities granted and the budget. weft compiles\n"
        "it as an untrusted program and sends the diagnostics back for repair\n"
        "(at most --repairs rounds, default 3). Then the plan is shown: the\n"
        "program, its structure, the bound on its model calls and what it may\n"
        "touch. On a terminal you are asked before it runs; --yes runs it\n"
        "without asking; --plan-only prints the plan on stdout and stops;\n"
        "without a terminal and without --yes nothing runs (exit 2). The run\n"
        "is journaled with the program, so `weft resume` never plans again,\n"
        "and `weft save RUN FILE.weft` keeps it as a template.\n"
        "\n",
        out);
  flags_help(out, CMD_DO, SEC_INPUTS);
  fputs("\n", out);
  help_run_sections(out, CMD_DO);
  fputs("\n"
        "A generated program always runs as --untrusted does (docs/security.md,\n"
        "\"Untrusted programs\"): std imports only, the --models allowlist,\n"
        "lower limits, a budget, capabilities only as granted here.\n"
        "\n"
        "exit: 0 ran (or --plan-only planned), 1 the planner wrote nothing that\n"
        "compiles, or the program failed, 2 usage error, or not run: no\n"
        "terminal to ask on and no --yes\n",
        out);
}

int cmd_do(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_DO, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_do(stdout);
  } else if (o.npos != 1) {
    weft_tool_error("do: give the task as one argument (usage: weft do \"TASK\" [--input FILE] ...)");
    rc = WEFT_EXIT_USAGE;
  } else if (o.run.yes && o.todo.plan_only) {
    weft_tool_error("do: --yes and --plan-only contradict each other; give one");
    rc = WEFT_EXIT_USAGE;
  } else {
    o.todo.task = o.pos[0];
    rc = weft_tool_do(&o.run, &o.todo);
  }
  opts_free(&o);
  return rc;
}
