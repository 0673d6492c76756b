# weft trace RUN --html: the timeline page of a mock run with 1,006 effects
# (a 1,000-branch fan-out, sleeps, a failed ask, and a hostile reply that
# tries to close the data block), rendered by headless Chromium: one bar
# per effect, body data-bars set, nothing injected, a tooltip that shows
# the hostile reply as text; and the page loads nothing from outside.
. "$TESTDIR/../lib/common.sh"
J="$tmp/j.db"
CHROMIUM=$(command -v chromium || command -v chromium-browser) ||
  fail "chromium is not installed (./bootstrap --tests installs it; Debian: apt-get install chromium)"

cat >"$tmp/wide.weft" <<'EOF_W'
role writer { model: "mock/m" }
fn main() -> int {
  let t = fanout i in range(1000) {
    ask writer "say {i}."
  }
  let u = fanout i in range(3) {
    sleep(1ms)
    ask writer "count {i}." -> int
  }
  let a = barrier t
  let b = barrier u tolerate 1
  len(a) + len(b.ok)
}
EOF_W
HOSTILE="</script><script>document.title='pwned'</script><img src=x onerror=alert(1)><!--"
cat >"$tmp/mock.json" <<EOF_J
{"replies": [
  {"match": "say 7.", "reply": "$HOSTILE"},
  {"match": "count 2.", "reply": "oops"}
]}
EOF_J
run "$WEFT" run "$tmp/wide.weft" --provider mock --mock-script "$tmp/mock.json" --journal "$J"
expect_rc 0 "the wide run"
[ "$out" = 1002 ] || fail "wide run result: $out"
id=$(printf '%s\n' "$err" | sed -n 's/^weft: run \([0-9]*\) (journal .*/\1/p')
[ -n "$id" ] || fail "no run id on stderr: $err"

# The expected count, from the events the run itself wrote.
run "$WEFT" trace "$id" --journal "$J"
expect_rc 0 "trace"
effects=$(printf '%s\n' "$out" | grep -c '"ev":"\(ask\|sleep\)"')
[ "$effects" = 1006 ] || fail "the run has $effects ask and sleep events, expected 1006"

run "$WEFT" trace "$id" --journal "$J" --html "$tmp/t.html"
expect_rc 0 "trace --html"
expect_no_out "trace --html"
P="$tmp/t.html"
# The data block cannot be closed early: every "<" in it is \u003c.
grep -q 'u003c/script>\\u003cscript>document.title' "$P" || fail "the hostile reply is not in the page escaped"
grep -q '</script><script>document.title' "$P" && fail "the hostile reply is in the page raw"
[ "$(grep -o '<script' "$P" | wc -l)" = 2 ] || fail "the page has not exactly two script tags"
# Self-contained: no external scripts, styles, images, links or fetches.
grep -Eiq '<script[^>]* src=|<link |<img |<iframe |url\(|@import|fetch\(|XMLHttpRequest|https?://' "$P" &&
  fail "the page loads something from outside"

# dump PAGE OUT: the DOM after the page's script ran.
dump() {
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/chromium" \
    --virtual-time-budget=10000 --dump-dom "file://$1" >"$2" 2>"$tmp/chromium.err" ||
    fail "chromium failed on $1: $(tail -n 5 "$tmp/chromium.err")"
}
dump "$P" "$tmp/dom.html"
D="$tmp/dom.html"
bars=$(grep -o 'class="bar [a-z ]*"' "$D" | wc -l)
[ "$bars" = "$effects" ] || fail "$bars bars rendered, expected $effects"
grep -q "data-bars=\"$effects\"" "$D" || fail "body data-bars is not $effects: $(grep -o 'data-bars="[^"]*"' "$D")"
[ "$(grep -o 'class="bar failed"' "$D" | wc -l)" = 1 ] || fail "not one failed bar"
[ "$(grep -o 'class="bar ok sleep"' "$D" | wc -l)" = 3 ] || fail "not three sleep bars"
[ "$(grep -o 'data-addr="main/fanout#1@3\[[0-9]*\]/ask#1"' "$D" | sort -u | wc -l)" = 1000 ] ||
  fail "not 1000 distinct branch bars"
grep -q 'data-addr="main/fanout#2@6\[2\]/ask#2"' "$D" || fail "no bar for the failed ask"
# One row per fiber: main and 1,003 branches.
[ "$(grep -o 'class="row"' "$D" | wc -l)" = 1004 ] || fail "not 1004 fiber rows"
grep -q '<img' "$D" && fail "the hostile reply made an <img> element"
[ "$(grep -o '<script' "$D" | wc -l)" = 2 ] || fail "the DOM has more than the page's two scripts"
grep -q '<title>weft run [0-9]*: .*wide.weft</title>' "$D" || fail "title: $(grep -o '<title>.*</title>' "$D")"

# Hovering the hostile bar shows the reply as text in the tooltip (the
# page runs only scripts with its nonce).
nonce=$(grep -o '<script nonce="[0-9a-f]*"' "$P" | cut -d'"' -f2)
[ -n "$nonce" ] || fail "the page's script has no nonce"
grep -q "script-src 'nonce-$nonce'" "$P" || fail "the policy does not name the script's nonce"
sed 's|</body>|<script nonce="'"$nonce"'">document.querySelector(".bar[data-addr=\\"main/fanout#1@3[7]/ask#1\\"]").dispatchEvent(new MouseEvent("mouseover", {bubbles: true, clientX: 5, clientY: 5}));</script></body>|' \
  "$P" >"$tmp/hover.html"
dump "$tmp/hover.html" "$tmp/hover.dom"
tip=$(grep -o '<div id="tip"[^>]*>.*' "$tmp/hover.dom")
contains "$tip" 'hidden' && fail "the tooltip stayed hidden: $tip"
contains "$tip" '<b>main/fanout#1@3[7]/ask#1</b>' || fail "tooltip address: $tip"
contains "$tip" '<pre>say 7.</pre>' || fail "tooltip prompt: $tip"
contains "$tip" "<pre>&lt;/script&gt;&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x" ||
  fail "tooltip reply: $tip"
contains "$tip" 'model: </span>mock/m' || fail "tooltip model: $tip"
grep -q '<img' "$tmp/hover.dom" && fail "the tooltip made an <img> element"

# An unwritable page is a usage error naming the file.
run "$WEFT" trace "$id" --journal "$J" --html "$tmp/no/such/dir/t.html"
expect_rc 2 "unwritable page"
expect_err "$tmp/no/such/dir/t.html"
# - writes the page to stdout.
run "$WEFT" trace "$id" --journal "$J" --html -
expect_rc 0 "page on stdout"
[ "$out" = "$(cat "$P")" ] || fail "the page on stdout differs from the file"
exit 0
