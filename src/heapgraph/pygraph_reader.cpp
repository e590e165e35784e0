// The .pygraph reader; see pygraph_reader.hpp for the layout and the model it builds.
#include "heapgraph/pygraph_reader.hpp"

#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "heapgraph/paths.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::heapgraph {
namespace {

constexpr std::string_view k_magic = "LHPYGRPH";
constexpr std::string_view k_trailer_magic = "LHPYEND1";
constexpr uint32_t k_version = 1;
constexpr size_t k_header = 16;
constexpr size_t k_trailer = 32;
constexpr uint32_t k_none = 0xFFFFFFFF;

enum class Section : uint32_t { strings = 1, nodes = 2, edges = 3, roots = 4, meta = 5 };
enum class FileEdge : uint8_t { ref = 0, value = 1, key = 2, element = 3, attribute = 4 };
enum class RootKind : uint8_t { global = 1, local = 2, class_attribute = 3 };

// The model's edge types, by index.
enum ModelEdge : uint8_t {
    e_root,
    e_global,
    e_local,
    e_class_attribute,
    e_ref,
    e_value,
    e_key,
    e_element,
    e_attribute
};

// Checked little-endian reads over the file's bytes; errors name the file and offset.
class Cursor {
  public:
    Cursor(std::string_view bytes, std::string where) : m_bytes(bytes), m_where(std::move(where)) {}

    template <typename... Args>
    [[noreturn]] void fail(size_t at, fmt::format_string<Args...> f, Args&&... args) const {
        throw util::Error("{}: byte {}: {} (not a complete Python object graph; take it again)",
                          m_where, at, fmt::format(f, std::forward<Args>(args)...));
    }
    size_t pos() const { return m_pos; }
    size_t left() const { return m_end - m_pos; }
    void set_end(size_t end) { m_end = end; }

    template <typename T>
    T get(std::string_view what) {
        if (left() < sizeof(T)) fail(m_pos, "the file ends inside {}", what);
        T v;
        std::memcpy(&v, m_bytes.data() + m_pos,
                    sizeof(T));  // little-endian hosts only (x86-64, arm64)
        m_pos += sizeof(T);
        return v;
    }
    // An array of `count` values of T: checked against the bytes left before anything is sized.
    template <typename T>
    std::string_view array(uint64_t count, std::string_view what) {
        if (count > left() / sizeof(T))
            fail(m_pos, "{} of {} entries run past the end of the file", what, count);
        const std::string_view out = m_bytes.substr(m_pos, count * sizeof(T));
        m_pos += count * sizeof(T);
        return out;
    }
    std::string_view bytes(uint64_t n, std::string_view what) { return array<char>(n, what); }

  private:
    std::string_view m_bytes;
    std::string m_where;
    size_t m_pos = 0;
    size_t m_end = 0;
};

template <typename T>
T at(std::string_view arr, uint64_t i) {
    T v;
    std::memcpy(&v, arr.data() + i * sizeof(T), sizeof(T));
    return v;
}

uint64_t section(Cursor& c, Section want, std::string_view name) {
    const size_t start = c.pos();
    const auto tag = c.get<uint32_t>("a section header");
    if (tag != static_cast<uint32_t>(want)) {
        c.fail(start, "expected the {} section (tag {}), found tag {}", name,
               static_cast<uint32_t>(want), tag);
    }
    return c.get<uint64_t>("a section header");
}

void add_types(Graph& g) {
    NodeType root;
    root.name = "synthetic";
    root.synthetic = true;
    root.named_in_paths = true;
    NodeType group;
    group.name = "root";
    group.named_in_paths = true;
    NodeType object;
    object.name = "object";
    object.class_is_name = true;
    g.node_types = {root, group, object};
    auto edge = [](std::string name) {
        EdgeType t;
        t.name = std::move(name);
        return t;
    };
    g.edge_types = {edge("root"),     edge("global"), edge("local"), edge("class attribute"),
                    edge("ref"),      edge("value"),  edge("key"),   edge("element"),
                    edge("attribute")};
    g.edge_types[e_value].fold_name = true;
    g.edge_types[e_element].named_by_index = true;
}

std::string group_label(RootKind kind, std::string_view group) {
    switch (kind) {
        case RootKind::global:
            return fmt::format("module `{}`", group);
        case RootKind::class_attribute:
            return fmt::format("class `{}`", group);
        case RootKind::local:
            return std::string(group);
    }
    return std::string(group);
}

}  // namespace

bool is_pygraph_name(const std::filesystem::path& path) {
    return path.string().ends_with(".pygraph");
}

Graph parse_pygraph(std::string_view bytes, const std::string& where) {
    Cursor c(bytes, where);
    if (bytes.size() < k_header + k_trailer)
        c.fail(0, "{} bytes is too short for a header and a trailer", bytes.size());
    c.set_end(bytes.size());
    if (bytes.substr(0, k_magic.size()) != k_magic)
        c.fail(0, "not a .pygraph file (no LHPYGRPH magic)");
    (void)c.bytes(k_magic.size(), "the magic");
    const auto version = c.get<uint32_t>("the header");
    if (version != k_version)
        c.fail(8, "version {}; this leakhunt reads version {}", version, k_version);
    (void)c.get<uint32_t>("the header");

    // The trailer first: a truncated file is said to be one.
    const size_t tpos = bytes.size() - k_trailer;
    if (bytes.substr(tpos, k_trailer_magic.size()) != k_trailer_magic) {
        c.fail(tpos, "no trailer at the end: the file is truncated (or still being written)");
    }
    const std::string_view trailer = bytes.substr(tpos + 8);
    const auto t_nodes = at<uint64_t>(trailer, 0);
    const auto t_edges = at<uint64_t>(trailer, 1);
    const auto t_size = at<uint64_t>(trailer, 2);
    if (t_size != bytes.size())
        c.fail(tpos, "the trailer says {} bytes, the file has {}", t_size, bytes.size());
    c.set_end(tpos);

    Graph g;
    add_types(g);
    // Strings: the file's, at their own indices, then the model's.
    const uint64_t n_strings = section(c, Section::strings, "strings");
    const std::string_view lengths = c.array<uint32_t>(n_strings, "the string lengths");
    if (n_strings >= k_none) c.fail(c.pos(), "{} strings, more than a graph holds", n_strings);
    for (uint64_t i = 0; i < n_strings; ++i)
        g.strings.add(c.bytes(at<uint32_t>(lengths, i), "a string"));
    const StringIndex s_empty = g.strings.add("");
    const StringIndex s_roots = g.strings.add("(roots)");
    auto string_at = [&](uint32_t s, size_t pos, std::string_view what) {
        if (s >= n_strings) c.fail(pos, "{} names string {} of {}", what, s, n_strings);
        return s;
    };

    const size_t nodes_at = c.pos();
    const uint64_t n_nodes = section(c, Section::nodes, "nodes");
    if (n_nodes != t_nodes) c.fail(nodes_at, "{} nodes, the trailer says {}", n_nodes, t_nodes);
    const std::string_view types = c.array<uint32_t>(n_nodes, "the node types");
    const std::string_view sizes = c.array<uint64_t>(n_nodes, "the node sizes");
    const std::string_view ids = c.array<uint64_t>(n_nodes, "the node ids");
    (void)c.array<uint8_t>(n_nodes, "the node flags");

    const size_t edges_at = c.pos();
    const uint64_t n_edges = section(c, Section::edges, "edges");
    if (n_edges != t_edges) c.fail(edges_at, "{} edges, the trailer says {}", n_edges, t_edges);
    const size_t counts_at = c.pos();
    const std::string_view counts = c.array<uint32_t>(n_nodes, "the edge counts");
    const size_t targets_at = c.pos();
    const std::string_view targets = c.array<uint32_t>(n_edges, "the edge targets");
    const size_t kinds_at = c.pos();
    const std::string_view kinds = c.array<uint8_t>(n_edges, "the edge kinds");
    const size_t names_at = c.pos();
    const std::string_view names = c.array<uint32_t>(n_edges, "the edge names");

    const uint64_t n_roots = section(c, Section::roots, "roots");
    const size_t rkinds_at = c.pos();
    const std::string_view rkinds = c.array<uint8_t>(n_roots, "the root kinds");
    const size_t rgroups_at = c.pos();
    const std::string_view rgroups = c.array<uint32_t>(n_roots, "the root groups");
    const size_t rnames_at = c.pos();
    const std::string_view rnames = c.array<uint32_t>(n_roots, "the root names");
    const size_t rtargets_at = c.pos();
    const std::string_view rtargets = c.array<uint32_t>(n_roots, "the root targets");

    const uint64_t n_meta = section(c, Section::meta, "meta");
    (void)c.array<uint32_t>(n_meta, "the meta keys");
    (void)c.array<uint32_t>(n_meta, "the meta values");
    if (c.left() != 0)
        c.fail(c.pos(), "{} bytes between the last section and the trailer", c.left());

    // Root groups, in order of first appearance; their roots bucketed.
    std::map<std::pair<uint8_t, uint32_t>, uint32_t> group_index;
    std::vector<std::pair<RootKind, uint32_t>> groups;
    std::vector<uint32_t> root_group(n_roots);
    for (uint64_t r = 0; r < n_roots; ++r) {
        const auto kind = at<uint8_t>(rkinds, r);
        if (kind < 1 || kind > 3) c.fail(rkinds_at + r, "root {} has kind {}, not 1 to 3", r, kind);
        const uint32_t grp =
            string_at(at<uint32_t>(rgroups, r), rgroups_at + 4 * r, "a root's group");
        (void)string_at(at<uint32_t>(rnames, r), rnames_at + 4 * r, "a root's name");
        if (at<uint32_t>(rtargets, r) >= n_nodes) {
            c.fail(rtargets_at + 4 * r, "root {} points to node {} of {}", r,
                   at<uint32_t>(rtargets, r), n_nodes);
        }
        const auto [it, added] =
            group_index.emplace(std::make_pair(kind, grp), static_cast<uint32_t>(groups.size()));
        if (added) groups.emplace_back(static_cast<RootKind>(kind), grp);
        root_group[r] = it->second;
    }
    const uint64_t base = 1 + groups.size();
    if (n_nodes + base >= k_no_node) c.fail(nodes_at, "{} nodes, more than a graph holds", n_nodes);
    const uint64_t total = base + n_nodes;

    g.node_name.reserve(total);
    g.self_size.reserve(total);
    g.node_id.reserve(total);
    g.node_type.reserve(total);
    g.first_edge.reserve(total + 1);
    g.edge_to.reserve(n_edges + n_roots + groups.size());
    g.edge_name.reserve(n_edges + n_roots + groups.size());
    g.edge_type.reserve(n_edges + n_roots + groups.size());
    auto add_node = [&](StringIndex name, uint64_t size, uint64_t id, uint8_t type) {
        g.node_name.push_back(name);
        g.self_size.push_back(size);
        g.node_id.push_back(id);
        g.node_type.push_back(type);
        g.first_edge.push_back(g.edge_to.size());
    };
    auto add_edge = [&](NodeIndex to, uint32_t name, uint8_t type) {
        g.edge_to.push_back(to);
        g.edge_name.push_back(name);
        g.edge_type.push_back(type);
    };
    // The super-root and the groups (ids 0: they are no objects and never match across graphs).
    add_node(s_roots, 0, 0, 0);
    for (size_t i = 0; i < groups.size(); ++i)
        add_edge(static_cast<NodeIndex>(1 + i), s_empty, e_root);
    std::vector<std::vector<uint64_t>> by_group(groups.size());
    for (uint64_t r = 0; r < n_roots; ++r) by_group[root_group[r]].push_back(r);
    for (size_t i = 0; i < groups.size(); ++i) {
        const auto [kind, grp] = groups[i];
        add_node(g.strings.add(group_label(kind, g.strings.get(grp))), 0, 0, 1);
        const uint8_t type = kind == RootKind::global  ? e_global
                             : kind == RootKind::local ? e_local
                                                       : e_class_attribute;
        for (uint64_t r : by_group[i]) {
            add_edge(static_cast<NodeIndex>(base + at<uint32_t>(rtargets, r)),
                     at<uint32_t>(rnames, r), type);
        }
    }
    uint64_t e = 0;
    for (uint64_t n = 0; n < n_nodes; ++n) {
        add_node(string_at(at<uint32_t>(types, n), nodes_at + 12 + 4 * n, "a node's type"),
                 at<uint64_t>(sizes, n), at<uint64_t>(ids, n), 2);
        const uint32_t count = at<uint32_t>(counts, n);
        if (count > n_edges - e)
            c.fail(counts_at + 4 * n, "node {} has {} edges; only {} are left", n, count,
                   n_edges - e);
        for (const uint64_t end = e + count; e < end; ++e) {
            const uint32_t to = at<uint32_t>(targets, e);
            if (to >= n_nodes)
                c.fail(targets_at + 4 * e, "edge {} points to node {} of {}", e, to, n_nodes);
            const auto kind = at<uint8_t>(kinds, e);
            uint32_t name = at<uint32_t>(names, e);
            uint8_t type = 0;
            switch (static_cast<FileEdge>(kind)) {
                case FileEdge::ref:
                    type = e_ref;
                    name = s_empty;
                    break;
                case FileEdge::key:
                    type = e_key;
                    name = s_empty;
                    break;
                case FileEdge::value:
                case FileEdge::attribute:
                    type = kind == static_cast<uint8_t>(FileEdge::value) ? e_value : e_attribute;
                    name = name == k_none ? s_empty
                                          : string_at(name, names_at + 4 * e, "an edge's name");
                    break;
                case FileEdge::element:
                    type = e_element;
                    if (name == k_none) c.fail(names_at + 4 * e, "element edge {} has no index", e);
                    break;
                default:
                    c.fail(kinds_at + e, "edge {} has kind {}, not 0 to 4", e, kind);
            }
            add_edge(static_cast<NodeIndex>(base + to), name, type);
        }
    }
    if (e != n_edges)
        c.fail(counts_at, "the nodes' edge counts add up to {}, the section has {}", e, n_edges);
    g.first_edge.push_back(g.edge_to.size());
    g.check(where);
    return g;
}

Graph read_pygraph(const std::filesystem::path& path) {
    const std::string bytes = util::read_file(path);
    return parse_pygraph(bytes, path.string());
}

}  // namespace leakhunt::heapgraph

namespace leakhunt::heapgraph {

namespace {

bool is_container(std::string_view cls) {
    return cls == "dict" || cls == "list" || cls == "set" || cls == "collections.OrderedDict" ||
           cls == "collections.defaultdict" || cls == "collections.deque";
}

// A logging handler or what it buffers: the stdlib's handlers and LogRecords, and a handler of
// the program's own (a class named ...Handler) that a logger holds.
bool is_logging_holder(std::string_view cls, bool under_logger) {
    if (cls == "logging.LogRecord") return true;
    if (cls.ends_with("Handler")) return cls.starts_with("logging.") || under_logger;
    return false;
}

}  // namespace

std::string python_pattern(const Graph& g, const PathShapes& shapes, uint32_t shape) {
    if (shape == PathShapes::k_no_shape) {
        return "not reachable from any root: objects only the interpreter's C state holds, or "
               "reference cycles the cyclic GC has not freed yet; if they grow, the GC is held "
               "back (gc.disable(), high thresholds) or a __del__ brings them back: break the "
               "cycles with weakref";
    }
    const std::vector<ShapeStep> steps = shapes.steps(shape);
    // steps[i].holder_class holds the node steps[i + 1] leaves from; step 0 leaves the super-root.
    if (steps.size() >= 2 && g.strings.get(steps[1].holder_class) == "module `gc`" &&
        steps[1].edge_name != ShapeStep::k_index_name &&
        g.strings.get(steps[1].edge_name) == "garbage") {
        return "kept in gc.garbage: cycles the collector found but could not free (or "
               "gc.DEBUG_SAVEALL keeps them); break the cycle with weakref and clear "
               "gc.garbage";
    }
    bool under_logger = false, in_container = false;
    for (size_t i = 1; i < steps.size(); ++i) {
        const std::string_view holder = g.strings.get(steps[i].holder_class);
        // Unbounded: the cache dict's values are the results themselves (a bounded cache holds
        // them through its functools._lru_list_elem links).
        if (holder == "functools._lru_cache_wrapper" && i + 1 < steps.size() &&
            g.strings.get(steps[i + 1].holder_class) == "dict" &&
            g.edge_types[steps[i + 1].edge_type].name == "value") {
            return "an lru_cache without a bound (maxsize=None): one entry per distinct argument, "
                   "kept forever; give it a maxsize";
        }
        if (holder == "traceback" || holder == "frame") {
            return "held through a traceback: a stored exception keeps every frame of its "
                   "traceback "
                   "alive, with their locals; keep the message, not the exception, or del it";
        }
        under_logger = under_logger || holder == "logging.Logger" ||
                       holder == "logging.RootLogger" || holder == "logging.Manager";
        if (is_logging_holder(holder, under_logger)) {
            return "kept by a logging handler: a handler that buffers records (MemoryHandler, "
                   "a list of records) or a record's args keeps each request's objects; flush "
                   "or bound the buffer, and log text, not the objects";
        }
        // A callback in a list or dict of listeners (a signal, an event hook): a bound method
        // keeps its object, a closure or partial what it captured.
        if (in_container &&
            (holder == "method" || holder == "functools.partial" || holder == "cell")) {
            return "kept by a callback registered per request and never removed (a bound "
                   "method, closure or partial in a list of listeners keeps what it refers "
                   "to); unregister it when done, or hold it with weakref.WeakMethod";
        }
        in_container = in_container || is_container(holder);
    }
    if (steps.size() >= 3 && g.edge_types[steps[1].edge_type].name == "global") {
        const std::string_view container = g.strings.get(steps[2].holder_class);
        if (is_container(container)) {
            return fmt::format(
                "a module-level registry: entries added to a global {} and never "
                "removed; bound it or remove entries when done",
                container);
        }
    }
    return {};
}

}  // namespace leakhunt::heapgraph
