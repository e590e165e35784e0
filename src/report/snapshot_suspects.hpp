// Leak suspects over heap snapshots, as `leakhunt suspects` and the report compute them: each
// snapshot aggregated by allocation site (symbolize/aggregate.hpp), one in-use series per site
// over the snapshots' profile times, ranked by trend/suspects.hpp; and a suspect as the JSON row
// of `leakhunt suspects --json` (what the report's suspects table draws). Not thread-safe (uses
// the given Symbolizer). Goroutine profiles (Go) get the same ranking by goroutine count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "profile/profile.hpp"
#include "symbolize/symbolizer.hpp"
#include "trend/suspects.hpp"

namespace leakhunt::report {

// Fewer snapshots cannot show a trend.
inline constexpr size_t k_min_suspect_snapshots = 3;

struct SuspectSnapshot {
    std::string name;    // file name or path, for messages
    unsigned index = 0;  // NNNN of heap.PID.NNNN.pb.gz (orders snapshots with equal times)
    const profile::Profile* profile = nullptr;
    double rss_bytes = 0;  // the process's RSS when it was taken (the timeline's); 0: unknown
    // The runtime's own heap in use right after a full collection, taken with the snapshot
    // (Node.js: the timeline's js_heap_used_bytes); 0: unknown.
    double collected_heap_bytes = 0;
    // What the process holds when its profile sees only part of its heap (its RSS then; 0:
    // the profile sees it all): see SnapshotFacts::whole_heap_bytes.
    double whole_heap_bytes = 0;
};

// RSS growth below this says nothing of where memory went.
inline constexpr double k_min_rss_growth_bytes = 4.0 * 1024 * 1024;
// The profiled heap's share of the RSS growth below which the growth is elsewhere, in a process
// that maps a runtime with its own heap (Node.js, Java, Python): Node's malloc heap grows 2% of
// its RSS as V8's heap grows. Without such a runtime the bar is lower: a native leak beside
// heavy churn grows RSS five to twelve times its heap growth (fragmentation: victim
// agent_churn_leak, more on a loaded machine), and it must stay ranked.
inline constexpr double k_heap_share_of_rss_growth = 0.05;
inline constexpr double k_native_heap_share_of_rss_growth = 0.01;

// A sampling profile that sees only what was allocated since sampling began (V8's) fills in as
// long-lived objects are sampled: every such site rises from zero for as long as its objects
// live. Its sites are ranked only when the runtime's heap after a full collection grows too:
// significantly (Mann-Kendall, p below this) and by at least this share of the ranked sites'
// growth. Else no site is ranked (SnapshotSuspects::filling_in says why).
inline constexpr double k_collected_heap_p = 0.05;
inline constexpr double k_collected_heap_share_of_sites = 0.5;

struct SnapshotSuspects {
    // Set when the RSS of every snapshot is known, its trend (Theil-Sen, over the window) grew
    // it by at least k_min_rss_growth_bytes, and the trend of the profiled heap's in-use bytes
    // by less than k_heap_share_of_rss_growth of that (k_native_heap_share_of_rss_growth
    // without a runtime): one sentence saying so and where to look.
    // Then no site is ranked (report.suspects is empty; they are in report.others): what the
    // heap's sites do is not the leak.
    std::string growth_outside_heap;
    // Set when every snapshot carries collected_heap_bytes, sites were ranked, and that heap did
    // not grow with them (k_collected_heap_p, k_collected_heap_share_of_sites): one sentence.
    // Then no site is ranked (they are in report.others).
    std::string filling_in;
    trend::SuspectReport report;
    std::string unit;                // "bytes" (inuse_space) or "objects" (inuse_objects)
    int64_t first_total = 0;         // in-use value of the earliest snapshot
    int64_t last_total = 0;          // ... of the latest
    std::vector<std::string> order;  // snapshot names in time order
};

// What a record directory's timeline says of each of PID's snapshots, by file name: the RSS and
// the runtime's heap after a full collection (js_heap_used_bytes) when it was taken. Empty
// without a timeline; util::Error from a malformed one.
// whole_heap_bytes: the RSS when the recording's profiles see only part of the heap (a
// tracemalloc recording attached to a running interpreter: it sees only what was allocated
// since it started, so a few blocks allocated once since then are a large share of its total).
struct SnapshotFacts {
    double rss_bytes = 0;
    double collected_heap_bytes = 0;
    double whole_heap_bytes = 0;
};
std::map<std::string, SnapshotFacts> snapshot_facts(const std::filesystem::path& dir, long pid);

// The suspects of `snapshots` (at least k_min_suspect_snapshots, taken at different profile
// times) by `sample_index` ("inuse_space" or "inuse_objects"), after comparing the heap's growth
// with the RSS's (see SnapshotSuspects::growth_outside_heap). `progress` (optional) is told
// (snapshots aggregated, total). Throws util::Error naming the files when there are too few or
// two share a time.
SnapshotSuspects find_snapshot_suspects(std::vector<SuspectSnapshot> snapshots,
                                        symbolize::Symbolizer& symbolizer,
                                        const std::string& sample_index,
                                        const std::function<void(size_t, size_t)>& progress = {});

// Goroutine suspects over Go goroutine profiles (goroutine.PID.NNNN.pb.gz): each profile's
// stacks grouped by profile::group_goroutines (the runtime's frames folded into the state they
// wait in), one count series per group, ranked by trend::find_suspects with unit "goroutines":
// "1,204 goroutines blocked in chan receive in main.handleRequest.func1 (main.go:42), +310/min".
struct GoroutineSuspects {
    trend::SuspectReport report;
    int64_t first_total = 0;         // goroutines in the earliest profile
    int64_t last_total = 0;          // ... in the latest
    std::vector<std::string> order;  // profile names in time order
};
// At least k_min_suspect_snapshots goroutine profiles at different times (rss_bytes unused);
// util::Error naming the file otherwise.
GoroutineSuspects find_goroutine_suspects(std::vector<SuspectSnapshot> snapshots);

// The row of `leakhunt suspects --json`; rank 0 (unranked sites) is written as null.
nlohmann::json suspect_json(const trend::Suspect& s, size_t rank, const std::string& unit);

}  // namespace leakhunt::report
