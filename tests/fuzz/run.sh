#!/bin/sh
# run.sh — builds a fuzz harness with libFuzzer and runs it (docs/testing.md,
# "Fuzzing"). The library is configured once, apart from any other build,
# with clang, ASan+UBSan and libFuzzer's coverage instrumentation; each
# harness links its static archive.
#   tests/fuzz/run.sh build                 configure and build the library
#   tests/fuzz/run.sh HARNESS [SECONDS] [FLAGS...]
#                                           fuzz HARNESS (default 600 s) from its
#                                           committed corpus and seeds
#   tests/fuzz/run.sh merge HARNESS         add what the working corpus covers
#                                           anew to tests/fuzz/corpus_HARNESS
#   tests/fuzz/run.sh replay HARNESS FILE...  run inputs once (a finding)
# HARNESS: front check vm loader sse json reply cassette.
# FUZZ_BUILD (default ${TMPDIR:-/tmp}/weft-fuzz-build) holds the build, the
# binaries, the working corpora and crash artifacts. The fuzzer runs under
# nice -n 19 as one process (libFuzzer's -jobs=1 would fork one worker
# logging to fuzz-0.log: the same load, less to see); pass -jobs=N
# -workers=N after SECONDS for more.
set -e
src=$(cd "$(dirname "$0")/../.." && pwd)
fz=$src/tests/fuzz
b=${FUZZ_BUILD:-${TMPDIR:-/tmp}/weft-fuzz-build}
CC=${CC_FUZZ:-clang}

# The sources are copied (tracked and new files, as git lists them) to
# $b/src and configured there apart: the checkout may be configured in
# place itself, which a second configure refuses.
build_lib() {
  mkdir -p "$b/src" "$b/obj"
  (cd "$src" && git ls-files -co --exclude-standard) | (cd "$src" && tar -cf - -T -) | tar -C "$b/src" -xpf -
  if [ ! -x "$b/src/configure" ]; then (cd "$b/src" && autoreconf -fi >/dev/null 2>&1); fi
  if [ ! -f "$b/obj/Makefile" ]; then
    (cd "$b/obj" && "$b/src/configure" CC="$CC" CFLAGS="-g -O1 -fsanitize=fuzzer-no-link" \
       --enable-asan --enable-ubsan --disable-shared >configure.log)
  fi
  nice -n 19 make -C "$b/obj" -s -j2 libweftcore.la
}

# Seeds besides tests/fuzz/corpus_H: directories of the test suite.
seeds() {
  t=$src/tests
  case $1 in
    front) echo "$t/lexer $t/parser $t/checker $t/emit $src/examples" ;;
    check) echo "$t/checker $t/cost $t/imports $src/examples $src/stdlib" ;;
    vm) echo "$t/runtime $t/stdlib $t/ask $t/fanout $t/verify $t/tournament $t/loop $t/budget $t/patterns $t/limits $src/examples" ;;
    *) echo "" ;;
  esac
}
dict() {
  case $1 in
    front|check|vm) echo "$fz/weft.dict" ;;
    loader) echo "$fz/weftc.dict" ;;
    sse|json|reply) echo "$fz/json.dict" ;;
    cassette) echo "$fz/json.dict" ;;
  esac
}

build_harness() {
  h=$1
  [ -f "$fz/fuzz_$h.c" ] || { echo "run.sh: no harness tests/fuzz/fuzz_$h.c" >&2; exit 2; }
  build_lib
  libs=$(sed -n 's/^CJSON_LIBS = //p; s/^SQLITE_LIBS = //p; s/^LIBS = //p' "$b/obj/Makefile" | tr '\n' ' ')
  if [ ! -x "$b/fuzz_$h" ] || [ "$fz/fuzz_$h.c" -nt "$b/fuzz_$h" ] || [ "$b/obj/.libs/libweftcore.a" -nt "$b/fuzz_$h" ]; then
    nice -n 19 $CC -g -O1 -std=c11 -Wall -Wextra -fsanitize=fuzzer,address,undefined,float-cast-overflow \
      -fno-sanitize-recover=undefined,float-cast-overflow \
      -I"$b/src" -I"$b/obj" -I"$b/src/lang" -I"$b/obj/lang" -D_POSIX_C_SOURCE=200809L \
      -o "$b/fuzz_$h" "$fz/fuzz_$h.c" "$b/obj/.libs/libweftcore.a" $libs -lm
  fi
}

# The limits every run shares: 64 MB of heap per input on top of the
# fuzzer's own (the harnesses bound themselves tighter), 10 s per input.
FLAGS="-rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10 -max_len=65536 -print_final_stats=1"

case ${1:-} in
  build) build_lib; exit 0 ;;
  merge)
    # Adds to tests/fuzz/corpus_H the working corpus's inputs that cover
    # what it does not yet: the committed files (regressions among them)
    # stay. Edges only (-use_counters=0): one input per newly covered edge,
    # not per hit-count bucket, keeps it to a few hundred files, and inputs
    # are cut at 4 KB, which keeps it under 1 MB.
    h=$2; build_harness "$h"
    mkdir -p "$fz/corpus_$h" "$b/corpus/$h"
    nice -n 19 "$b/fuzz_$h" -merge=1 $FLAGS -use_counters=0 -max_len=4096 "$fz/corpus_$h" "$b/corpus/$h"
    echo "corpus_$h: $(ls "$fz/corpus_$h" | wc -l) files, $(du -sk --apparent-size "$fz/corpus_$h" | cut -f1) KB"
    exit 0 ;;
  replay)
    h=$2; shift 2; build_harness "$h"
    exec "$b/fuzz_$h" $FLAGS "$@" ;;
  ''|-h|--help) sed -n '2,18p' "$0"; exit 2 ;;
esac

h=$1; secs=${2:-600}; shift; [ $# -gt 0 ] && shift
build_harness "$h"
mkdir -p "$b/corpus/$h" "$b/artifacts/$h" "$fz/corpus_$h"
d=$(dict "$h"); dflag=; [ -n "$d" ] && [ -f "$d" ] && dflag=-dict=$d
existing=
for s in $(seeds "$h"); do [ -d "$s" ] && existing="$existing $s"; done
cd "$b"
exec nice -n 19 "$b/fuzz_$h" -max_total_time="$secs" $FLAGS $dflag \
  -artifact_prefix="$b/artifacts/$h/" "$@" "$b/corpus/$h" "$fz/corpus_$h" $existing
