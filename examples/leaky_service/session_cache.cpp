// SessionCache: builds each session's payload so that its memory is really written (a string
// filled byte by byte, far beyond small-string optimisation), which makes the leak show in RSS
// and not only in virtual size, and applies the mode's eviction policy under one mutex.
#include "session_cache.hpp"

#include <utility>

namespace leakhunt::examples {

SessionCache::SessionCache(CacheMode mode, std::size_t capacity, std::size_t payload_bytes)
    : m_mode(mode), m_capacity(capacity), m_payload_bytes(payload_bytes) {}

std::size_t SessionCache::remember(std::uint64_t request_id, const std::string& user) {
    if (m_mode == CacheMode::healthy) return 0;

    // Build the entry outside the lock: only the insertion needs it.
    std::string key = "session-" + std::to_string(request_id) + "-user-" + user;
    Session session;
    session.user = "user-profile-for-" + user;
    session.payload.resize(m_payload_bytes);
    for (std::size_t i = 0; i < m_payload_bytes; ++i) {
        session.payload[i] = static_cast<char>('a' + (request_id + i) % 26);
    }
    session.tags = {"tag-region-eu-west-1-zone-b", "tag-tier-gold-customer",
                    "tag-request-" + std::to_string(request_id)};
    session.created = std::chrono::system_clock::now();

    const std::lock_guard lock(m_mutex);
    if (m_mode == CacheMode::bounded) {
        m_order.push_back(key);
        while (m_order.size() > m_capacity) {
            m_sessions.erase(m_order.front());
            m_order.pop_front();
        }
    }
    m_sessions.insert_or_assign(std::move(key), std::move(session));
    return m_sessions.size();
}

std::size_t SessionCache::size() const {
    const std::lock_guard lock(m_mutex);
    return m_sessions.size();
}

std::size_t SessionCache::payload_bytes_held() const {
    const std::lock_guard lock(m_mutex);
    return m_sessions.size() * m_payload_bytes;
}

}  // namespace leakhunt::examples
