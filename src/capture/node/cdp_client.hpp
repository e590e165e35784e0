// A client of V8's inspector as Node.js serves it: the target list over HTTP (GET /json/list) and
// the Chrome DevTools Protocol over a WebSocket (Boost.Beast), JSON through nlohmann-json. It
// connects to loopback addresses only, bounds every reply (k_max_message_bytes, and a small limit
// on the HTTP list) and every wait (each call takes a timeout; nothing blocks longer). Text from
// the inspector is untrusted: it only reaches errors through short_text(). One session owns one
// connection; not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace leakhunt::capture::node {

// A loopback address and port: "127.0.0.1" or "::1".
struct Endpoint {
    std::string address;
    std::uint16_t port = 0;
};

// One debuggable target of /json/list (a Node process lists one: its main thread).
struct InspectorTarget {
    std::string id;
    std::string title;
    std::string url;
    std::string websocket_path;  // "/<uuid>", from webSocketDebuggerUrl
};

// The largest WebSocket message or HTTP body read from the inspector. A sampling profile of a
// large heap is a few MB; a heap snapshot arrives in chunks of about 100 KB.
inline constexpr std::size_t k_max_message_bytes = std::size_t{256} << 20;
inline constexpr std::size_t k_max_list_bytes = std::size_t{1} << 20;

// The start of untrusted text, at most `max` bytes, for an error message.
std::string short_text(std::string_view text, std::size_t max = 200);

// GET /json/list. Throws util::Error when the endpoint is not loopback, the connection fails or
// times out, the reply is not an inspector's target list, or it is larger than k_max_list_bytes.
std::vector<InspectorTarget> list_targets(const Endpoint& endpoint,
                                          std::chrono::milliseconds timeout);

// A CDP session on one target.
class CdpSession {
  public:
    using EventHandler = std::function<void(std::string_view method, const nlohmann::json& params)>;

    // Connects (TCP, then the WebSocket handshake) within `timeout`. Throws util::Error.
    CdpSession(const Endpoint& endpoint, const std::string& websocket_path,
               std::chrono::milliseconds timeout);
    ~CdpSession();  // closes the connection (a close frame when it still works)
    CdpSession(const CdpSession&) = delete;
    CdpSession& operator=(const CdpSession&) = delete;

    // Events that arrive while a call waits for its reply go here (others are dropped).
    void set_event_handler(EventHandler handler);

    // Sends {"id", "method", "params"} and waits for the reply with that id: returns its
    // "result". Throws util::Error on an error reply (naming the method and the inspector's
    // message), when `timeout` passes with no message at all (`idle`: each event restarts the
    // wait, so a long stream of chunks is not cut off), when the connection drops, or when a
    // message exceeds k_max_message_bytes. After a throw other than an error reply the session
    // is closed.
    nlohmann::json call(std::string_view method, const nlohmann::json& params,
                        std::chrono::milliseconds idle_timeout);

    // Sends a call without waiting for its reply (for a call after which the inspector goes
    // away, e.g. one that closes it).
    void send(std::string_view method, const nlohmann::json& params,
              std::chrono::milliseconds timeout);

    bool open() const;
    void close();

  private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace leakhunt::capture::node
