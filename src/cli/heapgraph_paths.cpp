// `paths` on heap graphs, printed: the lines of each class (heapgraph::class_lines, the one rule
// for the terminal and the report's page) or the JSON rows of `paths --json`, with the pattern
// each class's biggest path matches.
#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/heapgraph_view.hpp"
#include "patterns/patterns.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
std::vector<std::string> heap_graph_set_of(const std::string& path) {
    return heapgraph::leak_set_files(heap_graph_files_in(path));
}

int paths_heap_graphs(const std::vector<std::string>& files, const HeapGraphOptions& options) {
    const HeapGraphPaths found = explain_heap_graphs(files, options);
    const size_t max_paths = options.paths == 0 ? SIZE_MAX : static_cast<size_t>(options.paths);
    if (!options.json) {
        std::printf(
            "Snapshot: %s (%s nodes, %s edges)\nExplaining %s",
            util::terminal_safe(found.file).c_str(), util::format_count(found.nodes).c_str(),
            util::format_count(found.edges).c_str(), util::terminal_safe(found.what).c_str());
        if (found.snapshots > 1)
            std::printf(": %s objects", util::format_count(found.pool).c_str());
        std::printf("\n\n");
        if (found.classes.empty()) {
            std::printf(
                options.class_name.empty() ? "Nothing to explain.\n" : "No objects of class %s.\n",
                util::terminal_safe(options.class_name).c_str());
        }
    }
    const std::vector<patterns::Pattern> learned =
        patterns::load_for_matching(options.patterns_file);
    for (const ClassPaths& c : found.classes) {
        const auto match =
            c.paths.empty()
                ? std::nullopt
                : patterns::match(patterns::signature_of({heap_graph_runtime(found.file), c.name,
                                                          c.paths.front().steps}),
                                  learned);
        if (options.json) {
            nlohmann::json row = heapgraph::class_paths_json(c, max_paths);
            if (match) row["pattern"] = patterns::to_json(*match);
            std::printf("%s\n",
                        row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
            continue;
        }
        for (const auto& line : heapgraph::class_lines(c, max_paths))
            std::printf("%s\n", util::terminal_safe(line).c_str());
        if (match) std::printf("  %s\n", util::terminal_safe(patterns::describe(*match)).c_str());
        std::printf("\n");
    }
    std::fflush(stdout);
    return k_exit_ok;
}

}  // namespace leakhunt::cli
