// Tests of the PostgreSQL adapter against a real server (M_TEST_POSTGRES_URL, started by
// scripts/lib/postgres.sh). Each server test works in its own scratch database, dropped at the
// end. Without a server the server tests are skipped with a warning, unless
// M_TEST_REQUIRE_POSTGRES=1 makes that a failure; the pure tests (dialect, URLs) always run.
#include "m/adapters/postgres/postgres_database.hpp"

#include "m/core/doctype.hpp"
#include "m/core/error.hpp"
#include "m/core/settings.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pg = m::adapters::postgres;
using m::core::Error;
using m::core::ErrorKind;
using m::core::Field;
using m::core::FieldType;
using m::core::SqlParams;

namespace {

/// The server URL, or nullopt after recording a skip (or a failure when a server is required).
std::optional<std::string> server_url() {
    const char* url = std::getenv("M_TEST_POSTGRES_URL");
    if (url != nullptr && *url != '\0') return std::string(url);
    if (m::test::service_required("POSTGRES")) {
        FAIL("PostgreSQL required but M_TEST_POSTGRES_URL unset");
    }
    WARN("M_TEST_POSTGRES_URL unset: PostgreSQL test skipped (see scripts/lib/postgres.sh)");
    SUCCEED();
    return std::nullopt;
}

/// `url` pointing at database `name` instead of its own.
std::string with_database(const std::string& url, const std::string& name) {
    const std::size_t authority = url.find("://") + 3;
    const std::size_t path = std::min(url.find_first_of("/?", authority), url.size());
    const std::size_t query = url.find('?', authority);
    return url.substr(0, path) + "/" + name +
           (query == std::string::npos ? std::string() : url.substr(query));
}

std::string random_suffix() {
    std::random_device device;
    std::ostringstream out;
    out << std::hex << device() << device();
    return out.str();
}

/// A port on 127.0.0.1 with nothing listening.
int unused_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

/// A fresh database m_pg_adapter_<random> on the test server with a started PostgresDatabase
/// on it; both are dropped on destruction.
class ScratchDatabase {
public:
    explicit ScratchDatabase(const std::string& server_url, std::size_t pool_size = 4)
        : m_admin(server_url, 2), m_name("m_pg_adapter_" + random_suffix()) {
        m_admin.start();
        m_admin.session()->execute("CREATE DATABASE " + m_name);
        try {
            m_db = std::make_unique<pg::PostgresDatabase>(with_database(server_url, m_name),
                                                          pool_size);
            m_db->start();
        } catch (const std::exception&) {
            drop();
            throw;
        }
    }
    ~ScratchDatabase() { drop(); }
    ScratchDatabase(const ScratchDatabase&) = delete;
    ScratchDatabase& operator=(const ScratchDatabase&) = delete;

    pg::PostgresDatabase& db() { return *m_db; }
    /// A database on the server's own database, for what the scratch one cannot do itself.
    pg::PostgresDatabase& admin() { return m_admin; }

private:
    void drop() noexcept {
        if (m_db) {
            m_db->stop();
            m_db.reset();
        }
        try {
            m_admin.session()->execute("DROP DATABASE IF EXISTS " + m_name + " WITH (FORCE)");
        } catch (const std::exception& e) {
            std::fprintf(stderr, "warning: could not drop %s: %s\n", m_name.c_str(), e.what());
        }
        m_admin.stop();
    }

    pg::PostgresDatabase m_admin;
    std::string m_name;
    std::unique_ptr<pg::PostgresDatabase> m_db;
};

/// The single value of a one-row, one-column result.
std::optional<std::string> scalar(m::core::Session& session, const std::string& sql,
                                  const SqlParams& params = {}) {
    const auto rs = session.query(sql, params);
    REQUIRE(rs.size() == 1);
    REQUIRE(rs.rows[0].size() == 1);
    return rs.rows[0][0];
}

std::int64_t count_rows(m::core::Session& session, const std::string& table) {
    return std::stoll(scalar(session, "SELECT count(*) FROM " + table).value());
}

/// Runs `fn` and returns the Error it throws (fails the test if it throws nothing or else).
template <class Fn> Error error_of(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e;
    }
    FAIL("expected an m::core::Error");
    throw std::logic_error("unreachable");
}

Field make_field(std::string name, FieldType type) {
    Field field;
    field.name = std::move(name);
    field.type = type;
    return field;
}

/// Terminates the backend `pid` from `admin` and waits until it is gone.
void kill_backend(pg::PostgresDatabase& admin, const std::string& pid) {
    auto session = admin.session();
    const SqlParams params{std::int64_t{std::stoll(pid)}};
    REQUIRE(scalar(*session, "SELECT pg_terminate_backend($1::int)", params) == "t");
    for (int i = 0; i < 200; ++i) {
        if (session->query("SELECT 1 FROM pg_stat_activity WHERE pid = $1::int", params).empty()) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("backend " << pid << " still alive after pg_terminate_backend");
}

} // namespace

TEST_CASE("postgres dialect spells column types in normalised form", "[postgres]") {
    const pg::PostgresDialect dialect;
    CHECK(dialect.name() == "postgres");
    CHECK(dialect.placeholder(1) == "$1");
    CHECK(dialect.placeholder(12) == "$12");
    CHECK(dialect.cast_to_text("\"qty\"") == "CAST(\"qty\" AS text)");
    CHECK(dialect.supports_alter_column_type());
    CHECK(dialect.alter_column_type_sql("todo", "qty", "numeric(21,9)") ==
          "ALTER TABLE \"todo\" ALTER COLUMN \"qty\" TYPE numeric(21,9) USING "
          "\"qty\"::numeric(21,9)");
    CHECK_THROWS_AS(dialect.alter_column_type_sql("to do", "qty", "text"), Error);
    CHECK(dialect.uuid_type() == "uuid");
    CHECK(dialect.name_type() == "varchar(140)");
    CHECK(dialect.timestamp_type() == "timestamp");
    CHECK(dialect.integer_type() == "integer");

    CHECK(dialect.column_type(make_field("a", FieldType::data)) == "varchar(140)");
    CHECK(dialect.column_type(make_field("a", FieldType::select)) == "varchar(140)");
    CHECK(dialect.column_type(make_field("a", FieldType::link)) == "varchar(140)");
    Field long_data = make_field("a", FieldType::data);
    long_data.max_length = 500;
    CHECK(dialect.column_type(long_data) == "varchar(500)");
    long_data.max_length = 20; // shorter limits are validated, not enforced by the column
    CHECK(dialect.column_type(long_data) == "varchar(140)");
    CHECK(dialect.column_type(make_field("a", FieldType::text)) == "text");
    CHECK(dialect.column_type(make_field("a", FieldType::password)) == "text");
    CHECK(dialect.column_type(make_field("a", FieldType::int_)) == "bigint");
    CHECK(dialect.column_type(make_field("a", FieldType::float_)) == "double precision");
    Field money = make_field("a", FieldType::decimal);
    CHECK(dialect.column_type(money) == "numeric(21,9)");
    money.precision = 2;
    CHECK(dialect.column_type(money) == "numeric(21,2)");
    CHECK(dialect.column_type(make_field("a", FieldType::check)) == "boolean");
    CHECK(dialect.column_type(make_field("a", FieldType::date)) == "date");
    CHECK(dialect.column_type(make_field("a", FieldType::datetime)) == "timestamp");
    CHECK(dialect.column_type(make_field("a", FieldType::time)) == "time");
    CHECK(dialect.column_type(make_field("a", FieldType::uuid)) == "uuid");
    CHECK(dialect.column_type(make_field("a", FieldType::json)) == "jsonb");
    const Error no_column =
        error_of([&] { dialect.column_type(make_field("items", FieldType::table)); });
    CHECK(no_column.kind() == ErrorKind::internal);
}

TEST_CASE("postgres dialect normalises type spellings", "[postgres]") {
    const pg::PostgresDialect dialect;
    CHECK(dialect.normalize_type("character varying(140)") == "varchar(140)");
    CHECK(dialect.normalize_type("  Character  Varying (255) ") == "varchar(255)");
    CHECK(dialect.normalize_type("character varying") == "varchar");
    CHECK(dialect.normalize_type("timestamp without time zone") == "timestamp");
    CHECK(dialect.normalize_type("timestamp(6) without time zone") == "timestamp");
    CHECK(dialect.normalize_type("timestamp(3) without time zone") == "timestamp(3)");
    CHECK(dialect.normalize_type("timestamp with time zone") == "timestamptz");
    CHECK(dialect.normalize_type("time without time zone") == "time");
    CHECK(dialect.normalize_type("int8") == "bigint");
    CHECK(dialect.normalize_type("int4") == "integer");
    CHECK(dialect.normalize_type("int") == "integer");
    CHECK(dialect.normalize_type("INTEGER") == "integer");
    CHECK(dialect.normalize_type("float8") == "double precision");
    CHECK(dialect.normalize_type("double   precision") == "double precision");
    CHECK(dialect.normalize_type("bool") == "boolean");
    CHECK(dialect.normalize_type("numeric(21, 9)") == "numeric(21,9)");
    CHECK(dialect.normalize_type("decimal( 21 , 2 )") == "numeric(21,2)");
    CHECK(dialect.normalize_type("int4[]") == "integer[]");
    CHECK(dialect.normalize_type("jsonb") == "jsonb");
    CHECK(dialect.normalize_type("uuid") == "uuid");
}

TEST_CASE("postgres database masks passwords in URLs", "[postgres]") {
    CHECK(m::core::mask_url("postgres://alice:s3cret@db.example:5432/app") ==
          "postgres://alice:***@db.example:5432/app");
    CHECK(m::core::mask_url("postgresql://alice@db/app?sslmode=require") ==
          "postgresql://alice@db/app?sslmode=require");
    CHECK(m::core::mask_url("postgresql://db/app?user=a&password=x%40y&sslmode=disable") ==
          "postgresql://db/app?user=a&password=***&sslmode=disable");
    CHECK(m::core::mask_url("postgresql://a:b@c@host") == "postgresql://a:***@host");

    const pg::PostgresDatabase db("postgresql://alice:s3cret@127.0.0.1:1/app", 2);
    CHECK(db.display_url() == "postgresql://alice:***@127.0.0.1:1/app");
    CHECK(db.service_name() == "database");
    CHECK(db.dialect().name() == "postgres");

    const Error wrong_scheme = error_of([] { pg::PostgresDatabase("mysql://u:pw@h/db", 1); });
    CHECK(wrong_scheme.kind() == ErrorKind::validation);
    CHECK(std::string(wrong_scheme.what()).find("pw") == std::string::npos);
}

TEST_CASE("postgres database reports an unreachable server as unavailable", "[postgres]") {
    const std::string port = std::to_string(unused_port());
    pg::PostgresDatabase db("postgres://alice:hunter2-secret@127.0.0.1:" + port + "/app", 2);
    const Error error = error_of([&] { db.start(); });
    const std::string message = error.what();
    CHECK(error.kind() == ErrorKind::unavailable);
    CHECK(message.starts_with("database: cannot connect to postgres://alice:***@127.0.0.1:" + port +
                              "/app: "));
    CHECK(message.find("hunter2") == std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
    CHECK(error_of([&] { db.session(); }).kind() == ErrorKind::unavailable);
    CHECK(db.open_connections() == 0);
}

TEST_CASE("postgres session round-trips every value kind", "[postgres]") {
    const auto url = server_url();
    if (!url) return;
    ScratchDatabase scratch(*url);
    auto session = scratch.db().session();
    scratch.db().check();

    session->execute_script(
        "CREATE TABLE vals (id bigint PRIMARY KEY, b boolean, i bigint, d double precision,"
        " s text, n text);"
        "CREATE TABLE doubles (d double precision)");

    const std::string text = "h\xC3\xA9llo 'single' \"double\" \\ $1 \xE2\x9C\x93";
    const auto insert = "INSERT INTO vals VALUES ($1, $2, $3, $4, $5, $6)";
    CHECK(session->execute(insert, {std::int64_t{1}, true, std::numeric_limits<std::int64_t>::min(),
                                    0.1 + 0.2, text, std::monostate{}}) == 1);
    CHECK(
        session->execute(insert, {std::int64_t{2}, false, std::numeric_limits<std::int64_t>::max(),
                                  -1.5, std::string(), std::monostate{}}) == 1);

    const auto rs = session->query("SELECT b, i, d, s, n FROM vals ORDER BY id");
    REQUIRE(rs.columns == std::vector<std::string>{"b", "i", "d", "s", "n"});
    REQUIRE(rs.size() == 2);
    CHECK(rs.rows[0][0] == "t");
    CHECK(rs.rows[0][1] == "-9223372036854775808");
    CHECK(std::strtod(rs.rows[0][2].value().c_str(), nullptr) == 0.1 + 0.2);
    CHECK(rs.rows[0][3] == text);
    CHECK_FALSE(rs.rows[0][4].has_value());
    CHECK(rs.rows[1][0] == "f");
    CHECK(rs.rows[1][1] == "9223372036854775807");
    CHECK(rs.rows[1][3] == ""); // the empty string is not NULL

    const std::vector<double> doubles{
        0.1,       1.0 / 3.0, 1e300,
        -2.5e-310, 5e-324,    1234.5,
        -0.0,      1e21,      std::numeric_limits<double>::infinity()};
    for (double d : doubles) {
        session->execute("INSERT INTO doubles VALUES ($1)", {d});
        const auto back = scalar(*session, "SELECT d FROM doubles");
        INFO("value " << back.value_or("NULL"));
        CHECK(std::strtod(back.value().c_str(), nullptr) == d);
        session->execute("DELETE FROM doubles");
    }

    // Parameters are values, never SQL: a hostile string is just text.
    CHECK(scalar(*session, "SELECT $1::text", {std::string("x'); DROP TABLE vals; --")}) ==
          "x'); DROP TABLE vals; --");
    CHECK(scalar(*session, "SELECT $1::text IS NULL", {std::monostate{}}) == "t");
    CHECK(session->execute("UPDATE vals SET n = $1 WHERE b = $2", {std::string("x"), true}) == 1);
    CHECK(scalar(*session, "SELECT current_setting('TimeZone')") == "UTC");
    CHECK(session->query("SELECT id FROM vals WHERE id < 0").empty());
}

TEST_CASE("postgres session commits, rolls back and autocommits", "[postgres]") {
    const auto url = server_url();
    if (!url) return;
    ScratchDatabase scratch(*url);
    auto& db = scratch.db();
    auto a = db.session();
    auto b = db.session();
    a->execute("CREATE TABLE t (v bigint)");

    SECTION("statements outside begin() autocommit") {
        a->execute("INSERT INTO t VALUES (1)");
        CHECK_FALSE(a->in_transaction());
        CHECK(count_rows(*b, "t") == 1);
    }
    SECTION("rollback discards, commit keeps") {
        a->begin();
        CHECK(a->in_transaction());
        a->execute("INSERT INTO t VALUES (1)");
        CHECK(count_rows(*a, "t") == 1);
        CHECK(count_rows(*b, "t") == 0); // not visible before commit
        a->rollback();
        CHECK_FALSE(a->in_transaction());
        CHECK(count_rows(*a, "t") == 0);

        a->begin();
        a->execute("INSERT INTO t VALUES (2)");
        a->commit();
        CHECK_FALSE(a->in_transaction());
        CHECK(count_rows(*b, "t") == 1);
        a->rollback(); // no transaction: nothing to do
    }
    SECTION("a destroyed session rolls back its open transaction") {
        {
            auto c = db.session();
            c->begin();
            c->execute("INSERT INTO t VALUES (3)");
        }
        CHECK(count_rows(*b, "t") == 0);
        auto d = db.session(); // the connection came back usable and outside a transaction
        CHECK_FALSE(d->in_transaction());
        d->execute("INSERT INTO t VALUES (4)");
        CHECK(count_rows(*b, "t") == 1);
    }
    SECTION("UnitOfWork commits on commit() and rolls back otherwise") {
        {
            m::core::UnitOfWork uow(*a);
            uow.session().execute("INSERT INTO t VALUES (5)");
        }
        CHECK(count_rows(*b, "t") == 0);
        {
            m::core::UnitOfWork uow(*a);
            uow.session().execute("INSERT INTO t VALUES (6)");
            uow.commit();
        }
        CHECK(count_rows(*b, "t") == 1);
    }
    SECTION("misuse and failed transactions are reported") {
        a->begin();
        CHECK(error_of([&] { a->begin(); }).kind() == ErrorKind::internal);
        a->execute("INSERT INTO t VALUES (7)");
        CHECK(error_of([&] { a->execute("INSERT INTO t VALUES ('seven')"); }).kind() ==
              ErrorKind::validation);
        // PostgreSQL would silently turn this COMMIT into a ROLLBACK; the session says so.
        CHECK(error_of([&] { a->commit(); }).kind() == ErrorKind::internal);
        CHECK_FALSE(a->in_transaction());
        CHECK(count_rows(*b, "t") == 0);
        CHECK(error_of([&] { a->commit(); }).kind() == ErrorKind::internal);
        CHECK(count_rows(*a, "t") == 0);
    }
}

TEST_CASE("postgres session translates constraint and SQL errors", "[postgres]") {
    const auto url = server_url();
    if (!url) return;
    ScratchDatabase scratch(*url);
    auto session = scratch.db().session();
    session->execute("CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE,"
                     " age bigint CHECK (age >= 0))");
    const auto insert = "INSERT INTO users (email, age) VALUES ($1, $2)";
    session->execute(insert, {std::string("a@x"), std::int64_t{30}});

    const Error duplicate = error_of([&] {
        session->execute(insert, {std::string("a@x"), std::int64_t{31}});
    });
    CHECK(duplicate.kind() == ErrorKind::conflict);
    CHECK(std::string(duplicate.what()) == "duplicate value: Key (email)=(a@x) already exists.");
    CHECK(count_rows(*session, "users") == 1); // the session is still usable

    session->begin();
    CHECK(error_of([&] {
              session->execute(insert, {std::string("a@x"), std::monostate{}});
          }).kind() == ErrorKind::conflict);
    session->rollback();
    CHECK(count_rows(*session, "users") == 1);

    const Error not_null = error_of([&] {
        session->execute(insert, {std::monostate{}, std::int64_t{1}});
    });
    CHECK(not_null.kind() == ErrorKind::validation);
    CHECK(std::string(not_null.what()).find("email") != std::string::npos);
    CHECK(error_of([&] {
              session->execute(insert, {std::string("b@x"), std::int64_t{-1}});
          }).kind() == ErrorKind::validation);
    CHECK(error_of([&] {
              session->execute(insert, {std::string("b@x"), std::string("old")});
          }).kind() == ErrorKind::validation);

    const Error syntax = error_of([&] { session->query("SELEC 1"); });
    CHECK(syntax.kind() == ErrorKind::internal);
    CHECK(std::string(syntax.what()).starts_with("database error: syntax error"));
    CHECK(std::string(syntax.what()).find('\n') == std::string::npos);
    CHECK(error_of([&] { session->query("SELECT * FROM missing"); }).kind() == ErrorKind::internal);

    session->execute("SET statement_timeout = '50ms'");
    CHECK(error_of([&] { session->query("SELECT pg_sleep(2)"); }).kind() == ErrorKind::timeout);
    session->execute("RESET statement_timeout");
    CHECK(scalar(*session, "SELECT 1") == "1");
}

TEST_CASE("postgres dialect introspects tables", "[postgres]") {
    const auto url = server_url();
    if (!url) return;
    ScratchDatabase scratch(*url);
    auto session = scratch.db().session();
    const auto& dialect = scratch.db().dialect();

    std::vector<Field> fields;
    for (FieldType type :
         {FieldType::data, FieldType::text, FieldType::int_, FieldType::float_, FieldType::decimal,
          FieldType::check, FieldType::date, FieldType::datetime, FieldType::time, FieldType::uuid,
          FieldType::json, FieldType::select, FieldType::link, FieldType::password}) {
        // (Appending avoids "literal" + std::string&&, which trips a GCC 12 -Wrestrict bug.)
        std::string name = "f";
        name += std::to_string(fields.size());
        fields.push_back(make_field(name, type));
    }
    fields[0].max_length = 255;
    fields[0].required = true;
    fields[4].precision = 2;
    Field default_decimal = make_field("f_money", FieldType::decimal);
    fields.push_back(default_decimal);

    std::string ddl = "CREATE TABLE describe_me (id uuid PRIMARY KEY";
    for (const Field& f : fields) {
        ddl += ", " + m::core::quote_ident(f.name) + " " + dialect.column_type(f);
        if (f.required) ddl += " NOT NULL";
    }
    ddl += ", " + m::core::quote_ident("idx") + " " + dialect.integer_type() + ", modified " +
           dialect.timestamp_type() + ", owner " + dialect.name_type() + ")";
    session->execute(ddl);
    session->execute("CREATE UNIQUE INDEX describe_me_f0 ON describe_me (f0)");
    session->execute("CREATE INDEX describe_me_multi ON describe_me (f6, f2)");
    session->execute("ALTER TABLE describe_me ADD CONSTRAINT describe_me_f9_key UNIQUE (f9)");
    session->execute("CREATE TABLE another (id bigint)");

    CHECK(dialect.list_tables(*session) == std::vector<std::string>{"another", "describe_me"});
    CHECK_FALSE(dialect.describe_table(*session, "missing").has_value());

    const auto info = dialect.describe_table(*session, "describe_me");
    REQUIRE(info.has_value());
    CHECK(info->name == "describe_me");
    REQUIRE(info->columns.size() == fields.size() + 4);
    CHECK(info->columns[0].name == "id");
    CHECK(info->columns[0].type == dialect.uuid_type());
    CHECK(info->columns[0].not_null);
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto& column = info->columns[i + 1];
        INFO("field " << fields[i].name);
        CHECK(column.name == fields[i].name);
        CHECK(column.type == dialect.column_type(fields[i]));
        CHECK(dialect.normalize_type(dialect.column_type(fields[i])) ==
              dialect.column_type(fields[i]));
        CHECK(column.not_null == fields[i].required);
    }
    CHECK(info->columns[fields.size() + 1].type == dialect.integer_type());
    CHECK(info->columns[fields.size() + 2].type == dialect.timestamp_type());
    CHECK(info->columns[fields.size() + 3].type == dialect.name_type());

    REQUIRE(info->indexes.size() == 3); // the primary key's index is left out
    CHECK(info->indexes[0].name == "describe_me_f0");
    CHECK(info->indexes[0].columns == std::vector<std::string>{"f0"});
    CHECK(info->indexes[0].unique);
    CHECK(info->indexes[1].name == "describe_me_f9_key");
    CHECK(info->indexes[1].columns == std::vector<std::string>{"f9"});
    CHECK(info->indexes[1].unique);
    CHECK(info->indexes[2].name == "describe_me_multi");
    CHECK(info->indexes[2].columns == std::vector<std::string>{"f6", "f2"});
    CHECK_FALSE(info->indexes[2].unique);

    // The ALTER statement of the dialect works and introspection sees its result.
    Field wider = fields[0];
    wider.max_length = 300;
    session->execute(
        dialect.alter_column_type_sql("describe_me", "f0", dialect.column_type(wider)));
    Field as_int = make_field("f1", FieldType::int_); // text -> bigint needs the USING cast
    session->execute(
        dialect.alter_column_type_sql("describe_me", "f1", dialect.column_type(as_int)));
    const auto altered = dialect.describe_table(*session, "describe_me");
    REQUIRE(altered.has_value());
    CHECK(altered->columns[1].type == "varchar(300)");
    CHECK(altered->columns[2].type == "bigint");
}

TEST_CASE("postgres pool replaces a broken connection", "[postgres]") {
    const auto url = server_url();
    if (!url) return;
    ScratchDatabase scratch(*url, 1);
    auto& db = scratch.db();

    SECTION("a pooled idle connection killed by the server") {
        std::string pid;
        {
            auto session = db.session();
            pid = scalar(*session, "SELECT pg_backend_pid()").value();
        }
        kill_backend(scratch.admin(), pid);

        int unavailable = 0;
        std::optional<std::string> new_pid;
        for (int attempt = 0; attempt < 3 && !new_pid; ++attempt) {
            try {
                auto session = db.session();
                new_pid = scalar(*session, "SELECT pg_backend_pid()");
            } catch (const Error& e) {
                CHECK(e.kind() == ErrorKind::unavailable);
                ++unavailable;
            }
        }
        REQUIRE(new_pid.has_value());
        CHECK(unavailable <= 1);
        CHECK(*new_pid != pid);
        auto session = db.session();
        CHECK(scalar(*session, "SELECT 1") == "1");
        CHECK(db.open_connections() == 1);
    }
    SECTION("a session whose connection dies heals outside a transaction") {
        auto session = db.session();
        session->execute("CREATE TABLE t (v bigint)");
        kill_backend(scratch.admin(), scalar(*session, "SELECT pg_backend_pid()").value());
        CHECK(error_of([&] { session->query("SELECT 1"); }).kind() == ErrorKind::unavailable);
        CHECK(scalar(*session, "SELECT 1") == "1");

        session->begin();
        session->execute("INSERT INTO t VALUES (1)");
        kill_backend(scratch.admin(), scalar(*session, "SELECT pg_backend_pid()").value());
        CHECK(error_of([&] { session->execute("INSERT INTO t VALUES (2)"); }).kind() ==
              ErrorKind::unavailable);
        CHECK(error_of([&] { session->query("SELECT 1"); }).kind() == ErrorKind::unavailable);
        CHECK(error_of([&] { session->commit(); }).kind() == ErrorKind::unavailable);
        CHECK_FALSE(session->in_transaction());
        CHECK(count_rows(*session, "t") == 0);
        CHECK(db.open_connections() == 1);
    }
}

TEST_CASE("postgres sessions work from several threads", "[postgres]") {
    const auto url = server_url();
    if (!url) return;
    ScratchDatabase scratch(*url, 4);
    auto& db = scratch.db();
    db.session()->execute("CREATE TABLE hits (thread bigint, n bigint)");

    constexpr int k_threads = 4;
    constexpr int k_inserts = 50;
    std::vector<std::exception_ptr> errors(k_threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&, t] {
            try {
                for (int n = 0; n < k_inserts; ++n) {
                    // Alternate short sessions with a transaction per batch of ten.
                    auto session = db.session();
                    if (n % 10 == 0) session->begin();
                    session->execute("INSERT INTO hits VALUES ($1, $2)",
                                     {std::int64_t{t}, std::int64_t{n}});
                    if (session->in_transaction()) session->commit();
                }
            } catch (...) {
                errors[t] = std::current_exception();
            }
        });
    }
    for (auto& thread : threads) thread.join();
    for (const auto& error : errors) {
        if (error) std::rethrow_exception(error);
    }
    auto session = db.session();
    CHECK(count_rows(*session, "hits") == k_threads * k_inserts);
    CHECK(scalar(*session, "SELECT count(DISTINCT (thread, n)) FROM hits") ==
          std::to_string(k_threads * k_inserts));
    CHECK(db.open_connections() <= 4);
}

TEST_CASE("postgres dialect estimates rows from the planner's statistics", "[postgres]") {
    const auto url = server_url();
    if (!url) return;
    ScratchDatabase scratch(*url);
    auto session = scratch.db().session();
    const auto& dialect = scratch.db().dialect();
    session->execute_script("CREATE TABLE big (id int)");
    CHECK_FALSE(dialect.estimated_rows(*session, "big")); // never analysed: no estimate
    session->execute_script(
        "INSERT INTO big SELECT g FROM generate_series(1, 5000) g; ANALYZE big");
    auto estimate = dialect.estimated_rows(*session, "big");
    REQUIRE(estimate);
    CHECK(*estimate == 5000);
    CHECK_FALSE(dialect.estimated_rows(*session, "no_such_table"));
}
