#!/bin/bash
# bench/journal/run.sh BUILD_DIR — the cost of durable runs (the "Durable
# runs" section of bench/README.md). Against one local test server
# (tests/lib/llm_server.py):
#   a. journaling overhead: bench/fanout/fanout.weft (1,000 asks at
#      `limit 64`, model slow-200, then one synthesis ask) with --no-journal
#      and journaled into a fresh file, RUNS times each (default 3), in
#      alternating order; best wall time of each, and the least client CPU
#      (user + sys, /usr/bin/time) of each;
#   b. resume speed: resume.weft records 10,000 mock asks and then waits on
#      one 5 s ask to the server; the run is killed (SIGKILL) during that
#      ask, then `weft resume` is timed RUNS times from its start (date
#      +%s%N) to the moment the final ask reaches the server (the server's
#      first_arrival_unix_ms, same clock), each resume killed in turn.
# Journals go to a temporary directory under the working directory, so they
# sit on the disk a project's .weft/journal.db would. BUILD_DIR holds `weft`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
weft=$(cd "$1" && pwd)/weft
[ -x "$weft" ] || { echo "no weft binary in $1" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt-get install time): it measures the CPU" >&2; exit 2; }
runs=${RUNS:-3}
calls=1001
tmp=$(mktemp -d)
jdir=$(mktemp -d "$PWD/.weft-bench-journal.XXXXXX")

py=$(python3 -c 'import sys; print(sys.executable)')
"$py" "$root/tests/lib/llm_server.py" --port 0 --port-file "$tmp/port" 2>"$tmp/server.log" &
srvpid=$!
trap 'kill $srvpid 2>/dev/null; wait $srvpid 2>/dev/null; rm -rf "$tmp" "$jdir"' EXIT
for _ in $(seq 200); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || { echo "the test server did not start: $(cat "$tmp/server.log")" >&2; exit 1; }
base="http://127.0.0.1:$(cat "$tmp/port")"
export OPENAI_BASE_URL=$base OPENAI_API_KEY=sk-bench-dummy
reset() { curl -s -X POST "$base/_reset" >/dev/null; }
srv_stat() { curl -s "$base/_stats/$1"; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# ---- a. journaling overhead ---------------------------------------------------

# once MODE: one run of fanout.weft, --no-journal (MODE none) or into a fresh
# journal (MODE journal); keeps the best wall and the least CPU per mode.
best_wall_none="" best_wall_journal="" cpu_none="" cpu_journal="" jsize=0
once() {
  local mode=$1 flags t0 t1 u s w c
  if [ "$mode" = none ]; then flags=(--no-journal); else
    rm -f "$jdir"/a.db*
    flags=(--journal "$jdir/a.db")
  fi
  reset
  t0=$(date +%s%N)
  /usr/bin/time -f "%U %S" -o "$tmp/time" "$weft" run "$root/bench/fanout/fanout.weft" --quiet "${flags[@]}" \
    >"$tmp/out" 2>"$tmp/err" || { echo "FAILED ($mode): $(cat "$tmp/err")" >&2; exit 1; }
  t1=$(date +%s%N)
  [ "$(cat "$tmp/out")" = $'1000\ntrue' ] || { echo "unexpected output ($mode): $(cat "$tmp/out")" >&2; exit 1; }
  read -r u s < <(tail -n 1 "$tmp/time")
  w=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e6 }')
  c=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.0f", (u + s) * 1000 }')
  printf '  %-8s wall %8.1f ms  cpu %4d ms\n' "$mode" "$w" "$c"
  if [ "$mode" = none ]; then
    if [ -z "$best_wall_none" ] || lt "$w" "$best_wall_none"; then best_wall_none=$w; fi
    if [ -z "$cpu_none" ] || [ "$c" -lt "$cpu_none" ]; then cpu_none=$c; fi
  else
    if [ -z "$best_wall_journal" ] || lt "$w" "$best_wall_journal"; then best_wall_journal=$w; fi
    if [ -z "$cpu_journal" ] || [ "$c" -lt "$cpu_journal" ]; then cpu_journal=$c; fi
    jsize=$(du -k -c "$jdir"/a.db* | tail -n 1 | cut -f1)
  fi
}

echo "a. journaling overhead: bench/fanout/fanout.weft ($calls asks, limit 64, slow-200), $runs runs each, alternating"
echo "   journal directory: $jdir ($(df -P "$jdir" | awk 'NR == 2 { print $1 }'))"
for i in $(seq "$runs"); do
  if [ $((i % 2)) = 1 ]; then once none; once journal; else once journal; once none; fi
done
ratio=$(awk -v a="$best_wall_journal" -v b="$best_wall_none" 'BEGIN { printf "%.3f", a / b }')
dcpu=$(awk -v a="$cpu_journal" -v b="$cpu_none" -v n=$calls 'BEGIN { printf "%.3f", (a - b) / n }')
echo "  best wall: --no-journal $best_wall_none ms, journaled $best_wall_journal ms: ratio $ratio (target < 1.05): $(verdict "$ratio < 1.05")"
echo "  least cpu: --no-journal $cpu_none ms, journaled $cpu_journal ms: +$dcpu ms per ask (target < 0.2): $(verdict "$dcpu < 0.2")"
echo "  journal after one run: $jsize KB (database + WAL)"

# ---- b. resume speed ---------------------------------------------------------

# wait_arrival: waits (30 s at most) until a model request has reached the
# server since the reset; prints its wall-clock arrival time (Unix ms).
wait_arrival() {
  local f
  for _ in $(seq 600); do
    f=$(srv_stat first_arrival_unix_ms)
    [ "$f" != null ] && { echo "$f"; return 0; }
    sleep 0.05
  done
  echo "no request reached the server within 30 s" >&2
  return 1
}

echo "b. resume speed: bench/journal/resume.weft (10,000 mock asks recorded, then one 5 s ask), $runs resumes"
J=$jdir/b.db
reset
t0=$(date +%s%N)
"$weft" run "$here/resume.weft" --journal "$J" >/dev/null 2>"$tmp/run.err" &
pid=$!
arr=$(wait_arrival) || { kill -9 $pid; exit 1; }
kill -9 $pid
wait $pid 2>/dev/null || true
id=$(sed -n 's/^weft: run \([0-9]*\) (journal .*/\1/p' "$tmp/run.err")
[ -n "$id" ] || { echo "the run did not print its id: $(cat "$tmp/run.err")" >&2; exit 1; }
n=$("$py" -c 'import sqlite3, sys; print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("SELECT count(*) FROM effects").fetchone()[0])' "$J")
[ "$n" = 10000 ] || { echo "the killed run recorded $n effects, not 10000" >&2; exit 1; }
echo "  run $id: 10,000 effects recorded in $(awk -v a="$arr" -v t="$t0" 'BEGIN { printf "%.0f", a - t / 1e6 }') ms (start to the final ask's arrival), then killed"
best=""
for i in $(seq "$runs"); do
  reset
  t0=$(date +%s%N)
  "$weft" resume "$id" --journal "$J" >/dev/null 2>"$tmp/resume.err" &
  pid=$!
  arr=$(wait_arrival) || { kill -9 $pid; exit 1; }
  kill -9 $pid
  wait $pid 2>/dev/null || true
  grep -q "resuming run $id (10000 recorded effects" "$tmp/resume.err" ||
    { echo "unexpected resume output: $(cat "$tmp/resume.err")" >&2; exit 1; }
  ms=$(awk -v a="$arr" -v t="$t0" 'BEGIN { printf "%.1f", a - t / 1e6 }')
  echo "  resume $i: start to the first unrecorded ask at the server: $ms ms"
  if [ -z "$best" ] || lt "$ms" "$best"; then best=$ms; fi
done
echo "  best: $best ms (target < 1000 ms): $(verdict "$best < 1000")"
