// The cache port: small shared values with a lifetime (rate-limit counters, revoked sessions,
// cached lookups, scheduler leases).
//
// Two adapters: MemoryCache (this process only; the default) and Redis (adapters/redis, with
// REDIS_URL), which several `m serve` and `m worker` processes share, so that they agree on rate
// limits and revocations. Keys are plain strings; adapters may prefix them.
#pragma once

#include "m/core/service.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace m::core {

class Cache : public Service {
public:
    using Seconds = std::chrono::seconds;

    /// The value, or nullopt when absent or expired.
    virtual std::optional<std::string> get(const std::string& key) = 0;

    /// Stores a value; ttl 0 = no expiry.
    virtual void set(const std::string& key, const std::string& value, Seconds ttl) = 0;

    /// Stores a value only if the key is absent; true when it was stored (a lease or lock).
    virtual bool add(const std::string& key, const std::string& value, Seconds ttl) = 0;

    virtual void erase(const std::string& key) = 0;

    /// Adds 1 to a counter and returns the new value; a counter that did not exist starts at 0
    /// and gets `ttl` (a fixed window).
    virtual std::int64_t increment(const std::string& key, Seconds ttl) = 0;

    /// "memory" or "redis" (for messages and `m doctor`; decisions use shared()).
    virtual std::string kind() const = 0;

    /// Whether every process of the project sees the same entries (Redis), so rate limits and
    /// revocations kept here hold across `m serve` processes; false for the in-process cache.
    virtual bool shared() const = 0;
};

/// The in-process cache (thread-safe; expired entries are dropped lazily).
std::unique_ptr<Cache> make_memory_cache();

} // namespace m::core
