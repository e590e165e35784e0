"""The cost of a Python object graph (`leakhunt snapshot PID --heap`) on a service holding about
N tracked objects: N/6 sessions, each an instance and five tracked containers (three lists, a
tuple, a dict; the instance's attributes live in its values array, no dict), plus their strings
and ints (untracked). A heartbeat thread ticks every millisecond and keeps the
longest gap between ticks: the time the program's threads were held while the graph was taken.
Run:  /usr/bin/python3 bench/python_pygraph.py 1000000 &   (prints "ready PID" when built)
      time leakhunt snapshot PID --heap -o /tmp/g      (prints the bootstrap's paused=/seconds=)
      kill -USR1 PID                                    (the target prints "max_gap_ms G")
"""
import gc
import os
import signal
import sys
import threading
import time


class Session:
    def __init__(self, i):
        self.user = "user-%d" % i
        self.items = [i, i + 1, "x%d" % i]
        self.pair = (i, [i])
        self.meta = {"n": i, "tags": ["a"]}


SESSIONS = []
MAX_GAP = [0.0]


def heartbeat():
    last = time.perf_counter()
    while True:
        time.sleep(0.001)
        now = time.perf_counter()
        MAX_GAP[0] = max(MAX_GAP[0], now - last)
        last = now


def report(*_):
    print("max_gap_ms %.1f gc_objects %d" % (MAX_GAP[0] * 1000, len(gc.get_objects())), flush=True)


def main():
    n = int(sys.argv[1])
    for i in range(n // 6):
        SESSIONS.append(Session(i))
    signal.signal(signal.SIGUSR1, report)
    threading.Thread(target=heartbeat, daemon=True).start()
    time.sleep(0.5)
    MAX_GAP[0] = 0.0
    print("ready %d" % os.getpid(), flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
