"""`leakhunt soak` as a CI gate on the demo service under wrk: exit 3 for the leaking mode, 0 for
the healthy mode, outputs written, and a clear error when the service dies, never gets ready, or
its load fails."""
import json
import os
import time
import unittest

from harness import Case, binary, free_port, run


class Soak(Case):
    def soak(self, mode, duration="15s"):
        port = free_port()
        out = self.path(mode)
        load = f"wrk -t1 -c4 -d60s http://127.0.0.1:{port}/session?user=7"
        r = run(["soak", "--duration", duration, "--warmup", "2s", "--ready-port", str(port),
                 "--load", load, "-o", out, "--", binary("leaky_service"), "--port", str(port),
                 "--mode", mode, "--leak-bytes", "512"], timeout=180)
        return r, out

    def test_leaking_service_fails_the_gate(self):
        r, out = self.soak("leak")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        with open(os.path.join(out, "verdict.json")) as f:
            v = json.load(f)
        self.assertEqual(v["verdict"], "leak")
        self.assertGreater(v["growth_bytes_per_hour"], 0)
        self.assertGreater(v["samples"], 130)  # half of 13 s at 50 ms: a busy machine is late
        with open(os.path.join(out, "series.csv")) as f:
            self.assertTrue(f.readline().startswith("timestamp,rss_bytes"))

    def test_healthy_service_passes_the_gate(self):
        r, out = self.soak("healthy")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(out, "verdict.json")) as f:
            self.assertNotEqual(json.load(f)["verdict"], "leak")

    def test_service_that_dies_is_an_error(self):
        out = self.path("dies")
        r = run(["soak", "--duration", "5s", "-o", out, "--", binary("victim_exit"), "--seconds",
                 "1", "--code", "4"], timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("exited with code 4", r.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "verdict.json")))

    def test_service_never_ready(self):
        r = run(["soak", "--duration", "5s", "--ready-port", str(free_port()), "--ready-timeout",
                 "1s", "-o", self.path("x"), "--", binary("victim_steady")], timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("did not accept connections", r.stderr)

    def test_failing_load_fails_the_gate_at_once(self):
        """A gate whose load fails watches an idle service: that proves nothing, so it fails."""
        out = self.path("load")
        started = time.time()
        r = run(["soak", "--duration", "20s", "--interval", "0.1", "--load", "exit 7", "-o", out,
                 "--", binary("victim_steady"), "--live", "4M"], timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertLess(time.time() - started, 10)  # not after the 20 s
        self.assertIn("leakhunt: error: the load command exit 7 exited with code 7 after ",
                      r.stderr)
        self.assertIn("pass --load-may-fail", r.stderr)
        self.assertNotIn("HEALTHY", r.stdout)
        with open(os.path.join(out, "verdict.json")) as f:
            self.assertIn("exited with code 7", json.load(f)["load_failure"])

    def test_load_may_fail(self):
        out = self.path("may")
        r = run(["soak", "--duration", "3s", "--interval", "0.1", "--load", "exit 7",
                 "--load-may-fail", "-o", out, "--", binary("victim_steady"), "--live", "4M"],
                timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("the load command exited with code 7 after", r.stderr)
        with open(os.path.join(out, "verdict.json")) as f:
            self.assertIsNone(json.load(f)["load_failure"])

    def test_missing_program(self):
        r = run(["soak", "--duration", "5s", "-o", self.path("y"), "--", "/nonexistent/prog"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot start /nonexistent/prog", r.stderr)


class SoakPerRequest(Case):
    """Memory per unit of work: the service's own request counter read after every sample."""

    def per_request(self, leak_bytes, connections, mode="leak"):
        port = free_port()
        out = self.path(f"w{leak_bytes}-{connections}-{mode}")
        load = f"wrk -t1 -c{connections} -d60s http://127.0.0.1:{port}/session?user=7"
        r = run(["soak", "--duration", "12s", "--warmup", "2s", "--ready-port", str(port),
                 "--load", load, "--work-counter", f"http://127.0.0.1:{port}/stats#requests",
                 "-o", out, "--json", "--", binary("leaky_service"), "--port", str(port),
                 "--mode", mode, "--leak-bytes", str(leak_bytes), "--threads", "2"], timeout=180)
        self.assertIn(r.returncode, (0, 3), r.stderr)
        v = json.loads(r.stdout)
        with open(os.path.join(out, "series.csv")) as f:
            self.assertIn("work_total", f.readline())
        return v

    def test_bytes_per_request_do_not_depend_on_the_rate_of_traffic(self):
        # Three rates of traffic (1, 4 and 16 connections): one figure per request, within 10%.
        figures = []
        for connections in (1, 4, 16):
            v = self.per_request(2048, connections)
            self.assertEqual(v["verdict"], "leak", v["evidence"])
            self.assertEqual(v["per_work"]["verdict"], "leak")
            self.assertRegex(v["evidence"][0], r"^\+[0-9.]+ (B|KiB) per request retained, steady over ")
            figures.append(v["per_work"]["bytes_per_unit"])
        middle = sorted(figures)[1]
        for f in figures:
            self.assertLess(abs(f - middle), 0.10 * middle, figures)
        # The payload is what is kept beyond the service's own bookkeeping per request: 4,096 more
        # payload bytes per request are 4,096 more bytes per request (within 10%).
        more = self.per_request(2048 + 4096, 4)["per_work"]["bytes_per_unit"]
        self.assertLess(abs((more - middle) - 4096), 410, (more, figures))

    def test_healthy_service_keeps_nothing_per_request(self):
        v = self.per_request(2048, 4, mode="healthy")
        self.assertNotEqual(v["verdict"], "leak", v["evidence"])
        self.assertNotEqual(v["per_work"]["verdict"], "leak", v["per_work"])

    def test_a_bad_counter_is_said_once_and_the_soak_goes_on(self):
        port = free_port()
        out = self.path("bad")
        r = run(["soak", "--duration", "4s", "--ready-port", str(port), "--work-counter",
                 "echo not-a-number", "-o", out, "--", binary("leaky_service"), "--port",
                 str(port), "--mode", "healthy"], timeout=60)
        self.assertIn(r.returncode, (0, 3), r.stderr)
        self.assertEqual(r.stderr.count("--work-counter echo not-a-number: expected one number"), 1, r.stderr)

    def test_wrk_summary_gives_bytes_per_request_without_a_counter(self):
        port = free_port()
        out = self.path("summary")
        load = f"wrk -t1 -c4 -d60s http://127.0.0.1:{port}/session?user=7"
        r = run(["soak", "--duration", "10s", "--ready-port", str(port), "--load", load, "-o", out,
                 "--json", "--", binary("leaky_service"), "--port", str(port), "--leak-bytes",
                 "4096", "--threads", "2"], timeout=120)
        self.assertEqual(r.returncode, 3, r.stderr)
        v = json.loads(r.stdout)
        self.assertEqual(v["per_work"]["source"], "wrk summary")
        self.assertGreater(v["per_work"]["units"], 1000)
        self.assertGreater(v["per_work"]["bytes_per_unit"], 4096 * 0.8)
        self.assertLess(v["per_work"]["bytes_per_unit"], 4096 * 2)
        with open(os.path.join(out, "load.out")) as f:
            self.assertIn("requests in", f.read())


if __name__ == "__main__":
    unittest.main()
