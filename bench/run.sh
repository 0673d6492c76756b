#!/bin/bash
# bench/run.sh — the performance figures of bench/README.md, measured side
# by side in one run so that ratios stay meaningful on a noisy machine.
#   bench/run.sh [path/to/weft]
# Needs lua5.4 for the comparisons (apt-get install lua5.4).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
weft=${1:-$here/../weft}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
runs=${RUNS:-5}

# best_ms CMD...: the fastest of $runs runs, in milliseconds (3 decimals).
best_ms() {
  local best="" t0 t1 d
  for _ in $(seq "$runs"); do
    t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
    d=$(( t1 - t0 ))
    if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
  done
  awk -v ns="$best" 'BEGIN { printf "%.3f", ns / 1e6 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

"$here/gen_big.sh" 10000 > "$tmp/big.weft"
lines=$(wc -l < "$tmp/big.weft")
"$weft" check "$tmp/big.weft"
check_ms=$(best_ms "$weft" check "$tmp/big.weft")
echo "check of a generated ${lines}-line program: ${check_ms} ms (target < 100 ms, goal 50 ms)"

hello_ms=$(best_ms "$weft" run "$here/hello.weft")
true_ms=$(best_ms /bin/true)
echo "weft run hello.weft, process start to exit: ${hello_ms} ms (/bin/true: ${true_ms} ms; target < 5 ms)"

if command -v lua5.4 >/dev/null; then
  [ "$("$weft" run "$here/fib.weft")" = "$(lua5.4 "$here/fib.lua")" ] || { echo "fib results differ"; exit 1; }
  fw=$(best_ms "$weft" run "$here/fib.weft"); fl=$(best_ms lua5.4 "$here/fib.lua")
  echo "fib(27):        weft ${fw} ms, lua5.4 ${fl} ms, ratio $(ratio "$fw" "$fl")x (target <= 3x, goal 1.5x)"
  fw=$(best_ms "$weft" run "$here/fib.weft" --arg n=32); fl=$(best_ms lua5.4 "$here/fib.lua" 32)
  echo "fib(32):        weft ${fw} ms, lua5.4 ${fl} ms, ratio $(ratio "$fw" "$fl")x (steady state, start-up negligible)"
  [ "$("$weft" run "$here/strbuild.weft")" = "$(lua5.4 "$here/strbuild.lua")" ] || { echo "strbuild results differ"; exit 1; }
  sw=$(best_ms "$weft" run "$here/strbuild.weft"); sl=$(best_ms lua5.4 "$here/strbuild.lua")
  echo "string build:   weft ${sw} ms, lua5.4 ${sl} ms, ratio $(ratio "$sw" "$sl")x (target <= 3x, goal 1.5x)"
else
  echo "lua5.4 not installed: skipping the Lua comparisons (apt-get install lua5.4)"
fi
