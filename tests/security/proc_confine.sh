# A granted program is confined to the run's grants: it reads what a read
# grant covers and nothing beside it, writes only under a write grant, and
# reaches no network without --allow-net. (Where the kernel lacks Landlock
# or namespaces the run says so on stderr; the checks that need them are
# skipped then, the notice itself is checked.)
. "$TESTDIR/../lib/common.sh"
mkdir -p "$tmp/granted" "$tmp/secret" "$tmp/out"
echo "granted text" > "$tmp/granted/a.txt"
echo "secret text" > "$tmp/secret/key.txt"
cat > "$tmp/read.weft" <<W
import "std/proc" as proc
fn main() {
  print(proc.run("cat", ["$tmp/granted/a.txt"]).stdout)
  let s = proc.run("cat", ["$tmp/secret/key.txt"])
  print("secret: {s.code} {s.stdout}")
  let w = proc.run("sh", ["-c", "echo x > $tmp/granted/new"])
  print("write in a read grant: {w.code}")
  let o = proc.run("sh", ["-c", "echo y > $tmp/out/new && cat $tmp/out/new"])
  print("write in a write grant: {o.code} {o.stdout}")
}
W
run "$WEFT" run --allow-run=cat --allow-run=sh --allow-read="$tmp/granted" --allow-write="$tmp/out" "$tmp/read.weft"
expect_rc 0 "the reads"
expect_out "granted text"
if contains "$err" "without" && contains "$err" "Landlock"; then
  echo "no Landlock here: $err" >&2
  exit 0
fi
contains "$out" "secret text" && fail "a file outside the grants was read: $out"
expect_out "write in a read grant: "
contains "$out" "write in a read grant: 0" && fail "a read grant was written: $out"
[ -e "$tmp/granted/new" ] && fail "a file was made in a read grant"
expect_out "write in a write grant: 0 y"

# the network: refused without --allow-net
py=/usr/bin/python3
if [ -x "$py" ]; then
  cat > "$tmp/net.weft" <<'W'
import "std/proc" as proc
fn main() {
  let o = proc.run("/usr/bin/python3", ["-c", "import socket\ns = socket.socket()\ns.settimeout(2)\ntry:\n  s.connect(('127.0.0.1', 9))\n  print('connected')\nexcept OSError as e:\n  print('refused', e.errno)"])
  print(o.stdout)
}
W
  run "$WEFT" run --allow-run=/usr/bin/python3 "$tmp/net.weft"
  expect_rc 0 "python runs"
  expect_out "refused"
  # errno 101 (ENETUNREACH: no interface up) in a network namespace, 13
  # (EACCES) under Landlock's TCP rules: 111 (ECONNREFUSED) would mean the
  # host's loopback answered
  contains "$out" "refused 111" && fail "the child reached the host's network: $out"
fi
exit 0
