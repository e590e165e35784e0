// The report and live pages: a fixed HTML skeleton around the bundled front-end.
#include "report/html_report.hpp"

#include <fmt/format.h>

#include "report/web_assets.hpp"

namespace leakhunt::report {
namespace {

std::string page(std::string_view title, std::string_view app_attributes, std::string_view data) {
    std::string out;
    const std::string_view js = web_js();
    const std::string_view css = web_css();
    out.reserve(js.size() + css.size() + data.size() + 1024);
    out += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    // No favicon request: the report opens from disk and the live page has nothing to serve.
    out +=
        "<meta name=\"generator\" content=\"leakhunt\">\n<link rel=\"icon\" "
        "href=\"data:,\">\n<title>";
    out += html_escape(title);
    out += "</title>\n<style>\n";
    out += css;
    out += "\n</style>\n</head>\n<body>\n<div id=\"leakhunt-app\"";
    out += app_attributes;
    out += "></div>\n";
    if (!data.empty()) {
        out += "<script type=\"application/json\" id=\"leakhunt-data\">";
        out += data;
        out += "</script>\n";
    }
    out += "<script>\n";
    out += js;
    out += "\n</script>\n</body>\n</html>\n";
    return out;
}

}  // namespace

std::string script_safe_json(const nlohmann::json& j) {
    const std::string raw = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(raw.size() + raw.size() / 64);
    for (size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == '<') {
            out += "\\u003c";
        } else if (c == '>') {
            out += "\\u003e";
        } else if (c == '&') {
            out += "\\u0026";
        } else if (c == '\xE2' && i + 2 < raw.size() && raw[i + 1] == '\x80' &&
                   (raw[i + 2] == '\xA8' || raw[i + 2] == '\xA9')) {
            out += raw[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string render_report_html(const nlohmann::json& data) {
    const std::string title = data.contains("title") && data["title"].is_string()
                                  ? data["title"].get<std::string>()
                                  : std::string("leakhunt report");
    return page(title, "", script_safe_json(data));
}

std::string render_live_html(std::string_view data_url, std::string_view title, int refresh_ms) {
    const std::string attributes =
        fmt::format(" data-url=\"{}\" data-refresh-ms=\"{}\"", html_escape(data_url), refresh_ms);
    return page(title, attributes, {});
}

}  // namespace leakhunt::report
