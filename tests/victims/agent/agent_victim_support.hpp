// Shared plumbing of the agent's victims (tests/victims/agent/): the attribute that keeps an
// allocation site a real frame of its own, an optimisation barrier so the compiler cannot drop an
// allocation, and a tiny "--name value" flag parser. The victims run under LD_PRELOAD of
// libleakhunt_agent.so and are built without frame pointers, so the agent must unwind by DWARF;
// this header allocates nothing except in Flags (called from main() only). Not thread-safe.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <span>
#include <string>

// An allocation site: a frame of its own with this exact name in every stack. extern "C" makes
// the symbol (and so the name in a profile) exactly the function's name, with no mangling or
// parameter list. noipa implies noinline and noclone (no "site.constprop.0" symbol) and keeps
// identical-code folding from merging two sites into one symbol. Bodies do work after the
// allocating call (touching the block), which with -fno-optimize-sibling-calls keeps the call
// from becoming a jump that would drop the site's frame.
#define LEAKHUNT_SITE extern "C" __attribute__((noipa))

namespace leakhunt::victims::agent {

// Makes `pointer` escape, so GCC cannot elide a malloc/free or new/delete pair (-fallocation-dce).
inline void escape(const void* pointer) {
    asm volatile("" : : "g"(pointer) : "memory");
}

// Flags of the form `--name value`; an unknown or malformed flag exits with status 2.
class Flags {
  public:
    Flags(std::span<char* const> args, const char* usage) : m_usage(usage) {
        for (std::size_t i = 1; i < args.size(); ++i) {
            const std::string flag = args[i];
            if (flag == "--help" || flag == "-h") {
                std::printf("%s\n", m_usage);
                std::exit(0);
            }
            if (flag.rfind("--", 0) != 0 || i + 1 >= args.size()) fail("bad argument: " + flag);
            m_values[flag.substr(2)] = args[++i];
        }
    }

    std::string text(const std::string& name, const std::string& fallback) {
        const auto found = m_values.find(name);
        if (found == m_values.end()) return fallback;
        std::string value = found->second;
        m_values.erase(found);
        return value;
    }

    double number(const std::string& name, double fallback) {
        const std::string value = text(name, "");
        if (value.empty()) return fallback;
        char* end = nullptr;
        const double parsed = std::strtod(value.c_str(), &end);
        if (end == value.c_str() || *end != '\0') fail("--" + name + " wants a number: " + value);
        return parsed;
    }

    unsigned long count(const std::string& name, unsigned long fallback) {
        const std::string value = text(name, "");
        if (value.empty()) return fallback;
        char* end = nullptr;
        const unsigned long parsed = std::strtoul(value.c_str(), &end, 10);
        if (end == value.c_str() || *end != '\0' || value[0] == '-') {
            fail("--" + name + " wants a whole number: " + value);
        }
        return parsed;
    }

    // Exits with status 2 if a flag was given that nothing asked for.
    void reject_unknown() const {
        if (!m_values.empty()) fail("unknown flag: --" + m_values.begin()->first);
    }

  private:
    [[noreturn]] void fail(const std::string& message) const {
        std::fprintf(stderr, "error: %s\n%s\n", message.c_str(), m_usage);
        std::exit(2);
    }

    const char* m_usage;
    std::map<std::string, std::string> m_values;
};

}  // namespace leakhunt::victims::agent
