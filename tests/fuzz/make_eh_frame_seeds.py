#!/usr/bin/env python3
"""Seeds for fuzz_eh_frame: for an ELF object, the LOAD segment holding .eh_frame_hdr, prefixed
with a pc offset (a function's address minus the segment's) and .eh_frame_hdr's offset in it.
Usage: make_eh_frame_seeds.py OBJECT OUT_PREFIX [N]  (N seeds, pcs spread over the functions)."""
import re
import struct
import subprocess
import sys


def main():
    obj, prefix = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    ph = subprocess.run(["readelf", "-lW", obj], capture_output=True, text=True, check=True).stdout
    loads = [tuple(int(x, 16) for x in m.groups())
             for m in re.finditer(r"LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+)", ph)]
    hdr = int(re.search(r"GNU_EH_FRAME\s+0x[0-9a-f]+ 0x([0-9a-f]+)", ph).group(1), 16)
    off, vaddr, filesz = next(s for s in loads if s[1] <= hdr < s[1] + s[2])
    with open(obj, "rb") as f:
        f.seek(off)
        image = f.read(filesz)
    syms = subprocess.run(["nm", "--defined-only", obj], capture_output=True, text=True).stdout
    funcs = sorted(int(m.group(1), 16) for m in re.finditer(r"^([0-9a-f]+) [tT] ", syms, re.M))
    for i in range(count):
        pc = funcs[(i * len(funcs)) // count] + 4 if funcs else vaddr
        with open(f"{prefix}{i}", "wb") as out:
            out.write(struct.pack("<qI", pc - vaddr, hdr - vaddr) + image)


if __name__ == "__main__":
    main()
