// flat_by_function: samples -> leaf user frame -> rows, with the hottest line per row.
#include "symbolize/flat.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <utility>

#include "util/error.hpp"

namespace leakhunt::symbolize {
namespace {

constexpr std::array<std::string_view, 4> k_heap_types = {"inuse_space", "inuse_objects",
                                                          "alloc_space", "alloc_objects"};

constexpr std::array<std::string_view, 16> k_allocators = {
    "malloc",         "calloc",         "realloc",         "reallocarray",
    "posix_memalign", "aligned_alloc",  "memalign",        "valloc",
    "pvalloc",        "operator new",   "operator new[]",  "__libc_malloc",
    "__libc_calloc",  "__libc_realloc", "__libc_memalign", "__posix_memalign"};

constexpr std::string_view k_agent_library = "libleakhunt_agent";

bool skipped_leaf(const Frame& f) {
    return f.module.find(k_agent_library) != std::string::npos || is_allocator_function(f.function);
}

struct Accumulator {
    FlatRow row;
    std::map<std::pair<std::string, int64_t>, int64_t> by_line;  // (file, line) -> sort value
};

}  // namespace

int64_t row_value(const FlatRow& row, std::string_view sample_type) {
    if (sample_type == "inuse_space") return row.inuse_bytes;
    if (sample_type == "inuse_objects") return row.inuse_objects;
    if (sample_type == "alloc_space") return row.alloc_bytes;
    if (sample_type == "alloc_objects") return row.alloc_objects;
    return 0;
}

bool is_allocator_function(std::string_view name) {
    // "operator new(unsigned long, std::align_val_t)" -> "operator new"; "malloc@plt" -> "malloc".
    if (const size_t at = name.find('@'); at != std::string_view::npos) name = name.substr(0, at);
    if (const size_t paren = name.find('('); paren != std::string_view::npos) {
        name = name.substr(0, paren);
    }
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    // glibc's internal aliases, which libc's debug symbols often name: "__GI___libc_malloc".
    if (name.starts_with("__GI_")) name.remove_prefix(5);
    return std::find(k_allocators.begin(), k_allocators.end(), name) != k_allocators.end();
}

std::vector<Frame> location_frames(const profile::Profile& p, const profile::Location& location,
                                   Symbolizer& symbolizer) {
    const profile::Mapping* mapping = profile::find_mapping(p, location.mapping_id);
    if (location.lines.empty()) {
        if (mapping != nullptr) return symbolizer.symbolize(*mapping, location.address);
        Frame unknown;
        unknown.module_offset = location.address;
        return {unknown};
    }
    std::vector<Frame> frames;
    for (const auto& line : location.lines) {
        Frame f;
        if (const profile::Function* fn = profile::find_function(p, line.function_id)) {
            f.function = fn->name;
            f.system_name = fn->system_name;
            f.file = fn->filename;
        }
        f.line = line.line;
        if (mapping != nullptr) {
            f.module = std::filesystem::path(mapping->filename).filename().string();
            f.module_offset = location.address - mapping->memory_start + mapping->file_offset;
        } else {
            f.module_offset = location.address;
        }
        frames.push_back(std::move(f));
    }
    return frames;
}

std::vector<FlatRow> flat_by_function(const profile::Profile& p, Symbolizer& symbolizer,
                                      std::string_view sort_by, std::string_view source_name) {
    const std::optional<size_t> sort_index = profile::sample_type_index(p, sort_by);
    if (!sort_index) {
        std::string have;
        for (const auto& t : p.sample_types) have += (have.empty() ? "" : ", ") + t.type;
        throw util::Error(
            "{} has no sample type {} (it has: {}); choose one of those with "
            "--sample-index",
            source_name, sort_by, have);
    }
    std::array<std::optional<size_t>, 4> index;
    for (size_t i = 0; i < k_heap_types.size(); ++i) {
        index[i] = profile::sample_type_index(p, k_heap_types[i]);
    }

    std::map<std::pair<std::string, std::string>, Accumulator> rows;  // (name, module)
    std::vector<Frame> stack;
    for (const auto& sample : p.samples) {
        stack.clear();
        for (uint64_t id : sample.location_ids) {
            if (const profile::Location* loc = profile::find_location(p, id)) {
                auto frames = location_frames(p, *loc, symbolizer);
                stack.insert(stack.end(), frames.begin(), frames.end());
            }
        }
        if (stack.empty()) continue;
        auto leaf = std::find_if_not(stack.begin(), stack.end(), skipped_leaf);
        if (leaf == stack.end()) leaf = stack.begin();  // only allocator frames: keep the leaf

        Accumulator& acc = rows[{leaf->display_name(), leaf->module}];
        FlatRow& row = acc.row;
        if (row.function.empty()) {
            row.function = leaf->display_name();
            row.module = leaf->module;
        }
        auto value = [&](size_t i) { return index[i] ? sample.values.at(*index[i]) : 0; };
        row.inuse_bytes += value(0);
        row.inuse_objects += value(1);
        row.alloc_bytes += value(2);
        row.alloc_objects += value(3);
        acc.by_line[{leaf->file, leaf->line}] += sample.values.at(*sort_index);
    }

    std::vector<FlatRow> out;
    out.reserve(rows.size());
    for (auto& [key, acc] : rows) {
        auto hottest =
            std::max_element(acc.by_line.begin(), acc.by_line.end(),
                             [](const auto& a, const auto& b) { return a.second < b.second; });
        acc.row.file = hottest->first.first;
        acc.row.line = hottest->first.second;
        out.push_back(std::move(acc.row));
    }
    std::stable_sort(out.begin(), out.end(), [&](const FlatRow& a, const FlatRow& b) {
        return row_value(a, sort_by) > row_value(b, sort_by);
    });
    return out;
}

}  // namespace leakhunt::symbolize
