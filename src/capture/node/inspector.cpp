#include "capture/node/inspector.hpp"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "proc/listeners.hpp"
#include "proc/proc_files.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::capture::node {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The address to connect to for a socket bound to `s.address`: itself when it is a loopback
// address, the family's loopback when it is bound to every address.
Endpoint endpoint_of(const proc::ListeningSocket& s) {
    Endpoint e;
    e.port = s.port;
    if (s.address == "0.0.0.0") {
        e.address = "127.0.0.1";
    } else if (s.address == "::") {
        e.address = "::1";
    } else if (s.address.starts_with("::ffff:")) {
        e.address = s.address.substr(7);
    } else {
        e.address = s.address;
    }
    return e;
}

std::vector<proc::ListeningSocket> reachable_sockets(pid_t pid) {
    auto all = proc::listening_sockets_of(pid);
    std::erase_if(all, [](const proc::ListeningSocket& s) { return !s.reachable_on_loopback; });
    return all;
}

void check_same_network(pid_t pid) {
    std::error_code a, b;
    const fs::path ours = fs::read_symlink("/proc/self/ns/net", a);
    const fs::path theirs = fs::read_symlink(fs::path("/proc") / std::to_string(pid) / "ns/net", b);
    if (b) {
        throw util::Error("cannot read /proc/{}/ns/net: {} (run as the process owner or root)", pid,
                          b.message());
    }
    if (!a && ours != theirs) {
        throw util::Error(
            "process {} runs in another network namespace (a container?): its "
            "inspector would listen on a loopback leakhunt cannot reach; run "
            "leakhunt inside that namespace (e.g. nsenter -t {} -n leakhunt ...)",
            pid, pid);
    }
}

// The first of `sockets` that answers /json/list as an inspector with a target.
std::optional<InspectorLocation> probe(const std::vector<proc::ListeningSocket>& sockets) {
    for (const auto& s : sockets) {
        const Endpoint e = endpoint_of(s);
        try {
            auto targets = list_targets(e, std::chrono::seconds(2));
            if (targets.empty()) continue;
            InspectorLocation loc;
            loc.endpoint = e;
            loc.target = std::move(targets.front());
            return loc;
        } catch (const util::Error&) {
            // Not the inspector (the program's own server), or it went away: try the next.
        }
    }
    return std::nullopt;
}

}  // namespace

bool catches_sigusr1(pid_t pid) {
    const auto text = util::try_read_file(fmt::format("/proc/{}/status", pid));
    if (!text) return false;
    const auto mask = proc::parse_status(*text).signals_caught;
    return mask && (*mask >> (SIGUSR1 - 1) & 1u) != 0;
}

std::optional<std::uint64_t> start_time_of(pid_t pid) {
    const auto text = util::try_read_file(fmt::format("/proc/{}/stat", pid));
    if (!text) return std::nullopt;
    return proc::parse_stat(*text).starttime;
}

bool process_lives(pid_t pid, std::optional<std::uint64_t> start_time) {
    return !proc::has_exited(pid, start_time);
}

bool listens_on(pid_t pid, std::uint16_t port) {
    const auto sockets = proc::listening_sockets_of(pid);
    return std::any_of(sockets.begin(), sockets.end(),
                       [&](const proc::ListeningSocket& s) { return s.port == port; });
}

InspectorLocation open_inspector(pid_t pid, std::chrono::milliseconds timeout) {
    check_same_network(pid);
    if (!catches_sigusr1(pid)) {
        throw util::Error(
            "process {} does not handle SIGUSR1, so its inspector cannot be opened "
            "from outside (leakhunt does not send it: it would end the process); "
            "start it with --inspect=127.0.0.1:0, or under `leakhunt record -- "
            "node ...`",
            pid);
    }
    const auto before = reachable_sockets(pid);
    if (::kill(pid, SIGUSR1) != 0) {
        throw util::Error(
            "cannot send SIGUSR1 to process {}: {} (run as the process owner or "
            "root)",
            pid, util::errno_text(errno));
    }
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        std::vector<proc::ListeningSocket> fresh;
        for (auto& s : reachable_sockets(pid)) {
            const bool old = std::any_of(before.begin(), before.end(),
                                         [&](const auto& b) { return b.inode == s.inode; });
            if (!old) fresh.push_back(std::move(s));
        }
        if (!fresh.empty()) {
            if (auto loc = probe(fresh)) {
                loc->opened_by_us = true;
                return *loc;
            }
        }
        if (!fs::exists(fs::path("/proc") / std::to_string(pid))) {
            throw util::Error("process {} ended while its inspector was being opened", pid);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // No new port: the inspector may have been open already (--inspect, a debugger).
    if (auto loc = probe(before)) return *loc;
    throw util::Error(
        "no inspector port of process {} appeared within {:.3g} s of SIGUSR1 (its "
        "inspector port may be taken by another process: node says why on its "
        "own stderr; or it was started with --inspect on an address that is not "
        "loopback)",
        pid, static_cast<double>(timeout.count()) / 1000);
}

}  // namespace leakhunt::capture::node
