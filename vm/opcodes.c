/* opcodes.c — tables derived from the WEFT_OPCODES list in opcodes.h.
 *
 * Nothing here lists opcodes by hand: names, formats, stack effects and
 * instruction sizes all expand from the one X-macro, and the decoder reads
 * operands by walking the format string. */
#include "opcodes.h"

/* Bytes one format letter contributes: b = u8, h = u16, j = i32. Written
 * as a constant expression over the literal so the table stays const. */
#define FMT_LETTER(fmt, i) \
  (sizeof(fmt) > (i) + 1 ? ((fmt)[(i) < sizeof(fmt) ? (i) : 0] == 'b' ? 1 : \
                            (fmt)[(i) < sizeof(fmt) ? (i) : 0] == 'h' ? 2 : \
                            (fmt)[(i) < sizeof(fmt) ? (i) : 0] == 'j' ? 4 : 0) : 0)
#define FMT_SIZE(fmt) \
  (1 + FMT_LETTER(fmt, 0) + FMT_LETTER(fmt, 1) + FMT_LETTER(fmt, 2) + FMT_LETTER(fmt, 3))

const OpInfo op_info[OP__COUNT] = {
#define OP_INFO(name, fmt, pop, push) { #name, fmt, pop, push, FMT_SIZE(fmt) },
  WEFT_OPCODES(OP_INFO)
#undef OP_INFO
};

/* Formats hold at most three operands; the letters other than 'j' fill
 * a, then b, then c, and a 'j' always fills the jump offset. */
OpArgs op_decode(const uint8_t *code) {
  OpArgs args = { 0, 0, 0, 0 };
  if (code[0] >= OP__COUNT) return args;
  const char *fmt = op_info[code[0]].format;
  const uint8_t *p = code + 1;
  int slot = 0;
  for (; *fmt; fmt++) {
    uint32_t v;
    switch (*fmt) {
    case 'b': v = op_read_u8(p); p += 1; break;
    case 'h': v = op_read_u16(p); p += 2; break;
    case 'j': args.off = op_read_i32(p); p += 4; continue;
    default: continue;
    }
    if (slot == 0) args.a = v;
    else if (slot == 1) args.b = v;
    else args.c = v;
    slot++;
  }
  return args;
}

/* The operand-dependent pops (POP = -1 in the list). RECORD depends on the
 * shape constant, which only the module knows: it returns -1 and the
 * caller uses the shape's field count. */
int op_stack_pops(Opcode op, OpArgs args) {
  if (op >= OP__COUNT) return 0;
  if (op_info[op].pop >= 0) return op_info[op].pop;
  switch (op) {
  case OP_CLOSURE: return (int)args.b;
  case OP_CALL: return (int)args.a + 1;
  case OP_CALL_NATIVE: return (int)args.b;
  case OP_LIST: return (int)args.a;
  case OP_MAP: return 2 * (int)args.a;
  case OP_CONCAT: return (int)args.a;
  case OP_ASK_ROLE: return 2 + (args.b ? ASK_SETTINGS : 0);
  case OP_RECORD: return -1;
  default: return 0;
  }
}
