#!/usr/bin/env python3
"""Writes a gzip-compressed pprof heap profile for the symbolize and diff benchmarks
(bench/profile_bench.sh), without any protobuf library: the encoding is done by hand.

Two kinds:
  --binary BIN: --locations distinct addresses spread evenly over BIN's executable code (from
      its program headers), unsymbolized, with one mapping naming BIN (and its build ID), as the
      agent writes them; one sample per location (so every address must be symbolized). Also
      writes the same addresses, one per line in hex ELF virtual addresses, to --addresses FILE for
      `addr2line -e BIN`.
  --synthetic: already symbolized (functions and lines in the profile, as Go writes them):
      --functions functions, --locations locations, --samples stacks of --depth frames drawn with
      a fixed --seed; --grow scales the in-use values of every 10th function (so that two
      profiles with different --grow differ like a base and a later snapshot).

Usage: gen_profile.py --binary build/bin/leakhunt --locations 100000 --addresses a.txt > p.pb.gz
       gen_profile.py --synthetic --samples 100000 --seed 1 --grow 1.0 > base.pb.gz
"""
import argparse
import gzip
import random
import subprocess
import sys


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(num, wire):
    return varint(num << 3 | wire)


def vint(num, n):
    return key(num, 0) + varint(n) if n else b""


def msg(num, payload):
    return key(num, 2) + varint(len(payload)) + payload


def packed(num, values):
    return msg(num, b"".join(varint(v) for v in values))


class Strings:
    def __init__(self):
        self.table = [""]
        self.index = {"": 0}

    def __call__(self, s):
        if s not in self.index:
            self.index[s] = len(self.table)
            self.table.append(s)
        return self.index[s]


def header(out, strings):
    for t, u in (("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"),
                 ("inuse_space", "bytes")):
        out.append(msg(1, vint(1, strings(t)) + vint(2, strings(u))))


def finish(out, strings):
    out.append(msg(11, vint(1, strings("space")) + vint(2, strings("bytes"))))
    out.append(vint(12, 524288))
    out.append(vint(9, 1_700_000_000_000_000_000))
    for s in strings.table:
        out.append(msg(6, s.encode()))
    sys.stdout.buffer.write(gzip.compress(b"".join(out), compresslevel=1))


def exec_segments(binary):
    """(vaddr, offset, filesz) of the executable PT_LOAD segments, from readelf."""
    text = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True,
                          check=True).stdout
    segs = []
    for line in text.splitlines():
        f = line.split()
        if f and f[0] == "LOAD" and "E" in f[6:-1]:
            segs.append((int(f[2], 16), int(f[1], 16), int(f[4], 16)))
    return segs


def build_id(binary):
    text = subprocess.run(["readelf", "-nW", binary], capture_output=True, text=True).stdout
    for line in text.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:")[1].strip()
    return ""


def binary_profile(args):
    strings = Strings()
    out = []
    header(out, strings)
    segs = exec_segments(args.binary)
    total = sum(s[2] for s in segs)
    if total < args.locations:
        sys.exit(f"{args.binary} has only {total} bytes of code")
    base = 0x555555554000
    limit = base + max(s[1] + s[2] for s in segs)
    out.append(msg(3, vint(1, 1) + vint(2, base) + vint(3, limit) + vint(4, 0) +
                   vint(5, strings(args.binary)) + vint(6, strings(build_id(args.binary)))))
    addresses = []
    step = total / args.locations
    for i in range(args.locations):
        at = int(i * step)
        for vaddr, offset, size in segs:
            if at < size:
                addresses.append((vaddr + at, offset + at))
                break
            at -= size
    with open(args.addresses, "w") as f:
        for vaddr, _ in addresses:
            f.write(f"{vaddr:#x}\n")
    for i, (_, offset) in enumerate(addresses):
        out.append(msg(4, vint(1, i + 1) + vint(2, 1) + vint(3, base + offset)))
    for i in range(len(addresses)):
        out.append(msg(2, packed(1, [i + 1]) + packed(2, [1, 64, 1, 64])))
    finish(out, strings)


def synthetic_profile(args):
    rng = random.Random(args.seed)
    strings = Strings()
    out = []
    header(out, strings)
    out.append(msg(3, vint(1, 1) + vint(2, 0x400000) + vint(3, 0x4000000) +
                   vint(5, strings("/opt/app/server")) + vint(7, 1) + vint(8, 1) + vint(9, 1)))
    for f in range(1, args.functions + 1):
        out.append(msg(5, vint(1, f) + vint(2, strings(f"app::module{f % 97}::function_{f}(int)")) +
                       vint(4, strings(f"src/module{f % 97}.cpp")) + vint(5, 10 * f)))
    loc_fn = []
    for loc in range(1, args.locations + 1):
        fn = rng.randrange(1, args.functions + 1)
        loc_fn.append(fn)
        line = msg(4, vint(1, fn) + vint(2, 10 * fn + rng.randrange(50)))
        out.append(msg(4, vint(1, loc) + vint(2, 1) + vint(3, 0x400000 + 16 * loc) + line))
    # The same seed gives the same stacks: two profiles differ only in their values.
    stack_rng = random.Random(args.seed_stacks)
    value_rng = random.Random(args.seed)
    for _ in range(args.samples):
        stack = [stack_rng.randrange(1, args.locations + 1) for _ in range(args.depth)]
        objects = value_rng.randrange(1, 20)
        size = 16 << value_rng.randrange(0, 10)
        grow = args.grow if loc_fn[stack[0] - 1] % 10 == 0 else 1.0
        inuse = int(objects * grow)
        out.append(msg(2, packed(1, stack) +
                       packed(2, [objects * 2, objects * 2 * size, inuse, inuse * size])))
    finish(out, strings)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary")
    p.add_argument("--addresses", default="addresses.txt")
    p.add_argument("--synthetic", action="store_true")
    p.add_argument("--locations", type=int, default=100000)
    p.add_argument("--functions", type=int, default=5000)
    p.add_argument("--samples", type=int, default=100000)
    p.add_argument("--depth", type=int, default=12)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seed-stacks", type=int, default=7)
    p.add_argument("--grow", type=float, default=1.0)
    args = p.parse_args()
    if args.binary:
        binary_profile(args)
    elif args.synthetic:
        synthetic_profile(args)
    else:
        p.error("give --binary BIN or --synthetic")


if __name__ == "__main__":
    main()
