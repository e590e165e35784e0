// The Prometheus range-query reader. Every access to the document is type-checked, since the
// input may be anything a proxy or a misconfigured URL returns.
#include "series/prometheus.hpp"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "series/bounds.hpp"
#include "series/timestamp.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::series {
namespace {

using Json = nlohmann::json;

constexpr std::string_view k_bom = "\xEF\xBB\xBF";
constexpr std::string_view k_hint = "expected the output of /api/v1/query_range";

std::string string_field(const Json& obj, const char* key) {
    const auto it = obj.find(key);
    if (it == obj.end()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

// A sample's value: Prometheus sends a string ("12345", "NaN", "+Inf"); accept numbers too.
std::optional<double> sample_value(const Json& v) {
    if (v.is_number()) return v.get<double>();
    if (!v.is_string()) return std::nullopt;
    const auto& s = v.get_ref<const std::string&>();
    if (s == "+Inf" || s == "Inf") return HUGE_VAL;
    if (s == "-Inf") return -HUGE_VAL;
    return parse_number(s);
}

}  // namespace

std::string prometheus_series_name(const std::map<std::string, std::string>& labels) {
    std::string out;
    const auto name = labels.find("__name__");
    if (name != labels.end()) out = name->second;
    std::string inner;
    for (const auto& [k, v] : labels) {
        if (k == "__name__") continue;
        if (!inner.empty()) inner += ',';
        inner += k;
        inner += "=\"";
        for (char c : v) {
            if (c == '\\' || c == '"') {
                inner += '\\';
                inner += c;
            } else if (c == '\n') {
                inner += "\\n";
            } else {
                inner += c;
            }
        }
        inner += '"';
    }
    if (!inner.empty() || out.empty()) out += "{" + inner + "}";
    return out;
}

bool looks_like_prometheus_json(std::string_view text) {
    if (text.substr(0, k_bom.size()) == k_bom) text.remove_prefix(k_bom.size());
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || text[first] != '{') return false;
    return text.substr(first, 4096).find("\"status\"") != std::string_view::npos;
}

ReadResult parse_prometheus_json(std::string_view text, std::string_view source_name) {
    const std::string source(source_name);
    if (text.substr(0, k_bom.size()) == k_bom) text.remove_prefix(k_bom.size());
    Json doc;
    try {
        doc = Json::parse(text);
    } catch (const Json::parse_error& e) {
        throw util::Error("{}: invalid JSON at byte {}: {} ({})", source, e.byte,
                          util::exception_text(e), k_hint);
    } catch (const Json::exception& e) {
        // E.g. out_of_range 406, "number overflow parsing '1e999'".
        throw util::Error("{}: invalid JSON: {} ({})", source, util::exception_text(e), k_hint);
    }
    if (!doc.is_object()) {
        throw util::Error("{}: expected a JSON object, found {} ({})", source, doc.type_name(),
                          k_hint);
    }
    const auto status = doc.find("status");
    if (status == doc.end() || !status->is_string()) {
        throw util::Error("{}: not a Prometheus API response: no \"status\" field ({})", source,
                          k_hint);
    }
    if (*status == "error") {
        throw util::Error(
            "{}: Prometheus returned an error: {}: {} (check the query and the "
            "time range)",
            source, string_field(doc, "errorType"), string_field(doc, "error"));
    }
    if (*status != "success") {
        throw util::Error("{}: unexpected status \"{}\" ({})", source, status->get<std::string>(),
                          k_hint);
    }
    const auto data = doc.find("data");
    if (data == doc.end() || !data->is_object()) {
        throw util::Error("{}: the response has no \"data\" object ({})", source, k_hint);
    }
    const std::string result_type = string_field(*data, "resultType");
    if (result_type != "matrix") {
        throw util::Error(
            "{}: the result type is \"{}\": expected a range query result "
            "(matrix); use /api/v1/query_range",
            source, result_type);
    }
    const auto result = data->find("result");
    if (result == data->end() || !result->is_array()) {
        throw util::Error("{}: data.result is missing or not an array ({})", source, k_hint);
    }
    if (result->empty()) {
        throw util::Error(
            "{}: the query returned no series (check the metric name, the label "
            "matchers and the time range)",
            source);
    }

    ReadResult out;
    if (const auto w = doc.find("warnings"); w != doc.end() && w->is_array()) {
        for (const auto& item : *w) {
            out.warnings.push_back(
                fmt::format("{}: Prometheus warning: {}", source,
                            item.is_string() ? item.get<std::string>() : item.dump()));
        }
    }
    size_t index = 0;
    for (const auto& entry : *result) {
        ++index;
        if (!entry.is_object()) {
            throw util::Error("{}: result {} is not an object ({})", source, index, k_hint);
        }
        Series s;
        if (const auto m = entry.find("metric"); m != entry.end()) {
            if (!m->is_object()) {
                throw util::Error("{}: result {}: \"metric\" is not an object ({})", source, index,
                                  k_hint);
            }
            for (const auto& [k, v] : m->items()) {
                s.labels.emplace(k, v.is_string() ? v.get<std::string>() : v.dump());
            }
        }
        s.name = prometheus_series_name(s.labels);
        const auto values = entry.find("values");
        if (values == entry.end() || !values->is_array()) {
            if (entry.contains("histograms")) {
                out.warnings.push_back(fmt::format(
                    "{}: result {} ({}) holds native histograms, not values, and was skipped",
                    source, index, s.name));
                continue;
            }
            throw util::Error("{}: result {} ({}) has no \"values\" array ({})", source, index,
                              s.name, k_hint);
        }
        std::vector<double> rss;
        size_t nan_count = 0;
        size_t inf_count = 0;
        size_t duplicates = 0;
        std::optional<double> origin;
        size_t sample = 0;
        for (const auto& pair : *values) {
            ++sample;
            if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number()) {
                throw util::Error(
                    "{}: result {} ({}), sample {}: expected [unix_time, "
                    "\"value\"], found {} ({})",
                    source, index, s.name, sample, pair.dump().substr(0, 60), k_hint);
            }
            const double ts = pair[0].get<double>();
            const auto v = sample_value(pair[1]);
            if (!v || !std::isfinite(ts)) {
                throw util::Error("{}: result {} ({}), sample {}: {} is not a number ({})", source,
                                  index, s.name, sample, pair.dump().substr(0, 60), k_hint);
            }
            if (std::isnan(*v)) {
                ++nan_count;
                continue;
            }
            if (std::isinf(*v)) {
                ++inf_count;
                continue;
            }
            // The checks every reader makes (series/bounds.hpp): `scan` refuses what `classify`
            // refuses.
            auto problem = time_problem("the time", ts, TimeKind::absolute);
            if (!problem && origin) problem = span_problem("the time", *origin, ts);
            if (!problem) problem = value_problem(k_rss, *v, "the value");
            if (problem) {
                throw util::Error("{}: result {} ({}), sample {}: {}", source, index, s.name,
                                  sample, *problem);
            }
            if (!origin) origin = ts;
            const double t = ts - *origin;
            if (!s.t.empty() && t < s.t.back()) {
                throw util::Error(
                    "{}: result {} ({}), sample {}: time goes backwards ({} after "
                    "{}) (Prometheus returns samples in time order; check the "
                    "file)",
                    source, index, s.name, sample, format_rfc3339(ts),
                    format_rfc3339(*origin + s.t.back()));
            }
            if (!s.t.empty() && t == s.t.back()) {
                ++duplicates;
                rss.back() = *v;
                continue;
            }
            s.t.push_back(t);
            rss.push_back(*v);
        }
        if (nan_count + inf_count > 0) {
            out.warnings.push_back(fmt::format("{}: {}: dropped {} NaN and {} infinite sample{}",
                                               source, s.name, nan_count, inf_count,
                                               nan_count + inf_count == 1 ? "" : "s"));
        }
        if (duplicates > 0) {
            out.warnings.push_back(
                fmt::format("{}: {}: {} samples repeated a time; the last of each was kept", source,
                            s.name, duplicates));
        }
        if (s.t.empty()) {
            out.warnings.push_back(
                fmt::format("{}: {} has no finite samples and was skipped", source, s.name));
            continue;
        }
        s.epoch_offset = origin;
        s.columns.emplace(std::string(k_rss), std::move(rss));
        out.series.push_back(std::move(s));
    }
    if (out.series.empty()) {
        throw util::Error(
            "{}: no samples: none of the {} series has a finite value (check the "
            "query)",
            source, result->size());
    }
    return out;
}

ReadResult read_prometheus_json(const std::filesystem::path& path) {
    return parse_prometheus_json(util::read_file(path), path.string());
}

}  // namespace leakhunt::series
