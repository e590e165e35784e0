// One memory sample per process from /proc/PID/{stat,status,smaps_rollup,statm,fd,cgroup};
// see process_sampler.hpp.
#include "proc/process_sampler.hpp"

#include <fcntl.h>

#include <array>
#include <cerrno>
#include <charconv>

#include "proc/system_info.hpp"
#include "util/error.hpp"

namespace leakhunt::proc {
namespace fs = std::filesystem;

namespace {

bool is_gone(int err) {
    return err == ENOENT || err == ESRCH;
}

}  // namespace

ProcessSampler::ProcessSampler(SamplerOptions options)
    : m_options(std::move(options)), m_cgroup(m_options.cgroup_roots, m_options.proc_root) {
    int err = 0;
    m_proc_fd = detail::open_dir(AT_FDCWD, m_options.proc_root.c_str(), err);
    if (!m_proc_fd.valid()) {
        throw util::Error("cannot open {}: {} (is procfs mounted there?)",
                          m_options.proc_root.string(), util::errno_text(err));
    }
}

ProcessSampler::ProcessSampler(fs::path proc_root)
    : ProcessSampler(SamplerOptions{.proc_root = std::move(proc_root)}) {}

std::optional<MemorySample> ProcessSampler::sample(Pid pid, ReadSmaps smaps, SampleDetail detail) {
    const bool full = detail == SampleDetail::full;
    if (pid <= 0) return std::nullopt;
    std::array<char, 16> name{};
    const auto [end, ec] = std::to_chars(name.data(), name.data() + name.size() - 1, pid);
    if (ec != std::errc{}) return std::nullopt;
    *end = '\0';

    int err = 0;
    const util::UniqueFd dir = detail::open_dir(m_proc_fd.get(), name.data(), err);
    if (!dir.valid()) {
        if (is_gone(err)) return std::nullopt;
        throw util::Error("cannot open {}/{}: {}", m_options.proc_root.string(), pid,
                          util::errno_text(err));
    }

    MemorySample out;
    out.pid = pid;

    // stat first: identity (starttime) and state.
    err = m_buf.read_at(dir.get(), "stat");
    if (err != 0) {
        if (is_gone(err)) return std::nullopt;
        throw util::Error("cannot read {}/{}/stat: {}", m_options.proc_root.string(), pid,
                          util::errno_text(err));
    }
    {
        const StatInfo stat = parse_stat(m_buf.view());
        out.starttime = stat.starttime.value_or(0);
        out.state = stat.state.value_or('?');
        out.threads = stat.num_threads;
    }

    // A light sample skips status: statm below gives RSS and VM size from the same kernel
    // counters as VmRSS and VmSize.
    if (full) {
        err = m_buf.read_at(dir.get(), "status");
        if (err != 0) {
            if (is_gone(err)) return std::nullopt;
            throw util::Error("cannot read {}/{}/status: {}", m_options.proc_root.string(), pid,
                              util::errno_text(err));
        }
        const StatusInfo status = parse_status(m_buf.view());
        out.rss = status.vm_rss;
        out.rss_anon = status.rss_anon;
        out.rss_file = status.rss_file;
        out.rss_shmem = status.rss_shmem;
        out.swap = status.vm_swap;
        out.vm_hwm = status.vm_hwm;
        out.vm_size = status.vm_size;
        if (status.threads) out.threads = status.threads;
    }

    if (full && smaps == ReadSmaps::yes) {
        err = m_buf.read_at(dir.get(), "smaps_rollup");
        if (err == 0) {
            const SmapsRollup rollup = parse_smaps_rollup(m_buf.view());
            out.smaps = SmapsState::ok;
            out.pss = rollup.pss;
            out.pss_anon = rollup.pss_anon;
            out.uss = rollup.uss();
            if (!out.swap) out.swap = rollup.swap;
        } else if (err == ESRCH) {
            return std::nullopt;  // exited between status and smaps_rollup
        } else {
            out.smaps =
                (err == EACCES || err == EPERM) ? SmapsState::denied : SmapsState::unavailable;
            out.smaps_errno = err;
        }
    }

    // status has no Vm* lines for kernel threads and some restricted views; statm always has
    // its seven numbers (zeros for kernel threads).
    if (!out.rss || !out.vm_size) {
        if (m_buf.read_at(dir.get(), "statm") == 0) {
            const Statm statm = parse_statm(m_buf.view(), page_size());
            if (!out.rss) out.rss = statm.resident;
            if (!out.vm_size) out.vm_size = statm.size;
        }
    }

    if (full && m_options.fds == ReadFds::yes) {
        const long n = detail::count_dir_entries(dir.get(), "fd");
        if (n >= 0) out.fds = static_cast<std::uint64_t>(n);
    }

    if (full && m_options.cgroup == ReadCgroup::yes && m_buf.read_at(dir.get(), "cgroup") == 0) {
        const std::string_view text = m_buf.view();
        auto it = m_cgroups.find(text);
        if (it == m_cgroups.end()) {
            constexpr std::size_t k_max_cached = 4096;  // bound memory on a churning host
            if (m_cgroups.size() >= k_max_cached) m_cgroups.clear();
            CgroupEntry entry;
            entry.dir = m_cgroup.memory_dir_from(parse_proc_cgroup(text));
            it = m_cgroups.emplace(text, std::move(entry)).first;
        }
        CgroupEntry& entry = it->second;
        if (entry.dir) {
            const auto now = std::chrono::steady_clock::now();
            if (!entry.memory || now - entry.read_at >= m_options.cgroup_max_age) {
                entry.memory = m_cgroup.read(*entry.dir);
                entry.read_at = now;
            }
            if (const auto& cg = entry.memory) {
                out.cgroup_usage = cg->usage;
                out.cgroup_working_set = cg->working_set;
                out.cgroup_limit = cg->limit;
                out.cgroup_oom_kills = cg->oom_kills;
            }
        }
    }
    return out;
}

std::string smaps_error_message(const fs::path& proc_root, Pid pid, int err) {
    const std::string file = (proc_root / std::to_string(pid) / "smaps_rollup").string();
    if (err == EACCES || err == EPERM) {
        return fmt::format(
            "cannot read {}: {} (run as the process owner or root; falling back to statm)", file,
            util::errno_text(err));
    }
    if (err == ENOENT) {
        return fmt::format(
            "cannot read {}: {} (smaps_rollup needs Linux 4.14 or newer; PSS and USS are not "
            "shown, RSS still is)",
            file, util::errno_text(err));
    }
    return fmt::format("cannot read {}: {} (PSS and USS are not shown, RSS still is)", file,
                       util::errno_text(err));
}

}  // namespace leakhunt::proc
