// Lookups over the profile model and the empty Go-style heap profile.
#include "profile/profile.hpp"

#include <algorithm>

namespace leakhunt::profile {
namespace {

// Works for const and mutable vectors alike; returns a pointer of matching constness.
template <typename Vector>
auto find_by_id(Vector& items, uint64_t id) -> decltype(items.data()) {
    if (id == 0) return nullptr;
    if (id <= items.size() && items[id - 1].id == id) return &items[id - 1];
    auto it = std::find_if(items.begin(), items.end(), [id](const auto& t) { return t.id == id; });
    return it == items.end() ? nullptr : &*it;
}

}  // namespace

const Mapping* find_mapping(const Profile& p, uint64_t id) {
    return find_by_id(p.mappings, id);
}
const Location* find_location(const Profile& p, uint64_t id) {
    return find_by_id(p.locations, id);
}
const Function* find_function(const Profile& p, uint64_t id) {
    return find_by_id(p.functions, id);
}
Mapping* find_mapping(Profile& p, uint64_t id) {
    return find_by_id(p.mappings, id);
}
Location* find_location(Profile& p, uint64_t id) {
    return find_by_id(p.locations, id);
}
Function* find_function(Profile& p, uint64_t id) {
    return find_by_id(p.functions, id);
}

std::optional<size_t> sample_type_index(const Profile& p, std::string_view type) {
    for (size_t i = 0; i < p.sample_types.size(); ++i) {
        if (p.sample_types[i].type == type) return i;
    }
    return std::nullopt;
}

std::optional<InUse> in_use_totals(const Profile& p) {
    const auto bytes = sample_type_index(p, "inuse_space");
    const auto objects = sample_type_index(p, "inuse_objects");
    if (!bytes || !objects) return std::nullopt;
    InUse t;
    for (const auto& s : p.samples) {
        if (*bytes < s.values.size()) t.bytes += s.values[*bytes];
        if (*objects < s.values.size()) t.objects += s.values[*objects];
    }
    return t;
}

std::string sample_type_names(const Profile& p) {
    std::string out;
    for (const auto& t : p.sample_types) out += (out.empty() ? "" : ", ") + t.type;
    return out;
}

std::string preferred_sample_type(const Profile& p) {
    if (sample_type_index(p, "inuse_space")) return "inuse_space";
    if (!p.default_sample_type.empty() && sample_type_index(p, p.default_sample_type)) {
        return p.default_sample_type;
    }
    return p.sample_types.empty() ? std::string() : p.sample_types.back().type;
}

namespace {
constexpr std::string_view k_java_class_prefix = "[jvm class]";
}

std::string java_class_mapping(std::string_view module) {
    std::string name(k_java_class_prefix);
    if (!module.empty()) name += " " + std::string(module);
    return name;
}

bool is_java_class_mapping(std::string_view filename) {
    return filename == k_java_class_prefix ||
           (filename.starts_with(k_java_class_prefix) &&
            filename.substr(k_java_class_prefix.size()).starts_with(' '));
}

std::string_view java_class_mapping_module(std::string_view filename) {
    if (!is_java_class_mapping(filename) || filename == k_java_class_prefix) return {};
    return filename.substr(k_java_class_prefix.size() + 1);
}

Profile make_heap_profile() {
    Profile p;
    p.sample_types = {{"alloc_objects", "count"},
                      {"alloc_space", "bytes"},
                      {"inuse_objects", "count"},
                      {"inuse_space", "bytes"}};
    p.period_type = {"space", "bytes"};
    return p;
}

}  // namespace leakhunt::profile
