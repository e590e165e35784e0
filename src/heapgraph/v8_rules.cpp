// DevTools' rules for V8 heap graphs; see v8_rules.hpp.
#include "heapgraph/v8_rules.hpp"

#include <string>
#include <unordered_map>
#include <unordered_set>

namespace leakhunt::heapgraph {
namespace {

bool all_digits(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// " @123)" at the end of s; looks at those characters only.
bool ends_with_id(std::string_view s) {
    if (!s.ends_with(")")) return false;
    s.remove_suffix(1);
    size_t start = s.size();
    while (start > 0 && s[start - 1] >= '0' && s[start - 1] <= '9') --start;
    return start < s.size() && s.substr(0, start).ends_with(" @");
}

class V8PathFilter final : public PathFilter {
  public:
    explicit V8PathFilter(const Graph& g) : m_graph(g) {
        m_hidden = type_named(g.node_types, "hidden");
        m_array = type_named(g.node_types, "array");
        m_internal = type_named(g.edge_types, "internal");
    }
    bool follow(NodeIndex from, EdgeIndex e) override {
        const Graph& g = m_graph;
        const int type = g.node_type[from];
        if (type == m_hidden && g.name(from) == "system / NativeContext" &&
            !g.type_of_edge(e).named_by_index &&
            g.strings.get(g.edge_name[e]) == "sloppy_function_map") {
            return false;
        }
        if (type == m_array && g.name(from) == "(map descriptors)") {
            uint64_t index = 0;
            if (g.type_of_edge(e).named_by_index) {
                index = g.edge_name[e];
            } else {
                const std::string_view s = g.strings.get(g.edge_name[e]);
                if (s.empty() || s.size() > 10 ||
                    s.find_first_not_of("0123456789") != std::string_view::npos)
                    return true;
                for (char c : s) index = index * 10 + static_cast<uint64_t>(c - '0');
            }
            return index < 2 || index % 3 != 1;
        }
        if (g.edge_type[e] == m_internal) {
            const std::string_view name = g.strings.get(g.edge_name[e]);
            if (!weakmap_table_id(name)) return true;
            // Both edges' names differ only in their leading number.
            const std::string key(name.substr(name.find_first_not_of("0123456789")));
            if (m_pending.erase(key) == 0) {
                m_pending.insert(key);
                return false;
            }
        }
        return true;
    }

  private:
    const Graph& m_graph;
    int m_hidden = -1, m_array = -1, m_internal = -1;
    std::unordered_set<std::string> m_pending;
};

}  // namespace

std::unique_ptr<PathFilter> v8_path_filter(const Graph& g) {
    return std::make_unique<V8PathFilter>(g);
}

std::optional<uint64_t> weakmap_table_id(std::string_view name) {
    // DevTools' pattern: ^\d+ / part of key \(.*? @\d+\) -> value \(.*? @\d+\) pair in WeakMap
    // \(table @(\d+)\)$
    const size_t digits = name.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string_view::npos) return std::nullopt;
    std::string_view rest = name.substr(digits);
    constexpr std::string_view head = " / part of key (", value = " -> value (",
                               table = " pair in WeakMap (table @";
    if (!rest.starts_with(head) || !rest.ends_with(")")) return std::nullopt;
    rest.remove_prefix(head.size());
    const size_t t = rest.rfind(table);
    if (t == std::string_view::npos) return std::nullopt;
    const std::string_view id = rest.substr(t + table.size(), rest.size() - t - table.size() - 1);
    if (!all_digits(id) || id.size() > 16) return std::nullopt;
    const std::string_view pair = rest.substr(0, t);  // "K @id) -> value (V @id)"
    bool split = false;  // at some " -> value (" with " @id)" on both sides
    for (size_t v = pair.find(value); v != std::string_view::npos && !split;
         v = pair.find(value, v + 1)) {
        split = ends_with_id(pair.substr(0, v)) && ends_with_id(pair.substr(v + value.size()));
    }
    if (!split) return std::nullopt;
    uint64_t out = 0;
    for (const char c : id) out = out * 10 + static_cast<uint64_t>(c - '0');
    return out;
}

void add_v8_retention_rules(Graph& g) {
    g.devtools_model = true;
    const int shortcut = type_named(g.edge_types, "shortcut");
    const int synthetic = type_named(g.node_types, "synthetic");
    for (EdgeIndex e = g.first_edge[k_root]; e < g.first_edge[k_root + 1]; ++e) {
        const NodeIndex to = g.edge_to[e];
        if ((shortcut >= 0 && g.edge_type[e] == shortcut) ||
            (synthetic >= 0 && g.node_type[to] == synthetic &&
             g.name(to) == "(Document DOM trees)"))
            g.page_roots.push_back(to);
    }
    const int internal = type_named(g.edge_types, "internal");
    if (internal < 0) return;
    // A table id per distinct edge name (UINT64_MAX: not a WeakMap value's name).
    std::unordered_map<StringIndex, uint64_t> table_of;
    for (NodeIndex n = 0; n < g.node_count(); ++n) {
        for (EdgeIndex e = g.first_edge[n]; e < g.first_edge[n + 1]; ++e) {
            if (g.edge_type[e] != internal) continue;
            const std::string_view name = g.strings.get(g.edge_name[e]);
            if (name.empty() || name[0] < '0' || name[0] > '9') continue;
            auto [it, fresh] = table_of.try_emplace(g.edge_name[e], UINT64_MAX);
            if (fresh) it->second = weakmap_table_id(name).value_or(UINT64_MAX);
            if (it->second != g.node_id[n]) continue;
            if (g.not_retaining.empty()) g.not_retaining.assign(g.edge_count(), false);
            g.not_retaining[e] = true;
        }
    }
}

void name_detached_nodes(Graph& g, const std::vector<uint8_t>& state) {
    constexpr uint8_t k_unknown = 0, k_attached = 1, k_detached = 2;
    const int native = type_named(g.node_types, "native");
    if (native < 0 || state.size() != g.node_count()) return;
    const int hidden = type_named(g.edge_types, "hidden");
    const int weak = type_named(g.edge_types, "weak");
    std::vector<uint8_t> now(state);
    std::vector<bool> visited(g.node_count(), false);
    std::vector<NodeIndex> attached, detached;
    std::unordered_map<StringIndex, StringIndex> renamed;
    // A node's state is settled once: a native takes the first it is given, and the state stops at
    // anything that is not a native.
    auto settle = [&](NodeIndex n, uint8_t s) {
        if (visited[n]) return;
        visited[n] = true;
        if (g.node_type[n] != native) return;
        now[n] = s;
        if (s == k_attached) {
            attached.push_back(n);
        } else if (s == k_detached) {
            auto [it, fresh] = renamed.try_emplace(g.node_name[n], 0);
            if (fresh) it->second = g.strings.add("Detached " + std::string(g.name(n)));
            g.node_name[n] = it->second;
            detached.push_back(n);
        }
    };
    auto pass_on = [&](NodeIndex n, uint8_t s) {
        for (EdgeIndex e = g.first_edge[n]; e < g.first_edge[n + 1]; ++e) {
            const int t = g.edge_type[e];
            if (t != hidden && t != weak) settle(g.edge_to[e], s);
        }
    };
    for (NodeIndex n = 0; n < g.node_count(); ++n) {
        if (state[n] != k_unknown) settle(n, state[n]);
    }
    while (!attached.empty()) {
        const NodeIndex n = attached.back();
        attached.pop_back();
        pass_on(n, k_attached);
    }
    while (!detached.empty()) {
        const NodeIndex n = detached.back();
        detached.pop_back();
        if (now[n] != k_attached) pass_on(n, k_detached);
    }
}

}  // namespace leakhunt::heapgraph
