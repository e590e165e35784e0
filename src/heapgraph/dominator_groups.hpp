// The dominator tree grouped by class, as a person reads it: under the root, the objects it
// dominates grouped by class (1,000,000 Session, not a million siblings), under each group what
// its members dominate, grouped by class again, and so on, biggest retained size first. Eclipse
// MAT's dominator tree "grouped by class" and DevTools' retainers answer the same question: which
// chain of objects keeps most of the heap alive. Groups are expanded biggest first until a budget
// is spent; what is left under a group is summed into its `other_*`. Pure function of the graph.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "heapgraph/dominators.hpp"
#include "heapgraph/graph.hpp"

namespace leakhunt::heapgraph {

struct ClassGroup {
    StringIndex label = 0;  // the members' path label (their class, or a grouping node's name)
    uint64_t count = 0;     // members
    uint64_t retained = 0;  // their summed retained size
    std::vector<size_t> children;  // indices into DominatorGroups::groups, biggest first
    uint64_t other_count = 0, other_retained = 0;  // dominated, but in no child group
};

struct DominatorGroups {
    std::vector<ClassGroup> groups;  // groups[0]: the root (label 0, count 1)
};

struct DominatorGroupOptions {
    double min_fraction = 0.002;  // a group under this share of the root's retained size: "other"
    size_t max_groups = 400;      // groups in all, the root included
    size_t max_depth = 32;        // levels below the root
};

DominatorGroups dominator_groups(const Graph& g, const Dominators& d,
                                 const DominatorGroupOptions& options = {});

}  // namespace leakhunt::heapgraph
