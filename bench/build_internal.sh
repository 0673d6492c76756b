#!/bin/sh
# bench/build_internal.sh SOURCE.c BUILD_DIR OUT [EXTRA_CFLAGS] — compiles a
# benchmark that calls the VM, the compiler or the runtime directly against
# the internal library of a (VPATH) build directory (.libs/libweftcore.a,
# which libweft does not export). A sanitizer build's library needs the
# sanitizer runtimes at link time, so a failed plain link is retried with
# them. The benches' build.sh scripts call it.
set -u
source=$1 build=$2 out=$3 extra=${4:-}
src=$(cd "$(dirname "$0")/.." && pwd)
lib="$build/.libs/libweftcore.a"
[ -f "$lib" ] || { echo "no $lib (build weft first)" >&2; exit 1; }
libs="$(pkg-config --libs libcjson libcurl sqlite3 2>/dev/null || echo -lcjson -lcurl -lsqlite3) -lm"
flags="-O2 -std=c11 -D_GNU_SOURCE $extra -I$src -I$build"
# shellcheck disable=SC2086
cc $flags "$source" "$lib" $libs -o "$out" 2>"$out.log" ||
  cc $flags -fsanitize=address,undefined "$source" "$lib" $libs \
     -o "$out" 2>>"$out.log" || { cat "$out.log" >&2; exit 1; }
rm -f "$out.log"
