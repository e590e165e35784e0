"""record on CPython (Debian's /usr/bin/python3): tracemalloc started by the bootstrap in front of a
program (`record -- python3 ...`) or injected into a running one through gdb (`record --pid`);
suspects names the leaking line first and nothing for a healthy service; the snapshot equals
tracemalloc's own statistics; the program's output and exit status are unchanged."""
import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

PYTHON = "/usr/bin/python3"  # Debian's, not a pyenv shim on PATH
VICTIMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../victims/python")


def victim(name):
    return os.path.join(VICTIMS, name)


class Load:
    """GET /login?user=N against a local port from a thread until stopped."""

    def __init__(self, port):
        self.port, self.stop, self.n = port, threading.Event(), 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/login?user=u%d" % (self.port, self.n),
                                       timeout=2).read()
                self.n += 1
            except OSError:
                time.sleep(0.05)
            time.sleep(0.002)

    def end(self):
        self.stop.set()
        self.thread.join()


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/login?user=warm" % port, timeout=1).read()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("port %d never answered" % port)


class PythonRecord(harness.Case):
    def suspects(self, out):
        r = harness.run(["suspects", out, "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        return [s for s in harness.json_lines(r.stdout) if s.get("rank") is not None]

    def assert_named_first(self, ranked, function, file_name):
        self.assertTrue(ranked, "no suspect ranked")
        first = ranked[0]
        self.assertEqual(first["function"], function, ranked[:3])
        self.assertEqual(os.path.basename(first["file"]), file_name)
        self.assertEqual(first["shape"], "steady growth")

    def record_server(self, extra_args):
        port = harness.free_port()
        out = self.path("rec")
        p = subprocess.Popen([harness.LEAKHUNT, "record", "-o", out, "--snapshot-every", "1s",
                              "--duration", "7s", "--", PYTHON, victim("registry_server.py"),
                              str(port)] + extra_args,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        self.assertEqual(p.stdout.readline().strip(), "ready")
        wait_port(port)
        load = Load(port)
        _, err = p.communicate(timeout=60)
        load.end()
        return p.returncode, out, err

    def test_registry_server_started(self):
        code, out, err = self.record_server([])
        # --duration stops the program with SIGTERM: its own status, 128 + 15.
        self.assertEqual(code, 128 + signal.SIGTERM, err)
        self.assert_named_first(self.suspects(out), "register", "registry_server.py")
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual(manifest["runtime"], "python")
        self.assertEqual(manifest["capture"], "tracemalloc")
        # go tool pprof's view, through top: the site's name as Python's.
        snaps = sorted(glob.glob(os.path.join(out, "heap.*.pb.gz")))
        r = harness.run(["top", "--json", snaps[-1]])
        names = [row["name"] for row in harness.json_lines(r.stdout)]
        self.assertIn("register", [row["function"] for row in harness.json_lines(r.stdout)], names)
        timeline = glob.glob(os.path.join(out, "timeline.*.csv"))[0]
        with open(timeline) as f:
            header = f.readline().strip().split(",")
        for column in ("traced_bytes", "traced_peak_bytes", "gc_objects", "gc_gen2_collections"):
            self.assertIn(column, header)

    def test_lru_cache_started(self):
        out = self.path("rec")
        r = harness.run(["record", "-o", out, "--snapshot-every", "1s", "--", PYTHON,
                         victim("loop_service.py"), "lru", "6"], timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "ready\nserved many\n")
        ranked = self.suspects(out)
        self.assert_named_first(ranked, "price_quote", "loop_service.py")
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertTrue(manifest["exit_snapshot"].endswith(".pb.gz"))

    def test_healthy_started(self):
        out = self.path("rec")
        r = harness.run(["record", "-o", out, "--snapshot-every", "1s", "--", PYTHON,
                         victim("loop_service.py"), "healthy", "6"], timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.suspects(out), [])

    def attach(self, argv, duration="6s"):
        p = self.start(argv)
        out = self.path("rec")
        r = harness.run(["record", "--pid", str(p.pid), "-o", out, "--snapshot-every", "1s",
                         "--duration", duration], timeout=120)
        return p, out, r

    def test_registry_server_attached(self):
        port = harness.free_port()
        p = self.start([PYTHON, victim("registry_server.py"), str(port)])
        wait_port(port)
        load = Load(port)
        out = self.path("rec")
        r = harness.run(["record", "--pid", str(p.pid), "-o", out, "--snapshot-every", "1s",
                         "--duration", "7s"], timeout=120)
        load.end()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("tracemalloc stopped in pid", r.stderr)
        self.assertIsNone(p.poll(), "the target died")
        self.assert_named_first(self.suspects(out), "register", "registry_server.py")
        # It still serves after the detach.
        self.assertEqual(urllib.request.urlopen("http://127.0.0.1:%d/login?user=after" % port,
                                                timeout=5).read(), b"100 rows for after")

    def test_lru_attached_while_sleeping(self):
        # The main thread sleeps in time.sleep (a C call) most of the time.
        p, out, r = self.attach([PYTHON, victim("loop_service.py"), "lru", "0"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(p.poll())
        self.assert_named_first(self.suspects(out), "price_quote", "loop_service.py")

    def test_healthy_attached(self):
        p, out, r = self.attach([PYTHON, victim("loop_service.py"), "healthy", "0"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.suspects(out), [])
        self.assertIsNone(p.poll())

    def test_snapshot_equals_tracemalloc_statistics(self):
        # The bootstrap also dumps Snapshot.statistics('lineno') of the same snapshot object.
        out, dumps = self.path("rec"), self.path("lineno")
        os.mkdir(dumps)
        r = harness.run(["record", "-o", out, "--snapshot-every", "1s", "--count", "2", "--",
                         PYTHON, victim("loop_service.py"), "lru", "30"],
                        env={"LEAKHUNT_PYTRACE_TEST_LINENO": dumps}, timeout=90)
        self.assertEqual(r.returncode, 128 + signal.SIGTERM, r.stderr)
        kept = [f for f in glob.glob(os.path.join(dumps, "lineno.*")) if not f.endswith("exit")]
        self.assertTrue(kept, r.stderr)
        with open(sorted(kept)[0]) as f:
            rows = json.load(f)
        seq = sorted(kept)[0].rsplit(".", 1)[-1]
        snap = os.path.join(out, sorted(glob.glob(os.path.join(out, "heap.*.pb.gz")))[int(seq) - 1])
        top = harness.run(["top", "--by", "line", "--top", "0", "--json", snap])
        ours = {}
        for row in harness.json_lines(top.stdout):
            ours[(row["file"], row["line"])] = (row["inuse_bytes"], row["inuse_objects"])
        theirs = {(f, line): (size, count) for f, line, size, count in rows if size or count}
        self.assertEqual(ours, theirs)

    def test_output_and_status_unchanged(self):
        cases = [
            [victim("echo_program.py"), "3", "a b"],
            [victim("echo_program.py"), "0", "raise"],
            ["./echo_program.py", "5", "relative"],
            ["-c", "import sys; print(sys.argv, __name__); sys.exit(4)", "x"],
            ["-u", "-m", "json.tool", "--help"],
        ]
        for args in cases:
            with self.subTest(args=args):
                plain = subprocess.run([PYTHON] + args, capture_output=True, text=True,
                                       cwd=VICTIMS, stdin=subprocess.DEVNULL)
                out = self.path("rec-%d" % cases.index(args))
                ours = subprocess.run([harness.LEAKHUNT, "record", "-o", out, "--"] +
                                      [PYTHON] + args, capture_output=True, text=True,
                                      cwd=VICTIMS, stdin=subprocess.DEVNULL)
                self.assertEqual(ours.stdout, plain.stdout)
                self.assertEqual(ours.returncode, plain.returncode, ours.stderr)
                theirs = [l for l in ours.stderr.splitlines() if not l.startswith("leakhunt:")]
                self.assertEqual(theirs, plain.stderr.splitlines())

    def test_attach_while_another_thread_holds_the_gil(self):
        # The injected call waits for the GIL; gdb is interrupted at the timeout, the call is
        # unwound, and the target goes on as before: never killed, never left stopped.
        p = self.start([PYTHON, victim("gil_holder.py"), "32"])  # minutes of backtracking
        r = harness.run(["record", "--pid", str(p.pid), "-o", self.path("rec"), "--duration",
                         "2s"], env={"LEAKHUNT_PYTHON_ATTACH_TIMEOUT": "8s"}, timeout=120)
        self.assertEqual(r.returncode, 1, r.stderr)
        errors = [l for l in r.stderr.splitlines() if l.startswith("leakhunt: error:")]
        self.assertEqual(len(errors), 1, r.stderr)
        self.assertIn("timed out after 8 s", errors[0])
        self.assertIsNone(p.poll())
        with open("/proc/%d/stat" % p.pid) as f:
            self.assertIn(f.read().rsplit(")", 1)[1].split()[0], ("R", "S"))

    def test_attach_to_non_python(self):
        p = self.start(["sh", "-c", "echo ready; exec sleep 60"])
        r = harness.run(["record", "--runtime", "python", "--pid", str(p.pid), "-o",
                         self.path("rec"), "--duration", "2s"])
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("is not a CPython interpreter", lines[0])
        self.assertIsNone(p.poll())

    def test_attach_to_process_that_exits(self):
        # Gone before gdb gets to it, or during the attach: one message, no crash.
        p = subprocess.Popen([PYTHON, "-c", "import time; time.sleep(0.3)"])
        self.procs.append(p)
        time.sleep(0.1)
        r = harness.run(["record", "--pid", str(p.pid), "-o", self.path("rec"),
                         "--duration", "2s"])
        self.assertEqual(r.returncode, 1, r.stderr)
        errors = [l for l in r.stderr.splitlines() if l.startswith("leakhunt: error:")]
        self.assertEqual(len(errors), 1, r.stderr)
        self.assertRegex(errors[0], "exited|no process")


if __name__ == "__main__":
    unittest.main()
