#include "m/core/error.hpp"
#include "m/core/settings.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

using m::core::Error;
using m::test::TempDir;
using m::test::write_file;

namespace {
m::core::EnvLookup env_of(std::map<std::string, std::string> vars) {
    return [vars](const std::string& k) -> std::optional<std::string> {
        auto it = vars.find(k);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}
} // namespace

TEST_CASE("flags beat env, env beats .env, .env beats the file", "[settings]") {
    TempDir dir;
    write_file(
        dir.path() / "framework_config.toml",
        "[database]\npool_size = 3\n[log]\nlevel = \"warn\"\n[apps]\ninstalled = [\"a\", \"b\"]\n");
    m::core::SettingsFlags flags;
    flags.project_dir = dir.path();

    auto s = m::core::load_settings(flags, env_of({}));
    CHECK(s.db_pool_size == 3);
    CHECK(s.log_level == "warn");
    CHECK(s.installed_apps == std::vector<std::string>{"a", "b"});
    CHECK(s.sources["log.level"] == "framework_config.toml");

    write_file(dir.path() / ".env", "M_LOG_LEVEL=debug\nM_DB_POOL_SIZE='5'\n# comment\nOTHER=1\n");
    s = m::core::load_settings(flags, env_of({}));
    CHECK(s.log_level == "debug");
    CHECK(s.db_pool_size == 5);
    CHECK(s.sources["log.level"] == ".env");

    s = m::core::load_settings(flags, env_of({{"M_LOG_LEVEL", "error"}, {"INSTALLED_APPS", "c"}}));
    CHECK(s.log_level == "error");
    CHECK(s.installed_apps == std::vector<std::string>{"c"});
    CHECK(s.sources["log.level"] == "env");

    flags.log_level = "trace";
    s = m::core::load_settings(flags, env_of({{"M_LOG_LEVEL", "error"}}));
    CHECK(s.log_level == "trace");
    CHECK(s.sources["log.level"] == "flag");
}

TEST_CASE("the project is found upward from a subfolder", "[settings]") {
    TempDir dir;
    write_file(dir.path() / "framework_config.toml", "");
    std::filesystem::create_directories(dir.path() / "apps" / "x" / "deep");
    auto root = m::core::find_project_root(dir.path() / "apps" / "x" / "deep");
    REQUIRE(root);
    CHECK(std::filesystem::equivalent(*root, dir.path()));
    auto s = m::core::load_settings({}, env_of({{"M_PROJECT", dir.path().string()}}));
    CHECK(s.effective_database_url() == "sqlite://" + (dir.path() / ".m" / "m.sqlite3").string());
}

TEST_CASE("bad settings are refused with file, key and reason", "[settings][bad-input]") {
    TempDir dir;
    m::core::SettingsFlags flags;
    flags.project_dir = dir.path();
    SECTION("unknown key") {
        write_file(dir.path() / "framework_config.toml", "[database]\nurll = \"x\"\n");
        CHECK_THROWS_WITH(m::core::load_settings(flags, env_of({})),
                          "framework_config.toml: unknown key 'database.urll'");
    }
    SECTION("bad value") {
        write_file(dir.path() / "framework_config.toml", "[database]\npool_size = \"x\"\n");
        CHECK_THROWS_WITH(m::core::load_settings(flags, env_of({})),
                          Catch::Contains("key 'database.pool_size': expected an integer"));
    }
    SECTION("bad env value") {
        write_file(dir.path() / "framework_config.toml", "");
        CHECK_THROWS_WITH(
            m::core::load_settings(flags, env_of({{"M_LOG_LEVEL", "loud"}})),
            Catch::Contains("environment variable M_LOG_LEVEL: 'loud' is not a log level"));
    }
    SECTION("bad database URL, password masked") {
        write_file(dir.path() / "framework_config.toml", "");
        try {
            m::core::load_settings(flags, env_of({{"DATABASE_URL", "mysql://u:hunter2@h/db"}}));
            FAIL("accepted");
        } catch (const Error& e) {
            std::string msg = e.what();
            CHECK_THAT(msg, Catch::Contains("DATABASE_URL"));
            CHECK_THAT(msg, !Catch::Contains("hunter2"));
        }
    }
    SECTION("TOML syntax error") {
        write_file(dir.path() / "framework_config.toml", "[database\n");
        CHECK_THROWS_WITH(m::core::load_settings(flags, env_of({})),
                          Catch::StartsWith("framework_config.toml: line 1"));
    }
    SECTION("not a project") {
        CHECK_THROWS_WITH(m::core::load_settings(flags, env_of({})),
                          Catch::Contains("is not an m project"));
    }
}

TEST_CASE("URLs are shown without passwords", "[settings]") {
    CHECK(m::core::mask_url("postgres://u:secret@h:5432/db") == "postgres://u:***@h:5432/db");
    CHECK(m::core::mask_url("postgres://u@h/db") == "postgres://u@h/db");
    CHECK(m::core::mask_url("postgres://u@h/db?sslmode=disable&password=p%40ss&x=1") ==
          "postgres://u@h/db?sslmode=disable&password=***&x=1");
    CHECK(m::core::mask_url("postgres://h/db?password=secret") == "postgres://h/db?password=***");
}
