// Chrome DevTools' own rules for V8 heap graphs (its JSHeapSnapshot), beside the format's reader:
// which retainer paths are followed, and the retention rules the graph model carries for V8 only
// (Graph::devtools_model, page_roots and not_retaining).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "heapgraph/graph.hpp"
#include "heapgraph/paths.hpp"

namespace leakhunt::heapgraph {

// The index of the node or edge type of V8's name `name` ("native", "weak"); -1 when the file
// has no such type.
int type_named(const auto& types, std::string_view name) {
    for (size_t i = 0; i < types.size(); ++i) {
        if (types[i].name == name) return static_cast<int>(i);
    }
    return -1;
}

// DevTools' extra rules for retainer paths in V8 heaps (JSHeapSnapshot's distance filter):
// - a NativeContext's `sloppy_function_map` is not followed;
// - in "(map descriptors)" arrays only the number, the enum cache and the descriptors' keys and
//   values are followed, not the shared descriptor links (crbug.com/413608);
// - a WeakMap value is reported by two internal edges (from the table and from the key); the
//   first seen is held back and only the second is followed, so a key is never "held" by its
//   own WeakMap value.
std::unique_ptr<PathFilter> v8_path_filter(const Graph& g);

// The table's id in the name V8 gives both internal edges to a WeakMap value:
// "N / part of key (K @id) -> value (V @id) pair in WeakMap (table @T)"; nullopt for any other.
std::optional<uint64_t> weakmap_table_id(std::string_view edge_name);

// Turns on Graph::devtools_model and fills its rules as DevTools' HeapSnapshot model has them:
// - page_roots: the targets of the super-root's shortcut edges (the global objects) and its
//   "(Document DOM trees)" child (markPageOwnedNodes' entry points);
// - not_retaining: a WeakMap value's internal edge from its table (computeIsEssentialEdge: the
//   value is held by the key and the table together, and DevTools keeps the key's edge).
void add_v8_retention_rules(Graph& g);

// DevTools' propagateDOMState (memlab's the same): `state` holds each node's `detachedness` field
// (0 unknown, 1 attached, 2 detached; the snapshots of 7-field formats carry it). The embedder's
// own (native) nodes that know their state pass it on over edges that are not hidden or weak to
// the natives they reach, attached first, and a native left detached is renamed "Detached NAME",
// so that its class (and how paths name it) says so. JavaScript objects keep their names: the state
// does not pass through them.
void name_detached_nodes(Graph& g, const std::vector<uint8_t>& state);

}  // namespace leakhunt::heapgraph
