# The run's journal stays out of reach of what the program is granted: by
# any spelling of its path through std/fs, and through a child process,
# whose Landlock confinement gets whole directory trees (it cannot leave a
# file out), so a program may not run children while a write grant of a
# directory holds the journal. A rewritten journal would answer a resume
# with forged records.
. "$TESTDIR/../lib/common.sh"
mkdir -p "$tmp/data/proj/.weft" && ln -s "$tmp/data" "$tmp/home" || fail "set-up"
J="$tmp/data/proj/.weft/j.db"

# the journal named by its real path, reached through a linked spelling
# (computed, so the check happens at the call, not before the run)
cat >"$tmp/w.weft" <<EOW
import "std/fs" as fs
fn main() {
  let d = "$tmp/home/proj"
  fs.write("{d}/.weft/j.db", "")
}
EOW
cd "$tmp/home/proj" || fail "cd"
run "$WEFT" run --journal "$J" --allow-write="$tmp/home/proj" "$tmp/w.weft"
expect_rc 1 "the journal by a linked spelling"
expect_err "the run's journal"
[ -s "$J" ] || fail "the journal was emptied"
# a child under a write grant of the journal's directory: refused
cat >"$tmp/p.weft" <<'EOW'
import "std/proc" as proc
fn main() { print(proc.run("true", []).code) }
EOW
cd "$tmp/data/proj" || fail "cd"
run "$WEFT" run --journal "$J" --allow-run=true --allow-write=. "$tmp/p.weft"
expect_rc 1 "a child beside the journal"
expect_err "holds the run's journal"
expect_err "--journal PATH"
# the journal elsewhere, or a narrower write grant: the child runs
mkdir -p out
run "$WEFT" run --allow-run=true --allow-write=. --journal "$tmp/elsewhere.db" "$tmp/p.weft"
expect_rc 0 "the journal elsewhere"
expect_out 0
run "$WEFT" run --journal "$J" --allow-run=true --allow-write=out "$tmp/p.weft"
expect_rc 0 "a narrower write grant"
expect_out 0
exit 0
