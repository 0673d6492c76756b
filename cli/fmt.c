/* fmt.c — weft fmt [--check | -w] FILE|DIR|-...: the canonical layout. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

#include <string.h>

void help_fmt(FILE *out) {
  fputs("usage: weft fmt [--check | -w] FILE|DIR|-...\n"
        "\n"
        "Prints each program in the one canonical layout (docs/cli.md, \"weft\n"
        "fmt\"): indentation, spaces between tokens, blank lines; comments and\n"
        "/// docs are kept, and only whitespace changes, so the program compiles\n"
        "to exactly what it did. A directory stands for every .weft file beneath\n"
        "it; - reads standard input and writes standard output. A file that does\n"
        "not parse is left as it is, with its diagnostics.\n"
        "\n",
        out);
  flags_help(out, CMD_FMT, SEC_MAIN);
  fputs("\n"
        "exit: 0 formatted (--check: nothing to change), 1 --check found a file\n"
        "to format or a file does not parse, 2 usage error or an unreadable file\n",
        out);
}

int cmd_fmt(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_FMT, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  WeftFiles files = {0};
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_fmt(stdout);
  } else if (o.npos == 0) {
    weft_tool_error("fmt: no file given (usage: weft fmt [--check | -w] FILE|DIR|-...)");
    rc = WEFT_EXIT_USAGE;
  } else if (o.fmt_write && o.fmt_check) {
    weft_tool_error("fmt: --check and -w do not go together");
    rc = WEFT_EXIT_USAGE;
  } else if ((rc = expand_paths(o.pos, o.npos, "fmt", &files)) == WEFT_EXIT_OK) {
    rc = weft_tool_fmt((const char *const *)files.v, (int)files.n, o.fmt_write, o.fmt_check);
  }
  files_free(&files);
  opts_free(&o);
  return rc;
}
