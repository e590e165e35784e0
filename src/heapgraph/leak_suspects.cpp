// MAT-style leak suspects over the dominator tree; see leak_suspects.hpp.
#include "heapgraph/leak_suspects.hpp"

#include <algorithm>
#include <unordered_map>

namespace leakhunt::heapgraph {

std::vector<LeakSuspect> leak_suspects(const Graph& g, const Dominators& d,
                                       const LeakSuspectOptions& options) {
    const NodeIndex n = g.node_count();
    const DominatorChildren tree = dominator_children(d);
    const std::vector<NodeIndex>& first = tree.first;
    const std::vector<NodeIndex>& children = tree.children;
    const auto total = static_cast<double>(d.retained[k_root]);
    const auto big = [&](NodeIndex x) {
        return static_cast<double>(d.retained[x]) >= options.min_share * total;
    };

    // Top-down: a big node is a suspect; its subtree is not searched again.
    std::vector<NodeIndex> found;
    std::vector<NodeIndex> stack{k_root};
    while (!stack.empty()) {
        const NodeIndex x = stack.back();
        stack.pop_back();
        for (NodeIndex c = first[x]; c < first[x + 1]; ++c) {
            const NodeIndex child = children[c];
            if (!big(child)) continue;
            if (g.node_types[g.node_type[child]].synthetic) {
                stack.push_back(child);  // a format's grouping node is no suspect
            } else {
                found.push_back(child);
            }
        }
    }
    NameCanon canon(g);
    std::vector<LeakSuspect> groups;
    for (NodeIndex holder : found) groups.push_back({holder, 1, d.retained[holder]});
    // By class: the instances directly under the root that are no suspect on their own.
    {
        std::vector<bool> single(n, false);
        for (NodeIndex x : found) single[x] = true;
        struct Group {
            NodeIndex biggest = k_no_node;
            uint64_t count = 0, retained = 0;
        };
        std::unordered_map<StringIndex, Group> by_class;
        for (NodeIndex c = first[k_root]; c < first[k_root + 1]; ++c) {
            const NodeIndex x = children[c];
            // Objects only: not classes (their statics are the JDK's in any small heap) nor a
            // format's grouping nodes.
            if (single[x] || !g.node_types[g.node_type[x]].class_is_name) continue;
            Group& gr = by_class[canon(g.class_index(x))];
            ++gr.count;
            gr.retained += d.retained[x];
            if (gr.biggest == k_no_node || d.retained[x] > d.retained[gr.biggest]) gr.biggest = x;
        }
        for (const auto& [cls, gr] : by_class) {
            if (gr.count > 1 && static_cast<double>(gr.retained) >= options.min_share * total) {
                groups.push_back({gr.biggest, gr.count, gr.retained});
            }
        }
    }
    std::sort(groups.begin(), groups.end(), [&](const LeakSuspect& a, const LeakSuspect& b) {
        return a.retained != b.retained ? a.retained > b.retained : a.holder < b.holder;
    });
    if (groups.size() > options.max) groups.resize(options.max);

    std::vector<LeakSuspect> out;
    for (const LeakSuspect& group : groups) {
        LeakSuspect s = group;
        const NodeIndex holder = s.holder;
        NodeIndex x = holder;
        for (;;) {
            NodeIndex biggest = k_no_node;
            for (NodeIndex c = first[x]; c < first[x + 1]; ++c) {
                if (biggest == k_no_node || d.retained[children[c]] > d.retained[biggest])
                    biggest = children[c];
            }
            if (biggest == k_no_node ||
                static_cast<double>(d.retained[biggest]) <
                    options.single_child * static_cast<double>(d.retained[x])) {
                break;
            }
            x = biggest;
        }
        s.accumulation = x;
        // What accumulates: the class whose dominated children retain the most.
        std::unordered_map<StringIndex, std::pair<uint64_t, uint64_t>> by_class;
        for (NodeIndex c = first[x]; c < first[x + 1]; ++c) {
            auto& [count, bytes] = by_class[canon(g.class_index(children[c]))];
            ++count;
            bytes += d.retained[children[c]];
        }
        for (const auto& [cls, cb] : by_class) {
            if (cb.second > s.item_bytes || (cb.second == s.item_bytes && cb.first > s.items)) {
                s.item_class = cls;
                s.items = cb.first;
                s.item_bytes = cb.second;
            }
        }
        out.push_back(s);
    }
    return out;
}

}  // namespace leakhunt::heapgraph
