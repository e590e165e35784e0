// Leak suspects of one heap graph as Eclipse MAT computes them: the objects that alone keep a big
// share of the heap alive (a node whose retained size is at least a threshold share of the whole
// heap, found top-down in the dominator tree, so a suspect's dominated children are not listed
// again), each descended to its accumulation point: the first node below it whose retained size
// is spread over many children rather than held by one (the array of a map's table, a list's
// backing array), with the class of what accumulates there. Then, as MAT's "suspects by class",
// the classes whose instances directly under the roots together keep that share alive (four pool
// threads each holding a ThreadLocal's values), shown by their biggest instance.
#pragma once

#include <cstdint>
#include <vector>

#include "heapgraph/dominators.hpp"
#include "heapgraph/graph.hpp"

namespace leakhunt::heapgraph {

struct LeakSuspect {
    NodeIndex holder = k_no_node;        // the suspect (for a class: its biggest instance)
    uint64_t instances = 1;              // 1, or the instances of a class suspect
    uint64_t retained = 0;               // what they keep alive
    NodeIndex accumulation = k_no_node;  // where its retained size spreads out (may be holder)
    StringIndex item_class = 0;          // the class retaining most among accumulation's children
    uint64_t items = 0;                  // accumulation's dominated children of that class
    uint64_t item_bytes = 0;             // and what they retain
};

struct LeakSuspectOptions {
    double min_share = 0.10;     // of the heap (the root's retained size), as MAT's default
    double single_child = 0.80;  // descend while one child retains at least this share
    size_t max = 10;
};

// Biggest first.
std::vector<LeakSuspect> leak_suspects(const Graph& g, const Dominators& d,
                                       const LeakSuspectOptions& options = {});

}  // namespace leakhunt::heapgraph
