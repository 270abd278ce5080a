#include "m/server/auth.hpp"

#include "m/core/accounts.hpp"
#include "m/core/core_app.hpp"
#include "m/core/crypto.hpp"
#include "m/core/error.hpp"
#include "m/server/jwt.hpp"

#include <fmt/format.h>

#include <ctime>

namespace m::server {

using core::Error;
using core::ErrorKind;
using core::Json;

namespace {

constexpr auto k_key_cache_ttl = std::chrono::seconds(30);
const std::string k_invalid_login = "invalid email or password";

/// Canonical datetime of Unix seconds (UTC).
std::string datetime_of(std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.000000", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

} // namespace

Json TokenPair::to_json() const {
    Json j = Json::object();
    j["access_token"] = access_token;
    j["token_type"] = "bearer";
    j["expires_in"] = expires_in;
    if (!refresh_token.empty()) j["refresh_token"] = refresh_token;
    return j;
}

AuthService::AuthService(std::unique_ptr<core::CredentialStore> credentials, AuthOptions options,
                         core::Cache* shared)
    : m_credentials(std::move(credentials)), m_options(std::move(options)),
      m_password_slots(std::clamp<std::ptrdiff_t>(m_options.password_checks, 1, 64)),
      m_per_account(m_options.login_per_account, m_options.login_window),
      m_per_client(m_options.login_per_client, m_options.login_window), m_shared(shared) {
    if (m_options.secret.size() < 16) {
        throw Error(ErrorKind::validation,
                    "security.secret_key (M_SECRET_KEY) must be set to at least 16 characters "
                    "before m serve can sign tokens");
    }
}

std::int64_t AuthService::now() const {
    return static_cast<std::int64_t>(std::time(nullptr));
}

std::vector<std::string> AuthService::roles_of(const std::string& user) const {
    try {
        return m_credentials->roles(user);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::not_found) {
            throw Error(ErrorKind::unauthenticated, "the user of these credentials does not exist");
        }
        if (e.kind() == ErrorKind::permission) {
            throw Error(ErrorKind::unauthenticated, "the user of these credentials is disabled");
        }
        throw;
    }
}

TokenPair AuthService::issue(const std::string& user, const std::vector<std::string>& roles,
                             const std::string& session_id, bool with_refresh) const {
    std::int64_t t = now();
    Json access = Json::object();
    access["sub"] = user;
    access["roles"] = roles;
    access["sid"] = session_id;
    access["typ"] = "access";
    access["iat"] = t;
    access["exp"] = t + m_options.access_ttl_s;
    TokenPair pair;
    pair.access_token = jwt_sign(access, m_options.secret);
    pair.expires_in = m_options.access_ttl_s;
    if (with_refresh) {
        Json refresh = Json::object();
        refresh["sub"] = user;
        refresh["sid"] = session_id;
        refresh["typ"] = "refresh";
        refresh["iat"] = t;
        refresh["exp"] = t + m_options.refresh_ttl_s;
        pair.refresh_token = jwt_sign(refresh, m_options.secret);
    }
    return pair;
}

TokenPair AuthService::login(const std::string& login, const std::string& password,
                             const std::string& client) {
    if (login.empty() || password.empty()) {
        throw Error(ErrorKind::validation, "email and password are required",
                    Json{{"fields", Json::array({"email", "password"})}});
    }
    // Both limits count every attempt; a success clears the account's count only, so one
    // address cannot guess many accounts' passwords quickly either. The account's limit is
    // keyed on the account *and* the client address: failing from one address never locks the
    // account's owner out from another (docs/ARCHITECTURE.md, threat model). Within it, failures
    // back off gradually: after half the limit, each attempt waits 1, 2, 4 … s after the last.
    const std::string account_key = "account:" + login + "|" + client;
    const std::string client_key = "client:" + client;
    const std::size_t free_attempts = std::max<std::size_t>(1, m_options.login_per_account / 2);
    if (long long wait = m_per_account.backoff(account_key, free_attempts); wait > 0) {
        throw Error(ErrorKind::rate_limited,
                    fmt::format("too many failed logins; try again in {} s", wait),
                    Json{{"retry_after", wait}});
    }
    for (auto* limiter : {&m_per_client, &m_per_account}) {
        const std::string& key = limiter == &m_per_client ? client_key : account_key;
        const std::size_t max =
            limiter == &m_per_client ? m_options.login_per_client : m_options.login_per_account;
        if (m_shared && !shared_allow(key, max)) {
            long long wait = m_options.login_window.count();
            throw Error(ErrorKind::rate_limited,
                        fmt::format("too many login attempts; try again in {} s", wait),
                        Json{{"retry_after", wait}});
        }
        if (!limiter->allow(key)) {
            long long wait = limiter->retry_after(key);
            throw Error(ErrorKind::rate_limited,
                        fmt::format("too many login attempts; try again in {} s", wait),
                        Json{{"retry_after", wait}});
        }
    }

    std::string hash;
    std::string user;
    if (auto stored = m_credentials->password(login)) {
        user = stored->user;
        hash = stored->hash;
    }
    bool ok = false;
    {
        // The same work whether the user exists or not, so timing does not tell.
        m_password_slots.acquire();
        try {
            static const std::string dummy = core::hash_password("m-timing-equaliser");
            ok = core::verify_password(password, hash.empty() ? dummy : hash) && !hash.empty();
        } catch (...) {
            m_password_slots.release();
            throw;
        }
        m_password_slots.release();
    }
    if (!ok) throw Error(ErrorKind::unauthenticated, k_invalid_login);
    std::vector<std::string> roles;
    try {
        roles = roles_of(user);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::unauthenticated) {
            throw Error(ErrorKind::unauthenticated, k_invalid_login);
        }
        throw;
    }
    m_per_account.reset(account_key);
    if (m_shared) {
        try {
            m_shared->erase("auth:login:" + account_key);
        } catch (const Error&) {
            // The window runs out by itself.
        }
    }

    std::string session_id = m_credentials->open_session(
        user, roles, datetime_of(now() + m_options.refresh_ttl_s), client);
    return issue(user, roles, session_id, true);
}

TokenPair AuthService::refresh(const std::string& refresh_token) {
    Json claims = jwt_verify(refresh_token, m_options.secret, now());
    if (claims.value("typ", "") != "refresh" || !claims.contains("sid") ||
        !claims["sid"].is_string() || !claims.contains("sub") || !claims["sub"].is_string()) {
        throw Error(ErrorKind::unauthenticated, "not a refresh token");
    }
    const std::string sid = claims["sid"].get<std::string>();
    const std::string user = claims["sub"].get<std::string>();
    if (revoked(sid)) throw Error(ErrorKind::unauthenticated, "session ended");
    auto row = m_credentials->session(sid);
    if (!row || row->revoked || row->user != user) {
        throw Error(ErrorKind::unauthenticated, "session ended");
    }
    return issue(user, roles_of(user), sid, false);
}

void AuthService::logout(const std::string& token) {
    Json claims = jwt_verify(token, m_options.secret, now());
    if (!claims.contains("sid") || !claims["sid"].is_string()) {
        throw Error(ErrorKind::unauthenticated, "token has no session");
    }
    const std::string sid = claims["sid"].get<std::string>();
    {
        std::lock_guard lock(m_mutex);
        m_revoked.insert(sid);
    }
    if (m_shared) {
        try {
            m_shared->set("auth:revoked:" + sid, "1",
                          std::chrono::seconds(m_options.refresh_ttl_s));
        } catch (const Error&) {
            // Redis is away: the session row below still ends refreshes everywhere, and other
            // processes accept this access token until it expires (minutes).
        }
    }
    m_credentials->revoke_session(sid, claims.value("sub", std::string("Administrator")));
}

core::Principal AuthService::from_access_token(const std::string& token, TokenInfo* info) const {
    Json claims = jwt_verify(token, m_options.secret, now());
    if (claims.value("typ", "") != "access") {
        throw Error(ErrorKind::unauthenticated, "not an access token");
    }
    if (!claims.contains("sub") || !claims["sub"].is_string()) {
        throw Error(ErrorKind::unauthenticated, "token names no user");
    }
    core::Principal who;
    who.user = claims["sub"].get<std::string>();
    std::string sid;
    if (claims.contains("sid") && claims["sid"].is_string()) {
        sid = claims["sid"].get<std::string>();
        if (revoked(sid) || !session_live(sid, who.user)) {
            throw Error(ErrorKind::unauthenticated, "session ended");
        }
    }
    if (info) {
        info->session_id = sid;
        info->expires = claims.contains("exp") && claims["exp"].is_number_integer()
                            ? claims["exp"].get<std::int64_t>()
                            : 0;
    }
    if (claims.contains("roles") && claims["roles"].is_array()) {
        for (const auto& r : claims["roles"]) {
            if (r.is_string()) who.roles.push_back(r.get<std::string>());
        }
    }
    return who;
}

bool AuthService::session_live(const std::string& sid, const std::string& user) const {
    constexpr auto k_ttl = std::chrono::seconds(30);
    const auto t = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(m_mutex);
        auto it = m_sessions.find(sid);
        if (it != m_sessions.end() && t - it->second.read < k_ttl) return it->second.live;
    }
    auto row = m_credentials->session(sid);
    const bool live = row && !row->revoked && row->user == user;
    std::lock_guard lock(m_mutex);
    if (m_sessions.size() > 100000) m_sessions.clear();
    m_sessions[sid] = SessionCheck{live, user, t};
    return live;
}

void AuthService::session_revoked(const std::string& session_id) {
    std::lock_guard lock(m_mutex);
    m_revoked.insert(session_id);
    m_sessions.erase(session_id);
}

void AuthService::user_changed(const std::string& user) {
    std::lock_guard lock(m_mutex);
    for (auto it = m_keys.begin(); it != m_keys.end();) {
        it = it->second.who.user == user ? m_keys.erase(it) : std::next(it);
    }
    for (auto it = m_sessions.begin(); it != m_sessions.end();) {
        it = it->second.user == user ? m_sessions.erase(it) : std::next(it);
    }
}

bool AuthService::revoked(const std::string& sid) const {
    {
        std::lock_guard lock(m_mutex);
        if (m_revoked.count(sid)) return true;
    }
    if (!m_shared) return false;
    try {
        return m_shared->get("auth:revoked:" + sid).has_value();
    } catch (const Error&) {
        // Redis is away: fail open to this process's revocations rather than refuse every
        // request; access tokens live minutes, and refreshes check the session row.
        return false;
    }
}

bool AuthService::shared_allow(const std::string& key, std::size_t max) const {
    try {
        auto n = m_shared->increment("auth:login:" + key, m_options.login_window);
        return n <= static_cast<std::int64_t>(max);
    } catch (const Error&) {
        return true; // Redis is away: the in-process limiter still applies
    }
}

core::Principal AuthService::from_api_key(const std::string& key) {
    auto dot = key.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 >= key.size()) {
        throw Error(ErrorKind::unauthenticated, "malformed API key (expected <key_id>.<secret>)");
    }
    const std::string key_id = key.substr(0, dot);
    const std::string given_hash = core::api_key_secret_hash(key.substr(dot + 1));
    auto matches = [&](const std::string& stored) {
        return core::equal_constant_time(stored, given_hash);
    };
    auto t = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(m_mutex);
        auto it = m_keys.find(key_id);
        if (it != m_keys.end() && t - it->second.loaded < k_key_cache_ttl) {
            if (!matches(it->second.secret_hash)) {
                throw Error(ErrorKind::unauthenticated, "invalid API key");
            }
            return it->second.who;
        }
    }
    auto stored = m_credentials->api_key(key_id);
    if (!stored || !stored->enabled || !matches(stored->secret_hash)) {
        throw Error(ErrorKind::unauthenticated, "invalid API key");
    }
    core::Principal who;
    who.user = stored->user;
    who.roles = roles_of(who.user);
    std::lock_guard lock(m_mutex);
    if (m_keys.size() > 10000) m_keys.clear();
    m_keys[key_id] = CachedKey{stored->secret_hash, who, t};
    return who;
}

} // namespace m::server
