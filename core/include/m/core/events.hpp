// Document events (docs/reference/jobs-events.md, "Events"): what changed, published after the
// change committed.
//
// The port is EventBus. This issue has one adapter, InProcessEventBus: events made by this
// process (the API of `m serve`) reach this process's subscribers (the live stream). The jobs
// issue adds the transactional outbox and the NATS-backed bus behind the same port, so changes
// made by workers and the CLI reach the stream too. Every event has an id that only grows; a
// subscriber that missed some asks since(last_id) for the rest.
#pragma once

#include "m/core/values.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace m::core {

struct DocEvent {
    std::uint64_t id = 0; ///< assigned by the bus on publish
    std::string topic;    ///< doc.created doc.updated doc.deleted doc.submitted doc.cancelled
    std::string doctype;
    std::string doc_id;
    std::string name;
    long long docstatus = 0;
    std::string modified;
    std::string user;   ///< who made the change
    Json rls_value;     ///< the document's rls_field value (for filtering; not in the payload)
    std::string source; ///< the database's instance id (outbox_instance), empty when unknown

    /// {"doctype","id","name","docstatus","modified","user"} as clients receive it.
    Json payload() const;

    /// The event for a saved document (`doc` as the document service returns it).
    static DocEvent of(std::string topic, const std::string& doctype, const Json& doc,
                       const std::string& rls_field, const std::string& user);

    /// Everything but the id, for the outbox and the broker: payload() plus "topic" and "rls".
    Json to_wire() const;
    /// The inverse of to_wire(); Error{validation} when a member is missing or mistyped.
    static DocEvent from_wire(const Json& wire);
};

/// An event as written to the transactional outbox (table m_outbox): its database's instance id
/// and row id make relaying idempotent (the broker deduplicates on "<source>-<outbox_id>").
struct OutboxEvent {
    std::int64_t outbox_id = 0;
    DocEvent event; ///< event.source is set by the relay
};

/// A message broker that carries events between processes (NATS JetStream stream `events`,
/// subjects `events.<topic>`). Thread-safe.
class EventBroker : public Service {
public:
    /// Publishes events (in order) and returns when the broker has stored them. Publishing the
    /// same outbox_id twice stores it once. Throws Error{unavailable} when the broker is away.
    virtual void publish(const std::vector<OutboxEvent>& events) = 0;

    /// Calls `handler` for every event published from now on by any process, in the broker's
    /// order, on a thread of the broker. One handler per broker; set before start() or after.
    virtual void subscribe(std::function<void(const DocEvent&)> handler) = 0;
};

class EventBus {
public:
    using Handler = std::function<void(const DocEvent&)>;
    virtual ~EventBus() = default;

    /// Publishes events of one committed transaction, in order; assigns their ids.
    virtual void publish(std::vector<DocEvent> events) = 0;

    /// Calls `handler` for every event published from now on (on the publishing thread, in id
    /// order). Returns a number for unsubscribe().
    virtual std::uint64_t subscribe(Handler handler) = 0;
    virtual void unsubscribe(std::uint64_t subscription) = 0;

    using Missed = std::optional<std::vector<DocEvent>>;

    /// Calls `then(missed)` with the events after `last_id`, oldest first (an empty list without
    /// `last_id`; nullopt when some of them are no longer kept: the subscriber must reload what
    /// it shows) while no event can be published. A live stream that registers itself inside
    /// `then` therefore sees every event exactly once, with no gap between replay and live.
    virtual void replay(std::optional<std::uint64_t> last_id,
                        const std::function<void(Missed)>& then) = 0;
};

/// Events of this process, the newest `capacity` kept for resuming streams. Ids start at the
/// process's start time in microseconds, so ids of a later process are higher than any of an
/// earlier one, and a stream resuming across a restart is told that it missed events.
class InProcessEventBus final : public EventBus {
public:
    explicit InProcessEventBus(std::size_t capacity = 10000);

    void publish(std::vector<DocEvent> events) override;
    std::uint64_t subscribe(Handler handler) override;
    void unsubscribe(std::uint64_t subscription) override;
    void replay(std::optional<std::uint64_t> last_id,
                const std::function<void(Missed)>& then) override;

private:
    std::size_t m_capacity;
    mutable std::mutex m_mutex;
    std::uint64_t m_next_id;
    std::uint64_t m_first_id; ///< the first id this process gave out
    std::deque<DocEvent> m_recent;
    std::vector<std::pair<std::uint64_t, Handler>> m_handlers;
    std::uint64_t m_next_subscription = 1;
};

} // namespace m::core
