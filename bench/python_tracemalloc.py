"""tracemalloc's cost on a small service: N requests of a loop service (per request: a parsed
JSON body, a response of 100 rows, a bounded cache entry), timed in the process itself.
Run:  /usr/bin/python3 bench/python_tracemalloc.py 20000
      /usr/bin/python3 -X tracemalloc=8 bench/python_tracemalloc.py 20000
      leakhunt record -o /tmp/rec --depth 8 -- /usr/bin/python3 bench/python_tracemalloc.py 20000
Prints "requests N seconds S"."""
import collections
import json
import sys
import time

CACHE = collections.OrderedDict()


def handle(i):
    body = json.loads('{"user": "u%d", "items": [1, 2, 3, 4, 5], "note": "%s"}' % (i, "n" * 40))
    rows = [{"row": k, "user": body["user"], "v": k * i} for k in range(100)]
    CACHE[body["user"]] = json.dumps(rows[:5])
    if len(CACHE) > 1000:
        CACHE.popitem(last=False)
    return len(json.dumps(rows))


def main():
    n = int(sys.argv[1])
    start = time.perf_counter()
    for i in range(n):
        handle(i)
    print("requests %d seconds %.3f" % (n, time.perf_counter() - start))


if __name__ == "__main__":
    main()
