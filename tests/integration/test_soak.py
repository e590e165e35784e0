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


if __name__ == "__main__":
    unittest.main()
