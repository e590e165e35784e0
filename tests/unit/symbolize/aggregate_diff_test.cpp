// Tests for diff_aggregates(): rows joined by name, the identity from the current aggregate,
// unchanged rows dropped, growth first and shrinkers last by the chosen sample type.
#include "symbolize/aggregate_diff.hpp"

#include <gtest/gtest.h>

namespace leakhunt::symbolize {
namespace {

AggregateRow row(const char* name, int64_t inuse_bytes, int64_t inuse_objects,
                 const char* file = "") {
    AggregateRow r;
    r.name = name;
    r.function = name;
    r.file = file;
    r.flat.inuse_bytes = inuse_bytes;
    r.flat.inuse_objects = inuse_objects;
    return r;
}

TEST(DiffAggregates, GrowthFirstShrinkersLastUnchangedDropped) {
    Aggregate base;
    base.rows = {row("grows", 100, 1, "old.cpp"), row("shrinks", 500, 5), row("same", 7, 1),
                 row("gone", 30, 3)};
    Aggregate cur;
    cur.rows = {row("grows", 1100, 11, "new.cpp"), row("shrinks", 200, 2), row("same", 7, 1),
                row("new", 300, 3)};
    const auto rows = diff_aggregates(base, cur, "inuse_space");
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].row.name, "grows");
    EXPECT_EQ(rows[0].row.file, "new.cpp");  // the current profile's identity
    EXPECT_EQ(rows[0].base.inuse_bytes, 100);
    EXPECT_EQ(rows[0].cur.inuse_bytes, 1100);
    EXPECT_EQ(rows[0].delta.inuse_bytes, 1000);
    EXPECT_EQ(rows[0].delta.inuse_objects, 10);
    EXPECT_EQ(rows[1].row.name, "new");
    EXPECT_EQ(rows[1].base.inuse_bytes, 0);
    EXPECT_EQ(rows[1].delta.inuse_bytes, 300);
    EXPECT_EQ(rows[2].row.name, "gone");
    EXPECT_EQ(rows[2].delta.inuse_bytes, -30);
    EXPECT_EQ(rows[3].row.name, "shrinks");
    EXPECT_EQ(rows[3].delta.inuse_bytes, -300);
}

TEST(DiffAggregates, SortsByTheChosenTypeTiesByName) {
    Aggregate base;
    Aggregate cur;
    // By objects: b (+5) before a and c (+1 each, a before c by name), though a grew most bytes.
    cur.rows = {row("c", 10, 1), row("a", 1000, 1), row("b", 50, 5)};
    const auto rows = diff_aggregates(base, cur, "inuse_objects");
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].row.name, "b");
    EXPECT_EQ(rows[1].row.name, "a");
    EXPECT_EQ(rows[2].row.name, "c");
}

}  // namespace
}  // namespace leakhunt::symbolize
