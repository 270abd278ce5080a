// The job status store on the database (m_jobs), for the NATS queue when there is no Redis.
#include "job_table.hpp"

#include <memory>

namespace m::core {

namespace {

using job_table::JobTable;

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

std::unique_ptr<JobStore> make_database_job_store(Database& db) {
    return std::make_unique<DbJobStore>(db);
}

} // namespace m::core
