# An untrusted program imports std/ modules, and .weft files beneath a
# directory the operator gives with --allow-import (its other spelling:
# --import-path); its own directory is no import root (docs/security.md,
# "Untrusted programs"). A sibling and a "../" import are refused without
# the flag, and allowed with it; the other rules of docs/security.md,
# "Imports", hold beneath every root.
. "$TESTDIR/../lib/common.sh"
mkdir -p "$tmp/w/app/lib" "$tmp/w/shared" || fail "mkdir"
cd "$tmp/w" || fail "cd"
printf 'fn s() -> string { "sib" }\n' >app/sib.weft
printf 'fn x() -> string { "shared" }\n' >shared/x.weft
printf 'import "../../shared/x.weft" as x\nfn u() -> string { "lib+" + x.x() }\n' >app/lib/u.weft
printf 'import "./sib.weft" as s\nfn main() -> string { s.s() }\n' >app/side.weft
printf 'import "../shared/x.weft" as x\nfn main() -> string { x.x() }\n' >app/up.weft
printf 'import "./lib/u.weft" as u\nfn main() -> string { u.u() }\n' >app/deep.weft
printf 'import "std/patterns" as p\nfn main() -> int { p.map_reduce([1, 2, 3], 2, fn(x: int) -> int { x * 2 }, 0, fn(a: int, b: int) -> int { a + b }) }\n' >app/std.weft
printf 'import "%s/w/app/sib.weft" as s\nfn main() -> string { s.s() }\n' "$tmp" >app/abs.weft

# Control: an ordinary run imports its sibling.
run "$WEFT" run --no-journal app/side.weft
expect_rc 0 "an ordinary run with a sibling import"
expect_out '"sib"'

# The reproducers: a sibling and a "../" import, refused by run and check.
for p in side up; do
  for c in run check; do
    if [ "$c" = run ]; then run "$WEFT" run --no-journal --untrusted "app/$p.weft"
    else run "$WEFT" check --untrusted "app/$p.weft"; fi
    expect_rc 1 "$c --untrusted app/$p.weft"
    expect_err "error[E0204]"
    expect_err "lies outside the import roots"
    expect_err "an untrusted program imports"
    expect_err "--allow-import"
    case "$out" in *sib*|*shared*) fail "$c --untrusted app/$p.weft ran the import" ;; esac
  done
done
# From the program's own directory too: the working directory is no root.
(cd app && "$WEFT" run --no-journal --untrusted side.weft) >/dev/null 2>&1 && fail "a sibling import from the program's directory"

# std/ needs no flag.
run "$WEFT" run --no-journal --untrusted app/std.weft
expect_rc 0 "std/ import under --untrusted"

# With --allow-import the same imports resolve, in both spellings, and no
# further: app/ allows the sibling and lib/, not ../shared.
run "$WEFT" run --no-journal --untrusted --allow-import=app app/side.weft
expect_rc 0 "--allow-import=app, sibling"
expect_out '"sib"'
run "$WEFT" run --no-journal --untrusted --import-path app app/side.weft
expect_rc 0 "--import-path app, sibling"
expect_out '"sib"'
run "$WEFT" check --untrusted --allow-import app app/side.weft
expect_rc 0 "check --untrusted --allow-import app, sibling"
run "$WEFT" run --no-journal --untrusted --allow-import app app/up.weft
expect_rc 1 "--allow-import app, ../shared"
expect_err "lies outside the import roots"
run "$WEFT" run --no-journal --untrusted --allow-import shared app/up.weft
expect_rc 0 "--allow-import shared, ../shared"
expect_out '"shared"'
run "$WEFT" run --no-journal --untrusted --allow-import shared app/side.weft
expect_rc 1 "--allow-import shared, sibling"
# A file beneath an allowed root climbs out only into another allowed root.
run "$WEFT" run --no-journal --untrusted --allow-import app app/deep.weft
expect_rc 1 "lib/u.weft importing ../../shared without it"
expect_err "lies outside the import roots"
run "$WEFT" run --no-journal --untrusted --allow-import app --allow-import shared app/deep.weft
expect_rc 0 "lib/u.weft importing ../../shared with it"
expect_out '"lib+shared"'
# --allow-import of a parent holds both.
run "$WEFT" run --no-journal --untrusted --allow-import . app/up.weft
expect_rc 0 "--allow-import of the parent"

# Absolute paths stay refused, even beneath an allowed root.
run "$WEFT" run --no-journal --untrusted --allow-import app app/abs.weft
expect_rc 1 "an absolute import"
expect_err "cannot be absolute"

# The flag's messages name the spelling given.
run "$WEFT" run --no-journal --untrusted --allow-import nowhere app/std.weft
expect_rc 2 "--allow-import to nothing"
expect_err "--allow-import: cannot use 'nowhere'"
run "$WEFT" check --import-path nowhere app/std.weft
expect_rc 2 "--import-path to nothing"
expect_err "--import-path: cannot use 'nowhere'"
exit 0
