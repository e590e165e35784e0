// The server's defences: escaping, loopback checks, tokens and path containment.
#include "server/safety.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "report/html_report.hpp"
#include "util/error.hpp"

namespace leakhunt::server {
namespace fs = std::filesystem;

std::string html_escape(std::string_view text) {
    return report::html_escape(text);
}

ListenAddress parse_listen(std::string_view text) {
    const auto bad = [&](std::string_view why) {
        return util::UsageError(
            "--listen {}: {} (use HOST:PORT, e.g. 127.0.0.1:9464 or "
            "[::1]:9464)",
            text, why);
    };
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) throw bad("no port");
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        throw bad("an IPv6 address needs brackets");
    }
    int port = -1;
    const auto [p, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port < 0 || port > 65535) {
        throw bad("the port must be a number from 0 to 65535");
    }
    ListenAddress out;
    out.host = host.empty() ? "127.0.0.1" : std::string(host);
    out.port = port;
    return out;
}

bool is_loopback(std::string_view host) {
    if (host == "localhost") return true;
    const std::string h(host);
    in_addr v4{};
    if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&v6) != 0;
    }
    return false;
}

std::string redact_host_paths(std::string_view text) {
    constexpr std::string_view k_before = " \t\n\"'([=:,";
    constexpr std::string_view k_end = " \t\r\n\"':,;)]<>";
    std::map<std::string, bool, std::less<>> exists;  // first components seen, stat'ed once
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        const bool starts =
            text[i] == '/' && (i == 0 || k_before.find(text[i - 1]) != k_before.npos);
        if (!starts) {
            out += text[i++];
            continue;
        }
        size_t end = text.find_first_of(k_end, i);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view path = text.substr(i, end - i);
        const std::string_view first = path.substr(1, path.find('/', 1) - 1);
        bool host = false;
        if (!first.empty() && first != "." && first != "..") {
            auto it = exists.find(first);
            if (it == exists.end()) {
                std::error_code ec;
                it =
                    exists.emplace(std::string(first), fs::exists(fs::path("/") / first, ec)).first;
            }
            host = it->second;
        }
        if (host) {
            std::string_view name = path;
            while (name.size() > 1 && name.back() == '/') name.remove_suffix(1);
            name = name.substr(name.rfind('/') + 1);
            out += name.empty() ? std::string_view("...") : name;
        } else {
            out += path;
        }
        i = end;
    }
    return out;
}

Auth check_bearer(std::string_view header, std::string_view token) {
    if (token.empty()) return Auth::no_token_configured;
    constexpr std::string_view k_scheme = "Bearer ";
    if (header.empty()) return Auth::missing;
    if (header.size() < k_scheme.size() ||
        !std::equal(k_scheme.begin(), k_scheme.end(), header.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
        })) {
        return Auth::missing;
    }
    const std::string_view given = header.substr(k_scheme.size());
    // Constant time in the token's content (the length is not secret enough to hide).
    unsigned char diff = given.size() == token.size() ? 0 : 1;
    for (size_t i = 0; i < token.size(); ++i) {
        const char g = i < given.size() ? given[i] : '\0';
        diff = static_cast<unsigned char>(diff | (g ^ token[i]));
    }
    return diff == 0 ? Auth::ok : Auth::wrong;
}

std::optional<fs::path> resolve_inside(const fs::path& root, std::string_view relative) {
    if (relative.empty() || relative.find('\0') != std::string_view::npos) return std::nullopt;
    const fs::path rel(relative);
    if (rel.is_absolute()) return std::nullopt;
    std::error_code ec;
    const fs::path base = fs::canonical(root, ec);
    if (ec) return std::nullopt;
    const fs::path full = fs::canonical(base / rel, ec);
    if (ec) return std::nullopt;
    // Component-wise prefix: /data/rec must not accept /data/rec2/x.
    auto b = base.begin();
    auto f = full.begin();
    for (; b != base.end(); ++b, ++f) {
        if (f == full.end() || *b != *f) return std::nullopt;
    }
    if (f == full.end()) return std::nullopt;  // the root itself
    if (!fs::is_regular_file(full, ec)) return std::nullopt;
    return full;
}

}  // namespace leakhunt::server
