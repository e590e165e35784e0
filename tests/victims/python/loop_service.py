"""A loop-based service doing one "request" per millisecond for --seconds (0: forever):
`lru` leaks through an unbounded functools.lru_cache (a new key per request), `healthy` keeps a
bounded cache and frees its churn. Prints "ready" first and "served N" at the end."""
import collections
import functools
import sys
import time


@functools.lru_cache(maxsize=None)
def price_quote(key):
    return {"key": key, "quote": "q" * 300}


RECENT = collections.OrderedDict()


def remember_recent(key):
    RECENT[key] = "r" * 300
    while len(RECENT) > 200:
        RECENT.popitem(last=False)


def churn(n):
    return sum(len(s) for s in ["x" * 50 + str(i) for i in range(n)])


def main():
    mode, seconds = sys.argv[1], float(sys.argv[2])
    print("ready", flush=True)
    end = time.monotonic() + seconds if seconds > 0 else float("inf")
    n = 0
    while time.monotonic() < end:
        n += 1
        churn(50)
        if mode == "lru":
            price_quote("customer-%d" % n)
        else:
            # Keys of one width: "customer-1000" is a byte longer than "customer-999", and a
            # bounded cache of ever longer keys grows.
            remember_recent("customer-%08d" % (n % 10**8))
        time.sleep(0.001)
    print("served", "many" if n > 0 else "none", flush=True)


if __name__ == "__main__":
    main()
