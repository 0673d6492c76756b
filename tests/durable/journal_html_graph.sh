# weft trace RUN --html: the program's graph beside the timeline, drawn by
# the page as an inline SVG (one node per construct, carrying its source
# line), lanes named by what they are (a branch by its input, a lane's
# calls by role and model, the address kept as a secondary label), and
# hovering a bar lights its fan-out's node and its role's ask node.
# Rendered by headless Chromium: no script error, nothing fetched.
. "$TESTDIR/../lib/common.sh"
J="$tmp/j.db"
CHROMIUM=$(command -v chromium || command -v chromium-browser) || {
  echo "SKIP: chromium is not installed (./bootstrap --tests installs it; Debian: apt-get install chromium)" >&2
  exit 0
}
cat >"$tmp/review.weft" <<'EOF_W'
role reviewer { model: "mock/rev" }
role judge { model: "mock/judge" }
fn main() -> int {
  let files = ["src/parser.c", "src/lexer.c", "long-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.c"]
  let t = fanout f in files {
    ask reviewer "review {f}"
  }
  let r = barrier t
  let best = ask judge "pick one of {len(r)}"
  len(best) * 0 + len(r)
}
EOF_W
run "$WEFT" run "$tmp/review.weft" --provider mock --journal "$J"
expect_rc 0 "the review run"
[ "$out" = 3 ] || fail "review run result: $out"

run "$WEFT" trace last --journal "$J"
expect_rc 0 "trace"
contains "$out" '"ev":"fiber_start","addr":"main/fanout#1@5[0]","input":"src/parser.c"' ||
  fail "fiber_start has no input: $out"
# the input is cut at 120 bytes, with an ellipsis
contains "$out" '"input":"long-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef012…"' ||
  fail "the long input is not cut at 120 bytes: $out"

run "$WEFT" trace last --journal "$J" --html "$tmp/t.html"
expect_rc 0 "trace --html"
P="$tmp/t.html"
[ "$(grep -o '<script' "$P" | wc -l)" = 2 ] || fail "the page has not exactly two script tags"
grep -Eiq '<script[^>]* src=|<link |<img |<iframe |url\(|@import|fetch\(|XMLHttpRequest|https?://' "$P" &&
  fail "the page loads something from outside"

dump() { # dump PAGE OUT: the DOM after the page's script ran; console errors in $tmp/console
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/chromium" \
    --enable-logging=stderr --v=0 --virtual-time-budget=10000 --dump-dom "file://$1" >"$2" 2>"$tmp/chromium.err" ||
    fail "chromium failed on $1: $(tail -n 5 "$tmp/chromium.err")"
  grep 'CONSOLE' "$tmp/chromium.err" >"$tmp/console"
  grep -qi 'uncaught\|error' "$tmp/console" && fail "the page logged an error: $(cat "$tmp/console")"
  return 0
}
dump "$P" "$tmp/dom.html"
D="$tmp/dom.html"
grep -q 'data-bars="4"' "$D" || fail "not 4 bars"
grep -q 'data-graph-nodes="4"' "$D" || fail "the graph has not 4 nodes: $(grep -o 'data-graph-nodes="[^"]*"' "$D")"
grep -q '<svg id="graph-svg"' "$D" || fail "no graph SVG"
grep -q '<g class="gnode parallelogram" data-node="0" data-line="5"' "$D" || fail "no fan-out node at line 5"
grep -q '<text x="6" y="17">fanout over files</text>' "$D" || fail "the fan-out node's label"
grep -q '<g class="gnode box" data-node="1" data-line="6"' "$D" || fail "no ask node at line 6"
grep -q '<text x="6" y="17">ask reviewer (mock/rev)</text>' "$D" || fail "the ask node's label"
grep -q '<text x="6" y="17">ask judge (mock/judge)</text>' "$D" || fail "the judge node's label"
grep -q '<text class="glab"[^>]*>each</text>' "$D" || fail "no 'each' edge label"
# lanes: a branch by its input, its calls by role and model, its address secondary
grep -q '<span class="in">\[0\] src/parser.c ok</span><span class="rm">reviewer · mock/rev</span><span class="ad">fanout#1@5\[0\]</span>' "$D" ||
  fail "lane 0's label: $(grep -o '<div class="row" data-path="main/fanout#1@5\[0\]">.\{0,400\}' "$D")"
grep -q '<span class="in">\[1\] src/lexer.c ok</span>' "$D" || fail "lane 1's label"
grep -q '<span class="in">main ok</span><span class="rm">judge · mock/judge</span>' "$D" || fail "main's label"
grep -q 'title="main/fanout#1@5\[1\]' "$D" || fail "the lane's address is not in its title"

# Hovering a branch's bar lights the fan-out node and the reviewer's ask node, not the judge's.
nonce=$(grep -o '<script nonce="[0-9a-f]*"' "$P" | cut -d'"' -f2)
hover() { # hover ADDR OUT
  sed 's|</body>|<script nonce="'"$nonce"'">document.querySelector(".bar[data-addr=\\"'"$1"'\\"]").dispatchEvent(new MouseEvent("mouseover", {bubbles: true, clientX: 5, clientY: 5}));</script></body>|' \
    "$P" >"$tmp/hover.html"
  dump "$tmp/hover.html" "$2"
}
hover 'main/fanout#1@5[1]/ask#1' "$tmp/h1.dom"
lit=$(grep -o '<g class="gnode [a-z]* hl" data-node="[0-9]*"' "$tmp/h1.dom" | grep -o 'data-node="[0-9]*"' | tr '\n' ' ')
[ "$lit" = 'data-node="0" data-node="1" ' ] || fail "hovering a branch's call lit: $lit"
hover 'main/ask#3' "$tmp/h2.dom"
lit=$(grep -o '<g class="gnode [a-z]* hl" data-node="[0-9]*"' "$tmp/h2.dom" | grep -o 'data-node="[0-9]*"' | tr '\n' ' ')
[ "$lit" = 'data-node="3" ' ] || fail "hovering the judge's call lit: $lit"
exit 0
