// The parts of core::Worker (internal to core/src): what the threads share, the slot pool that
// runs jobs, the watchdog, the dispatcher, the scheduler and the outbox relay
// (docs/reference/jobs-events.md, "The worker"). worker.cpp composes them in Worker::run.
#pragma once

#include "m/core/worker.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace m::core::worker {

using Clock = std::chrono::steady_clock;

/// What the jobs run against. Shared (shared_ptr) with the slot threads, since an abandoned one
/// may return after Worker::run has.
struct Services {
    const JobRegistry& registry;
    JobQueue& queue;
    Database& db;
    DocumentService& documents;
    EventBroker* broker;
    std::function<void(const std::string&)> log; ///< never empty

    void say(const std::string& line) const { log(line); }
};

/// One job being run by a slot thread.
struct Running {
    Lease lease;
    int slot = 0;
    Clock::time_point deadline;
    Clock::time_point last_beat;
    std::atomic<bool> cancelled{false};
    bool done = false;      ///< the function returned (guarded by the state mutex)
    bool abandoned = false; ///< timed out or outlived the grace period (guarded)
};

/// What the threads share. Held by shared_ptr, so an abandoned thread that returns after run()
/// has finished still finds it.
struct State {
    std::mutex mutex;
    std::condition_variable wake;
    /// Fetched, waiting for a free slot (up to `concurrency` are fetched ahead, so a slot that
    /// finishes finds the next job without a round trip to the broker), with their last beat.
    std::deque<std::pair<Lease, Clock::time_point>> ready;
    std::map<int, std::shared_ptr<Running>> running; ///< by slot
    std::map<int, std::thread> threads;              ///< live slot threads by slot
    int next_slot = 0;
    bool fetching = true;
    bool slots_exit = false;
    std::atomic<int> abandoned_live{0};
    std::atomic<std::uint64_t> succeeded{0}, failed{0}, timed_out{0};
};

using SharedServices = std::shared_ptr<const Services>;
using SharedState = std::shared_ptr<State>;

// ---- the slot pool (worker_slots.cpp) ----------------------------------------------------------

/// Starts one more slot thread; the caller holds state->mutex.
void start_slot(const SharedServices& services, const SharedState& state);
/// One watchdog pass: heartbeats every lease / 3 for running and fetched jobs; a job past its
/// timeout is failed (and retried) and its thread abandoned, a replacement slot started.
void watchdog_pass(const SharedServices& services, const SharedState& state,
                   std::chrono::milliseconds lease);
/// After the grace period: jobs still running are abandoned (not acknowledged: delivered again
/// after their lease), idle slots exit and are joined.
void stop_slots(State& state);

// ---- the loops (worker_loops.cpp) --------------------------------------------------------------

/// The dispatcher: fetches while there are free slots (running + fetched ahead < 2 × slots),
/// round-robin over the queues, until state.fetching is false.
void dispatch(const Services& services, State& state, const WorkerOptions& options);
/// The scheduler: each second, enqueues the due cron ticks (rows re-read every 10 s).
void schedule(const Services& services, const std::atomic<bool>& stop);
/// The outbox relay: publishes committed events to the broker, prunes relayed ones each minute.
void relay(const Services& services, const std::atomic<bool>& stop);

} // namespace m::core::worker
