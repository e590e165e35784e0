// Enumerates numeric directories of a proc root; see process_list.hpp.
#include "proc/process_list.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "proc/file_buffer.hpp"
#include "proc/text_scan.hpp"
#include "util/error.hpp"

namespace leakhunt::proc {

std::vector<ProcessInfo> list_processes(const std::filesystem::path& proc_root,
                                        IncludeSelf include_self) {
    const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(proc_root.c_str()), &::closedir);
    if (!dir) {
        throw util::Error("cannot list {}: {} (is procfs mounted there?)", proc_root.string(),
                          util::errno_text(errno));
    }
    const Pid self = ::getpid();
    detail::FileBuffer buf(4096);
    std::vector<ProcessInfo> out;
    while (const dirent* entry = ::readdir(dir.get())) {
        const auto pid_value = detail::parse_i64(entry->d_name);
        if (!pid_value || *pid_value <= 0 || *pid_value > INT32_MAX) continue;
        const auto pid = static_cast<Pid>(*pid_value);
        if (include_self == IncludeSelf::no && pid == self) continue;

        int err = 0;
        const util::UniqueFd pid_dir = detail::open_dir(::dirfd(dir.get()), entry->d_name, err);
        if (!pid_dir.valid()) continue;  // exited meanwhile
        if (buf.read_at(pid_dir.get(), "stat") != 0) continue;
        const StatInfo stat = parse_stat(buf.view());

        ProcessInfo info;
        info.pid = pid;
        info.ppid = stat.ppid.value_or(0);
        info.starttime = stat.starttime.value_or(0);
        info.comm = stat.comm;
        info.kernel_thread = is_kernel_thread(stat);
        if (buf.read_at(pid_dir.get(), "cmdline") == 0) info.cmdline = cmdline_display(buf.view());
        out.push_back(std::move(info));
    }
    std::sort(out.begin(), out.end(),
              [](const ProcessInfo& a, const ProcessInfo& b) { return a.pid < b.pid; });
    return out;
}

std::vector<Pid> descendants(const std::vector<ProcessInfo>& processes, Pid root) {
    std::vector<Pid> out;
    std::vector<Pid> frontier{root};
    // Breadth first; a pid is taken once, so a ppid cycle (impossible in a consistent listing,
    // possible across PID reuse while listing) cannot loop.
    while (!frontier.empty()) {
        std::vector<Pid> next;
        for (const auto& p : processes) {
            if (p.ppid == 0 || p.pid == root) continue;
            if (std::find(frontier.begin(), frontier.end(), p.ppid) == frontier.end()) continue;
            if (std::find(out.begin(), out.end(), p.pid) != out.end()) continue;
            out.push_back(p.pid);
            next.push_back(p.pid);
        }
        frontier = std::move(next);
    }
    return out;
}

}  // namespace leakhunt::proc
