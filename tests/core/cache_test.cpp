// The in-process cache against the Cache port's contract (tests/support/cache_contract.hpp);
// tests/adapters/redis/redis_cache_test.cpp runs the same contract on Redis.
#include "cache_contract.hpp"

TEST_CASE("memory cache keeps the Cache contract", "[cache]") {
    m::test::check_cache_contract([] {
        auto cache = m::core::make_memory_cache();
        cache->start();
        return cache;
    });
}
