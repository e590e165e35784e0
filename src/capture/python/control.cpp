// The bootstrap's private directory, control socket and snapshot files (control.hpp).
#include "capture/python/control.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "proc/agent_control.hpp"
#include "proc/proc_files.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::capture::python {
namespace fs = std::filesystem;
namespace {

constexpr char k_socket[] = "ctl.sock";
// A snapshot file larger than this is refused (a million tracebacks of 16 frames is ~200 MB).
constexpr uintmax_t k_max_trace_bytes = uintmax_t{1} << 30;
// An object graph larger than this is refused (10 M nodes, the bootstrap's own limit, with
// their edges is ~0.5 GB; 4 GiB leaves room for nodes with many edges).
constexpr uintmax_t k_max_graph_bytes = uintmax_t{4} << 30;

// The reply's printable start, for a message (the text comes from the target).
std::string printable(std::string_view text) {
    std::string out;
    for (const char c : text.substr(0, 200)) {
        const auto u = static_cast<unsigned char>(c);
        out += u >= 0x20 && u < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", u);
    }
    return out;
}

}  // namespace

Control::Control(uid_t uid, gid_t gid) : m_uid(uid) {
    std::string templ = "/tmp/leakhunt-python.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
        throw util::Error("cannot make a private directory under /tmp for the bootstrap: {}",
                          util::errno_text(errno));
    }
    m_dir = templ;
    if (::geteuid() != uid && ::chown(m_dir.c_str(), uid, gid) != 0) {
        const int e = errno;
        std::error_code ec;
        fs::remove(m_dir, ec);
        throw util::Error("cannot give {} to uid {}: {}", m_dir.string(), uid, util::errno_text(e));
    }
}

Control::~Control() {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
}

bool Control::socket_exists() const {
    struct stat st {};
    return ::lstat((m_dir / k_socket).c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::string Control::startup_error() const {
    try {
        std::string text = util::read_file_in_dir(m_dir, "error", std::vector<uid_t>{m_uid, 0});
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
        return printable(text);
    } catch (const util::Error&) {
        return {};
    }
}

std::string Control::request(const std::string& what, double timeout_s) const {
    const util::UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (sock.get() < 0) throw util::Error("cannot create a socket: {}", util::errno_text(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = (m_dir / k_socket).string();
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);  // /tmp/...: always fits
    if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        if (proc::has_exited(m_pid)) {
            throw util::Error("process {} exited before its tracemalloc bootstrap answered", m_pid);
        }
        throw util::Error("the tracemalloc bootstrap in process {} does not answer on {}: {}",
                          m_pid, path, util::errno_text(err));
    }
    ucred cred{};
    socklen_t size = sizeof cred;
    if (::getsockopt(sock.get(), SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0 || cred.pid != m_pid) {
        throw util::Error(
            "the control socket {} was opened by process {}, not by process {}: "
            "its answer is not trusted",
            path, cred.pid, m_pid);
    }
    const std::string line = what + "\n";
    if (::send(sock.get(), line.data(), line.size(), MSG_NOSIGNAL) < 0) {
        throw util::Error("cannot talk to the tracemalloc bootstrap in process {}: {}", m_pid,
                          util::errno_text(errno));
    }
    const std::string reply = proc::read_reply(sock.get(), timeout_s);
    if (reply == "ok") return {};
    if (reply.starts_with("ok ")) return reply.substr(3);
    if (reply.empty()) {
        throw util::Error(
            "the tracemalloc bootstrap in process {} did not answer `{}` within "
            "{:.0f} s (the process ended, or holds the GIL in a long C call)",
            m_pid, what, timeout_s);
    }
    bool ok = true;
    const std::string text =
        decode_field(reply.starts_with("error ") ? reply.substr(6) : reply, &ok);
    throw util::Error("the tracemalloc bootstrap in process {} could not {}: {}", m_pid, what,
                      printable(ok ? text : reply));
}

PyTraceFile Control::read_trace(const std::string& name) const {
    struct stat st {};
    const fs::path path = m_dir / name;
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<uintmax_t>(st.st_size) > k_max_trace_bytes) {
        throw util::Error("{} is {} bytes, over the limit of 1 GiB: refused", path.string(),
                          st.st_size);
    }
    const std::string text = util::read_file_in_dir(m_dir, name, std::vector<uid_t>{m_uid, 0});
    ::unlink(path.c_str());
    return parse_pytrace(text, path.string());
}

PyTraceFile Control::snapshot(double timeout_s) const {
    const std::string name = request("snapshot", timeout_s);
    // "trace.N": the only names the bootstrap gives; anything else is refused.
    if (!name.starts_with("trace.") || name.size() < 7 || name.size() > 26 ||
        name.find_first_not_of("0123456789", 6) != std::string::npos) {
        throw util::Error(
            "the tracemalloc bootstrap in process {} answered with \"{}\", not a "
            "snapshot file name: refused",
            m_pid, printable(name));
    }
    return read_trace(name);
}

std::string Control::heap_graph(double timeout_s, std::string* stats) const {
    const std::string reply = request("heapgraph", timeout_s);
    const std::string name = reply.substr(0, reply.find(' '));
    // "graph.N": the only names the bootstrap gives; anything else is refused.
    if (!name.starts_with("graph.") || name.size() < 7 || name.size() > 26 ||
        name.find_first_not_of("0123456789", 6) != std::string::npos) {
        throw util::Error(
            "the bootstrap in process {} answered with \"{}\", not an object graph "
            "file name: refused",
            m_pid, printable(name));
    }
    const fs::path path = m_dir / name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<uintmax_t>(st.st_size) > k_max_graph_bytes) {
        ::unlink(path.c_str());
        throw util::Error("{} is {} bytes, over the limit of 4 GiB: refused", path.string(),
                          st.st_size);
    }
    std::string bytes = util::read_file_in_dir(m_dir, name, std::vector<uid_t>{m_uid, 0});
    ::unlink(path.c_str());
    if (stats != nullptr)
        *stats = printable(reply.size() > name.size() ? reply.substr(name.size() + 1) : "");
    return bytes;
}

std::optional<PyTraceFile> Control::exit_snapshot() const {
    struct stat st {};
    if (::lstat((m_dir / "trace.exit").c_str(), &st) != 0) return std::nullopt;
    return read_trace("trace.exit");
}

}  // namespace leakhunt::capture::python
