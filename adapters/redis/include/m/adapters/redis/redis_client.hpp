// A small synchronous Redis client on hiredis 0.14 (RESP2), shared by the Redis adapters.
//
// hiredis contexts are not thread-safe and 0.14 has no pool, so RedisClient keeps a pool of
// contexts (one per concurrent caller) and turns every failure into core::Error: a broken
// connection is reopened once and the command retried once before the caller sees
// Error{unavailable}. Every connect and every command has a timeout, so no call blocks forever.
// No hiredis type appears in this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace m::adapters::redis {

/// The parts of `redis://[[user]:password@]host[:port][/db]`.
struct RedisUrl {
    std::string host;
    int port = 6379;
    std::string username; ///< "" = the default user (Redis 6 ACL)
    std::string password; ///< "" = no AUTH
    int db = 0;           ///< SELECTed when not 0
    std::string masked;   ///< the URL with the password replaced by ***, for messages
};

/// Parses a Redis URL. User and password may be percent-encoded; a host may be an IPv6 address
/// in brackets. Error{validation} naming the (masked) URL for anything else: another scheme
/// (rediss:// included: hiredis 0.14 has no TLS), a user without a password, a bad port or
/// database number, a query or fragment.
RedisUrl parse_redis_url(const std::string& url);

/// One reply, copied out of hiredis (so it outlives the connection).
struct RedisReply {
    enum class Type { nil, string, status, integer, array, error };

    Type type = Type::nil;
    std::string str;                  ///< string, status and error replies
    std::int64_t integer = 0;         ///< integer replies
    std::vector<RedisReply> elements; ///< array replies (may hold error elements, e.g. EXEC)

    bool is_nil() const noexcept { return type == Type::nil; }
};

/// Timeouts and pool size of a client.
struct RedisOptions {
    std::size_t pool_size = 16; ///< connections open at most; callers beyond wait for one
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds command_timeout{2000};
};

/// A pool of connections to one Redis server. Thread-safe. Connections open lazily (on the first
/// command) or in connect(); AUTH and SELECT run on each new connection when the URL asks.
///
/// Failures: a server that cannot be reached, refuses the password or the database, or breaks
/// a connection twice in a row gives Error{unavailable, "Redis at <masked url> is unreachable:
/// <reason>"}; an error reply gives Error{internal, "Redis: <message>"} (NOAUTH and LOADING
/// are Error{unavailable}: the server is there but cannot serve us). A command that gets no
/// reply within the command timeout is not retried (it may have run: INCR would count twice).
class RedisClient {
public:
    /// Parses the URL (Error{validation}); opens nothing yet.
    explicit RedisClient(const std::string& url, RedisOptions options = {});
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    const RedisUrl& url() const noexcept;

    /// Opens a connection now and PINGs (start() of the services). Error{unavailable}.
    void connect();

    /// Runs one command; each argument is sent as is (binary-safe).
    RedisReply command(const std::vector<std::string>& argv);

    /// Sends all commands at once and reads their replies in order (one round trip). Error
    /// replies do not stop the others; the first one is thrown as Error{internal} after all
    /// replies are read. On a broken connection the whole batch is retried once, so use it only
    /// for commands that may run twice (SET, ZADD, DEL, ...).
    std::vector<RedisReply> pipeline(const std::vector<std::vector<std::string>>& commands);

    /// Closes the idle connections (stop() of the services); later commands reconnect.
    void close() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace m::adapters::redis
