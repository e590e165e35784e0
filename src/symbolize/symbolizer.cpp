// Symbolizer: mapping -> ElfModule (opened once per file and build ID) -> cached frames.
#include "symbolize/symbolizer.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>

#include "symbolize/elf_module.hpp"
#include "util/error.hpp"

namespace leakhunt::symbolize {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// "[vdso]", "[heap]", "" and other pseudo files have no ELF on disk.
bool is_pseudo_file(const std::string& filename) {
    return filename.empty() || filename.front() == '[' || filename.rfind("/memfd:", 0) == 0 ||
           filename.rfind("//anon", 0) == 0;
}

}  // namespace

Symbolizer::Symbolizer() = default;
Symbolizer::~Symbolizer() = default;

Symbolizer::ModuleEntry& Symbolizer::entry_for(const std::string& path,
                                               const std::string& build_id) {
    auto key = std::make_pair(path, lower(build_id));
    auto [it, inserted] = m_modules.try_emplace(key);
    ModuleEntry& entry = it->second;
    if (!inserted) return entry;
    try {
        auto module = std::make_unique<ElfModule>(path);
        if (!key.second.empty() && !module->build_id().empty() &&
            module->build_id() != key.second) {
            m_warnings.push_back(fmt::format(
                "{} has build ID {} but the profile or scan recorded {}: the file changed since "
                "it was taken, so its frames are left unsymbolized (read it on the host and "
                "build that ran the program)",
                path, module->build_id(), key.second));
        } else {
            entry.module = std::move(module);
        }
    } catch (const util::Error& e) {
        m_warnings.emplace_back(e.what());
    }
    return entry;
}

ElfModule* Symbolizer::module(const std::string& path, const std::string& build_id) {
    return entry_for(path, build_id).module.get();
}

std::vector<Frame> Symbolizer::symbolize(const profile::Mapping& mapping, uint64_t address) {
    const uint64_t offset = address - mapping.memory_start + mapping.file_offset;
    const std::string module_name = std::filesystem::path(mapping.filename).filename().string();
    Frame unknown;
    unknown.module = module_name;
    unknown.module_offset = offset;
    if (is_pseudo_file(mapping.filename)) {
        if (mapping.filename.empty()) unknown.module_offset = address;
        return {unknown};
    }
    ModuleEntry& entry = entry_for(mapping.filename, mapping.build_id);
    if (!entry.module) return {unknown};
    auto [cached, inserted] = entry.frames.try_emplace(offset);
    if (inserted) {
        std::vector<Frame> found;
        if (auto vaddr = entry.module->vaddr_of_offset(offset))
            found = entry.module->lookup(*vaddr);
        cached->second.reserve(std::max<size_t>(found.size(), 1));
        for (const auto& f : found) {
            cached->second.push_back(
                {intern(f.function), intern(f.system_name), intern(f.file), f.line});
        }
        if (found.empty()) cached->second.push_back({});
    }
    std::vector<Frame> frames;
    frames.reserve(cached->second.size());
    for (const auto& c : cached->second) {
        Frame& f = frames.emplace_back();
        f.function = m_strings[c.function];
        f.system_name = m_strings[c.system_name];
        f.file = m_strings[c.file];
        f.line = c.line;
        f.module = module_name;
        f.module_offset = offset;
    }
    return frames;
}

uint32_t Symbolizer::intern(const std::string& s) {
    auto it = m_string_ids.find(std::string_view(s));
    if (it != m_string_ids.end()) return it->second;
    const auto id = static_cast<uint32_t>(m_strings.size());
    m_strings.push_back(s);
    m_string_ids.emplace(std::string_view(m_strings.back()), id);
    return id;
}

}  // namespace leakhunt::symbolize
