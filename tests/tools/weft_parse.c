/* weft_parse.c — parses one file and prints its syntax tree.
 *
 *   weft_parse FILE
 *
 * The S-expression dump of each item goes to stdout (ast_dump), the
 * diagnostics to stderr (text form, no colour). Exit status 1 when there
 * were errors, 2 when the file cannot be read. Used by the parser's golden
 * tests and for poking at the front end by hand. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../lang/ast.h"
#include "../../lang/diag.h"
#include "../../lang/source.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: weft_parse FILE\n");
    return 2;
  }
  SourceSet ss;
  src_init(&ss);
  int32_t id = src_load(&ss, argv[1]);
  if (id < 0) {
    fprintf(stderr, "weft_parse: %s: %s\n", argv[1], strerror(errno));
    src_free(&ss);
    return 2;
  }
  DiagList dl;
  diag_init(&dl);
  Arena arena;
  arena_init(&arena);
  Ast ast;
  parse_source(&arena, &ss, (uint32_t)id, &dl, &ast);
  for (uint32_t i = 0; i < ast.items.n; i++) ast_dump(stdout, ast.items.items[i], 0);
  diag_sort(&dl);
  diag_render_text(stderr, &dl, &ss, 0);
  int status = dl.errors ? 1 : 0;
  arena_free(&arena);
  diag_free(&dl);
  src_free(&ss);
  return status;
}
