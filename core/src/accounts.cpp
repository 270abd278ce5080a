// The core app's account rules (accounts.hpp).
#include "m/core/accounts.hpp"

#include "m/core/core_app.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"
#include "m/core/query.hpp"

#include <fmt/format.h>

#include <set>

namespace m::core {

namespace {

std::set<std::string> roles_in(const Json& user) {
    std::set<std::string> roles;
    if (!user.is_object()) return roles;
    for (const auto& row : user.value("roles", Json::array())) {
        if (row.is_object() && row.contains("role") && row["role"].is_string()) {
            roles.insert(row["role"].get<std::string>());
        }
    }
    return roles;
}

bool enabled(const Json& user) {
    auto it = user.find("enabled");
    return it == user.end() || it->is_null() || (it->is_boolean() && it->get<bool>());
}

} // namespace

void check_password_policy(std::string_view password, std::string_view email) {
    // Characters, not bytes: a UTF-8 continuation byte does not start one.
    std::size_t chars = 0;
    for (unsigned char c : password) chars += (c & 0xC0) != 0x80;
    if (chars < k_password_min) {
        throw Error(ErrorKind::validation,
                    fmt::format("must have at least {} characters", k_password_min));
    }
    if (password.size() > k_password_max) {
        throw Error(ErrorKind::validation,
                    fmt::format("must have at most {} bytes", k_password_max));
    }
    if (!email.empty() && password == email) {
        throw Error(ErrorKind::validation, "must not be the email address");
    }
}

bool credentials_changed(const Json& before, const Json& after, bool password_set) {
    if (after.is_null() || password_set) return true;
    if (enabled(before) && !enabled(after)) return true;
    const auto kept = roles_in(after);
    for (const auto& role : roles_in(before)) {
        if (!kept.count(role)) return true;
    }
    return false;
}

Principal user_principal(const DocumentService& docs, Session& session, const std::string& user) {
    Json doc = docs.get(session, std::string(k_user_doctype), user, Principal::system_user());
    if (!doc.value("enabled", false)) {
        throw Error(ErrorKind::permission, fmt::format("user '{}' is disabled", user));
    }
    std::vector<std::string> roles;
    for (const auto& row : doc.value("roles", Json::array())) {
        if (row.contains("role") && row["role"].is_string()) {
            roles.push_back(row["role"].get<std::string>());
        }
    }
    return Principal::of(doc.value("name", user), std::move(roles));
}

std::size_t revoke_sessions(const DocumentService& docs, Session& session, const std::string& user,
                            const Principal& actor) {
    const std::string doctype(k_session_doctype);
    // Whoever changed the account need not be allowed to touch Auth Session rows themselves.
    const Principal as = actor.elevated();
    std::size_t n = 0;
    for (;;) { // each pass revokes what it lists, so the next lists the rest
        ListQuery q;
        q.fields = {"id"};
        q.limit = 500;
        q.filters.push_back(Filter{"for_user", FilterOp::eq, Json(user)});
        q.filters.push_back(Filter{"revoked", FilterOp::eq, Json(false)});
        auto page = docs.list(session, doctype, std::move(q), as, CountMode::none);
        if (page.items.empty()) break;
        for (const auto& row : page.items) {
            docs.update(session, doctype, row.at("id").get<std::string>(), Json{{"revoked", true}},
                        as);
            ++n;
        }
    }
    return n;
}

} // namespace m::core
