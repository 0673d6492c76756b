/* build.c — weft build FILE [-o OUT.weftc]: compile to a module file. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

void help_build(FILE *out) {
  fputs("usage: weft build FILE [-o OUT.weftc] [--allow-import DIR]...\n"
        "\n"
        "Compiles FILE and everything it imports into one bytecode module. The\n"
        "default output is FILE with the extension .weftc.\n"
        "\n",
        out);
  flags_help(out, CMD_BUILD, SEC_MAIN);
  flags_help(out, CMD_BUILD, SEC_LIMITS);
  fputs("\n"
        "exit: 0 written, 1 compile errors or write failure, 2 usage error\n",
        out);
}

int cmd_build(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_BUILD, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_build(stdout);
  } else if (o.npos > 1) {
    weft_tool_error("build: more than one file given ('%s' and '%s')", o.pos[0], o.pos[1]);
    rc = WEFT_EXIT_USAGE;
  } else if (o.npos == 0) {
    weft_tool_error("build: no file given (usage: weft build FILE -o OUT.weftc)");
    rc = WEFT_EXIT_USAGE;
  } else {
    weft_compile_opts co = {.color = o.run.color, .import_paths = o.run.import_paths,
                            .nimport_paths = o.run.nimport_paths};
    rc = weft_tool_build(o.pos[0], o.out, &co);
  }
  opts_free(&o);
  return rc;
}
