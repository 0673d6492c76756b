# help lists the commands; help COMMAND and COMMAND --help describe one.
. "$TESTDIR/../lib/common.sh"

run "$WEFT" help
expect_rc 0 "help"
for c in check run build disasm; do expect_out "$c"; done

run "$WEFT" --help
expect_rc 0 "--help"
expect_out "usage: weft"

run "$WEFT" help run
expect_rc 0 "help run"
for f in --input --arg --max-instructions --max-memory --max-call-depth --max-fibers; do
  expect_out "$f"
done
help_run=$out

run "$WEFT" run --help
expect_rc 0 "run --help"
[ "$out" = "$help_run" ] || fail "'weft run --help' differs from 'weft help run'"

for c in check build disasm; do
  run "$WEFT" "$c" --help
  expect_rc 0 "$c --help"
  expect_out "usage: weft $c"
done

run "$WEFT" help nonsense
expect_rc 2 "help of an unknown command"
expect_err "nonsense"

run "$WEFT"
expect_rc 2 "no command"
expect_err "usage: weft"
exit 0
