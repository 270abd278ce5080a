// The PostgreSQL adapter of the database port (core/database.hpp), on libpqxx 6.4.
//
// PostgresDialect spells SQL for PostgreSQL and introspects live tables through the catalog;
// PostgresDatabase pools pqxx connections and hands out sessions that bind every value as a real
// parameter ($1..$n) and translate driver exceptions into core::Error. Only the composition root
// includes this header; libpqxx stays behind it (no pqxx type appears here).
#pragma once

#include "m/core/database.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace m::adapters::postgres {

namespace detail {
/// The pool of pqxx connections plus the URL, shared by a database and its sessions; defined in
/// the source so that no pqxx type leaks into this header.
struct ConnectionPool;
} // namespace detail

/// SQL spelling and catalog introspection of PostgreSQL. Stateless and thread-safe.
class PostgresDialect final : public core::SqlDialect {
public:
    /// "postgres".
    std::string name() const override;

    /// "$n".
    std::string placeholder(int n) const override;

    /// The column type of a field, in normalised spelling: data/select/link `varchar(N)` (N is
    /// max_length when above 140, else 140), text/password `text`, int `bigint`, float
    /// `double precision`, decimal `numeric(21,P)` (P = precision or 9), check `boolean`, date
    /// `date`, datetime `timestamp`, time `time`, uuid `uuid`, json `jsonb`.
    /// Throws Error{internal} for a `table` field, which has no column.
    std::string column_type(const core::Field& field) const override;

    /// "uuid".
    std::string uuid_type() const override;
    /// "varchar(140)".
    std::string name_type() const override;
    /// "timestamp" (without time zone; m stores UTC).
    std::string timestamp_type() const override;
    /// "integer".
    std::string integer_type() const override;

    /// Lowercases, trims, collapses blanks, drops blanks around commas and parentheses, and maps
    /// PostgreSQL's synonyms to one spelling: "character varying(N)" -> "varchar(N)",
    /// "timestamp[(6)] without time zone" -> "timestamp", "time without time zone" -> "time",
    /// "int8" -> "bigint", "int"/"int4" -> "integer", "float8" -> "double precision",
    /// "bool" -> "boolean", "decimal(p,s)" -> "numeric(p,s)".
    std::string normalize_type(std::string_view type) const override;

    /// "CAST(expr AS text)".
    std::string cast_to_text(std::string_view expr) const override;

    /// true: PostgreSQL changes column types in place.
    std::string row_lock_clause() const override { return " FOR UPDATE SKIP LOCKED"; }
    bool supports_alter_column_type() const override;

    /// `ALTER TABLE "t" ALTER COLUMN "c" TYPE ty USING "c"::ty`. Identifiers go through
    /// core::quote_ident (Error{internal} on anything but [A-Za-z0-9_]); `new_type` must be a
    /// type spelling produced by this dialect.
    std::string alter_column_type_sql(std::string_view table, std::string_view column,
                                      std::string_view new_type) const override;

    /// User tables (partitions excluded) of current_schema(), sorted by name.
    /// Throws what the session throws.
    std::vector<std::string> list_tables(core::Session& session) const override;

    /// Columns in ordinal order (types rebuilt from information_schema and normalised, so they
    /// compare equal with column_type()), and the indexes other than the primary key's, with
    /// their key columns in index order (an expression column appears as its expression; unique
    /// constraints appear as unique indexes). nullopt when current_schema() has no such table.
    std::optional<core::TableInfo> describe_table(core::Session& session,
                                                  std::string_view table) const override;

    /// Like describe_table for every table of `tables` that exists, in two catalog queries.
    std::map<std::string, core::TableInfo>
    describe_tables(core::Session& session, const std::vector<std::string>& tables) const override;
    std::optional<long long> estimated_rows(core::Session& session,
                                            std::string_view table) const override;
};

/// A PostgreSQL database reached through a postgres:// or postgresql:// URL (libpq URI syntax;
/// `connect_timeout=5` is added when the URL sets none). Connections are opened lazily up to the
/// pool size, set to `TIME ZONE 'UTC'` once, and replaced when they break.
///
/// Thread-safe: any thread may call session(). Sessions must be destroyed before the database
/// (they keep the pool alive, but a stopped database no longer vouches for them).
class PostgresDatabase final : public core::Database {
public:
    /// Does not connect (start() does). Throws Error{validation} when `url` is not a
    /// postgres:// or postgresql:// URL. A pool size of 0 means 1.
    PostgresDatabase(std::string url, std::size_t pool_size);
    ~PostgresDatabase() override;

    PostgresDatabase(const PostgresDatabase&) = delete;
    PostgresDatabase& operator=(const PostgresDatabase&) = delete;

    /// "database".
    std::string service_name() const override;

    /// Opens one connection to prove the URL works and keeps it in the pool. Throws
    /// Error{unavailable, "database: cannot connect to <display_url>: <reason>"}.
    void start() override;

    /// Closes the idle connections. Sessions still checked out keep theirs until destroyed.
    void stop() noexcept override;

    /// Runs `SELECT 1` on a session. Throws Error{unavailable} when the server is unreachable.
    void check() override;

    const core::SqlDialect& dialect() const override;

    /// Checks out a connection (blocking while all pool_size connections are in use), opening a
    /// new one if needed; throws Error{unavailable} when that fails. The session returns its
    /// connection on destruction, rolling back an open transaction first.
    ///
    /// Session contract beyond core::Session: values bind as text (NULL, "true"/"false", decimal
    /// integers, doubles with round-trip precision, strings as is); results are text, booleans
    /// "t"/"f". Statements outside begin() autocommit. Errors: unique violation -> conflict
    /// ("duplicate value: Key (email)=(a@x) already exists."); other constraint violations and
    /// bad values -> validation; serialization failure/deadlock -> conflict; statement timeout ->
    /// timeout; lost connection -> unavailable (the connection is discarded, and the next call
    /// outside a transaction transparently takes a fresh one); anything else -> internal.
    /// After an error inside a transaction, commit() refuses (rolls back and throws internal).
    std::unique_ptr<core::Session> session() override;

    /// The URL with the password masked: postgres://user:***@host:5432/db (also a `password=`
    /// query parameter).
    std::string display_url() const override;
    PoolStats pool_stats() const override;

    /// Takes the counter value on a connection of its own (autocommit), so the counter row is
    /// locked for one statement, not until the caller's transaction ends.
    long long next_counter(core::Session& current, const std::string& key) override;

    /// Number of connections currently open (idle or checked out); for tests and `m doctor`.
    std::size_t open_connections() const;

private:
    std::shared_ptr<detail::ConnectionPool> m_pool;
    /// Separate connections for next_counter(): never taken from the main pool, so writers that
    /// hold every pooled connection cannot deadlock waiting for a counter.
    std::shared_ptr<detail::ConnectionPool> m_counter_pool;
    PostgresDialect m_dialect;
};

} // namespace m::adapters::postgres
