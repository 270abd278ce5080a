// The account rules of the built-in core app, applied by the document service to every write of a
// User, whoever makes it (the API, `m user`, `m doc`, a controller, a job):
//
//   - one password policy (docs/ARCHITECTURE.md, "Limits and the threat model"): at least 8 and
//     at most 256 characters (Argon2id costs the same for any length, but the bytes are read),
//     and not the user's own email address;
//   - a password change, a disabled user, a removed role or a deleted user revokes every open
//     Auth Session of that user in the same transaction. Each revocation is a document update,
//     so it reaches every `m serve` through the outbox: they refuse the sessions' access and
//     refresh tokens and close the user's live streams at once.
#pragma once

#include "m/core/database.hpp"
#include "m/core/permissions.hpp"
#include "m/core/values.hpp"

#include <string>
#include <string_view>

namespace m::core {

class DocumentService;

inline constexpr std::size_t k_password_min = 8;
inline constexpr std::size_t k_password_max = 256;

/// Throws Error{validation} with the rule `password` breaks ("must have at least 8 characters");
/// `email` may be empty.
void check_password_policy(std::string_view password, std::string_view email);

/// Whether the change from `before` to `after` (User documents, as the document service returns
/// them: without the password hash) must end the user's sessions: a password was set, `enabled`
/// went off, or a role was removed. `after` null = deleted.
bool credentials_changed(const Json& before, const Json& after, bool password_set);

/// The Principal of a user, with the roles of their User document. Throws Error{not_found}
/// ("User 'x' not found") or Error{permission} for a disabled user.
Principal user_principal(const DocumentService& docs, Session& session, const std::string& user);

/// Marks every unrevoked Auth Session of `user` revoked (document updates in `session`'s
/// transaction, by `actor`). Returns how many.
std::size_t revoke_sessions(const DocumentService& docs, Session& session, const std::string& user,
                            const Principal& actor);

} // namespace m::core
