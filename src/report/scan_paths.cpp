// Retention paths of a heap scan as report rows.
#include "report/scan_paths.hpp"

#include "heapscan/scan_file.hpp"
#include "heapscan/scan_symbols.hpp"

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
