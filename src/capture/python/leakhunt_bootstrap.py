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
  heapgraph -> "ok graph.N nodes=N edges=E roots=R seconds=S": the object graph written to
               DIR/graph.N (binary, `.pygraph`; see _GraphWriter for the format)
Attached with depth 0 it only serves heapgraph: tracemalloc is not started, and it may be
attached beside a recorder already running in the interpreter.
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
        if self.depth == 0:
            pass  # object graphs only: tracemalloc is left as it is
        elif not tracemalloc.is_tracing():
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
        if request == b"heapgraph":
            self.seq += 1
            name = "graph.%d" % self.seq
            with self.lock:
                stats = _GraphWriter(self.thread).write(os.path.join(self.ctl, name))
            return "ok %s %s" % (name, stats)
        if request == b"stop":
            if self.started and tracemalloc.is_tracing():
                tracemalloc.stop()
            return "ok"
        return "error unknown request"

    def _close(self):
        if not self.launched and self.depth != 0:
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
            # CPython's type attribute cache (4096 slots, by the name's address) keeps a
            # reference to each name it caches, and a name made anew per call ('do_' + command
            # in http.server, the "struct_time" datetime.timetuple looks up) takes a slot each
            # time: dead strings filling in at the line that made them, read as steady growth
            # until every slot is taken. Emptied first, it holds none of the program's memory;
            # it refills within microseconds.
            sys._clear_type_cache()
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


class _GraphWriter:
    """The object graph of this interpreter as a `.pygraph` file (read by leakhunt's
    src/heapgraph/pygraph_reader.cpp, which documents the same layout).

    Layout, all integers little-endian, arrays packed without padding:
      header   8 bytes "LHPYGRPH", u32 version (1), u32 flags (0)
      sections in this order, each: u32 tag, u64 count, then its arrays:
        1 STRINGS  count strings: u32 length[count], then the UTF-8 bytes back to back
        2 NODES    count nodes:   u32 type_name[count] (a string), u64 size[count]
                   (sys.getsizeof), u64 id[count] (id(): the address, stable while the object
                   lives), u8 flags[count] (bit 0: tracked by the gc, listed by gc.get_objects)
        3 EDGES    count edges:   u32 edge_count[node count] (each node's edges, in node order),
                   u32 target[count] (a node), u8 kind[count], u32 name[count]
                   kinds: 0 ref (a referent, unnamed), 1 value (a dict's value, named by its
                   key when the key is a str), 2 key (a dict's key), 3 element (a list's or
                   tuple's item, the name is its index), 4 attribute (named)
                   name: a string, the index for an element, 0xFFFFFFFF for none
        4 ROOTS    count roots:   u8 kind[count], u32 group[count] (a string), u32 name[count]
                   (a string), u32 target[count] (a node)
                   kinds: 1 module global (group: the module's name), 2 a frame's local
                   (group: "thread `T` frame `F` (FILE:LINE)"), 3 class attribute (group: the
                   class's module.qualname)
        5 META     count pairs:   u32 key[count], u32 value[count] (strings)
      trailer  8 bytes "LHPYEND1", u64 nodes, u64 edges, u64 file size (the trailer included)

    The nodes are every object gc.get_objects() lists (tracked containers) and, found from
    them through gc.get_referents, the untracked ones (str, int, dicts and tuples of atoms, ...).
    While the graph is taken the collector is off and the switch interval is raised, so the
    program's threads wait and the graph is of one moment; the wait is the time the walk takes
    (bounded by MAX_SECONDS, and MAX_NODES nodes; past either it stops with an error). Nothing
    is printed; no user code runs (a type's own __sizeof__ is not called: object.__sizeof__
    is used for it, dicts and lists are read through dict's and gc's C functions); every
    reference taken is dropped before it returns. Frame locals are read through f_locals,
    which gives a function's frame a locals dict for the rest of its run (CPython keeps it).
    """

    MAX_NODES = 10000000  # ~175 bytes a node in the target while it walks: ~1.7 GB at most
    MAX_SECONDS = 300.0
    MAGIC = b"LHPYGRPH"
    TRAILER = b"LHPYEND1"
    NONE = 0xFFFFFFFF
    NAME_LIMIT = 200

    def __init__(self, own_thread):
        self.own_thread = own_thread

    def write(self, path):
        import array
        import time
        import struct
        was_enabled = gc.isenabled()
        interval = sys.getswitchinterval()
        gc.disable()
        sys.setswitchinterval(1000.0)
        began = time.perf_counter()
        try:
            parts, stats = self._walk(array, struct, began)
        finally:
            sys.setswitchinterval(interval)
            if was_enabled:
                gc.enable()
        paused = time.perf_counter() - began
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            for part in parts:
                data = memoryview(part)
                while data:
                    data = data[os.write(fd, data):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
        del parts
        return "%s paused=%.3f seconds=%.3f" % (stats, paused, time.perf_counter() - began)

    def _walk(self, array, struct, began):
        import time
        NONE = self.NONE
        strings = {}

        def intern(text):
            i = strings.get(text)
            if i is None:
                i = strings[text] = len(strings)
            return i

        def key_name(k):
            if type(k) is str:
                return intern(k[:self.NAME_LIMIT])
            return NONE

        intern("")
        oracle_dir = os.environ.get("LEAKHUNT_PYGRAPH_TEST_ORACLE")
        if oracle_dir:
            import json  # before the moment: its modules are not new objects in the graph
        objects = gc.get_objects()
        if oracle_dir:
            self._write_oracle(objects, oracle_dir)
        order = objects  # node index -> object; untracked objects are appended as found
        tracked = len(objects)
        index = {}
        for i, o in enumerate(objects):
            index[id(o)] = i
        own = {id(objects), id(index), id(strings)}
        frame_type = type(sys._getframe())
        type_names = {}
        sizers = {}
        getsizeof = sys.getsizeof
        get_referents = gc.get_referents
        dict_items = dict.items
        node_type = array.array("I")
        node_size = array.array("Q")
        node_id = array.array("Q")
        edge_count = array.array("I")
        edge_to = array.array("I")
        edge_kind = array.array("B")
        edge_name = array.array("I")
        plain_sizeof = (type(object.__sizeof__), type(dict.__sizeof__))
        object_sizeof = object.__sizeof__
        type_module = type.__dict__["__module__"].__get__
        type_qualname = type.__dict__["__qualname__"].__get__

        def type_name(t):
            # Through type's own descriptors: a metaclass's attributes are not asked.
            try:
                module, qual = type_module(t), type_qualname(t)
            except Exception:
                return "?"
            if type(qual) is not str:
                return "?"
            return qual if type(module) is not str or module == "builtins" else module + "." + qual

        def builtin_sizeof(t):
            for base in type.__dict__["__mro__"].__get__(t):
                impl = type.__dict__["__dict__"].__get__(base).get("__sizeof__")
                if impl is not None:
                    return type(impl) in plain_sizeof
            return False

        def node_of(o):
            k = id(o)
            i = index.get(k)
            if i is None:
                i = index[k] = len(order)
                order.append(o)
            return i

        def new_type(t):
            type_names[t] = intern(type_name(t))
            sizer = sizers[t] = getsizeof if builtin_sizeof(t) else None
            return sizer

        def dict_edges(o, t):
            n = 0
            seen = set() if t is not dict else None
            try:
                for k, v in dict_items(o):
                    edge_to.append(node_of(k))
                    edge_kind.append(2)
                    edge_name.append(NONE)
                    edge_to.append(node_of(v))
                    edge_kind.append(1)
                    edge_name.append(key_name(k))
                    n += 2
                    if seen is not None:
                        seen.add(id(k))
                        seen.add(id(v))
            except RuntimeError:
                pass  # changed while read (a thread not stopped): the rest are refs
            if seen is not None:
                for r in get_referents(o):
                    if id(r) not in seen:
                        edge_to.append(node_of(r))
                        edge_kind.append(0)
                        edge_name.append(NONE)
                        n += 1
            return n

        def type_edges(o):
            # A static (built-in) type is not traversed by the gc: its dict, reached through the
            # read-only proxy type.__dict__ gives.
            n = 0
            try:
                if not o.__flags__ & (1 << 9):
                    for r in get_referents(type.__dict__["__dict__"].__get__(o)):
                        edge_to.append(node_of(r))
                        edge_kind.append(4)
                        edge_name.append(intern("__dict__"))
                        n += 1
            except Exception:
                pass
            return n

        def visit(o):
            """One node: its id, type and size, its edges; returns its edge count. Small, its
            allocations first, the rare cases in the functions above: under tracemalloc each
            allocation is traced with its line, which CPython 3.11 finds by scanning the running
            function's line table from its start (in one long function, as the walk once was,
            that scan took 90% of the walk's time)."""
            oid = id(o)
            node_id.append(oid)
            t = type(o)
            sizer = sizers.get(t, False)
            if sizer is False:
                sizer = new_type(t)
            node_type.append(type_names[t])
            try:
                node_size.append(sizer(o) if sizer is not None else object_sizeof(o))
            except Exception:
                node_size.append(object_sizeof(o))
            if oid in own or t is frame_type and o.f_code.co_filename == _THIS_FILE:
                return 0  # this walk's own data and frames
            if t is dict or issubclass(t, dict):
                return dict_edges(o, t)
            if t is list or t is tuple:
                return element_edges(o)
            refs = get_referents(o)
            for r in refs:
                edge_to.append(node_of(r))
                edge_kind.append(0)
                edge_name.append(NONE)
            if t is type or issubclass(t, type):
                return len(refs) + type_edges(o)
            return len(refs)

        def element_edges(o):
            refs = get_referents(o)
            for j, r in enumerate(refs):
                edge_to.append(node_of(r))
                edge_kind.append(3)
                edge_name.append(j)
            return len(refs)

        def visit_all():
            """Visits `order` while it grows, checking the bounds every 65,536 nodes."""
            start = 0
            while start < len(order):
                if len(order) > self.MAX_NODES:
                    raise RuntimeError("more than %d objects: the graph is not taken"
                                       % self.MAX_NODES)
                if time.perf_counter() - began > self.MAX_SECONDS:
                    raise RuntimeError("the walk took over %.0f s: the graph is not taken"
                                       % self.MAX_SECONDS)
                end = min(len(order), start + 65536)
                for o in order[start:end]:  # what these add to `order` comes in a later slice
                    edge_count.append(visit(o))
                start = end

        # The cells of these closures existed before the moment: they hold this walk's tables.
        for f in (intern, key_name, node_of, type_name, builtin_sizeof, new_type, dict_edges,
                  type_edges, visit, element_edges, visit_all):
            own.update(id(c) for c in f.__closure__ or ())
        roots = self._roots(node_of, intern, order)
        visit_all()
        nodes = len(order)
        node_flags = array.array("B", b"\x01" * tracked)  # bit 0: listed by gc.get_objects
        node_flags.frombytes(bytes(nodes - tracked))
        del order[tracked:]
        objects = order = index = None
        meta = [("python", ".".join(map(str, sys.version_info[:3]))), ("pid", str(os.getpid())),
                ("time", "%.6f" % time.time()), ("gc_objects", str(tracked))]
        meta_keys = array.array("I", [intern(k) for k, _ in meta])
        meta_values = array.array("I", [intern(v) for _, v in meta])
        root_kind = array.array("B", [r[0] for r in roots])
        root_group = array.array("I", [r[1] for r in roots])
        root_name = array.array("I", [r[2] for r in roots])
        root_target = array.array("I", [r[3] for r in roots])
        encoded = [s.encode("utf-8", "backslashreplace") for s in strings]
        lengths = array.array("I", [len(b) for b in encoded])
        arrays = [node_type, node_size, node_id, node_flags, edge_count, edge_to, edge_kind,
                  edge_name, root_kind, root_group, root_name, root_target, meta_keys,
                  meta_values, lengths]
        if sys.byteorder != "little":
            for a in arrays:
                a.byteswap()
        section = struct.Struct("<IQ")
        parts = [self.MAGIC + struct.pack("<II", 1, 0),
                 section.pack(1, len(encoded)), lengths.tobytes(), b"".join(encoded),
                 section.pack(2, nodes), node_type.tobytes(), node_size.tobytes(),
                 node_id.tobytes(), node_flags.tobytes(),
                 section.pack(3, len(edge_to)), edge_count.tobytes(), edge_to.tobytes(),
                 edge_kind.tobytes(), edge_name.tobytes(),
                 section.pack(4, len(roots)), root_kind.tobytes(), root_group.tobytes(),
                 root_name.tobytes(), root_target.tobytes(),
                 section.pack(5, len(meta)), meta_keys.tobytes(), meta_values.tobytes()]
        size = sum(len(p) for p in parts) + 32
        parts.append(self.TRAILER + struct.pack("<QQQ", nodes, len(edge_to), size))
        return parts, "nodes=%d edges=%d roots=%d gc_objects=%d" % (
            nodes, len(edge_to), len(roots), tracked)

    def _roots(self, node_of, intern, order):
        """[(kind, group, name, node)]: module globals, the frames' locals of every thread but
        this one, the attributes of classes defined in Python (heap types)."""
        roots = []
        module_type = type(sys)
        dunder = []
        for mod_name, module in list(sys.modules.items()):
            if type(mod_name) is not str or not issubclass(type(module), module_type) or \
                    mod_name == "_leakhunt_tracemalloc":
                continue
            try:
                d = object.__getattribute__(module, "__dict__")
            except Exception:
                continue
            if type(d) is not dict:
                continue
            group = intern(mod_name[:self.NAME_LIMIT])
            try:
                for k, v in dict.items(d):
                    if type(k) is not str:
                        continue
                    entry = (1, group, intern(k[:self.NAME_LIMIT]), node_of(v))
                    (dunder if k.startswith("__") else roots).append(entry)
            except RuntimeError:
                pass
        roots.extend(dunder)
        own = self.own_thread.ident if self.own_thread is not None else None
        mine = threading.get_ident()
        names = {}
        for thread in list(threading._active.values()):
            names[thread.ident] = thread.name
        frames = sys._current_frames()
        for ident, frame in frames.items():
            if ident == own or ident == mine:
                continue
            thread = names.get(ident, "%d" % ident)
            while frame is not None:
                code = frame.f_code
                if code.co_flags & 1:  # CO_OPTIMIZED: a function's frame (not a module's)
                    group = intern("thread `%s` frame `%s` (%s:%d)" % (
                        thread, getattr(code, "co_qualname", code.co_name),
                        os.path.basename(code.co_filename), frame.f_lineno or 0))
                    try:
                        f_locals = frame.f_locals  # 3.13+: a proxy (C), not a dict
                        items = dict.items(f_locals) if type(f_locals) is dict else \
                            f_locals.items()
                        for k, v in items:
                            if type(k) is str:
                                roots.append((2, group, intern(k[:self.NAME_LIMIT]),
                                              node_of(v)))
                    except Exception:
                        pass
                frame = frame.f_back
        frames = frame = None
        heap_type = 1 << 9
        for o in order[:len(order)]:
            if type(o) is type or issubclass(type(o), type):
                if not o.__flags__ & heap_type:
                    continue
                try:
                    d = type.__dict__["__dict__"].__get__(o)
                    module = type.__dict__["__module__"].__get__(o)
                    if type(module) is str and module.startswith("_leakhunt_"):
                        continue  # this bootstrap's own classes
                    group = intern("%s.%s" % (module, type.__dict__["__qualname__"].__get__(o)))
                    for k, v in d.items():
                        if type(k) is str and not k.startswith("__"):
                            roots.append((3, group, intern(k[:self.NAME_LIMIT]), node_of(v)))
                except Exception:
                    pass
        return roots

    @staticmethod
    def _write_oracle(objects, directory):
        """Tests: the gc's objects of this moment counted by type, as JSON, from the same list
        the graph is made of (counted here by type(o), independently of the walk)."""
        import json
        counts = {}
        for o in objects:
            t = type(o)
            key = (t.__module__, t.__qualname__)
            counts[key] = counts.get(key, 0) + 1
        rows = [[m, q, c] for (m, q), c in counts.items()]
        with open(os.path.join(directory, "oracle.json.tmp"), "w") as f:
            json.dump(rows, f)
        os.replace(os.path.join(directory, "oracle.json.tmp"),
                   os.path.join(directory, "oracle.json"))


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
        if depth == 0:
            _Recorder(ctl, depth, launched=False).start()  # graphs only, beside any recorder
            return
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
