// The JobQueue contract (docs/reference/jobs-events.md, "Queues" and "Delivery, retries and
// timeouts"): what every queue adapter must do, checked the same way for the embedded queue
// (SQLite, PostgreSQL) and for NATS JetStream. Call it from a TEST_CASE.
//
// `make` returns a new, started queue object each time, as a new process would have (two objects
// play two workers, or a worker before and after a crash). `lease` is the lease / ack wait the
// factory configured: a fetched job that nobody acknowledges must come back after it.
#pragma once

#include "m/core/error.hpp"
#include "m/core/jobs.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

namespace m::test {

using QueueFactory = std::function<std::unique_ptr<core::JobQueue>()>;

inline core::JobDef contract_job(const std::string& name, int retries = 3, int timeout = 60) {
    core::JobDef def;
    def.name = name;
    def.retries = retries;
    def.timeout = timeout;
    def.fn = [](const core::Json& kwargs, core::JobContext&) { return kwargs; };
    return def;
}

/// Fetches from `queue` until `count` leases arrived or `within` passed.
inline std::vector<core::Lease> fetch_for(core::JobQueue& queue, std::size_t count,
                                          std::chrono::milliseconds within,
                                          const std::string& name = "default") {
    std::vector<core::Lease> out;
    auto end = std::chrono::steady_clock::now() + within;
    while (out.size() < count && std::chrono::steady_clock::now() < end) {
        for (auto& l : queue.fetch(name, int(count - out.size()), 200)) out.push_back(std::move(l));
    }
    return out;
}

inline void check_job_queue_contract(const QueueFactory& make, std::chrono::milliseconds lease) {
    using core::ErrorKind;
    using core::JobState;
    using core::Json;
    auto queue = make();
    const auto def = contract_job("test.echo");

    // Enqueue, run, succeed.
    auto rec = queue->enqueue(def, Json{{"x", 1}});
    CHECK(rec.status == JobState::pending);
    CHECK(rec.attempts == 0);
    CHECK(rec.max_attempts == 4);
    CHECK(queue->status(rec.id)->status == JobState::pending);
    auto leases = fetch_for(*queue, 1, std::chrono::seconds(5));
    REQUIRE(leases.size() == 1);
    CHECK(leases[0].job.id == rec.id);
    CHECK(leases[0].job.kwargs == Json{{"x", 1}});
    CHECK(leases[0].job.attempts == 1);
    CHECK(queue->status(rec.id)->status == JobState::running);
    queue->succeed(leases[0], Json{{"ok", true}});
    auto done = queue->status(rec.id);
    REQUIRE(done);
    CHECK(done->status == JobState::success);
    CHECK(done->result == Json{{"ok", true}});
    CHECK(done->finished_at >= done->started_at);
    CHECK(queue->fetch("default", 10, 300).empty()); // never delivered again

    // Bad kwargs.
    try {
        queue->enqueue(def, Json::array({1, 2}));
        FAIL("kwargs that are not an object were accepted");
    } catch (const core::Error& e) {
        CHECK(e.kind() == ErrorKind::validation);
        CHECK(std::string(e.what()).find("JSON object") != std::string::npos);
    }

    // Idempotent enqueue by id: once, and the second call answers the first job.
    auto first = queue->enqueue(def, Json{{"n", 1}}, core::EnqueueOptions{"dedup-1", 0});
    auto second = queue->enqueue(def, Json{{"n", 2}}, core::EnqueueOptions{"dedup-1", 0});
    CHECK(second.id == "dedup-1");
    CHECK(second.kwargs == Json{{"n", 1}});
    // (Shorter than the lease: an unacknowledged job would come back after it.)
    leases = fetch_for(*queue, 2, lease / 2);
    REQUIRE(leases.size() == 1);
    CHECK(leases[0].job.kwargs == Json{{"n", 1}});
    queue->succeed(leases[0], nullptr);
    (void)first;

    // A failing job is retried after its backoff, then dead-lettered as FAILED.
    const auto flaky = contract_job("test.flaky", 1);
    auto f = queue->enqueue(flaky, Json::object());
    leases = fetch_for(*queue, 1, std::chrono::seconds(5));
    REQUIRE(leases.size() == 1);
    queue->fail(leases[0], "boom 1");
    auto after_one = queue->status(f.id);
    CHECK(after_one->status == JobState::pending);
    CHECK(after_one->error == "boom 1");
    CHECK(queue->fetch("default", 1, 300).empty()); // the 1 s backoff has not passed
    leases = fetch_for(*queue, 1, std::chrono::seconds(5));
    REQUIRE(leases.size() == 1);
    CHECK(leases[0].job.attempts == 2);
    queue->fail(leases[0], "boom 2");
    auto dead = queue->status(f.id);
    CHECK(dead->status == JobState::failed);
    CHECK(dead->error == "boom 2");
    CHECK(dead->attempts == 2);
    CHECK(fetch_for(*queue, 1, std::chrono::milliseconds(1500)).empty());

    // retry() brings a FAILED job back with its kwargs; only FAILED/CANCELLED ones.
    auto again = queue->retry(f.id);
    CHECK(again.status == JobState::pending);
    CHECK(again.attempts == 0);
    leases = fetch_for(*queue, 1, std::chrono::seconds(5));
    REQUIRE(leases.size() == 1);
    CHECK(leases[0].job.id == f.id);
    CHECK(leases[0].job.attempts == 1);
    queue->succeed(leases[0], Json("fine"));
    CHECK(queue->status(f.id)->status == JobState::success);
    try {
        queue->retry(f.id);
        FAIL("a SUCCESS job was retried");
    } catch (const core::Error& e) {
        CHECK(e.kind() == ErrorKind::conflict);
    }
    try {
        queue->retry("no-such-job");
        FAIL("an unknown job was retried");
    } catch (const core::Error& e) {
        CHECK(e.kind() == ErrorKind::not_found);
    }

    // cancel(): a PENDING job never runs; anything else cannot be cancelled.
    auto c = queue->enqueue(def, Json::object(), core::EnqueueOptions{"", 2000});
    auto cancelled = queue->cancel(c.id);
    CHECK(cancelled.status == JobState::cancelled);
    CHECK(fetch_for(*queue, 1, std::chrono::milliseconds(2500)).empty());
    try {
        queue->cancel(c.id);
        FAIL("a CANCELLED job was cancelled again");
    } catch (const core::Error& e) {
        CHECK(e.kind() == ErrorKind::conflict);
    }

    // A worker that dies holding a job (no ack, no heartbeat): the job comes back after the lease
    // to another worker, and is not lost.
    auto crash = queue->enqueue(def, Json{{"crash", true}});
    {
        auto doomed = make();
        auto held = fetch_for(*doomed, 1, std::chrono::seconds(5));
        REQUIRE(held.size() == 1);
        CHECK(held[0].job.id == crash.id);
        doomed->stop(); // the process is gone; its lease is never acknowledged
    }
    auto other = make();
    auto redelivered = fetch_for(*other, 1, lease + std::chrono::seconds(5));
    REQUIRE(redelivered.size() == 1);
    CHECK(redelivered[0].job.id == crash.id);
    CHECK(redelivered[0].job.attempts == 2);
    other->succeed(redelivered[0], nullptr);
    CHECK(queue->status(crash.id)->status == JobState::success);

    // A heartbeat keeps a long job's lease.
    auto slow = queue->enqueue(def, Json{{"slow", true}});
    leases = fetch_for(*queue, 1, std::chrono::seconds(5));
    REQUIRE(leases.size() == 1);
    auto until = std::chrono::steady_clock::now() + lease * 2;
    while (std::chrono::steady_clock::now() < until) {
        queue->heartbeat(leases[0]);
        CHECK(other->fetch("default", 1, int(lease.count() / 3)).empty());
    }
    queue->succeed(leases[0], nullptr);
    CHECK(queue->status(slow.id)->status == JobState::success);

    // recent(): newest first, filtered by state.
    auto recent = queue->recent(100);
    REQUIRE(recent.size() >= 5);
    for (std::size_t i = 1; i < recent.size(); ++i) {
        CHECK(recent[i - 1].enqueued_at >= recent[i].enqueued_at);
    }
    for (const auto& r : queue->recent(100, JobState::cancelled)) {
        CHECK(r.status == JobState::cancelled);
    }
    CHECK(queue->recent(100, JobState::cancelled).size() == 1);

    // Batched enqueue: every job arrives once.
    std::vector<Json> batch;
    for (int i = 0; i < 50; ++i) batch.push_back(Json{{"i", i}});
    auto many = queue->enqueue_many(def, batch);
    CHECK(many.size() == 50);
    leases = fetch_for(*queue, 50, std::chrono::seconds(5));
    CHECK(leases.size() == 50);
    CHECK(queue->fetch("default", 10, int(lease.count() / 4)).empty());
    std::set<int> seen;
    for (auto& l : leases) {
        seen.insert(l.job.kwargs["i"].get<int>());
        queue->succeed(l, nullptr);
    }
    CHECK(seen.size() == 50);
}

} // namespace m::test
