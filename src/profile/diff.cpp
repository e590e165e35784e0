// diff_profile: interning tables for mappings, functions and locations seeded with the current
// profile, then the base profile's entries mapped onto them. Locations are keyed by their ids and
// lines (no strings) and samples translate ids through an array, so that two profiles of 100,000
// samples merge in tens of milliseconds.
#include "profile/diff.hpp"

#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "util/error.hpp"

namespace leakhunt::profile {
namespace {

std::string describe(const std::vector<ValueType>& types) {
    std::string out;
    for (const auto& t : types)
        out += fmt::format("{}{}/{}", out.empty() ? "" : ", ", t.type, t.unit);
    return out.empty() ? "none" : out;
}

using MappingKey = std::tuple<std::string, std::string, uint64_t, uint64_t, uint64_t>;
using FunctionKey = std::tuple<std::string, std::string, std::string, int64_t>;

// A location as the merge compares it: merged mapping id, address, folding and lines (with
// merged function ids).
struct LocationKey {
    uint64_t mapping_id = 0;
    uint64_t address = 0;
    bool is_folded = false;
    std::vector<Line> lines;
    bool operator==(const LocationKey&) const = default;
};

struct LocationKeyHash {
    size_t operator()(const LocationKey& k) const noexcept {
        uint64_t h = 0xcbf29ce484222325ULL;
        auto mix = [&h](uint64_t v) { h = (h ^ v) * 0x100000001b3ULL + (h >> 29); };
        mix(k.mapping_id);
        mix(k.address);
        mix(k.is_folded ? 1 : 0);
        for (const Line& line : k.lines) {
            mix(line.function_id);
            mix(static_cast<uint64_t>(line.line));
            mix(static_cast<uint64_t>(line.column));
        }
        return static_cast<size_t>(h);
    }
};

// A profile's location ids -> merged ids: an array when the ids are 1..n (as the reader makes
// them), a hash map otherwise.
class LocationIds {
  public:
    explicit LocationIds(const Profile& p) {
        for (size_t i = 0; i < p.locations.size() && m_dense; ++i) {
            m_dense = p.locations[i].id == i + 1;
        }
        if (m_dense) m_by_index.reserve(p.locations.size());
    }

    // The merged id of the next location of the profile, in order.
    void add(uint64_t id, uint64_t merged) {
        if (m_dense) {
            m_by_index.push_back(merged);
        } else {
            m_by_id[id] = merged;
        }
    }

    // The merged id of `id`, or 0 when the profile has no such location.
    uint64_t find(uint64_t id) const {
        if (m_dense) return id >= 1 && id <= m_by_index.size() ? m_by_index[id - 1] : 0;
        const auto it = m_by_id.find(id);
        return it == m_by_id.end() ? 0 : it->second;
    }

  private:
    bool m_dense = true;
    std::vector<uint64_t> m_by_index;
    std::unordered_map<uint64_t, uint64_t> m_by_id;
};

class Merger {
  public:
    explicit Merger(Profile& out) : m_out(out) {}

    // Adds every mapping, function and location of `p` (deduplicated against what is there) and
    // returns the new id of each of p's location ids.
    LocationIds add(const Profile& p) {
        std::unordered_map<uint64_t, uint64_t> mapping_ids;
        for (const Mapping& m : p.mappings) {
            const MappingKey key{m.filename, m.build_id, m.memory_start, m.memory_limit,
                                 m.file_offset};
            auto [it, inserted] = m_mappings.try_emplace(key, m_out.mappings.size() + 1);
            if (inserted) {
                Mapping copy = m;
                copy.id = it->second;
                m_out.mappings.push_back(std::move(copy));
            } else {
                Mapping& have = m_out.mappings[it->second - 1];
                have.has_functions |= m.has_functions;
                have.has_filenames |= m.has_filenames;
                have.has_line_numbers |= m.has_line_numbers;
                have.has_inline_frames |= m.has_inline_frames;
            }
            mapping_ids[m.id] = it->second;
        }
        std::unordered_map<uint64_t, uint64_t> function_ids;
        for (const Function& f : p.functions) {
            const FunctionKey key{f.name, f.system_name, f.filename, f.start_line};
            auto [it, inserted] = m_functions.try_emplace(key, m_out.functions.size() + 1);
            if (inserted) {
                Function copy = f;
                copy.id = it->second;
                m_out.functions.push_back(std::move(copy));
            }
            function_ids[f.id] = it->second;
        }
        LocationIds location_ids(p);
        m_locations.reserve(m_locations.size() + p.locations.size());
        for (const Location& l : p.locations) {
            LocationKey key{.mapping_id = l.mapping_id == 0 ? 0 : mapping_ids.at(l.mapping_id),
                            .address = l.address,
                            .is_folded = l.is_folded,
                            .lines = l.lines};
            for (Line& line : key.lines) {
                if (line.function_id != 0) line.function_id = function_ids.at(line.function_id);
            }
            auto [it, inserted] =
                m_locations.try_emplace(std::move(key), m_out.locations.size() + 1);
            if (inserted) {
                m_out.locations.push_back({.id = it->second,
                                           .mapping_id = it->first.mapping_id,
                                           .address = l.address,
                                           .lines = it->first.lines,
                                           .is_folded = l.is_folded});
            }
            location_ids.add(l.id, it->second);
        }
        return location_ids;
    }

  private:
    Profile& m_out;
    std::map<MappingKey, uint64_t> m_mappings;
    std::map<FunctionKey, uint64_t> m_functions;
    std::unordered_map<LocationKey, uint64_t, LocationKeyHash> m_locations;
};

void add_samples(Profile& out, const Profile& p, const LocationIds& ids, bool base) {
    for (const Sample& s : p.samples) {
        Sample copy;
        copy.location_ids.reserve(s.location_ids.size());
        for (uint64_t id : s.location_ids) {
            if (const uint64_t merged = ids.find(id); merged != 0) {
                copy.location_ids.push_back(merged);
            }
        }
        copy.values = s.values;
        if (base) {
            copy.labels.reserve(s.labels.size() + 1);
            copy.labels = s.labels;
            for (int64_t& v : copy.values) v = -v;
            copy.labels.push_back({.key = "pprof::base", .str = "true", .num = 0, .num_unit = ""});
        } else {
            copy.labels = s.labels;
        }
        out.samples.push_back(std::move(copy));
    }
}

}  // namespace

void check_same_sample_types(const Profile& base, const Profile& cur, std::string_view base_name,
                             std::string_view cur_name) {
    if (base.sample_types == cur.sample_types) return;
    throw util::Error(
        "{} and {} measure different things ({} has sample types {}; {} has {}): diff two "
        "profiles of the same kind, e.g. two heap profiles of the same program",
        base_name, cur_name, base_name, describe(base.sample_types), cur_name,
        describe(cur.sample_types));
}

Profile diff_profile(const Profile& base, const Profile& cur, std::string_view base_name,
                     std::string_view cur_name) {
    check_same_sample_types(base, cur, base_name, cur_name);
    Profile out;
    out.sample_types = cur.sample_types;
    out.period_type = cur.period_type;
    out.period = cur.period;
    out.time_nanos = cur.time_nanos;
    out.duration_nanos = cur.duration_nanos;
    out.default_sample_type = cur.default_sample_type;
    out.drop_frames = cur.drop_frames;
    out.keep_frames = cur.keep_frames;
    out.comments = cur.comments;
    out.comments.push_back(fmt::format("leakhunt diff: {} minus {}", cur_name, base_name));
    Merger merger(out);
    const auto cur_ids = merger.add(cur);
    const auto base_ids = merger.add(base);
    out.samples.reserve(cur.samples.size() + base.samples.size());
    add_samples(out, cur, cur_ids, false);
    add_samples(out, base, base_ids, true);
    return out;
}

}  // namespace leakhunt::profile
