// Option parsing helpers and warnings for the subcommands.
#include "cli/common.hpp"

#include <atomic>
#include <cstdio>

#include "proc/proc_files.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {

double parse_bytes_option(std::string_view option, std::string_view value) {
    auto b = util::parse_bytes(value);
    if (!b) {
        throw util::UsageError("{} {}: not a size (use bytes or a suffix: 512M, 2G, 1.5GiB)",
                               option, value);
    }
    return *b;
}

double parse_duration_option(std::string_view option, std::string_view value) {
    auto d = util::parse_duration(value);
    if (!d || *d <= 0) {
        throw util::UsageError("{} {}: not a duration (use seconds or a unit: 500ms, 30s, 20m, 2h)",
                               option, value);
    }
    return *d;
}

double parse_rate_option(std::string_view option, std::string_view value) {
    std::string_view amount = value;
    double per_hour = 1;
    if (auto slash = value.rfind('/'); slash != std::string_view::npos) {
        amount = value.substr(0, slash);
        std::string_view unit = value.substr(slash + 1);
        if (unit == "h") {
            per_hour = 1;
        } else if (unit == "m" || unit == "min") {
            per_hour = 60;
        } else if (unit == "s") {
            per_hour = 3600;
        } else if (unit == "d") {
            per_hour = 1.0 / 24;
        } else {
            throw util::UsageError("{} {}: unknown time unit '{}' (use /s, /m, /h or /d)", option,
                                   value, unit);
        }
    }
    auto b = util::parse_bytes(amount);
    if (!b) {
        throw util::UsageError("{} {}: not a rate (examples: 1M/h, 100k/s, 10MiB/h)", option,
                               value);
    }
    return *b * per_hour;
}

pid_t parse_pid_option(std::string_view option, std::string_view value) {
    if (auto pid = proc::parse_pid(value)) return *pid;
    throw util::UsageError("{}{}'{}' is not a PID (a PID is a whole number from 1 to {})", option,
                           option.empty() ? "" : " ", value, proc::k_pid_max_limit);
}

void warn(std::string_view text) {
    std::fprintf(stderr, "leakhunt: warning: %s\n", util::terminal_safe(text).c_str());
}

namespace {
std::vector<std::string>& command_storage() {
    static std::vector<std::string> argv;
    return argv;
}
}  // namespace

void set_trailing_command(std::vector<std::string> argv) {
    command_storage() = std::move(argv);
}
const std::vector<std::string>& trailing_command() {
    return command_storage();
}

sigset_t stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    return set;
}

namespace {
std::atomic<bool> g_stop_requested{false};
}  // namespace

bool stop_requested() {
    return g_stop_requested.load();
}

const char* stop_signal_text(int sig) {
    g_stop_requested.store(true);
    switch (sig) {
        case SIGINT:
            return "interrupted";
        case SIGHUP:
            return "hung up";
        default:
            return "terminated";
    }
}

}  // namespace leakhunt::cli
