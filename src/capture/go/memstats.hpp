// A Go service's runtime counters as a recorder pulls them: the endpoints next to its heap
// profile (net/http/pprof's goroutine profile and heap?debug=1 text, expvar's /debug/vars), the
// runtime.MemStats that either of the last two carries, and the timeline columns made of them
// (series.hpp: goroutines, go_heap_*_bytes, go_gc_count, go_gc_pause_total_s). What a service
// sends is untrusted: the parsers read only the fields they need, check every number, bound the
// lists, and name the URL and the field when one is malformed. Stateless; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leakhunt::capture::go {

// The endpoints served beside a net/http/pprof heap endpoint (http://H:P/debug/pprof/heap):
//   goroutine: .../goroutine?debug=0 (pprof protobuf, sample type goroutine/count)
//   heap_text: .../heap?debug=1 (the legacy text, ending in a "# runtime.MemStats" block)
//   vars: http://H:P/debug/vars (expvar's JSON, with "memstats"), only when the heap endpoint
//         is at /debug/pprof/heap (expvar registers at that fixed path)
struct Endpoints {
    std::string goroutine;
    std::string heap_text;
    std::string vars;  // empty when not known
};
// nullopt when `heap_url`'s path does not end in /heap (not a net/http/pprof heap endpoint:
// nothing beside it can be guessed). Throws util::Error for a URL parse_url refuses.
std::optional<Endpoints> endpoints_beside(std::string_view heap_url);

// The most leakhunt reads from each: a goroutine profile (gzip pprof; one sample per distinct
// stack) and the heap?debug=1 text (every heap record, then the MemStats block) are bounded
// like any profile a user loads might be but far lower; expvar's JSON is small.
inline constexpr uint64_t k_max_goroutine_bytes = uint64_t{256} << 20;
inline constexpr uint64_t k_max_heap_text_bytes = uint64_t{256} << 20;
inline constexpr uint64_t k_max_vars_bytes = uint64_t{16} << 20;

// The fields of runtime.MemStats the timeline keeps; nullopt when the source lacks one.
struct MemStats {
    std::optional<double> heap_inuse;
    std::optional<double> heap_idle;
    std::optional<double> heap_released;
    std::optional<double> heap_sys;
    std::optional<double> num_gc;
    std::optional<double> pause_total_ns;
};

// Go keeps the last 256 GC pauses (runtime.MemStats.PauseNs is a circular buffer of 256).
inline constexpr size_t k_pause_buffer = 256;

// The "# runtime.MemStats" block at the end of heap?debug=1's text ("# HeapInuse = 2490368"
// lines). nullopt when the text has no such block. The text has no PauseTotalNs: it is the sum
// of PauseNs when NumGC <= 256 (every pause is still in the buffer) and unknown after. Throws
// util::Error naming `where` and the field when a field we keep is not a non-negative integer
// or PauseNs is not a bracketed list of at most 256 of them.
std::optional<MemStats> parse_memstats_text(std::string_view text, std::string_view where);

// expvar's /debug/vars JSON: its "memstats" object (runtime.MemStats as encoding/json writes
// it). nullopt when it has no "memstats"; util::Error naming `where` and the field when the text
// is not JSON, or a field we keep is not a non-negative number.
std::optional<MemStats> parse_expvar_memstats(std::string_view json, std::string_view where);

// The timeline columns recorded for a Go service, in this order (TimelineWriter counters).
std::vector<std::string> go_counter_columns();

// The columns of go_counter_columns() that `m` and the goroutine count give (a missing one is
// left out, so it reads as not measured).
std::map<std::string, double> go_counters(const std::optional<MemStats>& m,
                                          std::optional<double> goroutines);

}  // namespace leakhunt::capture::go
