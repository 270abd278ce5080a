// The transport against hostile clients (docs/ARCHITECTURE.md, "Limits and the threat model"):
// chunked bodies past the limit, framing that could smuggle a request, oversized headers, and
// slow clients that must never hold a worker thread. Real loopback sockets; the deadlines are
// set short so the tests wait for conditions of a few seconds, never for a fixed time.
#include "http_test_support.hpp"
#include "support.hpp"

using namespace m::test::http;
using m::server::HttpOptions;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

HttpOptions hostile_options() {
    HttpOptions options = small_options();
    options.max_body = 64 * 1024;
    options.header_timeout_s = 2;
    options.read_timeout_s = 1;
    options.min_body_rate = 4096;
    return options;
}

std::string status_of(RawClient& client) {
    auto response = client.read_response(5s);
    return response ? std::to_string(response->status) : std::string("none");
}

} // namespace

TEST_CASE("hostile: a chunked body over max_body gets 413 before it is all sent", "[http]") {
    TestServer t(hostile_options());
    RawClient ok(t.port());
    REQUIRE(ok.send("POST /size HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
                    chunk(std::string(1000, 'a')) + chunk(std::string(24, 'b')) + "0\r\n\r\n"));
    auto fine = ok.read_response();
    REQUIRE(fine);
    CHECK(fine->status == 200);
    CHECK(fine->body == "1024"); // the decoded size

    RawClient big(t.port());
    REQUIRE(big.send("POST /size HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
    // 40 times the limit is offered; the answer must come while the client is still sending.
    bool answered = false;
    for (int i = 0; i < 40 * 16 && !answered; ++i) {
        if (!big.send(chunk(std::string(4096, 'x')))) break; // the server closed: answered
        answered =
            big.data().find("413") != std::string::npos || big.read_until("HTTP/1.1 413", 1ms);
    }
    REQUIRE((answered || big.read_until("HTTP/1.1 413", 5s)));
    CHECK(big.data().find("\"error\":\"ValidationError\"") != std::string::npos);
    CHECK(big.wait_closed(5s));

    // One huge chunk announced is refused on its size line alone.
    RawClient huge(t.port());
    REQUIRE(huge.send("POST /size HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "fffffffffff\r\n"));
    CHECK(status_of(huge) == "413");

    RawClient announced(t.port());
    REQUIRE(announced.send("POST /size HTTP/1.1\r\nHost: t\r\nContent-Length: 999999999\r\n\r\n"));
    CHECK(status_of(announced) == "413");
}

TEST_CASE("hostile: tiny chunks cannot make the server buffer many times max_body", "[http]") {
    TestServer t(hostile_options()); // max_body 64 KiB
    // 1-byte chunks: 6 bytes on the wire per byte of body. The decoded body would stay under
    // the limit for a long time; the framing may not.
    RawClient tiny(t.port());
    REQUIRE(tiny.send("POST /size HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
    std::string burst;
    for (int i = 0; i < 4096; ++i) burst += chunk("x"); // 24 KiB on the wire, 4 KiB of body
    bool answered = false;
    for (int i = 0; i < 64 && !answered; ++i) { // up to 1.5 MiB offered, 256 KiB of body
        if (!tiny.send(burst)) break;
        answered = tiny.read_until("HTTP/1.1 413", 1ms);
    }
    REQUIRE((answered || tiny.read_until("HTTP/1.1 413", 5s)));
    CHECK(tiny.data().find("chunks too small") != std::string::npos);

    // Small chunks of a body within the limit still pass.
    RawClient fine(t.port());
    std::string body;
    for (int i = 0; i < 1000; ++i) body += chunk("ab");
    REQUIRE(fine.send("POST /size HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
                      body + "0\r\n\r\n"));
    auto ok = fine.read_response();
    REQUIRE(ok);
    CHECK(ok->status == 200);
    CHECK(ok->body == "2000");
}

TEST_CASE("hostile: framing that httplib could read differently is refused with 400", "[http]") {
    TestServer t(hostile_options());
    const char* requests[] = {
        "POST /size HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /size HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "POST /size HTTP/1.1\r\nContent-Length: %33\r\n\r\nabc",
        "POST /size HTTP/1.1\r\nContent-Length: 3x\r\n\r\nabc",
        "POST /size HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "GET /hello HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET /",
        "POST /size HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY",
        "POST /size HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer: x\r\n\r\n",
        "POST /size HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
        "POST /size HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n",
        "GET /hello HTTP/1.1\nHost: t\n\n",
    };
    for (const char* request : requests) {
        INFO(request);
        RawClient client(t.port());
        REQUIRE(client.send(request));
        CHECK(status_of(client) == "400");
        CHECK(client.wait_closed(5s));
    }
    // The server is unharmed.
    RawClient after(t.port());
    REQUIRE(after.get("/hello"));
    CHECK(status_of(after) == "200");
}

TEST_CASE("hostile: too many or too large header fields get 431, a long request line 414",
          "[http]") {
    TestServer t(hostile_options());
    std::string many = "GET /hello HTTP/1.1\r\n";
    for (int i = 0; i < 101; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    RawClient a(t.port());
    REQUIRE(a.send(many + "\r\n"));
    CHECK(status_of(a) == "431");

    RawClient b(t.port());
    REQUIRE(b.send("GET /hello HTTP/1.1\r\nX-Big: " + std::string(40000, 'h') + "\r\n\r\n"));
    CHECK(status_of(b) == "431");

    // Header bytes that never end are refused once the cap is passed, not buffered forever.
    RawClient c(t.port());
    REQUIRE(c.send("GET /hello HTTP/1.1\r\n"));
    for (int i = 0; i < 100 && c.send(std::string(1024, 'h')); ++i) {
    }
    CHECK(c.read_until("HTTP/1.1 431", 5s));

    RawClient d(t.port());
    REQUIRE(d.send("GET /" + std::string(9000, 'p') + " HTTP/1.1\r\n\r\n"));
    CHECK(status_of(d) == "414");
}

TEST_CASE("hostile: slow-loris clients hold no worker and get 408 at the header deadline",
          "[http]") {
    HttpOptions options = hostile_options();
    options.workers = 2;
    TestServer t(options);
    // Three times as many slow clients as workers, each sending a header byte every 200 ms.
    std::vector<std::unique_ptr<RawClient>> slow;
    for (int i = 0; i < 6; ++i) {
        slow.push_back(std::make_unique<RawClient>(t.port()));
        REQUIRE(slow.back()->send("GET /hello HTTP/1.1\r\n"));
    }
    const std::string trickle = "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    std::atomic<bool> stop{false};
    std::thread sender([&] {
        for (std::size_t i = 0; !stop.load(); ++i) {
            for (auto& c : slow) c->send(std::string(1, trickle[i % trickle.size()]));
            std::this_thread::sleep_for(200ms);
        }
    });
    // Meanwhile ordinary requests are answered at once, every time.
    int answered = 0;
    for (int i = 0; i < 9; ++i) {
        RawClient quick(t.port());
        REQUIRE(quick.get("/hello"));
        auto response = quick.read_response(1s);
        if (response && response->status == 200) ++answered;
    }
    CHECK(answered == 9);
    // Past header_timeout_s the slow ones are answered 408 and closed.
    for (auto& c : slow) {
        CHECK(c->read_until("HTTP/1.1 408", 6s));
        CHECK(c->wait_closed(5s));
    }
    stop = true;
    sender.join();
}

TEST_CASE("hostile: a body slower than min_body_rate gets 408; a steady one is served", "[http]") {
    TestServer t(hostile_options());
    RawClient slow(t.port());
    REQUIRE(slow.send("POST /size HTTP/1.1\r\nHost: t\r\nContent-Length: 60000\r\n\r\n"));
    bool refused = false;
    for (int i = 0; i < 100 && !refused; ++i) { // 10 bytes every 100 ms: 100 B/s < 4096 B/s
        if (!slow.send(std::string(10, 's'))) break;
        refused = slow.read_until("HTTP/1.1 408", 100ms);
    }
    CHECK((refused || slow.read_until("HTTP/1.1 408", 5s)));

    RawClient steady(t.port());
    REQUIRE(steady.send("POST /size HTTP/1.1\r\nHost: t\r\nContent-Length: 40000\r\n\r\n"));
    for (int i = 0; i < 10; ++i) { // 4,000 bytes every 100 ms: 40 kB/s
        REQUIRE(steady.send(std::string(4000, 's')));
        std::this_thread::sleep_for(100ms);
    }
    auto done = steady.read_response();
    REQUIRE(done);
    CHECK(done->status == 200);
    CHECK(done->body == "40000");
}

TEST_CASE("hostile: 1,000 slow-loris and 1,000 idle keep-alive sockets starve no request",
          "[http]") {
    // Both ends of 2,000 sockets (root raises it to the hard limit).
    REQUIRE(m::test::raise_fd_limit() >= 4500);
    HttpOptions options = small_options();
    options.header_timeout_s = 60; // the slow ones stay for the whole test
    options.keep_alive_timeout_s = 60;
    TestServer t(options);
    std::vector<std::unique_ptr<RawClient>> held;
    for (int i = 0; i < 1000; ++i) {
        auto slow = std::make_unique<RawClient>(t.port());
        REQUIRE(slow->send("GET /hello HTTP/1.1\r\nX-Slow: "));
        held.push_back(std::move(slow));
        auto idle = std::make_unique<RawClient>(t.port());
        REQUIRE(idle->get("/hello"));
        held.push_back(std::move(idle));
    }
    for (std::size_t i = 1; i < held.size(); i += 2) { // every idle one got its answer
        auto answer = held[i]->read_response(10s);
        REQUIRE(answer);
        REQUIRE(answer->status == 200);
    }
    for (auto& c : held) c->send("x"); // the slow ones go on, the idle ones pipeline junk
    // Fresh clients are served, each in well under the generous bound of a shared machine.
    for (int i = 0; i < 20; ++i) {
        RawClient quick(t.port());
        REQUIRE(quick.get("/echo?n=" + std::to_string(i)));
        auto response = quick.read_response(2s);
        REQUIRE(response);
        CHECK(response->body == std::to_string(i));
    }
    CHECK(t.server().stats().connections >= 2000);
}
