// libFuzzer target for every /proc and cgroup file parser: any bytes must parse to a value
// (fields absent when malformed) without crashing or reading out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proc/cgroup_files.hpp"
#include "proc/proc_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace leakhunt::proc;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)parse_status(text);
    (void)parse_smaps_rollup(text);
    (void)parse_statm(text, 4096);
    (void)parse_stat(text);
    (void)parse_cmdline(text);
    (void)parse_proc_cgroup(text);
    (void)parse_cgroup_counter(text);
    (void)parse_cgroup_limit(text);
    (void)parse_cgroup_v2_stat(text);
    (void)parse_cgroup_v2_events(text);
    (void)parse_cgroup_v1_stat(text);
    (void)parse_cgroup_v1_oom_control(text);
    return 0;
}
