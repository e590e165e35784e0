"""Integration tests of Go goroutine leaks: `record --pprof-url` against a real Go service
(tests/victims/go/goroutines_go.go, built by CMake with Debian's go) pulls goroutine profiles and
runtime.MemStats beside its heap profiles, and `suspects DIR` ranks goroutine stacks by the trend
of their count. The service calls its own /work handler every -every: with -mode leak each call
starts a goroutine in main.handleRequest that waits forever on a channel; with -mode pool each
call hands a job to a pool that starts a worker per call up to -cap (bounded: not a leak).
`go tool pprof` is the independent oracle for the goroutine counts."""
import functools
import glob
import http.server
import os
import re
import shutil
import subprocess
import threading
import unittest

from harness import TEST_DATA, Case, binary, json_lines, run

GO = shutil.which("go")
GOROUTINES_GO = binary("goroutines_go")
GO_COLUMNS = ["goroutines", "go_heap_inuse_bytes", "go_heap_idle_bytes", "go_heap_released_bytes",
              "go_heap_sys_bytes", "go_gc_count", "go_gc_pause_total_s"]


def pprof_total(case, path):
    """The goroutine total `go tool pprof -top` gives for a goroutine profile."""
    env = dict(os.environ, GOFLAGS="", GOCACHE=case.path("gocache"), HOME=case.dir,
               PPROF_TMPDIR=case.dir, GOPROXY="off")
    r = subprocess.run([GO, "tool", "pprof", "-top", path], capture_output=True, text=True,
                       timeout=120, env=env)
    case.assertEqual(r.returncode, 0, r.stderr)
    return int(re.search(r"of (\d+) total", r.stdout).group(1)), r.stdout


def read_timeline(out, pid):
    with open(os.path.join(out, f"timeline.{pid}.csv")) as f:
        lines = f.read().splitlines()
    header = lines[0].split(",")
    return header, [dict(zip(header, l.split(","))) for l in lines[1:]]


@unittest.skipUnless(os.path.exists(GOROUTINES_GO), "goroutines_go was not built (go missing)")
class GoGoroutines(Case):

    def start(self, *args):
        p = subprocess.Popen([GOROUTINES_GO, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        self.procs.append(p)
        line = p.stdout.readline().strip()
        self.assertTrue(line.startswith("ready http://"), line)
        return line.split(" ", 1)[1] + "/debug/pprof/heap"

    def record(self, url, count, every="0.25s"):
        out = self.path("rec")
        r = run(["record", "--pprof-url", url, "--snapshot-every", every, "--count", str(count),
                 "-o", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        return out, r

    def test_record_pulls_goroutines_and_memstats(self):
        url = self.start("-mode", "leak", "-every", "20ms")
        out, r = self.record(url, 4)
        pid = self.procs[-1].pid
        heaps = sorted(glob.glob(os.path.join(out, f"heap.{pid}.*.pb.gz")))
        goroutines = sorted(glob.glob(os.path.join(out, f"goroutine.{pid}.*.pb.gz")))
        self.assertEqual([os.path.basename(g) for g in goroutines],
                         [f"goroutine.{pid}.{i:04}.pb.gz" for i in range(4)])
        self.assertEqual(len(heaps), 4)
        # net/http/pprof without expvar: /debug/vars is missing, which is a note, not a failure.
        self.assertIn("leakhunt: note: runtime.MemStats from "
                      f"{url}?debug=1 instead: cannot fetch {url[:-len('/debug/pprof/heap')]}"
                      "/debug/vars: the server answered HTTP 404", r.stderr)
        self.assertNotIn("warning", r.stderr)
        self.assertRegex(r.stderr, r"--count 4 reached: wrote 4 snapshots and .*; last: .* in use "
                                   r"in \d+ objects, [\d,]+ goroutines -> ")
        header, rows = read_timeline(out, pid)
        self.assertEqual(header[7:], GO_COLUMNS)
        self.assertEqual(len(rows), 4)
        for row, g in zip(rows, goroutines):
            # The goroutine count is the profile's total, as go tool pprof counts it.
            n = int(row["goroutines"])
            top = json_lines(run(["top", "--json", "--top", "0", g]).stdout)
            self.assertEqual(sum(t["flat"] for t in top), n)
            if GO:
                total, text = pprof_total(self, g)
                self.assertEqual(total, n, text)
            inuse, idle, released, sys_ = (int(row[c]) for c in GO_COLUMNS[1:5])
            # HeapSys = HeapInuse + HeapIdle, and HeapReleased is part of HeapIdle (runtime docs).
            self.assertEqual(inuse + idle, sys_, row)
            self.assertLessEqual(released, idle, row)
            self.assertGreaterEqual(int(row["go_gc_count"]), 0)
        counts = [int(row["goroutines"]) for row in rows]
        self.assertLess(counts[0], counts[-1])  # the leak goes on
        # diff reads goroutine profiles by their own sample type, as top does.
        d = run(["diff", goroutines[0], goroutines[-1]])
        self.assertEqual(d.returncode, 0, d.stderr)
        self.assertIn("Type: goroutine", d.stdout)
        self.assertIn(f"Total change {counts[-1] - counts[0]:+,} (", d.stdout)

    def test_goroutine_leak_is_ranked_first_by_its_function(self):
        url = self.start("-mode", "leak", "-every", "30ms")
        out, _ = self.record(url, 10)
        r = run(["suspects", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        section = r.stdout[r.stdout.index("goroutine profiles of"):]
        first = next(l for l in section.splitlines() if l.startswith(" 1. "))
        self.assertRegex(first, r"^ 1\. [\d,]+ goroutines blocked in chan receive in "
                                r"main\.handleRequest\.func1 \(goroutines_go\.go:\d+\), "
                                r"\+[\d,]+/min, ")
        self.assertNotIn(" 2. ", section)  # nothing else grows
        rows = [j for j in json_lines(run(["suspects", "--json", out]).stdout)
                if j["unit"] == "goroutines"]
        self.assertEqual(rows[0]["function"], "main.handleRequest.func1")
        self.assertEqual(rows[0]["state"], "chan receive")
        self.assertEqual(rows[0]["rank"], 1)
        self.assertTrue(rows[0]["file"].endswith("goroutines_go.go"), rows[0])
        # The profile's last count of that group, against go tool pprof's focus on it.
        if GO:
            last = sorted(glob.glob(os.path.join(out, "goroutine.*.pb.gz")))[-1]
            env = dict(os.environ, GOFLAGS="", GOCACHE=self.path("gocache"), HOME=self.dir,
                       PPROF_TMPDIR=self.dir, GOPROXY="off")
            p = subprocess.run([GO, "tool", "pprof", "-top", "-focus=main.handleRequest.func1",
                                last], capture_output=True, text=True, timeout=120, env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            shown = int(re.search(r"Showing nodes accounting for (\d+),", p.stdout).group(1))
            self.assertEqual(rows[0]["last"], shown, p.stdout)

    def test_a_bounded_worker_pool_is_not_flagged(self):
        # 25 workers over 2 s, recorded for 8 s or more: the pool grows within the first pulls
        # even on a loaded machine, and the last 40% of the snapshots see it full.
        url = self.start("-mode", "pool", "-every", "80ms", "-cap", "25")
        out, _ = self.record(url, 20, every="0.4s")
        pid = self.procs[-1].pid
        _, rows = read_timeline(out, pid)
        counts = [int(row["goroutines"]) for row in rows]
        # The pool grew while it was recorded (so the test can fail), then stopped at its cap.
        self.assertGreaterEqual(counts[-1] - counts[0], 10, counts)
        r = run(["suspects", "--all", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        section = r.stdout[r.stdout.index("goroutine profiles of"):]
        self.assertIn("No goroutine stack grows steadily", section)
        self.assertRegex(section, r"\[plateau\] 25 goroutines blocked in chan receive in "
                                  r"main\.worker \(goroutines_go\.go:\d+\): grew from \d+ and "
                                  r"levelled off")
        rows = [j for j in json_lines(run(["suspects", "--json", out]).stdout)
                if j["unit"] == "goroutines"]
        self.assertEqual(rows, [])



class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class MissingGoEndpoints(Case):
    """A server with a heap profile at /debug/pprof/heap and nothing else (no goroutine profile,
    no expvar, and a heap?debug=1 that is the same protobuf, without a MemStats block)."""

    def test_missing_endpoints_are_notes_not_failures(self):
        root = self.path("www")
        os.makedirs(os.path.join(root, "debug", "pprof"))
        shutil.copy(os.path.join(TEST_DATA, "profile", "go_heap.pb.gz"),
                    os.path.join(root, "debug", "pprof", "heap"))
        handler = functools.partial(QuietHandler, directory=root)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        out = self.path("rec")
        r = run(["record", "--pprof-url", base + "/debug/pprof/heap", "--snapshot-every", "0.2s",
                 "--count", "3", "-o", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--count 3 reached: wrote 3 snapshots", r.stderr)
        notes = [l for l in r.stderr.splitlines() if l.startswith("leakhunt: note:")]
        # One line per missing endpoint, not one per pull.
        self.assertEqual(len(notes), 3, r.stderr)
        self.assertIn(f"no goroutine profile: cannot fetch {base}/debug/pprof/goroutine?debug=0: "
                      "the server answered HTTP 404", notes[0])
        self.assertIn(f"cannot fetch {base}/debug/vars: the server answered HTTP 404", notes[1])
        self.assertIn(f"no runtime.MemStats: {base}/debug/pprof/heap?debug=1 has no "
                      "\"# runtime.MemStats\" block (the pull goes on without it)", notes[2])
        self.assertEqual(glob.glob(os.path.join(out, "goroutine.*")), [])
        pid = re.search(r"heap\.(\d+)\.0000\.pb\.gz", " ".join(os.listdir(out))).group(1)
        header, rows = read_timeline(out, pid)
        self.assertEqual(header[7:], GO_COLUMNS)
        self.assertEqual(len(rows), 3)
        for row in rows:
            self.assertEqual([row[c] for c in GO_COLUMNS], [""] * len(GO_COLUMNS), row)


if __name__ == "__main__":
    unittest.main()
