// The Go endpoints' URLs, the two runtime.MemStats readers (heap?debug=1's text, expvar's JSON)
// and the timeline columns.
#include "capture/go/memstats.hpp"

#include <charconv>
#include <cstdint>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "profile/fetch.hpp"
#include "series/series.hpp"
#include "util/error.hpp"

namespace leakhunt::capture::go {
namespace {

constexpr std::string_view k_block = "# runtime.MemStats";

// A field's value, shown in an error: its start, printable.
std::string shown(std::string_view v) {
    std::string out;
    for (char c : v.substr(0, 40)) {
        out +=
            static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f ? c : '?';
    }
    return out;
}

std::optional<uint64_t> whole(std::string_view v) {
    uint64_t n = 0;
    if (v.empty()) return std::nullopt;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size()) return std::nullopt;
    return n;
}

double field_number(std::string_view v, std::string_view where, std::string_view field) {
    const auto n = whole(v);
    if (!n) {
        throw util::Error("{}: runtime.MemStats field {}: \"{}\" is not a non-negative integer",
                          where, field, shown(v));
    }
    return static_cast<double>(*n);
}

// "[12 0 345]" -> the sum, checking each element.
double pause_sum(std::string_view v, std::string_view where, size_t& count) {
    if (v.size() < 2 || v.front() != '[' || v.back() != ']') {
        throw util::Error("{}: runtime.MemStats field PauseNs: \"{}\" is not a [list]", where,
                          shown(v));
    }
    v = v.substr(1, v.size() - 2);
    double sum = 0;
    count = 0;
    size_t pos = 0;
    while (pos < v.size()) {
        if (v[pos] == ' ') {
            ++pos;
            continue;
        }
        size_t end = v.find(' ', pos);
        if (end == std::string_view::npos) end = v.size();
        if (++count > k_pause_buffer) {
            throw util::Error("{}: runtime.MemStats field PauseNs holds more than {} values", where,
                              k_pause_buffer);
        }
        sum += field_number(v.substr(pos, end - pos), where, "PauseNs");
        pos = end;
    }
    return sum;
}

}  // namespace

std::optional<Endpoints> endpoints_beside(std::string_view heap_url) {
    const profile::Url u = profile::parse_url(heap_url);
    std::string_view path = u.path_and_query;
    path = path.substr(0, path.find('?'));
    if (!path.ends_with("/heap")) return std::nullopt;
    const std::string base = u.scheme_host_port + std::string(path.substr(0, path.size() - 4));
    Endpoints e;
    e.goroutine = base + "goroutine?debug=0";
    e.heap_text = base + "heap?debug=1";
    if (path == "/debug/pprof/heap") e.vars = u.scheme_host_port + "/debug/vars";
    return e;
}

std::optional<MemStats> parse_memstats_text(std::string_view text, std::string_view where) {
    size_t at = 0;
    while (true) {
        at = text.find(k_block, at);
        if (at == std::string_view::npos) return std::nullopt;
        const size_t after = at + k_block.size();
        const bool line_start = at == 0 || text[at - 1] == '\n';
        const bool line_end = after == text.size() || text[after] == '\n' || text[after] == '\r';
        if (line_start && line_end) break;
        at = after;
    }
    MemStats m;
    size_t pos = text.find('\n', at);
    size_t pauses = 0;
    std::optional<double> pause_total;
    while (pos != std::string_view::npos && pos < text.size()) {
        ++pos;
        size_t end = text.find('\n', pos);
        std::string_view line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
        pos = end;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.starts_with("# ")) break;  // the block ends with the comment lines
        line.remove_prefix(2);
        const size_t eq = line.find(" = ");
        if (eq == std::string_view::npos) continue;
        const std::string_view key = line.substr(0, eq);
        const std::string_view value = line.substr(eq + 3);
        if (key == "HeapInuse")
            m.heap_inuse = field_number(value, where, key);
        else if (key == "HeapIdle")
            m.heap_idle = field_number(value, where, key);
        else if (key == "HeapReleased")
            m.heap_released = field_number(value, where, key);
        else if (key == "HeapSys")
            m.heap_sys = field_number(value, where, key);
        else if (key == "NumGC")
            m.num_gc = field_number(value, where, key);
        else if (key == "PauseNs")
            pause_total = pause_sum(value, where, pauses);
    }
    // Every pause is in the buffer while NumGC <= 256; after that the oldest are overwritten.
    if (pause_total && m.num_gc && *m.num_gc <= static_cast<double>(k_pause_buffer)) {
        m.pause_total_ns = *pause_total;
    }
    return m;
}

std::optional<MemStats> parse_expvar_memstats(std::string_view text, std::string_view where) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        throw util::Error("{}: not JSON (expected expvar's /debug/vars)", where);
    }
    if (!j.is_object() || !j.contains("memstats")) return std::nullopt;
    const nlohmann::json& ms = j["memstats"];
    if (!ms.is_object()) throw util::Error("{}: field memstats is not an object", where);
    const auto field = [&](const char* key) -> std::optional<double> {
        const auto it = ms.find(key);
        if (it == ms.end()) return std::nullopt;
        if (!it->is_number() || it->get<double>() < 0) {
            throw util::Error("{}: field memstats.{} is not a non-negative number", where, key);
        }
        return it->get<double>();
    };
    MemStats m;
    m.heap_inuse = field("HeapInuse");
    m.heap_idle = field("HeapIdle");
    m.heap_released = field("HeapReleased");
    m.heap_sys = field("HeapSys");
    m.num_gc = field("NumGC");
    m.pause_total_ns = field("PauseTotalNs");
    return m;
}

std::vector<std::string> go_counter_columns() {
    std::vector<std::string> out;
    for (std::string_view c :
         {series::k_goroutines, series::k_go_heap_inuse, series::k_go_heap_idle,
          series::k_go_heap_released, series::k_go_heap_sys, series::k_go_gc_count,
          series::k_go_gc_pause_total}) {
        out.emplace_back(c);
    }
    return out;
}

std::map<std::string, double> go_counters(const std::optional<MemStats>& m,
                                          std::optional<double> goroutines) {
    std::map<std::string, double> out;
    // Divided, not multiplied by 1e-9: 21572 / 1e9 is the double nearest 2.1572e-05, so the
    // timeline shows 2.1572e-05 rather than 2.1572000000000003e-05.
    const auto put = [&](std::string_view column, std::optional<double> v, double divisor = 1) {
        if (v) out[std::string(column)] = *v / divisor;
    };
    put(series::k_goroutines, goroutines);
    if (m) {
        put(series::k_go_heap_inuse, m->heap_inuse);
        put(series::k_go_heap_idle, m->heap_idle);
        put(series::k_go_heap_released, m->heap_released);
        put(series::k_go_heap_sys, m->heap_sys);
        put(series::k_go_gc_count, m->num_gc);
        put(series::k_go_gc_pause_total, m->pause_total_ns, 1e9);
    }
    return out;
}

}  // namespace leakhunt::capture::go
