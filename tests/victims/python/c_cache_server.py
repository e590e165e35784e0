"""An HTTP service whose quotes are cached by a C library called through ctypes
(libquote_cache.so, quote_cache.c): cache_quote mallocs 2 KiB per request and never frees it,
which tracemalloc cannot see; beside it healthy churn on both sides (Python rows freed when the
request ends, a C scratch buffer freed at once). GET /login?user=N.
Usage: c_cache_server.py LIBRARY PORT [REQUESTS]: prints "ready" once it listens; with REQUESTS,
prints "served REQUESTS" after that many and exits with status 7 (a status of its own, for the
test to tell from a recorder's)."""
import ctypes
import http.server
import sys

LIB = ctypes.CDLL(sys.argv[1])
LIB.cache_quote.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
LIB.cache_quote.restype = ctypes.c_size_t
LIB.checksum.argtypes = [ctypes.c_char_p]
LIB.checksum.restype = ctypes.c_uint


def quote(user):
    LIB.cache_quote(user.encode(), 2048)  # the leak, in C
    rows = [("row", i, user) for i in range(100)]  # churn: freed when the request ends
    return ("%d rows for %s, sum %d" % (len(rows), user, LIB.checksum(user.encode()))).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    served = 0

    def do_GET(self):
        body = quote(self.path.rsplit("=", 1)[-1])
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        Handler.served += 1

    def log_message(self, *args):
        pass


def main():
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
    print("ready", flush=True)
    while limit == 0 or Handler.served < limit:
        server.handle_request()
    server.server_close()
    print("served", Handler.served, flush=True)
    sys.exit(7)


if __name__ == "__main__":
    main()
