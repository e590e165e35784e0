// libFuzzer target for the heap-scan file reader: any input must either parse into a scan whose
// references resolve or throw util::Error; any other exception, crash or sanitizer report is a
// bug. The leak report is built from what parsed (pure; no files are opened).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "heapscan/retention.hpp"
#include "heapscan/scan_file.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        const auto scan = leakhunt::heapscan::parse_scan_file(bytes, "fuzz");
        for (const auto& s : scan.shapes) {
            if (s.parent == 0 && !scan.roots.contains(s.root)) std::abort();
            if (s.parent >= s.id) std::abort();
        }
        const auto leaks = leakhunt::heapscan::build_leaks(scan);
        if (leaks.entries.size() > 2 * scan.leaks.size()) std::abort();
    } catch (const leakhunt::util::Error&) {
        // Bad input, reported as it should be.
    }
    return 0;
}
