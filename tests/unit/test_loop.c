/* test_loop.c — the runtime's event loop (runtime/loop.h) on pipes and
 * timers: a wake-up runs the callbacks of the descriptors that are ready
 * and of the timers that are due, and nothing else; an event for a
 * descriptor unwatched (or closed and reused) earlier in the same batch is
 * dropped; timers fire in deadline order, and one re-armed by its own
 * callback waits for the next dispatch. */
#include "tap.h"
#include "../../runtime/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- timers ------------------------------------------------------------------ */

typedef struct Rec {
  char order[64];
  int n;
} Rec;

typedef struct Tm {
  LoopTimer t;
  Rec *rec;
  char name;
  Loop *loop;
  int rearm;          /* times the callback arms its own timer again, at once */
} Tm;

static void on_timer(void *ud) {
  Tm *x = ud;
  if (x->rec->n < (int)sizeof x->rec->order - 1) x->rec->order[x->rec->n++] = x->name;
  if (x->rearm > 0) {
    x->rearm--;
    loop_timer_set(x->loop, &x->t, 0);
  }
}

static void tm_init(Tm *x, Loop *l, Rec *r, char name) {
  memset(x, 0, sizeof *x);
  x->rec = r;
  x->name = name;
  x->loop = l;
  loop_timer_init(&x->t, on_timer, x);
}

static void test_timers(void) {
  char *err = NULL;
  Loop *l = loop_new(&err);
  ok(l != NULL, "loop_new");
  if (!l) return;
  is_int(loop_next_timer(l), -1, "no timer: next is -1");
  Rec r;
  memset(&r, 0, sizeof r);
  Tm a, b, c, d;
  tm_init(&a, l, &r, 'a');
  tm_init(&b, l, &r, 'b');
  tm_init(&c, l, &r, 'c');
  tm_init(&d, l, &r, 'd');
  loop_timer_set(l, &a.t, 30);
  loop_timer_set(l, &b.t, 0);
  loop_timer_set(l, &c.t, 0);
  loop_timer_set(l, &d.t, 10);
  ok(loop_timer_armed(&a.t) && loop_timer_armed(&d.t), "armed timers say so");
  is_int(loop_next_timer(l), 0, "a timer due now: next is 0");
  is_int((int64_t)loop_run_timers(l), 2, "run_timers runs only the two that are due");
  is_str(r.order, "bc", "equal deadlines fire in the order they were armed");
  int64_t next = loop_next_timer(l);
  ok(next > 0 && next <= 10, "next is the 10 ms timer (%lld)", (long long)next);
  loop_timer_stop(l, &d.t);
  ok(!loop_timer_armed(&d.t), "a stopped timer is not armed");
  loop_timer_stop(l, &d.t);
  ok(1, "stopping twice is harmless");
  uint64_t t0 = mono_ms();
  uint32_t ran = loop_wait(l, 1000); /* nothing watched: sleeps until a's deadline */
  uint64_t took = mono_ms() - t0;
  is_int(ran, 1, "the wait ran one callback");
  is_str(r.order, "bca", "the stopped timer never fired");
  ok(took >= 15 && took < 500, "the wait slept until the timer, not the timeout (%llu ms)", (unsigned long long)took);
  /* a re-armed timer */
  loop_timer_set(l, &b.t, 50);
  loop_timer_set(l, &b.t, 0);
  is_int(loop_next_timer(l), 0, "re-arming moves a timer");
  b.rearm = 3;
  is_int((int64_t)loop_run_timers(l), 1, "a timer re-armed by its own callback does not run again at once");
  is_int((int64_t)loop_run_timers(l), 1, "it runs at the next dispatch");
  loop_run_timers(l);
  loop_run_timers(l);
  is_int((int64_t)loop_run_timers(l), 0, "and stops when its callback stops arming it");
  is_str(r.order, "bcabbbb", "every firing was recorded once");
  /* many timers, out of order: a heap, fired earliest first */
  Tm many[64];
  Rec r2;
  memset(&r2, 0, sizeof r2);
  for (int i = 0; i < 64; i++) tm_init(&many[i], l, &r2, (char)('0' + (i * 37) % 64));
  for (int i = 0; i < 64; i++) many[i].t.fn = on_timer;
  for (int i = 0; i < 64; i++) loop_timer_set(l, &many[i].t, 0);
  for (int i = 0; i < 64; i += 2) loop_timer_stop(l, &many[i].t);
  is_int((int64_t)loop_run_timers(l), 32, "half of 64 timers stopped: 32 fire");
  bool in_order = true;
  for (int i = 0; i < 32; i++)
    if (r2.order[i] != (char)('0' + ((2 * i + 1) * 37) % 64)) in_order = false;
  ok(in_order, "in the order they were armed");
  loop_free(l);
}

/* ---- descriptors ---------------------------------------------------------------- */

typedef struct Io {
  Loop *l;
  int calls;
  unsigned last;
  int fd;
  /* on its first call: unwatch and close this descriptor, then put a new
   * pipe's read end (which takes the same number) under `reuse` */
  int victim;
  struct Io *reuse;
  int newpipe[2];
} Io;

static void on_io(void *ud, int fd, unsigned ev) {
  Io *x = ud;
  x->calls++;
  x->last = ev;
  x->fd = fd;
  if (x->victim >= 0 && x->calls == 1) {
    loop_unwatch(x->l, x->victim);
    close(x->victim);
    if (x->reuse) {
      if (pipe(x->newpipe) == 0) {
        loop_watch(x->l, x->newpipe[0], LOOP_IN, on_io, x->reuse);
        if (write(x->newpipe[1], "z", 1) != 1) x->newpipe[0] = -1;
      }
    }
  }
}

static void io_init(Io *x, Loop *l) {
  memset(x, 0, sizeof *x);
  x->l = l;
  x->victim = -1;
  x->newpipe[0] = x->newpipe[1] = -1;
}

static void test_descriptors(void) {
  char *err = NULL;
  Loop *l = loop_new(&err);
  if (!ok(l != NULL, "loop_new")) return;
  int p[2];
  if (!ok(pipe(p) == 0, "a pipe")) return;
  Io a;
  io_init(&a, l);
  ok(loop_watch(l, p[0], LOOP_IN, on_io, &a), "watch a pipe's read end");
  is_int(loop_watched(l), 1, "one descriptor watched");
  is_int(loop_wait(l, 0), 0, "nothing to read: no callback");
  if (write(p[1], "x", 1) != 1) return;
  is_int(loop_wait(l, 1000), 1, "a byte written: one callback");
  ok(a.calls == 1 && (a.last & LOOP_IN) && a.fd == p[0], "for the read end, readable");
  loop_unwatch(l, p[0]);
  is_int(loop_watched(l), 0, "unwatched");
  is_int(loop_wait(l, 0), 0, "an unwatched descriptor runs no callback, readable or not");
  loop_unwatch(l, p[0]);
  ok(1, "unwatching twice is harmless");
  /* watch for writing, then change to reading */
  Io w;
  io_init(&w, l);
  ok(loop_watch(l, p[1], LOOP_OUT, on_io, &w), "watch the write end for writing");
  is_int(loop_wait(l, 0), 1, "an empty pipe is writable");
  ok(w.last & LOOP_OUT, "reported as writable");
  ok(loop_watch(l, p[1], 0, on_io, &w), "change to nothing but errors");
  is_int(loop_wait(l, 0), 0, "then it is quiet");
  loop_unwatch(l, p[1]);
  /* closing the other end is a hang-up, reported whatever was asked */
  ok(loop_watch(l, p[0], LOOP_IN, on_io, &a), "watch again");
  close(p[1]);
  a.calls = 0;
  loop_wait(l, 1000);
  ok(a.calls == 1 && (a.last & (LOOP_ERR | LOOP_IN)), "a closed writer wakes the reader");
  loop_unwatch(l, p[0]);
  close(p[0]);
  /* refusals */
  errno = 0;
  ok(!loop_watch(l, -1, LOOP_IN, on_io, &a) && errno == EBADF, "a negative descriptor is refused");
  int reg = open("/dev/null", O_RDONLY);
  ok(reg >= 0 && !loop_watch(l, reg, LOOP_IN, on_io, &a), "a descriptor epoll cannot watch is refused");
  is_int(loop_watched(l), 0, "and not counted");
  if (reg >= 0) close(reg);
  loop_free(l);
}

/* Two readable pipes in one batch: the first callback unwatches and closes
 * the other, and a new pipe takes its number; the event epoll already
 * returned for the old descriptor must reach nobody. */
static void test_stale_events(void) {
  char *err = NULL;
  Loop *l = loop_new(&err);
  if (!ok(l != NULL, "loop_new")) return;
  int p1[2], p2[2];
  if (pipe(p1) != 0 || pipe(p2) != 0) return;
  Io x, y, fresh;
  io_init(&x, l);
  io_init(&y, l);
  io_init(&fresh, l);
  x.victim = p2[0];
  x.reuse = &fresh;
  y.victim = p1[0];
  y.reuse = &fresh;
  loop_watch(l, p1[0], LOOP_IN, on_io, &x);
  loop_watch(l, p2[0], LOOP_IN, on_io, &y);
  if (write(p1[1], "a", 1) != 1 || write(p2[1], "b", 1) != 1) return;
  uint32_t ran = loop_wait(l, 1000);
  is_int(ran, 1, "one batch, two ready: the first callback's victim runs no callback");
  is_int(x.calls + y.calls, 1, "exactly one of the two ran");
  Io *first = x.calls ? &x : &y;
  ok(first->newpipe[0] == first->victim, "the new pipe took the closed descriptor's number (%d)", first->newpipe[0]);
  is_int(fresh.calls, 0, "the old descriptor's event did not reach the new owner");
  loop_wait(l, 1000);
  is_int(fresh.calls, 1, "the new owner hears about its own data at the next wait");
  loop_unwatch(l, first->newpipe[0]);
  int survivor = first == &x ? p1[0] : p2[0];
  loop_unwatch(l, survivor);
  close(survivor);
  close(first->newpipe[0]);
  close(first->newpipe[1]);
  close(p1[1]);
  close(p2[1]);
  loop_free(l);
}

/* A thousand descriptors watched, three ready: a wake-up runs three
 * callbacks. */
static void test_many(void) {
  enum { N = 1000 };
  char *err = NULL;
  Loop *l = loop_new(&err);
  if (!ok(l != NULL, "loop_new")) return;
  static int fds[N][2];
  static Io io[N];
  int made = 0;
  for (; made < N; made++) {
    if (pipe(fds[made]) != 0) break;
    io_init(&io[made], l);
    loop_watch(l, fds[made][0], LOOP_IN, on_io, &io[made]);
  }
  if (made < N) {
    skip("too few descriptors", "a thousand pipes (got %d)", made);
  } else {
    is_int(loop_watched(l), N, "a thousand descriptors watched");
    int ready[3] = {7, 500, 999};
    for (int i = 0; i < 3; i++)
      if (write(fds[ready[i]][1], "x", 1) != 1) return;
    is_int(loop_wait(l, 1000), 3, "three ready: three callbacks");
    int called = 0;
    for (int i = 0; i < N; i++) called += io[i].calls;
    is_int(called, 3, "and no other");
    ok(io[7].calls == 1 && io[500].calls == 1 && io[999].calls == 1, "the three that were ready");
  }
  for (int i = 0; i < made; i++) {
    loop_unwatch(l, fds[i][0]);
    close(fds[i][0]);
    close(fds[i][1]);
  }
  is_int(loop_watched(l), 0, "all unwatched");
  loop_free(l);
}

int main(void) {
  test_timers();
  test_descriptors();
  test_stale_events();
  test_many();
  return tap_done();
}
