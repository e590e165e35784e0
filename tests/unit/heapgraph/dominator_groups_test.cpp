// The dominator tree grouped by class, on hand-made graphs with known retained sizes.
#include "heapgraph/dominator_groups.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_graph.hpp"

namespace leakhunt::heapgraph {
namespace {

using test::E;
using test::make_graph;
using test::N;

std::string label(const Graph& g, const DominatorGroups& d, size_t i) {
    return std::string(g.strings.get(d.groups[i].label));
}

// root -> Registry -> Map -> 3 x Session (each holding its own Buffer); root -> Config.
// A Buffer shared by two Sessions is dominated by the Map, not by either Session.
Graph registry_graph() {
    return make_graph(
        {{"(root)", 0, 0, 1},
         {"Registry", 10},
         {"Map", 20},
         {"Session", 100},
         {"Session", 100},
         {"Session", 100},
         {"Buffer", 1000},
         {"Buffer", 1000},
         {"Buffer", 1000},
         {"Buffer", 7},
         {"Config", 30}},
        {{0, 1}, {0, 10}, {1, 2}, {2, 3}, {2, 4}, {2, 5}, {3, 6}, {4, 7}, {5, 8}, {3, 9}, {4, 9}});
}

TEST(dominator_groups, groups_siblings_by_class_and_sums_what_they_retain) {
    const Graph g = registry_graph();
    const Dominators d = compute_dominators(Retention(g));
    const DominatorGroups t = dominator_groups(g, d, {0.0, 100, 32});
    const uint64_t total = 10 + 20 + 300 + 3000 + 7 + 30;
    ASSERT_EQ(t.groups[0].retained, total);
    ASSERT_EQ(t.groups[0].children.size(), 2u);
    // Biggest first: Registry, then Config.
    const ClassGroup& registry = t.groups[t.groups[0].children[0]];
    EXPECT_EQ(label(g, t, t.groups[0].children[0]), "Registry");
    EXPECT_EQ(registry.count, 1u);
    EXPECT_EQ(registry.retained, 10u + 20 + 300 + 3000 + 7);
    EXPECT_EQ(label(g, t, t.groups[0].children[1]), "Config");
    EXPECT_EQ(t.groups[t.groups[0].children[1]].retained, 30u);
    const size_t map = registry.children.at(0);
    EXPECT_EQ(label(g, t, map), "Map");
    // Under the Map: the three Sessions as one group, and the shared Buffer on its own.
    ASSERT_EQ(t.groups[map].children.size(), 2u);
    const size_t sessions = t.groups[map].children[0];
    EXPECT_EQ(label(g, t, sessions), "Session");
    EXPECT_EQ(t.groups[sessions].count, 3u);
    EXPECT_EQ(t.groups[sessions].retained, 3300u);
    const size_t shared = t.groups[map].children[1];
    EXPECT_EQ(label(g, t, shared), "Buffer");
    EXPECT_EQ(t.groups[shared].count, 1u);
    EXPECT_EQ(t.groups[shared].retained, 7u);
    // Under the Sessions: their three own Buffers, one group.
    ASSERT_EQ(t.groups[sessions].children.size(), 1u);
    const size_t buffers = t.groups[sessions].children[0];
    EXPECT_EQ(t.groups[buffers].count, 3u);
    EXPECT_EQ(t.groups[buffers].retained, 3000u);
}

TEST(dominator_groups, small_groups_are_summed_into_other_and_the_budget_holds) {
    const Graph g = registry_graph();
    const Dominators d = compute_dominators(Retention(g));
    // 1% of 3,367 bytes is 33: Config (30) and the shared Buffer (7) go to "other".
    DominatorGroups t = dominator_groups(g, d, {0.01, 100, 32});
    EXPECT_EQ(t.groups[0].children.size(), 1u);
    EXPECT_EQ(t.groups[0].other_count, 1u);
    EXPECT_EQ(t.groups[0].other_retained, 30u);
    // A budget of three groups: the root, Registry and Config; Registry's Map is "other".
    t = dominator_groups(g, d, {0.0, 3, 32});
    ASSERT_EQ(t.groups.size(), 3u);
    EXPECT_EQ(label(g, t, 1), "Registry");
    EXPECT_EQ(t.groups[1].other_count, 1u);
    EXPECT_EQ(t.groups[1].other_retained, 3327u);
    // Two levels: the root's children and theirs, nothing below.
    t = dominator_groups(g, d, {0.0, 100, 2});
    bool map_seen = false;
    for (const ClassGroup& c : t.groups) {
        if (std::string(g.strings.get(c.label)) != "Map") continue;
        map_seen = true;
        EXPECT_TRUE(c.children.empty());
    }
    EXPECT_TRUE(map_seen);
}

}  // namespace
}  // namespace leakhunt::heapgraph
