// Tests for symbolize_profile: an unsymbolized profile of this process gets functions, lines
// (inlined callee first) and the mapping's has_* flags; symbolized locations are left alone.
#include <gtest/gtest.h>

#include "self_map.hpp"
#include "symbolize/symbolizer.hpp"

namespace leakhunt::symbolize {

namespace {

// Location 1: caller_function's call (plain), 2: outer_function's inlined call, 3: [vdso].
profile::Profile self_profile() {
    profile::Profile p = profile::make_heap_profile();
    const uint64_t call = testing::caller_function();
    const uint64_t inlined = testing::outer_function();
    p.mappings.push_back(testing::self_mapping(call));
    p.mappings.push_back(
        {.id = 2, .memory_start = 0x7fff0000, .memory_limit = 0x7fff2000, .filename = "[vdso]"});
    p.locations.push_back({.id = 1, .mapping_id = 1, .address = call});
    p.locations.push_back({.id = 2, .mapping_id = 1, .address = inlined});
    p.locations.push_back({.id = 3, .mapping_id = 2, .address = 0x7fff0100});
    p.samples.push_back({{1, 3}, {1, 100, 1, 100}, {}});
    p.samples.push_back({{2, 3}, {2, 200, 2, 200}, {}});
    return p;
}

}  // namespace

TEST(SymbolizeProfile, FillsFunctionsLinesAndFlags) {
    profile::Profile p = self_profile();
    const SymbolizeStats stats = symbolize_profile(p);
    EXPECT_EQ(stats.locations, 3U);
    EXPECT_EQ(stats.symbolized, 2U);
    EXPECT_TRUE(stats.warnings.empty());

    const auto& l1 = p.locations[0].lines;
    ASSERT_EQ(l1.size(), 1U);
    EXPECT_EQ(profile::find_function(p, l1[0].function_id)->name,
              "leakhunt::symbolize::testing::caller_function()");
    EXPECT_EQ(l1[0].line, testing::k_call_line);

    const auto& l2 = p.locations[1].lines;
    ASSERT_EQ(l2.size(), 2U);
    EXPECT_EQ(profile::find_function(p, l2[1].function_id)->name,
              "leakhunt::symbolize::testing::outer_function()");
    EXPECT_EQ(l2[1].line, testing::k_outer_call_line);

    EXPECT_TRUE(p.locations[2].lines.empty());  // [vdso]: unknown, left for pprof to show
    EXPECT_TRUE(p.mappings[0].has_functions);
    EXPECT_TRUE(p.mappings[0].has_filenames);
    EXPECT_TRUE(p.mappings[0].has_line_numbers);
    EXPECT_FALSE(p.mappings[1].has_functions);
    EXPECT_EQ(p.functions.size(), 3U);
    for (size_t i = 0; i < p.functions.size(); ++i) EXPECT_EQ(p.functions[i].id, i + 1);
}

TEST(SymbolizeProfile, KeepsSymbolizedLocationsAndReusesFunctions) {
    profile::Profile p = self_profile();
    symbolize_profile(p);
    const profile::Profile once = p;
    const SymbolizeStats again = symbolize_profile(p);
    EXPECT_EQ(again.locations, 1U);  // only [vdso] still needs symbols
    EXPECT_EQ(p, once);

    // A new location in a known function reuses its Function.
    p.locations.push_back({.id = 4, .mapping_id = 1, .address = p.locations[0].address});
    symbolize_profile(p);
    EXPECT_EQ(p.functions.size(), once.functions.size());
    EXPECT_EQ(p.locations[3].lines, p.locations[0].lines);
}

}  // namespace leakhunt::symbolize
