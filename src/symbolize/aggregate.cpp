// aggregate: every location's frames are resolved once into interned row keys and flags (agent,
// allocator, library, focus, ignore); each sample then costs a walk over small integers, so that
// profiles of 100,000 samples aggregate in well under a second. A function's flags and row are
// computed once per (mapping, function, inlined) and reused for its other locations, so that
// strings are built and hashed per function rather than per location.
#include "symbolize/aggregate.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <regex>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "symbolize/frames.hpp"
#include "util/error.hpp"
#include "util/function_name.hpp"

namespace leakhunt::symbolize {
namespace {

constexpr std::string_view k_agent_library = "libleakhunt_agent";
constexpr uint32_t k_none = UINT32_MAX;

constexpr std::array<std::string_view, 4> k_heap_types = {"inuse_space", "inuse_objects",
                                                          "alloc_space", "alloc_objects"};

std::string module_name(const Frame& f) {
    return f.module.empty() ? "[unknown]" : f.module;
}

// One frame of one location, resolved to what the sample loop needs.
struct FrameInfo {
    uint32_t row = 0;          // interned row key for the chosen granularity
    uint32_t line = 0;         // interned (file, line) of the frame
    uint32_t callee = k_none;  // interned short callee name, for the frame below a site
    bool agent = false;
    bool skipped = false;  // agent or allocator entry point
    bool library = false;
    bool focus = false;
    bool ignore = false;
};

// A hash for the memo tables keyed by two integers (ids, indexes, line numbers).
struct PairHash {
    size_t operator()(const std::pair<uint64_t, int64_t>& k) const noexcept {
        uint64_t h = k.first * 0x9e3779b97f4a7c15ULL ^ static_cast<uint64_t>(k.second);
        h ^= h >> 31;
        h *= 0xbf58476d1ce4e5b9ULL;
        return static_cast<size_t>(h ^ (h >> 29));
    }
};
using PairMap = std::unordered_map<std::pair<uint64_t, int64_t>, uint32_t, PairHash>;

class Builder {
  public:
    Builder(const profile::Profile& p, Symbolizer& symbolizer, const AggregateOptions& options)
        : m_profile(p), m_symbolizer(symbolizer), m_options(options) {
        try {
            if (!options.focus.empty()) m_focus.emplace(options.focus);
            if (!options.ignore.empty()) m_ignore.emplace(options.ignore);
        } catch (const std::regex_error& e) {
            throw util::UsageError("--focus/--ignore: not a valid regular expression ({}): {}",
                                   e.what(), m_focus ? options.ignore : options.focus);
        }
        for (size_t i = 0; i < p.locations.size() && m_dense; ++i) {
            m_dense = p.locations[i].id == i + 1;
        }
        if (!m_dense) {
            for (size_t i = 0; i < p.locations.size(); ++i) {
                m_location_index.emplace(p.locations[i].id, i);
            }
        }
        m_location_begin.reserve(p.locations.size() + 1);
        m_frames.reserve(p.locations.size());
        m_line_ids.reserve(p.locations.size());
        for (const auto& location : p.locations) {
            m_location_begin.push_back(static_cast<uint32_t>(m_frames.size()));
            resolve(location);
        }
        m_location_begin.push_back(static_cast<uint32_t>(m_frames.size()));
    }

    Aggregate run(size_t sort_index) {
        std::array<std::optional<size_t>, 4> index;
        for (size_t i = 0; i < k_heap_types.size(); ++i) {
            index[i] = profile::sample_type_index(m_profile, k_heap_types[i]);
        }
        const bool heap_type = std::find(k_heap_types.begin(), k_heap_types.end(),
                                         m_options.sort_by) != k_heap_types.end();
        Aggregate out;
        // Its row must exist before the tables below are sized (a row no sample uses is not shown).
        unknown_frame();
        std::vector<HeapValues> flat(m_rows.size());
        std::vector<HeapValues> cum(m_rows.size());
        std::vector<size_t> stamp(m_rows.size(), SIZE_MAX);
        std::unordered_map<uint64_t, int64_t> line_weight;    // row << 32 | line
        std::unordered_map<uint64_t, int64_t> callee_weight;  // row << 32 | callee
        line_weight.reserve(m_lines.size());
        std::vector<const FrameInfo*> stack;
        for (size_t s = 0; s < m_profile.samples.size(); ++s) {
            const profile::Sample& sample = m_profile.samples[s];
            stack.clear();
            for (uint64_t id : sample.location_ids) {
                const size_t i = location_index(id);
                if (i == SIZE_MAX) continue;
                for (uint32_t k = m_location_begin[i]; k < m_location_begin[i + 1]; ++k) {
                    stack.push_back(&m_frames[k]);
                }
            }
            if (stack.empty()) stack.push_back(&unknown_frame());
            if (m_focus &&
                std::none_of(stack.begin(), stack.end(), [](auto f) { return f->focus; })) {
                ++out.samples_dropped;
                continue;
            }
            if (m_ignore &&
                std::any_of(stack.begin(), stack.end(), [](auto f) { return f->ignore; })) {
                ++out.samples_dropped;
                continue;
            }
            ++out.samples;
            auto value = [&](size_t i) { return index[i] ? sample.values.at(*index[i]) : 0; };
            const HeapValues v{value(0), value(1), value(2), value(3),
                               heap_type ? 0 : sample.values.at(sort_index)};
            out.total += v;

            const size_t site = site_of(stack);
            const FrameInfo& sf = *stack[site];
            flat[sf.row] += v;
            const int64_t weight = sample.values.at(sort_index);
            line_weight[(uint64_t{sf.row} << 32) | sf.line] += weight;
            if (site > 0 && stack[site - 1]->callee != k_none) {
                callee_weight[(uint64_t{sf.row} << 32) | stack[site - 1]->callee] += weight;
            }
            for (const FrameInfo* f : stack) {
                if (f->agent || stamp[f->row] == s) continue;
                stamp[f->row] = s;
                cum[f->row] += v;
            }
        }

        // The heaviest line and callee of each row; ties go to the first (file, line) in order.
        std::vector<std::pair<int64_t, uint32_t>> best_line(m_rows.size(), {0, k_none});
        for (const auto& [key, w] : line_weight) {
            auto& best = best_line[key >> 32];
            const auto line = static_cast<uint32_t>(key & 0xffffffffU);
            if (best.second == k_none || w > best.first ||
                (w == best.first && m_lines[line] < m_lines[best.second])) {
                best = {w, line};
            }
        }
        std::vector<std::pair<int64_t, uint32_t>> best_callee(m_rows.size(), {0, k_none});
        for (const auto& [key, w] : callee_weight) {
            auto& best = best_callee[key >> 32];
            const auto callee = static_cast<uint32_t>(key & 0xffffffffU);
            if (best.second == k_none || w > best.first ||
                (w == best.first && m_callees[callee] < m_callees[best.second])) {
                best = {w, callee};
            }
        }
        for (size_t r = 0; r < m_rows.size(); ++r) {
            if (stamp[r] == SIZE_MAX) continue;  // on no kept sample's stack
            AggregateRow row = m_rows[r];
            row.flat = flat[r];
            row.cum = cum[r];
            if (m_options.by == Granularity::function && best_line[r].second != k_none) {
                std::tie(row.file, row.line) = m_lines[best_line[r].second];
            }
            if (best_callee[r].second != k_none) row.callee = m_callees[best_callee[r].second];
            out.rows.push_back(std::move(row));
        }
        sort_rows(out.rows, m_options.sort_by, SortKey::flat);
        return out;
    }

  private:
    // A function's frames resolved once per (mapping, function, inlined or not): everything of
    // a FrameInfo but the line (and, by line, the row), which come from the line number.
    struct FunctionEntry {
        FrameInfo info;
        uint32_t file = 0;  // interned source file
    };

    // The allocation site: the first frame past the agent and allocator entry points, then past
    // library code when a frame of the user's code follows.
    static size_t site_of(const std::vector<const FrameInfo*>& stack) {
        size_t first = 0;
        while (first < stack.size() && stack[first]->skipped) ++first;
        if (first == stack.size()) return 0;  // only allocator frames: keep the leaf
        size_t user = first;
        while (user < stack.size() && stack[user]->library) ++user;
        return user == stack.size() ? first : user;
    }

    // The frame of a sample with no frames: the row k_unknown_row.
    const FrameInfo& unknown_frame() {
        if (!m_unknown) {
            Frame f;
            f.function = std::string(k_unknown_row);
            m_unknown = frame_info(f, false);
        }
        return *m_unknown;
    }

    // The index of location `id` in the profile, or SIZE_MAX.
    size_t location_index(uint64_t id) const {
        if (m_dense) return id >= 1 && id <= m_profile.locations.size() ? id - 1 : SIZE_MAX;
        const auto it = m_location_index.find(id);
        return it == m_location_index.end() ? SIZE_MAX : it->second;
    }

    // Appends the location's frames to m_frames. Lines of a known, named function take the
    // memoized path; anything else (unsymbolized, unknown function) is resolved from its Frame.
    void resolve(const profile::Location& location) {
        std::vector<Frame> frames;  // location_frames(), made on first need
        if (location.lines.empty()) {
            frames = location_frames(m_profile, location, m_symbolizer);
            for (size_t j = 0; j < frames.size(); ++j) {
                m_frames.push_back(frame_info(frames[j], j + 1 < frames.size()));
            }
            return;
        }
        for (size_t j = 0; j < location.lines.size(); ++j) {
            const bool inlined = j + 1 < location.lines.size();
            const profile::Line& line = location.lines[j];
            const profile::Function* fn = profile::find_function(m_profile, line.function_id);
            if (fn == nullptr || fn->name.empty()) {
                if (frames.empty()) frames = location_frames(m_profile, location, m_symbolizer);
                m_frames.push_back(frame_info(frames[j], inlined));
                continue;
            }
            const size_t slot =
                static_cast<size_t>(fn - m_profile.functions.data()) * 2 + (inlined ? 1 : 0);
            const auto [entry_id, inserted] = function_entry(slot, location.mapping_id);
            if (inserted) {
                // The first frame of this function makes its rows, exactly as the slow path does.
                if (frames.empty()) frames = location_frames(m_profile, location, m_symbolizer);
                const FrameInfo info = frame_info(frames[j], inlined);
                m_function_entries.push_back({info, intern_file(frames[j].file)});
                m_line_rows.emplace(std::pair<uint64_t, int64_t>{entry_id, line.line}, info.row);
                m_frames.push_back(info);
                continue;
            }
            const FunctionEntry& entry = m_function_entries[entry_id];
            FrameInfo info = entry.info;
            info.line = intern_line(entry.file, line.line);
            if (m_options.by == Granularity::line) {
                auto [row, new_row] =
                    m_line_rows.try_emplace(std::pair<uint64_t, int64_t>{entry_id, line.line}, 0);
                if (new_row) {
                    if (frames.empty()) frames = location_frames(m_profile, location, m_symbolizer);
                    row->second = intern_row(frames[j], frames[j].display_name());
                }
                info.row = row->second;
            }
            m_frames.push_back(info);
        }
    }

    // The entry of (function slot, mapping) and whether it is new (the caller fills it in). Most
    // functions live in one mapping: the first one seen is kept in an array by slot, others in
    // a hash map.
    std::pair<uint32_t, bool> function_entry(size_t slot, uint64_t mapping_id) {
        const auto next = static_cast<uint32_t>(m_function_entries.size());
        if (m_first_entry.empty()) {
            m_first_entry.resize(m_profile.functions.size() * 2, {0, k_none});
        }
        auto& first = m_first_entry[slot];
        if (first.second == k_none) {
            first = {mapping_id, next};
            return {next, true};
        }
        if (first.first == mapping_id) return {first.second, false};
        const auto [it, inserted] =
            m_function_entry_ids.try_emplace({mapping_id, static_cast<int64_t>(slot)}, next);
        return {it->second, inserted};
    }

    FrameInfo frame_info(const Frame& f, bool inlined) {
        FrameInfo info;
        const std::string display = f.display_name();
        info.agent = f.module.find(k_agent_library) != std::string::npos;
        info.skipped = info.agent || is_allocator_function(f.function);
        info.library = is_library_frame(f, inlined);
        if (!f.function.empty() && (!info.agent || is_allocator_function(f.function))) {
            info.callee = intern_callee(f.function);
        }
        info.focus = m_focus && std::regex_search(display, *m_focus);
        info.ignore = m_ignore && std::regex_search(display, *m_ignore);
        info.line = intern_line(intern_file(f.file), f.line);
        info.row = intern_row(f, display);
        return info;
    }

    uint32_t intern_file(const std::string& file) {
        const auto [it, inserted] =
            m_file_ids.try_emplace(file, static_cast<uint32_t>(m_files.size()));
        if (inserted) m_files.push_back(file);
        return it->second;
    }

    uint32_t intern_line(uint32_t file, int64_t line) {
        const auto [it, inserted] =
            m_line_ids.try_emplace({file, line}, static_cast<uint32_t>(m_lines.size()));
        if (inserted) m_lines.emplace_back(m_files[file], line);
        return it->second;
    }

    uint32_t intern_row(const Frame& f, const std::string& display) {
        AggregateRow row;
        row.module = f.module;
        std::string key;
        switch (m_options.by) {
            case Granularity::function:
                row.name = row.function = display;
                row.file = f.file;
                row.line = f.line;
                key = display + '\0' + f.module;
                break;
            case Granularity::line:
                row.function = display;
                row.file = f.file;
                row.line = f.line;
                row.name = f.file.empty() ? display
                           : f.line == 0  ? fmt::format("{} {}", display, f.file)
                                          : fmt::format("{} {}:{}", display, f.file, f.line);
                key = row.name + '\0' + f.module;
                break;
            case Granularity::file:
                row.file = f.file;
                row.name = f.file.empty() ? module_name(f) : f.file;
                key = row.name;
                break;
            case Granularity::module:
                row.name = module_name(f);
                key = row.name;
                break;
        }
        const auto [it, inserted] =
            m_row_ids.try_emplace(key, static_cast<uint32_t>(m_rows.size()));
        if (inserted) m_rows.push_back(std::move(row));
        return it->second;
    }

    uint32_t intern_callee(const std::string& function) {
        const auto found = m_callee_by_function.find(function);
        if (found != m_callee_by_function.end()) return found->second;
        const auto [it, inserted] = m_callee_ids.try_emplace(
            short_callee(function), static_cast<uint32_t>(m_callees.size()));
        if (inserted) m_callees.push_back(it->first);
        m_callee_by_function.emplace(function, it->second);
        return it->second;
    }

    const profile::Profile& m_profile;
    Symbolizer& m_symbolizer;
    const AggregateOptions& m_options;
    std::optional<std::regex> m_focus;
    std::optional<std::regex> m_ignore;
    bool m_dense = true;  // locations[i].id == i + 1 for all i (m_location_index unused)
    std::unordered_map<uint64_t, size_t> m_location_index;
    std::vector<uint32_t> m_location_begin;  // location i's frames: [begin[i], begin[i + 1])
    std::vector<FrameInfo> m_frames;
    std::optional<FrameInfo> m_unknown;  // see unknown_frame()
    // Function slot (index * 2 + inlined) -> (mapping id, entry) of the first mapping seen;
    // (mapping id, slot) -> entry for any other mapping.
    std::vector<std::pair<uint64_t, uint32_t>> m_first_entry;
    PairMap m_function_entry_ids;
    std::vector<FunctionEntry> m_function_entries;
    PairMap m_line_rows;  // (entry, line) -> row, for Granularity::line
    std::unordered_map<std::string, uint32_t> m_row_ids;
    std::vector<AggregateRow> m_rows;
    std::unordered_map<std::string, uint32_t> m_file_ids;
    std::vector<std::string> m_files;
    PairMap m_line_ids;  // (file, line) -> index in m_lines
    std::vector<std::pair<std::string, int64_t>> m_lines;
    std::map<std::string, uint32_t> m_callee_ids;
    std::vector<std::string> m_callees;
    std::unordered_map<std::string, uint32_t> m_callee_by_function;
};

}  // namespace

std::optional<Granularity> parse_granularity(std::string_view name) {
    if (name == "function") return Granularity::function;
    if (name == "line") return Granularity::line;
    if (name == "file") return Granularity::file;
    if (name == "module") return Granularity::module;
    return std::nullopt;
}

int64_t HeapValues::get(std::string_view sample_type) const {
    if (sample_type == "inuse_space") return inuse_bytes;
    if (sample_type == "inuse_objects") return inuse_objects;
    if (sample_type == "alloc_space") return alloc_bytes;
    if (sample_type == "alloc_objects") return alloc_objects;
    return sample_type.empty() ? 0 : other;
}

HeapValues& HeapValues::operator+=(const HeapValues& o) {
    inuse_bytes += o.inuse_bytes;
    inuse_objects += o.inuse_objects;
    alloc_bytes += o.alloc_bytes;
    alloc_objects += o.alloc_objects;
    other += o.other;
    return *this;
}

HeapValues& HeapValues::operator-=(const HeapValues& o) {
    inuse_bytes -= o.inuse_bytes;
    inuse_objects -= o.inuse_objects;
    alloc_bytes -= o.alloc_bytes;
    alloc_objects -= o.alloc_objects;
    other -= o.other;
    return *this;
}

std::string strip_templates_and_parameters(std::string_view name) {
    std::string out;
    int depth = 0;
    for (const char c : util::without_parameters(name)) {
        // "operator<", "operator<<" and "operator->" are names, not template brackets.
        const std::string_view sofar = out;
        if ((c == '<' || c == '>') &&
            (sofar.ends_with("operator") || sofar.ends_with("operator<") ||
             sofar.ends_with("operator>") || sofar.ends_with("operator-"))) {
            out += c;
            continue;
        }
        if (c == '<') {
            ++depth;
        } else if (c == '>') {
            if (depth > 0) --depth;
        } else if (depth == 0) {
            out += c;
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::string short_callee(std::string_view function) {
    std::string name = strip_templates_and_parameters(function);
    if (is_allocator_function(function)) {
        return name.starts_with("__GI_") ? name.substr(5) : name;
    }
    if (!name.starts_with("std::")) return name;
    // std::__cxx11::basic_string::_M_create -> the class: the first component after std:: and
    // the inline namespaces (__cxx11, __detail), with the implementation names users know.
    std::vector<std::string> parts;
    for (size_t pos = 0; pos <= name.size();) {
        const size_t next = name.find("::", pos);
        parts.push_back(
            name.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
        if (next == std::string::npos) break;
        pos = next + 2;
    }
    size_t i = 1;
    while (i + 1 < parts.size() && (parts[i] == "__cxx11" || parts[i] == "__detail" ||
                                    parts[i] == "__cxx1998" || parts[i] == "__1")) {
        ++i;
    }
    const std::string& cls = parts[std::min(i, parts.size() - 1)];
    static const std::map<std::string, std::string, std::less<>> k_known = {
        {"basic_string", "string"},    {"_Hashtable", "unordered_map"},
        {"_Rb_tree", "map"},           {"_Vector_base", "vector"},
        {"_Deque_base", "deque"},      {"__new_allocator", "allocator"},
        {"_List_base", "list"},        {"__shared_count", "shared_ptr"},
        {"_Function_base", "function"}};
    const auto known = k_known.find(cls);
    return "std::" + (known != k_known.end() ? known->second : cls);
}

void sort_rows(std::vector<AggregateRow>& rows, std::string_view sample_type, SortKey key) {
    std::sort(rows.begin(), rows.end(), [&](const AggregateRow& a, const AggregateRow& b) {
        const int64_t va = (key == SortKey::flat ? a.flat : a.cum).get(sample_type);
        const int64_t vb = (key == SortKey::flat ? b.flat : b.cum).get(sample_type);
        if (va != vb) return va > vb;
        return a.name < b.name;
    });
}

Aggregate aggregate(const profile::Profile& p, Symbolizer& symbolizer,
                    const AggregateOptions& options, std::string_view source_name) {
    const std::optional<size_t> sort_index = profile::sample_type_index(p, options.sort_by);
    if (!sort_index) {
        throw util::Error(
            "{} has no sample type {} (it has: {}); choose one of those with --sample-index",
            source_name, options.sort_by, profile::sample_type_names(p));
    }
    return Builder(p, symbolizer, options).run(*sort_index);
}

}  // namespace leakhunt::symbolize
