"""A worker thread holds the GIL in one long C call (a regular expression that backtracks for
tens of seconds, never releasing it) while the main thread waits for it; then prints "done" and
goes on sleeping. Prints "ready" as the worker starts."""
import re
import sys
import threading
import time


def hog():
    re.match(r"(a+)+b", "a" * int(sys.argv[1]))


print("ready", flush=True)  # first: once the worker runs, the main thread waits for the GIL
worker = threading.Thread(target=hog)
worker.start()
worker.join()
print("done", flush=True)
while True:
    time.sleep(1)
