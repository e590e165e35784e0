"""leakhunt record on real node processes (Debian's /usr/bin/node) through V8's inspector: a
started program (`record -- node ...`) and a running one (`record --pid`), each an HTTP service
that leaks through an unbounded Map cache, through an EventEmitter listener per request, through
a closure in an hour-long timer holding the request's rows, through an interval per request never
cleared, through a writable stream written without backpressure, or not at all, beside healthy
churn. suspects must name the leaking function first and say nothing about the healthy one;
paths must name the holder (the timer list and its Timeouts, the stream's WritableState) and the
built-in pattern with its fix; the program's stdout must be what it is without leakhunt; an inspector
that leakhunt opened must be closed again."""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LEAKHUNT, Case, run  # noqa: E402

NODE = "/usr/bin/node"
SERVICE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../victims/node/service.js")
RATE = "300"


def listening_ports(pid):
    """The TCP ports process `pid` listens on (its own sockets, in its network namespace)."""
    inodes = set()
    for fd in glob.glob(f"/proc/{pid}/fd/*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def suspects(directory):
    r = run(["suspects", directory, "--json"])
    return r, [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def debugger_session(port):
    """Attaches a debugger to node's inspector on `port` as DevTools does (a WebSocket session on
    the first target); returns the connected socket."""
    import base64
    import socket
    import urllib.request
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
    path = targets[0]["webSocketDebuggerUrl"].split(f":{port}", 1)[1]
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    assert reply.startswith(b"HTTP/1.1 101"), reply
    return s


def debugger_evaluate(s, expression):
    """Sends Runtime.evaluate on a debugger session (one masked text frame) and returns the
    reply's text: proof that the session still works."""
    payload = json.dumps({"id": 7, "method": "Runtime.evaluate",
                          "params": {"expression": expression}}).encode()
    assert len(payload) < 126
    mask = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask +
              bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    data = b""
    deadline = time.time() + 10
    while b'"id":7' not in data and time.time() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


@unittest.skipUnless(os.path.exists(NODE), "needs Debian's nodejs (/usr/bin/node)")
class NativeMemoryOfNode(Case):
    """The native agent in node: stacks through JIT code are named from node's perf map."""

    def test_js_frames_of_native_allocations_are_named_from_the_perf_map(self):
        out = self.path("rec")
        script = os.path.join(os.path.dirname(SERVICE), "buffers.js")
        r = run(["record", "--runtime", "native", "-o", out, "--snapshot-every", "0.5s", "--",
                 NODE, "--perf-basic-prof", "--interpreted-frames-native-stack", script, "60"],
                timeout=120, cwd=self.dir)  # node 20 writes an isolate-*-v8.log into its cwd
        self.assertEqual(r.returncode, 0, r.stderr)
        snapshots = sorted(glob.glob(os.path.join(out, "heap.*.pb.gz")))
        self.assertGreaterEqual(len(snapshots), 2, r.stderr)
        # Every function of the last snapshot before the exit one, callers included.
        top = run(["top", "--json", "--cum", "--by", "line", "--top", "0", snapshots[-2]])
        self.assertEqual(top.returncode, 0, top.stderr)
        rows = [json.loads(line) for line in top.stdout.splitlines() if line.startswith("{")]
        named = {(row.get("function"), os.path.basename(row.get("file") or ""), row.get("line"))
                 for row in rows}
        self.assertIn(("leakBuffers", "buffers.js", 6), named, top.stdout[:3000])
        pid = os.path.basename(snapshots[0]).split(".")[1]
        perf_map = f"/tmp/perf-{pid}.map"
        if os.path.exists(perf_map):
            os.unlink(perf_map)


class RecordNode(Case):
    def record_command(self, mode, requests, duration=None, extra=()):
        out = self.path("rec")
        args = ["record", "-o", out, "--snapshot-every", "1s", *extra]
        if duration:
            args += ["--duration", duration]
        r = run(args + ["--", NODE, SERVICE, mode, str(requests), RATE], timeout=120)
        return out, r

    def start_node(self, mode, requests=0):
        errors = open(self.path("node.err"), "w")
        p = subprocess.Popen([NODE, SERVICE, mode, str(requests), RATE], stdout=subprocess.PIPE,
                             stderr=errors, text=True, start_new_session=True)
        errors.close()
        self.procs.append(p)
        self.assertEqual(p.stdout.readline(), "ready\n")
        return p

    def assert_leak_named(self, directory, function):
        r, rows = suspects(directory)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(rows, r.stdout + r.stderr)
        self.assertEqual(rows[0]["function"], function, r.stdout)
        self.assertEqual(os.path.basename(rows[0]["file"]), "service.js")
        text = run(["suspects", directory]).stdout
        self.assertRegex(text, rf"1\. memory allocated in {function} \(/\S+/service\.js:\d+\)")

    def assert_no_suspect(self, directory):
        r, rows = suspects(directory)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(rows, [], r.stdout)
        self.assertIn("No allocation site grows steadily", run(["suspects", directory]).stdout)

    # -- node ...

    def test_command_map_cache_leak_named_and_stdout_unchanged(self):
        plain = subprocess.run([NODE, SERVICE, "cache", "1800", RATE], capture_output=True,
                               text=True, timeout=60)
        out, r = self.record_command("cache", 1800)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, plain.stdout)
        self.assertEqual(r.stdout, "ready\ndone 1800\n")
        self.assertNotIn("Debugger listening", r.stderr)
        self.assertIn("leakhunt: the program exited with code 0", r.stderr)
        manifest = json.load(open(os.path.join(out, "manifest.json")))
        self.assertEqual(manifest["runtime"], "node")
        self.assertEqual(manifest["capture"], "inspector")
        self.assertEqual(manifest["command"], [NODE, SERVICE, "cache", "1800", RATE])
        pid = manifest["pid"]
        timeline = open(os.path.join(out, f"timeline.{pid}.csv")).read().splitlines()
        header = timeline[0].split(",")
        for column in ("js_heap_used_bytes", "js_heap_total_bytes", "external_bytes",
                       "array_buffers_bytes", "gc_count", "gc_seconds"):
            self.assertIn(column, header)
        rows = [dict(zip(header, line.split(","))) for line in timeline[1:]]
        self.assertGreaterEqual(len(rows), 5)
        self.assertEqual(rows[0]["snapshot"], f"heap.{pid}.0000.pb.gz")
        for row in rows:
            self.assertTrue(os.path.exists(os.path.join(out, row["snapshot"])))
            self.assertGreater(float(row["js_heap_used_bytes"]), 0)
            self.assertGreaterEqual(float(row["js_heap_total_bytes"]),
                                    float(row["js_heap_used_bytes"]))
            self.assertGreater(float(row["rss_bytes"]), float(row["js_heap_used_bytes"]))
        gcs = [float(row["gc_count"]) for row in rows]
        self.assertEqual(gcs, sorted(gcs))
        self.assertGreater(gcs[-1], 0)
        self.assert_leak_named(out, "cacheSession")

    def test_command_listener_leak_named(self):
        out, r = self.record_command("listener", 0, duration="6s")
        # --duration ends the recording first: the program is stopped with SIGTERM, and its own
        # handler exits 0.
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^ready\ndone \d+\n$")
        self.assertIn("--duration reached", r.stderr)
        self.assert_leak_named(out, "subscribe")

    def test_command_healthy_service_has_no_suspect(self):
        out, r = self.record_command("healthy", 0, duration="10s")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_no_suspect(out)

    def test_runtime_node_forced_and_go_pprof_reads_a_snapshot(self):
        out, r = self.record_command("cache", 0, duration="3s", extra=("--runtime", "node"))
        self.assertEqual(r.returncode, 0, r.stderr)
        snapshots = sorted(glob.glob(os.path.join(out, "heap.*.pb.gz")))
        self.assertGreaterEqual(len(snapshots), 3)
        go = shutil.which("go") or "/usr/lib/go/bin/go"
        if not os.path.exists(go):
            self.skipTest("go is not installed")
        top = subprocess.run([go, "tool", "pprof", "-top", "-sample_index=inuse_space",
                              snapshots[-1]], capture_output=True, text=True, timeout=120)
        self.assertEqual(top.returncode, 0, top.stderr)
        self.assertIn("cacheSession", top.stdout)
        self.assertIn("Type: inuse_space", top.stdout)

    # --pid

    def record_pid(self, pid, *extra):
        out = self.path("rec")
        return out, run(["record", "--pid", str(pid), "-o", out, "--snapshot-every", "1s",
                         *extra], timeout=120)

    def check_pid_recording(self, mode, function, duration, extra=()):
        p = self.start_node(mode)
        time.sleep(1)
        before = listening_ports(p.pid)
        self.assertEqual(len(before), 1)  # the service's own port
        out, r = self.record_pid(p.pid, "--duration", duration, *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(p.poll(), "the recorded process must keep running")
        self.assertEqual(listening_ports(p.pid), before, "the inspector must be closed again")
        self.assertRegex(r.stderr, r"opened|inspector on 127\.0\.0\.1:\d+")
        p.send_signal(signal.SIGTERM)
        rest, _ = p.communicate(timeout=10)
        self.assertRegex(rest, r"^done \d+\n$")  # nothing added to its stdout
        if function:
            self.assert_leak_named(out, function)
        else:
            self.assert_no_suspect(out)
        return out

    def test_pid_map_cache_leak(self):
        out = self.check_pid_recording("cache", "cacheSession", "6s")
        manifest = json.load(open(os.path.join(out, "manifest.json")))
        self.assertEqual(manifest["command"], [])
        self.assertIn("opened by leakhunt", manifest["extra"]["inspector"])

    def test_pid_listener_leak(self):
        self.check_pid_recording("listener", "subscribe", "6s")

    def test_pid_healthy(self):
        self.check_pid_recording("healthy", None, "10s")

    # The leaks a heap snapshot explains: suspects names the function from the sampled profiles,
    # paths (on the record directory: the leak set of its three heap snapshots) the holder.

    def class_paths(self, directory, cls):
        r = run(["paths", "--json", "--class", cls, directory])
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [json.loads(row) for row in r.stdout.splitlines() if row.startswith("{")]
        self.assertEqual(len(rows), 1, r.stdout[:3000])
        self.assertGreater(rows[0]["count"], 100, r.stdout[:3000])  # objects of the leak set
        return rows[0], run(["paths", "--class", cls, directory]).stdout

    def test_command_closure_in_a_timer_named_and_held_by_the_timer_list(self):
        out, r = self.record_command("timer", 0, duration="8s", extra=("--heap-snapshots", "3"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(glob.glob(os.path.join(out, "*.heapsnapshot"))), 3)
        self.assert_leak_named(out, "scheduleFollowUp")
        # The rows each closure captured: the timer list -> its Timeouts -> the callback's
        # context -> `rows`.
        # The list is walked from either end (`_idleNext` or `_idlePrev`): a path each.
        row, text = self.class_paths(out, "Array")
        self.assertEqual(sum(p["count"] for p in row["paths"]), row["count"])
        for path in row["paths"]:
            steps = path["steps"]
            self.assertIn("element [] (TimersList)", steps)
            self.assertRegex(steps[-4], r"^property `_idle(Next|Prev)` \(Timeout\)"
                             r"( \[a chain of these\])?$")
            self.assertEqual(steps[-3:], ["property `_onTimeout` (closure)",
                                          "internal `context` (system / Context)",
                                          "context `rows` (Array)"])
        self.assertEqual(row["pattern"]["id"], "node-timer")
        self.assertIn("clearTimeout", row["pattern"]["fix"])
        self.assertIn("looks like node-timer", text)

    def test_pid_interval_never_cleared_named_and_its_timeouts_held_by_the_timer_list(self):
        out = self.check_pid_recording("interval", "startPolling", "8s",
                                       extra=("--heap-snapshots", "3"))
        row, text = self.class_paths(out, "Timeout")
        self.assertEqual(sum(p["count"] for p in row["paths"]), row["count"])
        for path in row["paths"]:
            self.assertIn("element [] (TimersList)", path["steps"])
            self.assertRegex(path["steps"][-1], r"^property `_idle(Next|Prev)` \(Timeout\)"
                             r"( \[a chain of these\])?$")
        self.assertEqual(row["pattern"]["id"], "node-timer")
        self.assertIn("clearInterval", text)

    def test_command_stream_without_backpressure_named_and_held_by_its_writable_state(self):
        out, r = self.record_command("stream", 0, duration="8s", extra=("--heap-snapshots", "3"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_leak_named(out, "writeAudit")
        # Each record's fields: the stream -> its WritableState -> the buffered requests -> the
        # chunk. The way to the stream is whichever is shortest at the snapshot: the module's
        # `auditLog`, or the slow consumer's pending timer that holds the stream as its argument.
        row, text = self.class_paths(out, "Array")
        steps = row["paths"][0]["steps"]
        state = steps.index("property `_writableState` (WritableState)")
        self.assertRegex(steps[state - 1], r"`(auditLog|bound_argument_\d+)` \(Writable\)$", steps)
        self.assertRegex(steps[state + 1], r"\(Array\)$")  # the buffered writes
        self.assertEqual(steps[-2:], ["property `chunk` (Object)", "property `fields` (Array)"])
        self.assertEqual(row["pattern"]["id"], "node-stream-backpressure")
        self.assertIn("'drain'", row["pattern"]["fix"])
        self.assertIn("looks like node-stream-backpressure", text)

    def test_pid_heap_snapshots(self):
        p = self.start_node("cache")
        out, r = self.record_pid(p.pid, "--count", "3", "--heap-snapshots", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        files = sorted(glob.glob(os.path.join(out, "*.heapsnapshot")))
        self.assertEqual([os.path.basename(f) for f in files],
                         [f"heap.{p.pid}.0000.heapsnapshot", f"heap.{p.pid}.0001.heapsnapshot"])
        for f in files:
            snapshot = json.load(open(f))
            self.assertIn("nodes", snapshot)
            self.assertEqual(snapshot["snapshot"]["meta"]["node_fields"][0], "type")
        self.assertEqual(len(re.findall(r"heap snapshot .*paused \d+\.\d+ s", r.stderr)), 2)
        self.assertEqual(glob.glob(os.path.join(out, "*.tmp*")), [])
        self.assertIsNone(p.poll())

    def test_snapshot_heap_of_a_running_node(self):
        # `snapshot PID --heap`: one V8 heap snapshot through the inspector, which is closed
        # again; no profiling, no manifest; the process goes on and its stdout is unchanged.
        p = self.start_node("cache")
        time.sleep(1)
        before = listening_ports(p.pid)
        out = self.path("heap")
        r = run(["snapshot", str(p.pid), "--heap", "-o", out], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        name = f"heap.{p.pid}.0000.heapsnapshot"
        self.assertEqual(r.stdout, os.path.join(out, name) + "\n")
        self.assertEqual(sorted(os.listdir(out)), [name])
        self.assertRegex(r.stderr, r"heap snapshot of pid \d+: .*, the program paused \d+\.\d+ s")
        self.assertIsNone(p.poll())
        self.assertEqual(listening_ports(p.pid), before, "the inspector must be closed again")
        # The cached sessions are plain objects held by the module's `sessions` Map.
        paths = run(["paths", "--json", "--class", "Object", os.path.join(out, name)])
        self.assertEqual(paths.returncode, 0, paths.stderr)
        rows = [json.loads(row) for row in paths.stdout.splitlines() if row.startswith("{")]
        self.assertIn("context `sessions` (Map)", rows[0]["paths"][0]["steps"], paths.stdout[:2000])
        # A second one is numbered after the first.
        r = run(["snapshot", str(p.pid), "--heap", "-o", out], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, f"heap.{p.pid}.0001.heapsnapshot")))
        p.send_signal(signal.SIGTERM)
        rest, _ = p.communicate(timeout=10)
        self.assertRegex(rest, r"^done \d+\n$")

    def test_snapshot_while_a_debugger_is_attached(self):
        # node started with --inspect, a debugger (a DevTools-like WebSocket session) attached:
        # node's inspector takes a second session, so the snapshot is taken; the inspector that
        # leakhunt did not open stays open, and the debugger's session still answers.
        errors = open(self.path("node.err"), "w")
        p = subprocess.Popen([NODE, "--inspect=127.0.0.1:0", SERVICE, "cache", "0", RATE],
                             stdout=subprocess.PIPE, stderr=errors, text=True,
                             start_new_session=True)
        errors.close()
        self.procs.append(p)
        self.assertEqual(p.stdout.readline(), "ready\n")
        time.sleep(0.5)
        with open(self.path("node.err")) as f:
            err = f.read()
        port = int(re.search(r"ws://127\.0\.0\.1:(\d+)/", err).group(1))
        debugger = debugger_session(port)
        try:
            before = listening_ports(p.pid)
            out = self.path("heap")
            r = run(["snapshot", str(p.pid), "--heap", "-o", out], timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(os.listdir(out), [f"heap.{p.pid}.0000.heapsnapshot"])
            self.assertIsNone(p.poll())
            self.assertEqual(listening_ports(p.pid), before)
            self.assertIn(port, before)
            self.assertIn('"value":42', debugger_evaluate(debugger, "40 + 2"))
        finally:
            debugger.close()
        p.send_signal(signal.SIGTERM)
        rest, _ = p.communicate(timeout=10)
        self.assertRegex(rest, r"^done \d+\n$")

    def test_snapshot_of_a_process_that_exits_mid_snapshot(self):
        # A heap of a million objects takes seconds to serialise; the process is killed as soon
        # as the snapshot's first bytes are written. One clear line, exit 1, nothing left behind.
        program = ("globalThis.keep = []; for (let i = 0; i < 1e6; i++) keep.push({i, s: 'x' + i});"
                   "process.stdout.write('ready\\n'); setInterval(() => {}, 1000);")
        p = subprocess.Popen([NODE, "-e", program], stdout=subprocess.PIPE, text=True,
                             stderr=subprocess.DEVNULL,
                             start_new_session=True)
        self.procs.append(p)
        self.assertEqual(p.stdout.readline(), "ready\n")
        out = self.path("heap")
        snap = subprocess.Popen([LEAKHUNT, "snapshot", str(p.pid), "--heap", "-o", out],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(snap)
        deadline = time.time() + 60
        while time.time() < deadline and snap.poll() is None:
            if os.path.isdir(out) and os.listdir(out):
                break
            time.sleep(0.005)
        self.assertIsNone(snap.poll(), "the snapshot must still be in progress")
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        stdout, stderr = snap.communicate(timeout=60)
        self.assertEqual(snap.returncode, 1, stderr)
        self.assertEqual(stdout, "")
        self.assertEqual(len(stderr.splitlines()), 1, stderr)
        self.assertRegex(stderr, r"^leakhunt: error: .*\(.*\)$")
        self.assertEqual(os.listdir(out), [])

    def test_pid_of_a_process_that_is_not_node(self):
        # Without --runtime a native process gets the native agent (test_attach.py); forced to
        # node, SIGUSR1 would kill it, so it is not sent.
        sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
        self.procs.append(sleeper)
        r = run(["record", "--runtime", "node", "--pid", str(sleeper.pid), "-o", self.path("rec")])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("does not handle SIGUSR1", r.stderr)
        time.sleep(0.2)
        self.assertIsNone(sleeper.poll(), "the process must be left alive")

    def test_pid_process_that_exits_mid_recording(self):
        p = self.start_node("cache", requests=900)  # about 3 s
        out, r = self.record_pid(p.pid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"process {p.pid} ended", r.stderr)
        self.assertNotIn("error", r.stderr)
        self.assertNotIn("warning", r.stderr)
        self.assertGreaterEqual(len(glob.glob(os.path.join(out, "heap.*.pb.gz"))), 2)
        self.assertEqual(p.wait(timeout=10), 0)


if __name__ == "__main__":
    unittest.main()
