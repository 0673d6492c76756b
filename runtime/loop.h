/* loop.h — the runtime's event loop: file descriptors on epoll, and timers.
 *
 * Everything the runtime waits on goes through one loop, driven from the
 * scheduler's thread when no fiber is runnable (the host's `wait`,
 * vm/effects.h) and without blocking between slices of busy fibers (`pump`).
 * A client registers any file descriptor with a callback — libcurl's
 * sockets today (engine.c), process pipes and a database connection later —
 * and arms one-shot timers (libcurl's timeout, retry backoffs). A wake-up
 * costs the descriptors that are ready and the timers that are due, never
 * the number registered: epoll keeps the interest list in the kernel, the
 * descriptor table is indexed by fd, and the timers are a binary heap.
 *
 * The VM knows nothing of it: the host reports the loop's next timer as
 * its next deadline, so the scheduler's own timers (sleeps, barrier
 * timeouts, budget deadlines) and the loop's bound the same wait.
 *
 * Callbacks run inside loop_wait / loop_run_timers. A callback may watch,
 * unwatch and arm or stop timers (its own included); an event for a
 * descriptor unwatched (or closed and reused) earlier in the same batch is
 * dropped, never delivered to the wrong owner. */
#ifndef WEFT_LOOP_H
#define WEFT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct Loop Loop;

/* What a descriptor is watched for, and what a callback is told. LOOP_ERR
 * (an error or hang-up) is always reported, whatever was asked. */
enum { LOOP_IN = 1u, LOOP_OUT = 2u, LOOP_ERR = 4u };

typedef void (*LoopIoFn)(void *ud, int fd, unsigned events);

/* A one-shot timer, embedded in its owner (no allocation per arming). */
typedef struct LoopTimer {
  uint64_t at;                /* loop ms when due (armed only) */
  uint64_t seq;               /* equal deadlines fire in the order they were armed */
  uint32_t slot;              /* index in the loop's heap; UINT32_MAX: not armed */
  void (*fn)(void *ud);
  void *ud;
} LoopTimer;

/* NULL + *err (malloc'd) when the kernel refuses an epoll instance. */
Loop *loop_new(char **err);
/* Frees the loop. Descriptors still watched are left open (their owners
 * close them); armed timers are simply forgotten. */
void loop_free(Loop *l);

/* Watches fd for events (LOOP_IN | LOOP_OUT), or changes what it is
 * watched for; fn(ud, fd, ready) runs when it is ready. false + errno
 * when the kernel refuses (a descriptor epoll cannot watch). */
bool loop_watch(Loop *l, int fd, unsigned events, LoopIoFn fn, void *ud);
/* Stops watching fd (a no-op if it is not watched). Call it before
 * closing fd. */
void loop_unwatch(Loop *l, int fd);
/* Descriptors watched now. */
uint32_t loop_watched(const Loop *l);

void loop_timer_init(LoopTimer *t, void (*fn)(void *ud), void *ud);
/* (Re)arms t to fire ms from now (ms <= 0: at the next dispatch). */
void loop_timer_set(Loop *l, LoopTimer *t, int64_t ms);
void loop_timer_stop(Loop *l, LoopTimer *t);
static inline bool loop_timer_armed(const LoopTimer *t) { return t->slot != UINT32_MAX; }

/* Milliseconds until the earliest timer is due (0: due now), -1: none. */
int64_t loop_next_timer(const Loop *l);

/* Waits at most timeout_ms (clamped to the next timer; 0: only polls) for
 * ready descriptors, runs their callbacks, then runs the timers that are
 * due. Returns the number of callbacks run. A timer armed by a callback to
 * fire at once runs at the next dispatch, so a client that keeps re-arming
 * cannot hold the loop forever. */
uint32_t loop_wait(Loop *l, int64_t timeout_ms);
/* Runs the timers that are due, without looking at descriptors. */
uint32_t loop_run_timers(Loop *l);

#endif
