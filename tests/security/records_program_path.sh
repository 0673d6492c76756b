# The program path recorded with a run names the file that resume and
# replay compile again; from a planted journal it may name anything. A path
# from the journal is opened only when it is canonical (no symbolic link
# in any component), names a regular .weft or .weftc file, and is opened
# without following a link; otherwise the module recorded in the journal
# runs, and the message says why. The operator's own --program is not
# restricted.
. "$TESTDIR/../lib/common.sh"
J="$tmp/j.db"
mkdir "$tmp/w"
printf 'fn main() -> string { "original" }\n' >"$tmp/w/p.weft"
printf 'fn main() -> string { "SECRET" }\n' >"$tmp/secret.weft"
run "$WEFT" run "$tmp/w/p.weft" --journal "$J" --quiet
expect_rc 0 "the first run"

# plant FIELD VALUE: sets run 1's program and program_path (and status failed).
plant() {
  python3 - "$J" "$1" <<'EOF_P' || fail "cannot plant the journal"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE runs SET status = 'failed', program = ?2, program_path = ?2 WHERE id = 1", (None, sys.argv[2]))
c.commit()
EOF_P
}
both() { # both WHY: replay and resume run the journal's module, saying WHY
  for cmd in replay resume; do
    run timeout 20 "$WEFT" "$cmd" 1 --journal "$J"
    [ "$rc" != 124 ] || fail "$cmd blocked on the recorded program path"
    expect_rc 0 "$cmd ($1)"
    [ "$out" = '"original"' ] || fail "$cmd ($1) ran $out"
    expect_err "$1; running the module recorded in the journal"
    python3 - "$J" <<'EOF_P' || fail "cannot reset the run"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE runs SET status = 'failed' WHERE id = 1"); c.commit()
EOF_P
  done
}

# The program file replaced by a link to another program.
mv "$tmp/w/p.weft" "$tmp/w/p.orig"
ln -s "$tmp/secret.weft" "$tmp/w/p.weft"
both "$tmp/w/p.weft is a symbolic link"
rm "$tmp/w/p.weft"
mv "$tmp/w/p.orig" "$tmp/w/p.weft"

# A link in a directory of the path.
ln -s "$tmp" "$tmp/up"
plant "$tmp/up/secret.weft"
both "$tmp/up/secret.weft is not a canonical path"

# Not a program file's name: never opened (its lines would be echoed as
# diagnostics).
plant /etc/passwd
both "/etc/passwd is not a .weft or .weftc file"

# A FIFO with a program's name: not opened for reading (it would block).
mkfifo "$tmp/f.weft" || fail "mkfifo"
plant "$tmp/f.weft"
both "$tmp/f.weft is not a regular file"

# The operator's --program is read as given, link or not.
run "$WEFT" replay 1 --journal "$J" --program "$tmp/up/secret.weft"
expect_rc 0 "replay --program through a link"
[ "$out" = '"SECRET"' ] || fail "replay --program ran $out"
exit 0
