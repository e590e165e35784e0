// Heap graphs explained as data; see explain.hpp.
#include "heapgraph/explain.hpp"

#include <algorithm>
#include <map>
#include <string_view>

#include <fmt/format.h>

#include "heapgraph/histogram.hpp"
#include "heapgraph/hprof_reader.hpp"
#include "heapgraph/pygraph_reader.hpp"
#include "heapgraph/v8_class_names.hpp"
#include "heapgraph/v8_rules.hpp"
#include "heapgraph/v8_snapshot.hpp"
#include "util/error.hpp"
#include "util/units.hpp"

namespace leakhunt::heapgraph {

// Each heap graph kind read by its reader, by the file's name.
Graph read_graph(const std::filesystem::path& file) {
    if (is_pygraph_name(file)) return read_pygraph(file);
    if (is_hprof_name(file)) return read_hprof(file);
    if (is_v8_snapshot_name(file)) return read_v8_snapshot(file);
    throw util::Error("{}: not a heap graph this build reads (.heapsnapshot, .hprof or .pygraph)",
                      file.string());
}

// The format's own path rules (V8's); none for the others.
std::unique_ptr<PathFilter> path_filter(const std::filesystem::path& file, const Graph& g) {
    if (is_v8_snapshot_name(file)) return v8_path_filter(g);
    return nullptr;
}

Analysed analyse(const std::filesystem::path& file, bool devtools_names) {
    Analysed a{file.string(), read_graph(file), {}};
    if (devtools_names) use_current_devtools_names(a.graph, infer_interfaces(a.graph));
    a.dom = compute_dominators(Retention(a.graph));
    return a;
}

namespace {

// The nodes to explain, grouped by class, biggest first.
struct Target {
    std::string name;
    std::vector<NodeIndex> nodes;
    uint64_t self_bytes = 0;
};

void check_count(const std::vector<std::string>& files) {
    if (files.empty() || files.size() > 3) {
        throw util::UsageError(
            "paths takes one, two or three heap snapshots (or a record directory), not {}",
            files.size());
    }
}

std::vector<NodeIndex> nodes_of_class(const Graph& g, std::string_view name) {
    std::vector<NodeIndex> out;
    for (NodeIndex n = 0; n < g.node_count(); ++n) {
        if (counted(g, n) && g.class_name(n) == name) out.push_back(n);
    }
    return out;
}

}  // namespace

std::vector<std::string> leak_set_files(std::vector<std::string> files) {
    if (files.size() > 3) files = {files.front(), files[files.size() / 2], files.back()};
    return files;
}

HeapGraphPaths explain_heap_graphs(const std::vector<std::string>& files,
                                   const ExplainOptions& options) {
    check_count(files);
    return explain_heap_graphs(files, analyse(files.back(), options.devtools_names), options);
}

HeapGraphPaths explain_heap_graphs(const std::vector<std::string>& files, const Analysed& a,
                                   const ExplainOptions& options) {
    check_count(files);
    const Graph& g = a.graph;
    const size_t classes = options.classes;
    std::vector<Target> targets;
    HeapGraphPaths out;
    out.file = files.back();
    out.nodes = g.node_count();
    out.edges = g.edge_count();
    out.snapshots = files.size();
    std::vector<NodeIndex> pool;  // the nodes that may be explained
    if (files.size() == 1) {
        out.what = "the largest classes by retained size";
        for (const auto& r : class_histogram(g, a.dom)) {
            if (targets.size() >= classes && options.class_name.empty()) break;
            const std::string name(g.strings.get(r.name));
            if (!options.class_name.empty() && name != options.class_name) continue;
            targets.push_back({name, nodes_of_class(g, name), r.self_bytes});
        }
    } else if (!g.ids_stable) {
        // Heap dumps: ids are addresses, so "new objects" cannot be told; the classes that grew
        // from the first dump to the last are explained, all their instances.
        out.what = fmt::format("the classes that grew since {}", files[0]);
        const Graph first = read_graph(files[0]);
        std::vector<std::pair<int64_t, std::string>> grown;
        for (const auto& r : diff_classes(first, g)) {
            if (r.count_delta() > 0 && r.bytes_delta() > 0)
                grown.emplace_back(r.bytes_delta(), r.name);
        }
        for (const auto& [delta, name] : grown) {
            if (!options.class_name.empty() && name != options.class_name) continue;
            if (options.class_name.empty() && targets.size() >= classes) break;
            Target t{name, nodes_of_class(g, name), 0};
            for (NodeIndex n : t.nodes) t.self_bytes += g.self_size[n];
            pool.insert(pool.end(), t.nodes.begin(), t.nodes.end());
            targets.push_back(std::move(t));
        }
    } else {
        if (files.size() == 2) {
            out.what = fmt::format("objects new since {}", files[0]);
            const Graph base = read_graph(files[0]);
            std::vector<uint64_t> old_ids(base.node_id.begin(), base.node_id.end());
            std::sort(old_ids.begin(), old_ids.end());
            for (NodeIndex n = 0; n < g.node_count(); ++n) {
                if (counted(g, n) &&
                    !std::binary_search(old_ids.begin(), old_ids.end(), g.node_id[n])) {
                    pool.push_back(n);
                }
            }
        } else {
            out.what = fmt::format("the leak set: objects new in {} since {}, still alive",
                                   files[1], files[0]);
            const Graph first = read_graph(files[0]);
            const Graph second = read_graph(files[1]);
            pool = leak_set(first, second, g);
        }
        out.pool = pool.size();
        // Group the pool by class, biggest self size first.
        std::map<std::string_view, Target> by_class;
        for (NodeIndex n : pool) {
            Target& t = by_class[g.class_name(n)];
            t.nodes.push_back(n);
            t.self_bytes += g.self_size[n];
        }
        for (auto& [name, t] : by_class) {
            if (!options.class_name.empty() && name != options.class_name) continue;
            t.name = std::string(name);
            targets.push_back(std::move(t));
        }
        std::sort(targets.begin(), targets.end(), [](const Target& x, const Target& y) {
            if (x.self_bytes != y.self_bytes) return x.self_bytes > y.self_bytes;
            return x.name < y.name;
        });
        if (options.class_name.empty() && targets.size() > classes) targets.resize(classes);
    }

    auto filter = path_filter(files.back(), g);
    const ShortestPaths sp = shortest_paths(g, filter.get());
    PathShapes shapes(g, sp);
    // Python's leak patterns, for objects that came (two or three graphs): in one graph every
    // global dict would read as a registry.
    const bool python = is_pygraph_name(files.back()) && files.size() > 1;
    for (const Target& t : targets) {
        const auto groups = group_paths(shapes, t.nodes, a.dom, g);
        const StringIndex cls = t.nodes.empty() ? 0 : g.class_index(t.nodes.front());
        ClassPaths c;
        c.name = t.name;
        c.count = t.nodes.size();
        c.self_bytes = t.self_bytes;
        for (const auto& grp : groups) {
            c.retained_bytes += grp.retained_bytes;
            c.paths.push_back(
                {grp.count, grp.self_bytes, grp.retained_bytes,
                 shape_text(g, shapes, grp.shape, cls),
                 python ? std::optional<std::string>(python_pattern(g, shapes, grp.shape))
                        : std::nullopt});
        }
        out.classes.push_back(std::move(c));
    }
    return out;
}

nlohmann::json class_row_json(const Graph& g, const ClassRow& r) {
    return {{"class", g.strings.get(r.name)},
            {"count", r.count},
            {"self_bytes", r.self_bytes},
            {"retained_bytes", r.retained_bytes}};
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

ClassPaths class_paths_from_json(const nlohmann::json& row, const std::string& source) {
    ClassPaths c;
    try {
        c.name = row.at("class").get<std::string>();
        c.count = row.at("count").get<uint64_t>();
        c.self_bytes = row.value("self_bytes", uint64_t{0});
        c.retained_bytes = row.at("retained_bytes").get<uint64_t>();
        for (const auto& p : row.at("paths")) {
            ClassPaths::Path path;
            path.count = p.at("count").get<uint64_t>();
            path.self_bytes = p.value("self_bytes", uint64_t{0});
            path.retained_bytes = p.at("retained_bytes").get<uint64_t>();
            path.steps = p.at("steps").get<std::vector<std::string>>();
            if (p.contains("pattern") && p["pattern"].is_string())
                path.pattern = p["pattern"].get<std::string>();
            c.paths.push_back(std::move(path));
        }
    } catch (const nlohmann::json::exception& e) {
        throw util::Error("{}: a class row that is not what `leakhunt paths --json` writes ({})",
                          source, e.what());
    }
    return c;
}

std::vector<std::string> class_lines(const ClassPaths& c, size_t max_paths) {
    std::vector<std::string> lines{
        fmt::format("{} {} ({} retained, {} self) are held by:", util::format_count(c.count),
                    c.name, util::format_bytes(static_cast<double>(c.retained_bytes)),
                    util::format_bytes(static_cast<double>(c.self_bytes)))};
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
                                    util::format_bytes(static_cast<double>(p.retained_bytes)),
                                    line));
        if (p.pattern && !p.pattern->empty())
            lines.push_back(fmt::format("      pattern: {}", *p.pattern));
    }
    if (rest_count > 0) {
        lines.push_back(fmt::format("  ... and {} more paths: {} objects ({})",
                                    c.paths.size() - max_paths, util::format_count(rest_count),
                                    util::format_bytes(static_cast<double>(rest_bytes))));
    }
    return lines;
}

}  // namespace leakhunt::heapgraph
