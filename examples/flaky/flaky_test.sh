#!/bin/sh
# flaky_test.sh — a stand-in for a flaky test, for examples/flaky_test.weft.
# Usage: flaky_test.sh EXPERIMENT RUN
# It fails on every third run (its "expiry check reads the wall clock"),
# deterministically by RUN so the example's output is stable, unless the
# experiment fakes the clock.
experiment=$1
run=$2
case $experiment in
  fake_clock) ;;
  *)
    if [ $((run % 3)) -eq 1 ]; then
      echo "FAIL test_session_expiry (run $run): the session expired 1s early"
      exit 1
    fi ;;
esac
echo "ok test_session_expiry (run $run)"
