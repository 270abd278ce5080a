// NatsEventBroker against a real nats-server (one per test case): events reach subscribers of
// other connections in order, relaying an outbox row twice delivers it once, and a subscriber
// keeps receiving across a server restart.
#include "m/adapters/nats/nats.hpp"
#include "m/core/error.hpp"
#include "nats_server.hpp"

#include <catch2/catch.hpp>
#include <nats/nats.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace {

using m::core::DocEvent;
using m::core::Error;
using m::core::ErrorKind;
using m::core::Json;
using m::core::OutboxEvent;
using Clock = std::chrono::steady_clock;

/// What a subscriber received, with a wait for the count.
class Received {
public:
    std::function<void(const DocEvent&)> handler() {
        return [this](const DocEvent& e) {
            std::lock_guard lock(m_mutex);
            m_events.push_back(e);
            m_cv.notify_all();
        };
    }

    /// Waits until at least `n` events came (or `ms` passed) and returns them all.
    std::vector<DocEvent> wait_for(std::size_t n, int ms = 5000) {
        std::unique_lock lock(m_mutex);
        m_cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return m_events.size() >= n; });
        return m_events;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::vector<DocEvent> m_events;
};

OutboxEvent event(std::int64_t outbox_id, std::string topic, std::string doc_id) {
    OutboxEvent o;
    o.outbox_id = outbox_id;
    o.event.topic = std::move(topic);
    o.event.doctype = "Invoice";
    o.event.doc_id = doc_id;
    o.event.name = "INV-" + doc_id;
    o.event.docstatus = 1;
    o.event.modified = "2026-01-02 03:04:05.000006";
    o.event.user = "ada@example.com";
    o.event.rls_value = "ada@example.com";
    return o;
}

std::unique_ptr<m::core::EventBroker> started_broker(const m::test::NatsServer& nats) {
    auto b = m::adapters::nats::make_nats_event_broker(nats.url());
    b->start();
    return b;
}

/// Publishes, retrying while the publisher reconnects (after a server restart).
void publish_eventually(m::core::EventBroker& broker, const std::vector<OutboxEvent>& events) {
    auto deadline = Clock::now() + std::chrono::seconds(10);
    for (;;) {
        try {
            broker.publish(events);
            return;
        } catch (const Error& e) {
            if (Clock::now() > deadline) throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

} // namespace

TEST_CASE("NATS events: a subscriber gets published events in order with every field", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Received got;
    auto subscriber = m::adapters::nats::make_nats_event_broker(nats->url());
    subscriber->subscribe(got.handler()); // before start: subscribes when started
    subscriber->start();
    CHECK_NOTHROW(subscriber->check());
    auto publisher = started_broker(*nats);

    publisher->publish(
        {event(1, "doc.created", "a"), event(2, "doc.updated", "a"), event(3, "doc.deleted", "b")});
    auto events = got.wait_for(3);
    REQUIRE(events.size() == 3);
    CHECK(events[0].topic == "doc.created");
    CHECK(events[1].topic == "doc.updated");
    CHECK(events[2].topic == "doc.deleted");
    const DocEvent& e = events[2];
    CHECK(e.doctype == "Invoice");
    CHECK(e.doc_id == "b");
    CHECK(e.name == "INV-b");
    CHECK(e.docstatus == 1);
    CHECK(e.modified == "2026-01-02 03:04:05.000006");
    CHECK(e.user == "ada@example.com");
    CHECK(e.rls_value == Json("ada@example.com"));

    // A subscriber set after start() gets what is published from then on.
    Received late;
    publisher->subscribe(late.handler());
    publisher->publish({event(4, "doc.submitted", "c")});
    auto later = late.wait_for(1);
    REQUIRE(later.size() == 1);
    CHECK(later[0].topic == "doc.submitted");
    CHECK(got.wait_for(4).size() == 4);
    subscriber->stop();
    publisher->stop();
}

TEST_CASE("NATS events: relaying the same outbox id twice delivers it once", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Received got;
    auto subscriber = m::adapters::nats::make_nats_event_broker(nats->url());
    subscriber->subscribe(got.handler());
    subscriber->start();
    auto publisher = started_broker(*nats);

    publisher->publish({event(7, "doc.created", "x")});
    publisher->publish({event(7, "doc.created", "x"), event(8, "doc.updated", "x")});
    // A sentinel after them: the stream delivers in order, so once it is here a duplicate of 7
    // would have been too.
    publisher->publish({event(9, "doc.deleted", "x")});
    auto events = got.wait_for(3);
    REQUIRE(events.size() == 3);
    CHECK(events[0].topic == "doc.created");
    CHECK(events[1].topic == "doc.updated");
    CHECK(events[2].topic == "doc.deleted");
}

TEST_CASE("NATS events: a message that is not an event is skipped", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Received got;
    auto subscriber = m::adapters::nats::make_nats_event_broker(nats->url());
    subscriber->subscribe(got.handler());
    subscriber->start();

    natsConnection* nc = nullptr;
    REQUIRE(natsConnection_ConnectTo(&nc, nats->url().c_str()) == NATS_OK);
    jsCtx* js = nullptr;
    REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
    const char junk[] = "not json";
    CHECK(js_Publish(nullptr, js, "events.doc.created", junk, sizeof(junk) - 1, nullptr, nullptr) ==
          NATS_OK);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);

    auto publisher = started_broker(*nats);
    publisher->publish({event(1, "doc.created", "after-junk")});
    auto events = got.wait_for(1);
    REQUIRE(events.size() == 1);
    CHECK(events[0].doc_id == "after-junk");
}

TEST_CASE("NATS events: a subscriber keeps receiving after a server restart", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Received got;
    auto subscriber = m::adapters::nats::make_nats_event_broker(nats->url());
    subscriber->subscribe(got.handler());
    subscriber->start();
    auto publisher = started_broker(*nats);
    publisher->publish({event(1, "doc.created", "before")});
    REQUIRE(got.wait_for(1).size() == 1);

    nats->restart();
    auto t0 = Clock::now();
    publish_eventually(*publisher, {event(2, "doc.updated", "after")});
    auto events = got.wait_for(2, 15000);
    INFO("waited "
         << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()
         << " ms");
    REQUIRE(events.size() == 2);
    CHECK(events[1].doc_id == "after");
    publish_eventually(*publisher, {event(3, "doc.updated", "later")});
    events = got.wait_for(3);
    REQUIRE(events.size() == 3);
    CHECK(events[2].doc_id == "later");
}

TEST_CASE("NATS events: a subscriber keeps receiving after the server crashed for a while",
          "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    Received got;
    auto subscriber = m::adapters::nats::make_nats_event_broker(nats->url());
    subscriber->subscribe(got.handler());
    subscriber->start();
    auto publisher = started_broker(*nats);
    publisher->publish({event(1, "doc.created", "before")});
    REQUIRE(got.wait_for(1).size() == 1);

    nats->kill();
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    nats->start();
    auto t0 = Clock::now();
    publish_eventually(*publisher, {event(2, "doc.updated", "after")});
    auto events = got.wait_for(2, 15000);
    INFO("waited "
         << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()
         << " ms");
    REQUIRE(events.size() == 2);
    CHECK(events[1].doc_id == "after");
}

TEST_CASE("NATS events: publish while the server is down throws unavailable", "[nats]") {
    auto nats = m::test::nats_or_skip();
    if (!nats) return;
    auto publisher = started_broker(*nats);
    nats->stop();
    try {
        publisher->publish({event(1, "doc.created", "x")});
        FAIL("publish succeeded without a server");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::unavailable);
        CHECK_THAT(e.what(), Catch::Contains(nats->url()));
    }
}
