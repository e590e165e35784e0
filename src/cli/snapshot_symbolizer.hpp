// `record` writes symbolized snapshots: the agent writes raw instruction pointers (it never
// symbolizes inside the target), and this worker, in the leakhunt process, rewrites each new
// heap.PID.NNNN.pb.gz of the record directory with function names, files, lines and inline
// frames (and the mappings' has_* flags), atomically, so that go tool pprof, Pyroscope or Parca
// show the user's functions and no later command reads DWARF again. One Symbolizer serves every
// snapshot, so a module's DWARF is read once per recording.
#pragma once

#include <sys/types.h>
#include <atomic>
#include <condition_variable>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace leakhunt::cli {

class SnapshotSymbolizer {
  public:
    // Starts the worker, which looks for new snapshots in `dir` twice a second.
    explicit SnapshotSymbolizer(std::filesystem::path dir);
    // finish() if not done yet.
    ~SnapshotSymbolizer();
    SnapshotSymbolizer(const SnapshotSymbolizer&) = delete;
    SnapshotSymbolizer& operator=(const SnapshotSymbolizer&) = delete;

    // Symbolizes what is left and stops the worker. Returns the warnings gathered (a file that
    // could not be rewritten: it stays raw and every command still symbolizes it on reading).
    std::vector<std::string> finish();
    size_t symbolized_files() const { return m_files.load(); }

  private:
    void run();
    uid_t owner_of(long id);

    std::filesystem::path m_dir;
    std::set<std::string> m_done;
    std::map<long, uid_t> m_owners;  // the uid whose perf map is trusted, per process
    std::vector<std::string> m_warnings;
    std::atomic<size_t> m_files{0};
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::thread m_thread;
};

}  // namespace leakhunt::cli
