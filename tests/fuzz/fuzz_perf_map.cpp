// libFuzzer target for the perf map parser (/tmp/perf-PID.map is written by whoever owns /tmp's
// file): any input parses, with lookups that stay inside the ranges it kept.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "symbolize/perf_map.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto m = leakhunt::symbolize::PerfMap::parse(text);
    for (uint64_t a : {uint64_t{0}, uint64_t{0x1000}, uint64_t{0x1040}, ~uint64_t{0}}) {
        if (const auto f = m.frame_at(a)) {
            if (f->function.empty()) std::abort();
        }
    }
    (void)leakhunt::symbolize::perf_map_frame(text.substr(0, 4096));
    return 0;
}
