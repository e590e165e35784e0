// Grouping the scan's shapes into retention paths, and its leak records into a report.
#include "heapscan/retention.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace leakhunt::heapscan {

RetentionReport build_retention(const ScanFile& scan, ScanSymbols& symbols,
                                const RetentionOptions& options) {
    RetentionReport report;
    // Holders: the first hops, grouped by the root's name.
    std::map<std::string, Holder> holders;
    for (const auto& s : scan.shapes) {
        if (s.parent != 0) continue;
        const std::string name = symbols.root(scan.roots.at(s.root));
        Holder& h = holders[name];
        h.root = name;
        h.count += s.retained_count;
        h.bytes += s.retained_bytes;
    }
    for (auto& [name, h] : holders) report.holders.push_back(std::move(h));
    std::sort(report.holders.begin(), report.holders.end(), [](const Holder& a, const Holder& b) {
        return a.bytes != b.bytes ? a.bytes > b.bytes : a.root < b.root;
    });

    // Stack ids are interned once per process and never reused, so the same id names the same
    // site in an earlier scan of the same process.
    std::map<uint64_t, uint64_t> before;
    if (options.base != nullptr) {
        for (const auto& site : options.base->sites) before[site.stack] = site.bytes;
    }
    auto growth = [&](const ScanSite& s) {
        auto it = before.find(s.stack);
        return static_cast<int64_t>(s.bytes) -
               static_cast<int64_t>(it == before.end() ? 0 : it->second);
    };
    std::vector<ScanSite> sites = scan.sites;
    std::sort(sites.begin(), sites.end(), [&](const ScanSite& a, const ScanSite& b) {
        if (options.base != nullptr && growth(a) != growth(b)) return growth(a) > growth(b);
        return a.bytes != b.bytes ? a.bytes > b.bytes : a.stack < b.stack;
    });
    report.sites_total = sites.size();
    // Shapes ending at each stack.
    std::map<uint64_t, std::vector<const ScanShape*>> by_stack;
    for (const auto& s : scan.shapes) {
        if (s.count > 0) by_stack[s.stack].push_back(&s);
    }
    for (const auto& site : sites) {
        if (options.top != 0 && report.sites.size() == options.top) break;
        if (options.site) {
            const auto names = symbols.stack_functions(site.stack);
            const bool match = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
                return std::regex_search(n, *options.site);
            });
            if (!match) continue;
        }
        SiteRetention out;
        out.stack = site.stack;
        out.site = symbols.site(site.stack);
        out.count = site.count;
        out.bytes = site.bytes;
        out.growth_bytes = growth(site);
        std::map<std::string, RetentionPath> paths;
        for (const ScanShape* end : by_stack[site.stack]) {
            std::vector<const ScanShape*> chain;
            for (const ScanShape* s = end;; s = &scan.shapes.at(s->parent - 1)) {
                chain.push_back(s);
                if (s->parent == 0) break;
            }
            std::reverse(chain.begin(), chain.end());
            RetentionPath p;
            p.root = symbols.root(scan.roots.at(chain.front()->root));
            std::string key = p.root;
            for (const ScanShape* s : chain) {
                PathHop hop;
                hop.site = symbols.site(s->stack);
                hop.offset = s->offset;
                hop.offsets_vary = (s->flags & format::k_shape_offsets_vary) != 0;
                hop.repeated = (s->flags & format::k_shape_repeated) != 0;
                key +=
                    fmt::format("|{}|{}", hop.site.label(), hop.offsets_vary ? ~0ull : hop.offset);
                p.hops.push_back(std::move(hop));
            }
            // Root slots of one global at different offsets are one path.
            p.count = end->count;
            p.bytes = end->bytes;
            auto [it, fresh] = paths.try_emplace(key, std::move(p));
            if (!fresh) {
                it->second.count += end->count;
                it->second.bytes += end->bytes;
            }
        }
        for (auto& [key, p] : paths) out.paths.push_back(std::move(p));
        std::sort(out.paths.begin(), out.paths.end(),
                  [](const RetentionPath& a, const RetentionPath& b) {
                      return a.bytes != b.bytes ? a.bytes > b.bytes : a.root < b.root;
                  });
        report.sites.push_back(std::move(out));
    }
    return report;
}

LeakReport build_leaks(const ScanFile& scan) {
    LeakReport r;
    for (const auto& l : scan.leaks) {
        if (l.direct_count > 0)
            r.entries.push_back({true, l.stack, l.direct_count, l.direct_bytes});
        if (l.indirect_count > 0) {
            r.entries.push_back({false, l.stack, l.indirect_count, l.indirect_bytes});
        }
        r.direct_count += l.direct_count;
        r.direct_bytes += l.direct_bytes;
        r.indirect_count += l.indirect_count;
        r.indirect_bytes += l.indirect_bytes;
    }
    std::sort(r.entries.begin(), r.entries.end(), [](const LeakEntry& a, const LeakEntry& b) {
        if (a.direct != b.direct) return a.direct;
        return a.bytes != b.bytes ? a.bytes > b.bytes : a.stack < b.stack;
    });
    return r;
}

}  // namespace leakhunt::heapscan
