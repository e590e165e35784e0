// Tests for Symbolizer: this test binary's own functions (PIE, with DWARF) looked up through
// their /proc/self/maps mapping, inline frames, unknown frames and build-ID mismatches.
#include "symbolize/symbolizer.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "self_map.hpp"
#include "symbolize/elf_module.hpp"
#include "symbolize/frames.hpp"

namespace leakhunt::symbolize {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

TEST(Symbolizer, FunctionEntryGivesNameFileAndLine) {
    const auto address = reinterpret_cast<uint64_t>(&testing::target_function);
    const profile::Mapping mapping = testing::self_mapping(address);
    Symbolizer s;
    const auto frames = s.symbolize(mapping, address);
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].function, "leakhunt::symbolize::testing::target_function(int)");
    EXPECT_EQ(frames[0].system_name, "_ZN8leakhunt9symbolize7testing15target_functionEi");
    EXPECT_TRUE(ends_with(frames[0].file, "self_map.cpp")) << frames[0].file;
    // GCC puts the entry on the declaration line or, at -O2 without a prologue, the first
    // statement.
    EXPECT_GE(frames[0].line, testing::k_target_line);
    EXPECT_LE(frames[0].line, testing::k_target_line + 1);
    EXPECT_EQ(frames[0].module, "symbolize_test");
    EXPECT_TRUE(s.warnings().empty());
}

TEST(Symbolizer, ReturnAddressMinusOneGivesTheCallLine) {
    const uint64_t address = testing::caller_function();
    Symbolizer s;
    const auto frames = s.symbolize(testing::self_mapping(address), address);
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].function, "leakhunt::symbolize::testing::caller_function()");
    EXPECT_EQ(frames[0].line, testing::k_call_line);
}

TEST(Symbolizer, InlinedCallsBecomeSeveralFrames) {
    const uint64_t address = testing::outer_function();
    Symbolizer s;
    const auto frames = s.symbolize(testing::self_mapping(address), address);
    ASSERT_EQ(frames.size(), 2U);
    EXPECT_NE(frames[0].function.find("inlined_helper"), std::string::npos) << frames[0].function;
    EXPECT_EQ(frames[0].line, testing::k_inlined_call_line);
    EXPECT_EQ(frames[1].function, "leakhunt::symbolize::testing::outer_function()");
    EXPECT_EQ(frames[1].line, testing::k_outer_call_line);
    EXPECT_TRUE(ends_with(frames[1].file, "self_map.cpp")) << frames[1].file;
}

TEST(Symbolizer, CachedAnswersAreTheSame) {
    const auto address = reinterpret_cast<uint64_t>(&testing::target_function);
    const profile::Mapping mapping = testing::self_mapping(address);
    Symbolizer s;
    const auto first = s.symbolize(mapping, address);
    const auto second = s.symbolize(mapping, address);
    ASSERT_EQ(first.size(), second.size());
    EXPECT_EQ(first[0].function, second[0].function);
    EXPECT_EQ(first[0].line, second[0].line);
}

TEST(Symbolizer, MatchingBuildIdIsAccepted) {
    const auto address = reinterpret_cast<uint64_t>(&testing::target_function);
    profile::Mapping mapping = testing::self_mapping(address);
    mapping.build_id = ElfModule(mapping.filename).build_id();
    ASSERT_FALSE(mapping.build_id.empty());
    Symbolizer s;
    EXPECT_FALSE(s.symbolize(mapping, address)[0].function.empty());
    EXPECT_TRUE(s.warnings().empty());
}

TEST(Symbolizer, BuildIdMismatchIsAWarningAndAnUnknownFrame) {
    const auto address = reinterpret_cast<uint64_t>(&testing::target_function);
    profile::Mapping mapping = testing::self_mapping(address);
    mapping.build_id = "00112233445566778899aabbccddeeff00112233";
    Symbolizer s;
    const auto frames = s.symbolize(mapping, address);
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_TRUE(frames[0].function.empty());
    EXPECT_EQ(frames[0].display_name().rfind("symbolize_test+0x", 0), 0U);
    ASSERT_EQ(s.warnings().size(), 1U);
    EXPECT_NE(s.warnings()[0].find("build ID"), std::string::npos) << s.warnings()[0];
    s.symbolize(mapping, address + 1);
    EXPECT_EQ(s.warnings().size(), 1U);  // said once
}

TEST(Symbolizer, UnknownFramesNeverThrow) {
    Symbolizer s;
    const profile::Mapping vdso{
        .id = 1, .memory_start = 0x7fff0000, .memory_limit = 0x7fff2000, .filename = "[vdso]"};
    auto frames = s.symbolize(vdso, 0x7fff0123);
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].display_name(), "[vdso]+0x123");

    const profile::Mapping missing{.id = 2,
                                   .memory_start = 0x1000,
                                   .memory_limit = 0x2000,
                                   .file_offset = 0x3000,
                                   .filename = "/nonexistent/libgone.so"};
    frames = s.symbolize(missing, 0x1010);
    EXPECT_EQ(frames.at(0).display_name(), "libgone.so+0x3010");
    ASSERT_EQ(s.warnings().size(), 1U);
    EXPECT_NE(s.warnings()[0].find("/nonexistent/libgone.so"), std::string::npos);

    const profile::Mapping not_elf{.id = 3,
                                   .memory_start = 0x1000,
                                   .memory_limit = 0x2000,
                                   .filename = LEAKHUNT_TEST_DATA "/profile/goheap/main.go"};
    EXPECT_TRUE(s.symbolize(not_elf, 0x1010).at(0).function.empty());
    EXPECT_EQ(s.warnings().size(), 2U);
}

TEST(Demangle, ItaniumNamesAndPlainNames) {
    EXPECT_EQ(demangle("_ZN3foo3barEv"), "foo::bar()");
    EXPECT_EQ(demangle("malloc"), "malloc");
    EXPECT_EQ(demangle("_Znot a name"), "_Znot a name");
}

}  // namespace leakhunt::symbolize

namespace leakhunt::symbolize {

// libc carries no DWARF here, so this exercises the symbol table and a shared library's load
// bias.
TEST(Symbolizer, SharedLibraryFunctionFromTheSymbolTable) {
    // libc's own malloc, not whatever `malloc` resolves to here (libasan's, in the sanitizer
    // build).
    void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(libc, nullptr);
    const auto address = reinterpret_cast<uint64_t>(dlsym(libc, "malloc"));
    dlclose(libc);
    ASSERT_NE(address, 0U);
    const profile::Mapping mapping = testing::self_mapping(address);
    ASSERT_NE(mapping.filename.find("libc"), std::string::npos) << mapping.filename;
    Symbolizer s;
    const auto frames = s.symbolize(mapping, address);
    EXPECT_TRUE(is_allocator_function(frames.back().function)) << frames.back().function;
    EXPECT_TRUE(s.warnings().empty());
}

}  // namespace leakhunt::symbolize
