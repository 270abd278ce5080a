// The NATS JetStream adapter of the event broker port (core/events.hpp).
//
// Events go to the limits stream `events` (subjects `events.<topic>`, kept one hour) with the
// outbox row id as the dedup key, so relaying the same outbox rows twice stores them once.
// Subscribers read through an ordered push consumer that starts at new messages: a process gets
// what is published while it runs, in stream order. nats.c stays behind this header.
#pragma once

#include "m/core/events.hpp"

#include <functional>
#include <memory>
#include <string>

namespace m::adapters::nats {

/// An EventBroker on NATS JetStream. Thread-safe.
class NatsEventBroker final : public core::EventBroker {
public:
    /// Nothing is connected before start().
    explicit NatsEventBroker(std::string url);
    ~NatsEventBroker() override;

    /// "event broker (NATS)".
    std::string service_name() const override;
    /// Connects, creates the stream (or finds it) and subscribes when a handler is set.
    /// Error{unavailable} "NATS at <url>: ...".
    void start() override;
    /// Drains the subscription (waits for a running handler call) and closes the connection.
    void stop() noexcept override;
    /// Connected, and the stream answers. Error{unavailable} otherwise.
    void check() override;

    /// Publishes asynchronously with MsgId `outbox-<outbox_id>` and waits for every ack.
    /// Error{unavailable} when any is not stored (republishing all of them is safe).
    void publish(const std::vector<core::OutboxEvent>& events) override;
    /// The handler runs on a thread of the library, one event at a time. Messages that are not
    /// events, and handler exceptions, are reported on stderr and skipped.
    void subscribe(std::function<void(const core::DocEvent&)> handler) override;

    struct Impl;

private:
    std::unique_ptr<Impl> m_impl;
};

} // namespace m::adapters::nats
