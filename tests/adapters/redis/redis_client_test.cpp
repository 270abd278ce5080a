// RedisClient: URL parsing, replies, pipelining, error kinds, timeouts and reconnection against
// a real redis-server started per test.
#include "redis_server.hpp"

#include "m/adapters/redis/redis_client.hpp"
#include "m/core/error.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using m::adapters::redis::parse_redis_url;
using m::adapters::redis::RedisClient;
using m::adapters::redis::RedisOptions;
using m::adapters::redis::RedisReply;
using m::core::Error;
using m::core::ErrorKind;

namespace {

/// The kind and message of the Error that `fn` throws (fails the test when it throws none).
template <class Fn> std::pair<ErrorKind, std::string> error_of(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return {e.kind(), e.what()};
    }
    FAIL("expected a core::Error");
    return {};
}

} // namespace

TEST_CASE("redis url parsing accepts the documented forms") {
    auto plain = parse_redis_url("redis://localhost");
    CHECK(plain.host == "localhost");
    CHECK(plain.port == 6379);
    CHECK(plain.db == 0);
    CHECK(plain.password.empty());

    auto full = parse_redis_url("redis://:p%40ss%2Fw@10.0.0.1:6380/3");
    CHECK(full.host == "10.0.0.1");
    CHECK(full.port == 6380);
    CHECK(full.db == 3);
    CHECK(full.username.empty());
    CHECK(full.password == "p@ss/w");
    CHECK(full.masked.find("p%40ss") == std::string::npos);

    auto acl = parse_redis_url("redis://default:pw@[::1]:7000/");
    CHECK(acl.host == "::1");
    CHECK(acl.port == 7000);
    CHECK(acl.username == "default");
    CHECK(acl.password == "pw");
    CHECK(acl.db == 0);
}

TEST_CASE("redis url parsing refuses anything else naming the masked url") {
    for (const char* bad :
         {"", "localhost:6379", "http://localhost", "rediss://localhost", "redis://",
          "redis://:6379", "redis://host:0", "redis://host:65536", "redis://host:abc",
          "redis://host:", "redis://host/x", "redis://host/1/2", "redis://host?db=1",
          "redis://user@host", "redis://:@host", "redis://[::1", "redis://bad host",
          "redis://:secret@host:abc"}) {
        INFO(bad);
        auto [kind, message] = error_of([&] { parse_redis_url(bad); });
        CHECK(kind == ErrorKind::validation);
        CHECK(message.find("Redis URL") != std::string::npos);
        CHECK(message.find("secret") == std::string::npos);
    }
    auto [kind, message] = error_of([] { RedisClient client("redis://:secret@host:abc"); });
    CHECK(kind == ErrorKind::validation);
    CHECK(message.find("redis://:***@host:abc") != std::string::npos);
}

TEST_CASE("redis client sends binary arguments and reads every reply type") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    RedisClient client(server->url());
    client.connect();

    const std::string binary("a\0b\r\nc", 6);
    CHECK(client.command({"SET", "bin", binary}).type == RedisReply::Type::status);
    auto got = client.command({"GET", "bin"});
    CHECK(got.type == RedisReply::Type::string);
    CHECK(got.str == binary);
    CHECK(client.command({"GET", "missing"}).is_nil());
    auto n = client.command({"INCR", "n"});
    CHECK(n.type == RedisReply::Type::integer);
    CHECK(n.integer == 1);
    client.command({"RPUSH", "list", "x", "y"});
    auto list = client.command({"LRANGE", "list", "0", "-1"});
    REQUIRE(list.type == RedisReply::Type::array);
    REQUIRE(list.elements.size() == 2);
    CHECK(list.elements[1].str == "y");
}

TEST_CASE("redis client pipelines commands and reports error replies as internal") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    RedisClient client(server->url());

    std::vector<std::vector<std::string>> batch;
    for (int i = 0; i < 500; ++i) batch.push_back({"SET", "k" + std::to_string(i), "v"});
    batch.push_back({"DBSIZE"});
    auto replies = client.pipeline(batch);
    REQUIRE(replies.size() == 501);
    CHECK(replies.back().integer == 500);

    client.command({"SET", "s", "text"});
    auto [kind, message] = error_of([&] { client.command({"LPUSH", "s", "x"}); });
    CHECK(kind == ErrorKind::internal);
    CHECK(message.find("Redis: WRONGTYPE") == 0);

    // An error in a batch: the other commands ran, the connection stays usable.
    auto [batch_kind, batch_message] = error_of([&] {
        client.pipeline({{"SET", "a", "1"}, {"LPUSH", "s", "x"}, {"SET", "b", "2"}});
    });
    CHECK(batch_kind == ErrorKind::internal);
    CHECK(client.command({"GET", "b"}).str == "2");
}

TEST_CASE("redis client reconnects after the server restarts or is killed") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    RedisOptions options;
    options.pool_size = 4;
    RedisClient client(server->url(), options);
    // Several idle connections in the pool, all of which the restart breaks.
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] {
            for (int j = 0; j < 50; ++j) client.command({"INCR", "warm"});
        });
    }
    for (auto& t : threads) t.join();

    server->restart();
    CHECK(client.command({"SET", "after", "restart"}).str == "OK");
    CHECK(client.command({"GET", "after"}).str == "restart");

    server->kill();
    auto [kind, message] = error_of([&] { client.command({"GET", "after"}); });
    CHECK(kind == ErrorKind::unavailable);
    CHECK(message.find("Redis at " + server->url() + " is unreachable") == 0);

    server->restart();
    CHECK(client.command({"GET", "after"}).is_nil()); // no persistence

    // A large batch on connections the server has closed: writing to them raises SIGPIPE,
    // which must not kill the process; the batch is retried on a fresh connection.
    client.command({"PING"});
    server->restart();
    std::vector<std::vector<std::string>> batch;
    for (int i = 0; i < 2000; ++i) {
        batch.push_back({"SET", "big" + std::to_string(i), std::string(4096, 'x')});
    }
    CHECK(client.pipeline(batch).size() == 2000);
    CHECK(client.command({"DBSIZE"}).integer == 2000);
}

TEST_CASE("redis client gives up on a hung server after the command timeout") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    RedisOptions options;
    options.command_timeout = std::chrono::milliseconds(300);
    RedisClient client(server->url(), options);
    client.connect();

    server->pause();
    const auto started = std::chrono::steady_clock::now();
    auto [kind, message] = error_of([&] { client.command({"GET", "x"}); });
    const auto waited = std::chrono::steady_clock::now() - started;
    CHECK(kind == ErrorKind::unavailable);
    CHECK(message.find("no reply within 300 ms") != std::string::npos);
    CHECK(waited < std::chrono::seconds(2));

    server->resume();
    CHECK(client.command({"PING"}).str == "PONG");
}

TEST_CASE("redis client authenticates and selects the database of the url") {
    auto server = m::test::redis_or_skip({"--requirepass", "s3cret"});
    if (!server) return;

    RedisClient db2(server->url("s3cret", 2));
    db2.connect();
    db2.command({"SET", "where", "db2"});
    RedisClient db0(server->url("s3cret"));
    CHECK(db0.command({"GET", "where"}).is_nil());
    CHECK(db2.command({"GET", "where"}).str == "db2");

    auto [no_kind, no_message] = error_of([&] { RedisClient(server->url()).connect(); });
    CHECK(no_kind == ErrorKind::unavailable);
    CHECK(no_message.find("needs a password") != std::string::npos);

    auto [bad_kind, bad_message] = error_of([&] { RedisClient(server->url("wrong")).connect(); });
    CHECK(bad_kind == ErrorKind::unavailable);
    CHECK(bad_message.find("refused the password") != std::string::npos);
    CHECK(bad_message.find("wrong") == std::string::npos);

    auto [db_kind, db_message] =
        error_of([&] { RedisClient(server->url("s3cret", 999)).connect(); });
    CHECK(db_kind == ErrorKind::unavailable);
    CHECK(db_message.find("refused database 999") != std::string::npos);
}

TEST_CASE("redis client reports a password sent to a server without one") {
    auto server = m::test::redis_or_skip();
    if (!server) return;
    auto [kind, message] = error_of([&] { RedisClient(server->url("hunter2")).connect(); });
    CHECK(kind == ErrorKind::unavailable);
    CHECK(message.find("redis://:***@127.0.0.1") != std::string::npos);
    CHECK(message.find("refused the password") != std::string::npos);
    CHECK(message.find("hunter2") == std::string::npos);
}

TEST_CASE("redis client reports a server that is not there") {
    const int port = m::test::free_tcp_port();
    const std::string url = "redis://127.0.0.1:" + std::to_string(port);
    RedisClient client(url);
    auto [kind, message] = error_of([&] { client.connect(); });
    CHECK(kind == ErrorKind::unavailable);
    CHECK(message == "Redis at " + url + " is unreachable: Connection refused");
}
