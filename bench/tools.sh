#!/bin/bash
# bench/tools.sh — the tools on a generated 10,000-line program, side by
# side: weft fmt, weft graph, weft check --format=sarif, against floors
# measured in the same run (cat of the file, weft check without SARIF).
#   bench/tools.sh [path/to/weft]     RUNS=N (default 11) runs of each
# Prints, per command, the median wall time and the median CPU time (user
# + system, from the kernel's accounting: steadier than wall time on a
# shared machine), and the ratio of each median to the floors'. Runs are
# interleaved (one of each command per round) so a burst of load hits all
# alike. Target: each of the three under 100 ms.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
weft=${1:-$here/../weft}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
runs=${RUNS:-11}
"$here/gen_big.sh" 10000 > "$tmp/big.weft"
lines=$(wc -l < "$tmp/big.weft")
"$weft" check "$tmp/big.weft" >/dev/null
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, RUNS=$runs"
echo "program: ${lines} lines ($(wc -c < "$tmp/big.weft") bytes)"
python3 - "$runs" "$weft" "$tmp/big.weft" <<'EOF_P'
import os, statistics, subprocess, sys, time
runs, weft, f = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cmds = [("cat FILE (floor)", ["cat", f]),
        ("weft check FILE (floor)", [weft, "check", f]),
        ("weft fmt FILE", [weft, "fmt", f]),
        ("weft graph FILE", [weft, "graph", f]),
        ("weft check --format=sarif FILE", [weft, "check", "--format=sarif", f])]
wall = {n: [] for n, _ in cmds}
cpu = {n: [] for n, _ in cmds}
null = open(os.devnull, "w")
for _ in range(runs):
    for name, argv in cmds:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=null, stderr=null)
        _, status, ru = os.wait4(p.pid, 0)
        wall[name].append((time.monotonic() - t0) * 1000)
        cpu[name].append((ru.ru_utime + ru.ru_stime) * 1000)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit("%s failed" % name)
med = lambda xs: statistics.median(xs)
cat_w, chk_w = med(wall["cat FILE (floor)"]), med(wall["weft check FILE (floor)"])
chk_c = med(cpu["weft check FILE (floor)"])
print("%-32s %10s %10s %9s %9s" % ("command", "wall ms", "cpu ms", "/cat", "/check"))
for name, _ in cmds:
    w, c = med(wall[name]), med(cpu[name])
    print("%-32s %10.1f %10.1f %8.1fx %8.2fx" % (name, w, c, w / cat_w, c / chk_c if chk_c else float("nan")))
EOF_P
