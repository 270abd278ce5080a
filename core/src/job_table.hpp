// The m_jobs table (internal to core/src): the database job queue (database_job_queue.cpp) and
// the database job status store (database_job_store.cpp) share one table, its columns and these
// statements.
#pragma once

#include "m/core/database.hpp"
#include "m/core/jobs.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace m::core::job_table {

/// The longest job id, name and queue name (the columns hold 140 characters).
inline constexpr std::size_t k_max_id = 140;

/// The columns of a record, in the order record_of() reads them.
inline constexpr const char* k_columns =
    "id, name, queue, status, attempts, max_attempts, timeout, "
    "kwargs, result, error, enqueued_at, started_at, finished_at";

/// A row of k_columns as a record.
JobRecord record_of(const std::vector<std::optional<std::string>>& row);

/// JSON text for a column; invalid UTF-8 is replaced rather than thrown on.
std::string dump(const Json& j);

class JobTable {
public:
    explicit JobTable(Database& db) : m_db(db) {}

    /// INSERT, or nothing when the id exists; true when inserted.
    bool insert(Session& s, const JobRecord& r, std::int64_t available_at);
    void upsert(Session& s, const JobRecord& r);
    std::optional<JobRecord> get(Session& s, const std::string& id);
    std::vector<JobRecord> recent(Session& s, int limit, std::optional<JobState> state);

    Database& db() const { return m_db; }

private:
    static SqlParams params_of(const JobRecord& r, std::int64_t available_at);

    Database& m_db;
};

} // namespace m::core::job_table
