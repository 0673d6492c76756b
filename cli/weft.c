/* weft.c — the `weft` command: argument parsing and sub-commands.
 *
 * This file only turns command lines into calls of the library (compile_file,
 * module_load/write/disasm, vm_run_main, v_convert) and turns their results
 * into output and exit codes. It knows nothing about the internals of any
 * stage. Exit codes, the same for every sub-command:
 *   0  success
 *   1  the program failed (check errors, a runtime error, a module that does
 *      not load or verify)
 *   2  usage errors (unknown command or flag, unreadable file, bad input)
 * docs/cli.md is the reference for everything here. */
#define _XOPEN_SOURCE 700 /* realpath */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../compiler/compiler.h"
#include "../lang/diag.h"
#include "../stdlib/builtins.h"
#include "../vm/module.h"
#include "../vm/json.h"
#include "../vm/opcodes.h"
#include "../runtime/engine.h"
#include "../runtime/host.h"
#include "../runtime/journal.h"
#include "../base/term.h"
#include "../base/util.h"
#include <cjson/cJSON.h>
#include <time.h>
#include "../vm/trace.h"
#include "../vm/value.h"
#include "../vm/vm.h"
#include "cli.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0-dev"
#endif


/* A loaded input file larger than this is refused (inputs, modules). */
#define MAX_INPUT_BYTES ((size_t)1 << 30)

typedef enum ColorMode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER } ColorMode;

/* ---- messages ----------------------------------------------------------- */

/* Every message of the command itself starts with "weft: ", so it cannot be
 * confused with a diagnostic or with the program's own output. Messages
 * echo arguments, paths and journal text, so they are escaped (term.h). */
void errorf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = term_vformat(fmt, ap);
  va_end(ap);
  fprintf(stderr, "weft: %s\n", msg); /* one write: lines stay whole */
  free(msg);
}

/* ---- help texts --------------------------------------------------------- */

typedef struct Command {
  const char *name;
  const char *summary;
  const char *help;
  int (*run)(int argc, char **argv);
} Command;

static const char USAGE[] =
    "usage: weft COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  check    check programs for errors without running them\n"
    "  run      run a program (source or .weftc module)\n"
    "  build    compile a program to a .weftc module\n"
    "  disasm   print the bytecode of a program or module\n"
    "  resume   finish an interrupted or failed run from its journal\n"
    "  replay   run a recorded run again offline (--check: compare results)\n"
    "  runs     list the journaled runs\n"
    "  show     show a run's fibers and effects\n"
    "  trace    print a run's events, or write its timeline page (--html)\n"
    "  help     show help for a command\n"
    "\n"
    "  weft --version    print the version\n"
    "  weft help COMMAND or weft COMMAND --help for details.\n"
    "\n"
    "exit codes: 0 success, 1 the program failed (check errors, runtime\n"
    "error), 2 usage error (bad flag, unreadable file, invalid input)\n";

static const char HELP_CHECK[] =
    "usage: weft check [--json] [--color=auto|always|never] [--cost]\n"
    "                  [--import-path DIR]... FILE...\n"
    "\n"
    "Checks each program (parse, names, types, static rules) without running\n"
    "it. Diagnostics go to stderr; with --json one JSON document goes to stdout\n"
    "instead: {\"diagnostics\":[...],\"errors\":N,\"warnings\":M}.\n"
    "\n"
    "  --json            machine-readable diagnostics on stdout\n"
    "  --cost            print a static upper bound on main's model calls and\n"
    "                    output tokens (one FILE; see docs/cli.md); with --json\n"
    "                    the document gets \"calls\" and \"output_tokens\"\n"
    "  --color=WHEN      colour diagnostics: auto (default: when stderr is a\n"
    "                    terminal and NO_COLOR is unset or empty), always, never\n"
    "  --import-path DIR also let imports resolve beneath DIR (repeatable); by\n"
    "                    default an import resolves only beneath the directory\n"
    "                    of the FILE being checked, to a regular .weft file\n"
    "\n"
    "exit: 0 no errors (warnings allowed), 1 errors, 2 usage error or a file\n"
    "that cannot be read\n";

static const char HELP_RUN[] =
    "usage: weft run FILE [--input FILE.json] [--arg NAME=VALUE]... [LIMITS]\n"
    "                [MODEL CALLS] [--json] [--quiet]\n"
    "\n"
    "Runs main() of FILE, a .weft source or a .weftc module (recognised by its\n"
    "contents, not its name). main's parameters are the program's inputs:\n"
    "\n"
    "  --input FILE.json   a JSON object {\"param\": value, ...} (- reads stdin)\n"
    "  --arg NAME=VALUE    one parameter; overrides --input. VALUE is read as\n"
    "                      JSON when it parses and fits the parameter's type,\n"
    "                      else as a plain string: --arg name=World,\n"
    "                      --arg n=3, --arg 'xs=[1,2]'\n"
    "\n"
    "Every input is checked against the declared type before anything runs;\n"
    "parameters with a default may be left out.\n"
    "\n"
    "limits (a program that exceeds one fails with a clean error, exit 1):\n"
    "  --max-instructions N   instructions and builtin work (default 1000000000)\n"
    "  --max-memory SIZE      heap bytes; suffixes K, M, G (default 1G)\n"
    "  --max-call-depth N     nested calls per fiber (default 10000)\n"
    "  --max-fibers N         live fibers (default 100000)\n"
    "  --color=WHEN           colour of compile diagnostics (see weft check)\n"
    "  --import-path DIR      also let imports resolve beneath DIR (repeatable;\n"
    "                         see weft check); never recorded in the journal\n"
    "\n"
    "model calls (roles: provider/model; keys from ANTHROPIC_API_KEY,\n"
    "OPENAI_API_KEY; endpoints from ANTHROPIC_BASE_URL, OPENAI_BASE_URL):\n"
    "  --provider NAME        send every role to NAME: mock (offline,\n"
    "                         deterministic), or anthropic/openai (keeps the\n"
    "                         model name; for testing)\n"
    "  --model ROLE=P/MODEL   use provider P and MODEL for ROLE (repeatable):\n"
    "                         --model writer=openai/llama3.1\n"
    "  --max-concurrency N    model calls in flight at once (default 64)\n"
    "  --timeout DURATION     per attempt, e.g. 30s, 2m, 500ms (default 10m)\n"
    "  --retries N            transport retries per call (default 2)\n"
    "  --repairs N            re-asks after a reply that does not fit the type\n"
    "                         (default 2)\n"
    "                         these three are ceilings: a role's own setting\n"
    "                         can lower them, never raise them\n"
    "  --mock-script FILE     canned replies for mock calls (docs/cli.md)\n"
    "  --prices FILE          USD per million tokens by provider/model prefix\n"
    "                         (needed for unpriced models under a dollar budget)\n"
    "  --no-stream            plain JSON responses instead of streams\n"
    "  --budget-calls N       at most N model requests for the whole run\n"
    "                         (every attempt counts: retries and repairs too)\n"
    "  --budget-tokens N      at most N tokens; each request reserves its\n"
    "                         estimated input and max_tokens before it is sent\n"
    "  --budget-usd X         at most X dollars, reserved like tokens; every\n"
    "                         model must have a price (see --prices)\n"
    "  --budget-time DURATION stop the run DURATION after the start\n"
    "  --quiet                no summary of model calls (and no progress line)\n"
    "                         on stderr\n"
    "  --raw-output           print and the result of main write their exact\n"
    "                         bytes on stdout (default: control and bidi\n"
    "                         characters escaped, as in all output)\n"
    "  --trace FILE.jsonl     write every effect (asks, sleeps, fibers,\n"
    "                         barriers) as JSON lines, with effect addresses\n"
    "  --progress=WHEN        live progress line on stderr: auto (when stderr\n"
    "                         is a terminal; default), always, never\n"
    "  --json                 print {\"result\": ..., \"run\": ID, \"stats\": {...}}\n"
    "                         instead of the bare result\n"
    "\n"
    "durable runs (docs/cli.md, \"Durable runs\"):\n"
    "  --journal PATH         the journal to record the run in (default: $WEFT_JOURNAL,\n"
    "                         else .weft/journal.db under the working directory)\n"
    "  --no-journal           do not record the run (it cannot be resumed)\n"
    "  --record FILE          also write the run's effects to a cassette FILE\n"
    "  --replay FILE          answer every model call from cassette FILE, offline;\n"
    "                         a call it has no record of fails the run\n"
    "\n"
    "Every run is journaled: its id goes to stderr (weft: run 7 (journal ...)),\n"
    "and `weft resume 7` finishes it after a crash without repeating a finished\n"
    "model call.\n"
    "\n"
    "On success the result of main is printed on stdout as compact JSON (nothing\n"
    "when main returns no value). On failure `error: MESSAGE` and the stack\n"
    "trace go to stderr. After a run that made model calls, one summary line\n"
    "(calls, retries, repairs, tokens, cost, time) goes to stderr.\n"
    "\n"
    "exit: 0 success, 1 compile errors or runtime error, 2 usage error or\n"
    "invalid input\n";

static const char HELP_BUILD[] =
    "usage: weft build FILE [-o OUT.weftc] [--import-path DIR]...\n"
    "\n"
    "Compiles FILE and everything it imports into one bytecode module. The\n"
    "default output is FILE with the extension .weftc.\n"
    "\n"
    "  --import-path DIR  also let imports resolve beneath DIR (repeatable;\n"
    "                     see weft check)\n"
    "\n"
    "exit: 0 written, 1 compile errors or write failure, 2 usage error\n";

static const char HELP_DISASM[] =
    "usage: weft disasm FILE [--import-path DIR]...\n"
    "\n"
    "Prints a listing of every function of FILE (a .weft source, which is\n"
    "compiled first, or a .weftc module) on stdout.\n"
    "\n"
    "  --import-path DIR  also let imports resolve beneath DIR (repeatable;\n"
    "                     see weft check)\n"
    "\n"
    "exit: 0 printed, 1 compile errors or a module that does not load,\n"
    "2 usage error\n";

static const char HELP_RESUME[] =
    "usage: weft resume RUN [--journal PATH] [--force] [--record FILE] [RUN FLAGS]\n"
    "\n"
    "Finishes a run that was interrupted (a crash, kill -9, power loss) or that\n"
    "failed. RUN is a run id from `weft runs`, or last. The program runs again\n"
    "from the start with the run's recorded inputs and flags; every model call\n"
    "and sleep the journal recorded as finished is answered from the journal,\n"
    "without the network, and the rest go out live and are recorded. Calls that\n"
    "failed are sent again.\n"
    "\n"
    "  --journal PATH  the journal (default: $WEFT_JOURNAL, else .weft/journal.db)\n"
    "  --force         resume even though the program file changed since the run\n"
    "                  started (refused otherwise): recorded calls whose address\n"
    "                  and request still match are reused, the rest run live\n"
    "  RUN FLAGS       any flag of `weft run` but --input/--arg (see weft help\n"
    "                  run); they override the recorded ones. --import-path is\n"
    "                  never recorded: give it again if the program needs it\n"
    "\n"
    "A run records only flags that are not files: a run started with --prices\n"
    "or --mock-script needs the file named again, and a journal whose recorded\n"
    "flags name an output or a file is refused (docs/durable.md).\n"
    "\n"
    "A run is resumed by one process at a time: a second `weft resume` of the\n"
    "same run (or of a run still running) is refused.\n"
    "\n"
    "exit: as `weft run`; 2 also for an unknown run, a run that already finished,\n"
    "a run in use, a changed program without --force, or a journal that cannot\n"
    "be used\n";

static const char HELP_REPLAY[] =
    "usage: weft replay RUN [--journal PATH] [--check] [--program FILE] [RUN FLAGS]\n"
    "\n"
    "Runs a recorded run again fully offline: every model call and sleep is\n"
    "answered from the journal, failures included, and nothing is written. The\n"
    "program is the run's program file as it is now (so a workflow can be\n"
    "edited and checked against the recorded replies), or --program FILE; when\n"
    "the file is gone, the module recorded in the journal. A call the journal\n"
    "has no record of, or whose prompt, model or reply type changed, fails the\n"
    "replay with a message naming it.\n"
    "\n"
    "  --check         compare the result with the recorded one: exit 1 and both\n"
    "                  results on stderr when they differ\n"
    "  --program FILE  replay this program instead of the recorded file\n"
    "  --import-path DIR\n"
    "                  as for weft run; never taken from the journal\n"
    "  --journal PATH  the journal (default: $WEFT_JOURNAL, else .weft/journal.db)\n"
    "  RUN FLAGS       flags of `weft run` that override the recorded ones; a run\n"
    "                  started with --prices needs --prices FILE again\n"
    "\n"
    "exit: 0 the replay succeeded (and, with --check, matched), 1 it failed or\n"
    "differs, 2 usage error, unknown run or unusable journal\n";

static const char HELP_HELP[] =
    "usage: weft help [COMMAND]\n"
    "\n"
    "Shows the list of commands, or the help of one command.\n";

/* ---- small helpers ------------------------------------------------------ */

bool is_help_flag(const char *a) {
  return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Matches `--name VALUE` and `--name=VALUE` at argv[*i]. Returns 1 and sets
 * *val (advancing *i past a separate value), 0 when argv[*i] is another
 * flag, -1 (after a message) when the value is missing. */
int flag_value(int argc, char **argv, int *i, const char *name, const char **val) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0) return 0;
  if (a[n] == '=') {
    *val = a + n + 1;
    return 1;
  }
  if (a[n] != '\0') return 0;
  if (*i + 1 >= argc) {
    errorf("%s needs a value", name);
    return -1;
  }
  *val = argv[++*i];
  return 1;
}

static bool parse_color(const char *s, ColorMode *mode) {
  if (strcmp(s, "auto") == 0) *mode = COLOR_AUTO;
  else if (strcmp(s, "always") == 0) *mode = COLOR_ALWAYS;
  else if (strcmp(s, "never") == 0) *mode = COLOR_NEVER;
  else {
    errorf("--color must be auto, always or never, not '%s'", s);
    return false;
  }
  return true;
}

/* Colour is a courtesy for a person at a terminal: on only when asked for,
 * or when stderr is a terminal and the user has not set NO_COLOR. An
 * explicit --color=always wins over NO_COLOR. */
static int use_color(ColorMode mode) {
  if (mode == COLOR_ALWAYS) return 1;
  if (mode == COLOR_NEVER) return 0;
  const char *nc = getenv("NO_COLOR");
  if (nc && nc[0]) return 0;
  return isatty(STDERR_FILENO) ? 1 : 0;
}

/* The --import-path directories of one command line: further roots an
 * import may resolve beneath (docs/security.md, "Imports"). Only the
 * command line gives them, never a journal. */
typedef struct ImportPaths {
  const char **dirs;
  uint32_t n;
} ImportPaths;

/* Adds DIR of --import-path DIR, which must name a directory. */
static bool add_import_path(ImportPaths *ip, const char *dir) {
  struct stat st;
  int err = !dir[0] ? ENOENT : stat(dir, &st) != 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
  if (err) {
    errorf("--import-path: cannot use '%s': %s", dir, strerror(err));
    return false;
  }
  ip->dirs = xrealloc(ip->dirs, (ip->n + 1) * sizeof *ip->dirs);
  ip->dirs[ip->n++] = dir;
  return true;
}

static CompileOptions compile_options(bool check_only, const ImportPaths *ip) {
  CompileOptions opt = {.check_only = check_only, .stdlib_dir = NULL, .natives = std_native_table()};
  if (ip) {
    opt.import_paths = ip->dirs;
    opt.nimport_paths = ip->n;
  }
  return opt;
}

/* Parses a decimal count (no sign, no suffix) that must be at least 1. */
static bool parse_count(const char *flag, const char *s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (!*s) goto bad;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') goto bad;
    unsigned d = (unsigned)(*p - '0');
    if (v > (max - d) / 10) {
      errorf("%s: %s is too large", flag, s);
      return false;
    }
    v = v * 10 + d;
  }
  if (v == 0) {
    errorf("%s must be at least 1", flag);
    return false;
  }
  *out = v;
  return true;
bad:
  errorf("%s needs a whole number, not '%s'", flag, s);
  return false;
}

/* Parses a byte size: digits, then an optional K, M, G or T (powers of
 * 1024), optionally followed by "B" or "iB": 64M, 1G, 512KiB, 1048576. */
static bool parse_size(const char *flag, const char *s, size_t *out) {
  const char *p = s;
  uint64_t v = 0;
  while (*p >= '0' && *p <= '9') {
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) goto big;
    v = v * 10 + d;
    p++;
  }
  if (p == s) goto bad;
  unsigned shift = 0;
  switch (*p) {
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    case 't': case 'T': shift = 40; p++; break;
    default: break;
  }
  if (shift && (*p == 'i' || *p == 'I')) p++;
  if (*p == 'b' || *p == 'B') p++;
  if (*p) goto bad;
  if (shift && v > (UINT64_MAX >> shift)) goto big;
  v <<= shift;
  if (v > SIZE_MAX) goto big;
  if (v == 0) {
    errorf("%s must be at least 1 byte", flag);
    return false;
  }
  *out = (size_t)v;
  return true;
bad:
  errorf("%s needs a size such as 64M, 1G or 1048576, not '%s'", flag, s);
  return false;
big:
  errorf("%s: %s is too large", flag, s);
  return false;
}

/* Parses a whole number >= 0 (for --retries and --repairs, where 0 is
 * meaningful). */
static bool parse_small(const char *flag, const char *s, int32_t *out) {
  int64_t v = 0;
  if (!*s) goto bad;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') goto bad;
    v = v * 10 + (*p - '0');
    if (v > 1000) {
      errorf("%s: %s is too large (at most 1000)", flag, s);
      return false;
    }
  }
  *out = (int32_t)v;
  return true;
bad:
  errorf("%s needs a whole number, not '%s'", flag, s);
  return false;
}

/* Parses a duration: one or more NUMBER UNIT groups, units ms, s, m, h
 * ("30s", "2m", "500ms", "1m30s"). */
static bool parse_duration_ms(const char *flag, const char *s, int64_t *out) {
  const char *p = s;
  int64_t total = 0;
  if (!*p) goto bad;
  while (*p) {
    int64_t v = 0;
    const char *d = p;
    while (*p >= '0' && *p <= '9') {
      v = v * 10 + (*p - '0');
      if (v > 100000000) goto bad;
      p++;
    }
    if (p == d) goto bad;
    int64_t unit;
    if (strncmp(p, "ms", 2) == 0) { unit = 1; p += 2; }
    else if (*p == 's') { unit = 1000; p++; }
    else if (*p == 'm') { unit = 60000; p++; }
    else if (*p == 'h') { unit = 3600000; p++; }
    else goto bad;
    total += v * unit;
    if (total > (int64_t)1000 * 86400 * 365) goto bad;
  }
  if (total <= 0) {
    errorf("%s must be longer than 0", flag);
    return false;
  }
  *out = total;
  return true;
bad:
  errorf("%s needs a duration such as 30s, 2m or 500ms, not '%s'", flag, s);
  return false;
}

static bool known_provider(const char *name, size_t n) {
  static const char *const names[] = {
#define PROVIDER(id, pname) pname,
#include "../vm/providers.def"
#undef PROVIDER
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strlen(names[i]) == n && strncmp(names[i], name, n) == 0) return true;
  return false;
}

/* Reads a whole file (or stdin for "-") into a malloc'd NUL-terminated
 * buffer. Returns NULL with errno set on failure. */
char *read_file(const char *path, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *data = malloc(cap);
  if (!data) {
    if (f != stdin) fclose(f);
    errno = ENOMEM;
    return NULL;
  }
  for (;;) {
    if (n + 1 >= cap) {
      if (cap >= MAX_INPUT_BYTES) {
        free(data);
        if (f != stdin) fclose(f);
        errno = EFBIG;
        return NULL;
      }
      char *bigger = realloc(data, cap * 2);
      if (!bigger) {
        free(data);
        if (f != stdin) fclose(f);
        errno = ENOMEM;
        return NULL;
      }
      data = bigger;
      cap *= 2;
    }
    errno = 0;
    size_t got = fread(data + n, 1, cap - 1 - n, f);
    n += got;
    if (got == 0) break;
  }
  int failed = ferror(f), saved = errno ? errno : EIO;
  if (f != stdin) fclose(f);
  if (failed) {
    free(data);
    errno = saved;
    return NULL;
  }
  data[n] = '\0';
  *len = n;
  return data;
}

/* Whether path can be opened for reading; prints the reason when not. */
static bool check_readable(const char *path) {
  struct stat st;
  FILE *f = fopen(path, "rb");
  if (!f) {
    errorf("cannot read '%s': %s", path, strerror(errno));
    return false;
  }
  bool dir = fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode);
  fclose(f);
  if (dir) {
    errorf("cannot read '%s': %s", path, strerror(EISDIR));
    return false;
  }
  return true;
}

/* ---- getting a module: compile a source or load a .weftc ----------------- */

/* Everything a loaded program owns, released together by loaded_free. */
typedef struct Loaded {
  Heap heap;        /* constants of the module */
  SourceSet ss;
  DiagList dl;
  Module *mod;
} Loaded;

static bool has_magic(const char *data, size_t len) {
  return len >= sizeof WEFTC_MAGIC - 1 &&
         memcmp(data, WEFTC_MAGIC, sizeof WEFTC_MAGIC - 1) == 0;
}

/* Compiles (or loads, when the file starts with the module magic) `path`.
 * Diagnostics are printed to stderr. Returns EXIT_OK with lp->mod set, or
 * the exit code to end with. lp must be released with loaded_free either
 * way. */
static int load_module(const char *path, ColorMode color, const ImportPaths *ip, Loaded *lp) {
  heap_init(&lp->heap, 0);
  src_init(&lp->ss);
  diag_init(&lp->dl);
  lp->mod = NULL;

  size_t len = 0;
  char *data = read_file(path, &len);
  if (!data) {
    errorf("cannot read '%s': %s", path, strerror(errno));
    return EXIT_USAGE;
  }
  if (has_magic(data, len)) {
    char *err = NULL;
    lp->mod = module_load(&lp->heap, (const uint8_t *)data, len, std_native_table(), &err);
    free(data);
    if (!lp->mod) {
      errorf("cannot load module '%s': %s", path, err ? err : "invalid module");
      free(err);
      return EXIT_FAIL;
    }
    return EXIT_OK;
  }
  free(data);

  CompileOptions opt = compile_options(false, ip);
  lp->mod = compile_file(path, &lp->ss, &lp->dl, &opt, &lp->heap);
  if (lp->dl.n) {
    diag_sort(&lp->dl);
    diag_render_text(stderr, &lp->dl, &lp->ss, use_color(color));
  }
  if (!lp->mod || lp->dl.errors) return EXIT_FAIL;
  /* The verifier is the trust boundary even for modules we just made. */
  char *verr = module_verify(lp->mod);
  if (verr) {
    errorf("internal error: compiled module of '%s' does not verify: %s", path, verr);
    free(verr);
    return EXIT_FAIL;
  }
  return EXIT_OK;
}

static void loaded_free(Loaded *lp) {
  if (lp->mod) module_free(lp->mod);
  lp->mod = NULL;
  diag_free(&lp->dl);
  src_free(&lp->ss);
}

/* ---- weft check ---------------------------------------------------------- */

/* Checks one file. In JSON mode the rendered document is captured so that
 * several files can be merged into one; the error and warning counts accumulate. */
static int check_one(const char *path, bool json, ColorMode color, const ImportPaths *ip, Buf *items,
                     uint32_t *errors, uint32_t *warnings, Buf *cost) {
  if (!check_readable(path)) return EXIT_USAGE;
  Heap heap;
  SourceSet ss;
  DiagList dl;
  heap_init(&heap, 0);
  src_init(&ss);
  diag_init(&dl);
  CompileOptions opt = compile_options(true, ip);
  Module *m = compile_file(path, &ss, &dl, &opt, &heap);
  if (m) module_free(m);
  diag_sort(&dl);
  *errors += dl.errors;
  *warnings += dl.warnings;
  if (json) {
    /* diag_render_json writes {"diagnostics":[...],"errors":N,"warnings":M};
     * keep only the array's contents to merge several files. */
    char *doc = NULL;
    size_t doclen = 0;
    FILE *mf = open_memstream(&doc, &doclen);
    if (mf) {
      diag_render_json(mf, &dl, &ss);
      fclose(mf);
      const char *open = strchr(doc, '[');
      const char *close = strstr(doc, "],\"errors\"");
      if (open && close && close > open + 1) {
        if (items->len) buf_putc(items, ',');
        buf_put(items, open + 1, (size_t)(close - open - 1));
      }
      free(doc);
    }
  } else if (dl.n) {
    diag_render_text(stderr, &dl, &ss, use_color(color));
  }
  int rc = dl.errors ? EXIT_FAIL : EXIT_OK;
  diag_free(&dl);
  src_free(&ss);
  /* --cost: bound a program that checks (cost_file re-loads it: the
   * compile above already reported its diagnostics) */
  if (cost && rc == EXIT_OK) {
    Buf c;
    buf_init(&c);
    cost_file(path, &opt, json, &c);
    if (json) { /* {"calls":…,"output_tokens":…}\n -> its members, for the document */
      while (c.len && c.data[c.len - 1] == '\n') c.len--;
      if (c.len && c.data[c.len - 1] == '}') c.len--;
      if (c.len > 1) buf_put(cost, c.data + 1, c.len - 1);
    } else if (c.len) {
      term_write(stdout, c.data, c.len, TERM_TEXT);
    }
    buf_free(&c);
  }
  return rc;
}

static int cmd_check(int argc, char **argv) {
  bool json = false, cost = false;
  ColorMode color = COLOR_AUTO;
  ImportPaths ip = {NULL, 0};
  const char **files = calloc((size_t)argc + 1, sizeof *files);
  int nfiles = 0;
  if (!files) return EXIT_FAIL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    int r;
    if (is_help_flag(a)) {
      fputs(HELP_CHECK, stdout);
      free(files);
      free(ip.dirs);
      return EXIT_OK;
    } else if (strcmp(a, "--json") == 0) {
      json = true;
    } else if (strcmp(a, "--cost") == 0) {
      cost = true;
    } else if ((r = flag_value(argc, argv, &i, "--color", &v)) != 0) {
      if (r < 0 || !parse_color(v, &color)) goto usage;
    } else if ((r = flag_value(argc, argv, &i, "--import-path", &v)) != 0) {
      if (r < 0 || !add_import_path(&ip, v)) goto usage;
    } else if (a[0] == '-' && a[1] != '\0') {
      errorf("check: unknown flag '%s' (see 'weft help check')", a);
      goto usage;
    } else {
      files[nfiles++] = a;
    }
  }
  if (nfiles == 0) {
    errorf("check: no file given (usage: weft check [--json] FILE...)");
    goto usage;
  }
  if (cost && nfiles != 1) {
    errorf("check: --cost takes exactly one FILE");
    goto usage;
  }
  int rc = EXIT_OK;
  uint32_t errors = 0, warnings = 0;
  Buf items, costs;
  buf_init(&items);
  buf_init(&costs);
  for (int i = 0; i < nfiles; i++) {
    int r = check_one(files[i], json, color, &ip, &items, &errors, &warnings, cost ? &costs : NULL);
    if (r > rc) rc = r;
  }
  if (json) {
    fputs("{\"diagnostics\":[", stdout);
    if (items.len) fwrite(items.data, 1, items.len, stdout);
    printf("],\"errors\":%" PRIu32 ",\"warnings\":%" PRIu32, errors, warnings);
    if (costs.len) {
      putchar(',');
      term_write(stdout, costs.data, costs.len, TERM_JSON);
    }
    fputs("}\n", stdout);
  }
  buf_free(&items);
  buf_free(&costs);
  free(files);
  free(ip.dirs);
  return rc;
usage:
  free(files);
  free(ip.dirs);
  return EXIT_USAGE;
}

/* ---- weft run: main's inputs -------------------------------------------- */

typedef struct ArgOverride { const char *name; const char *text; } ArgOverride;

static int param_index(const Module *m, const char *name, size_t len) {
  for (uint32_t i = 0; i < m->nparams; i++)
    if (strlen(m->params[i].name) == len && memcmp(m->params[i].name, name, len) == 0)
      return (int)i;
  return -1;
}

/* "a, b, c" — the parameter list, for messages about unknown names. */
static void param_names(Buf *b, const Module *m) {
  if (m->nparams == 0) {
    buf_puts(b, "main takes no parameters");
    return;
  }
  buf_puts(b, "main takes: ");
  for (uint32_t i = 0; i < m->nparams; i++) {
    if (i) buf_puts(b, ", ");
    buf_puts(b, m->params[i].name);
  }
}

/* Rewrites a converter message for parameter `name`: the converter's
 * paths start at the parameter's value ("$[2]: ..."), the user's --input
 * paths at the whole object ("$.files[2]: ..."). */
static void input_error(const char *name, const char *msg) {
  if (msg[0] == '$')
    errorf("--input: $.%s%s", name, msg + 1);
  else
    errorf("--input: $.%s: %s", name, msg);
}

static void arg_error(const char *name, const char *msg) {
  if (msg[0] == '$' && msg[1] == ':' && msg[2] == ' ')
    errorf("--arg %s: %s", name, msg + 3);
  else
    errorf("--arg %s: %s", name, msg);
}

/* Converts `raw` (borrowed) to parameter i's type; on failure writes the
 * converter's message into err. */
static bool convert_param(VM *vm, const Module *m, uint32_t i, Value raw, Value *out, Buf *err) {
  err->len = 0;
  bool ok = v_convert(&vm->heap, m, m->params[i].type, raw, out, err);
  buf_putc(err, '\0');
  err->len--;
  return ok;
}

/* --arg NAME=TEXT: TEXT is read as JSON if it parses and the result fits
 * the type, else as a plain string, so `--arg name=World` and
 * `--arg name=42` both work for a string parameter. */
static bool convert_arg(VM *vm, const Module *m, uint32_t i, const char *text, Value *out) {
  Buf err, perr;
  buf_init(&err);
  buf_init(&perr);
  Value parsed;
  bool ok = false;
  if (v_from_json(&vm->heap, text, strlen(text), &parsed, &perr)) {
    ok = convert_param(vm, m, i, parsed, out, &err);
    bool was_string = v_is(parsed, OBJ_STRING);
    v_release(&vm->heap, parsed);
    if (ok || was_string) goto done;
  }
  {
    Buf err2;
    buf_init(&err2);
    Value s = v_cstring(&vm->heap, text);
    ok = convert_param(vm, m, i, s, out, &err2);
    v_release(&vm->heap, s);
    if (!ok && err.len == 0) {
      buf_free(&err);
      err = err2;
    } else {
      buf_free(&err2);
    }
  }
done:
  if (!ok) arg_error(m->params[i].name, err.len ? err.data : "invalid value");
  buf_free(&err);
  buf_free(&perr);
  return ok;
}

static bool overridden(const ArgOverride *ovr, int novr, const char *name) {
  for (int k = 0; k < novr; k++)
    if (strcmp(ovr[k].name, name) == 0) return true;
  return false;
}

/* Builds main's arguments from --input, --arg and the defaults, checking
 * each against its declared type. Nothing runs before this succeeds.
 * Returns EXIT_OK with args[0..nparams) filled (new references). */
static int build_args(VM *vm, const Module *m, const char *input_path, const char *input_text,
                      const ArgOverride *ovr, int novr, Value *args) {
  uint32_t n = m->nparams;
  bool *have = calloc(n ? n : 1, sizeof *have);
  Value input = v_none();
  int rc = EXIT_USAGE;
  Buf b;
  buf_init(&b);
  if (!have) return EXIT_FAIL;
  for (uint32_t i = 0; i < n; i++) args[i] = v_none();

  for (int k = 0; k < novr; k++) {
    if (param_index(m, ovr[k].name, strlen(ovr[k].name)) < 0) {
      param_names(&b, m);
      errorf("--arg %s: main has no parameter '%s' (%s)", ovr[k].name, ovr[k].name, b.data);
      goto out;
    }
  }

  if (input_path || input_text) {
    size_t len = input_text ? strlen(input_text) : 0;
    char *text = input_text ? xstrdup(input_text) : read_file(input_path, &len);
    if (!input_path) input_path = "the journal's inputs";
    if (!text) {
      errorf("--input: cannot read '%s': %s", input_path, strerror(errno));
      goto out;
    }
    Buf perr;
    buf_init(&perr);
    bool ok = v_from_json(&vm->heap, text, len, &input, &perr);
    free(text);
    if (!ok) {
      buf_putc(&perr, '\0');
      errorf("--input: %s: invalid JSON: %s", input_path, perr.data);
      buf_free(&perr);
      goto out;
    }
    buf_free(&perr);
    if (!v_is(input, OBJ_MAP)) {
      errorf("--input: %s must hold a JSON object of main's parameters, got %s", input_path,
             v_type_name(input));
      goto out;
    }
    ObjMap *obj = AS_MAP(input);
    for (uint32_t k = 0; k < obj->n; k++) {
      ObjString *key = obj->keys[k];
      int pi = param_index(m, key->data, key->len);
      if (pi < 0) {
        param_names(&b, m);
        errorf("--input: $.%s: main has no parameter '%s' (%s)", key->data, key->data, b.data);
        goto out;
      }
      if (have[pi] || overridden(ovr, novr, m->params[pi].name)) continue;
      Buf err;
      buf_init(&err);
      if (!convert_param(vm, m, (uint32_t)pi, obj->vals[k], &args[pi], &err)) {
        input_error(m->params[pi].name, err.len ? err.data : "invalid value");
        buf_free(&err);
        goto out;
      }
      buf_free(&err);
      have[pi] = true;
    }
  }

  /* --arg overrides --input; of several --arg for one name the last wins. */
  for (int k = 0; k < novr; k++) {
    int pi = param_index(m, ovr[k].name, strlen(ovr[k].name));
    if (have[pi]) {
      v_release(&vm->heap, args[pi]);
      args[pi] = v_none();
      have[pi] = false;
    }
    if (!convert_arg(vm, m, (uint32_t)pi, ovr[k].text, &args[pi])) goto out;
    have[pi] = true;
  }

  for (uint32_t i = 0; i < n; i++) {
    if (have[i]) continue;
    const MainParam *p = &m->params[i];
    if (p->def == NONE_DEFAULT) {
      args[i] = v_none();
    } else if (p->def != NO_INDEX && p->def < m->nconsts) {
      args[i] = v_retain(m->consts[p->def]);
    } else {
      Buf t;
      buf_init(&t);
      type_desc_print(&t, m, p->type);
      buf_putc(&t, '\0');
      errorf("missing input: main needs '%s: %s' (give --arg %s=VALUE or --input FILE.json)",
             p->name, t.data, p->name);
      buf_free(&t);
      goto out;
    }
    have[i] = true;
  }
  rc = EXIT_OK;
out:
  if (rc != EXIT_OK)
    for (uint32_t i = 0; i < n; i++) {
      v_release(&vm->heap, args[i]);
      args[i] = v_none();
    }
  v_release(&vm->heap, input);
  buf_free(&b);
  free(have);
  return rc;
}

/* ---- weft run ------------------------------------------------------------ */

/* The live progress line: redrawn in place (\r, clear to end of line) by
 * the scheduler at most every 100 ms; cleared before the summary. */
typedef struct ProgressLine {
  Engine *engine;
  bool drawn;
  Buf line;
} ProgressLine;

static void progress_draw(VM *vm, void *ud) {
  ProgressLine *pl = ud;
  Progress p;
  memset(&p, 0, sizeof p);
  p.branches_done = vm->branches_ok;
  p.branches_failed = vm->branches_failed;
  uint64_t ended = vm->branches_ok + vm->branches_failed + vm->branches_cancelled;
  p.branches_running = vm->branches_started > ended ? vm->branches_started - ended : 0;
  p.calls_in_flight = vm->asks_started > vm->asks_ended ? vm->asks_started - vm->asks_ended : 0;
  if (pl->engine) {
    const RunStats *s = engine_stats(pl->engine);
    p.calls_done = s->calls;
    p.tokens = (uint64_t)(s->usage.input_tokens + s->usage.output_tokens);
    p.cost_usd = s->cost_usd;
  }
  p.elapsed_ms = vm_now_ms(vm);
  pl->line.len = 0;
  progress_format(&pl->line, &p);
  fputs("\r\033[K", stderr); /* the only raw escape: the line is redrawn */
  term_write(stderr, pl->line.data, pl->line.len, TERM_TEXT);
  fflush(stderr);
  pl->drawn = true;
}

static void progress_clear(ProgressLine *pl) {
  if (!pl->drawn) return;
  fputs("\r\033[K", stderr);
  fflush(stderr);
  pl->drawn = false;
}

/* Everything a run is told by its command line. The flags that shape what
 * the program does (providers, models, limits, budgets, retries) are also
 * kept, as typed, in `replayable`: the journal stores them and `weft
 * resume` / `weft replay` apply them again. */
typedef struct RunOpts {
  const char *file, *input;
  ArgOverride *ovr; int novr;
  ModelOverride *mo;
  uint32_t cap;                 /* of ovr and mo */
  EngineConfig ecfg;
  Limits limits;
  ColorMode color, progress_mode;
  bool json, quiet, no_journal, force, check, raw_output;
  uint32_t bud_bits;            /* the global budget (--budget-*) */
  int64_t bud_calls, bud_tokens, bud_time;
  double bud_usd;
  const char *trace_path, *journal_path, *record_path, *replay_path, *program;
  Buf replayable;               /* JSON array of strings */
  uint32_t nreplayable;
  ImportPaths imports;          /* --import-path: never kept, never taken from a journal */
  bool had_prices, had_mock;    /* resume/replay: the run was started with these files */
} RunOpts;

typedef enum RunKind { RUN_NEW, RUN_RESUME, RUN_REPLAY } RunKind;

static void opts_init(RunOpts *o) {
  memset(o, 0, sizeof *o);
  o->ecfg.retries = -1;
  o->ecfg.repairs = -1;
  o->color = COLOR_AUTO;
  o->progress_mode = COLOR_AUTO;
  buf_init(&o->replayable);
}

static void opts_free(RunOpts *o) {
  free(o->ovr);
  free(o->mo);
  free(o->imports.dirs);
  buf_free(&o->replayable);
}

/* ---- recorded flags ------------------------------------------------------
 * A run records the flags that shape what its program does, so that a
 * resume or a replay does the same: providers, models, limits, retries,
 * budgets. It never records a file: a journal may be planted or edited,
 * and a resume or replay must not write an output (--trace, --record, a
 * journal) or read an input a journal names. The two files that shape
 * effects, --prices and --mock-script, are recorded by name only ("--prices";
 * journals of older builds hold "--prices=PATH", read the same way): a
 * resume or replay of such a run needs the operator to name the file again.
 * These lists are both what a run records and what a resume accepts. */
static const char *const RECORDED_FLAGS[] = {
    "--max-instructions", "--max-memory", "--max-call-depth", "--max-fibers", "--provider",
    "--model", "--max-concurrency", "--timeout", "--retries", "--repairs", "--budget-calls",
    "--budget-tokens", "--budget-usd", "--budget-time", "--no-stream"};
static const char *const NAMED_FILE_FLAGS[] = {"--prices", "--mock-script"};

/* Whether flag text a ("--name" or "--name=value") is one of the n names. */
static bool flag_in(const char *a, const char *const *names, size_t n) {
  size_t len = strcspn(a, "=");
  for (size_t i = 0; i < n; i++)
    if (strlen(names[i]) == len && strncmp(a, names[i], len) == 0) return true;
  return false;
}

static bool recorded_flag(const char *a) {
  return flag_in(a, RECORDED_FLAGS, sizeof RECORDED_FLAGS / sizeof RECORDED_FLAGS[0]);
}

static void keep_flag(RunOpts *o, const char *flag, const char *value) {
  buf_puts(&o->replayable, o->nreplayable++ ? "," : "[");
  Buf t;
  buf_init(&t);
  if (value) buf_printf(&t, "%s=%s", flag, value);
  else buf_puts(&t, flag);
  buf_json_string(&o->replayable, t.data, t.len);
  buf_free(&t);
}

static void grow_overrides(RunOpts *o) {
  if ((uint32_t)o->novr < o->cap && o->ecfg.noverrides < o->cap) return;
  o->cap = o->cap ? o->cap * 2 : 8;
  o->ovr = xrealloc(o->ovr, o->cap * sizeof *o->ovr);
  o->mo = xrealloc(o->mo, o->cap * sizeof *o->mo);
  o->ecfg.overrides = o->mo;
}

/* Parses argv[first..argc) into o for `kind`. Returns EXIT_OK, EXIT_USAGE
 * after a message, or -1 after printing the help (exit 0). `recorded`
 * marks flags that come from the journal (they are not kept again). */
static int parse_run_flags(int argc, char **argv, int first, RunKind kind, bool recorded, RunOpts *o) {
  const char *cmd = kind == RUN_NEW ? "run" : kind == RUN_RESUME ? "resume" : "replay";
  for (int i = first; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    int r;
    uint64_t count;
    bool keep = !recorded; /* kept for resume unless cleared below */
    grow_overrides(o);
    if (is_help_flag(a)) {
      fputs(kind == RUN_NEW ? HELP_RUN : kind == RUN_RESUME ? HELP_RESUME : HELP_REPLAY, stdout);
      return -1;
    } else if (kind == RUN_NEW && (r = flag_value(argc, argv, &i, "--input", &v)) != 0) {
      if (r < 0) return EXIT_USAGE;
      o->input = v;
      keep = false;
    } else if (kind == RUN_NEW && (r = flag_value(argc, argv, &i, "--arg", &v)) != 0) {
      if (r < 0) return EXIT_USAGE;
      const char *eq = strchr(v, '=');
      if (!eq || eq == v) {
        errorf("--arg needs NAME=VALUE, not '%s'", v);
        return EXIT_USAGE;
      }
      /* The name is cut out of argv in place: argv strings are writable. */
      ((char *)eq)[0] = '\0';
      o->ovr[o->novr].name = v;
      o->ovr[o->novr].text = eq + 1;
      o->novr++;
      keep = false;
    } else if ((r = flag_value(argc, argv, &i, "--max-instructions", &v)) != 0) {
      if (r < 0 || !parse_count("--max-instructions", v, UINT64_MAX, &count)) return EXIT_USAGE;
      o->limits.max_instructions = count;
    } else if ((r = flag_value(argc, argv, &i, "--max-memory", &v)) != 0) {
      if (r < 0 || !parse_size("--max-memory", v, &o->limits.max_memory)) return EXIT_USAGE;
    } else if ((r = flag_value(argc, argv, &i, "--max-call-depth", &v)) != 0) {
      if (r < 0 || !parse_count("--max-call-depth", v, UINT32_MAX, &count)) return EXIT_USAGE;
      o->limits.max_call_depth = (uint32_t)count;
    } else if ((r = flag_value(argc, argv, &i, "--max-fibers", &v)) != 0) {
      if (r < 0 || !parse_count("--max-fibers", v, UINT32_MAX, &count)) return EXIT_USAGE;
      o->limits.max_fibers = (uint32_t)count;
    } else if ((r = flag_value(argc, argv, &i, "--color", &v)) != 0) {
      if (r < 0 || !parse_color(v, &o->color)) return EXIT_USAGE;
      keep = false;
    } else if ((r = flag_value(argc, argv, &i, "--import-path", &v)) != 0) {
      if (r < 0 || !add_import_path(&o->imports, v)) return EXIT_USAGE;
      keep = false;
    } else if ((r = flag_value(argc, argv, &i, "--provider", &v)) != 0) {
      if (r < 0) return EXIT_USAGE;
      if (!known_provider(v, strlen(v))) {
        errorf("--provider must be mock, anthropic or openai, not '%s'", v);
        return EXIT_USAGE;
      }
      o->ecfg.force_provider = v;
    } else if ((r = flag_value(argc, argv, &i, "--model", &v)) != 0) {
      if (r < 0) return EXIT_USAGE;
      const char *eq = strchr(v, '=');
      const char *slash = eq ? strchr(eq + 1, '/') : NULL;
      if (!eq || eq == v || !slash || !known_provider(eq + 1, (size_t)(slash - eq - 1)) || !slash[1]) {
        errorf("--model needs ROLE=PROVIDER/MODEL with PROVIDER anthropic, openai or mock, not '%s'", v);
        return EXIT_USAGE;
      }
      if (keep) keep_flag(o, "--model", v);
      keep = false;
      ((char *)eq)[0] = '\0';
      o->mo[o->ecfg.noverrides].role = v;
      o->mo[o->ecfg.noverrides].model = eq + 1;
      o->ecfg.noverrides++;
    } else if ((r = flag_value(argc, argv, &i, "--max-concurrency", &v)) != 0) {
      if (r < 0 || !parse_count("--max-concurrency", v, 1000000, &count)) return EXIT_USAGE;
      o->ecfg.max_concurrency = (uint32_t)count;
    } else if ((r = flag_value(argc, argv, &i, "--timeout", &v)) != 0) {
      if (r < 0 || !parse_duration_ms("--timeout", v, &o->ecfg.timeout_ms)) return EXIT_USAGE;
    } else if ((r = flag_value(argc, argv, &i, "--retries", &v)) != 0) {
      if (r < 0 || !parse_small("--retries", v, &o->ecfg.retries)) return EXIT_USAGE;
    } else if ((r = flag_value(argc, argv, &i, "--repairs", &v)) != 0) {
      if (r < 0 || !parse_small("--repairs", v, &o->ecfg.repairs)) return EXIT_USAGE;
    } else if ((r = flag_value(argc, argv, &i, "--budget-calls", &v)) != 0) {
      /* 0 is a budget too: no model call at all */
      if (r < 0 || (strcmp(v, "0") != 0 && !parse_count("--budget-calls", v, (uint64_t)INT64_MAX, &count)))
        return EXIT_USAGE;
      if (strcmp(v, "0") == 0) count = 0;
      o->bud_bits |= BUDGET_CALLS;
      o->bud_calls = (int64_t)count;
    } else if ((r = flag_value(argc, argv, &i, "--budget-tokens", &v)) != 0) {
      if (r < 0 || (strcmp(v, "0") != 0 && !parse_count("--budget-tokens", v, (uint64_t)INT64_MAX, &count)))
        return EXIT_USAGE;
      if (strcmp(v, "0") == 0) count = 0;
      o->bud_bits |= BUDGET_TOKENS;
      o->bud_tokens = (int64_t)count;
    } else if ((r = flag_value(argc, argv, &i, "--budget-usd", &v)) != 0) {
      char *end = NULL;
      if (r < 0) return EXIT_USAGE;
      o->bud_usd = strtod(v, &end);
      if (!v[0] || !end || *end || !(o->bud_usd >= 0) || isinf(o->bud_usd)) {
        errorf("--budget-usd needs an amount of dollars such as 0.50, not '%s'", v);
        return EXIT_USAGE;
      }
      o->bud_bits |= BUDGET_USD;
    } else if ((r = flag_value(argc, argv, &i, "--budget-time", &v)) != 0) {
      if (r < 0 || !parse_duration_ms("--budget-time", v, &o->bud_time)) return EXIT_USAGE;
      o->bud_bits |= BUDGET_TIME;
    } else if ((r = flag_value(argc, argv, &i, "--mock-script", &v)) != 0) {
      if (r < 0) return EXIT_USAGE;
      o->ecfg.mock_script = v;
      if (keep) keep_flag(o, "--mock-script", NULL); /* its name only: see RECORDED_FLAGS */
      keep = false;
    } else if ((r = flag_value(argc, argv, &i, "--prices", &v)) != 0) {
      if (r < 0) return EXIT_USAGE;
      o->ecfg.prices_file = v;
      if (keep) keep_flag(o, "--prices", NULL);
      keep = false;
    } else if ((r = flag_value(argc, argv, &i, "--trace", &v)) != 0) {
      if (r < 0) return EXIT_USAGE;
      if (!v[0]) {
        errorf("--trace needs a file name");
        return EXIT_USAGE;
      }
      o->trace_path = v;
      keep = false;
    } else if ((r = flag_value(argc, argv, &i, "--journal", &v)) != 0) {
      if (r < 0) return EXIT_USAGE;
      if (!v[0]) {
        errorf("--journal needs a file name");
        return EXIT_USAGE;
      }
      o->journal_path = v;
      keep = false;
    } else if (kind != RUN_REPLAY && (r = flag_value(argc, argv, &i, "--record", &v)) != 0) {
      if (r < 0) return EXIT_USAGE;
      if (!v[0]) {
        errorf("--record needs a file name");
        return EXIT_USAGE;
      }
      o->record_path = v;
      keep = false;
    } else if (kind == RUN_NEW && (r = flag_value(argc, argv, &i, "--replay", &v)) != 0) {
      if (r < 0) return EXIT_USAGE;
      if (!v[0]) {
        errorf("--replay needs a cassette file name");
        return EXIT_USAGE;
      }
      o->replay_path = v;
      keep = false;
    } else if (kind == RUN_REPLAY && (r = flag_value(argc, argv, &i, "--program", &v)) != 0) {
      if (r < 0) return EXIT_USAGE;
      o->program = v;
      keep = false;
    } else if ((r = flag_value(argc, argv, &i, "--progress", &v)) != 0) {
      if (r < 0) return EXIT_USAGE;
      if (strcmp(v, "auto") == 0) o->progress_mode = COLOR_AUTO;
      else if (strcmp(v, "always") == 0) o->progress_mode = COLOR_ALWAYS;
      else if (strcmp(v, "never") == 0) o->progress_mode = COLOR_NEVER;
      else {
        errorf("--progress must be auto, always or never, not '%s'", v);
        return EXIT_USAGE;
      }
      keep = false;
    } else if (strcmp(a, "--no-stream") == 0) {
      o->ecfg.no_stream = true;
    } else if (strcmp(a, "--quiet") == 0) {
      o->quiet = true;
      keep = false;
    } else if (strcmp(a, "--raw-output") == 0) {
      o->raw_output = true; /* how output is shown, not what the run does */
      keep = false;
    } else if (strcmp(a, "--json") == 0) {
      o->json = true;
      keep = false;
    } else if (kind == RUN_NEW && strcmp(a, "--no-journal") == 0) {
      o->no_journal = true;
      keep = false;
    } else if (kind == RUN_RESUME && strcmp(a, "--force") == 0) {
      o->force = true;
      keep = false;
    } else if (kind == RUN_REPLAY && strcmp(a, "--check") == 0) {
      o->check = true;
      keep = false;
    } else if (a[0] == '-' && a[1] != '\0') {
      errorf("%s: unknown flag '%s' (see 'weft help %s')", cmd, a, cmd);
      return EXIT_USAGE;
    } else if (o->file) {
      if (kind == RUN_NEW) errorf("run: more than one file given ('%s' and '%s')", o->file, a);
      else errorf("%s: one run at most ('%s' and '%s')", cmd, o->file, a);
      return EXIT_USAGE;
    } else {
      o->file = a;
      keep = false;
    }
    if (keep && recorded_flag(a)) keep_flag(o, a, v && !strchr(a, '=') ? v : NULL);
  }
  return EXIT_OK;
}

static bool known_role(const Module *m, const char *role) {
  for (uint32_t r = 0; r < m->nroles; r++)
    if (strcmp(m->roles[r].name, role) == 0) return true;
  return false;
}

/* --model ROLE=... must name a role the program declares. */
static bool check_model_roles(const Module *m, const RunOpts *o, const char *file) {
  for (uint32_t k = 0; k < o->ecfg.noverrides; k++) {
    if (known_role(m, o->mo[k].role)) continue;
    Buf names;
    buf_init(&names);
    for (uint32_t r = 0; r < m->nroles; r++) buf_printf(&names, "%s%s", r ? ", " : "", m->roles[r].name);
    buf_putc(&names, '\0');
    (void)file;
    errorf("--model %s: the program has no role '%s' (roles: %s)", o->mo[k].role, o->mo[k].role,
           m->nroles ? names.data : "none");
    buf_free(&names);
    return false;
  }
  return true;
}

/* main's arguments as a JSON object by parameter name (the journal's inputs). */
static char *args_json(const Module *m, const Value *args) {
  Buf b;
  buf_init(&b);
  buf_putc(&b, '{');
  for (uint32_t i = 0; i < m->nparams; i++) {
    if (i) buf_putc(&b, ',');
    buf_json_string(&b, m->params[i].name, strlen(m->params[i].name));
    buf_putc(&b, ':');
    size_t mark = b.len;
    if (!v_to_json(&b, args[i])) {
      b.len = mark;
      buf_puts(&b, "null");
    }
  }
  buf_puts(&b, "}");
  buf_putc(&b, '\0');
  return b.data;
}

/* The module's bytes and its hash (the journal keeps both). The hash is
 * the module's source hash (FNV-1a 64 over the program's source texts),
 * which does not depend on the paths it was compiled from. */
static unsigned char *module_bytes(const Module *m, size_t *len, char hash[17]) {
  hash_hex(m->source_hash, hash);
  return module_write(m, len);
}

static char *absolute_path(const char *path) {
  char *abs = realpath(path, NULL);
  return abs ? abs : xstrdup(path);
}

/* What one execution of main needs besides the module. */
typedef struct RunCtx {
  RunKind kind;
  const char *input_text;       /* resume/replay: the recorded inputs (JSON) */
  Journal *journal;             /* where the run is written; NULL: nowhere */
  RunRec *run;                  /* its record (id set) */
  Records *serve;               /* records that answer effects; NULL: none */
  ServeMode mode;
  bool serve_journaled;         /* serve holds this run's own journal records */
  const char *serve_name;
  const char *recorded_result;  /* replay --check: the result to compare with */
  const char *recorded_status;
  const char *journal_flag;     /* a new run: open the journal (--journal or "") once its inputs are valid */
} RunCtx;

/* Ends the run's record: status, result or error, end time. */
static void finish_record(RunCtx *cx, bool ok, const char *result, const char *error) {
  if (!cx->journal) return;
  RunRec *r = cx->run;
  free(r->status);
  r->status = xstrdup(ok ? "ok" : "failed");
  free(r->result);
  r->result = ok && result ? xstrdup(result) : NULL;
  free(r->error);
  r->error = ok ? NULL : xstrdup(error ? error : "the program failed");
  r->ended_at = unix_now_ms();
  char *err = NULL;
  if (!journal_run_update(cx->journal, r, &err)) {
    errorf("%s", err ? err : "cannot write the journal");
    free(err);
  }
}

/* Opens the journal for a command: --journal, $WEFT_JOURNAL, or .weft/. */
static Journal *open_journal(const char *flag, JournalMode mode) {
  const char *path = journal_path_or_default(flag);
  char *err = NULL;
  Journal *j = journal_open(path, mode, &err);
  if (!j) {
    errorf("%s", err ? err : "cannot open the journal");
    free(err);
  }
  return j;
}

/* Runs main of m under o and cx: inputs, VM, engine, trace, journal,
 * output. Returns the exit code. */
static int execute(RunOpts *o, Module *m, const char *file, RunCtx *cx) {
  limits_default(&o->limits);
  VM *vm = vm_new(m, &o->limits);
  if (!vm) {
    errorf("cannot start the virtual machine");
    return EXIT_FAIL;
  }
  if (o->bud_bits) vm_set_budget(vm, o->bud_bits, o->bud_calls, o->bud_tokens, o->bud_usd, o->bud_time);
  Value *args = xcalloc(m->nparams ? m->nparams : 1, sizeof *args);
  int rc = build_args(vm, m, cx->input_text ? NULL : o->input, cx->input_text, o->ovr, o->novr, args);
  Engine *engine = NULL;
  Host *host = NULL;
  EffectLog log;
  memset(&log, 0, sizeof log);
  ProgressLine pl;
  memset(&pl, 0, sizeof pl);
  buf_init(&pl.line);
  if (rc != EXIT_OK) goto done;
  /* Only programs that declare roles can ask: the rest start as fast as
   * they did before model calls existed. */
  if (m->nroles) {
    char *eerr = NULL;
    engine = engine_new(vm, &o->ecfg, &eerr);
    if (!engine) {
      errorf("%s", eerr ? eerr : "cannot start the model-call engine");
      free(eerr);
      rc = EXIT_USAGE;
      goto done;
    }
  }
  host = host_new(vm, engine);
  if (o->trace_path) {
    char *terr = NULL;
    if (!host_trace_file(host, o->trace_path, &terr)) {
      errorf("%s", terr ? terr : "--trace: cannot open the file");
      free(terr);
      rc = EXIT_USAGE;
      goto done;
    }
  }
  if (cx->journal_flag && !cx->journal) {
    cx->journal = open_journal(cx->journal_flag, JOURNAL_WRITE);
    if (!cx->journal) {
      rc = EXIT_USAGE;
      goto done;
    }
  }
  if (cx->journal && cx->kind == RUN_NEW) {
    RunRec *r = cx->run;
    r->inputs = args_json(m, args);
    char *jerr = NULL;
    if (!journal_run_create(cx->journal, r, &jerr)) {
      errorf("%s", jerr ? jerr : "cannot write the journal");
      free(jerr);
      rc = EXIT_USAGE;
      goto done;
    }
    if (!o->quiet) errorf("run %" PRId64 " (journal %s)", r->id, cx->journal->path);
  }
  if (cx->journal) host_trace_journal(host, cx->journal, cx->run->id);
  vm->raw_out = o->raw_output;
  vm_clock_restart(vm);
  log.journal = cx->journal;
  log.run = cx->journal ? cx->run->id : 0;
  log.serve = cx->serve;
  log.mode = cx->mode;
  log.serve_journaled = cx->serve_journaled;
  log.serve_name = cx->serve_name;
  if (o->record_path) log.collect = records_new();
  if (log.journal || log.serve || log.collect) host_set_log(host, &log);

  pl.engine = engine;
  if (!o->quiet && (o->progress_mode == COLOR_ALWAYS || (o->progress_mode == COLOR_AUTO && isatty(STDERR_FILENO)))) {
    vm->progress = progress_draw;
    vm->progress_ud = &pl;
    vm->progress_every_ms = 100;
    vm->progress_at = 200; /* a quick run draws nothing */
  }
  {
    Value result = v_none();
    char *err = NULL, *trace = NULL;
    bool ok = vm_run_main(vm, args, m->nparams, &result, &err, &trace);
    vm->progress = NULL;
    progress_clear(&pl);
    fflush(stdout);
    Buf out, res;
    buf_init(&out);
    buf_init(&res);
    if (ok && m->main_result != NO_INDEX && !v_to_json(&res, result)) {
      buf_putc(&res, '\0');
      term_printf(stderr, "error: the result of main has no JSON form: %s\n", res.data);
      ok = false;
      free(err);
      err = xstrdup("the result of main has no JSON form");
      res.len = 0;
    } else if (!ok) {
      /* a fail() message or a provider's error may quote a reply */
      term_printf(stderr, "error: %s\n", err ? err : "the program failed");
      if (trace && trace[0]) {
        term_write(stderr, trace, strlen(trace), TERM_TEXT);
        if (trace[strlen(trace) - 1] != '\n') fputc('\n', stderr);
      }
    }
    buf_putc(&res, '\0');
    res.len--;
    if (!ok) rc = EXIT_FAIL;
    if (o->json) {
      buf_puts(&out, "{\"result\":");
      buf_puts(&out, ok && res.len ? res.data : "null");
      if (!ok) {
        buf_puts(&out, ",\"error\":");
        const char *e = err ? err : "the program failed";
        buf_json_string(&out, e, strlen(e));
      }
      buf_puts(&out, ",\"stats\":");
      engine_stats_json(engine, &out);
      if (cx->journal) buf_printf(&out, ",\"run\":%" PRId64, cx->run->id);
      buf_putc(&out, '}');
    } else if (ok && res.len) {
      buf_put(&out, res.data, res.len);
    }
    if (out.len) {
      /* JSON text: a reply's C1 or bidi control becomes a \u escape, which
       * decodes to the same value; --raw-output keeps the bare result exact */
      if (o->raw_output && !o->json) fwrite(out.data, 1, out.len, stdout);
      else term_write(stdout, out.data, out.len, TERM_JSON);
      fputc('\n', stdout);
    }
    if (engine && !o->quiet && engine_stats(engine)->calls) {
      fflush(stdout);
      engine_summary(engine, stderr);
    }
    finish_record(cx, ok, res.len ? res.data : NULL, err);
    if (o->record_path) {
      char *cerr = NULL;
      if (!cassette_write(o->record_path, log.collect, file, &cerr)) {
        errorf("%s", cerr ? cerr : "--record: cannot write the cassette");
        free(cerr);
        if (rc == EXIT_OK) rc = EXIT_FAIL;
      }
    }
    if (cx->kind == RUN_REPLAY && o->check) {
      /* ok runs compare results, failed runs their error messages */
      const char *want = cx->recorded_result ? cx->recorded_result : "";
      const char *now = ok ? res.data : err ? err : "the program failed";
      bool was_ok = cx->recorded_status && strcmp(cx->recorded_status, "ok") == 0;
      if (was_ok != ok || strcmp(want, now) != 0) {
        errorf("replay: the result differs from %s's", cx->serve_name);
        term_printf(stderr, "  recorded: %s%s\n  now:      %s%s\n", was_ok ? "" : "failed: ",
                want[0] || !was_ok ? want : "(no result)", ok ? "" : "failed: ", now[0] || !ok ? now : "(no result)");
        rc = EXIT_FAIL;
      } else if (!o->quiet) {
        errorf("replay: the result matches %s's", cx->serve_name);
      }
    }
    buf_free(&out);
    buf_free(&res);
    v_release(&vm->heap, result);
    free(err);
    free(trace);
  }
done:
  for (uint32_t i = 0; i < m->nparams; i++) v_release(&vm->heap, args[i]);
  free(args);
  engine_free(engine);
  vm_free(vm); /* the trace still sees the fibers freed with the VM */
  bool trace_ok = host_free(host);
  buf_free(&pl.line);
  records_free(log.collect);
  if (!trace_ok && o->trace_path) {
    errorf("--trace: cannot write '%s'", o->trace_path);
    if (rc == EXIT_OK) rc = EXIT_FAIL;
  }
  if (fflush(stdout) != 0 && rc == EXIT_OK) {
    errorf("cannot write output: %s", strerror(errno));
    rc = EXIT_FAIL;
  }
  return rc;
}


/* Whether two names are one file (the second may not exist yet). */
static bool same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (strcmp(a, b) == 0) return true;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int cmd_run(int argc, char **argv) {
  RunOpts o;
  opts_init(&o);
  int rc = parse_run_flags(argc, argv, 1, RUN_NEW, false, &o);
  if (rc != EXIT_OK) {
    opts_free(&o);
    return rc < 0 ? EXIT_OK : rc;
  }
  if (!o.file) {
    errorf("run: no file given (usage: weft run FILE [--arg NAME=VALUE]...)");
    opts_free(&o);
    return EXIT_USAGE;
  }
  if (o.replay_path && o.record_path && same_file(o.replay_path, o.record_path)) {
    errorf("--record and --replay name the same file '%s'", o.record_path);
    opts_free(&o);
    return EXIT_USAGE;
  }
  Loaded ld;
  rc = load_module(o.file, o.color, &o.imports, &ld);
  Module *m = ld.mod;
  RunRec run;
  memset(&run, 0, sizeof run);
  RunCtx cx;
  memset(&cx, 0, sizeof cx);
  cx.kind = RUN_NEW;
  cx.run = &run;
  if (rc == EXIT_OK && m->main_fn == NO_INDEX) {
    errorf("%s has no main function", o.file);
    rc = EXIT_USAGE;
  }
  if (rc == EXIT_OK && !check_model_roles(m, &o, o.file)) rc = EXIT_USAGE;
  if (rc == EXIT_OK && o.replay_path) {
    char *err = NULL;
    cx.serve = cassette_read(o.replay_path, &err);
    if (!cx.serve) {
      errorf("%s", err ? err : "--replay: cannot read the cassette");
      free(err);
      rc = EXIT_USAGE;
    }
    cx.mode = SERVE_STRICT;
    Buf name;
    buf_init(&name);
    buf_printf(&name, "cassette %s", o.replay_path);
    buf_putc(&name, '\0');
    cx.serve_name = name.data; /* freed below */
  }
  if (!o.no_journal) cx.journal_flag = o.journal_path ? o.journal_path : "";
  if (rc == EXIT_OK) {
    char hash[17];
    run.program = xstrdup(o.file);
    run.program_path = absolute_path(o.file);
    run.module = module_bytes(m, &run.module_len, hash);
    run.module_hash = xstrdup(hash);
    buf_puts(&o.replayable, o.nreplayable ? "]" : "[]");
    buf_putc(&o.replayable, '\0');
    run.options = xstrdup(o.replayable.data);
    rc = execute(&o, m, o.file, &cx);
  }
  journal_close(cx.journal);
  run_rec_free(&run);
  records_free(cx.serve);
  free((char *)cx.serve_name);
  loaded_free(&ld);
  opts_free(&o);
  return rc;
}

/* "run 7: its recorded flags are damaged: ..." with the flag quoted as
 * JSON (it is journal text: no control character reaches the terminal). */
static void damaged_flag(const RunRec *r, const char *flag, const char *why) {
  Buf q;
  buf_init(&q);
  size_t n = strlen(flag);
  buf_json_string(&q, flag, n > 80 ? 80 : n);
  buf_putc(&q, '\0');
  errorf("run %" PRId64 ": its recorded flags are damaged: %s%s %s", r->id, q.data, n > 80 ? "..." : "", why);
  buf_free(&q);
}

/* The recorded flags of a run, applied before the command line's own.
 * Only RECORDED_FLAGS are taken, each as one whole "--name=value"; a
 * named file only marks that the operator must name it again (see
 * RECORDED_FLAGS). Anything else is refused: a run never records it. */
static int apply_recorded_flags(const RunRec *r, RunKind kind, RunOpts *o, cJSON **keep) {
  cJSON *arr = cJSON_Parse(r->options ? r->options : "[]");
  if (!cJSON_IsArray(arr)) {
    cJSON_Delete(arr);
    errorf("run %" PRId64 ": its recorded flags are unreadable", r->id);
    return EXIT_USAGE;
  }
  *keep = arr; /* the overrides point into it */
  const cJSON *it;
  cJSON_ArrayForEach(it, arr) {
    char *a = cJSON_IsString(it) ? it->valuestring : NULL;
    if (!a) {
      errorf("run %" PRId64 ": its recorded flags are damaged: one is not a string", r->id);
      return EXIT_USAGE;
    }
    if (flag_in(a, NAMED_FILE_FLAGS, sizeof NAMED_FILE_FLAGS / sizeof NAMED_FILE_FLAGS[0])) {
      if (a[2] == 'p') o->had_prices = true;
      else o->had_mock = true;
      continue;
    }
    if (!recorded_flag(a)) {
      damaged_flag(r, a, "is not a flag a run records (a resume or replay never takes a file or an "
                         "output from the journal)");
      return EXIT_USAGE;
    }
    int rc = parse_run_flags(1, &a, 0, kind, true, o);
    if (rc != EXIT_OK) {
      damaged_flag(r, a, "does not parse");
      return EXIT_USAGE;
    }
  }
  return EXIT_OK;
}

/* A run started with --prices or --mock-script needs the file named again
 * (RECORDED_FLAGS). The prices shape the cost charged for every call,
 * answered or not; the script only the calls that go out live, which a
 * replay never makes. */
static bool files_named_again(const RunOpts *o, int64_t id, RunKind kind) {
  const char *cmd = kind == RUN_RESUME ? "resume" : "replay";
  const char *flag = o->had_prices && !o->ecfg.prices_file                           ? "--prices"
                     : kind == RUN_RESUME && o->had_mock && !o->ecfg.mock_script ? "--mock-script"
                                                                                   : NULL;
  if (!flag) return true;
  errorf("%s: run %" PRId64 " was started with %s; name the file again (%s FILE): a %s never reads "
         "a file named in the journal", cmd, id, flag, flag, cmd);
  return false;
}

static bool ends_with_text(const char *s, const char *tail) {
  size_t n = strlen(s), k = strlen(tail);
  return n > k && strcmp(s + n - k, tail) == 0;
}

/* Why the program path a run recorded may not be opened, or NULL when it
 * may. The path comes from the journal, which may be planted: it must be
 * canonical (realpath gives it back, so no component is a symbolic link:
 * the run recorded it canonical), name a .weft or .weftc file (any other
 * file's lines could be echoed as diagnostics), and be a regular file,
 * opened without following a link and without blocking on a FIFO. The
 * compiler then reads it by the same name. *gone: it does not exist. */
static char *recorded_program_unfit(const char *path, bool *gone) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  int err = errno;
  struct stat st;
  char *real = fd >= 0 ? realpath(path, NULL) : NULL;
  Buf why;
  buf_init(&why);
  *gone = fd < 0 && err == ENOENT;
  if (*gone) buf_printf(&why, "%s is gone", path);
  else if (fd < 0 && err == ELOOP) buf_printf(&why, "%s is a symbolic link", path);
  else if (fd < 0) buf_printf(&why, "%s cannot be read: %s", path, strerror(err));
  else if (!real || strcmp(real, path) != 0) buf_printf(&why, "%s is not a canonical path", path);
  else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) buf_printf(&why, "%s is not a regular file", path);
  else if (!ends_with_text(path, ".weft") && !ends_with_text(path, ".weftc"))
    buf_printf(&why, "%s is not a .weft or .weftc file", path);
  free(real);
  if (fd >= 0) close(fd);
  if (!why.len) return NULL;
  buf_putc(&why, '\0');
  return why.data;
}

/* The module a resumed or replayed run executes: --program FILE, else the
 * program file the run recorded as it is now (source or .weftc), else the
 * journal's copy when the file is gone or may not be opened (*why, from
 * recorded_program_unfit, says which; malloc'd). */
static int run_module(const RunRec *r, const char *program, ColorMode color, const ImportPaths *ip,
                      Loaded *ld, bool *from_journal, char **why) {
  *from_journal = false;
  *why = NULL;
  if (program) return load_module(program, color, ip, ld);
  bool gone = false;
  *why = recorded_program_unfit(r->program_path, &gone);
  if (!*why) {
    /* the path the run was started with, when it still names the same file
     * (messages then read as they did) */
    const char *path = r->program_path;
    char *abs = realpath(r->program, NULL);
    if (abs && strcmp(abs, r->program_path) == 0) path = r->program;
    int rc = load_module(path, color, ip, ld);
    free(abs);
    return rc;
  }
  heap_init(&ld->heap, 0);
  src_init(&ld->ss);
  diag_init(&ld->dl);
  char *err = NULL;
  ld->mod = module_load(&ld->heap, r->module, r->module_len, std_native_table(), &err);
  if (!ld->mod) {
    errorf("run %" PRId64 ": the journal's copy of the module does not load: %s", r->id, err ? err : "invalid");
    free(err);
    return EXIT_FAIL;
  }
  *from_journal = true;
  return EXIT_OK;
}

static Records *records_of(Journal *j, int64_t id) {
  EffectRec *es = NULL;
  size_t n = 0;
  char *err = NULL;
  if (!journal_effects_load(j, id, &es, &n, &err)) {
    errorf("%s", err ? err : "cannot read the run's effects");
    free(err);
    return NULL;
  }
  Records *rs = records_new();
  for (size_t i = 0; i < n; i++) records_put(rs, &es[i]);
  effect_recs_free(es, n);
  return rs;
}

/* resume and replay: the journal, the run, its module, records and flags. */
static int resume_or_replay(int argc, char **argv, RunKind kind) {
  const char *cmd = kind == RUN_RESUME ? "resume" : "replay";
  /* The command line is read twice: first for the run and the journal,
   * then after the recorded flags so that its own flags win. Parsing cuts
   * strings in place, so the first pass reads a copy. */
  char **copy = xcalloc((size_t)argc + 1, sizeof *copy);
  for (int i = 0; i < argc; i++) copy[i] = xstrdup(argv[i]);
  RunOpts first, o;
  opts_init(&first);
  opts_init(&o);
  int rc = parse_run_flags(argc, copy, 1, kind, false, &first);
  Journal *j = NULL;
  RunRec run;
  memset(&run, 0, sizeof run);
  Loaded ld;
  bool loaded = false, from_journal = false;
  cJSON *recorded = NULL;
  char *unfit = NULL;           /* why the recorded program file was not opened */
  Records *rs = NULL;
  char name[64];
  int64_t id = 0;
  char *err = NULL;
  if (rc != EXIT_OK) {
    rc = rc < 0 ? EXIT_OK : rc;
    goto out;
  }
  rc = EXIT_USAGE;
  if (!first.file) {
    errorf("%s: no run given (usage: weft %s RUN; `weft runs` lists them)", cmd, cmd);
    goto out;
  }
  if (kind == RUN_RESUME && access(journal_path_or_default(first.journal_path), F_OK) != 0) {
    /* resume writes, but never starts a journal: there is nothing to resume */
    errorf("no journal at %s (runs are journaled by `weft run`; see --journal)",
           journal_path_or_default(first.journal_path));
    goto out;
  }
  j = open_journal(first.journal_path, kind == RUN_RESUME ? JOURNAL_WRITE : JOURNAL_READ);
  if (!j || !parse_run_id(j, first.file, &id)) goto out;
  snprintf(name, sizeof name, "run %" PRId64, id);
  if (!journal_run_get(j, id, true, &run, &err)) {
    errorf("%s", err ? err : "cannot read the run");
    goto out;
  }
  if (kind == RUN_RESUME) {
    if (strcmp(run.status, "ok") == 0) {
      errorf("resume: run %" PRId64 " already finished (ok); `weft replay %" PRId64 "` runs it again offline",
             id, id);
      goto out;
    }
    if (!journal_run_lock(j, id, &err)) {
      errorf("resume: %s", err ? err : "the run is in use");
      goto out;
    }
  }
  rc = run_module(&run, first.program, first.color, &first.imports, &ld, &from_journal, &unfit);
  loaded = true;
  if (rc != EXIT_OK) goto out;
  rc = EXIT_USAGE;
  if (kind == RUN_RESUME && !from_journal) {
    size_t len = 0;
    char hash[17];
    free(module_bytes(ld.mod, &len, hash));
    if (strcmp(hash, run.module_hash) != 0 && !first.force) {
      errorf("resume: %s has changed since run %" PRId64 " started (module %s in the journal, %s now), "
             "so its recorded effects may not fit the program any more; restore the file, or resume "
             "with --force to run the new program (recorded calls whose address and request still "
             "match are reused)", run.program, id, run.module_hash, hash);
      goto out;
    }
  }
  if (from_journal && !first.quiet)
    errorf("%s: %s; running the module recorded in the journal", cmd, unfit ? unfit : "the program");
  if (ld.mod->main_fn == NO_INDEX) {
    errorf("%s has no main function", run.program);
    goto out;
  }
  if (apply_recorded_flags(&run, kind, &o, &recorded) != EXIT_OK) goto out;
  if (parse_run_flags(argc, argv, 1, kind, true, &o) != EXIT_OK) goto out;
  if (!files_named_again(&o, id, kind)) goto out;
  if (!check_model_roles(ld.mod, &o, run.program)) goto out;
  rs = records_of(j, id);
  if (!rs) goto out;
  RunCtx cx;
  memset(&cx, 0, sizeof cx);
  cx.kind = kind;
  cx.input_text = run.inputs;
  cx.run = &run;
  cx.serve = rs;
  cx.serve_name = name;
  if (kind == RUN_RESUME) {
    cx.journal = j;
    cx.mode = SERVE_RESUME;
    cx.serve_journaled = true;
    run.resumes++;
    free(run.status);
    run.status = xstrdup("running");
    run.ended_at = 0;
    if (!journal_run_update(j, &run, &err)) {
      errorf("%s", err ? err : "cannot write the journal");
      goto out;
    }
    if (!o.quiet)
      errorf("resuming run %" PRId64 " (%zu recorded effect%s; journal %s)", id, records_count(rs),
             records_count(rs) == 1 ? "" : "s", j->path);
  } else {
    if (o.check && strcmp(run.status, "ok") != 0 && strcmp(run.status, "failed") != 0) {
      errorf("replay --check: run %" PRId64 " never finished (%s), so there is no result to compare with; "
             "`weft resume %" PRId64 "` finishes it", id, run.status, id);
      goto out;
    }
    cx.mode = SERVE_STRICT;
    cx.recorded_result = run.status[0] == 'o' ? run.result : run.error;
    cx.recorded_status = run.status;
  }
  rc = execute(&o, ld.mod, run.program, &cx);
out:
  free(err);
  free(unfit);
  records_free(rs);
  if (loaded) loaded_free(&ld);
  cJSON_Delete(recorded);
  run_rec_free(&run);
  journal_close(j);
  opts_free(&first);
  opts_free(&o);
  for (int i = 0; i < argc; i++) free(copy[i]);
  free(copy);
  return rc;
}

static int cmd_resume(int argc, char **argv) { return resume_or_replay(argc, argv, RUN_RESUME); }
static int cmd_replay(int argc, char **argv) { return resume_or_replay(argc, argv, RUN_REPLAY); }

/* ---- weft build / disasm ------------------------------------------------- */

/* FILE.weft -> FILE.weftc (any other name gets ".weftc" appended). */
static char *default_output(const char *file) {
  size_t n = strlen(file);
  if (n > 5 && strcmp(file + n - 5, ".weft") == 0) n -= 5;
  char *out = malloc(n + 7);
  if (!out) return NULL;
  memcpy(out, file, n);
  memcpy(out + n, ".weftc", 7);
  return out;
}

static int cmd_build(int argc, char **argv) {
  const char *file = NULL, *out = NULL;
  ColorMode color = COLOR_AUTO;
  ImportPaths ip = {NULL, 0};
  int rc = EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    int r;
    if (is_help_flag(a)) {
      fputs(HELP_BUILD, stdout);
      free(ip.dirs);
      return EXIT_OK;
    } else if ((r = flag_value(argc, argv, &i, "-o", &v)) != 0 ||
               (r = flag_value(argc, argv, &i, "--output", &v)) != 0) {
      if (r < 0) goto done;
      out = v;
    } else if ((r = flag_value(argc, argv, &i, "--color", &v)) != 0) {
      if (r < 0 || !parse_color(v, &color)) goto done;
    } else if ((r = flag_value(argc, argv, &i, "--import-path", &v)) != 0) {
      if (r < 0 || !add_import_path(&ip, v)) goto done;
    } else if (a[0] == '-' && a[1] != '\0') {
      errorf("build: unknown flag '%s' (see 'weft help build')", a);
      goto done;
    } else if (file) {
      errorf("build: more than one file given ('%s' and '%s')", file, a);
      goto done;
    } else {
      file = a;
    }
  }
  if (!file) {
    errorf("build: no file given (usage: weft build FILE -o OUT.weftc)");
    goto done;
  }
  Loaded ld;
  rc = load_module(file, color, &ip, &ld);
  if (rc != EXIT_OK) {
    loaded_free(&ld);
    goto done;
  }
  char *def = out ? NULL : default_output(file);
  const char *dest = out ? out : def;
  size_t len = 0;
  uint8_t *bytes = dest ? module_write(ld.mod, &len) : NULL;
  if (!bytes) {
    errorf("cannot encode the module of '%s'", file);
    rc = EXIT_FAIL;
  } else {
    FILE *f = fopen(dest, "wb");
    if (!f) {
      errorf("cannot write '%s': %s", dest, strerror(errno));
      rc = EXIT_FAIL;
    } else {
      size_t put = fwrite(bytes, 1, len, f);
      int closed = fclose(f);
      if (put != len || closed != 0) {
        errorf("cannot write '%s': %s", dest, strerror(errno));
        remove(dest);
        rc = EXIT_FAIL;
      }
    }
  }
  free(bytes);
  free(def);
  loaded_free(&ld);
done:
  free(ip.dirs);
  return rc;
}

static int cmd_disasm(int argc, char **argv) {
  const char *file = NULL;
  ColorMode color = COLOR_AUTO;
  ImportPaths ip = {NULL, 0};
  int rc = EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    int r;
    if (is_help_flag(a)) {
      fputs(HELP_DISASM, stdout);
      free(ip.dirs);
      return EXIT_OK;
    } else if ((r = flag_value(argc, argv, &i, "--color", &v)) != 0) {
      if (r < 0 || !parse_color(v, &color)) goto done;
    } else if ((r = flag_value(argc, argv, &i, "--import-path", &v)) != 0) {
      if (r < 0 || !add_import_path(&ip, v)) goto done;
    } else if (a[0] == '-' && a[1] != '\0') {
      errorf("disasm: unknown flag '%s' (see 'weft help disasm')", a);
      goto done;
    } else if (file) {
      errorf("disasm: more than one file given ('%s' and '%s')", file, a);
      goto done;
    } else {
      file = a;
    }
  }
  if (!file) {
    errorf("disasm: no file given (usage: weft disasm FILE)");
    goto done;
  }
  Loaded ld;
  rc = load_module(file, color, &ip, &ld);
  if (rc == EXIT_OK) {
    /* a module's names and strings may hold anything: the listing is escaped */
    char *text = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&text, &len);
    if (mf) {
      module_disasm(mf, ld.mod);
      if (fclose(mf) == 0) {
        term_write(stdout, text, len, TERM_TEXT);
      } else {
        errorf("disasm: cannot build the listing");
        rc = EXIT_FAIL;
      }
      free(text);
    } else {
      errorf("disasm: cannot build the listing: %s", strerror(errno));
      rc = EXIT_FAIL;
    }
  }
  loaded_free(&ld);
done:
  free(ip.dirs);
  return rc;
}

/* ---- the journal ------------------------------------------------------------ */

const char *journal_path_or_default(const char *flag) {
  const char *env = getenv("WEFT_JOURNAL");
  return flag && flag[0] ? flag : env && env[0] ? env : JOURNAL_DEFAULT_PATH;
}

bool parse_run_id(Journal *j, const char *s, int64_t *id) {
  if (strcmp(s, "last") == 0) {
    RunRec *rs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (!journal_runs_list(j, &rs, &n, &err)) {
      errorf("%s", err ? err : "cannot read the journal");
      free(err);
      return false;
    }
    if (n) *id = rs[n - 1].id;
    run_recs_free(rs, n);
    if (!n) errorf("no runs in %s yet", j->path);
    return n > 0;
  }
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!s[0] || *end || errno || v <= 0) {
    errorf("'%s' is not a run id (a number from `weft runs`, or last)", s);
    return false;
  }
  *id = (int64_t)v;
  return true;
}

/* ---- weft help / --version ------------------------------------------------ */

static int cmd_help(int argc, char **argv);

static const Command commands[] = {
    {"check", "check programs for errors", HELP_CHECK, cmd_check},
    {"run", "run a program", HELP_RUN, cmd_run},
    {"build", "compile to a .weftc module", HELP_BUILD, cmd_build},
    {"disasm", "print bytecode", HELP_DISASM, cmd_disasm},
    {"resume", "finish an interrupted or failed run", HELP_RESUME, cmd_resume},
    {"replay", "run again offline from a run's journal", HELP_REPLAY, cmd_replay},
    {"runs", "list the journaled runs", HELP_RUNS, cmd_runs},
    {"show", "show a run's fibers and effects", HELP_SHOW, cmd_show},
    {"trace", "print a run's events, or its timeline page", HELP_TRACE, cmd_trace},
    {"help", "show help", HELP_HELP, cmd_help},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const Command *find_command(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

static int cmd_help(int argc, char **argv) {
  if (argc < 2 || is_help_flag(argv[1])) {
    fputs(argc < 2 ? USAGE : HELP_HELP, stdout);
    return EXIT_OK;
  }
  if (argc > 2) {
    errorf("help: one command at most (usage: weft help [COMMAND])");
    return EXIT_USAGE;
  }
  const Command *c = find_command(argv[1]);
  if (!c) {
    errorf("help: unknown command '%s' (see 'weft help')", argv[1]);
    return EXIT_USAGE;
  }
  fputs(c->help, stdout);
  return EXIT_OK;
}


static void print_version(void) {
  printf("weft %s (bytecode format %d)\n", PACKAGE_VERSION, WEFTC_VERSION);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(USAGE, stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0) {
    print_version();
    return EXIT_OK;
  }
  if (is_help_flag(cmd)) {
    fputs(USAGE, stdout);
    return EXIT_OK;
  }
  const Command *c = find_command(cmd);
  if (!c) {
    if (cmd[0] == '-')
      errorf("unknown flag '%s' (see 'weft help')", cmd);
    else
      errorf("unknown command '%s' (see 'weft help')", cmd);
    return EXIT_USAGE;
  }
  return c->run(argc - 1, argv + 1);
}
