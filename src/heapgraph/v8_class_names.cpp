// Current DevTools' class names; see v8_class_names.hpp.
#include "heapgraph/v8_class_names.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "heapgraph/v8_rules.hpp"

namespace leakhunt::heapgraph {
namespace {

constexpr size_t k_max_interfaces = 1000;
constexpr size_t k_max_name_length = 120;
constexpr uint64_t k_min_objects = 2;

bool is_plain_object(const Graph& g, NodeIndex n, int object_type) {
    return g.node_type[n] == object_type && g.name(n) == "Object";
}

// A property name as an interface's name shows it: in JSON quotes when it has a character that
// would make the list ambiguous.
std::string shown_property(std::string_view name) {
    if (name.find_first_of(",'\"{}") == std::string_view::npos) return std::string(name);
    return nlohmann::json(std::string(name))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// "<div id=\"a\">" -> "<div>"; "Detached <div class=\"x\">" -> "Detached <div>"; else nullopt.
std::optional<std::string> element_class(std::string_view name) {
    size_t from = 0;
    if (name.starts_with("Detached <")) {
        from = 10;
    } else if (!name.starts_with("<")) {
        return std::nullopt;
    }
    const size_t space = name.find(' ', from);
    if (space == std::string_view::npos) return std::nullopt;
    return std::string(name.substr(0, space)) + ">";
}

// The interfaces as a tree of sorted property names: an interface is the node its sorted fields
// lead to, so an object's matches are the nodes its own sorted properties can reach.
struct TreeNode {
    std::map<std::string, uint32_t, std::less<>> next;
    std::optional<uint32_t> interface;  // the first interface that ends here
    size_t field_count = 0;
};

}  // namespace

std::vector<Interface> infer_interfaces(const Graph& g) {
    const int object_type = type_named(g.node_types, "object");
    const int property = type_named(g.edge_types, "property");
    struct Candidate {
        Interface interface;
        uint64_t count = 0;
    };
    std::vector<Candidate> candidates;
    std::unordered_map<std::string, size_t> by_name;
    if (!g.devtools_model || object_type < 0 || property < 0) return {};
    for (NodeIndex n = 0; n < g.node_count(); ++n) {
        if (!is_plain_object(g, n, object_type)) continue;
        std::string name = "{";
        std::vector<std::string> fields;
        for (EdgeIndex e = g.first_edge[n]; e < g.first_edge[n + 1]; ++e) {
            if (g.edge_type[e] != property) continue;  // (an element's name is its index)
            const std::string_view field = g.strings.get(g.edge_name[e]);
            if (field == "__proto__") continue;
            const std::string shown = shown_property(field);
            if (name.size() > 1 && name.size() + shown.size() > k_max_name_length) break;
            if (name.size() != 1) name += ", ";
            name += shown;
            fields.emplace_back(field);
        }
        if (fields.empty()) continue;
        name += "}";
        const auto [it, fresh] = by_name.try_emplace(name, candidates.size());
        if (fresh) candidates.push_back({{std::move(name), std::move(fields)}, 0});
        ++candidates[it->second].count;
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.count > b.count; });
    std::vector<Interface> out;
    for (auto& c : candidates) {
        if (out.size() >= k_max_interfaces || c.count < k_min_objects) break;
        out.push_back(std::move(c.interface));
    }
    return out;
}

void use_current_devtools_names(Graph& g, const std::vector<Interface>& interfaces) {
    if (!g.devtools_model) return;
    for (NodeType& t : g.node_types) {
        if (t.name == "closure") t.class_name = g.strings.add("Function");
        if (t.name == "regexp") t.class_name = g.strings.add("RegExp");
    }
    const int object_type = type_named(g.node_types, "object");
    const int native_type = type_named(g.node_types, "native");
    const int property = type_named(g.edge_types, "property");
    std::unordered_map<std::string, StringIndex> added;
    auto intern = [&](const std::string& s) {
        const auto [it, fresh] = added.try_emplace(s, 0);
        if (fresh) it->second = g.strings.add(s);
        return it->second;
    };
    std::unordered_map<StringIndex, std::optional<StringIndex>> element_of;
    for (NodeIndex n = 0; n < g.node_count(); ++n) {
        if (g.node_type[n] != object_type && g.node_type[n] != native_type) continue;
        auto [it, fresh] = element_of.try_emplace(g.node_name[n]);
        if (fresh) {
            if (const auto cls = element_class(g.name(n))) it->second = intern(*cls);
        }
        if (it->second) g.node_name[n] = *it->second;
    }
    if (object_type < 0 || property < 0 || interfaces.empty()) return;
    std::vector<TreeNode> tree(1);
    for (size_t i = 0; i < interfaces.size(); ++i) {
        std::vector<std::string> fields = interfaces[i].fields;
        std::sort(fields.begin(), fields.end());
        uint32_t at = 0;
        for (const std::string& f : fields) {
            const auto found = tree[at].next.find(f);
            if (found != tree[at].next.end()) {
                at = found->second;
                continue;
            }
            const auto id = static_cast<uint32_t>(tree.size());
            tree.emplace_back();
            tree[at].next.emplace(f, id);
            at = id;
        }
        if (!tree[at].interface) {
            tree[at].interface = static_cast<uint32_t>(i);
            tree[at].field_count = fields.size();
        }
    }
    std::vector<StringIndex> interface_name(interfaces.size(), 0);
    std::vector<bool> interned(interfaces.size(), false);
    std::vector<std::string_view> fields;
    std::vector<uint32_t> states, reached;
    for (NodeIndex n = 0; n < g.node_count(); ++n) {
        if (!is_plain_object(g, n, object_type)) continue;
        fields.clear();
        for (EdgeIndex e = g.first_edge[n]; e < g.first_edge[n + 1]; ++e) {
            if (g.edge_type[e] == property) fields.push_back(g.strings.get(g.edge_name[e]));
        }
        std::sort(fields.begin(), fields.end());
        // Every tree node the fields seen so far reach; the best interface among them.
        states.assign(1, 0);
        std::optional<uint32_t> best = tree[0].interface;
        auto better = [&](uint32_t node) {
            const auto& cand = tree[node].interface;
            if (!cand) return;
            if (!best || tree[node].field_count > interfaces[*best].fields.size() ||
                (tree[node].field_count == interfaces[*best].fields.size() && *cand < *best))
                best = cand;
        };
        for (std::string_view f : fields) {
            reached.clear();
            for (uint32_t s : states) {
                const auto& next = tree[s].next;
                // Fields come sorted: a node with no name at or after f leads nowhere more.
                if (!next.empty() && f < next.rbegin()->first) reached.push_back(s);
                const auto found = next.find(f);
                if (found != next.end()) {
                    reached.push_back(found->second);
                    better(found->second);
                }
            }
            std::sort(reached.begin(), reached.end());
            reached.erase(std::unique(reached.begin(), reached.end()), reached.end());
            states.swap(reached);
        }
        if (!best) continue;
        if (!interned[*best]) {
            interface_name[*best] = intern(interfaces[*best].name);
            interned[*best] = true;
        }
        g.node_name[n] = interface_name[*best];
    }
}

}  // namespace leakhunt::heapgraph
