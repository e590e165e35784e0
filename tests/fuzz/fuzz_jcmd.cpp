// libFuzzer target for what jcmd prints (capture/java): the class histogram parser and the
// performance counter parser. A histogram either parses into rows whose names are bounded, or
// throws util::Error; any other exception, crash or sanitizer report is a bug. The first byte
// picks the parser so both get the whole input space.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "capture/java/class_histogram.hpp"
#include "capture/java/perf_counters.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace leakhunt::capture::java;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (!text.empty() && text.front() == 'P') {
        const auto counters = parse_perf_counters(text.substr(1));
        if (counters.size() > k_max_counters) std::abort();
        (void)jvm_counters(counters);
        return 0;
    }
    try {
        const ClassHistogram h = parse_class_histogram(text);
        if (h.classes.size() > k_max_classes + 1) std::abort();
        for (const auto& c : h.classes) {
            if (c.name.size() > k_max_class_name + 3 || c.instances < 0 || c.bytes < 0)
                std::abort();
        }
        (void)histogram_profile(h, 0);
    } catch (const leakhunt::util::Error&) {
    }
    return 0;
}
