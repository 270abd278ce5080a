// Limits how often something may happen per key (login attempts per account and per client
// address). A sliding window per key, in process; thread-safe. Several `m serve` processes share
// limits only when the Redis-backed limiter arrives (jobs issue): this class is the in-process
// half of that port.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace m::server {

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    /// At most `max_events` per `window` for each key.
    RateLimiter(std::size_t max_events, std::chrono::seconds window);

    /// Records an attempt for `key` at `now` and returns true when it is within the limit;
    /// returns false (and records nothing) when the key is over its limit.
    bool allow(const std::string& key, Clock::time_point now = Clock::now());

    /// Seconds until `key` may try again (0 when it may now).
    long long retry_after(const std::string& key, Clock::time_point now = Clock::now()) const;

    /// Gradual back-off: seconds `key` must still wait when it has `free` or more events in the
    /// window: 1 s after the `free`-th, then 2, 4, 8 … (at most the window), counted from its
    /// latest event. 0 when it may try now.
    long long backoff(const std::string& key, std::size_t free,
                      Clock::time_point now = Clock::now()) const;

    /// Forgets `key` (a successful login clears the account's failures).
    void reset(const std::string& key);

private:
    void prune(std::deque<Clock::time_point>& events, Clock::time_point now) const;

    std::size_t m_max;
    std::chrono::seconds m_window;
    mutable std::mutex m_mutex;
    std::unordered_map<std::string, std::deque<Clock::time_point>> m_events;
};

} // namespace m::server
