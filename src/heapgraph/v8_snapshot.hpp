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
// The graph carries DevTools' retention rules for V8 (v8_rules.hpp: Graph::devtools_model, the
// page roots, a WeakMap table's edges).
//
// Names as Chrome DevTools shows them: an object's or a native's class is its name (the
// constructor), "Detached NAME" for a detached native (v8_rules.hpp, name_detached_nodes); other
// types are grouped as "(closure)", "(string)", "(array)", "(system)" for hidden, "(compiled
// code)" for code, "(concatenated string)", and so on (current DevTools' names:
// v8_class_names.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "heapgraph/graph.hpp"
#include "heapgraph/v8_rules.hpp"

namespace leakhunt::heapgraph {

// Reads a .heapsnapshot file, streaming.
Graph read_v8_snapshot(const std::filesystem::path& path);
// Parses a snapshot held in memory; errors name `where`.
Graph parse_v8_snapshot(std::string_view bytes, const std::string& where);

// True for a file name ending in ".heapsnapshot".
bool is_v8_snapshot_name(const std::filesystem::path& path);

}  // namespace leakhunt::heapgraph
