// `record --native` for Python (record_runtime.hpp): the native agent in the interpreter beside
// tracemalloc, writing its own record directory DIR/native (recorddir::k_native_dir), so that a
// leak in C code (an extension module, a library called through ctypes) is named by its C
// function while DIR keeps the Python view. Preloaded into an interpreter record starts; attached
// through gdb (record_attach.hpp) to a running one, after the bootstrap. Every step is a no-op
// when --native was not given. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/native_preload.hpp"
#include "cli/record_attach.hpp"
#include "cli/record_runtime.hpp"
#include "recorddir/record_dir.hpp"

namespace leakhunt::cli {

class SnapshotSymbolizer;

class PythonNative {
  public:
    // DIR/native when args.native (created when the agent is started); `every_s` is the Python
    // snapshots' interval, which the agent's periodic snapshots follow.
    PythonNative(const RuntimeRecordArgs& args, double every_s);
    ~PythonNative();
    PythonNative(const PythonNative&) = delete;
    PythonNative& operator=(const PythonNative&) = delete;

    bool enabled() const { return m_enabled; }
    // "" or " and the native agent", for the line that says what is recorded.
    std::string what() const;
    // The Python manifest's note of where the native recording is.
    void note_in(recorddir::Manifest& python_manifest) const;

    // A started interpreter: the agent goes into the environment of the program spawned between
    // before_spawn() and after_spawn().
    void before_spawn();
    void after_spawn(pid_t pid, const std::vector<std::string>& command);
    // Once the bootstrap answered: a warning when the interpreter runs without the agent (a
    // static build ignores LD_PRELOAD).
    void check_loaded(pid_t pid);
    // Before the program is stopped (--duration, --count): a last native snapshot.
    void last_snapshot(pid_t pid);
    // After the program ended: the manifest's exit snapshot, the summary and where to look.
    void finish_started();

    // A running interpreter: the checks (before anything is done to it), then the attach (after
    // the bootstrap started), then the detach at the end (unless it exited). Throw util::Error.
    void check_attachable(pid_t pid, double duration_s);
    void attach();
    void finish_attached(bool exited, const char* why);

  private:
    void say_next() const;

    bool m_enabled = false;
    PreloadSettings m_settings;
    recorddir::Manifest m_manifest;
    std::unique_ptr<SnapshotSymbolizer> m_symbolizer;
    std::unique_ptr<NativeAttachment> m_attachment;
};

}  // namespace leakhunt::cli
