// The JSON-lines series reader: nlohmann::json parses each line; SeriesBuilder applies the rules
// shared with the CSV reader.
#include "series/jsonl.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "series/bounds.hpp"
#include "series/timestamp.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::series {
namespace {

constexpr std::string_view k_bom = "\xEF\xBB\xBF";
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

const char* type_name(const nlohmann::json& j) {
    return j.type_name();
}

// A string or number cell as text, for target and pid.
std::optional<std::string> key_text(const nlohmann::json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
    if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
    if (v.is_number_float()) return fmt::format("{}", v.get<double>());
    if (v.is_null()) return std::string();
    return std::nullopt;
}

// A value: number -> itself, null or "NaN"/"nan" -> NaN, numeric strings -> their value;
// nullopt if not numeric.
std::optional<double> value_of(const nlohmann::json& v) {
    if (v.is_number()) return v.get<double>();
    if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (s.empty()) return std::numeric_limits<double>::quiet_NaN();
        return parse_number(s);
    }
    return std::nullopt;
}

}  // namespace

bool looks_like_jsonl(std::string_view text) {
    if (text.substr(0, k_bom.size()) == k_bom) text.remove_prefix(k_bom.size());
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t nl = text.find('\n', pos);
        const std::string_view line = trim(
            text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
        if (!line.empty() && line.front() != '#') {
            return line.front() == '{' && line.back() == '}';
        }
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    return false;
}

ReadResult parse_jsonl(std::string_view text, std::string_view source_name) {
    const std::string source(source_name);
    if (text.substr(0, k_bom.size()) == k_bom) text.remove_prefix(k_bom.size());
    SeriesBuilder builder(source);
    std::vector<std::string> warnings;
    std::vector<std::string> ignored;  // non-numeric unknown keys, warned once
    std::vector<double> values;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    size_t pos = 0;
    size_t line_no = 0;
    bool any_line = false;
    while (pos < text.size()) {
        const size_t nl = text.find('\n', pos);
        const size_t end = nl == std::string_view::npos ? text.size() : nl;
        const std::string_view line = trim(text.substr(pos, end - pos));
        pos = end + 1;
        ++line_no;
        if (line.empty() || line.front() == '#') continue;
        any_line = true;
        nlohmann::json obj;
        try {
            obj = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
            throw util::Error(
                "{}:{}: invalid JSON at byte {} of the line: {} (write one JSON "
                "object per line)",
                source, line_no, e.byte, util::exception_text(e));
        } catch (const nlohmann::json::exception& e) {
            // E.g. out_of_range 406, "number overflow parsing '1e999'".
            throw util::Error("{}:{}: invalid JSON: {} (write one JSON object per line)", source,
                              line_no, util::exception_text(e));
        }
        if (!obj.is_object()) {
            throw util::Error(
                "{}:{}: expected a JSON object, found {} (write one object per "
                "line such as {{\"t\":1795241955,\"rss_bytes\":123456}})",
                source, line_no, type_name(obj));
        }
        std::optional<double> t;
        TimeKind kind = TimeKind::absolute;
        std::string time_key;
        for (const char* key : {"t", "timestamp", "t_seconds"}) {
            const auto it = obj.find(key);
            if (it == obj.end()) continue;
            time_key = key;
            kind = time_key == "t_seconds" ? TimeKind::relative : TimeKind::absolute;
            if (it->is_number()) {
                t = it->get<double>();
            } else if (it->is_string() && time_key != "t_seconds") {
                const auto& s = it->get_ref<const std::string&>();
                t = parse_rfc3339(s);
                if (!t) t = parse_number(s);
            }
            if (!t || !std::isfinite(*t)) {
                throw util::Error(
                    "{}:{}: \"{}\" is not a valid time: {} (use Unix seconds such "
                    "as 1795241955.5 or an RFC 3339 string such as "
                    "\"2026-11-21T06:19:15Z\")",
                    source, line_no, time_key, it->dump().substr(0, 60));
            }
            break;
        }
        if (!t) {
            throw util::Error(
                "{}:{}: the object has no time (add \"t\" with Unix seconds, "
                "\"timestamp\" in RFC 3339, or \"t_seconds\")",
                source, line_no);
        }
        std::string target;
        std::optional<std::string> pid;
        values.assign(builder.column_count(), nan);
        for (const auto& [key, v] : obj.items()) {
            if (key == time_key || key == "event") continue;
            if (key == "t" || key == "timestamp" || key == "t_seconds") continue;
            if (key == "target" || key == "pid") {
                auto text_value = key_text(v);
                if (!text_value) {
                    throw util::Error("{}:{}: \"{}\" must be a string or a number, not {}", source,
                                      line_no, key, type_name(v));
                }
                (key == "target" ? target : pid.emplace()) = std::move(*text_value);
                continue;
            }
            if (std::find(ignored.begin(), ignored.end(), key) != ignored.end()) continue;
            const auto value = value_of(v);
            const bool known = is_known_column(key);
            if (!value || std::isinf(*value)) {
                if (known) {
                    throw util::Error(
                        "{}:{}: \"{}\" is not a number: {} (use a number, or null "
                        "for a missing value)",
                        source, line_no, key, v.dump().substr(0, 60));
                }
                ignored.push_back(key);
                warnings.push_back(
                    fmt::format("{}:{}: key \"{}\" has a non-numeric value and was ignored", source,
                                line_no, key));
                continue;
            }
            const size_t idx = builder.column(key);
            if (idx >= values.size()) values.resize(idx + 1, nan);
            values[idx] = *value;
        }
        builder.add_row(line_no, time_key, *t, kind, target, pid, values);
    }
    if (!any_line) {
        throw util::Error(
            "{} is empty: expected one JSON object per line such as "
            "{{\"t\":1795241955,\"rss_bytes\":123456}}",
            source);
    }
    ReadResult result = std::move(builder).finish(std::move(warnings), 0);
    for (const auto& key : ignored) {
        for (auto& s : result.series) s.columns.erase(key);
    }
    return result;
}

ReadResult read_jsonl(const std::filesystem::path& path) {
    return parse_jsonl(util::read_file(path), path.string());
}

}  // namespace leakhunt::series
