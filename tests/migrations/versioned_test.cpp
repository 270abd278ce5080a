// Versioned app migrations beside the sync: order, up/down sections, rollback, failures that leave
// nothing applied, and drift reported by verify. Same cases on SQLite and on a real PostgreSQL.
#include "m/core/doctype_loader.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"
#include "m/migrations/migrator.hpp"
#include "m/migrations/system_sql.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using m::core::Error;
using m::core::ErrorKind;
using m::core::Json;
using m::migrations::Migrator;

namespace fs = std::filesystem;

namespace {
/// How many framework migrations a fresh database of `kind` gets.
std::size_t system_count(const std::string& kind) {
    std::size_t n = 0;
    for (const auto& mig : m::migrations::system_migrations()) n += kind == mig.dialect;
    return n;
}
} // namespace

namespace {

const char* k_note = R"({
    "name": "Note",
    "naming_rule": "field:title",
    "fields": [{"name": "title", "type": "data"}, {"name": "qty", "type": "int"}]
})";

const char* k_extra = R"({"name": "Extra", "fields": [{"name": "label", "type": "data"}]})";

m::core::MetaRegistry registry(const std::vector<std::string>& doctypes = {k_note}) {
    m::core::MetaRegistry reg;
    for (const auto& text : doctypes) {
        reg.add(m::core::parse_doctype(nlohmann::json::parse(text), "doctype.json", "shop"));
    }
    reg.check_references();
    return reg;
}

/// A project folder with the app "shop" and its migrations folder.
struct Project {
    m::test::TempDir dir;
    Project() { m::test::write_file(dir.path() / "apps" / "shop" / "app.json", "{}\n"); }
    fs::path migration(const std::string& file) const {
        return dir.path() / "apps" / "shop" / "migrations" / file;
    }
    void write(const std::string& file, const std::string& sql) const {
        m::test::write_file(migration(file), sql);
    }
    Migrator migrator(m::core::Database& db, const m::core::MetaRegistry& reg) const {
        return Migrator(db, reg, dir.path(), {"shop"});
    }
};

std::string scalar(m::core::Database& db, const std::string& sql) {
    auto s = db.session();
    auto rs = s->query(sql);
    REQUIRE(rs.rows.size() == 1);
    return rs.rows[0][0].value_or("NULL");
}

bool has_table(m::core::Database& db, const std::string& table) {
    auto s = db.session();
    return db.dialect().describe_table(*s, table).has_value();
}

bool has_column(m::core::Database& db, const std::string& table, const std::string& column) {
    auto s = db.session();
    auto info = db.dialect().describe_table(*s, table);
    REQUIRE(info);
    return std::any_of(info->columns.begin(), info->columns.end(),
                       [&](const m::core::ColumnInfo& c) { return c.name == column; });
}

void insert_note(m::core::Database& db, const m::core::MetaRegistry& reg, const std::string& title,
                 int qty) {
    m::core::DocumentService svc(reg, db);
    auto s = db.session();
    m::core::UnitOfWork uow(*s);
    svc.insert(*s, "Note", Json{{"title", title}, {"qty", qty}}, m::test::acting("tester"));
    uow.commit();
}

std::vector<std::string> kinds_of(const m::migrations::Plan& plan) {
    std::vector<std::string> out;
    for (const auto& c : plan.changes) out.push_back(c.kind);
    return out;
}

std::vector<std::string> names_of(const m::migrations::Plan& plan) {
    std::vector<std::string> out;
    for (const auto& c : plan.changes) out.push_back(c.name);
    return out;
}

} // namespace

TEST_CASE("migration files split into up and down sections", "[migrate][versioned]") {
    using m::migrations::parse_migration;
    auto plain = parse_migration("CREATE TABLE a (x integer);\n", "plain.sql");
    CHECK(plain.up == "CREATE TABLE a (x integer);\n");
    CHECK_FALSE(plain.has_down);

    auto both = parse_migration("-- header\n-- migrate:up\nCREATE TABLE a (x integer);\n"
                                "  --   Migrate:Down  \nDROP TABLE a;\n",
                                "both.sql");
    CHECK(both.up == "-- header\nCREATE TABLE a (x integer);\n");
    CHECK(both.down == "DROP TABLE a;\n");
    CHECK(both.has_down);

    // A down section of comments only (the template's) cannot roll anything back.
    auto empty_down = parse_migration(
        "-- migrate:up\nSELECT 1;\n-- migrate:down\n-- nothing /* here */\n\n", "empty.sql");
    CHECK_FALSE(empty_down.has_down);
    CHECK_FALSE(parse_migration("-- migrate:down\n/* a\n; b */\n", "c.sql").has_down);
    // Down first is fine too.
    auto reversed = parse_migration("-- migrate:down\nDROP TABLE a;\n-- migrate:up\nCREATE TABLE "
                                    "a (x integer);\n",
                                    "reversed.sql");
    CHECK(reversed.up == "CREATE TABLE a (x integer);\n");
    CHECK(reversed.has_down);

    CHECK_THROWS_WITH(parse_migration("-- migrate:up\nSELECT 1;\n-- migrate:up\n", "twice.sql"),
                      Catch::Contains("twice.sql") && Catch::Contains("twice"));
    // Transaction control would break "all or nothing"; in strings, comments, dollar-quoted
    // bodies and trigger bodies the same words are fine.
    CHECK_THROWS_WITH(parse_migration("CREATE TABLE a (x integer);\ncommit;\n", "commit.sql"),
                      Catch::Contains("commit.sql") && Catch::Contains("COMMIT"));
    CHECK_THROWS_WITH(
        parse_migration("-- migrate:up\nSELECT 1;\n-- migrate:down\nBEGIN;\n", "b.sql"),
        Catch::Contains("down section") && Catch::Contains("BEGIN"));
    CHECK_THROWS_AS(parse_migration("SAVEPOINT x;", "s.sql"), Error);
    CHECK_NOTHROW(parse_migration("INSERT INTO t VALUES ('a;commit;'); -- commit;\n"
                                  "/* ;rollback; */ SELECT \"x;begin\" FROM t;\n"
                                  "CREATE FUNCTION f() RETURNS void AS $body$ BEGIN COMMIT; END "
                                  "$body$ LANGUAGE plpgsql;\n"
                                  "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = 1; "
                                  "END;\n",
                                  "quoted.sql"));
}

TEST_CASE("migration slugs and migrate create's numbering", "[migrate][versioned]") {
    using m::migrations::create_migration;
    using m::migrations::migration_slug;
    CHECK(migration_slug("Add a Customer index!") == "add_a_customer_index");
    CHECK(migration_slug("  --Backfill   status (v2)-- ") == "backfill_status_v2");
    CHECK(migration_slug("Ünïcode näme") == "n_code_n_me");
    CHECK(migration_slug("!!!").empty());
    CHECK(migration_slug(std::string(80, 'x')).size() == 50);
    CHECK(migration_slug(std::string(49, 'x') + " y") == std::string(49, 'x'));

    Project p;
    const fs::path root = p.dir.path();
    auto first = create_migration(root, "shop", "Backfill status");
    CHECK(first == p.migration("0001_backfill_status.sql"));
    std::string text = m::test::read_file(first);
    CHECK_THAT(text,
               Catch::Contains("\n-- migrate:up\n") && Catch::Contains("\n-- migrate:down\n"));
    auto sections = m::migrations::parse_migration(text, "template");
    CHECK_FALSE(sections.has_down); // the template has no statement yet
    CHECK(create_migration(root, "shop", "second") == p.migration("0002_second.sql"));
    // A database-specific pair shares its number.
    CHECK(create_migration(root, "shop", "gin index", "postgres") ==
          p.migration("0003_gin_index.postgres.sql"));
    CHECK(create_migration(root, "shop", "gin index", "sqlite") ==
          p.migration("0003_gin_index.sqlite.sql"));
    CHECK(create_migration(root, "shop", "gin index", "sqlite") ==
          p.migration("0004_gin_index.sqlite.sql"));

    CHECK_THROWS_WITH(create_migration(root, "nope", "x"), Catch::Contains("app 'nope'"));
    CHECK_THROWS_WITH(create_migration(root, "../shop", "x"), Catch::Contains("app '../shop'"));
    CHECK_THROWS_WITH(create_migration(root, "shop", "?!"), Catch::Contains("'?!'"));
    CHECK_THROWS_WITH(create_migration(root, "shop", "x", "mysql"), Catch::Contains("mysql"));
    CHECK_FALSE(fs::exists(p.migration("0005_x.sql")));
    // "m" names the framework's own migrations in m_migrations.
    m::test::write_file(root / "apps" / "m" / "app.json", "{}\n");
    CHECK_THROWS_WITH(create_migration(root, "m", "x"), Catch::Contains("app 'm'"));
}

TEST_CASE("the plan runs framework migrations, then app migrations, then the sync",
          "[contract][migrate][versioned]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Project p;
            auto t = m::test::make_database(kind, p.dir.path());
            auto reg = registry();
            p.write("0002_second.sql", "CREATE TABLE shop_two (x integer);\n");
            p.write("0001_first.sql", "-- migrate:up\nCREATE TABLE shop_one (x integer);\n"
                                      "-- migrate:down\nDROP TABLE shop_one;\n");
            p.write("0003_other_db.sqlite.sql",
                    kind == "sqlite" ? "SELECT 1;\n" : "THIS IS NOT SQL;\n");
            p.write("0003_other_db.postgres.sql",
                    kind == "postgres" ? "SELECT 1;\n" : "THIS IS NOT SQL;\n");
            p.write("notes.txt", "not a migration\n");
            auto migrator = p.migrator(*t.db, reg);
            auto plan = migrator.plan();
            // The framework's own migrations come first, however many there are.
            std::size_t n = 0;
            for (const auto& mig : m::migrations::system_migrations()) n += kind == mig.dialect;
            auto with_system = [n](std::vector<std::string> rest) {
                std::vector<std::string> out(n, "system");
                out.insert(out.end(), rest.begin(), rest.end());
                return out;
            };
            CHECK(kinds_of(plan) == with_system({"app", "app", "app", "sync"}));
            CHECK(names_of(plan)[1] == "0002_migration_down");
            CHECK(names_of(plan)[n] == "0001_first.sql");
            CHECK(names_of(plan)[n + 1] == "0002_second.sql");
            CHECK(names_of(plan)[n + 2] == "0003_other_db." + kind + ".sql");
            CHECK(plan.changes[n].has_down);
            CHECK_FALSE(plan.changes[n + 1].has_down);
            CHECK(plan.changes[n].sql == std::vector<std::string>{"CREATE TABLE shop_one (x "
                                                                  "integer);\n"});
            // Planning ran nothing (the sync diff is taken in a transaction rolled back).
            CHECK_FALSE(has_table(*t.db, "shop_one"));
            CHECK_FALSE(has_table(*t.db, "m_migrations"));
            // "run" is the versioned part only, "sync" the schema part only.
            CHECK(kinds_of(migrator.plan("run")) == with_system({"app", "app", "app"}));
            CHECK(kinds_of(migrator.plan("sync")) == with_system({"sync"}));

            // Two files with one number (for the same database) are refused, naming both.
            p.write("0002_again.sql", "SELECT 1;\n");
            CHECK_THROWS_WITH(migrator.plan(), Catch::Contains("0002_again.sql") &&
                                                   Catch::Contains("0002_second.sql"));
            fs::remove(p.migration("0002_again.sql"));

            migrator.apply(plan, false);
            CHECK(migrator.plan().empty());
            CHECK(has_table(*t.db, "shop_one"));
            CHECK(scalar(*t.db, "SELECT down_sql FROM m_migrations WHERE app = 'shop' AND "
                                "version = '0001'") == "DROP TABLE shop_one;\n");
            CHECK(scalar(*t.db, "SELECT COUNT(*) FROM m_migrations WHERE app = 'shop' AND "
                                "down_sql IS NULL") == "2");
            // seq numbers every applied migration in the order it ran.
            auto s = t.db->session();
            auto rs = s->query("SELECT app, version, seq FROM m_migrations ORDER BY seq");
            REQUIRE(rs.rows.size() == n + 3);
            CHECK(rs.rows[0][1] == std::optional<std::string>("0001"));
            CHECK(rs.rows[0][0] == std::optional<std::string>("m"));
            CHECK(rs.rows[n][0] == std::optional<std::string>("shop"));
            CHECK(rs.rows[n + 2][1] == std::optional<std::string>("0003"));
            CHECK(rs.rows[n + 2][2] == std::optional<std::string>(std::to_string(n + 3)));
        }
    }
}

TEST_CASE("the sync is planned on the schema the app migrations leave",
          "[contract][migrate][versioned]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Project p;
            auto t = m::test::make_database(kind, p.dir.path());
            auto reg = registry();
            p.migrator(*t.db, reg).apply(p.migrator(*t.db, reg).plan(), false);
            insert_note(*t.db, reg, "kept", 4);

            // Rename qty to quantity: without the migration the sync would drop qty (and its
            // data) and add quantity; with it, there is nothing left to sync.
            auto j = nlohmann::json::parse(k_note);
            j["fields"][1]["name"] = "quantity";
            auto reg2 = registry({j.dump()});
            p.write("0001_rename_qty.sql",
                    "-- migrate:up\nALTER TABLE note RENAME COLUMN qty TO quantity;\n"
                    "-- migrate:down\nALTER TABLE note RENAME COLUMN quantity TO qty;\n");
            auto migrator = p.migrator(*t.db, reg2);
            auto plan = migrator.plan();
            CHECK(kinds_of(plan) == std::vector<std::string>{"app"});
            CHECK_FALSE(plan.has_breaking());
            CHECK(has_column(*t.db, "note", "qty")); // planning changed nothing
            migrator.apply(plan, false);
            CHECK(migrator.plan().empty());
            CHECK(scalar(*t.db, "SELECT quantity FROM note") == "4");
            // Without the migration file the same metadata is a BREAKING change.
            fs::remove(p.migration("0001_rename_qty.sql"));
            auto m1 = p.migrator(*t.db, reg);
            CHECK(m1.plan().has_breaking());
        }
    }
}

TEST_CASE("rollback of 2 steps restores the previous schema and rows",
          "[contract][migrate][versioned]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Project p;
            auto t = m::test::make_database(kind, p.dir.path());
            auto reg = registry();
            p.migrator(*t.db, reg).apply(p.migrator(*t.db, reg).plan(), false);
            insert_note(*t.db, reg, "a", 1);
            insert_note(*t.db, reg, "b", 2);

            p.write("0001_audit_log.sql",
                    "-- migrate:up\nCREATE TABLE audit_log (msg varchar(100));\n"
                    "INSERT INTO audit_log (msg) VALUES ('created');\n"
                    "-- migrate:down\nDROP TABLE audit_log;\n");
            p.write("0002_audit_level.sql",
                    "-- migrate:up\nALTER TABLE audit_log ADD COLUMN level integer;\n"
                    "UPDATE audit_log SET level = 3;\n"
                    "-- migrate:down\nALTER TABLE audit_log DROP COLUMN level;\n");
            p.write("0003_bump_qty.sql", "-- migrate:up\nUPDATE note SET qty = qty + 10;\n"
                                         "INSERT INTO audit_log (msg, level) VALUES ('bump', 1);\n"
                                         "-- migrate:down\nUPDATE note SET qty = qty - 10;\n"
                                         "DELETE FROM audit_log WHERE msg = 'bump';\n");
            auto migrator = p.migrator(*t.db, reg);
            migrator.apply(migrator.plan(), false);
            CHECK(scalar(*t.db, "SELECT SUM(qty) FROM note") == "23");
            CHECK(scalar(*t.db, "SELECT COUNT(*) FROM audit_log") == "2");
            CHECK(has_column(*t.db, "audit_log", "level"));

            // Only app migrations count: "other" has none.
            CHECK(migrator.plan_rollback(5, "other").empty());
            auto rollback = migrator.plan_rollback(2);
            CHECK(names_of(rollback) ==
                  std::vector<std::string>{"0003_bump_qty.sql", "0002_audit_level.sql"});
            CHECK(rollback.changes[0].action == "rollback_migration");
            migrator.apply(rollback, false);
            CHECK(scalar(*t.db, "SELECT SUM(qty) FROM note") == "3");
            CHECK(scalar(*t.db, "SELECT COUNT(*) FROM audit_log") == "1");
            CHECK_FALSE(has_column(*t.db, "audit_log", "level"));
            CHECK(scalar(*t.db, "SELECT COUNT(*) FROM m_migrations WHERE app = 'shop'") == "1");
            auto history = migrator.history();
            REQUIRE(history.size() >= 2);
            CHECK(history[0].action == "rollback_migration");
            CHECK(history[0].kind == "versioned");
            CHECK(history[0].subject == "shop");
            // Rolled back means pending again.
            CHECK(names_of(migrator.plan()) ==
                  std::vector<std::string>{"0002_audit_level.sql", "0003_bump_qty.sql"});

            // The down SQL was stored: the rollback works without the file, never touches the
            // framework's migrations, and stops when there is nothing left.
            fs::remove(p.migration("0001_audit_log.sql"));
            fs::remove(p.migration("0002_audit_level.sql"));
            fs::remove(p.migration("0003_bump_qty.sql"));
            auto rest = migrator.plan_rollback(10, "shop");
            CHECK(names_of(rest) == std::vector<std::string>{"0001_audit_log.sql"});
            migrator.apply(rest, false);
            CHECK_FALSE(has_table(*t.db, "audit_log"));
            CHECK(migrator.plan_rollback(10).empty());
            CHECK(scalar(*t.db, "SELECT COUNT(*) FROM m_migrations WHERE app = 'm'") ==
                  std::to_string(system_count(kind)));
            CHECK(migrator.plan().empty());
        }
    }
}

TEST_CASE("rollback stops at a migration without a down section and undoes nothing",
          "[contract][migrate][versioned][bad-input]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Project p;
            auto t = m::test::make_database(kind, p.dir.path());
            auto reg = registry();
            p.write("0001_one.sql", "-- migrate:up\nCREATE TABLE one_t (x integer);\n"
                                    "-- migrate:down\nDROP TABLE one_t;\n");
            p.write("0002_two.sql", "-- migrate:up\nCREATE TABLE two_t (x integer);\n"
                                    "-- migrate:down\n-- only a comment\n");
            p.write("0003_three.sql", "-- migrate:up\nCREATE TABLE three_t (x integer);\n"
                                      "-- migrate:down\nDROP TABLE three_t;\n");
            auto migrator = p.migrator(*t.db, reg);
            migrator.apply(migrator.plan(), false);

            try {
                migrator.plan_rollback(3);
                FAIL("rollback past a migration without down accepted");
            } catch (const Error& e) {
                CHECK(e.kind() == ErrorKind::validation);
                CHECK_THAT(std::string(e.what()), Catch::Contains("0002_two.sql") &&
                                                      Catch::Contains("down section") &&
                                                      Catch::Contains("nothing was rolled back"));
            }
            CHECK(has_table(*t.db, "three_t"));
            CHECK(has_table(*t.db, "one_t"));
            CHECK(scalar(*t.db, "SELECT COUNT(*) FROM m_migrations WHERE app = 'shop'") == "3");
            // One step is fine: the newest has a down section.
            migrator.apply(migrator.plan_rollback(1), false);
            CHECK_FALSE(has_table(*t.db, "three_t"));
            CHECK_THROWS_WITH(migrator.plan_rollback(1), Catch::Contains("0002_two.sql"));
            CHECK(has_table(*t.db, "two_t"));

            // A down section that fails rolls back nothing either.
            p.write("0003_three.sql", "-- migrate:up\nCREATE TABLE three_t (x integer);\n"
                                      "-- migrate:down\nDROP TABLE three_t;\nDROP TABLE nope_t;\n");
            migrator.apply(migrator.plan(), false);
            CHECK_THROWS_WITH(migrator.apply(migrator.plan_rollback(1), false),
                              Catch::Contains("0003_three.sql") &&
                                  Catch::Contains("nothing was rolled back"));
            CHECK(has_table(*t.db, "three_t"));
            CHECK(scalar(*t.db, "SELECT COUNT(*) FROM m_migrations WHERE app = 'shop'") == "3");
        }
    }
}

TEST_CASE("a migration file with an SQL error leaves nothing of it applied",
          "[contract][migrate][versioned][bad-input]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Project p;
            auto t = m::test::make_database(kind, p.dir.path());
            auto reg = registry();
            p.migrator(*t.db, reg).apply(p.migrator(*t.db, reg).plan(), false);
            insert_note(*t.db, reg, "a", 1);

            // A new DocType to sync, a good migration, then one that fails in its middle.
            auto reg2 = registry({k_note, k_extra});
            p.write("0001_good.sql", "CREATE TABLE good_t (x integer);\n");
            p.write("0002_bad.sql", "-- migrate:up\nCREATE TABLE side_a (x integer);\n"
                                    "INSERT INTO side_a (x) VALUES (1);\n"
                                    "UPDATE note SET qty = 99;\n"
                                    "THIS IS NOT SQL;\n"
                                    "CREATE TABLE side_b (x integer);\n"
                                    "-- migrate:down\nDROP TABLE side_a;\n");
            auto migrator = p.migrator(*t.db, reg2);
            auto plan = migrator.plan();
            CHECK(kinds_of(plan) == std::vector<std::string>{"app", "app", "sync"});
            try {
                migrator.apply(plan, false);
                FAIL("a broken migration was applied");
            } catch (const Error& e) {
                CHECK(e.kind() == ErrorKind::validation);
                CHECK_THAT(std::string(e.what()), Catch::Contains("0002_bad.sql") &&
                                                      Catch::Contains("nothing was applied"));
            }
            for (const char* table : {"side_a", "side_b", "good_t", "extra"}) {
                INFO(table);
                CHECK_FALSE(has_table(*t.db, table));
            }
            CHECK(scalar(*t.db, "SELECT qty FROM note") == "1");
            CHECK(scalar(*t.db, "SELECT COUNT(*) FROM m_migrations WHERE app = 'shop'") == "0");
            CHECK(kinds_of(migrator.plan()) == std::vector<std::string>{"app", "app", "sync"});

            // Transaction control in a file is refused before anything runs.
            p.write("0002_bad.sql",
                    "CREATE TABLE side_a (x integer);\nCOMMIT;\nTHIS IS NOT SQL;\n");
            CHECK_THROWS_WITH(migrator.plan(),
                              Catch::Contains("0002_bad.sql") && Catch::Contains("COMMIT"));
            CHECK_FALSE(has_table(*t.db, "side_a"));

            // Fixed, the whole run lands once.
            p.write("0002_bad.sql", "CREATE TABLE side_a (x integer);\n");
            migrator.apply(migrator.plan(), false);
            CHECK(has_table(*t.db, "side_a"));
            CHECK(has_table(*t.db, "extra"));
            CHECK(migrator.plan().empty());
        }
    }
}

TEST_CASE("verify reports schema, checksum and orphan-table drift",
          "[contract][migrate][versioned]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Project p;
            auto t = m::test::make_database(kind, p.dir.path());
            auto reg = registry({k_note, k_extra});
            p.write("0001_one.sql", "-- migrate:up\nCREATE TABLE one_t (x integer);\n"
                                    "-- migrate:down\nDROP TABLE one_t;\n");
            auto migrator = p.migrator(*t.db, reg);
            auto fresh = migrator.verify();
            CHECK(std::count_if(fresh.begin(), fresh.end(), [](const auto& d) {
                      return d.kind == "pending_migration";
                  }) == static_cast<std::ptrdiff_t>(system_count(kind) + 1));
            CHECK(std::count_if(fresh.begin(), fresh.end(),
                                [](const auto& d) { return d.kind == "schema"; }) == 2);
            migrator.apply(migrator.plan(), false);
            CHECK(migrator.verify().empty());

            // The file of an applied migration changed, then is gone.
            p.write("0001_one.sql", "-- migrate:up\nCREATE TABLE one_t (x integer, y integer);\n");
            auto changed = migrator.verify();
            REQUIRE(changed.size() == 1);
            CHECK(changed[0].kind == "checksum");
            CHECK(changed[0].subject == "shop/0001_one.sql");
            CHECK_THAT(changed[0].detail, Catch::Contains("changed"));
            fs::remove(p.migration("0001_one.sql"));
            auto missing = migrator.verify();
            REQUIRE(missing.size() == 1);
            CHECK_THAT(missing[0].detail, Catch::Contains("missing"));
            p.write("0001_one.sql", "-- migrate:up\nCREATE TABLE one_t (x integer);\n"
                                    "-- migrate:down\nDROP TABLE one_t;\n");
            CHECK(migrator.verify().empty());

            // Metadata ahead of the schema, and a DocType whose doctype.json is gone.
            auto j = nlohmann::json::parse(k_note);
            j["fields"].push_back({{"name", "extra_field"}, {"type", "int"}});
            auto reg2 = registry({j.dump()});
            auto drifted = p.migrator(*t.db, reg2).verify();
            REQUIRE(drifted.size() == 2);
            std::sort(drifted.begin(), drifted.end(),
                      [](const auto& a, const auto& b) { return a.kind < b.kind; });
            CHECK(drifted[0].kind == "orphan_table");
            CHECK(drifted[0].subject == "extra");
            CHECK(drifted[1].kind == "schema");
            CHECK(drifted[1].subject == "Note");
            CHECK_THAT(drifted[1].detail, Catch::Contains("extra_field"));
            CHECK(drifted[1].to_json().at("kind") == "schema");
            // Tables of hand-written migrations (one_t) are not DocType tables.
            CHECK(has_table(*t.db, "one_t"));
        }
    }
}

TEST_CASE("a database from before framework migration 0002 is numbered and keeps working",
          "[contract][migrate][versioned]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Project p;
            auto t = m::test::make_database(kind, p.dir.path());
            auto reg = registry();
            {
                // What an `m` without 0002 left behind: 0001 and an applied app migration.
                auto s = t.db->session();
                for (const auto& mig : m::migrations::system_migrations()) {
                    if (mig.dialect == kind && std::string(mig.name) == "0001_system")
                        s->execute_script(mig.sql);
                }
                s->execute_script(
                    "CREATE TABLE old_t (x integer);"
                    "INSERT INTO m_migrations (app, version, name, checksum, applied_at) VALUES "
                    "('m', '0001', '0001_system', 'x', '2026-01-01 00:00:00'),"
                    "('shop', '0001', '0001_old.sql', 'y', '2026-01-02 00:00:00')");
            }
            auto migrator = p.migrator(*t.db, reg);
            auto plan = migrator.plan("run");
            REQUIRE(names_of(plan).size() == system_count(kind) - 1); // 0002 onwards
            REQUIRE(names_of(plan)[0] == "0002_migration_down");
            CHECK_THROWS_WITH(migrator.plan_rollback(1), Catch::Contains("0001_old.sql"));
            migrator.apply(plan, false);
            CHECK(scalar(*t.db, "SELECT seq FROM m_migrations WHERE app = 'shop'") == "2");
            CHECK(scalar(*t.db, "SELECT seq FROM m_migrations WHERE version = '0002'") == "3");
            CHECK_THROWS_WITH(migrator.plan_rollback(1),
                              Catch::Contains("0001_old.sql") &&
                                  Catch::Contains("without a down section"));
        }
    }
}
