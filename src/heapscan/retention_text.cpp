// Retention paths in words (see retention_text.hpp).
#include "heapscan/retention_text.hpp"

#include <fmt/format.h>

#include "util/units.hpp"

namespace leakhunt::heapscan {
namespace {

std::string bytes_text(uint64_t b) {
    return util::format_bytes(static_cast<double>(b));
}

std::string offset_text(const PathHop& h) {
    return h.offsets_vary ? fmt::format("+{:#x} (and other offsets)", h.offset)
                          : fmt::format("+{:#x}", h.offset);
}

}  // namespace

std::string blocks_text(uint64_t n) {
    return util::format_count(n) + (n == 1 ? " block" : " blocks");
}

std::string site_heading(const SiteRetention& site, bool with_growth) {
    const std::string grew =
        with_growth ? fmt::format(", {}{} since the base scan", site.growth_bytes >= 0 ? "+" : "",
                                  util::format_bytes(static_cast<double>(site.growth_bytes)))
                    : "";
    return fmt::format("{} ({}{}) allocated in {} are held by:", blocks_text(site.count),
                       bytes_text(site.bytes), grew, site.site.label());
}

std::vector<std::string> path_lines(const RetentionPath& path) {
    std::vector<std::string> lines;
    lines.push_back(
        fmt::format("  {} ({}): {}", blocks_text(path.count), bytes_text(path.bytes), path.root));
    for (size_t k = 0; k < path.hops.size(); ++k) {
        const PathHop& h = path.hops[k];
        // The first hop's pointer is the root's own slot, named on the line above.
        const std::string at = k == 0 ? "" : "at " + offset_text(h) + ": ";
        lines.push_back(fmt::format("      -> {}{}{}", at, h.site.label(),
                                    h.repeated ? " [a chain of these]" : ""));
    }
    return lines;
}

std::vector<std::string> site_lines(const SiteRetention& site, bool with_growth, size_t max_paths) {
    std::vector<std::string> lines{site_heading(site, with_growth)};
    uint64_t rest_count = 0, rest_bytes = 0;
    for (size_t i = 0; i < site.paths.size(); ++i) {
        const RetentionPath& p = site.paths[i];
        if (max_paths != 0 && i >= max_paths) {
            rest_count += p.count;
            rest_bytes += p.bytes;
            continue;
        }
        for (auto& line : path_lines(p)) lines.push_back(std::move(line));
    }
    if (rest_count > 0) {
        lines.push_back(fmt::format("  ... and {} more paths: {} ({})",
                                    site.paths.size() - max_paths, blocks_text(rest_count),
                                    bytes_text(rest_bytes)));
    }
    return lines;
}

}  // namespace leakhunt::heapscan
