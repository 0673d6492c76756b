/* opcodes.h — the one list of Weft bytecode instructions.
 *
 * Encoding: one opcode byte followed by its operands, little-endian,
 * unaligned. The format letter string says which operands follow:
 *
 *   format   bytes after the opcode          operands
 *   ""       -                               none
 *   "b"      [u8]                            a
 *   "h"      [u16 lo][u16 hi]                a
 *   "hb"     [u16][u8]                       a, b
 *   "hh"     [u16][u16]                      a, b
 *   "hhh"    [u16][u16][u16]                 a, b, c
 *   "j"      [i32 x4]                        jump offset
 *   "hhj"    [u16][u16][i32 x4]              a, b, jump offset
 *
 *   +--------+------------------ - -
 *   | opcode | operands per format
 *   +--------+------------------ - -
 *
 * A jump offset is relative to the first byte of the NEXT instruction.
 *
 * OP(NAME, FORMAT, POP, PUSH)  with a stack picture per line. POP = -1 means
 * the count depends on the operands (op_stack_pops computes it). The enum
 * (OP_NAME), the names table, operand sizes, stack effects, the emitter's
 * depth tracking, the verifier and the disassembler are all derived from
 * this list; nothing else lists opcodes by hand. Each opcode's full meaning
 * is documented on its case in vm/interp.c.
 *
 * Constant operands index Module.consts; the verifier checks the constant's
 * kind where an opcode requires one (string name, shape). */
#ifndef WEFT_OPCODES_H
#define WEFT_OPCODES_H

#include <stdint.h>

#define ASK_TEXT 0xFFFF /* ASK operand b: the reply is plain text */
#define GEN_NO_RESULT 0xFFFF /* GENERATE operand c: the generated function returns nothing */
#define ASK_SETTINGS 4  /* ASK_ROLE with b=1: how many per-call settings precede the prompt */

/* BARRIER operand a. Absent operands are pushed as none. */
#define BARRIER_TOLERATE   1  /* tol is an int: at most tol branches may fail -> joined */
#define BARRIER_TOLERATE_P 2  /* tol is a float percent (10% -> 10.0) -> joined */
#define BARRIER_FIRST      4  /* k: the first k branches to succeed; the rest are cancelled */
#define BARRIER_TIMEOUT    8  /* d: a duration; unfinished branches fail with kind "timeout" */

/* BUDGET operand a: which limits are given (absent ones are pushed as none). */
#define BUDGET_CALLS  1  /* c: int, model calls admitted */
#define BUDGET_TOKENS 2  /* t: int, tokens charged from replies' usage */
#define BUDGET_USD    4  /* u: float, dollars charged by the price table */
#define BUDGET_TIME   8  /* d: duration, wall time since the block started */

#define WEFT_OPCODES(OP) \
  OP(NOP,          "",    0, 0)  /* ->            : nothing */ \
  OP(CONST,        "h",   0, 1)  /* -> k          : push constant a (int, float, string, duration) */ \
  OP(NONE,         "",    0, 1)  /* -> none */ \
  OP(TRUE,         "",    0, 1)  /* -> true */ \
  OP(FALSE,        "",    0, 1)  /* -> false */ \
  OP(POP,          "",    1, 0)  /* x ->          : discard */ \
  OP(DUP,          "",    1, 2)  /* x -> x x */ \
  OP(GET_LOCAL,    "h",   0, 1)  /* -> l[a] */ \
  OP(SET_LOCAL,    "h",   1, 0)  /* x ->          : l[a] = x */ \
  OP(MOVE_LOCAL,   "h",   0, 1)  /* -> l[a]       : push l[a], leaving none in the slot (its last use) */ \
  OP(GET_CAPTURE,  "h",   0, 1)  /* -> c[a]       : captured value a of the running closure */ \
  OP(FUNC,         "h",   0, 1)  /* -> f          : function a with no captures */ \
  OP(CLOSURE,      "hh", -1, 1)  /* c1..cb -> f   : function a capturing b values */ \
  OP(ADD,          "",    2, 1)  /* a b -> a+b    : int, float, duration; strings and lists join */ \
  OP(SUB,          "",    2, 1)  /* a b -> a-b */ \
  OP(MUL,          "",    2, 1)  /* a b -> a*b    : also duration*int */ \
  OP(DIV,          "",    2, 1)  /* a b -> a/b    : int truncates toward zero; /0 is an error */ \
  OP(MOD,          "",    2, 1)  /* a b -> a%b    : sign of the dividend */ \
  OP(NEG,          "",    1, 1)  /* a -> -a */ \
  OP(NOT,          "",    1, 1)  /* b -> !b */ \
  OP(EQ,           "",    2, 1)  /* a b -> a==b   : structural */ \
  OP(NE,           "",    2, 1)  /* a b -> a!=b */ \
  OP(LT,           "",    2, 1)  /* a b -> a<b    : numbers, durations, strings */ \
  OP(LE,           "",    2, 1)  /* a b -> a<=b */ \
  OP(GT,           "",    2, 1)  /* a b -> a>b */ \
  OP(GE,           "",    2, 1)  /* a b -> a>=b */ \
  OP(JUMP,         "j",   0, 0)  /* ->            : ip += off */ \
  OP(JUMP_IF_FALSE,"j",   1, 0)  /* b ->          : if !b, ip += off */ \
  OP(JUMP_IF_TRUE, "j",   1, 0)  /* b ->          : if b, ip += off */ \
  OP(CALL,         "b",  -1, 1)  /* f x1..xa -> r : call function value f with a args */ \
  OP(CALL_NATIVE,  "hb", -1, 1)  /* x1..xb -> r   : call native a (Module.natives) with b args */ \
  OP(RETURN,       "",    1, 0)  /* r ->          : return r to the caller */ \
  OP(LIST,         "h",  -1, 1)  /* x1..xa -> [x1..xa] */ \
  OP(MAP,          "h",  -1, 1)  /* k1 v1..ka va -> {k1: v1, ...} : keys are strings */ \
  OP(RECORD,       "h",  -1, 1)  /* v1..vn -> r   : constant a is a shape of n names */ \
  OP(GET_FIELD,    "h",   1, 1)  /* r -> r.name   : constant a is the field name */ \
  OP(WITH,         "h",   2, 1)  /* r v -> r'     : copy of r with field (constant a) = v */ \
  OP(INDEX,        "",    2, 1)  /* c i -> c[i]   : list by int, map or record by string */ \
  OP(IS_NONE,      "",    1, 1)  /* x -> x==none */ \
  OP(ITER,         "hhj", 0, 1)  /* -> x          : if l[b] < len(l[a]) push l[a][l[b]], l[b]++; else ip += off (pushing nothing) */ \
  OP(TOSTR,        "",    1, 1)  /* x -> s        : display form: strings as is, others compact JSON */ \
  OP(CONCAT,       "h",  -1, 1)  /* s1..sa -> s   : join a strings */ \
  OP(FROM_JSON,    "h",   1, 1)  /* j -> v        : check/convert j against type descriptor a */ \
  OP(FAIL,         "",    1, 0)  /* msg ->        : raise a workflow error with message msg */ \
  OP(ASK,          "hh",  1, 1)  /* prompt -> r   : model call by role a; reply typed by descriptor b (0xFFFF: text) */ \
  OP(FANOUT,       "b",   3, 1)  /* xs f n -> t   : start branches (a=0: f(x) per element of list xs; a=1: xs is a record of 0-arg functions, f none); n: int limit or none */ \
  OP(BARRIER,      "b",   4, 1)  /* t tol k d -> r: join tasks t; a: BARRIER_* bits saying which of tol, k (first), d (timeout) are given */ \
  OP(BUDGET,       "b",   6, 1)  /* f e c t u d -> r: run f() under a new budget (a: BUDGET_* bits); e: else function or none */ \
  OP(ROLE,         "h",   0, 1)  /* -> r          : role a (Module.roles) as a value */ \
  OP(ASK_ROLE,     "hb", -1, 1)  /* r [t p m s] prompt -> reply : model call by role value r, reply typed by descriptor a (0xFFFF: text); b=1: per-call temperature, top_p, max_tokens, stop (each none when not given) */ \
  OP(TRY,          "j",   0, 0)  /* ->            : until TRY_END, a caught error resumes at ip += off with its failure value pushed */ \
  OP(TRY_END,      "",    0, 0)  /* ->            : drop the innermost TRY */ \
  OP(STEP,         "hh",  2, 1)  /* prompt turns -> reply : one model step of role a's tool-calling loop (turns: JSON text of the conversation after the prompt); the reply is JSON text {text, calls}; a final answer is checked against descriptor b (0xFFFF: text) */ \
  OP(GENERATE,     "hhh", 1, 1)  /* prompt -> f   : role a writes a function whose parameters are TD_RECORD descriptor b (field i = parameter i) and whose result is descriptor c (0xFFFF: none) */

typedef enum Opcode {
#define OP_ENUM(name, fmt, pop, push) OP_##name,
  WEFT_OPCODES(OP_ENUM)
#undef OP_ENUM
  OP__COUNT
} Opcode;

typedef struct OpInfo {
  const char *name;
  const char *format;  /* see the table above */
  int8_t pop;          /* -1: operand-dependent, see op_stack_pops */
  int8_t push;
  uint8_t size;        /* total bytes including the opcode */
} OpInfo;

extern const OpInfo op_info[OP__COUNT];

/* Reads an operand of `width` bytes (1, 2 or 4) at p, little-endian. */
static inline uint32_t op_read_u8(const uint8_t *p) { return p[0]; }
static inline uint32_t op_read_u16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
static inline int32_t op_read_i32(const uint8_t *p) {
  return (int32_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24));
}

/* Decoded operands of the instruction at code (a, b, jump offset; c is
 * the third u16 of "hhh"). */
typedef struct OpArgs { uint32_t a, b; int32_t off; uint32_t c; } OpArgs;
OpArgs op_decode(const uint8_t *code);
/* Values an instruction pops, given its decoded operands. */
int op_stack_pops(Opcode op, OpArgs args);

#endif
