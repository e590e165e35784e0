// The heap-scan file (heap.PID.NNNN.scan), written by the agent beside a snapshot when a scan is
// requested (`leakhunt snapshot PID --scan`, `record --leak-check`) and read by `leakhunt paths`
// and `leakhunt leaks`. Self-contained: it carries the module map and the raw stacks it names, so
// it can be symbolized without the pprof file. Header-only, libc only (the agent writes it).
//
// Layout (all integers are unsigned LEB128 varints unless said otherwise):
//   magic     8 bytes  "LHSCAN\0\1"
//   version   varint   k_scan_version
//   record*   tag (1 byte, ScanTag), length (varint), payload (length bytes)
//   trailer   tag ScanTag::end, length, payload = varint(number of records before it),
//             then 8 bytes "LHSCEND\n"; a file without it was truncated.
// Payloads, field by field (strings = varint length + bytes):
//   summary   pid, unix_time_ms, pause_us, scan_us, threads, blocks, bytes, reachable_blocks,
//             reachable_bytes, root_bytes_scanned, reason (string: "request" | "exit"),
//             scratch_bytes (the scan's own memory), then (absent in older files: 0)
//             mapping_roots (anonymous mappings scanned as roots), mapping_root_bytes,
//             loader_blocks (blocks of the dynamic loader taken as roots), finished_threads
//             (threads finished but not joined, whose descriptors were scanned)
//   module    index, load_bias, path, build_id, nseg, nseg x (start, end, flags: 1 r, 2 w, 4 x)
//   thread    index (1 = first listed, the main thread), tid, name
//   stack     id, depth, depth x ip (return address - 1, runtime)
//   root      id, kind (RootKind), owner (module index for globals, thread index for TLS,
//             stack and registers, 0 for mappings and the loader), address (runtime slot
//             address; for TLS: offset in the module's TLS block; for a mapping: its start), pc
//             (stack roots: an address in the frame's function, 0 if unknown; for a mapping:
//             its end), tls_module
//             (TLS roots: module index + 1, 0 = the thread control block), ncallers, ncallers x
//             pc (stack roots: return addresses above the slot, the frame's callers, minus one)
//   shape     id, parent (shape id, 0 = starts at a root), root (root id when parent is 0),
//             stack (allocation site of the blocks at this hop), offset (of the pointer inside
//             the parent block or from the root slot; for a mapping: from its start), flags (1 =
//             offsets differ between the blocks, 2 = repeated run of the same site collapsed),
//             count, bytes (blocks whose path ends at this shape), retained_count, retained_bytes
//             (this shape and below)
//   leak      stack, direct_count, direct_bytes, indirect_count, indirect_bytes
//   site      stack, reachable_count, reachable_bytes
#pragma once

#include <cstddef>
#include <cstdint>

namespace leakhunt::format {

inline constexpr char k_scan_magic[8] = {'L', 'H', 'S', 'C', 'A', 'N', '\0', '\1'};
inline constexpr char k_scan_end_magic[8] = {'L', 'H', 'S', 'C', 'E', 'N', 'D', '\n'};
inline constexpr std::uint64_t k_scan_version = 1;

enum class ScanTag : std::uint8_t {
    summary = 1,
    module = 2,
    thread = 3,
    stack = 4,
    root = 5,
    shape = 6,
    leak = 7,
    site = 8,
    end = 0x7f,
};

enum class RootKind : std::uint8_t {
    global = 1,     // writable data of a module
    tls = 2,        // a thread's static TLS block or thread control block
    registers = 3,  // a stopped thread's registers
    stack = 4,      // a thread's stack, from its stack pointer up
    mapping = 5,    // memory the program mapped itself (private, writable, anonymous)
    loader = 6,     // blocks allocated by the dynamic loader (its DTVs, dlopen's scopes)
};

inline constexpr std::uint64_t k_shape_offsets_vary = 1;
inline constexpr std::uint64_t k_shape_repeated = 2;

inline constexpr std::uint64_t k_seg_read = 1;
inline constexpr std::uint64_t k_seg_write = 2;
inline constexpr std::uint64_t k_seg_exec = 4;

}  // namespace leakhunt::format
