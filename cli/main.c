/* main.c — the `weft` command: finds the command and hands it the rest of
 * the command line. Exit codes, the same for every command (docs/cli.md):
 *   0  success
 *   1  the program failed (check errors, a runtime error, a module that
 *      does not load or verify)
 *   2  usage errors (unknown command or flag, unreadable file, bad input)
 * Each command is one file (cli/CMD.c) over include/weft_tools.h; every
 * flag is a row of the table in cli/flags.c. */
#include <stdio.h>
#include <string.h>

#include "../include/weft.h"
#include "../include/weft_tools.h"
#include "commands.h"

const Command COMMANDS[] = {
    {"check", "check programs for errors without running them", cmd_check, help_check},
    {"run", "run a program (source or .weftc module)", cmd_run, help_run},
    {"build", "compile a program to a .weftc module", cmd_build, help_build},
    {"disasm", "print the bytecode of a program or module", cmd_disasm, help_disasm},
    {"resume", "finish an interrupted or failed run from its journal", cmd_resume, help_resume},
    {"replay", "run a recorded run again offline (--check: compare results)", cmd_replay, help_replay},
    {"runs", "list the journaled runs", cmd_runs, help_runs},
    {"show", "show a run's fibers and effects", cmd_show, help_show},
    {"trace", "print a run's events, or write its timeline page (--html)", cmd_trace, help_trace},
    {"help", "show help for a command", cmd_help, help_help},
};
const unsigned NCOMMANDS = sizeof COMMANDS / sizeof COMMANDS[0];

const Command *find_command(const char *name) {
  for (unsigned i = 0; i < NCOMMANDS; i++)
    if (strcmp(COMMANDS[i].name, name) == 0) return &COMMANDS[i];
  return NULL;
}

void print_usage(FILE *out) {
  fputs("usage: weft COMMAND [ARGS]\n\ncommands:\n", out);
  for (unsigned i = 0; i < NCOMMANDS; i++) fprintf(out, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
  fputs("\n"
        "  weft --version    print the version\n"
        "  weft help COMMAND or weft COMMAND --help for details.\n"
        "\n"
        "exit codes: 0 success, 1 the program failed (check errors, runtime\n"
        "error), 2 usage error (bad flag, unreadable file, invalid input)\n",
        out);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return WEFT_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0) {
    printf("weft %s (bytecode format %d)\n", weft_version(), weft_format_version());
    return WEFT_EXIT_OK;
  }
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    print_usage(stdout);
    return WEFT_EXIT_OK;
  }
  const Command *c = find_command(cmd);
  if (!c) {
    if (cmd[0] == '-')
      weft_tool_error("unknown flag '%s' (see 'weft help')", cmd);
    else
      weft_tool_error("unknown command '%s' (see 'weft help')", cmd);
    return WEFT_EXIT_USAGE;
  }
  return c->run(argc - 1, argv + 1);
}
