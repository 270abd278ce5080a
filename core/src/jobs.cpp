// Job states and records, the registry, what every JobQueue gets by default, and the built-in
// jobs. The embedded queue and the database status store are database_job_queue.cpp and
// database_job_store.cpp, on the m_jobs table of job_table.hpp.
#include "m/core/jobs.hpp"

#include "job_table.hpp"

#include "m/core/cron.hpp"
#include "m/core/database.hpp"
#include "m/core/error.hpp"
#include "m/core/outbox.hpp"
#include "m/core/values.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>

namespace m::core {

namespace {

bool valid_job_name(const std::string& name) {
    if (name.empty() || name.size() > job_table::k_max_id) return false;
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

} // namespace m::core
