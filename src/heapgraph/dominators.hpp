// Which edges retain, the dominator tree and retained sizes, over the heap-graph model.
//
// One edge predicate (Retention::retains) serves every pass that asks "does this edge keep its
// target alive?": the depth-first numbering and the predecessor lists of the dominator
// computation both read it, so they cannot disagree. It is Chrome DevTools' HeapSnapshot model
// (computeIsEssentialEdge): weak edges never retain; shortcut edges retain only from the
// super-root; self edges are ignored; and, for the formats that carry them (V8: Graph::page_roots
// and Graph::not_retaining, see graph.hpp), an edge from a node that is not page-owned to one
// that is never retains, nor does a WeakMap's edge from its table to a value.
//
// In DevTools' model (Graph::devtools_model, V8 only) every node gets a dominator: after the
// depth-first search from the root, each node that nothing retains (only weak edges lead to it)
// is searched from as if the root held it, and the nodes still left (held only by one another)
// are each put directly under the root, retaining only themselves; the root's retained size is
// then the whole heap. Otherwise (HPROF, Python) what the root does not reach is garbage: no
// dominator, and it retains only itself.
//
// Dominators are computed with SEMI-NCA (Georgiadis' variant of Lengauer-Tarjan: semidominators
// by path-compressed evaluation, then each idom as the nearest common ancestor of parent and
// semidominator), every pass iterative: real heaps have chains millions deep. Scratch memory at
// its peak is 24 bytes a reached node and 4 per retaining edge that leads back to a node numbered
// earlier in the depth-first order (the only predecessors kept in lists), beside the result's 12
// bytes a node.
#pragma once

#include <cstdint>
#include <vector>

#include "heapgraph/graph.hpp"

namespace leakhunt::heapgraph {

// The retaining-edge predicate for one graph. Holds a bit per node (page-owned) when the graph
// has page roots.
class Retention {
  public:
    explicit Retention(const Graph& g);
    bool retains(NodeIndex from, EdgeIndex e) const {
        const Graph& g = m_graph;
        const EdgeClass c = g.type_of_edge(e).cls;
        const NodeIndex to = g.edge_to[e];
        if (c == EdgeClass::weak || to == from) return false;
        if (!g.not_retaining.empty() && g.not_retaining[e]) return false;
        if (from == k_root) return true;
        if (c == EdgeClass::shortcut) return false;
        return m_page.empty() || !m_page[to] || m_page[from];
    }
    bool page_owned(NodeIndex n) const { return !m_page.empty() && m_page[n]; }
    const Graph& graph() const { return m_graph; }

  private:
    const Graph& m_graph;
    std::vector<bool> m_page;  // empty when the graph has no page roots
};

struct Dominators {
    std::vector<NodeIndex> idom;     // k_no_node for the root and the nodes it does not reach
    std::vector<uint64_t> retained;  // self size plus what the node alone keeps alive
};

Dominators compute_dominators(const Retention& r);

// The dominator tree's children in CSR form: node i's, in increasing order, are
// children[first[i]] .. children[first[i + 1] - 1] (fewer than 2^32 in all: one per node).
struct DominatorChildren {
    std::vector<NodeIndex> first, children;
};
DominatorChildren dominator_children(const Dominators& d);

// Per key, the summed retained size of the nodes with that key that no other node with the same
// key dominates (so nested instances are not counted twice). key[n] < keys, or k_no_key.
inline constexpr uint32_t k_no_key = UINT32_MAX;
std::vector<uint64_t> retained_by_key(const Dominators& d, const std::vector<uint32_t>& key,
                                      uint32_t keys);

}  // namespace leakhunt::heapgraph
