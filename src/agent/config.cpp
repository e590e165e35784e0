// Reading the agent's configuration from the environment.
#include "agent/config.hpp"

#include <cstdlib>
#include <cstring>

namespace leakhunt::agent {

Config g_config;

namespace {

// Digits up to `end` (or the end of the string).
bool parse_u64(const char* s, std::uint64_t& out, char end = '\0') {
    if (s == nullptr || *s == '\0' || *s == end) return false;
    std::uint64_t v = 0;
    for (; *s != '\0' && *s != end; ++s) {
        if (*s < '0' || *s > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(*s - '0');
    }
    out = v;
    return true;
}

bool set_unwind(Config& c, const char* u, std::size_t len) {
    if (len == 3 && std::strncmp(u, "cfi", 3) == 0)
        c.unwind = Config::Unwind::cfi;
    else if (len == 9 && std::strncmp(u, "libunwind", 9) == 0)
        c.unwind = Config::Unwind::libunwind;
    else if (len == 5 && std::strncmp(u, "check", 5) == 0)
        c.unwind = Config::Unwind::check;
    else
        return false;
    return true;
}

}  // namespace

bool read_attach_config(Config& c, const char* spec) {
    if (spec == nullptr) return false;
    bool have_out = false;
    const char* p = spec;
    while (*p != '\0') {
        const char* eq = std::strchr(p, '=');
        if (eq == nullptr) return false;
        const auto key_len = static_cast<std::size_t>(eq - p);
        const char* value = eq + 1;
        if (key_len == 3 && std::strncmp(p, "out", 3) == 0) {
            const std::size_t n = std::strlen(value);
            if (n == 0 || n >= sizeof c.out_dir) return false;
            std::memcpy(c.out_dir, value, n + 1);
            have_out = true;
            break;
        }
        const char* semi = std::strchr(value, ';');
        const std::size_t len =
            semi != nullptr ? static_cast<std::size_t>(semi - value) : std::strlen(value);
        std::uint64_t v = 0;
        const auto key = [&](const char* k) {
            return key_len == std::strlen(k) && std::strncmp(p, k, key_len) == 0;
        };
        if (key("interval")) {
            if (!parse_u64(value, v, ';')) return false;
            c.sample_interval = v;
        } else if (key("every")) {
            if (!parse_u64(value, v, ';')) return false;
            c.snapshot_every_s = static_cast<double>(v) / 1000.0;  // milliseconds
        } else if (key("depth")) {
            if (!parse_u64(value, v, ';') || v == 0) return false;
            c.depth = v > k_max_depth ? k_max_depth : static_cast<std::size_t>(v);
        } else if (key("seed")) {
            if (!parse_u64(value, v, ';')) return false;
            c.seed = v;
        } else if (key("unwind")) {
            if (!set_unwind(c, value, len)) return false;
        } else {
            return false;
        }
        p = value + len + (semi != nullptr ? 1 : 0);
    }
    return have_out;
}

void read_config(Config& c) {
    if (const char* out = std::getenv("LEAKHUNT_OUT"); out != nullptr && *out != '\0') {
        std::strncpy(c.out_dir, out, sizeof c.out_dir - 1);
    }
    std::uint64_t v = 0;
    if (parse_u64(std::getenv("LEAKHUNT_SAMPLE_INTERVAL"), v)) c.sample_interval = v;
    if (const char* s = std::getenv("LEAKHUNT_SNAPSHOT_EVERY"); s != nullptr && *s != '\0') {
        c.snapshot_every_s = std::strtod(s, nullptr);
        if (!(c.snapshot_every_s > 0)) c.snapshot_every_s = 0;
    }
    if (parse_u64(std::getenv("LEAKHUNT_DEPTH"), v) && v > 0) {
        c.depth = v > k_max_depth ? k_max_depth : static_cast<std::size_t>(v);
    }
    if (const char* f = std::getenv("LEAKHUNT_FOLLOW_CHILDREN"); f != nullptr) {
        c.follow_children = std::strcmp(f, "1") == 0;
    }
    if (parse_u64(std::getenv("LEAKHUNT_SEED"), v)) c.seed = v;
    if (const char* f = std::getenv("LEAKHUNT_LEAK_CHECK"); f != nullptr) {
        c.leak_check = std::strcmp(f, "1") == 0;
    }
    if (const char* u = std::getenv("LEAKHUNT_UNWIND"); u != nullptr && *u != '\0') {
        (void)set_unwind(c, u, std::strlen(u));
    }
}

}  // namespace leakhunt::agent
