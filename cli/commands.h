/* commands.h — the commands of `weft`, one file each (cli/CMD.c), and the
 * table main.c dispatches through and help.c lists. */
#ifndef WEFT_CLI_COMMANDS_H
#define WEFT_CLI_COMMANDS_H

#include <stdio.h>

typedef struct Command {
  const char *name;
  const char *summary;                /* its line in `weft help` */
  int (*run)(int argc, char **argv);  /* argv[0] is the command's name */
  void (*help)(FILE *out);            /* its help text */
} Command;

extern const Command COMMANDS[];
extern const unsigned NCOMMANDS;
const Command *find_command(const char *name);
/* The list of commands (`weft help`, `weft` alone). */
void print_usage(FILE *out);

int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_disasm(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_fmt(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_guide(int argc, char **argv);
int cmd_do(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_help(int argc, char **argv);

void help_check(FILE *out);
void help_run(FILE *out);
void help_build(FILE *out);
void help_disasm(FILE *out);
void help_graph(FILE *out);
void help_fmt(FILE *out);
void help_resume(FILE *out);
void help_replay(FILE *out);
void help_runs(FILE *out);
void help_show(FILE *out);
void help_trace(FILE *out);
void help_test(FILE *out);
void help_guide(FILE *out);
void help_do(FILE *out);
void help_save(FILE *out);
void help_help(FILE *out);
/* The files FILE|DIR arguments stand for (paths.c): a directory is every
 * .weft file beneath it, sorted, hidden entries and symbolic links to
 * directories skipped; "-" and files as given. WEFT_EXIT_USAGE after a
 * message. */
typedef struct WeftFiles { char **v; size_t n, cap; } WeftFiles;
int expand_paths(const char *const *pos, int npos, const char *cmd, WeftFiles *out);
/* The same for the files whose names end in suffix (".test.json"). */
int expand_paths_suffix(const char *const *pos, int npos, const char *cmd, const char *suffix, WeftFiles *out);
void files_free(WeftFiles *f);

/* The flag sections run, resume and replay share (limits, model calls,
 * durable runs), for command cmd (a Cmd bit of cli/flags.h). */
void help_run_sections(FILE *out, unsigned cmd);

#endif
