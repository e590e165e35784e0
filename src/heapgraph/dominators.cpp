// SEMI-NCA dominators and retained sizes; see dominators.hpp for the rules and why.
#include "heapgraph/dominators.hpp"

#include <algorithm>
#include <utility>

namespace leakhunt::heapgraph {

Retention::Retention(const Graph& g) : m_graph(g) {
    // DevTools' markPageOwnedNodes: from the page roots over every edge but the weak ones.
    if (g.page_roots.empty()) return;
    m_page.assign(g.node_count(), false);
    std::vector<NodeIndex> stack;
    for (const NodeIndex n : g.page_roots) {
        if (!m_page[n]) stack.push_back(n);
        m_page[n] = true;
    }
    while (!stack.empty()) {
        const NodeIndex n = stack.back();
        stack.pop_back();
        for (EdgeIndex e = g.first_edge[n]; e < g.first_edge[n + 1]; ++e) {
            const NodeIndex to = g.edge_to[e];
            if (m_page[to] || g.type_of_edge(e).cls == EdgeClass::weak) continue;
            m_page[to] = true;
            stack.push_back(to);
        }
    }
}

namespace {

// Steps 2 and 3 of compute_dominators: each numbered node's semidominator, by number. When w is
// processed its predecessors numbered below it are not linked yet and offer their own number, so
// those are folded into semi[w] as the predecessor lists are built, and only the predecessors
// numbered above w are listed (in CSR form: counted at [w], summed to each list's end, then filled
// backwards to its start). Offset: the lists' offset type, 4 bytes where the graph's edges allow.
template <typename Offset>
std::vector<NodeIndex> semidominators(const Retention& r, std::vector<NodeIndex> number,
                                      const std::vector<NodeIndex>& vertex,
                                      const std::vector<NodeIndex>& parent, NodeIndex loose) {
    const Graph& g = r.graph();
    constexpr NodeIndex none = k_no_node;
    const auto reached = static_cast<NodeIndex>(vertex.size());
    // The root's extra children have it as a predecessor; the loose nodes' edges count for
    // nothing (in DevTools they cannot lower a semidominator).
    std::vector<NodeIndex> semi(reached);
    for (NodeIndex w = 0; w < reached; ++w) semi[w] = parent[w] == 0 ? 0 : w;
    std::vector<Offset> first(static_cast<size_t>(reached) + 1, 0);
    std::vector<NodeIndex> preds;
    auto each_pred = [&](auto&& above, auto&& below) {
        for (NodeIndex v = 0; v < loose; ++v) {
            const NodeIndex node = vertex[v];
            for (EdgeIndex e = g.first_edge[node]; e < g.first_edge[node + 1]; ++e) {
                if (!r.retains(node, e)) continue;
                const NodeIndex w = number[g.edge_to[e]];
                if (v > w) {
                    above(w, v);
                } else {
                    below(w, v);
                }
            }
        }
    };
    each_pred([&](NodeIndex w, NodeIndex) { ++first[w]; },
              [&](NodeIndex w, NodeIndex v) { semi[w] = std::min(semi[w], v); });
    for (NodeIndex w = 1; w < reached; ++w) first[w] += first[w - 1];
    first[reached] = first[reached - 1];
    preds.resize(first[reached]);
    each_pred([&](NodeIndex w, NodeIndex v) { preds[--first[w]] = v; },
              [](NodeIndex, NodeIndex) {});
    std::vector<NodeIndex>().swap(number);

    // In reverse preorder. label[v]: the smallest semidominator number on the path from v up to
    // (not including) the root of its tree in the link forest.
    std::vector<NodeIndex> label(semi), ancestor(reached, none);
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
        for (Offset i = first[w]; i < first[w + 1]; ++i) s = std::min(s, eval(preds[i]));
        semi[w] = label[w] = s;
        ancestor[w] = parent[w];
    }
    return semi;
}

}  // namespace

Dominators compute_dominators(const Retention& r) {
    const Graph& g = r.graph();
    const NodeIndex n = g.node_count();
    constexpr NodeIndex none = k_no_node;

    // 1. Depth-first preorder numbering over retaining edges from the root; in DevTools' model then
    // from each node nothing retains, then the nodes left one by one (from `loose` on), all as
    // the root's children. `reached` nodes are numbered.
    std::vector<NodeIndex> vertex;  // number -> node
    std::vector<NodeIndex> parent;  // by number; from step 4 on, the immediate dominator
    vertex.reserve(n);
    parent.reserve(n);
    std::vector<NodeIndex> semi;  // by number
    NodeIndex reached = 0, loose = 0;
    {
        std::vector<NodeIndex> number(n, none);  // node -> number
        struct Frame {
            NodeIndex node;
            EdgeIndex next;
        };
        std::vector<Frame> stack;
        auto search = [&](NodeIndex start, NodeIndex parent_number) {
            number[start] = static_cast<NodeIndex>(vertex.size());
            vertex.push_back(start);
            parent.push_back(parent_number);
            stack.push_back({start, g.first_edge[start]});
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
        };
        search(k_root, none);
        loose = static_cast<NodeIndex>(vertex.size());
        if (loose < n && g.devtools_model) {
            std::vector<bool> held(n, false);
            for (NodeIndex x = 0; x < n; ++x) {
                for (EdgeIndex e = g.first_edge[x]; e < g.first_edge[x + 1]; ++e) {
                    const NodeIndex to = g.edge_to[e];
                    if (number[to] == none && !held[to] && r.retains(x, e)) held[to] = true;
                }
            }
            for (NodeIndex v = 1; v < n; ++v) {
                if (number[v] == none && !held[v]) search(v, 0);
            }
            loose = static_cast<NodeIndex>(vertex.size());
            for (NodeIndex v = 1; v < n; ++v) {
                if (number[v] != none) continue;
                number[v] = static_cast<NodeIndex>(vertex.size());
                vertex.push_back(v);
                parent.push_back(0);
            }
        }
        reached = static_cast<NodeIndex>(vertex.size());

        // 2-3. Semidominators.
        semi = g.edge_count() < UINT32_MAX
                   ? semidominators<uint32_t>(r, std::move(number), vertex, parent, loose)
                   : semidominators<uint64_t>(r, std::move(number), vertex, parent, loose);
    }

    // 4. Immediate dominators, in place of the parents: the nearest common ancestor of the parent
    // and the semidominator (the dominators of smaller numbers are already final).
    for (NodeIndex w = 1; w < reached; ++w) {
        NodeIndex x = parent[w];
        while (x > semi[w]) x = parent[x];
        parent[w] = x;
    }
    std::vector<NodeIndex>().swap(semi);

    // 5. By node; retained sizes summed children first (reverse preorder).
    Dominators out;
    out.idom.assign(n, none);
    for (NodeIndex w = 1; w < reached; ++w) out.idom[vertex[w]] = vertex[parent[w]];
    out.retained.assign(g.self_size.begin(), g.self_size.end());
    for (NodeIndex w = reached - 1; w > 0; --w)
        out.retained[vertex[parent[w]]] += out.retained[vertex[w]];
    return out;
}

DominatorChildren dominator_children(const Dominators& d) {
    // Counted at [idom], summed to each list's end, and filled backwards to its start (from the
    // last node down, so that each list is in increasing order).
    const auto n = static_cast<NodeIndex>(d.idom.size());
    DominatorChildren t;
    t.first.assign(static_cast<size_t>(n) + 1, 0);
    for (NodeIndex i = 0; i < n; ++i) {
        if (d.idom[i] != k_no_node) ++t.first[d.idom[i]];
    }
    for (NodeIndex i = 1; i <= n; ++i) t.first[i] += t.first[i - 1];
    t.children.resize(t.first[n]);
    for (NodeIndex i = n; i-- > 0;) {
        if (d.idom[i] != k_no_node) t.children[--t.first[d.idom[i]]] = i;
    }
    return t;
}

std::vector<uint64_t> retained_by_key(const Dominators& d, const std::vector<uint32_t>& key,
                                      uint32_t keys) {
    const auto n = static_cast<NodeIndex>(d.idom.size());
    std::vector<uint64_t> out(keys, 0);
    // The dominator tree walked depth first, with a count per key of the nodes with that key on
    // the stack.
    const DominatorChildren t = dominator_children(d);
    const std::vector<NodeIndex>& first = t.first;
    const std::vector<NodeIndex>& children = t.children;
    std::vector<uint32_t> open(keys, 0);
    struct Frame {
        NodeIndex node;
        NodeIndex next;
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
    // Nodes the root does not reach (outside DevTools' model) retain only themselves.
    for (NodeIndex i = 1; i < n; ++i) {
        if (d.idom[i] == k_no_node && key[i] != k_no_key) out[key[i]] += d.retained[i];
    }
    return out;
}

}  // namespace leakhunt::heapgraph
