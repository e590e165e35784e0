// Reading the agent's configuration from the environment.
#include "agent/config.hpp"

#include <cstdlib>
#include <cstring>

namespace leakhunt::agent {

Config g_config;

namespace {

bool parse_u64(const char* s, std::uint64_t& out) {
    if (s == nullptr || *s == '\0') return false;
    std::uint64_t v = 0;
    for (; *s != '\0'; ++s) {
        if (*s < '0' || *s > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(*s - '0');
    }
    out = v;
    return true;
}

}  // namespace

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
    if (const char* u = std::getenv("LEAKHUNT_UNWIND"); u != nullptr) {
        if (std::strcmp(u, "libunwind") == 0) c.unwind = Config::Unwind::libunwind;
        if (std::strcmp(u, "check") == 0) c.unwind = Config::Unwind::check;
    }
}

}  // namespace leakhunt::agent
