// The one heap-graph model every reader fills and every analysis reads (DESIGN.md, "Heap
// graphs"): nodes and edges as flat parallel arrays, edges in CSR form (node i's edges are
// [first_edge[i], first_edge[i+1])), strings interned once. A node is a uint32_t index; node 0 is
// the synthetic super-root whose edges lead to the roots. What a node or edge type means (its
// name, whether an edge retains, how a node's class is named) is described per type, so the
// algorithms never look at a format's own numbers.
//
// Memory per object is a design number: 29 bytes per node (name 4, self size 8, id 8, type 1,
// first edge 8) and 9 per edge (target 4, name 4, type 1; parallel arrays, no padding), plus the
// strings (and, in a V8 graph with WeakMap entries, a bit per edge). Strings are stored as the
// format gives them; NameCanon compares names by text. Plain data; not thread-safe for writing.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace leakhunt::heapgraph {

using NodeIndex = uint32_t;
using EdgeIndex = uint64_t;
using StringIndex = uint32_t;
inline constexpr NodeIndex k_no_node = std::numeric_limits<NodeIndex>::max();
inline constexpr NodeIndex k_root = 0;

// Strings stored once, back to back; an index names one. Not thread-safe.
class StringTable {
  public:
    StringIndex add(std::string_view s);
    std::string_view get(StringIndex i) const {
        return std::string_view(m_chars).substr(m_offsets[i], m_offsets[i + 1] - m_offsets[i]);
    }
    size_t size() const { return m_offsets.size() - 1; }
    size_t memory_bytes() const {
        return m_chars.capacity() + m_offsets.capacity() * sizeof(uint64_t);
    }

  private:
    std::string m_chars;
    std::vector<uint64_t> m_offsets{0};
};

// Whether an edge keeps its target alive.
enum class EdgeClass : uint8_t {
    strong,    // retains
    weak,      // never retains
    shortcut,  // a second way to an object that something else retains: retains only from the root
};

struct EdgeType {
    std::string name;  // the format's own name: "property", "element", "weak", ...
    EdgeClass cls = EdgeClass::strong;
    bool named_by_index = false;  // the edge's name is a number (an array index), not a string
    bool fold_name =
        false;  // path shapes fold its names to "[]" (a dict's keys: data, not structure)
};

struct NodeType {
    std::string name;            // "object", "closure", "string", ...
    bool class_is_name = false;  // the class is the node's own name (an object's constructor)
    StringIndex class_name = 0;  // otherwise the class shown for every node of this type
    bool synthetic = false;      // a grouping node of the format (V8's "(GC roots)"), not an object
    bool named_in_paths =
        false;                 // paths show the node's own name ("system / Context", "(GC roots)")
    bool count_empty = false;  // class histograms count its nodes of self size 0 too
};

struct Graph;

// Maps string indices to one index per distinct text, so that classes compare by index even
// when a format lists one name twice. Built lazily per index asked; not thread-safe.
class NameCanon {
  public:
    explicit NameCanon(const Graph& g);
    StringIndex operator()(StringIndex s);

  private:
    const Graph& m_graph;
    std::vector<StringIndex> m_remap;
    std::unordered_map<std::string_view, StringIndex> m_first;
};

struct Graph {
    StringTable strings;
    std::vector<NodeType> node_types;
    std::vector<EdgeType> edge_types;

    // Per node.
    std::vector<StringIndex> node_name;
    std::vector<uint64_t> self_size;
    std::vector<uint64_t>
        node_id;  // stable across snapshots of one process where the format has one
    std::vector<uint8_t> node_type;
    std::vector<EdgeIndex> first_edge;  // node_count() + 1 entries

    // Per edge.
    std::vector<NodeIndex> edge_to;
    std::vector<uint32_t> edge_name;  // a string index, or the index itself when named_by_index
    std::vector<uint8_t> edge_type;

    // Chrome DevTools' HeapSnapshot model, which only V8 snapshots follow: the V8 reader turns it
    // on and fills its two lists; HPROF and Python graphs keep it off (an empty list is no rule).
    // - devtools_model: the nodes the root's search does not reach get a dominator too (see
    //   dominators.hpp); otherwise they are unreachable garbage that retains only itself;
    // - page_roots: the program's own entry points (the global objects the root reaches by
    //   shortcut edges, "(Document DOM trees)"). Everything reachable from them over non-weak
    //   edges is "page-owned", and an edge from a node that is not to one that is never retains;
    // - not_retaining: per edge, set for an edge that never retains although its type does (a
    //   WeakMap's internal edge from its table to a value: the value's edge from its key counts).
    bool devtools_model = false;
    std::vector<NodeIndex> page_roots;
    std::vector<bool> not_retaining;

    // node_id names the same object in another snapshot of the process (V8's ids). HPROF's ids are
    // addresses, which a moving GC changes: such graphs are compared by class, not by object.
    bool ids_stable = true;

    NodeIndex node_count() const { return static_cast<NodeIndex>(node_name.size()); }
    EdgeIndex edge_count() const { return edge_to.size(); }
    std::string_view name(NodeIndex n) const { return strings.get(node_name[n]); }
    StringIndex class_index(NodeIndex n) const {
        const NodeType& t = node_types[node_type[n]];
        return t.class_is_name ? node_name[n] : t.class_name;
    }
    std::string_view class_name(NodeIndex n) const { return strings.get(class_index(n)); }
    // How a path names the node as a holder: its class, or its own name for the format's
    // internal and grouping nodes.
    StringIndex path_label_index(NodeIndex n) const {
        return node_types[node_type[n]].named_in_paths && !strings.get(node_name[n]).empty()
                   ? node_name[n]
                   : class_index(n);
    }
    const EdgeType& type_of_edge(EdgeIndex e) const { return edge_types[edge_type[e]]; }
    // "sessions", "[12]" for an indexed edge.
    std::string edge_label(EdgeIndex e) const;
    // The root's children that are the program's own objects (V8: the global object reached by a
    // shortcut), as opposed to the format's synthetic groups ("(GC roots)").
    bool is_user_root(NodeIndex n) const { return !node_types[node_type[n]].synthetic; }

    size_t memory_bytes() const;
    // Checks the invariants every algorithm relies on (CSR bounds, targets in range, types
    // known); throws util::Error naming `where`. Readers call it once after building.
    void check(const std::string& where) const;
};

}  // namespace leakhunt::heapgraph
