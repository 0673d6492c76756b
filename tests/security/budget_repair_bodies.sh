# Each repair resends the conversation. It is kept to the prompt, the last
# bad reply and its validation error, each quote cut (16 KiB and 2 KiB),
# so request bodies stay bounded however many repairs a call makes and
# however long the bad replies are. The server records each body's size.
. "$TESTDIR/../lib/server.sh"

# body_sizes: the server's body_bytes as space-separated numbers
body_sizes() {
  stats body_bytes | "$PY" -c 'import json, sys; print(" ".join(str(n) for n in json.load(sys.stdin)))'
}

for p in openai anthropic; do
  # 10 repairs of a reply that never fits: 11 requests, and the repair
  # bodies are all the same size (the prompt + the last bad reply + its
  # error), never growing with each repair
  ask typed_record "$p" fault-badschema --repairs 10 --budget-calls 20
  expect_rc 1 "$p 10 repairs"
  expect_no_crash "$p 10 repairs"
  [ "$(attempts)" = 11 ] || fail "$p: $(attempts) requests, expected 1 + 10 repairs"
  set -- $(body_sizes)
  [ "$#" = 11 ] || fail "$p: the server recorded $# bodies"
  first=$1 second=$2
  shift
  for b in "$@"; do
    [ "$b" = "$second" ] || fail "$p: repair bodies differ in size (they grow): $(body_sizes)"
  done
  [ "$second" -lt $((first + 4096)) ] || fail "$p: a repair body is $second bytes, the first $first"

  # a huge bad reply (100 kB of prose for a typed ask) is quoted cut:
  # every repair body stays under the prompt + 16 KiB + 2 KiB + slack
  ask typed_record "$p" huge-100kb --repairs 10 --budget-calls 20
  expect_rc 1 "$p huge bad replies"
  [ "$(attempts)" = 11 ] || fail "$p huge: $(attempts) requests, expected 11"
  max=$(stats max_body_bytes)
  set -- $(body_sizes)
  first=$1
  [ "$max" -lt $((first + 16384 + 2048 + 2048)) ] || fail "$p huge: a repair body is $max bytes: $(body_sizes)"
  [ "$max" -gt $((first + 16384)) ] || fail "$p huge: the bad reply was not quoted (max body $max)"
done
exit 0
