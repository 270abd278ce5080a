// Secrets and data on disk are the owner's only (docs/ARCHITECTURE.md, threat model): the signing
// key in .env, the SQLite database with password and API-key hashes, the .m folder; `m doctor`
// warns when they are not.
#include "project_fixture.hpp"

#include <sys/stat.h>

using namespace m::test;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return static_cast<unsigned>(st.st_mode) & 0777U;
}

} // namespace

TEST_CASE("new projects keep .env, .m and the database to their owner; doctor warns otherwise",
          "[commands][security]") {
    Project p("sqlite");
    CHECK(mode_of(p.root() / ".env") == 0600U);
    p.add_customer();
    REQUIRE_EXIT(p.m({"migrate"}), 0);
    CHECK(mode_of(p.root() / ".m") == 0700U);
    CHECK(mode_of(p.root() / ".m" / "m.sqlite3") == 0600U);

    auto clean = p.m({"doctor"});
    REQUIRE_EXIT(clean, 0);
    CHECK_FALSE(contains(clean.out, "WARN"));

    fs::permissions(p.root() / ".env", fs::perms::others_read, fs::perm_options::add);
    auto loose = p.m({"doctor"});
    REQUIRE_EXIT(loose, 0); // a warning, not a failure
    CHECK(contains(loose.out, "WARN"));
    CHECK(contains(loose.out, ".env is 604"));
    auto js = p.m({"--json", "doctor"});
    CHECK(contains(js.out, "\"warning\":true"));
}
