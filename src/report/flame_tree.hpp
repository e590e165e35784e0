// Folds the call stacks of heap profiles into the tree a flame graph draws: root "all", one child
// per calling function, values summed over every sample below. The frames of a sample are
// symbolized (inline frames expanded), allocator, leakhunt agent and standard-library frames at the
// leaf are cut (symbolize::is_library_frame, the rule `top` names a site by), so the leaves are the
// user's functions that allocated. Small nodes are merged into one "other" node per parent (never
// more than about k_max_nodes in all), so a profile of 100,000 stacks stays fast to draw. The diff
// tree has, per node, the later profile's value and the change from the earlier one. Not
// thread-safe (uses the given Symbolizer).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "profile/profile.hpp"
#include "symbolize/symbolizer.hpp"

namespace leakhunt::report {

struct FlameNode {
    std::string name;   // function (or "module+0xoffset"); "all" at the root, "other" for merges
    std::string where;  // "file:line" of the first frame seen with this name; may be empty
    int64_t value = 0;  // inclusive value (of the later profile in a diff)
    int64_t delta = 0;  // later - earlier, inclusive (diff trees only)
    std::vector<FlameNode> children;  // by value, largest first
};

struct FlameOptions {
    std::string sample_type = "inuse_space";
    // Nodes smaller than this fraction of the root (by max(|value|, |delta|)) go into "other".
    double min_fraction = 2e-4;
    // If the pruned tree still has more nodes, min_fraction is doubled until it has not.
    size_t max_nodes = 20000;
};

// The tree of one profile. Throws util::Error naming `source_name` when the profile lacks the
// sample type.
FlameNode build_flame_tree(const profile::Profile& p, symbolize::Symbolizer& symbolizer,
                           std::string_view source_name, const FlameOptions& options = {});

// The tree of `later` with deltas against `earlier` (nodes only in `earlier` have value 0 and a
// negative delta).
FlameNode build_diff_tree(const profile::Profile& earlier, std::string_view earlier_name,
                          const profile::Profile& later, std::string_view later_name,
                          symbolize::Symbolizer& symbolizer, const FlameOptions& options = {});

size_t count_nodes(const FlameNode& root);

// {"n": name, "v": value, "f": where (if any), "d": delta (with_delta), "c": [children]}: the
// compact keys d3-flame-graph reads.
enum class WithDelta { yes, no };
nlohmann::json flame_json(const FlameNode& root, WithDelta with_delta);

}  // namespace leakhunt::report
