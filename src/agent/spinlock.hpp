// A test-and-test-and-set spinlock that yields after a short spin. Used for the hash-table shards,
// which are held for a few dozen instructions; pthread mutexes would do as well but cost more in
// the uncontended case. Only taken with the recursion guard set, so a signal handler on the same
// thread never waits for it. constexpr-constructible; thread-safe.
#pragma once

#include <sched.h>

#include <atomic>

namespace leakhunt::agent {

class SpinLock {
  public:
    constexpr SpinLock() = default;
    void lock() {
        for (int spins = 0;; ++spins) {
            if (!m_locked.exchange(true, std::memory_order_acquire)) return;
            while (m_locked.load(std::memory_order_relaxed)) {
                if (spins++ > 64) {
                    sched_yield();
                    spins = 0;
                } else {
                    __builtin_ia32_pause();
                }
            }
        }
    }
    void unlock() { m_locked.store(false, std::memory_order_release); }
    // For the heap scan, which looks at the locks of stopped threads.
    bool is_locked() const { return m_locked.load(std::memory_order_acquire); }

  private:
    std::atomic<bool> m_locked{false};
};

class LockHolder {
  public:
    explicit LockHolder(SpinLock& l) : m_lock(l) { m_lock.lock(); }
    ~LockHolder() { m_lock.unlock(); }
    LockHolder(const LockHolder&) = delete;
    LockHolder& operator=(const LockHolder&) = delete;

  private:
    SpinLock& m_lock;
};

}  // namespace leakhunt::agent
