/* fuzz_reply.c — libFuzzer harness for the providers' non-streaming
 * replies: each wire format's parse_reply on a 2xx body and
 * error_message on an error body (runtime/anthropic.c, runtime/openai.c).
 *
 * Input: byte 0 picks the provider (bit 0) and, in bits 1-7, the HTTP
 * status an error body comes with; the rest is the body. Any body must
 * give a reply or a one-line error, and an error message must be clean
 * text (no control characters: it reaches a terminal). Build with
 * tests/fuzz/run.sh, or with fuzz_main.c as the smoke run of `make check`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../base/buf.h"
#include "../../runtime/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *text) {
  fprintf(stderr, "fuzz_reply: %s: %s\n", what, text ? text : "(null)");
  abort();
}

static void clean_line(const char *what, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) die(what, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const Provider *prov = (data[0] & 1) ? &provider_openai : &provider_anthropic;
  static const int statuses[] = { 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 529 };
  int status = statuses[(data[0] >> 1) % (sizeof statuses / sizeof statuses[0])];
  const char *body = (const char *)data + 1;
  size_t n = size - 1;

  ProviderReply r;
  memset(&r, 0, sizeof r);
  buf_init(&r.text);
  char *err = NULL;
  if (prov->parse_reply(body, n, &r, &err)) {
    (void)reply_usage_ok(&r);
    if (err) die("parse_reply succeeded with a message", err);
  } else {
    if (!err || !err[0]) die("parse_reply failed without a message", err);
    clean_line("parse_reply's message is not one clean line", err, strlen(err));
  }
  free(err);
  reply_free(&r);

  Buf msg;
  buf_init(&msg);
  prov->error_message(status, body, n, &msg);
  if (!msg.len) die("error_message gave nothing", "");
  clean_line("error_message is not one clean line", msg.data, msg.len);
  buf_free(&msg);
  return 0;
}
