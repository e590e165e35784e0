// Allocator names and a location's frames.
#include "symbolize/frames.hpp"

#include <algorithm>
#include <array>
#include <filesystem>

namespace leakhunt::symbolize {
namespace {

constexpr std::array<std::string_view, 16> k_allocators = {
    "malloc",         "calloc",         "realloc",         "reallocarray",
    "posix_memalign", "aligned_alloc",  "memalign",        "valloc",
    "pvalloc",        "operator new",   "operator new[]",  "__libc_malloc",
    "__libc_calloc",  "__libc_realloc", "__libc_memalign", "__posix_memalign"};

constexpr std::array<std::string_view, 9> k_runtime_modules = {
    "libc.so", "libstdc++.so", "libc++.so",     "libc++abi.so", "libgcc_s.so",
    "libm.so", "ld-linux",     "libpthread.so", "ld-musl"};

// The qualified name without a leading return type: "void std::vector<int>::push_back(...)" ->
// "std::vector<int>::push_back(...)" (a space before the first '<' or '(' ends the type).
std::string_view without_return_type(std::string_view name) {
    const size_t open = name.find_first_of("<(");
    const size_t space = name.substr(0, open).rfind(' ');
    if (space == std::string_view::npos || name.starts_with("operator")) return name;
    return name.substr(space + 1);
}

// CPython's standard library: a frozen module ("<frozen abc>") or a .py file in the interpreter's
// library directory, ".../lib/python3.N/..." (any prefix: /usr, /usr/local, a pyenv version),
// but not the packages installed there (site-packages, Debian's dist-packages).
bool is_python_standard_library(std::string_view file) {
    if (file.starts_with("<frozen ")) return true;
    if (!file.ends_with(".py")) return false;
    const size_t lib = file.find("/lib/python3.");
    if (lib == std::string_view::npos) return false;
    const std::string_view rest = file.substr(lib + 13);
    const size_t digits = rest.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string_view::npos || rest[digits] != '/') return false;
    return rest.find("/site-packages/") == std::string_view::npos &&
           rest.find("/dist-packages/") == std::string_view::npos;
}

}  // namespace

bool is_runtime_module(std::string_view module) {
    return std::any_of(k_runtime_modules.begin(), k_runtime_modules.end(),
                       [&](std::string_view m) { return module.starts_with(m); });
}

bool is_library_frame(const Frame& f, bool inlined) {
    if (is_runtime_module(f.module)) return true;
    // A Python frame (tracemalloc's: no module, a source file) of the standard library.
    if (f.module.empty() && is_python_standard_library(f.file)) return true;
    if (inlined && (f.file.starts_with("/usr/include/") ||
                    f.file.find("/include/c++/") != std::string::npos)) {
        return true;
    }
    const std::string_view name = without_return_type(f.function);
    return name.starts_with("std::") || name.starts_with("__gnu_cxx::");
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

}  // namespace leakhunt::symbolize
