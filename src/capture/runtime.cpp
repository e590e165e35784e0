#include "capture/runtime.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::capture {

namespace fs = std::filesystem;

namespace {

bool all_digits_and_dots(std::string_view s) {
    for (char c : s) {
        if ((c < '0' || c > '9') && c != '.') return false;
    }
    return true;
}

// The library file name in one /proc/PID/maps line ("" if none).
std::string_view mapped_file(std::string_view line) {
    const size_t slash = line.find('/');
    if (slash == std::string_view::npos) return {};
    const std::string_view path = line.substr(slash);
    const size_t base = path.rfind('/');
    return path.substr(base + 1);
}

}  // namespace

std::string_view runtime_name(Runtime runtime) {
    switch (runtime) {
        case Runtime::native:
            return "native";
        case Runtime::go:
            return "go";
        case Runtime::node:
            return "node";
        case Runtime::java:
            return "java";
        case Runtime::python:
            return "python";
    }
    return "?";
}

std::optional<Runtime> parse_runtime(std::string_view name) {
    for (Runtime r :
         {Runtime::native, Runtime::go, Runtime::node, Runtime::java, Runtime::python}) {
        if (name == runtime_name(r)) return r;
    }
    return std::nullopt;
}

std::optional<Runtime> runtime_of_program_name(std::string_view name) {
    if (name == "node" || name == "nodejs") return Runtime::node;
    if (name == "java") return Runtime::java;
    if (name.starts_with("python")) {
        std::string_view rest = name.substr(6);
        if (rest.ends_with("-dbg")) rest.remove_suffix(4);
        if (rest.empty() || all_digits_and_dots(rest)) return Runtime::python;
    }
    return std::nullopt;
}

Runtime detect_command(const std::vector<std::string>& argv) {
    size_t at = 0;
    while (at < argv.size()) {
        const fs::path program = util::resolve_program(argv[at]);
        const std::string base = program.filename().string();
        if (base == "env") {
            // env [-i] [-u NAME] [NAME=VALUE]... PROGRAM
            ++at;
            while (at < argv.size() &&
                   (argv[at].starts_with('-') || argv[at].find('=') != std::string::npos)) {
                if (argv[at] == "-u" || argv[at] == "--unset") ++at;
                ++at;
            }
            continue;
        }
        if (const auto r = runtime_of_program_name(base)) return *r;
        std::error_code ec;
        const fs::path target = fs::canonical(program, ec);
        if (!ec) {
            if (const auto r = runtime_of_program_name(target.filename().string())) return *r;
        }
        return Runtime::native;
    }
    return Runtime::native;
}

bool maps_library(pid_t pid, std::string_view file_name) {
    const auto maps = util::try_read_file(fs::path("/proc") / std::to_string(pid) / "maps");
    if (!maps) return false;
    std::string_view rest = *maps;
    while (!rest.empty()) {
        const size_t nl = rest.find('\n');
        if (mapped_file(rest.substr(0, nl)) == file_name) return true;
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
    }
    return false;
}

Runtime detect_process(pid_t pid) {
    const fs::path proc = fs::path("/proc") / std::to_string(pid);
    std::error_code ec;
    if (!fs::exists(proc, ec)) {
        throw util::Error("no process {} (it has ended, or lives in another PID namespace)", pid);
    }
    const fs::path exe = fs::read_symlink(proc / "exe", ec);
    if (!ec) {
        std::string base = exe.filename().string();
        if (base.ends_with(" (deleted)")) base.resize(base.size() - 10);
        if (const auto r = runtime_of_program_name(base)) return *r;
    }
    int err = 0;
    const auto maps = util::try_read_file(proc / "maps", &err);
    if (!maps) {
        throw util::Error(
            "cannot read /proc/{}/maps to tell its runtime: {} (run as the "
            "process's user or root, or name it with --runtime)",
            pid, std::strerror(err));
    }
    std::string_view rest = *maps;
    while (!rest.empty()) {
        const size_t nl = rest.find('\n');
        const std::string_view file = mapped_file(rest.substr(0, nl));
        if (file == "libjvm.so") return Runtime::java;
        if (file.starts_with("libnode.so")) return Runtime::node;
        if (file.starts_with("libpython") && file.find(".so") != std::string_view::npos) {
            return Runtime::python;
        }
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
    }
    if (is_go_executable(proc / "exe")) return Runtime::go;
    return Runtime::native;
}

bool is_go_executable(const fs::path& path) {
    // The Go linker writes the build information section (.go.buildinfo, in the data segment)
    // starting with this magic; a bounded read in chunks finds it without parsing the ELF.
    static constexpr std::string_view k_magic{"\xff Go buildinf:", 14};
    constexpr size_t k_chunk = 1 << 20;
    constexpr size_t k_max_read = 256u << 20;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return false;
    std::string buf(k_chunk + k_magic.size(), '\0');
    size_t carry = 0, total = 0;
    bool found = false;
    while (!found && total < k_max_read) {
        const size_t n = std::fread(buf.data() + carry, 1, k_chunk, f);
        if (n == 0) break;
        total += n;
        const std::string_view view(buf.data(), carry + n);
        found = view.find(k_magic) != std::string_view::npos;
        carry = std::min(view.size(), k_magic.size() - 1);
        std::memmove(buf.data(), view.data() + view.size() - carry, carry);
    }
    std::fclose(f);
    return found;
}

}  // namespace leakhunt::capture
