// `m serve` as a process, on SQLite and PostgreSQL: metadata, OpenAPI, health and metrics, stopping
// on SIGTERM, the database going away, the demo's controller over HTTP, the Desk's files, and
// holding many connections.
#include "server_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

using namespace m::test;

TEST_CASE("serve: metadata, OpenAPI, health, metrics and routes", "[api]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    std::string alice = sp.token("alice@test");

    json types = body_of(c.Get("/api/meta/doctypes", bearer(alice)));
    std::vector<std::string> names;
    for (const auto& t : types["items"]) names.push_back(t["name"].get<std::string>());
    CHECK(std::find(names.begin(), names.end(), "Customer") != names.end());
    CHECK(std::find(names.begin(), names.end(), "Note") != names.end());
    CHECK(std::find(names.begin(), names.end(), "User") == names.end());
    json submittable = body_of(c.Get("/api/meta/doctypes?is_submittable=1", bearer(alice)));
    REQUIRE(submittable["items"].size() == 1);
    CHECK(submittable["items"][0]["name"] == "Order");

    json order = body_of(c.Get("/api/meta/Order", bearer(alice)));
    CHECK(order["permissions"]["submit"] == true);
    CHECK(order["permissions"]["delete"] == false);
    CHECK(order["fields"][0]["name"] == "customer");
    CHECK(order["fields"][0]["options"] == "Customer");
    CHECK(order["child_doctypes"]["Order Item"]["fields"].size() == 2);
    REQUIRE_STATUS(c.Get("/api/meta/User", bearer(alice)), 403);

    json schema = body_of(c.Get("/schema", bearer(alice)));
    CHECK(schema["openapi"].get<std::string>().rfind("3.1", 0) == 0);
    CHECK(schema["paths"].contains("/api/v1/Customer"));
    // A guest's document lists only what a guest may use: no DocType of this app.
    json guest_schema = body_of(c.Get("/schema"));
    CHECK_FALSE(guest_schema["paths"].contains("/api/v1/Customer"));
    CHECK(guest_schema["paths"].contains("/api/v1/auth/login"));

    json health = body_of(c.Get("/health"));
    CHECK(health["status"] == "ok");

    auto metrics = c.Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == 200);
    CHECK(metrics->body.find("m_http_requests_total{") != std::string::npos);
    CHECK(metrics->body.find("route=\"/api/meta/doctypes\"") != std::string::npos);
    CHECK(metrics->body.find("m_db_pool_size 8") != std::string::npos);

    auto root = c.Get("/");
    REQUIRE(root);
    CHECK(root->status == 302);
    CHECK(root->get_header_value("Location") == "/desk/");

    // The access log has one line per request (that a ?token= never reaches it is tested with a
    // stream opened by one: hostile_api_test.cpp).
    std::string log = sp.server->log();
    CHECK(log.find("path=\"/api/meta/doctypes\" status=200") != std::string::npos);

    auto routes = sp.project.m({"routes", "--json"});
    REQUIRE_EXIT(routes, 0);
    json r = parse_json(routes.out);
    CHECK(r["routes"].size() >= 15);
    // The routes the server answers are the table's: every row names who may call it.
    bool login = false;
    for (const auto& route : r["routes"]) {
        CHECK(route.contains("auth"));
        if (route["path"] == "/api/v1/auth/login") login = route["auth"] == "none";
    }
    CHECK(login);
    CHECK(r["doctypes"].dump().find("Customer") != std::string::npos);
}

TEST_CASE("serve: SIGTERM stops promptly with streams and idle connections open", "[api]") {
    ServedProject sp("sqlite");
    std::string alice = sp.token("alice@test");
    auto stream = std::make_unique<StreamReader>(sp.server->port(), alice);
    std::vector<std::unique_ptr<httplib::Client>> idle;
    for (int i = 0; i < 20; ++i) {
        idle.push_back(std::make_unique<httplib::Client>("127.0.0.1", sp.server->port()));
        idle.back()->set_keep_alive(true);
        REQUIRE(idle.back()->Get("/health"));
    }
    auto [code, seconds] = sp.server->stop();
    INFO(sp.server->log());
    CHECK(code == 0);
    CHECK(seconds < 5.0);
    CHECK(sp.server->log().find("m serve: stopped") != std::string::npos);
}

TEST_CASE("serve: the database going away and coming back", "[api]") {
    if (database_kinds().size() < 2) { // fails instead when PostgreSQL is required
        WARN("PostgreSQL only (M_TEST_POSTGRES_URL unset)");
        return;
    }
    ServedProject sp("postgres");
    auto c = sp.server->client();
    std::string t = sp.token("alice@test");
    create(c, t, "Customer", {{"customer_name", "Before"}});

    // Refuse new connections to the project's database and end the open ones.
    std::string url = sp.project.env().at("DATABASE_URL");
    std::string dbname = url.substr(url.rfind('/') + 1);
    auto admin = [&](const std::string& sql) {
        auto r = std::system(("psql -q " + shell_quote(std::getenv("M_TEST_POSTGRES_URL")) +
                              " -c " + shell_quote(sql) + " > /dev/null")
                                 .c_str());
        REQUIRE(r == 0);
    };
    admin("ALTER DATABASE " + dbname + " ALLOW_CONNECTIONS false");
    admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + dbname +
          "'");
    auto down = c.Get("/api/v1/Customer", bearer(t));
    REQUIRE_STATUS(down, 503);
    CHECK(body_of(down)["error"] == "ServiceUnavailable");
    REQUIRE_STATUS(
        c.Post("/api/v1/Customer", bearer(t), R"({"customer_name":"During"})", "application/json"),
        503);
    auto health = c.Get("/health");
    REQUIRE(health);
    CHECK(health->status == 503);

    admin("ALTER DATABASE " + dbname + " ALLOW_CONNECTIONS true");
    json back = body_of(c.Get("/api/v1/Customer", bearer(t)));
    CHECK(back["total"] == 1);
    create(c, t, "Customer", {{"customer_name", "After"}});
    CHECK(body_of(c.Get("/api/v1/Customer", bearer(t)))["total"] == 2);
}

TEST_CASE("serve: the demo's C++ controller runs its hooks and callable methods over HTTP",
          "[api]") {
    for (const auto& kind : database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Project p(kind);
            fs::copy(fs::path(M_SOURCE_DIR) / "examples" / "demo" / "apps", p.root() / "apps",
                     fs::copy_options::recursive);
            REQUIRE_EXIT(p.m({"build"}), 0);
            REQUIRE_EXIT(p.m({"migrate"}), 0);
            REQUIRE_EXIT(p.m({"user", "create", "sales@test", "--role", "Sales User", "--role",
                              "Sales Manager", "--password-stdin"},
                             k_password),
                         0);
            REQUIRE_EXIT(
                p.m({"user", "create", "viewer@test", "--role", "Viewer", "--password-stdin"},
                    k_password),
                0);
            Server server(p);
            auto c = server.client();
            auto token = [&](const std::string& email) { return login(server, email); };
            std::string t = token("sales@test");
            json acme = create(c, t, "Customer", {{"customer_name", "Acme"}});
            json held =
                create(c, t, "Customer", {{"customer_name", "Held"}, {"status", "On Hold"}});

            // before_save computed the amounts and the total; the client's total is ignored.
            json inv = create(c, t, "Invoice",
                              {{"customer", acme["name"]},
                               {"posting_date", "2026-11-26"},
                               {"total", 1},
                               {"items",
                                {{{"item", "Widget"}, {"qty", 2}, {"rate", 10}},
                                 {{"item", "Gadget"}, {"qty", 1}, {"rate", 5.5}}}}});
            CHECK(inv["total"] == 25.5);
            CHECK(inv["items"][0]["amount"] == 20);
            CHECK(inv["name"].get<std::string>().rfind("INV-", 0) == 0);
            // validate refused: nothing written, the hook's message reaches the client.
            auto refused = c.Post("/api/v1/Invoice", bearer(t),
                                  json{{"customer", held["name"]},
                                       {"posting_date", "2026-11-26"},
                                       {"items", {{{"item", "X"}, {"qty", 1}, {"rate", 1}}}}}
                                      .dump(),
                                  "application/json");
            REQUIRE_STATUS(refused, 400);
            CHECK(body_of(refused)["message"].get<std::string>().find("only active customers") !=
                  std::string::npos);
            CHECK(body_of(c.Get("/api/v1/Invoice", bearer(t)))["total"] == 1);

            // The callable method, with its permission checked.
            auto rpc = c.Post("/api/v1/rpc/Invoice/outstanding", bearer(t),
                              json{{"doc_id", inv["name"]}}.dump(), "application/json");
            REQUIRE_STATUS(rpc, 200);
            CHECK(body_of(rpc)["result"] == 25.5);
            REQUIRE_STATUS(c.Post("/api/v1/rpc/Invoice/outstanding", bearer(token("viewer@test")),
                                  json{{"doc_id", inv["name"]}}.dump(), "application/json"),
                           403);
            REQUIRE_STATUS(
                c.Post("/api/v1/rpc/Invoice/no_such_method", bearer(t), "{}", "application/json"),
                404);
            json meta = body_of(c.Get("/api/meta/Invoice", bearer(t)));
            CHECK(meta["methods"] == json::array({"outstanding"}));
            json schema = body_of(c.Get("/schema", bearer(t)));
            CHECK(schema["paths"].contains("/api/v1/rpc/Invoice/outstanding"));
        }
    }
}

TEST_CASE("serve: the Desk's files, client-side routes, no traversal; CORS closed by default",
          "[api]") {
    Project p("sqlite");
    add_server_app(p);
    REQUIRE_EXIT(p.m({"migrate"}), 0);
    fs::path desk = p.root() / "desk-build";
    write_file(desk / "index.html", "<!doctype html><title>Desk</title>");
    write_file(desk / "assets" / "app.js", "console.log('desk')");
    write_file(p.root() / "secret.txt", "top secret");
    Server server(p, {{"M_DESK_DIR", desk.string()}, {"M_CORS_ORIGINS", "http://allowed.test"}});
    auto c = server.client();

    auto index = c.Get("/desk/");
    REQUIRE(index);
    CHECK(index->status == 200);
    CHECK(index->body.find("<title>Desk</title>") != std::string::npos);
    auto js = c.Get("/desk/assets/app.js");
    REQUIRE(js);
    CHECK(js->status == 200);
    CHECK(js->body == "console.log('desk')");
    // Hashed assets may be kept by browsers for good; index.html is revalidated every time.
    CHECK(js->get_header_value("Cache-Control").find("immutable") != std::string::npos);
    CHECK(index->get_header_value("Cache-Control") == "no-cache");
    // Browsers offer brotli too; they get gzip (httplib's brotli is its slowest quality).
    auto gz = c.Get("/desk/assets/app.js", {{"Accept-Encoding", "gzip, deflate, br"}});
    REQUIRE(gz);
    CHECK(gz->get_header_value("Content-Encoding") == "gzip");
    CHECK(gz->body == "console.log('desk')"); // decompressed by the client
    auto br_only = c.Get("/health", {{"Accept-Encoding", "br"}});
    REQUIRE(br_only);
    CHECK(br_only->get_header_value("Content-Encoding").empty());
    auto route = c.Get("/desk/Customer/list");
    REQUIRE(route);
    CHECK(route->status == 200);
    CHECK(route->body.find("<title>Desk</title>") != std::string::npos);
    // A symlink inside the Desk folder pointing out of it is never followed.
    fs::create_symlink(p.root() / "secret.txt", desk / "assets" / "leak.js");
    fs::create_directory_symlink(p.root(), desk / "assets" / "up");
    for (const char* evil :
         {"/desk/../secret.txt", "/desk/%2e%2e/secret.txt", "/desk/assets/../../secret.txt",
          "/desk/..%2fsecret.txt", "/desk/assets/leak.js", "/desk/assets/up/secret.txt"}) {
        auto r = c.Get(evil);
        INFO(evil);
        if (r) CHECK(r->body.find("top secret") == std::string::npos);
    }

    // CORS: only the configured origin gets the headers; a foreign preflight is refused.
    auto allowed = c.Options("/api/v1/Customer", {{"Origin", "http://allowed.test"},
                                                  {"Access-Control-Request-Method", "POST"}});
    REQUIRE(allowed);
    CHECK(allowed->status == 204);
    CHECK(allowed->get_header_value("Access-Control-Allow-Origin") == "http://allowed.test");
    auto foreign = c.Options("/api/v1/Customer", {{"Origin", "http://evil.test"},
                                                  {"Access-Control-Request-Method", "POST"}});
    REQUIRE(foreign);
    CHECK(foreign->status == 403);
    CHECK(foreign->get_header_value("Access-Control-Allow-Origin").empty());
    auto simple = c.Get("/health", {{"Origin", "http://evil.test"}});
    REQUIRE(simple);
    CHECK(simple->get_header_value("Access-Control-Allow-Origin").empty());
}

TEST_CASE("serve: an installed m serves the Desk installed beside it, and a project's own first",
          "[api]") {
    Project p("sqlite");
    add_server_app(p);
    REQUIRE_EXIT(p.m({"migrate"}), 0);
    // The layout of `cmake --install`: bin/m, lib/m/m-server.so, share/m/desk.
    TempDir prefix;
    fs::create_directories(prefix.path() / "bin");
    fs::create_directories(prefix.path() / "lib/m");
    const fs::path built = fs::path(M_BINARY).parent_path();
    fs::copy_file(M_BINARY, prefix.path() / "bin/m");
    fs::copy_file(built / "m-server.so", prefix.path() / "lib/m/m-server.so");
    write_file(prefix.path() / "share/m/desk/index.html", "<title>installed Desk</title>");
    const std::string installed = (prefix.path() / "bin/m").string();
    {
        Server server(p, {}, installed);
        auto r = server.client().Get("/desk/");
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body.find("installed Desk") != std::string::npos);
    }
    // A project whose apps have plugins has its own Desk (m build writes .m/desk).
    write_file(p.root() / ".m/desk/index.html", "<title>the project's Desk</title>");
    Server server(p, {}, installed);
    auto r = server.client().Get("/desk/app/Customer");
    REQUIRE(r);
    CHECK(r->body.find("the project's Desk") != std::string::npos);
}

namespace {

/// A raw TCP connection to 127.0.0.1:port, or -1.
int connect_to(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/// Sends `request` and reads until `until` has arrived; false on timeout or close.
bool exchange(int fd, const std::string& request, const std::string& until) {
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        return false;
    }
    std::string got;
    char buf[4096];
    while (got.find(until) == std::string::npos) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return false;
        got.append(buf, static_cast<size_t>(n));
    }
    return true;
}

} // namespace

TEST_CASE("serve: a POST without a body or Content-Length (curl -X POST) is answered at once",
          "[api]") {
    ServedProject sp("sqlite");
    auto c = sp.server->client();
    std::string t = sp.token("alice@test");
    create(c, t, "Customer", {{"customer_name", "Acme"}});
    json order = create(c, t, "Order", {{"customer", "Acme"}, {"items", json::array()}});
    int fd = connect_to(sp.server->port());
    REQUIRE(fd >= 0);
    // No Content-Length, keep-alive: the request has no body; the reply is the submit's.
    REQUIRE(exchange(fd,
                     "POST /api/v1/Order/" + order["name"].get<std::string>() +
                         "/submit HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + t + "\r\n\r\n",
                     "\"docstatus\":1"));
    ::close(fd);
}

TEST_CASE("serve: 1,000 idle connections and 200 live streams do not starve API requests",
          "[api]") {
    if (const std::size_t limit = raise_fd_limit(); limit < 2500) {
        WARN("RLIMIT_NOFILE is " << limit << "; skipped");
        return;
    }
    // One user holds all 200 streams here: the per-user cap is raised for it.
    ServedProject sp("sqlite", {{"M_LOG_LEVEL", "warn"}, {"M_MAX_STREAMS_PER_USER", "500"}});
    std::string token = sp.token("alice@test");
    const int port = sp.server->port();

    std::vector<int> fds;
    for (int i = 0; i < 1000; ++i) {
        int fd = connect_to(port);
        REQUIRE(fd >= 0);
        fds.push_back(fd);
        REQUIRE(exchange(fd, "GET /api/v1/auth/me HTTP/1.1\r\nHost: t\r\n\r\n",
                         "\"authenticated\":false}"));
    }
    for (int i = 0; i < 200; ++i) {
        int fd = connect_to(port);
        REQUIRE(fd >= 0);
        fds.push_back(fd);
        REQUIRE(exchange(fd,
                         "GET /api/v1/stream HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                             token + "\r\n\r\n",
                         ": connected"));
    }
    auto c = sp.server->client();
    double worst = 0;
    for (int i = 0; i < 20; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        auto r = c.Get("/api/v1/Customer?limit=5", bearer(token));
        worst = std::max(
            worst, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        REQUIRE_STATUS(r, 200);
    }
    INFO("slowest request " << worst << " s");
    CHECK(worst < 1.0); // the stock thread pool would hang until keep-alive timeouts (5 s+)
    // A change reaches the 200 raw streams.
    create(c, token, "Customer", {{"customer_name", "Broadcast"}});
    std::string got;
    char buf[8192];
    int reached = 0;
    for (std::size_t i = 1000; i < fds.size(); ++i) {
        got.clear();
        while (got.find("\"name\":\"Broadcast\"") == std::string::npos) {
            ssize_t n = ::recv(fds[i], buf, sizeof buf, 0);
            if (n <= 0) break;
            got.append(buf, static_cast<size_t>(n));
        }
        if (got.find("\"name\":\"Broadcast\"") != std::string::npos) ++reached;
    }
    CHECK(reached == 200);
    for (int fd : fds) ::close(fd);
}
