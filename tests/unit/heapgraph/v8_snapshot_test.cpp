// The .heapsnapshot reader on small hand-written snapshots: fields placed by the meta, DevTools'
// class names, edge names and indices, and errors that name the byte offset.
#include <gtest/gtest.h>

#include <string>

#include <fmt/format.h>

#include "heapgraph/dominators.hpp"
#include "heapgraph/histogram.hpp"
#include "heapgraph/v8_snapshot.hpp"
#include "util/error.hpp"

namespace leakhunt::heapgraph {
namespace {

// root(synthetic) -shortcut-> global(object) -property "cache"-> Map(object) -internal "table"->
// (array) -element 0-> Session; -element 1-> Session; a closure and a string hang off global.
// Node fields in a non-default order (id before name) to show the meta drives the reader.
const std::string k_snapshot =
    R"json({"snapshot":{"meta":{"node_fields":["type","id","name","self_size","edge_count","trace_node_id"],
"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"],"number","string","number","number","number"],
"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]},
"node_count":7,"edge_count":6},
"nodes":[9,1,0,0,1,0,
3,3,1,20,3,0,
3,5,2,32,1,0,
1,7,3,16,2,0,
3,9,4,24,0,0,
3,11,4,24,0,0,
5,13,5,40,0,0],
"edges":[5,6,6,
2,7,12,2,8,36,2,9,36,
3,10,18,
1,0,24,1,1,30],
"trace_function_infos":[],"trace_tree":[],"samples":[],"locations":[],
"strings":["","global","Map","(object elements)","Session","onUpdate","global","cache","handler","\u00e9t\u00e9 \ud83d\ude00","table"]})json";

TEST(parse_v8_snapshot, reads_nodes_edges_and_names_as_devtools_does) {
    const Graph g = parse_v8_snapshot(k_snapshot, "t.heapsnapshot");
    ASSERT_EQ(g.node_count(), 7u);
    ASSERT_EQ(g.edge_count(), 7u);
    EXPECT_EQ(g.name(1), "global");
    EXPECT_EQ(g.class_name(2), "Map");
    EXPECT_EQ(g.class_name(3), "(array)");
    EXPECT_EQ(g.class_name(4), "Session");
    EXPECT_EQ(g.class_name(6), "(closure)");
    EXPECT_EQ(g.name(6), "onUpdate");
    EXPECT_EQ(g.node_id[4], 9u);
    EXPECT_EQ(g.self_size[6], 40u);
    EXPECT_EQ(g.edge_label(1), "cache");
    EXPECT_EQ(g.edge_label(5), "[0]");
    EXPECT_EQ(g.edge_to[6], 5u);
    EXPECT_EQ(g.strings.get(g.edge_name[3]), "\u00e9t\u00e9 \U0001F600");
    const Dominators d = compute_dominators(Retention(g));
    EXPECT_EQ(d.retained[1], 20u + 32 + 16 + 48 + 40);
    const auto rows = class_histogram(g, d);
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(g.strings.get(rows[0].name), "global");
    EXPECT_EQ(g.strings.get(rows[1].name), "Map");
    EXPECT_EQ(rows[1].retained_bytes, 32u + 16 + 48);
    EXPECT_EQ(g.strings.get(rows[2].name), "(array)");
    EXPECT_EQ(g.strings.get(rows[3].name), "Session");
    EXPECT_EQ(rows[3].count, 2u);
    EXPECT_EQ(rows[3].self_bytes, 48u);
    EXPECT_EQ(rows[3].retained_bytes, 48u);
    EXPECT_EQ(g.strings.get(rows[4].name), "(closure)");
}

TEST(parse_v8_snapshot, a_native_of_self_size_0_is_not_counted_as_devtools_summary_does) {
    std::string text = k_snapshot;
    text.replace(text.find("5,13,5,40,0,0"), 13, "8,13,5,0,0,0");  // the closure: a native of 0
    const Graph g = parse_v8_snapshot(text, "n.heapsnapshot");
    EXPECT_EQ(g.class_name(6), "onUpdate");
    const auto rows = class_histogram(g, compute_dominators(Retention(g)));
    ASSERT_EQ(rows.size(), 4u);
    for (const ClassRow& r : rows) EXPECT_NE(g.strings.get(r.name), "onUpdate");
}

std::string error_of(const std::string& text) {
    try {
        parse_v8_snapshot(text, "x.heapsnapshot");
    } catch (const util::Error& e) {
        return e.what();
    }
    return "";
}

TEST(parse_v8_snapshot, errors_name_the_file_and_byte_offset) {
    const size_t cut = k_snapshot.find("5,13,5,40") + 4;
    EXPECT_EQ(
        error_of(k_snapshot.substr(0, cut)),
        fmt::format("x.heapsnapshot: byte {}: expected ',' or ']' in \"nodes\", found the end of "
                    "the file (not a complete V8 heap snapshot; take it again)",
                    cut));
    std::string bad = k_snapshot;
    bad.replace(bad.find("1,0,24"), 6, "1,0,25");  // not the start of a node
    EXPECT_NE(error_of(bad).find("an edge to 25 that is not the start of one of the 7 nodes"),
              std::string::npos);
    std::string count = k_snapshot;
    count.replace(count.find("3,3,1,20,3,0"), 12, "3,3,1,20,4,0");
    EXPECT_NE(error_of(count).find("7 edges, but the nodes' edge counts add up to 8"),
              std::string::npos);
    EXPECT_NE(error_of("[]").find("byte 0: expected '{' in the top level, found '['"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"nodes":[]})").find("\"nodes\" before \"snapshot\""), std::string::npos);
    std::string big = k_snapshot;
    big.replace(big.find("5,13,5,40"), 9, "5,13,5,9007199254740993");
    EXPECT_NE(error_of(big).find("a number above 2^53"), std::string::npos);
}

TEST(v8_path_filter, holds_back_the_first_of_a_weakmap_values_two_edges) {
    // root -shortcut-> global; global -key-> K, global -wm-> table T; K and T each reach the value
    // V by an internal edge naming the same pair. K is reached first; the filter makes V's path
    // go through the table, as DevTools does.
    const std::string text =
        R"json({"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],
"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic"],"string","number","number","number"],
"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]}},
"nodes":[9,0,1,0,1, 3,1,3,8,2, 3,2,5,8,1, 1,3,7,8,1, 3,4,9,8,0],
"edges":[5,0,5, 2,5,10, 2,6,15, 3,7,20, 3,8,20],
"strings":["","global","K","EphemeronHashTable","V","key","wm",
"1 / part of key (K @5) -> value (V @9) pair in WeakMap (table @7)",
"2 / part of key (K @5) -> value (V @9) pair in WeakMap (table @7)"]})json";
    const Graph g = parse_v8_snapshot(text, "w.heapsnapshot");
    // DevTools' retention rules: global (the root's shortcut) is the page root, and the table's
    // edge to V does not retain, so the key dominates the value.
    EXPECT_TRUE(g.devtools_model);
    EXPECT_EQ(g.page_roots, (std::vector<NodeIndex>{1}));
    EXPECT_EQ(g.not_retaining, (std::vector<bool>{false, false, false, false, true}));
    EXPECT_EQ(compute_dominators(Retention(g)).idom[4], 2u);
    EXPECT_EQ(shortest_paths(g, nullptr).parent[4], 2u);
    auto filter = v8_path_filter(g);
    const ShortestPaths p = shortest_paths(g, filter.get());
    EXPECT_EQ(p.parent[4], 3u);
    EXPECT_EQ(p.distance[4], 3u);
}

TEST(weakmap_table_id, reads_devtools_pattern_and_nothing_else) {
    EXPECT_EQ(weakmap_table_id("12 / part of key (Object @5) -> value (Array @9) pair in WeakMap "
                               "(table @77)"),
              77u);
    // Names with " @", ")" and " -> value (" inside the key's or the value's name.
    EXPECT_EQ(weakmap_table_id("3 / part of key (a) -> value (b @1) @5) -> value (c @2) pair in "
                               "WeakMap (table @8)"),
              8u);
    for (const char* other : {
             "table",
             "/ part of key (K @5) -> value (V @9) pair in WeakMap (table @7)",
             "1 / part of key (K @5) -> value (V @9) pair in WeakMap (table @)",
             "1 / part of key (K @5) -> value (V @9) pair in WeakMap (table @7x)",
             "1 / part of key (K) -> value (V @9) pair in WeakMap (table @7)",
             "1 / part of key (K @5) -> value (V) pair in WeakMap (table @7)",
             "1 / part of key (K @5) -> value (V @9) pair in WeakMap (table @7",
             "1 / part of key (K @5) pair in WeakMap (table @7)",
         }) {
        EXPECT_EQ(weakmap_table_id(other), std::nullopt) << other;
    }
}

}  // namespace
}  // namespace leakhunt::heapgraph
