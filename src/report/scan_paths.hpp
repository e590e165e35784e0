// The report's retention paths from a heap scan (heap.PID.NNNN.scan, written by `snapshot
// --scan` or `record --all --leak-check`): the same grouping as `leakhunt paths`
// (heapscan/retention.hpp: the biggest allocation sites, their paths grouped by shape), flattened
// into the rows the report draws, {root, site, hops: [{site, offset}], blocks, bytes}, biggest
// site first, at most `max_paths` per site. Not thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "heapscan/retention.hpp"

namespace leakhunt::report {

// The rows of `report` (see above).
nlohmann::json retention_rows(const heapscan::RetentionReport& report, size_t max_paths = 5);

// True for the rows `leakhunt paths --json` prints (JSON lines): of a heap scan, {"type":
// "holder"} per root and {"type": "site", "site": {..., "label"}, "paths": [{root, hops, count,
// bytes}]} per site; of a heap graph, {"type": "class", "class", "paths": [{steps, count,
// retained_bytes}]} per class (heapgraph::class_paths_json).
bool is_paths_json(const nlohmann::json& rows);
// Those rows as the report's rows (above), sites in the order given. Throws util::Error naming
// `source` for a site row without the fields `paths` writes.
nlohmann::json retention_rows_from_paths_json(const nlohmann::json& rows,
                                              const std::string& source);

// Reads and symbolizes the scan at `scan_path` and returns its rows; symbol warnings are
// appended to `warnings`. Throws util::Error naming the file.
nlohmann::json scan_retention_rows(const std::filesystem::path& scan_path,
                                   std::vector<std::string>& warnings, size_t top_sites = 5,
                                   size_t max_paths = 5);

}  // namespace leakhunt::report
