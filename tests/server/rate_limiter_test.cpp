#include "m/core/error.hpp"
#include "m/server/rate_limiter.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using m::server::RateLimiter;
using namespace std::chrono_literals;

namespace {

// Explicit time points: the tests never sleep and never depend on the machine's speed.
const RateLimiter::Clock::time_point t0 = RateLimiter::Clock::time_point{} + 1000h;

} // namespace

TEST_CASE("rate limiter: allows max events, then refuses", "[auth]") {
    RateLimiter limiter(3, 60s);
    CHECK(limiter.retry_after("ada", t0) == 0);
    CHECK(limiter.allow("ada", t0));
    CHECK(limiter.allow("ada", t0 + 1s));
    CHECK(limiter.allow("ada", t0 + 2s));
    CHECK(limiter.retry_after("ada", t0 + 2s) > 0);
    CHECK_FALSE(limiter.allow("ada", t0 + 3s));
    CHECK_FALSE(limiter.allow("ada", t0 + 59s));
    // Refused attempts are not recorded: the first event still decides when the key may retry.
    CHECK(limiter.retry_after("ada", t0 + 3s) == 57);
    CHECK(limiter.retry_after("ada", t0 + 59s) == 1);
}

TEST_CASE("rate limiter: the window slides", "[auth]") {
    RateLimiter limiter(2, 10s);
    REQUIRE(limiter.allow("k", t0));
    REQUIRE(limiter.allow("k", t0 + 3s));
    CHECK_FALSE(limiter.allow("k", t0 + 4s));
    CHECK(limiter.retry_after("k", t0 + 4s) == 6);
    CHECK(limiter.retry_after("k", t0 + 4500ms) == 6); // rounded up, never 0 while refused
    CHECK(limiter.retry_after("k", t0 + 9999ms) == 1);
    CHECK_FALSE(limiter.allow("k", t0 + 9999ms));
    // The event at t0 leaves the window at t0 + 10s; the one at t0 + 3s is still in it.
    CHECK(limiter.retry_after("k", t0 + 10s) == 0);
    CHECK(limiter.allow("k", t0 + 10s));
    CHECK_FALSE(limiter.allow("k", t0 + 12s));
    CHECK(limiter.retry_after("k", t0 + 12s) == 1); // t0 + 3s leaves at t0 + 13s
    CHECK(limiter.allow("k", t0 + 13s));
    // Long after, the key starts from nothing.
    CHECK(limiter.allow("k", t0 + 1h));
    CHECK(limiter.allow("k", t0 + 1h));
    CHECK_FALSE(limiter.allow("k", t0 + 1h));
}

TEST_CASE("rate limiter: events recorded out of order still expire in time order", "[auth]") {
    // Callers read Clock::now() before the limiter's lock, so a later caller may record first.
    RateLimiter limiter(2, 10s);
    REQUIRE(limiter.allow("k", t0 + 5s));
    REQUIRE(limiter.allow("k", t0));
    CHECK_FALSE(limiter.allow("k", t0 + 6s));
    CHECK(limiter.retry_after("k", t0 + 6s) == 4);
    CHECK(limiter.allow("k", t0 + 10s)); // t0 has left the window, t0 + 5s has not
    CHECK_FALSE(limiter.allow("k", t0 + 11s));
}

TEST_CASE("rate limiter: reset forgets a key", "[auth]") {
    RateLimiter limiter(1, 60s);
    REQUIRE(limiter.allow("ada", t0));
    REQUIRE(limiter.allow("bob", t0));
    REQUIRE_FALSE(limiter.allow("ada", t0));
    limiter.reset("ada");
    CHECK(limiter.retry_after("ada", t0) == 0);
    CHECK(limiter.allow("ada", t0));
    CHECK_FALSE(limiter.allow("bob", t0)); // other keys untouched
    limiter.reset("nobody");               // unknown keys are fine
}

TEST_CASE("rate limiter: keys are independent", "[auth]") {
    RateLimiter limiter(2, 60s);
    CHECK(limiter.allow("user:ada", t0));
    CHECK(limiter.allow("user:ada", t0));
    CHECK_FALSE(limiter.allow("user:ada", t0));
    CHECK(limiter.allow("ip:10.0.0.1", t0));
    CHECK(limiter.allow("ip:10.0.0.1", t0));
    CHECK_FALSE(limiter.allow("ip:10.0.0.1", t0));
    CHECK(limiter.retry_after("user:bob", t0) == 0);
    CHECK(limiter.allow("user:bob", t0));
}

TEST_CASE("rate limiter: concurrent callers are counted exactly", "[auth]") {
    constexpr int k_threads = 8;
    constexpr int k_attempts = 2000;
    constexpr std::size_t k_max = 5000;
    RateLimiter limiter(k_max, 60s);
    std::atomic<int> shared_allowed{0};
    std::vector<int> own_allowed(k_threads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&, t] {
            const std::string own = "own:" + std::to_string(t);
            for (int i = 0; i < k_attempts; ++i) {
                if (limiter.allow("shared", t0)) ++shared_allowed;
                if (limiter.allow(own, t0 + std::chrono::milliseconds(i))) ++own_allowed[t];
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(shared_allowed.load() == static_cast<int>(k_max));
    for (int t = 0; t < k_threads; ++t) CHECK(own_allowed[t] == k_attempts);
    CHECK_FALSE(limiter.allow("shared", t0));
    CHECK(limiter.retry_after("shared", t0) == 60);
}

TEST_CASE("rate limiter: the number of keys is capped, least recently active go first", "[auth]") {
    // The cap is 100,000 keys. Keys with an empty window are dropped first (invisible from
    // outside: such a key behaves as a new one); then the least recently active ones go.
    RateLimiter limiter(1, 1h);
    REQUIRE(limiter.allow("oldest", t0));
    REQUIRE(limiter.allow("victim", t0 + 2s));
    for (int i = 0; i < 99'998; ++i) REQUIRE(limiter.allow("flood:" + std::to_string(i), t0 + 1s));
    // The map is full; one more key evicts 10% of them, oldest activity first.
    REQUIRE(limiter.allow("new", t0 + 3s));
    CHECK(limiter.allow("oldest", t0 + 3s));       // forgotten: allowed again
    CHECK_FALSE(limiter.allow("victim", t0 + 3s)); // more recent than the flood: kept
    CHECK_FALSE(limiter.allow("new", t0 + 3s));
}

TEST_CASE("rate limiter: refuses a limit that would block everyone", "[auth]") {
    CHECK_THROWS_AS(RateLimiter(0, 60s), m::core::Error);
    CHECK_THROWS_AS(RateLimiter(5, 0s), m::core::Error);
}
