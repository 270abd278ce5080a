// Black-box tests of bad input (issue 2, "Bad input"): each gets exit code 1, one clear line on
// stderr naming the thing at fault, and nothing half-applied. Usage errors exit 2.
#include "project_fixture.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace m::test;

namespace {

/// Writes apps/billing/doctypes/<snake>/doctype.json by hand, as a user editing metadata would.
void write_doctype(const Project& p, const std::string& snake, const std::string& content) {
    write_file(p.doctype_file("billing", snake), content);
}

/// Asserts the metadata error of a bad doctype.json: exit 1, one line naming the file, nothing
/// migrated (the good DocType is still pending once the bad file is gone).
void expect_refused_metadata(const Project& p, const std::string& snake,
                             const std::vector<std::string>& named) {
    const std::string source = "apps/billing/doctypes/" + snake + "/doctype.json";
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"migrate"}, {"migrate", "--plan"}, {"info"}, {"doc", "list", "Customer"}}) {
        std::string shown;
        for (const auto& a : args) shown += " " + a;
        INFO("command: m" << shown);
        auto r = p.m(args);
        REQUIRE_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, source));
        for (const auto& word : named) CHECK(contains(r.err, word));
    }
    std::filesystem::remove_all(p.doctype_file("billing", snake).parent_path());
    REQUIRE_EXIT(p.m({"migrate", "--check"}), 3);
}

} // namespace

TEST_CASE("a malformed doctype.json is refused naming the file", "[commands][bad-input]") {
    Project p("sqlite");
    p.add_customer();
    write_doctype(p, "broken", R"({"name": "Broken", "fields": [)");
    expect_refused_metadata(p, "broken", {});
}

TEST_CASE("an unknown field type is refused naming file, field and type", "[commands][bad-input]") {
    Project p("sqlite");
    p.add_customer();
    write_doctype(p, "invoice",
                  R"({"name":"Invoice","fields":[{"name":"amount","type":"money"}]})");
    expect_refused_metadata(p, "invoice", {"amount", "money"});

    auto scaffold = p.m({"new", "doctype", "Invoice", "--app", "billing", "--no-controller",
                         "--field", "amount:money"});
    REQUIRE_EXIT(scaffold, 1);
    CHECK(is_one_line(scaffold.err));
    CHECK(contains(scaffold.err, "money"));
    CHECK_FALSE(std::filesystem::exists(p.doctype_file("billing", "invoice").parent_path()));
}

TEST_CASE("a link to a missing DocType is refused", "[commands][bad-input]") {
    Project p("sqlite");
    p.add_customer();
    write_doctype(
        p, "invoice",
        R"({"name":"Invoice","fields":[{"name":"supplier","type":"link","options":"Supplier"}]})");
    expect_refused_metadata(p, "invoice", {"supplier", "Supplier"});

    auto scaffold = p.m({"new", "doctype", "Invoice", "--app", "billing", "--no-controller",
                         "--field", "supplier:link:Supplier"});
    REQUIRE_EXIT(scaffold, 1);
    CHECK(is_one_line(scaffold.err));
    CHECK(contains(scaffold.err, "Supplier"));
    CHECK_FALSE(std::filesystem::exists(p.doctype_file("billing", "invoice").parent_path()));

    // A link to an existing DocType is fine.
    REQUIRE_EXIT(p.m({"new", "doctype", "Invoice", "--app", "billing", "--no-controller", "--field",
                      "customer:link:Customer"}),
                 0);
    REQUIRE_EXIT(p.m({"migrate"}), 0);
}

TEST_CASE("a field named like a SQL keyword is refused", "[commands][bad-input]") {
    Project p("sqlite");
    p.add_customer();
    write_doctype(p, "invoice", R"({"name":"Invoice","fields":[{"name":"select","type":"data"}]})");
    expect_refused_metadata(p, "invoice", {"'select'"});

    auto scaffold = p.m({"new", "doctype", "Invoice", "--app", "billing", "--no-controller",
                         "--field", "order:data"});
    REQUIRE_EXIT(scaffold, 1);
    CHECK(is_one_line(scaffold.err));
    CHECK(contains(scaffold.err, "order"));
    CHECK_FALSE(std::filesystem::exists(p.doctype_file("billing", "invoice").parent_path()));
}

TEST_CASE("a field name with a quote is refused", "[commands][bad-input]") {
    Project p("sqlite");
    p.add_customer();
    write_doctype(p, "invoice", R"({"name":"Invoice","fields":[{"name":"it's","type":"data"}]})");
    expect_refused_metadata(p, "invoice", {"it's"});

    write_doctype(p, "invoice", R"({"name":"Invoice","fields":[{"name":"a\"b","type":"data"}]})");
    expect_refused_metadata(p, "invoice", {"a\"b"});

    auto scaffold = p.m({"new", "doctype", "Invoice", "--app", "billing", "--no-controller",
                         "--field", "x\";drop table customer;--:data"});
    REQUIRE_EXIT(scaffold, 1);
    CHECK(is_one_line(scaffold.err));
    CHECK_FALSE(std::filesystem::exists(p.doctype_file("billing", "invoice").parent_path()));
}

TEST_CASE("a filter or a field list naming an unknown field is refused", "[commands][bad-input]") {
    Project p("sqlite");
    p.add_customer();
    REQUIRE_EXIT(p.m({"migrate"}), 0);
    REQUIRE_EXIT(p.m({"doc", "insert", "Customer", "--data", R"({"customer_name":"Acme"})"}), 0);

    for (const std::string filters :
         {R"([["nope","=","x"]])", R"([{"field":"nope","operator":"eq","value":"x"}])",
          R"({"nope":"x"})"}) {
        INFO("filters: " << filters);
        auto r = p.m({"doc", "list", "Customer", "--filters", filters});
        REQUIRE_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, "'nope'"));
        CHECK(r.out.empty());
    }
    // SQL in a filter's field name is just an unknown field.
    auto sql = p.m({"doc", "list", "Customer", "--filters",
                    R"([["name = name; DROP TABLE customer; --","=","x"]])"});
    REQUIRE_EXIT(sql, 1);
    CHECK(contains(sql.err, "unknown field"));

    auto fields = p.m({"doc", "list", "Customer", "--fields", "name,nope"});
    REQUIRE_EXIT(fields, 1);
    CHECK(is_one_line(fields.err));
    CHECK(contains(fields.err, "'nope'"));

    // A good filter works, and values travel as parameters.
    auto good = p.m({"doc", "list", "Customer", "--json", "--filters",
                     R"([["customer_name","=","x' OR '1'='1"]])"});
    REQUIRE_EXIT(good, 0);
    CHECK(parse_json(good.out).at("total") == 0);
    CHECK(p.total("Customer") == 1);
}

TEST_CASE("an order_by with SQL in it is refused and the table stays intact",
          "[commands][bad-input]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        p.add_customer();
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"doc", "insert", "Customer", "--data", R"({"customer_name":"Acme"})"}),
                     0);

        for (const std::string order :
             {"name; DROP TABLE customer", "name;DROP TABLE customer", "(SELECT 1)",
              "name desc; DROP TABLE customer", "name\" DESC --", "1"}) {
            INFO("order_by: " << order);
            auto r = p.m({"doc", "list", "Customer", "--order-by", order});
            REQUIRE_EXIT(r, 1);
            CHECK(is_one_line(r.err));
            CHECK(contains(r.err, "order_by"));
            CHECK(r.out.empty());
        }
        auto list = p.m({"doc", "list", "Customer", "--json", "--order-by", "-customer_name"});
        REQUIRE_EXIT(list, 0);
        json j = parse_json(list.out);
        CHECK(j.at("total") == 1);
        CHECK(j.at("items")[0].at("customer_name") == "Acme");
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 0);
    }
}

TEST_CASE("a value of the wrong type is refused naming the field", "[commands][bad-input]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        REQUIRE_EXIT(p.m({"new", "app", "billing"}), 0);
        REQUIRE_EXIT(p.m({"new", "doctype", "Item", "--app", "billing", "--no-controller",
                          "--field", "title:data", "--field", "quantity:int", "--field",
                          "price:decimal", "--field", "due:date"}),
                     0);
        REQUIRE_EXIT(p.m({"migrate"}), 0);

        auto r = p.m({"doc", "insert", "Item", "--data", R"({"title":"t","quantity":"abc"})"});
        REQUIRE_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, "quantity"));
        CHECK(contains(r.err, "abc"));
        CHECK(p.total("Item") == 0);

        auto price = p.m({"doc", "insert", "Item", "--data", R"({"price":"cheap"})"});
        REQUIRE_EXIT(price, 1);
        CHECK(contains(price.err, "price"));
        auto due = p.m({"doc", "insert", "Item", "--data", R"({"due":"2024-02-30"})"});
        REQUIRE_EXIT(due, 1);
        CHECK(contains(due.err, "due"));
        CHECK(p.total("Item") == 0);

        // on update too, and the stored value is unchanged
        auto ok = p.m({"--json", "doc", "insert", "Item", "--data", R"({"quantity":3})"});
        REQUIRE_EXIT(ok, 0);
        std::string name = parse_json(ok.out).at("name").get<std::string>();
        auto upd = p.m({"doc", "update", "Item", name, "--data", R"({"quantity":"abc"})"});
        REQUIRE_EXIT(upd, 1);
        CHECK(contains(upd.err, "quantity"));
        CHECK(parse_json(p.m({"doc", "get", "Item", name, "--json"}).out).at("quantity") == 3);

        auto malformed = p.m({"doc", "insert", "Item", "--data", "{not json"});
        REQUIRE_EXIT(malformed, 1);
        CHECK(is_one_line(malformed.err));
        CHECK(contains(malformed.err, "--data"));
    }
}

TEST_CASE("a duplicate unique value is refused and only one row exists", "[commands][bad-input]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        REQUIRE_EXIT(p.m({"new", "app", "billing"}), 0);
        REQUIRE_EXIT(p.m({"new", "doctype", "Account", "--app", "billing", "--no-controller",
                          "--field", "code:data", "--field", "title:data"}),
                     0);
        edit_json(p.doctype_file("billing", "account"),
                  [](json& dt) { dt["fields"][0]["unique"] = true; });
        REQUIRE_EXIT(p.m({"migrate"}), 0);

        REQUIRE_EXIT(p.m({"doc", "insert", "Account", "--data", R"({"code":"A1"})"}), 0);
        auto dup = p.m({"doc", "insert", "Account", "--data", R"({"code":"A1","title":"2nd"})"});
        REQUIRE_EXIT(dup, 1);
        CHECK(is_one_line(dup.err));
        CHECK(contains(dup.err, "code"));
        CHECK(contains(dup.err, "A1"));
        CHECK(p.total("Account") == 1);

        // A bulk insert whose rows collide with each other lands nothing.
        auto bulk = p.m({"doc", "insert", "Account"}, "{\"code\":\"B1\"}\n{\"code\":\"B1\"}\n");
        REQUIRE_EXIT(bulk, 1);
        CHECK(contains(bulk.err, "code"));
        CHECK(p.total("Account") == 1);

        // Changing another document to the taken value is refused too.
        auto other = p.m({"--json", "doc", "insert", "Account", "--data", R"({"code":"C1"})"});
        REQUIRE_EXIT(other, 0);
        std::string name = parse_json(other.out).at("name").get<std::string>();
        auto upd = p.m({"doc", "update", "Account", name, "--data", R"({"code":"A1"})"});
        REQUIRE_EXIT(upd, 1);
        CHECK(contains(upd.err, "code"));
        auto filtered = p.m({"doc", "list", "Account", "--json", "--filters", R"({"code":"A1"})"});
        REQUIRE_EXIT(filtered, 0);
        CHECK(parse_json(filtered.out).at("total") == 1);
    }
}

TEST_CASE("a DATABASE_URL that points nowhere fails naming the database, never the password",
          "[commands][bad-input]") {
    Project p("sqlite");
    p.add_customer();
    const std::string password = "s3cretPassw0rd";
    const std::string url = "postgres://nobody:" + password + "@127.0.0.1:1/none";
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"migrate"}, {"migrate", "status"}, {"doc", "list", "Customer"}}) {
        std::string shown;
        for (const auto& a : args) shown += " " + a;
        INFO("command: m" << shown);
        auto r = p.m(args, "", {{"DATABASE_URL", url}});
        REQUIRE_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, "127.0.0.1:1/none"));
        CHECK_FALSE(contains(r.err, password));
        CHECK_FALSE(contains(r.out, password));
    }
    // libpq also takes the password from the query string; it is just as secret there.
    const std::string query_url = "postgres://nobody@127.0.0.1:1/none?password=" + password;
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"migrate"}, {"doctor"}, {"info"}, {"config", "show"}}) {
        std::string shown;
        for (const auto& a : args) shown += " " + a;
        INFO("command: m" << shown << " with the password in the query string");
        auto r = p.m(args, "", {{"DATABASE_URL", query_url}});
        CHECK_FALSE(contains(r.out + r.err, password));
    }
    // An unknown scheme is refused the same way.
    auto scheme = p.m({"migrate"}, "", {{"DATABASE_URL", "mysql://root:" + password + "@h/db"}});
    REQUIRE_EXIT(scheme, 1);
    CHECK(is_one_line(scheme.err));
    CHECK(contains(scheme.err, "DATABASE_URL"));
    CHECK_FALSE(contains(scheme.err, password));
    auto scheme_query =
        p.m({"migrate"}, "", {{"DATABASE_URL", "mysql://root@h/db?password=" + password}});
    REQUIRE_EXIT(scheme_query, 1);
    CHECK_FALSE(contains(scheme_query.err, password));
    // Nothing was created for the embedded database either.
    CHECK_FALSE(std::filesystem::exists(p.root() / ".m" / "m.sqlite3"));
}

namespace {

/// Runs `binary args` in `cwd` as user nobody (uid/gid 65534) through setpriv.
RunResult run_as_nobody(const fs::path& binary, const std::vector<std::string>& args,
                        const fs::path& cwd) {
    TempDir io;
    std::string cmd = "cd " + shell_quote(cwd.string()) +
                      " && env -u DATABASE_URL -u M_PROJECT -u INSTALLED_APPS -u M_LOG_LEVEL"
                      " setpriv --reuid=65534 --regid=65534 --clear-groups " +
                      shell_quote(binary.string());
    for (const auto& a : args) cmd += " " + shell_quote(a);
    cmd += " < /dev/null > " + shell_quote((io.path() / "out").string()) + " 2> " +
           shell_quote((io.path() / "err").string());
    int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_file(io.path() / "out");
    r.err = read_file(io.path() / "err");
    return r;
}

/// Makes every file under `dir` readable and every folder enterable by everyone.
void open_for_reading(const fs::path& dir) {
    using fs::perms;
    fs::permissions(dir,
                    perms::others_read | perms::others_exec | perms::group_read | perms::group_exec,
                    fs::perm_options::add);
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        perms add = perms::others_read | perms::group_read;
        if (e.is_directory()) add |= perms::others_exec | perms::group_exec;
        fs::permissions(e.path(), add, fs::perm_options::add);
    }
}

} // namespace

TEST_CASE("a project folder that is not writable fails cleanly", "[commands][bad-input]") {
    if (geteuid() != 0) {
        WARN("not running as root: the not-writable project test needs root to switch to nobody");
        return;
    }
    if (std::system("command -v setpriv > /dev/null 2>&1") != 0) {
        WARN("setpriv (util-linux) not found: the not-writable project test is skipped");
        return;
    }
    TempDir tmp;
    fs::copy_file(M_BINARY, tmp.path() / "m");
    REQUIRE_EXIT(run_m({"new", "project", "locked"}, tmp.path()), 0);
    fs::path root = tmp.path() / "locked";
    REQUIRE_EXIT(run_m({"new", "app", "billing"}, root), 0);
    REQUIRE_EXIT(run_m({"new", "doctype", "Customer", "--app", "billing", "--no-controller",
                        "--field", "customer_name:data"},
                       root),
                 0);
    open_for_reading(tmp.path());
    fs::permissions(root, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    const fs::path m_copy = tmp.path() / "m";

    // The user can still read: settings and metadata load.
    REQUIRE_EXIT(run_as_nobody(m_copy, {"info"}, root), 0);

    auto migrate = run_as_nobody(m_copy, {"migrate"}, root);
    REQUIRE_EXIT(migrate, 1);
    CHECK(is_one_line(migrate.err));
    CHECK(contains(migrate.err, (root / ".m").string()));
    CHECK_FALSE(fs::exists(root / ".m"));

    auto app = run_as_nobody(m_copy, {"new", "app", "shop"}, root);
    REQUIRE_EXIT(app, 1);
    CHECK(is_one_line(app.err));
    CHECK(contains(app.err, "shop"));
    CHECK_FALSE(fs::exists(root / "apps" / "shop"));

    auto doctor = run_as_nobody(m_copy, {"doctor"}, root);
    REQUIRE_EXIT(doctor, 1);
    CHECK(contains(doctor.out + doctor.err, "FAIL"));
    CHECK(contains(doctor.out + doctor.err, "not writable"));
}

TEST_CASE("a failed migration leaves the schema as it was", "[commands][bad-input][schema]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        p.add_customer();
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"doc", "insert", "Customer", "--data", R"({"customer_name":"Acme"})"}),
                     0);

        // A new DocType and a broken app migration pending in the same run.
        REQUIRE_EXIT(p.m({"new", "doctype", "Invoice", "--app", "billing", "--no-controller",
                          "--field", "total:decimal"}),
                     0);
        write_file(p.root() / "apps" / "billing" / "migrations" / "0001_bad.sql",
                   "CREATE TABLE bad_side_effect (x integer);\nTHIS IS NOT SQL;\n");
        auto r = p.m({"migrate"});
        REQUIRE_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, "0001_bad.sql"));

        json st = p.status();
        bool invoice_pending = false;
        for (const auto& dt : st.at("doctypes")) {
            if (dt.at("doctype") == "Invoice") {
                for (const auto& c : dt.at("changes")) {
                    if (c.at("action") == "create_table") invoice_pending = true;
                }
            }
        }
        CHECK(invoice_pending);
        CHECK(contains(st.at("migrations").dump(), "0001_bad.sql"));
        auto list = p.m({"doc", "list", "Invoice"});
        REQUIRE_EXIT(list, 1);
        CHECK(contains(list.err, "Invoice"));
        CHECK(p.total("Customer") == 1);

        // Once fixed, the same run applies everything, and the side table exists exactly once.
        write_file(p.root() / "apps" / "billing" / "migrations" / "0001_bad.sql",
                   "CREATE TABLE bad_side_effect (x integer);\n");
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 0);
        CHECK(p.total("Invoice") == 0);
        CHECK(p.total("Customer") == 1);
    }
}

TEST_CASE("a failing sync step rolls back the steps before it", "[commands][bad-input][schema]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        p.add_customer();
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"doc", "insert", "Customer"},
                         "{\"customer_name\":\"A\",\"email\":\"same@x.test\"}\n"
                         "{\"customer_name\":\"B\",\"email\":\"same@x.test\"}\n"),
                     0);
        // Add a column (SAFE) and make email unique (fails: two rows share a value).
        const std::string original = read_file(p.doctype_file("billing", "customer"));
        edit_json(p.doctype_file("billing", "customer"), [](json& dt) {
            dt["fields"].push_back({{"name", "phone"}, {"type", "data"}});
            for (auto& f : dt["fields"]) {
                if (f["name"] == "email") f["unique"] = true;
            }
        });
        auto r = p.m({"migrate"});
        REQUIRE_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, "email"));
        json st = p.status();
        bool phone_pending = false;
        for (const auto& dt : st.at("doctypes")) {
            for (const auto& c : dt.at("changes")) {
                if (c.at("action") == "add_column" && contains(c.dump(), "phone")) {
                    phone_pending = true;
                }
            }
        }
        CHECK(phone_pending);
        // With the old metadata back, the live schema matches it exactly: no column was added.
        write_file(p.doctype_file("billing", "customer"), original);
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 0);
        CHECK(p.total("Customer") == 2);
    }
}

TEST_CASE("unknown DocTypes and unmigrated tables are named", "[commands][bad-input]") {
    Project p("sqlite");
    p.add_customer();
    auto early = p.m({"doc", "list", "Customer"});
    REQUIRE_EXIT(early, 1);
    CHECK(is_one_line(early.err));
    CHECK(contains(early.err, "Customer"));
    CHECK(contains(early.err, "m migrate"));

    REQUIRE_EXIT(p.m({"migrate"}), 0);
    auto unknown = p.m({"doc", "list", "Supplier"});
    REQUIRE_EXIT(unknown, 1);
    CHECK(is_one_line(unknown.err));
    CHECK(contains(unknown.err, "Supplier"));

    auto app = p.m({"new", "doctype", "Order", "--app", "shop", "--no-controller"});
    REQUIRE_EXIT(app, 1);
    CHECK(contains(app.err, "shop"));
}

TEST_CASE("usage errors exit 2 and name what is wrong", "[commands][usage]") {
    Project p("sqlite");
    p.add_customer();
    struct Case {
        std::vector<std::string> args;
        std::string named;
    };
    for (const auto& c : std::vector<Case>{
             {{"bogus"}, "bogus"},
             {{"migrate", "--bogus"}, "--bogus"},
             {{"--bogus", "info"}, "--bogus"},
             {{"doc", "list"}, "DOCTYPE"},
             {{"doc", "list", "Customer", "--limit", "abc"}, "--limit"},
             {{"doc", "list", "Customer", "--limit", "0"}, "--limit"},
             {{"completions", "tcsh"}, "tcsh"},
             {{"new"}, "subcommand"},
         }) {
        std::string shown;
        for (const auto& a : c.args) shown += " " + a;
        INFO("command: m" << shown);
        auto r = p.m(c.args);
        CHECK_EXIT(r, 2);
        CHECK(contains(r.err, c.named));
        CHECK_FALSE(contains(r.err, "internal error"));
    }
    // nothing ran
    REQUIRE_EXIT(p.m({"migrate", "--check"}), 3);
}

TEST_CASE("DocTypes and fields are quoted: a DocType named like a SQL keyword works",
          "[commands][bad-input]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        REQUIRE_EXIT(p.m({"new", "app", "shop"}), 0);
        REQUIRE_EXIT(p.m({"new", "doctype", "Order", "--app", "shop", "--no-controller", "--field",
                          "qty:int", "--field", "group_name:data"}),
                     0);
        REQUIRE_EXIT(p.m({"new", "doctype", "Select", "--app", "shop", "--no-controller", "--field",
                          "x:int"}),
                     0);
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"doc", "insert", "Order", "--data", R"({"qty":2,"group_name":"g"})"}), 0);
        REQUIRE_EXIT(p.m({"doc", "insert", "Select", "--data", R"({"x":1})"}), 0);
        auto list = p.m({"doc", "list", "Order", "--json", "--order-by", "-qty", "--filters",
                         R"([["qty",">",1]])"});
        REQUIRE_EXIT(list, 0);
        CHECK(parse_json(list.out).at("total") == 1);
        CHECK(p.total("Select") == 1);
        // A name with SQL in it is only a name that does not exist.
        auto get = p.m({"doc", "get", "Order", "x' OR '1'='1"});
        REQUIRE_EXIT(get, 1);
        CHECK(contains(get.err, "not found"));
        REQUIRE_EXIT(p.m({"migrate", "--check"}), 0);
    }
}

TEST_CASE("a forced type change never leaves values of the wrong type behind",
          "[commands][bad-input][schema]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        REQUIRE_EXIT(p.m({"new", "app", "shop"}), 0);
        REQUIRE_EXIT(p.m({"new", "doctype", "Item", "--app", "shop", "--no-controller", "--field",
                          "code:data"}),
                     0);
        REQUIRE_EXIT(p.m({"migrate"}), 0);
        REQUIRE_EXIT(p.m({"doc", "insert", "Item", "--data", R"({"code":"abc"})"}), 0);

        edit_json(p.doctype_file("shop", "item"),
                  [](json& dt) { dt["fields"][0]["type"] = "int"; });
        auto plan = p.m({"migrate", "--plan"});
        REQUIRE_EXIT(plan, 0);
        CHECK(contains(plan.out, "BREAKING"));
        REQUIRE_EXIT(p.m({"migrate"}), 1);

        // Either the change fails as a whole (the schema stays as it was) or it applies and
        // the value that does not fit an integer is gone, as the plan says.
        auto forced = p.m({"migrate", "--force"});
        if (forced.exit_code != 0) {
            REQUIRE_EXIT(forced, 1);
            CHECK(is_one_line(forced.err));
            CHECK(contains(forced.err, "code"));
            REQUIRE_EXIT(p.m({"migrate", "--check"}), 3);
        } else {
            REQUIRE_EXIT(p.m({"migrate", "--check"}), 0);
            auto list = p.m({"doc", "list", "Item", "--json", "--fields", "code"});
            REQUIRE_EXIT(list, 0);
            json item = parse_json(list.out).at("items").at(0);
            INFO("item after the type change: " << item.dump());
            CHECK((item.at("code").is_null() || item.at("code").is_number_integer()));
        }
    }
}
