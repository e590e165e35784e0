// One recording of a Node process through its inspector: opens (or finds) the inspector, starts
// V8's sampling heap profiler on live objects, and on each snapshot() writes the sampling
// profile as heap.PID.NNNN.pb.gz and a timeline row with the process's RSS and V8's counters
// (js_heap_used_bytes, js_heap_total_bytes, external_bytes, array_buffers_bytes, gc_count,
// gc_seconds); heap_snapshot() streams a V8 heap snapshot to heap.PID.NNNN.heapsnapshot.
// finish() puts the process back as it was: sampling and the GC profiler stopped, the inspector
// closed when this session opened it. Everything goes through src/recorddir. Nothing here
// prints. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "capture/node/cdp_client.hpp"
#include "recorddir/record_dir.hpp"

namespace leakhunt::capture::node {

// V8's own default (and DevTools'): one sample per 32 KiB allocated, on average.
inline constexpr std::int64_t k_default_sampling_interval = 32 * 1024;
// The largest heap snapshot written; a larger one is refused (the file is not kept).
inline constexpr std::uint64_t k_max_heapsnapshot_bytes = std::uint64_t{4} << 30;
// Free space left on the record directory's file system while a heap snapshot streams.
inline constexpr std::uint64_t k_min_free_bytes = std::uint64_t{64} << 20;

// The timeline's runtime counter columns, in order.
std::vector<std::string> timeline_counters();

struct SessionOptions {
    std::int64_t sampling_interval = k_default_sampling_interval;
    std::chrono::milliseconds open_timeout{10000};  // SIGUSR1 to a usable inspector
    std::chrono::milliseconds call_timeout{30000};  // each CDP call
    std::uint64_t max_heapsnapshot_bytes = k_max_heapsnapshot_bytes;
    // false: a session for heap_snapshot() only (`snapshot PID --heap`): no sampling, no GC
    // profiler, no manifest; snapshot() must not be called.
    bool profile = true;
};

struct SnapshotResult {
    std::string file;
    recorddir::TimelineRow row;
};

struct HeapSnapshotResult {
    std::string file;
    std::uint64_t bytes = 0;
    double pause_s = 0;  // from the request to the last chunk: the program is paused meanwhile
};

class NodeSession {
  public:
    // Attaches to node process `pid` and starts sampling; writes the manifest. Throws
    // util::Error (the process is left as it was).
    NodeSession(pid_t pid, std::filesystem::path dir, recorddir::Manifest manifest,
                SessionOptions options = {});
    ~NodeSession();  // finish() if it was not called (errors swallowed)
    NodeSession(const NodeSession&) = delete;
    NodeSession& operator=(const NodeSession&) = delete;

    SnapshotResult snapshot(const std::string& reason);
    HeapSnapshotResult heap_snapshot();
    // Restores the process and writes the manifest again. Returns what could not be restored
    // (empty when all was), as sentences for a warning. Idempotent.
    std::vector<std::string> finish();

    // True while the recorded process runs (the same process: PID reuse is noticed) and has not
    // begun to exit.
    bool process_lives() const;
    bool inspector_opened_by_us() const;
    const Endpoint& endpoint() const;
    std::string node_version() const;  // "v20.1.0", or "" when unknown
    const std::filesystem::path& timeline_path() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace leakhunt::capture::node
