// The sampling engine behind `watch` and `soak`: follows targets (PIDs, a command-line regex
// across restarts, cgroups, a started command), samples them each tick, writes the samples to the
// store, the CSV and JSON lines, and keeps a live verdict per target. Prints nothing: the JSON
// lines go to the caller's sink, the messages for the user wait in take_notices(). Runs on the
// caller's thread; not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "proc/cgroup_reader.hpp"
#include "proc/child_process.hpp"
#include "proc/process_sampler.hpp"
#include "series/csv.hpp"
#include "series/series.hpp"
#include "series/store.hpp"
#include "trend/classify.hpp"
#include "trend/hysteresis.hpp"

namespace leakhunt::watch {

struct TargetSpec {
    enum class Kind { pid, name, cgroup, command };
    Kind kind = Kind::pid;
    pid_t pid = 0;        // pid, command
    std::string pattern;  // name: regex on the command line; cgroup: the path as given
};

struct WatchConfig {
    std::optional<std::filesystem::path> db;   // empty: no database
    std::optional<std::filesystem::path> csv;  // append-only series CSV
    // When set: called with one JSON object per sample (no newline), in sampling order.
    std::function<void(const std::string& line)> json_line;
    // Read smaps_rollup (PSS, USS): yes, no, or unset = only for small watches (it costs kernel
    // time proportional to the process's size; see proc::SamplerOptions).
    std::optional<bool> smaps;
    trend::Options engine;
    std::string on_leak;  // shell command run once per target when it turns leak
    // Samples before this series time are recorded but not judged (soak --warmup).
    double judge_from_s = -1e300;
};

// One followed target and everything known about it.
struct TargetState {
    TargetSpec spec;
    std::string key;      // store key: "pid:4242", "name:^redis", "cgroup:/sys/fs/cgroup/x"
    std::string display;  // short name for tables
    pid_t pid = 0;        // current process instance (0 = none)
    std::uint64_t starttime = 0;
    std::filesystem::path cgroup_dir;
    bool ended = false;                   // will not be sampled again (pid exited, cgroup removed)
    std::string status;                   // "running", "exited", "waiting for a match", ...
    series::Series series;                // t = Unix time - Watcher::t0()
    trend::Assessment live;               // latest judgement, its verdict held by `hysteresis`
    trend::VerdictHysteresis hysteresis;  // one change, not ten, when the judgement flaps
    std::optional<double> first_leak_at_s;
    bool on_leak_fired = false;
    bool smaps_warned = false;
    bool no_match_said = false;  // "no process matches yet" said (name)
    int64_t store_target = 0;
    int64_t store_instance = 0;
    size_t restarts = 0;
    std::optional<std::regex> regex;
    // The process instance followed last (also by an earlier watch of the same target, from the
    // database). A restart is a match that is not this instance while it is still open: the
    // same rule the database applies when it counts instances (Store::start_instance).
    struct Instance {
        pid_t pid = 0;
        std::uint64_t starttime = 0;
        bool open = false;
    };
    std::optional<Instance> previous;
};

class Watcher {
  public:
    Watcher(WatchConfig config, std::vector<TargetSpec> targets);
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;
    ~Watcher();

    // Samples every target once at Unix time `now`, writes outputs and re-judges some targets.
    void tick(double now);
    // True when no target can produce samples any more.
    bool all_ended() const;
    // The final classification of each target (with flags and detection latency).
    std::vector<trend::Classification> finish();

    const std::vector<TargetState>& targets() const { return m_targets; }
    double t0() const { return m_t0; }
    // Unix time now, advanced by the monotonic clock since the start: a step of the wall clock
    // (NTP, a manual change) cannot make a series go backwards or jump.
    double now() const;
    size_t ticks() const { return m_ticks; }
    // Messages for the user gathered since the last call (restarts, exits, smaps fallbacks).
    std::vector<std::string> take_notices();
    // Marks the command target as ended with this description (e.g. "exited with code 1").
    void command_ended(const std::string& how);
    // The series of one target restricted to judged samples (after judge_from_s).
    series::Series judged_series(const TargetState& t) const;

  private:
    void sample_process(TargetState& t, double now, std::vector<series::SampleRow>& rows,
                        proc::SampleDetail detail);
    void sample_cgroup(TargetState& t, double now, std::vector<series::SampleRow>& rows);
    void find_name_matches(double now);
    void attach(TargetState& t, pid_t pid, std::uint64_t starttime, const std::string& cmdline,
                double now);
    void detach(TargetState& t, double now, const std::string& why);
    void record(TargetState& t, double now, const proc::MemorySample* s,
                const proc::CgroupMemory* cg, std::vector<series::SampleRow>& rows);
    void judge(TargetState& t, double now);
    void fire_on_leak(const TargetState& t);
    void notice(std::string text);
    // The latest instance the database holds for a target (for a resumed watch).
    std::optional<TargetState::Instance> stored_instance(int64_t store_target);
    void flush_store(double now);

    WatchConfig m_config;
    std::vector<TargetState> m_targets;
    proc::ProcessSampler m_sampler;
    proc::CgroupReader m_cgroups;
    std::unique_ptr<series::Store> m_store;
    std::unique_ptr<series::CsvAppender> m_csv;
    std::vector<std::string> m_notices;
    std::vector<proc::ChildProcess> m_on_leak;  // --on-leak commands still running
    std::vector<series::SampleRow> m_pending;   // rows not yet in the store
    std::optional<std::vector<series::TargetInfo>> m_stored_targets;  // read once, on resume
    double m_last_flush = 0;
    double m_t0 = 0;
    std::chrono::steady_clock::time_point m_steady0 = std::chrono::steady_clock::now();
    size_t m_ticks = 0;
};

// Column names of a watch series, in CSV order.
const std::vector<std::string>& watch_columns();

}  // namespace leakhunt::watch
