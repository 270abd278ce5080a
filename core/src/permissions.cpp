#include "m/core/permissions.hpp"

#include "m/core/core_app.hpp"
#include "m/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace m::core {

bool Principal::has_role(std::string_view role) const noexcept {
    return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Principal::is_superuser() const noexcept {
    return system || (!is_guest() && (has_role(k_role_admin) || has_role(k_role_system)));
}

Principal Principal::system_user() {
    return Principal{"Administrator", {std::string(k_role_system)}, true};
}

Principal Principal::of(std::string user, std::vector<std::string> roles) {
    return Principal{std::move(user), std::move(roles), false};
}

bool allowed(const DocType& doctype, const Principal& who, std::string_view action) {
    if (who.is_superuser()) return true;
    if (who.is_guest() && doctype.requires_auth) return false;
    auto it = doctype.permissions.find(std::string(action));
    if (it == doctype.permissions.end()) return false;
    for (const auto& role : it->second) {
        if (role == k_role_all) return true;
        if (!who.is_guest() && who.has_role(role)) return true;
    }
    return false;
}

void require(const DocType& doctype, const Principal& who, std::string_view action) {
    if (allowed(doctype, who, action)) return;
    if (who.is_guest()) {
        throw Error(ErrorKind::unauthenticated,
                    fmt::format("authentication required to {} {}", action, doctype.name));
    }
    throw Error(ErrorKind::permission, fmt::format("not permitted to {} {}", action, doctype.name),
                Json{{"doctype", doctype.name}, {"action", std::string(action)}});
}

bool rls_applies(const DocType& doctype, const Principal& who) {
    return doctype.apply_rls && !who.is_superuser();
}

Filter rls_filter(const DocType& doctype, const Principal& who) {
    return Filter{doctype.rls_field, FilterOp::eq, Json(who.user)};
}

bool rls_visible(const DocType& doctype, const Principal& who, const Json& rls_value) {
    if (!rls_applies(doctype, who)) return true;
    return !who.is_guest() && rls_value.is_string() && rls_value.get<std::string>() == who.user;
}

Json permissions_of(const DocType& doctype, const Principal& who) {
    Json out = Json::object();
    for (auto action : k_actions) out[std::string(action)] = allowed(doctype, who, action);
    return out;
}

} // namespace m::core
