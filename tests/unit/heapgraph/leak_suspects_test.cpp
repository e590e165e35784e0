// MAT-style leak suspects on a hand-made heap whose dominator tree is worked out by hand.
#include <gtest/gtest.h>

#include "heapgraph/dominators.hpp"
#include "heapgraph/leak_suspects.hpp"
#include "test_graph.hpp"

namespace leakhunt::heapgraph {
namespace {

using test::make_graph;

// root(0) -> Holder(1) -> Map(2) -> Table(3) -> Entry(4..7), each Entry -> Value(8..11);
// root -> Small(12) -> Tiny(13). Sizes: Holder 8, Map 16, Table 40, Entry 8, Value 100,
// Small 30, Tiny 10. Heap: 8+16+40+4*(8+100)+30+10 = 536.
Graph sessions() {
    std::vector<test::N> nodes{{"", 0, 1, 1}, {"Holder", 8}, {"Map", 16}, {"Table", 40}};
    for (int i = 0; i < 4; ++i) nodes.push_back({"Entry", 8});
    for (int i = 0; i < 4; ++i) nodes.push_back({"Value", 100});
    nodes.push_back({"Small", 30});
    nodes.push_back({"Tiny", 10});
    std::vector<test::E> edges{{0, 1}, {1, 2}, {2, 3}, {0, 12}, {12, 13}};
    for (NodeIndex i = 0; i < 4; ++i) {
        edges.push_back({3, 4 + i, 1, std::to_string(i)});
        edges.push_back({4 + i, 8 + i});
    }
    return make_graph(nodes, edges);
}

TEST(leak_suspects, descends_to_the_accumulation_point) {
    const Graph g = sessions();
    const Dominators d = compute_dominators(Retention(g));
    ASSERT_EQ(d.retained[k_root], 536u);
    const auto found = leak_suspects(g, d);
    ASSERT_EQ(found.size(), 1u);  // Small retains 40 of 536: under 10%
    EXPECT_EQ(found[0].holder, 1u);
    EXPECT_EQ(found[0].accumulation, 3u);  // the table: no child holds 80% of it
    EXPECT_EQ(g.strings.get(found[0].item_class), "Entry");
    EXPECT_EQ(found[0].items, 4u);
    EXPECT_EQ(found[0].item_bytes, 4u * 108u);
}

TEST(leak_suspects, a_lower_threshold_finds_the_smaller_holder_too) {
    const Graph g = sessions();
    const Dominators d = compute_dominators(Retention(g));
    LeakSuspectOptions o;
    o.min_share = 0.05;
    const auto found = leak_suspects(g, d, o);
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[1].holder, 12u);
    EXPECT_EQ(found[1].accumulation, 12u);  // Tiny is 25% of Small: Small is the point
    EXPECT_EQ(found[1].items, 1u);
}

TEST(leak_suspects, instances_of_one_class_under_the_roots_are_a_suspect_together) {
    // root -> Worker(1..3), each Worker 10 -> List 20 -> 4 Items of 10 (70 each); root -> Big(4)
    // 790. Heap 1000: no Worker alone keeps 10%, the three keep 21%.
    std::vector<test::N> nodes{
        {"", 0, 1, 1}, {"Worker", 10}, {"Worker", 10}, {"Worker", 10}, {"Big", 790}};
    std::vector<test::E> edges{{0, 1}, {0, 2}, {0, 3}, {0, 4}};
    for (NodeIndex w = 1; w <= 3; ++w) {
        const auto list = static_cast<NodeIndex>(nodes.size());
        nodes.push_back({"List", 20});
        edges.push_back({w, list});
        for (int i = 0; i < 4; ++i) {
            edges.push_back({list, static_cast<NodeIndex>(nodes.size()), 1, std::to_string(i)});
            nodes.push_back({"Item", 10});
        }
    }
    const Graph g = make_graph(nodes, edges);
    const Dominators d = compute_dominators(Retention(g));
    ASSERT_EQ(d.retained[k_root], 1000u);
    const auto found = leak_suspects(g, d);
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0].holder, 4u);  // Big, alone
    EXPECT_EQ(found[0].instances, 1u);
    EXPECT_EQ(found[1].instances, 3u);
    EXPECT_EQ(found[1].retained, 210u);
    EXPECT_EQ(g.class_name(found[1].holder), "Worker");
    EXPECT_EQ(g.class_name(found[1].accumulation), "List");
    EXPECT_EQ(found[1].items, 4u);
    EXPECT_EQ(found[1].item_bytes, 40u);
}

}  // namespace
}  // namespace leakhunt::heapgraph
