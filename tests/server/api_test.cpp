// The REST API of `m serve` against a running server, on SQLite and PostgreSQL: the flow of the
// issue, every bad input, tokens, permissions, row-level security and live updates.
#include "server_fixture.hpp"

#include "m/core/crypto.hpp"
#include "m/server/jwt.hpp"

using namespace m::test;

TEST_CASE("serve: log in, create, read, list, update, delete", "[api]") {
    for (const auto& kind : database_kinds()) {
        DYNAMIC_SECTION(kind) {
            ServedProject sp(kind);
            auto c = sp.server->client();

            auto bad = c.Post("/api/v1/auth/login",
                              json{{"email", "alice@test"}, {"password", "wrong-password"}}.dump(),
                              "application/json");
            REQUIRE_STATUS(bad, 401);
            auto nobody = c.Post("/api/v1/auth/login",
                                 json{{"email", "nobody@test"}, {"password", "whatever1"}}.dump(),
                                 "application/json");
            REQUIRE_STATUS(nobody, 401);
            CHECK(body_of(bad)["message"] == body_of(nobody)["message"]);

            auto login = c.Post("/api/v1/auth/login",
                                json{{"username", "alice@test"}, {"password", k_password}}.dump(),
                                "application/json");
            REQUIRE_STATUS(login, 200);
            json tokens = body_of(login);
            CHECK(tokens["token_type"] == "bearer");
            CHECK(tokens["expires_in"].get<long long>() > 0);
            CHECK(tokens["refresh_token"].is_string());
            CHECK(login->get_header_value("Set-Cookie").find("HttpOnly") != std::string::npos);
            std::string alice = tokens["access_token"].get<std::string>();

            json me = body_of(c.Get("/api/v1/auth/me", bearer(alice)));
            CHECK(me["authenticated"] == true);
            CHECK(me["email"] == "alice@test");
            CHECK(me["roles"] == json::array({"Staff", "Sales User"}));
            CHECK(body_of(c.Get("/api/v1/auth/me"))["authenticated"] == false);

            for (int i = 0; i < 5; ++i) {
                json cust = create(
                    c, alice, "Customer",
                    {{"customer_name", "Cust " + std::to_string(i)}, {"credit_limit", i * 100}});
                CHECK(cust["name"] == "Cust " + std::to_string(i));
                CHECK(cust["owner"] == "alice@test");
                CHECK(cust["status"] == "Active");
            }

            // By id and by name.
            json first = body_of(c.Get("/api/v1/Customer/Cust%200", bearer(alice)));
            json by_id = body_of(c.Get(
                ("/api/v1/Customer/" + first["id"].get<std::string>()).c_str(), bearer(alice)));
            CHECK(by_id == first);

            // Filters (both syntaxes), order_by, fields, paging, counts.
            auto list = [&](const std::string& query) {
                auto r = c.Get(("/api/v1/Customer?" + query).c_str(), bearer(alice));
                REQUIRE_STATUS(r, 200);
                return json::parse(r->body);
            };
            json gt = list("filters=" +
                           url_encode(R"([{"field":"credit_limit","operator":"gt","value":100}])") +
                           "&order_by=-credit_limit&limit=2");
            CHECK(gt["total"] == 3);
            CHECK(gt["limit"] == 2);
            CHECK(gt["has_more"] == true);
            REQUIRE(gt["items"].size() == 2);
            CHECK(gt["items"][0]["name"] == "Cust 4");
            CHECK(gt["items"][1]["name"] == "Cust 3");
            json frappe = list("filters=" + url_encode(R"([["credit_limit",">=",300]])") +
                               "&fields=" + url_encode("customer_name,credit_limit") +
                               "&order_by=credit_limit&count=none");
            CHECK(frappe["total"].is_null());
            CHECK(frappe["has_more"] == false);
            REQUIRE(frappe["items"].size() == 2);
            CHECK(frappe["items"][0].contains("credit_limit"));
            CHECK_FALSE(frappe["items"][0].contains("status"));
            json paged = list("order_by=name&limit=2&offset=4&count=estimated");
            CHECK(paged["items"].size() == 1);
            CHECK(paged["offset"] == 4);
            CHECK(paged["has_more"] == false);
            json between = list(
                "filters=" +
                url_encode(R"([{"field":"credit_limit","operator":"between","value":[100,200]}])"));
            CHECK(between["total"] == 2);
            json in = list(
                "filters=" +
                url_encode(R"([{"field":"name","operator":"in","value":["Cust 1","Cust 2"]}])"));
            CHECK(in["total"] == 2);

            // Partial update with optimistic concurrency.
            std::string modified = first["modified"].get<std::string>();
            auto upd = c.Put("/api/v1/Customer/Cust%200", bearer(alice),
                             json{{"credit_limit", 50}, {"modified", modified}}.dump(),
                             "application/json");
            REQUIRE_STATUS(upd, 200);
            json updated = body_of(upd);
            CHECK(updated["credit_limit"] == 50);
            CHECK(updated["customer_name"] == "Cust 0");
            CHECK(updated["modified"] != modified);
            auto stale = c.Put("/api/v1/Customer/Cust%200", bearer(alice),
                               json{{"credit_limit", 60}, {"modified", modified}}.dump(),
                               "application/json");
            REQUIRE_STATUS(stale, 409);
            CHECK(body_of(stale)["error"] == "Conflict");
            auto h = bearer(alice);
            h.emplace("If-Match", "\"" + modified + "\"");
            REQUIRE_STATUS(c.Put("/api/v1/Customer/Cust%200", h, json{{"credit_limit", 70}}.dump(),
                                 "application/json"),
                           409);
            auto h2 = bearer(alice);
            h2.emplace("If-Match", "\"" + updated["modified"].get<std::string>() + "\"");
            REQUIRE_STATUS(c.Put("/api/v1/Customer/Cust%200", h2, json{{"credit_limit", 80}}.dump(),
                                 "application/json"),
                           200);
            CHECK(body_of(c.Get("/api/v1/Customer/Cust%200", bearer(alice)))["credit_limit"] == 80);

            // Delete.
            if (kind == "postgres") {
                // count=estimated takes the planner's figure for a large unfiltered table (here
                // made to look large), and counts exactly when filtered.
                REQUIRE(std::system(("psql -q " + shell_quote(sp.project.env().at("DATABASE_URL")) +
                                     " -c \"UPDATE pg_class SET reltuples = 250000 WHERE oid = "
                                     "'customer'::regclass\" > /dev/null")
                                        .c_str()) == 0);
                json est = list("count=estimated&limit=2");
                CHECK(est["total"] == 250000);
                CHECK(est["has_more"] == true);
                CHECK(est["items"].size() == 2);
                CHECK(list("count=exact&limit=2")["total"] == 5);
                CHECK(list("count=estimated&filters=" +
                           url_encode(R"([["credit_limit",">",150]])"))["total"] == 3);
            }

            auto del = c.Delete("/api/v1/Customer/Cust%204", bearer(alice));
            REQUIRE(del);
            CHECK(del->status == 204);
            REQUIRE_STATUS(c.Get("/api/v1/Customer/Cust%204", bearer(alice)), 404);
            CHECK(list("")["total"] == 4);
        }
    }
}

TEST_CASE("serve: bad input gets a precise error and changes nothing", "[api]") {
    for (const auto& kind : database_kinds()) {
        DYNAMIC_SECTION(kind) {
            ServedProject sp(kind, {{"M_MAX_BODY", "4096"}});
            auto c = sp.server->client();
            std::string t = sp.token("alice@test");
            create(c, t, "Customer", {{"customer_name", "Keep"}, {"credit_limit", 10}});

            auto post = [&](const std::string& body) {
                return c.Post("/api/v1/Customer", bearer(t), body, "application/json");
            };
            auto malformed = post(R"({"customer_name": "x",)");
            REQUIRE_STATUS(malformed, 400);
            CHECK(body_of(malformed)["error"] == "ValidationError");
            REQUIRE_STATUS(post("[1,2]"), 400);
            REQUIRE_STATUS(post(json{{"customer_name", std::string(8000, 'x')}}.dump()), 413);
            auto unknown = post(R"({"customer_name": "U", "colour": "red"})");
            REQUIRE_STATUS(unknown, 400);
            CHECK(body_of(unknown)["message"].get<std::string>().find("colour") !=
                  std::string::npos);
            auto wrong_type = post(R"({"customer_name": "W", "credit_limit": "lots"})");
            REQUIRE_STATUS(wrong_type, 400);
            // Each field error says where it is and what kind it is (docs/reference/http-api.md).
            CHECK(body_of(wrong_type)["details"] ==
                  json::array({json{{"field", "credit_limit"},
                                    {"row", nullptr},
                                    {"child", nullptr},
                                    {"code", "invalid"},
                                    {"message", body_of(wrong_type)["details"][0]["message"]}}}));
            CHECK(body_of(unknown)["details"][0]["code"] == "unknown_field");
            CHECK(body_of(unknown)["details"][0]["field"] == "colour");
            REQUIRE_STATUS(post(R"({"customer_name": "N", "credit_limit": -5})"), 400);
            REQUIRE_STATUS(post(R"({"customer_name": "S", "status": "Gone"})"), 400);
            auto duplicate = post(R"({"customer_name": "Keep"})");
            REQUIRE_STATUS(duplicate, 409);
            // Named by customer_name: the Desk shows the conflict on that field.
            CHECK(body_of(duplicate)["details"]["field"] == "customer_name");
            CHECK(body_of(duplicate)["details"]["reason"] == "duplicate_name");

            REQUIRE_STATUS(c.Get("/api/v1/Nope", bearer(t)), 404);
            REQUIRE_STATUS(c.Get("/api/v1/Order%20Item", bearer(t)), 404); // child table
            REQUIRE_STATUS(c.Get("/api/v1/Customer?fields=colour", bearer(t)), 400);
            REQUIRE_STATUS(c.Get("/api/v1/Customer?order_by=colour", bearer(t)), 400);
            REQUIRE_STATUS(
                c.Get(
                    ("/api/v1/Customer?filters=" + url_encode(R"([["colour","=","red"]])")).c_str(),
                    bearer(t)),
                400);
            REQUIRE_STATUS(
                c.Get(
                    ("/api/v1/Customer?filters=" + url_encode(R"([["name","regex","x"]])")).c_str(),
                    bearer(t)),
                400);
            REQUIRE_STATUS(c.Get("/api/v1/Customer?limit=abc", bearer(t)), 400);
            REQUIRE_STATUS(c.Get("/api/v1/Customer?limit=5000", bearer(t)), 400);
            REQUIRE_STATUS(c.Get("/api/v1/Customer?count=maybe", bearer(t)), 400);
            REQUIRE_STATUS(c.Get("/api/v1/Customer?filters=notjson", bearer(t)), 400);

            // SQL fragments anywhere are refused or treated as plain values.
            for (const std::string& evil : {std::string("name; DROP TABLE customer; --"),
                                            std::string("name desc, (SELECT 1)"),
                                            std::string("-modified); DELETE FROM customer; --")}) {
                REQUIRE_STATUS(
                    c.Get(("/api/v1/Customer?order_by=" + url_encode(evil)).c_str(), bearer(t)),
                    400);
                REQUIRE_STATUS(
                    c.Get(("/api/v1/Customer?fields=" + url_encode(evil)).c_str(), bearer(t)), 400);
            }
            json literal = body_of(c.Get(("/api/v1/Customer?filters=" +
                                          url_encode(R"([["customer_name","=","x' OR '1'='1"]])"))
                                             .c_str(),
                                         bearer(t)));
            CHECK(literal["total"] == 0);
            REQUIRE_STATUS(
                c.Get(("/api/v1/Customer/" + url_encode("x' OR '1'='1")).c_str(), bearer(t)), 404);

            // Nothing of the above was written.
            json all = body_of(c.Get("/api/v1/Customer", bearer(t)));
            CHECK(all["total"] == 1);
            CHECK(all["items"][0]["name"] == "Keep");
            CHECK(all["items"][0]["credit_limit"] == 10);

            // Unknown routes answer the JSON error too.
            REQUIRE_STATUS(c.Get("/api/v2/anything"), 404);
        }
    }
}

TEST_CASE("serve: tokens, API keys and role permissions", "[api]") {
    for (const auto& kind : database_kinds()) {
        DYNAMIC_SECTION(kind) {
            ServedProject sp(kind);
            auto c = sp.server->client();

            REQUIRE_STATUS(c.Get("/api/v1/Customer"), 401);
            auto unsupported = c.Get("/api/v1/Customer", {{"Authorization", "Basic YTpi"}});
            REQUIRE_STATUS(unsupported, 401);

            std::int64_t now = std::time(nullptr);
            json claims{{"sub", "alice@test"},
                        {"roles", {"Sales User"}},
                        {"typ", "access"},
                        {"iat", now - 7200},
                        {"exp", now - 3600}};
            auto expired =
                c.Get("/api/v1/Customer", bearer(m::server::jwt_sign(claims, k_test_secret)));
            REQUIRE_STATUS(expired, 401);
            CHECK(body_of(expired)["message"].get<std::string>().find("expired") !=
                  std::string::npos);

            std::string alice = sp.token("alice@test");
            // Tampered payload: roles raised to Admin, signature kept.
            auto dot1 = alice.find('.');
            auto dot2 = alice.find('.', dot1 + 1);
            json payload =
                json::parse(m::core::base64url_decode(alice.substr(dot1 + 1, dot2 - dot1 - 1)));
            payload["roles"] = json::array({"Admin"});
            std::string tampered = alice.substr(0, dot1 + 1) +
                                   m::core::base64url_encode(payload.dump()) + alice.substr(dot2);
            REQUIRE_STATUS(c.Get("/api/v1/User", bearer(tampered)), 401);
            // alg "none", unsigned.
            std::string none = m::core::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                               m::core::base64url_encode(payload.dump()) + ".";
            REQUIRE_STATUS(c.Get("/api/v1/User", bearer(none)), 401);
            // Signed with another key.
            claims["exp"] = now + 600;
            REQUIRE_STATUS(c.Get("/api/v1/Customer",
                                 bearer(m::server::jwt_sign(claims, "another-secret-0123456789"))),
                           401);

            // A valid token without the role: 403. Admin may do everything.
            std::string carol = sp.token("carol@test");
            auto forbidden = c.Get("/api/v1/Customer", bearer(carol));
            REQUIRE_STATUS(forbidden, 403);
            CHECK(body_of(forbidden)["error"] == "PermissionDenied");
            REQUIRE_STATUS(c.Post("/api/v1/Customer", bearer(carol), R"({"customer_name":"X"})",
                                  "application/json"),
                           403);
            REQUIRE_STATUS(c.Get("/api/v1/User", bearer(alice)), 403);
            std::string admin = sp.token("admin@test");
            json users = body_of(c.Get("/api/v1/User", bearer(admin)));
            CHECK(users["total"] == 4);
            for (const auto& u : users["items"]) CHECK_FALSE(u.contains("password"));

            // API keys (made with `m user apikey`).
            auto key = sp.project.m({"user", "apikey", "alice@test", "--label", "ci"});
            REQUIRE_EXIT(key, 0);
            std::string api_key = key.out.substr(0, key.out.find('\n'));
            REQUIRE_STATUS(c.Get("/api/v1/Customer", {{"X-API-Key", api_key}}), 200);
            REQUIRE_STATUS(c.Get("/api/v1/Customer", {{"X-API-Key", api_key + "x"}}), 401);
            REQUIRE_STATUS(c.Get("/api/v1/Customer", {{"X-API-Key", "garbage"}}), 401);

            // Refresh, then logout ends both tokens.
            auto login = c.Post("/api/v1/auth/login",
                                json{{"email", "bob@test"}, {"password", k_password}}.dump(),
                                "application/json");
            json pair = body_of(login);
            auto refreshed =
                c.Post("/api/v1/auth/refresh",
                       json{{"refresh_token", pair["refresh_token"]}}.dump(), "application/json");
            REQUIRE_STATUS(refreshed, 200);
            std::string bob = body_of(refreshed)["access_token"].get<std::string>();
            REQUIRE_STATUS(c.Get("/api/v1/Customer", bearer(bob)), 200);
            // An access token is not a refresh token.
            REQUIRE_STATUS(c.Post("/api/v1/auth/refresh", json{{"refresh_token", bob}}.dump(),
                                  "application/json"),
                           401);
            auto out = c.Post("/api/v1/auth/logout", bearer(bob), "", "application/json");
            REQUIRE(out);
            CHECK(out->status == 204);
            REQUIRE_STATUS(c.Get("/api/v1/Customer", bearer(bob)), 401);
            REQUIRE_STATUS(c.Post("/api/v1/auth/refresh",
                                  json{{"refresh_token", pair["refresh_token"]}}.dump(),
                                  "application/json"),
                           401);

            // The Desk's cookie authenticates too.
            REQUIRE_STATUS(c.Get("/api/v1/Customer", {{"Cookie", "m_token=" + alice}}), 200);
        }
    }
}

TEST_CASE("serve: failed logins back off per account and address, never locking the owner out",
          "[api]") {
    // 127.0.0.1 is a trusted proxy here, so X-Forwarded-For names the client.
    ServedProject sp("sqlite", {{"M_TRUSTED_PROXIES", "127.0.0.1"}});
    auto c = sp.server->client();
    const httplib::Headers attacker{{"X-Forwarded-For", "203.0.113.7"}};
    const httplib::Headers owner{{"X-Forwarded-For", "198.51.100.2"}};
    auto attempt = [&](const httplib::Headers& from, const std::string& password) {
        auto r =
            c.Post("/api/v1/auth/login", from,
                   json{{"email", "bob@test"}, {"password", password}}.dump(), "application/json");
        REQUIRE(r);
        return r;
    };
    for (int i = 0; i < 5; ++i) REQUIRE_STATUS(attempt(attacker, "wrong"), 401);
    // Half the window's limit: from now on each attempt waits 1, 2, 4 ... s after the last one.
    auto waiting = attempt(attacker, k_password); // even the right password waits
    REQUIRE_STATUS(waiting, 429);
    CHECK(waiting->get_header_value("Retry-After") == "1");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto again = attempt(attacker, "wrong");
    while (again->status == 429 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        again = attempt(attacker, "wrong");
    }
    REQUIRE_STATUS(again, 401);
    auto longer = attempt(attacker, "wrong");
    REQUIRE_STATUS(longer, 429);
    CHECK(longer->get_header_value("Retry-After") == "2");
    // The account's owner, from another address, logs in at once; so does another account.
    REQUIRE_STATUS(attempt(owner, k_password), 200);
    CHECK_FALSE(sp.token("alice@test").empty());
}

TEST_CASE("serve: X-Forwarded-For counts only from a trusted proxy", "[api]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    for (int i = 0; i < 5; ++i) {
        // A different claimed address every time: without a trusted proxy it is ignored, so
        // these are five failures of one client.
        httplib::Headers spoofed{{"X-Forwarded-For", "192.0.2." + std::to_string(i)}};
        REQUIRE_STATUS(c.Post("/api/v1/auth/login", spoofed,
                              json{{"email", "bob@test"}, {"password", "wrong"}}.dump(),
                              "application/json"),
                       401);
    }
    httplib::Headers fresh{{"X-Forwarded-For", "192.0.2.99"}};
    REQUIRE_STATUS(c.Post("/api/v1/auth/login", fresh,
                          json{{"email", "bob@test"}, {"password", "wrong"}}.dump(),
                          "application/json"),
                   429);
}

TEST_CASE("serve: row-level security on list, get, update, delete", "[api]") {
    for (const auto& kind : database_kinds()) {
        DYNAMIC_SECTION(kind) {
            ServedProject sp(kind);
            auto c = sp.server->client();
            std::string alice = sp.token("alice@test");
            std::string bob = sp.token("bob@test");
            std::string admin = sp.token("admin@test");
            json note = create(c, alice, "Note", {{"title", "alice's secret"}});
            create(c, bob, "Note", {{"title", "bob's"}});
            const std::string id = note["id"].get<std::string>();
            const std::string name = note["name"].get<std::string>();

            json bobs = body_of(c.Get("/api/v1/Note", bearer(bob)));
            CHECK(bobs["total"] == 1);
            CHECK(bobs["items"][0]["title"] == "bob's");
            REQUIRE_STATUS(c.Get(("/api/v1/Note/" + id).c_str(), bearer(bob)), 404);
            REQUIRE_STATUS(c.Get(("/api/v1/Note/" + name).c_str(), bearer(bob)), 404);
            REQUIRE_STATUS(c.Put(("/api/v1/Note/" + id).c_str(), bearer(bob),
                                 R"({"title":"taken"})", "application/json"),
                           404);
            REQUIRE_STATUS(c.Delete(("/api/v1/Note/" + id).c_str(), bearer(bob)), 404);
            // Filtering on the owner does not get around it.
            json sneaky = body_of(c.Get(
                ("/api/v1/Note?filters=" + url_encode(R"([["owner","=","alice@test"]])")).c_str(),
                bearer(bob)));
            CHECK(sneaky["total"] == 0);

            json mine = body_of(c.Get(("/api/v1/Note/" + id).c_str(), bearer(alice)));
            CHECK(mine["title"] == "alice's secret");
            CHECK(body_of(c.Get("/api/v1/Note", bearer(admin)))["total"] == 2);
        }
    }
}

TEST_CASE("serve: submit, cancel and a frozen submitted document", "[api]") {
    for (const auto& kind : database_kinds()) {
        DYNAMIC_SECTION(kind) {
            ServedProject sp(kind);
            auto c = sp.server->client();
            std::string t = sp.token("alice@test");
            create(c, t, "Customer", {{"customer_name", "Acme"}});
            json order = create(c, t, "Order",
                                {{"customer", "Acme"},
                                 {"items", {{{"item", "Bolt"}, {"qty", 3}}, {{"item", "Nut"}}}}});
            CHECK(order["name"].get<std::string>().rfind("ORD-", 0) == 0);
            REQUIRE(order["items"].size() == 2);
            const std::string path = "/api/v1/Order/" + order["name"].get<std::string>();

            REQUIRE_STATUS(c.Post((path + "/cancel").c_str(), bearer(t), "", "application/json"),
                           400);
            auto submitted = c.Post((path + "/submit").c_str(), bearer(t), "", "application/json");
            REQUIRE_STATUS(submitted, 200);
            CHECK(body_of(submitted)["docstatus"] == 1);
            REQUIRE_STATUS(
                c.Put(path.c_str(), bearer(t), R"({"customer":"Other"})", "application/json"), 400);
            REQUIRE_STATUS(
                c.Put(path.c_str(), bearer(t), R"({"remark":"paid late"})", "application/json"),
                200);
            // Sales User may not delete Orders at all; even an admin may not delete a submitted
            // one.
            REQUIRE_STATUS(c.Delete(path.c_str(), bearer(t)), 403);
            REQUIRE_STATUS(c.Delete(path.c_str(), bearer(sp.token("admin@test"))), 400);
            auto cancelled = c.Post((path + "/cancel").c_str(), bearer(t), "", "application/json");
            REQUIRE_STATUS(cancelled, 200);
            CHECK(body_of(cancelled)["docstatus"] == 2);
            json stored = body_of(c.Get(path.c_str(), bearer(t)));
            CHECK(stored["customer"] == "Acme");
            CHECK(stored["remark"] == "paid late");
            CHECK(stored["items"].size() == 2);

            // The version history the Desk shows, under the same read rules as the document.
            json versions = body_of(c.Get((path + "/versions").c_str(), bearer(t)));
            REQUIRE(versions["items"].is_array());
            REQUIRE(versions["items"].size() >= 2);
            bool remark_changed = false;
            for (const auto& version : versions["items"]) {
                for (const auto& change : version["data"]["changed"]) {
                    if (change[0] == "remark" && change[2] == "paid late") remark_changed = true;
                }
            }
            CHECK(remark_changed);
            REQUIRE_STATUS(c.Get((path + "/versions").c_str()), 401);
            REQUIRE_STATUS(c.Get("/api/v1/Order/ORD-99999/versions", bearer(t)), 404);
        }
    }
}

TEST_CASE("serve: live updates are filtered per user and resume without gaps", "[api]") {
    for (const auto& kind : database_kinds()) {
        DYNAMIC_SECTION(kind) {
            ServedProject sp(kind);
            auto c = sp.server->client();
            std::string alice = sp.token("alice@test");
            std::string bob = sp.token("bob@test");
            std::string carol = sp.token("carol@test");

            REQUIRE_STATUS(c.Get("/api/v1/stream"), 401);
            StreamReader alice_stream(sp.server->port(), alice);
            StreamReader bob_stream(sp.server->port(), bob);
            StreamReader carol_stream(sp.server->port(), carol);
            StreamReader admin_stream(sp.server->port(), sp.token("admin@test"));
            sp.token("bob@test"); // a login writes an Auth Session: internal, never streamed

            json note = create(c, alice, "Note", {{"title", "private"}});
            json cust = create(c, alice, "Customer", {{"customer_name", "Live"}});
            REQUIRE(alice_stream.wait_for("\"name\":\"Live\""));
            REQUIRE(bob_stream.wait_for("\"name\":\"Live\""));
            std::string a = alice_stream.text();
            CHECK(a.find("event: doc.created") != std::string::npos);
            CHECK(a.find(note["id"].get<std::string>()) != std::string::npos);
            // Bob may read Notes but not alice's (RLS); carol may read neither DocType.
            CHECK(bob_stream.text().find(note["id"].get<std::string>()) == std::string::npos);
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            CHECK(carol_stream.text().find("event: doc.") == std::string::npos);
            REQUIRE(admin_stream.wait_for("\"name\":\"Live\""));
            CHECK(admin_stream.text().find("Auth Session") == std::string::npos);

            // The id of the Note event, then resume from it: only what came after.
            auto at = a.find("id: ");
            REQUIRE(at != std::string::npos);
            std::string first_id = a.substr(at + 4, a.find('\n', at) - at - 4);
            REQUIRE_STATUS(c.Put("/api/v1/Customer/Live", bearer(alice), R"({"credit_limit":5})",
                                 "application/json"),
                           200);
            REQUIRE(alice_stream.wait_for("event: doc.updated"));
            {
                StreamReader resumed(sp.server->port(), alice, first_id);
                REQUIRE(resumed.wait_for("event: doc.updated"));
                std::string r = resumed.text();
                CHECK(r.find(note["id"].get<std::string>()) == std::string::npos);
                CHECK(r.find("\"name\":\"Live\"") != std::string::npos);
                CHECK(r.find("event: doc.created") != std::string::npos);
            }
            {
                StreamReader stale(sp.server->port(), alice, "12");
                REQUIRE(stale.wait_for("event: reset"));
            }
            REQUIRE_STATUS(c.Delete("/api/v1/Customer/Live", bearer(alice)), 204);
            CHECK(alice_stream.wait_for("event: doc.deleted"));
            (void)cust;
        }
    }
}
