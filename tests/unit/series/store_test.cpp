// Tests of the SQLite store: create, write, close, reopen (resume), load_series with restarts,
// listing, events, and the schema checks on foreign files.
#include "series/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <cstdlib>

#include "test_helpers.hpp"
#include "util/file.hpp"

namespace leakhunt::series {
namespace {

using testing::col;
using testing::error_of;
using testing::starts_with;
using testing::TempDir;

SampleRow sample(int64_t instance, double t, int64_t rss) {
    SampleRow r;
    r.instance_id = instance;
    r.t = t;
    r.rss = rss;
    r.fds = 10;
    return r;
}

TEST(Store, WriteCloseReopenResumeAndLoad) {
    TempDir dir;
    const auto path = dir.path() / "watch.db";
    int64_t target = 0;
    int64_t first = 0;
    {
        Store store(path);
        target = store.get_or_create_target("name:^api", "api");
        EXPECT_EQ(store.get_or_create_target("name:^api", "api"), target);
        first = store.start_instance(target, 4242, 1000, "api --port 80", 1795241955.0);
        store.add_samples({sample(first, 1795241955.0, 100), sample(first, 1795241965.0, 110)});
        store.add_event(target, 1795241955.0, EventKind::start, "pid 4242");
    }
    {
        Store store(path, OpenMode::existing);
        // Same pid and starttime, not ended: the watch resumes the instance.
        EXPECT_EQ(store.start_instance(target, 4242, 1000, "api --port 80", 1795241975.0), first);
        store.add_samples({sample(first, 1795241975.0, 120)});
        store.end_instance(first, 1795241980.0);
        const int64_t second = store.start_instance(target, 5151, 2000, "api", 1795241985.0);
        EXPECT_NE(second, first);
        SampleRow r = sample(second, 1795241985.0, 50);
        r.cgroup_usage = 4096;
        store.add_samples({r, sample(second, 1795241995.0, 60)});
        // The same instance and time again replaces the sample.
        store.add_samples({sample(second, 1795241995.0, 61)});
        store.add_event(target, 1795241985.0, EventKind::restart, "pid 5151");

        const Series s = store.load_series(target);
        EXPECT_EQ(s.name, "api");
        EXPECT_EQ(s.labels.at("target"), "name:^api");
        EXPECT_EQ(*s.epoch_offset, 1795241955.0);
        EXPECT_EQ(s.t, (std::vector<double>{0, 10, 20, 30, 40}));
        EXPECT_EQ(col(s, k_rss), (std::vector<double>{100, 110, 120, 50, 61}));
        EXPECT_EQ(s.restart_times, (std::vector<double>{30}));
        ASSERT_NE(s.column(k_cgroup_usage), nullptr);
        EXPECT_TRUE(std::isnan(col(s, k_cgroup_usage).at(0)));
        EXPECT_EQ(col(s, k_cgroup_usage).at(3), 4096);
        EXPECT_EQ(s.column(k_pss), nullptr);  // never recorded
        EXPECT_EQ(col(s, k_fds), (std::vector<double>{10, 10, 10, 10, 10}));

        const auto targets = store.list_targets();
        ASSERT_EQ(targets.size(), 1u);
        EXPECT_EQ(targets[0].key, "name:^api");
        EXPECT_EQ(targets[0].display, "api");
        EXPECT_EQ(targets[0].instances, 2);
        EXPECT_EQ(targets[0].samples, 5);
        EXPECT_EQ(targets[0].first_t, 1795241955.0);
        EXPECT_EQ(targets[0].last_t, 1795241995.0);

        const auto events = store.events(target);
        ASSERT_EQ(events.size(), 2u);
        EXPECT_EQ(events[0].kind, "start");
        EXPECT_EQ(events[1].kind, "restart");
        EXPECT_EQ(events[1].detail, "pid 5151");
        EXPECT_EQ(store.find_target("pid:1"), std::nullopt);
    }
}

TEST(Store, EmptyTargetAndMissingTarget) {
    TempDir dir;
    Store store(dir.path() / "w.db");
    const int64_t id = store.get_or_create_target("pid:4242", "pid 4242");
    EXPECT_TRUE(store.load_series(id).empty());
    const auto targets = store.list_targets();
    ASSERT_EQ(targets.size(), 1u);
    EXPECT_EQ(targets[0].samples, 0);
    EXPECT_FALSE(targets[0].first_t.has_value());
    EXPECT_TRUE(starts_with(error_of([&] { store.load_series(99); }),
                            (dir.path() / "w.db").string() + ": there is no target 99"));
}

TEST(Store, SampleOfUnknownInstanceRollsBack) {
    TempDir dir;
    Store store(dir.path() / "w.db");
    const int64_t t = store.get_or_create_target("pid:1", "init");
    const int64_t i = store.start_instance(t, 1, 1, "init", 0);
    EXPECT_TRUE(starts_with(
        error_of([&] {
            store.add_samples({sample(i, 1, 1), sample(777, 2, 2)});
        }),
        (dir.path() / "w.db").string() + ": cannot add a sample of instance 777 (does it exist?)"));
    EXPECT_TRUE(store.load_series(t).empty());  // the whole batch was rolled back
    store.add_samples({sample(i, 1, 1)});
    EXPECT_EQ(store.load_series(t).size(), 1u);
}

TEST(StoreErrors, NotADatabase) {
    TempDir dir;
    const auto path = dir.path() / "notes.txt";
    util::write_file_atomic(path, std::string(4096, 'x'));
    EXPECT_EQ(error_of([&] { Store store(path); }),
              path.string() +
                  " is not a leakhunt database: file is not a database (choose "
                  "another file with --db, or move this one away)");
}

TEST(StoreErrors, ForeignSqliteDatabase) {
    TempDir dir;
    const auto path = dir.path() / "other.db";
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    EXPECT_TRUE(starts_with(error_of([&] { Store store(path); }),
                            path.string() + " is not a leakhunt database (it is a SQLite database "
                                            "with 1 schema objects of another application)"));
}

TEST(StoreErrors, NewerSchema) {
    TempDir dir;
    const auto path = dir.path() / "w.db";
    { Store store(path); }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA user_version = 7", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    EXPECT_EQ(error_of([&] { Store store(path); }),
              path.string() +
                  " was written by a newer leakhunt (schema version 7; this one "
                  "knows up to 1) (upgrade leakhunt or use another --db file)");
}

TEST(StoreErrors, ExistingModeNeedsTheFile) {
    TempDir dir;
    const auto path = dir.path() / "none.db";
    EXPECT_EQ(error_of([&] { Store store(path, OpenMode::existing); }),
              path.string() + " does not exist (record one first with leakhunt watch --db " +
                  path.string() + ")");
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(DefaultDbPath, EnvironmentOrder) {
    TempDir dir;
    const char* old_db = std::getenv("LEAKHUNT_DB");
    const char* old_state = std::getenv("XDG_STATE_HOME");
    const char* old_home = std::getenv("HOME");
    const std::string saved_db = old_db ? old_db : "";
    const std::string saved_state = old_state ? old_state : "";
    const std::string saved_home = old_home ? old_home : "";

    ::setenv("LEAKHUNT_DB", (dir.path() / "a" / "x.db").c_str(), 1);
    EXPECT_EQ(default_db_path(), dir.path() / "a" / "x.db");
    EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "a"));
    ::unsetenv("LEAKHUNT_DB");
    ::setenv("XDG_STATE_HOME", (dir.path() / "state").c_str(), 1);
    EXPECT_EQ(default_db_path(), dir.path() / "state" / "leakhunt" / "watch.db");
    ::unsetenv("XDG_STATE_HOME");
    ::setenv("HOME", (dir.path() / "home").c_str(), 1);
    EXPECT_EQ(default_db_path(),
              dir.path() / "home" / ".local" / "state" / "leakhunt" / "watch.db");
    EXPECT_TRUE(
        std::filesystem::is_directory(dir.path() / "home" / ".local" / "state" / "leakhunt"));

    auto restore = [](const char* name, const char* old, const std::string& value) {
        if (old) {
            ::setenv(name, value.c_str(), 1);
        } else {
            ::unsetenv(name);
        }
    };
    restore("LEAKHUNT_DB", old_db, saved_db);
    restore("XDG_STATE_HOME", old_state, saved_state);
    restore("HOME", old_home, saved_home);
}

}  // namespace
}  // namespace leakhunt::series
