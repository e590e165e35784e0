#include "cli/snapshot_symbolizer.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "profile/pprof.hpp"
#include "recorddir/record_dir.hpp"
#include "symbolize/symbolize_profile.hpp"
#include "symbolize/symbolizer.hpp"
#include "util/error.hpp"

namespace leakhunt::cli {

namespace fs = std::filesystem;

SnapshotSymbolizer::SnapshotSymbolizer(fs::path dir) : m_dir(std::move(dir)) {
    m_thread = std::thread([this] { run(); });
}

SnapshotSymbolizer::~SnapshotSymbolizer() {
    if (m_thread.joinable()) finish();
}

std::vector<std::string> SnapshotSymbolizer::finish() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
    return m_warnings;
}

uid_t SnapshotSymbolizer::owner_of(long id) {
    const auto it = m_owners.find(id);
    if (it != m_owners.end()) return it->second;
    // The process's uid while it lives; after it, only our own or root's perf map is trusted.
    struct stat st {};
    const uid_t uid =
        ::stat(fmt::format("/proc/{}", id).c_str(), &st) == 0 ? st.st_uid : ::geteuid();
    m_owners.emplace(id, uid);
    return uid;
}

void SnapshotSymbolizer::run() {
    symbolize::Symbolizer symbolizer;
    while (true) {
        bool stop = false;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait_for(lock, std::chrono::milliseconds(500), [this] { return m_stop; });
            stop = m_stop;
        }
        // One more pass after the stop: the exit snapshot comes last.
        try {
            const recorddir::Listing listing = recorddir::list(m_dir);
            for (long id : listing.ids()) {
                for (const fs::path& file : listing.files(id, recorddir::Kind::profile)) {
                    const std::string name = file.filename().string();
                    if (m_done.contains(name)) continue;
                    m_done.insert(name);
                    try {
                        profile::Profile p = profile::read_profile(file);
                        // JIT code (node --perf-basic-prof) is named by the process's perf map,
                        // read again for each snapshot, as it grows with the code compiled.
                        std::string why;
                        const auto jit =
                            symbolize::PerfMap::load(static_cast<pid_t>(id), owner_of(id), &why);
                        if (!why.empty() && std::find(m_warnings.begin(), m_warnings.end(), why) ==
                                                m_warnings.end()) {
                            m_warnings.push_back(why);
                        }
                        const auto stats =
                            symbolize::symbolize_profile(p, symbolizer, {}, jit ? &*jit : nullptr);
                        for (const auto& w : stats.warnings) {
                            if (m_warnings.size() < 20 &&
                                std::find(m_warnings.begin(), m_warnings.end(), w) ==
                                    m_warnings.end()) {
                                m_warnings.push_back(w);
                            }
                        }
                        profile::write_profile(file, p);
                        ++m_files;
                    } catch (const util::Error& e) {
                        m_warnings.push_back(fmt::format(
                            "{} stays unsymbolized ({}); commands symbolize it when they read it",
                            file.string(), e.what()));
                    }
                }
            }
        } catch (const util::Error& e) {
            m_warnings.push_back(e.what());
        }
        if (stop) return;
    }
}

}  // namespace leakhunt::cli
