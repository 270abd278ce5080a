// NatsJobQueue against a real nats-server (one per test case) with job status in a SQLite
// database: delivery, idempotency, retries and dead letters, crashed workers, lost acks and
// server restarts. The ack wait is 1 s here so that redeliveries come quickly.
#include "m/adapters/nats/nats.hpp"
#include "m/core/doctype.hpp"
#include "m/core/error.hpp"
#include "m/migrations/migrator.hpp"
#include "nats_server.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nats/nats.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

namespace {

using m::core::Error;
using m::core::ErrorKind;
using m::core::JobDef;
using m::core::JobRecord;
using m::core::JobState;
using m::core::Json;
using m::core::Lease;
using Clock = std::chrono::steady_clock;

/// A JobStore on a fresh SQLite database with the framework's tables.
struct Store {
    m::test::TempDir dir;
    m::test::TestDatabase t;
    std::unique_ptr<m::core::JobStore> store;

    Store() : t(m::test::make_database("sqlite", dir.path())) {
        m::core::MetaRegistry meta;
        m::migrations::Migrator migrator(*t.db, meta, dir.path(), {});
        migrator.apply(migrator.plan(), false);
        store = m::core::make_database_job_store(*t.db);
        store->start();
    }
};

m::adapters::nats::NatsJobQueueOptions fast() {
    m::adapters::nats::NatsJobQueueOptions o;
    o.ack_wait = std::chrono::milliseconds(1000);
    return o;
}

JobDef job(std::string name, int retries = 3, std::string queue = "default") {
    JobDef d;
    d.name = std::move(name);
    d.retries = retries;
    d.queue = std::move(queue);
    d.fn = [](const Json& kwargs, m::core::JobContext&) { return kwargs; };
    return d;
}

std::unique_ptr<m::core::JobQueue> started_queue(const m::test::NatsServer& nats,
                                                 m::core::JobStore& store) {
    auto q = m::adapters::nats::make_nats_job_queue(nats.url(), store, fast());
    q->start();
    return q;
}

/// Fetches until at least one lease comes or `ms` pass.
std::vector<Lease> fetch_within(m::core::JobQueue& q, int ms, int max = 10,
                                const std::string& queue = "default") {
    auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return {};
        auto leases = q.fetch(queue, max, static_cast<int>(std::min<long long>(left.count(), 500)));
        if (!leases.empty()) return leases;
    }
}

long long ms_since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

/// Messages in the job stream, read with a connection of its own.
std::uint64_t stream_messages(const std::string& url) {
    natsConnection* nc = nullptr;
    REQUIRE(natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK);
    jsCtx* js = nullptr;
    REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
    jsStreamInfo* info = nullptr;
    natsStatus s = js_GetStreamInfo(&info, js, "framework_m_jobs", nullptr, nullptr);
    std::uint64_t n = s == NATS_OK ? info->State.Msgs : ~0ULL;
    jsStreamInfo_Destroy(info);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    REQUIRE(s == NATS_OK);
    return n;
}

/// The stream's message count once it reaches `expected` (deletes and acks are asynchronous),
/// or the last count after 3 s.
std::uint64_t stream_messages_settle(const std::string& url, std::uint64_t expected) {
    auto deadline = Clock::now() + std::chrono::seconds(3);
    std::uint64_t n = stream_messages(url);
    while (n != expected && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        n = stream_messages(url);
    }
    return n;
}

JobRecord status_of(m::core::JobQueue& q, const std::string& id) {
    auto r = q.status(id);
    REQUIRE(r);
    return *r;
}

ErrorKind kind_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.kind();
    }
    FAIL("no core::Error thrown");
    return ErrorKind::internal;
}

} // namespace

TEST_CASE("NATS job queue: enqueue fetch and succeed store the result", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    CHECK(q->kind() == "nats");
    CHECK_NOTHROW(q->check());

    auto rec = q->enqueue(job("test.echo", 2), Json{{"x", 1}});
    CHECK(rec.status == JobState::pending);
    CHECK(rec.max_attempts == 3);
    CHECK(status_of(*q, rec.id).status == JobState::pending);

    auto leases = fetch_within(*q, 3000);
    REQUIRE(leases.size() == 1);
    Lease& lease = leases[0];
    CHECK(lease.job.id == rec.id);
    CHECK(lease.job.name == "test.echo");
    CHECK(lease.job.kwargs == Json{{"x", 1}});
    CHECK(lease.job.attempts == 1);
    CHECK(lease.delivery == 1);
    CHECK(status_of(*q, rec.id).status == JobState::running);

    q->heartbeat(lease);
    q->succeed(lease, Json{{"ok", true}});
    auto done = status_of(*q, rec.id);
    CHECK(done.status == JobState::success);
    CHECK(done.result == Json{{"ok", true}});
    CHECK(done.finished_at > 0);
    CHECK(q->fetch("default", 10, 300).empty());
    CHECK(stream_messages_settle(nats->url(), 0) == 0);

    auto recent = q->recent(10);
    REQUIRE(recent.size() == 1);
    CHECK(recent[0].id == rec.id);
    CHECK(q->recent(10, JobState::failed).empty());

    CHECK(kind_of([&] { q->enqueue(job("test.echo"), Json::array()); }) == ErrorKind::validation);
    CHECK(kind_of([&] { q->enqueue(job("test.echo", 1, "bad.queue"), Json::object()); }) ==
          ErrorKind::validation);
    q->stop();
}

TEST_CASE("NATS job queue: enqueueing the same id twice publishes one message", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    m::core::EnqueueOptions opts;
    opts.id = "invoice-42-reminder";
    auto first = q->enqueue(job("test.echo"), Json{{"n", 1}}, opts);
    auto second = q->enqueue(job("test.echo"), Json{{"n", 2}}, opts);
    CHECK(second.id == first.id);
    CHECK(second.kwargs == Json{{"n", 1}});
    CHECK(second.enqueued_at == first.enqueued_at);
    CHECK(stream_messages(nats->url()) == 1);

    // wait_ms 0: what is there now, without waiting.
    auto t0 = Clock::now();
    auto leases = q->fetch("default", 10, 0);
    REQUIRE(leases.size() == 1);
    q->succeed(leases[0], nullptr);
    CHECK(q->fetch("default", 10, 0).empty());
    CHECK(ms_since(t0) < 1000);
    CHECK(q->fetch("default", 10, 500).empty());
    // After success too: the existing record comes back and nothing runs.
    CHECK(q->enqueue(job("test.echo"), Json::object(), opts).status == JobState::success);
    CHECK(q->fetch("default", 10, 300).empty());
}

TEST_CASE("NATS job queue: enqueue_many stores and delivers every job", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    std::vector<Json> kwargs;
    for (int i = 0; i < 300; ++i) kwargs.push_back(Json{{"i", i}});
    auto records = q->enqueue_many(job("test.echo", 0, "bulk"), kwargs);
    REQUIRE(records.size() == 300);
    CHECK(status_of(*q, records[17].id).status == JobState::pending);

    std::set<std::string> seen;
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (seen.size() < 300 && Clock::now() < deadline) {
        for (auto& lease : q->fetch("bulk", 100, 500)) {
            CHECK(seen.insert(lease.job.id).second);
            q->succeed(lease, lease.job.kwargs);
        }
    }
    CHECK(seen.size() == 300);
    CHECK(status_of(*q, records[299].id).result == Json{{"i", 299}});
    CHECK(stream_messages_settle(nats->url(), 0) == 0);
}

TEST_CASE("NATS job queue: two workers with worker threads run every job once", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto producer = started_queue(*nats, *s.store);
    std::vector<Json> kwargs(200, Json::object());
    auto records = producer->enqueue_many(job("test.echo", 0), kwargs);

    // Two processes' queues share the consumer; each acks from four threads at once.
    std::mutex mutex;
    std::map<std::string, int> runs;
    auto worker = [&](m::core::JobQueue& q) {
        auto deadline = Clock::now() + std::chrono::seconds(10);
        while (Clock::now() < deadline) {
            {
                std::lock_guard lock(mutex);
                if (runs.size() == records.size()) return;
            }
            auto leases = q.fetch("default", 20, 200);
            std::vector<std::thread> threads;
            for (int t = 0; t < 4; ++t) {
                threads.emplace_back([&, t] {
                    for (std::size_t i = t; i < leases.size(); i += 4) {
                        {
                            std::lock_guard lock(mutex);
                            ++runs[leases[i].job.id];
                        }
                        q.heartbeat(leases[i]);
                        q.succeed(leases[i], nullptr);
                    }
                });
            }
            for (auto& th : threads) th.join();
        }
    };
    auto q1 = started_queue(*nats, *s.store);
    auto q2 = started_queue(*nats, *s.store);
    std::thread w1([&] { worker(*q1); });
    std::thread w2([&] { worker(*q2); });
    w1.join();
    w2.join();
    CHECK(runs.size() == records.size());
    for (const auto& [id, n] : runs) CHECK(n == 1);
    CHECK(stream_messages_settle(nats->url(), 0) == 0);
    CHECK(producer->recent(500, JobState::success).size() == records.size());
}

TEST_CASE("NATS job queue: a failed attempt is retried after backoff then dead lettered",
          "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    auto rec = q->enqueue(job("test.flaky", 1), Json{{"k", "v"}});

    auto first = fetch_within(*q, 3000);
    REQUIRE(first.size() == 1);
    q->fail(first[0], "boom 1");
    auto after_first = status_of(*q, rec.id);
    CHECK(after_first.status == JobState::pending);
    CHECK(after_first.error == "boom 1");
    CHECK(after_first.attempts == 1);

    // retry_backoff_ms(1) = 1 s: not before.
    auto failed_at = Clock::now();
    CHECK(q->fetch("default", 10, 400).empty());
    auto second = fetch_within(*q, 3000);
    REQUIRE(second.size() == 1);
    CHECK(ms_since(failed_at) >= 900);
    CHECK(second[0].job.attempts == 2);
    CHECK(second[0].delivery == 2);
    q->fail(second[0], "boom 2");

    auto dead = status_of(*q, rec.id);
    CHECK(dead.status == JobState::failed);
    CHECK(dead.error == "boom 2");
    CHECK(dead.kwargs == Json{{"k", "v"}});
    CHECK(dead.finished_at > 0);
    // The dead letter is the record: the stream message is gone, nothing is delivered again.
    CHECK(stream_messages_settle(nats->url(), 0) == 0);
    CHECK(fetch_within(*q, 1500).empty());
    CHECK(q->recent(10, JobState::failed).size() == 1);
}

TEST_CASE("NATS job queue: fail without retry dead letters at once", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    auto rec = q->enqueue(job("test.flaky", 5), Json::object());
    auto leases = fetch_within(*q, 3000);
    REQUIRE(leases.size() == 1);
    q->fail(leases[0], "bad input", false);
    CHECK(status_of(*q, rec.id).status == JobState::failed);
    CHECK(stream_messages_settle(nats->url(), 0) == 0);
}

TEST_CASE("NATS job queue: retry runs a failed job again", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    auto rec = q->enqueue(job("test.once", 0), Json{{"a", 1}});
    auto leases = fetch_within(*q, 3000);
    REQUIRE(leases.size() == 1);
    q->fail(leases[0], "first failure");
    CHECK(status_of(*q, rec.id).status == JobState::failed);

    auto again = q->retry(rec.id);
    CHECK(again.status == JobState::pending);
    CHECK(again.attempts == 0);
    CHECK(again.error == "first failure"); // kept until it runs
    auto rerun = fetch_within(*q, 3000);
    REQUIRE(rerun.size() == 1);
    CHECK(rerun[0].job.id == rec.id);
    CHECK(rerun[0].job.attempts == 1);
    CHECK(rerun[0].job.kwargs == Json{{"a", 1}});
    q->succeed(rerun[0], 7);
    CHECK(status_of(*q, rec.id).status == JobState::success);
    CHECK(status_of(*q, rec.id).result == 7);

    CHECK(kind_of([&] { q->retry(rec.id); }) == ErrorKind::conflict);
    CHECK(kind_of([&] { q->retry("no-such-job"); }) == ErrorKind::not_found);
}

TEST_CASE("NATS job queue: a cancelled job is never fetched", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    auto cancelled = q->enqueue(job("test.echo"), Json{{"n", 1}});
    auto kept = q->enqueue(job("test.echo"), Json{{"n", 2}});
    CHECK(q->cancel(cancelled.id).status == JobState::cancelled);

    auto leases = fetch_within(*q, 3000);
    REQUIRE(leases.size() == 1);
    CHECK(leases[0].job.id == kept.id);
    CHECK(kind_of([&] { q->cancel(kept.id); }) == ErrorKind::conflict); // RUNNING
    q->succeed(leases[0], nullptr);
    CHECK(q->fetch("default", 10, 500).empty());
    CHECK(status_of(*q, cancelled.id).status == JobState::cancelled);
    CHECK(stream_messages_settle(nats->url(), 0) == 0);
    CHECK(kind_of([&] { q->cancel("no-such-job"); }) == ErrorKind::not_found);

    // A cancelled job can be retried; the old message is gone, the new one runs once.
    q->retry(cancelled.id);
    auto rerun = fetch_within(*q, 3000);
    REQUIRE(rerun.size() == 1);
    CHECK(rerun[0].job.id == cancelled.id);
    q->succeed(rerun[0], nullptr);
}

TEST_CASE("NATS job queue: a cancelled then retried job runs once", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    auto rec = q->enqueue(job("test.echo"), Json::object());
    q->cancel(rec.id);
    std::this_thread::sleep_for(std::chrono::milliseconds(5)); // a later generation
    q->retry(rec.id); // the first message is still in the stream
    CHECK(stream_messages(nats->url()) == 2);
    int runs = 0;
    auto deadline = Clock::now() + std::chrono::milliseconds(1500);
    while (Clock::now() < deadline) {
        for (auto& lease : q->fetch("default", 10, 300)) {
            ++runs;
            q->succeed(lease, nullptr);
        }
    }
    CHECK(runs == 1);
    CHECK(stream_messages_settle(nats->url(), 0) == 0);
}

TEST_CASE("NATS job queue: a delayed job is not fetched before it is due", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    m::core::EnqueueOptions opts;
    opts.delay_ms = 800;
    auto t0 = Clock::now();
    auto rec = q->enqueue(job("test.later", 0), Json::object(), opts);
    CHECK(q->fetch("default", 10, 300).empty());
    auto leases = fetch_within(*q, 3000);
    REQUIRE(leases.size() == 1);
    CHECK(ms_since(t0) >= 750);
    // The early delivery does not count as an attempt (retries = 0 still runs).
    CHECK(leases[0].job.attempts == 1);
    q->succeed(leases[0], nullptr);
    CHECK(status_of(*q, rec.id).status == JobState::success);
}

TEST_CASE("NATS job queue: an unacked lease is delivered again after the ack wait", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto rec = [&] {
        // A worker that takes the job and dies (SIGKILL): no ack, its connection is gone.
        auto crashed = started_queue(*nats, *s.store);
        auto r = crashed->enqueue(job("test.slow", 2), Json{{"n", 1}});
        auto leases = fetch_within(*crashed, 3000);
        REQUIRE(leases.size() == 1);
        return r;
    }();
    CHECK(s.store->get(rec.id)->status == JobState::running);

    auto q = started_queue(*nats, *s.store);
    auto t0 = Clock::now();
    auto leases = fetch_within(*q, 4000);
    REQUIRE(leases.size() == 1);
    CHECK(leases[0].job.id == rec.id);
    CHECK(leases[0].delivery == 2);
    CHECK(leases[0].job.attempts == 2);
    CHECK(ms_since(t0) <= 2500);
    q->succeed(leases[0], nullptr);
    CHECK(status_of(*q, rec.id).status == JobState::success);
}

TEST_CASE("NATS job queue: heartbeats keep a long job from being redelivered", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    q->enqueue(job("test.slow"), Json::object());
    auto leases = fetch_within(*q, 3000);
    REQUIRE(leases.size() == 1);
    for (int i = 0; i < 5; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        q->heartbeat(leases[0]);
    }
    // 2 s with an ack wait of 1 s: only the heartbeats kept it.
    CHECK(q->fetch("default", 10, 200).empty());
    q->succeed(leases[0], nullptr);
}

TEST_CASE("NATS job queue: a job whose worker always crashes is given up", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    auto rec = q->enqueue(job("test.crashy", 0), Json::object());
    {
        auto leases = fetch_within(*q, 3000);
        REQUIRE(leases.size() == 1); // dropped without ack: as if the worker died
    }
    // Delivered again after the ack wait, but its only attempt is used up.
    CHECK(fetch_within(*q, 2500).empty());
    auto r = status_of(*q, rec.id);
    CHECK(r.status == JobState::failed);
    CHECK_THAT(r.error, Catch::Contains("gave up after 1 deliveries"));
    CHECK(stream_messages_settle(nats->url(), 0) == 0);
}

TEST_CASE("NATS job queue: a succeeded job whose ack was lost is not run again", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    auto rec = q->enqueue(job("test.echo"), Json::object());
    {
        auto leases = fetch_within(*q, 3000);
        REQUIRE(leases.size() == 1);
        // succeed() stores first, then acks; the worker dies in between.
        JobRecord done = leases[0].job;
        done.status = JobState::success;
        done.finished_at = m::core::now_ms();
        s.store->put(done);
    }
    CHECK(fetch_within(*q, 2500).empty()); // delivered again after 1 s, acked, not returned
    CHECK(stream_messages_settle(nats->url(), 0) == 0);
    CHECK(status_of(*q, rec.id).status == JobState::success);
}

TEST_CASE("NATS job queue: jobs survive a nats-server restart", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i) ids.push_back(q->enqueue(job("test.echo"), Json{{"i", i}}).id);

    std::map<std::string, int> runs;
    auto done = fetch_within(*q, 3000, 1);
    REQUIRE(done.size() == 1);
    ++runs[done[0].job.id];
    q->succeed(done[0], nullptr); // acknowledged before the restart
    auto in_flight = fetch_within(*q, 3000, 1);
    REQUIRE(in_flight.size() == 1);
    ++runs[in_flight[0].job.id];

    nats->restart();
    // The in-flight job finishes while the client reconnects; its ack may be lost, which the
    // stored SUCCESS covers.
    q->succeed(in_flight[0], nullptr);

    auto deadline = Clock::now() + std::chrono::seconds(15);
    auto all_done = [&] {
        for (const auto& id : ids)
            if (status_of(*q, id).status != JobState::success) return false;
        return true;
    };
    while (!all_done() && Clock::now() < deadline) {
        for (auto& lease : q->fetch("default", 10, 500)) {
            ++runs[lease.job.id];
            q->succeed(lease, nullptr);
        }
    }
    CHECK(all_done());
    // A little longer: a redelivery of a lost ack must not come back as a lease.
    auto quiet = Clock::now() + std::chrono::milliseconds(1500);
    while (Clock::now() < quiet) {
        for (auto& lease : q->fetch("default", 10, 300)) ++runs[lease.job.id];
    }
    for (const auto& id : ids) CHECK(runs[id] == 1);
    CHECK(stream_messages_settle(nats->url(), 0) == 0);
    CHECK_NOTHROW(q->check());
}

TEST_CASE("NATS job queue: enqueue while the server is down fails clearly", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Store s;
    auto q = started_queue(*nats, *s.store);
    nats->stop();

    m::core::EnqueueOptions opts;
    opts.id = "while-down";
    try {
        q->enqueue(job("test.echo"), Json::object(), opts);
        FAIL("enqueue succeeded without a server");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::unavailable);
        CHECK_THAT(e.what(), Catch::Contains(nats->url()));
        CHECK_THAT(e.what(), Catch::Contains("not enqueued"));
    }
    auto r = status_of(*q, "while-down");
    CHECK(r.status == JobState::failed);
    CHECK_THAT(r.error, Catch::StartsWith("not enqueued: "));
    CHECK(kind_of([&] { q->check(); }) == ErrorKind::unavailable);
    // A worker waits the outage out instead of failing.
    CHECK(q->fetch("default", 10, 200).empty());
    CHECK(kind_of([&] { q->enqueue_many(job("test.echo"), {Json::object()}); }) ==
          ErrorKind::unavailable);

    nats->start();
    // The dead letter of the failed enqueue can be enqueued again once the server is back.
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < deadline) {
        try {
            q->retry("while-down");
            break;
        } catch (const Error&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    auto leases = fetch_within(*q, 5000);
    REQUIRE(leases.size() == 1);
    CHECK(leases[0].job.id == "while-down");
    q->succeed(leases[0], nullptr);
}

TEST_CASE("NATS job queue: start fails clearly without a server", "[nats]") {
    Store s;
    int port = m::test::free_loopback_port();
    std::string url = "nats://127.0.0.1:" + std::to_string(port);
    auto q = m::adapters::nats::make_nats_job_queue(url, *s.store, fast());
    try {
        q->start();
        FAIL("start succeeded without a server");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::unavailable);
        CHECK_THAT(e.what(), Catch::StartsWith("NATS at " + url + ": "));
    }
}
