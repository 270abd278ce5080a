// `m serve` against hostile or careless callers, as a user would meet it (a real server process on
// a temp project): nesting bombs, bad UTF-8, mistyped login bodies, stream limits, sessions that
// end when the account changes, cookies out of JavaScript's reach, security headers.
#include "http_test_support.hpp"
#include "server_fixture.hpp"

using namespace m::test;
using m::test::http::RawClient;
using namespace std::chrono_literals;

namespace {

std::string nested(int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') + "1" +
           std::string(static_cast<std::size_t>(depth), ']');
}

/// Opens /api/v1/stream on a raw socket and waits for ": connected".
std::unique_ptr<RawClient> open_stream(int port, const std::string& token) {
    auto c = std::make_unique<RawClient>(port);
    if (!c->get("/api/v1/stream", "Authorization: Bearer " + token + "\r\n") ||
        !c->read_until(": connected", 5s)) {
        return nullptr;
    }
    return c;
}

/// The stream ended by the server: its last chunk arrived and the socket closed.
bool ended(RawClient& stream, std::chrono::milliseconds within) {
    return stream.read_until("0\r\n\r\n", within) && stream.wait_closed(2s);
}

std::string cookie_named(const httplib::Result& r, const std::string& name) {
    for (const auto& [key, value] : r->headers) {
        if (key == "Set-Cookie" && value.rfind(name + "=", 0) == 0) return value;
    }
    return {};
}

} // namespace

TEST_CASE("hostile api: nesting past 64 levels is a 400 everywhere, never a crash", "[api]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    const std::string t = sp.token("alice@test");
    // 20,000 levels (40 KB) in a field value: the request that used to kill the process.
    auto deep = c.Post("/api/v1/Customer", bearer(t), R"({"customer_name": )" + nested(20000) + "}",
                       "application/json");
    REQUIRE_STATUS(deep, 400);
    CHECK(body_of(deep)["message"].get<std::string>().find("nested deeper than 64") !=
          std::string::npos);
    auto filters = c.Get("/api/v1/Customer?filters=" + nested(100), bearer(t));
    REQUIRE_STATUS(filters, 400);
    auto kwargs =
        c.Post("/api/v1/rpc/Customer/anything", bearer(t), nested(100), "application/json");
    REQUIRE(kwargs);
    CHECK(kwargs->status >= 400);
    CHECK(kwargs->status < 500);
    // 64 levels are fine where JSON is allowed, and the server is alive.
    REQUIRE_STATUS(c.Get("/health"), 200);
}

TEST_CASE("hostile api: bad UTF-8 and mistyped bodies are 400, not 500", "[api]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    REQUIRE_STATUS(c.Get("/api/v1/%FF"), 400);
    REQUIRE_STATUS(c.Get("/api/v1/Customer?filters=%FF"), 400);
    auto login =
        c.Post("/api/v1/auth/login",
               R"({"email": ["a@test"], "password": "correct-horse-battery"})", "application/json");
    REQUIRE_STATUS(login, 400);
    CHECK(body_of(login)["message"] == "email must be a string");
    REQUIRE_STATUS(c.Post("/api/v1/auth/login", "{\"email\": \"\xff\"}", "application/json"), 400);
    // A number beyond a double (found by the fuzzer): nlohmann's out_of_range, not a 500.
    REQUIRE_STATUS(c.Post("/api/v1/auth/login", R"({"email": 1e99999})", "application/json"), 400);
    REQUIRE_STATUS(c.Post("/api/v1/auth/refresh", R"({"refresh_token": 7})", "application/json"),
                   400);
}

TEST_CASE("hostile api: security headers on every response", "[api]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    for (const char* path : {"/health", "/api/v1/Customer", "/desk/", "/no/such/route"}) {
        INFO(path);
        auto r = c.Get(path);
        REQUIRE(r);
        CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
        CHECK(r->get_header_value("Referrer-Policy") == "no-referrer");
        const std::string csp = r->get_header_value("Content-Security-Policy");
        CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
        if (std::string(path) == "/desk/") {
            CHECK(csp.find("script-src 'self'") != std::string::npos);
        } else {
            CHECK(csp.rfind("default-src 'none'", 0) == 0);
        }
    }
}

TEST_CASE("hostile api: at most max_streams_per_user open streams per user", "[api]") {
    ServedProject sp("sqlite", {{"M_MAX_STREAMS_PER_USER", "2"}});
    const std::string alice = sp.token("alice@test");
    auto one = open_stream(sp.server->port(), alice);
    auto two = open_stream(sp.server->port(), alice);
    REQUIRE(one);
    REQUIRE(two);
    auto c = sp.server->client();
    auto third = c.Get("/api/v1/stream", bearer(alice));
    REQUIRE_STATUS(third, 429);
    // Another user is not affected; a closed stream gives its slot back.
    REQUIRE(open_stream(sp.server->port(), sp.token("bob@test")));
    one->close();
    std::unique_ptr<RawClient> again;
    for (int i = 0; i < 50 && !again; ++i) {
        again = open_stream(sp.server->port(), alice);
        if (!again) std::this_thread::sleep_for(100ms);
    }
    CHECK(again);
}

TEST_CASE("hostile api: a password change from the shell ends the user's sessions and streams",
          "[api]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    const auto [access, refresh] = login_tokens(*sp.server, "alice@test");
    auto stream = open_stream(sp.server->port(), access);
    REQUIRE(stream);
    const std::string bob = sp.token("bob@test");
    auto bobs_stream = open_stream(sp.server->port(), bob);
    REQUIRE(bobs_stream);

    // Another process (the CLI) changes the password: the server learns it from the outbox.
    REQUIRE_EXIT(sp.project.m({"user", "set-password", "alice@test", "--password-stdin"},
                              "a-brand-new-passphrase\n"),
                 0);
    CHECK(ended(*stream, 5s));
    auto me = c.Get("/api/v1/auth/me", bearer(access));
    REQUIRE_STATUS(me, 401);
    REQUIRE_STATUS(
        c.Post("/api/v1/auth/refresh", json{{"refresh_token", refresh}}.dump(), "application/json"),
        401);
    // Bob's stream and token are untouched.
    REQUIRE_STATUS(c.Get("/api/v1/auth/me", bearer(bob)), 200);
    CHECK_FALSE(bobs_stream->read_until("0\r\n\r\n", 500ms));
}

TEST_CASE("hostile api: disabling a user or removing a role ends the sessions at once", "[api]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    const std::string admin = sp.token("admin@test");
    const auto [alice, alices_refresh] = login_tokens(*sp.server, "alice@test");
    const std::string bob = sp.token("bob@test");
    REQUIRE_STATUS(c.Get("/api/v1/Customer", bearer(alice)), 200);
    REQUIRE_STATUS(c.Put("/api/v1/User/alice@test", bearer(admin), R"({"enabled": false})",
                         "application/json"),
                   200);
    REQUIRE_STATUS(c.Get("/api/v1/Customer", bearer(alice)), 401);
    REQUIRE_STATUS(c.Post("/api/v1/auth/refresh", json{{"refresh_token", alices_refresh}}.dump(),
                          "application/json"),
                   401);
    REQUIRE_STATUS(c.Post("/api/v1/auth/login",
                          json{{"email", "alice@test"}, {"password", k_password}}.dump(),
                          "application/json"),
                   401);

    json user = body_of(c.Get("/api/v1/User/bob@test", bearer(admin)));
    json roles = json::array();
    for (const auto& row : user["roles"]) {
        if (row["role"] != "Sales User") roles.push_back(row);
    }
    REQUIRE_STATUS(c.Put("/api/v1/User/bob@test", bearer(admin), json{{"roles", roles}}.dump(),
                         "application/json"),
                   200);
    REQUIRE_STATUS(c.Get("/api/v1/Customer", bearer(bob)), 401);
    // Logging in again gives the roles the user has now.
    REQUIRE_STATUS(c.Get("/api/v1/Customer", bearer(sp.token("bob@test"))), 403);
}

TEST_CASE("hostile api: one password policy for the API and the shell", "[api]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    const std::string admin = sp.token("admin@test");
    auto weak =
        c.Put("/api/v1/User/alice@test", bearer(admin), R"({"password": "x"})", "application/json");
    REQUIRE_STATUS(weak, 400);
    CHECK(body_of(weak)["message"].get<std::string>().find("at least 8 characters") !=
          std::string::npos);
    REQUIRE_STATUS(c.Put("/api/v1/User/alice@test", bearer(admin), R"({"password": "alice@test"})",
                         "application/json"),
                   400);
    auto shell = sp.project.m({"user", "set-password", "alice@test", "--password-stdin"}, "x\n");
    CHECK(shell.exit_code == 1);
    CHECK(shell.err.find("at least 8 characters") != std::string::npos);
}

TEST_CASE("hostile api: the refresh token can live in an HttpOnly cookie only", "[api]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    auto r = c.Post(
        "/api/v1/auth/login",
        json{{"email", "alice@test"}, {"password", k_password}, {"session", "cookie"}}.dump(),
        "application/json");
    REQUIRE_STATUS(r, 200);
    CHECK_FALSE(body_of(r).contains("refresh_token"));
    const std::string cookie = cookie_named(r, "m_refresh");
    REQUIRE_FALSE(cookie.empty());
    CHECK(cookie.find("Path=/api/v1/auth/refresh") != std::string::npos);
    CHECK(cookie.find("HttpOnly") != std::string::npos);
    CHECK(cookie.find("SameSite=Strict") != std::string::npos);
    CHECK(cookie.find("Secure") == std::string::npos); // not over TLS here
    const std::string value = cookie.substr(0, cookie.find(';'));

    auto refreshed = c.Post("/api/v1/auth/refresh", {{"Cookie", value}}, R"({"session": "cookie"})",
                            "application/json");
    REQUIRE_STATUS(refreshed, 200);
    CHECK_FALSE(body_of(refreshed).contains("refresh_token"));
    const std::string access = body_of(refreshed)["access_token"].get<std::string>();
    REQUIRE_STATUS(c.Get("/api/v1/auth/me", bearer(access)), 200);

    auto out =
        c.Post("/api/v1/auth/logout", {{"Cookie", "m_token=" + access}}, "{}", "application/json");
    REQUIRE_STATUS(out, 204);
    CHECK(cookie_named(out, "m_refresh").find("Max-Age=0") != std::string::npos);
    REQUIRE_STATUS(c.Post("/api/v1/auth/refresh", {{"Cookie", value}}, "{}", "application/json"),
                   401);
}

TEST_CASE("hostile api: Secure cookies behind a trusted TLS proxy", "[api]") {
    ServedProject sp("sqlite", {{"M_TRUSTED_PROXIES", "127.0.0.1"}});
    auto c = sp.server->client();
    auto r =
        c.Post("/api/v1/auth/login", {{"X-Forwarded-Proto", "https"}},
               json{{"email", "alice@test"}, {"password", k_password}}.dump(), "application/json");
    REQUIRE_STATUS(r, 200);
    CHECK(cookie_named(r, "m_token").find("; Secure") != std::string::npos);
    CHECK(cookie_named(r, "m_refresh").find("; Secure") != std::string::npos);
    CHECK_FALSE(r->get_header_value("Strict-Transport-Security").empty());
}

TEST_CASE("hostile api: tokens and streams expire for real", "[api]") {
    ServedProject sp("sqlite", {{"M_ACCESS_TTL", "2"}, {"M_REFRESH_TTL", "4"}});
    auto c = sp.server->client();
    const auto [access, refresh] = login_tokens(*sp.server, "alice@test");
    auto stream = open_stream(sp.server->port(), access);
    REQUIRE(stream);
    CHECK(ended(*stream, 6s)); // its token expired: the client reconnects with a fresh one
    // Requests allow the JWT leeway of 5 s (clocks of several nodes) on top of the expiry.
    const auto expired_by = std::chrono::steady_clock::now() + 15s;
    int me = 200;
    while (me == 200 && std::chrono::steady_clock::now() < expired_by) {
        std::this_thread::sleep_for(250ms);
        auto r2 = c.Get("/api/v1/auth/me", bearer(access));
        REQUIRE(r2);
        me = body_of(r2).value("authenticated", false) ? 200 : r2->status;
    }
    CHECK(me == 401);
    auto renewed =
        c.Post("/api/v1/auth/refresh", json{{"refresh_token", refresh}}.dump(), "application/json");
    REQUIRE_STATUS(renewed, 200);
    // The refresh token itself runs out too.
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    int status = 200;
    while (status == 200 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(250ms);
        auto again = c.Post("/api/v1/auth/refresh", json{{"refresh_token", refresh}}.dump(),
                            "application/json");
        REQUIRE(again);
        status = again->status;
    }
    CHECK(status == 401);
}

TEST_CASE("hostile api: /metrics can require a token; ?token= never reaches the log", "[api]") {
    ServedProject sp("sqlite", {{"M_METRICS_TOKEN", "scrape-me-0123"}});
    auto c = sp.server->client();
    REQUIRE_STATUS(c.Get("/metrics"), 401);
    REQUIRE_STATUS(c.Get("/metrics", bearer("wrong")), 401);
    REQUIRE_STATUS(c.Get("/metrics", bearer("scrape-me-0123")), 200);

    const std::string token = sp.token("alice@test");
    RawClient stream(sp.server->port());
    REQUIRE(stream.get("/api/v1/stream?token=" + token));
    REQUIRE(stream.read_until(": connected", 5s)); // the query token authenticates
    stream.close();
    REQUIRE_STATUS(c.Get("/health"), 200); // a later line in the log
    const std::string log = sp.server->log();
    CHECK(log.find("path=\"/api/v1/stream\"") != std::string::npos);
    CHECK(log.find(token) == std::string::npos);
}

TEST_CASE("hostile api: child-row ids are UUIDs, once per document, never another document's",
          "[api]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    const std::string t = sp.token("alice@test");
    REQUIRE_STATUS(
        c.Post("/api/v1/Customer", bearer(t), R"({"customer_name": "Rowco"})", "application/json"),
        201);
    auto order = [&](const json& items) {
        return c.Post("/api/v1/Order", bearer(t),
                      json{{"customer", "Rowco"}, {"items", items}}.dump(), "application/json");
    };
    auto bad_id = order(json::array({{{"id", "x'; DROP TABLE y"}, {"item", "A"}}}));
    REQUIRE_STATUS(bad_id, 400);
    CHECK(body_of(bad_id)["message"].get<std::string>().find("id must be a UUID") !=
          std::string::npos);
    const std::string row_id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    auto twice =
        order(json::array({{{"id", row_id}, {"item", "A"}}, {{"id", row_id}, {"item", "B"}}}));
    REQUIRE_STATUS(twice, 400);
    CHECK(body_of(twice)["message"].get<std::string>().find("duplicate row id") !=
          std::string::npos);
    auto first = order(json::array({{{"id", row_id}, {"item", "A"}}}));
    REQUIRE_STATUS(first, 201);
    CHECK(body_of(first)["items"][0]["id"] == row_id);
    // The same row id in another document: a conflict in words, not the database's text.
    auto stolen = order(json::array({{{"id", row_id}, {"item", "B"}}}));
    REQUIRE_STATUS(stolen, 409);
    CHECK(body_of(stolen)["message"].get<std::string>().find("belongs to another document") !=
          std::string::npos);
    // Saving the first document again with its own row id is fine.
    const std::string name = body_of(first)["name"].get<std::string>();
    REQUIRE_STATUS(c.Put("/api/v1/Order/" + name, bearer(t),
                         json{{"items", json::array({{{"id", row_id}, {"item", "A2"}}})}}.dump(),
                         "application/json"),
                   200);
}

TEST_CASE("hostile api: another user's document is 404 on submit, cancel and versions (RLS)",
          "[api]") {
    ServedProject sp("sqlite", {}, [](const Project& p) {
        write_file(p.doctype_file("shop", "claim"), json::parse(R"({"name": "Claim",
          "apply_rls": true, "is_submittable": true, "track_changes": true,
          "fields": [{"name": "title", "type": "data", "required": true}],
          "permissions": {"read": ["Staff"], "write": ["Staff"], "create": ["Staff"],
                          "submit": ["Staff"], "cancel": ["Staff"]}})")
                                                        .dump());
    });
    auto c = sp.server->client();
    const std::string alice = sp.token("alice@test");
    const std::string bob = sp.token("bob@test");
    auto made = c.Post("/api/v1/Claim", bearer(alice), R"({"title": "mine"})", "application/json");
    REQUIRE_STATUS(made, 201);
    const std::string id = body_of(made)["id"].get<std::string>();
    REQUIRE_STATUS(c.Post("/api/v1/Claim/" + id + "/submit", bearer(bob), "", "application/json"),
                   404);
    REQUIRE_STATUS(c.Get("/api/v1/Claim/" + id + "/versions", bearer(bob)), 404);
    REQUIRE_STATUS(c.Post("/api/v1/Claim/" + id + "/submit", bearer(alice), "", "application/json"),
                   200);
    REQUIRE_STATUS(c.Post("/api/v1/Claim/" + id + "/cancel", bearer(bob), "", "application/json"),
                   404);
    REQUIRE_STATUS(c.Get("/api/v1/Claim/" + id + "/versions", bearer(alice)), 200);
    REQUIRE_STATUS(c.Post("/api/v1/Claim/" + id + "/cancel", bearer(alice), "", "application/json"),
                   200);
}

TEST_CASE("hostile api: PUT refuses every bad input POST refuses", "[api]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    const std::string t = sp.token("alice@test");
    auto made =
        c.Post("/api/v1/Customer", bearer(t), R"({"customer_name": "Putco"})", "application/json");
    REQUIRE_STATUS(made, 201);
    const std::string url = "/api/v1/Customer/Putco";
    const char* bodies[] = {
        "{",                             // malformed
        "[1, 2]",                        // not an object
        R"({"credit_limit": "lots"})",   // wrong type
        R"({"credit_limit": -5})",       // below min
        R"({"status": "Sideways"})",     // not an option
        R"({"no_such_field": 1})",       // unknown field
        R"({"credit_limit": 1e99999})",  // beyond a double
        "{\"customer_name\": \"\xff\"}", // invalid UTF-8
    };
    for (const char* body : bodies) {
        INFO(body);
        auto post = c.Post("/api/v1/Customer", bearer(t), body, "application/json");
        auto put = c.Put(url, bearer(t), body, "application/json");
        REQUIRE(post);
        REQUIRE(put);
        CHECK(post->status == 400);
        CHECK(put->status == 400);
    }
    auto deep =
        c.Put(url, bearer(t), R"({"credit_limit": )" + nested(100) + "}", "application/json");
    REQUIRE_STATUS(deep, 400);
    REQUIRE_STATUS(c.Put(url, bearer(t), R"({"credit_limit": 5})", "application/json"), 200);
}

TEST_CASE("hostile api: links only to what the caller may read; read_only ignored on create",
          "[api]") {
    ServedProject sp("sqlite", {}, [](const Project& p) {
        write_file(p.doctype_file("shop", "memo"), json::parse(R"({"name": "Memo",
          "fields": [{"name": "note", "type": "link", "options": "Note"},
                     {"name": "person", "type": "link", "options": "User"},
                     {"name": "approved_by", "type": "data", "read_only": true}],
          "permissions": {"read": ["Staff"], "write": ["Staff"], "create": ["Staff"]}})")
                                                       .dump());
    });
    auto c = sp.server->client();
    const std::string alice = sp.token("alice@test");
    const std::string bob = sp.token("bob@test");
    auto note =
        c.Post("/api/v1/Note", bearer(alice), R"({"title": "alice's"})", "application/json");
    REQUIRE_STATUS(note, 201);
    const std::string alices_note = body_of(note)["name"].get<std::string>();

    // Bob cannot see Alice's note: linking to it reads exactly like linking to nothing.
    auto hidden =
        c.Post("/api/v1/Memo", bearer(bob), json{{"note", alices_note}}.dump(), "application/json");
    auto missing = c.Post("/api/v1/Memo", bearer(bob), json{{"note", "no-such-note"}}.dump(),
                          "application/json");
    REQUIRE_STATUS(hidden, 400);
    REQUIRE_STATUS(missing, 400);
    auto text = [](const httplib::Result& r, const std::string& name) {
        std::string m = body_of(r)["message"].get<std::string>();
        return m.replace(m.find(name), name.size(), "<name>");
    };
    CHECK(text(hidden, alices_note) == text(missing, "no-such-note"));
    REQUIRE_STATUS(c.Post("/api/v1/Memo", bearer(alice), json{{"note", alices_note}}.dump(),
                          "application/json"),
                   201);

    // Nobody but Admin reads User: whether the user exists is not told.
    auto existing =
        c.Post("/api/v1/Memo", bearer(bob), R"({"person": "admin@test"})", "application/json");
    auto absent =
        c.Post("/api/v1/Memo", bearer(bob), R"({"person": "ghost@test"})", "application/json");
    REQUIRE_STATUS(existing, 403);
    REQUIRE_STATUS(absent, 403);
    CHECK(body_of(existing)["message"] == body_of(absent)["message"]);

    auto memo = c.Post("/api/v1/Memo", bearer(bob), R"({"approved_by": "bob himself"})",
                       "application/json");
    REQUIRE_STATUS(memo, 201);
    CHECK(body_of(memo)["approved_by"].is_null());
}

TEST_CASE("hostile api: SIGINT and SIGTERM while requests are in flight: each gets its answer, "
          "exit 0",
          "[api]") {
    for (int sig : {SIGTERM, SIGINT}) {
        INFO("signal " << sig);
        ServedProject sp("sqlite");
        // Four logins at once on four workers: Argon2 runs two at a time (one per core), so when
        // the first answer is in, the others are still inside their handlers.
        std::atomic<int> answered{0};
        std::vector<int> statuses(4, 0);
        std::vector<std::thread> clients;
        for (int i = 0; i < 4; ++i) {
            clients.emplace_back([&, i] {
                auto c = sp.server->client();
                auto r = c.Post("/api/v1/auth/login",
                                json{{"email", "alice@test"}, {"password", k_password}}.dump(),
                                "application/json");
                statuses[static_cast<std::size_t>(i)] = r ? r->status : -1;
                ++answered;
            });
        }
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (answered.load() == 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(1ms);
        }
        const auto [code, seconds] = sp.server->stop(sig);
        for (auto& t : clients) t.join();
        CHECK(statuses == std::vector<int>(4, 200));
        CHECK(code == 0);
        CHECK(seconds < 10.0);
    }
}

TEST_CASE("hostile api: another user's document is 404 on a callable method too (RLS on rpc)",
          "[api]") {
    ServedProject sp("sqlite", {}, [](const Project& p) {
        write_file(p.doctype_file("shop", "memo"), json::parse(R"({"name": "Memo",
          "apply_rls": true,
          "fields": [{"name": "text", "type": "data"}],
          "permissions": {"read": ["Staff"], "write": ["Staff"], "create": ["Staff"]}})")
                                                       .dump());
        write_file(p.root() / "apps" / "shop" / "doctypes" / "memo" / "controller.cpp",
                   R"(#include <m/app.hpp>

void m_register_memo(m::AppRegistrar& app) {
    app.method("Memo", "shout", "read", [](m::Json* doc, const m::Json&, m::HookContext&) -> m::Json {
        return doc ? (*doc)["text"] : m::Json("no document");
    });
}
)");
        REQUIRE_EXIT(p.m({"build"}), 0);
    });
    auto c = sp.server->client();
    const std::string alice = sp.token("alice@test");
    const std::string bob = sp.token("bob@test");
    auto made =
        c.Post("/api/v1/Memo", bearer(alice), R"({"text": "alice's secret"})", "application/json");
    REQUIRE_STATUS(made, 201);
    const std::string id = body_of(made)["id"].get<std::string>();
    const std::string call = json{{"doc_id", id}}.dump();
    auto own = c.Post("/api/v1/rpc/Memo/shout", bearer(alice), call, "application/json");
    REQUIRE_STATUS(own, 200);
    CHECK(body_of(own)["result"] == "alice's secret");
    auto other = c.Post("/api/v1/rpc/Memo/shout", bearer(bob), call, "application/json");
    REQUIRE_STATUS(other, 404);
    CHECK(other->body.find("secret") == std::string::npos);
}
