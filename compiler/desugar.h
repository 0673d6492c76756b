/* desugar.h — lowering of the constructs the parser keeps as written
 * (verify, tournament) into ordinary expressions, and the one table of
 * tournament formats that both the lowering and the cost bound read. */
#ifndef WEFT_DESUGAR_H
#define WEFT_DESUGAR_H

#include <stdbool.h>
#include <stdint.h>

#include "../lang/ast.h"
#include "../lang/diag.h"

/* A tournament format: the word written, the prelude function that plays
 * it, whether it takes a number of rounds (`swiss N`), whether that
 * function returns the full ranking (so `-> ranking` is allowed and the
 * winner is its first entry), and how many judge calls it makes for n
 * candidates and r rounds:  n2·n² + n1·n + c + rn·r·n  (never below 0).
 * The cost bound reads these numbers; tests/cost/cost_vs_mock.sh checks
 * them against the calls the prelude's functions really make. */
typedef struct TournamentFormat {
  const char *name;
  const char *fn;
  bool rounds;
  bool ranks;
  int64_t n2, n1, c, rn;
} TournamentFormat;

/* The format a tournament node names: bracket when none is written (or
 * the written one is not a format, which desugaring reports). */
const TournamentFormat *tournament_format(const Node *n);

/* The parts of a lowered tournament the cost bound evaluates: the
 * `let __criterion` statement, the candidates, the rounds (NULL unless
 * the format takes them) and the judge lambda. False if n was not lowered
 * (a construct with errors). */
typedef struct TournamentParts {
  const TournamentFormat *format;
  Node *criterion_let, *items, *rounds, *judge;
} TournamentParts;
bool tournament_parts(const Node *n, TournamentParts *out);

/* Lowers every verify and tournament of one parsed file in place (their
 * `lowered` field), reporting the constructs' own rules (E0206, E0310,
 * E0608, E0617, E0619) to dl, and E0103 if a lowering nests too deeply.
 * Runs right after parsing, so a file's diagnostics are complete when the
 * loader decides whether it parsed. */
struct SourceSet;
/* ss receives the source of each tool-calling loop it builds (NULL: none
 * is built). */
void desugar_file(Arena *a, DiagList *dl, struct SourceSet *ss, Ast *ast);

#endif
