// The client side of `leakhunt scan`: one /api/v1/query_range request to a Prometheus server
// (cpp-httplib; plain http), the step chosen to stay under Prometheus' limit of 11,000 points
// per series, and errors that say what went wrong: the server cannot be reached, Prometheus
// rejected the query (its own error quoted), or the answer is not what the API promises.
// Free functions; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "series/series_builder.hpp"

namespace leakhunt::server {

// Prometheus refuses a range query of more than this many points per series.
inline constexpr double k_max_points_per_series = 11000;
// The default resolution: about this many points per series.
inline constexpr double k_default_points = 1000;

struct StepChoice {
    double step_s = 0;
    std::string note;  // set when the requested step was raised, to say why
};

// The step for a range: the requested one unless it would exceed k_max_points_per_series, else
// the smallest whole-second step that does not; without a request, range / k_default_points
// (at least 1 s), rounded up to whole seconds.
StepChoice choose_step(double range_s, std::optional<double> requested_step_s);

struct RangeQuery {
    std::string url;  // http://host:port[/prefix] or https://...
    std::string query;
    std::string ca_cert;  // https: a PEM file of CA certificates to trust instead of the system's
    double start_unix = 0;
    double end_unix = 0;
    double step_s = 60;
    double timeout_s = 60;
};

// Bytes received so far and the expected total (0 if unknown).
using FetchProgress = std::function<void(uint64_t received, uint64_t total)>;

// Runs the range query; one Series per label set, values in rss_bytes. Throws util::Error.
series::ReadResult query_range(const RangeQuery& q, const FetchProgress& progress = {});

}  // namespace leakhunt::server
