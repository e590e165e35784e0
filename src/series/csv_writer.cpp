// The series CSV writers: format_csv/write_csv for whole series (atomic, via util::AtomicFile)
// and CsvAppender for append-only watch logs (row-atomic, see csv.hpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "series/csv.hpp"
#include "series/timestamp.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::series {
namespace {

constexpr std::string_view k_contract_order[] = {k_rss, k_pss,     k_anon,         k_heap_inuse,
                                                 k_fds, k_threads, k_cgroup_usage, k_cgroup_limit};

// Value columns of all series in the written order: contract order, then alphabetical.
std::vector<std::string> column_order(const std::vector<Series>& series) {
    std::set<std::string, std::less<>> all;
    for (const auto& s : series) {
        for (const auto& [name, values] : s.columns) all.insert(name);
    }
    std::vector<std::string> out;
    out.emplace_back(k_rss);  // required by the reader, even if every value is missing
    for (auto k : k_contract_order) {
        if (k != k_rss && all.count(k) > 0) out.emplace_back(k);
    }
    for (const auto& name : all) {
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
    return out;
}

// A text cell, quoted if it needs to be (RFC 4180); line breaks become spaces because the
// reader takes one row per line.
void append_text(std::string& out, std::string_view s) {
    const bool needs_quotes =
        s.find_first_of(",\"\r\n") != std::string_view::npos ||
        (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '#' ||
                        s.back() == ' ' || s.back() == '\t'));
    if (!needs_quotes) {
        out += s;
        return;
    }
    out += '"';
    for (char c : s) {
        if (c == '"') {
            out += "\"\"";
        } else if (c == '\n' || c == '\r') {
            out += ' ';
        } else {
            out += c;
        }
    }
    out += '"';
}

std::string target_of(const Series& s) {
    const auto it = s.labels.find("target");
    return it != s.labels.end() ? it->second : s.name;
}

}  // namespace

void append_csv_number(std::string& out, double v) {
    if (!std::isfinite(v)) return;
    if (v == std::trunc(v) && std::fabs(v) < 9.0e15) {
        fmt::format_to(std::back_inserter(out), "{}", static_cast<int64_t>(v));
    } else {
        fmt::format_to(std::back_inserter(out), "{}", v);
    }
}

std::string format_csv(const std::vector<Series>& series) {
    const bool absolute =
        !series.empty() && std::all_of(series.begin(), series.end(),
                                       [](const Series& s) { return s.epoch_offset.has_value(); });
    const bool with_target = series.size() > 1;
    const auto columns = column_order(series);

    std::string out;
    out += absolute ? "timestamp" : "t_seconds";
    if (with_target) out += ",target";
    for (const auto& c : columns) {
        out += ',';
        out += c;
    }
    out += '\n';
    for (const auto& s : series) {
        std::vector<const std::vector<double>*> cols;
        for (const auto& c : columns) cols.push_back(s.column(c));
        const std::string target = with_target ? target_of(s) : std::string();
        for (size_t i = 0; i < s.t.size(); ++i) {
            if (absolute) {
                out += format_rfc3339(*s.epoch_offset + s.t[i]);
            } else {
                append_csv_number(out, s.t[i]);
            }
            if (with_target) {
                out += ',';
                append_text(out, target);
            }
            for (const auto* col : cols) {
                out += ',';
                if (col != nullptr && i < col->size()) append_csv_number(out, (*col)[i]);
            }
            out += '\n';
        }
    }
    return out;
}

void write_csv(const std::filesystem::path& path, const std::vector<Series>& series) {
    util::AtomicFile file(path);
    file.write(format_csv(series));
    file.commit();
}

CsvAppender::CsvAppender(std::filesystem::path path, std::vector<std::string> columns)
    : m_path(std::move(path)), m_columns(std::move(columns)) {
    if (std::find(m_columns.begin(), m_columns.end(), k_rss) == m_columns.end()) {
        throw util::Error(
            "cannot write {}: the columns must include rss_bytes (the one "
            "required column of the series CSV)",
            m_path.string());
    }
    m_header = "timestamp,target,pid";
    for (const auto& c : m_columns) {
        m_header += ',';
        m_header += c;
    }
    m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (m_fd < 0) {
        throw util::Error(
            "cannot open {} for appending: {} (check that the directory exists "
            "and is writable)",
            m_path.string(), util::errno_text(errno));
    }
    struct stat st {};
    if (::fstat(m_fd, &st) != 0) {
        const int e = errno;
        ::close(m_fd);
        throw util::Error("cannot open {}: {}", m_path.string(), util::errno_text(e));
    }
    try {
        if (st.st_size == 0) {
            write_all(m_header + "\n");
            return;
        }
        // Check the header: the first line must be ours.
        std::string head(std::min<size_t>(static_cast<size_t>(st.st_size), 65536), '\0');
        const ssize_t n = ::pread(m_fd, head.data(), head.size(), 0);
        head.resize(n > 0 ? static_cast<size_t>(n) : 0);
        std::string_view first(head);
        first = first.substr(0, first.find('\n'));
        if (!first.empty() && first.back() == '\r') first.remove_suffix(1);
        if (first != m_header) {
            throw util::Error(
                "{}:1: the existing header \"{}\" differs from the one this watch "
                "writes, \"{}\" (choose a new file or move the old one away)",
                m_path.string(), first.substr(0, 200), m_header);
        }
        // Cut a torn last line left by a crash in the middle of a write.
        off_t end = st.st_size;
        char last = '\n';
        if (::pread(m_fd, &last, 1, end - 1) == 1 && last != '\n') {
            char buf[4096];
            while (end > 0) {
                const off_t start = std::max<off_t>(0, end - static_cast<off_t>(sizeof buf));
                const auto len = static_cast<size_t>(end - start);
                if (::pread(m_fd, buf, len, start) != static_cast<ssize_t>(len)) break;
                const auto* nl = static_cast<const char*>(memrchr(buf, '\n', len));
                if (nl != nullptr) {
                    end = start + (nl - buf) + 1;
                    break;
                }
                end = start;
            }
            if (end > 0 && ::ftruncate(m_fd, end) != 0) {
                throw util::Error(
                    "cannot repair {}: {} (its last line is incomplete; remove it "
                    "by hand)",
                    m_path.string(), util::errno_text(errno));
            }
        }
    } catch (...) {
        ::close(m_fd);
        m_fd = -1;
        throw;
    }
}

CsvAppender::~CsvAppender() {
    if (m_fd >= 0) ::close(m_fd);
}

void CsvAppender::write_all(std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(m_fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw util::Error("cannot append to {}: {} (check free disk space)", m_path.string(),
                              util::errno_text(errno));
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
}

void CsvAppender::append(const std::vector<Row>& rows) {
    std::string out;
    out.reserve(rows.size() * (40 + 16 * m_columns.size()));
    for (const auto& r : rows) {
        out += format_rfc3339(r.unix_time);
        out += ',';
        append_text(out, r.target);
        out += ',';
        if (r.pid != 0) fmt::format_to(std::back_inserter(out), "{}", r.pid);
        for (size_t i = 0; i < m_columns.size(); ++i) {
            out += ',';
            if (i < r.values.size()) append_csv_number(out, r.values[i]);
        }
        out += '\n';
    }
    write_all(out);
}

void CsvAppender::sync() {
    if (::fdatasync(m_fd) != 0 && errno != EINVAL) {
        throw util::Error("cannot sync {}: {}", m_path.string(), util::errno_text(errno));
    }
}

}  // namespace leakhunt::series
