#include "m/core/worker.hpp"

#include "m/core/controller.hpp"
#include "m/core/cron.hpp"
#include "m/core/database.hpp"
#include "m/core/error.hpp"
#include "m/core/outbox.hpp"

#include <fmt/format.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace m::core {

namespace {

using Clock = std::chrono::steady_clock;

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

} // namespace

Worker::Worker(const JobRegistry& registry, JobQueue& queue, Database& db,
               DocumentService& documents, EventBroker* broker, WorkerOptions options)
    : m_registry(registry), m_queue(queue), m_db(db), m_documents(documents), m_broker(broker),
      m_options(std::move(options)) {
    m_options.concurrency = std::clamp(m_options.concurrency, 1, 1024);
    if (m_options.queues.empty()) m_options.queues = m_registry.queues();
    if (m_options.queues.empty()) m_options.queues.push_back("default");
}

WorkerStats Worker::run(const std::atomic<bool>& stop) {
    auto state = std::make_shared<State>();
    auto log = [this](const std::string& line) {
        if (m_options.log) m_options.log(line);
    };

    // Runs one job on the calling slot thread and records its outcome.
    auto execute = [this, state, log](const std::shared_ptr<Running>& r) {
        Lease& lease = r->lease;
        const JobDef* def = m_registry.find(lease.job.name);
        std::string error;
        Json result;
        bool ok = false;
        if (!def) {
            error = fmt::format("unknown job '{}' (not registered in this worker)", lease.job.name);
        } else {
            JobContext ctx{
                lease.job.id, lease.job.attempts,
                m_db,         m_documents,
                m_queue,      m_broker,
                r->cancelled, [this, copy = lease]() mutable {
                               m_queue.heartbeat(copy); }};
            try {
                result = def->fn(lease.job.kwargs, ctx);
                ok = true;
            } catch (const std::exception& e) {
                error = e.what();
            } catch (...) {
                error = "the job threw something that is not a std::exception";
            }
        }
        {
            std::lock_guard lock(state->mutex);
            if (r->abandoned) return; // timed out: the watchdog has failed it already
            r->done = true;
        }
        try {
            if (ok) {
                m_queue.succeed(lease, result);
                ++state->succeeded;
            } else {
                m_queue.fail(lease, error, def != nullptr);
                ++state->failed;
                log(fmt::format("job {} {} failed (attempt {} of {}): {}", lease.job.name,
                                lease.job.id, lease.job.attempts, lease.job.max_attempts, error));
            }
        } catch (const std::exception& e) {
            // Not acknowledged: the broker delivers the job again after its lease.
            log(fmt::format("job {} {}: outcome not recorded ({}); it will be delivered again",
                            lease.job.name, lease.job.id, e.what()));
        }
    };

    std::function<void()> start_slot; // defined below; the slot loop refers to itself
    auto slot_loop = [state, execute](int slot) {
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
                r->deadline =
                    r->last_beat + std::chrono::seconds(std::max(1, r->lease.job.timeout));
                state->running[slot] = r;
            }
            execute(r);
            std::lock_guard lock(state->mutex);
            if (r->abandoned) {
                --state->abandoned_live;
                return; // a replacement slot runs in our place
            }
            state->running.erase(slot);
            state->wake.notify_all();
        }
    };
    start_slot = [state, slot_loop] {
        int slot = state->next_slot++;
        state->threads.emplace(slot, std::thread(slot_loop, slot));
    };
    {
        std::lock_guard lock(state->mutex);
        for (int i = 0; i < m_options.concurrency; ++i) start_slot();
    }

    // Fetches while there are free slots.
    std::thread dispatcher([this, state, log] {
        std::size_t next = 0;
        auto last_complaint = Clock::time_point{};
        for (;;) {
            int free = 0;
            {
                std::unique_lock lock(state->mutex);
                const int window = 2 * m_options.concurrency; // running + fetched ahead
                state->wake.wait_for(lock, std::chrono::milliseconds(100), [&] {
                    return !state->fetching ||
                           int(state->running.size() + state->ready.size()) < window;
                });
                if (!state->fetching) return;
                free = window - int(state->running.size() + state->ready.size());
            }
            if (free <= 0) continue;
            const std::string& queue = m_options.queues[next++ % m_options.queues.size()];
            int wait = m_options.queues.size() == 1 ? 250 : 50;
            try {
                auto leases = m_queue.fetch(queue, free, wait);
                if (leases.empty()) continue;
                std::lock_guard lock(state->mutex);
                auto now = Clock::now();
                for (auto& l : leases) state->ready.emplace_back(std::move(l), now);
                state->wake.notify_all();
            } catch (const std::exception& e) {
                if (Clock::now() - last_complaint > std::chrono::seconds(30)) {
                    log(fmt::format("cannot fetch jobs of queue '{}': {} (retrying)", queue,
                                    e.what()));
                    last_complaint = Clock::now();
                }
                std::this_thread::sleep_for(std::chrono::seconds(1));
            }
        }
    });

    // Background loops that stop with `stop`.
    std::atomic<bool> helpers_stop{false};
    std::vector<std::thread> helpers;
    if (m_options.scheduler) {
        helpers.emplace_back([this, &helpers_stop, log] {
            std::vector<ExtraSchedule> rows;
            auto rows_read = Clock::time_point{};
            while (!helpers_stop) {
                try {
                    if (Clock::now() - rows_read > std::chrono::seconds(10)) {
                        rows = scheduled_job_rows(m_db); // edits apply within 10 s
                        rows_read = Clock::now();
                    }
                    std::int64_t now = now_ms() / 1000;
                    for (const auto& job : enqueue_due_ticks(m_registry, m_queue, rows, now)) {
                        log(fmt::format("scheduled {} {}", job.name, job.id));
                    }
                } catch (const std::exception& e) {
                    log(fmt::format("scheduler: {}", e.what()));
                }
                for (int i = 0; i < 10 && !helpers_stop; ++i) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
                }
            }
        });
    }
    if (m_broker && m_options.relay_events) {
        helpers.emplace_back([this, &helpers_stop, log] {
            auto last_prune = Clock::now();
            while (!helpers_stop) {
                try {
                    if (relay_outbox(m_db, *m_broker) > 0) continue;
                    if (Clock::now() - last_prune > std::chrono::minutes(1)) {
                        prune_outbox(m_db, std::chrono::hours(1), true);
                        last_prune = Clock::now();
                    }
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
                } catch (const std::exception& e) {
                    log(fmt::format("event relay: {} (retrying)", e.what()));
                    std::this_thread::sleep_for(std::chrono::seconds(1));
                }
            }
        });
    }

    // The watchdog: heartbeats and timeouts, on this thread.
    auto watchdog = [this, state, log, &start_slot] {
        std::vector<Lease> beats;
        std::vector<std::shared_ptr<Running>> expired;
        {
            std::lock_guard lock(state->mutex);
            auto now = Clock::now();
            for (auto& [slot, r] : state->running) {
                if (r->done || r->abandoned) continue;
                if (now >= r->deadline) {
                    r->abandoned = true;
                    r->cancelled = true;
                    expired.push_back(r);
                } else if (now - r->last_beat >= m_options.lease / 3) {
                    r->last_beat = now;
                    beats.push_back(r->lease);
                }
            }
            for (auto& [lease, last_beat] : state->ready) {
                if (now - last_beat >= m_options.lease / 3) {
                    last_beat = now;
                    beats.push_back(lease);
                }
            }
            for (const auto& r : expired) {
                state->running.erase(r->slot);
                if (auto t = state->threads.find(r->slot); t != state->threads.end()) {
                    t->second.detach();
                    state->threads.erase(t);
                }
                ++state->abandoned_live;
                start_slot();
            }
            if (!expired.empty()) state->wake.notify_all();
        }
        for (auto& b : beats) {
            try {
                m_queue.heartbeat(b);
            } catch (const std::exception&) {
                // The next beat tries again; a lost lease only means a second delivery.
            }
        }
        for (const auto& r : expired) {
            ++state->timed_out;
            ++state->failed;
            // The abandoned slot thread may still read r->lease (its job runs on): fail() writes
            // the lease it is given, so it gets a copy (a data race ThreadSanitizer found).
            Lease lease = r->lease;
            std::string error = fmt::format("timed out after {} s", lease.job.timeout);
            log(fmt::format("job {} {} {}", lease.job.name, lease.job.id, error));
            try {
                m_queue.fail(lease, error, true);
            } catch (const std::exception& e) {
                log(fmt::format("job {}: timeout not recorded: {}", r->lease.job.id, e.what()));
            }
        }
    };

    while (!stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        watchdog();
    }

    // Stop: no more fetching; what was fetched runs; running jobs get the grace period.
    {
        std::lock_guard lock(state->mutex);
        state->fetching = false;
        state->wake.notify_all();
    }
    dispatcher.join();
    auto grace_end = Clock::now() + m_options.grace;
    for (;;) {
        {
            std::lock_guard lock(state->mutex);
            if (state->ready.empty() && state->running.empty()) break;
        }
        if (Clock::now() >= grace_end) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        watchdog();
    }
    std::map<int, std::thread> threads;
    {
        std::lock_guard lock(state->mutex);
        state->slots_exit = true;
        // Jobs still running now outlived the grace period: they are not acknowledged, so the
        // broker delivers them again after their lease.
        for (auto& [slot, r] : state->running) {
            r->abandoned = true;
            r->cancelled = true;
            ++state->abandoned_live;
            if (auto t = state->threads.find(slot); t != state->threads.end()) {
                t->second.detach();
                state->threads.erase(t);
            }
        }
        state->running.clear();
        state->ready.clear();
        threads.swap(state->threads);
        state->wake.notify_all();
    }
    for (auto& [_, t] : threads) t.join();
    helpers_stop = true;
    for (auto& t : helpers) t.join();

    WorkerStats stats;
    stats.succeeded = state->succeeded;
    stats.failed = state->failed;
    stats.timed_out = state->timed_out;
    stats.abandoned_running = state->abandoned_live;
    return stats;
}

std::vector<ExtraSchedule> scheduled_job_rows(Database& db) {
    std::vector<ExtraSchedule> out;
    auto s = db.session();
    ResultSet rs;
    try {
        rs = s->query(fmt::format("SELECT name, job, schedule, kwargs FROM scheduled_job WHERE "
                                  "enabled = {}",
                                  db.dialect().placeholder(1)),
                      {true});
    } catch (const Error&) {
        return out; // not migrated yet
    }
    for (const auto& row : rs.rows) {
        ExtraSchedule e;
        e.key = row[0].value_or("");
        e.job = row[1].value_or("");
        e.cron = row[2].value_or("");
        Json kwargs = Json::parse(row[3].value_or("{}"), nullptr, false);
        e.kwargs = kwargs.is_object() ? kwargs : Json::object();
        out.push_back(std::move(e));
    }
    return out;
}

namespace {

class ScheduledJobController final : public Controller {
public:
    explicit ScheduledJobController(const JobRegistry& registry) : m_registry(registry) {}

    void validate(Json& doc, HookContext&) override {
        std::vector<std::string> errors;
        const std::string job = doc.value("job", std::string());
        if (!m_registry.find(job)) {
            std::string names;
            for (const auto& [n, _] : m_registry.all()) names += (names.empty() ? "" : ", ") + n;
            errors.push_back(fmt::format("job: unknown job '{}' (registered: {})", job, names));
        }
        try {
            (void)CronSchedule::parse(doc.value("schedule", std::string()));
        } catch (const Error& e) {
            errors.push_back(std::string("schedule: ") + e.what());
        }
        if (doc.contains("kwargs") && !doc["kwargs"].is_null() && !doc["kwargs"].is_object()) {
            errors.push_back("kwargs: must be a JSON object");
        }
        if (!errors.empty()) {
            std::string message;
            for (const auto& e : errors) message += (message.empty() ? "" : "; ") + e;
            throw Error(ErrorKind::validation, message);
        }
    }

private:
    const JobRegistry& m_registry;
};

} // namespace

std::unique_ptr<Controller> make_scheduled_job_controller(const JobRegistry& registry) {
    return std::make_unique<ScheduledJobController>(registry);
}

std::vector<JobRecord> enqueue_due_ticks(const JobRegistry& registry, JobQueue& queue,
                                         const std::vector<ExtraSchedule>& extra, std::int64_t now,
                                         std::int64_t window) {
    std::vector<JobRecord> out;
    auto due = [&](const JobDef& def, const std::string& cron, const Json& kwargs,
                   const std::string& key) {
        auto tick = CronSchedule::parse(cron).latest_at_or_before(now);
        if (!tick || now - *tick >= window) return;
        std::string safe = key; // a row name may hold spaces; job ids may not
        for (char& c : safe) {
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
        }
        std::string id = key.empty() ? fmt::format("cron.{}.{}", def.name, *tick)
                                     : fmt::format("cron.{}.{}.{}", def.name, safe, *tick);
        bool created = false;
        JobRecord r = queue.enqueue(def, kwargs, EnqueueOptions{id, 0, &created});
        if (created) out.push_back(std::move(r));
    };
    for (const auto& [name, def] : registry.all()) {
        if (!def.schedule.empty()) due(def, def.schedule, Json::object(), "");
    }
    for (const auto& s : extra) {
        if (const JobDef* def = registry.find(s.job)) due(*def, s.cron, s.kwargs, s.key);
    }
    return out;
}

} // namespace m::core
