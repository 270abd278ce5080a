// The credentials port on the database (core/credentials.hpp).
#include "m/core/credentials.hpp"

#include "m/core/accounts.hpp"
#include "m/core/core_app.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"

#include <fmt/format.h>

namespace m::core {

namespace {

bool truthy(const std::optional<std::string>& v) {
    return v && (*v == "1" || *v == "t" || *v == "true");
}

class DatabaseCredentials final : public CredentialStore {
public:
    DatabaseCredentials(const MetaRegistry& meta, Database& db)
        : m_meta(meta), m_db(db), m_docs(meta, db) {}

    std::optional<Password> password(const std::string& login) override {
        // The document service never returns a password field: the hash is read here.
        const DocType& dt = m_meta.get(k_user_doctype);
        auto session = m_db.session();
        auto rs =
            session->query(fmt::format("SELECT {}, {} FROM {} WHERE {} = {}", quote_ident("name"),
                                       quote_ident("password"), quote_ident(dt.table_name()),
                                       quote_ident("name"), m_db.dialect().placeholder(1)),
                           {login});
        if (rs.empty()) return std::nullopt;
        return Password{rs.rows[0][0].value_or(""), rs.rows[0][1].value_or("")};
    }

    std::vector<std::string> roles(const std::string& user) override {
        auto session = m_db.session();
        return user_principal(m_docs, *session, user).roles;
    }

    std::optional<ApiKey> api_key(const std::string& key_id) override {
        // One indexed read per uncached key (the server caches it 30 s); clients never read
        // secret_hash through the API.
        const DocType& dt = m_meta.get(k_api_key_doctype);
        auto session = m_db.session();
        auto rs = session->query(fmt::format("SELECT {}, {}, {} FROM {} WHERE {} = {}",
                                             quote_ident("secret_hash"), quote_ident("for_user"),
                                             quote_ident("enabled"), quote_ident(dt.table_name()),
                                             quote_ident("key_id"), m_db.dialect().placeholder(1)),
                                 {key_id});
        if (rs.empty() || !rs.rows[0][0] || !rs.rows[0][1]) return std::nullopt;
        return ApiKey{*rs.rows[0][0], *rs.rows[0][1], truthy(rs.rows[0][2])};
    }

    std::string open_session(const std::string& user, const std::vector<std::string>& roles,
                             const std::string& expires, const std::string& client) override {
        Json row = Json::object();
        row["for_user"] = user;
        row["expires"] = expires;
        row["client"] = client.substr(0, 140);
        auto session = m_db.session();
        UnitOfWork uow(*session);
        // The system acting under the user's name: the row is the user's own.
        Json saved = m_docs.insert(*session, std::string(k_session_doctype), row,
                                   Principal::of(user, roles).elevated());
        uow.commit();
        return saved["id"].get<std::string>();
    }

    std::optional<AuthSession> session(const std::string& id) override {
        auto session = m_db.session();
        try {
            Json row =
                m_docs.get(*session, std::string(k_session_doctype), id, Principal::system_user());
            return AuthSession{row.value("for_user", ""), row.value("revoked", false)};
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::not_found) return std::nullopt;
            throw;
        }
    }

    void revoke_session(const std::string& id, const std::string& user) override {
        auto session = m_db.session();
        UnitOfWork uow(*session);
        try {
            m_docs.update(*session, std::string(k_session_doctype), id, Json{{"revoked", true}},
                          Principal::of(user, {}).elevated());
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::not_found) throw;
        }
        uow.commit();
    }

private:
    const MetaRegistry& m_meta;
    Database& m_db;
    DocumentService m_docs;
};

} // namespace

std::unique_ptr<CredentialStore> database_credentials(const MetaRegistry& meta, Database& db) {
    return std::make_unique<DatabaseCredentials>(meta, db);
}

} // namespace m::core
