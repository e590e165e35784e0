// Reader for Prometheus range-query results (the JSON of /api/v1/query_range), so that `leakhunt
// scan` can judge a fleet's series: one Series per result entry, named and labelled like the
// Prometheus series, its values in the rss_bytes column. Free functions; thread-safe.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "series/series_builder.hpp"

namespace leakhunt::series {

// Parses {"status":"success","data":{"resultType":"matrix","result":[{"metric":{...},
// "values":[[1700000000.123,"12345"],...]}]}}. t is relative to each series' first sample and
// epoch_offset is set; "NaN" and "±Inf" samples are dropped with a warning; Prometheus'
// own "warnings" are passed on. Throws util::Error "SOURCE: ..." for invalid JSON (with the
// byte offset), status "error", a non-matrix result, or a query that returned no series.
ReadResult parse_prometheus_json(std::string_view text, std::string_view source_name);
ReadResult read_prometheus_json(const std::filesystem::path& path);

// True if the text looks like a Prometheus API response rather than another series format:
// the first non-space character is '{' and a "status" key appears early.
bool looks_like_prometheus_json(std::string_view text);

// `__name__{a="1",b="x\"y"}` in Prometheus notation (labels sorted, __name__ outside).
std::string prometheus_series_name(const std::map<std::string, std::string>& labels);

}  // namespace leakhunt::series
