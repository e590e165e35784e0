// Heap graphs in the report; see heap_graph_report.hpp.
#include "report/heap_graph_report.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "heapgraph/dominator_groups.hpp"
#include "heapgraph/histogram.hpp"
#include "report/flame_tree.hpp"
#include "report/scan_paths.hpp"
#include "util/units.hpp"

namespace leakhunt::report {
namespace {

FlameNode group_node(const heapgraph::Graph& g, const heapgraph::DominatorGroups& d, size_t i) {
    const heapgraph::ClassGroup& c = d.groups[i];
    FlameNode n;
    if (i == 0) {
        n.name = "all";
    } else {
        n.name = std::string(g.strings.get(c.label));
        if (c.count > 1) n.name += fmt::format(" \u00d7 {}", util::format_count(c.count));
    }
    n.value = static_cast<int64_t>(c.retained);
    for (const size_t child : c.children) n.children.push_back(group_node(g, d, child));
    if (c.other_retained > 0) {
        FlameNode other;
        other.name = fmt::format("other ({} objects)", util::format_count(c.other_count));
        other.value = static_cast<int64_t>(c.other_retained);
        n.children.push_back(std::move(other));
    }
    return n;
}

}  // namespace

HeapGraphEvidence heap_graph_evidence(const std::vector<std::string>& files) {
    HeapGraphEvidence e;
    const std::vector<std::string> explained = heapgraph::leak_set_files(files);
    const heapgraph::Analysed a = heapgraph::analyse(explained.back());
    e.paths = heapgraph::explain_heap_graphs(explained, a, {});
    nlohmann::json classes_paths = nlohmann::json::array();
    for (const auto& c : e.paths.classes)
        classes_paths.push_back(heapgraph::class_paths_json(c, k_report_paths_per_class));
    e.rows = retention_rows_from_paths_json(classes_paths, a.file);
    const heapgraph::Graph& g = a.graph;
    nlohmann::json classes = nlohmann::json::array();
    for (const auto& r : heapgraph::class_histogram(g, a.dom)) {
        if (classes.size() >= k_report_heap_classes) break;
        classes.push_back(heapgraph::class_row_json(g, r));
    }
    const heapgraph::DominatorGroups groups = heapgraph::dominator_groups(g, a.dom);
    e.section = {{"file", std::filesystem::path(a.file).filename().string()},
                 {"nodes", g.node_count()},
                 {"edges", g.edge_count()},
                 {"heap_bytes", a.dom.retained[heapgraph::k_root]},
                 {"classes", classes},
                 {"dominators", flame_json(group_node(g, groups, 0), WithDelta::no)}};
    return e;
}

void add_heap_graph_evidence(ReportBuilder& b, const HeapGraphEvidence& e) {
    b.add_source("heap graph", e.paths.file,
                 fmt::format("{} graph{}: {}", e.paths.snapshots, e.paths.snapshots == 1 ? "" : "s",
                             e.paths.what));
    if (!e.rows.empty()) b.set_retention_paths(e.rows, e.paths.file);
    b.set_heap_graph(e.section);
}

}  // namespace leakhunt::report
