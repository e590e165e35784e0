"""`leakhunt classify` end to end: verdicts and exit codes on the corpus, JSON output, replay,
Prometheus JSON input, and clear errors for bad input."""
import json
import os
import unittest

from harness import CORPUS, Case, json_lines, run

TRACES = os.path.join(CORPUS, "traces")


class Classify(Case):
    def test_corpus_json_matches_labels(self):
        labels = {}
        with open(os.path.join(TRACES, "labels.csv")) as f:
            next(f)
            for line in f:
                name, label = line.split(",")[:2]
                labels[name] = label
        files = [os.path.join(TRACES, n + ".csv") for n in sorted(labels)]
        r = run(["classify", "--json"] + files)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json_lines(r.stdout)
        self.assertEqual(len(out), 15)
        for obj in out:
            name = os.path.basename(obj["file"])[:-4]
            self.assertEqual(obj["verdict"], labels[name], name)
            for key in ("growth_bytes_per_hour", "confidence", "first_leak_at_s", "evidence"):
                self.assertIn(key, obj)
            self.assertTrue(0 <= obj["confidence"] <= 1)
            if obj["verdict"] == "leak":
                self.assertIsNotNone(obj["first_leak_at_s"])
            else:
                self.assertIsNone(obj["first_leak_at_s"])

    def test_fail_on_leak_exit_codes(self):
        leak = os.path.join(TRACES, "linear_leak.csv")
        flat = os.path.join(TRACES, "flat_noisy.csv")
        self.assertEqual(run(["classify", "--fail-on-leak", leak]).returncode, 3)
        self.assertEqual(run(["classify", "--fail-on-leak", flat]).returncode, 0)
        self.assertEqual(run(["classify", leak]).returncode, 0)

    def test_text_output_and_replay(self):
        r = run(["classify", "--replay", os.path.join(TRACES, "linear_leak.csv")])
        self.assertEqual(r.returncode, 0)
        self.assertIn("linear_leak.csv: LEAK +20.0 MiB/h", r.stdout)
        self.assertIn("verdict over time:", r.stdout)
        self.assertIn("leak, +", r.stdout)

    def test_limit_projection(self):
        r = run(["classify", "--json", "--limit", "1G", os.path.join(TRACES, "linear_leak.csv")])
        obj = json_lines(r.stdout)[0]
        self.assertEqual(obj["limit_bytes"], 1024 ** 3)
        self.assertGreater(obj["projected_limit_at_s"], 8 * 3600)

    def test_prometheus_range_query(self):
        values = [[1700000000 + 15 * i, str(300e6 + 5e4 * i + (i % 7) * 1e5)] for i in range(2000)]
        flat = [[1700000000 + 15 * i, str(300e6 + (i % 7) * 1e5)] for i in range(2000)]
        doc = {"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"__name__": "container_memory_working_set_bytes", "pod": "api-1"}, "values": values},
            {"metric": {"__name__": "container_memory_working_set_bytes", "pod": "db-1"}, "values": flat}]}}
        path = self.path("prom.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        r = run(["classify", "--json", path])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = {o["labels"]["pod"]: o for o in json_lines(r.stdout)}
        self.assertEqual(out["api-1"]["verdict"], "leak")
        self.assertEqual(out["db-1"]["verdict"], "healthy")
        self.assertIn('pod="api-1"', out["api-1"]["series"])

    def test_bad_input_is_a_clear_error(self):
        bad = self.path("bad.csv")
        with open(bad, "w") as f:
            f.write("t_seconds,rss_bytes\n0,100\n1,abc\n")
        r = run(["classify", bad])
        self.assertEqual(r.returncode, 1)
        self.assertIn("bad.csv:3:", r.stderr)
        self.assertIn("rss_bytes", r.stderr)

        empty = self.path("empty.csv")
        open(empty, "w").close()
        r = run(["classify", empty])
        self.assertEqual(r.returncode, 1)
        self.assertIn("empty.csv is empty", r.stderr)

        back = self.path("back.csv")
        with open(back, "w") as f:
            f.write("t_seconds,rss_bytes\n10,100\n5,100\n")
        r = run(["classify", back])
        self.assertEqual(r.returncode, 1)
        self.assertIn("back.csv:3: time goes backwards", r.stderr)

        r = run(["classify", self.path("missing.csv")])
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing.csv", r.stderr)

    def test_one_bad_file_does_not_lose_the_others(self):
        bad = self.path("bad.csv")
        with open(bad, "w") as f:
            f.write("nothing useful\n")
        r = run(["classify", bad, os.path.join(TRACES, "linear_leak.csv")])
        self.assertEqual(r.returncode, 1)
        self.assertIn("linear_leak.csv: LEAK", r.stdout)

    def test_nan_and_duplicates_are_stated(self):
        p = self.path("nan.csv")
        with open(p, "w") as f:
            f.write("t_seconds,rss_bytes\n")
            for i in range(100):
                f.write(f"{i},{'nan' if i == 50 else 1000000 + i}\n")
            f.write("99,1000099\n")
        r = run(["classify", p])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning", r.stderr)
        self.assertIn("dropped", r.stderr)

    def test_what_cannot_be_memory_or_time_is_refused_with_the_line(self):
        def classify(name, header, row):
            p = self.path(name)
            with open(p, "w") as f:
                f.write(header + "\n" + "".join(row(i) + "\n" for i in range(100)))
            return run(["classify", p])

        cases = [
            ("huge.csv", "t_seconds,rss_bytes", lambda i: f"{i},{1e30 * (1 + i / 100)}",
             ["huge.csv:2: rss_bytes is 1e+30, more than 2^60 bytes (1 EiB)"]),
            ("stretched.csv", "t_seconds,rss_bytes", lambda i: f"{i * 1e300},{1e9 + i * 1e6}",
             ["stretched.csv:3: t_seconds is 1e+300"]),
            ("ns.csv", "timestamp,rss_bytes",
             lambda i: f"{1795241955000000000 + i * 10**9},{1e9 + i * 1e6}",
             ["ns.csv:2: timestamp", "if it is Unix nanoseconds, divide it by 1e9"]),
        ]
        for name, header, row, messages in cases:
            r = classify(name, header, row)
            self.assertEqual(r.returncode, 1, name)
            self.assertNotIn("/h", r.stdout)
            for m in messages:
                self.assertIn(m, r.stderr)

        r = classify("ms.csv", "t_seconds,rss_bytes", lambda i: f"{i * 1000},{1e9 + i * 1e6}")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("t_seconds advances by 1000 per row (median)", r.stderr)
        self.assertIn("divide it by 1000", r.stderr)

    def test_prometheus_negative_values_are_refused_as_in_csv(self):
        values = [[1700000000 + 15 * i, str(300e6 - 1e9 * (i == 40))] for i in range(100)]
        doc = {"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"__name__": "mem", "pod": "api-1"}, "values": values}]}}
        p = self.path("prom.json")
        with open(p, "w") as f:
            json.dump(doc, f)
        r = run(["classify", p])
        self.assertEqual(r.returncode, 1)
        self.assertIn("sample 41: the value is negative (-700000000); a memory size cannot be",
                      r.stderr)

    def test_usage_errors_exit_2(self):
        self.assertEqual(run(["classify"]).returncode, 2)
        self.assertEqual(run(["nonsense"]).returncode, 2)
        r = run(["classify", "--limit", "lots", os.path.join(TRACES, "linear_leak.csv")])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--limit lots", r.stderr)


if __name__ == "__main__":
    unittest.main()
