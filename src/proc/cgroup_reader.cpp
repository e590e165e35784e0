// Cgroup v1/v2 detection, path resolution and reading; see cgroup_reader.hpp.
#include "proc/cgroup_reader.hpp"

#include <unistd.h>

#include <string>
#include <vector>

#include "proc/cgroup_files.hpp"
#include "util/error.hpp"

namespace leakhunt::proc {
namespace fs = std::filesystem;

namespace {

bool has_file(int dirfd, const char* name) {
    return ::faccessat(dirfd, name, F_OK, 0) == 0;
}

std::optional<CgroupVersion> detect_at(int dirfd) {
    if (has_file(dirfd, "memory.current")) return CgroupVersion::v2;
    if (has_file(dirfd, "memory.usage_in_bytes")) return CgroupVersion::v1;
    return std::nullopt;
}

// "/system.slice/foo.service" -> root/system.slice/foo.service (operator/ would discard root
// for an absolute right-hand side).
fs::path under(const fs::path& root, std::string_view cgroup_path) {
    while (!cgroup_path.empty() && cgroup_path.front() == '/') cgroup_path.remove_prefix(1);
    if (cgroup_path.empty()) return root;
    return root / cgroup_path;
}

// Lexically normal, without a trailing '/' ("a/b/" -> "a/b"), so results compare equal.
fs::path normal(const fs::path& p) {
    fs::path n = p.lexically_normal();
    if (!n.has_filename() && n.has_relative_path()) n = n.parent_path();
    return n;
}

bool is_version(const fs::path& dir, CgroupVersion version) {
    const auto v = CgroupReader::detect(dir);
    return v && *v == version;
}

}  // namespace

CgroupReader::CgroupReader(CgroupRoots roots, fs::path proc_root)
    : m_roots(std::move(roots)), m_proc_root(std::move(proc_root)), m_buf(4096) {}

std::optional<CgroupVersion> CgroupReader::detect(const fs::path& dir) {
    int err = 0;
    const util::UniqueFd fd = detail::open_dir(AT_FDCWD, dir.c_str(), err);
    if (!fd.valid()) return std::nullopt;
    return detect_at(fd.get());
}

fs::path CgroupReader::resolve(std::string_view user_path) const {
    std::vector<fs::path> tried;
    if (!user_path.empty()) {
        const fs::path as_given(user_path);
        if (as_given.is_absolute()) tried.push_back(normal(as_given));
        tried.push_back(normal(under(m_roots.v2, user_path)));
        tried.push_back(normal(under(m_roots.v1_memory, user_path)));
    }
    for (const auto& dir : tried) {
        if (detect(dir)) return dir;
    }
    std::string list;
    for (const auto& dir : tried) {
        if (!list.empty()) list += ", ";
        list += dir.string();
    }
    if (list.empty()) list = "nothing (the path is empty)";
    throw util::Error(
        "cannot use cgroup '{}': tried {} and found no memory.current (cgroup v2) or "
        "memory.usage_in_bytes (cgroup v1) there; pass a directory under {}, e.g. {}",
        user_path, list, m_roots.v2.string(),
        (m_roots.v2 / "system.slice" / "NAME.service").string());
}

std::optional<fs::path> CgroupReader::memory_dir_from(const ProcCgroup& cgroup) const {
    if (cgroup.v2_path) {
        fs::path dir = under(m_roots.v2, *cgroup.v2_path);
        if (is_version(dir, CgroupVersion::v2)) return dir;
    }
    if (cgroup.v1_memory_path) {
        fs::path dir = under(m_roots.v1_memory, *cgroup.v1_memory_path);
        if (is_version(dir, CgroupVersion::v1)) return dir;
    }
    // Container without a cgroup namespace: the path is the host's, the mount is our own.
    if (cgroup.v2_path && *cgroup.v2_path != "/" && is_version(m_roots.v2, CgroupVersion::v2)) {
        return m_roots.v2;
    }
    if (cgroup.v1_memory_path && *cgroup.v1_memory_path != "/" &&
        is_version(m_roots.v1_memory, CgroupVersion::v1)) {
        return m_roots.v1_memory;
    }
    return std::nullopt;
}

std::optional<fs::path> CgroupReader::memory_dir_of(Pid pid) {
    const fs::path file = m_proc_root / std::to_string(pid) / "cgroup";
    if (m_buf.read_at(AT_FDCWD, file.c_str()) != 0) return std::nullopt;
    return memory_dir_from(parse_proc_cgroup(m_buf.view()));
}

std::optional<CgroupMemory> CgroupReader::read(const fs::path& dir) {
    int err = 0;
    const util::UniqueFd fd = detail::open_dir(AT_FDCWD, dir.c_str(), err);
    if (!fd.valid()) return std::nullopt;
    const auto version = detect_at(fd.get());
    if (!version) return std::nullopt;

    CgroupMemory out;
    out.version = *version;
    auto slurp = [&](const char* name) -> std::optional<std::string_view> {
        if (m_buf.read_at(fd.get(), name) != 0) return std::nullopt;
        return m_buf.view();
    };
    if (*version == CgroupVersion::v2) {
        const auto current = slurp("memory.current");
        if (!current) return std::nullopt;  // removed between detect and read
        out.usage = parse_cgroup_counter(*current);
        if (const auto max = slurp("memory.max")) out.limit = parse_cgroup_limit(*max);
        if (const auto stat = slurp("memory.stat")) {
            const CgroupV2Stat s = parse_cgroup_v2_stat(*stat);
            out.anon = s.anon;
            out.file = s.file;
            out.inactive_file = s.inactive_file;
        }
        if (const auto events = slurp("memory.events")) {
            out.oom_kills = parse_cgroup_v2_events(*events).oom_kill;
        }
        if (const auto swap = slurp("memory.swap.current")) out.swap = parse_cgroup_counter(*swap);
    } else {
        const auto usage = slurp("memory.usage_in_bytes");
        if (!usage) return std::nullopt;
        out.usage = parse_cgroup_counter(*usage);
        if (const auto limit = slurp("memory.limit_in_bytes")) {
            out.limit = parse_cgroup_limit(*limit);
        }
        if (const auto stat = slurp("memory.stat")) {
            const CgroupV1Stat s = parse_cgroup_v1_stat(*stat);
            out.anon = s.total_rss ? s.total_rss : s.rss;
            out.file = s.total_cache ? s.total_cache : s.cache;
            out.swap = s.total_swap ? s.total_swap : s.swap;
            out.inactive_file = s.inactive_file_for_working_set();
        }
        if (const auto oom = slurp("memory.oom_control")) {
            out.oom_kills = parse_cgroup_v1_oom_control(*oom).oom_kill;
        }
    }
    out.working_set = working_set(out.usage, out.inactive_file);
    return out;
}

}  // namespace leakhunt::proc
