# exports.sh — the library's interface changes only on purpose: the
# functions include/weft.h declares, the committed list include/weft.sym
# (what the link exports), and the dynamic symbols of the built
# libweft.so are the same set; every one is prefixed weft_.
. "$TESTDIR/../lib/common.sh"

src=$(cd "$TESTDIR/../.." && pwd)
build=$(cd "$(dirname "$WEFT")" && pwd)
# a declaration is a line whose first identifier followed by '(' is weft_...
grep -oE '(^|[ *])weft_[a-z0-9_]+\(' "$src/include/weft.h" | sed 's/^[ *]//; s/($//' | sort -u >"$tmp/header"
sort "$src/include/weft.sym" >"$tmp/sym"
[ "$(wc -l <"$tmp/header")" -ge 30 ] || fail "found too few declarations in weft.h: $(cat "$tmp/header")"
diff "$tmp/header" "$tmp/sym" >"$tmp/d1" ||
  fail "include/weft.h and include/weft.sym disagree (< header, > list): $(cat "$tmp/d1")"
grep -v '^weft_' "$tmp/sym" && fail "include/weft.sym lists a symbol without the weft_ prefix"

so="$build/.libs/libweft.so"
[ -f "$so" ] || fail "no $so: build the library first"
nm -D --defined-only "$so" | awk '{print $3}' | sort >"$tmp/so"
diff "$tmp/so" "$tmp/sym" >"$tmp/d2" ||
  fail "libweft.so exports other symbols than include/weft.sym (< exported, > listed): $(cat "$tmp/d2")"
exit 0
