// The Python object graph (.pygraph, written inside the target by leakhunt's bootstrap:
// src/capture/python/leakhunt_bootstrap.py, _GraphWriter) read into the heap-graph model.
//
// Layout, all integers little-endian, arrays packed without padding:
//   header   8 bytes "LHPYGRPH", u32 version (1), u32 flags (0)
//   sections in this order, each: u32 tag, u64 count, then its arrays:
//     1 STRINGS  u32 length[count], then the UTF-8 bytes back to back
//     2 NODES    u32 type_name[count] (a string), u64 size[count] (sys.getsizeof),
//                u64 id[count] (id(): stable while the object lives), u8 flags[count]
//                (bit 0: tracked by the gc, i.e. listed by gc.get_objects())
//     3 EDGES    u32 edge_count[node count] (each node's edges, in node order),
//                u32 target[count], u8 kind[count], u32 name[count]
//                kinds: 0 ref (unnamed referent), 1 value (a dict's value, named by its str key),
//                2 key (a dict's key), 3 element (a list's or tuple's item; name = its index),
//                4 attribute (named); name: a string, an index, or 0xFFFFFFFF for none
//     4 ROOTS    u8 kind[count], u32 group[count], u32 name[count], u32 target[count]
//                kinds: 1 module global (group: the module), 2 frame local (group: "thread `T`
//                frame `F` (FILE:LINE)"), 3 class attribute (group: module.qualname)
//     5 META     u32 key[count], u32 value[count] (strings: python, pid, time, gc_objects)
//   trailer  8 bytes "LHPYEND1", u64 nodes, u64 edges, u64 file size (the trailer included)
//
// In the model: node 0 is the super-root; one root node per root group ("module `app`",
// "class `app.Cache`", "thread `MainThread` frame `serve` (app.py:12)") holds that group's
// roots by name (edge types "global", "class attribute", "local"); then the file's nodes, each
// named by its type ("dict", "app.Session"). A dict's values are "value" edges whose key names
// fold to [] in path shapes (they are data, not structure).
//
// Untrusted input: every count is checked against the bytes left before anything is sized by
// it, every index against its table; the trailer is checked first, so a truncated file is said
// to be one. Errors are util::Error naming the file and the byte offset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "heapgraph/graph.hpp"

namespace leakhunt::heapgraph {

Graph read_pygraph(const std::filesystem::path& path);
// Parses a graph held in memory; errors name `where`.
Graph parse_pygraph(std::string_view bytes, const std::string& where);

// True for a file name ending in ".pygraph".
bool is_pygraph_name(const std::filesystem::path& path);

}  // namespace leakhunt::heapgraph

namespace leakhunt::heapgraph {

class PathShapes;

// The Python leak pattern a retainer path shows, in a sentence, or "" for none:
// - a module-level registry: the path starts at a module global that is a dict, list or set;
// - an unbounded functools.lru_cache: a functools._lru_cache_wrapper on the path, its cache
//   dict's values held directly (a bounded one holds them through its link objects);
// - a traceback-held cycle: a traceback or frame on the path (an exception kept alive keeps every
//   frame's locals);
// - a logging handler: a logging.*Handler or LogRecord on the path, or a class named ...Handler
//   under a logging.Logger (a handler that buffers records or their args);
// - a callback list: a bound method, functools.partial or closure cell after a list, dict or set
//   on the path (a listener registered per request and never removed);
// - gc.garbage: the path starts at module `gc`'s global `garbage`;
// - no path at all (k_no_shape): cycles nothing reaches that the cyclic GC has not freed.
std::string python_pattern(const Graph& g, const PathShapes& shapes, uint32_t shape);

}  // namespace leakhunt::heapgraph
