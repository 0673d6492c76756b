# The live progress line on a terminal (a pseudo-terminal of a set width):
# the oldest running fan-out's done/total with a bar and the time left, the
# budgets against their limits, redrawn in place at most ten times a
# second, never wider than the terminal; a pipe gets none of it.
. "$TESTDIR/../lib/common.sh"
cat >"$tmp/slow.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> int {
  let t = fanout i in range(40) limit 4 { sleep(100ms)
    ask r "x {i}" }
  len(barrier t)
}
EOF_W
# tty COLS CMD...: runs CMD with its stdout and stderr on a pseudo-terminal
# COLS wide; what it wrote goes to $tmp/tty, the seconds it took to $tmp/secs.
tty() {
  python3 - "$tmp" "$@" <<'EOF_P' || fail "the pty helper failed"
import fcntl, os, pty, struct, sys, termios, time
tmp, cols, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
t0 = time.monotonic()
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(2, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    os.execvp(argv[0], argv)
data = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
os.waitpid(pid, 0)
open(tmp + "/tty", "wb").write(data)
open(tmp + "/secs", "w").write("%.3f" % (time.monotonic() - t0))
EOF_P
}
tty 120 "$WEFT" run "$tmp/slow.weft" --provider mock --budget-calls 50 --budget-usd 1 --budget-time 2m
tr '\r' '\n' <"$tmp/tty" | sed 's/^\x1b\[K//' | grep -q '^40$' || fail "the run's result is missing: $(cat -v "$tmp/tty")"
# the redrawn lines, one per line
tr '\r' '\n' <"$tmp/tty" | sed 's/^\x1b\[K//; s/\xe2\x80\xa6/./g' | grep '^fanout@' >"$tmp/lines" || fail "no progress line: $(cat -v "$tmp/tty")"
grep -Eq '^fanout@3 [0-9]+/40 \[#*-*\] [0-9]+%' "$tmp/lines" || fail "no total and bar: $(head -3 "$tmp/lines")"
grep -Eq ', ~[0-9.]+s left' "$tmp/lines" || fail "no time left: $(head -3 "$tmp/lines")"
grep -Eq 'budget calls [0-9]+/50, \$0\.00/\$1\.00, time [0-9]+s/2m' "$tmp/lines" || fail "no budget: $(head -3 "$tmp/lines")"
awk 'length($0) > 119 { exit 1 }' "$tmp/lines" || fail "a line is wider than the terminal: $(awk 'length($0) > 119' "$tmp/lines" | head -1)"
# at most ten redraws a second (and one to clear)
draws=$(grep -o "$(printf '\033')\[K" "$tmp/tty" | wc -l)
secs=$(cat "$tmp/secs")
awk -v d="$draws" -v s="$secs" 'BEGIN { exit !(d <= s * 10 + 2) }' || fail "$draws redraws in ${secs}s"
[ "$draws" -ge 3 ] || fail "only $draws redraws"

# A narrow terminal: less useful parts go first, the total and bar stay.
tty 60 "$WEFT" run "$tmp/slow.weft" --provider mock --budget-calls 50
tr '\r' '\n' <"$tmp/tty" | sed 's/^\x1b\[K//; s/\xe2\x80\xa6/./g' | grep '^fanout@' >"$tmp/lines" || fail "no progress line at 60 columns"
awk 'length($0) > 59 { exit 1 }' "$tmp/lines" || fail "a line is wider than 60 columns: $(awk 'length($0) > 59' "$tmp/lines" | head -1)"
grep -Eq '^fanout@3 [0-9]+/40 \[#*-*\]' "$tmp/lines" || fail "the narrow line lost the total: $(head -3 "$tmp/lines")"
# A tiny one: cut, never wrapped.
tty 20 "$WEFT" run "$tmp/slow.weft" --provider mock
tr '\r' '\n' <"$tmp/tty" | sed 's/^\x1b\[K//; s/\xe2\x80\xa6/./g' | grep '^fanout@' >"$tmp/lines" || fail "no progress line at 20 columns"
awk '{ if (length($0) > 19) exit 1 }' "$tmp/lines" || fail "a line is wider than 20 columns"

# A pipe gets nothing, even with a terminal on stdout's side.
run "$WEFT" run "$tmp/slow.weft" --provider mock --budget-calls 50
expect_rc 0 "piped run"
contains "$err" "fanout@" && fail "progress written to a pipe: $err"
contains "$err" "$(printf '\r')" && fail "a redraw written to a pipe"
exit 0
