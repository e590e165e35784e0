"""`leakhunt watch` on real processes: a leaking and a steady victim, a process that exits
mid-watch, --name across restarts, --on-leak, JSON lines, the database and history, fd growth,
PIDs that are not PIDs, a program that fails, stop signals, and a process whose name is made of
terminal escape sequences (run in tmux, a real terminal)."""
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
        # Numbers that wrapped to PID 1 or -1 before: usage errors, nothing watched.
        for bad in ("4294967297", "99999999999999999999", "0", "-5", "4194305"):
            r = run(["watch", bad, "--no-db", "--duration", "1"])
            self.assertEqual(r.returncode, 2, bad + r.stdout + r.stderr)
            self.assertEqual(r.stderr, f"leakhunt: usage error: '{bad}' is not a PID (a PID is a "
                             "whole number from 1 to 4194304)\n")
            self.assertEqual(r.stdout, "")
        # The same parser for every verb that takes a PID.
        r = run(["snapshot", "4294967297"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("'4294967297' is not a PID", r.stderr)
        r = run(["suspects", "--pid", "99999999999999999999", self.dir])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--pid '99999999999999999999' is not a PID", r.stderr)
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

    def test_pid_after_name_is_a_pid(self):
        """`--name RE PID`: one regex per --name; the PID is watched, not taken for a regex."""
        steady = self.start([binary("victim_steady"), "--live", "4M"])
        r = run(["watch", "--name", "^no-such-program-xyz", str(steady.pid), "--no-db",
                 "--interval", "0.1", "--duration", "2", "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        samples = json_lines(r.stdout)
        self.assertGreater(len(samples), 5)
        self.assertEqual({o["pid"] for o in samples}, {steady.pid})
        self.assertEqual({o["target"] for o in samples}, {f"victim_steady ({steady.pid})"})
        self.assertIn("^no-such-program-xyz: no process matches yet; waiting for one", r.stderr)
        # A second regex needs its own --name.
        r = run(["watch", "--name", "a", "b", "--no-db", "--duration", "1"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("'b' is not a PID", r.stderr)

    def test_failing_program_is_reported(self):
        r = run(["watch", "--no-db", "--interval", "0.1", "--duration", "5", "--", "false"])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("leakhunt: error: the program false exited with code 1", r.stderr)
        r = run(["watch", "--no-db", "--interval", "0.1", "--duration", "5", "--",
                 binary("victim_exit"), "--seconds", "0.5", "--code", "4"])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("the command exited with code 4", r.stdout)
        self.assertIn("exited with code 4 (its memory up to then is above)", r.stderr)
        r = run(["watch", "--no-db", "--interval", "0.1", "--duration", "5", "--",
                 binary("victim_exit"), "--seconds", "0.5"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("exited with code 0", r.stdout)

    def test_stop_signals_end_watch_cleanly(self):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            csv = self.path(f"sig{int(sig)}.csv")
            p = subprocess.Popen([LEAKHUNT, "watch", "--no-db", "--csv", csv, "--interval", "0.1",
                                  "--", binary("victim_steady"), "--live", "4M"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True)
            self.procs.append(p)
            time.sleep(1.5)
            p.send_signal(sig)
            out, err = p.communicate(timeout=15)
            self.assertEqual(p.returncode, 0, sig.name + out + err)
            self.assertIn("Stopped after", out)
            with open(csv) as f:
                self.assertGreater(len(f.read().splitlines()), 5)

    def test_resumed_watch_of_the_same_process_is_no_restart(self):
        steady = self.start([binary("victim_steady"), "--live", "4M"])
        db = self.path("r.db")
        # This build's victim only (other builds may run theirs); no space, for history's columns.
        name = "^" + binary("victim_steady").replace(".", "[.]")
        for _ in range(2):
            r = run(["watch", "--name", name, "--db", db, "--interval", "0.1", "--duration", "2"])
            self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout + r.stderr
        self.assertIn("resuming its series", out)
        self.assertIn(f"following pid {steady.pid}", out)
        self.assertNotIn("restarted", out)
        h = run(["history", "--db", db])
        row = [l for l in h.stdout.splitlines() if l.startswith("name:")][0]
        self.assertEqual(row.split()[1], "0", h.stdout)  # RESTARTS
        # A different process under the same name after the gap is a restart, in both.
        steady.kill()
        steady.wait()
        other = self.start([binary("victim_steady"), "--live", "4M"])
        r = run(["watch", "--name", name, "--db", db, "--interval", "0.1", "--duration", "2"])
        self.assertIn(f"restarted as pid {other.pid}", r.stdout)
        self.assertIn("restarted 1 time", r.stdout)
        h = run(["history", "--db", db])
        row = [l for l in h.stdout.splitlines() if l.startswith("name:")][0]
        self.assertEqual(row.split()[1], "1", h.stdout)

    @unittest.skipUnless(shutil.which("tmux"), "needs tmux")
    def test_hostile_process_name_reaches_the_terminal_escaped(self):
        hostile = "\x1b[2J\x1b[31mEVIL\x1b]0;pwned\x07"
        victim = self.start(["bash", "-c", 'exec -a "$0" "$1" --live 4M', hostile,
                             binary("victim_steady")])
        sock = self.path("tmux.sock")
        tmux = ["tmux", "-S", sock]
        script = (f"echo MARKER-BEFORE; {LEAKHUNT} watch {victim.pid} --no-db --interval 0.2 "
                  f"--duration 2; echo WATCH-DONE; sleep 60")
        subprocess.run(tmux + ["new-session", "-d", "-s", "lh", "-x", "200", "-y", "50",
                               "sh", "-c", script], check=True, env=dict(os.environ, TERM="xterm"))
        try:
            subprocess.run(tmux + ["select-pane", "-t", "lh", "-T", "untouched"], check=True)
            screen = ""
            deadline = time.time() + 30
            while "WATCH-DONE" not in screen and time.time() < deadline:
                time.sleep(0.2)
                screen = subprocess.run(tmux + ["capture-pane", "-p", "-t", "lh", "-S", "-100"],
                                        capture_output=True, text=True).stdout
            self.assertIn("WATCH-DONE", screen)
            title = subprocess.run(tmux + ["display-message", "-p", "-t", "lh", "#{pane_title}"],
                                   capture_output=True, text=True).stdout.strip()
            self.assertEqual(title, "untouched")       # no OSC 0 reached the terminal
            self.assertIn("MARKER-BEFORE", screen)     # no ESC [2J cleared it
            # Shown, escaped, in the final verdict (the live table cuts names at 28 columns).
            self.assertIn(f"\\e[2J\\e[31mEVIL\\e]0;pwned\\a ({victim.pid}):", screen)
        finally:
            subprocess.run(tmux + ["kill-server"], capture_output=True)

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
