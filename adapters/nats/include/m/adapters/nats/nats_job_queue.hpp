// The NATS JetStream adapter of the job queue port (core/jobs.hpp).
//
// Jobs wait in the WorkQueue stream `framework_m_jobs`, one subject per queue
// (`framework_m_jobs.<queue>`), each read by one durable pull consumer `workers_<queue>` that all
// workers share (JetStream balances it). A message carries the job's record as JSON; the job's
// status lives in a core::JobStore (the database or Redis), which the queue reads on every
// delivery: a job that SUCCEEDED is acked and never run again, a CANCELLED one is dropped, and the
// number of runs is counted there. Dead letters are FAILED records in the store (their stream
// messages are deleted); retry() publishes them again. nats.c stays behind this header.
#pragma once

#include "m/core/jobs.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace m::adapters::nats {

/// Tuning of a NatsJobQueue; the defaults are for production.
struct NatsJobQueueOptions {
    /// How long a delivered job may go without an ack or a heartbeat before JetStream delivers it
    /// again (to another worker: the first one is taken for crashed). Set on a queue's shared
    /// consumer when this process first fetches from the queue; nats-server 2.9 updates an
    /// existing consumer, so the worker that started last decides for all of them. A worker must
    /// heartbeat long jobs more often than this.
    std::chrono::milliseconds ack_wait{30000};
    /// The connection's name as the server shows it.
    std::string client_name = "m job queue";
};

/// A JobQueue on NATS JetStream. Thread-safe: fetch() from one thread per queue, the other calls
/// from any thread (succeed/fail/heartbeat of different leases run concurrently).
class NatsJobQueue final : public core::JobQueue {
public:
    /// Nothing is connected before start(). `store` must outlive the queue and be started first.
    NatsJobQueue(std::string url, core::JobStore& store, NatsJobQueueOptions options = {});
    ~NatsJobQueue() override;

    /// "job queue (NATS)".
    std::string service_name() const override;
    /// Connects and creates the stream (or finds it). Error{unavailable} "NATS at <url>: ...".
    void start() override;
    /// Drops subscriptions and the connection; leases still held can no longer be acked (their
    /// jobs are delivered again after the ack wait). Never calls nats_Close().
    void stop() noexcept override;
    /// Connected, and the stream answers. Error{unavailable} otherwise.
    void check() override;

    /// Stores the record first (put_if_absent: an existing id returns the stored record and
    /// publishes nothing), then publishes it with the id as the dedup key. When the publish fails
    /// the record becomes FAILED "not enqueued: <reason>" and Error{unavailable} is thrown.
    /// Error{validation} when kwargs is not an object or the queue name is not a subject token.
    core::JobRecord enqueue(const core::JobDef& def, const core::Json& kwargs,
                            const core::EnqueueOptions& options = {}) override;
    /// Stores every record, then publishes them asynchronously and waits for all acks. Records
    /// that could not be published become FAILED "not enqueued: ..." and Error{unavailable} is
    /// thrown after the others are in.
    std::vector<core::JobRecord> enqueue_many(const core::JobDef& def,
                                              const std::vector<core::Json>& kwargs) override;

    /// Creates the queue's consumer on first use. A broker that is away (restarting) gives an
    /// empty list after a short pause, not an error, so that a worker waits it out. Messages not
    /// due yet, of SUCCESS/CANCELLED/FAILED jobs, or of jobs that already used every attempt
    /// (crashed workers) are settled here and not returned.
    std::vector<core::Lease> fetch(const std::string& queue, int max, int wait_ms) override;
    /// Resets the ack wait of the lease (natsMsg_InProgress); a no-op after stop().
    void heartbeat(core::Lease& lease) override;
    /// Stores SUCCESS, then acks. A lost ack redelivers the message, which fetch() then drops.
    void succeed(core::Lease& lease, const core::Json& result) override;
    /// Stores PENDING and naks with retry_backoff_ms(attempts) while attempts are left; else
    /// stores FAILED, terminates the message and deletes it from the stream.
    void fail(core::Lease& lease, const std::string& error, bool retry = true) override;

    std::optional<core::JobRecord> status(const std::string& id) override;
    std::vector<core::JobRecord> recent(int limit,
                                        std::optional<core::JobState> state = {}) override;
    /// Publishes the job again under a new dedup id (`<id>.retry.<ms>`); Error{not_found},
    /// Error{conflict} when not FAILED/CANCELLED, Error{unavailable} when the publish fails.
    core::JobRecord retry(const std::string& id) override;
    /// PENDING → CANCELLED in the store; its message is dropped when it is delivered.
    core::JobRecord cancel(const std::string& id) override;

    /// "nats".
    std::string kind() const override;

    struct Impl;

private:
    std::unique_ptr<Impl> m_impl;
};

} // namespace m::adapters::nats
