// Background jobs (docs/reference/jobs-events.md): C++ functions registered by name, enqueued
// from anywhere, run by `m worker`.
//
// Ports, so that the worker and the commands do not know the broker:
//   JobQueue  — where jobs wait and who runs them: the embedded queue in the project database
//               (DbJobQueue, the default) or NATS JetStream (adapters/nats, with NATS_URL).
//   JobStore  — where a job's status lives so that any process can read it: the database
//               (DbJobStore) or Redis (adapters/redis, with REDIS_URL). The embedded queue keeps
//               status in its own table and needs no store.
// Delivery is at least once; a job that has SUCCEEDED is never run again (the worker checks the
// stored status before running a redelivered job).
#pragma once

#include "m/core/permissions.hpp"
#include "m/core/service.hpp"
#include "m/core/values.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace m::core {

class Database;
class Session;
class DocumentService;
class EventBroker;
class JobQueue;

enum class JobState { pending, running, success, failed, cancelled };

/// "PENDING" "RUNNING" "SUCCESS" "FAILED" "CANCELLED".
const char* to_string(JobState state);
/// The inverse of to_string; Error{validation} for anything else.
JobState job_state_from(const std::string& text);

/// What a running job gets besides its kwargs.
struct JobContext {
    std::string job_id;
    int attempt = 1; ///< 1 on the first run
    Database& db;
    DocumentService& documents;    ///< open a session on `db` and a UnitOfWork for writes
    JobQueue& queue;               ///< to enqueue follow-up jobs
    EventBroker* broker = nullptr; ///< the event broker when there is one (NATS), else null
    const std::atomic<bool>&
        cancelled; ///< set when the job timed out or the worker is stopping hard

    /// Tells the broker the job is alive (long jobs; the worker also does it on its own).
    std::function<void()> heartbeat;
    /// Whom the job acts as with `documents`: the system (jobs are enqueued by the system, an
    /// administrator or a hook that already checked its caller).
    Principal caller = Principal::system_user();
};

/// A job function: returns the job's result (any JSON; null for none); throws to fail.
using JobFn = std::function<Json(const Json& kwargs, JobContext& ctx)>;

/// A registered job.
struct JobDef {
    std::string name;  ///< "billing.send_invoice"
    int retries = 3;   ///< runs at most retries + 1 times
    int timeout = 300; ///< seconds per attempt
    std::string queue = "default";
    std::string schedule; ///< 5-field cron expression; empty = not scheduled
    std::string description;
    JobFn fn;
};

/// Every job of the process: the built-in ones (core.noop, core.process_outbox) and the apps'.
class JobRegistry {
public:
    /// Adds a job. Error{validation} for a bad name (letters, digits, `_` and `.`), retries < 0,
    /// timeout < 1, a bad cron schedule or a name registered twice.
    void add(JobDef def);
    const JobDef* find(const std::string& name) const;
    /// The job or Error{not_found} "unknown job 'x' (registered: ...)".
    const JobDef& get(const std::string& name) const;
    const std::map<std::string, JobDef>& all() const noexcept { return m_jobs; }
    /// Names of the queues that have at least one job.
    std::vector<std::string> queues() const;

private:
    std::map<std::string, JobDef> m_jobs;
};

/// Registers core.noop and core.process_outbox.
void register_builtin_jobs(JobRegistry& registry);

/// The stored status of one job. Times are Unix milliseconds (0 = not yet).
struct JobRecord {
    std::string id;
    std::string name;
    std::string queue = "default";
    JobState status = JobState::pending;
    int attempts = 0;     ///< runs started so far
    int max_attempts = 4; ///< retries + 1
    int timeout = 300;    ///< seconds
    Json kwargs = Json::object();
    Json result;       ///< null until SUCCESS
    std::string error; ///< last error ("" = none)
    std::int64_t enqueued_at = 0;
    std::int64_t started_at = 0;
    std::int64_t finished_at = 0;

    /// {"id","name","queue","status","attempts","max_attempts","kwargs","result","error",
    ///  "enqueued_at","started_at","finished_at"}; times as ISO 8601 UTC strings or null.
    Json to_json() const;
    static JobRecord from_json(const Json& j); ///< the inverse (times as Unix ms or ISO)
};

/// Options of one enqueue.
struct EnqueueOptions {
    /// The job id; also the dedup key: enqueueing an id that exists returns the existing job
    /// and enqueues nothing. Empty = a new UUID.
    std::string id;
    /// Run no earlier than this many milliseconds from now (retries use it; 0 = now).
    std::int64_t delay_ms = 0;
    /// When set, told whether this call enqueued the job (false: the id existed already).
    bool* created = nullptr;
};

/// A job handed to a worker: its status as of delivery, plus the broker's handle.
struct Lease {
    JobRecord job;
    int delivery = 1;             ///< how many times the broker has delivered it (1 = first)
    std::shared_ptr<void> handle; ///< adapter data (the NATS message; nothing for the DB)
};

/// Milliseconds to wait before attempt `attempt + 1` after attempt `attempt` failed: 1 s, 2 s,
/// 4 s ... capped at 60 s.
std::int64_t retry_backoff_ms(int attempt);

/// Where jobs wait. Thread-safe.
class JobQueue : public Service {
public:
    /// Enqueues a job (kwargs must be a JSON object). Returns its record; with an id that exists
    /// already, the existing record and nothing is enqueued.
    virtual JobRecord enqueue(const JobDef& def, const Json& kwargs,
                              const EnqueueOptions& options = {}) = 0;

    /// Enqueues the job inside `session`'s open transaction when this queue lives in that
    /// database (the embedded queue): it then exists if and only if the transaction commits.
    /// Returns false, doing nothing, for queues that cannot (a broker).
    virtual bool enqueue_in(Session& session, const JobDef& def, const Json& kwargs);

    /// Enqueues many jobs at once (the broker's batch path); the same rules as enqueue().
    virtual std::vector<JobRecord> enqueue_many(const JobDef& def, const std::vector<Json>& kwargs);

    /// Up to `max` jobs of `queue` that are due, waiting up to `wait_ms` for the first. Each is
    /// RUNNING from now on, with attempts counted. A leased job that is neither completed nor
    /// heartbeaten within its timeout (plus a margin) is delivered again.
    virtual std::vector<Lease> fetch(const std::string& queue, int max, int wait_ms) = 0;

    /// Keeps a lease alive.
    virtual void heartbeat(Lease& lease) = 0;

    /// The job succeeded: SUCCESS with its result; never delivered again.
    virtual void succeed(Lease& lease, const Json& result) = 0;

    /// The attempt failed with `error`. With attempts left (and `retry`), the job goes back to
    /// PENDING and is delivered again after retry_backoff_ms(attempts); otherwise it is FAILED
    /// (dead-lettered): kept, visible, and retry() can enqueue it again.
    virtual void fail(Lease& lease, const std::string& error, bool retry = true) = 0;

    /// The stored status of a job, or nullopt.
    virtual std::optional<JobRecord> status(const std::string& id) = 0;

    /// The newest jobs first, at most `limit`, optionally only those in `state`.
    virtual std::vector<JobRecord> recent(int limit, std::optional<JobState> state = {}) = 0;

    /// Enqueues a FAILED or CANCELLED job again with its attempts reset. Error{not_found} for an
    /// unknown id, Error{conflict} when it is not FAILED or CANCELLED.
    virtual JobRecord retry(const std::string& id) = 0;

    /// Cancels a PENDING job (it will not run). Error{not_found}; Error{conflict} when the job
    /// is not PENDING (a RUNNING job cannot be stopped from outside).
    virtual JobRecord cancel(const std::string& id) = 0;

    /// "database" or "nats" (for `m doctor`, logs and the benchmark).
    virtual std::string kind() const = 0;
};

/// Where job status lives when the queue is a broker without storage (NATS). Thread-safe.
class JobStore : public Service {
public:
    virtual void put(const JobRecord& record) = 0;
    /// Stores `record` only if no job with its id exists yet: nullopt when it was stored, else
    /// the record that exists (and nothing is written).
    virtual std::optional<JobRecord> put_if_absent(const JobRecord& record) = 0;
    virtual std::optional<JobRecord> get(const std::string& id) = 0;
    /// The newest first (by enqueued_at), at most `limit`, optionally only those in `state`.
    virtual std::vector<JobRecord> recent(int limit, std::optional<JobState> state = {}) = 0;
    /// "database" or "redis".
    virtual std::string kind() const = 0;
};

/// Unix time in milliseconds.
std::int64_t now_ms();

/// The embedded queue: table m_jobs in the project database (SQLite or PostgreSQL). Leases
/// expire so that the jobs of a crashed worker come back; PostgreSQL workers claim with
/// FOR UPDATE SKIP LOCKED. Status lives in the same rows.
/// `lease`: how long a fetched job stays leased without a heartbeat.
std::unique_ptr<JobQueue>
make_database_job_queue(Database& db, std::chrono::seconds lease = std::chrono::seconds(30));

/// Job status in table m_jobs (the store of the NATS queue when REDIS_URL is unset).
std::unique_ptr<JobStore> make_database_job_store(Database& db);

} // namespace m::core
