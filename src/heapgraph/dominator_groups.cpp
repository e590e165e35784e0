// The dominator tree grouped by class; see dominator_groups.hpp.
#include "heapgraph/dominator_groups.hpp"

#include <algorithm>
#include <queue>
#include <unordered_map>
#include <utility>

namespace leakhunt::heapgraph {

DominatorGroups dominator_groups(const Graph& g, const Dominators& d,
                                 const DominatorGroupOptions& options) {
    DominatorGroups out;
    const DominatorChildren tree = dominator_children(d);
    NameCanon canon(g);
    const uint64_t total = d.retained.empty() ? 0 : d.retained[k_root];
    const auto min_bytes = static_cast<uint64_t>(options.min_fraction * static_cast<double>(total));

    // Groups waiting to be expanded, biggest first; members are kept only until then.
    struct Pending {
        size_t group;
        size_t depth;
        std::vector<NodeIndex> members;
    };
    std::vector<Pending> pending;
    auto bigger = [&](size_t a, size_t b) {
        return out.groups[pending[a].group].retained < out.groups[pending[b].group].retained;
    };
    std::priority_queue<size_t, std::vector<size_t>, decltype(bigger)> queue(bigger);

    out.groups.push_back({0, 1, total, {}, 0, 0});
    pending.push_back({0, 0, {k_root}});
    queue.push(0);
    while (!queue.empty()) {
        const size_t p = queue.top();
        queue.pop();
        const std::vector<NodeIndex> members = std::move(pending[p].members);
        const size_t parent = pending[p].group;
        const size_t depth = pending[p].depth;
        // The members' children, by class.
        std::unordered_map<StringIndex, std::vector<NodeIndex>> by_label;
        for (const NodeIndex m : members) {
            for (NodeIndex i = tree.first[m]; i < tree.first[m + 1]; ++i) {
                const NodeIndex c = tree.children[i];
                by_label[canon(g.path_label_index(c))].push_back(c);
            }
        }
        std::vector<std::pair<uint64_t, StringIndex>> order;
        order.reserve(by_label.size());
        for (const auto& [label, nodes] : by_label) {
            uint64_t sum = 0;
            for (const NodeIndex n : nodes) sum += d.retained[n];
            order.emplace_back(sum, label);
        }
        std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
            if (a.first != b.first) return a.first > b.first;
            return g.strings.get(a.second) < g.strings.get(b.second);
        });
        for (const auto& [sum, label] : order) {
            std::vector<NodeIndex>& nodes = by_label[label];
            if (sum < min_bytes || sum == 0 || out.groups.size() >= options.max_groups) {
                out.groups[parent].other_count += nodes.size();
                out.groups[parent].other_retained += sum;
                continue;
            }
            const size_t child = out.groups.size();
            out.groups.push_back({label, nodes.size(), sum, {}, 0, 0});
            out.groups[parent].children.push_back(child);
            if (depth + 1 < options.max_depth) {
                pending.push_back({child, depth + 1, std::move(nodes)});
                queue.push(pending.size() - 1);
            }
        }
    }
    return out;
}

}  // namespace leakhunt::heapgraph
