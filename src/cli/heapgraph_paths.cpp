// `paths` on heap graphs in words and as the report's data: the lines `paths` prints for each
// class (class_lines, the one rule for the terminal and the page), the JSON rows of `paths
// --json`, and the rows and sites the report and `hunt` draw.
#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/heapgraph_view.hpp"
#include "patterns/patterns.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

std::string bytes(uint64_t b) {
    return util::format_bytes(static_cast<double>(b));
}

}  // namespace

std::vector<std::string> heap_graph_set_of(const std::string& path) {
    const std::vector<std::string> in_dir = heap_graph_files_in(path);
    // A recording's leak set: the first, the middle and the last of its snapshots.
    if (in_dir.size() >= 3) return {in_dir.front(), in_dir[in_dir.size() / 2], in_dir.back()};
    return in_dir;
}

nlohmann::json class_paths_json(const ClassPaths& c, size_t max_paths) {
    nlohmann::json paths = nlohmann::json::array();
    for (size_t i = 0; i < c.paths.size() && i < max_paths; ++i) {
        const auto& p = c.paths[i];
        paths.push_back({{"count", p.count},
                         {"self_bytes", p.self_bytes},
                         {"retained_bytes", p.retained_bytes},
                         {"steps", p.steps}});
        if (p.pattern) paths.back()["pattern"] = *p.pattern;
    }
    return {{"type", "class"},
            {"class", c.name},
            {"count", c.count},
            {"self_bytes", c.self_bytes},
            {"retained_bytes", c.retained_bytes},
            {"paths", paths}};
}

std::vector<std::string> class_lines(const ClassPaths& c, size_t max_paths) {
    std::vector<std::string> lines{
        fmt::format("{} {} ({} retained, {} self) are held by:", util::format_count(c.count),
                    c.name, bytes(c.retained_bytes), bytes(c.self_bytes))};
    uint64_t rest_count = 0, rest_bytes = 0;
    for (size_t i = 0; i < c.paths.size(); ++i) {
        const auto& p = c.paths[i];
        if (i >= max_paths) {
            rest_count += p.count;
            rest_bytes += p.retained_bytes;
            continue;
        }
        std::string line;
        for (const auto& s : p.steps) line += (line.empty() ? "" : " -> ") + s;
        if (p.steps.empty()) line = "(not reachable from the roots)";
        lines.push_back(fmt::format("  {} ({}): {}", util::format_count(p.count),
                                    bytes(p.retained_bytes), line));
        if (p.pattern && !p.pattern->empty())
            lines.push_back(fmt::format("      pattern: {}", *p.pattern));
    }
    if (rest_count > 0) {
        lines.push_back(fmt::format("  ... and {} more paths: {} objects ({})",
                                    c.paths.size() - max_paths, util::format_count(rest_count),
                                    bytes(rest_bytes)));
    }
    return lines;
}

nlohmann::json class_rows(const HeapGraphPaths& g, size_t max_paths) {
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

nlohmann::json class_sites(const HeapGraphPaths& g, size_t max_paths) {
    nlohmann::json sites = nlohmann::json::array();
    for (const auto& c : g.classes) {
        // With two or three snapshots the classes are those that grew (or came new): say so.
        const std::string heading =
            g.snapshots > 1
                ? fmt::format("{}: {} objects of {}", c.name, util::format_count(c.count), g.what)
                : fmt::format("{}: {} objects, {} retained", c.name, util::format_count(c.count),
                              bytes(c.retained_bytes));
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
            nlohmann::json row = class_paths_json(c, max_paths);
            if (match) row["pattern"] = patterns::to_json(*match);
            std::printf("%s\n",
                        row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
            continue;
        }
        for (const auto& line : class_lines(c, max_paths))
            std::printf("%s\n", util::terminal_safe(line).c_str());
        if (match) std::printf("  %s\n", util::terminal_safe(patterns::describe(*match)).c_str());
        std::printf("\n");
    }
    std::fflush(stdout);
    return k_exit_ok;
}

}  // namespace leakhunt::cli
