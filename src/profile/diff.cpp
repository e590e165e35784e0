// diff_profile: interning tables for mappings, functions and locations seeded with the current
// profile, then the base profile's entries mapped onto them.
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
    for (const auto& t : types) out += fmt::format("{}{}/{}", out.empty() ? "" : ", ", t.type, t.unit);
    return out.empty() ? "none" : out;
}

using MappingKey = std::tuple<std::string, std::string, uint64_t, uint64_t, uint64_t>;
using FunctionKey = std::tuple<std::string, std::string, std::string, int64_t>;

class Merger {
  public:
    explicit Merger(Profile& out) : m_out(out) {}

    // Adds every mapping, function and location of `p` (deduplicated against what is there) and
    // returns the new id of each of p's location ids.
    std::unordered_map<uint64_t, uint64_t> add(const Profile& p) {
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
        std::unordered_map<uint64_t, uint64_t> location_ids;
        for (const Location& l : p.locations) {
            Location copy = l;
            copy.mapping_id = l.mapping_id == 0 ? 0 : mapping_ids.at(l.mapping_id);
            for (Line& line : copy.lines) {
                if (line.function_id != 0) line.function_id = function_ids.at(line.function_id);
            }
            std::string key = fmt::format("{}:{:x}:{}", copy.mapping_id, copy.address,
                                          copy.is_folded ? 1 : 0);
            for (const Line& line : copy.lines) {
                key += fmt::format(";{}:{}:{}", line.function_id, line.line, line.column);
            }
            auto [it, inserted] = m_locations.try_emplace(key, m_out.locations.size() + 1);
            if (inserted) {
                copy.id = it->second;
                m_out.locations.push_back(std::move(copy));
            }
            location_ids[l.id] = it->second;
        }
        return location_ids;
    }

  private:
    Profile& m_out;
    std::map<MappingKey, uint64_t> m_mappings;
    std::map<FunctionKey, uint64_t> m_functions;
    std::unordered_map<std::string, uint64_t> m_locations;
};

void add_samples(Profile& out, const Profile& p, const std::unordered_map<uint64_t, uint64_t>& ids,
                 bool base) {
    for (const Sample& s : p.samples) {
        Sample copy;
        copy.location_ids.reserve(s.location_ids.size());
        for (uint64_t id : s.location_ids) {
            const auto it = ids.find(id);
            if (it != ids.end()) copy.location_ids.push_back(it->second);
        }
        copy.values = s.values;
        copy.labels = s.labels;
        if (base) {
            for (int64_t& v : copy.values) v = -v;
            copy.labels.push_back({.key = "pprof::base", .str = "true", .num = 0, .num_unit = ""});
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
