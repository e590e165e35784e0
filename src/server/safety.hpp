// The server's defences, as small pure functions the routes share and the tests call directly:
// HTML escaping of untrusted text (process names, symbols, paths), whether a listen address is
// loopback, bearer-token checks in constant time, and resolving a client-supplied relative path
// inside a data directory (canonicalized, so neither ../ nor a symlink leads outside). Thread-safe.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace leakhunt::server {

// &, <, >, " and ' as entities (report::html_escape); safe in element content and in quoted
// attribute values.
std::string html_escape(std::string_view text);

// "127.0.0.1:9464" -> {host, port}; "[::1]:9464" and ":9464" (loopback) too. Throws
// util::UsageError naming --listen for anything else or a port outside 0..65535.
struct ListenAddress {
    std::string host;
    int port = 0;
};
ListenAddress parse_listen(std::string_view text);

// True for 127.0.0.0/8, ::1 and "localhost": addresses no other host can reach.
bool is_loopback(std::string_view host);

// `text` with every absolute path of this host cut to its last component ("cannot read
// /srv/rec/heap.1.0001.pb.gz: ..." -> "cannot read heap.1.0001.pb.gz: ..."), for bodies served to
// clients that sent no token. A path starts with '/' at the start of the text or after a space,
// quote, '(', '[', '=', ':' or ',', runs to the next space, quote, ':', ',', ';', ')', ']', '<' or
// '>', and counts only if its first component exists in / (so /api/snapshot and /metrics, which
// name routes, stay).
std::string redact_host_paths(std::string_view text);

// The result of checking an Authorization header against the configured token.
enum class Auth { ok, missing, wrong, no_token_configured };
Auth check_bearer(std::string_view authorization_header, std::string_view token);

// The file `relative` names inside `root`, if it exists, is a regular file and its canonical
// path (symlinks resolved) lies inside the canonical root. nullopt for an absolute path, a path
// that escapes with ../ or through a symlink, or a missing file.
std::optional<std::filesystem::path> resolve_inside(const std::filesystem::path& root,
                                                    std::string_view relative);

}  // namespace leakhunt::server
