#!/bin/bash
# bench/engine/run.sh [BUILD_DIR] — the effect engine's own cost (the
# "Effect engine" section of bench/README.md): 500 asks at once, each
# answered by the local test server after 200 ms (model slow-200), with
# --max-concurrency 500, for both providers, streaming and not. Prints the
# best of RUNS runs (default 3) per configuration, and the server's
# max_in_flight. BUILD_DIR is a build directory (default: the source tree).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../..}
runs=${RUNS:-3}
n=${N:-500}
tmp=$(mktemp -d)
"$here/build.sh" "$build" "$tmp/engine_bench"

# The interpreter itself: a wrapper script (pyenv shim) would die on SIGTERM
# and leave the server running.
py=$(python3 -c 'import sys; print(sys.executable)')
"$py" "$here/../../tests/lib/llm_server.py" --port 0 --port-file "$tmp/port" 2>"$tmp/server.log" &
srvpid=$!
trap 'kill $srvpid 2>/dev/null; wait $srvpid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 200); do [ -s "$tmp/port" ] && break; sleep 0.05; done
base="http://127.0.0.1:$(cat "$tmp/port")"
export ANTHROPIC_BASE_URL=$base OPENAI_BASE_URL=$base
export ANTHROPIC_API_KEY=sk-ant-bench-dummy OPENAI_API_KEY=sk-bench-dummy
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

echo "engine: $n asks at once, server latency 200 ms, --max-concurrency $n, best of $runs"
for p in anthropic openai; do
  for mode in stream no-stream; do
    flag=""; [ $mode = no-stream ] && flag=--no-stream
    best="" bestwall=""
    for _ in $(seq "$runs"); do
      curl -s -X POST "$base/_reset" >/dev/null
      line=$("$tmp/engine_bench" --n "$n" --max-concurrency "$n" --provider $p --model slow-200 $flag)
      sstats=$(curl -s "$base/_stats" | "$py" -c 'import json,sys; d=json.load(sys.stdin); print("server_max_in_flight=%d server_span_ms=%.1f server_arrival_spread_ms=%.1f" % (d["max_in_flight"], d["span_ms"], d["arrival_spread_ms"]))')
      wall=$(echo "$line" | field wall_ms)
      if [ -z "$bestwall" ] || awk -v a="$wall" -v b="$bestwall" 'BEGIN{exit !(a<b)}'; then
        bestwall=$wall best="$line $sstats"
      fi
    done
    echo "$best"
  done
done
echo "targets: cpu_ms_per_call < 0.5, peak_rss_mb < 30, wall_ms <= 210 (1.05 x 200 ms)"
