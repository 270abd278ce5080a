// Who may do what (docs/reference/doctypes.md, "Permissions" and "Row-level security"): role
// permissions per DocType and action, and row-level security.
//
// The document service asks here on every operation, for whoever calls it: an HTTP client, the
// CLI (the system, or a user with `--as USER`), a job, a controller. The live stream asks for
// each event it would deliver.
#pragma once

#include "m/core/doctype.hpp"
#include "m/core/query.hpp"
#include "m/core/values.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace m::core {

/// The caller of an operation: a guest, a user with roles, or the system itself.
struct Principal {
    std::string user; ///< the User's name (email); empty for a guest
    std::vector<std::string> roles;
    /// The system acting on its own behalf (the CLI without --as, jobs, the server's own
    /// bookkeeping, a controller that asks for it): every check passes and the write rules for
    /// clients (read_only fields ignored, links only to readable documents) do not apply.
    bool system = false;

    bool is_guest() const noexcept { return user.empty() && !system; }
    /// The system, or a user with Admin or System: may do everything, RLS does not apply.
    bool is_superuser() const noexcept;
    bool has_role(std::string_view role) const noexcept;

    static Principal guest() { return {}; }
    /// The system; what it writes is recorded as by "Administrator".
    static Principal system_user();
    /// A user with these roles.
    static Principal of(std::string user, std::vector<std::string> roles);
    /// This caller with the system's rights: checks pass, what it writes still names the user.
    Principal elevated() const {
        Principal p = *this;
        p.system = true;
        return p;
    }
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
