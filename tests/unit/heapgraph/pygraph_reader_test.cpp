// The .pygraph reader on small files built here byte by byte (the layout of pygraph_reader.hpp):
// nodes, named edges and roots as the model has them, retainer paths in Python terms, and errors
// that name the byte offset for truncated and corrupt files.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "heapgraph/dominators.hpp"
#include "heapgraph/histogram.hpp"
#include "heapgraph/paths.hpp"
#include "heapgraph/pygraph_reader.hpp"
#include "util/error.hpp"

namespace leakhunt::heapgraph {
namespace {

struct FileEdge {
    uint32_t to;
    uint8_t kind;
    uint32_t name;
};
struct FileNode {
    uint32_t type;
    uint64_t size;
    uint64_t id;
    std::vector<FileEdge> edges;
};
struct FileRoot {
    uint8_t kind;
    uint32_t group, name, target;
};

template <typename T>
void put(std::string& out, T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.append(b, sizeof(T));
}

constexpr uint32_t k_none = 0xFFFFFFFF;

std::string build(const std::vector<std::string>& strings, const std::vector<FileNode>& nodes,
                  const std::vector<FileRoot>& roots) {
    std::string out = "LHPYGRPH";
    put<uint32_t>(out, 1);
    put<uint32_t>(out, 0);
    put<uint32_t>(out, 1);
    put<uint64_t>(out, strings.size());
    for (const auto& s : strings) put<uint32_t>(out, static_cast<uint32_t>(s.size()));
    for (const auto& s : strings) out += s;
    put<uint32_t>(out, 2);
    put<uint64_t>(out, nodes.size());
    for (const auto& n : nodes) put<uint32_t>(out, n.type);
    for (const auto& n : nodes) put<uint64_t>(out, n.size);
    for (const auto& n : nodes) put<uint64_t>(out, n.id);
    for (size_t i = 0; i < nodes.size(); ++i) put<uint8_t>(out, 1);
    size_t edges = 0;
    for (const auto& n : nodes) edges += n.edges.size();
    put<uint32_t>(out, 3);
    put<uint64_t>(out, edges);
    for (const auto& n : nodes) put<uint32_t>(out, static_cast<uint32_t>(n.edges.size()));
    for (const auto& n : nodes)
        for (const auto& e : n.edges) put<uint32_t>(out, e.to);
    for (const auto& n : nodes)
        for (const auto& e : n.edges) put<uint8_t>(out, e.kind);
    for (const auto& n : nodes)
        for (const auto& e : n.edges) put<uint32_t>(out, e.name);
    put<uint32_t>(out, 4);
    put<uint64_t>(out, roots.size());
    for (const auto& r : roots) put<uint8_t>(out, r.kind);
    for (const auto& r : roots) put<uint32_t>(out, r.group);
    for (const auto& r : roots) put<uint32_t>(out, r.name);
    for (const auto& r : roots) put<uint32_t>(out, r.target);
    put<uint32_t>(out, 5);
    put<uint64_t>(out, 0);
    out += "LHPYEND1";
    put<uint64_t>(out, nodes.size());
    put<uint64_t>(out, edges);
    put<uint64_t>(out, out.size() + 8);
    return out;
}

// module `app` global REGISTRY -> dict -> values "a", "b" (Session) -> each a __dict__ (dict);
// a class attribute Cache._store -> list -> [0] Session (the third); a string key.
const std::vector<std::string> k_strings = {
    "", "dict", "app.Session", "list", "str", "app", "REGISTRY", "a", "b", "app.Cache", "_store"};
std::vector<FileNode> k_nodes() {
    return {
        {1, 232, 1000, {{1, 2, k_none}, {2, 1, 7}, {1, 2, k_none}, {3, 1, 8}}},  // 0 REGISTRY
        {4, 50, 1001, {}},                // 1 the key "a" (and "b")
        {2, 48, 1002, {{4, 0, k_none}}},  // 2 Session a
        {2, 48, 1003, {{5, 0, k_none}}},  // 3 Session b
        {1, 104, 1004, {}},               // 4 a's __dict__
        {1, 104, 1005, {}},               // 5 b's __dict__
        {3, 64, 1006, {{7, 3, 0}}},       // 6 Cache._store
        {2, 48, 1007, {}},                // 7 Session in the list
    };
}
const std::vector<FileRoot> k_roots = {{1, 5, 6, 0}, {3, 9, 10, 6}};

TEST(parse_pygraph, builds_roots_nodes_and_named_edges) {
    const Graph g = parse_pygraph(build(k_strings, k_nodes(), k_roots), "t.pygraph");
    // super-root, two root groups, eight objects.
    ASSERT_EQ(g.node_count(), 11u);
    EXPECT_EQ(g.name(1), "module `app`");
    EXPECT_EQ(g.name(2), "class `app.Cache`");
    EXPECT_EQ(g.class_name(3), "dict");
    EXPECT_EQ(g.class_name(5), "app.Session");
    EXPECT_EQ(g.node_id[5], 1002u);
    EXPECT_EQ(g.self_size[3], 232u);
    // Root edges: super -> groups, group -> target named.
    EXPECT_EQ(g.edge_to[g.first_edge[1]], 3u);
    EXPECT_EQ(g.edge_label(g.first_edge[1]), "REGISTRY");
    EXPECT_EQ(g.type_of_edge(g.first_edge[1]).name, "global");
    EXPECT_EQ(g.type_of_edge(g.first_edge[2]).name, "class attribute");
    // The dict's second edge is the value under "a".
    EXPECT_EQ(g.type_of_edge(g.first_edge[3] + 1).name, "value");
    EXPECT_EQ(g.edge_label(g.first_edge[3] + 1), "a");
    EXPECT_EQ(g.edge_label(g.first_edge[9]), "[0]");

    const Dominators d = compute_dominators(Retention(g));
    EXPECT_EQ(d.retained[3], 232u + 50 + 48 + 48 + 104 + 104);
    const auto rows = class_histogram(g, d);
    uint64_t sessions = 0;
    for (const auto& r : rows) {
        if (g.strings.get(r.name) == "app.Session") sessions = r.count;
    }
    EXPECT_EQ(sessions, 3u);
}

TEST(parse_pygraph, paths_fold_dict_keys_and_name_the_global) {
    const Graph g = parse_pygraph(build(k_strings, k_nodes(), k_roots), "t.pygraph");
    const Dominators d = compute_dominators(Retention(g));
    const ShortestPaths sp = shortest_paths(g, nullptr);
    PathShapes shapes(g, sp);
    const auto groups = group_paths(shapes, {5, 6, 10}, d, g);
    ASSERT_EQ(groups.size(), 2u);  // the two values of REGISTRY share one shape
    const auto by_registry = shape_text(g, shapes, groups[0].shape, g.class_index(5));
    EXPECT_EQ(groups[0].count, 2u);
    ASSERT_EQ(by_registry.size(), 3u);
    EXPECT_EQ(by_registry[0], "module `app`");
    EXPECT_EQ(by_registry[1], "global `REGISTRY` (dict)");
    EXPECT_EQ(by_registry[2], "value [] (app.Session)");
    const auto by_class = shape_text(g, shapes, groups[1].shape, g.class_index(10));
    ASSERT_EQ(by_class.size(), 3u);
    EXPECT_EQ(by_class[0], "class `app.Cache`");
    EXPECT_EQ(by_class[1], "class attribute `_store` (list)");
    EXPECT_EQ(by_class[2], "element [] (app.Session)");
}

TEST(python_pattern, names_a_registry_an_lru_cache_and_a_traceback) {
    const Graph g = parse_pygraph(build(k_strings, k_nodes(), k_roots), "t.pygraph");
    const ShortestPaths sp = shortest_paths(g, nullptr);
    PathShapes shapes(g, sp);
    EXPECT_EQ(python_pattern(g, shapes, shapes.shape_of(5)),
              "a module-level registry: entries added to a global dict and never removed; bound it "
              "or remove entries when done");
    EXPECT_EQ(python_pattern(g, shapes, shapes.shape_of(10)), "");  // a class attribute's list
    EXPECT_NE(python_pattern(g, shapes, PathShapes::k_no_shape).find("not reachable from any root"),
              std::string::npos);

    // module `app` global `quote` -> lru wrapper -> ref dict -> value dict;
    // global `errors` (list) -> [0] ValueError -> ref traceback -> ref frame -> ref dict.
    const std::vector<std::string> strings = {"",          "functools._lru_cache_wrapper",
                                              "dict",      "app",
                                              "quote",     "k",
                                              "list",      "ValueError",
                                              "traceback", "frame",
                                              "errors"};
    const std::vector<FileNode> nodes = {
        {1, 100, 1, {{1, 0, k_none}}},  // 0 the wrapper
        {2, 200, 2, {{2, 1, 5}}},       // 1 its cache
        {2, 64, 3, {}},                 // 2 a cached value
        {6, 64, 4, {{4, 3, 0}}},        // 3 errors
        {7, 48, 5, {{5, 0, k_none}}},   // 4 ValueError
        {8, 40, 6, {{6, 0, k_none}}},   // 5 traceback
        {9, 400, 7, {{7, 0, k_none}}},  // 6 frame
        {2, 64, 8, {}},                 // 7 the frame's locals
    };
    const Graph h =
        parse_pygraph(build(strings, nodes, {{1, 3, 4, 0}, {1, 3, 10, 3}}), "u.pygraph");
    const ShortestPaths hp = shortest_paths(h, nullptr);
    PathShapes hs(h, hp);
    // Node indices: super-root, one group, then the file's nodes from 2.
    EXPECT_EQ(python_pattern(h, hs, hs.shape_of(2 + 2)),
              "an lru_cache without a bound (maxsize=None): one entry per distinct argument, kept "
              "forever; give it a maxsize");
    EXPECT_NE(python_pattern(h, hs, hs.shape_of(2 + 7)).find("held through a traceback"),
              std::string::npos);
    EXPECT_EQ(python_pattern(h, hs, hs.shape_of(2 + 0)), "");  // the wrapper itself
}

TEST(python_pattern, names_a_logging_handler_a_callback_list_and_gc_garbage) {
    // module `app` global `log` (logging.Logger) -> ref handlers (list) -> [0] app.KeepHandler
    //   -> ref records (list) -> [0] app.Request;
    // module `app` global `LISTENERS` (list) -> [0] method -> ref app.Session;
    // module `gc` global `garbage` (list) -> [0] app.Node;
    // module `app` global `plain` (list) -> [0] app.Session (a registry, no callback).
    const std::vector<std::string> strings = {
        "",         "logging.Logger", "list",        "app.KeepHandler", "app.Request", "app",
        "log",      "method",         "app.Session", "LISTENERS",       "gc",          "garbage",
        "app.Node", "plain"};
    const std::vector<FileNode> nodes = {
        {1, 56, 1, {{1, 0, k_none}}},  // 0 the logger
        {2, 64, 2, {{2, 3, 0}}},       // 1 its handlers
        {3, 48, 3, {{3, 0, k_none}}},  // 2 the handler
        {2, 64, 4, {{4, 3, 0}}},       // 3 its records
        {4, 48, 5, {}},                // 4 a request
        {2, 64, 6, {{6, 3, 0}}},       // 5 LISTENERS
        {7, 64, 7, {{7, 0, k_none}}},  // 6 a bound method
        {8, 48, 8, {}},                // 7 its Session
        {2, 64, 9, {{9, 3, 0}}},       // 8 gc.garbage
        {12, 48, 10, {}},              // 9 a Node
        {2, 64, 11, {{11, 3, 0}}},     // 10 plain
        {8, 48, 12, {}},               // 11 a Session
    };
    const Graph h = parse_pygraph(
        build(strings, nodes, {{1, 5, 6, 0}, {1, 5, 9, 5}, {1, 10, 11, 8}, {1, 5, 13, 10}}),
        "v.pygraph");
    const ShortestPaths hp = shortest_paths(h, nullptr);
    PathShapes hs(h, hp);
    // Node indices: super-root, two groups (app, gc), then the file's nodes from 3.
    EXPECT_EQ(h.name(1), "module `app`");
    EXPECT_NE(python_pattern(h, hs, hs.shape_of(3 + 4)).find("kept by a logging handler"),
              std::string::npos)
        << python_pattern(h, hs, hs.shape_of(3 + 4));
    EXPECT_NE(python_pattern(h, hs, hs.shape_of(3 + 7)).find("kept by a callback"),
              std::string::npos)
        << python_pattern(h, hs, hs.shape_of(3 + 7));
    EXPECT_NE(python_pattern(h, hs, hs.shape_of(3 + 9)).find("kept in gc.garbage"),
              std::string::npos)
        << python_pattern(h, hs, hs.shape_of(3 + 9));
    EXPECT_NE(python_pattern(h, hs, hs.shape_of(3 + 11)).find("a module-level registry"),
              std::string::npos)
        << python_pattern(h, hs, hs.shape_of(3 + 11));
}

std::string error_of(const std::string& bytes) {
    try {
        (void)parse_pygraph(bytes, "x.pygraph");
    } catch (const util::Error& e) {
        return e.what();
    }
    return "";
}

TEST(parse_pygraph, a_truncated_file_is_said_to_be_one) {
    const std::string whole = build(k_strings, k_nodes(), k_roots);
    for (size_t cut : {size_t{0}, size_t{10}, size_t{60}, whole.size() / 2, whole.size() - 1}) {
        const std::string msg = error_of(whole.substr(0, cut));
        EXPECT_NE(msg.find("x.pygraph: byte "), std::string::npos) << cut << ": " << msg;
    }
    EXPECT_NE(error_of(whole.substr(0, whole.size() - 1)).find("truncated"), std::string::npos);
}

TEST(parse_pygraph, bad_indices_name_their_offset) {
    auto nodes = k_nodes();
    nodes[2].edges[0].to = 99;
    std::string msg = error_of(build(k_strings, nodes, k_roots));
    EXPECT_NE(msg.find("points to node 99 of 8"), std::string::npos) << msg;
    nodes = k_nodes();
    nodes[0].type = 50;
    msg = error_of(build(k_strings, nodes, k_roots));
    EXPECT_NE(msg.find("a node's type names string 50 of 11"), std::string::npos) << msg;
    auto roots = k_roots;
    roots[0].target = 8;
    msg = error_of(build(k_strings, k_nodes(), roots));
    EXPECT_NE(msg.find("root 0 points to node 8 of 8"), std::string::npos) << msg;
    roots = k_roots;
    roots[1].kind = 9;
    msg = error_of(build(k_strings, k_nodes(), roots));
    EXPECT_NE(msg.find("root 1 has kind 9"), std::string::npos) << msg;
    std::string bad = build(k_strings, k_nodes(), k_roots);
    bad[8] = 2;
    EXPECT_NE(error_of(bad).find("byte 8: version 2"), std::string::npos) << error_of(bad);
}

TEST(parse_pygraph, a_count_larger_than_the_file_is_refused_before_allocating) {
    std::string bad = build(k_strings, k_nodes(), k_roots);
    // The strings section's count (after the 16-byte header and its tag).
    const uint64_t huge = uint64_t{1} << 60;
    std::memcpy(bad.data() + 20, &huge, 8);
    EXPECT_NE(error_of(bad).find(
                  "byte 28: the string lengths of 1152921504606846976 entries run past the end"),
              std::string::npos)
        << error_of(bad);
}

}  // namespace
}  // namespace leakhunt::heapgraph
