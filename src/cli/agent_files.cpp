// Locating the agent library, and finding it (or its absence) in the processes record started.
#include "cli/agent_files.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "proc/proc_files.hpp"
#include "proc/process_list.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::cli {
namespace fs = std::filesystem;
namespace {

// The agent's file name: what its mapping in /proc/PID/maps and its LD_PRELOAD entry contain.
constexpr std::string_view k_agent_file = "libleakhunt_agent";

bool maps_agent(pid_t pid) {
    const auto maps = util::try_read_file(fmt::format("/proc/{}/maps", pid));
    return maps && maps->find(k_agent_file) != std::string::npos;
}

// LD_PRELOAD of the environment the process was started with; nullopt if unreadable.
std::optional<std::string> initial_ld_preload(pid_t pid) {
    const auto env = util::try_read_file(fmt::format("/proc/{}/environ", pid));
    if (!env) return std::nullopt;
    return proc::environ_value(*env, "LD_PRELOAD").value_or("");
}

enum class Linking { dynamic, static_, unknown };

// A program without PT_INTERP is started by the kernel directly, not by ld.so, so LD_PRELOAD
// never applies (static and static-pie executables; elf(5)).
Linking linking_of(int fd) {
    std::array<unsigned char, EI_NIDENT> ident{};
    if (::pread(fd, ident.data(), ident.size(), 0) != static_cast<ssize_t>(ident.size()) ||
        std::memcmp(ident.data(), ELFMAG, SELFMAG) != 0) {
        return Linking::unknown;
    }
    auto scan = [fd](auto ehdr, auto phdr) {
        if (::pread(fd, &ehdr, sizeof ehdr, 0) != static_cast<ssize_t>(sizeof ehdr)) {
            return Linking::unknown;
        }
        if (ehdr.e_phentsize != sizeof phdr || ehdr.e_phnum > 4096) return Linking::unknown;
        for (size_t i = 0; i < static_cast<size_t>(ehdr.e_phnum); ++i) {
            const auto at = static_cast<off_t>(static_cast<size_t>(ehdr.e_phoff) + i * sizeof phdr);
            if (::pread(fd, &phdr, sizeof phdr, at) != static_cast<ssize_t>(sizeof phdr)) {
                return Linking::unknown;
            }
            if (phdr.p_type == PT_INTERP) return Linking::dynamic;
        }
        return Linking::static_;
    };
    if (ident[EI_CLASS] == ELFCLASS64) return scan(Elf64_Ehdr{}, Elf64_Phdr{});
    if (ident[EI_CLASS] == ELFCLASS32) return scan(Elf32_Ehdr{}, Elf32_Phdr{});
    return Linking::unknown;
}

}  // namespace

namespace {

// A file leakhunt ships beside itself: $`env` when set, else <prefix>/lib/leakhunt/NAME
// (installed: <prefix>/bin/leakhunt) or build/lib/NAME (the build tree: build/bin/leakhunt).
fs::path shipped_file(const char* env, std::string_view name, std::string_view target) {
    if (const char* path = std::getenv(env); path != nullptr && *path != '\0') {
        if (!fs::exists(path)) {
            throw util::Error("{}={} does not exist (unset it to use the one next to leakhunt)",
                              env, path);
        }
        return fs::absolute(path);
    }
    std::error_code ec;
    const fs::path prefix = fs::read_symlink("/proc/self/exe", ec).parent_path().parent_path();
    const fs::path installed = prefix / "lib" / "leakhunt" / name;
    const fs::path built = prefix / "lib" / name;
    if (!ec && fs::exists(installed)) return installed;
    if (ec || !fs::exists(built)) {
        throw util::Error(
            "cannot find {} at {} or {} (build it with `cmake --build build "
            "--target {}`, or set {} to its path)",
            name, installed.string(), built.string(), target, env);
    }
    return built;
}

}  // namespace

fs::path agent_library() {
    return shipped_file("LEAKHUNT_AGENT", "libleakhunt_agent.so", "leakhunt_agent");
}

fs::path python_bootstrap() {
    return shipped_file("LEAKHUNT_PYTHON_BOOTSTRAP", "leakhunt_bootstrap.py",
                        "leakhunt_python_bootstrap");
}

std::optional<pid_t> AgentSearch::holding_leaf() const {
    for (pid_t p : leaves) {
        if (std::find(holders.begin(), holders.end(), p) != holders.end()) return p;
    }
    return std::nullopt;
}

AgentSearch find_agent(pid_t root) {
    AgentSearch out;
    const auto procs = proc::list_processes();
    std::vector<pid_t> tree{root};
    for (pid_t p : proc::descendants(procs, root)) tree.push_back(p);
    for (pid_t p : tree) {
        if (maps_agent(p)) out.holders.push_back(p);
        const bool parent =
            std::any_of(procs.begin(), procs.end(), [&](const proc::ProcessInfo& i) {
                return i.ppid == p && std::find(tree.begin(), tree.end(), i.pid) != tree.end();
            });
        if (!parent) out.leaves.push_back(p);
    }
    return out;
}

std::string process_name(pid_t pid) {
    std::error_code ec;
    const fs::path exe = fs::read_symlink(fmt::format("/proc/{}/exe", pid), ec);
    if (!ec) return exe.filename().string();
    auto comm = util::try_read_file(fmt::format("/proc/{}/comm", pid));
    if (!comm) return "?";
    while (!comm->empty() && comm->back() == '\n') comm->pop_back();
    return *comm;
}

std::string why_no_agent(pid_t pid) {
    const std::string who = fmt::format("pid {} ({})", pid, process_name(pid));
    const int fd = ::open(fmt::format("/proc/{}/exe", pid).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fmt::format(
            "{} cannot be inspected ({}): it runs as another user, e.g. setuid, "
            "and the loader ignores LD_PRELOAD for such programs",
            who, util::errno_text(errno));
    }
    struct stat st {};
    const bool have_stat = ::fstat(fd, &st) == 0;
    const Linking linking = linking_of(fd);
    ::close(fd);
    if (have_stat && (st.st_mode & (S_ISUID | S_ISGID)) != 0) {
        return fmt::format(
            "{} is setuid or setgid: the loader ignores LD_PRELOAD for it (run it "
            "as its own user instead)",
            who);
    }
    if (linking == Linking::static_) {
        return fmt::format(
            "{} is statically linked: no dynamic loader runs, so LD_PRELOAD does "
            "not apply (build it dynamically linked to record it)",
            who);
    }
    const auto preload = initial_ld_preload(pid);
    if (preload && preload->find(k_agent_file) == std::string::npos) {
        return fmt::format(
            "{} was started without the agent in LD_PRELOAD: a program before it "
            "removed it or cleared the environment (sudo, env -i, a service "
            "manager); pass --follow-children to keep the agent across every "
            "exec, or start the program itself with record",
            who);
    }
    return fmt::format(
        "{} has the agent in LD_PRELOAD but did not load it (see the loader's "
        "message above)",
        who);
}

namespace {

bool is_wrapper_name(std::string_view name) {
    static constexpr std::string_view k_wrappers[] = {
        "sh",     "bash", "dash",    "zsh",     "ksh",    "mksh",   "busybox",
        "env",    "nice", "nohup",   "timeout", "stdbuf", "setsid", "taskset",
        "ionice", "chrt", "numactl", "prlimit", "flock",  "time"};
    return std::find(std::begin(k_wrappers), std::end(k_wrappers), name) != std::end(k_wrappers);
}

}  // namespace

bool is_wrapper(const std::string& argv0) {
    if (is_wrapper_name(fs::path(argv0).filename().string())) return true;
    // A script: "#!/bin/sh" or "#!/usr/bin/env bash" makes a shell (or env) the program.
    const int fd = ::open(util::resolve_program(argv0).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[256];
    const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
    ::close(fd);
    if (n < 3 || buf[0] != '#' || buf[1] != '!') return false;
    std::string_view line(buf + 2, static_cast<size_t>(n) - 2);
    line = line.substr(0, line.find('\n'));
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos) return false;
    line.remove_prefix(start);
    const std::string_view interpreter = line.substr(0, line.find_first_of(" \t"));
    return is_wrapper_name(fs::path(std::string(interpreter)).filename().string());
}

}  // namespace leakhunt::cli
