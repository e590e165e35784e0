"""A batch worker with a tiny steady leak under big spikes.

Every `period` seconds it runs a batch that holds ~300 MB of working buffers (anonymous mmaps,
touched, so they are resident: what numpy or a big bytes object gets from malloc) for `hold`
seconds and then unmaps them, so the memory goes back to the kernel at once. (Plain bytearrays
would not do: after the first free glibc raises its mmap threshold, and the next batch lands on
the heap and stays resident.) Besides, every tick it appends a record to a global audit list that
is never trimmed: ~6 MiB over four minutes, 2% of a spike's height.
Used for tests/data/traces/py_spike_leak.csv. Usage: python3 py_spike_leak.py [period=40] [hold=8]
"""
import mmap
import sys
import time

PERIOD = float(sys.argv[1]) if len(sys.argv) > 1 else 40.0
HOLD = float(sys.argv[2]) if len(sys.argv) > 2 else 8.0
AUDIT = []  # the leak: ~26 KiB/s


def main():
    start = time.monotonic()
    buffers = []
    n = 0
    while True:
        now = time.monotonic() - start
        phase = (now + 10.0) % PERIOD  # first batch at t = 30 s
        if phase < HOLD and not buffers:
            for _ in range(30):
                b = mmap.mmap(-1, 10 * 1024 * 1024)
                for i in range(0, len(b), 4096):
                    b[i] = 1
                buffers.append(b)
        elif phase >= HOLD and buffers:
            for b in buffers:
                b.close()
            buffers = []
        n += 1
        AUDIT.append(("job-%08d" % n).encode() * 64)  # ~1 KiB kept per tick
        time.sleep(0.04)


if __name__ == "__main__":
    main()
