// Heap graphs in the report; see heap_graph_report.hpp.
#include "report/heap_graph_report.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "heapgraph/dominator_groups.hpp"
#include "heapgraph/histogram.hpp"
#include "report/flame_tree.hpp"
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

nlohmann::json class_rows(const heapgraph::HeapGraphPaths& g, size_t max_paths) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& c : g.classes) {
        for (size_t i = 0; i < c.paths.size() && i < max_paths; ++i) {
            const auto& p = c.paths[i];
            if (p.steps.empty()) continue;
            nlohmann::json hops = nlohmann::json::array();
            for (size_t k = 1; k < p.steps.size(); ++k) hops.push_back({{"site", p.steps[k]}});
            rows.push_back({{"root", p.steps.front()},
                            {"site", c.name},
                            {"hops", hops},
                            {"blocks", p.count},
                            {"bytes", p.retained_bytes}});
        }
    }
    return rows;
}

nlohmann::json class_sites(const heapgraph::HeapGraphPaths& g, size_t max_paths) {
    nlohmann::json sites = nlohmann::json::array();
    for (const auto& c : g.classes) {
        // With two or three snapshots the classes are those that grew (or came new): say so.
        const std::string heading =
            g.snapshots > 1
                ? fmt::format("{}: {} objects of {}", c.name, util::format_count(c.count), g.what)
                : fmt::format("{}: {} objects, {} retained", c.name, util::format_count(c.count),
                              util::format_bytes(static_cast<double>(c.retained_bytes)));
        sites.push_back({{"site", c.name},
                         {"function", c.name},
                         {"blocks", c.count},
                         {"bytes", c.retained_bytes},
                         {"growth_bytes", nullptr},
                         {"growth_bytes_per_hour", nullptr},
                         {"suspect", nullptr},
                         {"heading", heading},
                         {"lines", class_lines(c, max_paths)}});
    }
    return sites;
}

void add_heap_graph_paths(ReportBuilder& b, const heapgraph::HeapGraphPaths& g,
                          const std::string& source) {
    const nlohmann::json rows = class_rows(g, k_report_paths_per_class);
    if (!rows.empty()) b.set_retention_paths(rows, source);
    b.set_retention_sites(class_sites(g, k_report_paths_per_class));
}

HeapGraphEvidence heap_graph_evidence(const std::vector<std::string>& files) {
    HeapGraphEvidence e;
    const std::vector<std::string> explained = heapgraph::leak_set_files(files);
    const heapgraph::Analysed a = heapgraph::analyse(explained.back());
    e.paths = heapgraph::explain_heap_graphs(explained, a, {});
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
    add_heap_graph_paths(b, e.paths, e.paths.file);
    b.set_heap_graph(e.section);
}

}  // namespace leakhunt::report
