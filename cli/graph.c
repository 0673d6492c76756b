/* graph.c — weft graph FILE: the structure of a workflow, as a picture. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"

void help_graph(FILE *out) {
  fputs("usage: weft graph FILE [--mermaid] [--allow-import DIR]...\n"
        "\n"
        "Prints the structure of the workflow in FILE on stdout: its asks (role\n"
        "and model), fan-outs (what they walk, their limit), barriers (their\n"
        "policy), loops (their bound), verify, tournaments and budgets, each\n"
        "function that holds them as a box, and the calls between them. Graphviz\n"
        "DOT by default (weft graph FILE | dot -Tsvg > plan.svg).\n"
        "\n",
        out);
  flags_help(out, CMD_GRAPH, SEC_MAIN);
  flags_help(out, CMD_GRAPH, SEC_LIMITS);
  fputs("\n"
        "exit: 0 printed, 1 compile errors (printed as by weft check),\n"
        "2 usage error or a file that cannot be read\n",
        out);
}

int cmd_graph(int argc, char **argv) {
  Opts o;
  opts_init(&o, CMD_GRAPH, argc);
  int rc = flags_parse(&o, argc, argv, 1, false);
  if (rc != WEFT_EXIT_OK || o.help) {
    if (o.help) help_graph(stdout);
  } else if (o.npos != 1) {
    weft_tool_error(o.npos ? "graph: more than one file given" : "graph: no file given (usage: weft graph FILE)");
    rc = WEFT_EXIT_USAGE;
  } else {
    weft_compile_opts co = {.color = o.run.color, .import_paths = o.run.import_paths,
                            .nimport_paths = o.run.nimport_paths};
    rc = weft_tool_graph(o.pos[0], o.mermaid, &co);
  }
  opts_free(&o);
  return rc;
}
