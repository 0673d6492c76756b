#!/bin/bash
# bench/proc/run.sh [BUILD_DIR] — the cost of child processes ("Child
# processes" in bench/README.md): 1,000 runs of /bin/true, 16 at once.
#  1. the process engine alone (proc_bench.c): confined (PID, network and
#     user namespaces as available, Landlock), without the network
#     namespace, unconfined, and unconfined under a 300 MB heap;
#  2. the whole of `weft run` of many.weft (a fan-out of proc.run calls
#     under --allow-run=true), with and without the journal: weft's own
#     CPU, read from /proc/PID/stat while weft is a zombie, so the
#     children's CPU (which the kernel adds to weft's on reaping) is not
#     counted.
# Prints the best of RUNS runs (default 3) of each.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../..}
runs=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/build.sh" "$build" "$tmp/proc_bench"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, RUNS=$runs"
for mode in "" --net --unconfined "--unconfined --heap-mb 300"; do
  best=""
  for _ in $(seq "$runs"); do
    # shellcheck disable=SC2086
    line=$("$tmp/proc_bench" $mode)
    cpu=$(echo "$line" | field engine_cpu_ms_per_proc)
    if [ -z "$best" ] || awk -v a="$cpu" -v b="$(echo "$best" | field engine_cpu_ms_per_proc)" 'BEGIN{exit !(a<b)}'; then
      best=$line
    fi
  done
  echo "engine ${mode:-(confined)}: $best"
done
python3 - "$runs" "$build/weft" "$here/many.weft" "$tmp" <<'EOF_P'
import os, subprocess, sys, time
runs, weft, prog, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
tick = os.sysconf("SC_CLK_TCK")
def once(extra):
    t0 = time.monotonic()
    p = subprocess.Popen([weft, "run", "--quiet", "--allow-run=true"] + extra + [prog],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp)
    out = p.stdout.read()
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)   # a zombie: its stat stays readable
    with open("/proc/%d/stat" % p.pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    wall = (time.monotonic() - t0) * 1000
    p.wait()
    if out.strip() != b"0":
        sys.exit("weft run failed: %r" % out)
    own = (int(st[11]) + int(st[12])) * 1000.0 / tick     # utime + stime
    kids = (int(st[13]) + int(st[14])) * 1000.0 / tick    # cutime + cstime
    return own, kids, wall
for name, extra in (("weft run --no-journal", ["--no-journal"]),
                    ("weft run (journaled)", ["--journal", tmp + "/j.db"])):
    best = min((once(extra) for _ in range(runs)), key=lambda r: r[0])
    print("%s: weft CPU %.3f ms per process (children %.3f ms), wall %.0f ms for 1000"
          % (name, best[0] / 1000, best[1] / 1000, best[2]))
EOF_P
