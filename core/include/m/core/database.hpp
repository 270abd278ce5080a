// The database port: what the repository and the migration engine need from a SQL database.
//
// Why a seam: m runs on an embedded SQLite file by default and on PostgreSQL in production, and
// every SQL difference between the two (placeholders, column types, introspection) lives behind
// this header. Only the composition root (commands/src/bootstrap.cpp) knows the concrete adapters.
// Values cross the seam as SqlValue parameters (always bound, never spliced into SQL) and come
// back as text, which the repository converts using the DocType metadata.
#pragma once

#include "m/core/service.hpp"

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace m::core {

struct Field;

/// A bound parameter. std::monostate is SQL NULL.
using SqlValue = std::variant<std::monostate, bool, std::int64_t, double, std::string>;
using SqlParams = std::vector<SqlValue>;

/// Rows of a query, every value as text (NULL = nullopt). Booleans come back as the adapter's
/// native spelling ("t"/"f" on PostgreSQL, "1"/"0" on SQLite); the repository normalises them.
struct ResultSet {
    std::vector<std::string> columns;
    std::vector<std::vector<std::optional<std::string>>> rows;

    bool empty() const noexcept { return rows.empty(); }
    std::size_t size() const noexcept { return rows.size(); }

    /// The cell at `row`, `column` as an integer; `fallback` when there is no such row or the
    /// value is NULL. Throws Error{internal} naming the column when the database answered text
    /// that is not an integer.
    std::int64_t integer(std::size_t row, std::size_t column, std::int64_t fallback = 0) const;
    /// The cell as an integer, nullopt for NULL or no such row; throws as integer().
    std::optional<std::int64_t> optional_integer(std::size_t row, std::size_t column) const;
};

/// One column of a live table, as introspected.
struct ColumnInfo {
    std::string name;
    std::string type; ///< normalised by SqlDialect::normalize_type, comparable with column_type()
    bool not_null = false;
};

/// One index of a live table, as introspected.
struct IndexInfo {
    std::string name;
    std::vector<std::string> columns;
    bool unique = false;
};

/// A live table, as introspected.
struct TableInfo {
    std::string name;
    std::vector<ColumnInfo> columns;
    std::vector<IndexInfo> indexes; ///< excluding the primary key's own index
};

/// One connection checked out of a database's pool. Not thread-safe: one thread uses a session at
/// a time. Destroying a session with an open transaction rolls it back and returns the connection
/// to the pool (or drops it when it is broken).
class Session {
public:
    virtual ~Session() = default;

    /// Runs one statement with bound parameters and returns its rows.
    /// Throws Error{validation|conflict|unavailable|internal} translated from the driver.
    virtual ResultSet query(std::string_view sql, const SqlParams& params = {}) = 0;

    /// Runs one statement with bound parameters; returns the number of affected rows.
    virtual std::int64_t execute(std::string_view sql, const SqlParams& params = {}) = 0;

    /// Runs a script of several statements without parameters (migrations).
    virtual void execute_script(std::string_view sql) = 0;

    virtual void begin() = 0;
    virtual void commit() = 0;
    virtual void rollback() = 0;
    virtual bool in_transaction() const = 0;

    /// Runs `fn` after the current UnitOfWork commits (never when it rolls back): how a hook
    /// enqueues a job that must only exist if its document does.
    void on_commit(std::function<void()> fn) { m_on_commit.push_back(std::move(fn)); }

private:
    friend class UnitOfWork;
    std::vector<std::function<void()>> m_on_commit;
};

/// SQL spelling of one database. Pure functions, thread-safe.
class SqlDialect {
public:
    virtual ~SqlDialect() = default;

    /// "sqlite" or "postgres".
    virtual std::string name() const = 0;

    /// Placeholder of the n-th (1-based) parameter: "?1" or "$1".
    virtual std::string placeholder(int n) const = 0;

    /// Column type for a field (normalised form, as normalize_type would return it).
    virtual std::string column_type(const Field& field) const = 0;

    /// Column types of the standard columns.
    virtual std::string uuid_type() const = 0;
    virtual std::string name_type() const = 0;      ///< short strings: name, owner, links
    virtual std::string timestamp_type() const = 0; ///< creation, modified
    virtual std::string integer_type() const = 0;   ///< docstatus, idx

    /// Maps a type as reported by introspection (or as written by column_type) to the canonical
    /// spelling, so that "character varying(140)" and "varchar(140)" compare equal.
    virtual std::string normalize_type(std::string_view type) const = 0;

    /// SQL expression casting `expr` to text, for LIKE on non-text columns.
    virtual std::string cast_to_text(std::string_view expr) const = 0;

    /// What a claiming SELECT appends so concurrent transactions take different rows (PostgreSQL:
    /// " FOR UPDATE SKIP LOCKED"), or "" when the database has no row locks (SQLite: one writer
    /// at a time; the callers then claim without holding a transaction while they work).
    virtual std::string row_lock_clause() const = 0;

    /// Whether a column type change can be done in place (ALTER COLUMN ... TYPE) or needs a table
    /// rebuild (SQLite).
    virtual bool supports_alter_column_type() const = 0;

    /// SQL that changes the type of a column in place; only when supports_alter_column_type().
    virtual std::string alter_column_type_sql(std::string_view table, std::string_view column,
                                              std::string_view new_type) const = 0;

    /// Names of the user tables of the database (excluding the engine's own).
    virtual std::vector<std::string> list_tables(Session& session) const = 0;

    /// The live shape of a table, or nullopt when it does not exist.
    virtual std::optional<TableInfo> describe_table(Session& session,
                                                    std::string_view table) const = 0;

    /// The live shape of several tables at once, keyed by name; tables that do not exist are
    /// absent. The default asks describe_table() per table; adapters whose catalog queries cost a
    /// round trip each override it with a few set-wide queries (a no-op `m migrate` of 50
    /// DocTypes must stay fast).
    virtual std::map<std::string, TableInfo>
    describe_tables(Session& session, const std::vector<std::string>& tables) const;

    /// The planner's estimate of a table's rows (PostgreSQL's pg_class.reltuples), or nullopt
    /// when the database keeps none (SQLite, a table never analysed). For `count=estimated`.
    virtual std::optional<long long> estimated_rows(Session& session, std::string_view table) const;
};

/// Quotes an identifier for both dialects ("name"). Identifiers come only from validated
/// metadata, so this never needs to escape; it refuses anything that is not [A-Za-z0-9_].
std::string quote_ident(std::string_view ident);

/// A database: a pool of sessions plus its dialect. Thread-safe.
class Database : public Service {
public:
    virtual const SqlDialect& dialect() const = 0;

    /// Checks out a session; blocks while the pool is exhausted. Throws Error{unavailable} when
    /// the database cannot be reached.
    virtual std::unique_ptr<Session> session() = 0;

    /// The URL with any password masked, for messages and `m config show`.
    virtual std::string display_url() const = 0;

    /// Size of the connection pool and connections checked out now (for /metrics).
    struct PoolStats {
        std::size_t size = 0;
        std::size_t in_use = 0;
    };
    virtual PoolStats pool_stats() const = 0;

    /// Next value of a named counter (naming series, autoincrement): atomic, never the same
    /// value twice, gaps possible (a rolled-back insert keeps its number). `current` is the
    /// caller's session, possibly inside a transaction. The default increments the counter row
    /// in `current` (fine where writers are serialised anyway, as on SQLite); PostgreSQL takes
    /// the value on a separate connection, so concurrent inserts do not queue on the counter
    /// row's lock until the first one commits (the well-known Frappe naming-series complaint).
    virtual long long next_counter(Session& current, const std::string& key);

    /// Whether the database answers (/health): a round trip on a pooled session. Throws
    /// Error{unavailable} or Error{timeout} when it does not.
    virtual void ping();
};

/// Commits on commit(), rolls back on destruction otherwise. The unit of work of one command,
/// request or job: every write of one logical operation goes through one UnitOfWork.
class UnitOfWork {
public:
    explicit UnitOfWork(Session& session) : m_session(session) {
        m_session.m_on_commit.clear();
        m_session.begin();
    }
    ~UnitOfWork() {
        m_session.m_on_commit.clear();
        if (m_session.in_transaction()) {
            try {
                m_session.rollback();
            } catch (const std::exception&) {
                // The connection is gone; the server has rolled back already.
            }
        }
    }
    UnitOfWork(const UnitOfWork&) = delete;
    UnitOfWork& operator=(const UnitOfWork&) = delete;

    Session& session() noexcept { return m_session; }

    /// Commits, then runs what was registered with Session::on_commit (in order). A callback
    /// that throws does not undo the commit; the first error is rethrown after all ran.
    void commit() {
        m_session.commit();
        auto callbacks = std::move(m_session.m_on_commit);
        m_session.m_on_commit.clear();
        std::exception_ptr first;
        for (auto& fn : callbacks) {
            try {
                fn();
            } catch (...) {
                if (!first) first = std::current_exception();
            }
        }
        if (first) std::rethrow_exception(first);
    }

private:
    Session& m_session;
};

} // namespace m::core
