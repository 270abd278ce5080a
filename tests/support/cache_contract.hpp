// The Cache port's contract (core/include/m/core/cache.hpp): what every cache adapter must do,
// checked the same way for the in-process cache and for Redis. Call it from a TEST_CASE.
//
// `make` returns a new, started cache object each time, as another process would have: a shared
// cache (Redis) sees the entries of the others, the in-process cache does not.
#pragma once

#include "m/core/cache.hpp"
#include "m/core/error.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace m::test {

using CacheFactory = std::function<std::unique_ptr<core::Cache>()>;

inline void check_cache_contract(const CacheFactory& make) {
    using std::chrono::seconds;
    auto nap = [](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
    auto cache = make();
    auto other = make();
    const bool shared = cache->shared();
    CHECK(cache->kind() == (shared ? "redis" : "memory"));

    SECTION("values: set, overwrite, binary, expiry, erase") {
        CHECK_FALSE(cache->get("missing"));
        cache->set("forever", "1", seconds(0));
        cache->set("short", "2", seconds(1));
        const std::string binary("x\0y\r\n", 5);
        cache->set("binary", binary, seconds(0));
        CHECK(cache->get("forever") == "1");
        CHECK(cache->get("short") == "2");
        CHECK(cache->get("binary") == binary);
        cache->set("forever", "one", seconds(0));
        CHECK(cache->get("forever") == "one");
        nap(1100);
        CHECK_FALSE(cache->get("short"));
        CHECK(cache->get("forever") == "one");
        cache->erase("forever");
        CHECK_FALSE(cache->get("forever"));
        cache->erase("never-there");
    }
    SECTION("add is a lock, and a lease with a lifetime can be taken again once it expired") {
        CHECK(cache->add("lock", "a", seconds(0)));
        CHECK_FALSE(cache->add("lock", "b", seconds(0)));
        CHECK(cache->get("lock") == "a");
        cache->erase("lock");
        CHECK(cache->add("lock", "c", seconds(0)));
        CHECK(cache->add("lease", "w1", seconds(1)));
        CHECK_FALSE(cache->add("lease", "w2", seconds(1)));
        nap(1100);
        CHECK(cache->add("lease", "w2", seconds(1)));
        CHECK(cache->get("lease") == "w2");
    }
    SECTION("add has exactly one winner among racing threads") {
        for (int round = 0; round < 10; ++round) {
            const std::string key = "race-" + std::to_string(round);
            std::atomic<int> winners{0};
            std::atomic<bool> go{false};
            std::vector<std::thread> threads;
            for (int t = 0; t < 8; ++t) {
                threads.emplace_back([&, t] {
                    while (!go) std::this_thread::yield();
                    // Threads of two "processes" when the cache is shared.
                    auto& c = shared && t % 2 ? *other : *cache;
                    if (c.add(key, std::to_string(t), seconds(30))) ++winners;
                });
            }
            go = true;
            for (auto& t : threads) t.join();
            CHECK(winners == 1);
        }
    }
    SECTION("increment counts in a fixed window") {
        CHECK(cache->increment("hits", seconds(10)) == 1);
        CHECK(cache->increment("hits", seconds(10)) == 2);
        CHECK(cache->increment("hits", seconds(10)) == 3);
        CHECK(cache->increment("window", seconds(1)) == 1);
        CHECK(cache->increment("window", seconds(1)) == 2);
        nap(1100);
        CHECK(cache->increment("window", seconds(1)) == 1);
        CHECK(cache->increment("hits", seconds(10)) == 4); // the longer window still runs
        cache->set("text", "abc", seconds(0));
        CHECK_THROWS_AS(cache->increment("text", seconds(1)), core::Error);
        CHECK(cache->get("text") == "abc");
    }
    SECTION("shared() says whether another process sees the entries") {
        cache->set("seen", "yes", seconds(0));
        if (shared) {
            CHECK(other->get("seen") == "yes");
            CHECK(other->increment("count", seconds(10)) == 1);
            CHECK(cache->increment("count", seconds(10)) == 2);
        } else {
            CHECK_FALSE(other->get("seen"));
        }
    }
}

} // namespace m::test
