// Tests for the flame trees: exact folding of stacks (allocator and agent frames cut at the
// leaf, inline order, unknown frames), the diff tree's deltas, "other" merging and the node cap.
#include "report/flame_tree.hpp"

#include <gtest/gtest.h>

#include "test_profiles.hpp"
#include "util/error.hpp"

namespace leakhunt::report {
namespace {

const FlameNode* child(const FlameNode& n, const std::string& name) {
    for (const auto& c : n.children) {
        if (c.name == name) return &c;
    }
    return nullptr;
}

}  // namespace

TEST(BuildFlameTree, FoldsStacksRootFirstWithoutAllocatorFrames) {
    symbolize::Symbolizer s;
    const FlameNode root = build_flame_tree(testing::small_heap(), s, "heap.pb.gz");
    EXPECT_EQ(root.name, "all");
    EXPECT_EQ(root.value, 2900);
    ASSERT_EQ(root.children.size(), 1U);
    const FlameNode& main = root.children[0];
    EXPECT_EQ(main.name, "main");
    EXPECT_EQ(main.value, 2900);
    EXPECT_EQ(main.where, "main.cpp:7");
    ASSERT_EQ(main.children.size(), 2U);
    EXPECT_EQ(main.children[0].name, "cache_put(int)");  // largest first
    EXPECT_EQ(main.children[0].value, 2500);
    EXPECT_EQ(main.children[0].where, "cache.cpp:42");  // the first frame seen
    EXPECT_TRUE(main.children[0].children.empty());     // operator new and the hook are cut
    EXPECT_EQ(main.children[1].name, "[anon:jit]+0x2040");
    EXPECT_EQ(main.children[1].value, 100);
    EXPECT_EQ(count_nodes(root), 4U);
    EXPECT_EQ(root.delta, 0);
}

TEST(BuildFlameTree, StandardLibraryFramesAtTheLeafAreCutSoTheLeafIsTheUsersFunction) {
    // operator new <- allocate (inlined from new_allocator.h) <- vector::_M_realloc_insert (its
    // own frame, with a return type) <- Cache::put <- main: the leaf is Cache::put.
    profile::Profile p = profile::make_heap_profile();
    p.mappings = {{.id = 1, .memory_start = 0x1000, .memory_limit = 0x100000, .filename = "/a"}};
    p.functions = {
        {.id = 1, .name = "main", .filename = "main.cpp"},
        {.id = 2, .name = "Cache::put(int)", .filename = "cache.cpp"},
        {.id = 3,
         .name = "void std::vector<int, std::allocator<int> >::_M_realloc_insert<int>(int&&)",
         .filename = "/usr/include/c++/12/bits/vector.tcc"},
        {.id = 4, .name = "allocate", .filename = "/usr/include/c++/12/bits/new_allocator.h"},
        {.id = 5, .name = "operator new(unsigned long)"}};
    p.locations = {{.id = 1, .mapping_id = 1, .address = 0x1000, .lines = {{1, 7}}},
                   {.id = 2, .mapping_id = 1, .address = 0x1010, .lines = {{2, 42}}},
                   {.id = 3, .mapping_id = 1, .address = 0x1020, .lines = {{4, 137}, {3, 512}}},
                   {.id = 4, .mapping_id = 1, .address = 0x1030, .lines = {{5, 0}}}};
    p.samples.push_back({{4, 3, 2, 1}, {1, 64, 1, 64}, {}});
    symbolize::Symbolizer s;
    const FlameNode root = build_flame_tree(p, s, "heap.pb.gz");
    ASSERT_EQ(root.children.size(), 1U);
    ASSERT_EQ(root.children[0].children.size(), 1U);
    const FlameNode& put = root.children[0].children[0];
    EXPECT_EQ(put.name, "Cache::put(int)");
    EXPECT_EQ(put.value, 64);
    EXPECT_TRUE(put.children.empty());
}

TEST(BuildFlameTree, MissingSampleTypeNamesTheFile) {
    profile::Profile p = testing::small_heap();
    p.sample_types = {{"samples", "count"}};
    symbolize::Symbolizer s;
    try {
        build_flame_tree(p, s, "cpu.pb.gz");
        FAIL() << "expected an error";
    } catch (const util::Error& e) {
        EXPECT_NE(std::string(e.what()).find("cpu.pb.gz has no sample type inuse_space"),
                  std::string::npos)
            << e.what();
    }
}

TEST(BuildDiffTree, ValuesOfTheLaterProfileAndDeltas) {
    symbolize::Symbolizer s;
    const FlameNode root =
        build_diff_tree(testing::small_heap(true), "a", testing::small_heap(), "b", s);
    EXPECT_EQ(root.value, 2900);
    EXPECT_EQ(root.delta, 2400);
    const FlameNode* main = child(root, "main");
    ASSERT_NE(main, nullptr);
    EXPECT_EQ(main->delta, 2400);
    const FlameNode* put = child(*main, "cache_put(int)");
    ASSERT_NE(put, nullptr);
    EXPECT_EQ(put->value, 2500);
    EXPECT_EQ(put->delta, 2000);
    const FlameNode* jit = child(*main, "[anon:jit]+0x2040");
    ASSERT_NE(jit, nullptr);
    EXPECT_EQ(jit->delta, 100);
}

TEST(BuildDiffTree, FreedStacksHaveValueZeroAndNegativeDelta) {
    symbolize::Symbolizer s;
    const FlameNode root =
        build_diff_tree(testing::small_heap(), "a", testing::small_heap(true), "b", s);
    EXPECT_EQ(root.value, 500);
    EXPECT_EQ(root.delta, -2400);
    const FlameNode* jit = child(root.children.at(0), "[anon:jit]+0x2040");
    ASSERT_NE(jit, nullptr);
    EXPECT_EQ(jit->value, 0);
    EXPECT_EQ(jit->delta, -100);
}

TEST(BuildFlameTree, SmallNodesMergeIntoOther) {
    symbolize::Symbolizer s;
    FlameOptions options;
    options.min_fraction = 1e-3;  // of 101000 bytes: 101
    const FlameNode root = build_flame_tree(testing::wide_heap(1000), s, "wide", options);
    EXPECT_EQ(root.value, 101000);
    const FlameNode& main = root.children.at(0);
    ASSERT_EQ(main.children.size(), 2U);
    EXPECT_EQ(main.children[0].name, "big");
    EXPECT_EQ(main.children[0].value, 100000);
    EXPECT_EQ(main.children[1].name, "other");
    EXPECT_EQ(main.children[1].value, 1000);
    EXPECT_EQ(count_nodes(root), 4U);
}

TEST(BuildFlameTree, NodeCapRaisesTheThreshold) {
    symbolize::Symbolizer s;
    FlameOptions options;
    options.min_fraction = 1e-9;
    options.max_nodes = 10;
    const FlameNode root = build_flame_tree(testing::wide_heap(1000), s, "wide", options);
    EXPECT_LE(count_nodes(root), 10U);
    EXPECT_EQ(root.value, 101000);
    int64_t sum = 0;
    for (const auto& c : root.children.at(0).children) sum += c.value;
    EXPECT_EQ(sum, 101000);  // merging keeps every byte
}

TEST(FlameJson, CompactKeys) {
    FlameNode n{.name = "all", .value = 3, .delta = 1};
    n.children.push_back(FlameNode{.name = "f", .where = "f.c:2", .value = 3, .delta = 1});
    EXPECT_EQ(flame_json(n, WithDelta::no).dump(),
              R"({"c":[{"f":"f.c:2","n":"f","v":3}],"n":"all","v":3})");
    EXPECT_EQ(flame_json(n, WithDelta::yes).dump(),
              R"({"c":[{"d":1,"f":"f.c:2","n":"f","v":3}],"d":1,"n":"all","v":3})");
}

}  // namespace leakhunt::report
