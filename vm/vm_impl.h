/* vm_impl.h — private seams between the interpreter (interp.c) and the
 * fiber scheduler (fiber.c). Not part of the library's interface. */
#ifndef WEFT_VM_IMPL_H
#define WEFT_VM_IMPL_H

#include "vm.h"

/* Instructions a fiber runs before the scheduler moves on (fairness). */
#define VM_SLICE 10000u
/* Bytes of copying charged as one unit of fuel (as STD_BYTES_PER_UNIT). */
#define VM_BYTES_PER_UNIT 16u
#define FIBER_INITIAL_STACK 64u
#define FIBER_INITIAL_FRAMES 8u

/* Runs f (state FIBER_RUNNING) for at most `slice` instructions. Returns
 * with f RUNNING (slice used up), DONE, PARKED or FAILED; the stack of a
 * FAILED fiber is left for fiber_unwind. vm->fuel is charged for exactly
 * the instructions run. */
void interp_run(VM *vm, Fiber *f, uint32_t slice);

/* Raises an error of the given kind ("error", "limit", ...) on f. */
NativeStatus vm_raise_kind(VM *vm, Fiber *f, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fails a fiber parked on an effect from outside the interpreter (the
 * effect engine, when a model call fails): records the message with a
 * trace pointing at the parking instruction, unwinds the stack and
 * retires the fiber. No-op unless f is parked. */
void vm_fail_parked(VM *vm, Fiber *f, const char *kind, const char *msg);

/* Grows f's value stack to at least `need` slots (geometrically). */
void fiber_grow_stack(VM *vm, Fiber *f, size_t need);
/* Makes room for one more frame (geometrically). */
void fiber_grow_frames(VM *vm, Fiber *f);

/* Source position of byte offset pc in p (line 0 when unknown). */
void func_line_at(const FuncProto *p, uint32_t pc, uint32_t *line, uint32_t *col);

#endif
