// pprof encoding: the model into protobuf through a string interner (string_table[0] = ""), then
// gzip, then an atomic write. Ids are written as they are; the caller keeps them unique.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include <google/protobuf/arena.h>

#include "profile.pb.h"
#include "profile/gzip.hpp"
#include "profile/pprof.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::profile {
namespace {

namespace pb = perftools::profiles;

// Dedups strings into the profile's string table. Not thread-safe.
class StringTable {
  public:
    explicit StringTable(pb::Profile& out) : m_out(out) { intern(""); }

    int64_t intern(const std::string& s) {
        auto [it, inserted] = m_index.try_emplace(s, static_cast<int64_t>(m_index.size()));
        if (inserted) m_out.add_string_table(s);
        return it->second;
    }

  private:
    pb::Profile& m_out;
    std::unordered_map<std::string, int64_t> m_index;
};

void set_value_type(pb::ValueType* out, const ValueType& in, StringTable& strings) {
    out->set_type(strings.intern(in.type));
    out->set_unit(strings.intern(in.unit));
}

}  // namespace

std::string encode_profile(const Profile& p) {
    // An arena: one bump allocation per message instead of a malloc (and a free) per sample.
    google::protobuf::ArenaOptions arena_options;
    arena_options.start_block_size = size_t{1} << 20;
    arena_options.max_block_size = size_t{16} << 20;
    google::protobuf::Arena arena(arena_options);
    pb::Profile& out = *google::protobuf::Arena::CreateMessage<pb::Profile>(&arena);
    out.mutable_sample()->Reserve(static_cast<int>(p.samples.size()));
    StringTable strings(out);
    for (const auto& vt : p.sample_types) set_value_type(out.add_sample_type(), vt, strings);
    for (const auto& s : p.samples) {
        pb::Sample* ps = out.add_sample();
        ps->mutable_location_id()->Add(s.location_ids.begin(), s.location_ids.end());
        ps->mutable_value()->Add(s.values.begin(), s.values.end());
        for (const auto& l : s.labels) {
            pb::Label* pl = ps->add_label();
            pl->set_key(strings.intern(l.key));
            if (!l.str.empty()) pl->set_str(strings.intern(l.str));
            pl->set_num(l.num);
            if (!l.num_unit.empty()) pl->set_num_unit(strings.intern(l.num_unit));
        }
    }
    for (const auto& m : p.mappings) {
        pb::Mapping* pm = out.add_mapping();
        pm->set_id(m.id);
        pm->set_memory_start(m.memory_start);
        pm->set_memory_limit(m.memory_limit);
        pm->set_file_offset(m.file_offset);
        pm->set_filename(strings.intern(m.filename));
        pm->set_build_id(strings.intern(m.build_id));
        pm->set_has_functions(m.has_functions);
        pm->set_has_filenames(m.has_filenames);
        pm->set_has_line_numbers(m.has_line_numbers);
        pm->set_has_inline_frames(m.has_inline_frames);
    }
    for (const auto& l : p.locations) {
        pb::Location* pl = out.add_location();
        pl->set_id(l.id);
        pl->set_mapping_id(l.mapping_id);
        pl->set_address(l.address);
        pl->set_is_folded(l.is_folded);
        for (const auto& line : l.lines) {
            pb::Line* pline = pl->add_line();
            pline->set_function_id(line.function_id);
            pline->set_line(line.line);
            pline->set_column(line.column);
        }
    }
    for (const auto& f : p.functions) {
        pb::Function* pf = out.add_function();
        pf->set_id(f.id);
        pf->set_name(strings.intern(f.name));
        pf->set_system_name(strings.intern(f.system_name));
        pf->set_filename(strings.intern(f.filename));
        pf->set_start_line(f.start_line);
    }
    if (!p.period_type.type.empty() || !p.period_type.unit.empty()) {
        set_value_type(out.mutable_period_type(), p.period_type, strings);
    }
    out.set_period(p.period);
    out.set_time_nanos(p.time_nanos);
    out.set_duration_nanos(p.duration_nanos);
    if (!p.default_sample_type.empty()) {
        out.set_default_sample_type(strings.intern(p.default_sample_type));
    }
    if (!p.drop_frames.empty()) out.set_drop_frames(strings.intern(p.drop_frames));
    if (!p.keep_frames.empty()) out.set_keep_frames(strings.intern(p.keep_frames));
    for (const auto& c : p.comments) out.add_comment(strings.intern(c));

    std::string bytes;
    if (!out.SerializeToString(&bytes)) {
        throw util::Error("cannot encode the profile: it is larger than the 2 GiB protobuf allows");
    }
    return bytes;
}

std::string serialize_profile(const Profile& p) {
    return gzip(encode_profile(p));
}

void write_profile(const std::filesystem::path& path, const Profile& p) {
    const std::string bytes = serialize_profile(p);
    util::AtomicFile file(path);
    file.write(bytes);
    file.commit();
}

}  // namespace leakhunt::profile
