// `leakhunt serve`'s HTTP server: a cpp-httplib server with the built-in routes (an index at /,
// Prometheus /metrics, /debug/pprof/heap for processes under the agent, POST /api/snapshot, and
// /files/ for the record directories' files) and a way for other views to add routes (get /
// post). POST routes always need `Authorization: Bearer TOKEN`; with no token configured they
// answer 403. Text bodies for requests without the token name no absolute path of the host
// (redact_host_paths), except /metrics' source labels. Connections go through a GatedServer
// (connection_gate.hpp), so slow or idle clients cannot keep a scrape from being answered.
// The server never prints: request lines go to the log callback (--verbose).
// Thread-safety: routes run on httplib's worker threads; stop() may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>

#include "proc/agent_control.hpp"
#include "server/collector.hpp"
#include "server/connection_gate.hpp"

namespace leakhunt::server {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 9464;    // 0: any free port (see Server::bind)
    std::string token;  // empty: no token; state-changing routes are then refused
    // Called once per request when set (serve --verbose), and for errors worth a line.
    std::function<void(std::string_view)> log;
    double snapshot_timeout_s = 10;
    GateLimits limits;  // slow and idle clients, connections per client
};

class Server {
  public:
    using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

    Server(ServerOptions options, std::shared_ptr<Collector> collector);
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server();

    // Registers a GET route (pattern is an httplib regex such as R"(/api/series/(\d+))"); the
    // description is listed on the index page.
    void get(const std::string& pattern, std::string description, Handler handler);
    // Registers a POST route that runs only with the right bearer token.
    void post(const std::string& pattern, std::string description, Handler handler);

    // Binds the listen address; returns the port (the chosen one for port 0). Throws util::Error.
    int bind();
    // Serves until stop(); returns false if the server failed.
    bool run();
    void stop();

    Collector& collector() { return *m_collector; }
    const ServerOptions& options() const { return m_options; }

    // Sends a plain-text error body with the status.
    static void fail(httplib::Response& res, int status, std::string_view message);

  private:
    struct Route {
        std::string method;
        std::string pattern;
        std::string description;
    };
    void add_builtin_routes();
    void index(const httplib::Request& req, httplib::Response& res);
    void metrics(const httplib::Request& req, httplib::Response& res);
    void pprof_heap(const httplib::Request& req, httplib::Response& res);
    void snapshot(const httplib::Request& req, httplib::Response& res);
    void file(const httplib::Request& req, httplib::Response& res);
    bool authorized(const httplib::Request& req, httplib::Response& res) const;
    // proc::request_snapshot, unless too many requests wait for agents already (then 503 is set
    // and the result's pid is 0). Throws util::Error.
    proc::AgentSnapshot ask_agent(pid_t pid, httplib::Response& res);
    // Cuts absolute host paths out of a text body for a request without the right token.
    void scrub(const httplib::Request& req, httplib::Response& res) const;

    ServerOptions m_options;
    std::shared_ptr<Collector> m_collector;
    GatedServer m_http;
    std::vector<Route> m_routes;
    std::atomic<std::size_t> m_agent_requests{0};
};

}  // namespace leakhunt::server
