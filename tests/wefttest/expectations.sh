# Each expectation of a weft test file, failing: the message names what
# differed (a unified diff of the pretty-printed results; the error, its
# kind and the address of the call that failed; calls, tokens, cost,
# roles, models), the other tests still run, and the exit code is 1.
. "$TESTDIR/../lib/common.sh"
cp "$DATA/review.weft" "$DATA/review.mock.json" "$tmp/"
T="$tmp/e.test.json"
# one TEST_OBJECT...: runs the tests as a list; $out holds the report
one() {
  printf '[%s]\n' "$1" >"$T"
  run "$WEFT" test "$T"
}
base='"program": "review.weft", "args": {"change": "+ strcpy(a, b);"}, "mock": "review.mock.json"'

one "{$base, \"expect\": {\"result\": {\"findings\": 3, \"high\": 1, \"verdict\": {\"merge\": false, \"reason\": \"fix the overflow first\"}}}}"
expect_rc 1 "a wrong result"
expect_out "result: differs from the expected one"
expect_out "--- expected"
expect_out "+++ actual"
expect_out '-  "findings": 3,'
expect_out '+  "findings": 2,'
expect_out ' "high": 1,'
expect_out "0 passed, 1 failed"

one "{$base, \"expect\": {\"result_contains\": \"ship it\"}}"
expect_rc 1 "result_contains"
expect_out 'result: expected it to contain "ship it", got: {"findings":2'

one "{$base, \"expect\": {\"calls\": 3, \"max_calls\": 1, \"max_tokens\": 5, \"max_cost_usd\": 0}}"
expect_rc 1 "counts"
expect_out "calls: expected 3, got 2"
expect_out "calls: expected at most 1, got 2"
expect_out "tokens: expected at most 5, got "

one "{$base, \"expect\": {\"roles\": {\"reviewer\": 2, \"lead\": 1}}}"
expect_rc 1 "roles as counts"
expect_out 'roles: expected {"reviewer":2,"lead":1}, got {"reviewer":1,"lead":1}'
one "{$base, \"expect\": {\"roles\": [\"reviewer\"]}}"
expect_rc 1 "roles as a set"
expect_out 'roles: expected ["reviewer"], got {"reviewer":1,"lead":1}'
one "{$base, \"expect\": {\"models\": [\"mock/claude-sonnet-4-5\"]}}"
expect_rc 1 "models"
expect_out 'models: expected ["mock/claude-sonnet-4-5"], got {"mock/claude-sonnet-4-5":1,"mock/claude-haiku-4-5":1}'

# an ask the mock script does not answer fails the run, naming its address
unscripted='"program": "review.weft", "args": {"change": "+ free(p); free(p);"}, "mock": "review.mock.json"'
one "{$unscripted, \"expect\": {\"result_contains\": \"merge\"}}"
expect_rc 1 "an unscripted ask"
expect_out "the run failed (error): ask reviewer (mock/claude-sonnet-4-5): no --mock-script entry fits this ask at main/ask#1"
expect_out "the failed call: main/ask#1"
expect_out "at main ($tmp/review.weft:"

# expected errors: the kind and the message are compared
one "{$unscripted, \"expect\": {\"error\": {\"kind\": \"budget\", \"message_contains\": \"over budget\"}}}"
expect_rc 1 "a wrong error"
expect_out "error kind: expected budget, got error"
expect_out 'error message: expected it to contain "over budget", got: ask reviewer'
one "{$unscripted, \"expect\": {\"error\": {\"kind\": \"error\", \"message_contains\": \"no --mock-script entry\"}}}"
expect_rc 0 "the expected error: $out"
one "{$base, \"expect\": {\"error\": {}}}"
expect_rc 1 "an error expected of a run that succeeds"
expect_out "the run succeeded, but an error was expected"

# a failed test does not stop the others; main's inputs are checked
one "{$base, \"expect\": {\"calls\": 9}}, {$base, \"expect\": {\"calls\": 2}}, {\"program\": \"review.weft\", \"args\": {\"nope\": 1}, \"expect\": {}}"
expect_rc 1 "three tests"
expect_out "review.weft #1 ... FAILED"
expect_out "review.weft #2 ... ok"
expect_out "review.weft #3 ... FAILED"
expect_out "main has no parameter 'nope'"
expect_out "1 passed, 2 failed"
