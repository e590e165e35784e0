// The connection handling of `leakhunt serve`, in front of cpp-httplib's request parser. httplib
// gives each connection a worker thread from accept() on, for as long as the client keeps it
// open: ten clients that send a header line every two seconds, or a few idle keep-alive
// connections, hold every worker and no scrape is answered. Here one thread (the gate) holds
// the connections that have not sent a whole request head yet, with no worker, and drops them
// when the head does not arrive within GateLimits::request_timeout; only a connection with a
// complete head goes to a worker, which parses and answers it with httplib's process_request and
// hands the connection back to the gate for the next request (keep-alive). The gate also bounds
// the open connections per client address and in all; a new connection over a bound pushes out
// the oldest one still waiting for its head, so a flood evicts itself, not a prompt scraper.
// Thread-safety: serve() runs on one thread; stop_serving() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include <httplib.h>

namespace leakhunt::server {

struct GateLimits {
    // A request's head must arrive within this of the connection's start or of the previous
    // response on it (also the keep-alive idle time); its body within this of the head.
    std::chrono::milliseconds request_timeout{5000};
    // A response must be taken by the client within this (a reader that never reads is
    // dropped).
    std::chrono::milliseconds response_timeout{30000};
    std::size_t max_head_bytes = 16384;
    std::size_t per_client = 32;        // open connections per client address
    std::size_t max_connections = 512;  // open connections in all (also kept under RLIMIT_NOFILE)
    std::size_t workers = 8;            // threads that answer complete requests
};

class GatedServer : public httplib::Server {
  public:
    explicit GatedServer(GateLimits limits = {});
    GatedServer(const GatedServer&) = delete;
    GatedServer& operator=(const GatedServer&) = delete;
    ~GatedServer() override;

    // Serves on the socket bound by bind_to_port / bind_to_any_port until stop_serving();
    // returns false if accepting failed.
    bool serve();
    void stop_serving();

    const GateLimits& limits() const { return m_limits; }

    // One client connection: its socket, its address, bytes read ahead of the parser, and when
    // the gate gives up waiting for its next request head.
    struct Connection {
        int fd = -1;
        std::string ip;
        int port = 0;
        std::string buffered;
        std::chrono::steady_clock::time_point deadline;
        bool keep = false;  // handed back open by a worker
    };

  private:
    void answer(Connection c);
    void hand_back(Connection c);

    GateLimits m_limits;
    int m_wake = -1;  // eventfd: stop, or a worker handed a connection back
    std::atomic<bool> m_stop{false};
    std::mutex m_mutex;
    std::deque<Connection> m_returned;  // guarded by m_mutex
    std::unique_ptr<httplib::ThreadPool> m_pool;
};

}  // namespace leakhunt::server
