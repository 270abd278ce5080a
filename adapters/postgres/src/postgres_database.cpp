// PostgresDatabase and PostgresSession: a pool of libpqxx 6.4 connections, and sessions that bind
// parameters, manage transactions and translate pqxx exceptions into core::Error.
//
// Transactions are plain BEGIN/COMMIT/ROLLBACK statements sent through a short-lived
// pqxx::nontransaction per statement, instead of a pqxx::work held across calls: pqxx allows one
// transaction object per connection, and this way statements outside begin() autocommit with no
// special case, an error inside a transaction leaves the session in a state we track ourselves,
// and nothing in pqxx retries or reconnects behind our back.
#include "m/adapters/postgres/postgres_database.hpp"

#include "m/core/error.hpp"
#include "m/core/pool.hpp"
#include "m/core/settings.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace m::adapters::postgres {

using core::Error;
using core::ErrorKind;

namespace detail {

/// A pooled connection and the statements prepared on it. Every parameterised statement is
/// prepared on first use (up to k_max_prepared per connection), so PostgreSQL plans it once
/// per connection instead of at every execution; beyond the cap (ad-hoc filter shapes) statements
/// are sent unprepared.
struct PooledConnection {
    static constexpr std::size_t k_max_prepared = 512;

    explicit PooledConnection(const std::string& url) : conn(url) {}

    pqxx::connection conn;
    std::unordered_map<std::string, std::string> prepared; ///< SQL -> statement name
};

struct ConnectionPool {
    ConnectionPool(std::string display, std::size_t size, core::Pool<PooledConnection>::Factory f)
        : display_url(std::move(display)), pool(size, std::move(f)) {}

    const std::string display_url;
    core::Pool<PooledConnection> pool;
};

} // namespace detail

namespace {

constexpr std::string_view k_postgres_scheme = "postgres://";
constexpr std::string_view k_postgresql_scheme = "postgresql://";

/// The first line of a (libpq) message, without trailing blanks.
std::string first_line(std::string_view text) {
    text = text.substr(0, text.find('\n'));
    while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return std::string(text);
}

/// First line of a server error without libpq's "ERROR:  " severity prefix.
std::string server_message(std::string_view what) {
    std::string line = first_line(what);
    for (std::string_view severity : {"ERROR:", "FATAL:"}) {
        if (std::string_view(line).starts_with(severity)) {
            const std::size_t start = line.find_first_not_of(' ', severity.size());
            line = start == std::string::npos ? std::string() : line.substr(start);
            break;
        }
    }
    return line;
}

/// The text of the DETAIL line of a server error ("Key (email)=(a@x) already exists."), or "".
std::string detail_line(std::string_view what) {
    constexpr std::string_view k_detail = "DETAIL:";
    std::size_t pos = 0;
    while (pos < what.size()) {
        const std::size_t end = std::min(what.find('\n', pos), what.size());
        std::string_view line = what.substr(pos, end - pos);
        if (line.starts_with(k_detail)) {
            line.remove_prefix(k_detail.size());
            while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
            return first_line(line);
        }
        pos = end + 1;
    }
    return {};
}

/// Maps a pqxx exception other than broken_connection to an Error. Messages never include the
/// statement (pqxx keeps it in sql_error::query(), which we do not use).
Error translate(const pqxx::pqxx_exception& error) {
    const std::exception& base = error.base();
    const std::string_view what = base.what();
    if (dynamic_cast<const pqxx::unique_violation*>(&base)) {
        const std::string detail = detail_line(what);
        return Error(ErrorKind::conflict,
                     detail.empty() ? "duplicate value" : "duplicate value: " + detail);
    }
    if (dynamic_cast<const pqxx::integrity_constraint_violation*>(&base) ||
        dynamic_cast<const pqxx::data_exception*>(&base)) {
        return Error(ErrorKind::validation, server_message(what));
    }
    if (dynamic_cast<const pqxx::transaction_rollback*>(&base)) {
        // Serialization failure or deadlock: the server rolled back; the caller may retry.
        return Error(ErrorKind::conflict,
                     "database: transaction aborted, retry: " + server_message(what));
    }
    if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&base)) {
        if (sql->sqlstate() == "57014") {
            return Error(ErrorKind::timeout, "database: " + server_message(what));
        }
    }
    return Error(ErrorKind::internal, "database error: " + server_message(what));
}

/// Text form of a parameter; nullopt is SQL NULL.
std::optional<std::string> to_text(const core::SqlValue& value) {
    return std::visit(
        [](const auto& v) -> std::optional<std::string> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
                return std::nullopt;
            } else if constexpr (std::is_same_v<T, bool>) {
                return v ? "true" : "false";
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                return std::to_string(v);
            } else if constexpr (std::is_same_v<T, double>) {
                // PostgreSQL's spellings of the non-finite values; fmt's "{}" is the shortest
                // text that reads back as the same double.
                if (std::isnan(v)) return "NaN";
                if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
                return fmt::format("{}", v);
            } else {
                return v;
            }
        },
        value);
}

core::ResultSet to_result_set(const pqxx::result& result) {
    core::ResultSet rs;
    const auto columns = result.columns();
    rs.columns.reserve(columns);
    for (pqxx::row::size_type c = 0; c < columns; ++c)
        rs.columns.emplace_back(result.column_name(c));
    rs.rows.reserve(result.size());
    for (const auto& row : result) {
        auto& out = rs.rows.emplace_back();
        out.reserve(columns);
        for (const auto& field : row) {
            if (field.is_null()) {
                out.emplace_back(std::nullopt);
            } else {
                out.emplace_back(std::string(field.c_str(), field.size()));
            }
        }
    }
    return rs;
}

/// Opens and prepares one connection; the pool's factory.
std::unique_ptr<detail::PooledConnection> open_connection(const std::string& url,
                                                          const std::string& display_url) {
    try {
        auto conn = std::make_unique<detail::PooledConnection>(url);
        {
            // m stores naive UTC timestamps; make now() and casts agree with that.
            pqxx::nontransaction tx(conn->conn);
            tx.exec("SET TIME ZONE 'UTC'");
        }
        return conn;
    } catch (const pqxx::pqxx_exception& e) {
        throw Error(ErrorKind::unavailable, "database: cannot connect to " + display_url + ": " +
                                                server_message(e.base().what()));
    }
}

/// The URL with connect_timeout=5 added when it has no connect_timeout parameter, so that an
/// unreachable host fails start() in seconds instead of the OS's TCP timeout.
std::string with_connect_timeout(const std::string& url) {
    const std::size_t query = url.find('?');
    if (query != std::string::npos) {
        std::string_view params = std::string_view(url).substr(query + 1);
        while (!params.empty()) {
            const std::size_t amp = params.find('&');
            const std::string_view param = params.substr(0, amp);
            if (param.substr(0, param.find('=')) == "connect_timeout") return url;
            params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
        }
    }
    return url + (query == std::string::npos ? "?" : "&") + "connect_timeout=5";
}

/// One checked-out connection. Not thread-safe (one thread at a time, per core::Session).
class PostgresSession final : public core::Session {
public:
    PostgresSession(std::shared_ptr<detail::ConnectionPool> pool,
                    std::unique_ptr<detail::PooledConnection> conn)
        : m_pool(std::move(pool)), m_conn(std::move(conn)) {}

    PostgresSession(const PostgresSession&) = delete;
    PostgresSession& operator=(const PostgresSession&) = delete;

    ~PostgresSession() override {
        if (!m_conn) return;
        bool healthy = true;
        if (m_in_tx) {
            try {
                pqxx::nontransaction tx(m_conn->conn);
                tx.exec("ROLLBACK");
            } catch (const std::exception&) {
                healthy = false; // state unknown: do not hand this connection out again
            }
        }
        healthy = healthy && m_conn->conn.is_open();
        m_pool->pool.release(std::move(m_conn), healthy);
    }

    core::ResultSet query(std::string_view sql, const core::SqlParams& params) override {
        return to_result_set(run(sql, params));
    }

    std::int64_t execute(std::string_view sql, const core::SqlParams& params) override {
        return static_cast<std::int64_t>(run(sql, params).affected_rows());
    }

    void execute_script(std::string_view sql) override {
        // Simple-query protocol (PQexec): accepts several statements, takes no parameters.
        guarded([&](detail::PooledConnection& c) {
            pqxx::nontransaction tx(c.conn);
            tx.exec(std::string(sql));
        });
    }

    void begin() override {
        if (m_in_tx) throw Error(ErrorKind::internal, "database: begin() inside a transaction");
        control("BEGIN");
        m_in_tx = true;
        m_tx_failed = false;
    }

    void commit() override {
        if (!m_in_tx) throw Error(ErrorKind::internal, "database: commit() without begin()");
        if (!m_conn) {
            m_in_tx = false;
            throw Error(ErrorKind::unavailable,
                        "database: connection lost; the transaction was rolled back");
        }
        if (m_tx_failed) {
            // PostgreSQL would answer COMMIT in a failed transaction with a silent ROLLBACK.
            rollback();
            throw Error(ErrorKind::internal, "database: cannot commit after a failed statement; "
                                             "the transaction was rolled back");
        }
        m_in_tx = false; // COMMIT ends the transaction block whatever its outcome
        try {
            control("COMMIT");
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::unavailable) throw;
            throw Error(ErrorKind::unavailable,
                        "database: connection lost during commit; the outcome is unknown");
        }
    }

    void rollback() override {
        if (!m_in_tx) return;
        m_in_tx = false;
        m_tx_failed = false;
        if (!m_conn) return; // the server rolled back when the connection went away
        control("ROLLBACK");
    }

    bool in_transaction() const override { return m_in_tx; }

private:
    /// The connection to use; after a lost connection outside a transaction, a fresh one from
    /// the pool (inside a transaction the work is gone, so that is an error until rollback()).
    detail::PooledConnection& connection() {
        if (!m_conn) {
            if (m_in_tx) {
                throw Error(ErrorKind::unavailable,
                            "database: connection lost; the transaction was rolled back");
            }
            m_conn = m_pool->pool.acquire();
        }
        return *m_conn;
    }

    /// Runs `fn(connection)`, translating pqxx exceptions. A broken connection is returned to
    /// the pool as unhealthy at once, so pqxx never gets to reuse or silently reopen it.
    template <class Fn>
    auto guarded(Fn&& fn) -> decltype(fn(std::declval<detail::PooledConnection&>())) {
        detail::PooledConnection& conn = connection();
        try {
            return fn(conn);
        } catch (const pqxx::broken_connection& e) {
            m_tx_failed = m_in_tx;
            m_pool->pool.release(std::move(m_conn), false);
            throw Error(ErrorKind::unavailable,
                        "database: connection lost: " + server_message(e.what()));
        } catch (const pqxx::pqxx_exception& e) {
            m_tx_failed = m_in_tx;
            if (!m_conn->conn.is_open()) {
                // A server error that also closed the connection (FATAL): same as a loss.
                m_pool->pool.release(std::move(m_conn), false);
                throw Error(ErrorKind::unavailable,
                            "database: connection lost: " + server_message(e.base().what()));
            }
            throw translate(e);
        }
    }

    pqxx::result run(std::string_view sql, const core::SqlParams& params) {
        std::vector<std::optional<std::string>> texts;
        texts.reserve(params.size());
        for (const auto& p : params) texts.push_back(to_text(p));
        // pqxx binds a null const char* as SQL NULL.
        std::vector<const char*> values;
        values.reserve(texts.size());
        for (const auto& t : texts) values.push_back(t ? t->c_str() : nullptr);
        return guarded([&](detail::PooledConnection& c) {
            pqxx::nontransaction tx(c.conn);
            std::string text(sql);
            auto found = c.prepared.find(text);
            if (found == c.prepared.end() &&
                c.prepared.size() < detail::PooledConnection::k_max_prepared) {
                std::string name = "m" + std::to_string(c.prepared.size());
                c.conn.prepare(name, text);
                found = c.prepared.emplace(std::move(text), std::move(name)).first;
            }
            if (found == c.prepared.end()) {
                return tx.exec_params(std::string(sql), pqxx::prepare::make_dynamic_params(values));
            }
            return tx.exec_prepared(found->second, pqxx::prepare::make_dynamic_params(values));
        });
    }

    void control(const char* statement) {
        guarded([&](detail::PooledConnection& c) {
            pqxx::nontransaction tx(c.conn);
            tx.exec(statement);
        });
    }

    std::shared_ptr<detail::ConnectionPool> m_pool;
    std::unique_ptr<detail::PooledConnection> m_conn; ///< null after the connection was lost
    bool m_in_tx = false;
    bool m_tx_failed = false; ///< a statement failed since begin(): COMMIT would not commit
};

} // namespace

PostgresDatabase::PostgresDatabase(std::string url, std::size_t pool_size) {
    if (!url.starts_with(k_postgres_scheme) && !url.starts_with(k_postgresql_scheme)) {
        throw Error(ErrorKind::validation, "database: '" + core::mask_url(std::string(url)) +
                                               "' is not a postgres:// or postgresql:// URL");
    }
    std::string display = core::mask_url(std::string(url));
    auto factory = [connect_url = with_connect_timeout(url), display] {
        return open_connection(connect_url, display);
    };
    m_pool = std::make_shared<detail::ConnectionPool>(display, pool_size, factory);
    m_counter_pool = std::make_shared<detail::ConnectionPool>(std::move(display), 2, factory);
}

PostgresDatabase::~PostgresDatabase() = default;

std::string PostgresDatabase::service_name() const {
    return "database";
}

void PostgresDatabase::start() {
    auto conn = m_pool->pool.acquire();
    m_pool->pool.release(std::move(conn), true);
}

void PostgresDatabase::stop() noexcept {
    m_pool->pool.clear();
    m_counter_pool->pool.clear();
}

void PostgresDatabase::check() {
    session()->query("SELECT 1", {});
}

const core::SqlDialect& PostgresDatabase::dialect() const {
    return m_dialect;
}

std::unique_ptr<core::Session> PostgresDatabase::session() {
    return std::make_unique<PostgresSession>(m_pool, m_pool->pool.acquire());
}

long long PostgresDatabase::next_counter(core::Session&, const std::string& key) {
    // The same upsert as the port's default, on a connection of its own (autocommit).
    PostgresSession counter(m_counter_pool, m_counter_pool->pool.acquire());
    return core::Database::next_counter(counter, key);
}

std::string PostgresDatabase::display_url() const {
    return m_pool->display_url;
}

core::Database::PoolStats PostgresDatabase::pool_stats() const {
    auto s = m_pool->pool.stats();
    return {s.max, s.in_use};
}

std::size_t PostgresDatabase::open_connections() const {
    return m_pool->pool.open_count();
}

} // namespace m::adapters::postgres
