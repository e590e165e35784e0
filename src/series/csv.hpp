// The memory series CSV of DESIGN.md ("Contracts"): reading it (one Series per target, restarts
// from pid changes, precise FILE:LINE errors), writing it atomically, and appending to it row by
// row for multi-day `leakhunt watch --csv` runs. The reader and writer are free functions
// (thread-safe); CsvAppender owns one file descriptor and is not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "series/series.hpp"
#include "series/series_builder.hpp"

namespace leakhunt::series {

// Reads a series CSV. Columns: `t_seconds` (seconds) or `timestamp` (RFC 3339 or Unix seconds,
// then t is relative to the first row and epoch_offset is set); `rss_bytes` (required); any
// numeric column (non-numeric unknown columns are ignored with a warning); `target` groups rows
// into one Series per value, named "FILE:target"; `pid` changes record restarts; `event` is
// ignored. Empty and NaN cells are missing values. Throws util::Error "FILE:LINE: ...".
// `progress`, when set, is told (bytes read, bytes in all) every 65,536 rows.
ReadResult read_csv(const std::filesystem::path& path);
ReadResult parse_csv(std::string_view text, std::string_view source_name,
                     const ReadProgress& progress = {});

// Formats series as CSV: `timestamp` (RFC 3339 UTC, milliseconds) when every series has an
// epoch_offset, else `t_seconds`; a `target` column when there is more than one series (the
// "target" label, else the name); rss_bytes; the other known columns in contract order; the
// rest alphabetically. Integral values have no decimal point; NaN is an empty cell.
std::string format_csv(const std::vector<Series>& series);
// format_csv written atomically (util::AtomicFile).
void write_csv(const std::filesystem::path& path, const std::vector<Series>& series);

// An append-only series CSV for long watches: `timestamp,target,pid,<columns>`.
//
// Atomicity: rewriting a multi-day file on every sample is not an option, so instead of the
// temporary-and-rename of other outputs this file is row-atomic: each append() is one write(2)
// of whole lines on an O_APPEND descriptor, and on open a torn last line (a crash mid-write)
// is cut off. So a reader sees every row complete or not at all. append() hands the rows to the
// kernel (no user-space buffering); sync() makes them durable across power loss as well.
class CsvAppender {
  public:
    struct Row {
        double unix_time = 0;  // seconds since the epoch; written as RFC 3339 with milliseconds
        std::string target;
        int64_t pid = 0;             // 0 = unknown, written as an empty cell
        std::vector<double> values;  // aligned with the constructor's columns; NaN = missing
    };

    // Opens or creates `path`. `columns` are the value columns and must include rss_bytes. A
    // new or empty file gets the header; an existing file must have the same header.
    CsvAppender(std::filesystem::path path, std::vector<std::string> columns);
    CsvAppender(const CsvAppender&) = delete;
    CsvAppender& operator=(const CsvAppender&) = delete;
    ~CsvAppender();

    void append(const std::vector<Row>& rows);
    void sync();
    const std::filesystem::path& path() const { return m_path; }
    const std::string& header() const { return m_header; }

  private:
    void write_all(std::string_view data);

    std::filesystem::path m_path;
    std::vector<std::string> m_columns;
    std::string m_header;
    int m_fd = -1;
};

// Appends a CSV cell for `v` to `out`: integers without a decimal point, NaN as nothing.
void append_csv_number(std::string& out, double v);

}  // namespace leakhunt::series
