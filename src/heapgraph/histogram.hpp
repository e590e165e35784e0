// Class histograms of a heap graph, their diff between two snapshots, and the leak set of three.
//
// A class row counts its nodes and their self sizes, as Chrome DevTools' Summary view does (nodes
// of self size 0 are left out unless their type says otherwise), and its retained size is the sum
// over its nodes that no other node of the same class dominates, so that a list of Sessions
// holding Sessions is not counted twice. The diff matches nodes by their stable id, as DevTools'
// Comparison view does: new, deleted, and the size they brought and freed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "heapgraph/dominators.hpp"
#include "heapgraph/graph.hpp"

namespace leakhunt::heapgraph {

struct ClassRow {
    StringIndex name = 0;
    uint64_t count = 0;
    uint64_t self_bytes = 0;
    uint64_t retained_bytes = 0;
};

// Rows by class, biggest retained size first (ties: self size, then name).
std::vector<ClassRow> class_histogram(const Graph& g, const Dominators& d);

// Whether a node is counted in class rows (DevTools' Summary filter).
bool counted(const Graph& g, NodeIndex n);

struct ClassDiffRow {
    std::string name;
    uint64_t base_count = 0, cur_count = 0;
    uint64_t base_bytes = 0, cur_bytes = 0;
    uint64_t new_count = 0, deleted_count = 0;
    uint64_t alloc_bytes = 0, freed_bytes = 0;  // self sizes of the new and the deleted nodes
    int64_t count_delta() const {
        return static_cast<int64_t>(cur_count) - static_cast<int64_t>(base_count);
    }
    int64_t bytes_delta() const {
        return static_cast<int64_t>(cur_bytes) - static_cast<int64_t>(base_bytes);
    }
};

// Classes whose nodes changed, by growth in size (then count), then name.
std::vector<ClassDiffRow> diff_classes(const Graph& base, const Graph& cur);

// The nodes of `third` whose ids are absent from `first` and present in `second`: created between
// the first and second snapshots and still alive at the third. Sorted by node index.
std::vector<NodeIndex> leak_set(const Graph& first, const Graph& second, const Graph& third);

}  // namespace leakhunt::heapgraph
