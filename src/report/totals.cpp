// The report's summary totals (see totals.hpp).
#include "report/totals.hpp"

#include <cmath>
#include <string_view>
#include <vector>

#include "heapscan/retention.hpp"

namespace leakhunt::report {

ScanLeaks scan_leaks(const heapscan::ScanFile& scan, std::string name) {
    const heapscan::LeakReport r = heapscan::build_leaks(scan);
    ScanLeaks out;
    out.scan = std::move(name);
    out.direct_bytes = r.direct_bytes;
    out.direct_objects = r.direct_count;
    out.indirect_bytes = r.indirect_bytes;
    out.indirect_objects = r.indirect_count;
    return out;
}

std::optional<double> last_temporary_allocations(const series::Series& s) {
    std::optional<double> out;
    if (const std::vector<double>* v = s.column(k_temporary_column)) {
        for (double x : *v) {
            if (std::isfinite(x)) out = x;
        }
    }
    return out;
}

nlohmann::json totals_json(const TotalsInputs& in) {
    nlohmann::json t = nlohmann::json::object();
    auto peak_and_last = [&](std::string_view column, const char* peak, const char* last) {
        const std::vector<double>* v = in.series ? in.series->column(column) : nullptr;
        if (v == nullptr) return;
        std::optional<double> hi, end;
        for (double x : *v) {
            if (!std::isfinite(x)) continue;
            if (!hi || x > *hi) hi = x;
            end = x;
        }
        if (hi) t[peak] = *hi;
        if (end) t[last] = *end;
    };
    peak_and_last(series::k_rss, "peak_rss_bytes", "last_rss_bytes");
    peak_and_last(series::k_heap_inuse, "peak_heap_bytes", "last_heap_bytes");
    if (in.latest != nullptr) {
        t["snapshot_inuse_bytes"] = in.latest->total.inuse_bytes;
        t["snapshot_inuse_objects"] = in.latest->total.inuse_objects;
        if (in.latest->total.alloc_objects > 0) {
            t["snapshot_alloc_bytes"] = in.latest->total.alloc_bytes;
            t["snapshot_allocations"] = in.latest->total.alloc_objects;
        }
    }
    if (in.leaks) {
        const ScanLeaks& l = *in.leaks;
        t["leaked_bytes"] = l.direct_bytes + l.indirect_bytes;
        t["leaked_objects"] = l.direct_objects + l.indirect_objects;
        t["leaked_direct_bytes"] = l.direct_bytes;
        t["leaked_direct_objects"] = l.direct_objects;
        t["leaked_scan"] = l.scan;
    }
    if (in.at_exit) {
        t["exit_inuse_bytes"] = in.at_exit->bytes;
        t["exit_inuse_objects"] = in.at_exit->objects;
        t["exit_snapshot"] = in.at_exit->snapshot;
        t["exit_sampling"] = in.at_exit->sampling;
        t["exit_exact"] = in.at_exit->sampling.starts_with("every allocation");
    }
    // The agent's count in full mode (its timeline's last value); else said whenever the page
    // has allocation data at all, so that its absence is explained.
    std::optional<double> temporary = in.temporary;
    if (!temporary && in.series != nullptr) temporary = last_temporary_allocations(*in.series);
    if (temporary) {
        t["temporary_allocations"] = static_cast<uint64_t>(*temporary);
    } else if (in.latest != nullptr || in.leaks || in.at_exit) {
        t["temporary_allocations"] = nullptr;
        t["temporary_allocations_note"] = std::string(k_temporary_not_recorded);
    }
    return t;
}

}  // namespace leakhunt::report
