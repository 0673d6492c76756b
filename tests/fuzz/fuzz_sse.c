/* fuzz_sse.c — libFuzzer harness for the streaming reply path: the SSE
 * framing (runtime/sse.c) and each provider's stream_event on the events
 * it yields, as the engine drives them on a 2xx stream.
 *
 * Input: byte 0 picks the provider (bit 0) and a seed for where the
 * stream is cut into network reads; the rest is the stream. Oracle beyond
 * "no crash, no leak": the framing is independent of how bytes arrive, so
 * the events of the stream fed in one piece and fed in cuts (inside lines,
 * inside "\r\n", inside UTF-8 characters) must be the same. Build with
 * tests/fuzz/run.sh, or with fuzz_main.c as the smoke run of `make check`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../base/buf.h"
#include "../../runtime/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every event as "event\0len:data\0", so two feeds compare with memcmp. */
static bool record(void *ctx, const char *event, const char *d, size_t len) {
  Buf *b = ctx;
  buf_put(b, event, strlen(event) + 1);
  buf_printf(b, "%zu:", len);
  buf_put(b, d, len);
  buf_put(b, "", 1);
  return true;
}

typedef struct Drive { const Provider *p; StreamState st; } Drive;

static bool drive(void *ctx, const char *event, const char *d, size_t len) {
  Drive *dv = ctx;
  if (dv->st.done || dv->st.failed) return false;
  return dv->p->stream_event(&dv->st, event, d, len);
}

/* Feeds s[0..n) to a new parser in cuts chosen by seed; returns sse_feed's
 * last result. */
static bool feed_cut(const char *s, size_t n, uint32_t seed,
                     bool (*cb)(void *, const char *, const char *, size_t), void *ctx) {
  SseParser p;
  sse_init(&p);
  bool ok = true;
  size_t at = 0;
  while (ok && at < n) {
    seed = seed * 1103515245u + 12345u;
    size_t k = 1 + (seed >> 16) % 7;
    if (k > n - at) k = n - at;
    ok = sse_feed(&p, s + at, k, cb, ctx);
    at += k;
  }
  sse_free(&p);
  return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const Provider *prov = (data[0] & 1) ? &provider_openai : &provider_anthropic;
  uint32_t seed = data[0] >> 1;
  const char *s = (const char *)data + 1;
  size_t n = size - 1;

  Buf whole, cut;
  buf_init(&whole);
  buf_init(&cut);
  SseParser p;
  sse_init(&p);
  bool ok1 = sse_feed(&p, s, n, record, &whole);
  sse_free(&p);
  bool ok2 = feed_cut(s, n, seed, record, &cut);
  if (ok1 != ok2 || whole.len != cut.len || (whole.len && memcmp(whole.data, cut.data, whole.len))) {
    fprintf(stderr, "fuzz_sse: the events depend on how the stream was cut\n");
    abort();
  }
  buf_free(&whole);
  buf_free(&cut);

  Drive dv;
  memset(&dv, 0, sizeof dv);
  dv.p = prov;
  buf_init(&dv.st.reply.text);
  buf_init(&dv.st.error);
  feed_cut(s, n, seed ^ 0x5a5a5a5au, drive, &dv);
  (void)reply_usage_ok(&dv.st.reply);
  reply_free(&dv.st.reply);
  buf_free(&dv.st.error);
  return 0;
}
