/* loop.c — the runtime's event loop (loop.h): epoll for descriptors, a
 * binary heap for timers.
 *
 * Descriptors are a table indexed by fd (a process's fds are small, dense
 * integers), so finding a ready descriptor's owner is one index. Each
 * registration gets a generation number that travels in the epoll event:
 * an event whose descriptor was unwatched, or closed and watched again by
 * someone else, after epoll_wait returned it is recognised and dropped. */
#include "loop.h"
#include "../base/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* Events taken from the kernel per wait: more ready descriptors are left
 * for the next wait (epoll is level-triggered), so a burst costs several
 * waits, never a buffer per descriptor. */
#define LOOP_BATCH 256

typedef struct Watch {
  LoopIoFn fn;                /* NULL: not watched */
  void *ud;
  uint32_t events;            /* LOOP_IN | LOOP_OUT as asked */
  uint32_t gen;               /* of the current registration */
} Watch;

struct Loop {
  int ep;                     /* the epoll instance */
  Watch *fds;                 /* indexed by fd */
  uint32_t nfds_cap;
  uint32_t watched;
  uint32_t gen;
  LoopTimer **heap;           /* ordered by (at, seq) */
  uint32_t ntimers, timers_cap;
  uint64_t seq;
  struct epoll_event ev[LOOP_BATCH];
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

Loop *loop_new(char **err) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    *err = xasprintf("cannot create the event loop (epoll_create1: %s)", strerror(errno));
    return NULL;
  }
  Loop *l = xcalloc(1, sizeof *l);
  l->ep = ep;
  return l;
}

void loop_free(Loop *l) {
  if (!l) return;
  for (uint32_t i = 0; i < l->ntimers; i++) l->heap[i]->slot = UINT32_MAX;
  close(l->ep);
  free(l->fds);
  free(l->heap);
  free(l);
}

/* ---- descriptors ------------------------------------------------------- */

static uint32_t to_epoll(unsigned events) {
  return (events & LOOP_IN ? (uint32_t)EPOLLIN : 0u) | (events & LOOP_OUT ? (uint32_t)EPOLLOUT : 0u);
}

bool loop_watch(Loop *l, int fd, unsigned events, LoopIoFn fn, void *ud) {
  if (fd < 0) {
    errno = EBADF;
    return false;
  }
  if (fd >= (1 << 30)) { /* no process has that many; the table must not overflow */
    errno = EMFILE;
    return false;
  }
  if ((uint32_t)fd >= l->nfds_cap) {
    uint32_t ncap = l->nfds_cap ? l->nfds_cap : 64;
    while (ncap <= (uint32_t)fd) ncap *= 2;
    l->fds = xrealloc(l->fds, (size_t)ncap * sizeof *l->fds);
    memset(l->fds + l->nfds_cap, 0, (size_t)(ncap - l->nfds_cap) * sizeof *l->fds);
    l->nfds_cap = ncap;
  }
  Watch *w = &l->fds[fd];
  bool fresh = w->fn == NULL;
  uint32_t gen = fresh ? ++l->gen : w->gen;
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = to_epoll(events);
  ev.data.u64 = (uint64_t)gen << 32 | (uint32_t)fd;
  int rc = epoll_ctl(l->ep, fresh ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
  /* the kernel's view can differ from ours when a descriptor was closed
   * without being unwatched (its registration vanished with it) or a
   * number was reused: take what the kernel says and try the other way */
  if (rc < 0 && fresh && errno == EEXIST) rc = epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev);
  else if (rc < 0 && !fresh && errno == ENOENT) rc = epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev);
  if (rc < 0) return false;
  if (fresh) l->watched++;
  w->fn = fn;
  w->ud = ud;
  w->events = events & (LOOP_IN | LOOP_OUT);
  w->gen = gen;
  return true;
}

void loop_unwatch(Loop *l, int fd) {
  if (fd < 0 || (uint32_t)fd >= l->nfds_cap || !l->fds[fd].fn) return;
  /* fails harmlessly when fd was already closed (which unregistered it) */
  (void)epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
  l->fds[fd].fn = NULL;
  l->fds[fd].ud = NULL;
  l->watched--;
}

uint32_t loop_watched(const Loop *l) { return l->watched; }

/* ---- timers -------------------------------------------------------------- */

static bool before(const LoopTimer *a, const LoopTimer *b) {
  return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_set(Loop *l, uint32_t i, LoopTimer *t) {
  l->heap[i] = t;
  t->slot = i;
}

static void sift_up(Loop *l, uint32_t i) {
  LoopTimer *t = l->heap[i];
  while (i > 0) {
    uint32_t p = (i - 1) / 2;
    if (!before(t, l->heap[p])) break;
    heap_set(l, i, l->heap[p]);
    i = p;
  }
  heap_set(l, i, t);
}

static void sift_down(Loop *l, uint32_t i) {
  LoopTimer *t = l->heap[i];
  for (;;) {
    uint32_t c = 2 * i + 1;
    if (c >= l->ntimers) break;
    if (c + 1 < l->ntimers && before(l->heap[c + 1], l->heap[c])) c++;
    if (!before(l->heap[c], t)) break;
    heap_set(l, i, l->heap[c]);
    i = c;
  }
  heap_set(l, i, t);
}

void loop_timer_init(LoopTimer *t, void (*fn)(void *ud), void *ud) {
  memset(t, 0, sizeof *t);
  t->slot = UINT32_MAX;
  t->fn = fn;
  t->ud = ud;
}

void loop_timer_stop(Loop *l, LoopTimer *t) {
  uint32_t i = t->slot;
  if (i == UINT32_MAX || i >= l->ntimers || l->heap[i] != t) return;
  t->slot = UINT32_MAX;
  LoopTimer *last = l->heap[--l->ntimers];
  if (i == l->ntimers) return;
  heap_set(l, i, last);
  sift_down(l, i);
  sift_up(l, last->slot);
}

void loop_timer_set(Loop *l, LoopTimer *t, int64_t ms) {
  loop_timer_stop(l, t);
  if (l->ntimers == l->timers_cap) {
    l->timers_cap = l->timers_cap ? l->timers_cap * 2 : 16;
    l->heap = xrealloc(l->heap, (size_t)l->timers_cap * sizeof *l->heap);
  }
  t->at = now_ms() + (ms > 0 ? (uint64_t)ms : 0);
  t->seq = l->seq++;
  heap_set(l, l->ntimers++, t);
  sift_up(l, l->ntimers - 1);
}

int64_t loop_next_timer(const Loop *l) {
  if (!l->ntimers) return -1;
  uint64_t now = now_ms(), at = l->heap[0]->at;
  return at > now ? (int64_t)(at - now) : 0;
}

uint32_t loop_run_timers(Loop *l) {
  if (!l->ntimers) return 0;
  uint64_t now = now_ms(), armed_before = l->seq;
  uint32_t n = 0;
  /* only timers armed before this run: one re-armed by its own callback
   * waits for the next dispatch */
  while (l->ntimers && l->heap[0]->at <= now && l->heap[0]->seq < armed_before) {
    LoopTimer *t = l->heap[0];
    loop_timer_stop(l, t);
    t->fn(t->ud);
    n++;
  }
  return n;
}

/* ---- waiting ------------------------------------------------------------- */

uint32_t loop_wait(Loop *l, int64_t timeout_ms) {
  int64_t t = loop_next_timer(l);
  if (t >= 0 && (timeout_ms < 0 || t < timeout_ms)) timeout_ms = t;
  if (timeout_ms < 0) timeout_ms = 0;
  if (timeout_ms > INT32_MAX) timeout_ms = INT32_MAX;
  uint32_t n = 0;
  int got = 0;
  if (l->watched) {
    got = epoll_wait(l->ep, l->ev, LOOP_BATCH, (int)timeout_ms);
    if (got < 0) got = 0; /* EINTR: a signal; the caller waits again */
  } else if (timeout_ms > 0) {
    /* nothing to watch: only a timer to wait for */
    struct timespec ts = {(time_t)(timeout_ms / 1000), (long)(timeout_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  for (int i = 0; i < got; i++) {
    uint64_t data = l->ev[i].data.u64;
    uint32_t fd = (uint32_t)data, gen = (uint32_t)(data >> 32);
    if (fd >= l->nfds_cap) continue;
    Watch *w = &l->fds[fd];
    if (!w->fn || w->gen != gen) continue; /* unwatched (or reused) since epoll_wait */
    uint32_t e = l->ev[i].events;
    unsigned ready = (e & EPOLLIN ? LOOP_IN : 0u) | (e & EPOLLOUT ? LOOP_OUT : 0u) |
                     (e & (EPOLLERR | EPOLLHUP) ? LOOP_ERR : 0u);
    w->fn(w->ud, (int)fd, ready);
    n++;
  }
  return n + loop_run_timers(l);
}
