"""An HTTP service whose handler keeps every request's session in a module-level dict (the leak),
beside healthy per-request churn. GET /login?user=N. Prints "ready" once it listens."""
import http.server
import sys

SESSIONS = {}


def register(user):
    SESSIONS[user] = {"user": user, "token": "t" * 200 + user}


def render(user):
    rows = [("row", i, user) for i in range(100)]  # churn: freed when the request ends
    return ("%d rows for %s" % (len(rows), user)).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        user = self.path.rsplit("=", 1)[-1]
        register(user)
        body = render(user)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
