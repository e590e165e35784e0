// `top`, `diff` and `paths` on V8 heap snapshots, over the heap-graph model; see heapgraph_view.hpp.
#include "cli/heapgraph_view.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "heapgraph/dominators.hpp"
#include "heapgraph/histogram.hpp"
#include "heapgraph/paths.hpp"
#include "heapgraph/v8_snapshot.hpp"
#include "patterns/patterns.hpp"
#include "recorddir/record_dir.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

constexpr int k_default_classes = 20;
constexpr int k_default_path_classes = 5;

std::string bytes(uint64_t b) { return util::format_bytes(static_cast<double>(b)); }
std::string signed_bytes(int64_t b) { return (b > 0 ? "+" : "") + util::format_bytes(static_cast<double>(b)); }
std::string signed_count(int64_t n) {
    return (n > 0 ? "+" : n < 0 ? "-" : "") + util::format_count(static_cast<uint64_t>(n < 0 ? -n : n));
}

// A snapshot read and analysed: the graph, its dominators and retained sizes.
struct Analysed {
    std::string file;
    heapgraph::Graph graph;
    heapgraph::Dominators dom;
};

Analysed analyse(const std::string& file) {
    Analysed a{file, heapgraph::read_v8_snapshot(file), {}};
    a.dom = heapgraph::compute_dominators(heapgraph::Retention(a.graph));
    return a;
}

size_t limit(int top, bool json, int text_default) {
    if (top == 0) return SIZE_MAX;
    if (top > 0) return static_cast<size_t>(top);
    return json ? SIZE_MAX : static_cast<size_t>(text_default);
}

}  // namespace

bool is_heap_graph_file(const std::string& path) { return heapgraph::is_v8_snapshot_name(path); }

std::string heap_graph_runtime(const std::string& file) {
    const auto name = recorddir::parse_snapshot_name(std::filesystem::path(file).filename().string());
    if (name && name->kind == recorddir::Kind::hprof) return "java";
    if (name && name->kind == recorddir::Kind::pygraph) return "python";
    return "node";
}

std::vector<std::string> heap_graph_files_in(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) return {};
    const recorddir::Listing listing = recorddir::list(path);
    std::optional<long> id = recorddir::main_id(listing);
    // The main process may be a launcher without snapshots: then the one with the most.
    if (!id || listing.count(*id, recorddir::Kind::heapsnapshot) == 0) {
        size_t most = 0;
        for (long i : listing.ids()) {
            if (listing.count(i, recorddir::Kind::heapsnapshot) > most) {
                most = listing.count(i, recorddir::Kind::heapsnapshot);
                id = i;
            }
        }
        if (most == 0) return {};
    }
    std::vector<std::string> out;
    for (const auto& p : listing.files(*id, recorddir::Kind::heapsnapshot)) out.push_back(p.string());
    return out;
}

int top_heap_graph(const std::string& file, const HeapGraphOptions& options) {
    const Analysed a = analyse(file);
    const heapgraph::Graph& g = a.graph;
    const auto rows = heapgraph::class_histogram(g, a.dom);
    const size_t shown = std::min(rows.size(), limit(options.top, options.json, k_default_classes));
    if (options.json) {
        for (size_t i = 0; i < shown; ++i) {
            const auto& r = rows[i];
            std::printf("%s\n", nlohmann::json{{"class", g.strings.get(r.name)}, {"count", r.count},
                                               {"self_bytes", r.self_bytes}, {"retained_bytes", r.retained_bytes}}
                                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                    .c_str());
        }
        std::fflush(stdout);
        return k_exit_ok;
    }
    uint64_t objects = 0, self = 0;
    for (const auto& r : rows) {
        objects += r.count;
        self += r.self_bytes;
    }
    std::printf("File: %s\nHeap: %s in %s objects (%s nodes, %s edges)\n", util::terminal_safe(file).c_str(),
                bytes(self).c_str(), util::format_count(objects).c_str(), util::format_count(g.node_count()).c_str(),
                util::format_count(g.edge_count()).c_str());
    std::printf("Showing %zu of %zu classes, by retained size\n", shown, rows.size());
    std::printf("%12s %12s %12s  %s\n", "count", "self size", "retained", "class (constructor)");
    for (size_t i = 0; i < shown; ++i) {
        const auto& r = rows[i];
        std::printf("%12s %12s %12s  %s\n", util::format_count(r.count).c_str(), bytes(r.self_bytes).c_str(),
                    bytes(r.retained_bytes).c_str(), util::terminal_safe(g.strings.get(r.name)).c_str());
    }
    std::fflush(stdout);
    return k_exit_ok;
}

int diff_heap_graphs(const std::string& base_file, const std::string& cur_file, const HeapGraphOptions& options) {
    const heapgraph::Graph base = heapgraph::read_v8_snapshot(base_file);
    const heapgraph::Graph cur = heapgraph::read_v8_snapshot(cur_file);
    const auto rows = heapgraph::diff_classes(base, cur);
    const size_t shown = std::min(rows.size(), limit(options.top, options.json, k_default_classes));
    if (options.json) {
        for (size_t i = 0; i < shown; ++i) {
            const auto& r = rows[i];
            std::printf("%s\n", nlohmann::json{{"class", r.name}, {"base_count", r.base_count}, {"cur_count", r.cur_count},
                                               {"count_delta", r.count_delta()}, {"new", r.new_count},
                                               {"deleted", r.deleted_count}, {"base_bytes", r.base_bytes},
                                               {"cur_bytes", r.cur_bytes}, {"bytes_delta", r.bytes_delta()},
                                               {"alloc_bytes", r.alloc_bytes}, {"freed_bytes", r.freed_bytes}}
                                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                    .c_str());
        }
        std::fflush(stdout);
        return k_exit_ok;
    }
    std::printf("Base: %s\nCurrent: %s\nObjects matched by snapshot id; %zu classes changed, showing %zu, by size "
                "growth\n",
                util::terminal_safe(base_file).c_str(), util::terminal_safe(cur_file).c_str(), rows.size(), shown);
    std::printf("%10s %10s %10s %12s %12s %12s  %s\n", "# new", "# deleted", "# delta", "alloc size", "freed size",
                "size delta", "class (constructor)");
    for (size_t i = 0; i < shown; ++i) {
        const auto& r = rows[i];
        std::printf("%10s %10s %10s %12s %12s %12s  %s\n", util::format_count(r.new_count).c_str(),
                    util::format_count(r.deleted_count).c_str(), signed_count(r.count_delta()).c_str(),
                    bytes(r.alloc_bytes).c_str(), bytes(r.freed_bytes).c_str(), signed_bytes(r.bytes_delta()).c_str(),
                    util::terminal_safe(r.name).c_str());
    }
    std::fflush(stdout);
    return k_exit_ok;
}

namespace {

// The nodes to explain, grouped by class, biggest first.
struct Target {
    std::string name;
    std::vector<heapgraph::NodeIndex> nodes;
    uint64_t self_bytes = 0;
};

std::vector<heapgraph::NodeIndex> nodes_of_class(const heapgraph::Graph& g, std::string_view name) {
    std::vector<heapgraph::NodeIndex> out;
    for (heapgraph::NodeIndex n = 0; n < g.node_count(); ++n) {
        if (heapgraph::counted(g, n) && g.class_name(n) == name) out.push_back(n);
    }
    return out;
}

}  // namespace

HeapGraphPaths explain_heap_graphs(const std::vector<std::string>& files, const HeapGraphOptions& options) {
    if (files.empty() || files.size() > 3) {
        throw util::UsageError("paths takes one, two or three heap snapshots (or a record directory), not {}",
                               files.size());
    }
    const Analysed a = analyse(files.back());
    const heapgraph::Graph& g = a.graph;
    const size_t classes = limit(options.top, false, k_default_path_classes);
    std::vector<Target> targets;
    HeapGraphPaths out;
    out.file = files.back();
    out.nodes = g.node_count();
    out.edges = g.edge_count();
    out.snapshots = files.size();
    std::vector<heapgraph::NodeIndex> pool;  // the nodes that may be explained
    if (files.size() == 1) {
        out.what = "the largest classes by retained size";
        for (const auto& r : heapgraph::class_histogram(g, a.dom)) {
            if (targets.size() >= classes && options.class_name.empty()) break;
            const std::string name(g.strings.get(r.name));
            if (!options.class_name.empty() && name != options.class_name) continue;
            targets.push_back({name, nodes_of_class(g, name), r.self_bytes});
        }
    } else {
        std::unordered_set<uint64_t> fresh;
        if (files.size() == 2) {
            out.what = fmt::format("objects new since {}", files[0]);
            const heapgraph::Graph base = heapgraph::read_v8_snapshot(files[0]);
            std::vector<uint64_t> old_ids(base.node_id.begin(), base.node_id.end());
            std::sort(old_ids.begin(), old_ids.end());
            for (heapgraph::NodeIndex n = 0; n < g.node_count(); ++n) {
                if (heapgraph::counted(g, n) && !std::binary_search(old_ids.begin(), old_ids.end(), g.node_id[n])) {
                    pool.push_back(n);
                }
            }
        } else {
            out.what = fmt::format("the leak set: objects new in {} since {}, still alive", files[1], files[0]);
            const heapgraph::Graph first = heapgraph::read_v8_snapshot(files[0]);
            const heapgraph::Graph second = heapgraph::read_v8_snapshot(files[1]);
            pool = heapgraph::leak_set(first, second, g);
        }
        out.pool = pool.size();
        // Group the pool by class, biggest self size first.
        std::map<std::string_view, Target> by_class;
        for (heapgraph::NodeIndex n : pool) {
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

    auto filter = heapgraph::v8_path_filter(g);
    const heapgraph::ShortestPaths sp = heapgraph::shortest_paths(g, filter.get());
    heapgraph::PathShapes shapes(g, sp);
    for (const Target& t : targets) {
        const auto groups = heapgraph::group_paths(shapes, t.nodes, a.dom, g);
        const heapgraph::StringIndex cls = t.nodes.empty() ? 0 : g.class_index(t.nodes.front());
        ClassPaths c;
        c.name = t.name;
        c.count = t.nodes.size();
        c.self_bytes = t.self_bytes;
        for (const auto& grp : groups) {
            c.retained_bytes += grp.retained_bytes;
            c.paths.push_back({grp.count, grp.self_bytes, grp.retained_bytes,
                               heapgraph::shape_text(g, shapes, grp.shape, cls)});
        }
        out.classes.push_back(std::move(c));
    }
    return out;
}

nlohmann::json class_paths_json(const ClassPaths& c, size_t max_paths) {
    nlohmann::json paths = nlohmann::json::array();
    for (size_t i = 0; i < c.paths.size() && i < max_paths; ++i) {
        const auto& p = c.paths[i];
        paths.push_back({{"count", p.count}, {"self_bytes", p.self_bytes},
                         {"retained_bytes", p.retained_bytes}, {"steps", p.steps}});
    }
    return {{"type", "class"}, {"class", c.name}, {"count", c.count}, {"self_bytes", c.self_bytes},
            {"retained_bytes", c.retained_bytes}, {"paths", paths}};
}

int paths_heap_graphs(const std::vector<std::string>& files, const HeapGraphOptions& options) {
    const HeapGraphPaths found = explain_heap_graphs(files, options);
    const size_t max_paths = options.paths == 0 ? SIZE_MAX : static_cast<size_t>(options.paths);
    if (!options.json) {
        std::printf("Snapshot: %s (%s nodes, %s edges)\nExplaining %s", util::terminal_safe(found.file).c_str(),
                    util::format_count(found.nodes).c_str(), util::format_count(found.edges).c_str(),
                    util::terminal_safe(found.what).c_str());
        if (found.snapshots > 1) std::printf(": %s objects", util::format_count(found.pool).c_str());
        std::printf("\n\n");
        if (found.classes.empty()) {
            std::printf(options.class_name.empty() ? "Nothing to explain.\n" : "No objects of class %s.\n",
                        util::terminal_safe(options.class_name).c_str());
        }
    }
    const std::vector<patterns::Pattern> learned = patterns::load_for_matching(options.patterns_file);
    for (const ClassPaths& c : found.classes) {
        const auto match = c.paths.empty() ? std::nullopt
                                           : patterns::match(patterns::signature_of({heap_graph_runtime(found.file), c.name, c.paths.front().steps}),
                                                             learned);
        if (options.json) {
            nlohmann::json row = class_paths_json(c, max_paths);
            if (match) row["pattern"] = patterns::to_json(*match);
            std::printf("%s\n", row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
            continue;
        }
        std::printf("%s %s (%s retained, %s self) are held by:\n", util::format_count(c.count).c_str(),
                    util::terminal_safe(c.name).c_str(), bytes(c.retained_bytes).c_str(), bytes(c.self_bytes).c_str());
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
            std::printf("  %s (%s): %s\n", util::format_count(p.count).c_str(), bytes(p.retained_bytes).c_str(),
                        util::terminal_safe(line).c_str());
        }
        if (rest_count > 0) {
            std::printf("  ... and %zu more paths: %s objects (%s)\n", c.paths.size() - max_paths,
                        util::format_count(rest_count).c_str(), bytes(rest_bytes).c_str());
        }
        if (match) std::printf("  %s\n", util::terminal_safe(patterns::describe(*match)).c_str());
        std::printf("\n");
    }
    std::fflush(stdout);
    return k_exit_ok;
}

}  // namespace leakhunt::cli
