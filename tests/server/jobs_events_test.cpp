// Across processes (docs/reference/jobs-events.md, "Events" and "Live stream"): a change made by
// `m doc` in a shell reaches the live stream of a running `m serve` through the outbox — tailed
// from the database, or relayed through NATS JetStream — and the admin-only jobs API.
#include "nats_server.hpp"
#include "redis_server.hpp"
#include "server_fixture.hpp"

using namespace m::test;

TEST_CASE("serve: changes made by m doc in a shell reach live streams", "[api][events]") {
    for (const auto& kind : database_kinds()) {
        for (const std::string broker : {"database", "nats"}) {
            if (kind == "postgres" && broker == "nats") continue; // one NATS run is enough
            DYNAMIC_SECTION(kind << " + " << broker) {
                std::unique_ptr<NatsServer> nats;
                std::map<std::string, std::string> env;
                if (broker == "nats") {
                    nats = nats_or_skip();
                    if (!nats) continue;
                    env["NATS_URL"] = nats->url();
                }
                ServedProject sp(kind, env);
                std::string alice = sp.token("alice@test");
                std::string carol = sp.token("carol@test");
                StreamReader alice_stream(sp.server->port(), alice);
                StreamReader carol_stream(sp.server->port(), carol);

                auto r = sp.project.m(
                    {"doc", "insert", "Customer", "--data", R"({"customer_name": "From Shell"})"},
                    "", env);
                REQUIRE_EXIT(r, 0);
                REQUIRE(alice_stream.wait_for("\"name\":\"From Shell\""));
                std::string text = alice_stream.text();
                CHECK(text.find("event: doc.created") != std::string::npos);
                CHECK(text.find("\"user\":\"Administrator\"") != std::string::npos);
                // A rolled-back change publishes nothing: a duplicate name is refused.
                auto dup = sp.project.m(
                    {"doc", "insert", "Customer", "--data", R"({"customer_name": "From Shell"})"},
                    "", env);
                CHECK(dup.exit_code != 0);
                auto upd = sp.project.m({"doc", "update", "Customer", "From Shell", "--data",
                                         R"({"customer_name": "From Shell"})"},
                                        "", env);
                REQUIRE_EXIT(upd, 0);
                REQUIRE(alice_stream.wait_for("event: doc.updated"));
                std::string all = alice_stream.text();
                std::size_t created = 0;
                for (auto at = all.find("event: doc.created"); at != std::string::npos;
                     at = all.find("event: doc.created", at + 1)) {
                    ++created;
                }
                CHECK(created == 1);
                // Permissions still apply to events from other processes: carol has no role.
                CHECK(carol_stream.text().find("event: doc.") == std::string::npos);
            }
        }
    }
}

TEST_CASE("serve: admins enqueue jobs and read their status over HTTP", "[api][jobs]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    std::string admin = sp.token("admin@test");
    std::string alice = sp.token("alice@test");

    REQUIRE_STATUS(c.Post("/api/v1/jobs/core.noop", "{}", "application/json"), 401);
    REQUIRE_STATUS(c.Post("/api/v1/jobs/core.noop", bearer(alice), "{}", "application/json"), 403);
    auto unknown = c.Post("/api/v1/jobs/nope.never", bearer(admin), "{}", "application/json");
    REQUIRE_STATUS(unknown, 404);
    CHECK(body_of(unknown)["message"].get<std::string>().find("unknown job 'nope.never'") !=
          std::string::npos);
    REQUIRE_STATUS(c.Post("/api/v1/jobs/core.noop", bearer(admin), "[1]", "application/json"), 400);
    REQUIRE_STATUS(c.Post("/api/v1/jobs/core.noop", bearer(admin), "{", "application/json"), 400);

    auto h = bearer(admin);
    h.emplace("Idempotency-Key", "report-2026-11");
    auto first = c.Post("/api/v1/jobs/core.noop", h, R"({"month": 11})", "application/json");
    REQUIRE_STATUS(first, 202);
    json job = body_of(first);
    CHECK(job["id"] == "report-2026-11");
    CHECK(job["status"] == "PENDING");
    CHECK(job["kwargs"] == json{{"month", 11}});
    auto again = c.Post("/api/v1/jobs/core.noop", h, R"({"month": 12})", "application/json");
    REQUIRE_STATUS(again, 202);
    CHECK(body_of(again)["kwargs"] == json{{"month", 11}}); // the first one, not a second job

    auto status = c.Get("/api/v1/jobs/report-2026-11", bearer(admin));
    REQUIRE_STATUS(status, 200);
    CHECK(body_of(status)["name"] == "core.noop");
    REQUIRE_STATUS(c.Get("/api/v1/jobs/report-2026-11", bearer(alice)), 403);
    REQUIRE_STATUS(c.Get("/api/v1/jobs/missing", bearer(admin)), 404);

    // The same job, seen from the shell.
    auto r = sp.project.m({"job", "status", "report-2026-11", "--json"});
    REQUIRE_EXIT(r, 0);
    CHECK(parse_json(r.out)["status"] == "PENDING");
}

TEST_CASE("serve: two processes sharing Redis agree on logouts and login limits", "[api][redis]") {
    auto redis = redis_or_skip();
    if (!redis) return;
    std::map<std::string, std::string> env{{"REDIS_URL", redis->url()}};
    ServedProject sp("sqlite", env);
    Server other(sp.project, env);
    auto a = sp.server->client();
    auto b = other.client();

    // Logged out on A: refused on B at once (not when the token expires).
    std::string token = sp.token("alice@test");
    REQUIRE_STATUS(b.Get("/api/v1/auth/me", bearer(token)), 200);
    REQUIRE_STATUS(a.Post("/api/v1/auth/logout", bearer(token), "", "application/json"), 204);
    auto after = b.Get("/api/v1/auth/me", bearer(token));
    REQUIRE_STATUS(after, 401);
    CHECK(body_of(after)["message"] == "session ended");

    // Ten wrong passwords for one account, spread over both processes: the next is refused by
    // either, even with the right password.
    json wrong{{"email", "bob@test"}, {"password", "not the password"}};
    for (int i = 0; i < 10; ++i) {
        auto& c = i % 2 ? a : b;
        REQUIRE_STATUS(c.Post("/api/v1/auth/login", wrong.dump(), "application/json"), 401);
    }
    // Each process also backs off by itself (after 5 of its own failures); once that wait is
    // over, the shared window still refuses.
    json right{{"email", "bob@test"}, {"password", k_password}};
    auto limited = a.Post("/api/v1/auth/login", right.dump(), "application/json");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (limited && limited->status == 429 &&
           body_of(limited)["message"].get<std::string>().find("failed logins") !=
               std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        limited = a.Post("/api/v1/auth/login", right.dump(), "application/json");
    }
    REQUIRE_STATUS(limited, 429);
    CHECK(body_of(limited)["message"].get<std::string>().find("login attempts") !=
          std::string::npos);
    CHECK(limited->get_header_value("Retry-After") != "");
}
