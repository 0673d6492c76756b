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
