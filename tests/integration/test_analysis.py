"""`leakhunt suspects`, `diff` and `top` on real recordings: victims whose leak hides under heavy
churn or beside a bounded cache, and the demo service, run under `leakhunt record` (full mode or a
small sampling interval); suspects must name the leaking function first and call the churn
`churn` and the cache `plateau`. diff's pprof output must read in `go tool pprof` with the same
top growing function; mismatched profiles give one clear error."""
import glob
import gzip
import json
import os
import shutil
import socket
import subprocess
import time
import unittest

from harness import LEAKHUNT, TEST_DATA, Case, binary, free_port, json_lines, run


def snapshots(out):
    return sorted(glob.glob(os.path.join(out, "heap.*.pb.gz")))


def suspects(out, *extra):
    r = run(["suspects", "--json", "--all", out] + list(extra))
    assert r.returncode == 0, r.stderr
    return json_lines(r.stdout)


def shape_of(rows, function):
    return [r["shape"] for r in rows if r["function"] == function]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def cpu_profile(path):
    """A minimal pprof CPU profile (samples/count, cpu/nanoseconds) with no samples."""
    strings = [b"", b"samples", b"count", b"cpu", b"nanoseconds"]
    vt = lambda t, u: varint(1 << 3) + varint(t) + varint(2 << 3) + varint(u)
    body = field(1, vt(1, 2)) + field(1, vt(3, 4))
    for s in strings:
        body += field(6, s)
    with open(path, "wb") as f:
        f.write(gzip.compress(body))


class Suspects(Case):
    def record(self, name, argv, *opts, every=0.5):
        out = self.path(name)
        r = run(["record", "-o", out, "--snapshot-every", str(every)] + list(opts) + ["--"] +
                argv, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreaterEqual(len(snapshots(out)), int(4 / every), os.listdir(out))
        return out

    def test_leak_under_heavy_churn(self):
        # The churning site's total is new random noise at every snapshot. Over 12 snapshots such
        # noise passes for a trend (shrinking, plateau, growth) about 1 time in 350; over 24 about
        # 1 in 45000 (trend_test NoiseIsChurnAlmostAlways), so the test takes 24.
        out = self.record("churn", [binary("agent_churn_leak"), "--seconds", "6"], "--all",
                          every=0.25)
        rows = suspects(out)
        ranked = [r for r in rows if r["rank"] is not None]
        self.assertEqual(ranked[0]["function"], "site_leak_record", rows)
        self.assertEqual(ranked[0]["shape"], "steady growth")
        self.assertGreater(ranked[0]["confidence"], 0.9)
        self.assertGreater(ranked[0]["share_of_growth"], 0.9)
        # ~100 KiB/s of 512-byte records: 360 MiB/h, within the timing slack of the victim.
        self.assertAlmostEqual(ranked[0]["growth_bytes_per_hour"] / (100 * 1024 * 3600), 1.0,
                               delta=0.25)
        self.assertEqual(shape_of(rows, "site_churn_block"), ["churn"])
        text = run(["suspects", out])
        self.assertEqual(text.returncode, 0, text.stderr)
        first = text.stdout.splitlines()[1]
        self.assertIn("1. memory allocated in site_leak_record (", first)
        self.assertIn("monotone over", first)
        self.assertIn("Not ranked:", text.stdout)

    def test_bounded_cache_beside_a_slower_leak(self):
        out = self.record("cache", [binary("agent_cache_plateau"), "--seconds", "6"], "--all")
        rows = suspects(out)
        ranked = [r for r in rows if r["rank"] is not None]
        self.assertEqual(ranked[0]["function"], "site_slow_leak", rows)
        self.assertEqual(shape_of(rows, "site_cache_insert"), ["plateau"])
        self.assertNotIn("site_cache_insert", [r["function"] for r in ranked])

    def test_leaky_service(self):
        if shutil.which("wrk") is None:
            self.skipTest("wrk is not installed")
        port = free_port()
        out = self.path("service")
        rec = subprocess.Popen([LEAKHUNT, "record", "-o", out, "--snapshot-every", "0.5",
                                "--sample-interval", "64K", "--", binary("leaky_service"),
                                "--port", str(port), "--mode", "leak", "--leak-bytes", "2048",
                                "--threads", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
        self.procs.append(rec)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        subprocess.run(["wrk", "-t1", "-c2", "-d6s", f"http://127.0.0.1:{port}/session?user=7"],
                       capture_output=True, timeout=60)
        rec.terminate()
        rec.wait(timeout=30)
        self.assertGreaterEqual(len(snapshots(out)), 8, os.listdir(out))
        rows = suspects(out)
        ranked = [r for r in rows if r["rank"] is not None]
        self.assertTrue(ranked, rows)
        self.assertTrue(ranked[0]["file"].endswith("session_cache.cpp"), ranked[0])
        self.assertIn("SessionCache::remember", ranked[0]["function"])

    def test_too_few_snapshots(self):
        out = self.path("few")
        r = run(["record", "-o", out, "--", binary("agent_cache_plateau"), "--seconds", "0.2"])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run(["suspects", out])
        self.assertEqual(r.returncode, 1)
        self.assertIn("at least 3 snapshots", r.stderr)
        self.assertIn("found 1", r.stderr)
        self.assertIn("--snapshot-every", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)

    @unittest.skipUnless(shutil.which("node"), "node is not installed")
    def test_growth_in_the_runtimes_own_heap_is_said_not_ranked(self):
        # Node keeps JS objects in V8's heap, mapped by V8 itself: RSS grows by tens of MB while
        # the malloc heap the agent profiles barely moves. Ranking malloc's sites would be noise.
        # It exits at once when done: V8's teardown would hand the memory back before the end.
        script = ("const keep = []; const end = Date.now() + 5000;"
                  "setInterval(() => { for (let i = 0; i < 20000; i++)"
                  " keep.push({id: i, name: 'session-' + i + '-' + Date.now()});"
                  " if (Date.now() > end) process.exit(0); }, 50);")
        # --runtime native: the agent in node, not the inspector.
        out = self.record("node", ["node", "-e", script], "--runtime", "native")
        r = run(["suspects", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"RSS grew [0-9.]+ MiB, the profiled heap .* \(.*% of it\): "
                                   r"the growth is not in the heap these snapshots profile; it "
                                   r"is in the Node.js runtime's own heap \(V8\): take a heap "
                                   r"snapshot")
        self.assertIn("No allocation site is ranked", r.stdout)
        self.assertNotIn(" 1. ", r.stdout)
        rows = suspects(out)
        self.assertEqual([row for row in rows if row["rank"] is not None], [])
        j = run(["suspects", "--json", out])
        self.assertIn("the Node.js runtime's own heap", j.stderr)
        self.assertEqual(j.stdout, "")


class Diff(Case):
    def test_diff_matches_pprof(self):
        out = self.path("cache")
        r = run(["record", "-o", out, "--snapshot-every", "0.5", "--all", "--",
                 binary("agent_cache_plateau"), "--seconds", "3"])
        self.assertEqual(r.returncode, 0, r.stderr)
        snaps = snapshots(out)
        base, cur = snaps[0], snaps[-1]
        rows = json_lines(run(["diff", "--json", base, cur]).stdout)
        self.assertTrue(rows)
        before = {o["function"]: o["inuse_bytes"] for o in json_lines(run(["top", "--json", base]).stdout)}
        after = {o["function"]: o["inuse_bytes"] for o in json_lines(run(["top", "--json", cur]).stdout)}
        for row in rows:
            self.assertEqual(row["delta_bytes"], after.get(row["function"], 0) - before.get(row["function"], 0))
        deltas = [row["delta"] for row in rows]
        self.assertEqual(deltas, sorted(deltas, reverse=True))
        self.assertEqual(rows[0]["function"], "site_cache_insert")

        if shutil.which("go") is None:
            self.skipTest("go is not installed")
        diff = self.path("diff.pb.gz")
        r = run(["diff", "--format", "pprof", "-o", diff, base, cur])
        self.assertEqual(r.returncode, 0, r.stderr)
        env = dict(os.environ, HOME=self.dir, GOCACHE=self.path("gocache"), GOFLAGS="-mod=mod")
        g = subprocess.run(["go", "tool", "pprof", "-top", "-symbolize=none", diff],
                           capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(g.returncode, 0, g.stderr)
        lines = g.stdout.splitlines()
        header = next(i for i, l in enumerate(lines) if l.strip().startswith("flat"))
        self.assertIn("site_cache_insert", lines[header + 1])

    def test_mismatched_sample_types(self):
        base = os.path.join(TEST_DATA, "profile", "go_heap.pb.gz")
        cpu = self.path("cpu.pb.gz")
        cpu_profile(cpu)
        r = run(["diff", base, cpu])
        self.assertEqual(r.returncode, 1)
        self.assertIn(base, r.stderr)
        self.assertIn(cpu, r.stderr)
        self.assertIn("samples/count, cpu/nanoseconds", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)

    def test_pprof_format_needs_an_output(self):
        base = os.path.join(TEST_DATA, "profile", "go_heap.pb.gz")
        r = run(["diff", "--format", "pprof", base, base])
        self.assertEqual(r.returncode, 2)
        self.assertIn("-o FILE", r.stderr)


class Top(Case):
    def test_by_line_file_module_and_cum(self):
        out = self.path("cache")
        r = run(["record", "-o", out, "--all", "--", binary("agent_cache_plateau"), "--seconds",
                 "1"])
        self.assertEqual(r.returncode, 0, r.stderr)
        snap = snapshots(out)[-1]
        by_fn = {o["function"]: o for o in json_lines(run(["top", "--json", snap]).stdout)}
        # 1000 entries of 4 KiB: the cache is full after 1.5 s? not yet at 1 s: 666 or 667.
        cache = by_fn["site_cache_insert"]
        self.assertEqual(cache["inuse_bytes"], cache["inuse_objects"] * 4096)
        self.assertEqual(cache["flat"], cache["inuse_bytes"])
        lines = json_lines(run(["top", "--json", "--by", "line", snap]).stdout)
        cache_lines = [o for o in lines if o["function"] == "site_cache_insert"]
        self.assertEqual(len(cache_lines), 1)
        self.assertRegex(cache_lines[0]["name"], r"^site_cache_insert \S*agent_cache_plateau\.cpp:\d+$")
        self.assertEqual(cache_lines[0]["flat"], cache["inuse_bytes"])
        files = {o["name"]: o for o in json_lines(run(["top", "--json", "--by", "file", snap]).stdout)}
        src = [k for k in files if k.endswith("agent_cache_plateau.cpp")]
        self.assertEqual(len(src), 1)
        total = sum(o["inuse_bytes"] for o in by_fn.values())
        mods = json_lines(run(["top", "--json", "--by", "module", snap]).stdout)
        self.assertEqual(sum(o["flat"] for o in mods), total)
        cum = json_lines(run(["top", "--json", "--cum", snap]).stdout)
        self.assertEqual(cum[0]["cum"], total)  # main (or a frame above it) holds everything
        self.assertAlmostEqual(cum[0]["cum%"], 100.0)
        focus = json_lines(run(["top", "--json", "--focus", "site_slow", snap]).stdout)
        self.assertEqual([o["function"] for o in focus], ["site_slow_leak"])
        ignore = json_lines(run(["top", "--json", "--ignore", "site_slow", snap]).stdout)
        self.assertNotIn("site_slow_leak", [o["function"] for o in ignore])
        text = run(["top", "--by", "line", snap])
        self.assertIn("Showing", text.stdout)
        self.assertIn("lines", text.stdout.splitlines()[2])


def read_json(path):
    with open(path) as f:
        return json.load(f)


class RecordDirVerbs(Case):
    """Every verb takes a record directory as `suspects` and `report` do, saying on stderr which
    file it read; the exit snapshot is chosen by one rule, so `suspects` and `report` use the same
    snapshots; `record` writes manifest.json."""

    def record(self):
        out = self.path("rec")
        argv = [binary("agent_cache_plateau"), "--seconds", "1.5"]
        r = run(["record", "-o", out, "--all", "--leak-check", "--snapshot-every", "0.25", "--"] +
                argv, timeout=120)
        self.assertIn(r.returncode, (0, 3), r.stderr)
        with open(glob.glob(os.path.join(out, "timeline.*.csv"))[0]) as f:
            rows = [l.split(",") for l in f.read().splitlines()[1:]]
        exits = [row[6] for row in rows if row[5] == "exit"]
        self.assertEqual(len(exits), 1, rows)
        return out, argv, exits[0]

    def test_manifest_top_diff_paths_leaks_and_report_of_a_directory(self):
        out, argv, exit_snap = self.record()
        pid = int(exit_snap.split(".")[1])
        m = read_json(os.path.join(out, "manifest.json"))
        self.assertEqual((m["runtime"], m["capture"], m["command"], m["pid"], m["sampling"],
                          m["exit_snapshot"]),
                         ("native", "agent", argv, pid, "every allocation", exit_snap))
        self.assertLess(abs(m["start_unix"] - time.time()), 120)
        snaps = snapshots(out)
        self.assertEqual(os.path.basename(snaps[0]), f"heap.{pid}.0000.pb.gz")
        self.assertEqual(os.path.basename(snaps[-1]), exit_snap)

        # top DIR: the latest profile (here the exit snapshot), named on stderr.
        t = run(["top", "--json", out])
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertIn(f"{exit_snap}, the latest of {len(snaps)} profiles of PID {pid} (its exit "
                      "snapshot)", t.stderr)
        self.assertEqual(json_lines(t.stdout), json_lines(run(["top", "--json", snaps[-1]]).stdout))

        # classify DIR: the timeline.
        c = run(["classify", "--json", out])
        self.assertEqual(c.returncode, 0, c.stderr)
        timeline = os.path.join(out, f"timeline.{pid}.csv")
        self.assertIn(f"timeline.{pid}.csv, the timeline of PID {pid}", c.stderr)
        self.assertEqual(json_lines(c.stdout), json_lines(run(["classify", "--json", timeline]).stdout))

        # diff DIR: first -> last, the exit snapshot left out.
        d = run(["diff", "--json", out])
        self.assertEqual(d.returncode, 0, d.stderr)
        first, last = os.path.basename(snaps[0]), os.path.basename(snaps[-2])
        self.assertIn(f"{first} -> {last}, the first and the last of {len(snaps) - 1} profiles "
                      f"of PID {pid} (its exit snapshot {exit_snap} left out", d.stderr)
        self.assertEqual(json_lines(d.stdout),
                         json_lines(run(["diff", "--json", snaps[0], snaps[-2]]).stdout))
        r = run(["diff", out, snaps[0]])
        self.assertEqual(r.returncode, 2, r.stderr)

        # paths DIR and leaks DIR: the latest scan.
        scan = os.path.join(out, exit_snap.replace(".pb.gz", ".scan"))
        p = run(["paths", "--json", out])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"{os.path.basename(scan)}, the latest of 1 heap scan of PID {pid}", p.stderr)
        self.assertEqual(p.stdout, run(["paths", "--json", scan]).stdout)
        leaks_dir, leaks_file = run(["leaks", "--json", out]), run(["leaks", "--json", scan])
        self.assertEqual((leaks_dir.returncode, leaks_dir.stdout),
                         (leaks_file.returncode, leaks_file.stdout))

        # report takes the scan itself, and what `paths --json` wrote.
        paths_json = self.path("paths.json")
        with open(paths_json, "w") as f:
            f.write(p.stdout)
        for given, kind in ((scan, "heap scan"), (paths_json, "retention paths")):
            data = self.path("data.json")
            r = run(["report", given, "-o", self.path("r.html"), "--data", data])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(f"read {given} ({kind})", r.stdout)
            self.assertTrue(read_json(data)["retention_paths"], r.stdout)
        from_scan = self.path("a.json")
        from_paths = self.path("b.json")
        run(["report", scan, "-o", self.path("a.html"), "--data", from_scan])
        run(["report", paths_json, "-o", self.path("b.html"), "--data", from_paths])
        sites = lambda rows: [(r["root"], r["site"], [h["site"] for h in r["hops"]], r["blocks"],
                               r["bytes"]) for r in rows]
        self.assertEqual(sites(read_json(from_paths)["retention_paths"]),
                         sites(read_json(from_scan)["retention_paths"]))

    def test_suspects_and_report_use_the_same_snapshots(self):
        # Three snapshots, the last the exit one: `suspects` keeps it (it needs three), and the
        # report's suspects did not (they said "2 heap snapshots, 3 are needed").
        out, _, exit_snap = self.record()
        pid = exit_snap.split(".")[1]
        three = self.path("three")
        os.mkdir(three)
        keep = [os.path.basename(s) for s in snapshots(out)[:2]] + [exit_snap]
        for name in keep + ["manifest.json"]:
            shutil.copy(os.path.join(out, name), three)
        with open(os.path.join(out, f"timeline.{pid}.csv")) as f:
            lines = f.read().splitlines()
        with open(os.path.join(three, f"timeline.{pid}.csv"), "w") as f:
            f.write("\n".join([lines[0]] + [l for l in lines[1:] if l.split(",")[6] in keep]) + "\n")
        s = run(["suspects", "--json", three])
        self.assertEqual(s.returncode, 0, s.stderr)
        text = run(["suspects", three])
        self.assertIn("3 snapshots of", text.stdout)
        data = self.path("data.json")
        r = run(["report", three, "-o", self.path("r.html"), "--data", data])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("2 heap snapshots", r.stdout)
        self.assertIn("3 snapshots", r.stdout)
        doc = read_json(data)
        self.assertEqual(doc["suspects"] or [], json_lines(s.stdout))
        # The flame graphs still leave the exit snapshot out (two others remain).
        self.assertEqual(doc["flame"]["file"], keep[1])

    def test_a_directory_with_nothing_usable_names_it_and_what_to_run(self):
        empty = self.path("empty")
        os.mkdir(empty)
        for verb in ("top", "diff", "paths", "leaks", "classify"):
            r = run([verb, empty])
            self.assertEqual(r.returncode, 1, (verb, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn(f"{empty} holds no " +
                          ("timeline.PID.csv" if verb == "classify" else "recording"), r.stderr)
            self.assertIn("leakhunt record -o", r.stderr)
        # Profiles but no scan: paths says how to take one.
        out = self.path("noscan")
        r = run(["record", "-o", out, "--", binary("agent_cache_plateau"), "--seconds", "0.2"])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run(["paths", out])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"{out} holds no heap scan (heap.PID.NNNN.scan) of PID", r.stderr)
        self.assertIn("--scan", r.stderr)
        # One profile: diff says it needs two.
        r = run(["diff", out])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("diff needs two", r.stderr)
        # A scan given to top points to paths.
        r = run(["top", self.path("x.scan")])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("leakhunt paths", r.stderr)


if __name__ == "__main__":
    unittest.main()
