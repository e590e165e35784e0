// The agent's timeline files and its control socket, seen from outside the process.
#include "proc/agent_control.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "format/agent_protocol.hpp"
#include "proc/proc_files.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::proc {

namespace fs = std::filesystem;

std::vector<TimelineRow> read_timeline(const fs::path& dir, pid_t pid) {
    std::vector<TimelineRow> rows;
    auto text = util::try_read_file(dir / fmt::format("timeline.{}.csv", pid));
    if (!text) return rows;
    std::istringstream in(*text);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, ',')) f.push_back(cell);
        if (f.size() < 7) continue;
        TimelineRow r;
        r.unix_time = std::strtod(f[0].c_str(), nullptr);
        r.rss_bytes = std::strtod(f[1].c_str(), nullptr);
        r.heap_inuse_bytes = std::strtod(f[2].c_str(), nullptr);
        r.heap_inuse_objects = std::strtod(f[3].c_str(), nullptr);
        r.agent_bytes = std::strtod(f[4].c_str(), nullptr);
        r.reason = f[5];
        r.snapshot = f[6];
        rows.push_back(std::move(r));
    }
    return rows;
}

std::vector<pid_t> recorded_pids(const fs::path& dir) {
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("timeline.", 0) == 0 && name.size() > 13 &&
            name.substr(name.size() - 4) == ".csv") {
            if (auto pid = parse_pid(std::string_view(name).substr(9, name.size() - 13))) {
                pids.push_back(*pid);
            }
        }
    }
    std::sort(pids.begin(), pids.end());
    return pids;
}

std::vector<pid_t> agent_pids() {
    std::vector<pid_t> pids;
    auto text = util::try_read_file("/proc/net/unix");
    if (!text) return pids;
    constexpr std::string_view k_name = "@leakhunt-agent.";
    std::string_view rest = *text;
    for (size_t at = rest.find(k_name); at != std::string_view::npos;
         at = rest.find(k_name, at + 1)) {
        // The name ends the line (the path is the last column).
        const size_t from = at + k_name.size();
        const size_t eol = std::min(rest.find('\n', from), rest.size());
        const auto pid = parse_pid(rest.substr(from, eol - from));
        if (!pid) continue;
        if (::kill(*pid, 0) != 0 && errno != EPERM) continue;
        pids.push_back(*pid);
    }
    std::sort(pids.begin(), pids.end());
    pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
    return pids;
}

std::string agent_out_dir(pid_t pid) {
    auto env = util::try_read_file(fmt::format("/proc/{}/environ", pid));
    if (!env) return "";
    constexpr std::string_view k_var = "LEAKHUNT_OUT=";
    std::string_view rest = *env;
    while (!rest.empty()) {
        const size_t end = rest.find('\0');
        const std::string_view entry = rest.substr(0, end);
        if (entry.starts_with(k_var)) return std::string(entry.substr(k_var.size()));
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
    return "";
}

std::string request_snapshot(pid_t pid, double timeout_s, const char* command) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
        throw util::Error("no process with pid {}", pid);
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw util::Error("cannot create a socket: {}", util::errno_text(errno));
    sockaddr_un addr;
    const socklen_t size = format::control_socket_address(addr, pid);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), size) != 0) {
        const int e = errno;
        ::close(fd);
        throw util::Error("no leakhunt agent answers in process {} ({}): start the program with "
                          "`leakhunt record -- CMD`, or with LD_PRELOAD={}",
                          pid, util::errno_text(e), "<build>/lib/libleakhunt_agent.so");
    }
    const std::string cmd = std::string(command) + "\n";
    if (::send(fd, cmd.data(), cmd.size(), MSG_NOSIGNAL) < 0) {
        const int e = errno;
        ::close(fd);
        throw util::Error("cannot talk to the agent in process {}: {}", pid, util::errno_text(e));
    }
    std::string reply;
    char buf[512];
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(timeout_s * 1000)) == 1) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        reply.append(buf, static_cast<size_t>(n));
        if (reply.find('\n') != std::string::npos) break;
    }
    ::close(fd);
    while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.pop_back();
    if (reply.rfind("ok ", 0) == 0) return reply.substr(3);
    if (reply.empty()) {
        throw util::Error("the agent in process {} did not answer within {:.0f} s, or closed the "
                          "connection (a program that closes all its descriptors also closes "
                          "the agent's control socket; use --snapshot-every instead)",
                          pid, timeout_s);
    }
    throw util::Error("the agent in process {} could not write a snapshot: {}", pid,
                      reply.rfind("error ", 0) == 0 ? reply.substr(6) : reply);
}

}  // namespace leakhunt::proc
