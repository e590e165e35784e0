// Locating the agent library.
#include "cli/agent_files.hpp"

#include <cstdlib>

#include "util/error.hpp"

namespace leakhunt::cli {
namespace fs = std::filesystem;

fs::path agent_library() {
    if (const char* env = std::getenv("LEAKHUNT_AGENT"); env != nullptr && *env != '\0') {
        if (!fs::exists(env)) {
            throw util::Error("LEAKHUNT_AGENT={} does not exist (unset it to use the agent next "
                              "to leakhunt)",
                              env);
        }
        return fs::absolute(env);
    }
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    const fs::path lib = exe.parent_path().parent_path() / "lib" / "libleakhunt_agent.so";
    if (ec || !fs::exists(lib)) {
        throw util::Error("cannot find the agent at {} (build it with `cmake --build build "
                          "--target leakhunt_agent`, or set LEAKHUNT_AGENT to its path)",
                          lib.string());
    }
    return lib;
}

}  // namespace leakhunt::cli
