// The live web UI of `leakhunt serve`: / lists the targets of the watch databases (name, pid,
// verdict, growth) and the processes of the record directories (with their snapshot and scan
// counts), each linking to /live?db=N&target=KEY or /live?dir=N&pid=P, the report page in live
// mode (report::render_live_html) that re-fetches /api/report.json with the same parameters and
// redraws. The data is the report's (ReportBuilder over report::add_input), so the live page
// shows what `leakhunt report` would: timeline and verdict, and for record directories the flame
// graphs, suspects and retention paths. Sources are named by index into --db / --dir, never by
// path. Built documents are cached per source and rebuilt only when the source changed (the
// database file and its WAL, or the record directory's files: count, sizes, newest mtime).
// Thread-safe: routes run on httplib's workers; the cache has its own mutex.
#pragma once

#include <string>
#include <string_view>

namespace leakhunt::server {

class Server;

inline constexpr int k_ui_refresh_ms = 5000;

// Registers /, /live, /api/targets.json and /api/report.json on `server` (whose built-in
// endpoint index is then at /endpoints).
void add_ui_routes(Server& server, int refresh_ms = k_ui_refresh_ms);

// `text` percent-encoded for a URL query value (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view text);

}  // namespace leakhunt::server
