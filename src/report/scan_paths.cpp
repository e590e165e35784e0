// Retention paths of a heap scan as report rows.
#include "report/scan_paths.hpp"

#include "heapscan/scan_file.hpp"
#include "heapscan/scan_symbols.hpp"
#include "util/error.hpp"

namespace leakhunt::report {

nlohmann::json retention_rows(const heapscan::RetentionReport& report, size_t max_paths) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& site : report.sites) {
        for (size_t i = 0; i < site.paths.size() && (max_paths == 0 || i < max_paths); ++i) {
            const heapscan::RetentionPath& p = site.paths[i];
            nlohmann::json hops = nlohmann::json::array();
            for (const auto& h : p.hops) {
                hops.push_back({{"site", h.site.label()},
                                {"offset", h.offset},
                                {"offsets_vary", h.offsets_vary},
                                {"repeated", h.repeated}});
            }
            rows.push_back({{"root", p.root},
                            {"site", site.site.label()},
                            {"hops", std::move(hops)},
                            {"blocks", p.count},
                            {"bytes", p.bytes}});
        }
    }
    return rows;
}

bool is_paths_json(const nlohmann::json& rows) {
    if (!rows.is_array() || rows.empty() || !rows.front().is_object()) return false;
    const auto type = rows.front().find("type");
    return type != rows.front().end() && (*type == "holder" || *type == "site" || *type == "class");
}

nlohmann::json retention_rows_from_paths_json(const nlohmann::json& rows,
                                              const std::string& source) {
    const auto label = [&](const nlohmann::json& site) {
        if (site.is_object() && site.contains("label") && site["label"].is_string()) {
            return site["label"].get<std::string>();
        }
        throw util::Error(
            "{}: a site without a \"label\" (is it the output of `leakhunt paths "
            "--json`?)",
            source);
    };
    nlohmann::json out = nlohmann::json::array();
    try {
        for (const auto& row : rows) {
            if (row.is_object() && row.value("type", "") == "class") {
                // A heap graph's class: each path's steps, root first.
                const std::string cls = row.at("class").get<std::string>();
                for (const auto& p : row.at("paths")) {
                    const auto& steps = p.at("steps");
                    if (steps.empty()) continue;
                    nlohmann::json hops = nlohmann::json::array();
                    for (size_t k = 1; k < steps.size(); ++k)
                        hops.push_back({{"site", steps[k].get<std::string>()}});
                    out.push_back({{"root", steps[0].get<std::string>()},
                                   {"site", cls},
                                   {"hops", std::move(hops)},
                                   {"blocks", p.at("count")},
                                   {"bytes", p.at("retained_bytes")}});
                }
                continue;
            }
            if (!row.is_object() || row.value("type", "") != "site") continue;
            const std::string site = label(row.at("site"));
            for (const auto& p : row.at("paths")) {
                nlohmann::json hops = nlohmann::json::array();
                for (const auto& h : p.at("hops")) {
                    hops.push_back({{"site", label(h.at("site"))},
                                    {"offset", h.at("offset")},
                                    {"offsets_vary", h.value("offsets_vary", false)},
                                    {"repeated", h.value("repeated", false)}});
                }
                out.push_back({{"root", p.at("root")},
                               {"site", site},
                               {"hops", std::move(hops)},
                               {"blocks", p.at("count")},
                               {"bytes", p.at("bytes")}});
            }
        }
    } catch (const nlohmann::json::exception& e) {
        throw util::Error("{}: not the output of `leakhunt paths --json` ({})", source, e.what());
    }
    return out;
}

nlohmann::json scan_retention_rows(const std::filesystem::path& scan_path,
                                   std::vector<std::string>& warnings, size_t top_sites,
                                   size_t max_paths) {
    const heapscan::ScanFile scan = heapscan::read_scan_file(scan_path);
    heapscan::ScanSymbols symbols(scan);
    heapscan::RetentionOptions options;
    options.top = top_sites;
    const heapscan::RetentionReport report = heapscan::build_retention(scan, symbols, options);
    for (const auto& w : symbols.warnings()) warnings.push_back(w);
    return retention_rows(report, max_paths);
}

}  // namespace leakhunt::report
