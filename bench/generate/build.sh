#!/bin/sh
# bench/generate/build.sh BUILD_DIR OUT — compiles gen_bench.c against the build's
# internal library (bench/build_internal.sh).
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../build_internal.sh" "$here/gen_bench.c" "$1" "$2" "-Wall -Wextra"
