"""Shared helpers for the integration tests: where the binaries are, running leakhunt with a
timeout, temporary directories, and starting victims that are always cleaned up."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("LEAKHUNT_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
CORPUS = os.environ.get("LEAKHUNT_CORPUS", os.path.join(os.path.dirname(__file__), "../data/corpus"))
TEST_DATA = os.environ.get("LEAKHUNT_TEST_DATA", os.path.join(os.path.dirname(__file__), "../data"))
LEAKHUNT = os.path.join(BIN, "leakhunt")


def binary(name):
    return os.path.join(BIN, name)


def run(args, timeout=120, env=None, **kw):
    """Runs leakhunt with args; returns CompletedProcess (text)."""
    full_env = dict(os.environ)
    full_env["NO_COLOR"] = "1"
    if env:
        full_env.update(env)
    return subprocess.run([LEAKHUNT] + args, capture_output=True, text=True, timeout=timeout,
                          env=full_env, stdin=subprocess.DEVNULL, **kw)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (bound to port 0, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


class Case(unittest.TestCase):
    """A test case with a temporary directory and victims killed at the end."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="leakhunt-it-")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
            if p.stdout:
                p.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, argv):
        """Starts a victim in its own process group and waits for its 'ready' line."""
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             start_new_session=True)
        self.procs.append(p)
        line = p.stdout.readline()
        self.assertEqual(line.strip(), "ready", f"{argv[0]} did not start")
        return p
