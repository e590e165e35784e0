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
    // Installed: <prefix>/bin/leakhunt and <prefix>/lib/leakhunt/; in the build tree:
    // build/bin/leakhunt and build/lib/.
    std::error_code ec;
    const fs::path prefix = fs::read_symlink("/proc/self/exe", ec).parent_path().parent_path();
    const fs::path installed = prefix / "lib" / "leakhunt" / "libleakhunt_agent.so";
    const fs::path built = prefix / "lib" / "libleakhunt_agent.so";
    if (!ec && fs::exists(installed)) return installed;
    if (ec || !fs::exists(built)) {
        throw util::Error("cannot find the agent at {} or {} (build it with `cmake --build build "
                          "--target leakhunt_agent`, or set LEAKHUNT_AGENT to its path)",
                          installed.string(), built.string());
    }
    return built;
}

}  // namespace leakhunt::cli
