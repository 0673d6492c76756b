/* guide.c — weft guide: the language reference written for models, and
 * for the people who write a planner's system prompt. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

void help_guide(FILE *out) {
  fputs("usage: weft guide [--section NAME | --list] [--json]\n"
        "\n"
        "Prints a compact reference of Weft written to go into a model's\n"
        "context: the grammar in brief, every construct with an example that\n"
        "compiles, the type system, the standard library's signatures (taken\n"
        "from the binary itself), the patterns, the common mistakes with their\n"
        "diagnostic codes, and the signature of a generated workflow:\n"
        "fn main(task: string, input: json) -> string.\n"
        "\n",
        out);
  flags_help(out, CMD_GUIDE, SEC_MAIN);
  fputs("\n"
        "exit: 0 printed, 2 usage error (an unknown section or flag)\n",
        out);
}

int cmd_guide(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_GUIDE, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_guide(stdout);
  } else if (o.npos != 0) {
    weft_tool_error("guide: takes no file (usage: weft guide [--section NAME | --list] [--json])");
    rc = WEFT_EXIT_USAGE;
  } else {
    weft_guide_opts g = {.section = o.section, .list = o.list, .json = o.run.json};
    rc = weft_tool_guide(&g);
  }
  opts_free(&o);
  return rc;
}
