#include "m/adapters/redis/redis.hpp"
#include "m/adapters/redis/redis_client.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

namespace m::adapters::redis {

using core::Error;
using core::ErrorKind;

namespace {

// INCR and EXPIRE in one script: Redis runs a script atomically, so a counter never exists
// without its window (a process dying between two separate commands would leave a counter
// that never resets).
constexpr const char* k_increment_script =
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 and tonumber(ARGV[1]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end\n"
    "return n\n";

class RedisCache final : public core::Cache {
public:
    RedisCache(const std::string& url, std::string prefix)
        : m_client(url), m_prefix(std::move(prefix)) {}

    std::string service_name() const override { return "cache (Redis)"; }
    void start() override { m_client.connect(); }
    void stop() noexcept override { m_client.close(); }
    void check() override { m_client.connect(); }

    std::optional<std::string> get(const std::string& key) override {
        RedisReply reply = m_client.command({"GET", m_prefix + key});
        if (reply.is_nil()) return std::nullopt;
        return std::move(reply.str);
    }

    void set(const std::string& key, const std::string& value, Seconds ttl) override {
        if (ttl.count() > 0) {
            m_client.command({"SET", m_prefix + key, value, "EX", std::to_string(ttl.count())});
        } else {
            m_client.command({"SET", m_prefix + key, value});
        }
    }

    bool add(const std::string& key, const std::string& value, Seconds ttl) override {
        const RedisReply reply = ttl.count() > 0
                                     ? m_client.command({"SET", m_prefix + key, value, "NX", "EX",
                                                         std::to_string(ttl.count())})
                                     : m_client.command({"SET", m_prefix + key, value, "NX"});
        return !reply.is_nil(); // OK when stored, nil when the key existed
    }

    void erase(const std::string& key) override { m_client.command({"DEL", m_prefix + key}); }

    std::int64_t increment(const std::string& key, Seconds ttl) override {
        const RedisReply reply = m_client.command(
            {"EVAL", k_increment_script, "1", m_prefix + key, std::to_string(ttl.count())});
        if (reply.type != RedisReply::Type::integer) {
            throw Error(ErrorKind::internal,
                        fmt::format("Redis: INCR of '{}' did not answer a number", key));
        }
        return reply.integer;
    }

    std::string kind() const override { return "redis"; }
    bool shared() const override { return true; }

private:
    RedisClient m_client;
    const std::string m_prefix;
};

} // namespace

std::unique_ptr<core::Cache> make_redis_cache(std::string url, std::string prefix) {
    return std::make_unique<RedisCache>(url, std::move(prefix));
}

} // namespace m::adapters::redis
