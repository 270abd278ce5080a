#include "support.hpp"

#include <sys/resource.h>

#include "m/adapters/postgres/postgres_database.hpp"
#include "m/adapters/sqlite/sqlite_database.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <sys/wait.h>

namespace m::test {

namespace fs = std::filesystem;

namespace {

std::string random_suffix() {
    std::random_device rd;
    std::mt19937_64 gen(rd());
    return std::to_string(gen() % 1000000000ULL);
}

} // namespace

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

TempDir::TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "m-test-XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    if (!made) throw std::runtime_error("mkdtemp failed");
    m_path = made;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
}

void write_file(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << content;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

RunResult run_m(const std::vector<std::string>& args, const fs::path& cwd,
                const std::map<std::string, std::string>& env, const std::string& input) {
    TempDir io;
    write_file(io.path() / "in", input);
    std::string cmd = "cd " + shell_quote(cwd.string()) +
                      " && env -u DATABASE_URL -u M_PROJECT -u INSTALLED_APPS -u M_LOG_LEVEL";
    for (const auto& [k, v] : env) cmd += " " + shell_quote(k + "=" + v);
    cmd += " " + shell_quote(M_BINARY);
    for (const auto& a : args) cmd += " " + shell_quote(a);
    cmd += " < " + shell_quote((io.path() / "in").string());
    cmd += " > " + shell_quote((io.path() / "out").string());
    cmd += " 2> " + shell_quote((io.path() / "err").string());
    int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_file(io.path() / "out");
    r.err = read_file(io.path() / "err");
    return r;
}

std::size_t raise_fd_limit() {
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
    return static_cast<std::size_t>(lim.rlim_cur);
}

std::vector<std::string> database_kinds() {
    std::vector<std::string> kinds{"sqlite"};
    const char* url = std::getenv("M_TEST_POSTGRES_URL");
    if (url && *url) {
        kinds.push_back("postgres");
    } else if (service_required("POSTGRES")) {
        FAIL("PostgreSQL required (M_TEST_REQUIRE_POSTGRES=1) but M_TEST_POSTGRES_URL is unset");
    }
    return kinds;
}

std::pair<std::string, std::shared_ptr<void>> scratch_postgres() {
    const char* admin_url = std::getenv("M_TEST_POSTGRES_URL");
    REQUIRE(admin_url);
    std::string admin(admin_url);
    std::string name = "m_test_" + random_suffix();
    auto admin_db = std::make_shared<adapters::postgres::PostgresDatabase>(admin, 1);
    admin_db->start();
    admin_db->session()->execute("CREATE DATABASE " + name);
    // Replace the database path of the URL: postgresql://user@host:port/<db>[?query]
    auto scheme = admin.find("://");
    auto slash = admin.find('/', scheme + 3);
    auto query = admin.find('?', scheme + 3);
    std::string url = admin.substr(0, slash == std::string::npos ? query : slash) + "/" + name +
                      (query == std::string::npos ? "" : admin.substr(query));
    std::shared_ptr<void> drop(nullptr, [admin_db, name](void*) {
        try {
            admin_db->session()->execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        } catch (const std::exception&) {
            // Best effort: the cluster is thrown away after the run anyway.
        }
        admin_db->stop();
    });
    return {url, drop};
}

TestDatabase make_database(const std::string& kind, const fs::path& dir) {
    TestDatabase t;
    t.kind = kind;
    if (kind == "sqlite") {
        t.url = "sqlite://" + (dir / "test.sqlite3").string();
        t.db = std::make_unique<adapters::sqlite::SqliteDatabase>(dir / "test.sqlite3", 4);
    } else {
        auto [url, cleanup] = scratch_postgres();
        t.url = url;
        t.cleanup = cleanup;
        t.db = std::make_unique<adapters::postgres::PostgresDatabase>(url, 4);
    }
    t.db->start();
    return t;
}

} // namespace m::test
