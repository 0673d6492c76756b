#!/bin/bash
# bench/width/run.sh BUILD_DIR — the cost of a model call as the width
# grows (the "Width" section of bench/README.md). One fake OpenAI server
# (server.mjs: Node, every reply 200 ms after its request, non-streaming)
# serves, one after the other in the same run, at three widths:
#   1,000 asks at 64 in flight, 5,000 at 256, 10,000 at 1,000
# three clients doing the same work:
#   node     client.mjs: plain node:http with a keep-alive agent and a
#            promise pool (no SDK), the baseline
#   weft     width.weft: `fanout … limit W`, --max-concurrency W,
#            --no-stream --no-journal (like the node client: nothing kept)
#   weft+j   the same, journaled (weft run's default) into a fresh file
#   base     with BASE=DIR: DIR's weft like `weft` (another build, e.g. the
#            one before a change), so before and after share the noise
# Each client runs RUNS times (default 3), in turn, so a noisy neighbour
# hits all of them alike; each figure is the best of its runs: wall time
# around the process (date +%s%N: start-up and exit included), CPU (user +
# sys) and peak RSS from /usr/bin/time. Then the ratios to node and the
# targets. Needs node >= 18 (no npm packages) and Debian's `time`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
weft=$(cd "$1" && pwd)/weft
[ -x "$weft" ] || { echo "no weft binary in $1" >&2; exit 2; }
runs=${RUNS:-3}
command -v node >/dev/null || { echo "node is not installed" >&2; exit 2; }
major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')
[ "${major:-0}" -ge 18 ] || { echo "node $(node --version) is older than 18" >&2; exit 2; }
if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ] && apt-get install -y time >/dev/null 2>&1; then :; else
    echo "/usr/bin/time is missing (apt-get install time)" >&2
    exit 2
  fi
fi
base_weft=""
if [ -n "${BASE:-}" ]; then
  base_weft=$(cd "$BASE" && pwd)/weft
  [ -x "$base_weft" ] || { echo "no weft binary in BASE=$BASE" >&2; exit 2; }
fi
tmp=$(mktemp -d)
node "$here/server.mjs" "$tmp/port" 2>"$tmp/server.log" &
srvpid=$!
trap 'kill $srvpid 2>/dev/null; wait $srvpid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 200); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || { echo "the fake server did not start: $(cat "$tmp/server.log")" >&2; exit 1; }
base="http://127.0.0.1:$(cat "$tmp/port")"
export OPENAI_BASE_URL=$base OPENAI_API_KEY=sk-bench-dummy
# 1,000 sockets in flight, and their file descriptors
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

stat_of() { curl -s "$base/_stats" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const d=JSON.parse(s);console.log(d[process.argv[1]])})' "$1"; }

# once KIND N W: one run of client KIND; checks its output and appends
# "wall_ms cpu_ms rss_kb in_flight" to $tmp/KIND.N (in_flight: the most
# requests the server had at once; a client slow to open its W connections
# may not reach W before the first replies come back).
once() {
  local kind=$1 n=$2 w=$3 t0 t1 u s m
  curl -s -X POST "$base/_reset" >/dev/null
  rm -rf "$tmp/jdir" && mkdir "$tmp/jdir"
  t0=$(date +%s%N)
  case $kind in
    node) N=$n W=$w /usr/bin/time -f "%U %S %M" -o "$tmp/time" node "$here/client.mjs" >"$tmp/out" 2>"$tmp/err" ;;
    weft|base)
      local bin=$weft; [ "$kind" = base ] && bin=$base_weft
      (cd "$tmp/jdir" && /usr/bin/time -f "%U %S %M" -o "$tmp/time" "$bin" run "$here/width.weft" \
        --arg n="$n" --arg width="$w" --max-concurrency "$w" --no-stream --no-journal --quiet) >"$tmp/out" 2>"$tmp/err" ;;
    weftj) (cd "$tmp/jdir" && /usr/bin/time -f "%U %S %M" -o "$tmp/time" "$weft" run "$here/width.weft" \
            --arg n="$n" --arg width="$w" --max-concurrency "$w" --no-stream --quiet) >"$tmp/out" 2>"$tmp/err" ;;
  esac || { echo "FAILED: $kind n=$n w=$w: $(cat "$tmp/err")" >&2; exit 1; }
  t1=$(date +%s%N)
  [ "$(cat "$tmp/out")" = "$n"$'\n'"true" ] || { echo "unexpected output from $kind: $(cat "$tmp/out")" >&2; exit 1; }
  local seen; seen=$(stat_of max_in_flight)
  [ "$seen" -le "$w" ] || { echo "$kind n=$n w=$w: the server saw $seen in flight, more than $w" >&2; exit 1; }
  read -r u s m < <(tail -n 1 "$tmp/time")
  echo "$(( (t1 - t0) / 1000000 )) $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.0f", (u + s) * 1000 }') $m $seen" >>"$tmp/$kind.$n"
}
# best KIND N FIELD: the least of that field over the runs; most: the greatest
best() { awk -v f="$3" 'NR == 1 || $f < b { b = $f } END { print b }' "$tmp/$1.$2"; }
most() { awk -v f="$3" 'NR == 1 || $f > b { b = $f } END { print b }' "$tmp/$1.$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi; }

widths="1000:64 5000:256 10000:1000"
echo "width: N asks at W in flight against a fake OpenAI server (200 ms, non-streaming), best of $runs"
echo "node $(node --version), $("$weft" --version 2>/dev/null | head -n 1 || echo 'weft ?'), $(nproc) cores"
for r in $(seq "$runs"); do
  for nw in $widths; do
    n=${nw%:*} w=${nw#*:}
    # a different order each round, so no client always runs first
    case $((r % 3)) in
      1) order="node weft weftj" ;;
      2) order="weft weftj node" ;;
      0) order="weftj node weft" ;;
    esac
    # base right after weft: the two compared most closely share the moment
    [ -n "$base_weft" ] && order=$(echo "$order" | sed 's/\bweft\b/weft base/')
    for k in $order; do once "$k" "$n" "$w"; done
  done
done

printf '\n%-6s %-6s %-7s %9s %8s %12s %8s %10s   %s\n' asks width client "wall ms" "cpu ms" "cpu ms/call" "rss MB" "in flight" "vs node: wall cpu rss"
for nw in $widths; do
  n=${nw%:*} w=${nw#*:}
  nwall=$(best node "$n" 1) ncpu=$(best node "$n" 2) nrss=$(best node "$n" 3)
  kinds="node weft weftj"
  [ -n "$base_weft" ] && kinds="$kinds base"
  for k in $kinds; do
    wall=$(best $k "$n" 1) cpu=$(best $k "$n" 2) rss=$(best $k "$n" 3)
    label=$k; [ $k = weftj ] && label="weft+j"
    vs=""
    [ $k != node ] && vs="$(ratio "$wall" "$nwall")x $(ratio "$cpu" "$ncpu")x $(ratio "$rss" "$nrss")x"
    printf '%-6s %-6s %-7s %9s %8s %12s %8s %10s   %s\n' "$n" "$w" "$label" "$wall" "$cpu" \
      "$(awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.3f", c / n }')" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" \
      "$(most $k "$n" 4)" "$vs"
  done
done

echo
echo "targets (weft, --no-journal):"
for nw in $widths; do
  n=${nw%:*} w=${nw#*:}
  echo "  $w in flight: wall $(best weft "$n" 1) <= node $(best node "$n" 1) ms: $(verdict "$(best weft "$n" 1) <= $(best node "$n" 1)");" \
       "cpu $(best weft "$n" 2) <= 0.6 x node $(best node "$n" 2) ms: $(verdict "$(best weft "$n" 2) <= 0.6 * $(best node "$n" 2)")"
done
c64=$(awk -v c="$(best weft 1000 2)" 'BEGIN { print c / 1000 }')
c1000=$(awk -v c="$(best weft 10000 2)" 'BEGIN { print c / 10000 }')
echo "  cpu per call at 1,000 in flight $c1000 ms <= 1.2 x at 64 ($c64 ms): $(verdict "$c1000 <= 1.2 * $c64")"
echo "  peak RSS at 1,000 in flight $(awk -v k="$(best weft 10000 3)" 'BEGIN { printf "%.1f", k / 1024 }') MB < 40 MB: $(verdict "$(best weft 10000 3) < 40 * 1024")"
