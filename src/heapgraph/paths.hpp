// Shortest retainer paths from the roots and their grouping by shape.
//
// The search is breadth-first from the super-root, as Chrome DevTools computes distances: first
// from the user roots (the program's own globals), then from the runtime's root groups for what
// is left, so a path through the program's own variables wins over one through the runtime's
// handles of the same length. Weak edges are never followed; a format adds its own rules through
// a PathFilter (V8's are in v8_rules.hpp).
//
// A path's shape is its sequence of steps (holder class, edge kind, edge name with array indices
// folded to "[]"); a run of identical steps (a linked list) is one step marked repeated. The
// shapes of many nodes are found with one walk per node up to the first node whose shape is
// known, so a chain is walked once, not once per node on it.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "heapgraph/dominators.hpp"
#include "heapgraph/graph.hpp"

namespace leakhunt::heapgraph {

// Format rules for the path search beyond "weak edges do not count". May keep state: it is asked
// in breadth-first order, once per edge, only for edges to nodes not yet reached.
class PathFilter {
  public:
    virtual ~PathFilter() = default;
    virtual bool follow(NodeIndex from, EdgeIndex e) = 0;
};

struct ShortestPaths {
    std::vector<NodeIndex> parent;   // k_no_node: the root, or not reached
    std::vector<EdgeIndex> via;      // the edge from parent
    std::vector<uint32_t> distance;  // k_unreached when not reached
    static constexpr uint32_t k_unreached = UINT32_MAX;
    static constexpr uint32_t k_system_distance = 100000000;  // DevTools' base system distance
};

ShortestPaths shortest_paths(const Graph& g, PathFilter* filter);

// One step of a path shape.
struct ShapeStep {
    StringIndex holder_class = 0;
    uint8_t edge_type = 0;
    uint32_t edge_name = 0;  // a string index, or k_index_name for "[]"
    bool repeated = false;   // a chain of these
    static constexpr uint32_t k_index_name = UINT32_MAX;
    bool same_step(const ShapeStep& o) const {
        return holder_class == o.holder_class && edge_type == o.edge_type &&
               edge_name == o.edge_name;
    }
};

// Path shapes interned as a tree: shape 0 is the empty path (the root itself).
class PathShapes {
  public:
    PathShapes(const Graph& g, const ShortestPaths& p);
    // The shape of the path to `n`; k_no_shape when the roots do not reach it.
    uint32_t shape_of(NodeIndex n);
    // The steps of a shape, from the root.
    std::vector<ShapeStep> steps(uint32_t shape) const;
    static constexpr uint32_t k_no_shape = UINT32_MAX;

  private:
    struct Entry {
        uint32_t parent;
        ShapeStep step;
    };
    uint32_t child(uint32_t parent, ShapeStep step);

    const Graph& m_graph;
    const ShortestPaths& m_paths;
    std::vector<Entry> m_entries;
    std::unordered_map<uint64_t, std::vector<uint32_t>> m_children;  // by hash of (parent, step)
    std::unordered_map<NodeIndex, uint32_t> m_memo;
    NameCanon m_canon;
};

// The paths of a set of nodes grouped by shape, biggest retained first. A group's retained size
// counts a node only when no other node of the group dominates it.
struct PathGroup {
    uint32_t shape = 0;
    uint64_t count = 0;
    uint64_t self_bytes = 0;
    uint64_t retained_bytes = 0;
    NodeIndex example = k_no_node;  // one node with this path
};
std::vector<PathGroup> group_paths(PathShapes& shapes, const std::vector<NodeIndex>& nodes,
                                   const Dominators& d, const Graph& g);

// "global -> `sessions` (Map) -> `table` (system / OrderedHashMap) -> [] (Session)"; the holder of
// the first step is the root and is not shown. Untrusted names: the caller escapes for a terminal.
std::vector<std::string> shape_text(const Graph& g, const PathShapes& shapes, uint32_t shape,
                                    StringIndex target_class);

}  // namespace leakhunt::heapgraph
