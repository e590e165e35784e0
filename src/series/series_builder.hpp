// Turns validated rows from a line-oriented source (CSV, JSON lines) into Series: groups rows by
// target, records restarts when the pid changes, keeps the last of rows with the same time,
// drops rows without rss_bytes, rejects time going backwards and values or times outside the
// bounds of series/bounds.hpp, warns about a time column in the wrong unit, and makes absolute
// times relative with epoch_offset. The readers own the syntax; this class owns the rules they
// share, so both formats word their errors and warnings the same way. Not thread-safe; one per
// parse.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "series/bounds.hpp"
#include "series/series.hpp"

namespace leakhunt::series {

// What a reader returns: the series of the source, and sentences about input it repaired or
// skipped (dropped rows, duplicate times, ignored columns) that the CLI may show as warnings.
// Told (done, total) in bytes while a reader reads a big input.
using ReadProgress = std::function<void(uint64_t done, uint64_t total)>;

struct ReadResult {
    std::vector<Series> series;
    std::vector<std::string> warnings;
};

class SeriesBuilder {
  public:
    // `source` names the input in messages ("mem.csv"); series are named after its file name.
    explicit SeriesBuilder(std::string source);

    // The index of a value column, adding it (NaN in all earlier rows) if new.
    size_t column(std::string_view name);
    size_t column_count() const { return m_columns.size(); }

    // One input row. `t` is the value of the row's `time_column`; `values` holds column_count()
    // values (NaN = missing); `target` groups rows into series; `pid`, when present and
    // different from the previous row of the same target, records a restart. Throws util::Error
    // "SOURCE:LINE: ..." if time goes backwards within the target, or a time, the span or a
    // value of a known column is out of bounds (series/bounds.hpp).
    void add_row(size_t line, std::string_view time_column, double t, TimeKind kind,
                 std::string_view target, std::optional<std::string_view> pid,
                 const std::vector<double>& values);

    // Number of rows passed to add_row so far.
    size_t rows_seen() const { return m_rows_seen; }

    // Finishes: throws util::Error("no samples") if no row had an rss_bytes value.
    // `header_line` (0 if the format has none) is the line that errors without a row point to.
    ReadResult finish(std::vector<std::string> warnings, size_t header_line) &&;

  private:
    struct Group {
        std::string target;
        Series series;
        std::vector<std::vector<double>> values;  // per column
        double first_t = 0;                       // first row's time
        double last_t = 0;                        // last row's time, kept or not
        size_t last_line = 0;
        bool any_row = false;
        std::string last_pid;
    };

    Group& group(std::string_view target);
    void add_column_to(Group& g, size_t count) const;

    std::string m_source;
    std::string m_display;
    std::vector<std::string> m_columns;
    std::string m_time_column;  // of the last row, for warnings
    size_t m_rss = 0;
    std::vector<Group> m_groups;
    std::unordered_map<std::string, size_t> m_group_index;
    size_t m_last_group = 0;
    std::optional<TimeKind> m_kind;
    size_t m_rows_seen = 0;
    size_t m_dropped = 0;
    size_t m_first_dropped_line = 0;
    size_t m_duplicates = 0;
    size_t m_first_duplicate_line = 0;
};

// A time for messages: "12.5 s" or "2026-11-21T06:19:15.000Z".
std::string describe_time(double t, TimeKind kind);

}  // namespace leakhunt::series
