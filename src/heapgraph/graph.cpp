// The heap-graph model's small helpers: string interning, edge labels, size and invariant checks.
#include "heapgraph/graph.hpp"

#include <fmt/format.h>

#include "util/error.hpp"

namespace leakhunt::heapgraph {

StringIndex StringTable::add(std::string_view s) {
    if (m_offsets.size() > std::numeric_limits<StringIndex>::max()) {
        throw util::Error("more than {} strings in one heap graph",
                          std::numeric_limits<StringIndex>::max());
    }
    m_chars.append(s);
    m_offsets.push_back(m_chars.size());
    return static_cast<StringIndex>(m_offsets.size() - 2);
}

NameCanon::NameCanon(const Graph& g) : m_graph(g), m_remap(g.strings.size(), k_no_node) {}

StringIndex NameCanon::operator()(StringIndex s) {
    StringIndex& r = m_remap[s];
    if (r == k_no_node) r = m_first.emplace(m_graph.strings.get(s), s).first->second;
    return r;
}

std::string Graph::edge_label(EdgeIndex e) const {
    if (type_of_edge(e).named_by_index) return fmt::format("[{}]", edge_name[e]);
    return std::string(strings.get(edge_name[e]));
}

size_t Graph::memory_bytes() const {
    return strings.memory_bytes() + node_name.capacity() * sizeof(StringIndex) +
           self_size.capacity() * sizeof(uint64_t) + node_id.capacity() * sizeof(uint64_t) +
           node_type.capacity() + first_edge.capacity() * sizeof(EdgeIndex) +
           edge_to.capacity() * sizeof(NodeIndex) + edge_name.capacity() * sizeof(uint32_t) +
           edge_type.capacity() + page_roots.capacity() * sizeof(NodeIndex) +
           not_retaining.capacity() / 8;
}

void Graph::check(const std::string& where) const {
    const size_t n = node_name.size();
    if (n == 0) throw util::Error("{}: the heap graph has no nodes (not even a root)", where);
    if (self_size.size() != n || node_id.size() != n || node_type.size() != n ||
        first_edge.size() != n + 1 || first_edge[0] != 0 || first_edge[n] != edge_to.size() ||
        edge_name.size() != edge_to.size() || edge_type.size() != edge_to.size() ||
        (!not_retaining.empty() && not_retaining.size() != edge_to.size())) {
        throw util::Error("{}: inconsistent heap graph arrays", where);
    }
    for (size_t i = 0; i < n; ++i) {
        if (first_edge[i] > first_edge[i + 1])
            throw util::Error("{}: node {} has a negative edge count", where, i);
        if (node_type[i] >= node_types.size())
            throw util::Error("{}: node {} has an unknown type", where, i);
        if (node_name[i] >= strings.size())
            throw util::Error("{}: node {} names string {} of {}", where, i, node_name[i],
                              strings.size());
    }
    for (size_t e = 0; e < edge_to.size(); ++e) {
        if (edge_to[e] >= n) throw util::Error("{}: edge {} points past the last node", where, e);
        if (edge_type[e] >= edge_types.size())
            throw util::Error("{}: edge {} has an unknown type", where, e);
        if (!edge_types[edge_type[e]].named_by_index && edge_name[e] >= strings.size()) {
            throw util::Error("{}: edge {} names string {} of {}", where, e, edge_name[e],
                              strings.size());
        }
    }
    for (const NodeIndex r : page_roots) {
        if (r >= n) throw util::Error("{}: a page root past the last node", where);
    }
    for (const NodeType& t : node_types) {
        if (!t.class_is_name && t.class_name >= strings.size())
            throw util::Error("{}: node type {} has no class name", where, t.name);
    }
}

}  // namespace leakhunt::heapgraph
