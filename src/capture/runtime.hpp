// Which runtime a program runs on, so that `record` (and later `hunt`) attaches the capture that
// speaks its language: the native agent, a Go pprof endpoint, V8's inspector, the JDK's jcmd, or
// tracemalloc in CPython. Told from outside: the executable's name and the libraries mapped in a
// running process. No runtime's headers are used.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leakhunt::capture {

enum class Runtime { native, go, node, java, python };

std::string_view runtime_name(Runtime runtime);  // "native", "go", "node", "java", "python"
// The names --runtime accepts (the above); nullopt for anything else.
std::optional<Runtime> parse_runtime(std::string_view name);

// The runtime of a command about to run: its program as execvp finds it (symbolic links
// followed, so /usr/bin/python3 -> python3.11 counts) and, through `env`, the program env runs.
// node/nodejs, java, python/pythonX[.Y]; anything else is native.
Runtime detect_command(const std::vector<std::string>& argv);

// The runtime of a running process: the name of /proc/PID/exe, then the libraries it has mapped
// (libjvm.so, libpython3.*.so, libnode.so), then the Go build information in the executable. Throws
// util::Error naming the PID when the process does not exist or cannot be read.
Runtime detect_process(pid_t pid);

// True if the process has a file of this name (no directory) mapped, e.g. "libjvm.so": what a
// capture checks before it signals a process its runtime must be ready to handle. False when
// the process is gone or its maps cannot be read.
bool maps_library(pid_t pid, std::string_view file_name);

// True when the file is an executable built by Go (it holds the Go build information magic).
bool is_go_executable(const std::filesystem::path& path);

// The runtime named by an executable's file name alone (no directory), or nullopt.
std::optional<Runtime> runtime_of_program_name(std::string_view name);

}  // namespace leakhunt::capture
