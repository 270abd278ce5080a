#include "m/adapters/sqlite/sqlite_database.hpp"

#include "m/core/doctype.hpp"
#include "m/core/error.hpp"
#include "m/core/pool.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <set>

namespace m::adapters::sqlite {

using core::Error;
using core::ErrorKind;

/// One sqlite3 handle. Closed on destruction.
class SqliteConnection {
public:
    explicit SqliteConnection(sqlite3* db) : m_db(db) {}
    ~SqliteConnection() { sqlite3_close_v2(m_db); }
    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;
    sqlite3* get() const noexcept { return m_db; }

private:
    sqlite3* m_db;
};

struct SqliteDatabase::PoolHolder {
    PoolHolder(std::size_t size, core::Pool<SqliteConnection>::Factory factory)
        : pool(size, std::move(factory)) {}
    core::Pool<SqliteConnection> pool;
};

namespace {

[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view what) {
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
        throw Error(ErrorKind::conflict, "duplicate value: " + msg);
    }
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        throw Error(ErrorKind::validation, "constraint failed: " + msg);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
        throw Error(ErrorKind::timeout,
                    "database is busy (another process holds the write lock): " + msg);
    }
    if ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN ||
        (rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL) {
        throw Error(ErrorKind::unavailable, fmt::format("database: {}: {}", what, msg));
    }
    throw Error(ErrorKind::internal, fmt::format("database error: {}", msg));
}

/// A prepared statement, finalized on destruction.
class Statement {
public:
    Statement(sqlite3* db, std::string_view sql) : m_db(db) {
        int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &m_stmt, nullptr);
        if (rc != SQLITE_OK) throw_sqlite(db, rc, "prepare");
    }
    ~Statement() { sqlite3_finalize(m_stmt); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    void bind(const core::SqlParams& params) {
        for (std::size_t i = 0; i < params.size(); ++i) {
            int idx = static_cast<int>(i + 1);
            int rc = std::visit(
                [&](const auto& v) -> int {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, std::monostate>) {
                        return sqlite3_bind_null(m_stmt, idx);
                    } else if constexpr (std::is_same_v<T, bool>) {
                        return sqlite3_bind_int(m_stmt, idx, v ? 1 : 0);
                    } else if constexpr (std::is_same_v<T, std::int64_t>) {
                        return sqlite3_bind_int64(m_stmt, idx, v);
                    } else if constexpr (std::is_same_v<T, double>) {
                        return sqlite3_bind_double(m_stmt, idx, v);
                    } else {
                        return sqlite3_bind_text(m_stmt, idx, v.data(), static_cast<int>(v.size()),
                                                 SQLITE_TRANSIENT);
                    }
                },
                params[i]);
            if (rc != SQLITE_OK) throw_sqlite(m_db, rc, "bind");
        }
    }

    /// Steps once; true while a row is available.
    bool step() {
        int rc = sqlite3_step(m_stmt);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw_sqlite(m_db, rc, "step");
    }

    sqlite3_stmt* get() const noexcept { return m_stmt; }

private:
    sqlite3* m_db;
    sqlite3_stmt* m_stmt = nullptr;
};

std::string column_text(sqlite3_stmt* stmt, int col) {
    if (sqlite3_column_type(stmt, col) == SQLITE_FLOAT) {
        // Full precision, and "100.0" rather than "100" so decimals stay numbers.
        double d = sqlite3_column_double(stmt, col);
        return fmt::format("{}", d);
    }
    const unsigned char* text = sqlite3_column_text(stmt, col);
    int n = sqlite3_column_bytes(stmt, col);
    return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(n));
}

class SqliteSession : public core::Session {
public:
    SqliteSession(core::Pool<SqliteConnection>& pool, std::unique_ptr<SqliteConnection> conn)
        : m_pool(pool), m_conn(std::move(conn)) {}

    ~SqliteSession() override {
        bool healthy = true;
        if (m_in_tx) {
            healthy =
                sqlite3_exec(m_conn->get(), "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK;
        }
        m_pool.release(std::move(m_conn), healthy);
    }

    core::ResultSet query(std::string_view sql, const core::SqlParams& params) override {
        Statement stmt(m_conn->get(), sql);
        stmt.bind(params);
        core::ResultSet rs;
        int cols = sqlite3_column_count(stmt.get());
        for (int c = 0; c < cols; ++c) rs.columns.emplace_back(sqlite3_column_name(stmt.get(), c));
        while (stmt.step()) {
            std::vector<std::optional<std::string>> row;
            row.reserve(static_cast<std::size_t>(cols));
            for (int c = 0; c < cols; ++c) {
                if (sqlite3_column_type(stmt.get(), c) == SQLITE_NULL) {
                    row.emplace_back(std::nullopt);
                } else {
                    row.emplace_back(column_text(stmt.get(), c));
                }
            }
            rs.rows.push_back(std::move(row));
        }
        return rs;
    }

    std::int64_t execute(std::string_view sql, const core::SqlParams& params) override {
        Statement stmt(m_conn->get(), sql);
        stmt.bind(params);
        while (stmt.step()) {
        }
        return sqlite3_changes64(m_conn->get());
    }

    void execute_script(std::string_view sql) override {
        std::string text(sql);
        char* err = nullptr;
        int rc = sqlite3_exec(m_conn->get(), text.c_str(), nullptr, nullptr, &err);
        if (rc != SQLITE_OK) {
            std::string msg = err ? err : sqlite3_errstr(rc);
            sqlite3_free(err);
            if ((rc & 0xff) == SQLITE_BUSY) {
                throw Error(ErrorKind::timeout, "database is busy: " + msg);
            }
            throw Error(ErrorKind::internal, "database error: " + msg);
        }
    }

    void begin() override {
        // IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout instead
        // of one failing at its first write with SQLITE_BUSY.
        execute_script("BEGIN IMMEDIATE");
        m_in_tx = true;
    }
    void commit() override {
        execute_script("COMMIT");
        m_in_tx = false;
    }
    void rollback() override {
        m_in_tx = false;
        execute_script("ROLLBACK");
    }
    bool in_transaction() const override { return m_in_tx; }

private:
    core::Pool<SqliteConnection>& m_pool;
    std::unique_ptr<SqliteConnection> m_conn;
    bool m_in_tx = false;
};

std::string lower_trim(std::string_view s) {
    std::string out;
    bool space = false;
    for (char c : s) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = !out.empty();
            continue;
        }
        if (space && c != '(' && c != ')' && c != ',' && out.back() != '(' && out.back() != ',') {
            out += ' ';
        }
        space = false;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

} // namespace

std::string SqliteDialect::placeholder(int n) const {
    return "?" + std::to_string(n);
}

std::string SqliteDialect::column_type(const core::Field& f) const {
    using core::FieldType;
    switch (f.type) {
    case FieldType::data:
    case FieldType::select:
    case FieldType::link:
        return fmt::format("varchar({})",
                           f.max_length && *f.max_length > 140 ? *f.max_length : 140);
    case FieldType::text:
    case FieldType::password:
    case FieldType::json:
        return "text";
    case FieldType::int_:
        return "integer";
    case FieldType::float_:
        return "real";
    case FieldType::decimal:
        return fmt::format("numeric(21,{})", f.precision.value_or(9));
    case FieldType::check:
        return "boolean";
    case FieldType::date:
        return "date";
    case FieldType::datetime:
        return "timestamp";
    case FieldType::time:
        return "time";
    case FieldType::uuid:
        return "char(36)";
    case FieldType::table:
        break;
    }
    throw Error(ErrorKind::internal, fmt::format("field '{}' has no column", f.name));
}

std::string SqliteDialect::normalize_type(std::string_view type) const {
    return lower_trim(type);
}

std::string SqliteDialect::cast_to_text(std::string_view expr) const {
    return fmt::format("CAST({} AS TEXT)", expr);
}

std::string SqliteDialect::alter_column_type_sql(std::string_view, std::string_view,
                                                 std::string_view) const {
    throw Error(ErrorKind::internal, "SQLite cannot change a column type in place");
}

std::vector<std::string> SqliteDialect::list_tables(core::Session& session) const {
    auto rs = session.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                            "'sqlite_%' ORDER BY name");
    std::vector<std::string> out;
    for (const auto& row : rs.rows) out.push_back(row[0].value_or(""));
    return out;
}

std::optional<core::TableInfo> SqliteDialect::describe_table(core::Session& session,
                                                             std::string_view table) const {
    auto all = describe_tables(session, {std::string(table)});
    auto it = all.find(std::string(table));
    if (it == all.end()) return std::nullopt;
    return std::move(it->second);
}

std::map<std::string, core::TableInfo>
SqliteDialect::describe_tables(core::Session& session,
                               const std::vector<std::string>& tables) const {
    std::set<std::string> wanted(tables.begin(), tables.end());
    std::map<std::string, core::TableInfo> out;
    // The pragma table-valued functions take the table name from the joined row, so the whole
    // schema comes back in two statements instead of several per table.
    auto cols = session.query(
        "SELECT m.name, p.name, p.type, p.\"notnull\" FROM sqlite_master m "
        "JOIN pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.cid");
    for (const auto& row : cols.rows) {
        std::string table = row[0].value_or("");
        if (!wanted.count(table)) continue;
        auto& info = out[table];
        info.name = table;
        info.columns.push_back({row[1].value_or(""), normalize_type(row[2].value_or("")),
                                row[3].value_or("0") == "1"});
    }
    auto idx = session.query(
        "SELECT m.name, il.name, il.\"unique\", il.origin, ii.name FROM sqlite_master m "
        "JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii "
        "WHERE m.type = 'table' ORDER BY m.name, il.name, ii.seqno");
    for (const auto& row : idx.rows) {
        auto it = out.find(row[0].value_or(""));
        if (it == out.end() || row[3].value_or("") == "pk") continue;
        auto& indexes = it->second.indexes;
        std::string name = row[1].value_or("");
        if (indexes.empty() || indexes.back().name != name) {
            core::IndexInfo ii;
            ii.name = name;
            ii.unique = row[2].value_or("0") == "1";
            indexes.push_back(std::move(ii));
        }
        indexes.back().columns.push_back(row[4].value_or(""));
    }
    return out;
}

SqliteDatabase::SqliteDatabase(std::filesystem::path path, std::size_t pool_size)
    : m_path(std::move(path)), m_pool_size(pool_size) {}

SqliteDatabase::~SqliteDatabase() {
    stop();
}

std::unique_ptr<SqliteConnection> SqliteDatabase::open_connection() const {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(m_path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    auto conn = std::make_unique<SqliteConnection>(db);
    if (rc != SQLITE_OK) {
        std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        throw Error(ErrorKind::unavailable,
                    fmt::format("database: cannot open {}: {}", m_path.string(), msg));
    }
    sqlite3_busy_timeout(db, 10000);
    char* err = nullptr;
    rc = sqlite3_exec(db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                      nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw Error(ErrorKind::unavailable,
                    fmt::format("database: cannot use {}: {}", m_path.string(), msg));
    }
    return conn;
}

void SqliteDatabase::start() {
    std::error_code ec;
    auto dir = m_path.parent_path();
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec) {
            throw Error(ErrorKind::unavailable, fmt::format("database: cannot create folder {}: {}",
                                                            dir.string(), ec.message()));
        }
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace, ec);
    }
    // The database holds password and API-key hashes: created for its owner only (SQLite gives
    // its -wal and -shm files the same mode).
    if (!std::filesystem::exists(m_path, ec)) {
        const int fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) ::close(fd);
    }
    m_pool = std::make_unique<PoolHolder>(m_pool_size, [this] { return open_connection(); });
    // Open one connection now so a bad path fails at start, not at first use; the first write
    // creates the file.
    auto s = session();
    s->query("SELECT 1");
}

void SqliteDatabase::stop() noexcept {
    if (m_pool) {
        m_pool->pool.clear();
        m_pool.reset();
    }
}

void SqliteDatabase::check() {
    session()->query("SELECT 1");
}

std::unique_ptr<core::Session> SqliteDatabase::session() {
    if (!m_pool) throw Error(ErrorKind::internal, "database used before start()");
    return std::make_unique<SqliteSession>(m_pool->pool, m_pool->pool.acquire());
}

core::Database::PoolStats SqliteDatabase::pool_stats() const {
    if (!m_pool) return {};
    auto s = m_pool->pool.stats();
    return {s.max, s.in_use};
}

} // namespace m::adapters::sqlite
