// Profiles from where users keep them: a file, or an HTTP endpoint such as Go's
// net/http/pprof (`http://127.0.0.1:6060/debug/pprof/heap`). load_profile is the one entry
// point the commands use for "a profile argument". The fetch uses cpp-httplib's client with
// timeouts; https works through the OpenSSL build of Debian's libcpp-httplib. Errors name the URL
// and what to do. Stateless; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "profile/gzip.hpp"
#include "profile/profile.hpp"

namespace httplib {
enum class Error;  // <httplib.h>
}

namespace leakhunt::profile {

// True when `s` starts with http:// or https://.
bool is_url(std::string_view s);

// A URL split for the HTTP client: "http://host:port" and "/path?query".
struct Url {
    std::string scheme_host_port;
    std::string path_and_query;
    std::string host;  // as written, IPv6 without brackets
    int port = 0;      // 80 or 443 when the URL has none
};

// Splits an http:// or https:// URL; throws util::Error naming it when the host is missing,
// the port is not a number from 1 to 65535, or the scheme is not http/https.
Url parse_url(std::string_view url);

struct FetchOptions {
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds read_timeout{60000};  // Go may take a while on big heaps
    // A longer reply is refused (an error naming the URL and the limit).
    uint64_t max_bytes = k_max_decompressed_bytes;
};

// The body of a GET on `url` (redirects followed). Throws util::Error naming the URL on a
// connection failure, a timeout, a status other than 200 (with the start of the reply), or a
// body larger than options.max_bytes.
std::string fetch_url(std::string_view url, const FetchOptions& options = {});

// Why an HTTP request failed, in words a user can act on, for every place leakhunt's HTTP client
// reports a failure (httplib's own names, "Read" or "Connection", say neither what happened nor
// what to do). `read_timeout_s` is the client's read timeout, named when a read may have timed out.
std::string http_failure_text(httplib::Error error, double read_timeout_s);

// A heap profile from a file path or an http(s):// URL, in any format parse_profile reads.
Profile load_profile(std::string_view path_or_url, const FetchOptions& options = {});

}  // namespace leakhunt::profile
