// The heap-scan file (format/scan_format.hpp) read into plain structs: what the agent found when
// it stopped the process, marked the heap from the roots and resumed it. Parsing checks every
// read against the end of the data and every reference against what was defined, and says
// what is wrong and where ("not a leakhunt scan file", "truncated: no trailer"). Plain data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "format/scan_format.hpp"

namespace leakhunt::heapscan {

struct ScanSummary {
    int64_t pid = 0;
    uint64_t unix_time_ms = 0;
    uint64_t pause_us = 0;  // how long the program's threads were stopped
    uint64_t mark_us = 0;   // of which: sorting, marking and classifying
    uint64_t threads = 0;
    uint64_t blocks = 0, bytes = 0;
    uint64_t reachable_blocks = 0, reachable_bytes = 0;
    uint64_t root_bytes = 0;  // bytes of roots scanned
    std::string reason;       // "request" or "exit"
    uint64_t scratch_bytes = 0;
    uint64_t mapping_roots = 0;       // the program's anonymous mappings scanned as roots
    uint64_t mapping_root_bytes = 0;  // and their bytes
    uint64_t loader_blocks = 0;       // blocks allocated by the dynamic loader (roots)
    uint64_t finished_threads = 0;    // finished, not joined: their descriptors were roots
};

struct ScanSegment {
    uint64_t start = 0, end = 0, flags = 0;
};

struct ScanModule {
    uint64_t index = 0;
    uint64_t bias = 0;  // load bias: ELF virtual address = runtime address - bias
    std::string path;
    std::string build_id;
    std::vector<ScanSegment> segments;
};

struct ScanThread {
    uint64_t index = 0;
    int64_t tid = 0;
    std::string name;
};

struct ScanRoot {
    uint64_t id = 0;
    format::RootKind kind = format::RootKind::global;
    uint64_t owner = 0;  // module index (global), thread index (TLS, stack, registers), or 0
    // A mapping root: `address` is the mapping's start and `pc` its end.
    uint64_t address = 0;     // slot address; TLS: offset in the module's TLS block or the TCB
    uint64_t pc = 0;          // stack: an address in the frame's function
    uint64_t tls_module = 0;  // TLS: module index + 1; 0 = thread control block
    std::vector<uint64_t>
        callers;  // stack: the frame's callers (return address - 1), nearest first
};

struct ScanShape {
    uint64_t id = 0;
    uint64_t parent = 0;  // 0: the first hop, from `root`
    uint64_t root = 0;
    uint64_t stack = 0;
    uint64_t offset = 0;
    uint64_t flags = 0;
    uint64_t count = 0, bytes = 0;                    // blocks whose path ends here
    uint64_t retained_count = 0, retained_bytes = 0;  // and below
};

struct ScanLeak {
    uint64_t stack = 0;
    uint64_t direct_count = 0, direct_bytes = 0;
    uint64_t indirect_count = 0, indirect_bytes = 0;
};

struct ScanSite {
    uint64_t stack = 0;
    uint64_t count = 0, bytes = 0;  // reachable blocks allocated here
};

struct ScanFile {
    ScanSummary summary;
    std::vector<ScanModule> modules;                   // by index
    std::vector<ScanThread> threads;                   // by index
    std::map<uint64_t, std::vector<uint64_t>> stacks;  // id -> ips (return address - 1), leaf first
    std::map<uint64_t, ScanRoot> roots;
    std::vector<ScanShape> shapes;  // shapes[i].id == i + 1
    std::vector<ScanLeak> leaks;
    std::vector<ScanSite> sites;
};

// Parses the bytes of a scan file; `name` is used in error messages. Throws util::Error.
ScanFile parse_scan_file(std::string_view data, const std::string& name);
// Reads and parses `path`. Throws util::Error naming the file.
ScanFile read_scan_file(const std::filesystem::path& path);

// The scan file for a snapshot argument: a .scan file itself, or heap.PID.NNNN.pb.gz whose
// heap.PID.NNNN.scan sits beside it. Throws util::Error saying how to make one if none exists.
std::filesystem::path scan_path_for(const std::filesystem::path& snapshot);

}  // namespace leakhunt::heapscan
