/* help.c — weft help [COMMAND]. */
#include <string.h>

#include "../include/weft_tools.h"
#include "commands.h"

void help_help(FILE *out) {
  fputs("usage: weft help [COMMAND]\n"
        "\n"
        "Shows the list of commands, or the help of one command.\n",
        out);
}

int cmd_help(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stdout);
    return WEFT_EXIT_OK;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    help_help(stdout);
    return WEFT_EXIT_OK;
  }
  if (argc > 2) {
    weft_tool_error("help: one command at most (usage: weft help [COMMAND])");
    return WEFT_EXIT_USAGE;
  }
  const Command *c = find_command(argv[1]);
  if (!c) {
    weft_tool_error("help: unknown command '%s' (see 'weft help')", argv[1]);
    return WEFT_EXIT_USAGE;
  }
  c->help(stdout);
  return WEFT_EXIT_OK;
}
