# The import roots: the directory of the program named on the command line,
# plus each --import-path DIR the operator adds (check, run, build, disasm,
# resume, replay). Files beneath a root import each other relative to
# themselves, "../" included, as long as the result stays beneath a root.
# A journal never adds a root: resume and replay take --import-path from
# their own command line, and refuse a journal that names one.
. "$TESTDIR/../lib/common.sh"

mkdir -p "$tmp/repo/app/sub" "$tmp/repo/shared/deep" "$tmp/repo/private"
cd "$tmp/repo" || fail "cd"
printf 'fn shout(s: string) -> string { upper(s) }\n' >shared/deep/v.weft
printf 'import "./deep/v.weft" as v\nfn greet(s: string) -> string { v.shout("hi " + s) }\n' >shared/u.weft
printf 'fn secret() -> string { "FAKESECRET-PRIVATE-0001" }\n' >private/p.weft
printf 'import "../../shared/u.weft" as u\nfn hello() -> string { u.greet("sub") }\n' >app/sub/s.weft
printf 'import "../shared/u.weft" as u\nimport "./sub/s.weft" as s\nfn main() -> string { u.greet("app") + "/" + s.hello() }\n' >app/main.weft

# Without --import-path, the root is app/ alone: ../shared is outside.
run "$WEFT" check app/main.weft
expect_rc 1 "check without --import-path"
expect_err "outside the import roots"
# Even from a working directory above it: the root is the program's directory.
run "$WEFT" run --no-journal app/main.weft
expect_rc 1 "run without --import-path"

# With it, both the main file's import and the nested one from app/sub
# (which climbs out of app/ into shared/) resolve, and shared/ files import
# each other.
run "$WEFT" check --import-path shared app/main.weft
expect_rc 0 "check --import-path shared"
run "$WEFT" check --import-path=shared --json app/main.weft
expect_rc 0 "check --import-path=shared --json"
expect_out '"errors":0'
run "$WEFT" run --no-journal --import-path shared app/main.weft
expect_rc 0 "run --import-path shared"
expect_out '"HI APP/HI SUB"'
run "$WEFT" build --import-path shared app/main.weft -o "$tmp/m.weftc"
expect_rc 0 "build --import-path shared"
run "$WEFT" run --no-journal "$tmp/m.weftc"
expect_out '"HI APP/HI SUB"'
run "$WEFT" disasm --import-path shared app/main.weft
expect_rc 0 "disasm --import-path shared"

# A root is exactly that directory: private/ stays out, by "..", by an
# absolute path, and through a link inside a root.
for path in ../private/p.weft ../shared/../private/p.weft "$tmp/repo/private/p.weft"; do
  printf 'import "%s" as p\nfn main() -> string { p.secret() }\n' "$path" >app/leak.weft
  run "$WEFT" run --no-journal --import-path shared app/leak.weft
  expect_rc 1 "import of $path"
  expect_err "error[E0204]"
  case "$out$err" in *FAKESECRET*) fail "import of $path: private/ was read" ;; esac
done
ln -s ../private/p.weft shared/p.weft
printf 'import "../shared/p.weft" as p\nfn main() -> string { p.secret() }\n' >app/leak.weft
run "$WEFT" run --no-journal --import-path shared app/leak.weft
expect_rc 1 "a link out of an --import-path root"
case "$out$err" in *FAKESECRET*) fail "a link out of shared/: private/ was read" ;; esac

# Every command that compiles source documents the flag.
for c in check run build disasm resume replay; do
  run "$WEFT" help "$c"
  expect_out "--import-path"
done

# --import-path must name a directory.
run "$WEFT" check --import-path nowhere app/main.weft
expect_rc 2 "--import-path to nothing"
expect_err "--import-path"
run "$WEFT" check --import-path app/main.weft app/main.weft
expect_rc 2 "--import-path to a file"
run "$WEFT" check app/main.weft --import-path
expect_rc 2 "--import-path without a value"

# resume and replay: the roots come from their own command line only.
J="$tmp/j.db"
run "$WEFT" run --journal "$J" --import-path shared app/main.weft
expect_rc 0 "a journaled run with --import-path"
run "$WEFT" replay last --journal "$J"
expect_rc 1 "replay without --import-path (the journal does not keep it)"
expect_err "outside the import roots"
run "$WEFT" replay last --journal "$J" --import-path shared --check
expect_rc 0 "replay --import-path shared"
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE runs SET options = ?", (sys.argv[2],))
c.commit()' "$J" "[\"--import-path=$tmp/repo/private\", \"--import-path\", \"/\"]" ||
  fail "cannot edit the journal"
run "$WEFT" replay last --journal "$J" --import-path shared
expect_rc 2 "replay of a journal that names --import-path"
expect_err "its recorded flags are damaged: \"--import-path="
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE runs SET status = ?", ("failed",))
c.commit()' "$J" || fail "cannot edit the journal"
run "$WEFT" resume last --journal "$J" --import-path shared
expect_rc 2 "resume of a journal that names --import-path"
expect_err "its recorded flags are damaged: \"--import-path="
exit 0
