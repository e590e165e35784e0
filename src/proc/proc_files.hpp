// Pure parsers for the per-process files under /proc/PID (status, smaps_rollup, statm, stat,
// cmdline, cgroup). They take the file's contents as a std::string_view, so tests feed them
// fixtures and the sampler feeds them a reused buffer. Memory values are returned in bytes.
// Unknown lines are skipped; a field that is missing or malformed is left empty (std::optional),
// never guessed. Layouts follow proc(5) and fs/proc/array.c, fs/proc/task_mmu.c.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leakhunt::proc {

using Pid = ::pid_t;

// The largest PID Linux can hand out (PID_MAX_LIMIT in include/linux/threads.h: 4 Mi on 64-bit
// systems); /proc/sys/kernel/pid_max is at most this.
inline constexpr Pid k_pid_max_limit = 4 * 1024 * 1024;

// A PID as a user or a file name writes it: decimal digits only (no sign, no spaces), 1 to
// k_pid_max_limit. Anything else, including a number that would wrap ("4294967297"), is nullopt.
std::optional<Pid> parse_pid(std::string_view text);

// /proc/PID/status. Values in bytes (the file shows kB). Kernel threads and zombies have no Vm*
// or Rss* lines, so those fields stay empty.
struct StatusInfo {
    std::string name;  // "Name:" (comm, escaped by the kernel; may contain spaces)
    std::optional<Pid> ppid;
    std::optional<std::uint32_t> uid;  // real uid, the first of the four "Uid:" values
    std::optional<std::uint64_t> vm_rss;
    std::optional<std::uint64_t> rss_anon;
    std::optional<std::uint64_t> rss_file;
    std::optional<std::uint64_t> rss_shmem;
    std::optional<std::uint64_t> vm_swap;
    std::optional<std::uint64_t> vm_hwm;
    std::optional<std::uint64_t> vm_size;
    std::optional<std::uint64_t> threads;
    // "SigCgt:": the signals it has a handler for, bit N-1 for signal N.
    std::optional<std::uint64_t> signals_caught;
};
StatusInfo parse_status(std::string_view text);

// /proc/PID/smaps_rollup (Linux 4.14+). Values in bytes.
struct SmapsRollup {
    std::optional<std::uint64_t> rss;
    std::optional<std::uint64_t> pss;
    std::optional<std::uint64_t> pss_anon;   // Linux 5.7+
    std::optional<std::uint64_t> pss_file;   // Linux 5.7+
    std::optional<std::uint64_t> pss_shmem;  // Linux 5.7+
    std::optional<std::uint64_t> private_clean;
    std::optional<std::uint64_t> private_dirty;
    std::optional<std::uint64_t> private_hugetlb;
    std::optional<std::uint64_t> swap;
    std::optional<std::uint64_t> swap_pss;

    // Unique set size: Private_Clean + Private_Dirty (+ Private_Hugetlb when present). Empty if
    // either of the first two is missing.
    std::optional<std::uint64_t> uss() const;
};
SmapsRollup parse_smaps_rollup(std::string_view text);

// /proc/PID/statm: the first three fields (pages) scaled by `page_size` to bytes.
struct Statm {
    std::optional<std::uint64_t> size;
    std::optional<std::uint64_t> resident;
    std::optional<std::uint64_t> shared;
};
Statm parse_statm(std::string_view text, std::uint64_t page_size);
// The resident bytes of a process now (its /proc/PID/statm read and parsed); nullopt when it
// has ended or the file cannot be read. For the RSS column of a record directory's timeline.
std::optional<std::uint64_t> read_resident_bytes(Pid pid);

// /proc/PID/stat. comm may contain spaces and ')' (it is set by the program), so it is taken
// between the first '(' and the LAST ')'; the numbered fields are counted after that.
struct StatInfo {
    std::optional<Pid> pid;
    std::string comm;
    std::optional<char> state;  // 'R', 'S', 'D', 'Z', ...
    std::optional<Pid> ppid;
    std::optional<std::uint64_t> flags;  // field 9, PF_* bits
    std::optional<std::uint64_t> num_threads;
    // Field 22: start time in clock ticks since boot. (pid, starttime) identifies a process
    // instance across PID reuse.
    std::optional<std::uint64_t> starttime;
};
StatInfo parse_stat(std::string_view text);

// True once process `pid` has ended: gone, or a zombie its parent has not reaped yet ('Z', 'X').
// With `start_time` (stat's field 22), also when the PID now names another process.
bool has_exited(pid_t pid, std::optional<std::uint64_t> start_time = std::nullopt);

// PF_KTHREAD (include/linux/sched.h): set in stat's flags for kernel threads.
inline constexpr std::uint64_t k_pf_kthread = 0x00200000;
inline bool is_kernel_thread(const StatInfo& stat) {
    return stat.flags && (*stat.flags & k_pf_kthread) != 0;
}

// /proc/PID/cmdline: NUL-separated arguments. Empty for kernel threads and zombies. Trailing
// NULs are dropped first (programs that rewrite their title pad it with NULs), so a trailing
// empty argument is not kept.
struct Cmdline {
    std::vector<std::string> args;
    std::string display;  // the arguments joined with single spaces
};
Cmdline parse_cmdline(std::string_view text);
// Only the display string (one allocation), for listings.
std::string cmdline_display(std::string_view text);

// /proc/PID/environ: NUL-separated NAME=VALUE entries. The value of `name`, nullopt if unset.
std::optional<std::string> environ_value(std::string_view environ, std::string_view name);

// /proc/PID/cgroup: "hierarchy-ID:controller-list:path" lines. The v2 line is "0::/path"; the v1
// memory controller line names "memory" in its controller list ("4:memory:/a" or
// "5:cpu,memory:/a"). A hybrid host has both.
struct ProcCgroup {
    std::optional<std::string> v2_path{};
    std::optional<std::string> v1_memory_path{};
};
ProcCgroup parse_proc_cgroup(std::string_view text);

}  // namespace leakhunt::proc
