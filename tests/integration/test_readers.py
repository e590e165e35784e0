"""Integration tests of the heap profile readers against the real producers: gperftools'
libtcmalloc (HEAPPROFILE, heap_v2 sample), jemalloc (prof:true), a real Go service
(tests/victims/go/leaky_go.go) served over loopback HTTP, and `record --pprof-url`. `go tool
pprof -top` (Debian's golang-go) checks that pprof and leakhunt agree on the top function."""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import time
import unittest
import urllib.request

from harness import BIN, TEST_DATA, Case, binary, json_lines, run

LIBDIR = "/usr/lib/x86_64-linux-gnu"
TCMALLOC = os.path.join(LIBDIR, "libtcmalloc.so.4")
JEMALLOC = os.path.join(LIBDIR, "libjemalloc.so.2")
GO = shutil.which("go")
LEAKY_GO = binary("leaky_go")


def top_rows(target, *extra):
    r = run(["top", "--json", target, *extra])
    if r.returncode != 0:
        raise AssertionError(f"leakhunt top {target} failed: {r.stderr}")
    return json_lines(r.stdout)


def pprof_env(case):
    return dict(os.environ, GOFLAGS="", GOCACHE=case.path("gocache"), HOME=case.dir,
                PPROF_TMPDIR=case.dir, GOPROXY="off")


def pprof_total(case, path, sample_index):
    """The exact total `go tool pprof -top -unit=B` gives (bytes, or a count)."""
    r = subprocess.run([GO, "tool", "pprof", "-top", "-unit=B", f"-sample_index={sample_index}",
                        path], capture_output=True, text=True, timeout=120, env=pprof_env(case))
    case.assertEqual(r.returncode, 0, r.stderr)
    return int(re.search(r"of (\d+)B? total", r.stdout).group(1)), r.stdout


def pprof_top(case, path, sample_index="inuse_space"):
    """The first function of `go tool pprof -top` on path (offline, caches in the test dir)."""
    env = dict(os.environ, GOFLAGS="", GOCACHE=case.path("gocache"), HOME=case.dir,
               PPROF_TMPDIR=case.dir, GOPROXY="off")
    r = subprocess.run([GO, "tool", "pprof", "-top", f"-sample_index={sample_index}", path],
                       capture_output=True, text=True, timeout=120, env=env)
    case.assertEqual(r.returncode, 0, r.stderr)
    lines = r.stdout.splitlines()
    header = next(i for i, l in enumerate(lines) if l.strip().startswith("flat"))
    # flat flat% sum% cum cum% name...
    return lines[header + 1].split(None, 5)[5].strip(), r.stdout


class NativeAllocators(Case):
    """Profiles written by libtcmalloc and libjemalloc about victim_heapprof, whose leak is known:
    leak_blocks() keeps COUNT blocks of BYTES."""

    def victim(self, env, *args):
        r = subprocess.run([binary("victim_heapprof"), *args], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, **env))
        self.assertEqual(r.returncode, 0, r.stderr)

    @unittest.skipUnless(os.path.exists(TCMALLOC), "libtcmalloc (libgoogle-perftools4) missing")
    def test_gperftools_heapprofile_exact(self):
        self.victim({"LD_PRELOAD": TCMALLOC, "HEAPPROFILE": self.path("tc")}, "300", "4096")
        files = glob.glob(self.path("tc.*.heap"))
        self.assertEqual(len(files), 1, files)
        rows = top_rows(files[0])
        self.assertIn("leak_blocks", rows[0]["function"])
        self.assertEqual(rows[0]["inuse_bytes"], 300 * 4096)
        self.assertEqual(rows[0]["inuse_objects"], 300)
        self.assertTrue(rows[0]["file"].endswith("victim_heapprof.cpp"), rows[0])

    @unittest.skipUnless(os.path.exists(TCMALLOC), "libtcmalloc (libgoogle-perftools4) missing")
    def test_gperftools_heap_v2_sample(self):
        out = self.path("sample.heap")
        r = subprocess.run([binary("victim_tcmalloc_sample"), "1000", "65536", out],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, TCMALLOC_SAMPLE_PARAMETER="65536"))
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            self.assertTrue(f.readline().rstrip().endswith("@ heap_v2/65536"))
        rows = top_rows(out)
        self.assertIn("leak_blocks", rows[0]["function"])
        # Sampled: each sampled 64 KiB block stands for 1/(1-e^-1) = 1.58 blocks. gperftools
        # samples less than its nominal rate at the start; the estimate is within 50%.
        self.assertGreater(rows[0]["inuse_bytes"], 0.5 * 1000 * 65536)
        self.assertLess(rows[0]["inuse_bytes"], 1.5 * 1000 * 65536)

    @unittest.skipUnless(os.path.exists(JEMALLOC), "libjemalloc2 missing")
    def test_jemalloc_heap_v2_exact(self):
        conf = f"prof:true,lg_prof_sample:0,prof_final:true,prof_prefix:{self.path('je')}"
        self.victim({"LD_PRELOAD": JEMALLOC, "MALLOC_CONF": conf}, "300", "4096")
        files = glob.glob(self.path("je.*.heap"))
        self.assertEqual(len(files), 1, files)
        with open(files[0]) as f:
            self.assertEqual(f.readline().strip(), "heap_v2/1")
        rows = top_rows(files[0])
        self.assertIn("leak_blocks", rows[0]["function"])
        self.assertEqual(rows[0]["inuse_bytes"], 300 * 4096)
        self.assertEqual(rows[0]["inuse_objects"], 300)

    @unittest.skipUnless(os.path.exists(JEMALLOC), "libjemalloc2 missing")
    def test_jemalloc_sampled_is_unsampled(self):
        # lg_prof_sample:16 samples every 64 KiB on average: 2000 blocks of 64 KiB give ~1264
        # samples, each standing for 1/(1-e^-1) = 1.58 blocks; the estimate's standard error is
        # ~1.3%, so 10% is > 7 sigma.
        conf = ("prof:true,lg_prof_sample:16,prof_final:true,"
                f"prof_prefix:{self.path('je')}")
        self.victim({"LD_PRELOAD": JEMALLOC, "MALLOC_CONF": conf}, "2000", "65536")
        heap = glob.glob(self.path("je.*.heap"))[0]
        with open(heap) as f:
            self.assertEqual(f.readline().strip(), "heap_v2/65536")
        rows = top_rows(heap)
        self.assertEqual(rows[0]["function"], "leak_blocks")
        self.assertAlmostEqual(rows[0]["inuse_bytes"] / (2000 * 65536), 1.0, delta=0.1)

    @unittest.skipUnless(GO, "go (golang-go) is not installed")
    def test_pprof_names_the_functions_of_a_recorded_snapshot(self):
        out = self.path("rec")
        r = run(["record", "--all", "-o", out, "--", binary("victim_heapprof"), "300", "4096"])
        self.assertEqual(r.returncode, 0, r.stderr)
        snaps = sorted(glob.glob(os.path.join(out, "heap.*.pb.gz")))
        self.assertTrue(snaps, r.stderr)
        top = top_rows(snaps[-1])[0]
        self.assertEqual(top["function"], "leak_blocks")
        self.assertEqual(top["inuse_bytes"], 300 * 4096)
        # (a) `record` symbolizes what the agent wrote (in leakhunt, not in the target): Debian's
        # go tool pprof (1.19), whose DWARF reader leaves GCC's C/C++ functions nameless, names
        # the function from the snapshot itself, with our flat bytes.
        theirs, text = pprof_top(self, snaps[-1])
        self.assertEqual(theirs, top["function"], text)
        self.assertIn("1.17MB", text)  # 300 x 4096 bytes, in pprof's binary megabytes
        # (b) Symbolizing it again changes nothing pprof sees.
        sym = self.path("sym.pb.gz")
        r = run(["symbolize", snaps[-1], "-o", sym])
        self.assertEqual(r.returncode, 0, r.stderr)
        theirs, text = pprof_top(self, sym)
        self.assertEqual(theirs, top["function"], text)

    @unittest.skipUnless(GO, "go (golang-go) is not installed")
    def test_symbolize_a_directory_the_agent_wrote_in_place(self):
        # The agent preloaded by hand (no `record`) writes raw addresses; `symbolize DIR`
        # rewrites every snapshot in place so that pprof names the function.
        out = self.path("raw")
        os.mkdir(out)
        agent = os.path.join(os.path.dirname(BIN), "lib", "libleakhunt_agent.so")
        env = dict(os.environ, LD_PRELOAD=agent, LEAKHUNT_OUT=out, LEAKHUNT_SAMPLE_INTERVAL="1")
        r = subprocess.run([binary("victim_heapprof"), "300", "4096"], capture_output=True,
                           text=True, timeout=60, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        snaps = sorted(glob.glob(os.path.join(out, "heap.*.pb.gz")))
        self.assertEqual(len(snaps), 1, os.listdir(out))
        theirs, text = pprof_top(self, snaps[0])
        self.assertNotEqual(theirs, "leak_blocks", text)  # raw: pprof cannot name it
        r = run(["symbolize", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1 of 1 snapshots symbolized in place", r.stderr)
        theirs, text = pprof_top(self, snaps[0])
        self.assertEqual(theirs, "leak_blocks", text)
        # -o is for one profile; a directory without snapshots is named.
        r = run(["symbolize", out, "-o", self.path("x.pb.gz")])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("symbolized in place; -o is for one profile", r.stderr)
        empty = self.path("empty")
        os.mkdir(empty)
        r = run(["symbolize", empty])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("has no heap snapshots", r.stderr)
        r = run(["symbolize", snaps[0]])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("-o OUT.pb.gz is needed", r.stderr)

    @unittest.skipUnless(GO and os.path.exists(JEMALLOC), "go or libjemalloc2 missing")
    def test_jemalloc_profile_symbolized_for_pprof(self):
        conf = f"prof:true,lg_prof_sample:0,prof_final:true,prof_prefix:{self.path('je')}"
        self.victim({"LD_PRELOAD": JEMALLOC, "MALLOC_CONF": conf}, "300", "4096")
        heap = glob.glob(self.path("je.*.heap"))[0]
        sym = self.path("je.pb.gz")
        r = run(["symbolize", heap, "-o", sym])
        self.assertEqual(r.returncode, 0, r.stderr)
        theirs, text = pprof_top(self, sym)
        self.assertEqual(theirs, top_rows(heap)[0]["function"], text)
        self.assertEqual(theirs, "leak_blocks", text)


@unittest.skipUnless(os.path.exists(LEAKY_GO), "leaky_go was not built (go missing)")
class GoService(Case):
    """leaky_go leaks 64 KiB blocks in main.leakyCache and serves net/http/pprof on loopback."""

    def start_go(self, *args):
        p = subprocess.Popen([LEAKY_GO, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, start_new_session=True)
        self.procs.append(p)
        line = p.stdout.readline().strip()
        self.assertTrue(line.startswith("ready http://"), line)
        base = line.split(" ", 1)[1]
        time.sleep(0.3)  # a few leaks in
        return base + "/debug/pprof/heap"

    def test_reads_the_profile_over_http_and_agrees_with_pprof(self):
        url = self.start_go()
        rows = top_rows(url)
        self.assertEqual(rows[0]["function"], "main.leakyCache")
        self.assertGreaterEqual(rows[0]["inuse_bytes"], 65536)
        self.assertEqual(rows[0]["file"].rsplit("/", 1)[-1], "leaky_go.go")
        # The same bytes, saved, read by us and by go tool pprof.
        saved = self.path("go.pb.gz")
        with urllib.request.urlopen(url, timeout=30) as reply, open(saved, "wb") as f:
            f.write(reply.read())
        ours = top_rows(saved)[0]
        if GO:
            theirs, text = pprof_top(self, saved)
            self.assertEqual(ours["function"], theirs, text)
            theirs, text = pprof_top(self, saved, "alloc_space")
            self.assertEqual(top_rows(saved, "--sample-index", "alloc_space")[0]["function"],
                             theirs, text)

    def test_goroutine_profile_is_ranked_by_its_own_type(self):
        url = self.start_go().replace("/heap", "/goroutine")
        saved = self.path("goroutine.pb.gz")
        with urllib.request.urlopen(url, timeout=30) as reply, open(saved, "wb") as f:
            f.write(reply.read())
        rows = top_rows(saved, "--top", "0")
        self.assertEqual(rows, top_rows(saved, "--top", "0", "--sample-index", "goroutine"))
        text = run(["top", saved])
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("Type: goroutine", text.stdout)
        r = run(["top", "--sample-index", "inuse_space", saved])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("has no sample type inuse_space (it has: goroutine); choose one of those "
                      "with --sample-index", r.stderr)
        if GO:
            total, out = pprof_total(self, saved, "goroutine")
            self.assertEqual(sum(row["flat"] for row in rows), total, out)
            theirs, out = pprof_top(self, saved, "goroutine")
            self.assertEqual(rows[0]["function"], theirs, out)

    def test_a_page_that_is_not_a_profile_is_one_clear_error(self):
        url = self.start_go().replace("/heap", "/")  # the HTML index of net/http/pprof
        r = run(["top", url])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn(f"cannot read {url}: not a heap profile leakhunt can read", r.stderr)
        self.assertIn('the file starts with "<html>', r.stderr)

    def test_reads_the_debug1_text_over_http(self):
        url = self.start_go("-rate", "4096")
        rows = top_rows(url + "?debug=1")
        self.assertEqual(rows[0]["function"], "main.leakyCache")

    def test_record_pprof_url_writes_count_snapshots(self):
        url = self.start_go()
        out = self.path("rec")
        r = run(["record", "--pprof-url", url, "--snapshot-every", "0.2s", "--count", "3",
                 "-o", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--count 3 reached: wrote 3 snapshots", r.stderr)
        snaps = sorted(glob.glob(os.path.join(out, "heap.*.0*.pb.gz")))
        self.assertEqual(len(snaps), 3, os.listdir(out))
        self.assertFalse(glob.glob(os.path.join(out, "*.tmp*")))
        # Numbered from 0000, as native recordings are.
        pid = re.match(r"heap\.(\d+)\.0000\.pb\.gz", os.path.basename(snaps[0])).group(1)
        self.assertEqual([os.path.basename(s) for s in snaps],
                         [f"heap.{pid}.{i:04}.pb.gz" for i in range(3)])
        # The service is on this host: its PID names the files and its RSS is in the timeline.
        self.assertEqual(int(pid), self.procs[-1].pid)
        with open(os.path.join(out, "manifest.json")) as f:
            m = json.load(f)
        self.assertEqual((m["runtime"], m["capture"], m["pid"], m["command"], m["exit_snapshot"],
                          m["extra"]["url"]), ("go", "pprof-url", int(pid), [], None, url))
        self.assertIn(f"the service is pid {pid} on this host", r.stderr)
        with open(os.path.join(out, f"timeline.{pid}.csv")) as f:
            lines = f.read().splitlines()
        # The Go columns follow the standard ones (tests/integration/test_go.py checks them).
        self.assertEqual(lines[0], "timestamp,rss_bytes,heap_inuse_bytes,heap_inuse_objects,"
                                   "agent_bytes,reason,snapshot,goroutines,go_heap_inuse_bytes,"
                                   "go_heap_idle_bytes,go_heap_released_bytes,go_heap_sys_bytes,"
                                   "go_gc_count,go_gc_pause_total_s")
        self.assertEqual(len(lines), 4)
        inuse = [int(l.split(",")[2]) for l in lines[1:]]
        rss = [int(l.split(",")[1]) for l in lines[1:]]
        self.assertTrue(all(r > i for r, i in zip(rss, inuse)), lines)
        self.assertEqual([l.split(",")[6] for l in lines[1:]],
                         [os.path.basename(s) for s in snaps])
        self.assertLess(inuse[0], inuse[2])  # the leak grows
        # The last snapshot's in-use total is the sum leakhunt top reports.
        rows = top_rows(snaps[-1])
        self.assertEqual(sum(r["inuse_bytes"] for r in rows), inuse[2])
        self.assertEqual(rows[0]["function"], "main.leakyCache")
        if GO:
            theirs, text = pprof_top(self, snaps[-1])
            self.assertEqual(theirs, "main.leakyCache", text)

    def test_record_pprof_url_stops_on_sigterm(self):
        url = self.start_go()
        out = self.path("rec")
        p = subprocess.Popen([os.path.join(BIN, "leakhunt"), "record", "--pprof-url", url,
                              "--snapshot-every", "0.2s", "-o", out],
                             stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while not glob.glob(os.path.join(out, "heap.*.0002.pb.gz")) and time.time() < deadline:
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("terminated: wrote", err)

    def test_record_pprof_url_gives_up_after_failures(self):
        url = self.start_go()
        r = run(["record", "--pprof-url", url.replace("/heap", "/nope"), "--snapshot-every",
                 "0.1s", "--max-failures", "3", "-o", self.path("rec")])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stderr.count("leakhunt: warning: pull"), 3, r.stderr)
        self.assertIn("the server answered HTTP 404", r.stderr)
        self.assertIn("gave up after 3 failed pulls in a row", r.stderr)


class PprofTestDataFormats(Case):
    """Hand-written files in the layouts of pprof's own test data (tests/data/profile/README.md),
    checked against `go tool pprof` where it is installed."""

    def test_empty_stack_is_the_unknown_row_and_counts_in_the_total(self):
        path = os.path.join(TEST_DATA, "profile", "go_legacy_empty_stack.heap")
        rows = top_rows(path, "--top", "0")
        unknown = [r for r in rows if r["name"] == "(unknown)"]
        self.assertEqual(len(unknown), 1, rows)
        self.assertEqual(unknown[0]["inuse_bytes"], 1048672)
        self.assertEqual(sum(r["inuse_bytes"] for r in rows), 2402883)
        self.assertAlmostEqual(sum(r["flat%"] for r in rows), 100.0, places=6)
        text = run(["top", path])
        self.assertIn("(100.00%) of 2.29 MiB total", text.stdout)
        if GO:
            total, out = pprof_total(self, path, "inuse_space")
            self.assertEqual(total, 2402883, out)

    def test_short_memory_map_with_source_attribute(self):
        path = os.path.join(TEST_DATA, "profile", "gperftools_memory_map.heap")
        rows = top_rows(path, "--top", "0")
        self.assertEqual(sum(r["inuse_bytes"] for r in rows), 1065045 + 1577476)
        # Unsymbolized (the binary is not here), but mapped: named after the mapping's file.
        self.assertEqual({r["module"] for r in rows}, {"leaky_server"}, rows)
        if GO:
            total, out = pprof_total(self, path, "space")
            self.assertEqual(total, 1065045 + 1577476, out)

    def test_growthz_is_a_kind_not_read(self):
        path = self.path("cpp.growth")
        with open(path, "w") as f:
            f.write("heap profile:     85: 178257920 [    85: 178257920] @ growthz\n"
                    "     1:  2097152 [     1:  2097152] @ 0xb83003 0xb87d50 0xc635f0\n")
        r = run(["top", path])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn(f"cannot read {path}:1: it is a gperftools `growthz` profile", r.stderr)
        self.assertIn("a kind leakhunt does not read", r.stderr)
        self.assertNotIn("corrupt", r.stderr)


class RecordUsage(Case):
    def test_usage_errors_exit_2(self):
        url = "http://127.0.0.1:1/debug/pprof/heap"
        for args in (["record", "--pprof-url", url, "-o", self.path("x"), "--", "true"],
                     ["record", "--pprof-url", "ftp://x/y", "-o", self.path("x")],
                     ["record", "--pprof-url", "http://host:0/x", "-o", self.path("x")],
                     ["record", "--pprof-url", url, "--all", "-o", self.path("x")],
                     ["record", "--count", "3", "--", "true"]):
            r = run(args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn("usage error", r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_unreachable_url_is_one_clear_error(self):
        r = run(["top", "http://127.0.0.1:1/debug/pprof/heap"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("leakhunt: error: cannot fetch http://127.0.0.1:1/debug/pprof/heap",
                      r.stderr)

    def test_bad_files_are_one_clear_error(self):
        cases = {"empty.heap": b"", "text.txt": b"hello world, not a profile\n",
                 "trunc.heap": b"heap_v2/1\n  t*: 1: 2 [0: 0]\n@ 0x1\n"}
        for name, content in cases.items():
            with open(self.path(name), "wb") as f:
                f.write(content)
            r = run(["top", self.path(name)])
            self.assertEqual(r.returncode, 1, name)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn(f"cannot read {self.path(name)}", r.stderr)


if __name__ == "__main__":
    unittest.main()
