# A hostile .weftc cannot break what the checker guarantees of a role with
# tools: the verifier refuses a max_steps of 0 or past 100 (an unbounded or
# empty loop), a tool whose parameters are not a record descriptor (no
# schema), a role listing a tool twice, and a STEP of a role without tools.
# The checksum is repaired each time, so the verifier, not the hash, decides.
. "$TESTDIR/../lib/common.sh"
cat >"$tmp/m.weft" <<'EOF_W'
/// Adds two integers.
fn add(a: int, b: int) -> int {
  a + b
}

/// Subtracts.
fn sub(a: int, b: int) -> int {
  a - b
}

role calc { model: "mock/calc", tools: [add, sub], max_steps: 7 }
role plain { model: "mock/plainrole" }

fn main() -> string {
  let x = ask plain "hi"
  ask calc "What is 2 + 2?"
}
EOF_W
run "$WEFT" build "$tmp/m.weft" -o "$tmp/m.weftc"
expect_rc 0 "build"
run "$WEFT" run --no-journal "$tmp/m.weftc"
expect_rc 0 "the module as built"

# patch.py IN OUT WHAT: one hostile change, the checksum repaired
cat >"$tmp/patch.py" <<'EOF_P'
import struct, sys
src, dst, what = sys.argv[1], sys.argv[2], sys.argv[3]
b = bytearray(open(src, "rb").read())
# the tools section: u32 max_steps, u8 ntools, then "add" (u32 3, bytes)
at = b.find(struct.pack("<IB", 7, 2) + struct.pack("<I", 3) + b"add")
assert at > 0, "tools section not found"
if what == "steps0":
    b[at:at + 4] = struct.pack("<I", 0)
elif what == "steps200":
    b[at:at + 4] = struct.pack("<I", 200)
elif what == "params":
    p = at + 5 + 4 + 3
    p += 4 + struct.unpack_from("<I", b, p)[0]      # the description
    b[p:p + 4] = struct.pack("<I", 0)                # descriptor 0: not the record
elif what == "twice":
    s = b.find(struct.pack("<I", 3) + b"sub", at)
    b[s + 4:s + 7] = b"add"
elif what == "step_plain":
    # STEP a b: the role index operand of the one STEP points at `plain`
    op = open(sys.argv[4]).read().strip()
    i = b.find(bytes([int(op)]) + struct.pack("<HH", 0, 0xFFFF))
    assert i > 0, "STEP not found"
    b[i + 1:i + 3] = struct.pack("<H", 1)
h = 0x811C9DC5
for x in b[:-4]:
    h = ((h ^ x) * 0x01000193) & 0xFFFFFFFF
b[-4:] = struct.pack("<I", h)
open(dst, "wb").write(b)
EOF_P
check() { # WHAT EXPECTED
  python3 "$tmp/patch.py" "$tmp/m.weftc" "$tmp/bad.weftc" "$1" "$tmp/op" || fail "$1: cannot patch"
  run "$WEFT" run --no-journal "$tmp/bad.weftc"
  [ "$rc" -lt 128 ] || fail "$1: weft crashed (rc $rc)"
  [ "$rc" != 0 ] || fail "$1: the hostile module ran: $out"
  contains "$err" "$2" || fail "$1: expected '$2', got: $err"
}
check steps0 "max_steps out of range"
check steps200 "max_steps out of range"
check params "parameters are not a record type"
check twice "tool 'add' listed twice"
# the STEP opcode's number: its place in the one opcode list
python3 - "$TESTDIR/../../vm/opcodes.h" >"$tmp/op" <<'EOF_O'
import re, sys
names = re.findall(r"^\s*OP\((\w+),", open(sys.argv[1]).read(), re.M)
print(names.index("STEP"))
EOF_O
check step_plain "STEP 1: role has no tools"
exit 0
