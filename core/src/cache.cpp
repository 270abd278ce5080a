#include "m/core/cache.hpp"

#include "m/core/error.hpp"
#include "m/core/values.hpp"

#include <fmt/format.h>

#include <map>
#include <mutex>

namespace m::core {

namespace {

class MemoryCache final : public Cache {
public:
    std::string service_name() const override { return "cache (memory)"; }
    void start() override {}
    void stop() noexcept override {}
    void check() override {}
    std::string kind() const override { return "memory"; }
    bool shared() const override { return false; }

    std::optional<std::string> get(const std::string& key) override {
        std::lock_guard lock(m_mutex);
        auto it = live(key);
        if (it == m_entries.end()) return std::nullopt;
        return it->second.value;
    }

    void set(const std::string& key, const std::string& value, Seconds ttl) override {
        std::lock_guard lock(m_mutex);
        m_entries[key] = Entry{value, expiry(ttl)};
        sweep();
    }

    bool add(const std::string& key, const std::string& value, Seconds ttl) override {
        std::lock_guard lock(m_mutex);
        if (live(key) != m_entries.end()) return false;
        m_entries[key] = Entry{value, expiry(ttl)};
        return true;
    }

    void erase(const std::string& key) override {
        std::lock_guard lock(m_mutex);
        m_entries.erase(key);
    }

    std::int64_t increment(const std::string& key, Seconds ttl) override {
        std::lock_guard lock(m_mutex);
        auto it = live(key);
        if (it == m_entries.end()) {
            m_entries[key] = Entry{"1", expiry(ttl)};
            sweep();
            return 1;
        }
        // Redis answers INCR of a value that is not an integer with an error; so does this.
        auto current = parse_integer(it->second.value);
        if (!current) {
            throw Error(ErrorKind::validation,
                        fmt::format("cache key '{}' does not hold an integer", key));
        }
        std::int64_t n = *current + 1;
        it->second.value = std::to_string(n);
        return n;
    }

private:
    using Clock = std::chrono::steady_clock;
    struct Entry {
        std::string value;
        Clock::time_point expires; ///< max() = never
    };

    static Clock::time_point expiry(Seconds ttl) {
        return ttl.count() > 0 ? Clock::now() + ttl : Clock::time_point::max();
    }

    std::map<std::string, Entry>::iterator live(const std::string& key) {
        auto it = m_entries.find(key);
        if (it != m_entries.end() && it->second.expires <= Clock::now()) {
            m_entries.erase(it);
            return m_entries.end();
        }
        return it;
    }

    /// Drops expired entries now and then, so a cache of short-lived keys stays small.
    void sweep() {
        if (++m_writes % 1024 != 0) return;
        auto now = Clock::now();
        for (auto it = m_entries.begin(); it != m_entries.end();) {
            it = it->second.expires <= now ? m_entries.erase(it) : std::next(it);
        }
    }

    std::mutex m_mutex;
    std::map<std::string, Entry> m_entries;
    std::size_t m_writes = 0;
};

} // namespace

std::unique_ptr<Cache> make_memory_cache() {
    return std::make_unique<MemoryCache>();
}

} // namespace m::core
