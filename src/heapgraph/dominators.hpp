// Which edges retain, the dominator tree and retained sizes, over the heap-graph model.
//
// One edge predicate (Retention::retains) serves every pass that asks "does this edge keep its
// target alive?": the depth-first numbering and the predecessor lists of the dominator
// computation both read it, so they cannot disagree. It follows Chrome DevTools' HeapSnapshot
// model: weak edges never retain; shortcut edges retain only from the super-root; and an edge
// from an object the program does not own (reached only through the runtime's internals) to one
// it does (reached from a user root over visible edges) is skipped, so that objects the debugger
// or the runtime also hold are dominated by the program's own holders.
//
// Dominators are computed with SEMI-NCA (Georgiadis' variant of Lengauer-Tarjan: semidominators
// by path-compressed evaluation, then each idom as the nearest common ancestor of parent and
// semidominator), every pass iterative: real heaps have chains millions deep.
#pragma once

#include <cstdint>
#include <vector>

#include "heapgraph/graph.hpp"

namespace leakhunt::heapgraph {

// The retaining-edge predicate for one graph. Holds a bit per node (owned by the program).
class Retention {
  public:
    explicit Retention(const Graph& g);
    bool retains(NodeIndex from, EdgeIndex e) const {
        const EdgeClass c = m_graph.type_of_edge(e).cls;
        if (c == EdgeClass::weak) return false;
        if (c == EdgeClass::shortcut && from != k_root) return false;
        if (from != k_root && !m_owned.empty() && m_owned[m_graph.edge_to[e]] && !m_owned[from])
            return false;
        return true;
    }
    bool owned(NodeIndex n) const { return !m_owned.empty() && m_owned[n]; }
    const Graph& graph() const { return m_graph; }

  private:
    const Graph& m_graph;
    std::vector<bool> m_owned;  // empty when the graph has no user roots
};

struct Dominators {
    std::vector<NodeIndex> idom;      // k_no_node for the root and for nodes it does not reach
    std::vector<uint64_t> retained;   // self size plus what the node alone keeps alive
    std::vector<NodeIndex> preorder;  // reachable nodes in depth-first preorder (root first)
};

Dominators compute_dominators(const Retention& r);

// Per key, the summed retained size of the nodes with that key that no other node with the same
// key dominates (so nested instances are not counted twice). key[n] < keys, or k_no_key.
inline constexpr uint32_t k_no_key = UINT32_MAX;
std::vector<uint64_t> retained_by_key(const Dominators& d, const std::vector<uint32_t>& key,
                                      uint32_t keys);

}  // namespace leakhunt::heapgraph
