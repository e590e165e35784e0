// Parsing the scan file with a checked cursor.
#include "heapscan/scan_file.hpp"

#include <cstring>

#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::heapscan {
namespace {

class Cursor {
  public:
    Cursor(std::string_view data, const std::string& name, const char* what)
        : m_data(data), m_name(name), m_what(what) {}
    bool done() const { return m_pos >= m_data.size(); }
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (m_pos >= m_data.size()) fail("is truncated (ends inside a number)");
            const auto b = static_cast<uint8_t>(m_data[m_pos++]);
            v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return v;
        }
        fail("has a number longer than 64 bits");
    }
    std::string_view bytes(uint64_t n) {
        if (n > m_data.size() - m_pos) fail("is truncated (ends inside a field)");
        const std::string_view v = m_data.substr(m_pos, n);
        m_pos += n;
        return v;
    }
    std::string string() { return std::string(bytes(varint())); }
    uint8_t byte() { return static_cast<uint8_t>(bytes(1)[0]); }
    [[noreturn]] void fail(const char* why) const {
        throw util::Error(
            "{}: {} {} (at byte {}); the file is damaged: take a new scan with "
            "`leakhunt snapshot PID --scan`",
            m_name, m_what, why, m_pos);
    }

  private:
    std::string_view m_data;
    const std::string& m_name;
    const char* m_what;
    size_t m_pos = 0;
};

// Names of the record kinds, for messages.
const char* tag_name(format::ScanTag t) {
    switch (t) {
        case format::ScanTag::summary:
            return "summary record";
        case format::ScanTag::module:
            return "module record";
        case format::ScanTag::thread:
            return "thread record";
        case format::ScanTag::stack:
            return "stack record";
        case format::ScanTag::root:
            return "root record";
        case format::ScanTag::shape:
            return "shape record";
        case format::ScanTag::leak:
            return "leak record";
        case format::ScanTag::site:
            return "site record";
        case format::ScanTag::end:
            return "trailer";
    }
    return "record";
}

}  // namespace

ScanFile parse_scan_file(std::string_view data, const std::string& name) {
    if (data.size() < sizeof format::k_scan_magic ||
        std::memcmp(data.data(), format::k_scan_magic, sizeof format::k_scan_magic) != 0) {
        throw util::Error(
            "{}: not a leakhunt heap scan file (no LHSCAN header); scan files are "
            "heap.PID.NNNN.scan, written by `leakhunt snapshot PID --scan`",
            name);
    }
    Cursor top(data.substr(sizeof format::k_scan_magic), name, "file");
    const uint64_t version = top.varint();
    if (version != format::k_scan_version) {
        throw util::Error(
            "{}: scan file version {} is not supported (this leakhunt reads "
            "version {}); use the leakhunt that wrote it",
            name, version, format::k_scan_version);
    }
    ScanFile f;
    bool ended = false, have_summary = false;
    uint64_t records = 0;
    while (!top.done()) {
        const auto tag = static_cast<format::ScanTag>(top.byte());
        const std::string_view body = top.bytes(top.varint());
        Cursor c(body, name, tag_name(tag));
        switch (tag) {
            case format::ScanTag::summary: {
                auto& s = f.summary;
                s.pid = static_cast<int64_t>(c.varint());
                s.unix_time_ms = c.varint();
                s.pause_us = c.varint();
                s.mark_us = c.varint();
                s.threads = c.varint();
                s.blocks = c.varint();
                s.bytes = c.varint();
                s.reachable_blocks = c.varint();
                s.reachable_bytes = c.varint();
                s.root_bytes = c.varint();
                s.reason = c.string();
                s.scratch_bytes = c.varint();
                if (!c.done()) {
                    s.mapping_roots = c.varint();
                    s.mapping_root_bytes = c.varint();
                    s.loader_blocks = c.varint();
                    s.finished_threads = c.varint();
                }
                have_summary = true;
                break;
            }
            case format::ScanTag::module: {
                ScanModule m;
                m.index = c.varint();
                m.bias = c.varint();
                m.path = c.string();
                m.build_id = c.string();
                const uint64_t n = c.varint();
                if (n > 64) c.fail("has too many segments");
                for (uint64_t i = 0; i < n; ++i) {
                    ScanSegment g;
                    g.start = c.varint();
                    g.end = c.varint();
                    g.flags = c.varint();
                    m.segments.push_back(g);
                }
                if (m.index != f.modules.size()) c.fail("is out of order");
                f.modules.push_back(std::move(m));
                break;
            }
            case format::ScanTag::thread: {
                ScanThread t;
                t.index = c.varint();
                t.tid = static_cast<int64_t>(c.varint());
                t.name = c.string();
                if (t.index != f.threads.size()) c.fail("is out of order");
                f.threads.push_back(std::move(t));
                break;
            }
            case format::ScanTag::stack: {
                const uint64_t id = c.varint();
                const uint64_t depth = c.varint();
                if (depth > 1024) c.fail("is deeper than 1024 frames");
                std::vector<uint64_t> ips;
                for (uint64_t i = 0; i < depth; ++i) ips.push_back(c.varint());
                f.stacks[id] = std::move(ips);
                break;
            }
            case format::ScanTag::root: {
                ScanRoot r;
                r.id = c.varint();
                const uint64_t kind = c.varint();
                if (kind < 1 || kind > static_cast<uint64_t>(format::RootKind::loader)) {
                    c.fail("has an unknown root kind");
                }
                r.kind = static_cast<format::RootKind>(kind);
                r.owner = c.varint();
                r.address = c.varint();
                r.pc = c.varint();
                r.tls_module = c.varint();
                const uint64_t ncallers = c.varint();
                if (ncallers > 16) c.fail("has too many callers");
                for (uint64_t i = 0; i < ncallers; ++i) r.callers.push_back(c.varint());
                f.roots[r.id] = r;
                break;
            }
            case format::ScanTag::shape: {
                ScanShape s;
                s.id = c.varint();
                s.parent = c.varint();
                s.root = c.varint();
                s.stack = c.varint();
                s.offset = c.varint();
                s.flags = c.varint();
                s.count = c.varint();
                s.bytes = c.varint();
                s.retained_count = c.varint();
                s.retained_bytes = c.varint();
                if (s.id != f.shapes.size() + 1) c.fail("is out of order");
                if (s.parent >= s.id) c.fail("names a parent that comes after it");
                f.shapes.push_back(s);
                break;
            }
            case format::ScanTag::leak: {
                ScanLeak l;
                l.stack = c.varint();
                l.direct_count = c.varint();
                l.direct_bytes = c.varint();
                l.indirect_count = c.varint();
                l.indirect_bytes = c.varint();
                f.leaks.push_back(l);
                break;
            }
            case format::ScanTag::site: {
                ScanSite s;
                s.stack = c.varint();
                s.count = c.varint();
                s.bytes = c.varint();
                f.sites.push_back(s);
                break;
            }
            case format::ScanTag::end: {
                if (c.varint() != records) c.fail("counts a different number of records");
                const std::string_view magic = top.bytes(sizeof format::k_scan_end_magic);
                if (std::memcmp(magic.data(), format::k_scan_end_magic, magic.size()) != 0) {
                    c.fail("has no end marker");
                }
                ended = true;
                break;
            }
            default:
                break;  // a record of a later minor version: skipped
        }
        if (ended) break;
        ++records;
    }
    if (!ended) {
        throw util::Error(
            "{}: truncated (no trailer): the agent was stopped while writing it; "
            "take a new scan with `leakhunt snapshot PID --scan`",
            name);
    }
    if (!have_summary) throw util::Error("{}: has no summary record; the file is damaged", name);
    // References must resolve.
    for (const auto& s : f.shapes) {
        if (s.parent == 0 && !f.roots.contains(s.root)) {
            throw util::Error("{}: shape {} names root {}, which is not in the file", name, s.id,
                              s.root);
        }
    }
    for (const auto& [id, r] : f.roots) {
        if (r.kind == format::RootKind::mapping || r.kind == format::RootKind::loader) continue;
        const size_t limit =
            r.kind == format::RootKind::global ? f.modules.size() : f.threads.size();
        if (r.owner >= limit) {
            throw util::Error("{}: root {} names {} {}, which is not in the file", name, id,
                              r.kind == format::RootKind::global ? "module" : "thread", r.owner);
        }
        if (r.tls_module > f.modules.size()) {
            throw util::Error("{}: root {} names TLS module {}, which is not in the file", name, id,
                              r.tls_module - 1);
        }
    }
    return f;
}

ScanFile read_scan_file(const std::filesystem::path& path) {
    return parse_scan_file(util::read_file(path), path.string());
}

std::filesystem::path scan_path_for(const std::filesystem::path& snapshot) {
    std::error_code ec;
    if (!std::filesystem::exists(snapshot, ec)) {
        throw util::Error(
            "{} does not exist (give a heap.PID.NNNN.scan file, or the snapshot "
            "beside it)",
            snapshot.string());
    }
    std::string s = snapshot.string();
    if (s.ends_with(".scan")) return snapshot;
    for (const char* ext : {".pb.gz", ".pb"}) {
        if (s.ends_with(ext)) {
            std::filesystem::path scan = s.substr(0, s.size() - std::strlen(ext)) + ".scan";
            if (std::filesystem::exists(scan, ec)) return scan;
            throw util::Error(
                "{} has no heap scan beside it ({} is missing): take one with "
                "`leakhunt snapshot PID --scan` (the program must run under "
                "`leakhunt record --all`)",
                snapshot.string(), scan.string());
        }
    }
    // Anything else: let the parser say whether it is a scan file.
    return snapshot;
}

}  // namespace leakhunt::heapscan
