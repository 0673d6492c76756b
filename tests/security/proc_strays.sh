# No process a granted program starts outlives the run: a grandchild left
# sleeping when the program exits, a tree killed by the call's timeout or
# by a `time` budget, and a tree running when weft itself is killed with
# SIGKILL. Strays are looked for by a marker unique to this script in
# every process's command line in /proc (read from a file by grep, so that
# grep's own command line does not hold it).
. "$TESTDIR/../lib/common.sh"
marker="weft_stray_$$_$(date +%s%N)"
printf '%s\n' "$marker" > "$tmp/pattern"
# occurrences of the marker in the command lines of every process
strays() {
  cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' ' | grep -o -F -f "$tmp/pattern" | wc -l
}
# up to 5 s for the kernel to tear a namespace down
no_strays() {
  i=0
  while [ "$(strays)" != 0 ]; do
    i=$((i + 1))
    [ $i -gt 100 ] && fail "$1: $(strays) processes with the marker remain"
    sleep 0.05
  done
}
cat > "$tmp/exit.weft" <<W
import "std/proc" as proc
fn main() {
  let o = proc.run("sh", ["-c", "(sleep 60; echo $marker) >/dev/null 2>&1 & echo started"])
  print(o.stdout)
}
W
run "$WEFT" run --allow-run=sh "$tmp/exit.weft"
expect_rc 0 "a program leaving a grandchild"
expect_out started
no_strays "after the program exited"

cat > "$tmp/timeout.weft" <<W
import "std/proc" as proc
fn main() {
  let o = proc.run_with("sh", ["-c", "(sleep 60; echo $marker) & sleep 60"], { timeout: 300ms })
  print("{o.timed_out} {o.code}")
}
W
run "$WEFT" run --allow-run=sh "$tmp/timeout.weft"
expect_rc 0 "a hanging program"
expect_out "true -1"
no_strays "after the timeout"

cat > "$tmp/budget.weft" <<W
import "std/proc" as proc
fn main() {
  let r = budget { time: 300ms } {
    proc.run("sh", ["-c", "(sleep 60; echo $marker) & sleep 60"]).code
  } else { -7 }
  print(r)
}
W
start=$(date +%s)
run "$WEFT" run --allow-run=sh "$tmp/budget.weft"
[ $(($(date +%s) - start)) -lt 30 ] || fail "the time budget did not stop the program"
expect_no_crash "a time budget"
no_strays "after the time budget"

cat > "$tmp/kill.weft" <<W
import "std/proc" as proc
fn main() {
  print(proc.run("sh", ["-c", "(sleep 60; echo $marker) & sleep 60; echo $marker"]).code)
}
W
"$WEFT" run --allow-run=sh "$tmp/kill.weft" >/dev/null 2>&1 &
pid=$!
i=0
while [ "$(strays)" -lt 2 ]; do
  i=$((i + 1))
  [ $i -gt 200 ] && { kill -9 $pid; fail "the program did not start"; }
  sleep 0.05
done
kill -9 $pid
wait $pid 2>/dev/null
no_strays "after kill -9 of weft"
exit 0
