"""`leakhunt record --pid PID` on a native program started without the agent: the agent is
loaded through gdb, sees only allocations made after the attach (exactly, with --all), says so in
every snapshot and in the manifest, and detaches at the end, leaving the program running with its
normal output and exit status. A program allocating in many threads meanwhile neither crashes
nor deadlocks; a static binary, a missing process and a second attach each get one clear error."""
import glob
import gzip
import json
import os
import shutil
import signal
import subprocess
import time
import unittest

from harness import LEAKHUNT, Case, binary, run

VICTIM = binary("victim_attach")
STATIC = binary("victim_attach_static")
NOTE = b"only allocations made after the attach are seen"


def timeline_rows(out):
    [path] = glob.glob(os.path.join(out, "timeline.*.csv"))
    with open(path) as f:
        lines = f.read().splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","))) for line in lines[1:]]


@unittest.skipIf(shutil.which("gdb") is None, "gdb is not installed")
class Attach(Case):
    def start_commands(self, pre):
        p = subprocess.Popen([VICTIM, "--commands", "1", "--pre", str(pre)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.procs.append(p)
        self.assertEqual(p.stdout.readline().strip(), "ready")
        return p

    def command(self, p, line):
        p.stdin.write(line + "\n")
        p.stdin.flush()
        if line != "exit":
            self.assertEqual(p.stdout.readline().strip(), "ok", line)

    def record(self, pid, out, *options):
        """Starts `record --pid` and waits for its 'attached' line."""
        rec = subprocess.Popen([LEAKHUNT, "record", "--pid", str(pid), "-o", out, *options],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.procs.append(rec)
        seen = []
        while not seen or "leakhunt: attached to pid" not in seen[-1]:
            line = rec.stderr.readline()
            self.assertTrue(line, "record did not attach: " + "".join(seen))
            seen.append(line)
        self.assertEqual(len(seen), 1, "".join(seen))  # nothing to warn about
        return rec

    def finish(self, rec, timeout=60):
        err = rec.stderr.read()
        self.assertEqual(rec.wait(timeout=timeout), 0, err)
        return err

    def test_exact_growth_after_attach_then_detach(self):
        p = self.start_commands(pre=50)
        out = self.path("exact")
        rec = self.record(p.pid, out, "--all")
        self.command(p, "leak 100")
        self.command(p, "free-old")  # blocks from before the attach: freed past the agent's books
        rec.send_signal(signal.SIGINT)
        err = self.finish(rec)
        self.assertIn("detached: the program runs on unchanged", err)
        rows = timeline_rows(out)
        self.assertEqual(rows[-1]["reason"], "detach")
        self.assertEqual(int(rows[-1]["heap_inuse_objects"]), 100)
        self.assertEqual(int(rows[-1]["heap_inuse_bytes"]), 100000)
        snapshot = os.path.join(out, rows[-1]["snapshot"])
        top = run(["top", "--json", snapshot])
        self.assertEqual(top.returncode, 0, top.stderr)
        first = json.loads(top.stdout.splitlines()[0])
        self.assertEqual((first["function"], first["inuse_objects"], first["inuse_bytes"]),
                         ("attach_leak_site", 100, 100000))
        with gzip.open(snapshot) as f:
            self.assertIn(NOTE, f.read())
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual(manifest["capture"], "agent-attach")
        self.assertEqual(manifest["extra"]["attached"], NOTE.decode())
        # Detached: the program goes on with its own output and status; nothing more is written.
        self.command(p, "leak 5")
        self.command(p, "exit")
        self.assertEqual(p.stdout.read(), "done leaked=105\n")
        self.assertEqual(p.wait(timeout=10), 7)
        self.assertEqual(p.stderr.read(), "")
        self.assertEqual(len(timeline_rows(out)), len(rows))

    def test_suspects_rank_the_leak_first(self):
        p = self.start([VICTIM, "--threads", "2", "--seconds", "30"])
        out = self.path("suspects")
        rec = self.record(p.pid, out, "--all", "--snapshot-every", "0.5s", "--duration", "3s")
        self.finish(rec)
        self.assertGreaterEqual(len(timeline_rows(out)), 4)
        s = run(["suspects", "--json", out])
        self.assertIn(s.returncode, (0, 3), s.stderr)
        first = json.loads(s.stdout.splitlines()[0])
        self.assertIn("attach_leak_site", json.dumps(first))
        os.killpg(p.pid, signal.SIGTERM)

    def test_threads_allocating_during_attach_and_detach(self):
        for i, options in enumerate([[], ["--all"], ["--sample-interval", "4096"]]):
            p = self.start([VICTIM, "--threads", "8", "--seconds", "25"])
            out = self.path(f"threads{i}")
            rec = self.record(p.pid, out, "--duration", "1s", *options)
            self.finish(rec)
            self.assertEqual(timeline_rows(out)[-1]["reason"], "detach")
            os.kill(p.pid, signal.SIGUSR1)  # the victim ends its run early (below)
            rest = p.stdout.read()
            self.assertEqual(p.wait(timeout=30), 0, options)
            self.assertTrue(rest.startswith("done leaked="), rest)

    def assert_one_error(self, r, text):
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("leakhunt: error: "), lines[0])
        self.assertIn(text, lines[0])

    def test_static_binary_is_refused(self):
        if not os.path.exists(STATIC):
            self.skipTest("victim_attach_static was not built")
        p = self.start([STATIC, "--threads", "1", "--seconds", "30"])
        r = run(["record", "--pid", str(p.pid), "-o", self.path("static")])
        self.assert_one_error(r, "is statically linked")
        self.assertIsNone(p.poll())

    def test_missing_process(self):
        gone = subprocess.Popen(["true"])
        gone.wait()
        r = run(["record", "--pid", str(gone.pid), "-o", self.path("missing")])
        self.assert_one_error(r, f"no process {gone.pid}")

    def test_second_attach_is_refused(self):
        p = self.start_commands(pre=0)
        rec = self.record(p.pid, self.path("first"))
        r = run(["record", "--pid", str(p.pid), "-o", self.path("second")])
        self.assert_one_error(r, "already has the leakhunt agent")
        rec.send_signal(signal.SIGINT)
        self.finish(rec)
        # Detached, still not attachable twice: the agent stays mapped.
        r = run(["record", "--pid", str(p.pid), "-o", self.path("third")])
        self.assert_one_error(r, "already has the leakhunt agent, detached by an earlier")
        self.command(p, "exit")
        self.assertEqual(p.wait(timeout=10), 7)


if __name__ == "__main__":
    unittest.main()
