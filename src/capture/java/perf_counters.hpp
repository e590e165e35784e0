// The JVM's performance counters (`jcmd PID PerfCounter.print`: the hsperfdata the JVM exports,
// read by jcmd without attaching) parsed into numbers, and the few that show a leak from the
// runtime's side turned into timeline columns: heap used and committed, the old generation,
// metaspace, threads, GC count and time. The text is untrusted; the parser keeps only well-formed
// numeric lines and bounds what it keeps. Stateless; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace leakhunt::capture::java {

// name -> value for every "name=number" line (string counters, "name=\"...\"", are skipped).
// At most k_max_counters are kept; names longer than 256 bytes and malformed lines are skipped.
using PerfCounters = std::map<std::string, double, std::less<>>;
inline constexpr size_t k_max_counters = 10000;
PerfCounters parse_perf_counters(std::string_view text);

// The timeline columns written for a JVM, in this order (recorddir::TimelineWriter counters).
std::vector<std::string> jvm_counter_columns();

// The columns of jvm_counter_columns() that `c` yields (a column whose counters are missing is
// left out, so it reads as not measured):
//   heap_used_bytes, heap_committed_bytes: generations 0 and 1 (young + old), used and capacity
//   old_gen_used_bytes: generation 1 (the old generation; after a GC when read just after one)
//   metaspace_used_bytes, metaspace_committed_bytes: sun.gc.metaspace.used / capacity
//   threads: java.threads.live
//   gc_count, gc_time_s: summed over every collector (time in hrt ticks / sun.os.hrt.frequency)
std::map<std::string, double> jvm_counters(const PerfCounters& c);

}  // namespace leakhunt::capture::java
