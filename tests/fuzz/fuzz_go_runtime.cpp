// libFuzzer target for what a Go service sends besides its heap profile (capture/go and
// profile/goroutines): the "# runtime.MemStats" block of heap?debug=1, expvar's /debug/vars JSON,
// and goroutine profiles grouped by stack. Each either gives values that hold their invariants or
// throws util::Error; any other exception, crash or sanitizer report is a bug. The first byte
// picks the reader: 'J' expvar JSON, 'G' a pprof goroutine profile, anything else the text.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "capture/go/memstats.hpp"
#include "profile/goroutines.hpp"
#include "profile/pprof.hpp"
#include "util/error.hpp"

namespace {

void check(const std::optional<leakhunt::capture::go::MemStats>& m) {
    if (!m) return;
    for (const auto& v : {m->heap_inuse, m->heap_idle, m->heap_released, m->heap_sys, m->num_gc,
                          m->pause_total_ns}) {
        if (v && (!std::isfinite(*v) || *v < 0)) std::abort();
    }
    (void)leakhunt::capture::go::go_counters(m, 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace leakhunt;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    const char which = text.empty() ? 0 : text.front();
    if (!text.empty()) text.remove_prefix(1);
    try {
        if (which == 'J') {
            check(capture::go::parse_expvar_memstats(text, "fuzz"));
        } else if (which == 'G') {
            const auto p = profile::parse_profile(text, "fuzz");
            if (!profile::is_goroutine_profile(p)) return 0;
            int64_t sum = 0;
            for (const auto& g : profile::group_goroutines(p, "fuzz")) {
                if (g.count <= 0 || g.key.empty() || g.state.empty()) std::abort();
                sum += g.count;
            }
            (void)sum;
        } else {
            check(capture::go::parse_memstats_text(text, "fuzz"));
        }
    } catch (const util::Error&) {
    }
    return 0;
}
