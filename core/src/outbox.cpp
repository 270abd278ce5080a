#include "m/core/outbox.hpp"

#include "m/core/database.hpp"
#include "m/core/error.hpp"
#include "m/core/jobs.hpp"

#include <fmt/format.h>

#include <map>
#include <mutex>

namespace m::core {

namespace {

std::vector<OutboxEvent> events_of(const ResultSet& rs) {
    std::vector<OutboxEvent> out;
    out.reserve(rs.size());
    for (std::size_t i = 0; i < rs.size(); ++i) {
        const auto& row = rs.rows[i];
        OutboxEvent e;
        e.outbox_id = rs.integer(i, 0);
        Json wire = Json::parse(row[1].value_or(""), nullptr, false);
        try {
            e.event = DocEvent::from_wire(wire);
        } catch (const Error&) {
            continue; // a row we cannot read is skipped, never retried forever
        }
        out.push_back(std::move(e));
    }
    return out;
}

} // namespace

std::string outbox_instance(Database& db) {
    auto s = db.session();
    auto rs = s->query("SELECT id FROM m_instance");
    if (rs.empty()) {
        s->execute(
            fmt::format("INSERT INTO m_instance (id) VALUES ({}) ON CONFLICT (id) DO NOTHING",
                        db.dialect().placeholder(1)),
            {new_uuid()});
        rs = s->query("SELECT id FROM m_instance ORDER BY id LIMIT 1");
    }
    std::string id = rs.empty() ? std::string() : rs.rows[0][0].value_or("");
    if (id.empty()) throw Error(ErrorKind::internal, "m_instance has no id");
    return id;
}

void record_event(Session& session, const SqlDialect& dialect, const DocEvent& event) {
    session.execute(
        fmt::format("INSERT INTO m_outbox (created_at, event) VALUES ({}, {})",
                    dialect.placeholder(1), dialect.placeholder(2)),
        {now_ms(), event.to_wire().dump(-1, ' ', false, Json::error_handler_t::replace)});
}

std::size_t relay_outbox(Database& db, EventBroker& broker, int batch) {
    const auto& d = db.dialect();
    const std::string lock = d.row_lock_clause();
    auto s = db.session();
    // PostgreSQL: rows are claimed in a transaction, so concurrent relays take different rows.
    // SQLite: no transaction is held while publishing (it would block every writer); two relays
    // may then publish the same row, which the broker drops as a duplicate of its message id.
    std::optional<UnitOfWork> uow;
    if (!lock.empty()) uow.emplace(*s);
    auto rows = s->query(fmt::format("SELECT id, event FROM m_outbox WHERE published_at IS NULL "
                                     "ORDER BY id LIMIT {}{}",
                                     d.placeholder(1), lock),
                         {static_cast<std::int64_t>(std::max(1, batch))});
    if (rows.empty()) return 0;
    auto events = events_of(rows);
    const std::string source = outbox_instance(db);
    for (auto& e : events) e.event.source = source;
    broker.publish(events); // throws when the broker is away: nothing is marked
    SqlParams params{now_ms()};
    std::string ids;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        params.emplace_back(rows.integer(i, 0));
        ids += (ids.empty() ? "" : ", ") + d.placeholder(static_cast<int>(params.size()));
    }
    s->execute(fmt::format("UPDATE m_outbox SET published_at = {} WHERE id IN ({})",
                           d.placeholder(1), ids),
               params);
    if (uow) uow->commit();
    return rows.size();
}

std::size_t prune_outbox(Database& db, std::chrono::seconds age, bool only_published) {
    auto s = db.session();
    std::int64_t before = now_ms() - age.count() * 1000;
    return static_cast<std::size_t>(s->execute(
        fmt::format("DELETE FROM m_outbox WHERE created_at < {}{}", db.dialect().placeholder(1),
                    only_published ? " AND published_at IS NOT NULL" : ""),
        {before}));
}

OutboxTail::OutboxTail(Database& db, std::chrono::milliseconds gap_wait)
    : m_db(db), m_gap_wait(gap_wait) {}

std::vector<OutboxEvent> OutboxTail::poll() {
    auto s = m_db.session();
    if (!m_started) {
        auto rs = s->query("SELECT MAX(id) FROM m_outbox");
        m_cursor = rs.integer(0, 0);
        m_started = true;
        return {};
    }
    auto rs = s->query(fmt::format("SELECT id, event FROM m_outbox WHERE id > {} ORDER BY id "
                                   "LIMIT 1000",
                                   m_db.dialect().placeholder(1)),
                       {m_cursor});
    std::vector<OutboxEvent> out;
    for (auto& e : events_of(rs)) {
        if (m_seen.insert(e.outbox_id).second) out.push_back(std::move(e));
    }
    // Rows we could not read still count as seen.
    for (std::size_t i = 0; i < rs.size(); ++i) m_seen.insert(rs.integer(i, 0));
    auto now = std::chrono::steady_clock::now();
    for (;;) {
        while (!m_seen.empty() && *m_seen.begin() <= m_cursor + 1) {
            m_cursor = std::max(m_cursor, *m_seen.begin());
            m_seen.erase(m_seen.begin());
        }
        if (m_seen.empty()) {
            m_gap_open = false;
            break;
        }
        // Id cursor+1 is missing while higher ones committed: a transaction still running, or
        // one that rolled back (a sequence value is never reused). Wait for it a while.
        if (!m_gap_open) {
            m_gap_open = true;
            m_gap_since = now;
            break;
        }
        if (now - m_gap_since < m_gap_wait) break;
        m_cursor = *m_seen.begin() - 1; // give up the gap
        m_gap_open = false;
    }
    return out;
}

EventFeed::EventFeed(Database& db, EventBus& bus, EventBroker* broker,
                     std::chrono::milliseconds poll, std::function<void(const std::string&)> log)
    : m_db(db), m_bus(bus), m_broker(broker), m_poll(poll), m_log(std::move(log)) {}

EventFeed::~EventFeed() {
    stop();
}

void EventFeed::start() {
    if (m_thread.joinable()) return;
    if (m_broker) {
        m_instance = outbox_instance(m_db);
        // Events of other databases sharing the broker are not this project's.
        m_broker->subscribe([this](const DocEvent& e) {
            if (e.source.empty() || e.source == m_instance) m_bus.publish({e});
        });
    }
    m_thread = std::thread([this] { loop(); });
}

void EventFeed::stop() noexcept {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

void EventFeed::wake() {
    {
        std::lock_guard lock(m_mutex);
        m_woken = true;
    }
    m_cv.notify_all();
}

void EventFeed::loop() {
    OutboxTail tail(m_db);
    auto last_prune = std::chrono::steady_clock::now();
    auto last_complaint = std::chrono::steady_clock::time_point{};
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_cv.wait_for(lock, m_poll, [&] { return m_woken || m_stopping; });
            if (m_stopping) return;
            m_woken = false;
        }
        try {
            if (m_broker) {
                while (relay_outbox(m_db, *m_broker) > 0) {
                }
            } else {
                auto rows = tail.poll();
                if (!rows.empty()) {
                    std::vector<DocEvent> events;
                    events.reserve(rows.size());
                    for (auto& r : rows) events.push_back(std::move(r.event));
                    m_bus.publish(std::move(events));
                }
            }
            auto now = std::chrono::steady_clock::now();
            if (now - last_prune > std::chrono::minutes(1)) {
                last_prune = now;
                prune_outbox(m_db, std::chrono::hours(1), m_broker != nullptr);
            }
        } catch (const std::exception& e) {
            // The database or the broker is away: try again; the outbox keeps the events.
            auto now = std::chrono::steady_clock::now();
            if (m_log && now - last_complaint > std::chrono::seconds(30)) {
                m_log(std::string("live events: ") + e.what() + " (retrying)");
                last_complaint = now;
            }
            std::unique_lock lock(m_mutex);
            m_cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return m_stopping; });
        }
    }
}

} // namespace m::core
