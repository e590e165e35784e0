// `leakhunt serve`: the HTTP server over watch databases and record directories (a live web UI
// at /, Prometheus /metrics, /debug/pprof/heap, an endpoint index at /endpoints). Loopback by
// default; a remote --listen needs a token. Stops cleanly on SIGINT and SIGTERM: the signals are
// blocked in every thread and one thread waits for them with sigwait (no async-signal handler
// touches the server).
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "series/store.hpp"
#include "server/safety.hpp"
#include "server/server.hpp"
#include "server/ui_routes.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::cli {
namespace {

struct ServeArgs {
    std::string listen = "127.0.0.1:9464";
    std::vector<std::string> dbs;
    std::vector<std::string> dirs;
    std::string token;
    std::string token_file;
    std::string limit;
    bool verbose = false;
    int refresh_ms = server::k_ui_refresh_ms;
};

std::string read_token(const ServeArgs& args) {
    if (!args.token.empty() && !args.token_file.empty()) {
        throw util::UsageError("give --token or --token-file, not both");
    }
    std::string token = args.token;
    if (!args.token_file.empty()) {
        token = util::read_file(args.token_file);
        while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
        if (token.empty()) {
            throw util::UsageError(
                "--token-file {} is empty (write a random token into it, "
                "e.g. head -c 24 /dev/urandom | base64 > {})",
                args.token_file, args.token_file);
        }
    }
    if (token.find_first_of(" \t\r\n") != std::string::npos) {
        throw util::UsageError("the token must not contain spaces or line breaks");
    }
    return token;
}

int run_serve(const ServeArgs& args) {
    const server::ListenAddress address = server::parse_listen(args.listen);
    const std::string token = read_token(args);
    if (!server::is_loopback(address.host) && token.empty()) {
        throw util::UsageError(
            "--listen {} is reachable from other hosts, and serve shows process names and "
            "memory and takes heap snapshots: give --token-file FILE (or --token T) so that "
            "clients must send `Authorization: Bearer T`, or listen on 127.0.0.1",
            args.listen);
    }
    server::SourceConfig sources;
    for (const auto& d : args.dbs) sources.databases.emplace_back(d);
    for (const auto& d : args.dirs) sources.record_dirs.emplace_back(d);
    if (sources.databases.empty() && sources.record_dirs.empty()) {
        sources.databases.push_back(series::default_db_path());
    }
    if (!args.limit.empty()) sources.limit_bytes = parse_bytes_option("--limit", args.limit);

    server::ServerOptions options;
    options.host = address.host;
    options.port = address.port;
    options.token = token;
    if (args.verbose) {
        options.log = [](std::string_view line) {
            std::fprintf(stderr, "leakhunt serve: %.*s\n", static_cast<int>(line.size()),
                         line.data());
        };
    }
    auto collector = std::make_shared<server::Collector>(sources);
    server::Server http(options, collector);
    server::add_ui_routes(http, args.refresh_ms);

    // Block the stop signals before any thread starts, so that only sigwait sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    const int port = http.bind();
    const std::string shown_host =
        address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host;
    std::printf("leakhunt serve: listening on http://%s:%d/ (metrics at /metrics)\n",
                shown_host.c_str(), port);
    std::fflush(stdout);

    std::thread waiter([&http, stop_signals] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        http.stop();
    });
    const bool ok = http.run();
    // If the server ended on its own, wake the waiter with a signal it waits for.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    if (!ok) throw util::Error("the server on {} stopped with an error", args.listen);
    return k_exit_ok;
}

}  // namespace

Runner add_serve(CLI::App& app) {
    auto args = std::make_shared<ServeArgs>();
    CLI::App* cmd = app.add_subcommand(
        "serve",
        "HTTP server: Prometheus /metrics and /debug/pprof/heap over watch databases "
        "and record directories");
    cmd->add_option("--listen", args->listen,
                    "HOST:PORT to listen on; port 0 picks a free one. Anything but loopback "
                    "needs --token-file or --token")
        ->capture_default_str();
    cmd->add_option("--db", args->dbs,
                    "A `leakhunt watch --db` database to serve (repeatable; default: the watch "
                    "default database when no --dir is given)");
    cmd->add_option("--dir", args->dirs,
                    "A `leakhunt record --out` directory (repeatable): its processes' timelines, "
                    "and heap profiles on /debug/pprof/heap");
    cmd->add_option("--token", args->token,
                    "Bearer token for state-changing endpoints (visible in ps: prefer "
                    "--token-file)");
    cmd->add_option("--token-file", args->token_file, "File holding the bearer token");
    cmd->add_option("--limit", args->limit,
                    "Memory limit for the time-to-limit projection, e.g. 2G (default: the "
                    "cgroup limit when watched)");
    cmd->add_flag("--verbose", args->verbose, "Log one line per request on stderr");
    cmd->add_option("--refresh-ms", args->refresh_ms,
                    "How often the live pages of the web UI (/) re-fetch their data")
        ->check(CLI::Range(500, 3600000))
        ->capture_default_str();
    return [args] { return run_serve(*args); };
}

}  // namespace leakhunt::cli
