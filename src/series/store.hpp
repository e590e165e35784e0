// The embedded store behind `leakhunt watch --db FILE`: a SQLite database of targets, process
// instances, samples and events, so that a watch of days survives a restart of leakhunt, can be
// resumed, and can be queried (load_series) by the other commands. Times are Unix seconds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "series/series.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace leakhunt::series {

// $LEAKHUNT_DB if set, else $XDG_STATE_HOME/leakhunt/watch.db, else
// ~/.local/state/leakhunt/watch.db. Creates the parent directory; throws util::Error if it
// cannot.
std::filesystem::path default_db_path();

// One sample of one process instance. Independent of src/proc: the CLI converts. Every value is
// optional (NULL in the database), since not every source knows every figure.
struct SampleRow {
    int64_t instance_id = 0;
    double t = 0;  // Unix seconds
    std::optional<int64_t> rss, rss_anon, rss_file, rss_shmem, pss, uss, swap, vm_hwm;
    std::optional<int64_t> fds, threads;
    std::optional<int64_t> cgroup_usage, cgroup_working_set, cgroup_limit, cgroup_oom_kills;
};

enum class EventKind { start, restart, exit, leak, verdict };
std::string_view to_string(EventKind kind);

struct Event {
    int64_t target_id = 0;
    double t = 0;
    std::string kind;  // "start", "restart", "exit", "leak", "verdict" (text, for newer kinds)
    std::string detail;
};

struct TargetInfo {
    int64_t id = 0;
    std::string key;      // "name:^redis", "pid:4242", "cgroup:/sys/fs/cgroup/..."
    std::string display;  // "redis-server"
    double created_at = 0;
    int64_t instances = 0;
    int64_t samples = 0;
    std::optional<double> first_t, last_t;  // sample time range, if any samples
    std::optional<int64_t> last_pid;        // pid of the latest instance, if any
    int64_t last_starttime = 0;             // and its starttime (with last_pid)
    bool running = false;                   // the latest instance has not exited
    std::string last_cmdline;               // of the latest instance
};

// Whether opening may create the database.
enum class OpenMode { create, existing };

// Owns one SQLite connection (WAL, busy timeout) and its prepared statements. Not thread-safe:
// use it from one thread. Every method throws util::Error naming the file on failure.
class Store {
  public:
    static constexpr int k_schema_version = 1;

    explicit Store(const std::filesystem::path& path, OpenMode mode = OpenMode::create);
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;
    ~Store();

    const std::filesystem::path& path() const { return m_path; }

    int64_t get_or_create_target(std::string_view key, std::string_view display);
    std::optional<int64_t> find_target(std::string_view key);
    // An open instance (no exit) of this target with the same pid and starttime is resumed
    // (its id returned); otherwise a new instance starting at t is recorded.
    int64_t start_instance(int64_t target_id, int64_t pid, int64_t starttime,
                           std::string_view cmdline, double t);
    void end_instance(int64_t instance_id, double t);
    // Inserts the batch in one transaction with one prepared statement; a sample with the same
    // instance and time replaces the earlier one.
    void add_samples(const std::vector<SampleRow>& batch);
    void add_event(int64_t target_id, double t, EventKind kind, std::string_view detail);
    std::vector<Event> events(int64_t target_id);
    std::vector<TargetInfo> list_targets();
    // PRAGMA data_version: changes when another connection commits to the database, so a
    // reader can tell cheaply whether anything was written since it last looked.
    int64_t data_version();
    // The target's samples over all its instances: t relative to the first sample,
    // epoch_offset set, restart_times = start of every instance after the first, columns
    // named per the CSV contract (rss_bytes, anon_bytes, ...), columns with no value at all
    // left out (rss_bytes is always present). Same-time samples of two instances: the later
    // instance wins. Throws if the target does not exist.
    Series load_series(int64_t target_id);

  private:
    struct StmtDeleter {
        void operator()(sqlite3_stmt* s) const;
    };
    using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

    Stmt prepare(std::string_view sql);
    void exec(const char* sql);
    void check_and_create_schema(OpenMode mode);
    // Writes instances.last_t where it lags the samples by k_last_t_interval (all: at all).
    void flush_last_t(bool all);

    struct LastT {
        double seen;     // latest sample time added
        double written;  // last_t as written to the database
    };
    [[noreturn]] void fail(std::string_view what, int rc);

    std::filesystem::path m_path;
    sqlite3* m_db = nullptr;
    Stmt m_insert_sample;
    Stmt m_update_last_t;
    std::map<int64_t, LastT> m_last_t;
};

}  // namespace leakhunt::series
