// Content-based dispatch to the CSV, JSON-lines and Prometheus readers.
#include "series/reader.hpp"

#include "series/csv.hpp"
#include "series/jsonl.hpp"
#include "series/prometheus.hpp"
#include "util/file.hpp"

namespace leakhunt::series {

SeriesFormat detect_series_format(std::string_view text) {
    if (looks_like_prometheus_json(text)) return SeriesFormat::prometheus_json;
    if (looks_like_jsonl(text)) return SeriesFormat::jsonl;
    return SeriesFormat::csv;
}

ReadResult parse_series(std::string_view text, std::string_view source_name,
                        const ReadProgress& progress) {
    switch (detect_series_format(text)) {
        case SeriesFormat::prometheus_json:
            return parse_prometheus_json(text, source_name);
        case SeriesFormat::jsonl:
            return parse_jsonl(text, source_name);
        case SeriesFormat::csv:
            break;
    }
    return parse_csv(text, source_name, progress);
}

ReadResult read_series(const std::filesystem::path& path, const ReadProgress& progress) {
    return parse_series(util::read_file(path), path.string(), progress);
}

}  // namespace leakhunt::series
