// Options of `m serve`, in a header without httplib: the command (commands/src/serve.cpp) fills
// them and hands them to the loadable module m-server.so.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace m::server {

struct HttpOptions {
    std::string host = "127.0.0.1";
    int port = 8000;                     ///< 0 = any free port (see port())
    int workers = 8;                     ///< threads running requests (in-flight requests)
    std::size_t max_body = 1 << 20;      ///< larger bodies get 413
    std::size_t max_connections = 10000; ///< idle + active + streams; beyond: evict idle or 503
    int keep_alive_timeout_s = 5;        ///< idle keep-alive connections are closed after this
    int read_timeout_s = 5;              ///< grace before the body's minimum rate applies
    int write_timeout_s = 5;
    int header_timeout_s = 10;                ///< a request's headers must arrive within this: 408
    std::size_t min_body_rate = 16 * 1024;    ///< bytes/s a body must average after the grace: 408
    std::size_t max_header_bytes = 32768;     ///< request line + header fields: 431 beyond
    std::size_t max_headers = 100;            ///< header fields: 431 beyond
    int stream_ping_s = 15;                   ///< ": ping" comment on every stream this often
    std::size_t stream_max_pending = 1 << 20; ///< a stream further behind than this is dropped
};

struct AuthOptions {
    std::string secret;              ///< M_SECRET_KEY; must not be empty
    std::int64_t access_ttl_s = 900; ///< access token lifetime
    std::int64_t refresh_ttl_s = 14 * 86400;
    std::ptrdiff_t password_checks = 2; ///< Argon2 verifications at once
    std::size_t login_per_account = 10; ///< attempts per account per window
    std::size_t login_per_client = 50;  ///< attempts per client address per window
    std::chrono::seconds login_window{300};
};

struct ServeOptions {
    HttpOptions http;
    AuthOptions auth;
    std::vector<std::string> cors_origins;    ///< empty = same origin only
    std::filesystem::path desk_dir;           ///< built Desk; empty or missing = not served
    bool access_log = true;                   ///< one line per request on stderr
    std::size_t max_streams_per_user = 10;    ///< open live streams per user; beyond: 429
    std::string metrics_token;                ///< non-empty: /metrics wants `Bearer <token>`
    std::vector<std::string> trusted_proxies; ///< peers whose X-Forwarded-For/-Proto count
    bool secure_cookies = false;              ///< `Secure` on every cookie (TLS in front)
};

} // namespace m::server
