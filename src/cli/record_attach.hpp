// `leakhunt record --pid PID` for a native program (C, C++, Rust) that is already running: the
// agent is loaded into it through gdb (dlopen, then the agent's leakhunt_attach entry point), it
// records allocations made from then on, and at the end (--duration, --count, ^C, or the program
// exiting) it is asked to detach: a last snapshot, the program's allocation calls put back, the
// program left running. The agent's code stays mapped (it is linked -z nodelete).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "recorddir/record_dir.hpp"

namespace leakhunt::cli {

struct NativeAttachArgs {
    pid_t pid = 0;
    std::filesystem::path dir;          // created, absolute
    std::uint64_t sample_interval = 0;  // 1 = every allocation
    double every_s = 0;                 // --snapshot-every; 0: only the last snapshot
    double duration_s = 0;              // 0: until ^C or the program ends
    long count = 0;                     // stop after this many snapshots; 0: no limit
    int depth = 64;
    // With sample_interval 1: before detaching (not after a stop signal, nor when the program
    // ended), a last snapshot with a heap scan (heap.PID.NNNN.scan) for `paths`; `hunt` uses it.
    bool scan_before_detach = false;
};

// Returns the exit code (0, or 1 after an error that left the program running).
int record_attach(const NativeAttachArgs& args);

class SnapshotSymbolizer;

// The steps of record_attach for a recorder that runs its own loop (`record --pid PID --native`
// on a Python interpreter): the checks, the attach, the detach.
class NativeAttachment {
  public:
    // Checks that the agent can be attached to args.pid, and finds gdb and the agent; throws
    // util::Error saying why not and what to do. Nothing is done to the process yet.
    explicit NativeAttachment(NativeAttachArgs args);
    ~NativeAttachment();
    NativeAttachment(const NativeAttachment&) = delete;
    NativeAttachment& operator=(const NativeAttachment&) = delete;

    // Writes the manifest of args.dir and loads and starts the agent through gdb; throws when it
    // could not (the process goes on unchanged).
    void start();
    // The snapshots the agent has written so far.
    size_t snapshots() const;
    // Unless the process ended: the heap scan (scan_before_detach) and the detach, which writes
    // the last snapshot. Then symbolizes and says what was written and `why` the recording
    // ended. Throws util::Error when the agent did not detach.
    void finish(bool exited, const char* why);

  private:
    NativeAttachArgs m_args;
    std::string m_name;
    std::string m_gdb;
    std::filesystem::path m_agent;
    recorddir::Manifest m_manifest;
    std::unique_ptr<SnapshotSymbolizer> m_symbolizer;
};

}  // namespace leakhunt::cli
