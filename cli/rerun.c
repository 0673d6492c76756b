/* rerun.c — what weft resume and weft replay share: the command line is
 * read twice, first for the run and the journal, then over the run's
 * recorded flags, so that its own flags win. */
#include <stdlib.h>
#include <string.h>

#include "../include/weft_tools.h"
#include "commands.h"
#include "flags.h"
#include "rerun.h"

int rerun(int argc, char **argv, unsigned cmd) {
  weft_run_kind kind = cmd == CMD_RESUME ? WEFT_RUN_RESUME : WEFT_RUN_REPLAY;
  /* parsing cuts values in place: the first pass reads a copy */
  char **copy = calloc((size_t)argc + 1, sizeof *copy);
  if (!copy) return WEFT_EXIT_FAIL;
  for (int i = 0; i < argc; i++) copy[i] = strdup(argv[i]);
  Opts first, o;
  opts_init(&first, (Cmd)cmd, argc);
  opts_init(&o, (Cmd)cmd, argc);
  weft_rerun *r = NULL;
  int rc = flags_parse(&first, argc, copy, 1, false);
  if (rc != WEFT_EXIT_OK || first.help) {
    if (first.help) (cmd == CMD_RESUME ? help_resume : help_replay)(stdout);
    goto out;
  }
  if (first.npos > 1) {
    weft_tool_error("%s: one run at most ('%s' and '%s')", cmd_name((Cmd)cmd), first.pos[0], first.pos[1]);
    rc = WEFT_EXIT_USAGE;
    goto out;
  }
  first.run.file = first.npos ? first.pos[0] : NULL;
  r = weft_tool_rerun_open(&first.run, kind, &rc);
  if (!r) goto out;
  rc = flags_apply_recorded(&o, r);
  if (rc == WEFT_EXIT_OK) rc = flags_parse(&o, argc, argv, 1, true);
  if (rc == WEFT_EXIT_OK) rc = weft_tool_rerun_start(r, &o.run);
out:
  weft_tool_rerun_free(r);
  opts_free(&first);
  opts_free(&o);
  for (int i = 0; i < argc; i++) free(copy[i]);
  free(copy);
  return rc;
}
