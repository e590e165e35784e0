// The Prometheus text exposition format, version 0.0.4 (https://prometheus.io/docs/instrumenting/
// exposition_formats/): metric families with their # HELP and # TYPE lines, samples grouped by
// family, label values and help text escaped as the format asks (backslash, double quote and
// newline), and invalid UTF-8 in label values (process names are untrusted bytes) replaced by
// U+FFFD so that every scraper parses the page. A plain value type; not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leakhunt::server {

inline constexpr std::string_view k_exposition_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { gauge, counter, untyped };

using Labels = std::vector<std::pair<std::string, std::string>>;

// "a\\b\"c\n" for a\b"c<newline>, with invalid UTF-8 sequences replaced by U+FFFD.
std::string escape_label_value(std::string_view value);
// Help text: backslash and newline escaped (double quotes stay as they are).
std::string escape_help(std::string_view help);
// Go's strconv.FormatFloat(v, 'g', -1, 64) up to notation: "NaN", "+Inf", "-Inf", "42", "0.25".
std::string format_sample_value(double value);
// True for a valid metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]*, no colon for labels).
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

// Collects families and renders them in the order they were first declared. Declaring the same
// name twice returns the existing family; a sample for an undeclared family is a programming
// error (std::logic_error), as is an invalid metric or label name.
class Exposition {
  public:
    void declare(std::string_view name, MetricType type, std::string_view help);
    void add(std::string_view name, const Labels& labels, double value);
    std::string render() const;

  private:
    struct Family {
        std::string name;
        MetricType type;
        std::string help;
        std::vector<std::string> samples;  // rendered lines
    };
    std::vector<Family> m_families;
};

}  // namespace leakhunt::server
