"""A small, slow, independent reading of an HPROF heap dump for the tests: the objects, their
classes and shallow sizes, the references between them and the GC roots, then dominators by the
iterative data-flow algorithm (Cooper, Harvey and Kennedy, "A Simple, Fast Dominance Algorithm")
and retained sizes per class. It follows the rules leakhunt's reader documents (a node per object
and per class; fields, statics, array elements, a class's super class and loader, a loader's
classes; Reference.referent does not retain; compressed-oops sizes) but shares no code with it.
Meant for dumps of a few MB."""
import struct

BASIC = {1: 0, 2: 0, 4: 1, 5: 2, 6: 4, 7: 8, 8: 1, 9: 2, 10: 4, 11: 8}  # 0: an id
PRIM_NAMES = {4: "boolean[]", 5: "char[]", 6: "float[]", 7: "double[]", 8: "byte[]",
              9: "short[]", 10: "int[]", 11: "long[]"}


def java_name(jvm):
    dims = len(jvm) - len(jvm.lstrip("["))
    base = jvm[dims:]
    if dims and base.startswith("L") and base.endswith(";"):
        base = base[1:-1]
    elif dims and len(base) == 1:
        base = {"Z": "boolean", "C": "char", "F": "float", "D": "double", "B": "byte",
                "S": "short", "I": "int", "J": "long"}[base]
    name = base.replace("/", ".")
    if "+0x" in name:  # a hidden class, as Class.getName() writes it
        i = name.rindex("+0x")
        name = name[:i] + "/" + name[i + 1:]
    return name + "[]" * dims


def align8(v):
    return (v + 7) // 8 * 8


class Dump:
    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        nul = data.index(b"\0")
        assert data[:nul] == b"JAVA PROFILE 1.0.2"
        self.id_size = ids = struct.unpack_from(">I", data, nul + 1)[0]
        idf = ">Q" if ids == 8 else ">I"
        pos = nul + 1 + 4 + 8
        strings, class_names = {}, {}
        self.classes = {}    # id -> (super, loader, statics [(name, type, value)], fields [(name, type)])
        self.instances = {}  # id -> (class id, data bytes)
        self.obj_arrays = {}  # id -> (class id, [ids])
        self.prim_arrays = {}  # id -> (type, length)
        self.roots = []
        while pos < len(data):
            tag, _, length = struct.unpack_from(">BII", data, pos)
            pos += 9
            end = pos + length
            if tag == 0x01:
                strings[struct.unpack_from(idf, data, pos)[0]] = data[pos + ids:end].decode("utf-8", "replace")
            elif tag == 0x02:
                cls = struct.unpack_from(idf, data, pos + 4)[0]
                class_names[cls] = struct.unpack_from(idf, data, pos + 8 + ids)[0]
            elif tag in (0x0C, 0x1C):
                p = pos
                while p < end:
                    sub = data[p]
                    p += 1
                    if sub in (0xFF, 0x05, 0x07):
                        self.roots.append(struct.unpack_from(idf, data, p)[0]); p += ids
                    elif sub == 0x01:
                        self.roots.append(struct.unpack_from(idf, data, p)[0]); p += 2 * ids
                    elif sub in (0x02, 0x03, 0x08):
                        self.roots.append(struct.unpack_from(idf, data, p)[0]); p += ids + 8
                    elif sub in (0x04, 0x06):
                        self.roots.append(struct.unpack_from(idf, data, p)[0]); p += ids + 4
                    elif sub == 0x20:
                        cid, = struct.unpack_from(idf, data, p); p += ids + 4
                        sup, loader = struct.unpack_from(">" + idf[1] * 2, data, p); p += 6 * ids + 4
                        n, = struct.unpack_from(">H", data, p); p += 2
                        for _ in range(n):
                            t = data[p + 2]; p += 3 + (BASIC[t] or ids)
                        n, = struct.unpack_from(">H", data, p); p += 2
                        statics = []
                        for _ in range(n):
                            name, = struct.unpack_from(idf, data, p); t = data[p + ids]; p += ids + 1
                            size = BASIC[t] or ids
                            statics.append((name, t, int.from_bytes(data[p:p + size], "big"))); p += size
                        n, = struct.unpack_from(">H", data, p); p += 2
                        fields = []
                        for _ in range(n):
                            name, = struct.unpack_from(idf, data, p); fields.append((name, data[p + ids])); p += ids + 1
                        self.classes[cid] = (sup, loader, statics, fields)
                    elif sub == 0x21:
                        oid, = struct.unpack_from(idf, data, p)
                        cid, = struct.unpack_from(idf, data, p + ids + 4)
                        n, = struct.unpack_from(">I", data, p + 2 * ids + 4)
                        p += 2 * ids + 8
                        self.instances[oid] = (cid, data[p:p + n]); p += n
                    elif sub == 0x22:
                        oid, = struct.unpack_from(idf, data, p)
                        n, = struct.unpack_from(">I", data, p + ids + 4)
                        cid, = struct.unpack_from(idf, data, p + ids + 8)
                        p += 2 * ids + 8
                        self.obj_arrays[oid] = (cid, [struct.unpack_from(idf, data, p + i * ids)[0] for i in range(n)])
                        p += n * ids
                    elif sub == 0x23:
                        oid, = struct.unpack_from(idf, data, p)
                        n, = struct.unpack_from(">I", data, p + ids + 4)
                        t = data[p + ids + 8]
                        p += ids + 9 + n * BASIC[t]
                        self.prim_arrays[oid] = (t, n)
                    else:
                        raise ValueError(f"sub-record {sub:#x}")
            pos = end
        self.strings = strings
        self.name = {cid: java_name(strings.get(class_names.get(cid), "?")) for cid in self.classes}
        self._graph()

    # HotSpot's injected fields (javaClasses.hpp): class -> (native words, references).
    INJECTED = {"java.lang.ClassLoader": (1, 0), "java.lang.Module": (1, 0),
                "java.lang.invoke.MemberName": (1, 0), "java.lang.invoke.ResolvedMethodName": (1, 1),
                "java.lang.invoke.MethodHandleNatives$CallSiteContext": (2, 0)}

    def _all_fields(self, cid):
        out, extra = [], 0
        while cid in self.classes:
            out += [(f, t, self.name[cid]) for f, t in self.classes[cid][3]]
            words, refs = self.INJECTED.get(self.name[cid], (0, 0))
            extra += words * self.id_size + refs * 4
            cid = self.classes[cid][0]
        return out, extra

    def _graph(self):
        """Class name, shallow size and strong successors of every object; node 0 is the root."""
        ids = self.id_size
        compressed = True  # the tests' JVMs run with small heaps
        header, aheader, ref = (12, 16, 4) if compressed else (16, 24, 8)
        jsize = lambda t: ref if BASIC[t] == 0 else BASIC[t]
        self.cls, self.size, self.succ = {}, {}, {}
        class_bytes = 0
        for cid, name in self.name.items():
            if name == "java.lang.Class":
                class_bytes = sum(jsize(t) for _, t in self.classes[cid][3])
        for cid, (sup, loader, statics, _) in self.classes.items():
            self.cls[cid] = "java.lang.Class"
            self.size[cid] = align8(header + class_bytes + sum(jsize(t) for _, t, _ in statics))
            self.succ.setdefault(cid, [])
            self.succ[cid] += [sup, loader] + [v for _, t, v in statics if BASIC[t] == 0]
            if loader:
                self.succ.setdefault(loader, []).append(cid)
        layouts = {}
        for oid, (cid, raw) in self.instances.items():
            if cid not in layouts:
                fields, extra = self._all_fields(cid)
                layouts[cid] = (fields, align8(header + extra + sum(jsize(t) for _, t, _ in fields)))
            fields, size = layouts[cid]
            self.cls[oid] = self.name[cid]
            self.size[oid] = size
            out = self.succ.setdefault(oid, [])
            p = 0
            for name, t, holder in fields:
                n = BASIC[t] or ids
                if BASIC[t] == 0:
                    weak = holder == "java.lang.ref.Reference" and self.strings.get(name) == "referent"
                    if not weak:
                        out.append(int.from_bytes(raw[p:p + n], "big"))
                p += n
        for oid, (cid, elems) in self.obj_arrays.items():
            self.cls[oid] = self.name.get(cid, "?")
            self.size[oid] = align8(aheader + len(elems) * ref)
            self.succ.setdefault(oid, []).extend(elems)
        for oid, (t, n) in self.prim_arrays.items():
            self.cls[oid] = PRIM_NAMES[t]
            self.size[oid] = align8(aheader + n * BASIC[t])
        # The application's and platform's classes are roots ("system class").
        system = {"jdk.internal.loader.ClassLoaders$AppClassLoader",
                  "jdk.internal.loader.ClassLoaders$PlatformClassLoader"}
        self.succ[0] = list(self.roots) + [cid for cid, (_, loader, _, _) in self.classes.items()
                                           if self.cls.get(loader) in system]
        self.size[0] = 0
        for k in list(self.succ):
            self.succ[k] = [v for v in self.succ[k] if v in self.size]

    def histogram(self):
        out = {}
        for oid, name in self.cls.items():
            c, b = out.get(name, (0, 0))
            out[name] = (c + 1, b + self.size[oid])
        return out

    def retained_by_class(self):
        """Per class, the retained size of its instances that no other instance of the class
        dominates (unreached objects retain their own size)."""
        # Reverse postorder from the root, iteratively.
        order, seen, stack = [], {0}, [(0, iter(self.succ[0]))]
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, iter(self.succ.get(nxt, ()))))
                    break
            else:
                order.append(node)
                stack.pop()
        post = {n: i for i, n in enumerate(order)}
        rpo = order[::-1]
        preds = {n: [] for n in rpo}
        for n in rpo:
            for m in self.succ.get(n, ()):
                preds[m].append(n)
        idom = {0: 0}

        def intersect(a, b):
            while a != b:
                while post[a] < post[b]:
                    a = idom[a]
                while post[b] < post[a]:
                    b = idom[b]
            return a

        changed = True
        while changed:
            changed = False
            for n in rpo[1:]:
                new = None
                for p in preds[n]:
                    if p in idom:
                        new = p if new is None else intersect(p, new)
                if idom.get(n) != new:
                    idom[n] = new
                    changed = True
        retained = dict(self.size)
        for n in order:  # children before their dominators
            if n != 0:
                retained[idom[n]] += retained[n]
        out = {}
        for n in self.cls:
            if n in idom:
                a, nested = idom[n], False
                while a != 0:
                    if self.cls.get(a) == self.cls[n]:
                        nested = True
                        break
                    a = idom[a]
                if nested:
                    continue
            out[self.cls[n]] = out.get(self.cls[n], 0) + retained[n]
        return out
