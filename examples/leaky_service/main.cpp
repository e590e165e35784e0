// leaky_service: a small HTTP service (cpp-httplib) used by the README's demo and by tests. Each
// GET /session request does the allocation churn of a real handler (a header map, a vector of
// records, a response string, all freed afterwards) and, in the default leak mode, adds an entry
// to a per-request cache that is never evicted. SIGTERM and SIGINT are taken by a dedicated
// thread with sigwait(2), which stops the server, so shutdown is clean and async-signal-safe.
#include <httplib.h>
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <map>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "options.hpp"
#include "session_cache.hpp"

namespace leakhunt::examples {
namespace {

struct Record {
    std::string name;
    std::string value;
    std::int64_t score = 0;
};

// The per-request work: every allocation made here is freed when the request ends.
std::string build_session_response(const httplib::Request& request, std::uint64_t request_id,
                                   SessionCache& cache) {
    const std::string user = request.has_param("user") ? request.get_param_value("user") : "anon";

    std::map<std::string, std::string> headers(request.headers.begin(), request.headers.end());
    headers["x-request-id"] = "request-id-" + std::to_string(request_id);
    headers["x-served-by"] = "leaky_service-worker-pool";

    std::vector<Record> records;
    records.reserve(32);
    for (std::int64_t i = 0; i < 32; ++i) {
        records.push_back({"record-name-for-user-" + user + "-" + std::to_string(i),
                           "record-value-long-enough-to-allocate-" + std::to_string(i * 7919),
                           i * static_cast<std::int64_t>(request_id % 1000)});
    }

    const std::size_t cached = cache.remember(request_id, user);

    std::string body = "{\"request\":" + std::to_string(request_id) + ",\"user\":\"" + user +
                       "\",\"headers\":" + std::to_string(headers.size()) + ",\"records\":[";
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (i != 0) body += ',';
        body += "{\"name\":\"" + records[i].name +
                "\",\"score\":" + std::to_string(records[i].score) + '}';
    }
    body += "],\"cached_sessions\":" + std::to_string(cached) + "}\n";
    return body;
}

int run(const Options& options) {
    // Block the stop signals before any thread starts, so every thread inherits the mask and
    // only the sigwait thread below ever sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    SessionCache cache(options.mode, options.cache_entries, options.leak_bytes);
    std::atomic<std::uint64_t> next_request_id{1};

    httplib::Server server;
    const std::size_t threads = options.threads;
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // Without TCP_NODELAY, httplib's two writes per response (headers, body) meet delayed ACKs
    // and every request takes ~40 ms: the demo would be latency-bound at a few hundred req/s.
    server.set_tcp_nodelay(true);
    server.Get("/session", [&](const httplib::Request& request, httplib::Response& response) {
        const std::uint64_t id = next_request_id.fetch_add(1, std::memory_order_relaxed);
        response.set_content(build_session_response(request, id, cache), "application/json");
    });
    server.Get("/health", [](const httplib::Request&, httplib::Response& response) {
        response.set_content("ok\n", "text/plain");
    });
    server.Get("/stats", [&](const httplib::Request&, httplib::Response& response) {
        response.set_content(
            "{\"mode\":\"" + std::string(mode_name(options.mode)) +
                "\",\"requests\":" + std::to_string(next_request_id.load() - 1) +
                ",\"cached_sessions\":" + std::to_string(cache.size()) +
                ",\"cached_payload_bytes\":" + std::to_string(cache.payload_bytes_held()) + "}\n",
            "application/json");
    });

    if (!server.bind_to_port("127.0.0.1", options.port)) {
        std::fprintf(stderr, "leaky_service: error: cannot listen on 127.0.0.1:%u (port in use?)\n",
                     static_cast<unsigned>(options.port));
        return 1;
    }

    std::thread signal_thread([&server, stop_signals] {
        int signal_number = 0;
        sigwait(&stop_signals, &signal_number);
        server.stop();
    });

    std::printf("leaky_service: listening on 127.0.0.1:%u (mode %s)\n",
                static_cast<unsigned>(options.port), mode_name(options.mode));
    std::fflush(stdout);
    const bool listened = server.listen_after_bind();

    // If listen ended on its own, wake the signal thread so it can be joined.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
    std::fprintf(stderr, "leaky_service: stopped after %llu requests, %zu cached sessions\n",
                 static_cast<unsigned long long>(next_request_id.load() - 1), cache.size());
    return listened ? 0 : 1;
}

}  // namespace
}  // namespace leakhunt::examples

int main(int argc, char** argv) {
    using namespace leakhunt::examples;
    const auto parsed = parse_options(std::span<char* const>(argv, static_cast<std::size_t>(argc)));
    if (parsed.help) {
        std::fputs(usage_text(), stdout);
        return 0;
    }
    if (!parsed.options) {
        std::fprintf(stderr, "leaky_service: error: %s\n%s", parsed.error.c_str(), usage_text());
        return 2;
    }
    return run(*parsed.options);
}
