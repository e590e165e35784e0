// What a person asks of heap graphs, as data: a graph read by its file's kind with its dominators,
// and the retainer paths of the classes that matter (the biggest in one snapshot; the classes
// that grew, or the objects that came and stayed, across two or three), grouped by shape. `paths`
// and `hunt` print it; `report` draws it. No printing here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "heapgraph/dominators.hpp"
#include "heapgraph/graph.hpp"
#include "heapgraph/histogram.hpp"
#include "heapgraph/paths.hpp"

namespace leakhunt::heapgraph {

// A graph read by the reader its file name calls for (.heapsnapshot, .hprof, .pygraph); throws
// util::Error naming the file for any other name or a bad file.
Graph read_graph(const std::filesystem::path& file);

// The format's own path rules (V8's); none for the others.
std::unique_ptr<PathFilter> path_filter(const std::filesystem::path& file, const Graph& g);

// A snapshot read and analysed: the graph, its dominators and retained sizes.
struct Analysed {
    std::string file;
    Graph graph;
    Dominators dom;
};
// With devtools_names, a V8 graph's classes are named as current DevTools names them
// (v8_class_names.hpp).
Analysed analyse(const std::filesystem::path& file, bool devtools_names = false);

// One class of a heap graph and the paths that hold its objects, grouped by shape.
struct ClassPaths {
    struct Path {
        uint64_t count = 0, self_bytes = 0, retained_bytes = 0;
        std::vector<std::string> steps;  // root first, as shape_text says them
        // Python graphs: the leak pattern the path shows (python_pattern; "" if none).
        std::optional<std::string> pattern;
    };
    std::string name;
    uint64_t count = 0, self_bytes = 0, retained_bytes = 0;
    std::vector<Path> paths;  // biggest retained first
};

struct HeapGraphPaths {
    std::string file;  // the snapshot explained (the last one given)
    std::string what;  // "the largest classes by retained size", "objects new since ...", ...
    uint64_t nodes = 0, edges = 0;
    size_t snapshots = 0;
    uint64_t pool = 0;  // objects explained (two or three snapshots)
    std::vector<ClassPaths> classes;
};

struct ExplainOptions {
    size_t classes = 5;           // classes explained, unless class_name chooses one
    std::string class_name;       // only this class
    bool devtools_names = false;  // V8: the last graph's classes as current DevTools names them
};

// One snapshot: the biggest classes by retained size; two: the classes that grew (heap dumps,
// whose ids are addresses) or the objects new in the second; three: the leak set (new in the
// second, alive in the third). Throws util::UsageError for no file or more than three.
HeapGraphPaths explain_heap_graphs(const std::vector<std::string>& files,
                                   const ExplainOptions& options);
// The same with the last file already analysed (`last` is files.back() read).
HeapGraphPaths explain_heap_graphs(const std::vector<std::string>& files, const Analysed& last,
                                   const ExplainOptions& options);

// The graphs a recording's explanation reads from its heap graphs (oldest first): all of them up
// to three, else the first, the middle and the last (the leak set).
std::vector<std::string> leak_set_files(std::vector<std::string> files);

// The JSON row of `top --json` for one class: {class, count, self_bytes, retained_bytes}.
nlohmann::json class_row_json(const Graph& g, const ClassRow& r);

// The JSON row of `paths --json` for one class: {type, class, count, self_bytes, retained_bytes,
// paths: [{count, self_bytes, retained_bytes, steps, pattern?}]} (at most max_paths paths).
nlohmann::json class_paths_json(const ClassPaths& c, size_t max_paths);

// A row of `paths --json` (class_paths_json) read back; throws util::Error naming `source` when
// a field is missing or of another type.
ClassPaths class_paths_from_json(const nlohmann::json& row, const std::string& source);

// The lines `paths` prints for one class: its heading, its first `max_paths` paths (each with its
// pattern line, Python), and "  ... and N more paths: ..." for the rest. Raw text: the terminal
// passes each line through util::terminal_safe, the report's page through textContent.
std::vector<std::string> class_lines(const ClassPaths& c, size_t max_paths);

}  // namespace leakhunt::heapgraph
