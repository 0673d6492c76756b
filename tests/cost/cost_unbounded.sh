# weft check --cost: the reasons a bound does not exist.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

unb() { # unb FILE REASON
  run "$WEFT" check --cost "$1"
  expect_rc 0 "$1"
  [ "$out" = "main: unbounded model calls: $2" ] || fail "$1: got '$out', expected reason '$2'"
}

unb model_list.weft "fan-out over a model-produced list has no cap at model_list.weft:6"
unb for_model.weft "for loop over a model-produced list has no cap in \`map\` called at for_model.weft:6"
unb loop_model.weft "loop bound computed from a model reply at loop_model.weft:6"
# a loop state that grows loses its bound: the fan-out over it is unbounded
unb growing.weft "fan-out over a list whose length is not known statically at growing.weft:7"
unb recursive.weft "recursive function refine at recursive.weft:5"
