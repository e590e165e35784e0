// SEMI-NCA dominators and retained sizes; see dominators.hpp for the rules and why.
#include "heapgraph/dominators.hpp"

#include <utility>

namespace leakhunt::heapgraph {

Retention::Retention(const Graph& g) : m_graph(g) {
    // DevTools' "can be queried" marking: from the user roots over visible, non-weak edges.
    std::vector<NodeIndex> stack;
    for (EdgeIndex e = g.first_edge[k_root]; e < g.first_edge[k_root + 1]; ++e) {
        if (g.is_user_root(g.edge_to[e])) stack.push_back(g.edge_to[e]);
    }
    if (stack.empty()) return;
    m_owned.assign(g.node_count(), false);
    while (!stack.empty()) {
        const NodeIndex n = stack.back();
        stack.pop_back();
        if (m_owned[n]) continue;
        m_owned[n] = true;
        for (EdgeIndex e = g.first_edge[n]; e < g.first_edge[n + 1]; ++e) {
            const EdgeType& t = g.type_of_edge(e);
            if (!t.visible || t.cls == EdgeClass::weak || m_owned[g.edge_to[e]]) continue;
            stack.push_back(g.edge_to[e]);
        }
    }
}

Dominators compute_dominators(const Retention& r) {
    const Graph& g = r.graph();
    const NodeIndex n = g.node_count();
    constexpr NodeIndex none = k_no_node;
    Dominators out;

    // 1. Depth-first preorder numbering from the root over retaining edges.
    std::vector<NodeIndex> number(n, none);         // node -> preorder number
    std::vector<NodeIndex>& vertex = out.preorder;  // number -> node
    std::vector<NodeIndex> parent;                  // by number
    {
        struct Frame {
            NodeIndex node;
            EdgeIndex next;
        };
        std::vector<Frame> stack;
        number[k_root] = 0;
        vertex.push_back(k_root);
        parent.push_back(none);
        stack.push_back({k_root, g.first_edge[k_root]});
        while (!stack.empty()) {
            Frame& f = stack.back();
            if (f.next == g.first_edge[f.node + 1]) {
                stack.pop_back();
                continue;
            }
            const EdgeIndex e = f.next++;
            const NodeIndex to = g.edge_to[e];
            if (number[to] != none || !r.retains(f.node, e)) continue;
            number[to] = static_cast<NodeIndex>(vertex.size());
            parent.push_back(number[f.node]);
            vertex.push_back(to);
            stack.push_back({to, g.first_edge[to]});
        }
    }
    const NodeIndex reached = static_cast<NodeIndex>(vertex.size());

    // 2. Predecessors by number, in CSR form, over the same predicate.
    std::vector<uint64_t> pred_first(static_cast<size_t>(reached) + 1, 0);
    std::vector<NodeIndex> preds;
    {
        for (NodeIndex v = 0; v < reached; ++v) {
            const NodeIndex node = vertex[v];
            for (EdgeIndex e = g.first_edge[node]; e < g.first_edge[node + 1]; ++e) {
                const NodeIndex to = number[g.edge_to[e]];
                if (to != none && r.retains(node, e)) ++pred_first[to + 1];
            }
        }
        for (NodeIndex v = 0; v < reached; ++v) pred_first[v + 1] += pred_first[v];
        preds.resize(pred_first[reached]);
        std::vector<uint64_t> fill(pred_first.begin(), pred_first.end() - 1);
        for (NodeIndex v = 0; v < reached; ++v) {
            const NodeIndex node = vertex[v];
            for (EdgeIndex e = g.first_edge[node]; e < g.first_edge[node + 1]; ++e) {
                const NodeIndex to = number[g.edge_to[e]];
                if (to != none && r.retains(node, e)) preds[fill[to]++] = v;
            }
        }
    }

    // 3. Semidominators in reverse preorder. label[v]: the smallest semidominator number on the
    // path from v up to (not including) the root of its tree in the link forest.
    std::vector<NodeIndex> semi(reached), label(reached), ancestor(reached, none);
    for (NodeIndex v = 0; v < reached; ++v) semi[v] = label[v] = v;
    std::vector<NodeIndex> path;
    auto eval = [&](NodeIndex v) {
        if (ancestor[v] == none) return label[v];
        // Compress the path v -> ... -> (child of the forest root), iteratively.
        NodeIndex x = v;
        while (ancestor[ancestor[x]] != none) {
            path.push_back(x);
            x = ancestor[x];
        }
        while (!path.empty()) {
            const NodeIndex y = path.back();
            path.pop_back();
            const NodeIndex a = ancestor[y];
            if (label[a] < label[y]) label[y] = label[a];
            ancestor[y] = ancestor[a];
        }
        return label[v];
    };
    for (NodeIndex w = reached - 1; w > 0; --w) {
        NodeIndex s = semi[w];
        for (uint64_t i = pred_first[w]; i < pred_first[w + 1]; ++i) {
            const NodeIndex u = eval(preds[i]);
            if (u < s) s = u;
        }
        semi[w] = label[w] = s;
        ancestor[w] = parent[w];
    }
    std::vector<NodeIndex>().swap(ancestor);
    std::vector<NodeIndex>().swap(label);
    std::vector<NodeIndex>().swap(preds);

    // 4. Immediate dominators: the nearest common ancestor of the parent and the semidominator.
    std::vector<NodeIndex> idom_num(reached, 0);
    for (NodeIndex w = 1; w < reached; ++w) {
        NodeIndex x = parent[w];
        while (x > semi[w]) x = idom_num[x];
        idom_num[w] = x;
    }

    out.idom.assign(n, none);
    for (NodeIndex w = 1; w < reached; ++w) out.idom[vertex[w]] = vertex[idom_num[w]];

    // 5. Retained sizes: children before their dominator (reverse preorder).
    out.retained.assign(g.self_size.begin(), g.self_size.end());
    for (NodeIndex w = reached - 1; w > 0; --w) {
        out.retained[vertex[idom_num[w]]] += out.retained[vertex[w]];
    }
    return out;
}

std::vector<uint64_t> retained_by_key(const Dominators& d, const std::vector<uint32_t>& key,
                                      uint32_t keys) {
    const auto n = static_cast<NodeIndex>(d.idom.size());
    std::vector<uint64_t> out(keys, 0);
    // The dominator tree's children in CSR form, walked depth first with a count per key of the
    // nodes with that key on the stack.
    std::vector<uint64_t> first(static_cast<size_t>(n) + 1, 0);
    for (NodeIndex i = 0; i < n; ++i) {
        if (d.idom[i] != k_no_node) ++first[d.idom[i] + 1];
    }
    for (NodeIndex i = 0; i < n; ++i) first[i + 1] += first[i];
    std::vector<NodeIndex> children(first[n]);
    {
        std::vector<uint64_t> fill(first.begin(), first.end() - 1);
        for (NodeIndex i = 0; i < n; ++i) {
            if (d.idom[i] != k_no_node) children[fill[d.idom[i]]++] = i;
        }
    }
    std::vector<uint32_t> open(keys, 0);
    struct Frame {
        NodeIndex node;
        uint64_t next;
    };
    std::vector<Frame> stack{{k_root, first[k_root]}};
    while (!stack.empty()) {
        Frame& f = stack.back();
        if (f.next == first[f.node + 1]) {
            if (key[f.node] != k_no_key) --open[key[f.node]];
            stack.pop_back();
            continue;
        }
        const NodeIndex c = children[f.next++];
        if (key[c] != k_no_key && open[key[c]]++ == 0) out[key[c]] += d.retained[c];
        stack.push_back({c, first[c]});
    }
    // Nodes the root does not reach retain only themselves.
    for (NodeIndex i = 1; i < n; ++i) {
        if (d.idom[i] == k_no_node && key[i] != k_no_key) out[key[i]] += d.retained[i];
    }
    return out;
}

}  // namespace leakhunt::heapgraph
