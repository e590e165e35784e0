"""What every leakhunt command shares, on real processes: `record` stopped by a signal sent to
leakhunt alone, `record` through shells and exec wrappers, the at-once message when the agent is
not in the program, `diff -o` and the file name's format, and library failures (CLI11, SQLite,
the HTTP client) as one line of ours."""
import gzip
import os
import shutil
import signal
import subprocess
import time
import unittest

from harness import LEAKHUNT, TEST_DATA, Case, binary, free_port, run


def timelines(directory):
    return sorted(f for f in os.listdir(directory) if f.startswith("timeline."))


class RecordSignals(Case):
    def test_signal_to_leakhunt_alone_stops_the_program(self):
        """kill -INT / -HUP / -TERM to record's pid (no terminal, so the program did not get it)
        reaches the program at once, as ^C would have."""
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
            out = self.path(f"rec{int(sig)}")
            p = subprocess.Popen([LEAKHUNT, "record", "-o", out, "--", binary("victim_steady"),
                                  "--live", "4M"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, start_new_session=True)
            self.procs.append(p)
            self.assertEqual(p.stdout.readline().strip(), "ready")
            started = time.time()
            p.send_signal(sig)
            _, err = p.communicate(timeout=20)
            self.assertLess(time.time() - started, 5, sig.name)
            self.assertEqual(p.returncode, 128 + int(sig), err)
            self.assertIn(f"the program killed by signal {int(sig)} (SIG{sig.name[3:]})", err)


class RecordWrappers(Case):
    def record(self, argv, *extra):
        out = self.path("rec")
        shutil.rmtree(out, ignore_errors=True)
        r = run(["record", "-o", out, *extra, "--", *argv], timeout=60)
        return r, out

    def test_program_behind_a_wrapper_is_recorded(self):
        victim = [binary("victim_exit"), "--seconds", "0.5"]
        script = self.path("start.sh")
        with open(script, "w") as f:
            f.write(f"#!/bin/sh\nexec {victim[0]} --seconds 0.5\n")
        os.chmod(script, 0o755)
        cases = [
            ["bash", "-c", 'exec "$0" --seconds 0.5', victim[0]],
            ["bash", "-c", 'exec -a renamed "$0" --seconds 0.5', victim[0]],  # dash has no -a
            ["sh", "-c", '"$0" --seconds 0.5; true', victim[0]],  # forks, then waits
            ["env", "LEAKHUNT_TEST=1", *victim],
            ["nice", "-n", "1", *victim],
            ["timeout", "20", *victim],
            [script],
        ]
        for argv in cases:
            r, out = self.record(argv)
            self.assertEqual(r.returncode, 0, f"{argv}: {r.stderr}")
            self.assertNotIn("no snapshot was written", r.stderr, argv)
            self.assertNotIn("no agent in the program", r.stderr, argv)
            # The program's exit snapshot is there (a forking wrapper may add its own).
            exits = [f for f in os.listdir(out) if f.endswith(".pb.gz")]
            self.assertGreaterEqual(len(exits), 1, f"{argv}: {r.stderr}")

    def test_agent_missing_is_said_at_once_with_the_reason(self):
        # A statically linked program: no dynamic loader, so no LD_PRELOAD.
        src, prog = self.path("static.c"), self.path("static_prog")
        with open(src, "w") as f:
            f.write("#include <unistd.h>\nint main(void) { sleep(30); return 0; }\n")
        if subprocess.run(["cc", "-static", "-o", prog, src], capture_output=True).returncode:
            self.skipTest("no static C library to build a static program")
        for argv, why in (([prog], "is statically linked"),
                          (["sh", "-c", f'exec "$0"', prog], "is statically linked"),
                          (["env", "-u", "LD_PRELOAD", binary("victim_steady")],
                           "was started without the agent in LD_PRELOAD")):
            p = subprocess.Popen([LEAKHUNT, "record", "-o", self.path("rec"), "--", *argv],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True)
            self.procs.append(p)
            started = time.time()
            line = ""
            while "no agent in the program" not in line and time.time() - started < 10:
                line = p.stderr.readline()
            self.assertLess(time.time() - started, 4, argv)
            self.assertIn("leakhunt: warning: no agent in the program after 1s: pid ", line)
            self.assertIn(why, line, argv)
            os.killpg(p.pid, signal.SIGTERM)
            p.communicate(timeout=20)


class DiffOutput(Case):
    def test_output_format_comes_from_the_name(self):
        prof = os.path.join(TEST_DATA, "profile", "go_heap.pb.gz")
        pb = self.path("d.pb.gz")
        r = run(["diff", "-o", pb, prof, prof])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(pb, "rb") as f:
            self.assertGreater(len(gzip.decompress(f.read())), 0)  # a gzip-compressed profile
        js = self.path("d.json")
        r = run(["diff", "-o", js, prof, prof])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertTrue(os.path.exists(js))
        txt = self.path("d.txt")
        r = run(["diff", "-o", txt, prof, prof])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(txt) as f:
            self.assertTrue(f.read().startswith("Base: "))
        # A name that says nothing is refused, and nothing is written.
        odd = self.path("d.out")
        r = run(["diff", "-o", odd, prof, prof])
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"-o {odd}: cannot tell the format from the name", r.stderr)
        self.assertFalse(os.path.exists(odd))
        # An explicit --format wins over the name.
        r = run(["diff", "--format", "text", "-o", odd, prof, prof])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(odd) as f:
            self.assertTrue(f.read().startswith("Base: "))


class LibraryErrors(Case):
    def assertOneLine(self, r, code, text):
        self.assertEqual(r.returncode, code, r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn(text, r.stderr)

    def test_option_that_is_not_a_number(self):
        r = run(["record", "--depth", "deep", "--", "true"])
        self.assertOneLine(r, 2, "leakhunt: usage error: --depth 'deep': not a number (give a "
                                 "whole number) (see leakhunt record --help)")
        self.assertNotIn("Could not convert", r.stderr)

    def test_damaged_database(self):
        db = self.path("w.db")
        r = run(["watch", "--db", db, "--interval", "0.05", "--duration", "1", "--",
                 binary("victim_steady"), "--live", "1M"])
        self.assertEqual(r.returncode, 0, r.stderr)
        size = os.path.getsize(db)
        with open(db, "r+b") as f:  # every page but the first (the schema) overwritten
            f.seek(4096)
            f.write(b"\xa5" * (size - 4096))
        r = run(["history", "--db", db])
        self.assertOneLine(r, 1, f"leakhunt: error: {db} is damaged (")
        self.assertIn("move it away and watch again, or pass another --db", r.stderr)

    def test_http_failures_are_words(self):
        port = free_port()
        r = run(["scan", "--prometheus", f"http://127.0.0.1:{port}", "--query", "up"])
        self.assertOneLine(r, 1, f"cannot reach Prometheus at http://127.0.0.1:{port}: the "
                                 "connection was refused or timed out")
        r = run(["top", f"http://127.0.0.1:{port}/debug/pprof/heap"])
        self.assertOneLine(r, 1, f"cannot fetch http://127.0.0.1:{port}/debug/pprof/heap: the "
                                 "connection was refused or timed out")


if __name__ == "__main__":
    unittest.main()
