/* test_guide.c — `weft guide` follows the standard library: a signature
 * changed in the native table or in a std module changes the guide, an
 * internal native or lowering-only prelude function never shows, and a
 * module that does not parse says so instead of vanishing. */
#include "../../compiler/compiler.h"
#include "../../runtime/guide.h"
#include "../../stdlib/builtins.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* std/fs with read's signature changed, the others as embedded. */
static const char *changed_fs(const char *name, size_t *len) {
  static char *text;
  if (strcmp(name, "fs") != 0) return stdlib_source(name, len);
  if (!text) {
    size_t n = 0;
    const char *s = stdlib_source("fs", &n);
    const char *old = "fn read(path: string) -> string {";
    const char *at = strstr(s, old);
    if (!at) return NULL;
    const char *rep = "fn read(path: string, limit: int) -> string {";
    size_t pre = (size_t)(at - s);
    text = malloc(n + strlen(rep) + 1);
    memcpy(text, s, pre);
    strcpy(text + pre, rep);
    strcat(text, at + strlen(old));
  }
  *len = strlen(text);
  return text;
}

static const char *broken(const char *name, size_t *len) {
  (void)name;
  static const char text[] = "fn f(x: int -> int { x }\n";
  *len = sizeof text - 1;
  return text;
}

static const char TMPL[] = "# t\n@natives@\n@module prelude@\n@module fs as fs@\n";

int main(void) {
  char *g = guide_render(TMPL, std_natives, std_nnatives, stdlib_source);
  has_substr(g, "\nlen(string) -> int — ", "the guide lists len(string) -> int from the table");
  has_substr(g, "\nfs.read(path: string) -> string — ", "the guide lists std/fs read, qualified");
  has_substr(g, "\nmap[T, U](xs: list[T], f: fn(T) -> U) -> list[U] — ", "the guide lists the prelude's map");
  ok(!strstr(g, "trace_event"), "an internal native is not listed");
  ok(!strstr(g, "verdict_quorum"), "a lowering-only prelude function is not listed");
  ok(!strstr(g, "@natives@") && !strstr(g, "@module"), "every directive is replaced");
  free(g);

  /* a changed native signature changes the guide */
  Native *copy = malloc(std_nnatives * sizeof *copy);
  memcpy(copy, std_natives, std_nnatives * sizeof *copy);
  uint32_t len_at = std_nnatives;
  for (uint32_t i = 0; i < std_nnatives; i++)
    if (strcmp(copy[i].key, "len.string") == 0) len_at = i;
  ok(len_at < std_nnatives, "len.string is in the table");
  if (len_at < std_nnatives) {
    copy[len_at].sig = "(string, int) -> int";
    copy[len_at].doc = "a changed doc; its second clause";
  }
  g = guide_render(TMPL, copy, std_nnatives, stdlib_source);
  has_substr(g, "\nlen(string, int) -> int — a changed doc; its second clause\n", "a changed signature shows");
  ok(!strstr(g, "\nlen(string) -> int"), "the old signature is gone");
  free(g);
  if (len_at < std_nnatives) copy[len_at].internal = true;
  g = guide_render(TMPL, copy, std_nnatives, stdlib_source);
  ok(!strstr(g, "\nlen(string, int)"), "a native made internal leaves the guide");
  free(g);
  free(copy);

  /* a changed std module signature changes the guide */
  g = guide_render(TMPL, std_natives, std_nnatives, changed_fs);
  has_substr(g, "\nfs.read(path: string, limit: int) -> string — ", "a changed std/fs signature shows");
  ok(!strstr(g, "\nfs.read(path: string) -> string"), "the old std/fs signature is gone");
  free(g);

  /* a module that does not parse, and one that does not exist */
  g = guide_render("@module fs@\n@module nosuch as n@\n", std_natives, 0, broken);
  has_substr(g, "(std module fs does not parse)", "a module that does not parse says so");
  free(g);
  g = guide_render("@module nosuch as n@\n", std_natives, 0, stdlib_source);
  has_substr(g, "(no std module nosuch)", "a missing module says so");
  free(g);

  /* a long doc is cut at a clause that fits, never inside brackets */
  Native one = std_natives[0];
  one.doc = "first clause, with (a parenthesis, that holds a comma) and more words; "
            "then a second clause that is far too long to be shown in the guide at all";
  g = guide_render("@natives@\n", &one, 1, NULL);
  has_substr(g, " — first clause, with (a parenthesis, that holds a comma) and more words\n",
             "a long doc is cut at the last clause that fits");
  free(g);
  return tap_done();
}
