/* generate.h — programs a model writes while a run goes on: `generate fn(P)
 * -> R by ROLE PROMPT` and `weft do` (docs/language.md, "Sub-workflows";
 * docs/cli.md, "weft do"). What the planner is told (the guide, the
 * signature, the types it must declare, the run's models, grants and
 * budget), how its reply is compiled — untrusted, std imports only, the
 * run's model allowlist — and checked against the signature, and the
 * diagnostics a repair sends back. The engine makes the calls, journals the
 * program and links it (runtime/engine.c); nothing here touches the VM's
 * state but the module it reads the signature from. */
#ifndef WEFT_GENERATE_H
#define WEFT_GENERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/buf.h"
#include "../vm/module.h"

struct CapScan;
struct CompileOptions;

/* Generated programs inside generated programs: at most this deep. */
#define GEN_MAX_DEPTH 3
/* The most source one generated program may hold. */
#define GEN_MAX_SOURCE ((size_t)256 << 10)
/* The most memory compiling it may take. */
#define GEN_MAX_COMPILE_MEMORY ((size_t)64 << 20)
/* Repairs of a generated program when neither the role nor --repairs
 * says: it takes more rounds than a JSON reply. */
#define GEN_DEFAULT_REPAIRS 3
/* Diagnostics sent back in one repair, at most. */
#define GEN_MAX_DIAGS 12

/* The signature a generated main must have: in module m, a TD_RECORD of
 * its parameters (field i is parameter i) and its result (NO_INDEX:
 * none). */
typedef struct GenSig {
  const Module *m;
  uint32_t params, result;
} GenSig;

/* What a generated program is compiled under. */
typedef struct GenRules {
  bool limit_models;                /* roles may name only models[0..n) */
  const char *const *models;
  uint32_t nmodels;
  /* the planner's context held untrusted text: the program may not write
   * files, run programs or reach the network */
  bool labelled;
  /* the bound a program's model calls must have, when the operator set no
   * budget (the run's default one): an unbounded program, or one whose
   * constant bound is above it, goes back to the planner; 0: no check */
  int64_t max_calls;
  /* the run's grants: false with *why when the program names a path,
   * program or host as a constant that they do not cover (NULL: none) */
  bool (*caps_ok)(void *ud, const struct CapScan *scan, Buf *why);
  void *caps_ud;
} GenRules;

/* The compile options of a generated program src[0..len): untrusted
 * (std imports only), rules' model allowlist, the source and memory caps,
 * the standard natives. */
struct CompileOptions gen_compile_options(const char *src, size_t len, const GenRules *rules);
/* "fn main(a: T, b: U) -> R", as the program must write it. */
void gen_signature(Buf *out, const GenSig *sig);
/* The planner's system prompt: the guide, what to write (the signature
 * and the type declarations it needs), the rules of an untrusted program,
 * the run's context (models, grants, budget: context, may be NULL) and
 * the role's own system prompt (may be NULL). Caller frees. */
char *gen_system_prompt(const GenSig *sig, const GenRules *rules, const char *context, const char *role_system);
/* The program in a reply: the first fenced block (```weft or ```), else
 * the whole text. */
void gen_extract(Buf *out, const char *text, size_t len);
/* Why src may not be a generated program's text, or NULL: it holds a
 * terminal control character (C0 but tab and newline, DEL, C1), which the
 * compiler lets through in comments and strings but a person reading the
 * plan or the saved template would not see. Caller frees. */
char *gen_text_unfit(const char *src, size_t len);
/* Compiles src as the program at `name` (an effect address, for
 * messages) under rules and checks its main against sig. The module
 * (constants on heap) or NULL with *why: the diagnostics as the JSON text
 * a repair sends ({"diagnostics":[{code,message,line,column,help,
 * source}],"errors":N}), or a plain sentence for a signature that does not
 * fit. */
Module *gen_compile(const char *src, size_t len, const char *name, const GenSig *sig, const GenRules *rules,
                    Heap *heap, Buf *why);
/* The program as it is journaled and linked: a comment naming who wrote
 * it and for what (the first lines of the task), then src in the canonical
 * layout (weft fmt); any text, compiled or not (what fmt cannot lay out
 * is kept as written). */
void gen_normalize(Buf *out, const char *src, size_t len, const char *role, const char *addr, const char *task);
/* The program the offline mock writes when no --mock-script entry answers
 * a planner: for a main returning a string, one ask of a mock worker
 * about the task; otherwise one that fails when called, saying so. */
void gen_mock_program(Buf *out, const GenSig *sig);

#endif
