/* commands.c — the table of commands: main.c dispatches through it, and
 * `weft help` lists it. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

const Command COMMANDS[] = {
    {"check", "check programs for errors without running them", cmd_check, help_check},
    {"run", "run a program (source or .weftc module)", cmd_run, help_run},
    {"do", "have a model write a workflow for a task; check, show and run it", cmd_do, help_do},
    {"build", "compile a program to a .weftc module", cmd_build, help_build},
    {"disasm", "print the bytecode of a program or module", cmd_disasm, help_disasm},
    {"graph", "draw a workflow's structure (Graphviz DOT or Mermaid)", cmd_graph, help_graph},
    {"fmt", "print or rewrite programs in the canonical layout", cmd_fmt, help_fmt},
    {"resume", "finish an interrupted or failed run from its journal", cmd_resume, help_resume},
    {"replay", "run a recorded run again offline (--check: compare results)", cmd_replay, help_replay},
    {"runs", "list the journaled runs", cmd_runs, help_runs},
    {"show", "show a run's fibers and effects", cmd_show, help_show},
    {"save", "keep the program a model wrote in a run as a template (and a test)", cmd_save, help_save},
    {"trace", "print a run's events, or write its timeline page (--html)", cmd_trace, help_trace},
    {"test", "run the *.test.json regression tests of workflows, offline", cmd_test, help_test},
    {"guide", "print the language reference written for models", cmd_guide, help_guide},
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
