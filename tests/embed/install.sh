# install.sh — libweft as a host meets it: `make install` into a staging
# directory, the embedding example (examples/embed/embed.c) compiled
# against the *installed* header and library found with pkg-config —
# shared, then static — and run offline; the installed files (binary,
# library, header, weft.pc, man page, std modules) present and sound; then
# `make uninstall` leaves no file behind.
. "$TESTDIR/../lib/common.sh"

build=$(cd "$(dirname "$WEFT")" && pwd)
src=$(cd "$TESTDIR/../.." && pwd)
[ -f "$build/Makefile" ] || fail "no Makefile beside $WEFT: run this through make check"
# the build's own compiler and sanitizer flags (an ASan build's library
# needs its host linked with ASan too)
var() { sed -n "s/^$1 = //p" "$build/Makefile" | head -1; }
cc=$(var CC)
san=$(var SAN_LDFLAGS)
root="$tmp/root"

run make -s -C "$build" install DESTDIR="$root"
expect_rc 0 "make install"
pc=$(find "$root" -path '*/pkgconfig/weft.pc' -type f)
[ -n "$pc" ] || fail "make install put no pkgconfig/weft.pc under $root"
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$root"
libdir=$(pkg-config --variable=libdir weft)
case "$libdir" in "$root"/*) ;; *) libdir="$root$libdir" ;; esac # pkgconf applies the sysroot, pkg-config not
[ -f "$libdir/libweft.a" ] && [ -L "$libdir/libweft.so" ] || fail "no libweft.a / libweft.so in $libdir"
cflags=$(pkg-config --cflags weft) || fail "pkg-config --cflags weft"
libs=$(pkg-config --libs weft) || fail "pkg-config --libs weft"
contains "$cflags" "$root" || fail "pkg-config --cflags does not point into the staged include dir: $cflags"

# the header is enough: weft.h compiles on its own, warnings as errors
inc=$(find "$root" -path '*/include/weft.h' -type f)
[ -n "$inc" ] || fail "no include/weft.h installed"
[ -z "$(find "$root" -name weft_tools.h)" ] || fail "the unstable weft_tools.h was installed"
printf '#include <weft.h>\nint main(void) { return weft_version()[0] == 0; }\n' >"$tmp/h.c"
run $cc -std=c99 -Wall -Wextra -Werror -pedantic $cflags -c "$tmp/h.c" -o "$tmp/h.o"
expect_rc 0 "weft.h alone under -std=c99 -pedantic -Werror"

# shared: the example, built and run against the installed library
run $cc -Wall -Wextra -Werror $cflags "$src/examples/embed/embed.c" -o "$tmp/embed" $libs $san
expect_rc 0 "building embed.c against the installed libweft.so"
LD_LIBRARY_PATH="$libdir" run "$tmp/embed" "$src/examples/embed/triage.weft" '{"ticket": "Checkout fails"}'
expect_rc 0 "embed (shared)"
contains "$out" 'result: {"severity":"' || fail "embed printed no typed result: $out"
contains "$out" 'stats: {"calls":1,' || fail "embed printed no statistics with one call: $out"
contains "$out" '"cost_usd":' || fail "embed printed no cost: $out"
LD_LIBRARY_PATH="$libdir" run ldd "$tmp/embed"
contains "$out" "$libdir/libweft.so.0" || fail "embed is not linked with the installed libweft.so.0: $out"

# errors come back as codes and messages: a program with a type error
printf 'fn main() -> int {\n  "no"\n}\n' >"$tmp/bad.weft"
LD_LIBRARY_PATH="$libdir" run "$tmp/embed" "$tmp/bad.weft"
expect_rc 1 "embed on a program with errors"
contains "$err" "error[E" || fail "embed printed no diagnostic: $err"
contains "$err" "the program has errors" || fail "embed printed no status text: $err"

# the shared library exports weft.h's calls and nothing else
nm -D --defined-only "$libdir/libweft.so" | awk '{print $3}' | sort >"$tmp/so.sym"
sort "$src/include/weft.sym" | diff "$tmp/so.sym" - >"$tmp/sym.diff" ||
  fail "installed libweft.so exports other symbols than include/weft.sym: $(cat "$tmp/sym.diff")"

# static: the same example against libweft.a and its private dependencies
slibs=$(pkg-config --static --libs weft | sed "s|-lweft\\b|$libdir/libweft.a|")
run $cc -Wall -Wextra -Werror $cflags "$src/examples/embed/embed.c" -o "$tmp/embed-static" $slibs $san
expect_rc 0 "building embed.c against the installed libweft.a"
run "$tmp/embed-static" "$src/examples/embed/triage.weft"
expect_rc 0 "embed (static)"
contains "$out" 'result: {"severity":"' || fail "static embed printed no typed result: $out"
nm -g --defined-only "$libdir/libweft.a" | awk 'NF == 3 {print $3}' | sort >"$tmp/a.sym"
sort "$src/include/weft.sym" | diff "$tmp/a.sym" - >"$tmp/sym.diff" ||
  fail "installed libweft.a defines other global symbols than include/weft.sym: $(cat "$tmp/sym.diff")"

# the command, its man page and the std modules
wbin=$(find "$root" -path '*/bin/weft' -type f)
[ -x "$wbin" ] || fail "no bin/weft installed"
run "$wbin" check "$src/examples/embed/triage.weft"
expect_rc 0 "installed weft check"
man=$(find "$root" -path '*/man1/weft.1' -type f)
[ -n "$man" ] || fail "no man1/weft.1 installed"
run groff -man -Tutf8 -ww -z "$man"
[ -z "$err" ] || fail "groff warns about weft.1: $err"
[ -n "$(find "$root" -path '*/weft/std/patterns.weft' -type f)" ] || fail "std/patterns.weft not installed"
[ -n "$(find "$root" -path '*/weft/std/prelude.weft' -type f)" ] || fail "std/prelude.weft not installed"

run make -s -C "$build" uninstall DESTDIR="$root"
expect_rc 0 "make uninstall"
left=$(find "$root" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left files behind: $left"
