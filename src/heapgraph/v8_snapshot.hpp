// The V8 heap snapshot (.heapsnapshot: v8.writeHeapSnapshot, --heapsnapshot-signal, the
// inspector's HeapProfiler.takeHeapSnapshot, Chrome DevTools) read into the heap-graph model.
//
// The file is JSON: {"snapshot":{"meta":{...},"node_count":N,...},"nodes":[...],"edges":[...],
// ...,"strings":[...]}. The meta names the node and edge fields, their order and the type names,
// and drives the reader (6- and 7-field node layouts alike). Files run to hundreds of MB, so the
// reader streams: it reads fixed-size chunks and puts the numbers of "nodes" and "edges" straight
// into the model's arrays, holding no JSON tree (only the small "snapshot" header is parsed as a
// document). Bounds: the header at most 16 MB, counts below 2^32, numbers below 2^53, every
// index checked. A malformed file throws util::Error naming the file and the byte offset.
//
// Names as Chrome DevTools shows them: an object's or a native's class is its name (the
// constructor); other types are grouped as "(closure)", "(string)", "(array)", "(system)" for
// hidden, "(compiled code)" for code, "(concatenated string)", and so on.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "heapgraph/graph.hpp"
#include "heapgraph/paths.hpp"

namespace leakhunt::heapgraph {

// Reads a .heapsnapshot file, streaming.
Graph read_v8_snapshot(const std::filesystem::path& path);
// Parses a snapshot held in memory; errors name `where`.
Graph parse_v8_snapshot(std::string_view bytes, const std::string& where);

// True for a file name ending in ".heapsnapshot".
bool is_v8_snapshot_name(const std::filesystem::path& path);

// DevTools' extra rules for retainer paths in V8 heaps (JSHeapSnapshot's distance filter):
// - a NativeContext's `sloppy_function_map` is not followed;
// - in "(map descriptors)" arrays only the number, the enum cache and the descriptors' keys and
//   values are followed, not the shared descriptor links (crbug.com/413608);
// - a WeakMap value is reported by two internal edges (from the table and from the key); the
//   first seen is held back and only the second is followed, so a key is never "held" by its
//   own WeakMap value.
std::unique_ptr<PathFilter> v8_path_filter(const Graph& g);

}  // namespace leakhunt::heapgraph
