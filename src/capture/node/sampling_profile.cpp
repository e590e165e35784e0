#include "capture/node/sampling_profile.hpp"

#include <cmath>
#include <map>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace leakhunt::capture::node {
namespace {

using json = nlohmann::json;

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

const json& field(const json& object, const char* key, const char* where) {
    const auto it = object.find(key);
    if (it == object.end()) {
        throw util::Error("the inspector's sampling heap profile has no field {} in {}", key,
                          where);
    }
    return *it;
}

std::int64_t integer(const json& object, const char* key, const char* where) {
    const json& v = field(object, key, where);
    if (!v.is_number()) {
        throw util::Error("the inspector's sampling heap profile: {}.{} is not a number", where,
                          key);
    }
    return v.is_number_float() ? static_cast<std::int64_t>(v.get<double>()) : v.get<std::int64_t>();
}

std::string text(const json& object, const char* key) {
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Interns functions and locations (one location per function: V8's tree gives each node the
// function's own position, not the allocating line).
class Builder {
  public:
    explicit Builder(profile::Profile& p) : m_p(p) {}

    std::uint64_t location(const json& call_frame) {
        std::string name = text(call_frame, "functionName");
        if (name.empty()) name = "(anonymous)";
        std::string file = script_file(text(call_frame, "url"));
        const auto line_it = call_frame.find("lineNumber");
        std::int64_t line = 0;
        if (line_it != call_frame.end() && line_it->is_number_integer()) {
            line = line_it->get<std::int64_t>();
            line = line >= 0 ? line + 1 : 0;
        }
        auto key = std::make_tuple(name, file, line);
        const auto found = m_ids.find(key);
        if (found != m_ids.end()) return found->second;
        const std::uint64_t id = m_p.functions.size() + 1;
        m_p.functions.push_back({id, name, name, file, line});
        profile::Location loc;
        loc.id = id;
        loc.lines.push_back({id, line, 0});
        m_p.locations.push_back(std::move(loc));
        m_ids.emplace(std::move(key), id);
        return id;
    }

  private:
    profile::Profile& m_p;
    std::map<std::tuple<std::string, std::string, std::int64_t>, std::uint64_t> m_ids;
};

}  // namespace

std::string script_file(std::string_view url) {
    if (!url.starts_with("file://")) return std::string(url);
    std::string_view rest = url.substr(7);
    // file://host/path: only an empty host (or localhost) names a local path.
    if (rest.starts_with("localhost/")) rest.remove_prefix(9);
    std::string out;
    out.reserve(rest.size());
    for (size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] == '%' && i + 2 < rest.size()) {
            const int hi = hex_digit(rest[i + 1]);
            const int lo = hex_digit(rest[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(rest[i]);
    }
    return out;
}

profile::Profile sampling_profile_to_pprof(const json& result, std::int64_t interval_bytes,
                                           std::int64_t time_nanos) {
    if (interval_bytes <= 0) throw util::Error("internal: sampling interval {}", interval_bytes);
    if (!result.is_object()) {
        throw util::Error("the inspector's sampling heap profile is not a JSON object");
    }
    const json& prof = field(result, "profile", "the reply");
    if (!prof.is_object()) throw util::Error("the inspector's sampling heap profile is no object");
    const json& head = field(prof, "head", "profile");

    profile::Profile p = profile::make_heap_profile();
    p.period = interval_bytes;
    p.time_nanos = time_nanos;
    p.comments.push_back(
        "V8 sampling heap profiler (HeapProfiler.getSamplingProfile): live "
        "objects only; alloc_* repeat inuse_* (V8 keeps no record of collected "
        "objects)");
    Builder builder(p);

    // node id -> its stack (leaf first), without V8's "(root)".
    std::unordered_map<std::int64_t, std::vector<std::uint64_t>> stacks;
    std::unordered_map<std::int64_t, std::int64_t> self_size;
    std::vector<std::pair<const json*, const std::vector<std::uint64_t>*>> todo;
    static const std::vector<std::uint64_t> k_empty;
    todo.emplace_back(&head, &k_empty);
    bool root = true;
    while (!todo.empty()) {
        auto [node, parent] = todo.back();
        todo.pop_back();
        if (!node->is_object())
            throw util::Error("the inspector's sampling heap profile: a node is no object");
        const std::int64_t id = integer(*node, "id", "a node");
        std::vector<std::uint64_t> stack;
        if (!root) {
            const json& frame = field(*node, "callFrame", "a node");
            if (!frame.is_object())
                throw util::Error("the inspector's sampling heap profile: callFrame is no object");
            stack.reserve(parent->size() + 1);
            stack.push_back(builder.location(frame));
            stack.insert(stack.end(), parent->begin(), parent->end());
        }
        root = false;
        self_size[id] = integer(*node, "selfSize", "a node");
        auto [it, inserted] = stacks.emplace(id, std::move(stack));
        if (!inserted)
            throw util::Error("the inspector's sampling heap profile: node id {} twice", id);
        if (const auto children = node->find("children"); children != node->end()) {
            if (!children->is_array())
                throw util::Error("the inspector's sampling heap profile: children is no list");
            for (const json& child : *children) todo.emplace_back(&child, &it->second);
        }
    }

    // Each sample's size is already scaled (V8HeapProfilerAgentImpl::getSamplingProfile sends
    // size * ScaleSample(size, 1).count). The count cannot be told back from that product (16 B
    // x 2049 and 24 B x 1366 both send 32784), so a sample counts as one object.
    std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> per_node;  // objects, bytes
    const auto samples = prof.find("samples");
    const bool have_samples = samples != prof.end() && samples->is_array();
    if (have_samples) {
        for (const json& s : *samples) {
            if (!s.is_object()) continue;
            const std::int64_t node = integer(s, "nodeId", "a sample");
            const std::int64_t size = integer(s, "size", "a sample");
            if (size <= 0 || !stacks.contains(node)) continue;
            auto& v = per_node[node];
            v.first += 1;
            v.second += size;
        }
    }
    if (!have_samples) {
        // An inspector without the samples list: the sizes alone, object counts unknown.
        for (const auto& [id, bytes] : self_size) {
            if (bytes > 0) per_node[id] = {0, bytes};
        }
    }
    for (const auto& [id, v] : per_node) {
        const auto& stack = stacks.at(id);
        if (stack.empty() || (v.first == 0 && v.second == 0)) continue;
        profile::Sample s;
        s.location_ids = stack;
        s.values = {v.first, v.second, v.first, v.second};
        p.samples.push_back(std::move(s));
    }
    return p;
}

}  // namespace leakhunt::capture::node
