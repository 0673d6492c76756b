/* grants.h — what the person running a program lets it touch: paths to
 * read and write, programs to run, hosts to reach (docs/capabilities.md,
 * docs/security.md "Capabilities and grants").
 *
 * Nothing is granted by default. Grants come from the command line
 * (--allow-read=PATH, --allow-write=PATH, --allow-run=PROGRAM,
 * --allow-net=HOST[:PORT], each repeatable) or a file named explicitly with
 * --grants=FILE, never from anything found next to the program. Each is
 * resolved once, when it is added: a path to its canonical absolute form
 * and a descriptor of its directory, a program to its absolute path.
 *
 * Paths a program names are never checked and then opened: grants_open
 * splits the path by components (after making it absolute and dropping
 * `.`, `..` and repeated slashes lexically), finds the granted root it
 * lies under, and opens the rest with openat2 from that root's descriptor
 * with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV, so a symbolic link, a directory swapped for one, or a
 * mount point on the way is refused by the kernel at the moment of the
 * open. Only regular files and directories are opened (no FIFO, device
 * or socket; nothing on /proc or /sys). Even inside a broad grant, names
 * beginning with `.env`, a `.ssh` directory and the paths marked with
 * grants_deny (the run's journal) are refused unless a grant names them
 * exactly. Every refusal says which grant would allow the access. */
#ifndef WEFT_GRANTS_H
#define WEFT_GRANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/buf.h"

/* The four kinds; a path grant query may ask for READ, WRITE or both. */
typedef enum GrantKind {
  GRANT_READ = 1u,
  GRANT_WRITE = 2u,
  GRANT_RUN = 4u,
  GRANT_NET = 8u,
} GrantKind;

/* What grants_open opens. */
typedef enum GrantOpen {
  GRANT_OPEN_FILE,     /* a regular file (read, or write: created or truncated) */
  GRANT_OPEN_DIR,      /* a directory, for listing (read) */
  GRANT_OPEN_ANY,      /* a regular file or a directory, for exists() (read) */
} GrantOpen;

typedef struct Grants Grants;

Grants *grants_new(void);
void grants_free(Grants *g);   /* closes the roots' descriptors; NULL-safe */

/* Adds one grant of kind from its flag's text (relative paths against
 * the working directory). False + *err (malloc'd, naming the flag) when
 * it cannot be resolved: a path that does not exist (a write grant may
 * name a file not yet made, in a directory that exists), a path in /proc,
 * /sys or /dev, a program not found on PATH or not executable, a host
 * that is not one. */
bool grants_add(Grants *g, GrantKind kind, const char *text, char **err);
/* --grants=FILE: {"read": [PATH...], "read_untrusted": [...], "write":
 * [...], "run": [PROGRAM or PROGRAM:trusted, ...],
 * "net": [...]} (each optional), added as the flags would be. The file is
 * read as named (at most 1 MiB); false + *err when it cannot be read or is
 * malformed. */
bool grants_add_file(Grants *g, const char *path, char **err);
/* --allow-read-untrusted=PATH: a read grant whose results (fs.read, list,
 * glob) are untrusted content (docs/security.md, "Untrusted content:
 * sources, sinks and the journal"). False + *err as grants_add. */
bool grants_add_read_untrusted(Grants *g, const char *text, char **err);
/* Whether an untrusted read grant covers path (lexically absolute), or,
 * with below, lies beneath it (a glob walks down from path). */
bool grants_read_untrusted(const Grants *g, const char *path, bool below);
/* Whether the program at abs_path (grants_program's) was granted as
 * PROGRAM:trusted: its stdout and stderr are not labelled untrusted. */
bool grants_program_trusted(const Grants *g, const char *abs_path);
/* A path refused even inside a broad grant unless a grant names it
 * exactly (the journal and its companions: PATH, PATH-wal, PATH-shm,
 * PATH-lock). Made absolute lexically; need not exist yet. */
void grants_deny(Grants *g, const char *path);
/* --allow-env=NAME: a child process (std/proc) also gets NAME from
 * weft's environment, besides PATH, HOME, LANG and TERM. False + *err for
 * a name that is not one ([A-Za-z_][A-Za-z0-9_]*). */
bool grants_add_env(Grants *g, const char *name, char **err);
/* The names added, NULL-terminated (never NULL). */
const char *const *grants_env(const Grants *g);
/* The run is --untrusted: a granted program runs only fully confined
 * (docs/security.md, "Child processes"). */
void grants_set_untrusted(Grants *g, bool on);
bool grants_untrusted(const Grants *g);
/* No grant at all. */
bool grants_empty(const Grants *g);

/* Opens path (absolute, or relative to the working directory) for what
 * kind asks (GRANT_READ or GRANT_WRITE) under a grant of that kind; open
 * says what it must be. Returns the descriptor (O_CLOEXEC), or -1 + *err
 * (malloc'd): the refusal names the flag that would grant it, e.g.
 *   reading /x/y needs --allow-read=/x/y (or a directory above it)
 * A path with a NUL byte (len counts bytes) is refused. errno tells the
 * cause: EACCES no grant covers it, ENOENT it does not exist, ELOOP a
 * symbolic link, EINVAL not what open asks for or not a path. A directory
 * (GRANT_OPEN_DIR) is opened for reading under either kind of grant. */
int grants_open(const Grants *g, const char *path, size_t len, GrantKind kind, GrantOpen open,
                char **err);
/* The canonical absolute form of path as grants_open compares it, or NULL
 * + *err for a path that is not one (empty, NUL). For messages and glob. */
char *grants_abs_path(const char *path, size_t len, char **err);
/* Whether a grant of kind covers path, without opening anything (the
 * static check of `weft run` before the program starts). */
bool grants_covers(const Grants *g, GrantKind kind, const char *path);
/* True when a write grant of a directory holds the run's journal (or one
 * of its -wal, -shm files): std/fs refuses the journal inside such a
 * grant, but a child process confined by Landlock gets whole trees, so it
 * could rewrite it. *journal: the path. */
bool grants_children_reach_journal(const Grants *g, const char **journal);

/* PROGRAM as the program names it ("git", or an absolute path): true and
 * *abs_path (malloc'd) the absolute path fixed when the grant was added,
 * or false + *err naming the flag (--allow-run=git). */
bool grants_program(const Grants *g, const char *name, char **abs_path, char **err);
/* HOST and PORT (0: any port, for the static check) under a --allow-net
 * grant: a grant without a port covers every port of its host, a grant
 * with one only that port. Hosts compare case-insensitively. False +
 * *err naming the flag. */
bool grants_host(const Grants *g, const char *host, int port, char **err);

/* The HOST or HOST:PORT of an http or https URL, as --allow-net names it
 * ("example.com", "localhost:8080", "[::1]:8080"), malloc'd; NULL when url
 * is not an http(s) URL with a host. */
char *grants_url_host(const char *url);
/* std/http's credentials: the header line ("authorization: Bearer ...")
 * the grants file bound to exactly this scheme ("http", "https"), host
 * (lower case; IPv6 in brackets) and port, or NULL. An object in the
 * file's "net" list, {"origin": "https://HOST[:PORT]", "header": NAME,
 * "env": VAR}, binds it (the value read from VAR when the grants are
 * added) and grants HOST:PORT. */
const char *grants_credential(const Grants *g, const char *scheme, const char *host, int port);
/* Every credential value, NULL-terminated (NULL: none): error messages
 * are scrubbed of them. */
const char *const *grants_secrets(const Grants *g);

/* The grants as JSON, for messages and `weft check --caps`:
 * {"read":[..],"write":[..],"run":[{"name":..,"path":..}],"net":[..]}. */
void grants_json(const Grants *g, Buf *out);

/* The flag that grants kind ("--allow-read"). */
const char *grant_flag(GrantKind kind);

#endif
