// Machine constants the /proc readers need: the page size (to scale /proc/PID/statm) and the
// clock-tick rate (to turn /proc/PID/stat starttime into seconds). Both come from sysconf(3),
// are read once and cached; thread-safe.
#pragma once

#include <cstdint>

namespace leakhunt::proc {

// sysconf(_SC_PAGESIZE); 4096 if sysconf fails.
std::uint64_t page_size();

// sysconf(_SC_CLK_TCK), USER_HZ (100 on every mainstream architecture); 100 if sysconf fails.
std::uint64_t clock_ticks_per_second();

// starttime in clock ticks -> seconds since boot.
double ticks_to_seconds(std::uint64_t ticks);

}  // namespace leakhunt::proc
