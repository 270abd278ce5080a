// Black-box tests of the tooling commands: --version, completions, config show (masking and
// precedence), info, doctor, scaffolding that refuses to overwrite, and finding the project.
#include "project_fixture.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <string>

using namespace m::test;

namespace {

/// Every file under `dir` with its content.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = read_file(e.path());
    }
    return files;
}

/// One setting of `m config show --json`.
json setting(const json& shown, const std::string& key) {
    for (const auto& s : shown.at("settings")) {
        if (s.at("key") == key) return s;
    }
    FAIL("config show has no setting " << key);
    return {};
}

bool have_program(const std::string& name) {
    return std::system(("command -v " + name + " > /dev/null 2>&1").c_str()) == 0;
}

const char* k_config_head = "[project]\nname = \"demo\"\n\n";

} // namespace

TEST_CASE("m --version prints the version without a project", "[commands][tooling]") {
    TempDir empty;
    auto r = run_m({"--version"}, empty.path());
    REQUIRE_EXIT(r, 0);
    CHECK(contains(r.out, M_VERSION));
    CHECK(r.err.empty());
    CHECK(fs::is_empty(empty.path()));
}

TEST_CASE("m --help lists the commands", "[commands][tooling]") {
    TempDir empty;
    auto r = run_m({"--help"}, empty.path());
    REQUIRE_EXIT(r, 0);
    for (const char* cmd : {"new", "migrate", "doc", "config", "info", "doctor", "completions"}) {
        CHECK(contains(r.out, cmd));
    }
}

TEST_CASE("completion scripts match the checked-in copies", "[commands][tooling][completions]") {
    TempDir empty; // no project needed
    for (const std::string shell : {"bash", "zsh", "fish"}) {
        INFO("shell: " << shell);
        auto r = run_m({"completions", shell}, empty.path());
        REQUIRE_EXIT(r, 0);
        CHECK(contains(r.out, "migrate"));
        CHECK(contains(r.out, shell == "fish" ? "-l order-by" : "--order-by"));
        const fs::path checked_in = fs::path(M_SOURCE_DIR) / "completions" / ("m." + shell);
        const std::string expected = fs::exists(checked_in) ? read_file(checked_in) : "";
        if (r.out != expected) {
            FAIL("completions/m." << shell << " is out of date with `m completions " << shell
                                  << "`; regenerate with scripts/update-completions.sh");
        }
    }
}

TEST_CASE("the bash completion script is valid bash and completes commands",
          "[commands][tooling][completions]") {
    TempDir dir;
    auto r = run_m({"completions", "bash"}, dir.path());
    REQUIRE_EXIT(r, 0);
    write_file(dir.path() / "m.bash", r.out);
    const std::string script = (dir.path() / "m.bash").string();
    CHECK(std::system(("bash -n '" + script + "'").c_str()) == 0);

    // Drive the completion function as bash would for `m doc l<TAB>` and `m migrate --p<TAB>`.
    write_file(dir.path() / "drive.sh", "source '" + script +
                                            "'\n"
                                            "COMP_WORDS=(m doc l); COMP_CWORD=2; _m; "
                                            "echo \"${COMPREPLY[*]}\"\n"
                                            "COMP_WORDS=(m migrate --p); COMP_CWORD=2; _m; "
                                            "echo \"${COMPREPLY[*]}\"\n");
    std::string cmd = "bash '" + (dir.path() / "drive.sh").string() + "' > '" +
                      (dir.path() / "drive.out").string() + "' 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::string driven = read_file(dir.path() / "drive.out");
    INFO(driven);
    CHECK(contains(driven, "list"));
    CHECK(contains(driven, "--plan"));

    if (have_program("zsh")) {
        auto z = run_m({"completions", "zsh"}, dir.path());
        write_file(dir.path() / "_m", z.out);
        CHECK(std::system(("zsh -n '" + (dir.path() / "_m").string() + "'").c_str()) == 0);
    }
    if (have_program("fish")) {
        auto f = run_m({"completions", "fish"}, dir.path());
        write_file(dir.path() / "m.fish", f.out);
        CHECK(std::system(
                  ("fish --no-execute '" + (dir.path() / "m.fish").string() + "'").c_str()) == 0);
    }
}

TEST_CASE("config show masks the secret key and the database password", "[commands][tooling]") {
    Project p("sqlite");
    const std::string password = "hunter2Secret";
    write_file(p.root() / "framework_config.toml",
               std::string(k_config_head) + "[database]\nurl = \"postgres://admin:" + password +
                   "@127.0.0.1:5432/shop\"\n");
    // The secret key `m new project` generated into .env.
    std::string dotenv = read_file(p.root() / ".env");
    auto at = dotenv.find("M_SECRET_KEY=");
    REQUIRE(at != std::string::npos);
    std::string key = dotenv.substr(at + 13, dotenv.find('\n', at) - at - 13);
    REQUIRE(key.size() >= 16);

    auto text = p.m({"config", "show"});
    REQUIRE_EXIT(text, 0);
    CHECK(contains(text.out, "security.secret_key"));
    CHECK(contains(text.out, "postgres://admin:***@127.0.0.1:5432/shop"));
    CHECK_FALSE(contains(text.out + text.err, password));
    CHECK_FALSE(contains(text.out + text.err, key));

    auto js = p.m({"--json", "config", "show"});
    REQUIRE_EXIT(js, 0);
    json shown = parse_json(js.out);
    CHECK_FALSE(contains(js.out, password));
    CHECK_FALSE(contains(js.out, key));
    CHECK(setting(shown, "security.secret_key").at("value") != "");
    CHECK(setting(shown, "security.secret_key").at("source") == ".env");

    // Also when the secret comes from the environment.
    auto env = p.m({"config", "show"}, "",
                   {{"M_SECRET_KEY", "EnvironmentSecretValue"},
                    {"DATABASE_URL", "postgres://u:EnvPassw0rd@db.example/x"}});
    REQUIRE_EXIT(env, 0);
    CHECK_FALSE(contains(env.out, "EnvironmentSecretValue"));
    CHECK_FALSE(contains(env.out, "EnvPassw0rd"));
    CHECK(contains(env.out, "db.example"));
}

TEST_CASE("settings precedence: file < .env < environment < flags", "[commands][tooling]") {
    Project p("sqlite");
    write_file(p.root() / "framework_config.toml",
               std::string(k_config_head) +
                   "[database]\npool_size = 3\n\n[log]\nlevel = \"warn\"\n");
    auto show = [&](std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
        auto r = p.m(args, "", env);
        REQUIRE_EXIT(r, 0);
        return parse_json(r.out);
    };
    auto expect = [](const json& shown, const std::string& key, const std::string& value,
                     const std::string& source) {
        INFO(key);
        json s = setting(shown, key);
        CHECK(s.at("value") == value);
        CHECK(s.at("source") == source);
    };

    json file = show({"--json", "config", "show"});
    expect(file, "log.level", "warn", "framework_config.toml");
    expect(file, "database.pool_size", "3", "framework_config.toml");

    std::string dotenv = read_file(p.root() / ".env");
    write_file(p.root() / ".env", dotenv + "M_LOG_LEVEL=debug\nM_DB_POOL_SIZE=5\n");
    json dot = show({"--json", "config", "show"});
    expect(dot, "log.level", "debug", ".env");
    expect(dot, "database.pool_size", "5", ".env");

    const std::map<std::string, std::string> env{{"M_LOG_LEVEL", "trace"}, {"M_DB_POOL_SIZE", "7"}};
    json from_env = show({"--json", "config", "show"}, env);
    expect(from_env, "log.level", "trace", "env");
    expect(from_env, "database.pool_size", "7", "env");

    expect(show({"--json", "--quiet", "config", "show"}, env), "log.level", "error", "flag");
    expect(show({"--json", "config", "show", "-q"}, env), "log.level", "error", "flag");
    expect(show({"--json", "-v", "config", "show"}, env), "log.level", "debug", "flag");
    expect(show({"--json", "config", "show", "--verbose"}, env), "log.level", "debug", "flag");
    // flags do not touch other settings
    expect(show({"--json", "-q", "config", "show"}, env), "database.pool_size", "7", "env");

    // The text form says where each value came from.
    auto text = p.m({"config", "show"}, "", env);
    REQUIRE_EXIT(text, 0);
    CHECK(contains(text.out, "trace"));
    CHECK(contains(text.out, "M_LOG_LEVEL"));
}

TEST_CASE("an unknown key in framework_config.toml is refused naming file and key",
          "[commands][tooling]") {
    Project p("sqlite");
    write_file(p.root() / "framework_config.toml",
               std::string(k_config_head) + "[database]\npool_size = 4\npool_sise = 5\n");
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"config", "show"}, {"migrate"}}) {
        auto r = p.m(args);
        REQUIRE_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, "framework_config.toml"));
        CHECK(contains(r.err, "database.pool_sise"));
    }
    CHECK_FALSE(fs::exists(p.root() / ".m"));

    write_file(p.root() / "framework_config.toml",
               std::string(k_config_head) + "[cache]\nurl = 1\n");
    auto section = p.m({"config", "show"});
    REQUIRE_EXIT(section, 1);
    CHECK(contains(section.err, "framework_config.toml"));
    CHECK(contains(section.err, "cache.url"));
}

TEST_CASE("a bad setting value is refused naming key and reason", "[commands][tooling]") {
    Project p("sqlite");
    write_file(p.root() / "framework_config.toml",
               std::string(k_config_head) + "[database]\npool_size = \"x\"\n");
    auto r = p.m({"config", "show"});
    REQUIRE_EXIT(r, 1);
    CHECK(is_one_line(r.err));
    CHECK(contains(r.err, "framework_config.toml"));
    CHECK(contains(r.err, "pool_size"));
    CHECK(contains(r.err, "integer"));

    write_file(p.root() / "framework_config.toml",
               std::string(k_config_head) + "[database]\npool_size = 0\n");
    auto zero = p.m({"config", "show"});
    REQUIRE_EXIT(zero, 1);
    CHECK(contains(zero.err, "pool_size"));

    write_file(p.root() / "framework_config.toml", k_config_head);
    auto env = p.m({"config", "show"}, "", {{"M_DB_POOL_SIZE", "lots"}});
    REQUIRE_EXIT(env, 1);
    CHECK(is_one_line(env.err));
    CHECK(contains(env.err, "M_DB_POOL_SIZE"));
    CHECK(contains(env.err, "lots"));

    write_file(p.root() / ".env", "M_LOG_LEVEL=loud\n");
    auto dot = p.m({"config", "show"});
    REQUIRE_EXIT(dot, 1);
    CHECK(is_one_line(dot.err));
    CHECK(contains(dot.err, ".env"));
    CHECK(contains(dot.err, "M_LOG_LEVEL"));
    CHECK(contains(dot.err, "loud"));

    write_file(p.root() / ".env", "");
    write_file(p.root() / "framework_config.toml", std::string(k_config_head) + "[log\nlevel=1\n");
    auto syntax = p.m({"config", "show"});
    REQUIRE_EXIT(syntax, 1);
    CHECK(is_one_line(syntax.err));
    CHECK(contains(syntax.err, "framework_config.toml"));
}

TEST_CASE("m info --json lists the apps and DocTypes", "[commands][tooling]") {
    Project p("sqlite");
    p.add_customer();
    REQUIRE_EXIT(p.m({"new", "doctype", "Sales Invoice", "--app", "billing", "--no-controller",
                      "--field", "customer:link:Customer", "--field", "total:decimal"}),
                 0);
    auto r = p.m({"--json", "info"});
    REQUIRE_EXIT(r, 0);
    json j = parse_json(r.out);
    CHECK(j.at("apps") == json::array({"billing"}));
    std::map<std::string, json> by_name;
    for (const auto& dt : j.at("doctypes")) by_name[dt.at("name").get<std::string>()] = dt;
    REQUIRE(by_name.count("Customer"));
    REQUIRE(by_name.count("Sales Invoice"));
    CHECK(by_name["Customer"].at("app") == "billing");
    CHECK(by_name["Customer"].at("table") == "customer");
    CHECK(by_name["Sales Invoice"].at("table") == "sales_invoice");

    auto text = p.m({"info"});
    REQUIRE_EXIT(text, 0);
    CHECK(contains(text.out, "Customer"));
    CHECK(contains(text.out, "Sales Invoice"));
    CHECK(contains(text.out, "billing"));
}

TEST_CASE("m doctor passes on a healthy project and names what is wrong",
          "[commands][tooling][doctor]") {
    for (const auto& kind : database_kinds()) {
        INFO("database: " << kind);
        Project p(kind);
        p.add_customer();

        auto pending = p.m({"doctor"});
        REQUIRE_EXIT(pending, 1);
        CHECK(contains(pending.out + pending.err, "FAIL"));
        CHECK(contains(pending.out + pending.err, "pending"));

        REQUIRE_EXIT(p.m({"migrate"}), 0);
        auto healthy = p.m({"doctor"});
        REQUIRE_EXIT(healthy, 0);
        CHECK_FALSE(contains(healthy.out + healthy.err, "FAIL"));
        CHECK(contains(healthy.out, "database"));

        auto js = p.m({"--json", "doctor"});
        REQUIRE_EXIT(js, 0);
        CHECK(parse_json(js.out).at("ok") == true);
    }

    Project p("sqlite");
    p.add_customer();
    const std::string url = "postgres://nobody:d0ctorSecret@127.0.0.1:1/none";
    auto broken = p.m({"doctor"}, "", {{"DATABASE_URL", url}});
    REQUIRE_EXIT(broken, 1);
    std::string all = broken.out + broken.err;
    CHECK_FALSE(contains(all, "d0ctorSecret"));
    bool named = false;
    std::size_t start = 0;
    while (start < all.size()) {
        auto end = all.find('\n', start);
        std::string line = all.substr(start, end == std::string::npos ? end : end - start);
        if (contains(line, "FAIL") && contains(line, "database") &&
            contains(line, "127.0.0.1:1/none")) {
            named = true;
        }
        if (end == std::string::npos) break;
        start = end + 1;
    }
    INFO(all);
    CHECK(named);
    // Later checks still ran: the settings and metadata were reported too.
    CHECK(contains(all, "metadata"));
}

TEST_CASE("m new project refuses to overwrite an existing project", "[commands][tooling]") {
    TempDir dir;
    REQUIRE_EXIT(run_m({"new", "project", "shop"}, dir.path()), 0);
    fs::path root = dir.path() / "shop";
    REQUIRE_EXIT(run_m({"new", "app", "billing"}, root), 0);
    auto before = snapshot(root);
    REQUIRE(before.count("framework_config.toml"));
    REQUIRE(before.count(".env"));

    auto again = run_m({"new", "project", "shop"}, dir.path());
    REQUIRE_EXIT(again, 1);
    CHECK(is_one_line(again.err));
    CHECK(contains(again.err, "already exists"));
    CHECK(contains(again.err, "shop"));
    CHECK(snapshot(root) == before);

    auto app = run_m({"new", "app", "billing"}, root);
    REQUIRE_EXIT(app, 1);
    CHECK(contains(app.err, "already exists"));
    REQUIRE_EXIT(run_m({"new", "doctype", "Customer", "--app", "billing", "--no-controller"}, root),
                 0);
    auto after_doctype = snapshot(root);
    auto dt = run_m(
        {"new", "doctype", "Customer", "--app", "billing", "--no-controller", "--field", "x:int"},
        root);
    REQUIRE_EXIT(dt, 1);
    CHECK(contains(dt.err, "already exists"));
    CHECK(snapshot(root) == after_doctype);
}

TEST_CASE("new projects get their own secret key", "[commands][tooling]") {
    TempDir dir;
    REQUIRE_EXIT(run_m({"new", "project", "a"}, dir.path()), 0);
    REQUIRE_EXIT(run_m({"new", "project", "b"}, dir.path()), 0);
    std::string a = read_file(dir.path() / "a" / ".env");
    std::string b = read_file(dir.path() / "b" / ".env");
    CHECK(contains(a, "M_SECRET_KEY="));
    CHECK(a != b);
}

TEST_CASE("commands outside a project say so", "[commands][tooling]") {
    TempDir empty;
    for (const auto& args : std::vector<std::vector<std::string>>{{"migrate"},
                                                                  {"doc", "list", "Customer"},
                                                                  {"config", "show"},
                                                                  {"info"},
                                                                  {"new", "app", "billing"}}) {
        std::string shown;
        for (const auto& a : args) shown += " " + a;
        INFO("command: m" << shown);
        auto r = run_m(args, empty.path());
        REQUIRE_EXIT(r, 1);
        CHECK(is_one_line(r.err));
        CHECK(contains(r.err, "not inside an m project"));
    }
    CHECK(fs::is_empty(empty.path()));

    auto flag = run_m({"--project", (empty.path() / "nowhere").string(), "info"}, empty.path());
    REQUIRE_EXIT(flag, 1);
    CHECK(contains(flag.err, "nowhere"));
    CHECK(contains(flag.err, "not an m project"));
}

TEST_CASE("the project is found upward, from --project and from M_PROJECT", "[commands][tooling]") {
    Project p("sqlite");
    p.add_customer();
    auto expect_root = [&](const RunResult& r) {
        REQUIRE_EXIT(r, 0);
        json j = parse_json(r.out);
        CHECK(fs::equivalent(j.at("project_root").get<std::string>(), p.root()));
    };
    expect_root(run_m({"--json", "info"}, p.root() / "apps" / "billing" / "doctypes"));
    expect_root(run_m({"--json", "--project", p.root().string(), "info"}, p.parent()));
    expect_root(run_m({"--json", "info"}, p.parent(), {{"M_PROJECT", p.root().string()}}));
}
