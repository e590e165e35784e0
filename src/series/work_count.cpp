// parse_work_value() and parse_load_summary() (see work_count.hpp).
#include "series/work_count.hpp"

#include <cmath>
#include <cstdlib>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace leakhunt::series {
namespace {

// Text longer than this is not a counter reply.
constexpr size_t k_max_text = 4u << 20;
// How much of a load generator's output is searched for its summary (its end).
constexpr size_t k_max_summary_text = 64u << 10;

std::string_view trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string quoted(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 60)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return "\"" + out + (s.size() > 60 ? "...\"" : "\"");
}

std::optional<double> number(std::string_view s) {
    s = trim(s);
    if (s.empty() || s.size() > 64) return std::nullopt;
    const std::string z(s);
    char* end = nullptr;
    const double v = std::strtod(z.c_str(), &end);
    if (end != z.c_str() + z.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

// The sum of the samples of `metric` in the Prometheus text format; nullopt if none.
std::optional<double> prometheus_metric(std::string_view text, std::string_view metric) {
    std::optional<double> sum;
    size_t at = 0;
    while (at < text.size()) {
        size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = trim(text.substr(at, end - at));
        at = end + 1;
        if (line.empty() || line.front() == '#') continue;
        if (line.substr(0, metric.size()) != metric) continue;
        std::string_view rest = line.substr(metric.size());
        if (!rest.empty() && rest.front() == '{') {
            const size_t close = rest.rfind('}');
            if (close == std::string_view::npos) continue;
            rest = rest.substr(close + 1);
        } else if (rest.empty() || (rest.front() != ' ' && rest.front() != '\t')) {
            continue;  // another metric whose name starts the same
        }
        rest = trim(rest);
        const std::string_view value = rest.substr(0, rest.find_first_of(" \t"));
        if (const auto v = number(value)) sum = sum.value_or(0) + *v;
    }
    return sum;
}

double to_seconds(double value, std::string_view unit) {
    if (unit == "us") return value / 1e6;
    if (unit == "ms") return value / 1e3;
    if (unit == "m") return value * 60;
    if (unit == "h") return value * 3600;
    return value;
}

}  // namespace

double parse_work_value(std::string_view text, std::string_view field) {
    if (text.size() > k_max_text) {
        throw util::Error("the reply is {} bytes, too long for a counter", text.size());
    }
    if (field.empty()) {
        if (const auto v = number(text)) return *v;
        throw util::Error(
            "expected one number (the work done so far), got {} (name a JSON field "
            "or a Prometheus metric after #)",
            quoted(trim(text)));
    }
    const std::string_view body = trim(text);
    if (!body.empty() && body.front() == '{') {
        const auto j = nlohmann::json::parse(body, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            throw util::Error("the reply starts like JSON but is not a JSON object: {}",
                              quoted(body));
        }
        const auto it = j.find(std::string(field));
        if (it == j.end() || !it->is_number()) {
            throw util::Error("the JSON reply has no number field {}: {}", quoted(field),
                              quoted(body));
        }
        const double v = it->get<double>();
        if (!std::isfinite(v))
            throw util::Error("the field {} is not a finite number", quoted(field));
        return v;
    }
    if (const auto v = prometheus_metric(text, field)) return *v;
    throw util::Error(
        "no metric {} in the reply (neither a JSON object nor Prometheus text with "
        "it): {}",
        quoted(field), quoted(body));
}

namespace {

std::optional<LoadSummary> find_summary(const std::string& s) {
    std::smatch m;
    // wrk, wrk2: "  4123456 requests in 30.00s, 512.00MB read"
    static const std::regex wrk(R"((\d+) requests in ([0-9.]+)(us|ms|s|m|h)\b)");
    if (std::regex_search(s, m, wrk)) {
        return LoadSummary{"wrk", std::stod(m[1]), to_seconds(std::stod(m[2]), m[3].str())};
    }
    // redis-benchmark: "  100000 requests completed in 1.23 seconds" per test.
    static const std::regex redis(R"((\d+) requests completed in ([0-9.]+) seconds)");
    LoadSummary sum{"redis-benchmark", 0, 0.0};
    bool any = false;
    for (auto it = std::sregex_iterator(s.begin(), s.end(), redis); it != std::sregex_iterator();
         ++it) {
        sum.requests += std::stod((*it)[1]);
        *sum.seconds += std::stod((*it)[2]);
        any = true;
    }
    if (any) return sum;
    // k6: "     http_reqs......................: 41234  1374.4/s"
    static const std::regex k6(R"(http_reqs\.*:\s*(\d+)\s)");
    if (std::regex_search(s, m, k6)) return LoadSummary{"k6", std::stod(m[1]), std::nullopt};
    // ab: "Complete requests:      1000" and "Time taken for tests:   1.234 seconds"
    static const std::regex ab(R"(Complete requests:\s*(\d+))");
    if (std::regex_search(s, m, ab)) {
        LoadSummary r{"ab", std::stod(m[1]), std::nullopt};
        static const std::regex ab_time(R"(Time taken for tests:\s*([0-9.]+) seconds)");
        if (std::smatch t; std::regex_search(s, t, ab_time)) r.seconds = std::stod(t[1]);
        return r;
    }
    // hey: "Status code distribution:\n  [200]\t1000 responses"
    static const std::regex hey(R"(\[\d{3}\]\s+(\d+) responses)");
    LoadSummary h{"hey", 0, std::nullopt};
    for (auto it = std::sregex_iterator(s.begin(), s.end(), hey); it != std::sregex_iterator();
         ++it) {
        h.requests += std::stod((*it)[1]);
    }
    if (h.requests > 0) return h;
    return std::nullopt;
}

}  // namespace

std::optional<LoadSummary> parse_load_summary(std::string_view text) {
    // Summaries come last; the tail is enough, and keeps the regular expressions' work small.
    if (text.size() > k_max_summary_text) text = text.substr(text.size() - k_max_summary_text);
    try {
        return find_summary(std::string(text));
    } catch (const std::exception&) {  // a count too large for a double
        return std::nullopt;
    }
}

}  // namespace leakhunt::series
