#!/bin/sh
# bench/engine/build.sh BUILD_DIR OUT — compiles engine_bench.c against the build's
# internal library (bench/build_internal.sh).
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../build_internal.sh" "$here/engine_bench.c" "$1" "$2"
