/* flags.h — the one table of the `weft` command's flags (cli/flags.c).
 *
 * Each flag is listed once, with the commands that take it, how a value
 * is given, its help text, and whether a run records it for `weft
 * resume` and `weft replay` to apply again. The same table parses every
 * command line, prints the flag lines of every command's help, and
 * decides what the journal keeps and what a resume accepts from it, so
 * the three cannot disagree. */
#ifndef WEFT_CLI_FLAGS_H
#define WEFT_CLI_FLAGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "../include/weft_tools.h"

/* The commands, as bits of a flag's `commands`. */
typedef enum Cmd {
  CMD_CHECK = 1 << 0, CMD_RUN = 1 << 1, CMD_BUILD = 1 << 2, CMD_DISASM = 1 << 3,
  CMD_RESUME = 1 << 4, CMD_REPLAY = 1 << 5, CMD_RUNS = 1 << 6, CMD_SHOW = 1 << 7,
  CMD_TRACE = 1 << 8, CMD_GRAPH = 1 << 9, CMD_FMT = 1 << 10,
  CMD_TEST = 1 << 11, CMD_GUIDE = 1 << 12, CMD_DO = 1 << 13, CMD_SAVE = 1 << 14
} Cmd;
#define CMD_RUNLIKE (CMD_RUN | CMD_RESUME | CMD_REPLAY | CMD_DO)

/* What a run records of a flag, for a resume or replay to apply again. */
typedef enum Reuse {
  REUSE_NO,     /* belongs to one command line (outputs, inputs, display) */
  REUSE_YES,    /* recorded as "--name=value" and applied again */
  REUSE_NAME    /* a file: only "--name" is recorded; a resume needs it named again */
} Reuse;

/* Where a flag's help line goes in a command's help. */
typedef enum Section {
  SEC_MAIN, SEC_INPUTS, SEC_TRUST, SEC_LIMITS, SEC_MODEL, SEC_DURABLE
} Section;

/* Everything one command line gives. */
typedef struct Opts {
  Cmd cmd;
  weft_run_opts run;            /* run, resume, replay; color, import paths, json, journal for all */
  const char **pos; int npos;   /* positional arguments (files, a run id) */
  const char *out, *html;       /* build -o, trace --html */
  bool cost;                    /* check --cost */
  bool caps;                    /* check --caps */
  int format;                   /* check --format (weft_check_format); --json is json */
  bool mermaid;                 /* graph --mermaid */
  bool fmt_write, fmt_check;    /* fmt -w, fmt --check */
  bool deny_warnings;           /* check --deny-warnings */
  int test_format;              /* test --format (weft_test_format) */
  bool update;                  /* test --update */
  const char *section;          /* guide --section */
  bool list;                    /* guide --list */
  weft_do_opts todo;            /* do: --planner, --yes, --plan-only */
  weft_save_opts save;          /* save: --at, --test, --force */
  uint32_t cap_read_untrusted;  /* --allow-read-untrusted */
  uint32_t cap_trusted_progs;   /* --allow-run=PROG:trusted */
  bool help;                    /* --help / -h was given: print the help, exit 0 */
  const char *spelling;         /* the flag being set, as typed ("--import-path"), for messages */
  uint32_t cap_args, cap_models, cap_recorded, cap_imports, cap_allow, cap_untrusted_inputs;
  uint32_t cap_grant[5];        /* --allow-read, -write, -run, -net, -env */
} Opts;

struct Flag;
typedef bool (*FlagSet)(Opts *o, const struct Flag *f, char *value);

typedef struct Flag {
  const char *name;             /* "--max-memory" */
  const char *alias;            /* another spelling ("--output" for -o), or NULL */
  const char *value;            /* the value's name in the help ("SIZE"); NULL: a switch */
  bool eq_form;                 /* the help shows "--name=VALUE" */
  unsigned commands;            /* Cmd bits of the commands that take it */
  Reuse reuse;
  Section section;
  FlagSet set;
  const char *help;             /* its help text; '\n' starts a continuation line */
} Flag;

extern const Flag FLAGS[];
extern const unsigned NFLAGS;

void opts_init(Opts *o, Cmd cmd, int argc);
void opts_free(Opts *o);

/* Parses argv[first..argc) for o->cmd. recorded: the flags come from a
 * journal (they are not recorded again). Returns WEFT_EXIT_OK, or
 * WEFT_EXIT_USAGE after a message. Stops at --help (o->help). */
int flags_parse(Opts *o, int argc, char **argv, int first, bool recorded);

/* Applies a run's recorded flags (a resume or replay): each must be a
 * flag the table marks as recorded; a file flag only marks that the
 * operator must name it again. WEFT_EXIT_USAGE after a message. */
int flags_apply_recorded(Opts *o, weft_rerun *r);

/* The flag lines of cmd's help in section sec, "  --name VALUE  help". */
void flags_help(FILE *out, Cmd cmd, Section sec);
/* The command's name ("run"). */
const char *cmd_name(Cmd cmd);

#endif
