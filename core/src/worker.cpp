// core::Worker: the composition of its parts (worker_parts.hpp) — the slot pool and watchdog
// (worker_slots.cpp), the dispatcher, scheduler and outbox relay (worker_loops.cpp) — and the
// stop sequence: no more fetching, what was fetched runs, running jobs get the grace period.
#include "m/core/worker.hpp"

#include "worker_parts.hpp"

#include <algorithm>

namespace m::core {

Worker::Worker(const JobRegistry& registry, JobQueue& queue, Database& db,
               DocumentService& documents, EventBroker* broker, WorkerOptions options)
    : m_registry(registry), m_queue(queue), m_db(db), m_documents(documents), m_broker(broker),
      m_options(std::move(options)) {
    m_options.concurrency = std::clamp(m_options.concurrency, 1, 1024);
    if (m_options.queues.empty()) m_options.queues = m_registry.queues();
    if (m_options.queues.empty()) m_options.queues.push_back("default");
}

namespace {

using worker::Clock;

void stop_fetching(worker::State& state) {
    std::lock_guard lock(state.mutex);
    state.fetching = false;
    state.wake.notify_all();
}

/// Waits (with watchdog passes) until every fetched and running job is done, or `grace` ends.
void drain(const worker::SharedServices& sv, const worker::SharedState& state,
           const WorkerOptions& options) {
    const auto grace_end = Clock::now() + options.grace;
    for (;;) {
        {
            std::lock_guard lock(state->mutex);
            if (state->ready.empty() && state->running.empty()) return;
        }
        if (Clock::now() >= grace_end) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        worker::watchdog_pass(sv, state, options.lease);
    }
}

} // namespace

WorkerStats Worker::run(const std::atomic<bool>& stop) {
    auto sv = std::make_shared<const worker::Services>(
        worker::Services{m_registry, m_queue, m_db, m_documents, m_broker,
                         [log = m_options.log](const std::string& line) {
                             if (log) log(line);
                         }});
    auto state = std::make_shared<worker::State>();
    {
        std::lock_guard lock(state->mutex);
        for (int i = 0; i < m_options.concurrency; ++i) worker::start_slot(sv, state);
    }
    std::thread dispatcher([this, sv, state] { worker::dispatch(*sv, *state, m_options); });
    std::atomic<bool> helpers_stop{false};
    std::vector<std::thread> helpers;
    if (m_options.scheduler) {
        helpers.emplace_back([sv, &helpers_stop] { worker::schedule(*sv, helpers_stop); });
    }
    if (m_broker && m_options.relay_events) {
        helpers.emplace_back([sv, &helpers_stop] { worker::relay(*sv, helpers_stop); });
    }

    while (!stop) { // the watchdog runs on this thread
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        worker::watchdog_pass(sv, state, m_options.lease);
    }

    // Stop: no more fetching; what was fetched runs; running jobs get the grace period.
    stop_fetching(*state);
    dispatcher.join();
    drain(sv, state, m_options);
    worker::stop_slots(*state);
    helpers_stop = true;
    for (auto& t : helpers) t.join();

    WorkerStats stats;
    stats.succeeded = state->succeeded;
    stats.failed = state->failed;
    stats.timed_out = state->timed_out;
    stats.abandoned_running = state->abandoned_live;
    return stats;
}

} // namespace m::core
