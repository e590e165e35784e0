// Tests for the HTML pages: the data block cannot close its <script> element, hostile names
// survive as data, invalid UTF-8 is replaced, and both pages carry the bundled front-end.
#include "report/html_report.hpp"

#include <gtest/gtest.h>

#include "report/web_assets.hpp"

namespace leakhunt::report {

TEST(ScriptSafeJson, EscapesWhatCouldEndTheScriptElement) {
    const nlohmann::json j = {{"name", "</script><img src=x onerror=alert(1)>&\u2028\u2029"}};
    EXPECT_EQ(
        script_safe_json(j),
        R"({"name":"\u003c/script\u003e\u003cimg src=x onerror=alert(1)\u003e\u0026\u2028\u2029"})");
    // And it is still the same JSON.
    EXPECT_EQ(nlohmann::json::parse(script_safe_json(j)), j);
}

TEST(ScriptSafeJson, ReplacesInvalidUtf8) {
    const nlohmann::json j = {{"name", std::string("a\xff"
                                                   "b")}};
    EXPECT_EQ(script_safe_json(j),
              "{\"name\":\"a\xEF\xBF\xBD"
              "b\"}");
}

TEST(HtmlEscape, EscapesMarkup) {
    EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"),
              "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(RenderReportHtml, OneDataBlockThatParsesBack) {
    const nlohmann::json data = {{"title", "<b>api</b>"}, {"x", "</script>"}};
    const std::string html = render_report_html(data);
    const std::string open = R"(<script type="application/json" id="leakhunt-data">)";
    const size_t at = html.find(open);
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(html.find(open, at + 1), std::string::npos);
    const size_t start = at + open.size();
    const size_t end = html.find("</script>", start);
    EXPECT_EQ(nlohmann::json::parse(html.substr(start, end - start)), data);
    EXPECT_NE(html.find("<title>&lt;b&gt;api&lt;/b&gt;</title>"), std::string::npos);
    EXPECT_NE(html.find(web_js()), std::string::npos);
    EXPECT_NE(html.find(web_css()), std::string::npos);
    EXPECT_GT(web_js().size(), 50000U);  // uPlot and d3-flame-graph are in it
}

TEST(RenderLiveHtml, PointsAtTheDataUrlWithoutData) {
    const std::string html = render_live_html("/api/report.json?target=\"a\"", "live", 5000);
    EXPECT_NE(
        html.find(R"(data-url="/api/report.json?target=&quot;a&quot;" data-refresh-ms="5000")"),
        std::string::npos);
    EXPECT_EQ(html.find("id=\"leakhunt-data\""), std::string::npos);
}

}  // namespace leakhunt::report
