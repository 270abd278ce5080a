// Black-box tests of the user flow of issue 2, run with the built `m` in a temp project, on every
// database kind (SQLite always; PostgreSQL when the test script started one).
#include "project_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace m::test;

namespace {

/// The `name` of the only document in `m doc list DOCTYPE --json`.
std::string only_name(const Project& p, const std::string& doctype) {
    auto r = p.m({"doc", "list", doctype, "--json"});
    REQUIRE_EXIT(r, 0);
    json j = parse_json(r.out);
    REQUIRE(j.at("items").size() == 1);
    return j.at("items")[0].at("name").get<std::string>();
}

long long pending(const Project& p) {
    return p.status().at("pending").get<long long>();
}

} // namespace

TEST_CASE("the flow of the issue works end to end", "[commands][flow]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        p.add_customer();

        // --check before anything ran: changes are pending.
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 3);

        // --plan prints SQL with a grade and applies nothing.
        auto plan = p.m({"migrate", "--plan"});
        REQUIRE_EXIT(plan, 0);
        CHECK(contains(plan.out, "SAFE"));
        CHECK(contains(plan.out, "CREATE TABLE"));
        CHECK(contains(plan.out, "customer_name"));
        CHECK(contains(plan.out, "credit_limit"));
        json before = p.status();
        CHECK(before.at("pending").get<long long>() > 0);
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 3);

        // migrate applies; a second run is a no-op and says so.
        auto first = p.m({"migrate"});
        REQUIRE_EXIT(first, 0);
        CHECK(contains(first.out, "Customer"));
        auto second = p.m({"migrate"});
        REQUIRE_EXIT(second, 0);
        CHECK(contains(second.out, "Nothing to migrate"));
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 0);
        CHECK(pending(p) == 0);

        // insert from stdin
        auto ins =
            p.m({"doc", "insert", "Customer"}, R"({"customer_name":"Acme","email":"a@acme.test"})"
                                               "\n");
        REQUIRE_EXIT(ins, 0);

        // list --fields ... --json
        auto list = p.m({"doc", "list", "Customer", "--fields", "name,customer_name", "--json"});
        REQUIRE_EXIT(list, 0);
        json j = parse_json(list.out);
        REQUIRE(j.contains("items"));
        REQUIRE(j.contains("total"));
        CHECK(j.at("total") == 1);
        REQUIRE(j.at("items").size() == 1);
        const json& item = j.at("items")[0];
        CHECK(item.at("customer_name") == "Acme");
        CHECK(item.contains("name"));
        CHECK_FALSE(item.contains("email")); // only the fields asked for (plus id/name)
        std::string name = item.at("name").get<std::string>();

        // get
        auto get = p.m({"doc", "get", "Customer", name, "--json"});
        REQUIRE_EXIT(get, 0);
        json doc = parse_json(get.out);
        CHECK(doc.at("name") == name);
        CHECK(doc.at("customer_name") == "Acme");
        CHECK(doc.at("email") == "a@acme.test");

        // update --data changes the value, leaves the others
        auto upd = p.m({"doc", "update", "Customer", name, "--data", R"({"email":"b@acme.test"})"});
        REQUIRE_EXIT(upd, 0);
        json after = parse_json(p.m({"doc", "get", "Customer", name, "--json"}).out);
        CHECK(after.at("email") == "b@acme.test");
        CHECK(after.at("customer_name") == "Acme");

        // delete, then get says not found
        REQUIRE_EXIT(p.m({"doc", "delete", "Customer", name}), 0);
        auto gone = p.m({"doc", "get", "Customer", name});
        REQUIRE_EXIT(gone, 1);
        CHECK(contains(gone.err, "not found"));
        CHECK(contains(gone.err, name));
        CHECK(is_one_line(gone.err));
        CHECK(p.total("Customer") == 0);
    }
}

TEST_CASE("doc insert prints the name that doc get accepts", "[commands][flow]") {
    Project p("sqlite");
    p.add_customer();
    REQUIRE_EXIT(p.m({"migrate"}), 0);
    auto ins = p.m({"doc", "insert", "Customer", "--data", R"({"customer_name":"Zed"})"});
    REQUIRE_EXIT(ins, 0);
    std::string printed = ins.out.substr(0, ins.out.find('\n'));
    CHECK(printed == only_name(p, "Customer"));
    REQUIRE_EXIT(p.m({"doc", "get", "Customer", printed}), 0);
}

TEST_CASE("bulk insert of 1000 JSON lines lands in one call", "[commands][flow][bulk]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        p.add_customer();
        REQUIRE_EXIT(p.m({"migrate"}), 0);

        std::string lines;
        for (int i = 0; i < 1000; ++i) {
            lines += json{{"customer_name", "C" + std::to_string(i)}, {"credit_limit", i}}.dump();
            lines += '\n';
        }
        auto r = p.m({"doc", "insert", "Customer"}, lines);
        REQUIRE_EXIT(r, 0);
        CHECK(p.total("Customer") == 1000);

        // with --json every saved document is one JSON line
        auto two = p.m({"--json", "doc", "insert", "Customer"}, R"({"customer_name":"X1"})"
                                                                "\n"
                                                                R"({"customer_name":"X2"})"
                                                                "\n");
        REQUIRE_EXIT(two, 0);
        CHECK(std::count(two.out.begin(), two.out.end(), '\n') == 2);
        json first_line = parse_json(two.out.substr(0, two.out.find('\n')));
        CHECK(first_line.at("customer_name") == "X1");
        CHECK(p.total("Customer") == 1002);
    }
}

TEST_CASE("a bulk insert with a bad 3rd line inserts nothing and names line 3",
          "[commands][flow][bulk]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        REQUIRE_EXIT(p.m({"new", "app", "billing"}), 0);
        REQUIRE_EXIT(p.m({"new", "doctype", "Item", "--app", "billing", "--no-controller",
                          "--field", "title:data", "--field", "quantity:int"}),
                     0);
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"doc", "insert", "Item", "--data", R"({"title":"seed"})"}), 0);
        REQUIRE(p.total("Item") == 1);

        auto names_third = [](const std::string& err) {
            return contains(err, "line 3") || contains(err, "document 3");
        };

        {
            INFO("malformed JSON on line 3");
            auto r = p.m({"doc", "insert", "Item"}, "{\"title\":\"a\"}\n"
                                                    "{\"title\":\"b\"}\n"
                                                    "{\"title\":\"c\"\n"
                                                    "{\"title\":\"d\"}\n");
            REQUIRE_EXIT(r, 1);
            CHECK(names_third(r.err));
            CHECK(is_one_line(r.err));
            CHECK(p.total("Item") == 1);
        }
        {
            INFO("invalid document on line 3");
            auto r = p.m({"doc", "insert", "Item"}, "{\"title\":\"a\"}\n"
                                                    "{\"title\":\"b\"}\n"
                                                    "{\"quantity\":\"many\"}\n"
                                                    "{\"title\":\"d\"}\n");
            REQUIRE_EXIT(r, 1);
            CHECK(names_third(r.err));
            CHECK(contains(r.err, "quantity"));
            CHECK(is_one_line(r.err));
            CHECK(p.total("Item") == 1);
        }
        {
            INFO("unknown field on line 3");
            auto r = p.m({"doc", "insert", "Item"}, "{\"title\":\"a\"}\n"
                                                    "{\"title\":\"b\"}\n"
                                                    "{\"colour\":\"red\"}\n");
            REQUIRE_EXIT(r, 1);
            CHECK(names_third(r.err));
            CHECK(contains(r.err, "colour"));
        }
        CHECK(p.total("Item") == 1);
    }
}

TEST_CASE("schema evolution: an added field is a SAFE new column and rows survive",
          "[commands][flow][schema]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        p.add_customer();
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"doc", "insert", "Customer", "--data",
                          R"({"customer_name":"Keep","email":"k@x.test","credit_limit":12.5})"}),
                     0);
        std::string name = only_name(p, "Customer");

        edit_json(p.doctype_file("billing", "customer"), [](json& dt) {
            dt["fields"].push_back({{"name", "phone"}, {"type", "data"}});
        });
        auto plan = p.m({"migrate", "--plan"});
        REQUIRE_EXIT(plan, 0);
        CHECK(contains(plan.out, "SAFE"));
        CHECK(contains(plan.out, "phone"));
        CHECK_FALSE(contains(plan.out, "BREAKING"));
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 3);

        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 0);
        json doc = parse_json(p.m({"doc", "get", "Customer", name, "--json"}).out);
        CHECK(doc.at("customer_name") == "Keep");
        CHECK(doc.at("email") == "k@x.test");
        CHECK(doc.contains("phone"));
        CHECK(doc.at("phone").is_null());
        REQUIRE_EXIT(p.m({"doc", "update", "Customer", name, "--data", R"({"phone":"555"})"}), 0);
        json updated = parse_json(p.m({"doc", "get", "Customer", name, "--json"}).out);
        CHECK(updated.at("phone") == "555");
    }
}

TEST_CASE("schema evolution: a removed field is BREAKING and needs --force",
          "[commands][flow][schema]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        p.add_customer();
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"doc", "insert", "Customer", "--data",
                          R"({"customer_name":"Keep","email":"k@x.test"})"}),
                     0);
        std::string name = only_name(p, "Customer");

        edit_json(p.doctype_file("billing", "customer"), [](json& dt) {
            json kept = json::array();
            for (const auto& f : dt["fields"]) {
                if (f["name"] != "email") kept.push_back(f);
            }
            dt["fields"] = kept;
        });
        auto plan = p.m({"migrate", "--plan"});
        REQUIRE_EXIT(plan, 0);
        CHECK(contains(plan.out, "BREAKING"));
        CHECK(contains(plan.out, "email"));

        auto refused = p.m({"migrate"});
        REQUIRE_EXIT(refused, 1);
        CHECK(contains(refused.err, "--force"));
        CHECK(contains(refused.err, "BREAKING"));
        CHECK(is_one_line(refused.err));
        // Nothing changed: the drop is still pending and the row is intact.
        json st = p.status();
        CHECK(st.at("pending").get<long long>() > 0);
        CHECK(contains(st.dump(), "BREAKING"));
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 3);
        CHECK(p.total("Customer") == 1);

        auto forced = p.m({"migrate", "--force"});
        REQUIRE_EXIT(forced, 0);
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 0);
        json doc = parse_json(p.m({"doc", "get", "Customer", name, "--json"}).out);
        CHECK(doc.at("customer_name") == "Keep");
        CHECK_FALSE(doc.contains("email"));

        auto hist = p.m({"migrate", "history", "--json"});
        REQUIRE_EXIT(hist, 0);
        json h = parse_json(hist.out);
        REQUIRE(h.is_array());
        CHECK(h.size() >= 2);
        bool saw_breaking = false, saw_create = false;
        for (const auto& e : h) {
            CHECK(e.contains("applied_at"));
            if (e.value("risk", "") == "BREAKING" && e.value("subject", "") == "Customer") {
                saw_breaking = true;
            }
            if (e.value("action", "") == "create_table") saw_create = true;
        }
        CHECK(saw_breaking);
        CHECK(saw_create);
    }
}

TEST_CASE("migrate status and --plan --json describe the pending changes per DocType",
          "[commands][flow][schema]") {
    Project p("sqlite");
    p.add_customer();
    auto plan = p.m({"--json", "migrate", "--plan"});
    REQUIRE_EXIT(plan, 0);
    json j = parse_json(plan.out);
    REQUIRE(j.at("changes").is_array());
    bool customer = false;
    for (const auto& c : j.at("changes")) {
        if (c.at("doctype") == "Customer") {
            customer = true;
            CHECK(c.at("risk") == "SAFE");
            CHECK(!c.at("sql").empty());
        }
    }
    CHECK(customer);

    auto text = p.m({"migrate", "status"});
    REQUIRE_EXIT(text, 0);
    CHECK(contains(text.out, "Customer"));
    CHECK(contains(text.out, "pending"));

    REQUIRE_EXIT(p.m({"migrate"}), 0);
    auto done = p.m({"migrate", "status"});
    REQUIRE_EXIT(done, 0);
    CHECK(contains(done.out, "up to date"));
}

TEST_CASE("m doc acts as the system, or with --as USER as that user with their rights",
          "[commands][flow][access]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        p.add_customer();
        json def = parse_json(read_file(p.doctype_file("billing", "customer")));
        def["permissions"] = json{{"read", {"Sales"}}, {"create", {"Sales"}}};
        def["apply_rls"] = true;
        write_file(p.doctype_file("billing", "customer"), def.dump(2));
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"user", "create", "ann@example.com", "--role", "Sales"}), 0);
        REQUIRE_EXIT(p.m({"user", "create", "eve@example.com", "--role", "Support"}), 0);

        auto by_system =
            p.m({"--json", "doc", "insert", "Customer", "--data", R"({"customer_name":"Sys Co"})"});
        REQUIRE_EXIT(by_system, 0);
        CHECK(parse_json(by_system.out)["owner"] == "Administrator");
        auto by_ann = p.m({"--json", "doc", "insert", "Customer", "--as", "ann@example.com",
                           "--data", R"({"customer_name":"Ann Co"})"});
        REQUIRE_EXIT(by_ann, 0);
        CHECK(parse_json(by_ann.out)["owner"] == "ann@example.com");

        // Row-level security: Ann sees her own customer only; the system sees both.
        auto mine = p.m({"doc", "list", "Customer", "--as", "ann@example.com", "--json"});
        REQUIRE_EXIT(mine, 0);
        REQUIRE(parse_json(mine.out)["items"].size() == 1);
        CHECK(parse_json(mine.out)["items"][0]["name"] == parse_json(by_ann.out)["name"]);
        CHECK(parse_json(p.m({"doc", "list", "Customer", "--json"}).out)["items"].size() == 2);

        // Refusals: one line on stderr, a non-zero exit, nothing written.
        auto one_line_error = [](const RunResult& r, const std::string& text) {
            INFO(r.err);
            CHECK(r.exit_code != 0);
            CHECK(contains(r.err, text));
            CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        };
        const std::string sys_name = parse_json(by_system.out)["name"].get<std::string>();
        one_line_error(p.m({"doc", "get", "Customer", sys_name, "--as", "ann@example.com"}),
                       "not found");
        one_line_error(p.m({"doc", "list", "Customer", "--as", "eve@example.com"}),
                       "not permitted to read Customer");
        one_line_error(p.m({"doc", "insert", "Customer", "--as", "eve@example.com", "--data",
                            R"({"customer_name":"Eve Co"})"}),
                       "not permitted to create Customer");
        one_line_error(p.m({"doc", "list", "Customer", "--as", "nobody@example.com"}),
                       "User 'nobody@example.com' not found");
        CHECK(parse_json(p.m({"doc", "list", "Customer", "--json"}).out)["items"].size() == 2);
    }
}
