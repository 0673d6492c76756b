/* fuzz_main.c — the smoke-run driver shared by the fuzz harnesses.
 *
 * Linked with a harness (fuzz_front.c, fuzz_loader.c) instead of libFuzzer,
 * it makes the harness a plain program that `make check` runs:
 *   fuzz_X FILE...        replays the given inputs (seeds, crashers)
 *   fuzz_X                walks the compiled-in corpus directories and
 *                         runs every file plus MUTATIONS deterministic
 *                         mutants of it (fixed seed: the same run every time)
 * It prints one `ok`/`not ok` line for the test runner. A crash, leak or
 * sanitizer report aborts the process, which the runner counts as a
 * failure. With libFuzzer, build the harness alone with -fsanitize=fuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_CORPUS
#define FUZZ_CORPUS "."
#endif
#ifndef FUZZ_MUTATIONS
#define FUZZ_MUTATIONS 8
#endif

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Fragments that make mutants reach deeper than random bytes would. */
static const char *const dict[] = {
  "{", "}", "(", ")", "[", "]", "\"", "\"\"\"", "{x}", "fn ", "let ", "var ", "match ",
  "if ", "else ", "for ", "in ", "=>", "->", ":", ",", "\n", "none", "?", "|", "with",
  "1_000", "9223372036854775807", "30s", "10%", "\\u{1F600}", "\xff", "\xc3", "///",
  "/*", "fn(x) => x", "return", "break", "type T = ", "import \"std/prelude\"\n",
};

static uint64_t runs;

static void run(const uint8_t *data, size_t len) {
  LLVMFuzzerTestOneInput(data, len);
  runs++;
}

/* One mutant of data: flip, insert a fragment, delete or duplicate a span,
 * or truncate. */
static void mutate_and_run(const uint8_t *data, size_t len) {
  size_t cap = len + 256;
  uint8_t *m = malloc(cap);
  if (!m) return;
  memcpy(m, data, len);
  size_t n = len;
  int edits = 1 + (int)(next_rand() % 4);
  for (int e = 0; e < edits; e++) {
    size_t at = n ? (size_t)(next_rand() % n) : 0;
    switch (next_rand() % 5) {
    case 0:
      if (n) m[at] ^= (uint8_t)(1u << (next_rand() % 8));
      break;
    case 1: {
      const char *frag = dict[next_rand() % (sizeof dict / sizeof dict[0])];
      size_t fl = strlen(frag);
      if (n + fl > cap) break;
      memmove(m + at + fl, m + at, n - at);
      memcpy(m + at, frag, fl);
      n += fl;
      break;
    }
    case 2: {
      size_t k = n - at < 16 ? n - at : (size_t)(next_rand() % 16);
      memmove(m + at, m + at + k, n - at - k);
      n -= k;
      break;
    }
    case 3: {
      size_t k = n - at < 32 ? n - at : (size_t)(next_rand() % 32);
      if (n + k > cap) break;
      memmove(m + at + k, m + at, n - at);
      n += k;
      break;
    }
    default:
      n = at;
      break;
    }
  }
  run(m, n);
  free(m);
}

static int read_file(const char *path, uint8_t **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  uint8_t *buf = NULL;
  size_t n = 0, cap = 0, got;
  do {
    if (n == cap) {
      cap = cap ? cap * 2 : 4096;
      uint8_t *nb = realloc(buf, cap);
      if (!nb) { free(buf); fclose(f); return -1; }
      buf = nb;
    }
    got = fread(buf + n, 1, cap - n, f);
    n += got;
  } while (got > 0);
  fclose(f);
  *out = buf;
  *len = n;
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under dir (recursively, sorted for a stable order). */
static void walk(const char *dir, int mutations) {
  DIR *d = opendir(dir);
  if (!d) return;
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nn = realloc(names, cap * sizeof *names);
      if (!nn) break;
      names = nn;
    }
    size_t l = strlen(dir) + strlen(e->d_name) + 2;
    names[n] = malloc(l);
    if (!names[n]) break;
    snprintf(names[n], l, "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (stat(names[i], &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        walk(names[i], mutations);
      } else if (S_ISREG(st.st_mode) && st.st_size < (1 << 20)) {
        uint8_t *buf;
        size_t len;
        if (read_file(names[i], &buf, &len) == 0) {
          run(buf, len);
          for (int k = 0; k < mutations; k++) mutate_and_run(buf, len);
          free(buf);
        }
      }
    }
    free(names[i]);
  }
  free(names);
}

int main(int argc, char **argv) {
  if (argc > 1) {
    for (int i = 1; i < argc; i++) {
      uint8_t *buf;
      size_t len;
      if (read_file(argv[i], &buf, &len) != 0) {
        perror(argv[i]);
        return 2;
      }
      run(buf, len);
      free(buf);
    }
  } else {
    /* FUZZ_CORPUS may list several directories separated by ':'. */
    char *dirs = strdup(FUZZ_CORPUS);
    for (char *p = strtok(dirs, ":"); p; p = strtok(NULL, ":")) walk(p, FUZZ_MUTATIONS);
    free(dirs);
  }
  printf("ok 1 - %llu fuzz inputs ran without a crash\n", (unsigned long long)runs);
  return 0;
}
