// The analysis and the outputs of `hunt` (hunt.hpp) after its capture: the report document built
// as `leakhunt report` builds it (the watch series, the record directory's snapshots, suspects
// and heap scan, the heap graphs' retention paths), the finding read from it (the top suspect,
// what holds it, the pattern it matches), DIR/report.html, DIR/finding.json and the summary.
// Not thread-safe.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "patterns/patterns.hpp"
#include "series/series.hpp"
#include "trend/classify.hpp"

namespace leakhunt::cli {

// What the watch phase and the capture left, for the analysis.
struct HuntFacts {
    long pid = 0;
    std::string program;
    std::string runtime;  // empty when no capture ran
    double watched_s = 0;
    double captured_s = 0;
    series::Series series;          // the watch phase's memory series
    trend::Classification verdict;  // of that series
    std::string stopped_because;    // why the hunt ended where it did
    std::string capture_error;      // the capture failed with this (empty: it did not)
    bool interrupted = false;
};

struct HuntFindings {
    nlohmann::json top_suspect;       // a `suspects --json` row, or null
    std::string suspects_missing;     // why there is no suspect (from the report)
    std::vector<std::string> holder;  // the path that holds it, root first; empty: unknown
    std::string holder_source;        // "heap scan", "heap graph heap.X.NNNN.heapsnapshot"
    patterns::Finding finding;
    std::optional<patterns::Match> match;
    bool heap_dump = false;  // a heap graph or heap scan was read
};

// Builds and writes DIR/report.html (atomically) from DIR/watch.csv and, when present,
// DIR/record; writes DIR/paths.json (heap graphs) and DIR/finding.json; returns the finding.
HuntFindings analyse_hunt(const std::filesystem::path& dir, const HuntFacts& facts,
                          const std::vector<patterns::Pattern>& learned);

// The finding a report document shows: its top suspect's site and the retention path that holds
// it (the first row whose site names the suspect's function, else the first row).
patterns::Finding finding_of_report(const nlohmann::json& doc, const std::string& runtime);

// The summary to paste into an incident (see README, "hunt"): plain lines.
std::string hunt_summary(const std::filesystem::path& dir, const HuntFacts& facts,
                         const HuntFindings& findings);
nlohmann::json hunt_summary_json(const std::filesystem::path& dir, const HuntFacts& facts,
                                 const HuntFindings& findings);

// DIR/finding.json, as `learn` reads it: nullopt when absent; util::Error naming the file and
// field when malformed.
std::optional<patterns::Finding> read_finding(const std::filesystem::path& dir);

}  // namespace leakhunt::cli
