#!/usr/bin/env python3
"""A Python service loop with heavy churn and a bounded LRU cache: every tick it handles fake
requests whose keys come from a large key space, builds and drops temporary objects, and keeps
at most --cache-entries results in an OrderedDict (least recently used evicted). Memory grows
while the cache fills, then should level off. Used for tests/data/traces/python_lru.csv.
Flags: --tick-ms (default 10), --cache-entries (default 20000), --value-bytes (default 1000).
"""
import argparse, collections, os, random, time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tick-ms", type=float, default=10)
    parser.add_argument("--cache-entries", type=int, default=20000)
    parser.add_argument("--value-bytes", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=0)
    args = parser.parse_args()
    cache = collections.OrderedDict()
    start = time.monotonic()
    while args.seconds == 0 or time.monotonic() - start < args.seconds:
        for _ in range(4):
            key = f"user-{random.randrange(10_000_000)}"
            if key in cache:
                cache.move_to_end(key)
            else:
                cache[key] = os.urandom(args.value_bytes // 2).hex()
                if len(cache) > args.cache_entries:
                    cache.popitem(last=False)
            # churn: temporaries that die at the end of the request
            rows = [{"k": key, "i": i, "v": random.random()} for i in range(200)]
            text = "\n".join(f"{r['k']} {r['i']} {r['v']}" for r in rows)
            _ = sorted(text.split("\n"))
        time.sleep(args.tick_ms / 1000)


if __name__ == "__main__":
    main()
