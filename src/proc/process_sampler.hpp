// Takes one memory sample of one process: RSS and its parts, PSS/USS, swap, peak, virtual
// size, open fds and threads, and optionally the values of the process's memory cgroup. Built
// for `leakhunt watch` following hundreds of processes each second: every file is read with
// openat/read/close into one reused buffer relative to a /proc/PID directory descriptor (so all
// values come from the same process instance), parsed by hand, with no allocation per field.
// smaps_rollup dominates the cost for large processes, so it can be switched off.
// A ProcessSampler owns its buffers and descriptors: one per thread (not thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "proc/cgroup_reader.hpp"
#include "proc/file_buffer.hpp"
#include "proc/proc_files.hpp"

namespace leakhunt::proc {

// Whether smaps_rollup was read, and if not, why.
enum class SmapsState {
    not_requested,  // SamplerOptions::smaps was ReadSmaps::no
    ok,
    denied,       // EACCES/EPERM: another user's process; run as its owner or root
    unavailable,  // anything else, e.g. ENOENT before Linux 4.14
};

// One sample. Memory values in bytes. Empty optionals mean "not known", never zero. The sample
// carries no time: the caller stamps it (one clock read per round, not per process).
struct MemorySample {
    // Identity: (pid, starttime) names one process instance; a changed starttime for the same
    // pid means the PID was reused (a restart).
    Pid pid = 0;
    std::uint64_t starttime = 0;  // clock ticks since boot (/proc/PID/stat field 22); 0 unknown
    char state = '?';             // /proc/PID/stat state: R, S, D, Z, ...

    std::optional<std::uint64_t> rss;  // status VmRSS; statm resident when status lacks it
    std::optional<std::uint64_t> rss_anon;
    std::optional<std::uint64_t> rss_file;
    std::optional<std::uint64_t> rss_shmem;
    std::optional<std::uint64_t> pss;       // smaps_rollup only
    std::optional<std::uint64_t> pss_anon;  // smaps_rollup only (Linux 5.7+)
    std::optional<std::uint64_t> uss;       // smaps_rollup only
    std::optional<std::uint64_t> swap;      // status VmSwap
    std::optional<std::uint64_t> vm_hwm;
    std::optional<std::uint64_t> vm_size;
    std::optional<std::uint64_t> fds;  // entries of /proc/PID/fd; empty if not permitted
    std::optional<std::uint64_t> threads;

    // Filled only with ReadCgroup::yes, from the process's memory cgroup.
    std::optional<std::uint64_t> cgroup_usage;
    std::optional<std::uint64_t> cgroup_working_set;
    std::optional<std::uint64_t> cgroup_limit;
    std::optional<std::uint64_t> cgroup_oom_kills;

    SmapsState smaps = SmapsState::not_requested;
    int smaps_errno = 0;  // the errno when smaps is denied or unavailable
    bool smaps_denied() const { return smaps == SmapsState::denied; }
};

enum class ReadSmaps { no, yes };
// full: everything the options ask for. light: only stat and statm (RSS, VM size, threads,
// identity), about half the kernel time of full; for watching hundreds of processes, where the
// caller takes a full sample every few rounds.
enum class SampleDetail { full, light };
enum class ReadFds { no, yes };
enum class ReadCgroup { no, yes };

struct SamplerOptions {
    std::filesystem::path proc_root = "/proc";
    // smaps_rollup walks every page table of the process under its mmap lock. Measured on a
    // 2-core VM (Linux 6.18): ~100-250 us even for a 2-4 MiB shell, ~2-8 ms for 80-200 MiB,
    // while everything else in a sample costs ~30 us. So it is off by default; turn it on for a
    // few processes, or pass ReadSmaps::yes to sample() every Nth round.
    ReadSmaps smaps = ReadSmaps::no;
    ReadFds fds = ReadFds::yes;
    ReadCgroup cgroup = ReadCgroup::no;
    CgroupRoots cgroup_roots{};
    // A cgroup reading is reused for this long, so the processes of one cgroup sampled in one
    // round share one reading (a v1 memory.stat costs tens of microseconds). Keep it well below
    // the sampling interval; zero reads every time.
    std::chrono::milliseconds cgroup_max_age{100};
};

class ProcessSampler {
  public:
    // Throws util::Error if the proc root cannot be opened.
    explicit ProcessSampler(SamplerOptions options = {});
    explicit ProcessSampler(std::filesystem::path proc_root);

    // Samples `pid`. Empty if the process does not exist (any more): a process exiting while it
    // is watched is normal. Throws util::Error only for failures that are not about the process
    // being gone (e.g. status unreadable for another reason).
    std::optional<MemorySample> sample(Pid pid) { return sample(pid, m_options.smaps); }
    // Same, overriding SamplerOptions::smaps for this call.
    std::optional<MemorySample> sample(Pid pid, ReadSmaps smaps,
                                       SampleDetail detail = SampleDetail::full);

    const SamplerOptions& options() const { return m_options; }

  private:
    SamplerOptions m_options;
    util::UniqueFd m_proc_fd;
    detail::FileBuffer m_buf;
    CgroupReader m_cgroup;
    // /proc/PID/cgroup contents -> memory cgroup directory and its latest reading. Processes of
    // one service share a cgroup; resolving one costs several stat calls.
    struct CgroupEntry {
        std::optional<std::filesystem::path> dir;
        std::optional<CgroupMemory> memory;
        std::chrono::steady_clock::time_point read_at{};
    };
    std::map<std::string, CgroupEntry, std::less<>> m_cgroups;
};

// The sentence the CLI prints once when smaps_rollup could not be read, e.g. "cannot read
// /proc/4242/smaps_rollup: permission denied (run as the process owner or root; falling back to
// statm)".
std::string smaps_error_message(const std::filesystem::path& proc_root, Pid pid, int err);

}  // namespace leakhunt::proc
