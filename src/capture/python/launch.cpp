// The bootstrap in front of a program (bootstrap_command) and inside a running one
// (attach_bootstrap, through gdb), with the checks that say why attaching cannot work.
#include "capture/python/launch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "capture/runtime.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::capture::python {
namespace fs = std::filesystem;
namespace {

bool is_flag(char c) {
    return std::string_view("bBdEiIOPqRsSuv").find(c) != std::string_view::npos;
}
bool takes_value(char c) {
    return c == 'W' || c == 'X';
}

}  // namespace

std::vector<std::string> bootstrap_command(const std::vector<std::string>& argv,
                                           const fs::path& bootstrap, const fs::path& ctl,
                                           int depth) {
    std::vector<std::string> out;
    size_t i = 0;
    if (!argv.empty() && fs::path(argv[0]).filename() == "env") {
        out.push_back(argv[i++]);
        while (i < argv.size() && argv[i].find('=') != std::string::npos &&
               !argv[i].starts_with("-")) {
            out.push_back(argv[i++]);
        }
    }
    if (i >= argv.size()) throw util::UsageError("record needs a python program to run");
    out.push_back(argv[i++]);  // the interpreter
    std::vector<std::string> program;
    while (i < argv.size() && program.empty()) {
        const std::string& a = argv[i];
        if (a == "--") {
            ++i;
            if (i >= argv.size()) break;
            program.push_back(argv[i++]);
            break;
        }
        if (a == "-" || !a.starts_with("-")) {
            program.push_back(a);
            ++i;
            break;
        }
        if (a == "--check-hash-based-pycs") {
            if (i + 1 >= argv.size()) throw util::UsageError("{} needs a value", a);
            out.push_back(a);
            out.push_back(argv[i + 1]);
            i += 2;
            continue;
        }
        if (a.starts_with("--")) {
            throw util::UsageError(
                "python option {}: nothing to record (give a script, -m "
                "MODULE or -c COMMAND)",
                a);
        }
        // A group of one-letter options: flags, then maybe one that takes a value.
        std::string flags = "-";
        for (size_t k = 1; k < a.size(); ++k) {
            const char c = a[k];
            if (is_flag(c)) {
                flags += c;
                continue;
            }
            if (c == 'x') {
                throw util::UsageError(
                    "python's -x (skip the first line of the script) cannot "
                    "be recorded: drop it");
            }
            if (takes_value(c) || c == 'c' || c == 'm') {
                std::string value = a.substr(k + 1);
                if (value.empty()) {
                    if (i + 1 >= argv.size())
                        throw util::UsageError("python's -{} needs a value", c);
                    value = argv[++i];
                }
                if (flags.size() > 1) out.push_back(flags);
                flags = "-";
                if (takes_value(c)) {
                    out.push_back(fmt::format("-{}", c));
                    out.push_back(value);
                } else {
                    program.push_back(fmt::format("-{}", c));
                    program.push_back(value);
                }
                break;
            }
            throw util::UsageError(
                "python option -{}: nothing to record (give a script, -m "
                "MODULE or -c COMMAND; -h and -V only print)",
                c);
        }
        if (flags.size() > 1) out.push_back(flags);
        ++i;
    }
    if (program.empty()) {
        throw util::UsageError(
            "record needs a python program: a script, -m MODULE, -c COMMAND "
            "or - (the interactive interpreter cannot be recorded)");
    }
    out.push_back(bootstrap.string());
    out.push_back("--ctl");
    out.push_back(ctl.string());
    out.push_back("--depth");
    out.push_back(std::to_string(depth));
    out.push_back("--");
    out.insert(out.end(), program.begin(), program.end());
    out.insert(out.end(), argv.begin() + static_cast<std::ptrdiff_t>(i), argv.end());
    return out;
}

std::string python_version_of(pid_t pid) {
    std::error_code ec;
    const fs::path exe = fs::read_symlink(fmt::format("/proc/{}/exe", pid), ec);
    if (ec) {
        if (ec == std::errc::no_such_file_or_directory) {
            throw util::Error("no process with pid {}", pid);
        }
        throw util::Error(
            "cannot read /proc/{}/exe: {} (run leakhunt as the process's user or "
            "root)",
            pid, ec.message());
    }
    static const std::regex k_name(R"(^(?:lib)?python([0-9]+)\.([0-9]+)[^/]*$)");
    std::smatch m;
    std::string found;
    const std::string name = exe.filename().string();
    if (std::regex_search(name, m, k_name)) found = m[1].str() + "." + m[2].str();
    if (found.empty()) {
        const auto maps = util::try_read_file(fmt::format("/proc/{}/maps", pid));
        static const std::regex k_lib(R"(/libpython([0-9]+)\.([0-9]+)[^/\s]*\.so)");
        if (maps && std::regex_search(*maps, m, k_lib)) found = m[1].str() + "." + m[2].str();
    }
    if (found.empty()) {
        throw util::Error(
            "process {} ({}) is not a CPython interpreter (no python in its "
            "executable's name, no libpython mapped): record it with --runtime "
            "native",
            pid, exe.filename().string());
    }
    const int major = std::stoi(found.substr(0, found.find('.')));
    const int minor = std::stoi(found.substr(found.find('.') + 1));
    if (major != 3 || minor < 8) {
        throw util::Error(
            "process {} runs Python {}: attaching needs CPython 3.8 or later "
            "(start it under `leakhunt record -- python3 ...` instead)",
            pid, found);
    }
    return found;
}

}  // namespace leakhunt::capture::python
