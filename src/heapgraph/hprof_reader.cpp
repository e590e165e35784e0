// The streaming HPROF reader: its three passes and the graph they build; see hprof_reader.hpp for
// the format, the passes and the rules (the reads are in hprof_format.hpp, the class layouts in
// hprof_classes.hpp).
#include "heapgraph/hprof_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "heapgraph/hprof_classes.hpp"
#include "heapgraph/hprof_format.hpp"
#include "heapgraph/id_index.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::heapgraph {
namespace {

// Edge types of the model, in this order.
enum EdgeKind : uint8_t {
    e_field,
    e_static,
    e_element,
    e_weak,
    e_internal,
    e_root_first,  // then one per root kind, in k_root_kinds order
};
// Not an HPROF root: a class of the application or platform class loader, which the JVM never
// unloads; a root as in MAT ("System Class"), so a static field's path starts at its class.
constexpr uint8_t k_system_class_kind = std::size(k_root_kinds);
enum NodeKind : uint8_t { n_root, n_instance, n_class, n_array };

struct Root {
    uint8_t kind;  // index in k_root_kinds
    NodeIndex node;
    StringIndex name;
    bool operator<(const Root& o) const {
        return std::tie(node, kind, name) < std::tie(o.node, o.kind, o.name);
    }
    bool operator==(const Root& o) const {
        return node == o.node && kind == o.kind && name == o.name;
    }
};

struct RawRoot {
    uint8_t kind;
    uint64_t id;
    uint32_t thread;  // serial, 0: none
};

class Reader {
  public:
    explicit Reader(HprofInput& in) : m_in(in) {}

    Graph read() {
        m_id = read_hprof_header(m_in);
        m_data_start = m_in.offset();
        m_graph.node_id.push_back(0);  // the root
        pass(1);
        prepare();
        pass(2);
        add_system_classes();
        place_edges();
        pass(3);
        finish();
        m_graph.check(m_in.where());
        return std::move(m_graph);
    }

  private:
    // One sequential read of the records.
    void pass(int which) {
        m_pass = which;
        m_in.set_limit(m_in.size());
        m_in.seek(m_data_start);
        while (m_in.remaining() > 0) {
            const uint8_t tag = m_in.u1("a record tag");
            m_in.u4("a record's time");
            const uint32_t len = m_in.u4("a record's length");
            if (len > m_in.remaining()) {
                m_in.fail("a record (tag {:#04x}) of {} bytes runs past the end of the file", tag,
                          len);
            }
            const uint64_t end = m_in.offset() + len;
            m_in.set_limit(end);
            switch (static_cast<Tag>(tag)) {
                case Tag::string:
                    if (m_pass == 1) string_record(len);
                    break;
                case Tag::load_class:
                    if (m_pass == 1) {
                        m_in.u4("a class serial number");
                        const uint64_t cls = m_in.id(m_id, "a class id");
                        m_in.u4("a stack trace serial number");
                        m_class_name_id[cls] = m_in.id(m_id, "a class name id");
                    }
                    break;
                case Tag::start_thread:
                    if (m_pass == 1) {
                        const uint32_t serial = m_in.u4("a thread serial number");
                        m_in.id(m_id, "a thread id");
                        m_in.u4("a stack trace serial number");
                        m_thread_name_id[serial] = m_in.id(m_id, "a thread name id");
                    }
                    break;
                case Tag::heap_dump:
                case Tag::heap_dump_segment:
                    while (m_in.remaining() > 0) sub_record();
                    break;
                default:
                    break;
            }
            m_in.skip(m_in.remaining(), "a record");
            m_in.set_limit(m_in.size());
        }
    }

    void string_record(uint32_t len) {
        const uint64_t id = m_in.id(m_id, "a string id");
        std::string s;
        for (uint64_t left = len - m_id; left > 0;) {
            const size_t n = static_cast<size_t>(std::min<uint64_t>(left, k_hprof_chunk));
            s.append(reinterpret_cast<const char*>(m_in.take(n, "a string")), n);
            left -= n;
        }
        m_strings[id] = std::move(s);
    }

    void sub_record() {
        const uint64_t at = m_in.offset();
        const uint8_t tag = m_in.u1("a heap dump sub-record tag");
        switch (static_cast<Sub>(tag)) {
            case Sub::root_unknown:
            case Sub::root_sticky_class:
            case Sub::root_monitor_used:
                root(tag, m_in.id(m_id, "a root's object id"), 0);
                break;
            case Sub::root_jni_global: {
                const uint64_t id = m_in.id(m_id, "a root's object id");
                m_in.id(m_id, "a JNI global reference id");
                root(tag, id, 0);
                break;
            }
            case Sub::root_jni_local:
            case Sub::root_java_frame: {
                const uint64_t id = m_in.id(m_id, "a root's object id");
                const uint32_t thread = m_in.u4("a thread serial number");
                m_in.u4("a frame number");
                root(tag, id, thread);
                break;
            }
            case Sub::root_native_stack:
            case Sub::root_thread_block: {
                const uint64_t id = m_in.id(m_id, "a root's object id");
                root(tag, id, m_in.u4("a thread serial number"));
                break;
            }
            case Sub::root_thread_object: {
                const uint64_t id = m_in.id(m_id, "a root's object id");
                const uint32_t thread = m_in.u4("a thread serial number");
                m_in.u4("a stack trace serial number");
                root(tag, id, thread);
                break;
            }
            case Sub::class_dump:
                class_dump();
                break;
            case Sub::instance_dump:
                instance_dump();
                break;
            case Sub::obj_array_dump:
                obj_array_dump();
                break;
            case Sub::prim_array_dump:
                prim_array_dump();
                break;
            default:
                m_in.seek(at);
                m_in.fail("an unknown heap dump sub-record tag {:#04x}", tag);
        }
    }

    void root(uint8_t tag, uint64_t id, uint32_t thread) {
        if (m_pass != 1) return;
        uint8_t kind = 0;
        while (k_root_kinds[kind].tag != static_cast<Sub>(tag)) ++kind;
        m_raw_roots.push_back({kind, id, thread});
    }

    void object_id(uint64_t id, uint64_t at) {
        if (id == 0) {
            m_in.seek(at);
            m_in.fail("an object with the null id");
        }
        m_graph.node_id.push_back(id);
    }

    // Passes 2 and 3: the node of an object the dump holds.
    NodeIndex node_of(uint64_t id) const { return m_ids.find(m_graph.node_id, id); }
    // The node of an object the first pass saw.
    NodeIndex own_node(uint64_t id, uint64_t at) {
        const NodeIndex n = node_of(id);
        if (n == k_no_node) {
            m_in.seek(at);
            m_in.fail("object {:#x} was not there on the first read (was the file changed?)", id);
        }
        return n;
    }
    // One edge from `from` to the object `to_id`, when the dump holds that object.
    void edge(NodeIndex from, uint64_t to_id, uint8_t type, uint32_t name) {
        if (to_id == 0) return;
        const NodeIndex to = node_of(to_id);
        if (to != k_no_node) put(from, to, type, name);
    }
    // Pass 2 counts the edge, pass 3 writes it.
    void put(NodeIndex from, NodeIndex to, uint8_t type, uint32_t name) {
        if (m_pass == 2) {
            ++m_graph.first_edge[from];
            return;
        }
        const EdgeIndex e = m_graph.first_edge[from]++;
        // first_edge[from + 1] is at least the next node's start, as nodes fill in any order.
        if (e >= m_graph.first_edge[from + 1])
            m_in.fail("more references than on the second read (was the file changed?)");
        m_graph.edge_to[e] = to;
        m_graph.edge_name[e] = name;
        m_graph.edge_type[e] = type;
    }

    const HprofClass& class_of(uint64_t id, uint64_t at) {
        const auto it = m_class_by_id.find(id);
        if (it == m_class_by_id.end()) {
            m_in.seek(at);
            m_in.fail("an object of class id {:#x}, which no CLASS_DUMP describes", id);
        }
        return m_classes[it->second];
    }

    void class_dump() {
        const uint64_t at = m_in.offset();
        const uint64_t id = m_in.id(m_id, "a class id");
        m_in.u4("a stack trace serial number");
        const uint64_t super_id = m_in.id(m_id, "a super class id");
        const uint64_t loader_id = m_in.id(m_id, "a class loader id");
        for (int i = 0; i < 4; ++i) m_in.id(m_id, "a class's signers, domain or reserved ids");
        m_in.u4("an instance size");
        const uint16_t pool = m_in.u2("a constant pool size");
        for (uint16_t i = 0; i < pool; ++i) {
            m_in.u2("a constant pool index");
            const uint8_t type = m_in.u1("a constant's type");
            const unsigned size = value_size(type, m_id);
            if (size == 0) m_in.fail("a constant of unknown type {}", type);
            m_in.skip(size, "a constant");
        }
        HprofClass* info = nullptr;
        NodeIndex node = k_no_node;
        if (m_pass == 1) {
            object_id(id, at);
            if (!m_class_by_id.emplace(id, m_classes.size()).second) {
                m_in.seek(at);
                m_in.fail("class {:#x} is dumped twice", id);
            }
            m_classes.push_back({});
            info = &m_classes.back();
            info->id = id;
            info->super_id = super_id;
            info->loader_id = loader_id;
        } else {
            node = own_node(id, at);
            const HprofClass& c = class_of(id, at);
            if (m_pass == 2) {
                m_graph.node_type[node] = n_class;
                m_graph.node_name[node] = c.node_name;
                m_graph.self_size[node] = c.mirror;
            }
            edge(node, super_id, e_internal, m_s_super);
            edge(node, loader_id, e_internal, m_s_loader);
            // The loader keeps its classes alive.
            if (const NodeIndex loader = loader_id == 0 ? k_no_node : node_of(loader_id);
                loader != k_no_node) {
                put(loader, node, e_internal, m_s_defined);
            }
        }
        const uint16_t statics = m_in.u2("a static field count");
        for (uint16_t i = 0; i < statics; ++i) {
            const uint64_t name = m_in.id(m_id, "a static field's name id");
            const uint8_t type = m_in.u1("a static field's type");
            const unsigned size = value_size(type, m_id);
            if (size == 0) m_in.fail("a static field of unknown type {}", type);
            const uint64_t value = HprofInput::be(m_in.take(size, "a static field's value"), size);
            if (info != nullptr) info->statics.push_back({name, type, 0});
            if (m_pass != 1 && is_ref(type)) {
                const HprofClass& c = class_of(id, at);
                if (i >= c.statics.size())
                    m_in.fail("a class with more static fields than on the first read");
                edge(node, value, e_static, c.statics[i].name);
            }
        }
        const uint16_t fields = m_in.u2("an instance field count");
        for (uint16_t i = 0; i < fields; ++i) {
            const uint64_t name = m_in.id(m_id, "a field's name id");
            const uint8_t type = m_in.u1("a field's type");
            if (value_size(type, m_id) == 0) m_in.fail("a field of unknown type {}", type);
            if (info != nullptr) info->fields.push_back({name, type, 0});
        }
    }

    void instance_dump() {
        const uint64_t at = m_in.offset();
        const uint64_t id = m_in.id(m_id, "an object id");
        m_in.u4("a stack trace serial number");
        const uint64_t class_id = m_in.id(m_id, "an object's class id");
        const uint32_t bytes = m_in.u4("an object's data size");
        if (m_pass == 1) {
            object_id(id, at);
            m_in.skip(bytes, "an object's fields");
            return;
        }
        const HprofClass& c = class_of(class_id, at);
        if (bytes != c.data_bytes) {
            m_in.seek(at);
            m_in.fail("an instance of {} with {} bytes of fields, where its class declares {}",
                      m_graph.strings.get(c.name), bytes, c.data_bytes);
        }
        const NodeIndex node = own_node(id, at);
        if (m_pass == 2) {
            m_graph.node_type[node] = n_instance;
            m_graph.node_name[node] = c.name;
            m_graph.self_size[node] = c.shallow;
            if (const auto loader = m_system_loader.find(id); loader != m_system_loader.end()) {
                loader->second = is_system_loader(m_graph.strings.get(c.name));
            }
        }
        const uint8_t* p = m_in.take(bytes, "an object's fields");
        for (size_t i = 0; i < c.all_fields.size(); ++i) {
            const HprofField& f = c.all_fields[i];
            const unsigned size = value_size(f.type, m_id);
            if (is_ref(f.type))
                edge(node, HprofInput::be(p, size), i == c.weak_field ? e_weak : e_field, f.name);
            p += size;
        }
    }

    void obj_array_dump() {
        const uint64_t at = m_in.offset();
        const uint64_t id = m_in.id(m_id, "an array id");
        m_in.u4("a stack trace serial number");
        const uint32_t n = m_in.u4("an array's length");
        const uint64_t class_id = m_in.id(m_id, "an array's class id");
        if (uint64_t{n} * m_id > m_in.remaining())
            m_in.fail("an array of {} elements runs past the end of its record", n);
        if (m_pass == 1) {
            object_id(id, at);
            m_in.skip(uint64_t{n} * m_id, "an array's elements");
            return;
        }
        const NodeIndex node = own_node(id, at);
        if (m_pass == 2) {
            const auto it = m_class_by_id.find(class_id);
            m_graph.node_type[node] = n_array;
            m_graph.node_name[node] =
                it == m_class_by_id.end() ? m_s_unknown_array : m_classes[it->second].name;
            m_graph.self_size[node] = align8(m_layout.array_header + uint64_t{n} * m_layout.ref);
        }
        for (uint32_t i = 0; i < n; ++i)
            edge(node, m_in.id(m_id, "an array element"), e_element, i);
    }

    void prim_array_dump() {
        const uint64_t at = m_in.offset();
        const uint64_t id = m_in.id(m_id, "an array id");
        m_in.u4("a stack trace serial number");
        const uint32_t n = m_in.u4("an array's length");
        const uint8_t type = m_in.u1("an array's element type");
        const char* name = prim_array_name(type);
        if (name == nullptr) m_in.fail("a primitive array of unknown element type {}", type);
        const unsigned size = value_size(type, m_id);
        if (m_pass == 1) object_id(id, at);
        if (m_pass == 2) {
            const NodeIndex node = own_node(id, at);
            m_graph.node_type[node] = n_array;
            m_graph.node_name[node] = m_prim_names[type];
            m_graph.self_size[node] = align8(m_layout.array_base(size) + uint64_t{n} * size);
        }
        m_in.skip(uint64_t{n} * size, "an array's elements");
    }

    StringIndex intern(std::string_view s) {
        const auto it = m_interned.find(std::string(s));
        if (it != m_interned.end()) return it->second;
        const StringIndex i = m_graph.strings.add(s);
        m_interned.emplace(std::string(s), i);
        return i;
    }
    std::string_view hprof_string(uint64_t id) const {
        const auto it = m_strings.find(id);
        return it == m_strings.end() ? std::string_view() : std::string_view(it->second);
    }

    // Between the first and second passes: the node ids, the model's types, each class's layout.
    void prepare() {
        Graph& g = m_graph;
        g.ids_stable = false;
        // node_id holds the root's 0 and every object's id: sorted, a node is its id's rank.
        std::vector<uint64_t>& ids = g.node_id;
        std::sort(ids.begin() + 1, ids.end());
        if (const auto dup = std::adjacent_find(ids.begin() + 1, ids.end()); dup != ids.end()) {
            throw util::Error("{}: object id {:#x} is dumped twice (not a valid HPROF heap dump)",
                              m_in.where(), *dup);
        }
        if (ids.size() >= k_no_node) {
            throw util::Error("{}: {} objects, more than a heap graph holds", m_in.where(),
                              ids.size() - 1);
        }
        m_layout = JvmLayout::of_dump(m_id, ids.size() < 2 ? 0 : ids.back() - ids[1]);

        g.strings = StringTable();
        m_interned.clear();
        const StringIndex empty = intern("");
        const StringIndex root_name = intern("(GC roots)");
        const StringIndex class_class = intern("java.lang.Class");
        g.node_types = {
            {"synthetic", false, root_name, true, true, false},
            {"instance", true, 0, false, false, true},
            {"class", false, class_class, false, true, true},
            {"array", true, 0, false, false, true},
        };
        g.edge_types = {
            {"field", EdgeClass::strong, false},    {"static field", EdgeClass::strong, false},
            {"element", EdgeClass::strong, true},   {"weak", EdgeClass::weak, false},
            {"internal", EdgeClass::strong, false},
        };
        for (const RootKind& k : k_root_kinds)
            g.edge_types.push_back({k.name, EdgeClass::strong, false});
        g.edge_types.push_back({"system class", EdgeClass::strong, false});
        m_empty = empty;
        m_s_super = intern("<super>");
        m_s_loader = intern("<class loader>");
        m_s_defined = intern("<class>");
        m_s_unknown_array = intern("(array of an unknown class)");
        for (uint8_t t = 4; t <= 11; ++t) m_prim_names[t] = intern(prim_array_name(t));

        const size_t n = ids.size();
        ids.shrink_to_fit();
        m_ids.build(ids);
        g.node_name.assign(n, empty);
        g.node_name[k_root] = root_name;
        g.self_size.assign(n, 0);
        g.node_type.assign(n, n_root);
        g.first_edge.assign(n + 1, 0);

        // Names and layouts of the classes.
        std::unordered_map<uint64_t, StringIndex> field_names;
        auto field_name = [&](uint64_t id) {
            const auto it = field_names.find(id);
            if (it != field_names.end()) return it->second;
            const StringIndex s = intern(hprof_string(id));
            field_names.emplace(id, s);
            return s;
        };
        for (HprofClass& c : m_classes) {
            const auto name_id = m_class_name_id.find(c.id);
            const std::string name = name_id == m_class_name_id.end()
                                         ? fmt::format("(class {:#x})", c.id)
                                         : java_class_name(hprof_string(name_id->second));
            c.name = intern(name);
            c.node_name = intern("class " + name);
            for (HprofField& f : c.fields) f.name = field_name(f.name_id);
            for (HprofField& f : c.statics) f.name = field_name(f.name_id);
        }
        lay_out_classes(m_classes, m_class_by_id, g.strings, m_layout, m_in.where());
        // The roots, by node, without repeats.
        for (const RawRoot& r : m_raw_roots) {
            const NodeIndex node = node_of(r.id);
            if (node == k_no_node) continue;
            StringIndex name = empty;
            // Named by the thread where START_THREAD names it (HotSpot's dumps do not): a thread's
            // serial number would only split the paths of a pool's threads into one group each.
            if (const auto t = m_thread_name_id.find(r.thread);
                r.thread != 0 && t != m_thread_name_id.end()) {
                name = intern(fmt::format("thread {}", hprof_string(t->second)));
            }
            m_roots.push_back({r.kind, node, name});
        }
        std::vector<RawRoot>().swap(m_raw_roots);
        for (const HprofClass& c : m_classes) {
            if (c.loader_id != 0) m_system_loader.emplace(c.loader_id, false);
        }
    }

    // After the second pass, which found the loaders' classes: the system classes' roots, then
    // the roots without repeats.
    void add_system_classes() {
        for (const HprofClass& c : m_classes) {
            const auto loader = m_system_loader.find(c.loader_id);
            if (loader != m_system_loader.end() && loader->second) {
                m_roots.push_back({k_system_class_kind, node_of(c.id), m_empty});
            }
        }
        std::sort(m_roots.begin(), m_roots.end());
        m_roots.erase(std::unique(m_roots.begin(), m_roots.end()), m_roots.end());
        m_graph.first_edge[k_root] = m_roots.size();
    }

    // After the second pass: counts to starts; the third pass writes at first_edge[n]++.
    void place_edges() {
        Graph& g = m_graph;
        EdgeIndex total = 0;
        for (EdgeIndex& f : g.first_edge) {
            const EdgeIndex c = f;
            f = total;
            total += c;
        }
        g.edge_to.assign(total, 0);
        g.edge_name.assign(total, 0);
        g.edge_type.assign(total, 0);
        for (const Root& r : m_roots) {
            const EdgeIndex e = g.first_edge[k_root]++;
            g.edge_to[e] = r.node;
            g.edge_name[e] = r.name;
            g.edge_type[e] = static_cast<uint8_t>(e_root_first + r.kind);
        }
        std::vector<Root>().swap(m_roots);
    }

    void finish() {
        // first_edge[n] now holds the end of node n, the start of n + 1.
        std::vector<EdgeIndex>& f = m_graph.first_edge;
        for (size_t i = f.size() - 1; i > 0; --i) f[i] = f[i - 1];
        f[0] = 0;
        for (NodeIndex n = 1; n < m_graph.node_count(); ++n) {
            if (m_graph.node_type[n] == n_root) {
                throw util::Error(
                    "{}: object {:#x} was not found again on the second read (was the file "
                    "changed?)",
                    m_in.where(), m_graph.node_id[n]);
            }
        }
    }

    HprofInput& m_in;
    unsigned m_id = 0;
    int m_pass = 0;
    uint64_t m_data_start = 0;
    Graph m_graph;
    std::unordered_map<uint64_t, std::string> m_strings;
    std::unordered_map<uint64_t, uint64_t> m_class_name_id;
    std::unordered_map<uint32_t, uint64_t> m_thread_name_id;
    std::vector<HprofClass> m_classes;
    std::unordered_map<uint64_t, size_t> m_class_by_id;
    std::vector<RawRoot> m_raw_roots;
    std::vector<Root> m_roots;
    SortedIdIndex m_ids;
    std::unordered_map<uint64_t, bool> m_system_loader;  // loader id -> is_system_loader
    StringIndex m_empty = 0;
    std::unordered_map<std::string, StringIndex> m_interned;
    JvmLayout m_layout;
    StringIndex m_s_super = 0, m_s_loader = 0, m_s_defined = 0, m_s_unknown_array = 0;
    StringIndex m_prim_names[12] = {};
};

}  // namespace

bool is_hprof_name(const std::filesystem::path& path) {
    return path.extension() == ".hprof";
}

Graph parse_hprof(std::string_view bytes, const std::string& where) {
    HprofInput in(bytes, where);
    return Reader(in).read();
}

Graph read_hprof(const std::filesystem::path& path) {
    const util::UniqueFd file = util::open_read_only(path);
    const int fd = file.get();
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throw util::Error("cannot read {}: {}", path.string(), util::errno_text(errno));
    if (!S_ISREG(st.st_mode)) throw util::Error("{} is not a regular file", path.string());
    HprofInput in(fd, static_cast<uint64_t>(st.st_size), path.string());
    return Reader(in).read();
}

}  // namespace leakhunt::heapgraph
