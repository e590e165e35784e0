// The HTTP server and its built-in routes.
#include "server/server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "proc/agent_control.hpp"
#include "profile/pprof.hpp"
#include "server/exposition.hpp"
#include "server/safety.hpp"
#include "symbolize/symbolizer.hpp"
#include "trend/verdict.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/units.hpp"

namespace leakhunt::server {
namespace {

constexpr const char* k_text = "text/plain; charset=utf-8";

std::optional<pid_t> parse_pid(std::string_view text) {
    int pid = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
    if (ec != std::errc() || p != text.data() + text.size() || pid <= 0) return std::nullopt;
    return static_cast<pid_t>(pid);
}

}  // namespace

Server::Server(ServerOptions options, std::shared_ptr<Collector> collector)
    : m_options(std::move(options)), m_collector(std::move(collector)), m_http(m_options.limits) {
    // httplib's default sets SO_REUSEPORT, with which a second `serve` on the same port starts
    // and the kernel shares the connections between the two. SO_REUSEADDR alone still allows a
    // restart while old connections linger in TIME_WAIT, but not two listeners.
    m_http.set_socket_options([](socket_t sock) {
        const int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    m_http.set_keep_alive_timeout(
        std::chrono::duration_cast<std::chrono::seconds>(m_options.limits.request_timeout).count());
    m_http.set_exception_handler(
        [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
            try {
                std::rethrow_exception(ep);
            } catch (const util::Error& e) {
                fail(res, 500, e.what());
            } catch (const std::exception& e) {
                fail(res, 500, fmt::format("internal error: {}", e.what()));
            }
            scrub(req, res);
            if (m_options.log) m_options.log(fmt::format("error: {}", res.body));
        });
    if (m_options.log) {
        m_http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
            m_options.log(fmt::format("{} {} {} {} {} bytes", req.remote_addr, req.method, req.path,
                                      res.status, res.body.size()));
        });
    }
    add_builtin_routes();
}

Server::~Server() = default;

void Server::fail(httplib::Response& res, int status, std::string_view message) {
    res.status = status;
    res.set_content(std::string(message) + "\n", k_text);
}

void Server::scrub(const httplib::Request& req, httplib::Response& res) const {
    if (check_bearer(req.get_header_value("Authorization"), m_options.token) == Auth::ok) return;
    // Profiles and record files are the data asked for; /metrics keeps its source labels (two
    // databases of the same file name would otherwise make one series).
    const std::string type = res.get_header_value("Content-Type");
    if (type.starts_with("application/octet-stream") || type == k_exposition_content_type) return;
    res.body = redact_host_paths(res.body);
}

void Server::get(const std::string& pattern, std::string description, Handler handler) {
    m_routes.push_back({"GET", pattern, std::move(description)});
    m_http.Get(pattern,
               [this, h = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
                   h(req, res);
                   scrub(req, res);
               });
}

void Server::post(const std::string& pattern, std::string description, Handler handler) {
    m_routes.push_back({"POST", pattern, std::move(description)});
    m_http.Post(pattern, [this, h = std::move(handler)](const httplib::Request& req,
                                                        httplib::Response& res) {
        if (authorized(req, res)) h(req, res);
        scrub(req, res);
    });
}

bool Server::authorized(const httplib::Request& req, httplib::Response& res) const {
    switch (check_bearer(req.get_header_value("Authorization"), m_options.token)) {
        case Auth::ok:
            return true;
        case Auth::no_token_configured:
            fail(res, 403,
                 "this endpoint changes state and needs a token: start leakhunt serve "
                 "with --token-file FILE (or --token T) and send "
                 "`Authorization: Bearer T`");
            return false;
        case Auth::missing:
            res.set_header("WWW-Authenticate", "Bearer realm=\"leakhunt\"");
            fail(res, 401, "missing `Authorization: Bearer TOKEN` header");
            return false;
        case Auth::wrong:
            fail(res, 403, "wrong token");
            return false;
    }
    return false;
}

int Server::bind() {
    int port = m_options.port;
    bool ok = false;
    errno = 0;
    if (port == 0) {
        port = m_http.bind_to_any_port(m_options.host);
        ok = port > 0;
    } else {
        ok = m_http.bind_to_port(m_options.host, port);
    }
    if (!ok) {
        const int e = errno;
        std::string why = "is the address one of this host's?";
        if (e == EADDRINUSE) {
            why =
                "the port is in use, by another `leakhunt serve` or another program (see "
                "`ss -ltnp`)";
        } else if (e == EACCES) {
            why = "ports below 1024 need root or CAP_NET_BIND_SERVICE";
        } else if (e == EADDRNOTAVAIL) {
            why = "the address is not one of this host's";
        }
        throw util::Error("cannot listen on {}:{}: {}{}; choose another with --listen HOST:PORT",
                          m_options.host, m_options.port,
                          e != 0 ? util::errno_text(e) + ": " : std::string(), why);
    }
    return port;
}

bool Server::run() {
    return m_http.serve();
}

void Server::stop() {
    m_http.stop_serving();
}

void Server::add_builtin_routes() {
    get("/endpoints", "this page: every endpoint, source and process",
        [this](const auto& req, auto& res) { index(req, res); });
    get("/metrics", "Prometheus metrics of every watched process (text format 0.0.4)",
        [this](const auto& req, auto& res) { metrics(req, res); });
    get("/debug/pprof/heap",
        "a heap profile (gzip pprof) of a process under the agent, now: ?pid=N, or the one live "
        "process of the record directories; ?symbolize=0 for raw addresses",
        [this](const auto& req, auto& res) { pprof_heap(req, res); });
    post("/api/snapshot", "ask the agent in ?pid=N for a heap snapshot in its directory (token)",
         [this](const auto& req, auto& res) { snapshot(req, res); });
    get(R"(/files/(\d+)/(.+))", "a file of the Nth record directory (0-based), e.g. a snapshot",
        [this](const auto& req, auto& res) { file(req, res); });
}

void Server::metrics(const httplib::Request&, httplib::Response& res) {
    res.set_content(m_collector->metrics_text(), std::string(k_exposition_content_type));
}

void Server::index(const httplib::Request&, httplib::Response& res) {
    const auto processes = m_collector->refresh();
    const auto source_list = m_collector->sources();
    std::string html =
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>leakhunt serve</title>"
        "</head><body>\n<h1>leakhunt serve</h1>\n<h2>Endpoints</h2>\n<ul>\n";
    for (const auto& r : m_routes) {
        html += fmt::format("<li><code>{} {}</code>: {}</li>\n", html_escape(r.method),
                            html_escape(r.pattern), html_escape(r.description));
    }
    html += "</ul>\n<h2>Sources</h2>\n<ul>\n";
    for (const auto& s : source_list) {
        html += fmt::format("<li>{}: {}</li>\n", html_escape(s.source),
                            s.up ? std::string("ok") : html_escape(s.error));
    }
    html +=
        "</ul>\n<h2>Processes</h2>\n<table>\n<tr><th>name</th><th>pid</th><th>target</th>"
        "<th>verdict</th><th>growth</th><th>confidence</th><th>samples</th></tr>\n";
    for (const auto& p : processes) {
        const auto& a = p.classification.memory;
        html += fmt::format(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2f}</td>"
            "<td>{}</td></tr>\n",
            html_escape(p.name), p.pid ? std::to_string(*p.pid) : "", html_escape(p.target),
            trend::to_string(a.verdict), html_escape(util::format_rate(a.growth_bytes_per_hour)),
            a.confidence, a.samples);
    }
    html += "</table>\n</body></html>\n";
    res.set_content(html, "text/html; charset=utf-8");
}

void Server::pprof_heap(const httplib::Request& req, httplib::Response& res) {
    // Taking a snapshot writes a file in the agent's directory: with a token configured
    // (a remote bind), scrapers must send it, as Parca and Alloy can.
    if (!m_options.token.empty() && !authorized(req, res)) return;
    pid_t pid = 0;
    if (req.has_param("pid")) {
        auto p = parse_pid(req.get_param_value("pid"));
        if (!p) return fail(res, 400, "pid must be a positive integer");
        pid = *p;
    } else {
        const auto live = m_collector->live_agent_pids();
        if (live.empty()) {
            return fail(res, 404,
                        "no live process under the agent in the record directories "
                        "(--dir); pass ?pid=N");
        }
        if (live.size() > 1) {
            std::string list;
            for (pid_t p : live) list += fmt::format("{}{}", list.empty() ? "" : ", ", p);
            return fail(res, 400,
                        fmt::format("several processes run under the agent ({}): "
                                    "choose one with ?pid=N",
                                    list));
        }
        pid = live.front();
    }
    std::string bytes;
    proc::AgentSnapshot snap;
    try {
        snap = ask_agent(pid, res);
        if (snap.pid == 0) return;
        // The file name came from another process: it is read only inside the agent's
        // directory, without following links, and only if it belongs to the agent's user.
        bytes = snap.read(snap.file);
    } catch (const util::Error& e) {
        return fail(res, 404, e.what());
    }
    if (req.get_param_value("symbolize") != "0") {
        // Like Go's handler, the profile comes with function names, so any pprof reader can
        // show it without the binaries; ?symbolize=0 keeps raw addresses and build IDs for
        // backends that symbolize themselves.
        profile::Profile p = profile::parse_profile(bytes, snap.file);
        symbolize::symbolize_profile(p);
        bytes = profile::serialize_profile(p);
    }
    res.set_header("Content-Disposition", "attachment; filename=\"heap.pb.gz\"");
    res.set_header("X-Leakhunt-Snapshot", snap.file);
    res.set_content(std::move(bytes), "application/octet-stream");
}

proc::AgentSnapshot Server::ask_agent(pid_t pid, httplib::Response& res) {
    // An agent that never answers holds a worker for snapshot_timeout_s: at most half the
    // workers wait for agents, so the others always answer /metrics.
    const std::size_t most = std::max<std::size_t>(1, m_http.limits().workers / 2);
    if (m_agent_requests.fetch_add(1) >= most) {
        m_agent_requests.fetch_sub(1);
        res.set_header("Retry-After", "1");
        fail(res, 503,
             fmt::format("{} snapshot requests are waiting for agents already; try "
                         "again in a second",
                         most));
        return {};
    }
    struct Release {
        std::atomic<std::size_t>& n;
        ~Release() { n.fetch_sub(1); }
    } release{m_agent_requests};
    return proc::request_snapshot(pid, m_options.snapshot_timeout_s);
}

void Server::snapshot(const httplib::Request& req, httplib::Response& res) {
    auto pid = parse_pid(req.get_param_value("pid"));
    if (!pid) return fail(res, 400, "POST /api/snapshot?pid=N: pid must be a positive integer");
    proc::AgentSnapshot snap;
    try {
        snap = ask_agent(*pid, res);
        if (snap.pid == 0) return;
    } catch (const util::Error& e) {
        return fail(res, 404, e.what());
    }
    nlohmann::json j{{"pid", *pid}, {"path", snap.path()}};
    res.set_content(j.dump() + "\n", "application/json");
}

void Server::file(const httplib::Request& req, httplib::Response& res) {
    const auto& dirs = m_collector->config().record_dirs;
    size_t index = 0;
    const std::string index_text = req.matches[1];
    const auto [p, ec] =
        std::from_chars(index_text.data(), index_text.data() + index_text.size(), index);
    if (ec != std::errc() || index >= dirs.size()) {
        return fail(
            res, 404,
            fmt::format("there is no record directory {} (serve has {})", index_text, dirs.size()));
    }
    const auto resolved = resolve_inside(dirs[index], std::string(req.matches[2]));
    if (!resolved) {
        return fail(res, 404,
                    "no such file in the record directory (paths outside it are "
                    "refused)");
    }
    const std::string name = resolved->filename().string();
    const bool csv = name.ends_with(".csv");
    // Read without following a link swapped in after the check, nor blocking on a FIFO.
    res.set_content(util::read_file_in_dir(resolved->parent_path(), name),
                    csv ? "text/csv; charset=utf-8" : "application/octet-stream");
}

}  // namespace leakhunt::server
