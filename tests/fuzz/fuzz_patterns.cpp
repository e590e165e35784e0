// libFuzzer target for the patterns file parser and the signature normalisation of path steps.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "patterns/patterns.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto patterns = leakhunt::patterns::parse_patterns(text, "fuzz.json");
        for (const auto& p : patterns) (void)leakhunt::patterns::match(p.signature, patterns);
    } catch (const leakhunt::util::Error&) {
    }
    // The same bytes as path steps, one per line.
    std::vector<std::string> steps;
    size_t at = 0;
    while (at <= text.size() && steps.size() < 64) {
        const size_t nl = std::min(text.find('\n', at), text.size());
        steps.emplace_back(text.substr(at, nl - at));
        at = nl + 1;
    }
    for (const char* runtime : {"node", "native", "java", "python"}) {
        const auto s = leakhunt::patterns::signature_of({runtime, steps.front(), steps});
        (void)leakhunt::patterns::match(s, {});
    }
    return 0;
}
