// What a scan says, put in the two forms users ask for. Retention: for each allocation site
// (the biggest, or those matching a pattern), the paths from roots to its reachable blocks,
// grouped by shape (the root in words and the sequence of allocation sites in between) and
// counted, plus the holders: bytes reached first through each root, biggest first. Leaks: the
// unreachable blocks per allocation stack, direct or indirect, as LeakSanitizer reports them.
// Plain data and pure functions of the scan (symbols come through ScanSymbols).
#pragma once

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "heapscan/scan_file.hpp"
#include "heapscan/scan_symbols.hpp"

namespace leakhunt::heapscan {

struct PathHop {
    SiteName site;              // where the block at this hop was allocated
    uint64_t offset = 0;        // of the pointer to it inside the previous block (or root slot)
    bool offsets_vary = false;  // other blocks of this hop are held at other offsets
    bool repeated = false;      // a chain of blocks of this same site (a list) continues here
};

struct RetentionPath {
    std::string root;
    std::vector<PathHop> hops;  // from the root to the site's blocks (the last hop)
    uint64_t count = 0, bytes = 0;
};

struct Holder {
    std::string root;
    uint64_t count = 0, bytes = 0;  // blocks reached first through this root
};

struct SiteRetention {
    uint64_t stack = 0;
    SiteName site;
    uint64_t count = 0, bytes = 0;     // reachable blocks allocated at this site
    int64_t growth_bytes = 0;          // bytes - bytes in the base scan (with a base)
    std::vector<RetentionPath> paths;  // biggest first
};

struct RetentionReport {
    std::vector<Holder> holders;       // biggest first
    std::vector<SiteRetention> sites;  // biggest first
    size_t sites_total = 0;            // sites with reachable blocks (before --site and --top)
};

struct RetentionOptions {
    std::optional<std::regex> site;  // keep sites with a frame whose function matches
    size_t top = 5;                  // sites shown; 0 = all
    // An earlier scan of the same process: sites are then ranked by how much they grew since.
    const ScanFile* base = nullptr;
};

RetentionReport build_retention(const ScanFile& scan, ScanSymbols& symbols,
                                const RetentionOptions& options);

struct LeakEntry {
    bool direct = true;
    uint64_t stack = 0;
    uint64_t count = 0, bytes = 0;
};

struct LeakReport {
    std::vector<LeakEntry> entries;  // direct first, then indirect; each by bytes, biggest first
    uint64_t direct_count = 0, direct_bytes = 0;
    uint64_t indirect_count = 0, indirect_bytes = 0;
};

LeakReport build_leaks(const ScanFile& scan);

}  // namespace leakhunt::heapscan
