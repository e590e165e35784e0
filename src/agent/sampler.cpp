// The sampler's slow path: first use on a thread, and drawing the next gap.
#include "agent/sampler.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <ctime>

namespace leakhunt::agent {
namespace {

// splitmix64: a good 64-bit generator for seeding and for the gaps themselves.
std::uint64_t splitmix(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace

std::int64_t Sampler::next_gap(std::uint64_t interval) {
    // u uniform in (0, 1]: 53 random bits, never 0.
    const double u =
        (static_cast<double>(splitmix(m_rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    const double gap = -std::log(u) * static_cast<double>(interval);
    return gap < 1.0 ? 1 : static_cast<std::int64_t>(gap);
}

bool Sampler::slow_path(std::int64_t size, std::uint64_t interval, std::uint64_t seed) {
    // Every allocation in full mode, none when off: the count stays at zero, so each comes here.
    if (interval <= 1) return interval == 1;
    if (!m_started) {
        m_started = true;
        if (seed != 0) {
            // Reproducible: the n-th thread to sample gets the n-th stream of this seed.
            static std::atomic<std::uint64_t> threads{0};
            m_rng = seed + threads.fetch_add(1, std::memory_order_relaxed) * 0x9E3779B97F4A7C15ull;
        } else {
            timespec ts{};
            ::clock_gettime(CLOCK_MONOTONIC, &ts);
            m_rng = static_cast<std::uint64_t>(ts.tv_nsec) ^
                    (static_cast<std::uint64_t>(::syscall(SYS_gettid)) << 32) ^
                    reinterpret_cast<std::uintptr_t>(this);
        }
        // The first gap starts now; this allocation is judged against it.
        m_bytes_until_sample = next_gap(interval);
        if (m_bytes_until_sample > size) {
            m_bytes_until_sample -= size;
            return false;
        }
    }
    // The sample point falls inside this allocation. The next gap starts after it, counting the
    // rest of this allocation (a huge allocation may contain several sample points; it is one
    // sample, weighted by the un-sampling formula).
    std::int64_t left = size - m_bytes_until_sample;
    std::int64_t gap = next_gap(interval);
    while (gap <= left) {
        left -= gap;
        gap = next_gap(interval);
    }
    m_bytes_until_sample = gap - left;
    return true;
}

}  // namespace leakhunt::agent
