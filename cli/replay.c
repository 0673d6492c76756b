/* replay.c — weft replay RUN [--check]: a recorded run again, offline. */
#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"
#include "rerun.h"

void help_replay(FILE *out) {
  fputs("usage: weft replay RUN [--journal PATH] [--check] [--program FILE] [RUN FLAGS]\n"
        "\n"
        "Runs a recorded run again fully offline: every model call, sleep and clock\n"
        "reading is answered from the journal, failures included, and nothing is\n"
        "written. The\n"
        "program is the run's program file as it is now (so a workflow can be\n"
        "edited and checked against the recorded replies), or --program FILE; when\n"
        "the file is gone, the module recorded in the journal. A call the journal\n"
        "has no record of, or whose prompt, model or reply type changed, fails the\n"
        "replay with a message naming it.\n"
        "\n"
        "RUN FLAGS are flags of `weft run` that override the recorded ones; a run\n"
        "started with --prices needs --prices FILE again. --allow-import is never\n"
        "taken from the journal. A run started with --untrusted is replayed\n"
        "untrusted, from source only.\n"
        "\n",
        out);
  help_run_sections(out, CMD_REPLAY);
  fputs("\n"
        "exit: 0 the replay succeeded (and, with --check, matched), 1 it failed or\n"
        "differs, 2 usage error, unknown run or unusable journal\n",
        out);
}

int cmd_replay(int argc, char **argv) { return rerun(argc, argv, CMD_REPLAY); }
