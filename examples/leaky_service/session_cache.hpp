// The per-request session cache of the leaky_service demo, and the one bug it exists to show.
// In CacheMode::leak every request stores a Session under a key that is unique per request and
// nothing ever evicts it: an unbounded cache, which from outside is a leak. CacheMode::bounded
// evicts the oldest entries beyond a capacity (memory warms up, then plateaus); CacheMode::healthy
// stores nothing. SessionCache owns its sessions and is thread-safe (one mutex; the demo does
// not need more).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "options.hpp"

namespace leakhunt::examples {

struct Session {
    std::string user;
    std::string payload;  // the bulk of the entry: leak_bytes of touched memory
    std::vector<std::string> tags;
    std::chrono::system_clock::time_point created;
};

class SessionCache {
  public:
    SessionCache(CacheMode mode, std::size_t capacity, std::size_t payload_bytes);

    // Stores a session for this request (or not, per the mode) and returns the cache size.
    std::size_t remember(std::uint64_t request_id, const std::string& user);

    std::size_t size() const;
    // Approximate bytes held by cached payloads (not counting allocator or map overhead).
    std::size_t payload_bytes_held() const;

  private:
    CacheMode m_mode;
    std::size_t m_capacity;
    std::size_t m_payload_bytes;
    mutable std::mutex m_mutex;
    std::unordered_map<std::string, Session> m_sessions;
    std::deque<std::string> m_order;  // bounded mode only: insertion order for eviction
};

}  // namespace leakhunt::examples
