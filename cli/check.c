/* check.c — weft check FILE|DIR...: diagnostics without running anything. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"


void help_check(FILE *out) {
  fputs("usage: weft check [--format=FORMAT] [--json] [--deny-warnings] [--cost] [--caps]\n"
        "                  [--color=auto|always|never] [--untrusted] [--untrusted-input=NAME]...\n"
        "                  [--models P/M,...] [--allow-import DIR]... FILE|DIR...\n"
        "\n"
        "Checks each program (parse, names, types, static rules) without running\n"
        "it. A directory stands for every .weft file beneath it (sorted; hidden\n"
        "entries and symbolic links to directories are skipped). Diagnostics go\n"
        "to stderr; with --json one JSON document goes to stdout instead:\n"
        "{\"diagnostics\":[...],\"errors\":N,\"warnings\":M,\"omitted\":K}.\n"
        "At most 100 errors and 100 warnings are listed per file; K counts the\n"
        "rest. Messages are cut at 4 KiB.\n"
        "\n",
        out);
  flags_help(out, CMD_CHECK, SEC_MAIN);
  fputs("\n"
        "exit: 0 no errors (warnings allowed unless --deny-warnings), 1 errors,\n"
        "2 usage error or a file that cannot be read\n",
        out);
}

int cmd_check(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_CHECK, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  WeftFiles files = {0};
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_check(stdout);
    goto done;
  }
  if (o.npos == 0) {
    weft_tool_error("check: no file given (usage: weft check [--json] FILE|DIR...)");
    rc = WEFT_EXIT_USAGE;
    goto done;
  }
  if ((rc = expand_paths(o.pos, o.npos, "check", &files)) != WEFT_EXIT_OK) goto done;
  if (o.cost && files.n != 1) {
    weft_tool_error("check: --cost takes exactly one FILE");
    rc = WEFT_EXIT_USAGE;
    goto done;
  }
  if (files.n == 0) { /* only empty directories: nothing is wrong */
    rc = weft_tool_check(NULL, 0,
                         &(weft_check_opts){.format = o.format, .deny_warnings = o.deny_warnings},
                         &(weft_compile_opts){0});
    goto done;
  }
  weft_compile_opts co = {.color = o.run.color, .import_paths = o.run.import_paths,
                          .nimport_paths = o.run.nimport_paths, .untrusted = o.run.untrusted,
                          .limit_models = o.run.limit_models || o.run.untrusted,
                          .models = o.run.allow_models, .nmodels = o.run.nallow_models,
                          .untrusted_inputs = o.run.untrusted_inputs,
                          .nuntrusted_inputs = o.run.nuntrusted_inputs};
  weft_check_opts ck = {.format = o.format, .cost = o.cost, .deny_warnings = o.deny_warnings, .caps = o.caps};
  rc = weft_tool_check((const char *const *)files.v, (int)files.n, &ck, &co);
done:
  files_free(&files);
  opts_free(&o);
  return rc;
}
