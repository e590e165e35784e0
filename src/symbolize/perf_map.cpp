// PerfMap: the perf map's parser, loader and lookup (see perf_map.hpp).
#include "symbolize/perf_map.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <map>

#include <fmt/format.h>

#include "util/error.hpp"

namespace leakhunt::symbolize {
namespace {

constexpr uint64_t k_max_file_bytes = 256ull << 20;
constexpr size_t k_max_name = 4096;

std::optional<uint64_t> hex(std::string_view s) {
    if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
    uint64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v, 16);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<int64_t> decimal(std::string_view s) {
    int64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || v < 0)
        return std::nullopt;
    return v;
}

}  // namespace

Frame perf_map_frame(std::string_view name) {
    Frame f;
    f.system_name = std::string(name);
    f.module = "[jit]";
    std::string_view rest = name;
    // "JS:", "LazyCompile:", "Function:", "Builtin:", "Eval:": the kind of code.
    if (const size_t colon = rest.find(':');
        colon != std::string_view::npos && colon < 32 &&
        rest.substr(0, colon).find(' ') == std::string_view::npos) {
        rest.remove_prefix(colon + 1);
    }
    // V8's tier: ~ interpreted, ^ baseline, + Maglev, * optimized.
    if (!rest.empty() && (rest.front() == '~' || rest.front() == '^' || rest.front() == '*' ||
                          rest.front() == '+')) {
        rest.remove_prefix(1);
    }
    // "name file:line:col" (the file may be absent; the name may be empty: an anonymous function).
    std::string_view function = rest;
    if (const size_t space = rest.rfind(' '); space != std::string_view::npos) {
        std::string_view where = rest.substr(space + 1);
        std::optional<int64_t> line;
        // file:line or file:line:col (a file: URL has a colon too, so count from the end).
        for (int parts = 0; parts < 2; ++parts) {
            const size_t c = where.rfind(':');
            if (c == std::string_view::npos) break;
            const auto n = decimal(where.substr(c + 1));
            if (!n) break;
            line = n;
            where = where.substr(0, c);
        }
        if (line && !where.empty()) {
            f.file = std::string(where);
            f.line = *line;
            function = rest.substr(0, space);
        }
    }
    f.function = function.empty() ? "(anonymous)" : std::string(function);
    return f;
}

PerfMap PerfMap::parse(std::string_view text) {
    PerfMap m;
    // Start -> (end, name index), kept without overlaps as lines come in: a later line cuts
    // away what it covers of earlier ones.
    std::map<uint64_t, std::pair<uint64_t, uint32_t>> ranges;
    size_t at = 0;
    while (at < text.size()) {
        size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(at, end - at);
        at = end + 1;
        const size_t s1 = line.find(' ');
        const size_t s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
        const auto start = s1 == std::string_view::npos ? std::nullopt : hex(line.substr(0, s1));
        const auto size =
            s2 == std::string_view::npos ? std::nullopt : hex(line.substr(s1 + 1, s2 - s1 - 1));
        if (!start || !size || *size == 0 || *start > UINT64_MAX - *size ||
            line.size() - s2 - 1 > k_max_name || m.m_names.size() >= UINT32_MAX) {
            if (!line.empty()) ++m.m_skipped;
            continue;
        }
        const uint64_t lo = *start;
        const uint64_t hi = *start + *size;
        const auto name = static_cast<uint32_t>(m.m_names.size());
        m.m_names.emplace_back(line.substr(s2 + 1));
        // Cut the ranges that overlap [lo, hi).
        auto it = ranges.lower_bound(lo);
        if (it != ranges.begin()) {
            auto prev = std::prev(it);
            if (prev->second.first > lo) {
                const auto [prev_end, prev_name] = prev->second;
                prev->second.first = lo;
                if (prev_end > hi) ranges[hi] = {prev_end, prev_name};
            }
        }
        it = ranges.lower_bound(lo);
        while (it != ranges.end() && it->first < hi) {
            const auto [e, n] = it->second;
            it = ranges.erase(it);
            if (e > hi) {
                ranges[hi] = {e, n};
                break;
            }
        }
        ranges[lo] = {hi, name};
    }
    m.m_start.reserve(ranges.size());
    for (const auto& [lo, v] : ranges) {
        m.m_start.push_back(lo);
        m.m_end.push_back(v.first);
        m.m_name.push_back(v.second);
    }
    return m;
}

std::optional<PerfMap> PerfMap::load(pid_t pid, uid_t owner, std::string* why,
                                     const std::string& path) {
    const std::string file = path.empty() ? fmt::format("/tmp/perf-{}.map", pid) : path;
    const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno != ENOENT && why != nullptr)
            *why = fmt::format("cannot read {}: {}", file, util::errno_text(errno));
        return std::nullopt;
    }
    struct stat st {};
    std::string problem;
    if (::fstat(fd, &st) != 0) {
        problem = util::errno_text(errno);
    } else if (!S_ISREG(st.st_mode)) {
        problem = "not a regular file";
    } else if (st.st_uid != owner && st.st_uid != 0) {
        problem = fmt::format(
            "owned by uid {}, not by the process's uid {} (another user may have "
            "planted it in /tmp)",
            st.st_uid, owner);
    } else if (static_cast<uint64_t>(st.st_size) > k_max_file_bytes) {
        problem = fmt::format("larger than {} MiB", k_max_file_bytes >> 20);
    }
    std::string text;
    if (problem.empty()) {
        text.resize(static_cast<size_t>(st.st_size));
        size_t got = 0;
        while (got < text.size()) {
            const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            got += static_cast<size_t>(n);
        }
        text.resize(got);
    }
    ::close(fd);
    if (!problem.empty()) {
        if (why != nullptr) *why = fmt::format("{} is not used for JIT frames: {}", file, problem);
        return std::nullopt;
    }
    return parse(text);
}

std::optional<Frame> PerfMap::frame_at(uint64_t address) const {
    const auto it = std::upper_bound(m_start.begin(), m_start.end(), address);
    if (it == m_start.begin()) return std::nullopt;
    const size_t i = static_cast<size_t>(it - m_start.begin()) - 1;
    if (address >= m_end[i]) return std::nullopt;
    Frame f = perf_map_frame(m_names[m_name[i]]);
    f.module_offset = address - m_start[i];
    return f;
}

}  // namespace leakhunt::symbolize
