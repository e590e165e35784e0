// What `leakhunt serve` knows about the watched processes: it reads the watch databases (SQLite,
// written concurrently by a running `leakhunt watch --db`) and the record directories (the
// agent's timeline.PID.csv files), keeps one verdict per target and recomputes it only when new
// samples arrived (a database that did not change since the last look, per PRAGMA data_version,
// costs one query), and renders the Prometheus /metrics page. The metric names live here, so
// that `leakhunt rules` writes alerts over the same names. Thread-safe: every public method takes
// the collector's mutex.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "series/series.hpp"
#include "trend/classify.hpp"

namespace leakhunt::series {
class Store;
}

namespace leakhunt::server {

// Metric names (Prometheus conventions: base units, _bytes, _seconds; no _total on gauges).
namespace metric {
inline constexpr std::string_view build_info = "leakhunt_build_info";
inline constexpr std::string_view scrape_duration = "leakhunt_scrape_duration_seconds";
inline constexpr std::string_view source_up = "leakhunt_source_up";
inline constexpr std::string_view resident = "leakhunt_process_resident_memory_bytes";
inline constexpr std::string_view proportional = "leakhunt_process_proportional_memory_bytes";
inline constexpr std::string_view anonymous = "leakhunt_process_anonymous_memory_bytes";
inline constexpr std::string_view heap_inuse = "leakhunt_process_heap_inuse_bytes";
inline constexpr std::string_view open_fds = "leakhunt_process_open_fds";
inline constexpr std::string_view threads = "leakhunt_process_threads";
inline constexpr std::string_view cgroup_usage = "leakhunt_cgroup_memory_usage_bytes";
inline constexpr std::string_view limit = "leakhunt_memory_limit_bytes";
inline constexpr std::string_view running = "leakhunt_process_running";
inline constexpr std::string_view last_sample = "leakhunt_last_sample_timestamp_seconds";
inline constexpr std::string_view samples = "leakhunt_verdict_samples";
inline constexpr std::string_view growth = "leakhunt_memory_growth_bytes_per_second";
inline constexpr std::string_view verdict = "leakhunt_leak_verdict";
inline constexpr std::string_view confidence = "leakhunt_verdict_confidence";
inline constexpr std::string_view projected = "leakhunt_projected_limit_seconds";
inline constexpr std::string_view flag = "leakhunt_verdict_flag";
}  // namespace metric

// The flags of trend::classify exported as leakhunt_verdict_flag{flag=...} 1 or 0.
inline constexpr std::string_view k_flags[] = {"fd_growth", "thread_growth",    "fragmentation",
                                               "restarts",  "goroutine_growth", "go_fragmentation"};

struct SourceConfig {
    std::vector<std::filesystem::path> databases;    // leakhunt watch --db files
    std::vector<std::filesystem::path> record_dirs;  // leakhunt record --out directories
    std::optional<double> limit_bytes;               // --limit, for targets without a cgroup limit
};

// One watched process (a database target or a recorded pid) as last seen.
struct ProcessStatus {
    std::string source;  // "db:/path/watch.db" or "dir:/path/rec"
    std::string target;  // the database target key, or "record:DIR:PID"
    std::string name;    // process name (untrusted text: escape it)
    std::optional<int64_t> pid;
    bool running = false;
    double last_sample_unix = 0;
    std::map<std::string, double, std::less<>> last;  // last non-NaN value per column
    trend::Classification classification;
    std::shared_ptr<const series::Series> series;
    // Seconds from `now` until the limit is reached at the fitted growth, if a limit is known.
    std::optional<double> seconds_to_limit(double now_unix) const;
};

struct SourceStatus {
    std::string source;  // as in ProcessStatus::source
    bool up = false;
    std::string error;  // why not, when !up
};

class Collector {
  public:
    explicit Collector(SourceConfig config);
    Collector(const Collector&) = delete;
    Collector& operator=(const Collector&) = delete;
    ~Collector();

    const SourceConfig& config() const { return m_config; }

    // Reads what changed in every source and returns every process with samples.
    std::vector<ProcessStatus> refresh();
    std::vector<SourceStatus> sources();
    // refresh(), rendered in the Prometheus text format (with the scrape's own duration).
    std::string metrics_text();
    // The agent processes of the record directories that are alive now.
    std::vector<pid_t> live_agent_pids();

  private:
    struct Entry {
        int64_t samples = 0;
        double last_t = 0;
        std::string signature;  // record directories: the timeline's size and mtime
        ProcessStatus status;
    };
    struct Database {
        std::filesystem::path path;
        std::unique_ptr<series::Store> store;
        int64_t data_version = -1;
        std::string error;
        std::map<int64_t, Entry> targets;  // by target id
    };
    struct RecordDir {
        std::filesystem::path path;
        std::string error;
        std::map<pid_t, Entry> pids;
    };

    void refresh_database(Database& db);
    void refresh_dir(RecordDir& dir);
    trend::Classification judge(const series::Series& s) const;
    std::vector<ProcessStatus> statuses() const;

    SourceConfig m_config;
    std::mutex m_mutex;
    std::vector<Database> m_databases;
    std::vector<RecordDir> m_dirs;
};

// The process name of a live pid (/proc/PID/comm), or "" if it is gone or unreadable.
std::string process_name(pid_t pid);

}  // namespace leakhunt::server
