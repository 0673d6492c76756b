#!/bin/bash
# bench/generate/run.sh [BUILD_DIR] — the cost of taking in a generated
# program (the "Generated programs" section of bench/README.md): builds
# gen_bench against BUILD_DIR (default: the source tree) and runs it ROUNDS
# times (default 3) with ITERS iterations each (default 300), printing the
# load average before each round: the machine may be shared.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../..}
rounds=${ROUNDS:-3}
iters=${ITERS:-300}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$here/build.sh" "$build" "$tmp/gen_bench"
for r in $(seq "$rounds"); do
  echo "round $r, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$tmp/gen_bench" --iters "$iters"
done
