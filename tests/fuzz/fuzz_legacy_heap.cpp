// libFuzzer target for the text heap readers (gperftools, Go legacy, jemalloc; legacy_heap.hpp)
// and the /proc/PID/maps parser behind their MAPPED_LIBRARIES section: any input must parse into
// a consistent profile or throw util::Error; any other exception, crash or sanitizer report is a
// bug. The first byte picks the entry point so that both parsers get the whole input space.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "profile/legacy_heap.hpp"
#include "profile/pprof.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace leakhunt::profile;
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        if (!bytes.empty() && bytes.front() == 'M') {
            const auto maps = parse_proc_maps(bytes.substr(1), "fuzz");
            for (size_t i = 0; i < maps.size(); ++i) {
                if (maps[i].id != i + 1 || maps[i].memory_limit < maps[i].memory_start)
                    std::abort();
            }
            return 0;
        }
        const Profile p = parse_legacy_heap(bytes, "fuzz");
        if (p.sample_types.size() != 4) std::abort();
        for (size_t i = 0; i < p.locations.size(); ++i) {
            if (p.locations[i].id != i + 1) std::abort();
            const uint64_t m = p.locations[i].mapping_id;
            if (m != 0 && find_mapping(p, m) == nullptr) std::abort();
            for (const auto& line : p.locations[i].lines) {
                if (find_function(p, line.function_id) == nullptr) std::abort();
            }
        }
        for (const auto& s : p.samples) {
            if (s.values.size() != 4) std::abort();
            for (uint64_t id : s.location_ids) {
                if (find_location(p, id) == nullptr) std::abort();
            }
        }
        // What we read, we can write as pprof and read back unchanged.
        if (parse_profile(serialize_profile(p), "again") != p) std::abort();
    } catch (const leakhunt::util::Error&) {
        // Bad input, reported as it should be.
    }
    return 0;
}
