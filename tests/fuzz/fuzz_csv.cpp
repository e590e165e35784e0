// libFuzzer target for the series CSV reader: any input must either parse into valid series or
// throw util::Error; any other exception, crash or sanitizer report is a bug.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "series/csv.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto result = leakhunt::series::parse_csv(text, "fuzz");
        // Invariants of the model: strictly increasing times, columns as long as t.
        for (const auto& s : result.series) {
            if (s.t.empty()) std::abort();
            for (size_t i = 1; i < s.t.size(); ++i) {
                if (!(s.t[i - 1] < s.t[i])) std::abort();
            }
            for (const auto& [name, values] : s.columns) {
                if (values.size() != s.t.size()) std::abort();
            }
        }
    } catch (const leakhunt::util::Error&) {
        // Bad input, reported as it should be.
    }
    return 0;
}
