// Parsers for /proc/PID/{status,smaps_rollup,statm,stat,cmdline,cgroup}; see proc_files.hpp.
#include "proc/proc_files.hpp"

#include <charconv>
#include <limits>

#include "proc/system_info.hpp"
#include "proc/text_scan.hpp"
#include "util/file.hpp"

namespace leakhunt::proc {
namespace {

using detail::next_line;
using detail::next_token;
using detail::parse_kb_value;
using detail::parse_u64;
using detail::split_colon;

std::optional<Pid> to_pid(std::string_view s) {
    const auto v = detail::parse_i64(s);
    if (!v || *v < 0 || *v > std::numeric_limits<Pid>::max()) return std::nullopt;
    return static_cast<Pid>(*v);
}

// Multiplies pages by the page size; empty on overflow.
std::optional<std::uint64_t> pages_to_bytes(std::optional<std::uint64_t> pages,
                                            std::uint64_t page_size) {
    if (!pages || page_size == 0) return std::nullopt;
    if (*pages > UINT64_MAX / page_size) return std::nullopt;
    return *pages * page_size;
}

}  // namespace

StatusInfo parse_status(std::string_view text) {
    StatusInfo out;
    std::string_view line;
    std::string_view key;
    std::string_view value;
    while (next_line(text, line)) {
        if (!split_colon(line, key, value)) continue;
        // Ordered roughly as the kernel prints them; string_view == compares lengths first.
        if (key == "Name") {
            // The kernel writes "Name:\t<comm>"; keep inner spaces, drop the separator.
            if (!value.empty() && value.front() == '\t') value.remove_prefix(1);
            out.name.assign(value);
        } else if (key == "PPid") {
            out.ppid = to_pid(value);
        } else if (key == "Uid") {
            const auto real = parse_u64(next_token(value));
            if (real && *real <= UINT32_MAX) out.uid = static_cast<std::uint32_t>(*real);
        } else if (key.size() > 2 && key[0] == 'V' && key[1] == 'm') {
            if (key == "VmSize") {
                out.vm_size = parse_kb_value(value);
            } else if (key == "VmHWM") {
                out.vm_hwm = parse_kb_value(value);
            } else if (key == "VmRSS") {
                out.vm_rss = parse_kb_value(value);
            } else if (key == "VmSwap") {
                out.vm_swap = parse_kb_value(value);
            }
        } else if (key == "RssAnon") {
            out.rss_anon = parse_kb_value(value);
        } else if (key == "RssFile") {
            out.rss_file = parse_kb_value(value);
        } else if (key == "RssShmem") {
            out.rss_shmem = parse_kb_value(value);
        } else if (key == "Threads") {
            out.threads = parse_u64(value);
        } else if (key == "SigCgt") {
            std::string_view hex = next_token(value);
            std::uint64_t mask = 0;
            const char* end = hex.data() + hex.size();
            if (!hex.empty() && std::from_chars(hex.data(), end, mask, 16).ptr == end) {
                out.signals_caught = mask;
            }
        }
    }
    return out;
}

std::optional<std::uint64_t> SmapsRollup::uss() const {
    if (!private_clean || !private_dirty) return std::nullopt;
    return *private_clean + *private_dirty + private_hugetlb.value_or(0);
}

SmapsRollup parse_smaps_rollup(std::string_view text) {
    SmapsRollup out;
    std::string_view line;
    std::string_view key;
    std::string_view value;
    while (next_line(text, line)) {
        // The first line is the "[rollup]" pseudo-mapping header; its "00:00" device field
        // yields a key that matches nothing below, so it is skipped like any unknown line.
        if (!split_colon(line, key, value)) continue;
        if (key == "Rss") {
            out.rss = parse_kb_value(value);
        } else if (key == "Pss") {
            out.pss = parse_kb_value(value);
        } else if (key == "Pss_Anon") {
            out.pss_anon = parse_kb_value(value);
        } else if (key == "Pss_File") {
            out.pss_file = parse_kb_value(value);
        } else if (key == "Pss_Shmem") {
            out.pss_shmem = parse_kb_value(value);
        } else if (key == "Private_Clean") {
            out.private_clean = parse_kb_value(value);
        } else if (key == "Private_Dirty") {
            out.private_dirty = parse_kb_value(value);
        } else if (key == "Private_Hugetlb") {
            out.private_hugetlb = parse_kb_value(value);
        } else if (key == "Swap") {
            out.swap = parse_kb_value(value);
        } else if (key == "SwapPss") {
            out.swap_pss = parse_kb_value(value);
        }
    }
    return out;
}

std::optional<std::uint64_t> read_resident_bytes(Pid pid) {
    const auto text = util::try_read_file("/proc/" + std::to_string(pid) + "/statm");
    if (!text) return std::nullopt;
    return parse_statm(*text, page_size()).resident;
}

Statm parse_statm(std::string_view text, std::uint64_t page_size) {
    Statm out;
    out.size = pages_to_bytes(parse_u64(next_token(text)), page_size);
    out.resident = pages_to_bytes(parse_u64(next_token(text)), page_size);
    out.shared = pages_to_bytes(parse_u64(next_token(text)), page_size);
    return out;
}

StatInfo parse_stat(std::string_view text) {
    StatInfo out;
    const auto open = text.find('(');
    const auto close = text.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        return out;
    }
    out.pid = to_pid(text.substr(0, open));
    out.comm.assign(text.substr(open + 1, close - open - 1));

    // Fields after comm, numbered as in proc(5): (3) state (4) ppid ... (9) flags ...
    // (20) num_threads ... (22) starttime.
    std::string_view rest = text.substr(close + 1);
    constexpr int k_first_field = 3;
    constexpr int k_state = 3;
    constexpr int k_ppid = 4;
    constexpr int k_flags = 9;
    constexpr int k_num_threads = 20;
    constexpr int k_starttime = 22;
    for (int field = k_first_field; field <= k_starttime; ++field) {
        const std::string_view token = next_token(rest);
        if (token.empty()) break;
        switch (field) {
            case k_state:
                if (token.size() == 1) out.state = token[0];
                break;
            case k_ppid:
                out.ppid = to_pid(token);
                break;
            case k_flags:
                out.flags = parse_u64(token);
                break;
            case k_num_threads:
                out.num_threads = parse_u64(token);
                break;
            case k_starttime:
                out.starttime = parse_u64(token);
                break;
            default:
                break;
        }
    }
    return out;
}

std::optional<Pid> parse_pid(std::string_view text) {
    if (text.empty() || text.size() > 7) return std::nullopt;  // 4194304 has 7 digits
    Pid v = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    if (v < 1 || v > k_pid_max_limit) return std::nullopt;
    return v;
}

Cmdline parse_cmdline(std::string_view text) {
    Cmdline out;
    while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
    if (text.empty()) return out;
    out.display.reserve(text.size());
    for (;;) {
        const auto nul = text.find('\0');
        const std::string_view arg = text.substr(0, nul);
        out.args.emplace_back(arg);
        if (out.args.size() > 1) out.display.push_back(' ');
        out.display.append(arg);
        if (nul == std::string_view::npos) break;
        text.remove_prefix(nul + 1);
    }
    return out;
}

std::optional<std::string> environ_value(std::string_view environ, std::string_view name) {
    while (!environ.empty()) {
        const size_t end = environ.find('\0');
        const std::string_view entry = environ.substr(0, end);
        if (entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=') {
            return std::string(entry.substr(name.size() + 1));
        }
        if (end == std::string_view::npos) break;
        environ.remove_prefix(end + 1);
    }
    return std::nullopt;
}

std::string cmdline_display(std::string_view text) {
    while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
    std::string out(text);
    for (char& c : out) {
        if (c == '\0') c = ' ';
    }
    return out;
}

ProcCgroup parse_proc_cgroup(std::string_view text) {
    ProcCgroup out;
    std::string_view line;
    while (next_line(text, line)) {
        const auto first = line.find(':');
        if (first == std::string_view::npos) continue;
        const auto second = line.find(':', first + 1);
        if (second == std::string_view::npos) continue;
        const std::string_view id = line.substr(0, first);
        std::string_view controllers = line.substr(first + 1, second - first - 1);
        // The path is everything after the second ':' (it may itself contain ':').
        const std::string_view path = line.substr(second + 1);
        if (path.empty() || !parse_u64(id)) continue;
        if (id == "0" && controllers.empty()) {
            out.v2_path.emplace(path);
            continue;
        }
        while (!controllers.empty()) {
            const auto comma = controllers.find(',');
            const std::string_view c = controllers.substr(0, comma);
            if (c == "memory") {
                out.v1_memory_path.emplace(path);
                break;
            }
            if (comma == std::string_view::npos) break;
            controllers.remove_prefix(comma + 1);
        }
    }
    return out;
}

bool has_exited(pid_t pid, std::optional<std::uint64_t> start_time) {
    const auto text = util::try_read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return true;
    const StatInfo stat = parse_stat(*text);
    if (stat.state && (*stat.state == 'Z' || *stat.state == 'X')) return true;
    return start_time && stat.starttime != start_time;
}

}  // namespace leakhunt::proc
