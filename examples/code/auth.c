#include <string.h>

/* Returns 1 when the token the client sent is the session's. */
int token_ok(const char *sent, const char *expected) {
  return strcmp(sent, expected) == 0; /* stops at the first difference */
}

int retries_left(int used) { return 3 - used; }
