// A recording's heap graphs (.heapsnapshot, .hprof, .pygraph) in the report: the retainer paths
// of the classes that matter, as `leakhunt paths` explains them (one heading per class in the
// page), the last graph's biggest classes by retained size (the rows of `top --json`), and its
// dominator tree grouped by class, drawn as an icicle (heapgraph/dominator_groups.hpp). Throws
// util::Error naming the file for a graph that cannot be read.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "heapgraph/explain.hpp"
#include "report/report_data.hpp"

namespace leakhunt::report {

// Paths kept per class in the report (and in hunt's paths.json).
inline constexpr size_t k_report_paths_per_class = 5;
// Classes in the page's class table.
inline constexpr size_t k_report_heap_classes = 20;

struct HeapGraphEvidence {
    heapgraph::HeapGraphPaths paths;  // what `paths` says of the same files
    // {file, nodes, edges, heap_bytes, classes: [{class, count, self_bytes, retained_bytes}],
    //  dominators: the icicle's tree in flame_json's keys}
    nlohmann::json section;
};

// `files`: the graphs of one process, oldest first (recorddir::heap_graph_files); the ones
// explained are heapgraph::leak_set_files of them, the class table and icicle are the last's.
HeapGraphEvidence heap_graph_evidence(const std::vector<std::string>& files);

// The report's retention rows ({root, site, hops, blocks, bytes}) and sites ({site, heading,
// lines, ...}, report/scan_paths.hpp: one heading per class with the lines `paths` prints) of
// explained heap graphs, at most max_paths paths per class.
nlohmann::json class_rows(const heapgraph::HeapGraphPaths& g, size_t max_paths);
nlohmann::json class_sites(const heapgraph::HeapGraphPaths& g, size_t max_paths);
// Both into the report, the rows named by `source`.
void add_heap_graph_paths(ReportBuilder& b, const heapgraph::HeapGraphPaths& g,
                          const std::string& source);

// Adds the evidence to the report (its retention paths and its heap graph section) and names the
// source.
void add_heap_graph_evidence(ReportBuilder& b, const HeapGraphEvidence& e);

}  // namespace leakhunt::report
