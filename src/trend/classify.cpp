// classify() and replay(): the memory verdict, flags, limit and detection latency of a Series.
#include "trend/classify.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "trend/segment.hpp"
#include "trend/stats.hpp"
#include "util/units.hpp"

namespace leakhunt::trend {
namespace {

struct Clean {
    std::vector<double> t, v;
};

// Samples of one column without missing values.
Clean column_values(const series::Series& s, std::string_view name) {
    Clean c;
    const auto* col = s.column(name);
    if (col == nullptr) return c;
    for (size_t i = 0; i < s.t.size() && i < col->size(); ++i) {
        if (std::isfinite((*col)[i])) {
            c.t.push_back(s.t[i]);
            c.v.push_back((*col)[i]);
        }
    }
    return c;
}

std::optional<double> last_finite(const series::Series& s, std::string_view name) {
    const auto* col = s.column(name);
    if (col == nullptr) return std::nullopt;
    for (auto it = col->rbegin(); it != col->rend(); ++it) {
        if (std::isfinite(*it) && *it > 0) return *it;
    }
    return std::nullopt;
}

Options::Instances instances_of(const series::Series& s) {
    return s.instances_known ? Options::Instances::known : Options::Instances::unknown;
}

Verdict verdict_at(const Clean& c, size_t end, const Options& o, std::span<const double> restarts) {
    return assess(std::span<const double>(c.t).first(end), std::span<const double>(c.v).first(end),
                  o, restarts)
        .verdict;
}

// Evaluation points for a replay: every `stride` samples from the first that can say anything.
size_t replay_stride(size_t n, size_t points) {
    return std::max<size_t>(1, n / points);
}

void add_flag(Assessment& a, const series::Series& s, std::string_view column,
              std::string_view flag, std::string_view what) {
    Clean c = column_values(s, column);
    if (c.t.size() < k_min_samples_leak) return;
    Options o;
    o.instances = instances_of(s);
    o.bytes = false;
    o.what = what;
    Assessment r = assess(c.t, c.v, o, s.restart_times);
    if (r.verdict != Verdict::leak) return;
    a.flags.emplace_back(flag);
    a.evidence.push_back(fmt::format("{} grow too: from {:.0f} to {:.0f} ({:+.1f}/h)", what,
                                     c.v.front(), c.v.back(), r.growth_bytes_per_hour));
}

// Memory per unit of work, when the series counts its work: its verdict replaces the clock's.
void judge_per_work(Classification& out, const series::Series& s, const Clean& memory,
                    const WorkOptions& options) {
    const bool total = s.column(series::k_work_total) != nullptr;
    if (!total && s.column(series::k_work_rate) == nullptr) return;
    Clean work = column_values(s, total ? series::k_work_total : series::k_work_rate);
    // On the memory samples' times (column_values dropped the missing ones of either).
    std::vector<double> w(memory.t.size(), std::numeric_limits<double>::quiet_NaN());
    size_t j = 0;
    for (size_t i = 0; i < memory.t.size(); ++i) {
        while (j < work.t.size() && work.t[j] < memory.t[i]) ++j;
        if (j < work.t.size() && work.t[j] == memory.t[i]) w[i] = work.v[j];
    }
    w = cumulative_work(memory.t, w, total ? WorkKind::total : WorkKind::rate);
    WorkAssessment per = assess_per_work(memory.t, memory.v, w, options);
    Assessment& a = out.memory;
    std::vector<std::string> evidence = per.evidence;
    if (per.verdict != Verdict::inconclusive && per.verdict != a.verdict) {
        evidence.push_back(
            fmt::format("judged per {} done: over time alone memory would be judged "
                        "{}",
                        options.unit, to_string(a.verdict)));
        a.verdict = per.verdict;
        if (a.verdict == Verdict::leak) {
            a.confidence = std::max(a.confidence, 1.0 - per.p_value);
        } else {
            a.projected_limit_at_s.reset();
        }
        a.watch_more_s.reset();
    }
    a.evidence.insert(a.evidence.begin(), evidence.begin(), evidence.end());
    out.per_work = std::move(per);
}

// Go's runtime holding memory its heap does not use (the timeline's Go columns, from
// runtime.MemStats): over the last third of the samples (medians, so one GC's moment does not
// decide), HeapSys at least k_go_sys_over_inuse times HeapInuse, idle memory not returned to the
// OS (HeapIdle - HeapReleased) at least HeapInuse and at least k_go_min_retained_idle_bytes, and
// HeapReleased under half of HeapIdle. A GC frees objects, not those spans: they go back only
// when the scavenger releases them, so runtime.GC() gives little back.
constexpr double k_go_sys_over_inuse = 2.0;
constexpr double k_go_min_retained_idle_bytes = 64.0 * 1024 * 1024;

void add_go_fragmentation(Assessment& a, const series::Series& s) {
    const auto* sys = s.column(series::k_go_heap_sys);
    const auto* idle = s.column(series::k_go_heap_idle);
    const auto* inuse = s.column(series::k_go_heap_inuse);
    const auto* released = s.column(series::k_go_heap_released);
    if (!sys || !idle || !inuse || !released) return;
    std::vector<std::array<double, 4>> rows;
    for (size_t i = 0; i < s.t.size(); ++i) {
        const std::array<double, 4> r{(*sys)[i], (*idle)[i], (*inuse)[i], (*released)[i]};
        if (std::all_of(r.begin(), r.end(), [](double v) { return std::isfinite(v); })) {
            rows.push_back(r);
        }
    }
    if (rows.size() < 3) return;
    const size_t late = rows.size() - std::max<size_t>(1, rows.size() / 3);
    std::array<double, 4> m{};
    for (size_t c = 0; c < 4; ++c) {
        std::vector<double> v;
        for (size_t i = late; i < rows.size(); ++i) v.push_back(rows[i][c]);
        m[c] = median(v);
    }
    const auto [heap_sys, heap_idle, heap_inuse, heap_released] = m;
    const double retained = heap_idle - heap_released;
    if (heap_sys < k_go_sys_over_inuse * heap_inuse || retained < heap_inuse ||
        retained < k_go_min_retained_idle_bytes || heap_released >= 0.5 * heap_idle) {
        return;
    }
    a.flags.emplace_back("go_fragmentation");
    a.evidence.push_back(fmt::format(
        "Go's runtime holds {} of heap (HeapSys) and uses {} of it (HeapInuse); {} is idle "
        "(HeapIdle) and only {} of that went back to the OS (HeapReleased): runtime memory high, "
        "in-use heap low, and runtime.GC() gives little back (fragmentation, or idle spans the "
        "scavenger keeps; medians of the last {} samples)",
        util::format_bytes(heap_sys), util::format_bytes(heap_inuse), util::format_bytes(heap_idle),
        util::format_bytes(heap_released), rows.size() - late));
}

}  // namespace

Classification classify(const series::Series& s, const ClassifyOptions& options) {
    Classification out;
    Options o = options.engine;
    o.instances = instances_of(s);
    if (!o.limit_bytes) o.limit_bytes = last_finite(s, series::k_cgroup_limit);
    out.limit_bytes = o.limit_bytes;
    Clean c = column_values(s, series::k_rss);
    out.memory = assess(c.t, c.v, o, s.restart_times);
    Assessment& a = out.memory;

    add_flag(a, s, series::k_fds, "fd_growth", "open fds");
    add_flag(a, s, series::k_threads, "thread_growth", "threads");
    add_flag(a, s, series::k_goroutines, "goroutine_growth", "goroutines");
    add_go_fragmentation(a, s);
    if (a.verdict == Verdict::leak) {
        Clean heap = column_values(s, series::k_heap_inuse);
        if (heap.t.size() >= k_min_samples_settled) {
            Assessment h = assess(heap.t, heap.v, o, s.restart_times);
            if (h.verdict != Verdict::leak) {
                a.flags.emplace_back("fragmentation");
                a.evidence.push_back(fmt::format(
                    "the allocator's in-use bytes do not grow ({}): RSS growth looks like "
                    "fragmentation or allocator caching rather than live objects",
                    to_string(h.verdict)));
            }
        }
    }

    out.time_verdict = a.verdict;
    judge_per_work(out, s, c, options.work);

    if (options.detection_latency && a.verdict == Verdict::leak &&
        out.time_verdict == Verdict::leak) {
        const size_t n = c.t.size();
        const size_t stride = replay_stride(n, 240);
        size_t prev = 0;
        for (size_t end = k_min_samples_leak; end <= n; end += stride) {
            if (verdict_at(c, end, o, s.restart_times) == Verdict::leak) {
                // Refine between the previous evaluation and this one.
                size_t lo = std::max(prev + 1, k_min_samples_leak);
                size_t step = std::max<size_t>(1, (end - lo) / 16);
                size_t found = end;
                for (size_t e = lo; e < end; e += step) {
                    if (verdict_at(c, e, o, s.restart_times) == Verdict::leak) {
                        found = e;
                        break;
                    }
                }
                out.first_leak_at_s = c.t[found - 1];
                break;
            }
            prev = end;
            if (end + stride > n && end != n) end = n - stride;  // always evaluate the full series
        }
        if (!out.first_leak_at_s) out.first_leak_at_s = c.t.back();
        a.evidence.push_back(fmt::format("first judged a leak {} into the series (at t = {:.0f} s)",
                                         util::format_duration(*out.first_leak_at_s - c.t.front()),
                                         *out.first_leak_at_s));
    }
    return out;
}

std::vector<VerdictChange> replay(const series::Series& s, const Options& options, size_t points) {
    std::vector<VerdictChange> changes;
    Options o = options;
    o.instances = instances_of(s);
    if (!o.limit_bytes) o.limit_bytes = last_finite(s, series::k_cgroup_limit);
    Clean c = column_values(s, series::k_rss);
    const size_t n = c.t.size();
    if (n == 0) return changes;
    const size_t stride = replay_stride(n, points);
    std::vector<size_t> ends;
    for (size_t end = std::min<size_t>(n, 2); end < n; end += stride) ends.push_back(end);
    ends.push_back(n);
    for (size_t end : ends) {
        Assessment a = assess(std::span<const double>(c.t).first(end),
                              std::span<const double>(c.v).first(end), o, s.restart_times);
        if (changes.empty() || changes.back().verdict != a.verdict) {
            changes.push_back({c.t[end - 1], end, a.verdict, a.growth_bytes_per_hour});
        }
    }
    return changes;
}

}  // namespace leakhunt::trend
