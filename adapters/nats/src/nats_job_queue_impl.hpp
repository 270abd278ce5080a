// The state of NatsJobQueue and what its parts share (internal to the adapter): the stream and the
// message headers, queue names, and the Impl. The parts by concern: nats_job_queue.cpp (start,
// stop, status, retry, cancel), nats_job_publish.cpp (records and their messages, enqueue) and
// nats_job_delivery.cpp (consumers, fetch and settling deliveries).
#pragma once

#include "m/adapters/nats/nats_job_queue.hpp"

#include "nats_connection.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace m::adapters::nats {

namespace job_queue {

inline constexpr const char* k_stream = "framework_m_jobs";
/// Unix ms before which the job must not run (delayed enqueue).
inline constexpr const char* k_not_before = "M-Not-Before";
/// The record's enqueued_at when the message was published: tells an old message of a job that
/// was retried since (a new generation) from the current one.
inline constexpr const char* k_generation = "M-Enqueued-At";
/// The job id, also for messages whose JSON cannot be read (async publish errors).
inline constexpr const char* k_job_id = "M-Job-Id";

/// Queue names become a subject token and part of a consumer name.
void check_queue_name(const std::string& queue);

inline std::string subject_of(const std::string& queue) {
    return std::string(k_stream) + "." + queue;
}
inline std::string consumer_of(const std::string& queue) {
    return "workers_" + queue;
}

/// A header of a message; nullopt when it has none of that name.
std::optional<std::string> header(natsMsg* msg, const char* key);

} // namespace job_queue

struct NatsJobQueue::Impl {
    std::string url;
    core::JobStore& store;
    NatsJobQueueOptions options;
    detail::Connection conn;

    // Worker threads ack while stop() may tear the connection down: they hold this shared, stop()
    // exclusively, and acks after stop() are skipped (the jobs come back after the ack wait).
    std::shared_mutex life;
    bool started = false;

    std::mutex subs_mutex;
    std::map<std::string, natsSubscription*> subs; ///< queue -> pull subscription

    // enqueue_many runs one batch at a time: asynchronous publish errors arrive on a library
    // thread for the whole JetStream context, and this list collects them for the running batch.
    std::mutex batch_mutex;
    std::mutex errors_mutex;
    std::vector<std::pair<std::string, std::string>> async_errors; ///< job id, reason

    Impl(std::string u, core::JobStore& s, NatsJobQueueOptions o)
        : url(std::move(u)), store(s), options(std::move(o)) {}

    void require_started() const;

    // nats_job_publish.cpp
    static void on_publish_error(jsCtx*, jsPubAckErr* pae, void* closure);
    /// Gives a reconnect in progress a moment, then names the broker as away.
    std::optional<std::string> wait_connected() const;
    core::JobRecord new_record(const core::JobDef& def, const core::Json& kwargs,
                               std::string id) const;
    /// The message of a record: its JSON, plus headers for what fetch() checks before parsing.
    natsMsg* make_message(const core::JobRecord& r, std::int64_t not_before) const;
    /// Publishes and waits for the ack; the reason of a failure, or nullopt.
    std::optional<std::string> publish(const core::JobRecord& r, const std::string& msg_id,
                                       std::int64_t not_before);
    /// Publishes records asynchronously and waits for the acks; the reason by job id of those
    /// that did not get one. The caller holds batch_mutex.
    std::map<std::string, std::string> publish_batch(const std::vector<core::JobRecord>& fresh);
    /// Marks a record that never reached the broker and throws.
    [[noreturn]] void not_enqueued(core::JobRecord r, const std::string& reason);

    // nats_job_delivery.cpp
    /// The pull subscription of a queue, creating its consumer on first use. nullptr when the
    /// broker is away right now.
    natsSubscription* subscription(const std::string& queue);
    void drop_subscription(const std::string& queue);
    /// Removes a message for good: Term stops redelivery, and the delete drops it from the
    /// WorkQueue stream, which keeps termed messages otherwise. Failures are harmless: the
    /// message comes back and fetch() settles it again.
    void discard(natsMsg* msg, std::uint64_t stream_seq);
    /// Turns one delivered message into a lease, or settles it and returns nullopt. Takes
    /// ownership of `msg`.
    std::optional<core::Lease> accept(natsMsg* raw);
};

} // namespace m::adapters::nats
