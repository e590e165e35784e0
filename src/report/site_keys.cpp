// The labels of allocation sites, JVM classes and goroutine groups (report/site_keys.hpp).
#include "report/site_keys.hpp"

#include <fmt/format.h>

#include "util/function_name.hpp"

namespace leakhunt::report {

std::string allocation_label(const trend::SiteKey& key, std::string_view unit) {
    // "ns::Cache::insert(std::string const&) const" -> "ns::Cache::insert".
    std::string where(util::without_parameters(key.name));
    if (!key.file.empty()) {
        where += key.line != 0 ? fmt::format(" ({}:{})", key.file, key.line)
                               : fmt::format(" ({})", key.file);
    }
    const std::string what =
        !key.callee.empty() ? key.callee : (unit == "bytes" ? "memory" : "objects");
    return fmt::format("{} allocated in {}", what, where);
}

std::string class_label(const trend::SiteKey& key) {
    return "class " + key.name;
}

std::string goroutine_label(const trend::SiteKey& key) {
    std::string where = key.name;
    if (!key.file.empty()) {
        const std::string_view base = std::string_view(key.file).substr(key.file.rfind('/') + 1);
        where +=
            key.line != 0 ? fmt::format(" ({}:{})", base, key.line) : fmt::format(" ({})", base);
    }
    if (key.state == "running") return "running in " + where;
    if (key.state == "syscall") return "in a system call in " + where;
    return fmt::format("blocked in {} in {}", key.state.empty() ? "waiting" : key.state, where);
}

bool is_jdk_module(std::string_view module) {
    return module.starts_with("java.") || module.starts_with("jdk.");
}

}  // namespace leakhunt::report
