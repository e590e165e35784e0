#!/usr/bin/env python3
"""Seeds for fuzz_pygraph: a hand-laid graph of three objects (every section, every edge and root
kind) and the object graph the bootstrap writes of a bare interpreter (python3 -I -S).
Usage: make_pygraph_seeds.py BOOTSTRAP OUT_DIR"""
import os
import struct
import subprocess
import sys


def tiny():
    strings = [b"", b"dict", b"str", b"app", b"K", b"k", b"list", b"app.C", b"x"]
    nodes = [(1, 232, 1), (2, 50, 2), (6, 64, 3)]
    edges = [[(1, 2, 0xFFFFFFFF), (2, 1, 5)], [], [(1, 3, 0), (0, 0, 0xFFFFFFFF), (1, 4, 8)]]
    roots = [(1, 3, 4, 0), (2, 3, 4, 1), (3, 7, 8, 2)]
    out = b"LHPYGRPH" + struct.pack("<II", 1, 0)
    out += struct.pack("<IQ", 1, len(strings)) + b"".join(struct.pack("<I", len(s)) for s in strings)
    out += b"".join(strings)
    out += struct.pack("<IQ", 2, len(nodes))
    out += b"".join(struct.pack("<I", n[0]) for n in nodes)
    out += b"".join(struct.pack("<Q", n[1]) for n in nodes)
    out += b"".join(struct.pack("<Q", n[2]) for n in nodes) + b"\x01" * len(nodes)
    flat = [e for es in edges for e in es]
    out += struct.pack("<IQ", 3, len(flat)) + b"".join(struct.pack("<I", len(es)) for es in edges)
    out += b"".join(struct.pack("<I", e[0]) for e in flat)
    out += bytes(e[1] for e in flat) + b"".join(struct.pack("<I", e[2]) for e in flat)
    out += struct.pack("<IQ", 4, len(roots)) + bytes(r[0] for r in roots)
    for field in (1, 2, 3):
        out += b"".join(struct.pack("<I", r[field]) for r in roots)
    out += struct.pack("<IQ", 5, 1) + struct.pack("<II", 3, 4)
    return out + b"LHPYEND1" + struct.pack("<QQQ", len(nodes), len(flat), len(out) + 32)


def main():
    bootstrap, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tiny.pygraph"), "wb") as f:
        f.write(tiny())
    code = ("import importlib.util as u\n"
            "s = u.spec_from_file_location('b', %r)\n"
            "m = u.module_from_spec(s); s.loader.exec_module(m)\n"
            "m._GraphWriter(None).write(%r)\n") % (bootstrap, os.path.join(out, "bare.pygraph"))
    subprocess.run([sys.executable, "-I", "-S", "-c", code], check=True)


if __name__ == "__main__":
    main()
