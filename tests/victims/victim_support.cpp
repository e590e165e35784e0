// Implementation of the victims' shared plumbing: flag parsing, the ready handshake, the tick
// clock and touched allocations. Errors in flags exit with status 2 (a usage error, as in the
// CLI's exit codes); an allocation failure exits with status 1.
#include "victim_support.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace leakhunt::victims {

Flags::Flags(std::span<char* const> args, const char* usage) : m_usage(usage) {
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string flag = args[i];
        if (flag == "--") {
            m_rest.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            return;
        }
        if (flag == "--help" || flag == "-h") {
            std::printf("%s\n", m_usage);
            std::exit(0);
        }
        if (flag.rfind("--", 0) != 0 || i + 1 >= args.size()) fail("bad argument: " + flag);
        m_values[flag.substr(2)] = args[++i];
        m_used[flag.substr(2)] = false;
    }
}

void Flags::fail(const std::string& message) const {
    std::fprintf(stderr, "error: %s\n%s\n", message.c_str(), m_usage);
    std::exit(2);
}

std::size_t Flags::bytes(const std::string& name, std::size_t fallback) {
    const auto found = m_values.find(name);
    if (found == m_values.end()) return fallback;
    m_used[name] = true;
    const std::string& text = found->second;
    std::size_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{}) fail("--" + name + " wants a byte count, got " + text);
    std::size_t scale = 1;
    const std::string suffix(ptr, end);
    if (suffix == "K" || suffix == "k" || suffix == "KiB")
        scale = std::size_t{1} << 10;
    else if (suffix == "M" || suffix == "MiB")
        scale = std::size_t{1} << 20;
    else if (suffix == "G" || suffix == "GiB")
        scale = std::size_t{1} << 30;
    else if (!suffix.empty())
        fail("--" + name + ": unknown suffix " + suffix + " (K, M, G)");
    return value * scale;
}

double Flags::number(const std::string& name, double fallback) {
    const auto found = m_values.find(name);
    if (found == m_values.end()) return fallback;
    m_used[name] = true;
    char* end = nullptr;
    const double value = std::strtod(found->second.c_str(), &end);
    if (end == found->second.c_str() || *end != '\0') {
        fail("--" + name + " wants a number, got " + found->second);
    }
    return value;
}

std::uint64_t Flags::count(const std::string& name, std::uint64_t fallback) {
    const auto found = m_values.find(name);
    if (found == m_values.end()) return fallback;
    m_used[name] = true;
    const std::string& text = found->second;
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end) fail("--" + name + " wants a whole number, got " + text);
    return value;
}

void Flags::reject_unknown() const {
    for (const auto& [name, used] : m_used) {
        if (!used) fail("unknown flag: --" + name);
    }
}

void announce_ready() {
    std::fputs("ready\n", stdout);
    std::fflush(stdout);
}

TickClock::TickClock(double seconds, std::chrono::milliseconds tick)
    : m_start(std::chrono::steady_clock::now()), m_next(m_start), m_tick(tick) {
    if (seconds > 0) {
        m_end = m_start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(seconds));
    }
}

bool TickClock::next() {
    m_next += m_tick;
    if (m_end && m_next >= *m_end) {
        std::this_thread::sleep_until(*m_end);
        return false;
    }
    std::this_thread::sleep_until(m_next);
    return true;
}

double TickClock::elapsed_seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
}

void* allocate_touched(std::size_t size) {
    void* block = std::malloc(size == 0 ? 1 : size);
    if (block == nullptr) {
        std::fprintf(stderr, "error: malloc(%zu) failed\n", size);
        std::exit(1);
    }
    // A non-zero pattern: the pages must really be written, not left as shared zero pages.
    std::memset(block, 0x5a, size);
    return block;
}

void churn(std::mt19937_64& random, std::size_t count, std::size_t max_size) {
    std::uniform_int_distribution<std::size_t> size_of(16, max_size < 16 ? 16 : max_size);
    std::vector<void*> blocks;
    blocks.reserve(count);
    for (std::size_t i = 0; i < count; ++i) blocks.push_back(allocate_touched(size_of(random)));
    for (void* block : blocks) std::free(block);
}

}  // namespace leakhunt::victims
