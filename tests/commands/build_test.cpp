// `m build` and app modules: C++ controllers compiled and loaded by the real `m`.
#include "project_fixture.hpp"

using namespace m::test;

namespace {

const char* k_invoice_controller = R"(#include <m/app.hpp>

namespace {
class Invoice : public m::Controller {
public:
    void validate(m::Json& doc, m::HookContext&) override {
        if (doc["items"].empty()) throw m::Error(m::ErrorKind::validation, "no items");
    }
    void before_save(m::Json& doc, m::HookContext&) override {
        double total = 0;
        for (auto& row : doc["items"]) total += row["qty"].get<double>() * row["rate"].get<double>();
        doc["total"] = total;
    }
};
} // namespace

void m_register_invoice(m::AppRegistrar& app) {
    app.controller<Invoice>("Invoice");
    app.method("Invoice", "twice", "read", [](m::Json* doc, const m::Json&, m::HookContext&) -> m::Json {
        return (*doc)["total"].get<double>() * 2;
    });
}
)";

/// A project with Customer (JSON only) and a submittable, series-named Invoice with a C++
/// controller and a child table.
void add_billing(const Project& p) {
    REQUIRE_EXIT(p.m({"new", "app", "billing"}), 0);
    REQUIRE_EXIT(p.m({"new", "doctype", "Customer", "--app", "billing", "--no-controller",
                      "--naming", "field:customer_name", "--field", "customer_name:data"}),
                 0);
    REQUIRE_EXIT(p.m({"new", "doctype", "Invoice Item", "--app", "billing", "--child-table",
                      "--field", "item:data", "--field", "qty:int", "--field", "rate:decimal"}),
                 0);
    REQUIRE_EXIT(p.m({"new", "doctype", "Invoice", "--app", "billing", "--submittable", "--naming",
                      "series:INV-.YYYY.-.#####", "--field", "customer:link:Customer", "--field",
                      "items:table:Invoice Item", "--field", "total:decimal"}),
                 0);
    REQUIRE(fs::exists(p.root() / "apps/billing/doctypes/invoice/controller.cpp"));
    REQUIRE_FALSE(fs::exists(p.root() / "apps/billing/doctypes/customer/controller.cpp"));
    REQUIRE_EXIT(p.m({"migrate"}), 0);
}

const char* k_invoice =
    R"({"customer":"Acme","items":[{"item":"A","qty":2,"rate":10},{"item":"B","qty":1,"rate":5.5}]})";

} // namespace

TEST_CASE("m build: the scaffold builds as is, an edited controller runs its hooks",
          "[commands][build]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        add_billing(p);
        auto built = p.m({"build"});
        REQUIRE_EXIT(built, 0);
        CHECK(contains(built.out, "Built 1 app module(s)"));
        CHECK(fs::exists(p.root() / ".m/modules/billing.so"));

        write_file(p.root() / "apps/billing/doctypes/invoice/controller.cpp", k_invoice_controller);
        REQUIRE_EXIT(p.m({"build"}), 0);
        REQUIRE_EXIT(p.m({"doc", "insert", "Customer", "--data", R"({"customer_name":"Acme"})"}),
                     0);
        auto inserted = p.m({"doc", "insert", "Invoice", "--json"}, k_invoice);
        REQUIRE_EXIT(inserted, 0);
        json inv = parse_json(inserted.out);
        std::string name = inv.at("name").get<std::string>();
        CHECK(name.rfind("INV-", 0) == 0);
        CHECK(inv.at("total") == 25.5);

        auto empty =
            p.m({"doc", "insert", "Invoice", "--data", R"({"customer":"Acme","items":[]})"});
        CHECK_EXIT(empty, 1);
        CHECK(is_one_line(empty.err));
        CHECK(contains(empty.err, "DocType 'Invoice': validate: no items"));

        auto call = p.m({"doc", "call", "Invoice", name, "twice"});
        REQUIRE_EXIT(call, 0);
        CHECK(parse_json(call.out).at("result") == 51.0);

        REQUIRE_EXIT(p.m({"doc", "submit", "Invoice", name}), 0);
        auto frozen = p.m({"doc", "update", "Invoice", name, "--data", R"({"customer":"Other"})"});
        CHECK_EXIT(frozen, 1);
        CHECK(contains(frozen.err, "cannot change: the document is submitted"));
        REQUIRE_EXIT(p.m({"doc", "cancel", "Invoice", name}), 0);
        auto got = p.m({"doc", "get", "Invoice", name, "--json"});
        REQUIRE_EXIT(got, 0);
        CHECK(parse_json(got.out).at("docstatus") == 2);
        CHECK(p.total("Invoice") == 1);
    }
}

TEST_CASE("app modules that cannot be used stop bootstrap with a precise error",
          "[commands][build][bad-input]") {
    Project p("sqlite");
    add_billing(p);
    write_file(p.root() / "apps/billing/doctypes/invoice/controller.cpp", k_invoice_controller);
    REQUIRE_EXIT(p.m({"build"}), 0);
    const fs::path module = p.root() / ".m/modules/billing.so";

    SECTION("a compile error keeps the previous module and names the app") {
        write_file(p.root() / "apps/billing/doctypes/invoice/controller.cpp", "this is not C++\n");
        auto r = p.m({"build"});
        CHECK_EXIT(r, 1);
        CHECK(contains(r.err, "app 'billing': compilation failed"));
        CHECK(contains(r.err, "controller.cpp")); // the compiler's own diagnostics
        CHECK(fs::exists(module));
    }
    SECTION("m doctor reports C++ newer than its module, and does not build it") {
        fs::last_write_time(p.root() / "apps/billing/doctypes/invoice/controller.cpp",
                            fs::file_time_type::clock::now() + std::chrono::hours(1));
        auto before = fs::last_write_time(module);
        auto r = p.m({"doctor"});
        CHECK_EXIT(r, 1);
        CHECK(contains(r.out, "app 'billing' has C++ code that is newer than its module"));
        CHECK(fs::last_write_time(module) == before);
    }
    SECTION("two processes that find stale C++ at once both build and run") {
        fs::last_write_time(p.root() / "apps/billing/doctypes/invoice/controller.cpp",
                            fs::file_time_type::clock::now() + std::chrono::seconds(2));
        std::string cmd = "cd " + shell_quote(p.root().string()) +
                          " && env -u DATABASE_URL sh -c '" + "(" + M_BINARY +
                          " doc list Invoice >/dev/null 2>&1; echo $? > a.rc) & " + "(" + M_BINARY +
                          " doc list Invoice >/dev/null 2>&1; echo $? > b.rc) & wait'";
        REQUIRE(std::system(cmd.c_str()) == 0);
        CHECK(read_file(p.root() / "a.rc") == "0\n");
        CHECK(read_file(p.root() / "b.rc") == "0\n");
        CHECK(p.m({"doc", "list", "Invoice"}).exit_code == 0);
    }
    SECTION("a corrupt module") {
        write_file(module, "garbage");
        fs::last_write_time(module, fs::file_time_type::clock::now() + std::chrono::hours(1));
        auto r = p.m({"doc", "list", "Invoice"});
        CHECK_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, "app 'billing': cannot load"));
    }
    SECTION("a module built for another m") {
        // The same registration m build generates, compiled as an older m would have.
        auto reg = p.root() / "old_register.cpp";
        write_file(reg,
                   "#include <m/app.hpp>\n"
                   "void m_register_invoice(m::AppRegistrar&);\n"
                   "extern \"C\" const char* m_app_abi() { return m::k_app_abi; }\n"
                   "extern \"C\" int m_app_register(m::AppRegistrar* r, char*, std::size_t) {\n"
                   "    m_register_invoice(*r);\n    return 0;\n}\n");
        std::string cmd =
            "c++ -std=c++20 -shared -fPIC -DJSON_USE_IMPLICIT_CONVERSIONS=0 "
            "-DM_VERSION='\"0.0.1-old\"' -I" +
            shell_quote(std::string(M_SOURCE_DIR) + "/core/include") + " -o " +
            shell_quote(module.string()) + " " + shell_quote(reg.string()) + " " +
            shell_quote((p.root() / "apps/billing/doctypes/invoice/controller.cpp").string());
        REQUIRE(std::system(cmd.c_str()) == 0);
        auto r = p.m({"doc", "list", "Invoice"});
        CHECK_EXIT(r, 1);
        CHECK(contains(r.err, "module built for m-0.0.1-old"));
    }
    SECTION("a controller for an unknown DocType") {
        write_file(p.root() / "apps/billing/doctypes/invoice/controller.cpp",
                   "#include <m/app.hpp>\nvoid m_register_invoice(m::AppRegistrar& app) {\n"
                   "    app.controller<m::Controller>(\"Invoce\");\n}\n");
        auto r = p.m({"build"});
        CHECK_EXIT(r, 1);
        CHECK(contains(r.err, "app 'billing' registers a controller for unknown DocType 'Invoce'"));
    }
}

TEST_CASE("M_ENV=production compiles no app code and refuses a folder others may write to",
          "[commands][build][security]") {
    Project p("sqlite");
    add_billing(p);
    write_file(p.root() / "apps/billing/doctypes/invoice/controller.cpp", k_invoice_controller);
    const std::map<std::string, std::string> production{{"M_ENV", "production"}};

    // Not built: production says so instead of compiling.
    auto unbuilt = p.m({"doc", "list", "Customer"}, "", production);
    CHECK_EXIT(unbuilt, 1);
    CHECK(contains(unbuilt.err, "not built; run `m build`"));
    CHECK_FALSE(contains(unbuilt.err, "building app"));

    REQUIRE_EXIT(p.m({"build"}), 0);
    REQUIRE_EXIT(p.m({"migrate"}), 0);
    // C++ newer than its module: loaded as `m build` made it, with a warning, never rebuilt.
    const auto module = p.root() / ".m/modules/billing.so";
    const auto built_at = fs::last_write_time(module);
    fs::last_write_time(p.root() / "apps/billing/doctypes/invoice/controller.cpp",
                        built_at + std::chrono::seconds(10));
    auto stale = p.m({"doc", "list", "Customer"}, "", production);
    REQUIRE_EXIT(stale, 0);
    CHECK(contains(stale.err, "production loads what `m build` made"));
    CHECK(fs::last_write_time(module) == built_at);

    // A project folder others may write to: m serve and m worker refuse to start.
    fs::permissions(p.root() / "apps", fs::perms::others_write, fs::perm_options::add);
    for (const std::vector<std::string>& command :
         {std::vector<std::string>{"serve", "--port", "0"}, std::vector<std::string>{"worker"}}) {
        auto refused = p.m(command, "", production);
        CHECK_EXIT(refused, 1);
        CHECK(is_one_line(refused.err));
        CHECK(contains(refused.err, "may be written by others"));
    }
}
