"""A daemon-like program for the agent tests: closes every descriptor at start (taking the
agent's eventfd and control socket with it), then opens its own listening socket and 800 files,
likely on the numbers the agent used, allocates, waits, and checks that nobody connected to its
socket. Prints "ok"."""
import os, socket, time, sys
# A daemon-like program: close every descriptor, then open its own listening socket and files
# (likely reusing the agent's numbers), allocate, and make sure nobody else touches them.
for fd in range(3, 2048):
    try: os.close(fd)
    except OSError: pass
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
files = [open("/dev/null", "w") for _ in range(800)]
data = [bytes(1000) for _ in range(20000)]
time.sleep(1.5)
s.setblocking(False)
try:
    s.accept(); print("unexpected connection")
except BlockingIOError:
    print("ok")
