// Shared test helpers: temporary folders, running the built `m` as a user would, and the
// databases every contract test runs against (SQLite always, PostgreSQL when the test script
// started one and exported M_TEST_POSTGRES_URL).
#pragma once

#include "m/core/database.hpp"
#include "m/core/permissions.hpp"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace m::test {

/// A fresh folder under $TMPDIR, removed (recursively) on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const noexcept { return m_path; }

private:
    std::filesystem::path m_path;
};

/// What a run of `m` produced.
struct RunResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Runs the built `m` with `args` in `cwd`, with extra environment variables and stdin text.
/// DATABASE_URL, M_PROJECT and INSTALLED_APPS of the test process are cleared unless given.
RunResult run_m(const std::vector<std::string>& args, const std::filesystem::path& cwd,
                const std::map<std::string, std::string>& env = {}, const std::string& input = "");

/// `s` in single quotes for sh, with embedded quotes escaped.
std::string shell_quote(const std::string& s);

/// Writes a file, creating its folders.
void write_file(const std::filesystem::path& path, const std::string& content);
std::string read_file(const std::filesystem::path& path);

/// A database to run a contract test against; owns a scratch database on PostgreSQL.
struct TestDatabase {
    std::string kind; ///< "sqlite" or "postgres"
    std::string url;
    std::shared_ptr<void> cleanup;      ///< drops the scratch database (after db is stopped)
    std::unique_ptr<core::Database> db; ///< started
};

/// Whether the test command requires `service` (POSTGRES, NATS, REDIS, NODE): the environment
/// says M_TEST_REQUIRE_<service>=1. A required service that is missing fails the test; one that
/// is not required and missing skips it with a WARN. Every test asks this, the same way.
inline bool service_required(const std::string& service) {
    const char* value = std::getenv(("M_TEST_REQUIRE_" + service).c_str());
    return value && std::string(value) == "1";
}

/// Raises this process's open-file limit to its hard limit (tests holding thousands of sockets)
/// and returns the limit now in force.
std::size_t raise_fd_limit();

/// Every database to test: SQLite always; PostgreSQL when M_TEST_POSTGRES_URL is set. When
/// M_TEST_REQUIRE_POSTGRES=1 and the URL is missing, fails the test.
std::vector<std::string> database_kinds();

/// A started database of `kind` with a fresh, empty schema.
TestDatabase make_database(const std::string& kind, const std::filesystem::path& dir);

/// URL of a fresh scratch PostgreSQL database (dropped when the returned handle dies).
std::pair<std::string, std::shared_ptr<void>> scratch_postgres();

/// The system acting under the name `user` (what it writes names them; every check passes):
/// for tests of the document rules that are not about permissions.
inline core::Principal acting(std::string user) {
    return core::Principal::of(std::move(user), {}).elevated();
}

/// The system, for reads in tests that are not about permissions.
inline core::Principal sys() {
    return core::Principal::system_user();
}

} // namespace m::test
