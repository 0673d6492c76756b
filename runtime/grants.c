/* grants.c — the run's grants and the one place a path, a program or a
 * host is checked against them (grants.h says what holds). */
#define _GNU_SOURCE
#include "grants.h"
#include "../base/util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYSFS_MAGIC
#define SYSFS_MAGIC 0x62656572
#endif

typedef struct PathGrant {
  char *path;      /* canonical absolute path (realpath) */
  char *lexical;   /* as given, made absolute lexically: matched too */
  char *file;      /* a grant of one file: its name in dirfd; NULL: a directory */
  int dirfd;       /* O_PATH descriptor of the directory (or the file's directory) */
  GrantKind kind;  /* GRANT_READ or GRANT_WRITE */
  bool untrusted;  /* --allow-read-untrusted: what is read through it is labelled */
} PathGrant;

typedef struct ProgGrant {
  char *name;      /* as given */
  char *path;      /* absolute, fixed when added */
  bool trusted;    /* PROGRAM:trusted: its output is not labelled untrusted */
} ProgGrant;

typedef struct NetGrant {
  char *host;      /* lower case, without brackets */
  int port;        /* 0: any */
} NetGrant;

/* A header the operator bound to one origin (std/http's credentials). */
typedef struct NetCred {
  char scheme[8];  /* "http" or "https" */
  char *host;      /* lower case; an IPv6 address in brackets */
  int port;
  char *line;      /* "name: value", the header as sent */
} NetCred;

struct Grants {
  PathGrant *paths; uint32_t npaths, cap_paths;
  ProgGrant *progs; uint32_t nprogs, cap_progs;
  NetGrant *nets; uint32_t nnets, cap_nets;
  char **deny; uint32_t ndeny, cap_deny;
  char **env; uint32_t nenv, cap_env;   /* NULL-terminated */
  bool untrusted;
  NetCred *creds; uint32_t ncreds, cap_creds;
  char **secrets; uint32_t cap_secrets;   /* the credentials' values, NULL-terminated */
};

static void *grow(void *p, uint32_t *cap, uint32_t n, size_t elem) {
  if (n < *cap) return p;
  *cap = *cap ? *cap * 2 : 4;
  return xrealloc(p, (size_t)*cap * elem);
}

const char *grant_flag(GrantKind kind) {
  switch (kind) {
  case GRANT_READ: return "--allow-read";
  case GRANT_WRITE: return "--allow-write";
  case GRANT_RUN: return "--allow-run";
  case GRANT_NET: return "--allow-net";
  }
  return "--allow-read";
}

static const char *verb(GrantKind kind) { return kind == GRANT_WRITE ? "writing" : "reading"; }

Grants *grants_new(void) { return xcalloc(1, sizeof(Grants)); }

void grants_free(Grants *g) {
  if (!g) return;
  for (uint32_t i = 0; i < g->npaths; i++) {
    free(g->paths[i].path);
    free(g->paths[i].lexical);
    free(g->paths[i].file);
    if (g->paths[i].dirfd >= 0) close(g->paths[i].dirfd);
  }
  for (uint32_t i = 0; i < g->nprogs; i++) {
    free(g->progs[i].name);
    free(g->progs[i].path);
  }
  for (uint32_t i = 0; i < g->nnets; i++) free(g->nets[i].host);
  for (uint32_t i = 0; i < g->ndeny; i++) free(g->deny[i]);
  for (uint32_t i = 0; i < g->nenv; i++) free(g->env[i]);
  free(g->env);
  for (uint32_t i = 0; i < g->ncreds; i++) {
    free(g->creds[i].host);
    free(g->creds[i].line);
    free(g->secrets[i]);
  }
  free(g->creds);
  free(g->secrets);
  free(g->paths);
  free(g->progs);
  free(g->nets);
  free(g->deny);
  free(g);
}

bool grants_add_env(Grants *g, const char *name, char **err) {
  bool ok = (name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z') || name[0] == '_';
  for (const char *c = name; ok && *c; c++)
    ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
  if (!ok) {
    *err = xasprintf("--allow-env=%s: not a variable name", name);
    return false;
  }
  g->env = grow(g->env, &g->cap_env, g->nenv + 1, sizeof *g->env);
  g->env[g->nenv++] = xstrdup(name);
  g->env[g->nenv] = NULL;
  return true;
}

const char *const *grants_env(const Grants *g) {
  static const char *const none[] = {NULL};
  return g && g->nenv ? (const char *const *)g->env : none;
}

void grants_set_untrusted(Grants *g, bool on) { g->untrusted = on; }
bool grants_untrusted(const Grants *g) { return g && g->untrusted; }

bool grants_empty(const Grants *g) { return !g || (!g->npaths && !g->nprogs && !g->nnets); }

/* ---- paths, lexically ----------------------------------------------------------- */

/* path made absolute (against the working directory) with `.`, `..` and
 * repeated slashes removed by components: "/a/b", or "/" for the root.
 * Nothing is resolved on disk: the open that follows refuses every
 * symbolic link, so the lexical form is the one the kernel walks. */
char *grants_abs_path(const char *path, size_t len, char **err) {
  if (len == 0) {
    *err = xasprintf("an empty path names no file");
    return NULL;
  }
  if (memchr(path, '\0', len)) {
    *err = xasprintf("a path with a NUL byte names no file");
    return NULL;
  }
  Buf in;
  buf_init(&in);
  if (path[0] != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
      buf_free(&in);
      *err = xasprintf("cannot read the working directory: %s", strerror(errno));
      return NULL;
    }
    buf_puts(&in, cwd);
    buf_putc(&in, '/');
  }
  buf_put(&in, path, len);
  Buf out;
  buf_init(&out);
  const char *p = in.data, *end = in.data + in.len;
  while (p < end) {
    while (p < end && *p == '/') p++;
    const char *q = p;
    while (q < end && *q != '/') q++;
    size_t n = (size_t)(q - p);
    if (n == 0 || (n == 1 && p[0] == '.')) {
      /* nothing */
    } else if (n == 2 && p[0] == '.' && p[1] == '.') {
      while (out.len && out.data[out.len - 1] != '/') out.len--;
      if (out.len) out.len--; /* the slash too */
    } else {
      buf_putc(&out, '/');
      buf_put(&out, p, n);
    }
    p = q;
  }
  if (!out.len) buf_putc(&out, '/');
  buf_putc(&out, '\0');
  buf_free(&in);
  return out.data;
}

/* The rest of p below root ("" for root itself, "a/b" beneath it), or
 * NULL when p is not root or beneath it. By components: /w/data-evil is
 * not beneath /w/data. */
static const char *beneath(const char *root, const char *p) {
  if (strcmp(root, "/") == 0) return p + 1;
  size_t n = strlen(root);
  if (strncmp(root, p, n) != 0) return NULL;
  if (p[n] == '\0') return p + n;
  if (p[n] == '/') return p + n + 1;
  return NULL;
}

/* What a path grant leaves below it for p, as beneath() does; a grant of
 * one file covers that file only. */
static const char *grant_rest(const PathGrant *pg, const char *p) {
  const char *r = beneath(pg->path, p);
  if (!r && pg->lexical) r = beneath(pg->lexical, p);
  if (r && pg->file && *r) return NULL;
  return r;
}

/* The grant of kind whose root is deepest above p (the most specific). */
static const PathGrant *find_grant(const Grants *g, GrantKind kind, const char *p, const char **rest) {
  const PathGrant *best = NULL;
  size_t best_left = SIZE_MAX;
  for (uint32_t i = 0; g && i < g->npaths; i++) {
    const PathGrant *pg = &g->paths[i];
    if (pg->kind != kind) continue;
    const char *r = grant_rest(pg, p);
    if (!r) continue;
    size_t left = strlen(r);
    if (left < best_left) {
      best = pg;
      best_left = left;
      *rest = r;
    }
  }
  return best;
}

/* Names denied inside a broad grant: `.env`, `.env.local`, ... and `.ssh`
 * below the grant's root, and the paths of grants_deny. NULL: none; else
 * what the refusal says it is. */
static const char *sensitive(const Grants *g, const PathGrant *pg, const char *p, const char *rest) {
  for (const char *c = rest; *c;) {
    const char *e = strchr(c, '/');
    size_t n = e ? (size_t)(e - c) : strlen(c);
    if (n >= 4 && strncmp(c, ".env", 4) == 0) return "an environment file (.env*)";
    if (n == 4 && strncmp(c, ".ssh", 4) == 0) return "an SSH directory (.ssh)";
    if (!e) break;
    c = e + 1;
  }
  /* the journal by any spelling: as written, and as the real path beneath
   * the grant's root (a grant matches its pre-link form too, so
   * /home/u/p may be /data/home/u/p, where the journal was named) */
  char *real = strcmp(pg->path, "/") == 0 ? xasprintf("/%s", rest) : xasprintf("%s/%s", pg->path, rest);
  const char *why = NULL;
  for (uint32_t i = 0; i < g->ndeny && !why; i++)
    if (beneath(g->deny[i], p) || beneath(g->deny[i], real)) why = "the run's journal";
  free(real);
  return why;
}

bool grants_children_reach_journal(const Grants *g, const char **journal) {
  for (uint32_t i = 0; g && i < g->ndeny; i++)
    for (uint32_t k = 0; k < g->npaths; k++) {
      const PathGrant *pg = &g->paths[k];
      if (pg->kind != GRANT_WRITE) continue;
      const char *r = grant_rest(pg, g->deny[i]);
      if (r && *r) {           /* beneath a directory granted, not named exactly */
        *journal = g->deny[i];
        return true;
      }
    }
  return false;
}

/* ---- adding grants -------------------------------------------------------------- */

static bool bad_fs(const char *p, int fd) {
  if (beneath("/proc", p) || beneath("/sys", p) || beneath("/dev", p)) return true;
  struct statfs sf;
  if (fd >= 0 && fstatfs(fd, &sf) == 0 &&
      (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC))
    return true;
  return false;
}

static bool add_path(Grants *g, GrantKind kind, const char *text, char **err) {
  const char *flag = grant_flag(kind);
  char *lex = grants_abs_path(text, strlen(text), err);
  if (!lex) {
    char *m = xasprintf("%s=%s: %s", flag, text, *err);
    free(*err);
    *err = m;
    return false;
  }
  char *canon = realpath(lex, NULL);
  char *file = NULL;
  char *dir = NULL;
  struct stat st;
  if (canon && stat(canon, &st) == 0 && S_ISDIR(st.st_mode)) {
    dir = xstrdup(canon);
  } else if (canon && S_ISREG(st.st_mode)) {
    char *slash = strrchr(canon, '/');
    dir = slash == canon ? xstrdup("/") : xstrndup(canon, (size_t)(slash - canon));
    file = xstrdup(slash + 1);
  } else if (!canon && errno == ENOENT && kind == GRANT_WRITE && strcmp(lex, "/") != 0) {
    /* a file to be made: its directory must exist */
    char *slash = strrchr(lex, '/');
    char *parent = slash == lex ? xstrdup("/") : xstrndup(lex, (size_t)(slash - lex));
    dir = realpath(parent, NULL);
    free(parent);
    if (!dir) {
      *err = xasprintf("%s=%s: its directory does not exist", flag, text);
      free(lex);
      return false;
    }
    file = xstrdup(slash + 1);
    canon = xasprintf("%s%s%s", dir, strcmp(dir, "/") ? "/" : "", file);
  } else {
    *err = canon ? xasprintf("%s=%s: not a regular file or a directory", flag, text)
                 : xasprintf("%s=%s: %s", flag, text, strerror(errno));
    free(canon);
    free(lex);
    return false;
  }
  int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || bad_fs(canon, fd)) {
    *err = fd < 0 ? xasprintf("%s=%s: %s", flag, text, strerror(errno))
                  : xasprintf("%s=%s: /proc, /sys and /dev are never granted", flag, text);
    if (fd >= 0) close(fd);
    free(canon);
    free(lex);
    free(dir);
    free(file);
    return false;
  }
  free(dir);
  g->paths = grow(g->paths, &g->cap_paths, g->npaths, sizeof *g->paths);
  PathGrant *pg = &g->paths[g->npaths++];
  pg->path = canon;
  pg->lexical = strcmp(lex, canon) ? lex : NULL;
  if (!pg->lexical) free(lex);
  pg->file = file;
  pg->dirfd = fd;
  pg->kind = kind;
  pg->untrusted = false;
  return true;
}

static bool executable(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* PROGRAM or PROGRAM:trusted (a program's own name never ends so). */
static bool add_prog(Grants *g, const char *spec, char **err) {
  char *abs = NULL;
  static const char sfx[] = ":trusted";
  size_t sn = strlen(spec), tn = sizeof sfx - 1;
  bool trusted = sn >= tn && strcmp(spec + sn - tn, sfx) == 0;
  char *own = xstrndup(spec, trusted ? sn - tn : sn);
  const char *text = own;
  bool ok = false;
  if (!*text) {
    *err = xasprintf("--allow-run needs a program name or path");
    goto out;
  }
  if (strchr(text, '/')) {
    abs = realpath(text, NULL);
    if (abs && !executable(abs)) {
      free(abs);
      abs = NULL;
    }
  } else {
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *d = path; !abs;) {
      const char *e = strchr(d, ':');
      size_t n = e ? (size_t)(e - d) : strlen(d);
      if (n && d[0] == '/') { /* an empty or relative PATH entry is never searched */
        char *cand = xasprintf("%.*s/%s", (int)n, d, text);
        if (executable(cand)) abs = realpath(cand, NULL);
        free(cand);
      }
      if (!e) break;
      d = e + 1;
    }
  }
  if (!abs) {
    *err = xasprintf("--allow-run=%s: no executable program %s %s", text,
                     strchr(text, '/') ? "at" : "named", strchr(text, '/') ? text : "on PATH");
    goto out;
  }
  g->progs = grow(g->progs, &g->cap_progs, g->nprogs, sizeof *g->progs);
  g->progs[g->nprogs].name = xstrdup(text);
  g->progs[g->nprogs].trusted = trusted;
  g->progs[g->nprogs++].path = abs;
  ok = true;
out:
  free(own);
  return ok;
}

/* HOST, HOST:PORT, [V6] or [V6]:PORT. */
static bool parse_hostport(const char *text, char **host, int *port) {
  const char *h = text, *he, *pp = NULL;
  if (*h == '[') {
    he = strchr(h, ']');
    if (!he || he == h + 1) return false;
    h++;
    if (he[1] == ':') pp = he + 2;
    else if (he[1]) return false;
  } else {
    he = strchr(h, ':');
    if (he) pp = he + 1;
    else he = h + strlen(h);
    if (he == h) return false;
  }
  for (const char *c = h; c < he; c++)
    if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '-' || *c == ':' || *c == '_'))
      return false;
  *port = 0;
  if (pp) {
    long v = 0;
    if (!*pp) return false;
    for (const char *c = pp; *c; c++) {
      if (*c < '0' || *c > '9') return false;
      v = v * 10 + (*c - '0');
      if (v > 65535) return false;
    }
    if (v == 0) return false;
    *port = (int)v;
  }
  *host = xstrndup(h, (size_t)(he - h));
  for (char *c = *host; *c; c++) *c = (char)tolower((unsigned char)*c);
  return true;
}

static bool add_net(Grants *g, const char *text, char **err) {
  char *host;
  int port;
  if (!parse_hostport(text, &host, &port)) {
    *err = xasprintf("--allow-net needs HOST or HOST:PORT (a port from 1 to 65535), not '%s'", text);
    return false;
  }
  g->nets = grow(g->nets, &g->cap_nets, g->nnets, sizeof *g->nets);
  g->nets[g->nnets].host = host;
  g->nets[g->nnets++].port = port;
  return true;
}

bool grants_add(Grants *g, GrantKind kind, const char *text, char **err) {
  switch (kind) {
  case GRANT_READ:
  case GRANT_WRITE: return add_path(g, kind, text, err);
  case GRANT_RUN: return add_prog(g, text, err);
  case GRANT_NET: return add_net(g, text, err);
  }
  *err = xasprintf("unknown grant");
  return false;
}

/* {"origin": "https://api.example.com[:PORT]", "header": "authorization",
 * "env": "VAR"} in the grants file's "net": grants the origin's host and
 * port, and binds the header, its value read from VAR now, to exactly that
 * scheme, host and port (docs/capabilities.md, "std/http"). */
static bool add_credential(Grants *g, const cJSON *o, char **err) {
  const cJSON *jo = cJSON_GetObjectItemCaseSensitive(o, "origin");
  const cJSON *jh = cJSON_GetObjectItemCaseSensitive(o, "header");
  const cJSON *je = cJSON_GetObjectItemCaseSensitive(o, "env");
  int nkeys = cJSON_GetArraySize(o);
  if (!cJSON_IsString(jo) || !cJSON_IsString(jh) || !cJSON_IsString(je) || nkeys != 3) {
    *err = xstrdup("a \"net\" object needs exactly \"origin\", \"header\" and \"env\" (strings)");
    return false;
  }
  const char *origin = jo->valuestring, *rest;
  char scheme[8];
  if (strncmp(origin, "https://", 8) == 0) {
    strcpy(scheme, "https");
    rest = origin + 8;
  } else if (strncmp(origin, "http://", 7) == 0) {
    strcpy(scheme, "http");
    rest = origin + 7;
  } else {
    *err = xasprintf_cap(512, "the origin '%s' is not http://HOST[:PORT] or https://HOST[:PORT]", origin);
    return false;
  }
  char *host = NULL;
  int port = 0;
  if (strchr(rest, '/') || strchr(rest, '@') || !parse_hostport(rest, &host, &port)) {
    *err = xasprintf_cap(512, "the origin '%s' is not http://HOST[:PORT] or https://HOST[:PORT] (no path, no user)",
                         origin);
    return false;
  }
  if (!port) port = strcmp(scheme, "https") == 0 ? 443 : 80;
  const char *name = jh->valuestring;
  bool token = *name != 0;
  for (const char *c = name; *c && token; c++)
    token = *c > 0x20 && *c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", *c);
  if (!token) {
    free(host);
    *err = xasprintf_cap(512, "the header name '%s' is not an HTTP token", name);
    return false;
  }
  const char *value = getenv(je->valuestring);
  if (!value || !*value || strpbrk(value, "\r\n")) {
    free(host);
    *err = xasprintf_cap(512, "the credential for %s needs the environment variable %s (set, one line)", origin,
                         je->valuestring);
    return false;
  }
  /* the host is granted with its port, like --allow-net=HOST:PORT */
  bool v6 = strchr(host, ':') != NULL;
  g->nets = grow(g->nets, &g->cap_nets, g->nnets, sizeof *g->nets);
  g->nets[g->nnets].host = xstrdup(host);
  g->nets[g->nnets++].port = port;
  g->creds = grow(g->creds, &g->cap_creds, g->ncreds, sizeof *g->creds);
  NetCred *c = &g->creds[g->ncreds];
  strcpy(c->scheme, scheme);
  c->host = v6 ? xasprintf("[%s]", host) : xstrdup(host);
  free(host);
  c->port = port;
  c->line = xasprintf("%s: %s", name, value);
  if (g->ncreds + 2 > g->cap_secrets) {
    g->cap_secrets = g->cap_secrets ? g->cap_secrets * 2 : 4;
    g->secrets = xrealloc(g->secrets, (size_t)g->cap_secrets * sizeof *g->secrets);
  }
  g->secrets[g->ncreds++] = xstrdup(value);
  g->secrets[g->ncreds] = NULL;
  return true;
}

const char *grants_credential(const Grants *g, const char *scheme, const char *host, int port) {
  for (uint32_t i = 0; g && i < g->ncreds; i++) {
    const NetCred *c = &g->creds[i];
    if (c->port == port && strcmp(c->scheme, scheme) == 0 && strcasecmp(c->host, host) == 0) return c->line;
  }
  return NULL;
}

const char *const *grants_secrets(const Grants *g) {
  return g && g->ncreds ? (const char *const *)g->secrets : NULL;
}

bool grants_add_read_untrusted(Grants *g, const char *text, char **err) {
  if (!add_path(g, GRANT_READ, text, err)) return false;
  g->paths[g->npaths - 1].untrusted = true;
  return true;
}

bool grants_read_untrusted(const Grants *g, const char *path, bool below) {
  char *e = NULL;
  char *p = g ? grants_abs_path(path, strlen(path), &e) : NULL;
  free(e);
  if (!p) return false;
  bool hit = false;
  /* any untrusted grant above the path, not only the deepest: a broad
   * trusted grant does not vouch for what an untrusted one names; for a
   * walk (a glob), also any untrusted grant beneath where it starts */
  for (uint32_t i = 0; i < g->npaths && !hit; i++) {
    const PathGrant *pg = &g->paths[i];
    if (pg->kind != GRANT_READ || !pg->untrusted) continue;
    hit = grant_rest(pg, p) || (below && (beneath(p, pg->path) || (pg->lexical && beneath(p, pg->lexical))));
  }
  free(p);
  return hit;
}

bool grants_program_trusted(const Grants *g, const char *abs_path) {
  for (uint32_t i = 0; g && i < g->nprogs; i++)
    if (g->progs[i].trusted && strcmp(g->progs[i].path, abs_path) == 0) return true;
  return false;
}

bool grants_add_file(Grants *g, const char *path, char **err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
    *err = fd < 0 ? xasprintf("--grants: cannot read '%s': %s", path, strerror(errno))
                  : xasprintf("--grants: '%s' is not a regular file of at most 1 MiB", path);
    if (fd >= 0) close(fd);
    return false;
  }
  char *text = xmalloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  text[got] = '\0';
  cJSON *doc = cJSON_ParseWithLength(text, got);
  free(text);
  if (!cJSON_IsObject(doc)) {
    cJSON_Delete(doc);
    *err = xasprintf("--grants: '%s' is not a JSON object {\"read\": [...], \"write\": [...], "
                     "\"run\": [...], \"net\": [...]}", path);
    return false;
  }
  static const struct { const char *key; GrantKind kind; } keys[] = {
    {"read", GRANT_READ}, {"write", GRANT_WRITE}, {"run", GRANT_RUN}, {"net", GRANT_NET}};
  bool ok = true;
  for (const cJSON *it = doc->child; it && ok; it = it->next) {
    int k = -1;
    for (int i = 0; i < 4; i++)
      if (it->string && strcmp(it->string, keys[i].key) == 0) k = i;
    if (it->string && strcmp(it->string, "read_untrusted") == 0 && cJSON_IsArray(it)) {
      for (const cJSON *s = it->child; s && ok; s = s->next) {
        char *why = NULL;
        if (!cJSON_IsString(s)) why = xasprintf("\"read_untrusted\" holds something that is not a string");
        else if (grants_add_read_untrusted(g, s->valuestring, &why)) continue;
        *err = xasprintf("--grants: '%s': %s", path, why);
        free(why);
        ok = false;
      }
      continue;
    }
    if (it->string && strcmp(it->string, "env") == 0 && cJSON_IsArray(it)) {
      for (const cJSON *s = it->child; s && ok; s = s->next) {
        char *why = NULL;
        if (!cJSON_IsString(s)) why = xasprintf("\"env\" holds something that is not a string");
        else if (grants_add_env(g, s->valuestring, &why)) continue;
        *err = xasprintf("--grants: '%s': %s", path, why);
        free(why);
        ok = false;
      }
      continue;
    }
    if (k < 0 || !cJSON_IsArray(it)) {
      *err = xasprintf("--grants: '%s': \"%s\" is not one of read, read_untrusted, write, run, net, env with a list "
                       "of strings", path, it->string ? it->string : "");
      ok = false;
      break;
    }
    for (const cJSON *s = it->child; s && ok; s = s->next) {
      if (keys[k].kind == GRANT_NET && cJSON_IsObject(s)) {
        char *why = NULL;
        if (!add_credential(g, s, &why)) {
          *err = xasprintf("--grants: '%s': %s", path, why);
          free(why);
          ok = false;
        }
        continue;
      }
      if (!cJSON_IsString(s)) {
        *err = xasprintf("--grants: '%s': \"%s\" holds something that is not a string", path, keys[k].key);
        ok = false;
        break;
      }
      char *why = NULL;
      if (!grants_add(g, keys[k].kind, s->valuestring, &why)) {
        *err = xasprintf("--grants: '%s': %s", path, why);
        free(why);
        ok = false;
      }
    }
  }
  cJSON_Delete(doc);
  return ok;
}

void grants_deny(Grants *g, const char *path) {
  char *err = NULL;
  char *p = grants_abs_path(path, strlen(path), &err);
  free(err);
  if (!p) return;
  static const char *const tails[] = {"", "-wal", "-shm", "-lock", "-journal"};
  for (int i = 0; i < 5; i++) {
    g->deny = grow(g->deny, &g->cap_deny, g->ndeny, sizeof *g->deny);
    g->deny[g->ndeny++] = xasprintf("%s%s", p, tails[i]);
  }
  /* the canonical form too, when the directory already exists */
  char *canon = realpath(p, NULL);
  if (canon && strcmp(canon, p) != 0) {
    for (int i = 0; i < 5; i++) {
      g->deny = grow(g->deny, &g->cap_deny, g->ndeny, sizeof *g->deny);
      g->deny[g->ndeny++] = xasprintf("%s%s", canon, tails[i]);
    }
  }
  free(canon);
  free(p);
}

/* ---- queries -------------------------------------------------------------------- */

/* The refusal for a path no grant covers. */
static char *needs(GrantKind kind, const char *p) {
  return xasprintf("%s %s needs %s=%s (or a directory above it)", verb(kind), p, grant_flag(kind), p);
}

/* Checks p against g: the grant that covers it, or NULL + *err. */
static const PathGrant *covering(const Grants *g, GrantKind kind, const char *p, const char **rest,
                                 char **err) {
  const PathGrant *pg = find_grant(g, kind, p, rest);
  if (!pg) {
    *err = needs(kind, p);
    return NULL;
  }
  /* named exactly: a grant of this very file (or directory) */
  bool exact = **rest == '\0';
  const char *why = exact ? NULL : sensitive(g, pg, p, *rest);
  if (why) {
    *err = xasprintf("%s %s is refused: it is %s, which a grant of a directory above it does not "
                     "cover; name it exactly with %s=%s", verb(kind), p, why, grant_flag(kind), p);
    return NULL;
  }
  return pg;
}

bool grants_covers(const Grants *g, GrantKind kind, const char *path) {
  if (!g) return false;
  if (kind == GRANT_RUN) {
    char *abs = NULL, *err = NULL;
    bool ok = grants_program(g, path, &abs, &err);
    free(abs);
    free(err);
    return ok;
  }
  if (kind == GRANT_NET) {
    char *host = NULL, *err = NULL;
    int port = 0;
    bool ok = parse_hostport(path, &host, &port) && grants_host(g, host, port, &err);
    free(host);
    free(err);
    return ok;
  }
  char *err = NULL;
  char *p = grants_abs_path(path, strlen(path), &err);
  const char *rest = NULL;
  bool ok = p && covering(g, kind, p, &rest, &err);
  free(err);
  free(p);
  return ok;
}

static long sys_openat2(int dirfd, const char *path, struct open_how *how) {
  return syscall(SYS_openat2, dirfd, path, how, sizeof *how);
}

/* Why the kernel refused to open p, in words. */
static char *open_error(GrantKind kind, const char *p, int e) {
  const char *why;
  switch (e) {
  case ELOOP: why = "a symbolic link is on the way (links are never followed: grant or name the target)"; break;
  case EXDEV: why = "it crosses into another file system below the grant (grant a directory on that file system)"; break;
  case ENOSYS: why = "this kernel has no openat2 (Linux 5.6 or later), so no path can be opened safely"; break;
  case ENXIO: why = "it is not a regular file"; break;
  case EAGAIN: why = "the path changed while it was opened; try again"; break;
  default: why = strerror(e); break;
  }
  return xasprintf("%s %s: %s", verb(kind), p, why);
}

int grants_open(const Grants *g, const char *path, size_t len, GrantKind kind, GrantOpen open,
                char **err) {
  char *p = grants_abs_path(path, len, err);
  if (!p) {
    errno = EINVAL;
    return -1;
  }
  const char *rest = NULL;
  const PathGrant *pg = g ? covering(g, kind, p, &rest, err) : NULL;
  if (!g) *err = needs(kind, p);
  if (!pg) {
    free(p);
    errno = EACCES;
    return -1;
  }
  const char *rel = *rest ? rest : pg->file ? pg->file : ".";
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  int fd;
  if (kind == GRANT_WRITE && open != GRANT_OPEN_DIR) {
    /* what is there already must be a regular file before it is opened for
     * writing (a FIFO or device is never opened); the open below checks
     * again what it got */
    how.flags = O_PATH | O_CLOEXEC;
    fd = (int)sys_openat2(pg->dirfd, rel, &how);
    if (fd >= 0) {
      struct stat st;
      bool reg = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
      close(fd);
      if (!reg) {
        *err = xasprintf("writing %s: it is not a regular file", p);
        free(p);
        errno = EINVAL;
        return -1;
      }
    } else if (errno != ENOENT) {
      int e = errno;
      *err = open_error(kind, p, e);
      free(p);
      errno = e;
      return -1;
    }
    how.flags = O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    how.mode = 0666;
  } else {
    how.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (open == GRANT_OPEN_DIR ? O_DIRECTORY : 0);
  }
  fd = (int)sys_openat2(pg->dirfd, rel, &how);
  if (fd < 0) {
    int e = errno;
    *err = open_error(kind, p, e);
    free(p);
    errno = e;
    return -1;
  }
  struct stat st;
  struct statfs sf;
  bool fits = fstat(fd, &st) == 0 &&
              (open == GRANT_OPEN_FILE ? S_ISREG(st.st_mode)
               : open == GRANT_OPEN_DIR ? S_ISDIR(st.st_mode)
                                        : S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
  if (fits && fstatfs(fd, &sf) == 0 && (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC))
    fits = false;
  if (!fits) {
    close(fd);
    *err = xasprintf("%s %s: it is not a %s", verb(kind), p,
                     open == GRANT_OPEN_DIR ? "directory" : open == GRANT_OPEN_FILE ? "regular file"
                                                                                    : "regular file or directory");
    free(p);
    errno = EINVAL;
    return -1;
  }
  /* the descriptor is blocking from here: regular files never block */
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  free(p);
  return fd;
}

bool grants_program(const Grants *g, const char *name, char **abs_path, char **err) {
  char *want = NULL;
  if (strchr(name, '/')) {
    char *e2 = NULL;
    want = grants_abs_path(name, strlen(name), &e2);
    free(e2);
  }
  for (uint32_t i = 0; g && i < g->nprogs; i++) {
    const ProgGrant *pr = &g->progs[i];
    if (strcmp(pr->name, name) == 0 || (want && strcmp(pr->path, want) == 0)) {
      *abs_path = xstrdup(pr->path);
      free(want);
      return true;
    }
  }
  free(want);
  *err = xasprintf("running %s needs --allow-run=%s", name, name);
  return false;
}

bool grants_host(const Grants *g, const char *host, int port, char **err) {
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
    host++;
    n -= 2;
  }
  for (uint32_t i = 0; g && i < g->nnets; i++) {
    const NetGrant *ng = &g->nets[i];
    if (strlen(ng->host) == n && strncasecmp(ng->host, host, n) == 0 &&
        (ng->port == 0 || (port != 0 && ng->port == port)))
      return true;
  }
  if (port) *err = xasprintf("connecting to %.*s:%d needs --allow-net=%.*s:%d (or --allow-net=%.*s)",
                             (int)n, host, port, (int)n, host, port, (int)n, host);
  else *err = xasprintf("connecting to %.*s needs --allow-net=%.*s", (int)n, host, (int)n, host);
  return false;
}

void grants_json(const Grants *g, Buf *out) {
  buf_puts(out, "{\"read\":[");
  for (int k = 0; k < 2; k++) {
    GrantKind kind = k ? GRANT_WRITE : GRANT_READ;
    if (k) buf_puts(out, "],\"write\":[");
    bool first = true;
    for (uint32_t i = 0; g && i < g->npaths; i++) {
      if (g->paths[i].kind != kind) continue;
      if (!first) buf_putc(out, ',');
      first = false;
      buf_json_string(out, g->paths[i].path, strlen(g->paths[i].path));
    }
  }
  buf_puts(out, "],\"run\":[");
  for (uint32_t i = 0; g && i < g->nprogs; i++) {
    if (i) buf_putc(out, ',');
    buf_puts(out, "{\"name\":");
    buf_json_string(out, g->progs[i].name, strlen(g->progs[i].name));
    buf_puts(out, ",\"path\":");
    buf_json_string(out, g->progs[i].path, strlen(g->progs[i].path));
    buf_putc(out, '}');
  }
  buf_puts(out, "],\"net\":[");
  for (uint32_t i = 0; g && i < g->nnets; i++) {
    if (i) buf_putc(out, ',');
    Buf h;
    buf_init(&h);
    if (strchr(g->nets[i].host, ':')) buf_printf(&h, "[%s]", g->nets[i].host);
    else buf_puts(&h, g->nets[i].host);
    if (g->nets[i].port) buf_printf(&h, ":%d", g->nets[i].port);
    buf_json_string(out, h.data, h.len);
    buf_free(&h);
  }
  buf_puts(out, "]}");
}

char *grants_url_host(const char *url) {
  const char *p;
  if (strncasecmp(url, "http://", 7) == 0) p = url + 7;
  else if (strncasecmp(url, "https://", 8) == 0) p = url + 8;
  else return NULL;
  size_t n = strcspn(p, "/?#");
  const char *at = memchr(p, '@', n); /* user:pass@ is not part of the host */
  if (at) {
    n -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  if (n == 0) return NULL;
  char *hp = xstrndup(p, n);
  char *host = NULL;
  int port = 0;
  bool ok = parse_hostport(hp, &host, &port);
  free(hp);
  if (!ok) return NULL;
  char *out = port ? xasprintf(strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port)
                   : xasprintf(strchr(host, ':') ? "[%s]" : "%s", host);
  free(host);
  return out;
}
