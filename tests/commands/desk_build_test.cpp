// `m new app --with-frontend` and the Desk part of `m build` (docs/reference/desk.md, "Plugins"):
// a project's plugins are built into its own Desk (.m/desk) by the Desk's Vite, in monolith or MFE
// mode; without plugins m serve keeps the Desk that comes with m; bad input is named.
#include "project_fixture.hpp"

#include <fstream>
#include <sstream>

using namespace m::test;

namespace {

std::string read_all(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Whether the Desk's npm packages are installed (scripts/desk.sh), so Vite can run.
bool desk_installed() {
    return fs::exists(fs::path(M_SOURCE_DIR) / "desk/node_modules/vite/bin/vite.js");
}

} // namespace

TEST_CASE("m new app --with-frontend scaffolds a Desk plugin; refuses to overwrite",
          "[commands][desk]") {
    Project p("sqlite");
    auto made = p.m({"new", "app", "sales_report", "--with-frontend"});
    REQUIRE_EXIT(made, 0);
    const fs::path fe = p.root() / "apps/sales_report/frontend";
    json package = parse_json(read_all(fe / "package.json"));
    CHECK(package["framework-m"]["type"] == "frontend-module");
    CHECK(package["framework-m"]["plugin"] == "./src/plugin.config.ts");
    std::string config = read_all(fe / "src/plugin.config.ts");
    CHECK(contains(config, "definePlugin"));
    CHECK(contains(config, R"(path: "/sales_report")"));
    CHECK(contains(config, R"(label: "Sales Report")"));
    CHECK(contains(read_all(fe / "src/SalesReportPage.tsx"), "export function SalesReportPage"));

    auto again = p.m({"new", "app", "sales_report", "--with-frontend"});
    CHECK_EXIT(again, 1);
    CHECK(is_one_line(again.err));
    // An app without the flag has no frontend.
    REQUIRE_EXIT(p.m({"new", "app", "plain"}), 0);
    CHECK_FALSE(fs::exists(p.root() / "apps/plain/frontend"));
}

TEST_CASE("m build: the Desk with the project's plugins, monolith and MFE; errors named",
          "[commands][desk]") {
    Project p("sqlite");
    REQUIRE_EXIT(p.m({"new", "app", "reports", "--with-frontend"}), 0);
    const fs::path desk = p.root() / ".m/desk";

    SECTION("--no-desk builds no Desk and needs no Node.js") {
        auto r = p.m({"build", "--no-desk"}, "", {{"PATH", "/nonexistent"}});
        REQUIRE_EXIT(r, 0);
        CHECK_FALSE(fs::exists(desk));
    }
    SECTION("without Node.js on PATH: one line that says so, and what to do") {
        auto r = p.m({"build"}, "", {{"PATH", "/nonexistent"}});
        CHECK_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, "Node.js"));
        CHECK(contains(r.err, "--no-desk"));
        CHECK_FALSE(fs::exists(desk));
    }
    SECTION("a frontend/package.json that is not JSON is named") {
        write_file(p.root() / "apps/reports/frontend/package.json", "{ not json");
        auto r = p.m({"build"});
        CHECK_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, "apps/reports/frontend/package.json"));
    }
    SECTION("a bad --desk-mode is a usage error") {
        CHECK_EXIT(p.m({"build", "--desk-mode", "bundle"}), 2);
    }
    SECTION("the plugin is built into .m/desk; removing it returns to the built-in Desk") {
        if (!desk_installed()) {
            if (service_required("NODE")) FAIL("desk/node_modules missing: scripts/desk.sh");
            WARN("the Desk's npm packages are not installed (scripts/desk.sh): Vite part skipped");
            return;
        }
        auto r = p.m({"build", "--json"});
        REQUIRE_EXIT(r, 0);
        json report = parse_json(r.out);
        CHECK(report["desk"]["status"] == "built");
        CHECK(report["desk"]["plugins"] == json::array({"reports"}));
        REQUIRE(fs::is_regular_file(desk / "index.html"));
        // Monolith: the plugin's page is inside the Desk's own JavaScript.
        bool found = false;
        for (const auto& f : fs::recursive_directory_iterator(desk)) {
            if (f.path().extension() == ".js" && contains(read_all(f.path()), "reports-page")) {
                found = true;
            }
        }
        CHECK(found);

        // MFE: one entry point per plugin, listed in a manifest the shell reads at run time.
        REQUIRE_EXIT(p.m({"build", "--desk-mode", "mfe"}), 0);
        json manifest = parse_json(read_all(desk / "plugins/manifest.json"));
        REQUIRE(manifest.is_array());
        REQUIRE(manifest.size() == 1);
        CHECK(manifest[0]["name"] == "@reports/desk");

        fs::remove_all(p.root() / "apps/reports/frontend");
        auto back = p.m({"build"});
        REQUIRE_EXIT(back, 0);
        CHECK(contains(back.out, "no plugins"));
        CHECK_FALSE(fs::exists(desk));
    }
}
