"""`leakhunt hunt` end to end on real processes, each already running before the hunt starts: the
demo service (native, started without the agent) leaking under wrk, a Node service leaking, a
healthy and a bounded demo service (hunt says so and takes no heap dump), and the pattern library
(`learn` from one program's leak, a second program with the same shape is named, another shape is
not), a JVM and a CPython service each leaking through a static or module-level map.
Budgets are short so that the whole file runs in a few minutes."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import unittest

from harness import Case, binary, free_port, run
import test_python as python_victims  # a module, so its test classes are not run again here

NODE = "/usr/bin/node"
JAVA = "/usr/bin/java"
JAVAC = "/usr/bin/javac"
JAVA_SOURCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../victims/java/com/example")
VICTIMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../victims/node")
SERVICE = os.path.join(VICTIMS, "service.js")
ORDERS = os.path.join(VICTIMS, "orders.js")


def summary_line(stdout, key):
    """The value of `key:` in hunt's summary."""
    for line in stdout.splitlines():
        if line.startswith(key + ":"):
            return line[len(key) + 1:].strip()
    return None


def files_under(directory):
    out = []
    for root, _, names in os.walk(directory):
        out += [os.path.join(root, n) for n in names]
    return out


def heap_dumps(directory):
    return [f for f in files_under(directory)
            if f.endswith((".scan", ".heapsnapshot", ".hprof", ".pygraph"))]


class PacedLoad:
    """GET `path` on 127.0.0.1:port over one keep-alive connection, from a thread, until end():
    after `delay` seconds, `burst` requests as fast as they are answered, then `rate` per second."""

    def __init__(self, port, path, delay, burst, rate):
        self.port, self.path, self.delay, self.burst, self.rate = port, path, delay, burst, rate
        self.n = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        if self.stopping.wait(self.delay):
            return
        conn, paced_from = None, None
        while not self.stopping.is_set():
            if self.n >= self.burst:
                paced_from = paced_from or time.monotonic()
                ahead = paced_from + (self.n - self.burst) / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", self.path)
                conn.getresponse().read()
                self.n += 1
            except (OSError, http.client.HTTPException):
                conn = None
                time.sleep(0.05)
        if conn:
            conn.close()

    def end(self):
        self.stopping.set()
        self.thread.join()


class Hunt(Case):
    def hunt(self, pid, out, watch_first, budget, *extra, timeout=240):
        return run(["hunt", str(pid), "-o", out, "--watch-first", watch_first, "--budget", budget,
                    *extra], timeout=timeout)

    def start_service(self, mode, *extra):
        """The demo service (no agent) under wrk for longer than any hunt here."""
        port = free_port()
        p = subprocess.Popen([binary("leaky_service"), "--port", str(port), "--mode", mode,
                              "--threads", "2", *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        self.procs.append(p)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        load = subprocess.Popen(["wrk", "-t1", "-c2", "-d300s",
                                 f"http://127.0.0.1:{port}/session?user=7"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        self.procs.append(load)
        return p

    def start_node(self, argv):
        p = subprocess.Popen([NODE, *argv], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, start_new_session=True)
        self.procs.append(p)
        self.assertEqual(p.stdout.readline(), "ready\n")
        return p

    # -- native -------------------------------------------------------------------------------

    @unittest.skipUnless(shutil.which("wrk") and shutil.which("gdb"), "needs wrk and gdb")
    def test_demo_service_leak_names_the_site_and_holder(self):
        p = self.start_service("leak", "--leak-bytes", "2048")
        out = self.path("hunt")
        r = self.hunt(p.pid, out, "20s", "60s")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertTrue(summary_line(r.stdout, "verdict").startswith("leak"), r.stdout)
        self.assertIn("SessionCache::remember", summary_line(r.stdout, "top suspect"), r.stdout)
        self.assertIn("session_cache.cpp", summary_line(r.stdout, "top suspect"), r.stdout)
        held = summary_line(r.stdout, "held by")
        self.assertFalse(held.startswith("unknown"), r.stdout + r.stderr)
        self.assertIn("[heap scan]", held)
        self.assertIsNotNone(summary_line(r.stdout, "pattern"))
        # Every phase's files, and the program still runs, detached.
        for name in ("watch.csv", "report.html", "finding.json"):
            self.assertTrue(os.path.exists(os.path.join(out, name)), name)
        self.assertTrue(any(f.endswith(".pb.gz") for f in files_under(out)))
        self.assertEqual(len([f for f in heap_dumps(out) if f.endswith(".scan")]), 1)
        self.assertNotIn("failed", r.stderr)
        self.assertIsNone(p.poll())
        for phase in ("watch:", "capture:", "analysis:"):
            self.assertIn("leakhunt: " + phase, r.stderr)
        with open(f"/proc/{p.pid}/status") as f:
            self.assertIn("TracerPid:\t0", f.read())

    @unittest.skipUnless(shutil.which("wrk"), "needs wrk")
    def test_healthy_service_is_said_healthy_without_a_heap_dump(self):
        p = self.start_service("healthy")
        out = self.path("hunt")
        r = self.hunt(p.pid, out, "20s", "40s", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual(s["verdict"], "healthy", r.stdout)
        self.assertIsNone(s["runtime"])
        self.assertFalse(s["heap_dump"])
        self.assertEqual(heap_dumps(out), [])
        self.assertFalse(os.path.exists(os.path.join(out, "record")))
        self.assertTrue(os.path.exists(os.path.join(out, "report.html")))

    def test_bounded_service_is_said_bounded_without_a_heap_dump(self):
        # The watch sees a flat start, the cache (500 entries of 64 KiB) filled in a burst of 500
        # requests (under a second idle, a few on a loaded machine: shorter than the 8 s a verdict
        # must hold), then a plateau where each request (50/s) evicts one entry: a step that
        # stops.
        port = free_port()
        p = subprocess.Popen([binary("leaky_service"), "--port", str(port), "--mode", "bounded",
                              "--threads", "2", "--leak-bytes", "65536", "--cache-entries", "500"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             start_new_session=True)
        self.procs.append(p)
        self.assertIn("listening", p.stdout.readline())
        load = PacedLoad(port, "/session?user=7", delay=4, burst=500, rate=50)
        try:
            out = self.path("hunt")
            r = self.hunt(p.pid, out, "40s", "60s")
        finally:
            load.end()
        self.assertGreater(load.n, 500, "the load never filled the cache")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(summary_line(r.stdout, "verdict").startswith("bounded"), r.stdout)
        self.assertIn("no capture", summary_line(r.stdout, "stopped"))
        self.assertEqual(heap_dumps(out), [])
        self.assertFalse(os.path.exists(os.path.join(out, "record")))

    def test_errors(self):
        r = run(["hunt", "999999999", "-o", self.path("x")])
        self.assertEqual(r.returncode, 2, r.stderr)
        dead = subprocess.Popen(["true"])
        dead.wait()
        r = run(["hunt", str(dead.pid), "-o", self.path("x")])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"no process with pid {dead.pid}", r.stderr)
        r = run(["hunt", "--name", "no-such-program-xyz-[0-9]", "-o", self.path("x")])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no running process", r.stderr)
        r = run(["hunt", "1", "--watch-first", "10m", "--budget", "5m"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--watch-first", r.stderr)

    # -- Go ------------------------------------------------------------------------------------

    @unittest.skipUnless(os.path.exists(binary("leaky_go")), "leaky_go was not built (no go)")
    def test_go_service_leak_found_through_its_pprof_endpoint(self):
        p = subprocess.Popen([binary("leaky_go"), "-addr", "127.0.0.1:0"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        self.procs.append(p)
        self.assertTrue(p.stdout.readline().startswith("ready http://127.0.0.1:"))
        out = self.path("hunt")
        r = self.hunt(p.pid, out, "20s", "40s")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn(", go,", r.stdout.splitlines()[0])
        self.assertIn("main.leakyCache (leaky_go.go:", summary_line(r.stdout, "top suspect"), r.stdout)
        self.assertIn("/debug/pprof/heap", r.stderr)
        self.assertTrue(summary_line(r.stdout, "held by").startswith("unknown"))
        self.assertEqual(heap_dumps(out), [])

    # -- node and the pattern library ----------------------------------------------------------

    def stop(self, p):
        """Ends a node victim and waits for it: its inspector's port (9229 by default) must be
        free before the next node is reached through SIGUSR1."""
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def node_hunt(self, pid, out, patterns):
        """A short hunt of a leaking node program. From outside, V8's RSS grows fast, then
        slower as its heap is resized: within tens of seconds the watch says leak or bounded,
        so the capture is asked for either way; the exit code follows the verdict."""
        r = self.hunt(pid, out, "20s", "60s", "--profile-anyway", "--patterns", patterns)
        verdict = summary_line(r.stdout, "verdict") or ""
        self.assertTrue(verdict.startswith(("leak", "bounded")), r.stdout + r.stderr)
        self.assertEqual(r.returncode, 3 if verdict.startswith("leak") else 0, r.stdout + r.stderr)
        self.assertIn(", node,", r.stdout.splitlines()[0])
        return r

    @unittest.skipUnless(os.path.exists(NODE), "needs Debian's nodejs (/usr/bin/node)")
    def test_node_leak_then_learned_pattern_names_another_program(self):
        patterns = self.path("team-patterns.json")
        service = self.start_node([SERVICE, "cache", "0", "600"])
        first = self.path("first")
        r = self.node_hunt(service.pid, first, patterns)
        self.assertIn("cacheSession", summary_line(r.stdout, "top suspect"), r.stdout)
        self.assertIn("service.js", summary_line(r.stdout, "top suspect"))
        held = summary_line(r.stdout, "held by")
        self.assertIn("(Map)", held, r.stdout)
        self.assertIn("heapsnapshot", held)
        # Before anything is learned: the built-in pattern of a Map in a module variable.
        self.assertIn("node-global-map", summary_line(r.stdout, "pattern"))
        self.assertEqual(len([f for f in heap_dumps(first) if f.endswith(".heapsnapshot")]), 2)
        self.stop(service)

        r = run(["learn", first, "--title", "session cache without eviction",
                 "--fix", "bounding it (LRU, 10k entries)", "--link", "https://example.com/pr/4521",
                 "--patterns", patterns])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("LEAK-1", r.stdout)
        with open(patterns) as f:
            stored = json.load(f)["patterns"]
        self.assertEqual([p["id"] for p in stored], ["LEAK-1"])
        self.assertEqual(stored[0]["signature"]["runtime"], "node")
        self.assertIn("Map", stored[0]["signature"]["holder"])

        # A different program, the same shape: named.
        orders = self.start_node([ORDERS, "600"])
        second = self.path("second")
        r = self.node_hunt(orders.pid, second, patterns)
        # The holder is the program's own Map. (The top suspect's site is not asserted: V8
        # inlines the timer's callback, and the sampling profiler then names node's
        # listOnTimeout, not rememberOrder.)
        self.assertIn("`processed` (Map)", summary_line(r.stdout, "held by"), r.stdout)
        self.assertIn("looks like LEAK-1 `session cache without eviction`, fixed by bounding it",
                      summary_line(r.stdout, "pattern"), r.stdout)
        self.assertIn("https://example.com/pr/4521", summary_line(r.stdout, "pattern"))
        self.stop(orders)

        # Another shape (a listener added per request): not the learned pattern.
        listener = self.start_node([SERVICE, "listener", "0", "600"])
        third = self.path("third")
        r = self.node_hunt(listener.pid, third, patterns)
        self.assertNotIn("LEAK-1", r.stdout)
        self.assertIn("node-listener", summary_line(r.stdout, "pattern"), r.stdout)

    # -- JVM and CPython ------------------------------------------------------------------------

    def assert_managed_hunt(self, r, out, runtime, suspect, holder, pattern, dump_ext):
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn(f", {runtime},", r.stdout.splitlines()[0], r.stdout)
        self.assertTrue(summary_line(r.stdout, "verdict").startswith("leak"), r.stdout)
        self.assertIn(suspect, summary_line(r.stdout, "top suspect"), r.stdout)
        held = summary_line(r.stdout, "held by")
        self.assertIn(holder, held, r.stdout)
        self.assertIn(f"[heap graph heap.", held)
        self.assertIn(pattern, summary_line(r.stdout, "pattern"), r.stdout)
        self.assertEqual(len([f for f in heap_dumps(out) if f.endswith(dump_ext)]), 1)
        with open(os.path.join(out, "finding.json")) as f:
            finding = json.load(f)
        self.assertEqual(finding["runtime"], runtime)
        for name in ("watch.csv", "report.html"):
            self.assertTrue(os.path.exists(os.path.join(out, name)), name)

    @unittest.skipUnless(os.access(JAVAC, os.X_OK), "needs a JDK (openjdk-17-jdk-headless)")
    def test_jvm_leak_names_the_class_and_its_static_holder(self):
        classes = self.path("classes")
        subprocess.run([JAVAC, "-d", classes] + [os.path.join(JAVA_SOURCES, f) for f in
                                                 sorted(os.listdir(JAVA_SOURCES))],
                       check=True, timeout=120)
        jvm = subprocess.Popen([JAVA, "-Xmx256m", "-cp", classes, "com.example.SessionLeak", "3000"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)
        self.procs.append(jvm)
        self.assertEqual(jvm.stdout.readline(), "ready\n")
        out = self.path("hunt")
        r = self.hunt(jvm.pid, out, "20s", "60s")
        self.assert_managed_hunt(r, out, "java", "com.example.Session",
                                 "class com.example.SessionLeak -> static field `SESSIONS`",
                                 "java-static-collection", ".hprof")
        self.assertIsNone(jvm.poll())

    @unittest.skipUnless(os.path.exists(python_victims.PYTHON), "needs Debian's python3")
    def test_python_leak_names_the_line_and_its_module_global(self):
        port = free_port()
        service = subprocess.Popen([python_victims.PYTHON, python_victims.victim("registry_server.py"),
                                    str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   text=True, start_new_session=True)
        self.procs.append(service)
        self.assertEqual(service.stdout.readline(), "ready\n")
        load = python_victims.Load(port)
        try:
            out = self.path("hunt")
            r = self.hunt(service.pid, out, "20s", "60s")
        finally:
            load.end()
        self.assert_managed_hunt(r, out, "python", "register (registry_server.py:10)",
                                 "module `__main__` -> global `SESSIONS` (dict)",
                                 "python-module-registry", ".pygraph")
        # Detached: tracemalloc stopped, no tracer, and the service still answers.
        with open(f"/proc/{service.pid}/status") as f:
            self.assertIn("TracerPid:\t0", f.read())
        python_victims.wait_port(port)

    def test_learn_errors(self):
        r = run(["learn", self.dir, "--title", "t", "--fix", "f", "--patterns", self.path("p.json")])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no finding.json", r.stderr)
        bad = self.path("bad.json")
        with open(bad, "w") as f:
            f.write('{"version": 1, "patterns": [{"id": "LEAK-1"}]}')
        with open(self.path("finding.json"), "w") as f:
            json.dump({"runtime": "node", "site": "f", "holder_steps": ["(GC roots)"]}, f)
        r = run(["learn", self.dir, "--title", "t", "--fix", "f", "--patterns", bad])
        self.assertEqual(r.returncode, 1)
        self.assertIn(bad, r.stderr)
        self.assertIn("patterns[0]: field `title`", r.stderr)


if __name__ == "__main__":
    unittest.main()
