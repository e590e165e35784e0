// `top`, `diff` and `paths` on heap graphs (V8 .heapsnapshot files, JVM .hprof heap dumps, or a
// record directory holding them): the commands dispatch here when their input is a heap snapshot
// rather than a profile or a native scan. Each prints text or JSON lines to stdout and returns the
// exit code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "heapgraph/explain.hpp"
#include "profile/profile.hpp"

namespace leakhunt::cli {

// True when `path` is a heap snapshot file these functions read.
bool is_heap_graph_file(const std::string& path);
// The runtime whose heap a heap graph file holds ("node", "java", "python"), for the patterns.
std::string heap_graph_runtime(const std::string& file);
// The heap snapshots of a record directory (of its main process), oldest first; empty when `path`
// is not a directory or holds none.
std::vector<std::string> heap_graph_files_in(const std::string& path);
// For `top DIR` and `diff DIR`: the heap graphs of a directory that holds heap graphs and no
// profiles (e.g. `snapshot PID --heap -o DIR`); empty otherwise (the profiles come first).
std::vector<std::string> heap_graphs_without_profiles(const std::string& path);

struct HeapGraphOptions {
    bool json = false;
    int top = -1;                                        // classes shown; -1: the command's default
    int paths = 5;                                       // paths shown per class; 0: all
    std::string class_name;                              // paths: only this class
    std::optional<std::filesystem::path> patterns_file;  // paths: --patterns (else the default)
    bool devtools_names = false;  // V8: current DevTools' class names (v8_class_names.hpp)
};

using heapgraph::ClassPaths;
using heapgraph::HeapGraphPaths;

// A heap graph's class histogram as a heap profile (one sample per class: instances and shallow
// bytes, as a JVM class histogram is), taken at the file's modification time, so that `suspects`
// ranks classes across heap dumps or snapshots as it does across histograms.
profile::Profile heap_graph_profile(const std::string& file);

// One heap graph's leak suspects as Eclipse MAT finds them (heapgraph/leak_suspects.hpp): what
// alone keeps 10% or more of the heap alive, where it accumulates, and the path to it.
int suspects_heap_graph(const std::string& file, const HeapGraphOptions& options);

int top_heap_graph(const std::string& file, const HeapGraphOptions& options);
int diff_heap_graphs(const std::string& base, const std::string& cur,
                     const HeapGraphOptions& options);
// One snapshot: the biggest classes by retained size; two: the classes that grew, their new
// objects; three: the leak set (new in the second, alive in the third).
int paths_heap_graphs(const std::vector<std::string>& files, const HeapGraphOptions& options);
// What paths_heap_graphs prints, as data (for `hunt`).
HeapGraphPaths explain_heap_graphs(const std::vector<std::string>& files,
                                   const HeapGraphOptions& options);

// The heap graphs `paths PATH` explains for a record directory: the first, the middle and the
// last of its snapshots (all of them when fewer); empty when it holds none.
std::vector<std::string> heap_graph_set_of(const std::string& path);

}  // namespace leakhunt::cli
