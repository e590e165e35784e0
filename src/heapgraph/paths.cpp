// Breadth-first shortest paths, path shapes and their grouping; see paths.hpp.
#include "heapgraph/paths.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace leakhunt::heapgraph {

ShortestPaths shortest_paths(const Graph& g, PathFilter* filter) {
    const NodeIndex n = g.node_count();
    ShortestPaths p;
    p.parent.assign(n, k_no_node);
    p.via.assign(n, 0);
    p.distance.assign(n, ShortestPaths::k_unreached);
    p.distance[k_root] = 0;
    std::vector<NodeIndex> queue;
    auto bfs = [&](size_t head) {
        for (; head < queue.size(); ++head) {
            const NodeIndex from = queue[head];
            for (EdgeIndex e = g.first_edge[from]; e < g.first_edge[from + 1]; ++e) {
                if (g.type_of_edge(e).cls == EdgeClass::weak) continue;
                const NodeIndex to = g.edge_to[e];
                if (p.distance[to] != ShortestPaths::k_unreached) continue;
                if (filter != nullptr && !filter->follow(from, e)) continue;
                p.distance[to] = p.distance[from] + 1;
                p.parent[to] = from;
                p.via[to] = e;
                queue.push_back(to);
            }
        }
    };
    // The user roots first, then the runtime's groups for the rest.
    for (int pass = 0; pass < 2; ++pass) {
        const size_t head = queue.size();
        for (EdgeIndex e = g.first_edge[k_root]; e < g.first_edge[k_root + 1]; ++e) {
            const NodeIndex to = g.edge_to[e];
            if (p.distance[to] != ShortestPaths::k_unreached) continue;
            if ((pass == 0) != g.is_user_root(to)) continue;
            if (g.type_of_edge(e).cls == EdgeClass::weak) continue;
            p.distance[to] = pass == 0 ? 1 : ShortestPaths::k_system_distance;
            p.parent[to] = k_root;
            p.via[to] = e;
            queue.push_back(to);
        }
        bfs(head);
    }
    return p;
}

namespace {

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

uint64_t step_hash(uint32_t parent, const ShapeStep& s) {
    uint64_t h = parent;
    h = h * 0x9e3779b97f4a7c15ULL + s.holder_class;
    h = h * 0x9e3779b97f4a7c15ULL + s.edge_type;
    h = h * 0x9e3779b97f4a7c15ULL + s.edge_name;
    return h;
}

}  // namespace

PathShapes::PathShapes(const Graph& g, const ShortestPaths& p)
    : m_graph(g), m_paths(p), m_canon(g) {
    m_entries.push_back({UINT32_MAX, {}});
    m_memo[k_root] = 0;
}

uint32_t PathShapes::child(uint32_t parent, ShapeStep step) {
    // A run of the same step is one step, marked repeated.
    if (parent != 0 && m_entries[parent].step.same_step(step)) {
        if (m_entries[parent].step.repeated) return parent;
        step.repeated = true;
        parent = m_entries[parent].parent;
    }
    auto& bucket = m_children[step_hash(parent, step)];
    for (uint32_t id : bucket) {
        const Entry& e = m_entries[id];
        if (e.parent == parent && e.step.same_step(step) && e.step.repeated == step.repeated)
            return id;
    }
    m_entries.push_back({parent, step});
    const auto id = static_cast<uint32_t>(m_entries.size() - 1);
    bucket.push_back(id);
    return id;
}

uint32_t PathShapes::shape_of(NodeIndex n) {
    if (m_paths.distance[n] == ShortestPaths::k_unreached) return k_no_shape;
    std::vector<NodeIndex> chain;
    NodeIndex x = n;
    auto known = m_memo.find(x);
    while (known == m_memo.end()) {
        chain.push_back(x);
        x = m_paths.parent[x];
        known = m_memo.find(x);
    }
    uint32_t shape = known->second;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        const NodeIndex node = *it;
        const NodeIndex holder = m_paths.parent[node];
        const EdgeIndex e = m_paths.via[node];
        ShapeStep s;
        s.holder_class = m_canon(m_graph.path_label_index(holder));
        s.edge_type = m_graph.edge_type[e];
        s.edge_name = m_graph.edge_name[e];
        if (m_graph.type_of_edge(e).named_by_index || m_graph.type_of_edge(e).fold_name ||
            all_digits(m_graph.strings.get(s.edge_name))) {
            s.edge_name = ShapeStep::k_index_name;
        } else {
            s.edge_name = m_canon(s.edge_name);
        }
        shape = child(shape, s);
        m_memo[node] = shape;
    }
    return shape;
}

std::vector<ShapeStep> PathShapes::steps(uint32_t shape) const {
    std::vector<ShapeStep> out;
    for (uint32_t s = shape; s != 0 && s != UINT32_MAX; s = m_entries[s].parent)
        out.push_back(m_entries[s].step);
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<PathGroup> group_paths(PathShapes& shapes, const std::vector<NodeIndex>& nodes,
                                   const Dominators& d, const Graph& g) {
    std::unordered_map<uint32_t, uint32_t> group_of_shape;
    std::vector<PathGroup> out;
    std::vector<uint32_t> key(g.node_count(), k_no_key);
    for (NodeIndex n : nodes) {
        const uint32_t s = shapes.shape_of(n);
        const auto [it, added] = group_of_shape.emplace(s, static_cast<uint32_t>(out.size()));
        if (added) out.push_back({s, 0, 0, 0, n});
        PathGroup& grp = out[it->second];
        ++grp.count;
        grp.self_bytes += g.self_size[n];
        key[n] = it->second;
    }
    const auto retained = retained_by_key(d, key, static_cast<uint32_t>(out.size()));
    for (size_t i = 0; i < out.size(); ++i) out[i].retained_bytes = retained[i];
    std::sort(out.begin(), out.end(), [](const PathGroup& a, const PathGroup& b) {
        if (a.retained_bytes != b.retained_bytes) return a.retained_bytes > b.retained_bytes;
        if (a.count != b.count) return a.count > b.count;
        return a.shape < b.shape;
    });
    return out;
}

std::vector<std::string> shape_text(const Graph& g, const PathShapes& shapes, uint32_t shape,
                                    StringIndex target_class) {
    std::vector<std::string> out;
    if (shape == PathShapes::k_no_shape) return out;
    const std::vector<ShapeStep> steps = shapes.steps(shape);
    // Step i leads from steps[i].holder_class to steps[i+1].holder_class (the last to the target).
    for (size_t i = 0; i < steps.size(); ++i) {
        const ShapeStep& s = steps[i];
        const StringIndex to_class =
            i + 1 < steps.size() ? steps[i + 1].holder_class : target_class;
        const std::string name = s.edge_name == ShapeStep::k_index_name
                                     ? "[]"
                                     : fmt::format("`{}`", g.strings.get(s.edge_name));
        const std::string_view type = g.edge_types[s.edge_type].name;
        const std::string_view cls = g.strings.get(to_class);
        const std::string held = cls.starts_with("(") ? std::string(cls) : fmt::format("({})", cls);
        std::string text = i == 0         ? std::string(cls)
                           : name == "``" ? fmt::format("{} {}", type, held)  // an unnamed edge
                                          : fmt::format("{} {} {}", type, name, held);
        if (s.repeated) text += " [a chain of these]";
        out.push_back(std::move(text));
    }
    return out;
}

}  // namespace leakhunt::heapgraph
