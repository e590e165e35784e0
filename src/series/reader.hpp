// Picks the series reader by content, so the CLI can accept `leakhunt classify FILE` for any of
// the formats: a Prometheus range-query response, JSON lines, or the series CSV. Thread-safe.
#pragma once

#include <filesystem>
#include <string_view>

#include "series/series_builder.hpp"

namespace leakhunt::series {

enum class SeriesFormat { csv, jsonl, prometheus_json };

// Prometheus JSON if looks_like_prometheus_json, else JSON lines if looks_like_jsonl, else CSV.
SeriesFormat detect_series_format(std::string_view text);

// `progress` (CSV only, the format of big recordings): see csv.hpp.
ReadResult parse_series(std::string_view text, std::string_view source_name,
                        const ReadProgress& progress = {});
ReadResult read_series(const std::filesystem::path& path, const ReadProgress& progress = {});

}  // namespace leakhunt::series
