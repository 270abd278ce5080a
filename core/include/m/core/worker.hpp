// The job worker of `m worker` (docs/reference/jobs-events.md, "The worker"): fetches jobs from a
// JobQueue and runs them on N threads.
//
//   dispatcher thread ── queue.fetch(free slots) ──► slot threads (N) ── job fn ──► succeed/fail
//   watchdog thread   ── heartbeats every lease/3; a job past its timeout is failed (and retried)
//                        and its thread abandoned: C++ cannot kill a thread, so a replacement slot
//                        starts, the job sees ctx.cancelled, and its late result is discarded
//   scheduler thread  ── (--scheduler) enqueues each due cron tick once, with the job id
//                        "cron.<job>.<tick>", so several schedulers enqueue it exactly once
//
// Stopping (SIGTERM): fetching stops at once, running jobs get `grace` to finish and be acked,
// then run() returns. A job still running after the grace period is not acked: the broker
// delivers it again after the lease (at least once, never lost).
#pragma once

#include "m/core/jobs.hpp"
#include "m/core/scheduler.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace m::core {

class Database;
class DocumentService;
class EventBroker;
class MetaRegistry;

struct WorkerOptions {
    int concurrency = 4;
    std::vector<std::string> queues;        ///< empty = every queue of the registry
    std::chrono::milliseconds grace{30000}; ///< how long running jobs may finish on stop
    std::chrono::milliseconds lease{30000}; ///< heartbeat period = lease / 3
    bool scheduler = false;                 ///< also run the cron scheduler
    /// Relay the outbox to the broker (when `broker` is set) from this process.
    bool relay_events = true;
    /// Where the worker says what happens (one line each); empty = silent.
    std::function<void(const std::string&)> log;
};

struct WorkerStats {
    std::uint64_t succeeded = 0;
    std::uint64_t failed = 0; ///< attempts that failed (retried or not)
    std::uint64_t timed_out = 0;
    int abandoned_running = 0; ///< abandoned threads still running when run() returned
};

class Worker {
public:
    Worker(const JobRegistry& registry, JobQueue& queue, Database& db, DocumentService& documents,
           EventBroker* broker, WorkerOptions options);

    /// Runs until `stop` becomes true (checked every 100 ms), then drains as described above.
    WorkerStats run(const std::atomic<bool>& stop);

private:
    const JobRegistry& m_registry;
    JobQueue& m_queue;
    Database& m_db;
    DocumentService& m_documents;
    EventBroker* m_broker;
    WorkerOptions m_options;
};

} // namespace m::core
