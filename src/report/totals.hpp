// The report's summary totals, as memray's and heaptrack_gui's summaries give them, from what the
// inputs hold and with the definitions of the commands that compute each one elsewhere:
//   peak / last RSS and heap in use      the series (timeline)
//   in use, objects, allocations          the latest drawn snapshot (`leakhunt top`'s sums)
//   leaked                                a heap scan's blocks that no root reaches, direct and
//                                         indirect, as `leakhunt leaks` counts them
//   still allocated at exit               the exit snapshot's in-use bytes and objects (what
//                                         heaptrack and memray call leaked: never freed before
//                                         the end); exact only when every allocation was recorded
//   temporary allocations                 heaptrack's: an allocation freed with no other allocation
//                                         made in between (by its thread): the agent counts them
//                                         when it records every allocation (`record --all`, the
//                                         timeline's temporary_allocations); else "not recorded"
//                                         with the reason, never a number.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "heapscan/scan_file.hpp"
#include "series/series.hpp"
#include "symbolize/aggregate.hpp"

namespace leakhunt::report {

// A heap scan's unreachable blocks (heapscan::build_leaks, as `leakhunt leaks`).
struct ScanLeaks {
    std::string scan;  // the scan's file name
    uint64_t direct_bytes = 0, direct_objects = 0;
    uint64_t indirect_bytes = 0, indirect_objects = 0;
};
ScanLeaks scan_leaks(const heapscan::ScanFile& scan, std::string name);

// The exit snapshot's in-use totals (profile::in_use_totals).
struct ExitInUse {
    std::string snapshot;  // its file name
    int64_t bytes = 0, objects = 0;
    std::string sampling;  // the manifest's, e.g. "every allocation"; "" when unknown
};

// The timeline column of the agent's count (format::k_timeline_full_header).
inline constexpr std::string_view k_temporary_column = "temporary_allocations";
// Why the temporary allocations are not in a report.
inline constexpr std::string_view k_temporary_not_recorded =
    "not recorded: an allocation freed before its thread allocated again (heaptrack's "
    "definition) is counted only when every allocation is recorded: `leakhunt record --all`";

struct TotalsInputs {
    const series::Series* series = nullptr;
    const symbolize::Aggregate* latest = nullptr;  // the latest drawn snapshot
    std::optional<ScanLeaks> leaks;
    std::optional<ExitInUse> at_exit;
    // The agent's count, when a series other than the one drawn had it; else the drawn series'
    // column is read.
    std::optional<double> temporary;
};

// The last value of a series' temporary_allocations column; nullopt without one.
std::optional<double> last_temporary_allocations(const series::Series& s);

// {peak_rss_bytes, last_rss_bytes, peak_heap_bytes, last_heap_bytes, snapshot_inuse_bytes,
//  snapshot_inuse_objects, snapshot_allocations, snapshot_alloc_bytes, leaked_bytes,
//  leaked_objects, leaked_direct_bytes, leaked_direct_objects, leaked_scan, exit_inuse_bytes,
//  exit_inuse_objects, exit_snapshot, exit_sampling, exit_exact, temporary_allocations (null
//  when not recorded), temporary_allocations_note (then)}, each only where the inputs have it.
nlohmann::json totals_json(const TotalsInputs& in);

}  // namespace leakhunt::report
