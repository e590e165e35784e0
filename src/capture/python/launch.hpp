// Starting a Python program with leakhunt's bootstrap in front of it, and attaching the bootstrap
// to a running interpreter. Both leave the program's behaviour as it was: see
// leakhunt_bootstrap.py for what it restores (sys.argv, sys.path[0], __main__, tracebacks, exit
// status). Stateless; thread-safe.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace leakhunt::capture::python {

// `python3 [interpreter options] (SCRIPT | -m MODULE | -c COMMAND | -) ARGS` becomes
// `python3 [interpreter options] BOOTSTRAP --ctl CTL --depth N -- (SCRIPT | -m MODULE | ...) ARGS`.
// The interpreter's options are read as CPython reads them (grouped flags such as -uB, -W and -X
// with their value joined or apart, `-c` or `-m` ending the options). argv[0] may be a wrapper
// (`env [NAME=VALUE...] python3 ...`). Throws util::UsageError when no program is named (the
// interactive interpreter, --version, --help).
std::vector<std::string> bootstrap_command(const std::vector<std::string>& argv,
                                           const std::filesystem::path& bootstrap,
                                           const std::filesystem::path& ctl, int depth);

struct AttachOptions {
    pid_t pid = 0;
    std::filesystem::path bootstrap;
    std::filesystem::path ctl;
    int depth = 1;
    double timeout_s = 30;  // for gdb's whole run
};

// Runs the bootstrap inside the running interpreter `pid` through gdb in batch mode
// (PyGILState_Ensure, PyRun_SimpleString, PyGILState_Release, as pyrasite and memray attach),
// after checking what can be checked first (the process, its interpreter and version, gdb,
// ptrace permission). Throws util::Error with one sentence saying why it is impossible and what
// to do. On timeout gdb is interrupted (the call is unwound: `set unwindonsignal on`), never
// killed while the target is stopped.
void attach_bootstrap(const AttachOptions& options);

// Checks that `pid` runs CPython 3.8 or later, by /proc/PID/exe and its mapped libpython; returns
// "3.11" or throws util::Error naming what it found.
std::string python_version_of(pid_t pid);

}  // namespace leakhunt::capture::python
