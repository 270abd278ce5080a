// A small blocking pool of connections, shared by the database adapters.
//
// Neither libpqxx 6.4 nor sqlite3 pools connections. The pool creates connections lazily up to
// a maximum, hands them out one thread at a time, and forgets connections returned as broken, so
// the next acquire() opens a fresh one (a PostgreSQL restart heals without a process restart).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace m::core {

template <class Conn> class Pool {
public:
    using Factory = std::function<std::unique_ptr<Conn>()>;

    Pool(std::size_t max_size, Factory factory)
        : m_max(max_size == 0 ? 1 : max_size), m_factory(std::move(factory)) {}

    /// Returns an idle connection, opens a new one below the maximum, or waits for a release.
    /// Exceptions of the factory propagate (and free the slot).
    std::unique_ptr<Conn> acquire() {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return !m_idle.empty() || m_open < m_max; });
        if (!m_idle.empty()) {
            auto conn = std::move(m_idle.back());
            m_idle.pop_back();
            return conn;
        }
        ++m_open;
        lock.unlock();
        try {
            return m_factory();
        } catch (...) {
            lock.lock();
            --m_open;
            m_cv.notify_one();
            throw;
        }
    }

    /// Gives a connection back; a broken one is destroyed and its slot freed.
    void release(std::unique_ptr<Conn> conn, bool healthy) {
        std::lock_guard lock(m_mutex);
        if (healthy && conn) {
            m_idle.push_back(std::move(conn));
        } else {
            --m_open;
        }
        m_cv.notify_one();
    }

    /// Closes idle connections (at stop).
    void clear() {
        std::lock_guard lock(m_mutex);
        m_open -= m_idle.size();
        m_idle.clear();
    }

    /// Connections allowed, open, and checked out right now (for /metrics).
    struct Stats {
        std::size_t max = 0;
        std::size_t open = 0;
        std::size_t in_use = 0;
    };
    Stats stats() const {
        std::lock_guard lock(m_mutex);
        return {m_max, m_open, m_open - m_idle.size()};
    }

    std::size_t open_count() const {
        std::lock_guard lock(m_mutex);
        return m_open;
    }

private:
    const std::size_t m_max;
    Factory m_factory;
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::vector<std::unique_ptr<Conn>> m_idle;
    std::size_t m_open = 0;
};

} // namespace m::core
