// Reader for the JSON-lines series that `leakhunt watch --json` writes: one object per line,
// {"t": 1795241955.5, "target": "api", "pid": 4242, "rss_bytes": 123456, ...}. Rows are grouped
// into one Series per target, with the same rules and message style as the CSV reader. Free
// functions; thread-safe.
#pragma once

#include <filesystem>
#include <string_view>

#include "series/series_builder.hpp"

namespace leakhunt::series {

// Time keys, first found wins: "t" (Unix seconds), "timestamp" (RFC 3339 string or Unix
// seconds), "t_seconds" (relative seconds, no epoch). Then: "rss_bytes" (number, null, or
// "NaN"; a row without it is dropped with a warning); "target" and "pid" (string or number)
// group rows and mark restarts; "event" is ignored; other numeric keys become columns, other
// non-numeric keys are ignored. Blank lines and lines starting with # are skipped.
// Throws util::Error "FILE:LINE: ..." on bad input.
ReadResult read_jsonl(const std::filesystem::path& path);
ReadResult parse_jsonl(std::string_view text, std::string_view source_name);

// True if the text looks like JSON lines: the first non-blank line is one {...} object.
bool looks_like_jsonl(std::string_view text);

}  // namespace leakhunt::series
