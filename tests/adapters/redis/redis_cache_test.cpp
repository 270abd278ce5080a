// The cache port on Redis: values with lifetimes, add() as a lock, fixed-window counters,
// sharing between processes, and a server that goes away and comes back.
#include "cache_contract.hpp"
#include "redis_server.hpp"

#include "m/adapters/redis/redis.hpp"
#include "m/adapters/redis/redis_client.hpp"
#include "m/core/error.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using m::adapters::redis::make_redis_cache;
using m::adapters::redis::RedisClient;
using m::core::Error;
using m::core::ErrorKind;
using std::chrono::seconds;

namespace {

void sleep_ms(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::unique_ptr<m::core::Cache> started_cache(const std::string& url,
                                              const std::string& prefix = "m:") {
    auto cache = make_redis_cache(url, prefix);
    cache->start();
    return cache;
}

} // namespace

TEST_CASE("redis cache keeps the Cache contract") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    // Each object stands for a process; a fresh database per section.
    RedisClient(server->url()).command({"FLUSHDB"});
    m::test::check_cache_contract([&] { return started_cache(server->url()); });
}

TEST_CASE("redis cache keeps its keys under the prefix with the ttl asked for") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    auto cache = started_cache(server->url());
    CHECK(cache->service_name() == "cache (Redis)");
    cache->check();
    cache->set("forever", "one", seconds(0));
    RedisClient raw(server->url());
    CHECK(raw.command({"GET", "m:forever"}).str == "one");
    CHECK(raw.command({"TTL", "m:forever"}).integer == -1);
}

TEST_CASE("redis cache increment counts in a fixed window") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    auto cache = started_cache(server->url());
    RedisClient raw(server->url());

    CHECK(cache->increment("hits", seconds(10)) == 1);
    const auto first_ttl = raw.command({"PTTL", "m:hits"}).integer;
    CHECK(first_ttl > 9000);
    CHECK(first_ttl <= 10000);
    sleep_ms(300);
    CHECK(cache->increment("hits", seconds(10)) == 2);
    CHECK(cache->increment("hits", seconds(10)) == 3);
    // Later increments do not extend the window.
    CHECK(raw.command({"PTTL", "m:hits"}).integer <= first_ttl - 250);

    CHECK(cache->increment("window", seconds(1)) == 1);
    CHECK(cache->increment("window", seconds(1)) == 2);
    sleep_ms(1100);
    CHECK(cache->increment("window", seconds(1)) == 1);

    CHECK(cache->increment("total", seconds(0)) == 1);
    CHECK(raw.command({"TTL", "m:total"}).integer == -1);

    cache->set("text", "abc", seconds(0));
    try {
        cache->increment("text", seconds(1));
        FAIL("increment of a non-number must fail");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::internal);
        CHECK(std::string(e.what()).find("Redis: ") == 0);
    }
}

TEST_CASE("redis caches see each other and keep to their prefix") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    auto first = started_cache(server->url());
    auto second = started_cache(server->url());
    auto other = started_cache(server->url(), "other:");

    first->set("shared", "from first", seconds(0));
    CHECK(second->get("shared") == "from first");
    CHECK_FALSE(other->get("shared"));
    CHECK(first->increment("counter", seconds(60)) == 1);
    CHECK(second->increment("counter", seconds(60)) == 2);
    second->erase("shared");
    CHECK_FALSE(first->get("shared"));

    // The database number of the URL separates caches too.
    auto db3 = started_cache(server->url("", 3));
    db3->set("shared", "db3", seconds(0));
    CHECK_FALSE(first->get("shared"));
    CHECK(db3->get("shared") == "db3");
}

TEST_CASE("redis cache reports a server that is down and heals when it is back") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    auto cache = started_cache(server->url());
    cache->set("k", "v", seconds(0));

    server->stop();
    const std::string expected = "Redis at " + server->url() + " is unreachable";
    for (int i = 0; i < 2; ++i) {
        try {
            cache->get("k");
            FAIL("get must fail while Redis is down");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::unavailable);
            CHECK(std::string(e.what()).find(expected) == 0);
        }
    }
    CHECK_THROWS_AS(cache->increment("n", seconds(1)), Error);
    CHECK_THROWS_AS(cache->add("k", "v", seconds(1)), Error);
    try {
        cache->check();
        FAIL("check must fail while Redis is down");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::unavailable);
    }

    server->restart();
    CHECK_FALSE(cache->get("k")); // the test server keeps nothing
    cache->set("k", "again", seconds(0));
    CHECK(cache->get("k") == "again");
    cache->check();
}

TEST_CASE("redis cache start fails clearly") {
    const std::string nowhere = "redis://127.0.0.1:" + std::to_string(m::test::free_tcp_port());
    auto cache = make_redis_cache(nowhere);
    try {
        cache->start();
        FAIL("start must fail without a server");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::unavailable);
        CHECK(std::string(e.what()).find("Redis at " + nowhere + " is unreachable") == 0);
    }

    try {
        make_redis_cache("redis://:secret@localhost:port");
        FAIL("a bad URL must be refused");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::validation);
        CHECK(std::string(e.what()).find("secret") == std::string::npos);
    }

    auto server = m::test::redis_or_skip();
    if (!server) return;
    auto with_password = make_redis_cache(server->url("topsecret"));
    try {
        with_password->start();
        FAIL("a password the server does not expect must fail");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::unavailable);
        CHECK(std::string(e.what()).find("refused the password") != std::string::npos);
        CHECK(std::string(e.what()).find("topsecret") == std::string::npos);
    }
}
