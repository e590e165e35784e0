"""An HTTP service keeping each request's session in a module-level dict (the leak; `healthy`
after the port: nothing kept), beside per-request churn. GET /login?user=N. Prints "ready"."""
import http.server
import sys

SESSIONS = {}


def register(user):
    SESSIONS[user] = {"user": user, "token": "t" * 200 + user}


def check(user):
    return len({"user": user, "token": "t" * 200 + user})  # built and dropped: no leak


HEALTHY = False


def render(user):
    rows = [("row", i, user) for i in range(100)]  # churn: freed when the request ends
    return ("%d rows for %s" % (len(rows), user)).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        user = self.path.rsplit("=", 1)[-1]
        if HEALTHY:
            check(user)
        else:
            register(user)
        body = render(user)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    global HEALTHY
    HEALTHY = sys.argv[2:] == ["healthy"]
    server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
