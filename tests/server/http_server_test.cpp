// The HTTP transport of `m serve` over real loopback sockets: keep-alive, limits, pipelining,
// thousands of idle connections and open streams without starvation, the event hub, the
// connection cap and a prompt stop(). Bounds are generous (the machine is shared); nothing here
// measures throughput.
#include "http_test_support.hpp"

using namespace m::test::http;
using m::server::HttpOptions;
using m::server::HttpServer;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("http: GET answers and one keep-alive connection serves many requests", "[http]") {
    TestServer t(small_options());
    httplib::Client client("127.0.0.1", t.port());
    client.set_keep_alive(true);

    auto hello = client.Get("/hello");
    REQUIRE(hello);
    CHECK(hello->status == 200);
    CHECK(hello->body == R"({"hello":"world"})");
    CHECK(hello->get_header_value("Content-Type") == "application/json");

    std::set<std::string> client_ports;
    for (int i = 0; i < 50; ++i) {
        auto res = client.Get("/peer");
        REQUIRE(res);
        REQUIRE(res->status == 200);
        client_ports.insert(res->body);
    }
    CHECK(client_ports.size() == 1); // every request came over the same connection
    CHECK(t.server().stats().connections == 1);

    auto missing = client.Get("/nope");
    REQUIRE(missing);
    CHECK(missing->status == 404);
}

TEST_CASE("http: a body over max_body gets 413", "[http]") {
    HttpOptions options = small_options();
    options.max_body = 1024;
    TestServer t(options);
    httplib::Client client("127.0.0.1", t.port());

    auto small = client.Post("/size", std::string(512, 'x'), "text/plain");
    REQUIRE(small);
    CHECK(small->status == 200);
    CHECK(small->body == "512");

    auto large = client.Post("/size", std::string(4096, 'x'), "text/plain");
    REQUIRE(large);
    CHECK(large->status == 413);
}

TEST_CASE("http: pipelined requests on one connection get their responses in order", "[http]") {
    TestServer t(small_options());
    RawClient client(t.port());
    REQUIRE(client.connected());
    std::string requests;
    for (int n = 1; n <= 3; ++n) {
        requests += "GET /echo?n=" + std::to_string(n) + " HTTP/1.1\r\nHost: test\r\n\r\n";
    }
    REQUIRE(client.send(requests)); // all three in one write

    for (int n = 1; n <= 3; ++n) {
        auto response = client.read_response();
        REQUIRE(response);
        CHECK(response->status == 200);
        CHECK(response->body == std::to_string(n));
    }
}

TEST_CASE("http: large bodies both ways, Expect: 100-continue, HEAD", "[http]") {
    HttpOptions options = small_options();
    options.max_body = 4 << 20;
    TestServer t(options);

    httplib::Client client("127.0.0.1", t.port());
    client.set_keep_alive(true);
    auto big = client.Get("/big");
    REQUIRE(big);
    CHECK(big->status == 200);
    CHECK(big->body == std::string(1 << 20, 'b'));
    auto upload = client.Post("/size", std::string(2 << 20, 'u'), "application/octet-stream");
    REQUIRE(upload);
    CHECK(upload->body == std::to_string(2 << 20));

    RawClient raw(t.port());
    REQUIRE(raw.send("POST /size HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n"
                     "Expect: 100-continue\r\n\r\n"));
    REQUIRE(raw.read_until("HTTP/1.1 100 Continue\r\n\r\n", 2s));
    raw.data().clear();
    REQUIRE(raw.send(std::string(100000, 'e')));
    auto answer = raw.read_response();
    REQUIRE(answer);
    CHECK(answer->status == 200);
    CHECK(answer->body == "100000");

    REQUIRE(raw.send("HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n"));
    REQUIRE(raw.read_until("\r\n\r\n", 2s));
    CHECK(raw.data().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    raw.data().clear();
    REQUIRE(raw.get("/echo?n=after-head")); // the connection is still usable
    auto after = raw.read_response();
    REQUIRE(after);
    CHECK(after->body == "after-head");
}

TEST_CASE("http: an ordinary chunked response arrives chunk by chunk", "[http]") {
    TestServer t(small_options());
    RawClient raw(t.port());
    REQUIRE(raw.get("/ticks"));
    const auto start = Clock::now();
    REQUIRE(raw.read_until("1\r\nt\r\n", 2s));
    CHECK(Clock::now() - start < 300ms); // the first chunk did not wait for the others
    CHECK(raw.read_until("0\r\n\r\n", 3s));
}

TEST_CASE("http: stop() lets the request in flight finish", "[http]") {
    TestServer t(small_options());
    auto answer = std::async(std::launch::async, [port = t.port()] {
        httplib::Client client("127.0.0.1", port);
        auto res = client.Get("/slow");
        return res ? res->body : std::string("no answer");
    });
    REQUIRE(eventually([&] { return t.slow_started() == 1; }, 2s)); // the handler is running
    RawClient half(t.port()); // and a request that never completes
    REQUIRE(half.send("GET /hello HTTP/1.1\r\nHo"));
    REQUIRE(t.stop_within(2s));
    CHECK(answer.get() == "done");
    CHECK(half.wait_closed(2s));
}

TEST_CASE("http: 1,000 idle connections and 200 streams starve no request; stop() is prompt",
          "[http]") {
    HttpOptions options = small_options();
    options.keep_alive_timeout_s = 60; // the idle connections stay for the whole test
    TestServer t(options);

    std::vector<std::unique_ptr<RawClient>> idle;
    int idle_ok = 0;
    for (int i = 0; i < 1000; ++i) {
        auto client = std::make_unique<RawClient>(t.port());
        if (client->get("/hello")) {
            auto response = client->read_response();
            if (response && response->status == 200) ++idle_ok;
        }
        idle.push_back(std::move(client));
    }
    REQUIRE(idle_ok == 1000);

    std::vector<std::unique_ptr<RawClient>> streams;
    for (int i = 0; i < 200; ++i) {
        auto stream = open_stream(t.port(), i);
        REQUIRE(stream);
        streams.push_back(std::move(stream));
    }
    REQUIRE(eventually([&] { return t.server().stats().streams == 200; }, 2s));
    CHECK(t.server().stats().connections == 1200);

    // The stock library would have pinned every worker: these would wait 5 s or forever.
    for (int i = 0; i < 20; ++i) {
        httplib::Client client("127.0.0.1", t.port());
        client.set_read_timeout(5, 0);
        const auto start = Clock::now();
        auto res = client.Get("/hello");
        const auto took = Clock::now() - start;
        REQUIRE(res);
        CHECK(res->status == 200);
        CHECK(took < 1s);
    }

    t.server().publish(render_all);
    const auto published = chunk("data: hello\n\n");
    int reached = 0;
    for (auto& stream : streams) reached += stream->read_until(published, 5s) ? 1 : 0;
    CHECK(reached == 200);

    REQUIRE(t.stop_within(2s));
    int ended = 0;
    for (auto& stream : streams) ended += stream->read_until("0\r\n\r\n", 2s) ? 1 : 0;
    CHECK(ended == 200); // the last chunk, then the stream closes
    int closed = 0;
    for (auto& client : idle) closed += client->wait_closed(2s) ? 1 : 0;
    CHECK(closed == 1000);
}

TEST_CASE("http: publish reaches every open stream; an empty render skips one", "[http]") {
    TestServer t(small_options());
    std::vector<std::unique_ptr<RawClient>> streams;
    for (int id = 0; id < 5; ++id) {
        auto stream = open_stream(t.port(), id);
        REQUIRE(stream);
        streams.push_back(std::move(stream));
    }
    REQUIRE(eventually([&] { return t.server().stats().streams == 5; }, 2s));

    t.server().publish([](void* state) -> std::string {
        const int id = *static_cast<int*>(state);
        return id == 3 ? "" : "data: first " + std::to_string(id) + "\n\n";
    });
    for (int id = 0; id < 5; ++id) {
        if (id == 3) continue;
        CHECK(streams[id]->read_until(chunk("data: first " + std::to_string(id) + "\n\n"), 2s));
    }
    t.server().publish([](void*) { return std::string("data: second\n\n"); });
    for (auto& stream : streams) CHECK(stream->read_until(chunk("data: second\n\n"), 2s));
    CHECK(streams[3]->data().find("first") == std::string::npos);
}

TEST_CASE("http: events published while a stream is being opened follow its initial chunk",
          "[http]") {
    TestServer t(small_options());
    RawClient raw(t.port());
    REQUIRE(raw.get("/events-early"));
    REQUIRE(raw.read_until(chunk("data: early\n\n"), 2s));
    const auto initial = raw.data().find(chunk("retry: 1000\n\n"));
    REQUIRE(initial != std::string::npos);
    CHECK(initial < raw.data().find(chunk("data: early\n\n")));

    // HEAD gets the headers only; the connection stays an ordinary keep-alive one.
    RawClient head(t.port());
    REQUIRE(head.send("HEAD /events?id=1 HTTP/1.1\r\nHost: test\r\n\r\n"));
    REQUIRE(head.read_until("\r\n\r\n", 2s));
    CHECK(head.data().find("Content-Type: text/event-stream") != std::string::npos);
    head.data().clear();
    REQUIRE(head.get("/echo?n=after"));
    auto after = head.read_response();
    REQUIRE(after);
    CHECK(after->body == "after");
    CHECK(t.server().stats().streams == 1);
}

TEST_CASE("http: event streams are chunked text/event-stream, uncompressed, pinged, ended by stop",
          "[http]") {
    HttpOptions options = small_options();
    options.stream_ping_s = 1;
    TestServer t(options);
    auto stream = open_stream(t.port(), 1, "Accept-Encoding: gzip, deflate, br\r\n");
    REQUIRE(stream);
    const std::string head = stream->data().substr(0, stream->data().find("\r\n\r\n") + 4);
    CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(head.find("Content-Type: text/event-stream\r\n") != std::string::npos);
    CHECK(head.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(head.find("Cache-Control: no-cache\r\n") != std::string::npos);
    CHECK(head.find("X-Accel-Buffering: no\r\n") != std::string::npos);
    CHECK(head.find("Content-Encoding") == std::string::npos); // gzip would buffer the stream

    // Each event arrives on its own, at once (a compressor would hold it back).
    const auto start = Clock::now();
    t.server().publish(render_all);
    CHECK(stream->read_until(chunk("data: hello\n\n"), 2s));
    CHECK(Clock::now() - start < 1s);

    CHECK(stream->read_until(chunk(": ping\n\n"), 4s));

    REQUIRE(t.stop_within(2s));
    CHECK(stream->read_until("0\r\n\r\n", 2s));
    CHECK(stream->wait_closed(2s));
}

TEST_CASE("http: a stream client that disconnects is removed at once", "[http]") {
    TestServer t(small_options());
    auto stream = open_stream(t.port(), 1);
    REQUIRE(stream);
    REQUIRE(eventually([&] { return t.server().stats().streams == 1; }, 2s));
    CHECK(t.server().stats().connections == 1);

    stream->close();
    CHECK(eventually([&] { return t.server().stats().streams == 0; }, 1s));
    CHECK(t.server().stats().connections == 0);
}

TEST_CASE("http: a stream client that stops reading is dropped beyond stream_max_pending",
          "[http]") {
    HttpOptions options = small_options();
    options.stream_max_pending = 64 * 1024;
    TestServer t(options);
    RawClient stalled(t.port(), 4096); // small receive buffer; never read after the headers
    REQUIRE(stalled.get("/events?id=1"));
    REQUIRE(stalled.read_until(chunk("retry: 1000\n\n"), 5s));
    auto reader = open_stream(t.port(), 2);
    REQUIRE(reader);
    REQUIRE(eventually([&] { return t.server().stats().streams == 2; }, 2s));

    const std::string big(256 * 1024, 'x');
    for (int i = 0; i < 400 && t.server().stats().streams == 2; ++i) {
        t.server().publish([&](void* state) {
            return *static_cast<int*>(state) == 1 ? "data: " + big + "\n\n" : std::string();
        });
    }
    CHECK(t.server().stats().streams == 1);
    t.server().publish(render_all); // the other stream is unaffected
    CHECK(reader->read_until(chunk("data: hello\n\n"), 2s));
}

TEST_CASE("http: at max_connections the longest-idle connection is evicted, else 503", "[http]") {
    HttpOptions options = small_options();
    options.max_connections = 2;
    options.keep_alive_timeout_s = 60;

    SECTION("idle keep-alive connections make room") {
        TestServer t(options);
        RawClient first(t.port());
        RawClient second(t.port());
        REQUIRE(first.get("/hello"));
        REQUIRE(first.read_response());
        std::this_thread::sleep_for(20ms); // `first` is the longest idle
        REQUIRE(second.get("/hello"));
        REQUIRE(second.read_response());

        httplib::Client client("127.0.0.1", t.port());
        auto res = client.Get("/hello");
        REQUIRE(res);
        CHECK(res->status == 200);
        CHECK(first.wait_closed(2s));
        CHECK(t.server().stats().rejected == 0);
    }

    SECTION("streams cannot be evicted: the extra connection gets 503") {
        TestServer t(options);
        auto one = open_stream(t.port(), 1);
        auto two = open_stream(t.port(), 2);
        REQUIRE(one);
        REQUIRE(two);
        REQUIRE(eventually([&] { return t.server().stats().streams == 2; }, 2s));

        httplib::Client client("127.0.0.1", t.port());
        auto res = client.Get("/hello");
        REQUIRE(res);
        CHECK(res->status == 503);
        CHECK(res->get_header_value("Retry-After") == "1");
        CHECK(res->get_header_value("Content-Type") == "application/json");
        CHECK(res->body == R"({"error":"Unavailable","message":"server at connection limit"})");
        CHECK(t.server().stats().rejected == 1);
        CHECK(t.server().stats().streams == 2);
    }
}

TEST_CASE("http: idle keep-alive connections are closed after keep_alive_timeout_s", "[http]") {
    HttpOptions options = small_options();
    options.keep_alive_timeout_s = 1;
    TestServer t(options);
    RawClient client(t.port());
    REQUIRE(client.get("/hello"));
    REQUIRE(client.read_response());
    CHECK(t.server().stats().connections == 1);

    const auto start = Clock::now();
    CHECK(client.wait_closed(5s));
    CHECK(Clock::now() - start >= 500ms);
    CHECK(eventually([&] { return t.server().stats().connections == 0; }, 1s));
}

TEST_CASE("http: bind on a port in use throws unavailable; port 0 picks a free port", "[http]") {
    HttpOptions options;
    options.port = 0;
    HttpServer first(options);
    first.bind();
    REQUIRE(first.port() > 0);

    options.port = first.port();
    HttpServer second(options);
    try {
        second.bind();
        FAIL("bind() on a port in use succeeded");
    } catch (const m::core::Error& e) {
        CHECK(e.kind() == m::core::ErrorKind::unavailable);
        CHECK_THAT(e.what(),
                   Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(first.port())));
    }
}

TEST_CASE("http: stop() before listen() makes listen() return at once", "[http]") {
    HttpOptions options;
    options.port = 0;
    HttpServer server(options);
    server.stop();
    const auto start = Clock::now();
    server.listen();
    CHECK(Clock::now() - start < 1s);
}

TEST_CASE("http: an exception escaping httplib's handlers does not kill a worker", "[http]") {
    HttpOptions options = small_options();
    options.workers = 1;
    // An exception handler that rethrows lets the handler's exception out of the library.
    TestServer t(options, [](httplib::Server& routes) {
        routes.set_exception_handler([](const httplib::Request&, httplib::Response&,
                                        std::exception_ptr e) { std::rethrow_exception(e); });
    });
    httplib::Client client("127.0.0.1", t.port());
    auto failed = client.Get("/throw");
    CHECK_FALSE(failed); // the connection was closed without an answer
    for (int i = 0; i < 3; ++i) {
        auto res = client.Get("/hello");
        REQUIRE(res);
        CHECK(res->status == 200);
    }
}
