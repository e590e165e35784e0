"""record on real JVMs (Debian's OpenJDK): `record -- java ...` and `record --pid PID` through
jcmd, class histograms as snapshots that `suspects` ranks, the JVM's counters in the timeline,
heap dumps, and the ways a JVM can refuse or vanish. Heap dumps read back: their class histogram
against `jmap -histo:live` of the same quiet JVM, dominators and retained sizes against an
independent reading (hprof_oracle.py), and the paths that hold a static map's and a pool
thread's ThreadLocal leaks. The services live in tests/victims/java and
are compiled with javac into a temporary directory once per run."""
import csv
import gzip
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

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import hprof_oracle  # noqa: E402

JAVA = "/usr/bin/java"
JAVAC = "/usr/bin/javac"
JMAP = "/usr/bin/jmap"
SOURCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../victims/java")
CLASSES = None


def setUpModule():
    global CLASSES
    if not (os.access(JAVA, os.X_OK) and os.access(JAVAC, os.X_OK)):
        raise unittest.SkipTest("no JDK (apt-get install openjdk-17-jdk-headless)")
    CLASSES = tempfile.mkdtemp(prefix="leakhunt-java-")
    sources = [os.path.join(SOURCES, "com/example", f)
               for f in sorted(os.listdir(os.path.join(SOURCES, "com/example")))]
    subprocess.run([JAVAC, "-d", CLASSES] + sources, check=True, timeout=120)
    # Readable by a JVM that runs as another user (test_another_users_jvm).
    for root, dirs, files in os.walk(CLASSES):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)


def tearDownModule():
    if CLASSES:
        shutil.rmtree(CLASSES, ignore_errors=True)


def java(main, *args, options=()):
    return [JAVA, "-Xmx64m", *options, "-cp", CLASSES, f"com.example.{main}", *map(str, args)]


def read_timeline(directory):
    [name] = [f for f in os.listdir(directory) if f.startswith("timeline.")]
    with open(os.path.join(directory, name)) as f:
        return list(csv.DictReader(f))


def snapshots(directory, ext="pb.gz"):
    return sorted(f for f in os.listdir(directory) if f.startswith("heap.") and f.endswith(ext))


class JavaRecord(harness.Case):
    def suspects(self, directory):
        r = harness.run(["suspects", directory, "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        return [j for j in harness.json_lines(r.stdout) if j.get("rank")]

    def test_record_command_names_the_leaking_class_first(self):
        out = self.path("rec")
        r = harness.run(["record", "-o", out, "--snapshot-every", "1s", "--count", "5", "--",
                         *java("SessionLeak", 3000)], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--count 5 reached", r.stderr)
        self.assertEqual(len(snapshots(out)), 5)
        ranked = self.suspects(out)
        self.assertTrue(ranked, "no suspect")
        self.assertEqual(ranked[0]["function"], "com.example.Session")
        self.assertRegex(ranked[0]["sentence"], r"^com\.example\.Session \+[\d,]+ instances/min")
        self.assertEqual(ranked[0]["file"], "")
        # The JVM's counters, one row per snapshot, read after the histogram's full GC.
        rows = read_timeline(out)
        self.assertEqual(len(rows), 5)
        for row in rows:
            for column in ("heap_used_bytes", "heap_committed_bytes", "old_gen_used_bytes",
                           "metaspace_used_bytes", "threads", "gc_count", "gc_time_s"):
                self.assertTrue(row[column], f"{column} empty")
            self.assertGreater(float(row["rss_bytes"]), 0)
            self.assertGreaterEqual(float(row["heap_committed_bytes"]), float(row["heap_used_bytes"]))
        gc = [int(float(row["gc_count"])) for row in rows]
        self.assertEqual(gc, sorted(gc))  # each histogram is a GC: the count only rises
        self.assertGreater(gc[-1], gc[0])
        old = [float(row["old_gen_used_bytes"]) for row in rows]
        self.assertGreater(old[-1], old[0])  # the leak ends up in the old generation
        manifest = json.load(open(os.path.join(out, "manifest.json")))
        self.assertEqual(manifest["runtime"], "java")
        self.assertEqual(manifest["capture"], "jcmd")
        # top reads a class histogram snapshot like any heap profile.
        r = harness.run(["top", os.path.join(out, snapshots(out)[-1]), "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        names = [j.get("function") for j in harness.json_lines(r.stdout)]
        self.assertIn("com.example.Session", names)
        self.assertIn("byte[]", names)

    def test_threadlocal_leak_names_its_class(self):
        out = self.path("rec")
        r = harness.run(["record", "-o", out, "--snapshot-every", "1s", "--count", "5", "--",
                         *java("ThreadLocalLeak", 3000)], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        ranked = self.suspects(out)
        self.assertTrue(ranked, "no suspect")
        self.assertEqual(ranked[0]["function"], "com.example.ThreadLocalLeak$RequestContext")

    def test_healthy_service_gets_no_suspect(self):
        out = self.path("rec")
        r = harness.run(["record", "-o", out, "--snapshot-every", "1s", "--count", "5", "--",
                         *java("Healthy", 3000)], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.suspects(out), [])

    def test_pid_counts_equal_jmap_and_the_jvm_keeps_running(self):
        jvm = self.start(java("SessionLeak", 5000, 4321))
        self.assertEqual(jvm.stdout.readline().strip(), "quiet")
        out = self.path("rec")
        r = harness.run(["record", "--pid", str(jvm.pid), "-o", out, "--snapshot-every", "1s",
                         "--count", "3"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(jvm.poll(), "the JVM stopped")
        last = os.path.join(out, snapshots(out)[-1])
        r = harness.run(["top", last, "--json", "--sample-index", "inuse_objects"])
        self.assertEqual(r.returncode, 0, r.stderr)
        ours = {j["function"]: j for j in harness.json_lines(r.stdout) if "function" in j}
        # The oracle: the JDK's own live histogram of the same (quiet) JVM.
        histo = subprocess.run([JMAP, "-histo:live", str(jvm.pid)], capture_output=True,
                               text=True, timeout=60, check=True).stdout
        theirs = {}
        for line in histo.splitlines():
            m = re.match(r"\s*\d+:\s+(\d+)\s+(\d+)\s+(\S+)", line)
            if m:
                theirs[m.group(3)] = (int(m.group(1)), int(m.group(2)))
        self.assertEqual(theirs["com.example.Session"], (4321, theirs["com.example.Session"][1]))
        session = ours["com.example.Session"]
        self.assertEqual(session["flat"], 4321)
        self.assertEqual(theirs["com.example.Session"][0], session["flat"])

    def test_interrupt_leaves_the_jvm_running(self):
        jvm = self.start(java("SessionLeak", 1000))
        out = self.path("rec")
        rec = subprocess.Popen([harness.LEAKHUNT, "record", "--pid", str(jvm.pid), "-o", out,
                                "--snapshot-every", "1s"], stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while time.time() < deadline and len(snapshots(out) if os.path.isdir(out) else []) < 2:
            time.sleep(0.2)
        rec.send_signal(signal.SIGINT)
        _, err = rec.communicate(timeout=60)
        self.assertEqual(rec.returncode, 0, err)
        self.assertIn("interrupted", err)
        time.sleep(0.5)
        self.assertIsNone(jvm.poll(), "the JVM stopped")
        self.assertGreaterEqual(len(read_timeline(out)), 2)

    def test_jvm_that_exits_mid_recording(self):
        jvm = self.start(java("Healthy", 1000, 4))
        out = self.path("rec")
        r = harness.run(["record", "--pid", str(jvm.pid), "-o", out, "--snapshot-every", "1s"],
                        timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"pid {jvm.pid} exited", r.stderr)
        self.assertNotIn("Exception", r.stderr)
        self.assertGreaterEqual(len(read_timeline(out)), 1)

    def test_heap_dumps(self):
        jvm = self.start(java("SessionLeak", 5000, 2000))
        self.assertEqual(jvm.stdout.readline().strip(), "quiet")
        out = self.path("dumps")
        r = harness.run(["snapshot", str(jvm.pid), "--heap", "-o", out], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        path = r.stdout.strip()
        self.assertEqual(path, os.path.join(out, f"heap.{jvm.pid}.0000.hprof"))
        with open(path, "rb") as f:
            self.assertEqual(f.read(18), b"JAVA PROFILE 1.0.2")
        self.assertEqual(os.listdir(out), [f"heap.{jvm.pid}.0000.hprof"])  # no staging left
        rec = self.path("rec")
        r = harness.run(["record", "--pid", str(jvm.pid), "-o", rec, "--snapshot-every", "1s",
                         "--count", "2", "--heap-snapshots", "1"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(snapshots(rec, "hprof"), [f"heap.{jvm.pid}.0000.hprof"])
        self.assertIsNone(jvm.poll())


    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv")
    def test_another_users_jvm(self):
        # jcmd must run as the JVM's user; its heap dump is written by that user.
        jvm = self.start(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                          *java("SessionLeak", 5000, 1000)])
        self.assertEqual(jvm.stdout.readline().strip(), "quiet")
        os.chmod(self.dir, 0o755)
        rec = self.path("rec")
        r = harness.run(["record", "--pid", str(jvm.pid), "-o", rec, "--snapshot-every", "1s",
                         "--count", "2", "--heap-snapshots", "1"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(snapshots(rec)), 2)
        self.assertEqual(snapshots(rec, "hprof"), [f"heap.{jvm.pid}.0000.hprof"])
        self.assertEqual(sorted(os.listdir(rec)), sorted(
            snapshots(rec) + snapshots(rec, "hprof") + ["manifest.json", f"timeline.{jvm.pid}.csv"]))
        private = self.path("private")
        os.mkdir(private, 0o700)
        r = harness.run(["snapshot", str(jvm.pid), "--heap", "-o", os.path.join(private, "d")],
                        timeout=120)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("cannot write into", r.stderr)
        self.assertEqual(os.listdir(os.path.join(private, "d")), [])
        self.assertIsNone(jvm.poll())


def jmap_name(name):
    """`jmap -histo`'s class name as Java writes it in source ("[B" -> "byte[]")."""
    if name.startswith("["):
        return hprof_oracle.java_name(name.replace(".", "/"))
    return name


def jmap_histo(pid):
    out = subprocess.run([JMAP, "-histo:live", str(pid)], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    theirs = {}
    for line in out.splitlines():
        m = re.match(r"\s*\d+:\s+(\d+)\s+(\d+)\s+(\S+)", line)
        if m:
            theirs[jmap_name(m.group(3))] = (int(m.group(1)), int(m.group(2)))
    return theirs


# java.lang.Thread and its subclasses carry @Contended padding (2 x 128 bytes, around the
# thread-local random fields) that the JVM counts and the dump cannot show.
THREAD_CLASSES = {"java.lang.Thread", "java.lang.ref.Finalizer$FinalizerThread",
                  "java.lang.ref.Reference$ReferenceHandler", "jdk.internal.misc.InnocuousThread"}


class JavaHeapDumps(harness.Case):
    def dump(self, jvm):
        out = self.path(f"dumps{jvm.pid}")
        r = harness.run(["snapshot", str(jvm.pid), "--heap", "-o", out], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def top(self, dump):
        r = harness.run(["top", dump, "--json", "--top", "0"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return {j["class"]: j for j in harness.json_lines(r.stdout)}

    def paths(self, target, cls):
        r = harness.run(["paths", target, "--class", cls, "--json", "--paths", "0"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        [row] = harness.json_lines(r.stdout)
        return row

    def test_histogram_equals_jmap_histo_live(self):
        jvm = self.start(java("SessionLeak", 5000, 3000))
        self.assertEqual(jvm.stdout.readline().strip(), "quiet")
        dump = self.dump(jvm)
        theirs = jmap_histo(jvm.pid)  # the oracle, on the same quiet JVM, right after the dump
        ours = self.top(dump)
        self.assertEqual((ours["com.example.Session"]["count"], ours["com.example.Session"]["self_bytes"]),
                         theirs["com.example.Session"])
        self.assertEqual(theirs["com.example.Session"][0], 3000)
        compared = 0
        for name in sorted(set(ours) | set(theirs)):
            if name == "java.lang.Class":
                continue  # mirrors: see hprof_reader.hpp
            self.assertIn(name, ours, f"{name} is in jmap's histogram only")
            self.assertIn(name, theirs, f"{name} is in the dump only")
            count, size = ours[name]["count"], ours[name]["self_bytes"]
            if name in THREAD_CLASSES:
                self.assertEqual(count, theirs[name][0], name)
                # The padding, and a subclass's own fields placed after it (up to 8 bytes).
                self.assertGreaterEqual(theirs[name][1] - size, 256 * count, name)
                self.assertLessEqual(theirs[name][1] - size, 264 * count, name)
                continue
            self.assertEqual((count, size), theirs[name], name)
            compared += 1
        self.assertGreater(compared, 100)
        self.assertIsNone(jvm.poll())

    def test_paths_name_the_static_field_and_dominators_equal_a_reference(self):
        jvm = self.start(java("SessionLeak", 5000, 2000))
        self.assertEqual(jvm.stdout.readline().strip(), "quiet")
        dump = self.dump(jvm)
        for target in (dump, os.path.dirname(dump)):  # the file, and the directory holding it
            row = self.paths(target, "com.example.Session")
            self.assertEqual(row["count"], 2000)
            self.assertEqual(row["paths"][0]["count"], 2000)
            steps = row["paths"][0]["steps"]
            self.assertEqual(steps[0], "class com.example.SessionLeak")
            self.assertEqual(steps[1], "static field `SESSIONS` (java.util.concurrent.ConcurrentHashMap)")
            self.assertTrue(steps[-1].endswith("(com.example.Session)"), steps)
        # One dump's leak suspects (as MAT's): the class whose static map holds the sessions,
        # descended to the map's table.
        r = harness.run(["suspects", dump, "--json"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        first = harness.json_lines(r.stdout)[0]
        self.assertEqual(first["holder"], "class com.example.SessionLeak")
        self.assertEqual(first["accumulation"], "java.util.concurrent.ConcurrentHashMap$Node[]")
        self.assertEqual((first["item_class"], first["items"]), ("java.util.concurrent.ConcurrentHashMap$Node", 2000))
        self.assertEqual(first["path"][-1], "field `table` (java.util.concurrent.ConcurrentHashMap$Node[])")
        # Retained sizes per class against an independent reading and dominator computation.
        oracle = hprof_oracle.Dump(dump)
        ours = self.top(dump)
        self.assertEqual(self.top(os.path.dirname(dump)), ours)  # a directory of dumps: the latest
        hist = oracle.histogram()
        self.assertEqual({k: (v["count"], v["self_bytes"]) for k, v in ours.items()}, hist)
        retained = oracle.retained_by_class()
        self.assertEqual({k: v["retained_bytes"] for k, v in ours.items()}, retained)
        # The static map retains every session with its key.
        session = ours["com.example.Session"]
        self.assertEqual(session["retained_bytes"], retained["com.example.Session"])
        self.assertGreater(ours["java.util.concurrent.ConcurrentHashMap"]["retained_bytes"],
                           session["retained_bytes"])

    def test_threadlocal_in_pool_threads_is_held_through_thread_locals(self):
        jvm = self.start(java("ThreadLocalLeak", 5000, 1500))
        self.assertEqual(jvm.stdout.readline().strip(), "quiet")
        dump = self.dump(jvm)
        row = self.paths(dump, "com.example.ThreadLocalLeak$RequestContext")
        self.assertEqual(row["count"], 1500)
        self.assertEqual(sum(p["count"] for p in row["paths"]), 1500)
        for p in row["paths"]:
            self.assertEqual(p["steps"][0], "java.lang.Thread")
            self.assertEqual(p["steps"][1], "field `threadLocals` (java.lang.ThreadLocal$ThreadLocalMap)")
            self.assertIn("field `value` (java.util.ArrayList)", p["steps"])
        # The pool's threads together are a leak suspect; what accumulates in them: the contexts.
        r = harness.run(["suspects", dump, "--json"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        threads = [j for j in harness.json_lines(r.stdout) if j["holder"] == "java.lang.Thread"]
        self.assertEqual(len(threads), 1, r.stdout)
        self.assertGreaterEqual(threads[0]["instances"], 4)
        self.assertEqual(threads[0]["item_class"], "com.example.ThreadLocalLeak$RequestContext")
        self.assertIn("field `threadLocals` (java.lang.ThreadLocal$ThreadLocalMap)", threads[0]["path"])
        self.assertIsNone(jvm.poll())

    def test_dumps_of_a_growing_leak(self):
        jvm = self.start(java("SessionLeak", 3000))
        rec = self.path("rec")
        r = harness.run(["record", "--pid", str(jvm.pid), "-o", rec, "--snapshot-every", "1s",
                         "--count", "6", "--heap-snapshots", "3"], timeout=180)
        self.assertEqual(r.returncode, 0, r.stderr)
        dumps = [os.path.join(rec, f) for f in snapshots(rec, "hprof")]
        self.assertEqual(len(dumps), 3)
        # suspects on the dumps alone ranks classes by their histograms.
        r = harness.run(["suspects", *dumps, "--json"], timeout=180)
        self.assertEqual(r.returncode, 0, r.stderr)
        ranked = [j for j in harness.json_lines(r.stdout) if j.get("rank")]
        self.assertTrue(ranked, r.stdout)
        self.assertEqual(ranked[0]["function"], "com.example.Session")
        r = harness.run(["diff", dumps[0], dumps[-1], "--json", "--top", "0"])
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = {j["class"]: j for j in harness.json_lines(r.stdout)}
        session = rows["com.example.Session"]
        self.assertGreater(session["count_delta"], 0)
        self.assertEqual(session["bytes_delta"], session["count_delta"] * 32)
        self.assertNotIn("new", session)  # heap dump ids are addresses: no object matching
        r = harness.run(["paths", rec, "--class", "com.example.Session", "--json"], timeout=180)
        self.assertEqual(r.returncode, 0, r.stderr)
        [row] = harness.json_lines(r.stdout)
        self.assertEqual(row["paths"][0]["steps"][0], "class com.example.SessionLeak")
        self.assertIsNone(jvm.poll())

    def test_truncated_dump_is_one_clear_error(self):
        jvm = self.start(java("SessionLeak", 5000, 100))
        self.assertEqual(jvm.stdout.readline().strip(), "quiet")
        dump = self.dump(jvm)
        cut = self.path("cut.hprof")
        with open(dump, "rb") as f, open(cut, "wb") as g:
            g.write(f.read(os.path.getsize(dump) // 2))
        r = harness.run(["top", cut])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertRegex(r.stderr, r"cut\.hprof: byte \d+: .*not a complete HPROF heap dump")


class JavaRefusals(harness.Case):
    def test_not_a_jvm_is_left_alone(self):
        sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
        self.procs.append(sleeper)
        r = harness.run(["record", "--runtime", "java", "--pid", str(sleeper.pid), "-o",
                         self.path("rec")], timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("is not a Java VM", r.stderr)
        time.sleep(0.3)
        self.assertIsNone(sleeper.poll(), "jcmd's SIGQUIT reached a process that is no JVM")

    def test_attach_disabled_is_said_once(self):
        jvm = self.start(java("Healthy", 1000, options=("-XX:+DisableAttachMechanism",)))
        r = harness.run(["record", "--pid", str(jvm.pid), "-o", self.path("rec")], timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("DisableAttachMechanism", r.stderr)
        self.assertIsNone(jvm.poll())

    def test_program_that_ends_before_its_jvm_answers(self):
        r = harness.run(["record", "-o", self.path("rec"), "--", *java("NoSuchClass")], timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)  # the program's own status
        self.assertIn("no snapshot was written: the program ended", r.stderr)
        self.assertIn("the program exited with code 1", r.stderr)
        self.assertNotIn("leakhunt: error", r.stderr)

    def test_snapshot_heap_of_a_non_jvm(self):
        sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
        self.procs.append(sleeper)
        r = harness.run(["snapshot", str(sleeper.pid), "--heap", "-o", self.path("d")])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("JVM", r.stderr)
        self.assertIsNone(sleeper.poll())


if __name__ == "__main__":
    unittest.main()
