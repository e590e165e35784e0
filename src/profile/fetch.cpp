// HTTP GET of a profile with cpp-httplib. Debian builds libcpp-httplib.so with OpenSSL, zlib and
// brotli, and the class layouts in httplib.h depend on those macros, so this file defines the
// same ones (see CMakeLists.txt) to match the library's ABI; that also makes https:// work.
#include "profile/fetch.hpp"

#include <httplib.h>

#include <algorithm>
#include <charconv>

#include "profile/gzip.hpp"
#include "profile/pprof.hpp"
#include "util/error.hpp"
#include "util/units.hpp"

namespace leakhunt::profile {
namespace {

// The first bytes of a reply, printable, for an error message.
std::string excerpt(std::string_view body) {
    std::string out;
    for (char c : body.substr(0, 120)) {
        if (c == '\n' || c == '\r' || c == '\t') {
            out += ' ';
        } else if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f) {
            out += c;
        } else {
            out += '?';
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

}  // namespace

bool is_url(std::string_view s) {
    return s.starts_with("http://") || s.starts_with("https://");
}

Url parse_url(std::string_view url) {
    const size_t scheme_end = url.find("://");
    const std::string_view scheme =
        scheme_end == std::string_view::npos ? std::string_view{} : url.substr(0, scheme_end);
    if (scheme != "http" && scheme != "https") {
        throw util::Error(
            "{} is not an http:// or https:// URL (e.g. "
            "http://127.0.0.1:6060/debug/pprof/heap)",
            url);
    }
    const std::string_view rest = url.substr(scheme_end + 3);
    const size_t slash = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, slash);
    std::string path(slash == std::string_view::npos ? "/" : rest.substr(slash));
    if (const size_t hash = path.find('#'); hash != std::string::npos) path.resize(hash);
    if (path.empty() || path.front() != '/') path.insert(0, "/");
    if (authority.find('@') != std::string_view::npos) {
        throw util::Error("{}: user names and passwords in URLs are not supported", url);
    }
    // host, host:port, [v6], [v6]:port
    std::string_view host = authority;
    std::string_view port;
    if (authority.starts_with("[")) {
        const size_t close = authority.find(']');
        if (close == std::string_view::npos) throw util::Error("{}: unclosed [ in the host", url);
        host = authority.substr(0, close + 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') throw util::Error("{}: bad host:port", url);
            port = authority.substr(close + 2);
        }
    } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty() || host == "[]") throw util::Error("{}: the URL has no host", url);
    if (authority.find_first_of(" \t") != std::string_view::npos)
        throw util::Error("{}: the host contains a space", url);
    int port_number = scheme == "https" ? 443 : 80;
    if (!port.empty() || authority.ends_with(":")) {
        int n = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
        if (ec != std::errc{} || ptr != port.data() + port.size() || n < 1 || n > 65535) {
            throw util::Error("{}: the port `{}` is not a number from 1 to 65535", url, port);
        }
        port_number = n;
    }
    if (host.starts_with("[")) host = host.substr(1, host.size() - 2);
    return {std::string(scheme) + "://" + std::string(authority), std::move(path),
            std::string(host), port_number};
}

std::string fetch_url(std::string_view url, const FetchOptions& options) {
    const Url u = parse_url(url);
    httplib::Client client(u.scheme_host_port);
    if (!client.is_valid()) {
        throw util::Error("cannot fetch {}: the HTTP client cannot handle this address", url);
    }
    client.set_connection_timeout(options.connect_timeout);
    client.set_read_timeout(options.read_timeout);
    client.set_follow_location(true);
    std::string body;
    bool too_big = false;
    int status = 0;
    auto result = client.Get(
        u.path_and_query,
        [&](const httplib::Response& response) {
            status = response.status;
            return true;
        },
        [&](const char* data, size_t length) {
            // Keep only the start of an error reply; refuse a body no profile can need.
            if (status != 200 && body.size() > 4096) return true;
            if (body.size() + length > options.max_bytes) {
                too_big = true;
                return false;
            }
            body.append(data, length);
            return true;
        });
    if (too_big) {
        throw util::Error(
            "cannot fetch {}: the reply is larger than {}, more than leakhunt reads "
            "from this endpoint",
            url, util::format_bytes(static_cast<double>(options.max_bytes)));
    }
    if (!result) {
        const httplib::Error e = result.error();
        const bool tls =
            e == httplib::Error::SSLConnection || e == httplib::Error::SSLServerVerification;
        throw util::Error(
            "cannot fetch {}: {} ({})", url,
            http_failure_text(e, std::chrono::duration<double>(options.read_timeout).count()),
            tls ? "check the certificate, or use http:// on a loopback port"
                : "is the service running and listening there?");
    }
    if (status != 200) {
        const std::string start = excerpt(body);
        throw util::Error(
            "cannot fetch {}: the server answered HTTP {}{}{} (check the URL; Go "
            "serves heap profiles at /debug/pprof/heap once net/http/pprof is "
            "imported)",
            url, status, start.empty() ? "" : ": ", start);
    }
    return body;
}

std::string http_failure_text(httplib::Error error, double read_timeout_s) {
    switch (error) {
        case httplib::Error::Connection:
        case httplib::Error::ConnectionTimeout:
            return "the connection was refused or timed out";
        case httplib::Error::Read:
            return fmt::format("the server did not answer within {:g} s or closed the connection",
                               read_timeout_s);
        case httplib::Error::Write:
            return "the server closed the connection while the request was being sent";
        case httplib::Error::SSLConnection:
            return "the TLS handshake failed";
        case httplib::Error::SSLLoadingCerts:
            return "the CA certificates could not be loaded";
        case httplib::Error::SSLServerVerification:
            return "the server's certificate was not accepted";
        case httplib::Error::ExceedRedirectCount:
            return "too many redirects";
        case httplib::Error::BindIPAddress:
            return "no local address to connect from";
        case httplib::Error::Compression:
            return "the reply's compression could not be undone";
        default:
            return fmt::format("the request failed (HTTP client error {})",
                               static_cast<int>(error));
    }
}

Profile load_profile(std::string_view path_or_url, const FetchOptions& options) {
    if (!is_url(path_or_url)) return read_profile(std::filesystem::path(path_or_url));
    const std::string body = fetch_url(path_or_url, options);
    if (body.empty()) {
        throw util::Error(
            "cannot read {}: the server sent an empty reply (expected a heap "
            "profile; is this a pprof heap endpoint?)",
            path_or_url);
    }
    return parse_profile(body, path_or_url);
}

}  // namespace leakhunt::profile
