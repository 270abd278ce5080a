// PostgreSQL sessions against a real server: every value kind, transactions, error translation,
// a pool that replaces a broken connection, sessions on several threads.
#include "postgres_fixture.hpp"

using namespace m::test::postgres_fixture;

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
