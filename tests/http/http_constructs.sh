# Workflow constructs over real HTTP asks (the local test server): the
# server's own counters check what the program cannot see from inside.
#  - concurrency: `limit N` bounds the requests in flight, nested fan-outs
#    multiply their limits and no more;
#  - cancellation: a failing branch under a plain barrier closes the
#    connections of the asks in flight (server in_flight back to 0) and
#    the asks the cancelled branches would have made later are never sent;
#    `first K` cancels the slower asks the same way;
#  - a barrier timeout with a slow model (`slow-5000`, `timeout 1s`)
#    returns at the deadline, not when the model answers.
. "$TESTDIR/../lib/server.sh"

# wait_idle WHAT: the server sees no request in flight within 2 s (it
# notices closed connections asynchronously).
wait_idle() { # wait_idle WHAT [TICKS]: at most TICKS x 50 ms (default 2 s)
  i=0
  while [ "$(stats in_flight)" != 0 ]; do
    i=$((i + 1))
    [ "$i" -le "${2:-40}" ] || fail "$1: requests still in flight at the server: $(stats in_flight)"
    sleep 0.05
  done
}

# ---- limit: never above it -------------------------------------------------
cat >"$tmp/limit.weft" <<'EOF_W'
role r { model: "openai/slow-100" }

fn main() -> int {
  let replies = barrier fanout i in range(30) limit 5 { ask r "limit item {i}" }
  len(replies)
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/limit.weft"
expect_rc 0 "30 asks with limit 5"
[ "$out" = 30 ] || fail "limit 5: got $out"
[ "$(attempts)" = 30 ] || fail "limit 5: the server saw $(attempts) requests"
m=$(stats max_in_flight)
[ "$m" -le 5 ] || fail "limit 5: $m requests in flight at once"
[ "$m" -ge 3 ] || fail "limit 5: the asks barely overlapped (max_in_flight $m)"

# ---- nested: outer limit 2 x inner limit 3 = at most 6 ---------------------
cat >"$tmp/nested.weft" <<'EOF_W'
role r { model: "openai/slow-100" }

fn main() -> int {
  let rows = barrier fanout row in range(4) limit 2 {
    let cells = barrier fanout col in range(6) limit 3 { ask r "cell {row} {col}" }
    len(cells)
  }
  sum(rows)
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/nested.weft"
expect_rc 0 "nested fan-outs"
[ "$out" = 24 ] || fail "nested: got $out"
[ "$(attempts)" = 24 ] || fail "nested: the server saw $(attempts) requests"
m=$(stats max_in_flight)
[ "$m" -le 6 ] || fail "nested 2 x 3: $m requests in flight at once"
[ "$m" -gt 3 ] || fail "nested 2 x 3: the outer branches did not overlap (max_in_flight $m)"

# ---- cancellation: in flight closed, later asks never sent -----------------
# Branches 1-3 wait on a model that never answers; each would ask again
# afterwards ("second ask"), which must never reach the server. Branch 0
# fails at 300 ms; branches 4 and 5 are pending behind `limit 4`.
cat >"$tmp/cancel.weft" <<'EOF_W'
role r { model: "openai/fault-stall" }

fn main() -> list[string] {
  barrier fanout i in range(6) limit 4 {
    if i == 0 {
      sleep(300ms)
      fail("stop")
    }
    let a = ask r "first ask {i}"
    ask r "second ask {i} after {a}"
  }
}
EOF_W
reset_stats
t0=$(now_ms)
run "$WEFT" run "$tmp/cancel.weft" --retries 0 --timeout 30s
t1=$(now_ms)
expect_rc 1 "cancel: a failing branch"
expect_no_crash "cancel: a failing branch"
expect_err "branch 0 failed: stop"
[ $((t1 - t0)) -lt 5000 ] || fail "cancel: waited for the stalled asks: $((t1 - t0)) ms"
[ "$(attempts)" = 3 ] || fail "cancel: expected 3 requests, got $(attempts)"
contains "$(stats attempts_by_prompt)" "second ask" && fail "cancel: a later ask was sent: $(stats attempts_by_prompt)"
wait_idle "cancel"

# ---- first K cancels the slower asks ---------------------------------------
cat >"$tmp/first.weft" <<'EOF_W'
role fast { model: "openai/slow-50" }
role slow { model: "openai/fault-stall" }

fn main() -> list[string] {
  barrier fanout i in range(5) {
    if i % 2 == 0 { ask slow "slow {i}" } else { ask fast "fast {i}" }
  } first 2
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/first.weft" --retries 0 --timeout 30s
expect_rc 0 "first 2"
contains "$out" "fast 1" || fail "first 2: got $out"
contains "$out" "fast 3" || fail "first 2: got $out"
[ "$(attempts)" = 5 ] || fail "first 2: expected 5 requests, got $(attempts)"
wait_idle "first 2"

# ---- barrier timeout with a slow model -------------------------------------
cat >"$tmp/timeout.weft" <<'EOF_W'
role slow { model: "openai/slow-5000" }
role quick { model: "openai/quick" }

fn main() -> int {
  let t = fanout i in range(4) {
    if i == 0 { ask quick "quick {i}" } else { ask slow "slow {i}" }
  }
  let j = barrier t tolerate 3 timeout 1s
  for f in j.failed { print("{f.branch} {f.kind}") }
  len(j.ok)
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/timeout.weft" --trace "$tmp/timeout.jsonl"
expect_rc 0 "timeout 1s"
[ "$out" = "1 timeout
2 timeout
3 timeout
1" ] || fail "timeout 1s: got $out"
# The barrier's own clock (the trace), not the wall clock of a loaded
# machine: decided at the deadline, long before the slow model's 5 s (the
# quick ask has a whole second to answer, even on a loaded machine).
d=$("$PY" -c 'import json,sys
print([e for e in map(json.loads, open(sys.argv[1])) if e["ev"] == "barrier"][0]["duration_ms"])' "$tmp/timeout.jsonl") ||
  fail "timeout 1s: no barrier event in the trace"
[ "$d" -ge 1000 ] && [ "$d" -lt 4000 ] || fail "timeout 1s: the barrier was decided after $d ms"
# the server notices the closed connections only when its 5 s are up
wait_idle "timeout" 160

# The same under a plain barrier: the run fails at the deadline.
cat >"$tmp/timeout_plain.weft" <<'EOF_W'
role slow { model: "openai/slow-500" }

fn main() -> list[string] {
  barrier fanout i in range(3) { ask slow "slow {i}" } timeout 100ms
}
EOF_W
run "$WEFT" run "$tmp/timeout_plain.weft"
expect_rc 1 "plain timeout"
expect_no_out "plain timeout"
expect_err "timed out after 100ms"
wait_idle "plain timeout"
exit 0
