"""`leakhunt watch` on real processes: a leaking and a steady victim, a process that exits
mid-watch, --name across restarts, --on-leak, JSON lines, the database and history, fd growth."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

from harness import LEAKHUNT, Case, binary, json_lines, run


def make_memory_cgroup(name, limit):
    """Creates a memory cgroup (v2 if mounted with the memory controller, else v1) with a limit;
    returns its directory, or None when this machine does not allow it (not root, no memory
    controller)."""
    v2 = "/sys/fs/cgroup"
    try:
        if os.path.exists(os.path.join(v2, "cgroup.controllers")):
            with open(os.path.join(v2, "cgroup.subtree_control")) as f:
                if "memory" not in f.read().split():
                    return None
            d = os.path.join(v2, name)
            os.mkdir(d)
            with open(os.path.join(d, "memory.max"), "w") as f:
                f.write(str(limit))
            return d
        d = os.path.join(v2, "memory", name)
        os.mkdir(d)
        with open(os.path.join(d, "memory.limit_in_bytes"), "w") as f:
            f.write(str(limit))
        return d
    except OSError:
        return None


class Watch(Case):
    def test_command_that_leaks(self):
        db, csv = self.path("w.db"), self.path("w.csv")
        r = run(["watch", "--db", db, "--csv", csv, "--interval", "0.05", "--duration", "8",
                 "--fail-on-leak", "--", binary("victim_leak"), "--rate", "8M"])
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn(": LEAK +", r.stdout)
        self.assertIn("first judged a leak", r.stdout)
        with open(csv) as f:
            rows = f.read().splitlines()
        self.assertTrue(rows[0].startswith("timestamp,target,pid,rss_bytes"))
        self.assertGreater(len(rows), 100)
        con = sqlite3.connect(db)
        (n,) = con.execute("select count(*) from samples").fetchone()
        self.assertEqual(n, len(rows) - 1)
        # The recorded CSV classifies the same way.
        c = run(["classify", "--json", csv])
        self.assertEqual(json_lines(c.stdout)[0]["verdict"], "leak")
        # history lists and judges the stored target.
        h = run(["history", "--db", db])
        self.assertEqual(h.returncode, 0, h.stderr)
        self.assertIn("LEAK", h.stdout)

    def test_program_goes_when_leakhunt_is_killed(self):
        """SIGKILL (or the OOM killer) gives leakhunt no chance to stop its program; the program
        must not go on leaking with no one watching (it gets SIGTERM)."""
        out = self.path("rec")
        for argv in (["watch", "--no-db", "--interval", "0.2"], ["record", "-o", out],
                     ["soak", "--duration", "60s", "-o", self.path("soak")]):
            p = subprocess.Popen([LEAKHUNT] + argv + ["--", binary("victim_leak"), "--rate", "1M"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
            self.procs.append(p)
            child = None
            deadline = time.time() + 20
            while child is None and time.time() < deadline:
                found = subprocess.run(["pgrep", "-P", str(p.pid), "-x", "victim_leak"],
                                       capture_output=True, text=True).stdout.split()
                child = int(found[0]) if found else None
                time.sleep(0.05)
            self.assertIsNotNone(child, argv[0])
            p.send_signal(signal.SIGKILL)
            p.wait()
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    with open(f"/proc/{child}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                            break  # gone, waiting for init to reap it
                except FileNotFoundError:
                    break
                time.sleep(0.05)
            else:
                os.kill(child, signal.SIGKILL)
                self.fail(f"{argv[0]}: victim_leak {child} still runs after leakhunt was killed")

    def test_steady_process_is_not_a_leak(self):
        p = self.start([binary("victim_steady"), "--live", "16M"])
        r = run(["watch", str(p.pid), "--no-db", "--interval", "0.02", "--duration", "10"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("LEAK", r.stdout)
        self.assertRegex(r.stdout, r"\((\d+)\): (HEALTHY|BOUNDED)")

    def test_process_exiting_mid_watch_is_recorded_and_others_go_on(self):
        steady = self.start([binary("victim_steady"), "--live", "4M"])
        short = self.start([binary("victim_exit"), "--seconds", "1"])
        r = run(["watch", str(steady.pid), str(short.pid), "--no-db", "--interval", "0.1",
                 "--duration", "3"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("exited after", r.stdout)
        self.assertIn(f"({steady.pid}):", r.stdout)

    def test_missing_pid_is_an_error(self):
        r = run(["watch", "12abc", "--no-db", "--duration", "1"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("'12abc' is not a PID", r.stderr)
        r = run(["watch", "4194000", "--no-db", "--duration", "1"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no process with pid 4194000", r.stderr)

    def test_name_follows_restarts(self):
        self.start([binary("victim_spawner"), "--restart-delay", "0.5", "--",
                    binary("victim_exit"), "--seconds", "1.5"])
        db = self.path("n.db")
        r = run(["watch", "--name", "^[^ ]*victim_exi[t]", "--db", db, "--interval", "0.1",
                 "--duration", "6", "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("restarted as pid", r.stderr)
        lines = json_lines(r.stdout)
        pids = {o["pid"] for o in lines if "pid" in o}
        self.assertGreaterEqual(len(pids), 2)
        for o in lines:
            self.assertIn("rss_bytes", o)
            self.assertEqual(o["target"], "^[^ ]*victim_exi[t]")
        con = sqlite3.connect(db)
        (instances,) = con.execute("select count(*) from instances").fetchone()
        self.assertGreaterEqual(instances, 2)
        # A second watch of the same name resumes the stored series.
        r2 = run(["watch", "--name", "^[^ ]*victim_exi[t]", "--db", db, "--interval", "0.1",
                  "--duration", "1"])
        self.assertIn("resuming its series", r2.stdout + r2.stderr)

    def test_on_leak_runs_once_with_facts(self):
        out = self.path("facts.txt")
        r = run(["watch", "--no-db", "--interval", "0.05", "--duration", "8",
                 "--on-leak", f"env | grep ^LEAKHUNT_ >> {out}",
                 "--", binary("victim_leak"), "--rate", "8M"])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            facts = f.read()
        self.assertEqual(facts.count("LEAKHUNT_VERDICT=leak"), 1)
        self.assertIn("LEAKHUNT_PID=", facts)
        self.assertIn("LEAKHUNT_GROWTH_BYTES_PER_HOUR=", facts)

    def test_fd_growth_is_flagged(self):
        r = run(["watch", "--no-db", "--interval", "0.05", "--duration", "8",
                 "--", binary("victim_fds"), "--fds-per-sec", "40"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("fd_growth", r.stdout)

    def test_cgroup_with_limit(self):
        limit = 256 * 1024 * 1024
        d = make_memory_cgroup(f"leakhunt-test-{os.getpid()}", limit)
        if d is None:
            self.skipTest("cannot create a memory cgroup here (needs root and a memory controller)")
        try:
            leak = self.start([binary("victim_leak"), "--rate", "8M"])
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(leak.pid))
            csv = self.path("cg.csv")
            r = run(["watch", "--cgroup", d, "--no-db", "--csv", csv, "--interval", "0.05",
                     "--duration", "8"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("LEAK", r.stdout)
            self.assertIn("reaches its limit of 256 MiB", r.stdout)
            c = run(["classify", "--json", csv])
            obj = json_lines(c.stdout)[0]
            self.assertEqual(obj["verdict"], "leak")
            self.assertEqual(obj["limit_bytes"], limit)
            self.assertIsNotNone(obj["projected_limit_at_s"])
        finally:
            for p in self.procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            os.rmdir(d)

    def test_json_lines_stay_clean_and_classify_reads_them(self):
        out = self.path("w.jsonl")
        r = run(["watch", "--no-db", "--json", "--interval", "0.05", "--duration", "8", "--",
                 binary("victim_leak"), "--rate", "8M"])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertGreater(len(lines), 100)
        for line in lines:
            json.loads(line)  # the child's "ready" went to stderr, not into the JSON stream
        self.assertIn("ready", r.stderr)
        with open(out, "w") as f:
            f.write(r.stdout)
        c = run(["classify", "--json", out])
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertEqual(json_lines(c.stdout)[0]["verdict"], "leak")

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("runuser"),
                         "needs root to run leakhunt as another user")
    def test_smaps_permission_denied_is_said_once(self):
        steady = self.start([binary("victim_steady"), "--live", "4M"])
        # The clone may live where nobody cannot reach (/root is mode 700): run a copy of the
        # binary from a directory nobody can enter.
        exe_dir = tempfile.mkdtemp(prefix="leakhunt-nobody-")
        self.addCleanup(shutil.rmtree, exe_dir, True)
        os.chmod(exe_dir, 0o755)
        exe = os.path.join(exe_dir, "leakhunt")
        shutil.copy(LEAKHUNT, exe)
        os.chmod(exe, 0o755)
        r = subprocess.run(["runuser", "-u", "nobody", "--", exe, "watch", "--no-db",
                            "--interval", "0.05", "--duration", "2", str(steady.pid)],
                           capture_output=True, text=True, timeout=60, cwd=exe_dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        msg = f"cannot read /proc/{steady.pid}/smaps_rollup: permission denied"
        self.assertEqual(r.stdout.count(msg), 1, r.stdout)
        self.assertIn("falling back to statm", r.stdout)
        self.assertIn(f"({steady.pid}):", r.stdout)

    def test_nothing_to_watch_is_a_usage_error(self):
        r = run(["watch", "--no-db"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("nothing to watch", r.stderr)
        r = run(["watch", "--no-db", "--name", "(", "--duration", "1"])
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
