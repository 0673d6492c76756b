/* check.c — weft check FILE...: diagnostics without running anything. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

void help_check(FILE *out) {
  fputs("usage: weft check [--json] [--color=auto|always|never] [--cost]\n"
        "                  [--untrusted] [--models P/M,...] [--allow-import DIR]...\n"
        "                  FILE...\n"
        "\n"
        "Checks each program (parse, names, types, static rules) without running\n"
        "it. Diagnostics go to stderr; with --json one JSON document goes to stdout\n"
        "instead: {\"diagnostics\":[...],\"errors\":N,\"warnings\":M,\"omitted\":K}.\n"
        "At most 100 errors and 100 warnings are listed per file; K counts the\n"
        "rest. Messages are cut at 4 KiB.\n"
        "\n",
        out);
  flags_help(out, CMD_CHECK, SEC_MAIN);
  fputs("\n"
        "exit: 0 no errors (warnings allowed), 1 errors, 2 usage error or a file\n"
        "that cannot be read\n",
        out);
}

int cmd_check(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_CHECK, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_check(stdout);
  } else if (o.npos == 0) {
    weft_tool_error("check: no file given (usage: weft check [--json] FILE...)");
    rc = WEFT_EXIT_USAGE;
  } else if (o.cost && o.npos != 1) {
    weft_tool_error("check: --cost takes exactly one FILE");
    rc = WEFT_EXIT_USAGE;
  } else {
    weft_compile_opts co = {.color = o.run.color, .import_paths = o.run.import_paths,
                            .nimport_paths = o.run.nimport_paths, .untrusted = o.run.untrusted,
                            .limit_models = o.run.limit_models || o.run.untrusted,
                            .models = o.run.allow_models, .nmodels = o.run.nallow_models};
    rc = weft_tool_check(o.pos, o.npos, o.run.json, o.cost, &co);
  }
  opts_free(&o);
  return rc;
}
