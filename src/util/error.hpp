// The one error type the libraries throw. It carries a complete, user-facing sentence: what
// failed, where (file, line, field) and what to do. The CLI prints it as
// "leakhunt: error: <what>" and exits 1; nothing below the CLI prints or exits.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace leakhunt::util {

class Error : public std::runtime_error {
  public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}

    template <typename... Args>
    explicit Error(fmt::format_string<Args...> f, Args&&... args)
        : std::runtime_error(fmt::format(f, std::forward<Args>(args)...)) {}
};

// A usage error: the command line itself is wrong (exit code 2).
class UsageError : public Error {
  public:
    using Error::Error;
};

// errno as text, e.g. "permission denied" (lower case, as in the rest of our messages).
std::string errno_text(int err);

// An exception's message without a leading "[category] " tag, e.g. nlohmann's
// "[json.exception.parse_error.101] ": what a user reads after our own words.
std::string exception_text(const std::exception& e);

}  // namespace leakhunt::util
