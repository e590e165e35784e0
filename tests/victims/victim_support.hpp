// Shared plumbing of the victim programs (tests/victims/): "--name value" flag parsing with byte
// suffixes, the "ready" handshake on stdout, a tick clock that runs until --seconds elapse (or
// forever), and helpers that allocate memory which really lands in RSS (every page written) or
// churn temporaries. Victims misbehave on purpose for integration tests of `leakhunt watch` and
// `soak`; this file keeps them short and alike. Not thread-safe: call from main() only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace leakhunt::victims {

// Flags of the form `--name value`. Everything after a lone `--` is kept as the rest().
class Flags {
  public:
    // Exits with status 2 and a usage line on a malformed command line.
    Flags(std::span<char* const> args, const char* usage);

    std::size_t bytes(const std::string& name, std::size_t fallback);  // 4096, 64K, 2M, 1G
    double number(const std::string& name, double fallback);
    std::uint64_t count(const std::string& name, std::uint64_t fallback);
    const std::vector<std::string>& rest() const { return m_rest; }
    // Exits with status 2 if a flag was given that no bytes()/number()/count() asked for.
    void reject_unknown() const;

  private:
    [[noreturn]] void fail(const std::string& message) const;

    const char* m_usage;
    std::map<std::string, std::string> m_values;
    std::map<std::string, bool> m_used;
    std::vector<std::string> m_rest;
};

// Prints "ready" and flushes stdout, so a test reading the pipe knows the victim is running.
void announce_ready();

// Calls back every `tick` until `seconds` have passed (seconds <= 0: forever).
class TickClock {
  public:
    TickClock(double seconds, std::chrono::milliseconds tick);
    // Sleeps until the next tick; false once the run time is over.
    bool next();
    double elapsed_seconds() const;

  private:
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_next;
    std::optional<std::chrono::steady_clock::time_point> m_end;
    std::chrono::milliseconds m_tick;
};

// malloc(size) with every byte written, so the pages are resident. Exits on failure.
void* allocate_touched(std::size_t size);

// Allocates, writes and frees `count` temporaries of random sizes up to `max_size`.
void churn(std::mt19937_64& random, std::size_t count, std::size_t max_size);

}  // namespace leakhunt::victims
