// The job status store on Redis: records round-trip, put_if_absent deduplicates, recent() lists
// newest first with a state filter, records expire after the retention, and a server that goes
// away gives Error{unavailable} until it is back.
#include "redis_server.hpp"

#include "m/adapters/redis/redis.hpp"
#include "m/adapters/redis/redis_client.hpp"
#include "m/core/error.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using m::adapters::redis::make_redis_job_store;
using m::adapters::redis::RedisClient;
using m::core::Error;
using m::core::ErrorKind;
using m::core::JobRecord;
using m::core::JobState;
using m::core::Json;

namespace {

JobRecord job(const std::string& id, std::int64_t enqueued_at,
              JobState status = JobState::pending) {
    JobRecord r;
    r.id = id;
    r.name = "test.job";
    r.status = status;
    r.enqueued_at = enqueued_at;
    return r;
}

std::unique_ptr<m::core::JobStore>
started_store(const std::string& url, std::chrono::seconds retention = std::chrono::hours(24 * 7)) {
    auto store = make_redis_job_store(url, retention);
    store->start();
    return store;
}

std::vector<std::string> ids_of(const std::vector<JobRecord>& records) {
    std::vector<std::string> ids;
    for (const auto& r : records) ids.push_back(r.id);
    return ids;
}

} // namespace

TEST_CASE("redis job store round trips every field") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    auto store = started_store(server->url());
    CHECK(store->kind() == "redis");
    CHECK(store->service_name() == "job store (Redis)");
    store->check();

    JobRecord r;
    r.id = "0b5c6a4e-job-1";
    r.name = "billing.send_invoice";
    r.queue = "emails";
    r.status = JobState::running;
    r.attempts = 2;
    r.max_attempts = 5;
    r.timeout = 60;
    r.kwargs = Json{{"invoice", "INV-1"}, {"copies", 2}, {"tags", Json::array({"a", "b"})}};
    r.result = Json{{"sent", true}};
    r.error = "SMTP said no\nline two";
    r.enqueued_at = 1764212927123;
    r.started_at = 1764212928456;
    r.finished_at = 1764212929789;
    store->put(r);

    auto got = store->get(r.id);
    REQUIRE(got);
    CHECK(got->id == r.id);
    CHECK(got->name == r.name);
    CHECK(got->queue == r.queue);
    CHECK(got->status == r.status);
    CHECK(got->attempts == r.attempts);
    CHECK(got->max_attempts == r.max_attempts);
    CHECK(got->timeout == r.timeout);
    CHECK(got->kwargs == r.kwargs);
    CHECK(got->result == r.result);
    CHECK(got->error == r.error);
    CHECK(got->enqueued_at == r.enqueued_at);
    CHECK(got->started_at == r.started_at);
    CHECK(got->finished_at == r.finished_at);

    // put() overwrites: the status moves on.
    r.status = JobState::success;
    r.error.clear();
    store->put(r);
    CHECK(store->get(r.id)->status == JobState::success);
    CHECK(store->get(r.id)->error.empty());
    CHECK(store->recent(10).size() == 1);

    CHECK_FALSE(store->get("no-such-job"));
    store->stop();
}

TEST_CASE("redis job store put_if_absent keeps the first record") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    auto store = started_store(server->url());

    JobRecord first = job("dedup", 1000);
    first.kwargs = Json{{"n", 1}};
    CHECK_FALSE(store->put_if_absent(first));

    JobRecord second = job("dedup", 2000);
    second.kwargs = Json{{"n", 2}};
    auto existing = store->put_if_absent(second);
    REQUIRE(existing);
    CHECK(existing->kwargs == first.kwargs);
    CHECK(existing->enqueued_at == 1000);
    CHECK(store->get("dedup")->kwargs == first.kwargs);
    CHECK(ids_of(store->recent(10)) == std::vector<std::string>{"dedup"});

    // A second store object (another process) sees the same record.
    auto other = started_store(server->url());
    CHECK(other->put_if_absent(second)->kwargs == first.kwargs);
}

TEST_CASE("redis job store lists the newest first and filters by state") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    auto store = started_store(server->url());
    const JobState states[] = {JobState::pending, JobState::running, JobState::success,
                               JobState::failed, JobState::cancelled};
    for (int i = 0; i < 30; ++i) {
        store->put(job("j" + std::to_string(i), 1000 + i, states[i % 5]));
    }

    CHECK(ids_of(store->recent(3)) == std::vector<std::string>{"j29", "j28", "j27"});
    CHECK(store->recent(1000).size() == 30);
    CHECK(store->recent(0).empty());
    CHECK(ids_of(store->recent(3, JobState::failed)) ==
          std::vector<std::string>{"j28", "j23", "j18"});
    for (const auto& r : store->recent(100, JobState::success)) {
        CHECK(r.status == JobState::success);
    }
    CHECK(store->recent(100, JobState::success).size() == 6);
}

TEST_CASE("redis job store filters across pages") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    auto store = started_store(server->url());
    // Three old FAILED jobs below 600 newer SUCCESS ones: the filter must page past the latter.
    for (int i = 0; i < 3; ++i)
        store->put(job("old" + std::to_string(i), 100 + i, JobState::failed));
    for (int i = 0; i < 600; ++i)
        store->put(job("new" + std::to_string(i), 1000 + i, JobState::success));

    CHECK(ids_of(store->recent(10, JobState::failed)) ==
          std::vector<std::string>{"old2", "old1", "old0"});
    CHECK(store->recent(700).size() == 603);
}

TEST_CASE("redis job store keeps records for the retention") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    RedisClient raw(server->url());

    auto week = started_store(server->url());
    week->put(job("kept", 1));
    const auto ttl = raw.command({"TTL", "m:job:kept"}).integer;
    CHECK(ttl > 7 * 24 * 3600 - 10);
    CHECK(ttl <= 7 * 24 * 3600);

    auto short_lived = started_store(server->url(), std::chrono::seconds(1));
    short_lived->put(job("brief", 2));
    CHECK(short_lived->put_if_absent(job("brief-2", 3)) == std::nullopt);
    CHECK(raw.command({"TTL", "m:job:brief-2"}).integer == 1);
    CHECK(raw.command({"ZCARD", "m:jobs"}).integer == 3);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));

    CHECK_FALSE(short_lived->get("brief"));
    CHECK(ids_of(short_lived->recent(10)) == std::vector<std::string>{"kept"});
    // recent() dropped the ids whose records expired from the index.
    CHECK(raw.command({"ZCARD", "m:jobs"}).integer == 1);

    CHECK_THROWS_AS(make_redis_job_store(server->url(), std::chrono::seconds(0)), Error);
}

TEST_CASE("redis job store trims its index to the newest ten thousand") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    RedisClient raw(server->url());
    // Fill the index directly (the records do not matter for its size), then let writes trim.
    std::vector<std::vector<std::string>> batch;
    for (int i = 0; i < 10500; ++i) {
        batch.push_back({"ZADD", "m:jobs", std::to_string(i), "filler" + std::to_string(i)});
    }
    raw.pipeline(batch);
    auto store = started_store(server->url()); // start() trims
    CHECK(raw.command({"ZCARD", "m:jobs"}).integer == 10000);
    CHECK(raw.command({"ZSCORE", "m:jobs", "filler499"}).is_nil());
    CHECK_FALSE(raw.command({"ZSCORE", "m:jobs", "filler500"}).is_nil());

    for (int i = 0; i < 300; ++i) store->put(job("real" + std::to_string(i), 20000 + i));
    const auto size = raw.command({"ZCARD", "m:jobs"}).integer;
    CHECK(size >= 10000);
    CHECK(size < 10300);
    CHECK(ids_of(store->recent(1)) == std::vector<std::string>{"real299"});
}

TEST_CASE("redis job store is safe for concurrent writers") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    auto store = started_store(server->url());
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                store->put(job("t" + std::to_string(t) + "-" + std::to_string(i), t * 100 + i));
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(store->recent(1000).size() == 400);
}

TEST_CASE("redis job store reports a server that is down and heals when it is back") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    auto store = started_store(server->url());
    store->put(job("before", 1));

    server->stop();
    const std::string expected = "Redis at " + server->url() + " is unreachable";
    auto check_down = [&](auto&& call) {
        try {
            call();
            FAIL("the call must fail while Redis is down");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::unavailable);
            CHECK(std::string(e.what()).find(expected) == 0);
        }
    };
    check_down([&] { store->put(job("during", 2)); });
    check_down([&] { store->put_if_absent(job("during", 2)); });
    check_down([&] { store->get("before"); });
    check_down([&] { store->recent(10); });
    check_down([&] { store->check(); });

    server->restart();
    store->put(job("after", 3));
    CHECK(store->get("after"));
    CHECK(ids_of(store->recent(10)) == std::vector<std::string>{"after"});

    // A kill (no clean close of the connections) heals the same way.
    server->kill();
    check_down([&] { store->get("after"); });
    server->restart();
    CHECK_FALSE(store->get("after"));
}

TEST_CASE("redis job store start fails without a server") {
    const std::string nowhere = "redis://127.0.0.1:" + std::to_string(m::test::free_tcp_port());
    auto store = make_redis_job_store(nowhere);
    try {
        store->start();
        FAIL("start must fail without a server");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::unavailable);
        CHECK(std::string(e.what()).find("Redis at " + nowhere + " is unreachable") == 0);
    }
    CHECK_THROWS_AS(make_redis_job_store("postgres://localhost/x"), Error);
}
