// Tests for ElfModule::lookup's per-CU index against its oracle, lookup_by_scopes (libdw's own
// dwarf_getscopes walk): the same frames, field by field, for hundreds of random addresses of
// this test binary's code (PIE, DWARF with gtest's and fmt's inlined templates). Set
// LEAKHUNT_ORACLE_BINARY (and LEAKHUNT_ORACLE_COUNT) to run the comparison on another ELF file,
// e.g. build/bin/leakhunt.
#include "symbolize/elf_module.hpp"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
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

}  // namespace leakhunt::symbolize
