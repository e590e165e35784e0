// The Prometheus range-query client.
#include "server/prometheus_client.hpp"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "profile/fetch.hpp"
#include "series/prometheus.hpp"
#include "util/error.hpp"

namespace leakhunt::server {
namespace {

std::string url_encode(std::string_view s) {
    std::string out;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out += c;
        } else {
            out += fmt::format("%{:02X}", u);
        }
    }
    return out;
}

struct Endpoint {
    std::string scheme_host_port;
    std::string prefix;  // path prefix, no trailing slash
};

Endpoint parse_url(const std::string& url) {
    const size_t scheme_end = url.find("://");
    const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
    if ((scheme != "http" && scheme != "https") || url.size() == scheme_end + 3) {
        throw util::UsageError(
            "--prometheus {}: expected a URL like http://localhost:9090 or https://prom.example",
            url);
    }
    const size_t slash = url.find('/', scheme_end + 3);
    Endpoint e;
    e.scheme_host_port = url.substr(0, slash);
    if (slash != std::string::npos) {
        e.prefix = url.substr(slash);
        while (!e.prefix.empty() && e.prefix.back() == '/') e.prefix.pop_back();
    }
    return e;
}

// Prometheus' own error message from an error body, or the body's start.
std::string error_from_body(const std::string& body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) {
        std::string type = j.value("errorType", "");
        return fmt::format("{}{}\"{}\"", type, type.empty() ? "" : ": ",
                           j["error"].get<std::string>());
    }
    std::string start = body.substr(0, 200);
    for (char& c : start) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return fmt::format("\"{}\"", start);
}

}  // namespace

StepChoice choose_step(double range_s, std::optional<double> requested_step_s) {
    const double min_step = std::ceil(range_s / k_max_points_per_series);
    StepChoice out;
    if (requested_step_s) {
        out.step_s = *requested_step_s;
        if (range_s / out.step_s > k_max_points_per_series) {
            out.note = fmt::format(
                "--step {}s would ask for {:.0f} points per series, over Prometheus' limit of "
                "{:.0f}; using --step {:.0f}s",
                out.step_s, range_s / out.step_s, k_max_points_per_series, min_step);
            out.step_s = min_step;
        }
        return out;
    }
    out.step_s = std::max(1.0, std::ceil(range_s / k_default_points));
    return out;
}

series::ReadResult query_range(const RangeQuery& q, const FetchProgress& progress) {
    const Endpoint e = parse_url(q.url);
    httplib::Client client(e.scheme_host_port);
    if (!q.ca_cert.empty()) {
        if (!std::filesystem::is_regular_file(q.ca_cert)) {
            throw util::UsageError("--ca-cert {}: no such file (a PEM file of CA certificates)",
                                   q.ca_cert);
        }
        client.set_ca_cert_path(q.ca_cert.c_str());
    }
    const auto seconds = static_cast<time_t>(q.timeout_s);
    client.set_connection_timeout(std::min<time_t>(seconds, 10), 0);
    client.set_read_timeout(seconds, 0);
    const std::string path =
        fmt::format("{}/api/v1/query_range?query={}&start={:.3f}&end={:.3f}&step={}", e.prefix,
                    url_encode(q.query), q.start_unix, q.end_unix, q.step_s);
    httplib::Headers headers{{"Accept", "application/json"}};
    auto result = progress ? client.Get(path, headers,
                                        [&](uint64_t received, uint64_t total) {
                                            progress(received, total);
                                            return true;
                                        })
                           : client.Get(path, headers);
    if (!result) {
        const httplib::Error err = result.error();
        const bool tls =
            err == httplib::Error::SSLConnection || err == httplib::Error::SSLServerVerification;
        throw util::Error("cannot reach Prometheus at {}: {} ({})", q.url,
                          profile::http_failure_text(err, static_cast<double>(seconds)),
                          tls ? "check its certificate, or name its CA with --ca-cert"
                              : "is it running? check --prometheus and --timeout");
    }
    if (result->status != 200) {
        throw util::Error("Prometheus at {} rejected the query (HTTP {}): {}", q.url,
                          result->status, error_from_body(result->body));
    }
    return series::parse_prometheus_json(result->body, q.url);
}

}  // namespace leakhunt::server
