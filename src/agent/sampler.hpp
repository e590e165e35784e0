// Per-thread Poisson byte sampler (the scheme of tcmalloc and Go's runtime). Each thread counts
// down bytes until its next sample; the gaps are drawn from an exponential distribution with mean
// `interval`, so every byte has the same chance 1/interval of being the sampled one and an
// allocation of s bytes is sampled with probability p(s) = 1 - exp(-s / interval).
//
// Un-sampling, as Go and pprof do it (runtime/pprof scaleHeapSample): a stack with c sampled
// allocations totalling b bytes stands for c*w objects and b*w bytes, w = 1 / (1 - exp(-avg /
// interval)), avg = b / c. Worked examples at the default interval of 512 KiB:
//   - a 1 MiB allocation: p = 1 - e^-2 = 0.865, so w = 1.157: each sample counts 1.157 times.
//   - a 64-byte allocation: p = 1.2e-4, w = 8192.5: each sample stands for ~8192 of them.
// interval 1 records every allocation (w = 1 exactly, no scaling); interval 0 is off.
//
// constexpr-constructible, so it lives in zero-initialised TLS; the fast path is one subtraction
// and one comparison, inlined into the hooks. Full mode (interval 1) and off (0) keep the count at
// zero, so they always take the out-of-line slow path, which decides. Not thread-safe by design:
// one per thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leakhunt::agent {

class Sampler {
  public:
    constexpr Sampler() = default;

    // True if this allocation of `size` bytes is to be recorded.
    bool sample(std::size_t size, std::uint64_t interval, std::uint64_t seed) {
        const auto s = static_cast<std::int64_t>(size);
        if (skip(s)) [[likely]]
            return false;
        return slow_path(s, interval, seed);
    }

    // The fast path alone: true (and the bytes counted) if this allocation is certainly not
    // sampled; otherwise the caller decides with slow_path.
    bool skip(std::int64_t size) {
        if (m_bytes_until_sample > size) {
            m_bytes_until_sample -= size;
            return true;
        }
        return false;
    }
    // Interval 0 (off, or the agent not yet configured) returns false and starts nothing, so the
    // first gap is drawn with the configured interval and seed.
    __attribute__((noinline)) bool slow_path(std::int64_t size, std::uint64_t interval,
                                             std::uint64_t seed);

  private:
    std::int64_t next_gap(std::uint64_t interval);

    std::int64_t m_bytes_until_sample = 0;
    std::uint64_t m_rng = 0;
    bool m_started = false;
};

}  // namespace leakhunt::agent
