"""leakhunt's tracemalloc bootstrap for CPython 3.8+.

Run as the script in front of a program (`python3 [options] leakhunt_bootstrap.py --ctl DIR
--depth N -- (script | -m module | -c command | -) ARGS`), it starts tracemalloc, starts the
control thread and then runs the program as the interpreter would have (sys.argv, sys.path[0],
__main__, tracebacks and exit status as without it). Executed inside a running interpreter (the
attach path, with the name `_leakhunt_attach` and `_leakhunt_args` in its globals), it starts
tracemalloc there and the control thread, and returns at once.

The control thread listens on a Unix socket in the private directory DIR (mode 0700, made by
leakhunt for the target's user) and answers one line per request:
  hello     -> "ok leakhunt-pytrace 1 pid=P python=X.Y.Z depth=N started=0|1"
  snapshot  -> "ok trace.N": a snapshot written to DIR/trace.N (temporary name, then renamed)
  stop      -> "ok": tracemalloc stopped if this bootstrap started it, the thread ends
The snapshot file is text, one record a line, strings %-escaped (bytes below 0x21, '%' and
bytes from 0x7f as %HH of their UTF-8 form):
  leakhunt-pytrace 1
  time UNIX_SECONDS
  traced_bytes N / traced_peak_bytes N / depth N / gc_objects N (-1: not counted)
  gc_count G0 G1 G2 / gc_collections G0 G1 G2
  dropped TRACES BYTES BLOCKS (tracebacks beyond the limit, summed)
  frame ID LINE FIRST_LINE FILE FUNCTION   (ids 0, 1, 2, ... in order; defined before use)
  trace BYTES BLOCKS FRAME_ID...           (the most recent call first)
  end TRACES FRAMES
tracemalloc's frames carry no function names: they are resolved here from the source file's
syntax tree (the innermost def/class around the line, named as its __qualname__; comprehensions
belong to the function around them; "<module>" outside any def), cached per file.
"""

import gc
import os
import sys
import threading
import tracemalloc

FORMAT = "leakhunt-pytrace 1"
MAX_TRACES = 50000   # tracebacks per snapshot file; the rest are summed on the `dropped` line
MAX_FRAMES = 128     # frames per traceback written (the oldest are cut)
OBJECT_COUNT_LIMIT = 2000000  # gc.get_objects() is counted only while below this many tracked
_THIS_FILE = os.path.abspath(__file__) if "__file__" in globals() else ""


def _escape(text):
    if text.isascii() and text.isprintable() and " " not in text and "%" not in text and text:
        return text
    out = []
    for b in text.encode("utf-8", "surrogateescape"):
        out.append("%%%02X" % b if b < 0x21 or b == 0x25 or b >= 0x7F else chr(b))
    return "".join(out) or "%"  # an empty string is written as a lone '%' (decoded as "")


class _Names:
    """Function names by (file, line), read from the source: the nearest `def` or `class` line
    above with less indentation, then the ones around it, named as __qualname__ names them
    ("Cache.add", "handler.<locals>.inner"); "<module>" outside any. A scan of the lines, not a
    parse: under tracemalloc every allocation is traced, and parsing the standard library's
    files with ast cost seconds in the target on the first snapshot (a def or class line inside
    a string at a smaller indentation can mislead it)."""

    MAX_FILES = 256

    def __init__(self):
        import re
        self._def = re.compile(r"^([ \t]*)(?:async[ \t]+)?(def|class)[ \t]+([A-Za-z_]\w*)",
                               re.MULTILINE)
        self._files = {}
        self._names = {}

    def _index(self, filename):
        """(indentation of each line, capped at 255; def/class lines as (line, indent, kind,
        name), their line numbers apart)."""
        index = self._files.get(filename)
        if index is None:
            if not filename.startswith("<"):
                try:
                    with open(filename, "rb") as f:
                        text = f.read().decode("utf-8", "replace")
                except (OSError, ValueError):
                    text = None
                if text is not None:
                    indents = bytearray(min(len(l) - len(l.lstrip()), 255)
                                        for l in text.split("\n"))
                    defs, line, pos = [], 1, 0
                    for m in self._def.finditer(text):
                        line += text.count("\n", pos, m.start())
                        pos = m.start()
                        defs.append((line, len(m.group(1)), m.group(2), m.group(3)))
                    index = (indents, defs, [d[0] for d in defs])
                    del text
            if len(self._files) >= self.MAX_FILES:
                self._files.clear()
            self._files[filename] = index
        return index

    def lookup(self, filename, line):
        key = (filename, line)
        found = self._names.get(key)
        if found is None:
            found = self._find(filename, line)
            self._names[key] = found
        return found

    def _find(self, filename, line):
        import bisect
        index = self._index(filename)
        if index is None or not 1 <= line <= len(index[0]):
            return (os.path.basename(filename) or "?", 0)
        indents, defs, def_lines = index
        indent = indents[line - 1]
        scopes = []  # (name, kind), innermost first
        first = 0
        i = bisect.bisect_left(def_lines, line) - 1
        while i >= 0 and indent > 0:
            at_line, at, kind, name = defs[i]
            if at < indent:
                scopes.append((name, kind))
                first = first or at_line
                indent = at
            i -= 1
        if not scopes:
            return ("<module>", 1)
        parts = []
        for name, kind in reversed(scopes):
            parts.append(name)
            if kind == "def":
                parts.append("<locals>")
        if parts[-1] == "<locals>":
            parts.pop()
        return (".".join(parts), first)


class _Recorder:
    """tracemalloc, the control socket and its thread, in one target process."""

    def __init__(self, ctl, depth, launched):
        self.ctl = ctl
        self.depth = depth
        self.launched = launched
        self.pid = os.getpid()
        self.started = False
        self.seq = 0
        self.names = _Names()
        self.lock = threading.Lock()
        self.sock = None
        self.thread = None
        # Tests only: also dump Snapshot.statistics('lineno') of each snapshot to this directory.
        self.lineno_dir = os.environ.get("LEAKHUNT_PYTRACE_TEST_LINENO")

    def start(self):
        if not tracemalloc.is_tracing():
            tracemalloc.start(self.depth)
            self.started = True
        else:
            self.depth = tracemalloc.get_traceback_limit()
        import socket
        path = os.path.join(self.ctl, "ctl.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            os.chmod(path, 0o600)
            sock.listen(2)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self.thread = threading.Thread(target=self._serve, name="leakhunt-tracemalloc",
                                       daemon=True)
        self.thread.start()

    def _serve(self):
        sock = self.sock
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(10)
                    request = conn.recv(64).split(b"\n")[0].strip()
                    stop = request == b"stop"
                    reply = self._answer(request)
                except Exception as e:  # the target must never see our failure
                    stop = False
                    reply = "error " + _escape(type(e).__name__ + ": " + str(e))[:400]
                try:
                    conn.sendall((reply + "\n").encode())
                except OSError:
                    pass
            if stop:
                self._close()
                return

    def _answer(self, request):
        if request == b"hello":
            return "ok %s pid=%d python=%s depth=%d started=%d" % (
                FORMAT, os.getpid(), ".".join(map(str, sys.version_info[:3])), self.depth,
                int(self.started))
        if request == b"snapshot":
            self.seq += 1
            name = "trace.%d" % self.seq
            self.write(os.path.join(self.ctl, name))
            return "ok " + name
        if request == b"stop":
            if self.started and tracemalloc.is_tracing():
                tracemalloc.stop()
            return "ok"
        return "error unknown request"

    def _close(self):
        if not self.launched:
            sys.modules.pop("_leakhunt_tracemalloc", None)
        try:
            os.unlink(os.path.join(self.ctl, "ctl.sock"))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def write(self, path):
        with self.lock:
            if not tracemalloc.is_tracing():
                raise RuntimeError("tracemalloc is not tracing (stopped by the program)")
            snap = tracemalloc.take_snapshot()
            current, peak = tracemalloc.get_traced_memory()
            kept = self._kept(snap)
            text = self._render(kept, current, peak)
            tmp = path + ".tmp"
            # os.write, not a file object: os.fdopen kept ~100 bytes a call alive in the target
            # (seen as a steadily growing <frozen os> line in a healthy program's snapshots).
            data = memoryview(text.encode("ascii"))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            try:
                while data:
                    data = data[os.write(fd, data):]
            finally:
                os.close(fd)
            os.replace(tmp, path)
            if self.lineno_dir:
                self._write_lineno(tracemalloc.Snapshot(kept, snap.traceback_limit), os.path.join(
                    self.lineno_dir, "lineno." + os.path.basename(path).split(".", 1)[1]))

    @staticmethod
    def _own_files():
        return {_THIS_FILE, tracemalloc.__file__}

    def _kept(self, snap):
        """The snapshot's raw traces without the blocks this file and tracemalloc allocated:
        those whose most recent frame is theirs (what Snapshot.filter_traces([Filter(False,
        file)]) leaves out, without its per-trace pattern matching, which costs ~100 us a
        block) and those of the control thread."""
        own = self._own_files()
        return [t for t in snap.traces._traces
                if not (t[2] and t[2][0][0] in own) and
                not (len(t[2]) > 1 and self._in_control_thread(t[2]))]

    def _group(self, kept):
        """{traceback (most recent frame first): [size, count]}."""
        groups = {}
        for trace in kept:
            frames = trace[2]
            g = groups.get(frames)
            if g is None:
                groups[frames] = [trace[1], 1]
            else:
                g[0] += trace[1]
                g[1] += 1
        return groups

    def _in_control_thread(self, frames):
        """True when this file's code (the control thread) is among the frames above the
        launcher's chain at the bottom (the program runs under it when launched)."""
        end = len(frames)
        if self.launched:
            skip = self._launcher_files()
            while end > 0 and frames[end - 1][0] in skip:
                end -= 1
        for i in range(end):
            if frames[i][0] == _THIS_FILE:
                return True
        return False

    def _render(self, kept, current, peak):
        counted = -1
        stats = gc.get_stats()
        out = [FORMAT, "time %.6f" % __import__("time").time(),
               "traced_bytes %d" % current, "traced_peak_bytes %d" % peak,
               "depth %d" % self.depth]
        objects = gc.get_objects()
        if len(objects) < OBJECT_COUNT_LIMIT:
            counted = len(objects)
        del objects
        out.append("gc_objects %d" % counted)
        out.append("gc_count %d %d %d" % gc.get_count())
        out.append("gc_collections " + " ".join(str(s.get("collections", 0)) for s in stats[:3]))
        groups = sorted(self._group(kept).items(), key=lambda item: item[1][0], reverse=True)
        dropped = groups[MAX_TRACES:]
        out.append("dropped %d %d %d" % (len(dropped), sum(g[1][0] for g in dropped),
                                         sum(g[1][1] for g in dropped)))
        frame_ids = {}
        trace_lines = []
        skip = self._launcher_files() if self.launched else ()
        for frames, (size, count) in groups[:MAX_TRACES]:
            frames = list(frames)  # the most recent first
            while skip and len(frames) > 1 and frames[-1][0] in skip:
                frames.pop()  # the bootstrap and runpy under the program's <module>
            ids = []
            for frame in frames[:MAX_FRAMES]:
                fid = frame_ids.get(frame)
                if fid is None:
                    fid = len(frame_ids)
                    frame_ids[frame] = fid
                    func, first = self.names.lookup(frame[0], frame[1])
                    out.append("frame %d %d %d %s %s" % (fid, frame[1], first,
                                                         _escape(frame[0]), _escape(func)))
                ids.append(str(fid))
            trace_lines.append("trace %d %d %s" % (size, count, " ".join(ids)))
        out.extend(trace_lines)
        out.append("end %d %d" % (len(trace_lines), len(frame_ids)))
        return "\n".join(out) + "\n"

    _launcher = None

    @classmethod
    def _launcher_files(cls):
        if cls._launcher is None:
            import runpy
            cls._launcher = {_THIS_FILE, runpy.__file__, "<frozen runpy>"}
        return cls._launcher

    @staticmethod
    def _write_lineno(snap, path):
        """Tests: tracemalloc's own statistics by line of the same traces, as JSON."""
        import json
        rows = [[s.traceback[0].filename, s.traceback[0].lineno, s.size, s.count]
                for s in snap.statistics("lineno")]
        with open(path + ".tmp", "w") as f:
            json.dump(rows, f)
        os.replace(path + ".tmp", path)

    def at_exit(self):
        if os.getpid() != self.pid or not tracemalloc.is_tracing():
            return  # a forked child inherited the hook; its parent is the one recorded
        try:
            self.write(os.path.join(self.ctl, "trace.exit"))
        except Exception:
            pass


def _parse_args(argv):
    """`--ctl DIR --depth N -- MODE...` -> (ctl, depth, rest)."""
    ctl, depth, i = None, 1, 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--ctl" and i + 1 < len(argv):
            ctl = argv[i + 1]
        elif argv[i] == "--depth" and i + 1 < len(argv):
            depth = int(argv[i + 1])
        else:
            raise SystemExit("leakhunt bootstrap: unknown argument %r" % argv[i])
        i += 2
    if ctl is None or i >= len(argv) - 1:
        raise SystemExit("leakhunt bootstrap: usage: --ctl DIR --depth N -- PROGRAM ARGS")
    return ctl, depth, argv[i + 1:]


def _run_program(rest):
    """Runs the program as `python3 REST` would: in a fresh __main__, with its own argv and
    sys.path[0]. Returns normally or raises what the program raised, its traceback starting at
    the program's own frame."""
    import builtins
    import importlib.machinery
    main = sys.modules["__main__"]
    g = main.__dict__
    mode = rest[0]
    path0 = None
    if mode == "-c":
        code = compile(rest[1], "<string>", "exec")
        sys.argv[:] = ["-c"] + rest[2:]
        path0 = ""
        loader, filename = importlib.machinery.BuiltinImporter, None
    elif mode == "-m":
        sys.argv[:] = ["-m"] + rest[2:]
        path0 = os.getcwd()
        code = None
    elif mode == "-":
        code = compile(sys.stdin.read(), "<stdin>", "exec")
        sys.argv[:] = ["-"] + rest[1:]
        path0 = ""
        loader, filename = importlib.machinery.BuiltinImporter, None
    else:
        script = rest[0]
        sys.argv[:] = rest
        # As the interpreter makes it absolute: joined to the working directory, not normalised.
        filename = script if os.path.isabs(script) else os.path.join(os.getcwd(), script)
        path0 = os.path.dirname(os.path.realpath(script))
        if os.path.isdir(script) or not script.endswith((".py", ".pyw")) and \
                _is_zip(script):
            path0, code = script, None  # a directory or zip with __main__.py: run as -m does
            mode = "-m"
            rest = ["-m", "__main__"]
        else:
            try:
                with open(script, "rb") as f:
                    source = f.read()
            except OSError as e:
                program = (getattr(sys, "orig_argv", None) or ["python3"])[0]
                sys.stderr.write("%s: can't open file %r: [Errno %d] %s\n"
                                 % (program, filename, e.errno, e.strerror))
                raise SystemExit(2)
            code = compile(source, filename, "exec")
            loader = importlib.machinery.SourceFileLoader("__main__", filename)
    safe = getattr(sys.flags, "safe_path", False) or sys.flags.isolated
    if not safe and sys.path and os.path.dirname(os.path.realpath(_THIS_FILE)) == sys.path[0]:
        sys.path[0] = path0
    g.clear()
    g.update(__name__="__main__", __doc__=None, __package__=None, __spec__=None,
             __annotations__={}, __builtins__=builtins)
    if mode == "-m":
        import runpy
        return runpy._run_module_as_main(rest[1], alter_argv=True)
    g["__loader__"] = loader
    if filename is not None:
        g["__file__"] = filename
        g["__cached__"] = None
    exec(code, g)


def _is_zip(path):
    import zipfile
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def _launch():
    ctl, depth, rest = _parse_args(sys.argv[1:])
    recorder = _Recorder(ctl, depth, launched=True)
    import atexit
    recorder.start()
    atexit.register(recorder.at_exit)
    try:
        _run_program(rest)
    except SystemExit:
        raise
    except BaseException as e:
        # As the interpreter prints an uncaught exception, without this file's frames; then the
        # exception goes on up (KeyboardInterrupt still ends the process by SIGINT, the exit
        # status is the interpreter's) but is not printed twice.
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == _THIS_FILE:
            tb = tb.tb_next
        e.__traceback__ = tb  # the default hook prints the exception's own traceback
        sys.excepthook(type(e), e, tb)
        sys.excepthook = lambda *args: None
        raise


def _attach(ctl, depth):
    """Inside a running interpreter: start tracemalloc and the control thread. Failures go to
    DIR/error, never to the program's stderr."""
    try:
        if "_leakhunt_tracemalloc" in sys.modules:
            raise RuntimeError("leakhunt is already recording this interpreter")
        recorder = _Recorder(ctl, depth, launched=False)
        module = type(sys)("_leakhunt_tracemalloc")
        module.recorder = recorder
        recorder.start()
        sys.modules["_leakhunt_tracemalloc"] = module
    except BaseException as e:
        try:
            with open(os.path.join(ctl, "error"), "w") as f:
                f.write("%s: %s\n" % (type(e).__name__, e))
        except OSError:
            pass


if __name__ == "__main__":
    # Run as the script: load this file again as its own module, so that its globals are not
    # those of __main__, which becomes the program's.
    def _own_module():
        module = type(sys)("_leakhunt_tracemalloc")
        module.__file__ = __file__
        with open(__file__, "rb") as f:
            exec(compile(f.read(), __file__, "exec"), module.__dict__)
        return module
    sys.modules["_leakhunt_tracemalloc"] = _own_module()
    sys.modules["_leakhunt_tracemalloc"]._launch()
elif __name__ == "_leakhunt_attach":
    _attach(*_leakhunt_args)  # noqa: F821 (given by the code that executes this file)
