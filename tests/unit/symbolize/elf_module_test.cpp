// Tests for ElfModule::lookup's per-CU index against its oracle, lookup_by_scopes (libdw's own
// dwarf_getscopes walk): the same frames, field by field, for hundreds of random addresses of
// this test binary's code (PIE, DWARF with gtest's and fmt's inlined templates). Set
// LEAKHUNT_ORACLE_BINARY (and LEAKHUNT_ORACLE_COUNT) to run the comparison on another ELF file,
// e.g. build/bin/leakhunt.
#include "symbolize/elf_module.hpp"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace leakhunt::symbolize {
namespace {

#ifdef __SANITIZE_ADDRESS__
constexpr size_t k_default_count = 100;  // the reference walk is slow under ASan
#else
constexpr size_t k_default_count = 500;  // the reference walk costs ~2-3 ms each
#endif

// [p_vaddr, p_vaddr + p_memsz) of each executable PT_LOAD of the ELF64 file `path`.
std::vector<std::pair<uint64_t, uint64_t>> code_segments(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    Elf64_Ehdr ehdr{};
    in.read(reinterpret_cast<char*>(&ehdr), sizeof ehdr);
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (unsigned i = 0; in && i < ehdr.e_phnum; ++i) {
        Elf64_Phdr phdr{};
        in.seekg(static_cast<std::streamoff>(ehdr.e_phoff + i * sizeof phdr));
        in.read(reinterpret_cast<char*>(&phdr), sizeof phdr);
        if (in && phdr.p_type == PT_LOAD && (phdr.p_flags & PF_X) != 0) {
            out.emplace_back(phdr.p_vaddr, phdr.p_vaddr + phdr.p_memsz);
        }
    }
    return out;
}

std::string describe(const std::vector<Frame>& frames) {
    std::string s;
    for (const auto& f : frames) {
        s += "  " + f.function + " [" + f.system_name + "] " + f.file + ":" +
             std::to_string(f.line) + "\n";
    }
    return s;
}

}  // namespace

TEST(ElfModule, IndexedLookupMatchesDwarfGetscopes) {
    const char* other = std::getenv("LEAKHUNT_ORACLE_BINARY");
    const std::string path = other != nullptr ? other : "/proc/self/exe";
    const char* count_env = std::getenv("LEAKHUNT_ORACLE_COUNT");
    const size_t count = count_env != nullptr ? std::stoul(count_env) : k_default_count;

    const auto segments = code_segments(path);
    ASSERT_FALSE(segments.empty()) << path;
    uint64_t total = 0;
    for (const auto& [lo, hi] : segments) total += hi - lo;

    const ElfModule module(path);
    std::mt19937_64 random(20261121);
    std::uniform_int_distribution<uint64_t> pick(0, total - 1);
    size_t with_function = 0;
    size_t with_inlines = 0;
    for (size_t i = 0; i < count; ++i) {
        uint64_t at = pick(random);
        uint64_t vaddr = 0;
        for (const auto& [lo, hi] : segments) {
            if (at < hi - lo) {
                vaddr = lo + at;
                break;
            }
            at -= hi - lo;
        }
        const auto fast = module.lookup(vaddr);
        const auto slow = module.lookup_by_scopes(vaddr);
        ASSERT_EQ(fast.size(), slow.size()) << std::hex << "at 0x" << vaddr << "\nindex:\n"
                                            << describe(fast) << "dwarf_getscopes:\n"
                                            << describe(slow);
        for (size_t k = 0; k < fast.size(); ++k) {
            EXPECT_EQ(fast[k].function, slow[k].function) << std::hex << "0x" << vaddr;
            EXPECT_EQ(fast[k].system_name, slow[k].system_name) << std::hex << "0x" << vaddr;
            EXPECT_EQ(fast[k].file, slow[k].file) << std::hex << "0x" << vaddr;
            EXPECT_EQ(fast[k].line, slow[k].line) << std::hex << "0x" << vaddr;
        }
        if (!fast.empty() && !fast.back().function.empty()) ++with_function;
        if (fast.size() > 1) ++with_inlines;
    }
    // The sample must have exercised named functions and (in an optimized build, where GCC
    // inlines) inline chains, not only padding.
    EXPECT_GT(with_function, count / 2);
#ifdef __OPTIMIZE__
    EXPECT_GT(with_inlines, count / 20);
#else
    (void)with_inlines;
#endif
}

TEST(ElfModule, RepeatedLookupsGiveTheSameFrames) {
    const ElfModule module("/proc/self/exe");
    const auto segments = code_segments("/proc/self/exe");
    ASSERT_FALSE(segments.empty());
    const uint64_t vaddr = segments[0].first + (segments[0].second - segments[0].first) / 2;
    const auto first = module.lookup(vaddr);
    const auto second = module.lookup(vaddr);
    ASSERT_EQ(first.size(), second.size());
    for (size_t k = 0; k < first.size(); ++k) {
        EXPECT_EQ(first[k].function, second[k].function);
        EXPECT_EQ(first[k].line, second[k].line);
    }
}

#ifdef LEAKHUNT_CLANG_LINES
namespace {

struct Line {
    std::string function;
    std::string file;  // base name; "" when unknown
    int64_t line = 0;
    bool operator==(const Line&) const = default;
};

std::string base_name(const std::string& path) {
    return std::filesystem::path(path).filename().string();
}

// addr2line -a -f -i for every address: the inline chain at each, innermost first.
std::vector<std::vector<Line>> addr2line_chains(const std::string& binary,
                                                const std::vector<uint64_t>& addrs) {
    const std::string list = ::testing::TempDir() + "/clang_lines_addresses.txt";
    {
        std::ofstream out(list);
        for (uint64_t a : addrs) out << std::hex << "0x" << a << "\n";
    }
    const std::string cmd =
        std::string(LEAKHUNT_ADDR2LINE) + " -a -f -i -e " + binary + " < " + list;
    FILE* pipe = ::popen(cmd.c_str(), "r");
    std::vector<std::vector<Line>> chains;
    if (pipe == nullptr) return chains;
    char buf[4096];
    std::vector<std::string> lines;
    while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
        std::string l(buf);
        while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
        lines.push_back(l);
    }
    ::pclose(pipe);
    for (size_t i = 0; i < lines.size();) {
        if (lines[i].rfind("0x", 0) != 0) {
            ++i;
            continue;
        }
        chains.emplace_back();
        ++i;
        while (i < lines.size() && lines[i].rfind("0x", 0) != 0) {
            Line l;
            l.function = lines[i] == "??" ? "" : lines[i];
            std::string where = i + 1 < lines.size() ? lines[i + 1] : "??:0";
            if (const auto d = where.find(" (discriminator"); d != std::string::npos)
                where.resize(d);
            const auto colon = where.rfind(':');
            const std::string file = where.substr(0, colon);
            const std::string number = colon == std::string::npos ? "" : where.substr(colon + 1);
            if (file != "??") l.file = base_name(file);
            l.line = number.empty() || number == "?" ? 0 : std::stoll(number);
            chains.back().push_back(l);
            i += 2;
        }
    }
    return chains;
}

}  // namespace

// clang emits no .debug_aranges by default: every address of the clang-built program that
// addr2line places in a source line must get the same inline chain (function, file, line) from
// lookup(), at DWARF 4 and at DWARF 5.
TEST(ElfModule, ClangBuiltCodeWithoutArangesGetsFileAndLine) {
    for (const char* version : {"4", "5"}) {
        const std::string path = std::string(LEAKHUNT_CLANG_LINES) + version;
        ASSERT_TRUE(std::filesystem::exists(path)) << path;
        std::vector<uint64_t> addrs;
        for (const auto& [lo, hi] : code_segments(path)) {
            for (uint64_t a = lo; a < hi; ++a) addrs.push_back(a);
        }
        const auto chains = addr2line_chains(path, addrs);
        ASSERT_EQ(chains.size(), addrs.size()) << path;
        const ElfModule module(path);
        size_t with_line = 0;
        size_t with_inlines = 0;
        size_t padding = 0;
        for (size_t i = 0; i < addrs.size(); ++i) {
            const auto& want = chains[i];
            if (want.empty() || want.front().line == 0) continue;  // no DWARF line here
            std::vector<Line> got;
            for (const auto& f : module.lookup(addrs[i])) {
                got.push_back({f.function, f.file.empty() ? "" : base_name(f.file), f.line});
            }
            // Padding between functions: outside every function's DWARF ranges and symbol (the
            // line table's last row still covers it for addr2line).
            if (got.empty()) {
                ++padding;
                continue;
            }
            ++with_line;
            if (want.size() > 1) ++with_inlines;
            ASSERT_EQ(got.size(), want.size())
                << "DWARF " << version << " at 0x" << std::hex << addrs[i] << ": "
                << describe(module.lookup(addrs[i]));
            for (size_t k = 0; k < got.size(); ++k) {
                EXPECT_EQ(got[k].function, want[k].function) << std::hex << "0x" << addrs[i];
                EXPECT_EQ(got[k].file, want[k].file) << std::hex << "0x" << addrs[i];
                EXPECT_EQ(got[k].line, want[k].line) << std::hex << "0x" << addrs[i];
            }
        }
        // The program's own functions (a good part of its code) and inlined calls were seen.
        EXPECT_GT(with_line, 100u) << path;
        EXPECT_GT(with_inlines, 5u) << path;
        EXPECT_LT(padding, 40u) << path;
    }
}
#endif

}  // namespace leakhunt::symbolize
