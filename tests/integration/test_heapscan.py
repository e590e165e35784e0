"""The heap scan on real processes: `leakhunt snapshot PID --scan`, `paths`, `leaks` and
`record --all --leak-check`. heapscan_holders holds memory through a global container, a
thread_local container and an object reachable only from one thread's stack, and leaks direct,
indirect and cyclic blocks; `paths` must name each holder and `leaks` the exact leaks.
heapscan_lsan, built plainly and with clang -fsanitize=leak, must get the same leak report from
both tools. Scans must also be harmless: under threads that allocate at full speed, while a
thread forks, while the process exits, and when ptrace is forbidden (the process goes on)."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

from harness import BIN, Case, binary, json_lines, run

AGENT = os.path.join(os.path.dirname(BIN), "lib", "libleakhunt_agent.so")
HOLDERS = binary("heapscan_holders")
LSAN_PLAIN = binary("heapscan_lsan")
LSAN_BUILT = binary("heapscan_lsan_lsan")
FINDINGS = binary("heapscan_findings")
FINDINGS_LSAN = binary("heapscan_findings_lsan")

# heapscan_holders' leaks: (kind, function) -> (bytes, objects)
HOLDERS_LEAKS = {
    ("direct", "leak_buffers"): (4000, 10),
    ("direct", "make_parent"): (160, 5),
    ("indirect", "make_child"): (960, 20),
    ("indirect", "make_link"): (384, 6),
}


def agent_env(out_dir, interval=1):
    env = dict(os.environ)
    env["LD_PRELOAD"] = AGENT
    env["LEAKHUNT_OUT"] = out_dir
    env["LEAKHUNT_SAMPLE_INTERVAL"] = str(interval)
    return env


def function_name(frame_text):
    """'make_node(Node*)' -> 'make_node'."""
    return re.sub(r"\(.*$", "", frame_text).strip()


class ScanCase(Case):
    """Helpers shared by the scan tests: a victim under the agent, its scans and leak reports."""

    def start_binary(self, argv, interval=1):
        out = self.path("out")
        os.makedirs(out, exist_ok=True)
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True,
                             env=agent_env(out, interval))
        self.procs.append(p)
        self.assertEqual(p.stdout.readline().strip(), "ready")
        return p

    def finish(self, p):
        """The victim still works: it reads stdin, ends its threads and exits 0."""
        out, err = p.communicate("exit\n", timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out.strip().splitlines()[-1], "done")
        self.assertNotIn("leakhunt agent", err)

    def scan(self, pid):
        r = run(["snapshot", str(pid), "--scan"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        snapshot, scan = r.stdout.split()
        self.assertTrue(snapshot.endswith(".pb.gz") and os.path.exists(snapshot))
        self.assertTrue(scan.endswith(".scan") and os.path.exists(scan))
        self.assertIn("threads stopped for", r.stderr)
        return scan

    def leaks(self, scan, status=3):
        """{(type, function): (bytes, objects)} and the summary; `leaks` exits 3 if any leaked."""
        r = run(["leaks", scan, "--json"])
        self.assertEqual(r.returncode, status, r.stdout + r.stderr)
        rows = json_lines(r.stdout)
        by_site = {}
        for row in rows[:-1]:
            key = (row["type"], row["site"]["function"])
            b, n = by_site.get(key, (0, 0))
            by_site[key] = (b + row["bytes"], n + row["objects"])
        return by_site, rows[-1]


class HeapScan(ScanCase):
    def start_victim(self, *args, interval=1):
        return self.start_binary([HOLDERS, *args], interval)

    def paths(self, scan, site):
        r = run(["paths", scan, "--site", site, "--json", "--paths", "0"])
        self.assertEqual(r.returncode, 0, r.stderr)
        sites = [row for row in json_lines(r.stdout) if row["type"] == "site"]
        self.assertTrue(sites, f"no site matches {site}: {r.stdout}")
        return sites[0]

    # ---- naming the holder ----

    def test_names_global_tls_and_stack_holders(self):
        p = self.start_victim()
        # The main thread is blocked in read(2) on its stdin pipe while it is scanned; finish()
        # then proves the read went on (the interrupted syscall was restarted).
        for _ in range(100):
            with open(f"/proc/{p.pid}/syscall") as f:
                if f.read().startswith("0 "):
                    break
            time.sleep(0.02)
        else:
            self.fail("the victim's main thread is not blocked in read")
        scan = self.scan(p.pid)
        # (a) the global vector: g_sessions -> its buffer -> 1000 Session blocks
        s = self.paths(scan, "^make_session")
        self.assertEqual((s["count"], s["bytes"]), (1000, 1000 * 80))
        top = s["paths"][0]
        self.assertEqual(top["count"], 1000)
        # Named with its declaration, from DWARF: the line of g_sessions in the victim's source.
        src = os.path.join(os.path.dirname(__file__), "..", "victims", "heapscan", "heapscan_holders.cpp")
        with open(src) as f:
            line = next(i for i, text in enumerate(f, 1) if text.startswith("std::vector<Session*> g_sessions;"))
        self.assertEqual(top["root"], f"global g_sessions (heapscan_holders) at heapscan_holders.cpp:{line}")
        self.assertEqual([h["site"]["function"] for h in top["hops"]],
                         ["fill_sessions", "make_session"])
        self.assertEqual(top["hops"][0]["site"]["via"], "std::vector::reserve")
        # (b) the thread_local vector of the worker thread
        s = self.paths(scan, "^make_item")
        self.assertEqual((s["count"], s["bytes"]), (500, 500 * 80))
        top = s["paths"][0]
        # A few stale copies of recent items' addresses may sit in the worker's registers or
        # stack slots (the vector's growth leaves them there), and a block reached first through
        # such a copy is credited to that root: the TLS path must hold all but a handful.
        self.assertGreaterEqual(top["count"], 490)
        self.assertEqual(sum(p["count"] for p in s["paths"]), 500)
        self.assertRegex(top["root"], r"^TLS t_items \(heapscan_holders\) of thread \d+ ")
        self.assertEqual(top["hops"][-1]["site"]["function"], "make_item")
        # (c) the Holder reachable only from hold_on_stack's frame
        s = self.paths(scan, "^make_holder")
        self.assertEqual((s["count"], s["bytes"]), (1, 24))
        self.assertRegex(s["paths"][0]["root"], r"^stack of thread \d+ .* in hold_on_stack ")
        # and the Records behind it: held from the same thread's stack
        s = self.paths(scan, "^make_record")
        self.assertEqual(s["count"], 300)
        thread = re.search(r"thread \d+", self.paths(scan, "^make_holder")["paths"][0]["root"])[0]
        # The last Record's address may still sit in a register of that thread (the loop's last
        # make_record returned it there): a block reached first through it is credited to the
        # registers of the same thread. Any other holder is wrong.
        for path in s["paths"]:
            self.assertTrue(path["root"].startswith((f"stack of {thread} ", f"registers of {thread} ")),
                            path["root"])
        self.assertGreaterEqual(sum(p["count"] for p in s["paths"]
                                    if p["root"].startswith(f"stack of {thread} ")), 295)
        # The text output says it in words, biggest holder first.
        r = run(["paths", scan])
        self.assertEqual(r.returncode, 0, r.stderr)
        holders = r.stdout.split("Holders")[1].splitlines()[1]
        self.assertIn("global g_sessions", holders)
        self.assertIn("1,000 blocks (78.1 KiB) allocated in make_session (heapscan_holders.cpp:",
                      r.stdout)
        # A second scan against the first: nothing grew.
        later = self.scan(p.pid)
        r = run(["paths", later, "--base", scan, "--site", "^make_session", "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        site = [x for x in json_lines(r.stdout) if x["type"] == "site"][0]
        self.assertEqual(site["growth_bytes"], 0)
        self.finish(p)

    def test_leaks_direct_indirect_and_cycles(self):
        p = self.start_victim()
        scan = self.scan(p.pid)
        by_site, summary = self.leaks(scan)
        self.assertEqual(by_site, HOLDERS_LEAKS)
        self.assertEqual((summary["direct_bytes"], summary["direct_objects"]), (4160, 15))
        self.assertEqual((summary["indirect_bytes"], summary["indirect_objects"]), (1344, 26))
        r = run(["leaks", scan])
        self.assertEqual(r.returncode, 3)
        self.assertIn("Direct leak of 4000 byte(s) in 10 object(s) allocated from:\n"
                      "    #0 0x", r.stdout)
        self.assertIn(" in leak_buffers() ", r.stdout)
        self.assertIn("Indirect leak of 960 byte(s) in 20 object(s) allocated from:", r.stdout)
        self.assertIn("SUMMARY: leakhunt: 5504 byte(s) leaked in 41 allocation(s).", r.stdout)
        # The snapshot path finds the scan beside it.
        r2 = run(["leaks", scan[: -len(".scan")] + ".pb.gz"])
        self.assertEqual(r2.stdout, r.stdout)
        self.finish(p)

    # ---- agreement with LeakSanitizer ----

    def test_agrees_with_leaksanitizer(self):
        if not os.path.exists(LSAN_BUILT):
            self.skipTest("heapscan_lsan_lsan not built (needs clang and libclang-rt-14-dev)")
        # LeakSanitizer names frames only with llvm-symbolizer (scripts/install-deps.sh installs
        # it); say so rather than compare against a report without function names.
        symbolizer = shutil.which("llvm-symbolizer") or shutil.which("llvm-symbolizer-14")
        self.assertIsNotNone(symbolizer, "llvm-symbolizer is missing: run scripts/install-deps.sh")
        env = dict(os.environ)
        env["LSAN_OPTIONS"] = f"exitcode=23:external_symbolizer_path={symbolizer}"
        lsan = subprocess.run([LSAN_BUILT], capture_output=True, text=True, timeout=120, env=env)
        if "LeakSanitizer does not work under ptrace" in lsan.stderr or (
                lsan.returncode != 23 and "LeakSanitizer has encountered a fatal error" in lsan.stderr):
            self.skipTest("LeakSanitizer cannot run here: " + lsan.stderr.strip()[:200])
        self.assertEqual(lsan.returncode, 23, lsan.stderr)
        expected = self.lsan_report(lsan.stderr)
        out = self.path("rec")
        r = run(["record", "--all", "--leak-check", "-o", out, "--", LSAN_PLAIN], timeout=120)
        self.assertEqual(r.returncode, 3, r.stderr)  # the program exited 0 but leaked
        ours = self.lsan_report(r.stderr)
        self.assertEqual(ours, expected)
        self.assertEqual(expected["SUMMARY"], (8064, 41))
        self.assertEqual(expected[("direct", "leak_malloc")], (2560, 8))
        self.assertEqual(expected[("indirect", "make_link")], (256, 4))

    def lsan_report(self, text):
        """{(kind, first user function): (bytes, objects)} and the SUMMARY totals."""
        report = {}
        lines = text.splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\)", line)
            if not m:
                continue
            for frame in lines[i + 1:]:
                f = re.match(r"\s+#\d+ 0x[0-9a-f]+ in (\S+)", frame)
                if not f:
                    break
                name = function_name(f[1])
                if name in ("malloc", "calloc", "realloc") or name.startswith(("operator", "__")):
                    continue
                key = (m[1].lower(), name)
                b, n = report.get(key, (0, 0))
                report[key] = (b + int(m[2]), n + int(m[3]))
                break
        s = re.search(r"SUMMARY: \w+: (\d+) byte\(s\) leaked in (\d+) allocation\(s\)", text)
        self.assertIsNotNone(s, text)
        report["SUMMARY"] = (int(s[1]), int(s[2]))
        return report

    # ---- harmless ----

    def test_repeated_scans_under_allocation_churn(self):
        p = self.start_victim("--churn", "4")
        for i in range(10):
            scan = self.scan(p.pid)
            by_site, summary = self.leaks(scan)
            self.assertEqual(by_site, HOLDERS_LEAKS, f"scan {i}")
            r = run(["paths", scan, "--site", "^make_session", "--json"])
            site = [x for x in json_lines(r.stdout) if x["type"] == "site"][0]
            self.assertEqual(site["count"], 1000)
        self.assertIsNone(p.poll())
        self.finish(p)

    def test_scan_while_a_thread_forks(self):
        p = self.start_victim("--fork")
        for _ in range(5):
            by_site, _ = self.leaks(self.scan(p.pid))
            self.assertEqual(by_site, HOLDERS_LEAKS)
        self.finish(p)

    def test_scan_while_the_process_exits(self):
        p = self.start_victim("--churn", "2")
        p.stdin.write("exit\n")
        p.stdin.flush()
        outcomes = set()
        while p.poll() is None:
            r = run(["snapshot", str(p.pid), "--scan"], timeout=120)
            if r.returncode == 0:
                scan = r.stdout.split()[1]
                r2 = run(["leaks", scan, "--json"])
                self.assertIn(r2.returncode, (0, 3), r2.stderr)
                outcomes.add("scanned")
            else:
                self.assertEqual(r.returncode, 1)
                # Every way an exiting process can turn a request down (gone, socket closed
                # before or after connect, the agent's writer stopping), and nothing else.
                self.assertRegex(r.stderr, r"leakhunt: error: (no leakhunt agent answers|no process"
                                           r"|cannot talk to the agent in process"
                                           r"|the agent in process \d+ (did not answer"
                                           r"|could not write a snapshot)"
                                           r"|the snapshot was written, but the heap scan)")
                outcomes.add("refused")
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out.strip(), "done")
        self.assertTrue(outcomes)

    def test_ptrace_forbidden_says_why_and_leaves_the_process_alone(self):
        p = self.start_victim("--forbid-ptrace")
        r = run(["snapshot", str(p.pid), "--scan"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("the heap scan of process", r.stderr)
        self.assertIn("Operation not permitted", r.stderr)
        self.assertIn("seccomp mode 2", r.stderr)
        self.assertIn("no thread was left stopped", r.stderr)
        snapshot = r.stdout.strip()
        self.assertTrue(snapshot.endswith(".pb.gz") and os.path.exists(snapshot))
        self.assertFalse(os.path.exists(snapshot[: -len(".pb.gz")] + ".scan"))
        with open(f"/proc/{p.pid}/stat") as f:
            self.assertNotIn(") t ", f.read())  # not left in a tracing stop
        self.finish(p)

    def test_sampled_mode_cannot_scan(self):
        p = self.start_victim(interval=4096)
        r = run(["snapshot", str(p.pid), "--scan"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("needs full mode", r.stderr)
        self.finish(p)

    # ---- bad input ----

    def test_bad_files_and_options(self):
        bad = self.path("bad.scan")
        with open(bad, "w") as f:
            f.write("hello")
        r = run(["paths", bad])
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a leakhunt heap scan file", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        p = self.start_victim()
        scan = self.scan(p.pid)
        self.finish(p)
        with open(scan, "rb") as f:
            data = f.read()
        cut = self.path("cut.scan")
        with open(cut, "wb") as f:
            f.write(data[: len(data) // 2])
        r = run(["leaks", cut])
        self.assertEqual(r.returncode, 1)
        self.assertIn("truncated", r.stderr)
        r = run(["paths", scan, "--site", "("])
        self.assertEqual(r.returncode, 2)
        r = run(["record", "--leak-check", "--", "/bin/true"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--leak-check needs --all", r.stderr)
        snap = self.path("heap.1.0000.pb.gz")
        open(snap, "w").close()
        r = run(["paths", snap])
        self.assertEqual(r.returncode, 1)
        self.assertIn("has no heap scan beside it", r.stderr)


class ScanFindings(ScanCase):
    """heapscan_findings: the scan's roots. The loader's own blocks and a finished thread's
    descriptor are roots, glibc's main_arena is not, the program's own anonymous mappings are (but
    not malloc's mmap'd chunks), a leaked malloc(0) fails the check, and stale words in unrelated
    buffers do not take a list from the global that holds it. Where LeakSanitizer can judge the
    same program (built with clang -fsanitize=leak), both tools must agree."""

    def start(self, mode):
        return self.start_binary([FINDINGS, mode])

    def record(self, mode, status):
        """`record --all --leak-check` of a mode that exits: its report (HeapScan.lsan_report)."""
        out = self.path("rec-" + mode)
        r = run(["record", "--all", "--leak-check", "-o", out, "--", FINDINGS, mode], timeout=120)
        self.assertEqual(r.returncode, status, r.stderr)
        scans = [f for f in os.listdir(out) if f.endswith(".scan")]
        self.assertEqual(len(scans), 1, scans)
        return r, os.path.join(out, scans[0])

    def lsan(self, mode):
        """LeakSanitizer's report of the same mode, or None (and the test skips) if it cannot run."""
        if not os.path.exists(FINDINGS_LSAN):
            self.skipTest("heapscan_findings_lsan not built (needs clang and libclang-rt-14-dev)")
        env = dict(os.environ)
        env["LSAN_OPTIONS"] = "exitcode=23"
        r = subprocess.run([FINDINGS_LSAN, mode], capture_output=True, text=True, timeout=120,
                           env=env)
        if "LeakSanitizer does not work under ptrace" in r.stderr or (
                r.returncode not in (0, 23) and "LeakSanitizer has encountered a fatal error" in r.stderr):
            self.skipTest("LeakSanitizer cannot run here: " + r.stderr.strip()[:200])
        return r

    def test_the_loaders_own_blocks_are_no_leak(self):
        r, scan = self.record("loader", 0)
        self.assertIn("No leaks: every one of", r.stderr)
        summary = self.leaks(scan, 0)[1]
        # 10 joined threads' DTVs at least, and the module's scope and TLS.
        self.assertGreaterEqual(summary["loader_blocks"], 10)
        self.assertEqual(self.lsan("loader").returncode, 0)

    def test_a_block_below_the_top_chunk_is_a_leak(self):
        r, _ = self.record("top", 3)
        ours = HeapScan.lsan_report(self, r.stderr)
        self.assertEqual(ours, {("direct", "leak_last_block"): (1000, 1), "SUMMARY": (1000, 1)})
        lsan = self.lsan("top")
        self.assertEqual(lsan.returncode, 23, lsan.stderr)
        self.assertEqual(HeapScan.lsan_report(self, lsan.stderr), ours)

    def test_a_leaked_malloc0_fails_the_check(self):
        r, scan = self.record("malloc0", 3)
        self.assertIn("SUMMARY: leakhunt: 0 byte(s) leaked in 1 allocation(s).", r.stderr)
        by_site, summary = self.leaks(scan, 3)
        self.assertEqual(by_site, {("direct", "leak_zero_bytes"): (0, 1)})
        lsan = self.lsan("malloc0")
        self.assertEqual(lsan.returncode, 23, lsan.stderr)
        # LeakSanitizer counts the object too (it rounds malloc(0) up to 1 byte).
        self.assertEqual(HeapScan.lsan_report(self, lsan.stderr)["SUMMARY"][1], 1)

    def test_the_programs_own_mappings_are_roots(self):
        p = self.start("mapping")
        scan = self.scan(p.pid)
        by_site, summary = self.leaks(scan, 3)
        # The 200 blocks held from the region it mapped are not leaks; malloc's own mmap'd chunk
        # is no root: it leaks with the 5 blocks only it points to.
        self.assertEqual(by_site, {("direct", "leak_small"): (144, 3),
                                   ("direct", "leak_big_chunk"): (262144, 1),
                                   ("indirect", "make_held_by_big"): (320, 5)})
        self.assertGreaterEqual(summary["mapping_roots"], 1)
        r = run(["paths", scan, "--site", r"^make_in_mapping\b", "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        site = [x for x in json_lines(r.stdout) if x["type"] == "site"][0]
        self.assertEqual((site["count"], site["bytes"]), (200, 200 * 96))
        self.assertEqual(len(site["paths"]), 1)
        self.assertRegex(site["paths"][0]["root"], r"^anonymous mapping 0x[0-9a-f]+-0x[0-9a-f]+ ")
        r = run(["paths", scan])
        self.assertRegex(r.stdout, r"Roots: globals, TLS, thread stacks and registers, and \d+ "
                                   r"writable anonymous mappings? of the program's own")
        # Growth held that way shows against a base scan.
        p.stdin.write("more\n")
        p.stdin.flush()
        self.assertEqual(p.stdout.readline().strip(), "ready")
        later = self.scan(p.pid)
        r = run(["paths", later, "--base", scan, "--site", r"^make_in_mapping\b", "--json",
                 "--top", "0"])
        sites = [x for x in json_lines(r.stdout) if x["type"] == "site"]
        # Two call sites of make_in_mapping: the first 200 blocks, then the 100 more.
        self.assertEqual(sorted((x["count"], x["growth_bytes"]) for x in sites),
                         [(100, 100 * 96), (200, 0)])
        self.finish(p)

    def test_a_finished_thread_not_yet_joined_holds_its_argument_and_result(self):
        p = self.start("unjoined")
        by_site, summary = self.leaks(self.scan(p.pid), 0)
        self.assertEqual(by_site, {})
        self.assertEqual(summary["finished_threads"], 1)
        self.finish(p)

    def test_stale_words_do_not_take_a_list_from_its_global(self):
        p = self.start("holders")
        scan = self.scan(p.pid)
        r = run(["paths", scan, "--site", r"^make_node\b", "--json", "--paths", "0"])
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = json_lines(r.stdout)
        site = [x for x in rows if x["type"] == "site"][0]
        self.assertEqual((site["count"], site["bytes"]), (2000, 2000 * 32))
        top = site["paths"][0]
        self.assertTrue(top["root"].startswith("global g_list (heapscan_findings)"), top["root"])
        self.assertEqual(top["count"], 2000)
        self.assertTrue(top["hops"][-1]["repeated"])
        # One holder per variable: held[]'s 1620 slots are one line.
        holders = {h["root"]: h for h in rows if h["type"] == "holder"}
        held = [h for name, h in holders.items() if name.startswith("global held ")]
        self.assertEqual(len(held), 1, list(holders))
        self.assertEqual((held[0]["count"], held[0]["bytes"]), (1620, 1620 * 64))
        g_list = [h for name, h in holders.items() if name.startswith("global g_list ")]
        self.assertEqual((g_list[0]["count"], g_list[0]["bytes"]), (2000, 2000 * 32))
        self.finish(p)


if __name__ == "__main__":
    unittest.main()
