/* rerun.h — resume and replay (cli/rerun.c). */
#ifndef WEFT_CLI_RERUN_H
#define WEFT_CLI_RERUN_H

/* weft resume / weft replay for cmd CMD_RESUME or CMD_REPLAY. */
int rerun(int argc, char **argv, unsigned cmd);

#endif
