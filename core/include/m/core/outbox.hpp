// The transactional outbox (docs/reference/jobs-events.md, "The transactional outbox"): an
// event is published if and only if its transaction committed, whichever process (serve,
// worker, CLI) made the change.
//
// The document service writes one m_outbox row per change inside the caller's transaction. Two
// ways out of the table:
//   - with a broker (NATS): OutboxRelay claims unpublished rows, publishes them with their row id
//     as the message id (a relay that crashes between publishing and marking publishes again, and
//     the broker drops the duplicate), then marks them; `m serve` subscribes to the broker.
//   - without (embedded): OutboxTail reads the rows of every process in id order straight from
//     the table and hands them to `m serve`'s in-process bus.
// Rows are pruned an hour after they were written (and, with a broker, published).
#pragma once

#include "m/core/events.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace m::core {

class Database;
class Session;
class SqlDialect;

/// Writes the event in the session's transaction.
void record_event(Session& session, const SqlDialect& dialect, const DocEvent& event);

/// The random id of this database (table m_instance), made on first use.
std::string outbox_instance(Database& db);

/// Publishes up to `batch` unpublished outbox rows to `broker` and marks them; returns how many.
/// Safe to run in several processes at once (rows are claimed; PostgreSQL skips locked rows).
std::size_t relay_outbox(Database& db, EventBroker& broker, int batch = 500);

/// Deletes outbox rows written more than `age` ago (with a broker: only published ones).
std::size_t prune_outbox(Database& db, std::chrono::seconds age, bool only_published);

/// Reads the outbox from the newest row at construction on, in id order, each row once.
/// On PostgreSQL a row with a lower id can commit after a higher one; a missing id is waited for
/// `gap_wait` before it is given up as a rolled-back transaction's.
class OutboxTail {
public:
    explicit OutboxTail(Database& db, std::chrono::milliseconds gap_wait = std::chrono::seconds(5));

    /// The rows committed since the last call (possibly none).
    std::vector<OutboxEvent> poll();

private:
    Database& m_db;
    std::chrono::milliseconds m_gap_wait;
    bool m_started = false;
    std::int64_t m_cursor = 0;     ///< every id <= cursor has been seen or given up
    std::set<std::int64_t> m_seen; ///< ids > cursor already returned
    std::chrono::steady_clock::time_point m_gap_since{};
    bool m_gap_open = false;
};

/// Feeds a process's EventBus (the live stream of `m serve`) with the events of every process:
/// with a broker, it relays the outbox to the broker and publishes what the broker delivers;
/// without, it tails the outbox table. wake() after a local commit makes the event go out at
/// once; other processes' events arrive within `poll` (the tail) or the broker's latency.
class EventFeed {
public:
    EventFeed(Database& db, EventBus& bus, EventBroker* broker,
              std::chrono::milliseconds poll = std::chrono::milliseconds(25),
              std::function<void(const std::string&)> log = {});
    ~EventFeed();
    EventFeed(const EventFeed&) = delete;
    EventFeed& operator=(const EventFeed&) = delete;

    void start();
    void stop() noexcept;
    void wake();

private:
    void loop();

    Database& m_db;
    std::string m_instance; ///< set before the broker subscription starts
    EventBus& m_bus;
    EventBroker* m_broker;
    std::chrono::milliseconds m_poll;
    std::function<void(const std::string&)> m_log;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_woken = false;
    bool m_stopping = false;
    std::thread m_thread;
};

} // namespace m::core
