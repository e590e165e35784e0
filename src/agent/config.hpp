// The agent's configuration, read once from the environment at load time (leakhunt record sets
// these; they can also be set by hand with LD_PRELOAD):
//   LEAKHUNT_OUT              output directory (default: the current directory)
//   LEAKHUNT_SAMPLE_INTERVAL  mean bytes between samples; 1 = every allocation (full mode);
//                             0 = recording off (default 524288)
//   LEAKHUNT_SNAPSHOT_EVERY   seconds between periodic snapshots; 0 = only on request and at exit
//   LEAKHUNT_DEPTH            maximum stack depth (default 64, at most 256)
//   LEAKHUNT_FOLLOW_CHILDREN  1 = keep the agent in LD_PRELOAD for programs this one execs
//   LEAKHUNT_SEED             seed of the sampler (for reproducible tests; default: random)
//   LEAKHUNT_LEAK_CHECK       1 = scan the heap at exit (full mode only) and write the scan file
//   LEAKHUNT_UNWIND           libunwind = every stack by libunwind (default: the agent's own CFI
//                             walker, libunwind where it gives up); check = both on every stack,
//                             and the count of stacks that differ printed at exit (for tests)
// An agent dlopen'ed into a running process (`leakhunt record --pid`) finds none of these in its
// environment: its configuration comes as one string to leakhunt_attach (read_attach_config).
// Plain data; written once before recording starts.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leakhunt::agent {

struct Config {
    char out_dir[4096] = ".";
    std::uint64_t sample_interval = 512 * 1024;
    double snapshot_every_s = 0;
    std::size_t depth = 64;
    bool follow_children = false;
    std::uint64_t seed = 0;
    bool leak_check = false;
    enum class Unwind : std::uint8_t { cfi, libunwind, check };
    Unwind unwind = Unwind::cfi;
    bool attached = false;  // loaded into a running process: sees only later allocations
    double attached_at_unix = 0;
    bool full() const { return sample_interval == 1; }
    bool enabled() const { return sample_interval != 0; }
};

inline constexpr std::size_t k_max_depth = 256;

// Fills `c` from the environment; never allocates.
void read_config(Config& c);

// Fills `c` from an attach request: "interval=N;every=MS;depth=D;unwind=cfi|libunwind|check;
// seed=N;out=DIR" (any order, out last: the directory runs to the end of the string). False if a
// field is malformed or out is missing. every is in milliseconds. Never allocates.
bool read_attach_config(Config& c, const char* spec);

extern Config g_config;

}  // namespace leakhunt::agent
