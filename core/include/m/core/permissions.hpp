// Who may do what (SPEC §4): role permissions per DocType and action, and row-level security.
//
// Every entry point that acts for a user asks here: the HTTP API on each request, the live stream
// for each event. The CLI acts as Administrator (a Principal with the Admin role).
#pragma once

#include "m/core/doctype.hpp"
#include "m/core/query.hpp"
#include "m/core/values.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace m::core {

/// The caller of an operation.
struct Principal {
    std::string user; ///< the User's name (email); empty for a guest
    std::vector<std::string> roles;

    bool is_guest() const noexcept { return user.empty(); }
    /// Admin or System: may do everything, RLS does not apply.
    bool is_superuser() const noexcept;
    bool has_role(std::string_view role) const noexcept;

    static Principal guest() { return {}; }
    /// The CLI's identity: "Administrator" with the Admin role.
    static Principal administrator();
};

/// The actions of a permissions map.
inline constexpr std::string_view k_actions[] = {"read",   "write",  "create",
                                                 "delete", "submit", "cancel"};

/// Whether `who` may do `action` on `doctype` by role: superusers always; otherwise a role of
/// theirs (or `All`) listed for the action. Guests pass only through `All`, and only on DocTypes
/// with requires_auth false.
bool allowed(const DocType& doctype, const Principal& who, std::string_view action);

/// Throws Error{unauthenticated} for a guest who is not allowed (log in first) and
/// Error{permission} for a user without the role ("not permitted to write Invoice").
void require(const DocType& doctype, const Principal& who, std::string_view action);

/// Whether row-level security restricts `who` on `doctype` (apply_rls and not a superuser).
bool rls_applies(const DocType& doctype, const Principal& who);

/// The filter RLS adds to a list: rls_field = user.
Filter rls_filter(const DocType& doctype, const Principal& who);

/// Whether `doc` (a document, or an event carrying the rls_field value) is visible to `who`.
bool rls_visible(const DocType& doctype, const Principal& who, const Json& rls_value);

/// The actions `who` may take on `doctype`, as {"read":true,...} (for /api/meta/{DocType}).
Json permissions_of(const DocType& doctype, const Principal& who);

} // namespace m::core
