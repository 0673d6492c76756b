#!/bin/bash
# bench/fanout/run.sh BUILD_DIR — fan-out end to end (the "Fan-out end to
# end" section of bench/README.md). Against one local test server
# (tests/lib/llm_server.py, model slow-200: every reply after 200 ms):
#   1. weft run fanout.weft: 1,000 asks at `limit 64`, then one synthesis ask
#      (streaming, the default, and --no-stream like the Node SDK's default);
#   2. the same in Node.js with the official `openai` SDK (node/), when node
#      >= 18 and npm are installed and the registry is reachable;
#   3. weft run pure.weft: 100,000 branches of pure computation at limit 1000.
# Each figure is from the run with the best wall time of RUNS (default 3):
# wall time around the process (date +%s%N), client CPU (user + sys) and
# peak RSS from /usr/bin/time. BUILD_DIR holds the `weft` binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
weft=$(cd "$1" && pwd)/weft
[ -x "$weft" ] || { echo "no weft binary in $1" >&2; exit 2; }
runs=${RUNS:-3}
n=1000 limit=64 latency=200
calls=$((n + 1))
# shellcheck disable=SC2017  # integer ceil(n / limit) on purpose
ideal=$(( (n + limit - 1) / limit * latency + latency ))   # 3400 ms
tmp=$(mktemp -d)

# /usr/bin/time (Debian `time`) gives CPU and peak RSS; the bash keyword
# does not give RSS. Install it when we may, else measure wall time only.
have_time=yes
if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ] && apt-get install -y time >/dev/null 2>&1; then :; else
    have_time=no
    echo "note: /usr/bin/time is missing (apt-get install time): CPU and RSS not measured"
  fi
fi

# The interpreter itself: a wrapper script (pyenv shim) would die on SIGTERM
# and leave the server running.
py=$(python3 -c 'import sys; print(sys.executable)')
"$py" "$root/tests/lib/llm_server.py" --port 0 --port-file "$tmp/port" 2>"$tmp/server.log" &
srvpid=$!
trap 'kill $srvpid 2>/dev/null; wait $srvpid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 200); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || { echo "the test server did not start: $(cat "$tmp/server.log")" >&2; exit 1; }
base="http://127.0.0.1:$(cat "$tmp/port")"
export OPENAI_BASE_URL=$base OPENAI_API_KEY=sk-bench-dummy

# measure EXPECTED CMD...: runs CMD $runs times (server statistics reset
# before each), checks its stdout is EXPECTED, and sets from the run with
# the best wall time: wall_ms, cpu_ms (user + sys), rss_kb, srv (the
# server's max_in_flight, span and arrival spread; empty for no requests).
measure() {
  local expected=$1 t0 t1 w u s m; shift
  wall_ms="" cpu_ms="" rss_kb="" srv=""
  for _ in $(seq "$runs"); do
    curl -s -X POST "$base/_reset" >/dev/null
    if [ $have_time = yes ]; then
      t0=$(date +%s%N)
      /usr/bin/time -f "%U %S %M" -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || { echo "FAILED: $*" >&2; cat "$tmp/err" >&2; return 1; }
      t1=$(date +%s%N)
      read -r u s m < <(tail -n 1 "$tmp/time")
    else
      t0=$(date +%s%N)
      "$@" >"$tmp/out" 2>"$tmp/err" || { echo "FAILED: $*" >&2; cat "$tmp/err" >&2; return 1; }
      t1=$(date +%s%N)
      u=0 s=0 m=0
    fi
    [ "$(cat "$tmp/out")" = "$expected" ] || { echo "unexpected output from $*: $(cat "$tmp/out")" >&2; return 1; }
    w=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e6 }')
    if [ -z "$wall_ms" ] || awk -v a="$w" -v b="$wall_ms" 'BEGIN { exit !(a < b) }'; then
      wall_ms=$w
      cpu_ms=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.0f", (u + s) * 1000 }')
      rss_kb=$m
      srv=$(curl -s "$base/_stats" | "$py" -c 'import json,sys; d=json.load(sys.stdin); print("requests=%d max_in_flight=%d span_ms=%.1f arrival_spread_ms=%.1f" % (d["requests"], d["max_in_flight"], d["span_ms"], d["arrival_spread_ms"]))')
    fi
  done
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
per_call() { awk -v c="$1" -v n="$calls" 'BEGIN { printf "%.3f", c / n }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi; }
row() { # LABEL: one line of figures from the last measure
  if [ $have_time = yes ]; then
    printf '%-30s wall %8.1f ms  cpu %5d ms (%s ms/call)  peak rss %6s MB  server: %s\n' \
      "$1" "$wall_ms" "$cpu_ms" "$(per_call "$cpu_ms")" "$(mb "$rss_kb")" "$srv"
  else
    printf '%-30s wall %8.1f ms  server: %s\n' "$1" "$wall_ms" "$srv"
  fi
}

echo "fan-out: $n asks at limit $limit + 1 synthesis ask, server latency $latency ms (ideal $ideal ms), best of $runs"
measure $'1000\ntrue' "$weft" run "$here/fanout.weft" --quiet
row "weft (stream)"
w_wall=$wall_ms w_cpu=$cpu_ms w_rss=$rss_kb
measure $'1000\ntrue' "$weft" run "$here/fanout.weft" --quiet --no-stream
row "weft (--no-stream)"

node_ok=no
if command -v node >/dev/null && command -v npm >/dev/null; then
  major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')
  if [ "${major:-0}" -lt 18 ]; then
    echo "node: skipped (node $(node --version) is older than 18)"
  elif (cd "$here/node" && timeout 300 npm install --no-audit --no-fund >"$tmp/npm.log" 2>&1); then
    node_ok=yes
  else
    echo "node: skipped (npm install failed — registry unreachable?): $(tail -n 1 "$tmp/npm.log")"
  fi
else
  echo "node: skipped (node or npm not installed)"
fi
if [ $node_ok = yes ]; then
  ver=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).version' "$here/node/node_modules/openai/package.json")
  measure $'1000\ntrue' node "$here/node/fanout.mjs"
  row "node $(node --version) openai $ver"
fi

echo "targets (weft, streaming):"
echo "  wall $w_wall ms <= 1.03 x $ideal ms = $(awk -v i=$ideal 'BEGIN { printf "%.0f", i * 1.03 }') ms: $(verdict "$w_wall <= $ideal * 1.03")"
if [ $have_time = yes ]; then
  echo "  client CPU $(per_call "$w_cpu") ms/call < 0.5 ms: $(verdict "$w_cpu / $calls < 0.5")"
  echo "  peak RSS $(mb "$w_rss") MB < 40 MB: $(verdict "$w_rss < 40 * 1024")"
fi

echo "pure compute: 100,000 fan-out branches at limit 1000 (pure.weft), best of $runs"
measure $'100000\n599994000000' "$weft" run "$here/pure.weft" --quiet
if [ $have_time = yes ]; then
  printf '  wall %.1f ms  cpu %d ms  peak rss %s MB < 200 MB: %s\n' "$wall_ms" "$cpu_ms" "$(mb "$rss_kb")" "$(verdict "$rss_kb < 200 * 1024")"
else
  printf '  wall %.1f ms (peak RSS not measured)\n' "$wall_ms"
fi
