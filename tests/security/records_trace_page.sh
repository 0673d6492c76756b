# The trace page (weft trace RUN --html) shows text from the program (graph
# labels quote source), from the run (a branch's input) and from model
# replies: all of it hostile. It goes into the page's JSON data block with
# every "<" escaped and onto the page as text only. The graph is
# recomputed from the program file the journal names, which a planted
# journal may point anywhere: it is opened only as resume opens it (a
# canonical, regular .weft file), and only while its sources still hash to
# the run's module; otherwise the page says why and draws no graph.
. "$TESTDIR/../lib/common.sh"
J="$tmp/j.db"
H='</script><img src=x onerror=alert(1)><!--'
mkdir "$tmp/w"
cat >"$tmp/w/p.weft" <<EOF_W
role writer { model: "mock/m" }
fn main() -> int {
  let t = fanout f in ["ok", "$H"] {
    ask writer "say {f}"
  }
  len(barrier t)
}
EOF_W
cat >"$tmp/mock.json" <<EOF_J
{"replies": [{"match": "say ok", "reply": "$H"}]}
EOF_J
run "$WEFT" run "$tmp/w/p.weft" --provider mock --mock-script "$tmp/mock.json" --journal "$J" --quiet
expect_rc 0 "the run"

page() { # page OUT: writes run 1's page
  run "$WEFT" trace 1 --journal "$J" --html "$1"
  expect_rc 0 "trace --html"
}
raw_safe() { # raw_safe PAGE: nothing can close the data block
  grep -q '</script><img' "$1" && fail "hostile text is in the page raw"
  [ "$(grep -o '<script' "$1" | wc -l)" = 2 ] || fail "the page has not exactly two script tags"
  [ "$(grep -o '<img' "$1" | wc -l)" = 0 ] || fail "the page has an <img>"
}
page "$tmp/t.html"
raw_safe "$tmp/t.html"
# the hostile source text is in the graph, the hostile input in the fibers, both escaped
grep -q '"label":"fanout over \[\\"ok\\", \\"\\u003c/script>\\u003cimg' "$tmp/t.html" || fail "the graph's label is not escaped in the data"
grep -q '"input":"\\u003c/script>\\u003cimg src=x onerror=alert(1)>\\u003c!--"' "$tmp/t.html" ||
  fail "the branch input is not escaped in the data"

CHROMIUM=$(command -v chromium || command -v chromium-browser) || CHROMIUM=
dom() { # dom PAGE: the DOM after the page's script ran, in $dom
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/chromium" \
    --enable-logging=stderr --v=0 --virtual-time-budget=10000 --dump-dom "file://$1" >"$tmp/dom" 2>"$tmp/chromium.err" ||
    fail "chromium failed on $1: $(tail -n 5 "$tmp/chromium.err")"
  grep 'CONSOLE' "$tmp/chromium.err" | grep -qi 'uncaught\|error' && fail "the page logged an error: $(grep CONSOLE "$tmp/chromium.err")"
  grep -q '<img' "$tmp/dom" && fail "hostile text made an <img> element"
  [ "$(grep -o '<script' "$tmp/dom" | wc -l)" = 2 ] || fail "the DOM has more than the page's two scripts"
  dom=$(cat "$tmp/dom")
}
if [ -n "$CHROMIUM" ]; then
  dom "$tmp/t.html"
  contains "$dom" '<span class="in">[1] &lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&lt;!-- ok</span>' ||
    fail "the hostile input is not a lane's text: $(printf '%s' "$dom" | grep -o '<span class="in">[^<]*')"
  contains "$dom" '>fanout over ["ok", "&lt;/script&gt;&lt;img' || fail "the hostile label is not the graph node's text"
  contains "$dom" 'data-graph-nodes="3"' || fail "the graph was not drawn"
else
  echo "SKIP (DOM checks): chromium is not installed (Debian: apt-get install chromium)" >&2
fi

no_graph() { # no_graph PAGE WHY
  raw_safe "$1"
  grep -q '"graph":null' "$1" || fail "a graph was drawn ($2)"
  grep -q "\"graph_note\":\"no graph: $2\"" "$1" || fail "the note does not say '$2': $(grep -o '"graph_note":"[^"]*"' "$1")"
}
# A program file changed since the run: its graph would not be the run's.
cp "$tmp/w/p.weft" "$tmp/p.orig"
printf '// edited\n' >>"$tmp/w/p.weft"
page "$tmp/c.html"
no_graph "$tmp/c.html" "the run's program file has changed since the run"
cp "$tmp/p.orig" "$tmp/w/p.weft"

# plant PATH: sets run 1's program_path.
plant() {
  python3 - "$J" "$1" <<'EOF_P' || fail "cannot plant the journal"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE runs SET program_path = ?1 WHERE id = 1", (sys.argv[2],))
c.commit()
EOF_P
}
# A planted path to a file that is no program, to a symbolic link, to a FIFO.
printf 'SECRET-LINE\n' >"$tmp/secret.txt"
plant "$tmp/secret.txt"
page "$tmp/s.html"
no_graph "$tmp/s.html" "the run's program file may not be opened"
grep -q SECRET-LINE "$tmp/s.html" && fail "the page quotes the planted file"
ln -s "$tmp/w/p.weft" "$tmp/link.weft"
plant "$tmp/link.weft"
page "$tmp/l.html"
no_graph "$tmp/l.html" "the run's program file may not be opened"
mkfifo "$tmp/fifo.weft"
plant "$tmp/fifo.weft"
run timeout 20 "$WEFT" trace 1 --journal "$J" --html "$tmp/f.html"
[ "$rc" != 124 ] || fail "trace blocked on a FIFO"
expect_rc 0 "trace --html (FIFO)"
no_graph "$tmp/f.html" "the run's program file may not be opened"
plant "$tmp/gone.weft"
page "$tmp/g.html"
no_graph "$tmp/g.html" "the run's program file is gone"
# back to the real file: the graph again
plant "$tmp/w/p.weft"
page "$tmp/b.html"
grep -q '"graph":{"fns":\["main"\]' "$tmp/b.html" || fail "no graph for the real file"
exit 0
