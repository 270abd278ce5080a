#include "m/adapters/redis/redis_client.hpp"

#include "m/core/error.hpp"
#include "m/core/pool.hpp"
#include "m/core/settings.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <optional>
#include <pthread.h>
#include <string_view>

namespace m::adapters::redis {

using core::Error;
using core::ErrorKind;

namespace {

constexpr const char* k_url_shape = "redis://[[user]:password@]host[:port][/db]";

[[noreturn]] void bad_url(const std::string& masked, const std::string& why) {
    throw Error(
        ErrorKind::validation,
        fmt::format("'{}' is not a valid Redis URL: {} (expected {})", masked, why, k_url_shape));
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Decodes %XX escapes (passwords often hold '@', ':' or '/', which a URL must escape).
std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;
        const int hi = hex_digit(text[i + 1]);
        const int lo = hex_digit(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

/// A decimal number in [low, high], or nullopt.
std::optional<long> number_in(std::string_view text, long low, long high) {
    if (text.empty() || text.size() > 9) return std::nullopt;
    long value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    if (value < low || value > high) return std::nullopt;
    return value;
}

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

/// hiredis writes with write(2): a write to a connection the server has closed raises SIGPIPE,
/// which would kill the whole process (m has no SIGPIPE handler). The signal is blocked on this
/// thread while hiredis writes, and one raised meanwhile is consumed before unblocking.
class SigpipeGuard {
public:
    SigpipeGuard() {
        sigemptyset(&m_set);
        sigaddset(&m_set, SIGPIPE);
        sigset_t pending;
        sigemptyset(&pending);
        sigpending(&pending);
        m_was_pending = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &m_set, &m_old);
    }
    ~SigpipeGuard() {
        if (!m_was_pending) {
            sigset_t pending;
            sigemptyset(&pending);
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                const timespec zero{};
                sigtimedwait(&m_set, nullptr, &zero);
            }
        }
        pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

private:
    sigset_t m_set{};
    sigset_t m_old{};
    bool m_was_pending = false;
};

struct ReplyDeleter {
    void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

RedisReply convert(const redisReply& r) {
    RedisReply out;
    switch (r.type) {
    case REDIS_REPLY_STRING:
        out.type = RedisReply::Type::string;
        break;
    case REDIS_REPLY_STATUS:
        out.type = RedisReply::Type::status;
        break;
    case REDIS_REPLY_ERROR:
        out.type = RedisReply::Type::error;
        break;
    case REDIS_REPLY_INTEGER:
        out.type = RedisReply::Type::integer;
        break;
    case REDIS_REPLY_ARRAY:
        out.type = RedisReply::Type::array;
        break;
    default:
        out.type = RedisReply::Type::nil;
        break;
    }
    if (r.str != nullptr) out.str.assign(r.str, r.len);
    out.integer = r.integer;
    if (r.type == REDIS_REPLY_ARRAY) {
        out.elements.reserve(r.elements);
        for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
    }
    return out;
}

/// Why a connection cannot be used any more.
struct IoFailure {
    std::string reason;
    bool timed_out = false;
};

IoFailure failure_of(const redisContext* c, std::chrono::milliseconds command_timeout) {
    // A blocking read that hits SO_RCVTIMEO fails with EAGAIN, which hiredis reports as an I/O
    // error with strerror's text.
    const bool timed_out =
        c->err == REDIS_ERR_IO && (std::strcmp(c->errstr, std::strerror(EAGAIN)) == 0 ||
                                   std::strcmp(c->errstr, std::strerror(EWOULDBLOCK)) == 0);
    if (timed_out) return {fmt::format("no reply within {} ms", command_timeout.count()), true};
    return {c->err != 0 ? std::string(c->errstr) : std::string("the connection broke"), false};
}

using Batch = std::vector<std::vector<std::string>>;

/// Sends every command, then reads one reply per command. nullopt on success.
std::optional<IoFailure> exchange(redisContext* c, const Batch& commands,
                                  std::vector<RedisReply>& replies,
                                  std::chrono::milliseconds command_timeout) {
    SigpipeGuard guard;
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    for (const auto& argv : commands) {
        args.clear();
        lengths.clear();
        for (const auto& arg : argv) {
            args.push_back(arg.data());
            lengths.push_back(arg.size());
        }
        if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), args.data(), lengths.data()) !=
            REDIS_OK) {
            return failure_of(c, command_timeout);
        }
    }
    replies.reserve(commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) {
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
            return failure_of(c, command_timeout);
        }
        ReplyPtr reply(static_cast<redisReply*>(raw));
        replies.push_back(convert(*reply));
    }
    return std::nullopt;
}

bool starts_with(const std::string& text, std::string_view prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

RedisUrl parse_redis_url(const std::string& url) {
    RedisUrl out;
    out.masked = core::mask_url(url);
    const std::string_view text = url;
    constexpr std::string_view scheme = "redis://";
    if (text.substr(0, 9) == "rediss://") {
        bad_url(out.masked, "TLS (rediss://) is not supported by hiredis 0.14");
    }
    if (text.substr(0, scheme.size()) != scheme) bad_url(out.masked, "the scheme must be redis://");
    std::string_view rest = text.substr(scheme.size());
    if (rest.find_first_of("?#") != std::string_view::npos) {
        bad_url(out.masked, "query parameters and fragments are not supported");
    }

    // The authority ends at the first '/' after the last '@' (a password may hold a raw '/').
    const std::size_t at = rest.rfind('@');
    const std::size_t slash = rest.find('/', at == std::string_view::npos ? 0 : at);
    std::string_view authority = rest.substr(0, slash);
    const std::string_view path =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);

    if (at != std::string_view::npos && at < authority.size()) {
        const std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        const std::size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            bad_url(out.masked, "a user needs a password (write redis://:password@host for the "
                                "password alone)");
        }
        auto user = percent_decode(userinfo.substr(0, colon));
        auto password = percent_decode(userinfo.substr(colon + 1));
        if (!user || !password) bad_url(out.masked, "bad %-escape in the user or password");
        if (password->empty()) bad_url(out.masked, "the password is empty");
        out.username = *user;
        out.password = *password;
    }

    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) bad_url(out.masked, "unclosed '[' in the host");
        out.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') bad_url(out.masked, "unexpected text after the host");
            port_text = after.substr(1);
            if (port_text.empty()) bad_url(out.masked, "the port is empty");
        }
    } else {
        const std::size_t colon = authority.find(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty()) bad_url(out.masked, "the port is empty");
        }
    }
    if (out.host.empty()) bad_url(out.masked, "the host is missing");
    for (unsigned char c : out.host) {
        if (c <= ' ' || c == '/' || c == '@' || c == '%' || c == '[' || c == ']') {
            bad_url(out.masked, fmt::format("'{}' is not a host name", out.host));
        }
    }
    if (!port_text.empty()) {
        auto port = number_in(port_text, 1, 65535);
        if (!port) {
            bad_url(out.masked,
                    fmt::format("port '{}' is not a number from 1 to 65535", port_text));
        }
        out.port = static_cast<int>(*port);
    }
    if (!path.empty()) {
        auto db = number_in(path, 0, 1000000);
        if (!db) bad_url(out.masked, fmt::format("database '{}' is not a number", path));
        out.db = static_cast<int>(*db);
    }
    return out;
}

struct RedisClient::Impl {
    struct Connection {
        redisContext* ctx = nullptr;
        explicit Connection(redisContext* c) : ctx(c) {}
        ~Connection() { redisFree(ctx); }
        Connection(const Connection&) = delete;
        Connection& operator=(const Connection&) = delete;
    };

    RedisUrl url;
    RedisOptions options;
    core::Pool<Connection> pool;

    Impl(const std::string& text, RedisOptions opts)
        : url(parse_redis_url(text)), options(opts),
          pool(opts.pool_size, [this] { return open(); }) {}

    Error unreachable(const std::string& reason) const {
        return Error(ErrorKind::unavailable,
                     fmt::format("Redis at {} is unreachable: {}", url.masked, reason));
    }

    /// The error of an error reply: the server is up but cannot serve us, or the command failed.
    Error reply_error(const std::string& message) const {
        if (starts_with(message, "NOAUTH")) {
            return Error(ErrorKind::unavailable,
                         fmt::format("Redis at {} needs a password (redis://:password@{}:{}): {}",
                                     url.masked, url.host, url.port, message));
        }
        for (std::string_view busy : {"LOADING", "BUSY", "MASTERDOWN", "READONLY"}) {
            if (starts_with(message, busy)) {
                return Error(ErrorKind::unavailable,
                             fmt::format("Redis at {} cannot serve now: {}", url.masked, message));
            }
        }
        return Error(ErrorKind::internal, fmt::format("Redis: {}", message));
    }

    /// A new connection with the command timeout set, authenticated and on the right database.
    std::unique_ptr<Connection> open() {
        redisContext* raw = redisConnectWithTimeout(url.host.c_str(), url.port,
                                                    to_timeval(options.connect_timeout));
        if (raw == nullptr) throw unreachable("out of memory");
        auto conn = std::make_unique<Connection>(raw);
        if (raw->err != 0) {
            // hiredis says "Connection timed out" without the figure; add it.
            std::string reason = raw->errstr;
            if (raw->err == REDIS_ERR_IO && reason == std::strerror(ETIMEDOUT)) {
                reason += fmt::format(" (no answer within {} ms)", options.connect_timeout.count());
            }
            throw unreachable(reason);
        }
        if (redisSetTimeout(raw, to_timeval(options.command_timeout)) != REDIS_OK) {
            throw unreachable(raw->errstr);
        }
        Batch setup;
        if (!url.password.empty()) {
            if (url.username.empty()) {
                setup.push_back({"AUTH", url.password});
            } else {
                setup.push_back({"AUTH", url.username, url.password});
            }
        }
        if (url.db != 0) setup.push_back({"SELECT", std::to_string(url.db)});
        if (setup.empty()) return conn;

        std::vector<RedisReply> replies;
        if (auto failure = exchange(raw, setup, replies, options.command_timeout)) {
            throw unreachable(failure->reason);
        }
        for (std::size_t i = 0; i < replies.size(); ++i) {
            if (replies[i].type != RedisReply::Type::error) continue;
            const bool auth = setup[i][0] == "AUTH";
            throw Error(ErrorKind::unavailable,
                        auth ? fmt::format("Redis at {} refused the password: {}", url.masked,
                                           replies[i].str)
                             : fmt::format("Redis at {} refused database {}: {}", url.masked,
                                           url.db, replies[i].str));
        }
        return conn;
    }

    /// Hands a connection back to the pool however the scope is left.
    struct Lease {
        core::Pool<Connection>& pool;
        std::unique_ptr<Connection> conn;
        bool healthy = false;
        ~Lease() { pool.release(std::move(conn), healthy); }
    };

    std::vector<RedisReply> run(const Batch& commands) {
        for (int attempt = 1;; ++attempt) {
            std::vector<RedisReply> replies;
            std::optional<IoFailure> failure;
            {
                Lease lease{pool, pool.acquire()};
                failure = exchange(lease.conn->ctx, commands, replies, options.command_timeout);
                lease.healthy = !failure;
            }
            if (!failure) {
                for (const auto& reply : replies) {
                    if (reply.type == RedisReply::Type::error) throw reply_error(reply.str);
                }
                return replies;
            }
            // When one connection broke, the idle ones most likely broke with it (a server
            // restart): drop them so that the retry opens a fresh connection.
            pool.clear();
            if (failure->timed_out || attempt == 2) throw unreachable(failure->reason);
        }
    }
};

RedisClient::RedisClient(const std::string& url, RedisOptions options)
    : m_impl(std::make_unique<Impl>(url, options)) {}

RedisClient::~RedisClient() = default;

const RedisUrl& RedisClient::url() const noexcept {
    return m_impl->url;
}

void RedisClient::connect() {
    const RedisReply reply = command({"PING"});
    if (reply.type != RedisReply::Type::status || reply.str != "PONG") {
        throw Error(ErrorKind::unavailable, fmt::format("Redis at {} answered PING with '{}'",
                                                        m_impl->url.masked, reply.str));
    }
}

RedisReply RedisClient::command(const std::vector<std::string>& argv) {
    return std::move(m_impl->run(Batch{argv}).front());
}

std::vector<RedisReply>
RedisClient::pipeline(const std::vector<std::vector<std::string>>& commands) {
    if (commands.empty()) return {};
    return m_impl->run(commands);
}

void RedisClient::close() noexcept {
    m_impl->pool.clear();
}

} // namespace m::adapters::redis
