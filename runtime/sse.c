/* sse.c — the Server-Sent Events decoder both providers stream with
 * (PROVIDERS.md §0, the SDKs' SSEDecoder). curl hands us bytes split
 * anywhere, so only complete lines are parsed and the rest is carried
 * over; a \r ending one feed and a \n starting the next are one line end. */
#include "provider.h"

#include <string.h>

typedef bool (*SseHandler)(void *ctx, const char *event, const char *data, size_t len);

void sse_init(SseParser *p) {
  memset(p, 0, sizeof *p);
  buf_init(&p->line);
  buf_init(&p->event);
  buf_init(&p->data);
}

void sse_free(SseParser *p) {
  buf_free(&p->line);
  buf_free(&p->event);
  buf_free(&p->data);
}

/* One complete line (without its terminator). false: stop. */
static bool sse_line(SseParser *p, const char *s, size_t n, SseHandler on_event, void *ctx) {
  if (n == 0) {
    /* A blank line dispatches; an event without data lines is dropped
     * (the HTML spec's rule), so a lone `event:` does nothing. */
    bool ok = true;
    if (p->has_data)
      ok = on_event(ctx, p->event.data ? p->event.data : "", p->data.data ? p->data.data : "", p->data.len);
    p->event.len = p->data.len = 0;
    if (p->event.data) p->event.data[0] = '\0';
    if (p->data.data) p->data.data[0] = '\0';
    p->has_data = false;
    return ok;
  }
  if (s[0] == ':') return true;   /* a comment: proxies' keep-alives */
  const char *colon = memchr(s, ':', n);
  size_t flen = colon ? (size_t)(colon - s) : n;
  const char *val = colon ? colon + 1 : s + n;
  size_t vlen = (size_t)(s + n - val);
  if (vlen && val[0] == ' ') { val++; vlen--; }
  if (flen == 5 && memcmp(s, "event", 5) == 0) {
    p->event.len = 0;
    buf_put(&p->event, val, vlen);
  } else if (flen == 4 && memcmp(s, "data", 4) == 0) {
    if (p->data.len + vlen + 1 > SSE_MAX_BYTES) { p->overflow = true; return false; }
    if (p->has_data) buf_putc(&p->data, '\n');
    buf_put(&p->data, val, vlen);
    p->has_data = true;
  }
  /* id:, retry: and unknown fields are ignored: no reconnects here. */
  return true;
}

bool sse_feed(SseParser *p, const char *bytes, size_t n, SseHandler on_event, void *ctx) {
  if (p->overflow) return false;
  size_t i = 0;
  if (n && p->saw_cr) {
    if (bytes[0] == '\n') i = 1;   /* the \n of a \r\n split across feeds */
    p->saw_cr = false;
  }
  while (i < n) {
    size_t j = i;
    while (j < n && bytes[j] != '\n' && bytes[j] != '\r') j++;
    if (j == n) {
      if (p->line.len + (n - i) > SSE_MAX_BYTES) { p->overflow = true; return false; }
      buf_put(&p->line, bytes + i, n - i);
      break;
    }
    bool ok;
    if (p->line.len == 0) {
      ok = sse_line(p, bytes + i, j - i, on_event, ctx);
    } else {
      if (p->line.len + (j - i) > SSE_MAX_BYTES) { p->overflow = true; return false; }
      buf_put(&p->line, bytes + i, j - i);
      ok = sse_line(p, p->line.data, p->line.len, on_event, ctx);
      p->line.len = 0;
    }
    if (bytes[j] == '\r') {
      if (j + 1 < n) { if (bytes[j + 1] == '\n') j++; }
      else p->saw_cr = true;
    }
    i = j + 1;
    if (!ok) return false;
  }
  return true;
}
