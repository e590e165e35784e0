// The agent's control socket, seen from outside the process.
#include "proc/agent_control.hpp"

#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "format/agent_protocol.hpp"
#include "proc/proc_files.hpp"
#include "recorddir/record_dir.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::proc {

namespace fs = std::filesystem;

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
    const auto env = util::try_read_file(fmt::format("/proc/{}/environ", pid));
    return env ? environ_value(*env, "LEAKHUNT_OUT").value_or("") : "";
}

// The uids process `pid` runs as, for deciding who may ask it and whose files it writes: the
// owner of /proc/PID (its effective uid; root when it is not dumpable) and its real uid. Empty if
// the process is gone.
std::vector<uid_t> process_uids(pid_t pid) {
    std::vector<uid_t> out;
    struct stat st {};
    if (::stat(fmt::format("/proc/{}", pid).c_str(), &st) == 0) out.push_back(st.st_uid);
    if (auto text = util::try_read_file(fmt::format("/proc/{}/status", pid))) {
        if (const auto uid = parse_status(*text).uid) out.push_back(static_cast<uid_t>(*uid));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

// "user alice (uid 1000)", or "uid 1000" when the name is unknown.
std::string describe_user(uid_t uid) {
    passwd pw{};
    passwd* found = nullptr;
    char buf[1024];
    if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
        return fmt::format("user {} (uid {})", found->pw_name, uid);
    }
    return fmt::format("uid {}", uid);
}

// The reply, read until its end of line, EOF, 16 KiB or the deadline (a peer that trickles
// bytes cannot hold the caller longer than `timeout_s`).
std::string read_reply(int fd, double timeout_s) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                             std::chrono::duration<double>(timeout_s));
    std::string reply;
    char buf[512];
    while (reply.size() < 16384 && reply.find('\n') == std::string::npos) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r != 1) break;
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        reply.append(buf, static_cast<size_t>(n));
    }
    const size_t eol = reply.find('\n');
    if (eol != std::string::npos) reply.resize(eol);
    if (!reply.empty() && reply.back() == '\r') reply.pop_back();
    return reply;
}

namespace {

bool contains(const std::vector<uid_t>& uids, uid_t uid) {
    return std::find(uids.begin(), uids.end(), uid) != uids.end();
}

// The agent answers only root and the user it runs as; say so, and how to ask.
util::Error not_allowed(pid_t pid, uid_t owner) {
    const std::string who = describe_user(owner);
    const std::string me = describe_user(::geteuid());
    if (owner == 0) {
        return util::Error(
            "process {} runs as {}: only root may ask its agent for a snapshot, "
            "and this is {}; run leakhunt as root (sudo leakhunt ...)",
            pid, who, me);
    }
    return util::Error(
        "process {} runs as {}: only that user and root may ask its agent for a "
        "snapshot, and this is {}; run leakhunt as that user (sudo -u '#{}' "
        "leakhunt ...) or as root",
        pid, who, me, owner);
}

// The start of an untrusted reply for a message: printable ASCII only, shortened.
std::string excerpt(std::string_view text) {
    std::string out;
    for (const char c : text.substr(0, 120)) {
        const auto u = static_cast<unsigned char>(c);
        out += u >= 0x20 && u < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", u);
    }
    if (text.size() > 120) out += "...";
    return out;
}

// Takes from the front of `rest` a file name the agent gives its files, a snapshot name
// (recorddir) of process `pid` and `kind`, written after `prefix` (its directory and a slash), up
// to a space or the end.
std::optional<std::string> take_agent_file(std::string_view& rest, std::string_view prefix,
                                           pid_t pid, recorddir::Kind kind) {
    if (!rest.starts_with(prefix)) return std::nullopt;
    std::string_view name = rest.substr(prefix.size());
    name = name.substr(0, name.find(' '));
    const auto parsed = recorddir::parse_snapshot_name(name);
    if (!parsed || parsed->id != pid || parsed->kind != kind) return std::nullopt;
    rest.remove_prefix(prefix.size() + name.size());
    return std::string(name);
}

// Closes a descriptor when it goes out of scope.
struct Socket {
    int fd;
    ~Socket() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

std::string AgentSnapshot::read(const std::string& name) const {
    // A relative directory is relative to the agent's working directory, not ours.
    const fs::path base = !dir.empty() && dir.front() == '/'
                              ? fs::path(dir)
                              : fs::path(fmt::format("/proc/{}/cwd", pid)) / dir;
    return util::read_file_in_dir(base, name, owners);
}

AgentReply agent_request(pid_t pid, double timeout_s, const char* command) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
        throw util::Error("no process with pid {}", pid);
    }
    const std::vector<uid_t> uids = process_uids(pid);
    if (uids.empty()) throw util::Error("no process with pid {}", pid);
    // The agent answers root and the uid it runs as; anyone else gets "permission denied".
    const uid_t me = ::geteuid();
    if (me != 0 && !contains(uids, me)) throw not_allowed(pid, uids.back());

    const Socket sock{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) throw util::Error("cannot create a socket: {}", util::errno_text(errno));
    sockaddr_un addr;
    const socklen_t size = format::control_socket_address(addr, pid);
    if (::connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), size) != 0) {
        throw util::Error(
            "no leakhunt agent answers in process {} ({}): start the program with "
            "`leakhunt record -- CMD`, or with LD_PRELOAD={}",
            pid, util::errno_text(errno), "<build>/lib/libleakhunt_agent.so");
    }
    // Any local user can bind an abstract name, "@leakhunt-agent.PID" included. Only process PID
    // itself, as root or as its own user, is the agent (the credentials are those it had when
    // it called listen(), unix(7)).
    ucred cred{};
    socklen_t cred_size = sizeof cred;
    if (::getsockopt(sock.fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_size) != 0) {
        throw util::Error("cannot check who answers on the control socket of process {}: {}", pid,
                          util::errno_text(errno));
    }
    if (cred.pid != pid) {
        throw util::Error(
            "the control socket of process {} (@leakhunt-agent.{}) was opened by "
            "process {} of {}, not by process {}: its answer is not trusted (another "
            "program took the agent's socket name)",
            pid, pid, cred.pid, describe_user(cred.uid), pid);
    }
    if (cred.uid != 0 && !contains(uids, cred.uid)) {
        throw util::Error(
            "the control socket of process {} was opened as {}, who does not run "
            "process {} now: its answer is not trusted",
            pid, describe_user(cred.uid), pid);
    }
    const std::string cmd = std::string(command) + "\n";
    if (::send(sock.fd, cmd.data(), cmd.size(), MSG_NOSIGNAL) < 0) {
        throw util::Error("cannot talk to the agent in process {}: {}", pid,
                          util::errno_text(errno));
    }
    const std::string reply = read_reply(sock.fd, timeout_s);
    if (reply.empty()) {
        throw util::Error(
            "the agent in process {} did not answer within {:.0f} s, or closed the "
            "connection (a program that closes all its descriptors also closes "
            "the agent's control socket; use --snapshot-every instead)",
            pid, timeout_s);
    }
    if (reply == "error permission denied") throw not_allowed(pid, uids.back());
    return {reply, uids, cred.uid};
}

AgentSnapshot request_snapshot(pid_t pid, double timeout_s, const char* command) {
    const AgentReply answer = agent_request(pid, timeout_s, command);
    const std::string& reply = answer.text;
    const std::vector<uid_t>& uids = answer.uids;
    if (!reply.starts_with("ok ")) {
        throw util::Error("the agent in process {} could not write a snapshot: {}", pid,
                          excerpt(reply.starts_with("error ") ? reply.substr(6) : reply));
    }

    AgentSnapshot out;
    out.pid = pid;
    const std::string env_dir = agent_out_dir(pid);
    out.dir = env_dir.empty() ? std::string(".") : env_dir;  // "." is the agent's default
    out.owners = uids;
    if (answer.peer_uid == 0 && !contains(out.owners, 0)) out.owners.push_back(0);
    const std::string prefix = out.dir + "/";
    std::string_view rest = std::string_view(reply).substr(3);
    auto file = take_agent_file(rest, prefix, pid, recorddir::Kind::profile);
    if (file && rest.starts_with(" scan=")) {
        rest.remove_prefix(6);
        auto scan = take_agent_file(rest, prefix, pid, recorddir::Kind::scan);
        if (!scan)
            file.reset();
        else
            out.scan_file = std::move(*scan);
    }
    if (!file) {
        throw util::Error(
            "the agent in process {} answered with a file that is not one of its "
            "snapshots in its directory: \"{}\" (refused: only "
            "heap.{}.NNNN.pb.gz in its LEAKHUNT_OUT are accepted)",
            pid, excerpt(reply), pid);
    }
    out.file = std::move(*file);
    out.details = std::string(rest);
    return out;
}

}  // namespace leakhunt::proc
