// `leakhunt record` for the managed runtimes: each reaches its runtime from outside (V8's
// inspector, the JDK's jcmd, tracemalloc injected into CPython) and writes a record directory
// through src/recorddir, so `suspects`, `top`, `diff`, `paths` and `report` read it as they read
// a native recording. One file per runtime (record_node.cpp, record_java.cpp, record_python.cpp).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace leakhunt::cli {

struct RuntimeRecordArgs {
    std::vector<std::string> command;  // `-- CMD ARGS` to start; empty with --pid
    pid_t pid = 0;                     // --pid: a running process to attach to
    std::filesystem::path dir;         // created, absolute
    double every_s = 0;                // --snapshot-every; 0: the runtime's default
    double duration_s = 0;             // --duration; 0: until the program ends or ^C
    long count = 0;                    // --count; 0: no limit
    int heap_snapshots = 0;            // --heap-snapshots N: heap graphs spaced over the run
    int depth = 0;                     // --depth (python: tracemalloc's frames); 0: default
    // --native (python only): the native agent in the interpreter as well, writing DIR/native
    // (recorddir::k_native_dir), sampling every `native_interval` bytes (1: every allocation).
    bool native = false;
    std::uint64_t native_interval = 0;
    CLI::App* cmd = nullptr;  // to ask which options were given
};

// Each returns the exit code: the program's own status when it started one, else 0/1.
int record_node(const RuntimeRecordArgs& args);
int record_java(const RuntimeRecordArgs& args);
int record_python(const RuntimeRecordArgs& args);

// `leakhunt snapshot PID --heap` for a JVM: GC.heap_dump into `dir` as heap.PID.NNNN.hprof
// (numbered after what `dir` holds); prints its path. Returns the exit code.
int snapshot_java_heap(pid_t pid, const std::filesystem::path& dir);
// The same for a Node process: a V8 heap snapshot through its inspector (opened with SIGUSR1 and
// closed again when it was not open) as heap.PID.NNNN.heapsnapshot.
int snapshot_node_heap(pid_t pid, const std::filesystem::path& dir);
// `leakhunt snapshot PID --heap` for CPython: the object graph (the bootstrap attached through
// gdb for graphs only) into `dir` as heap.PID.NNNN.pygraph; prints its path.
int snapshot_python_heap(pid_t pid, const std::filesystem::path& dir);

}  // namespace leakhunt::cli
