// Dominators, retained sizes, shortest paths and their shapes, class histograms, diffs and leak
// sets on small hand-made graphs with values worked out by hand, and dominators against a
// brute-force oracle on random graphs.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "heapgraph/dominators.hpp"
#include "heapgraph/histogram.hpp"
#include "heapgraph/paths.hpp"
#include "test_graph.hpp"

namespace leakhunt::heapgraph {
namespace {

using test::E;
using test::make_graph;
using test::N;

// root(0) -> a(1), root -> b(2); a -> c(3), b -> c; c -> d(4).
Graph diamond() {
    return make_graph({{"", 0, 1, 1}, {"A", 10, 3}, {"B", 20, 5}, {"C", 30, 7}, {"D", 40, 9}},
                      {{0, 1}, {0, 2}, {1, 3}, {2, 3}, {3, 4}});
}

TEST(compute_dominators, diamond) {
    const Graph g = diamond();
    const Dominators d = compute_dominators(Retention(g));
    EXPECT_EQ(d.idom, (std::vector<NodeIndex>{k_no_node, 0, 0, 0, 3}));
    EXPECT_EQ(d.retained, (std::vector<uint64_t>{100, 10, 20, 70, 40}));
}

TEST(compute_dominators, weak_edges_do_not_retain_and_unreached_nodes_keep_their_self_size) {
    // root -> a -weak-> b; root -> c -> b; root -weak-> x -> y.
    Graph g = make_graph({{"", 0, 1, 1}, {"A", 1}, {"B", 2}, {"C", 4}, {"X", 8}, {"Y", 16}},
                         {{0, 1}, {1, 2, 2}, {0, 3}, {3, 2}, {0, 4, 2}, {4, 5}});
    const Dominators d = compute_dominators(Retention(g));
    EXPECT_EQ(d.idom, (std::vector<NodeIndex>{k_no_node, 0, 3, 0, k_no_node, k_no_node}));
    EXPECT_EQ(d.retained, (std::vector<uint64_t>{7, 1, 2, 6, 8, 16}));
    // In DevTools' model x, which nothing retains, is searched from as if the root held it: it
    // keeps y, and the root retains the whole heap.
    g.devtools_model = true;
    const Dominators dt = compute_dominators(Retention(g));
    EXPECT_EQ(dt.idom, (std::vector<NodeIndex>{k_no_node, 0, 3, 0, 0, 4}));
    EXPECT_EQ(dt.retained, (std::vector<uint64_t>{31, 1, 2, 6, 24, 16}));
}

TEST(compute_dominators, nodes_held_only_by_one_another_each_hang_off_the_root_in_devtools_model) {
    // root; p <-> q (a cycle nothing else reaches), q -> s, q -> self. DevTools puts each of them
    // directly under the root, retaining only itself.
    Graph g =
        make_graph({{"", 0, 1, 1}, {"P", 1}, {"Q", 2}, {"S", 4}}, {{1, 2}, {2, 1}, {2, 3}, {2, 2}});
    g.devtools_model = true;
    const Dominators d = compute_dominators(Retention(g));
    EXPECT_EQ(d.idom, (std::vector<NodeIndex>{k_no_node, 0, 0, 0}));
    EXPECT_EQ(d.retained, (std::vector<uint64_t>{7, 1, 2, 4}));
}

TEST(compute_dominators, shortcuts_retain_only_from_the_root) {
    // root(0) -> s(1, synthetic) -> a(2) -> b(3); a -shortcut-> c(4); b -> c.
    const Graph g =
        make_graph({{"", 0, 1, 1}, {"(GC roots)", 0, 2, 1}, {"A", 1}, {"B", 2}, {"C", 4}},
                   {{0, 1}, {1, 2}, {2, 3}, {2, 4, 3}, {3, 4}});
    const Dominators d = compute_dominators(Retention(g));
    EXPECT_EQ(d.idom[4], 3u);
    EXPECT_EQ(d.retained[3], 6u);
}

// root -shortcut-> global(1) -> s(3) -> t(5); root -> (GC roots)(2) -> h(4) -> s; h -> t.
// The runtime's handle h also points at s and t.
Graph global_and_handle() {
    return make_graph(
        {{"", 0, 1, 1}, {"global", 5}, {"(GC roots)", 0, 2, 1}, {"S", 7}, {"H", 3}, {"T", 11}},
        {{0, 1, 3}, {0, 2}, {1, 3}, {2, 4}, {4, 3}, {3, 5}, {4, 5}});
}

TEST(compute_dominators, edges_from_runtime_internals_to_page_owned_objects_do_not_retain) {
    // With global as the page root (what the V8 reader makes of the root's shortcut), s and t are
    // page-owned and h is not: h's edges to them are skipped, and global dominates both, as in
    // DevTools' Summary.
    Graph g = global_and_handle();
    g.devtools_model = true;
    g.devtools_model = true;
    g.page_roots = {1};
    const Retention r(g);
    EXPECT_TRUE(r.page_owned(3));
    EXPECT_TRUE(r.page_owned(5));
    EXPECT_FALSE(r.page_owned(4));
    const Dominators d = compute_dominators(r);
    EXPECT_EQ(d.idom, (std::vector<NodeIndex>{k_no_node, 0, 0, 1, 2, 3}));
    EXPECT_EQ(d.retained[1], 5u + 7 + 11);
    EXPECT_EQ(d.retained[3], 7u + 11);
    EXPECT_EQ(d.retained[4], 3u);
    // Without page roots (HPROF and Python graphs have none) every edge counts: s and t have two
    // holders each, so only the root dominates them.
    g.devtools_model = false;
    g.devtools_model = false;
    g.page_roots.clear();
    const Dominators plain = compute_dominators(Retention(g));
    EXPECT_EQ(plain.idom, (std::vector<NodeIndex>{k_no_node, 0, 0, 0, 2, 0}));
    EXPECT_EQ(plain.retained[1], 5u);
    EXPECT_EQ(plain.retained[4], 3u);
}

TEST(compute_dominators, an_edge_marked_not_retaining_does_not_retain) {
    // A WeakMap value v is held by its key k and its table t; the table's edge is marked (the V8
    // reader marks it), so the key alone dominates the value.
    Graph g =
        make_graph({{"", 0, 1, 1}, {"K", 1}, {"T", 2}, {"V", 4}}, {{0, 1}, {0, 2}, {1, 3}, {2, 3}});
    EXPECT_EQ(compute_dominators(Retention(g)).idom[3], 0u);
    g.not_retaining.assign(g.edge_count(), false);
    g.not_retaining[3] = true;  // t -> v
    const Dominators d = compute_dominators(Retention(g));
    EXPECT_EQ(d.idom[3], 1u);
    EXPECT_EQ(d.retained[1], 5u);
}

TEST(compute_dominators, a_chain_a_million_deep_needs_no_recursion) {
    std::vector<N> nodes{{"", 0, 1, 1}};
    std::vector<E> edges;
    const NodeIndex n = 1000000;
    for (NodeIndex i = 1; i <= n; ++i) {
        nodes.push_back({"L", 1, i});
        edges.push_back({i - 1, i});
    }
    const Graph g = make_graph(nodes, edges);
    const Dominators d = compute_dominators(Retention(g));
    EXPECT_EQ(d.retained[1], n);
    EXPECT_EQ(d.idom[n], n - 1);
}

// Brute force over DevTools' rules written out plainly: the retaining edges (weak never;
// shortcut only from the root; never from a node to itself; never a marked edge; never from a
// node that is not page-owned to one that is), plus an edge from the root to each node that no
// retaining edge reaches and that the search from the root does not reach either. The nodes
// still not reached then are each held by the root alone (their own edges count for nothing).
// Outside DevTools' model the nodes the root does not reach have no dominator.
// v dominates w iff w is unreachable from the root once v is removed.
std::vector<NodeIndex> brute_idom(const Graph& g) {
    const NodeIndex n = g.node_count();
    std::vector<bool> page(n, false);
    for (NodeIndex p : g.page_roots) {
        std::vector<NodeIndex> stack{p};
        page[p] = true;
        while (!stack.empty()) {
            const NodeIndex x = stack.back();
            stack.pop_back();
            for (EdgeIndex e = g.first_edge[x]; e < g.first_edge[x + 1]; ++e) {
                if (g.type_of_edge(e).cls == EdgeClass::weak || page[g.edge_to[e]]) continue;
                page[g.edge_to[e]] = true;
                stack.push_back(g.edge_to[e]);
            }
        }
    }
    const bool any_page = !g.page_roots.empty();
    auto retaining = [&](NodeIndex x, EdgeIndex e) {
        const EdgeClass c = g.type_of_edge(e).cls;
        const NodeIndex t = g.edge_to[e];
        if (c == EdgeClass::weak || t == x) return false;
        if (!g.not_retaining.empty() && g.not_retaining[e]) return false;
        if (x == k_root) return true;
        if (c == EdgeClass::shortcut) return false;
        return !(any_page && page[t] && !page[x]);
    };
    std::vector<bool> orphan(n, false), loose(n, false);
    auto reach = [&](NodeIndex removed) {
        std::vector<bool> seen(n, false);
        std::vector<NodeIndex> stack{k_root};
        seen[k_root] = true;
        auto visit = [&](NodeIndex t) {
            if (t == removed || seen[t]) return;
            seen[t] = true;
            stack.push_back(t);
        };
        while (!stack.empty()) {
            const NodeIndex x = stack.back();
            stack.pop_back();
            if (loose[x]) continue;
            for (EdgeIndex e = g.first_edge[x]; e < g.first_edge[x + 1]; ++e) {
                if (retaining(x, e)) visit(g.edge_to[e]);
            }
            if (x == k_root) {
                for (NodeIndex v = 1; v < n; ++v) {
                    if (orphan[v] || loose[v]) visit(v);
                }
            }
        }
        return seen;
    };
    {
        const auto first = reach(k_no_node);
        std::vector<bool> held(n, false);
        for (NodeIndex x = 0; x < n; ++x) {
            for (EdgeIndex e = g.first_edge[x]; e < g.first_edge[x + 1]; ++e) {
                if (retaining(x, e)) held[g.edge_to[e]] = true;
            }
        }
        for (NodeIndex v = 1; v < n; ++v) orphan[v] = g.devtools_model && !first[v] && !held[v];
        const auto second = reach(k_no_node);
        for (NodeIndex v = 1; v < n; ++v) loose[v] = g.devtools_model && !second[v];
    }
    const auto all = reach(k_no_node);
    std::vector<std::vector<bool>> dominated_by(n);  // dominated_by[v][w]: v strictly dominates w
    for (NodeIndex v = 0; v < n; ++v) {
        const auto without = reach(v);
        dominated_by[v].assign(n, false);
        for (NodeIndex w = 0; w < n; ++w)
            dominated_by[v][w] = all[w] && w != v && w != k_root && (v == k_root || !without[w]);
    }
    std::vector<NodeIndex> idom(n, k_no_node);
    for (NodeIndex w = 1; w < n; ++w) {
        // The strict dominator of w that every other strict dominator of w dominates.
        for (NodeIndex v = 0; v < n; ++v) {
            if (!dominated_by[v][w]) continue;
            bool closest = true;
            for (NodeIndex u = 0; u < n && closest; ++u) {
                if (u != v && dominated_by[u][w] && !dominated_by[u][v]) closest = false;
            }
            if (closest) idom[w] = v;
        }
    }
    return idom;
}

TEST(compute_dominators, equals_a_brute_force_oracle_on_random_graphs) {
    std::mt19937 rng(12345);
    for (int round = 0; round < 600; ++round) {
        const auto n = static_cast<NodeIndex>(2 + rng() % 30);
        std::vector<N> nodes{{"", 0, 1, 1}};
        for (NodeIndex i = 1; i < n; ++i)
            nodes.push_back({"C" + std::to_string(rng() % 3), rng() % 100 + 1, i});
        std::vector<E> edges;
        const size_t m = static_cast<size_t>(rng() % (3 * n));
        for (size_t i = 0; i < m; ++i) {
            const auto type = static_cast<uint8_t>(rng() % 10 == 0 ? 2 : rng() % 10 == 0 ? 3 : 0);
            edges.push_back({static_cast<NodeIndex>(rng() % n),
                             static_cast<NodeIndex>(1 + rng() % (n - 1)), type});
        }
        Graph g = make_graph(nodes, edges);
        // Half the rounds follow DevTools' model with the V8 rules: a page root or two, an edge or
        // two marked.
        if (round % 2 == 1) {
            g.devtools_model = true;
            for (int k = 0; k < 2; ++k)
                g.page_roots.push_back(static_cast<NodeIndex>(1 + rng() % (n - 1)));
            if (g.edge_count() > 0) {
                g.not_retaining.assign(g.edge_count(), false);
                for (int k = 0; k < 2; ++k) g.not_retaining[rng() % g.edge_count()] = true;
            }
        }
        const Dominators d = compute_dominators(Retention(g));
        ASSERT_EQ(d.idom, brute_idom(g)) << "round " << round;
        // Retained size = self + retained of the dominator-tree children; in DevTools' model the
        // root's is the heap.
        uint64_t heap = 0;
        for (NodeIndex v = 0; v < n; ++v) {
            heap += g.self_size[v];
            uint64_t sum = g.self_size[v];
            for (NodeIndex w = 0; w < n; ++w) {
                if (d.idom[w] == v) sum += d.retained[w];
            }
            ASSERT_EQ(d.retained[v], sum) << "round " << round << " node " << v;
        }
        if (g.devtools_model) {
            ASSERT_EQ(d.retained[k_root], heap) << "round " << round;
        }
    }
}

TEST(class_histogram, counts_self_and_retained_without_counting_nested_instances_twice) {
    // root -> a1(A 10) -> a2(A 5) -> b(B 7); root -> b2(B 1); an empty object is not counted.
    const Graph g =
        make_graph({{"", 0, 1, 1}, {"A", 10}, {"A", 5}, {"B", 7}, {"B", 1}, {"Empty", 0}},
                   {{0, 1}, {1, 2}, {2, 3}, {0, 4}, {0, 5}});
    const auto rows = class_histogram(g, compute_dominators(Retention(g)));
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(g.strings.get(rows[0].name), "A");
    EXPECT_EQ(rows[0].count, 2u);
    EXPECT_EQ(rows[0].self_bytes, 15u);
    EXPECT_EQ(rows[0].retained_bytes, 22u);
    EXPECT_EQ(g.strings.get(rows[1].name), "B");
    EXPECT_EQ(rows[1].count, 2u);
    EXPECT_EQ(rows[1].self_bytes, 8u);
    EXPECT_EQ(rows[1].retained_bytes, 8u);
}

TEST(diff_classes, matches_nodes_by_id) {
    const Graph a = make_graph({{"", 0, 1, 1}, {"S", 10, 3}, {"S", 10, 5}, {"T", 4, 7}},
                               {{0, 1}, {0, 2}, {0, 3}});
    const Graph b =
        make_graph({{"", 0, 1, 1}, {"S", 10, 5}, {"S", 12, 9}, {"S", 12, 11}, {"T", 4, 7}},
                   {{0, 1}, {0, 2}, {0, 3}, {0, 4}});
    const auto rows = diff_classes(a, b);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].name, "S");
    EXPECT_EQ(rows[0].base_count, 2u);
    EXPECT_EQ(rows[0].cur_count, 3u);
    EXPECT_EQ(rows[0].new_count, 2u);
    EXPECT_EQ(rows[0].deleted_count, 1u);
    EXPECT_EQ(rows[0].alloc_bytes, 24u);
    EXPECT_EQ(rows[0].freed_bytes, 10u);
    EXPECT_EQ(rows[0].bytes_delta(), 14);
    EXPECT_EQ(rows[0].count_delta(), 1);
}

TEST(leak_set, is_new_in_the_second_and_alive_in_the_third) {
    const Graph a = make_graph({{"", 0, 1, 1}, {"S", 1, 3}}, {{0, 1}});
    const Graph b = make_graph({{"", 0, 1, 1}, {"S", 1, 3}, {"S", 1, 5}, {"S", 1, 7}},
                               {{0, 1}, {0, 2}, {0, 3}});
    const Graph c = make_graph({{"", 0, 1, 1}, {"S", 1, 3}, {"S", 1, 7}, {"S", 1, 9}},
                               {{0, 1}, {0, 2}, {0, 3}});
    EXPECT_EQ(leak_set(a, b, c), (std::vector<NodeIndex>{2}));
}

TEST(shortest_paths, user_roots_first_and_grouped_by_shape) {
    // root -shortcut-> global(1) -sessions-> Map(2) -table-> T(3) -[0..2]-> S(4..6);
    // root -> (GC roots)(7) -> S(4) as well (a runtime handle, same length via a system root).
    const Graph g = make_graph({{"", 0, 1, 1},
                                {"global", 1},
                                {"Map", 2},
                                {"T", 3},
                                {"S", 4},
                                {"S", 4},
                                {"S", 4},
                                {"(GC roots)", 0, 0, 1}},
                               {{0, 7},
                                {0, 1, 3},
                                {1, 2, 0, "sessions"},
                                {2, 3, 0, "table"},
                                {3, 4, 1, "0"},
                                {3, 5, 1, "1"},
                                {3, 6, 1, "2"},
                                {7, 4, 0, "h"}});
    const ShortestPaths p = shortest_paths(g, nullptr);
    EXPECT_EQ(p.distance[1], 1u);
    EXPECT_EQ(p.distance[4], 4u);
    EXPECT_EQ(p.parent[4], 3u);
    EXPECT_EQ(p.distance[7], ShortestPaths::k_system_distance);
    PathShapes shapes(g, p);
    const Dominators d = compute_dominators(Retention(g));
    const auto groups = group_paths(shapes, {4, 5, 6}, d, g);
    ASSERT_EQ(groups.size(), 1u);
    EXPECT_EQ(groups[0].count, 3u);
    EXPECT_EQ(groups[0].self_bytes, 12u);
    EXPECT_EQ(shape_text(g, shapes, groups[0].shape, g.class_index(4)),
              (std::vector<std::string>{"global", "property `sessions` (Map)",
                                        "property `table` (T)", "element [] (S)"}));
}

TEST(shortest_paths, a_chain_is_one_repeated_step) {
    // root -shortcut-> global -head-> L(2) -next-> L(3) -next-> L(4) -next-> L(5)
    const Graph g = make_graph(
        {{"", 0, 1, 1}, {"global", 1}, {"L", 1}, {"L", 1}, {"L", 1}, {"L", 1}},
        {{0, 1, 3}, {1, 2, 0, "head"}, {2, 3, 0, "next"}, {3, 4, 0, "next"}, {4, 5, 0, "next"}});
    const ShortestPaths p = shortest_paths(g, nullptr);
    PathShapes shapes(g, p);
    EXPECT_NE(shapes.shape_of(3), shapes.shape_of(4));
    EXPECT_EQ(shapes.shape_of(4), shapes.shape_of(5));
    EXPECT_EQ(shape_text(g, shapes, shapes.shape_of(3), g.class_index(3)),
              (std::vector<std::string>{"global", "property `head` (L)", "property `next` (L)"}));
    EXPECT_EQ(shape_text(g, shapes, shapes.shape_of(5), g.class_index(5)),
              (std::vector<std::string>{"global", "property `head` (L)",
                                        "property `next` (L) [a chain of these]"}));
    const Dominators d = compute_dominators(Retention(g));
    const auto groups = group_paths(shapes, {2, 3, 4, 5}, d, g);
    ASSERT_EQ(groups.size(), 3u);
    EXPECT_EQ(groups[0].count, 1u);  // the head retains the whole chain
    EXPECT_EQ(groups[0].retained_bytes, 4u);
    EXPECT_EQ(groups[1].count, 1u);
    EXPECT_EQ(groups[1].retained_bytes, 3u);
    EXPECT_EQ(groups[2].count, 2u);  // the third retains the fourth: counted once
    EXPECT_EQ(groups[2].retained_bytes, 2u);
}

}  // namespace
}  // namespace leakhunt::heapgraph
