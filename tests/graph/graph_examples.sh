# weft graph: the DOT of every example renders with Graphviz, and names
# what the program holds (each ask's role and model, fan-outs, barriers,
# loops, verify, tournaments, budgets); --mermaid gives a flowchart.
. "$TESTDIR/../lib/common.sh"
command -v dot >/dev/null || fail "Graphviz (dot) is needed: ./bootstrap --tests installs it"
ex="$TESTDIR/../../examples"
n=0
for f in "$ex"/*.weft; do
  run "$WEFT" graph "$f"
  [ "$rc" = 0 ] || fail "graph $f: exit $rc: $err"
  printf '%s\n' "$out" >"$tmp/g.dot"
  dot -Tsvg "$tmp/g.dot" -o "$tmp/g.svg" 2>"$tmp/dot.err" || fail "dot cannot render the graph of $f: $(cat "$tmp/dot.err")"
  [ -s "$tmp/dot.err" ] && fail "dot warns on the graph of $f: $(cat "$tmp/dot.err")"
  # every role an ask names appears with its model
  for role in $(sed -n 's/^role \([a-z_0-9]*\).*/\1/p' "$f"); do
    if grep -q "ask $role " "$f"; then
      case $out in *"ask $role ("*) ;; *) fail "graph $f: no node for the asks of role $role" ;; esac
    fi
  done
  n=$((n + 1))
done
[ "$n" -ge 5 ] || fail "only $n examples found"

# one program holding every construct, in full
cat >"$tmp/all.weft" <<'W'
role w { model: "mock/writer" }
role s { model: "mock/skeptic" }
role j { model: "mock/judge" }
fn review(x: string) -> string { ask w "review {x}" }
fn main(xs: list[string]) -> string {
  let t = fanout x in xs limit 4 { review(x) }
  let ok = barrier t timeout 30s tolerate 20%
  let best = tournament ok.ok by j on "clear"
  let v = verify best by [s, w] quorum 2
  let r = loop d = best max 3 { ask w "improve {d}" } until len(d) > 10 else d
  let _v = v
  budget { calls: 5, time: 1m } { ask s "last look at {r}" } else { ask j "fallback for {r}" }
}
W
run "$WEFT" graph "$tmp/all.weft"
[ "$rc" = 0 ] || fail "graph all.weft: exit $rc: $err"
for want in 'label="fn main"' 'label="fn review"' 'fanout over xs limit 4' 'label="each"' \
  'call review' 'lhead=cluster_' 'ask w (mock/writer)' 'barrier tolerate 20% timeout 30s' \
  'tournament by j (mock/judge) on \"clear\"' 'verify by s (mock/skeptic), w (mock/writer) quorum 2' \
  'loop max 3 until len(d) > 10' 'label="body"' 'label="else"' 'budget calls: 5, time: 1m'; do
  case $out in *"$want"*) ;; *) fail "graph all.weft lacks '$want':
$out" ;; esac
done
printf '%s\n' "$out" | dot -Tsvg >/dev/null || fail "dot cannot render all.weft"
run "$WEFT" graph --mermaid "$tmp/all.weft"
[ "$rc" = 0 ] || fail "--mermaid: exit $rc"
case $out in "flowchart TD"*) ;; *) fail "--mermaid: not a flowchart: $out" ;; esac
case $out in *'subgraph fn'*'["fn main"]'*'-.-> fn'*) ;; *) fail "--mermaid: no function subgraph or call edge: $out" ;; esac
case $out in *'on #quot;clear#quot;'*) ;; *) fail "--mermaid: quotes not escaped: $out" ;; esac

# a label quoting hostile source stays inert: quotes and controls escaped
printf 'role w { model: "mock/w" }\nfn main() -> string {\n  ask w "x\\" ] -> evil [label=\\"" -> "a\\u{1b}[2J" | "b"\n}\n' >"$tmp/evil.weft"
run "$WEFT" graph "$tmp/evil.weft"
[ "$rc" = 0 ] || fail "graph evil.weft: exit $rc: $err"
printf '%s\n' "$out" | dot -Tsvg >/dev/null 2>&1 || fail "dot rejects the graph of a hostile label: $out"
case $out in *"$(printf '\033')"*) fail "a raw escape character in the graph" ;; esac

# a program with errors: the diagnostics, exit 1, no graph
printf 'fn main() -> int { "no" }\n' >"$tmp/bad.weft"
run "$WEFT" graph "$tmp/bad.weft"
[ "$rc" = 1 ] || fail "graph of a bad program: exit $rc"
[ -z "$out" ] || fail "graph of a bad program printed: $out"
case $err in *E0301*) ;; *) fail "graph of a bad program: no diagnostic: $err" ;; esac
exit 0
