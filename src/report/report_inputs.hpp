// What `leakhunt report` (and `serve`) accept as inputs, told apart by content: a `leakhunt
// record` directory (its timeline.PID.csv as the series, its heap.PID.NNNN.pb.gz snapshots), a
// watch database (SQLite), a series file (CSV, JSON lines, Prometheus query_range JSON), a pprof
// heap profile (gzip or raw), suspects JSON (`leakhunt suspects --json`: an array or one object
// per line), retention-path JSON (`leakhunt paths --json`, or the report's own rows) and a heap
// scan (heap.PID.NNNN.scan). Anything else is an error naming the file. Not thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "report/report_data.hpp"

namespace leakhunt::report {

enum class InputKind {
    record_dir,
    watch_db,
    series,
    profile,
    suspects,
    retention_paths,
    heap_scan,
    heap_graph
};

std::string_view to_string(InputKind kind);

struct InputOptions {
    // Which series or target to draw when an input has several: a watch database target's key
    // or name, a series' name or label value, or a PID in a record directory. Empty: the only
    // one (a database with several targets is then an error), or the first series of a file.
    std::string target;
    trend::ClassifyOptions classify;
    // What becomes of a record directory's heap graphs: explained into the report; left to the
    // caller (`hunt` explains them itself, to keep them); or left out with a note (the live page,
    // which rebuilds its data whenever the directory changes, must not parse a 1 GB heap dump
    // each time).
    enum class HeapGraphs { explain, caller_explains, note_only };
    HeapGraphs heap_graphs = HeapGraphs::explain;
};

// The kind of `path`; throws util::Error naming the file and what is accepted.
InputKind detect_input(const std::filesystem::path& path);

// Reads `path` and adds what it holds to `builder` (source, series, profiles, suspects, paths).
// Returns the kind. Throws util::Error (or util::UsageError for a --target that matches
// nothing) naming the file.
InputKind add_input(ReportBuilder& builder, const std::filesystem::path& path,
                    const InputOptions& options);

}  // namespace leakhunt::report
