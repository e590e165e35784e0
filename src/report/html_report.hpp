// The HTML pages: the self-contained report (the page's bundled JS and CSS inline, the report
// data in a <script type="application/json" id="leakhunt-data"> block, no network needed) and
// the live shell (same page, no data: it fetches a data URL and refreshes; for `serve`).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace leakhunt::report {

// `j` as JSON text safe inside a <script> element: '<', '>' and '&' as \u003c, \u003e, \u0026
// (so "</script>" and "<!--" cannot appear) and U+2028/U+2029 as \u2028/\u2029; invalid UTF-8
// (untrusted process names and symbols) is replaced by U+FFFD instead of failing.
std::string script_safe_json(const nlohmann::json& j);

// Text escaped for HTML element content and double-quoted attribute values.
std::string html_escape(std::string_view text);

// The whole report page for a ReportData document (its "title" becomes the page title).
std::string render_report_html(const nlohmann::json& data);

// The live page: fetches `data_url` (same origin, e.g. "/api/report.json?target=api") and
// redraws every `refresh_ms`, keeping the zoom of the charts.
std::string render_live_html(std::string_view data_url, std::string_view title, int refresh_ms);

}  // namespace leakhunt::report
