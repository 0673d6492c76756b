#!/bin/sh
# bench/generate/build.sh BUILD_DIR OUT — compiles gen_bench.c against the
# internal library of a (VPATH) build directory (.libs/libweftcore.a: the
# bench calls the compiler, runtime/generate.c and the VM directly, which
# libweft does not export). A sanitizer build's library needs the
# sanitizer runtimes at link time, so a failed plain link is retried with
# them.
set -u
build=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
lib="$build/.libs/libweftcore.a"
[ -f "$lib" ] || { echo "no $lib (build weft first)" >&2; exit 1; }
libs="$(pkg-config --libs libcjson libcurl sqlite3 2>/dev/null || echo -lcjson -lcurl -lsqlite3) -lm"
flags="-O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -I$src -I$build"
# shellcheck disable=SC2086
cc $flags "$here/gen_bench.c" "$lib" $libs -o "$out" 2>"$out.log" ||
  cc $flags -fsanitize=address,undefined "$here/gen_bench.c" "$lib" $libs \
     -o "$out" 2>>"$out.log" || { cat "$out.log" >&2; exit 1; }
rm -f "$out.log"
