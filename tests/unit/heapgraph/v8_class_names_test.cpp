// Current DevTools' class names on a small hand-written snapshot: Function and RegExp, elements by
// their tag, and plain objects by the interfaces their properties make.
#include <gtest/gtest.h>

#include <string>

#include "heapgraph/v8_class_names.hpp"
#include "heapgraph/v8_snapshot.hpp"

namespace leakhunt::heapgraph {
namespace {

// root -shortcut-> global, whose properties a..l lead to: two {id, user} objects (one with a
// __proto__ too), one {user, id, roles}, two {"a,b"}, a regexp, a closure, a <div id="x">, a
// Detached <span class="y">, an object without properties and two {id, user, roles}.
const std::string k_snapshot =
    R"json({"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","trace_node_id"],
"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"],"string","number","number","number","number"],
"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]},
"node_count":15,"edge_count":29},
"nodes":[9,0,1,0,1,0,3,1,3,10,12,0,3,14,5,16,3,0,3,14,7,16,2,0,3,14,9,16,3,0,3,14,11,16,1,0,3,14,13,16,1,0,6,20,15,24,0,0,5,21,17,32,0,0,8,22,19,40,0,0,8,23,21,40,0,0,3,14,23,16,0,0,3,14,25,16,3,0,3,14,27,16,3,0,2,24,29,8,0,0],
"edges":[5,1,6,2,2,12,2,3,18,2,4,24,2,5,30,2,6,36,2,7,42,2,8,48,2,9,54,2,10,60,2,11,66,2,12,72,2,13,78,2,15,6,2,16,84,2,17,84,2,16,84,2,17,84,2,17,84,2,16,84,2,18,84,2,19,84,2,19,84,2,16,84,2,17,84,2,18,84,2,16,84,2,17,84,2,18,84],
"strings":["","global","a","b","c","d","e","f","g","h","i","j","k","l","Object","__proto__","id","user","roles","a,b","re","fn","<div id=\"x\">","Detached <span class=\"y\">","v"]})json";

TEST(infer_interfaces, the_property_lists_two_objects_share_most_common_first) {
    const Graph g = parse_v8_snapshot(k_snapshot, "i.heapsnapshot");
    const auto found = infer_interfaces(g);
    ASSERT_EQ(found.size(), 3u);  // {user, id, roles} is one object's alone
    EXPECT_EQ(found[0].name, "{id, user}");
    EXPECT_EQ(found[0].fields, (std::vector<std::string>{"id", "user"}));
    EXPECT_EQ(found[1].name, "{\"a,b\"}");
    EXPECT_EQ(found[1].fields, (std::vector<std::string>{"a,b"}));
    EXPECT_EQ(found[2].name, "{id, user, roles}");
}

TEST(use_current_devtools_names, names_functions_regexps_elements_and_plain_objects) {
    Graph g = parse_v8_snapshot(k_snapshot, "i.heapsnapshot");
    EXPECT_EQ(g.class_name(8), "(closure)");  // the older names by default
    EXPECT_EQ(g.class_name(2), "Object");
    use_current_devtools_names(g, infer_interfaces(g));
    EXPECT_EQ(g.class_name(1), "global");
    EXPECT_EQ(g.class_name(2), "{id, user}");
    EXPECT_EQ(g.class_name(3), "{id, user}");
    // {user, id, roles} holds both {id, user} and {id, user, roles}: the one with more wins.
    EXPECT_EQ(g.class_name(4), "{id, user, roles}");
    EXPECT_EQ(g.class_name(5), "{\"a,b\"}");
    EXPECT_EQ(g.class_name(6), "{\"a,b\"}");
    EXPECT_EQ(g.class_name(7), "RegExp");
    EXPECT_EQ(g.class_name(8), "Function");
    EXPECT_EQ(g.name(8), "fn");  // a closure keeps its own name beside its class
    EXPECT_EQ(g.class_name(9), "<div>");
    EXPECT_EQ(g.class_name(10), "Detached <span>");
    EXPECT_EQ(g.class_name(11), "Object");  // no properties: no interface
    EXPECT_EQ(g.class_name(12), "{id, user, roles}");
    EXPECT_EQ(g.class_name(14), "(string)");
}

TEST(use_current_devtools_names, another_snapshots_interfaces_name_this_ones_objects) {
    Graph g = parse_v8_snapshot(k_snapshot, "i.heapsnapshot");
    use_current_devtools_names(g, {{"{user}", {"user"}}});
    EXPECT_EQ(g.class_name(2), "{user}");
    EXPECT_EQ(g.class_name(4), "{user}");
    EXPECT_EQ(g.class_name(5), "Object");
}

}  // namespace
}  // namespace leakhunt::heapgraph
