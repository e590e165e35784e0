// Counts of work done, read from where services and load generators print them: a counter's
// current value (a plain number, a field of a JSON object, or a metric of the Prometheus text
// format summed over its label sets), and the summary a load generator prints when it ends (wrk,
// wrk2, k6, redis-benchmark, ab, hey). Input is untrusted text: bounded, checked, never trusted
// to be well formed. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace leakhunt::series {

// The counter's value in `text`. `field` empty: the text is one number (surrounding white space
// allowed). Otherwise `field` names a top-level field of a JSON object, or a metric of the
// Prometheus text format (its samples, whatever their labels, are summed). Throws util::Error
// saying what the text holds instead (quoted, shortened).
double parse_work_value(std::string_view text, std::string_view field);

struct LoadSummary {
    std::string tool;               // "wrk", "k6", "redis-benchmark", "ab", "hey"
    double requests = 0;            // completed requests
    std::optional<double> seconds;  // how long the load ran, when the summary says
};

// The completed requests a load generator's output reports; nullopt when no known summary is in
// it. redis-benchmark's tests are added up.
std::optional<LoadSummary> parse_load_summary(std::string_view text);

}  // namespace leakhunt::series
