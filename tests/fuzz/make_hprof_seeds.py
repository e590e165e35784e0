#!/usr/bin/env python3
"""Writes the seeds of fuzz_hprof: small HPROF 1.0.2 dumps, with 4- and 8-byte ids, that hold
every record and sub-record kind the reader knows (strings, classes, a thread, a stack trace,
HEAP_DUMP and HEAP_DUMP_SEGMENT, every root kind, class dumps with a constant pool and statics
of every type, instances, a Reference, object and primitive arrays of every type).

Usage: make_hprof_seeds.py OUT_DIR
"""
import struct
import sys
from pathlib import Path

SIZES = {2: None, 4: 1, 5: 2, 6: 4, 7: 8, 8: 1, 9: 2, 10: 4, 11: 8}
FMT = {1: ">B", 2: ">H", 4: ">I", 8: ">Q"}


class Dump:
    def __init__(self, id_size):
        self.id_size = id_size
        self.out = bytearray(b"JAVA PROFILE 1.0.2\0" + struct.pack(">IQ", id_size, 0))

    def id(self, v):
        return struct.pack(FMT[self.id_size], v)

    def value(self, t, v):
        size = SIZES[t] or self.id_size
        return struct.pack(FMT[size], v)

    def record(self, tag, body):
        self.out += struct.pack(">BII", tag, 0, len(body)) + body


def build(id_size, segmented):
    d = Dump(id_size)
    i = d.id
    names = ["java/lang/Object", "Holder", "items", "[Ljava/lang/Object;", "count",
             "java/lang/ref/Reference", "referent", "next", "main", "run", "()V", "Holder.java"]
    for n, s in enumerate(names, 1):
        d.record(0x01, i(n) + s.encode())
    for serial, (cls, name) in enumerate([(0x100, 1), (0x200, 2), (0x300, 6), (0x400, 4)], 1):
        d.record(0x02, struct.pack(">I", serial) + i(cls) + struct.pack(">I", 0) + i(name))
    d.record(0x04, i(0x50) + i(10) + i(11) + i(12) + struct.pack(">Ii", 2, 7))  # stack frame
    d.record(0x05, struct.pack(">III", 1, 1, 1) + i(0x50))  # stack trace
    d.record(0x0A, struct.pack(">I", 1) + i(0x1600) + struct.pack(">I", 1) + i(9) + i(0) + i(0))

    def class_dump(cls, sup, statics, fields, pool=()):
        b = b"\x20" + i(cls) + struct.pack(">I", 0) + i(sup) + i(0) * 5 + struct.pack(">I", 0)
        b += struct.pack(">H", len(pool))
        for idx, (t, v) in enumerate(pool):
            b += struct.pack(">HB", idx, t) + d.value(t, v)
        b += struct.pack(">H", len(statics))
        for name, t, v in statics:
            b += i(name) + bytes([t]) + d.value(t, v)
        b += struct.pack(">H", len(fields))
        for name, t in fields:
            b += i(name) + bytes([t])
        return b

    def instance(obj, cls, values):
        data = b"".join(d.value(t, v) for t, v in values)
        return b"\x21" + i(obj) + struct.pack(">I", 0) + i(cls) + struct.pack(">I", len(data)) + data

    body = b""
    body += class_dump(0x100, 0, [], [])
    statics = [(3, 2, 0x500), (5, 10, 42)] + [(5, t, 1) for t in (4, 5, 6, 7, 8, 9, 11)]
    body += class_dump(0x200, 0x100, statics, [(5, 10), (8, 2)], pool=[(10, 3), (2, 0x100)])
    body += class_dump(0x300, 0x100, [], [(7, 2)])
    body += class_dump(0x400, 0x100, [], [])
    body += b"\xff" + i(0x1300)
    body += b"\x01" + i(0x1000) + i(0x77)
    body += b"\x02" + i(0x1100) + struct.pack(">II", 1, 0)
    body += b"\x03" + i(0x1200) + struct.pack(">II", 1, 0)
    body += b"\x04" + i(0x1400) + struct.pack(">I", 1)
    body += b"\x05" + i(0x200)
    body += b"\x06" + i(0x1500) + struct.pack(">I", 1)
    body += b"\x07" + i(0x1100)
    body += b"\x08" + i(0x1600) + struct.pack(">II", 1, 1)
    body += b"\x22" + i(0x500) + struct.pack(">I", 3) + i(0x400) + i(0x1000) + i(0) + i(0x1100)
    body += instance(0x1000, 0x200, [(10, 7), (2, 0x1100)])
    rest = b""
    rest += instance(0x1100, 0x100, [])
    rest += instance(0x1200, 0x300, [(2, 0x1300)])
    rest += instance(0x1300, 0x100, [])
    rest += instance(0x1600, 0x100, [])
    for n, t in enumerate((4, 5, 6, 7, 8, 9, 10, 11)):
        size = SIZES[t]
        obj = 0x1400 if t == 10 else 0x1500 if t == 8 else 0x1700 + n
        rest += b"\x23" + i(obj) + struct.pack(">IIB", 0, 3, t) + b"\x01" * (3 * size)
    if segmented:
        d.record(0x1C, body)
        d.record(0x1C, rest)
        d.record(0x2C, b"")
    else:
        d.record(0x0C, body + rest)
    return bytes(d.out)


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for id_size in (4, 8):
        (out / f"segments_id{id_size}.hprof").write_bytes(build(id_size, True))
        (out / f"heap_dump_id{id_size}.hprof").write_bytes(build(id_size, False))


if __name__ == "__main__":
    main()
