/* resume.c — weft resume RUN: finish an interrupted or failed run. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"
#include "rerun.h"

void help_resume(FILE *out) {
  fputs("usage: weft resume RUN [--journal PATH] [--force] [--record FILE] [RUN FLAGS]\n"
        "\n"
        "Finishes a run that was interrupted (a crash, kill -9, power loss) or that\n"
        "failed. RUN is a run id from `weft runs`, or last. The program runs again\n"
        "from the start with the run's recorded inputs and flags; every model call\n"
        "and sleep the journal recorded as finished is answered from the journal,\n"
        "without the network, and the rest go out live and are recorded. Calls that\n"
        "failed are sent again.\n"
        "\n"
        "RUN FLAGS are the flags of `weft run` but --input/--arg; they override the\n"
        "recorded ones. --allow-import is never recorded: give it again if the\n"
        "program needs it. A run started with --untrusted is resumed untrusted (no\n"
        "flag takes that back), from its source file only.\n"
        "\n",
        out);
  help_run_sections(out, CMD_RESUME);
  fputs("\n"
        "A run records only flags that are not files: a run started with --prices\n"
        "or --mock-script needs the file named again, and a journal whose recorded\n"
        "flags name an output or a file is refused (docs/durable.md).\n"
        "\n"
        "A run is resumed by one process at a time: a second `weft resume` of the\n"
        "same run (or of a run still running) is refused.\n"
        "\n"
        "exit: as `weft run`; 2 also for an unknown run, a run that already finished,\n"
        "a run in use, a changed program without --force, or a journal that cannot\n"
        "be used\n",
        out);
}

int cmd_resume(int argc, char **argv) { return rerun(argc, argv, CMD_RESUME); }
