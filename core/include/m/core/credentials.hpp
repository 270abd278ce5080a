// The credentials port: what authentication reads and writes about users — a login's password
// hash, a user's roles, Auth Sessions and API keys (docs/reference/http-api.md,
// "Authentication"). The server asks this port and builds no SQL of its own.
//
// Adapters: database_credentials() over the database port (SQLite and PostgreSQL: one adapter,
// the dialect gives the placeholders), reading and writing through the document service as the
// system where a document is meant (sessions, roles) and through the repository's dialect where
// the document service would hide the value (a password hash is write-only). What must be shared
// by every `m serve` at once — logout revocations and login attempt counts — lives in the Cache
// port (core/cache.hpp), whose Redis adapter shares it across processes.
#pragma once

#include "m/core/database.hpp"
#include "m/core/doctype.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace m::core {

class CredentialStore {
public:
    virtual ~CredentialStore() = default;

    struct Password {
        std::string user; ///< the User's name
        std::string hash; ///< Argon2id; empty for a user without a password
    };
    /// The password hash of the User named `login`; nullopt when there is none.
    virtual std::optional<Password> password(const std::string& login) = 0;

    /// The roles of an enabled user. Throws Error{not_found} for an unknown user and
    /// Error{permission} for a disabled one.
    virtual std::vector<std::string> roles(const std::string& user) = 0;

    struct ApiKey {
        std::string secret_hash; ///< SHA-256 hex of the secret
        std::string user;
        bool enabled = false;
    };
    /// The API key with id `key_id`; nullopt when there is none.
    virtual std::optional<ApiKey> api_key(const std::string& key_id) = 0;

    /// A new Auth Session for `user` (with `roles`, who it acts as) until `expires` (canonical
    /// datetime); returns its id.
    virtual std::string open_session(const std::string& user, const std::vector<std::string>& roles,
                                     const std::string& expires, const std::string& client) = 0;

    struct AuthSession {
        std::string user;
        bool revoked = false;
    };
    /// The session `id`; nullopt when there is none.
    virtual std::optional<AuthSession> session(const std::string& id) = 0;

    /// Marks session `id` revoked (by `user`, named as the modifier); nothing if it is gone.
    virtual void revoke_session(const std::string& id, const std::string& user) = 0;
};

/// The adapter on the database (the User, ApiKey and Auth Session DocTypes of the core app).
std::unique_ptr<CredentialStore> database_credentials(const MetaRegistry& meta, Database& db);

} // namespace m::core
