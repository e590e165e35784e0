// Flame trees: stacks folded into an arena of nodes keyed by (parent, frame name), then copied
// out largest first with small nodes merged into "other".
#include "report/flame_tree.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "symbolize/frames.hpp"
#include "util/error.hpp"

namespace leakhunt::report {
namespace {

// The agent's own frames, as symbolize/frames.cpp recognises them: never the interesting leaf.
constexpr std::string_view k_agent_library = "libleakhunt_agent";
constexpr uint32_t k_root = 0;

bool cut_at_leaf(const symbolize::Frame& f) {
    return f.module.find(k_agent_library) != std::string::npos ||
           symbolize::is_allocator_function(f.function);
}

size_t value_index(const profile::Profile& p, std::string_view source_name,
                   const std::string& sample_type) {
    if (auto i = profile::sample_type_index(p, sample_type)) return *i;
    const std::string have = profile::sample_type_names(p);
    throw util::Error("{} has no sample type {} (it has: {}); is it a heap profile?", source_name,
                      sample_type, have.empty() ? "none" : have);
}

// Owns the arena of folded stacks of up to two profiles (slot 0: earlier, 1: later).
class Folder {
  public:
    explicit Folder(symbolize::Symbolizer& symbolizer) : m_symbolizer(symbolizer) {
        m_nodes.push_back(Node{intern("all"), k_root, {0, 0}, {}, {}});
    }

    void add(const profile::Profile& p, size_t index, int slot) {
        std::unordered_map<uint64_t, std::vector<FrameRef>> by_location;
        std::vector<const FrameRef*> stack;  // leaf first
        for (const auto& sample : p.samples) {
            const int64_t value = index < sample.values.size() ? sample.values[index] : 0;
            m_nodes[k_root].value[slot] += value;
            stack.clear();
            for (uint64_t id : sample.location_ids) {
                auto it = by_location.find(id);
                if (it == by_location.end()) {
                    it = by_location.emplace(id, frames_of(p, id)).first;
                }
                for (const auto& f : it->second) stack.push_back(&f);
            }
            if (stack.empty()) continue;
            size_t leaf = 0;
            while (leaf < stack.size() && stack[leaf]->cut) ++leaf;
            if (leaf == stack.size()) leaf = 0;  // only allocator frames: keep them
            uint32_t node = k_root;
            for (size_t i = stack.size(); i-- > leaf;) {
                node = child(node, *stack[i]);
                m_nodes[node].value[slot] += value;
            }
        }
    }

    // The tree with slot 1 as value and slot 1 - slot 0 as delta, pruned.
    FlameNode tree(const FlameOptions& options) const {
        const Node& root = m_nodes[k_root];
        const double root_weight = weight(root);
        double fraction = options.min_fraction;
        for (;;) {
            size_t count = 0;
            FlameNode out = copy(k_root, fraction * root_weight, count);
            if (count <= options.max_nodes || fraction >= 1) return out;
            fraction *= 2;
        }
    }

  private:
    struct FrameRef {
        uint32_t name = 0;
        std::string where;
        bool cut = false;
    };
    struct Node {
        uint32_t name = 0;
        uint32_t parent = 0;
        int64_t value[2] = {0, 0};
        std::string where;
        std::vector<uint32_t> children;
    };

    static double weight(const Node& n) {
        return std::max(std::abs(static_cast<double>(n.value[1])),
                        std::abs(static_cast<double>(n.value[1] - n.value[0])));
    }

    uint32_t intern(const std::string& name) {
        auto [it, inserted] = m_ids.emplace(name, static_cast<uint32_t>(m_names.size()));
        if (inserted) m_names.push_back(name);
        return it->second;
    }

    std::vector<FrameRef> frames_of(const profile::Profile& p, uint64_t location_id) {
        std::vector<FrameRef> out;
        const profile::Location* loc = profile::find_location(p, location_id);
        if (loc == nullptr) return out;
        const std::vector<symbolize::Frame> frames =
            symbolize::location_frames(p, *loc, m_symbolizer);
        for (size_t i = 0; i < frames.size(); ++i) {
            const symbolize::Frame& f = frames[i];
            FrameRef r;
            r.name = intern(f.display_name());
            if (!f.file.empty())
                r.where = f.line > 0 ? fmt::format("{}:{}", f.file, f.line) : f.file;
            // The allocator, the agent and the standard library's frames above the user's code
            // are cut from the leaf end, so that the leaves are the user's functions.
            r.cut = cut_at_leaf(f) || symbolize::is_library_frame(f, i + 1 < frames.size());
            out.push_back(std::move(r));
        }
        return out;
    }

    uint32_t child(uint32_t parent, const FrameRef& f) {
        const uint64_t key = (static_cast<uint64_t>(parent) << 32) | f.name;
        auto [it, inserted] = m_edges.emplace(key, static_cast<uint32_t>(m_nodes.size()));
        if (inserted) {
            m_nodes.push_back(Node{f.name, parent, {0, 0}, f.where, {}});
            m_nodes[parent].children.push_back(it->second);
        }
        return it->second;
    }

    FlameNode copy(uint32_t index, double threshold, size_t& count) const {
        const Node& n = m_nodes[index];
        ++count;
        FlameNode out;
        out.name = m_names[n.name];
        out.where = n.where;
        out.value = n.value[1];
        out.delta = n.value[1] - n.value[0];
        std::vector<uint32_t> kids = n.children;
        std::sort(kids.begin(), kids.end(), [&](uint32_t a, uint32_t b) {
            const double wa = weight(m_nodes[a]);
            const double wb = weight(m_nodes[b]);
            if (wa != wb) return wa > wb;
            return m_names[m_nodes[a].name] < m_names[m_nodes[b].name];
        });
        std::optional<FlameNode> other;
        for (uint32_t k : kids) {
            const Node& c = m_nodes[k];
            if (weight(c) >= threshold && weight(c) > 0) {
                out.children.push_back(copy(k, threshold, count));
                continue;
            }
            if (!other) {
                other.emplace();
                other->name = "other";
                ++count;
            }
            other->value += c.value[1];
            other->delta += c.value[1] - c.value[0];
        }
        if (other) out.children.push_back(std::move(*other));
        return out;
    }

    symbolize::Symbolizer& m_symbolizer;
    std::vector<std::string> m_names;
    std::unordered_map<std::string, uint32_t> m_ids;
    std::vector<Node> m_nodes;
    std::unordered_map<uint64_t, uint32_t> m_edges;
};

}  // namespace

FlameNode build_flame_tree(const profile::Profile& p, symbolize::Symbolizer& symbolizer,
                           std::string_view source_name, const FlameOptions& options) {
    const size_t index = value_index(p, source_name, options.sample_type);
    Folder folder(symbolizer);
    folder.add(p, index, 1);
    FlameNode root = folder.tree(options);
    // A single profile has no earlier state: its deltas mean nothing.
    std::vector<FlameNode*> todo{&root};
    while (!todo.empty()) {
        FlameNode* n = todo.back();
        todo.pop_back();
        n->delta = 0;
        for (auto& c : n->children) todo.push_back(&c);
    }
    return root;
}

FlameNode build_diff_tree(const profile::Profile& earlier, std::string_view earlier_name,
                          const profile::Profile& later, std::string_view later_name,
                          symbolize::Symbolizer& symbolizer, const FlameOptions& options) {
    const size_t from = value_index(earlier, earlier_name, options.sample_type);
    const size_t to = value_index(later, later_name, options.sample_type);
    Folder folder(symbolizer);
    folder.add(earlier, from, 0);
    folder.add(later, to, 1);
    return folder.tree(options);
}

size_t count_nodes(const FlameNode& root) {
    size_t n = 1;
    for (const auto& c : root.children) n += count_nodes(c);
    return n;
}

nlohmann::json flame_json(const FlameNode& root, WithDelta with_delta) {
    nlohmann::json j = {{"n", root.name}, {"v", root.value}};
    if (!root.where.empty()) j["f"] = root.where;
    if (with_delta == WithDelta::yes) j["d"] = root.delta;
    if (!root.children.empty()) {
        nlohmann::json kids = nlohmann::json::array();
        for (const auto& c : root.children) kids.push_back(flame_json(c, with_delta));
        j["c"] = std::move(kids);
    }
    return j;
}

}  // namespace leakhunt::report
