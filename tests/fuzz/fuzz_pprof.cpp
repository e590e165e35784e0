// libFuzzer target for the pprof reader (gzip + protobuf + model checks): any input must either
// parse into a consistent profile or throw util::Error; any other exception, crash or sanitizer
// report is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "profile/pprof.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        const auto p = leakhunt::profile::parse_profile(bytes, "fuzz");
        // Invariants of the model: sample types present, dense ids, references resolve.
        if (p.sample_types.empty()) std::abort();
        for (size_t i = 0; i < p.locations.size(); ++i) {
            if (p.locations[i].id != i + 1) std::abort();
            const uint64_t m = p.locations[i].mapping_id;
            if (m != 0 && leakhunt::profile::find_mapping(p, m) == nullptr) std::abort();
            for (const auto& line : p.locations[i].lines) {
                if (line.function_id != 0 &&
                    leakhunt::profile::find_function(p, line.function_id) == nullptr) {
                    std::abort();
                }
            }
        }
        for (const auto& s : p.samples) {
            if (s.values.size() != p.sample_types.size()) std::abort();
            for (uint64_t id : s.location_ids) {
                if (leakhunt::profile::find_location(p, id) == nullptr) std::abort();
            }
        }
        // What we read, we can write and read back unchanged.
        if (leakhunt::profile::parse_profile(leakhunt::profile::serialize_profile(p), "again") !=
            p) {
            std::abort();
        }
    } catch (const leakhunt::util::Error&) {
        // Bad input, reported as it should be.
    }
    return 0;
}
