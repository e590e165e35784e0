"""`leakhunt serve` and `leakhunt snapshot` against an attacker: a local user who squats the
agent's control socket (as another uid, or as the right pid naming files outside its directory,
a symlink, a FIFO, a file of root), slow and idle HTTP clients (slowloris) while /metrics must
still answer within 2 s, a second serve on a port in use, and bodies that must not show the
host's absolute paths. The tests run as root and play the attacker as user nobody (setpriv)."""
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import LEAKHUNT, Case, binary, free_port, run
from test_server import AGENT, http_get, record_dir_with_one_timeline, start_serve, stop

SETPRIV = shutil.which("setpriv")
SQUATTER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "squatter.py")
AS_NOBODY = [SETPRIV or "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
# The bound this file holds serve to: every scrape answered within it.
SCRAPE_BOUND_S = 2.0


def nobody_uid():
    import pwd
    return pwd.getpwnam("nobody").pw_uid


@unittest.skipUnless(SETPRIV and os.geteuid() == 0, "needs root and setpriv to play user nobody")
class Squatter(Case):
    def setUp(self):
        super().setUp()
        # A directory user nobody owns (the test's own directory is root's, mode 0700).
        self.nobody_dir = tempfile.mkdtemp(prefix="leakhunt-nobody-")
        os.chmod(self.nobody_dir, 0o755)
        os.chown(self.nobody_dir, nobody_uid(), -1)
        self.reply = os.path.join(self.nobody_dir, "reply")
        self.rec = self.path("rec")
        os.mkdir(self.rec)
        with open("/etc/shadow", "rb") as f:
            self.shadow = f.read()

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self.nobody_dir, ignore_errors=True)

    def squat(self, name_pid, reply, env=None):
        with open(self.reply, "w") as f:
            f.write(reply)
        os.chmod(self.reply, 0o644)
        p = subprocess.Popen(AS_NOBODY + ["python3", SQUATTER, str(name_pid), self.reply],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env=env, start_new_session=True)
        self.procs.append(p)
        self.assertEqual(p.stdout.readline().strip(), "ready")
        return p

    def set_reply(self, reply):
        with open(self.reply, "w") as f:
            f.write(reply)

    def assert_nothing_leaked(self, body):
        self.assertNotIn(self.shadow[:40], body)
        self.assertNotIn(b"/etc/shadow", body)
        self.assertNotIn(self.nobody_dir.encode(), body)

    def test_a_squatter_of_another_uid_is_not_trusted(self):
        # A root process without the agent; user nobody takes its agent's socket name.
        victim = subprocess.Popen(["sleep", "120"], start_new_session=True)
        self.procs.append(victim)
        sq = self.squat(victim.pid, "ok /etc/shadow")
        p, port = start_serve(["--dir", self.rec], self.procs)
        s, _, body = http_get(f"http://127.0.0.1:{port}/debug/pprof/heap?pid={victim.pid}")
        self.assertEqual(s, 404, body)
        self.assertIn(f"was opened by process {sq.pid} of user nobody (uid {nobody_uid()}), "
                      f"not by process {victim.pid}: its answer is not trusted".encode(), body)
        self.assert_nothing_leaked(body)
        r = run(["snapshot", str(victim.pid)], timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn(f"was opened by process {sq.pid} of user nobody", r.stderr)
        self.assertEqual(stop(p), 0)

    def test_the_right_pid_cannot_name_files_outside_its_snapshots(self):
        d = self.nobody_dir
        env = dict(os.environ, LEAKHUNT_OUT=d)
        sq = self.squat("self", "ok /etc/shadow", env=env)
        pid = sq.pid
        nobody = nobody_uid()
        os.symlink("/etc/shadow", os.path.join(d, f"heap.{pid}.0001.pb.gz"))
        os.lchown(os.path.join(d, f"heap.{pid}.0001.pb.gz"), nobody, -1)
        os.mkfifo(os.path.join(d, f"heap.{pid}.0002.pb.gz"))
        os.chown(os.path.join(d, f"heap.{pid}.0002.pb.gz"), nobody, -1)
        with open(os.path.join(d, f"heap.{pid}.0003.pb.gz"), "wb") as f:
            f.write(b"root's file")  # as a hard link to a file of root would be
        with open(os.path.join(d, f"heap.{pid}.0004.pb.gz"), "wb") as f:
            f.write(b"\x1f\x8bnobody's own snapshot")
        os.chown(os.path.join(d, f"heap.{pid}.0004.pb.gz"), nobody, -1)
        p, port = start_serve(["--dir", self.rec], self.procs)
        url = f"http://127.0.0.1:{port}/debug/pprof/heap?pid={pid}&symbolize=0"
        cases = [
            ("ok /etc/shadow", b"answered with a file that is not one of its snapshots"),
            (f"ok {d}/../../../../etc/shadow", b"not one of its snapshots"),
            (f"ok {d}/heap.{pid}.0001.pb.gz/../../../etc/shadow", b"not one of its snapshots"),
            (f"ok /etc/heap.{pid}.0001.pb.gz", b"not one of its snapshots"),
            (f"ok {d}/heap.{pid}.0001.pb.gz", f"refusing to read heap.{pid}.0001.pb.gz: it is "
                                              f"a symbolic link".encode()),
            (f"ok {d}/heap.{pid}.0002.pb.gz", f"refusing to read heap.{pid}.0002.pb.gz: not a "
                                              f"regular file".encode()),
            (f"ok {d}/heap.{pid}.0003.pb.gz", f"refusing to read heap.{pid}.0003.pb.gz: it "
                                              f"belongs to uid 0".encode()),
        ]
        for reply, message in cases:
            self.set_reply(reply)
            t = time.monotonic()
            s, _, body = http_get(url, timeout=20)
            self.assertLess(time.monotonic() - t, 5, reply)  # a FIFO must not block the reader
            self.assertEqual(s, 404, (reply, body))
            self.assertIn(message, body, reply)
            self.assert_nothing_leaked(body)
            self.assertNotIn(b"root's file", body)
        # The same peer naming its own regular file in its directory is served, as an agent is.
        self.set_reply(f"ok {d}/heap.{pid}.0004.pb.gz")
        s, h, body = http_get(url)
        self.assertEqual(s, 200, body)
        self.assertEqual(body, b"\x1f\x8bnobody's own snapshot")
        self.assertEqual(h["X-Leakhunt-Snapshot"], f"heap.{pid}.0004.pb.gz")
        # `snapshot` refuses the same answers.
        self.set_reply("ok /etc/shadow")
        r = run(["snapshot", str(pid)], timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("not one of its snapshots", r.stderr)
        self.assertEqual(stop(p), 0)

    def test_an_agent_that_never_answers_holds_at_most_half_the_workers(self):
        sq = self.squat("self", "silent")
        p, port = start_serve(["--dir", self.rec], self.procs)
        base = f"http://127.0.0.1:{port}"
        waiting = []
        for _ in range(8):  # as many as serve has workers
            c = socket.create_connection(("127.0.0.1", port))
            self.addCleanup(c.close)
            c.sendall(f"GET /debug/pprof/heap?pid={sq.pid} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            waiting.append(c)
        time.sleep(0.5)
        for _ in range(4):
            t = time.monotonic()
            s, _, body = http_get(base + "/metrics", timeout=10)
            self.assertEqual(s, 200)
            self.assertLess(time.monotonic() - t, SCRAPE_BOUND_S)
        # Four wait for the agent (10 s each); the others were told to come back.
        answers = []
        for c in waiting:
            c.settimeout(0.2)
            try:
                answers.append(c.recv(200).split(b"\r\n")[0])
            except socket.timeout:
                answers.append(b"waiting")
        self.assertEqual(sorted(answers), [b"HTTP/1.1 503 Service Unavailable"] * 4
                         + [b"waiting"] * 4)
        os.killpg(sq.pid, signal.SIGKILL)  # its connections close: the four waits end
        sq.wait()
        self.assertEqual(stop(p), 0)

    def test_snapshot_as_another_user_says_who_may_ask(self):
        env = dict(os.environ, LD_PRELOAD=AGENT, LEAKHUNT_OUT=self.rec)
        v = subprocess.Popen([binary("victim_leak"), "--rate", "1M"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env,
                             start_new_session=True)
        self.procs.append(v)
        self.assertEqual(v.stdout.readline().strip(), "ready")
        r = subprocess.run(AS_NOBODY + [LEAKHUNT, "snapshot", str(v.pid)], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stderr.strip(),
                         f"leakhunt: error: process {v.pid} runs as user root (uid 0): only root "
                         f"may ask its agent for a snapshot, and this is user nobody (uid "
                         f"{nobody_uid()}); run leakhunt as root (sudo leakhunt ...)")
        # Root may: the agent answers with its snapshot.
        r = run(["snapshot", str(v.pid)], timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.strip(), rf"^{self.rec}/heap\.{v.pid}\.\d{{4}}\.pb\.gz$")


class SlowClients(Case):
    def test_metrics_answer_within_the_bound_under_slowloris_and_idle_connections(self):
        rec = self.path("rec")
        os.mkdir(rec)
        p, port = start_serve(["--dir", rec], self.procs)

        def connect(source="127.0.0.1"):
            c = socket.socket()
            c.bind((source, 0))
            c.connect(("127.0.0.1", port))
            self.addCleanup(c.close)
            return c

        # From the scraper's own address: 10 that trickle a header line every 2 s, 8 idle ones;
        # from another: 40 idle ones, more than one client may hold.
        start = time.monotonic()
        trickling = [connect() for _ in range(10)]
        for c in trickling:
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        idle = [connect() for _ in range(8)] + [connect("127.0.0.2") for _ in range(40)]
        closed_at = {}
        worst = 0.0
        scrapes = 0
        next_line = start + 2
        while time.monotonic() - start < 12:
            t = time.monotonic()
            s, _, body = http_get(f"http://127.0.0.1:{port}/metrics", timeout=10)
            took = time.monotonic() - t
            worst = max(worst, took)
            scrapes += 1
            self.assertEqual(s, 200)
            self.assertIn(b"leakhunt_build_info", body)
            if time.monotonic() >= next_line:
                next_line += 2
                for i, c in enumerate(trickling):
                    if i in closed_at:
                        continue
                    try:
                        c.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        closed_at[i] = time.monotonic() - start
            for i, c in enumerate(trickling):
                if i not in closed_at and select.select([c], [], [], 0)[0]:
                    try:
                        data = c.recv(100)
                    except OSError:
                        data = b""
                    if not data:
                        closed_at[i] = time.monotonic() - start
            time.sleep(0.25)
        print(f"\n{scrapes} scrapes under slowloris, slowest {worst:.3f} s", flush=True)
        self.assertLess(worst, SCRAPE_BOUND_S, f"slowest of {scrapes} scrapes")
        self.assertGreaterEqual(scrapes, 10)
        # Every trickler was dropped once its head was 5 s late (a send every 2 s notices it).
        self.assertEqual(sorted(closed_at), list(range(10)))
        for i, t in closed_at.items():
            self.assertGreater(t, 4.5, i)
            self.assertLess(t, 9, i)
        self.assertEqual(stop(p), 0)

    def test_a_second_serve_on_a_port_in_use_exits_1(self):
        port = free_port()
        first = subprocess.Popen([LEAKHUNT, "serve", "--listen", f"127.0.0.1:{port}", "--dir",
                                  self.dir], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        self.procs.append(first)
        self.assertIn("listening on", first.stdout.readline())
        r = run(["serve", "--listen", f"127.0.0.1:{port}", "--dir", self.dir], timeout=20)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.strip(),
                         f"leakhunt: error: cannot listen on 127.0.0.1:{port}: address already in "
                         f"use: the port is in use, by another `leakhunt serve` or another "
                         f"program (see `ss -ltnp`); choose another with --listen HOST:PORT")
        # The first one still answers every request (no sharing of the port).
        for _ in range(6):
            self.assertEqual(http_get(f"http://127.0.0.1:{port}/metrics")[0], 200)
        self.assertEqual(stop(first), 0)


class HostPaths(Case):
    def test_bodies_without_a_token_show_no_absolute_paths(self):
        rec = record_dir_with_one_timeline(self.path("rec"))
        db = self.path("none.db")
        token = self.path("token")
        with open(token, "w") as f:
            f.write("s3cret\n")
        p, port = start_serve(["--dir", rec, "--db", db, "--token-file", token], self.procs)
        base = f"http://127.0.0.1:{port}"
        bodies = {}
        for path in ("/", "/endpoints", "/api/targets.json", "/api/report.json?dir=0&pid=4242",
                     "/api/report.json?dir=0&pid=1", "/files/0/nonexistent", "/live?dir=0&pid=1",
                     f"/debug/pprof/heap?pid={os.getpid()}"):
            s, _, body = http_get(base + path)
            bodies[path] = (s, body)
            self.assertNotIn(self.dir.encode(), body, path)
        self.assertEqual(bodies["/api/targets.json"][0], 200)
        self.assertIn(b'"source_path":"rec"', bodies["/api/targets.json"][1])
        self.assertEqual(bodies[f"/debug/pprof/heap?pid={os.getpid()}"][0], 401)
        # With the token, the owner of the server sees where the files are.
        s, _, body = http_get(base + "/api/targets.json", {"Authorization": "Bearer s3cret"})
        self.assertEqual(s, 200)
        self.assertIn(rec.encode(), body)
        self.assertEqual(stop(p), 0)


if __name__ == "__main__":
    unittest.main()
