// The embedded job queue: jobs are rows of m_jobs, claimed with a row lock that skips locked rows
// (FOR UPDATE SKIP LOCKED on PostgreSQL), leased, and polled for; nothing wakes a database queue.
#include "job_table.hpp"

#include "m/core/error.hpp"
#include "m/core/values.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace m::core {

namespace {

using job_table::dump;
using job_table::JobTable;
using job_table::k_columns;
using job_table::k_max_id;
using job_table::record_of;

void check_id(const std::string& id) {
    if (id.empty() || id.size() > k_max_id ||
        !std::all_of(id.begin(), id.end(), [](unsigned char c) { return c > 32 && c < 127; })) {
        throw Error(
            ErrorKind::validation,
            fmt::format("job id '{}' must be 1-140 printable characters without spaces", id));
    }
}

JobRecord new_record(const JobDef& def, const Json& kwargs, const std::string& id) {
    if (!kwargs.is_object()) {
        throw Error(ErrorKind::validation,
                    fmt::format("job '{}': kwargs must be a JSON object, not {}", def.name,
                                kwargs.type_name()));
    }
    JobRecord r;
    r.id = id.empty() ? new_uuid() : id;
    check_id(r.id);
    r.name = def.name;
    r.queue = def.queue;
    r.max_attempts = def.retries + 1;
    r.timeout = def.timeout;
    r.kwargs = kwargs;
    r.enqueued_at = now_ms();
    return r;
}

class DbJobQueue final : public JobQueue {
public:
    DbJobQueue(Database& db, std::chrono::seconds lease)
        : m_table(db), m_lease_ms(lease.count() * 1000) {}

    std::string service_name() const override { return "job queue (database)"; }
    void start() override {}
    void stop() noexcept override {}
    void check() override {
        auto s = m_table.db().session();
        s->query("SELECT COUNT(*) FROM m_jobs WHERE status = 'PENDING'");
    }
    std::string kind() const override { return "database"; }

    JobRecord enqueue(const JobDef& def, const Json& kwargs,
                      const EnqueueOptions& options) override {
        JobRecord r = new_record(def, kwargs, options.id);
        auto s = m_table.db().session();
        UnitOfWork uow(*s);
        bool inserted =
            m_table.insert(*s, r, r.enqueued_at + std::max<std::int64_t>(0, options.delay_ms));
        if (options.created) *options.created = inserted;
        if (!inserted) {
            auto existing = m_table.get(*s, r.id);
            uow.commit();
            if (existing) return *existing;
        }
        uow.commit();
        return r;
    }

    bool enqueue_in(Session& session, const JobDef& def, const Json& kwargs) override {
        JobRecord r = new_record(def, kwargs, {});
        m_table.insert(session, r, r.enqueued_at);
        return true;
    }

    std::vector<JobRecord> enqueue_many(const JobDef& def,
                                        const std::vector<Json>& kwargs) override {
        std::vector<JobRecord> out;
        out.reserve(kwargs.size());
        for (const auto& k : kwargs) out.push_back(new_record(def, k, {}));
        auto s = m_table.db().session();
        UnitOfWork uow(*s);
        for (const auto& r : out) m_table.insert(*s, r, r.enqueued_at);
        uow.commit();
        return out;
    }

    std::vector<Lease> fetch(const std::string& queue, int max, int wait_ms) override {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
        auto pause = std::chrono::milliseconds(5);
        for (;;) {
            auto leases = claim(queue, max);
            if (!leases.empty()) return leases;
            auto now = std::chrono::steady_clock::now();
            if (now >= deadline) return leases;
            // Polling: nothing wakes a database queue. Back off to 100 ms while idle.
            std::this_thread::sleep_for(
                std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
            pause = std::min(pause * 2, std::chrono::milliseconds(100));
        }
    }

    void heartbeat(Lease& lease) override {
        auto s = m_table.db().session();
        s->execute(fmt::format("UPDATE m_jobs SET lease_until = {} WHERE id = {} AND status = "
                               "'RUNNING'",
                               ph(1), ph(2)),
                   {now_ms() + lease_ms(), lease.job.id});
    }

    void succeed(Lease& lease, const Json& result) override {
        auto s = m_table.db().session();
        s->execute(fmt::format("UPDATE m_jobs SET status = 'SUCCESS', result = {}, error = NULL, "
                               "finished_at = {}, lease_until = NULL WHERE id = {}",
                               ph(1), ph(2), ph(3)),
                   {dump(result), now_ms(), lease.job.id});
        lease.job.status = JobState::success;
    }

    void fail(Lease& lease, const std::string& error, bool retry) override {
        auto s = m_table.db().session();
        std::int64_t now = now_ms();
        if (retry && lease.job.attempts < lease.job.max_attempts) {
            s->execute(fmt::format("UPDATE m_jobs SET status = 'PENDING', error = {}, "
                                   "available_at = {}, lease_until = NULL WHERE id = {}",
                                   ph(1), ph(2), ph(3)),
                       {error, now + retry_backoff_ms(lease.job.attempts), lease.job.id});
            lease.job.status = JobState::pending;
        } else {
            s->execute(fmt::format("UPDATE m_jobs SET status = 'FAILED', error = {}, "
                                   "finished_at = {}, lease_until = NULL WHERE id = {}",
                                   ph(1), ph(2), ph(3)),
                       {error, now, lease.job.id});
            lease.job.status = JobState::failed;
        }
        lease.job.error = error;
    }

    std::optional<JobRecord> status(const std::string& id) override {
        auto s = m_table.db().session();
        return m_table.get(*s, id);
    }

    std::vector<JobRecord> recent(int limit, std::optional<JobState> state) override {
        auto s = m_table.db().session();
        return m_table.recent(*s, limit, state);
    }

    JobRecord retry(const std::string& id) override {
        return transition(id, "status IN ('FAILED', 'CANCELLED')", "FAILED or CANCELLED",
                          "status = 'PENDING', attempts = 0, started_at = NULL, "
                          "finished_at = NULL, result = NULL");
    }

    JobRecord cancel(const std::string& id) override {
        return transition(id, "status = 'PENDING'", "PENDING",
                          "status = 'CANCELLED', finished_at = " + std::to_string(now_ms()));
    }

private:
    std::string ph(int n) const { return m_table.db().dialect().placeholder(n); }

    /// Milliseconds a lease lasts without a heartbeat.
    std::int64_t lease_ms() const { return m_lease_ms; }

    JobRecord transition(const std::string& id, const std::string& when, const char* expected,
                         const std::string& set) {
        auto s = m_table.db().session();
        UnitOfWork uow(*s);
        std::int64_t now = now_ms();
        auto n = s->execute(fmt::format("UPDATE m_jobs SET {}, available_at = {} WHERE id = {} "
                                        "AND {}",
                                        set, ph(1), ph(2), when),
                            {now, id});
        auto record = m_table.get(*s, id);
        uow.commit();
        if (!record) throw Error(ErrorKind::not_found, fmt::format("no job '{}'", id));
        if (n == 0) {
            throw Error(ErrorKind::conflict, fmt::format("job '{}' is {}, not {}", id,
                                                         to_string(record->status), expected));
        }
        return *record;
    }

    std::vector<Lease> claim(const std::string& queue, int max) {
        auto s = m_table.db().session();
        UnitOfWork uow(*s);
        std::int64_t now = now_ms();
        // A lease that ran out with no attempt left: the worker died on the last attempt.
        s->execute(fmt::format("UPDATE m_jobs SET status = 'FAILED', finished_at = {}, "
                               "lease_until = NULL, error = 'gave up after ' || attempts || "
                               "' attempts: the lease ran out (worker stopped or hung)' "
                               "WHERE queue = {} AND status = 'RUNNING' AND lease_until < {} "
                               "AND attempts >= max_attempts",
                               ph(1), ph(2), ph(3)),
                   {now, queue, now});
        auto rs = s->query(
            fmt::format("UPDATE m_jobs SET status = 'RUNNING', attempts = attempts + 1, "
                        "started_at = {0}, lease_until = {1}, "
                        "error = CASE WHEN status = 'RUNNING' THEN 'the lease ran out (worker "
                        "stopped or hung); delivered again' ELSE error END "
                        "WHERE id IN (SELECT id FROM m_jobs WHERE queue = {2} AND "
                        "((status = 'PENDING' AND available_at <= {0}) OR "
                        "(status = 'RUNNING' AND lease_until < {0})) "
                        "ORDER BY available_at, id LIMIT {3}{4}) RETURNING {5}",
                        ph(1), ph(2), ph(3), ph(4), m_table.db().dialect().row_lock_clause(),
                        k_columns),
            {now, now + lease_ms(), queue, static_cast<std::int64_t>(std::max(1, max))});
        uow.commit();
        std::vector<Lease> out;
        out.reserve(rs.size());
        for (const auto& row : rs.rows) {
            Lease lease;
            lease.job = record_of(row);
            lease.delivery = lease.job.attempts;
            out.push_back(std::move(lease));
        }
        std::sort(out.begin(), out.end(), [](const Lease& a, const Lease& b) {
            return a.job.enqueued_at < b.job.enqueued_at;
        });
        return out;
    }

    JobTable m_table;
    std::int64_t m_lease_ms;
};

} // namespace

std::unique_ptr<JobQueue> make_database_job_queue(Database& db, std::chrono::seconds lease) {
    return std::make_unique<DbJobQueue>(db, lease);
}

} // namespace m::core
