#!/usr/bin/env python3
"""A Python "request handler" loop that leaks: every tick it handles a few fake requests,
building and dropping temporary dicts, lists and strings (churn), and appends one record per
request to a module-level list that is never trimmed (the leak: an audit log kept forever).
Used by scripts/record_trace.py to make tests/data/traces/python_leak.csv.
Flags: --tick-ms (default 10), --record-bytes (default 1500 per request), --seconds (0 = forever).
"""
import argparse, os, random, time

AUDIT_LOG = []  # the leak: one entry per request, never removed


def handle(request_id, record_bytes):
    headers = {f"x-header-{i}": os.urandom(16).hex() for i in range(12)}
    rows = [{"id": i, "name": f"user-{request_id}-{i}", "score": random.random()} for i in range(50)]
    body = ",".join(f"{r['id']}:{r['name']}:{r['score']:.3f}" for r in rows)
    AUDIT_LOG.append({"id": request_id, "path": f"/session?user={request_id}",
                      "payload": os.urandom(record_bytes // 2).hex(), "headers": len(headers)})
    return len(body)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tick-ms", type=float, default=10)
    parser.add_argument("--record-bytes", type=int, default=1500)
    parser.add_argument("--seconds", type=float, default=0)
    args = parser.parse_args()
    start = time.monotonic()
    request_id = 0
    while args.seconds == 0 or time.monotonic() - start < args.seconds:
        for _ in range(2):
            request_id += 1
            handle(request_id, args.record_bytes)
        time.sleep(args.tick_ms / 1000)


if __name__ == "__main__":
    main()
