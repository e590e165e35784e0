// `leakhunt rules`: Prometheus alerting rules over the metrics of `leakhunt serve` (a leak
// verdict held for a while with enough confidence, memory limit within reach, fd and thread
// growth, a source that cannot be read), as YAML that `promtool check rules` accepts. Pure
// function; thread-safe.
#pragma once

#include <string>

namespace leakhunt::server {

struct RulesOptions {
    double for_s = 1800;               // how long a condition must hold before the alert fires
    double min_confidence = 0.8;       // of the leak verdict
    double limit_within_s = 6 * 3600;  // alert when the projected limit is closer than this
    std::string group = "leakhunt";
};

// "1h30m", "45s", "2d": a Prometheus duration for whole seconds (rounded up, at least 1s).
std::string prometheus_duration(double seconds);

std::string alerting_rules_yaml(const RulesOptions& options);

}  // namespace leakhunt::server
