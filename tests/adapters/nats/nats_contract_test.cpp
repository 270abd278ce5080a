// The NATS queue against the same JobQueue contract as the embedded queue, with job status in
// the database and in Redis; and the outbox relay through a real JetStream: a relay that dies
// between publishing and marking its rows publishes again, and subscribers see each event once.
#include "job_queue_contract.hpp"
#include "nats_server.hpp"
#include "redis_server.hpp"
#include "support.hpp"

#include "m/adapters/nats/nats.hpp"
#include "m/adapters/redis/redis.hpp"
#include "m/core/doctype_loader.hpp"
#include "m/core/document_service.hpp"
#include "m/core/outbox.hpp"
#include "m/migrations/migrator.hpp"

#include <catch2/catch.hpp>

#include <mutex>
#include <thread>

using m::core::Json;
using namespace std::chrono_literals;

namespace {

struct Db {
    m::test::TempDir dir;
    m::test::TestDatabase t;
    m::core::MetaRegistry meta;

    Db() : t(m::test::make_database("sqlite", dir.path())) {
        meta.add(m::core::parse_doctype(
            nlohmann::json::parse(
                R"({"name": "Note", "fields": [{"name": "title", "type": "data"}]})"),
            "note.json", "test"));
        meta.check_references();
        m::migrations::Migrator migrator(*t.db, meta, dir.path(), {});
        migrator.apply(migrator.plan(), false);
    }
};

} // namespace

TEST_CASE("the NATS queue keeps the JobQueue contract with status in the database", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Db db;
    auto store = m::core::make_database_job_store(*db.t.db);
    store->start();
    m::adapters::nats::NatsJobQueueOptions o;
    o.ack_wait = 1000ms;
    m::test::check_job_queue_contract(
        [&] {
            auto q = m::adapters::nats::make_nats_job_queue(nats->url(), *store, o);
            q->start();
            return q;
        },
        1000ms);
}

TEST_CASE("the NATS queue keeps the JobQueue contract with status in Redis", "[nats]") {
    auto nats = m::test::nats_or_skip();
    auto redis = m::test::redis_or_skip();
    if (!nats || !redis) return;
    auto store = m::adapters::redis::make_redis_job_store(redis->url());
    store->start();
    m::adapters::nats::NatsJobQueueOptions o;
    o.ack_wait = 1000ms;
    m::test::check_job_queue_contract(
        [&] {
            auto q = m::adapters::nats::make_nats_job_queue(nats->url(), *store, o);
            q->start();
            return q;
        },
        1000ms);
}

namespace {

/// Publishes through the real broker, then "crashes" (throws) before the relay marks its rows.
class CrashAfterPublish final : public m::core::EventBroker {
public:
    explicit CrashAfterPublish(m::core::EventBroker& real) : m_real(real) {}
    std::string service_name() const override { return "crashing broker"; }
    void start() override {}
    void stop() noexcept override {}
    void check() override {}
    void publish(const std::vector<m::core::OutboxEvent>& events) override {
        m_real.publish(events);
        throw m::core::Error(m::core::ErrorKind::unavailable, "relay died after publishing");
    }
    void subscribe(std::function<void(const m::core::DocEvent&)>) override {}

private:
    m::core::EventBroker& m_real;
};

} // namespace

TEST_CASE("a relay that dies between publishing and marking publishes each event once",
          "[nats][outbox]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Db db;
    auto broker = m::adapters::nats::make_nats_event_broker(nats->url());
    std::mutex mutex;
    std::vector<m::core::DocEvent> seen;
    broker->subscribe([&](const m::core::DocEvent& e) {
        std::lock_guard lock(mutex);
        seen.push_back(e);
    });
    broker->start();

    m::core::DocumentService docs(db.meta, *db.t.db);
    {
        auto s = db.t.db->session();
        m::core::UnitOfWork uow(*s);
        docs.insert(*s, "Note", Json{{"title", "a"}}, m::test::acting("alice"));
        docs.insert(*s, "Note", Json{{"title", "b"}}, m::test::acting("alice"));
        uow.commit();
    }
    CrashAfterPublish crashing(*broker);
    CHECK_THROWS_WITH(m::core::relay_outbox(*db.t.db, crashing), "relay died after publishing");
    // Restarted relay: the rows are still unmarked, so it publishes them again.
    CHECK(m::core::relay_outbox(*db.t.db, *broker) == 2);
    CHECK(m::core::relay_outbox(*db.t.db, *broker) == 0); // marked now
    // A sentinel event after them: the stream delivers in order, so once it has arrived a
    // duplicate of the first two would have arrived before it.
    {
        auto s = db.t.db->session();
        m::core::UnitOfWork uow(*s);
        docs.insert(*s, "Note", Json{{"title", "sentinel"}}, m::test::acting("bob"));
        uow.commit();
    }
    CHECK(m::core::relay_outbox(*db.t.db, *broker) == 1);
    auto end = std::chrono::steady_clock::now() + 5s;
    for (;;) {
        {
            std::lock_guard lock(mutex);
            if (!seen.empty() && seen.back().user == "bob") break;
            if (std::chrono::steady_clock::now() > end) break;
        }
        std::this_thread::sleep_for(20ms);
    }
    std::lock_guard lock(mutex);
    REQUIRE(seen.size() == 3);
    CHECK(seen[2].user == "bob");
    CHECK(seen[0].topic == "doc.created");
    CHECK(seen[0].user == "alice");
    CHECK(seen[0].name != seen[1].name);
}
