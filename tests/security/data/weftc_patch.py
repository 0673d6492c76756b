# weftc_patch.py — rewrites strings of a compiled module (.weftc) to build
# hostile modules for the security tests: a string constant (a record field
# name, an event name) or a native's key. The other sections are copied
# byte for byte and the trailer checksum is recomputed, so the result is a
# well-formed module that only the loader's and the VM's own checks judge.
#
#   python3 weftc_patch.py IN OUT [--const OLD NEW]... [--native OLD NEW]...
#
# OLD and NEW are Python string literals' contents with \n, \" and \\
# escapes (so a test can write a newline); every occurrence is replaced and
# a pattern that matches nothing is an error.
import struct
import sys


def fnv1a32(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def unescape(s):
    return s.encode().decode("unicode_escape").encode("latin-1")


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            sys.exit("weftc_patch: the module is truncated")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def string(self):
        return self.take(self.u32())


def put_str(b):
    return struct.pack("<I", len(b)) + b


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__ if __doc__ else "usage: weftc_patch.py IN OUT [--const OLD NEW]... [--native OLD NEW]...")
    src, dst, rest = argv[1], argv[2], argv[3:]
    consts, natives = {}, {}
    while rest:
        if len(rest) < 3 or rest[0] not in ("--const", "--native"):
            sys.exit("weftc_patch: expected --const OLD NEW or --native OLD NEW")
        (consts if rest[0] == "--const" else natives)[unescape(rest[1])] = unescape(rest[2])
        rest = rest[3:]
    data = open(src, "rb").read()
    body = data[:-4]
    r = Reader(body)
    out = bytearray(r.take(20))                       # magic, version, flags, source hash
    nfiles = r.u32()
    out += struct.pack("<I", nfiles)
    for _ in range(nfiles):
        out += put_str(r.string())
    nconsts = r.u32()
    out += struct.pack("<I", nconsts)
    seen = set()
    for _ in range(nconsts):
        kind = r.take(1)[0]
        out.append(kind)
        if kind in (0, 1, 2):                          # K_INT, K_FLOAT, K_DURATION
            out += r.take(8)
        elif kind == 3:                                # K_STRING
            s = r.string()
            if s in consts:
                seen.add(("const", s))
                s = consts[s]
            out += put_str(s)
        elif kind == 4:                                # K_SHAPE
            m = r.u32()
            out += struct.pack("<I", m) + r.take(4 * m)
        elif kind == 5:                                # K_BOOL
            out += r.take(1)
        else:
            sys.exit("weftc_patch: unknown constant kind %d" % kind)
    nnat = r.u32()
    out += struct.pack("<I", nnat)
    for _ in range(nnat):
        s = r.string()
        if s in natives:
            seen.add(("native", s))
            s = natives[s]
        out += put_str(s)
    out += body[r.pos:]
    for k in consts:
        if ("const", k) not in seen:
            sys.exit("weftc_patch: no string constant %r" % k)
    for k in natives:
        if ("native", k) not in seen:
            sys.exit("weftc_patch: no native %r" % k)
    out += struct.pack("<I", fnv1a32(out))
    open(dst, "wb").write(bytes(out))


main(sys.argv)
