"""record on CPython (Debian's /usr/bin/python3): tracemalloc started by the bootstrap in front of a
program (`record -- python3 ...`) or injected into a running one through gdb (`record --pid`);
suspects names the leaking line first and nothing for a healthy service; the snapshot equals
tracemalloc's own statistics; the program's output and exit status are unchanged. The object graph
(.pygraph, `--heap-snapshots`, `snapshot PID --heap`): its counts per type equal gc.get_objects()
of the same moment, and `paths` names the module global or the lru_cache that holds a leak."""
import glob
import http.client
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
    """GET /login?user=N against a local port from a thread until stopped: as fast as it goes, or
    paced at `rate` requests a second (request k is sent at k / rate seconds, at once when
    behind), so that each snapshot interval sees about the same requests on a loaded host as on
    a quiet one."""

    def __init__(self, port, rate=None):
        self.port, self.stop, self.n, self.rate = port, threading.Event(), 0, rate
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        began = time.monotonic()
        while not self.stop.is_set():
            if self.rate:
                ahead = began + self.n / self.rate - time.monotonic()
                if ahead > 0 and self.stop.wait(ahead):
                    return
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/login?user=u%d" % (self.port, self.n),
                                       timeout=2).read()
                self.n += 1
            except (OSError, http.client.HTTPException):  # refused, or cut off by its end
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


def record_under_load(case, args, port):
    """`leakhunt record ARGS` of a service (started with `-- ...`) that prints "ready" and listens
    on `port`, under Load until the recording ends; returns (status, the rest of its stdout,
    stderr)."""
    p = subprocess.Popen([harness.LEAKHUNT, "record"] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    case.procs.append(p)
    case.assertEqual(p.stdout.readline(), "ready\n")
    wait_port(port)
    load = Load(port)
    rest, err = p.communicate(timeout=180)
    load.end()
    return p.returncode, rest, err


def ranked(out):
    """The ranked suspects of `suspects --json` for a record directory."""
    r = harness.run(["suspects", out, "--json"])
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    return [s for s in harness.json_lines(r.stdout) if s.get("rank") is not None]


def named(found):
    """(function, file, line, first and last value) of each ranked suspect."""
    return [(s["function"], s["file"], s["line"], s["first"], s["last"]) for s in found]


def record_attached_under_load(case, argv, port):
    """`record --pid` for 7 s of a service started from argv (listening on port) under Load;
    returns (the service, the record directory, record's result, the Load)."""
    p = case.start(argv)
    wait_port(port)
    load = Load(port)
    out = case.path("rec")
    r = harness.run(["record", "--pid", str(p.pid), "-o", out, "--snapshot-every", "1s",
                     "--duration", "7s"], timeout=120)
    load.end()
    case.assertEqual(r.returncode, 0, r.stderr)
    return p, out, r, load


def assert_healthy_attached(case, argv, port):
    """`record --pid` of a healthy service under Load ranks no suspect; the service lives on."""
    p, out, _, load = record_attached_under_load(case, argv, port)
    case.assertGreater(load.n, 50)
    case.assertEqual(named(ranked(out)), [])
    case.assertIsNone(p.poll(), "the target died")


class PythonRecord(harness.Case):
    def suspects(self, out):
        return ranked(out)

    def assert_named_first(self, ranked, function, file_name):
        self.assertTrue(ranked, "no suspect ranked")
        first = ranked[0]
        self.assertEqual(first["function"], function, ranked[:3])
        self.assertEqual(os.path.basename(first["file"]), file_name)
        self.assertEqual(first["shape"], "steady growth")

    def record_server(self, extra_args):
        port = harness.free_port()
        out = self.path("rec")
        code, _, err = record_under_load(
            self, ["-o", out, "--snapshot-every", "1s", "--duration", "7s", "--", PYTHON,
                   victim("registry_server.py"), str(port)] + extra_args, port)
        return code, out, err

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
        self.assertEqual(named(self.suspects(out)), [])

    def test_healthy_http_server_started(self):
        # CPython's type attribute cache keeps each request's 'do_GET' name (http/server.py) and
        # the "struct_time" name datetime.timetuple looks up (email/utils.py) until its 4096
        # slots are taken: the bootstrap empties it before each snapshot, so nothing fills in.
        code, out, err = self.record_server(["healthy"])
        self.assertEqual(code, 128 + signal.SIGTERM, err)
        self.assertEqual(named(self.suspects(out)), [])

    def test_healthy_http_server_attached(self):
        port = harness.free_port()
        assert_healthy_attached(self, [PYTHON, victim("registry_server.py"), str(port), "healthy"],
                                port)

    def attach(self, argv, duration="6s"):
        p = self.start(argv)
        out = self.path("rec")
        r = harness.run(["record", "--pid", str(p.pid), "-o", out, "--snapshot-every", "1s",
                         "--duration", duration], timeout=120)
        return p, out, r

    def test_registry_server_attached(self):
        port = harness.free_port()
        p, out, r, _ = record_attached_under_load(
            self, [PYTHON, victim("registry_server.py"), str(port)], port)
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
        self.assertEqual(named(self.suspects(out)), [])
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


class PythonNative(harness.Case):
    """record --native: the native agent in the interpreter beside tracemalloc, into OUT/native.
    The victim leaks 2 KiB per request in C (cache_quote in quote_cache.c, through ctypes), which
    tracemalloc cannot see; its Python side only churns."""

    LIB = os.path.join(os.path.dirname(os.path.abspath(harness.BIN)), "lib", "libquote_cache.so")

    def assert_c_leak_found(self, out):
        native = os.path.join(out, "native")
        with open(os.path.join(native, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual(manifest["runtime"], "native")
        with open(os.path.join(out, "manifest.json")) as f:
            self.assertEqual(json.load(f)["extra"]["native"], "native")
        found = ranked(native)
        self.assertTrue(found, "no native suspect")
        self.assertEqual(found[0]["function"], "cache_quote", found[:3])
        self.assertEqual(os.path.basename(found[0]["file"]), "quote_cache.c")
        self.assertEqual(found[0]["shape"], "steady growth")
        # The scratch buffer of checksum is freed at once: never a suspect.
        self.assertNotIn("checksum", [s["function"] for s in found])
        # The Python view does not see the C leak: none of its suspects is the service's code,
        # and what it ranks grows at a small fraction of the C leak's rate. (http.server's
        # `'do_' + self.command` does grow slowly there: CPython 3.11's method cache keeps up to
        # 4096 attribute-name strings alive, each a new "do_GET" here; bounded, but steady over
        # seconds.) It points to the native part.
        python = ranked(out)
        self.assertEqual([s for s in python if s["file"].endswith("c_cache_server.py")], [],
                         python)
        self.assertGreater(found[0]["growth_bytes_per_hour"],
                           10 * sum(s["growth_bytes_per_hour"] for s in python))
        text = harness.run(["suspects", out])
        self.assertIn("recorded beside it: leakhunt suspects %s" % native, text.stdout)
        report = harness.run(["report", out, "-o", self.path("report.html")])
        self.assertEqual(report.returncode, 0, report.stderr)
        self.assertIn("  native   %s (" % native, report.stdout)

    def test_c_leak_started(self):
        self.assertTrue(os.path.isfile(self.LIB), self.LIB)
        port = harness.free_port()
        out = self.path("rec")
        # Under load for the whole recording: --duration stops the program (after a last
        # snapshot of each kind), as a service that leaks to its end.
        code, rest, err = record_under_load(
            self, ["--native", "--all", "-o", out, "--snapshot-every", "1s", "--duration", "8s",
                   "--", PYTHON, victim("c_cache_server.py"), self.LIB, str(port)], port)
        self.assertEqual(code, 128 + signal.SIGTERM, err)
        self.assertEqual(rest, "")
        self.assertIn("the interpreter's native memory: leakhunt suspects", err)
        self.assert_c_leak_found(out)

    def test_c_leak_output_and_status_unchanged(self):
        # Run to its own end (20 requests): the same stdout, stderr and status as without us.
        def run(prefix):
            port = harness.free_port()
            p = subprocess.Popen(prefix + [PYTHON, victim("c_cache_server.py"), self.LIB,
                                           str(port), "20"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.procs.append(p)
            self.assertEqual(p.stdout.readline(), "ready\n")
            for i in range(20):
                urllib.request.urlopen("http://127.0.0.1:%d/login?user=u%d" % (port, i),
                                       timeout=10).read()
            rest, err = p.communicate(timeout=120)
            return p.returncode, rest, err
        plain = run([])
        self.assertEqual(plain, (7, "served 20\n", ""))
        out = self.path("rec")
        code, rest, err = run([harness.LEAKHUNT, "record", "--native", "--all", "-o", out, "--"])
        self.assertEqual((code, rest), plain[:2], err)
        self.assertEqual([l for l in err.splitlines() if not l.startswith("leakhunt:")], [], err)
        # The agent's exit snapshot is the native manifest's.
        with open(os.path.join(out, "native", "manifest.json")) as f:
            self.assertTrue(json.load(f)["exit_snapshot"].endswith(".pb.gz"))

    def test_c_leak_attached(self):
        port = harness.free_port()
        p = self.start([PYTHON, victim("c_cache_server.py"), self.LIB, str(port)])
        wait_port(port)
        load = Load(port)
        out = self.path("rec")
        r = harness.run(["record", "--pid", str(p.pid), "--native", "--all", "-o", out,
                         "--snapshot-every", "1s", "--duration", "7s"], timeout=180)
        load.end()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("tracemalloc stopped in pid", r.stderr)
        self.assertIn("detached: the program runs on unchanged", r.stderr)
        self.assertIsNone(p.poll(), "the target died")
        with open(os.path.join(out, "native", "manifest.json")) as f:
            self.assertEqual(json.load(f)["capture"], "agent-attach")
        self.assert_c_leak_found(out)
        # It still serves after both detached.
        body = urllib.request.urlopen("http://127.0.0.1:%d/login?user=after" % port,
                                      timeout=5).read()
        self.assertTrue(body.startswith(b"100 rows for after, sum "), body)
        self.assertIsNone(p.poll())
        # The agent can be attached once: a second --native is refused by its checks, before the
        # bootstrap is injected (nothing is written, nothing started in the process).
        again = self.path("again")
        r = harness.run(["record", "--pid", str(p.pid), "--native", "-o", again, "--duration",
                         "2s"], timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("detached by an earlier `record --pid`", r.stderr)
        self.assertEqual(os.listdir(again), [])
        self.assertEqual(len(os.listdir("/proc/%d/task" % p.pid)), 1)
        self.assertIsNone(p.poll())

    def test_native_refused_where_it_does_not_apply(self):
        cases = [
            (["--runtime", "native", "--", "true"], "native already: drop --native"),
            (["--runtime", "java", "--", "true"], "a java program's native memory is recorded "
                                                  "with --runtime native"),
            (["--pprof-url", "http://127.0.0.1:1/debug/pprof/heap"],
             "--native configures the agent and does not apply to --pprof-url"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                r = harness.run(["record", "--native", "-o", self.path("rec")] + args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(message, r.stderr)
        # A running program that is not Python: nothing is done to it.
        p = self.start(["sh", "-c", "echo ready; exec sleep 60"])
        r = harness.run(["record", "--native", "--pid", str(p.pid), "-o", self.path("rec")])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("process (sleep) is native already", r.stderr)
        self.assertIsNone(p.poll())
        with open("/proc/%d/maps" % p.pid) as f:
            self.assertNotIn("libleakhunt_agent", f.read())


def line_of(path, marker):
    """The number of the one line of `path` that contains `marker` (the oracle for suspects)."""
    with open(path) as f:
        found = [n for n, text in enumerate(f, 1) if marker in text]
    assert len(found) == 1, (marker, found)
    return found[0]


class PythonAsyncioPatterns(harness.Case):
    """An asyncio service (asyncio_service.py) leaking per connection into a module-level dict
    (`buffers`), or through tracebacks kept in a module-level list (`errors`), or not at all
    (`healthy`): suspects names the leaking line first (started and attached), and the object
    graph's paths name the holding global."""

    SERVICE = victim("asyncio_service.py")
    LEAKS = {
        "buffers": ("serve", "BUFFERS[number] = bytearray(1024)"),
        "errors": ("parse", "payload = Payload(user, user.encode() * 200)"),
    }

    def assert_leak_first(self, out, mode):
        function, marker = self.LEAKS[mode]
        found = ranked(out)
        self.assertTrue(found, "no suspect")
        first = found[0]
        self.assertEqual((first["function"], first["file"], first["line"]),
                         (function, self.SERVICE, line_of(self.SERVICE, marker)), found[:3])
        self.assertEqual(first["shape"], "steady growth")

    def record_started(self, mode):
        port = harness.free_port()
        out = self.path("rec-" + mode)
        code, _, err = record_under_load(
            self, ["-o", out, "--snapshot-every", "1s", "--duration", "7s", "--", PYTHON,
                   self.SERVICE, mode, str(port)], port)
        self.assertEqual(code, 128 + signal.SIGTERM, err)
        return out

    def test_started(self):
        for mode in ("buffers", "errors"):
            with self.subTest(mode=mode):
                self.assert_leak_first(self.record_started(mode), mode)

    def test_healthy_started(self):
        self.assertEqual(named(ranked(self.record_started("healthy"))), [])

    def test_healthy_attached(self):
        port = harness.free_port()
        assert_healthy_attached(self, [PYTHON, self.SERVICE, "healthy", str(port)], port)

    def attached(self, mode):
        """A record directory of the running service under paced load: ten snapshots (--count,
        not --duration: ten however long gdb's attach takes on a loaded host) and two object
        graphs, taken through the bootstrap the recording injected (no second gdb attach, which
        under load on a loaded CI host once overran its 30 s bound)."""
        port = harness.free_port()
        p = self.start([PYTHON, self.SERVICE, mode, str(port)])
        wait_port(port)
        load = Load(port, rate=50)
        out = self.path("rec-" + mode)
        r = harness.run(["record", "--pid", str(p.pid), "-o", out, "--snapshot-every", "1s",
                         "--count", "10", "--heap-snapshots", "2"], timeout=300)
        load.end()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreater(load.n, 100)
        self.assert_leak_first(out, mode)
        self.assertEqual(len(glob.glob(os.path.join(out, "heap.*.pygraph"))), 2, r.stderr)
        self.assertIsNone(p.poll(), "the target died")
        return out

    def test_buffers_attached_paths_name_the_dict(self):
        paths = held_by(self.attached("buffers"), "bytearray")
        self.assertTrue(paths, "no path")
        self.assertEqual(paths[0]["steps"], ["module `__main__`", "global `BUFFERS` (dict)",
                                             "value [] (bytearray)"], paths[:2])
        self.assertTrue(paths[0]["pattern"].startswith("a module-level registry"), paths[0])

    def test_errors_attached_paths_name_the_list_through_the_traceback(self):
        paths = held_by(self.attached("errors"), "__main__.Payload")
        self.assertTrue(paths, "no path")
        steps = paths[0]["steps"]
        self.assertEqual(steps[:3], ["module `__main__`", "global `FAILED` (list)",
                                     "element [] (ValueError)"], paths[:2])
        self.assertEqual(steps[-1], "ref (__main__.Payload)")
        self.assertTrue(paths[0]["pattern"].startswith("held through a traceback"), paths[0])


def graph_counts(path):
    """{type: count} of an object graph, through `top --json`."""
    r = harness.run(["top", "--json", "--top", "0", path])
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    return {row["class"]: row["count"] for row in harness.json_lines(r.stdout)}


def held_by(out, class_name, files=None):
    """The path groups of `paths --json` for one class, biggest first."""
    r = harness.run(["paths", "--json", "--class", class_name] + (files or [out]))
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    rows = [row for row in harness.json_lines(r.stdout) if row.get("class") == class_name]
    return rows[0]["paths"] if rows else []


class PythonObjectGraph(harness.Case):
    def graphs(self, out):
        return sorted(glob.glob(os.path.join(out, "heap.*.pygraph")))

    def test_counts_equal_gc_objects_of_the_same_moment(self):
        # The oracle: gc.get_objects() of the moment the graph is taken, counted by type(o) in
        # the target (the bootstrap's test hook), against the graph read back by the reader.
        out, oracle_dir = self.path("rec"), self.path("oracle")
        os.mkdir(oracle_dir)
        r = harness.run(["record", "-o", out, "--snapshot-every", "1s", "--count", "2",
                         "--heap-snapshots", "1", "--", PYTHON, victim("loop_service.py"),
                         "lru", "30"], env={"LEAKHUNT_PYGRAPH_TEST_ORACLE": oracle_dir},
                        timeout=120)
        self.assertEqual(r.returncode, 128 + signal.SIGTERM, r.stderr)
        graphs = self.graphs(out)
        self.assertEqual(len(graphs), 1, r.stderr)
        with open(os.path.join(oracle_dir, "oracle.json")) as f:
            oracle = {(q if m == "builtins" else "%s.%s" % (m, q)): c for m, q, c in json.load(f)}
        ours = graph_counts(graphs[0])
        self.assertGreater(sum(oracle.values()), 5000)
        for name, count in oracle.items():
            with self.subTest(type=name):
                if name in ("dict", "tuple", "type"):
                    # CPython stops tracking dicts and tuples that hold only atoms, and never
                    # tracks the built-in (static) types: those are not in gc.get_objects(), but
                    # the graph reaches them from their holders.
                    self.assertGreaterEqual(ours.get(name, 0), count)
                else:
                    self.assertEqual(ours.get(name, 0), count)
        # The rest are objects the gc never tracks (atoms), reached through their holders.
        untracked = set(ours) - set(oracle)
        self.assertIn("str", untracked)
        self.assertIn("int", untracked)
        self.assertFalse([n for n in untracked if n.startswith("__main__.")], untracked)

    def assert_held_by_global(self, paths, module, name):
        self.assertTrue(paths, "no path")
        steps = paths[0]["steps"]
        self.assertEqual(steps[:2], ["module `%s`" % module, "global `%s` (dict)" % name], paths[:2])
        return paths[0]

    def test_registry_paths_name_the_global_started(self):
        port = harness.free_port()
        out = self.path("rec")
        p = subprocess.Popen([harness.LEAKHUNT, "record", "-o", out, "--snapshot-every", "1s",
                              "--duration", "7s", "--heap-snapshots", "2", "--", PYTHON,
                              victim("registry_server.py"), str(port)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        self.assertEqual(p.stdout.readline().strip(), "ready")
        wait_port(port)
        load = Load(port)
        _, err = p.communicate(timeout=120)
        load.end()
        self.assertEqual(len(self.graphs(out)), 2, err)
        # The sessions that came after the first graph: dicts held by SESSIONS' values.
        top = self.assert_held_by_global(held_by(out, "dict"), "__main__", "SESSIONS")
        self.assertEqual(top["steps"][2:], ["value [] (dict)"])
        self.assertTrue(top["pattern"].startswith("a module-level registry"), top)
        # Each graph stops the server for seconds while tracemalloc traces the walk: dozens of
        # requests come between the two, not thousands.
        self.assertGreater(top["count"], 10)
        text = harness.run(["paths", out]).stdout
        self.assertIn("are held by:", text)
        self.assertIn("module `__main__` -> global `SESSIONS` (dict) -> value [] (dict)", text)

    def test_registry_paths_name_the_global_attached(self):
        port = harness.free_port()
        p = self.start([PYTHON, victim("registry_server.py"), str(port)])
        wait_port(port)
        load = Load(port)
        out = self.path("rec")
        r = harness.run(["record", "--pid", str(p.pid), "-o", out, "--snapshot-every", "1s",
                         "--duration", "6s", "--heap-snapshots", "2"], timeout=180)
        load.end()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.graphs(out)), 2, r.stderr)
        self.assertIsNone(p.poll(), "the target died")
        self.assert_held_by_global(held_by(out, "dict"), "__main__", "SESSIONS")
        self.assertEqual(urllib.request.urlopen("http://127.0.0.1:%d/login?user=after" % port,
                                                timeout=5).read(), b"100 rows for after")

    def test_snapshot_heap_names_the_lru_cache(self):
        p = self.start([PYTHON, victim("loop_service.py"), "lru", "0"])
        time.sleep(2)
        out = self.path("snap")
        r = harness.run(["snapshot", str(p.pid), "--heap", "-o", out], timeout=180)
        self.assertEqual(r.returncode, 0, r.stderr)
        path = r.stdout.strip()
        self.assertEqual(os.path.basename(path), "heap.%d.0000.pygraph" % p.pid)
        self.assertTrue(os.path.isfile(path))
        self.assertIsNone(p.poll(), "the target died")
        # The bootstrap's thread is gone again and nothing was printed by the target.
        time.sleep(0.5)
        threads = os.listdir("/proc/%d/task" % p.pid)
        self.assertEqual(len(threads), 1, threads)
        # A second one, beside nothing: numbered after the first.
        time.sleep(1)
        r = harness.run(["snapshot", str(p.pid), "--heap", "-o", out], timeout=180)
        second = r.stdout.strip()
        self.assertEqual(os.path.basename(second), "heap.%d.0001.pygraph" % p.pid, r.stderr)
        # The dicts new since the first graph: the cache's values, held by the lru wrapper.
        paths = held_by(None, "dict", [path, second])
        self.assertTrue(paths)
        self.assertEqual(paths[0]["steps"],
                         ["module `__main__`", "global `price_quote` (functools._lru_cache_wrapper)",
                          "ref (dict)", "value [] (dict)"], paths[:2])
        self.assertGreater(paths[0]["count"], 100)
        self.assertTrue(paths[0]["pattern"].startswith("an lru_cache without a bound"), paths[0])
        d = harness.run(["diff", "--json", path, second])
        rows = {row["class"]: row for row in harness.json_lines(d.stdout)}
        self.assertGreater(rows["dict"]["count_delta"], 100, d.stdout[:2000])
        # The directory of graphs alone: diff DIR is its first and last, top DIR its latest.
        self.assertEqual(harness.json_lines(harness.run(["diff", "--json", out]).stdout),
                         harness.json_lines(d.stdout))
        self.assertEqual(graph_counts(out), graph_counts(second))

    def two_graphs(self, argv):
        """Two object graphs of the program `argv`, a second apart; returns (their directory,
        the running program)."""
        p = self.start(argv)
        time.sleep(1)
        out = self.path("snap")
        for _ in range(2):
            r = harness.run(["snapshot", str(p.pid), "--heap", "-o", out], timeout=180)
            self.assertEqual(r.returncode, 0, r.stderr)
            time.sleep(1)
        self.assertIsNone(p.poll(), "the target died")
        return out, p

    def test_paths_name_a_logging_handler_that_buffers_records(self):
        out, _ = self.two_graphs([PYTHON, victim("loop_service.py"), "logging", "0"])
        requests = held_by(out, "__main__.Request")
        self.assertTrue(requests)
        # The logger's handlers -> the MemoryHandler's buffer -> a record's args.
        self.assertEqual(requests[0]["steps"],
                         ["module `__main__`", "global `LOG` (logging.Logger)", "ref (list)",
                          "element [] (logging.handlers.MemoryHandler)", "ref (list)",
                          "element [] (logging.LogRecord)", "ref (tuple)",
                          "element [] (__main__.Request)"], requests[:2])
        self.assertTrue(requests[0]["pattern"].startswith("kept by a logging handler"), requests[0])
        self.assertGreater(requests[0]["count"], 100)

    def test_paths_name_a_callback_list_that_keeps_its_objects(self):
        out, _ = self.two_graphs([PYTHON, victim("loop_service.py"), "callbacks", "0"])
        requests = held_by(out, "__main__.Request")
        self.assertTrue(requests)
        self.assertEqual(requests[0]["steps"], ["module `__main__`", "global `LISTENERS` (list)",
                                                "element [] (method)", "ref (__main__.Request)"],
                         requests[:2])
        self.assertTrue(requests[0]["pattern"].startswith("kept by a callback"), requests[0])
        self.assertGreater(requests[0]["count"], 100)

    def test_paths_through_a_traceback_and_a_thread_local(self):
        out, p = self.two_graphs([PYTHON, victim("holders.py")])
        payloads = held_by(out, "__main__.Payload")
        self.assertTrue(payloads)
        steps = payloads[0]["steps"]
        self.assertEqual(steps[:3], ["module `__main__`", "global `ERRORS` (list)",
                                     "element [] (ValueError)"], payloads[0])
        self.assertEqual(steps[-1], "ref (__main__.Payload)")
        self.assertTrue(payloads[0]["pattern"].startswith("held through a traceback"))
        self.assertGreater(payloads[0]["count"], 50)
        jobs = held_by(out, "__main__.Job")
        self.assertTrue(jobs)
        self.assertRegex(jobs[0]["steps"][0], r"^thread `worker` frame `work` \(holders\.py:\d+\)$")
        self.assertEqual(jobs[0]["steps"][1:], ["local `pending` (list)", "element [] (__main__.Job)"])
        self.assertEqual(jobs[0]["pattern"], "")
        self.assertIsNone(p.poll())

    def test_healthy_service_grows_nothing_between_graphs(self):
        # Two graphs of one recording (one bootstrap: a second `snapshot --heap` brings its own
        # copy of the bootstrap, whose classes live until the target's next full collection).
        p = self.start([PYTHON, victim("loop_service.py"), "healthy", "0"])
        out = self.path("rec")
        r = harness.run(["record", "--pid", str(p.pid), "-o", out, "--snapshot-every", "1s",
                         "--duration", "6s", "--heap-snapshots", "2"], timeout=180)
        self.assertEqual(r.returncode, 0, r.stderr)
        graphs = self.graphs(out)
        self.assertEqual(len(graphs), 2, r.stderr)
        d = harness.run(["diff", "--json", "--top", "0"] + graphs)
        self.assertEqual(d.returncode, 0, d.stderr)
        rows = harness.json_lines(d.stdout)
        # Thousands of requests ran between the graphs; the leaky variant grows a dict and its
        # strings per request. Noise: the bounded cache's 200 entries turn over (same count),
        # the loop's churn is freed, the frames and locals of the moment differ.
        grown = [(r["class"], r["count_delta"]) for r in rows if r["count_delta"] > 50]
        self.assertEqual(grown, [], rows[:5])
        self.assertIsNone(p.poll())

if __name__ == "__main__":
    unittest.main()
