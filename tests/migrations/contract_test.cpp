// The repository/migration contract: the same cases on SQLite and on a real PostgreSQL.
#include "m/core/doctype_loader.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"
#include "m/migrations/migrator.hpp"
#include "m/migrations/system_sql.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <thread>
#include <vector>

using m::core::Error;
using m::core::ErrorKind;
using m::core::Json;
using m::migrations::Migrator;
using m::migrations::Risk;

namespace {

const char* k_all_types = R"({
    "name": "Sample",
    "naming_rule": "field:code",
    "fields": [
        {"name": "code", "type": "data", "required": true},
        {"name": "body", "type": "text"},
        {"name": "qty", "type": "int", "min": 0},
        {"name": "ratio", "type": "float"},
        {"name": "amount", "type": "decimal"},
        {"name": "active", "type": "check", "default": true},
        {"name": "day", "type": "date"},
        {"name": "at", "type": "datetime"},
        {"name": "clock", "type": "time"},
        {"name": "ref", "type": "uuid"},
        {"name": "meta", "type": "json"},
        {"name": "status", "type": "select", "options": ["Open", "Closed"]},
        {"name": "email", "type": "data", "unique": true},
        {"name": "secret", "type": "password"},
        {"name": "parent_sample", "type": "link", "options": "Sample"},
        {"name": "lines", "type": "table", "options": "Sample Line"}
    ],
    "indexes": [{"fields": ["status", "day"]}]
})";

const char* k_line = R"({
    "name": "Sample Line",
    "is_child_table": true,
    "fields": [{"name": "item", "type": "data", "required": true}, {"name": "qty", "type": "int"}]
})";

/// How many framework migrations a fresh database of `dialect` gets.
std::size_t framework_migrations(const std::string& dialect) {
    std::size_t n = 0;
    for (const auto& mig : m::migrations::system_migrations()) n += dialect == mig.dialect;
    return n;
}

m::core::MetaRegistry registry(const std::string& sample = k_all_types) {
    m::core::MetaRegistry reg;
    reg.add(m::core::parse_doctype(nlohmann::json::parse(sample), "sample.json", "test"));
    reg.add(m::core::parse_doctype(nlohmann::json::parse(k_line), "line.json", "test"));
    reg.check_references();
    return reg;
}

void migrate(m::core::Database& db, const m::core::MetaRegistry& reg, bool force = false) {
    Migrator migrator(db, reg, std::filesystem::temp_directory_path(), {});
    migrator.apply(migrator.plan(), force);
}

Json insert(m::core::Database& db, const m::core::MetaRegistry& reg, const Json& doc) {
    m::core::DocumentService svc(reg, db);
    auto s = db.session();
    m::core::UnitOfWork uow(*s);
    Json saved = svc.insert(*s, "Sample", doc, m::test::acting("tester"));
    uow.commit();
    return saved;
}

long long count_where(m::core::Database& db, const m::core::MetaRegistry& reg,
                      const std::string& filters) {
    m::core::DocumentService svc(reg, db);
    auto s = db.session();
    m::core::ListQuery q;
    q.filters = m::core::parse_filters_text(reg.get("Sample"), filters);
    q.limit = 1000;
    return *svc.list(*s, "Sample", q, m::test::sys()).total;
}

} // namespace

TEST_CASE("migrate creates every table, then has nothing to do", "[contract][migrate]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            m::test::TempDir dir;
            auto t = m::test::make_database(kind, dir.path());
            auto reg = registry();
            Migrator migrator(*t.db, reg, dir.path(), {});
            CHECK_FALSE(migrator.initialized());
            auto plan = migrator.plan();
            const std::size_t expected = framework_migrations(kind) + 2; // + 2 DocTypes
            REQUIRE(plan.changes.size() == expected);
            for (std::size_t i = 0; i + 2 < expected; ++i) CHECK(plan.changes[i].kind == "system");
            CHECK(plan.changes[expected - 2].action == "create_table");
            CHECK_FALSE(plan.has_breaking());
            // --plan changes nothing.
            CHECK(migrator.plan().changes.size() == expected);
            migrator.apply(plan, false);
            CHECK(migrator.initialized());
            CHECK(migrator.plan().empty());
            auto history = migrator.history();
            CHECK(history.size() == expected);
            auto s = t.db->session();
            auto table = t.db->dialect().describe_table(*s, "sample");
            REQUIRE(table);
            CHECK(table->columns.size() == 7 + 15); // 16 fields, one of them a table
            bool has_unique_email = false;
            for (const auto& idx : table->indexes) {
                if (idx.columns == std::vector<std::string>{"email"} && idx.unique)
                    has_unique_email = true;
            }
            CHECK(has_unique_email);
        }
    }
}

TEST_CASE("every field type round-trips through the repository", "[contract][repository]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            m::test::TempDir dir;
            auto t = m::test::make_database(kind, dir.path());
            auto reg = registry();
            migrate(*t.db, reg);
            Json doc = Json::parse(R"({
                "code": "S-1", "body": "long text ✓", "qty": 7, "ratio": 0.25, "amount": 1234.5,
                "active": false, "day": "2026-02-28", "at": "2026-02-28T10:11:12.5Z",
                "clock": "08:30:00", "ref": "6f9619ff-8b86-4011-b42d-00c04fc964ff",
                "meta": {"tags": ["a", "b"], "n": 1}, "status": "Open", "email": "a@x.test",
                "secret": "hunter2-hunter2", "lines": [{"item": "A", "qty": 1}, {"item": "B", "qty": 2}]
            })");
            Json saved = insert(*t.db, reg, doc);
            CHECK(saved["name"] == "S-1");
            CHECK_FALSE(saved.contains("secret"));
            m::core::DocumentService svc(reg, *t.db);
            auto s = t.db->session();
            Json got = svc.get(*s, "Sample", "S-1", m::test::sys());
            for (const char* key : {"code", "body", "qty", "ratio", "amount", "active", "day",
                                    "clock", "ref", "meta", "status", "email"}) {
                INFO(key);
                // Compared as unordered JSON: PostgreSQL's jsonb does not keep key order.
                CHECK(nlohmann::json::parse(got[key].dump()) ==
                      nlohmann::json::parse(doc[key].dump()));
            }
            CHECK(got["at"] == "2026-02-28 10:11:12.500000");
            CHECK_FALSE(got.contains("secret"));
            REQUIRE(got["lines"].size() == 2);
            CHECK(got["lines"][0]["item"] == "A");
            CHECK(got["lines"][1]["idx"] == 2);
            CHECK(got["lines"][0]["parent_id"] == got["id"]);
            CHECK(svc.get(*s, "Sample", got["id"].get<std::string>(), m::test::sys())["name"] ==
                  "S-1");
            // The stored password is a hash, never the clear text.
            auto raw = s->query("SELECT secret FROM sample");
            REQUIRE(raw.rows[0][0]);
            CHECK(raw.rows[0][0]->rfind("$argon2id$", 0) == 0);
        }
    }
}

TEST_CASE("filters of every operator select the right rows", "[contract][repository]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            m::test::TempDir dir;
            auto t = m::test::make_database(kind, dir.path());
            auto reg = registry();
            migrate(*t.db, reg);
            for (int i = 1; i <= 5; ++i) {
                Json d = {{"code", "C" + std::to_string(i)},
                          {"qty", i},
                          {"amount", i * 10.5},
                          {"status", i % 2 ? "Open" : "Closed"},
                          {"day", "2026-01-0" + std::to_string(i)}};
                if (i == 5) d["qty"] = nullptr;
                insert(*t.db, reg, d);
            }
            CHECK(count_where(*t.db, reg, R"([["qty","=",2]])") == 1);
            CHECK(count_where(*t.db, reg, R"([["qty","!=",2]])") == 4); // NULL counts as "not 2"
            CHECK(count_where(*t.db, reg, R"([["qty","<",3]])") == 2);
            CHECK(count_where(*t.db, reg, R"([["qty","<=",3]])") == 3);
            CHECK(count_where(*t.db, reg, R"([["amount",">",30]])") == 3);
            CHECK(count_where(*t.db, reg, R"([["amount",">=",42]])") == 2);
            CHECK(count_where(*t.db, reg, R"([["code","in",["C1","C3","X"]]])") == 2);
            CHECK(count_where(*t.db, reg, R"([["code","not_in",["C1","C3"]]])") == 3);
            CHECK(count_where(*t.db, reg, R"([["code","like","c%"]])") == 5); // case-insensitive
            CHECK(count_where(*t.db, reg, R"([["code","not_like","%1"]])") == 4);
            CHECK(count_where(*t.db, reg, R"([["qty","is_null",null]])") == 1);
            CHECK(count_where(*t.db, reg, R"([{"field":"qty","operator":"is_not_null"}])") == 4);
            CHECK(count_where(*t.db, reg, R"([["day","between",["2026-01-02","2026-01-04"]]])") ==
                  3);
            CHECK(count_where(*t.db, reg, R"([["status","=","Open"],["qty",">",1]])") == 1);
            CHECK(count_where(*t.db, reg, R"([["qty","like","%2%"]])") == 1); // LIKE on a number

            m::core::DocumentService svc(reg, *t.db);
            auto s = t.db->session();
            m::core::ListQuery q;
            q.order_by = m::core::parse_order_by(reg.get("Sample"), "-amount");
            q.fields = m::core::parse_fields(reg.get("Sample"), "code,amount");
            q.limit = 2;
            q.offset = 1;
            auto page = svc.list(*s, "Sample", q, m::test::sys());
            REQUIRE(page.items.size() == 2);
            CHECK(page.items[0]["code"] == "C4");
            CHECK(page.items[1]["code"] == "C3");
            CHECK(*page.total == 5);
            CHECK(page.has_more);
            CHECK_FALSE(page.items[0].contains("qty"));
            auto none = svc.list(*s, "Sample", q, m::test::sys(), m::core::CountMode::none);
            CHECK_FALSE(none.total.has_value());
            CHECK(none.has_more);
            q.offset = 3;
            CHECK_FALSE(
                svc.list(*s, "Sample", q, m::test::sys(), m::core::CountMode::none).has_more);
        }
    }
}

TEST_CASE("document rules: unique, required, optimistic concurrency, children",
          "[contract][documents]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            m::test::TempDir dir;
            auto t = m::test::make_database(kind, dir.path());
            auto reg = registry();
            migrate(*t.db, reg);
            Json first = insert(*t.db, reg, Json{{"code", "A"}, {"email", "same@x.test"}});
            try {
                insert(*t.db, reg, Json{{"code", "B"}, {"email", "same@x.test"}});
                FAIL("duplicate unique value accepted");
            } catch (const Error& e) {
                CHECK(e.kind() == ErrorKind::conflict);
                CHECK_THAT(std::string(e.what()), Catch::Contains("field 'email'"));
            }
            CHECK_THROWS_WITH(insert(*t.db, reg, Json{{"code", "A"}}),
                              Catch::Contains("named 'A' already exists"));
            try {
                insert(*t.db, reg, Json{{"qty", "abc"}, {"nope", 1}, {"status", "Maybe"}});
                FAIL("invalid document accepted");
            } catch (const Error& e) {
                CHECK(e.kind() == ErrorKind::validation);
                std::string msg = e.what();
                // All errors of one document are reported together.
                CHECK_THAT(msg, Catch::Contains("unknown field 'nope'"));
                CHECK_THAT(msg, Catch::Contains("field 'qty': expected an integer"));
                CHECK_THAT(msg, Catch::Contains("'Maybe' is not one of Open, Closed"));
                CHECK_THAT(msg, Catch::Contains("field 'code' is required"));
                CHECK(e.details().size() == 4);
            }
            CHECK_THROWS_WITH(
                insert(*t.db, reg,
                       Json{{"code", "Z"}, {"lines", Json::parse(R"([{"qty": "x"}])")}}),
                Catch::Contains("field 'lines' row 1: field 'qty'"));
            CHECK(count_where(*t.db, reg, "") == 1);

            m::core::DocumentService svc(reg, *t.db);
            auto s = t.db->session();
            Json stale = first["modified"];
            {
                m::core::UnitOfWork uow(*s);
                Json updated =
                    svc.update(*s, "Sample", "A",
                               Json{{"qty", 5},
                                    {"modified", stale},
                                    {"lines", Json::parse(R"([{"item":"x"},{"item":"y"}])")}},
                               m::test::acting("tester"));
                CHECK(updated["qty"] == 5);
                uow.commit();
            }
            CHECK(svc.get(*s, "Sample", "A", m::test::sys())["lines"].size() == 2);
            {
                m::core::UnitOfWork uow(*s);
                try {
                    svc.update(*s, "Sample", "A",
                               Json{{"qty", 6}, {"modified", "2000-01-01 00:00:00"}},
                               m::test::acting("t"));
                    FAIL("stale update accepted");
                } catch (const Error& e) {
                    CHECK(e.kind() == ErrorKind::conflict);
                }
            }
            CHECK(svc.get(*s, "Sample", "A", m::test::sys())["qty"] == 5);
            {
                m::core::UnitOfWork uow(*s);
                svc.update(*s, "Sample", "A",
                           Json{{"lines", Json::array({Json{{"item", "only"}}})}},
                           m::test::acting("t"));
                uow.commit();
            }
            auto lines = svc.get(*s, "Sample", "A", m::test::sys())["lines"];
            REQUIRE(lines.size() == 1);
            CHECK(lines[0]["item"] == "only");
            {
                m::core::UnitOfWork uow(*s);
                svc.remove(*s, "Sample", "A", m::test::acting("t"));
                uow.commit();
            }
            CHECK_THROWS_WITH(svc.get(*s, "Sample", "A", m::test::sys()), "Sample 'A' not found");
            auto orphans = s->query("SELECT COUNT(*) FROM sample_line");
            CHECK(orphans.rows[0][0] == std::optional<std::string>("0"));
        }
    }
}

TEST_CASE("schema changes: add is SAFE, drop and retype need --force and keep data",
          "[contract][migrate]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            m::test::TempDir dir;
            auto t = m::test::make_database(kind, dir.path());
            auto reg = registry();
            migrate(*t.db, reg);
            insert(*t.db, reg, Json{{"code", "K"}, {"qty", 3}, {"body", "keep me"}});

            auto j = nlohmann::json::parse(k_all_types);
            j["fields"].push_back({{"name", "extra"}, {"type", "int"}});
            j["fields"].push_back({{"name", "tag"}, {"type", "data"}, {"unique", true}});
            auto reg2 = registry(j.dump());
            Migrator m2(*t.db, reg2, dir.path(), {});
            auto plan = m2.plan();
            REQUIRE(plan.changes.size() == 3);
            CHECK(plan.changes[0].action == "add_column");
            CHECK(plan.changes[0].risk == Risk::safe);
            CHECK(plan.changes[2].risk == Risk::warning); // unique index
            m2.apply(plan, false);
            CHECK(m2.plan().empty());

            // Remove `body`, change `qty` to decimal: BREAKING.
            auto j3 = j;
            auto& fields = j3["fields"];
            fields.erase(1);
            fields[1]["type"] = "decimal";
            auto reg3 = registry(j3.dump());
            Migrator m3(*t.db, reg3, dir.path(), {});
            auto plan3 = m3.plan();
            CHECK(plan3.has_breaking());
            CHECK_THROWS_WITH(m3.apply(plan3, false), Catch::Contains("without --force"));
            CHECK_FALSE(m3.plan().empty());
            m3.apply(plan3, true);
            CHECK(m3.plan().empty());
            m::core::DocumentService svc(reg3, *t.db);
            auto s = t.db->session();
            auto got = svc.get(*s, "Sample", "K", m::test::sys());
            CHECK(got["qty"] == 3);
            CHECK_FALSE(got.contains("body"));
        }
    }
}

TEST_CASE("a failed migration leaves the schema as it was", "[contract][migrate][bad-input]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            m::test::TempDir dir;
            auto t = m::test::make_database(kind, dir.path());
            auto reg = registry();
            Migrator migrator(*t.db, reg, dir.path(), {});
            auto plan = migrator.plan();
            m::migrations::Change bad;
            bad.kind = "sync";
            bad.doctype = "Broken";
            bad.action = "add_column";
            bad.description = "a statement that fails";
            bad.sql = {"ALTER TABLE no_such_table ADD COLUMN x integer"};
            plan.changes.push_back(bad);
            CHECK_THROWS_WITH(migrator.apply(plan, false), Catch::Contains("nothing was applied"));
            auto s = t.db->session();
            CHECK_FALSE(t.db->dialect().describe_table(*s, "sample"));
            CHECK_FALSE(t.db->dialect().describe_table(*s, "m_migrations"));
            CHECK(migrator.plan().changes.size() == framework_migrations(kind) + 2);
        }
    }
}

TEST_CASE("naming rules: uuid, autoincrement, series, prompt", "[contract][documents]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            m::test::TempDir dir;
            auto t = m::test::make_database(kind, dir.path());
            m::core::MetaRegistry reg;
            for (const char* rule : {"uuid", "autoincrement", "series:T-.YYYY.-.###", "prompt"}) {
                std::string name = std::string("Named ") + (rule[0] == 's'   ? "Series"
                                                            : rule[0] == 'u' ? "Uuid"
                                                            : rule[0] == 'a' ? "Auto"
                                                                             : "Prompt");
                reg.add(m::core::parse_doctype(
                    nlohmann::json{{"name", name},
                                   {"naming_rule", rule},
                                   {"fields", {{{"name", "x"}, {"type", "data"}}}}},
                    name, "t"));
            }
            migrate(*t.db, reg);
            m::core::DocumentService svc(reg, *t.db);
            auto s = t.db->session();
            m::core::UnitOfWork uow(*s);
            auto u = svc.insert(*s, "Named Uuid", Json::object(), m::test::acting("t"));
            CHECK(u["name"] == u["id"]);
            CHECK(svc.insert(*s, "Named Auto", Json::object(), m::test::acting("t"))["name"] ==
                  "1");
            CHECK(svc.insert(*s, "Named Auto", Json::object(), m::test::acting("t"))["name"] ==
                  "2");
            auto series =
                svc.insert(*s, "Named Series", Json::object(), m::test::acting("t"))["name"]
                    .get<std::string>();
            CHECK(series.size() == std::string("T-2026-001").size());
            CHECK(series.substr(0, 2) == "T-");
            CHECK(series.substr(series.size() - 4) == "-001");
            CHECK_THROWS_WITH(svc.insert(*s, "Named Prompt", Json::object(), m::test::acting("t")),
                              Catch::Contains("'name' is required"));
            CHECK(svc.insert(*s, "Named Prompt", Json{{"name", "chosen"}},
                             m::test::acting("t"))["name"] == "chosen");
            uow.commit();
        }
    }
}

TEST_CASE("naming rules: 8 concurrent writers on one series get distinct names and no error",
          "[contract][documents]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            m::test::TempDir dir;
            auto t = m::test::make_database(kind, dir.path());
            m::core::MetaRegistry reg;
            reg.add(m::core::parse_doctype(
                nlohmann::json{{"name", "Ticket"},
                               {"naming_rule", "series:TK-.#####"},
                               {"fields", {{{"name", "x"}, {"type", "data"}, {"unique", true}}}}},
                "Ticket", "t"));
            migrate(*t.db, reg);
            m::core::DocumentService svc(reg, *t.db);
            constexpr int k_writers = 8;
            constexpr int k_each = 25;
            std::vector<std::vector<std::string>> names(k_writers);
            std::vector<std::string> errors(k_writers);
            std::vector<std::thread> writers;
            for (int w = 0; w < k_writers; ++w) {
                writers.emplace_back([&, w] {
                    try {
                        for (int i = 0; i < k_each; ++i) {
                            auto s = t.db->session();
                            m::core::UnitOfWork uow(*s);
                            auto doc =
                                svc.insert(*s, "Ticket",
                                           Json{{"x", std::to_string(w) + "-" + std::to_string(i)}},
                                           m::test::acting("t"));
                            uow.commit();
                            names[static_cast<std::size_t>(w)].push_back(
                                doc["name"].get<std::string>());
                        }
                    } catch (const std::exception& e) {
                        errors[static_cast<std::size_t>(w)] = e.what();
                    }
                });
            }
            for (auto& th : writers) th.join();
            std::set<std::string> distinct;
            for (int w = 0; w < k_writers; ++w) {
                INFO("writer " << w);
                CHECK(errors[static_cast<std::size_t>(w)].empty());
                CHECK(names[static_cast<std::size_t>(w)].size() == k_each);
                distinct.insert(names[static_cast<std::size_t>(w)].begin(),
                                names[static_cast<std::size_t>(w)].end());
            }
            CHECK(distinct.size() == k_writers * k_each);
            CHECK(distinct.count("TK-00001") == 1);
            CHECK(distinct.count("TK-00200") == 1);
        }
    }
}
