"""A worker thread holds the GIL in one long C call (a regular expression that backtracks for
tens of seconds, never releasing it) while the main thread waits for it; then prints "done" and
goes on sleeping. Prints "ready" once the worker runs."""
import re
import sys
import threading
import time


def hog():
    re.match(r"(a+)+b", "a" * int(sys.argv[1]))


worker = threading.Thread(target=hog)
worker.start()
time.sleep(0.2)
print("ready", flush=True)
worker.join()
print("done", flush=True)
while True:
    time.sleep(1)
