// Heap profile decoding: gunzip, a format probe (the text heap formats go to legacy_heap.hpp),
// protobuf parse, then a checked conversion into the model that resolves every string index and
// renumbers ids densely. The protobuf classes never leave this file.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/arena.h>

#include "profile.pb.h"
#include "profile/fetch.hpp"
#include "profile/gzip.hpp"
#include "profile/legacy_heap.hpp"
#include "profile/pprof.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::profile {
namespace {

namespace pb = perftools::profiles;

// Old id -> dense new id for one kind of entity (mapping, location, function). Producers
// almost always number ids 1..n, so ids up to twice the entity count are looked up in a vector
// (0 there: no such id) and only larger ones in a hash map.
class IdMap {
  public:
    IdMap(std::string_view source, std::string_view kind, size_t count)
        : m_source(source), m_kind(kind), m_direct(2 * count + 1, 0) {}

    // Registers the next entity's id; returns its new id.
    uint64_t add(uint64_t old_id) {
        if (old_id == 0) {
            throw util::Error(
                "cannot read {}: a {} has id 0, which pprof does not allow (the "
                "file is corrupt or was written by a broken producer)",
                m_source, m_kind);
        }
        const uint64_t new_id = ++m_count;
        const bool inserted = old_id < m_direct.size()
                                  ? std::exchange(m_direct[old_id], new_id) == 0
                                  : m_ids.emplace(old_id, new_id).second;
        if (!inserted) {
            throw util::Error(
                "cannot read {}: two {}s have the same id {} (the file is corrupt "
                "or was written by a broken producer)",
                m_source, m_kind, old_id);
        }
        return new_id;
    }

    // The new id of a reference found in `where`; throws if no such entity exists.
    uint64_t at(uint64_t old_id, std::string_view where) const {
        if (old_id < m_direct.size() && m_direct[old_id] != 0) return m_direct[old_id];
        if (old_id >= m_direct.size()) {
            const auto it = m_ids.find(old_id);
            if (it != m_ids.end()) return it->second;
        }
        throw util::Error(
            "cannot read {}: {} refers to {} id {}, which does not exist (the "
            "file is corrupt or was written by a broken producer)",
            m_source, where, m_kind, old_id);
    }

  private:
    std::string_view m_source;
    std::string_view m_kind;
    uint64_t m_count = 0;
    std::vector<uint64_t> m_direct;                // old id -> new id, for old ids < its size
    std::unordered_map<uint64_t, uint64_t> m_ids;  // the larger old ids
};

class Converter {
  public:
    Converter(const pb::Profile& in, std::string_view source)
        : m_in(in),
          m_source(source),
          m_mapping_ids(source, "mapping", static_cast<size_t>(in.mapping_size())),
          m_location_ids(source, "location", static_cast<size_t>(in.location_size())),
          m_function_ids(source, "function", static_cast<size_t>(in.function_size())) {}

    Profile convert() {
        check_string_table();
        Profile out;
        if (m_in.sample_type_size() == 0) {
            throw util::Error(
                "cannot read {}: it has no sample types, so its values mean "
                "nothing (is it a pprof profile? take the profile again)",
                m_source);
        }
        for (const auto& vt : m_in.sample_type())
            out.sample_types.push_back(value_type(vt, "sample_type"));
        if (m_in.has_period_type()) out.period_type = value_type(m_in.period_type(), "period_type");
        out.period = m_in.period();
        out.time_nanos = m_in.time_nanos();
        out.duration_nanos = m_in.duration_nanos();
        out.default_sample_type = str(m_in.default_sample_type(), "default_sample_type");
        out.drop_frames = str(m_in.drop_frames(), "drop_frames");
        out.keep_frames = str(m_in.keep_frames(), "keep_frames");
        for (int64_t c : m_in.comment()) out.comments.push_back(str(c, "comment"));

        out.mappings.reserve(static_cast<size_t>(m_in.mapping_size()));
        for (const auto& m : m_in.mapping()) out.mappings.push_back(mapping(m));
        out.functions.reserve(static_cast<size_t>(m_in.function_size()));
        for (const auto& f : m_in.function()) out.functions.push_back(function(f));
        out.locations.reserve(static_cast<size_t>(m_in.location_size()));
        for (const auto& l : m_in.location()) out.locations.push_back(location(l));
        out.samples.reserve(static_cast<size_t>(m_in.sample_size()));
        for (const auto& s : m_in.sample())
            out.samples.push_back(sample(s, out.sample_types.size()));
        return out;
    }

  private:
    void check_string_table() const {
        if (m_in.string_table_size() == 0 || !m_in.string_table(0).empty()) {
            throw util::Error(
                "cannot read {}: its string table does not start with the empty "
                "string as pprof requires (the file is corrupt or not a pprof "
                "profile)",
                m_source);
        }
    }

    const std::string& str(int64_t index, std::string_view field) const {
        if (index < 0 || index >= m_in.string_table_size()) {
            throw util::Error(
                "cannot read {}: {} refers to string {}, but the string table has "
                "{} entries (the file is corrupt)",
                m_source, field, index, m_in.string_table_size());
        }
        return m_in.string_table(static_cast<int>(index));
    }

    ValueType value_type(const pb::ValueType& vt, std::string_view field) const {
        return {str(vt.type(), field), str(vt.unit(), field)};
    }

    Mapping mapping(const pb::Mapping& in) {
        Mapping m;
        m.id = m_mapping_ids.add(in.id());
        m.memory_start = in.memory_start();
        m.memory_limit = in.memory_limit();
        m.file_offset = in.file_offset();
        m.filename = str(in.filename(), "a mapping's filename");
        m.build_id = str(in.build_id(), "a mapping's build_id");
        m.has_functions = in.has_functions();
        m.has_filenames = in.has_filenames();
        m.has_line_numbers = in.has_line_numbers();
        m.has_inline_frames = in.has_inline_frames();
        return m;
    }

    Function function(const pb::Function& in) {
        Function f;
        f.id = m_function_ids.add(in.id());
        f.name = str(in.name(), "a function's name");
        f.system_name = str(in.system_name(), "a function's system_name");
        f.filename = str(in.filename(), "a function's filename");
        f.start_line = in.start_line();
        return f;
    }

    Location location(const pb::Location& in) {
        Location l;
        l.id = m_location_ids.add(in.id());
        if (in.mapping_id() != 0) l.mapping_id = m_mapping_ids.at(in.mapping_id(), "a location");
        l.address = in.address();
        l.is_folded = in.is_folded();
        l.lines.reserve(static_cast<size_t>(in.line_size()));
        for (const auto& line : in.line()) {
            Line out;
            if (line.function_id() != 0) {
                out.function_id = m_function_ids.at(line.function_id(), "a location's line");
            }
            out.line = line.line();
            out.column = line.column();
            l.lines.push_back(out);
        }
        return l;
    }

    Sample sample(const pb::Sample& in, size_t value_count) const {
        if (static_cast<size_t>(in.value_size()) != value_count) {
            throw util::Error(
                "cannot read {}: a sample has {} values but the profile has {} "
                "sample types (the file is corrupt)",
                m_source, in.value_size(), value_count);
        }
        Sample s;
        s.values.assign(in.value().begin(), in.value().end());
        s.location_ids.reserve(static_cast<size_t>(in.location_id_size()));
        for (uint64_t id : in.location_id())
            s.location_ids.push_back(m_location_ids.at(id, "a sample"));
        for (const auto& label : in.label()) {
            s.labels.push_back({str(label.key(), "a label's key"),
                                str(label.str(), "a label's str"), label.num(),
                                str(label.num_unit(), "a label's num_unit")});
        }
        return s;
    }

    const pb::Profile& m_in;
    std::string_view m_source;
    IdMap m_mapping_ids;
    IdMap m_location_ids;
    IdMap m_function_ids;
};

// The start of `bytes` as a short printable string for an error message.
std::string starts_with_excerpt(std::string_view bytes) {
    std::string out;
    for (char c : bytes.substr(0, 24)) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u >= 0x20 && u < 0x7f) {
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += fmt::format("\\x{:02x}", u);
        }
    }
    return out;
}

// True when the first bytes look like text: a protobuf Profile starts with a field key and a
// length, which are control bytes, so a text start cannot be a pprof profile.
bool looks_like_text(std::string_view bytes) {
    const std::string_view head = bytes.substr(0, 32);
    return std::all_of(head.begin(), head.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u >= 0x20 && u < 0x7f) || c == '\n' || c == '\r' || c == '\t';
    });
}

}  // namespace

Profile parse_profile(std::string_view bytes, std::string_view source_name) {
    if (bytes.empty()) {
        throw util::Error(
            "cannot read {}: the file is empty (expected a heap profile; take the "
            "profile again)",
            source_name);
    }
    std::string inflated;
    if (is_gzip(bytes)) {
        inflated = gunzip(bytes, source_name);
        bytes = inflated;
        if (bytes.empty()) {
            throw util::Error(
                "cannot read {}: it decompresses to nothing (expected a heap "
                "profile; take the profile again)",
                source_name);
        }
    }
    if (is_legacy_heap(bytes)) return parse_legacy_heap(bytes, source_name);
    if (looks_like_text(bytes)) {
        throw util::Error(
            "cannot read {}: not a heap profile leakhunt can read (expected pprof protobuf, "
            "gzip-compressed or raw, a gperftools heap profile or a jemalloc heap_v2 profile; "
            "the file starts with \"{}\")",
            source_name, starts_with_excerpt(bytes));
    }
    if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
        throw util::Error(
            "cannot read {}: the profile is larger than 2 GiB, which protobuf "
            "cannot parse",
            source_name);
    }
    // An arena makes the 100,000s of sample messages one bump allocation each and frees them all
    // at once, instead of a malloc and a free per repeated field.
    google::protobuf::ArenaOptions arena_options;
    arena_options.start_block_size = size_t{1} << 20;
    arena_options.max_block_size = size_t{16} << 20;
    google::protobuf::Arena arena(arena_options);
    pb::Profile& message = *google::protobuf::Arena::CreateMessage<pb::Profile>(&arena);
    if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        throw util::Error(
            "cannot read {}: it is not a pprof profile (the protobuf data is "
            "invalid or truncated; pass a .pb.gz file written by the agent, Go's "
            "runtime/pprof or another pprof producer, or a gperftools/jemalloc heap profile; "
            "the file starts with \"{}\")",
            source_name, starts_with_excerpt(bytes));
    }
    return Converter(message, source_name).convert();
}

Profile read_profile(const std::filesystem::path& path) {
    if (is_url(path.native())) return load_profile(path.native());
    const std::string bytes = util::read_file(path);
    return parse_profile(bytes, path.string());
}

}  // namespace leakhunt::profile
