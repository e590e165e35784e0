// Hand-made heap graphs for the tests: nodes and edges listed plainly, turned into the CSR model.
// Node types: 0 "object" (class = name), 1 "synthetic"; edge types: 0 "property" (strong),
// 1 "element" (indexed), 2 "weak", 3 "shortcut".
#pragma once

#include <string>
#include <tuple>
#include <vector>

#include "heapgraph/graph.hpp"

namespace leakhunt::heapgraph::test {

struct N {
    std::string name;
    uint64_t self = 0;
    uint64_t id = 0;
    uint8_t type = 0;
};
struct E {
    NodeIndex from, to;
    uint8_t type = 0;
    std::string name = "p";
};

inline Graph make_graph(const std::vector<N>& nodes, std::vector<E> edges) {
    Graph g;
    g.node_types = {NodeType{"object", true, 0, false, false, false},
                    NodeType{"synthetic", false, 0, true, true, false}};
    g.node_types[1].class_name = g.strings.add("(synthetic)");
    g.edge_types = {EdgeType{"property", EdgeClass::strong, false},
                    EdgeType{"element", EdgeClass::strong, true},
                    EdgeType{"weak", EdgeClass::weak, false},
                    EdgeType{"shortcut", EdgeClass::shortcut, false}};
    for (const N& n : nodes) {
        g.node_name.push_back(g.strings.add(n.name));
        g.self_size.push_back(n.self);
        g.node_id.push_back(n.id);
        g.node_type.push_back(n.type);
    }
    std::stable_sort(edges.begin(), edges.end(),
                     [](const E& a, const E& b) { return a.from < b.from; });
    g.first_edge.assign(nodes.size() + 1, 0);
    for (const E& e : edges) ++g.first_edge[e.from + 1];
    for (size_t i = 0; i < nodes.size(); ++i) g.first_edge[i + 1] += g.first_edge[i];
    for (const E& e : edges) {
        g.edge_to.push_back(e.to);
        g.edge_type.push_back(e.type);
        g.edge_name.push_back(e.type == 1 ? static_cast<uint32_t>(std::stoul(e.name))
                                          : g.strings.add(e.name));
    }
    g.check("test");
    return g;
}

}  // namespace leakhunt::heapgraph::test
