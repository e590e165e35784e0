// The time series model shared by every reader, writer and the verdict engine: one target's
// samples over time, a set of named value columns (rss_bytes, fds, ...) and known restarts.
// A plain value type; not thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leakhunt::series {

// Column names of the series CSV contract (DESIGN.md). rss_bytes is the one required column.
inline constexpr std::string_view k_rss = "rss_bytes";
inline constexpr std::string_view k_pss = "pss_bytes";
inline constexpr std::string_view k_anon = "anon_bytes";
inline constexpr std::string_view k_heap_inuse = "heap_inuse_bytes";
inline constexpr std::string_view k_fds = "fds";
inline constexpr std::string_view k_threads = "threads";
inline constexpr std::string_view k_cgroup_usage = "cgroup_usage_bytes";
inline constexpr std::string_view k_cgroup_limit = "cgroup_limit_bytes";
// Work done, for memory per unit of work: a counter of units done so far (requests served; a
// reset to a lower value is a restart of the counter) or a rate in units per second.
inline constexpr std::string_view k_work_total = "work_total";
inline constexpr std::string_view k_work_rate = "work_rate";
// A Go service's own counters (`record --pprof-url` writes them into a record directory's
// timeline): its goroutine count and runtime.MemStats' HeapInuse, HeapIdle, HeapReleased,
// HeapSys, NumGC and PauseTotalNs (in seconds here).
inline constexpr std::string_view k_goroutines = "goroutines";
inline constexpr std::string_view k_go_heap_inuse = "go_heap_inuse_bytes";
inline constexpr std::string_view k_go_heap_idle = "go_heap_idle_bytes";
inline constexpr std::string_view k_go_heap_released = "go_heap_released_bytes";
inline constexpr std::string_view k_go_heap_sys = "go_heap_sys_bytes";
inline constexpr std::string_view k_go_gc_count = "go_gc_count";
inline constexpr std::string_view k_go_gc_pause_total = "go_gc_pause_total_s";

struct Series {
    // Display name: "mem.csv", "api (pid 4242)", or a Prometheus series' label set.
    std::string name;
    // Labels that identify the series (Prometheus labels, target, pid); may be empty.
    std::map<std::string, std::string> labels;
    // Sample times in seconds, strictly increasing. Relative to epoch_offset when that is set.
    std::vector<double> t;
    // If the source had absolute times (RFC 3339, Unix time), t[i] + epoch_offset is Unix time.
    std::optional<double> epoch_offset;
    // Value columns, each t.size() long; NaN marks a missing value.
    std::map<std::string, std::vector<double>, std::less<>> columns;
    // Times at which a new process instance started (known restarts, e.g. a new PID in `watch`).
    std::vector<double> restart_times;
    // Every sample's process instance is known (a pid column, `watch`, the store): then
    // restart_times are all the restarts there were, and a drop without one is not a restart.
    bool instances_known = false;

    size_t size() const { return t.size(); }
    bool empty() const { return t.empty(); }
    // The column, or nullptr if absent.
    const std::vector<double>* column(std::string_view column_name) const {
        auto it = columns.find(column_name);
        return it == columns.end() ? nullptr : &it->second;
    }
};

}  // namespace leakhunt::series
