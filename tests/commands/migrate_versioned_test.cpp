// Black-box tests of versioned migrations (issue 3): `m migrate create`, the order of `m migrate`
// (versioned migrations, then the sync), `m migrate rollback` and `m migrate verify`, run with the
// built `m` in temp projects on every database kind.
#include "project_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace m::test;

namespace {

/// `m new app billing` and a Customer DocType written by hand: metadata only, so the app has no
/// C++ to build and these tests need no compiler.
void add_customer(const Project& p) {
    REQUIRE_EXIT(p.m({"new", "app", "billing"}), 0);
    write_file(p.doctype_file("billing", "customer"), R"({
  "name": "Customer",
  "module": "billing",
  "fields": [
    {"name": "customer_name", "type": "data", "in_list_view": true},
    {"name": "email", "type": "data"},
    {"name": "credit_limit", "type": "decimal"}
  ]
})");
}

fs::path migration_file(const Project& p, const std::string& name) {
    return p.root() / "apps" / "billing" / "migrations" / name;
}

/// `m migrate create MESSAGE --app billing` and the path it printed (checked to exist).
fs::path create(const Project& p, const std::string& message) {
    auto r = p.m({"--json", "migrate", "create", message, "--app", "billing"});
    REQUIRE_EXIT(r, 0);
    fs::path path = parse_json(r.out).at("path").get<std::string>();
    REQUIRE(fs::is_regular_file(path));
    return path;
}

/// The first document of `m doc list DOCTYPE --json`, fully loaded.
json only_doc(const Project& p, const std::string& doctype) {
    auto r = p.m({"doc", "list", doctype, "--json"});
    REQUIRE_EXIT(r, 0);
    json j = parse_json(r.out);
    REQUIRE(j.at("items").size() == 1);
    auto get =
        p.m({"doc", "get", doctype, j.at("items")[0].at("name").get<std::string>(), "--json"});
    REQUIRE_EXIT(get, 0);
    return parse_json(get.out);
}

/// Names of the pending versioned migrations in `m migrate status --json`.
std::vector<std::string> pending_migrations(const Project& p) {
    std::vector<std::string> out;
    const json status = p.status(); // kept: a range over a temporary's member would dangle
    for (const auto& c : status.at("migrations")) {
        if (c.contains("migration")) out.push_back(c.at("migration").get<std::string>());
    }
    return out;
}

} // namespace

TEST_CASE("migrate create, migrate and rollback: the versioned flow of the issue",
          "[commands][migrate][versioned]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        add_customer(p);
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"doc", "insert", "Customer", "--data", R"({"customer_name":"Acme"})"}),
                     0);

        // create: numbered templates with both sections, the path printed.
        auto first = p.m({"migrate", "create", "Add audit log", "--app", "billing"});
        REQUIRE_EXIT(first, 0);
        const fs::path one = migration_file(p, "0001_add_audit_log.sql");
        REQUIRE(fs::is_regular_file(one));
        CHECK(contains(first.out, one.filename().string()));
        std::string text = read_file(one);
        CHECK(contains(text, "\n-- migrate:up\n"));
        CHECK(contains(text, "\n-- migrate:down\n"));
        CHECK(text.find("-- migrate:up") < text.find("-- migrate:down"));
        const fs::path two = create(p, "Fill e-mail!");
        CHECK(two.filename() == "0002_fill_e_mail.sql");

        write_file(one, "-- migrate:up\nCREATE TABLE audit_log (msg varchar(100));\n"
                        "-- migrate:down\nDROP TABLE audit_log;\n");
        write_file(two, "-- migrate:up\nUPDATE customer SET email = 'migrated@x.test';\n"
                        "-- migrate:down\nUPDATE customer SET email = NULL;\n");
        edit_json(p.doctype_file("billing", "customer"), [](json& dt) {
            dt["fields"].push_back({{"name", "phone"}, {"type", "data"}});
        });

        // The plan lists the migrations, then the sync.
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 3);
        auto plan = p.m({"--json", "migrate", "--plan"});
        REQUIRE_EXIT(plan, 0);
        std::vector<std::string> order;
        const json planned = parse_json(plan.out);
        for (const auto& c : planned.at("changes")) {
            order.push_back(c.at("kind").get<std::string>() + ":" +
                            c.value("migration", c.at("action").get<std::string>()));
        }
        CHECK(order == std::vector<std::string>{"app:0001_add_audit_log.sql",
                                                "app:0002_fill_e_mail.sql", "sync:add_column"});
        auto text_plan = p.m({"migrate", "--plan"});
        REQUIRE_EXIT(text_plan, 0);
        CHECK(contains(text_plan.out, "WARNING"));
        CHECK(contains(text_plan.out, "CREATE TABLE audit_log"));
        CHECK_FALSE(contains(text_plan.out, "DROP TABLE audit_log")); // only the up part runs

        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 0);
        json doc = only_doc(p, "Customer");
        CHECK(doc.at("email") == "migrated@x.test");
        CHECK(doc.contains("phone"));
        auto clean = p.m({"migrate", "verify"});
        REQUIRE_EXIT(clean, 0);
        CHECK(contains(clean.out, "no drift"));

        // rollback --plan shows the down SQL of the newest and changes nothing.
        auto rb_plan = p.m({"migrate", "rollback", "--plan"});
        REQUIRE_EXIT(rb_plan, 0);
        CHECK(contains(rb_plan.out, "0002_fill_e_mail.sql"));
        CHECK(contains(rb_plan.out, "UPDATE customer SET email = NULL"));
        CHECK_FALSE(contains(rb_plan.out, "0001_add_audit_log.sql"));
        CHECK(only_doc(p, "Customer").at("email") == "migrated@x.test");

        auto rb = p.m({"migrate", "rollback"});
        REQUIRE_EXIT(rb, 0);
        CHECK(contains(rb.out, "0002_fill_e_mail.sql"));
        CHECK(only_doc(p, "Customer").at("email").is_null());
        CHECK(pending_migrations(p) == std::vector<std::string>{"0002_fill_e_mail.sql"});

        auto rest = p.m({"--json", "migrate", "rollback", "--steps", "5", "--app", "billing"});
        REQUIRE_EXIT(rest, 0);
        CHECK(parse_json(rest.out).at("rolled_back") == 1);
        auto nothing = p.m({"migrate", "rollback"});
        REQUIRE_EXIT(nothing, 0);
        CHECK(contains(nothing.out, "Nothing to roll back"));
        CHECK(pending_migrations(p) ==
              std::vector<std::string>{"0001_add_audit_log.sql", "0002_fill_e_mail.sql"});

        auto hist = p.m({"--json", "migrate", "history"});
        REQUIRE_EXIT(hist, 0);
        int rollbacks = 0;
        for (const auto& e : parse_json(hist.out)) {
            if (e.at("action") == "rollback_migration") {
                ++rollbacks;
                CHECK(e.at("kind") == "versioned");
                CHECK(e.at("subject") == "billing");
            }
        }
        CHECK(rollbacks == 2);
        auto hist_text = p.m({"migrate", "history"});
        REQUIRE_EXIT(hist_text, 0);
        CHECK(contains(hist_text.out, "rollback_migration"));

        // Applied again, as before.
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        CHECK(only_doc(p, "Customer").at("email") == "migrated@x.test");
        REQUIRE_EXIT(p.m({"migrate", "verify"}), 0);
    }
}

TEST_CASE("migrate verify reports schema, checksum and orphan-table drift",
          "[commands][migrate][versioned]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        add_customer(p);
        write_file(p.doctype_file("billing", "invoice"),
                   R"({"name": "Invoice", "fields": [{"name": "total", "type": "decimal"}]})");
        const fs::path one = create(p, "side table");
        write_file(one, "-- migrate:up\nCREATE TABLE side_t (x integer);\n"
                        "-- migrate:down\nDROP TABLE side_t;\n");

        // Before the first migrate everything is pending.
        auto fresh = p.m({"--json", "migrate", "verify"});
        REQUIRE_EXIT(fresh, 1);
        CHECK(parse_json(fresh.out).at("ok") == false);
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        auto clean = p.m({"--json", "migrate", "verify"});
        REQUIRE_EXIT(clean, 0);
        json ok = parse_json(clean.out);
        CHECK(ok.at("ok") == true);
        CHECK(ok.at("problems").empty());

        // The metadata moves ahead of the schema.
        const std::string original = read_file(p.doctype_file("billing", "customer"));
        edit_json(p.doctype_file("billing", "customer"), [](json& dt) {
            dt["fields"].push_back({{"name", "phone"}, {"type", "data"}});
        });
        auto schema = p.m({"migrate", "verify"});
        REQUIRE_EXIT(schema, 1);
        CHECK(contains(schema.out, "schema: Customer:"));
        CHECK(contains(schema.out, "phone"));
        CHECK(is_one_line(schema.err));
        CHECK(contains(schema.err, "drift"));
        auto schema_json = p.m({"--json", "migrate", "verify"});
        REQUIRE_EXIT(schema_json, 1);
        json sj = parse_json(schema_json.out);
        CHECK(sj.at("ok") == false);
        REQUIRE(sj.at("problems").size() == 1);
        CHECK(sj.at("problems")[0].at("kind") == "schema");
        CHECK(sj.at("problems")[0].at("subject") == "Customer");
        CHECK(contains(sj.at("problems")[0].at("detail").get<std::string>(), "phone"));
        write_file(p.doctype_file("billing", "customer"), original);
        REQUIRE_EXIT(p.m({"migrate", "verify"}), 0);

        // An applied migration file is edited afterwards.
        write_file(one, read_file(one) + "-- edited later\n");
        auto edited = p.m({"migrate", "verify"});
        REQUIRE_EXIT(edited, 1);
        CHECK(contains(edited.out, "checksum"));
        CHECK(contains(edited.out, "0001_side_table.sql"));
        fs::remove(one);
        auto gone = p.m({"migrate", "verify"});
        REQUIRE_EXIT(gone, 1);
        CHECK(contains(gone.out, "missing"));
        write_file(one, "-- migrate:up\nCREATE TABLE side_t (x integer);\n"
                        "-- migrate:down\nDROP TABLE side_t;\n");
        REQUIRE_EXIT(p.m({"migrate", "verify"}), 0);

        // A DocType whose folder is removed leaves its table behind.
        fs::remove_all(p.doctype_file("billing", "invoice").parent_path());
        auto orphan = p.m({"--json", "migrate", "verify"});
        REQUIRE_EXIT(orphan, 1);
        json oj = parse_json(orphan.out);
        REQUIRE(oj.at("problems").size() == 1);
        CHECK(oj.at("problems")[0].at("kind") == "orphan_table");
        CHECK(oj.at("problems")[0].at("subject") == "invoice");
        auto orphan_text = p.m({"migrate", "verify"});
        REQUIRE_EXIT(orphan_text, 1);
        CHECK(contains(orphan_text.out, "orphan table: invoice"));
    }
}

TEST_CASE("rollback refuses a migration without a down section and undoes nothing",
          "[commands][migrate][versioned][bad-input]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        add_customer(p);
        const fs::path one = create(p, "with down");
        write_file(one, "-- migrate:up\nCREATE TABLE one_t (x integer);\n"
                        "-- migrate:down\nDROP TABLE one_t;\n");
        // The template as written, with a statement in the up section only.
        const fs::path two = create(p, "no down");
        std::string text = read_file(two);
        const std::string up = "-- migrate:up\n";
        text.insert(text.find(up) + up.size(), "CREATE TABLE two_t (x integer);\n");
        write_file(two, text);
        REQUIRE_EXIT(p.m({"migrate"}), 0);

        auto r = p.m({"migrate", "rollback", "--steps", "2"});
        REQUIRE_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, "0002_no_down.sql"));
        CHECK(contains(r.err, "down section"));
        auto planned = p.m({"migrate", "rollback", "--plan"});
        REQUIRE_EXIT(planned, 1);
        CHECK(contains(planned.err, "0002_no_down.sql"));
        // Nothing was rolled back: both are still applied.
        CHECK(pending_migrations(p).empty());
        REQUIRE_EXIT(p.m({"migrate", "verify"}), 0);
        REQUIRE_EXIT(p.m({"migrate", "rollback", "--steps", "0"}), 2);
    }
}

TEST_CASE("a migration that fails half-way leaves nothing applied, not even the sync",
          "[commands][migrate][versioned][bad-input]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        add_customer(p);
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"doc", "insert", "Customer", "--data", R"({"customer_name":"Acme"})"}),
                     0);
        const fs::path bad = create(p, "half way");
        write_file(bad, "-- migrate:up\nUPDATE customer SET email = 'changed@x.test';\n"
                        "CREATE TABLE half_t (x integer);\nTHIS IS NOT SQL;\n"
                        "-- migrate:down\nDROP TABLE half_t;\n");
        const std::string original = read_file(p.doctype_file("billing", "customer"));
        edit_json(p.doctype_file("billing", "customer"), [](json& dt) {
            dt["fields"].push_back({{"name", "phone"}, {"type", "data"}});
        });
        auto r = p.m({"migrate"});
        REQUIRE_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, "0001_half_way.sql"));
        // The sync after it did not run either: the new column is still pending.
        const json status = p.status();
        bool phone_pending = false;
        for (const auto& dt : status.at("doctypes")) {
            for (const auto& c : dt.at("changes")) {
                if (c.at("action") == "add_column") phone_pending = true;
            }
        }
        CHECK(phone_pending);
        CHECK(pending_migrations(p) == std::vector<std::string>{"0001_half_way.sql"});
        write_file(p.doctype_file("billing", "customer"), original);
        CHECK(only_doc(p, "Customer").at("email").is_null());

        // A COMMIT in the file is refused before anything runs.
        write_file(bad, "UPDATE customer SET email = 'changed@x.test';\nCOMMIT;\n");
        auto commit = p.m({"migrate"});
        REQUIRE_EXIT(commit, 1);
        CHECK(contains(commit.err, "COMMIT"));
        CHECK(contains(commit.err, "0001_half_way.sql"));
        CHECK(only_doc(p, "Customer").at("email").is_null());
    }
}

TEST_CASE("migrate create refuses an unknown app and bad options",
          "[commands][migrate][versioned]") {
    Project p("sqlite");
    REQUIRE_EXIT(p.m({"new", "app", "billing"}), 0);
    auto unknown = p.m({"migrate", "create", "x", "--app", "nope"});
    REQUIRE_EXIT(unknown, 1);
    CHECK(is_one_line(unknown.err));
    CHECK(contains(unknown.err, "'nope'"));
    CHECK_FALSE(fs::exists(p.root() / "apps" / "nope"));
    REQUIRE_EXIT(p.m({"migrate", "create", "x"}), 2);
    REQUIRE_EXIT(p.m({"migrate", "create", "x", "--app", "billing", "--dialect", "mysql"}), 2);
    auto empty = p.m({"migrate", "create", "?!", "--app", "billing"});
    REQUIRE_EXIT(empty, 1);
    CHECK(is_one_line(empty.err));

    // Per database, and without touching the database: an unreachable one does not matter.
    auto pg = p.m({"migrate", "create", "gin index", "--app", "billing", "--dialect", "postgres"},
                  "", {{"DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"}});
    REQUIRE_EXIT(pg, 0);
    CHECK(fs::is_regular_file(migration_file(p, "0001_gin_index.postgres.sql")));
    REQUIRE_EXIT(p.m({"migrate", "create", "gin index", "--app", "billing", "--dialect", "sqlite"}),
                 0);
    CHECK(fs::is_regular_file(migration_file(p, "0001_gin_index.sqlite.sql")));
    REQUIRE_EXIT(p.m({"migrate", "create", "next", "--app", "billing"}), 0);
    CHECK(fs::is_regular_file(migration_file(p, "0002_next.sql")));
    // Only the sqlite file of 0001 runs here; its template has no statement yet.
    REQUIRE_EXIT(p.m({"migrate"}), 0);
    REQUIRE_EXIT(p.m({"migrate", "verify"}), 0);
}
