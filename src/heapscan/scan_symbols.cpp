// Symbolizing the scan file's addresses through the ELF files it names.
#include "heapscan/scan_symbols.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "symbolize/aggregate.hpp"
#include "symbolize/elf_module.hpp"
#include "symbolize/frames.hpp"
#include "symbolize/symbolizer.hpp"
#include "util/error.hpp"
#include "util/units.hpp"

namespace leakhunt::heapscan {
namespace {

std::string base_name(const std::string& path) {
    return std::filesystem::path(path).filename().string();
}

}  // namespace

std::string short_function(const std::string& name) {
    std::string out = symbolize::strip_templates_and_parameters(name);
    // A leading return type ("void std::foo") is dropped.
    if (const size_t sp = out.rfind(' ');
        sp != std::string::npos && out.find("operator") == std::string::npos) {
        out = out.substr(sp + 1);
    }
    return out.empty() ? name : out;
}

std::string SiteName::label() const {
    std::string s = via.empty() ? function : fmt::format("{} in {}", via, function);
    if (!file.empty())
        s += line > 0 ? fmt::format(" ({}:{})", file, line) : fmt::format(" ({})", file);
    return s;
}

ScanSymbols::ScanSymbols(const ScanFile& scan)
    : m_scan(scan), m_own(std::make_unique<symbolize::Symbolizer>()), m_symbolizer(*m_own) {}
ScanSymbols::ScanSymbols(const ScanFile& scan, symbolize::Symbolizer& symbolizer)
    : m_scan(scan), m_symbolizer(symbolizer) {}
ScanSymbols::~ScanSymbols() = default;

const std::vector<std::string>& ScanSymbols::warnings() const {
    return m_symbolizer.warnings();
}

const ScanModule* ScanSymbols::module_of(uint64_t address) const {
    for (const auto& m : m_scan.modules) {
        for (const auto& g : m.segments) {
            if (address >= g.start && address < g.end) return &m;
        }
    }
    return nullptr;
}

symbolize::ElfModule* ScanSymbols::elf(const ScanModule& m) {
    return m_symbolizer.module(m.path, m.build_id);
}

std::vector<symbolize::Frame> ScanSymbols::frames(uint64_t address) {
    if (auto it = m_frames.find(address); it != m_frames.end()) return it->second;
    std::vector<symbolize::Frame> out;
    const ScanModule* m = module_of(address);
    if (m != nullptr) {
        if (symbolize::ElfModule* e = elf(*m)) out = e->lookup(address - m->bias);
        for (auto& f : out) {
            f.module = base_name(m->path);
            f.module_offset = address - m->bias;
        }
    }
    if (out.empty()) {
        symbolize::Frame f;
        if (m != nullptr) {
            f.module = base_name(m->path);
            f.module_offset = address - m->bias;
        } else {
            f.module_offset = address;
        }
        out.push_back(std::move(f));
    }
    m_frames.emplace(address, out);
    return out;
}

std::vector<std::string> ScanSymbols::stack_functions(uint64_t stack_id) {
    std::vector<std::string> names;
    auto it = m_scan.stacks.find(stack_id);
    if (it == m_scan.stacks.end()) return names;
    for (uint64_t ip : it->second) {
        for (const auto& f : frames(ip)) names.push_back(f.display_name());
    }
    return names;
}

SiteName ScanSymbols::site(uint64_t stack_id) {
    SiteName s;
    auto it = m_scan.stacks.find(stack_id);
    if (it == m_scan.stacks.end() || it->second.empty()) {
        s.function = fmt::format("stack {}", stack_id);
        return s;
    }
    std::vector<symbolize::Frame> all;
    std::vector<bool> library;  // by symbolize's one rule, and the allocator's entry points
    for (uint64_t ip : it->second) {
        auto fs = frames(ip);
        for (size_t i = 0; i < fs.size(); ++i) {
            library.push_back(symbolize::is_allocator_function(fs[i].function) ||
                              symbolize::is_library_frame(fs[i], i + 1 < fs.size()));
            all.push_back(std::move(fs[i]));
        }
    }
    size_t user = 0;
    while (user < all.size() && library[user]) ++user;
    if (user == all.size()) user = 0;
    const auto& f = all[user];
    s.function = f.function.empty() ? f.display_name() : short_function(f.function);
    if (user > 0 && !all[user - 1].function.empty()) s.via = short_function(all[user - 1].function);
    s.file = base_name(f.file);
    s.line = f.line;
    return s;
}

std::string ScanSymbols::thread_name(uint64_t index) const {
    const ScanThread& t = m_scan.threads.at(index);
    std::string who = t.tid == m_scan.summary.pid ? "main, " : "";
    if (!t.name.empty()) who += fmt::format("'{}', ", t.name);
    return fmt::format("thread {} ({}tid {})", index + 1, who, t.tid);
}

std::string ScanSymbols::root(const ScanRoot& r) {
    using format::RootKind;
    switch (r.kind) {
        case RootKind::global: {
            const ScanModule& m = m_scan.modules.at(r.owner);
            const uint64_t vaddr = r.address - m.bias;
            if (symbolize::ElfModule* e = elf(m)) {
                if (auto sym = e->data_symbol(vaddr)) {
                    if (!sym->file.empty()) {
                        return fmt::format("global {} ({}) at {}:{}", sym->name, base_name(m.path),
                                           base_name(sym->file), sym->line);
                    }
                    return fmt::format("global {} ({})", sym->name, base_name(m.path));
                }
            }
            // No symbol says which variable holds the slot: the slot itself.
            return fmt::format("global data at {}+{:#x}", base_name(m.path), vaddr);
        }
        case RootKind::tls: {
            if (r.tls_module == 0) {
                return fmt::format(
                    "thread control block of {} (pthread_setspecific values, "
                    "dynamic TLS, a thread's argument and result)",
                    thread_name(r.owner));
            }
            const ScanModule& m = m_scan.modules.at(r.tls_module - 1);
            if (symbolize::ElfModule* e = elf(m)) {
                if (auto sym = e->tls_symbol(r.address)) {
                    return fmt::format("TLS {} ({}) of {}", sym->name, base_name(m.path),
                                       thread_name(r.owner));
                }
            }
            return fmt::format("TLS of {} ({} TLS block +{:#x})", thread_name(r.owner),
                               base_name(m.path), r.address);
        }
        case RootKind::registers:
            return fmt::format("registers of {}", thread_name(r.owner));
        case RootKind::mapping:
            return fmt::format(
                "anonymous mapping {:#x}-{:#x} ({}, mapped by the program: a "
                "runtime's heap or its own arena)",
                r.address, r.pc, util::format_bytes(static_cast<double>(r.pc - r.address)));
        case RootKind::loader:
            return "the dynamic loader's own blocks (DTVs, dlopen scopes)";
        case RootKind::stack: {
            // The slot's frame, or, when that is the C library's (a callee-saved register spilled
            // by clock_nanosleep, say), the first caller in the program's own code.
            std::vector<uint64_t> chain;
            if (r.pc != 0) chain.push_back(r.pc);
            chain.insert(chain.end(), r.callers.begin(), r.callers.end());
            std::string where, inner;
            for (size_t i = 0; i < chain.size() && where.empty(); ++i) {
                const auto fs = frames(chain[i]);
                const auto& f = fs.back();  // the outermost function: inlined helpers fold into it
                const std::string name =
                    f.function.empty() ? f.display_name() : short_function(f.function);
                if (symbolize::is_runtime_module(f.module) && i + 1 < chain.size()) {
                    if (inner.empty()) inner = name;
                    continue;
                }
                where = name;
                if (!fs.front().file.empty() && fs.front().line > 0) {
                    where += fmt::format(" ({}:{})", base_name(fs.front().file), fs.front().line);
                }
                if (!inner.empty())
                    where +=
                        fmt::format(" (the slot is in the frame of {}, which it called)", inner);
            }
            return where.empty() ? fmt::format("stack of {}", thread_name(r.owner))
                                 : fmt::format("stack of {} in {}", thread_name(r.owner), where);
        }
    }
    return "unknown root";
}

}  // namespace leakhunt::heapscan
