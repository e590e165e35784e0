// The native agent beside tracemalloc (record_python_native.hpp).
#include "cli/record_python_native.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "cli/agent_files.hpp"
#include "cli/common.hpp"
#include "cli/snapshot_symbolizer.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"

namespace leakhunt::cli {
namespace fs = std::filesystem;

namespace {
// How long the agent may take to write the snapshot asked for before the program is stopped.
constexpr double k_snapshot_timeout_s = 30;

void create(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw util::Error("cannot create {}: {}", dir.string(), ec.message());
}
}  // namespace

PythonNative::PythonNative(const RuntimeRecordArgs& args, double every_s) : m_enabled(args.native) {
    if (!m_enabled) return;
    m_settings.dir = args.dir / recorddir::k_native_dir;
    m_settings.sample_interval = args.native_interval;
    m_settings.every_s = every_s;
    // Through a wrapper (`env X=1 python3 ...`) the interpreter is a later exec.
    m_settings.follow_children = !args.command.empty() && is_wrapper(args.command.front());
}

PythonNative::~PythonNative() = default;

std::string PythonNative::what() const {
    return m_enabled ? fmt::format(" and the native agent ({})",
                                   preload_sampling(m_settings.sample_interval))
                     : std::string();
}

void PythonNative::note_in(recorddir::Manifest& python_manifest) const {
    if (m_enabled) python_manifest.extra["native"] = recorddir::k_native_dir;
}

void PythonNative::before_spawn() {
    if (!m_enabled) return;
    m_settings.agent = agent_library();
    create(m_settings.dir);
    export_preload(m_settings);
}

void PythonNative::after_spawn(pid_t pid, const std::vector<std::string>& command) {
    if (!m_enabled) return;
    unexport_preload();
    m_symbolizer = std::make_unique<SnapshotSymbolizer>(m_settings.dir);
    m_manifest = preload_manifest(m_settings, command, pid);
    m_manifest.extra["python"] = "the tracemalloc recording of the same interpreter is in ..";
    recorddir::write_manifest(m_settings.dir, m_manifest);
}

void PythonNative::check_loaded(pid_t pid) {
    if (!m_enabled) return;
    const AgentSearch found = find_agent(pid);
    if (!found.holding_leaf() && !found.leaves.empty()) {
        warnf(
            "--native: the interpreter runs without the native agent: {}; only the Python "
            "view is recorded",
            why_no_agent(found.leaves.back()));
    }
}

void PythonNative::last_snapshot(pid_t pid) {
    if (!m_enabled) return;
    try {
        (void)request_snapshot(pid, k_snapshot_timeout_s);
    } catch (const util::Error& e) {
        warnf("the last native snapshot of pid {} failed: {}", pid, e.what());
    }
}

void PythonNative::finish_started() {
    if (!m_enabled || !m_symbolizer) return;
    for (const auto& w : m_symbolizer->finish()) warn(w);
    if (finish_preloaded(m_settings.dir, m_manifest) == 0) {
        warnf(
            "--native: the agent wrote no snapshot into {} (the interpreter ran without it, "
            "or ended before any --snapshot-every interval through _exit or a signal)",
            m_settings.dir.string());
        return;
    }
    say_next();
}

void PythonNative::check_attachable(pid_t pid, double duration_s) {
    if (!m_enabled) return;
    NativeAttachArgs a;
    a.pid = pid;
    a.dir = m_settings.dir;
    a.sample_interval = m_settings.sample_interval;
    a.every_s = m_settings.every_s;
    a.duration_s = duration_s;
    m_attachment = std::make_unique<NativeAttachment>(a);
}

void PythonNative::attach() {
    if (!m_attachment) return;
    create(m_settings.dir);
    m_attachment->start();
}

void PythonNative::finish_attached(bool exited, const char* why) {
    if (!m_attachment) return;
    m_attachment->finish(exited, why);
    if (m_attachment->snapshots() > 0) say_next();
}

void PythonNative::say_next() const {
    std::fprintf(stderr, "leakhunt: the interpreter's native memory: leakhunt suspects %s\n",
                 util::terminal_safe(m_settings.dir.string()).c_str());
}

}  // namespace leakhunt::cli
