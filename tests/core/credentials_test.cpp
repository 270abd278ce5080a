// The credentials port on each database (core/credentials.hpp): what authentication reads and
// writes about users, sessions and API keys.
#include "m/core/credentials.hpp"

#include "m/core/accounts.hpp"
#include "m/core/core_app.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"
#include "m/migrations/migrator.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

using m::core::Error;
using m::core::ErrorKind;
using m::core::Json;

TEST_CASE("the credentials port reads passwords, roles and API keys and keeps sessions",
          "[credentials]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            m::test::TempDir dir;
            auto t = m::test::make_database(kind, dir.path());
            m::core::MetaRegistry meta;
            for (auto& dt : m::core::core_doctypes()) meta.add(std::move(dt));
            meta.check_references();
            m::migrations::Migrator migrator(*t.db, meta, dir.path(), {});
            migrator.apply(migrator.plan(), false);
            m::core::DocumentService svc(meta, *t.db);
            const auto key = m::core::new_api_key();
            {
                auto s = t.db->session();
                m::core::UnitOfWork uow(*s);
                m::core::Documents docs(svc, *s, m::test::sys());
                docs.insert("Role", Json{{"role_name", "Sales"}});
                docs.insert("User", Json{{"email", "ann@example.com"},
                                         {"password", "a long secret"},
                                         {"roles", Json::array({Json{{"role", "Sales"}}})}});
                docs.insert("User", Json{{"email", "off@example.com"}, {"enabled", false}});
                docs.insert("ApiKey", Json{{"key_id", key.key_id},
                                           {"secret_hash", key.secret_hash},
                                           {"for_user", "ann@example.com"}});
                uow.commit();
            }
            auto store = m::core::database_credentials(meta, *t.db);

            auto ann = store->password("ann@example.com");
            REQUIRE(ann);
            CHECK(ann->user == "ann@example.com");
            CHECK(m::core::verify_password("a long secret", ann->hash));
            CHECK_FALSE(store->password("nobody@example.com"));
            CHECK(store->password("off@example.com")->hash.empty());

            CHECK(store->roles("ann@example.com") == std::vector<std::string>{"Sales"});
            auto kind_of = [](auto&& fn) {
                try {
                    fn();
                } catch (const Error& e) {
                    return e.kind();
                }
                return ErrorKind::internal;
            };
            CHECK(kind_of([&] { store->roles("nobody@example.com"); }) == ErrorKind::not_found);
            CHECK(kind_of([&] { store->roles("off@example.com"); }) == ErrorKind::permission);

            auto stored = store->api_key(key.key_id);
            REQUIRE(stored);
            CHECK(stored->secret_hash == key.secret_hash);
            CHECK(stored->user == "ann@example.com");
            CHECK(stored->enabled);
            CHECK_FALSE(store->api_key("mk_unknown"));

            const std::string sid = store->open_session("ann@example.com", {"Sales"},
                                                        "2030-01-01 00:00:00.000000", "127.0.0.1");
            auto open = store->session(sid);
            REQUIRE(open);
            CHECK(open->user == "ann@example.com");
            CHECK_FALSE(open->revoked);
            store->revoke_session(sid, "ann@example.com");
            CHECK(store->session(sid)->revoked);
            CHECK_FALSE(store->session("00000000-0000-4000-8000-000000000000"));
            store->revoke_session("00000000-0000-4000-8000-000000000000", "ann@example.com");
        }
    }
}
