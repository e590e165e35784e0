// The agent's one background thread: writes a heap snapshot (gzip pprof) every
// LEAKHUNT_SNAPSHOT_EVERY seconds and whenever `leakhunt snapshot PID` asks through the control
// socket (the abstract unix socket "leakhunt-agent.<pid>", same user or root only), and appends a
// line per snapshot to the timeline (timeline.<pid>.csv: time, heap in-use bytes and objects, RSS,
// the agent's own memory). Started with all signals blocked; stopped through an eventfd that its
// poll() waits on (no sleep loop). The final snapshot at exit is written by the caller's thread.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leakhunt::agent {

// Starts the thread (and the control socket). Safe to call again in a forked child.
void start_writer();
// Stops and joins the thread, if running.
void stop_writer();
// After fork(), in the child: the parent's thread does not exist here; start our own.
void writer_after_fork_child();
enum class SnapshotScan { no, yes };

// Writes a snapshot now; `reason` goes into the timeline. Returns false on failure, with the
// path (or the error) in `msg`. With a scan (full mode only), the heap scan file
// heap.PID.NNNN.scan is written too and `msg` goes on with " scan=PATH pause_ms=..." or
// " scan-error=WHY" (the snapshot itself is written either way). `caller_root_sp`: see
// write_heap_scan (at exit, the frame address of the agent's destructor; else 0).
bool write_snapshot(const char* reason, char* msg, std::size_t msg_size,
                    SnapshotScan scan = SnapshotScan::no, std::uint64_t caller_root_sp = 0);

}  // namespace leakhunt::agent
