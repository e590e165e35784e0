// The Prometheus text format writer.
#include "server/exposition.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>

#include <fmt/format.h>

namespace leakhunt::server {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one (overlong forms,
// surrogates and code points above U+10FFFF are invalid).
size_t utf8_sequence(std::string_view s, size_t i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) return 1;
    size_t n = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
        n = 2, cp = b0 & 0x1Fu, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        n = 3, cp = b0 & 0x0Fu, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        n = 4, cp = b0 & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

std::string_view type_name(MetricType type) {
    switch (type) {
        case MetricType::gauge:
            return "gauge";
        case MetricType::counter:
            return "counter";
        case MetricType::untyped:
            return "untyped";
    }
    return "untyped";
}

bool name_char(char c, bool first, bool colon) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
    if (colon && c == ':') return true;
    return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view name, bool colon) {
    if (name.empty()) return false;
    for (size_t i = 0; i < name.size(); ++i) {
        if (!name_char(name[i], i == 0, colon)) return false;
    }
    return true;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (size_t i = 0; i < value.size();) {
        const size_t n = utf8_sequence(value, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
            ++i;
            continue;
        }
        if (n == 1) {
            const char c = value[i];
            if (c == '\\') {
                out += "\\\\";
            } else if (c == '"') {
                out += "\\\"";
            } else if (c == '\n') {
                out += "\\n";
            } else {
                out += c;
            }
        } else {
            out.append(value.substr(i, n));
        }
        i += n;
    }
    return out;
}

std::string escape_help(std::string_view help) {
    std::string out;
    for (char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_sample_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    if (value == 0) return "0";  // also -0
    return fmt::format("{}", value);
}

bool valid_metric_name(std::string_view name) {
    return valid_name(name, true);
}
bool valid_label_name(std::string_view name) {
    return valid_name(name, false);
}

void Exposition::declare(std::string_view name, MetricType type, std::string_view help) {
    for (const auto& f : m_families) {
        if (f.name == name) return;
    }
    if (!valid_metric_name(name)) {
        throw std::logic_error(fmt::format("invalid metric name {:?}", name));
    }
    m_families.push_back({std::string(name), type, escape_help(help), {}});
}

void Exposition::add(std::string_view name, const Labels& labels, double value) {
    for (auto& f : m_families) {
        if (f.name != name) continue;
        std::string line = f.name;
        if (!labels.empty()) {
            line += '{';
            bool first = true;
            for (const auto& [k, v] : labels) {
                if (!valid_label_name(k)) {
                    throw std::logic_error(fmt::format("invalid label name {:?}", k));
                }
                if (!first) line += ',';
                first = false;
                line += k;
                line += "=\"";
                line += escape_label_value(v);
                line += '"';
            }
            line += '}';
        }
        line += ' ';
        line += format_sample_value(value);
        f.samples.push_back(std::move(line));
        return;
    }
    throw std::logic_error(fmt::format("metric {} was not declared", name));
}

std::string Exposition::render() const {
    std::string out;
    for (const auto& f : m_families) {
        if (f.samples.empty()) continue;
        out +=
            fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, type_name(f.type));
        for (const auto& line : f.samples) {
            out += line;
            out += '\n';
        }
    }
    return out;
}

}  // namespace leakhunt::server
