// The statements of the m_jobs table and the mapping between its rows and job records.
#include "job_table.hpp"

#include "m/core/error.hpp"
#include "m/core/values.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace m::core::job_table {

namespace {

std::int64_t int_of(const std::optional<std::string>& v) {
    if (!v || v->empty()) return 0;
    if (auto n = parse_integer(*v)) return *n;
    throw Error(ErrorKind::internal, fmt::format("a job column is not an integer: '{}'", *v));
}

SqlValue opt_ms(std::int64_t ms) {
    return ms > 0 ? SqlValue(ms) : SqlValue(std::monostate{});
}

/// "$1, $2, ..." or "?1, ?2, ..." from `first` on.
std::string placeholders(const SqlDialect& d, int first, int count) {
    std::string out;
    for (int i = 0; i < count; ++i) out += (i ? ", " : "") + d.placeholder(first + i);
    return out;
}

} // namespace

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

std::string dump(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool JobTable::insert(Session& s, const JobRecord& r, std::int64_t available_at) {
    const auto& d = m_db.dialect();
    std::string sql =
        fmt::format("INSERT INTO m_jobs ({}, available_at) VALUES ({}) ON CONFLICT (id) DO NOTHING",
                    k_columns, placeholders(d, 1, 14));
    return s.execute(sql, params_of(r, available_at)) > 0;
}

void JobTable::upsert(Session& s, const JobRecord& r) {
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

std::optional<JobRecord> JobTable::get(Session& s, const std::string& id) {
    auto rs = s.query(fmt::format("SELECT {} FROM m_jobs WHERE id = {}", k_columns,
                                  m_db.dialect().placeholder(1)),
                      {id});
    if (rs.empty()) return std::nullopt;
    return record_of(rs.rows[0]);
}

std::vector<JobRecord> JobTable::recent(Session& s, int limit, std::optional<JobState> state) {
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

SqlParams JobTable::params_of(const JobRecord& r, std::int64_t available_at) {
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

} // namespace m::core::job_table
