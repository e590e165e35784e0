"""A loop-based service doing one "request" per millisecond for --seconds (0: forever):
`lru` leaks through an unbounded functools.lru_cache (a new key per request), `logging` through a
MemoryHandler that buffers each request's log record (and the Request in its args), `callbacks`
through a listener list that gets each request's bound method, `healthy` keeps a bounded cache and
frees its churn. Prints "ready" first and "served N" at the end."""
import collections
import functools
import logging
import logging.handlers
import sys
import time

LOG = logging.getLogger("service")
LOG.propagate = False
LOG.setLevel(logging.INFO)
# Never flushed: no target, a capacity and a flush level never reached.
LOG.addHandler(logging.handlers.MemoryHandler(capacity=10**9, flushLevel=logging.CRITICAL + 1))

LISTENERS = []


class Request:
    def __init__(self, n):
        self.n = n
        self.body = "b" * 200

    def on_shutdown(self):
        return self.n


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
        elif mode == "logging":
            LOG.info("handled %s", Request(n))
        elif mode == "callbacks":
            LISTENERS.append(Request(n).on_shutdown)
        else:
            # Keys of one width: "customer-1000" is a byte longer than "customer-999", and a
            # bounded cache of ever longer keys grows.
            remember_recent("customer-%08d" % (n % 10**8))
        time.sleep(0.001)
    print("served", "many" if n > 0 else "none", flush=True)


if __name__ == "__main__":
    main()
