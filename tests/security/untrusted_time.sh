# An untrusted run always has a wall-clock limit, --budget-time (10m when
# not given), and it holds: a sleep of 2562047788015h, sleeping fan-out
# branches, a program's own budget with more time, a busy loop and a model
# that never answers all stop at the deadline (docs/security.md,
# "Untrusted programs").
. "$TESTDIR/../lib/server.sh"
cd "$tmp" || fail "cd"
printf 'fn main() {\n  sleep(2562047788015h)\n  print("woke")\n}\n' >sleep.weft
printf 'fn main() -> int {\n  let t = fanout x in range(20) { sleep(1000h)\n    x }\n  len(barrier t)\n}\n' >fan.weft
printf 'fn main() -> string {\n  budget { time: 1000h } { sleep(999h)\n    "woke" } else { "else" }\n}\n' >inner.weft
printf 'fn main() -> int {\n  loop s = 0 max 1000000000000 { s + 1 } until s < 0 else s\n}\n' >busy.weft
printf 'role r { model: "openai/fault-stall" }\nfn main() -> string { ask r "hello" }\n' >stall.weft

# within SECONDS CMD...: runs CMD and fails if it took longer.
within() {
  lim=$1
  shift
  t0=$(now_ms)
  run "$@"
  t1=$(now_ms)
  [ $((t1 - t0)) -le $((lim * 1000)) ] || fail "$* took $((t1 - t0)) ms (more than $lim s)"
}

# The reproducer: the long sleep, cut at 1 s.
within 6 "$WEFT" run --no-journal --untrusted --budget-time 1s sleep.weft
expect_rc 1 "the long sleep"
expect_err "budget exhausted: time"
expect_no_out "the long sleep"
within 6 "$WEFT" run --no-journal --untrusted --budget-time 1s fan.weft
expect_rc 1 "sleeping branches"
expect_err "budget exhausted: time"
# A program's own budget cannot give itself more time than the operator.
within 6 "$WEFT" run --no-journal --untrusted --budget-time 1s inner.weft
expect_rc 1 "a budget block with more time"
expect_err "budget exhausted: time"
within 6 "$WEFT" run --no-journal --untrusted --budget-time 1s --max-instructions 100000000000000 busy.weft
expect_rc 1 "a busy loop"
expect_err "budget exhausted: time"
within 6 "$WEFT" run --no-journal --untrusted --budget-time 1s --models openai/fault-stall --timeout 10m stall.weft
expect_rc 1 "a model that never answers"
expect_err "budget exhausted: time"

# Without --budget-time an untrusted run has one all the same (the
# trace's run budget reports elapsed_ms only under a time limit); an
# ordinary run has none.
printf 'role r { model: "mock/m" }\nfn main() -> string { ask r "hi" }\n' >ask.weft
run "$WEFT" run --no-journal --untrusted --trace "$tmp/u.jsonl" ask.weft
expect_rc 0 "an untrusted mock ask"
grep -q '"ev":"budget","addr":"run".*"elapsed_ms"' "$tmp/u.jsonl" || fail "no time budget in an untrusted run: $(cat "$tmp/u.jsonl")"
run "$WEFT" run --no-journal --trace "$tmp/t.jsonl" --budget-calls 5 ask.weft
expect_rc 0 "an ordinary mock ask"
grep -q '"elapsed_ms"' "$tmp/t.jsonl" && fail "an ordinary run got a time budget: $(cat "$tmp/t.jsonl")"
exit 0
