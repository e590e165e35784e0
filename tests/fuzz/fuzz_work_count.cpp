// libFuzzer target for the work-count readers (a counter's reply, a load generator's summary):
// any input must give a finite count or throw util::Error; the summary reader never throws.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "series/work_count.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // The first line names the field, the rest is the reply.
    const size_t nl = text.find('\n');
    const std::string_view field =
        nl == std::string_view::npos ? std::string_view() : text.substr(0, nl);
    const std::string_view body = nl == std::string_view::npos ? text : text.substr(nl + 1);
    try {
        if (!std::isfinite(leakhunt::series::parse_work_value(body, field))) std::abort();
    } catch (const leakhunt::util::Error&) {
    }
    if (const auto s = leakhunt::series::parse_load_summary(text)) {
        if (!(s->requests >= 0) || (s->seconds && !(*s->seconds >= 0))) std::abort();
    }
    return 0;
}
