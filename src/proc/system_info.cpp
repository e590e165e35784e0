// sysconf-backed machine constants; see system_info.hpp.
#include "proc/system_info.hpp"

#include <unistd.h>

namespace leakhunt::proc {
namespace {

std::uint64_t sysconf_or(int name, std::uint64_t fallback) {
    const long v = ::sysconf(name);
    return v > 0 ? static_cast<std::uint64_t>(v) : fallback;
}

}  // namespace

std::uint64_t page_size() {
    static const std::uint64_t k_value = sysconf_or(_SC_PAGESIZE, 4096);
    return k_value;
}

std::uint64_t clock_ticks_per_second() {
    static const std::uint64_t k_value = sysconf_or(_SC_CLK_TCK, 100);
    return k_value;
}

double ticks_to_seconds(std::uint64_t ticks) {
    return static_cast<double>(ticks) / static_cast<double>(clock_ticks_per_second());
}

}  // namespace leakhunt::proc
