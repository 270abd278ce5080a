#include "m/adapters/redis/redis.hpp"
#include "m/adapters/redis/redis_client.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>

namespace m::adapters::redis {

using core::Error;
using core::ErrorKind;
using core::JobRecord;
using core::JobState;

namespace {

/// Ids kept in the index; older ones are trimmed (their records expire on their own).
constexpr long k_index_size = 10000;
/// The index is trimmed every this many writes rather than on each (trimming costs O(log n)
/// plus the removed entries; doing it in batches keeps put() at two commands).
constexpr unsigned k_trim_every = 256;
/// Ids read per page by recent().
constexpr long k_max_page = 1000;

// SET NX and ZADD in one script, so that a job is never stored without its index entry and the
// existing record comes back in the same round trip. Keys do not expire while a script runs,
// so the GET sees the record that made SET NX fail.
constexpr const char* k_put_if_absent_script =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then\n"
    "  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])\n"
    "  return false\n"
    "end\n"
    "return redis.call('GET', KEYS[1])\n";

class RedisJobStore final : public core::JobStore {
public:
    RedisJobStore(const std::string& url, std::chrono::seconds retention, std::string prefix)
        : m_client(url), m_retention(std::to_string(retention.count())),
          m_prefix(std::move(prefix)), m_index(m_prefix + "jobs") {
        if (retention.count() < 1) {
            throw Error(ErrorKind::validation,
                        fmt::format("Redis job store: the retention must be at least 1 s, got {} s",
                                    retention.count()));
        }
    }

    std::string service_name() const override { return "job store (Redis)"; }

    void start() override {
        m_client.connect();
        trim();
    }

    void stop() noexcept override { m_client.close(); }
    void check() override { m_client.connect(); }

    void put(const JobRecord& record) override {
        std::vector<std::vector<std::string>> commands{
            {"SET", key_of(record.id), record.to_json().dump(), "EX", m_retention},
            {"ZADD", m_index, std::to_string(record.enqueued_at), record.id}};
        if (m_writes.fetch_add(1, std::memory_order_relaxed) % k_trim_every == k_trim_every - 1) {
            commands.push_back(trim_command());
        }
        m_client.pipeline(commands);
    }

    std::optional<JobRecord> put_if_absent(const JobRecord& record) override {
        const RedisReply reply = m_client.command(
            {"EVAL", k_put_if_absent_script, "2", key_of(record.id), m_index,
             record.to_json().dump(), m_retention, std::to_string(record.enqueued_at), record.id});
        if (reply.is_nil()) return std::nullopt;
        return parse(record.id, reply.str);
    }

    std::optional<JobRecord> get(const std::string& id) override {
        const RedisReply reply = m_client.command({"GET", key_of(id)});
        if (reply.is_nil()) return std::nullopt;
        return parse(id, reply.str);
    }

    std::vector<JobRecord> recent(int limit, std::optional<JobState> state) override {
        std::vector<JobRecord> out;
        if (limit <= 0) return out;
        // With a state filter most ids may not match: read larger pages.
        const long page =
            std::min<long>(k_max_page, state ? std::max<long>(200, 4L * limit) : limit);
        std::vector<std::string> expired;
        for (long start = 0; static_cast<int>(out.size()) < limit; start += page) {
            const RedisReply ids = m_client.command(
                {"ZREVRANGE", m_index, std::to_string(start), std::to_string(start + page - 1)});
            if (ids.elements.empty()) break;
            std::vector<std::string> mget{"MGET"};
            for (const auto& id : ids.elements) mget.push_back(key_of(id.str));
            const RedisReply records = m_client.command(mget);
            for (std::size_t i = 0;
                 i < records.elements.size() && static_cast<int>(out.size()) < limit; ++i) {
                const RedisReply& text = records.elements[i];
                if (text.is_nil()) {
                    expired.push_back(ids.elements[i].str);
                    continue;
                }
                JobRecord record = parse(ids.elements[i].str, text.str);
                if (!state || record.status == *state) out.push_back(std::move(record));
            }
            if (static_cast<long>(ids.elements.size()) < page) break;
        }
        // Ids whose records expired are dropped here (after the paging, which relies on ranks).
        if (!expired.empty()) {
            std::vector<std::string> zrem{"ZREM", m_index};
            zrem.insert(zrem.end(), expired.begin(), expired.end());
            m_client.command(zrem);
        }
        return out;
    }

    std::string kind() const override { return "redis"; }

private:
    std::string key_of(const std::string& id) const { return m_prefix + "job:" + id; }

    std::vector<std::string> trim_command() const {
        return {"ZREMRANGEBYRANK", m_index, "0", std::to_string(-(k_index_size + 1))};
    }

    void trim() { m_client.command(trim_command()); }

    JobRecord parse(const std::string& id, const std::string& text) const {
        try {
            return JobRecord::from_json(core::Json::parse(text));
        } catch (const std::exception& e) {
            throw Error(ErrorKind::internal, fmt::format("Redis: job record '{}' is unreadable: {}",
                                                         key_of(id), e.what()));
        }
    }

    RedisClient m_client;
    const std::string m_retention; ///< seconds, as sent with SET EX
    const std::string m_prefix;
    const std::string m_index;
    std::atomic<unsigned> m_writes{0};
};

} // namespace

std::unique_ptr<core::JobStore>
make_redis_job_store(std::string url, std::chrono::seconds retention, std::string prefix) {
    return std::make_unique<RedisJobStore>(url, retention, std::move(prefix));
}

} // namespace m::adapters::redis
