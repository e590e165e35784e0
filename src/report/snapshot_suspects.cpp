// find_snapshot_suspects: aggregate each snapshot, one series per site, trend::find_suspects.
#include "report/snapshot_suspects.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <span>
#include <string_view>

#include <fmt/format.h>

#include "profile/goroutines.hpp"
#include "recorddir/record_dir.hpp"
#include "report/site_keys.hpp"
#include "symbolize/aggregate.hpp"
#include "trend/stats.hpp"
#include "util/error.hpp"
#include "util/units.hpp"

namespace leakhunt::report {
namespace {

struct Aggregated {
    std::string name;
    unsigned index = 0;
    int64_t time_nanos = 0;
    symbolize::Aggregate rows;
    double period = 0;  // mean bytes between samples; 0: not a sampled heap profile
    double rss_bytes = 0;
    const profile::Profile* profile = nullptr;
};

// The runtime whose own heap the process keeps, told by the code it mapped (profiles keep their
// mappings' file names); "" for none known. Untrusted names are only compared, never shown.
std::string_view runtime_of(const profile::Profile& p) {
    for (const auto& m : p.mappings) {
        const std::string_view file = m.filename;
        const std::string_view base = file.substr(file.rfind('/') + 1);
        if (base == "node" || base.starts_with("libnode.so")) return "Node.js";
        if (base == "libjvm.so") return "Java";
        if (base.starts_with("libpython") || base.starts_with("python3") || base == "python") {
            return "Python";
        }
    }
    return "";
}

// The sentence of SnapshotSuspects::growth_outside_heap, or "". Growth is the Theil-Sen trend
// over the window, not last - first: a churning heap's total jumps by megabytes between
// snapshots, and a leak beside it must not read as no growth. Even the total's trend can sit
// near zero under churn that large while one site grows steadily, so the heap's growth is the
// larger of that trend and the sites' own summed growth (`sites_growth_bytes`).
std::string growth_outside_heap(const std::vector<Aggregated>& snaps, std::span<const double> t,
                                double sites_growth_bytes) {
    std::vector<double> rss;
    std::vector<double> heap;
    for (const auto& s : snaps) {
        if (!(s.rss_bytes > 0)) return "";  // unknown: 0 or NaN (an empty timeline cell)
        rss.push_back(s.rss_bytes);
        heap.push_back(static_cast<double>(s.rows.total.inuse_bytes));
    }
    const double window = t.back() - t.front();
    const double rss_growth = trend::theil_sen(t, rss).slope * window;
    const double heap_growth =
        std::max(trend::theil_sen(t, heap).slope * window, sites_growth_bytes);
    const Aggregated& last = snaps.back();
    const std::string_view runtime = runtime_of(*last.profile);
    const double share =
        runtime.empty() ? k_native_heap_share_of_rss_growth : k_heap_share_of_rss_growth;
    if (rss_growth < k_min_rss_growth_bytes || heap_growth >= share * rss_growth) return "";
    const std::string said = fmt::format(
        "RSS grew {}, the profiled heap {} ({:.2g}% of it): the growth is not in the heap these "
        "snapshots profile",
        util::format_bytes(rss_growth), util::format_bytes(heap_growth),
        100.0 * std::max(0.0, heap_growth) / rss_growth);
    if (runtime == "Node.js") {
        return said +
               "; it is in the Node.js runtime's own heap (V8): take a heap snapshot "
               "(node --heapsnapshot-signal=SIGUSR2, or the inspector)";
    }
    if (runtime == "Java") {
        return said +
               "; it is in the JVM's own heap: take a heap dump (jcmd PID GC.heap_dump "
               "FILE.hprof)";
    }
    if (runtime == "Python") {
        return said +
               "; it is in the Python runtime's own heap (pymalloc arenas): take "
               "tracemalloc snapshots or a gc object graph";
    }
    return said +
           "; it is in a runtime's own heap (take its heap snapshot), in memory mapped "
           "outside malloc, or in fragmentation (RSS grows while in-use bytes stay flat)";
}

// The sentence of SnapshotSuspects::filling_in, or "".
std::string filling_in(std::span<const double> t, std::span<const double> collected,
                       const trend::SuspectReport& report) {
    if (report.suspects.empty() || collected.size() != t.size()) return "";
    double sites_growth = 0;
    for (const auto& s : report.suspects) sites_growth += s.trend.net_growth;
    const double window = t.back() - t.front();
    const double heap_growth = trend::theil_sen(t, collected).slope * window;
    const trend::MannKendall mk = trend::mann_kendall(collected);
    if (sites_growth <= 0 || (mk.p_up < k_collected_heap_p &&
                              heap_growth >= k_collected_heap_share_of_sites * sites_growth)) {
        return "";
    }
    return fmt::format(
        "The runtime's heap after a full collection did not grow with the sampled sites ({} -> "
        "{}, trend {}, Mann-Kendall p {:.2g}; the sites rose {}): the sampling profiler sees only "
        "what was allocated since it started, so long-lived objects fill it in without any "
        "growth",
        util::format_bytes(collected.front()), util::format_bytes(collected.back()),
        util::format_bytes(heap_growth), mk.p_up, util::format_bytes(sites_growth));
}

// Sorts `snapshots` by profile time (then by NNNN), fills `order` with their names and returns
// their times in seconds from the first. Throws util::Error naming two that share a time.
std::vector<double> order_by_time(std::vector<SuspectSnapshot>& snapshots,
                                  std::vector<std::string>& order) {
    std::stable_sort(snapshots.begin(), snapshots.end(),
                     [](const SuspectSnapshot& a, const SuspectSnapshot& b) {
                         const int64_t ta = a.profile->time_nanos;
                         const int64_t tb = b.profile->time_nanos;
                         return ta != tb ? ta < tb : a.index < b.index;
                     });
    std::vector<double> t;
    const int64_t first = snapshots.front().profile->time_nanos;
    for (size_t i = 0; i < snapshots.size(); ++i) {
        const int64_t ti = snapshots[i].profile->time_nanos;
        if (i > 0 && ti <= snapshots[i - 1].profile->time_nanos) {
            throw util::Error(
                "{} and {} carry the same profile time ({} ns): suspects needs "
                "snapshots taken at different times",
                snapshots[i - 1].name, snapshots[i].name, ti);
        }
        t.push_back(static_cast<double>(ti - first) / 1e9);
        order.push_back(snapshots[i].name);
    }
    return t;
}

// The series of `identity` in `sites`, its key's identity set and its values zero at each of the
// `snapshots` snapshots when new.
trend::SiteSeries& series_of(std::map<std::string, trend::SiteSeries>& sites,
                             const std::string& identity, size_t snapshots) {
    trend::SiteSeries& s = sites[identity];
    if (s.values.empty()) {
        s.key.identity = identity;
        s.values.assign(snapshots, 0.0);
    }
    return s;
}

// The series of `sites` in identity order.
std::vector<trend::SiteSeries> in_identity_order(std::map<std::string, trend::SiteSeries>& sites) {
    std::vector<trend::SiteSeries> series;
    series.reserve(sites.size());
    for (auto& [identity, s] : sites) series.push_back(std::move(s));
    return series;
}

}  // namespace

SnapshotSuspects find_snapshot_suspects(std::vector<SuspectSnapshot> snapshots,
                                        symbolize::Symbolizer& symbolizer,
                                        const std::string& sample_index,
                                        const std::function<void(size_t, size_t)>& progress) {
    if (snapshots.size() < k_min_suspect_snapshots) {
        throw util::Error("suspects needs at least {} snapshots to see a trend, {} given",
                          k_min_suspect_snapshots, snapshots.size());
    }
    SnapshotSuspects out;
    const std::vector<double> t = order_by_time(snapshots, out.order);
    symbolize::AggregateOptions options;
    options.sort_by = sample_index;
    std::vector<Aggregated> snaps;
    snaps.reserve(snapshots.size());
    for (const auto& s : snapshots) {
        if (progress) progress(snaps.size(), snapshots.size());
        const profile::Profile& p = *s.profile;
        if (!profile::sample_type_index(p, sample_index)) {
            // aggregate() would say "choose one of those with --sample-index", which suspects
            // cannot take: it follows what a heap holds.
            throw util::Error(
                "{} has no sample type {} (it has: {}): suspects follows the "
                "in-use values of heap profiles (inuse_space, inuse_objects)",
                s.name, sample_index, profile::sample_type_names(p));
        }
        snaps.push_back(
            {s.name, s.index, p.time_nanos, symbolize::aggregate(p, symbolizer, options, s.name),
             p.period > 1 && p.period_type.type == "space" ? static_cast<double>(p.period) : 0.0,
             s.rss_bytes, &p});
    }
    if (progress) progress(snaps.size(), snapshots.size());

    // Sampled profiles (pprof's period: mean bytes between samples) give estimates: v bytes from
    // about v / period samples, a standard error of about sqrt(v * period) (less for blocks
    // larger than the period, which are always sampled); objects get the same relative error.
    const bool sampled =
        std::all_of(snaps.begin(), snaps.end(), [](const Aggregated& a) { return a.period > 1; });

    // One series per site; its key from the latest snapshot holding it (the callee from the
    // latest that names one). A JVM class (a class histogram's row) counts its instances too.
    std::map<std::string, trend::SiteSeries> sites;
    std::set<std::string> classes;
    for (size_t i = 0; i < snaps.size(); ++i) {
        for (const auto& r : snaps[i].rows.rows) {
            const int64_t v = r.flat.get(sample_index);
            if (v == 0) continue;
            trend::SiteSeries& s = series_of(sites, r.name, snaps.size());
            s.values[i] = static_cast<double>(v);
            if (sampled) {
                if (s.stderr_values.empty()) s.stderr_values.assign(snaps.size(), 0.0);
                const auto bytes = static_cast<double>(r.flat.get("inuse_space"));
                if (bytes > 0)
                    s.stderr_values[i] = s.values[i] * std::sqrt(snaps[i].period / bytes);
            }
            s.key.name = r.function;
            s.key.file = r.file;
            s.key.line = r.line;
            s.key.module = r.module;
            if (!r.callee.empty()) s.key.callee = r.callee;
            if (profile::is_java_class_mapping(r.module)) {
                classes.insert(r.name);
                s.key.rank_last = is_jdk_module(profile::java_class_mapping_module(r.module));
                if (s.instances.empty()) s.instances.assign(snaps.size(), 0.0);
                s.instances[i] = static_cast<double>(r.flat.get("inuse_objects"));
            }
        }
    }
    out.unit = sample_index == "inuse_space" ? "bytes" : "objects";
    for (auto& [identity, s] : sites) {
        s.key.label =
            classes.contains(identity) ? class_label(s.key) : allocation_label(s.key, out.unit);
    }
    std::vector<trend::SiteSeries> series = in_identity_order(sites);
    out.report = trend::find_suspects(t, std::move(series), out.unit,
                                      out.unit == "bytes" ? snapshots.back().whole_heap_bytes : 0);
    out.growth_outside_heap =
        growth_outside_heap(snaps, t, out.unit == "bytes" ? out.report.total_growth : 0.0);
    // Not the leak: the ranked sites stay listed (--all), ranked by nothing.
    const auto unrank = [&out] {
        auto& others = out.report.others;
        others.insert(others.begin(), std::make_move_iterator(out.report.suspects.begin()),
                      std::make_move_iterator(out.report.suspects.end()));
        out.report.suspects.clear();
    };
    if (!out.growth_outside_heap.empty()) unrank();
    std::vector<double> collected;
    for (const auto& s : snapshots) {
        if (!(s.collected_heap_bytes > 0)) break;  // unknown: 0 or NaN (an empty timeline cell)
        collected.push_back(s.collected_heap_bytes);
    }
    if (out.unit == "bytes" && out.growth_outside_heap.empty()) {
        out.filling_in = filling_in(t, collected, out.report);
        if (!out.filling_in.empty()) unrank();
    }
    out.first_total = snaps.front().rows.total.get(sample_index);
    out.last_total = snaps.back().rows.total.get(sample_index);
    return out;
}

std::map<std::string, SnapshotFacts> snapshot_facts(const std::filesystem::path& dir, long pid) {
    std::map<std::string, SnapshotFacts> out;
    const auto manifest = recorddir::read_manifest(dir);
    const bool partial =
        manifest && manifest->capture == "tracemalloc" && manifest->command.empty();
    for (const auto& row : recorddir::read_timeline(dir, pid)) {
        if (row.snapshot.empty()) continue;
        SnapshotFacts& f = out[row.snapshot];
        f.rss_bytes = row.rss_bytes;
        if (partial) f.whole_heap_bytes = row.rss_bytes;
        if (const auto js = row.counters.find("js_heap_used_bytes"); js != row.counters.end())
            f.collected_heap_bytes = js->second;
    }
    return out;
}

GoroutineSuspects find_goroutine_suspects(std::vector<SuspectSnapshot> snapshots) {
    if (snapshots.size() < k_min_suspect_snapshots) {
        throw util::Error("suspects needs at least {} goroutine profiles to see a trend, {} given",
                          k_min_suspect_snapshots, snapshots.size());
    }
    GoroutineSuspects out;
    const std::vector<double> t = order_by_time(snapshots, out.order);
    // One series per stack group; identity from the latest snapshot holding it.
    std::map<std::string, trend::SiteSeries> groups;
    for (size_t i = 0; i < snapshots.size(); ++i) {
        const profile::Profile& p = *snapshots[i].profile;
        const int64_t total = profile::goroutine_count(p, snapshots[i].name);
        if (i == 0) out.first_total = total;
        out.last_total = total;
        for (auto& g : profile::group_goroutines(p, snapshots[i].name)) {
            trend::SiteSeries& s = series_of(groups, g.key, snapshots.size());
            s.values[i] = static_cast<double>(g.count);
            s.key.name = std::move(g.function);
            s.key.file = std::move(g.file);
            s.key.line = g.line;
            s.key.state = std::move(g.state);
        }
    }
    for (auto& [identity, s] : groups) s.key.label = goroutine_label(s.key);
    out.report = trend::find_suspects(t, in_identity_order(groups), "goroutines");
    return out;
}

nlohmann::json suspect_json(const trend::Suspect& s, size_t rank, const std::string& unit) {
    const trend::SiteTrend& t = s.trend;
    nlohmann::json j = {{"rank", rank == 0 ? nlohmann::json(nullptr) : nlohmann::json(rank)},
                        {"function", s.site.key.name},
                        {"file", s.site.key.file},
                        {"line", s.site.key.line},
                        {"module", s.site.key.module},
                        {"callee", s.site.key.callee},
                        {"shape", trend::shape_name(t.shape)},
                        {"minor", s.minor},
                        {"growth_per_hour", t.slope_per_hour},
                        {"unit", unit},
                        {"share_of_growth", s.share_of_growth},
                        {"confidence", t.confidence},
                        {"monotone", t.monotone},
                        {"tau", t.tau},
                        {"p_value", t.p_up},
                        {"first", t.first},
                        {"last", t.last},
                        {"min", t.min},
                        {"max", t.max},
                        {"sentence", s.sentence}};
    if (unit == "goroutines") j["state"] = s.site.key.state;
    j["growth_bytes_per_hour"] =
        unit == "bytes" ? nlohmann::json(t.slope_per_hour) : nlohmann::json(nullptr);
    return j;
}

}  // namespace leakhunt::report
