// Authentication of `m serve`: who is calling (docs/reference/http-api.md, "Authentication").
//
// Credentials, in order: `Authorization: Bearer <JWT>`, `X-API-Key: <key_id>.<secret>`, the
// Desk's session cookie `m_token` (HttpOnly, SameSite=Strict), and for the live stream only
// `?token=` (a browser's EventSource cannot send headers). Access tokens are HS256 JWTs signed
// with the project's secret key (15 minutes by default) carrying the user's roles; refresh tokens
// (14 days) name an `Auth Session` row, so logout and a disabled user end them. Passwords are
// Argon2id hashes checked under a concurrency cap (each check takes ~0.1 s and 64 MB), and login
// attempts are rate-limited per account and per client address.
#pragma once

#include "m/core/cache.hpp"
#include "m/core/credentials.hpp"
#include "m/core/permissions.hpp"
#include "m/core/values.hpp"
#include "m/server/options.hpp"
#include "m/server/rate_limiter.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace m::server {

/// What a successful login or refresh returns (docs/reference/http-api.md, "Authentication").
struct TokenPair {
    std::string access_token;
    std::string refresh_token; ///< empty after a refresh (the refresh token stays valid)
    std::int64_t expires_in = 0;
    core::Json to_json() const;
};

/// What an access token says besides the caller: its session and when it expires.
struct TokenInfo {
    std::string session_id;   ///< empty for a token without a session
    std::int64_t expires = 0; ///< unix seconds
};

class AuthService {
public:
    /// `shared`: a cache every `m serve` process sees (Redis), for login rate limits and logout
    /// revocations across processes; null = this process only.
    /// `credentials`: the users, sessions and API keys (core/credentials.hpp).
    AuthService(std::unique_ptr<core::CredentialStore> credentials, AuthOptions options,
                core::Cache* shared = nullptr);

    /// Checks email/username + password. Throws Error{rate_limited} (too many attempts, with
    /// `retry_after` in details), Error{unauthenticated} ("invalid email or password" -- the same
    /// message whether the user exists or not), Error{validation} (missing fields).
    TokenPair login(const std::string& login, const std::string& password,
                    const std::string& client);

    /// A new access token for a valid, unrevoked refresh token of an enabled user.
    TokenPair refresh(const std::string& refresh_token);

    /// Revokes the session of an access or refresh token.
    void logout(const std::string& token);

    /// The caller of a bearer token (an access token). Throws Error{unauthenticated}.
    /// The session must still be live: revoked sessions (here, in the shared cache, or in the
    /// Auth Session row, read at most every 30 s per session) are refused.
    core::Principal from_access_token(const std::string& token, TokenInfo* info = nullptr) const;

    /// An Auth Session row changed (revoked: its tokens are refused from now on), seen on the
    /// outbox by any process.
    void session_revoked(const std::string& session_id);

    /// A User changed: cached API-key lookups and session checks of that user are dropped (the
    /// next request reads the rows again).
    void user_changed(const std::string& user);

    /// The caller of an API key `<key_id>.<secret>`. Throws Error{unauthenticated}.
    core::Principal from_api_key(const std::string& key);

    /// Roles of a user, or Error{unauthenticated} when the user is missing or disabled.
    std::vector<std::string> roles_of(const std::string& user) const;

private:
    TokenPair issue(const std::string& user, const std::vector<std::string>& roles,
                    const std::string& session_id, bool with_refresh) const;
    std::int64_t now() const;
    /// Whether session `sid` was logged out (here, or in any process sharing the cache).
    bool revoked(const std::string& sid) const;
    /// One attempt for `key` against the shared fixed-window counter; false when over `max`.
    bool shared_allow(const std::string& key, std::size_t max) const;

    std::unique_ptr<core::CredentialStore> m_credentials;
    AuthOptions m_options;
    std::counting_semaphore<64> m_password_slots;
    RateLimiter m_per_account;
    RateLimiter m_per_client;
    core::Cache* m_shared;

    mutable std::mutex m_mutex;
    std::unordered_set<std::string> m_revoked; ///< session ids logged out in this process
    struct CachedKey {
        std::string secret_hash;
        core::Principal who;
        std::chrono::steady_clock::time_point loaded;
    };
    std::unordered_map<std::string, CachedKey> m_keys; ///< key_id -> cached lookup (30 s)
    /// Whether a session's row was live when last read, whose it is, and when (30 s).
    struct SessionCheck {
        bool live = false;
        std::string user;
        std::chrono::steady_clock::time_point read;
    };
    mutable std::unordered_map<std::string, SessionCheck> m_sessions;
    bool session_live(const std::string& sid, const std::string& user) const;
};

} // namespace m::server
