#!/usr/bin/env python3
"""Writes a synthetic memory series CSV (t_seconds,rss_bytes) for the classify benchmark.

  gen_series.py leak    N OUT   # 200 MB baseline + 2 MB/h leak + GC sawtooth (period 300 s) + noise
  gen_series.py healthy N OUT   # 200 MB flat + the same sawtooth and noise

One sample per second; deterministic (seeded).
"""
import random
import sys


def main() -> None:
    kind, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if kind not in ("leak", "healthy"):
        sys.exit("kind must be leak or healthy")
    rng = random.Random(42)
    base = 200 * 1024 * 1024
    leak_per_s = (2 * 1024 * 1024 / 3600.0) if kind == "leak" else 0.0
    period = 300
    saw = 40 * 1024 * 1024  # GC sawtooth amplitude
    noise = 2 * 1024 * 1024
    with open(out, "w") as f:
        f.write("t_seconds,rss_bytes\n")
        lines = []
        for i in range(n):
            v = base + leak_per_s * i + saw * ((i % period) / period) + rng.gauss(0, noise)
            lines.append(f"{i},{int(v)}\n")
            if len(lines) >= 65536:
                f.writelines(lines)
                lines.clear()
        f.writelines(lines)


if __name__ == "__main__":
    main()
