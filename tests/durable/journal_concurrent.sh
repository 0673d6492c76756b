# Several weft processes share one journal: each run writes only while it
# commits, so runs that wait on models (here: sleeps between mock asks)
# never block each other, and each gets its own id and effects.
. "$TESTDIR/../lib/common.sh"

cat >"$tmp/slow.weft" <<'EOF_W'
role w { model: "mock/m" }
fn main(tag: string) -> list[string] {
  let t = fanout i in range(6) limit 3 {
    sleep(150ms)
    ask w "{tag} {i}"
  }
  barrier t
}
EOF_W

pids=""
for k in 1 2 3 4; do
  "$WEFT" run "$tmp/slow.weft" --arg tag=p$k --quiet >"$tmp/out$k" 2>"$tmp/err$k" &
  pids="$pids $!"
done
k=0
for p in $pids; do
  k=$((k + 1))
  wait "$p" || fail "run $k failed: $(cat "$tmp/err$k")"
  contains "$(cat "$tmp/out$k")" "to: p$k 5" || fail "run $k: $(cat "$tmp/out$k")"
done

run "$WEFT" runs --json
expect_rc 0 "runs"
n=$(printf '%s' "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r), sorted(x["status"] for x in r), sorted(x["calls"] for x in r))')
[ "$n" = "4 ['ok', 'ok', 'ok', 'ok'] [6, 6, 6, 6]" ] || fail "runs: $n"
