// The loops of core::Worker besides the slots: the dispatcher (fetches while slots are free), the
// cron scheduler and the outbox relay. Each logs what fails and tries again; none swallows an
// error silently.
#include "worker_parts.hpp"

#include "m/core/database.hpp"
#include "m/core/outbox.hpp"

#include <fmt/format.h>

namespace m::core::worker {

namespace {

/// Sleeps up to `total`, in steps of 100 ms, returning early once `stop` is set.
void nap(const std::atomic<bool>& stop, std::chrono::milliseconds total) {
    for (auto slept = std::chrono::milliseconds(0); slept < total && !stop;
         slept += std::chrono::milliseconds(100)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

/// Blocks until a slot is free (or fetching ends); how many jobs may be fetched, 0 to stop.
int free_slots(State& state, int concurrency) {
    std::unique_lock lock(state.mutex);
    const int window = 2 * concurrency; // running + fetched ahead
    auto busy = [&] { return int(state.running.size() + state.ready.size()); };
    state.wake.wait_for(lock, std::chrono::milliseconds(100),
                        [&] { return !state.fetching || busy() < window; });
    if (!state.fetching) return -1;
    return window - busy();
}

} // namespace

void dispatch(const Services& sv, State& state, const WorkerOptions& options) {
    std::size_t next = 0;
    auto last_complaint = Clock::time_point{};
    for (;;) {
        const int free = free_slots(state, options.concurrency);
        if (free < 0) return;
        if (free == 0) continue;
        const std::string& queue = options.queues[next++ % options.queues.size()];
        const int wait = options.queues.size() == 1 ? 250 : 50;
        try {
            auto leases = sv.queue.fetch(queue, free, wait);
            if (leases.empty()) continue;
            std::lock_guard lock(state.mutex);
            auto now = Clock::now();
            for (auto& l : leases) state.ready.emplace_back(std::move(l), now);
            state.wake.notify_all();
        } catch (const std::exception& e) {
            if (Clock::now() - last_complaint > std::chrono::seconds(30)) {
                sv.say(
                    fmt::format("cannot fetch jobs of queue '{}': {} (retrying)", queue, e.what()));
                last_complaint = Clock::now();
            }
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
}

void schedule(const Services& sv, const std::atomic<bool>& stop) {
    std::vector<ExtraSchedule> rows;
    auto rows_read = Clock::time_point{};
    auto skipped = [&sv](const ExtraSchedule& row, const std::string& why) {
        sv.say(fmt::format("scheduler: Scheduled Job '{}' skipped: {}", row.key, why));
    };
    while (!stop) {
        try {
            if (Clock::now() - rows_read > std::chrono::seconds(10)) {
                auto session = sv.db.session(); // edits apply within 10 s
                rows = scheduled_job_rows(sv.documents, *session);
                rows_read = Clock::now();
            }
            const std::int64_t now = now_ms() / 1000;
            for (const auto& job :
                 enqueue_due_ticks(sv.registry, sv.queue, rows, now, 60, skipped)) {
                sv.say(fmt::format("scheduled {} {}", job.name, job.id));
            }
        } catch (const std::exception& e) {
            sv.say(fmt::format("scheduler: {}", e.what()));
        }
        nap(stop, std::chrono::seconds(1));
    }
}

void relay(const Services& sv, const std::atomic<bool>& stop) {
    auto last_prune = Clock::now();
    while (!stop) {
        try {
            if (relay_outbox(sv.db, *sv.broker) > 0) continue;
            if (Clock::now() - last_prune > std::chrono::minutes(1)) {
                prune_outbox(sv.db, std::chrono::hours(1), true);
                last_prune = Clock::now();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } catch (const std::exception& e) {
            sv.say(fmt::format("event relay: {} (retrying)", e.what()));
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
}

} // namespace m::core::worker
