"""Two leaks that module globals do not show directly, for the object graph: exceptions kept in a
global list hold their tracebacks, whose frames hold a Payload local each; a worker thread keeps
Jobs in a local list of its running function. Prints "ready" once both run."""
import threading
import time

ERRORS = []


class Payload:
    def __init__(self, n):
        self.n = n


class Job:
    def __init__(self, n):
        self.n = n


def handle(n):
    payload = Payload(n)  # noqa: F841 (kept alive by the traceback's frame)
    raise ValueError("bad request %d" % n)


def serve():
    n = 0
    while True:
        n += 1
        try:
            handle(n)
        except ValueError as e:
            ERRORS.append(e)
        time.sleep(0.002)


def work():
    pending = []
    n = 0
    while True:
        n += 1
        pending.append(Job(n))
        time.sleep(0.002)


def main():
    threading.Thread(target=work, name="worker", daemon=True).start()
    print("ready", flush=True)
    serve()


if __name__ == "__main__":
    main()
