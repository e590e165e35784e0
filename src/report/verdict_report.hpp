// Renders a classification: the verdict JSON of DESIGN.md (one object per series, for scripts)
// and the human text block (for terminals). Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/terminal.hpp"
#include "series/series.hpp"
#include "trend/classify.hpp"

namespace leakhunt::report {

// The verdict JSON: verdict, growth_bytes_per_hour, confidence, first_leak_at_s (null if never),
// evidence, projected_limit_at_s (where a limit is known), plus series, file, samples, span_s,
// flags, restarts_s, period_s, limit_bytes and watch_more_s. Times are in the series' own time
// axis (seconds), as in its CSV.
nlohmann::json verdict_json(const series::Series& s, const trend::Classification& c);

nlohmann::json replay_json(const std::vector<trend::VerdictChange>& changes);

// "linear_leak.csv: LEAK +20.9 MiB/h (confidence 0.98; 2880 samples over 8h00m)" and one
// "  - evidence" line each.
std::string verdict_text(const series::Series& s, const trend::Classification& c,
                         const Style& style);

// "  at 1h02m (372 samples): leak, +20.1 MiB/h" per change.
std::string replay_text(const series::Series& s, const std::vector<trend::VerdictChange>& changes);

// The verdict word styled: LEAK in red, BOUNDED in yellow, HEALTHY in green.
std::string verdict_word(trend::Verdict v, const Style& style);

}  // namespace leakhunt::report
