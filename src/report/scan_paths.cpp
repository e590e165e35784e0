// Retention paths of a heap scan as report rows and sites.
#include "report/scan_paths.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "heapscan/retention_text.hpp"
#include "heapscan/scan_symbols.hpp"
#include "symbolize/aggregate.hpp"
#include "util/error.hpp"
#include "util/units.hpp"

namespace leakhunt::report {
namespace {

// The suspect row whose function allocated at `site`, or null.
const nlohmann::json* suspect_of(const heapscan::SiteRetention& site,
                                 const nlohmann::json& suspects) {
    if (!suspects.is_array()) return nullptr;
    for (const auto& row : suspects) {
        if (!row.is_object() || !row.contains("function") || !row["function"].is_string()) continue;
        const std::string& fn = row["function"].get_ref<const std::string&>();
        if (site_names_function(site.site.label(), fn)) return &row;
    }
    return nullptr;
}

heapscan::SiteName site_name_of(const nlohmann::json& site, const std::string& source) {
    if (!site.is_object() || !site.contains("label") || !site["label"].is_string()) {
        throw util::Error(
            "{}: a site without a \"label\" (is it the output of `leakhunt paths --json`?)",
            source);
    }
    heapscan::SiteName name;
    name.function = site.value("function", "");
    name.via = site.value("via", "");
    name.file = site.value("file", "");
    name.line = site.value("line", int64_t{0});
    // A label the fields do not give back (another writer's) is kept as the function's name.
    if (name.label() != site["label"].get<std::string>())
        name = heapscan::SiteName{site["label"].get<std::string>(), "", "", 0};
    return name;
}

}  // namespace

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

bool site_names_function(std::string_view label, std::string_view function) {
    if (function.empty()) return false;
    auto names = [&](std::string_view fn) {
        if (label == fn) return true;
        if (label.find(fmt::format(" in {}", fn)) != std::string_view::npos) return true;
        return label.starts_with(fn) && label.size() > fn.size() && label[fn.size()] == ' ';
    };
    // Sites are named without templates and parameters ("make_session"), suspects as the
    // symbolizer names them ("make_session()").
    return names(function) || names(symbolize::strip_templates_and_parameters(function));
}

nlohmann::json retention_sites(const heapscan::RetentionReport& report, bool with_growth,
                               const nlohmann::json& suspects, size_t max_paths) {
    struct Entry {
        const heapscan::SiteRetention* site;
        const nlohmann::json* suspect;
        std::optional<double> rate;
    };
    std::vector<Entry> entries;
    for (const auto& s : report.sites) {
        Entry e{&s, suspect_of(s, suspects), std::nullopt};
        if (e.suspect && e.suspect->contains("growth_bytes_per_hour") &&
            (*e.suspect)["growth_bytes_per_hour"].is_number())
            e.rate = (*e.suspect)["growth_bytes_per_hour"].get<double>();
        entries.push_back(e);
    }
    // Growing first: by the suspects' rate, then by the growth since the base scan.
    auto rank = [&](const Entry& e) {
        if (e.rate && *e.rate > 0) return 0;
        if (with_growth && e.site->growth_bytes > 0) return 1;
        return 2;
    };
    std::stable_sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
        if (rank(a) != rank(b)) return rank(a) < rank(b);
        if (rank(a) == 0 && *a.rate != *b.rate) return *a.rate > *b.rate;
        if (rank(a) <= 1 && with_growth) return a.site->growth_bytes > b.site->growth_bytes;
        return false;
    });
    const bool have_suspects = suspects.is_array() && !suspects.empty();
    nlohmann::json out = nlohmann::json::array();
    for (const Entry& e : entries) {
        const heapscan::SiteRetention& s = *e.site;
        std::vector<std::string> growth;
        if (e.rate && *e.rate > 0) {
            growth.push_back(fmt::format("growing {} (suspect {})", util::format_rate(*e.rate),
                                         (*e.suspect)["function"].get<std::string>()));
        } else if (have_suspects) {
            growth.emplace_back("not among the growing suspects");
        }
        if (with_growth) {
            growth.push_back(fmt::format("{}{} since the base scan", s.growth_bytes >= 0 ? "+" : "",
                                         util::format_bytes(static_cast<double>(s.growth_bytes))));
        }
        std::string heading = s.site.label();
        for (size_t i = 0; i < growth.size(); ++i) heading += (i == 0 ? ": " : "; ") + growth[i];
        out.push_back({{"site", s.site.label()},
                       {"function", s.site.function},
                       {"blocks", s.count},
                       {"bytes", s.bytes},
                       {"growth_bytes", with_growth ? nlohmann::json(s.growth_bytes) : nullptr},
                       {"growth_bytes_per_hour", e.rate ? nlohmann::json(*e.rate) : nullptr},
                       {"suspect", e.suspect ? (*e.suspect)["function"] : nlohmann::json()},
                       {"heading", std::move(heading)},
                       {"lines", heapscan::site_lines(s, with_growth, max_paths)}});
    }
    return out;
}

bool is_paths_json(const nlohmann::json& rows) {
    if (!rows.is_array() || rows.empty() || !rows.front().is_object()) return false;
    const auto type = rows.front().find("type");
    return type != rows.front().end() && (*type == "holder" || *type == "site" || *type == "class");
}

heapscan::RetentionReport retention_from_paths_json(const nlohmann::json& rows,
                                                    const std::string& source) {
    heapscan::RetentionReport report;
    try {
        for (const auto& row : rows) {
            if (!row.is_object()) continue;
            const std::string type = row.value("type", "");
            if (type == "holder") {
                report.holders.push_back({row.at("root").get<std::string>(),
                                          row.at("count").get<uint64_t>(),
                                          row.at("bytes").get<uint64_t>()});
                continue;
            }
            if (type != "site") continue;
            heapscan::SiteRetention site;
            site.site = site_name_of(row.at("site"), source);
            site.count = row.value("count", uint64_t{0});
            site.bytes = row.value("bytes", uint64_t{0});
            site.growth_bytes = row.value("growth_bytes", int64_t{0});
            for (const auto& p : row.at("paths")) {
                heapscan::RetentionPath path;
                path.root = p.at("root").get<std::string>();
                path.count = p.at("count").get<uint64_t>();
                path.bytes = p.at("bytes").get<uint64_t>();
                for (const auto& h : p.at("hops")) {
                    path.hops.push_back(
                        {site_name_of(h.at("site"), source), h.at("offset").get<uint64_t>(),
                         h.value("offsets_vary", false), h.value("repeated", false)});
                }
                site.paths.push_back(std::move(path));
            }
            report.sites.push_back(std::move(site));
        }
    } catch (const nlohmann::json::exception& e) {
        throw util::Error("{}: not the output of `leakhunt paths --json` ({})", source, e.what());
    }
    report.sites_total = report.sites.size();
    return report;
}

heapscan::RetentionReport scan_retention(const heapscan::ScanFile& scan,
                                         const heapscan::ScanFile* base,
                                         std::vector<std::string>& warnings, size_t top_sites) {
    heapscan::ScanSymbols symbols(scan);
    heapscan::RetentionOptions options;
    options.top = top_sites;
    options.base = base;
    heapscan::RetentionReport report = heapscan::build_retention(scan, symbols, options);
    for (const auto& w : symbols.warnings()) warnings.push_back(w);
    return report;
}

}  // namespace leakhunt::report
