/* test_cli_flags.c — the flag table of the `weft` command (cli/flags.c)
 * against what is printed and written about it: the help of every
 * command lists exactly the flags the table gives that command, every
 * flag has a help text and a unique spelling per command, and the flags
 * the table marks as recorded for a resume are exactly the list in
 * docs/durable.md ("Recorded flags"). TAP output (tap.h). */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "../../cli/commands.h"
#include "../../cli/flags.h"

#include <stdio.h>
#include "tap.h"
#include <stdlib.h>
#include <string.h>

#ifndef WEFT_SRCDIR
#define WEFT_SRCDIR "."
#endif

#define check(cond, desc) ok((cond), "%s", (desc))

static const Cmd ALL[] = {CMD_CHECK, CMD_RUN, CMD_BUILD, CMD_DISASM, CMD_RESUME,
                          CMD_REPLAY, CMD_RUNS, CMD_SHOW, CMD_TRACE, CMD_GUIDE};

/* Calls fn for every spelling on the flag lines of help: a line
 * "  -o, --output OUT.weftc  ..." gives "-o" and "--output". */
typedef int (*SpellingFn)(const char *s, size_t n, void *ud);
static int each_spelling(const char *help, SpellingFn fn, void *ud) {
  for (const char *line = help; *line;) {
    size_t len = strcspn(line, "\n");
    if (strncmp(line, "  -", 3) == 0) {
      const char *p = line + 2, *stop = strstr(p, "  ");
      if (!stop || stop > line + len) stop = line + len;
      while (p < stop) {
        size_t n = strcspn(p, " ,=\n");
        if (fn(p, n, ud)) return 1;
        p += n;
        if (strncmp(p, ", -", 3) != 0) break;
        p += 2;
      }
    }
    line += len;
    if (*line) line++;
  }
  return 0;
}

static int same_spelling(const char *s, size_t n, void *ud) {
  return strlen(ud) == n && strncmp(s, ud, n) == 0;
}

/* Whether the flag lines of help list spelling name. */
static int listed(const char *help, const char *name) { return each_spelling(help, same_spelling, (void *)name); }

typedef struct NotInTable { Cmd cmd; char *bad; size_t badlen; } NotInTable;
static int not_in_table(const char *s, size_t n, void *ud) {
  NotInTable *t = ud;
  for (unsigned k = 0; k < NFLAGS; k++) {
    const Flag *f = &FLAGS[k];
    if (!(f->commands & t->cmd)) continue;
    if ((strlen(f->name) == n && strncmp(f->name, s, n) == 0) ||
        (f->alias && strlen(f->alias) == n && strncmp(f->alias, s, n) == 0))
      return 0;
  }
  snprintf(t->bad, t->badlen, "%.*s", (int)n, s);
  return 1;
}

/* Every spelling on the flag lines is a row of the table for cmd. */
static int every_line_in_table(const char *help, Cmd cmd, char *bad, size_t badlen) {
  NotInTable t = {cmd, bad, badlen};
  return !each_spelling(help, not_in_table, &t);
}

static char *help_of(Cmd cmd) {
  const Command *c = find_command(cmd_name(cmd));
  char *text = NULL;
  size_t len = 0;
  FILE *mf = open_memstream(&text, &len);
  if (!c || !mf) return NULL;
  c->help(mf);
  fclose(mf);
  return text;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = calloc(1, 1 << 20);
  size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
  fclose(f);
  if (buf) buf[n] = '\0';
  return buf;
}

int main(void) {
  char desc[256], bad[64];
  for (size_t i = 0; i < sizeof ALL / sizeof ALL[0]; i++) {
    Cmd cmd = ALL[i];
    char *help = help_of(cmd);
    snprintf(desc, sizeof desc, "%s has a help text", cmd_name(cmd));
    check(help != NULL, desc);
    if (!help) continue;
    for (unsigned k = 0; k < NFLAGS; k++) {
      const Flag *f = &FLAGS[k];
      if (!(f->commands & cmd)) continue;
      snprintf(desc, sizeof desc, "weft help %s lists %s", cmd_name(cmd), f->name);
      check(listed(help, f->name), desc);
      if (f->alias) {
        snprintf(desc, sizeof desc, "weft help %s lists %s", cmd_name(cmd), f->alias);
        check(listed(help, f->alias), desc);
      }
    }
    bad[0] = '\0';
    int clean = every_line_in_table(help, cmd, bad, sizeof bad);
    snprintf(desc, sizeof desc, "weft help %s lists no flag the table does not give it%s%s", cmd_name(cmd),
             clean ? "" : ": ", bad);
    check(clean, desc);
    free(help);
  }

  /* one row per spelling and command, each with a help text */
  int dup = 0, nohelp = 0;
  for (unsigned a = 0; a < NFLAGS; a++) {
    if (!FLAGS[a].help || !FLAGS[a].help[0] || !FLAGS[a].set) nohelp++;
    for (unsigned b = a + 1; b < NFLAGS; b++)
      if (strcmp(FLAGS[a].name, FLAGS[b].name) == 0 && (FLAGS[a].commands & FLAGS[b].commands)) dup++;
  }
  check(dup == 0, "no flag has two rows for one command");
  check(nohelp == 0, "every flag has a help text and a setter");

  /* a flag a run records is taken by run, resume and replay alike */
  int partial = 0;
  for (unsigned k = 0; k < NFLAGS; k++)
    if (FLAGS[k].reuse != REUSE_NO && (FLAGS[k].commands & CMD_RUNLIKE) != CMD_RUNLIKE) partial++;
  check(partial == 0, "every recorded flag is a flag of run, resume and replay");

  /* docs/durable.md lists exactly the recorded flags */
  char *doc = slurp(WEFT_SRCDIR "/docs/durable.md");
  check(doc != NULL, "docs/durable.md is readable");
  const char *sec = doc ? strstr(doc, "A run records exactly these flags") : NULL;
  const char *end = sec ? strstr(sec, "Output and input flags") : NULL;
  check(sec && end, "docs/durable.md has the list of recorded flags");
  if (sec && end) {
    for (unsigned k = 0; k < NFLAGS; k++) {
      if (FLAGS[k].reuse != REUSE_YES) continue;
      char want[64];
      snprintf(want, sizeof want, "`%s`", FLAGS[k].name);
      const char *at = strstr(sec, want);
      snprintf(desc, sizeof desc, "docs/durable.md lists %s as recorded", FLAGS[k].name);
      check(at && at < end, desc);
    }
    /* and names nothing else in that sentence */
    int extra = 0;
    for (const char *p = strstr(sec, "`--"); p && p < end; p = strstr(p + 1, "`--")) {
      size_t n = strcspn(p + 1, "`");
      int found = 0;
      for (unsigned k = 0; k < NFLAGS && !found; k++)
        found = FLAGS[k].reuse == REUSE_YES && strlen(FLAGS[k].name) == n && strncmp(FLAGS[k].name, p + 1, n) == 0;
      if (!found) {
        printf("# not recorded by the table: %.*s\n", (int)n, p + 1);
        extra++;
      }
    }
    check(extra == 0, "docs/durable.md lists no flag the table does not record");
  }
  free(doc);

  return tap_done();
}
