#include "recorddir/record_dir.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::recorddir {

namespace fs = std::filesystem;

namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

// A non-negative decimal integer that fills `text`.
template <typename T>
std::optional<T> parse_whole(std::string_view text) {
    if (text.empty() || text.size() > 18) return std::nullopt;
    T v{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    if constexpr (std::is_signed_v<T>) {
        if (v < 0) return std::nullopt;
    }
    return v;
}

std::vector<std::string_view> split_commas(std::string_view line) {
    std::vector<std::string_view> cells;
    size_t start = 0;
    while (true) {
        const size_t comma = line.find(',', start);
        cells.push_back(line.substr(start, comma - start));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return cells;
}

std::string number_cell(double v) {
    if (std::isnan(v)) return "";
    if (v == std::floor(v) && std::fabs(v) < 9e15) return fmt::format("{:.0f}", v);
    return fmt::format("{}", v);
}

}  // namespace

std::string_view extension(Kind kind) {
    switch (kind) {
        case Kind::profile:
            return "pb.gz";
        case Kind::scan:
            return "scan";
        case Kind::heapsnapshot:
            return "heapsnapshot";
        case Kind::hprof:
            return "hprof";
        case Kind::pygraph:
            return "pygraph";
        case Kind::goroutine:
            return "pb.gz";
    }
    return "";
}

bool is_heap_graph(Kind kind) {
    return kind == Kind::heapsnapshot || kind == Kind::hprof || kind == Kind::pygraph;
}

std::string_view prefix(Kind kind) {
    return kind == Kind::goroutine ? "goroutine" : "heap";
}

std::string snapshot_name(long id, unsigned seq, Kind kind) {
    return fmt::format("{}.{}.{:04}.{}", prefix(kind), id, seq, extension(kind));
}

std::string timeline_name(long id) {
    return fmt::format("timeline.{}.csv", id);
}

std::optional<SnapshotName> parse_snapshot_name(std::string_view name) {
    const bool goroutine = name.starts_with("goroutine.");
    if (!goroutine && !name.starts_with("heap.")) return std::nullopt;
    name.remove_prefix(goroutine ? 10 : 5);
    const size_t dot1 = name.find('.');
    if (dot1 == std::string_view::npos) return std::nullopt;
    const size_t dot2 = name.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos) return std::nullopt;
    const auto id = parse_whole<long>(name.substr(0, dot1));
    const auto seq = parse_whole<unsigned>(name.substr(dot1 + 1, dot2 - dot1 - 1));
    if (!id || !seq || dot2 - dot1 - 1 < 4) return std::nullopt;
    const std::string_view ext = name.substr(dot2 + 1);
    for (Kind k : k_kinds) {
        if ((k == Kind::goroutine) == goroutine && ext == extension(k)) {
            return SnapshotName{*id, *seq, k};
        }
    }
    return std::nullopt;
}

std::optional<long> parse_timeline_name(std::string_view name) {
    if (!name.starts_with("timeline.") || !name.ends_with(".csv")) return std::nullopt;
    return parse_whole<long>(name.substr(9, name.size() - 13));
}

std::optional<std::string> companion_name(std::string_view name, Kind kind) {
    const auto s = parse_snapshot_name(name);
    if (!s) return std::nullopt;
    // The same digits as written (a sequence may have been written with more than four).
    name.remove_prefix(prefix(s->kind).size());
    name.remove_suffix(extension(s->kind).size());
    return std::string(prefix(kind)) + std::string(name) + std::string(extension(kind));
}

std::vector<long> Listing::ids() const {
    std::vector<long> out;
    for (const auto& [id, _] : timelines) out.push_back(id);
    for (const auto& [id, _] : snapshots) {
        if (!timelines.contains(id)) out.push_back(id);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<fs::path> Listing::files(long id, Kind kind) const {
    std::vector<fs::path> out;
    const auto it = snapshots.find(id);
    if (it == snapshots.end()) return out;
    const auto kt = it->second.find(kind);
    if (kt == it->second.end()) return out;
    for (const auto& [seq, path] : kt->second) out.push_back(path);
    return out;
}

size_t Listing::count(long id, Kind kind) const {
    const auto it = snapshots.find(id);
    if (it == snapshots.end()) return 0;
    const auto kt = it->second.find(kind);
    return kt == it->second.end() ? 0 : kt->second.size();
}

Listing list(const fs::path& dir) {
    Listing out;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) throw util::Error("cannot list {}: {}", dir.string(), ec.message());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (const auto s = parse_snapshot_name(name)) {
            out.snapshots[s->id][s->kind][s->seq] = it->path();
        } else if (const auto id = parse_timeline_name(name)) {
            out.timelines[*id] = it->path();
        }
    }
    if (ec) throw util::Error("cannot list {}: {}", dir.string(), ec.message());
    return out;
}

std::optional<long> main_id(const Listing& listing) {
    std::optional<long> best;
    size_t most = 0;
    for (long id : listing.ids()) {
        const size_t n = listing.count(id, Kind::profile);
        if (!best || n > most) {
            best = id;
            most = n;
        }
    }
    return best;
}

std::vector<std::string> standard_timeline_columns() {
    return {"timestamp",   "rss_bytes", "heap_inuse_bytes", "heap_inuse_objects",
            "agent_bytes", "reason",    "snapshot"};
}

std::vector<TimelineRow> parse_timeline(std::string_view text, const std::string& where) {
    std::vector<TimelineRow> rows;
    size_t pos = 0;
    size_t line_no = 0;
    std::vector<std::string> header;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        const auto cells = split_commas(line);
        if (header.empty()) {
            for (auto c : cells) header.emplace_back(c);
            if (std::find(header.begin(), header.end(), "timestamp") == header.end()) {
                throw util::Error(
                    "{}:{}: the header has no timestamp column (is this a "
                    "timeline.ID.csv that leakhunt record wrote?)",
                    where, line_no);
            }
            continue;
        }
        TimelineRow r;
        r.rss_bytes = r.heap_inuse_bytes = r.heap_inuse_objects = r.agent_bytes = k_nan;
        for (size_t i = 0; i < header.size() && i < cells.size(); ++i) {
            const std::string& col = header[i];
            const std::string_view cell = cells[i];
            if (col == "reason") {
                r.reason = std::string(cell);
                continue;
            }
            if (col == "snapshot") {
                r.snapshot = std::string(cell);
                continue;
            }
            double v = k_nan;
            if (!cell.empty()) {
                const auto [p, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
                if (ec != std::errc{} || p != cell.data() + cell.size()) {
                    throw util::Error("{}:{}: column {}: \"{}\" is not a number", where, line_no,
                                      col, std::string(cell.substr(0, 40)));
                }
            }
            if (col == "timestamp")
                r.unix_time = v;
            else if (col == "rss_bytes")
                r.rss_bytes = v;
            else if (col == "heap_inuse_bytes")
                r.heap_inuse_bytes = v;
            else if (col == "heap_inuse_objects")
                r.heap_inuse_objects = v;
            else if (col == "agent_bytes")
                r.agent_bytes = v;
            else
                r.counters[col] = v;
        }
        if (cells.size() < header.size()) {
            // A row the writer was cut off in: the agent appends in place, so a crash can leave
            // one. Its snapshot may be missing too; it is left out.
            continue;
        }
        rows.push_back(std::move(r));
    }
    return rows;
}

std::vector<TimelineRow> read_timeline(const fs::path& dir, long id) {
    const fs::path path = dir / timeline_name(id);
    const auto text = util::try_read_file(path);
    if (!text) return {};
    return parse_timeline(*text, path.string());
}

TimelineWriter::TimelineWriter(fs::path dir, long id, std::vector<std::string> counter_columns)
    : m_path(dir / timeline_name(id)), m_counters(std::move(counter_columns)) {
    const auto standard = standard_timeline_columns();
    for (size_t i = 0; i < standard.size(); ++i) m_text += (i ? "," : "") + standard[i];
    for (const auto& c : m_counters) m_text += "," + c;
    m_text += "\n";
}

void TimelineWriter::append(const TimelineRow& r) {
    m_text += fmt::format("{:.3f},{},{},{},{},{},{}", r.unix_time, number_cell(r.rss_bytes),
                          number_cell(r.heap_inuse_bytes), number_cell(r.heap_inuse_objects),
                          number_cell(r.agent_bytes), r.reason, r.snapshot);
    for (const auto& c : m_counters) {
        const auto it = r.counters.find(c);
        m_text += "," + number_cell(it == r.counters.end() ? k_nan : it->second);
    }
    m_text += "\n";
    util::write_file_atomic(m_path, m_text);
    ++m_rows;
}

SnapshotWriter::SnapshotWriter(fs::path dir, long id) : m_dir(std::move(dir)), m_id(id) {
    const Listing l = list(m_dir);
    if (const auto it = l.snapshots.find(id); it != l.snapshots.end()) {
        for (const auto& [kind, by_seq] : it->second) {
            if (!by_seq.empty()) m_next[kind] = by_seq.rbegin()->first + 1;
        }
    }
}

std::string SnapshotWriter::reserve(Kind kind) {
    return snapshot_name(m_id, m_next[kind]++, kind);
}

std::string SnapshotWriter::write(Kind kind, std::string_view bytes) {
    const std::string name = snapshot_name(m_id, m_next[kind], kind);
    util::write_file_atomic(m_dir / name, bytes);
    ++m_next[kind];
    return name;
}

std::string SnapshotWriter::write_companion(std::string_view name, Kind kind,
                                            std::string_view bytes) {
    const auto s = parse_snapshot_name(name);
    const auto companion = companion_name(name, kind);
    if (!s || s->id != m_id || !companion) {
        throw util::Error("{} is not a snapshot of id {} in {}", name, m_id, m_dir.string());
    }
    util::write_file_atomic(m_dir / *companion, bytes);
    m_next[kind] = std::max(m_next[kind], s->seq + 1);
    return *companion;
}

void write_manifest(const fs::path& dir, const Manifest& m) {
    nlohmann::json j = {
        {"version", 1},
        {"runtime", m.runtime},
        {"capture", m.capture},
        {"command", m.command},
        {"pid", m.pid},
        {"start_unix", m.start_unix},
        {"sampling", m.sampling},
        {"exit_snapshot",
         m.exit_snapshot.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.exit_snapshot)},
        {"extra", m.extra}};
    util::write_file_atomic(dir / k_manifest_name, j.dump(2) + "\n");
}

std::optional<Manifest> read_manifest(const fs::path& dir) {
    const fs::path path = dir / k_manifest_name;
    const auto text = util::try_read_file(path);
    if (!text) return std::nullopt;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(*text);
    } catch (const nlohmann::json::exception& e) {
        throw util::Error("{}: not JSON ({}); delete it or record again", path.string(), e.what());
    }
    if (!j.is_object()) throw util::Error("{}: expected a JSON object", path.string());
    Manifest m;
    const auto field = [&](const char* key, auto& out) {
        if (!j.contains(key) || j[key].is_null()) return;
        try {
            j[key].get_to(out);
        } catch (const nlohmann::json::exception&) {
            throw util::Error("{}: field \"{}\" has the wrong type", path.string(), key);
        }
    };
    field("runtime", m.runtime);
    field("capture", m.capture);
    field("command", m.command);
    field("pid", m.pid);
    field("start_unix", m.start_unix);
    field("sampling", m.sampling);
    field("exit_snapshot", m.exit_snapshot);
    field("extra", m.extra);
    if (!m.exit_snapshot.empty() && !parse_snapshot_name(m.exit_snapshot)) {
        throw util::Error("{}: field \"exit_snapshot\": \"{}\" is not a snapshot file name",
                          path.string(), m.exit_snapshot.substr(0, 80));
    }
    return m;
}

Selection select_profiles(const fs::path& dir, const Listing& listing, long id, size_t min_needed) {
    Selection s;
    s.files = listing.files(id, Kind::profile);
    std::string exit_name;
    if (const auto m = read_manifest(dir); m && m->pid == id && !m->exit_snapshot.empty()) {
        exit_name = m->exit_snapshot;
    } else {
        for (const auto& row : read_timeline(dir, id)) {
            if (row.reason == "exit" && !row.snapshot.empty()) {
                exit_name = fs::path(row.snapshot).filename().string();
            }
        }
    }
    if (exit_name.empty()) return s;
    const auto it = std::find_if(s.files.begin(), s.files.end(),
                                 [&](const fs::path& p) { return p.filename() == exit_name; });
    if (it == s.files.end()) return s;
    s.exit_snapshot = *it;
    if (s.files.size() - 1 >= min_needed) {
        s.left_out = *it;
        s.files.erase(it);
    }
    return s;
}

std::optional<fs::path> native_part(const fs::path& dir) {
    const fs::path native = dir / k_native_dir;
    std::error_code ec;
    if (!fs::is_regular_file(native / k_manifest_name, ec)) return std::nullopt;
    return native;
}

namespace {

size_t heap_graph_count(const Listing& listing, long id) {
    size_t n = 0;
    for (const Kind kind : k_kinds) {
        if (is_heap_graph(kind)) n += listing.count(id, kind);
    }
    return n;
}

}  // namespace

std::vector<std::filesystem::path> heap_graph_files(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return {};
    const Listing listing = list(dir);
    std::optional<long> id = main_id(listing);
    if (!id || heap_graph_count(listing, *id) == 0) {
        size_t most = 0;
        for (long i : listing.ids()) {
            if (heap_graph_count(listing, i) > most) {
                most = heap_graph_count(listing, i);
                id = i;
            }
        }
        if (most == 0) return {};
    }
    // Every heap graph kind, in sequence order (one process's graphs are of one kind).
    std::map<unsigned, std::filesystem::path> by_seq;
    for (const Kind kind : k_kinds) {
        if (!is_heap_graph(kind)) continue;
        for (const auto& p : listing.files(*id, kind)) {
            if (auto n = parse_snapshot_name(p.filename().string())) by_seq[n->seq] = p;
        }
    }
    std::vector<std::filesystem::path> out;
    for (auto& [seq, p] : by_seq) out.push_back(p);
    return out;
}

}  // namespace leakhunt::recorddir
