// libFuzzer target for the Python object graph (.pygraph) reader: any input must either parse into
// a graph whose invariants hold (Graph::check ran) or throw util::Error; then the analyses run on
// it (dominators, class histogram, shortest paths and their shapes) and must not fail.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "heapgraph/dominators.hpp"
#include "heapgraph/histogram.hpp"
#include "heapgraph/paths.hpp"
#include "heapgraph/pygraph_reader.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    using namespace leakhunt::heapgraph;
    try {
        const Graph g = parse_pygraph(bytes, "fuzz");
        const Dominators d = compute_dominators(Retention(g));
        if (d.retained[k_root] < g.self_size[k_root]) std::abort();
        const auto rows = class_histogram(g, d);
        const ShortestPaths p = shortest_paths(g, nullptr);
        PathShapes shapes(g, p);
        std::vector<NodeIndex> all;
        for (NodeIndex n = 0; n < g.node_count(); ++n) all.push_back(n);
        for (const auto& grp : group_paths(shapes, all, d, g)) shape_text(g, shapes, grp.shape, 0);
        (void)rows;
    } catch (const leakhunt::util::Error&) {
        // Bad input, reported as it should be.
    }
    return 0;
}
