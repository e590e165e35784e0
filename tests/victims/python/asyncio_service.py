"""An asyncio HTTP/1.0 service (GET /login?user=N, one request per connection) with one leak
per mode, beside healthy churn (a per-request row list freed when the request ends):
  buffers each connection's buffer is kept in the module-level dict BUFFERS under its number and
          never removed when the connection closes;
  errors  each request's parse fails, and the caught exception is kept in the module-level list
          FAILED: its traceback keeps parse's frame, and the frame its local `payload`;
  healthy the same work, the buffer removed when its connection closes, no exception kept.
Every mode starts an audit task per request, discarded from AUDITS when done.
Usage: asyncio_service.py MODE PORT. Prints "ready" once it listens."""
import asyncio
import sys

AUDITS = set()
BUFFERS = {}
FAILED = []
CONNECTIONS = 0


class Payload:
    def __init__(self, user, raw):
        self.user = user
        self.raw = raw


def parse(user):
    payload = Payload(user, user.encode() * 200)  # kept by the traceback below in `errors`
    if not user.startswith("ok"):
        raise ValueError("unknown user %s" % user)
    return payload


async def audit(user):
    await asyncio.sleep(0)
    return len(user)


def handle(mode, user):
    task = asyncio.ensure_future(audit(user))
    AUDITS.add(task)
    task.add_done_callback(AUDITS.discard)
    try:
        parse(user)
    except ValueError as e:
        if mode == "errors":
            FAILED.append(e)  # the leak: the traceback keeps parse's frame
    return render(user)


def render(user):
    rows = [("row", i, user) for i in range(100)]  # churn: freed when the request ends
    return ("%d rows for %s" % (len(rows), user)).encode()


async def serve(mode, reader, writer):
    global CONNECTIONS
    CONNECTIONS += 1
    number = CONNECTIONS
    BUFFERS[number] = bytearray(1024)  # the connection's buffer
    try:
        request = await reader.readline()
        BUFFERS[number][: len(request)] = request
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        path = request.split(b" ")[1].decode() if request.count(b" ") >= 2 else "/"
        body = handle(mode, path.rsplit("=", 1)[-1])
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
    finally:
        writer.close()
        if mode != "buffers":
            del BUFFERS[number]  # what `buffers` forgets


async def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    server = await asyncio.start_server(lambda r, w: serve(mode, r, w), "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
