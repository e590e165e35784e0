// libFuzzer target for the Python bootstrap's snapshot file (capture/python/pytrace.hpp): any
// input must parse into a consistent snapshot whose profile round-trips through pprof, or throw
// util::Error; any other exception, crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "capture/python/pytrace.hpp"
#include "profile/pprof.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace leakhunt;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        const auto t = capture::python::parse_pytrace(bytes, "fuzz");
        for (const auto& tb : t.traces) {
            if (tb.frames.size() > capture::python::k_max_trace_frames) std::abort();
            for (uint32_t id : tb.frames) {
                if (id >= t.frames.size()) std::abort();
            }
        }
        const profile::Profile p = capture::python::to_profile(t);
        for (const auto& s : p.samples) {
            for (uint64_t id : s.location_ids) {
                if (profile::find_location(p, id) == nullptr) std::abort();
            }
        }
        if (profile::parse_profile(profile::serialize_profile(p), "again").samples.size() !=
            p.samples.size()) {
            std::abort();
        }
    } catch (const util::Error&) {
        // Bad input, reported as it should be.
    }
    return 0;
}
