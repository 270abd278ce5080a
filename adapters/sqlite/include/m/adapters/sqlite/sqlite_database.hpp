// SqliteDatabase: the embedded default database (DATABASE_URL unset or sqlite:///path).
//
// A real single-machine database, not a test double: a file in WAL mode (readers never block the
// writer), foreign keys on, a busy timeout so concurrent processes (m serve + m doc in a shell)
// wait for each other instead of failing. One connection per session, pooled.
#pragma once

#include "m/core/database.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace m::adapters::sqlite {

/// SQL spelling of SQLite.
class SqliteDialect : public core::SqlDialect {
public:
    std::string name() const override { return "sqlite"; }
    std::string placeholder(int n) const override;
    std::string column_type(const core::Field& field) const override;
    std::string uuid_type() const override { return "char(36)"; }
    std::string name_type() const override { return "varchar(140)"; }
    std::string timestamp_type() const override { return "timestamp"; }
    std::string integer_type() const override { return "integer"; }
    std::string normalize_type(std::string_view type) const override;
    std::string cast_to_text(std::string_view expr) const override;
    std::string row_lock_clause() const override { return ""; }
    bool supports_alter_column_type() const override { return false; }
    std::string alter_column_type_sql(std::string_view, std::string_view,
                                      std::string_view) const override;
    std::vector<std::string> list_tables(core::Session& session) const override;
    std::optional<core::TableInfo> describe_table(core::Session& session,
                                                  std::string_view table) const override;
    /// Two queries over sqlite_master joined with the pragma table functions.
    std::map<std::string, core::TableInfo>
    describe_tables(core::Session& session, const std::vector<std::string>& tables) const override;
};

class SqliteConnection;

/// A SQLite database file. Thread-safe; sessions are not.
class SqliteDatabase : public core::Database {
public:
    /// `path` is the database file; its folder is created on start() when missing.
    SqliteDatabase(std::filesystem::path path, std::size_t pool_size);
    ~SqliteDatabase() override;

    std::string service_name() const override { return "database"; }
    void start() override;
    void stop() noexcept override;
    void check() override;

    const core::SqlDialect& dialect() const override { return m_dialect; }
    std::unique_ptr<core::Session> session() override;
    std::string display_url() const override { return "sqlite://" + m_path.string(); }
    PoolStats pool_stats() const override;

private:
    std::unique_ptr<SqliteConnection> open_connection() const;

    std::filesystem::path m_path;
    std::size_t m_pool_size;
    SqliteDialect m_dialect;
    struct PoolHolder;
    std::unique_ptr<PoolHolder> m_pool;
};

} // namespace m::adapters::sqlite
