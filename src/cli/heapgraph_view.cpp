// `top`, `diff` and `paths` on heap graphs (V8 heap snapshots, HPROF heap dumps), over the
// heap-graph model; see heapgraph_view.hpp.
#include "cli/heapgraph_view.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "capture/java/class_histogram.hpp"
#include "cli/common.hpp"
#include "heapgraph/dominators.hpp"
#include "heapgraph/histogram.hpp"
#include "heapgraph/hprof_reader.hpp"
#include "heapgraph/leak_suspects.hpp"
#include "heapgraph/paths.hpp"
#include "heapgraph/pygraph_reader.hpp"
#include "heapgraph/v8_class_names.hpp"
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

std::string bytes(uint64_t b) {
    return util::format_bytes(static_cast<double>(b));
}
std::string signed_bytes(int64_t b) {
    return (b > 0 ? "+" : "") + util::format_bytes(static_cast<double>(b));
}
std::string signed_count(int64_t n) {
    return (n > 0   ? "+"
            : n < 0 ? "-"
                    : "") +
           util::format_count(static_cast<uint64_t>(n < 0 ? -n : n));
}

// The heading of the class column in the runtime's own terms.
const char* class_heading(const std::string& file) {
    if (heapgraph::is_pygraph_name(file)) return "type";
    if (heapgraph::is_hprof_name(file)) return "class";
    return "class (constructor)";
}

size_t limit(int top, bool json, int text_default) {
    if (top == 0) return SIZE_MAX;
    if (top > 0) return static_cast<size_t>(top);
    return json ? SIZE_MAX : static_cast<size_t>(text_default);
}

}  // namespace

bool is_heap_graph_file(const std::string& path) {
    for (const recorddir::Kind kind : recorddir::k_kinds) {
        if (recorddir::is_heap_graph(kind) &&
            path.ends_with(fmt::format(".{}", recorddir::extension(kind))))
            return true;
    }
    return false;
}

std::string heap_graph_runtime(const std::string& file) {
    const auto name =
        recorddir::parse_snapshot_name(std::filesystem::path(file).filename().string());
    if (name && name->kind == recorddir::Kind::hprof) return "java";
    if (name && name->kind == recorddir::Kind::pygraph) return "python";
    return "node";
}

std::vector<std::string> heap_graph_files_in(const std::string& path) {
    std::vector<std::string> out;
    for (const auto& p : recorddir::heap_graph_files(path)) out.push_back(p.string());
    return out;
}

profile::Profile heap_graph_profile(const std::string& file) {
    const heapgraph::Graph g = heapgraph::read_graph(file);
    heapgraph::NameCanon canon(g);
    std::map<heapgraph::StringIndex, capture::java::ClassCount> rows;
    for (heapgraph::NodeIndex n = 0; n < g.node_count(); ++n) {
        if (!heapgraph::counted(g, n)) continue;
        capture::java::ClassCount& c = rows[canon(g.class_index(n))];
        ++c.instances;
        c.bytes += static_cast<int64_t>(g.self_size[n]);
    }
    capture::java::ClassHistogram h;
    for (auto& [name, c] : rows) {
        c.name = std::string(g.strings.get(name));
        // A dump does not say a class's module: the JDK's packages (and arrays of primitives)
        // are counted as java.base, so the program's own classes rank first, as in histograms.
        std::string_view base = c.name;
        while (base.ends_with("[]")) base.remove_suffix(2);
        const bool primitive = base.find('.') == std::string_view::npos && c.name.ends_with("[]");
        if (!g.ids_stable && (primitive || base.starts_with("java.") ||
                              base.starts_with("javax.") || base.starts_with("jdk.") ||
                              base.starts_with("sun.") || base.starts_with("com.sun."))) {
            c.module = "java.base";
        }
        h.total_instances += c.instances;
        h.total_bytes += c.bytes;
        h.classes.push_back(std::move(c));
    }
    struct stat st {};
    const int64_t mtime_nanos = ::stat(file.c_str(), &st) == 0
                                    ? int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec
                                    : 0;
    return capture::java::histogram_profile(h, mtime_nanos);
}

int suspects_heap_graph(const std::string& file, const HeapGraphOptions& options) {
    const heapgraph::Analysed a = heapgraph::analyse(file);
    const heapgraph::Graph& g = a.graph;
    heapgraph::LeakSuspectOptions o;
    o.max = limit(options.top, options.json, 10);
    const auto found = heapgraph::leak_suspects(g, a.dom, o);
    auto filter = g.ids_stable ? heapgraph::v8_path_filter(g) : nullptr;
    const heapgraph::ShortestPaths sp = heapgraph::shortest_paths(g, filter.get());
    heapgraph::PathShapes shapes(g, sp);
    const uint64_t total = a.dom.retained[heapgraph::k_root];
    auto label = [&](heapgraph::NodeIndex n) {
        return std::string(g.strings.get(g.path_label_index(n)));
    };
    auto share = [&](uint64_t b) {
        return total == 0 ? 0.0 : 100.0 * static_cast<double>(b) / static_cast<double>(total);
    };
    if (!options.json) {
        std::printf(
            "File: %s\nHeap: %s; leak suspects: what alone keeps 10%% or more of it alive\n",
            util::terminal_safe(file).c_str(), bytes(total).c_str());
        if (found.empty()) std::printf("No suspect: nothing alone keeps 10%% of the heap alive.\n");
    }
    for (size_t i = 0; i < found.size(); ++i) {
        const heapgraph::LeakSuspect& s = found[i];
        const auto steps = heapgraph::shape_text(g, shapes, shapes.shape_of(s.accumulation),
                                                 g.path_label_index(s.accumulation));
        const std::string item_class(g.strings.get(s.item_class));
        if (options.json) {
            std::printf(
                "%s\n",
                nlohmann::json{{"rank", i + 1},
                               {"holder", s.instances > 1 ? std::string(g.class_name(s.holder))
                                                          : label(s.holder)},
                               {"instances", s.instances},
                               {"retained_bytes", s.retained},
                               {"share", share(s.retained) / 100.0},
                               {"accumulation", label(s.accumulation)},
                               {"accumulation_retained_bytes", a.dom.retained[s.accumulation]},
                               {"item_class", s.items == 0 ? "" : item_class},
                               {"items", s.items},
                               {"item_retained_bytes", s.item_bytes},
                               {"path", steps}}
                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                    .c_str());
            continue;
        }
        std::string path;
        for (const auto& st : steps) path += (path.empty() ? "" : " -> ") + st;
        if (s.instances > 1) {
            std::printf("%zu. %s %s keep %s alive (%.1f%% of the heap); the biggest keeps %s\n",
                        i + 1, util::format_count(s.instances).c_str(),
                        util::terminal_safe(g.class_name(s.holder)).c_str(),
                        bytes(s.retained).c_str(), share(s.retained),
                        bytes(a.dom.retained[s.holder]).c_str());
        } else {
            std::printf("%zu. %s keeps %s alive (%.1f%% of the heap)\n", i + 1,
                        util::terminal_safe(label(s.holder)).c_str(), bytes(s.retained).c_str(),
                        share(s.retained));
        }
        if (s.items > 0) {
            std::printf("   accumulated in %s (%s): %s %s retaining %s\n",
                        util::terminal_safe(label(s.accumulation)).c_str(),
                        bytes(a.dom.retained[s.accumulation]).c_str(),
                        util::format_count(s.items).c_str(),
                        util::terminal_safe(item_class).c_str(), bytes(s.item_bytes).c_str());
        }
        std::printf(
            "   path: %s\n",
            util::terminal_safe(path.empty() ? "(not reachable from the roots)" : path).c_str());
    }
    std::fflush(stdout);
    return k_exit_ok;
}

std::vector<std::string> heap_graphs_without_profiles(const std::string& path) {
    std::vector<std::string> graphs = heap_graph_files_in(path);
    if (graphs.empty()) return graphs;
    const recorddir::Listing listing = recorddir::list(path);
    for (long id : listing.ids()) {
        if (listing.count(id, recorddir::Kind::profile) > 0) return {};
    }
    return graphs;
}

int top_heap_graph(const std::string& file, const HeapGraphOptions& options) {
    const heapgraph::Analysed a = heapgraph::analyse(file, options.devtools_names);
    const heapgraph::Graph& g = a.graph;
    const auto rows = heapgraph::class_histogram(g, a.dom);
    const size_t shown = std::min(rows.size(), limit(options.top, options.json, k_default_classes));
    if (options.json) {
        for (size_t i = 0; i < shown; ++i) {
            const auto& r = rows[i];
            std::printf("%s\n", heapgraph::class_row_json(g, r)
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
    std::printf("File: %s\nHeap: %s in %s objects (%s nodes, %s edges)\n",
                util::terminal_safe(file).c_str(), bytes(self).c_str(),
                util::format_count(objects).c_str(), util::format_count(g.node_count()).c_str(),
                util::format_count(g.edge_count()).c_str());
    std::printf("Showing %zu of %zu classes, by retained size\n", shown, rows.size());
    std::printf("%12s %12s %12s  %s\n", "count", "self size", "retained", class_heading(file));
    for (size_t i = 0; i < shown; ++i) {
        const auto& r = rows[i];
        std::printf("%12s %12s %12s  %s\n", util::format_count(r.count).c_str(),
                    bytes(r.self_bytes).c_str(), bytes(r.retained_bytes).c_str(),
                    util::terminal_safe(g.strings.get(r.name)).c_str());
    }
    std::fflush(stdout);
    return k_exit_ok;
}

int diff_heap_graphs(const std::string& base_file, const std::string& cur_file,
                     const HeapGraphOptions& options) {
    heapgraph::Graph base = heapgraph::read_graph(base_file);
    heapgraph::Graph cur = heapgraph::read_graph(cur_file);
    if (options.devtools_names) {  // both by the current one's interfaces, as DevTools compares
        const auto interfaces = heapgraph::infer_interfaces(cur);
        heapgraph::use_current_devtools_names(base, interfaces);
        heapgraph::use_current_devtools_names(cur, interfaces);
    }
    // Objects are matched by id only where ids survive a GC (V8); else classes are compared.
    const bool by_object = base.ids_stable && cur.ids_stable;
    const auto rows = heapgraph::diff_classes(base, cur);
    const size_t shown = std::min(rows.size(), limit(options.top, options.json, k_default_classes));
    if (options.json) {
        for (size_t i = 0; i < shown; ++i) {
            const auto& r = rows[i];
            nlohmann::json j{{"class", r.name},
                             {"base_count", r.base_count},
                             {"cur_count", r.cur_count},
                             {"count_delta", r.count_delta()},
                             {"base_bytes", r.base_bytes},
                             {"cur_bytes", r.cur_bytes},
                             {"bytes_delta", r.bytes_delta()}};
            if (by_object) {
                j["new"] = r.new_count;
                j["deleted"] = r.deleted_count;
                j["alloc_bytes"] = r.alloc_bytes;
                j["freed_bytes"] = r.freed_bytes;
            }
            std::printf("%s\n",
                        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        }
        std::fflush(stdout);
        return k_exit_ok;
    }
    if (!by_object) {
        std::printf(
            "Base: %s\nCurrent: %s\nClasses compared by instances and shallow size (heap dump ids "
            "are "
            "addresses, which a GC moves); %zu classes changed, showing %zu, by size growth\n",
            util::terminal_safe(base_file).c_str(), util::terminal_safe(cur_file).c_str(),
            rows.size(), shown);
        std::printf("%12s %12s %10s %12s %12s %12s  %s\n", "base count", "count", "# delta",
                    "base size", "size", "size delta", "class");
        for (size_t i = 0; i < shown; ++i) {
            const auto& r = rows[i];
            std::printf(
                "%12s %12s %10s %12s %12s %12s  %s\n", util::format_count(r.base_count).c_str(),
                util::format_count(r.cur_count).c_str(), signed_count(r.count_delta()).c_str(),
                bytes(r.base_bytes).c_str(), bytes(r.cur_bytes).c_str(),
                signed_bytes(r.bytes_delta()).c_str(), util::terminal_safe(r.name).c_str());
        }
        std::fflush(stdout);
        return k_exit_ok;
    }
    std::printf(
        "Base: %s\nCurrent: %s\nObjects matched by snapshot id; %zu classes changed, showing %zu, "
        "by size "
        "growth\n",
        util::terminal_safe(base_file).c_str(), util::terminal_safe(cur_file).c_str(), rows.size(),
        shown);
    std::printf("%10s %10s %10s %12s %12s %12s  %s\n", "# new", "# deleted", "# delta",
                "alloc size", "freed size", "size delta", class_heading(cur_file));
    for (size_t i = 0; i < shown; ++i) {
        const auto& r = rows[i];
        std::printf("%10s %10s %10s %12s %12s %12s  %s\n", util::format_count(r.new_count).c_str(),
                    util::format_count(r.deleted_count).c_str(),
                    signed_count(r.count_delta()).c_str(), bytes(r.alloc_bytes).c_str(),
                    bytes(r.freed_bytes).c_str(), signed_bytes(r.bytes_delta()).c_str(),
                    util::terminal_safe(r.name).c_str());
    }
    std::fflush(stdout);
    return k_exit_ok;
}

HeapGraphPaths explain_heap_graphs(const std::vector<std::string>& files,
                                   const HeapGraphOptions& options) {
    heapgraph::ExplainOptions o;
    o.classes = limit(options.top, false, k_default_path_classes);
    o.class_name = options.class_name;
    o.devtools_names = options.devtools_names;
    return heapgraph::explain_heap_graphs(files, o);
}

}  // namespace leakhunt::cli
