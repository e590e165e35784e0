// Every operation is asynchronous on a private io_context and run to completion at once, with
// beast::tcp_stream's expiry as the bound on the wait: a silent or stalled inspector becomes
// beast::error::timeout (the socket is closed), never a hang. Synchronous Asio reads would not
// do: they poll again on EAGAIN and ignore SO_RCVTIMEO.
#include "capture/node/cdp_client.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace leakhunt::capture::node {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

// Starts one asynchronous operation (`start` gets the completion handler), runs the context
// until it completes and returns its error.
template <typename Start>
beast::error_code run_one(asio::io_context& ioc, Start&& start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
}

std::string where(const Endpoint& e) {
    return e.address.find(':') != std::string::npos ? fmt::format("[{}]:{}", e.address, e.port)
                                                    : fmt::format("{}:{}", e.address, e.port);
}

tcp::endpoint loopback_endpoint(const Endpoint& e) {
    beast::error_code ec;
    const asio::ip::address a = asio::ip::make_address(e.address, ec);
    if (ec || !a.is_loopback()) {
        throw util::Error(
            "the inspector address {} is not a loopback address: leakhunt "
            "connects to 127.0.0.1 or ::1 only",
            short_text(e.address));
    }
    return {a, e.port};
}

std::string failure(const beast::error_code& ec, std::chrono::milliseconds timeout) {
    if (ec == beast::error::timeout) {
        return fmt::format("no reply within {:.3g} s", static_cast<double>(timeout.count()) / 1000);
    }
    if (ec == websocket::error::message_too_big || ec == http::error::body_limit) {
        return fmt::format("it sent a message larger than the {} MiB leakhunt reads",
                           k_max_message_bytes >> 20);
    }
    if (ec == websocket::error::closed || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
        return "the connection was closed (the process ended, or closed its inspector)";
    }
    return ec.message();
}

void connect(asio::io_context& ioc, beast::tcp_stream& stream, const Endpoint& endpoint,
             std::chrono::milliseconds timeout) {
    const tcp::endpoint target = loopback_endpoint(endpoint);
    stream.expires_after(timeout);
    const auto ec = run_one(ioc, [&](auto handler) { stream.async_connect(target, handler); });
    if (ec) {
        throw util::Error("cannot connect to the inspector at {}: {}", where(endpoint),
                          failure(ec, timeout));
    }
}

}  // namespace

std::string short_text(std::string_view text, std::size_t max) {
    if (text.size() <= max) return std::string(text);
    return std::string(text.substr(0, max)) + "...";
}

std::vector<InspectorTarget> list_targets(const Endpoint& endpoint,
                                          std::chrono::milliseconds timeout) {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    connect(ioc, stream, endpoint, timeout);
    http::request<http::empty_body> request{http::verb::get, "/json/list", 11};
    request.set(http::field::host, where(endpoint));
    request.set(http::field::connection, "close");
    stream.expires_after(timeout);
    beast::error_code ec =
        run_one(ioc, [&](auto handler) { http::async_write(stream, request, handler); });
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(k_max_list_bytes);
    if (!ec) {
        stream.expires_after(timeout);
        ec = run_one(ioc, [&](auto handler) { http::async_read(stream, buffer, parser, handler); });
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (ec) {
        throw util::Error("cannot read the inspector's target list from http://{}/json/list: {}",
                          where(endpoint), failure(ec, timeout));
    }
    const auto& response = parser.get();
    if (response.result() != http::status::ok) {
        throw util::Error("http://{}/json/list answered {} {}: not a node inspector",
                          where(endpoint), response.result_int(),
                          short_text(std::string(response.reason()), 60));
    }
    const json list = json::parse(response.body(), nullptr, false);
    if (!list.is_array()) {
        throw util::Error(
            "http://{}/json/list is not a JSON list of targets (it starts {:?}): "
            "not a node inspector",
            where(endpoint), short_text(response.body(), 60));
    }
    std::vector<InspectorTarget> targets;
    for (const json& item : list) {
        if (!item.is_object()) continue;
        const auto text = [&](const char* key) {
            const auto it = item.find(key);
            return it != item.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        InspectorTarget t;
        t.id = text("id");
        t.title = text("title");
        t.url = text("url");
        // "ws://127.0.0.1:PORT/<uuid>": only the path is used; the host is the endpoint's.
        const std::string ws = text("webSocketDebuggerUrl");
        if (!ws.starts_with("ws://")) continue;
        const size_t slash = ws.find('/', 5);
        if (slash == std::string::npos) continue;
        t.websocket_path = ws.substr(slash);
        targets.push_back(std::move(t));
    }
    return targets;
}

struct CdpSession::Impl {
    asio::io_context ioc;
    websocket::stream<beast::tcp_stream> ws{ioc};
    beast::flat_buffer buffer;
    Endpoint endpoint;
    EventHandler on_event;
    long next_id = 1;
    bool is_open = false;

    void drop() {
        if (!is_open) return;
        is_open = false;
        beast::error_code ignored;
        beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(ws).socket().close(ignored);
    }

    [[noreturn]] void fail(std::string_view doing, const beast::error_code& ec,
                           std::chrono::milliseconds timeout) {
        drop();
        throw util::Error("the inspector at {} failed during {}: {}", where(endpoint), doing,
                          failure(ec, timeout));
    }

    long write(std::string_view method, const json& params, std::chrono::milliseconds timeout) {
        if (!is_open) {
            throw util::Error(
                "the inspector connection to {} is closed (the process ended, or "
                "closed its inspector)",
                where(endpoint));
        }
        const long id = next_id++;
        const std::string text = json{{"id", id}, {"method", method}, {"params", params}}.dump();
        beast::get_lowest_layer(ws).expires_after(timeout);
        const auto ec =
            run_one(ioc, [&](auto handler) { ws.async_write(asio::buffer(text), handler); });
        if (ec) fail(method, ec, timeout);
        return id;
    }
};

CdpSession::CdpSession(const Endpoint& endpoint, const std::string& websocket_path,
                       std::chrono::milliseconds timeout)
    : m(std::make_unique<Impl>()) {
    m->endpoint = endpoint;
    connect(m->ioc, beast::get_lowest_layer(m->ws), endpoint, timeout);
    m->is_open = true;
    m->ws.read_message_max(k_max_message_bytes);
    m->ws.text(true);
    beast::get_lowest_layer(m->ws).expires_after(timeout);
    const auto ec = run_one(m->ioc, [&](auto handler) {
        m->ws.async_handshake(where(endpoint), websocket_path, handler);
    });
    if (ec) {
        m->fail(
            "the WebSocket handshake (is another debugger attached, or is this not an "
            "inspector?)",
            ec, timeout);
    }
}

CdpSession::~CdpSession() {
    close();
}

void CdpSession::set_event_handler(EventHandler handler) {
    m->on_event = std::move(handler);
}

bool CdpSession::open() const {
    return m->is_open;
}

void CdpSession::close() {
    if (!m->is_open) return;
    beast::get_lowest_layer(m->ws).expires_after(std::chrono::seconds(2));
    (void)run_one(m->ioc,
                  [&](auto handler) { m->ws.async_close(websocket::close_code::normal, handler); });
    m->drop();
}

void CdpSession::send(std::string_view method, const json& params,
                      std::chrono::milliseconds timeout) {
    (void)m->write(method, params, timeout);
}

json CdpSession::call(std::string_view method, const json& params,
                      std::chrono::milliseconds idle_timeout) {
    const long id = m->write(method, params, idle_timeout);
    while (true) {
        m->buffer.clear();
        beast::get_lowest_layer(m->ws).expires_after(idle_timeout);
        const auto ec =
            run_one(m->ioc, [&](auto handler) { m->ws.async_read(m->buffer, handler); });
        if (ec) m->fail(method, ec, idle_timeout);
        const auto data = m->buffer.cdata();
        const std::string_view text(static_cast<const char*>(data.data()), data.size());
        json message = json::parse(text, nullptr, false);
        if (!message.is_object()) {
            m->drop();
            throw util::Error(
                "the inspector at {} sent a message that is not a JSON object "
                "during {} (it starts {:?})",
                where(m->endpoint), method, short_text(text, 60));
        }
        const auto found = message.find("id");
        if (found == message.end()) {
            const auto name = message.find("method");
            const auto event_params = message.find("params");
            if (m->on_event && name != message.end() && name->is_string()) {
                m->on_event(name->get_ref<const std::string&>(),
                            event_params != message.end() ? *event_params : json::object());
            }
            continue;
        }
        if (!found->is_number_integer() || found->get<long>() != id) continue;
        if (const auto error = message.find("error"); error != message.end()) {
            std::string why = "(no message)";
            if (error->is_object() && error->contains("message") &&
                (*error)["message"].is_string()) {
                why = short_text((*error)["message"].get_ref<const std::string&>());
            }
            throw util::Error("the inspector refused {}: {}", method, why);
        }
        const auto result = message.find("result");
        if (result == message.end()) return json::object();
        return std::move(*result);
    }
}

}  // namespace leakhunt::capture::node
