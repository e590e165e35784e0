// Restart cadence: when a process was restarted, read from a restart counter (kube-state-metrics'
// kube_pod_container_status_restarts_total, or any counter that steps up once per restart), and
// how regularly. A service the OOM killer restarts every few hours leaks even when each lifetime
// is too short to judge on its own: its cadence is the evidence. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace leakhunt::trend {

// The times at which counter `v` (sampled at t; NaN missing) stepped up: one per restart (a step
// of k counts k restarts at that time). A counter that goes down was reset and counts on.
std::vector<double> restarts_from_counter(std::span<const double> t, std::span<const double> v);

struct Cadence {
    size_t restarts = 0;
    double median_gap_s = 0;  // between consecutive restarts (0 with fewer than two)
    // The gaps' spread: their median absolute deviation over their median (0: a clock).
    double irregularity = 0;
    // Two or more restarts whose gaps are within half their median of it: a rhythm, not chance.
    bool regular = false;
};

Cadence cadence_of(std::span<const double> restart_times);

}  // namespace leakhunt::trend
