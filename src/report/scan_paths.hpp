// The report's retention paths from a heap scan (heap.PID.NNNN.scan, written by `snapshot
// --scan` or `record --all --leak-check`) or from what `leakhunt paths --json` wrote: the same
// grouping as `leakhunt paths` (heapscan/retention.hpp: the biggest or most grown allocation
// sites, their paths grouped by shape), in two forms:
//   rows   {root, site, hops: [{site, offset, offsets_vary, repeated}], blocks, bytes}, biggest
//          site first, at most `max_paths` per site (the data; `hunt` reads it)
//   sites  {site, function, blocks, bytes, growth_bytes, growth_bytes_per_hour, suspect, heading,
//          lines}: one per site, the growing ones first, with the lines `leakhunt paths` prints
//          for it (heapscan/retention_text.hpp) and a heading naming its growth: the rate of
//          the suspect (`leakhunt suspects`) whose function allocated there, and its growth
//          since the base scan when there is one
// Not thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "heapscan/retention.hpp"
#include "heapscan/scan_file.hpp"

namespace leakhunt::report {

// The paths shown per site, as `leakhunt paths` shows them by default.
inline constexpr size_t k_paths_per_site = 5;

// The rows of `report` (see above).
nlohmann::json retention_rows(const heapscan::RetentionReport& report,
                              size_t max_paths = k_paths_per_site);

// True when a retention site's label names `function`: the site is the function, or the
// function called a library routine there ("std::vector::reserve in fill_sessions (...)"), or
// the label is the function and its place ("fill_sessions (holders.cpp:60)"); `function` as the
// suspects name it ("fill_sessions()") or without its parameters.
bool site_names_function(std::string_view label, std::string_view function);

// The sites of `report` (see above); `with_growth`: the report was built against a base scan;
// `suspects`: rows of `leakhunt suspects --json` (or null).
nlohmann::json retention_sites(const heapscan::RetentionReport& report, bool with_growth,
                               const nlohmann::json& suspects, size_t max_paths = k_paths_per_site);

// True for the rows `leakhunt paths --json` prints (JSON lines): of a heap scan, {"type":
// "holder"} per root and {"type": "site", "site": {function, via, file, line, label}, "count",
// "bytes", "growth_bytes", "paths": [{root, hops, count, bytes}]} per site; of a heap graph,
// {"type": "class", "class", "paths": [{steps, count, retained_bytes}]} per class
// (heapgraph::class_paths_json, read back by heapgraph::class_paths_from_json).
bool is_paths_json(const nlohmann::json& rows);
// Those rows read back as the report they print, sites in the order given. Throws util::Error
// naming `source` for a site row without the fields `paths` writes.
heapscan::RetentionReport retention_from_paths_json(const nlohmann::json& rows,
                                                    const std::string& source);

// The retention report of `scan` as `leakhunt paths` builds it, against `base` (an earlier scan
// of the same process, or null); symbol warnings are appended to `warnings`.
heapscan::RetentionReport scan_retention(const heapscan::ScanFile& scan,
                                         const heapscan::ScanFile* base,
                                         std::vector<std::string>& warnings, size_t top_sites = 5);

}  // namespace leakhunt::report
