#!/bin/sh
# bench/proc/build.sh BUILD_DIR OUT — compiles proc_bench.c against the build's
# internal library (bench/build_internal.sh).
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../build_internal.sh" "$here/proc_bench.c" "$1" "$2"
