"""libleakhunt_agent.so and `leakhunt record` / `snapshot` on real processes: every victim
(fork, exec, posix_spawn, vfork, dlopen, constructors and destructors, exit paths, signal
handlers that allocate, threads, jemalloc and tcmalloc) keeps its exit status and output under the
agent in both modes; real programs run unchanged; snapshots are written on request, periodically,
at exit and by forked children; --follow-children carries the agent across exec."""
import csv
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import agent_victims
from harness import BIN, LEAKHUNT, Case, binary, free_port, json_lines, run

AGENT = os.environ.get("LEAKHUNT_AGENT") or os.path.join(os.path.dirname(BIN), "lib", "libleakhunt_agent.so")


def agent_env(out_dir, interval):
    env = dict(os.environ)
    env["LD_PRELOAD"] = AGENT
    env["LEAKHUNT_OUT"] = out_dir
    env["LEAKHUNT_SAMPLE_INTERVAL"] = str(interval)
    return env


def timelines(out_dir):
    return sorted(glob.glob(os.path.join(out_dir, "timeline.*.csv")))


def timeline_rows(path):
    with open(path) as f:
        lines = f.read().splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","))) for line in lines[1:]]


class Victims(Case):
    def check_victim(self, name, interval):
        v = agent_victims.VICTIMS[name]
        if not agent_victims.available(name):
            self.skipTest(f"{v['binary']} was not built")
        cmd = agent_victims.argv(name)
        base = subprocess.run(cmd, capture_output=True, text=True, timeout=v["timeout"])
        self.assertEqual(base.returncode, v["returncode"], f"{name} without the agent")
        out = self.path(f"{name}-{interval}")
        os.mkdir(out)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=v["timeout"] * 4,
                           env=agent_env(out, interval))
        self.assertEqual(r.returncode, v["returncode"], f"{name} under the agent: {r.stderr}")
        if v["stdout_identical"]:
            self.assertEqual(r.stdout, base.stdout, name)
        self.assertNotIn("leakhunt agent", r.stderr, name)  # the agent had nothing to complain of
        return out

    def test_every_victim_in_full_mode(self):
        for name in agent_victims.VICTIMS:
            with self.subTest(name=name):
                self.check_victim(name, 1)

    def test_every_victim_in_sampled_mode(self):
        for name in agent_victims.VICTIMS:
            with self.subTest(name=name):
                self.check_victim(name, 4096)

    def test_agent_failure_says_one_line_and_the_program_goes_on(self):
        cmd = agent_victims.argv("ctor_dtor")
        base = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                           env=agent_env("/nonexistent/leakhunt-out", 1))
        self.assertEqual(r.returncode, base.returncode)
        self.assertEqual(r.stdout, base.stdout)
        lines = [l for l in r.stderr.splitlines() if l.startswith("leakhunt agent")]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("cannot write /nonexistent/leakhunt-out/heap.", lines[0])

    def test_program_that_closes_every_descriptor(self):
        """The agent's descriptors vanish under it: no spinning, no stolen connections, no SIGPIPE;
        `snapshot` fails with a clear message and the exit snapshot is still written."""
        out = self.path("daemon")
        os.mkdir(out)
        script = os.path.join(os.path.dirname(__file__), "daemon_closes_fds.py")
        p = subprocess.Popen([sys.executable, script], stdout=subprocess.PIPE, text=True,
                             env=agent_env(out, 4096))
        time.sleep(0.8)
        snap = run(["snapshot", str(p.pid), "--timeout", "3s"])
        self.assertEqual(snap.returncode, 1, snap.stderr)
        # Before the agent's poll notices its socket is gone the connection is accepted and not
        # answered; after, it is refused: two messages, both right.
        self.assertRegex(snap.stderr, rf"(agent in process|agent answers in process) {p.pid}\b")
        _, status, usage = os.wait4(p.pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertEqual(p.stdout.read(), "ok\n")
        p.stdout.close()
        self.assertLess(usage.ru_utime + usage.ru_stime, 1.0)  # it sleeps 1.5 s: no busy loop
        self.assertEqual(len(timelines(out)), 1)

    def test_agent_copied_under_another_name_records(self):
        # The agent knows itself in LD_PRELOAD by its file, not by its name: a copy under any
        # name (a benchmark pinning one build, a package renaming it) records, and leaves the
        # environment of the programs it starts without itself.
        copy = self.path("pinned-agent.so")
        shutil.copy(AGENT, copy)
        out = self.path("copy-out")
        os.mkdir(out)
        env = agent_env(out, 1)
        env["LD_PRELOAD"] = copy
        r = subprocess.run(["/usr/bin/env"], capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Dropped from the environment that the program passes on (and sees).
        self.assertIn("\nLD_PRELOAD=\n", "\n" + r.stdout)
        self.assertEqual(len(timelines(out)), 1, os.listdir(out))

    def test_exit_snapshot_is_written_for_normal_exits(self):
        out = self.check_victim("fork", 1)
        # The parent writes at exit; children leave through _exit and write nothing.
        self.assertEqual(len(timelines(out)), 1)


def have(tool):
    return shutil.which(tool) is not None


class RealPrograms(Case):
    """Real programs give the same output with and without the agent, in both modes."""

    def same(self, cmd, interval, cwd=None, env_extra=None, timeout=300, input_text=None):
        env = dict(os.environ)
        if env_extra:
            env.update(env_extra)
        base = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                              env=env, input=input_text)
        out = tempfile.mkdtemp(dir=self.dir)
        aenv = agent_env(out, interval)
        if env_extra:
            aenv.update(env_extra)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                           env=aenv, input=input_text)
        self.assertEqual(r.returncode, base.returncode, f"{cmd}: {r.stderr[-2000:]}")
        self.assertEqual(r.stdout, base.stdout, cmd)
        self.assertTrue(timelines(out), f"{cmd}: the agent wrote nothing")
        return r

    def test_python(self):
        script = ("import hashlib, json\n"
                  "d = {str(i): [i] * (i % 7) for i in range(200000)}\n"
                  "print(hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest())\n")
        for interval in (1, 524288):
            self.same([sys.executable, "-c", script], interval)

    @unittest.skipUnless(have("node"), "node is not installed")
    def test_node(self):
        js = ("const m = new Map(); for (let i = 0; i < 200000; i++) m.set('k' + i, {i, s: 'x'.repeat(i % 50)});"
              "let t = 0; for (const [k, v] of m) t += v.s.length + k.length; console.log(m.size, t);")
        for interval in (1, 524288):
            self.same(["node", "-e", js], interval)

    @unittest.skipUnless(have("git"), "git is not installed")
    def test_git(self):
        repo = os.path.join(self.dir, "repo")
        os.mkdir(repo)
        env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@t", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
               "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        for i in range(20):
            with open(os.path.join(repo, f"f{i}.txt"), "w") as f:
                f.write("line\n" * (i + 1))
        subprocess.run(["git", "add", "."], cwd=repo, check=True)
        subprocess.run(["git", "commit", "-qm", "one"], cwd=repo, check=True, env={**os.environ, **env})
        for interval in (1, 524288):
            self.same(["git", "log", "--stat", "--format=%H %s"], interval, cwd=repo)
            self.same(["git", "fsck", "--full"], interval, cwd=repo)

    @unittest.skipUnless(have("g++"), "g++ is not installed")
    def test_gxx(self):
        src = os.path.join(self.dir, "prog.cpp")
        with open(src, "w") as f:
            f.write("#include <map>\n#include <string>\n#include <iostream>\n"
                    "int main() { std::map<std::string, int> m; for (int i = 0; i < 1000; ++i)"
                    " m[std::to_string(i)] = i; std::cout << m.size() << '\\n'; }\n")
        for interval in (1, 524288):
            exe = os.path.join(self.dir, f"prog{interval}")
            self.same(["g++", "-O1", "-o", exe, src], interval, env_extra={"LEAKHUNT_FOLLOW_CHILDREN": "1"})
            self.assertEqual(subprocess.run([exe], capture_output=True, text=True).stdout, "1000\n")

    @unittest.skipUnless(have("redis-server") and have("redis-cli"), "redis is not installed")
    def test_redis_server(self):
        for interval in (1, 524288):
            out = tempfile.mkdtemp(dir=self.dir)
            port = free_port()
            server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                                       "--appendonly", "no", "--bind", "127.0.0.1"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      env=agent_env(out, interval), start_new_session=True)
            try:
                for _ in range(100):
                    self.assertIsNone(server.poll(), f"redis-server exited on port {port}")
                    if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                                      text=True).stdout.strip() == "PONG":
                        break
                    time.sleep(0.1)
                cmds = "".join(f"SET k{i} {'v' * (i % 40 + 1)}\n" for i in range(2000))
                r = subprocess.run(["redis-cli", "-p", str(port)], input=cmds + "DBSIZE\nGET k1999\n",
                                   capture_output=True, text=True, timeout=60)
                self.assertTrue(r.stdout.strip().endswith("2000\n" + "v" * 40), r.stdout[-200:])
                snap = run(["snapshot", str(server.pid)])
                self.assertEqual(snap.returncode, 0, snap.stderr)
                self.assertTrue(os.path.exists(snap.stdout.strip()))
            finally:
                server.terminate()
                server.wait(timeout=30)
            self.assertTrue(timelines(out))


UNWIND_LINE = r"unwind check: (\d+) stacks, (\d+) by libunwind alone, (\d+) differ"


class Unwind(Case):
    """The agent's own CFI walker gives, stack for stack, what libunwind gives
    (LEAKHUNT_UNWIND=check runs both on every allocation and counts the stacks that differ)."""

    def checked(self, cmd, timeout=300, cwd=None, env_extra=None):
        out = tempfile.mkdtemp(dir=self.dir)
        env = agent_env(out, 1)
        env["LEAKHUNT_UNWIND"] = "check"
        if env_extra:
            env.update(env_extra)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
        lines = re.findall(UNWIND_LINE, r.stderr)
        self.assertNotIn("stacks differ", r.stderr, f"{cmd}: {r.stderr[-3000:]}")
        totals = [sum(int(x[i]) for x in lines) for i in range(3)]
        self.assertEqual(totals[2], 0, r.stderr[-3000:])
        return r, lines, totals

    def test_every_victim(self):
        stacks = 0
        for name, v in agent_victims.VICTIMS.items():
            if not agent_victims.available(name):
                continue
            r, lines, totals = self.checked(agent_victims.argv(name), timeout=v["timeout"] * 4)
            self.assertEqual(r.returncode, v["returncode"], f"{name}: {r.stderr[-2000:]}")
            stacks += totals[0]
            if name == "signal_alloc":
                # Stacks through the signal trampoline are libunwind's (a signal frame).
                self.assertGreaterEqual(totals[1], 1000, r.stderr[-500:])
            if name in ("exact", "dlopen", "ctor_dtor", "threads_churn"):
                self.assertTrue(lines and totals[0] > 0, f"{name}: {r.stderr[-500:]}")
        self.assertGreater(stacks, 10000)

    def test_real_programs(self):
        script = "import json\nprint(len(json.dumps({str(i): [i] * (i % 7) for i in range(50000)})))\n"
        r, lines, totals = self.checked([sys.executable, "-c", script])
        self.assertGreater(totals[0], 1000)  # pymalloc serves most objects from its arenas
        self.assertLess(totals[1], totals[0] // 100, "the CFI walker gave up on python")
        if have("node"):
            r, lines, totals = self.checked(
                ["node", "-e", "const a = []; for (let i = 0; i < 50000; i++) a.push({i, s: 'v' + i});"
                               "console.log(a.length);"])
            self.assertEqual(r.stdout, "50000\n")
            self.assertGreater(totals[0], 10000)
        if have("g++"):
            src = os.path.join(self.dir, "unwind.cpp")
            with open(src, "w") as f:
                f.write("#include <map>\n#include <string>\nint main() { std::map<std::string, int> m;"
                        " m[\"a\"] = 1; return m.size() == 1 ? 0 : 1; }\n")
            r, lines, totals = self.checked(["g++", "-O2", "-c", "-o", os.path.join(self.dir, "u.o"), src],
                                            env_extra={"LEAKHUNT_FOLLOW_CHILDREN": "1"})
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            self.assertGreater(totals[0], 100000)  # cc1plus
            self.assertLess(totals[1], totals[0] // 100, "the CFI walker gave up on cc1plus")


def top_rows(profile):
    r = run(["top", "--json", profile])
    assert r.returncode == 0, r.stderr
    return {o["function"]: o for o in json_lines(r.stdout)}


def truth_rows(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


class Accuracy(Case):
    def test_full_mode_is_exact(self):
        """Every site of agent_exact: in-use and allocated bytes and objects equal the truth,
        across threads that free each other's blocks, realloc chains and aligned variants."""
        out = self.path("exact")
        r = run(["record", "-o", out, "--all", "--", binary("agent_exact")])
        self.assertEqual(r.returncode, 0, r.stderr)
        truth = truth_rows(r.stdout)
        self.assertEqual(len(truth), len(agent_victims.EXACT_SITES))
        top = top_rows(sorted(glob.glob(os.path.join(out, "heap.*.pb.gz")))[-1])
        for t in truth:
            want = (t["inuse_bytes"], t["inuse_objects"], t["alloc_bytes"], t["alloc_objects"])
            if want[3] == 0:
                self.assertNotIn(t["function"], top)  # never allocated: no sample
                continue
            o = top[t["function"]]
            got = (o["inuse_bytes"], o["inuse_objects"], o["alloc_bytes"], o["alloc_objects"])
            self.assertEqual(got, want, t["function"])

    def test_full_mode_counts_temporary_allocations_exactly(self):
        """heaptrack's temporary allocations (freed before the thread allocates again): two runs
        of agent_temporary differ by exactly the blocks it frees at once; the report says the
        timeline's count; a sampled run does not count them and the report says why."""
        def temporary(alone, pairs):
            out = self.path(f"temporary{alone}")
            r = run(["record", "-o", out, "--all", "--", binary("agent_temporary"),
                     "--alone", str(alone), "--pairs", str(pairs)])
            self.assertEqual(r.returncode, 0, r.stderr)
            timeline = glob.glob(os.path.join(out, "timeline.*.csv"))[0]
            with open(timeline) as f:
                rows = list(csv.DictReader(f))
            return out, int(rows[-1]["temporary_allocations"])
        out, few = temporary(1000, 500)
        _, many = temporary(4000, 2000)
        self.assertEqual(many - few, 3000 + 1500)
        data = self.path("report.json")
        r = run(["report", out, "-o", self.path("report.html"), "--data", data])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(data) as f:
            self.assertEqual(json.load(f)["totals"]["temporary_allocations"], few)
        sampled = self.path("sampled")
        r = run(["record", "-o", sampled, "--", binary("agent_temporary")])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(glob.glob(os.path.join(sampled, "timeline.*.csv"))[0]) as f:
            self.assertNotIn("temporary_allocations", f.readline())
        r = run(["report", sampled, "-o", self.path("s.html"), "--data", data])
        with open(data) as f:
            totals = json.load(f)["totals"]
        self.assertIsNone(totals["temporary_allocations"])
        self.assertIn("record --all", totals["temporary_allocations_note"])

    def test_sampled_estimates_within_10_percent(self):
        """Sampled mode, fixed seed: every site holding at least 5% of the heap is estimated within
        10%. The interval is 4 KiB (the estimator is the same at any interval; a small one gives
        a ~97 MiB heap enough samples). Stated false-failure rate: the smallest such site (32-byte
        blocks, 6.2% of the heap) gets ~1560 samples, a relative standard error of 2.5%, so 10% is
        4 sigma: P(fail) < 1e-4 per site, < 4e-4 for the four; with the fixed seed the outcome is
        reproducible. Each of seeds 1..5 is checked."""
        for seed in range(1, 6):
            out = self.path(f"sampling{seed}")
            r = run(["record", "-o", out, "--sample-interval", "4K", "--", binary("agent_sampling")],
                    env={"LEAKHUNT_SEED": str(seed)})
            self.assertEqual(r.returncode, 0, r.stderr)
            truth = truth_rows(r.stdout)
            total = sum(t["inuse_bytes"] for t in truth)
            top = top_rows(sorted(glob.glob(os.path.join(out, "heap.*.pb.gz")))[-1])
            for t in truth:
                self.assertGreaterEqual(t["inuse_bytes"] / total, 0.05)
                est = top[t["function"]]["inuse_bytes"]
                self.assertLess(abs(est - t["inuse_bytes"]) / t["inuse_bytes"], 0.10,
                                f"seed {seed}, {t['function']}: estimated {est}, "
                                f"true {t['inuse_bytes']}")


def run_for_status(cmd, env, cwd):
    """Runs cmd in cwd with core dumps allowed; returns (raw wait status, stderr, core files)."""
    import resource

    def allow_core():
        resource.setrlimit(resource.RLIMIT_CORE, (1 << 30, 1 << 30))

    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, preexec_fn=allow_core)
    err = p.stderr.read()
    p.stderr.close()
    _, status, _ = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    cores = glob.glob(os.path.join(cwd, "core*"))
    return status, err, cores


class EndedBySignal(Case):
    """A program that a signal ends gets its exit snapshot, and ends exactly as it would have
    without the agent: the same signal, the same core dump."""

    def check_mode(self, mode, sig):
        cmd = [binary("agent_exit_paths"), "--mode", mode]
        plain_dir = self.path(f"{mode}-plain")
        agent_dir = self.path(f"{mode}-agent")
        out = self.path(f"{mode}-out")
        for d in (plain_dir, agent_dir, out):
            os.mkdir(d)
        base, _, base_cores = run_for_status(cmd, dict(os.environ), plain_dir)
        status, err, cores = run_for_status(cmd, agent_env(out, 1), agent_dir)
        self.assertTrue(os.WIFSIGNALED(base) and os.WTERMSIG(base) == sig, base)
        self.assertEqual(status, base, f"{mode}: raw wait status with the agent: {err}")
        self.assertEqual(bool(cores), bool(base_cores), mode)
        self.assertNotIn("leakhunt agent", err)
        rows = timeline_rows(timelines(out)[0])
        self.assertEqual(rows[-1]["reason"], "exit", rows)
        # The exit snapshot holds the 100 blocks the program kept (sizes 100..199).
        top = top_rows(os.path.join(out, rows[-1]["snapshot"]))
        self.assertGreaterEqual(top["exit_site_leak"]["inuse_objects"], 100)

    def test_sigterm(self):
        self.check_mode("sigterm", signal.SIGTERM)

    def test_sigsegv(self):
        self.check_mode("segv", signal.SIGSEGV)

    def test_abort(self):
        self.check_mode("abort", signal.SIGABRT)

    def test_program_handler_is_left_alone(self):
        out = self.path("own")
        os.mkdir(out)
        r = subprocess.run([binary("agent_exit_paths"), "--mode", "own_handler"],
                           capture_output=True, text=True, timeout=60, env=agent_env(out, 1))
        self.assertEqual(r.returncode, 7, r.stderr)

    def test_record_reports_the_exit_snapshot(self):
        out = self.path("rec")
        r = run(["record", "-o", out, "--all", "--", binary("agent_exit_paths"), "--mode",
                 "sigterm"])
        self.assertEqual(r.returncode, 128 + signal.SIGTERM, r.stderr)
        self.assertIn("snapshot; last (exit)", r.stderr)


class BypassedFrees(Case):
    """Frees that do not go through the agent's free: a library opened with RTLD_DEEPBIND (its
    GOT is patched at dlopen), and the C library's free called directly (the stale records are
    retired when the allocator hands the addresses out again)."""

    def test_deepbind_library_frees_are_seen(self):
        out = self.path("deep")
        r = run(["record", "-o", out, "--all", "--", binary("agent_deepbind"), "--mode",
                 "deepbind"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "deepbind: mode=deepbind freed=1000\n")
        self.assertNotIn("leakhunt agent", r.stderr)  # seen at the free, not retired later
        top = top_rows(sorted(glob.glob(os.path.join(out, "heap.*.pb.gz")))[-1])
        site = top["deepbind_site_alloc"]
        self.assertEqual((site["alloc_objects"], site["inuse_objects"], site["inuse_bytes"]),
                         (1000, 0, 0))

    def test_bypassed_frees_are_retired_when_the_address_returns(self):
        out = self.path("bypass")
        r = run(["record", "-o", out, "--all", "--", binary("agent_deepbind"), "--mode",
                 "bypass"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.count("the stale record is retired"), 1, r.stderr)
        top = top_rows(sorted(glob.glob(os.path.join(out, "heap.*.pb.gz")))[-1])
        # Both sites' blocks end in deepbind_site_alloc: the 1,000 bypassed and the 1,000 freed.
        site = top["deepbind_site_alloc"]
        self.assertEqual((site["alloc_objects"], site["inuse_objects"]), (2000, 0))


class Record(Case):
    def test_periodic_request_and_exit_snapshots(self):
        out = self.path("rec")
        p = subprocess.Popen([LEAKHUNT, "record", "-o", out, "--snapshot-every", "0.5", "--",
                              binary("victim_leak"), "--rate", "4M", "--seconds", "3"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        self.assertEqual(p.stdout.readline().strip(), "ready")
        time.sleep(1.0)
        # record's own child: another test may run a victim_leak at the same time.
        pid = int(subprocess.run(["pgrep", "-P", str(p.pid), "-x", "victim_leak"],
                                 capture_output=True, text=True).stdout.split()[0])
        snap = run(["snapshot", str(pid)])
        self.assertEqual(snap.returncode, 0, snap.stderr)
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        rows = timeline_rows(os.path.join(out, f"timeline.{pid}.csv"))
        reasons = [r["reason"] for r in rows]
        self.assertGreaterEqual(reasons.count("periodic"), 4)
        self.assertEqual(reasons.count("request"), 1)
        self.assertEqual(reasons[-1], "exit")
        for r in rows:
            self.assertTrue(os.path.exists(os.path.join(out, r["snapshot"])))
        # The heap grows between snapshots, and the timeline reads as a series.
        self.assertGreater(float(rows[-1]["heap_inuse_bytes"]), float(rows[0]["heap_inuse_bytes"]))
        self.assertIn("snapshots; last (exit)", err)
        self.assertFalse(glob.glob(os.path.join(out, "*.tmp")))

    def test_exit_status_is_passed_through(self):
        r = run(["record", "-o", self.path("x"), "--", binary("victim_exit"), "--seconds", "0.1",
                 "--code", "7"])
        self.assertEqual(r.returncode, 7)
        r = run(["record", "-o", self.path("y"), "--", binary("agent_exit_paths"), "--mode", "abort"])
        self.assertEqual(r.returncode, 128 + signal.SIGABRT)

    def test_forked_child_gets_its_own_output(self):
        out = self.path("fork")
        script = ("import os, time\n"
                  "pid = os.fork()\n"
                  "data = [bytes(1000) for _ in range(1000)]\n"
                  "if pid == 0:\n    time.sleep(0.2)\n"
                  "else:\n    os.waitpid(pid, 0)\n")
        # python would be recorded through tracemalloc: --runtime native records its malloc.
        r = run(["record", "-o", out, "--all", "--runtime", "native", "--", sys.executable, "-c",
                 script])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(timelines(out)), 2, os.listdir(out))

    def test_follow_children(self):
        # A program (not a wrapper) that runs another: the agent stays in the first only.
        script = f"import subprocess; subprocess.run(['{sys.executable}', '-c', 'print(1)'])"
        out = self.path("nofollow")
        run(["record", "-o", out, "--runtime", "native", "--", sys.executable, "-c", script])
        self.assertEqual(len(timelines(out)), 1)  # the first python only
        out = self.path("follow")
        run(["record", "-o", out, "--follow-children", "--runtime", "native", "--",
             sys.executable, "-c", script])
        self.assertEqual(len(timelines(out)), 2)  # both
        # Through a shell the agent is kept by default: the shell is a wrapper.
        # bash, not dash: dash leaves through _exit, which writes no exit snapshot.
        out = self.path("shell")
        run(["record", "-o", out, "--", "bash", "-c", f"{sys.executable} -c 'print(1)'; true"])
        self.assertEqual(len(timelines(out)), 2)  # the shell and python

    def test_usage_and_errors(self):
        self.assertEqual(run(["record"]).returncode, 2)
        r = run(["record", "--all", "--sample-interval", "1K", "--", "true"])
        self.assertEqual(r.returncode, 2)
        r = run(["snapshot", "1"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no leakhunt agent answers in process 1", r.stderr)
        r = run(["snapshot", "4194000"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no process with pid 4194000", r.stderr)
        r = run(["record", "-o", self.path("z"), "--", "/nonexistent/prog"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot start /nonexistent/prog", r.stderr)


if __name__ == "__main__":
    unittest.main()
