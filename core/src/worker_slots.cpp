// The slot pool of core::Worker: N threads that each run one job at a time, and the watchdog
// that heartbeats their leases and abandons a job past its timeout (C++ cannot kill a thread: a
// replacement slot starts, the job sees ctx.cancelled, and its late result is discarded).
#include "worker_parts.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

namespace m::core::worker {

namespace {

/// Runs the job's function; its result, or the error text.
bool call(const Services& sv, Running& r, const JobDef* def, Json& result, std::string& error) {
    Lease& lease = r.lease;
    if (!def) {
        error = fmt::format("unknown job '{}' (not registered in this worker)", lease.job.name);
        return false;
    }
    JobContext ctx{lease.job.id, lease.job.attempts,
                   sv.db,        sv.documents,
                   sv.queue,     sv.broker,
                   r.cancelled,  [&sv, copy = lease]() mutable { sv.queue.heartbeat(copy); }};
    try {
        result = def->fn(lease.job.kwargs, ctx);
        return true;
    } catch (const std::exception& e) {
        error = e.what();
    } catch (...) {
        error = "the job threw something that is not a std::exception";
    }
    return false;
}

/// Runs one job on the calling slot thread and records its outcome.
void execute(const Services& sv, State& state, const std::shared_ptr<Running>& r) {
    Lease& lease = r->lease;
    const JobDef* def = sv.registry.find(lease.job.name);
    std::string error;
    Json result;
    const bool ok = call(sv, *r, def, result, error);
    {
        std::lock_guard lock(state.mutex);
        if (r->abandoned) return; // timed out: the watchdog has failed it already
        r->done = true;
    }
    try {
        if (ok) {
            sv.queue.succeed(lease, result);
            ++state.succeeded;
        } else {
            sv.queue.fail(lease, error, def != nullptr);
            ++state.failed;
            sv.say(fmt::format("job {} {} failed (attempt {} of {}): {}", lease.job.name,
                               lease.job.id, lease.job.attempts, lease.job.max_attempts, error));
        }
    } catch (const std::exception& e) {
        // Not acknowledged: the broker delivers the job again after its lease.
        sv.say(fmt::format("job {} {}: outcome not recorded ({}); it will be delivered again",
                           lease.job.name, lease.job.id, e.what()));
    }
}

void slot_loop(SharedServices sv, SharedState state, int slot) {
    for (;;) {
        std::shared_ptr<Running> r;
        {
            std::unique_lock lock(state->mutex);
            state->wake.wait(lock, [&] { return !state->ready.empty() || state->slots_exit; });
            if (state->ready.empty()) return;
            r = std::make_shared<Running>();
            r->lease = std::move(state->ready.front().first);
            state->ready.pop_front();
            r->slot = slot;
            r->last_beat = Clock::now();
            r->deadline = r->last_beat + std::chrono::seconds(std::max(1, r->lease.job.timeout));
            state->running[slot] = r;
        }
        execute(*sv, *state, r);
        std::lock_guard lock(state->mutex);
        if (r->abandoned) {
            --state->abandoned_live;
            return; // a replacement slot runs in our place
        }
        state->running.erase(slot);
        state->wake.notify_all();
    }
}

/// Lets a slot's thread go (it runs on alone); the caller holds state.mutex.
void detach_slot(State& state, int slot) {
    if (auto t = state.threads.find(slot); t != state.threads.end()) {
        t->second.detach();
        state.threads.erase(t);
    }
}

/// Under the lock: the leases to beat now, and the jobs past their deadline (marked abandoned,
/// their slots replaced).
void collect(const SharedServices& sv, const SharedState& state, std::chrono::milliseconds lease,
             std::vector<Lease>& beats, std::vector<std::shared_ptr<Running>>& expired) {
    std::lock_guard lock(state->mutex);
    auto now = Clock::now();
    for (auto& [slot, r] : state->running) {
        if (r->done || r->abandoned) continue;
        if (now >= r->deadline) {
            r->abandoned = true;
            r->cancelled = true;
            expired.push_back(r);
        } else if (now - r->last_beat >= lease / 3) {
            r->last_beat = now;
            beats.push_back(r->lease);
        }
    }
    for (auto& [fetched, last_beat] : state->ready) {
        if (now - last_beat >= lease / 3) {
            last_beat = now;
            beats.push_back(fetched);
        }
    }
    for (const auto& r : expired) {
        state->running.erase(r->slot);
        detach_slot(*state, r->slot);
        ++state->abandoned_live;
        start_slot(sv, state);
    }
    if (!expired.empty()) state->wake.notify_all();
}

} // namespace

void start_slot(const SharedServices& services, const SharedState& state) {
    int slot = state->next_slot++;
    state->threads.emplace(slot, std::thread(slot_loop, services, state, slot));
}

void watchdog_pass(const SharedServices& sv, const SharedState& state,
                   std::chrono::milliseconds lease) {
    std::vector<Lease> beats;
    std::vector<std::shared_ptr<Running>> expired;
    collect(sv, state, lease, beats, expired);
    for (auto& b : beats) {
        try {
            sv->queue.heartbeat(b);
        } catch (const std::exception&) {
            // The next beat tries again; a lost lease only means a second delivery.
        }
    }
    for (const auto& r : expired) {
        ++state->timed_out;
        ++state->failed;
        // The abandoned slot thread may still read r->lease (its job runs on): fail() writes the
        // lease it is given, so it gets a copy (a data race ThreadSanitizer found).
        Lease copy = r->lease;
        std::string error = fmt::format("timed out after {} s", copy.job.timeout);
        sv->say(fmt::format("job {} {} {}", copy.job.name, copy.job.id, error));
        try {
            sv->queue.fail(copy, error, true);
        } catch (const std::exception& e) {
            sv->say(fmt::format("job {}: timeout not recorded: {}", copy.job.id, e.what()));
        }
    }
}

void stop_slots(State& state) {
    std::map<int, std::thread> threads;
    {
        std::lock_guard lock(state.mutex);
        state.slots_exit = true;
        // Jobs still running now outlived the grace period: they are not acknowledged, so the
        // broker delivers them again after their lease.
        for (auto& [slot, r] : state.running) {
            r->abandoned = true;
            r->cancelled = true;
            ++state.abandoned_live;
            detach_slot(state, slot);
        }
        state.running.clear();
        state.ready.clear();
        threads.swap(state.threads);
        state.wake.notify_all();
    }
    for (auto& [_, t] : threads) t.join();
}

} // namespace m::core::worker
