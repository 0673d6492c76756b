/* run.c — weft run FILE: compile or load a program and run main. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

void help_run_sections(FILE *out, unsigned cmd) {
  fputs("untrusted programs (docs/security.md, \"Untrusted programs\"):\n", out);
  flags_help(out, (Cmd)cmd, SEC_TRUST);
  fputs("\n"
        "limits (a program that exceeds one fails with a clean error, exit 1):\n",
        out);
  flags_help(out, (Cmd)cmd, SEC_LIMITS);
  fputs("\n"
        "model calls (roles: provider/model; keys from ANTHROPIC_API_KEY,\n"
        "OPENAI_API_KEY; endpoints from ANTHROPIC_BASE_URL, OPENAI_BASE_URL):\n",
        out);
  flags_help(out, (Cmd)cmd, SEC_MODEL);
  fputs("\n"
        "durable runs (docs/durable.md):\n",
        out);
  flags_help(out, (Cmd)cmd, SEC_DURABLE);
}

void help_run(FILE *out) {
  fputs("usage: weft run FILE [--input FILE.json] [--arg NAME=VALUE]... [--untrusted]\n"
        "                [LIMITS] [MODEL CALLS] [--json] [--quiet]\n"
        "\n"
        "Runs main() of FILE, a .weft source or a .weftc module (recognised by its\n"
        "contents, not its name). main's parameters are the program's inputs:\n"
        "\n",
        out);
  flags_help(out, CMD_RUN, SEC_INPUTS);
  fputs("\n"
        "Every input is checked against the declared type before anything runs;\n"
        "parameters with a default may be left out.\n"
        "\n",
        out);
  help_run_sections(out, CMD_RUN);
  fputs("\n"
        "Every run is journaled: its id goes to stderr (weft: run 7 (journal ...)),\n"
        "and `weft resume 7` finishes it after a crash without repeating a finished\n"
        "model call.\n"
        "\n"
        "On success the result of main is printed on stdout as compact JSON (nothing\n"
        "when main returns no value). On failure `error: MESSAGE` and the stack\n"
        "trace go to stderr. After a run that made model calls, one summary line\n"
        "(calls, retries, repairs, tokens, cost, time) goes to stderr.\n"
        "\n"
        "exit: 0 success, 1 compile errors or runtime error, 2 usage error or\n"
        "invalid input\n",
        out);
}

int cmd_run(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_RUN, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_run(stdout);
  } else if (o.npos > 1) {
    weft_tool_error("run: more than one file given ('%s' and '%s')", o.pos[0], o.pos[1]);
    rc = WEFT_EXIT_USAGE;
  } else if (o.npos == 0) {
    weft_tool_error("run: no file given (usage: weft run FILE [--arg NAME=VALUE]...)");
    rc = WEFT_EXIT_USAGE;
  } else {
    o.run.file = o.pos[0];
    rc = weft_tool_run(&o.run);
  }
  opts_free(&o);
  return rc;
}
