// What every subcommand shares: exit codes (DESIGN.md), option parsers for bytes, durations and
// rates that report usage errors, and the one place where warnings reach stderr.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "util/units.hpp"

namespace leakhunt::cli {

// Exit codes of DESIGN.md.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_error = 1;
inline constexpr int k_exit_usage = 2;
inline constexpr int k_exit_leak = 3;

// "--limit 2G" -> bytes; throws util::UsageError naming the option.
double parse_bytes_option(std::string_view option, std::string_view value);
// "--interval 500ms" -> seconds (> 0); throws util::UsageError naming the option.
double parse_duration_option(std::string_view option, std::string_view value);
// "--min-rate 1M/h", "10MiB/h", "100k/s", "1024" (bytes per hour) -> bytes per hour.
double parse_rate_option(std::string_view option, std::string_view value);

// "4242" -> 4242 for every verb that takes a PID (proc::parse_pid); anything else throws
// util::UsageError naming the option and the valid range. `option` is "" for a positional PID.
pid_t parse_pid_option(std::string_view option, std::string_view value);

// "leakhunt: warning: <text>" on stderr (control characters escaped: util::terminal_safe).
void warn(std::string_view text);

template <typename... Args>
void warnf(fmt::format_string<Args...> f, Args&&... args) {
    warn(fmt::format(f, std::forward<Args>(args)...));
}

// The command after `--` on the leakhunt command line (`watch -- CMD ARGS`), split off before
// option parsing so that its own options are not taken for ours.
void set_trailing_command(std::vector<std::string> argv);
const std::vector<std::string>& trailing_command();

// The signals that stop every leakhunt command cleanly, as ^C does: SIGINT, SIGTERM and SIGHUP.
// Long-running commands block them and wait for them between steps (sigtimedwait).
sigset_t stop_signals();
// "interrupted" (SIGINT), "terminated" (SIGTERM), "hung up" (SIGHUP), for "leakhunt: <...>".
// Every command that ends a step on a stop signal says so through here, which also remembers
// it (stop_requested): a command made of steps (hunt) then runs no further step.
const char* stop_signal_text(int sig);
// True once stop_signal_text was called for a stop signal in this process.
bool stop_requested();

// Unix time now, in seconds.
using util::unix_now;

}  // namespace leakhunt::cli
