// build_retention and build_leaks over hand-made scans: paths grouped by root name and hops,
// ranked by bytes; holders ranked by retained bytes; leaks direct first, then by bytes.
// Modules point at files that do not exist, so names fall back to module+offset (and a warning).
#include "heapscan/retention.hpp"

#include <gtest/gtest.h>

#include "scan_file_builder.hpp"

namespace leakhunt::heapscan {
namespace {

using format::ScanTag;
using test::ScanBuilder;

ScanFile scan() {
    ScanBuilder b;
    b.summary()
        .record(ScanTag::module, 0u, 0x10000u, std::string("/nonexistent/app"), std::string(""), 1u,
                0x10000u, 0x20000u, 3u)
        .record(ScanTag::thread, 0u, 42u, std::string("app"))
        .record(ScanTag::thread, 1u, 43u, std::string("worker"))
        .record(ScanTag::stack, 1u, 1u, 0x10100u)
        .record(ScanTag::stack, 2u, 1u, 0x10200u)
        // two slots of one global (same name: one path), a worker's stack, its TLS block
        .record(ScanTag::root, 0u, 1u, 0u, 0x10040u, 0u, 0u, 0u)
        .record(ScanTag::root, 1u, 1u, 0u, 0x10040u, 0u, 0u, 0u)
        .record(ScanTag::root, 2u, 4u, 1u, 0x7ff0u, 0u, 0u, 0u)
        .record(ScanTag::root, 3u, 2u, 1u, 0x10u, 0u, 1u, 0u)
        // global -> stack 1 (array) -> stack 2 (x300), via both slots
        .record(ScanTag::shape, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 4096u, 301u, 4096u + 300u * 64u)
        .record(ScanTag::shape, 2u, 1u, 0u, 2u, 8u, 1u, 300u, 300u * 64u, 300u, 300u * 64u)
        .record(ScanTag::shape, 3u, 0u, 1u, 1u, 0u, 0u, 1u, 4096u, 1u, 4096u)
        // the worker's stack -> stack 2 (x10)
        .record(ScanTag::shape, 4u, 0u, 2u, 2u, 0x18u, 0u, 10u, 640u, 10u, 640u)
        // TLS -> stack 2 (x1)
        .record(ScanTag::shape, 5u, 0u, 3u, 2u, 0u, 0u, 1u, 64u, 1u, 64u)
        .record(ScanTag::site, 1u, 2u, 8192u)
        .record(ScanTag::site, 2u, 311u, 311u * 64u)
        .record(ScanTag::leak, 1u, 1u, 32u, 0u, 0u)
        .record(ScanTag::leak, 2u, 2u, 16u, 5u, 320u);
    return parse_scan_file(b.finish(), "t.scan");
}

TEST(BuildRetention, GroupsPathsByRootNameAndHops) {
    const ScanFile f = scan();
    ScanSymbols symbols(f);
    const auto r = build_retention(f, symbols, RetentionOptions{});
    ASSERT_EQ(r.sites.size(), 2u);
    EXPECT_EQ(r.sites_total, 2u);
    const auto& s = r.sites[0];  // stack 2: 19,904 bytes, more than stack 1's 8,192
    EXPECT_EQ(s.stack, 2u);
    EXPECT_EQ(s.count, 311u);
    ASSERT_EQ(s.paths.size(), 3u);
    EXPECT_EQ(s.paths[0].root, "global data at app+0x40");
    EXPECT_EQ(s.paths[0].count, 300u);
    ASSERT_EQ(s.paths[0].hops.size(), 2u);
    EXPECT_EQ(s.paths[0].hops[1].offset, 8u);
    EXPECT_TRUE(s.paths[0].hops[1].offsets_vary);
    EXPECT_EQ(s.paths[1].root, "stack of thread 2 ('worker', tid 43)");
    EXPECT_EQ(s.paths[1].bytes, 640u);
    EXPECT_EQ(s.paths[2].root, "TLS of thread 2 ('worker', tid 43) (app TLS block +0x10)");
    // The two global slots are one path for stack 1 as well.
    ASSERT_EQ(r.sites[1].paths.size(), 1u);
    EXPECT_EQ(r.sites[1].paths[0].count, 2u);
    // Holders: the global (both slots) first.
    ASSERT_EQ(r.holders.size(), 3u);
    EXPECT_EQ(r.holders[0].root, "global data at app+0x40");
    EXPECT_EQ(r.holders[0].bytes, 4096u * 2 + 300u * 64u);
    EXPECT_EQ(r.holders[2].bytes, 64u);
    EXPECT_FALSE(symbols.warnings().empty());
}

TEST(ScanSymbols, NamesMappingAndLoaderRoots) {
    ScanBuilder b;
    b.summary()
        .record(ScanTag::root, 1u, 5u, 0u, 0x7f0000000000u, 0x7f0000100000u, 0u, 0u)
        .record(ScanTag::root, 2u, 6u, 0u, 0u, 0u, 0u, 0u);
    const ScanFile f = parse_scan_file(b.finish(), "t.scan");
    ScanSymbols symbols(f);
    EXPECT_EQ(symbols.root(f.roots.at(1)),
              "anonymous mapping 0x7f0000000000-0x7f0000100000 (1.00 MiB, mapped by the program: a "
              "runtime's heap or its own arena)");
    EXPECT_EQ(symbols.root(f.roots.at(2)), "the dynamic loader's own blocks (DTVs, dlopen scopes)");
}

TEST(BuildRetention, SiteFilterAndTop) {
    const ScanFile f = scan();
    ScanSymbols symbols(f);
    RetentionOptions o;
    o.top = 1;
    EXPECT_EQ(build_retention(f, symbols, o).sites.size(), 1u);
    o.top = 0;
    o.site = std::regex("nothing-matches-this");
    EXPECT_TRUE(build_retention(f, symbols, o).sites.empty());
    o.site = std::regex("app\\+0x200");  // unnamed frames match by module+offset
    const auto r = build_retention(f, symbols, o);
    ASSERT_EQ(r.sites.size(), 1u);
    EXPECT_EQ(r.sites[0].stack, 2u);
}

TEST(BuildRetention, RanksByGrowthSinceABase) {
    const ScanFile f = scan();
    // In the base, stack 2 already held all its bytes and stack 1 none: stack 1 grew most.
    ScanBuilder b;
    b.summary().record(ScanTag::site, 2u, 311u, 311u * 64u);
    const ScanFile base = parse_scan_file(b.finish(), "base.scan");
    ScanSymbols symbols(f);
    RetentionOptions o;
    o.base = &base;
    const auto r = build_retention(f, symbols, o);
    ASSERT_EQ(r.sites.size(), 2u);
    EXPECT_EQ(r.sites[0].stack, 1u);
    EXPECT_EQ(r.sites[0].growth_bytes, 8192);
    EXPECT_EQ(r.sites[1].growth_bytes, 0);
}

TEST(BuildLeaks, DirectFirstThenBiggest) {
    const auto r = build_leaks(scan());
    ASSERT_EQ(r.entries.size(), 3u);
    EXPECT_TRUE(r.entries[0].direct);
    EXPECT_EQ(r.entries[0].bytes, 32u);
    EXPECT_TRUE(r.entries[1].direct);
    EXPECT_EQ(r.entries[1].bytes, 16u);
    EXPECT_FALSE(r.entries[2].direct);
    EXPECT_EQ(r.entries[2].count, 5u);
    EXPECT_EQ(r.direct_bytes, 48u);
    EXPECT_EQ(r.indirect_bytes, 320u);
}

TEST(ShortFunction, DropsTemplateArgumentsAndParameters) {
    EXPECT_EQ(
        short_function("std::vector<Session*, std::allocator<Session*> >::reserve(unsigned long)"),
        "std::vector::reserve");
    EXPECT_EQ(short_function("make_node(Node*)"), "make_node");
    EXPECT_EQ(short_function("void std::vector<int>::_M_realloc_insert<int>(int&&)"),
              "std::vector::_M_realloc_insert");
    EXPECT_EQ(short_function("operator<<(std::ostream&, int)"), "operator<<");
}

}  // namespace
}  // namespace leakhunt::heapscan
