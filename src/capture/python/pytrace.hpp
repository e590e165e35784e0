// The snapshot file that leakhunt's tracemalloc bootstrap (leakhunt_bootstrap.py, beside this
// file) writes in the target interpreter, read here and turned into a heap profile. The file comes
// from another process, so it is untrusted: every line, count and id is checked, sizes are
// bounded, and a bad file is one util::Error naming the file, the line and what was wrong.
// Format (version 1): one record a line, fields separated by one space, strings %-escaped (%HH
// for bytes below 0x21, '%' and bytes from 0x7f; a lone "%" is the empty string):
//   leakhunt-pytrace 1
//   time UNIX_SECONDS | traced_bytes N | traced_peak_bytes N | depth N | gc_objects N (-1: not
//   counted) | gc_count G0 G1 G2 | gc_collections G0 G1 G2 | dropped TRACES BYTES BLOCKS
//   frame ID LINE FIRST_LINE FILE FUNCTION   ids 0, 1, 2, ... in order, before any use
//   trace BYTES BLOCKS FRAME_ID...           the most recent call first
//   end TRACES FRAMES                        the trailer: a truncated file has none
// Plain data and free functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.hpp"

namespace leakhunt::capture::python {

inline constexpr std::string_view k_pytrace_magic = "leakhunt-pytrace 1";
// Bounds on what is read: tracebacks, frames per traceback, distinct frames, string bytes.
inline constexpr size_t k_max_traces = 1'000'000;
inline constexpr size_t k_max_trace_frames = 1024;
inline constexpr size_t k_max_frames = 4'000'000;
inline constexpr size_t k_max_string = 16384;

struct PyFrame {
    std::string file;
    std::string function;  // qualified name, "<module>" at module level
    int64_t line = 0;
    int64_t first_line = 0;  // of the function; 0 when unknown
    bool operator==(const PyFrame&) const = default;
};

struct PyTraceback {
    int64_t bytes = 0;
    int64_t blocks = 0;
    std::vector<uint32_t> frames;  // indexes into PyTraceFile::frames, the most recent first
    bool operator==(const PyTraceback&) const = default;
};

struct PyTraceFile {
    double unix_time = 0;
    int64_t traced_bytes = 0;                 // tracemalloc.get_traced_memory()[0]
    int64_t traced_peak_bytes = 0;            // ... [1]
    int depth = 0;                            // tracemalloc's frame limit
    int64_t gc_objects = -1;                  // len(gc.get_objects()); -1 when not counted
    std::array<int64_t, 3> gc_count{};        // gc.get_count()
    std::array<int64_t, 3> gc_collections{};  // gc.get_stats()[g]["collections"]
    int64_t dropped_traces = 0, dropped_bytes = 0, dropped_blocks = 0;
    std::vector<PyFrame> frames;
    std::vector<PyTraceback> traces;
    bool operator==(const PyTraceFile&) const = default;
};

// Parses a snapshot file; `where` names it in errors. Throws util::Error.
PyTraceFile parse_pytrace(std::string_view text, std::string_view where);

// The heap profile of a snapshot: Go's four heap sample types (alloc_* equal to inuse_*:
// tracemalloc knows only the blocks alive now), one function per Python function (name, file, first
// line), one location per (function, line), samples leaf first; the dropped tracebacks are one
// sample without frames. Values are exact (tracemalloc traces every block).
profile::Profile to_profile(const PyTraceFile& trace);

// "%HH"-decoding of a field; nullopt when malformed.
std::string decode_field(std::string_view field, bool* ok);

}  // namespace leakhunt::capture::python
