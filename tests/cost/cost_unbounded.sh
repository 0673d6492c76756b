# weft check --cost: the reasons a bound does not exist.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

# unb FILE REASON FIX: the reason, then a help line saying how to bound it
unb() {
  run "$WEFT" check --cost "$1"
  expect_rc 0 "$1"
  first=$(printf '%s\n' "$out" | sed -n 1p)
  second=$(printf '%s\n' "$out" | sed -n 2p)
  [ "$first" = "main: unbounded model calls: $2" ] || fail "$1: got '$first', expected reason '$2'"
  case $second in
    "help: "*"$3"*) ;;
    *) fail "$1: no help line naming '$3' after the reason: '$out'" ;;
  esac
  run "$WEFT" check --cost --json "$1"
  contains "$out" '"fix":"' || fail "$1: --json gives no fix: $out"
}

unb model_list.weft "fan-out over a model-produced list has no cap at model_list.weft:6" 'take(xs, 10)'
unb for_model.weft "for loop over a model-produced list has no cap in \`map\` called at for_model.weft:6" 'take(xs, 10)'
unb loop_model.weft "loop bound computed from a model reply at loop_model.weft:6" 'give `max` a constant'
# a loop state that grows loses its bound: the fan-out over it is unbounded
unb growing.weft "fan-out over a list whose length is not known statically at growing.weft:7" 'take(xs, N)'
unb recursive.weft "recursive function refine at recursive.weft:5" 'loop s = init max N'
# the fix it suggests does bound the fan-out
printf 'role w { model: "mock/w" }\nfn main(topic: string) -> list[string] {\n  let ideas = take(ask w "ideas on {topic}" -> list[string], 10)\n  let t = fanout i in ideas { ask w "expand {i}" }\n  barrier t\n}\n' >"$tmp/capped.weft"
run "$WEFT" check --cost "$tmp/capped.weft"
[ "$out" = "main: at most 13 model calls, at most 53248 output tokens" ] ||
  fail "take(xs, 10) does not bound the fan-out: $out"
