// PerfCounter.print prints one counter per line, sorted by name:
//   sun.gc.generation.1.space.0.used=451875016
//   sun.gc.collector.0.name="G1 young collection pauses"
// (jdk.jcmd's sun.tools.jcmd.JCmd.listCounters). The generations are HotSpot's jstat view:
// generation 0 is young (eden and survivors), 1 is old; collectors are numbered from 0.
#include "capture/java/perf_counters.hpp"

#include <charconv>
#include <cmath>

#include "proc/text_scan.hpp"

namespace leakhunt::capture::java {
namespace {

using proc::detail::next_line;
using proc::detail::trim;

constexpr size_t k_max_name = 256;

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > k_max_name) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::optional<double> number(std::string_view s) {
    s = trim(s);
    if (s.empty()) return std::nullopt;
    double v = 0;
    const char* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, v);
    if (ec != std::errc{} || ptr != end || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::optional<double> get(const PerfCounters& c, std::string_view name) {
    const auto it = c.find(name);
    if (it == c.end()) return std::nullopt;
    return it->second;
}

// The sum of `prefix.N.suffix` over N = 0, 1, ... while present; nullopt when N = 0 is absent.
std::optional<double> sum_numbered(const PerfCounters& c, std::string_view prefix,
                                   std::string_view suffix, int limit = 64) {
    std::optional<double> total;
    for (int i = 0; i < limit; ++i) {
        const auto v =
            get(c, std::string(prefix) + "." + std::to_string(i) + "." + std::string(suffix));
        if (!v) break;
        total = total.value_or(0) + *v;
    }
    return total;
}

// Used bytes of generation `gen`: the sum of its spaces' used counters.
std::optional<double> generation_used(const PerfCounters& c, int gen) {
    return sum_numbered(c, "sun.gc.generation." + std::to_string(gen) + ".space", "used");
}

}  // namespace

PerfCounters parse_perf_counters(std::string_view text) {
    PerfCounters out;
    std::string_view rest = text, line;
    while (next_line(rest, line) && out.size() < k_max_counters) {
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view name = trim(line.substr(0, eq));
        if (!valid_name(name)) continue;
        const auto v = number(line.substr(eq + 1));
        if (!v) continue;  // a string counter, or garbage
        out.insert_or_assign(std::string(name), *v);
    }
    return out;
}

std::vector<std::string> jvm_counter_columns() {
    return {"heap_used_bytes",
            "heap_committed_bytes",
            "old_gen_used_bytes",
            "metaspace_used_bytes",
            "metaspace_committed_bytes",
            "threads",
            "gc_count",
            "gc_time_s"};
}

std::map<std::string, double> jvm_counters(const PerfCounters& c) {
    std::map<std::string, double> out;
    const auto young = generation_used(c, 0);
    const auto old = generation_used(c, 1);
    if (young && old) out["heap_used_bytes"] = *young + *old;
    if (old) out["old_gen_used_bytes"] = *old;
    const auto young_cap = get(c, "sun.gc.generation.0.capacity");
    const auto old_cap = get(c, "sun.gc.generation.1.capacity");
    if (young_cap && old_cap) out["heap_committed_bytes"] = *young_cap + *old_cap;
    if (const auto v = get(c, "sun.gc.metaspace.used")) out["metaspace_used_bytes"] = *v;
    if (const auto v = get(c, "sun.gc.metaspace.capacity")) out["metaspace_committed_bytes"] = *v;
    if (const auto v = get(c, "java.threads.live")) out["threads"] = *v;
    if (const auto v = sum_numbered(c, "sun.gc.collector", "invocations")) out["gc_count"] = *v;
    const auto ticks = sum_numbered(c, "sun.gc.collector", "time");
    const auto hz = get(c, "sun.os.hrt.frequency");
    if (ticks && hz && *hz > 0) out["gc_time_s"] = *ticks / *hz;
    return out;
}

}  // namespace leakhunt::capture::java
