# A hand-built .weftc reaches trace_event (the loader resolves natives by
# key), so the native itself decides what a program may write: only the
# constructs' events (verdict, tournament, match), never an event the
# runtime writes from its own state (ask, sleep, fiber_start, fiber_end,
# barrier, budget, loop), and never a field that would repeat the line's
# own keys (t, ev, addr, truncated). A refusal fails the run, traced or
# not, and nothing forged reaches the trace or the journal.
. "$TESTDIR/../lib/common.sh"
PATCH="$TESTDIR/data/weftc_patch.py"
CHECK="$TESTDIR/data/jsonl_check.py"
J="$tmp/j.db"
"$WEFT" build "$TESTDIR/data/verify.weft" -o "$tmp/v.weftc" >/dev/null 2>&1 || fail "cannot build the verify program"

# The prelude's own call, with its event name turned into a runtime event's.
for ev in ask fiber_end budget loop sleep; do
  python3 "$PATCH" "$tmp/v.weftc" "$tmp/$ev.weftc" --const verdict "$ev" || fail "cannot patch the module"
  for traced in yes no; do
    if [ "$traced" = yes ]; then
      run "$WEFT" run "$tmp/$ev.weftc" --provider mock --trace "$tmp/$ev.jsonl" --journal "$J"
    else
      run "$WEFT" run "$tmp/$ev.weftc" --provider mock --no-journal
    fi
    expect_rc 1 "a module writing a '$ev' event (traced: $traced)"
    expect_err "trace_event: \`$ev\` is not an event a program writes"
  done
  python3 "$CHECK" "$tmp/$ev.jsonl" --count verdict 0 || fail "the trace of the '$ev' module is forged"
  # the only event of that name is the runtime's own (one ask, one fiber_end)
  case $ev in
    ask | fiber_end) python3 "$CHECK" "$tmp/$ev.jsonl" --count "$ev" 1 || fail "a forged '$ev' event" ;;
    *) python3 "$CHECK" "$tmp/$ev.jsonl" --count "$ev" 0 || fail "a forged '$ev' event" ;;
  esac
done

# A field named like the line's own keys would give "ev" twice.
for key in ev addr t truncated; do
  python3 "$PATCH" "$tmp/v.weftc" "$tmp/k_$key.weftc" --const reason "$key" || fail "cannot patch the module"
  printf '{"replies": [{"value": {"holds": true, "confidence": 1, "%s": "ask", "counterexample": null}}]}\n' "$key" >"$tmp/k.json"
  run "$WEFT" run "$tmp/k_$key.weftc" --provider mock --mock-script "$tmp/k.json" --trace "$tmp/k_$key.jsonl" --no-journal
  expect_rc 1 "a verdict event with a field '$key'"
  expect_err "trace_event: the field \`$key\` is the event's own"
  python3 "$CHECK" "$tmp/k_$key.jsonl" --count verdict 0 || fail "the trace with a field '$key' is forged"
done

# A program's own code calling trace_event: a public native's key renamed.
"$WEFT" build "$TESTDIR/data/native.weft" -o "$tmp/n.weftc" >/dev/null 2>&1 || fail "cannot build the native program"
python3 "$PATCH" "$tmp/n.weftc" "$tmp/n2.weftc" --native starts_with trace_event || fail "cannot patch the module"
run "$WEFT" run "$tmp/n2.weftc" --trace "$tmp/n.jsonl" --journal "$J"
expect_rc 1 "a program calling trace_event itself"
expect_err "trace_event: \`fiber_end\` is not an event a program writes"
python3 "$CHECK" "$tmp/n.jsonl" --count fiber_end 1 || fail "a forged fiber_end event"
# the journal's copy of the events is as clean
last=$("$WEFT" runs --journal "$J" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
"$WEFT" trace "$last" --journal "$J" | python3 "$CHECK" - --count fiber_end 1 || fail "the journal holds a forged event"
exit 0
