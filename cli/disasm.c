/* disasm.c — weft disasm FILE: the listing of a program or module. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

void help_disasm(FILE *out) {
  fputs("usage: weft disasm FILE [--allow-import DIR]...\n"
        "\n"
        "Prints a listing of every function of FILE (a .weft source, which is\n"
        "compiled first, or a .weftc module) on stdout.\n"
        "\n",
        out);
  flags_help(out, CMD_DISASM, SEC_LIMITS);
  fputs("\n"
        "exit: 0 printed, 1 compile errors or a module that does not load,\n"
        "2 usage error\n",
        out);
}

int cmd_disasm(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_DISASM, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_disasm(stdout);
  } else if (o.npos > 1) {
    weft_tool_error("disasm: more than one file given ('%s' and '%s')", o.pos[0], o.pos[1]);
    rc = WEFT_EXIT_USAGE;
  } else if (o.npos == 0) {
    weft_tool_error("disasm: no file given (usage: weft disasm FILE)");
    rc = WEFT_EXIT_USAGE;
  } else {
    weft_compile_opts co = {.color = o.run.color, .import_paths = o.run.import_paths,
                            .nimport_paths = o.run.nimport_paths};
    rc = weft_tool_disasm(o.pos[0], &co);
  }
  opts_free(&o);
  return rc;
}
