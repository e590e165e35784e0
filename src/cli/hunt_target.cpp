// Resolving the target of `hunt` (hunt_target.hpp).
#include "cli/hunt_target.hpp"

#include <unistd.h>

#include <charconv>
#include <regex>
#include <vector>

#include <fmt/format.h>

#include "cli/agent_files.hpp"
#include "proc/cgroup_reader.hpp"
#include "proc/listeners.hpp"
#include "proc/process_list.hpp"
#include "profile/fetch.hpp"
#include "profile/profile.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/terminal_text.hpp"

namespace leakhunt::cli {
namespace {

// Resident bytes of a process from /proc/PID/statm (0 when it cannot be read).
double rss_of(pid_t pid) {
    const auto statm = util::try_read_file(fmt::format("/proc/{}/statm", pid));
    if (!statm) return 0;
    const size_t sp = statm->find(' ');
    if (sp == std::string::npos) return 0;
    unsigned long long pages = 0;
    const char* begin = statm->data() + sp + 1;
    std::from_chars(begin, statm->data() + statm->size(), pages);
    return static_cast<double>(pages) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

HuntTarget resolve_pid(pid_t pid) {
    if (pid == ::getpid()) throw util::UsageError("pid {} is leakhunt itself", pid);
    if (::access(fmt::format("/proc/{}", pid).c_str(), F_OK) != 0) {
        throw util::Error(
            "no process with pid {} (it has ended, or lives in another PID "
            "namespace)",
            pid);
    }
    return {pid, {watch::TargetSpec::Kind::pid, pid, {}}, process_name(pid)};
}

HuntTarget resolve_name(const std::string& regex) {
    std::regex re;
    try {
        re = std::regex(regex, std::regex::extended);
    } catch (const std::regex_error& e) {
        throw util::UsageError("--name {}: not a regular expression ({})", regex, e.what());
    }
    std::vector<proc::ProcessInfo> found;
    for (auto& p : proc::list_processes()) {
        if (p.kernel_thread || p.cmdline.empty()) continue;
        if (std::regex_search(p.cmdline, re)) found.push_back(std::move(p));
    }
    if (found.empty()) {
        throw util::Error(
            "no running process's command line matches --name {} (check with "
            "`ps -eo pid,args`)",
            regex);
    }
    if (found.size() > 1) {
        std::string list;
        for (size_t i = 0; i < found.size() && i < 5; ++i) {
            list += fmt::format("{}{} ({})", i == 0 ? "" : ", ", found[i].pid,
                                util::terminal_safe(found[i].cmdline.substr(0, 60)));
        }
        throw util::Error(
            "--name {} matches {} processes: {}{} (make the regex narrower, or give "
            "the PID)",
            regex, found.size(), list, found.size() > 5 ? ", ..." : "");
    }
    return resolve_pid(found.front().pid);
}

HuntTarget resolve_cgroup(const std::string& path) {
    const proc::CgroupReader reader;
    const std::filesystem::path dir = reader.resolve(path);
    std::optional<std::string> procs = util::try_read_file(dir / "cgroup.procs");
    if (!procs) procs = util::try_read_file(dir / "tasks");
    if (!procs)
        throw util::Error("cannot read the processes of cgroup {} (cgroup.procs)", dir.string());
    pid_t best = 0;
    double best_rss = -1;
    std::string_view rest = *procs;
    while (!rest.empty()) {
        const size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        int pid = 0;
        if (std::from_chars(line.data(), line.data() + line.size(), pid).ec == std::errc{} &&
            pid > 0 && pid != ::getpid()) {
            const double rss = rss_of(pid);
            if (rss > best_rss) best = pid, best_rss = rss;
        }
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
    }
    if (best == 0) throw util::Error("cgroup {} holds no process to profile", dir.string());
    HuntTarget t = resolve_pid(best);
    t.watch = {watch::TargetSpec::Kind::cgroup, 0, path};
    return t;
}

std::optional<std::string> find_pprof_endpoint(pid_t pid) {
    profile::FetchOptions quick;
    quick.connect_timeout = std::chrono::milliseconds(1000);
    quick.read_timeout = std::chrono::milliseconds(10000);
    for (const auto& s : proc::listening_sockets_of(pid)) {
        if (!s.reachable_on_loopback) continue;
        const std::string host = s.ipv6 && s.address != "::" && !s.address.starts_with("::ffff:")
                                     ? "[::1]"
                                     : "127.0.0.1";
        const std::string url = fmt::format("http://{}:{}/debug/pprof/heap", host, s.port);
        try {
            (void)profile::load_profile(url, quick);
            return url;
        } catch (const util::Error&) {
            // Not a pprof endpoint (another service of the process, or one that wants auth).
        }
    }
    return std::nullopt;
}

}  // namespace leakhunt::cli
