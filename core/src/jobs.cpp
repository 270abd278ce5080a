#include "m/core/jobs.hpp"

#include "m/core/cron.hpp"
#include "m/core/database.hpp"
#include "m/core/error.hpp"
#include "m/core/outbox.hpp"
#include "m/core/values.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <thread>

namespace m::core {

namespace {

constexpr std::size_t k_max_id = 140;

bool valid_job_name(const std::string& name) {
    if (name.empty() || name.size() > k_max_id) return false;
    return std::all_of(name.begin(), name.end(),
                       [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.'; });
}

/// Unix ms as "2026-11-27T03:08:47.123Z"; 0 → null.
Json iso_or_null(std::int64_t ms) {
    if (ms <= 0) return nullptr;
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

/// The inverse of iso_or_null (also accepts a number of ms).
std::int64_t ms_of(const Json& j) {
    if (j.is_number_integer()) return j.get<std::int64_t>();
    if (!j.is_string()) return 0;
    const std::string s = j.get<std::string>();
    std::tm tm{};
    int millis = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis) < 6) {
        throw Error(ErrorKind::validation, fmt::format("'{}' is not an ISO 8601 UTC time", s));
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm)) * 1000 + millis;
}

} // namespace

const char* to_string(JobState state) {
    switch (state) {
    case JobState::pending:
        return "PENDING";
    case JobState::running:
        return "RUNNING";
    case JobState::success:
        return "SUCCESS";
    case JobState::failed:
        return "FAILED";
    case JobState::cancelled:
        return "CANCELLED";
    }
    return "PENDING";
}

JobState job_state_from(const std::string& text) {
    for (JobState s : {JobState::pending, JobState::running, JobState::success, JobState::failed,
                       JobState::cancelled}) {
        if (text == to_string(s)) return s;
    }
    throw Error(ErrorKind::validation,
                fmt::format("unknown job status '{}' (use PENDING, RUNNING, SUCCESS, FAILED or "
                            "CANCELLED)",
                            text));
}

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t retry_backoff_ms(int attempt) {
    std::int64_t ms = 1000;
    for (int i = 1; i < attempt && ms < 60000; ++i) ms *= 2;
    return std::min<std::int64_t>(ms, 60000);
}

Json JobRecord::to_json() const {
    Json j = Json::object();
    j["id"] = id;
    j["name"] = name;
    j["queue"] = queue;
    j["status"] = to_string(status);
    j["attempts"] = attempts;
    j["max_attempts"] = max_attempts;
    j["timeout"] = timeout;
    j["kwargs"] = kwargs;
    j["result"] = result;
    j["error"] = error.empty() ? Json(nullptr) : Json(error);
    j["enqueued_at"] = iso_or_null(enqueued_at);
    j["started_at"] = iso_or_null(started_at);
    j["finished_at"] = iso_or_null(finished_at);
    return j;
}

JobRecord JobRecord::from_json(const Json& j) {
    if (!j.is_object() || !j.contains("id") || !j["id"].is_string() || !j.contains("name") ||
        !j["name"].is_string()) {
        throw Error(ErrorKind::validation, "a job record needs string members id and name");
    }
    JobRecord r;
    r.id = j["id"].get<std::string>();
    r.name = j["name"].get<std::string>();
    r.queue = j.value("queue", std::string("default"));
    r.status = job_state_from(j.value("status", std::string("PENDING")));
    r.attempts = j.value("attempts", 0);
    r.max_attempts = j.value("max_attempts", 4);
    r.timeout = j.value("timeout", 300);
    r.kwargs = j.contains("kwargs") ? j["kwargs"] : Json::object();
    r.result = j.contains("result") ? j["result"] : Json(nullptr);
    r.error = j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : "";
    r.enqueued_at = j.contains("enqueued_at") ? ms_of(j["enqueued_at"]) : 0;
    r.started_at = j.contains("started_at") ? ms_of(j["started_at"]) : 0;
    r.finished_at = j.contains("finished_at") ? ms_of(j["finished_at"]) : 0;
    return r;
}

void JobRegistry::add(JobDef def) {
    if (!valid_job_name(def.name)) {
        throw Error(
            ErrorKind::validation,
            fmt::format("job name '{}' must be 1-140 letters, digits, '_' or '.'", def.name));
    }
    if (def.retries < 0 || def.retries > 100) {
        throw Error(ErrorKind::validation,
                    fmt::format("job '{}': retries must be 0-100, not {}", def.name, def.retries));
    }
    if (def.timeout < 1) {
        throw Error(ErrorKind::validation,
                    fmt::format("job '{}': timeout must be at least 1 s", def.name));
    }
    if (!valid_job_name(def.queue)) {
        throw Error(ErrorKind::validation,
                    fmt::format("job '{}': queue '{}' must be letters, digits, '_' or '.'",
                                def.name, def.queue));
    }
    if (!def.schedule.empty()) {
        try {
            (void)CronSchedule::parse(def.schedule);
        } catch (const Error& e) {
            throw Error(ErrorKind::validation, fmt::format("job '{}': {}", def.name, e.what()));
        }
    }
    if (!def.fn) {
        throw Error(ErrorKind::validation, fmt::format("job '{}' has no function", def.name));
    }
    if (m_jobs.count(def.name)) {
        throw Error(ErrorKind::validation, fmt::format("job '{}' is registered twice", def.name));
    }
    std::string name = def.name;
    m_jobs.emplace(std::move(name), std::move(def));
}

const JobDef* JobRegistry::find(const std::string& name) const {
    auto it = m_jobs.find(name);
    return it == m_jobs.end() ? nullptr : &it->second;
}

const JobDef& JobRegistry::get(const std::string& name) const {
    if (const JobDef* def = find(name)) return *def;
    std::string names;
    for (const auto& [n, _] : m_jobs) names += (names.empty() ? "" : ", ") + n;
    throw Error(ErrorKind::not_found,
                fmt::format("unknown job '{}' (registered: {})", name, names));
}

std::vector<std::string> JobRegistry::queues() const {
    std::vector<std::string> out;
    for (const auto& [_, def] : m_jobs) {
        if (std::find(out.begin(), out.end(), def.queue) == out.end()) out.push_back(def.queue);
    }
    return out;
}

bool JobQueue::enqueue_in(Session&, const JobDef&, const Json&) {
    return false;
}

std::vector<JobRecord> JobQueue::enqueue_many(const JobDef& def, const std::vector<Json>& kwargs) {
    std::vector<JobRecord> out;
    out.reserve(kwargs.size());
    for (const auto& k : kwargs) out.push_back(enqueue(def, k));
    return out;
}

// ---------------------------------------------------------------------------------------------
// m_jobs: the embedded queue and the database status store share one table and these helpers.

namespace {

constexpr const char* k_columns = "id, name, queue, status, attempts, max_attempts, timeout, "
                                  "kwargs, result, error, enqueued_at, started_at, finished_at";

std::int64_t int_of(const std::optional<std::string>& v) {
    if (!v || v->empty()) return 0;
    if (auto n = parse_integer(*v)) return *n;
    throw Error(ErrorKind::internal, fmt::format("a job column is not an integer: '{}'", *v));
}

JobRecord record_of(const std::vector<std::optional<std::string>>& row) {
    JobRecord r;
    r.id = row[0].value_or("");
    r.name = row[1].value_or("");
    r.queue = row[2].value_or("default");
    r.status = job_state_from(row[3].value_or("PENDING"));
    r.attempts = static_cast<int>(int_of(row[4]));
    r.max_attempts = static_cast<int>(int_of(row[5]));
    r.timeout = static_cast<int>(int_of(row[6]));
    r.kwargs = Json::parse(row[7].value_or("{}"), nullptr, false);
    if (r.kwargs.is_discarded()) r.kwargs = Json::object();
    if (row[8]) {
        r.result = Json::parse(*row[8], nullptr, false);
        if (r.result.is_discarded()) r.result = *row[8];
    }
    r.error = row[9].value_or("");
    r.enqueued_at = int_of(row[10]);
    r.started_at = int_of(row[11]);
    r.finished_at = int_of(row[12]);
    return r;
}

SqlValue opt_ms(std::int64_t ms) {
    return ms > 0 ? SqlValue(ms) : SqlValue(std::monostate{});
}

std::string dump(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

/// "$1, $2, ..." or "?1, ?2, ..." from `first` on.
std::string placeholders(const SqlDialect& d, int first, int count) {
    std::string out;
    for (int i = 0; i < count; ++i) out += (i ? ", " : "") + d.placeholder(first + i);
    return out;
}

void check_id(const std::string& id) {
    if (id.empty() || id.size() > k_max_id ||
        !std::all_of(id.begin(), id.end(), [](unsigned char c) { return c > 32 && c < 127; })) {
        throw Error(
            ErrorKind::validation,
            fmt::format("job id '{}' must be 1-140 printable characters without spaces", id));
    }
}

class JobTable {
public:
    explicit JobTable(Database& db) : m_db(db) {}

    /// INSERT, or nothing when the id exists; true when inserted.
    bool insert(Session& s, const JobRecord& r, std::int64_t available_at) {
        const auto& d = m_db.dialect();
        std::string sql = fmt::format(
            "INSERT INTO m_jobs ({}, available_at) VALUES ({}) ON CONFLICT (id) DO NOTHING",
            k_columns, placeholders(d, 1, 14));
        return s.execute(sql, params_of(r, available_at)) > 0;
    }

    void upsert(Session& s, const JobRecord& r) {
        const auto& d = m_db.dialect();
        std::string sql = fmt::format(
            "INSERT INTO m_jobs ({}, available_at) VALUES ({}) ON CONFLICT (id) DO UPDATE SET "
            "name = excluded.name, queue = excluded.queue, status = excluded.status, "
            "attempts = excluded.attempts, max_attempts = excluded.max_attempts, "
            "timeout = excluded.timeout, kwargs = excluded.kwargs, result = excluded.result, "
            "error = excluded.error, enqueued_at = excluded.enqueued_at, "
            "started_at = excluded.started_at, finished_at = excluded.finished_at",
            k_columns, placeholders(d, 1, 14));
        s.execute(sql, params_of(r, r.enqueued_at));
    }

    std::optional<JobRecord> get(Session& s, const std::string& id) {
        auto rs = s.query(fmt::format("SELECT {} FROM m_jobs WHERE id = {}", k_columns,
                                      m_db.dialect().placeholder(1)),
                          {id});
        if (rs.empty()) return std::nullopt;
        return record_of(rs.rows[0]);
    }

    std::vector<JobRecord> recent(Session& s, int limit, std::optional<JobState> state) {
        const auto& d = m_db.dialect();
        SqlParams params;
        std::string where;
        if (state) {
            where = " WHERE status = " + d.placeholder(1);
            params.emplace_back(std::string(to_string(*state)));
        }
        params.emplace_back(static_cast<std::int64_t>(std::clamp(limit, 1, 10000)));
        auto rs = s.query(fmt::format("SELECT {} FROM m_jobs{} ORDER BY enqueued_at DESC, id "
                                      "LIMIT {}",
                                      k_columns, where, d.placeholder(int(params.size()))),
                          params);
        std::vector<JobRecord> out;
        for (const auto& row : rs.rows) out.push_back(record_of(row));
        return out;
    }

    Database& db() const { return m_db; }

private:
    static SqlParams params_of(const JobRecord& r, std::int64_t available_at) {
        return {r.id,
                r.name,
                r.queue,
                std::string(to_string(r.status)),
                static_cast<std::int64_t>(r.attempts),
                static_cast<std::int64_t>(r.max_attempts),
                static_cast<std::int64_t>(r.timeout),
                dump(r.kwargs),
                r.result.is_null() ? SqlValue(std::monostate{}) : SqlValue(dump(r.result)),
                r.error.empty() ? SqlValue(std::monostate{}) : SqlValue(r.error),
                r.enqueued_at,
                opt_ms(r.started_at),
                opt_ms(r.finished_at),
                available_at};
    }

    Database& m_db;
};

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

class DbJobStore final : public JobStore {
public:
    explicit DbJobStore(Database& db) : m_table(db) {}

    std::string service_name() const override { return "job status (database)"; }
    void start() override {}
    void stop() noexcept override {}
    void check() override { (void)recent(1, std::nullopt); }
    std::string kind() const override { return "database"; }

    void put(const JobRecord& record) override {
        auto s = m_table.db().session();
        m_table.upsert(*s, record);
    }

    std::optional<JobRecord> put_if_absent(const JobRecord& record) override {
        auto s = m_table.db().session();
        if (m_table.insert(*s, record, record.enqueued_at)) return std::nullopt;
        return m_table.get(*s, record.id);
    }

    std::optional<JobRecord> get(const std::string& id) override {
        auto s = m_table.db().session();
        return m_table.get(*s, id);
    }

    std::vector<JobRecord> recent(int limit, std::optional<JobState> state) override {
        auto s = m_table.db().session();
        return m_table.recent(*s, limit, state);
    }

private:
    JobTable m_table;
};

} // namespace

void register_builtin_jobs(JobRegistry& registry) {
    registry.add(JobDef{"core.noop", 3, 300, "default", "",
                        "returns its kwargs (health checks, m doctor, benchmarks)",
                        [](const Json& kwargs, JobContext&) { return kwargs; }});
    registry.add(JobDef{
        "core.process_outbox", 3, 300, "default", "* * * * *",
        "relays unpublished document events to the broker; prunes old events and job records",
        [](const Json&, JobContext& ctx) {
            std::size_t relayed = 0;
            if (ctx.broker) {
                while (std::size_t n = relay_outbox(ctx.db, *ctx.broker)) relayed += n;
            }
            std::size_t events = prune_outbox(ctx.db, std::chrono::hours(1), ctx.broker != nullptr);
            // Finished job records are kept a week (Redis keeps its own with a TTL).
            auto s = ctx.db.session();
            auto jobs =
                s->execute(fmt::format("DELETE FROM m_jobs WHERE status IN ('SUCCESS', 'FAILED', "
                                       "'CANCELLED') AND finished_at < {}",
                                       ctx.db.dialect().placeholder(1)),
                           {now_ms() - 7LL * 86400 * 1000});
            return Json{{"relayed", relayed}, {"pruned_events", events}, {"pruned_jobs", jobs}};
        }});
}

std::unique_ptr<JobQueue> make_database_job_queue(Database& db, std::chrono::seconds lease) {
    return std::make_unique<DbJobQueue>(db, lease);
}

std::unique_ptr<JobStore> make_database_job_store(Database& db) {
    return std::make_unique<DbJobStore>(db);
}

} // namespace m::core
